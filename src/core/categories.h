/*
 * categories.h — the documented field schema of each data category (D1-D7).
 *
 * PUT /v1/subjects/{id}/data/{category} accepts exactly these fields; each
 * has a type, a maximum length and, where it has one, a format check from
 * contact.h or iin.h.  Pure data.
 */
#ifndef SENIM_CATEGORIES_H
#define SENIM_CATEGORIES_H

#include <stddef.h>

#include "core/purposes.h"

enum field_kind {
	FIELD_TEXT, /* a string of at most max_len characters */
	FIELD_DATE, /* "YYYY-MM-DD" */
	FIELD_BOOL,
	FIELD_ENUM,  /* one of `allowed` */
	FIELD_PHONE, /* normalised to +7 E.164 */
	FIELD_EMAIL,
	FIELD_COUNTRY, /* ISO 3166-1 alpha-2 */
	FIELD_LIST,    /* an array of at most max_items strings (max_len each) */
	FIELD_PEOPLE,  /* an array of {relation, name, birth_date} objects */
	FIELD_BLOB,    /* base64 of at most max_len decoded bytes (biometrics) */
};

struct field_def {
	const char *name;
	enum field_kind kind;
	size_t max_len;
	size_t max_items;
	const char *const *allowed; /* FIELD_ENUM values, NULL-terminated */
	const char *describes;	    /* what the policy calls it (docs) */
};

/* The fields of a category; *n gets their number. */
const struct field_def *category_fields(enum category c, size_t *n);

/* The field named `name` in category c, or NULL. */
const struct field_def *category_field(enum category c, const char *name);

#endif
