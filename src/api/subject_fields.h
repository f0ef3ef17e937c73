/*
 * subject_fields.h — validation of a category's fields for PUT
 * /v1/subjects/{id}/data/{category}, by the schema in core/categories.h.
 */
#ifndef SENIM_SUBJECT_FIELDS_H
#define SENIM_SUBJECT_FIELDS_H

#include <jansson.h>

#include "common/result.h"
#include "core/categories.h"

struct field_error {
	const char *field;
	const char *rule;
	long long limit;
	char name_buf[72];
};

/* Check every member of `fields` (normalising phones and e-mail in place);
 * SENIM_OK, or SENIM_ERR_INVALID with the first fault in *e, or
 * SENIM_ERR_NOMEM.  The IIN is set at registration and cannot be changed
 * (rule "immutable"). */
SENIM_MUST_CHECK enum senim_result subject_fields_check(enum category c, json_t *fields,
							struct field_error *e);

#endif
