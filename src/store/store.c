/*
 * store.c — the connection pool, transactions and migrations shared by both
 * backends.  Backends live in sqlite.c and postgres.c.
 */
#include "store/store.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/log.h"
#include "store/backend.h"
#include "common/banned.h"

/* One deferred item: its flusher and where its bytes are in the batch's
 * buffer (offsets, because the buffer may move as it grows). */
struct deferred {
	store_flush_fn flush;
	void *ctx;
	size_t off, len;
};

/* One store_tx_after_commit() action; its bytes in the batch's buffer. */
struct after {
	store_after_fn fn;
	void *ctx;
	size_t off, len;
};

/* What a batch accumulates for store_tx_defer() and store_tx_after_commit(). */
struct defer_list {
	struct deferred *items;
	size_t n, cap;
	struct after *afters;
	size_t nafter, capafter;
	struct buf bytes;
};

struct store_tx {
	struct store *st;
	void *conn;
	struct defer_list *defers; /* NULL in a read */
	/* Savepoints are taken lazily, at a job's first statement: a job
	 * that only defers (an audited read) costs no SQL of its own. */
	int savepoint_wanted;
	int savepoint_open;
	int broken; /* a savepoint could not be taken: state unknown */
};

/* A write waiting for (or in) a group commit.  A synchronous job lives on
 * its caller's stack and is woken through `wake`; an asynchronous one is
 * allocated, reports through `on_done` and is freed by its batch's leader. */
struct write_job {
	store_fn fn;
	void *ctx;
	enum senim_result result;
	int done;
	struct write_job *next;
	pthread_cond_t wake; /* this job's own: done, or its turn to lead */
	store_done_fn on_done;
	void *done_ctx;
};

/* A committed batch waiting for its after-commit actions. */
struct finishing {
	struct write_job *batch;
	struct defer_list pending;
	struct finishing *next;
};

/* Committed batches the finisher may hold before a leader waits for room
 * (it finishes all it holds at once).  A crash can leave this many, and the
 * one a leader has just committed, with their actions not run:
 * STORE_AFTER_COMMIT_LAG. */
#define FINISH_MAX 4
_Static_assert(FINISH_MAX + 1 == STORE_AFTER_COMMIT_LAG, "store.h's bound");

/* Most jobs one transaction takes: bounds a batch's latency and the work
 * lost to one failing COMMIT. */
#define GROUP_MAX 256

struct store {
	const struct store_backend *be;
	/* The one connection every batch runs on: only the batch leader uses
	 * it, so its page cache stays warm and belongs to the writer alone. */
	void *writer;
	void **conns; /* all connections */
	void **idle;  /* stack of idle connections */
	int nconns;
	int nidle;
	pthread_mutex_t lock; /* guards idle */
	pthread_cond_t freed;
	/* Group commit: writers queue their jobs; whoever finds no batch
	 * running becomes the leader, runs every queued job in one transaction
	 * (a savepoint each) and commits them with one fsync. */
	pthread_mutex_t queue_lock;
	struct write_job *queue_head, *queue_tail;
	int leader_active;
	/* Leads batches whose oldest job is asynchronous: nobody waits in
	 * store_write() to do it.  Started with the first such job. */
	pthread_t committer;
	pthread_cond_t committer_wake;
	int committer_started;
	int committer_stop;
	store_commit_hook commit_hook;
	void *commit_ctx;
	/* The finisher runs committed batches' after-commit actions (the
	 * audit anchor's fdatasync) and then answers their callers, while the
	 * leader already writes and commits the next batch.  It takes every
	 * batch handed over so far at once (one fsync for all of them), and
	 * holds at most FINISH_MAX (fin_count, guarded by queue_lock). */
	pthread_t finisher;
	pthread_cond_t finisher_wake; /* a batch handed over, or stop */
	pthread_cond_t finisher_room; /* fin_count went down */
	int finisher_started;
	int finisher_stop;
	struct finishing *fin_head, *fin_tail; /* handed over, not yet taken */
	int fin_count;			       /* handed over, not yet answered */
	/* A connection of its own for store_data_version(): the number is
	 * per connection, so it must always be read on the same one. */
	void *version_conn;
	pthread_mutex_t version_lock;
};

static int is_postgres_url(const char *target)
{
	return strncmp(target, "postgresql://", 13) == 0 ||
	       strncmp(target, "postgres://", 11) == 0;
}

enum senim_result store_open(const char *target, int connections, struct store **out)
{
	enum senim_result err = SENIM_OK;
	*out = NULL;
	if (connections < 1)
		connections = 1;
	struct store *st = calloc(1, sizeof(*st));
	if (!st)
		return SENIM_ERR_NOMEM;
	st->be =
		is_postgres_url(target) ? &store_postgres_backend : &store_sqlite_backend;
	pthread_mutex_init(&st->lock, NULL);
	pthread_cond_init(&st->freed, NULL);
	pthread_mutex_init(&st->queue_lock, NULL);
	pthread_cond_init(&st->committer_wake, NULL);
	pthread_cond_init(&st->finisher_wake, NULL);
	pthread_cond_init(&st->finisher_room, NULL);
	pthread_mutex_init(&st->version_lock, NULL);
	st->conns = calloc((size_t)connections, sizeof(void *));
	st->idle = calloc((size_t)connections, sizeof(void *));
	if (!st->conns || !st->idle) {
		err = SENIM_ERR_NOMEM;
		goto fail;
	}
	for (int i = 0; i < connections; i++) {
		err = st->be->connect(target, &st->conns[i]);
		if (err)
			goto fail;
		st->nconns++;
		st->idle[st->nidle++] = st->conns[i];
	}
	err = st->be->connect_writer ? st->be->connect_writer(target, &st->writer)
				     : st->be->connect(target, &st->writer);
	if (err) {
		st->writer = NULL;
		goto fail;
	}
	if (st->be->data_version && st->be->connect(target, &st->version_conn))
		st->version_conn = NULL; /* then every check looks at the data */
	*out = st;
	return SENIM_OK;
fail:
	store_free(st);
	return err;
}

enum senim_result store_data_version(struct store *st, int64_t *version)
{
	if (!st->version_conn)
		return SENIM_ERR_UNAVAILABLE;
	pthread_mutex_lock(&st->version_lock);
	enum senim_result err = st->be->data_version(st->version_conn, version);
	pthread_mutex_unlock(&st->version_lock);
	return err;
}

enum senim_result store_forget_freed(struct store *st)
{
	if (!st->be->forget_freed)
		return SENIM_OK;
	if (!st->version_conn)
		return SENIM_ERR_UNAVAILABLE;
	pthread_mutex_lock(&st->version_lock);
	enum senim_result err = st->be->forget_freed(st->version_conn);
	pthread_mutex_unlock(&st->version_lock);
	return err;
}

static void committer_stop(struct store *st);
static void finisher_stop(struct store *st);

void store_free(struct store *st)
{
	if (!st)
		return;
	committer_stop(st);
	finisher_stop(st);
	for (int i = 0; i < st->nconns; i++)
		st->be->disconnect(st->conns[i]);
	if (st->writer)
		st->be->disconnect(st->writer);
	if (st->version_conn)
		st->be->disconnect(st->version_conn);
	pthread_mutex_destroy(&st->version_lock);
	free(st->conns);
	free(st->idle);
	pthread_mutex_destroy(&st->lock);
	pthread_cond_destroy(&st->freed);
	pthread_mutex_destroy(&st->queue_lock);
	pthread_cond_destroy(&st->committer_wake);
	pthread_cond_destroy(&st->finisher_wake);
	pthread_cond_destroy(&st->finisher_room);
	free(st);
}

enum store_kind store_kind(const struct store *st)
{
	return st->be->kind;
}

enum store_kind store_tx_kind(const struct store_tx *tx)
{
	return tx->st->be->kind;
}

void store_set_commit_hook(struct store *st, store_commit_hook hook, void *ctx)
{
	st->commit_hook = hook;
	st->commit_ctx = ctx;
}

static void *acquire(struct store *st)
{
	pthread_mutex_lock(&st->lock);
	while (st->nidle == 0)
		pthread_cond_wait(&st->freed, &st->lock);
	void *conn = st->idle[--st->nidle];
	pthread_mutex_unlock(&st->lock);
	return conn;
}

static void release(struct store *st, void *conn)
{
	pthread_mutex_lock(&st->lock);
	st->idle[st->nidle++] = conn;
	pthread_cond_signal(&st->freed);
	pthread_mutex_unlock(&st->lock);
}

static enum senim_result run_read(struct store *st, store_fn fn, void *ctx)
{
	void *conn = acquire(st);
	struct store_tx tx = { .st = st, .conn = conn };
	enum senim_result err = st->be->begin(conn, 0);
	if (err)
		goto fail;
	err = fn(&tx, ctx);
	if (err)
		goto fail;
	err = st->be->commit(conn);
fail:
	if (err) /* nothing to undo after a failed BEGIN: the backends see that */
		st->be->rollback(conn);
	release(st, conn);
	return err;
}

enum senim_result store_tx_defer(struct store_tx *tx, store_flush_fn flush, void *ctx,
				 const void *item, size_t len)
{
	struct defer_list *d = tx->defers;
	if (!d)
		return SENIM_ERR_INVALID;
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 64;
		struct deferred *grown = realloc(d->items, cap * sizeof(*grown));
		if (!grown)
			return SENIM_ERR_NOMEM;
		d->items = grown;
		d->cap = cap;
	}
	size_t off = d->bytes.len;
	enum senim_result err = buf_add(&d->bytes, item, len);
	if (err)
		return err;
	d->items[d->n++] = (struct deferred){ flush, ctx, off, len };
	return SENIM_OK;
}

enum senim_result store_tx_after_commit(struct store_tx *tx, store_after_fn after,
					void *ctx, const void *data, size_t len)
{
	struct defer_list *d = tx->defers;
	if (!d || !after)
		return SENIM_ERR_INVALID;
	if (d->nafter == d->capafter) {
		size_t cap = d->capafter ? d->capafter * 2 : 4;
		struct after *grown = realloc(d->afters, cap * sizeof(*grown));
		if (!grown)
			return SENIM_ERR_NOMEM;
		d->afters = grown;
		d->capafter = cap;
	}
	size_t off = d->bytes.len;
	enum senim_result err = buf_add(&d->bytes, data, len);
	if (err)
		return err;
	d->afters[d->nafter++] = (struct after){ after, ctx, off, len };
	return SENIM_OK;
}

/*
 * Run the after-commit actions of committed batches, in commit order: one
 * call per distinct (fn, ctx), in the order of its first action, with the
 * items of all of them — so the audit anchor makes one write and one fsync
 * for every batch it is handed.  The first failure stops them and is the
 * result.
 */
static enum senim_result run_afters(struct defer_list *const *lists, size_t nlists)
{
	enum senim_result err = SENIM_OK;
	size_t total = 0;
	for (size_t l = 0; l < nlists; l++)
		total += lists[l]->nafter;
	struct flat {
		const struct after *a;
		const char *data;
	} *all = malloc((total ? total : 1) * sizeof(*all));
	struct store_item *items = malloc((total ? total : 1) * sizeof(*items));
	if (!all || !items) {
		err = SENIM_ERR_NOMEM;
		goto fail;
	}
	size_t k = 0;
	for (size_t l = 0; l < nlists; l++)
		for (size_t i = 0; i < lists[l]->nafter; i++)
			all[k++] = (struct flat){ &lists[l]->afters[i],
						  lists[l]->bytes.data };
	for (size_t i = 0; i < total; i++) {
		if (!all[i].a)
			continue; /* already run with an earlier group */
		const struct after key = *all[i].a;
		size_t n = 0;
		for (size_t j = i; j < total; j++) {
			if (!all[j].a || all[j].a->fn != key.fn ||
			    all[j].a->ctx != key.ctx)
				continue;
			items[n++] = (struct store_item){ all[j].data + all[j].a->off,
							  all[j].a->len };
			all[j].a = NULL;
		}
		err = key.fn(key.ctx, items, n);
		if (err)
			goto fail;
	}
fail:
	free(all);
	free(items);
	return err;
}

/* Hand every deferred item to its flusher, one call per (flush, ctx) in
 * the order of their first items. */
static enum senim_result flush_deferred(struct store_tx *tx, struct defer_list *d)
{
	enum senim_result err = SENIM_OK;
	struct store_item *batch = malloc((d->n ? d->n : 1) * sizeof(*batch));
	if (!batch)
		return SENIM_ERR_NOMEM;
	for (size_t i = 0; i < d->n; i++) {
		if (!d->items[i].flush)
			continue; /* already flushed with an earlier group */
		struct deferred key = d->items[i];
		size_t n = 0;
		for (size_t j = i; j < d->n; j++) {
			struct deferred *e = &d->items[j];
			if (e->flush != key.flush || e->ctx != key.ctx)
				continue;
			batch[n++] =
				(struct store_item){ d->bytes.data + e->off, e->len };
			e->flush = NULL;
		}
		err = key.flush(tx, key.ctx, batch, n);
		if (err)
			goto fail;
	}
fail:
	free(batch);
	return err;
}

/* Called by store_exec/store_query: open the job's savepoint on its first
 * statement. */
static enum senim_result ensure_savepoint(struct store_tx *tx)
{
	if (!tx->savepoint_wanted)
		return SENIM_OK;
	tx->savepoint_wanted = 0;
	if (tx->st->be->savepoint(tx->conn)) {
		tx->broken = 1;
		return SENIM_ERR_STORE;
	}
	tx->savepoint_open = 1;
	return SENIM_OK;
}

/*
 * One job inside the batch's transaction.  Alone, it needs no savepoint:
 * its failure rolls the whole (one-job) transaction back.  *broken is set
 * when the job's savepoint could not be taken or undone: the transaction's
 * state is unknown, and the whole batch must fail.
 */
static enum senim_result run_job(struct store *st, struct store_tx *tx,
				 struct write_job *job, int alone, int *broken)
{
	size_t deferred_before = tx->defers->n;
	size_t afters_before = tx->defers->nafter;
	size_t bytes_before = tx->defers->bytes.len;
	tx->savepoint_wanted = !alone;
	tx->savepoint_open = 0;
	enum senim_result err = job->fn(tx, job->ctx);
	tx->savepoint_wanted = 0;
	*broken = tx->broken;
	if (*broken)
		return SENIM_ERR_STORE;
	if (err) { /* its deferred items and actions go with it */
		tx->defers->n = deferred_before;
		tx->defers->nafter = afters_before;
		tx->defers->bytes.len = bytes_before;
	}
	if (!tx->savepoint_open)
		return err;
	tx->savepoint_open = 0;
	*broken = err ? st->be->rollback_to(tx->conn) != SENIM_OK
		      : st->be->release(tx->conn) != SENIM_OK;
	return *broken ? SENIM_ERR_STORE : err;
}

/*
 * Run a batch of jobs in one transaction and commit them together.  A job
 * that fails is rolled back to its savepoint alone and keeps its error; the
 * others commit.  If BEGIN, a savepoint, the deferred appends or COMMIT
 * fail, every job that had succeeded fails with SENIM_ERR_STORE: nothing is
 * half-written.  Returns 1 when the batch committed with after-commit
 * actions still to run: *pending then owns them (finish_batches runs them).
 */
static int run_batch(struct store *st, struct write_job *batch, int n,
		     struct defer_list *pending)
{
	void *conn = st->writer;
	/* What the batch's good jobs get if it fails. */
	enum senim_result failure = SENIM_ERR_STORE;
	struct defer_list defers = { 0 };
	buf_init(&defers.bytes, SIZE_MAX);
	struct store_tx tx = { .st = st, .conn = conn, .defers = &defers };
	enum senim_result err = st->be->begin(conn, 1);
	int any_ok = 0, committed = 0;
	for (struct write_job *j = batch; j; j = j->next) {
		int broken = 0;
		j->result = err ? err : run_job(st, &tx, j, n == 1, &broken);
		if (broken)
			err = SENIM_ERR_STORE;
		else if (j->result == SENIM_OK)
			any_ok = 1;
	}
	if (err || !any_ok)
		goto fail;
	if (defers.n) {
		err = flush_deferred(&tx, &defers);
		if (err) {
			failure = err; /* the flusher's own reason: a tampered chain */
			goto fail;
		}
	}
	int64_t t0 = clock_mono_us();
	err = st->be->commit(conn);
	if (err)
		goto fail;
	committed = 1;
	if (st->commit_hook)
		st->commit_hook(clock_mono_us() - t0, st->commit_ctx);
fail:
	if (!committed)
		st->be->rollback(conn);
	free(defers.items);
	defers.items = NULL;
	int after = committed && defers.nafter > 0;
	if (after)
		*pending = defers; /* the actions and the bytes they point into */
	else {
		free(defers.afters);
		buf_release(&defers.bytes);
	}
	if (err)
		for (struct write_job *j = batch; j; j = j->next)
			if (j->result == SENIM_OK)
				j->result = failure;
	return after;
}

/* Run the after-commit actions of a list of committed batches; if one
 * fails, the jobs that succeeded get its result: durable, but not to be
 * acted on. */
static void finish_batches(struct finishing *list)
{
	size_t n = 0;
	for (struct finishing *f = list; f; f = f->next)
		n++;
	enum senim_result err = SENIM_ERR_NOMEM;
	struct defer_list **lists = malloc((n ? n : 1) * sizeof(*lists));
	if (lists) {
		size_t i = 0;
		for (struct finishing *f = list; f; f = f->next)
			lists[i++] = &f->pending;
		err = run_afters(lists, n);
		free(lists);
	}
	for (struct finishing *f = list; f; f = f->next) {
		free(f->pending.afters);
		buf_release(&f->pending.bytes);
		for (struct write_job *j = f->batch; err && j; j = j->next)
			if (j->result == SENIM_OK)
				j->result = err;
	}
}

/* Answer a batch's asynchronous jobs (on_done, then freed), outside the
 * queue lock: their callbacks may take locks of their own.  Returns the
 * synchronous ones, still linked, for report_sync(). */
static struct write_job *report_async(struct write_job *batch)
{
	struct write_job *sync = NULL, **tail = &sync;
	for (struct write_job *j = batch; j;) {
		struct write_job *next = j->next;
		if (j->on_done) {
			j->on_done(j->result, j->done_ctx);
			free(j);
		} else {
			*tail = j;
			tail = &j->next;
		}
		j = next;
	}
	*tail = NULL;
	return sync;
}

/* Mark the synchronous jobs done and wake them (but `self`, which is
 * awake); queue_lock held. */
static void report_sync(struct write_job *sync, struct write_job *self)
{
	for (struct write_job *j = sync; j;) {
		struct write_job *next = j->next; /* j may vanish once done */
		j->done = 1;
		if (j != self)
			pthread_cond_signal(&j->wake);
		j = next;
	}
}

/* Append a job to the queue; queue_lock held. */
static void enqueue(struct store *st, struct write_job *job)
{
	if (st->queue_tail)
		st->queue_tail->next = job;
	else
		st->queue_head = job;
	st->queue_tail = job;
}

/* Wake whoever leads the next batch: the oldest job's own thread, or the
 * committer for an asynchronous one.  queue_lock held, no leader active. */
static void hand_over(struct store *st)
{
	struct write_job *head = st->queue_head;
	if (!head) {
		if (st->committer_stop) /* it may be waiting for the queue to empty */
			pthread_cond_signal(&st->committer_wake);
		return;
	}
	if (head->on_done)
		pthread_cond_signal(&st->committer_wake);
	else
		pthread_cond_signal(&head->wake);
}

static void *finisher_loop(void *arg)
{
	struct store *st = arg;
	pthread_mutex_lock(&st->queue_lock);
	for (;;) {
		struct finishing *list = st->fin_head;
		if (!list) {
			if (st->finisher_stop)
				break;
			pthread_cond_wait(&st->finisher_wake, &st->queue_lock);
			continue;
		}
		st->fin_head = st->fin_tail = NULL; /* all of them, at once */
		pthread_mutex_unlock(&st->queue_lock);
		finish_batches(list);
		struct write_job *sync = NULL, **tail = &sync;
		int n = 0;
		for (struct finishing *f = list, *next; f; f = next) {
			next = f->next;
			*tail = report_async(f->batch); /* in commit order */
			while (*tail)
				tail = &(*tail)->next;
			free(f);
			n++;
		}
		pthread_mutex_lock(&st->queue_lock);
		report_sync(sync, NULL);
		st->fin_count -= n;
		pthread_cond_broadcast(&st->finisher_room);
	}
	pthread_mutex_unlock(&st->queue_lock);
	return NULL;
}

/* Let the finisher finish what it holds, then stop it. */
static void finisher_stop(struct store *st)
{
	pthread_mutex_lock(&st->queue_lock);
	int started = st->finisher_started;
	st->finisher_stop = 1;
	pthread_cond_signal(&st->finisher_wake);
	pthread_mutex_unlock(&st->queue_lock);
	if (started)
		pthread_join(st->finisher, NULL);
}

/*
 * Hand a committed batch with after-commit actions to the finisher, once it
 * has room: its actions then run while this leader's successor writes the
 * next batch.  queue_lock held.  0 when there is no finisher (it cannot
 * start): the caller finishes the batch itself.
 */
static int hand_to_finisher(struct store *st, struct write_job *batch,
			    struct defer_list *pending)
{
	struct finishing *f = malloc(sizeof(*f));
	if (!f)
		return 0;
	if (!st->finisher_started) {
		if (pthread_create(&st->finisher, NULL, finisher_loop, st) != 0) {
			free(f);
			return 0;
		}
		st->finisher_started = 1;
	}
	while (st->fin_count >= FINISH_MAX)
		pthread_cond_wait(&st->finisher_room, &st->queue_lock);
	*f = (struct finishing){ batch, *pending, NULL };
	if (st->fin_tail)
		st->fin_tail->next = f;
	else
		st->fin_head = f;
	st->fin_tail = f;
	st->fin_count++;
	pthread_cond_signal(&st->finisher_wake);
	return 1;
}

/*
 * Lead one batch: take up to GROUP_MAX queued jobs, run and commit them,
 * report to each (or have the finisher do it after the batch's after-commit
 * actions), and hand the lead over.  Called and returns with queue_lock
 * held; `self` is the caller's own job (not signalled), or NULL.
 */
static void lead(struct store *st, struct write_job *self)
{
	st->leader_active = 1;
	struct write_job *batch = st->queue_head, *last = batch;
	int n = 1;
	while (last->next && n < GROUP_MAX) {
		last = last->next;
		n++;
	}
	st->queue_head = last->next;
	if (!st->queue_head)
		st->queue_tail = NULL;
	last->next = NULL;
	pthread_mutex_unlock(&st->queue_lock);

	struct defer_list pending = { 0 };
	int after = run_batch(st, batch, n, &pending);

	if (after) {
		pthread_mutex_lock(&st->queue_lock);
		int handed = hand_to_finisher(st, batch, &pending);
		pthread_mutex_unlock(&st->queue_lock);
		struct finishing self_finish = { batch, pending, NULL };
		if (handed)
			batch = NULL; /* the finisher answers it */
		else
			finish_batches(&self_finish);
	}
	struct write_job *sync = report_async(batch);

	pthread_mutex_lock(&st->queue_lock);
	report_sync(sync, self);
	st->leader_active = 0;
	hand_over(st);
}

enum senim_result store_write(struct store *st, store_fn fn, void *ctx)
{
	struct write_job job = { .fn = fn, .ctx = ctx, .wake = PTHREAD_COND_INITIALIZER };
	pthread_mutex_lock(&st->queue_lock);
	enqueue(st, &job);
	while (!job.done) {
		if (st->leader_active || st->queue_head != &job) {
			/* Woken only when this job is done or should lead: one
			 * wake-up per job, not a herd per commit. */
			pthread_cond_wait(&job.wake, &st->queue_lock);
			continue;
		}
		lead(st, &job);
	}
	pthread_mutex_unlock(&st->queue_lock);
	pthread_cond_destroy(&job.wake);
	return job.result;
}

static void *committer_loop(void *arg)
{
	struct store *st = arg;
	pthread_mutex_lock(&st->queue_lock);
	for (;;) {
		struct write_job *head = st->queue_head;
		if (!st->leader_active && head && head->on_done) {
			lead(st, NULL);
			continue;
		}
		if (st->committer_stop && !head)
			break;
		pthread_cond_wait(&st->committer_wake, &st->queue_lock);
	}
	pthread_mutex_unlock(&st->queue_lock);
	return NULL;
}

/* Let the committer finish every queued job, then stop it. */
static void committer_stop(struct store *st)
{
	pthread_mutex_lock(&st->queue_lock);
	int started = st->committer_started;
	st->committer_stop = 1;
	pthread_cond_signal(&st->committer_wake);
	pthread_mutex_unlock(&st->queue_lock);
	if (started)
		pthread_join(st->committer, NULL);
}

enum senim_result store_write_async(struct store *st, store_fn fn, void *ctx,
				    store_done_fn on_done, void *done_ctx)
{
	struct write_job *job = calloc(1, sizeof(*job));
	if (!job)
		return SENIM_ERR_NOMEM;
	*job = (struct write_job){
		.fn = fn, .ctx = ctx, .on_done = on_done, .done_ctx = done_ctx
	};
	pthread_mutex_lock(&st->queue_lock);
	if (st->committer_stop ||
	    (!st->committer_started &&
	     pthread_create(&st->committer, NULL, committer_loop, st) != 0)) {
		pthread_mutex_unlock(&st->queue_lock);
		free(job);
		return SENIM_ERR_UNAVAILABLE;
	}
	st->committer_started = 1;
	enqueue(st, job);
	if (!st->leader_active && st->queue_head == job)
		pthread_cond_signal(&st->committer_wake);
	pthread_mutex_unlock(&st->queue_lock);
	return SENIM_OK;
}

enum senim_result store_read(struct store *st, store_fn fn, void *ctx)
{
	return run_read(st, fn, ctx);
}

static enum senim_result ping_fn(struct store_tx *tx, void *ctx)
{
	(void)ctx;
	struct store_rows *r;
	enum senim_result err = store_query_one(tx, "SELECT 1", NULL, 0, &r);
	store_rows_free(r);
	return err == SENIM_ERR_NOT_FOUND ? SENIM_ERR_STORE : err;
}

enum senim_result store_ping(struct store *st)
{
	return store_read(st, ping_fn, NULL);
}

enum senim_result store_exec(struct store_tx *tx, const char *sql,
			     const struct store_val *params, size_t nparams,
			     int64_t *changes)
{
	enum senim_result err = ensure_savepoint(tx);
	if (err)
		return err;
	return tx->st->be->exec(tx->conn, sql, params, nparams, changes);
}

enum senim_result store_query(struct store_tx *tx, const char *sql,
			      const struct store_val *params, size_t nparams,
			      struct store_rows **out)
{
	*out = NULL;
	enum senim_result err = ensure_savepoint(tx);
	if (err)
		return err;
	return tx->st->be->query(tx->conn, sql, params, nparams, out);
}

enum senim_result store_query_one(struct store_tx *tx, const char *sql,
				  const struct store_val *params, size_t nparams,
				  struct store_rows **out)
{
	struct store_rows *r;
	int has = 0;
	enum senim_result err = store_query(tx, sql, params, nparams, &r);
	if (err)
		goto fail;
	err = store_rows_next(r, &has);
	if (err)
		goto fail;
	if (!has) {
		err = SENIM_ERR_NOT_FOUND;
		goto fail;
	}
	*out = r;
	return SENIM_OK;
fail:
	store_rows_free(r);
	*out = NULL;
	return err;
}

enum senim_result store_rows_next(struct store_rows *r, int *has_row)
{
	return r->be->rows_next(r, has_row);
}

int store_rows_is_null(struct store_rows *r, int col)
{
	return r->be->rows_is_null(r, col);
}

int64_t store_rows_int(struct store_rows *r, int col)
{
	return r->be->rows_int(r, col);
}

const char *store_rows_text(struct store_rows *r, int col, size_t *len)
{
	return r->be->rows_text(r, col, len);
}

const void *store_rows_blob(struct store_rows *r, int col, size_t *len)
{
	return r->be->rows_blob(r, col, len);
}

void store_rows_free(struct store_rows *r)
{
	if (r)
		r->be->rows_free(r);
}

/* ---- migrations ---------------------------------------------------------- */

static enum senim_result exec_script(struct store_tx *tx, const char *sql)
{
	enum senim_result err = ensure_savepoint(tx);
	return err ? err : tx->st->be->exec_script(tx->conn, sql);
}

struct version_ctx {
	int version;
};

static enum senim_result read_version(struct store_tx *tx, void *ctx)
{
	struct version_ctx *v = ctx;
	struct store_rows *r;
	/* MAX over no rows is one row too: never SENIM_ERR_NOT_FOUND. */
	enum senim_result err = store_query_one(
		tx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", NULL, 0,
		&r);
	if (err)
		return err;
	v->version = (int)store_rows_int(r, 0);
	store_rows_free(r);
	return SENIM_OK;
}

static const char BOOTSTRAP_SQL[] = "CREATE TABLE IF NOT EXISTS schema_migrations ("
				    " version BIGINT PRIMARY KEY,"
				    " name TEXT NOT NULL,"
				    " applied_at BIGINT NOT NULL)";

struct apply_ctx {
	const struct store_migration *m;
	const char *sql; /* m's script in this backend's dialect */
	int applied;	 /* 1 when this call applied it, 0 when already there */
};

static enum senim_result apply_one(struct store_tx *tx, void *ctx)
{
	struct apply_ctx *a = ctx;
	struct version_ctx v = { 0 };
	enum senim_result err;
	/* PostgreSQL: one migrator at a time across processes. */
	if (store_tx_kind(tx) == STORE_POSTGRES) {
		err = store_exec(tx, "LOCK TABLE schema_migrations IN EXCLUSIVE MODE",
				 NULL, 0, NULL);
		if (err)
			return err;
	}
	err = read_version(tx, &v);
	if (err)
		return err;
	if (v.version >= a->m->version)
		return SENIM_OK; /* another process got there first */
	err = exec_script(tx, a->sql);
	if (err) {
		log_event(LOG_ERROR, "migration_failed", "name", a->m->name, NULL);
		return err;
	}
	err = store_exec(tx,
			 "INSERT INTO schema_migrations (version, name, applied_at)"
			 " VALUES ($1, $2, $3)",
			 (struct store_val[]){ SV_INT(a->m->version), SV_TEXT(a->m->name),
					       SV_INT(clock_now_us()) },
			 3, NULL);
	if (err)
		return err;
	a->applied = 1;
	return SENIM_OK;
}

static enum senim_result bootstrap(struct store_tx *tx, void *ctx)
{
	(void)ctx;
	/* PostgreSQL: two processes bootstrapping a fresh database at once would
	 * race on the catalogue; an advisory lock makes the second one wait. */
	if (store_tx_kind(tx) == STORE_POSTGRES) {
		enum senim_result err = store_exec(
			tx, "SELECT pg_advisory_xact_lock(7402417)", NULL, 0, NULL);
		if (err)
			return err;
	}
	return exec_script(tx, BOOTSTRAP_SQL);
}

enum senim_result store_migrate(struct store *st, int *applied)
{
	size_t count;
	const struct store_migration *ms = store_migrations(&count);
	struct buf sql;
	buf_init(&sql, BUF_NO_LIMIT);
	int n = 0;
	enum senim_result err = store_write(st, bootstrap, NULL);
	if (err)
		goto fail;
	for (size_t i = 0; i < count; i++) {
		buf_reset(&sql);
		err = store_migration_sql(&ms[i], st->be->kind, &sql);
		if (err)
			goto fail;
		struct apply_ctx a = { &ms[i], sql.data, 0 };
		err = store_write(st, apply_one, &a);
		if (err)
			goto fail;
		if (a.applied) {
			n++;
			log_event(LOG_INFO, "migration_applied", "name", ms[i].name,
				  NULL);
		}
	}
fail:
	buf_release(&sql);
	if (applied)
		*applied = n;
	return err;
}

enum senim_result store_schema_version(struct store *st, int *current, int *latest)
{
	size_t count;
	const struct store_migration *ms = store_migrations(&count);
	*latest = count ? ms[count - 1].version : 0;
	struct version_ctx v = { 0 };
	enum senim_result err = store_read(st, read_version, &v);
	*current = err ? 0 : v.version;
	return err;
}
