/*
 * fuzz_retention.c — retention_parse on arbitrary bytes, as `senim
 * retention check` reads the file a DPO wrote, then the period arithmetic
 * on what it accepted.
 *
 * The input is the file, in an exactly sized heap block (not
 * NUL-terminated) so ASan sees any read past it.  Beyond "no crash, no
 * leak" the target checks:
 *   - the result is SENIM_OK or SENIM_ERR_INVALID, with rules only on
 *     SENIM_OK;
 *   - a refusal names a line of the file (or the one after its last) and
 *     its message is UTF-8 without control characters;
 *   - accepted rules have every (category, state) pair, `open`/`keep`
 *     exactly for open_loan, no period below its minimum, special
 *     categories (D7) kept no longer than any ordinary one in their state,
 *     and bases and sources of UTF-8 without control characters;
 *   - every period's end is after its start (or on it, for 0d) and never
 *     before the end of its minimum, from a few start days;
 *   - parsing is a function of the text: a second parse gives the same.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
#include "core/retention.h"
#include "common/banned.h"

static void check_text(const char *s)
{
	size_t n = strlen(s);
	if (!utf8_valid(s, n) || utf8_has_control(s, n, 1) || strpbrk(s, "\r\n"))
		abort();
}

static void check_accepted(const struct retention_rules *r)
{
	static const int32_t starts[] = { 0, 10956, 19782, 20147, 20512 };
	for (int st = 0; st < RETENTION_STATE__COUNT; st++)
		for (int c = 0; c < CATEGORY__COUNT; c++) {
			const struct retention_entry *e = &r->entry[st][c];
			if (!e->line || !e->minimum || !e->basis[0])
				abort();
			check_text(e->basis);
			int open = st == RETENTION_OPEN_LOAN;
			if (open != (e->period.unit == RETENTION_OPEN) ||
			    open != (e->action == RETENTION_KEEP))
				abort();
			for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
				int32_t end = retention_period_end(starts[i], e->period);
				if (end < starts[i] ||
				    end < retention_period_end(starts[i],
							       e->minimum->period))
					abort();
			}
			if (open || !category_is_special(c))
				continue;
			for (int o = 0; o < CATEGORY__COUNT; o++)
				if (!category_is_special(o) &&
				    !retention_period_at_least(r->entry[st][o].period,
							       e->period))
					abort();
		}
	for (size_t i = 0; i < r->minimums; i++)
		check_text(r->minimum[i].source);
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
	struct retention_rules *r = NULL;
	struct retention_error e;
	enum senim_result rc = retention_parse(text, size, &r, &e);
	if (rc == SENIM_ERR_INVALID) {
		if (r || e.line > newlines + 2)
			abort();
		check_text(e.message);
	} else if (rc == SENIM_OK) {
		if (!r)
			abort();
		check_accepted(r);
		struct retention_rules *again = NULL;
		if (retention_parse(text, size, &again, &e) != SENIM_OK)
			abort();
		for (int st = 0; st < RETENTION_STATE__COUNT; st++)
			for (int c = 0; c < CATEGORY__COUNT; c++) {
				const struct retention_entry *a = &r->entry[st][c],
							     *b = &again->entry[st][c];
				if (a->period.unit != b->period.unit ||
				    a->period.n != b->period.n ||
				    a->action != b->action || a->line != b->line ||
				    strcmp(a->basis, b->basis) != 0 ||
				    strcmp(a->minimum->name, b->minimum->name) != 0)
					abort();
			}
		retention_rules_free(again);
	} else {
		abort();
	}
	retention_rules_free(r);
	free(text);
	return 0;
}
