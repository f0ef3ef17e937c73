/*
 * test_utf8.c — common/utf8.h: what is UTF-8 (RFC 3629), counting code
 * points, and control characters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "common/utf8.h"
#include "common/banned.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static void test_valid(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		int ok;
	} cases[] = {
		{ "", 1 },
		{ "abc", 1 },
		{ "\xD2\x9A\xD0\xB0\xD0\xB7", 1 }, /* Қаз */
		{ "\xE2\x82\xB8", 1 },		   /* ₸ */
		{ "\xF0\x9F\x98\x80", 1 },	   /* U+1F600 */
		{ "\xF4\x8F\xBF\xBF", 1 },	   /* U+10FFFF */
		{ "\xED\x9F\xBF", 1 },		   /* U+D7FF */
		{ "\xEE\x80\x80", 1 },		   /* U+E000 */
		{ "\x80", 0 },			   /* a lone continuation */
		{ "\xC2", 0 },			   /* cut short */
		{ "\xE2\x82", 0 },
		{ "\xC2\x41", 0 }, /* not a continuation */
		{ "\xC0\xAF", 0 }, /* overlong / */
		{ "\xC1\xBF", 0 },
		{ "\xE0\x9F\xBF", 0 },	       /* overlong U+07FF */
		{ "\xF0\x8F\xBF\xBF", 0 },     /* overlong U+FFFF */
		{ "\xED\xA0\x80", 0 },	       /* U+D800 */
		{ "\xED\xBF\xBF", 0 },	       /* U+DFFF */
		{ "\xF4\x90\x80\x80", 0 },     /* U+110000 */
		{ "\xF8\x88\x80\x80\x80", 0 }, /* five bytes */
		{ "\xFF", 0 },
		{ "a\xD0", 0 },
	};
	for (size_t i = 0; i < COUNT(cases); i++)
		if (utf8_valid(cases[i].s, strlen(cases[i].s)) != cases[i].ok)
			fail_msg("case %zu: want %d", i, cases[i].ok);
	assert_true(utf8_valid(NULL, 0));
	assert_true(utf8_valid("a\0b", 3)); /* NUL is U+0000 */
}

static void test_chars_and_controls(void **state)
{
	(void)state;
	assert_int_equal(utf8_chars("", 0), 0);
	assert_int_equal(utf8_chars("abc", 3), 3);
	assert_int_equal(utf8_chars("\xD2\x9A\xD0\xB0\xD0\xB7", 6), 3);
	assert_int_equal(utf8_chars("a\xF0\x9F\x98\x80z", 6), 3);

	assert_false(utf8_has_control("abc \xD0\x90", 6, 0));
	assert_true(utf8_has_control("a\nb", 3, 0));
	assert_false(utf8_has_control("a\nb\r\tc", 6, 1));
	assert_true(utf8_has_control("a\x7f", 2, 1));
	assert_true(utf8_has_control("a\0b", 3, 1));
	assert_true(utf8_has_control("\x1b[0m", 4, 1));
	/* C1 controls (U+0080-U+009F), and nothing either side of them. */
	assert_true(utf8_has_control("\xC2\x85", 2, 0));
	assert_true(utf8_has_control("a\xC2\x80", 3, 1));
	assert_true(utf8_has_control("\xC2\x9F", 2, 1));
	assert_false(utf8_has_control("\xC2\xA0\xC2\xBB", 4, 0)); /* NBSP, » */
	assert_false(utf8_has_control("\xC2", 1, 0));
	/* The bidirectional overrides and isolates, not their neighbours. */
	assert_true(utf8_has_control("a\xE2\x80\xAE", 4, 1)); /* U+202E */
	assert_true(utf8_has_control("\xE2\x80\xAA", 3, 0));  /* U+202A */
	assert_true(utf8_has_control("\xE2\x81\xA6", 3, 0));  /* U+2066 */
	assert_true(utf8_has_control("\xE2\x81\xA9", 3, 0));  /* U+2069 */
	assert_false(utf8_has_control("\xE2\x80\x94", 3, 0)); /* U+2014 — */
	assert_false(utf8_has_control("\xE2\x80\xAF", 3, 0)); /* U+202F */
	assert_false(utf8_has_control("\xE2\x81\xA5", 3, 0)); /* U+2065 */
	assert_false(utf8_has_control("\xE2\x82\xB8", 3, 0)); /* U+20B8 ₸ */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_chars_and_controls),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
