/*
 * test_backoff.c — doubling pauses after failures (common/backoff.h): the
 * schedule, table-driven; a pause per key; tries during a pause do not
 * count; a quiet key is forgotten.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <string.h>

#include "common/backoff.h"
#include "common/banned.h"

static const struct backoff_policy P = {
	.free_failures = 5, .base_s = 1, .max_s = 60, .forget_s = 900
};

static void test_schedule(void **state)
{
	(void)state;
	static const struct {
		int64_t failures;
		int delay_s;
	} cases[] = { { 0, 0 },	  { 4, 0 },   { 5, 1 },	       { 6, 2 },
		      { 7, 4 },	  { 10, 32 }, { 11, 60 },      { 12, 60 },
		      { 63, 60 }, { 64, 60 }, { 1000000, 60 }, { INT64_MAX, 60 } };
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (backoff_delay_s(&P, cases[i].failures) != cases[i].delay_s)
			fail_msg("after %lld failures: %d s, want %d s",
				 (long long)cases[i].failures,
				 backoff_delay_s(&P, cases[i].failures),
				 cases[i].delay_s);
}

static void test_pause_per_key(void **state)
{
	(void)state;
	struct backoff *b = backoff_new(1024, &P);
	assert_non_null(b);
	for (int i = 0; i < 4; i++) {
		backoff_failed(b, "10.0.0.1", 8);
		assert_int_equal(backoff_wait_s(b, "10.0.0.1", 8), 0);
	}
	backoff_failed(b, "10.0.0.1", 8);
	assert_int_equal(backoff_wait_s(b, "10.0.0.1", 8), 1);
	backoff_failed(b, "10.0.0.1", 8);
	assert_int_equal(backoff_wait_s(b, "10.0.0.1", 8), 2);
	/* another key is not held back */
	assert_int_equal(backoff_wait_s(b, "10.0.0.2", 8), 0);
	backoff_free(b);
}

static void test_quiet_keys_are_forgotten(void **state)
{
	(void)state;
	struct backoff_policy forgetful = P;
	forgetful.forget_s = 0; /* forgotten as soon as they are looked at */
	struct backoff *b = backoff_new(16, &forgetful);
	for (int i = 0; i < 10; i++)
		backoff_failed(b, "k", 1);
	assert_int_equal(backoff_wait_s(b, "k", 1), 0);
	backoff_free(b);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_schedule),
		cmocka_unit_test(test_pause_per_key),
		cmocka_unit_test(test_quiet_keys_are_forgotten),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
