/*
 * workdays.c — the working-day calendar (workdays.h): a year's file parsed
 * line by line into its day-off map, and counting working days.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/textconf.h"
#include "common/utf8.h"
#include "core/workdays.h"
#include "common/banned.h"

#define YEAR_MIN 2000
#define YEAR_MAX 2100

int workdays_weekday(int32_t day)
{
	/* 1970-01-01 was a Thursday (4). */
	int r = (int)(day % 7);
	if (r < 0)
		r += 7;
	return (r + 4) % 7;
}

static int is_weekend(int32_t day)
{
	int wd = workdays_weekday(day);
	return wd == 0 || wd == 6;
}

/* ---- the parser ------------------------------------------------------------- */

struct parser {
	const char *file;
	char *err;
	size_t errlen;
	struct workdays_year *y;
	unsigned seen;		    /* bit 0 year, 1 source, 2 decree, 3 verified */
	unsigned char holiday[366]; /* 1 secular, 2 religious, by day of year */
	unsigned char moved[366];   /* 1: this holiday's day off was moved */
};

/* "FILE:LINE: KEY: MESSAGE" into p->err (no "KEY: " with key NULL), cut at
 * a character.  Returns SENIM_ERR_INVALID. */
__attribute__((format(printf, 4, 5))) static enum senim_result
failf(struct parser *p, unsigned line, const char *key, const char *fmt, ...)
{
	if (!p->errlen)
		return SENIM_ERR_INVALID;
	size_t n = (size_t)snprintf(p->err, p->errlen, "%s:%u: ", p->file, line);
	if (key && n < p->errlen)
		n += (size_t)snprintf(p->err + n, p->errlen - n, "%s: ", key);
	if (n < p->errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(p->err + n, p->errlen - n, fmt, ap);
		va_end(ap);
	}
	size_t len = strlen(p->err);
	while (len > 0 && !utf8_valid(p->err, len))
		p->err[--len] = '\0';
	return SENIM_ERR_INVALID;
}

static const char *const day_names[7] = { "Sunday",   "Monday", "Tuesday", "Wednesday",
					  "Thursday", "Friday", "Saturday" };

/* A date of the file's year at s[0..10): its day of the year, or -1 after
 * writing the refusal (*rc). */
static int date_in_year(struct parser *p, unsigned line, const char *key, const char *s,
			size_t len, int32_t *day, enum senim_result *rc)
{
	if (len < 10 || !textconf_date(s, 10, day)) {
		*rc = failf(p, line, key, "not a date YYYY-MM-DD");
		return -1;
	}
	if (*day < p->y->first || *day > p->y->last) {
		*rc = failf(p, line, key, "%.10s is outside the year %d", s, p->y->year);
		return -1;
	}
	return (int)(*day - p->y->first);
}

/* A text value (source, decree, a name): 1-WORKDAYS_TEXT_MAX code points. */
static enum senim_result text_value(struct parser *p, unsigned line, const char *key,
				    const char *v, size_t vlen, char *out)
{
	if (vlen == 0)
		return failf(p, line, key, "empty");
	if (utf8_chars(v, vlen) > WORKDAYS_TEXT_MAX)
		return failf(p, line, key, "longer than %d characters",
			     WORKDAYS_TEXT_MAX);
	memcpy(out, v, vlen); /* vlen < WORKDAYS_LINE_MAX <= 4 * TEXT_MAX */
	out[vlen] = '\0';
	return SENIM_OK;
}

/* `holiday = DATE NAME` or `religious = DATE NAME`. */
static enum senim_result holiday(struct parser *p, unsigned line, const char *key,
				 int religious, const char *v, size_t vlen)
{
	enum senim_result rc = SENIM_OK;
	int32_t day;
	int doy = date_in_year(p, line, key, v, vlen, &day, &rc);
	if (doy < 0)
		return rc;
	if (p->holiday[doy])
		return failf(p, line, key, "%.10s is named twice", v);
	if (p->y->off[doy] && !is_weekend(day))
		return failf(p, line, key, "%.10s is already a day off by a move", v);
	if (!p->y->off[doy] && is_weekend(day))
		return failf(p, line, key, "%.10s is a working day by a transfer above",
			     v);
	v += 10;
	vlen -= 10;
	if (vlen == 0 || !textconf_is_space(*v))
		return failf(p, line, key, "a date, a space, then the holiday's name");
	while (vlen && textconf_is_space(*v))
		v++, vlen--;
	struct workdays_entry *e = &p->y->entries[p->y->n];
	rc = text_value(p, line, key, v, vlen, e->name);
	if (rc)
		return rc;
	e->kind = religious ? WORKDAYS_RELIGIOUS : WORKDAYS_HOLIDAY;
	e->day = e->to = day;
	e->line = line;
	p->y->n++;
	p->holiday[doy] = religious ? 2 : 1;
	p->y->off[doy] = 1;
	return SENIM_OK;
}

/* `moved = DATE -> DATE` or `transfer = DATE -> DATE`. */
static enum senim_result move(struct parser *p, unsigned line, const char *key,
			      int transfer, const char *v, size_t vlen)
{
	enum senim_result rc = SENIM_OK;
	int32_t from, to;
	int a = date_in_year(p, line, key, v, vlen, &from, &rc);
	if (a < 0)
		return rc;
	const char *w = v + 10;
	size_t wlen = vlen - 10;
	while (wlen && textconf_is_space(*w))
		w++, wlen--;
	if (wlen < 2 || memcmp(w, "->", 2) != 0)
		return failf(p, line, key, "DATE -> DATE");
	w += 2, wlen -= 2;
	while (wlen && textconf_is_space(*w))
		w++, wlen--;
	int b = date_in_year(p, line, key, w, wlen, &to, &rc);
	if (b < 0)
		return rc;
	if (wlen != 10)
		return failf(p, line, key, "DATE -> DATE, nothing after");
	if (from == to)
		return failf(p, line, key, "%.10s is moved to itself", v);
	if (transfer) {
		if (!is_weekend(from))
			return failf(p, line, key,
				     "%.10s is a %s: a transfer starts at a Saturday "
				     "or Sunday",
				     v, day_names[workdays_weekday(from)]);
		if (p->holiday[a])
			return failf(p, line, key,
				     "%.10s is a holiday: a decree does not make it "
				     "a working day",
				     v);
		if (!p->y->off[a])
			return failf(p, line, key, "%.10s is moved twice", v);
	} else {
		if (p->holiday[a] != 1)
			return failf(p, line, key,
				     "%.10s is not a holiday listed above (religious "
				     "holidays are not moved)",
				     v);
		if (!is_weekend(from))
			return failf(p, line, key,
				     "%.10s is a %s: only a holiday on a Saturday or "
				     "Sunday is moved",
				     v, day_names[workdays_weekday(from)]);
		if (p->moved[a])
			return failf(p, line, key, "%.10s is moved twice", v);
		if (to < from)
			return failf(p, line, key,
				     "%.10s is before the holiday: a day off moves "
				     "forward",
				     w);
	}
	if (is_weekend(to))
		return failf(p, line, key, "%.10s is a %s, not a working weekday", w,
			     day_names[workdays_weekday(to)]);
	if (p->y->off[b])
		return failf(p, line, key, "%.10s is already a day off", w);
	struct workdays_entry *e = &p->y->entries[p->y->n++];
	e->kind = transfer ? WORKDAYS_TRANSFER : WORKDAYS_MOVED;
	e->day = from;
	e->to = to;
	e->line = line;
	e->name[0] = '\0';
	if (transfer)
		p->y->off[a] = 0;
	else
		p->moved[a] = 1;
	p->y->off[b] = 1;
	return SENIM_OK;
}

static const char *const keys[] = { "year",    "source",    "decree", "verified",
				    "holiday", "religious", "moved",  "transfer" };

/* A `key = value` line, trimmed; `eq` is the offset of '='. */
static enum senim_result key_value(struct parser *p, unsigned line, const char *s,
				   size_t len, size_t eq)
{
	size_t klen = eq;
	while (klen && textconf_is_space(s[klen - 1]))
		klen--;
	const char *v = s + eq + 1;
	size_t vlen = len - eq - 1;
	while (vlen && textconf_is_space(*v))
		v++, vlen--;
	int k = -1;
	for (int i = 0; i < (int)(sizeof(keys) / sizeof(keys[0])); i++)
		if (strlen(keys[i]) == klen && memcmp(keys[i], s, klen) == 0)
			k = i;
	if (k < 0) {
		if (textconf_plain_name(s, klen))
			return failf(p, line, NULL, "unknown key '%.*s'", (int)klen, s);
		return failf(p, line, NULL, "unknown key");
	}
	const char *key = keys[k];
	if (k > 0 && !(p->seen & 1u))
		return failf(p, line, key, "the year comes first");
	if (k < 4) {
		if (p->seen & (1u << k))
			return failf(p, line, key, "given twice");
		p->seen |= 1u << k;
	}
	if (vlen == 0)
		return failf(p, line, key, "empty");
	switch (k) {
	case 0: {
		int64_t year;
		if (!textconf_number(v, vlen, YEAR_MIN, YEAR_MAX, &year))
			return failf(p, line, key, "a year from %d to %d", YEAR_MIN,
				     YEAR_MAX);
		p->y->year = (int)year;
		p->y->first = textconf_days_from_civil((int)year, 1, 1);
		p->y->last = textconf_days_from_civil((int)year, 12, 31);
		for (int32_t d = p->y->first; d <= p->y->last; d++)
			p->y->off[d - p->y->first] = (unsigned char)is_weekend(d);
		return SENIM_OK;
	}
	case 1:
		return text_value(p, line, key, v, vlen, p->y->source);
	case 2:
		return text_value(p, line, key, v, vlen, p->y->decree);
	case 3:
		if (vlen == 3 && memcmp(v, "yes", 3) == 0)
			p->y->verified = 1;
		else if (vlen == 2 && memcmp(v, "no", 2) == 0)
			p->y->verified = 0;
		else
			return failf(p, line, key, "yes or no");
		return SENIM_OK;
	default:
		break;
	}
	if (p->y->n >= WORKDAYS_ENTRIES_MAX)
		return failf(p, line, key, "more than %d dated lines",
			     WORKDAYS_ENTRIES_MAX);
	if (k == 4 || k == 5)
		return holiday(p, line, key, k == 5, v, vlen);
	return move(p, line, key, k == 7, v, vlen);
}

/* One raw line (no LF): length, encoding, then what kind of line it is. */
static enum senim_result one_line(struct parser *p, unsigned line, const char *s,
				  size_t len)
{
	if (len && s[len - 1] == '\r')
		len--;
	if (len > WORKDAYS_LINE_MAX)
		return failf(p, line, NULL, "longer than %d bytes", WORKDAYS_LINE_MAX);
	if (!utf8_valid(s, len))
		return failf(p, line, NULL, "not UTF-8");
	if (textconf_has_control(s, len))
		return failf(p, line, NULL, "a control character");
	while (len && textconf_is_space(*s))
		s++, len--;
	while (len && textconf_is_space(s[len - 1]))
		len--;
	if (len == 0 || s[0] == '#')
		return SENIM_OK;
	const char *eq = memchr(s, '=', len);
	if (!eq || eq == s)
		return failf(p, line, NULL, "neither a comment nor key = value");
	return key_value(p, line, s, len, (size_t)(eq - s));
}

static int each_line(void *p, unsigned line, const char *s, size_t len)
{
	return (int)one_line(p, line, s, len);
}

enum senim_result workdays_parse(const char *name, const char *text, size_t len,
				 struct workdays_year **out, char *err, size_t errlen)
{
	*out = NULL;
	if (errlen)
		err[0] = '\0';
	struct parser p = { .file = name, .err = err, .errlen = errlen };
	if (len > WORKDAYS_FILE_MAX)
		return failf(&p, 1, NULL, "the file is longer than %d bytes",
			     WORKDAYS_FILE_MAX);
	p.y = calloc(1, sizeof(*p.y));
	if (!p.y)
		return SENIM_ERR_NOMEM;
	unsigned line = 1;
	enum senim_result rc =
		(enum senim_result)textconf_each_line(text, len, each_line, &p, &line);
	if (rc)
		goto fail;
	static const char *const required[] = { "year", "source", "decree", "verified" };
	for (int i = 0; i < 4; i++)
		if (!(p.seen & (1u << i))) {
			rc = failf(&p, line, required[i], "missing");
			goto fail;
		}
	/* Labour Code: a holiday on a weekend gives its day off on the next
	 * working day; the file must say which, not leave it to a guess. */
	for (size_t i = 0; i < p.y->n; i++) {
		const struct workdays_entry *e = &p.y->entries[i];
		if (e->kind == WORKDAYS_HOLIDAY && is_weekend(e->day) &&
		    !p.moved[e->day - p.y->first]) {
			rc = failf(&p, e->line, "holiday",
				   "a holiday on a %s needs its moved = line",
				   day_names[workdays_weekday(e->day)]);
			goto fail;
		}
	}
	*out = p.y;
	return SENIM_OK;
fail:
	free(p.y);
	return rc;
}

/* ---- the calendar ------------------------------------------------------------ */

struct workdays *workdays_new(void)
{
	return calloc(1, sizeof(struct workdays));
}

void workdays_free(struct workdays *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->n; i++)
		free(w->years[i]);
	free(w);
}

enum senim_result workdays_add_year(struct workdays *w, struct workdays_year *y)
{
	for (size_t i = 0; i < w->n; i++)
		if (w->years[i]->year == y->year) {
			free(y);
			return SENIM_ERR_CONFLICT;
		}
	if (w->n >= WORKDAYS_YEARS_MAX) {
		free(y);
		return SENIM_ERR_TOO_LARGE;
	}
	w->years[w->n++] = y;
	return SENIM_OK;
}

const struct workdays_year *workdays_year_of(const struct workdays *w, int32_t day)
{
	for (size_t i = 0; w && i < w->n; i++)
		if (day >= w->years[i]->first && day <= w->years[i]->last)
			return w->years[i];
	return NULL;
}

enum senim_result workdays_is_off(const struct workdays *w, int32_t day, int *off,
				  int *missing_year)
{
	const struct workdays_year *y = workdays_year_of(w, day);
	if (!y) {
		if (missing_year) {
			int yy, m, d;
			textconf_civil_from_days(day, &yy, &m, &d);
			*missing_year = yy;
		}
		return SENIM_ERR_NOT_FOUND;
	}
	*off = y->off[day - y->first];
	return SENIM_OK;
}

enum senim_result workdays_add(const struct workdays *w, int32_t from, int n,
			       int32_t *out, int *missing_year)
{
	if (n < 1 || n > WORKDAYS_STEPS_MAX)
		return SENIM_ERR_INVALID;
	int32_t d = from;
	/* Each step moves a day on or stops at the first day of a missing
	 * year, so the walk ends after at most a few hundred days. */
	while (n > 0) {
		d++;
		int off;
		enum senim_result err = workdays_is_off(w, d, &off, missing_year);
		if (err)
			return err;
		if (!off)
			n--;
	}
	*out = d;
	return SENIM_OK;
}
