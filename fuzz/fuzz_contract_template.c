/*
 * fuzz_contract_template.c — contract_template_parse on arbitrary bytes, as
 * `senim contract check` reads a template staff wrote, then the HTML of
 * fixed terms through what it accepted.
 *
 * The input is the template, in an exactly sized heap block (not
 * NUL-terminated) so ASan sees any read past it.  Beyond "no crash, no
 * leak" the target checks:
 *   - the result is SENIM_OK, SENIM_ERR_INVALID or SENIM_ERR_TOO_LARGE,
 *     with a template only on SENIM_OK;
 *   - a refusal is one line "t.html:LINE: ..." naming a line of the file
 *     (or the one after its last), in UTF-8 without control characters;
 *   - an accepted template holds the D8 clause in both languages;
 *   - the HTML of the fixed terms renders, is UTF-8, and carries the
 *     hostile borrower's name unescaped no more often than the template's
 *     own text does; a second render gives the same bytes and hash.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
#include "contract/contract.h"
#include "core/schedule.h"
#include "common/banned.h"

static const char hostile[] = "<b>\"'&";

static struct contract_terms *terms(void)
{
	struct contract_terms *t = contract_terms_new();
	if (!t || contract_set_text(t->number, "1") ||
	    contract_set_text(t->lender_name, "L") ||
	    contract_set_text(t->lender_details, "D") ||
	    contract_set_text(t->borrower_name, hostile) ||
	    contract_set_text(t->borrower_iin, "900101400000") ||
	    contract_set_text(t->borrower_address, "A") ||
	    contract_set_text(t->payout_masked, "P"))
		abort();
	t->date = schedule_day(2026, 1, 15);
	t->amount = 100000;
	t->rate_bp = 3000;
	t->gesv_bp = 3400;
	t->method = SCHEDULE_ANNUITY;
	t->term = 3;
	struct schedule_terms st = { .principal = t->amount,
				     .rate_bp = t->rate_bp,
				     .method = t->method,
				     .payments = t->term,
				     .start = t->date };
	if (schedule_build(&st, t->rows, SCHEDULE_MAX_PAYMENTS, &t->n_rows))
		abort();
	return t;
}

/* How often needle occurs in s[0..len). */
static size_t count(const char *s, size_t len, const char *needle)
{
	size_t m = strlen(needle), n = 0;
	for (size_t i = 0; m <= len && i <= len - m; i++)
		n += memcmp(s + i, needle, m) == 0;
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size ? size : 1);
	if (!text)
		abort();
	memcpy(text, data, size);
	size_t newlines = 0;
	for (size_t i = 0; i < size; i++)
		newlines += text[i] == '\n';

	char why[512];
	struct contract_template *tpl = NULL;
	enum senim_result rc =
		contract_template_parse("t.html", text, size, &tpl, why, sizeof(why));
	if (rc == SENIM_ERR_INVALID) {
		if (tpl || strncmp(why, "t.html:", 7) != 0)
			abort();
		char *end = NULL;
		unsigned long line = strtoul(why + 7, &end, 10);
		if (end == why + 7 || end[0] != ':' || end[1] != ' ' || line < 1 ||
		    line > newlines + 1)
			abort();
		if (!utf8_valid(why, strlen(why)) ||
		    utf8_has_control(why, strlen(why), 0))
			abort();
	} else if (rc == SENIM_ERR_TOO_LARGE) {
		if (tpl || size <= CONTRACT_TEMPLATE_MAX)
			abort();
	} else if (rc == SENIM_OK) {
		if (!tpl || !count(text, size, "id=\"false-information-ru\"") ||
		    !count(text, size, "id=\"false-information-kk\""))
			abort();
		struct contract_terms *t = terms();
		struct buf a, b;
		buf_init(&a, CONTRACT_DOC_MAX);
		buf_init(&b, CONTRACT_DOC_MAX);
		unsigned char ha[CONTRACT_HASH_BYTES], hb[CONTRACT_HASH_BYTES];
		if (contract_render_html(tpl, t, &a, ha) ||
		    contract_render_html(tpl, t, &b, hb))
			abort();
		if (a.len != b.len || memcmp(a.data, b.data, a.len) ||
		    memcmp(ha, hb, sizeof(ha)))
			abort();
		/* The name unescaped only where the template itself has it. */
		if (!utf8_valid(a.data, a.len) ||
		    count(a.data, a.len, hostile) > count(text, size, hostile))
			abort();
		buf_release_wiped(&a);
		buf_release_wiped(&b);
		contract_terms_free(t);
		contract_template_free(tpl);
	} else {
		abort();
	}
	free(text);
	return 0;
}
