/*
 * restructure.c — the new schedule and state of a restructured loan (see
 * restructure.h and docs/lending-servicing.md).
 */
#include <string.h>

#include "core/restructure.h"

#include "common/banned.h"

/* principal (< 2^44) times a rate (< 2^17) times months needs more than
 * 64 bits before the division. */
__extension__ typedef __int128 wide;

static int64_t div_half_up(wide num, wide den)
{
	return (int64_t)((2 * num + den) / (2 * den));
}

static const char *const kind_codes[] = {
	[RESTRUCTURE_DEFERRAL] = "deferral",
	[RESTRUCTURE_TERM] = "term",
};

const char *restructure_kind_code(enum restructure_kind k)
{
	return (unsigned)k <= RESTRUCTURE_TERM ? kind_codes[k] : NULL;
}

int restructure_kind_parse(const char *s)
{
	for (int k = RESTRUCTURE_DEFERRAL; s && k <= RESTRUCTURE_TERM; k++)
		if (strcmp(s, kind_codes[k]) == 0)
			return k;
	return -1;
}

/* The schedule terms of proposal p for principal P on `day`, and the
 * interest of a deferral's months (*extra); RESTRUCTURE_OK or why not. */
static enum restructure_refusal
new_terms(const struct loan_state *st, const struct servicing_terms *t,
	  const struct schedule_row *rows, size_t n, const struct restructure_proposal *p,
	  int32_t day, int64_t P, struct schedule_terms *s, int64_t *extra)
{
	memset(s, 0, sizeof(*s));
	s->principal = P;
	s->rate_bp = t->rate_bp;
	s->method = t->method;
	s->start = day;
	*extra = 0;
	if (p->kind == RESTRUCTURE_DEFERRAL) {
		if (p->months < 1 || p->months > RESTRUCTURE_MAX_DEFERRAL)
			return RESTRUCTURE_BAD_PROPOSAL;
		if (t->method == SCHEDULE_SINGLE) {
			/* The due date moves k months, from the day when it is
			 * already past: a deferral never shortens. */
			int32_t from = rows[n - 1].due > day ? rows[n - 1].due : day;
			int32_t due = schedule_add_months(from, p->months);
			s->days = due - day;
			return s->days <= SCHEDULE_MAX_DAYS ? RESTRUCTURE_OK
							    : RESTRUCTURE_BAD_PROPOSAL;
		}
		int32_t left = st->rows - st->next_row;
		s->payments = left > 0 ? left : 1;
		s->start = schedule_add_months(day, p->months);
		/* The months without instalments bear interest (30/360), paid
		 * with the first instalment: a deferral is not a gift. */
		*extra = div_half_up((wide)P * t->rate_bp * p->months, 120000);
		return RESTRUCTURE_OK;
	}
	if (p->kind != RESTRUCTURE_TERM)
		return RESTRUCTURE_BAD_PROPOSAL;
	if (t->method == SCHEDULE_SINGLE)
		return RESTRUCTURE_SINGLE_TERM;
	if (p->payments < 1 || p->payments > SCHEDULE_MAX_PAYMENTS)
		return RESTRUCTURE_BAD_PROPOSAL;
	s->payments = p->payments;
	return RESTRUCTURE_OK;
}

enum senim_result restructure_apply(const struct loan_state *st,
				    const struct servicing_terms *t,
				    const struct schedule_row *rows, size_t n,
				    const struct restructure_proposal *p,
				    const struct loan_rules_in_force *f, int32_t day,
				    struct schedule_row *out, size_t cap,
				    struct restructure_result *r)
{
	memset(r, 0, sizeof(*r));
	if (day != st->day + 1 || n < 1 || n != (size_t)st->rows)
		return SENIM_ERR_INVALID;
	if (st->status == LOAN_CLOSED) {
		r->refused = RESTRUCTURE_CLOSED;
		return SENIM_OK;
	}
	if (st->principal <= 0) {
		r->refused = RESTRUCTURE_NOTHING_LEFT;
		return SENIM_OK;
	}
	int64_t P = st->principal;
	struct schedule_terms s;
	int64_t extra = 0;
	r->refused = new_terms(st, t, rows, n, p, day, P, &s, &extra);
	if (r->refused)
		return SENIM_OK;
	size_t m = 0;
	enum senim_result err = schedule_build(&s, out, cap, &m);
	if (err == SENIM_ERR_INVALID) {
		r->refused = RESTRUCTURE_BAD_PROPOSAL;
		return SENIM_OK;
	}
	if (err)
		return err;
	if (p->kind == RESTRUCTURE_TERM && out[m - 1].due <= rows[n - 1].due) {
		r->refused = RESTRUCTURE_NOT_LONGER;
		return SENIM_OK;
	}
	/* What interest is owed already is carried, not capitalised: it is
	 * paid with the first new instalment and bears nothing meanwhile. */
	r->carried_interest =
		st->due_interest + st->interest_accrued + st->carried_interest;
	out[0].interest += r->carried_interest + extra;
	out[0].total += r->carried_interest + extra;

	/* The new terms are an offer like any other: the amount financed is
	 * the principal left and the carried interest, repaid by the rows. */
	struct gesv_flow flows[SCHEDULE_MAX_PAYMENTS + 1];
	flows[0] = (struct gesv_flow){ .day = day, .amount = -(P + r->carried_interest) };
	for (size_t k = 0; k < m; k++)
		flows[k + 1] =
			(struct gesv_flow){ .day = out[k].due, .amount = out[k].total };
	struct gesv_result g;
	err = gesv_solve(flows, m + 1, &g);
	if (err)
		return err;
	r->gesv_bp = g.bp;
	struct loan_offer o = { .amount_tiyn = P + r->carried_interest,
				.term_days = out[m - 1].due - day,
				.annual_rate_bp = t->rate_bp,
				.effective_rate_bp = g.bp,
				.penalty_daily_bp = t->penalty_daily_bp,
				.penalty_annual_bp = t->penalty_annual_bp };
	if (loan_rules_check_offer(f, &o, &r->rule) != LOAN_BREACH_NONE) {
		r->refused = RESTRUCTURE_BREAKS_RULE;
		return SENIM_OK;
	}

	struct loan_state *ns = &r->state;
	*ns = *st;
	ns->principal = ns->principal_not_due = P;
	ns->due_principal = ns->due_interest = 0;
	ns->interest_accrued = 0;
	/* Kept as state, so an early repayment before the first new row
	 * falls due pays it (servicing_pay, servicing_payoff). */
	ns->carried_interest = r->carried_interest;
	ns->status = LOAN_OPEN;
	ns->overdue_since = SERVICING_NO_DAY;
	ns->overdue_days = 0;
	ns->bucket = LOAN_BUCKET_NONE;
	ns->delay_began = ns->restructuring_until = SERVICING_NO_DAY;
	if (ns->notice_sent == SERVICING_NO_DAY)
		ns->notice_by = SERVICING_NO_DAY; /* the delay it was for is over */
	ns->rows = (int32_t)m;
	ns->next_row = ns->oldest_p = ns->oldest_i = 0;
	ns->before_p = ns->before_i = ns->fifo_p = ns->fifo_i = 0;
	ns->period_start = ns->seg_start = day;
	ns->period_end = out[0].due;
	ns->schedule_version++;
	r->n = m;
	return servicing_check(ns) ? SENIM_OK : SENIM_ERR_INVALID;
}
