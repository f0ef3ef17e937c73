/*
 * test_contract.c — the microcredit contract (contract/contract.h): money,
 * dates and rates printed exactly; the template's rules (an unknown
 * placeholder, a tag the PDF cannot lay out, a missing D8 clause refused at
 * load); hostile values escaped; every schedule row printed and the rows
 * held to the amount; the PDF's header, its reproducible SHA-256, and a
 * missing font refused.  tests/contract_pdf.py checks the PDF's text and
 * fonts with poppler's tools.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contract/contract.h"
#include "core/schedule.h"
#include "common/banned.h"

#define N(a) (sizeof(a) / sizeof(a[0]))
#define NB "\xc2\xa0" /* U+00A0 */
#define TENGE "\xe2\x82\xb8"

/* ---- formatting ---------------------------------------------------------------- */

static void test_money(void **state)
{
	(void)state;
	static const struct {
		int64_t tiyn;
		const char *text;
	} cases[] = {
		{ 0, "0,00" NB TENGE },
		{ 1, "0,01" NB TENGE },
		{ 99, "0,99" NB TENGE },
		{ 100, "1,00" NB TENGE },
		{ 99999, "999,99" NB TENGE },
		{ 100000, "1" NB "000,00" NB TENGE },
		{ 15000000, "150" NB "000,00" NB TENGE },
		{ 100000000, "1" NB "000" NB "000,00" NB TENGE },
		{ -150, "-1,50" NB TENGE },
		{ INT64_MAX,
		  "92" NB "233" NB "720" NB "368" NB "547" NB "758,07" NB TENGE },
		{ INT64_MIN,
		  "-92" NB "233" NB "720" NB "368" NB "547" NB "758,08" NB TENGE },
	};
	for (size_t i = 0; i < N(cases); i++) {
		struct buf b;
		buf_init(&b, 256);
		assert_int_equal(contract_format_money(&b, cases[i].tiyn), SENIM_OK);
		assert_string_equal(b.data, cases[i].text);
		buf_release(&b);
	}
}

static void test_dates(void **state)
{
	(void)state;
	static const struct {
		int y, m, d;
		const char *text;
	} cases[] = {
		{ 1970, 1, 1, "01.01.1970" },  { 1999, 9, 9, "09.09.1999" },
		{ 2024, 2, 29, "29.02.2024" }, { 2026, 12, 31, "31.12.2026" },
		{ 2100, 3, 1, "01.03.2100" },
	};
	for (size_t i = 0; i < N(cases); i++) {
		struct buf b;
		buf_init(&b, 64);
		assert_int_equal(
			contract_format_date(
				&b, schedule_day(cases[i].y, cases[i].m, cases[i].d)),
			SENIM_OK);
		assert_string_equal(b.data, cases[i].text);
		buf_release(&b);
	}
}

static void test_rates(void **state)
{
	(void)state;
	static const struct {
		int64_t bp;
		int decimals;
		enum senim_result err;
		const char *text;
	} cases[] = {
		{ 3650, 2, SENIM_OK, "36,50" NB "%" },
		{ 5, 2, SENIM_OK, "0,05" NB "%" },
		{ 50, 2, SENIM_OK, "0,50" NB "%" },
		{ 4600, 1, SENIM_OK, "46,0" NB "%" },
		{ 3730, 1, SENIM_OK, "37,3" NB "%" },
		{ 17900, 1, SENIM_OK, "179,0" NB "%" },
		{ 100, 0, SENIM_OK, "1" NB "%" },
		{ 0, 2, SENIM_OK, "0,00" NB "%" },
		{ -250, 2, SENIM_OK, "-2,50" NB "%" },
		/* never rounded silently */
		{ 4605, 1, SENIM_ERR_INVALID, "" },
		{ 150, 0, SENIM_ERR_INVALID, "" },
		{ 100, 3, SENIM_ERR_INVALID, "" },
	};
	for (size_t i = 0; i < N(cases); i++) {
		struct buf b;
		buf_init(&b, 64);
		assert_int_equal(contract_format_rate(&b, cases[i].bp, cases[i].decimals),
				 cases[i].err);
		if (!cases[i].err)
			assert_string_equal(b.data, cases[i].text);
		buf_release(&b);
	}
}

/* ---- terms --------------------------------------------------------------------- */

static struct contract_terms *sample(const char *name)
{
	struct contract_terms *t = contract_terms_new();
	assert_non_null(t);
	assert_int_equal(contract_set_text(t->number, "МК-1"), SENIM_OK);
	assert_int_equal(contract_set_text(t->lender_name, "ТОО «Тест Қаржы»"), SENIM_OK);
	assert_int_equal(contract_set_text(t->lender_details, "БИН 000000000000"),
			 SENIM_OK);
	assert_int_equal(contract_set_text(t->borrower_name, name), SENIM_OK);
	assert_int_equal(contract_set_text(t->borrower_iin, "900101400000"), SENIM_OK);
	assert_int_equal(contract_set_text(t->borrower_address, "Алматы шаһары, Абай 1"),
			 SENIM_OK);
	assert_int_equal(contract_set_text(t->payout_masked, "KZ** 1234"), SENIM_OK);
	t->date = schedule_day(2026, 1, 31);
	t->amount = 10000001; /* odd, so the last row absorbs a remainder */
	t->rate_bp = 3650;
	t->fee = 0;
	t->gesv_bp = 4300;
	t->penalty_daily_bp = 50;
	t->penalty_annual_bp = 1000;
	t->cooloff_minutes = 90;
	t->restructuring_days = 21;
	t->method = SCHEDULE_DIFFERENTIATED;
	t->term = 7;
	struct schedule_terms st = { .principal = t->amount,
				     .rate_bp = t->rate_bp,
				     .method = t->method,
				     .payments = t->term,
				     .start = t->date };
	assert_int_equal(schedule_build(&st, t->rows, SCHEDULE_MAX_PAYMENTS, &t->n_rows),
			 SENIM_OK);
	return t;
}

static struct contract_template *shipped(void)
{
	const char *src = getenv("SENIM_SOURCE_DIR");
	char path[4096], why[512];
	snprintf(path, sizeof(path), "%s/%s", src ? src : ".", CONTRACT_TEMPLATE_DEFAULT);
	struct contract_template *tpl = NULL;
	enum senim_result err = contract_template_load(path, &tpl, why, sizeof(why));
	if (err)
		fprintf(stderr, "%s\n", why);
	assert_int_equal(err, SENIM_OK);
	return tpl;
}

static void test_terms_check(void **state)
{
	(void)state;
	const char *field;
	struct contract_terms *t = sample("Әлия Нұрланова");
	assert_int_equal(contract_terms_check(t, &field), SENIM_OK);

	/* Each breaks one rule; the field named is the one broken. */
	struct contract_terms *b = contract_terms_new();
	static const char *const expect[] = {
		"borrower_iin",	 "borrower_iin", "borrower_name", "borrower_name",
		"borrower_name", "gesv_bp",	 "rows",	  "rows",
		"term",		 "amount",	 "date"
	};
	for (size_t i = 0; i < N(expect); i++) {
		memcpy(b, t, sizeof(*b));
		switch (i) {
		case 0:
			memcpy(b->borrower_iin, "90010140000", 12);
			break;
		case 1:
			memcpy(b->borrower_iin, "90010140000x", 13);
			break;
		case 2:
			b->borrower_name[0] = '\0';
			break;
		case 3:
			memcpy(b->borrower_name, "A\nB", 4);
			break;
		case 4:
			memcpy(b->borrower_name, "\xd0", 2);
			break;
		case 5:
			b->gesv_bp = 4305;
			break;
		case 6:
			b->rows[2].principal += 1, b->rows[2].total += 1;
			break;
		case 7:
			b->rows[0].total += 1;
			break;
		case 8:
			b->n_rows -= 1;
			break;
		case 9:
			b->amount = 0;
			break;
		case 10:
			b->date = schedule_day(1800, 1, 1);
			break;
		}
		assert_int_equal(contract_terms_check(b, &field), SENIM_ERR_INVALID);
		assert_string_equal(field, expect[i]);
	}
	char big[CONTRACT_TEXT_MAX + 1];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(contract_set_text(b->borrower_name, big), SENIM_ERR_TOO_LARGE);
	assert_string_equal(b->borrower_name, "");
	contract_terms_free(b);
	contract_terms_free(t);
	contract_terms_free(NULL);
}

/* ---- the template -------------------------------------------------------------- */

/* A minimal good template, with `extra` inserted in the body. */
static enum senim_result parse_with(const char *extra, char *why, size_t cap)
{
	char text[4096];
	snprintf(
		text, sizeof(text),
		"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>x</title>"
		"<style>p { margin: 0 }</style></head><body>\n"
		"<h1>{{contract_number}} {{contract_date}} {{lender_name}}</h1>\n"
		"<p>{{borrower_name}} {{borrower_iin}} {{amount}} {{rate}} {{gesv}}</p>\n"
		"{{schedule_ru}}{{schedule_kk}}\n"
		"<p id=\"false-information-ru\">ru</p><p "
		"id=\"false-information-kk\">kk</p>\n"
		"%s\n</body></html>\n",
		extra);
	struct contract_template *tpl = NULL;
	enum senim_result err =
		contract_template_parse("t.html", text, strlen(text), &tpl, why, cap);
	contract_template_free(tpl);
	return err;
}

static void test_template_rules(void **state)
{
	(void)state;
	char why[512];
	assert_int_equal(parse_with("<p>&amp; &lt;ok&gt; &nbsp;</p><!-- {{nope}} -->",
				    why, sizeof(why)),
			 SENIM_OK);
	static const struct {
		const char *extra, *why;
	} bad[] = {
		{ "<p>{{nope}}</p>", "the unknown placeholder {{nope}}" },
		{ "<p>{{ amount }}</p>", "a malformed placeholder" },
		{ "<p>{{Amount}}</p>", "a malformed placeholder" },
		{ "<p>{{amount</p>", "a malformed placeholder" },
		{ "<p>amount}}</p>", "a '}}' that closes no placeholder" },
		{ "<p class=\"{{amount}}\">x</p>", "a placeholder inside a tag" },
		{ "<script>alert(1)</script>", "the tag <script>" },
		{ "<table><tr><td>x</td></tr></table>", "the tag <table>" },
		{ "<p>fish & chips</p>", "an '&' that starts no known entity" },
		{ "<p>&copy;</p>", "an '&' that starts no known entity" },
		{ "<style>p{}</style>", "outside <head>" },
		{ "<p\n<p>", "a '<' inside a tag" },
	};
	for (size_t i = 0; i < N(bad); i++) {
		why[0] = '\0';
		assert_int_equal(parse_with(bad[i].extra, why, sizeof(why)),
				 SENIM_ERR_INVALID);
		if (!strstr(why, bad[i].why))
			fail_msg("case %zu: %s", i, why);
		assert_non_null(strstr(why, "t.html:"));
	}
	/* What every contract needs. */
	const char *text = "<html><body><p>{{amount}}</p></body></html>";
	struct contract_template *tpl = NULL;
	assert_int_equal(
		contract_template_parse("t", text, strlen(text), &tpl, why, sizeof(why)),
		SENIM_ERR_INVALID);
	assert_non_null(strstr(why, "the required placeholder {{contract_number}}"));
	assert_null(tpl);
	/* The D8 clause in each language. */
	static const char *const d8[] = { "false-information-ru",
					  "false-information-kk" };
	for (size_t i = 0; i < N(d8); i++) {
		char t2[4096];
		snprintf(t2, sizeof(t2),
			 "<h1>{{contract_number}} {{contract_date}} {{lender_name}} "
			 "{{borrower_name}} {{borrower_iin}} {{amount}} {{rate}} "
			 "{{gesv}}</h1>"
			 "{{schedule_ru}}{{schedule_kk}}<p id=\"%s\">x</p>",
			 d8[1 - i]);
		assert_int_equal(contract_template_parse("t", t2, strlen(t2), &tpl, why,
							 sizeof(why)),
				 SENIM_ERR_INVALID);
		assert_non_null(strstr(why, "false information (D8)"));
		assert_non_null(strstr(why, d8[i]));
	}
	/* Not UTF-8. */
	assert_int_equal(parse_with("<p>\xff</p>", why, sizeof(why)), SENIM_ERR_INVALID);
	/* Too long. */
	char *huge = calloc(1, CONTRACT_TEMPLATE_MAX + 2);
	memset(huge, 'a', CONTRACT_TEMPLATE_MAX + 1);
	assert_int_equal(contract_template_parse("t", huge, CONTRACT_TEMPLATE_MAX + 1,
						 &tpl, why, sizeof(why)),
			 SENIM_ERR_TOO_LARGE);
	free(huge);
	const char *open = "<!-- open";
	assert_int_equal(
		contract_template_parse("t", open, strlen(open), &tpl, why, sizeof(why)),
		SENIM_ERR_INVALID);
	assert_non_null(strstr(why, "a comment that does not end"));
	const char *unended = "<p";
	assert_int_equal(contract_template_parse("t", unended, strlen(unended), &tpl, why,
						 sizeof(why)),
			 SENIM_ERR_INVALID);
	assert_non_null(strstr(why, "a tag that does not end"));
	assert_int_equal(contract_template_load("/nonexistent/contract.html", &tpl, why,
						sizeof(why)),
			 SENIM_ERR_IO);
	/* The placeholders the template may use include the schedules. */
	int schedules = 0;
	for (const char *const *p = contract_placeholders(); *p; p++)
		schedules += strncmp(*p, "schedule_", 9) == 0;
	assert_int_equal(schedules, 2);
}

/* ---- HTML ---------------------------------------------------------------------- */

static void test_html_escapes_hostile_values(void **state)
{
	(void)state;
	struct contract_template *tpl = shipped();
	struct contract_terms *t = sample("<script>alert(\"x\")</script> O'Brien & Co");
	assert_int_equal(
		contract_set_text(t->borrower_address, "\"><img src=x onerror=1>"),
		SENIM_OK);
	assert_int_equal(contract_set_text(t->number, "{{amount}}"), SENIM_OK);
	struct buf out;
	buf_init(&out, CONTRACT_DOC_MAX);
	unsigned char h[CONTRACT_HASH_BYTES], h2[CONTRACT_HASH_BYTES];
	assert_int_equal(contract_render_html(tpl, t, &out, h), SENIM_OK);
	assert_null(strstr(out.data, "<script>"));
	assert_null(strstr(out.data, "<img"));
	assert_non_null(strstr(out.data,
			       "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; "
			       "O&#39;Brien &amp; Co"));
	assert_non_null(strstr(out.data, "&quot;&gt;&lt;img src=x onerror=1&gt;"));
	/* A value is never expanded again. */
	assert_non_null(strstr(out.data, "№&nbsp;{{amount}}"));
	/* The hash is of exactly the bytes rendered. */
	contract_sha256(out.data, out.len, h2);
	assert_memory_equal(h, h2, sizeof(h));
	buf_release_wiped(&out);
	contract_terms_free(t);
	contract_template_free(tpl);
}

static void test_html_schedule_rows(void **state)
{
	(void)state;
	struct contract_template *tpl = shipped();
	struct contract_terms *t = sample("Әлия Нұрланова");
	struct buf out, cell;
	buf_init(&out, CONTRACT_DOC_MAX);
	buf_init(&cell, 256);
	assert_int_equal(contract_render_html(tpl, t, &out, NULL), SENIM_OK);
	int64_t sum = 0;
	for (size_t i = 0; i < t->n_rows; i++) {
		/* Each row, in full, once in each language's table. */
		const struct schedule_row *r = &t->rows[i];
		buf_reset(&cell);
		assert_int_equal(
			buf_addf(&cell, "<tr><td class=\"num\">%zu</td><td>", i + 1),
			SENIM_OK);
		assert_int_equal(contract_format_date(&cell, r->due), SENIM_OK);
		const int64_t a[] = { r->principal, r->interest, r->total, r->balance };
		for (int k = 0; k < 4; k++) {
			assert_int_equal(buf_addstr(&cell, "</td><td class=\"num\">"),
					 SENIM_OK);
			assert_int_equal(contract_format_money(&cell, a[k]), SENIM_OK);
		}
		assert_int_equal(buf_addstr(&cell, "</td></tr>"), SENIM_OK);
		const char *first = strstr(out.data, cell.data);
		assert_non_null(first);
		const char *second = strstr(first + 1, cell.data);
		assert_non_null(second);
		assert_null(strstr(second + 1, cell.data));
		sum += r->principal;
	}
	assert_int_equal(sum, t->amount);
	/* No more rows than the schedule's, and the total is the amount. */
	size_t rows = 0;
	for (const char *p = out.data; (p = strstr(p, "<tr><td class=\"num\">")); p++)
		rows++;
	assert_int_equal(rows, 2 * t->n_rows);
	buf_reset(&cell);
	assert_int_equal(buf_addstr(&cell, "Итого</td><td class=\"num\">"), SENIM_OK);
	assert_int_equal(contract_format_money(&cell, t->amount), SENIM_OK);
	assert_non_null(strstr(out.data, cell.data));
	/* Russian and Kazakh forms of the numbers the text reads. */
	assert_non_null(strstr(out.data, "на срок 7 месяцев"));
	assert_non_null(strstr(out.data, "7 ай мерзімге"));
	assert_non_null(strstr(out.data, "через 90 минут"));
	assert_non_null(strstr(out.data, "в течение 21 календарного дня"));
	assert_non_null(strstr(out.data, "21 күнтізбелік күн ішінде"));

	/* Rows that do not add up are refused, and `out` is left as given. */
	size_t before = out.len;
	t->rows[0].principal -= 1, t->rows[0].total -= 1;
	assert_int_equal(contract_render_html(tpl, t, &out, NULL), SENIM_ERR_INVALID);
	assert_int_equal(out.len, before);
	/* So is a buffer too small, wiping what it wrote. */
	t->rows[0].principal += 1, t->rows[0].total += 1;
	struct buf small;
	buf_init(&small, 1000);
	assert_int_equal(contract_render_html(tpl, t, &small, NULL), SENIM_ERR_TOO_LARGE);
	assert_int_equal(small.len, 0);
	buf_release_wiped(&small);
	buf_release_wiped(&cell);
	buf_release_wiped(&out);
	contract_terms_free(t);
	contract_template_free(tpl);
}

/* ---- PDF ----------------------------------------------------------------------- */

static void test_pdf_deterministic(void **state)
{
	(void)state;
	struct contract_template *tpl = shipped();
	struct contract_terms *t = sample("Әлия Ғалымқызы Нұрланова");
	struct buf a, b;
	buf_init(&a, CONTRACT_DOC_MAX);
	buf_init(&b, CONTRACT_DOC_MAX);
	unsigned char ha[CONTRACT_HASH_BYTES], hb[CONTRACT_HASH_BYTES],
		hc[CONTRACT_HASH_BYTES];
	assert_int_equal(contract_render_pdf(tpl, t, NULL, NULL, &a, ha), SENIM_OK);
	assert_true(a.len > 1000);
	assert_memory_equal(a.data, "%PDF-", 5);
	assert_int_equal(contract_render_pdf(tpl, t, NULL, NULL, &b, hb), SENIM_OK);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.data, b.data, a.len);
	assert_memory_equal(ha, hb, sizeof(ha));
	contract_sha256(a.data, a.len, hc);
	assert_memory_equal(ha, hc, sizeof(ha));
	/* The dates in the document are the contract's. */
	assert_non_null(strstr(a.data, "/CreationDate (D:20260131000000Z"));
	/* Another tiyn of fee, another document. */
	buf_reset(&b);
	t->fee += 1;
	assert_int_equal(contract_render_pdf(tpl, t, NULL, NULL, &b, hb), SENIM_OK);
	assert_memory_not_equal(ha, hb, sizeof(ha));
	/* A long schedule runs over pages. */
	t->term = 120;
	struct schedule_terms st = { .principal = t->amount,
				     .rate_bp = t->rate_bp,
				     .method = SCHEDULE_ANNUITY,
				     .payments = t->term,
				     .start = t->date };
	t->method = SCHEDULE_ANNUITY;
	assert_int_equal(schedule_build(&st, t->rows, SCHEDULE_MAX_PAYMENTS, &t->n_rows),
			 SENIM_OK);
	buf_reset(&b);
	const char *field = NULL;
	if (contract_terms_check(t, &field))
		fail_msg("%s", field);
	assert_int_equal(contract_render_pdf(tpl, t, NULL, NULL, &b, NULL), SENIM_OK);
	buf_release_wiped(&a);
	buf_release_wiped(&b);
	contract_terms_free(t);
	contract_template_free(tpl);
}

static void test_pdf_refusals(void **state)
{
	(void)state;
	struct contract_template *tpl = shipped();
	struct contract_terms *t = sample("Әлия Нұрланова");
	struct buf out;
	buf_init(&out, CONTRACT_DOC_MAX);
	assert_int_equal(buf_addstr(&out, "kept"), SENIM_OK);
	assert_int_equal(
		contract_render_pdf(tpl, t, "/nonexistent.ttf", NULL, &out, NULL),
		SENIM_ERR_CONFIG);
	assert_string_equal(out.data, "kept");
	assert_int_equal(
		contract_render_pdf(tpl, t, NULL, "/nonexistent-bold.ttf", &out, NULL),
		SENIM_ERR_CONFIG);
	assert_string_equal(out.data, "kept");
	/* A long unbroken value is broken between characters, not refused. */
	char name[400];
	memset(name, 'W', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	assert_int_equal(contract_set_text(t->borrower_name, name), SENIM_OK);
	assert_int_equal(contract_render_pdf(tpl, t, NULL, NULL, &out, NULL), SENIM_OK);
	/* Bad terms: nothing rendered. */
	buf_reset(&out);
	t->borrower_iin[0] = 'x';
	assert_int_equal(contract_render_pdf(tpl, t, NULL, NULL, &out, NULL),
			 SENIM_ERR_INVALID);
	assert_int_equal(out.len, 0);
	/* Too small a buffer: refused, wiped back to what it held. */
	t->borrower_iin[0] = '9';
	struct buf small;
	buf_init(&small, 4096);
	assert_int_equal(contract_render_pdf(tpl, t, NULL, NULL, &small, NULL),
			 SENIM_ERR_TOO_LARGE);
	assert_int_equal(small.len, 0);
	buf_release_wiped(&small);
	buf_release_wiped(&out);
	contract_terms_free(t);
	contract_template_free(tpl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_money),
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_rates),
		cmocka_unit_test(test_terms_check),
		cmocka_unit_test(test_template_rules),
		cmocka_unit_test(test_html_escapes_hostile_values),
		cmocka_unit_test(test_html_schedule_rows),
		cmocka_unit_test(test_pdf_deterministic),
		cmocka_unit_test(test_pdf_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
