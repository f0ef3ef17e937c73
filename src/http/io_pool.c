/*
 * io_pool.c — a FIFO of caller-owned jobs under one mutex, and the threads
 * that drain it.
 */
#include "http/io_pool.h"

#include <pthread.h>
#include <stdlib.h>

#include "common/banned.h"

struct io_pool {
	pthread_t threads[IO_POOL_THREADS];
	int started;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct io_job *head, *tail;
	int queued;
	int stop;
};

static void *io_loop(void *arg)
{
	struct io_pool *pool = arg;
	pthread_mutex_lock(&pool->lock);
	for (;;) {
		while (!pool->head && !pool->stop)
			pthread_cond_wait(&pool->wake, &pool->lock);
		struct io_job *job = pool->head;
		if (!job)
			break; /* stopping, and nothing left */
		pool->head = job->next;
		if (!pool->head)
			pool->tail = NULL;
		pool->queued--;
		pthread_mutex_unlock(&pool->lock);
		/* done() may free the job (it lives in a request that its
		 * resumption lets finish): read what it needs first. */
		void (*done)(enum senim_result, void *) = job->done;
		void *done_arg = job->arg;
		done(job->call(job->ctx), done_arg);
		pthread_mutex_lock(&pool->lock);
	}
	pthread_mutex_unlock(&pool->lock);
	return NULL;
}

enum senim_result io_pool_submit(struct io_pool *pool, struct io_job *job)
{
	job->next = NULL;
	pthread_mutex_lock(&pool->lock);
	int full = pool->queued >= IO_POOL_QUEUE_MAX || pool->stop;
	if (!full) {
		if (pool->tail)
			pool->tail->next = job;
		else
			pool->head = job;
		pool->tail = job;
		pool->queued++;
		pthread_cond_signal(&pool->wake);
	}
	pthread_mutex_unlock(&pool->lock);
	return full ? SENIM_ERR_UNAVAILABLE : SENIM_OK;
}

enum senim_result io_pool_new(struct io_pool **out)
{
	*out = NULL;
	struct io_pool *pool = calloc(1, sizeof(*pool));
	if (!pool)
		return SENIM_ERR_NOMEM;
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->wake, NULL);
	/* Fewer threads than asked still serve, only slower. */
	while (pool->started < IO_POOL_THREADS &&
	       pthread_create(&pool->threads[pool->started], NULL, io_loop, pool) == 0)
		pool->started++;
	if (pool->started == 0)
		goto fail;
	*out = pool;
	return SENIM_OK;
fail:
	io_pool_free(pool);
	return SENIM_ERR_NOMEM;
}

void io_pool_free(struct io_pool *pool)
{
	if (!pool)
		return;
	pthread_mutex_lock(&pool->lock);
	pool->stop = 1;
	pthread_cond_broadcast(&pool->wake);
	pthread_mutex_unlock(&pool->lock);
	for (int i = 0; i < pool->started; i++)
		pthread_join(pool->threads[i], NULL);
	pthread_cond_destroy(&pool->wake);
	pthread_mutex_destroy(&pool->lock);
	free(pool);
}
