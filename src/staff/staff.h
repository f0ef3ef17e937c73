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
 * Guessing is slowed, never locked out: failed sign-ins count per account
 * (in the store), and after STAFF_FREE_FAILURES in a row the account's next
 * try must wait a pause that doubles with each further failure, up to
 * STAFF_BACKOFF_MAX_S (staff_backoff_policy()).  A try during the pause is
 * refused with SENIM_ERR_LOCKED and the seconds left, before any password
 * hash and without any write, so it neither costs the server nor stretches
 * the pause: whoever tries once it is over — the member, typically — is
 * heard.  A login that does not exist gets the same pauses (kept in memory),
 * so pauses do not tell which logins exist.  `staff unlock` clears a pause.
 * Every other failed answer is the same SENIM_ERR_AUTH, whether the login
 * exists, the password is wrong, the code is wrong or the account is
 * revoked, so answers reveal nothing.
 *
 * Argon2id is costly on purpose; at most one verification per CPU runs at a
 * time (staff_set_hash_slots()).  A sign-in that finds every slot busy for
 * 250 ms is refused with SENIM_ERR_UNAVAILABLE, before any write.  The
 * calls block (a hash, a group commit): the HTTP layer makes them from an
 * I/O thread, never a worker.
 *
 * Every change, sign-in and failed sign-in is written to the audit log in the
 * same transaction (fail closed).  A failed sign-in is recorded as the act of
 * "anonymous" against the account it named: it proves nothing about who
 * tried.  TOTP secrets are sealed with the key ring (associated data
 * "staff-totp:<id>").
 */
#ifndef SENIM_STAFF_H
#define SENIM_STAFF_H

#include <stdint.h>

#include "common/backoff.h"
#include "common/result.h"
#include "core/roles.h"
#include "store/store.h"
#include "vault/keyring.h"

#define STAFF_LOGIN_MAX 64
#define STAFF_PASSWORD_MIN 12
#define STAFF_PASSWORD_MAX 256
#define STAFF_TOKEN_MAX 64 /* "snm_" + 43 base64url chars + NUL fits */
#define STAFF_SESSION_SECONDS (8 * 3600)
#define STAFF_FREE_FAILURES 5	   /* failures in a row before the first pause */
#define STAFF_BACKOFF_MAX_S 60	   /* the longest pause between tries */
#define STAFF_BACKOFF_FORGET_S 900 /* in-memory counts: forgotten after this */
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
/* Clear an account's failure count and its pause.  SENIM_ERR_NOT_FOUND if
 * no such account. */
SENIM_MUST_CHECK int staff_unlock(struct store *st, const struct keyring *kr,
				  const struct staff_who *who, const char *login);

/* One line of `staff list`. */
struct staff_info {
	int64_t id;
	char login[STAFF_LOGIN_MAX + 1];
	enum role role;
	int is_service;
	int enrolled;
	int locked; /* in a pause after failed sign-ins now */
	int revoked;
	int64_t created_at;
};
typedef void (*staff_list_fn)(const struct staff_info *info, void *ctx);
SENIM_MUST_CHECK int staff_list(struct store *st, staff_list_fn fn, void *ctx);

/* ---- signing in (HTTP) ------------------------------------------------- */

/* The pauses after failed sign-ins: 1 s after STAFF_FREE_FAILURES in a row,
 * doubling, at most STAFF_BACKOFF_MAX_S.  The HTTP layer applies the same to
 * client addresses. */
const struct backoff_policy *staff_backoff_policy(void);

/* How many Argon2id computations may run at once: negative (the default)
 * one per CPU; 0 refuses every sign-in (for tests). */
void staff_set_hash_slots(int slots);

/*
 * First step of enrolment for an account that has not enrolled TOTP: check
 * the one-time password and make a fresh pending TOTP secret.  secret_b32
 * gets it in base32 (for an authenticator app).  Any failure is
 * SENIM_ERR_AUTH (and counts as a failed sign-in); so is an account that has
 * enrolled already, so enrolment never confirms a password to someone who
 * lacks the second factor.  SENIM_ERR_LOCKED during a pause and
 * SENIM_ERR_UNAVAILABLE with every hash slot busy, both with
 * *retry_after_s set (when not NULL) and nothing checked or written.
 */
SENIM_MUST_CHECK int staff_enroll_begin(struct store *st, const struct keyring *kr,
					const struct staff_who *who, const char *login,
					const char *password,
					char secret_b32[STAFF_TOTP_SECRET_B32_MAX],
					int *retry_after_s);

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
 * first-sign-in steps are missing; SENIM_ERR_LOCKED and
 * SENIM_ERR_UNAVAILABLE as for staff_enroll_begin(), with *retry_after_s.
 */
SENIM_MUST_CHECK int staff_sign_in(struct store *st, const struct keyring *kr,
				   const struct staff_who *who,
				   const struct staff_login *req,
				   char token[STAFF_TOKEN_MAX], int64_t *expires_at,
				   enum staff_login_block *block, int *retry_after_s);

/* The account behind a bearer token; SENIM_ERR_AUTH when the token is
 * unknown, expired or revoked, or the account is revoked. */
SENIM_MUST_CHECK int staff_authenticate(struct store *st, const char *token,
					struct staff_actor *out);

/* Revoke one session token (log out).  SENIM_ERR_AUTH if not valid. */
SENIM_MUST_CHECK int staff_sign_out(struct store *st, const struct keyring *kr,
				    const struct staff_who *who, const char *token);

#endif
