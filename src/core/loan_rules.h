/*
 * loan_rules.h — the regulatory rules a microcredit must keep, as data: the
 * rules file (data/loan-rules.conf, docs/lending-rules.md), the set of rules
 * in force on a date, and the check that refuses an offer outside them,
 * naming the rule.  Pure code: the caller reads the file.
 *
 * The file is lines of UTF-8 text (LF or CRLF, at most LOAN_RULES_FILE_MAX
 * bytes, lines of at most LOAN_RULES_LINE_MAX bytes, no control characters
 * but TAB).  A line is blank, a comment (`#` first), a section header
 * `[rule CODE]`, or `key = value` (the value runs to the end of the line,
 * trimmed).  Each section is one entry of one rule: its effective date
 * `from = YYYY-MM-DD`, its legal source `source = ...` (1-300 code points),
 * and the rule's values, whole numbers in the unit the key names:
 *
 *   gesv_cap        bp                the annual effective rate (ГЭСВ) cap
 *   short_loan      max_days max_mrp daily_cap_bp annual_cap_bp
 *                                     loans of at most max_days days and
 *                                     max_mrp МРП: a daily rate strictly
 *                                     under daily_cap_bp, a ГЭСВ of at most
 *                                     annual_cap_bp (instead of gesv_cap)
 *   max_amount      mrp               the largest microcredit
 *   mrp             tiyn              the МРП of the year
 *   cooloff         above_mrp hold_minutes
 *                                     an online payout above above_mrp МРП
 *                                     waits hold_minutes
 *   penalty         daily_bp annual_bp [after_days daily_after_bp]
 *                                     penalty per day of the overdue sum,
 *                                     and per year of the principal; with
 *                                     the optional pair (both or neither),
 *                                     a day of delay past after_days is
 *                                     charged at most daily_after_bp
 *   notice          days              delinquency notice deadline
 *   restructuring   days              restructuring request window
 *   self_exclusion  check             yes|no: the borrower's voluntary
 *                                     refusal of loans is checked
 *   allocation      order after_days order_after
 *                                     the order a payment too small for
 *                                     every debt pays them in: `order` while
 *                                     the delay is at most after_days days,
 *                                     `order_after` beyond; each a list of
 *                                     the five components principal_overdue,
 *                                     interest_overdue, penalty,
 *                                     principal_current, interest_current,
 *                                     comma-separated, each exactly once,
 *                                     an overdue part before the current part
 *                                     of the same kind (so the oldest debt
 *                                     of a kind is always paid first)
 *   restructuring_answer days         the days the lender has to answer a
 *                                     restructuring request
 *
 * `allocation` is a servicing rule: a file may omit it (an offer is checked
 * without it), and then no payment can be allocated under that file
 * (loan_rules_in_force sets has_allocation to 0, core/servicing refuses).
 * `restructuring_answer` may be omitted too: the answer then has no due
 * date (restructuring_answer_days 0).  Every other rule is required.
 * An entry is in force from its date until the next entry of the same rule
 * begins.  Every rule has at least one entry, and the entries of one rule
 * come in strictly increasing dates (two on the same date would overlap).
 * A refused file gets one line
 *   FILE:LINE: [rule CODE] KEY: MESSAGE
 * (without "[rule CODE] KEY" for a fault of the line itself, with the
 * header's line and no KEY for a key that is missing, and with the line
 * after the last for a rule that has no entry at all).
 */
#ifndef SENIM_LOAN_RULES_H
#define SENIM_LOAN_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "common/result.h"

#define LOAN_RULES_FILE_MAX (64 * 1024)
#define LOAN_RULES_LINE_MAX 1024
#define LOAN_RULES_MAX 256	  /* entries in one file */
#define LOAN_RULE_SOURCE_MAX 1200 /* bytes of a source, NUL included */
#define LOAN_RULE_VALUES 4
/* The short-loan daily cap applies to the nominal annual rate over a
 * 365-day year. */
#define LOAN_RULES_DAYS_IN_YEAR 365

enum loan_rule_code {
	LOAN_RULE_GESV_CAP,
	LOAN_RULE_SHORT_LOAN,
	LOAN_RULE_MAX_AMOUNT,
	LOAN_RULE_MRP,
	LOAN_RULE_COOLOFF,
	LOAN_RULE_PENALTY,
	LOAN_RULE_NOTICE,
	LOAN_RULE_RESTRUCTURING,
	LOAN_RULE_SELF_EXCLUSION,
	LOAN_RULE_ALLOCATION,
	LOAN_RULE_RESTRUCTURING_ANSWER,
	LOAN_RULE__COUNT
};

/* The components of a debt a payment is allocated to (rule `allocation`).
 * "Overdue" is what fell due before the payment's date, "current" what
 * falls due on it (core/servicing.h). */
enum loan_alloc_component {
	LOAN_ALLOC_PRINCIPAL_OVERDUE = 1,
	LOAN_ALLOC_INTEREST_OVERDUE,
	LOAN_ALLOC_PENALTY,
	LOAN_ALLOC_PRINCIPAL_CURRENT,
	LOAN_ALLOC_INTEREST_CURRENT,
};
#define LOAN_ALLOC_COMPONENTS 5

/* One entry: a section of the file.  v[] holds the rule's values in the
 * order the table above lists them (self_exclusion's check: 1 or 0; an
 * allocation order packed four bits a component, first in the low bits). */
struct loan_rule {
	enum loan_rule_code code;
	int32_t from;	    /* days since 1970-01-01 */
	char from_text[11]; /* "YYYY-MM-DD" */
	char source[LOAN_RULE_SOURCE_MAX];
	int64_t v[LOAN_RULE_VALUES];
	unsigned line; /* of its header */
};

/* A parsed file, owned by the caller (loan_rules_free). */
struct loan_rules {
	struct loan_rule entries[LOAN_RULES_MAX];
	size_t n;
};

/* The rules in force on one date: one entry of every rule, and its values
 * by name.  A plain value: it points into the struct loan_rules it came
 * from, which must outlive it. */
struct loan_rules_in_force {
	char date[11];
	const struct loan_rule *rule[LOAN_RULE__COUNT];
	int64_t gesv_cap_bp;
	int64_t short_max_days, short_max_mrp, short_daily_cap_bp, short_annual_cap_bp;
	int64_t max_amount_mrp;
	int64_t mrp_tiyn;
	int64_t cooloff_above_mrp, cooloff_hold_minutes;
	int64_t penalty_daily_bp, penalty_annual_bp;
	/* 0 when the file gives no second tier */
	int64_t penalty_after_days, penalty_daily_after_bp;
	int64_t notice_days;
	int64_t restructuring_days;
	int self_exclusion_check;
	/* allocation: has_allocation 0 when no entry is in force (the arrays
	 * are then zero); otherwise each order lists the five components. */
	int has_allocation;
	int64_t allocation_after_days;
	uint8_t allocation_order[LOAN_ALLOC_COMPONENTS];
	uint8_t allocation_order_after[LOAN_ALLOC_COMPONENTS];
	/* restructuring_answer (optional): the days the lender has to answer a
	 * restructuring request, 0 when no entry is in force (no due date). */
	int64_t restructuring_answer_days;
};

/* An offer as the loan engine would make it.  Rates are basis points
 * (1% = 100 bp): the nominal annual rate and the ГЭСВ computed for it. */
struct loan_offer {
	int64_t amount_tiyn;
	int64_t term_days;
	int64_t annual_rate_bp;
	int64_t effective_rate_bp;
	int64_t penalty_daily_bp; /* the contract's penalty per day, of the overdue sum */
	int64_t penalty_annual_bp; /* its cap per year, of the principal */
};

/* Why an offer was refused; LOAN_BREACH_NONE (0) when it was not. */
enum loan_breach {
	LOAN_BREACH_NONE,
	LOAN_BREACH_OFFER_INVALID,  /* amount or term not positive, a rate negative */
	LOAN_BREACH_MAX_AMOUNT,	    /* amount above max_amount МРП */
	LOAN_BREACH_GESV_CAP,	    /* ГЭСВ above gesv_cap */
	LOAN_BREACH_SHORT_DAILY,    /* a short loan's daily rate not under the cap */
	LOAN_BREACH_SHORT_ANNUAL,   /* a short loan's ГЭСВ above its cap */
	LOAN_BREACH_PENALTY_DAILY,  /* penalty per day above the cap */
	LOAN_BREACH_PENALTY_ANNUAL, /* penalty per year above the cap */
	LOAN_BREACH__COUNT
};

/* The refusal: which rule, its code ("gesv_cap") and the entry in force
 * (its source and line; NULL for LOAN_BREACH_OFFER_INVALID). */
struct loan_rule_refusal {
	enum loan_breach breach;
	const char *code;	      /* stable: "max_amount", "short_loan.daily", ... */
	const struct loan_rule *rule; /* the entry that refused, or NULL */
};

/*
 * Parse and check `len` bytes of `text` (need not be NUL-terminated); `name`
 * is how messages name the file.  On SENIM_OK *out is a new struct the
 * caller frees with loan_rules_free().  SENIM_ERR_INVALID: the file breaks
 * a rule and `err` (errlen > 0) holds the one line saying where and why.
 * SENIM_ERR_NOMEM: out of memory.  *out is NULL on failure.
 */
SENIM_MUST_CHECK enum senim_result loan_rules_parse(const char *name, const char *text,
						    size_t len, struct loan_rules **out,
						    char *err, size_t errlen);

/* Free what loan_rules_parse() made; NULL does nothing. */
void loan_rules_free(struct loan_rules *r);

/*
 * Fill *out with the rules in force on `date` ("YYYY-MM-DD").
 * SENIM_ERR_INVALID when the date is not a date, or when some required
 * rule has no entry in force yet on it; `err` then says which.  The
 * optional `allocation` missing on the date only leaves has_allocation 0.
 */
SENIM_MUST_CHECK enum senim_result loan_rules_in_force(const struct loan_rules *r,
						       const char *date,
						       struct loan_rules_in_force *out,
						       char *err, size_t errlen);

/*
 * Check an offer against the rules in force.  Returns LOAN_BREACH_NONE
 * when the offer keeps every rule; otherwise the first rule it breaks, in
 * the order: offer_invalid, max_amount, then for a short loan
 * short_loan.daily and short_loan.annual, else gesv_cap, then
 * penalty.daily and penalty.annual; *why (when not NULL) names it.
 */
enum loan_breach loan_rules_check_offer(const struct loan_rules_in_force *f,
					const struct loan_offer *o,
					struct loan_rule_refusal *why);

/* `mrp` МРП in tiyn at the rules in force (the values are capped so this
 * cannot overflow for mrp up to 10^6; larger returns INT64_MAX). */
int64_t loan_rules_mrp_tiyn(const struct loan_rules_in_force *f, int64_t mrp);

/* Whether the МРП in force is an earlier year's: the file has no entry
 * for the date's year yet (each year's budget law sets a new one).  The
 * earlier, lower МРП errs toward strictness — a lower largest microcredit,
 * cooling-off threshold and short-loan bound — but the operator must add
 * the year's figure. */
int loan_rules_mrp_of_an_earlier_year(const struct loan_rules_in_force *f);

/* The cooling-off hold in minutes before an online payout of amount_tiyn,
 * or 0 when the amount is not above the threshold. */
int64_t loan_rules_payout_hold_minutes(const struct loan_rules_in_force *f,
				       int64_t amount_tiyn);

/* "principal_overdue", ... ; NULL out of range. */
const char *loan_alloc_component_name(enum loan_alloc_component c);

/* "gesv_cap", ... ; NULL out of range. */
const char *loan_rule_code_name(enum loan_rule_code c);
/* "max_amount", "short_loan.daily", ... ; NULL out of range. */
const char *loan_breach_code(enum loan_breach b);

#endif
