/*
 * codec.c — the verdict and the typed reads the wire codecs share (codec.h).
 */
#include "connectors/codec.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
#include "core/contact.h"
#include "core/iin.h"
#include "common/banned.h"

const char *codec_status_code(enum codec_status s)
{
	switch (s) {
	case CODEC_OK:
		return "ok";
	case CODEC_INVALID_ANSWER:
		return "invalid_answer";
	case CODEC_WRONG_SUBJECT:
		return "wrong_subject";
	}
	return NULL;
}

void codec_verdict_ok(struct codec_verdict *v)
{
	v->status = CODEC_OK;
	v->reason[0] = '\0';
}

int codec_fail(struct codec_verdict *v, enum codec_status status, const char *fmt, ...)
{
	va_list ap;
	v->status = status;
	va_start(ap, fmt);
	vsnprintf(v->reason, sizeof(v->reason), fmt, ap);
	va_end(ap);
	return 0;
}

/* "PATH.KEY RULE", or "KEY RULE" at the root. */
static int fail_at(struct codec_verdict *v, const char *path, const char *key,
		   const char *rule)
{
	return codec_fail(v, CODEC_INVALID_ANSWER, "%s%s%s %s", path, path[0] ? "." : "",
			  key, rule);
}

int codec_text_ok(const char *s, size_t min_cp, size_t max_cp)
{
	if (!s)
		return 0;
	size_t n = strlen(s);
	if (!utf8_valid(s, n) || utf8_has_control(s, n, 0))
		return 0;
	size_t cp = utf8_chars(s, n);
	return cp >= min_cp && cp <= max_cp;
}

int codec_iin_ok(const char *s)
{
	struct iin_info info;
	return s && iin_parse(s, strlen(s), &info) == IIN_OK;
}

int codec_date_ok(const char *s)
{
	int y, m, d;
	return s && date_parse_iso(s, strlen(s), &y, &m, &d);
}

/* Days from 1970-01-01 to a Gregorian date (Howard Hinnant's days_from_civil
 * algorithm, written from its description). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int two_digits(const char *s, int lo, int hi, int *out)
{
	if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
		return 0;
	*out = (s[0] - '0') * 10 + (s[1] - '0');
	return *out >= lo && *out <= hi;
}

int codec_time_ok(const char *s, int64_t *secs)
{
	int y, mo, d, h, mi, se;
	if (!s)
		return 0;
	size_t n = strlen(s);
	/* YYYY-MM-DDTHH:MM:SS[.F{1,9}]Z */
	if (n < 20 || !date_parse_iso(s, 10, &y, &mo, &d) || s[10] != 'T' ||
	    s[13] != ':' || s[16] != ':' || !two_digits(s + 11, 0, 23, &h) ||
	    !two_digits(s + 14, 0, 59, &mi) || !two_digits(s + 17, 0, 59, &se))
		return 0;
	size_t i = 19;
	if (s[i] == '.') {
		size_t start = ++i;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == start || i - start > 9)
			return 0;
	}
	if (i + 1 != n || s[i] != 'Z')
		return 0;
	if (secs)
		*secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
	return 1;
}

int codec_decode(const char *body, size_t len, json_t **root, struct codec_verdict *v)
{
	*root = NULL;
	codec_verdict_ok(v);
	if (len > CODEC_ANSWER_MAX)
		return codec_fail(v, CODEC_INVALID_ANSWER, "answer exceeds %d bytes",
				  CODEC_ANSWER_MAX);
	json_error_t jerr;
	/* jansson's message can quote the input: it never reaches the reason. */
	json_t *j = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j)
		return codec_fail(v, CODEC_INVALID_ANSWER,
				  "answer is not JSON without duplicate keys");
	if (!json_is_object(j)) {
		json_decref(j);
		return codec_fail(v, CODEC_INVALID_ANSWER, "answer is not a JSON object");
	}
	*root = j;
	return 1;
}

/* The value at key, or NULL with *v set ("is missing"). */
static json_t *get(json_t *obj, const char *path, const char *key,
		   struct codec_verdict *v)
{
	json_t *x = json_object_get(obj, key);
	if (!x)
		fail_at(v, path, key, "is missing");
	return x;
}

int codec_string(json_t *obj, const char *path, const char *key, size_t min_cp,
		 size_t max_cp, int nullable, const char **out, struct codec_verdict *v)
{
	*out = NULL;
	json_t *x = get(obj, path, key, v);
	if (!x)
		return 0;
	if (nullable && json_is_null(x))
		return 1;
	if (!json_is_string(x))
		return fail_at(v, path, key, "is not a string");
	const char *s = json_string_value(x);
	size_t n = json_string_length(x);
	/* jansson refuses \u0000 unless asked, but say so rather than trust it. */
	if (strlen(s) != n || utf8_has_control(s, n, 0))
		return fail_at(v, path, key, "holds a control character");
	size_t cp = utf8_chars(s, n);
	if (cp < min_cp || cp > max_cp) {
		char rule[64];
		snprintf(rule, sizeof(rule), "is not %zu to %zu characters", min_cp,
			 max_cp);
		return fail_at(v, path, key, rule);
	}
	*out = s;
	return 1;
}

int codec_enum(json_t *obj, const char *path, const char *key, const char *const *values,
	       int nullable, int *out, struct codec_verdict *v)
{
	*out = -1;
	json_t *x = get(obj, path, key, v);
	if (!x)
		return 0;
	if (nullable && json_is_null(x))
		return 1;
	if (!json_is_string(x))
		return fail_at(v, path, key, "is not a string");
	for (int i = 0; values[i]; i++)
		if (strcmp(values[i], json_string_value(x)) == 0 &&
		    strlen(values[i]) == json_string_length(x)) {
			*out = i;
			return 1;
		}
	return fail_at(v, path, key, "is not one of the API's values");
}

int codec_int(json_t *obj, const char *path, const char *key, long long lo, long long hi,
	      int nullable, long long *out, int *is_null, struct codec_verdict *v)
{
	*out = 0;
	if (is_null)
		*is_null = 0;
	json_t *x = get(obj, path, key, v);
	if (!x)
		return 0;
	if (nullable && json_is_null(x)) {
		if (is_null)
			*is_null = 1;
		return 1;
	}
	if (!json_is_integer(x))
		return fail_at(v, path, key, "is not an integer");
	long long n = json_integer_value(x);
	if (n < lo || n > hi) {
		char rule[80];
		snprintf(rule, sizeof(rule), "is not from %lld to %lld", lo, hi);
		return fail_at(v, path, key, rule);
	}
	*out = n;
	return 1;
}

int codec_number(json_t *obj, const char *path, const char *key, json_t **out,
		 struct codec_verdict *v)
{
	*out = NULL;
	json_t *x = get(obj, path, key, v);
	if (!x)
		return 0;
	if (!json_is_number(x))
		return fail_at(v, path, key, "is not a number");
	*out = x;
	return 1;
}

int codec_bool(json_t *obj, const char *path, const char *key, int *out,
	       struct codec_verdict *v)
{
	*out = 0;
	json_t *x = get(obj, path, key, v);
	if (!x)
		return 0;
	if (!json_is_boolean(x))
		return fail_at(v, path, key, "is not a boolean");
	*out = json_is_true(x);
	return 1;
}

int codec_object(json_t *obj, const char *path, const char *key, int nullable,
		 json_t **out, struct codec_verdict *v)
{
	*out = NULL;
	json_t *x = get(obj, path, key, v);
	if (!x)
		return 0;
	if (nullable && json_is_null(x))
		return 1;
	if (!json_is_object(x))
		return fail_at(v, path, key,
			       nullable ? "is not an object or null"
					: "is not an object");
	*out = x;
	return 1;
}

int codec_array(json_t *obj, const char *path, const char *key, size_t max, json_t **out,
		struct codec_verdict *v)
{
	*out = NULL;
	json_t *x = get(obj, path, key, v);
	if (!x)
		return 0;
	if (!json_is_array(x))
		return fail_at(v, path, key, "is not an array");
	if (json_array_size(x) > max) {
		char rule[48];
		snprintf(rule, sizeof(rule), "has more than %zu elements", max);
		return fail_at(v, path, key, rule);
	}
	*out = x;
	return 1;
}

int codec_date(json_t *obj, const char *path, const char *key, int nullable,
	       const char **out, struct codec_verdict *v)
{
	*out = NULL;
	json_t *x = get(obj, path, key, v);
	if (!x)
		return 0;
	if (nullable && json_is_null(x))
		return 1;
	int y, m, d;
	if (!json_is_string(x) ||
	    !date_parse_iso(json_string_value(x), json_string_length(x), &y, &m, &d))
		return fail_at(v, path, key, "is not a date YYYY-MM-DD");
	*out = json_string_value(x);
	return 1;
}

int codec_time(json_t *obj, const char *path, const char *key, int64_t *secs,
	       struct codec_verdict *v)
{
	*secs = 0;
	json_t *x = get(obj, path, key, v);
	if (!x)
		return 0;
	if (!json_is_string(x) || strlen(json_string_value(x)) != json_string_length(x) ||
	    !codec_time_ok(json_string_value(x), secs))
		return fail_at(v, path, key, "is not an RFC 3339 UTC time");
	return 1;
}

int codec_iin(json_t *obj, const char *path, const char *key, const char **out,
	      struct codec_verdict *v)
{
	*out = NULL;
	json_t *x = get(obj, path, key, v);
	if (!x)
		return 0;
	struct iin_info info;
	if (!json_is_string(x) ||
	    iin_parse(json_string_value(x), json_string_length(x), &info) != IIN_OK)
		return fail_at(v, path, key, "is not a valid IIN");
	*out = json_string_value(x);
	return 1;
}

enum senim_result codec_dump(const json_t *j, char **text, size_t *len)
{
	*text = json_dumps(j, CODEC_DUMP_FLAGS);
	*len = *text ? strlen(*text) : 0;
	return *text ? SENIM_OK : SENIM_ERR_NOMEM;
}

enum senim_result codec_set(json_t *obj, const char *key, json_t *value)
{
	if (!value)
		return SENIM_ERR_NOMEM;
	return json_object_set_new(obj, key, value) == 0 ? SENIM_OK : SENIM_ERR_NOMEM;
}
