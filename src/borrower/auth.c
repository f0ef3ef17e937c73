/*
 * auth.c — one-time codes and borrower tokens.
 */
#include "borrower/auth.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "common/clock.h"
#include "core/contact.h"
#include "exchange/register.h"
#include "vault/vault.h"
#include "common/banned.h"

#define TOKEN_HASH_BYTES 32

int borrower_token_form(const char *token)
{
	return strncmp(token, "snb_", 4) == 0 && strlen(token) < BORROWER_TOKEN_MAX;
}

/* Keyed hash of (phone, code): a 6-digit code is a million guesses offline,
 * so it is never hashed without a key the database does not hold. */
static void code_hash(const struct keyring *kr, const char *phone, const char *code,
		      unsigned char out[32])
{
	char msg[64];
	int n = snprintf(msg, sizeof(msg), "otp:%s:%s", phone, code);
	keyring_blind_index(kr, msg, (size_t)n, out);
	sodium_memzero(msg, sizeof(msg));
}

static void token_hash(const char *token, unsigned char out[TOKEN_HASH_BYTES])
{
	crypto_generichash(out, TOKEN_HASH_BYTES, (const unsigned char *)token,
			   strlen(token), NULL, 0);
}

/*
 * One record of a sign-in step.  The actor is the borrower only once the
 * code has proved it (`proven`): anyone who knows a phone number can ask
 * for a code or guess one, and those acts must not read as the borrower's.
 */
static enum senim_result audit_object(struct store_tx *tx, const struct keyring *kr,
				      const char *op, const char *subject_id, int proven,
				      const char *outcome, const char *request_id,
				      const char *object_given)
{
	char actor[48], object[48];
	snprintf(actor, sizeof(actor), "%s%s", proven ? "borrower:" : "anonymous",
		 proven ? subject_id : "");
	if (object_given)
		snprintf(object, sizeof(object), "%s", object_given);
	else
		snprintf(object, sizeof(object), "subject:%s",
			 subject_id && *subject_id ? subject_id : "unknown");
	struct audit_record rec = { .actor = actor,
				    .operation = op,
				    .object = object,
				    .subject_id =
					    subject_id && *subject_id ? subject_id : NULL,
				    .categories = "contact",
				    .purpose = "identification",
				    .outcome = outcome,
				    .request_id = request_id };
	return audit_append(tx, kr, &rec);
}

static enum senim_result audit(struct store_tx *tx, const struct keyring *kr,
			       const char *op, const char *subject_id, int proven,
			       const char *outcome, const char *request_id)
{
	return audit_object(tx, kr, op, subject_id, proven, outcome, request_id, NULL);
}

/*
 * What a sign-in's record names as its object: "phone_change:<id>" when the
 * subject's sign-in phone was last set by staff, else "subject:<id>"
 * (object gets 48 bytes).
 */
static enum senim_result sign_in_object(struct store_tx *tx, const char *subject_id,
					char object[48])
{
	struct store_rows *r = NULL;
	snprintf(object, 48, "subject:%s", subject_id);
	enum senim_result err = store_query_one(
		tx,
		"SELECT id, kind FROM phone_changes WHERE subject_id = $1"
		" AND status = 'applied' ORDER BY decided_at DESC, id DESC"
		" LIMIT 1",
		(struct store_val[]){ SV_TEXT(subject_id) }, 1, &r);
	if (err == SENIM_ERR_NOT_FOUND) /* the phone of the registration */
		return SENIM_OK;
	if (err)
		return err;
	if (strcmp(store_rows_text(r, 1, NULL), "staff") == 0) {
		size_t len = 0;
		const char *id = store_rows_text(r, 0, &len);
		if (len < 32)
			snprintf(object, 48, "phone_change:%.*s", (int)len, id);
	}
	store_rows_free(r);
	return SENIM_OK;
}

/*
 * Who holds this phone: *holders is 0, 1 or 2 (two meaning "more than one":
 * a phone may be shared, e.g. in a family, or recycled by the operator),
 * and id the holder when there is exactly one.  With `iin` (12 digits; NULL
 * or "" for none), only the holder with that IIN counts: 0 or 1.
 */
static enum senim_result phone_holders(struct store_tx *tx, const struct keyring *kr,
				       const char *phone, const char *iin, int *holders,
				       char id[SUBJECT_ID_LEN])
{
	unsigned char pd[VAULT_INDEX_BYTES], idd[VAULT_INDEX_BYTES];
	struct store_rows *r = NULL;
	enum senim_result err;
	*holders = 0;
	id[0] = '\0';
	vault_blind_index(kr, "phone", phone, strlen(phone), pd);
	if (iin && *iin) {
		vault_blind_index(kr, "iin", iin, strlen(iin), idd);
		err = store_query(tx,
				  "SELECT p.subject_id FROM subject_index p"
				  " JOIN subject_index i ON i.subject_id = p.subject_id"
				  " WHERE p.kind = 'phone' AND p.digest = $1"
				  " AND i.kind = 'iin' AND i.digest = $2",
				  (struct store_val[]){ SV_BLOB(pd, sizeof(pd)),
							SV_BLOB(idd, sizeof(idd)) },
				  2, &r);
	} else {
		err = store_query(
			tx,
			"SELECT subject_id FROM subject_index WHERE kind = 'phone'"
			" AND digest = $1 ORDER BY subject_id LIMIT 2",
			(struct store_val[]){ SV_BLOB(pd, sizeof(pd)) }, 1, &r);
	}
	if (err)
		return err;
	int has = 0;
	while (!(err = store_rows_next(r, &has)) && has && *holders < 2) {
		size_t len;
		const char *s = store_rows_text(r, 0, &len);
		if (++*holders == 1 && len < SUBJECT_ID_LEN) {
			memcpy(id, s, len);
			id[len] = '\0';
		}
	}
	store_rows_free(r);
	if (*holders != 1)
		id[0] = '\0';
	return err;
}

const struct recipient *borrower_sms_processor(const struct recipients *r,
					       const struct recipient_service **svc)
{
	*svc = NULL;
	for (size_t i = 0; r && i < r->n; i++) {
		const struct recipient *rc = &r->recipients[i];
		if (rc->kind != RECIPIENT_PROCESSOR)
			continue;
		for (size_t j = 0; j < rc->nservices; j++) {
			const struct recipient_service *s = &rc->services[j];
			/* A code serves identification (U4); a gateway engaged
			 * for other purposes only does not carry it. */
			if (s->api == RECIPIENT_API_SMS &&
			    (s->purposes & PURPOSE_BIT(PURPOSE_IDENTIFICATION))) {
				*svc = s;
				return rc;
			}
		}
	}
	return NULL;
}

enum senim_result borrower_sms_register_tx(struct store_tx *tx, const struct keyring *kr,
					   const struct borrower_sms_fate *f,
					   const char *subject_id, const char *actor,
					   const char *request_id)
{
	if (!f->rc || !f->svc)
		return SENIM_OK;
	/* What went is the number, nothing else: the sms/1 service sends
	 * contact.phone_mobile only (core/recipients.c). */
	struct disclosure d = { .subject_id = subject_id,
				.direction = REGISTER_OUT,
				.recipient = f->rc,
				.service = f->svc->code,
				.categories = "contact",
				.fields = "contact.phone_mobile",
				.purpose = PURPOSE_IDENTIFICATION,
				.basis = f->svc->basis,
				.legal_ref = f->svc->legal_ref,
				.outcome =
					f->failed ? REGISTER_FAILED : REGISTER_DELIVERED,
				.reason = f->failed ? "sms_unavailable" : NULL,
				.may_have_reached = f->failed && f->may_have_reached,
				.request_id = request_id,
				.actor = actor };
	return register_append(tx, kr, &d, NULL);
}

/*
 * The register entries of a code sent to op->phone: one for each subject
 * holding it (a shared phone is each holder's), none when no one does.
 * The holders are read first, then appended, so no statement runs while
 * another's rows are open.
 */
static enum senim_result otp_register(struct store_tx *tx, const struct borrower_otp *op)
{
	unsigned char pd[VAULT_INDEX_BYTES];
	struct store_rows *r = NULL;
	char(*ids)[SUBJECT_ID_LEN] = NULL;
	size_t n = 0, cap = 0;
	if (!op->sms.rc)
		return SENIM_OK;
	vault_blind_index(op->kr, "phone", op->phone, strlen(op->phone), pd);
	enum senim_result err =
		store_query(tx,
			    "SELECT subject_id FROM subject_index WHERE kind = 'phone'"
			    " AND digest = $1 ORDER BY subject_id",
			    (struct store_val[]){ SV_BLOB(pd, sizeof(pd)) }, 1, &r);
	if (err)
		return err;
	int has = 0;
	while (!(err = store_rows_next(r, &has)) && has) {
		size_t len;
		const char *s = store_rows_text(r, 0, &len);
		if (len >= SUBJECT_ID_LEN)
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 2;
			void *grown = realloc(ids, ncap * sizeof(*ids));
			if (!grown) {
				err = SENIM_ERR_NOMEM;
				break;
			}
			ids = grown;
			cap = ncap;
		}
		memcpy(ids[n], s, len);
		ids[n++][len] = '\0';
	}
	store_rows_free(r);
	/* Asked for by anyone who knows the number: not the borrower's act. */
	for (size_t i = 0; !err && i < n; i++)
		err = borrower_sms_register_tx(tx, op->kr, &op->sms, ids[i], "anonymous",
					       op->request_id);
	free(ids);
	return err;
}

void borrower_otp_new_code(char code[7])
{
	snprintf(code, 7, "%06u", (unsigned)randombytes_uniform(1000000));
}

enum senim_result borrower_otp_issue_tx(struct store_tx *tx, void *arg)
{
	struct borrower_otp *op = arg;
	unsigned char digest[VAULT_INDEX_BYTES], hash[32];
	op->subject_id[0] = '\0';
	if (op->sms.failed) /* no code to keep: only the send's fate */
		return otp_register(tx, op);
	vault_blind_index(op->kr, "phone", op->phone, strlen(op->phone), digest);
	code_hash(op->kr, op->phone, op->code, hash);
	int64_t now = clock_now_us();
	enum senim_result err = store_exec(
		tx, "DELETE FROM borrower_otps WHERE phone_digest = $1",
		(struct store_val[]){ SV_BLOB(digest, sizeof(digest)) }, 1, NULL);
	if (err)
		goto fail;
	err = store_exec(tx,
			 "INSERT INTO borrower_otps (phone_digest, code_hash, created_at,"
			 " expires_at) VALUES ($1, $2, $3, $4)",
			 (struct store_val[]){
				 SV_BLOB(digest, sizeof(digest)),
				 SV_BLOB(hash, sizeof(hash)), SV_INT(now),
				 SV_INT(now + BORROWER_OTP_SECONDS * INT64_C(1000000)) },
			 4, NULL);
	if (err)
		goto fail;
	/* The record names the borrower when the phone is one's. */
	int holders = 0;
	err = phone_holders(tx, op->kr, op->phone, NULL, &holders, op->subject_id);
	if (err)
		goto fail;
	err = audit(tx, op->kr, "borrower.otp_issue", op->subject_id, 0, "success",
		    op->request_id);
	if (err)
		goto fail;
	err = otp_register(tx, op);
fail:
	sodium_memzero(hash, sizeof(hash));
	return err;
}

/* A right code: mark it used, issue the token, and record the sign-in. */
static enum senim_result sign_in(struct store_tx *tx, struct borrower_sign_in *op,
				 const unsigned char digest[VAULT_INDEX_BYTES],
				 int64_t now)
{
	unsigned char raw[32], th[TOKEN_HASH_BYTES];
	char object[48];
	enum senim_result err = store_exec(
		tx, "UPDATE borrower_otps SET used_at = $2 WHERE phone_digest = $1",
		(struct store_val[]){ SV_BLOB(digest, VAULT_INDEX_BYTES), SV_INT(now) },
		2, NULL);
	if (err)
		return err;
	randombytes_buf(raw, sizeof(raw));
	memcpy(op->token, "snb_", 4);
	sodium_bin2base64(op->token + 4, BORROWER_TOKEN_MAX - 4, raw, sizeof(raw),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
	token_hash(op->token, th);
	op->expires_at = now + BORROWER_SESSION_SECONDS * INT64_C(1000000);
	err = store_exec(
		tx,
		"INSERT INTO borrower_tokens (token_hash, subject_id, created_at,"
		" expires_at) VALUES ($1, $2, $3, $4)",
		(struct store_val[]){ SV_BLOB(th, sizeof(th)), SV_TEXT(op->subject_id),
				      SV_INT(now), SV_INT(op->expires_at) },
		4, NULL);
	if (err)
		return err;
	/* Attributable: a sign-in after a staff-made phone change names it. */
	err = sign_in_object(tx, op->subject_id, object);
	if (err)
		return err;
	err = audit_object(tx, op->kr, "borrower.sign_in", op->subject_id, 1, "success",
			   op->request_id, object);
	if (err)
		return err;
	op->refused = BORROWER_REFUSED_NONE;
	return SENIM_OK;
}

/* A failure still commits (the attempt counter and the audit record). */
enum senim_result borrower_sign_in_tx(struct store_tx *tx, void *arg)
{
	struct borrower_sign_in *op = arg;
	unsigned char digest[VAULT_INDEX_BYTES], want[32];
	struct store_rows *r = NULL;
	int64_t now = clock_now_us();
	/* The outputs are this transaction's alone. */
	op->refused = BORROWER_REFUSED_CODE;
	op->token[0] = op->subject_id[0] = '\0';
	op->expires_at = 0;
	vault_blind_index(op->kr, "phone", op->phone, strlen(op->phone), digest);
	enum senim_result err = store_query_one(
		tx,
		"SELECT code_hash, expires_at, attempts, used_at FROM borrower_otps"
		" WHERE phone_digest = $1",
		(struct store_val[]){ SV_BLOB(digest, sizeof(digest)) }, 1, &r);
	int has = !err, usable = 0, match = 0;
	if (err && err != SENIM_ERR_NOT_FOUND)
		return err;
	if (has) {
		size_t len;
		const void *stored = store_rows_blob(r, 0, &len);
		usable = store_rows_int(r, 1) > now &&
			 store_rows_int(r, 2) < BORROWER_OTP_ATTEMPTS &&
			 store_rows_is_null(r, 3);
		code_hash(op->kr, op->phone, op->code, want);
		match = len == sizeof(want) &&
			sodium_memcmp(stored, want, sizeof(want)) == 0;
		sodium_memzero(want, sizeof(want));
		store_rows_free(r);
	}
	int holders = 0;
	err = phone_holders(tx, op->kr, op->phone, op->iin, &holders, op->subject_id);
	if (err)
		return err;
	if (has && usable && match && holders == 2) {
		/* The code proves the phone, not which of its borrowers this
		 * is: the IIN must say.  The code stays usable for that. */
		op->refused = BORROWER_REFUSED_IIN_REQUIRED;
		return audit(tx, op->kr, "borrower.sign_in", "", 0, "ambiguous",
			     op->request_id);
	}
	if (has && usable && match && holders == 1)
		return sign_in(tx, op, digest, now);
	/* A wrong code, or a right one with an IIN that is not the phone's
	 * borrower's: one attempt of the few a code has. */
	if (has && usable) {
		err = store_exec(tx,
				 "UPDATE borrower_otps SET attempts = attempts + 1"
				 " WHERE phone_digest = $1",
				 (struct store_val[]){ SV_BLOB(digest, sizeof(digest)) },
				 1, NULL);
		if (err)
			return err;
	}
	return audit(tx, op->kr, "borrower.sign_in", op->subject_id, 0, "failed",
		     op->request_id);
}

void borrower_sign_in_dispose(void *op)
{
	sodium_memzero(op, sizeof(struct borrower_sign_in));
}

/* The live token whose hash is `hash`: its subject into subject_id. */
static enum senim_result live_token(struct store_tx *tx,
				    const unsigned char hash[TOKEN_HASH_BYTES],
				    char subject_id[SUBJECT_ID_LEN])
{
	struct store_rows *r = NULL;
	enum senim_result err = store_query_one(
		tx,
		"SELECT subject_id FROM borrower_tokens WHERE token_hash = $1"
		" AND revoked_at IS NULL AND expires_at > $2",
		(struct store_val[]){ SV_BLOB(hash, TOKEN_HASH_BYTES),
				      SV_INT(clock_now_us()) },
		2, &r);
	if (err == SENIM_ERR_NOT_FOUND)
		return SENIM_ERR_AUTH;
	if (err)
		return err;
	size_t len;
	const char *s = store_rows_text(r, 0, &len);
	err = SENIM_ERR_AUTH;
	if (len < SUBJECT_ID_LEN) {
		memcpy(subject_id, s, len);
		subject_id[len] = '\0';
		err = SENIM_OK;
	}
	store_rows_free(r);
	return err;
}

struct authn_ctx {
	unsigned char hash[TOKEN_HASH_BYTES];
	char *subject_id;
};

static enum senim_result authn_tx(struct store_tx *tx, void *arg)
{
	struct authn_ctx *c = arg;
	return live_token(tx, c->hash, c->subject_id);
}

enum senim_result borrower_authenticate(struct store *st, const char *token,
					char subject_id[SUBJECT_ID_LEN])
{
	struct authn_ctx c;
	subject_id[0] = '\0';
	if (!borrower_token_form(token))
		return SENIM_ERR_AUTH;
	token_hash(token, c.hash);
	c.subject_id = subject_id;
	return store_read(st, authn_tx, &c);
}

enum senim_result borrower_sign_out_tx(struct store_tx *tx, void *arg)
{
	struct borrower_sign_out *op = arg;
	unsigned char hash[TOKEN_HASH_BYTES];
	char sid[SUBJECT_ID_LEN];
	if (!op->token || !borrower_token_form(op->token))
		return SENIM_ERR_AUTH;
	token_hash(op->token, hash);
	enum senim_result err = live_token(tx, hash, sid);
	if (err)
		return err;
	err = store_exec(
		tx, "UPDATE borrower_tokens SET revoked_at = $2 WHERE token_hash = $1",
		(struct store_val[]){ SV_BLOB(hash, sizeof(hash)),
				      SV_INT(clock_now_us()) },
		2, NULL);
	if (err)
		return err;
	/* The token proves the borrower. */
	return audit(tx, op->kr, "borrower.sign_out", sid, 1, "success", op->request_id);
}

enum senim_result borrower_revoke_sessions_tx(struct store_tx *tx, const char *subject_id,
					      const char *keep_token, int64_t *revoked)
{
	unsigned char keep[TOKEN_HASH_BYTES] = { 0 };
	if (keep_token && borrower_token_form(keep_token))
		token_hash(keep_token, keep);
	/* A zero hash is no token's: with no token to keep, all go. */
	return store_exec(
		tx,
		"UPDATE borrower_tokens SET revoked_at = $2 WHERE subject_id = $1"
		" AND revoked_at IS NULL AND token_hash <> $3",
		(struct store_val[]){ SV_TEXT(subject_id), SV_INT(clock_now_us()),
				      SV_BLOB(keep, sizeof(keep)) },
		3, revoked);
}
