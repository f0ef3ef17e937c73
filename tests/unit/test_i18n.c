/*
 * test_i18n.c — choosing ru, kk or en from Accept-Language (RFC 9110
 * 12.5.4) and from a `lang` parameter.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "http/i18n.h"
#include "common/banned.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static void test_negotiate(void **state)
{
	(void)state;
	static const struct {
		const char *header;
		enum lang want;
	} cases[] = {
		/* Nothing usable: the default, Russian. */
		{ NULL, LANG_RU },
		{ "", LANG_RU },
		{ " ", LANG_RU },
		{ ",,,", LANG_RU },
		{ ";;;", LANG_RU },
		{ "de", LANG_RU },
		{ "fr-FR, de;q=0.9", LANG_RU },
		{ "english", LANG_RU },
		{ "e", LANG_RU },
		{ "enx", LANG_RU },
		{ "k", LANG_RU },
		/* One language, any case, with or without a region. */
		{ "en", LANG_EN },
		{ "kk", LANG_KK },
		{ "ru", LANG_RU },
		{ "kk-KZ", LANG_KK },
		{ "KK-kz", LANG_KK },
		{ "kk_KZ", LANG_KK },
		{ "EN-gb", LANG_EN },
		{ "kk-Cyrl-KZ", LANG_KK },
		/* Browsers' lists. */
		{ "ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7", LANG_RU },
		{ "en-US,en;q=0.9", LANG_EN },
		{ "de-DE,de;q=0.9,kk;q=0.8,en;q=0.7", LANG_KK },
		{ "de, en;q=0.5", LANG_EN },
		/* q-values decide, whatever the order. */
		{ "en;q=0.5, kk;q=0.8", LANG_KK },
		{ "kk;q=0.1, en;q=0.2, ru;q=0.15", LANG_EN },
		{ "en;q=0.001, de", LANG_EN },
		{ "kk;q=1, en;q=1.0, ru;q=1.000", LANG_KK },
		{ "en;q=0.9, kk", LANG_KK },
		{ "en;Q=0.7, kk;q=0.6", LANG_EN },
		{ "en;q=1.", LANG_EN },
		{ "en;q=0.", LANG_RU },
		{ "en;q=0.5, kk;q=0.50", LANG_EN },
		{ "en;q=0.499, kk;q=0.5", LANG_KK },
		/* Ties keep the client's order. */
		{ "en, kk", LANG_EN },
		{ "kk, en", LANG_KK },
		{ "en;q=0.8, kk;q=0.8", LANG_EN },
		{ "kk;q=0.8, en;q=0.8", LANG_KK },
		{ "kk;q=0.8, ru;q=0.8", LANG_KK },
		/* q=0 means "not acceptable". */
		{ "en;q=0", LANG_RU },
		{ "kk;q=0.000", LANG_RU },
		{ "en;q=0, kk;q=0.001", LANG_KK },
		/* "*" stands for our default. */
		{ "*", LANG_RU },
		{ "en;q=0.5, *", LANG_RU },
		{ "*;q=0.1, kk;q=0.2", LANG_KK },
		{ "*;q=0.5, en;q=0.5", LANG_RU },
		{ "en;q=0.5, *;q=0.5", LANG_EN },
		{ "de, *;q=0.1", LANG_RU },
		/* A malformed weight drops that entry, not the header. */
		{ "en;q=abc", LANG_RU },
		{ "en;q=2", LANG_RU },
		{ "en;q=1.5, kk;q=0.9", LANG_KK }, /* a weight above 1 is malformed */
		{ "en;q=1.000, kk;q=0.9", LANG_EN },
		{ "en;q=", LANG_RU },
		{ "en;q", LANG_RU },
		{ "en;q=0.1234", LANG_RU },
		{ "en;q=0.5.5", LANG_RU },
		{ "en;q=-1", LANG_RU },
		{ "en;x=1", LANG_RU },
		{ "kk;q=0.5, en;q=x", LANG_KK },
		{ "en;q=0.9x, kk;q=0.1", LANG_KK },
		/* Optional whitespace around everything. */
		{ " en ; q=0.9 , kk;q=0.8", LANG_EN },
		{ "\ten", LANG_EN },
		{ "de ,  kk", LANG_KK },
		{ "en;\tq=0.3, kk;q=0.2", LANG_EN },
	};
	for (size_t i = 0; i < COUNT(cases); i++) {
		enum lang got = lang_negotiate(cases[i].header);
		if (got != cases[i].want)
			fail_msg("\"%s\": want %s, got %s",
				 cases[i].header ? cases[i].header : "(null)",
				 lang_code(cases[i].want), lang_code(got));
	}
}

static void test_parse(void **state)
{
	(void)state;
	static const struct {
		const char *code;
		int want;
	} cases[] = {
		{ "ru", LANG_RU },
		{ "kk", LANG_KK },
		{ "en", LANG_EN },
		{ "RU", LANG_RU },
		{ "Kk", LANG_KK },
		{ "kk-KZ", LANG_KK },
		{ "en_GB", LANG_EN },
		{ "en-GB-x1", LANG_EN },
		{ "kk-KZ-abcdefgh", LANG_KK },	 /* 8 characters a subtag */
		{ "kk-KZ-abcdefghi", -1 },	 /* 9 */
		{ "en-aaaaaaaa-bbb", LANG_EN },	 /* 15 bytes */
		{ "en-aaaaaaaa-bbbb", LANG_EN }, /* 16 bytes */
		{ "en-aaaaaaaa-bbbbb", -1 },	 /* 17 bytes */
		{ "en-", -1 },
		{ "en--GB", -1 },
		{ "kk-!!", -1 },
		{ "kk-K Z", -1 },
		{ "kk-\xd0\x9a", -1 },
		{ NULL, -1 },
		{ "", -1 },
		{ "*", -1 },
		{ "*-KZ", -1 },
		{ "de", -1 },
		{ "e", -1 },
		{ "eng", -1 },
		{ "kaz", -1 },
		{ "рус", -1 },
		{ " kk", -1 },
		{ "kk ", -1 },
		{ "-kk", -1 },
	};
	for (size_t i = 0; i < COUNT(cases); i++) {
		int got = lang_parse(cases[i].code);
		if (got != cases[i].want)
			fail_msg("\"%s\": want %d, got %d",
				 cases[i].code ? cases[i].code : "(null)", cases[i].want,
				 got);
	}
}

static void test_code(void **state)
{
	(void)state;
	assert_string_equal(lang_code(LANG_RU), "ru");
	assert_string_equal(lang_code(LANG_KK), "kk");
	assert_string_equal(lang_code(LANG_EN), "en");
	assert_string_equal(lang_code(LANG__COUNT), "ru");
	assert_string_equal(lang_code((enum lang) - 1), "ru");
	/* Every code parses back to its language. */
	for (int l = 0; l < LANG__COUNT; l++)
		assert_int_equal(lang_parse(lang_code((enum lang)l)), l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_negotiate),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_code),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
