/*
 * phone.c — the procedures that change a borrower's sign-in phone (phone.h).
 *
 * Each step is one write transaction: decide, check the pending change,
 * act, append the audit record.  Refusals are answers, not errors: their
 * records commit and op->refusal says which problem to answer.
 */
#include "borrower/phone.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "audit/audit.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/ids.h"
#include "vault/vault.h"
#include "common/banned.h"

#define CODE_HASH_BYTES 32

/* One record of the procedure; object "phone_change:<id>" once there is a
 * change, else "subject:<id>". */
static enum senim_result audit(struct store_tx *tx, const struct phone_change *op,
			       const char *operation, const char *outcome)
{
	char object[64];
	if (op->change_id[0])
		snprintf(object, sizeof(object), "phone_change:%s", op->change_id);
	else
		snprintf(object, sizeof(object), "subject:%s", op->subject_id);
	struct audit_record rec = { .actor = op->actor.label,
				    .operation = operation,
				    .object = object,
				    .subject_id = op->subject_id,
				    .categories = "contact",
				    .purpose = purpose_code(op->actor.purpose),
				    .outcome = outcome,
				    .request_id = op->actor.request_id };
	return audit_append(tx, op->actor.kr, &rec);
}

/* A refusal: its record, and the problem to answer. */
static enum senim_result refuse(struct store_tx *tx, struct phone_change *op,
				const char *operation, enum phone_refusal why)
{
	op->refusal = why;
	return audit(tx, op, operation, "denied");
}

/* Keyed hash of a change's code: bound to the change and to which number
 * it went, so neither code confirms for the other. */
static void code_hash(const struct keyring *kr, const char *change_id, const char *which,
		      const char *code, unsigned char out[CODE_HASH_BYTES])
{
	char msg[96];
	int n = snprintf(msg, sizeof(msg), "phone-change:%s:%s:%s", change_id, which,
			 code);
	keyring_blind_index(kr, msg, (size_t)n, out);
	sodium_memzero(msg, sizeof(msg));
}

/* Supersede the subject's pending changes of this kind (a newer one wins). */
static enum senim_result supersede(struct store_tx *tx, const char *subject_id,
				   const char *kind)
{
	return store_exec(
		tx,
		"UPDATE phone_changes SET status = 'superseded' WHERE subject_id"
		" = $1 AND kind = $2 AND status = 'pending'",
		(struct store_val[]){ SV_TEXT(subject_id), SV_TEXT(kind) }, 2, NULL);
}

/* Insert a pending change of `kind` for op->new_phone, sealed. */
static enum senim_result insert_change(struct store_tx *tx, struct phone_change *op,
				       const char *kind, int64_t lifetime_s,
				       const unsigned char *old_hash,
				       const unsigned char *new_hash)
{
	int64_t now = clock_now_us();
	if (!op->change_id[0])
		id_time_ordered(op->change_id, "pch_", now / 1000);
	op->expires_at = now + lifetime_s * INT64_C(1000000);
	unsigned char digest[VAULT_INDEX_BYTES];
	vault_blind_index(op->actor.kr, "phone", op->new_phone, strlen(op->new_phone),
			  digest);
	struct vault_dek *dek = NULL;
	struct buf sealed;
	buf_init(&sealed, 4096);
	enum senim_result err = vault_dek_load(tx, op->actor.kr, op->subject_id, &dek);
	if (err)
		goto fail;
	/* Sealed with the subject's key and bound to this change's id: shredding
	 * the subject shreds it too, and it opens for no other row. */
	err = vault_seal_blob(dek, op->subject_id, "contact", op->change_id, 0,
			      op->new_phone, strlen(op->new_phone), &sealed);
	if (err)
		goto fail;
	err = supersede(tx, op->subject_id, kind);
	if (err)
		goto fail;
	struct store_val none = SV_NULL();
	err = store_exec(
		tx,
		"INSERT INTO phone_changes (id, subject_id, kind, status,"
		" new_phone_sealed, new_phone_digest, identity_check, "
		"proposed_by,"
		" proposed_role, created_at, expires_at, old_code_hash,"
		" new_code_hash) VALUES ($1, $2, $3, 'pending', $4, $5, $6, $7, "
		"$8,"
		" $9, $10, $11, $12)",
		(struct store_val[]){
			SV_TEXT(op->change_id), SV_TEXT(op->subject_id), SV_TEXT(kind),
			SV_BLOB(sealed.data, sealed.len), SV_BLOB(digest, sizeof(digest)),
			op->identity_check ? SV_TEXT(op->identity_check) : none,
			SV_TEXT(op->actor.label),
			strcmp(kind, "staff") == 0 ? SV_TEXT(role_name(op->actor.role))
						   : none,
			SV_INT(now), SV_INT(op->expires_at),
			old_hash ? SV_BLOB(old_hash, CODE_HASH_BYTES) : none,
			new_hash ? SV_BLOB(new_hash, CODE_HASH_BYTES) : none },
		12, NULL);
fail:
	vault_dek_free(dek);
	buf_release(&sealed);
	return err;
}

/* A pending change as read back. */
struct pending {
	int found;
	char kind[16], status[16], proposed_by[64], role[24];
	int64_t expires_at, attempts;
	unsigned char old_hash[CODE_HASH_BYTES], new_hash[CODE_HASH_BYTES];
	int has_hashes;
};

static void copy_text(struct store_rows *r, int col, char *out, size_t cap)
{
	size_t len = 0;
	const char *t = store_rows_is_null(r, col) ? "" : store_rows_text(r, col, &len);
	if (len >= cap)
		len = cap - 1;
	memcpy(out, t, len);
	out[len] = '\0';
}

/* Load op->change_id of op->subject_id (p->found 0 when there is none), and
 * open its new phone into op->new_phone. */
static enum senim_result load_change(struct store_tx *tx, struct phone_change *op,
				     struct pending *p)
{
	struct store_rows *r = NULL;
	struct vault_dek *dek = NULL;
	struct buf phone;
	buf_init(&phone, PHONE_E164_LEN);
	memset(p, 0, sizeof(*p));
	enum senim_result err = store_query_one(
		tx,
		"SELECT kind, status, proposed_by, proposed_role, expires_at, attempts,"
		" old_code_hash, new_code_hash, new_phone_sealed FROM phone_changes"
		" WHERE subject_id = $1 AND id = $2",
		(struct store_val[]){ SV_TEXT(op->subject_id), SV_TEXT(op->change_id) },
		2, &r);
	if (err == SENIM_ERR_NOT_FOUND) {
		err = SENIM_OK;
		goto fail;
	}
	if (err)
		goto fail;
	p->found = 1;
	copy_text(r, 0, p->kind, sizeof(p->kind));
	copy_text(r, 1, p->status, sizeof(p->status));
	copy_text(r, 2, p->proposed_by, sizeof(p->proposed_by));
	copy_text(r, 3, p->role, sizeof(p->role));
	p->expires_at = store_rows_int(r, 4);
	p->attempts = store_rows_int(r, 5);
	size_t a = 0, b = 0, n = 0;
	if (!store_rows_is_null(r, 6) && !store_rows_is_null(r, 7)) {
		const void *ha = store_rows_blob(r, 6, &a);
		const void *hb = store_rows_blob(r, 7, &b);
		if (a == CODE_HASH_BYTES && b == CODE_HASH_BYTES) {
			memcpy(p->old_hash, ha, a);
			memcpy(p->new_hash, hb, b);
			p->has_hashes = 1;
		}
	}
	const void *sealed = store_rows_blob(r, 8, &n);
	err = vault_dek_load(tx, op->actor.kr, op->subject_id, &dek);
	if (err)
		goto fail;
	err = vault_open_blob(dek, op->subject_id, "contact", op->change_id, 0, sealed, n,
			      &phone);
	if (err)
		goto fail;
	err = SENIM_ERR_CRYPTO;
	if (phone.len >= PHONE_E164_LEN)
		goto fail;
	memcpy(op->new_phone, phone.data, phone.len + 1);
	err = SENIM_OK;
fail:
	vault_dek_free(dek);
	buf_release_wiped(&phone);
	store_rows_free(r);
	return err;
}

/* Apply: the new phone, the sessions revoked, the change marked applied,
 * and its record. */
static enum senim_result apply(struct store_tx *tx, struct phone_change *op,
			       enum subject_source source, const char *keep_token)
{
	enum senim_result err = subjects_set_phone_tx(
		tx, &op->actor, op->subject_id, source, op->new_phone, op->old_phone);
	if (err == SENIM_ERR_CONFLICT) { /* the number is the current one already */
		op->refusal = PHONE_REFUSED_UNCHANGED;
		return audit(tx, op, "subject.phone_change", "denied");
	}
	if (err)
		return err;
	err = borrower_revoke_sessions_tx(tx, op->subject_id, keep_token, &op->revoked);
	if (err)
		return err;
	err = store_exec(
		tx,
		"UPDATE phone_changes SET status = 'applied', decided_by = $3,"
		" decided_at = $4 WHERE subject_id = $1 AND id = $2",
		(struct store_val[]){ SV_TEXT(op->subject_id), SV_TEXT(op->change_id),
				      SV_TEXT(op->actor.label), SV_INT(clock_now_us()) },
		4, NULL);
	if (err)
		return err;
	/* Whatever else was pending was asked about the old phone: void now. */
	err = store_exec(
		tx,
		"UPDATE phone_changes SET status = 'superseded' WHERE"
		" subject_id = $1 AND status = 'pending' AND id <> $2",
		(struct store_val[]){ SV_TEXT(op->subject_id), SV_TEXT(op->change_id) },
		2, NULL);
	if (err)
		return err;
	err = audit(tx, op, "subject.phone_change", "success");
	if (err)
		return err;
	op->applied = 1;
	return SENIM_OK;
}

/* The subject's current phone into op->old_phone; refuses the same number. */
static enum senim_result not_current(struct store_tx *tx, struct phone_change *op,
				     const char *operation, int *same)
{
	*same = 0;
	enum senim_result err =
		subjects_phone_tx(tx, op->actor.kr, op->subject_id, op->old_phone);
	if (err)
		return err;
	*same = strcmp(op->old_phone, op->new_phone) == 0;
	return *same ? refuse(tx, op, operation, PHONE_REFUSED_UNCHANGED) : SENIM_OK;
}

static enum senim_result propose_tx(struct store_tx *tx, struct phone_change *op)
{
	const char *name = "subject.phone_change_propose";
	enum senim_result err = subjects_decide_write_tx(
		tx, &op->actor, op->subject_id, CATEGORY_CONTACT, name, &op->refused);
	if (err)
		return err;
	if (op->refused.why != ACCESS_GRANTED) {
		op->refusal = PHONE_REFUSED_ACCESS; /* its record is written */
		return SENIM_OK;
	}
	int same = 0;
	err = not_current(tx, op, name, &same);
	sodium_memzero(op->old_phone, sizeof(op->old_phone)); /* not needed */
	if (err || same)
		return err;
	err = insert_change(tx, op, "staff", PHONE_CHANGE_STAFF_SECONDS, NULL, NULL);
	if (err)
		return err;
	return audit(tx, op, name, "success");
}

static enum senim_result approve_tx(struct store_tx *tx, struct phone_change *op)
{
	const char *name = "subject.phone_change_approve";
	enum senim_result err = subjects_decide_write_tx(
		tx, &op->actor, op->subject_id, CATEGORY_CONTACT, name, &op->refused);
	if (err)
		return err;
	if (op->refused.why != ACCESS_GRANTED) {
		op->refusal = PHONE_REFUSED_ACCESS; /* its record is written */
		return SENIM_OK;
	}
	struct pending p;
	err = load_change(tx, op, &p);
	if (err)
		return err;
	if (!p.found || strcmp(p.kind, "staff") != 0)
		return refuse(tx, op, name, PHONE_REFUSED_NOT_FOUND);
	if (strcmp(p.status, "pending") != 0)
		return refuse(tx, op, name, PHONE_REFUSED_NOT_PENDING);
	if (p.expires_at <= clock_now_us())
		return refuse(tx, op, name, PHONE_REFUSED_EXPIRED);
	/* Four eyes: never the proposer, and never the proposer's role. */
	if (strcmp(p.proposed_by, op->actor.label) == 0)
		return refuse(tx, op, name, PHONE_REFUSED_SELF_APPROVAL);
	if (strcmp(p.role, role_name(op->actor.role)) == 0) {
		memcpy(op->role_buf, p.role, sizeof(op->role_buf));
		op->proposer_role = op->role_buf;
		return refuse(tx, op, name, PHONE_REFUSED_SAME_ROLE);
	}
	err = audit(tx, op, name, "success");
	if (err)
		return err;
	return apply(tx, op, SOURCE_STAFF, NULL);
}

static enum senim_result start_tx(struct store_tx *tx, struct phone_change *op)
{
	const char *name = "subject.phone_change_start";
	int same = 0;
	enum senim_result err = not_current(tx, op, name, &same);
	if (err || same)
		return err;
	borrower_otp_new_code(op->code_old);
	borrower_otp_new_code(op->code_new);
	/* The codes' hashes bind to the change's id: it is made first. */
	id_time_ordered(op->change_id, "pch_", clock_now_us() / 1000);
	unsigned char ho[CODE_HASH_BYTES], hn[CODE_HASH_BYTES];
	code_hash(op->actor.kr, op->change_id, "old", op->code_old, ho);
	code_hash(op->actor.kr, op->change_id, "new", op->code_new, hn);
	err = insert_change(tx, op, "borrower", BORROWER_OTP_SECONDS, ho, hn);
	sodium_memzero(ho, sizeof(ho));
	sodium_memzero(hn, sizeof(hn));
	if (err)
		return err;
	return audit(tx, op, name, "success");
}

static enum senim_result confirm_tx(struct store_tx *tx, struct phone_change *op)
{
	const char *name = "subject.phone_change_confirm";
	struct pending p;
	enum senim_result err = load_change(tx, op, &p);
	if (err)
		return err;
	if (!p.found || strcmp(p.kind, "borrower") != 0)
		return refuse(tx, op, name, PHONE_REFUSED_NOT_FOUND);
	if (strcmp(p.status, "pending") != 0)
		return refuse(tx, op, name, PHONE_REFUSED_NOT_PENDING);
	int usable = p.has_hashes && p.expires_at > clock_now_us() &&
		     p.attempts < PHONE_CHANGE_ATTEMPTS;
	unsigned char ho[CODE_HASH_BYTES], hn[CODE_HASH_BYTES];
	code_hash(op->actor.kr, op->change_id, "old", op->code_old, ho);
	code_hash(op->actor.kr, op->change_id, "new", op->code_new, hn);
	/* Both compared whatever the first gave: no timing says which. */
	int ok = sodium_memcmp(ho, p.old_hash, sizeof(ho)) == 0;
	ok &= sodium_memcmp(hn, p.new_hash, sizeof(hn)) == 0;
	sodium_memzero(ho, sizeof(ho));
	sodium_memzero(hn, sizeof(hn));
	sodium_memzero(&p, sizeof(p));
	if (!usable || !ok) {
		/* A wrong pair costs one of the change's few attempts. */
		if (usable) {
			err = store_exec(
				tx,
				"UPDATE phone_changes SET attempts = attempts + 1"
				" WHERE subject_id = $1 AND id = $2",
				(struct store_val[]){ SV_TEXT(op->subject_id),
						      SV_TEXT(op->change_id) },
				2, NULL);
			if (err)
				return err;
		}
		op->refusal = PHONE_REFUSED_CODE_INVALID;
		return audit(tx, op, name, "failed");
	}
	err = audit(tx, op, name, "success");
	if (err)
		return err;
	/* The confirming session stays: it has just proven both numbers. */
	return apply(tx, op, SOURCE_BORROWER, op->keep_token);
}

enum senim_result phone_change_tx(struct store_tx *tx, void *arg)
{
	struct phone_change *op = arg;
	op->refusal = PHONE_REFUSED_NONE;
	op->refused = (struct access_refusal){ .why = ACCESS_GRANTED };
	op->applied = 0;
	switch (op->step) {
	case PHONE_STEP_PROPOSE:
		op->change_id[0] = '\0';
		return propose_tx(tx, op);
	case PHONE_STEP_APPROVE:
		return approve_tx(tx, op);
	case PHONE_STEP_START:
		op->change_id[0] = '\0';
		return start_tx(tx, op);
	case PHONE_STEP_CONFIRM:
		return confirm_tx(tx, op);
	}
	return SENIM_ERR_INVALID;
}

enum senim_result phone_change_notice_tx(struct store_tx *tx, void *arg)
{
	struct phone_change *op = arg;
	enum senim_result err = audit(tx, op, "subject.phone_notice",
				      op->notice_sent ? "success" : "failed");
	if (err)
		return err;
	return borrower_sms_register_tx(tx, op->actor.kr, &op->sms_old, op->subject_id,
					op->actor.label, op->actor.request_id);
}

enum senim_result phone_change_codes_tx(struct store_tx *tx, void *arg)
{
	struct phone_change *op = arg;
	enum senim_result err =
		borrower_sms_register_tx(tx, op->actor.kr, &op->sms_old, op->subject_id,
					 op->actor.label, op->actor.request_id);
	if (err)
		return err;
	return borrower_sms_register_tx(tx, op->actor.kr, &op->sms_new, op->subject_id,
					op->actor.label, op->actor.request_id);
}
