/*
 * ledger.c — grants and withdrawals of consent, each with its sealed
 * evidence, signed receipt and audit record in one transaction (prepared in
 * a read transaction, written by the group commit; ledger.h).
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

/* Evidence is a few hundred bytes; the cap only bounds a bug. */
#define EVIDENCE_MAX (1u << 20)

struct policy_ref {
	char version[LEDGER_VERSION_MAX];
	char sha_ru[65], sha_kk[65];
};

static void copy_str(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src ? src : "");
}

static void copy_col(struct store_rows *r, int col, char *out, size_t cap)
{
	size_t len = 0;
	const char *s = store_rows_is_null(r, col) ? "" : store_rows_text(r, col, &len);
	if (len >= cap)
		len = cap - 1;
	memcpy(out, s, len);
	out[len] = '\0';
}

/* The version in force, or (version != NULL) that version;
 * SENIM_ERR_NOT_FOUND when there is none. */
static enum senim_result policy_ref_in(struct store_tx *tx, const char *version,
				       struct policy_ref *p)
{
	struct store_rows *r = NULL;
	enum senim_result err =
		version ? store_query_one(
				  tx,
				  "SELECT version, sha256_ru, sha256_kk FROM policies"
				  " WHERE version = $1",
				  (struct store_val[]){ SV_TEXT(version) }, 1, &r)
			: store_query_one(
				  tx,
				  "SELECT version, sha256_ru, sha256_kk FROM policies"
				  " ORDER BY seq DESC LIMIT 1",
				  NULL, 0, &r);
	memset(p, 0, sizeof(*p));
	if (err)
		return err;
	copy_col(r, 0, p->version, sizeof(p->version));
	copy_col(r, 1, p->sha_ru, sizeof(p->sha_ru));
	copy_col(r, 2, p->sha_kk, sizeof(p->sha_kk));
	store_rows_free(r);
	return SENIM_OK;
}

enum senim_result ledger_active_in(struct store_tx *tx, const char *subject_id,
				   uint32_t *active, uint32_t *obligation_purposes)
{
	struct store_rows *r = NULL;
	struct policy_ref cur;
	*active = 0;
	if (obligation_purposes)
		*obligation_purposes = 0;
	enum senim_result err = policy_ref_in(tx, NULL, &cur);
	int found = !err;
	if (err && err != SENIM_ERR_NOT_FOUND)
		return err;
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
	if (err)
		return err;
	if (open > 0)
		*obligation_purposes = CONSENT_OBLIGATION_PURPOSES;
	return SENIM_OK;
}

/* Time-ordered (common/ids.h): grants append to the consents table. */
static void new_consent_id(char id[CONSENT_ID_LEN])
{
	_Static_assert(CONSENT_ID_LEN == 4 + ID_BODY_CHARS + 1, "cns_ + id body");
	id_time_ordered(id, "cns_", clock_now_us() / 1000);
}

static enum senim_result audit(struct store_tx *tx, const struct keyring *kr,
			       const struct consent_request *rq, const char *op,
			       const char *consent_id, enum consent_kind kind,
			       const char *outcome)
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
static enum senim_result seal_evidence(struct store_tx *tx, const struct keyring *kr,
				       const struct consent_request *rq,
				       const char *consent_id, struct buf *out)
{
	struct vault_dek *dek = NULL;
	char *text = NULL;
	enum senim_result err = vault_dek_load(tx, kr, rq->subject_id, &dek);
	if (err)
		goto fail;
	json_t *ev = json_pack("{s:s?,s:s?,s:s?,s:s}", "ip", rq->ip, "user_agent",
			       rq->user_agent, "device_id", rq->device_id, "consent_id",
			       consent_id);
	text = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
	json_decref(ev);
	err = SENIM_ERR_NOMEM;
	if (!text)
		goto fail;
	/* Bound to its consent (field "evidence:<consent id>", version 2), so
	 * evidence moved to another consent of the same subject fails to
	 * open.  (Version 1, before the binding, sealed every consent's under
	 * field "evidence"; the consent id inside tells them apart.) */
	char field[16 + CONSENT_ID_LEN];
	snprintf(field, sizeof(field), "evidence:%s", consent_id);
	err = vault_seal_blob(dek, rq->subject_id, "consent", field, 2, text,
			      strlen(text), out);
fail:
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

/* The active consent of a kind (for policy: of that version), as JSON;
 * *out NULL when there is none. */
static enum senim_result find_active(struct store_tx *tx, const char *subject_id,
				     enum consent_kind kind, const char *version,
				     json_t **out)
{
	struct store_rows *r = NULL;
	*out = NULL;
	enum senim_result err =
		version ? store_query_one(
				  tx,
				  "SELECT " ROW_COLUMNS
				  " FROM consents WHERE subject_id = $1"
				  " AND kind = $2 AND withdrawn_at IS NULL"
				  " AND policy_version = $3",
				  (struct store_val[]){ SV_TEXT(subject_id),
							SV_TEXT(consent_def(kind)->code),
							SV_TEXT(version) },
				  3, &r)
			: store_query_one(tx,
					  "SELECT " ROW_COLUMNS
					  " FROM consents WHERE subject_id = $1"
					  " AND kind = $2 AND withdrawn_at IS NULL",
					  (struct store_val[]){
						  SV_TEXT(subject_id),
						  SV_TEXT(consent_def(kind)->code) },
					  2, &r);
	if (err == SENIM_ERR_NOT_FOUND)
		return SENIM_OK;
	if (err)
		return err;
	*out = row_json(r);
	store_rows_free(r);
	return *out ? SENIM_OK : SENIM_ERR_NOMEM;
}

/* The request's short-lived strings, copied into the op's own buffers. */
static void keep_request(struct consent_request *rq, char *language, size_t language_cap,
			 char *channel, size_t channel_cap, char *ip, size_t ip_cap)
{
	copy_str(language, language_cap, rq->language);
	copy_str(channel, channel_cap, rq->channel);
	rq->language = language;
	rq->channel = channel;
	if (ip && rq->ip) {
		copy_str(ip, ip_cap, rq->ip);
		rq->ip = ip;
	} else {
		rq->ip = NULL;
	}
}

/* ---- granting ------------------------------------------------------------------ */

/*
 * The preparation does the slow parts — the receipt's signature, the
 * evidence's sealing — concurrently with other requests; the write
 * re-checks what another request could have changed in between (an active
 * grant of the same kind, the version in force) and only then inserts.
 */
static enum senim_result grant_prepare_tx(struct store_tx *tx, void *arg)
{
	struct ledger_grant *op = arg;
	struct policy_ref cur, asked;
	json_t *receipt = NULL;
	enum senim_result err = policy_ref_in(tx, NULL, &cur);
	int found = !err;
	if (err && err != SENIM_ERR_NOT_FOUND)
		goto fail;
	copy_str(op->current, sizeof(op->current), found ? cur.version : "");
	if (op->kind == CONSENT_POLICY) {
		err = policy_ref_in(tx, op->version, &asked);
		if (err) /* SENIM_ERR_NOT_FOUND: no such version */
			goto fail;
		/* P2: only the version in force */
		err = SENIM_ERR_CONFLICT;
		if (!found || strcmp(asked.version, cur.version) != 0)
			goto fail;
	} else if (!found) {
		err = SENIM_ERR_NOT_FOUND;
		goto fail;
	}
	/* Prepared even when the kind is already granted: only the write can
	 * tell (it may be withdrawn meanwhile), and either answer goes through
	 * the write for its audit record. */
	copy_str(op->pol_version, sizeof(op->pol_version), cur.version);
	copy_str(op->pol_sha_ru, sizeof(op->pol_sha_ru), cur.sha_ru);
	copy_str(op->pol_sha_kk, sizeof(op->pol_sha_kk), cur.sha_kk);
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
	err = receipt_make(op->kr, &in, &receipt);
	if (err)
		goto fail;
	err = seal_evidence(tx, op->kr, &op->rq, op->id, &op->evidence);
	if (err)
		goto fail;
	op->receipt = json_dumps(receipt, JSON_COMPACT);
	err = op->receipt ? SENIM_OK : SENIM_ERR_NOMEM;
fail:
	json_decref(receipt);
	return err;
}

enum senim_result ledger_grant_prepare(struct store *st, struct ledger_grant *op)
{
	op->current[0] = '\0';
	if (!consent_def(op->kind) ||
	    (op->kind == CONSENT_POLICY) != (op->version != NULL))
		return SENIM_ERR_INVALID;
	if (op->version && strlen(op->version) >= LEDGER_VERSION_MAX)
		return SENIM_ERR_NOT_FOUND; /* no published version is that long */
	keep_request(&op->rq, op->language, sizeof(op->language), op->channel,
		     sizeof(op->channel), op->ip, sizeof(op->ip));
	buf_init(&op->evidence, EVIDENCE_MAX);
	return store_read(st, grant_prepare_tx, op);
}

enum senim_result ledger_grant_tx(struct store_tx *tx, void *arg)
{
	struct ledger_grant *op = arg;
	struct policy_ref cur;
	json_decref(op->out); /* the outputs are this transaction's alone */
	op->out = NULL;
	op->created = 0;
	enum senim_result err = policy_ref_in(tx, NULL, &cur);
	int found = !err;
	if (err && err != SENIM_ERR_NOT_FOUND)
		return err;
	if (op->kind == CONSENT_POLICY &&
	    (!found || strcmp(cur.version, op->pol_version) != 0)) {
		/* A new version was published since the preparation. */
		copy_str(op->current, sizeof(op->current), found ? cur.version : "");
		return SENIM_ERR_CONFLICT;
	}
	/* Granted before, or by another request meanwhile: the answer is that
	 * grant with its receipt, the borrower's data, so it leaves only after
	 * its own audit record like any other read of it (S4, fail closed). */
	err = find_active(tx, op->rq.subject_id, op->kind,
			  op->kind == CONSENT_POLICY ? op->pol_version : NULL, &op->out);
	if (err)
		return err;
	if (op->out)
		return audit(tx, op->kr, &op->rq, "consent.grant",
			     json_string_value(json_object_get(op->out, "id")), op->kind,
			     "unchanged");
	const char *kind = consent_def(op->kind)->code;
	err = store_exec(
		tx,
		"INSERT INTO consents (id, subject_id, kind, policy_version,"
		" language, channel, granted_at, evidence, receipt)"
		" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
		(struct store_val[]){ SV_TEXT(op->id), SV_TEXT(op->rq.subject_id),
				      SV_TEXT(kind), SV_TEXT(op->pol_version),
				      SV_TEXT(op->rq.language), SV_TEXT(op->rq.channel),
				      SV_INT(op->now),
				      SV_BLOB(op->evidence.data, op->evidence.len),
				      SV_TEXT(op->receipt) },
		9, NULL);
	if (err)
		return err;
	err = audit(tx, op->kr, &op->rq, "consent.grant", op->id, op->kind, "success");
	if (err)
		return err;
	op->out = consent_json(op->id, kind, op->pol_version, op->rq.language,
			       op->rq.channel, op->now, 0, op->receipt, NULL);
	if (!op->out)
		return SENIM_ERR_NOMEM;
	op->created = 1;
	return SENIM_OK;
}

void ledger_grant_dispose(void *arg)
{
	struct ledger_grant *op = arg;
	json_decref(op->out);
	free(op->receipt);
	buf_release(&op->evidence);
	/* The client's address (evidence, in clear), the answer's pointers. */
	sodium_memzero(op, sizeof(*op));
}

/* ---- withdrawing ----------------------------------------------------------------- */

/* C2: does an open obligation forbid withdrawing this kind?  Sets
 * op->irrevocable and what it names. */
static enum senim_result check_obligations(struct store_tx *tx,
					   struct ledger_withdrawal *op)
{
	const struct consent_def *def = consent_def(op->kind);
	if (!def->needed_for_obligations || def->marketing)
		return SENIM_OK;
	int64_t open = 0;
	enum senim_result err =
		obligations_open_in(tx, op->kr, op->rq.subject_id, &open, op->obligation,
				    sizeof(op->obligation));
	if (err)
		return err;
	if (open > 0) {
		op->irrevocable = "open_obligation";
		op->open_obligations = open;
	}
	return SENIM_OK;
}

static enum senim_result withdrawal_prepare_tx(struct store_tx *tx, void *arg)
{
	struct ledger_withdrawal *op = arg;
	struct store_rows *r = NULL;
	json_t *receipt = NULL;
	/* Only this subject's consents: another's id is simply not found. */
	enum senim_result err = store_query_one(
		tx,
		"SELECT kind, withdrawn_at, policy_version, channel, language,"
		" granted_at, receipt FROM consents"
		" WHERE id = $1 AND subject_id = $2",
		(struct store_val[]){ SV_TEXT(op->id), SV_TEXT(op->rq.subject_id) }, 2,
		&r);
	if (err)
		goto fail;
	int kind = consent_kind_parse(store_rows_text(r, 0, NULL));
	int withdrawn = !store_rows_is_null(r, 1);
	copy_col(r, 2, op->version, sizeof(op->version));
	copy_col(r, 3, op->grant_channel, sizeof(op->grant_channel));
	copy_col(r, 4, op->grant_language, sizeof(op->grant_language));
	op->granted_at = store_rows_int(r, 5);
	op->grant_receipt = strdup(store_rows_text(r, 6, NULL));
	err = SENIM_ERR_NOMEM;
	if (!op->grant_receipt)
		goto fail;
	err = SENIM_ERR_NOT_FOUND;
	if (kind < 0)
		goto fail;
	err = SENIM_ERR_CONFLICT;
	if (withdrawn)
		goto fail;
	op->kind = (enum consent_kind)kind;
	/* A refusal needs no receipt; the write records it. */
	err = check_obligations(tx, op);
	if (err || op->irrevocable)
		goto fail;
	struct policy_ref pol;
	err = policy_ref_in(tx, op->version, &pol);
	if (err == SENIM_ERR_NOT_FOUND) /* hashes unknown: the receipt says "" */
		err = SENIM_OK;
	if (err)
		goto fail;
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
		.policy_sha256_ru = pol.sha_ru,
		.policy_sha256_kk = pol.sha_kk
	};
	err = receipt_make(op->kr, &in, &receipt);
	if (err)
		goto fail;
	op->receipt = json_dumps(receipt, JSON_COMPACT);
	err = op->receipt ? SENIM_OK : SENIM_ERR_NOMEM;
fail:
	json_decref(receipt);
	store_rows_free(r);
	return err;
}

enum senim_result ledger_withdrawal_prepare(struct store *st,
					    struct ledger_withdrawal *op)
{
	const char *id = op->consent_id ? op->consent_id : "";
	if (strlen(id) != CONSENT_ID_LEN - 1 || strncmp(id, "cns_", 4) != 0 ||
	    !id_body_valid(id + 4))
		return SENIM_ERR_NOT_FOUND; /* not an id we could have issued */
	copy_str(op->id, sizeof(op->id), id);
	keep_request(&op->rq, op->language, sizeof(op->language), op->channel,
		     sizeof(op->channel), NULL, 0);
	return store_read(st, withdrawal_prepare_tx, op);
}

enum senim_result ledger_withdrawal_tx(struct store_tx *tx, void *arg)
{
	struct ledger_withdrawal *op = arg;
	json_decref(op->out); /* the outputs are this transaction's alone */
	op->out = NULL;
	/* An obligation imported since the preparation counts (C2). */
	enum senim_result err = op->irrevocable ? SENIM_OK : check_obligations(tx, op);
	if (err)
		return err;
	if (op->irrevocable)
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
	if (changes == 0) /* withdrawn by another request meanwhile */
		return SENIM_ERR_CONFLICT;
	err = audit(tx, op->kr, &op->rq, "consent.withdraw", op->id, op->kind, "success");
	if (err)
		return err;
	op->out = consent_json(op->id, consent_def(op->kind)->code, op->version,
			       op->grant_language, op->grant_channel, op->granted_at,
			       op->now, op->grant_receipt, op->receipt);
	return op->out ? SENIM_OK : SENIM_ERR_NOMEM;
}

void ledger_withdrawal_dispose(void *arg)
{
	struct ledger_withdrawal *op = arg;
	json_decref(op->out);
	free(op->receipt);
	free(op->grant_receipt);
	/* An obligation's contract number, decrypted. */
	sodium_memzero(op, sizeof(*op));
}

/* ---- listing ------------------------------------------------------------------------ */

struct list_ctx {
	const char *subject_id;
	json_t *items;
};

static enum senim_result list_tx(struct store_tx *tx, void *arg)
{
	struct list_ctx *c = arg;
	struct store_rows *r = NULL;
	enum senim_result err =
		store_query(tx,
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

enum senim_result ledger_list(struct store *st, const char *subject_id, json_t **out)
{
	struct list_ctx c = { subject_id, json_array() };
	*out = NULL;
	if (!c.items)
		return SENIM_ERR_NOMEM;
	enum senim_result err = store_read(st, list_tx, &c);
	if (err) {
		json_decref(c.items);
		return err;
	}
	*out = json_pack("{s:o}", "consents", c.items);
	return *out ? SENIM_OK : SENIM_ERR_NOMEM;
}

enum senim_result ledger_listing_prepare(struct store *st, struct ledger_listing *op)
{
	json_decref(op->out);
	op->out = NULL;
	return ledger_list(st, op->subject_id, &op->out);
}

enum senim_result ledger_listing_tx(struct store_tx *tx, void *arg)
{
	struct ledger_listing *op = arg;
	char object[64];
	snprintf(object, sizeof(object), "consents:%s", op->subject_id);
	struct audit_record rec = {
		.actor = op->actor,
		.operation = "consent.list",
		.object = object,
		.subject_id = op->subject_id,
		.categories = "",
		.purpose = "legal_obligation", /* R1: the right of access */
		/* R5: the limited view is recorded as such, never its ground. */
		.outcome = op->limited ? "limited" : "success",
		.request_id = op->request_id
	};
	return audit_append(tx, op->kr, &rec);
}

/* The fields of a consent the limited view keeps (ledger.h), in the full
 * view's names: a list of what may go, so that nothing added to the full
 * view reaches a limited borrower unseen. */
static const char *const limited_fields[] = { "id",	"kind",	      "policy_version",
					      "status", "granted_at", "withdrawn_at" };

static json_t *consent_limited_json(json_t *full)
{
	json_t *o = json_object();
	for (size_t i = 0; o && i < sizeof(limited_fields) / sizeof(limited_fields[0]);
	     i++) {
		json_t *v = json_object_get(full, limited_fields[i]);
		if (v && json_object_set(o, limited_fields[i], v)) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

enum senim_result ledger_listing_view(struct ledger_listing *op, enum ledger_view v,
				      json_t **out)
{
	*out = NULL;
	json_t *full = json_object_get(op->out, "consents");
	if (!json_is_array(full))
		return SENIM_ERR_INVALID;
	if (v == LEDGER_VIEW_FULL) {
		*out = op->out;
		op->out = NULL;
		return SENIM_OK;
	}
	json_t *items = json_array();
	size_t i;
	json_t *c;
	json_array_foreach(full, i, c)
	{
		if (!items || json_array_append_new(items, consent_limited_json(c))) {
			json_decref(items);
			return SENIM_ERR_NOMEM;
		}
	}
	*out = json_pack("{s:o}", "consents", items);
	return *out ? SENIM_OK : SENIM_ERR_NOMEM;
}

void ledger_listing_dispose(void *arg)
{
	struct ledger_listing *op = arg;
	json_decref(op->out); /* the receipts: the wiping allocator clears them */
	op->out = NULL;
}

/* ---- the 428 gate ------------------------------------------------------------------ */

struct state_ctx {
	const char *subject_id;
	int *accepted;
	char *current;
};

static enum senim_result state_tx(struct store_tx *tx, void *arg)
{
	struct state_ctx *c = arg;
	struct policy_ref cur;
	enum senim_result err = policy_ref_in(tx, NULL, &cur);
	if (err && err != SENIM_ERR_NOT_FOUND)
		return err;
	snprintf(c->current, LEDGER_VERSION_MAX, "%s", err ? "" : cur.version);
	uint32_t active = 0;
	err = ledger_active_in(tx, c->subject_id, &active, NULL);
	if (err)
		return err;
	*c->accepted = (active & CONSENT_BIT(CONSENT_POLICY)) != 0;
	return SENIM_OK;
}

enum senim_result ledger_policy_state(struct store *st, const char *subject_id,
				      int *accepted, char current[LEDGER_VERSION_MAX])
{
	struct state_ctx c = { subject_id, accepted, current };
	*accepted = 0;
	current[0] = '\0';
	return store_read(st, state_tx, &c);
}

enum senim_result ledger_evidence_in(struct store_tx *tx, const char *subject_id,
				     enum consent_kind kind, struct ledger_evidence *e)
{
	struct store_rows *r;
	*e = (struct ledger_evidence){ 0 };
	enum senim_result err = store_query_one(
		tx,
		"SELECT id, granted_at, receipt FROM consents"
		" WHERE subject_id = $1 AND kind = $2 AND withdrawn_at IS NULL"
		" ORDER BY granted_at DESC LIMIT 1",
		(struct store_val[]){ SV_TEXT(subject_id),
				      SV_TEXT(consent_def(kind)->code) },
		2, &r);
	if (err)
		return err;
	size_t n = 0;
	const char *id = store_rows_text(r, 0, &n);
	if (n >= sizeof(e->id)) {
		store_rows_free(r);
		return SENIM_ERR_STORE;
	}
	memcpy(e->id, id, n);
	e->granted_at = store_rows_int(r, 1);
	const char *receipt = store_rows_text(r, 2, &n);
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, (const unsigned char *)receipt, n);
	sodium_bin2hex(e->receipt_sha256, sizeof(e->receipt_sha256), h, sizeof(h));
	store_rows_free(r);
	return SENIM_OK;
}
