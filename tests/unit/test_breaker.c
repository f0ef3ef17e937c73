/*
 * test_breaker.c — the circuit breaker (core/breaker.h) on a clock the
 * test steps by hand: every transition — closed to open by failures in a
 * row and by the failure rate, open to half-open when the pause ends, the
 * probe closing or re-opening it, the doubling and its cap, and outcomes
 * that must not count.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/breaker.h"
#include "common/banned.h"

/* One attempt at `now` with result r; returns whether it was admitted. */
static int attempt(struct breaker *b, int64_t now, enum breaker_result r)
{
	int probe = 0;
	if (!breaker_admit(b, now, &probe))
		return 0;
	breaker_record(b, now, r, probe);
	return 1;
}

static void test_opens_after_failures_in_a_row(void **state)
{
	(void)state;
	struct breaker b;
	breaker_init(&b, 5, 1000);
	assert_int_equal(breaker_state(&b), BREAKER_CLOSED);
	assert_true(breaker_available_from(&b) == INT64_MIN);
	int64_t t = 100000;
	for (int i = 0; i < 4; i++)
		assert_true(attempt(&b, t += 2000, BREAKER_FAILURE));
	assert_int_equal(breaker_state(&b), BREAKER_CLOSED);
	/* a success in between starts the count again */
	assert_true(attempt(&b, t += 2000, BREAKER_SUCCESS));
	for (int i = 0; i < 4; i++)
		assert_true(attempt(&b, t += 2000, BREAKER_FAILURE));
	assert_int_equal(breaker_state(&b), BREAKER_CLOSED);
	assert_true(attempt(&b, t += 2000, BREAKER_FAILURE));
	assert_int_equal(breaker_state(&b), BREAKER_OPEN);
	assert_true(breaker_available_from(&b) == t + 1000);
	int probe = 7;
	assert_false(breaker_admit(&b, t + 999, &probe));
	assert_int_equal(probe, 0);
}

static void test_neutral_does_not_count(void **state)
{
	(void)state;
	struct breaker b;
	breaker_init(&b, 2, 1000);
	int64_t t = 0;
	assert_true(attempt(&b, t += 1, BREAKER_FAILURE));
	/* a 4xx neither breaks the run nor adds to it */
	for (int i = 0; i < 30; i++)
		assert_true(attempt(&b, t += 1, BREAKER_NEUTRAL));
	assert_int_equal(breaker_state(&b), BREAKER_CLOSED);
	assert_true(attempt(&b, t += 1, BREAKER_FAILURE));
	assert_int_equal(breaker_state(&b), BREAKER_OPEN);
}

static void test_opens_on_failure_rate(void **state)
{
	(void)state;
	struct breaker b;
	breaker_init(&b, 100, 1000);
	int64_t t = 0;
	/* alternating: never two in a row, half failed; the tenth sample
	 * (a failure) makes the window full enough to judge */
	for (int i = 0; i < 9; i++) {
		assert_true(
			attempt(&b, t += 100, i % 2 ? BREAKER_FAILURE : BREAKER_SUCCESS));
		assert_int_equal(breaker_state(&b), BREAKER_CLOSED);
	}
	assert_true(attempt(&b, t += 100, BREAKER_FAILURE));
	assert_int_equal(breaker_state(&b), BREAKER_OPEN);
}

static void test_rate_below_half_stays_closed(void **state)
{
	(void)state;
	struct breaker b;
	breaker_init(&b, 100, 1000);
	int64_t t = 0;
	/* one failure in three: a third, never half */
	for (int i = 0; i < 60; i++)
		assert_true(attempt(&b, t += 100,
				    i % 3 == 2 ? BREAKER_FAILURE : BREAKER_SUCCESS));
	assert_int_equal(breaker_state(&b), BREAKER_CLOSED);
}

static void test_rate_only_within_ten_seconds(void **state)
{
	(void)state;
	struct breaker b;
	breaker_init(&b, 100, 1000);
	int64_t t = 0;
	/* the same alternating run, spread 1.5 s apart: at most 7 samples
	 * ever fall within 10 s, too few to judge */
	for (int i = 0; i < 40; i++)
		assert_true(attempt(&b, t += 1500,
				    i % 2 ? BREAKER_FAILURE : BREAKER_SUCCESS));
	assert_int_equal(breaker_state(&b), BREAKER_CLOSED);
	/* successes long ago do not dilute a recent burst */
	for (int i = 0; i < 20; i++)
		assert_true(attempt(&b, t += 10, BREAKER_SUCCESS));
	t += 20000;
	for (int i = 0; i < 9; i++)
		assert_true(
			attempt(&b, t += 10, i % 2 ? BREAKER_FAILURE : BREAKER_SUCCESS));
	assert_int_equal(breaker_state(&b), BREAKER_CLOSED);
	assert_true(attempt(&b, t += 10, BREAKER_FAILURE));
	assert_int_equal(breaker_state(&b), BREAKER_OPEN);
}

static void test_half_open_probe_closes(void **state)
{
	(void)state;
	struct breaker b;
	breaker_init(&b, 1, 500);
	int64_t t = 1000;
	assert_true(attempt(&b, t, BREAKER_FAILURE));
	assert_int_equal(breaker_state(&b), BREAKER_OPEN);
	int probe = 0;
	assert_false(breaker_admit(&b, t + 499, &probe));
	assert_true(breaker_admit(&b, t + 500, &probe));
	assert_int_equal(probe, 1);
	assert_int_equal(breaker_state(&b), BREAKER_HALF_OPEN);
	assert_true(breaker_available_from(&b) == INT64_MAX);
	/* one probe only */
	int other = 0;
	assert_false(breaker_admit(&b, t + 600, &other));
	/* an attempt admitted before the opening reports late: no effect */
	breaker_record(&b, t + 600, BREAKER_SUCCESS, 0);
	assert_int_equal(breaker_state(&b), BREAKER_HALF_OPEN);
	breaker_record(&b, t + 700, BREAKER_SUCCESS, probe);
	assert_int_equal(breaker_state(&b), BREAKER_CLOSED);
	assert_true(breaker_available_from(&b) == INT64_MIN);
	assert_true(breaker_admit(&b, t + 701, &probe));
	assert_int_equal(probe, 0);
}

static void test_neutral_probe_closes(void **state)
{
	(void)state;
	struct breaker b;
	breaker_init(&b, 1, 500);
	assert_true(attempt(&b, 0, BREAKER_FAILURE));
	assert_true(attempt(&b, 500, BREAKER_NEUTRAL));
	assert_int_equal(breaker_state(&b), BREAKER_CLOSED);
}

static void test_reopen_doubles_up_to_cap(void **state)
{
	(void)state;
	struct breaker b;
	breaker_init(&b, 1, 5000);
	int64_t t = 0;
	assert_true(attempt(&b, t, BREAKER_FAILURE));
	int64_t want[] = { 10000, 20000, 40000, 60000, 60000 };
	int64_t pause = 5000;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_true(breaker_available_from(&b) == t + pause);
		t += pause;
		/* the probe fails: open again, for twice as long */
		assert_true(attempt(&b, t, BREAKER_FAILURE));
		assert_int_equal(breaker_state(&b), BREAKER_OPEN);
		pause = want[i];
	}
	assert_true(breaker_available_from(&b) == t + 60000);
	/* a success resets the doubling */
	t += 60000;
	assert_true(attempt(&b, t, BREAKER_SUCCESS));
	assert_int_equal(breaker_state(&b), BREAKER_CLOSED);
	assert_true(attempt(&b, t += 1, BREAKER_FAILURE));
	assert_true(breaker_available_from(&b) == t + 5000);
}

static void test_cap_never_below_open_ms(void **state)
{
	(void)state;
	struct breaker b;
	breaker_init(&b, 1, 100000);
	assert_true(attempt(&b, 0, BREAKER_FAILURE));
	assert_true(breaker_available_from(&b) == 100000);
	assert_true(attempt(&b, 100000, BREAKER_FAILURE));
	assert_true(breaker_available_from(&b) == 200000);
}

static void test_late_outcomes_while_open(void **state)
{
	(void)state;
	struct breaker b;
	breaker_init(&b, 2, 1000);
	int p1 = 0, p2 = 0, p3 = 0;
	assert_true(breaker_admit(&b, 0, &p1));
	assert_true(breaker_admit(&b, 0, &p2));
	assert_true(breaker_admit(&b, 0, &p3));
	breaker_record(&b, 10, BREAKER_FAILURE, p1);
	breaker_record(&b, 10, BREAKER_FAILURE, p2);
	assert_int_equal(breaker_state(&b), BREAKER_OPEN);
	/* the third's success, late, does not close it */
	breaker_record(&b, 20, BREAKER_SUCCESS, p3);
	assert_int_equal(breaker_state(&b), BREAKER_OPEN);
	assert_true(breaker_available_from(&b) == 1010);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_opens_after_failures_in_a_row),
		cmocka_unit_test(test_neutral_does_not_count),
		cmocka_unit_test(test_opens_on_failure_rate),
		cmocka_unit_test(test_rate_below_half_stays_closed),
		cmocka_unit_test(test_rate_only_within_ten_seconds),
		cmocka_unit_test(test_half_open_probe_closes),
		cmocka_unit_test(test_neutral_probe_closes),
		cmocka_unit_test(test_reopen_doubles_up_to_cap),
		cmocka_unit_test(test_cap_never_below_open_ms),
		cmocka_unit_test(test_late_outcomes_while_open),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
