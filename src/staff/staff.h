/*
 * staff.h — the lender's staff as callers (S1, S3): who acts, and the bearer
 * tokens that say so.  The base of src/staff/: every other staff module
 * builds on it, and the rest of the server needs only this header to know
 * who a staff caller is.
 *
 *   staff.h     callers, bearer tokens, sign-out, the staff audit record
 *   account.h   accounts and their roles: add, revoke, unlock, list
 *   password.h  Argon2id password hashes, one-time passwords, hash slots
 *   totp.h      the second factor (RFC 6238)
 *   sign_in.h   enrolment and sign-in attempts, and the pauses after
 *               failures
 *
 * Bearer tokens are 32 random bytes, shown once as "snm_" + base64url, and
 * stored only as BLAKE2b-256 hashes: the store never holds a usable token.
 * A session token (a person's sign-in) expires after STAFF_SESSION_SECONDS;
 * a service token (staff_add_prepare with service set) lasts until its
 * account is revoked.  A token is valid only while its account is not
 * revoked.
 *
 * Every change to a staff account, sign-in, failed sign-in and sign-out is
 * written to the audit log in the same transaction (fail closed), with
 * purpose security_compliance and object "staff:<id>".  No record carries
 * a password, token, code or secret.
 */
#ifndef SENIM_STAFF_H
#define SENIM_STAFF_H

#include <stdint.h>

#include "common/result.h"
#include "core/roles.h"
#include "store/store.h"
#include "vault/keyring.h"

#define STAFF_LOGIN_MAX 64
#define STAFF_TOKEN_MAX 64 /* "snm_" + 43 base64url chars + NUL fits */
#define STAFF_SESSION_SECONDS (8 * 3600)
#define STAFF_REF_MAX 32 /* "staff:" + an int64 + NUL */

/* Who acts, for the audit record of a staff operation.  Both strings are
 * borrowed and must outlive the operation. */
struct staff_who {
	const char *actor;	/* "staff:3", "cli"; NULL: "anonymous" */
	const char *request_id; /* HTTP request id or CLI run id */
};

/* An authenticated caller. */
struct staff_actor {
	int64_t id;
	enum role role;
	int is_service;
	char login[STAFF_LOGIN_MAX + 1];
};

/* 1 when `login` is 1..64 chars of [a-z0-9._-], starting with a letter. */
int staff_login_valid(const char *login);

/* ---- bearer tokens -------------------------------------------------------- */

/*
 * The account behind a bearer token, in one indexed read (every staff
 * request makes it).  SENIM_ERR_AUTH when the token is malformed, unknown,
 * expired or revoked, or its account is revoked; *out is then zeroed.
 */
SENIM_MUST_CHECK enum senim_result staff_authenticate(struct store *st, const char *token,
						      struct staff_actor *out);

/*
 * A sign-out (DELETE /v1/staff/sessions): revokes one live session token
 * with its `staff.sign_out` record.  Run staff_sign_out_tx with store_write
 * or http_write_then.  SENIM_ERR_AUTH (nothing written) when the token is
 * not a live session token: a service token ends only when its account is
 * revoked (account.h).
 */
struct staff_sign_out {
	/* in (borrowed; outlive the op) */
	const struct keyring *kr;
	struct staff_who who;
	const char *token;
};
SENIM_MUST_CHECK enum senim_result staff_sign_out_tx(struct store_tx *tx, void *op);

/* ---- for the other staff modules ------------------------------------------ */

/*
 * Inside a write: make a new token for account staff_id, store its hash
 * (created at now; expires_at 0: a service token that never expires), and
 * put the token in `token`.  The caller wipes its copy of the token.
 */
SENIM_MUST_CHECK enum senim_result staff_token_issue(struct store_tx *tx,
						     int64_t staff_id, int64_t now,
						     int64_t expires_at,
						     char token[STAFF_TOKEN_MAX]);

/* "staff:<id>": the audit object (and, for the account's own acts, the
 * actor) that names an account. */
void staff_ref(char out[STAFF_REF_MAX], int64_t id);

/*
 * Inside a write: append one staff audit record.  actor NULL means
 * who->actor ("anonymous" when there is none); the request id is who's.
 */
SENIM_MUST_CHECK enum senim_result staff_audit(struct store_tx *tx,
					       const struct keyring *kr,
					       const struct staff_who *who,
					       const char *actor, const char *operation,
					       const char *object, const char *outcome);

#endif
