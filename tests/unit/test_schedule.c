/*
 * test_schedule.c — repayment schedules (core/schedule.h).
 *
 * Known answers: data/lending/schedule_cases.inc and schedule_rows.inc were
 * computed by data/lending/expected.py with exact fractions and Python's
 * calendar, not with schedule.c.  Properties: for a grid of awkward
 * principals, rates and terms (1 tiyn, primes, 0 %, 10^13 tiyn, 600
 * months), every schedule sums exactly to the principal, annuity payments
 * are equal but for the last, differentiated principal parts are equal but
 * for the last, and every amount is a non-negative whole tiyn.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "core/schedule.h"
#include "common/banned.h"

#define N(a) (sizeof(a) / sizeof(a[0]))

static const struct sched_case {
	enum schedule_method method;
	int64_t principal;
	int32_t rate_bp, term;
	int y, m, d;
	int64_t level; /* annuity payment / differentiated part; 0 for single */
	int rows;
	int ly, lm, ld;
	int64_t last_principal, last_interest, total_interest;
} cases[] = {
#include "data/lending/schedule_cases.inc"
};

static const struct sched_row_case {
	int idx, k;
	int y, m, d;
	int64_t principal, interest, total, balance;
} case_rows[] = {
#include "data/lending/schedule_rows.inc"
};

static const struct grid_case {
	int64_t principal;
	int32_t rate_bp, payments;
	int64_t payment;
} grid[] = {
#include "data/lending/annuity_grid.inc"
};

static struct schedule_row rows[SCHEDULE_MAX_PAYMENTS];

static struct schedule_terms terms_of(const struct sched_case *c)
{
	struct schedule_terms t = { 0 };
	t.principal = c->principal;
	t.rate_bp = c->rate_bp;
	t.method = c->method;
	if (c->method == SCHEDULE_SINGLE)
		t.days = c->term;
	else
		t.payments = c->term;
	t.start = schedule_day(c->y, c->m, c->d);
	return t;
}

/* ---- known answers ------------------------------------------------------------ */

static void test_schedule_known(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		const struct sched_case *c = &cases[i];
		struct schedule_terms t = terms_of(c);
		size_t n = 0;
		assert_int_equal(schedule_build(&t, rows, N(rows), &n), SENIM_OK);
		if (c->method == SCHEDULE_ANNUITY) {
			int64_t a = -1;
			assert_int_equal(schedule_annuity_payment(
						 c->principal, c->rate_bp, c->term, &a),
					 SENIM_OK);
			if (a != c->level)
				fail_msg("case %zu: payment %lld, expected %lld", i,
					 (long long)a, (long long)c->level);
		}
		assert_int_equal(n, (size_t)c->rows);
		const struct schedule_row *last = &rows[n - 1];
		assert_int_equal(last->due, schedule_day(c->ly, c->lm, c->ld));
		int64_t interest = 0;
		for (size_t k = 0; k < n; k++)
			interest += rows[k].interest;
		if (last->principal != c->last_principal ||
		    last->interest != c->last_interest || interest != c->total_interest)
			fail_msg("case %zu: last %lld+%lld, interest %lld; expected "
				 "%lld+%lld, %lld",
				 i, (long long)last->principal, (long long)last->interest,
				 (long long)interest, (long long)c->last_principal,
				 (long long)c->last_interest,
				 (long long)c->total_interest);
	}
}

static void test_schedule_known_rows(void **state)
{
	(void)state;
	int built = -1;
	for (size_t i = 0; i < N(case_rows); i++) {
		const struct sched_row_case *r = &case_rows[i];
		if (r->idx != built) {
			struct schedule_terms t = terms_of(&cases[r->idx]);
			size_t n = 0;
			assert_int_equal(schedule_build(&t, rows, N(rows), &n), SENIM_OK);
			built = r->idx;
		}
		const struct schedule_row *got = &rows[r->k];
		if (got->due != schedule_day(r->y, r->m, r->d) ||
		    got->principal != r->principal || got->interest != r->interest ||
		    got->total != r->total || got->balance != r->balance)
			fail_msg("case %d row %d: %lld %lld %lld %lld, expected %lld "
				 "%lld %lld %lld",
				 r->idx, r->k, (long long)got->principal,
				 (long long)got->interest, (long long)got->total,
				 (long long)got->balance, (long long)r->principal,
				 (long long)r->interest, (long long)r->total,
				 (long long)r->balance);
	}
}

/* The annuity payment of every grid point, exactly as fractions give it. */
static void test_schedule_annuity_grid(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(grid); i++) {
		int64_t a = -1;
		assert_int_equal(schedule_annuity_payment(grid[i].principal,
							  grid[i].rate_bp,
							  grid[i].payments, &a),
				 SENIM_OK);
		if (a != grid[i].payment)
			fail_msg("P=%lld rate=%d N=%d: %lld, expected %lld",
				 (long long)grid[i].principal, grid[i].rate_bp,
				 grid[i].payments, (long long)a,
				 (long long)grid[i].payment);
	}
}

/* ---- properties over a grid -------------------------------------------------- */

static const int64_t principals[] = {
	1,
	2,
	3,
	7,
	99,
	100,
	101,
	997,
	12345677,
	999999937,
	1000000007,
	5000000000,
	123456789,
	INT64_C(9999999999999),
	SCHEDULE_MAX_PRINCIPAL,
};
static const int32_t rates[] = { 0, 1, 999, 3000, 4600, 17900, SCHEDULE_MAX_RATE_BP };
static const int32_t terms[] = { 1, 2, 3, 7, 12, 13, 36, 97, SCHEDULE_MAX_PAYMENTS };

/* Check one monthly schedule's invariants; returns nothing, fails the test. */
static void check_monthly(const struct schedule_terms *t)
{
	size_t n = 0;
	assert_int_equal(schedule_build(t, rows, N(rows), &n), SENIM_OK);
	assert_int_equal(n, (size_t)t->payments);
	int64_t level = 0;
	if (t->method == SCHEDULE_ANNUITY)
		assert_int_equal(schedule_annuity_payment(t->principal, t->rate_bp,
							  t->payments, &level),
				 SENIM_OK);
	int64_t sum = 0, balance = t->principal;
	int32_t due = t->start;
	for (size_t k = 0; k < n; k++) {
		const struct schedule_row *r = &rows[k];
		if (r->principal < 0 || r->interest < 0 || r->balance < 0 ||
		    r->total != r->principal + r->interest ||
		    r->balance != balance - r->principal)
			fail_msg("P=%lld rate=%d N=%d row %zu: bad amounts",
				 (long long)t->principal, t->rate_bp, t->payments, k);
		if (r->due <= due)
			fail_msg("row %zu: due date not after the previous", k);
		if (k + 1 < n && r->balance > 0) {
			/* Not paid off early: the level amount holds exactly. */
			if (t->method == SCHEDULE_ANNUITY && r->total != level)
				fail_msg("P=%lld rate=%d N=%d row %zu: payment %lld != "
					 "%lld",
					 (long long)t->principal, t->rate_bp, t->payments,
					 k, (long long)r->total, (long long)level);
			if (t->method == SCHEDULE_DIFFERENTIATED && k > 0 &&
			    r->principal != rows[0].principal)
				fail_msg("P=%lld N=%d row %zu: part %lld != %lld",
					 (long long)t->principal, t->payments, k,
					 (long long)r->principal,
					 (long long)rows[0].principal);
		}
		due = r->due;
		balance = r->balance;
		sum += r->principal;
	}
	if (sum != t->principal || rows[n - 1].balance != 0)
		fail_msg("P=%lld rate=%d N=%d: principal parts sum to %lld",
			 (long long)t->principal, t->rate_bp, t->payments,
			 (long long)sum);
}

static void test_schedule_sums_exactly(void **state)
{
	(void)state;
	for (size_t a = 0; a < N(principals); a++)
		for (size_t b = 0; b < N(rates); b++)
			for (size_t c = 0; c < N(terms); c++)
				for (int m = 0; m < 2; m++) {
					struct schedule_terms t = { 0 };
					t.principal = principals[a];
					t.rate_bp = rates[b];
					t.payments = terms[c];
					t.method = m ? SCHEDULE_DIFFERENTIATED
						     : SCHEDULE_ANNUITY;
					t.start = schedule_day(2026, 1, 31);
					check_monthly(&t);
				}
}

/* Where P is large against N, no payment is capped: the annuity's rows but
 * the last are all exactly A, and the differentiated parts exactly
 * round_half_up(P/N) — the rule itself, not just its sums. */
static void test_schedule_level_amounts(void **state)
{
	(void)state;
	struct schedule_terms t = { 0 };
	t.principal = 999999937;
	t.rate_bp = 4600;
	t.payments = 97;
	t.start = schedule_day(2026, 3, 31);
	t.method = SCHEDULE_DIFFERENTIATED;
	size_t n = 0;
	assert_int_equal(schedule_build(&t, rows, N(rows), &n), SENIM_OK);
	for (size_t k = 0; k + 1 < n; k++)
		assert_int_equal(rows[k].principal,
				 10309278); /* 999999937/97 = 10309277.70 */
	assert_int_equal(rows[n - 1].principal, 999999937 - INT64_C(96) * 10309278);

	t.method = SCHEDULE_ANNUITY;
	int64_t a = 0;
	assert_int_equal(schedule_annuity_payment(t.principal, t.rate_bp, t.payments, &a),
			 SENIM_OK);
	assert_int_equal(schedule_build(&t, rows, N(rows), &n), SENIM_OK);
	for (size_t k = 0; k + 1 < n; k++)
		assert_int_equal(rows[k].total, a);
	assert_true(rows[n - 1].total != a || rows[n - 1].balance == 0);
}

/* ---- the single payment ---------------------------------------------------------- */

static void test_schedule_single(void **state)
{
	(void)state;
	struct schedule_terms t = { 0 };
	t.method = SCHEDULE_SINGLE;
	t.principal = 5000000;
	t.rate_bp = 10950; /* 0.3 % a day over 365 days */
	t.days = 30;
	t.start = schedule_day(2026, 12, 20);
	size_t n = 0;
	assert_int_equal(schedule_build(&t, rows, 1, &n), SENIM_OK);
	assert_int_equal(n, 1);
	assert_int_equal(rows[0].interest, 450000); /* 9 % of the principal */
	assert_int_equal(rows[0].due, schedule_day(2027, 1, 19));
	/* half-up: 1 tiyn at 4600 bp for 365 days is 0.46 tiyn -> 0; 200 tiyn
	 * for 73 days at 1825 bp is 0.73 -> 1; 100 tiyn for 73 days at 2500 bp
	 * is exactly 0.5 -> 1 */
	t.principal = 1;
	t.rate_bp = 4600;
	t.days = 365;
	assert_int_equal(schedule_build(&t, rows, 1, &n), SENIM_OK);
	assert_int_equal(rows[0].interest, 0);
	t.principal = 20;
	t.rate_bp = 1825;
	t.days = 73;
	assert_int_equal(schedule_build(&t, rows, 1, &n), SENIM_OK);
	assert_int_equal(rows[0].interest, 1);
	t.principal = 10;
	t.rate_bp = 2500;
	assert_int_equal(schedule_build(&t, rows, 1, &n), SENIM_OK);
	assert_int_equal(rows[0].interest, 1);
}

/* A month's interest is half-up: 12 tiyn at 5000 bp is 0.5 tiyn -> 1;
 * 11 tiyn is 0.458 -> 0. */
static void test_schedule_month_rounding(void **state)
{
	(void)state;
	struct schedule_terms t = { 0 };
	t.method = SCHEDULE_DIFFERENTIATED;
	t.principal = 12;
	t.rate_bp = 5000;
	t.payments = 1;
	t.start = schedule_day(2026, 1, 1);
	size_t n = 0;
	assert_int_equal(schedule_build(&t, rows, 1, &n), SENIM_OK);
	assert_int_equal(rows[0].interest, 1);
	t.principal = 11;
	assert_int_equal(schedule_build(&t, rows, 1, &n), SENIM_OK);
	assert_int_equal(rows[0].interest, 0);
}

/* ---- bad terms ------------------------------------------------------------------ */

static void test_schedule_invalid(void **state)
{
	(void)state;
	struct schedule_terms ok = { 0 };
	ok.method = SCHEDULE_ANNUITY;
	ok.principal = 100000;
	ok.rate_bp = 4600;
	ok.payments = 12;
	ok.days = 30;
	size_t n = 99;
	struct schedule_terms t;

	t = ok;
	t.principal = 0;
	assert_int_equal(schedule_build(&t, rows, N(rows), &n), SENIM_ERR_INVALID);
	assert_int_equal(n, 0);
	t = ok;
	t.principal = -5;
	assert_int_equal(schedule_build(&t, rows, N(rows), &n), SENIM_ERR_INVALID);
	t = ok;
	t.principal = SCHEDULE_MAX_PRINCIPAL + 1;
	assert_int_equal(schedule_build(&t, rows, N(rows), &n), SENIM_ERR_INVALID);
	t = ok;
	t.rate_bp = -1;
	assert_int_equal(schedule_build(&t, rows, N(rows), &n), SENIM_ERR_INVALID);
	t = ok;
	t.rate_bp = SCHEDULE_MAX_RATE_BP + 1;
	assert_int_equal(schedule_build(&t, rows, N(rows), &n), SENIM_ERR_INVALID);
	t = ok;
	t.payments = 0;
	assert_int_equal(schedule_build(&t, rows, N(rows), &n), SENIM_ERR_INVALID);
	t = ok;
	t.payments = SCHEDULE_MAX_PAYMENTS + 1;
	assert_int_equal(schedule_build(&t, rows, N(rows), &n), SENIM_ERR_INVALID);
	t = ok;
	t.method = SCHEDULE_SINGLE;
	t.days = 0;
	assert_int_equal(schedule_build(&t, rows, N(rows), &n), SENIM_ERR_INVALID);
	t.days = SCHEDULE_MAX_DAYS + 1;
	assert_int_equal(schedule_build(&t, rows, N(rows), &n), SENIM_ERR_INVALID);
	/* every method checks the principal and the rate */
	for (int m = SCHEDULE_ANNUITY; m <= SCHEDULE_SINGLE; m++) {
		t = ok;
		t.method = (enum schedule_method)m;
		t.principal = 0;
		assert_int_equal(schedule_build(&t, rows, N(rows), &n),
				 SENIM_ERR_INVALID);
		t.principal = SCHEDULE_MAX_PRINCIPAL + 1;
		assert_int_equal(schedule_build(&t, rows, N(rows), &n),
				 SENIM_ERR_INVALID);
		t.principal = 100000;
		t.rate_bp = -1;
		assert_int_equal(schedule_build(&t, rows, N(rows), &n),
				 SENIM_ERR_INVALID);
		t.rate_bp = SCHEDULE_MAX_RATE_BP + 1;
		assert_int_equal(schedule_build(&t, rows, N(rows), &n),
				 SENIM_ERR_INVALID);
	}
	t = ok;
	t.method = (enum schedule_method)42;
	assert_int_equal(schedule_build(&t, rows, N(rows), &n), SENIM_ERR_INVALID);
	/* too little room: nothing written past it */
	t = ok;
	memset(rows, 0x5a, sizeof(rows));
	assert_int_equal(schedule_build(&t, rows, 11, &n), SENIM_ERR_TOO_LARGE);
	assert_int_equal(rows[11].principal, 0x5a5a5a5a5a5a5a5a);
	t.method = SCHEDULE_SINGLE;
	assert_int_equal(schedule_build(&t, rows, 0, &n), SENIM_ERR_TOO_LARGE);
	int64_t a;
	assert_int_equal(schedule_annuity_payment(0, 100, 12, &a), SENIM_ERR_INVALID);
	assert_int_equal(schedule_annuity_payment(100, 100, 0, &a), SENIM_ERR_INVALID);
}

/* ---- dates -------------------------------------------------------------------------- */

static void test_schedule_dates(void **state)
{
	(void)state;
	/* day numbers from Python: (date(y, m, d) - date(1970, 1, 1)).days */
	assert_int_equal(schedule_day(1970, 1, 1), 0);
	assert_int_equal(schedule_day(1969, 12, 31), -1);
	assert_int_equal(schedule_day(1994, 1, 1), 8766);
	assert_int_equal(schedule_day(2024, 2, 29), 19782);
	assert_int_equal(schedule_day(2026, 1, 31), 20484);
	assert_int_equal(schedule_day(1900, 3, 1), -25508);
	assert_int_equal(schedule_day(2100, 3, 1), 47541);
	/* every day 1900..2200 round-trips and follows the previous one */
	int32_t prev = schedule_day(1899, 12, 31);
	for (int y = 1900; y <= 2200; y++)
		for (int m = 1; m <= 12; m++)
			for (int d = 1; d <= 31; d++) {
				int32_t n = schedule_day(y, m, d);
				int yy, mm, dd;
				schedule_ymd(n, &yy, &mm, &dd);
				if (yy != y || mm != m || dd != d)
					continue; /* 31 April and the like */
				if (n != prev + 1)
					fail_msg("%d-%d-%d is %d after %d", y, m, d, n,
						 prev);
				prev = n;
			}
	/* months clamp to the month's last day, on the start's day */
	int32_t jan31 = schedule_day(2026, 1, 31);
	assert_int_equal(schedule_add_months(jan31, 1), schedule_day(2026, 2, 28));
	assert_int_equal(schedule_add_months(jan31, 2), schedule_day(2026, 3, 31));
	assert_int_equal(schedule_add_months(jan31, 13), schedule_day(2027, 2, 28));
	assert_int_equal(schedule_add_months(schedule_day(2024, 2, 29), 12),
			 schedule_day(2025, 2, 28));
	assert_int_equal(schedule_add_months(schedule_day(2024, 2, 29), 48),
			 schedule_day(2028, 2, 29));
	assert_int_equal(schedule_add_months(schedule_day(2026, 12, 15), 1),
			 schedule_day(2027, 1, 15));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_schedule_known),
		cmocka_unit_test(test_schedule_known_rows),
		cmocka_unit_test(test_schedule_annuity_grid),
		cmocka_unit_test(test_schedule_sums_exactly),
		cmocka_unit_test(test_schedule_level_amounts),
		cmocka_unit_test(test_schedule_single),
		cmocka_unit_test(test_schedule_month_rounding),
		cmocka_unit_test(test_schedule_invalid),
		cmocka_unit_test(test_schedule_dates),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
