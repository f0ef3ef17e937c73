/*
 * servicing.c — a loan's day-by-day state (see servicing.h and
 * docs/lending-servicing.md).
 */
#include <string.h>

#include "core/servicing.h"

#include "common/banned.h"

/* principal (< 2^44) times a rate (< 2^17) times days (< 2^12) needs more
 * than 64 bits before the division, as in schedule.c. */
__extension__ typedef __int128 wide;

/* 20 int32_t and 17 int64_t: no padding for a byte comparison to trip on. */
_Static_assert(sizeof(struct loan_state) == 20 * 4 + 17 * 8, "loan_state has padding");

/* round_half_up(num / den), num >= 0, den > 0; the callers' ranges keep the
 * quotient far inside int64. */
static int64_t div_half_up(wide num, wide den)
{
	return (int64_t)((2 * num + den) / (2 * den));
}

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/*
 * The 30/360 months of the current monthly period [period_start,
 * period_end): its due date is a whole number of calendar months after its
 * start (core/schedule's months, clamped to the month's end, never move a
 * date out of its month), so the months are the difference of the two
 * dates' year-and-month.  One for every row of a schedule as built; k + 1
 * for the first row after a deferral of k months (core/restructure), whose
 * interest covers all of them.
 */
static int32_t period_months(const struct loan_state *st)
{
	int ys, ms, ds, ye, me, de;
	schedule_ymd(st->period_start, &ys, &ms, &ds);
	schedule_ymd(st->period_end, &ye, &me, &de);
	int32_t m = (ye - ys) * 12 + (me - ms);
	return m > 0 ? m : 1;
}

/*
 * The interest of B tiyn from `from` to `to` within the current period, by
 * the day count of docs/lending-math.md: a monthly period's 30/360 months
 * (period_months) spread over its actual days, so the whole period is
 * round_half_up(B·rate·months / 12); actual/365 for a single payment.
 */
static int64_t period_interest(const struct loan_state *st,
			       const struct servicing_terms *t, int64_t B, int32_t from,
			       int32_t to)
{
	wide num = (wide)B * t->rate_bp * (to - from);
	if (t->method == SCHEDULE_SINGLE)
		return div_half_up(num, (wide)10000 * 365);
	return div_half_up(num * period_months(st),
			   (wide)120000 * (st->period_end - st->period_start));
}

/*
 * The current period's interest from seg_start to the morning of day `to`
 * on the principal not yet due (period_interest).  At the period's end on
 * an unbroken period it is the schedule row's interest exactly (for a
 * deferred first row, the row's own interest within a tiyn: the row adds
 * the deferred months' interest, rounded on its own, to a month's).
 */
static int64_t accrued_to(const struct loan_state *st, const struct servicing_terms *t,
			  int32_t to)
{
	if (st->next_row >= st->rows || to <= st->seg_start)
		return 0;
	if (to > st->period_end)
		to = st->period_end;
	return period_interest(st, t, st->principal_not_due, st->seg_start, to);
}

enum loan_bucket servicing_bucket(int32_t days)
{
	if (days <= 0)
		return LOAN_BUCKET_NONE;
	if (days <= 30)
		return LOAN_BUCKET_1_30;
	if (days <= 60)
		return LOAN_BUCKET_31_60;
	if (days <= 90)
		return LOAN_BUCKET_61_90;
	return LOAN_BUCKET_OVER_90;
}

int servicing_check(const struct loan_state *st)
{
	if (st->principal < 0 || st->principal_not_due < 0 || st->due_principal < 0 ||
	    st->due_interest < 0 || st->due_penalty < 0 || st->interest_accrued < 0 ||
	    st->penalty_year < 0 || st->penalty_total < st->penalty_year ||
	    st->overpaid < 0 || st->carried_interest < 0)
		return 0;
	if (st->principal != st->principal_not_due + st->due_principal)
		return 0;
	if (st->next_row < 0 || st->next_row > st->rows || st->oldest_p > st->next_row ||
	    st->oldest_i > st->next_row)
		return 0;
	/* The carried interest is in the first row's interest: once that row
	 * fell due it is due interest, not carried. */
	if (st->carried_interest > 0 && st->next_row != 0)
		return 0;
	int zero = st->principal == 0 && st->due_interest == 0 && st->due_penalty == 0 &&
		   st->carried_interest == 0;
	if (zero != (st->status == LOAN_CLOSED))
		return 0;
	if ((st->status == LOAN_OVERDUE) != (st->due_principal + st->due_interest > 0 &&
					     st->overdue_since != SERVICING_NO_DAY))
		return 0;
	return 1;
}

enum senim_result servicing_open(const struct servicing_terms *t,
				 const struct schedule_row *rows, size_t n,
				 struct loan_state *st)
{
	if (n < 1 || n > SCHEDULE_MAX_PAYMENTS || t->principal < 1 ||
	    t->principal > SCHEDULE_MAX_PRINCIPAL || t->rate_bp < 0 ||
	    t->rate_bp > SCHEDULE_MAX_RATE_BP || t->penalty_daily_bp < 0 ||
	    t->penalty_annual_bp < 0 || (t->method == SCHEDULE_SINGLE && n != 1))
		return SENIM_ERR_INVALID;
	int64_t sum = 0;
	int32_t prev = t->start;
	for (size_t k = 0; k < n; k++) {
		if (rows[k].due <= prev || rows[k].principal < 0 || rows[k].interest < 0)
			return SENIM_ERR_INVALID;
		prev = rows[k].due;
		sum += rows[k].principal;
	}
	if (sum != t->principal)
		return SENIM_ERR_INVALID;
	memset(st, 0, sizeof(*st));
	st->day = t->start - 1;
	st->status = LOAN_OPEN;
	st->principal = st->principal_not_due = t->principal;
	st->overdue_since = st->notice_by = st->notice_sent = SERVICING_NO_DAY;
	st->delay_began = st->restructuring_until = SERVICING_NO_DAY;
	st->pen_year_end = schedule_add_months(t->start, 12);
	st->rows = (int32_t)n;
	st->period_start = st->seg_start = t->start;
	st->period_end = rows[0].due;
	return SENIM_OK;
}

/* The due date of the oldest row with an unpaid principal or interest part
 * (the caller knows one exists). */
static int32_t oldest_due(const struct loan_state *st, const struct schedule_row *rows)
{
	int32_t d = INT32_MAX;
	if (st->due_principal > 0)
		d = rows[st->oldest_p].due;
	if (st->due_interest > 0 && rows[st->oldest_i].due < d)
		d = rows[st->oldest_i].due;
	return d;
}

/* A day of penalty on `owed`, within what the contract year has left of its
 * cap; the year rolls on the payout's anniversaries.  `day` is the day the
 * penalty is for. */
static int64_t day_penalty(struct loan_state *st, const struct servicing_terms *t,
			   const struct loan_rules_in_force *f, int32_t day, int64_t owed,
			   int *events)
{
	while (day >= st->pen_year_end) {
		st->pen_year++;
		st->penalty_year = 0;
		st->pen_year_end = schedule_add_months(t->start, 12 * (st->pen_year + 1));
	}
	/* The contract's rates, never above the rules in force that day; past
	 * the rules' first days of this delay, never above their second tier. */
	int64_t daily = min64(t->penalty_daily_bp, f->penalty_daily_bp);
	if (f->penalty_after_days > 0 && st->delay_began != SERVICING_NO_DAY &&
	    (int64_t)day - st->delay_began + 1 > f->penalty_after_days)
		daily = min64(daily, f->penalty_daily_after_bp);
	int64_t annual = min64(t->penalty_annual_bp, f->penalty_annual_bp);
	int64_t p = div_half_up((wide)owed * daily, 10000);
	int64_t cap = (int64_t)((wide)t->principal * annual / 10000);
	int64_t room = cap - st->penalty_year;
	if (room < 0)
		room = 0;
	if (p >= room && room > 0)
		*events |= SERVICING_EV_PENALTY_CAPPED; /* reached today */
	return min64(p, room);
}

enum senim_result servicing_day(struct loan_state *st, const struct servicing_terms *t,
				const struct schedule_row *rows, size_t n,
				const struct loan_rules_in_force *f, int32_t day,
				int *events)
{
	int ev = 0;
	if (day != st->day + 1 || n != (size_t)st->rows)
		return SENIM_ERR_INVALID;
	if (st->status == LOAN_CLOSED) {
		st->day = day;
		if (st->bucket != LOAN_BUCKET_NONE) {
			st->bucket = LOAN_BUCKET_NONE; /* closed by a late payment */
			ev |= SERVICING_EV_BUCKET_CHANGED;
		}
		goto done;
	}
	/* The morning of day+1: interest for `day`, then the delay. */
	st->interest_accrued = accrued_to(st, t, day + 1);
	int64_t owed = st->due_principal + st->due_interest;
	if (owed > 0) {
		int32_t oldest = oldest_due(st, rows);
		if (st->status != LOAN_OVERDUE) {
			st->status = LOAN_OVERDUE;
			st->delay_began = day + 1;
			/* The notice and the window count from the delay's
			 * first day, that day included (docs/lending-servicing.md). */
			st->notice_by = day + (int32_t)f->notice_days;
			st->notice_sent = SERVICING_NO_DAY;
			st->restructuring_until = day + (int32_t)f->restructuring_days;
			ev |= SERVICING_EV_BECAME_OVERDUE | SERVICING_EV_NOTICE_DUE;
		}
		st->overdue_since = oldest + 1;
		st->overdue_days = day + 1 - oldest;
		int64_t p = day_penalty(st, t, f, day + 1, owed, &ev);
		st->due_penalty += p;
		st->penalty_total += p;
		st->penalty_year += p;
	} else {
		st->overdue_days = 0;
		st->overdue_since = SERVICING_NO_DAY;
	}
	int32_t b = servicing_bucket(st->overdue_days);
	if (b != st->bucket) {
		st->bucket = b;
		ev |= SERVICING_EV_BUCKET_CHANGED;
	}
	/* A row due tomorrow falls due now, to be "current" all its day. */
	if (st->next_row < st->rows && rows[st->next_row].due == day + 1) {
		const struct schedule_row *r = &rows[st->next_row];
		st->due_principal += r->principal;
		st->principal_not_due -= r->principal;
		st->due_interest += r->interest;
		st->carried_interest = 0; /* in r->interest, due now */
		st->next_row++;
		st->interest_accrued = 0;
		st->period_start = st->seg_start = r->due;
		st->period_end =
			st->next_row < st->rows ? rows[st->next_row].due : r->due;
		ev |= SERVICING_EV_INSTALMENT_DUE;
	}
	st->day = day;
done:
	if (events)
		*events = ev;
	return SENIM_OK;
}

/* Move the first-in first-out pointers past the rows now paid in full. */
static void advance_fifo(struct loan_state *s, const struct schedule_row *rows)
{
	while (s->oldest_p < s->next_row &&
	       s->fifo_p >= s->before_p + rows[s->oldest_p].principal)
		s->before_p += rows[s->oldest_p++].principal;
	while (s->oldest_i < s->next_row &&
	       s->fifo_i >= s->before_i + rows[s->oldest_i].interest)
		s->before_i += rows[s->oldest_i++].interest;
}

/*
 * The rows not yet due rebuilt for the principal left after an early
 * repayment on `day`: same due dates, same method, the term kept, the
 * instalment lowered.  The first row's interest runs from `day` (the
 * interest before it was just paid) to its due date, by the rule of the
 * interest to the day over the row's real period (period_interest: a
 * deferred first row's months, not one); the last row takes the remaining
 * balance, so the parts sum to exactly s->principal_not_due.
 */
static enum senim_result reschedule(const struct loan_state *s,
				    const struct servicing_terms *t,
				    const struct schedule_row *rows, int32_t day,
				    struct schedule_row *out, size_t m)
{
	int64_t bal = s->principal_not_due;
	int64_t level = 0;
	if (t->method == SCHEDULE_ANNUITY) {
		enum senim_result err =
			schedule_annuity_payment(bal, t->rate_bp, (int32_t)m, &level);
		if (err)
			return err;
	} else if (t->method == SCHEDULE_DIFFERENTIATED) {
		level = div_half_up(bal, (wide)m);
	}
	for (size_t k = 0; k < m; k++) {
		const struct schedule_row *old = &rows[(size_t)s->next_row + k];
		int64_t interest;
		if (t->method == SCHEDULE_SINGLE || k == 0)
			interest = period_interest(s, t, bal, day, old->due);
		else
			interest = div_half_up((wide)bal * t->rate_bp, 120000);
		int64_t part;
		if (k == m - 1 || t->method == SCHEDULE_SINGLE)
			part = bal;
		else if (t->method == SCHEDULE_ANNUITY)
			part = level - interest;
		else
			part = level;
		if (part < 0)
			part = 0;
		if (part > bal)
			part = bal;
		bal -= part;
		out[k].due = old->due;
		out[k].principal = part;
		out[k].interest = interest;
		out[k].total = part + interest;
		out[k].balance = bal;
	}
	return SENIM_OK;
}

/* Take up to *rem from *debt; returns what was taken. */
static int64_t take(int64_t *rem, int64_t *debt)
{
	int64_t x = min64(*rem, *debt);
	*rem -= x;
	*debt -= x;
	return x;
}

enum senim_result servicing_pay(struct loan_state *st, const struct servicing_terms *t,
				const struct schedule_row *rows, size_t n,
				const struct loan_rules_in_force *f, int32_t day,
				int64_t amount, enum servicing_pay_kind kind,
				struct servicing_split *split,
				struct schedule_row *new_rows, size_t new_cap,
				size_t *new_n)
{
	if (new_n)
		*new_n = 0;
	if (day != st->day + 1 || n != (size_t)st->rows || amount <= 0 ||
	    amount > SERVICING_MAX_PAYMENT || st->status == LOAN_CLOSED ||
	    !f->has_allocation)
		return SENIM_ERR_INVALID;
	/* Work on a copy: the state changes only when the whole payment went. */
	struct loan_state s = *st;
	struct servicing_split sp;
	memset(&sp, 0, sizeof(sp));
	int64_t rem = amount;

	/* The current row is the one due today; first-in first-out leaves the
	 * unpaid part of each kind on the newest rows, so its unpaid part is
	 * the smaller of its own amount and the whole due amount. */
	int64_t cur_p = 0, cur_i = 0;
	if (s.next_row > 0 && rows[s.next_row - 1].due == day) {
		cur_p = min64(s.due_principal, rows[s.next_row - 1].principal);
		cur_i = min64(s.due_interest, rows[s.next_row - 1].interest);
	}
	int64_t over_p = s.due_principal - cur_p, over_i = s.due_interest - cur_i;
	const uint8_t *order = s.overdue_days > f->allocation_after_days
				       ? f->allocation_order_after
				       : f->allocation_order;
	for (int k = 0; k < LOAN_ALLOC_COMPONENTS; k++) {
		int64_t x;
		switch ((enum loan_alloc_component)order[k]) {
		case LOAN_ALLOC_PRINCIPAL_OVERDUE:
			x = take(&rem, &over_p);
			sp.principal_overdue = x;
			s.fifo_p += x;
			break;
		case LOAN_ALLOC_INTEREST_OVERDUE:
			x = take(&rem, &over_i);
			sp.interest_overdue = x;
			s.fifo_i += x;
			break;
		case LOAN_ALLOC_PENALTY:
			sp.penalty = take(&rem, &s.due_penalty);
			break;
		case LOAN_ALLOC_PRINCIPAL_CURRENT:
			x = take(&rem, &cur_p);
			sp.principal_current = x;
			s.fifo_p += x;
			break;
		case LOAN_ALLOC_INTEREST_CURRENT:
			x = take(&rem, &cur_i);
			sp.interest_current = x;
			s.fifo_i += x;
			break;
		}
	}
	int64_t paid_p = sp.principal_overdue + sp.principal_current;
	int64_t paid_i = sp.interest_overdue + sp.interest_current;
	s.due_principal -= paid_p;
	s.principal -= paid_p;
	s.due_interest -= paid_i;
	s.paid_principal += paid_p;
	s.paid_interest += paid_i;
	s.paid_penalty += sp.penalty;
	advance_fifo(&s, rows);

	/* Early repayment: only once every due amount is paid (rem > 0 means
	 * the loop took each in full), and only with the interest to the day
	 * paid in full first, so the rebuilt rows start from a clean period.
	 * The interest to the day includes what a restructuring carried into
	 * the first row not yet due: interest, so before principal, and it
	 * would otherwise be lost to the rebuilt rows or the payoff. */
	if (kind == SERVICING_PAY_EARLY && rem > 0 && s.principal_not_due > 0) {
		int64_t itd = s.carried_interest + accrued_to(&s, t, day);
		if (rem >= itd) {
			rem -= itd;
			sp.interest_to_date = itd;
			s.paid_interest += itd;
			s.carried_interest = 0;
			int64_t pe = min64(rem, s.principal_not_due);
			rem -= pe;
			sp.principal_early = pe;
			s.principal_not_due -= pe;
			s.principal -= pe;
			s.paid_principal += pe;
			s.interest_accrued = 0;
			s.seg_start = day;
			if (s.principal_not_due > 0) {
				size_t m = (size_t)(s.rows - s.next_row);
				if (!new_rows || new_cap < m)
					return SENIM_ERR_TOO_LARGE;
				enum senim_result err =
					reschedule(&s, t, rows, day, new_rows, m);
				if (err)
					return err;
				s.rows = (int32_t)m;
				s.next_row = s.oldest_p = s.oldest_i = 0;
				s.before_p = s.before_i = s.fifo_p = s.fifo_i = 0;
				s.schedule_version++;
				*new_n = m;
				sp.events |= SERVICING_EV_RESCHEDULED;
			} else {
				s.next_row = s.rows; /* nothing more falls due */
			}
		}
	}
	sp.overpayment = rem;
	s.overpaid += rem;

	/* What fell due before today is paid: the delay is over, even if
	 * today's row is still open. */
	if (s.status == LOAN_OVERDUE && over_p == 0 && over_i == 0) {
		s.status = LOAN_OPEN;
		s.overdue_since = SERVICING_NO_DAY;
		s.overdue_days = 0;
		s.delay_began = s.restructuring_until = SERVICING_NO_DAY;
		if (s.notice_sent == SERVICING_NO_DAY)
			s.notice_by = SERVICING_NO_DAY; /* no longer owed */
		sp.events |= SERVICING_EV_CURED;
	}
	if (s.principal == 0 && s.due_interest == 0 && s.due_penalty == 0) {
		s.status = LOAN_CLOSED;
		s.interest_accrued = 0;
		s.next_row = s.rows;
		sp.events |= SERVICING_EV_CLOSED;
	}
	*st = s;
	*split = sp;
	return SENIM_OK;
}

int64_t servicing_payoff(const struct loan_state *st, const struct servicing_terms *t,
			 int32_t day)
{
	if (st->status == LOAN_CLOSED)
		return 0;
	return st->due_principal + st->due_interest + st->due_penalty +
	       st->carried_interest + st->principal_not_due + accrued_to(st, t, day);
}

int servicing_notice_sent(struct loan_state *st, int32_t day)
{
	if (st->notice_by == SERVICING_NO_DAY || st->notice_sent != SERVICING_NO_DAY)
		return 0;
	st->notice_sent = day;
	return day <= st->notice_by;
}

int servicing_restructuring_open(const struct loan_state *st, int32_t day)
{
	return st->status == LOAN_OVERDUE && st->delay_began != SERVICING_NO_DAY &&
	       day >= st->delay_began && day <= st->restructuring_until;
}
