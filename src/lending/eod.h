/*
 * eod.h — end of day (`senim eod --date D`, docs/end-of-day.md): every loan
 * still open or overdue whose last closed day is before D is brought to D
 * (lending/loans.h loan_advance: accrual, the delay and its bucket,
 * penalties, the bureaus' `overdue` events, delinquency notices).
 *
 * Invariants:
 *   - One `eod_runs` row per day D (store/migrations.c version 12).  Loans
 *     are taken in id order, a chunk of them per write transaction; the
 *     run's cursor (last_loan) and its counts move in the transaction that
 *     brought those loans forward.  Killed halfway, the rerun starts after
 *     the cursor; a loan whose day is D already (brought there by a payment,
 *     or by an interrupted chunk that did commit) is not taken at all, so a
 *     rerun changes nothing twice.
 *   - A finished run (finished_at set) is not run again: the call reports
 *     it and writes nothing.  A day before the latest run's day is refused:
 *     its loans are past it.
 *   - D must have ended in Kazakhstan (UTC+5, one zone since 2024-03-01):
 *     at most yesterday there, so no payment of day D can still arrive
 *     after D is closed.
 *   - One struct loan_advance serves the whole run, so the rules in force
 *     are looked up once per day, not once per loan.
 *   - Memory does not grow with the portfolio: one chunk of ids and one loan
 *     at a time.
 */
#ifndef SENIM_EOD_H
#define SENIM_EOD_H

#include <stddef.h>
#include <stdint.h>

#include "common/result.h"
#include "store/store.h"
#include "vault/keyring.h"

#define EOD_CHUNK_DEFAULT 500
#define EOD_CHUNK_MAX 10000

/* Today's day number (core/schedule.h) in Kazakhstan, by the clock. */
int32_t eod_today(void);

/* Progress: done of total loans (total counted when the run starts). */
typedef void (*eod_progress_fn)(size_t done, size_t total, void *ctx);

struct loan_rules;
struct eod_run {
	/* in */
	const struct keyring *kr;
	const struct loan_rules *rules;
	const char *actor, *request_id;
	int32_t day;		  /* D, a day number */
	size_t chunk;		  /* loans per write transaction; 0: EOD_CHUNK_DEFAULT */
	eod_progress_fn progress; /* may be NULL */
	void *ctx;
	/* out */
	int finished_before; /* the run of D had finished already: nothing done */
	int resumed;	     /* an interrupted run of D was continued */
	int32_t latest;	     /* with SENIM_ERR_CONFLICT: the latest run's day */
	/* this call's work (a resumed run: since it resumed) */
	size_t loans, days, overdue_events, notices;
	/* the whole run's, as recorded in eod_runs */
	int64_t run_loans, run_days, run_overdue_events, run_notices;
};

/*
 * Run (or continue) the end of day op->day.  SENIM_ERR_INVALID: D in the
 * future or today (not ended yet), or a chunk out of 1..EOD_CHUNK_MAX, or
 * no rules in force on a day (loan_advance); SENIM_ERR_CONFLICT: D is
 * before the latest run's day (op->latest); store errors as they come (the
 * chunks committed before stay: run again to finish).
 */
SENIM_MUST_CHECK enum senim_result eod_run(struct store *st, struct eod_run *op);

#endif
