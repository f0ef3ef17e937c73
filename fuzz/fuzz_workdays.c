/*
 * fuzz_workdays.c — workdays_parse on arbitrary bytes, as `senim calendar
 * check` and `senim serve` read a year's calendar file, then the working-day
 * count on what it accepted.
 *
 * The input is the file, in an exactly sized heap block (not
 * NUL-terminated) so ASan sees any read past it.  Beyond "no crash, no
 * leak" the target checks:
 *   - the result is SENIM_OK or SENIM_ERR_INVALID, with a year only on
 *     SENIM_OK;
 *   - a refusal is one line "f.conf:LINE: ..." naming a line of the file
 *     (or the one after its last), in UTF-8 without control characters;
 *   - an accepted year: every entry's dates inside it, the day-off map
 *     agreeing with the entries (rebuilt here from the weekends and the
 *     entries, independently of the parser), every weekend holiday moved;
 *   - counting N working days from the day before 1 January lands on a
 *     working day with exactly N working days up to it, or reports the
 *     next year missing;
 *   - parsing is a function of the text: a second parse gives the same.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
#include "core/workdays.h"
#include "common/banned.h"

static void check_text(const char *s)
{
	size_t n = strlen(s);
	if (!utf8_valid(s, n) || utf8_has_control(s, n, 1))
		abort();
}

static int weekend(int32_t d)
{
	int wd = workdays_weekday(d);
	return wd == 0 || wd == 6;
}

static void check_accepted(struct workdays_year *y)
{
	if (y->last - y->first < 364 || y->last - y->first > 365)
		abort();
	unsigned char off[366];
	for (int32_t d = y->first; d <= y->last; d++)
		off[d - y->first] = (unsigned char)weekend(d);
	for (size_t i = 0; i < y->n; i++) {
		const struct workdays_entry *e = &y->entries[i];
		if (e->day < y->first || e->day > y->last || e->to < y->first ||
		    e->to > y->last)
			abort();
		switch (e->kind) {
		case WORKDAYS_HOLIDAY:
		case WORKDAYS_RELIGIOUS:
			check_text(e->name);
			off[e->day - y->first] = 1;
			break;
		case WORKDAYS_MOVED:
			if (e->day == e->to || !weekend(e->day) || weekend(e->to))
				abort();
			off[e->to - y->first] = 1;
			break;
		case WORKDAYS_TRANSFER:
			if (e->day == e->to || !weekend(e->day) || weekend(e->to))
				abort();
			off[e->day - y->first] = 0;
			off[e->to - y->first] = 1;
			break;
		}
		if (e->kind == WORKDAYS_HOLIDAY && weekend(e->day)) {
			int moved = 0;
			for (size_t j = 0; j < y->n; j++)
				moved |= y->entries[j].kind == WORKDAYS_MOVED &&
					 y->entries[j].day == e->day;
			if (!moved)
				abort();
		}
	}
	if (memcmp(off, y->off, (size_t)(y->last - y->first + 1)) != 0)
		abort();
	check_text(y->source);
	check_text(y->decree);
}

static void check_count(struct workdays_year *y)
{
	struct workdays *w = workdays_new();
	if (!w)
		abort();
	int working = 0;
	for (int32_t d = y->first; d <= y->last; d++)
		working += !y->off[d - y->first];
	int32_t first = y->first, last = y->last;
	unsigned char map[366];
	memcpy(map, y->off, sizeof(map));
	if (workdays_add_year(w, y))
		abort();
	for (int n = 1; n <= WORKDAYS_STEPS_MAX; n += 37) {
		int32_t due = 0;
		int missing = 0;
		enum senim_result rc = workdays_add(w, first - 1, n, &due, &missing);
		if (n > working) {
			if (rc != SENIM_ERR_NOT_FOUND)
				abort();
			continue;
		}
		if (rc != SENIM_OK || due < first || due > last || map[due - first])
			abort();
		int count = 0;
		for (int32_t d = first; d <= due; d++)
			count += !map[d - first];
		if (count != n)
			abort();
	}
	workdays_free(w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size ? size : 1);
	if (!text)
		abort();
	memcpy(text, data, size);
	size_t newlines = 0;
	for (size_t i = 0; i < size; i++)
		newlines += text[i] == '\n';

	char err[512];
	struct workdays_year *y = NULL;
	enum senim_result rc = workdays_parse("f.conf", text, size, &y, err, sizeof(err));
	if (rc == SENIM_ERR_INVALID) {
		if (y || strncmp(err, "f.conf:", 7) != 0)
			abort();
		char *end = NULL;
		unsigned long line = strtoul(err + 7, &end, 10);
		if (end == err + 7 || end[0] != ':' || end[1] != ' ' || line < 1 ||
		    line > newlines + 2)
			abort();
		check_text(err);
	} else if (rc == SENIM_OK) {
		if (!y)
			abort();
		check_accepted(y);
		struct workdays_year *again = NULL;
		if (workdays_parse("f.conf", text, size, &again, err, sizeof(err)) !=
			    SENIM_OK ||
		    memcmp(again, y, sizeof(*y)) != 0)
			abort();
		free(again);
		check_count(y); /* takes y */
	} else {
		abort();
	}
	free(text);
	return 0;
}
