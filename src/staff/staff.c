/*
 * staff.c — staff callers: bearer tokens, authentication, sign-out, and the
 * audit record every staff operation appends.
 *
 * Audit operation here: staff.sign_out.
 */
#include "staff/staff.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "audit/audit.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/banned.h"

#define TOKEN_PREFIX "snm_"
#define TOKEN_PREFIX_LEN 4
#define TOKEN_BYTES 32
#define TOKEN_B64_LEN 43 /* base64url of 32 bytes, no padding */
#define TOKEN_HASH_BYTES 32

#define AUDIT_PURPOSE "security_compliance"

int staff_login_valid(const char *login)
{
	if (!login || !(login[0] >= 'a' && login[0] <= 'z'))
		return 0;
	size_t i = 0;
	for (; login[i]; i++) {
		char c = login[i];
		if (i >= STAFF_LOGIN_MAX)
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
		      c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

void staff_ref(char out[STAFF_REF_MAX], int64_t id)
{
	snprintf(out, STAFF_REF_MAX, "staff:%lld", (long long)id);
}

enum senim_result staff_audit(struct store_tx *tx, const struct keyring *kr,
			      const struct staff_who *who, const char *actor,
			      const char *operation, const char *object,
			      const char *outcome)
{
	if (!actor)
		actor = who && who->actor ? who->actor : "anonymous";
	struct audit_record rec = {
		.actor = actor,
		.operation = operation,
		.object = object,
		.subject_id = NULL,
		.categories = "",
		.purpose = AUDIT_PURPOSE,
		.outcome = outcome,
		.request_id = who && who->request_id ? who->request_id : "",
	};
	return audit_append(tx, kr, &rec);
}

/* ---- tokens ---------------------------------------------------------------- */

/* The stored hash of a presented token; SENIM_ERR_AUTH when it is not one of
 * ours in form (wrong prefix, length or alphabet). */
static enum senim_result token_hash(const char *token,
				    unsigned char hash[TOKEN_HASH_BYTES])
{
	if (!token || strncmp(token, TOKEN_PREFIX, TOKEN_PREFIX_LEN) != 0)
		return SENIM_ERR_AUTH;
	const char *b64 = token + TOKEN_PREFIX_LEN;
	if (strnlen(b64, TOKEN_B64_LEN + 1) != TOKEN_B64_LEN)
		return SENIM_ERR_AUTH;
	unsigned char raw[TOKEN_BYTES];
	size_t len = 0;
	const char *end = NULL;
	enum senim_result err = SENIM_OK;
	/* libsodium refuses non-zero trailing bits, so each token has exactly
	 * one spelling. */
	if (sodium_base642bin(raw, sizeof(raw), b64, TOKEN_B64_LEN, NULL, &len, &end,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    len != TOKEN_BYTES || end != b64 + TOKEN_B64_LEN)
		err = SENIM_ERR_AUTH;
	else
		crypto_generichash(hash, TOKEN_HASH_BYTES, raw, sizeof(raw), NULL, 0);
	sodium_memzero(raw, sizeof(raw));
	return err;
}

enum senim_result staff_token_issue(struct store_tx *tx, int64_t staff_id, int64_t now,
				    int64_t expires_at, char token[STAFF_TOKEN_MAX])
{
	unsigned char raw[TOKEN_BYTES];
	unsigned char hash[TOKEN_HASH_BYTES];
	randombytes_buf(raw, sizeof(raw));
	memcpy(token, TOKEN_PREFIX, TOKEN_PREFIX_LEN);
	sodium_bin2base64(token + TOKEN_PREFIX_LEN, STAFF_TOKEN_MAX - TOKEN_PREFIX_LEN,
			  raw, sizeof(raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	crypto_generichash(hash, TOKEN_HASH_BYTES, raw, sizeof(raw), NULL, 0);
	sodium_memzero(raw, sizeof(raw));
	struct store_val p[] = { SV_BLOB(hash, sizeof(hash)), SV_INT(staff_id),
				 SV_INT(now),
				 expires_at ? SV_INT(expires_at) : SV_NULL() };
	enum senim_result err =
		store_exec(tx,
			   "INSERT INTO staff_tokens (token_hash, staff_id,"
			   " created_at, expires_at) VALUES ($1, $2, $3, $4)",
			   p, 4, NULL);
	sodium_memzero(hash, sizeof(hash));
	if (err)
		sodium_memzero(token, STAFF_TOKEN_MAX);
	return err;
}

struct auth_ctx {
	const unsigned char *hash;
	struct staff_actor *out;
};

static enum senim_result authenticate_fn(struct store_tx *tx, void *ctx)
{
	struct auth_ctx *a = ctx;
	struct store_val p[] = { SV_BLOB(a->hash, TOKEN_HASH_BYTES),
				 SV_INT(clock_now_us()) };
	struct store_rows *r = NULL;
	/* The hot path of every request: one indexed query. */
	enum senim_result err =
		store_query_one(tx,
				"SELECT s.id, s.role, s.kind, s.login"
				" FROM staff_tokens t JOIN staff s ON s.id = t.staff_id"
				" WHERE t.token_hash = $1 AND t.revoked_at IS NULL"
				" AND (t.expires_at IS NULL OR t.expires_at > $2)"
				" AND s.revoked_at IS NULL",
				p, 2, &r);
	if (err == SENIM_ERR_NOT_FOUND)
		return SENIM_ERR_AUTH;
	if (err)
		return err;
	size_t n = 0;
	const char *login = store_rows_text(r, 3, &n);
	int role = role_parse(store_rows_text(r, 1, NULL));
	if (role < 0 || n > STAFF_LOGIN_MAX) {
		/* Fail closed on a row we cannot trust. */
		log_event(LOG_ERROR, "staff_bad_row", "reason", "login or role", NULL);
		err = SENIM_ERR_AUTH;
		goto fail;
	}
	a->out->id = store_rows_int(r, 0);
	a->out->role = (enum role)role;
	a->out->is_service = strcmp(store_rows_text(r, 2, NULL), "service") == 0;
	memcpy(a->out->login, login, n);
	a->out->login[n] = '\0';
fail:
	store_rows_free(r);
	return err;
}

enum senim_result staff_authenticate(struct store *st, const char *token,
				     struct staff_actor *out)
{
	memset(out, 0, sizeof(*out));
	unsigned char hash[TOKEN_HASH_BYTES];
	enum senim_result err = token_hash(token, hash);
	if (err)
		return err;
	struct auth_ctx a = { hash, out };
	err = store_read(st, authenticate_fn, &a);
	if (err)
		memset(out, 0, sizeof(*out));
	return err;
}

enum senim_result staff_sign_out_tx(struct store_tx *tx, void *op)
{
	struct staff_sign_out *so = op;
	unsigned char hash[TOKEN_HASH_BYTES];
	struct store_rows *r = NULL;
	enum senim_result err = token_hash(so->token, hash);
	if (err)
		return err;
	struct store_val p[] = { SV_BLOB(hash, sizeof(hash)), SV_INT(clock_now_us()) };
	/* Only a live session token: service tokens end with staff_revoke_tx. */
	err = store_query_one(tx,
			      "SELECT t.staff_id FROM staff_tokens t"
			      " JOIN staff s ON s.id = t.staff_id"
			      " WHERE t.token_hash = $1 AND t.revoked_at IS NULL"
			      " AND t.expires_at IS NOT NULL AND t.expires_at > $2"
			      " AND s.revoked_at IS NULL",
			      p, 2, &r);
	if (err == SENIM_ERR_NOT_FOUND)
		err = SENIM_ERR_AUTH;
	if (err)
		goto fail;
	char ref[STAFF_REF_MAX];
	staff_ref(ref, store_rows_int(r, 0));
	err = store_exec(tx,
			 "UPDATE staff_tokens SET revoked_at = $2 WHERE token_hash = $1",
			 p, 2, NULL);
	if (err)
		goto fail;
	err = staff_audit(tx, so->kr, &so->who, NULL, "staff.sign_out", ref, "success");
fail:
	store_rows_free(r);
	sodium_memzero(hash, sizeof(hash));
	return err;
}
