/*
 * gesv.h — the annual effective rate of remuneration (ГЭСВ, годовая
 * эффективная ставка вознаграждения) of a loan's cash flows.  Pure: no I/O,
 * no allocation.
 *
 * The formula (docs/lending-math.md gives its source and what is verified):
 *
 *     Σ_j S_j / (1 + APR)^(t_j / 365)  =  Σ_i P_i / (1 + APR)^(t_i / 365)
 *
 * S_j the payouts to the borrower, P_i the borrower's payments (principal,
 * remuneration, commissions and every other payment to the lender; never
 * penalties), t the days from the day the loan is given (the earliest flow
 * here) to the flow; 365 days a year whatever the year.  Written as one sum:
 * Σ CF_k · (1 + APR)^(−t_k / 365) = 0 with a payout negative and a payment
 * positive.  The result is rounded to tenths of a per cent, a hundredth of
 * 5 or more rounding up: the m with (m − ½)·0.1 % <= APR < (m + ½)·0.1 %
 * (so toward +∞ at a tie, for the negative rates nobody offers too).
 *
 * The flows, netted per day, must change sign once: payouts (net negative)
 * first, then payments (net positive).  Then the equation has exactly one
 * root above −100 %, and the rounding is decided by a sign, not by rounding
 * an approximation: the root reaches a half-way rate (k + ½)·0.1 % exactly
 * when the sum at that rate is >= 0.  The sum is long double (expl,
 * log1pl), known to about Σ|CF|·2^-52; a root that close to a half-way rate,
 * an exact tie included, rounds up (gesv.c).  Roots are searched up to
 * GESV_MAX_RATE.
 */
#ifndef SENIM_GESV_H
#define SENIM_GESV_H

#include <stddef.h>
#include <stdint.h>

#include "common/result.h"

#define GESV_MAX_FLOWS 1024
/* A flow: a schedule's largest payment (10^13 tiyn after 3660 days at
 * 1000 %) is about 1.01·10^15 tiyn; GESV_MAX_FLOWS of these still sum
 * within an int64. */
#define GESV_MAX_AMOUNT INT64_C(2000000000000000)
/* The search stops at a rate of 10^14 (10^16 % a year; its basis points
 * still fit an int64).  Fees on very short loans compound to absurd but
 * real figures (a 1 % fee on 10^13 tiyn lent for one day at 1000 % is
 * 754,519,712 %), so the search goes that far rather than refuse an offer
 * with the wrong reason; a root beyond it (a 10 % fee for one day is
 * 1.3·10^17 %) makes the flows invalid. */
#define GESV_MAX_RATE 1e14L

struct gesv_flow {
	int32_t day;	/* day number (schedule.h's days since 1970-01-01) */
	int64_t amount; /* tiyn: a payout < 0, a payment > 0 */
};

struct gesv_result {
	int64_t bp;	  /* the ГЭСВ rounded to 0.1 %, in basis points (a
			     * multiple of 10): 46.0 % is 4600 */
	long double rate; /* the unrounded root, a fraction (0.46 = 46 %) */
};

/* Solve for the ГЭСВ of flows[0..n); the caller keeps the flows.
 * SENIM_ERR_INVALID: n of 0 or above GESV_MAX_FLOWS, an amount of 0 or
 * beyond GESV_MAX_AMOUNT, flows that do not change sign exactly once from
 * payouts to payments, or a root above GESV_MAX_RATE. */
SENIM_MUST_CHECK enum senim_result gesv_solve(const struct gesv_flow *flows, size_t n,
					      struct gesv_result *out);

/* The sum Σ CF_k (1 + rate)^(−t_k/365) for rate > −1 (tests use it to show
 * the root is one).  Flows as for gesv_solve, unchecked. */
long double gesv_npv(const struct gesv_flow *flows, size_t n, long double rate);

#endif
