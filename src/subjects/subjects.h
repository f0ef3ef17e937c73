/*
 * subjects.h — borrowers' personal data: registration, purpose-bound reads
 * and writes by category, history, lookups, blocking and restriction
 * (D1-D7, U1-U10, R2-R4, S1, S3, S4).
 *
 * Every operation is one write transaction that checks access
 * (core/access.h) against the subject's current state, does the work and
 * appends its audit record — so a record is never written without its audit
 * record, and a block or restriction takes effect on the very next request.
 * A denial is audited too (outcome "denied") and returned as
 * SENIM_ERR_DENIED with the reason in *denied.
 *
 * Data is sealed per subject (vault.h); records are versioned: a write adds
 * version n+1 of a category and keeps every earlier one, with its source,
 * actor and time (R2).  Lookups use blind indexes of the normalised IIN,
 * mobile phone and e-mail.
 */
#ifndef SENIM_SUBJECTS_H
#define SENIM_SUBJECTS_H

#include <jansson.h>
#include <stdint.h>

#include "common/ids.h"
#include "common/result.h"
#include "core/access.h"
#include "core/contact.h"
#include "store/store.h"
#include "vault/keyring.h"

/* Who acts, why, and under which rules. */
struct subject_actor {
	const char *label; /* "staff:12" */
	const char *request_id;
	enum role role;
	enum purpose purpose;
	const struct access_matrix *matrix;
	const struct keyring *kr;
	/* Where to say which consent was missing on ACCESS_CONSENT_REQUIRED
	 * ("policy", "marketing"); may be NULL. */
	const char **missing_consent;
};

/* Where a version of a record came from. */
enum subject_source {
	SOURCE_BORROWER,
	SOURCE_STAFF,
	SOURCE_CREDIT_BUREAU,
	SOURCE_STATE_DATABASE,
	SOURCE_OPERATOR,
	SOURCE__COUNT
};
const char *subject_source_code(enum subject_source s);
int subject_source_parse(const char *code); /* -1 when unknown */

/* 1 when `id` has the form of a subject id (says nothing of existence). */
int subject_id_valid(const char *id);

/* A registration, validated and normalised by the caller. */
struct subject_registration {
	const char *iin;
	const char *phone; /* E.164 */
	const char *email; /* lower-case */
	json_t *identity;  /* identity fields, iin included */
	json_t *contact;   /* contact fields */
	enum subject_source source;
};

/*
 * A registration in three steps, for a caller that must not block while the
 * group commit gathers and syncs (the HTTP server, http_write_then):
 *   subjects_register_prepare() computes, without the store, the id, the
 *     data key, the sealed records and the blind indexes, and copies what
 *     the write needs (a's strings must outlive the op);
 *   subjects_register_tx is the write (store_write / store_write_async);
 *   subjects_register_finish(op, result, ...) turns the write's result into
 *     subjects_register()'s, and frees op.  Call it exactly once.
 */
struct subject_registration_op;
SENIM_MUST_CHECK int subjects_register_prepare(const struct subject_actor *a,
					       const struct subject_registration *reg,
					       struct subject_registration_op **op);
enum senim_result subjects_register_tx(struct store_tx *tx, void *op);
SENIM_MUST_CHECK int subjects_register_finish(struct subject_registration_op *op,
					      int result, char id[SUBJECT_ID_LEN],
					      enum access_result *denied);

/* Register; id gets the new subject's id.  SENIM_ERR_CONFLICT when the IIN
 * is registered already (nothing about that subject is revealed). */
SENIM_MUST_CHECK int subjects_register(struct store *st, const struct subject_actor *a,
				       const struct subject_registration *reg,
				       char id[SUBJECT_ID_LEN],
				       enum access_result *denied);

/*
 * Read the newest version of each category in `wanted` (a CATEGORY_BIT
 * mask) that the purpose may see.  *out gets {"<category>": {"version",
 * "source", "updated_at", "fields"}, ...}; *withheld the wanted categories
 * the purpose may not see.  SENIM_ERR_NOT_FOUND for an unknown subject.
 */
SENIM_MUST_CHECK int subjects_read(struct store *st, const struct subject_actor *a,
				   const char *subject_id, uint32_t wanted, json_t **out,
				   uint32_t *withheld, enum access_result *denied);

/*
 * subjects_read() in three steps, for a caller that must not block on the
 * group commit (http_write_then): subjects_read_prepare() decides and
 * decrypts in a read transaction (an error, e.g. SENIM_ERR_NOT_FOUND, ends
 * the read there, with no op); subjects_read_audit_tx writes the access's
 * audit record; subjects_read_finish(op, result, ...) hands out the data only
 * when that record is durable (result SENIM_OK), answers as subjects_read()
 * would, and frees op.  a's strings and subject_id must outlive the op.
 */
struct subject_read_op;
SENIM_MUST_CHECK int subjects_read_prepare(struct store *st,
					   const struct subject_actor *a,
					   const char *subject_id, uint32_t wanted,
					   struct subject_read_op **op);
/* The same for subjects_self_read(): every category, audited as the
 * borrower's own access. */
SENIM_MUST_CHECK int subjects_self_read_prepare(struct store *st,
						const struct subject_actor *a,
						const char *subject_id,
						struct subject_read_op **op);
enum senim_result subjects_read_audit_tx(struct store_tx *tx, void *op);
SENIM_MUST_CHECK int subjects_read_finish(struct subject_read_op *op, int result,
					  json_t **out, uint32_t *withheld,
					  enum access_result *denied);

/* R1: the borrower's own data, every category, newest versions; audited as
 * the borrower's access (purpose legal_obligation: the right of access). */
SENIM_MUST_CHECK int subjects_self_read(struct store *st, const struct subject_actor *a,
					const char *subject_id, json_t **out);

/*
 * Changes to a subject, each with its audit record, in three steps so that
 * a caller need not block on the group commit (http_write_then): a
 * *_prepare() function builds the op (only SENIM_ERR_NOMEM can fail);
 * subjects_change_tx makes the change in a write batch; and
 * subjects_change_finish(op, result, &version, &out, &denied) gives the
 * outcome once the batch is durable (version, out and denied may be NULL;
 * out is for the reads below) and frees op.
 * a's strings, subject_id, fields, phone, email and reason must outlive op.
 *
 * subjects_write_prepare: a new version of a category (fields already
 * validated); version gets its number.  The purpose must be allowed the
 * category (else SENIM_ERR_DENIED and why in denied).  A contact write
 * re-indexes the phone and e-mail; phone/email may be NULL when absent.
 *
 * subjects_block_prepare (R3): block (1) or unblock (0), with a reason
 * code.  subjects_restriction_prepare (R4): restrict to a PURPOSE_BIT mask
 * (restrict_ = 1) or lift the restriction (0).  These are the DPO's acts:
 * they need no purpose grant beyond the route's role, and work on blocked
 * subjects.
 */
struct subject_change_op;
SENIM_MUST_CHECK int subjects_write_prepare(const struct subject_actor *a,
					    const char *subject_id, enum category c,
					    enum subject_source source, json_t *fields,
					    const char *phone, const char *email,
					    struct subject_change_op **op);
SENIM_MUST_CHECK int subjects_block_prepare(const struct subject_actor *a,
					    const char *subject_id, int blocked,
					    const char *reason,
					    struct subject_change_op **op);
SENIM_MUST_CHECK int subjects_restriction_prepare(const struct subject_actor *a,
						  const char *subject_id, int restrict_,
						  uint32_t allowed_purposes,
						  struct subject_change_op **op);
/*
 * The same three steps for the reads that are decided, read and audited in
 * one write job, for a caller that must not block on the group commit:
 *
 * subjects_history_prepare: every version of one category, newest first;
 * subjects_change_finish's out gets [{"version", "source", "actor",
 * "updated_at", "fields"}, ...].  SENIM_ERR_DENIED with ACCESS_GRANTED in
 * denied when the purpose may not see the category.
 *
 * subjects_search_prepare: the subjects whose normalised IIN, phone or
 * e-mail (kind "iin", "phone", "email") is `value`; out gets a JSON array
 * of the ids the caller may see.  value is copied into the op and wiped
 * with it.
 */
SENIM_MUST_CHECK int subjects_history_prepare(const struct subject_actor *a,
					      const char *subject_id, enum category c,
					      struct subject_change_op **op);
SENIM_MUST_CHECK int subjects_search_prepare(const struct subject_actor *a,
					     const char *kind, const char *value,
					     struct subject_change_op **op);

/* The same three steps for the DPO's look at a subject's block and
 * restriction (GET .../protection): it changes nothing, but it is an access
 * and leaves its record; SENIM_ERR_NOT_FOUND for an unknown subject. */
SENIM_MUST_CHECK int subjects_protection_read_prepare(const struct subject_actor *a,
						      const char *subject_id,
						      struct subject_change_op **op);
enum senim_result subjects_change_tx(struct store_tx *tx, void *op);
SENIM_MUST_CHECK int subjects_change_finish(struct subject_change_op *op, int result,
					    int64_t *version, json_t **out,
					    enum access_result *denied);

/*
 * For the procedures that change the sign-in phone (borrower/phone.h),
 * inside their write transaction:
 *
 * subjects_decide_write_tx: may a, for its purpose, write category c of
 * subject_id (state, consent, role and purpose, direction)?  *denied gets
 * ACCESS_GRANTED or why not; a refusal writes its audit record under
 * `operation` (outcome "denied").  SENIM_ERR_NOT_FOUND for an unknown
 * subject.
 *
 * subjects_set_phone_tx: make `phone` (E.164) the subject's sign-in phone:
 * a new version of the contact record with phone_mobile replaced, and the
 * phone's blind index moved.  old gets the phone it replaces ("" when the
 * record held none) — personal data: the caller wipes it.  Writes no audit
 * record (the procedure writes its own) and makes no access decision.
 * SENIM_ERR_CONFLICT when `phone` is the current phone already.
 */
SENIM_MUST_CHECK int subjects_decide_write_tx(struct store_tx *tx,
					      const struct subject_actor *a,
					      const char *subject_id, enum category c,
					      const char *operation,
					      enum access_result *denied);
SENIM_MUST_CHECK int subjects_set_phone_tx(struct store_tx *tx,
					   const struct subject_actor *a,
					   const char *subject_id,
					   enum subject_source source, const char *phone,
					   char old[PHONE_E164_LEN]);
/* Inside a transaction: the subject's current sign-in phone (E.164) into
 * out, "" when none; SENIM_ERR_NOT_FOUND for an unknown subject. */
SENIM_MUST_CHECK int subjects_phone_tx(struct store_tx *tx, const struct keyring *kr,
				       const char *subject_id, char out[PHONE_E164_LEN]);

/* The subject's state, for the DPO's view. */
SENIM_MUST_CHECK int subjects_state(struct store *st, const char *subject_id,
				    struct subject_state *out, char *reason,
				    size_t reason_len);

#endif
