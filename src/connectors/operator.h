/*
 * operator.h — phone_check/1, the mobile operator's wire API, as a pure
 * codec (docs/connectors/phone_check.md; the test peer is
 * tests/peers/mobile_operator.py).  No I/O, no clock: "today" is a
 * parameter.
 *
 * operator_check_request() builds {"msisdn", "iin"}; operator_check_parse()
 * checks an answer.  One that parses ok keeps these invariants:
 *   - msisdn and iin are the ones asked about (else wrong_subject);
 *   - result is match, mismatch or unknown_number;
 *   - owner_since, subscriber_type and score are null unless match (an
 *     operator never says more about a number that is not the person's);
 *   - owner_since is not after `today`;
 *   - a score has min < max and min <= value <= max.
 *
 * Verdicts and reasons are codec.h's: a reason never carries a value of
 * the answer.  The parser returns SENIM_OK whatever the verdict; only
 * running out of memory is SENIM_ERR_NOMEM.
 */
#ifndef SENIM_OPERATOR_H
#define SENIM_OPERATOR_H

#include <jansson.h>
#include <stddef.h>

#include "common/result.h"
#include "connectors/codec.h"
#include "core/recipients.h"

/* 1 when `s` is a number as the API sends it: "+7", then 6 or 7, then 9
 * digits (Kazakhstan's part of +7, E.164). */
int operator_msisdn_ok(const char *s);

/*
 * The request body {"msisdn", "iin"}.  *out is a new object (json_decref).
 * SENIM_ERR_INVALID when either breaks the request table, with `why` (NULL
 * or CODEC_REASON_MAX bytes) naming the field; SENIM_ERR_NOMEM.
 */
SENIM_MUST_CHECK enum senim_result
operator_check_request(const char *msisdn, const char *iin, json_t **out, char *why);

enum operator_result {
	OPERATOR_MATCH,
	OPERATOR_MISMATCH,
	OPERATOR_UNKNOWN_NUMBER
};
enum operator_subscriber {
	OPERATOR_PREPAID,
	OPERATOR_POSTPAID
};

/* An answer that parsed ok.  Strings point into root_, which it owns. */
struct operator_answer {
	enum operator_result result;
	const char *owner_since; /* "YYYY-MM-DD", or NULL (always NULL unless match) */
	int subscriber_type;	 /* enum operator_subscriber, or -1 (null) */
	json_t *score;		 /* {"value", "min", "max"}, or NULL (null) */
	double score_value, score_min, score_max;
	json_t *root_;
};

/* "match", "mismatch", "unknown_number"; NULL out of range. */
const char *operator_result_code(enum operator_result r);

/*
 * Check the `len` bytes of an answer to a check of `asked_msisdn` and
 * `asked_iin`; `today` ("YYYY-MM-DD") is the latest owner_since accepted.
 * Always sets *v; with CODEC_OK *out is the answer
 * (operator_answer_free()), else NULL.  SENIM_ERR_NOMEM, else SENIM_OK.
 */
SENIM_MUST_CHECK enum senim_result
operator_check_parse(const char *body, size_t len, const char *asked_msisdn,
		     const char *asked_iin, const char *today,
		     struct operator_answer **out, struct codec_verdict *v);

/* NULL does nothing. */
void operator_answer_free(struct operator_answer *a);

/*
 * The kept record: one key per item of the service's `receives`
 * (phone.match -> "match"|"mismatch"|"unknown_number", phone.owner_since
 * -> date or null, phone.subscriber_type -> "prepaid"|"postpaid" or null,
 * phone.score -> {"max", "min", "value"} or null).  SENIM_ERR_INVALID when
 * `s` names an item that is not a phone_check/1 answer field;
 * SENIM_ERR_NOMEM.  *out is a new object.
 */
SENIM_MUST_CHECK enum senim_result operator_check_kept(const struct operator_answer *a,
						       const struct recipient_service *s,
						       json_t **out);

#endif
