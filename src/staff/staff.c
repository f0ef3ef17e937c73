/*
 * staff.c — staff and service accounts: passwords, TOTP, bearer tokens.
 *
 * A sign-in (and the first enrolment step) runs in three phases, so that the
 * deliberately slow password hash never runs while the store's write lock is
 * held (it serialises every writer of the whole service):
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
 *
 * Audit operations: staff.add, staff.revoke, staff.unlock, staff.enroll (the
 * first enrolment step), staff.sign_in (success, failed or denied — denied
 * for right credentials with a first-sign-in step missing) and
 * staff.sign_out.  No record carries a password, token, code or secret.
 */
#include "staff/staff.h"

#include <liboath/oath.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/banned.h"

/*
 * Argon2id with t=2 passes over m=19 MiB, one lane: the OWASP Password
 * Storage Cheat Sheet's first recommended Argon2id setting.  It costs an
 * attacker with a GPU dearly per guess while keeping a verification around
 * 20 ms and 19 MiB here, so a burst of sign-ins cannot exhaust the server's
 * memory.  The parameters live in each stored hash, so raising them later
 * leaves old hashes verifiable.
 */
#define PWHASH_OPSLIMIT 2
#define PWHASH_MEMLIMIT ((size_t)19 * 1024 * 1024)

/*
 * Run for a login that does not exist (or has no password), so that an
 * unknown login costs the same Argon2id verification as a known one: the
 * hash of a random password nobody knows, with the parameters above.
 */
static const char DUMMY_HASH[] = "$argon2id$v=19$m=19456,t=2,p=1$nHRBYzG+G4rqBOKO25x8yA"
				 "$+Kn/lKqnDRdO1Yq7k+ukVR+Bxq4xastKTcc1ufe1YJo";

#define TOTP_SECRET_BYTES 20 /* 160 bits, RFC 4226's recommendation */
#define TOTP_DIGITS 6
#define TOTP_STEP 30
#define TOTP_WINDOW 1 /* one step either side, for clock drift */

/* One-time passwords avoid characters people confuse: 0/O/o, 1/l/I/i. */
static const char OTP_ALPHABET[] = "abcdefghjkmnpqrstuvwxyz"
				   "ABCDEFGHJKLMNPQRSTUVWXYZ"
				   "23456789";
#define OTP_LEN 20 /* 20 chars of 55: about 115 bits */

#define TOKEN_PREFIX "snm_"
#define TOKEN_PREFIX_LEN 4
#define TOKEN_BYTES 32
#define TOKEN_B64_LEN 43 /* base64url of 32 bytes, no padding */
#define TOKEN_HASH_BYTES 32

#define SEALED_MAX 128 /* a sealed TOTP secret is 20 + KEYRING_SEAL_OVERHEAD */
#define REF_MAX 32     /* "staff:" + an int64 */
#define AD_MAX 48      /* "staff-totp:" + an int64 */
#define US_PER_S 1000000

#define AUDIT_PURPOSE "security_compliance"

/* 1 s after five failures in a row, then 2, 4, ... up to a minute: a member
 * who mistypes is barely slowed, a guesser gets about one try a minute. */
static const struct backoff_policy BACKOFF = { .free_failures = STAFF_FREE_FAILURES,
					       .base_s = 1,
					       .max_s = STAFF_BACKOFF_MAX_S,
					       .forget_s = STAFF_BACKOFF_FORGET_S };

/* Logins whose failures the store does not count (none such, revoked, a
 * service account) pause the same way, counted here. */
#define UNCOUNTED_SLOTS 4096
static struct backoff *uncounted;

/* ---- set-up and small helpers --------------------------------------------- */

static pthread_once_t libs_once = PTHREAD_ONCE_INIT;
static int libs_result = SENIM_ERR_CRYPTO;

static void libs_init(void)
{
	if (sodium_init() < 0)
		return;
	if (oath_init() != OATH_OK)
		return;
	uncounted = backoff_new(UNCOUNTED_SLOTS, &BACKOFF);
	if (!uncounted)
		return;
	libs_result = SENIM_OK;
}

/* libsodium and liboath, initialised once per process. */
static int staff_libs(void)
{
	pthread_once(&libs_once, libs_init);
	return libs_result;
}

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

static void staff_ref(char out[REF_MAX], int64_t id)
{
	snprintf(out, REF_MAX, "staff:%lld", (long long)id);
}

static void totp_ad(char out[AD_MAX], int64_t id)
{
	snprintf(out, AD_MAX, "staff-totp:%lld", (long long)id);
}

/* Append one staff audit record in tx; every staff record shares the purpose
 * and has no subject or categories. */
static int audit_staff(struct store_tx *tx, const struct keyring *kr, const char *actor,
		       const char *operation, const char *object, const char *outcome,
		       const struct staff_who *who)
{
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

static const char *who_actor(const struct staff_who *who)
{
	return who && who->actor ? who->actor : "anonymous";
}

/* A session or service token: "snm_" + base64url(32 random bytes) in token,
 * and the BLAKE2b-256 of the 32 bytes (what the store keeps) in hash. */
static void token_make(char token[STAFF_TOKEN_MAX], unsigned char hash[TOKEN_HASH_BYTES])
{
	unsigned char raw[TOKEN_BYTES];
	randombytes_buf(raw, sizeof(raw));
	memcpy(token, TOKEN_PREFIX, TOKEN_PREFIX_LEN);
	sodium_bin2base64(token + TOKEN_PREFIX_LEN, STAFF_TOKEN_MAX - TOKEN_PREFIX_LEN,
			  raw, sizeof(raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	crypto_generichash(hash, TOKEN_HASH_BYTES, raw, sizeof(raw), NULL, 0);
	sodium_memzero(raw, sizeof(raw));
}

/* The stored hash of a presented token; SENIM_ERR_AUTH when it is not one of
 * ours in form (wrong prefix, length or alphabet). */
static int token_hash(const char *token, unsigned char hash[TOKEN_HASH_BYTES])
{
	if (!token || strncmp(token, TOKEN_PREFIX, TOKEN_PREFIX_LEN) != 0)
		return SENIM_ERR_AUTH;
	const char *b64 = token + TOKEN_PREFIX_LEN;
	if (strnlen(b64, TOKEN_B64_LEN + 1) != TOKEN_B64_LEN)
		return SENIM_ERR_AUTH;
	unsigned char raw[TOKEN_BYTES];
	size_t len = 0;
	const char *end = NULL;
	/* libsodium refuses non-zero trailing bits, so each token has exactly
	 * one spelling. */
	if (sodium_base642bin(raw, sizeof(raw), b64, TOKEN_B64_LEN, NULL, &len, &end,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    len != TOKEN_BYTES || end != b64 + TOKEN_B64_LEN) {
		sodium_memzero(raw, sizeof(raw));
		return SENIM_ERR_AUTH;
	}
	crypto_generichash(hash, TOKEN_HASH_BYTES, raw, sizeof(raw), NULL, 0);
	sodium_memzero(raw, sizeof(raw));
	return SENIM_OK;
}

static int password_hash(const char *password, char out[crypto_pwhash_STRBYTES])
{
	if (crypto_pwhash_str_alg(out, password, strlen(password), PWHASH_OPSLIMIT,
				  PWHASH_MEMLIMIT, crypto_pwhash_ALG_ARGON2ID13) != 0)
		return SENIM_ERR_NOMEM; /* libsodium's only failure: memory */
	return SENIM_OK;
}

/* ---- pauses and hash slots -------------------------------------------------- */

const struct backoff_policy *staff_backoff_policy(void)
{
	return &BACKOFF;
}

/* Argon2id runs at most hash_slots at a time, so a burst of sign-ins leaves
 * CPUs to every other route. */
static pthread_mutex_t hash_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hash_freed = PTHREAD_COND_INITIALIZER;
static int hash_slots = -1; /* -1: one per CPU, counted at first use */
static int hash_busy;

/* A sign-in waits at most this long for a hash slot before it is refused. */
#define HASH_WAIT_MS 250

void staff_set_hash_slots(int slots)
{
	pthread_mutex_lock(&hash_lock);
	hash_slots = slots;
	pthread_cond_broadcast(&hash_freed);
	pthread_mutex_unlock(&hash_lock);
}

/* Wait up to HASH_WAIT_MS for a slot (the HTTP layer calls from an I/O
 * thread, so the wait holds no worker); 1 when one was taken — hand it back
 * with hash_slot_give() — and 0 when none came free. */
static int hash_slot_take(void)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += HASH_WAIT_MS * 1000000L;
	until.tv_sec += until.tv_nsec / 1000000000L;
	until.tv_nsec %= 1000000000L;
	pthread_mutex_lock(&hash_lock);
	if (hash_slots < 0) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		hash_slots = cpus > 0 ? (int)cpus : 1;
	}
	int rc = 0;
	while (hash_busy >= hash_slots && rc == 0)
		rc = pthread_cond_timedwait(&hash_freed, &hash_lock, &until);
	int ok = hash_busy < hash_slots;
	if (ok)
		hash_busy++;
	pthread_mutex_unlock(&hash_lock);
	return ok;
}

static void hash_slot_give(void)
{
	pthread_mutex_lock(&hash_lock);
	hash_busy--;
	pthread_cond_signal(&hash_freed);
	pthread_mutex_unlock(&hash_lock);
}

/* liboath compares codes with strcmp; this compares in constant time. */
static int otp_compare(void *handle, const char *test_otp)
{
	const char *given = handle;
	return sodium_memcmp(given, test_otp, TOTP_DIGITS) == 0 ? 0 : 1;
}

static int totp_code_form(const char *code)
{
	if (!code)
		return 0;
	for (int i = 0; i < TOTP_DIGITS; i++)
		if (code[i] < '0' || code[i] > '9')
			return 0;
	return code[TOTP_DIGITS] == '\0';
}

/* 1 when code is right for secret now, one step either side; *step gets the
 * time step it matched (RFC 6238's counter), for one-time use. */
static int totp_valid(const unsigned char *secret, size_t len, const char *code,
		      uint64_t *step)
{
	*step = 0;
	if (!totp_code_form(code))
		return 0;
	int pos = 0;
	int rc = oath_totp_validate3_callback((const char *)secret, len, time(NULL),
					      TOTP_STEP, OATH_TOTP_DEFAULT_START_TIME,
					      TOTP_DIGITS, TOTP_WINDOW, &pos, step,
					      otp_compare, (void *)code);
	return rc >= 0;
}

/* ---- the account row ----------------------------------------------------- */

struct account {
	int found;
	int64_t id;
	enum role role;
	int is_service;
	int enrolled;
	int revoked;
	int64_t failed_logins;
	int64_t locked_until;
	int64_t totp_last_step; /* RFC 6238 5.2: steps up to this are spent */
	int has_password;
	char password_hash[crypto_pwhash_STRBYTES];
	size_t secret_len; /* sealed totp_secret; 0 when NULL */
	unsigned char secret[SEALED_MAX];
	size_t pending_len; /* sealed totp_pending; 0 when NULL */
	unsigned char pending[SEALED_MAX];
};

#define ACCOUNT_COLUMNS                                                       \
	"id, role, kind, password_hash, totp_secret, totp_pending, enrolled," \
	" failed_logins, locked_until, revoked_at, totp_last_step"

static const char SQL_ACCOUNT_BY_LOGIN[] =
	"SELECT " ACCOUNT_COLUMNS " FROM staff WHERE login = $1";
static const char SQL_ACCOUNT_BY_ID[] =
	"SELECT " ACCOUNT_COLUMNS " FROM staff WHERE id = $1";
/* PostgreSQL writers lock what they change (store.h); SQLite's BEGIN
 * IMMEDIATE already holds the database's write lock. */
static const char SQL_ACCOUNT_BY_ID_PG[] =
	"SELECT " ACCOUNT_COLUMNS " FROM staff WHERE id = $1 FOR UPDATE";

static int copy_sealed(struct store_rows *r, int col, unsigned char *out, size_t *len)
{
	*len = 0;
	if (store_rows_is_null(r, col))
		return SENIM_OK;
	size_t n = 0;
	const void *p = store_rows_blob(r, col, &n);
	if (n == 0 || n > SEALED_MAX)
		return SENIM_ERR_STORE;
	memcpy(out, p, n);
	*len = n;
	return SENIM_OK;
}

static int account_from_row(struct store_rows *r, struct account *a)
{
	a->found = 1;
	a->id = store_rows_int(r, 0);
	int role = role_parse(store_rows_text(r, 1, NULL));
	if (role < 0) {
		log_event(LOG_ERROR, "staff_bad_row", "reason", "unknown role", NULL);
		return SENIM_ERR_STORE;
	}
	a->role = (enum role)role;
	a->is_service = strcmp(store_rows_text(r, 2, NULL), "service") == 0;
	a->has_password = 0;
	if (!store_rows_is_null(r, 3)) {
		size_t n = 0;
		const char *h = store_rows_text(r, 3, &n);
		if (n == 0 || n >= sizeof(a->password_hash)) {
			log_event(LOG_ERROR, "staff_bad_row", "reason", "password hash",
				  NULL);
			return SENIM_ERR_STORE;
		}
		memcpy(a->password_hash, h, n);
		a->password_hash[n] = '\0';
		a->has_password = 1;
	}
	int err = copy_sealed(r, 4, a->secret, &a->secret_len);
	if (!err)
		err = copy_sealed(r, 5, a->pending, &a->pending_len);
	if (err) {
		log_event(LOG_ERROR, "staff_bad_row", "reason", "sealed totp size", NULL);
		return err;
	}
	a->enrolled = store_rows_int(r, 6) != 0;
	a->failed_logins = store_rows_int(r, 7);
	a->locked_until = store_rows_int(r, 8);
	a->revoked = !store_rows_is_null(r, 9);
	a->totp_last_step = store_rows_int(r, 10);
	return SENIM_OK;
}

/* Read one account into *a; a->found = 0 when there is none. */
static int account_read(struct store_tx *tx, const char *sql, struct store_val key,
			struct account *a)
{
	struct store_rows *r = NULL;
	int has = 0;
	memset(a, 0, sizeof(*a));
	int err = store_query(tx, sql, &key, 1, &r);
	if (!err)
		err = store_rows_next(r, &has);
	if (!err && has)
		err = account_from_row(r, a);
	store_rows_free(r);
	return err;
}

static void account_wipe(struct account *a)
{
	sodium_memzero(a, sizeof(*a));
}

struct login_read {
	const char *login;
	struct account *acct;
};

static enum senim_result login_read_fn(struct store_tx *tx, void *ctx)
{
	struct login_read *lr = ctx;
	return account_read(tx, SQL_ACCOUNT_BY_LOGIN, SV_TEXT(lr->login), lr->acct);
}

/* Phase 1: the account named login, if the name is valid and it exists. */
static int account_by_login(struct store *st, const char *login, struct account *a)
{
	a->found = 0;
	if (!staff_login_valid(login))
		return SENIM_OK;
	struct login_read lr = { login, a };
	return store_read(st, login_read_fn, &lr);
}

/* ---- administration ---------------------------------------------------- */

struct add_ctx {
	const struct keyring *kr;
	const struct staff_who *who;
	const char *login;
	enum role role;
	int service;
	const char *pw_hash;			    /* person */
	unsigned char token_hash[TOKEN_HASH_BYTES]; /* service */
};

static enum senim_result add_fn(struct store_tx *tx, void *ctx)
{
	struct add_ctx *a = ctx;
	int64_t now = clock_now_us();
	struct store_val p[] = {
		SV_TEXT(a->login),
		SV_TEXT(role_name(a->role)),
		SV_TEXT(a->service ? "service" : "person"),
		a->service ? SV_NULL() : SV_TEXT(a->pw_hash),
		SV_INT(now),
	};
	struct store_rows *r = NULL;
	int has = 0;
	int64_t id = 0;
	int err = store_query(tx,
			      "INSERT INTO staff (login, role, kind, password_hash,"
			      " created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
			      p, 5, &r);
	if (!err)
		err = store_rows_next(r, &has);
	if (!err && has)
		id = store_rows_int(r, 0);
	store_rows_free(r);
	if (!err && !has)
		err = SENIM_ERR_STORE;
	if (err)
		return err;
	if (a->service) {
		struct store_val t[] = { SV_BLOB(a->token_hash, TOKEN_HASH_BYTES),
					 SV_INT(id), SV_INT(now) };
		err = store_exec(
			tx,
			"INSERT INTO staff_tokens (token_hash, staff_id, created_at,"
			" expires_at) VALUES ($1, $2, $3, NULL)",
			t, 3, NULL);
		if (err)
			return err;
	}
	char ref[REF_MAX];
	staff_ref(ref, id);
	return audit_staff(tx, a->kr, who_actor(a->who), "staff.add", ref, "success",
			   a->who);
}

int staff_add(struct store *st, const struct keyring *kr, const struct staff_who *who,
	      const char *login, enum role role, int service, char **secret)
{
	*secret = NULL;
	if (!staff_login_valid(login) || !role_name(role))
		return SENIM_ERR_INVALID;
	int err = staff_libs();
	if (err)
		return err;
	struct add_ctx a = {
		.kr = kr, .who = who, .login = login, .role = role, .service = service
	};
	char pw_hash[crypto_pwhash_STRBYTES];
	/* sodium_malloc: guarded pages, wiped by sodium_free. */
	char *s = sodium_malloc(service ? STAFF_TOKEN_MAX : OTP_LEN + 1);
	if (!s)
		return SENIM_ERR_NOMEM;
	if (service) {
		token_make(s, a.token_hash);
	} else {
		for (int i = 0; i < OTP_LEN; i++)
			s[i] = OTP_ALPHABET[randombytes_uniform(sizeof(OTP_ALPHABET) -
								1)];
		s[OTP_LEN] = '\0';
		err = password_hash(s, pw_hash);
		a.pw_hash = pw_hash;
	}
	if (!err)
		err = store_write(st, add_fn, &a);
	sodium_memzero(a.token_hash, sizeof(a.token_hash));
	if (err) {
		staff_secret_free(s);
		return err;
	}
	*secret = s;
	return SENIM_OK;
}

void staff_secret_free(char *secret)
{
	sodium_free(secret); /* wipes; NULL does nothing */
}

struct admin_ctx {
	const struct keyring *kr;
	const struct staff_who *who;
	const char *login;
	int revoke; /* else unlock */
};

static enum senim_result admin_fn(struct store_tx *tx, void *ctx)
{
	struct admin_ctx *a = ctx;
	struct account acct;
	int err = account_read(tx, SQL_ACCOUNT_BY_LOGIN, SV_TEXT(a->login), &acct);
	if (!err && !acct.found)
		err = SENIM_ERR_NOT_FOUND;
	int64_t id = acct.id;
	account_wipe(&acct);
	if (err)
		return err;
	int64_t now = clock_now_us();
	if (a->revoke) {
		struct store_val p[] = { SV_INT(id), SV_INT(now) };
		err = store_exec(tx,
				 "UPDATE staff SET revoked_at = $2"
				 " WHERE id = $1 AND revoked_at IS NULL",
				 p, 2, NULL);
		if (!err)
			err = store_exec(tx,
					 "UPDATE staff_tokens SET revoked_at = $2"
					 " WHERE staff_id = $1 AND revoked_at IS NULL",
					 p, 2, NULL);
	} else {
		struct store_val p[] = { SV_INT(id) };
		err = store_exec(tx,
				 "UPDATE staff SET failed_logins = 0, locked_until = 0"
				 " WHERE id = $1",
				 p, 1, NULL);
	}
	if (err)
		return err;
	char ref[REF_MAX];
	staff_ref(ref, id);
	return audit_staff(tx, a->kr, who_actor(a->who),
			   a->revoke ? "staff.revoke" : "staff.unlock", ref, "success",
			   a->who);
}

int staff_revoke(struct store *st, const struct keyring *kr, const struct staff_who *who,
		 const char *login)
{
	if (!staff_login_valid(login))
		return SENIM_ERR_NOT_FOUND;
	struct admin_ctx a = { kr, who, login, 1 };
	return store_write(st, admin_fn, &a);
}

int staff_unlock(struct store *st, const struct keyring *kr, const struct staff_who *who,
		 const char *login)
{
	if (!staff_login_valid(login))
		return SENIM_ERR_NOT_FOUND;
	struct admin_ctx a = { kr, who, login, 0 };
	return store_write(st, admin_fn, &a);
}

struct list_ctx {
	staff_list_fn fn;
	void *ctx;
};

static enum senim_result list_fn(struct store_tx *tx, void *ctx)
{
	struct list_ctx *l = ctx;
	int64_t now = clock_now_us();
	struct store_rows *r = NULL;
	int has = 0;
	int err = store_query(tx,
			      "SELECT id, login, role, kind, enrolled, locked_until,"
			      " revoked_at, created_at FROM staff ORDER BY id",
			      NULL, 0, &r);
	while (!err && (err = store_rows_next(r, &has)) == SENIM_OK && has) {
		struct staff_info info;
		memset(&info, 0, sizeof(info));
		info.id = store_rows_int(r, 0);
		size_t n = 0;
		const char *login = store_rows_text(r, 1, &n);
		int role = role_parse(store_rows_text(r, 2, NULL));
		if (n > STAFF_LOGIN_MAX || role < 0) {
			log_event(LOG_ERROR, "staff_bad_row", "reason", "login or role",
				  NULL);
			err = SENIM_ERR_STORE;
			break;
		}
		memcpy(info.login, login, n);
		info.role = (enum role)role;
		info.is_service = strcmp(store_rows_text(r, 3, NULL), "service") == 0;
		info.enrolled = store_rows_int(r, 4) != 0;
		info.locked = store_rows_int(r, 5) > now;
		info.revoked = !store_rows_is_null(r, 6);
		info.created_at = store_rows_int(r, 7);
		l->fn(&info, l->ctx);
	}
	store_rows_free(r);
	return err;
}

int staff_list(struct store *st, staff_list_fn fn, void *ctx)
{
	struct list_ctx l = { fn, ctx };
	return store_read(st, list_fn, &l);
}

/* ---- signing in -------------------------------------------------------- */

enum attempt_kind {
	ATTEMPT_ENROLL,
	ATTEMPT_SIGN_IN
};

/* One sign-in or enrolment attempt, carried through the three phases. */
struct attempt {
	enum attempt_kind kind;
	const struct keyring *kr;
	const struct staff_who *who;
	struct account before; /* phase 1 */
	int creds_ok;	       /* phase 2: every factor asked for was right */
	enum staff_login_block block;
	char new_hash[crypto_pwhash_STRBYTES]; /* first sign-in: the new password */
	uint64_t totp_step; /* the time step the code matched; 0 when none */
	/* phase 3, the answer */
	int result;
	char *token; /* sign-in: caller's buffer */
	int64_t expires_at;
	char *secret_b32;    /* enrolment: caller's buffer */
	int retry_after_s;   /* SENIM_ERR_LOCKED: the pause left */
	int count_in_memory; /* a failure the store does not count */
};

/* 1 when the store counts this account's failures: a person who may sign
 * in.  Other logins (none such, revoked, service) are counted in memory. */
static int counted_in_store(const struct account *a)
{
	return a->found && !a->revoked && !a->is_service;
}

static int seconds_until(int64_t when_us, int64_t now_us)
{
	int64_t left = when_us - now_us;
	return left > 0 ? (int)((left + US_PER_S - 1) / US_PER_S) : 0;
}

/*
 * After phase 1: may this login be tried now?  SENIM_ERR_LOCKED with
 * *retry_after_s during a pause, SENIM_ERR_UNAVAILABLE when no hash slot
 * comes free in time; otherwise a hash slot is held for phase 2.
 */
static int may_try(const struct account *a, const char *login, int *retry_after_s)
{
	int wait = counted_in_store(a) ? seconds_until(a->locked_until, clock_now_us())
				       : backoff_wait_s(uncounted, login, strlen(login));
	if (wait > 0) {
		*retry_after_s = wait;
		return SENIM_ERR_LOCKED;
	}
	if (!hash_slot_take()) {
		*retry_after_s = 1;
		return SENIM_ERR_UNAVAILABLE;
	}
	return SENIM_OK;
}

/* Password check that always costs one Argon2id verification. */
static int password_ok(const struct account *a, const char *password)
{
	int usable = a->found && a->has_password && !a->is_service;
	const char *hash = usable ? a->password_hash : DUMMY_HASH;
	int ok = crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
	return usable && ok;
}

/*
 * The TOTP factor: the code checked against the account's sealed secret
 * (pending, when enrolling), or against a throw-away secret when there is
 * none, so that the work done does not depend on the account.  *present = 1
 * when the account had the secret.
 */
static int totp_ok(const struct keyring *kr, const struct account *a, const char *code,
		   int *present, uint64_t *step)
{
	unsigned char plain[SEALED_MAX];
	size_t len = 0;
	const unsigned char *sealed = a->enrolled ? a->secret : a->pending;
	size_t sealed_len = a->enrolled ? a->secret_len : a->pending_len;
	*present = 0;
	if (a->found && sealed_len) {
		char ad[AD_MAX];
		totp_ad(ad, a->id);
		if (keyring_unseal(kr, ad, strlen(ad), sealed, sealed_len, plain,
				   sizeof(plain), &len) == SENIM_OK &&
		    len == TOTP_SECRET_BYTES)
			*present = 1;
		else
			log_event(LOG_ERROR, "staff_totp_unseal_failed", NULL);
	}
	if (!*present) {
		randombytes_buf(plain, TOTP_SECRET_BYTES);
		len = TOTP_SECRET_BYTES;
	}
	int ok = totp_valid(plain, len, code, step) && *present;
	sodium_memzero(plain, sizeof(plain));
	return ok;
}

static int same_bytes(const void *a, size_t alen, const void *b, size_t blen)
{
	return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

/* 1 when the credentials checked in phase 2 are still the account's. */
static int account_unchanged(const struct account *was, const struct account *now)
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
static int audit_failure(struct store_tx *tx, struct attempt *at, const char *ref)
{
	return audit_staff(tx, at->kr, "anonymous", attempt_op(at), ref, "failed",
			   at->who);
}

/* Count a wrong credential and start the pause it earns (locked_until holds
 * the end of the pause).  Only tries made outside a pause get here, so
 * nobody can stretch a pause by trying during it. */
static int attempt_count_failure(struct store_tx *tx, struct attempt *at,
				 const struct account *cur, const char *ref, int64_t now)
{
	int64_t failed = cur->failed_logins + 1;
	int pause = backoff_delay_s(&BACKOFF, failed);
	int64_t until = pause ? now + (int64_t)pause * US_PER_S : 0;
	struct store_val p[] = { SV_INT(cur->id), SV_INT(failed), SV_INT(until) };
	int err = store_exec(tx,
			     "UPDATE staff SET failed_logins = $2, locked_until = $3"
			     " WHERE id = $1",
			     p, 3, NULL);
	return err ? err : audit_failure(tx, at, ref);
}

/* Enrolment step one with right credentials: a fresh pending TOTP secret. */
static int attempt_enroll(struct store_tx *tx, struct attempt *at,
			  const struct account *cur, const char *ref)
{
	unsigned char secret[TOTP_SECRET_BYTES];
	char ad[AD_MAX];
	char *b32 = NULL;
	size_t b32_len = 0;
	struct buf sealed;
	buf_init(&sealed, SEALED_MAX);
	randombytes_buf(secret, sizeof(secret));
	totp_ad(ad, cur->id);
	int err = keyring_seal(at->kr, ad, strlen(ad), secret, sizeof(secret), &sealed);
	if (!err && (oath_base32_encode((const char *)secret, sizeof(secret), &b32,
					&b32_len) != OATH_OK ||
		     b32_len >= STAFF_TOTP_SECRET_B32_MAX))
		err = SENIM_ERR_NOMEM;
	if (!err) {
		struct store_val p[] = { SV_INT(cur->id),
					 SV_BLOB(sealed.data, sealed.len) };
		err = store_exec(tx, "UPDATE staff SET totp_pending = $2 WHERE id = $1",
				 p, 2, NULL);
	}
	if (!err)
		err = audit_staff(tx, at->kr, ref, "staff.enroll", ref, "success",
				  at->who);
	if (!err) {
		memcpy(at->secret_b32, b32, b32_len);
		at->secret_b32[b32_len] = '\0';
		at->result = SENIM_OK;
	}
	if (b32) {
		sodium_memzero(b32, b32_len);
		free(b32);
	}
	sodium_memzero(secret, sizeof(secret));
	buf_release(&sealed);
	return err;
}

/* A sign-in with every step done: the session, and enrolment completed. */
static int attempt_session(struct store_tx *tx, struct attempt *at,
			   const struct account *cur, const char *ref, int64_t now)
{
	int err;
	if (cur->enrolled) {
		struct store_val p[] = { SV_INT(cur->id), SV_INT(at->totp_step) };
		err = store_exec(tx,
				 "UPDATE staff SET failed_logins = 0, locked_until = 0,"
				 " totp_last_step = $2 WHERE id = $1",
				 p, 2, NULL);
	} else {
		struct store_val p[] = { SV_INT(cur->id), SV_TEXT(at->new_hash),
					 SV_INT(at->totp_step) };
		err = store_exec(tx,
				 "UPDATE staff SET password_hash = $2,"
				 " totp_secret = totp_pending, totp_pending = NULL,"
				 " enrolled = 1, failed_logins = 0, locked_until = 0,"
				 " totp_last_step = $3 WHERE id = $1",
				 p, 3, NULL);
	}
	if (err)
		return err;
	unsigned char hash[TOKEN_HASH_BYTES];
	char token[STAFF_TOKEN_MAX];
	int64_t expires = now + (int64_t)STAFF_SESSION_SECONDS * US_PER_S;
	token_make(token, hash);
	struct store_val t[] = { SV_BLOB(hash, sizeof(hash)), SV_INT(cur->id),
				 SV_INT(now), SV_INT(expires) };
	err = store_exec(tx,
			 "INSERT INTO staff_tokens (token_hash, staff_id, created_at,"
			 " expires_at) VALUES ($1, $2, $3, $4)",
			 t, 4, NULL);
	if (!err)
		err = audit_staff(tx, at->kr, ref, "staff.sign_in", ref, "success",
				  at->who);
	if (!err) {
		memcpy(at->token, token, sizeof(token));
		at->expires_at = expires;
		at->result = SENIM_OK;
	}
	sodium_memzero(token, sizeof(token));
	sodium_memzero(hash, sizeof(hash));
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

	struct account cur;
	int64_t now = clock_now_us();
	char ref[REF_MAX];
	staff_ref(ref, at->before.id);
	int err = account_read(tx,
			       store_tx_kind(tx) == STORE_POSTGRES ? SQL_ACCOUNT_BY_ID_PG
								   : SQL_ACCOUNT_BY_ID,
			       SV_INT(at->before.id), &cur);
	int usable = counted_in_store(&cur);
	if (err) {
		/* a store failure: nothing to commit */
	} else if (usable && cur.locked_until > now) {
		/* A failure committed since phase 1 started a pause: this try
		 * waits like any other, and leaves nothing behind. */
		at->result = SENIM_ERR_LOCKED;
		at->retry_after_s = seconds_until(cur.locked_until, now);
	} else if (!usable) {
		/* Revoked (or turned into a service account) meanwhile: the
		 * same answer as a wrong password, counted like an unknown
		 * login's. */
		at->count_in_memory = 1;
		err = audit_failure(tx, at, ref);
	} else if (!at->creds_ok) {
		err = attempt_count_failure(tx, at, &cur, ref, now);
	} else if (at->totp_step && (int64_t)at->totp_step <= cur.totp_last_step) {
		/* RFC 6238 5.2: a code already accepted is not accepted again,
		 * and a replay counts as a failed sign-in. */
		err = attempt_count_failure(tx, at, &cur, ref, now);
	} else if (!account_unchanged(&at->before, &cur)) {
		/* Right credentials, but they changed under us: the same
		 * answer as a wrong password. */
		err = audit_failure(tx, at, ref);
	} else if (at->kind == ATTEMPT_ENROLL && cur.enrolled) {
		/* The same answer as a wrong password: enrolment must not confirm
		 * a password to someone without the second factor. */
		at->result = SENIM_ERR_AUTH;
		err = audit_staff(tx, at->kr, ref, "staff.enroll", ref, "denied",
				  at->who);
	} else if (at->kind == ATTEMPT_ENROLL) {
		err = attempt_enroll(tx, at, &cur, ref);
	} else if (at->block != STAFF_LOGIN_OK) {
		at->result = SENIM_ERR_DENIED;
		err = audit_staff(tx, at->kr, ref, "staff.sign_in", ref, "denied",
				  at->who);
	} else {
		err = attempt_session(tx, at, &cur, ref, now);
	}
	account_wipe(&cur);
	if (err)
		at->result = err;
	return err;
}

/* Phase 3 and what follows it: commit, count a failure the store does
 * not, and hand back the answer and the pause. */
static int attempt_finish(struct store *st, struct attempt *at, const char *login,
			  int *retry_after_s)
{
	int err = store_write(st, attempt_commit, at);
	if (!err)
		err = at->result;
	if (err == SENIM_ERR_AUTH && at->count_in_memory)
		backoff_failed(uncounted, login, strlen(login));
	if (err == SENIM_ERR_LOCKED)
		*retry_after_s = at->retry_after_s;
	return err;
}

int staff_enroll_begin(struct store *st, const struct keyring *kr,
		       const struct staff_who *who, const char *login,
		       const char *password, char secret_b32[STAFF_TOTP_SECRET_B32_MAX],
		       int *retry_after_s)
{
	int retry_ignored = 0;
	if (!retry_after_s)
		retry_after_s = &retry_ignored;
	*retry_after_s = 0;
	secret_b32[0] = '\0';
	login = login ? login : "";
	int err = staff_libs();
	if (err)
		return err;
	struct attempt *at = sodium_malloc(sizeof(*at));
	if (!at)
		return SENIM_ERR_NOMEM;
	memset(at, 0, sizeof(*at));
	at->kind = ATTEMPT_ENROLL;
	at->kr = kr;
	at->who = who;
	at->secret_b32 = secret_b32;
	err = account_by_login(st, login, &at->before);
	if (!err)
		err = may_try(&at->before, login, retry_after_s);
	if (!err) {
		at->creds_ok = password_ok(&at->before, password ? password : "");
		hash_slot_give();
		err = attempt_finish(st, at, login, retry_after_s);
	}
	sodium_free(at);
	return err;
}

/* For a right first sign-in: what is still missing, or the new password's
 * hash in at->new_hash. */
static int first_sign_in_block(struct attempt *at, const struct staff_login *req,
			       int pending_present)
{
	at->block = STAFF_LOGIN_OK;
	if (!pending_present) {
		at->block = STAFF_LOGIN_ENROLL_FIRST;
		return SENIM_OK;
	}
	if (!req->new_password) {
		at->block = STAFF_LOGIN_NEW_PASSWORD;
		return SENIM_OK;
	}
	size_t n = strlen(req->new_password);
	size_t old = strlen(req->password);
	if (n < STAFF_PASSWORD_MIN || n > STAFF_PASSWORD_MAX ||
	    (n == old && sodium_memcmp(req->new_password, req->password, n) == 0)) {
		at->block = STAFF_LOGIN_WEAK_PASSWORD;
		return SENIM_OK;
	}
	return password_hash(req->new_password, at->new_hash);
}

int staff_sign_in(struct store *st, const struct keyring *kr, const struct staff_who *who,
		  const struct staff_login *req, char token[STAFF_TOKEN_MAX],
		  int64_t *expires_at, enum staff_login_block *block, int *retry_after_s)
{
	int retry_ignored = 0;
	if (!retry_after_s)
		retry_after_s = &retry_ignored;
	*retry_after_s = 0;
	token[0] = '\0';
	*expires_at = 0;
	*block = STAFF_LOGIN_OK;
	int err = staff_libs();
	if (err)
		return err;
	struct staff_login r = {
		.login = req->login ? req->login : "",
		.password = req->password ? req->password : "",
		.totp = req->totp,
		.new_password = req->new_password,
	};
	struct attempt *at = sodium_malloc(sizeof(*at));
	if (!at)
		return SENIM_ERR_NOMEM;
	memset(at, 0, sizeof(*at));
	at->kind = ATTEMPT_SIGN_IN;
	at->kr = kr;
	at->who = who;
	at->token = token;
	err = account_by_login(st, r.login, &at->before);
	if (!err)
		err = may_try(&at->before, r.login, retry_after_s);
	if (!err) {
		int present = 0;
		int pw = password_ok(&at->before, r.password);
		int code = totp_ok(kr, &at->before, r.totp, &present, &at->totp_step);
		if (at->before.enrolled)
			at->creds_ok = pw && code;
		else
			/* Before enrolment there is no second factor yet: a
			 * right password with no pending secret is told to
			 * enrol; with one, its code is the second factor. */
			at->creds_ok = pw && (!present || code);
		if (at->creds_ok && !at->before.enrolled)
			err = first_sign_in_block(at, &r, present);
		hash_slot_give();
		if (!err)
			err = attempt_finish(st, at, r.login, retry_after_s);
	}
	if (err == SENIM_ERR_DENIED)
		*block = at->block;
	else if (err) /* a token is only ever handed out with SENIM_OK */
		sodium_memzero(token, STAFF_TOKEN_MAX);
	*expires_at = err ? 0 : at->expires_at;
	sodium_free(at); /* wipes the new password's hash too */
	return err;
}

/* ---- tokens ------------------------------------------------------------ */

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
	int has = 0;
	/* The hot path of every request: one indexed query. */
	int err = store_query(tx,
			      "SELECT s.id, s.role, s.kind, s.login"
			      " FROM staff_tokens t JOIN staff s ON s.id = t.staff_id"
			      " WHERE t.token_hash = $1 AND t.revoked_at IS NULL"
			      " AND (t.expires_at IS NULL OR t.expires_at > $2)"
			      " AND s.revoked_at IS NULL",
			      p, 2, &r);
	if (!err)
		err = store_rows_next(r, &has);
	if (!err && !has)
		err = SENIM_ERR_AUTH;
	if (!err) {
		size_t n = 0;
		const char *login = store_rows_text(r, 3, &n);
		int role = role_parse(store_rows_text(r, 1, NULL));
		if (role < 0 || n > STAFF_LOGIN_MAX) {
			/* Fail closed on a row we cannot trust. */
			log_event(LOG_ERROR, "staff_bad_row", "reason", "login or role",
				  NULL);
			err = SENIM_ERR_AUTH;
		} else {
			a->out->id = store_rows_int(r, 0);
			a->out->role = (enum role)role;
			a->out->is_service =
				strcmp(store_rows_text(r, 2, NULL), "service") == 0;
			memcpy(a->out->login, login, n);
			a->out->login[n] = '\0';
		}
	}
	store_rows_free(r);
	return err;
}

int staff_authenticate(struct store *st, const char *token, struct staff_actor *out)
{
	memset(out, 0, sizeof(*out));
	unsigned char hash[TOKEN_HASH_BYTES];
	int err = token_hash(token, hash);
	if (err)
		return err;
	struct auth_ctx a = { hash, out };
	err = store_read(st, authenticate_fn, &a);
	if (err)
		memset(out, 0, sizeof(*out));
	return err;
}

struct sign_out_ctx {
	const struct keyring *kr;
	const struct staff_who *who;
	const unsigned char *hash;
};

static enum senim_result sign_out_fn(struct store_tx *tx, void *ctx)
{
	struct sign_out_ctx *s = ctx;
	int64_t now = clock_now_us();
	struct store_val p[] = { SV_BLOB(s->hash, TOKEN_HASH_BYTES), SV_INT(now) };
	struct store_rows *r = NULL;
	int has = 0;
	int64_t id = 0;
	/* Only a live session token: service tokens end with staff_revoke(). */
	int err = store_query(tx,
			      "SELECT t.staff_id FROM staff_tokens t"
			      " JOIN staff s ON s.id = t.staff_id"
			      " WHERE t.token_hash = $1 AND t.revoked_at IS NULL"
			      " AND t.expires_at IS NOT NULL AND t.expires_at > $2"
			      " AND s.revoked_at IS NULL",
			      p, 2, &r);
	if (!err)
		err = store_rows_next(r, &has);
	if (!err && has)
		id = store_rows_int(r, 0);
	store_rows_free(r);
	if (!err && !has)
		err = SENIM_ERR_AUTH;
	if (!err)
		err = store_exec(
			tx,
			"UPDATE staff_tokens SET revoked_at = $2 WHERE token_hash = $1",
			p, 2, NULL);
	if (err)
		return err;
	char ref[REF_MAX];
	staff_ref(ref, id);
	return audit_staff(tx, s->kr, who_actor(s->who), "staff.sign_out", ref, "success",
			   s->who);
}

int staff_sign_out(struct store *st, const struct keyring *kr,
		   const struct staff_who *who, const char *token)
{
	unsigned char hash[TOKEN_HASH_BYTES];
	int err = token_hash(token, hash);
	if (err)
		return err;
	struct sign_out_ctx s = { kr, who, hash };
	return store_write(st, sign_out_fn, &s);
}
