/*
 * test_io_pool.c — the I/O pool runs every accepted job once and calls its
 * done() with the call's result; a full queue refuses at once, without
 * running or finishing the refused job; freeing the pool drains it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>

#include "common/result.h"
#include "http/io_pool.h"
#include "common/banned.h"

/* What the jobs of one test share: a gate that holds the blocking ones,
 * and counts of calls and finishes. */
struct bench {
	pthread_mutex_t lock;
	pthread_cond_t changed;
	int open;    /* the blocking jobs may return */
	int blocked; /* blocking jobs now waiting at the gate */
	int calls, dones;
	int wrong_results;
};

struct job {
	struct io_job io;
	struct bench *b;
	int blocks;
	enum senim_result returns;
	int runs, finishes;
};

static enum senim_result call(void *ctx)
{
	struct job *j = ctx;
	struct bench *b = j->b;
	pthread_mutex_lock(&b->lock);
	j->runs++;
	b->calls++;
	if (j->blocks) {
		b->blocked++;
		pthread_cond_broadcast(&b->changed);
		while (!b->open)
			pthread_cond_wait(&b->changed, &b->lock);
	}
	pthread_mutex_unlock(&b->lock);
	return j->returns;
}

static void done(enum senim_result result, void *arg)
{
	struct job *j = arg;
	struct bench *b = j->b;
	pthread_mutex_lock(&b->lock);
	j->finishes++;
	b->dones++;
	if ((int)result != (int)j->returns)
		b->wrong_results++;
	pthread_mutex_unlock(&b->lock);
}

static void job_init(struct job *j, struct bench *b, int blocks,
		     enum senim_result returns)
{
	*j = (struct job){ .b = b, .blocks = blocks, .returns = returns };
	j->io = (struct io_job){ .call = call, .ctx = j, .done = done, .arg = j };
}

static void bench_init(struct bench *b)
{
	*b = (struct bench){ 0 };
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->changed, NULL);
}

static void bench_release(struct bench *b)
{
	pthread_cond_destroy(&b->changed);
	pthread_mutex_destroy(&b->lock);
}

static void test_every_job_runs_once_with_its_result(void **state)
{
	(void)state;
	struct bench b;
	bench_init(&b);
	b.open = 1;
	static struct job jobs[200];
	struct io_pool *pool;
	assert_int_equal(io_pool_new(&pool), SENIM_OK);
	for (int i = 0; i < 200; i++) {
		job_init(&jobs[i], &b, 0, i % 3 ? SENIM_OK : SENIM_ERR_IO);
		assert_int_equal(io_pool_submit(pool, &jobs[i].io), SENIM_OK);
	}
	io_pool_free(pool); /* runs what is queued first */
	for (int i = 0; i < 200; i++) {
		assert_int_equal(jobs[i].runs, 1);
		assert_int_equal(jobs[i].finishes, 1);
	}
	assert_int_equal(b.wrong_results, 0);
	bench_release(&b);
}

static void test_a_full_queue_refuses_at_once(void **state)
{
	(void)state;
	struct bench b;
	bench_init(&b);
	static struct job busy[IO_POOL_THREADS], queued[IO_POOL_QUEUE_MAX], refused;
	struct io_pool *pool;
	assert_int_equal(io_pool_new(&pool), SENIM_OK);
	/* Every thread busy... */
	for (int i = 0; i < IO_POOL_THREADS; i++) {
		job_init(&busy[i], &b, 1, SENIM_OK);
		assert_int_equal(io_pool_submit(pool, &busy[i].io), SENIM_OK);
	}
	pthread_mutex_lock(&b.lock);
	while (b.blocked < IO_POOL_THREADS)
		pthread_cond_wait(&b.changed, &b.lock);
	pthread_mutex_unlock(&b.lock);
	/* ...and the queue full: the next one is refused, and never runs. */
	for (int i = 0; i < IO_POOL_QUEUE_MAX; i++) {
		job_init(&queued[i], &b, 0, SENIM_OK);
		assert_int_equal(io_pool_submit(pool, &queued[i].io), SENIM_OK);
	}
	job_init(&refused, &b, 0, SENIM_OK);
	assert_int_equal(io_pool_submit(pool, &refused.io), SENIM_ERR_UNAVAILABLE);
	pthread_mutex_lock(&b.lock);
	b.open = 1;
	pthread_cond_broadcast(&b.changed);
	pthread_mutex_unlock(&b.lock);
	io_pool_free(pool);
	assert_int_equal(b.calls, IO_POOL_THREADS + IO_POOL_QUEUE_MAX);
	assert_int_equal(b.dones, IO_POOL_THREADS + IO_POOL_QUEUE_MAX);
	assert_int_equal(refused.runs, 0);
	assert_int_equal(refused.finishes, 0);
	bench_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_job_runs_once_with_its_result),
		cmocka_unit_test(test_a_full_queue_refuses_at_once),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
