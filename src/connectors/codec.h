/*
 * codec.h — what the exchange's wire codecs share (docs/connectors/): the
 * verdict on an answer, and the typed, range-checked reads of a decoded
 * answer that bureau.c, operator.c and statedb.c are built from.  Pure
 * code: bytes in, structs and JSON out, no I/O, no clock (the caller
 * passes "now" and "today").
 *
 * A verdict is one of three (docs/connectors/README.md, "How an outcome is
 * classified"):
 *   CODEC_OK              every rule of the API's page holds;
 *   CODEC_INVALID_ANSWER  a 2xx answer that is not JSON, is larger than
 *                         CODEC_ANSWER_MAX, or breaks a rule: nothing of it
 *                         is kept;
 *   CODEC_WRONG_SUBJECT   an answer about someone other than the person
 *                         asked about: nothing kept, never retried.
 * With every verdict but CODEC_OK comes a short reason naming the field and
 * the rule ("loans[3].overdue_tiyn exceeds outstanding_tiyn").  A reason is
 * built only from the codec's own field names, array positions and limits:
 * it NEVER carries a byte of the answer (no value, no unknown key), so it
 * may go to logs, audit records and the outbox.
 *
 * An answer is decoded with duplicate keys refused (a second "iin" could
 * otherwise hide the real echo); unknown keys are ignored and never kept.
 * Every string the codecs accept is UTF-8 without control characters, and
 * lengths are counted in code points.  Dates are strict "YYYY-MM-DD"
 * (core/contact.h's date_parse_iso, so from 1900-01-01 on): two of them
 * compare as strings.  Times are RFC 3339 in UTC, "YYYY-MM-DDTHH:MM:SSZ"
 * with an optional fraction of 1-9 digits.
 *
 * The kept record of an answer (bureau_report_kept(), operator_check_kept(),
 * statedb_kept()) is a JSON object whose keys are the service's `receives`
 * items ("report.score", "phone.match"), each holding only the fields the
 * API's page defines; dump it with CODEC_DUMP_FLAGS (compact, keys sorted)
 * for its canonical text.
 */
#ifndef SENIM_CODEC_H
#define SENIM_CODEC_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/result.h"

#define CODEC_ANSWER_MAX (256 * 1024)	  /* bytes of an answer body */
#define CODEC_REASON_MAX 128		  /* a reason, NUL included */
#define CODEC_TIYN_MAX 1000000000000000LL /* 10^15 tiyn */
#define CODEC_DATE_LEN 11		  /* "YYYY-MM-DD" + NUL */
/* How far ahead of the caller's clock an answer's time may be: the
 * peers' clocks are not ours. */
#define CODEC_CLOCK_SKEW_S 300
/* The canonical text of a kept record or a request body: compact, keys
 * sorted, reals to 15 significant digits (a score of 0.73 stays "0.73"). */
#define CODEC_DUMP_FLAGS (JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(15))

enum codec_status {
	CODEC_OK = 0,
	CODEC_INVALID_ANSWER,
	CODEC_WRONG_SUBJECT,
};

struct codec_verdict {
	enum codec_status status;
	char reason[CODEC_REASON_MAX]; /* "" with CODEC_OK */
};

/* "ok", "invalid_answer", "wrong_subject"; NULL out of range. */
const char *codec_status_code(enum codec_status s);

/* ---- for the codec modules ------------------------------------------------- */

/* Every read below is of `key` in the object `obj` at `path` (the JSON
 * path of obj as reasons print it, "" for the root, "loans[3]").  Each
 * returns 1 when the value is there and keeps its rule; otherwise 0 with
 * *v set to CODEC_INVALID_ANSWER and a reason "PATH.KEY RULE".  `nullable`
 * allows JSON null (the key must still be there); then *out is NULL (or
 * the int's *is_null is set). Strings point into obj, which owns them. */
int codec_string(json_t *obj, const char *path, const char *key, size_t min_cp,
		 size_t max_cp, int nullable, const char **out, struct codec_verdict *v);
/* One of `values` (NULL-terminated): *out is its index, or -1 for null. */
int codec_enum(json_t *obj, const char *path, const char *key, const char *const *values,
	       int nullable, int *out, struct codec_verdict *v);
/* An integer (not a real, not a boolean) from lo to hi. */
int codec_int(json_t *obj, const char *path, const char *key, long long lo, long long hi,
	      int nullable, long long *out, int *is_null, struct codec_verdict *v);
/* Any JSON number; *out is its own value (the node stays in obj). */
int codec_number(json_t *obj, const char *path, const char *key, json_t **out,
		 struct codec_verdict *v);
int codec_bool(json_t *obj, const char *path, const char *key, int *out,
	       struct codec_verdict *v);
/* An object; *out NULL when nullable and null. */
int codec_object(json_t *obj, const char *path, const char *key, int nullable,
		 json_t **out, struct codec_verdict *v);
/* An array of at most `max` elements. */
int codec_array(json_t *obj, const char *path, const char *key, size_t max, json_t **out,
		struct codec_verdict *v);
/* A date "YYYY-MM-DD"; *out NULL when nullable and null. */
int codec_date(json_t *obj, const char *path, const char *key, int nullable,
	       const char **out, struct codec_verdict *v);
/* An RFC 3339 UTC time; *secs its Unix time. */
int codec_time(json_t *obj, const char *path, const char *key, int64_t *secs,
	       struct codec_verdict *v);
/* A valid IIN (core/iin.h). */
int codec_iin(json_t *obj, const char *path, const char *key, const char **out,
	      struct codec_verdict *v);

/* Set *v to `status` with a reason from fmt (only the codec's own names,
 * positions and limits: never a value of the answer); returns 0. */
int codec_fail(struct codec_verdict *v, enum codec_status status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Reset *v to CODEC_OK. */
void codec_verdict_ok(struct codec_verdict *v);

/* Decode an answer body of `len` bytes (need not be NUL-terminated): 1 and
 * *root (a new reference to an object) when it is at most CODEC_ANSWER_MAX
 * bytes of JSON holding an object without duplicate keys; else 0, *root
 * NULL and *v invalid_answer. */
int codec_decode(const char *body, size_t len, json_t **root, struct codec_verdict *v);

/* Input checks for the request builders, which refuse what the recipient
 * would refuse.  1 when it holds. */
int codec_text_ok(const char *s, size_t min_cp, size_t max_cp);
int codec_iin_ok(const char *s);
int codec_date_ok(const char *s);
int codec_time_ok(const char *s, int64_t *secs); /* secs may be NULL */

/* Dump `j` with CODEC_DUMP_FLAGS: *text (NUL-terminated, *len bytes
 * without it) is the caller's to free with free().  SENIM_ERR_NOMEM. */
SENIM_MUST_CHECK enum senim_result codec_dump(const json_t *j, char **text, size_t *len);

/* json_object_set_new that reports failure (the value is consumed either
 * way); SENIM_ERR_NOMEM when `value` is NULL or the set fails. */
SENIM_MUST_CHECK enum senim_result codec_set(json_t *obj, const char *key, json_t *value);

#endif
