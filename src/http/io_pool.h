/*
 * io_pool.h — threads for the blocking calls a worker must not wait for.
 *
 * A libmicrohttpd worker serves many connections, so nothing may block it
 * for long.  Calls that do — the SMS gateway, with its retries and an 8 s
 * deadline; a staff sign-in's password hash — are handed to this pool of
 * IO_POOL_THREADS threads, which run them in order of arrival.
 *
 * Invariants:
 * - A job io_pool_submit() accepted runs exactly once, and its done() is
 *   called exactly once, on a pool thread, after the call returns.  The pool
 *   does not touch the job after calling done(): done() may free it.
 * - At most IO_POOL_QUEUE_MAX jobs wait.  Beyond that, and once the pool is
 *   stopping, a job is refused at once (SENIM_ERR_UNAVAILABLE) and never
 *   runs: refusing at once beats an unbounded queue.
 * - No allocation and no copy per job: a job is the caller's memory (it sits
 *   in the request it serves) and must stay alive until its done() is called.
 * - io_pool_free() runs every job already queued before it returns.
 */
#ifndef SENIM_IO_POOL_H
#define SENIM_IO_POOL_H

#include "common/result.h"

#define IO_POOL_THREADS 16
#define IO_POOL_QUEUE_MAX 1024

struct io_pool;

/* One blocking call.  The caller fills call, ctx, done and arg; `next` is
 * the pool's.  done has the shape of store.h's store_done_fn, so that one
 * function can finish a write and a call alike. */
struct io_job {
	enum senim_result (*call)(void *ctx);
	void *ctx;
	void (*done)(enum senim_result result, void *arg); /* what call returned */
	void *arg;
	struct io_job *next;
};

/* Start the threads (as many of IO_POOL_THREADS as the system gives, at
 * least one).  *out is freed by io_pool_free(); NULL on error. */
SENIM_MUST_CHECK enum senim_result io_pool_new(struct io_pool **out);

/* Queue `job`: SENIM_OK, or SENIM_ERR_UNAVAILABLE when the queue is full or
 * the pool stopping — then job->done is not called. */
SENIM_MUST_CHECK enum senim_result io_pool_submit(struct io_pool *pool,
						  struct io_job *job);

/* Run what is queued, stop the threads and free the pool.  NULL does
 * nothing.  No io_pool_submit() may race with it. */
void io_pool_free(struct io_pool *pool);

#endif
