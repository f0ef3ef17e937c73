/*
 * test_processing.c — processing/1 (connectors/processing.h): the job a
 * processor gets, the answer it must give, and pseudonyms.
 *
 * Each rule of docs/connectors/processing.md has a case whose verdict or
 * refusal only that rule gives; no reason may carry a byte of the answer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/processing.h"
#include "testutil.h"
#include "vault/keyring.h"
#include "common/banned.h"

#define JOB "trf_AZP6o5h8cQ2v7kV1hM3s0w"
#define PSEUDONYM "3f1c0e9a5b7d2c4e6f8a0b1c2d3e4f50"

static json_t *data_of(const char *text)
{
	json_t *j = json_loads(text, 0, NULL);
	assert_non_null(j);
	return j;
}

static enum senim_result request(const char *job, const char *pseudonym, const char *data,
				 char *why)
{
	json_t *d = data_of(data), *out = NULL;
	enum senim_result err = processing_job_request(job, "loan_application_review",
						       pseudonym, d, &out, why);
	assert_true(err ? out == NULL : out != NULL);
	json_decref(out);
	json_decref(d);
	return err;
}

static void test_request(void **state)
{
	(void)state;
	json_t *d = data_of(
		"{\"identity.birth_date\": \"1987-04-12\", \"identity.sex\": \"M\"}");
	json_t *out = NULL;
	char why[CODEC_REASON_MAX];
	assert_int_equal(processing_job_request(JOB, "loan_application_review", PSEUDONYM,
						d, &out, why),
			 SENIM_OK);
	char *text = json_dumps(out, CODEC_DUMP_FLAGS);
	assert_string_equal(text, "{\"data\":{\"identity.birth_date\":\"1987-04-12\","
				  "\"identity.sex\":\"M\"},\"job_id\":\"" JOB "\","
				  "\"pseudonym\":\"" PSEUDONYM "\","
				  "\"purpose\":\"loan_application_review\"}");
	free(text);
	json_decref(out);
	json_decref(d);
}

static void test_request_refusals(void **state)
{
	(void)state;
	char why[CODEC_REASON_MAX];
	const char *ok = "{\"identity.sex\": \"M\"}";
	assert_int_equal(request("job-1", PSEUDONYM, ok, why), SENIM_ERR_INVALID);
	assert_string_equal(why, "job_id is not trf_ and 22 base64url characters");
	assert_int_equal(request(JOB, "3F1C0E9A5B7D2C4E6F8A0B1C2D3E4F50", ok, why),
			 SENIM_ERR_INVALID);
	assert_string_equal(why, "pseudonym is not 32 lowercase hex digits");
	assert_int_equal(request(JOB, "870412300416", ok, why), SENIM_ERR_INVALID);
	assert_int_equal(request(JOB, PSEUDONYM, "{}", why), SENIM_ERR_INVALID);
	assert_string_equal(why, "data is not an object of 1 to 32 fields");
	assert_int_equal(
		request(JOB, PSEUDONYM,
			"{\"identity.iin\": \"870412300416\", \"identity.sex\": \"M\"}",
			why),
		SENIM_ERR_INVALID);
	assert_string_equal(why, "data holds identity.iin");
	assert_int_equal(request(JOB, PSEUDONYM, "{\"iin\": \"870412300416\"}", why),
			 SENIM_ERR_INVALID);
	assert_string_equal(why, "data has a key that is not category.field");
	assert_int_equal(request(JOB, PSEUDONYM, "{\"identity.name\": {\"a\": 1}}", why),
			 SENIM_ERR_INVALID);
	assert_string_equal(why, "data has a field that is not a scalar");
	json_t *out = NULL;
	json_t *d = data_of(ok);
	assert_int_equal(
		processing_job_request(JOB, "Loan Review", PSEUDONYM, d, &out, why),
		SENIM_ERR_INVALID);
	assert_string_equal(why, "purpose is not a purpose code");
	json_decref(d);
}

struct answer_case {
	const char *body;
	enum codec_status status;
	const char *reason;
};

static void test_answers(void **state)
{
	(void)state;
	static const struct answer_case cases[] = {
		{ "{\"job_id\": \"" JOB "\", \"status\": \"accepted\"}", CODEC_OK, "" },
		{ "{\"job_id\": \"" JOB "\", \"status\": \"accepted\", \"eta\": 5}",
		  CODEC_OK, "" },
		{ "{\"job_id\": \"trf_BBBBBBBBBBBBBBBBBBBBBB\", \"status\": "
		  "\"accepted\"}",
		  CODEC_WRONG_SUBJECT, "job_id is not the job sent" },
		{ "{\"job_id\": \"" JOB "\", \"status\": \"done\"}", CODEC_INVALID_ANSWER,
		  NULL },
		{ "{\"job_id\": \"" JOB "\"}", CODEC_INVALID_ANSWER, NULL },
		{ "{\"status\": \"accepted\"}", CODEC_INVALID_ANSWER, NULL },
		{ "{\"job_id\": 7, \"status\": \"accepted\"}", CODEC_INVALID_ANSWER,
		  NULL },
		{ "{\"job_id\": \"" JOB "\", \"job_id\": \"" JOB
		  "\", \"status\": \"accepted\"}",
		  CODEC_INVALID_ANSWER, NULL },
		{ "OK", CODEC_INVALID_ANSWER, NULL },
		{ "[]", CODEC_INVALID_ANSWER, NULL },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct codec_verdict v;
		assert_int_equal(processing_job_parse(cases[i].body,
						      strlen(cases[i].body), JOB, &v),
				 SENIM_OK);
		if (v.status != cases[i].status)
			fail_msg("case %zu: %s (%s)", i, codec_status_code(v.status),
				 v.reason);
		if (cases[i].reason)
			assert_string_equal(v.reason, cases[i].reason);
		else
			assert_true(v.reason[0] != '\0');
		/* no byte of the answer in a reason */
		assert_null(strstr(v.reason, "trf_"));
		assert_null(strstr(v.reason, "done"));
	}
}

static void test_pseudonyms(void **state)
{
	(void)state;
	char dir[512], path[600];
	assert_int_equal(testutil_tmpdir("processing", dir, sizeof(dir)), 0);
	snprintf(path, sizeof(path), "%s/senim.keys", dir);
	struct keyring *kr = NULL;
	assert_int_equal(keyring_open(path, 1, &kr), SENIM_OK);
	unsigned char ka[PROCESSING_KEY_BYTES], kb[PROCESSING_KEY_BYTES], plain[32];
	char a1[PROCESSING_PSEUDONYM_LEN], a2[PROCESSING_PSEUDONYM_LEN],
		b1[PROCESSING_PSEUDONYM_LEN], other[PROCESSING_PSEUDONYM_LEN];
	processing_pseudonym_key(kr, "scorelab", ka);
	processing_pseudonym_key(kr, "scorelab2", kb);
	assert_memory_not_equal(ka, kb, sizeof(ka));
	/* domain-separated from the plain blind index of the same bytes */
	keyring_blind_index(kr, "scorelab", 8, plain);
	assert_memory_not_equal(ka, plain, sizeof(ka));
	processing_pseudonym(ka, "sub_AZP6o5h8cQ2v7kV1hM3s0w", a1);
	processing_pseudonym(ka, "sub_AZP6o5h8cQ2v7kV1hM3s0w", a2);
	processing_pseudonym(kb, "sub_AZP6o5h8cQ2v7kV1hM3s0w", b1);
	processing_pseudonym(ka, "sub_AZP6o5h8cQ2v7kV1hM3s0x", other);
	assert_true(processing_pseudonym_ok(a1));
	assert_string_equal(a1, a2);
	assert_string_not_equal(a1, b1);
	assert_string_not_equal(a1, other);
	/* BLAKE2b-128 keyed by K_r, as documented */
	unsigned char h[16];
	char hex[PROCESSING_PSEUDONYM_LEN];
	crypto_generichash(h, 16, (const unsigned char *)"sub_AZP6o5h8cQ2v7kV1hM3s0w", 26,
			   ka, sizeof(ka));
	sodium_bin2hex(hex, sizeof(hex), h, 16);
	assert_string_equal(hex, a1);
	keyring_free(kr);
	testutil_rm_rf(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request),
		cmocka_unit_test(test_request_refusals),
		cmocka_unit_test(test_answers),
		cmocka_unit_test(test_pseudonyms),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
