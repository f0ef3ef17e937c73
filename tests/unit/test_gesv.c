/*
 * test_gesv.c — the ГЭСВ solver (core/gesv.h).
 *
 * Known answers: data/lending/gesv_cases.inc, written by
 * data/lending/expected.py with exact fractions (whole-year exponents) or
 * 60-digit decimals, independently of gesv.c.  Three of its cases are the
 * worked examples of Directive 98/7/EC, Annex III, A (the same equation on
 * a 365-day year, no leap day inside their intervals): 12.96 % -> 13.0 %,
 * 16.9 %, and i = 0.1306623 -> 13.1 %; the others pin the 0.1 % rounding
 * at ties (46.05 % -> 46.1 %, and 6.05 %, 9.05 %, 12.45 % where long
 * double's sum at the half-way rate falls a hair below zero) and just below it, 0 % and a negative rate,
 * schedules with a fee, a short loan at 0.3 % a day, 10^13 tiyn, and two
 * tranches given out of order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "core/gesv.h"
#include "core/schedule.h"
#include "common/banned.h"

#define N(a) (sizeof(a) / sizeof(a[0]))

static const struct gesv_case {
	const char *label;
	size_t n;
	struct gesv_flow flows[601];
	int64_t bp;
	double rate;
} cases[] = {
#include "data/lending/gesv_cases.inc"
};

static const struct grid_case {
	enum schedule_method method;
	int64_t principal;
	int32_t rate_bp, term;
	int y, m, d;
	int64_t fee, bp;
} grid[] = {
#include "data/lending/gesv_grid.inc"
};

/* The ГЭСВ of 372 offers: single payments of 1 to 730 days (a 29 February
 * inside some) and monthly schedules, at 0 % to 1000 %, with and without a
 * fee on the payout day; the payments are schedule.c's (pinned in
 * test_schedule.c), the expected rates the generator's own. */
static void test_gesv_grid(void **state)
{
	(void)state;
	static struct schedule_row rows[SCHEDULE_MAX_PAYMENTS];
	static struct gesv_flow flows[SCHEDULE_MAX_PAYMENTS + 2];
	for (size_t i = 0; i < N(grid); i++) {
		const struct grid_case *g = &grid[i];
		struct schedule_terms t;
		memset(&t, 0, sizeof(t));
		t.method = g->method;
		t.principal = g->principal;
		t.rate_bp = g->rate_bp;
		if (g->method == SCHEDULE_SINGLE)
			t.days = g->term;
		else
			t.payments = g->term;
		t.start = schedule_day(g->y, g->m, g->d);
		size_t n = 0, f = 0;
		assert_int_equal(schedule_build(&t, rows, N(rows), &n), SENIM_OK);
		flows[f++] = (struct gesv_flow){ t.start, -g->principal };
		if (g->fee)
			flows[f++] = (struct gesv_flow){ t.start, g->fee };
		for (size_t k = 0; k < n; k++)
			flows[f++] = (struct gesv_flow){ rows[k].due, rows[k].total };
		struct gesv_result r;
		enum senim_result err = gesv_solve(flows, f, &r);
		if (err)
			fail_msg("grid %zu (P=%lld rate=%d term=%d fee=%lld): %s", i,
				 (long long)g->principal, g->rate_bp, g->term,
				 (long long)g->fee, senim_result_name(err));
		if (r.bp != g->bp)
			fail_msg("grid %zu (P=%lld rate=%d term=%d fee=%lld): %lld bp, "
				 "expected %lld",
				 i, (long long)g->principal, g->rate_bp, g->term,
				 (long long)g->fee, (long long)r.bp, (long long)g->bp);
	}
}

static void test_gesv_known(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		const struct gesv_case *c = &cases[i];
		struct gesv_result r;
		memset(&r, 0, sizeof(r));
		assert_int_equal(gesv_solve(c->flows, c->n, &r), SENIM_OK);
		if (r.bp != c->bp)
			fail_msg("%s: %lld bp, expected %lld", c->label, (long long)r.bp,
				 (long long)c->bp);
		if (fabsl(r.rate - (long double)c->rate) > 1e-9L * (1.0L + fabsl(r.rate)))
			fail_msg("%s: rate %.12Lf, expected %.12f", c->label, r.rate,
				 c->rate);
		/* the root is a root */
		long double scale = 0.0L;
		for (size_t k = 0; k < c->n; k++)
			scale += fabsl((long double)c->flows[k].amount);
		assert_true(fabsl(gesv_npv(c->flows, c->n, r.rate)) < scale * 1e-12L);
	}
}

/* The answer does not depend on the order the flows come in. */
static void test_gesv_order(void **state)
{
	(void)state;
	static struct gesv_flow rev[601];
	for (size_t i = 0; i < N(cases); i++) {
		const struct gesv_case *c = &cases[i];
		for (size_t k = 0; k < c->n; k++)
			rev[k] = c->flows[c->n - 1 - k];
		struct gesv_result a, b;
		assert_int_equal(gesv_solve(c->flows, c->n, &a), SENIM_OK);
		assert_int_equal(gesv_solve(rev, c->n, &b), SENIM_OK);
		assert_int_equal(a.bp, b.bp);
	}
}

/* A fee paid on the payout day counts: it nets against the payout. */
static void test_gesv_fee_counts(void **state)
{
	(void)state;
	struct gesv_flow plain[] = { { 0, -100000 }, { 365, 146000 } };
	struct gesv_flow fee[] = { { 0, -100000 }, { 0, 1000 }, { 365, 146000 } };
	struct gesv_result a, b;
	assert_int_equal(gesv_solve(plain, N(plain), &a), SENIM_OK);
	assert_int_equal(gesv_solve(fee, N(fee), &b), SENIM_OK);
	assert_int_equal(a.bp, 4600);
	assert_int_equal(b.bp, 4750); /* 146000 / 99000 - 1 = 47.47 % */
}

static void test_gesv_invalid(void **state)
{
	(void)state;
	struct gesv_result r;
	struct gesv_flow one[] = { { 0, -100000 } };
	assert_int_equal(gesv_solve(one, 0, &r), SENIM_ERR_INVALID);
	assert_int_equal(gesv_solve(one, GESV_MAX_FLOWS + 1, &r), SENIM_ERR_INVALID);
	assert_int_equal(gesv_solve(one, 1, &r), SENIM_ERR_INVALID); /* payouts only */
	struct gesv_flow pay[] = { { 0, 100 }, { 30, 100 } };
	assert_int_equal(gesv_solve(pay, N(pay), &r), SENIM_ERR_INVALID);
	struct gesv_flow zero[] = { { 0, -100 }, { 30, 0 }, { 60, 110 } };
	assert_int_equal(gesv_solve(zero, N(zero), &r), SENIM_ERR_INVALID);
	/* a payout after a payment: two sign changes, no single root */
	struct gesv_flow twice[] = { { 0, -100 }, { 30, 60 }, { 60, -100 }, { 90, 150 } };
	assert_int_equal(gesv_solve(twice, N(twice), &r), SENIM_ERR_INVALID);
	/* a payment before the payout */
	struct gesv_flow early[] = { { 0, 10 }, { 1, -100 }, { 90, 150 } };
	assert_int_equal(gesv_solve(early, N(early), &r), SENIM_ERR_INVALID);
	/* a fee on the payout day bigger than the payout nets positive */
	struct gesv_flow netpos[] = { { 0, -100 }, { 0, 200 }, { 90, 150 } };
	assert_int_equal(gesv_solve(netpos, N(netpos), &r), SENIM_ERR_INVALID);
	struct gesv_flow huge[] = { { 0, -(GESV_MAX_AMOUNT + 1) }, { 30, 1 } };
	assert_int_equal(gesv_solve(huge, N(huge), &r), SENIM_ERR_INVALID);
	struct gesv_flow huge_pay[] = { { 0, -GESV_MAX_AMOUNT },
					{ 365, GESV_MAX_AMOUNT + 1 } };
	assert_int_equal(gesv_solve(huge_pay, N(huge_pay), &r), SENIM_ERR_INVALID);
	/* 1 tiyn lent, 10^14 back the next day: beyond any rate searched */
	struct gesv_flow absurd[] = { { 0, -1 }, { 1, GESV_MAX_AMOUNT } };
	assert_int_equal(gesv_solve(absurd, N(absurd), &r), SENIM_ERR_INVALID);
	/* 1 tiyn lent, 10^14 back 364 days later: a rate of about 1.1·10^14,
	 * finite but above GESV_MAX_RATE */
	struct gesv_flow above[] = { { 0, -1 }, { 364, GESV_MAX_AMOUNT } };
	assert_int_equal(gesv_solve(above, N(above), &r), SENIM_ERR_INVALID);
	/* 10^14 lent, 1 tiyn back the next day: a rate of -100 % */
	struct gesv_flow nothing[] = { { 0, -GESV_MAX_AMOUNT }, { 1, 1 } };
	assert_int_equal(gesv_solve(nothing, N(nothing), &r), SENIM_ERR_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gesv_known),
		cmocka_unit_test(test_gesv_grid),
		cmocka_unit_test(test_gesv_order),
		cmocka_unit_test(test_gesv_fee_counts),
		cmocka_unit_test(test_gesv_invalid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
