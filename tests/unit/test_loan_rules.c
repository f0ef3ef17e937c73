/*
 * test_loan_rules.c — the regulatory rules file (core/loan_rules.h): every
 * rule of the format with the one line it is refused with, the entries in
 * force on a date, each offer rule refusing at its boundary and accepting
 * just inside it, and the shipped data/loan-rules.conf.
 *
 * The bad files are GOOD with a few lines added, so each row differs from a
 * file that passes (test_good_files) in the one place it breaks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/loan_rules.h"
#include "common/banned.h"

#define N(a) (sizeof(a) / sizeof(a[0]))

/* 41 lines, every rule once, all from 2024-01-01; the 2024 МРП (3,692
 * tenge).  Each source is one letter, so a refusal's source is checkable. */
#define GOOD GESV_PART WITHOUT_GESV
#define GESV_PART             \
	"[rule gesv_cap]\n"   \
	"from = 2024-01-01\n" \
	"source = A\n"        \
	"bp = 4600\n"
/* GOOD without its first four lines (the ГЭСВ cap): 37 lines. */
#define WITHOUT_GESV              \
	"[rule short_loan]\n"     \
	"from = 2024-01-01\n"     \
	"source = B\n"            \
	"max_days = 45\n"         \
	"max_mrp = 45\n"          \
	"daily_cap_bp = 30\n"     \
	"annual_cap_bp = 17900\n" \
	"[rule max_amount]\n"     \
	"from = 2024-01-01\n"     \
	"source = C\n"            \
	"mrp = 20000\n"           \
	"[rule mrp]\n"            \
	"from = 2024-01-01\n"     \
	"source = D\n"            \
	"tiyn = 369200\n"         \
	"[rule cooloff]\n"        \
	"from = 2024-01-01\n"     \
	"source = E\n"            \
	"above_mrp = 75\n"        \
	"hold_minutes = 1440\n"   \
	"[rule penalty]\n"        \
	"from = 2024-01-01\n"     \
	"source = F\n"            \
	"daily_bp = 50\n"         \
	"annual_bp = 1000\n"      \
	"[rule notice]\n"         \
	"from = 2024-01-01\n"     \
	"source = G\n"            \
	"days = 10\n"             \
	"[rule restructuring]\n"  \
	"from = 2024-01-01\n"     \
	"source = H\n"            \
	"days = 30\n"             \
	"[rule self_exclusion]\n" \
	"from = 2024-01-01\n"     \
	"source = I\n"            \
	"check = yes\n"

/* Lines 42-45: the 2026 МРП, 4,325 tenge. */
#define MRP_2026              \
	"[rule mrp]\n"        \
	"from = 2026-01-01\n" \
	"source = J\n"        \
	"tiyn = 432500\n"

static enum senim_result parse(const char *text, size_t len, struct loan_rules **r,
			       char *err, size_t errlen)
{
	return loan_rules_parse("f.conf", text, len, r, err, errlen);
}

static void expect_refused(const char *text, size_t len, const char *want)
{
	struct loan_rules *r = (struct loan_rules *)1;
	char err[512];
	enum senim_result rc = parse(text, len, &r, err, sizeof(err));
	if (rc != SENIM_ERR_INVALID || strcmp(err, want) != 0)
		fail_msg("want \"%s\"\n got \"%s\" (%d)", want, rc ? err : "(accepted)",
			 rc);
	assert_null(r);
}

static void test_lines(void **state)
{
	(void)state;
	static const struct {
		const char *text, *want;
	} rows[] = {
		{ GOOD "x\n", "f.conf:42: neither a section, a comment nor key = value" },
		{ GOOD "= 1\n",
		  "f.conf:42: neither a section, a comment nor key = value" },
		{ GOOD "[rule foo]\n", "f.conf:42: unknown rule 'foo'" },
		{ GOOD "[rule Фу]\n", "f.conf:42: unknown rule" },
		{ GOOD "[rules mrp]\n", "f.conf:42: a section is [rule CODE]" },
		{ GOOD "[rule mrp\n", "f.conf:42: a section header ends with ']'" },
		{ "bp = 1\n" GOOD, "f.conf:1: a key outside a [rule CODE] section" },
		{ GOOD "# \xff\n", "f.conf:42: not UTF-8" },
		{ GOOD "# \x01\n", "f.conf:42: a control character" },
		{ GOOD "# \x7f\n", "f.conf:42: a control character" },
		{ WITHOUT_GESV, "f.conf:38: no [rule gesv_cap] in the file" },
		{ GOOD "[rule self_exclusion]\nfrom = 2025-01-01\nsource = K\n",
		  "f.conf:42: [rule self_exclusion]: check is missing" },
		{ GOOD "[rule penalty]\nfrom = 2027-01-01\nsource = K\ndaily_bp = 50\n"
		       "annual_bp = 1000\nafter_days = 90\n",
		  "f.conf:42: [rule penalty]: after_days and daily_after_bp come "
		  "together" },
		{ GOOD "[rule penalty]\nfrom = 2027-01-01\nsource = K\ndaily_bp = 50\n"
		       "annual_bp = 1000\ndaily_after_bp = 3\n",
		  "f.conf:42: [rule penalty]: after_days and daily_after_bp come "
		  "together" },
		{ GOOD "[rule penalty]\nfrom = 2027-01-01\nsource = K\ndaily_bp = 50\n"
		       "annual_bp = 1000\nafter_days = 0\ndaily_after_bp = 3\n",
		  "f.conf:47: [rule penalty] after_days: a whole number from 1 to 3660" },
	};
	for (size_t i = 0; i < N(rows); i++)
		expect_refused(rows[i].text, strlen(rows[i].text), rows[i].want);
}

static void test_keys(void **state)
{
	(void)state;
#define MRP_AT(from) "[rule mrp]\nfrom = " from "\nsource = K\n"
	static const struct {
		const char *text, *want;
	} rows[] = {
		{ GOOD MRP_AT("2027-01-01") "foo = 1\n",
		  "f.conf:45: [rule mrp]: unknown key 'foo'" },
		{ GOOD MRP_AT("2027-01-01") "Ключ = 1\n",
		  "f.conf:45: [rule mrp]: unknown key" },
		{ GOOD MRP_AT("2027-01-01") "bp = 1\n",
		  "f.conf:45: [rule mrp]: unknown key 'bp'" },
		{ GOOD "[rule mrp]\nfrom = 2027-01-01\nfrom = 2027-01-02\n",
		  "f.conf:44: [rule mrp] from: given twice" },
		{ GOOD MRP_AT("2027-01-01") "tiyn = 1\ntiyn = 1\n",
		  "f.conf:46: [rule mrp] tiyn: given twice" },
		{ GOOD "[rule mrp]\nfrom =\n", "f.conf:43: [rule mrp] from: empty" },
		{ GOOD "[rule mrp]\nsource =   \n",
		  "f.conf:43: [rule mrp] source: empty" },
		{ GOOD "[rule mrp]\nfrom = 2027-02-29\n",
		  "f.conf:43: [rule mrp] from: not a date YYYY-MM-DD" },
		{ GOOD "[rule mrp]\nfrom = 2027-13-01\n",
		  "f.conf:43: [rule mrp] from: not a date YYYY-MM-DD" },
		{ GOOD "[rule mrp]\nfrom = 2027-1-01\n",
		  "f.conf:43: [rule mrp] from: not a date YYYY-MM-DD" },
		{ GOOD "[rule mrp]\nfrom = 1899-12-31\n",
		  "f.conf:43: [rule mrp] from: not a date YYYY-MM-DD" },
		{ GOOD "[rule mrp]\nsource = K\ntiyn = 1\n",
		  "f.conf:42: [rule mrp]: from is missing" },
		{ GOOD "[rule mrp]\nfrom = 2027-01-01\ntiyn = 1\n",
		  "f.conf:42: [rule mrp]: source is missing" },
		{ GOOD MRP_AT("2027-01-01"), "f.conf:42: [rule mrp]: tiyn is missing" },
		{ GOOD MRP_AT("2027-01-01") "tiyn = 0\n",
		  "f.conf:45: [rule mrp] tiyn: a whole number from 1 to 100000000" },
		{ GOOD MRP_AT("2027-01-01") "tiyn = 100000001\n",
		  "f.conf:45: [rule mrp] tiyn: a whole number from 1 to 100000000" },
		{ GOOD MRP_AT("2027-01-01") "tiyn = -5\n",
		  "f.conf:45: [rule mrp] tiyn: a whole number from 1 to 100000000" },
		{ GOOD MRP_AT("2027-01-01") "tiyn = 12a\n",
		  "f.conf:45: [rule mrp] tiyn: a whole number from 1 to 100000000" },
		{ GOOD MRP_AT("2027-01-01") "tiyn = 0000000000001\n",
		  "f.conf:45: [rule mrp] tiyn: a whole number from 1 to 100000000" },
		{ GOOD
		  "[rule self_exclusion]\nfrom = 2025-01-01\nsource = K\ncheck = maybe\n",
		  "f.conf:45: [rule self_exclusion] check: yes or no" },
		/* Two entries of a rule on one date would overlap; an earlier date
		 * after a later one would hide it. */
		{ GOOD MRP_AT("2024-01-01") "tiyn = 1\n",
		  "f.conf:42: [rule mrp] from: 2024-01-01 is not later than 2024-01-01 "
		  "of "
		  "the entry at line 16: the entries of a rule come in increasing "
		  "dates" },
		{ GOOD MRP_2026 MRP_AT("2025-06-01") "tiyn = 1\n",
		  "f.conf:46: [rule mrp] from: 2025-06-01 is not later than 2026-01-01 "
		  "of "
		  "the entry at line 42: the entries of a rule come in increasing "
		  "dates" },
	};
	for (size_t i = 0; i < N(rows); i++)
		expect_refused(rows[i].text, strlen(rows[i].text), rows[i].want);
#undef MRP_AT
}

/* Sizes at and past their limits: 300 characters of source, lines of 1024
 * bytes, a file of 64 KiB. */
static void test_limits(void **state)
{
	(void)state;
	static char text[LOAN_RULES_FILE_MAX + 2];
	char src[1300];
	for (int i = 0; i < 300; i++)
		memcpy(src + 2 * i, "ы", 2); /* 2 bytes, 1 character */
	src[600] = '\0';
	/* 300 characters: accepted. */
	snprintf(text, sizeof(text),
		 GOOD "[rule mrp]\nfrom = 2027-01-01\nsource = %s\ntiyn = 1\n", src);
	struct loan_rules *r = NULL;
	char err[512];
	assert_int_equal(parse(text, strlen(text), &r, err, sizeof(err)), SENIM_OK);
	assert_string_equal(r->entries[r->n - 1].source, src);
	loan_rules_free(r);
	/* 301: refused. */
	snprintf(text, sizeof(text),
		 GOOD "[rule mrp]\nfrom = 2027-01-01\nsource = %sы\ntiyn = 1\n", src);
	expect_refused(text, strlen(text),
		       "f.conf:44: [rule mrp] source: longer than 300 characters");

	/* A comment line of 1024 bytes, then 1025. */
	char line[LOAN_RULES_LINE_MAX + 2];
	memset(line, 'a', sizeof(line));
	line[0] = '#';
	line[LOAN_RULES_LINE_MAX] = '\0';
	snprintf(text, sizeof(text), GOOD "%s\n", line);
	assert_int_equal(parse(text, strlen(text), &r, err, sizeof(err)), SENIM_OK);
	loan_rules_free(r);
	/* The CR of a CRLF line does not count. */
	snprintf(text, sizeof(text), GOOD "%s\r\n", line);
	assert_int_equal(parse(text, strlen(text), &r, err, sizeof(err)), SENIM_OK);
	loan_rules_free(r);
	line[LOAN_RULES_LINE_MAX] = 'a';
	line[LOAN_RULES_LINE_MAX + 1] = '\0';
	snprintf(text, sizeof(text), GOOD "%s\n", line);
	expect_refused(text, strlen(text), "f.conf:42: longer than 1024 bytes");

	/* A file of exactly the limit, comments after GOOD, is read; a byte
	 * more is refused before any line is. */
	size_t good = strlen(GOOD);
	memcpy(text, GOOD, good);
	for (size_t i = good; i < LOAN_RULES_FILE_MAX; i++)
		text[i] =
			(i - good) % 64 == 0 ? '#' : ((i - good) % 64 == 63 ? '\n' : 'x');
	text[LOAN_RULES_FILE_MAX - 1] = '\n';
	assert_int_equal(parse(text, LOAN_RULES_FILE_MAX, &r, err, sizeof(err)),
			 SENIM_OK);
	loan_rules_free(r);
	text[LOAN_RULES_FILE_MAX] = '\n';
	expect_refused(text, LOAN_RULES_FILE_MAX + 1,
		       "f.conf:1: the file is longer than 65536 bytes");

	/* GOOD's 9 entries and 247 more make the most a file may hold; one
	 * more is refused at its header. */
	size_t n = strlen(GOOD);
	memcpy(text, GOOD, n);
	for (int k = 0; k < 248; k++)
		n += (size_t)snprintf(
			text + n, sizeof(text) - n,
			"[rule mrp]\nfrom = %d-01-01\nsource = K\ntiyn = 1\n", 2100 + k);
	size_t last = strlen("[rule mrp]\nfrom = 2347-01-01\nsource = K\ntiyn = 1\n");
	assert_int_equal(parse(text, n - last, &r, err, sizeof(err)), SENIM_OK);
	assert_int_equal(r->n, LOAN_RULES_MAX);
	loan_rules_free(r);
	expect_refused(text, n, "f.conf:1030: more than 256 entries");

	/* A message cut short stays a string. */
	assert_int_equal(parse(GOOD "x\n", strlen(GOOD "x\n"), &r, err, 8),
			 SENIM_ERR_INVALID);
	assert_string_equal(err, "f.conf:");
}

static void test_good_files(void **state)
{
	(void)state;
	static const char *const good[] = {
		GOOD,
		GOOD MRP_2026,
		"# a comment\n\n  [rule gesv_cap]  \n\tfrom=2024-01-01\t\nsource = A # "
		"not a "
		"comment\nbp = 100000\n" WITHOUT_GESV,
		/* CRLF, no final newline. */
		"[rule gesv_cap]\r\nfrom = 2024-01-01\r\nsource = A\r\nbp = "
		"1\r\n" WITHOUT_GESV
		"[rule notice]\r\nfrom = 2024-02-29\r\nsource = Закон\r\ndays = 365",
		GOOD "[rule self_exclusion]\nfrom = 2025-01-01\nsource = K\ncheck = no\n",
		GOOD "[rule mrp]\nfrom = 2027-01-01\nsource = K\ntiyn = 100000000\n",
	};
	for (size_t i = 0; i < N(good); i++) {
		struct loan_rules *r = NULL;
		char err[512] = "";
		if (parse(good[i], strlen(good[i]), &r, err, sizeof(err)) != SENIM_OK)
			fail_msg("file %zu: %s", i, err);
		loan_rules_free(r);
	}
	loan_rules_free(NULL);
}

static void in_force(const char *text, const char *date, struct loan_rules **r,
		     struct loan_rules_in_force *f)
{
	char err[512];
	if (parse(text, strlen(text), r, err, sizeof(err)) != SENIM_OK)
		fail_msg("%s", err);
	if (loan_rules_in_force(*r, date, f, err, sizeof(err)) != SENIM_OK)
		fail_msg("%s", err);
}

static void test_in_force(void **state)
{
	(void)state;
	struct loan_rules *r;
	struct loan_rules_in_force f;
	in_force(GOOD MRP_2026, "2025-12-31", &r, &f);
	assert_int_equal(f.mrp_tiyn, 369200);
	assert_string_equal(f.rule[LOAN_RULE_MRP]->source, "D");
	assert_int_equal(f.rule[LOAN_RULE_MRP]->line, 16);
	assert_string_equal(f.date, "2025-12-31");
	char err[512];
	assert_int_equal(loan_rules_in_force(r, "2026-01-01", &f, err, sizeof(err)),
			 SENIM_OK);
	assert_int_equal(f.mrp_tiyn, 432500);
	assert_string_equal(f.rule[LOAN_RULE_MRP]->source, "J");
	assert_int_equal(f.gesv_cap_bp, 4600);
	assert_int_equal(f.short_max_days, 45);
	assert_int_equal(f.short_max_mrp, 45);
	assert_int_equal(f.short_daily_cap_bp, 30);
	assert_int_equal(f.short_annual_cap_bp, 17900);
	assert_int_equal(f.max_amount_mrp, 20000);
	assert_int_equal(f.cooloff_above_mrp, 75);
	assert_int_equal(f.cooloff_hold_minutes, 1440);
	assert_int_equal(f.penalty_daily_bp, 50);
	assert_int_equal(f.penalty_annual_bp, 1000);
	assert_int_equal(f.penalty_after_days, 0); /* no second tier given */
	assert_int_equal(f.penalty_daily_after_bp, 0);
	assert_int_equal(f.notice_days, 10);
	assert_int_equal(f.restructuring_days, 30);
	assert_int_equal(f.self_exclusion_check, 1);
	/* The first day and the day before it. */
	assert_int_equal(loan_rules_in_force(r, "2024-01-01", &f, err, sizeof(err)),
			 SENIM_OK);
	assert_int_equal(loan_rules_in_force(r, "2023-12-31", &f, err, sizeof(err)),
			 SENIM_ERR_INVALID);
	assert_string_equal(err,
			    "no [rule gesv_cap] in force on 2023-12-31: its first entry, "
			    "line 1, is from 2024-01-01");
	assert_null(f.rule[LOAN_RULE_GESV_CAP]);
	assert_int_equal(loan_rules_in_force(r, "2026-02-30", &f, err, sizeof(err)),
			 SENIM_ERR_INVALID);
	assert_string_equal(err, "not a date YYYY-MM-DD");
	assert_int_equal(loan_rules_in_force(r, "2026-01-01x", &f, err, sizeof(err)),
			 SENIM_ERR_INVALID);
	loan_rules_free(r);

	/* A rule that begins later than the rest is not in force before it. */
	in_force(GOOD
		 "[rule self_exclusion]\nfrom = 2026-06-01\nsource = K\ncheck = no\n",
		 "2026-06-01", &r, &f);
	assert_int_equal(f.self_exclusion_check, 0);
	assert_int_equal(loan_rules_in_force(r, "2026-05-31", &f, err, sizeof(err)),
			 SENIM_OK);
	assert_int_equal(f.self_exclusion_check, 1);
	loan_rules_free(r);
}

/* The 2026 figures: 1 МРП = 432,500 tiyn. */
#define MRP26 432500LL

static void test_offers(void **state)
{
	(void)state;
	struct loan_rules *r;
	struct loan_rules_in_force f;
	in_force(GOOD MRP_2026, "2026-03-01", &r, &f);
	/* A year's loan well inside every rule. */
	const struct loan_offer base = {
		.amount_tiyn = 100000 * 100,
		.term_days = 365,
		.annual_rate_bp = 4000,
		.effective_rate_bp = 4600,
		.penalty_daily_bp = 50,
		.penalty_annual_bp = 1000,
	};
	static const struct {
		const char *name;
		int64_t amount, term, rate, gesv, pen_day, pen_year; /* -1: base's */
		enum loan_breach want;
		const char *source;
	} rows[] = {
		{ "base", -1, -1, -1, -1, -1, -1, LOAN_BREACH_NONE, NULL },
		{ "amount 0", 0, -1, -1, -1, -1, -1, LOAN_BREACH_OFFER_INVALID, NULL },
		{ "term 0", -1, 0, -1, -1, -1, -1, LOAN_BREACH_OFFER_INVALID, NULL },
		{ "max amount", 20000 * MRP26, -1, -1, -1, -1, -1, LOAN_BREACH_NONE,
		  NULL },
		{ "above max", 20000 * MRP26 + 1, -1, -1, -1, -1, -1,
		  LOAN_BREACH_MAX_AMOUNT, "C" },
		{ "gesv at cap", -1, -1, -1, 4600, -1, -1, LOAN_BREACH_NONE, NULL },
		{ "gesv above", -1, -1, -1, 4601, -1, -1, LOAN_BREACH_GESV_CAP, "A" },
		/* A short small loan is held to its own caps instead of 46%. */
		{ "short", 45 * MRP26, 45, 10949, 17900, -1, -1, LOAN_BREACH_NONE, NULL },
		{ "short daily", 45 * MRP26, 45, 10950, 17900, -1, -1,
		  LOAN_BREACH_SHORT_DAILY, "B" },
		{ "short annual", 45 * MRP26, 45, 10949, 17901, -1, -1,
		  LOAN_BREACH_SHORT_ANNUAL, "B" },
		{ "46 days", 45 * MRP26, 46, 10949, 4601, -1, -1, LOAN_BREACH_GESV_CAP,
		  "A" },
		{ "45 МРП + 1", 45 * MRP26 + 1, 45, 10949, 4601, -1, -1,
		  LOAN_BREACH_GESV_CAP, "A" },
		{ "penalty day", -1, -1, -1, -1, 51, -1, LOAN_BREACH_PENALTY_DAILY, "F" },
		{ "penalty year", -1, -1, -1, -1, -1, 1001, LOAN_BREACH_PENALTY_ANNUAL,
		  "F" },
	};
	for (size_t i = 0; i < N(rows); i++) {
		struct loan_offer o = base;
		if (rows[i].amount >= 0)
			o.amount_tiyn = rows[i].amount;
		if (rows[i].term >= 0)
			o.term_days = rows[i].term;
		if (rows[i].rate >= 0)
			o.annual_rate_bp = rows[i].rate;
		if (rows[i].gesv >= 0)
			o.effective_rate_bp = rows[i].gesv;
		if (rows[i].pen_day >= 0)
			o.penalty_daily_bp = rows[i].pen_day;
		if (rows[i].pen_year >= 0)
			o.penalty_annual_bp = rows[i].pen_year;
		struct loan_rule_refusal why;
		enum loan_breach b = loan_rules_check_offer(&f, &o, &why);
		if (b != rows[i].want)
			fail_msg("%s: want %s, got %s", rows[i].name,
				 loan_breach_code(rows[i].want), loan_breach_code(b));
		assert_int_equal(why.breach, b);
		assert_string_equal(why.code, loan_breach_code(b));
		if (rows[i].source)
			assert_string_equal(why.rule->source, rows[i].source);
		else
			assert_null(why.rule);
	}
	/* Negative rates and penalties are no offer. */
	struct loan_offer o = base;
	o.annual_rate_bp = -1;
	assert_int_equal(loan_rules_check_offer(&f, &o, NULL), LOAN_BREACH_OFFER_INVALID);
	o = base;
	o.penalty_annual_bp = -1;
	assert_int_equal(loan_rules_check_offer(&f, &o, NULL), LOAN_BREACH_OFFER_INVALID);
	assert_string_equal(loan_breach_code(LOAN_BREACH_SHORT_DAILY),
			    "short_loan.daily");
	assert_null(loan_breach_code(LOAN_BREACH__COUNT));
	assert_string_equal(loan_rule_code_name(LOAN_RULE_SELF_EXCLUSION),
			    "self_exclusion");
	assert_null(loan_rule_code_name(LOAN_RULE__COUNT));

	/* The cooling-off hold: above 75 МРП, not at it. */
	assert_int_equal(loan_rules_payout_hold_minutes(&f, 75 * MRP26), 0);
	assert_int_equal(loan_rules_payout_hold_minutes(&f, 75 * MRP26 + 1), 1440);
	assert_int_equal(loan_rules_mrp_tiyn(&f, 2), 2 * MRP26);
	assert_int_equal(loan_rules_mrp_tiyn(&f, 1000001), INT64_MAX);
	assert_int_equal(loan_rules_mrp_tiyn(&f, -1), INT64_MAX);
	loan_rules_free(r);

	/* The same amount on another date meets that date's МРП: 20,000 МРП of
	 * 2026 is above 20,000 МРП of 2025. */
	in_force(GOOD MRP_2026, "2025-12-31", &r, &f);
	o = base;
	o.amount_tiyn = 20000 * MRP26;
	struct loan_rule_refusal why;
	assert_int_equal(loan_rules_check_offer(&f, &o, &why), LOAN_BREACH_MAX_AMOUNT);
	assert_int_equal(why.rule->line, 12);
	loan_rules_free(r);
}

static void test_shipped_file(void **state)
{
	(void)state;
	char path[4096];
	const char *src = getenv("SENIM_SOURCE_DIR");
	if (src && *src) {
		snprintf(path, sizeof(path), "%s/data/loan-rules.conf", src);
	} else {
		const char *here = __FILE__;
		const char *cut = strstr(here, "tests/unit/");
		snprintf(path, sizeof(path), "%.*sdata/loan-rules.conf",
			 cut ? (int)(cut - here) : 0, here);
	}
	FILE *fp = fopen(path, "rb");
	if (!fp)
		fail_msg("cannot open %s", path);
	static char text[LOAN_RULES_FILE_MAX + 1];
	size_t len = fread(text, 1, sizeof(text), fp);
	fclose(fp);
	struct loan_rules *r = NULL;
	char err[512];
	if (loan_rules_parse(path, text, len, &r, err, sizeof(err)) != SENIM_OK)
		fail_msg("%s", err);
	struct loan_rules_in_force f;
	if (loan_rules_in_force(r, "2026-01-01", &f, err, sizeof(err)) != SENIM_OK)
		fail_msg("%s", err);
	/* The figures of issue 12 and the 2026 budget law. */
	assert_int_equal(f.gesv_cap_bp, 4600);
	assert_int_equal(f.short_daily_cap_bp, 30);
	assert_int_equal(f.short_annual_cap_bp, 17900);
	assert_int_equal(f.short_max_days, 45);
	assert_int_equal(f.short_max_mrp, 45);
	assert_int_equal(f.max_amount_mrp, 20000);
	assert_int_equal(f.mrp_tiyn, 432500);
	assert_int_equal(f.cooloff_above_mrp, 75);
	assert_int_equal(f.notice_days, 10);
	assert_int_equal(f.restructuring_days, 30);
	assert_int_equal(f.restructuring_answer_days, 15);
	assert_int_equal(f.penalty_daily_bp, 50); /* 56-V art. 6(3) */
	assert_int_equal(f.penalty_annual_bp, 1000);
	assert_int_equal(f.penalty_after_days, 90);
	assert_int_equal(f.penalty_daily_after_bp, 3);
	assert_int_equal(f.cooloff_hold_minutes, 24 * 60); /* 56-V art. 3(3-3) */
	for (int c = 0; c < LOAN_RULE__COUNT; c++)
		assert_true(strlen(f.rule[c]->source) > 0);
	loan_rules_free(r);
}

/* The optional `allocation` rule: parsed into the two orders, each bad
 * entry refused with its line, and a file without it still good. */
#define ALLOC_HEAD "[rule allocation]\nfrom = 2024-01-01\nsource = K\n"
#define ORDER_OK                                                            \
	"principal_overdue, interest_overdue, penalty, principal_current, " \
	"interest_current"
#define ORDER_LATE \
	"principal_overdue,interest_overdue,principal_current,interest_current,penalty"

static void test_allocation(void **state)
{
	(void)state;
	static const char good[] = GOOD ALLOC_HEAD "order = " ORDER_OK "\n"
						   "after_days = 90\n"
						   "order_after = " ORDER_LATE "\n";
	struct loan_rules *r = NULL;
	char err[512];
	if (parse(good, strlen(good), &r, err, sizeof(err)) != SENIM_OK)
		fail_msg("%s", err);
	struct loan_rules_in_force f;
	assert_int_equal(loan_rules_in_force(r, "2024-06-01", &f, err, sizeof(err)),
			 SENIM_OK);
	assert_int_equal(f.has_allocation, 1);
	assert_int_equal(f.allocation_after_days, 90);
	static const uint8_t want[] = { LOAN_ALLOC_PRINCIPAL_OVERDUE,
					LOAN_ALLOC_INTEREST_OVERDUE, LOAN_ALLOC_PENALTY,
					LOAN_ALLOC_PRINCIPAL_CURRENT,
					LOAN_ALLOC_INTEREST_CURRENT };
	static const uint8_t want_after[] = { LOAN_ALLOC_PRINCIPAL_OVERDUE,
					      LOAN_ALLOC_INTEREST_OVERDUE,
					      LOAN_ALLOC_PRINCIPAL_CURRENT,
					      LOAN_ALLOC_INTEREST_CURRENT,
					      LOAN_ALLOC_PENALTY };
	assert_memory_equal(f.allocation_order, want, sizeof(want));
	assert_memory_equal(f.allocation_order_after, want_after, sizeof(want_after));
	assert_string_equal(loan_alloc_component_name(LOAN_ALLOC_PENALTY), "penalty");
	assert_null(loan_alloc_component_name(0));
	loan_rules_free(r);

	/* Without the rule the file is good and nothing can be allocated. */
	assert_int_equal(parse(GOOD, strlen(GOOD), &r, err, sizeof(err)), SENIM_OK);
	assert_int_equal(loan_rules_in_force(r, "2024-06-01", &f, err, sizeof(err)),
			 SENIM_OK);
	assert_int_equal(f.has_allocation, 0);
	loan_rules_free(r);

	static const struct {
		const char *text, *want;
	} rows[] = {
		{ GOOD ALLOC_HEAD "order = " ORDER_OK "\nafter_days = 90\n",
		  "f.conf:42: [rule allocation]: order_after is missing" },
		{ GOOD ALLOC_HEAD "order = principal_overdue, interest_overdue, penalty, "
				  "principal_current\n",
		  "f.conf:45: [rule allocation] order: each of the five components "
		  "once" },
		{ GOOD ALLOC_HEAD "order = principal_overdue, interest_overdue, penalty, "
				  "principal_current, interest_current, penalty\n",
		  "f.conf:45: [rule allocation] order: a component given twice" },
		{ GOOD ALLOC_HEAD "order = principal_overdue, interest_overdue, penalty, "
				  "principal_current, fees\n",
		  "f.conf:45: [rule allocation] order: a list of principal_overdue, "
		  "interest_overdue, penalty, principal_current, interest_current" },
		{ GOOD ALLOC_HEAD
		  "order = principal_overdue,, interest_overdue, penalty, "
		  "principal_current, interest_current\n",
		  "f.conf:45: [rule allocation] order: a list of principal_overdue, "
		  "interest_overdue, penalty, principal_current, interest_current" },
		{ GOOD ALLOC_HEAD "order = principal_current, principal_overdue, "
				  "interest_overdue, penalty, interest_current\n",
		  "f.conf:45: [rule allocation] order: an overdue part comes before the "
		  "current part of its kind" },
		{ GOOD ALLOC_HEAD "order = principal_overdue, interest_current, penalty, "
				  "principal_current, interest_overdue\n",
		  "f.conf:45: [rule allocation] order: an overdue part comes before the "
		  "current part of its kind" },
		{ GOOD ALLOC_HEAD "order = " ORDER_OK "\nafter_days = 3661\n",
		  "f.conf:46: [rule allocation] after_days: a whole number from 0 to "
		  "3660" },
		{ GOOD ALLOC_HEAD "order = " ORDER_OK "\nafter_days = 90\n"
				  "order_after = " ORDER_LATE "\n" ALLOC_HEAD
				  "order = " ORDER_OK
				  "\nafter_days = 90\norder_after = " ORDER_LATE "\n",
		  "f.conf:48: [rule allocation] from: 2024-01-01 is not later than "
		  "2024-01-01 of the entry at line 42: the entries of a rule come in "
		  "increasing dates" },
	};
	for (size_t i = 0; i < N(rows); i++)
		expect_refused(rows[i].text, strlen(rows[i].text), rows[i].want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines),	     cmocka_unit_test(test_keys),
		cmocka_unit_test(test_limits),	     cmocka_unit_test(test_good_files),
		cmocka_unit_test(test_in_force),     cmocka_unit_test(test_offers),
		cmocka_unit_test(test_shipped_file), cmocka_unit_test(test_allocation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
