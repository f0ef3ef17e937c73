/*
 * ledger.c — grants and withdrawals of consent, each with its sealed
 * evidence, signed receipt and audit record in one transaction.
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

int ledger_active_in(struct store_tx *tx, const char *subject_id, uint32_t *active)
{
	*active = 0;
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
	int has = 0;
	while ((err = store_rows_next(r, &has)) == SENIM_OK && has) {
		int k = consent_kind_parse(store_rows_text(r, 0, NULL));
		if (k < 0)
			continue;
		/* P2: accepting an old version is not accepting the one in force. */
		if (k == CONSENT_POLICY &&
		    (!found || strcmp(store_rows_text(r, 1, NULL), cur.version) != 0))
			continue;
		*active |= CONSENT_BIT(k);
	}
	store_rows_free(r);
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
	int err = subjects_load_dek(tx, kr, rq->subject_id, &dek);
	if (err)
		return err;
	json_t *ev = json_pack("{s:s?,s:s?,s:s?,s:s}", "ip", rq->ip, "user_agent",
			       rq->user_agent, "device_id", rq->device_id, "consent_id",
			       consent_id);
	char *text = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
	json_decref(ev);
	err = text ? vault_seal_blob(dek, rq->subject_id, "consent", "evidence", 1, text,
				     strlen(text), out)
		   : SENIM_ERR_NOMEM;
	buf_wipe_free(text);
	vault_dek_free(dek);
	return err;
}

/* A consent row as the API shows it. */
static json_t *row_json(struct store_rows *r)
{
	/* columns: id, kind, policy_version, language, channel, granted_at,
	 * withdrawn_at, receipt, withdrawal_receipt */
	char granted[CLOCK_RFC3339_LEN], withdrawn[CLOCK_RFC3339_LEN];
	clock_format_rfc3339(store_rows_int(r, 5), granted);
	int active = store_rows_is_null(r, 6);
	if (!active)
		clock_format_rfc3339(store_rows_int(r, 6), withdrawn);
	json_t *receipt = json_loads(store_rows_text(r, 7, NULL), 0, NULL);
	json_t *wreceipt = store_rows_is_null(r, 8)
				   ? NULL
				   : json_loads(store_rows_text(r, 8, NULL), 0, NULL);
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s?,s:s,s:o?,s:o?}", "id",
			 store_rows_text(r, 0, NULL), "kind", store_rows_text(r, 1, NULL),
			 "policy_version", store_rows_text(r, 2, NULL), "language",
			 store_rows_text(r, 3, NULL), "channel",
			 store_rows_text(r, 4, NULL), "granted_at", granted,
			 "withdrawn_at", active ? NULL : withdrawn, "status",
			 active ? "active" : "withdrawn", "receipt", receipt,
			 "withdrawal_receipt", wreceipt);
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

struct grant_ctx {
	const struct keyring *kr;
	const struct consent_request *rq;
	enum consent_kind kind;
	const char *version; /* policy: the version asked for */
	char *current;
	json_t *out;
	int created;
	int outdated, missing;
};

static int grant_tx(struct store_tx *tx, void *arg)
{
	struct grant_ctx *c = arg;
	const struct consent_request *rq = c->rq;
	struct policy_ref cur;
	int found = 0;
	int err = policy_ref_in(tx, NULL, &cur, &found);
	if (err)
		return err;
	if (c->current)
		snprintf(c->current, LEDGER_VERSION_MAX, "%s", found ? cur.version : "");
	if (c->kind == CONSENT_POLICY) {
		struct policy_ref asked;
		int exists = 0;
		err = policy_ref_in(tx, c->version, &asked, &exists);
		if (err)
			return err;
		if (!exists) {
			c->missing = 1;
			return SENIM_OK;
		}
		if (!found || strcmp(asked.version, cur.version) != 0) {
			c->outdated =
				1; /* P2: only the version in force can be accepted */
			return SENIM_OK;
		}
	} else if (!found) {
		c->missing = 1;
		return SENIM_OK;
	}
	err = find_active(tx, rq->subject_id, c->kind,
			  c->kind == CONSENT_POLICY ? cur.version : NULL, &c->out);
	if (err || c->out)
		return err; /* already granted: the same answer again */
	char id[CONSENT_ID_LEN];
	new_consent_id(id);
	int64_t now = clock_now_us();
	struct receipt_in in = { .event = "grant",
				 .consent_id = id,
				 .kind = c->kind,
				 .at_us = now,
				 .language = rq->language,
				 .channel = rq->channel,
				 .subject_id = rq->subject_id,
				 .policy_version = cur.version,
				 .policy_sha256_ru = cur.sha_ru,
				 .policy_sha256_kk = cur.sha_kk };
	json_t *receipt = NULL;
	struct buf evidence;
	buf_init(&evidence, 1 << 20);
	err = receipt_make(c->kr, &in, &receipt);
	if (!err)
		err = seal_evidence(tx, c->kr, rq, id, &evidence);
	char *text = (!err && receipt) ? json_dumps(receipt, JSON_COMPACT) : NULL;
	if (!err && !text)
		err = SENIM_ERR_NOMEM;
	if (!err)
		err = store_exec(
			tx,
			"INSERT INTO consents (id, subject_id, kind, policy_version,"
			" language, channel, granted_at, evidence, receipt)"
			" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
			(struct store_val[]){
				SV_TEXT(id), SV_TEXT(rq->subject_id),
				SV_TEXT(consent_def(c->kind)->code), SV_TEXT(cur.version),
				SV_TEXT(rq->language), SV_TEXT(rq->channel), SV_INT(now),
				SV_BLOB(evidence.data, evidence.len), SV_TEXT(text) },
			9, NULL);
	if (!err)
		err = audit(tx, c->kr, rq, "consent.grant", id, c->kind, "success");
	if (!err)
		err = find_active(tx, rq->subject_id, c->kind,
				  c->kind == CONSENT_POLICY ? cur.version : NULL,
				  &c->out);
	if (!err)
		c->created = 1;
	free(text);
	json_decref(receipt);
	buf_release(&evidence);
	return err;
}

int ledger_accept_policy(struct store *st, const struct keyring *kr,
			 const struct consent_request *rq, const char *version,
			 char current[LEDGER_VERSION_MAX], json_t **out, int *created)
{
	*created = 0;
	struct grant_ctx c = { .kr = kr,
			       .rq = rq,
			       .kind = CONSENT_POLICY,
			       .version = version,
			       .current = current };
	*out = NULL;
	current[0] = '\0';
	int err = store_write(st, grant_tx, &c);
	if (!err && c.missing)
		err = SENIM_ERR_NOT_FOUND;
	else if (!err && c.outdated)
		err = SENIM_ERR_CONFLICT;
	if (err) {
		json_decref(c.out);
	} else {
		*out = c.out;
		*created = c.created;
	}
	return err;
}

int ledger_grant(struct store *st, const struct keyring *kr,
		 const struct consent_request *rq, enum consent_kind kind, json_t **out,
		 int *created)
{
	struct grant_ctx c = { .kr = kr, .rq = rq, .kind = kind };
	*out = NULL;
	*created = 0;
	if (kind == CONSENT_POLICY || !consent_def(kind))
		return SENIM_ERR_INVALID;
	int err = store_write(st, grant_tx, &c);
	if (!err && c.missing)
		err = SENIM_ERR_NOT_FOUND;
	if (err) {
		json_decref(c.out);
		return err;
	}
	*out = c.out;
	*created = c.created;
	return SENIM_OK;
}

struct withdraw_ctx {
	const struct keyring *kr;
	const struct consent_request *rq;
	const char *consent_id;
	struct withdraw_refusal *why;
	json_t *out;
	int not_found, already, refused;
};

static int withdraw_tx(struct store_tx *tx, void *arg)
{
	struct withdraw_ctx *c = arg;
	const struct consent_request *rq = c->rq;
	struct store_rows *r;
	int has = 0;
	/* Only this subject's consents: another's id is simply not found. */
	int err = store_query(
		tx,
		"SELECT kind, withdrawn_at, policy_version, channel, language FROM "
		"consents"
		" WHERE id = $1 AND subject_id = $2",
		(struct store_val[]){ SV_TEXT(c->consent_id), SV_TEXT(rq->subject_id) },
		2, &r);
	if (err)
		return err;
	err = store_rows_next(r, &has);
	int kind = -1, withdrawn = 0;
	char version[LEDGER_VERSION_MAX] = "", channel[16] = "", language[8] = "";
	if (!err && has) {
		kind = consent_kind_parse(store_rows_text(r, 0, NULL));
		withdrawn = !store_rows_is_null(r, 1);
		copy_col(r, 2, version, sizeof(version));
		/* A withdrawal comes by the channel and in the language of the
		 * grant it undoes: DELETE carries no body to say otherwise. */
		copy_col(r, 3, channel, sizeof(channel));
		copy_col(r, 4, language, sizeof(language));
	}
	store_rows_free(r);
	if (err)
		return err;
	if (!has || kind < 0) {
		c->not_found = 1;
		return SENIM_OK;
	}
	if (withdrawn) {
		c->already = 1;
		return SENIM_OK;
	}
	const struct consent_def *def = consent_def((enum consent_kind)kind);
	if (def->needed_for_obligations && !def->marketing) {
		int64_t open = 0;
		err = obligations_open_in(tx, c->kr, rq->subject_id, &open,
					  c->why->obligation, sizeof(c->why->obligation));
		if (err)
			return err;
		if (open > 0) {
			/* C2: not while the borrower owes the MFO. */
			c->refused = 1;
			c->why->open_count = open;
			snprintf(c->why->reason, sizeof(c->why->reason),
				 "open_obligation");
			return audit(tx, c->kr, rq, "consent.withdraw", c->consent_id,
				     (enum consent_kind)kind, "denied");
		}
	}
	struct policy_ref pol;
	int found = 0;
	err = policy_ref_in(tx, version, &pol, &found);
	if (err)
		return err;
	int64_t now = clock_now_us();
	struct receipt_in in = { .event = "withdraw",
				 .consent_id = c->consent_id,
				 .kind = (enum consent_kind)kind,
				 .at_us = now,
				 .language = language[0] ? language : rq->language,
				 .channel = channel[0] ? channel : rq->channel,
				 .subject_id = rq->subject_id,
				 .policy_version = version,
				 .policy_sha256_ru = pol.sha_ru,
				 .policy_sha256_kk = pol.sha_kk };
	json_t *receipt = NULL;
	err = receipt_make(c->kr, &in, &receipt);
	char *text = (!err && receipt) ? json_dumps(receipt, JSON_COMPACT) : NULL;
	if (!err && !text)
		err = SENIM_ERR_NOMEM;
	if (!err)
		err = store_exec(
			tx,
			"UPDATE consents SET withdrawn_at = $3, withdrawal_receipt = $4"
			" WHERE id = $1 AND subject_id = $2 AND withdrawn_at IS NULL",
			(struct store_val[]){ SV_TEXT(c->consent_id),
					      SV_TEXT(rq->subject_id), SV_INT(now),
					      SV_TEXT(text) },
			4, NULL);
	if (!err)
		err = audit(tx, c->kr, rq, "consent.withdraw", c->consent_id,
			    (enum consent_kind)kind, "success");
	if (!err) {
		struct store_rows *r2;
		err = store_query(tx,
				  "SELECT " ROW_COLUMNS " FROM consents WHERE id = $1",
				  (struct store_val[]){ SV_TEXT(c->consent_id) }, 1, &r2);
		if (!err) {
			err = store_rows_next(r2, &has);
			if (!err && has)
				c->out = row_json(r2);
			store_rows_free(r2);
		}
	}
	free(text);
	json_decref(receipt);
	return err;
}

int ledger_withdraw(struct store *st, const struct keyring *kr,
		    const struct consent_request *rq, const char *consent_id,
		    json_t **out, struct withdraw_refusal *why)
{
	struct withdraw_ctx c = { kr, rq, consent_id, why, NULL, 0, 0, 0 };
	memset(why, 0, sizeof(*why));
	*out = NULL;
	int err = store_write(st, withdraw_tx, &c);
	if (!err && c.not_found)
		err = SENIM_ERR_NOT_FOUND;
	else if (!err && c.already)
		err = SENIM_ERR_CONFLICT;
	else if (!err && c.refused)
		err = SENIM_ERR_DENIED;
	if (err)
		json_decref(c.out);
	else
		*out = c.out;
	return err;
}

struct list_ctx {
	const char *subject_id;
	json_t *items;
};

static int list_tx(struct store_tx *tx, void *arg)
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

struct state_ctx {
	const char *subject_id;
	int *accepted;
	char *current;
};

static int state_tx(struct store_tx *tx, void *arg)
{
	struct state_ctx *c = arg;
	struct policy_ref cur;
	int found = 0;
	int err = policy_ref_in(tx, NULL, &cur, &found);
	if (err)
		return err;
	snprintf(c->current, LEDGER_VERSION_MAX, "%s", found ? cur.version : "");
	uint32_t active = 0;
	err = ledger_active_in(tx, c->subject_id, &active);
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
