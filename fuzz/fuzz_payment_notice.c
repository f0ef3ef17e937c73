/*
 * fuzz_payment_notice.c — payment_notice_parse on arbitrary bytes, as the
 * body of POST /v1/loans/{id}/payments from the payment provider
 * (src/connectors/payment.c), an exactly sized heap block that is not
 * NUL-terminated.
 *
 * Besides "no crash, no leak": a refusal comes with a reason that
 * codec_checks.h would accept of an answer (printable ASCII opening with a
 * field name, holding no string of the body); a notice that parses is a
 * JSON object of at most PAYMENT_NOTICE_MAX bytes with only the schema's
 * keys, whose provider_ref, channel, paid_at and kind (due when absent)
 * are what the struct says,
 * whose amount is 1 to 10^15 and equal to the body's, and whose paid_at
 * is from 2000 and not after now + the skew.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec_checks.h"
#include "connectors/payment.h"
#include "common/banned.h"

#define NOW 1767225600LL /* 2026-01-01T00:00:00Z */

static const char *const keys[] = { "provider_ref", "amount_tiyn", "currency", "paid_at",
				    "channel",	    "kind",	   NULL };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *body = malloc(size ? size : 1);
	if (!body)
		abort();
	memcpy(body, data, size);
	struct payment_notice n;
	char why[CODEC_REASON_MAX];
	enum senim_result err = payment_notice_parse(body, size, NOW, &n, why);
	if (err != SENIM_OK && err != SENIM_ERR_INVALID)
		abort();
	struct codec_verdict v;
	v.status = err ? CODEC_INVALID_ANSWER : CODEC_OK;
	memcpy(v.reason, why, sizeof(why));
	fuzz_check_verdict(&v, err == SENIM_OK, body, size);
	if (err) {
		if (n.provider_ref[0] || n.amount_tiyn || n.paid_at)
			abort();
	} else {
		json_t *root = json_loadb(body, size, JSON_REJECT_DUPLICATES, NULL);
		const char *k;
		json_t *x;
		if (!root || size > PAYMENT_NOTICE_MAX)
			abort();
		json_object_foreach(root, k, x)
		{
			size_t i = 0;
			while (keys[i] && strcmp(keys[i], k) != 0)
				i++;
			if (!keys[i])
				abort();
		}
		json_t *am = json_object_get(root, "amount_tiyn");
		long long a = json_is_integer(am)
				      ? json_integer_value(am)
				      : strtoll(json_string_value(am), NULL, 10);
		const char *ref =
			json_string_value(json_object_get(root, "provider_ref"));
		const char *ch = json_string_value(json_object_get(root, "channel"));
		const char *at = json_string_value(json_object_get(root, "paid_at"));
		json_t *kd = json_object_get(root, "kind");
		const char *kind = kd ? json_string_value(kd) : "due";
		if (!kind || strcmp(kind, n.kind == PAYMENT_KIND_EARLY ? "early" : "due"))
			abort();
		if (a != n.amount_tiyn || a < 1 || a > CODEC_TIYN_MAX || !ref ||
		    strcmp(ref, n.provider_ref) != 0 || !ch ||
		    strcmp(ch, payment_channel_code(n.channel)) != 0 || !at ||
		    strcmp(at, n.paid_at_text) != 0 || n.paid_at < PAYMENT_PAID_AT_MIN ||
		    n.paid_at > NOW + CODEC_CLOCK_SKEW_S)
			abort();
		json_decref(root);
	}
	free(body);
	return 0;
}
