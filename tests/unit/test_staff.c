/*
 * test_staff.c — staff accounts against a real SQLite file and key ring:
 * adding, enrolment, sign-in, pauses after failures, hash slots, revocation,
 * tokens and their audit records.  TOTP codes are computed here with liboath from the secret the
 * enrolment hands out, as an authenticator app would.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <dirent.h>
#include <liboath/oath.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "staff/account.h"
#include "staff/password.h"
#include "staff/sign_in.h"
#include "staff/staff.h"
#include "store/store.h"
#include "vault/keyring.h"
#include "testutil.h"
#include "common/banned.h"

#define PATH_LEN 4096
#define NEW_PASSWORD "correct horse battery staple"
#define REQUEST_ID "req-test"

struct fixture {
	char dir[PATH_LEN];
	char db[PATH_LEN];
	char keys[PATH_LEN];
	struct store *st;
	struct keyring *kr;
};

static const struct staff_who WHO = { "cli", REQUEST_ID };

/* ---- fixture ------------------------------------------------------------ */

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	const char *base = getenv("SENIM_TMP");
	if (!base || !*base)
		base = "/tmp";
	if (mkdir(base, 0700) != 0 && errno != EEXIST)
		goto fail;
	int n = snprintf(f->dir, sizeof(f->dir), "%s/staff-XXXXXX", base);
	if (n < 0 || (size_t)n >= sizeof(f->dir) - 32 || !mkdtemp(f->dir))
		goto fail;
	n = snprintf(f->db, sizeof(f->db), "%s/senim.db", f->dir);
	if (n < 0 || (size_t)n >= sizeof(f->db))
		goto fail;
	n = snprintf(f->keys, sizeof(f->keys), "%s/keys/senim.keys", f->dir);
	if (n < 0 || (size_t)n >= sizeof(f->keys))
		goto fail;
	if (keyring_open(f->keys, 1, &f->kr) != SENIM_OK)
		goto fail;
	if (store_open(f->db, 1, &f->st) != SENIM_OK)
		goto fail;
	if (store_migrate(f->st, NULL) != SENIM_OK)
		goto fail;
	*state = f;
	return 0;
fail:
	store_free(f->st);
	keyring_free(f->kr);
	free(f);
	return -1;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	store_free(f->st);
	keyring_free(f->kr);
	testutil_rm_rf(f->dir);
	free(f);
	return 0;
}

/* ---- helpers ------------------------------------------------------------ */

/* The current TOTP code for a base32 secret, as an authenticator computes it. */
static void totp_now(const char *b32, char code[7])
{
	char *secret = NULL;
	size_t len = 0;
	assert_int_equal(oath_base32_decode(b32, strlen(b32), &secret, &len), OATH_OK);
	assert_int_equal(len, 20);
	assert_int_equal(oath_totp_generate(secret, len, time(NULL), 30, 0, 6, code),
			 OATH_OK);
	sodium_memzero(secret, len);
	free(secret);
}

/* A code that is certainly wrong now. */
static void totp_wrong(const char *b32, char code[7])
{
	totp_now(b32, code);
	code[0] = (char)('0' + (code[0] - '0' + 5) % 10);
}

/* `staff add` as the CLI runs it; *secret gets a heap copy of the secret
 * (NULL on failure), freed with free_secret(). */
static enum senim_result add_account(struct fixture *f, const char *login, enum role role,
				     int service, char **secret)
{
	struct staff_add op = {
		.kr = f->kr, .who = WHO, .login = login, .role = role, .service = service
	};
	*secret = NULL;
	enum senim_result err = staff_add_prepare(&op);
	if (!err)
		err = store_write(f->st, staff_add_tx, &op);
	if (!err) {
		*secret = strdup(op.secret);
		assert_non_null(*secret);
		assert_true(op.id > 0);
	}
	staff_add_dispose(&op);
	return err;
}

static void free_secret(char *secret)
{
	if (secret)
		sodium_memzero(secret, strlen(secret));
	free(secret);
}

/* `staff revoke` or `staff unlock` (fn), as the CLI runs them. */
static enum senim_result change(struct fixture *f, store_fn fn, const char *login)
{
	struct staff_change op = { .kr = f->kr, .who = WHO, .login = login };
	return store_write(f->st, fn, &op);
}

/* The first enrolment step; b32 gets the pending secret ("" on failure),
 * *retry (when not NULL) the pause. */
static enum senim_result enroll(struct fixture *f, const char *login,
				const char *password, char b32[STAFF_TOTP_SECRET_B32_MAX],
				int *retry)
{
	struct staff_attempt op = {
		.kr = f->kr, .who = WHO, .login = login, .password = password
	};
	enum senim_result err = staff_enroll_begin(f->st, &op);
	memcpy(b32, op.secret_b32, STAFF_TOTP_SECRET_B32_MAX);
	if (retry)
		*retry = op.retry_after_s;
	staff_attempt_dispose(&op);
	return err;
}

/* A sign-in; out (when not NULL) gets the whole answer. */
static enum senim_result attempt_sign_in(struct fixture *f, const char *login,
					 const char *password, const char *totp,
					 const char *new_password,
					 struct staff_attempt *out)
{
	struct staff_attempt op = { .kr = f->kr,
				    .who = WHO,
				    .login = login,
				    .password = password,
				    .totp = totp,
				    .new_password = new_password };
	enum senim_result err = staff_sign_in(f->st, &op);
	if (out)
		*out = op;
	staff_attempt_dispose(&op);
	return err;
}

/* A sign-out as DELETE /v1/staff/sessions runs it. */
static enum senim_result sign_out(struct fixture *f, const char *token)
{
	struct staff_sign_out op = { .kr = f->kr, .who = WHO, .token = token };
	return store_write(f->st, staff_sign_out_tx, &op);
}

static void add_person(struct fixture *f, const char *login, enum role role,
		       char otp[STAFF_PASSWORD_MAX + 1])
{
	char *secret = NULL;
	assert_int_equal(add_account(f, login, role, 0, &secret), SENIM_OK);
	assert_non_null(secret);
	snprintf(otp, STAFF_PASSWORD_MAX + 1, "%s", secret);
	free_secret(secret);
}

static enum senim_result forget_step_fn(struct store_tx *tx, void *ctx)
{
	return store_exec(tx, "UPDATE staff SET totp_last_step = 0 WHERE login = $1",
			  (struct store_val[]){ SV_TEXT((const char *)ctx) }, 1, NULL);
}

/* Stand-in for "a later 30-second step": forget which step the account last
 * used, so these tests can sign in several times within one real step.
 * test_totp_code_accepted_once shows the rule this sidesteps. */
static void forget_step(struct fixture *f, const char *login)
{
	if (login && staff_login_valid(login))
		assert_int_equal(store_write(f->st, forget_step_fn, (void *)login),
				 SENIM_OK);
}

static int sign_in(struct fixture *f, const char *login, const char *password,
		   const char *totp, const char *new_password,
		   char token[STAFF_TOKEN_MAX], enum staff_login_block *block)
{
	forget_step(f, login);
	struct staff_attempt out;
	int err = attempt_sign_in(f, login, password, totp, new_password, &out);
	int64_t expires = out.expires_at;
	enum staff_login_block b = out.block;
	memcpy(token, out.token, STAFF_TOKEN_MAX);
	sodium_memzero(&out, sizeof(out));
	if (err == SENIM_OK) {
		int64_t want = clock_now_us() + (int64_t)STAFF_SESSION_SECONDS * 1000000;
		assert_true(expires > want - 60 * 1000000LL && expires <= want);
	} else {
		assert_int_equal(expires, 0);
		assert_int_equal(token[0], '\0');
	}
	if (block)
		*block = b;
	return err;
}

/* Add a person and take them through enrolment; b32 gets the TOTP secret
 * and token a session token. */
static void enrolled_person(struct fixture *f, const char *login, enum role role,
			    char b32[STAFF_TOTP_SECRET_B32_MAX],
			    char token[STAFF_TOKEN_MAX])
{
	char otp[STAFF_PASSWORD_MAX + 1];
	char code[7];
	add_person(f, login, role, otp);
	assert_int_equal(enroll(f, login, otp, b32, NULL), SENIM_OK);
	totp_now(b32, code);
	assert_int_equal(sign_in(f, login, otp, code, NEW_PASSWORD, token, NULL),
			 SENIM_OK);
}

struct sql_run {
	const char *sql;
	const struct store_val *p;
	size_t n;
	int64_t count;
};

static enum senim_result exec_fn(struct store_tx *tx, void *ctx)
{
	struct sql_run *s = ctx;
	return store_exec(tx, s->sql, s->p, s->n, NULL);
}

static enum senim_result count_fn(struct store_tx *tx, void *ctx)
{
	struct sql_run *s = ctx;
	struct store_rows *r = NULL;
	int has = 0;
	int err = store_query(tx, s->sql, s->p, s->n, &r);
	if (!err)
		err = store_rows_next(r, &has);
	if (!err && has)
		s->count = store_rows_int(r, 0);
	store_rows_free(r);
	return err;
}

static void exec_sql(struct fixture *f, const char *sql, const struct store_val *p,
		     size_t n)
{
	struct sql_run s = { sql, p, n, 0 };
	assert_int_equal(store_write(f->st, exec_fn, &s), SENIM_OK);
}

static int64_t count_sql(struct fixture *f, const char *sql, const struct store_val *p,
			 size_t n)
{
	struct sql_run s = { sql, p, n, -1 };
	assert_int_equal(store_read(f->st, count_fn, &s), SENIM_OK);
	return s.count;
}

static int64_t audit_count(struct fixture *f, const char *op, const char *outcome)
{
	struct store_val p[] = { SV_TEXT(op), SV_TEXT(outcome ? outcome : "") };
	return count_sql(f,
			 "SELECT COUNT(*) FROM audit_log WHERE operation = $1"
			 " AND ($2 = '' OR outcome = $2)",
			 p, 2);
}

static int64_t failed_logins(struct fixture *f, const char *login)
{
	struct store_val p[] = { SV_TEXT(login) };
	return count_sql(f, "SELECT failed_logins FROM staff WHERE login = $1", p, 1);
}

/* 1 when needle occurs in the n bytes at p. */
static int holds(const void *p, size_t n, const char *needle)
{
	size_t k = strlen(needle);
	const char *h = p;
	for (size_t i = 0; k && k <= n && i <= n - k; i++)
		if (memcmp(h + i, needle, k) == 0)
			return 1;
	return 0;
}

struct scan {
	const char *needle;
	int found;
	int64_t rows;
};

static enum senim_result scan_audit_fn(struct store_tx *tx, void *ctx)
{
	struct scan *s = ctx;
	struct store_rows *r = NULL;
	int has = 0;
	int err = store_query(tx,
			      "SELECT actor, operation, object, subject_id, categories,"
			      " purpose, outcome, request_id, hash FROM audit_log",
			      NULL, 0, &r);
	while (!err && (err = store_rows_next(r, &has)) == SENIM_OK && has) {
		s->rows++;
		for (int col = 0; col < 9; col++) {
			size_t len = 0;
			const void *p = col == 8 ? store_rows_blob(r, col, &len)
						 : store_rows_text(r, col, &len);
			if (holds(p, len, s->needle))
				s->found = 1;
		}
	}
	store_rows_free(r);
	return err;
}

/* 1 when any audit record holds needle. */
static int audit_holds(struct fixture *f, const char *needle)
{
	struct scan s = { needle, 0, 0 };
	assert_int_equal(store_read(f->st, scan_audit_fn, &s), SENIM_OK);
	assert_true(s.rows > 0);
	return s.found;
}

/* 1 when the file at path (if any) holds needle in plain bytes. */
static int file_holds(const char *path, const char *needle)
{
	FILE *fp = fopen(path, "rb");
	if (!fp)
		return 0;
	struct buf_s {
		char *p;
		size_t len, cap;
	} b = { NULL, 0, 0 };
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
		if (b.len + n > b.cap) {
			b.cap = (b.len + n) * 2;
			b.p = realloc(b.p, b.cap);
			assert_non_null(b.p);
		}
		memcpy(b.p + b.len, chunk, n);
		b.len += n;
	}
	fclose(fp);
	int found = b.p && holds(b.p, b.len, needle);
	free(b.p);
	return found;
}

/* ---- tests -------------------------------------------------------------- */

static void test_login_valid(void **state)
{
	(void)state;
	static const struct {
		const char *login;
		int valid;
	} cases[] = {
		{ "a", 1 },
		{ "aigerim.s", 1 },
		{ "gateway-app_2", 1 },
		{ "z0", 1 },
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 1 },
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		  0 },
		{ "", 0 },
		{ "1abc", 0 },
		{ ".abc", 0 },
		{ "-abc", 0 },
		{ "Abc", 0 },
		{ "abC", 0 },
		{ "ab c", 0 },
		{ "ab@c", 0 },
		{ "ab/c", 0 },
		{ "айгерим", 0 },
		{ "ab\tc", 0 },
		{ "abc'--", 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (staff_login_valid(cases[i].login) != cases[i].valid)
			fail_msg("staff_login_valid(\"%s\") != %d", cases[i].login,
				 cases[i].valid);
	}
	assert_int_equal(staff_login_valid(NULL), 0);
}

static void test_add_invalid(void **state)
{
	struct fixture *f = *state;
	static const char *const bad[] = {
		"",
		"1abc",
		"Upper",
		"with space",
		"semi;colon",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *secret = (char *)"sentinel";
		assert_int_equal(add_account(f, bad[i], ROLE_SUPPORT, 0, &secret),
				 SENIM_ERR_INVALID);
		assert_null(secret);
	}
	char *secret = NULL;
	assert_int_equal(add_account(f, "ok", (enum role)ROLE__COUNT, 0, &secret),
			 SENIM_ERR_INVALID);
	assert_int_equal(audit_count(f, "staff.add", NULL), 0);
}

struct listed {
	int n;
	struct staff_info rows[4];
};

static void collect(const struct staff_info *info, void *ctx)
{
	struct listed *l = ctx;
	if (l->n < 4)
		l->rows[l->n] = *info;
	l->n++;
}

static void test_add_person_and_service(void **state)
{
	struct fixture *f = *state;
	char otp[STAFF_PASSWORD_MAX + 1];
	add_person(f, "aigerim", ROLE_UNDERWRITER, otp);
	assert_int_equal(strlen(otp), 20);
	for (size_t i = 0; otp[i]; i++)
		assert_null(strchr("0O1lIio", otp[i]));

	char *token = NULL;
	assert_int_equal(add_account(f, "gateway", ROLE_SUPPORT, 1, &token), SENIM_OK);
	assert_non_null(token);
	assert_int_equal(strlen(token), 47);
	assert_memory_equal(token, "snm_", 4);

	struct staff_actor who;
	assert_int_equal(staff_authenticate(f->st, token, &who), SENIM_OK);
	assert_string_equal(who.login, "gateway");
	assert_int_equal(who.role, ROLE_SUPPORT);
	assert_int_equal(who.is_service, 1);
	assert_true(who.id > 0);

	/* A service account cannot sign in with a password, not even its token. */
	char session[STAFF_TOKEN_MAX];
	assert_int_equal(sign_in(f, "gateway", token, "000000", NULL, session, NULL),
			 SENIM_ERR_AUTH);

	/* Duplicates, of either kind. */
	char *dup = NULL;
	assert_int_equal(add_account(f, "aigerim", ROLE_ADMIN, 0, &dup),
			 SENIM_ERR_CONFLICT);
	assert_null(dup);
	assert_int_equal(add_account(f, "gateway", ROLE_ADMIN, 1, &dup),
			 SENIM_ERR_CONFLICT);
	assert_null(dup);
	assert_int_equal(add_account(f, "aigerim", ROLE_ADMIN, 1, &dup),
			 SENIM_ERR_CONFLICT);
	assert_null(dup);

	struct listed l = { 0 };
	assert_int_equal(staff_list(f->st, collect, &l), SENIM_OK);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.rows[0].login, "aigerim");
	assert_int_equal(l.rows[0].role, ROLE_UNDERWRITER);
	assert_int_equal(l.rows[0].is_service, 0);
	assert_int_equal(l.rows[0].enrolled, 0);
	assert_int_equal(l.rows[0].locked, 0);
	assert_int_equal(l.rows[0].revoked, 0);
	assert_true(l.rows[0].created_at > clock_now_us() - 600 * 1000000LL);
	assert_string_equal(l.rows[1].login, "gateway");
	assert_int_equal(l.rows[1].is_service, 1);
	assert_int_equal(l.rows[1].id, who.id);

	/* OWASP's Argon2id setting, recorded in the hash itself. */
	struct store_val argon[] = { SV_TEXT("$argon2id$v=19$m=19456,t=2,p=1$%") };
	assert_int_equal(
		count_sql(f, "SELECT COUNT(*) FROM staff WHERE password_hash LIKE $1",
			  argon, 1),
		1);

	assert_int_equal(audit_count(f, "staff.add", "success"), 2);
	assert_false(audit_holds(f, otp));
	assert_false(audit_holds(f, token));
	assert_false(audit_holds(f, token + 4));
	assert_false(file_holds(f->db, otp));
	free_secret(token);
}

static void test_enrollment_flow(void **state)
{
	struct fixture *f = *state;
	char otp[STAFF_PASSWORD_MAX + 1];
	char b32[STAFF_TOTP_SECRET_B32_MAX];
	char code[7], bad[7];
	char token[STAFF_TOKEN_MAX];
	enum staff_login_block block;
	add_person(f, "dana", ROLE_DPO, otp);

	/* The right one-time password before enrolment has begun. */
	assert_int_equal(sign_in(f, "dana", otp, "123456", NEW_PASSWORD, token, &block),
			 SENIM_ERR_DENIED);
	assert_int_equal(block, STAFF_LOGIN_ENROLL_FIRST);

	/* A wrong password at the enrolment step counts as a failed sign-in. */
	assert_int_equal(enroll(f, "dana", "wrong password!", b32, NULL), SENIM_ERR_AUTH);
	assert_string_equal(b32, "");
	assert_int_equal(failed_logins(f, "dana"), 1);
	assert_int_equal(enroll(f, "nobody", otp, b32, NULL), SENIM_ERR_AUTH);

	/* Each call replaces the pending secret; only the last one counts. */
	char first[STAFF_TOTP_SECRET_B32_MAX];
	assert_int_equal(enroll(f, "dana", otp, first, NULL), SENIM_OK);
	assert_int_equal(enroll(f, "dana", otp, b32, NULL), SENIM_OK);
	assert_int_equal(strlen(b32), 32);
	assert_string_not_equal(first, b32);
	int64_t failures = 1;
	totp_now(first, code);
	totp_now(b32, bad);
	if (strcmp(code, bad) != 0) { /* a 1-in-a-million coincidence otherwise */
		assert_int_equal(sign_in(f, "dana", otp, code, NEW_PASSWORD, token, NULL),
				 SENIM_ERR_AUTH);
		failures++;
	}

	totp_now(b32, code);
	totp_wrong(b32, bad);
	assert_int_equal(sign_in(f, "dana", otp, code, NULL, token, &block),
			 SENIM_ERR_DENIED);
	assert_int_equal(block, STAFF_LOGIN_NEW_PASSWORD);
	assert_int_equal(sign_in(f, "dana", otp, code, "short", token, &block),
			 SENIM_ERR_DENIED);
	assert_int_equal(block, STAFF_LOGIN_WEAK_PASSWORD);
	char too_long[STAFF_PASSWORD_MAX + 2];
	memset(too_long, 'x', sizeof(too_long) - 1);
	too_long[sizeof(too_long) - 1] = '\0';
	assert_int_equal(sign_in(f, "dana", otp, code, too_long, token, &block),
			 SENIM_ERR_DENIED);
	assert_int_equal(block, STAFF_LOGIN_WEAK_PASSWORD);
	assert_int_equal(sign_in(f, "dana", otp, code, otp, token, &block),
			 SENIM_ERR_DENIED);
	assert_int_equal(block, STAFF_LOGIN_WEAK_PASSWORD);
	/* A wrong code (or password) is AUTH, never a hint about the rest. */
	assert_int_equal(sign_in(f, "dana", otp, bad, NEW_PASSWORD, token, &block),
			 SENIM_ERR_AUTH);
	assert_int_equal(
		sign_in(f, "dana", "not the password", code, NEW_PASSWORD, token, &block),
		SENIM_ERR_AUTH);
	/* DENIED answers are not failures; the two AUTH answers are. */
	assert_int_equal(failed_logins(f, "dana"), failures + 2);

	assert_int_equal(sign_in(f, "dana", otp, code, NEW_PASSWORD, token, &block),
			 SENIM_OK);
	assert_int_equal(block, STAFF_LOGIN_OK);
	assert_int_equal(failed_logins(f, "dana"), 0);
	struct staff_actor who;
	assert_int_equal(staff_authenticate(f->st, token, &who), SENIM_OK);
	assert_string_equal(who.login, "dana");
	assert_int_equal(who.role, ROLE_DPO);
	assert_int_equal(who.is_service, 0);

	/* Enrolled now: the one-time password is gone, enrolment is closed,
	 * and new_password is not needed. */
	char token2[STAFF_TOKEN_MAX];
	assert_int_equal(sign_in(f, "dana", otp, code, NULL, token2, NULL),
			 SENIM_ERR_AUTH);
	assert_int_equal(enroll(f, "dana", NEW_PASSWORD, first, NULL), SENIM_ERR_AUTH);
	assert_int_equal(sign_in(f, "dana", NEW_PASSWORD, code, NULL, token2, NULL),
			 SENIM_OK);
	assert_string_not_equal(token, token2);

	struct listed l = { 0 };
	assert_int_equal(staff_list(f->st, collect, &l), SENIM_OK);
	assert_int_equal(l.rows[0].enrolled, 1);

	assert_int_equal(audit_count(f, "staff.enroll", "success"), 2);
	assert_int_equal(audit_count(f, "staff.enroll", "failed"), 2);
	assert_int_equal(audit_count(f, "staff.enroll", "denied"), 1);
	assert_int_equal(audit_count(f, "staff.sign_in", "success"), 2);
	assert_int_equal(audit_count(f, "staff.sign_in", "denied"), 5);

	/* Nothing secret in the audit log, nor in plain bytes in the database. */
	const char *secrets[] = { otp,	     NEW_PASSWORD, b32,	       first, token,
				  token + 4, token2,	   token2 + 4, code };
	for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
		assert_false(audit_holds(f, secrets[i]));
	char wal[PATH_LEN];
	int n = snprintf(wal, sizeof(wal), "%s-wal", f->db);
	assert_true(n > 0 && (size_t)n < sizeof(wal));
	for (size_t i = 0; i < 8; i++) {
		assert_false(file_holds(f->db, secrets[i]));
		assert_false(file_holds(wal, secrets[i]));
	}
}

static void test_wrong_credentials(void **state)
{
	struct fixture *f = *state;
	char b32[STAFF_TOTP_SECRET_B32_MAX];
	char token[STAFF_TOKEN_MAX];
	char code[7], bad[7];
	enrolled_person(f, "erlan", ROLE_SUPPORT, b32, token);
	totp_now(b32, code);
	totp_wrong(b32, bad);

	static const struct {
		const char *login, *password;
		int code; /* 0 right, 1 wrong, 2 NULL, 3 malformed */
		int counts;
	} cases[] = {
		{ "erlan", "wrong password 123", 0, 1 },
		{ "erlan", NEW_PASSWORD, 1, 1 },
		{ "erlan", NEW_PASSWORD, 2, 1 },
		{ "erlan", NEW_PASSWORD, 3, 1 },
		{ "erlan", "", 0, 1 },
		{ "erlan", NULL, 0, 1 },
		{ "nobody", NEW_PASSWORD, 0, 0 },
		{ "Erlan", NEW_PASSWORD, 0, 0 },
		{ "", NEW_PASSWORD, 0, 0 },
		{ NULL, NEW_PASSWORD, 0, 0 },
	};
	int64_t expected = 0;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *c = cases[i].code == 0   ? code
				: cases[i].code == 1 ? bad
				: cases[i].code == 2 ? NULL
						     : "12a456";
		enum staff_login_block block = STAFF_LOGIN_WEAK_PASSWORD;
		int err = sign_in(f, cases[i].login, cases[i].password, c, NULL, token,
				  &block);
		if (err != SENIM_ERR_AUTH)
			fail_msg("case %zu: %d", i, err);
		assert_int_equal(block, STAFF_LOGIN_OK);
		expected += cases[i].counts;
		assert_int_equal(failed_logins(f, "erlan"), expected);
		if (expected == STAFF_FREE_FAILURES - 1) {
			/* Stay short of a pause; a success resets the count. */
			totp_now(b32, code);
			assert_int_equal(sign_in(f, "erlan", NEW_PASSWORD, code, NULL,
						 token, NULL),
					 SENIM_OK);
			assert_int_equal(failed_logins(f, "erlan"), 0);
			expected = 0;
		}
	}
	struct store_val p[] = { SV_TEXT("anonymous"), SV_TEXT("staff:unknown") };
	assert_int_equal(count_sql(f,
				   "SELECT COUNT(*) FROM audit_log WHERE actor = $1"
				   " AND object = $2 AND operation = 'staff.sign_in'"
				   " AND outcome = 'failed'",
				   p, 2),
			 4);
	/* A failure proves nothing about who tried: never the account's act. */
	struct store_val q[] = { SV_TEXT("failed") };
	assert_int_equal(count_sql(f,
				   "SELECT COUNT(*) FROM audit_log WHERE outcome = $1"
				   " AND actor <> 'anonymous'",
				   q, 1),
			 0);
	assert_true(count_sql(f,
			      "SELECT COUNT(*) FROM audit_log WHERE outcome = $1"
			      " AND object LIKE 'staff:%' AND object <> 'staff:unknown'",
			      q, 1) >= 6);
}

static int64_t staff_int(struct fixture *f, const char *column, const char *login)
{
	char sql[96];
	snprintf(sql, sizeof(sql), "SELECT %s FROM staff WHERE login = $1", column);
	struct store_val p[] = { SV_TEXT(login) };
	return count_sql(f, sql, p, 1);
}

static void set_pause(struct fixture *f, const char *login, int64_t failed, int64_t until)
{
	struct store_val p[] = { SV_INT(failed), SV_INT(until), SV_TEXT(login) };
	exec_sql(
		f,
		"UPDATE staff SET failed_logins = $1, locked_until = $2 WHERE login = $3",
		p, 3);
}

static int64_t audit_total(struct fixture *f)
{
	return count_sql(f, "SELECT COUNT(*) FROM audit_log", NULL, 0);
}

static int sign_in_retry(struct fixture *f, const char *login, const char *password,
			 const char *code, int *retry)
{
	forget_step(f, login);
	struct staff_attempt out;
	int err = attempt_sign_in(f, login, password, code, NULL, &out);
	*retry = out.retry_after_s;
	sodium_memzero(&out, sizeof(out));
	return err;
}

/* Guessing is slowed, never locked out: a pause that doubles, during which
 * tries are refused before any hash or write and do not stretch it, and
 * that a right try after it gets through. */
static void test_pause_after_failures(void **state)
{
	struct fixture *f = *state;
	char b32[STAFF_TOTP_SECRET_B32_MAX];
	char token[STAFF_TOKEN_MAX];
	char code[7];
	int retry = 0;
	enrolled_person(f, "marat", ROLE_AUDITOR, b32, token);
	totp_now(b32, code);

	for (int i = 0; i < STAFF_FREE_FAILURES; i++)
		assert_int_equal(
			sign_in_retry(f, "marat", "guess guess guess", code, &retry),
			SENIM_ERR_AUTH);
	struct listed l = { 0 };
	assert_int_equal(staff_list(f->st, collect, &l), SENIM_OK);
	assert_int_equal(l.rows[0].locked, 1);

	/* In the pause even the right credentials wait: 429, nothing written,
	 * nothing counted, the pause not moved. */
	int64_t records = audit_total(f), until = staff_int(f, "locked_until", "marat");
	totp_now(b32, code);
	assert_int_equal(sign_in_retry(f, "marat", NEW_PASSWORD, code, &retry),
			 SENIM_ERR_LOCKED);
	assert_true(retry >= 1 && retry <= 1);
	assert_int_equal(sign_in_retry(f, "marat", "guess again", code, &retry),
			 SENIM_ERR_LOCKED);
	assert_int_equal(audit_total(f), records);
	assert_int_equal(failed_logins(f, "marat"), STAFF_FREE_FAILURES);
	assert_int_equal(staff_int(f, "locked_until", "marat"), until);

	/* Once the pause is over, the member gets through and the count goes. */
	set_pause(f, "marat", STAFF_FREE_FAILURES, clock_now_us() - 1);
	totp_now(b32, code);
	assert_int_equal(sign_in_retry(f, "marat", NEW_PASSWORD, code, &retry), SENIM_OK);
	assert_int_equal(failed_logins(f, "marat"), 0);

	/* Each further failure doubles the pause, up to the cap. */
	static const struct {
		int64_t failed_before;
		int64_t pause_s;
	} schedule[] = {
		{ 4, 1 }, { 5, 2 }, { 7, 8 }, { 9, 32 }, { 10, 60 }, { 1000, 60 }
	};
	for (size_t i = 0; i < sizeof(schedule) / sizeof(schedule[0]); i++) {
		set_pause(f, "marat", schedule[i].failed_before, 0);
		int64_t before = clock_now_us();
		assert_int_equal(sign_in_retry(f, "marat", "guess guess", code, &retry),
				 SENIM_ERR_AUTH);
		int64_t pause = staff_int(f, "locked_until", "marat") - before;
		if (pause < (schedule[i].pause_s - 1) * 1000000 ||
		    pause > schedule[i].pause_s * 1000000 + 5000000)
			fail_msg("after %lld failures: a pause of %lld us",
				 (long long)schedule[i].failed_before + 1,
				 (long long)pause);
		assert_int_equal(sign_in_retry(f, "marat", NEW_PASSWORD, code, &retry),
				 SENIM_ERR_LOCKED);
		assert_true(retry >= schedule[i].pause_s - 1 &&
			    retry <= schedule[i].pause_s);
	}

	/* `staff unlock` clears the pause and the count. */
	assert_int_equal(change(f, staff_unlock_tx, "marat"), SENIM_OK);
	assert_int_equal(change(f, staff_unlock_tx, "nobody"), SENIM_ERR_NOT_FOUND);
	assert_int_equal(audit_count(f, "staff.unlock", "success"), 1);
	assert_int_equal(failed_logins(f, "marat"), 0);
	totp_now(b32, code);
	assert_int_equal(sign_in_retry(f, "marat", NEW_PASSWORD, code, &retry), SENIM_OK);

	/* Enrolment counts as well. */
	char otp[STAFF_PASSWORD_MAX + 1];
	add_person(f, "new.hire", ROLE_SUPPORT, otp);
	for (int i = 0; i < STAFF_FREE_FAILURES; i++)
		assert_int_equal(enroll(f, "new.hire", "nope", b32, NULL),
				 SENIM_ERR_AUTH);
	assert_int_equal(enroll(f, "new.hire", otp, b32, &retry), SENIM_ERR_LOCKED);
	assert_true(retry >= 1);

	/* A login that does not exist pauses the same way, so a pause does not
	 * tell which logins exist; its tries are anonymous and unknown. */
	for (int i = 0; i < STAFF_FREE_FAILURES; i++)
		assert_int_equal(sign_in_retry(f, "ghost", "guess guess", code, &retry),
				 SENIM_ERR_AUTH);
	records = audit_total(f);
	assert_int_equal(sign_in_retry(f, "ghost", "guess guess", code, &retry),
			 SENIM_ERR_LOCKED);
	assert_true(retry >= 1);
	assert_int_equal(audit_total(f), records);

	/* No failure was ever recorded as the account's own act. */
	struct store_val q[] = { SV_TEXT("failed") };
	assert_int_equal(count_sql(f,
				   "SELECT COUNT(*) FROM audit_log WHERE outcome = $1"
				   " AND actor <> 'anonymous'",
				   q, 1),
			 0);
	assert_int_equal(audit_count(f, "staff.lockout", NULL), 0);
}

/* At most the configured number of Argon2id runs at once: with no slot
 * free, a sign-in is refused before any hash or write. */
static void test_hash_slots_bound_the_work(void **state)
{
	struct fixture *f = *state;
	char b32[STAFF_TOTP_SECRET_B32_MAX];
	char token[STAFF_TOKEN_MAX];
	char code[7];
	int retry = 0;
	enrolled_person(f, "saule", ROLE_SUPPORT, b32, token);
	int64_t records = audit_total(f);
	staff_password_set_slots(0);
	totp_now(b32, code);
	int err = sign_in_retry(f, "saule", NEW_PASSWORD, code, &retry);
	int enrolled = enroll(f, "saule", "wrong one", b32, NULL);
	staff_password_set_slots(-1);
	assert_int_equal(err, SENIM_ERR_UNAVAILABLE);
	assert_int_equal(enrolled, SENIM_ERR_UNAVAILABLE);
	assert_int_equal(retry, 1);
	assert_int_equal(audit_total(f), records);
	assert_int_equal(failed_logins(f, "saule"), 0);
	/* Slots back: the same sign-in works. */
	assert_int_equal(sign_in_retry(f, "saule", NEW_PASSWORD, code, &retry), SENIM_OK);
}

static void test_revoke(void **state)
{
	struct fixture *f = *state;
	char b32[STAFF_TOTP_SECRET_B32_MAX];
	char session[STAFF_TOKEN_MAX];
	char code[7];
	struct staff_actor who;
	enrolled_person(f, "olzhas", ROLE_MARKETING, b32, session);
	char *service = NULL;
	assert_int_equal(add_account(f, "batch", ROLE_INVESTIGATOR, 1, &service),
			 SENIM_OK);
	assert_int_equal(staff_authenticate(f->st, service, &who), SENIM_OK);
	assert_int_equal(staff_authenticate(f->st, session, &who), SENIM_OK);

	assert_int_equal(change(f, staff_revoke_tx, "batch"), SENIM_OK);
	assert_int_equal(staff_authenticate(f->st, service, &who), SENIM_ERR_AUTH);
	assert_int_equal(who.id, 0);
	assert_int_equal(staff_authenticate(f->st, session, &who), SENIM_OK);

	assert_int_equal(change(f, staff_revoke_tx, "olzhas"), SENIM_OK);
	assert_int_equal(staff_authenticate(f->st, session, &who), SENIM_ERR_AUTH);
	totp_now(b32, code);
	assert_int_equal(sign_in(f, "olzhas", NEW_PASSWORD, code, NULL, session, NULL),
			 SENIM_ERR_AUTH);
	assert_int_equal(change(f, staff_revoke_tx, "nobody"), SENIM_ERR_NOT_FOUND);
	assert_int_equal(audit_count(f, "staff.revoke", "success"), 2);

	struct listed l = { 0 };
	assert_int_equal(staff_list(f->st, collect, &l), SENIM_OK);
	assert_int_equal(l.rows[0].revoked, 1);
	assert_int_equal(l.rows[1].revoked, 1);
	free_secret(service);
}

static void test_sign_out(void **state)
{
	struct fixture *f = *state;
	char b32[STAFF_TOTP_SECRET_B32_MAX];
	char session[STAFF_TOKEN_MAX], other[STAFF_TOKEN_MAX];
	char code[7];
	struct staff_actor who;
	enrolled_person(f, "saule", ROLE_ADMIN, b32, session);
	totp_now(b32, code);
	assert_int_equal(sign_in(f, "saule", NEW_PASSWORD, code, NULL, other, NULL),
			 SENIM_OK);

	assert_int_equal(sign_out(f, session), SENIM_OK);
	assert_int_equal(staff_authenticate(f->st, session, &who), SENIM_ERR_AUTH);
	assert_int_equal(sign_out(f, session), SENIM_ERR_AUTH);
	/* Only that session ends. */
	assert_int_equal(staff_authenticate(f->st, other, &who), SENIM_OK);
	assert_string_equal(who.login, "saule");

	/* A service token is not a session: it ends only with revocation. */
	char *service = NULL;
	assert_int_equal(add_account(f, "gateway", ROLE_SUPPORT, 1, &service), SENIM_OK);
	assert_int_equal(sign_out(f, service), SENIM_ERR_AUTH);
	assert_int_equal(staff_authenticate(f->st, service, &who), SENIM_OK);
	assert_int_equal(sign_out(f, "snm_nonsense"), SENIM_ERR_AUTH);
	assert_int_equal(sign_out(f, NULL), SENIM_ERR_AUTH);
	assert_int_equal(audit_count(f, "staff.sign_out", "success"), 1);
	free_secret(service);
}

static void test_expired_token(void **state)
{
	struct fixture *f = *state;
	char b32[STAFF_TOTP_SECRET_B32_MAX];
	char session[STAFF_TOKEN_MAX];
	struct staff_actor who;
	enrolled_person(f, "timur", ROLE_UNDERWRITER, b32, session);
	assert_int_equal(staff_authenticate(f->st, session, &who), SENIM_OK);
	struct store_val p[] = { SV_INT(clock_now_us() - 1) };
	exec_sql(f,
		 "UPDATE staff_tokens SET expires_at = $1 WHERE expires_at IS NOT NULL",
		 p, 1);
	assert_int_equal(staff_authenticate(f->st, session, &who), SENIM_ERR_AUTH);
	assert_int_equal(sign_out(f, session), SENIM_ERR_AUTH);
}

static void test_token_forms(void **state)
{
	struct fixture *f = *state;
	char *token = NULL;
	struct staff_actor who;
	assert_int_equal(add_account(f, "gateway", ROLE_SUPPORT, 1, &token), SENIM_OK);
	char forged[STAFF_TOKEN_MAX + 8];

	static const char *const bad[] = {
		"",
		"snm_",
		"snm",
		"Bearer snm_AAAA",
		"snm_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", /* right form, unknown */
		"snm_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB", /* non-zero spare bits */
		"snm_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",  /* padding */
		"snm_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+",  /* not url-safe */
		"snm_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", /* too long */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(staff_authenticate(f->st, bad[i], &who), SENIM_ERR_AUTH);
	assert_int_equal(staff_authenticate(f->st, NULL, &who), SENIM_ERR_AUTH);

	/* The real token with a changed prefix, a changed character or a tail. */
	snprintf(forged, sizeof(forged), "SNM_%s", token + 4);
	assert_int_equal(staff_authenticate(f->st, forged, &who), SENIM_ERR_AUTH);
	snprintf(forged, sizeof(forged), "%s", token);
	forged[10] = forged[10] == 'A' ? 'B' : 'A';
	assert_int_equal(staff_authenticate(f->st, forged, &who), SENIM_ERR_AUTH);
	snprintf(forged, sizeof(forged), "%s ", token);
	assert_int_equal(staff_authenticate(f->st, forged, &who), SENIM_ERR_AUTH);
	assert_int_equal(staff_authenticate(f->st, token, &who), SENIM_OK);
	free_secret(token);
}

/* RFC 6238 5.2: once a code has been accepted, the same code (the same time
 * step, or an earlier one) is refused, and the replay counts as a failure. */
static void test_totp_code_accepted_once(void **state)
{
	struct fixture *f = *state;
	char b32[STAFF_TOTP_SECRET_B32_MAX], session[STAFF_TOKEN_MAX];
	char code[7];
	enrolled_person(f, "zhanar", ROLE_SUPPORT, b32, session);
	forget_step(f, "zhanar");
	totp_now(b32, code);
	assert_int_equal(attempt_sign_in(f, "zhanar", NEW_PASSWORD, code, NULL, NULL),
			 SENIM_OK);
	int64_t before = failed_logins(f, "zhanar");
	assert_int_equal(attempt_sign_in(f, "zhanar", NEW_PASSWORD, code, NULL, NULL),
			 SENIM_ERR_AUTH);
	assert_int_equal(failed_logins(f, "zhanar"), before + 1);
}

int main(void)
{
	if (sodium_init() < 0 || oath_init() != OATH_OK)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_totp_code_accepted_once, setup,
						teardown),
		cmocka_unit_test(test_login_valid),
		cmocka_unit_test_setup_teardown(test_add_invalid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_person_and_service, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_enrollment_flow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_credentials, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pause_after_failures, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_hash_slots_bound_the_work, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_revoke, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sign_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expired_token, setup, teardown),
		cmocka_unit_test_setup_teardown(test_token_forms, setup, teardown),
	};
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	oath_done();
	return failed;
}
