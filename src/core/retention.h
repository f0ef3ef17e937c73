/*
 * retention.h — how long each category of a borrower's data is kept, by the
 * state the borrower is in, and what happens at the end (C3, O1, D7): the
 * retention file (data/retention.conf, docs/retention.md) and the period
 * arithmetic.  Pure code: the caller reads the file.
 *
 * The file is lines of UTF-8 text (LF or CRLF, at most RETENTION_FILE_MAX
 * bytes, lines of at most RETENTION_LINE_MAX bytes, no control character but
 * TAB).  A line is blank, a comment (`#` first), or one of
 *
 *   minimum NAME PERIOD SOURCE...
 *       a legal minimum keeping period: NAME [a-z0-9_]{1,32}, declared
 *       once; SOURCE (1-300 bytes) the law that sets it.
 *   retain CATEGORY STATE PERIOD ACTION MINIMUM BASIS...
 *       CATEGORY a data category (core/purposes.h), STATE one of
 *       applicant_refused, open_loan, loan_closed, consent_withdrawn;
 *       MINIMUM a name declared above; BASIS (1-300 bytes) the ground.
 *
 * PERIOD is N followed by d, m or y (days, calendar months, calendar years;
 * N at most 36500 days, 1200 months, 100 years).  For open_loan the period
 * is the word `open` and the action `keep`: data is kept while a loan or
 * obligation is open (the automatic hold); for every other state the action
 * is anonymise or destroy.
 *
 * The file is refused, naming the line, when an entry's period is below its
 * minimum (for every start date: periods of different units are compared
 * at their shortest and longest lengths), when a pair (category, state) is
 * given twice or not at all (the end of the file is named), or when in a
 * state a special category (medical, biometric: D7) is kept longer than the
 * shortest-kept ordinary one.
 */
#ifndef SENIM_CORE_RETENTION_H
#define SENIM_CORE_RETENTION_H

#include <stddef.h>
#include <stdint.h>

#include "common/result.h"
#include "core/purposes.h"

#define RETENTION_FILE_MAX (256 * 1024)
#define RETENTION_LINE_MAX 1024
#define RETENTION_TEXT_MAX 300
#define RETENTION_MINIMUMS_MAX 32

enum retention_state {
	RETENTION_APPLICANT_REFUSED, /* applications all declined or withdrawn */
	RETENTION_OPEN_LOAN,	     /* a loan or obligation open: held */
	RETENTION_LOAN_CLOSED,	     /* every loan closed */
	RETENTION_CONSENT_WITHDRAWN, /* no loan, no application, consents gone */
	RETENTION_STATE__COUNT
};

enum retention_action {
	RETENTION_KEEP,
	RETENTION_ANONYMISE,
	RETENTION_DESTROY
};

enum retention_unit {
	RETENTION_DAYS,
	RETENTION_MONTHS,
	RETENTION_YEARS,
	RETENTION_OPEN
};

struct retention_period {
	enum retention_unit unit;
	int32_t n; /* 0 for RETENTION_OPEN */
};

struct retention_minimum {
	char name[33];
	struct retention_period period;
	char source[RETENTION_TEXT_MAX + 1];
	unsigned line;
};

struct retention_entry {
	struct retention_period period;
	enum retention_action action;
	const struct retention_minimum *minimum; /* into the same rules */
	char basis[RETENTION_TEXT_MAX + 1];
	unsigned line; /* 0: not given (never in parsed rules) */
};

struct retention_rules {
	struct retention_entry entry[RETENTION_STATE__COUNT][CATEGORY__COUNT];
	struct retention_minimum minimum[RETENTION_MINIMUMS_MAX];
	size_t minimums;
};

/* Where a file broke a rule: the line (1-based) and a message naming it. */
struct retention_error {
	unsigned line;
	char message[256];
};

/*
 * Parse and check text[0..len).  SENIM_OK with *out set (free with
 * retention_rules_free); SENIM_ERR_INVALID with *err filled and *out NULL;
 * SENIM_ERR_NOMEM.
 */
SENIM_MUST_CHECK enum senim_result retention_parse(const char *text, size_t len,
						   struct retention_rules **out,
						   struct retention_error *err);
/* NULL does nothing. */
void retention_rules_free(struct retention_rules *r);

/* Codes of states and actions ("loan_closed", "anonymise"), and back
 * (-1 when unknown). */
const char *retention_state_code(enum retention_state s);
int retention_state_parse(const char *code);
const char *retention_action_code(enum retention_action a);

/* "5y", "18m", "30d", "open" into out (at least 16 bytes). */
void retention_period_text(struct retention_period p, char *out, size_t size);

/*
 * The day a period that starts on `start` (days since 1970-01-01) ends:
 * months and years are calendar ones, a day past the end of a shorter
 * month lands on its last day (31 January + 1m = 28/29 February).
 * INT32_MAX for RETENTION_OPEN.
 */
int32_t retention_period_end(int32_t start, struct retention_period p);

/* 1 when a is at least b whatever day both start on, else 0. */
int retention_period_at_least(struct retention_period a, struct retention_period b);

#endif
