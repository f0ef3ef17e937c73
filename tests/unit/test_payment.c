/*
 * test_payment.c — payout/1 and the repayment notice (connectors/payment.h):
 * the payout request and what it refuses, the status path, every rule of an
 * answer (docs/connectors/payment-provider.md) with a case only that rule
 * decides, the peer's recorded answers (tests/unit/data/payment/, made by
 * its make-fixtures from tests/peers/payment_provider.py), and the notice
 * parser: bad amounts, a missing reference, an oversized body, unknown
 * fields.  No reason may carry a byte of the answer or the notice.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/payment.h"
#include "testutil.h"
#include "common/banned.h"

#define N(a) (sizeof(a) / sizeof(a[0]))
#define KEY "pyo_AZP6o5h8cQ2v7kV1hM3s0w"
#define OTHER_KEY "pyo_AZP6o5h8cQ2v7kV1hM3s0x"
#define IIN "870412300416"
#define IBAN "KZ86125KZT5004100100"
#define TOKEN "tok_4f9a2c7e1b3d5a6c"
#define NOW 1767225600 /* 2026-01-01T00:00:00Z */

/* ---- the request ------------------------------------------------------------- */

static struct payment_payout card(void)
{
	return (struct payment_payout){ .operation_key = KEY,
					.amount_tiyn = 15000000,
					.contract_ref = "MK-2026/000123",
					.dest = PAYMENT_DEST_CARD_TOKEN,
					.card_token = TOKEN };
}

static struct payment_payout iban(void)
{
	return (struct payment_payout){ .operation_key = KEY,
					.amount_tiyn = 100,
					.contract_ref = "MK-1",
					.dest = PAYMENT_DEST_IBAN,
					.iban = IBAN,
					.holder_iin = IIN };
}

static void expect_body(const struct payment_payout *p, const char *want)
{
	json_t *out = NULL;
	char why[CODEC_REASON_MAX];
	assert_int_equal(payment_payout_request(p, &out, why), SENIM_OK);
	assert_string_equal(why, "");
	char *text = json_dumps(out, CODEC_DUMP_FLAGS);
	assert_string_equal(text, want);
	free(text);
	json_decref(out);
}

static void test_request(void **state)
{
	(void)state;
	struct payment_payout c = card(), i = iban();
	/* A card payout carries no IIN (minimisation). */
	expect_body(&c,
		    "{\"amount_tiyn\":\"15000000\",\"contract_ref\":\"MK-2026/000123\","
		    "\"currency\":\"KZT\",\"destination\":{\"token\":\"" TOKEN "\","
		    "\"type\":\"card_token\"},\"operation_key\":\"" KEY "\"}");
	expect_body(&i, "{\"amount_tiyn\":\"100\",\"contract_ref\":\"MK-1\","
			"\"currency\":\"KZT\",\"destination\":{\"holder_iin\":\"" IIN
			"\",\"iban\":\"" IBAN "\",\"type\":\"iban\"},"
			"\"operation_key\":\"" KEY "\"}");
	c.amount_tiyn = CODEC_TIYN_MAX;
	expect_body(&c,
		    "{\"amount_tiyn\":\"1000000000000000\",\"contract_ref\":"
		    "\"MK-2026/000123\",\"currency\":\"KZT\",\"destination\":{\"token\":"
		    "\"" TOKEN "\",\"type\":\"card_token\"},\"operation_key\":\"" KEY
		    "\"}");
}

static void test_request_refusals(void **state)
{
	(void)state;
	static const struct {
		int base; /* 0 card, 1 iban */
		const char *key, *contract, *token, *iban, *iin;
		long long amount; /* 0: the base's */
		int dest;	  /* -1: the base's */
		const char *why;
	} rows[] = {
		{ 0, "trf_AZP6o5h8cQ2v7kV1hM3s0w", NULL, NULL, NULL, NULL, 0, -1,
		  "operation_key is not pyo_ and 22 base64url characters" },
		{ 0, "pyo_AZP6o5h8cQ2v7kV1hM3s0", NULL, NULL, NULL, NULL, 0, -1,
		  "operation_key is not pyo_ and 22 base64url characters" },
		{ 0, "pyo_AZP6o5h8cQ2v7kV1hM3s0!", NULL, NULL, NULL, NULL, 0, -1,
		  "operation_key is not pyo_ and 22 base64url characters" },
		{ 0, NULL, NULL, NULL, NULL, NULL, -5, -1,
		  "amount_tiyn is not 1 to 10^15" },
		{ 0, NULL, NULL, NULL, NULL, NULL, CODEC_TIYN_MAX + 1, -1,
		  "amount_tiyn is not 1 to 10^15" },
		{ 0, NULL, "MK 1", NULL, NULL, NULL, 0, -1,
		  "contract_ref is not 1 to 64 of [A-Za-z0-9_./-]" },
		{ 0, NULL, "", NULL, NULL, NULL, 0, -1,
		  "contract_ref is not 1 to 64 of [A-Za-z0-9_./-]" },
		{ 0, NULL, NULL, "tok_short", NULL, NULL, 0, -1,
		  "destination.token is not 16 to 64 base64url characters" },
		{ 0, NULL, NULL, "4400 4301 2345 6789", NULL, NULL, 0, -1,
		  "destination.token is not 16 to 64 base64url characters" },
		{ 0, NULL, NULL, NULL, NULL, IIN, 0, -1,
		  "holder_iin goes only with an IBAN" },
		{ 1, NULL, NULL, NULL, "KZ86125KZT5004100101", NULL, 0, -1,
		  "destination.iban is not a valid KZ IBAN" },
		{ 1, NULL, NULL, NULL, "GB82WEST12345698765432", NULL, 0, -1,
		  "destination.iban is not a valid KZ IBAN" },
		{ 1, NULL, NULL, NULL, NULL, "870412300417", 0, -1,
		  "destination.holder_iin is not a valid IIN" },
		{ 0, NULL, NULL, NULL, NULL, NULL, 0, 7,
		  "destination is not card_token or iban" },
	};
	for (size_t r = 0; r < N(rows); r++) {
		struct payment_payout p = rows[r].base ? iban() : card();
		if (rows[r].key)
			p.operation_key = rows[r].key;
		if (rows[r].contract)
			p.contract_ref = rows[r].contract;
		if (rows[r].token)
			p.card_token = rows[r].token;
		if (rows[r].iban)
			p.iban = rows[r].iban;
		if (rows[r].iin)
			p.holder_iin = rows[r].iin;
		if (rows[r].amount)
			p.amount_tiyn = rows[r].amount;
		if (rows[r].dest >= 0)
			p.dest = (enum payment_destination)rows[r].dest;
		json_t *out = (json_t *)1;
		char why[CODEC_REASON_MAX];
		enum senim_result err = payment_payout_request(&p, &out, why);
		if (err != SENIM_ERR_INVALID || out || strcmp(why, rows[r].why) != 0)
			fail_msg("row %zu: got %d \"%s\", want \"%s\"", r, err, why,
				 rows[r].why);
	}
	/* Zero is no payout. */
	struct payment_payout p = card();
	p.amount_tiyn = 0;
	json_t *out;
	assert_int_equal(payment_payout_request(&p, &out, NULL), SENIM_ERR_INVALID);
}

static void test_status_path(void **state)
{
	(void)state;
	char path[PAYMENT_STATUS_PATH_SIZE];
	assert_int_equal(payment_status_path(KEY, path), 1);
	assert_string_equal(path, "/v1/payouts/" KEY);
	/* Nothing but a key goes into the path. */
	assert_int_equal(payment_status_path("pyo_../../v1/payouts?x=1aaaa", path), 0);
	assert_string_equal(path, "");
	assert_int_equal(payment_status_path(NULL, path), 0);
	assert_true(payment_key_ok(KEY));
	assert_false(payment_key_ok("pyo_AZP6o5h8cQ2v7kV1hM3s0w0"));
}

/* ---- the answer ------------------------------------------------------------- */

#define A_KEY "\"operation_key\": \"" KEY "\""
#define A_REST "\"provider_ref\": \"PP-00000001\", \"currency\": \"KZT\""

static const struct {
	const char *body;
	enum codec_status want;
	const char *reason; /* NULL with CODEC_OK */
} answers[] = {
	{ "{" A_KEY ", \"status\": \"accepted\", \"amount_tiyn\": \"15000000\", " A_REST
	  "}",
	  CODEC_OK, NULL },
	/* An integer amount is the same amount. */
	{ "{" A_KEY ", \"status\": \"accepted\", \"amount_tiyn\": 15000000, " A_REST "}",
	  CODEC_OK, NULL },
	{ "{" A_KEY ", \"status\": \"completed\", \"amount_tiyn\": \"15000000\", " A_REST
	  ", \"completed_at\": \"2025-12-31T23:59:59Z\", \"extra\": {\"x\": 1}}",
	  CODEC_OK, NULL },
	/* The clock skew allowed. */
	{ "{" A_KEY ", \"status\": \"completed\", \"amount_tiyn\": \"15000000\", " A_REST
	  ", \"completed_at\": \"2026-01-01T00:05:00Z\"}",
	  CODEC_OK, NULL },
	{ "{" A_KEY ", \"status\": \"rejected\", \"amount_tiyn\": \"15000000\", " A_REST
	  ", \"reject_code\": \"card_declined\"}",
	  CODEC_OK, NULL },
	/* Who and how much: never trusted when they differ. */
	{ "{\"operation_key\": \"" OTHER_KEY "\", \"status\": \"completed\", "
	  "\"amount_tiyn\": \"15000000\", " A_REST
	  ", \"completed_at\": \"2025-12-31T23:59:59Z\"}",
	  CODEC_WRONG_SUBJECT, "operation_key is not the payout sent" },
	{ "{" A_KEY ", \"status\": \"completed\", \"amount_tiyn\": \"15000100\", " A_REST
	  ", \"completed_at\": \"2025-12-31T23:59:59Z\"}",
	  CODEC_WRONG_SUBJECT, "amount_tiyn is not the amount sent" },
	{ "{" A_KEY ", \"status\": \"accepted\", \"amount_tiyn\": \"15000000\", "
	  "\"provider_ref\": \"PP-1\", \"currency\": \"USD\"}",
	  CODEC_WRONG_SUBJECT, "currency is not the currency sent" },
	/* Malformed. */
	{ "{\"status\": \"accepted\", \"amount_tiyn\": \"15000000\", " A_REST "}",
	  CODEC_INVALID_ANSWER, "operation_key is missing" },
	{ "{" A_KEY ", \"status\": \"accepted\", " A_REST "}", CODEC_INVALID_ANSWER,
	  "amount_tiyn is missing" },
	{ "{" A_KEY ", \"status\": \"accepted\", \"amount_tiyn\": 15000000.0, " A_REST
	  "}",
	  CODEC_INVALID_ANSWER, "amount_tiyn is not an integer or a string of digits" },
	{ "{" A_KEY ", \"status\": \"accepted\", \"amount_tiyn\": \"015000000\", " A_REST
	  "}",
	  CODEC_INVALID_ANSWER, "amount_tiyn is not an integer or a string of digits" },
	{ "{" A_KEY ", \"status\": \"accepted\", \"amount_tiyn\": \"-15000000\", " A_REST
	  "}",
	  CODEC_INVALID_ANSWER, "amount_tiyn is not an integer or a string of digits" },
	{ "{" A_KEY ", \"status\": \"accepted\", \"amount_tiyn\": -1, " A_REST "}",
	  CODEC_INVALID_ANSWER, "amount_tiyn is not 0 to 10^15" },
	{ "{" A_KEY ", \"status\": \"accepted\", \"amount_tiyn\": \"15000000\", "
	  "\"provider_ref\": \"PP-1\"}",
	  CODEC_INVALID_ANSWER, "currency is not a string" },
	{ "{" A_KEY ", \"status\": \"paid\", \"amount_tiyn\": \"15000000\", " A_REST "}",
	  CODEC_INVALID_ANSWER, "status is not one of the API's values" },
	{ "{" A_KEY ", \"status\": \"accepted\", \"amount_tiyn\": \"15000000\", "
	  "\"currency\": \"KZT\"}",
	  CODEC_INVALID_ANSWER, "provider_ref is missing" },
	{ "{" A_KEY ", \"status\": \"accepted\", \"amount_tiyn\": \"15000000\", "
	  "\"currency\": \"KZT\", \"provider_ref\": \"PP 1\"}",
	  CODEC_INVALID_ANSWER, "provider_ref is not [A-Za-z0-9_.:-]" },
	{ "{" A_KEY ", \"status\": \"completed\", \"amount_tiyn\": \"15000000\", " A_REST
	  "}",
	  CODEC_INVALID_ANSWER, "completed_at is missing" },
	{ "{" A_KEY ", \"status\": \"completed\", \"amount_tiyn\": \"15000000\", " A_REST
	  ", \"completed_at\": \"2026-01-01T00:05:01Z\"}",
	  CODEC_INVALID_ANSWER, "completed_at is in the future" },
	{ "{" A_KEY ", \"status\": \"completed\", \"amount_tiyn\": \"15000000\", " A_REST
	  ", \"completed_at\": \"1970-01-01T00:00:00Z\"}",
	  CODEC_INVALID_ANSWER, "completed_at is before 2000" },
	{ "{" A_KEY ", \"status\": \"rejected\", \"amount_tiyn\": \"15000000\", " A_REST
	  "}",
	  CODEC_INVALID_ANSWER, "reject_code is missing" },
	{ "{" A_KEY ", \"status\": \"rejected\", \"amount_tiyn\": \"15000000\", " A_REST
	  ", \"reject_code\": \"Card Declined\"}",
	  CODEC_INVALID_ANSWER, "reject_code is not [a-z0-9_]{1,64}" },
	/* A second key could hide the real one. */
	{ "{" A_KEY ", " A_KEY
	  ", \"status\": \"accepted\", \"amount_tiyn\": \"15000000\", " A_REST "}",
	  CODEC_INVALID_ANSWER, "answer is not JSON without duplicate keys" },
	{ "[]", CODEC_INVALID_ANSWER, "answer is not a JSON object" },
};

static void test_answer_rules(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(answers); i++) {
		struct payment_answer a;
		struct codec_verdict v;
		const char *b = answers[i].body;
		assert_int_equal(
			payment_payout_parse(b, strlen(b), KEY, 15000000, NOW, &a, &v),
			SENIM_OK);
		if (v.status != answers[i].want ||
		    strcmp(v.reason, answers[i].reason ? answers[i].reason : "") != 0)
			fail_msg("answer %zu: got %s \"%s\"", i,
				 codec_status_code(v.status), v.reason);
		if (v.status != CODEC_OK) {
			assert_string_equal(a.provider_ref, "");
			assert_int_equal(a.completed_at, 0);
		}
	}
	/* What an ok answer gives. */
	const char *b = answers[4].body;
	struct payment_answer a;
	struct codec_verdict v;
	assert_int_equal(payment_payout_parse(b, strlen(b), KEY, 15000000, NOW, &a, &v),
			 SENIM_OK);
	assert_int_equal(a.status, PAYMENT_REJECTED);
	assert_string_equal(a.provider_ref, "PP-00000001");
	assert_string_equal(a.reject_code, "card_declined");
	b = answers[2].body;
	assert_int_equal(payment_payout_parse(b, strlen(b), KEY, 15000000, NOW, &a, &v),
			 SENIM_OK);
	assert_int_equal(a.status, PAYMENT_COMPLETED);
	assert_int_equal(a.completed_at, NOW - 1);
	assert_string_equal(payment_status_code(a.status), "completed");
	assert_null(payment_status_code((enum payment_status)9));
	/* Not asked about anything: no answer is about it. */
	assert_int_equal(payment_payout_parse(b, strlen(b), NULL, 15000000, NOW, &a, &v),
			 SENIM_OK);
	assert_int_equal(v.status, CODEC_WRONG_SUBJECT);
	/* Too large. */
	size_t big = CODEC_ANSWER_MAX + 1;
	char *huge = malloc(big);
	assert_non_null(huge);
	memset(huge, ' ', big);
	assert_int_equal(payment_payout_parse(huge, big, KEY, 1, NOW, &a, &v), SENIM_OK);
	assert_int_equal(v.status, CODEC_INVALID_ANSWER);
	free(huge);
}

/* ---- the card binding ----------------------------------------------------------- */

#define BKEY "cbd_AZP6o5h8cQ2v7kV1hM3s0w"
#define B_KEY "{\"binding_key\": \"" BKEY "\", "
#define BOUND_REST "\"token\": \"" TOKEN "\", \"expiry\": \"2029-04\""

static const struct {
	const char *body;
	enum codec_status want;
	const char *reason; /* NULL with CODEC_OK */
} bindings[] = {
	{ B_KEY "\"status\": \"pending\", \"page_url\": "
		"\"https://pay.example.kz/bind/BND-1?x=1&y=%20\"}",
	  CODEC_OK, NULL },
	{ B_KEY "\"status\": \"bound\", \"masked_pan\": \"440043******1234\", " BOUND_REST
		", \"extra\": 1}",
	  CODEC_OK, NULL },
	{ B_KEY "\"status\": \"failed\", \"fail_code\": \"card_declined\"}", CODEC_OK,
	  NULL },
	/* 19 digits masked: 6, 9 stars, 4. */
	{ B_KEY
	  "\"status\": \"bound\", \"masked_pan\": \"440043*********1234\", " BOUND_REST
	  "}",
	  CODEC_OK, NULL },
	/* Whose binding: never trusted when another. */
	{ "{\"binding_key\": \"cbd_AAAAAAAAAAAAAAAAAAAAAA\", \"status\": \"bound\", "
	  "\"masked_pan\": \"440043******1234\", " BOUND_REST "}",
	  CODEC_WRONG_SUBJECT, "binding_key is not the binding asked" },
	{ "{\"status\": \"failed\", \"fail_code\": \"x\"}", CODEC_INVALID_ANSWER,
	  "binding_key is missing" },
	{ B_KEY "\"status\": \"done\"}", CODEC_INVALID_ANSWER,
	  "status is not one of the API's values" },
	{ B_KEY "\"status\": \"pending\"}", CODEC_INVALID_ANSWER, "page_url is missing" },
	{ B_KEY "\"status\": \"pending\", \"page_url\": \"javascript:alert(1)//xx\"}",
	  CODEC_INVALID_ANSWER, "page_url is not an http(s) URL" },
	{ B_KEY "\"status\": \"pending\", \"page_url\": \"https://a.kz/\\\"><b>\"}",
	  CODEC_INVALID_ANSWER, "page_url is not an http(s) URL" },
	{ B_KEY "\"status\": \"bound\", \"masked_pan\": \"440043******1234\", "
		"\"expiry\": \"2029-04\"}",
	  CODEC_INVALID_ANSWER, "token is missing" },
	{ B_KEY "\"status\": \"bound\", \"masked_pan\": \"440043******1234\", "
		"\"token\": \"tok 4f9a2c7e1b3d5a6c\", \"expiry\": \"2029-04\"}",
	  CODEC_INVALID_ANSWER, "token is not 16 to 64 base64url characters" },
	/* A whole card number where the masked one goes is never kept. */
	{ B_KEY "\"status\": \"bound\", \"masked_pan\": \"4400430000001234\", " BOUND_REST
		"}",
	  CODEC_INVALID_ANSWER, "masked_pan is not 6 digits, 2 to 9 '*' and 4 digits" },
	{ B_KEY "\"status\": \"bound\", \"masked_pan\": \"4400430*****1234\", " BOUND_REST
		"}",
	  CODEC_INVALID_ANSWER, "masked_pan is not 6 digits, 2 to 9 '*' and 4 digits" },
	{ B_KEY "\"status\": \"bound\", \"masked_pan\": \"440043*1234\", " BOUND_REST "}",
	  CODEC_INVALID_ANSWER, "masked_pan is not 12 to 19 characters" },
	{ B_KEY "\"status\": \"bound\", \"masked_pan\": \"440043******1234\", "
		"\"token\": \"" TOKEN "\", \"expiry\": \"2029-13\"}",
	  CODEC_INVALID_ANSWER, "expiry is not YYYY-MM" },
	{ B_KEY "\"status\": \"failed\", \"fail_code\": \"Declined\"}",
	  CODEC_INVALID_ANSWER, "fail_code is not [a-z0-9_]{1,64}" },
};

static void test_binding(void **state)
{
	(void)state;
	json_t *out = NULL;
	char why[CODEC_REASON_MAX];
	assert_int_equal(payment_binding_request(BKEY, &out, why), SENIM_OK);
	char *text = json_dumps(out, CODEC_DUMP_FLAGS);
	/* Nothing about the borrower: the binding key alone. */
	assert_string_equal(text, "{\"binding_key\":\"" BKEY "\"}");
	free(text);
	json_decref(out);
	assert_int_equal(payment_binding_request(KEY, &out, why), SENIM_ERR_INVALID);
	assert_null(out);
	assert_string_equal(why, "binding_key is not cbd_ and 22 base64url characters");
	char path[PAYMENT_BINDING_PATH_SIZE];
	assert_int_equal(payment_binding_path(BKEY, path), 1);
	assert_string_equal(path, "/v1/card-bindings/" BKEY);
	assert_int_equal(payment_binding_path("cbd_../../v1/payouts?x=1aaaa", path), 0);
	assert_string_equal(path, "");
	for (size_t i = 0; i < N(bindings); i++) {
		struct payment_binding b;
		struct codec_verdict v;
		const char *body = bindings[i].body;
		assert_int_equal(payment_binding_parse(body, strlen(body), BKEY, &b, &v),
				 SENIM_OK);
		if (v.status != bindings[i].want ||
		    strcmp(v.reason, bindings[i].reason ? bindings[i].reason : "") != 0)
			fail_msg("binding %zu: got %s \"%s\"", i,
				 codec_status_code(v.status), v.reason);
		if (v.status != CODEC_OK)
			assert_string_equal(b.token, "");
	}
	struct payment_binding b;
	struct codec_verdict v;
	const char *body = bindings[1].body;
	assert_int_equal(payment_binding_parse(body, strlen(body), BKEY, &b, &v),
			 SENIM_OK);
	assert_int_equal(b.status, PAYMENT_BINDING_BOUND);
	assert_string_equal(b.token, TOKEN);
	assert_string_equal(b.masked_pan, "440043******1234");
	assert_string_equal(b.expiry, "2029-04");
	assert_string_equal(b.page_url, "");
	assert_string_equal(payment_binding_status_code(b.status), "bound");
	body = bindings[0].body;
	assert_int_equal(payment_binding_parse(body, strlen(body), BKEY, &b, &v),
			 SENIM_OK);
	assert_int_equal(b.status, PAYMENT_BINDING_PENDING);
	assert_string_equal(b.page_url, "https://pay.example.kz/bind/BND-1?x=1&y=%20");
	assert_string_equal(b.token, "");
	assert_null(payment_binding_status_code((enum payment_binding_status)7));
}

/* The unbinding's answer: "removed" for the binding asked, nothing else. */
static void test_unbind(void **state)
{
	(void)state;
	static const struct {
		const char *body;
		enum codec_status want;
	} cases[] = {
		{ "{\"binding_key\":\"" BKEY "\",\"status\":\"removed\"}", CODEC_OK },
		{ "{\"binding_key\":\"" BKEY "\",\"status\":\"removed\",\"x\":1}",
		  CODEC_OK },
		{ "{\"binding_key\":\"" BKEY "\",\"status\":\"bound\"}",
		  CODEC_INVALID_ANSWER },
		{ "{\"binding_key\":\"" BKEY "\"}", CODEC_INVALID_ANSWER },
		{ "{\"binding_key\":\"cbd_AAAAAAAAAAAAAAAAAAAAAA\",\"status\":"
		  "\"removed\"}",
		  CODEC_WRONG_SUBJECT },
		{ "{\"status\":\"removed\"}", CODEC_INVALID_ANSWER },
		{ "[]", CODEC_INVALID_ANSWER },
		{ "not json", CODEC_INVALID_ANSWER },
	};
	for (size_t i = 0; i < N(cases); i++) {
		struct codec_verdict v;
		assert_int_equal(payment_unbind_parse(cases[i].body,
						      strlen(cases[i].body), BKEY, &v),
				 SENIM_OK);
		if (v.status != cases[i].want)
			fail_msg("unbind %zu: got %s \"%s\"", i,
				 codec_status_code(v.status), v.reason);
	}
	struct codec_verdict v;
	const char *ok = cases[0].body;
	assert_int_equal(payment_unbind_parse(ok, strlen(ok), NULL, &v), SENIM_OK);
	assert_int_equal(v.status, CODEC_WRONG_SUBJECT);
}

/* ---- the peer's recorded answers ------------------------------------------------ */

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s", path);
	char *b = malloc(1 << 20);
	assert_non_null(b);
	*len = fread(b, 1, 1 << 20, f);
	fclose(f);
	return b;
}

static void test_peer_answers(void **state)
{
	(void)state;
	const char *src = getenv("SENIM_SOURCE_DIR");
	char dir[1024], path[1400], line[512];
	snprintf(dir, sizeof(dir), "%s/tests/unit/data/payment", src ? src : ".");
	snprintf(path, sizeof(path), "%s/index.txt", dir);
	FILE *f = fopen(path, "r");
	if (!f)
		fail_msg("cannot open %s", path);
	long long now = 0;
	int seen[3] = { 0 };
	while (fgets(line, sizeof(line), f)) {
		char want[32], key[64], file[256];
		long long amount;
		if (sscanf(line, "now %lld", &now) == 1)
			continue;
		assert_int_equal(
			sscanf(line, "%31s %63s %lld %255s", want, key, &amount, file),
			4);
		snprintf(path, sizeof(path), "%s/%s", dir, file);
		size_t len;
		char *body = slurp(path, &len);
		struct payment_answer a;
		struct codec_verdict v;
		assert_int_equal(
			payment_payout_parse(body, len, key, amount, now, &a, &v),
			SENIM_OK);
		if (strcmp(codec_status_code(v.status), want) != 0)
			fail_msg("%s: got %s \"%s\", want %s", file,
				 codec_status_code(v.status), v.reason, want);
		/* No byte of the answer in the reason. */
		assert_null(strstr(v.reason, "PP-"));
		for (const char *c = v.reason; *c; c++)
			assert_true(*c >= 0x20 && *c < 0x7f);
		seen[v.status]++;
		free(body);
	}
	fclose(f);
	assert_true(now > 0);
	assert_true(seen[CODEC_OK] >= 4 && seen[CODEC_INVALID_ANSWER] >= 4 &&
		    seen[CODEC_WRONG_SUBJECT] >= 4);
}

/* ---- the repayment notice -------------------------------------------------------- */

#define NOTICE(amount, extra)                                                         \
	"{\"provider_ref\": \"RP-00000001\", \"amount_tiyn\": " amount ", "           \
	"\"currency\": \"KZT\", \"paid_at\": \"2025-12-31T10:00:00Z\", \"channel\": " \
	"\"card\"" extra "}"

static const struct {
	const char *body;
	const char *why; /* NULL: parses */
} notices[] = {
	{ NOTICE("\"500000\"", ""), NULL },
	{ NOTICE("500000", ""), NULL },
	{ NOTICE("1000000000000000", ""), NULL },
	/* Bad amounts. */
	{ NOTICE("0", ""), "amount_tiyn is not 1 to 10^15" },
	{ NOTICE("\"0\"", ""), "amount_tiyn is not 1 to 10^15" },
	{ NOTICE("-500000", ""), "amount_tiyn is not 0 to 10^15" },
	{ NOTICE("\"-500000\"", ""),
	  "amount_tiyn is not an integer or a string of digits" },
	{ NOTICE("5000.5", ""), "amount_tiyn is not an integer or a string of digits" },
	{ NOTICE("5000.0", ""), "amount_tiyn is not an integer or a string of digits" },
	{ NOTICE("\"5000.5\"", ""),
	  "amount_tiyn is not an integer or a string of digits" },
	{ NOTICE("\"5e3\"", ""), "amount_tiyn is not an integer or a string of digits" },
	{ NOTICE("\" 500\"", ""), "amount_tiyn is not an integer or a string of digits" },
	{ NOTICE("\"0500\"", ""), "amount_tiyn is not an integer or a string of digits" },
	{ NOTICE("\"\"", ""), "amount_tiyn is not an integer or a string of digits" },
	{ NOTICE("true", ""), "amount_tiyn is not an integer or a string of digits" },
	{ NOTICE("null", ""), "amount_tiyn is not an integer or a string of digits" },
	{ NOTICE("1000000000000001", ""), "amount_tiyn is not 0 to 10^15" },
	{ NOTICE("\"1000000000000001\"", ""), "amount_tiyn is not 0 to 10^15" },
	{ NOTICE("\"99999999999999999\"", ""),
	  "amount_tiyn is not an integer or a string of digits" },
	{ NOTICE("\"99999999999999999999999999\"", ""),
	  "amount_tiyn is not an integer or a string of digits" },
	/* Past int64: jansson refuses the number, so the body is no JSON. */
	{ NOTICE("99999999999999999999999999", ""),
	  "answer is not JSON without duplicate keys" },
	/* The reference. */
	{ "{\"amount_tiyn\": 1, \"currency\": \"KZT\", \"paid_at\": "
	  "\"2025-12-31T10:00:00Z\", \"channel\": \"card\"}",
	  "provider_ref is missing" },
	{ "{\"provider_ref\": \"\", \"amount_tiyn\": 1, \"currency\": \"KZT\", "
	  "\"paid_at\": \"2025-12-31T10:00:00Z\", \"channel\": \"card\"}",
	  "provider_ref is not 1 to 64 characters" },
	{ "{\"provider_ref\": \"RP 1\", \"amount_tiyn\": 1, \"currency\": \"KZT\", "
	  "\"paid_at\": \"2025-12-31T10:00:00Z\", \"channel\": \"card\"}",
	  "provider_ref is not [A-Za-z0-9_.:-]" },
	{ "{\"provider_ref\": 17, \"amount_tiyn\": 1, \"currency\": \"KZT\", "
	  "\"paid_at\": \"2025-12-31T10:00:00Z\", \"channel\": \"card\"}",
	  "provider_ref is not a string" },
	/* Unknown fields, and one field twice. */
	{ NOTICE("1", ", \"loan_id\": \"ln_1\""), "body has an unknown field" },
	{ NOTICE("1", ", \"amount\": 900"), "body has an unknown field" },
	{ NOTICE("1", ", \"amount_tiyn\": 900"),
	  "answer is not JSON without duplicate keys" },
	/* The rest. */
	{ "{\"provider_ref\": \"RP-1\", \"amount_tiyn\": 1, \"currency\": \"USD\", "
	  "\"paid_at\": \"2025-12-31T10:00:00Z\", \"channel\": \"card\"}",
	  "currency is not one of the API's values" },
	{ "{\"provider_ref\": \"RP-1\", \"amount_tiyn\": 1, \"currency\": \"KZT\", "
	  "\"paid_at\": \"2026-01-01T00:05:01Z\", \"channel\": \"card\"}",
	  "paid_at is in the future" },
	{ "{\"provider_ref\": \"RP-1\", \"amount_tiyn\": 1, \"currency\": \"KZT\", "
	  "\"paid_at\": \"1999-12-31T23:59:59Z\", \"channel\": \"card\"}",
	  "paid_at is before 2000" },
	{ "{\"provider_ref\": \"RP-1\", \"amount_tiyn\": 1, \"currency\": \"KZT\", "
	  "\"paid_at\": \"2025-12-31 10:00:00\", \"channel\": \"card\"}",
	  "paid_at is not an RFC 3339 UTC time" },
	{ "{\"provider_ref\": \"RP-1\", \"amount_tiyn\": 1, \"currency\": \"KZT\", "
	  "\"paid_at\": \"2025-12-31T10:00:00Z\", \"channel\": \"crypto\"}",
	  "channel is not one of the API's values" },
	{ "{\"provider_ref\": \"RP-1\", \"amount_tiyn\": 1, \"currency\": \"KZT\", "
	  "\"paid_at\": \"2025-12-31T10:00:00Z\"}",
	  "channel is missing" },
	{ "not json", "answer is not JSON without duplicate keys" },
	{ "[1]", "answer is not a JSON object" },
	{ "", "answer is not JSON without duplicate keys" },
};

static void test_notice(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(notices); i++) {
		struct payment_notice n;
		char why[CODEC_REASON_MAX];
		const char *b = notices[i].body;
		enum senim_result err = payment_notice_parse(b, strlen(b), NOW, &n, why);
		if (notices[i].why
			    ? err != SENIM_ERR_INVALID || strcmp(why, notices[i].why) != 0
			    : err != SENIM_OK || strcmp(why, "") != 0)
			fail_msg("notice %zu: got %d \"%s\"", i, err, why);
		if (err)
			assert_string_equal(n.provider_ref, "");
	}
	struct payment_notice n;
	const char *b = NOTICE("\"500000\"", "");
	assert_int_equal(payment_notice_parse(b, strlen(b), NOW, &n, NULL), SENIM_OK);
	assert_string_equal(n.provider_ref, "RP-00000001");
	assert_int_equal(n.amount_tiyn, 500000);
	assert_int_equal(n.paid_at, NOW - 14 * 3600);
	assert_string_equal(n.paid_at_text, "2025-12-31T10:00:00Z");
	assert_int_equal(n.channel, PAYMENT_CHANNEL_CARD);
	assert_string_equal(payment_channel_code(n.channel), "card");
	assert_null(payment_channel_code((enum payment_channel)9));
	/* Every channel. */
	static const char *const ch[] = { "card", "bank_transfer", "terminal",
					  "cash_desk" };
	for (size_t i = 0; i < N(ch); i++) {
		char body[256];
		snprintf(body, sizeof(body),
			 "{\"provider_ref\": \"RP-1\", \"amount_tiyn\": 1, \"currency\": "
			 "\"KZT\", \"paid_at\": \"2025-12-31T10:00:00Z\", \"channel\": "
			 "\"%s\"}",
			 ch[i]);
		assert_int_equal(payment_notice_parse(body, strlen(body), NOW, &n, NULL),
				 SENIM_OK);
		assert_int_equal(n.channel, (int)i);
	}
}

static void test_notice_size(void **state)
{
	(void)state;
	/* A valid notice padded with spaces to one byte over the limit. */
	const char *b = NOTICE("1", "");
	size_t len = PAYMENT_NOTICE_MAX + 1;
	char *big = malloc(len);
	assert_non_null(big);
	memset(big, ' ', len);
	memcpy(big, b, strlen(b));
	struct payment_notice n;
	char why[CODEC_REASON_MAX];
	assert_int_equal(payment_notice_parse(big, len, NOW, &n, why), SENIM_ERR_INVALID);
	assert_string_equal(why, "body exceeds 4096 bytes");
	assert_int_equal(payment_notice_parse(big, len - 1, NOW, &n, why), SENIM_OK);
	free(big);
	/* A reason never carries the notice's bytes: an unknown key that
	 * looks like a reason is not echoed. */
	const char *sly = NOTICE("1", ", \"secret_870412300416\": 1");
	assert_int_equal(payment_notice_parse(sly, strlen(sly), NOW, &n, why),
			 SENIM_ERR_INVALID);
	assert_null(strstr(why, "870412300416"));
	/* Not NUL-terminated: the length rules. */
	char exact[128];
	size_t elen = strlen(b);
	memcpy(exact, b, elen);
	exact[elen] = '}';
	assert_int_equal(payment_notice_parse(exact, elen, NOW, &n, why), SENIM_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request),
		cmocka_unit_test(test_request_refusals),
		cmocka_unit_test(test_status_path),
		cmocka_unit_test(test_binding),
		cmocka_unit_test(test_unbind),
		cmocka_unit_test(test_answer_rules),
		cmocka_unit_test(test_peer_answers),
		cmocka_unit_test(test_notice),
		cmocka_unit_test(test_notice_size),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
