/*
 * codec_checks.h — what the connector-answer fuzz targets (fuzz_credit_report,
 * fuzz_loan_event_answer, fuzz_phone_check, fuzz_state_answer) check of
 * every verdict, whatever the API (connectors/codec.h):
 *   - the status is one of the three, and a parsed answer comes back
 *     exactly when it is CODEC_OK;
 *   - the reason is empty with CODEC_OK, else non-empty printable ASCII
 *     whose first word is a JSON path of the codec's own ([a-z0-9_.[]]);
 *   - the reason carries no byte of the answer: no string value or key of
 *     the decoded body that could not be one of the codec's own words
 *     (6 characters or more, holding anything outside [a-z0-9_ .[]] and
 *     not part of one of the rule phrases below) is in it.
 * Header-only: each target is one .c file (CMake globs fuzz/fuzz_*.c).
 */
#ifndef SENIM_FUZZ_CODEC_CHECKS_H
#define SENIM_FUZZ_CODEC_CHECKS_H

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/codec.h"
#include "core/iin.h"
#include "core/recipients.h"

/* The codecs' rule phrases that hold more than [a-z0-9_ .[]]: a value
 * that is part of one may show up in a reason without coming from it. */
static const char *const fuzz_phrases[] = {
	"is not a valid IIN",
	"is not an RFC 3339 UTC time",
	"is not a date YYYY-MM-DD",
	"answer is not JSON without duplicate keys",
	"answer is not a JSON object",
	"is not one of the API's values",
	"is not [a-z0-9_]{1,64}",
	"is not [A-Za-z0-9_.:-]",
	"is not 0 to 10^15",
	"is not 1 to 10^15",
	"is not an http(s) URL",
	"is not YYYY-MM",
	"is not 6 digits, 2 to 9 '*' and 4 digits",
	"is not 16 to 64 base64url characters",
	NULL,
};

static inline int fuzz_could_be_ours(const char *s)
{
	if (strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_ .[]") == strlen(s))
		return 1;
	for (int i = 0; fuzz_phrases[i]; i++)
		if (strstr(fuzz_phrases[i], s))
			return 1;
	return 0;
}

static inline void fuzz_no_answer_bytes(json_t *j, const char *reason)
{
	const char *key;
	json_t *x;
	size_t i;
	if (json_is_string(j)) {
		const char *s = json_string_value(j);
		if (strlen(s) >= 6 && !fuzz_could_be_ours(s) && strstr(reason, s))
			abort();
	} else if (json_is_object(j)) {
		json_object_foreach(j, key, x)
		{
			if (strlen(key) >= 6 && !fuzz_could_be_ours(key) &&
			    strstr(reason, key))
				abort();
			fuzz_no_answer_bytes(x, reason);
		}
	} else if (json_is_array(j)) {
		json_array_foreach(j, i, x) fuzz_no_answer_bytes(x, reason);
	}
}

static inline void fuzz_check_verdict(const struct codec_verdict *v, int have_out,
				      const char *body, size_t len)
{
	if (v->status != CODEC_OK && v->status != CODEC_INVALID_ANSWER &&
	    v->status != CODEC_WRONG_SUBJECT)
		abort();
	if (have_out != (v->status == CODEC_OK))
		abort();
	size_t n = strnlen(v->reason, CODEC_REASON_MAX);
	if (n == CODEC_REASON_MAX || (v->status == CODEC_OK) != (n == 0))
		abort();
	for (size_t i = 0; i < n; i++)
		if (v->reason[i] < 0x20 || v->reason[i] > 0x7e)
			abort();
	size_t word = strcspn(v->reason, " ");
	if (n && (word == 0 ||
		  strspn(v->reason, "abcdefghijklmnopqrstuvwxyz0123456789_.[]") != word))
		abort();
	json_t *j = json_loadb(body, len, JSON_DECODE_ANY, NULL);
	if (j) {
		fuzz_no_answer_bytes(j, v->reason);
		json_decref(j);
	}
}

/* 1 when `needle` is inside a string of `j` other than an "iin" key's. */
static inline int fuzz_elsewhere(json_t *j, const char *needle)
{
	const char *key;
	json_t *x;
	size_t i;
	if (json_is_string(j))
		return strstr(json_string_value(j), needle) != NULL;
	if (json_is_object(j)) {
		json_object_foreach(j, key, x) if (strcmp(key, "iin") != 0 &&
						   fuzz_elsewhere(x, needle)) return 1;
	} else if (json_is_array(j)) {
		json_array_foreach(j, i, x) if (fuzz_elsewhere(x, needle)) return 1;
	}
	return 0;
}

/* 1 when the value of some "iin" key in `j` (the subject's echo or a third
 * person's) is in `text` although no other string of the answer holds it. */
static inline int fuzz_iin_leaked(json_t *root, json_t *j, const char *text)
{
	const char *key;
	json_t *x;
	size_t i;
	if (json_is_object(j)) {
		json_object_foreach(j, key, x)
		{
			if (strcmp(key, "iin") == 0 && json_is_string(x) &&
			    json_string_length(x) == 12 &&
			    strstr(text, json_string_value(x)) &&
			    !fuzz_elsewhere(root, json_string_value(x)))
				return 1;
			if (fuzz_iin_leaked(root, x, text))
				return 1;
		}
	} else if (json_is_array(j)) {
		json_array_foreach(j, i, x) if (fuzz_iin_leaked(root, x, text)) return 1;
	}
	return 0;
}

/* A kept record: an object whose keys are exactly the service's items, with
 * no IIN of the answer in it.  Consumes k. */
static inline void fuzz_check_kept(json_t *k, const char *const *items, const char *body,
				   size_t len)
{
	size_t n = 0;
	if (!json_is_object(k))
		abort();
	while (items[n]) {
		if (!json_object_get(k, items[n]))
			abort();
		n++;
	}
	if (json_object_size(k) != n)
		abort();
	char *text;
	size_t tlen;
	if (codec_dump(k, &text, &tlen) != SENIM_OK)
		abort();
	json_t *j = json_loadb(body, len, 0, NULL);
	if (!j || fuzz_iin_leaked(j, j, text))
		abort();
	json_decref(j);
	free(text);
	json_decref(k);
}

/* A service receiving `items` (the codecs read only the codes). */
struct fuzz_svc {
	struct recipient_field f[8];
	struct recipient_service s;
};

static inline void fuzz_svc_make(struct fuzz_svc *x, const char *const *items)
{
	memset(x, 0, sizeof(*x));
	size_t n = 0;
	for (; items[n]; n++)
		x->f[n].code = items[n];
	x->s.receives = x->f;
	x->s.nreceives = n;
}

#endif
