/*
 * jsonin.h — strict decoding of JSON request bodies.
 *
 * A body must be one UTF-8 JSON object, no key twice, nested at most
 * JSONIN_MAX_DEPTH deep.  Its members are checked against a table of
 * expected fields: a missing required field, a field of the wrong type, an
 * unknown field, a string too short or too long, with control characters or
 * outside its format — each is reported as (field, rule, limit), the first
 * one found in table order (unknown fields last).
 *
 * A key that is not in the table is never echoed: a client may put personal
 * data in a key (an IIN, a name), and errors carry none.  It is named by its
 * position in the object instead, "(key 3)" for the third member.
 */
#ifndef SENIM_JSONIN_H
#define SENIM_JSONIN_H

#include <jansson.h>
#include <stddef.h>

#include "common/result.h"

#define JSONIN_MAX_DEPTH 32

enum jsonin_type {
	JSONIN_STRING,
	JSONIN_INTEGER,
	JSONIN_BOOLEAN,
	JSONIN_OBJECT,
	JSONIN_ARRAY
};

struct jsonin_field {
	const char *name;
	enum jsonin_type type;
	int required;
	size_t min_len; /* strings: characters (code points); bytes when multiline */
	size_t max_len; /* strings: the same; 0 = no limit */
	int multiline;	/* strings: allow \n, \r and \t (texts: lengths in bytes) */
	/* strings: 1 when the value has the right format */
	int (*format)(const char *value, size_t len);
	const char *const *allowed; /* strings: NULL-terminated list, or NULL */
};

struct jsonin_error {
	const char *field; /* static, or a copy in `name_buf` */
	const char *rule;  /* a PROBLEM_RULES name; NULL for malformed JSON */
	long long limit;
	char name_buf[72];
};

/*
 * Parse `len` bytes; on success *out is a new reference to the object.  On
 * failure returns SENIM_ERR_INVALID with e->rule NULL (malformed JSON, rule
 * "type_object" when valid JSON but not an object, with e->field "(body)").
 */
SENIM_MUST_CHECK enum senim_result jsonin_parse(const char *body, size_t len,
						json_t **out, struct jsonin_error *e);

/* Check obj against fields[0..n); SENIM_OK or SENIM_ERR_INVALID with *e set. */
SENIM_MUST_CHECK enum senim_result jsonin_check(json_t *obj,
						const struct jsonin_field *fields,
						size_t n, struct jsonin_error *e);

/*
 * Name the member `key` of obj by its 1-based position, "(key N)", written
 * into buf (n bytes, 16 are enough); returns buf.
 */
const char *jsonin_key_position(json_t *obj, const char *key, char *buf, size_t n);

/* The string member `name`, or NULL when absent (after jsonin_check). */
const char *jsonin_str(json_t *obj, const char *name);

#endif
