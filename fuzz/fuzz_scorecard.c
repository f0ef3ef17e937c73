/*
 * fuzz_scorecard.c — scorecard_parse on arbitrary bytes, as `senim
 * scorecard check` reads the card a credit committee wrote, then the
 * evaluation of applications at every band's edges of what it accepted.
 *
 * The input is the file, in an exactly sized heap block (not
 * NUL-terminated) so ASan sees any read past it.  Beyond "no crash, no
 * leak" the target checks:
 *   - the result is SENIM_OK or SENIM_ERR_INVALID, with a card only on
 *     SENIM_OK;
 *   - a refusal is one line "f.conf:LINE: ..." naming a line of the file
 *     (or the one after its last), in UTF-8 without control characters;
 *   - an accepted card has refer <= approve, min_age 18 or more, every
 *     attribute's bands from 0 to its largest value without gap or overlap,
 *     points 0..1000, a `missing` line exactly where an input can be
 *     absent, limits in increasing points starting at or below refer, and
 *     a 64-digit hex digest;
 *   - evaluated at each band's LO and HI (the other attributes at their
 *     first band's LO), every attribute falls in the band that holds its
 *     value, the total is the sum of points, the decision keeps the
 *     cut-offs, a decline has no limit and the others have the limit of
 *     the total, and the reasons are distinct codes with texts, at most
 *     SCORE_REASONS_MAX, none for an approval;
 *   - a card that does not use the declared income (scorecard_uses_income
 *     0: an application is then not asked for it) decides every debt
 *     burden edge exactly as it does with the income missing: the same
 *     total, decision, limit and reasons;
 *   - parsing is a function of the text: a second parse gives the same.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
#include "core/scorecard.h"
#include "common/banned.h"

/* The largest value of each attribute, written here apart from the
 * parser's table. */
static const int64_t attr_max[SCORE_ATTR__COUNT] = {
	[SCORE_ATTR_BUREAU_OVERDUE] = SCORE_VALUE_OPEN,
	[SCORE_ATTR_ACTIVE_LOANS] = SCORE_VALUE_OPEN,
	[SCORE_ATTR_DEBT_BURDEN] = SCORE_VALUE_OPEN,
	[SCORE_ATTR_ENQUIRIES] = SCORE_VALUE_OPEN,
	[SCORE_ATTR_OPERATOR_SCORE] = 1000,
	[SCORE_ATTR_AGE] = SCORE_VALUE_OPEN,
	[SCORE_ATTR_LENDER_REPAID] = SCORE_VALUE_OPEN,
	[SCORE_ATTR_LENDER_OVERDUE] = SCORE_VALUE_OPEN,
};
static const int may_be_missing[SCORE_ATTR__COUNT] = { 1, 1, 1, 1, 1, 0, 0, 1 };

static void check_text(const char *s)
{
	size_t n = strlen(s);
	if (!utf8_valid(s, n) || utf8_has_control(s, n, 0))
		abort();
}

static void check_card(const struct scorecard *c)
{
	if (c->refer > c->approve || c->min_age < 18 || c->max_age < c->min_age ||
	    strlen(c->digest) != 64 || strspn(c->digest, "0123456789abcdef") != 64 ||
	    !c->id[0])
		abort();
	for (int a = 0; a < SCORE_ATTR__COUNT; a++) {
		const struct score_attribute_rule *r = &c->attr[a];
		if (r->nbands < 1 || r->nbands > SCORECARD_BANDS_MAX ||
		    r->bands[0].lo != 0 || r->bands[r->nbands - 1].hi != attr_max[a] ||
		    r->has_missing != may_be_missing[a])
			abort();
		int best = 0;
		for (size_t b = 0; b < r->nbands; b++) {
			const struct score_band *x = &r->bands[b];
			if (x->lo > x->hi || x->points < 0 || x->points > 1000 ||
			    (b && x->lo != r->bands[b - 1].hi + 1))
				abort();
			if (x->reason != SCORE_REASON_NONE &&
			    x->reason < SCORE_REASON_FIRST_IN_FILE)
				abort();
			if (x->points > best)
				best = x->points;
		}
		if (best != r->best_points)
			abort();
		if (r->has_missing && r->missing != SCORE_MISSING_POINTS &&
		    r->missing_reason == SCORE_REASON_NONE)
			abort();
	}
	if (c->nlimits < 1 || c->limits[0].points > c->refer)
		abort();
	for (size_t i = 1; i < c->nlimits; i++)
		if (c->limits[i].points <= c->limits[i - 1].points)
			abort();
}

/* Set one attribute's input to v (capped to what an input may be). */
static void set(struct score_inputs *in, enum score_attr a, int64_t v)
{
	if (v > SCORE_COUNT_MAX && a != SCORE_ATTR_DEBT_BURDEN)
		v = SCORE_COUNT_MAX;
	switch (a) {
	case SCORE_ATTR_BUREAU_OVERDUE:
		in->bureau_overdue_days = v;
		break;
	case SCORE_ATTR_ACTIVE_LOANS:
		in->active_loans = v;
		break;
	case SCORE_ATTR_DEBT_BURDEN:
		/* v bp of an income of 10000 tiyn is v tiyn of payments. */
		if (v > SCORE_DEBT_BURDEN_CAP_BP)
			v = SCORE_DEBT_BURDEN_CAP_BP;
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
		break;
	}
}

static void check_result(const struct scorecard *c, const struct score_result *r)
{
	int total = 0;
	for (int a = 0; a < SCORE_ATTR__COUNT; a++) {
		const struct score_attribute_result *v = &r->attr[a];
		if (!v->missing) {
			if (v->band < 0 || (size_t)v->band >= c->attr[a].nbands)
				abort();
			const struct score_band *b = &c->attr[a].bands[v->band];
			if (v->value < b->lo || v->value > b->hi ||
			    v->points != b->points)
				abort();
		}
		total += v->points;
	}
	if (total != r->total || strcmp(r->card_digest, c->digest) != 0)
		abort();
	if (r->decision == SCORE_APPROVE && (r->total < c->approve || r->hard_decline))
		abort();
	if (r->decision != SCORE_DECLINE && r->total < c->refer)
		abort();
	if (r->hard_decline && r->decision != SCORE_DECLINE)
		abort();
	if (r->decision == SCORE_DECLINE) {
		if (r->amount_limit_tiyn || r->term_limit_days)
			abort();
	} else {
		const struct score_limit *want = NULL;
		for (size_t i = 0; i < c->nlimits; i++)
			if (c->limits[i].points <= r->total)
				want = &c->limits[i];
		if (!want || r->amount_limit_tiyn != want->amount_tiyn ||
		    r->term_limit_days != want->term_days)
			abort();
	}
	if (r->nreasons > SCORE_REASONS_MAX ||
	    (r->decision == SCORE_APPROVE && r->nreasons))
		abort();
	if (r->decision != SCORE_APPROVE && !r->nreasons)
		abort();
	for (size_t i = 0; i < r->nreasons; i++) {
		if (!scorecard_reason_code(r->reasons[i]) ||
		    !scorecard_reason_text(r->reasons[i], "kk"))
			abort();
		for (size_t j = 0; j < i; j++)
			if (r->reasons[j] == r->reasons[i])
				abort();
	}
}

/* Not asked for the income, an application loses nothing by its absence. */
static void check_income_unused(const struct scorecard *c, const struct score_inputs *in,
				const struct score_result *with)
{
	if (scorecard_uses_income(c))
		return;
	struct score_inputs without = *in;
	without.missing |= SCORE_IN_INCOME;
	struct score_result r;
	char err[256];
	if (scorecard_evaluate(c, &without, &r, err, sizeof(err)) != SENIM_OK)
		abort();
	if (r.total != with->total || r.decision != with->decision ||
	    r.amount_limit_tiyn != with->amount_limit_tiyn ||
	    r.term_limit_days != with->term_limit_days || r.nreasons != with->nreasons ||
	    memcmp(r.reasons, with->reasons, sizeof(r.reasons)) != 0)
		abort();
}

static void evaluate_edges(const struct scorecard *c)
{
	struct score_inputs base = { .decision_date = "9999-12-31",
				     .birth_date = "9960-01-01" };
	for (int a = 0; a < SCORE_ATTR__COUNT; a++)
		set(&base, (enum score_attr)a, 0);
	for (int a = 0; a < SCORE_ATTR__COUNT; a++) {
		if (a == SCORE_ATTR_AGE)
			continue;
		for (size_t b = 0; b < c->attr[a].nbands; b++) {
			for (int edge = 0; edge < 2; edge++) {
				struct score_inputs in = base;
				const struct score_band *x = &c->attr[a].bands[b];
				set(&in, (enum score_attr)a, edge ? x->hi : x->lo);
				struct score_result r;
				char err[256];
				if (scorecard_evaluate(c, &in, &r, err, sizeof(err)) !=
				    SENIM_OK)
					abort();
				check_result(c, &r);
				if (a == SCORE_ATTR_DEBT_BURDEN)
					check_income_unused(c, &in, &r);
			}
		}
	}
	/* Every input missing that can be. */
	struct score_inputs in = base;
	in.missing = SCORE_IN_BUREAU | SCORE_IN_INCOME | SCORE_IN_OPERATOR_SCORE |
		     SCORE_IN_LENDER_HISTORY;
	struct score_result r;
	char err[256];
	if (scorecard_evaluate(c, &in, &r, err, sizeof(err)) != SENIM_OK)
		abort();
	check_result(c, &r);
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
	struct scorecard *c = NULL;
	enum senim_result rc =
		scorecard_parse("f.conf", text, size, &c, err, sizeof(err));
	if (rc == SENIM_ERR_INVALID) {
		if (c || strncmp(err, "f.conf:", 7) != 0)
			abort();
		char *end = NULL;
		unsigned long line = strtoul(err + 7, &end, 10);
		if (end == err + 7 || end[0] != ':' || end[1] != ' ' || line < 1 ||
		    line > newlines + 2)
			abort();
		check_text(err);
	} else if (rc == SENIM_OK) {
		if (!c)
			abort();
		check_card(c);
		evaluate_edges(c);
		struct scorecard *again = NULL;
		if (scorecard_parse("f.conf", text, size, &again, err, sizeof(err)) !=
			    SENIM_OK ||
		    memcmp(again, c, sizeof(*c)) != 0)
			abort();
		scorecard_free(again);
	} else {
		abort();
	}
	scorecard_free(c);
	free(text);
	return 0;
}
