/*
 * staff.h — the lender's staff and service accounts (S1, S3).
 *
 * People sign in with login + password (Argon2id, libsodium crypto_pwhash_str)
 * + a TOTP code (RFC 6238 via liboath, 6 digits, 30 s, ±1 step).  An account
 * made by staff_add() has a one-time password: its first sign-in must enrol
 * TOTP and set a new password.  Service accounts (the app gateway, batch
 * jobs) have no password: staff_add() gives them a bearer token.
 *
 * Bearer tokens are 32 random bytes, shown once as "snm_" + base64url, and
 * stored only as BLAKE2b-256 hashes.  Session tokens expire after
 * STAFF_SESSION_SECONDS; service tokens last until revoked.
 *
 * Failed sign-ins count per account; after STAFF_MAX_FAILURES in a row the
 * account is locked for STAFF_LOCK_SECONDS (or until `staff unlock`).  Every
 * answer to a failed sign-in is the same SENIM_ERR_AUTH, whether the login
 * exists, the password is wrong, the code is wrong or the account is locked
 * or revoked, so answers reveal nothing.
 *
 * Every change, sign-in and failed sign-in is written to the audit log in the
 * same transaction (fail closed).  TOTP secrets are sealed with the key ring
 * (associated data "staff-totp:<id>").
 */
#ifndef SENIM_STAFF_H
#define SENIM_STAFF_H

#include <stdint.h>

#include "common/result.h"
#include "core/roles.h"
#include "store/store.h"
#include "vault/keyring.h"

#define STAFF_LOGIN_MAX 64
#define STAFF_PASSWORD_MIN 12
#define STAFF_PASSWORD_MAX 256
#define STAFF_TOKEN_MAX 64 /* "snm_" + 43 base64url chars + NUL fits */
#define STAFF_SESSION_SECONDS (8 * 3600)
#define STAFF_MAX_FAILURES 5
#define STAFF_LOCK_SECONDS (15 * 60)
#define STAFF_TOTP_SECRET_B32_MAX 64

/* Who acts, for the audit record of a staff operation. */
struct staff_who {
	const char *actor;	/* "staff:3", "cli" */
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

/* ---- administration (CLI) ---------------------------------------------- */

/*
 * Create an account.  For a person, *secret gets the one-time password; for
 * a service account (service != 0), the bearer token.  *secret is a heap
 * string the caller wipes and frees with staff_secret_free().
 * SENIM_ERR_INVALID for a bad login, SENIM_ERR_CONFLICT when it exists.
 */
SENIM_MUST_CHECK int staff_add(struct store *st, const struct keyring *kr,
			       const struct staff_who *who, const char *login,
			       enum role role, int service, char **secret);
void staff_secret_free(char *secret);

/* Disable an account and every token it has.  SENIM_ERR_NOT_FOUND if none. */
SENIM_MUST_CHECK int staff_revoke(struct store *st, const struct keyring *kr,
				  const struct staff_who *who, const char *login);
/* Clear a lockout.  SENIM_ERR_NOT_FOUND if no such account. */
SENIM_MUST_CHECK int staff_unlock(struct store *st, const struct keyring *kr,
				  const struct staff_who *who, const char *login);

/* One line of `staff list`. */
struct staff_info {
	int64_t id;
	char login[STAFF_LOGIN_MAX + 1];
	enum role role;
	int is_service;
	int enrolled;
	int locked; /* locked now */
	int revoked;
	int64_t created_at;
};
typedef void (*staff_list_fn)(const struct staff_info *info, void *ctx);
SENIM_MUST_CHECK int staff_list(struct store *st, staff_list_fn fn, void *ctx);

/* ---- signing in (HTTP) ------------------------------------------------- */

/*
 * First step of enrolment for an account that has not enrolled TOTP: check
 * the one-time password and make a fresh pending TOTP secret.  secret_b32
 * gets it in base32 (for an authenticator app).  Any failure is
 * SENIM_ERR_AUTH (and counts as a failed sign-in); so is an account that has
 * enrolled already, so enrolment never confirms a password to someone who
 * lacks the second factor.
 */
SENIM_MUST_CHECK int staff_enroll_begin(struct store *st, const struct keyring *kr,
					const struct staff_who *who, const char *login,
					const char *password,
					char secret_b32[STAFF_TOTP_SECRET_B32_MAX]);

struct staff_login {
	const char *login;
	const char *password;
	const char *totp;	  /* 6 digits */
	const char *new_password; /* required on first sign-in, else NULL */
};

/* Why a correct-password sign-in still cannot proceed. */
enum staff_login_block {
	STAFF_LOGIN_OK,
	STAFF_LOGIN_ENROLL_FIRST,  /* call staff_enroll_begin() first */
	STAFF_LOGIN_NEW_PASSWORD,  /* first sign-in needs new_password */
	STAFF_LOGIN_WEAK_PASSWORD, /* new_password too short/long or same */
};

/*
 * Sign in.  On success token gets a new session token and *expires_at its
 * expiry (us).  SENIM_ERR_AUTH for any wrong or unusable credential;
 * SENIM_ERR_DENIED with *block set when the credentials were right but the
 * first-sign-in steps are missing.
 */
SENIM_MUST_CHECK int staff_sign_in(struct store *st, const struct keyring *kr,
				   const struct staff_who *who,
				   const struct staff_login *req,
				   char token[STAFF_TOKEN_MAX], int64_t *expires_at,
				   enum staff_login_block *block);

/* The account behind a bearer token; SENIM_ERR_AUTH when the token is
 * unknown, expired or revoked, or the account is revoked. */
SENIM_MUST_CHECK int staff_authenticate(struct store *st, const char *token,
					struct staff_actor *out);

/* Revoke one session token (log out).  SENIM_ERR_AUTH if not valid. */
SENIM_MUST_CHECK int staff_sign_out(struct store *st, const struct keyring *kr,
				    const struct staff_who *who, const char *token);

#endif
