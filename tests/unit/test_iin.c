/*
 * test_iin.c — the IIN rules of iin.h, one table row per rule.
 *
 * Every invalid number below breaks exactly one rule and carries a check
 * digit that is right for its first 11 digits (unless the row is about the
 * check digit), so each row fails if its rule is taken out.  The check
 * digits were computed with an independent Python one-off of the official
 * two-pass algorithm, not with iin.c:
 *
 *   W1 = range(1, 12); W2 = [3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2]
 *   def cd(p):
 *       d = [int(c) for c in p]
 *       s = sum(a * b for a, b in zip(d, W1)) % 11
 *       if s == 10:
 *           s = sum(a * b for a, b in zip(d, W2)) % 11
 *       return None if s == 10 else s
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/iin.h"
#include "common/banned.h"

#define N(a) (sizeof(a) / sizeof(a[0]))

/* ---- valid numbers --------------------------------------------------------- */

static const struct {
	const char *iin;
	int year, month, day;
	char sex;
	const char *why;
} valid[] = {
	{ "870412300129", 1987, 4, 12, 'M', "20th century, male" },
	{ "870412401232", 1987, 4, 12, 'F', "20th century, female" },
	{ "951231456781", 1995, 12, 31, 'F', "last day of the year" },
	{ "050101600077", 2005, 1, 1, 'F', "21st century, female" },
	{ "000229500117", 2000, 2, 29, 'M', "29 February 2000 (divisible by 400)" },
	{ "850315100422", 1885, 3, 15, 'M', "19th century, male" },
	{ "960229100011", 1896, 2, 29, 'M', "29 February 1896 (leap, 19th century)" },
	{ "000229600014", 2000, 2, 29, 'F', "29 February 2000, female" },
	/* The first pass gives 10 for these: the second pass's digit decides. */
	{ "870412300005", 1987, 4, 12, 'M', "check digit from the second pass (5)" },
	{ "870412300017", 1987, 4, 12, 'M', "check digit from the second pass (7)" },
	{ "870412300029", 1987, 4, 12, 'M', "check digit from the second pass (9)" },
};

static void test_iin_valid(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(valid); i++) {
		struct iin_info info;
		memset(&info, 0, sizeof(info));
		enum iin_error e = iin_parse(valid[i].iin, 12, &info);
		if (e != IIN_OK)
			fail_msg("%s (%s): %s", valid[i].iin, valid[i].why,
				 iin_error_rule(e));
		assert_int_equal(info.year, valid[i].year);
		assert_int_equal(info.month, valid[i].month);
		assert_int_equal(info.day, valid[i].day);
		assert_int_equal(info.sex, valid[i].sex);
		assert_int_equal(iin_matches(&info, valid[i].year, valid[i].month,
					     valid[i].day, valid[i].sex),
				 IIN_OK);
		assert_int_equal(iin_check_digit(valid[i].iin), valid[i].iin[11] - '0');
	}
}

/* ---- invalid numbers: one rule each ---------------------------------------- */

static const struct {
	const char *iin;
	enum iin_error want;
	const char *why;
} invalid[] = {
	{ "", IIN_LENGTH, "empty" },
	{ "87041230012", IIN_LENGTH, "11 digits" },
	{ "8704123001290", IIN_LENGTH, "13 digits" },
	{ "8704123A0129", IIN_DIGITS, "a letter in the serial" },
	{ "87041230012X", IIN_DIGITS, "a letter as check digit" },
	{ "870412 00129", IIN_DIGITS, "a space" },
	{ "-87041230012", IIN_DIGITS, "a sign" },
	{ "870231300125", IIN_DATE, "31 February" },
	{ "870230300127", IIN_DATE, "30 February" },
	{ "870229300124", IIN_DATE, "29 February 1987 (not a leap year)" },
	{ "000229300114", IIN_DATE, "29 February 1900 (divisible by 100, not by 400)" },
	{ "871312300128", IIN_DATE, "month 13" },
	{ "870012300124", IIN_DATE, "month 00" },
	{ "870400300123", IIN_DATE, "day 00" },
	{ "870431300122", IIN_DATE, "31 April" },
	{ "870412000125", IIN_CENTURY, "digit 7 = 0" },
	{ "870412700124", IIN_CENTURY, "digit 7 = 7" },
	{ "870412800120", IIN_CENTURY, "digit 7 = 8" },
	{ "870412900127", IIN_CENTURY, "digit 7 = 9" },
	{ "870412300120", IIN_CHECKSUM, "check digit 0, should be 9" },
	{ "870412300128", IIN_CHECKSUM, "check digit 8, should be 9" },
	{ "870412300004", IIN_CHECKSUM, "second pass: 4, should be 5" },
	/* Both passes give 10 for 87041230008 (first: 164 mod 11, second: 142
	 * mod 11); no twelfth digit makes it valid. */
	{ "870412300080", IIN_NO_CHECKSUM, "both passes give 10 (last digit 0)" },
	{ "870412300081", IIN_NO_CHECKSUM, "both passes give 10 (last digit 1)" },
	{ "870412301990", IIN_NO_CHECKSUM, "both passes give 10 (87041230199)" },
};

static void test_iin_invalid(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(invalid); i++) {
		struct iin_info info = { 1, 2, 3, 'X' };
		enum iin_error e =
			iin_parse(invalid[i].iin, strlen(invalid[i].iin), &info);
		if (e != invalid[i].want)
			fail_msg("%s (%s): got %s, want %s", invalid[i].iin,
				 invalid[i].why, iin_error_rule(e),
				 iin_error_rule(invalid[i].want));
		/* A refused number leaves the out-parameter alone. */
		assert_int_equal(info.year, 1);
		assert_int_equal(info.sex, 'X');
	}
}

/* The length comes from the caller, not from a NUL. */
static void test_iin_length_is_explicit(void **state)
{
	(void)state;
	struct iin_info info;
	assert_int_equal(iin_parse("870412300129999", 12, &info), IIN_OK);
	assert_int_equal(iin_parse("870412300129", 11, &info), IIN_LENGTH);
	assert_int_equal(iin_parse("870412\0"
				   "00129",
				   12, &info),
			 IIN_DIGITS);
	assert_int_equal(iin_parse(NULL, 12, &info), IIN_LENGTH);
	assert_int_equal(iin_parse("870412300129", 12, NULL), IIN_OK);
}

/* ---- the check digit on its own -------------------------------------------- */

static void test_iin_check_digit(void **state)
{
	(void)state;
	static const struct {
		const char *first11;
		int want;
	} rows[] = {
		{ "87041230012", 9 },  { "87041240123", 2 },
		{ "00022950011", 7 },  { "87041230000", 5 }, /* second pass */
		{ "87041230008", -1 }, { "87041230199", -1 },
		{ "87041230350", -1 }, { "00000000000", 0 },
	};
	for (size_t i = 0; i < N(rows); i++)
		assert_int_equal(iin_check_digit(rows[i].first11), rows[i].want);
}

/* The double-10 prefix is searched for here too, so the committed constant
 * is not the only witness: every prefix the search finds must be refused. */
static void test_iin_double_ten_search(void **state)
{
	(void)state;
	char iin[13] = "870412300000";
	int found = 0;
	for (int serial = 0; serial < 10000; serial++) {
		iin[7] = (char)('0' + serial / 1000);
		iin[8] = (char)('0' + serial / 100 % 10);
		iin[9] = (char)('0' + serial / 10 % 10);
		iin[10] = (char)('0' + serial % 10);
		if (iin_check_digit(iin) != -1)
			continue;
		found++;
		for (char last = '0'; last <= '9'; last++) {
			iin[11] = last;
			assert_int_equal(iin_parse(iin, 12, NULL), IIN_NO_CHECKSUM);
		}
	}
	/* About one prefix in 121 has both sums at 10. */
	assert_true(found > 10);
}

/* ---- agreement with the stated birth date and sex -------------------------- */

static void test_iin_matches(void **state)
{
	(void)state;
	struct iin_info info;
	assert_int_equal(iin_parse("870412300129", 12, &info), IIN_OK);
	static const struct {
		int year, month, day;
		char sex;
		enum iin_error want;
	} rows[] = {
		{ 1987, 4, 12, 'M', IIN_OK },
		{ 1987, 4, 13, 'M', IIN_BIRTH_MISMATCH },
		{ 1987, 5, 12, 'M', IIN_BIRTH_MISMATCH },
		{ 2087, 4, 12, 'M', IIN_BIRTH_MISMATCH },
		{ 1887, 4, 12, 'M', IIN_BIRTH_MISMATCH },
		{ 1987, 4, 12, 'F', IIN_SEX_MISMATCH },
		/* The date is checked first. */
		{ 1988, 4, 12, 'F', IIN_BIRTH_MISMATCH },
	};
	for (size_t i = 0; i < N(rows); i++)
		assert_int_equal(iin_matches(&info, rows[i].year, rows[i].month,
					     rows[i].day, rows[i].sex),
				 rows[i].want);

	assert_int_equal(iin_parse("870412401232", 12, &info), IIN_OK);
	assert_int_equal(iin_matches(&info, 1987, 4, 12, 'F'), IIN_OK);
	assert_int_equal(iin_matches(&info, 1987, 4, 12, 'M'), IIN_SEX_MISMATCH);
}

/* ---- rule names ------------------------------------------------------------ */

static void test_iin_rule_names(void **state)
{
	(void)state;
	assert_string_equal(iin_error_rule(IIN_LENGTH), "iin_length");
	assert_string_equal(iin_error_rule(IIN_DIGITS), "iin_digits");
	assert_string_equal(iin_error_rule(IIN_DATE), "iin_date");
	assert_string_equal(iin_error_rule(IIN_CENTURY), "iin_century");
	assert_string_equal(iin_error_rule(IIN_CHECKSUM), "iin_checksum");
	assert_string_equal(iin_error_rule(IIN_NO_CHECKSUM), "iin_no_checksum");
	assert_string_equal(iin_error_rule(IIN_BIRTH_MISMATCH),
			    "iin_birth_date_mismatch");
	assert_string_equal(iin_error_rule(IIN_SEX_MISMATCH), "iin_sex_mismatch");
	assert_non_null(iin_error_rule(IIN_OK));
	assert_non_null(iin_error_rule((enum iin_error)99));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_iin_valid),
		cmocka_unit_test(test_iin_invalid),
		cmocka_unit_test(test_iin_length_is_explicit),
		cmocka_unit_test(test_iin_check_digit),
		cmocka_unit_test(test_iin_double_ten_search),
		cmocka_unit_test(test_iin_matches),
		cmocka_unit_test(test_iin_rule_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
