/*
 * test_iban.c — KZ IBANs (core/iban.h), table-driven: the shape (length,
 * country, digits where digits go, upper case), the mod-97 check, the
 * check digits ISO 13616 never issues, and normalisation of written forms.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/iban.h"
#include "common/banned.h"

#define N(a) (sizeof(a) / sizeof(a[0]))

static const struct {
	const char *in;
	int valid;
} ibans[] = {
	/* Valid: the IBAN registry's KZ example and two more, checked with an
	 * independent mod-97 (Python's int()). */
	{ "KZ86125KZT5004100100", 1 },
	{ "KZ75125KZT2069100100", 1 },
	{ "KZ563190000012344567", 1 },
	/* One character changed, and two swapped: the check fails. */
	{ "KZ86125KZT5004100101", 0 },
	{ "KZ87125KZT5004100100", 0 },
	{ "KZ86215KZT5004100100", 0 },
	{ "KZ86125KZT5004101000", 0 },
	/* The shape. */
	{ "KZ86125KZT500410010", 0 },	/* 19 characters */
	{ "KZ86125KZT50041001000", 0 }, /* 21 */
	{ "", 0 },
	{ "DE86125KZT5004100100", 0 }, /* not KZ */
	{ "kz86125KZT5004100100", 0 }, /* lower case country */
	{ "KZ86125kzt5004100100", 0 }, /* lower case account */
	{ "KZ8612AKZT5004100100", 0 }, /* a letter in the bank code */
	{ "KZ86 125KZT500410010", 0 }, /* a space */
	{ "KZ86125KZT50041001-0", 0 }, /* punctuation */
	/* Check digits outside 02-98, even where mod 97 would hold. */
	{ "KZ00125KZT5004100100", 0 },
	{ "KZ01125KZT5004100100", 0 },
	{ "KZ99125KZT5004100100", 0 },
};

static void test_valid(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(ibans); i++) {
		int got = iban_kz_valid(ibans[i].in, strlen(ibans[i].in));
		if (got != ibans[i].valid)
			fail_msg("%s: got %d, want %d", ibans[i].in, got, ibans[i].valid);
	}
	assert_int_equal(iban_kz_valid(NULL, 20), 0);
	/* A NUL inside the 20 bytes is not a character of an IBAN. */
	assert_int_equal(iban_kz_valid("KZ86125KZT500410010\0", 20), 0);
}

static void test_mod97(void **state)
{
	(void)state;
	assert_int_equal(iban_mod97("KZ86125KZT5004100100", 20), 1);
	/* The registry's examples of other countries: the check is generic. */
	assert_int_equal(iban_mod97("GB82WEST12345698765432", 22), 1);
	assert_int_equal(iban_mod97("DE89370400440532013000", 22), 1);
	assert_int_equal(iban_mod97("KZ00125KZT5004100100", 20), 12);
	assert_int_equal(iban_mod97("KZ8", 3), -1);
	assert_int_equal(iban_mod97("KZ86125KZT5004100100KZ86125KZT50041", 35), -1);
	assert_int_equal(iban_mod97("KZ86125kzt5004100100", 20), -1);
}

static void test_normalize(void **state)
{
	(void)state;
	char out[IBAN_KZ_SIZE];
	const char *in = "kz86 125k zt50 0410 0100";
	assert_int_equal(iban_kz_normalize(in, strlen(in), out), 1);
	assert_string_equal(out, "KZ86125KZT5004100100");
	in = "KZ86 125K ZT50 0410 0101";
	assert_int_equal(iban_kz_normalize(in, strlen(in), out), 0);
	assert_string_equal(out, "");
	in = "KZ86125KZT5004100100 0";
	assert_int_equal(iban_kz_normalize(in, strlen(in), out), 0);
	in = "KZ86-125K-ZT50-0410-0100";
	assert_int_equal(iban_kz_normalize(in, strlen(in), out), 0);
	assert_int_equal(iban_kz_normalize(NULL, 0, out), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_mod97),
		cmocka_unit_test(test_normalize),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
