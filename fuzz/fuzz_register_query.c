/*
 * fuzz_register_query.c — register_query_parse (exchange/register.h) on
 * arbitrary query parameters, as GET /v1/disclosures receives them.
 *
 * Input: byte 0 picks the call (bit 0: the borrower's periodless list; bit
 * 1: the borrower's page maximum); the rest is up to REGISTER_P__COUNT
 * lines, one per parameter in register_param order, where a line "~" means
 * the parameter was not given.  Beyond "no crash, no read past a value" the
 * target checks:
 *   - a refusal names a parameter that was given, with one of the rules the
 *     API documents, and a limit only with the rules that have one;
 *   - an accepted query's period starts before it ends and spans at most
 *     REGISTER_PERIOD_MAX_DAYS, unless it is the borrower's whole register;
 *     its limit is within 1..the page maximum; the subject and recipient it
 *     keeps are the values given; a cursor formats back into one that parses
 *     to the same position.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "exchange/register.h"
#include "common/banned.h"

#define NOW INT64_C(1767225600000000) /* 2026-01-01T00:00:00Z */

static void check(int ok)
{
	if (!ok)
		abort();
}

static const char *const rules[] = { "format", "enum_value", "min_value", "max_value",
				     "period_length" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int periodless = data[0] & 1;
	size_t page_max = data[0] & 2 ? REGISTER_SELF_PAGE_MAX : REGISTER_PAGE_MAX;
	/* Each parameter its own exactly sized heap block, so ASan sees any
	 * read past it. */
	char *values[REGISTER_P__COUNT] = { 0 };
	const uint8_t *p = data + 1, *end = data + size;
	for (int i = 0; i < REGISTER_P__COUNT && p <= end; i++) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (!(n == 1 && p[0] == '~') && !memchr(p, '\0', n)) {
			values[i] = malloc(n + 1);
			if (!values[i])
				goto done;
			memcpy(values[i], p, n);
			values[i][n] = '\0';
		}
		if (!nl)
			break;
		p = nl + 1;
	}
	struct register_query q;
	enum register_param bad = REGISTER_P__COUNT;
	const char *rule = NULL;
	long long limit = -1;
	enum senim_result err =
		register_query_parse((const char *const *)values, page_max, periodless,
				     NOW, &q, &bad, &rule, &limit);
	if (err) {
		check(err == SENIM_ERR_INVALID);
		check(bad < REGISTER_P__COUNT && values[bad] != NULL);
		int known = 0;
		for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
			known |= strcmp(rule, rules[i]) == 0;
		check(known);
		int has_limit = strcmp(rule, "min_value") == 0 ||
				strcmp(rule, "max_value") == 0 ||
				strcmp(rule, "period_length") == 0;
		check(has_limit ? limit > 0 : limit == 0);
		goto done;
	}
	check(q.limit >= 1 && q.limit <= page_max);
	const int64_t span = INT64_C(366) * 86400 * 1000000;
	if (periodless && !values[REGISTER_P_FROM] && !values[REGISTER_P_TO])
		check(q.from_us == INT64_MIN && q.to_us == INT64_MAX);
	else
		check(q.from_us < q.to_us && q.to_us - q.from_us <= span);
	check(q.subject_id == values[REGISTER_P_SUBJECT]);
	check(q.recipient == values[REGISTER_P_RECIPIENT]);
	check(q.has_cursor == (values[REGISTER_P_CURSOR] != NULL));
	if (q.has_cursor) {
		char cursor[REGISTER_CURSOR_LEN];
		register_cursor_format(q.cursor_at, q.cursor_id, cursor);
		const char *again[REGISTER_P__COUNT] = { 0 };
		again[REGISTER_P_CURSOR] = cursor;
		struct register_query r;
		check(register_query_parse(again, page_max, 1, NOW, &r, &bad, &rule,
					   &limit) == SENIM_OK);
		check(r.cursor_at == q.cursor_at &&
		      strcmp(r.cursor_id, q.cursor_id) == 0);
	}
done:
	for (int i = 0; i < REGISTER_P__COUNT; i++)
		free(values[i]);
	return 0;
}
