/*
 * iin.h — the Kazakh individual identification number (ЖСН/ИИН), 12 digits.
 *
 * Digits 1-6 are the birth date YYMMDD; digit 7 gives century and sex
 * (1 = 19th c. male, 2 = 19th c. female, 3/4 = 20th c., 5/6 = 21st c.);
 * digits 8-11 a serial; digit 12 a check digit computed with the official
 * two-pass weights: sum(d[i] * w[i]) mod 11 with w = 1..11; when that is 10,
 * again with w = 3,4,...,11,1,2; when that is 10 too, the number is not a
 * valid IIN.  Pure code: no I/O, no allocation.
 */
#ifndef SENIM_IIN_H
#define SENIM_IIN_H

#include <stddef.h>

enum iin_error {
	IIN_OK,
	IIN_LENGTH,	    /* not exactly 12 characters */
	IIN_DIGITS,	    /* a character that is not 0-9 */
	IIN_DATE,	    /* digits 1-6 (with the century) are not a real date */
	IIN_CENTURY,	    /* digit 7 not in 1..6 */
	IIN_CHECKSUM,	    /* check digit does not match */
	IIN_NO_CHECKSUM,    /* both passes give 10: no valid IIN has these digits */
	IIN_BIRTH_MISMATCH, /* the IIN's date is not the given birth date */
	IIN_SEX_MISMATCH,   /* the IIN's sex is not the given sex */
};

struct iin_info {
	int year, month, day;
	char sex; /* 'M' or 'F' */
};

/* Check the IIN's form, date, century digit and check digit. */
enum iin_error iin_parse(const char *s, size_t len, struct iin_info *out);

/* Check a parsed IIN against a stated birth date and sex ('M'/'F'). */
enum iin_error iin_matches(const struct iin_info *info, int year, int month, int day,
			   char sex);

/* The validation rule name of an error, for problem+json ("iin_checksum"). */
const char *iin_error_rule(enum iin_error e);

/* The check digit of the first 11 digits (0-9), or -1 when both passes give
 * 10; used by tests and data generators. */
int iin_check_digit(const char digits[11]);

#endif
