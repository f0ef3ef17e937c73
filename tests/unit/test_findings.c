/*
 * test_findings.c — findings_compare() (exchange/findings.h), table-driven:
 * for each state-database API, the declarations and answers that agree and
 * the ones that are a finding, and what is never compared (a field not
 * declared, or not received).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "exchange/findings.h"
#include "common/banned.h"

struct row {
	enum recipient_api api;
	const char *declared; /* JSON, or NULL: nothing declared */
	const char *kept;     /* JSON */
	const char *fields;   /* the findings' fields, space-separated; "" none */
};

static const struct row rows[] = {
	/* family: marital status and the number of children */
	{ RECIPIENT_API_FAMILY_TIES, NULL, "{\"family.marital_status\": \"married\"}",
	  "" },
	{ RECIPIENT_API_FAMILY_TIES, "{\"marital_status\": \"married\"}",
	  "{\"family.marital_status\": \"married\"}", "" },
	{ RECIPIENT_API_FAMILY_TIES, "{\"marital_status\": \"single\"}",
	  "{\"family.marital_status\": \"married\"}", "marital_status" },
	{ RECIPIENT_API_FAMILY_TIES, "{\"marital_status\": \"single\"}", "{}", "" },
	{ RECIPIENT_API_FAMILY_TIES,
	  "{\"dependants\": [{\"relation\": \"child\", \"name\": \"A\"},"
	  " {\"relation\": \"mother\", \"name\": \"B\"}]}",
	  "{\"family.dependants\": [{\"relation\": \"child\"}]}", "" },
	{ RECIPIENT_API_FAMILY_TIES, "{\"dependants\": []}",
	  "{\"family.dependants\": [{\"relation\": \"child\"}]}", "dependants" },
	{ RECIPIENT_API_FAMILY_TIES,
	  "{\"marital_status\": \"widowed\", \"dependants\": []}",
	  "{\"family.marital_status\": \"single\","
	  " \"family.dependants\": [{\"relation\": \"child\"}]}",
	  "marital_status dependants" },
	/* address: spaces, commas, dots, dashes and ASCII case do not count */
	{ RECIPIENT_API_ADDRESS, "{\"registered_address\": \"Almaty, Abaya st. 1-2\"}",
	  "{\"contact.registered_address\": \"almaty abaya st 12\"}", "" },
	{ RECIPIENT_API_ADDRESS, "{\"registered_address\": \"Almaty, Abaya 1\"}",
	  "{\"contact.registered_address\": \"Almaty, Abaya 2\"}", "registered_address" },
	{ RECIPIENT_API_ADDRESS, "{\"registered_address\": \"Almaty\"}",
	  "{\"contact.registered_address\": null}", "registered_address" },
	{ RECIPIENT_API_ADDRESS, "{\"registered_address\": \"Almaty\"}",
	  "{\"contact.address_registry_id\": \"ar-1\"}", "" },
	{ RECIPIENT_API_ADDRESS, NULL, "{\"contact.registered_address\": \"Almaty\"}",
	  "" },
	/* capacity: anything but full is a finding, declared or not */
	{ RECIPIENT_API_LEGAL_CAPACITY, NULL, "{\"medical.legal_capacity\": \"full\"}",
	  "" },
	{ RECIPIENT_API_LEGAL_CAPACITY, NULL, "{\"medical.legal_capacity\": \"limited\"}",
	  "legal_capacity" },
	{ RECIPIENT_API_LEGAL_CAPACITY, "{\"legal_capacity\": \"limited\"}",
	  "{\"medical.legal_capacity\": \"full\"}", "legal_capacity" },
	{ RECIPIENT_API_LEGAL_CAPACITY, NULL, "{\"medical.source_body\": \"x\"}", "" },
	/* APIs that are not compared */
	{ RECIPIENT_API_PHONE_CHECK, "{}", "{\"phone.match\": \"mismatch\"}", "" },
	{ RECIPIENT_API_CREDIT_REPORT, "{}", "{}", "" },
};

static void test_the_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		json_t *declared = r->declared ? json_loads(r->declared, 0, NULL) : NULL;
		json_t *kept = json_loads(r->kept, 0, NULL);
		assert_true(!r->declared || declared);
		assert_non_null(kept);
		struct finding_field out[FINDINGS_MAX];
		size_t n = findings_compare(r->api, declared, kept, out);
		char got[256] = "";
		size_t len = 0;
		for (size_t k = 0; k < n; k++) {
			size_t f = strlen(out[k].field);
			if (len)
				got[len++] = ' ';
			memcpy(got + len, out[k].field, f);
			len += f;
			got[len] = '\0';
		}
		if (strcmp(got, r->fields) != 0)
			fail_msg("row %zu: got \"%s\", want \"%s\"", i, got, r->fields);
		json_decref(declared);
		json_decref(kept);
	}
}

static void test_declared_categories(void **state)
{
	(void)state;
	enum category c;
	assert_true(findings_declared_category(RECIPIENT_API_FAMILY_TIES, &c));
	assert_int_equal(c, CATEGORY_FAMILY);
	assert_true(findings_declared_category(RECIPIENT_API_ADDRESS, &c));
	assert_int_equal(c, CATEGORY_CONTACT);
	assert_true(findings_declared_category(RECIPIENT_API_LEGAL_CAPACITY, &c));
	assert_int_equal(c, CATEGORY_MEDICAL);
	assert_false(findings_declared_category(RECIPIENT_API_PHONE_CHECK, &c));
	assert_false(findings_declared_category(RECIPIENT_API_CREDIT_REPORT, &c));
}

static void test_resolutions(void **state)
{
	(void)state;
	assert_true(finding_resolution_valid("declared_confirmed"));
	assert_true(finding_resolution_valid("escalated"));
	assert_false(finding_resolution_valid("Escalated"));
	assert_false(finding_resolution_valid(""));
	assert_false(finding_resolution_valid(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_the_table),
		cmocka_unit_test(test_declared_categories),
		cmocka_unit_test(test_resolutions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
