/*
 * fuzz_loan_rules.c — loan_rules_parse on arbitrary bytes, as `senim rules
 * check` reads the file an operator wrote, then the rules in force and the
 * offer check on what it accepted.
 *
 * The input is the file, in an exactly sized heap block (not
 * NUL-terminated) so ASan sees any read past it.  Beyond "no crash, no
 * leak" the target checks:
 *   - the result is SENIM_OK or SENIM_ERR_INVALID, with a result only on
 *     SENIM_OK;
 *   - a refusal is one line "f.conf:LINE: ..." naming a line of the file
 *     (or the one after its last), in UTF-8 without control characters;
 *   - an accepted file has every rule but the optional allocation and
 *     restructuring_answer, each rule's entries in strictly
 *     increasing dates, every value within the range the format gives it
 *     (written here independently of the parser's table), and sources
 *     that are UTF-8 without control characters but TAB;
 *   - on each entry's date the rules in force are, rule by rule, the entry
 *     with the latest date not after it (found here by brute force);
 *   - the offer check accepts an amount of exactly the largest microcredit
 *     at rates of zero, and refuses one tiyn more as max_amount, naming
 *     the max_amount entry in force;
 *   - parsing is a function of the text: a second parse gives the same.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
#include "core/loan_rules.h"
#include "common/banned.h"

/* The ranges of docs/lending-rules.md, rule by rule and value by value. */
static const int64_t lo[LOAN_RULE__COUNT][LOAN_RULE_VALUES] = {
	[LOAN_RULE_GESV_CAP] = { 1 },
	[LOAN_RULE_SHORT_LOAN] = { 1, 1, 1, 1 },
	[LOAN_RULE_MAX_AMOUNT] = { 1 },
	[LOAN_RULE_MRP] = { 1 },
	[LOAN_RULE_COOLOFF] = { 0, 0 },
	[LOAN_RULE_PENALTY] = { 0, 0, 0, 0 },
	[LOAN_RULE_NOTICE] = { 1 },
	[LOAN_RULE_RESTRUCTURING] = { 1 },
	[LOAN_RULE_SELF_EXCLUSION] = { 0 },
	[LOAN_RULE_ALLOCATION] = { 0x12345, 0, 0x12345 },
	[LOAN_RULE_RESTRUCTURING_ANSWER] = { 1 },
};
static const int64_t hi[LOAN_RULE__COUNT][LOAN_RULE_VALUES] = {
	[LOAN_RULE_GESV_CAP] = { 100000 },
	[LOAN_RULE_SHORT_LOAN] = { 366, 1000000, 10000, 100000 },
	[LOAN_RULE_MAX_AMOUNT] = { 1000000 },
	[LOAN_RULE_MRP] = { 100000000 },
	[LOAN_RULE_COOLOFF] = { 1000000, 10080 },
	[LOAN_RULE_PENALTY] = { 10000, 100000, 3660, 10000 },
	[LOAN_RULE_NOTICE] = { 365 },
	[LOAN_RULE_RESTRUCTURING] = { 365 },
	[LOAN_RULE_SELF_EXCLUSION] = { 1 },
	[LOAN_RULE_ALLOCATION] = { 0x54321, 3660, 0x54321 },
	[LOAN_RULE_RESTRUCTURING_ANSWER] = { 365 },
};

/* The rules a file may leave out (loan_rules.h), again independently of the
 * parser's table. */
static int optional_rule(int c)
{
	return c == LOAN_RULE_ALLOCATION || c == LOAN_RULE_RESTRUCTURING_ANSWER;
}

/* UTF-8 without control characters; a source may hold a TAB, as the
 * format allows on any line, but never a line break. */
static void check_text(const char *s)
{
	size_t n = strlen(s);
	if (!utf8_valid(s, n) || utf8_has_control(s, n, 1) || strpbrk(s, "\r\n"))
		abort();
}

static void check_accepted(const struct loan_rules *r)
{
	int32_t last[LOAN_RULE__COUNT];
	int seen[LOAN_RULE__COUNT] = { 0 };
	for (size_t i = 0; i < r->n; i++) {
		const struct loan_rule *e = &r->entries[i];
		if ((unsigned)e->code >= LOAN_RULE__COUNT)
			abort();
		if (seen[e->code] && e->from <= last[e->code])
			abort();
		seen[e->code] = 1;
		last[e->code] = e->from;
		for (int k = 0; k < LOAN_RULE_VALUES; k++)
			if (e->v[k] < lo[e->code][k] || e->v[k] > hi[e->code][k])
				abort();
		if (!e->source[0] || strlen(e->from_text) != 10)
			abort();
		/* penalty's second tier: no after_days, no daily_after_bp */
		if (e->code == LOAN_RULE_PENALTY && e->v[2] == 0 && e->v[3] != 0)
			abort();
		check_text(e->source);
	}
	for (int c = 0; c < LOAN_RULE__COUNT; c++)
		if (!seen[c] && !optional_rule(c))
			abort();
}

static void check_in_force(const struct loan_rules *r)
{
	for (size_t i = 0; i < r->n; i++) {
		struct loan_rules_in_force f;
		char err[512];
		const char *date = r->entries[i].from_text;
		int32_t d = r->entries[i].from;
		enum senim_result rc = loan_rules_in_force(r, date, &f, err, sizeof(err));
		int all = 1;
		for (int c = 0; c < LOAN_RULE__COUNT; c++) {
			const struct loan_rule *want = NULL;
			for (size_t j = 0; j < r->n; j++)
				if (r->entries[j].code == (enum loan_rule_code)c &&
				    r->entries[j].from <= d &&
				    (!want || r->entries[j].from > want->from))
					want = &r->entries[j];
			if (!want && !optional_rule(c))
				all = 0;
			else if (rc == SENIM_OK && f.rule[c] != want)
				abort();
			if (c == LOAN_RULE_ALLOCATION && rc == SENIM_OK &&
			    f.has_allocation != (want != NULL))
				abort();
			if (c == LOAN_RULE_RESTRUCTURING_ANSWER && rc == SENIM_OK &&
			    f.restructuring_answer_days != (want ? want->v[0] : 0))
				abort();
		}
		if ((rc == SENIM_OK) != all)
			abort();
		if (rc != SENIM_OK) {
			check_text(err);
			continue;
		}
		int64_t max = f.max_amount_mrp * f.mrp_tiyn;
		struct loan_offer o = { .amount_tiyn = max, .term_days = 10000 };
		struct loan_rule_refusal why;
		if (loan_rules_check_offer(&f, &o, &why) != LOAN_BREACH_NONE || why.rule)
			abort();
		o.amount_tiyn = max + 1;
		if (loan_rules_check_offer(&f, &o, &why) != LOAN_BREACH_MAX_AMOUNT ||
		    why.rule != f.rule[LOAN_RULE_MAX_AMOUNT] ||
		    strcmp(why.code, "max_amount") != 0)
			abort();
	}
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

	char err[512];
	struct loan_rules *r = NULL;
	enum senim_result rc =
		loan_rules_parse("f.conf", text, size, &r, err, sizeof(err));
	if (rc == SENIM_ERR_INVALID) {
		if (r || strncmp(err, "f.conf:", 7) != 0)
			abort();
		char *end = NULL;
		unsigned long line = strtoul(err + 7, &end, 10);
		if (end == err + 7 || end[0] != ':' || end[1] != ' ' || line < 1 ||
		    line > newlines + 2)
			abort();
		check_text(err);
	} else if (rc == SENIM_OK) {
		if (!r)
			abort();
		check_accepted(r);
		check_in_force(r);
		struct loan_rules *again = NULL;
		if (loan_rules_parse("f.conf", text, size, &again, err, sizeof(err)) !=
			    SENIM_OK ||
		    again->n != r->n ||
		    memcmp(again->entries, r->entries, r->n * sizeof(r->entries[0])) != 0)
			abort();
		loan_rules_free(again);
	} else {
		abort();
	}
	loan_rules_free(r);
	free(text);
	return 0;
}
