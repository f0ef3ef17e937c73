/*
 * subjects.h — borrowers' personal data: registration, purpose-bound reads
 * and writes by category, history, lookups, blocking and restriction
 * (D1-D7, U1-U10, R2-R4, S1, S3, S4).
 *
 * Every operation checks access (core/access.h) against the subject's
 * current state and appends its audit record in the same write transaction
 * as its work — so a record is never written without its audit record, no
 * personal data leaves before the record of its access is durable, and a
 * block or restriction takes effect on the very next request.  A refusal is
 * on record too (outcome "denied").
 *
 * Data is sealed per subject (vault.h); records are versioned: a write adds
 * version n+1 of a category and keeps every earlier one, with its source,
 * actor and time (R2).  Lookups use blind indexes of the normalised IIN,
 * mobile phone and e-mail.
 *
 * ---- The shape of an operation ----------------------------------------------
 *
 * An operation is one struct below and at most two functions:
 *   - a preparation outside the writer (subjects_read_fetch,
 *     subjects_register_seal), for what is slow or can run concurrently
 *     with other requests: decrypting, sealing, deciding.  An error ends
 *     the operation there, with nothing written;
 *   - a job inside the write transaction, a store_fn (subjects_X_tx, or
 *     subjects_read_record for a read that only records): it decides
 *     against the state it reads, does the work and appends the audit
 *     record.  It sets its outputs afresh each time it runs.
 *
 * The caller allocates the op zeroed — a handler from the request's arena,
 * with the op's dispose function when it has one, so that whatever the op
 * owns is wiped and freed once, when the request is done, on whatever
 * thread — fills the "in" fields and hands the job to the writer with the
 * op as its context: store_write(st, subjects_X_tx, op) on the command
 * line, http_write_then(req, subjects_X_tx, op, answer) in the server.  The
 * "out" fields are read only once that write returned SENIM_OK: then the
 * record of the access is durable.  The op's dispose function (named after
 * its struct: subject_read_dispose for struct subject_read) frees and wipes
 * what the op owns, never the op's memory; it is safe on an op never
 * prepared or never written.
 *
 * A refusal is no error inside the write: the job appends its "denied"
 * record and returns SENIM_OK so that record commits; op->refused.why then
 * says why (ACCESS_GRANTED when nothing was refused), with the missing
 * consent on ACCESS_CONSENT_REQUIRED.  The answer is api_reply_refusal()'s
 * (api/refusal.h).  An unknown subject is SENIM_ERR_NOT_FOUND, found before
 * any decision and never recorded.
 *
 * The worked example, a read, in outline (api/subjects.c's answer says
 * more: the withheld categories, a missing record):
 *
 *	static enum senim_result answer(struct http_request *req,
 *					struct http_response *resp,
 *					enum senim_result result, void *ctx)
 *	{
 *		struct subject_read *op = ctx;
 *		if (result)		// the record is not durable: no data
 *			return result;
 *		if (op->refused.why != ACCESS_GRANTED)
 *			return api_reply_refusal(req, resp, &op->refused);
 *		return http_reply_json(resp, 200, json_incref(op->out));
 *	}
 *
 *	struct subject_read *op = arena_alloc_disposable(
 *		&req->arena, sizeof(*op), subject_read_dispose);
 *	if (!op)
 *		return SENIM_ERR_NOMEM;
 *	op->actor = (struct subject_actor){ ... };
 *	op->subject_id = id;
 *	op->wanted = CATEGORY_BIT(CATEGORY_IDENTITY);
 *	enum senim_result err = subjects_read_fetch(req->app->store, op);
 *	if (err)			// e.g. SENIM_ERR_NOT_FOUND
 *		return answer(req, resp, err, op);
 *	return http_write_then(req, subjects_read_record, op, answer);
 *
 * subjects_read_fetch decides and decrypts in a read transaction on the
 * worker; subjects_read_record appends the audit record in the writer's
 * batch; answer runs on a worker once the batch is durable (or failed);
 * subject_read_dispose wipes op->out when the request is done, whether the
 * answer took it or not.
 */
#ifndef SENIM_SUBJECTS_H
#define SENIM_SUBJECTS_H

#include <jansson.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/ids.h"
#include "common/result.h"
#include "core/access.h"
#include "core/contact.h"
#include "store/store.h"
#include "vault/keyring.h"
#include "vault/vault.h"

/* ---- who acts, and ids ----------------------------------------------------- */

/* Who acts, why, and under which rules.  The strings must outlive the op
 * that holds the actor (they are the request's). */
struct subject_actor {
	const char *label; /* "staff:12", "borrower:sbj_..." */
	const char *request_id;
	enum role role;
	enum purpose purpose;
	const struct access_matrix *matrix;
	const struct keyring *kr;
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

/* ---- registering ------------------------------------------------------------ */

/*
 * A registration, validated and normalised by the caller.  The purpose must
 * see and write both identity and contact.  Sealing (the new id, a fresh
 * data key, the two version-1 records, the blind indexes) happens before the
 * write, so the writer only inserts.  C4/D8: one borrower, one record — an
 * IIN registered already is refused with `exists` set, audited as
 * "conflict" naming the record it ran into; the answer reveals nothing
 * about it.
 */
struct subject_registration {
	/* in */
	struct subject_actor actor;
	/* in, read by subjects_register_seal only (the caller keeps and frees
	 * them; they need not outlive the seal) */
	const char *iin;
	const char *phone; /* E.164, or NULL */
	const char *email; /* lower-case, or NULL */
	json_t *identity;  /* identity fields, iin included */
	json_t *contact;   /* contact fields */
	/* in */
	enum subject_source source;
	/* out */
	char id[SUBJECT_ID_LEN];       /* the new subject's id */
	int exists;		       /* the IIN is registered already */
	struct access_refusal refused; /* why not, when the purpose may not */
	/* private, between the two steps */
	int has_phone, has_email;
	struct buf wrapped; /* the data key, wrapped */
	uint32_t kek_version;
	struct buf sealed_identity, sealed_contact;
	unsigned char iin_digest[VAULT_INDEX_BYTES], phone_digest[VAULT_INDEX_BYTES],
		email_digest[VAULT_INDEX_BYTES];
};

/* Compute, without the store, the id, the data key, the sealed records and
 * the blind indexes.  SENIM_ERR_NOMEM, or a vault error. */
SENIM_MUST_CHECK enum senim_result
subjects_register_seal(struct subject_registration *op);
/* Decide and insert the subject, its key, records and indexes, with
 * `subject.register`'s record. */
SENIM_MUST_CHECK enum senim_result subjects_register_tx(struct store_tx *tx, void *op);
void subject_registration_dispose(void *op);

/* ---- reading (D1-D7, R1) ------------------------------------------------------ */

/*
 * A read of the newest version of each category in `wanted` that the
 * purpose may see, audited as `subject.read` with the categories returned
 * (outcome "denied" when none of those wanted may be seen).  The decision is
 * the one taken by the fetch: a block committed between fetch and record
 * counts from the next request.  wanted 0 reads nothing and only decides and
 * records the access (the staff view of the consents, api/me.c).
 *
 * R1, self: the borrower's own data, every category, whatever the matrices,
 * blocks and restrictions say; audited as `subject.self_read` (the actor's
 * purpose should be legal_obligation: the right of access).
 */
struct subject_read {
	/* in */
	struct subject_actor actor;
	const char *subject_id; /* must outlive the op */
	uint32_t wanted;	/* CATEGORY_BIT mask */
	int self;		/* R1 */
	/* out */
	json_t *out;	   /* {"<category>": {"version", "source", "updated_at",
		      * "fields"}, ...}, the categories found; NULL when refused.
		      * Owned by the op: json_incref it to keep it */
	uint32_t withheld; /* wanted categories the purpose may not see */
	struct access_refusal refused; /* why not */
	/* private, between the two steps */
	uint32_t returned; /* the categories out holds, for the record */
};

/* Decide and decrypt in a read transaction; writes nothing.  A refusal is
 * not an error here: the record writes it.  SENIM_ERR_NOT_FOUND for an
 * unknown subject (the read ends there, unrecorded). */
SENIM_MUST_CHECK enum senim_result subjects_read_fetch(struct store *st,
						       struct subject_read *op);
/* Inside the writer's batch: the read's audit record. */
SENIM_MUST_CHECK enum senim_result subjects_read_record(struct store_tx *tx, void *op);
void subject_read_dispose(void *op);

/*
 * Every version of one category, newest first, decided, decrypted and
 * audited (`subject.history`) in the write.  A category the purpose may not
 * see is refused as ACCESS_CATEGORY_WITHHELD.
 */
struct subject_history {
	/* in */
	struct subject_actor actor;
	const char *subject_id; /* must outlive the op */
	enum category category;
	/* out */
	json_t *out; /* [{"version", "source", "actor", "updated_at", "fields"},
		      * ...]; owned by the op */
	struct access_refusal refused;
};

SENIM_MUST_CHECK enum senim_result subjects_history_tx(struct store_tx *tx, void *op);
void subject_history_dispose(void *op);

/* ---- writing (R2) --------------------------------------------------------------- */

/*
 * A new version of a category: a merge patch on the newest version (RFC
 * 7386 style: fields given replace, null removes, the rest is kept), sealed
 * under the subject's data key, audited as `subject.write`.  The purpose
 * must see the category (else ACCESS_CATEGORY_WITHHELD) and may write it
 * (else ACCESS_PURPOSE_READ_ONLY).  A contact write re-indexes the e-mail.
 * U4, S1: the mobile phone is the sign-in factor: a write that would change
 * it is refused with phone_refused set (audited "denied"); only the
 * phone-change procedures (borrower/phone.h) change it.
 */
struct subject_write {
	/* in */
	struct subject_actor actor;
	const char *subject_id; /* must outlive the op */
	enum category category;
	enum subject_source source;
	json_t *fields; /* checked by the caller (api/subject_fields.h); a
			 * reference of the op's own, dropped by dispose */
	/* out */
	int64_t version; /* the new version's number */
	struct access_refusal refused;
	int phone_refused; /* U4: the write would change phone_mobile */
};

SENIM_MUST_CHECK enum senim_result subjects_write_tx(struct store_tx *tx, void *op);
void subject_write_dispose(void *op);

/* ---- lookups --------------------------------------------------------------------- */

/*
 * The subjects whose normalised IIN, phone or e-mail is `value`.  The
 * purpose must see the key's category (identity for an IIN, contact
 * otherwise); a subject whose state refuses the purpose (blocked,
 * restricted, no consent) is not found.  Audited as `subject.search`: one
 * record per subject found, or one "not_found".
 */
struct subject_search {
	/* in */
	struct subject_actor actor;
	const char *kind;	   /* "iin", "phone", "email" (static) */
	char value[EMAIL_MAX + 1]; /* the key, normalised: personal data, wiped
				    * by dispose */
	/* out */
	json_t *out; /* ["sbj_...", ...], at most 16; owned by the op */
	struct access_refusal refused;
};

SENIM_MUST_CHECK enum senim_result subjects_search_tx(struct store_tx *tx, void *op);
void subject_search_dispose(void *op);

/* ---- blocking and restriction (R3, R4) -------------------------------------------- */

/*
 * The DPO's acts on a subject's protection, and the DPO's look at it.  They
 * need no purpose grant beyond the route's role and work on blocked
 * subjects; each is audited (`subject.block`, `subject.unblock`,
 * `subject.restrict`, `subject.unrestrict`, `subject.protection_read`).
 * Each answers with the protection as it stands after the act, read in the
 * same transaction.  These ops own nothing: no dispose.
 */
#define SUBJECT_BLOCK_REASON_MAX 32

/* R3: block (with a reason code) or unblock. */
struct subject_block {
	/* in */
	struct subject_actor actor;
	const char *subject_id; /* must outlive the op */
	int block;		/* 1 block, 0 unblock */
	const char *reason;	/* with block: a reason code; must outlive the op */
	/* out */
	struct subject_state state; /* blocked, restricted, allowed_purposes */
	char block_reason[SUBJECT_BLOCK_REASON_MAX]; /* "" when not blocked */
};

SENIM_MUST_CHECK enum senim_result subjects_block_tx(struct store_tx *tx, void *op);

/* R4: restrict to a PURPOSE_BIT mask (legal_obligation is always allowed), or
 * lift the restriction. */
struct subject_restriction {
	/* in */
	struct subject_actor actor;
	const char *subject_id; /* must outlive the op */
	int restrict_;		/* 1 restrict, 0 lift */
	uint32_t allowed_purposes;
	/* out */
	struct subject_state state;
	char block_reason[SUBJECT_BLOCK_REASON_MAX];
};

SENIM_MUST_CHECK enum senim_result subjects_restriction_tx(struct store_tx *tx, void *op);

/* The DPO's look at a subject's block and restriction: it changes nothing,
 * but it is an access and leaves its record. */
struct subject_protection {
	/* in */
	struct subject_actor actor;
	const char *subject_id; /* must outlive the op */
	/* out */
	struct subject_state state;
	char block_reason[SUBJECT_BLOCK_REASON_MAX];
};

SENIM_MUST_CHECK enum senim_result subjects_protection_tx(struct store_tx *tx, void *op);

/*
 * Inside a transaction: the registered subject whose IIN is iin[0..len)
 * (found by its blind index; the IIN is the caller's, already checked) into
 * out.  SENIM_ERR_NOT_FOUND when nobody registered it.  The one lookup the
 * CSV imports (bureau events, portfolios) share.
 */
SENIM_MUST_CHECK enum senim_result subjects_find_by_iin(struct store_tx *tx,
							const struct keyring *kr,
							const char *iin, size_t len,
							char out[SUBJECT_ID_LEN]);

/* ---- for the exchange (exchange/transfer.h) ----------------------------------------- */

/*
 * Inside a transaction: the subject's block, restriction and active
 * consents (with what an open obligation still grounds), as every access
 * decision sees them.  SENIM_ERR_NOT_FOUND for an unknown subject.
 */
SENIM_MUST_CHECK enum senim_result subjects_state_in(struct store_tx *tx, const char *id,
						     struct subject_state *s);

/*
 * Inside a transaction, with the subject's data key: the fields of the
 * newest version of category c, decrypted (caller decrefs; its strings are
 * personal data: the caller wipes what it copies).  *fields NULL when the
 * subject has no record of c.  No access decision and no audit record: the
 * caller has decided (exchange_decide) and records the disclosure.
 */
SENIM_MUST_CHECK enum senim_result
subjects_latest_fields_in(struct store_tx *tx, const struct vault_dek *dek,
			  const char *id, enum category c, json_t **fields);

/* ---- the sign-in phone, for borrower/phone.h ------------------------------------- */

/*
 * Inside the phone-change procedures' write transaction:
 *
 * subjects_decide_write_tx: may a, for its purpose, write category c of
 * subject_id (state, consent, role and purpose, direction)?  r->why gets
 * ACCESS_GRANTED or why not; a refusal appends its audit record under
 * `operation` (outcome "denied") and returns SENIM_OK, so it commits.
 * SENIM_ERR_NOT_FOUND for an unknown subject.
 *
 * subjects_set_phone_tx: make `phone` (E.164) the subject's sign-in phone:
 * a new version of the contact record with phone_mobile replaced, and the
 * phone's blind index moved.  old gets the phone it replaces ("" when the
 * record held none) — personal data: the caller wipes it.  Writes no audit
 * record (the procedure writes its own) and makes no access decision.
 * SENIM_ERR_CONFLICT when `phone` is the current phone already.
 *
 * subjects_phone_tx: the subject's current sign-in phone (E.164) into out,
 * "" when none; SENIM_ERR_NOT_FOUND for an unknown subject.
 */
SENIM_MUST_CHECK enum senim_result
subjects_decide_write_tx(struct store_tx *tx, const struct subject_actor *a,
			 const char *subject_id, enum category c, const char *operation,
			 struct access_refusal *r);
SENIM_MUST_CHECK enum senim_result
subjects_set_phone_tx(struct store_tx *tx, const struct subject_actor *a,
		      const char *subject_id, enum subject_source source,
		      const char *phone, char old[PHONE_E164_LEN]);
SENIM_MUST_CHECK enum senim_result subjects_phone_tx(struct store_tx *tx,
						     const struct keyring *kr,
						     const char *subject_id,
						     char out[PHONE_E164_LEN]);

#endif
