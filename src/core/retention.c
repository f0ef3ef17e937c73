/*
 * retention.c — the retention file's parser and its rules (retention.h).
 *
 * One pass over the lines fills the table; the checks that need the whole
 * file (every pair given, D7's ordering) run once it is read.  A minimum is
 * declared before the entries that name it, so an entry is checked against
 * its minimum on its own line.
 */
#include "core/retention.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/textconf.h"
#include "common/utf8.h"
#include "common/banned.h"

static const char *const state_codes[RETENTION_STATE__COUNT] = {
	[RETENTION_APPLICANT_REFUSED] = "applicant_refused",
	[RETENTION_OPEN_LOAN] = "open_loan",
	[RETENTION_LOAN_CLOSED] = "loan_closed",
	[RETENTION_CONSENT_WITHDRAWN] = "consent_withdrawn",
};

static const char *const action_codes[] = {
	[RETENTION_KEEP] = "keep",
	[RETENTION_ANONYMISE] = "anonymise",
	[RETENTION_DESTROY] = "destroy",
};

const char *retention_state_code(enum retention_state s)
{
	if ((int)s < 0 || s >= RETENTION_STATE__COUNT)
		return NULL;
	return state_codes[s];
}

int retention_state_parse(const char *code)
{
	for (int i = 0; i < RETENTION_STATE__COUNT; i++)
		if (strcmp(state_codes[i], code) == 0)
			return i;
	return -1;
}

const char *retention_action_code(enum retention_action a)
{
	if ((int)a < 0 || a > RETENTION_DESTROY)
		return NULL;
	return action_codes[a];
}

void retention_period_text(struct retention_period p, char *out, size_t size)
{
	static const char unit[] = { 'd', 'm', 'y' };
	if (p.unit == RETENTION_OPEN)
		snprintf(out, size, "open");
	else
		snprintf(out, size, "%ld%c", (long)p.n, unit[p.unit]);
}

/* ---- period arithmetic ------------------------------------------------------ */

static int leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	return m == 2 && leap(y) ? 29 : days[m - 1];
}

int32_t retention_period_end(int32_t start, struct retention_period p)
{
	if (p.unit == RETENTION_OPEN)
		return INT32_MAX;
	if (p.unit == RETENTION_DAYS)
		return start + p.n;
	int y, m, d;
	textconf_civil_from_days(start, &y, &m, &d);
	int32_t months = p.unit == RETENTION_YEARS ? p.n * 12 : p.n;
	int32_t total = (int32_t)(m - 1) + months;
	y += total / 12;
	m = total % 12 + 1;
	/* Past the end of a shorter month: its last day, never the next
	 * month's first (the law counts the period to the month's end). */
	if (d > month_days(y, m))
		d = month_days(y, m);
	return textconf_days_from_civil(y, m, d);
}

/* The fewest and the most days a period can last, whatever its start. */
static int64_t shortest_days(struct retention_period p)
{
	switch (p.unit) {
	case RETENTION_DAYS:
		return p.n;
	case RETENTION_MONTHS:
		/* n months hold at least n*28 days plus 2 for each full year. */
		return (int64_t)p.n * 28 + (int64_t)(p.n / 12) * (365 - 12 * 28);
	case RETENTION_YEARS:
		return (int64_t)p.n * 365;
	case RETENTION_OPEN:
		break;
	}
	return INT64_MAX;
}

static int64_t longest_days(struct retention_period p)
{
	switch (p.unit) {
	case RETENTION_DAYS:
		return p.n;
	case RETENTION_MONTHS:
		return (int64_t)p.n * 31;
	case RETENTION_YEARS:
		/* At most one leap day in every four years. */
		return (int64_t)p.n * 365 + (p.n + 3) / 4;
	case RETENTION_OPEN:
		break;
	}
	return INT64_MAX;
}

int retention_period_at_least(struct retention_period a, struct retention_period b)
{
	if (a.unit == RETENTION_OPEN)
		return 1;
	if (b.unit == RETENTION_OPEN)
		return 0;
	if (a.unit == b.unit)
		return a.n >= b.n;
	/* Months and years compare exactly in months. */
	if (a.unit != RETENTION_DAYS && b.unit != RETENTION_DAYS) {
		int64_t am = a.unit == RETENTION_YEARS ? (int64_t)a.n * 12 : a.n;
		int64_t bm = b.unit == RETENTION_YEARS ? (int64_t)b.n * 12 : b.n;
		return am >= bm;
	}
	return shortest_days(a) >= longest_days(b);
}

/* ---- the parser ------------------------------------------------------------------ */

struct parse {
	struct retention_rules *r;
	struct retention_error *err;
};

__attribute__((format(printf, 3, 4))) static int fail(struct parse *p, unsigned line,
						      const char *fmt, ...)
{
	p->err->line = line;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->err->message, sizeof(p->err->message), fmt, ap);
	va_end(ap);
	return 1;
}

/* The next whitespace-separated word of [*s, end): 1 with [*w, *wlen), else 0. */
static int word(const char **s, const char *end, const char **w, size_t *wlen)
{
	while (*s < end && textconf_is_space(**s))
		(*s)++;
	if (*s == end)
		return 0;
	*w = *s;
	while (*s < end && !textconf_is_space(**s))
		(*s)++;
	*wlen = (size_t)(*s - *w);
	return 1;
}

/* The rest of the line, trimmed, into out (1-RETENTION_TEXT_MAX bytes). */
static int rest(const char *s, const char *end, char *out)
{
	while (s < end && textconf_is_space(*s))
		s++;
	while (end > s && textconf_is_space(end[-1]))
		end--;
	size_t n = (size_t)(end - s);
	if (n == 0 || n > RETENTION_TEXT_MAX)
		return 0;
	memcpy(out, s, n);
	out[n] = '\0';
	return 1;
}

static int period(const char *w, size_t len, struct retention_period *out)
{
	if (len == 4 && memcmp(w, "open", 4) == 0) {
		out->unit = RETENTION_OPEN;
		out->n = 0;
		return 1;
	}
	if (len < 2)
		return 0;
	int64_t max;
	switch (w[len - 1]) {
	case 'd':
		out->unit = RETENTION_DAYS;
		max = 36500;
		break;
	case 'm':
		out->unit = RETENTION_MONTHS;
		max = 1200;
		break;
	case 'y':
		out->unit = RETENTION_YEARS;
		max = 100;
		break;
	default:
		return 0;
	}
	int64_t n;
	if (!textconf_number(w, len - 1, 0, max, &n))
		return 0;
	out->n = (int32_t)n;
	return 1;
}

static int same(const char *w, size_t len, const char *lit)
{
	return strlen(lit) == len && memcmp(w, lit, len) == 0;
}

/* w[0..len) as a NUL-terminated name, when it is a plain one. */
static int name_of(const char *w, size_t len, char out[33])
{
	if (!textconf_plain_name(w, len))
		return 0;
	memcpy(out, w, len);
	out[len] = '\0';
	return 1;
}

static int minimum_line(struct parse *p, unsigned line, const char *s, const char *end)
{
	const char *w;
	size_t wl;
	struct retention_minimum m = { .line = line };
	if (!word(&s, end, &w, &wl) || !name_of(w, wl, m.name))
		return fail(p, line, "minimum: a name [a-z0-9_]{1,32} is needed");
	for (size_t i = 0; i < p->r->minimums; i++)
		if (strcmp(p->r->minimum[i].name, m.name) == 0)
			return fail(p, line, "minimum %s: declared already on line %u",
				    m.name, p->r->minimum[i].line);
	if (p->r->minimums == RETENTION_MINIMUMS_MAX)
		return fail(p, line, "more than %d minimums", RETENTION_MINIMUMS_MAX);
	if (!word(&s, end, &w, &wl) || !period(w, wl, &m.period) ||
	    m.period.unit == RETENTION_OPEN)
		return fail(p, line, "minimum %s: the period must be Nd, Nm or Ny",
			    m.name);
	if (!rest(s, end, m.source))
		return fail(p, line,
			    "minimum %s: its legal source (1-%d bytes) is needed", m.name,
			    RETENTION_TEXT_MAX);
	p->r->minimum[p->r->minimums++] = m;
	return 0;
}

static int retain_line(struct parse *p, unsigned line, const char *s, const char *end)
{
	const char *w;
	size_t wl;
	char name[33];
	if (!word(&s, end, &w, &wl) || !name_of(w, wl, name) || category_parse(name) < 0)
		return fail(p, line, "retain: an unknown category");
	int c = category_parse(name);
	if (!word(&s, end, &w, &wl) || !name_of(w, wl, name) ||
	    retention_state_parse(name) < 0)
		return fail(p, line, "retain %s: an unknown state", category_code(c));
	int st = retention_state_parse(name);
	struct retention_entry *e = &p->r->entry[st][c];
	if (e->line)
		return fail(p, line, "retain %s %s: given already on line %u",
			    category_code(c), state_codes[st], e->line);
	if (!word(&s, end, &w, &wl) || !period(w, wl, &e->period))
		return fail(p, line,
			    "retain %s %s: the period must be Nd, Nm, Ny or open",
			    category_code(c), state_codes[st]);
	if ((st == RETENTION_OPEN_LOAN) != (e->period.unit == RETENTION_OPEN))
		return fail(p, line,
			    "retain %s %s: `open` is the period of open_loan, and only "
			    "of it",
			    category_code(c), state_codes[st]);
	if (!word(&s, end, &w, &wl))
		return fail(p, line, "retain %s %s: an action is needed",
			    category_code(c), state_codes[st]);
	if (same(w, wl, "keep"))
		e->action = RETENTION_KEEP;
	else if (same(w, wl, "anonymise"))
		e->action = RETENTION_ANONYMISE;
	else if (same(w, wl, "destroy"))
		e->action = RETENTION_DESTROY;
	else
		return fail(p, line,
			    "retain %s %s: the action is keep, anonymise or destroy",
			    category_code(c), state_codes[st]);
	if ((e->action == RETENTION_KEEP) != (st == RETENTION_OPEN_LOAN))
		return fail(p, line,
			    "retain %s %s: `keep` is the action of open_loan, and only "
			    "of it",
			    category_code(c), state_codes[st]);
	if (!word(&s, end, &w, &wl) || !name_of(w, wl, name))
		return fail(p, line, "retain %s %s: a minimum's name is needed",
			    category_code(c), state_codes[st]);
	for (size_t i = 0; i < p->r->minimums; i++)
		if (strcmp(p->r->minimum[i].name, name) == 0)
			e->minimum = &p->r->minimum[i];
	if (!e->minimum)
		return fail(p, line, "retain %s %s: minimum %s is not declared above",
			    category_code(c), state_codes[st], name);
	if (!retention_period_at_least(e->period, e->minimum->period)) {
		char a[16], b[16];
		retention_period_text(e->period, a, sizeof(a));
		retention_period_text(e->minimum->period, b, sizeof(b));
		return fail(p, line,
			    "retain %s %s: %s is below the legal minimum %s (%s, line "
			    "%u)",
			    category_code(c), state_codes[st], a, name, b,
			    e->minimum->line);
	}
	if (!rest(s, end, e->basis))
		return fail(p, line, "retain %s %s: its basis (1-%d bytes) is needed",
			    category_code(c), state_codes[st], RETENTION_TEXT_MAX);
	e->line = line;
	return 0;
}

static int each_line(void *ctx, unsigned line, const char *s, size_t len)
{
	struct parse *p = ctx;
	if (len && s[len - 1] == '\r')
		len--;
	if (len > RETENTION_LINE_MAX)
		return fail(p, line, "the line is longer than %d bytes",
			    RETENTION_LINE_MAX);
	if (!utf8_valid(s, len) || textconf_has_control(s, len))
		return fail(p, line, "not UTF-8, or a control character");
	const char *end = s + len, *w;
	size_t wl;
	const char *cur = s;
	if (!word(&cur, end, &w, &wl) || w[0] == '#')
		return 0;
	if (same(w, wl, "minimum"))
		return minimum_line(p, line, cur, end);
	if (same(w, wl, "retain"))
		return retain_line(p, line, cur, end);
	return fail(p, line, "a line is `minimum ...`, `retain ...`, a comment or blank");
}

/* The checks over the whole file; `last` is the line after the last one. */
static int whole(struct parse *p, unsigned last)
{
	for (int st = 0; st < RETENTION_STATE__COUNT; st++)
		for (int c = 0; c < CATEGORY__COUNT; c++)
			if (!p->r->entry[st][c].line)
				return fail(p, last, "no entry for %s in state %s",
					    category_code(c), state_codes[st]);
	/* D7: in each state no special category outlives the shortest-kept
	 * ordinary one. */
	for (int st = 0; st < RETENTION_STATE__COUNT; st++) {
		if (st == RETENTION_OPEN_LOAN)
			continue;
		for (int sc = 0; sc < CATEGORY__COUNT; sc++) {
			if (!category_is_special(sc))
				continue;
			const struct retention_entry *s = &p->r->entry[st][sc];
			for (int c = 0; c < CATEGORY__COUNT; c++) {
				const struct retention_entry *o = &p->r->entry[st][c];
				if (category_is_special(c) ||
				    retention_period_at_least(o->period, s->period))
					continue;
				return fail(p, s->line,
					    "retain %s %s: special data (D7) may not be "
					    "kept longer than %s (line %u)",
					    category_code(sc), state_codes[st],
					    category_code(c), o->line);
			}
		}
	}
	return 0;
}

enum senim_result retention_parse(const char *text, size_t len,
				  struct retention_rules **out,
				  struct retention_error *err)
{
	*out = NULL;
	memset(err, 0, sizeof(*err));
	struct parse p = { .err = err };
	if (len > RETENTION_FILE_MAX) {
		fail(&p, 0, "the file is larger than %d bytes", RETENTION_FILE_MAX);
		return SENIM_ERR_INVALID;
	}
	p.r = calloc(1, sizeof(*p.r));
	if (!p.r)
		return SENIM_ERR_NOMEM;
	unsigned next = 1;
	if (textconf_each_line(text, len, each_line, &p, &next) || whole(&p, next)) {
		retention_rules_free(p.r);
		return SENIM_ERR_INVALID;
	}
	*out = p.r;
	return SENIM_OK;
}

void retention_rules_free(struct retention_rules *r)
{
	free(r);
}
