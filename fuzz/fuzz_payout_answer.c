/*
 * fuzz_payout_answer.c — payment_payout_parse on arbitrary bytes, as a
 * payment provider's answer to payout/1 (src/connectors/payment.c).
 *
 * The first 26 bytes are the operation key asked about ("pyo_" and 22 more
 * in the seeds; any bytes here), the next 16 the amount asked, in decimal
 * (non-digits read as 0), the rest the body, an exactly sized heap block
 * that is not NUL-terminated.  Besides "no crash, no leak" and
 * codec_checks.h's checks of every verdict, an answer that parses ok is a
 * JSON object whose operation_key is the one asked about, whose amount is
 * the amount asked (an integer or a string of digits), whose currency is
 * KZT, whose status and provider_ref are what the struct says, with
 * completed_at not after now + the skew exactly when completed, and a
 * reject_code exactly when rejected.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec_checks.h"
#include "connectors/payment.h"
#include "common/banned.h"

#define KEY_LEN 26
#define AMOUNT_LEN 16
#define NOW 1767225600LL /* 2026-01-01T00:00:00Z */

static long long amount_value(json_t *x)
{
	if (json_is_integer(x))
		return json_integer_value(x);
	const char *s = json_string_value(x);
	long long n = 0;
	if (!s)
		abort();
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			abort();
		n = n * 10 + (*s - '0');
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < KEY_LEN + AMOUNT_LEN)
		return 0;
	char key[KEY_LEN + 1];
	memcpy(key, data, KEY_LEN);
	key[KEY_LEN] = '\0';
	long long asked = 0;
	for (size_t i = 0; i < AMOUNT_LEN; i++) {
		uint8_t c = data[KEY_LEN + i];
		asked = asked * 10 + (c >= '0' && c <= '9' ? c - '0' : 0);
	}
	size_t len = size - KEY_LEN - AMOUNT_LEN;
	char *body = malloc(len ? len : 1);
	if (!body)
		abort();
	memcpy(body, data + KEY_LEN + AMOUNT_LEN, len);

	struct payment_answer a;
	struct codec_verdict v;
	if (payment_payout_parse(body, len, key, asked, NOW, &a, &v) != SENIM_OK)
		abort();
	int ok = v.status == CODEC_OK;
	fuzz_check_verdict(&v, ok, body, len);
	if (!ok && (a.provider_ref[0] || a.completed_at || a.reject_code[0]))
		abort();
	if (ok) {
		json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
		if (!root)
			abort();
		const char *k = json_string_value(json_object_get(root, "operation_key"));
		const char *st = json_string_value(json_object_get(root, "status"));
		const char *ref =
			json_string_value(json_object_get(root, "provider_ref"));
		const char *cur = json_string_value(json_object_get(root, "currency"));
		if (!k || strcmp(k, key) != 0 || !cur || strcmp(cur, "KZT") != 0 ||
		    amount_value(json_object_get(root, "amount_tiyn")) != asked || !st ||
		    strcmp(st, payment_status_code(a.status)) != 0 || !ref ||
		    strcmp(ref, a.provider_ref) != 0)
			abort();
		if ((a.status == PAYMENT_COMPLETED) !=
		    (a.completed_at != 0 && a.completed_at <= NOW + CODEC_CLOCK_SKEW_S))
			abort();
		const char *rc = json_string_value(json_object_get(root, "reject_code"));
		if ((a.status == PAYMENT_REJECTED) != (a.reject_code[0] != '\0') ||
		    (a.reject_code[0] && (!rc || strcmp(rc, a.reject_code) != 0)))
			abort();
		json_decref(root);
	}
	free(body);
	return 0;
}
