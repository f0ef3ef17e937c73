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
#include <sys/stat.h>
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
	/* What the deferred-append flusher saw. */
	int flushes;
	int64_t flushed[64];
	int nflushed;
	int64_t poison;	 /* a flushed key that makes the flush fail */
	int64_t ran[64]; /* keys of the jobs, in the order the writer ran them */
	int nran;
};

#define FLUSHED_KEY(k) ((k) + 10000) /* the row a flush writes for key k */

/* A flusher like the audit log's: it writes one row per deferred item in
 * the batch's own transaction, and fails on the poison key. */
static enum senim_result record_flush(struct store_tx *tx, void *ctx,
				      const struct store_item *items, size_t n)
{
	struct fixture *f = ctx;
	f->flushes++;
	for (size_t i = 0; i < n; i++) {
		int64_t key;
		assert_int_equal(items[i].len, sizeof(key));
		memcpy(&key, items[i].data, sizeof(key));
		if (f->nflushed < 64)
			f->flushed[f->nflushed++] = key;
		if (key == f->poison)
			return SENIM_ERR_INVALID;
		int err = store_exec(tx, "INSERT INTO t (k, v) VALUES ($1, 'flushed')",
				     (struct store_val[]){ SV_INT(FLUSHED_KEY(key)) }, 1,
				     NULL);
		if (err)
			return err;
	}
	return SENIM_OK;
}

static void on_commit(int64_t us, void *ctx)
{
	(void)us;
	__atomic_fetch_add(&((struct fixture *)ctx)->commits, 1, __ATOMIC_SEQ_CST);
}

static enum senim_result create_table(struct store_tx *tx, void *ctx)
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
	int hold_ms;	/* stay inside the transaction this long */
	int defer;	/* also defer its key to record_flush */
	int only_defer; /* defer, and run no statement of its own */
	int result;
};

static enum senim_result insert_fn(struct store_tx *tx, void *ctx)
{
	struct job *j = ctx;
	int err = SENIM_OK;
	if (j->f->nran < 64) /* jobs run one at a time, on the batch's thread */
		j->f->ran[j->f->nran++] = j->key;
	if (j->defer || j->only_defer)
		err = store_tx_defer(tx, record_flush, j->f, &j->key, sizeof(j->key));
	if (!err && !j->only_defer)
		err = store_exec(tx, "INSERT INTO t (k, v) VALUES ($1, 'x')",
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

static enum senim_result count_fn(struct store_tx *tx, void *ctx)
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
		jobs[i].defer = (i != 4);
		jobs[i].only_defer = (i == 7);
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
		int failed = (i == 3 || i == 5);
		if (i == 3)
			assert_int_equal(jobs[i].result, SENIM_ERR_INVALID);
		else if (i == 5)
			assert_int_equal(jobs[i].result, SENIM_ERR_CONFLICT);
		else
			assert_int_equal(jobs[i].result, SENIM_OK);
		assert_int_equal(rows(f, jobs[i].key), (failed || i == 7) ? 0 : 1);
		/* A failed job's deferred item went with it. */
		assert_int_equal(rows(f, FLUSHED_KEY(jobs[i].key)),
				 (failed || i == 4) ? 0 : 1);
	}
	assert_int_equal(rows(f, 0), 2 * (N - 2) - 2);
	/* Job 0 alone, then the seven queued behind it in one commit; one
	 * flush each, with the successful jobs' items in the order they ran. */
	assert_int_equal(f->commits - before, 2);
	assert_int_equal(f->flushes, 2);
	assert_int_equal(f->nran, N);
	int nwant = 0;
	for (int i = 0; i < f->nran; i++) {
		int64_t k = f->ran[i];
		if (k == 103 || k == 104 || k == 105)
			continue; /* failed, not deferring, failed */
		assert_true(nwant < f->nflushed);
		assert_int_equal(f->flushed[nwant++], k);
	}
	assert_int_equal(f->nflushed, 5);
	assert_int_equal(nwant, 5);
}

/* A flush that fails fails its whole batch: no job of it is written. */
static void test_failed_flush_fails_the_batch(void **state)
{
	struct fixture *f = *state;
	enum {
		N = 4
	};
	pthread_barrier_t queued;
	pthread_barrier_init(&queued, NULL, N - 1);
	struct job jobs[N];
	pthread_t threads[N];
	memset(jobs, 0, sizeof(jobs));
	for (int i = 0; i < N; i++) {
		jobs[i].key = 200 + i;
		jobs[i].f = f;
		jobs[i].queued = &queued;
		jobs[i].defer = 1;
	}
	jobs[0].queued = NULL;
	jobs[0].hold_ms = 300;
	f->poison = 202;
	pthread_create(&threads[0], NULL, writer, &jobs[0]);
	struct timespec ts = { 0, 50 * 1000000L };
	nanosleep(&ts, NULL);
	for (int i = 1; i < N; i++)
		pthread_create(&threads[i], NULL, writer, &jobs[i]);
	for (int i = 0; i < N; i++)
		pthread_join(threads[i], NULL);
	pthread_barrier_destroy(&queued);

	assert_int_equal(jobs[0].result, SENIM_OK); /* its own batch */
	assert_int_equal(rows(f, 200), 1);
	assert_int_equal(rows(f, FLUSHED_KEY(200)), 1);
	for (int i = 1; i < N; i++) {
		/* The flusher's own reason, for every job of the batch. */
		assert_int_equal(jobs[i].result, SENIM_ERR_INVALID);
		assert_int_equal(rows(f, jobs[i].key), 0);
		assert_int_equal(rows(f, FLUSHED_KEY(jobs[i].key)), 0);
	}
}

static enum senim_result defer_fn(struct store_tx *tx, void *ctx)
{
	int64_t key = 1;
	return store_tx_defer(tx, record_flush, ctx, &key, sizeof(key));
}

/* A read has no batch to defer to. */
static void test_defer_outside_a_write(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(store_read(f->st, defer_fn, f), SENIM_ERR_INVALID);
	assert_int_equal(f->flushes, 0);
	assert_int_equal(store_write(f->st, defer_fn, f), SENIM_OK);
	assert_int_equal(f->flushes, 1);
	assert_int_equal(rows(f, FLUSHED_KEY(1)), 1);
}

/* store_tx_after_commit: what an action saw when it ran. */
struct after_probe {
	struct fixture *f;
	int64_t key;
	int fail_job;	 /* the job fails after queueing its action */
	int fail_action; /* the action fails */
	int runs;
	int64_t rows_seen; /* the job's row, as another connection saw it */
	char data[16];
};

static enum senim_result after_action(void *ctx, const struct store_item *items, size_t n)
{
	struct after_probe *p = ctx;
	assert_int_equal(n, 1);
	const void *data = items[0].data;
	size_t len = items[0].len;
	p->runs++;
	/* Committed: a connection of its own already sees the row. */
	char sql[96];
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM t WHERE k = %lld",
		 (long long)p->key);
	p->rows_seen = testutil_sql_int(p->f->path, sql);
	snprintf(p->data, sizeof(p->data), "%.*s", (int)len, (const char *)data);
	return p->fail_action ? SENIM_ERR_IO : SENIM_OK;
}

static enum senim_result after_job(struct store_tx *tx, void *ctx)
{
	struct after_probe *p = ctx;
	int err = store_exec(tx, "INSERT INTO t (k, v) VALUES ($1, 'a')",
			     (struct store_val[]){ SV_INT(p->key) }, 1, NULL);
	if (!err)
		err = store_tx_after_commit(tx, after_action, p, "line", 4);
	return !err && p->fail_job ? SENIM_ERR_INVALID : err;
}

static enum senim_result after_in_read(struct store_tx *tx, void *ctx)
{
	return store_tx_after_commit(tx, after_action, ctx, "x", 1);
}

/* An after-commit action runs once the batch is durable and before its
 * caller hears back; a failed job takes its action with it; a failed
 * action fails the (durable) job's answer. */
static void test_after_commit_actions(void **state)
{
	struct fixture *f = *state;
	struct after_probe ok = { .f = f, .key = 700 };
	assert_int_equal(store_write(f->st, after_job, &ok), SENIM_OK);
	assert_int_equal(ok.runs, 1);
	assert_int_equal(ok.rows_seen, 1);
	assert_string_equal(ok.data, "line");

	struct after_probe failed_job = { .f = f, .key = 701, .fail_job = 1 };
	assert_int_equal(store_write(f->st, after_job, &failed_job), SENIM_ERR_INVALID);
	assert_int_equal(failed_job.runs, 0);
	assert_int_equal(rows(f, 701), 0);

	struct after_probe failed_action = { .f = f, .key = 702, .fail_action = 1 };
	assert_int_equal(store_write(f->st, after_job, &failed_action), SENIM_ERR_IO);
	assert_int_equal(failed_action.runs, 1);
	assert_int_equal(rows(f, 702), 1); /* durable, but not to be acted on */

	struct after_probe in_read = { .f = f, .key = 703 };
	assert_int_equal(store_read(f->st, after_in_read, &in_read), SENIM_ERR_INVALID);
	assert_int_equal(in_read.runs, 0);
}

/* An after-commit action that waits until the test lets it go. */
struct gate {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int entered, released, a_done, order[4], norder;
};

static int gate_wait(struct gate *g, int *flag)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 30; /* only a failing test waits this long */
	int err = 0;
	while (!*flag && err == 0)
		err = pthread_cond_timedwait(&g->cond, &g->lock, &until);
	return *flag;
}

static enum senim_result gated_action(void *ctx, const struct store_item *items, size_t n)
{
	struct gate *g = ctx;
	pthread_mutex_lock(&g->lock);
	for (size_t i = 0; i < n && g->norder < 4; i++)
		g->order[g->norder++] = *(const char *)items[i].data;
	if (*(const char *)items[0].data == 'A') {
		g->entered = 1;
		pthread_cond_broadcast(&g->cond);
		gate_wait(g, &g->released);
	}
	pthread_mutex_unlock(&g->lock);
	return SENIM_OK;
}

static enum senim_result gated_job_a(struct store_tx *tx, void *ctx)
{
	return store_tx_after_commit(tx, gated_action, ctx, "A", 1);
}

static enum senim_result gated_job_c(struct store_tx *tx, void *ctx)
{
	return store_tx_after_commit(tx, gated_action, ctx, "C", 1);
}

static void gated_a_done(enum senim_result result, void *ctx)
{
	struct gate *g = ctx;
	assert_int_equal(result, SENIM_OK);
	pthread_mutex_lock(&g->lock);
	g->a_done = 1;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
}

struct gated_c {
	struct fixture *f;
	struct gate *g;
	int result;
};

static void *run_gated_c(void *p)
{
	struct gated_c *c = p;
	c->result = store_write(c->f->st, gated_job_c, c->g);
	return NULL;
}

/* A batch's after-commit actions run while the next batch is written and
 * committed, and batches' actions run in commit order; a batch is answered
 * only after its own. */
static void test_after_commit_overlaps_the_next_batch(void **state)
{
	struct fixture *f = *state;
	struct gate g = { .lock = PTHREAD_MUTEX_INITIALIZER,
			  .cond = PTHREAD_COND_INITIALIZER };
	assert_int_equal(store_write_async(f->st, gated_job_a, &g, gated_a_done, &g),
			 SENIM_OK);
	pthread_mutex_lock(&g.lock);
	int entered = gate_wait(&g, &g.entered);
	pthread_mutex_unlock(&g.lock);
	assert_true(entered);
	/* A's action holds the finisher: B commits and is answered anyway. */
	struct job b = { .key = 800, .f = f };
	assert_int_equal(store_write(f->st, insert_fn, &b), SENIM_OK);
	assert_int_equal(rows(f, 800), 1);
	/* C, with an action of its own, commits and is finished after A. */
	struct gated_c c = { .f = f, .g = &g, .result = -1 };
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, run_gated_c, &c), 0);
	/* (asserts outside the lock: a failing one must not leave C stuck) */
	pthread_mutex_lock(&g.lock);
	int a_answered_early = g.a_done;
	g.released = 1;
	pthread_cond_broadcast(&g.cond);
	pthread_mutex_unlock(&g.lock);
	pthread_join(t, NULL);
	assert_int_equal(a_answered_early, 0);
	assert_int_equal(c.result, SENIM_OK);
	pthread_mutex_lock(&g.lock);
	int a_answered = gate_wait(&g, &g.a_done);
	pthread_mutex_unlock(&g.lock);
	assert_true(a_answered);
	assert_int_equal(g.norder, 2);
	assert_int_equal(g.order[0], 'A');
	assert_int_equal(g.order[1], 'C');
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

/* ---- asynchronous writes ------------------------------------------------------------ */

struct async_result {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int reported;
	int results[64];
	pthread_t thread[64];
};

struct async_job {
	struct job job;
	struct async_result *out;
	int index;
};

static void on_async_done(enum senim_result result, void *ctx)
{
	struct async_job *a = ctx;
	pthread_mutex_lock(&a->out->lock);
	a->out->results[a->index] = result;
	a->out->thread[a->index] = pthread_self();
	a->out->reported++;
	pthread_cond_broadcast(&a->out->cond);
	pthread_mutex_unlock(&a->out->lock);
}

static enum senim_result async_insert(struct store_tx *tx, void *ctx)
{
	return insert_fn(tx, &((struct async_job *)ctx)->job);
}

/* Queued writes report through their callback, on another thread, with the
 * result store_write() would give: done, refused, conflicting; the caller
 * never waits. */
static void test_async_writes_report_their_results(void **state)
{
	struct fixture *f = *state;
	enum {
		N = 24
	};
	static struct async_result out = { .lock = PTHREAD_MUTEX_INITIALIZER,
					   .cond = PTHREAD_COND_INITIALIZER };
	static struct async_job jobs[N];
	out.reported = 0;
	for (int i = 0; i < N; i++) {
		jobs[i] = (struct async_job){ .job = { .key = 500 + i, .f = f },
					      .out = &out,
					      .index = i };
		jobs[i].job.fail = (i % 5 == 4);
		jobs[i].job.violate = (i == 7);
		jobs[i].job.defer = (i % 2 == 0);
	}
	for (int i = 0; i < N; i++)
		assert_int_equal(store_write_async(f->st, async_insert, &jobs[i],
						   on_async_done, &jobs[i]),
				 SENIM_OK);
	pthread_mutex_lock(&out.lock);
	while (out.reported < N)
		pthread_cond_wait(&out.cond, &out.lock);
	pthread_mutex_unlock(&out.lock);
	for (int i = 0; i < N; i++) {
		int want = jobs[i].job.fail	 ? SENIM_ERR_INVALID
			   : jobs[i].job.violate ? SENIM_ERR_CONFLICT
						 : SENIM_OK;
		assert_int_equal(out.results[i], want);
		assert_int_equal(rows(f, 500 + i), want == SENIM_OK);
		assert_int_equal(rows(f, FLUSHED_KEY(500 + i)),
				 want == SENIM_OK && jobs[i].job.defer);
		assert_false(pthread_equal(out.thread[i], pthread_self()));
	}
	/* A synchronous write still works beside them. */
	struct job j = { .key = 600, .f = f };
	assert_int_equal(store_write(f->st, insert_fn, &j), SENIM_OK);
	assert_int_equal(rows(f, 600), 1);
}

/* store_free() lets every queued write finish and report first. */
static void test_free_waits_for_queued_writes(void **state)
{
	struct fixture *f = *state;
	enum {
		N = 40
	};
	static struct async_result out = { .lock = PTHREAD_MUTEX_INITIALIZER,
					   .cond = PTHREAD_COND_INITIALIZER };
	static struct async_job jobs[N];
	out.reported = 0;
	for (int i = 0; i < N; i++) {
		jobs[i] = (struct async_job){ .job = { .key = 700 + i, .f = f },
					      .out = &out,
					      .index = i };
		assert_int_equal(store_write_async(f->st, async_insert, &jobs[i],
						   on_async_done, &jobs[i]),
				 SENIM_OK);
	}
	store_free(f->st);
	f->st = NULL;
	assert_int_equal(out.reported, N);
	for (int i = 0; i < N; i++)
		assert_int_equal(out.results[i], SENIM_OK);
	/* ... and they are durable: a fresh store sees every one. */
	assert_int_equal(store_open(f->path, 1, &f->st), SENIM_OK);
	assert_int_equal(rows(f, 0), N);
}

/* The writer's checkpoints run beside the commits; the WAL must still start
 * over now and then instead of growing with everything ever written. */
static enum senim_result insert_blob(struct store_tx *tx, void *ctx)
{
	const struct job *j = ctx;
	static char blob[64 * 1024];
	memset(blob, (int)(j->key & 0x7f), sizeof(blob));
	return store_exec(
		tx, "INSERT INTO t (k, v) VALUES ($1, $2)",
		(struct store_val[]){ SV_INT(j->key), SV_TEXTN(blob, sizeof(blob)) }, 2,
		NULL);
}

static void test_wal_stays_bounded(void **state)
{
	struct fixture *f = *state;
	enum {
		WRITES = 2400 /* 64 KiB each: ~150 MiB through the WAL */
	};
	char wal[320];
	snprintf(wal, sizeof(wal), "%s-wal", f->path);
	long largest = 0;
	for (int i = 0; i < WRITES; i++) {
		struct job j = { .key = 100000 + i, .f = f };
		assert_int_equal(store_write(f->st, insert_blob, &j), SENIM_OK);
		struct stat sb;
		if (stat(wal, &sb) == 0 && sb.st_size > largest)
			largest = (long)sb.st_size;
	}
	assert_int_equal(rows(f, 0), WRITES);
	/* The writer catches up past 4,000 frames (16 MiB); the WAL never
	 * holds much more than that, far from the 150 MiB written. */
	assert_true(largest > 0);
	assert_true(largest < 48L * 1024 * 1024);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_failed_job_alone_rolls_back, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_group_commit_batches_and_isolates_failures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_writers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_flush_fails_the_batch, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_defer_outside_a_write, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_after_commit_actions, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_after_commit_overlaps_the_next_batch,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_async_writes_report_their_results,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_waits_for_queued_writes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_wal_stays_bounded, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
