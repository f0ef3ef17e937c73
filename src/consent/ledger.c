/*
 * ledger.c — grants and withdrawals of consent, each with its sealed
 * evidence, signed receipt and audit record in one transaction (prepared in
 * a read transaction, written by the group commit).
 */
#include "consent/ledger.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "audit/audit.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/ids.h"
#include "consent/obligations.h"
#include "consent/receipt.h"
#include "vault/vault.h"
#include "common/banned.h"

struct policy_ref {
	char version[LEDGER_VERSION_MAX];
	char sha_ru[65], sha_kk[65];
};

static void copy_col(struct store_rows *r, int col, char *out, size_t cap)
{
	size_t len = 0;
	const char *s = store_rows_is_null(r, col) ? "" : store_rows_text(r, col, &len);
	if (len >= cap)
		len = cap - 1;
	memcpy(out, s, len);
	out[len] = '\0';
}

/* The version in force, or (version != NULL) that version; found 0 if none. */
static int policy_ref_in(struct store_tx *tx, const char *version, struct policy_ref *p,
			 int *found)
{
	struct store_rows *r;
	int err =
		version ? store_query(tx,
				      "SELECT version, sha256_ru, sha256_kk FROM policies"
				      " WHERE version = $1",
				      (struct store_val[]){ SV_TEXT(version) }, 1, &r)
			: store_query(tx,
				      "SELECT version, sha256_ru, sha256_kk FROM policies"
				      " ORDER BY seq DESC LIMIT 1",
				      NULL, 0, &r);
	if (err)
		return err;
	*found = 0;
	err = store_rows_next(r, found);
	memset(p, 0, sizeof(*p));
	if (!err && *found) {
		copy_col(r, 0, p->version, sizeof(p->version));
		copy_col(r, 1, p->sha_ru, sizeof(p->sha_ru));
		copy_col(r, 2, p->sha_kk, sizeof(p->sha_kk));
	}
	store_rows_free(r);
	return err;
}

int ledger_active_in(struct store_tx *tx, const char *subject_id, uint32_t *active,
		     uint32_t *obligation_purposes)
{
	*active = 0;
	if (obligation_purposes)
		*obligation_purposes = 0;
	struct policy_ref cur;
	int found = 0;
	int err = policy_ref_in(tx, NULL, &cur, &found);
	if (err)
		return err;
	struct store_rows *r;
	err = store_query(
		tx,
		"SELECT kind, policy_version FROM consents WHERE subject_id = $1"
		" AND withdrawn_at IS NULL",
		(struct store_val[]){ SV_TEXT(subject_id) }, 1, &r);
	if (err)
		return err;
	int has = 0, earlier_policy = 0;
	while ((err = store_rows_next(r, &has)) == SENIM_OK && has) {
		int k = consent_kind_parse(store_rows_text(r, 0, NULL));
		if (k < 0)
			continue;
		/* P2: accepting an old version is not accepting the one in force. */
		if (k == CONSENT_POLICY &&
		    (!found || strcmp(store_rows_text(r, 1, NULL), cur.version) != 0)) {
			earlier_policy = 1;
			continue;
		}
		*active |= CONSENT_BIT(k);
	}
	store_rows_free(r);
	if (err || !obligation_purposes || !earlier_policy ||
	    (*active & CONSENT_BIT(CONSENT_POLICY)))
		return err;
	/* C2: not accepting a new version is no withdrawal.  The version the
	 * borrower accepted (which an open obligation makes irrevocable) keeps
	 * grounding what that obligation needs until it is closed. */
	int64_t open = 0;
	err = obligations_open_in(tx, NULL, subject_id, &open, NULL, 0);
	if (!err && open > 0)
		*obligation_purposes = CONSENT_OBLIGATION_PURPOSES;
	return err;
}

/* Time-ordered (common/ids.h): grants append to the consents table. */
static void new_consent_id(char id[CONSENT_ID_LEN])
{
	_Static_assert(CONSENT_ID_LEN == 4 + ID_BODY_CHARS + 1, "cns_ + id body");
	id_time_ordered(id, "cns_", clock_now_us() / 1000);
}

static int audit(struct store_tx *tx, const struct keyring *kr,
		 const struct consent_request *rq, const char *op, const char *consent_id,
		 enum consent_kind kind, const char *outcome)
{
	char object[64];
	snprintf(object, sizeof(object), "consent:%s:%s", consent_def(kind)->code,
		 consent_id ? consent_id : "none");
	struct audit_record rec = { .actor = rq->actor,
				    .operation = op,
				    .object = object,
				    .subject_id = rq->subject_id,
				    .categories = "",
				    .purpose = "legal_obligation",
				    .outcome = outcome,
				    .request_id = rq->request_id };
	return audit_append(tx, kr, &rec);
}

/* The evidence of a grant, sealed with the subject's key (D6 data). */
static int seal_evidence(struct store_tx *tx, const struct keyring *kr,
			 const struct consent_request *rq, const char *consent_id,
			 struct buf *out)
{
	struct vault_dek *dek = NULL;
	int err = vault_dek_load(tx, kr, rq->subject_id, &dek);
	if (err)
		return err;
	json_t *ev = json_pack("{s:s?,s:s?,s:s?,s:s}", "ip", rq->ip, "user_agent",
			       rq->user_agent, "device_id", rq->device_id, "consent_id",
			       consent_id);
	char *text = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
	json_decref(ev);
	/* Bound to its consent (field "evidence:<consent id>", version 2), so
	 * evidence moved to another consent of the same subject fails to
	 * open.  (Version 1, before the binding, sealed every consent's under
	 * field "evidence"; the consent id inside tells them apart.) */
	char field[16 + CONSENT_ID_LEN];
	snprintf(field, sizeof(field), "evidence:%s", consent_id);
	err = text ? vault_seal_blob(dek, rq->subject_id, "consent", field, 2, text,
				     strlen(text), out)
		   : SENIM_ERR_NOMEM;
	buf_wipe_free(text);
	vault_dek_free(dek);
	return err;
}

/* A consent as the API shows it; withdrawn_at 0 while active.  The receipts
 * are their stored JSON texts. */
static json_t *consent_json(const char *id, const char *kind, const char *policy_version,
			    const char *language, const char *channel, int64_t granted_at,
			    int64_t withdrawn_at, const char *receipt,
			    const char *withdrawal_receipt)
{
	char granted[CLOCK_RFC3339_LEN], withdrawn[CLOCK_RFC3339_LEN];
	clock_format_rfc3339(granted_at, granted);
	int active = withdrawn_at == 0;
	if (!active)
		clock_format_rfc3339(withdrawn_at, withdrawn);
	json_t *r = receipt ? json_loads(receipt, 0, NULL) : NULL;
	json_t *wr = withdrawal_receipt ? json_loads(withdrawal_receipt, 0, NULL) : NULL;
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s?,s:s,s:o?,s:o?}", "id", id, "kind",
			 kind, "policy_version", policy_version, "language", language,
			 "channel", channel, "granted_at", granted, "withdrawn_at",
			 active ? NULL : withdrawn, "status",
			 active ? "active" : "withdrawn", "receipt", r,
			 "withdrawal_receipt", wr);
}

/* A consent row (ROW_COLUMNS) as the API shows it. */
static json_t *row_json(struct store_rows *r)
{
	return consent_json(store_rows_text(r, 0, NULL), store_rows_text(r, 1, NULL),
			    store_rows_text(r, 2, NULL), store_rows_text(r, 3, NULL),
			    store_rows_text(r, 4, NULL), store_rows_int(r, 5),
			    store_rows_is_null(r, 6) ? 0 : store_rows_int(r, 6),
			    store_rows_text(r, 7, NULL),
			    store_rows_is_null(r, 8) ? NULL
						     : store_rows_text(r, 8, NULL));
}

#define ROW_COLUMNS                                                               \
	"id, kind, policy_version, language, channel, granted_at, withdrawn_at, " \
	"receipt,"                                                                \
	" withdrawal_receipt"

/* The active consent of a kind (for policy: of that version), as JSON. */
static int find_active(struct store_tx *tx, const char *subject_id,
		       enum consent_kind kind, const char *version, json_t **out)
{
	struct store_rows *r;
	*out = NULL;
	int err = version ? store_query(tx,
					"SELECT " ROW_COLUMNS
					" FROM consents WHERE subject_id = $1"
					" AND kind = $2 AND withdrawn_at IS NULL"
					" AND policy_version = $3",
					(struct store_val[]){
						SV_TEXT(subject_id),
						SV_TEXT(consent_def(kind)->code),
						SV_TEXT(version) },
					3, &r)
			  : store_query(tx,
					"SELECT " ROW_COLUMNS
					" FROM consents WHERE subject_id = $1"
					" AND kind = $2 AND withdrawn_at IS NULL",
					(struct store_val[]){
						SV_TEXT(subject_id),
						SV_TEXT(consent_def(kind)->code) },
					2, &r);
	if (err)
		return err;
	int has = 0;
	err = store_rows_next(r, &has);
	if (!err && has)
		*out = row_json(r);
	store_rows_free(r);
	return err;
}

/*
 * A grant or a withdrawal, prepared in a read transaction and written by the
 * group commit (ledger.h).  The preparation does the slow parts — the
 * receipt's signature, the evidence's sealing — concurrently with other
 * requests; the write re-checks what another request could have changed in
 * between (an active grant of the same kind, the version in force for a
 * policy acceptance, open obligations) and only then inserts or updates.
 */
struct ledger_op {
	const struct keyring *kr;
	struct consent_request rq;
	/* copies of the request's short-lived strings */
	char ip[64], language[8], channel[16];
	int withdraw;
	enum consent_kind kind;
	char asked[LEDGER_VERSION_MAX]; /* policy: the version accepted */
	/* outcome */
	int missing, outdated, created, not_found, already, refused;
	char current[LEDGER_VERSION_MAX];
	struct withdraw_refusal why;
	json_t *out;
	/* the prepared write */
	int write;
	char id[CONSENT_ID_LEN];
	int64_t now;
	struct policy_ref pol;
	char *receipt; /* the new receipt's JSON text */
	struct buf evidence;
	/* a withdrawal: the grant it ends, for the answer */
	char version[LEDGER_VERSION_MAX], grant_language[8], grant_channel[16];
	int64_t granted_at;
	char *grant_receipt;
};

static void copy_str(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src ? src : "");
}

static struct ledger_op *op_new(const struct keyring *kr,
				const struct consent_request *rq)
{
	struct ledger_op *op = calloc(1, sizeof(*op));
	if (!op)
		return NULL;
	op->kr = kr;
	op->rq = *rq;
	copy_str(op->language, sizeof(op->language), rq->language);
	copy_str(op->channel, sizeof(op->channel), rq->channel);
	op->rq.language = op->language;
	op->rq.channel = op->channel;
	if (rq->ip) {
		copy_str(op->ip, sizeof(op->ip), rq->ip);
		op->rq.ip = op->ip;
	}
	buf_init(&op->evidence, 1 << 20);
	return op;
}

static void op_free(struct ledger_op *op)
{
	if (!op)
		return;
	json_decref(op->out);
	free(op->receipt);
	free(op->grant_receipt);
	buf_release(&op->evidence);
	/* The client's address, an obligation's contract number. */
	sodium_memzero(op, sizeof(*op));
	free(op);
}

int ledger_op_needs_write(const struct ledger_op *op)
{
	return op->write;
}

/* ---- granting ------------------------------------------------------------------ */

static enum senim_result grant_prepare_tx(struct store_tx *tx, void *arg)
{
	struct ledger_op *op = arg;
	struct policy_ref cur;
	int found = 0;
	int err = policy_ref_in(tx, NULL, &cur, &found);
	if (err)
		return err;
	copy_str(op->current, sizeof(op->current), found ? cur.version : "");
	if (op->kind == CONSENT_POLICY) {
		struct policy_ref asked;
		int exists = 0;
		err = policy_ref_in(tx, op->asked, &asked, &exists);
		if (err)
			return err;
		if (!exists) {
			op->missing = 1;
			return SENIM_OK;
		}
		if (!found || strcmp(asked.version, cur.version) != 0) {
			op->outdated = 1; /* P2: only the version in force */
			return SENIM_OK;
		}
	} else if (!found) {
		op->missing = 1;
		return SENIM_OK;
	}
	/* Prepared even when the kind is already granted: only the write can
	 * tell (it may be withdrawn meanwhile), and either answer goes through
	 * the write for its audit record. */
	op->pol = cur;
	new_consent_id(op->id);
	op->now = clock_now_us();
	struct receipt_in in = { .event = "grant",
				 .consent_id = op->id,
				 .kind = op->kind,
				 .at_us = op->now,
				 .language = op->rq.language,
				 .channel = op->rq.channel,
				 .subject_id = op->rq.subject_id,
				 .policy_version = cur.version,
				 .policy_sha256_ru = cur.sha_ru,
				 .policy_sha256_kk = cur.sha_kk };
	json_t *receipt = NULL;
	err = receipt_make(op->kr, &in, &receipt);
	if (!err)
		err = seal_evidence(tx, op->kr, &op->rq, op->id, &op->evidence);
	if (!err && !(op->receipt = json_dumps(receipt, JSON_COMPACT)))
		err = SENIM_ERR_NOMEM;
	json_decref(receipt);
	if (!err)
		op->write = 1;
	return err;
}

static int grant_write_tx(struct store_tx *tx, struct ledger_op *op)
{
	struct policy_ref cur;
	int found = 0;
	int err = policy_ref_in(tx, NULL, &cur, &found);
	if (err)
		return err;
	if (op->kind == CONSENT_POLICY &&
	    (!found || strcmp(cur.version, op->pol.version) != 0)) {
		/* A new version was published since the preparation. */
		copy_str(op->current, sizeof(op->current), found ? cur.version : "");
		op->outdated = 1;
		return SENIM_OK;
	}
	/* Granted before, or by another request meanwhile: the answer is that
	 * grant with its receipt, the borrower's data, so it leaves only after
	 * its own audit record like any other read of it (S4, fail closed). */
	json_decref(op->out); /* a job may run again when its batch failed */
	op->out = NULL;
	op->created = 0;
	err = find_active(tx, op->rq.subject_id, op->kind,
			  op->kind == CONSENT_POLICY ? op->pol.version : NULL, &op->out);
	if (err || op->out)
		return err ? err
			   : audit(tx, op->kr, &op->rq, "consent.grant",
				   json_string_value(json_object_get(op->out, "id")),
				   op->kind, "unchanged");
	const char *kind = consent_def(op->kind)->code;
	err = store_exec(
		tx,
		"INSERT INTO consents (id, subject_id, kind, policy_version,"
		" language, channel, granted_at, evidence, receipt)"
		" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
		(struct store_val[]){ SV_TEXT(op->id), SV_TEXT(op->rq.subject_id),
				      SV_TEXT(kind), SV_TEXT(op->pol.version),
				      SV_TEXT(op->rq.language), SV_TEXT(op->rq.channel),
				      SV_INT(op->now),
				      SV_BLOB(op->evidence.data, op->evidence.len),
				      SV_TEXT(op->receipt) },
		9, NULL);
	if (!err)
		err = audit(tx, op->kr, &op->rq, "consent.grant", op->id, op->kind,
			    "success");
	if (err)
		return err;
	op->out = consent_json(op->id, kind, op->pol.version, op->rq.language,
			       op->rq.channel, op->now, 0, op->receipt, NULL);
	if (!op->out)
		return SENIM_ERR_NOMEM;
	op->created = 1;
	return SENIM_OK;
}

int ledger_grant_prepare(struct store *st, const struct keyring *kr,
			 const struct consent_request *rq, enum consent_kind kind,
			 const char *version, struct ledger_op **out)
{
	*out = NULL;
	if (!consent_def(kind) || (kind == CONSENT_POLICY) != (version != NULL))
		return SENIM_ERR_INVALID;
	struct ledger_op *op = op_new(kr, rq);
	if (!op)
		return SENIM_ERR_NOMEM;
	op->kind = kind;
	if (version && strlen(version) >= sizeof(op->asked)) {
		op->missing = 1; /* no published version is that long */
		*out = op;
		return SENIM_OK;
	}
	copy_str(op->asked, sizeof(op->asked), version);
	int err = store_read(st, grant_prepare_tx, op);
	if (err) {
		op_free(op);
		return err;
	}
	*out = op;
	return SENIM_OK;
}

int ledger_grant_finish(struct ledger_op *op, int result, json_t **out, int *created,
			char current[LEDGER_VERSION_MAX])
{
	*out = NULL;
	*created = 0;
	if (current)
		copy_str(current, LEDGER_VERSION_MAX, op->current);
	int err = result;
	if (!err && op->missing)
		err = SENIM_ERR_NOT_FOUND;
	else if (!err && op->outdated)
		err = SENIM_ERR_CONFLICT;
	if (!err) {
		*out = op->out;
		*created = op->created;
		op->out = NULL;
	}
	op_free(op);
	return err;
}

/* prepare, write if needed, finish: the synchronous path. */
static int run_op(struct store *st, struct ledger_op *op)
{
	return op->write ? store_write(st, ledger_op_tx, op) : SENIM_OK;
}

int ledger_accept_policy(struct store *st, const struct keyring *kr,
			 const struct consent_request *rq, const char *version,
			 char current[LEDGER_VERSION_MAX], json_t **out, int *created)
{
	struct ledger_op *op;
	*out = NULL;
	*created = 0;
	current[0] = '\0';
	int err = ledger_grant_prepare(st, kr, rq, CONSENT_POLICY, version, &op);
	if (err)
		return err;
	return ledger_grant_finish(op, run_op(st, op), out, created, current);
}

int ledger_grant(struct store *st, const struct keyring *kr,
		 const struct consent_request *rq, enum consent_kind kind, json_t **out,
		 int *created)
{
	struct ledger_op *op;
	*out = NULL;
	*created = 0;
	if (kind == CONSENT_POLICY)
		return SENIM_ERR_INVALID;
	int err = ledger_grant_prepare(st, kr, rq, kind, NULL, &op);
	if (err)
		return err;
	return ledger_grant_finish(op, run_op(st, op), out, created, NULL);
}

/* ---- withdrawing ----------------------------------------------------------------- */

/* C2: does an open obligation forbid withdrawing this kind?  Fills why. */
static int check_obligations(struct store_tx *tx, struct ledger_op *op)
{
	const struct consent_def *def = consent_def(op->kind);
	if (!def->needed_for_obligations || def->marketing)
		return SENIM_OK;
	int64_t open = 0;
	int err = obligations_open_in(tx, op->kr, op->rq.subject_id, &open,
				      op->why.obligation, sizeof(op->why.obligation));
	if (!err && open > 0) {
		op->refused = 1;
		op->why.open_count = open;
		copy_str(op->why.reason, sizeof(op->why.reason), "open_obligation");
	}
	return err;
}

static enum senim_result withdraw_prepare_tx(struct store_tx *tx, void *arg)
{
	struct ledger_op *op = arg;
	struct store_rows *r;
	int has = 0;
	/* Only this subject's consents: another's id is simply not found. */
	int err = store_query(
		tx,
		"SELECT kind, withdrawn_at, policy_version, channel, language,"
		" granted_at, receipt FROM consents"
		" WHERE id = $1 AND subject_id = $2",
		(struct store_val[]){ SV_TEXT(op->id), SV_TEXT(op->rq.subject_id) }, 2,
		&r);
	if (err)
		return err;
	err = store_rows_next(r, &has);
	int kind = -1, withdrawn = 0;
	if (!err && has) {
		kind = consent_kind_parse(store_rows_text(r, 0, NULL));
		withdrawn = !store_rows_is_null(r, 1);
		copy_col(r, 2, op->version, sizeof(op->version));
		copy_col(r, 3, op->grant_channel, sizeof(op->grant_channel));
		copy_col(r, 4, op->grant_language, sizeof(op->grant_language));
		op->granted_at = store_rows_int(r, 5);
		op->grant_receipt = strdup(store_rows_text(r, 6, NULL));
		if (!op->grant_receipt)
			err = SENIM_ERR_NOMEM;
	}
	store_rows_free(r);
	if (err)
		return err;
	if (!has || kind < 0) {
		op->not_found = 1;
		return SENIM_OK;
	}
	if (withdrawn) {
		op->already = 1;
		return SENIM_OK;
	}
	op->kind = (enum consent_kind)kind;
	op->write = 1; /* a refusal is audited too */
	err = check_obligations(tx, op);
	if (err || op->refused)
		return err;
	int found = 0;
	err = policy_ref_in(tx, op->version, &op->pol, &found);
	if (err)
		return err;
	op->now = clock_now_us();
	/* A withdrawal comes by the channel and in the language of the grant it
	 * undoes: DELETE carries no body to say otherwise. */
	struct receipt_in in = {
		.event = "withdraw",
		.consent_id = op->id,
		.kind = op->kind,
		.at_us = op->now,
		.language = op->grant_language[0] ? op->grant_language : op->rq.language,
		.channel = op->grant_channel[0] ? op->grant_channel : op->rq.channel,
		.subject_id = op->rq.subject_id,
		.policy_version = op->version,
		.policy_sha256_ru = op->pol.sha_ru,
		.policy_sha256_kk = op->pol.sha_kk
	};
	json_t *receipt = NULL;
	err = receipt_make(op->kr, &in, &receipt);
	if (!err && !(op->receipt = json_dumps(receipt, JSON_COMPACT)))
		err = SENIM_ERR_NOMEM;
	json_decref(receipt);
	return err;
}

static int withdraw_write_tx(struct store_tx *tx, struct ledger_op *op)
{
	/* An obligation imported since the preparation counts (C2). */
	int err = op->refused ? SENIM_OK : check_obligations(tx, op);
	if (err)
		return err;
	if (op->refused)
		return audit(tx, op->kr, &op->rq, "consent.withdraw", op->id, op->kind,
			     "denied");
	int64_t changes = 0;
	err = store_exec(tx,
			 "UPDATE consents SET withdrawn_at = $3, withdrawal_receipt = $4"
			 " WHERE id = $1 AND subject_id = $2 AND withdrawn_at IS NULL",
			 (struct store_val[]){ SV_TEXT(op->id),
					       SV_TEXT(op->rq.subject_id),
					       SV_INT(op->now), SV_TEXT(op->receipt) },
			 4, &changes);
	if (err)
		return err;
	if (changes == 0) { /* withdrawn by another request meanwhile */
		op->already = 1;
		return SENIM_OK;
	}
	err = audit(tx, op->kr, &op->rq, "consent.withdraw", op->id, op->kind, "success");
	if (err)
		return err;
	op->out = consent_json(op->id, consent_def(op->kind)->code, op->version,
			       op->grant_language, op->grant_channel, op->granted_at,
			       op->now, op->grant_receipt, op->receipt);
	return op->out ? SENIM_OK : SENIM_ERR_NOMEM;
}

int ledger_withdraw_prepare(struct store *st, const struct keyring *kr,
			    const struct consent_request *rq, const char *consent_id,
			    struct ledger_op **out)
{
	*out = NULL;
	struct ledger_op *op = op_new(kr, rq);
	if (!op)
		return SENIM_ERR_NOMEM;
	op->withdraw = 1;
	if (strlen(consent_id) != CONSENT_ID_LEN - 1 ||
	    strncmp(consent_id, "cns_", 4) != 0 || !id_body_valid(consent_id + 4)) {
		op->not_found = 1; /* not an id we could have issued */
		*out = op;
		return SENIM_OK;
	}
	copy_str(op->id, sizeof(op->id), consent_id);
	int err = store_read(st, withdraw_prepare_tx, op);
	if (err) {
		op_free(op);
		return err;
	}
	*out = op;
	return SENIM_OK;
}

int ledger_withdraw_finish(struct ledger_op *op, int result, json_t **out,
			   struct withdraw_refusal *why)
{
	*out = NULL;
	memset(why, 0, sizeof(*why));
	int err = result;
	if (!err && op->not_found)
		err = SENIM_ERR_NOT_FOUND;
	else if (!err && op->already)
		err = SENIM_ERR_CONFLICT;
	else if (!err && op->refused) {
		*why = op->why;
		err = SENIM_ERR_DENIED;
	}
	if (!err) {
		*out = op->out;
		op->out = NULL;
	}
	op_free(op);
	return err;
}

int ledger_withdraw(struct store *st, const struct keyring *kr,
		    const struct consent_request *rq, const char *consent_id,
		    json_t **out, struct withdraw_refusal *why)
{
	struct ledger_op *op;
	*out = NULL;
	memset(why, 0, sizeof(*why));
	int err = ledger_withdraw_prepare(st, kr, rq, consent_id, &op);
	if (err)
		return err;
	return ledger_withdraw_finish(op, run_op(st, op), out, why);
}

enum senim_result ledger_op_tx(struct store_tx *tx, void *arg)
{
	struct ledger_op *op = arg;
	return op->withdraw ? withdraw_write_tx(tx, op) : grant_write_tx(tx, op);
}

struct list_ctx {
	const char *subject_id;
	json_t *items;
};

static enum senim_result list_tx(struct store_tx *tx, void *arg)
{
	struct list_ctx *c = arg;
	struct store_rows *r;
	int err = store_query(tx,
			      "SELECT " ROW_COLUMNS " FROM consents WHERE subject_id = $1"
			      " ORDER BY granted_at DESC, id",
			      (struct store_val[]){ SV_TEXT(c->subject_id) }, 1, &r);
	if (err)
		return err;
	int has = 0;
	while ((err = store_rows_next(r, &has)) == SENIM_OK && has)
		json_array_append_new(c->items, row_json(r));
	store_rows_free(r);
	return err;
}

int ledger_list(struct store *st, const char *subject_id, json_t **out)
{
	struct list_ctx c = { subject_id, json_array() };
	*out = NULL;
	if (!c.items)
		return SENIM_ERR_NOMEM;
	int err = store_read(st, list_tx, &c);
	if (err) {
		json_decref(c.items);
		return err;
	}
	*out = json_pack("{s:o}", "consents", c.items);
	return *out ? SENIM_OK : SENIM_ERR_NOMEM;
}

/* The borrower's own listing between its read and its audit record. */
struct ledger_list_op {
	const struct keyring *kr;
	struct consent_request rq;
	json_t *out;
};

int ledger_list_prepare(struct store *st, const struct keyring *kr,
			const struct consent_request *rq, struct ledger_list_op **out)
{
	*out = NULL;
	struct ledger_list_op *op = calloc(1, sizeof(*op));
	if (!op)
		return SENIM_ERR_NOMEM;
	op->kr = kr;
	op->rq = *rq;
	int err = ledger_list(st, rq->subject_id, &op->out);
	if (err) {
		free(op);
		return err;
	}
	*out = op;
	return SENIM_OK;
}

enum senim_result ledger_list_audit_tx(struct store_tx *tx, void *arg)
{
	struct ledger_list_op *op = arg;
	char object[64];
	snprintf(object, sizeof(object), "consents:%s", op->rq.subject_id);
	struct audit_record rec = {
		.actor = op->rq.actor,
		.operation = "consent.list",
		.object = object,
		.subject_id = op->rq.subject_id,
		.categories = "",
		.purpose = "legal_obligation", /* R1: the right of access */
		.outcome = "success",
		.request_id = op->rq.request_id
	};
	return audit_append(tx, op->kr, &rec);
}

int ledger_list_finish(struct ledger_list_op *op, int result, json_t **out)
{
	*out = NULL;
	if (!result)
		*out = op->out; /* no listing without its durable audit record */
	else
		json_decref(op->out);
	free(op);
	return result;
}

struct state_ctx {
	const char *subject_id;
	int *accepted;
	char *current;
};

static enum senim_result state_tx(struct store_tx *tx, void *arg)
{
	struct state_ctx *c = arg;
	struct policy_ref cur;
	int found = 0;
	int err = policy_ref_in(tx, NULL, &cur, &found);
	if (err)
		return err;
	snprintf(c->current, LEDGER_VERSION_MAX, "%s", found ? cur.version : "");
	uint32_t active = 0;
	err = ledger_active_in(tx, c->subject_id, &active, NULL);
	*c->accepted = !err && (active & CONSENT_BIT(CONSENT_POLICY));
	return err;
}

int ledger_policy_state(struct store *st, const char *subject_id, int *accepted,
			char current[LEDGER_VERSION_MAX])
{
	struct state_ctx c = { subject_id, accepted, current };
	*accepted = 0;
	current[0] = '\0';
	return store_read(st, state_tx, &c);
}
