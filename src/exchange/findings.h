/*
 * findings.h — disagreements between what a state database says of a
 * borrower and what the borrower declared (D8), in `subject_findings`
 * (store/migrations.c, version 8).
 *
 * Invariants:
 *   - A finding names a category, a field and a kind (mismatch, not_found)
 *     — never a value, neither the declared one nor the source's: the
 *     source's answer is sealed in subject_sources, the declaration in
 *     subject_records, and a finding only points at them.
 *   - Nothing here changes declared data: a finding is for a person to look
 *     at and resolve (docs/connectors/state_databases.md).
 *   - Every write (a finding recorded, a finding resolved) and every read
 *     (the list) appends its audit record in the same transaction.
 *   - A finding is resolved at most once; a second resolve is refused.
 */
#ifndef SENIM_FINDINGS_H
#define SENIM_FINDINGS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/ids.h"
#include "common/result.h"
#include "core/access.h"
#include "core/recipients.h"
#include "store/store.h"
#include "vault/keyring.h"

/* "fnd_" + the id body, with its NUL. */
#define FINDING_ID_LEN (4 + ID_BODY_CHARS + 1)
/* At most this many findings come of one answer. */
#define FINDINGS_MAX 4

enum finding_kind {
	FINDING_MISMATCH,  /* the source says otherwise than the borrower */
	FINDING_NOT_FOUND, /* the source does not know the person */
};

/* "mismatch", "not_found"; NULL out of range. */
const char *finding_kind_code(enum finding_kind k);

/* ---- comparing (pure) ------------------------------------------------------------ */

/* A field that disagrees: category and field name (static strings). */
struct finding_field {
	enum category category;
	const char *field;
};

/* The declared category a state database's API is compared with (family,
 * contact, medical): 1 and *c set, or 0 for an API that is not compared. */
int findings_declared_category(enum recipient_api api, enum category *c);

/*
 * The fields where the kept record of a state database's answer (`kept`:
 * keys "family.marital_status", ... as statedb_kept() makes them) disagrees
 * with `declared` (the fields of the newest declared version of the
 * category findings_declared_category() names; NULL when none):
 *   family_ties     marital_status differs; the number of dependants whose
 *                   relation is "child" differs from the children the
 *                   source names (only when the borrower declared
 *                   dependants);
 *   address         registered_address differs (compared ignoring ASCII
 *                   case, spaces and the punctuation , . - ; an address
 *                   the source does not have disagrees with a declared
 *                   one);
 *   legal_capacity  anything but "full", or not what was declared.
 * A field the borrower never declared, or the source was not asked to
 * give (its `receives`), is not compared — except legal capacity, which
 * every borrower is taken to have in full.  Returns how many of out are
 * set (at most FINDINGS_MAX).
 */
size_t findings_compare(enum recipient_api api, const json_t *declared,
			const json_t *kept, struct finding_field out[FINDINGS_MAX]);

/* ---- recording (inside a write) ---------------------------------------------------- */

struct finding_record {
	const char *subject_id;
	const char *source_id; /* the subject_sources row, or NULL (not_found) */
	enum category category;
	const char *field;
	enum finding_kind kind;
	const char *purpose; /* the query's purpose code, for the audit record */
	const char *actor;
	const char *request_id;
};

/* Insert the finding and its audit record (finding.record, object
 * "finding:<id>").  The new id in id.  Store and audit errors. */
SENIM_MUST_CHECK enum senim_result findings_record_in(struct store_tx *tx,
						      const struct keyring *kr,
						      const struct finding_record *f,
						      char id[FINDING_ID_LEN]);

/* ---- listing: GET /v1/subjects/{id}/findings ----------------------------------------- */

/*
 * A purpose-bound read: the subject's state and the access matrix decide
 * (access_decide); a finding of a category the purpose may not see is left
 * out.  findings_list_prepare() decides and reads in a read transaction;
 * findings_list_tx() appends the audit record (finding.list; "denied" with
 * a refusal).  SENIM_ERR_NOT_FOUND for an unknown subject.
 */
struct findings_list {
	/* in (strings must outlive the op) */
	const struct keyring *kr;
	const struct access_matrix *matrix;
	const char *actor, *request_id;
	enum role role;
	enum purpose purpose;
	const char *subject_id;
	/* out */
	json_t *out; /* {"findings": [{"id", "category", "field", "kind",
		      * "source_id", "created_at", "resolved_at", "resolved_by",
		      * "resolution"}, ...]} oldest first; the op owns it */
	struct access_refusal refused;
	/* private */
	uint32_t categories;
};
SENIM_MUST_CHECK enum senim_result findings_list_prepare(struct store *st,
							 struct findings_list *op);
SENIM_MUST_CHECK enum senim_result findings_list_tx(struct store_tx *tx, void *op);
void findings_list_dispose(void *op);

/* ---- resolving: POST /v1/subjects/{id}/findings/{finding_id}/resolve ------------------ */

/* 1 when `code` is a resolution: "declared_confirmed" (the borrower's
 * declaration stands), "declared_corrected" (the borrower corrected it),
 * "source_error" (the source is wrong), "escalated" (handed to security). */
int finding_resolution_valid(const char *code);

enum finding_resolve_status {
	FINDING_RESOLVED,
	FINDING_UNKNOWN,	  /* no such finding of this subject */
	FINDING_ALREADY_RESOLVED, /* resolved before: nothing changed */
};

struct finding_resolve {
	/* in */
	const struct keyring *kr;
	const struct access_matrix *matrix;
	const char *actor, *request_id;
	enum role role;
	enum purpose purpose;
	const char *subject_id, *finding_id;
	const char *resolution; /* finding_resolution_valid() */
	/* out */
	enum finding_resolve_status status;
	struct access_refusal refused; /* why != ACCESS_GRANTED: nothing changed */
};
/* Inside a write: resolve once, with its audit record (finding.resolve;
 * "unchanged" for a repeat, which changes nothing).  Resolving is judging
 * the subject's data, so it is decided as a read of the finding's category
 * is: access_decide (role, purpose, block, restriction, consents) and the
 * category among those the purpose may see (else category_withheld); a
 * refusal changes nothing and commits its record ("denied").
 * SENIM_ERR_NOT_FOUND for an unknown subject. */
SENIM_MUST_CHECK enum senim_result findings_resolve_tx(struct store_tx *tx, void *op);

#endif
