/*
 * workdays.h — Kazakhstan's working-day calendar, one file per year
 * (data/calendar/kz-YYYY.conf, docs/rights.md), and the arithmetic the legal
 * deadlines of data-subject requests need: "N working days after a date".
 * Pure code: the caller reads the files.
 *
 * A file is lines of UTF-8 text (LF or CRLF, at most WORKDAYS_FILE_MAX
 * bytes, lines of at most WORKDAYS_LINE_MAX bytes, no control characters
 * but TAB).  A line is blank, a comment (`#` first), or `key = value` (the
 * value runs to the end of the line, trimmed):
 *
 *   year = YYYY             first, once: the year the file describes
 *   source = TEXT           once: the laws the days off come from
 *   decree = TEXT           once: the Government's decree (or order) moving
 *                           days off this year, cited, or why none is given
 *   verified = yes|no       once: whether the decree was checked against
 *                           its published text (no: the file says so)
 *   holiday = DATE NAME     a holiday by law (a day off); one falling on a
 *                           Saturday or Sunday needs its `moved` line
 *   religious = DATE NAME   a religious holiday (a day off) that is never
 *                           moved when it falls on a weekend
 *   moved = DATE -> DATE    the day off of a holiday on a weekend, given
 *                           instead on a later working weekday (Labour Code)
 *   transfer = DATE -> DATE the decree's move: the first date, a Saturday or
 *                           Sunday, is worked; the second, a weekday, is off
 *
 * Every date is in the file's year.  A file is refused, naming the line
 * ("FILE:LINE: KEY: MESSAGE", "FILE:LINE: MESSAGE" for a fault of the line
 * itself, the line after the last for a missing key), when a date is
 * outside its year, named twice (two holidays on a day, a day given off
 * twice, a holiday moved twice), moved to itself or backwards, a `moved`
 * does not start at a listed holiday on a weekend or a `transfer` at a
 * weekend day, a target is not a working weekday, or a holiday on a
 * weekend has no move.
 *
 * Days are counted since 1970-01-01 (common/textconf.h).  A calendar holds
 * the years loaded; a day in a year it lacks is SENIM_ERR_NOT_FOUND, never
 * a guess from the weekends alone.
 */
#ifndef SENIM_WORKDAYS_H
#define SENIM_WORKDAYS_H

#include <stddef.h>
#include <stdint.h>

#include "common/result.h"

#define WORKDAYS_FILE_MAX (64 * 1024)
#define WORKDAYS_LINE_MAX 512
#define WORKDAYS_ENTRIES_MAX 64 /* dated lines in one file */
#define WORKDAYS_YEARS_MAX 64	/* years in one calendar */
#define WORKDAYS_TEXT_MAX 300	/* code points of source, decree, a name */
#define WORKDAYS_STEPS_MAX 366	/* working days one deadline may count */

enum workdays_kind {
	WORKDAYS_HOLIDAY,
	WORKDAYS_RELIGIOUS,
	WORKDAYS_MOVED,
	WORKDAYS_TRANSFER,
};

/* One dated line: a holiday (day, name) or a move (day -> to). */
struct workdays_entry {
	enum workdays_kind kind;
	int32_t day;
	int32_t to; /* moves only */
	unsigned line;
	char name[4 * WORKDAYS_TEXT_MAX + 1];
};

/* One year as its file gives it, and the resulting day-off map. */
struct workdays_year {
	int year;
	int verified;
	int32_t first; /* the days of 1 January and 31 December */
	int32_t last;
	char source[4 * WORKDAYS_TEXT_MAX + 1];
	char decree[4 * WORKDAYS_TEXT_MAX + 1];
	struct workdays_entry entries[WORKDAYS_ENTRIES_MAX];
	size_t n;
	unsigned char off[366]; /* 1: a day off, by day of the year */
};

/*
 * Parse one year's file: SENIM_OK with *out set (free with free()), or
 * SENIM_ERR_INVALID with the one line in err (errlen may be 0), or
 * SENIM_ERR_NOMEM.  Nothing is allocated on failure.
 */
SENIM_MUST_CHECK enum senim_result workdays_parse(const char *name, const char *text,
						  size_t len, struct workdays_year **out,
						  char *err, size_t errlen);

/* The weekday of a day: 0 Sunday .. 6 Saturday. */
int workdays_weekday(int32_t day);

/* The loaded years, each owned by the calendar. */
struct workdays {
	struct workdays_year *years[WORKDAYS_YEARS_MAX];
	size_t n;
};

/* An empty calendar; free with workdays_free (NULL does nothing). */
struct workdays *workdays_new(void);
void workdays_free(struct workdays *w);

/* Take y into w (w owns it then, also on failure, when it frees it):
 * SENIM_ERR_CONFLICT when w has that year already, SENIM_ERR_TOO_LARGE
 * when it holds WORKDAYS_YEARS_MAX. */
SENIM_MUST_CHECK enum senim_result workdays_add_year(struct workdays *w,
						     struct workdays_year *y);

/* The year of w holding day, or NULL. */
const struct workdays_year *workdays_year_of(const struct workdays *w, int32_t day);

/* *off = 1 when day is a day off: SENIM_ERR_NOT_FOUND when w lacks its
 * year (*missing_year set, may be NULL). */
SENIM_MUST_CHECK enum senim_result workdays_is_off(const struct workdays *w, int32_t day,
						   int *off, int *missing_year);

/*
 * The n-th working day after `from` (1 <= n <= WORKDAYS_STEPS_MAX): the
 * day of receipt does not count, the first working day after it is the
 * first.  SENIM_ERR_NOT_FOUND when a day on the way lies in a year w
 * lacks (*missing_year set, may be NULL); SENIM_ERR_INVALID for n out of
 * range.
 */
SENIM_MUST_CHECK enum senim_result workdays_add(const struct workdays *w, int32_t from,
						int n, int32_t *out, int *missing_year);

#endif
