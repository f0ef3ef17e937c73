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
static int audit_object(struct store_tx *tx, const struct keyring *kr, const char *op,
			const char *subject_id, int proven, const char *outcome,
			const char *request_id, const char *object_given)
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

static int audit(struct store_tx *tx, const struct keyring *kr, const char *op,
		 const char *subject_id, int proven, const char *outcome,
		 const char *request_id)
{
	return audit_object(tx, kr, op, subject_id, proven, outcome, request_id, NULL);
}

/*
 * What a sign-in's record names as its object: "phone_change:<id>" when the
 * subject's sign-in phone was last set by staff, else "subject:<id>"
 * (object gets 48 bytes).
 */
static int sign_in_object(struct store_tx *tx, const char *subject_id, char object[48])
{
	struct store_rows *r;
	int has = 0;
	snprintf(object, 48, "subject:%s", subject_id);
	int err = store_query(tx,
			      "SELECT id, kind FROM phone_changes WHERE subject_id = $1"
			      " AND status = 'applied' ORDER BY decided_at DESC, id DESC"
			      " LIMIT 1",
			      (struct store_val[]){ SV_TEXT(subject_id) }, 1, &r);
	if (err)
		return err;
	err = store_rows_next(r, &has);
	if (!err && has && strcmp(store_rows_text(r, 1, NULL), "staff") == 0) {
		size_t len = 0;
		const char *id = store_rows_text(r, 0, &len);
		if (len < 32)
			snprintf(object, 48, "phone_change:%.*s", (int)len, id);
	}
	store_rows_free(r);
	return err;
}

/*
 * Who holds this phone: *holders is 0, 1 or 2 (two meaning "more than one":
 * a phone may be shared, e.g. in a family, or recycled by the operator),
 * and id the holder when there is exactly one.  With `iin` (12 digits),
 * only the holder with that IIN counts: 0 or 1.
 */
static int phone_holders(struct store_tx *tx, const struct keyring *kr, const char *phone,
			 const char *iin, int *holders, char id[SUBJECT_ID_LEN])
{
	unsigned char pd[VAULT_INDEX_BYTES], idd[VAULT_INDEX_BYTES];
	vault_blind_index(kr, "phone", phone, strlen(phone), pd);
	struct store_rows *r;
	int err;
	if (iin) {
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
	*holders = 0;
	id[0] = '\0';
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

struct issue_ctx {
	const struct keyring *kr;
	const char *request_id, *phone;
	char *code;
	char *subject_id;
};

static enum senim_result issue_tx(struct store_tx *tx, void *arg)
{
	struct issue_ctx *c = arg;
	unsigned char digest[VAULT_INDEX_BYTES], hash[32];
	vault_blind_index(c->kr, "phone", c->phone, strlen(c->phone), digest);
	code_hash(c->kr, c->phone, c->code, hash);
	int64_t now = clock_now_us();
	int err = store_exec(tx, "DELETE FROM borrower_otps WHERE phone_digest = $1",
			     (struct store_val[]){ SV_BLOB(digest, sizeof(digest)) }, 1,
			     NULL);
	if (!err)
		err = store_exec(
			tx,
			"INSERT INTO borrower_otps (phone_digest, code_hash, created_at,"
			" expires_at) VALUES ($1, $2, $3, $4)",
			(struct store_val[]){
				SV_BLOB(digest, sizeof(digest)),
				SV_BLOB(hash, sizeof(hash)), SV_INT(now),
				SV_INT(now + BORROWER_OTP_SECONDS * INT64_C(1000000)) },
			4, NULL);
	int holders = 0;
	if (!err) /* the record names the borrower when the phone is one's */
		err = phone_holders(tx, c->kr, c->phone, NULL, &holders, c->subject_id);
	if (!err)
		err = audit(tx, c->kr, "borrower.otp_issue", c->subject_id, 0, "success",
			    c->request_id);
	sodium_memzero(hash, sizeof(hash));
	return err;
}

void borrower_otp_new_code(char code[7])
{
	snprintf(code, 7, "%06u", (unsigned)randombytes_uniform(1000000));
}

int borrower_otp_issue(struct store *st, const struct keyring *kr, const char *request_id,
		       const char *phone, char code[7], char subject_id[SUBJECT_ID_LEN])
{
	struct issue_ctx c = { kr, request_id, phone, code, subject_id };
	subject_id[0] = '\0';
	return store_write(st, issue_tx, &c);
}

/* A sign-in between its request and its answer (auth.h): the phone and code
 * are copied, so the write may run after the caller's frame is gone. */
struct borrower_verify_op {
	const struct keyring *kr;
	const char *request_id;
	char phone_buf[PHONE_E164_LEN], code_buf[7], iin_buf[13];
	const char *phone, *code, *iin; /* iin NULL when not given */
	char token[BORROWER_TOKEN_MAX];
	int64_t expires_at;
	char subject_id[SUBJECT_ID_LEN];
	int ok;
	int ambiguous; /* a right code, but the phone is several borrowers' */
};
/* A failure still commits (the attempt counter and the audit record). */
static enum senim_result verify_tx(struct store_tx *tx, void *arg)
{
	struct borrower_verify_op *c = arg;
	unsigned char digest[VAULT_INDEX_BYTES], want[32];
	vault_blind_index(c->kr, "phone", c->phone, strlen(c->phone), digest);
	struct store_rows *r;
	int has = 0;
	int64_t now = clock_now_us();
	int err = store_query(
		tx,
		"SELECT code_hash, expires_at, attempts, used_at FROM borrower_otps"
		" WHERE phone_digest = $1",
		(struct store_val[]){ SV_BLOB(digest, sizeof(digest)) }, 1, &r);
	if (err)
		return err;
	err = store_rows_next(r, &has);
	int usable = 0, match = 0;
	if (!err && has) {
		size_t len;
		const void *stored = store_rows_blob(r, 0, &len);
		usable = store_rows_int(r, 1) > now &&
			 store_rows_int(r, 2) < BORROWER_OTP_ATTEMPTS &&
			 store_rows_is_null(r, 3);
		code_hash(c->kr, c->phone, c->code, want);
		match = len == sizeof(want) &&
			sodium_memcmp(stored, want, sizeof(want)) == 0;
		sodium_memzero(want, sizeof(want));
	}
	store_rows_free(r);
	if (err)
		return err;
	int holders = 0;
	err = phone_holders(tx, c->kr, c->phone, c->iin, &holders, c->subject_id);
	if (err)
		return err;
	if (has && usable && match && holders == 2) {
		/* The code proves the phone, not which of its borrowers this
		 * is: the IIN must say.  The code stays usable for that. */
		c->ambiguous = 1;
		return audit(tx, c->kr, "borrower.sign_in", "", 0, "ambiguous",
			     c->request_id);
	}
	if (!has || !usable || !match || holders != 1) {
		/* A wrong code, or a right one with an IIN that is not the
		 * phone's borrower's: one attempt of the few a code has. */
		if (has && usable)
			err = store_exec(
				tx,
				"UPDATE borrower_otps SET attempts = attempts + 1"
				" WHERE phone_digest = $1",
				(struct store_val[]){ SV_BLOB(digest, sizeof(digest)) },
				1, NULL);
		return err ? err
			   : audit(tx, c->kr, "borrower.sign_in", c->subject_id, 0,
				   "failed", c->request_id);
	}
	err = store_exec(
		tx, "UPDATE borrower_otps SET used_at = $2 WHERE phone_digest = $1",
		(struct store_val[]){ SV_BLOB(digest, sizeof(digest)), SV_INT(now) }, 2,
		NULL);
	unsigned char raw[32], th[TOKEN_HASH_BYTES];
	randombytes_buf(raw, sizeof(raw));
	memcpy(c->token, "snb_", 4);
	sodium_bin2base64(c->token + 4, BORROWER_TOKEN_MAX - 4, raw, sizeof(raw),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
	token_hash(c->token, th);
	c->expires_at = now + BORROWER_SESSION_SECONDS * INT64_C(1000000);
	if (!err)
		err = store_exec(
			tx,
			"INSERT INTO borrower_tokens (token_hash, subject_id, created_at,"
			" expires_at) VALUES ($1, $2, $3, $4)",
			(struct store_val[]){ SV_BLOB(th, sizeof(th)),
					      SV_TEXT(c->subject_id), SV_INT(now),
					      SV_INT(c->expires_at) },
			4, NULL);
	/* Attributable: a sign-in after a staff-made phone change names it. */
	char object[48];
	if (!err)
		err = sign_in_object(tx, c->subject_id, object);
	if (!err)
		err = audit_object(tx, c->kr, "borrower.sign_in", c->subject_id, 1,
				   "success", c->request_id, object);
	if (!err)
		c->ok = 1;
	return err;
}

int borrower_otp_verify_prepare(const struct keyring *kr, const char *request_id,
				const char *phone, const char *code, const char *iin,
				struct borrower_verify_op **out)
{
	*out = NULL;
	struct borrower_verify_op *op = calloc(1, sizeof(*op));
	if (!op)
		return SENIM_ERR_NOMEM;
	op->kr = kr;
	op->request_id = request_id;
	snprintf(op->phone_buf, sizeof(op->phone_buf), "%s", phone);
	snprintf(op->code_buf, sizeof(op->code_buf), "%s", code);
	op->phone = op->phone_buf;
	op->code = op->code_buf;
	if (iin) {
		snprintf(op->iin_buf, sizeof(op->iin_buf), "%s", iin);
		op->iin = op->iin_buf;
	}
	*out = op;
	return SENIM_OK;
}

enum senim_result borrower_otp_verify_tx(struct store_tx *tx, void *op)
{
	return verify_tx(tx, op);
}

int borrower_otp_verify_finish(struct borrower_verify_op *op, int result,
			       char token[BORROWER_TOKEN_MAX], int64_t *expires_at,
			       char subject_id[SUBJECT_ID_LEN])
{
	token[0] = subject_id[0] = '\0';
	*expires_at = 0;
	int err = result;
	if (!err && op->ambiguous)
		err = SENIM_ERR_CONFLICT;
	else if (!err && !op->ok)
		err = SENIM_ERR_AUTH;
	if (!err) {
		memcpy(token, op->token, BORROWER_TOKEN_MAX);
		memcpy(subject_id, op->subject_id, SUBJECT_ID_LEN);
		*expires_at = op->expires_at;
	}
	sodium_memzero(op, sizeof(*op)); /* the code and the token */
	free(op);
	return err;
}

int borrower_otp_verify(struct store *st, const struct keyring *kr,
			const char *request_id, const char *phone, const char *code,
			const char *iin, char token[BORROWER_TOKEN_MAX],
			int64_t *expires_at, char subject_id[SUBJECT_ID_LEN])
{
	struct borrower_verify_op *op;
	token[0] = subject_id[0] = '\0';
	int err = borrower_otp_verify_prepare(kr, request_id, phone, code, iin, &op);
	if (err)
		return err;
	err = store_write(st, borrower_otp_verify_tx, op);
	return borrower_otp_verify_finish(op, err, token, expires_at, subject_id);
}

struct authn_ctx {
	unsigned char hash[TOKEN_HASH_BYTES];
	char *subject_id;
};

static enum senim_result authn_tx(struct store_tx *tx, void *arg)
{
	struct authn_ctx *c = arg;
	struct store_rows *r;
	int has = 0;
	int err =
		store_query(tx,
			    "SELECT subject_id FROM borrower_tokens WHERE token_hash = $1"
			    " AND revoked_at IS NULL AND expires_at > $2",
			    (struct store_val[]){ SV_BLOB(c->hash, sizeof(c->hash)),
						  SV_INT(clock_now_us()) },
			    2, &r);
	if (err)
		return err;
	err = store_rows_next(r, &has);
	if (!err && !has)
		err = SENIM_ERR_AUTH;
	if (!err) {
		size_t len;
		const char *s = store_rows_text(r, 0, &len);
		if (len >= SUBJECT_ID_LEN) {
			err = SENIM_ERR_AUTH;
		} else {
			memcpy(c->subject_id, s, len);
			c->subject_id[len] = '\0';
		}
	}
	store_rows_free(r);
	return err;
}

int borrower_authenticate(struct store *st, const char *token,
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

/* A sign-out between its request and its write (auth.h): only the token's
 * hash is kept. */
struct borrower_signout_op {
	const struct keyring *kr;
	const char *request_id;
	unsigned char hash[TOKEN_HASH_BYTES];
};

static enum senim_result signout_tx(struct store_tx *tx, void *arg)
{
	struct borrower_signout_op *c = arg;
	char sid[SUBJECT_ID_LEN];
	struct authn_ctx a = { { 0 }, sid };
	memcpy(a.hash, c->hash, sizeof(a.hash));
	int err = authn_tx(tx, &a);
	if (err)
		return err;
	err = store_exec(
		tx, "UPDATE borrower_tokens SET revoked_at = $2 WHERE token_hash = $1",
		(struct store_val[]){ SV_BLOB(c->hash, sizeof(c->hash)),
				      SV_INT(clock_now_us()) },
		2, NULL);
	if (!err)
		err = audit(tx, c->kr, "borrower.sign_out", sid, 1, "success",
			    c->request_id); /* the token proves the borrower */
	return err;
}

int borrower_sign_out_prepare(const struct keyring *kr, const char *request_id,
			      const char *token, struct borrower_signout_op **out)
{
	*out = NULL;
	if (!token || !borrower_token_form(token))
		return SENIM_ERR_AUTH;
	struct borrower_signout_op *op = calloc(1, sizeof(*op));
	if (!op)
		return SENIM_ERR_NOMEM;
	op->kr = kr;
	op->request_id = request_id;
	token_hash(token, op->hash);
	*out = op;
	return SENIM_OK;
}

enum senim_result borrower_sign_out_tx(struct store_tx *tx, void *op)
{
	return signout_tx(tx, op);
}

int borrower_sign_out_finish(struct borrower_signout_op *op, int result)
{
	sodium_memzero(op, sizeof(*op));
	free(op);
	return result;
}

int borrower_revoke_sessions_tx(struct store_tx *tx, const char *subject_id,
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
