/*
 * sign_in.c — enrolment and sign-in attempts.
 *
 * An attempt runs in three phases, so that the deliberately slow password
 * hash never runs while the store's write lock is held (it serialises every
 * writer of the whole service):
 *   1. read the account in a read transaction (a snapshot);
 *   2. check the credentials outside any transaction: exactly one Argon2id
 *      verification and one TOTP check whether or not the login exists;
 *   3. in a write transaction, re-read the account and commit the outcome:
 *      the failure counter and the pause it earns, or the session, with
 *      their audit records.  The callback returns SENIM_OK even for a
 *      failed sign-in, so the counter and the record are committed; the
 *      caller's answer travels in the attempt struct.  The account's pause,
 *      revocation and credentials are checked again here, against the fresh
 *      row, so a concurrent failure, revocation or enrolment always wins.
 * A try during a pause ends after phase 1: no hash, no write.
 */
#include "staff/sign_in.h"

#include <pthread.h>
#include <sodium.h>
#include <string.h>

#include "common/buf.h"
#include "common/clock.h"
#include "staff/account.h"
#include "staff/password.h"
#include "common/banned.h"

#define US_PER_S 1000000

/* 1 s after five failures in a row, then 2, 4, ... up to a minute: a member
 * who mistypes is barely slowed, a guesser gets about one try a minute. */
static const struct backoff_policy BACKOFF = { .free_failures = STAFF_FREE_FAILURES,
					       .base_s = 1,
					       .max_s = STAFF_BACKOFF_MAX_S,
					       .forget_s = STAFF_BACKOFF_FORGET_S };

const struct backoff_policy *staff_backoff_policy(void)
{
	return &BACKOFF;
}

/* Logins whose failures the store does not count (none such, revoked, a
 * service account) pause the same way, counted here. */
#define UNCOUNTED_SLOTS 4096
static struct backoff *uncounted;

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static enum senim_result init_result = SENIM_ERR_CRYPTO;

static void init(void)
{
	if (sodium_init() < 0)
		return;
	uncounted = backoff_new(UNCOUNTED_SLOTS, &BACKOFF);
	if (uncounted)
		init_result = SENIM_OK;
}

/* libsodium, liboath and the in-memory counts, once per process. */
static enum senim_result sign_in_init(void)
{
	pthread_once(&init_once, init);
	return init_result ? init_result : staff_totp_init();
}

enum attempt_kind {
	ATTEMPT_ENROLL,
	ATTEMPT_SIGN_IN
};

/* One attempt's state between the phases; in sodium_malloc'd memory, since
 * it holds a password hash and sealed secrets. */
struct attempt {
	enum attempt_kind kind;
	struct staff_attempt *op;
	const char *password;	     /* op's, "" for none */
	struct staff_account before; /* phase 1 */
	int creds_ok;		     /* phase 2: every factor asked for was right */
	enum staff_login_block block;
	char new_hash[STAFF_PASSWORD_HASH_MAX]; /* first sign-in: the new password */
	uint64_t totp_step; /* the time step the code matched; 0 when none */
	/* phase 3 */
	enum senim_result result;
	int count_in_memory; /* a failure the store does not count */
};

/* 1 when the store counts this account's failures: a person who may sign
 * in.  Other logins (none such, revoked, service) are counted in memory. */
static int counted_in_store(const struct staff_account *a)
{
	return a->found && !a->revoked && !a->is_service;
}

static int seconds_until(int64_t when_us, int64_t now_us)
{
	int64_t left = when_us - now_us;
	return left > 0 ? (int)((left + US_PER_S - 1) / US_PER_S) : 0;
}

/* ---- phase 1 ------------------------------------------------------------------ */

struct login_read {
	const char *login;
	struct staff_account *acct;
};

static enum senim_result login_read_fn(struct store_tx *tx, void *ctx)
{
	struct login_read *lr = ctx;
	return staff_account_by_login(tx, lr->login, lr->acct);
}

/* The account named login, if the name is valid and it exists. */
static enum senim_result account_by_login(struct store *st, const char *login,
					  struct staff_account *a)
{
	a->found = 0;
	if (!staff_login_valid(login))
		return SENIM_OK;
	struct login_read lr = { login, a };
	return store_read(st, login_read_fn, &lr);
}

/*
 * After phase 1: may this login be tried now?  SENIM_ERR_LOCKED with
 * *retry_after_s during a pause, SENIM_ERR_UNAVAILABLE when no hash slot
 * comes free in time; otherwise a hash slot is held for phase 2.
 */
static enum senim_result may_try(const struct staff_account *a, const char *login,
				 int *retry_after_s)
{
	int wait = counted_in_store(a) ? seconds_until(a->locked_until, clock_now_us())
				       : backoff_wait_s(uncounted, login, strlen(login));
	if (wait > 0) {
		*retry_after_s = wait;
		return SENIM_ERR_LOCKED;
	}
	if (!staff_password_slot_take()) {
		*retry_after_s = 1;
		return SENIM_ERR_UNAVAILABLE;
	}
	return SENIM_OK;
}

/* ---- phase 2 ------------------------------------------------------------------ */

/* The password factor: always one Argon2id verification. */
static int password_ok(const struct staff_account *a, const char *password)
{
	int usable = a->found && a->has_password && !a->is_service;
	return staff_password_verify(usable ? a->password_hash : NULL, password);
}

/* The TOTP factor, against the account's sealed secret (the pending one
 * before enrolment); *present = 1 when the account had it. */
static int totp_ok(const struct staff_attempt *op, const struct staff_account *a,
		   int *present, uint64_t *step)
{
	const unsigned char *sealed = a->enrolled ? a->secret : a->pending;
	size_t sealed_len = !a->found ? 0 : a->enrolled ? a->secret_len : a->pending_len;
	return staff_totp_check(op->kr, a->id, sealed, sealed_len, op->totp, present,
				step);
}

/* For a right first sign-in: what is still missing, or the new password's
 * hash in at->new_hash. */
static enum senim_result first_sign_in_block(struct attempt *at, int pending_present)
{
	const struct staff_attempt *op = at->op;
	at->block = STAFF_LOGIN_OK;
	if (!pending_present) {
		at->block = STAFF_LOGIN_ENROLL_FIRST;
		return SENIM_OK;
	}
	if (!op->new_password) {
		at->block = STAFF_LOGIN_NEW_PASSWORD;
		return SENIM_OK;
	}
	size_t n = strlen(op->new_password);
	size_t old = strlen(at->password);
	if (n < STAFF_PASSWORD_MIN || n > STAFF_PASSWORD_MAX ||
	    (n == old && sodium_memcmp(op->new_password, at->password, n) == 0)) {
		at->block = STAFF_LOGIN_WEAK_PASSWORD;
		return SENIM_OK;
	}
	return staff_password_hash(op->new_password, at->new_hash);
}

/* ---- phase 3 ------------------------------------------------------------------ */

static int same_bytes(const void *a, size_t alen, const void *b, size_t blen)
{
	return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

/* 1 when the credentials checked in phase 2 are still the account's. */
static int account_unchanged(const struct staff_account *was,
			     const struct staff_account *now)
{
	return was->has_password == now->has_password &&
	       strcmp(was->password_hash, now->password_hash) == 0 &&
	       was->enrolled == now->enrolled &&
	       same_bytes(was->secret, was->secret_len, now->secret, now->secret_len) &&
	       same_bytes(was->pending, was->pending_len, now->pending, now->pending_len);
}

static const char *attempt_op(const struct attempt *at)
{
	return at->kind == ATTEMPT_ENROLL ? "staff.enroll" : "staff.sign_in";
}

/* A failed try: anonymous, since it proves nothing about who made it, and
 * against the account it named. */
static enum senim_result audit_failure(struct store_tx *tx, struct attempt *at,
				       const char *ref)
{
	return staff_audit(tx, at->op->kr, &at->op->who, "anonymous", attempt_op(at), ref,
			   "failed");
}

/* Count a wrong credential and start the pause it earns (locked_until holds
 * the end of the pause).  Only tries made outside a pause get here, so
 * nobody can stretch a pause by trying during it. */
static enum senim_result count_failure(struct store_tx *tx, struct attempt *at,
				       const struct staff_account *cur, const char *ref,
				       int64_t now)
{
	int64_t failed = cur->failed_logins + 1;
	int pause = backoff_delay_s(&BACKOFF, failed);
	int64_t until = pause ? now + (int64_t)pause * US_PER_S : 0;
	struct store_val p[] = { SV_INT(cur->id), SV_INT(failed), SV_INT(until) };
	enum senim_result err = store_exec(
		tx,
		"UPDATE staff SET failed_logins = $2, locked_until = $3 WHERE id = $1", p,
		3, NULL);
	return err ? err : audit_failure(tx, at, ref);
}

/* Enrolment step one with right credentials: a fresh pending TOTP secret. */
static enum senim_result write_enrolment(struct store_tx *tx, struct attempt *at,
					 const struct staff_account *cur, const char *ref)
{
	struct staff_attempt *op = at->op;
	struct buf sealed;
	buf_init(&sealed, STAFF_TOTP_SEALED_MAX);
	enum senim_result err = staff_totp_new(op->kr, cur->id, &sealed, op->secret_b32);
	if (err)
		goto fail;
	err = store_exec(
		tx, "UPDATE staff SET totp_pending = $2 WHERE id = $1",
		(struct store_val[]){ SV_INT(cur->id), SV_BLOB(sealed.data, sealed.len) },
		2, NULL);
	if (err)
		goto fail;
	err = staff_audit(tx, op->kr, &op->who, ref, "staff.enroll", ref, "success");
	if (err)
		goto fail;
	at->result = SENIM_OK;
fail:
	if (err)
		sodium_memzero(op->secret_b32, sizeof(op->secret_b32));
	buf_release(&sealed);
	return err;
}

/* A sign-in with every step done: the session, and enrolment completed. */
static enum senim_result write_session(struct store_tx *tx, struct attempt *at,
				       const struct staff_account *cur, const char *ref,
				       int64_t now)
{
	struct staff_attempt *op = at->op;
	enum senim_result err;
	if (cur->enrolled)
		err = store_exec(
			tx,
			"UPDATE staff SET failed_logins = 0, locked_until = 0,"
			" totp_last_step = $2 WHERE id = $1",
			(struct store_val[]){ SV_INT(cur->id), SV_INT(at->totp_step) }, 2,
			NULL);
	else
		err = store_exec(tx,
				 "UPDATE staff SET password_hash = $2,"
				 " totp_secret = totp_pending, totp_pending = NULL,"
				 " enrolled = 1, failed_logins = 0, locked_until = 0,"
				 " totp_last_step = $3 WHERE id = $1",
				 (struct store_val[]){ SV_INT(cur->id),
						       SV_TEXT(at->new_hash),
						       SV_INT(at->totp_step) },
				 3, NULL);
	if (err)
		goto fail;
	int64_t expires = now + (int64_t)STAFF_SESSION_SECONDS * US_PER_S;
	err = staff_token_issue(tx, cur->id, now, expires, op->token);
	if (err)
		goto fail;
	err = staff_audit(tx, op->kr, &op->who, ref, "staff.sign_in", ref, "success");
	if (err)
		goto fail;
	op->expires_at = expires;
	at->result = SENIM_OK;
fail:
	if (err)
		sodium_memzero(op->token, sizeof(op->token));
	return err;
}

/*
 * Phase 3.  Returns SENIM_OK whenever the outcome, good or bad, is to be
 * committed; the answer for the caller is at->result.  Any other return is
 * a store or audit failure and rolls everything back (fail closed).
 */
static enum senim_result attempt_commit(struct store_tx *tx, void *ctx)
{
	struct attempt *at = ctx;
	at->result = SENIM_ERR_AUTH;
	at->count_in_memory = 0;
	if (!at->before.found) {
		at->count_in_memory = 1;
		return audit_failure(tx, at, "staff:unknown");
	}

	struct staff_account cur;
	int64_t now = clock_now_us();
	char ref[STAFF_REF_MAX];
	staff_ref(ref, at->before.id);
	enum senim_result err = staff_account_lock(tx, at->before.id, &cur);
	int usable = counted_in_store(&cur);
	if (err) {
		/* a store failure: nothing to commit */
	} else if (usable && cur.locked_until > now) {
		/* A failure committed since phase 1 started a pause: this try
		 * waits like any other, and leaves nothing behind. */
		at->result = SENIM_ERR_LOCKED;
		at->op->retry_after_s = seconds_until(cur.locked_until, now);
	} else if (!usable) {
		/* Revoked (or turned into a service account) meanwhile: the
		 * same answer as a wrong password, counted like an unknown
		 * login's. */
		at->count_in_memory = 1;
		err = audit_failure(tx, at, ref);
	} else if (!at->creds_ok) {
		err = count_failure(tx, at, &cur, ref, now);
	} else if (at->totp_step && (int64_t)at->totp_step <= cur.totp_last_step) {
		/* RFC 6238 5.2: a code already accepted is not accepted again,
		 * and a replay counts as a failed sign-in. */
		err = count_failure(tx, at, &cur, ref, now);
	} else if (!account_unchanged(&at->before, &cur)) {
		/* Right credentials, but they changed under us: the same
		 * answer as a wrong password. */
		err = audit_failure(tx, at, ref);
	} else if (at->kind == ATTEMPT_ENROLL && cur.enrolled) {
		/* The same answer as a wrong password: enrolment must not confirm
		 * a password to someone without the second factor. */
		err = staff_audit(tx, at->op->kr, &at->op->who, ref, "staff.enroll", ref,
				  "denied");
	} else if (at->kind == ATTEMPT_ENROLL) {
		err = write_enrolment(tx, at, &cur, ref);
	} else if (at->block != STAFF_LOGIN_OK) {
		at->result = SENIM_ERR_DENIED;
		err = staff_audit(tx, at->op->kr, &at->op->who, ref, "staff.sign_in", ref,
				  "denied");
	} else {
		err = write_session(tx, at, &cur, ref, now);
	}
	staff_account_wipe(&cur);
	if (err)
		at->result = err;
	return err;
}

/* ---- the attempt --------------------------------------------------------------- */

/*
 * All three phases: the account, the credentials (check_credentials, with
 * a hash slot held), the outcome; then count a failure the store does not.
 * Returns the answer.
 */
static enum senim_result
attempt_run(struct store *st, struct staff_attempt *op, enum attempt_kind kind,
	    enum senim_result (*check_credentials)(struct attempt *))
{
	const char *login = op->login ? op->login : "";
	op->block = STAFF_LOGIN_OK;
	op->retry_after_s = 0;
	op->expires_at = 0;
	sodium_memzero(op->token, sizeof(op->token));
	sodium_memzero(op->secret_b32, sizeof(op->secret_b32));
	enum senim_result err = sign_in_init();
	if (err)
		return err;
	struct attempt *at = sodium_malloc(sizeof(*at));
	if (!at)
		return SENIM_ERR_NOMEM;
	memset(at, 0, sizeof(*at));
	at->kind = kind;
	at->op = op;
	at->password = op->password ? op->password : "";
	err = account_by_login(st, login, &at->before);
	if (err)
		goto fail;
	err = may_try(&at->before, login, &op->retry_after_s);
	if (err)
		goto fail;
	err = check_credentials(at);
	staff_password_slot_give();
	if (err)
		goto fail;
	err = store_write(st, attempt_commit, at);
	if (err)
		goto fail;
	err = at->result;
	if (err == SENIM_ERR_AUTH && at->count_in_memory)
		backoff_failed(uncounted, login, strlen(login));
fail:
	if (err == SENIM_ERR_DENIED)
		op->block = at->block;
	if (err) { /* a token or secret is only ever handed out with SENIM_OK */
		sodium_memzero(op->token, sizeof(op->token));
		sodium_memzero(op->secret_b32, sizeof(op->secret_b32));
		op->expires_at = 0;
	}
	sodium_free(at); /* wipes the hashes and sealed secrets too */
	return err;
}

static enum senim_result enroll_credentials(struct attempt *at)
{
	at->creds_ok = password_ok(&at->before, at->password);
	return SENIM_OK;
}

enum senim_result staff_enroll_begin(struct store *st, struct staff_attempt *op)
{
	return attempt_run(st, op, ATTEMPT_ENROLL, enroll_credentials);
}

static enum senim_result sign_in_credentials(struct attempt *at)
{
	int present = 0;
	int pw = password_ok(&at->before, at->password);
	int code = totp_ok(at->op, &at->before, &present, &at->totp_step);
	if (at->before.enrolled)
		at->creds_ok = pw && code;
	else
		/* Before enrolment there is no second factor yet: a right
		 * password with no pending secret is told to enrol; with one,
		 * its code is the second factor. */
		at->creds_ok = pw && (!present || code);
	if (at->creds_ok && !at->before.enrolled)
		return first_sign_in_block(at, present);
	return SENIM_OK;
}

enum senim_result staff_sign_in(struct store *st, struct staff_attempt *op)
{
	return attempt_run(st, op, ATTEMPT_SIGN_IN, sign_in_credentials);
}

void staff_attempt_dispose(void *op)
{
	sodium_memzero(op, sizeof(struct staff_attempt));
}
