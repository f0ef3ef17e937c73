/*
 * defer.h — answering after work done off the worker threads: a durable
 * write (http_write_then), a blocking call (http_call_then) or work that
 * reports its own end (http_async_then).
 *
 * All are one mechanism with three executors.  A handler asks for the work;
 * when it returns, the server starts it: the connection is suspended and
 * the work handed to its executor — the store's group commit for a write
 * (store_write_async), the I/O pool for a call (io_pool.h), the work's own
 * start function for asynchronous work.  Whichever thread finishes the
 * work notes the result and resumes the connection;
 * libmicrohttpd then calls the request handler again on a worker, and the
 * server runs the handler's continuation there.
 *
 * A request's work goes through these states:
 *
 *   DEFERRED_NONE   -> deferred_ask()   -> DEFERRED_ASKED
 *   DEFERRED_ASKED  -> defer_start()    -> DEFERRED_QUEUED (suspended)
 *                                         or DEFERRED_DONE (ran in place)
 *   DEFERRED_QUEUED -> the executor     -> DEFERRED_DONE (resumed)
 *   DEFERRED_DONE   -> the server runs the continuation -> DEFERRED_NONE
 *
 * Invariants:
 * - One work per request: a second deferred_ask() is refused.
 * - The connection is suspended exactly while its work is QUEUED and is
 *   resumed exactly once, by the thread that finished the work, after the
 *   result and state are stored (the resumption orders them for the worker).
 * - defer->awaiting counts QUEUED works.  After defer_quiesce() nothing is
 *   queued any more — defer_start() runs the work in place on the worker —
 *   and defer_quiesce() returns once the last queued one is done, so the
 *   server may stop libmicrohttpd with no connection suspended for work.
 * - A work the I/O queue refuses is DONE at once with SENIM_ERR_UNAVAILABLE;
 *   asynchronous work whose start fails is DONE at once with that result.
 * - No allocation: a request's work, its place in the I/O queue included,
 *   lives in the request's own state.
 */
#ifndef SENIM_DEFER_H
#define SENIM_DEFER_H

#include "common/result.h"
#include "http/http.h"
#include "http/io_pool.h"

struct store;

/* The server's executors and what the stop waits for. */
struct defer {
	struct store *store; /* a write's executor: the group commit */
	struct io_pool *io;  /* a call's executor */
	int awaiting;	     /* works QUEUED and not yet done (atomic) */
	int stopping;	     /* set by defer_quiesce (atomic) */
};

enum deferred_state {
	DEFERRED_NONE,
	DEFERRED_ASKED,	 /* by the handler; not started yet */
	DEFERRED_QUEUED, /* with its executor; the connection is suspended */
	DEFERRED_DONE	 /* result set; the continuation is due */
};

/* What the work is: exactly one of the three is set. */
struct deferred_work {
	http_write_fn write;
	http_call_fn call;
	http_async_fn start;
};

/* One request's work (zeroed: DEFERRED_NONE). */
struct deferred {
	struct deferred_work work;
	void *ctx;
	http_continue_fn cont;
	enum senim_result result; /* when DONE */
	enum deferred_state state;
	struct defer *owner;	     /* while QUEUED */
	struct MHD_Connection *conn; /* suspended while QUEUED */
	struct io_job job;	     /* a call's place in the I/O queue */
};

/* Start the I/O pool; writes go to `store`.  Undone by defer_release(). */
SENIM_MUST_CHECK enum senim_result defer_init(struct defer *d, struct store *store);
/* From now on works run in place; wait until none is queued. */
void defer_quiesce(struct defer *d);
/* Stop the I/O pool; after defer_quiesce() and after the daemon stopped. */
void defer_release(struct defer *d);

/*
 * Ask for a work: exactly one of work's functions set.  SENIM_OK (now
 * ASKED); SENIM_ERR_INVALID, with nothing changed, when this request
 * already asked or work does not name exactly one function.
 */
SENIM_MUST_CHECK enum senim_result deferred_ask(struct deferred *w,
						struct deferred_work work, void *ctx,
						http_continue_fn cont);

/*
 * Start the ASKED work of the request on `conn`.  1 when it is QUEUED:
 * `conn` is suspended and resumes once the work is DONE.  0 when it ran
 * here and now because the server is stopping (the I/O threads may be
 * gone, and the daemon must not stop with a connection suspended): it is
 * DONE, the connection was never suspended.
 */
int defer_start(struct defer *d, struct deferred *w, struct MHD_Connection *conn);

#endif
