/*
 * loan_rules.c — the rules file (loan_rules.h): parsing it line by line,
 * choosing the entries in force on a date, and checking an offer.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/textconf.h"
#include "common/utf8.h"
#include "core/loan_rules.h"
#include "common/banned.h"

#define SOURCE_CHARS_MAX 300

/* How a value is written: a whole number in [min, max], yes|no (a range
 * of 0..1), or an allocation order (a list of the five components). */
enum key_kind {
	KEY_NUMBER,
	KEY_YES_NO,
	KEY_ORDER
};

/* One value of a rule: its key and the range the file may give it. */
struct key_def {
	const char *key;
	int64_t min, max;
	enum key_kind kind;
	int optional; /* may be left out: its value is then 0 */
};

struct rule_def {
	const char *code;
	struct key_def keys[LOAN_RULE_VALUES];
	size_t nkeys;
	int optional; /* a file may leave it out (loan_rules.h) */
};

/* The ranges are wide enough for any plausible law and narrow enough that
 * the products in the offer check cannot overflow an int64_t. */
static const struct rule_def rule_defs[LOAN_RULE__COUNT] = {
	[LOAN_RULE_GESV_CAP] = { "gesv_cap", { { "bp", 1, 100000, 0, 0 } }, 1, 0 },
	[LOAN_RULE_SHORT_LOAN] = { "short_loan",
				   { { "max_days", 1, 366, 0, 0 },
				     { "max_mrp", 1, 1000000, 0, 0 },
				     { "daily_cap_bp", 1, 10000, 0, 0 },
				     { "annual_cap_bp", 1, 100000, 0, 0 } },
				   4,
				   0 },
	[LOAN_RULE_MAX_AMOUNT] = { "max_amount", { { "mrp", 1, 1000000, 0, 0 } }, 1, 0 },
	[LOAN_RULE_MRP] = { "mrp", { { "tiyn", 1, 100000000, 0, 0 } }, 1, 0 },
	[LOAN_RULE_COOLOFF] = { "cooloff",
				{ { "above_mrp", 0, 1000000, 0, 0 },
				  { "hold_minutes", 0, 10080, 0, 0 } },
				2,
				0 },
	/* after_days and daily_after_bp come together or not at all: past
	 * after_days days of a delay, the daily rate falls to daily_after_bp. */
	[LOAN_RULE_PENALTY] = { "penalty",
				{ { "daily_bp", 0, 10000, 0, 0 },
				  { "annual_bp", 0, 100000, 0, 0 },
				  { "after_days", 1, 3660, 0, 1 },
				  { "daily_after_bp", 0, 10000, 0, 1 } },
				4,
				0 },
	[LOAN_RULE_NOTICE] = { "notice", { { "days", 1, 365, 0, 0 } }, 1, 0 },
	[LOAN_RULE_RESTRUCTURING] = { "restructuring",
				      { { "days", 1, 365, 0, 0 } },
				      1,
				      0 },
	[LOAN_RULE_SELF_EXCLUSION] = { "self_exclusion",
				       { { "check", 0, 1, KEY_YES_NO, 0 } },
				       1,
				       0 },
	[LOAN_RULE_ALLOCATION] = { "allocation",
				   { { "order", 0, 0, KEY_ORDER, 0 },
				     { "after_days", 0, 3660, KEY_NUMBER, 0 },
				     { "order_after", 0, 0, KEY_ORDER, 0 } },
				   3,
				   1 },
	/* Optional: a file without it sets no due date for the answer. */
	[LOAN_RULE_RESTRUCTURING_ANSWER] = { "restructuring_answer",
					     { { "days", 1, 365, 0, 0 } },
					     1,
					     1 },
};

static const char *const alloc_names[LOAN_ALLOC_COMPONENTS + 1] = {
	[LOAN_ALLOC_PRINCIPAL_OVERDUE] = "principal_overdue",
	[LOAN_ALLOC_INTEREST_OVERDUE] = "interest_overdue",
	[LOAN_ALLOC_PENALTY] = "penalty",
	[LOAN_ALLOC_PRINCIPAL_CURRENT] = "principal_current",
	[LOAN_ALLOC_INTEREST_CURRENT] = "interest_current",
};

const char *loan_alloc_component_name(enum loan_alloc_component c)
{
	return c >= 1 && c <= LOAN_ALLOC_COMPONENTS ? alloc_names[c] : NULL;
}

static const char *const breach_codes[LOAN_BREACH__COUNT] = {
	[LOAN_BREACH_NONE] = "none",
	[LOAN_BREACH_OFFER_INVALID] = "offer_invalid",
	[LOAN_BREACH_MAX_AMOUNT] = "max_amount",
	[LOAN_BREACH_GESV_CAP] = "gesv_cap",
	[LOAN_BREACH_SHORT_DAILY] = "short_loan.daily",
	[LOAN_BREACH_SHORT_ANNUAL] = "short_loan.annual",
	[LOAN_BREACH_PENALTY_DAILY] = "penalty.daily",
	[LOAN_BREACH_PENALTY_ANNUAL] = "penalty.annual",
};

const char *loan_rule_code_name(enum loan_rule_code c)
{
	return (unsigned)c < LOAN_RULE__COUNT ? rule_defs[c].code : NULL;
}

const char *loan_breach_code(enum loan_breach b)
{
	return (unsigned)b < LOAN_BREACH__COUNT ? breach_codes[b] : NULL;
}

/* ---- the parser ------------------------------------------------------------- */

struct parser {
	const char *file;
	char *err;
	size_t errlen;
	struct loan_rules *r;
	struct loan_rule *cur; /* the open section, or NULL */
	unsigned seen;	       /* bit 0 from, 1 source, 2+i value i of cur */
};

/*
 * Write "FILE:LINE: [rule CODE] KEY: MESSAGE" into p->err: with rule NULL
 * no "[rule CODE] KEY", with key NULL no KEY.  A message cut short is cut
 * at a character, so the line stays UTF-8.  Returns SENIM_ERR_INVALID.
 */
__attribute__((format(printf, 5, 6))) static enum senim_result
failf(struct parser *p, unsigned line, const struct loan_rule *rule, const char *key,
      const char *fmt, ...)
{
	if (!p->errlen)
		return SENIM_ERR_INVALID;
	size_t n = (size_t)snprintf(p->err, p->errlen, "%s:%u: ", p->file, line);
	if (rule && n < p->errlen)
		n += (size_t)snprintf(p->err + n, p->errlen - n,
				      key ? "[rule %s] %s: " : "[rule %s]: ",
				      rule_defs[rule->code].code, key);
	if (n < p->errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(p->err + n, p->errlen - n, fmt, ap);
		va_end(ap);
	}
	size_t len = strlen(p->err);
	while (len > 0 && !utf8_valid(p->err, len))
		p->err[--len] = '\0';
	return SENIM_ERR_INVALID;
}

/*
 * Close the open section: every key given, and its date later than the
 * previous entry of the same rule (file order is date order, so entries
 * never overlap and the in-force lookup is the last one not after a date).
 */
static enum senim_result close_section(struct parser *p)
{
	struct loan_rule *e = p->cur;
	if (!e)
		return SENIM_OK;
	p->cur = NULL;
	const struct rule_def *def = &rule_defs[e->code];
	if (!(p->seen & 1u))
		return failf(p, e->line, e, NULL, "from is missing");
	if (!(p->seen & 2u))
		return failf(p, e->line, e, NULL, "source is missing");
	for (size_t i = 0; i < def->nkeys; i++)
		if (!(p->seen & (4u << i)) && !def->keys[i].optional)
			return failf(p, e->line, e, NULL, "%s is missing",
				     def->keys[i].key);
	if (e->code == LOAN_RULE_PENALTY &&
	    !(p->seen & (4u << 2)) != !(p->seen & (4u << 3)))
		return failf(p, e->line, e, NULL,
			     "after_days and daily_after_bp come together");
	for (size_t i = p->r->n - 1; i-- > 0;) {
		const struct loan_rule *prev = &p->r->entries[i];
		if (prev->code != e->code)
			continue;
		if (e->from <= prev->from)
			return failf(p, e->line, e, "from",
				     "%s is not later than %s of the entry at line %u: "
				     "the entries of a rule come in increasing dates",
				     e->from_text, prev->from_text, prev->line);
		break;
	}
	return SENIM_OK;
}

/* A header line, `[rule CODE]`, already trimmed. */
static enum senim_result header(struct parser *p, unsigned line, const char *s,
				size_t len)
{
	enum senim_result err = close_section(p);
	if (err)
		return err;
	if (len < 2 || s[len - 1] != ']')
		return failf(p, line, NULL, NULL, "a section header ends with ']'");
	s++;
	len -= 2;
	if (len < 5 || memcmp(s, "rule ", 5) != 0)
		return failf(p, line, NULL, NULL, "a section is [rule CODE]");
	s += 5;
	len -= 5;
	while (len && textconf_is_space(*s))
		s++, len--;
	while (len && textconf_is_space(s[len - 1]))
		len--;
	int code = -1;
	for (int i = 0; i < LOAN_RULE__COUNT; i++)
		if (strlen(rule_defs[i].code) == len &&
		    memcmp(rule_defs[i].code, s, len) == 0)
			code = i;
	if (code < 0) {
		if (textconf_plain_name(s, len))
			return failf(p, line, NULL, NULL, "unknown rule '%.*s'", (int)len,
				     s);
		return failf(p, line, NULL, NULL, "unknown rule");
	}
	if (p->r->n >= LOAN_RULES_MAX)
		return failf(p, line, NULL, NULL, "more than %d entries", LOAN_RULES_MAX);
	struct loan_rule *e = &p->r->entries[p->r->n++];
	memset(e, 0, sizeof(*e));
	e->code = (enum loan_rule_code)code;
	e->line = line;
	p->cur = e;
	p->seen = 0;
	return SENIM_OK;
}

/*
 * An allocation order: the five component names separated by commas (spaces
 * around them allowed), each once, an overdue part before the current part
 * of its kind.  Packs it into *out four bits a component, the first in the
 * low bits; returns NULL, or the message saying what is wrong.
 */
static const char *parse_order(const char *s, size_t len, int64_t *out)
{
	int64_t packed = 0;
	int pos[LOAN_ALLOC_COMPONENTS + 1] = { 0 };
	int n = 0;
	size_t at = 0;
	while (at <= len) {
		const char *comma = memchr(s + at, ',', len - at);
		size_t end = comma ? (size_t)(comma - s) : len;
		size_t a = at, b = end;
		while (a < b && textconf_is_space(s[a]))
			a++;
		while (b > a && textconf_is_space(s[b - 1]))
			b--;
		int c = 0;
		for (int i = 1; i <= LOAN_ALLOC_COMPONENTS; i++)
			if (strlen(alloc_names[i]) == b - a &&
			    memcmp(alloc_names[i], s + a, b - a) == 0)
				c = i;
		if (!c)
			return "a list of principal_overdue, interest_overdue, penalty, "
			       "principal_current, interest_current";
		if (pos[c])
			return "a component given twice";
		if (n == LOAN_ALLOC_COMPONENTS)
			return "more than five components"; /* unreachable: a repeat */
		pos[c] = ++n;
		packed |= (int64_t)c << (4 * (n - 1));
		at = end + 1;
	}
	if (n != LOAN_ALLOC_COMPONENTS)
		return "each of the five components once";
	if (pos[LOAN_ALLOC_PRINCIPAL_CURRENT] < pos[LOAN_ALLOC_PRINCIPAL_OVERDUE] ||
	    pos[LOAN_ALLOC_INTEREST_CURRENT] < pos[LOAN_ALLOC_INTEREST_OVERDUE])
		return "an overdue part comes before the current part of its kind";
	*out = packed;
	return NULL;
}

/* A `key = value` line, trimmed; `eq` is the offset of '='. */
static enum senim_result key_value(struct parser *p, unsigned line, const char *s,
				   size_t len, size_t eq)
{
	struct loan_rule *e = p->cur;
	if (!e)
		return failf(p, line, NULL, NULL, "a key outside a [rule CODE] section");
	size_t klen = eq;
	while (klen && textconf_is_space(s[klen - 1]))
		klen--;
	const char *v = s + eq + 1;
	size_t vlen = len - eq - 1;
	while (vlen && textconf_is_space(*v))
		v++, vlen--;
	const struct rule_def *def = &rule_defs[e->code];
	int slot = -1; /* 0 from, 1 source, 2+i value i */
	const char *key = NULL;
	if (klen == 4 && memcmp(s, "from", 4) == 0)
		slot = 0, key = "from";
	else if (klen == 6 && memcmp(s, "source", 6) == 0)
		slot = 1, key = "source";
	for (size_t i = 0; slot < 0 && i < def->nkeys; i++)
		if (strlen(def->keys[i].key) == klen &&
		    memcmp(def->keys[i].key, s, klen) == 0)
			slot = 2 + (int)i, key = def->keys[i].key;
	if (slot < 0) {
		if (textconf_plain_name(s, klen))
			return failf(p, line, e, NULL, "unknown key '%.*s'", (int)klen,
				     s);
		return failf(p, line, e, NULL, "unknown key");
	}
	if (p->seen & (1u << slot))
		return failf(p, line, e, key, "given twice");
	p->seen |= 1u << slot;
	if (vlen == 0)
		return failf(p, line, e, key, "empty");
	if (slot == 0) {
		if (!textconf_date(v, vlen, &e->from))
			return failf(p, line, e, key, "not a date YYYY-MM-DD");
		memcpy(e->from_text, v, 10);
		e->from_text[10] = '\0';
		return SENIM_OK;
	}
	if (slot == 1) {
		if (utf8_chars(v, vlen) > SOURCE_CHARS_MAX)
			return failf(p, line, e, key, "longer than %d characters",
				     SOURCE_CHARS_MAX);
		memcpy(e->source, v, vlen); /* vlen < LOAN_RULES_LINE_MAX */
		e->source[vlen] = '\0';
		return SENIM_OK;
	}
	const struct key_def *kd = &def->keys[slot - 2];
	if (kd->kind == KEY_ORDER) {
		const char *why = parse_order(v, vlen, &e->v[slot - 2]);
		if (why)
			return failf(p, line, e, key, "%s", why);
		return SENIM_OK;
	}
	if (kd->kind == KEY_YES_NO) {
		if (vlen == 3 && memcmp(v, "yes", 3) == 0)
			e->v[slot - 2] = 1;
		else if (vlen == 2 && memcmp(v, "no", 2) == 0)
			e->v[slot - 2] = 0;
		else
			return failf(p, line, e, key, "yes or no");
		return SENIM_OK;
	}
	if (!textconf_number(v, vlen, kd->min, kd->max, &e->v[slot - 2]))
		return failf(p, line, e, key, "a whole number from %lld to %lld",
			     (long long)kd->min, (long long)kd->max);
	return SENIM_OK;
}

/* One raw line (no LF): length, encoding, then what kind of line it is. */
static enum senim_result one_line(struct parser *p, unsigned line, const char *s,
				  size_t len)
{
	if (len && s[len - 1] == '\r')
		len--;
	if (len > LOAN_RULES_LINE_MAX)
		return failf(p, line, NULL, NULL, "longer than %d bytes",
			     LOAN_RULES_LINE_MAX);
	if (!utf8_valid(s, len))
		return failf(p, line, NULL, NULL, "not UTF-8");
	if (textconf_has_control(s, len))
		return failf(p, line, NULL, NULL, "a control character");
	while (len && textconf_is_space(*s))
		s++, len--;
	while (len && textconf_is_space(s[len - 1]))
		len--;
	if (len == 0 || s[0] == '#')
		return SENIM_OK;
	if (s[0] == '[')
		return header(p, line, s, len);
	const char *eq = memchr(s, '=', len);
	if (!eq || eq == s)
		return failf(p, line, NULL, NULL,
			     "neither a section, a comment nor key = value");
	return key_value(p, line, s, len, (size_t)(eq - s));
}

static int each_line(void *p, unsigned line, const char *s, size_t len)
{
	return (int)one_line(p, line, s, len);
}

enum senim_result loan_rules_parse(const char *name, const char *text, size_t len,
				   struct loan_rules **out, char *err, size_t errlen)
{
	*out = NULL;
	if (errlen)
		err[0] = '\0';
	struct parser p = { .file = name, .err = err, .errlen = errlen };
	if (len > LOAN_RULES_FILE_MAX)
		return failf(&p, 1, NULL, NULL, "the file is longer than %d bytes",
			     LOAN_RULES_FILE_MAX);
	p.r = calloc(1, sizeof(*p.r));
	if (!p.r)
		return SENIM_ERR_NOMEM;
	unsigned line = 1;
	enum senim_result rc =
		(enum senim_result)textconf_each_line(text, len, each_line, &p, &line);
	if (rc)
		goto fail;
	rc = close_section(&p);
	if (rc)
		goto fail;
	/* Every rule needs an entry: a file without the ГЭСВ cap, say, would
	 * let any offer through. */
	for (int c = 0; c < LOAN_RULE__COUNT; c++) {
		if (rule_defs[c].optional)
			continue;
		size_t i = 0;
		while (i < p.r->n && p.r->entries[i].code != (enum loan_rule_code)c)
			i++;
		if (i == p.r->n) {
			rc = failf(&p, line, NULL, NULL, "no [rule %s] in the file",
				   rule_defs[c].code);
			goto fail;
		}
	}
	*out = p.r;
	return SENIM_OK;
fail:
	free(p.r);
	return rc;
}

void loan_rules_free(struct loan_rules *r)
{
	free(r);
}

/* ---- in force --------------------------------------------------------------- */

enum senim_result loan_rules_in_force(const struct loan_rules *r, const char *date,
				      struct loan_rules_in_force *out, char *err,
				      size_t errlen)
{
	memset(out, 0, sizeof(*out));
	int32_t d;
	if (!date || !textconf_date(date, strlen(date), &d)) {
		if (errlen)
			snprintf(err, errlen, "not a date YYYY-MM-DD");
		return SENIM_ERR_INVALID;
	}
	memcpy(out->date, date, 10);
	for (size_t i = 0; i < r->n; i++) {
		const struct loan_rule *e = &r->entries[i];
		/* File order is date order per rule: the last not after d wins. */
		if (e->from <= d)
			out->rule[e->code] = e;
	}
	for (int c = 0; c < LOAN_RULE__COUNT; c++) {
		if (out->rule[c] || rule_defs[c].optional)
			continue;
		const struct loan_rule *first = NULL;
		for (size_t i = 0; i < r->n && !first; i++)
			if (r->entries[i].code == (enum loan_rule_code)c)
				first = &r->entries[i];
		if (errlen) {
			if (first)
				snprintf(err, errlen,
					 "no [rule %s] in force on %s: its first entry, "
					 "line %u, is from %s",
					 rule_defs[c].code, out->date, first->line,
					 first->from_text);
			else
				snprintf(err, errlen, "no [rule %s]", rule_defs[c].code);
		}
		memset(out, 0, sizeof(*out));
		return SENIM_ERR_INVALID;
	}
	const int64_t *v;
	out->gesv_cap_bp = out->rule[LOAN_RULE_GESV_CAP]->v[0];
	v = out->rule[LOAN_RULE_SHORT_LOAN]->v;
	out->short_max_days = v[0];
	out->short_max_mrp = v[1];
	out->short_daily_cap_bp = v[2];
	out->short_annual_cap_bp = v[3];
	out->max_amount_mrp = out->rule[LOAN_RULE_MAX_AMOUNT]->v[0];
	out->mrp_tiyn = out->rule[LOAN_RULE_MRP]->v[0];
	v = out->rule[LOAN_RULE_COOLOFF]->v;
	out->cooloff_above_mrp = v[0];
	out->cooloff_hold_minutes = v[1];
	v = out->rule[LOAN_RULE_PENALTY]->v;
	out->penalty_daily_bp = v[0];
	out->penalty_annual_bp = v[1];
	out->penalty_after_days = v[2];
	out->penalty_daily_after_bp = v[3];
	out->notice_days = out->rule[LOAN_RULE_NOTICE]->v[0];
	out->restructuring_days = out->rule[LOAN_RULE_RESTRUCTURING]->v[0];
	out->self_exclusion_check = (int)out->rule[LOAN_RULE_SELF_EXCLUSION]->v[0];
	if (out->rule[LOAN_RULE_RESTRUCTURING_ANSWER])
		out->restructuring_answer_days =
			out->rule[LOAN_RULE_RESTRUCTURING_ANSWER]->v[0];
	if (out->rule[LOAN_RULE_ALLOCATION]) {
		v = out->rule[LOAN_RULE_ALLOCATION]->v;
		out->has_allocation = 1;
		out->allocation_after_days = v[1];
		for (int i = 0; i < LOAN_ALLOC_COMPONENTS; i++) {
			out->allocation_order[i] = (uint8_t)((v[0] >> (4 * i)) & 0xf);
			out->allocation_order_after[i] =
				(uint8_t)((v[2] >> (4 * i)) & 0xf);
		}
	}
	return SENIM_OK;
}

int64_t loan_rules_mrp_tiyn(const struct loan_rules_in_force *f, int64_t mrp)
{
	/* tiyn <= 10^8 by the file's range, so 10^6 МРП stays below 2^63. */
	if (mrp < 0 || mrp > 1000000)
		return INT64_MAX;
	return mrp * f->mrp_tiyn;
}

int loan_rules_mrp_of_an_earlier_year(const struct loan_rules_in_force *f)
{
	const struct loan_rule *e = f->rule[LOAN_RULE_MRP];
	/* Both are "YYYY-MM-DD": the years compare as their first four bytes. */
	return e && memcmp(e->from_text, f->date, 4) < 0;
}

int64_t loan_rules_payout_hold_minutes(const struct loan_rules_in_force *f,
				       int64_t amount_tiyn)
{
	return amount_tiyn > loan_rules_mrp_tiyn(f, f->cooloff_above_mrp)
		       ? f->cooloff_hold_minutes
		       : 0;
}

/* ---- the offer check -------------------------------------------------------- */

static enum loan_breach refuse(struct loan_rule_refusal *why, enum loan_breach b,
			       const struct loan_rule *rule)
{
	if (why) {
		why->breach = b;
		why->code = breach_codes[b];
		why->rule = rule;
	}
	return b;
}

enum loan_breach loan_rules_check_offer(const struct loan_rules_in_force *f,
					const struct loan_offer *o,
					struct loan_rule_refusal *why)
{
	const struct loan_rule *const *r = f->rule;
	if (o->amount_tiyn <= 0 || o->term_days <= 0 || o->annual_rate_bp < 0 ||
	    o->effective_rate_bp < 0 || o->penalty_daily_bp < 0 ||
	    o->penalty_annual_bp < 0)
		return refuse(why, LOAN_BREACH_OFFER_INVALID, NULL);
	if (o->amount_tiyn > loan_rules_mrp_tiyn(f, f->max_amount_mrp))
		return refuse(why, LOAN_BREACH_MAX_AMOUNT, r[LOAN_RULE_MAX_AMOUNT]);
	int is_short = o->term_days <= f->short_max_days &&
		       o->amount_tiyn <= loan_rules_mrp_tiyn(f, f->short_max_mrp);
	if (is_short) {
		/* "Under N% a day": the daily rate annual/365 strictly below the
		 * cap, compared without dividing. */
		if (o->annual_rate_bp >= f->short_daily_cap_bp * LOAN_RULES_DAYS_IN_YEAR)
			return refuse(why, LOAN_BREACH_SHORT_DAILY,
				      r[LOAN_RULE_SHORT_LOAN]);
		if (o->effective_rate_bp > f->short_annual_cap_bp)
			return refuse(why, LOAN_BREACH_SHORT_ANNUAL,
				      r[LOAN_RULE_SHORT_LOAN]);
	} else if (o->effective_rate_bp > f->gesv_cap_bp) {
		return refuse(why, LOAN_BREACH_GESV_CAP, r[LOAN_RULE_GESV_CAP]);
	}
	if (o->penalty_daily_bp > f->penalty_daily_bp)
		return refuse(why, LOAN_BREACH_PENALTY_DAILY, r[LOAN_RULE_PENALTY]);
	if (o->penalty_annual_bp > f->penalty_annual_bp)
		return refuse(why, LOAN_BREACH_PENALTY_ANNUAL, r[LOAN_RULE_PENALTY]);
	return refuse(why, LOAN_BREACH_NONE, NULL);
}
