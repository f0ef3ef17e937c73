/*
 * test_audit.c — the hash-chained audit log on a real SQLite file: appending,
 * checkpoints, failing closed, and verification against an attacker who can
 * write the database file (tampering goes through a second, raw sqlite3
 * connection after dropping the append-only triggers, as such an attacker
 * would).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/anchor.h"
#include "audit/audit.h"
#include "common/clock.h"
#include "store/store.h"
#include "vault/keyring.h"
#include "testutil.h"
#include "common/banned.h"

/* ---- fixtures ---------------------------------------------------------------- */

struct fx {
	char dir[512];
	char db[600];
	char keys[600];
	struct keyring *kr;
	struct store *st;
};

static struct fx *fx_open(void)
{
	struct fx *f = calloc(1, sizeof(*f));
	const char *base = getenv("SENIM_TMP");
	assert_non_null(f);
	if (!base || !*base)
		base = "/tmp";
	(void)mkdir(base, 0700);
	snprintf(f->dir, sizeof(f->dir), "%s/audit-XXXXXX", base);
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->db, sizeof(f->db), "%s/senim.db", f->dir);
	snprintf(f->keys, sizeof(f->keys), "%s/keys/senim.keys", f->dir);
	assert_int_equal(keyring_open(f->keys, 1, &f->kr), SENIM_OK);
	assert_int_equal(store_open(f->db, 4, &f->st), SENIM_OK);
	assert_int_equal(store_migrate(f->st, NULL), SENIM_OK);
	return f;
}

static void fx_close(struct fx *f)
{
	store_free(f->st);
	keyring_free(f->kr);
	testutil_rm_rf(f->dir);
	free(f);
}

static int setup(void **state)
{
	*state = fx_open();
	return 0;
}

static int teardown(void **state)
{
	fx_close(*state);
	return 0;
}

/* ---- the raw connection (the attacker's, and the test's eyes) ------------- */

static void raw_exec(const struct fx *f, const char *sql)
{
	char why[256];
	if (testutil_sql(f->db, sql, why, sizeof(why)))
		fail_msg("raw SQL failed: %s: %s", sql, why);
}

static int64_t raw_int(const struct fx *f, const char *sql)
{
	return testutil_sql_int(f->db, sql);
}

#define DROP_TRIGGERS                                                         \
	"DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;" \
	"DROP TRIGGER audit_checkpoints_no_update; DROP TRIGGER "             \
	"audit_checkpoints_no_delete;"

/* ---- appending helpers --------------------------------------------------------- */

/* The record for sequence number s: varied fields, every third without a
 * subject. */
struct rec_text {
	char actor[32], object[32], subject[32], request_id[32];
	struct audit_record rec;
};

static void make_record(int64_t s, struct rec_text *t)
{
	static const char *const ops[] = { "subject.read", "consent.grant", "loan.apply",
					   "staff.login" };
	static const char *const cats[] = { "", "identity", "identity,contact" };
	snprintf(t->actor, sizeof(t->actor), "staff:%lld", (long long)(s % 5));
	snprintf(t->object, sizeof(t->object), "subject:%lld", (long long)s);
	snprintf(t->subject, sizeof(t->subject), "%lld", (long long)(1000 + s));
	snprintf(t->request_id, sizeof(t->request_id), "req-%lld", (long long)s);
	t->rec = (struct audit_record){
		.actor = t->actor,
		.operation = ops[s % 4],
		.object = t->object,
		.subject_id = s % 3 == 0 ? NULL : t->subject,
		.categories = cats[s % 3],
		.purpose = s % 2 ? "loan.application" : "",
		.outcome = s % 7 == 0 ? "denied" : "success",
		.request_id = t->request_id,
	};
}

struct append_ctx {
	const struct keyring *kr;
	int n;
	int64_t last;
};

static enum senim_result append_fn(struct store_tx *tx, void *ctx)
{
	struct append_ctx *a = ctx;
	for (int i = 0; i < a->n; i++) {
		struct rec_text t;
		/* Records take the numbers after the head, in order; the content
		 * names the number it should get. */
		make_record(a->last + 1, &t);
		int err = audit_append(tx, a->kr, &t.rec);
		if (err)
			return err;
		a->last++;
	}
	return SENIM_OK;
}

/* Append n records, per_tx to a transaction; returns the last seq. */
static int64_t append_n(struct fx *f, int n, int per_tx)
{
	int64_t last = raw_int(f, "SELECT seq FROM audit_head");
	for (int done = 0; done < n; done += per_tx) {
		struct append_ctx a = { .kr = f->kr,
					.n = n - done < per_tx ? n - done : per_tx,
					.last = last };
		assert_int_equal(store_write(f->st, append_fn, &a), SENIM_OK);
		assert_int_equal(raw_int(f, "SELECT seq FROM audit_head"), a.last);
		/* Each record got the number its content names, in order. */
		char sql[128];
		snprintf(sql, sizeof(sql),
			 "SELECT count(*) FROM audit_log WHERE seq > %lld"
			 " AND request_id = 'req-' || seq",
			 (long long)last);
		assert_int_equal(raw_int(f, sql), a.last - last);
		last = a.last;
	}
	return last;
}

static void verify_ok(struct fx *f, int64_t records, int64_t checkpoints)
{
	struct audit_report rep;
	int err = audit_verify(f->st, f->kr, &rep);
	if (err)
		fail_msg("verify: %d at %lld: %s", err, (long long)rep.first_bad_seq,
			 rep.problem);
	assert_int_equal(rep.records, records);
	if (checkpoints >= 0)
		assert_int_equal(rep.checkpoints, checkpoints);
	assert_int_equal(rep.first_bad_seq, 0);
	assert_string_equal(rep.problem, "");
}

/* ---- an independent implementation of the canonical hash ------------------- */

/* What audit.h specifies, written again here: BLAKE2b-256(prev || be32 len ||
 * bytes ...) over seq, at (8-byte big-endian) and the eight text fields, a
 * NULL subject_id being the length 0xFFFFFFFF with no bytes. */
static void spec_hash(const unsigned char prev[32], int64_t seq, int64_t at,
		      const char *const fields[8], unsigned char out[32])
{
	crypto_generichash_state st;
	unsigned char b[8];
	int64_t ints[2] = { seq, at };
	crypto_generichash_init(&st, NULL, 0, 32);
	crypto_generichash_update(&st, prev, 32);
	for (int k = 0; k < 2; k++) {
		static const unsigned char eight[4] = { 0, 0, 0, 8 };
		for (int j = 0; j < 8; j++)
			b[j] = (unsigned char)((uint64_t)ints[k] >> (56 - 8 * j));
		crypto_generichash_update(&st, eight, 4);
		crypto_generichash_update(&st, b, 8);
	}
	for (int i = 0; i < 8; i++) {
		uint32_t n = fields[i] ? (uint32_t)strlen(fields[i]) : 0xffffffffu;
		unsigned char len[4] = { (unsigned char)(n >> 24),
					 (unsigned char)(n >> 16),
					 (unsigned char)(n >> 8), (unsigned char)n };
		crypto_generichash_update(&st, len, 4);
		if (fields[i])
			crypto_generichash_update(&st, (const unsigned char *)fields[i],
						  strlen(fields[i]));
	}
	crypto_generichash_final(&st, out, 32);
}

/* ---- known answer ---------------------------------------------------------------- */

/*
 * Two fixed records and their hashes.  The expected values were computed
 * once, outside this code base, with Python's hashlib:
 *   h = hashlib.blake2b(digest_size=32); h.update(prev)
 *   for v in (seq, at): h.update(struct.pack('>I', 8) + struct.pack('>q', v))
 *   for f in fields: h.update(struct.pack('>I', 0xffffffff)) if f is None
 *                    else h.update(struct.pack('>I', len(f)) + f.encode())
 * and committed here.  If they change, every audit log ever written stops
 * verifying: the canonical encoding is a stored format, never to be edited.
 */
static const char *const KAT1[8] = { "staff:12", "subject.read",     "subject:42",
				     "42",	 "identity,contact", "loan.application",
				     "success",	 "req-0001" };
static const char *const KAT2[8] = { "cli", "audit.verify", "audit", NULL, "",
				     "",    "success",	    "cli-1" };
#define KAT1_AT INT64_C(1700000000000000)
#define KAT2_AT INT64_C(1700000000000001)
#define KAT1_HASH "839607c8305290e3fc84556a7f256577dde409987055b1f1ed8d5f4600740a16"
#define KAT2_HASH "e119d375eb4e70ed7af5722598bbaac3cdf52b4dca920edeada07fbb7c0ff1cb"

/* A checkpoint signed as audit.c signs one: "senim-audit-checkpoint-v1",
 * the big-endian seq, the record's hash, the big-endian signing time. */
static void sign_checkpoint(struct fx *f, int64_t seq, const char *hash_hex, int64_t at)
{
	static const char domain[] = "senim-audit-checkpoint-v1";
	unsigned char msg[sizeof(domain) - 1 + 8 + 32 + 8], sig[KEYRING_SIG_BYTES];
	unsigned char *p = msg;
	memcpy(p, domain, sizeof(domain) - 1);
	p += sizeof(domain) - 1;
	for (int i = 7; i >= 0; i--)
		*p++ = (unsigned char)((uint64_t)seq >> (8 * i));
	assert_int_equal(sodium_hex2bin(p, 32, hash_hex, 64, NULL, NULL, NULL), 0);
	p += 32;
	for (int i = 7; i >= 0; i--)
		*p++ = (unsigned char)((uint64_t)at >> (8 * i));
	keyring_sign(f->kr, msg, sizeof(msg), sig);
	char sig_hex[2 * sizeof(sig) + 1], sql[512];
	sodium_bin2hex(sig_hex, sizeof(sig_hex), sig, sizeof(sig));
	snprintf(sql, sizeof(sql),
		 "INSERT INTO audit_checkpoints VALUES (%lld, x'%s', %lld, '%s', x'%s')",
		 (long long)seq, hash_hex, (long long)at, keyring_signing_key_id(f->kr),
		 sig_hex);
	raw_exec(f, sql);
}

static void test_known_answer(void **state)
{
	struct fx *f = *state;
	unsigned char zero[32] = { 0 }, h1[32], h2[32];
	char hex[65];

	/* The test's own encoder agrees with the committed values ... */
	spec_hash(zero, 1, KAT1_AT, KAT1, h1);
	spec_hash(h1, 2, KAT2_AT, KAT2, h2);
	sodium_bin2hex(hex, sizeof(hex), h1, 32);
	assert_string_equal(hex, KAT1_HASH);
	sodium_bin2hex(hex, sizeof(hex), h2, 32);
	assert_string_equal(hex, KAT2_HASH);

	/* ... and audit.c accepts exactly these records with these hashes. */
	raw_exec(f, "INSERT INTO audit_log VALUES (1, 1700000000000000, 'staff:12',"
		    " 'subject.read', 'subject:42', '42', 'identity,contact',"
		    " 'loan.application', 'success', 'req-0001', x'" KAT1_HASH "');"
		    "INSERT INTO audit_log VALUES (2, 1700000000000001, 'cli',"
		    " 'audit.verify', 'audit', NULL, '', '', 'success', 'cli-1',"
		    " x'" KAT2_HASH "');"
		    "UPDATE audit_head SET seq = 2, hash = x'" KAT2_HASH "';");
	/* Signed as the writer signs a batch's last record (verify insists
	 * that the newest checkpoint names the last record) ... */
	sign_checkpoint(f, 1, KAT1_HASH, KAT1_AT);
	sign_checkpoint(f, 2, KAT2_HASH, KAT2_AT);
	verify_ok(f, 2, 2);

	/* ... and the chain goes on from the known head, its batch signed. */
	assert_int_equal(append_n(f, 1, 1), 3);
	verify_ok(f, 3, 3);

	/* NULL and "" are different subjects. */
	raw_exec(f, DROP_TRIGGERS "UPDATE audit_log SET subject_id = '' WHERE seq = 2");
	struct audit_report rep;
	assert_int_equal(audit_verify(f->st, f->kr, &rep), SENIM_ERR_TAMPERED);
	assert_int_equal(rep.first_bad_seq, 2);
}

/* ---- appending -------------------------------------------------------------------- */

static void test_append_and_verify(void **state)
{
	struct fx *f = *state;
	uint64_t before = audit_records_written();
	verify_ok(f, 0, 0);
	for (int i = 1; i <= 20; i++) {
		struct append_ctx a = { .kr = f->kr, .n = 1, .last = i - 1 };
		assert_int_equal(store_write(f->st, append_fn, &a), SENIM_OK);
		assert_int_equal(a.last, i);
	}
	assert_int_equal(audit_records_written() - before, 20);
	assert_int_equal(raw_int(f, "SELECT seq FROM audit_head"), 20);
	assert_int_equal(raw_int(f, "SELECT count(*) FROM audit_log"), 20);
	assert_int_equal(
		raw_int(f, "SELECT count(*) FROM audit_log WHERE subject_id IS NULL"), 6);
	/* Every batch (here: every write) ends in a checkpoint. */
	assert_int_equal(raw_int(f, "SELECT count(*) FROM audit_checkpoints"), 20);
	assert_int_equal(raw_int(f, "SELECT count(*) FROM audit_checkpoints c JOIN"
				    " audit_log l USING (seq) WHERE c.hash = l.hash"),
			 20);
	verify_ok(f, 20, 20);

	/* The triggers refuse changes made through SQL. */
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 10000);
	assert_int_not_equal(
		sqlite3_exec(db, "UPDATE audit_log SET outcome = 'x'", NULL, NULL, NULL),
		SQLITE_OK);
	assert_int_not_equal(sqlite3_exec(db, "DELETE FROM audit_log", NULL, NULL, NULL),
			     SQLITE_OK);
	sqlite3_close(db);
}

struct invalid_ctx {
	const struct keyring *kr;
	const struct audit_record *rec;
	int null_rec;
};

static enum senim_result invalid_fn(struct store_tx *tx, void *ctx)
{
	struct invalid_ctx *c = ctx;
	return audit_append(tx, c->kr, c->null_rec ? NULL : c->rec);
}

static void test_invalid_records(void **state)
{
	enum {
		NONE = -1,
		NULL_REC = -2,
		LONG = -3
	};
	static const struct {
		const char *name;
		int null_field; /* index into the record's fields, or a special */
		int want;
	} cases[] = {
		{ "complete", NONE, SENIM_OK },
		{ "no actor", 0, SENIM_ERR_INVALID },
		{ "no operation", 1, SENIM_ERR_INVALID },
		{ "no object", 2, SENIM_ERR_INVALID },
		{ "no subject (allowed)", 3, SENIM_OK },
		{ "no categories", 4, SENIM_ERR_INVALID },
		{ "no purpose", 5, SENIM_ERR_INVALID },
		{ "no outcome", 6, SENIM_ERR_INVALID },
		{ "no request id", 7, SENIM_ERR_INVALID },
		{ "no record", NULL_REC, SENIM_ERR_INVALID },
		{ "field too long", LONG, SENIM_ERR_INVALID },
	};
	struct fx *f = *state;
	char *longtext = malloc(5000);
	assert_non_null(longtext);
	memset(longtext, 'x', 4999);
	longtext[4999] = '\0';
	int64_t want_seq = 0;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rec_text t;
		make_record(1, &t);
		const char **fields[8] = {
			&t.rec.actor,	   &t.rec.operation,  &t.rec.object,
			&t.rec.subject_id, &t.rec.categories, &t.rec.purpose,
			&t.rec.outcome,	   &t.rec.request_id,
		};
		if (cases[i].null_field >= 0)
			*fields[cases[i].null_field] = NULL;
		if (cases[i].null_field == LONG)
			t.rec.object = longtext;
		struct invalid_ctx c = { .kr = f->kr,
					 .rec = &t.rec,
					 .null_rec = cases[i].null_field == NULL_REC };
		int err = store_write(f->st, invalid_fn, &c);
		if (err != cases[i].want)
			fail_msg("%s: got %d, want %d", cases[i].name, err,
				 cases[i].want);
		if (!err)
			want_seq++;
		assert_int_equal(raw_int(f, "SELECT seq FROM audit_head"), want_seq);
	}
	free(longtext);
	verify_ok(f, want_seq, want_seq);
}

/* Fail closed: when the audit record cannot be written, nothing of the
 * operation is. */
struct closed_ctx {
	const struct keyring *kr;
	int appended;
};

static enum senim_result fail_closed_fn(struct store_tx *tx, void *ctx)
{
	struct closed_ctx *c = ctx;
	struct rec_text t;
	make_record(4, &t);
	int err = audit_append(tx, c->kr, &t.rec);
	if (err)
		return err;
	c->appended = 1;
	err = store_exec(tx,
			 "INSERT INTO staff (login, role, kind, created_at)"
			 " VALUES ('aigerim', 'officer', 'person', 0)",
			 NULL, 0, NULL);
	if (err)
		return err;
	t.rec.actor = NULL;
	return audit_append(tx, c->kr, &t.rec);
}

static void test_fail_closed(void **state)
{
	struct fx *f = *state;
	append_n(f, 3, 3);
	int64_t checkpoints = raw_int(f, "SELECT count(*) FROM audit_checkpoints");
	struct closed_ctx c = { .kr = f->kr };
	assert_int_equal(store_write(f->st, fail_closed_fn, &c), SENIM_ERR_INVALID);
	assert_true(c.appended);
	assert_int_equal(raw_int(f, "SELECT count(*) FROM staff"), 0);
	assert_int_equal(raw_int(f, "SELECT count(*) FROM audit_log"), 3);
	assert_int_equal(raw_int(f, "SELECT seq FROM audit_head"), 3);
	assert_int_equal(raw_int(f, "SELECT count(*) FROM audit_checkpoints"),
			 checkpoints);
	verify_ok(f, 3, checkpoints);
	/* And the chain goes on where it was. */
	assert_int_equal(append_n(f, 1, 1), 4);
	verify_ok(f, 4, -1);
}

struct one_append {
	const struct keyring *kr;
	const struct audit_record *rec;
};

static enum senim_result one_append_fn(struct store_tx *tx, void *ctx)
{
	const struct one_append *a = ctx;
	return audit_append(tx, a->kr, a->rec);
}

/* A head that does not match the log refuses the append, and the write
 * that carried it reports why (SENIM_ERR_TAMPERED, not a generic store
 * failure): the CLI tells the operator to run `senim audit verify`. */
static void test_broken_head_is_reported_as_tampering(void **state)
{
	struct fx *f = *state;
	append_n(f, 3, 3);
	raw_exec(f, "UPDATE audit_head SET seq = 1"); /* behind the log */
	struct rec_text t;
	make_record(4, &t);
	assert_int_equal(
		store_write(f->st, one_append_fn, &(struct one_append){ f->kr, &t.rec }),
		SENIM_ERR_TAMPERED);
	assert_int_equal(raw_int(f, "SELECT count(*) FROM audit_log"), 3);
	raw_exec(f, "DELETE FROM audit_head"); /* gone */
	assert_int_equal(
		store_write(f->st, one_append_fn, &(struct one_append){ f->kr, &t.rec }),
		SENIM_ERR_TAMPERED);
	assert_int_equal(raw_int(f, "SELECT count(*) FROM audit_log"), 3);
}

/* ---- checkpoints ------------------------------------------------------------------- */

static void test_every_batch_is_signed(void **state)
{
	struct fx *f = *state;
	append_n(f, 600, 200);
	assert_int_equal(raw_int(f, "SELECT count(*) FROM audit_checkpoints"), 3);
	assert_int_equal(raw_int(f, "SELECT count(*) FROM audit_checkpoints WHERE seq IN"
				    " (200, 400, 600)"),
			 3);
	/* A checkpoint carries the record's hash and the current key's id. */
	assert_int_equal(
		raw_int(f, "SELECT count(*) FROM audit_checkpoints c JOIN audit_log l"
			   " USING (seq) WHERE c.hash = l.hash"),
		3);
	char sql[200];
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM audit_checkpoints WHERE key_id = '%s'",
		 keyring_signing_key_id(f->kr));
	assert_int_equal(raw_int(f, sql), 3);
	verify_ok(f, 600, 3);
	/* However many records a batch holds: one signature, at its end. */
	append_n(f, 300, 300);
	assert_int_equal(raw_int(f, "SELECT count(*) FROM audit_checkpoints"), 4);
	assert_int_equal(raw_int(f, "SELECT max(seq) FROM audit_checkpoints"), 900);
	verify_ok(f, 900, 4);
}

/* The writer never signs on top of a head it did not sign: that would
 * vouch for records someone added or rewrote without the key. */
static void test_unsigned_head_is_refused(void **state)
{
	struct fx *f = *state;
	append_n(f, 5, 5);
	struct rec_text t;
	make_record(6, &t);
	/* the batch's checkpoint deleted (the chain could then be recomputed) */
	raw_exec(f, DROP_TRIGGERS "DELETE FROM audit_checkpoints WHERE seq = 5");
	assert_int_equal(
		store_write(f->st, one_append_fn, &(struct one_append){ f->kr, &t.rec }),
		SENIM_ERR_TAMPERED);
	assert_int_equal(raw_int(f, "SELECT count(*) FROM audit_log"), 5);
	assert_int_equal(raw_int(f, "SELECT count(*) FROM audit_checkpoints"), 0);
	/* a record added past the signed head, the head moved along */
	struct fx *g = fx_open();
	append_n(g, 5, 5);
	raw_exec(g, DROP_TRIGGERS
		 "INSERT INTO audit_log SELECT 6, at, actor, operation, object,"
		 " subject_id, categories, purpose, outcome, request_id, hash"
		 " FROM audit_log WHERE seq = 5;"
		 "UPDATE audit_head SET seq = 6");
	assert_int_equal(
		store_write(g->st, one_append_fn, &(struct one_append){ g->kr, &t.rec }),
		SENIM_ERR_TAMPERED);
	assert_int_equal(raw_int(g, "SELECT count(*) FROM audit_checkpoints"), 1);
	fx_close(g);
}

/* ---- tampering -------------------------------------------------------------------- */

static void test_tampering(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		const char *sql;
		int64_t first_bad;
		const char *word; /* expected in the problem text */
	} cases[] = {
		{ "change a field",
		  "UPDATE audit_log SET purpose = 'marketing' WHERE seq = 7", 7,
		  "changed" },
		{ "change the time", "UPDATE audit_log SET at = at + 1 WHERE seq = 4", 4,
		  "changed" },
		{ "remove a subject",
		  "UPDATE audit_log SET subject_id = NULL WHERE seq = 5", 5, "changed" },
		{ "blank a required field",
		  "CREATE TABLE copy AS SELECT * FROM audit_log; DROP TABLE audit_log;"
		  "ALTER TABLE copy RENAME TO audit_log;"
		  "UPDATE audit_log SET actor = NULL WHERE seq = 8",
		  8, "changed" },
		{ "change a stored hash",
		  "UPDATE audit_log SET hash = randomblob(32) WHERE seq = 2", 2,
		  "changed" },
		{ "shorten a stored hash",
		  "UPDATE audit_log SET hash = substr(hash, 1, 31) WHERE seq = 9", 9,
		  "changed" },
		{ "delete a middle record", "DELETE FROM audit_log WHERE seq = 5", 5,
		  "missing" },
		{ "delete several records",
		  "DELETE FROM audit_log WHERE seq BETWEEN 3 AND 6", 3, "missing" },
		{ "delete the first record", "DELETE FROM audit_log WHERE seq = 1", 1,
		  "missing" },
		{ "delete the tail record", "DELETE FROM audit_log WHERE seq = 10", 10,
		  "deleted" },
		{ "delete the last three", "DELETE FROM audit_log WHERE seq >= 8", 8,
		  "deleted" },
		{ "delete everything", "DELETE FROM audit_log", 1, "deleted" },
		{ "swap two records",
		  "UPDATE audit_log SET seq = -3 WHERE seq = 3;"
		  "UPDATE audit_log SET seq = 3 WHERE seq = 4;"
		  "UPDATE audit_log SET seq = 4 WHERE seq = -3;",
		  3, "changed" },
		{ "insert a record in the middle",
		  "UPDATE audit_log SET seq = seq + 100 WHERE seq >= 6;"
		  "UPDATE audit_log SET seq = seq - 99 WHERE seq >= 106;"
		  "INSERT INTO audit_log SELECT 6, at, actor, 'subject.export', object,"
		  " subject_id, categories, purpose, outcome, request_id, hash"
		  " FROM audit_log WHERE seq = 5;"
		  "UPDATE audit_head SET seq = 11, hash = (SELECT hash FROM audit_log"
		  " WHERE seq = 11);",
		  6, "changed" },
		{ "append a record past the head",
		  "INSERT INTO audit_log SELECT 11, at, actor, operation, object, "
		  "subject_id,"
		  " categories, purpose, outcome, request_id, hash FROM audit_log"
		  " WHERE seq = 10;",
		  11, "changed" },
		{ "rewind the head",
		  "UPDATE audit_head SET seq = 9, hash = (SELECT hash FROM audit_log"
		  " WHERE seq = 9)",
		  10, "head" },
		{ "change the head's hash", "UPDATE audit_head SET hash = randomblob(32)",
		  10, "head" },
		{ "delete the head", "DELETE FROM audit_head", 11, "head" },
		{ "forge a checkpoint signature",
		  "UPDATE audit_checkpoints SET signature = randomblob(64) WHERE seq = 4",
		  4, "signature" },
		{ "sign under an unknown key",
		  "UPDATE audit_checkpoints SET key_id = '0000000000000000' WHERE seq = "
		  "4",
		  4, "key" },
		{ "move a checkpoint",
		  "UPDATE audit_checkpoints SET seq = 5 WHERE seq = 4", 5, "signature" },
		{ "copy a checkpoint",
		  "INSERT INTO audit_checkpoints SELECT 5, hash, signed_at, key_id, "
		  "signature"
		  " FROM audit_checkpoints WHERE seq = 4",
		  5, "signature" },
		/* (no checkpoint is left to cover record 1) */
		{ "truncate a signature",
		  "UPDATE audit_checkpoints SET signature = substr(signature, 1, 63)", 1,
		  "not covered" },
		{ "truncate one signature",
		  "UPDATE audit_checkpoints SET signature = substr(signature, 1, 63)"
		  " WHERE seq = 8",
		  8, "malformed" },
		/* the batch's checkpoint deleted, the head left where it was: the
		 * last two records have lost the signature that covered them */
		{ "delete the last checkpoint",
		  "DELETE FROM audit_checkpoints WHERE seq = 10", 9, "not covered" },
		/* a record added past the signed head, the head moved along */
		{ "append past the signed head",
		  "INSERT INTO audit_log SELECT 11, at, actor, operation, object, "
		  "subject_id, categories, purpose, outcome, request_id, hash FROM"
		  " audit_log WHERE seq = 10; UPDATE audit_head SET seq = 11;",
		  11, "changed" },
		{ "wipe the log while the store holds staff",
		  "DELETE FROM audit_log; DELETE FROM audit_checkpoints;"
		  "UPDATE audit_head SET seq = 0, hash = zeroblob(32);"
		  "INSERT INTO staff (login, role, kind, created_at)"
		  " VALUES ('aigerim', 'officer', 'person', 0)",
		  1, "wiped" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fx *f = fx_open();
		struct audit_report rep;
		char sql[2048];
		append_n(f, 10, 4); /* batches end at 4, 8 and 10 */
		verify_ok(f, 10, 3);
		snprintf(sql, sizeof(sql), "%s%s", DROP_TRIGGERS, cases[i].sql);
		raw_exec(f, sql);
		int err = audit_verify(f->st, f->kr, &rep);
		if (err != SENIM_ERR_TAMPERED ||
		    rep.first_bad_seq != cases[i].first_bad ||
		    !strstr(rep.problem, cases[i].word))
			fail_msg("%s: got %d, first bad %lld (%s); want %lld (%s)",
				 cases[i].name, err, (long long)rep.first_bad_seq,
				 rep.problem, (long long)cases[i].first_bad,
				 cases[i].word);
		fx_close(f);
	}
}

/* Rewrite records from..head with correctly recomputed hashes, as an attacker
 * who knows the encoding would, and move the head along. */
static void recompute_chain(struct fx *f, int64_t from)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *sel = NULL, *upd = NULL;
	unsigned char prev[32] = { 0 }, h[32];
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 10000);
	assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(
		sqlite3_prepare_v2(db,
				   "SELECT seq, at, actor, operation, object,"
				   " subject_id, categories, purpose, outcome,"
				   " request_id, hash FROM audit_log ORDER BY seq",
				   -1, &sel, NULL),
		SQLITE_OK);
	assert_int_equal(
		sqlite3_prepare_v2(db, "UPDATE audit_log SET hash = ?1 WHERE seq = ?2",
				   -1, &upd, NULL),
		SQLITE_OK);
	/* Collect first: updating while the cursor walks the same table is
	 * not well defined. */
	int64_t n = 0, seqs[1024];
	unsigned char hashes[1024][32];
	while (sqlite3_step(sel) == SQLITE_ROW) {
		int64_t seq = sqlite3_column_int64(sel, 0);
		const char *fields[8];
		for (int i = 0; i < 8; i++)
			fields[i] = (const char *)sqlite3_column_text(sel, 2 + i);
		if (seq >= from) {
			spec_hash(prev, seq, sqlite3_column_int64(sel, 1), fields, h);
			seqs[n] = seq;
			memcpy(hashes[n++], h, 32);
		} else {
			memcpy(h, sqlite3_column_blob(sel, 10), 32);
		}
		memcpy(prev, h, 32);
	}
	sqlite3_finalize(sel);
	for (int64_t i = 0; i < n; i++) {
		sqlite3_bind_blob(upd, 1, hashes[i], 32, SQLITE_STATIC);
		sqlite3_bind_int64(upd, 2, seqs[i]);
		assert_int_equal(sqlite3_step(upd), SQLITE_DONE);
		sqlite3_reset(upd);
	}
	sqlite3_finalize(upd);
	sqlite3_stmt *head = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, "UPDATE audit_head SET hash = ?1", -1,
					    &head, NULL),
			 SQLITE_OK);
	sqlite3_bind_blob(head, 1, prev, 32, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(head), SQLITE_DONE);
	sqlite3_finalize(head);
	assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* What hashes alone cannot catch, checkpoints do. */
static void test_rewritten_chain(void **state)
{
	static const struct {
		const char *name;
		const char *sql;
		int64_t recompute_from; /* 0: do not recompute */
		int64_t first_bad;
		const char *word;
	} cases[] = {
		{ "change a record and recompute the chain",
		  "UPDATE audit_log SET purpose = 'marketing' WHERE seq = 100", 100, 150,
		  "checkpoint" },
		{ "delete a record, renumber and recompute",
		  "DELETE FROM audit_log WHERE seq = 50;"
		  "UPDATE audit_log SET seq = seq - 1 WHERE seq > 50;"
		  "UPDATE audit_head SET seq = seq - 1;",
		  50, 150, "checkpoint" },
		{ "delete every checkpoint, change a record and recompute the chain",
		  "DELETE FROM audit_checkpoints;"
		  "UPDATE audit_log SET purpose = 'marketing' WHERE seq = 100",
		  100, 1, "not covered by a signed checkpoint" },
		/* the attack: the last records' actor changed, the final
		 * checkpoint deleted, the unkeyed chain recomputed */
		{ "change the last records, delete the final checkpoint, recompute",
		  "DELETE FROM audit_checkpoints WHERE seq = 300;"
		  "UPDATE audit_log SET actor = 'staff:0' WHERE seq >= 290",
		  290, 151, "not covered by a signed checkpoint" },
		{ "cut the tail behind a checkpoint",
		  "DELETE FROM audit_log WHERE seq >= 257;"
		  "UPDATE audit_head SET seq = 256, hash = (SELECT hash FROM audit_log"
		  " WHERE seq = 256);",
		  0, 257, "deleted from the end" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fx *f = fx_open();
		struct audit_report rep;
		char sql[2048];
		append_n(f, 300, 150); /* batches end at 150 and 300 */
		verify_ok(f, 300, 2);
		snprintf(sql, sizeof(sql), "%s%s", DROP_TRIGGERS, cases[i].sql);
		raw_exec(f, sql);
		if (cases[i].recompute_from)
			recompute_chain(f, cases[i].recompute_from);
		int err = audit_verify(f->st, f->kr, &rep);
		if (err != SENIM_ERR_TAMPERED ||
		    rep.first_bad_seq != cases[i].first_bad ||
		    !strstr(rep.problem, cases[i].word))
			fail_msg("%s: got %d, first bad %lld (%s); want %lld (%s)",
				 cases[i].name, err, (long long)rep.first_bad_seq,
				 rep.problem, (long long)cases[i].first_bad,
				 cases[i].word);
		fx_close(f);
	}
}

/* verify reads the log a page (10,000 records) at a time: a log longer than
 * a page is walked whole, and a change past the first page is found. */
static void test_walk_spans_pages(void **state)
{
	(void)state;
	struct fx *f = fx_open();
	append_n(f, 10050, 500);
	verify_ok(f, 10050, -1);
	raw_exec(f, DROP_TRIGGERS
		 "UPDATE audit_log SET outcome = 'denied' WHERE seq = 10020");
	struct audit_report rep;
	assert_int_equal(audit_verify(f->st, f->kr, &rep), SENIM_ERR_TAMPERED);
	assert_int_equal(rep.first_bad_seq, 10020);
	assert_int_equal(rep.records, 10050);
	fx_close(f);
}

/* ---- the anchor ------------------------------------------------------------------- */

static void anchor_path(const struct fx *f, char out[700])
{
	snprintf(out, 700, "%s/keys/senim.anchor", f->dir);
}

static int verify_with(struct fx *f, const char *anchor, struct audit_report *rep)
{
	return audit_verify_anchored(f->st, f->kr, anchor, rep);
}

/* Rewrite the anchor file with only its first `keep` lines. */
static void keep_anchor_lines(const char *path, int keep)
{
	struct anchor_entry *es = NULL;
	size_t n = 0;
	int64_t skipped = 0;
	assert_int_equal(anchor_read(path, &es, &n, &skipped), SENIM_OK);
	FILE *out = fopen(path, "w");
	assert_non_null(out);
	for (size_t i = 0; i < n && (int)i < keep; i++) {
		char line[ANCHOR_LINE_MAX];
		fputs(anchor_format(&es[i], line) ? line : "", out);
	}
	fclose(out);
	free(es);
}

static void append_text(const char *path, const char *text)
{
	FILE *out = fopen(path, "a");
	assert_non_null(out);
	fputs(text, out);
	fclose(out);
}

/* The server's copy outside the database: one durable line per batch,
 * the checkpoint's own fields. */
static void test_anchor_holds_every_checkpoint(void **state)
{
	struct fx *f = *state;
	char path[700];
	anchor_path(f, path);
	assert_int_equal(audit_anchor_open(path), SENIM_OK);
	assert_string_equal(audit_anchor_path(), path);
	append_n(f, 300, 100);
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	struct anchor_entry *es = NULL;
	size_t n = 0;
	int64_t skipped = 0;
	assert_int_equal(anchor_read(path, &es, &n, &skipped), SENIM_OK);
	assert_int_equal(n, 3);
	assert_int_equal(skipped, 0);
	for (size_t i = 0; i < n; i++) {
		char hex[65], sql[200];
		assert_int_equal(es[i].seq, 100 * (int64_t)(i + 1));
		assert_string_equal(es[i].key_id, keyring_signing_key_id(f->kr));
		sodium_bin2hex(hex, sizeof(hex), es[i].hash, 32);
		snprintf(sql, sizeof(sql),
			 "SELECT count(*) FROM audit_checkpoints WHERE seq = %lld AND"
			 " lower(hex(hash)) = '%s'",
			 (long long)es[i].seq, hex);
		assert_int_equal(raw_int(f, sql), 1);
	}
	free(es);
	struct audit_report rep;
	assert_int_equal(audit_verify(f->st, f->kr, &rep), SENIM_OK); /* its own */
	assert_int_equal(rep.anchored, 3);
	assert_int_equal(rep.anchor_last_seq, 300);
	audit_anchor_close();
	assert_null(audit_anchor_path());
}

/* The attack: every record and checkpoint after a signed
 * checkpoint deleted, the head moved back.  What is left verifies on its
 * own; the anchor names what is missing. */
static void test_anchor_catches_a_cut_tail(void **state)
{
	struct fx *f = *state;
	char path[700];
	anchor_path(f, path);
	assert_int_equal(audit_anchor_open(path), SENIM_OK);
	append_n(f, 300, 100);
	audit_anchor_close();
	raw_exec(f,
		 DROP_TRIGGERS "DELETE FROM audit_log WHERE seq > 200;"
			       "DELETE FROM audit_checkpoints WHERE seq > 200;"
			       "UPDATE audit_head SET seq = 200, hash = (SELECT hash FROM"
			       " audit_log WHERE seq = 200);");
	struct audit_report rep;
	assert_int_equal(verify_with(f, NULL, &rep), SENIM_OK); /* the limit */
	assert_int_equal(verify_with(f, path, &rep), SENIM_ERR_TAMPERED);
	assert_int_equal(rep.first_bad_seq, 201);
	assert_non_null(strstr(rep.problem, "last anchored sequence missing: 300"));

	/* ... and when the service writes on after the cut, the new records
	 * take the old numbers under new hashes: still caught. */
	assert_int_equal(audit_anchor_open(path), SENIM_OK);
	append_n(f, 100, 100);
	audit_anchor_close();
	assert_int_equal(verify_with(f, NULL, &rep), SENIM_OK);
	assert_int_equal(verify_with(f, path, &rep), SENIM_ERR_TAMPERED);
	assert_int_equal(rep.first_bad_seq, 300);
	assert_non_null(strstr(rep.problem, "anchor file"));
}

/* What verify tolerates and what not, in the anchor itself. */
static void test_anchor_lag_and_damage(void **state)
{
	struct fx *f = *state;
	char path[700], missing[720];
	struct audit_report rep;
	anchor_path(f, path);
	snprintf(missing, sizeof(missing), "%s/no-such.anchor", f->dir);
	/* a new store needs no anchor yet */
	assert_int_equal(verify_with(f, missing, &rep), SENIM_OK);
	assert_int_equal(audit_anchor_open(path), SENIM_OK);
	append_n(f, 300, 100);
	audit_anchor_close();
	assert_int_equal(verify_with(f, path, &rep), SENIM_OK);

	/* no anchor in front of a signed log: cannot tell, an environment
	 * error (wrong path) */
	assert_int_equal(verify_with(f, missing, &rep), SENIM_ERR_NOT_FOUND);
	assert_true(rep.anchor_missing);

	/* a torn last write is skipped, and the next line is not glued on */
	append_text(path, "senim-anchor-v1 301 00");
	assert_int_equal(verify_with(f, path, &rep), SENIM_OK);
	assert_int_equal(rep.anchor_skipped, 1);
	assert_int_equal(audit_anchor_open(path), SENIM_OK);
	append_n(f, 100, 100);
	audit_anchor_close();
	assert_int_equal(verify_with(f, path, &rep), SENIM_OK);
	assert_int_equal(rep.anchor_skipped, 1);
	assert_int_equal(rep.anchor_last_seq, 400);

	/* AUDIT_ANCHOR_LAG checkpoints ahead of the anchor: a crash between
	 * COMMITs and their anchor lines; more: the anchor is stale or not
	 * this store's */
	assert_int_equal(AUDIT_ANCHOR_LAG, 5);
	assert_int_equal(audit_anchor_open(path), SENIM_OK); /* 7 batches */
	append_n(f, 300, 100);
	audit_anchor_close();
	keep_anchor_lines(path, 2);
	assert_int_equal(verify_with(f, path, &rep), SENIM_OK);
	keep_anchor_lines(path, 1);
	assert_int_equal(verify_with(f, path, &rep), SENIM_ERR_TAMPERED);
	assert_int_equal(rep.first_bad_seq, 101);
	assert_non_null(strstr(rep.problem, "not in the anchor"));
	assert_int_equal(audit_anchor_open(path), SENIM_OK); /* lines again */
	append_n(f, 300, 100);
	audit_anchor_close();

	/* a line this key file did not sign proves nothing, and says so */
	struct anchor_entry forged = { .seq = 999, .signed_at = 1 };
	snprintf(forged.key_id, sizeof(forged.key_id), "%s",
		 keyring_signing_key_id(f->kr));
	char line[ANCHOR_LINE_MAX];
	assert_true(anchor_format(&forged, line) > 0);
	append_text(path, line);
	assert_int_equal(verify_with(f, path, &rep), SENIM_ERR_TAMPERED);
	assert_int_equal(rep.first_bad_seq, 999);
	assert_non_null(strstr(rep.problem, "not signed by this key file"));
}

/* A batch whose anchor line cannot be made durable is not answered as a
 * success: its writes committed, but a read's data must not leave. */
static void test_anchor_failure_fails_the_answer(void **state)
{
	struct fx *f = *state;
	append_n(f, 2, 2);
	assert_int_equal(audit_anchor_open("/dev/full"), SENIM_OK);
	struct rec_text t;
	make_record(3, &t);
	assert_int_equal(
		store_write(f->st, one_append_fn, &(struct one_append){ f->kr, &t.rec }),
		SENIM_ERR_IO);
	audit_anchor_close();
	assert_int_equal(raw_int(f, "SELECT seq FROM audit_head"), 3);
	verify_ok(f, 3, 2);
}

/* Another deployment's key file: not one checkpoint verifies. */
static void test_another_key_file(void **state)
{
	struct fx *f = *state;
	append_n(f, 10, 4);
	char other[700];
	snprintf(other, sizeof(other), "%s/other/senim.keys", f->dir);
	struct keyring *kr = NULL;
	assert_int_equal(keyring_open(other, 1, &kr), SENIM_OK);
	struct audit_report rep;
	assert_int_equal(audit_verify_anchored(f->st, kr, NULL, &rep),
			 SENIM_ERR_TAMPERED);
	assert_int_equal(rep.first_bad_seq, 1);
	assert_non_null(strstr(rep.problem, "none of the 3 checkpoints"));
	keyring_free(kr);
}

static void test_anchor_line_format(void **state)
{
	(void)state;
	struct anchor_entry e = { .seq = 42, .signed_at = -7 }, back;
	for (int i = 0; i < 32; i++)
		e.hash[i] = (unsigned char)i;
	for (int i = 0; i < 64; i++)
		e.sig[i] = (unsigned char)(255 - i);
	snprintf(e.key_id, sizeof(e.key_id), "0123456789abcdef");
	char line[ANCHOR_LINE_MAX];
	size_t len = anchor_format(&e, line);
	assert_true(len > 0 && line[len - 1] == '\n');
	assert_int_equal(strncmp(line, "senim-anchor-v1 42 000102", 25), 0);
	assert_int_equal(anchor_parse(line, len - 1, &back), SENIM_OK);
	assert_int_equal(back.seq, 42);
	assert_int_equal(back.signed_at, -7);
	assert_memory_equal(back.hash, e.hash, 32);
	assert_memory_equal(back.sig, e.sig, 64);
	assert_string_equal(back.key_id, e.key_id);
	static const char *const bad[] = {
		"",
		"senim-anchor-v2 42",
		"senim-anchor-v1 0 00",
		"senim-anchor-v1 x",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(anchor_parse(bad[i], strlen(bad[i]), &back),
				 SENIM_ERR_INVALID);
	line[30] = 'G'; /* not lower-case hex */
	assert_int_equal(anchor_parse(line, len - 1, &back), SENIM_ERR_INVALID);
	line[30] = '0';
	assert_int_equal(anchor_parse(line, len - 2, &back), SENIM_ERR_INVALID); /* cut */
}

/* ---- concurrency ------------------------------------------------------------------ */

struct thread_arg {
	struct fx *f;
	int n;
	int err;
};

static enum senim_result one_fn(struct store_tx *tx, void *ctx)
{
	struct thread_arg *a = ctx;
	struct rec_text t;
	make_record(1, &t);
	return audit_append(tx, a->f->kr, &t.rec);
}

static void *appender(void *p)
{
	struct thread_arg *a = p;
	for (int i = 0; i < a->n && !a->err; i++)
		a->err = store_write(a->f->st, one_fn, a);
	return NULL;
}

static void test_concurrent_appends(void **state)
{
	enum {
		NTHREADS = 4,
		EACH = 25
	};
	struct fx *f = *state;
	pthread_t th[NTHREADS];
	struct thread_arg args[NTHREADS];
	for (int i = 0; i < NTHREADS; i++) {
		args[i] = (struct thread_arg){ .f = f, .n = EACH };
		assert_int_equal(pthread_create(&th[i], NULL, appender, &args[i]), 0);
	}
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(args[i].err, SENIM_OK);
	}
	assert_int_equal(raw_int(f, "SELECT max(seq) FROM audit_log"), NTHREADS * EACH);
	verify_ok(f, NTHREADS * EACH, -1);
	/* However the writes were batched, the head is signed. */
	assert_int_equal(raw_int(f, "SELECT max(seq) FROM audit_checkpoints"),
			 NTHREADS * EACH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_known_answer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append_and_verify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalid_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fail_closed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_broken_head_is_reported_as_tampering,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_every_batch_is_signed, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_unsigned_head_is_refused, setup,
						teardown),
		cmocka_unit_test(test_tampering),
		cmocka_unit_test(test_rewritten_chain),
		cmocka_unit_test(test_walk_spans_pages),
		cmocka_unit_test_setup_teardown(test_concurrent_appends, setup, teardown),
		cmocka_unit_test_setup_teardown(test_anchor_holds_every_checkpoint, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_anchor_catches_a_cut_tail, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_anchor_lag_and_damage, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_anchor_failure_fails_the_answer,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_another_key_file, setup, teardown),
		cmocka_unit_test(test_anchor_line_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
