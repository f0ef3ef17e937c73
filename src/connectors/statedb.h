/*
 * statedb.h — the state databases' wire APIs, family_ties/1, address/1 and
 * legal_capacity/1, as pure codecs (docs/connectors/state_databases.md;
 * the test peer is tests/peers/state_database.py).  No I/O, no clock:
 * "today" is a parameter.
 *
 * Every request is {"iin", "consent_ref"} (statedb_request()).  Every
 * answer has iin (the IIN asked about, else wrong_subject) and as_of (a
 * date not after `today`), and then per API:
 *   family_ties     marital_status single|married|divorced|widowed; spouse
 *                   a person exactly when married, else null; children at
 *                   most STATEDB_CHILDREN_MAX persons.  A person is {iin,
 *                   surname, given_name, patronymic|null, birth_date}; a
 *                   third person's iin must be a valid IIN other than the
 *                   subject's, and is then DROPPED: it is removed from the
 *                   decoded answer before the parser returns, and never
 *                   reaches a struct or a kept record.
 *   address         registered_address null, or {text 1-500, registry_id
 *                   1-64, since: a date not after `today`}.
 *   legal_capacity  legal_capacity full|limited|incapable; source_body
 *                   1-200; decision_date a date, required unless full
 *                   (null or absent then).
 *
 * Verdicts and reasons are codec.h's: a reason never carries a value of
 * the answer.  The parser returns SENIM_OK whatever the verdict; only
 * running out of memory is SENIM_ERR_NOMEM.
 */
#ifndef SENIM_STATEDB_H
#define SENIM_STATEDB_H

#include <jansson.h>
#include <stddef.h>

#include "common/result.h"
#include "connectors/codec.h"
#include "core/recipients.h"

#define STATEDB_CHILDREN_MAX 20

enum statedb_api {
	STATEDB_FAMILY_TIES,
	STATEDB_ADDRESS,
	STATEDB_LEGAL_CAPACITY
};

/* The API of a recipients-file service (RECIPIENT_API_FAMILY_TIES, ...):
 * 1 and *out set, or 0 for an API that is not a state database's. */
int statedb_api_of(enum recipient_api api, enum statedb_api *out);

/*
 * The request body {"iin", "consent_ref"} (consent_ref 1-128 characters:
 * the state service's reference, today senim's state_database consent id).
 * *out is a new object (json_decref).  SENIM_ERR_INVALID with `why` (NULL
 * or CODEC_REASON_MAX bytes) naming the field; SENIM_ERR_NOMEM.
 */
SENIM_MUST_CHECK enum senim_result
statedb_request(const char *iin, const char *consent_ref, json_t **out, char *why);

enum statedb_marital {
	STATEDB_SINGLE,
	STATEDB_MARRIED,
	STATEDB_DIVORCED,
	STATEDB_WIDOWED
};
enum statedb_capacity {
	STATEDB_FULL,
	STATEDB_LIMITED,
	STATEDB_INCAPABLE
};

/* A third person, without the IIN (checked, then dropped). */
struct statedb_person {
	const char *surname, *given_name; /* 1-100 characters */
	const char *patronymic;		  /* 1-100 characters, or NULL */
	const char *birth_date;		  /* "YYYY-MM-DD" */
};

/* An answer that parsed ok; only the members of its API are set.  Strings
 * point into root_, which it owns. */
struct statedb_answer {
	enum statedb_api api;
	const char *as_of; /* "YYYY-MM-DD" */
	/* family_ties/1 */
	enum statedb_marital marital_status;
	int has_spouse;
	struct statedb_person spouse;
	struct statedb_person children[STATEDB_CHILDREN_MAX];
	size_t nchildren;
	/* address/1: all NULL when there is no registered address */
	const char *address_text, *address_registry_id, *address_since;
	/* legal_capacity/1 */
	enum statedb_capacity legal_capacity;
	const char *source_body;
	const char *decision_date; /* NULL when not given (full only) */
	json_t *root_;
};

/*
 * Check the `len` bytes of an answer of `api` about `asked_iin`; `today`
 * ("YYYY-MM-DD") is the latest as_of and address since accepted.  Always
 * sets *v; with CODEC_OK *out is the answer (statedb_answer_free()), else
 * NULL.  SENIM_ERR_NOMEM, else SENIM_OK.
 */
SENIM_MUST_CHECK enum senim_result
statedb_parse(enum statedb_api api, const char *body, size_t len, const char *asked_iin,
	      const char *today, struct statedb_answer **out, struct codec_verdict *v);

/* NULL does nothing. */
void statedb_answer_free(struct statedb_answer *a);

/*
 * The kept record: one key per item of the service's `receives`, as the
 * policy's fields (core/categories.c) hold them:
 *   family.marital_status       "single"|"married"|"divorced"|"widowed"
 *   family.spouse_name          "Surname Given Patronymic" (one space
 *                               between the parts given), or null
 *   family.dependants           [{"relation": "child", "name", "birth_date"}]
 *   contact.registered_address  the text, or null
 *   contact.address_registry_id the registry id, or null
 *   medical.legal_capacity      "full"|"limited"|"incapable"
 *   medical.source_body         the body's name
 * No third person's IIN is ever in it.  SENIM_ERR_INVALID when `s` names
 * an item that is not a field of this answer's API; SENIM_ERR_NOMEM.
 */
SENIM_MUST_CHECK enum senim_result statedb_kept(const struct statedb_answer *a,
						const struct recipient_service *s,
						json_t **out);

#endif
