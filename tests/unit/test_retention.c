/*
 * test_retention.c — the retention file (core/retention.h): the shipped
 * file is good; each rule of the format refuses a file naming its line (a
 * period below its minimum, a pair given twice or missing, D7's order,
 * open/keep only for open_loan); the period arithmetic (calendar months and
 * years, the end of a shorter month, leap days) and the comparison of
 * periods of different units; the shred journal (vault/shred.h) round-trips,
 * skips an unfinished last line, and keeps every line of two processes
 * appending at once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/textconf.h"
#include "core/retention.h"
#include "vault/shred.h"
#include "testutil.h"
#include "common/banned.h"

#define N(a) (sizeof(a) / sizeof(a[0]))

static char *shipped(size_t *len)
{
	const char *src = getenv("SENIM_SOURCE_DIR");
	char path[4096];
	snprintf(path, sizeof(path), "%s/data/retention.conf", src ? src : ".");
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	char *text = malloc(RETENTION_FILE_MAX);
	assert_non_null(text);
	*len = fread(text, 1, RETENTION_FILE_MAX, f);
	fclose(f);
	return text;
}

static void test_shipped_file(void **state)
{
	(void)state;
	size_t len;
	char *text = shipped(&len);
	struct retention_rules *r = NULL;
	struct retention_error e;
	assert_int_equal(retention_parse(text, len, &r, &e), SENIM_OK);
	/* D7: the special categories have the shortest periods. */
	for (int st = 0; st < RETENTION_STATE__COUNT; st++)
		for (int c = 0; c < CATEGORY__COUNT; c++)
			assert_true(retention_period_at_least(
				r->entry[st][CATEGORY_IDENTITY].period,
				r->entry[st][c].period));
	assert_int_equal(r->entry[RETENTION_OPEN_LOAN][CATEGORY_IDENTITY].action,
			 RETENTION_KEEP);
	retention_rules_free(r);
	free(text);
}

/* A complete valid file with `line` replacing the entry it names (the same
 * category and state), or appended when `append`. */
static char *file_with(const char *replace_prefix, const char *line, int append)
{
	static const char *const cats[] = { "identity", "family",	"medical",
					    "contact",	"professional", "device",
					    "biometric" };
	static const char *const states[] = { "applicant_refused", "open_loan",
					      "loan_closed", "consent_withdrawn" };
	size_t cap = 16384, n = 0;
	char *out = malloc(cap);
	assert_non_null(out);
	n += (size_t)snprintf(
		out + n, cap - n,
		"# test\nminimum none 0d no minimum\nminimum aml 5y AML law\n");
	for (size_t s = 0; s < N(states); s++)
		for (size_t c = 0; c < N(cats); c++) {
			char entry[256];
			int special = c == 2 || c == 6;
			if (s == 1)
				snprintf(entry, sizeof(entry),
					 "retain %s %s open keep none basis", cats[c],
					 states[s]);
			else
				snprintf(entry, sizeof(entry),
					 "retain %s %s %s %s %s basis", cats[c],
					 states[s], special ? "30d" : "5y",
					 c == 0 ? "anonymise" : "destroy",
					 c == 0 ? "aml" : "none");
			if (replace_prefix &&
			    strncmp(entry, replace_prefix, strlen(replace_prefix)) == 0) {
				if (line)
					n += (size_t)snprintf(out + n, cap - n, "%s\n",
							      line);
				continue;
			}
			n += (size_t)snprintf(out + n, cap - n, "%s\n", entry);
		}
	if (append)
		n += (size_t)snprintf(out + n, cap - n, "%s\n", line);
	return out;
}

struct bad_case {
	const char *replace; /* the entry to replace (its prefix), or NULL */
	const char *line;    /* what goes in its place, or is appended */
	int append;
	unsigned want_line; /* 0: the end of the file */
	const char *want;   /* in the message */
};

static void test_refusals(void **state)
{
	(void)state;
	/* The header is 3 lines; identity applicant_refused is line 4. */
	static const struct bad_case cases[] = {
		{ "retain identity applicant_refused",
		  "retain identity applicant_refused 4y anonymise aml basis", 0, 4,
		  "below the legal minimum" },
		{ "retain identity applicant_refused",
		  "retain identity applicant_refused 59m anonymise aml basis", 0, 4,
		  "below the legal minimum" },
		{ "retain identity applicant_refused",
		  "retain identity applicant_refused 1825d anonymise aml basis", 0, 4,
		  "below the legal minimum" },
		{ NULL, "retain identity loan_closed 5y anonymise aml again", 1, 32,
		  "given already on line" },
		{ "retain family loan_closed", NULL, 0, 0,
		  "no entry for family in state loan_closed" },
		{ "retain medical loan_closed",
		  "retain medical loan_closed 6y destroy none b", 0, 20,
		  "special data (D7)" },
		{ "retain family loan_closed",
		  "retain family loan_closed open keep none b", 0, 19,
		  "`open` is the period of open_loan" },
		{ "retain family open_loan", "retain family open_loan 1y destroy none b",
		  0, 12, "`open` is the period of open_loan" },
		{ "retain family open_loan",
		  "retain family open_loan open destroy none b", 0, 12,
		  "`keep` is the action of open_loan" },
		{ "retain family loan_closed",
		  "retain family loan_closed 1y destroy nope b", 0, 19,
		  "minimum nope is not declared" },
		{ "retain family loan_closed",
		  "retain family loan_closed 1y destroy none", 0, 19, "its basis" },
		{ "retain family loan_closed",
		  "retain family loan_closed 1w destroy none b", 0, 19,
		  "the period must be" },
		{ "retain family loan_closed",
		  "retain family loan_closed 101y destroy none b", 0, 19,
		  "the period must be" },
		{ "retain family loan_closed",
		  "retain family loan_closed 1y shred none b", 0, 19, "the action is" },
		{ "retain family loan_closed", "retain family closed 1y destroy none b",
		  0, 19, "an unknown state" },
		{ "retain family loan_closed",
		  "retain finance loan_closed 1y destroy none b", 0, 19,
		  "an unknown category" },
		{ NULL, "minimum aml 1y again", 1, 32, "declared already" },
		{ NULL, "keep identity", 1, 32, "a line is" },
		{ NULL, "# bad \x01 control", 1, 32, "control character" },
	};
	for (size_t i = 0; i < N(cases); i++) {
		char *text = file_with(cases[i].replace, cases[i].line, cases[i].append);
		struct retention_rules *r = NULL;
		struct retention_error e;
		enum senim_result rc = retention_parse(text, strlen(text), &r, &e);
		if (rc != SENIM_ERR_INVALID || !strstr(e.message, cases[i].want))
			fail_msg("case %zu: %d %u %s", i, rc, e.line, e.message);
		assert_null(r);
		unsigned want = cases[i].want_line ? cases[i].want_line : 31;
		if (e.line != want)
			fail_msg("case %zu: line %u, want %u: %s", i, e.line, want,
				 e.message);
		free(text);
	}
	/* The file without changes is good. */
	char *text = file_with(NULL, NULL, 0);
	struct retention_rules *r = NULL;
	struct retention_error e;
	assert_int_equal(retention_parse(text, strlen(text), &r, &e), SENIM_OK);
	retention_rules_free(r);
	free(text);
}

static int32_t day(int y, int m, int d)
{
	return textconf_days_from_civil(y, m, d);
}

static void test_period_arithmetic(void **state)
{
	(void)state;
	struct retention_period m1 = { RETENTION_MONTHS, 1 }, y1 = { RETENTION_YEARS, 1 },
				y5 = { RETENTION_YEARS, 5 }, d30 = { RETENTION_DAYS, 30 },
				m13 = { RETENTION_MONTHS, 13 },
				open = { RETENTION_OPEN, 0 };
	assert_int_equal(retention_period_end(day(2025, 3, 10), d30), day(2025, 4, 9));
	assert_int_equal(retention_period_end(day(2025, 1, 31), m1), day(2025, 2, 28));
	assert_int_equal(retention_period_end(day(2024, 1, 31), m1), day(2024, 2, 29));
	assert_int_equal(retention_period_end(day(2024, 2, 29), y1), day(2025, 2, 28));
	assert_int_equal(retention_period_end(day(2024, 2, 29), y5), day(2029, 2, 28));
	assert_int_equal(retention_period_end(day(2025, 12, 15), m1), day(2026, 1, 15));
	assert_int_equal(retention_period_end(day(2025, 12, 31), m13), day(2027, 1, 31));
	assert_int_equal(retention_period_end(day(2025, 1, 1), open), INT32_MAX);

	/* Comparisons hold whatever the start. */
	struct retention_period m12 = { RETENTION_MONTHS, 12 },
				m60 = { RETENTION_MONTHS, 60 },
				m59 = { RETENTION_MONTHS, 59 },
				d366 = { RETENTION_DAYS, 366 },
				d365 = { RETENTION_DAYS, 365 },
				d1827 = { RETENTION_DAYS, 1827 };
	assert_true(retention_period_at_least(m12, y1));
	assert_true(retention_period_at_least(y1, m12));
	assert_true(retention_period_at_least(m60, y5));
	assert_false(retention_period_at_least(m59, y5));
	assert_true(retention_period_at_least(d366, y1));
	assert_false(retention_period_at_least(d365, y1)); /* a leap year is longer */
	assert_true(retention_period_at_least(d1827, y5));
	assert_false(retention_period_at_least(y1, d366)); /* not every year is */
	assert_true(retention_period_at_least(open, y5));
	assert_false(retention_period_at_least(y5, open));
	/* Brute force: where at_least says yes, the end is never earlier. */
	struct retention_period ps[] = {
		m1, y1, d30, d365, d366, m12, m13, m59, m60, y5
	};
	for (size_t a = 0; a < N(ps); a++)
		for (size_t b = 0; b < N(ps); b++) {
			if (!retention_period_at_least(ps[a], ps[b]))
				continue;
			for (int32_t s = day(2023, 1, 1); s < day(2029, 1, 1); s++)
				assert_true(retention_period_end(s, ps[a]) >=
					    retention_period_end(s, ps[b]));
		}
}

struct seen {
	char ids[4][65];
	enum shred_mode modes[4];
	int n;
};

static enum senim_result collect(void *ctx, const char *id, enum shred_mode mode,
				 int64_t at, const char *token, enum shred_state state)
{
	struct seen *s = ctx;
	assert_int_equal(strlen(token), SHRED_TOKEN_LEN - 1);
	assert_int_equal(state, SHRED_STATE_UNSETTLED);
	assert_true(s->n < 4);
	assert_int_equal(at, 1700000000);
	snprintf(s->ids[s->n], sizeof(s->ids[0]), "%s", id);
	s->modes[s->n++] = mode;
	return SENIM_OK;
}

static void test_journal(void **state)
{
	(void)state;
	char dir[4096], keys[4200], path[4300];
	assert_int_equal(testutil_tmpdir("retention", dir, sizeof(dir)), 0);
	snprintf(keys, sizeof(keys), "%s/senim.keys", dir);
	assert_int_equal(shred_journal_path(keys, path, sizeof(path)), SENIM_OK);
	assert_non_null(strstr(path, "/senim.shred"));
	struct seen s = { 0 };
	char tok[SHRED_TOKEN_LEN];
	shred_token_new(tok);
	/* No journal: no entries. */
	assert_int_equal(shred_journal_each(path, collect, &s, NULL), SENIM_OK);
	assert_int_equal(s.n, 0);
	const char *a[] = { "sbj_a1", "sbj_b2" }, *b[] = { "sbj_c3" };
	assert_int_equal(
		shred_journal_append(path, a, 2, SHRED_ANONYMISE, 1700000000, tok),
		SENIM_OK);
	assert_int_equal(shred_journal_append(path, b, 1, SHRED_DESTROY, 1700000000, tok),
			 SENIM_OK);
	const char *bad[] = { "sbj x" };
	assert_int_equal(
		shred_journal_append(path, bad, 1, SHRED_DESTROY, 1700000000, tok),
		SENIM_ERR_INVALID);
	/* A crash in the middle of an append: the unfinished line is skipped. */
	FILE *f = fopen(path, "ab");
	assert_non_null(f);
	fputs("sbj_d4 dest", f);
	fclose(f);
	assert_int_equal(shred_journal_each(path, collect, &s, NULL), SENIM_OK);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.ids[0], "sbj_a1");
	assert_string_equal(s.ids[2], "sbj_c3");
	assert_int_equal(s.modes[1], SHRED_ANONYMISE);
	assert_int_equal(s.modes[2], SHRED_DESTROY);
	/* The next append cuts the unfinished line off first. */
	const char *c[] = { "sbj_e5" };
	assert_int_equal(shred_journal_append(path, c, 1, SHRED_DESTROY, 1700000000, tok),
			 SENIM_OK);
	s.n = 0;
	assert_int_equal(shred_journal_each(path, collect, &s, NULL), SENIM_OK);
	assert_int_equal(s.n, 4);
	assert_string_equal(s.ids[3], "sbj_e5");
	/* A malformed finished line is refused, naming it. */
	f = fopen(path, "ab");
	fputs("sbj_f6 burn 1\n", f);
	fclose(f);
	s.n = 0;
	unsigned line = 0;
	assert_int_equal(shred_journal_each(path, collect, &s, &line), SENIM_ERR_INVALID);
	assert_int_equal(line, 5);
	testutil_rm_rf(dir);
}

/* Two processes (serve and a retention run) append at once. */
#define WRITERS 2
#define APPENDS 1000
#define IDS_PER_APPEND 4

struct tally {
	unsigned char seen[WRITERS][APPENDS * IDS_PER_APPEND];
	int n;
};

static enum senim_result tally(void *ctx, const char *id, enum shred_mode mode,
			       int64_t at, const char *token, enum shred_state state)
{
	(void)token;
	assert_int_equal(state, SHRED_STATE_UNSETTLED);
	struct tally *t = ctx;
	int w, k;
	char tail;
	assert_int_equal(sscanf(id, "sbj_w%d_%d%c", &w, &k, &tail), 2);
	assert_true(w >= 0 && w < WRITERS && k >= 0 && k < APPENDS * IDS_PER_APPEND);
	assert_int_equal(mode, SHRED_DESTROY);
	assert_int_equal(at, 1700000000 + w);
	t->seen[w][k]++;
	t->n++;
	return SENIM_OK;
}

static void append_as(const char *path, int w)
{
	char ids[IDS_PER_APPEND][32];
	const char *p[IDS_PER_APPEND];
	for (int i = 0; i < APPENDS; i++) {
		for (int j = 0; j < IDS_PER_APPEND; j++) {
			snprintf(ids[j], sizeof(ids[j]), "sbj_w%d_%d", w,
				 i * IDS_PER_APPEND + j);
			p[j] = ids[j];
		}
		char tok[SHRED_TOKEN_LEN];
		shred_token_new(tok);
		if (shred_journal_append(path, p, IDS_PER_APPEND, SHRED_DESTROY,
					 1700000000 + w, tok) != SENIM_OK)
			_exit(1);
	}
	_exit(0);
}

static void test_journal_concurrent(void **state)
{
	(void)state;
	char dir[4096], path[4300];
	assert_int_equal(testutil_tmpdir("retention", dir, sizeof(dir)), 0);
	snprintf(path, sizeof(path), "%s/senim.shred", dir);
	pid_t pids[WRITERS];
	for (int w = 0; w < WRITERS; w++) {
		pids[w] = fork();
		assert_true(pids[w] >= 0);
		if (pids[w] == 0)
			append_as(path, w);
	}
	for (int w = 0; w < WRITERS; w++) {
		int status;
		assert_int_equal(waitpid(pids[w], &status, 0), pids[w]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	/* Every line, once, intact: none overwritten, cut or garbled. */
	struct tally *t = calloc(1, sizeof(*t));
	assert_non_null(t);
	assert_int_equal(shred_journal_each(path, tally, t, NULL), SENIM_OK);
	assert_int_equal(t->n, WRITERS * APPENDS * IDS_PER_APPEND);
	for (int w = 0; w < WRITERS; w++)
		for (int k = 0; k < APPENDS * IDS_PER_APPEND; k++)
			assert_int_equal(t->seen[w][k], 1);
	free(t);
	testutil_rm_rf(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shipped_file),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_period_arithmetic),
		cmocka_unit_test(test_journal),
		cmocka_unit_test(test_journal_concurrent),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
