/*
 * iin.c — the IIN's form, date, century digit and check digit (iin.h).
 *
 * The checks run in a fixed order so that every number gets the first rule it
 * breaks: length, digits, century digit, date, check digit.  The century comes
 * before the date because without it the date has no year.
 */
#include "core/iin.h"

#include <stddef.h>

#include "common/banned.h"

/* The official weights of the two passes over digits 1..11. */
static const int iin_w1[11] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 };
static const int iin_w2[11] = { 3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2 };

static int is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* 1 when y-m-d is a real Gregorian date. */
static int date_real(int y, int m, int d)
{
	static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (m < 1 || m > 12 || d < 1)
		return 0;
	int last = mdays[m - 1] + (m == 2 && is_leap(y));
	return d <= last;
}

int iin_check_digit(const char digits[11])
{
	int s = 0;
	for (int i = 0; i < 11; i++)
		s += (digits[i] - '0') * iin_w1[i];
	s %= 11;
	if (s != 10)
		return s;
	/* The first pass gave 10: the official rule takes the second weights. */
	s = 0;
	for (int i = 0; i < 11; i++)
		s += (digits[i] - '0') * iin_w2[i];
	s %= 11;
	return s == 10 ? -1 : s;
}

/*
 * Check the 12 characters of `s` and fill `out` (when non-NULL) on IIN_OK.
 * `out` is not touched on failure.
 */
enum iin_error iin_parse(const char *s, size_t len, struct iin_info *out)
{
	if (!s || len != 12)
		return IIN_LENGTH;
	for (size_t i = 0; i < 12; i++)
		if (s[i] < '0' || s[i] > '9')
			return IIN_DIGITS;

	int c = s[6] - '0';
	if (c < 1 || c > 6)
		return IIN_CENTURY;
	/* 1/2: born 1800-1899, 3/4: 1900-1999, 5/6: 2000-2099; odd = male. */
	int year = 1800 + 100 * ((c - 1) / 2) + (s[0] - '0') * 10 + (s[1] - '0');
	int month = (s[2] - '0') * 10 + (s[3] - '0');
	int day = (s[4] - '0') * 10 + (s[5] - '0');
	if (!date_real(year, month, day))
		return IIN_DATE;

	int check = iin_check_digit(s);
	if (check < 0)
		return IIN_NO_CHECKSUM;
	if (check != s[11] - '0')
		return IIN_CHECKSUM;

	if (out) {
		out->year = year;
		out->month = month;
		out->day = day;
		out->sex = (c % 2) ? 'M' : 'F';
	}
	return IIN_OK;
}

enum iin_error iin_matches(const struct iin_info *info, int year, int month, int day,
			   char sex)
{
	if (info->year != year || info->month != month || info->day != day)
		return IIN_BIRTH_MISMATCH;
	if (info->sex != sex)
		return IIN_SEX_MISMATCH;
	return IIN_OK;
}

const char *iin_error_rule(enum iin_error e)
{
	switch (e) {
	case IIN_OK:
		return "ok";
	case IIN_LENGTH:
		return "iin_length";
	case IIN_DIGITS:
		return "iin_digits";
	case IIN_DATE:
		return "iin_date";
	case IIN_CENTURY:
		return "iin_century";
	case IIN_CHECKSUM:
		return "iin_checksum";
	case IIN_NO_CHECKSUM:
		return "iin_no_checksum";
	case IIN_BIRTH_MISMATCH:
		return "iin_birth_date_mismatch";
	case IIN_SEX_MISMATCH:
		return "iin_sex_mismatch";
	}
	return "iin_invalid";
}
