/*
 * test_servicing.c — a loan's day-by-day state (core/servicing.h) pinned to
 * tests/unit/data/lending/servicing_expected.py, which computes the same
 * scenarios with exact fractions and a different bookkeeping (a list of
 * instalments, not first-in first-out counters): on-time repayment to
 * closing, a late instalment through every bucket and the penalty cap,
 * partial payments in the allocation order, an overpayment, early full and
 * partial repayment with the rebuilt rows, a single payment, the cap in a
 * second contract year, and restructured loans (core/restructure) whose
 * carried interest an early repayment pays, full or partial, or the first
 * new row takes when it falls due, and whose deferred first period's
 * interest to the day is its k + 1 months' share.  Besides: the day step is a pure function of the
 * stored state, and the notice, restructuring and allocation rules.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include <stdio.h>

#include "core/loan_rules.h"
#include "core/restructure.h"
#include "core/schedule.h"
#include "core/servicing.h"
#include "common/banned.h"

#define N(a) (sizeof(a) / sizeof(a[0]))

struct sv_case {
	const char *name;
	enum schedule_method method;
	int64_t principal;
	int32_t rate_bp;
	int32_t n; /* payments, or days of a single payment */
	int32_t start;
};

struct sv_split {
	int64_t po, io, pen, pc, ic, itd, pe, over;
	int events;
};

struct sv_pay {
	const char *name;
	int32_t day;
	int64_t amount;
	int early;
	struct sv_split split;
	size_t new_n;
};

/* status, principal, not due, due principal, due interest, due penalty,
 * accrued, overdue days, bucket, penalty total, paid principal, interest,
 * penalty, overpaid, notice_by, carried interest */
#define SV_VALUES 16
struct sv_check {
	const char *name;
	int32_t day;
	int events;
	int64_t v[SV_VALUES];
};

struct sv_new_row {
	const char *name;
	size_t k;
	int32_t due;
	int64_t principal, interest;
};

/* A restructuring on the morning of `day` (before its payments); its new
 * rows are in sv_new_rows under "<name>/r". */
struct sv_restructure {
	const char *name;
	int32_t day;
	enum restructure_kind kind;
	int32_t k; /* months or payments */
	int64_t carried;
	size_t n;
};

#include "data/lending/servicing_cases.inc"

#define RULES_HEAD                                                          \
	"[rule gesv_cap]\nfrom = 2024-01-01\nsource = A\nbp = 4600\n"       \
	"[rule short_loan]\nfrom = 2024-01-01\nsource = B\nmax_days = 45\n" \
	"max_mrp = 45\ndaily_cap_bp = 30\nannual_cap_bp = 17900\n"          \
	"[rule max_amount]\nfrom = 2024-01-01\nsource = C\nmrp = 20000\n"   \
	"[rule mrp]\nfrom = 2024-01-01\nsource = D\ntiyn = 369200\n"        \
	"[rule cooloff]\nfrom = 2024-01-01\nsource = E\nabove_mrp = 75\n"   \
	"hold_minutes = 1440\n"                                             \
	"[rule penalty]\nfrom = 2024-01-01\nsource = F\ndaily_bp = 50\n"    \
	"annual_bp = 1000\n"                                                \
	"[rule notice]\nfrom = 2024-01-01\nsource = G\ndays = 10\n"         \
	"[rule restructuring]\nfrom = 2024-01-01\nsource = H\ndays = 30\n"  \
	"[rule self_exclusion]\nfrom = 2024-01-01\nsource = I\ncheck = yes\n"
#define RULES_ALLOC                                                                 \
	"[rule allocation]\nfrom = 2024-01-01\nsource = K\n"                        \
	"order = principal_overdue, interest_overdue, penalty, principal_current, " \
	"interest_current\nafter_days = 90\n"                                       \
	"order_after = principal_overdue, interest_overdue, principal_current, "    \
	"interest_current, penalty\n"

static struct loan_rules *rules;
static struct loan_rules_in_force in_force;

static int setup(void **state)
{
	(void)state;
	static const char text[] = RULES_HEAD RULES_ALLOC;
	char err[256];
	if (loan_rules_parse("r.conf", text, strlen(text), &rules, err, sizeof(err)) ||
	    loan_rules_in_force(rules, "2026-01-01", &in_force, err, sizeof(err)))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	loan_rules_free(rules);
	return 0;
}

/* A loan under way: its terms, its current rows and its state. */
struct loan {
	struct servicing_terms t;
	struct schedule_row rows[SCHEDULE_MAX_PAYMENTS];
	size_t n;
	struct loan_state st;
};

static void open_loan(struct loan *l, const struct sv_case *c)
{
	memset(l, 0, sizeof(*l));
	struct schedule_terms st = { .principal = c->principal,
				     .rate_bp = c->rate_bp,
				     .method = c->method,
				     .payments = c->method == SCHEDULE_SINGLE ? 0 : c->n,
				     .days = c->method == SCHEDULE_SINGLE ? c->n : 0,
				     .start = c->start };
	assert_int_equal(schedule_build(&st, l->rows, N(l->rows), &l->n), SENIM_OK);
	l->t = (struct servicing_terms){ .principal = c->principal,
					 .rate_bp = c->rate_bp,
					 .method = c->method,
					 .start = c->start,
					 .penalty_daily_bp = 50,
					 .penalty_annual_bp = 1000 };
	assert_int_equal(servicing_open(&l->t, l->rows, l->n, &l->st), SENIM_OK);
	assert_true(servicing_check(&l->st));
}

static void state_values(const struct loan_state *s, int64_t v[SV_VALUES])
{
	const int64_t got[SV_VALUES] = {
		s->status,	     s->principal,	s->principal_not_due,
		s->due_principal,    s->due_interest,	s->due_penalty,
		s->interest_accrued, s->overdue_days,	s->bucket,
		s->penalty_total,    s->paid_principal, s->paid_interest,
		s->paid_penalty,     s->overpaid,	s->notice_by,
		s->carried_interest
	};
	memcpy(v, got, sizeof(got));
}

static void pay(struct loan *l, const struct sv_pay *p,
		const struct loan_rules_in_force *f)
{
	struct servicing_split sp;
	struct schedule_row new_rows[SCHEDULE_MAX_PAYMENTS];
	size_t new_n = 0;
	assert_int_equal(servicing_pay(&l->st, &l->t, l->rows, l->n, f, p->day, p->amount,
				       p->early ? SERVICING_PAY_EARLY : SERVICING_PAY_DUE,
				       &sp, new_rows, N(new_rows), &new_n),
			 SENIM_OK);
	const int64_t got[] = {
		sp.principal_overdue, sp.interest_overdue, sp.penalty,
		sp.principal_current, sp.interest_current, sp.interest_to_date,
		sp.principal_early,   sp.overpayment,	   sp.events
	};
	const int64_t want[] = { p->split.po, p->split.io,   p->split.pen,
				 p->split.pc, p->split.ic,   p->split.itd,
				 p->split.pe, p->split.over, p->split.events };
	for (size_t i = 0; i < N(got); i++)
		if (got[i] != want[i])
			fail_msg("%s pay on %d: split[%zu] %lld, want %lld", p->name,
				 p->day, i, (long long)got[i], (long long)want[i]);
	int64_t sum = 0;
	for (size_t i = 0; i < N(got) - 1; i++)
		sum += got[i];
	assert_int_equal(sum, p->amount); /* nothing swallowed */
	assert_int_equal(new_n, p->new_n);
	if (new_n) {
		int64_t parts = 0;
		for (size_t k = 0; k < new_n; k++) {
			parts += new_rows[k].principal;
			for (size_t j = 0; j < N(sv_new_rows); j++) {
				const struct sv_new_row *w = &sv_new_rows[j];
				if (strcmp(w->name, p->name) || w->k != k)
					continue;
				assert_int_equal(new_rows[k].due, w->due);
				assert_int_equal(new_rows[k].principal, w->principal);
				assert_int_equal(new_rows[k].interest, w->interest);
			}
		}
		/* the rebuilt rows repay exactly the principal left */
		assert_int_equal(parts, l->st.principal_not_due);
		memcpy(l->rows, new_rows, new_n * sizeof(new_rows[0]));
		l->n = new_n;
	}
	assert_true(servicing_check(&l->st));
}

/* The scenario's restructuring on day d, if any, as the generator made it:
 * the carried interest and the new rows pinned. */
static void restructure_on(struct loan *l, const char *name, int32_t d,
			   const struct loan_rules_in_force *f)
{
	for (size_t i = 0; i < N(sv_restructures); i++) {
		const struct sv_restructure *w = &sv_restructures[i];
		if (strcmp(w->name, name) || w->day != d)
			continue;
		struct restructure_proposal p = { .kind = w->kind };
		if (w->kind == RESTRUCTURE_DEFERRAL)
			p.months = w->k;
		else
			p.payments = w->k;
		struct schedule_row out[SCHEDULE_MAX_PAYMENTS];
		struct restructure_result r;
		assert_int_equal(restructure_apply(&l->st, &l->t, l->rows, l->n, &p, f, d,
						   out, N(out), &r),
				 SENIM_OK);
		assert_int_equal(r.refused, RESTRUCTURE_OK);
		assert_int_equal(r.carried_interest, w->carried);
		assert_int_equal(r.n, w->n);
		char rname[64];
		snprintf(rname, sizeof(rname), "%s/r", name);
		size_t seen = 0;
		for (size_t j = 0; j < N(sv_new_rows); j++) {
			const struct sv_new_row *x = &sv_new_rows[j];
			if (strcmp(x->name, rname))
				continue;
			assert_true(x->k < r.n);
			assert_int_equal(out[x->k].due, x->due);
			assert_int_equal(out[x->k].principal, x->principal);
			assert_int_equal(out[x->k].interest, x->interest);
			seen++;
		}
		assert_int_equal(seen, r.n);
		memcpy(l->rows, out, r.n * sizeof(out[0]));
		l->n = r.n;
		l->st = r.state;
		assert_int_equal(l->st.carried_interest, w->carried);
	}
}

/* Run one scenario day by day, paying and checking as the generator did;
 * with `f` other than the test rules, returns 1 at the first difference
 * instead of failing (to see a rule's removal turn the pins red). */
static int run_case(const struct sv_case *c, const struct loan_rules_in_force *f,
		    int soft)
{
	struct loan l;
	open_loan(&l, c);
	int32_t last = 0;
	for (size_t i = 0; i < N(sv_checks); i++)
		if (!strcmp(sv_checks[i].name, c->name) && sv_checks[i].day > last)
			last = sv_checks[i].day;
	size_t pi = 0, ci = 0;
	for (int32_t d = c->start; d <= last; d++) {
		restructure_on(&l, c->name, d, f);
		for (; pi < N(sv_pays); pi++) {
			if (strcmp(sv_pays[pi].name, c->name) || sv_pays[pi].day < d)
				continue;
			if (sv_pays[pi].day > d)
				break;
			if (soft) {
				struct servicing_split sp;
				struct schedule_row nr[SCHEDULE_MAX_PAYMENTS];
				size_t nn;
				if (servicing_pay(&l.st, &l.t, l.rows, l.n, f, d,
						  sv_pays[pi].amount,
						  sv_pays[pi].early ? SERVICING_PAY_EARLY
								    : SERVICING_PAY_DUE,
						  &sp, nr, N(nr), &nn))
					return 1;
				if (sp.penalty != sv_pays[pi].split.pen ||
				    sp.principal_overdue != sv_pays[pi].split.po ||
				    sp.overpayment != sv_pays[pi].split.over)
					return 1;
				if (nn) {
					memcpy(l.rows, nr, nn * sizeof(nr[0]));
					l.n = nn;
				}
			} else {
				pay(&l, &sv_pays[pi], f);
			}
		}
		int ev = -1;
		assert_int_equal(servicing_day(&l.st, &l.t, l.rows, l.n, f, d, &ev),
				 SENIM_OK);
		assert_true(servicing_check(&l.st));
		for (; ci < N(sv_checks); ci++) {
			const struct sv_check *w = &sv_checks[ci];
			if (strcmp(w->name, c->name) || w->day < d)
				continue;
			if (w->day > d) {
				if (!soft && ev != 0)
					fail_msg("%s day %d: events %d not expected",
						 c->name, d, ev);
				break;
			}
			int64_t got[SV_VALUES];
			state_values(&l.st, got);
			if (soft && (memcmp(got, w->v, sizeof(got)) || ev != w->events))
				return 1;
			if (ev != w->events)
				fail_msg("%s day %d: events %d, want %d", c->name, d, ev,
					 w->events);
			for (int k = 0; k < SV_VALUES; k++)
				if (got[k] != w->v[k])
					fail_msg("%s day %d: value %d is %lld, want %lld",
						 c->name, d, k, (long long)got[k],
						 (long long)w->v[k]);
			ci++;
			break;
		}
	}
	return 0;
}

static void test_scenarios(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(sv_cases); i++)
		run_case(&sv_cases[i], &in_force, 0);
}

static const struct sv_case *find_case(const char *name)
{
	for (size_t i = 0; i < N(sv_cases); i++)
		if (!strcmp(sv_cases[i].name, name))
			return &sv_cases[i];
	fail_msg("no case %s", name);
	return NULL;
}

/* Each rule matters: with its values changed the pinned scenario differs. */
static void test_rules_matter(void **state)
{
	(void)state;
	struct loan_rules_in_force f = in_force;
	f.penalty_daily_bp = 40; /* below the contract's 50: the rules win */
	assert_int_equal(run_case(find_case("late"), &f, 1), 1);
	f = in_force;
	f.penalty_annual_bp = 2000; /* above the contract's: the contract's cap */
	assert_int_equal(run_case(find_case("late"), &f, 0), 0);
	f.penalty_annual_bp = 500;
	assert_int_equal(run_case(find_case("late"), &f, 1), 1);
	f = in_force;
	f.notice_days = 11;
	assert_int_equal(run_case(find_case("late"), &f, 1), 1);
	f = in_force; /* the early order beyond 90 days: penalty before principal */
	memcpy(f.allocation_order_after, f.allocation_order, LOAN_ALLOC_COMPONENTS);
	assert_int_equal(run_case(find_case("year_roll"), &f, 1), 1);
	f = in_force; /* penalty first: the partial payment goes elsewhere */
	static const uint8_t pen_first[] = { LOAN_ALLOC_PENALTY,
					     LOAN_ALLOC_PRINCIPAL_OVERDUE,
					     LOAN_ALLOC_INTEREST_OVERDUE,
					     LOAN_ALLOC_PRINCIPAL_CURRENT,
					     LOAN_ALLOC_INTEREST_CURRENT };
	memcpy(f.allocation_order, pen_first, sizeof(pen_first));
	assert_int_equal(run_case(find_case("partial"), &f, 1), 1);
	f = in_force;
	f.has_allocation = 0; /* no allocation rule: no payment */
	assert_int_equal(run_case(find_case("on_time"), &f, 1), 1);
}

/* Law 56-V Art. 6(3): past 90 days of a delay the daily penalty falls (to
 * 0.03%).  The rules' second tier: the first 90 days of the delay are
 * charged as without it, every later day at most the lower rate. */
static void test_penalty_second_tier(void **state)
{
	(void)state;
	struct loan_rules_in_force tier = in_force;
	tier.penalty_after_days = 90;
	tier.penalty_daily_after_bp = 3;
	struct loan a, b;
	open_loan(&a, find_case("late"));
	open_loan(&b, find_case("late"));
	int tiered_days = 0;
	for (int32_t d = a.t.start; d < a.t.start + 400; d++) {
		int64_t owed = b.st.due_principal + b.st.due_interest;
		int64_t before = b.st.penalty_total;
		int overdue = b.st.status == LOAN_OVERDUE;
		int32_t delay_day = overdue ? d + 1 - b.st.delay_began + 1 : 0;
		assert_int_equal(
			servicing_day(&a.st, &a.t, a.rows, a.n, &in_force, d, NULL),
			SENIM_OK);
		assert_int_equal(servicing_day(&b.st, &b.t, b.rows, b.n, &tier, d, NULL),
				 SENIM_OK);
		if (!overdue || delay_day <= 90) {
			assert_memory_equal(&a.st, &b.st, sizeof(a.st));
			continue;
		}
		int64_t charged = b.st.penalty_total - before;
		assert_true(charged <= (owed * 3 + 5000) / 10000);
		tiered_days += charged > 0;
	}
	assert_true(tiered_days > 0);
	assert_true(b.st.penalty_total < a.st.penalty_total);
}

/* The day step is a pure function of the stored state: a copy saved after
 * any day and run again gives the same state as the original, byte for
 * byte, and a day cannot be closed twice or skipped. */
static void test_pure_day_step(void **state)
{
	(void)state;
	struct loan a;
	open_loan(&a, find_case("late"));
	struct loan_state saved[200];
	int32_t d0 = a.t.start;
	for (int32_t i = 0; i < 200; i++) {
		saved[i] = a.st;
		int ev;
		assert_int_equal(
			servicing_day(&a.st, &a.t, a.rows, a.n, &in_force, d0 + i, &ev),
			SENIM_OK);
	}
	for (int32_t from = 0; from < 200; from += 37) {
		struct loan_state s = saved[from];
		for (int32_t i = from; i < 200; i++)
			assert_int_equal(servicing_day(&s, &a.t, a.rows, a.n, &in_force,
						       d0 + i, NULL),
					 SENIM_OK);
		assert_memory_equal(&s, &a.st, sizeof(s));
	}
	struct loan_state s = a.st;
	assert_int_equal(servicing_day(&s, &a.t, a.rows, a.n, &in_force, a.st.day, NULL),
			 SENIM_ERR_INVALID);
	assert_int_equal(
		servicing_day(&s, &a.t, a.rows, a.n, &in_force, a.st.day + 2, NULL),
		SENIM_ERR_INVALID);
	assert_memory_equal(&s, &a.st, sizeof(s));
}

/* The notice deadline and the restructuring window count from the delay's
 * first day, that day included; a cure ends both. */
static void test_notice_and_window(void **state)
{
	(void)state;
	struct loan l;
	open_loan(&l, find_case("late"));
	int32_t due = l.rows[0].due;
	for (int32_t d = l.t.start; d <= due; d++)
		assert_int_equal(
			servicing_day(&l.st, &l.t, l.rows, l.n, &in_force, d, NULL),
			SENIM_OK);
	assert_int_equal(l.st.status, LOAN_OVERDUE);
	assert_int_equal(l.st.delay_began, due + 1);
	assert_int_equal(l.st.notice_by, due + 10);
	assert_int_equal(l.st.restructuring_until, due + 30);
	assert_false(servicing_restructuring_open(&l.st, due));
	assert_true(servicing_restructuring_open(&l.st, due + 1));
	assert_true(servicing_restructuring_open(&l.st, due + 30));
	assert_false(servicing_restructuring_open(&l.st, due + 31));
	struct loan_state late = l.st;
	assert_int_equal(servicing_notice_sent(&late, due + 11), 0); /* too late */
	assert_int_equal(late.notice_sent, due + 11);
	assert_int_equal(servicing_notice_sent(&l.st, due + 10), 1);
	assert_int_equal(servicing_notice_sent(&l.st, due + 10), 0); /* once */

	/* A payment of everything overdue cures: no window any more. */
	struct servicing_split sp;
	size_t nn;
	assert_int_equal(servicing_pay(&l.st, &l.t, l.rows, l.n, &in_force, due + 1,
				       servicing_payoff(&l.st, &l.t, due + 1) -
					       l.st.principal_not_due,
				       SERVICING_PAY_DUE, &sp, NULL, 0, &nn),
			 SENIM_OK);
	assert_true(sp.events & SERVICING_EV_CURED);
	assert_int_equal(l.st.status, LOAN_OPEN);
	assert_false(servicing_restructuring_open(&l.st, due + 1));
	assert_int_equal(l.st.notice_by, due + 10); /* it was sent: kept */
}

/* Payments the module refuses, and an early payment that cannot pay the
 * interest to the day in full is handed back, not applied. */
static void test_refusals(void **state)
{
	(void)state;
	struct loan l;
	open_loan(&l, find_case("early_full"));
	struct servicing_split sp;
	size_t nn;
	int32_t d = l.t.start;
	for (int32_t i = 0; i < 10; i++)
		assert_int_equal(
			servicing_day(&l.st, &l.t, l.rows, l.n, &in_force, d + i, NULL),
			SENIM_OK);
	struct loan_state before = l.st;
	assert_int_equal(servicing_pay(&l.st, &l.t, l.rows, l.n, &in_force, d + 9, 100,
				       SERVICING_PAY_DUE, &sp, NULL, 0, &nn),
			 SENIM_ERR_INVALID); /* a closed day */
	assert_int_equal(servicing_pay(&l.st, &l.t, l.rows, l.n, &in_force, d + 10, 0,
				       SERVICING_PAY_DUE, &sp, NULL, 0, &nn),
			 SENIM_ERR_INVALID);
	assert_int_equal(servicing_pay(&l.st, &l.t, l.rows, l.n, &in_force, d + 10,
				       1000000, SERVICING_PAY_EARLY, &sp, NULL, 0, &nn),
			 SENIM_ERR_TOO_LARGE); /* no room for the rebuilt rows */
	assert_int_equal(servicing_pay(&l.st, &l.t, l.rows, l.n, &in_force, d + 10,
				       SERVICING_MAX_PAYMENT + 1, SERVICING_PAY_DUE, &sp,
				       NULL, 0, &nn),
			 SENIM_ERR_INVALID);
	assert_memory_equal(&before, &l.st, sizeof(before));
	/* 10 days of interest on 40,000,000 at 45 %: more than 100 tiyn */
	assert_int_equal(servicing_pay(&l.st, &l.t, l.rows, l.n, &in_force, d + 10, 100,
				       SERVICING_PAY_EARLY, &sp, NULL, 0, &nn),
			 SENIM_OK);
	assert_int_equal(sp.overpayment, 100);
	assert_int_equal(sp.interest_to_date, 0);
	assert_int_equal(l.st.principal, 40000000);
	assert_int_equal(servicing_bucket(0), LOAN_BUCKET_NONE);
	assert_int_equal(servicing_bucket(30), LOAN_BUCKET_1_30);
	assert_int_equal(servicing_bucket(31), LOAN_BUCKET_31_60);
	assert_int_equal(servicing_bucket(90), LOAN_BUCKET_61_90);
	assert_int_equal(servicing_bucket(91), LOAN_BUCKET_OVER_90);
	/* a schedule that does not repay the principal is refused */
	l.rows[0].principal++;
	struct loan_state s;
	assert_int_equal(servicing_open(&l.t, l.rows, l.n, &s), SENIM_ERR_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scenarios),
		cmocka_unit_test(test_rules_matter),
		cmocka_unit_test(test_penalty_second_tier),
		cmocka_unit_test(test_pure_day_step),
		cmocka_unit_test(test_notice_and_window),
		cmocka_unit_test(test_refusals),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
