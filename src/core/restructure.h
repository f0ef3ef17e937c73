/*
 * restructure.h — a restructured microcredit as pure arithmetic: the new
 * schedule of the principal left and the loan's state under it, from the
 * state on the morning of the decision day and the borrower's proposal.
 * No I/O, no allocation; docs/lending-servicing.md ("Restructuring")
 * explains every choice.
 *
 * The proposal is one of:
 *   RESTRUCTURE_DEFERRAL  k months (1..RESTRUCTURE_MAX_DEFERRAL) without
 *                         instalments: a monthly loan keeps the number of
 *                         rows it had left (at least one) and its first new
 *                         instalment falls k + 1 months after the decision
 *                         day, with the k months' interest (30/360) added to
 *                         it; a single payment moves its due date k months
 *                         later (from the later of the old due date and the
 *                         decision day), interest actual/365 from the day;
 *   RESTRUCTURE_TERM      a longer term: the principal left repaid in N
 *                         monthly payments from the decision day, the last
 *                         due after the old last due date (monthly loans
 *                         only).
 *
 * Invariants of the result (restructure_apply):
 *   - the new rows' principal parts sum exactly to the principal left (the
 *     principal not yet due plus the due and unpaid principal), built by
 *     core/schedule with the loan's method and rate;
 *   - the interest due and unpaid and the interest accrued to the decision
 *     day (and any still carried from an earlier restructuring) are
 *     carried into the first new row's interest, never lost and never
 *     capitalised (they bear no interest); the state keeps the amount
 *     (carried_interest) until that row falls due, so an early repayment
 *     before then pays it (core/servicing);
 *   - the penalty charged stays due as it is (a payment takes it in the
 *     rules' order); no penalty is charged on it;
 *   - the delay ends: nothing is overdue, the bucket is none, the window
 *     and an unsent notice are cleared; schedule_version grows by one;
 *   - the state keeps servicing_check().
 */
#ifndef SENIM_RESTRUCTURE_H
#define SENIM_RESTRUCTURE_H

#include <stddef.h>
#include <stdint.h>

#include "common/result.h"
#include "core/gesv.h"
#include "core/loan_rules.h"
#include "core/schedule.h"
#include "core/servicing.h"

#define RESTRUCTURE_MAX_DEFERRAL 12 /* months */

enum restructure_kind {
	RESTRUCTURE_DEFERRAL,
	RESTRUCTURE_TERM,
};

struct restructure_proposal {
	enum restructure_kind kind;
	int32_t months;	  /* DEFERRAL: 1..RESTRUCTURE_MAX_DEFERRAL */
	int32_t payments; /* TERM: 1..SCHEDULE_MAX_PAYMENTS */
};

/* Why a proposal cannot be applied (RESTRUCTURE_OK when it can). */
enum restructure_refusal {
	RESTRUCTURE_OK,
	RESTRUCTURE_CLOSED,	  /* the loan is repaid */
	RESTRUCTURE_NOTHING_LEFT, /* no principal left to reschedule */
	RESTRUCTURE_BAD_PROPOSAL, /* months or payments out of range */
	RESTRUCTURE_NOT_LONGER,	  /* TERM: the new term ends no later */
	RESTRUCTURE_SINGLE_TERM,  /* TERM on a single-payment loan */
	RESTRUCTURE_BREAKS_RULE,  /* the new terms break a loan rule */
};

/* "deferral", "term"; and back (-1 when unknown). */
const char *restructure_kind_code(enum restructure_kind k);
int restructure_kind_parse(const char *s);

/* The result of a restructuring. */
struct restructure_result {
	enum restructure_refusal refused;
	struct loan_rule_refusal rule; /* with RESTRUCTURE_BREAKS_RULE */
	int64_t carried_interest;      /* into the first new row */
	int64_t gesv_bp;	       /* of the new terms */
	struct loan_state state;       /* the state under the new rows */
	size_t n;		       /* rows written to the caller's out[] */
};

/*
 * Restructure a loan on `day` (st->day + 1: the decision's day, not yet
 * closed): terms t, its current rows[0..n), the proposal p, f the rules in
 * force on `day`.  On success (SENIM_OK and r->refused == RESTRUCTURE_OK)
 * out[0..r->n) are the new rows (cap >= SCHEDULE_MAX_PAYMENTS is always
 * enough) and r->state the state to store with them; *st is untouched.
 * The new terms are checked like an offer (loan_rules_check_offer) with
 * the amount the principal left plus the carried interest and the ГЭСВ of
 * that amount against the new rows; a breach is RESTRUCTURE_BREAKS_RULE
 * naming the rule.  SENIM_ERR_INVALID: another day, rows not the state's;
 * SENIM_ERR_TOO_LARGE: cap too small.
 */
SENIM_MUST_CHECK enum senim_result
restructure_apply(const struct loan_state *st, const struct servicing_terms *t,
		  const struct schedule_row *rows, size_t n,
		  const struct restructure_proposal *p,
		  const struct loan_rules_in_force *f, int32_t day,
		  struct schedule_row *out, size_t cap, struct restructure_result *r);

#endif
