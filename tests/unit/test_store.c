/*
 * test_store.c — the store's transactions and group commit, on a real SQLite
 * file: many writers share one commit, a failing writer is undone alone, and
 * nothing half-written survives.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <pthread.h>
#include <unistd.h>

#include <cmocka.h>

#include "store/store.h"
#include "testutil.h"
#include "common/banned.h"

struct fixture {
	char dir[256];
	char path[300];
	struct store *st;
	int commits;
};

static void on_commit(int64_t us, void *ctx)
{
	(void)us;
	__atomic_fetch_add(&((struct fixture *)ctx)->commits, 1, __ATOMIC_SEQ_CST);
}

static int create_table(struct store_tx *tx, void *ctx)
{
	(void)ctx;
	return store_exec(tx, "CREATE TABLE t (k BIGINT PRIMARY KEY, v TEXT)", NULL, 0,
			  NULL);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (testutil_tmpdir("store", f->dir, sizeof(f->dir)) != 0)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/t.db", f->dir);
	if (store_open(f->path, 4, &f->st) || store_migrate(f->st, NULL) ||
	    store_write(f->st, create_table, NULL))
		return -1;
	store_set_commit_hook(f->st, on_commit, f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	store_free(f->st);
	testutil_rm_rf(f->dir);
	free(f);
	return 0;
}

struct job {
	int64_t key;
	int fail;    /* insert, then return an error */
	int violate; /* insert a duplicate key (a failing statement) */
	struct fixture *f;
	pthread_barrier_t *queued;
	int hold_ms; /* stay inside the transaction this long */
	int result;
};

static int insert_fn(struct store_tx *tx, void *ctx)
{
	struct job *j = ctx;
	int err = store_exec(tx, "INSERT INTO t (k, v) VALUES ($1, 'x')",
			     (struct store_val[]){ SV_INT(j->key) }, 1, NULL);
	if (!err && j->violate)
		err = store_exec(tx, "INSERT INTO t (k, v) VALUES ($1, 'dup')",
				 (struct store_val[]){ SV_INT(j->key) }, 1, NULL);
	if (j->hold_ms) {
		struct timespec ts = { 0, j->hold_ms * 1000000L };
		nanosleep(&ts, NULL);
	}
	if (!err && j->fail)
		err = SENIM_ERR_INVALID;
	return err;
}

static void *writer(void *arg)
{
	struct job *j = arg;
	if (j->queued)
		pthread_barrier_wait(j->queued);
	j->result = store_write(j->f->st, insert_fn, j);
	return NULL;
}

struct count_ctx {
	int64_t n;
	int64_t key;
};

static int count_fn(struct store_tx *tx, void *ctx)
{
	struct count_ctx *c = ctx;
	struct store_rows *r;
	int has = 0;
	int err = c->key ? store_query(tx, "SELECT count(*) FROM t WHERE k = $1",
				       (struct store_val[]){ SV_INT(c->key) }, 1, &r)
			 : store_query(tx, "SELECT count(*) FROM t", NULL, 0, &r);
	if (err)
		return err;
	err = store_rows_next(r, &has);
	c->n = has ? store_rows_int(r, 0) : -1;
	store_rows_free(r);
	return err;
}

static int64_t rows(struct fixture *f, int64_t key)
{
	struct count_ctx c = { 0, key };
	assert_int_equal(store_read(f->st, count_fn, &c), SENIM_OK);
	return c.n;
}

/* One job holds the writer while seven queue behind it; those seven must be
 * committed together, the failing ones undone alone. */
static void test_group_commit_batches_and_isolates_failures(void **state)
{
	struct fixture *f = *state;
	enum {
		N = 8
	};
	pthread_barrier_t queued;
	pthread_barrier_init(&queued, NULL, N);
	struct job jobs[N];
	pthread_t threads[N];
	memset(jobs, 0, sizeof(jobs));
	for (int i = 0; i < N; i++) {
		jobs[i].key = 100 + i;
		jobs[i].f = f;
		jobs[i].queued = &queued;
		jobs[i].fail = (i == 3);
		jobs[i].violate = (i == 5);
	}
	/* Job 0 starts first and holds the writer long enough for the rest to
	 * queue up behind it. */
	jobs[0].queued = NULL;
	jobs[0].hold_ms = 300;
	int before = f->commits;
	pthread_create(&threads[0], NULL, writer, &jobs[0]);
	struct timespec ts = { 0, 50 * 1000000L };
	nanosleep(&ts, NULL);
	pthread_barrier_destroy(&queued);
	pthread_barrier_init(&queued, NULL, N - 1);
	for (int i = 1; i < N; i++)
		pthread_create(&threads[i], NULL, writer, &jobs[i]);
	for (int i = 0; i < N; i++)
		pthread_join(threads[i], NULL);
	pthread_barrier_destroy(&queued);

	for (int i = 0; i < N; i++) {
		if (i == 3)
			assert_int_equal(jobs[i].result, SENIM_ERR_INVALID);
		else if (i == 5)
			assert_int_equal(jobs[i].result, SENIM_ERR_CONFLICT);
		else
			assert_int_equal(jobs[i].result, SENIM_OK);
		assert_int_equal(rows(f, jobs[i].key), (i == 3 || i == 5) ? 0 : 1);
	}
	assert_int_equal(rows(f, 0), N - 2);
	/* Job 0 alone, then the seven queued behind it in one commit. */
	assert_int_equal(f->commits - before, 2);
}

/* Many writers, many batches: every acknowledged write is there, no
 * refused one is, and batching made fewer commits than writes. */
enum {
	WRITERS = 16,
	EACH = 50
};

struct series {
	struct job jobs[EACH];
};

static void *write_series(void *arg)
{
	struct series *s = arg;
	for (int k = 0; k < EACH; k++)
		s->jobs[k].result = store_write(s->jobs[k].f->st, insert_fn, &s->jobs[k]);
	return NULL;
}

static void test_many_writers(void **state)
{
	struct fixture *f = *state;
	static struct series series[WRITERS];
	pthread_t threads[WRITERS];
	for (int t = 0; t < WRITERS; t++)
		for (int k = 0; k < EACH; k++) {
			memset(&series[t].jobs[k], 0, sizeof(struct job));
			series[t].jobs[k].key = 10000 + t * EACH + k;
			series[t].jobs[k].f = f;
			series[t].jobs[k].fail = (k % 10 == 9);
		}
	int before = f->commits;
	for (int t = 0; t < WRITERS; t++)
		pthread_create(&threads[t], NULL, write_series, &series[t]);
	for (int t = 0; t < WRITERS; t++)
		pthread_join(threads[t], NULL);
	int64_t acknowledged = 0;
	for (int t = 0; t < WRITERS; t++)
		for (int k = 0; k < EACH; k++) {
			struct job *j = &series[t].jobs[k];
			assert_int_equal(j->result,
					 j->fail ? SENIM_ERR_INVALID : SENIM_OK);
			assert_int_equal(rows(f, j->key), j->fail ? 0 : 1);
			acknowledged += j->result == SENIM_OK;
		}
	assert_int_equal(rows(f, 0), acknowledged);
	assert_true(f->commits - before <= acknowledged);
}

static void test_failed_job_alone_rolls_back(void **state)
{
	struct fixture *f = *state;
	struct job j = { .key = 7, .fail = 1, .f = f };
	assert_int_equal(store_write(f->st, insert_fn, &j), SENIM_ERR_INVALID);
	assert_int_equal(rows(f, 7), 0);
	j.fail = 0;
	assert_int_equal(store_write(f->st, insert_fn, &j), SENIM_OK);
	assert_int_equal(rows(f, 7), 1);
	assert_int_equal(store_write(f->st, insert_fn, &j), SENIM_ERR_CONFLICT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_failed_job_alone_rolls_back, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_group_commit_batches_and_isolates_failures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_writers, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
