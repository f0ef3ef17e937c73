/*
 * servicing.h — a microcredit's life after the payout, as pure arithmetic:
 * what falls due, interest to the day, overdue amounts and days, penalties
 * within the caps, a payment's allocation, early repayment and closing, the
 * delinquency notice deadline and the restructuring window.  No I/O, no
 * allocation; docs/lending-servicing.md explains every choice.
 *
 * The model.  A loan's state after the close of day D (`struct loan_state`,
 * plain integers the caller stores as they are) is a pure function of its
 * state after day D-1, its schedule (core/schedule's rows), the payments of
 * day D and the rules in force on D:
 *
 *     servicing_open(terms, rows)            state before the payout day closes
 *     servicing_pay(state, ..., D, amount)   zero or more times during day D
 *     servicing_day(state, ..., D)           the close of day D
 *
 * so `senim eod` can run day by day, and re-running a day from the stored
 * state of the day before gives the same state (a payment is recorded with
 * its date and replayed before the close).  The state after the close of D
 * is the loan as the morning of D+1 finds it:
 *   - interest accrues for each day closed: the payout day counts, the day
 *     of a repayment does not;
 *   - an instalment falls due at the close of the day before its due date,
 *     so on its due date it is "current" and can be paid without delay;
 *   - an amount still unpaid at the close of its due date d is overdue: the
 *     delay's first day is d+1, and at the close of D the delay is
 *     D+1-d days (a payment on d+3 is three days late and has borne three
 *     days of penalty);
 *   - a day of penalty is charged at the close of the day before it, on the
 *     overdue principal and interest (never on penalty), at the lower of
 *     the contract's and the rules' daily rate (past the rules'
 *     penalty_after_days days of this delay, never above their
 *     penalty_daily_after_bp), and the penalties of one
 *     contract year (from the payout date, 12 months at a time) never
 *     exceed the lower annual rate times the amount lent.
 *
 * What falls due is the schedule's: the interest of a row is the row's
 * interest, the interest of the principal not yet due; overdue principal
 * bears the penalty, not interest, and nothing accrues after the last due
 * date but penalty.  Interest "to the day" (early repayment) is the current
 * period's interest in proportion to the days run, over the row's real
 * period (its start to its due date): monthly schedules
 * round_half_up(B·rate·months·days / (12·period days)), months the
 * period's calendar months (1, or k + 1 for the first row after a deferral
 * of k months), single payments round_half_up(B·rate·days / 365)
 * (docs/lending-math.md's day counts).  A partial early repayment's first
 * rebuilt row takes its interest by the same rule.
 *
 * Money is int64 tiyn, dates day numbers (core/schedule.h), rates basis
 * points.  Invariants kept by every function here (servicing_check tests
 * them): principal = principal_not_due + due_principal; every amount >= 0;
 * status CLOSED exactly when principal, due_interest, due_penalty and
 * carried_interest are all 0; carried interest only before the current
 * schedule's first row falls due; paid_* only grow.
 */
#ifndef SENIM_SERVICING_H
#define SENIM_SERVICING_H

#include <stddef.h>
#include <stdint.h>

#include "common/result.h"
#include "core/loan_rules.h"
#include "core/schedule.h"

#define SERVICING_NO_DAY INT32_MIN
#define SERVICING_MAX_PAYMENT INT64_C(1000000000000000) /* 10^15 tiyn */

enum loan_status {
	LOAN_OPEN,    /* nothing overdue */
	LOAN_OVERDUE, /* an amount unpaid past its due date */
	LOAN_CLOSED,  /* everything repaid */
};

/* The delay buckets: none, 1-30, 31-60, 61-90, over 90 days. */
enum loan_bucket {
	LOAN_BUCKET_NONE,
	LOAN_BUCKET_1_30,
	LOAN_BUCKET_31_60,
	LOAN_BUCKET_61_90,
	LOAN_BUCKET_OVER_90,
};

/* The contract's terms servicing needs besides its schedule. */
struct servicing_terms {
	int64_t principal; /* the amount lent, tiyn */
	int32_t rate_bp;   /* annual nominal rate */
	enum schedule_method method;
	int32_t start;		   /* the payout day */
	int32_t penalty_daily_bp;  /* the contract's penalty a day, of the overdue sum */
	int32_t penalty_annual_bp; /* its cap a contract year, of the amount lent */
};

/* A loan's state: plain integers, no pointers, no padding (216 bytes);
 * store it as it is. */
struct loan_state {
	int32_t day;	/* the last day closed (start - 1 before the first close) */
	int32_t status; /* enum loan_status */

	/* what is owed */
	int64_t principal;	   /* outstanding: not yet due + due unpaid */
	int64_t principal_not_due; /* accrues interest */
	int64_t interest_accrued;  /* of the current period to this morning, not due */
	int64_t due_principal, due_interest, due_penalty; /* due and unpaid */

	/* delay */
	int32_t overdue_since; /* the delay's first day, or SERVICING_NO_DAY */
	int32_t overdue_days;  /* as of this morning; 0 when not overdue */
	int32_t bucket;	       /* enum loan_bucket */
	int32_t notice_by;     /* last day to send the notice, or SERVICING_NO_DAY */
	int32_t notice_sent;   /* the day it was sent, or SERVICING_NO_DAY */
	int32_t delay_began;   /* first day of this delay, or SERVICING_NO_DAY */
	int32_t restructuring_until; /* last day of the window, or SERVICING_NO_DAY */
	int32_t reserved;	     /* 0; no padding, so states compare bytewise */

	/* penalty and its yearly cap */
	int64_t penalty_total; /* charged over the loan's life */
	int64_t penalty_year;  /* charged in the contract year pen_year */
	int32_t pen_year;      /* 0 = the first 12 months from the payout */
	int32_t pen_year_end;  /* first day of contract year pen_year + 1 */

	/* paid so far */
	int64_t paid_principal, paid_interest, paid_penalty;
	int64_t overpaid; /* handed back to the caller, never applied */

	/* the position in the current schedule (rows given by the caller) */
	int32_t rows;	      /* rows in the current schedule */
	int32_t next_row;     /* first row not yet due */
	int32_t period_start; /* the current period: [period_start, period_end) */
	int32_t period_end;
	int32_t seg_start;	  /* interest accrues on seg_principal from seg_start */
	int32_t schedule_version; /* 0 the contract's; +1 at each reschedule */
	/* first-in first-out payment of due amounts, per kind: the oldest row
	 * with an unpaid principal (interest) part, the sum of the rows before
	 * it, and what has been paid into due principal (interest) under this
	 * schedule version */
	int32_t oldest_p, oldest_i;
	int64_t before_p, before_i;
	int64_t fifo_p, fifo_i;

	/* Interest owed before a restructuring, carried into the first new
	 * row's interest (core/restructure) and not paid yet: owed while that
	 * row is not due, then part of due_interest.  It bears no interest. */
	int64_t carried_interest;
};

/* What servicing_day reports for the caller to record (a bit set). */
enum servicing_event {
	SERVICING_EV_INSTALMENT_DUE = 1 << 0, /* a row fell due (tomorrow's date) */
	SERVICING_EV_BECAME_OVERDUE = 1 << 1,
	SERVICING_EV_NOTICE_DUE = 1 << 2, /* a notice must go by notice_by */
	SERVICING_EV_BUCKET_CHANGED = 1 << 3,
	SERVICING_EV_PENALTY_CAPPED = 1 << 4, /* the year's cap reached today */
	SERVICING_EV_CURED = 1 << 5,	      /* the delay ended (by a payment) */
	SERVICING_EV_CLOSED = 1 << 6,	      /* from servicing_pay */
	SERVICING_EV_RESCHEDULED = 1 << 7,    /* from servicing_pay */
};

/* How a payment is meant: to pay what is due, or to repay early (what is
 * left after every due amount goes to interest to the day, then principal;
 * the borrower's declared intent, which the caller records). */
enum servicing_pay_kind {
	SERVICING_PAY_DUE,
	SERVICING_PAY_EARLY,
};

/* Where a payment went; the parts sum to the amount. */
struct servicing_split {
	int64_t principal_overdue, interest_overdue, penalty;
	int64_t principal_current, interest_current;
	int64_t interest_to_date; /* early: the interest carried (if any) and the
				   * current period's interest so far */
	int64_t principal_early;  /* early: principal not yet due */
	int64_t overpayment;	  /* left over: the caller refunds or holds it */
	int events;		  /* SERVICING_EV_CURED, _CLOSED, _RESCHEDULED */
};

/* ---- the life of a loan ------------------------------------------------------- */

/*
 * The state of a loan just paid out: terms t, its schedule rows[0..n)
 * (schedule_build's output for the same terms).  SENIM_ERR_INVALID when the
 * terms or rows do not agree (no rows, principal parts not summing to the
 * principal, due dates not increasing after the start, penalty rates
 * negative).
 */
SENIM_MUST_CHECK enum senim_result servicing_open(const struct servicing_terms *t,
						  const struct schedule_row *rows,
						  size_t n, struct loan_state *st);

/*
 * Close day `day` (it must be st->day + 1): accrue the day's interest, count
 * the delay and charge a day's penalty, let the next row fall due.  `f` is
 * the rules in force on `day`; *events (may be NULL) gets the bit set.
 * Constant time, no allocation.  A closed loan only moves its day.
 * SENIM_ERR_INVALID: another day, or rows/n not the state's schedule.
 */
SENIM_MUST_CHECK enum senim_result
servicing_day(struct loan_state *st, const struct servicing_terms *t,
	      const struct schedule_row *rows, size_t n,
	      const struct loan_rules_in_force *f, int32_t day, int *events);

/*
 * Apply a payment of `amount` tiyn (1 .. SERVICING_MAX_PAYMENT) received on `day` (st->day + 1:
 * during the day not yet closed), in the allocation order of `f` (the rules
 * in force on `day`; the late order once the delay exceeds after_days).
 * *split says where each tiyn went; nothing is swallowed: what no debt
 * takes is split->overpayment (and st->overpaid).
 *
 * SERVICING_PAY_EARLY: what remains after every due amount pays the
 * interest to the day — the carried interest (st->carried_interest) and
 * the current period's so far — and then principal not yet due, but only
 * when it covers that interest in full (otherwise it is overpayment).
 * Repaying all the principal closes the loan: no fee or penalty for early
 * repayment.  A partial early repayment keeps the term and the due dates
 * and lowers the instalments: the remaining rows are rebuilt into
 * new_rows[0..*new_n) (room new_cap >= the rows not yet due), which the
 * caller stores and passes from now on instead of rows.
 *
 * SENIM_ERR_INVALID: another day, an amount out of range, a closed loan, no
 * allocation rule in force, or rows not the state's; SENIM_ERR_TOO_LARGE:
 * new_cap too small for a reschedule (nothing changed).
 */
SENIM_MUST_CHECK enum senim_result
servicing_pay(struct loan_state *st, const struct servicing_terms *t,
	      const struct schedule_row *rows, size_t n,
	      const struct loan_rules_in_force *f, int32_t day, int64_t amount,
	      enum servicing_pay_kind kind, struct servicing_split *split,
	      struct schedule_row *new_rows, size_t new_cap, size_t *new_n);

/* What full repayment on `day` (st->day + 1) costs: every due amount, the
 * carried interest, the interest to the day and the principal not yet
 * due. */
int64_t servicing_payoff(const struct loan_state *st, const struct servicing_terms *t,
			 int32_t day);

/* ---- notices and restructuring ----------------------------------------------- */

/* Record that the delinquency notice was sent on `day`.  Returns 1 when that
 * is within the deadline, 0 when late or no notice was due. */
int servicing_notice_sent(struct loan_state *st, int32_t day);

/* 1 when a restructuring request made on `day` is inside the window: the
 * loan is overdue and day is in [delay_began, restructuring_until], the
 * window's days counted from the delay's first day, that day included. */
int servicing_restructuring_open(const struct loan_state *st, int32_t day);

/* The bucket of a delay of `days` days. */
enum loan_bucket servicing_bucket(int32_t days);

/* 1 when the state keeps the invariants above (for tests and for a caller
 * loading a stored state). */
int servicing_check(const struct loan_state *st);

#endif
