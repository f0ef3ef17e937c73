/*
 * test_ids.c — time-ordered record ids (common/ids.h): the shape every id
 * check in the API expects, order by creation time as plain strings, and
 * unguessable tails.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <string.h>

#include "common/ids.h"
#include "common/banned.h"

#define ID_LEN (4 + ID_BODY_CHARS + 1)

static void test_shape(void **state)
{
	(void)state;
	char id[ID_LEN];
	id_time_ordered(id, "sbj_", INT64_C(1764000000000));
	assert_int_equal(strlen(id), 4 + ID_BODY_CHARS);
	assert_memory_equal(id, "sbj_", 4);
	assert_true(id_body_valid(id + 4));
	for (const char *p = id + 4; *p; p++)
		assert_non_null(
			strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			       "0123456789-_",
			       *p));
}

/* Later milliseconds sort later, across every digit of the time part; and
 * the string order is the time order whatever the random tails are. */
static void test_order_follows_time(void **state)
{
	(void)state;
	static const int64_t times[] = {
		0,
		1,
		63,
		64,
		4095,
		4096,
		1700000000000,
		1700000000001,
		1764000000000,
		INT64_C(281474976710655), /* 2^48 - 1 */
	};
	size_t n = sizeof(times) / sizeof(times[0]);
	for (size_t i = 0; i + 1 < n; i++)
		for (int k = 0; k < 20; k++) {
			char a[ID_LEN], b[ID_LEN];
			id_time_ordered(a, "cns_", times[i]);
			id_time_ordered(b, "cns_", times[i + 1]);
			assert_true(strcmp(a, b) < 0);
		}
}

/* The same millisecond: same time part, different random parts. */
static void test_same_millisecond_differs(void **state)
{
	(void)state;
	char a[ID_LEN], b[ID_LEN];
	id_time_ordered(a, "sbj_", 1764000000000);
	id_time_ordered(b, "sbj_", 1764000000000);
	assert_memory_equal(a, b, 4 + 8);
	assert_string_not_equal(a + 12, b + 12);
}

static void test_body_validation(void **state)
{
	(void)state;
	assert_true(id_body_valid("ABCDEFGHIJKLMNOPQRSTUV"));
	assert_true(id_body_valid("-_09azAZ-_09azAZ-_09az"));
	assert_false(id_body_valid(""));
	assert_false(id_body_valid("ABCDEFGHIJKLMNOPQRSTU"));	/* 21 */
	assert_false(id_body_valid("ABCDEFGHIJKLMNOPQRSTUVW")); /* 23 */
	assert_false(id_body_valid("ABCDEFGHIJKLMNOPQRST+/"));	/* not base64url */
	assert_false(id_body_valid("ABCDEFGHIJKLMNOPQRST.U"));
	assert_false(id_body_valid("ABCDEFGHIJKLMNOPQRSTU%"));
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shape),
		cmocka_unit_test(test_order_follows_time),
		cmocka_unit_test(test_same_millisecond_differs),
		cmocka_unit_test(test_body_validation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
