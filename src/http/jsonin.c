#include "http/jsonin.h"

#include <stdio.h>
#include <string.h>

#include "common/result.h"
#include "common/utf8.h"
#include "common/banned.h"

/* Deepest nesting in a JSON text, counting only brackets outside strings; a
 * cheap pass that protects the recursive parser's stack. */
static int too_deep(const char *s, size_t len)
{
	int depth = 0, in_string = 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = 0;
		} else if (c == '"') {
			in_string = 1;
		} else if (c == '{' || c == '[') {
			if (++depth > JSONIN_MAX_DEPTH)
				return 1;
		} else if (c == '}' || c == ']') {
			depth--;
		}
	}
	return 0;
}

enum senim_result jsonin_parse(const char *body, size_t len, json_t **out,
			       struct jsonin_error *e)
{
	memset(e, 0, sizeof(*e));
	*out = NULL;
	e->field = "(body)";
	e->limit = JSONIN_MAX_DEPTH;
	if (too_deep(body, len))
		return SENIM_ERR_INVALID;
	json_error_t jerr;
	json_t *v =
		json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (!v)
		return SENIM_ERR_INVALID;
	if (!json_is_object(v)) {
		json_decref(v);
		e->rule = "type_object";
		return SENIM_ERR_INVALID;
	}
	*out = v;
	return SENIM_OK;
}

static enum senim_result fail(struct jsonin_error *e, const char *field, const char *rule,
			      long long limit)
{
	e->field = field;
	e->rule = rule;
	e->limit = limit;
	return SENIM_ERR_INVALID;
}

static enum senim_result check_string(const struct jsonin_field *f, json_t *v,
				      struct jsonin_error *e)
{
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);
	if (utf8_has_control(s, len, f->multiline))
		return fail(e, f->name, "forbidden_characters", 0);
	/* jansson has validated the UTF-8. */
	size_t chars = f->multiline ? len : utf8_chars(s, len);
	if (chars < f->min_len)
		return fail(e, f->name, "min_length", (long long)f->min_len);
	if (f->max_len && chars > f->max_len)
		return fail(e, f->name, "max_length", (long long)f->max_len);
	if (f->allowed) {
		int ok = 0;
		for (const char *const *a = f->allowed; *a && !ok; a++)
			ok = strcmp(*a, s) == 0;
		if (!ok)
			return fail(e, f->name, "enum_value", 0);
	}
	if (f->format && !f->format(s, len))
		return fail(e, f->name, "format", 0);
	return SENIM_OK;
}

static enum senim_result check_field(const struct jsonin_field *f, json_t *v,
				     struct jsonin_error *e)
{
	switch (f->type) {
	case JSONIN_STRING:
		if (!json_is_string(v))
			return fail(e, f->name, "type_string", 0);
		return check_string(f, v, e);
	case JSONIN_INTEGER:
		return json_is_integer(v) ? SENIM_OK
					  : fail(e, f->name, "type_integer", 0);
	case JSONIN_BOOLEAN:
		return json_is_boolean(v) ? SENIM_OK
					  : fail(e, f->name, "type_boolean", 0);
	case JSONIN_OBJECT:
		return json_is_object(v) ? SENIM_OK : fail(e, f->name, "type_object", 0);
	case JSONIN_ARRAY:
		return json_is_array(v) ? SENIM_OK : fail(e, f->name, "type_array", 0);
	}
	return fail(e, f->name, "format", 0);
}

const char *jsonin_key_position(json_t *obj, const char *key, char *buf, size_t n)
{
	size_t position = 1;
	const char *k;
	json_t *v;
	json_object_foreach(obj, k, v)
	{
		(void)v;
		if (k == key || strcmp(k, key) == 0)
			break;
		position++;
	}
	snprintf(buf, n, "(key %zu)", position);
	return buf;
}

enum senim_result jsonin_check(json_t *obj, const struct jsonin_field *fields, size_t n,
			       struct jsonin_error *e)
{
	memset(e, 0, sizeof(*e));
	for (size_t i = 0; i < n; i++) {
		json_t *v = json_object_get(obj, fields[i].name);
		if (!v || json_is_null(v)) {
			if (fields[i].required)
				return fail(e, fields[i].name, "required", 0);
			continue;
		}
		enum senim_result err = check_field(&fields[i], v, e);
		if (err)
			return err;
	}
	const char *key;
	json_t *v;
	json_object_foreach(obj, key, v)
	{
		int known = 0;
		for (size_t i = 0; i < n && !known; i++)
			known = strcmp(fields[i].name, key) == 0;
		if (!known)
			return fail(e,
				    jsonin_key_position(obj, key, e->name_buf,
							sizeof(e->name_buf)),
				    "unknown_field", 0);
	}
	return SENIM_OK;
}

const char *jsonin_str(json_t *obj, const char *name)
{
	return json_string_value(json_object_get(obj, name));
}
