/*
 * test_lending.c — the pure checks of src/lending: payout destinations,
 * product codes and product coherence, one table row per rule; an
 * application's full and limited (R5) views.
 *
 * Card and IBAN check digits were computed with an independent Python
 * one-off, not with applications.c:
 *
 *   def luhn(s): (sum of digits, every second from the right doubled and
 *                 reduced by 9 above 9) % 10 == 0
 *   def iban(s): int(''.join(str(int(c, 36)) for c in s[4:] + s[:4])) % 97 == 1
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lending/applications.h"
#include "lending/products.h"
#include "common/banned.h"

#define N(a) (sizeof(a) / sizeof(a[0]))

static const struct {
	const char *kind, *value;
	int ok;
	const char *why;
} payouts[] = {
	{ "card", "4111111111111111", 1, "16 digits, Luhn" },
	{ "card", "6011000990139424", 1, "16 digits, Luhn" },
	{ "card", "4400430000000000016", 1, "19 digits, Luhn" },
	{ "card", "4111111111111112", 0, "Luhn broken" },
	{ "card", "411111111111111", 0, "15 digits" },
	{ "card", "44004300000000000016", 0, "20 digits" },
	{ "card", "4111 1111 1111 1111", 0, "spaces" },
	{ "card", "411111111111111a", 0, "a letter" },
	{ "account", "KZ86125KZT5004100100", 1, "KZ IBAN, mod 97" },
	{ "account", "KZ87125KZT5004100100", 0, "check digits broken" },
	{ "account", "KZ86125kzt5004100100", 0, "lower case" },
	{ "account", "KZ86125KZT500410010", 0, "19 characters" },
	{ "account", "DE86125KZT5004100100", 0, "not KZ" },
	{ "account", "4111111111111111", 0, "a card as an account" },
	{ "card", "KZ86125KZT5004100100", 0, "an account as a card" },
	{ "cash", "4111111111111111", 0, "unknown kind" },
};

static void test_payouts(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(payouts); i++)
		if (application_payout_valid(payouts[i].kind, payouts[i].value,
					     strlen(payouts[i].value)) != payouts[i].ok)
			fail_msg("%s %s: %s", payouts[i].kind, payouts[i].value,
				 payouts[i].why);
}

static void test_ids_and_codes(void **state)
{
	(void)state;
	assert_true(application_id_valid("app_AAAAAAAAAAAAAAAAAAAAAA"));
	assert_false(application_id_valid("sbj_AAAAAAAAAAAAAAAAAAAAAA"));
	assert_false(application_id_valid("app_AAAA"));
	assert_true(product_code_valid("std"));
	assert_true(product_code_valid("a-1_b"));
	assert_true(product_code_valid("abcdefghijklmnopqrstuvwxyz012345"));   /* 32 */
	assert_false(product_code_valid("abcdefghijklmnopqrstuvwxyz0123456")); /* 33 */
	assert_false(product_code_valid(""));
	assert_false(product_code_valid("-std"));
	assert_false(product_code_valid("Std"));
	assert_false(product_code_valid("s td"));
	assert_int_equal(product_method_parse("annuity"), SCHEDULE_ANNUITY);
	assert_int_equal(product_method_parse("single"), SCHEDULE_SINGLE);
	assert_int_equal(product_method_parse("balloon"), -1);
}

static struct product good(void)
{
	struct product p;
	memset(&p, 0, sizeof(p));
	memcpy(p.code, "std", 4);
	p.amount_min_tiyn = 100;
	p.amount_max_tiyn = 1000;
	p.term_min_days = 7;
	p.term_max_days = 30;
	p.rate_bp = 4000;
	p.issue_fee_tiyn = 100;
	p.issue_fee_bp = 10000;
	p.methods = PRODUCT_METHOD_BIT(SCHEDULE_ANNUITY);
	return p;
}

static void test_product_valid(void **state)
{
	(void)state;
	const char *field = NULL, *rule = NULL;
	struct product p = good();
	assert_true(product_valid(&p, &field, &rule));
	static const struct {
		int which;
		int64_t value;
		const char *field, *rule;
	} rows[] = {
		{ 0, 0, "amount_min_tiyn", "min_value" },
		{ 1, 99, "amount_max_tiyn", "min_value" },
		{ 1, PRODUCT_AMOUNT_MAX + 1, "amount_max_tiyn", "max_value" },
		{ 2, 0, "term_min_days", "min_value" },
		{ 3, 6, "term_max_days", "min_value" },
		{ 3, PRODUCT_TERM_MAX + 1, "term_max_days", "max_value" },
		{ 4, -1, "rate_bp", "min_value" },
		{ 4, PRODUCT_RATE_MAX + 1, "rate_bp", "max_value" },
		{ 5, 101, "issue_fee_tiyn", "max_value" },
		{ 6, 10001, "issue_fee_bp", "max_value" },
		{ 7, 0, "schedule_methods", "enum_value" },
		{ 7, 1 << 3, "schedule_methods", "enum_value" },
	};
	for (size_t i = 0; i < N(rows); i++) {
		p = good();
		int64_t *slot[] = { &p.amount_min_tiyn, &p.amount_max_tiyn,
				    &p.term_min_days,	&p.term_max_days,
				    &p.rate_bp,		&p.issue_fee_tiyn,
				    &p.issue_fee_bp };
		if (rows[i].which == 7)
			p.methods = (uint32_t)rows[i].value;
		else
			*slot[rows[i].which] = rows[i].value;
		field = rule = NULL;
		assert_false(product_valid(&p, &field, &rule));
		assert_string_equal(field, rows[i].field);
		assert_string_equal(rule, rows[i].rule);
	}
	p = good();
	memcpy(p.code, "Bad", 4);
	assert_false(product_valid(&p, &field, &rule));
	assert_string_equal(field, "code");
}

static void test_mask_text(void **state)
{
	(void)state;
	char out[256];
	product_categories_text(0, out, sizeof(out));
	assert_string_equal(out, "");
	product_methods_text(PRODUCT_METHOD_BIT(SCHEDULE_ANNUITY) |
				     PRODUCT_METHOD_BIT(SCHEDULE_SINGLE),
			     out, sizeof(out));
	assert_string_equal(out, "annuity,single");
}

/* R5: the limited view keeps exactly the contract's terms and the state,
 * whatever the application holds; the full view is as the API documents. */
static void test_application_views(void **state)
{
	(void)state;
	struct application a = { .id = "app_AAAAAAAAAAAAAAAAAAAAAA",
				 .product_code = "ctr",
				 .product_version = 2,
				 .amount_tiyn = 5000000,
				 .term_days = 90,
				 .method = "annuity",
				 .payout_kind = "card",
				 .payout_last4 = "4242",
				 .state = "open",
				 .decline_reason = "self_exclusion",
				 .refused = "family,marketing_sms",
				 .created_at = 1,
				 .updated_at = 2 };
	struct application_missing m = { .categories = 1u, .consents = 1u };
	static const struct {
		enum application_view v;
		const char *keys; /* in order, comma-separated */
	} views[] = {
		{ APPLICATION_VIEW_FULL,
		  "id,product,amount_tiyn,term_days,schedule_method,"
		  "payout,state,created_at,updated_at,"
		  "decline_reason,refused,missing" },
		{ APPLICATION_VIEW_LIMITED,
		  "id,product,amount_tiyn,term_days,"
		  "schedule_method,state,created_at,updated_at" },
	};
	for (size_t i = 0; i < N(views); i++) {
		json_t *o = application_json(&a, &m, views[i].v);
		assert_non_null(o);
		char keys[256] = "";
		size_t n = 0;
		const char *k;
		json_t *val;
		json_object_foreach(o, k, val)
		{
			(void)val;
			n += (size_t)snprintf(keys + n, sizeof(keys) - n, "%s%s",
					      n ? "," : "", k);
		}
		assert_string_equal(keys, views[i].keys);
		char *text = json_dumps(o, JSON_COMPACT);
		assert_non_null(text);
		int shows = strstr(text, "4242") != NULL ||
			    strstr(text, "self_exclusion") != NULL ||
			    strstr(text, "marketing_sms") != NULL;
		assert_int_equal(shows, views[i].v == APPLICATION_VIEW_FULL);
		free(text);
		json_decref(o);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_payouts),
		cmocka_unit_test(test_ids_and_codes),
		cmocka_unit_test(test_product_valid),
		cmocka_unit_test(test_mask_text),
		cmocka_unit_test(test_application_views),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
