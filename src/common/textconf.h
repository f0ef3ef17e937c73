/*
 * textconf.h — the pieces shared by senim's sectioned text files (the loan
 * rules, the scorecard): dates, whole numbers, names worth repeating in a
 * message, and the bytes a line may hold.  Pure functions over (pointer,
 * length) views; nothing here allocates or needs a NUL.
 */
#ifndef SENIM_TEXTCONF_H
#define SENIM_TEXTCONF_H

#include <stddef.h>
#include <stdint.h>

/* The most digits textconf_number() reads: 10^12 fits any value the files
 * hold, and products of two such stay far below 2^63. */
#define TEXTCONF_DIGITS_MAX 12

/* Days since 1970-01-01 of a proleptic Gregorian date (not checked). */
int32_t textconf_days_from_civil(int y, int m, int d);

/* "YYYY-MM-DD" in exactly len bytes, years 1900-9999, a real calendar day:
 * 1 with *days set (days since 1970-01-01), else 0. */
int textconf_date(const char *s, size_t len, int32_t *days);

/* The calendar date of days since 1970-01-01 (the inverse of the above). */
void textconf_civil_from_days(int32_t days, int *y, int *m, int *d);

/* A whole number in [min, max]: 1 to TEXTCONF_DIGITS_MAX digits, no sign:
 * 1 with *out set, else 0. */
int textconf_number(const char *s, size_t len, int64_t min, int64_t max, int64_t *out);

/* A name from a file worth repeating in a message: [a-z0-9_]{1,32}. */
int textconf_plain_name(const char *s, size_t len);

/* Space or TAB. */
int textconf_is_space(char c);

/* Call fn for each line of text[0..len) split at LF (a CR before it is the
 * line's, for the caller's check), numbered from 1, until fn returns
 * non-zero, which is returned; 0 when every line was taken.  *next_line
 * (may be NULL) gets the number after the last line. */
typedef int (*textconf_line_fn)(void *ctx, unsigned line, const char *s, size_t len);
int textconf_each_line(const char *text, size_t len, textconf_line_fn fn, void *ctx,
		       unsigned *next_line);

/* 1 when the line holds a control character other than TAB (DEL, C1
 * controls and bidirectional overrides count: utf8.h). */
int textconf_has_control(const char *s, size_t len);

#endif
