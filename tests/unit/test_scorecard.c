/*
 * test_scorecard.c — the scorecard (core/scorecard.h): every rule of the
 * file with the one line it is refused with, each attribute's bands at
 * their boundaries, missing inputs, hard declines, the cut-offs and limits
 * at their boundaries, the order of reasons, the card's digest, the texts
 * of every reason, and the shipped data/scorecard.conf.
 *
 * The bad files are GOOD with one line changed (with()), so each row
 * differs from a file that passes in the one place it breaks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/textconf.h"
#include "core/scorecard.h"
#include "common/banned.h"

#define N(a) (sizeof(a) / sizeof(a[0]))

/* 44 lines.  The best total is 800; the points leave every loss a
 * different size, so a total names the bands that made it:
 *   bureau overdue 1..30 -50, 31.. -100; active loans 3.. -80; burden
 *   3001.. -70; enquiries 4.. -20; operator 0..499 -90, missing -40; age
 *   0..29 -40; no loan repaid -1; an overdue with us -100. */
#define GOOD                                        \
	"[card]\n"                                  \
	"id = t\n"                                  \
	"version = 1\n"                             \
	"from = 2026-01-01\n"                       \
	"approve = 600\n"                           \
	"refer = 500\n"                             \
	"min_age = 21\n"                            \
	"max_age = 65\n"                            \
	"max_bureau_overdue_days = 60\n"            \
	"max_debt_burden_bp = 5000\n"               \
	"[attribute bureau_overdue_days]\n"         \
	"band = 0..0 100\n"                         \
	"band = 1..30 50 bureau_overdue\n"          \
	"band = 31..max 0 bureau_overdue\n"         \
	"missing = refer bureau_unavailable\n"      \
	"[attribute active_loans]\n"                \
	"band = 0..2 100\n"                         \
	"band = 3..max 20 many_active_loans\n"      \
	"missing = 0 bureau_unavailable\n"          \
	"[attribute debt_burden_bp]\n"              \
	"band = 0..3000 100\n"                      \
	"band = 3001..max 30 high_debt_burden\n"    \
	"missing = refer debt_burden_unknown\n"     \
	"[attribute enquiries_30d]\n"               \
	"band = 0..3 100\n"                         \
	"band = 4..max 80 many_recent_enquiries\n"  \
	"missing = 0 bureau_unavailable\n"          \
	"[attribute operator_score]\n"              \
	"band = 0..499 10 low_operator_score\n"     \
	"band = 500..max 100\n"                     \
	"missing = 60 operator_score_unavailable\n" \
	"[attribute age]\n"                         \
	"band = 0..29 60 age_band\n"                \
	"band = 30..max 100\n"                      \
	"[attribute lender_loans_repaid]\n"         \
	"band = 0..0 99 no_lender_history\n"        \
	"band = 1..max 100\n"                       \
	"[attribute lender_overdue_days]\n"         \
	"band = 0..0 100\n"                         \
	"band = 1..max 0 lender_overdue\n"          \
	"missing = 100\n"                           \
	"[limits]\n"                                \
	"limit = 500 1000000 15\n"                  \
	"limit = 650 5000000 30\n"

/* sha256sum of GOOD, computed outside senim. */
#define GOOD_SHA256 "7e82f8e8a57165e6af8423c072eb3a60f8c0fd5c715565350fcd0b2490f8a3d7"

/* GOOD with the first `old` replaced by `new`, in a static buffer. */
static const char *with(const char *old, const char *new)
{
	static char buf[8192];
	const char *at = strstr(GOOD, old);
	if (!at)
		fail_msg("'%s' is not in GOOD", old);
	size_t pre = (size_t)(at - GOOD), ol = strlen(old), nl = strlen(new);
	size_t post = strlen(at + ol);
	assert_true(pre + nl + post < sizeof(buf));
	memcpy(buf, GOOD, pre);
	memcpy(buf + pre, new, nl);
	memcpy(buf + pre + nl, at + ol, post + 1);
	return buf;
}

static struct scorecard *parse_good_text(const char *text)
{
	struct scorecard *c = NULL;
	char err[512] = "";
	enum senim_result rc =
		scorecard_parse("t.conf", text, strlen(text), &c, err, sizeof(err));
	if (rc != SENIM_OK)
		fail_msg("refused: %s (%d)", err, rc);
	return c;
}

static void expect_refused(const char *text, size_t len, const char *want)
{
	struct scorecard *c = (struct scorecard *)1;
	char err[512];
	enum senim_result rc = scorecard_parse("t.conf", text, len, &c, err, sizeof(err));
	if (rc != SENIM_ERR_INVALID || strcmp(err, want) != 0)
		fail_msg("want \"%s\"\n got \"%s\" (%d)", want, rc ? err : "(accepted)",
			 rc);
	assert_null(c);
}

struct bad {
	const char *old, *new, *want;
};

static void refuse_rows(const struct bad *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *text = with(rows[i].old, rows[i].new);
		expect_refused(text, strlen(text), rows[i].want);
	}
}

static void test_good(void **state)
{
	(void)state;
	struct scorecard *c = parse_good_text(GOOD);
	assert_string_equal(c->id, "t");
	assert_int_equal(c->version, 1);
	assert_string_equal(c->from_text, "2026-01-01");
	assert_int_equal(c->approve, 600);
	assert_int_equal(c->refer, 500);
	assert_int_equal(c->attr[SCORE_ATTR_BUREAU_OVERDUE].nbands, 3);
	assert_int_equal(c->attr[SCORE_ATTR_BUREAU_OVERDUE].bands[2].hi,
			 SCORE_VALUE_OPEN);
	assert_int_equal(c->attr[SCORE_ATTR_OPERATOR_SCORE].bands[1].hi,
			 SCORE_OPERATOR_MAX);
	assert_int_equal(c->attr[SCORE_ATTR_BUREAU_OVERDUE].missing, SCORE_MISSING_REFER);
	assert_int_equal(c->nlimits, 2);
	scorecard_free(c);
	/* CRLF, comments, blank lines and spacing are all the same card. */
	const char *crlf = "# a card\r\n\r\n[card]\r\nid = t\r\n";
	char buf[8192];
	snprintf(buf, sizeof(buf), "%s%s", crlf, strstr(GOOD, "version"));
	c = parse_good_text(buf);
	scorecard_free(c);
	c = parse_good_text(with("band = 500..max 100", "  band\t=  500..1000   100  "));
	assert_int_equal(c->attr[SCORE_ATTR_OPERATOR_SCORE].bands[1].hi, 1000);
	scorecard_free(c);
	/* approve == refer: no referral by points. */
	c = parse_good_text(with("approve = 600", "approve = 500"));
	scorecard_free(c);
	scorecard_free(NULL);
}

static void test_lines(void **state)
{
	(void)state;
	static const struct bad rows[] = {
		{ "[limits]", "x\n[limits]",
		  "t.conf:42: neither a section, a comment nor key = value" },
		{ "[card]\n", "id = t\n[card]\n", "t.conf:1: a key outside a section" },
		{ "[limits]", "[limit]",
		  "t.conf:42: a section is [card], [attribute NAME] or [limits]" },
		{ "[limits]", "[limits", "t.conf:42: a section header ends with ']'" },
		{ "[attribute age]", "[attribute height]",
		  "t.conf:32: unknown attribute 'height'" },
		{ "[attribute age]", "[attribute Возраст]",
		  "t.conf:32: unknown attribute" },
		{ "[limits]", "[attribute age]\nband = 0..max 1\n[limits]",
		  "t.conf:42: [attribute age] given twice (first at line 32)" },
		{ "[limits]", "[card]\n[limits]",
		  "t.conf:42: [card] given twice (first at line 1)" },
		{ "limit = 650 5000000 30\n", "limit = 650 5000000 30\n[limits]\n",
		  "t.conf:45: [limits] given twice (first at line 42)" },
		{ "id = t", "id = t\x01", "t.conf:2: a control character" },
		{ "id = t", "id = t\x7f", "t.conf:2: a control character" },
		{ "id = t", "id = t\xff", "t.conf:2: not UTF-8" },
		{ "[attribute lender_overdue_days]\nband = 0..0 100\nband = 1..max 0 "
		  "lender_overdue\nmissing = 100\n",
		  "", "t.conf:41: no [attribute lender_overdue_days] in the file" },
		{ "[limits]\nlimit = 500 1000000 15\nlimit = 650 5000000 30\n", "",
		  "t.conf:42: no [limits] in the file" },
		{ "[limits]", "[attribute age]",
		  "t.conf:42: [attribute age] given twice (first at line 32)" },
	};
	refuse_rows(rows, N(rows));
	/* Without [card]: the card's keys outside any section, then none. */
	const char *text = strstr(GOOD, "[attribute bureau_overdue_days]");
	expect_refused(text, strlen(text), "t.conf:35: no [card] in the file");
}

static void test_sizes(void **state)
{
	(void)state;
	char *buf = malloc(SCORECARD_FILE_MAX + 2);
	assert_non_null(buf);
	/* A line of exactly the limit passes; one byte more is refused. */
	memset(buf, ' ', SCORECARD_LINE_MAX);
	buf[0] = '#';
	buf[SCORECARD_LINE_MAX] = '\n';
	memcpy(buf + SCORECARD_LINE_MAX + 1, GOOD, sizeof(GOOD));
	struct scorecard *c = parse_good_text(buf);
	scorecard_free(c);
	memset(buf, ' ', SCORECARD_LINE_MAX + 1);
	buf[0] = '#';
	buf[SCORECARD_LINE_MAX + 1] = '\n';
	memcpy(buf + SCORECARD_LINE_MAX + 2, GOOD, sizeof(GOOD));
	expect_refused(buf, strlen(buf), "t.conf:1: longer than 512 bytes");
	/* A file of the limit in comments after GOOD passes; one more byte
	 * is refused before any line is read. */
	size_t len = sizeof(GOOD) - 1;
	memcpy(buf, GOOD, len);
	while (len < SCORECARD_FILE_MAX) {
		size_t n =
			SCORECARD_FILE_MAX - len < 100 ? SCORECARD_FILE_MAX - len : 100;
		memset(buf + len, '#', n);
		buf[len + n - 1] = '\n';
		len += n;
	}
	struct scorecard *ok = NULL;
	char err[512];
	assert_int_equal(scorecard_parse("t.conf", buf, len, &ok, err, sizeof(err)),
			 SENIM_OK);
	scorecard_free(ok);
	buf[len] = '#';
	expect_refused(buf, len + 1, "t.conf:1: the file is longer than 32768 bytes");
	free(buf);
}

static void test_card_keys(void **state)
{
	(void)state;
	static const struct bad rows[] = {
		{ "approve = 600\n", "", "t.conf:1: [card]: approve is missing" },
		{ "refer = 500\n", "", "t.conf:1: [card]: refer is missing" },
		{ "id = t\n", "", "t.conf:1: [card]: id is missing" },
		{ "from = 2026-01-01\n", "", "t.conf:1: [card]: from is missing" },
		{ "max_debt_burden_bp = 5000\n", "",
		  "t.conf:1: [card]: max_debt_burden_bp is missing" },
		{ "approve = 600", "approve = 400",
		  "t.conf:5: [card] approve: 400 is below the refer cut-off 500 (line "
		  "6)" },
		{ "approve = 600", "approve = 499",
		  "t.conf:5: [card] approve: 499 is below the refer cut-off 500 (line "
		  "6)" },
		{ "refer = 500", "refer = 500\nrefer = 510",
		  "t.conf:7: [card] refer: given twice (first at line 6)" },
		{ "id = t", "id = t\nid = u",
		  "t.conf:3: [card] id: given twice (first at line 2)" },
		{ "id = t", "colour = red", "t.conf:2: [card]: unknown key 'colour'" },
		{ "id = t", "id = T-1", "t.conf:2: [card] id: 1-32 of a-z, 0-9 and _" },
		{ "id = t", "id =", "t.conf:2: [card] id: 1-32 of a-z, 0-9 and _" },
		{ "from = 2026-01-01", "from = 2026-02-30",
		  "t.conf:4: [card] from: not a date YYYY-MM-DD" },
		{ "version = 1", "version = 0",
		  "t.conf:3: [card] version: a whole number from 1 to 1000000" },
		{ "min_age = 21", "min_age = 17",
		  "t.conf:7: [card] min_age: a whole number from 18 to 100" },
		{ "max_age = 65", "max_age = 20",
		  "t.conf:8: [card] max_age: 20 is below min_age 21" },
		{ "approve = 600", "approve = -600",
		  "t.conf:5: [card] approve: a whole number from 0 to 100000" },
		{ "max_debt_burden_bp = 5000", "max_debt_burden_bp = 0",
		  "t.conf:10: [card] max_debt_burden_bp: a whole number from 1 to "
		  "1000000" },
	};
	refuse_rows(rows, N(rows));
}

static void test_bands(void **state)
{
	(void)state;
	static const struct bad rows[] = {
		/* overlap */
		{ "band = 1..30 50", "band = 0..30 50",
		  "t.conf:13: [attribute bureau_overdue_days] band: 0..30 overlaps 0..0 "
		  "at "
		  "line 12" },
		{ "band = 31..max 0", "band = 30..max 0",
		  "t.conf:14: [attribute bureau_overdue_days] band: 30..max overlaps "
		  "1..30 at "
		  "line 13" },
		/* gap */
		{ "band = 1..30 50", "band = 2..30 50",
		  "t.conf:13: [attribute bureau_overdue_days] band: a gap: 1..1 is in no "
		  "band "
		  "(after line 12)" },
		{ "band = 3..max 20", "band = 5..max 20",
		  "t.conf:18: [attribute active_loans] band: a gap: 3..4 is in no band "
		  "(after "
		  "line 17)" },
		/* coverage of 0..max */
		{ "band = 0..2 100", "band = 1..2 100",
		  "t.conf:17: [attribute active_loans] band: the first band starts at 1: "
		  "0..0 "
		  "is not covered" },
		{ "band = 3..max 20", "band = 3..99 20",
		  "t.conf:16: [attribute active_loans]: the bands end at 99: 100..max is "
		  "not "
		  "covered" },
		{ "band = 500..max 100", "band = 500..999 100",
		  "t.conf:28: [attribute operator_score]: the bands end at 999: "
		  "1000..1000 is "
		  "not covered" },
		{ "band = 500..max 100", "band = 500..1001 100",
		  "t.conf:30: [attribute operator_score] band: HI a whole number from 0 "
		  "to "
		  "1000, or max" },
		{ "band = 0..2 100\nband = 3..max 20 many_active_loans\n", "",
		  "t.conf:16: [attribute active_loans]: no band" },
		{ "band = 1..30 50", "band = 30..1 50",
		  "t.conf:13: [attribute bureau_overdue_days] band: 30..1: LO above HI" },
		/* syntax */
		{ "band = 1..30 50", "band = 1-30 50",
		  "t.conf:13: [attribute bureau_overdue_days] band: LO..HI POINTS "
		  "[REASON]" },
		{ "band = 1..30 50 bureau_overdue", "band = 1..30",
		  "t.conf:13: [attribute bureau_overdue_days] band: LO..HI POINTS "
		  "[REASON]" },
		{ "band = 1..30 50 bureau_overdue", "band = 1..30 50 bureau_overdue x",
		  "t.conf:13: [attribute bureau_overdue_days] band: LO..HI POINTS "
		  "[REASON]" },
		{ "band = 1..30 50", "band = 1..30 1001",
		  "t.conf:13: [attribute bureau_overdue_days] band: POINTS a whole "
		  "number from "
		  "0 to 1000" },
		{ "band = 1..30 50 bureau_overdue", "band = 1..30 50 bad_luck",
		  "t.conf:13: [attribute bureau_overdue_days] band: unknown reason "
		  "'bad_luck'" },
		{ "band = 1..30 50 bureau_overdue", "band = 1..30 50 score_below_refer",
		  "t.conf:13: [attribute bureau_overdue_days] band: score_below_refer is "
		  "given "
		  "by the card itself" },
		{ "band = 1..30 50 bureau_overdue", "bands = 1..30 50",
		  "t.conf:13: [attribute bureau_overdue_days]: unknown key 'bands'" },
	};
	refuse_rows(rows, N(rows));
	/* The most bands an attribute may hold, and one more. */
	char buf[8192], bands[2048];
	size_t n = 0;
	for (int i = 0; i < SCORECARD_BANDS_MAX - 1; i++)
		n += (size_t)snprintf(bands + n, sizeof(bands) - n, "band = %d..%d 1\n",
				      i, i);
	snprintf(bands + n, sizeof(bands) - n, "band = %d..max 1\n",
		 SCORECARD_BANDS_MAX - 1);
	snprintf(buf, sizeof(buf), "%s",
		 with("band = 0..29 60 age_band\nband = 30..max 100\n", bands));
	struct scorecard *c = parse_good_text(buf);
	assert_int_equal(c->attr[SCORE_ATTR_AGE].nbands, SCORECARD_BANDS_MAX);
	scorecard_free(c);
	snprintf(bands + n, sizeof(bands) - n, "band = %d..%d 1\nband = %d..max 1\n",
		 SCORECARD_BANDS_MAX - 1, SCORECARD_BANDS_MAX - 1, SCORECARD_BANDS_MAX);
	snprintf(buf, sizeof(buf), "%s",
		 with("band = 0..29 60 age_band\nband = 30..max 100\n", bands));
	expect_refused(buf, strlen(buf),
		       "t.conf:49: [attribute age] band: more than 16 bands");
}

static void test_missing_and_limits(void **state)
{
	(void)state;
	static const struct bad rows[] = {
		{ "missing = refer bureau_unavailable\n", "",
		  "t.conf:11: [attribute bureau_overdue_days]: missing is missing: say "
		  "what an "
		  "absent bureau_overdue_days gets" },
		{ "missing = refer bureau_unavailable", "missing = refer",
		  "t.conf:15: [attribute bureau_overdue_days] missing: refer needs a "
		  "REASON" },
		{ "missing = refer bureau_unavailable", "missing = decline",
		  "t.conf:15: [attribute bureau_overdue_days] missing: decline needs a "
		  "REASON" },
		{ "missing = refer bureau_unavailable", "missing = maybe",
		  "t.conf:15: [attribute bureau_overdue_days] missing: POINTS (0 to "
		  "1000), "
		  "refer or decline" },
		{ "missing = refer bureau_unavailable",
		  "missing = refer bureau_unavailable\nmissing = 0",
		  "t.conf:16: [attribute bureau_overdue_days] missing: given twice" },
		{ "[attribute age]\n", "[attribute age]\nmissing = 0\n",
		  "t.conf:33: [attribute age] missing: age is never missing" },
		{ "band = 1..max 100\n", "band = 1..max 100\nmissing = 0\n",
		  "t.conf:38: [attribute lender_loans_repaid] missing: "
		  "lender_loans_repaid is "
		  "never missing" },
		{ "limit = 500 1000000 15", "limit = 510 1000000 15",
		  "t.conf:43: [limits] limit: the first starts at 510, above the refer "
		  "cut-off "
		  "500: a total from 500 would have no limit" },
		{ "limit = 650", "limit = 500",
		  "t.conf:44: [limits] limit: 500 is not above 500 at line 43: limits "
		  "come in "
		  "increasing points" },
		{ "limit = 650 5000000 30", "limit = 650 5000000",
		  "t.conf:44: [limits] limit: POINTS (0 to 100000) AMOUNT_TIYN (1 to "
		  "999999999999) TERM_DAYS (1 to 3660)" },
		{ "limit = 650 5000000 30", "limit = 650 0 30",
		  "t.conf:44: [limits] limit: POINTS (0 to 100000) AMOUNT_TIYN (1 to "
		  "999999999999) TERM_DAYS (1 to 3660)" },
		{ "limit = 500 1000000 15\nlimit = 650 5000000 30\n", "",
		  "t.conf:42: [limits]: no limit" },
		{ "limit = 650 5000000 30", "band = 0..max 1",
		  "t.conf:44: [limits]: unknown key 'band'" },
	};
	refuse_rows(rows, N(rows));
}

/* ---- evaluation ------------------------------------------------------------- */

static struct scorecard *card;

static int setup(void **state)
{
	(void)state;
	card = parse_good_text(GOOD);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	scorecard_free(card);
	return 0;
}

/* Every attribute in its best band: 800 points.  Age 46. */
static struct score_inputs best(void)
{
	struct score_inputs in = {
		.decision_date = "2026-06-01",
		.birth_date = "1980-01-01",
		.income_tiyn = 10000000,
		.operator_score = 800,
		.lender_loans_repaid = 5,
	};
	return in;
}

static struct score_result eval(const struct score_inputs *in)
{
	struct score_result r;
	char err[256] = "";
	if (scorecard_evaluate(card, in, &r, err, sizeof(err)) != SENIM_OK)
		fail_msg("refused: %s", err);
	return r;
}

static void expect_reasons(const struct score_result *r, const enum score_reason *want,
			   size_t n)
{
	if (r->nreasons != n)
		fail_msg("%zu reasons, want %zu (first %s)", r->nreasons, n,
			 r->nreasons ? scorecard_reason_code(r->reasons[0]) : "-");
	for (size_t i = 0; i < n; i++)
		if (r->reasons[i] != want[i])
			fail_msg("reason %zu is %s, want %s", i,
				 scorecard_reason_code(r->reasons[i]),
				 scorecard_reason_code(want[i]));
}

static void test_best(void **state)
{
	(void)state;
	struct score_inputs in = best();
	struct score_result r = eval(&in);
	assert_int_equal(r.total, 800);
	assert_int_equal(r.decision, SCORE_APPROVE);
	assert_int_equal(r.nreasons, 0);
	assert_int_equal(r.hard_decline, 0);
	assert_int_equal(r.amount_limit_tiyn, 5000000);
	assert_int_equal(r.term_limit_days, 30);
	assert_string_equal(r.card_id, "t");
	assert_int_equal(r.card_version, 1);
	assert_string_equal(r.card_digest, GOOD_SHA256);
	assert_string_equal(r.decision_date, "2026-06-01");
	assert_int_equal(r.attr[SCORE_ATTR_AGE].value, 46);
	for (int a = 0; a < SCORE_ATTR__COUNT; a++)
		assert_int_equal(r.attr[a].points, 100);
}

/* One attribute's value and the points and reason it gets. */
struct band_row {
	enum score_attr attr;
	int64_t value;
	int points;
	enum score_reason reason;
};

static void set_value(struct score_inputs *in, enum score_attr a, int64_t v)
{
	switch (a) {
	case SCORE_ATTR_BUREAU_OVERDUE:
		in->bureau_overdue_days = v;
		break;
	case SCORE_ATTR_ACTIVE_LOANS:
		in->active_loans = v;
		break;
	case SCORE_ATTR_DEBT_BURDEN:
		/* v bp of an income of 10000 tiyn: payments of v tiyn. */
		in->income_tiyn = 10000;
		in->debt_payments_tiyn = v;
		break;
	case SCORE_ATTR_ENQUIRIES:
		in->enquiries_30d = v;
		break;
	case SCORE_ATTR_OPERATOR_SCORE:
		in->operator_score = v;
		break;
	case SCORE_ATTR_LENDER_REPAID:
		in->lender_loans_repaid = v;
		break;
	case SCORE_ATTR_LENDER_OVERDUE:
		in->lender_overdue_days = v;
		break;
	case SCORE_ATTR_AGE:
	case SCORE_ATTR__COUNT:
		fail();
	}
}

static const char *code_or_dash(enum score_reason r)
{
	return r ? scorecard_reason_code(r) : "-";
}

static void test_banding(void **state)
{
	(void)state;
	static const struct band_row rows[] = {
		{ SCORE_ATTR_BUREAU_OVERDUE, 0, 100, SCORE_REASON_NONE },
		{ SCORE_ATTR_BUREAU_OVERDUE, 1, 50, SCORE_REASON_BUREAU_OVERDUE },
		{ SCORE_ATTR_BUREAU_OVERDUE, 30, 50, SCORE_REASON_BUREAU_OVERDUE },
		{ SCORE_ATTR_BUREAU_OVERDUE, 31, 0, SCORE_REASON_BUREAU_OVERDUE },
		{ SCORE_ATTR_BUREAU_OVERDUE, SCORE_COUNT_MAX, 0,
		  SCORE_REASON_BUREAU_OVERDUE },
		{ SCORE_ATTR_ACTIVE_LOANS, 2, 100, SCORE_REASON_NONE },
		{ SCORE_ATTR_ACTIVE_LOANS, 3, 20, SCORE_REASON_MANY_ACTIVE_LOANS },
		{ SCORE_ATTR_DEBT_BURDEN, 0, 100, SCORE_REASON_NONE },
		{ SCORE_ATTR_DEBT_BURDEN, 3000, 100, SCORE_REASON_NONE },
		{ SCORE_ATTR_DEBT_BURDEN, 3001, 30, SCORE_REASON_HIGH_DEBT_BURDEN },
		{ SCORE_ATTR_ENQUIRIES, 3, 100, SCORE_REASON_NONE },
		{ SCORE_ATTR_ENQUIRIES, 4, 80, SCORE_REASON_MANY_RECENT_ENQUIRIES },
		{ SCORE_ATTR_OPERATOR_SCORE, 0, 10, SCORE_REASON_LOW_OPERATOR_SCORE },
		{ SCORE_ATTR_OPERATOR_SCORE, 499, 10, SCORE_REASON_LOW_OPERATOR_SCORE },
		{ SCORE_ATTR_OPERATOR_SCORE, 500, 100, SCORE_REASON_NONE },
		{ SCORE_ATTR_OPERATOR_SCORE, 1000, 100, SCORE_REASON_NONE },
		{ SCORE_ATTR_LENDER_REPAID, 0, 99, SCORE_REASON_NO_LENDER_HISTORY },
		{ SCORE_ATTR_LENDER_REPAID, 1, 100, SCORE_REASON_NONE },
		{ SCORE_ATTR_LENDER_OVERDUE, 0, 100, SCORE_REASON_NONE },
		{ SCORE_ATTR_LENDER_OVERDUE, 1, 0, SCORE_REASON_LENDER_OVERDUE },
	};
	for (size_t i = 0; i < N(rows); i++) {
		struct score_inputs in = best();
		set_value(&in, rows[i].attr, rows[i].value);
		struct score_result r = eval(&in);
		const struct score_attribute_result *v = &r.attr[rows[i].attr];
		if (v->value != rows[i].value || v->points != rows[i].points ||
		    v->reason != rows[i].reason || v->missing)
			fail_msg("%s = %lld: %d points %s, want %d %s",
				 scorecard_attr_name(rows[i].attr),
				 (long long)rows[i].value, v->points,
				 code_or_dash(v->reason), rows[i].points,
				 code_or_dash(rows[i].reason));
		assert_int_equal(r.total, 800 - (100 - rows[i].points));
	}
}

static void test_age(void **state)
{
	(void)state;
	static const struct {
		const char *birth, *on;
		int64_t age;
		int points;
	} rows[] = {
		{ "1996-06-01", "2026-06-01", 30, 100 }, /* the birthday itself */
		{ "1996-06-02", "2026-06-01", 29, 60 },	 /* the day before it */
		{ "1996-07-01", "2026-06-30", 29, 60 },
		{ "1996-01-01", "2026-01-01", 30, 100 },
		{ "1995-12-31", "2026-01-01", 30, 100 },
		/* 29 February is reached on 1 March of a common year. */
		{ "2004-02-29", "2026-02-28", 21, 60 },
		{ "2004-02-29", "2026-02-27", 21, 60 },
		{ "2004-02-29", "2026-03-01", 22, 60 },
		{ "2004-02-29", "2028-02-29", 24, 60 },
	};
	for (size_t i = 0; i < N(rows); i++) {
		struct score_inputs in = best();
		memcpy(in.birth_date, rows[i].birth, 11);
		memcpy(in.decision_date, rows[i].on, 11);
		struct score_result r = eval(&in);
		if (r.attr[SCORE_ATTR_AGE].value != rows[i].age ||
		    r.attr[SCORE_ATTR_AGE].points != rows[i].points)
			fail_msg("%s on %s: %lld years %d points, want %lld %d",
				 rows[i].birth, rows[i].on,
				 (long long)r.attr[SCORE_ATTR_AGE].value,
				 r.attr[SCORE_ATTR_AGE].points, (long long)rows[i].age,
				 rows[i].points);
	}
	int32_t b, d;
	assert_true(textconf_date("2004-02-29", 10, &b));
	assert_true(textconf_date("2025-02-28", 10, &d));
	assert_int_equal(score_age_years(b, d), 20);
	assert_true(textconf_date("2025-03-01", 10, &d));
	assert_int_equal(score_age_years(b, d), 21);
	assert_int_equal(score_age_years(b, b), 0);
	assert_int_equal(score_age_years(b, b - 1), -1);
}

static void test_debt_burden(void **state)
{
	(void)state;
	static const struct {
		int64_t payments, income, bp;
	} rows[] = {
		{ 0, 1, 0 },
		{ 5000, 10000, 5000 },
		{ 5001, 10000, 5001 },
		/* up: a third is 3333.33 bp, so 3334; a sliver is 1 bp */
		{ 1, 3, 3334 },
		{ 1, 100000000, 1 },
		{ 2, 3, 6667 },
		{ 30000, 10000, 30000 },
		/* no income: the cap, whatever the payments */
		{ 0, 0, SCORE_DEBT_BURDEN_CAP_BP },
		{ 1, 0, SCORE_DEBT_BURDEN_CAP_BP },
		{ SCORE_MONEY_MAX, 1, SCORE_DEBT_BURDEN_CAP_BP },
		{ 100, 1, SCORE_DEBT_BURDEN_CAP_BP },
		{ 99, 1, 990000 },
	};
	for (size_t i = 0; i < N(rows); i++)
		if (score_debt_burden_bp(rows[i].payments, rows[i].income) != rows[i].bp)
			fail_msg("%lld / %lld: %lld bp, want %lld",
				 (long long)rows[i].payments, (long long)rows[i].income,
				 (long long)score_debt_burden_bp(rows[i].payments,
								 rows[i].income),
				 (long long)rows[i].bp);
	/* A declared income of 0 is an answer, not a missing one: a hard decline. */
	struct score_inputs in = best();
	in.income_tiyn = 0;
	struct score_result r = eval(&in);
	assert_false(r.attr[SCORE_ATTR_DEBT_BURDEN].missing);
	assert_int_equal(r.decision, SCORE_DECLINE);
	const enum score_reason want[] = { SCORE_REASON_DEBT_BURDEN_OVER_LIMIT,
					   SCORE_REASON_HIGH_DEBT_BURDEN };
	expect_reasons(&r, want, N(want));
}

/* A card asks for the income only when the income can change its answer. */
static void test_uses_income(void **state)
{
	(void)state;
	static const struct {
		const char *old, *new;
		int uses;
	} rows[] = {
		/* GOOD: missing refers, and the hard rule bites */
		{ "", "", 1 },
		/* every band and missing the same points, the limit at the cap */
		{ "band = 0..3000 100\n"
		  "band = 3001..max 30 high_debt_burden\n"
		  "missing = refer debt_burden_unknown\n",
		  "band = 0..max 100\nmissing = 100\n", 1 },
		{ "max_debt_burden_bp = 5000", "max_debt_burden_bp = 1000000", 1 },
	};
	for (size_t i = 0; i < N(rows); i++) {
		struct scorecard *c = parse_good_text(with(rows[i].old, rows[i].new));
		assert_int_equal(scorecard_uses_income(c), rows[i].uses);
		scorecard_free(c);
	}
	/* Both: nothing the income could change. */
	static char text[8192];
	snprintf(text, sizeof(text), "%s",
		 with("max_debt_burden_bp = 5000", "max_debt_burden_bp = 1000000"));
	char *at = strstr(text, "band = 0..3000 100\n");
	assert_non_null(at);
	const char *rest = strstr(at, "[attribute enquiries_30d]");
	char tail[8192];
	snprintf(tail, sizeof(tail), "band = 0..max 100\nmissing = 100\n%s", rest);
	memcpy(at, tail, strlen(tail) + 1);
	struct scorecard *c = parse_good_text(text);
	assert_int_equal(scorecard_uses_income(c), 0);
	/* A missing line with other points than the bands: it uses it. */
	c->attr[SCORE_ATTR_DEBT_BURDEN].missing_points = 99;
	assert_int_equal(scorecard_uses_income(c), 1);
	scorecard_free(c);
}

static void test_missing(void **state)
{
	(void)state;
	/* No bureau answer is not a clean history: the same zeros, known,
	 * approve. */
	struct score_inputs in = best();
	in.missing = SCORE_IN_BUREAU;
	struct score_result r = eval(&in);
	for (int a = SCORE_ATTR_BUREAU_OVERDUE; a <= SCORE_ATTR_ENQUIRIES; a++) {
		assert_true(r.attr[a].missing);
		assert_int_equal(r.attr[a].band, -1);
		assert_int_equal(r.attr[a].points, 0);
	}
	assert_int_equal(r.total, 400);
	assert_int_equal(r.decision, SCORE_DECLINE);
	{
		const enum score_reason want[] = { SCORE_REASON_BUREAU_UNAVAILABLE,
						   SCORE_REASON_DEBT_BURDEN_UNKNOWN,
						   SCORE_REASON_SCORE_BELOW_REFER };
		expect_reasons(&r, want, N(want));
	}
	/* A missing bureau answer breaks no hard rule, whatever its fields. */
	in.bureau_overdue_days = 999999;
	in.debt_payments_tiyn = -5;
	r = eval(&in);
	assert_int_equal(r.hard_decline, 0);

	/* No income: the burden is unknown and refers, with its points 0. */
	in = best();
	in.missing = SCORE_IN_INCOME;
	in.income_tiyn = -1;
	r = eval(&in);
	assert_true(r.attr[SCORE_ATTR_DEBT_BURDEN].missing);
	assert_int_equal(r.total, 700);
	assert_int_equal(r.decision, SCORE_REFER);
	assert_int_equal(r.amount_limit_tiyn, 5000000);
	{
		const enum score_reason want[] = { SCORE_REASON_DEBT_BURDEN_UNKNOWN };
		expect_reasons(&r, want, N(want));
	}

	/* No operator score: its missing points, 60. */
	in = best();
	in.missing = SCORE_IN_OPERATOR_SCORE;
	in.operator_score = 5000;
	r = eval(&in);
	assert_int_equal(r.attr[SCORE_ATTR_OPERATOR_SCORE].points, 60);
	assert_int_equal(r.attr[SCORE_ATTR_OPERATOR_SCORE].reason,
			 SCORE_REASON_OPERATOR_SCORE_UNAVAILABLE);
	assert_int_equal(r.total, 760);
	assert_int_equal(r.decision, SCORE_APPROVE);

	/* A new borrower: no overdue with us is known, its missing points. */
	in = best();
	in.missing = SCORE_IN_LENDER_HISTORY;
	in.lender_overdue_days = 50;
	r = eval(&in);
	assert_true(r.attr[SCORE_ATTR_LENDER_OVERDUE].missing);
	assert_int_equal(r.attr[SCORE_ATTR_LENDER_OVERDUE].points, 100);
	assert_int_equal(r.total, 800);
}

static void test_missing_decline(void **state)
{
	(void)state;
	struct scorecard *c =
		parse_good_text(with("missing = refer bureau_unavailable",
				     "missing = decline bureau_unavailable"));
	struct score_inputs in = best();
	in.missing = SCORE_IN_BUREAU;
	struct score_result r;
	char err[256];
	assert_int_equal(scorecard_evaluate(c, &in, &r, err, sizeof(err)), SENIM_OK);
	assert_int_equal(r.decision, SCORE_DECLINE);
	assert_int_equal(r.hard_decline, 0);
	assert_int_equal(r.amount_limit_tiyn, 0);
	const enum score_reason want[] = { SCORE_REASON_BUREAU_UNAVAILABLE,
					   SCORE_REASON_DEBT_BURDEN_UNKNOWN };
	expect_reasons(&r, want, N(want));
	scorecard_free(c);
}

static void test_hard_rules(void **state)
{
	(void)state;
	static const struct {
		const char *birth;
		int64_t overdue, payments;
		enum score_decision decision;
		enum score_reason first;
	} rows[] = {
		/* age 21..65 on 2026-06-01 */
		{ "2005-06-01", 0, 0, SCORE_APPROVE, SCORE_REASON_NONE },
		{ "2005-06-02", 0, 0, SCORE_DECLINE, SCORE_REASON_AGE_BELOW_MINIMUM },
		{ "1960-06-02", 0, 0, SCORE_APPROVE, SCORE_REASON_NONE },
		{ "1960-06-01", 0, 0, SCORE_DECLINE, SCORE_REASON_AGE_ABOVE_MAXIMUM },
		/* bureau overdue at most 60 days */
		{ "1980-01-01", 60, 0, SCORE_APPROVE, SCORE_REASON_NONE },
		{ "1980-01-01", 61, 0, SCORE_DECLINE,
		  SCORE_REASON_BUREAU_OVERDUE_OVER_LIMIT },
		/* burden at most 5000 bp of an income of 10,000,000 tiyn */
		{ "1980-01-01", 0, 5000000, SCORE_APPROVE, SCORE_REASON_NONE },
		{ "1980-01-01", 0, 5000001, SCORE_DECLINE,
		  SCORE_REASON_DEBT_BURDEN_OVER_LIMIT },
	};
	for (size_t i = 0; i < N(rows); i++) {
		struct score_inputs in = best();
		memcpy(in.birth_date, rows[i].birth, 11);
		in.bureau_overdue_days = rows[i].overdue;
		in.debt_payments_tiyn = rows[i].payments;
		struct score_result r = eval(&in);
		/* The approvals have points to spare: only the hard rule
		 * decides. */
		assert_true(r.total >= 600);
		if (r.decision != rows[i].decision ||
		    (r.nreasons ? r.reasons[0] : SCORE_REASON_NONE) != rows[i].first ||
		    r.hard_decline != (rows[i].decision == SCORE_DECLINE))
			fail_msg("row %zu: %s %s", i, scorecard_decision_name(r.decision),
				 r.nreasons ? scorecard_reason_code(r.reasons[0]) : "-");
		if (r.decision == SCORE_DECLINE)
			assert_int_equal(r.amount_limit_tiyn + r.term_limit_days, 0);
	}
}

static void test_cutoffs(void **state)
{
	(void)state;
	static const struct {
		int64_t overdue, active, burden_payments, enquiries, repaid,
			lender_overdue;
		int total;
		enum score_decision decision;
		int64_t amount, term;
	} rows[] = {
		/* -50 -80 -70 */
		{ 1, 3, 3001, 0, 5, 0, 600, SCORE_APPROVE, 1000000, 15 },
		{ 1, 3, 3001, 0, 0, 0, 599, SCORE_REFER, 1000000, 15 },
		/* -100 -80 -20 -100 */
		{ 31, 3, 0, 4, 5, 1, 500, SCORE_REFER, 1000000, 15 },
		{ 31, 3, 0, 4, 0, 1, 499, SCORE_DECLINE, 0, 0 },
		/* the limit from 650 */
		{ 1, 0, 0, 0, 5, 1, 650, SCORE_APPROVE, 5000000, 30 },
		{ 1, 0, 0, 0, 0, 1, 649, SCORE_APPROVE, 1000000, 15 },
	};
	for (size_t i = 0; i < N(rows); i++) {
		struct score_inputs in = best();
		in.bureau_overdue_days = rows[i].overdue;
		in.active_loans = rows[i].active;
		in.income_tiyn = 10000;
		in.debt_payments_tiyn = rows[i].burden_payments;
		in.enquiries_30d = rows[i].enquiries;
		in.lender_loans_repaid = rows[i].repaid;
		in.lender_overdue_days = rows[i].lender_overdue;
		struct score_result r = eval(&in);
		if (r.total != rows[i].total || r.decision != rows[i].decision ||
		    r.amount_limit_tiyn != rows[i].amount ||
		    r.term_limit_days != rows[i].term)
			fail_msg("row %zu: %d %s %lld/%lld", i, r.total,
				 scorecard_decision_name(r.decision),
				 (long long)r.amount_limit_tiyn,
				 (long long)r.term_limit_days);
		assert_int_equal(r.hard_decline, 0);
	}
}

static void test_reason_order(void **state)
{
	(void)state;
	/* Declined on points, 499: the cut-off first, then by points lost,
	 * ties in attribute order, at most five. */
	struct score_inputs in = best();
	in.bureau_overdue_days = 31; /* -100 */
	in.active_loans = 3;	     /* -80 */
	in.enquiries_30d = 4;	     /* -20 */
	in.lender_loans_repaid = 0;  /* -1 */
	in.lender_overdue_days = 1;  /* -100 */
	struct score_result r = eval(&in);
	assert_int_equal(r.total, 499);
	{
		const enum score_reason want[] = {
			SCORE_REASON_SCORE_BELOW_REFER,
			SCORE_REASON_BUREAU_OVERDUE,
			SCORE_REASON_LENDER_OVERDUE,
			SCORE_REASON_MANY_ACTIVE_LOANS,
			SCORE_REASON_MANY_RECENT_ENQUIRIES,
		};
		expect_reasons(&r, want, N(want));
	}
	/* Referred on points, 599: the cut-off, then -80 -70 -50 -1. */
	in = best();
	in.bureau_overdue_days = 1;
	in.active_loans = 3;
	in.income_tiyn = 10000;
	in.debt_payments_tiyn = 3001;
	in.lender_loans_repaid = 0;
	r = eval(&in);
	{
		const enum score_reason want[] = {
			SCORE_REASON_SCORE_BELOW_APPROVE, SCORE_REASON_MANY_ACTIVE_LOANS,
			SCORE_REASON_HIGH_DEBT_BURDEN,	  SCORE_REASON_BUREAU_OVERDUE,
			SCORE_REASON_NO_LENDER_HISTORY,
		};
		expect_reasons(&r, want, N(want));
	}
	/* Hard rules first, in their order, then a missing input that
	 * decides, then what cost points; no cut-off reason under a hard
	 * decline. */
	in = best();
	memcpy(in.birth_date, "2006-01-01", 11); /* 20: -40 age_band */
	in.bureau_overdue_days = 61;		 /* -100 */
	in.missing = SCORE_IN_INCOME;
	r = eval(&in);
	{
		const enum score_reason want[] = {
			SCORE_REASON_AGE_BELOW_MINIMUM,
			SCORE_REASON_BUREAU_OVERDUE_OVER_LIMIT,
			SCORE_REASON_DEBT_BURDEN_UNKNOWN,
			SCORE_REASON_BUREAU_OVERDUE,
			SCORE_REASON_AGE_BAND,
		};
		expect_reasons(&r, want, N(want));
	}
	/* The same inputs, the same reasons: nothing depends on memory. */
	struct score_result again = eval(&in);
	assert_memory_equal(&again, &r, sizeof(r));
	/* An approval tells no reasons, even for bands that cost points. */
	in = best();
	in.lender_loans_repaid = 0;
	r = eval(&in);
	assert_int_equal(r.decision, SCORE_APPROVE);
	assert_int_equal(r.nreasons, 0);
}

static void test_bad_inputs(void **state)
{
	(void)state;
	static const struct {
		const char *on, *birth;
		int64_t overdue, operator_score, income;
		const char *want;
	} rows[] = {
		{ "2025-12-31", "1980-01-01", 0, 800, 1,
		  "date: the card t is in force from 2026-01-01" },
		{ "2026-13-01", "1980-01-01", 0, 800, 1, "date: not a date YYYY-MM-DD" },
		{ "2026-06-01", "1980-1-1", 0, 800, 1,
		  "birth_date: not a date YYYY-MM-DD" },
		{ "2026-06-01", "2026-06-02", 0, 800, 1,
		  "birth_date: after the decision date" },
		{ "2026-06-01", "1980-01-01", -1, 800, 1,
		  "bureau_overdue_days: a whole number from 0 to 1000000" },
		{ "2026-06-01", "1980-01-01", 0, 1001, 1,
		  "operator_score: a whole number from 0 to 1000" },
		{ "2026-06-01", "1980-01-01", 0, 800, SCORE_MONEY_MAX + 1,
		  "income: a whole number from 0 to 10000000000000" },
	};
	for (size_t i = 0; i < N(rows); i++) {
		struct score_inputs in = best();
		memcpy(in.decision_date, rows[i].on, strlen(rows[i].on) + 1);
		memcpy(in.birth_date, rows[i].birth, strlen(rows[i].birth) + 1);
		in.bureau_overdue_days = rows[i].overdue;
		in.operator_score = rows[i].operator_score;
		in.income_tiyn = rows[i].income;
		struct score_result r;
		char err[256];
		assert_int_equal(scorecard_evaluate(card, &in, &r, err, sizeof(err)),
				 SENIM_ERR_INVALID);
		assert_string_equal(err, rows[i].want);
		assert_int_equal(r.total, 0);
		assert_int_equal(r.decision, SCORE_DECLINE);
	}
	/* The card's first day is in force. */
	struct score_inputs in = best();
	memcpy(in.decision_date, "2026-01-01", 11);
	struct score_result r = eval(&in);
	assert_int_equal(r.decision, SCORE_APPROVE);
}

static void test_digest(void **state)
{
	(void)state;
	assert_string_equal(card->digest, GOOD_SHA256);
	/* Any byte changes the card's name, a comment or a CR included. */
	static const struct {
		const char *old, *new;
	} changes[] = {
		{ "[limits]", "# a comment\n[limits]" },
		{ "id = t\n", "id = t\r\n" },
		{ "limit = 650 5000000 30", "limit = 650 5000001 30" },
	};
	for (size_t i = 0; i < N(changes); i++) {
		struct scorecard *c =
			parse_good_text(with(changes[i].old, changes[i].new));
		assert_int_equal(strlen(c->digest), 64);
		assert_string_not_equal(c->digest, GOOD_SHA256);
		scorecard_free(c);
	}
}

static void test_reason_texts(void **state)
{
	(void)state;
	for (int r = SCORE_REASON_NONE + 1; r < SCORE_REASON__COUNT; r++) {
		const char *code = scorecard_reason_code(r);
		assert_non_null(code);
		assert_true(textconf_plain_name(code, strlen(code)));
		assert_int_equal(scorecard_reason_parse(code, strlen(code)), r);
		const char *ru = scorecard_reason_text(r, "ru");
		const char *kk = scorecard_reason_text(r, "kk");
		const char *en = scorecard_reason_text(r, "en");
		assert_non_null(ru);
		assert_non_null(kk);
		assert_non_null(en);
		/* Three different sentences: none left untranslated. */
		assert_string_not_equal(ru, kk);
		assert_string_not_equal(ru, en);
		assert_string_not_equal(kk, en);
		/* Russian for anything else. */
		assert_ptr_equal(scorecard_reason_text(r, "de"), ru);
		assert_ptr_equal(scorecard_reason_text(r, NULL), ru);
		for (int q = SCORE_REASON_NONE + 1; q < r; q++)
			assert_string_not_equal(scorecard_reason_code(q), code);
	}
	assert_null(scorecard_reason_code(SCORE_REASON_NONE));
	assert_null(scorecard_reason_code(SCORE_REASON__COUNT));
	assert_null(scorecard_reason_text(SCORE_REASON_NONE, "ru"));
	assert_int_equal(scorecard_reason_parse("nope", 4), SCORE_REASON_NONE);
	/* Stored decisions name these: a rename breaks them. */
	assert_string_equal(scorecard_reason_code(SCORE_REASON_DEBT_BURDEN_OVER_LIMIT),
			    "debt_burden_over_limit");
	assert_string_equal(scorecard_reason_code(SCORE_REASON_BUREAU_UNAVAILABLE),
			    "bureau_unavailable");
	assert_string_equal(scorecard_attr_name(SCORE_ATTR_DEBT_BURDEN),
			    "debt_burden_bp");
	assert_string_equal(scorecard_decision_name(SCORE_REFER), "refer");
}

static void test_shipped_card(void **state)
{
	(void)state;
	const char *src = getenv("SENIM_SOURCE_DIR");
	char path[4096];
	snprintf(path, sizeof(path), "%s/data/scorecard.conf", src ? src : ".");
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	char *text = malloc(SCORECARD_FILE_MAX + 1);
	assert_non_null(text);
	size_t len = fread(text, 1, SCORECARD_FILE_MAX + 1, f);
	fclose(f);
	struct scorecard *c = NULL;
	char err[512] = "";
	if (scorecard_parse(path, text, len, &c, err, sizeof(err)) != SENIM_OK)
		fail_msg("%s", err);
	free(text);
	assert_true(c->min_age >= 18);
	/* It scores the declared income: an application asks for it. */
	assert_int_equal(scorecard_uses_income(c), 1);
	/* A clean new borrower of 35 with a 1/6 burden and a good operator
	 * score is approved; the same without a bureau answer is not. */
	struct score_inputs in = {
		.decision_date = "2026-12-01",
		.birth_date = "1990-05-05",
		.active_loans = 1,
		.debt_payments_tiyn = 5000000,
		.income_tiyn = 30000000,
		.enquiries_30d = 1,
		.operator_score = 700,
		.missing = SCORE_IN_LENDER_HISTORY,
	};
	struct score_result r;
	assert_int_equal(scorecard_evaluate(c, &in, &r, err, sizeof(err)), SENIM_OK);
	assert_int_equal(r.decision, SCORE_APPROVE);
	assert_true(r.amount_limit_tiyn > 0);
	in.missing |= SCORE_IN_BUREAU;
	assert_int_equal(scorecard_evaluate(c, &in, &r, err, sizeof(err)), SENIM_OK);
	assert_int_not_equal(r.decision, SCORE_APPROVE);
	scorecard_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_card_keys),
		cmocka_unit_test(test_bands),
		cmocka_unit_test(test_missing_and_limits),
		cmocka_unit_test(test_best),
		cmocka_unit_test(test_banding),
		cmocka_unit_test(test_age),
		cmocka_unit_test(test_debt_burden),
		cmocka_unit_test(test_uses_income),
		cmocka_unit_test(test_missing),
		cmocka_unit_test(test_missing_decline),
		cmocka_unit_test(test_hard_rules),
		cmocka_unit_test(test_cutoffs),
		cmocka_unit_test(test_reason_order),
		cmocka_unit_test(test_bad_inputs),
		cmocka_unit_test(test_digest),
		cmocka_unit_test(test_reason_texts),
		cmocka_unit_test(test_shipped_card),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
