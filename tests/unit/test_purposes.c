/*
 * test_purposes.c — purposes and categories (purposes.h), the access-matrix
 * file and its validation, and the field schema of every category
 * (categories.h).
 *
 * The shipped data/access-matrix.json is read from $SENIM_SOURCE_DIR when set,
 * else from the repository this file sits in (two folders up from __FILE__),
 * and must equal access_matrix_default().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/categories.h"
#include "core/purposes.h"
#include "core/roles.h"
#include "common/banned.h"

#define N(a) (sizeof(a) / sizeof(a[0]))

/* ---- codes ----------------------------------------------------------------- */

static void test_purpose_codes(void **state)
{
	(void)state;
	static const struct {
		enum purpose p;
		const char *code, *clause;
	} rows[] = {
		{ PURPOSE_LOAN_APPLICATION_REVIEW, "loan_application_review", "U1" },
		{ PURPOSE_LOAN_SERVICING, "loan_servicing", "U2" },
		{ PURPOSE_FRAUD_PREVENTION, "fraud_prevention", "U3" },
		{ PURPOSE_IDENTIFICATION, "identification", "U4" },
		{ PURPOSE_SECURITY_COMPLIANCE, "security_compliance", "U5" },
		{ PURPOSE_CUSTOMER_COMMUNICATION, "customer_communication", "U6" },
		{ PURPOSE_MARKETING, "marketing", "U7" },
		{ PURPOSE_MARKETING_CAMPAIGN_DESIGN, "marketing_campaign_design", "U8" },
		{ PURPOSE_INTERNAL_INVESTIGATION, "internal_investigation", "U9" },
		{ PURPOSE_LEGAL_OBLIGATION, "legal_obligation", "U10" },
	};
	assert_int_equal(N(rows), PURPOSE__COUNT);
	for (size_t i = 0; i < N(rows); i++) {
		assert_string_equal(purpose_code(rows[i].p), rows[i].code);
		assert_string_equal(purpose_clause(rows[i].p), rows[i].clause);
		assert_int_equal(purpose_parse(rows[i].code), rows[i].p);
	}
	static const char *const unknown[] = { "",     "Marketing", "marketing ", "U7",
					       "loan", "admin",	    "identity" };
	for (size_t i = 0; i < N(unknown); i++)
		assert_int_equal(purpose_parse(unknown[i]), -1);
	assert_int_equal(purpose_parse(NULL), -1);
	assert_null(purpose_code(PURPOSE__COUNT));
	assert_null(purpose_clause(PURPOSE__COUNT));
}

static void test_category_codes(void **state)
{
	(void)state;
	static const struct {
		enum category c;
		const char *code;
		int special;
	} rows[] = {
		{ CATEGORY_IDENTITY, "identity", 0 },
		{ CATEGORY_FAMILY, "family", 0 },
		{ CATEGORY_MEDICAL, "medical", 1 },
		{ CATEGORY_CONTACT, "contact", 0 },
		{ CATEGORY_PROFESSIONAL, "professional", 0 },
		{ CATEGORY_DEVICE, "device", 0 },
		{ CATEGORY_BIOMETRIC, "biometric", 1 },
	};
	assert_int_equal(N(rows), CATEGORY__COUNT);
	for (size_t i = 0; i < N(rows); i++) {
		assert_string_equal(category_code(rows[i].c), rows[i].code);
		assert_int_equal(category_parse(rows[i].code), rows[i].c);
		assert_int_equal(category_is_special(rows[i].c), rows[i].special);
	}
	assert_int_equal(category_parse("Identity"), -1);
	assert_int_equal(category_parse("biometrics"), -1);
	assert_int_equal(category_parse(""), -1);
	assert_int_equal(category_parse(NULL), -1);
	assert_null(category_code(CATEGORY__COUNT));
}

/* ---- the matrix as JSON ---------------------------------------------------- */

/* The matrix m as the file's JSON object (new reference). */
static json_t *matrix_to_json(const struct access_matrix *m)
{
	json_t *pc = json_object(), *pw = json_object(), *rp = json_object();
	for (int p = 0; p < PURPOSE__COUNT; p++) {
		json_t *list = json_array(), *writes = json_array();
		for (int c = 0; c < CATEGORY__COUNT; c++) {
			if (m->categories_of[p] & CATEGORY_BIT(c))
				json_array_append_new(list,
						      json_string(category_code(c)));
			if (m->writes_of[p] & CATEGORY_BIT(c))
				json_array_append_new(writes,
						      json_string(category_code(c)));
		}
		json_object_set_new(pc, purpose_code(p), list);
		json_object_set_new(pw, purpose_code(p), writes);
	}
	for (int r = 0; r < ROLE__COUNT; r++) {
		json_t *list = json_array();
		for (int p = 0; p < PURPOSE__COUNT; p++)
			if (m->purposes_of[r] & PURPOSE_BIT(p))
				json_array_append_new(list, json_string(purpose_code(p)));
		json_object_set_new(rp, role_name(r), list);
	}
	return json_pack("{s:o, s:o, s:o}", "purpose_categories", pc, "purpose_writes",
			 pw, "role_purposes", rp);
}

static enum senim_result parse_json(json_t *j, struct access_matrix *m, char *err,
				    size_t errlen)
{
	char *text = json_dumps(j, JSON_COMPACT);
	assert_non_null(text);
	enum senim_result rc = access_matrix_parse(text, strlen(text), m, err, errlen);
	free(text);
	return rc;
}

/* Reads the whole of `path` into a NUL-terminated malloc'ed string. */
static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *data = NULL;
	size_t cap = 0, n = 0;
	for (;;) {
		if (n + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			char *p = realloc(data, cap);
			assert_non_null(p);
			data = p;
		}
		size_t got = fread(data + n, 1, cap - n - 1, f);
		n += got;
		if (got == 0)
			break;
	}
	fclose(f);
	data[n] = '\0';
	*len = n;
	return data;
}

/* The repository root: $SENIM_SOURCE_DIR, else two folders above this file. */
static void source_path(char *out, size_t cap, const char *rel)
{
	const char *env = getenv("SENIM_SOURCE_DIR");
	if (env && *env) {
		snprintf(out, cap, "%s/%s", env, rel);
		return;
	}
	const char *file = __FILE__;
	const char *tail = strstr(file, "tests/unit/test_purposes.c");
	assert_non_null(tail);
	snprintf(out, cap, "%.*s%s", (int)(tail - file), file, rel);
}

static void test_matrix_file_is_default(void **state)
{
	(void)state;
	char path[4096], err[256] = "";
	size_t len;
	source_path(path, sizeof(path), "data/access-matrix.json");
	char *text = read_file(path, &len);
	if (!text)
		fail_msg("cannot read %s", path);

	struct access_matrix file, def;
	memset(&file, 0xff, sizeof(file));
	int rc = access_matrix_parse(text, len, &file, err, sizeof(err));
	free(text);
	if (rc != 0)
		fail_msg("%s: %s", path, err);
	access_matrix_default(&def);
	for (int p = 0; p < PURPOSE__COUNT; p++)
		if (file.categories_of[p] != def.categories_of[p])
			fail_msg("purpose %s: file %#x, compiled-in %#x", purpose_code(p),
				 (unsigned)file.categories_of[p],
				 (unsigned)def.categories_of[p]);
	for (int p = 0; p < PURPOSE__COUNT; p++)
		if (file.writes_of[p] != def.writes_of[p])
			fail_msg("purpose %s writes: file %#x, compiled-in %#x",
				 purpose_code(p), (unsigned)file.writes_of[p],
				 (unsigned)def.writes_of[p]);
	for (int r = 0; r < ROLE__COUNT; r++)
		if (file.purposes_of[r] != def.purposes_of[r])
			fail_msg("role %s: file %#x, compiled-in %#x", role_name(r),
				 (unsigned)file.purposes_of[r],
				 (unsigned)def.purposes_of[r]);
}

/* The defaults themselves: what the docs promise, cell by cell where it
 * matters most (S3, D7, U10). */
static void test_matrix_default_policy(void **state)
{
	(void)state;
	struct access_matrix m;
	access_matrix_default(&m);

	/* D7: no special category for marketing of either kind. */
	uint32_t special =
		CATEGORY_BIT(CATEGORY_MEDICAL) | CATEGORY_BIT(CATEGORY_BIOMETRIC);
	assert_int_equal(m.categories_of[PURPOSE_MARKETING] & special, 0);
	assert_int_equal(m.categories_of[PURPOSE_MARKETING_CAMPAIGN_DESIGN] & special, 0);
	/* U7 reaches people through open channels: contact data only. */
	assert_int_equal(m.categories_of[PURPOSE_MARKETING],
			 CATEGORY_BIT(CATEGORY_CONTACT));
	/* U10 sees everything. */
	assert_int_equal(m.categories_of[PURPOSE_LEGAL_OBLIGATION], CATEGORY_ALL);
	/* Every purpose grants something; no bits past the enums. */
	for (int p = 0; p < PURPOSE__COUNT; p++) {
		assert_true(m.categories_of[p] != 0);
		assert_int_equal(m.categories_of[p] & ~CATEGORY_ALL, 0);
	}
	for (int r = 0; r < ROLE__COUNT; r++)
		assert_int_equal(m.purposes_of[r] & ~PURPOSE_ALL, 0);
	/* Admins run the system and auditors read the audit trail: neither
	 * reads borrowers' data (S3). */
	assert_int_equal(m.purposes_of[ROLE_ADMIN], 0);
	assert_int_equal(m.purposes_of[ROLE_AUDITOR], 0);
	/* Marketing staff never act under a purpose that sees special data. */
	for (int p = 0; p < PURPOSE__COUNT; p++)
		if (m.purposes_of[ROLE_MARKETING] & PURPOSE_BIT(p))
			assert_int_equal(m.categories_of[p] & special, 0);
	/* Direction: a purpose writes only what it reads; the purposes that
	 * only look (U5, U7, U8, U9) write nothing. */
	for (int p = 0; p < PURPOSE__COUNT; p++)
		assert_int_equal(m.writes_of[p] & ~m.categories_of[p], 0);
	assert_int_equal(m.writes_of[PURPOSE_MARKETING], 0);
	assert_int_equal(m.writes_of[PURPOSE_MARKETING_CAMPAIGN_DESIGN], 0);
	assert_int_equal(m.writes_of[PURPOSE_INTERNAL_INVESTIGATION], 0);
	assert_int_equal(m.writes_of[PURPOSE_SECURITY_COMPLIANCE], 0);
	/* Registration (U4) writes identity and contact. */
	assert_int_equal(
		m.writes_of[PURPOSE_IDENTIFICATION] & (CATEGORY_BIT(CATEGORY_IDENTITY) |
						       CATEGORY_BIT(CATEGORY_CONTACT)),
		CATEGORY_BIT(CATEGORY_IDENTITY) | CATEGORY_BIT(CATEGORY_CONTACT));
	/* Every purpose is usable by some role. */
	uint32_t used = 0;
	for (int r = 0; r < ROLE__COUNT; r++)
		used |= m.purposes_of[r];
	assert_int_equal(used, PURPOSE_ALL);

	/* The default round-trips through the parser. */
	struct access_matrix back;
	char err[256];
	json_t *j = matrix_to_json(&m);
	assert_int_equal(parse_json(j, &back, err, sizeof(err)), 0);
	json_decref(j);
	assert_memory_equal(&back, &m, sizeof(m));
}

/* ---- refused files --------------------------------------------------------- */

static json_t *pc_of(json_t *j)
{
	return json_object_get(j, "purpose_categories");
}

static json_t *rp_of(json_t *j)
{
	return json_object_get(j, "role_purposes");
}

static void m_extra_key(json_t *j)
{
	json_object_set_new(j, "comment", json_string("hi"));
}
static void m_no_pc(json_t *j)
{
	json_object_del(j, "purpose_categories");
}
static void m_no_rp(json_t *j)
{
	json_object_del(j, "role_purposes");
}
static void m_pc_array(json_t *j)
{
	json_object_set_new(j, "purpose_categories", json_array());
}
static void m_rp_null(json_t *j)
{
	json_object_set_new(j, "role_purposes", json_null());
}
static void m_unknown_purpose(json_t *j)
{
	json_object_set_new(pc_of(j), "advertising", json_array());
}
static void m_missing_purpose(json_t *j)
{
	json_object_del(pc_of(j), "fraud_prevention");
}
static void m_list_string(json_t *j)
{
	json_object_set_new(pc_of(j), "marketing", json_string("contact"));
}
static void m_item_number(json_t *j)
{
	json_array_append_new(json_object_get(pc_of(j), "loan_servicing"),
			      json_integer(3));
}
static void m_unknown_category(json_t *j)
{
	json_array_append_new(json_object_get(pc_of(j), "loan_servicing"),
			      json_string("financial"));
}
static void m_dup_category(json_t *j)
{
	json_array_append_new(json_object_get(pc_of(j), "loan_servicing"),
			      json_string("contact"));
}
static void m_unknown_role(json_t *j)
{
	json_object_set_new(rp_of(j), "intern", json_array());
}
static void m_missing_role(json_t *j)
{
	json_object_del(rp_of(j), "auditor");
}
static void m_unknown_role_purpose(json_t *j)
{
	json_array_append_new(json_object_get(rp_of(j), "support"), json_string("U6"));
}
static void m_dup_role_purpose(json_t *j)
{
	json_array_append_new(json_object_get(rp_of(j), "marketing"),
			      json_string("marketing"));
}
static void m_role_list_object(json_t *j)
{
	json_object_set_new(rp_of(j), "dpo", json_object());
}
static void m_marketing_medical(json_t *j)
{
	json_array_append_new(json_object_get(pc_of(j), "marketing"),
			      json_string("medical"));
}
static void m_marketing_biometric(json_t *j)
{
	json_array_append_new(json_object_get(pc_of(j), "marketing"),
			      json_string("biometric"));
}
static void m_campaign_medical(json_t *j)
{
	json_array_append_new(json_object_get(pc_of(j), "marketing_campaign_design"),
			      json_string("medical"));
}
static void m_campaign_biometric(json_t *j)
{
	json_array_append_new(json_object_get(pc_of(j), "marketing_campaign_design"),
			      json_string("biometric"));
}
static void m_legal_short(json_t *j)
{
	json_t *all = json_array();
	for (int c = 0; c < CATEGORY__COUNT; c++)
		if (c != CATEGORY_DEVICE)
			json_array_append_new(all, json_string(category_code(c)));
	json_object_set_new(pc_of(j), "legal_obligation", all);
}
static void m_legal_empty(json_t *j)
{
	json_object_set_new(pc_of(j), "legal_obligation", json_array());
}
static json_t *pw_of(json_t *j)
{
	return json_object_get(j, "purpose_writes");
}
static void m_no_pw(json_t *j)
{
	json_object_del(j, "purpose_writes");
}
static void m_pw_missing_purpose(json_t *j)
{
	json_object_del(pw_of(j), "loan_servicing");
}
static void m_marketing_writes(json_t *j)
{
	json_array_append_new(json_object_get(pw_of(j), "marketing"),
			      json_string("contact"));
}
static void m_campaign_writes(json_t *j)
{
	json_array_append_new(json_object_get(pw_of(j), "marketing_campaign_design"),
			      json_string("device"));
}
static void m_investigation_writes(json_t *j)
{
	json_array_append_new(json_object_get(pw_of(j), "internal_investigation"),
			      json_string("medical"));
}
static void m_security_writes(json_t *j)
{
	json_array_append_new(json_object_get(pw_of(j), "security_compliance"),
			      json_string("identity"));
}
static void m_writes_unread(json_t *j)
{
	json_array_append_new(json_object_get(pw_of(j), "loan_servicing"),
			      json_string("medical"));
}
static void m_newline_name(json_t *j)
{
	json_object_set_new(pc_of(j), "bad\nname\r\x01", json_array());
}

static const struct {
	void (*mutate)(json_t *);
	const char *err_has;
} refused[] = {
	{ m_extra_key, "unknown key \"comment\"" },
	{ m_no_pc, "\"purpose_categories\" is missing" },
	{ m_no_rp, "\"role_purposes\" is missing" },
	{ m_pc_array, "purpose_categories: expected an object" },
	{ m_rp_null, "role_purposes: expected an object" },
	{ m_unknown_purpose, "unknown purpose \"advertising\"" },
	{ m_missing_purpose, "purpose \"fraud_prevention\" is missing" },
	{ m_list_string, "purpose_categories.marketing: expected an array" },
	{ m_item_number, "purpose_categories.loan_servicing[2]: expected a category" },
	{ m_unknown_category, "unknown category \"financial\"" },
	{ m_dup_category, "category \"contact\" listed twice" },
	{ m_unknown_role, "unknown role \"intern\"" },
	{ m_missing_role, "role \"auditor\" is missing" },
	{ m_unknown_role_purpose, "role_purposes.support: unknown purpose \"U6\"" },
	{ m_dup_role_purpose, "purpose \"marketing\" listed twice" },
	{ m_role_list_object, "role_purposes.dpo: expected an array" },
	{ m_marketing_medical,
	  "marketing: must not include the special category \"medical\"" },
	{ m_marketing_biometric, "special category \"biometric\" (D7)" },
	{ m_campaign_medical, "marketing_campaign_design: must not include the special" },
	{ m_campaign_biometric,
	  "marketing_campaign_design: must not include the special" },
	{ m_legal_short, "\"device\" is missing (U10)" },
	{ m_legal_empty, "legal_obligation: must include every category" },
	{ m_newline_name, "unknown purpose \"bad?name??\"" },
	{ m_no_pw, "\"purpose_writes\" is missing" },
	{ m_pw_missing_purpose, "purpose_writes: purpose \"loan_servicing\" is missing" },
	{ m_marketing_writes, "purpose_writes.marketing: must be empty, the purpose only "
			      "reads (U7)" },
	{ m_campaign_writes, "purpose_writes.marketing_campaign_design: must be empty" },
	{ m_investigation_writes,
	  "purpose_writes.internal_investigation: must be empty" },
	{ m_security_writes, "purpose_writes.security_compliance: must be empty" },
	{ m_writes_unread, "purpose_writes.loan_servicing: \"medical\" is not in "
			   "purpose_categories.loan_servicing" },
};

static void test_matrix_refused(void **state)
{
	(void)state;
	struct access_matrix def;
	access_matrix_default(&def);
	for (size_t i = 0; i < N(refused); i++) {
		json_t *j = matrix_to_json(&def);
		refused[i].mutate(j);
		struct access_matrix m;
		memset(&m, 0xab, sizeof(m));
		char err[256] = "";
		enum senim_result rc = parse_json(j, &m, err, sizeof(err));
		json_decref(j);
		if (rc != SENIM_ERR_CONFIG)
			fail_msg("row %zu (%s) was accepted", i, refused[i].err_has);
		if (!strstr(err, refused[i].err_has))
			fail_msg("row %zu: err \"%s\" lacks \"%s\"", i, err,
				 refused[i].err_has);
		/* One line, and the caller's matrix untouched. */
		assert_null(strchr(err, '\n'));
		assert_null(strchr(err, '\r'));
		for (size_t k = 0; k < sizeof(m); k++)
			assert_int_equal(((unsigned char *)&m)[k], 0xab);
	}
}

/* Text the JSON loader itself refuses: syntax, duplicates, other types. */
static void test_matrix_refused_text(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		const char *err_has;
	} rows[] = {
		{ "", "access matrix: line" },
		{ "{", "access matrix: line" },
		{ "[]", "expected a JSON object" },
		{ "\"x\"", "access matrix" },
		{ "null", "access matrix" },
		{ "{\"purpose_categories\": {}, \"purpose_categories\": {}}",
		  "duplicate" },
		{ "{\"purpose_categories\": {\"marketing\": [], \"marketing\": []}}",
		  "duplicate" },
		{ "{\"purpose_categories\": {}}",
		  "purpose \"loan_application_review\" is missing" },
		{ "{\"role_purposes\": {}}", "role \"admin\" is missing" },
		{ "{} trailing", "access matrix: line" },
	};
	for (size_t i = 0; i < N(rows); i++) {
		struct access_matrix m;
		char err[256] = "";
		enum senim_result rc = access_matrix_parse(
			rows[i].text, strlen(rows[i].text), &m, err, sizeof(err));
		if (rc != SENIM_ERR_CONFIG || !strstr(err, rows[i].err_has))
			fail_msg("\"%s\": rc %d, err \"%s\", want \"%s\"", rows[i].text,
				 rc, err, rows[i].err_has);
		assert_null(strchr(err, '\n'));
	}
	/* The length is the caller's: a valid file cut short is refused. */
	struct access_matrix def, m;
	access_matrix_default(&def);
	json_t *j = matrix_to_json(&def);
	char *text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	char err[8];
	assert_int_equal(
		access_matrix_parse(text, strlen(text) - 1, &m, err, sizeof(err)),
		SENIM_ERR_CONFIG);
	/* A small err buffer is truncated, not overrun; none at all is fine. */
	assert_true(strlen(err) < sizeof(err));
	assert_int_equal(access_matrix_parse(text, strlen(text) - 1, &m, NULL, 0),
			 SENIM_ERR_CONFIG);
	assert_int_equal(access_matrix_parse(NULL, 0, &m, err, sizeof(err)),
			 SENIM_ERR_CONFIG);
	free(text);
}

/* Empty lists are allowed, for roles and purposes alike. */
static void test_matrix_empty_lists(void **state)
{
	(void)state;
	struct access_matrix m, want;
	memset(&want, 0, sizeof(want));
	want.categories_of[PURPOSE_LEGAL_OBLIGATION] = CATEGORY_ALL;
	json_t *j = matrix_to_json(&want);
	char err[256] = "";
	assert_int_equal(parse_json(j, &m, err, sizeof(err)), 0);
	json_decref(j);
	assert_memory_equal(&m, &want, sizeof(m));
}

/* ---- category schemas ------------------------------------------------------ */

static void test_categories_schema(void **state)
{
	(void)state;
	for (int c = 0; c < CATEGORY__COUNT; c++) {
		size_t n = 0;
		const struct field_def *f = category_fields(c, &n);
		assert_non_null(f);
		if (n == 0)
			fail_msg("category %s has no fields", category_code(c));
		for (size_t i = 0; i < n; i++) {
			assert_non_null(f[i].name);
			assert_true(strlen(f[i].name) > 0);
			assert_non_null(f[i].describes);
			assert_true(strlen(f[i].describes) > 0);
			/* Names are unique within the category and found by lookup. */
			for (size_t k = i + 1; k < n; k++)
				if (strcmp(f[i].name, f[k].name) == 0)
					fail_msg("%s.%s twice", category_code(c),
						 f[i].name);
			assert_ptr_equal(category_field(c, f[i].name), &f[i]);
			/* Every kind but BOOL has a length cap; lists an item cap. */
			if (f[i].kind != FIELD_BOOL)
				assert_true(f[i].max_len > 0);
			if (f[i].kind == FIELD_LIST || f[i].kind == FIELD_PEOPLE)
				assert_true(f[i].max_items > 0);
			else
				assert_int_equal(f[i].max_items, 0);
			if (f[i].kind == FIELD_ENUM) {
				size_t longest = 0, values = 0;
				assert_non_null(f[i].allowed);
				for (const char *const *v = f[i].allowed; *v;
				     v++, values++)
					if (strlen(*v) > longest)
						longest = strlen(*v);
				assert_true(values >= 2);
				assert_int_equal(f[i].max_len, longest);
			} else {
				assert_null(f[i].allowed);
			}
			/* Biometric images are blobs; blobs are biometric (D7). */
			assert_int_equal(f[i].kind == FIELD_BLOB,
					 c == CATEGORY_BIOMETRIC);
		}
	}
	size_t n = 99;
	assert_null(category_fields(CATEGORY__COUNT, &n));
	assert_int_equal(n, 0);
}

static void test_categories_lookup(void **state)
{
	(void)state;
	static const struct {
		enum category c;
		const char *name;
		enum field_kind kind;
		size_t max_len;
	} rows[] = {
		{ CATEGORY_IDENTITY, "surname", FIELD_TEXT, 100 },
		{ CATEGORY_IDENTITY, "given_name", FIELD_TEXT, 100 },
		{ CATEGORY_IDENTITY, "patronymic", FIELD_TEXT, 100 },
		{ CATEGORY_IDENTITY, "birth_date", FIELD_DATE, 10 },
		{ CATEGORY_IDENTITY, "sex", FIELD_ENUM, 1 },
		{ CATEGORY_IDENTITY, "citizenship", FIELD_COUNTRY, 2 },
		{ CATEGORY_IDENTITY, "iin", FIELD_TEXT, 12 },
		{ CATEGORY_IDENTITY, "document_type", FIELD_ENUM, 16 },
		{ CATEGORY_IDENTITY, "document_number", FIELD_TEXT, 32 },
		{ CATEGORY_IDENTITY, "document_expires_at", FIELD_DATE, 10 },
		{ CATEGORY_IDENTITY, "place_of_birth", FIELD_TEXT, 200 },
		{ CATEGORY_IDENTITY, "eds_certificate_serial", FIELD_TEXT, 128 },
		{ CATEGORY_IDENTITY, "identifiers", FIELD_LIST, 200 },
		{ CATEGORY_FAMILY, "marital_status", FIELD_ENUM, 8 },
		{ CATEGORY_FAMILY, "dependants", FIELD_PEOPLE, 300 },
		{ CATEGORY_FAMILY, "represented_persons", FIELD_PEOPLE, 300 },
		{ CATEGORY_FAMILY, "notes", FIELD_TEXT, 2000 },
		{ CATEGORY_MEDICAL, "legal_capacity", FIELD_ENUM, 9 },
		{ CATEGORY_MEDICAL, "health_status", FIELD_TEXT, 2000 },
		{ CATEGORY_MEDICAL, "disability_group", FIELD_ENUM, 4 },
		{ CATEGORY_CONTACT, "phone_mobile", FIELD_PHONE, 32 },
		{ CATEGORY_CONTACT, "email", FIELD_EMAIL, 254 },
		{ CATEGORY_CONTACT, "registered_address", FIELD_TEXT, 500 },
		{ CATEGORY_CONTACT, "position", FIELD_TEXT, 200 },
		{ CATEGORY_PROFESSIONAL, "position", FIELD_TEXT, 200 },
		{ CATEGORY_PROFESSIONAL, "individual_entrepreneur", FIELD_BOOL, 0 },
		{ CATEGORY_PROFESSIONAL, "criminal_record", FIELD_TEXT, 2000 },
		{ CATEGORY_PROFESSIONAL, "liability_records", FIELD_LIST, 500 },
		{ CATEGORY_DEVICE, "ip_addresses", FIELD_LIST, 45 },
		{ CATEGORY_DEVICE, "wifi_bssids", FIELD_LIST, 64 },
		{ CATEGORY_DEVICE, "sensor_data", FIELD_TEXT, 4000 },
		{ CATEGORY_BIOMETRIC, "face_image", FIELD_BLOB, 512 * 1024 },
		{ CATEGORY_BIOMETRIC, "signature_image", FIELD_BLOB, 512 * 1024 },
	};
	for (size_t i = 0; i < N(rows); i++) {
		const struct field_def *f = category_field(rows[i].c, rows[i].name);
		if (!f)
			fail_msg("%s.%s missing", category_code(rows[i].c), rows[i].name);
		assert_int_equal(f->kind, rows[i].kind);
		assert_int_equal(f->max_len, rows[i].max_len);
	}
	/* A field belongs to its own category only. */
	assert_null(category_field(CATEGORY_CONTACT, "iin"));
	assert_null(category_field(CATEGORY_MEDICAL, "face_image"));
	assert_null(category_field(CATEGORY_IDENTITY, "Surname"));
	assert_null(category_field(CATEGORY_IDENTITY, ""));
	assert_null(category_field(CATEGORY_IDENTITY, NULL));
	assert_null(category_field(CATEGORY__COUNT, "iin"));

	const struct field_def *sex = category_field(CATEGORY_IDENTITY, "sex");
	assert_string_equal(sex->allowed[0], "M");
	assert_string_equal(sex->allowed[1], "F");
	assert_null(sex->allowed[2]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_purpose_codes),
		cmocka_unit_test(test_category_codes),
		cmocka_unit_test(test_matrix_file_is_default),
		cmocka_unit_test(test_matrix_default_policy),
		cmocka_unit_test(test_matrix_refused),
		cmocka_unit_test(test_matrix_refused_text),
		cmocka_unit_test(test_matrix_empty_lists),
		cmocka_unit_test(test_categories_schema),
		cmocka_unit_test(test_categories_lookup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
