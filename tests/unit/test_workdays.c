/*
 * test_workdays.c — the working-day calendar: each refusal of the parser
 * names its line, the day-off map follows the weekends, holidays, moves
 * and transfers, and counting working days crosses them and stops at a
 * missing year.  The shipped files parse.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/textconf.h"
#include "core/schedule.h"
#include "core/workdays.h"
#include "common/banned.h"

#define HEAD "year = 2026\nsource = law\ndecree = none known\nverified = no\n"

static struct workdays_year *parse_ok(const char *text)
{
	struct workdays_year *y = NULL;
	char err[512];
	if (workdays_parse("t.conf", text, strlen(text), &y, err, sizeof(err)) !=
	    SENIM_OK)
		fail_msg("refused: %s", err);
	return y;
}

static void refused(const char *text, const char *want)
{
	struct workdays_year *y = NULL;
	char err[512];
	assert_int_equal(
		workdays_parse("t.conf", text, strlen(text), &y, err, sizeof(err)),
		SENIM_ERR_INVALID);
	assert_null(y);
	if (!strstr(err, want))
		fail_msg("got '%s', want '%s'", err, want);
}

static int32_t day(const char *s)
{
	int32_t d;
	assert_true(textconf_date(s, strlen(s), &d));
	return d;
}

static void test_refusals(void **state)
{
	(void)state;
	refused("", "t.conf:1: year: missing");
	refused("year = 2026\n", "t.conf:2: source: missing");
	refused("source = x\n", "t.conf:1: source: the year comes first");
	refused(HEAD "holiday = 2025-12-31 Old\n",
		"t.conf:5: holiday: 2025-12-31 is outside the year 2026");
	refused(HEAD "moved = 2026-03-08 -> 2027-01-01\n",
		"t.conf:5: moved: 2027-01-01 is outside the year 2026");
	refused(HEAD "holiday = 2026-01-01 A\nholiday = 2026-01-01 B\n",
		"t.conf:6: holiday: 2026-01-01 is named twice");
	refused(HEAD "religious = 2026-01-07 A\nholiday = 2026-01-07 B\n",
		"t.conf:6: holiday: 2026-01-07 is named twice");
	/* A weekday "moved" to itself, and a transfer to itself. */
	refused(HEAD "holiday = 2026-03-08 A\nmoved = 2026-03-08 -> 2026-03-08\n",
		"t.conf:6: moved: 2026-03-08 is moved to itself");
	refused(HEAD "transfer = 2026-01-03 -> 2026-01-03\n",
		"t.conf:5: transfer: 2026-01-03 is moved to itself");
	refused(HEAD "holiday = 2026-01-01 A\nmoved = 2026-01-01 -> 2026-01-05\n",
		"t.conf:6: moved: 2026-01-01 is a Thursday");
	refused(HEAD "moved = 2026-03-08 -> 2026-03-09\n",
		"t.conf:5: moved: 2026-03-08 is not a holiday listed above");
	refused(HEAD "holiday = 2026-03-08 A\nmoved = 2026-03-08 -> 2026-03-09\n"
		     "moved = 2026-03-08 -> 2026-03-10\n",
		"t.conf:7: moved: 2026-03-08 is moved twice");
	refused(HEAD "holiday = 2026-03-08 A\nmoved = 2026-03-08 -> 2026-03-14\n",
		"t.conf:6: moved: 2026-03-14 is a Saturday, not a working weekday");
	refused(HEAD "holiday = 2026-03-09 A\nholiday = 2026-03-08 B\n"
		     "moved = 2026-03-08 -> 2026-03-09\n",
		"t.conf:7: moved: 2026-03-09 is already a day off");
	refused(HEAD "holiday = 2026-03-08 A\nmoved = 2026-03-08 -> 2026-03-02\n",
		"t.conf:6: moved: 2026-03-02 is before the holiday");
	refused(HEAD "religious = 2026-01-03 A\nmoved = 2026-01-03 -> 2026-01-05\n",
		"t.conf:6: moved: 2026-01-03 is not a holiday listed above (religious");
	refused("year = 1999\n", "t.conf:1: year: a year from 2000 to 2100");
	refused(HEAD "transfer = 2026-01-05 -> 2026-01-06\n",
		"t.conf:5: transfer: 2026-01-05 is a Monday");
	refused(HEAD "transfer = 2026-01-03 -> 2026-01-05\n"
		     "transfer = 2026-01-03 -> 2026-01-06\n",
		"t.conf:6: transfer: 2026-01-03 is moved twice");
	refused(HEAD "transfer = 2026-01-03 -> 2026-01-05\nholiday = 2026-01-03 A\n",
		"t.conf:6: holiday: 2026-01-03 is a working day by a transfer above");
	refused(HEAD "holiday = 2026-03-08 A\n",
		"t.conf:5: holiday: a holiday on a Sunday needs its moved = line");
	refused(HEAD "year = 2027\n", "t.conf:5: year: given twice");
	refused(HEAD "weekend = 2026-01-01\n", "t.conf:5: unknown key 'weekend'");
	refused(HEAD "holiday = 2026-02-30 A\n", "t.conf:5: holiday: not a date");
	refused(HEAD "holiday = 2026-01-01\n", "t.conf:5: holiday: a date, a space");
	refused(HEAD "verified = maybe\n", "t.conf:5: verified: given twice");
	refused("year = 2026\nverified = maybe\n", "t.conf:2: verified: yes or no");
	refused(HEAD "garbage\n", "t.conf:5: neither a comment nor key = value");
	refused(HEAD "holiday = 2026-01-01 \x01\n", "t.conf:5: a control character");
}

static void test_map_and_count(void **state)
{
	(void)state;
	struct workdays_year *y =
		parse_ok(HEAD "# a comment\r\nholiday = 2026-03-08 Women\nmoved = "
			      "2026-03-08 -> 2026-03-09\n"
			      "religious = 2026-01-07 Christmas\ntransfer = 2026-01-03 "
			      "-> 2026-01-05\n");
	assert_int_equal(y->year, 2026);
	assert_int_equal(y->n, 4);
	struct workdays *w = workdays_new();
	assert_non_null(w);
	assert_int_equal(workdays_add_year(w, y), SENIM_OK);
	int off = -1, missing = 0;
	assert_int_equal(workdays_is_off(w, day("2026-03-07"), &off, NULL), SENIM_OK);
	assert_int_equal(off, 1); /* a Saturday */
	assert_int_equal(workdays_is_off(w, day("2026-03-09"), &off, NULL), SENIM_OK);
	assert_int_equal(off, 1); /* the moved day off */
	assert_int_equal(workdays_is_off(w, day("2026-01-03"), &off, NULL), SENIM_OK);
	assert_int_equal(off, 0); /* a Saturday worked by the transfer */
	assert_int_equal(workdays_is_off(w, day("2026-01-05"), &off, NULL), SENIM_OK);
	assert_int_equal(off, 1);

	int32_t due;
	/* Friday 6 March + 1: Sat, Sun, the moved Monday off: Tuesday 10. */
	assert_int_equal(workdays_add(w, day("2026-03-06"), 1, &due, NULL), SENIM_OK);
	assert_int_equal(due, day("2026-03-10"));
	/* Friday 2 January + 3: Saturday 3 worked, Monday 5 off, Tuesday 6,
	 * Wednesday 7 Christmas: 3, 6, 8. */
	assert_int_equal(workdays_add(w, day("2026-01-02"), 3, &due, NULL), SENIM_OK);
	assert_int_equal(due, day("2026-01-08"));
	/* The day of receipt never counts, even when it is a working day. */
	assert_int_equal(workdays_add(w, day("2026-03-11"), 1, &due, NULL), SENIM_OK);
	assert_int_equal(due, day("2026-03-12"));
	/* The walk leaves 2026: 2027 is missing, never guessed. */
	assert_int_equal(workdays_add(w, day("2026-12-30"), 3, &due, &missing),
			 SENIM_ERR_NOT_FOUND);
	assert_int_equal(missing, 2027);
	assert_int_equal(workdays_is_off(w, day("2025-06-01"), &off, &missing),
			 SENIM_ERR_NOT_FOUND);
	assert_int_equal(missing, 2025);
	assert_int_equal(workdays_add(w, day("2026-03-11"), 0, &due, NULL),
			 SENIM_ERR_INVALID);
	/* A second file of the same year is refused. */
	assert_int_equal(workdays_add_year(w, parse_ok(HEAD)), SENIM_ERR_CONFLICT);
	workdays_free(w);
	workdays_free(NULL);
}

static void test_weekday(void **state)
{
	(void)state;
	assert_int_equal(workdays_weekday(0), 4); /* 1970-01-01 Thursday */
	assert_int_equal(workdays_weekday(day("2026-12-06")), 0); /* a Sunday */
	assert_int_equal(workdays_weekday(day("1969-12-31")), 3); /* Wednesday */
	assert_int_equal(workdays_weekday(day("2027-01-02")), 6); /* Saturday */
}

static struct workdays_year *shipped(int year)
{
	char path[4096];
	const char *src = getenv("SENIM_SOURCE_DIR");
	if (src && *src) {
		snprintf(path, sizeof(path), "%s/data/calendar/kz-%d.conf", src, year);
	} else {
		const char *here = __FILE__;
		const char *cut = strstr(here, "tests/unit/");
		snprintf(path, sizeof(path), "%.*sdata/calendar/kz-%d.conf",
			 cut ? (int)(cut - here) : 0, here, year);
	}
	FILE *fp = fopen(path, "rb");
	if (!fp)
		fail_msg("cannot open %s", path);
	static char text[WORKDAYS_FILE_MAX + 1];
	size_t len = fread(text, 1, sizeof(text), fp);
	fclose(fp);
	struct workdays_year *y = NULL;
	char err[512];
	if (workdays_parse(path, text, len, &y, err, sizeof(err)) != SENIM_OK)
		fail_msg("%s", err);
	assert_int_equal(y->year, year);
	return y;
}

static void test_shipped_files(void **state)
{
	(void)state;
	struct workdays *w = workdays_new();
	for (int year = 2025; year <= 2027; year++)
		assert_int_equal(workdays_add_year(w, shipped(year)), SENIM_OK);
	int32_t due;
	/* Nauryz 2026: Friday 20 March + 1 crosses 21-25 March (the holidays
	 * and the two days moved from the weekend): Thursday 26. */
	assert_int_equal(workdays_add(w, day("2026-03-20"), 1, &due, NULL), SENIM_OK);
	assert_int_equal(due, day("2026-03-26"));
	/* 2025's transfer: Thursday 2 January + 1 is Sunday 5, worked. */
	assert_int_equal(workdays_add(w, day("2025-01-02"), 1, &due, NULL), SENIM_OK);
	assert_int_equal(due, day("2025-01-05"));
	/* Across the new year: Wednesday 30 December 2026 + 3: 31 December,
	 * then 1-3 January off, 4 January the moved day: 5, 6 (7 Christmas). */
	assert_int_equal(workdays_add(w, day("2026-12-30"), 3, &due, NULL), SENIM_OK);
	assert_int_equal(due, day("2027-01-06"));
	workdays_free(w);
}

/* A day in Kazakhstan begins at 19:00 UTC the evening before (UTC+5). */
static void test_kazakhstan_days(void **state)
{
	(void)state;
	int32_t d = schedule_day(2026, 12, 7);
	int64_t start = clock_kz_day_start_us(d);
	assert_int_equal(start, (int64_t)1796583600 * 1000000); /* 2026-12-06T19:00Z */
	assert_int_equal(clock_kz_day(start), d);
	assert_int_equal(clock_kz_day(start - 1), d - 1);
	assert_int_equal(clock_kz_day(start + 86400LL * 1000000 - 1), d);
	/* Before 1970 too: the day floors, it does not truncate toward 0. */
	assert_int_equal(clock_kz_day(clock_kz_day_start_us(-3) + 1), -3);
	assert_int_equal(clock_kz_day(clock_kz_day_start_us(-3) - 1), -4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_map_and_count),
		cmocka_unit_test(test_weekday),
		cmocka_unit_test(test_shipped_files),
		cmocka_unit_test(test_kazakhstan_days),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
