/*
 * fuzz_jsonin.c — jsonin_parse and jsonin_check on arbitrary bodies.
 *
 * The body is parsed and, when it is an object, checked against a fixed
 * table that uses every rule jsonin knows (required, each type, lengths,
 * control characters, multiline, enum, format).  Beyond "no crash, no leak"
 * the target checks what callers rely on: a failure always names a field and,
 * when it has one, a rule from PROBLEM_RULES; an unknown key is never
 * echoed, only named by position ("(key N)"); a success means every string field really
 * is within its bounds; and the problem rendered from any error is JSON.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/result.h"
#include "http/jsonin.h"
#include "http/problem.h"
#include "common/banned.h"

static int format_digits(const char *v, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (v[i] < '0' || v[i] > '9')
			return 0;
	return len > 0;
}

static const char *const colours[] = { "red", "green", "жасыл", NULL };

static const struct jsonin_field fields[] = {
	{ .name = "name",
	  .type = JSONIN_STRING,
	  .required = 1,
	  .min_len = 2,
	  .max_len = 8 },
	{ .name = "text", .type = JSONIN_STRING, .max_len = 64, .multiline = 1 },
	{ .name = "code", .type = JSONIN_STRING, .format = format_digits },
	{ .name = "colour", .type = JSONIN_STRING, .allowed = colours },
	{ .name = "n", .type = JSONIN_INTEGER },
	{ .name = "flag", .type = JSONIN_BOOLEAN },
	{ .name = "obj", .type = JSONIN_OBJECT },
	{ .name = "list", .type = JSONIN_ARRAY },
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

#define RULE_NAME(r) #r,
static const char *const rules[] = { PROBLEM_RULES(RULE_NAME) NULL };

static int known_rule(const char *rule)
{
	for (const char *const *r = rules; *r; r++)
		if (strcmp(*r, rule) == 0)
			return 1;
	return 0;
}

/* A table name, "(body)", or an unknown key named by position: "(key N)". */
static int is_field_name(const char *s)
{
	for (size_t i = 0; i < NFIELDS; i++)
		if (strcmp(fields[i].name, s) == 0)
			return 1;
	if (strcmp(s, "(body)") == 0)
		return 1;
	if (strncmp(s, "(key ", 5) != 0 || s[5] < '1' || s[5] > '9')
		return 0;
	for (s += 6; *s >= '0' && *s <= '9'; s++)
		;
	return strcmp(s, ")") == 0;
}

static size_t code_points(const char *s, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		n += ((unsigned char)s[i] & 0xC0) != 0x80;
	return n;
}

/* A successful check must mean every present string field obeys its rules. */
static void check_success(json_t *obj)
{
	for (size_t i = 0; i < NFIELDS; i++) {
		const struct jsonin_field *f = &fields[i];
		json_t *v = json_object_get(obj, f->name);
		if (!v || json_is_null(v)) {
			if (f->required)
				abort();
			continue;
		}
		if (f->type != JSONIN_STRING)
			continue;
		const char *s = jsonin_str(obj, f->name);
		if (!s)
			abort();
		size_t len = json_string_length(v);
		size_t n = f->multiline ? len : code_points(s, len);
		if (n < f->min_len || (f->max_len && n > f->max_len))
			abort();
		for (size_t k = 0; k < len; k++) {
			unsigned char c = (unsigned char)s[k];
			int ws = c == '\n' || c == '\r' || c == '\t';
			if (c == 0x7f || (c < 0x20 && !(f->multiline && ws)))
				abort();
		}
	}
}

/* Whatever the error, the problem rendered from it is one JSON object. */
static void render(const struct jsonin_error *e)
{
	struct problem p = { .code = e->rule ? "validation_failed" : "malformed_json",
			     .field = e->field,
			     .rule = e->rule,
			     .limit = e->limit };
	struct buf out;
	buf_init(&out, 1 << 16);
	if (problem_render(&p, LANG_KK, "fuzz", &out) != SENIM_OK)
		abort();
	json_t *doc = json_loadb(out.data, out.len, 0, NULL);
	if (!json_is_object(doc))
		abort();
	json_decref(doc);
	buf_release(&out);
}

static void check_error(const struct jsonin_error *e)
{
	if (!e->field || !is_field_name(e->field))
		abort();
	if (e->rule && !known_rule(e->rule))
		abort();
	render(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *obj;
	struct jsonin_error e;
	if (jsonin_parse((const char *)data, size, &obj, &e) != SENIM_OK) {
		if (obj)
			abort();
		check_error(&e);
		return 0;
	}
	if (!json_is_object(obj))
		abort();
	int err = jsonin_check(obj, fields, NFIELDS, &e);
	if (err == SENIM_OK)
		check_success(obj);
	else if (err == SENIM_ERR_INVALID && e.rule)
		check_error(&e);
	else
		abort();
	json_decref(obj);
	return 0;
}
