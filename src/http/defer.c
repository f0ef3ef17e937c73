/*
 * defer.c — suspend, hand to the executor, resume.
 */
#include "http/defer.h"

#include <microhttpd.h>
#include <pthread.h>
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

enum senim_result deferred_ask(struct deferred *w, struct deferred_work work, void *ctx,
			       http_continue_fn cont)
{
	int named = !!work.write + !!work.call + !!work.start;
	if (w->state != DEFERRED_NONE || named != 1) /* one per request */
		return SENIM_ERR_INVALID;
	*w = (struct deferred){
		.work = work, .ctx = ctx, .cont = cont, .state = DEFERRED_ASKED
	};
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

/* Asynchronous work waited for on this thread, while the server stops. */
struct waited {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int done;
	enum senim_result result;
};

static void waited_done(enum senim_result result, void *arg)
{
	struct waited *wt = arg;
	pthread_mutex_lock(&wt->lock);
	wt->result = result;
	wt->done = 1;
	pthread_cond_signal(&wt->cond);
	pthread_mutex_unlock(&wt->lock);
}

static enum senim_result run_async_here(struct deferred *w)
{
	struct waited wt = { .lock = PTHREAD_MUTEX_INITIALIZER,
			     .cond = PTHREAD_COND_INITIALIZER };
	enum senim_result err = w->work.start(w->ctx, waited_done, &wt);
	if (err)
		return err;
	pthread_mutex_lock(&wt.lock);
	while (!wt.done)
		pthread_cond_wait(&wt.cond, &wt.lock);
	pthread_mutex_unlock(&wt.lock);
	/* Destroyed only here: waited_done has unlocked before the wait ends. */
	pthread_cond_destroy(&wt.cond);
	pthread_mutex_destroy(&wt.lock);
	return wt.result;
}

/* The work itself, synchronously. */
static enum senim_result run_here(struct defer *d, struct deferred *w)
{
	if (w->work.call)
		return w->work.call(w->ctx);
	if (w->work.start)
		return run_async_here(w);
	return store_write(d->store, w->work.write, w->ctx);
}

/* Hand the work to its executor, which calls finished() when done. */
static enum senim_result submit(struct defer *d, struct deferred *w)
{
	if (w->work.start)
		return w->work.start(w->ctx, finished, w);
	if (w->work.write)
		return store_write_async(d->store, w->work.write, w->ctx, finished, w);
	w->job = (struct io_job){
		.call = w->work.call, .ctx = w->ctx, .done = finished, .arg = w
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
