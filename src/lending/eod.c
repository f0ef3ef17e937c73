/*
 * eod.c — end of day (eod.h).
 *
 * A run is three kinds of transaction: one that finds or starts the day's
 * eod_runs row, then chunks — each takes the next loans after the cursor
 * that still need the day, brings every one of them to D and moves the
 * cursor and the counts — and the last chunk, which finds fewer loans than
 * it asked for, marks the run finished with its audit record.
 */
#include "lending/eod.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "common/clock.h"
#include "core/schedule.h"
#include "lending/loans.h"
#include "common/banned.h"

int32_t eod_today(void)
{
	return clock_kz_day(clock_now_us());
}

struct run {
	struct eod_run *op;
	char cursor[LOAN_ID_LEN];
	char (*ids)[LOAN_ID_LEN]; /* one chunk */
	size_t nids;
	int finished;
	struct loan *loan;
	struct loan_advance adv;
};

static void copy_text(struct store_rows *r, int col, char *out, size_t cap)
{
	size_t n = 0;
	const char *t = store_rows_text(r, col, &n);
	if (!t || n >= cap)
		n = 0;
	memcpy(out, t ? t : "", n);
	out[n] = '\0';
}

/* ---- the run's row ----------------------------------------------------------------- */

static enum senim_result start_fn(struct store_tx *tx, void *arg)
{
	struct run *rn = arg;
	struct eod_run *op = rn->op;
	op->finished_before = op->resumed = 0;
	rn->cursor[0] = '\0';
	struct store_rows *r = NULL;
	enum senim_result err = store_query_one(
		tx,
		"SELECT finished_at, last_loan, loans, days_closed, overdue_events,"
		" notices FROM eod_runs WHERE day = $1",
		(struct store_val[]){ SV_INT(op->day) }, 1, &r);
	if (!err) {
		op->finished_before = !store_rows_is_null(r, 0);
		op->resumed = !op->finished_before;
		copy_text(r, 1, rn->cursor, sizeof(rn->cursor));
		op->run_loans = store_rows_int(r, 2);
		op->run_days = store_rows_int(r, 3);
		op->run_overdue_events = store_rows_int(r, 4);
		op->run_notices = store_rows_int(r, 5);
		store_rows_free(r);
		return SENIM_OK;
	}
	if (err != SENIM_ERR_NOT_FOUND)
		return err;
	err = store_query_one(tx, "SELECT MAX(day) FROM eod_runs", NULL, 0, &r);
	if (err)
		return err;
	int has = !store_rows_is_null(r, 0);
	int64_t latest = has ? store_rows_int(r, 0) : 0;
	store_rows_free(r);
	if (has && latest > op->day) {
		op->latest = (int32_t)latest;
		return SENIM_ERR_CONFLICT;
	}
	op->run_loans = op->run_days = op->run_overdue_events = op->run_notices = 0;
	return store_exec(
		tx,
		"INSERT INTO eod_runs (day, started_at, finished_at, last_loan,"
		" loans, days_closed, overdue_events, notices, actor, request_id)"
		" VALUES ($1, $2, NULL, '', 0, 0, 0, 0, $3, $4)",
		(struct store_val[]){ SV_INT(op->day), SV_INT(clock_now_us() / 1000),
				      SV_TEXT(op->actor), SV_TEXT(op->request_id) },
		4, NULL);
}

struct count {
	const struct run *rn;
	size_t n;
};

static enum senim_result count_fn(struct store_tx *tx, void *arg)
{
	struct count *c = arg;
	struct store_rows *r = NULL;
	enum senim_result err = store_query_one(
		tx,
		"SELECT COUNT(*) FROM loans WHERE id > $1 AND status IN ('open', "
		"'overdue')"
		" AND day < $2",
		(struct store_val[]){ SV_TEXT(c->rn->cursor), SV_INT(c->rn->op->day) }, 2,
		&r);
	if (err)
		return err;
	c->n = (size_t)store_rows_int(r, 0);
	store_rows_free(r);
	return SENIM_OK;
}

/* ---- a chunk ----------------------------------------------------------------------- */

/* The ids of the next loans after the cursor that still need the day.  The
 * scan must walk the primary key from the cursor, so a run reads each loan
 * once: status and day are written as expressions, which no index serves,
 * or the planners take loans_due and sort every loan left for each chunk
 * (SQLite does, with no statistics), a run quadratic in the portfolio. */
static enum senim_result next_ids(struct store_tx *tx, struct run *rn)
{
	struct eod_run *op = rn->op;
	rn->nids = 0;
	struct store_rows *r = NULL;
	enum senim_result err =
		store_query(tx,
			    "SELECT id FROM loans WHERE id > $1 AND status || '' IN "
			    "('open', 'overdue')"
			    " AND day + 0 < $2 ORDER BY id LIMIT $3",
			    (struct store_val[]){ SV_TEXT(rn->cursor), SV_INT(op->day),
						  SV_INT((int64_t)op->chunk) },
			    3, &r);
	if (err)
		return err;
	int has = 0;
	while ((err = store_rows_next(r, &has)) == SENIM_OK && has &&
	       rn->nids < op->chunk)
		copy_text(r, 0, rn->ids[rn->nids++], LOAN_ID_LEN);
	store_rows_free(r);
	return err;
}

static enum senim_result finish(struct store_tx *tx, struct run *rn)
{
	struct eod_run *op = rn->op;
	enum senim_result err = store_exec(
		tx, "UPDATE eod_runs SET finished_at = $2 WHERE day = $1",
		(struct store_val[]){ SV_INT(op->day), SV_INT(clock_now_us() / 1000) }, 2,
		NULL);
	if (err)
		return err;
	int y, m, d;
	schedule_ymd(op->day, &y, &m, &d);
	char object[32];
	snprintf(object, sizeof(object), "eod:%04d-%02d-%02d", y, m, d);
	return audit_append(tx, op->kr,
			    &(struct audit_record){ .actor = op->actor,
						    .operation = "eod.run",
						    .object = object,
						    .subject_id = NULL,
						    .categories = "",
						    .purpose = "loan_servicing",
						    .outcome = "success",
						    .request_id = op->request_id });
}

static enum senim_result chunk_fn(struct store_tx *tx, void *arg)
{
	struct run *rn = arg;
	struct eod_run *op = rn->op;
	/* counted per transaction: a retried one starts again from nothing */
	rn->adv.days = rn->adv.overdue_events = rn->adv.notices = 0;
	rn->finished = 0;
	enum senim_result err = next_ids(tx, rn);
	for (size_t i = 0; !err && i < rn->nids; i++) {
		err = loan_load(tx, rn->ids[i], rn->loan);
		if (!err)
			err = loan_advance(tx, rn->loan, &rn->adv);
	}
	if (err)
		return err;
	if (rn->nids)
		err = store_exec(
			tx,
			"UPDATE eod_runs SET last_loan = $2, loans = loans + $3,"
			" days_closed = days_closed + $4,"
			" overdue_events = overdue_events + $5, notices = notices + $6"
			" WHERE day = $1",
			(struct store_val[]){
				SV_INT(op->day), SV_TEXT(rn->ids[rn->nids - 1]),
				SV_INT((int64_t)rn->nids), SV_INT((int64_t)rn->adv.days),
				SV_INT((int64_t)rn->adv.overdue_events),
				SV_INT((int64_t)rn->adv.notices) },
			6, NULL);
	if (!err && rn->nids < op->chunk) {
		rn->finished = 1;
		err = finish(tx, rn);
	}
	return err;
}

enum senim_result eod_run(struct store *st, struct eod_run *op)
{
	op->loans = op->days = op->overdue_events = op->notices = 0;
	op->finished_before = op->resumed = 0;
	op->latest = 0;
	if (!op->chunk)
		op->chunk = EOD_CHUNK_DEFAULT;
	if (!st || !op->kr || !op->rules || !op->actor || !op->request_id ||
	    op->chunk > EOD_CHUNK_MAX || op->day >= eod_today())
		return SENIM_ERR_INVALID;
	struct run rn = { .op = op };
	enum senim_result err = store_write(st, start_fn, &rn);
	if (err || op->finished_before)
		return err;
	size_t total = 0;
	if (op->progress) {
		struct count c = { .rn = &rn };
		err = store_read(st, count_fn, &c);
		if (err)
			return err;
		total = c.n;
		op->progress(0, total, op->ctx);
	}
	rn.ids = malloc(op->chunk * sizeof(*rn.ids));
	rn.loan = malloc(sizeof(*rn.loan));
	if (!rn.ids || !rn.loan) {
		err = SENIM_ERR_NOMEM;
		goto out;
	}
	rn.adv = (struct loan_advance){ .kr = op->kr,
					.rules = op->rules,
					.actor = op->actor,
					.request_id = op->request_id,
					.through = op->day };
	while (!err && !rn.finished) {
		err = store_write(st, chunk_fn, &rn);
		if (err)
			break;
		if (rn.nids)
			memcpy(rn.cursor, rn.ids[rn.nids - 1], LOAN_ID_LEN);
		op->loans += rn.nids;
		op->days += rn.adv.days;
		op->overdue_events += rn.adv.overdue_events;
		op->notices += rn.adv.notices;
		op->run_loans += (int64_t)rn.nids;
		op->run_days += (int64_t)rn.adv.days;
		op->run_overdue_events += (int64_t)rn.adv.overdue_events;
		op->run_notices += (int64_t)rn.adv.notices;
		if (op->progress)
			op->progress(op->loans, total > op->loans ? total : op->loans,
				     op->ctx);
	}
out:
	free(rn.ids);
	free(rn.loan);
	return err;
}
