/*
 * scorecard.h — the lender's credit scorecard as data (data/scorecard.conf,
 * docs/scoring.md) and its evaluation: points per attribute of an
 * application, hard rules that decline whatever the points, cut-offs to
 * approve, refer or decline, the amount and term granted, and the reasons
 * a borrower is told in ru, kk or en.  Pure code: the caller reads the file
 * and gathers the inputs; nothing here does I/O or keeps state.
 *
 * The scorecard is the lender's own business choice, not law; the one
 * figure that comes from law (the debt-burden limit, КДН) is marked as such
 * in docs/scoring.md and must be verified there.
 *
 * The file is lines of UTF-8 text (LF or CRLF, at most SCORECARD_FILE_MAX
 * bytes, lines of at most SCORECARD_LINE_MAX bytes, no control characters
 * but TAB).  A line is blank, a comment (`#` first), a section header, or
 * `key = value` (the value runs to the end of the line, trimmed).  Three
 * kinds of section, each exactly once (an attribute once per attribute):
 *
 *   [card]                     the card itself, every key required once:
 *     id = NAME                  [a-z0-9_]{1,32}, names the card
 *     version = N                1..1000000
 *     from = YYYY-MM-DD          effective date: no decision before it
 *     approve = POINTS           total >= approve: approve
 *     refer = POINTS             total >= refer: refer to an underwriter;
 *                                below: decline.  refer <= approve.
 *     min_age = YEARS            hard: younger declines (18..100)
 *     max_age = YEARS            hard: older declines (min_age..120)
 *     max_bureau_overdue_days = DAYS   hard: a worse bureau overdue declines
 *     max_debt_burden_bp = BP    hard: a higher debt burden declines
 *
 *   [attribute NAME]           one per attribute below, every one required:
 *     band = LO..HI POINTS [REASON]   repeated: the value's bands in
 *                                increasing order, from 0 to the
 *                                attribute's largest value (HI `max`),
 *                                without gap or overlap.  POINTS 0..1000;
 *                                REASON a code of the table below, told
 *                                when the band costs points.
 *     missing = POINTS [REASON] | refer REASON | decline REASON
 *                                what an absent input gets: points, or at
 *                                best a referral, or a decline.  Required
 *                                where the input can be absent, refused
 *                                where it cannot (age, lender_loans_repaid).
 *
 *   [limits]
 *     limit = POINTS AMOUNT_TIYN TERM_DAYS   repeated, POINTS strictly
 *                                increasing, the first at or below the
 *                                refer cut-off: a total gets the limit
 *                                with the largest POINTS not above it.
 *
 * A refused file gets one line
 *   FILE:LINE: [SECTION] KEY: MESSAGE
 * (without "[SECTION] KEY" for a fault of the line itself, without KEY for
 * a section's own fault, reported at its header's line; a missing section
 * at the line after the last).
 *
 * Evaluation (scorecard_evaluate): each attribute's value falls into one
 * band, or is missing; the total is the sum of points.  The decision is
 *   decline  when a hard rule breaks, an input is missing with `decline`,
 *            or the total is below refer;
 *   refer    when an input is missing with `refer`, or the total is below
 *            approve;
 *   approve  otherwise,
 * with the limit of the total for approve and refer (0 for decline).
 * Reasons (declines and referrals only; an approval has none), at most
 * SCORE_REASONS_MAX, each code once, in this order: broken hard rules
 * (age, bureau overdue, debt burden), missing inputs that decide (in
 * attribute order), the points cut-off that decided (score_below_refer or
 * score_below_approve), then band and missing-points reasons by points
 * lost against the attribute's best band, most first, ties in attribute
 * order.
 */
#ifndef SENIM_SCORECARD_H
#define SENIM_SCORECARD_H

#include <stddef.h>
#include <stdint.h>

#include "common/result.h"

#define SCORECARD_FILE_MAX (32 * 1024)
#define SCORECARD_LINE_MAX 512
#define SCORECARD_BANDS_MAX 16 /* per attribute */
#define SCORECARD_LIMITS_MAX 16
#define SCORECARD_ID_MAX 33	/* bytes of an id, NUL included */
#define SCORECARD_DIGEST_HEX 65 /* SHA-256 in hex, NUL included */
#define SCORE_REASONS_MAX 5
#define SCORE_POINTS_MAX 1000 /* of one band */
/* Money inputs in tiyn at most 10^13 (10^11 tenge): payments * 10000 stays
 * far inside int64_t. */
#define SCORE_MONEY_MAX 10000000000000LL
#define SCORE_COUNT_MAX 1000000		 /* loans, enquiries, days */
#define SCORE_OPERATOR_MAX 1000		 /* an operator score is 0..1000 */
#define SCORE_DEBT_BURDEN_CAP_BP 1000000 /* 100 times the income */
/* The value a band's HI `max` stands for on an open-ended attribute. */
#define SCORE_VALUE_OPEN INT64_MAX

/* The attributes, in the order of the result and of ties among reasons. */
enum score_attr {
	SCORE_ATTR_BUREAU_OVERDUE, /* bureau_overdue_days: worst, last 12 months */
	SCORE_ATTR_ACTIVE_LOANS,   /* active_loans: at the bureau */
	SCORE_ATTR_DEBT_BURDEN,	   /* debt_burden_bp: payments / income */
	SCORE_ATTR_ENQUIRIES,	   /* enquiries_30d: at the bureau */
	SCORE_ATTR_OPERATOR_SCORE, /* operator_score: 0..1000 */
	SCORE_ATTR_AGE,		   /* age: whole years on the decision date */
	SCORE_ATTR_LENDER_REPAID,  /* lender_loans_repaid: on time, with us */
	SCORE_ATTR_LENDER_OVERDUE, /* lender_overdue_days: worst, with us */
	SCORE_ATTR__COUNT
};

/* Reason codes.  The first six the card itself gives (hard rules and
 * cut-offs); the rest a file names in its bands and missing lines. */
enum score_reason {
	SCORE_REASON_NONE,
	SCORE_REASON_AGE_BELOW_MINIMUM,
	SCORE_REASON_AGE_ABOVE_MAXIMUM,
	SCORE_REASON_BUREAU_OVERDUE_OVER_LIMIT,
	SCORE_REASON_DEBT_BURDEN_OVER_LIMIT,
	SCORE_REASON_SCORE_BELOW_REFER,
	SCORE_REASON_SCORE_BELOW_APPROVE,
	SCORE_REASON_BUREAU_UNAVAILABLE, /* the first a file may name */
	SCORE_REASON_BUREAU_OVERDUE,
	SCORE_REASON_MANY_ACTIVE_LOANS,
	SCORE_REASON_HIGH_DEBT_BURDEN,
	SCORE_REASON_DEBT_BURDEN_UNKNOWN,
	SCORE_REASON_INCOME_NOT_DECLARED,
	SCORE_REASON_MANY_RECENT_ENQUIRIES,
	SCORE_REASON_LOW_OPERATOR_SCORE,
	SCORE_REASON_OPERATOR_SCORE_UNAVAILABLE,
	SCORE_REASON_AGE_BAND,
	SCORE_REASON_NO_LENDER_HISTORY,
	SCORE_REASON_LENDER_OVERDUE,
	SCORE_REASON__COUNT
};
#define SCORE_REASON_FIRST_IN_FILE SCORE_REASON_BUREAU_UNAVAILABLE

enum score_decision {
	SCORE_DECLINE,
	SCORE_REFER,
	SCORE_APPROVE,
};

enum score_missing_rule {
	SCORE_MISSING_POINTS,
	SCORE_MISSING_REFER,
	SCORE_MISSING_DECLINE,
};

struct score_band {
	int64_t lo, hi; /* inclusive; hi SCORE_VALUE_OPEN for `max` */
	int points;
	enum score_reason reason; /* SCORE_REASON_NONE when none */
	unsigned line;
};

struct score_attribute_rule {
	struct score_band bands[SCORECARD_BANDS_MAX];
	size_t nbands;
	int has_missing; /* a `missing` line was given */
	enum score_missing_rule missing;
	int missing_points;
	enum score_reason missing_reason;
	int best_points; /* the largest points of a band */
	unsigned line;	 /* of its header */
};

struct score_limit {
	int64_t points, amount_tiyn, term_days;
	unsigned line;
};

/* A parsed card, owned by the caller (scorecard_free). */
struct scorecard {
	char id[SCORECARD_ID_MAX];
	int64_t version;
	int32_t from; /* days since 1970-01-01 */
	char from_text[11];
	int64_t approve, refer;
	int64_t min_age, max_age;
	int64_t max_bureau_overdue_days;
	int64_t max_debt_burden_bp;
	struct score_attribute_rule attr[SCORE_ATTR__COUNT];
	struct score_limit limits[SCORECARD_LIMITS_MAX];
	size_t nlimits;
	char digest[SCORECARD_DIGEST_HEX]; /* SHA-256 of the file's bytes, hex */
};

/* Absent inputs: a bit set means "not known", never zero. */
#define SCORE_IN_BUREAU \
	0x1u			     /* no bureau answer: overdue, active loans,
					debt payments and enquiries unknown */
#define SCORE_IN_INCOME 0x2u	     /* no income declared */
#define SCORE_IN_OPERATOR_SCORE 0x4u /* the operator gave no score */
#define SCORE_IN_LENDER_HISTORY \
	0x8u /* no earlier loan with us: the worst
					overdue with us is unknown */

/* What one decision is made from.  Amounts in tiyn; counts and days whole
 * numbers from 0 up to SCORE_COUNT_MAX; money up to SCORE_MONEY_MAX.
 * Fields whose input is marked missing are ignored. */
struct score_inputs {
	unsigned missing;	     /* SCORE_IN_* bits */
	char decision_date[11];	     /* "YYYY-MM-DD", required */
	char birth_date[11];	     /* "YYYY-MM-DD", required */
	int64_t bureau_overdue_days; /* worst in the last 12 months */
	int64_t active_loans;	     /* at the bureau */
	int64_t debt_payments_tiyn;  /* monthly, from the bureau */
	int64_t enquiries_30d;	     /* at the bureau, last 30 days */
	int64_t income_tiyn;	     /* declared monthly income; 0 is an answer */
	int64_t operator_score;	     /* 0..SCORE_OPERATOR_MAX */
	int64_t lender_loans_repaid; /* loans with us repaid on time */
	int64_t lender_overdue_days; /* worst overdue with us */
};

struct score_attribute_result {
	int missing;
	int64_t value; /* the value banded (0 when missing) */
	int band;      /* index into the rule's bands, -1 when missing */
	int points;
	enum score_reason reason; /* of its band or missing line */
};

/* The evaluation: every number a stored decision needs to be explained. */
struct score_result {
	char card_id[SCORECARD_ID_MAX];
	int64_t card_version;
	char card_digest[SCORECARD_DIGEST_HEX];
	char decision_date[11];
	struct score_attribute_result attr[SCORE_ATTR__COUNT];
	int total;
	enum score_decision decision;
	int hard_decline; /* a hard rule declined, whatever the points */
	enum score_reason reasons[SCORE_REASONS_MAX];
	size_t nreasons;
	int64_t amount_limit_tiyn; /* 0 for a decline */
	int64_t term_limit_days;   /* 0 for a decline */
};

/* ---- the file --------------------------------------------------------------- */

/*
 * Parse and check `len` bytes of `text` (need not be NUL-terminated); `name`
 * is how messages name the file.  On SENIM_OK *out is a new card the caller
 * frees with scorecard_free(), its digest the SHA-256 of exactly these
 * bytes.  SENIM_ERR_INVALID: the file breaks a rule and `err` (errlen > 0)
 * holds the one line saying where and why.  SENIM_ERR_NOMEM: out of
 * memory.  *out is NULL on failure.
 */
SENIM_MUST_CHECK enum senim_result scorecard_parse(const char *name, const char *text,
						   size_t len, struct scorecard **out,
						   char *err, size_t errlen);

/* Free what scorecard_parse() made; NULL does nothing. */
void scorecard_free(struct scorecard *c);

/* ---- evaluation ------------------------------------------------------------- */

/*
 * Evaluate `in` by the card into *out (filled on every path, zeroed first).
 * SENIM_ERR_INVALID when an input is out of its range, a date is not a
 * date, the birth date is after the decision date, or the decision date is
 * before the card's `from`; `err` then says which.
 */
SENIM_MUST_CHECK enum senim_result scorecard_evaluate(const struct scorecard *c,
						      const struct score_inputs *in,
						      struct score_result *out, char *err,
						      size_t errlen);

/*
 * Whole years from `birth` to `on` (days since 1970-01-01), the birthday
 * counting on its calendar day (29 February on 1 March in other years);
 * -1 when birth is after on.
 */
int64_t score_age_years(int32_t birth, int32_t on);

/*
 * The debt burden in basis points: payments / income, rounded up to the
 * next whole bp so that "above a limit in bp" holds exactly when the true
 * ratio is above it; capped at SCORE_DEBT_BURDEN_CAP_BP.  Income 0 gives
 * the cap (no income carries no debt); negative inputs give the cap too.
 */
int64_t score_debt_burden_bp(int64_t payments_tiyn, int64_t income_tiyn);

/*
 * 1 when a declared income can change what card `c` decides: its debt
 * burden's `missing` line refers or declines, or gives other points than
 * some band, or the hard rule max_debt_burden_bp is below the cap.  An
 * application asks for the income only then (api/applications.c): a card
 * that cannot use it does not collect it.
 */
int scorecard_uses_income(const struct scorecard *c);

/* ---- names and texts -------------------------------------------------------- */

/* "bureau_overdue_days", ...; NULL out of range. */
const char *scorecard_attr_name(enum score_attr a);
/* "approve", "refer", "decline"; NULL out of range. */
const char *scorecard_decision_name(enum score_decision d);
/* The stable snake_case code ("debt_burden_over_limit"); NULL for NONE and
 * out of range. */
const char *scorecard_reason_code(enum score_reason r);
/* The reason of a code in exactly len bytes, or SCORE_REASON_NONE. */
enum score_reason scorecard_reason_parse(const char *s, size_t len);
/*
 * What the borrower is told for a reason, in `lang` ("ru", "kk" or "en";
 * anything else gets Russian, senim's default language).  A static
 * UTF-8 sentence; NULL for NONE and out of range.
 */
const char *scorecard_reason_text(enum score_reason r, const char *lang);

#endif
