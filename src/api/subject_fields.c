/*
 * subject_fields.c — checking a category's fields against its documented
 * schema (core/categories.h) before anything is sealed.  Phones and e-mail
 * addresses are normalised in place, so indexes and records hold one form.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "api/subject_fields.h"
#include "core/contact.h"
#include "common/utf8.h"
#include "core/iin.h"
#include "http/jsonin.h"
#include "common/banned.h"

static enum senim_result fail(struct field_error *e, const char *field, const char *rule,
			      long long limit)
{
	e->field = field;
	e->rule = rule;
	e->limit = limit;
	return SENIM_ERR_INVALID;
}

static enum senim_result check_text(const struct field_def *d, json_t *v,
				    struct field_error *e, const char *name)
{
	if (!json_is_string(v))
		return fail(e, name, "type_string", 0);
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);
	if (utf8_has_control(s, len, 1))
		return fail(e, name, "forbidden_characters", 0);
	if (len == 0)
		return fail(e, name, "min_length", 1);
	if (d->max_len && utf8_chars(s, len) > d->max_len)
		return fail(e, name, "max_length", (long long)d->max_len);
	return SENIM_OK;
}

/* [{relation, name, birth_date}] */
static enum senim_result check_people(const struct field_def *d, json_t *v,
				      struct field_error *e)
{
	if (!json_is_array(v))
		return fail(e, d->name, "type_array", 0);
	if (d->max_items && json_array_size(v) > d->max_items)
		return fail(e, d->name, "max_value", (long long)d->max_items);
	static const struct field_def text = { "name", FIELD_TEXT, 200, 0, NULL, NULL };
	size_t i;
	json_t *p;
	json_array_foreach(v, i, p)
	{
		if (!json_is_object(p) || json_object_size(p) > 3)
			return fail(e, d->name, "type_object", 0);
		const char *key;
		json_t *m;
		json_object_foreach(p, key, m)
		{
			if (strcmp(key, "relation") && strcmp(key, "name") &&
			    strcmp(key, "birth_date"))
				return fail(e, d->name, "unknown_field", 0);
			enum senim_result err = check_text(&text, m, e, d->name);
			if (err)
				return err;
			int y, mo, dd;
			if (strcmp(key, "birth_date") == 0 &&
			    !date_parse_iso(json_string_value(m), json_string_length(m),
					    &y, &mo, &dd))
				return fail(e, d->name, "format", 0);
		}
	}
	return SENIM_OK;
}

/* Check one field; may replace its value with the normalised form. */
static enum senim_result check_field(const struct field_def *d, json_t *fields, json_t *v,
				     struct field_error *e)
{
	const char *name = d->name;
	enum senim_result err;
	switch (d->kind) {
	case FIELD_TEXT:
		return check_text(d, v, e, name);
	case FIELD_BOOL:
		return json_is_boolean(v) ? SENIM_OK : fail(e, name, "type_boolean", 0);
	case FIELD_DATE: {
		if ((err = check_text(d, v, e, name)))
			return err;
		int y, m, dd;
		return date_parse_iso(json_string_value(v), json_string_length(v), &y, &m,
				      &dd)
			       ? SENIM_OK
			       : fail(e, name, "format", 0);
	}
	case FIELD_ENUM:
		if ((err = check_text(d, v, e, name)))
			return err;
		for (const char *const *a = d->allowed; a && *a; a++)
			if (strcmp(*a, json_string_value(v)) == 0)
				return SENIM_OK;
		return fail(e, name, "enum_value", 0);
	case FIELD_PHONE: {
		if ((err = check_text(d, v, e, name)))
			return err;
		char norm[PHONE_E164_LEN];
		if (!phone_normalize_kz(json_string_value(v), json_string_length(v),
					norm))
			return fail(e, name, "format", 0);
		json_object_set_new(fields, name, json_string(norm));
		return SENIM_OK;
	}
	case FIELD_EMAIL: {
		if ((err = check_text(d, v, e, name)))
			return err;
		char norm[EMAIL_MAX + 1];
		if (!email_valid(json_string_value(v), json_string_length(v)) ||
		    !email_normalize(json_string_value(v), json_string_length(v), norm,
				     sizeof(norm)))
			return fail(e, name, "format", 0);
		json_object_set_new(fields, name, json_string(norm));
		return SENIM_OK;
	}
	case FIELD_COUNTRY:
		if ((err = check_text(d, v, e, name)))
			return err;
		return country_alpha2_valid(json_string_value(v), json_string_length(v))
			       ? SENIM_OK
			       : fail(e, name, "format", 0);
	case FIELD_LIST: {
		if (!json_is_array(v))
			return fail(e, name, "type_array", 0);
		if (d->max_items && json_array_size(v) > d->max_items)
			return fail(e, name, "max_value", (long long)d->max_items);
		size_t i;
		json_t *item;
		json_array_foreach(v, i, item)
		{
			if ((err = check_text(d, item, e, name)))
				return err;
		}
		return SENIM_OK;
	}
	case FIELD_PEOPLE:
		return check_people(d, v, e);
	case FIELD_BLOB: {
		if (!json_is_string(v))
			return fail(e, name, "type_string", 0);
		size_t len = json_string_length(v), decoded = 0;
		if (len == 0 || len / 4 * 3 > d->max_len + 3)
			return fail(e, name, "max_length", (long long)d->max_len);
		unsigned char *bin = sodium_malloc(len);
		if (!bin)
			return SENIM_ERR_NOMEM;
		int bad = sodium_base642bin(bin, len, json_string_value(v), len, NULL,
					    &decoded, NULL,
					    sodium_base64_VARIANT_ORIGINAL) != 0;
		sodium_free(bin);
		if (bad)
			return fail(e, name, "format", 0);
		return decoded <= d->max_len
			       ? SENIM_OK
			       : fail(e, name, "max_length", (long long)d->max_len);
	}
	}
	return fail(e, name, "format", 0);
}

/* D7: each biometric image is kept with the SHA-256 of its content, as
 * "<field>_sha256", so a copy can be matched without opening the record.
 * An image removed (null) takes its hash with it: a fingerprint of a
 * biometric must not outlive the image. */
static enum senim_result add_content_hashes(enum category c, json_t *fields)
{
	size_t n;
	const struct field_def *defs = category_fields(c, &n);
	for (size_t i = 0; i < n; i++) {
		json_t *v = json_object_get(fields, defs[i].name);
		if (defs[i].kind != FIELD_BLOB || !v)
			continue;
		char key[96];
		snprintf(key, sizeof(key), "%s_sha256", defs[i].name);
		if (json_is_null(v)) { /* the merge removes both */
			json_object_set_new(fields, key, json_null());
			continue;
		}
		if (!json_is_string(v))
			continue;
		size_t len = json_string_length(v), decoded = 0;
		unsigned char *bin = sodium_malloc(len ? len : 1);
		if (!bin)
			return SENIM_ERR_NOMEM;
		sodium_base642bin(bin, len, json_string_value(v), len, NULL, &decoded,
				  NULL, sodium_base64_VARIANT_ORIGINAL);
		unsigned char h[crypto_hash_sha256_BYTES];
		crypto_hash_sha256(h, bin, decoded);
		sodium_free(bin);
		char hex[2 * sizeof(h) + 1];
		sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
		json_object_set_new(fields, key, json_string(hex));
	}
	return SENIM_OK;
}

enum senim_result subject_fields_check(enum category c, json_t *fields,
				       struct field_error *e)
{
	memset(e, 0, sizeof(*e));
	if (!json_is_object(fields))
		return fail(e, "fields", "type_object", 0);
	if (json_object_size(fields) == 0)
		return fail(e, "fields", "min_length", 1);
	const char *key;
	json_t *v;
	void *tmp;
	json_object_foreach_safe(fields, tmp, key, v)
	{
		const struct field_def *d = category_field(c, key);
		if (!d)
			return fail(e,
				    jsonin_key_position(fields, key, e->name_buf,
							sizeof(e->name_buf)),
				    "unknown_field", 0);
		if (c == CATEGORY_IDENTITY && strcmp(key, "iin") == 0)
			return fail(e, "iin", "immutable", 0); /* not even to null */
		if (json_is_null(v))
			continue; /* null removes a field in the new version */
		enum senim_result err = check_field(d, fields, v, e);
		if (err)
			return err;
	}
	return add_content_hashes(c, fields);
}
