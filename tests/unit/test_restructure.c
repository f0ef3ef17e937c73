/*
 * test_restructure.c — core/restructure: a loan in delay rescheduled.
 *
 * Each loan is run day by day with core/servicing into a delay, then
 * restructured; the checks are the header's invariants (the new principal
 * parts sum to the principal left, the interest owed is carried into the
 * first row, the delay ends, the state keeps servicing_check) and each
 * refusal, then the loan is run on under its new rows to its end and repaid
 * to the tiyn.  The carried interest stays owed as state until the first new
 * row falls due: an early repayment before then pays it (in full, or not at
 * all), the payoff includes it, a rebuilt schedule does not lose it.  The rules file also pins the optional
 * `restructuring_answer` rule.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/loan_rules.h"
#include "core/restructure.h"
#include "core/schedule.h"
#include "core/servicing.h"
#include "testutil.h"
#include "common/banned.h"

#define RULES                                                                       \
	"[rule gesv_cap]\nfrom = 2024-01-01\nsource = A\nbp = 4600\n"               \
	"[rule short_loan]\nfrom = 2024-01-01\nsource = B\nmax_days = 45\n"         \
	"max_mrp = 45\ndaily_cap_bp = 30\nannual_cap_bp = 17900\n"                  \
	"[rule max_amount]\nfrom = 2024-01-01\nsource = C\nmrp = 20000\n"           \
	"[rule mrp]\nfrom = 2024-01-01\nsource = D\ntiyn = 369200\n"                \
	"[rule cooloff]\nfrom = 2024-01-01\nsource = E\nabove_mrp = 75\n"           \
	"hold_minutes = 1440\n"                                                     \
	"[rule penalty]\nfrom = 2024-01-01\nsource = F\ndaily_bp = 50\n"            \
	"annual_bp = 1000\n"                                                        \
	"[rule notice]\nfrom = 2024-01-01\nsource = G\ndays = 10\n"                 \
	"[rule restructuring]\nfrom = 2024-01-01\nsource = H\ndays = 30\n"          \
	"[rule self_exclusion]\nfrom = 2024-01-01\nsource = I\ncheck = yes\n"       \
	"[rule allocation]\nfrom = 2024-01-01\nsource = K\n"                        \
	"order = principal_overdue, interest_overdue, penalty, principal_current, " \
	"interest_current\nafter_days = 90\n"                                       \
	"order_after = principal_overdue, interest_overdue, principal_current, "    \
	"interest_current, penalty\n"                                               \
	"[rule restructuring_answer]\nfrom = 2024-01-01\nsource = L\ndays = 15\n"

static struct loan_rules *rules;
static struct loan_rules_in_force f;

static int setup(void **state)
{
	(void)state;
	static const char text[] = RULES;
	char err[256];
	if (loan_rules_parse("r.conf", text, strlen(text), &rules, err, sizeof(err)) ||
	    loan_rules_in_force(rules, "2026-01-01", &f, err, sizeof(err)))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	loan_rules_free(rules);
	return 0;
}

struct loan {
	struct servicing_terms t;
	struct schedule_row rows[SCHEDULE_MAX_PAYMENTS];
	size_t n;
	struct loan_state st;
};

/* A loan of 300,000 tenge at `rate` from 2026-01-10, run to the morning of
 * `today` with nothing paid. */
static void loan_to(struct loan *l, enum schedule_method m, int32_t n, int32_t rate,
		    int32_t today)
{
	memset(l, 0, sizeof(*l));
	int32_t start = schedule_day(2026, 1, 10);
	struct schedule_terms s = { .principal = 30000000,
				    .rate_bp = rate,
				    .method = m,
				    .payments = m == SCHEDULE_SINGLE ? 0 : n,
				    .days = m == SCHEDULE_SINGLE ? n : 0,
				    .start = start };
	assert_int_equal(schedule_build(&s, l->rows, SCHEDULE_MAX_PAYMENTS, &l->n),
			 SENIM_OK);
	l->t = (struct servicing_terms){ .principal = 30000000,
					 .rate_bp = rate,
					 .method = m,
					 .start = start,
					 .penalty_daily_bp = 50,
					 .penalty_annual_bp = 1000 };
	assert_int_equal(servicing_open(&l->t, l->rows, l->n, &l->st), SENIM_OK);
	for (int32_t d = start; d < today; d++)
		assert_int_equal(servicing_day(&l->st, &l->t, l->rows, l->n, &f, d, NULL),
				 SENIM_OK);
}

static void test_answer_rule_is_optional(void **state)
{
	(void)state;
	assert_int_equal(f.restructuring_answer_days, 15);
	/* Without the entry the file is still good, and no due date is set. */
	const char *text = RULES;
	size_t len = strstr(text, "[rule restructuring_answer]") - text;
	struct loan_rules *r = NULL;
	struct loan_rules_in_force g;
	char err[256];
	assert_int_equal(loan_rules_parse("r.conf", text, len, &r, err, sizeof(err)),
			 SENIM_OK);
	assert_int_equal(loan_rules_in_force(r, "2026-01-01", &g, err, sizeof(err)),
			 SENIM_OK);
	assert_int_equal(g.restructuring_answer_days, 0);
	loan_rules_free(r);
}

/* Run l under its rows from the morning of `day` to its last due date,
 * paying each instalment on its due date; it must close exactly. */
static void repay_to_the_end(struct loan *l, int32_t day)
{
	int64_t paid = 0;
	for (size_t k = 0; k < l->n; k++) {
		while (l->st.day + 1 < l->rows[k].due) {
			assert_int_equal(servicing_day(&l->st, &l->t, l->rows, l->n, &f,
						       l->st.day + 1, NULL),
					 SENIM_OK);
		}
		/* the carried part is in the row's interest now, due */
		assert_int_equal(l->st.carried_interest, 0);
		int64_t amount = l->rows[k].total + (k == 0 ? l->st.due_penalty : 0);
		struct servicing_split sp;
		assert_int_equal(servicing_pay(&l->st, &l->t, l->rows, l->n, &f,
					       l->st.day + 1, amount, SERVICING_PAY_DUE,
					       &sp, NULL, 0, NULL),
				 SENIM_OK);
		assert_int_equal(sp.overpayment, 0);
		assert_int_equal(sp.principal_overdue + sp.interest_overdue, 0);
		paid += amount;
		assert_int_equal(servicing_day(&l->st, &l->t, l->rows, l->n, &f,
					       l->st.day + 1, NULL),
				 SENIM_OK);
	}
	(void)day;
	assert_int_equal(l->st.status, LOAN_CLOSED);
	assert_true(paid > 0);
}

static void check_restructured(struct loan *l, const struct loan_state *before,
			       const struct restructure_result *r, int32_t day)
{
	assert_int_equal(r->refused, RESTRUCTURE_OK);
	int64_t sum = 0;
	for (size_t k = 0; k < r->n; k++) {
		sum += l->rows[k].principal;
		assert_true(l->rows[k].due > day);
		assert_int_equal(l->rows[k].total,
				 l->rows[k].principal + l->rows[k].interest);
	}
	assert_int_equal(sum, before->principal);
	assert_int_equal(l->rows[r->n - 1].balance, 0);
	assert_int_equal(r->carried_interest,
			 before->due_interest + before->interest_accrued);
	assert_true(r->carried_interest > 0);
	assert_true(l->rows[0].interest >= r->carried_interest);
	const struct loan_state *s = &r->state;
	assert_true(servicing_check(s));
	assert_int_equal(s->status, LOAN_OPEN);
	assert_int_equal(s->due_principal + s->due_interest, 0);
	assert_int_equal(s->due_penalty, before->due_penalty);
	assert_int_equal(s->overdue_days, 0);
	assert_int_equal(s->bucket, LOAN_BUCKET_NONE);
	assert_int_equal(s->restructuring_until, SERVICING_NO_DAY);
	assert_int_equal(s->schedule_version, before->schedule_version + 1);
	assert_int_equal(s->carried_interest, r->carried_interest);
	assert_int_equal(s->day, before->day);
	assert_true(r->gesv_bp > 0 && r->gesv_bp <= 4600);
}

static void test_term(void **state)
{
	(void)state;
	struct loan l;
	int32_t day = schedule_day(2026, 2, 20); /* 10 days into the delay */
	loan_to(&l, SCHEDULE_ANNUITY, 3, 3600, day);
	assert_true(servicing_restructuring_open(&l.st, day));
	struct loan_state before = l.st;
	struct schedule_row out[SCHEDULE_MAX_PAYMENTS];
	struct restructure_result r;
	struct restructure_proposal p = { .kind = RESTRUCTURE_TERM, .payments = 6 };
	assert_int_equal(restructure_apply(&l.st, &l.t, l.rows, l.n, &p, &f, day, out,
					   SCHEDULE_MAX_PAYMENTS, &r),
			 SENIM_OK);
	assert_int_equal(r.n, 6);
	assert_memory_equal(&l.st, &before, sizeof(before)); /* untouched */
	memcpy(l.rows, out, r.n * sizeof(out[0]));
	l.n = r.n;
	l.st = r.state;
	check_restructured(&l, &before, &r, day);
	assert_int_equal(l.rows[0].due, schedule_add_months(day, 1));
	/* the same schedule as a new loan of the principal left, but for the
	 * interest carried into its first row */
	struct schedule_terms s = { .principal = before.principal,
				    .rate_bp = 3600,
				    .method = SCHEDULE_ANNUITY,
				    .payments = 6,
				    .start = day };
	struct schedule_row fresh[SCHEDULE_MAX_PAYMENTS];
	size_t m = 0;
	assert_int_equal(schedule_build(&s, fresh, SCHEDULE_MAX_PAYMENTS, &m), SENIM_OK);
	assert_int_equal(m, 6);
	assert_int_equal(l.rows[0].interest, fresh[0].interest + r.carried_interest);
	assert_true(testutil_rows_equal(&l.rows[1], &fresh[1], m - 1));
	repay_to_the_end(&l, day);
}

static void test_deferral(void **state)
{
	(void)state;
	struct loan l;
	int32_t day = schedule_day(2026, 2, 20);
	loan_to(&l, SCHEDULE_DIFFERENTIATED, 3, 3600, day);
	struct loan_state before = l.st;
	struct schedule_row out[SCHEDULE_MAX_PAYMENTS];
	struct restructure_result r;
	struct restructure_proposal p = { .kind = RESTRUCTURE_DEFERRAL, .months = 2 };
	assert_int_equal(restructure_apply(&l.st, &l.t, l.rows, l.n, &p, &f, day, out,
					   SCHEDULE_MAX_PAYMENTS, &r),
			 SENIM_OK);
	/* the rows left (two not yet due) kept, the first three months on */
	assert_int_equal(r.n, 2);
	memcpy(l.rows, out, r.n * sizeof(out[0]));
	l.n = r.n;
	l.st = r.state;
	check_restructured(&l, &before, &r, day);
	assert_int_equal(l.rows[0].due,
			 schedule_add_months(schedule_add_months(day, 2), 1));
	/* the deferred months' interest is in the first row */
	int64_t deferred = (before.principal * 3600 * 2 + 60000) / 120000;
	assert_true(l.rows[0].interest >= r.carried_interest + deferred);
	repay_to_the_end(&l, day);
}

static void test_single_deferral(void **state)
{
	(void)state;
	struct loan l;
	int32_t day = schedule_day(2026, 2, 20); /* due 2026-02-09, in delay */
	loan_to(&l, SCHEDULE_SINGLE, 30, 3600, day);
	struct loan_state before = l.st;
	struct schedule_row out[SCHEDULE_MAX_PAYMENTS];
	struct restructure_result r;
	struct restructure_proposal p = { .kind = RESTRUCTURE_DEFERRAL, .months = 1 };
	assert_int_equal(restructure_apply(&l.st, &l.t, l.rows, l.n, &p, &f, day, out,
					   SCHEDULE_MAX_PAYMENTS, &r),
			 SENIM_OK);
	assert_int_equal(r.n, 1);
	assert_int_equal(out[0].due, schedule_add_months(day, 1));
	memcpy(l.rows, out, r.n * sizeof(out[0]));
	l.n = r.n;
	l.st = r.state;
	check_restructured(&l, &before, &r, day);
	repay_to_the_end(&l, day);
}

/* Interest to the morning of `day` on the first new row's period
 * [from, due), 30/360 spread over its days (docs/lending-servicing.md),
 * computed here from the terms, not the state. */
/* Interest to the day in a period [from, due) of `months` 30/360 months:
 * the months' interest in proportion to the days run.  A deferral of k
 * months makes the first new period k + 1 months long and its row bears
 * k + 1 months' interest; this helper once took one month whatever the
 * period, pinning the defect that an early repayment in a deferred period
 * paid about a month's interest over three. */
static int64_t to_day(int64_t principal, int32_t rate, int32_t months, int32_t from,
		      int32_t due, int32_t day)
{
	__extension__ __int128 num = (__int128)principal * rate * months * (day - from);
	__extension__ __int128 den = (__int128)120000 * (due - from);
	return (int64_t)((2 * num + den) / (2 * den));
}

/* A deferral's carried interest, before the first new row falls due: the
 * payoff includes it; an early repayment pays it before any principal, in
 * full or not at all; a partial one leaves rebuilt rows without it. */
static void test_carried_interest_until_paid(void **state)
{
	(void)state;
	struct loan l;
	int32_t day = schedule_day(2026, 2, 20);
	loan_to(&l, SCHEDULE_ANNUITY, 3, 3600, day);
	struct loan_state before = l.st;
	struct schedule_row out[SCHEDULE_MAX_PAYMENTS];
	struct restructure_result r;
	struct restructure_proposal p = { .kind = RESTRUCTURE_DEFERRAL, .months = 2 };
	assert_int_equal(restructure_apply(&l.st, &l.t, l.rows, l.n, &p, &f, day, out,
					   SCHEDULE_MAX_PAYMENTS, &r),
			 SENIM_OK);
	memcpy(l.rows, out, r.n * sizeof(out[0]));
	l.n = r.n;
	l.st = r.state;
	int64_t carried = before.due_interest + before.interest_accrued;
	int64_t P = before.principal, pen = before.due_penalty;
	assert_true(carried > 0 && pen > 0);
	assert_int_equal(l.st.carried_interest, carried);
	/* 25 days on under the new rows: still carried, nothing due */
	for (int32_t d = day; d < day + 25; d++)
		assert_int_equal(servicing_day(&l.st, &l.t, l.rows, l.n, &f, d, NULL),
				 SENIM_OK);
	int32_t d = day + 25;
	assert_int_equal(l.st.carried_interest, carried);
	assert_int_equal(l.st.due_interest, 0);
	/* the deferral of 2 makes the first period 3 months */
	int64_t itd = to_day(P, 3600, 3, day, l.rows[0].due, d);
	int64_t payoff = P + pen + carried + itd;
	assert_int_equal(servicing_payoff(&l.st, &l.t, d), payoff);

	/* in full: the loan closes, the carried interest paid as interest */
	struct loan a = l;
	struct servicing_split sp;
	size_t nn = 0;
	assert_int_equal(servicing_pay(&a.st, &a.t, a.rows, a.n, &f, d, payoff,
				       SERVICING_PAY_EARLY, &sp, NULL, 0, &nn),
			 SENIM_OK);
	assert_int_equal(a.st.status, LOAN_CLOSED);
	assert_int_equal(sp.penalty, pen);
	assert_int_equal(sp.interest_to_date, carried + itd);
	assert_int_equal(sp.principal_early, P);
	assert_int_equal(sp.overpayment, 0);
	assert_int_equal(a.st.carried_interest, 0);
	assert_int_equal(a.st.paid_interest, l.st.paid_interest + carried + itd);

	/* a tiyn short of the interest owed: handed back, still carried */
	struct loan b = l;
	assert_int_equal(servicing_pay(&b.st, &b.t, b.rows, b.n, &f, d,
				       pen + carried + itd - 1, SERVICING_PAY_EARLY, &sp,
				       NULL, 0, &nn),
			 SENIM_OK);
	assert_int_equal(sp.overpayment, carried + itd - 1);
	assert_int_equal(sp.principal_early, 0);
	assert_int_equal(b.st.carried_interest, carried);
	assert_int_equal(b.st.principal, P);
	assert_int_equal(servicing_payoff(&b.st, &b.t, d), payoff - pen);

	/* partial: the interest first, then principal; the rebuilt rows owe
	 * only the principal left and its interest from today */
	struct loan c = l;
	int64_t amount = pen + carried + itd + 5000000;
	struct schedule_row nr[SCHEDULE_MAX_PAYMENTS];
	assert_int_equal(servicing_pay(&c.st, &c.t, c.rows, c.n, &f, d, amount,
				       SERVICING_PAY_EARLY, &sp, nr,
				       SCHEDULE_MAX_PAYMENTS, &nn),
			 SENIM_OK);
	assert_true(sp.events & SERVICING_EV_RESCHEDULED);
	assert_int_equal(sp.interest_to_date, carried + itd);
	assert_int_equal(sp.principal_early, 5000000);
	assert_int_equal(c.st.carried_interest, 0);
	assert_int_equal(nn, l.n);
	/* the first rebuilt row: interest from today to its due date only, the
	 * 3-month period's share of it */
	__extension__ __int128 num =
		(__int128)(P - 5000000) * 3600 * 3 * (l.rows[0].due - d) * 2;
	__extension__ __int128 den = (__int128)120000 * (l.rows[0].due - day);
	assert_int_equal(nr[0].interest, (int64_t)((num + den) / (2 * den)));
	memcpy(c.rows, nr, nn * sizeof(nr[0]));
	c.n = nn;
	assert_int_equal(servicing_payoff(&c.st, &c.t, d), P - 5000000);
	repay_to_the_end(&c, d);
	assert_int_equal(c.st.paid_principal, P);
}

static void test_refusals(void **state)
{
	(void)state;
	struct loan l;
	int32_t day = schedule_day(2026, 2, 20);
	struct schedule_row out[SCHEDULE_MAX_PAYMENTS];
	struct restructure_result r;
	struct restructure_proposal p = { .kind = RESTRUCTURE_TERM, .payments = 1 };

	loan_to(&l, SCHEDULE_ANNUITY, 3, 3600, day);
	/* one payment from today ends before the old last due date */
	assert_int_equal(restructure_apply(&l.st, &l.t, l.rows, l.n, &p, &f, day, out,
					   SCHEDULE_MAX_PAYMENTS, &r),
			 SENIM_OK);
	assert_int_equal(r.refused, RESTRUCTURE_NOT_LONGER);
	p = (struct restructure_proposal){ .kind = RESTRUCTURE_DEFERRAL, .months = 13 };
	assert_int_equal(restructure_apply(&l.st, &l.t, l.rows, l.n, &p, &f, day, out,
					   SCHEDULE_MAX_PAYMENTS, &r),
			 SENIM_OK);
	assert_int_equal(r.refused, RESTRUCTURE_BAD_PROPOSAL);
	p.months = 0;
	assert_int_equal(restructure_apply(&l.st, &l.t, l.rows, l.n, &p, &f, day, out,
					   SCHEDULE_MAX_PAYMENTS, &r),
			 SENIM_OK);
	assert_int_equal(r.refused, RESTRUCTURE_BAD_PROPOSAL);
	/* only the day after the last one closed */
	p.months = 1;
	assert_int_equal(restructure_apply(&l.st, &l.t, l.rows, l.n, &p, &f, day + 1, out,
					   SCHEDULE_MAX_PAYMENTS, &r),
			 SENIM_ERR_INVALID);

	/* a rate whose new terms break the ГЭСВ cap: the rule is named */
	loan_to(&l, SCHEDULE_ANNUITY, 3, 5600, day);
	p = (struct restructure_proposal){ .kind = RESTRUCTURE_TERM, .payments = 6 };
	assert_int_equal(restructure_apply(&l.st, &l.t, l.rows, l.n, &p, &f, day, out,
					   SCHEDULE_MAX_PAYMENTS, &r),
			 SENIM_OK);
	assert_int_equal(r.refused, RESTRUCTURE_BREAKS_RULE);
	assert_string_equal(r.rule.code, "gesv_cap");

	/* a single payment takes a deferral, not a term */
	loan_to(&l, SCHEDULE_SINGLE, 30, 3600, day);
	assert_int_equal(restructure_apply(&l.st, &l.t, l.rows, l.n, &p, &f, day, out,
					   SCHEDULE_MAX_PAYMENTS, &r),
			 SENIM_OK);
	assert_int_equal(r.refused, RESTRUCTURE_SINGLE_TERM);

	/* a repaid loan */
	loan_to(&l, SCHEDULE_ANNUITY, 3, 3600, schedule_day(2026, 1, 12));
	struct servicing_split sp;
	int64_t all = servicing_payoff(&l.st, &l.t, l.st.day + 1);
	assert_int_equal(servicing_pay(&l.st, &l.t, l.rows, l.n, &f, l.st.day + 1, all,
				       SERVICING_PAY_EARLY, &sp, NULL, 0, NULL),
			 SENIM_OK);
	assert_int_equal(l.st.status, LOAN_CLOSED);
	assert_int_equal(restructure_apply(&l.st, &l.t, l.rows, l.n, &p, &f, l.st.day + 1,
					   out, SCHEDULE_MAX_PAYMENTS, &r),
			 SENIM_OK);
	assert_int_equal(r.refused, RESTRUCTURE_CLOSED);
}

static void test_kind_codes(void **state)
{
	(void)state;
	assert_string_equal(restructure_kind_code(RESTRUCTURE_DEFERRAL), "deferral");
	assert_int_equal(restructure_kind_parse("term"), RESTRUCTURE_TERM);
	assert_int_equal(restructure_kind_parse("holiday"), -1);
	assert_int_equal(restructure_kind_parse(NULL), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answer_rule_is_optional),
		cmocka_unit_test(test_term),
		cmocka_unit_test(test_deferral),
		cmocka_unit_test(test_single_deferral),
		cmocka_unit_test(test_carried_interest_until_paid),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_kind_codes),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
