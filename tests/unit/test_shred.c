/*
 * test_shred.c — the shred journal's outcomes against a real SQLite store
 * (vault/shred.h): a shredding that committed is shredded again by a
 * restore; one whose transaction rolled back — known at once, or found out
 * by asking the store after a crash between the append and the COMMIT — is
 * not; one whose COMMIT happened but whose outcome line was lost is settled
 * committed; one no store can tell about is shredded (never brought back).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup/backup.h"
#include "core/iin.h"
#include "core/purposes.h"
#include "store/snapshot.h"
#include "store/store.h"
#include "subjects/subjects.h"
#include "vault/keyring.h"
#include "vault/shred.h"
#include "testutil.h"
#include "common/banned.h"

#define NSUBJECTS 4

struct fx {
	char dir[512];
	char db[600];
	char keys[600];
	char journal[700];
	struct keyring *kr;
	struct store *st;
	struct access_matrix matrix;
	char id[NSUBJECTS][SUBJECT_ID_LEN];
};

static void make_iin(int n, char out[13])
{
	for (int serial = 0; serial < 10000; serial++) {
		snprintf(out, 13, "9001013%04d", serial);
		int d = iin_check_digit(out);
		if (d < 0)
			continue;
		if (n-- == 0) {
			out[11] = (char)('0' + d);
			out[12] = '\0';
			return;
		}
	}
	fail_msg("no IIN number %d", n);
}

static void register_subject(struct fx *f, int n, char id[SUBJECT_ID_LEN])
{
	char iin[13];
	make_iin(n, iin);
	struct subject_actor a = { .label = "staff:1",
				   .request_id = "req-test",
				   .role = ROLE_UNDERWRITER,
				   .purpose = PURPOSE_IDENTIFICATION,
				   .matrix = &f->matrix,
				   .kr = f->kr };
	json_t *identity = json_pack("{s:s,s:s,s:s}", "iin", iin, "first_name", "Aigerim",
				     "last_name", "Nurlanova");
	json_t *contact = json_pack("{s:s}", "mobile_phone", "+77011234567");
	struct subject_registration reg = { .actor = a,
					    .iin = iin,
					    .identity = identity,
					    .contact = contact,
					    .source = SOURCE_STAFF };
	assert_int_equal(subjects_register_seal(&reg), SENIM_OK);
	json_decref(identity);
	json_decref(contact);
	assert_int_equal(store_write(f->st, subjects_register_tx, &reg), SENIM_OK);
	assert_int_equal(reg.exists, 0);
	memcpy(id, reg.id, SUBJECT_ID_LEN);
	subject_registration_dispose(&reg);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	assert_int_equal(testutil_tmpdir("shred", f->dir, sizeof(f->dir)), 0);
	snprintf(f->db, sizeof(f->db), "%s/senim.db", f->dir);
	snprintf(f->keys, sizeof(f->keys), "%s/keys/senim.keys", f->dir);
	assert_int_equal(keyring_open(f->keys, 1, &f->kr), SENIM_OK);
	assert_int_equal(shred_journal_path(f->keys, f->journal, sizeof(f->journal)),
			 SENIM_OK);
	assert_int_equal(store_open(f->db, 2, &f->st), SENIM_OK);
	assert_int_equal(store_migrate(f->st, NULL), SENIM_OK);
	access_matrix_default(&f->matrix);
	for (int i = 0; i < NSUBJECTS; i++)
		register_subject(f, i, f->id[i]);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	store_free(f->st);
	keyring_free(f->kr);
	testutil_rm_rf(f->dir);
	free(f);
	return 0;
}

/* ---- a shredding as the callers do it ------------------------------------------ */

struct shred_op {
	const char *journal;
	const char *id;
	char token[SHRED_TOKEN_LEN];
	int journal_commit; /* queue the `committed` outcome */
	int fail;	    /* the work after the shredding fails */
	int journaled;
};

static enum senim_result shred_work(struct store_tx *tx, struct shred_op *op)
{
	enum senim_result err = shred_journal_append(
		op->journal, &op->id, 1, SHRED_DESTROY, 1700000000, op->token);
	if (err)
		return err;
	op->journaled = 1;
	if (op->journal_commit)
		err = shred_journal_commit_tx(tx, op->journal, op->token);
	struct shred_counts counts;
	if (!err)
		err = shred_subject_tx(tx, op->id, SHRED_DESTROY, &counts);
	if (!err)
		assert_int_equal(counts.keys, 1);
	/* A failure after the append and the shredding: an audit record that
	 * cannot be written, a constraint, the disk. */
	return err ? err : op->fail ? SENIM_ERR_STORE : SENIM_OK;
}

static enum senim_result shred_fn(struct store_tx *tx, void *ctx)
{
	struct shred_op *op = ctx;
	op->journaled = 0;
	enum senim_result err = shred_work(tx, op);
	if (err && op->journaled)
		shred_journal_rolled_back(op->journal, op->token);
	return err;
}

struct keyq {
	const char *id;
	int64_t n;
};

static enum senim_result count_tx(struct store_tx *tx, void *ctx)
{
	struct keyq *q = ctx;
	struct store_rows *r;
	enum senim_result err = store_query_one(
		tx, "SELECT COUNT(*) FROM subject_keys WHERE subject_id = $1",
		(struct store_val[]){ SV_TEXT(q->id) }, 1, &r);
	if (err)
		return err;
	q->n = store_rows_int(r, 0);
	store_rows_free(r);
	return SENIM_OK;
}

static int64_t keys_of(struct store *st, const char *id)
{
	struct keyq q = { .id = id };
	assert_int_equal(store_read(st, count_tx, &q), SENIM_OK);
	return q.n;
}

struct states {
	char ids[8][SUBJECT_ID_LEN];
	enum shred_state state[8];
	int n;
};

static enum senim_result note(void *ctx, const char *id, enum shred_mode mode, int64_t at,
			      const char *token, enum shred_state state)
{
	(void)mode;
	(void)at;
	(void)token;
	struct states *s = ctx;
	assert_true(s->n < 8);
	snprintf(s->ids[s->n], sizeof(s->ids[0]), "%s", id);
	s->state[s->n++] = state;
	return SENIM_OK;
}

static enum shred_state state_of(struct fx *f, const char *id)
{
	struct states s = { 0 };
	assert_int_equal(shred_journal_each(f->journal, note, &s, NULL), SENIM_OK);
	for (int i = 0; i < s.n; i++)
		if (strcmp(s.ids[i], id) == 0)
			return s.state[i];
	fail_msg("%s not in the journal", id);
	return SHRED_STATE_UNSETTLED;
}

/* ---- the test ---------------------------------------------------------------------- */

static void test_restore_shreds_only_what_committed(void **state)
{
	struct fx *f = *state;
	const char *committed = f->id[0], *failed = f->id[1], *crashed = f->id[2],
		   *lost = f->id[3];
	/* The backup, taken before any shredding. */
	char backup[700];
	snprintf(backup, sizeof(backup), "%s/backup.db", f->dir);
	int64_t bytes;
	assert_int_equal(snapshot_take(f->db, backup, &bytes), SENIM_OK);

	/* Committed: its outcome is written once the COMMIT is durable. */
	struct shred_op a = { .journal = f->journal,
			      .id = committed,
			      .journal_commit = 1 };
	shred_token_new(a.token);
	assert_int_equal(store_write(f->st, shred_fn, &a), SENIM_OK);
	assert_int_equal(keys_of(f->st, committed), 0);
	assert_int_equal(state_of(f, committed), SHRED_STATE_COMMITTED);

	/* Its transaction fails after the append: rolled back, and said so. */
	struct shred_op b = {
		.journal = f->journal, .id = failed, .journal_commit = 1, .fail = 1
	};
	shred_token_new(b.token);
	assert_int_equal(store_write(f->st, shred_fn, &b), SENIM_ERR_STORE);
	assert_int_equal(keys_of(f->st, failed), 1);
	assert_int_equal(state_of(f, failed), SHRED_STATE_ROLLED_BACK);

	/* A crash between the append and the COMMIT: the intent alone. */
	char tok[SHRED_TOKEN_LEN];
	shred_token_new(tok);
	assert_int_equal(shred_journal_append(f->journal, &crashed, 1, SHRED_DESTROY,
					      1700000000, tok),
			 SENIM_OK);
	/* A crash after the COMMIT, before its outcome was written. */
	struct shred_op d = { .journal = f->journal, .id = lost, .journal_commit = 0 };
	shred_token_new(d.token);
	assert_int_equal(store_write(f->st, shred_fn, &d), SENIM_OK);
	/* And one of a subject this store never had. */
	const char *stranger = "sbj_never_here";
	shred_token_new(tok);
	assert_int_equal(shred_journal_append(f->journal, &stranger, 1, SHRED_DESTROY,
					      1700000000, tok),
			 SENIM_OK);
	assert_int_equal(state_of(f, crashed), SHRED_STATE_UNSETTLED);
	assert_int_equal(state_of(f, lost), SHRED_STATE_UNSETTLED);

	/* The restore asks the store it replaces. */
	size_t in = 0, out = 0;
	assert_int_equal(shred_journal_settle(f->journal, f->st, &in, &out), SENIM_OK);
	assert_int_equal(in, 1);
	assert_int_equal(out, 1);
	assert_int_equal(state_of(f, crashed), SHRED_STATE_ROLLED_BACK);
	assert_int_equal(state_of(f, lost), SHRED_STATE_COMMITTED);
	assert_int_equal(state_of(f, stranger), SHRED_STATE_UNSETTLED);
	/* Settling again finds nothing new. */
	assert_int_equal(shred_journal_settle(f->journal, f->st, &in, &out), SENIM_OK);
	assert_int_equal(in + out, 0);

	/* The backup restored: every subject has their key in it. */
	struct store *restored = NULL;
	assert_int_equal(store_open(backup, 1, &restored), SENIM_OK);
	for (int i = 0; i < NSUBJECTS; i++)
		assert_int_equal(keys_of(restored, f->id[i]), 1);
	int64_t n = 0;
	assert_int_equal(backup_reshred(restored, f->kr, f->journal, "system:restore",
					"req-restore", &n),
			 SENIM_OK);
	/* committed, lost and the stranger (unsettled: shredded, a no-op) */
	assert_int_equal(n, 3);
	assert_int_equal(keys_of(restored, committed), 0);
	assert_int_equal(keys_of(restored, lost), 0);
	assert_int_equal(keys_of(restored, failed), 1);
	assert_int_equal(keys_of(restored, crashed), 1);
	store_free(restored);
}

/* Outcome lines are checked as intents are. */
static void test_outcome_lines(void **state)
{
	struct fx *f = *state;
	const char *bad[] = { "NOTHEX" };
	assert_int_equal(shred_journal_outcome(f->journal, bad, 1, SHRED_COMMITTED),
			 SENIM_ERR_INVALID);
	const char *id = f->id[0];
	assert_int_equal(shred_journal_append(f->journal, &id, 1, SHRED_DESTROY, 1, "x"),
			 SENIM_ERR_INVALID);
	FILE *j = fopen(f->journal, "ab");
	assert_non_null(j);
	fputs("0123456789abcdef0123456789abcdef maybe\n", j);
	fclose(j);
	unsigned line = 0;
	struct states s = { 0 };
	assert_int_equal(shred_journal_each(f->journal, note, &s, &line),
			 SENIM_ERR_INVALID);
	assert_int_equal(line, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_restore_shreds_only_what_committed,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_outcome_lines, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
