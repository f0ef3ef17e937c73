/*
 * defer.c — suspend, hand to the executor, resume.
 */
#include "http/defer.h"

#include <microhttpd.h>
#include <time.h>

#include "common/log.h"
#include "store/store.h"
#include "common/banned.h"

enum senim_result defer_init(struct defer *d, struct store *store)
{
	*d = (struct defer){ .store = store };
	return io_pool_new(&d->io);
}

void defer_quiesce(struct defer *d)
{
	/* Queued writes finish in milliseconds, calls within their deadline
	 * (an SMS send: 8 s); their connections must be resumed before the
	 * daemon goes, so wait for every one. */
	__atomic_store_n(&d->stopping, 1, __ATOMIC_SEQ_CST);
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	for (int waited = 0; __atomic_load_n(&d->awaiting, __ATOMIC_SEQ_CST) > 0;
	     waited += 10) {
		if (waited == 10000)
			log_event(LOG_WARN, "shutdown_waiting_for_writes", NULL);
		nanosleep(&tick, NULL);
	}
}

void defer_release(struct defer *d)
{
	io_pool_free(d->io); /* idle: nothing was queued since awaiting was 0 */
	d->io = NULL;
}

enum senim_result deferred_ask(struct deferred *w, http_write_fn fn, http_call_fn call,
			       void *ctx, http_continue_fn cont)
{
	if (w->state != DEFERRED_NONE || !fn == !call) /* one per request */
		return SENIM_ERR_INVALID;
	*w = (struct deferred){ .write = fn,
				.call = call,
				.ctx = ctx,
				.cont = cont,
				.state = DEFERRED_ASKED };
	return SENIM_OK;
}

/* On the thread that finished the work (for a write, the store's finisher
 * once the batch's anchor is durable, or the batch's leader when nothing
 * waits for an anchor; an I/O thread; or the worker itself when the
 * executor refused): note the result, wake the connection. */
static void finished(enum senim_result result, void *arg)
{
	struct deferred *w = arg;
	struct defer *d = w->owner; /* w may be gone once resumed */
	w->result = result;
	w->state = DEFERRED_DONE;
	MHD_resume_connection(w->conn); /* orders the stores above */
	__atomic_fetch_sub(&d->awaiting, 1, __ATOMIC_SEQ_CST);
}

/* The work itself, synchronously. */
static enum senim_result run_here(struct defer *d, struct deferred *w)
{
	return w->call ? w->call(w->ctx) : store_write(d->store, w->write, w->ctx);
}

/* Hand the work to its executor, which calls finished() when done. */
static enum senim_result submit(struct defer *d, struct deferred *w)
{
	if (!w->call)
		return store_write_async(d->store, w->write, w->ctx, finished, w);
	w->job = (struct io_job){
		.call = w->call, .ctx = w->ctx, .done = finished, .arg = w
	};
	return io_pool_submit(d->io, &w->job);
}

int defer_start(struct defer *d, struct deferred *w, struct MHD_Connection *conn)
{
	/* Counted before the check, so defer_quiesce either waits for this one
	 * or this one sees it stopping. */
	__atomic_fetch_add(&d->awaiting, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&d->stopping, __ATOMIC_SEQ_CST)) {
		w->result = run_here(d, w);
		w->state = DEFERRED_DONE;
		__atomic_fetch_sub(&d->awaiting, 1, __ATOMIC_SEQ_CST);
		return 0;
	}
	w->owner = d;
	w->conn = conn;
	MHD_suspend_connection(conn);
	w->state = DEFERRED_QUEUED;
	enum senim_result err = submit(d, w);
	if (err)
		finished(err, w); /* the continuation sees it at once */
	return 1;
}
