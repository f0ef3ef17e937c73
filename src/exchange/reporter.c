/*
 * reporter.c — a pass over the bureaus' loan_event/1 services, and the
 * thread that runs one every interval inside `serve` (reporter.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "exchange/reporter.h"
#include "common/clock.h"
#include "common/ids.h"
#include "common/log.h"
#include "exchange/loan_events.h"
#include "exchange/outbox.h"
#include "common/banned.h"

/* Pump what is due, then queue and pump batch after batch. */
static enum senim_result report_service(struct report_pass *p, const struct recipient *rc,
					const struct recipient_service *svc)
{
	struct outbox_pump pump = { .store = p->store,
				    .kr = p->kr,
				    .hub = p->hub,
				    .recipient = rc,
				    .service = svc,
				    .api = &loan_events_api,
				    .owner = p->owner,
				    .wait_until_ms = p->wait_until_ms };
	enum senim_result err = outbox_pump_run(&pump);
	while (!err) {
		struct loan_events_queue q = { .kr = p->kr,
					       .recipients = p->recipients,
					       .matrix = p->matrix,
					       .recipient = rc,
					       .service = svc,
					       .actor = p->actor,
					       .request_id = p->request_id };
		err = store_write(p->store, loan_events_queue_tx, &q);
		if (err || !q.taken)
			break;
		p->totals.queued += q.queued;
		p->totals.refused += q.refused;
		p->totals.invalid += q.invalid;
		if (q.queued)
			err = outbox_pump_run(&pump);
	}
	p->totals.delivered += pump.delivered;
	p->totals.failed += pump.failed;
	p->totals.dead += pump.dead;
	p->totals.left += pump.left;
	return err;
}

enum senim_result report_pass_run(struct report_pass *p)
{
	const struct recipients *rs = p->recipients;
	for (size_t i = 0; i < rs->n; i++) {
		const struct recipient *r = &rs->recipients[i];
		if (p->only ? strcmp(r->code, p->only) != 0
			    : r->kind != RECIPIENT_CREDIT_BUREAU)
			continue;
		for (size_t k = 0; k < r->nservices; k++) {
			if (r->services[k].api != RECIPIENT_API_LOAN_EVENT)
				continue;
			p->totals.services++;
			enum senim_result err = report_service(p, r, &r->services[k]);
			if (err) {
				p->failed_at = r->code;
				return err;
			}
		}
	}
	return SENIM_OK;
}

/* ---- the reporting deadline on /metrics ------------------------------- */

struct late_read {
	const struct recipients *rs;
	int64_t now_us;
	struct buf *out;
};

/* Loan events older than `cut_us` that have not reached `code`: past its
 * cursor, or with a transfer still pending, sending or dead.  The first
 * walks seq from the cursor (its unique index), the second the few rows
 * the outbox still holds (transfers_due), so a scrape never reads the
 * whole history. */
static enum senim_result count_late(struct store_tx *tx, const char *code, int64_t cut_us,
				    int64_t *late)
{
	struct store_rows *r = NULL;
	enum senim_result err = store_query_one(
		tx,
		"SELECT COUNT(*) FROM loan_events WHERE imported_at < $1 AND seq >"
		" COALESCE((SELECT last_seq FROM bureau_cursors WHERE recipient = $2), "
		"0)",
		(struct store_val[]){ SV_INT(cut_us), SV_TEXT(code) }, 2, &r);
	if (err)
		return err;
	*late = store_rows_int(r, 0);
	store_rows_free(r);
	err = store_query_one(
		tx,
		"SELECT COUNT(*) FROM transfers t JOIN loan_events e ON e.id ="
		" t.idempotency_key WHERE t.state IN ('pending', 'sending', 'dead')"
		" AND t.recipient = $2 AND t.api = 'loan_event/1' AND e.imported_at < $1",
		(struct store_val[]){ SV_INT(cut_us), SV_TEXT(code) }, 2, &r);
	if (err)
		return err;
	*late += store_rows_int(r, 0);
	store_rows_free(r);
	return SENIM_OK;
}

static enum senim_result late_tx(struct store_tx *tx, void *arg)
{
	struct late_read *m = arg;
	enum senim_result err =
		buf_addf(m->out, "# TYPE senim_bureau_events_late gauge\n");
	for (size_t i = 0; !err && i < m->rs->n; i++) {
		const struct recipient *r = &m->rs->recipients[i];
		if (r->kind != RECIPIENT_CREDIT_BUREAU || r->report_within_days <= 0)
			continue;
		int serves = 0;
		for (size_t k = 0; k < r->nservices; k++)
			serves |= r->services[k].api == RECIPIENT_API_LOAN_EVENT;
		if (!serves)
			continue;
		int64_t late = 0;
		int64_t window_us = (int64_t)r->report_within_days * 86400 * 1000000;
		err = count_late(tx, r->code, m->now_us - window_us, &late);
		if (!err)
			err = buf_addf(
				m->out,
				"senim_bureau_events_late{recipient=\"%s\"} %lld\n",
				r->code, (long long)late);
	}
	return err;
}

enum senim_result reporter_metrics(struct store *st, const struct recipients *rs,
				   int64_t now_us, struct buf *out)
{
	struct late_read m = { .rs = rs, .now_us = now_us, .out = out };
	return store_read(st, late_tx, &m);
}

/* ---- the thread of serve -------------------------------------------- */

struct reporter {
	struct reporter_config cfg;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake; /* on CLOCK_MONOTONIC */
	int stopping;	     /* under lock */
	int woken;	     /* under lock: reporter_wake() asked for a pass */
	char owner[OUTBOX_OWNER_LEN];
};

/* The running reporter, for reporter_wake(): serve runs at most one.
 * the_lock is held while it is signalled, so reporter_stop() never frees
 * it under a waker. */
static pthread_mutex_t the_lock = PTHREAD_MUTEX_INITIALIZER;
static struct reporter *the_reporter;

void reporter_wake(void)
{
	pthread_mutex_lock(&the_lock);
	struct reporter *r = the_reporter;
	if (r) {
		pthread_mutex_lock(&r->lock);
		r->woken = 1;
		pthread_cond_signal(&r->wake);
		pthread_mutex_unlock(&r->lock);
	}
	pthread_mutex_unlock(&the_lock);
}

static void count_text(char out[24], size_t n)
{
	snprintf(out, 24, "%zu", n);
}

/* One pass, logged when it did anything: counts only, never a subject. */
static void run_pass(struct reporter *r)
{
	char request_id[4 + ID_BODY_CHARS + 1];
	id_time_ordered(request_id, "rpt_", clock_now_us() / 1000);
	struct report_pass p = { .store = r->cfg.store,
				 .kr = r->cfg.kr,
				 .hub = r->cfg.hub,
				 .recipients = r->cfg.recipients,
				 .matrix = r->cfg.matrix,
				 .owner = r->owner,
				 .actor = "system:bureau-reporter",
				 .request_id = request_id,
				 .wait_until_ms = clock_now_us() / 1000 };
	enum senim_result err = report_pass_run(&p);
	const struct report_totals *t = &p.totals;
	if (err) {
		log_event(LOG_WARN, "bureau_report_failed", "recipient", p.failed_at,
			  "error", senim_result_name(err), NULL);
		return;
	}
	if (!(t->queued || t->refused || t->invalid || t->delivered || t->failed ||
	      t->dead))
		return;
	char queued[24], delivered[24], failed[24], dead[24], left[24];
	count_text(queued, t->queued);
	count_text(delivered, t->delivered);
	count_text(failed, t->failed + t->refused + t->invalid);
	count_text(dead, t->dead);
	count_text(left, t->left);
	log_event(LOG_INFO, "bureau_report", "request_id", request_id, "queued", queued,
		  "delivered", delivered, "failed", failed, "dead", dead, "waiting", left,
		  NULL);
}

static void deadline_after(struct timespec *ts, int64_t ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += (time_t)(ms / 1000);
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static void *reporter_main(void *arg)
{
	struct reporter *r = arg;
	pthread_mutex_lock(&r->lock);
	while (!r->stopping) {
		struct timespec until;
		deadline_after(&until, r->cfg.interval_ms);
		while (!r->stopping && !r->woken &&
		       pthread_cond_timedwait(&r->wake, &r->lock, &until) != ETIMEDOUT)
			;
		if (r->stopping)
			break;
		r->woken = 0; /* a wake from now on asks for the next pass */
		pthread_mutex_unlock(&r->lock);
		run_pass(r);
		pthread_mutex_lock(&r->lock);
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

enum senim_result reporter_start(const struct reporter_config *cfg, struct reporter **out)
{
	*out = NULL;
	if (cfg->interval_ms <= 0)
		return SENIM_ERR_INVALID;
	struct reporter *r = calloc(1, sizeof(*r));
	if (!r)
		return SENIM_ERR_NOMEM;
	r->cfg = *cfg;
	outbox_owner(r->owner);
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->wake, &attr);
	pthread_condattr_destroy(&attr);
	if (pthread_create(&r->thread, NULL, reporter_main, r) != 0) {
		pthread_cond_destroy(&r->wake);
		pthread_mutex_destroy(&r->lock);
		free(r);
		return SENIM_ERR_UNAVAILABLE;
	}
	pthread_mutex_lock(&the_lock);
	if (!the_reporter)
		the_reporter = r;
	pthread_mutex_unlock(&the_lock);
	*out = r;
	return SENIM_OK;
}

void reporter_stop(struct reporter *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&the_lock);
	if (the_reporter == r)
		the_reporter = NULL;
	pthread_mutex_unlock(&the_lock);
	pthread_mutex_lock(&r->lock);
	r->stopping = 1;
	pthread_cond_signal(&r->wake);
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->thread, NULL);
	pthread_cond_destroy(&r->wake);
	pthread_mutex_destroy(&r->lock);
	free(r);
}
