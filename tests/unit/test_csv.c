/*
 * test_csv.c — the CSV reader (common/csv.h): records and fields, RFC 4180
 * quoting, line ends, the byte-order mark, bounds, UTF-8, and the line and
 * field each error names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "common/csv.h"
#include "common/banned.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define MAXF 8

/*
 * Read all of text and render what was read: each record as "<line>:"
 * followed by its values in brackets, records separated by spaces, e.g.
 * "1:[a][b] 2:[c]"; an error ends the rendering with
 * "!<rule>@<line>.<field>".
 */
static void render(const char *text, size_t len, const struct csv_options *opt, char *out,
		   size_t cap)
{
	struct csv c;
	csv_init(&c, text, len, opt);
	size_t used = 0;
	out[0] = '\0';
	while (!csv_at_end(&c)) {
		struct csv_field f[MAXF];
		struct csv_error e = { 0, 0, NULL };
		size_t nf = 0, line = 0;
		if (csv_record(&c, f, MAXF, &nf, &line, &e) != SENIM_OK) {
			used += (size_t)snprintf(out + used, cap - used, "%s!%s@%zu.%zu",
						 used ? " " : "", e.rule, e.line,
						 e.field);
			return;
		}
		used += (size_t)snprintf(out + used, cap - used,
					 "%s%zu:", used ? " " : "", line);
		for (size_t i = 0; i < nf && i < MAXF; i++) {
			char v[256];
			assert_true(f[i].len < sizeof(v));
			size_t n = csv_unquote(text, &f[i], v);
			used += (size_t)snprintf(out + used, cap - used, "[%.*s]", (int)n,
						 v);
		}
		if (nf > MAXF)
			used += (size_t)snprintf(out + used, cap - used, "+%zu",
						 nf - MAXF);
		assert_true(used < cap);
	}
}

static void test_records(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		const char *want;
	} cases[] = {
		{ "", "" },
		{ "\n\n", "" },
		{ "\xEF\xBB\xBF", "" },
		{ "\xEF\xBB\xBF"
		  "a,b\n",
		  "1:[a][b]" },
		{ "a", "1:[a]" },
		{ "a,b,c", "1:[a][b][c]" },
		{ "a,b\nc,d\n", "1:[a][b] 2:[c][d]" },
		{ "a,b\r\nc,d\r\n\r\n", "1:[a][b] 2:[c][d]" },
		/* A lone CR is data, not a line end. */
		{ "a\rb,c\n", "1:[a\rb][c]" },
		{ "a\r", "1:[a\r]" },
		/* Empty fields and empty records in the middle. */
		{ ",", "1:[][]" },
		{ "a,,b\n", "1:[a][][b]" },
		{ "a\n\nb\n", "1:[a] 2:[] 3:[b]" },
		{ "a,\n", "1:[a][]" },
		/* Quoting: commas, quotes and line ends inside. */
		{ "\"a,b\",c", "1:[a,b][c]" },
		{ "\"a\"\"b\"", "1:[a\"b]" },
		{ "\"\"", "1:[]" },
		{ "\"\"\"\"", "1:[\"]" },
		{ "\"a\nb\",c\nd\n", "1:[a\nb][c] 3:[d]" },
		{ "\"a\r\nb\"\r\nc", "1:[a\r\nb] 3:[c]" },
		{ "\"\",\"\"\n", "1:[][]" },
		/* Spaces are data (RFC 4180). */
		{ " a , b ", "1:[ a ][ b ]" },
		/* More fields than kept: counted. */
		{ "1,2,3,4,5,6,7,8,9,10", "1:[1][2][3][4][5][6][7][8]+2" },
		/* Quoting errors name the record's first line and the field. */
		{ "a\"b", "!quoting@1.0" },
		{ "a,b\"", "!quoting@1.1" },
		{ "x\n\"a\"b", "1:[x] !quoting@2.0" },
		{ "x\na,\"b\" ,c", "1:[x] !quoting@2.1" },
		{ "\"abc", "!quoting@1.0" },
		{ "x\n\"a\nb\nc", "1:[x] !quoting@2.0" },
		{ "\"a\nb\" x", "!quoting@1.0" },
		{ "\"a\"\"", "!quoting@1.0" },
	};
	for (size_t i = 0; i < COUNT(cases); i++) {
		char got[512];
		render(cases[i].in, strlen(cases[i].in), NULL, got, sizeof(got));
		if (strcmp(got, cases[i].want) != 0)
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, got,
				 cases[i].want);
	}
}

static void test_bounds_and_utf8(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		size_t max;
		int utf8;
		const char *want;
	} cases[] = {
		{ "abc,de", 3, 0, "1:[abc][de]" },
		{ "abc,defg", 3, 0, "!length@1.1" },
		{ "x\n\"abcd\"", 3, 0, "1:[x] !length@2.0" },
		/* The bound is on the raw bytes: "" counts two. */
		{ "\"a\"\"\"", 3, 0, "1:[a\"]" },
		{ "\"a\"\"b\"", 3, 0, "!length@1.0" },
		{ "\xD0\x90\xD2\x9B,b", 0, 1, "1:[\xD0\x90\xD2\x9B][b]" },
		{ "a,\xC0\x80", 0, 1, "!encoding@1.1" },       /* overlong NUL */
		{ "a,\xED\xA0\x80", 0, 1, "!encoding@1.1" },   /* a surrogate */
		{ "\xF4\x90\x80\x80", 0, 1, "!encoding@1.0" }, /* past U+10FFFF */
		{ "\"\xD0\"", 0, 1, "!encoding@1.0" },	       /* cut short */
		{ "a,\xC0\x80", 0, 0, "1:[a][\xC0\x80]" },     /* not asked */
		/* The BOM is skipped, not checked as a field's bytes. */
		{ "\xEF\xBB\xBF\xD0\x90", 0, 1, "1:[\xD0\x90]" },
		/* A quoting error in an earlier field is found first. */
		{ "a\"b,\xFF", 0, 1, "!quoting@1.0" },
		{ "\xFF,a\"b", 0, 1, "!encoding@1.0" },
	};
	for (size_t i = 0; i < COUNT(cases); i++) {
		struct csv_options opt = { cases[i].max, cases[i].utf8 };
		char got[512];
		render(cases[i].in, strlen(cases[i].in), &opt, got, sizeof(got));
		if (strcmp(got, cases[i].want) != 0)
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, got,
				 cases[i].want);
	}
}

/* Fields are slices of the caller's text, NUL bytes included; NULL text
 * with length 0 is an empty file. */
static void test_slices(void **state)
{
	(void)state;
	static const char text[] = "a\0b,\"c\"\n";
	struct csv c;
	csv_init(&c, text, sizeof(text) - 1, NULL);
	struct csv_field f[2];
	struct csv_error e;
	size_t nf = 0, line = 0;
	assert_int_equal(csv_record(&c, f, 2, &nf, &line, &e), SENIM_OK);
	assert_int_equal(nf, 2);
	assert_int_equal(f[0].off, 0);
	assert_int_equal(f[0].len, 3);
	assert_false(f[0].quoted);
	assert_int_equal(f[1].off, 5);
	assert_int_equal(f[1].len, 1);
	assert_true(f[1].quoted);
	assert_true(csv_at_end(&c));

	csv_init(&c, NULL, 0, NULL);
	assert_true(csv_at_end(&c));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_records),
		cmocka_unit_test(test_bounds_and_utf8),
		cmocka_unit_test(test_slices),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
