/*
 * fuzz_phone_check.c — operator_check_parse on arbitrary bytes, as a mobile
 * operator's answer to phone_check/1 (src/connectors/operator.c).
 *
 * The first 12 bytes are the IIN asked about, the next 12 the number
 * ("+77011234567"), the rest the body, an exactly sized heap block that is
 * not NUL-terminated; "today" is fixed.  Besides "no crash, no leak" and
 * codec_checks.h's checks of every verdict, an answer that parses ok echoes
 * both keys asked about, says nothing more than its result unless it is
 * match, has owner_since not after today and a score within its range; its
 * kept record has exactly the items asked for and no IIN of the answer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec_checks.h"
#include "connectors/operator.h"
#include "common/banned.h"

#define TODAY "2026-12-31"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const all[] = { "phone.match", "phone.owner_since",
					   "phone.subscriber_type", "phone.score", NULL };
	if (size < 24)
		return 0;
	char iin[13], msisdn[13];
	memcpy(iin, data, 12);
	iin[12] = '\0';
	memcpy(msisdn, data + 12, 12);
	msisdn[12] = '\0';
	size_t len = size - 24;
	char *body = malloc(len ? len : 1);
	if (!body)
		abort();
	memcpy(body, data + 24, len);

	struct operator_answer *a = NULL;
	struct codec_verdict v;
	if (operator_check_parse(body, len, msisdn, iin, TODAY, &a, &v) != SENIM_OK)
		abort();
	fuzz_check_verdict(&v, a != NULL, body, len);
	if (a) {
		json_t *echo_iin = json_object_get(a->root_, "iin");
		json_t *echo_msisdn = json_object_get(a->root_, "msisdn");
		if (strcmp(json_string_value(echo_iin), iin) != 0 ||
		    strcmp(json_string_value(echo_msisdn), msisdn) != 0)
			abort();
		if (a->result != OPERATOR_MATCH &&
		    (a->owner_since || a->subscriber_type >= 0 || a->score))
			abort();
		if (a->owner_since && strcmp(a->owner_since, TODAY) > 0)
			abort();
		if (a->score &&
		    (!(a->score_min < a->score_max) || a->score_value < a->score_min ||
		     a->score_value > a->score_max))
			abort();
		struct fuzz_svc s;
		json_t *k;
		fuzz_svc_make(&s, all);
		if (operator_check_kept(a, &s.s, &k) != SENIM_OK)
			abort();
		fuzz_check_kept(k, all, body, len);
	}
	operator_answer_free(a);
	free(body);
	return 0;
}
