/*
 * fuzz_card_binding.c — payment_binding_parse on arbitrary bytes, as a
 * payment provider's answer about a card binding (src/connectors/payment.c).
 *
 * The first 26 bytes are the binding key asked about ("cbd_" and 22 more in
 * the seeds; any bytes here), the rest the body, an exactly sized heap
 * block that is not NUL-terminated.  Besides "no crash, no leak" and
 * codec_checks.h's checks of every verdict, an answer that parses ok is a
 * JSON object whose binding_key is the one asked about and whose status is
 * what the struct says; the struct holds a page URL exactly when pending,
 * a token, a masked number that shows no more than ten digits and an
 * expiry exactly when bound, and a fail code exactly when failed; nothing
 * is left in it otherwise.  The same bytes go to payment_unbind_parse, as
 * the answer to the unbinding: ok only for an object naming the key asked
 * about with status "removed".
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec_checks.h"
#include "connectors/payment.h"
#include "common/banned.h"

#define KEY_LEN 26

static size_t digits_in(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += *s >= '0' && *s <= '9';
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < KEY_LEN)
		return 0;
	char key[KEY_LEN + 1];
	memcpy(key, data, KEY_LEN);
	key[KEY_LEN] = '\0';
	size_t len = size - KEY_LEN;
	char *body = malloc(len ? len : 1);
	if (!body)
		abort();
	memcpy(body, data + KEY_LEN, len);

	struct payment_binding b;
	struct codec_verdict v;
	if (payment_binding_parse(body, len, key, &b, &v) != SENIM_OK)
		abort();
	int ok = v.status == CODEC_OK;
	fuzz_check_verdict(&v, ok, body, len);
	if (!ok && (b.page_url[0] || b.token[0] || b.masked_pan[0] || b.expiry[0] ||
		    b.fail_code[0]))
		abort();
	if (ok) {
		json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
		if (!root)
			abort();
		const char *k = json_string_value(json_object_get(root, "binding_key"));
		const char *st = json_string_value(json_object_get(root, "status"));
		if (!k || strcmp(k, key) != 0 || !st ||
		    strcmp(st, payment_binding_status_code(b.status)) != 0)
			abort();
		if ((b.status == PAYMENT_BINDING_PENDING) != (b.page_url[0] != '\0'))
			abort();
		int bound = b.status == PAYMENT_BINDING_BOUND;
		if (bound != (b.token[0] != '\0') || bound != (b.masked_pan[0] != '\0') ||
		    bound != (b.expiry[0] != '\0'))
			abort();
		/* Never a full card number: six digits and four at most. */
		if (bound && (digits_in(b.masked_pan) != 10 ||
			      strlen(b.expiry) != PAYMENT_EXPIRY_LEN))
			abort();
		if ((b.status == PAYMENT_BINDING_FAILED) != (b.fail_code[0] != '\0'))
			abort();
		json_decref(root);
	}
	struct codec_verdict u;
	if (payment_unbind_parse(body, len, key, &u) != SENIM_OK)
		abort();
	fuzz_check_verdict(&u, u.status == CODEC_OK, body, len);
	if (u.status == CODEC_OK) {
		json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
		if (!root)
			abort();
		const char *k = json_string_value(json_object_get(root, "binding_key"));
		const char *st = json_string_value(json_object_get(root, "status"));
		if (!k || strcmp(k, key) != 0 || !st || strcmp(st, "removed") != 0)
			abort();
		json_decref(root);
	}
	free(body);
	return 0;
}
