/*
 * sign_in.h — staff sign-in (S1): enrolment, sign-in, and the pauses that
 * slow guessing.
 *
 * People sign in with login + password (password.h) + a TOTP code
 * (totp.h).  An account made with a one-time password signs in first in
 * two steps: staff_enroll_begin() checks the one-time password and hands
 * out a pending TOTP secret; staff_sign_in() with a code from it and a new
 * password completes enrolment and opens the first session.
 *
 * Guessing is slowed, never locked out: failed sign-ins count per account
 * (in the store), and after STAFF_FREE_FAILURES in a row the account's next
 * try must wait a pause that doubles with each further failure, up to
 * STAFF_BACKOFF_MAX_S (staff_backoff_policy()).  A try during the pause is
 * refused with SENIM_ERR_LOCKED and the seconds left, before any password
 * hash and without any write, so it neither costs the server nor stretches
 * the pause: whoever tries once it is over — the member, typically — is
 * heard.  A login the store does not count (none such, revoked, a service
 * account) gets the same pauses, kept in memory, so pauses do not tell
 * which logins exist.  `staff unlock` clears a pause (account.h).  Every
 * other failed answer is the same SENIM_ERR_AUTH, whether the login exists,
 * the password is wrong, the code is wrong or the account is revoked, so
 * answers reveal nothing.  A code already accepted is not accepted again
 * (RFC 6238 5.2) and counts as a failure.
 *
 * A sign-in that finds every hash slot busy for 250 ms (password.h) is
 * refused with SENIM_ERR_UNAVAILABLE, before any write.  The calls block (a
 * hash, a group commit): the HTTP layer makes them from an I/O thread, never
 * a worker.
 *
 * An attempt, right or wrong, is written with its audit record in one
 * transaction (fail closed): staff.enroll, staff.sign_in (outcome success,
 * failed, or denied for right credentials with a first-sign-in step
 * missing).  A failed try is recorded as the act of "anonymous" against the
 * account it named: it proves nothing about who tried.
 */
#ifndef SENIM_STAFF_SIGN_IN_H
#define SENIM_STAFF_SIGN_IN_H

#include <stdint.h>

#include "common/backoff.h"
#include "common/result.h"
#include "staff/staff.h"
#include "staff/totp.h"
#include "store/store.h"
#include "vault/keyring.h"

#define STAFF_FREE_FAILURES 5	   /* failures in a row before the first pause */
#define STAFF_BACKOFF_MAX_S 60	   /* the longest pause between tries */
#define STAFF_BACKOFF_FORGET_S 900 /* in-memory counts: forgotten after this */

/* The pauses after failed sign-ins: 1 s after STAFF_FREE_FAILURES in a row,
 * doubling, at most STAFF_BACKOFF_MAX_S.  The HTTP layer applies the same to
 * client addresses. */
const struct backoff_policy *staff_backoff_policy(void);

/* Why a correct-password sign-in still cannot proceed. */
enum staff_login_block {
	STAFF_LOGIN_OK,
	STAFF_LOGIN_ENROLL_FIRST,  /* call staff_enroll_begin() first */
	STAFF_LOGIN_NEW_PASSWORD,  /* first sign-in needs new_password */
	STAFF_LOGIN_WEAK_PASSWORD, /* new_password too short/long or same */
};

/*
 * One enrolment step or sign-in.  The caller zeroes it, fills "in" and runs
 * it with staff_enroll_begin() or staff_sign_in(); "out" holds the answer.
 * It holds a token or a TOTP secret: wipe it with staff_attempt_dispose()
 * (a handler: the dispose hook of its arena allocation).
 */
struct staff_attempt {
	/* in (borrowed; outlive the call) */
	const struct keyring *kr;
	struct staff_who who;
	const char *login;
	const char *password;
	const char *totp;	  /* sign-in: 6 digits */
	const char *new_password; /* sign-in: required on the first, else NULL */
	/* out */
	enum staff_login_block block; /* SENIM_ERR_DENIED: what is missing */
	int retry_after_s;	      /* SENIM_ERR_LOCKED, SENIM_ERR_UNAVAILABLE */
	char token[STAFF_TOKEN_MAX];  /* sign-in, SENIM_OK: a session token */
	int64_t expires_at;	      /* and its expiry, microseconds */
	char secret_b32[STAFF_TOTP_SECRET_B32_MAX]; /* enrolment, SENIM_OK: the
						     * pending TOTP secret */
};

/*
 * First step of enrolment for an account that has not enrolled TOTP: check
 * the one-time password and make a fresh pending TOTP secret.  Any failure
 * is SENIM_ERR_AUTH (and counts as a failed sign-in); so is an account that
 * has enrolled already, so enrolment never confirms a password to someone
 * who lacks the second factor.  SENIM_ERR_LOCKED during a pause and
 * SENIM_ERR_UNAVAILABLE with every hash slot busy, both with retry_after_s
 * and nothing checked or written.
 */
SENIM_MUST_CHECK enum senim_result staff_enroll_begin(struct store *st,
						      struct staff_attempt *op);

/*
 * Sign in: on SENIM_OK a new session token and its expiry.  SENIM_ERR_AUTH
 * for any wrong or unusable credential; SENIM_ERR_DENIED with block set when
 * the credentials were right but the first-sign-in steps are missing;
 * SENIM_ERR_LOCKED and SENIM_ERR_UNAVAILABLE as for staff_enroll_begin().
 * A token is only ever left in the op with SENIM_OK.
 */
SENIM_MUST_CHECK enum senim_result staff_sign_in(struct store *st,
						 struct staff_attempt *op);

/* Wipe the op's token and secret (not the op's memory itself). */
void staff_attempt_dispose(void *op);

#endif
