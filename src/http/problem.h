/*
 * problem.h — every error senim answers, as RFC 9457 problem+json.
 *
 * A problem has a stable machine `code` (the catalogue in problem.c), an
 * HTTP status, and a title and detail in Russian, Kazakh and English.  A
 * validation problem also names the `field` and the `rule` it broke.  The
 * body never carries personal data: details are fixed texts with a field
 * name, a rule and a number filled in, never a value the client sent.
 *
 * This is the one place where a senim_result becomes an HTTP status.
 */
#ifndef SENIM_PROBLEM_H
#define SENIM_PROBLEM_H

#include <jansson.h>

#include "common/buf.h"
#include "http/i18n.h"

/* The validation rules a field can break (their texts are localised). */
#define PROBLEM_RULES(X)           \
	X(required)                \
	X(unknown_field)           \
	X(type_string)             \
	X(type_integer)            \
	X(type_boolean)            \
	X(type_object)             \
	X(type_array)              \
	X(min_length)              \
	X(max_length)              \
	X(min_value)               \
	X(max_value)               \
	X(format)                  \
	X(enum_value)              \
	X(one_key)                 \
	X(forbidden_characters)    \
	X(immutable)               \
	X(iin_length)              \
	X(iin_digits)              \
	X(iin_date)                \
	X(iin_century)             \
	X(iin_checksum)            \
	X(iin_no_checksum)         \
	X(iin_birth_date_mismatch) \
	X(iin_sex_mismatch)        \
	X(period_length)           \
	X(question_only)           \
	X(unknown_staff)           \
	X(correction_only)         \
	X(phone_procedure)         \
	X(approve_only)            \
	X(within_application)      \
	X(within_scorecard_limit)  \
	X(product_min)

struct problem {
	const char *code;  /* a catalogue code, e.g. "validation_failed" */
	const char *field; /* the field or parameter at fault, or NULL */
	const char *rule;  /* one of PROBLEM_RULES, or NULL */
	long long limit;   /* the number a rule or detail mentions */
	json_t *extra;	   /* extension members to merge in; stolen, may be NULL */
};

/* The HTTP status of a catalogue code; 500 for an unknown code. */
int problem_status(const char *code);

/* 1 when `code` is in the catalogue. */
int problem_known(const char *code);

/* The catalogue code for a result that reached the edge unhandled. */
const char *problem_code_for_result(int result);

/*
 * Render the problem as JSON into out (appending) for language `lang`, with
 * the request id; frees p->extra.  Returns SENIM_OK or a buf error.
 */
SENIM_MUST_CHECK enum senim_result problem_render(struct problem *p, enum lang lang,
						  const char *request_id,
						  struct buf *out);

/* For tests: walk every code; fn gets the code and its status. */
void problem_each(void (*fn)(const char *code, int status, void *ctx), void *ctx);

#endif
