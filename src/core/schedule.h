/*
 * schedule.h — a microcredit's repayment schedule: pure integer arithmetic,
 * no I/O, no allocation (the caller gives the rows).
 *
 * Money is int64 tiyn (1 tenge = 100 tiyn); the annual nominal rate is in
 * basis points (1 bp = 0.01 %); a date is a day number (days since
 * 1970-01-01, proleptic Gregorian), converted with schedule_day/_ymd.
 * docs/lending-math.md explains each choice below and what is verified.
 *
 * Methods:
 *   SCHEDULE_ANNUITY        N monthly payments, all equal to A except the
 *                           last, A = P·r / (1 − (1+r)^−N), r = rate/12,
 *                           rounded half-up to the tiyn; each row's
 *                           interest is the balance's, its principal is
 *                           A − interest.
 *   SCHEDULE_DIFFERENTIATED N monthly payments whose principal parts are
 *                           all round_half_up(P / N) except the last, plus
 *                           the balance's interest.
 *   SCHEDULE_SINGLE         one payment D days after the start: P plus the
 *                           interest for D days.
 *
 * Day count: a monthly period is 1/12 of a year whatever its length (30/360),
 * so a month's interest is round_half_up(balance · rate / 12); the single
 * payment counts actual days over 365 (actual/365), so its interest is
 * round_half_up(P · rate · D / 365).  Due dates are the start date plus k
 * calendar months on the start's day of the month, clamped to the month's
 * last day (31 January → 28/29 February → 31 March).
 *
 * Invariants of every schedule built here:
 *   - the principal parts sum exactly to P, and the last row's balance is 0;
 *   - every amount is >= 0, and total = principal + interest on each row;
 *   - the last payment absorbs every rounding remainder: it takes the whole
 *     remaining balance.  When P is so small against N that the rounded
 *     payment (annuity) or part (differentiated) would overpay, a payment
 *     is capped at the balance and the rows after it are zero.
 */
#ifndef SENIM_SCHEDULE_H
#define SENIM_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

#include "common/result.h"

#define SCHEDULE_MAX_PRINCIPAL INT64_C(10000000000000) /* 10^13 tiyn */
#define SCHEDULE_MAX_RATE_BP 100000		       /* 1000 % a year */
#define SCHEDULE_MAX_PAYMENTS 600		       /* 50 years monthly */
#define SCHEDULE_MAX_DAYS 3660			       /* single payment */

enum schedule_method {
	SCHEDULE_ANNUITY,
	SCHEDULE_DIFFERENTIATED,
	SCHEDULE_SINGLE,
};

struct schedule_terms {
	int64_t principal; /* tiyn, 1 .. SCHEDULE_MAX_PRINCIPAL */
	int32_t rate_bp;   /* annual nominal rate, 0 .. SCHEDULE_MAX_RATE_BP */
	enum schedule_method method;
	int32_t payments; /* annuity, differentiated: 1 .. SCHEDULE_MAX_PAYMENTS */
	int32_t days;	  /* single: 1 .. SCHEDULE_MAX_DAYS */
	int32_t start;	  /* day number of the payout */
};

struct schedule_row {
	int32_t due; /* day number */
	int64_t principal, interest, total;
	int64_t balance; /* principal still owed after this payment */
};

/* ---- schedules --------------------------------------------------------------- */

/* Build the schedule of `t` into rows[0..*n).  `cap` is the room in rows
 * (a single payment needs 1, the others t->payments).  The caller owns rows.
 * SENIM_ERR_INVALID: a term out of its range or an unknown method;
 * SENIM_ERR_TOO_LARGE: cap too small; nothing is written past cap. */
SENIM_MUST_CHECK enum senim_result schedule_build(const struct schedule_terms *t,
						  struct schedule_row *rows, size_t cap,
						  size_t *n);

/* The annuity payment A of schedule_build (exposed for tests and the offer
 * text): round_half_up(P·r / (1 − (1+r)^−N)), or round_half_up(P / N) at
 * rate 0.  Same ranges and errors as schedule_build. */
SENIM_MUST_CHECK enum senim_result schedule_annuity_payment(int64_t principal,
							    int32_t rate_bp,
							    int32_t payments,
							    int64_t *out);

/* ---- dates ------------------------------------------------------------------- */

/* The day number of a proleptic Gregorian date; no validation beyond what
 * schedule_ymd round-trips (tests check 1900..2200). */
int32_t schedule_day(int year, int month, int day);

/* The date of a day number. */
void schedule_ymd(int32_t day, int *year, int *month, int *mday);

/* start + k calendar months on start's day of the month, clamped to the
 * target month's last day. */
int32_t schedule_add_months(int32_t start, int k);

#endif
