/*
 * scorecard.c — the scorecard file (scorecard.h): parsing it line by line,
 * evaluating an application by it, and the reasons' texts.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/textconf.h"
#include "common/utf8.h"
#include "core/scorecard.h"
#include "common/banned.h"

/* ---- tables ----------------------------------------------------------------- */

struct attr_def {
	const char *name;
	int64_t max; /* the largest value; SCORE_VALUE_OPEN when none */
	int may_be_missing;
};

static const struct attr_def attr_defs[SCORE_ATTR__COUNT] = {
	[SCORE_ATTR_BUREAU_OVERDUE] = { "bureau_overdue_days", SCORE_VALUE_OPEN, 1 },
	[SCORE_ATTR_ACTIVE_LOANS] = { "active_loans", SCORE_VALUE_OPEN, 1 },
	[SCORE_ATTR_DEBT_BURDEN] = { "debt_burden_bp", SCORE_VALUE_OPEN, 1 },
	[SCORE_ATTR_ENQUIRIES] = { "enquiries_30d", SCORE_VALUE_OPEN, 1 },
	[SCORE_ATTR_OPERATOR_SCORE] = { "operator_score", SCORE_OPERATOR_MAX, 1 },
	/* The birth date is always known (it is in the IIN), and every
	 * borrower has a count of loans repaid with us, 0 at first. */
	[SCORE_ATTR_AGE] = { "age", SCORE_VALUE_OPEN, 0 },
	[SCORE_ATTR_LENDER_REPAID] = { "lender_loans_repaid", SCORE_VALUE_OPEN, 0 },
	[SCORE_ATTR_LENDER_OVERDUE] = { "lender_overdue_days", SCORE_VALUE_OPEN, 1 },
};

static const char *const decision_names[] = {
	[SCORE_DECLINE] = "decline",
	[SCORE_REFER] = "refer",
	[SCORE_APPROVE] = "approve",
};

/* Each reason with what the borrower reads.  Codes are stable: decisions
 * are stored with them, so a code is never renamed or reused. */
struct reason_def {
	const char *code, *ru, *kk, *en;
};

static const struct reason_def reason_defs[SCORE_REASON__COUNT] = {
	[SCORE_REASON_AGE_BELOW_MINIMUM] = { "age_below_minimum",
					     "Возраст заёмщика ниже минимального для "
					     "этого займа.",
					     "Қарыз алушының жасы осы қарыз үшін ең "
					     "төменгі жастан кіші.",
					     "The borrower is younger than the minimum "
					     "age for this loan." },
	[SCORE_REASON_AGE_ABOVE_MAXIMUM] = { "age_above_maximum",
					     "Возраст заёмщика выше максимального для "
					     "этого займа.",
					     "Қарыз алушының жасы осы қарыз үшін ең "
					     "жоғары жастан асады.",
					     "The borrower is older than the maximum age "
					     "for this loan." },
	[SCORE_REASON_BUREAU_OVERDUE_OVER_LIMIT] = { "bureau_overdue_over_limit",
						     "В кредитной истории есть просрочка "
						     "дольше допустимой.",
						     "Кредиттік тарихта рұқсат "
						     "етілгеннен ұзағырақ мерзімі өткен "
						     "төлем бар.",
						     "The credit history shows a payment "
						     "overdue for longer than allowed." },
	[SCORE_REASON_DEBT_BURDEN_OVER_LIMIT] = { "debt_burden_over_limit",
						  "Платежи по долгам превышают "
						  "допустимую долю дохода.",
						  "Қарыздар бойынша төлемдер табыстың "
						  "рұқсат етілген үлесінен асады.",
						  "Debt payments exceed the allowed "
						  "share of income." },
	[SCORE_REASON_SCORE_BELOW_REFER] = { "score_below_refer",
					     "Итоговая оценка заявки недостаточна для "
					     "выдачи займа.",
					     "Өтінімнің қорытынды бағасы қарыз беру үшін "
					     "жеткіліксіз.",
					     "The application's overall score is too low "
					     "for a loan." },
	[SCORE_REASON_SCORE_BELOW_APPROVE] = { "score_below_approve",
					       "Заявку рассмотрит специалист.",
					       "Өтінімді маман қарайды.",
					       "A specialist will review the "
					       "application." },
	[SCORE_REASON_BUREAU_UNAVAILABLE] = { "bureau_unavailable",
					      "Не удалось получить кредитную историю.",
					      "Кредиттік тарихты алу мүмкін болмады.",
					      "The credit history could not be "
					      "obtained." },
	[SCORE_REASON_BUREAU_OVERDUE] = { "bureau_overdue",
					  "В кредитной истории за последние 12 месяцев "
					  "есть просрочки.",
					  "Соңғы 12 айдағы кредиттік тарихта мерзімі "
					  "өткен төлемдер бар.",
					  "The credit history shows overdue payments in "
					  "the last 12 months." },
	[SCORE_REASON_MANY_ACTIVE_LOANS] = { "many_active_loans",
					     "Много действующих займов.",
					     "Қолданыстағы қарыздар көп.",
					     "There are many active loans." },
	[SCORE_REASON_HIGH_DEBT_BURDEN] = { "high_debt_burden",
					    "Высокая долговая нагрузка.",
					    "Қарыз жүктемесі жоғары.",
					    "The debt burden is high." },
	[SCORE_REASON_DEBT_BURDEN_UNKNOWN] = { "debt_burden_unknown",
					       "Не удалось оценить долговую нагрузку.",
					       "Қарыз жүктемесін бағалау мүмкін болмады.",
					       "The debt burden could not be assessed." },
	[SCORE_REASON_INCOME_NOT_DECLARED] = { "income_not_declared", "Доход не указан.",
					       "Табыс көрсетілмеген.",
					       "No income was declared." },
	[SCORE_REASON_MANY_RECENT_ENQUIRIES] = { "many_recent_enquiries",
						 "Много запросов кредитной истории за "
						 "последние 30 дней.",
						 "Соңғы 30 күнде кредиттік тарихқа "
						 "сұраулар көп.",
						 "Many credit history enquiries in the "
						 "last 30 days." },
	[SCORE_REASON_LOW_OPERATOR_SCORE] = { "low_operator_score",
					      "Низкая оценка оператора мобильной связи.",
					      "Ұялы байланыс операторының бағасы төмен.",
					      "The mobile operator's score is low." },
	[SCORE_REASON_OPERATOR_SCORE_UNAVAILABLE] = { "operator_score_unavailable",
						      "Оценка оператора мобильной связи "
						      "недоступна.",
						      "Ұялы байланыс операторының бағасы "
						      "қолжетімсіз.",
						      "The mobile operator's score is "
						      "unavailable." },
	[SCORE_REASON_AGE_BAND] = { "age_band",
				    "Возрастная группа заёмщика снижает оценку.",
				    "Қарыз алушының жас тобы бағаны төмендетеді.",
				    "The borrower's age group lowers the score." },
	[SCORE_REASON_NO_LENDER_HISTORY] = { "no_lender_history",
					     "У вас ещё нет погашенных займов у нас.",
					     "Сізде бізден алынған өтелген қарыздар әлі "
					     "жоқ.",
					     "You have no repaid loans with us yet." },
	[SCORE_REASON_LENDER_OVERDUE] = { "lender_overdue",
					  "По прежним займам у нас были просрочки.",
					  "Бізден алынған бұрынғы қарыздар бойынша "
					  "мерзімі өткен төлемдер болды.",
					  "Earlier loans with us were paid late." },
};

const char *scorecard_attr_name(enum score_attr a)
{
	return (unsigned)a < SCORE_ATTR__COUNT ? attr_defs[a].name : NULL;
}

const char *scorecard_decision_name(enum score_decision d)
{
	return (unsigned)d <= SCORE_APPROVE ? decision_names[d] : NULL;
}

const char *scorecard_reason_code(enum score_reason r)
{
	if (r <= SCORE_REASON_NONE || r >= SCORE_REASON__COUNT)
		return NULL;
	return reason_defs[r].code;
}

enum score_reason scorecard_reason_parse(const char *s, size_t len)
{
	for (int r = SCORE_REASON_NONE + 1; r < SCORE_REASON__COUNT; r++)
		if (strlen(reason_defs[r].code) == len &&
		    memcmp(reason_defs[r].code, s, len) == 0)
			return (enum score_reason)r;
	return SCORE_REASON_NONE;
}

const char *scorecard_reason_text(enum score_reason r, const char *lang)
{
	if (r <= SCORE_REASON_NONE || r >= SCORE_REASON__COUNT)
		return NULL;
	const struct reason_def *d = &reason_defs[r];
	if (lang && strcmp(lang, "kk") == 0)
		return d->kk;
	if (lang && strcmp(lang, "en") == 0)
		return d->en;
	return d->ru;
}

/* The largest number a file may write: TEXTCONF_DIGITS_MAX nines. */
#define SCORE_FILE_NUMBER_MAX 999999999999LL

/* ---- the parser ------------------------------------------------------------- */

enum section {
	SEC_NONE,
	SEC_CARD,
	SEC_ATTR,
	SEC_LIMITS
};

/* The keys of [card], in the order the header lists them. */
enum card_key {
	K_ID,
	K_VERSION,
	K_FROM,
	K_APPROVE,
	K_REFER,
	K_MIN_AGE,
	K_MAX_AGE,
	K_MAX_OVERDUE,
	K_MAX_BURDEN,
	K__COUNT
};

static const struct {
	const char *key;
	int64_t min, max;
} card_keys[K__COUNT] = {
	[K_ID] = { "id", 0, 0 },
	[K_VERSION] = { "version", 1, 1000000 },
	[K_FROM] = { "from", 0, 0 },
	[K_APPROVE] = { "approve", 0, 100000 },
	[K_REFER] = { "refer", 0, 100000 },
	/* 18: the age of full legal capacity (Civil Code art. 17); no card
	 * may lend to a minor. */
	[K_MIN_AGE] = { "min_age", 18, 100 },
	[K_MAX_AGE] = { "max_age", 18, 120 },
	[K_MAX_OVERDUE] = { "max_bureau_overdue_days", 0, SCORE_COUNT_MAX },
	[K_MAX_BURDEN] = { "max_debt_burden_bp", 1, SCORE_DEBT_BURDEN_CAP_BP },
};

struct parser {
	const char *file;
	char *err;
	size_t errlen;
	struct scorecard *c;
	enum section sec;
	int attr;		     /* the open attribute, with SEC_ATTR */
	unsigned sec_line;	     /* header line of the open section */
	unsigned card_line;	     /* 0 until [card] */
	unsigned limits_line;	     /* 0 until [limits] */
	unsigned key_line[K__COUNT]; /* 0 until the key is given */
};

/* The section's name as messages give it: "card", "attribute age", ... */
static void section_name(const struct parser *p, char *out, size_t n)
{
	switch (p->sec) {
	case SEC_CARD:
		snprintf(out, n, "card");
		break;
	case SEC_ATTR:
		snprintf(out, n, "attribute %s", attr_defs[p->attr].name);
		break;
	case SEC_LIMITS:
		snprintf(out, n, "limits");
		break;
	case SEC_NONE:
		out[0] = '\0';
		break;
	}
}

/*
 * Write "FILE:LINE: [SECTION] KEY: MESSAGE" into p->err: with in_section 0
 * no "[SECTION] KEY", with key NULL no KEY.  A message cut short is cut at
 * a character, so the line stays UTF-8.  Returns SENIM_ERR_INVALID.
 */
__attribute__((format(printf, 5, 6))) static enum senim_result
failf(struct parser *p, unsigned line, int in_section, const char *key, const char *fmt,
      ...)
{
	if (!p->errlen)
		return SENIM_ERR_INVALID;
	size_t n = (size_t)snprintf(p->err, p->errlen, "%s:%u: ", p->file, line);
	if (in_section && p->sec != SEC_NONE && n < p->errlen) {
		char sec[64];
		section_name(p, sec, sizeof(sec));
		n += (size_t)snprintf(p->err + n, p->errlen - n,
				      key ? "[%s] %s: " : "[%s]: ", sec, key);
	}
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

/* A value's text for a message: "max" for an open end. */
static const char *bound_text(int64_t v, char *buf, size_t n)
{
	if (v == SCORE_VALUE_OPEN)
		return "max";
	snprintf(buf, n, "%lld", (long long)v);
	return buf;
}

/* Close the open section: its required lines are there. */
static enum senim_result close_section(struct parser *p)
{
	enum senim_result rc = SENIM_OK;
	if (p->sec == SEC_CARD) {
		for (int k = 0; k < K__COUNT && !rc; k++)
			if (!p->key_line[k])
				rc = failf(p, p->sec_line, 1, NULL, "%s is missing",
					   card_keys[k].key);
		if (!rc && p->c->approve < p->c->refer)
			rc = failf(p, p->key_line[K_APPROVE], 1, "approve",
				   "%lld is below the refer cut-off %lld (line %u)",
				   (long long)p->c->approve, (long long)p->c->refer,
				   p->key_line[K_REFER]);
		if (!rc && p->c->max_age < p->c->min_age)
			rc = failf(p, p->key_line[K_MAX_AGE], 1, "max_age",
				   "%lld is below min_age %lld", (long long)p->c->max_age,
				   (long long)p->c->min_age);
	} else if (p->sec == SEC_ATTR) {
		const struct attr_def *def = &attr_defs[p->attr];
		const struct score_attribute_rule *a = &p->c->attr[p->attr];
		char b[24];
		if (a->nbands == 0)
			rc = failf(p, p->sec_line, 1, NULL, "no band");
		else if (a->bands[a->nbands - 1].hi != def->max)
			rc = failf(p, p->sec_line, 1, NULL,
				   "the bands end at %lld: %lld..%s is not covered",
				   (long long)a->bands[a->nbands - 1].hi,
				   (long long)a->bands[a->nbands - 1].hi + 1,
				   bound_text(def->max, b, sizeof(b)));
		else if (def->may_be_missing && !a->has_missing)
			rc = failf(p, p->sec_line, 1, NULL,
				   "missing is missing: say what an absent %s gets",
				   def->name);
	} else if (p->sec == SEC_LIMITS && p->c->nlimits == 0) {
		rc = failf(p, p->sec_line, 1, NULL, "no limit");
	}
	p->sec = SEC_NONE;
	return rc;
}

static void trim(const char **s, size_t *len)
{
	while (*len && textconf_is_space(**s))
		(*s)++, (*len)--;
	while (*len && textconf_is_space((*s)[*len - 1]))
		(*len)--;
}

/* A header line, `[...]`, already trimmed. */
static enum senim_result header(struct parser *p, unsigned line, const char *s,
				size_t len)
{
	enum senim_result rc = close_section(p);
	if (rc)
		return rc;
	if (len < 2 || s[len - 1] != ']')
		return failf(p, line, 0, NULL, "a section header ends with ']'");
	s++;
	len -= 2;
	trim(&s, &len);
	if (len == 4 && memcmp(s, "card", 4) == 0) {
		if (p->card_line)
			return failf(p, line, 0, NULL,
				     "[card] given twice (first at line %u)",
				     p->card_line);
		p->card_line = line;
		p->sec = SEC_CARD;
	} else if (len == 6 && memcmp(s, "limits", 6) == 0) {
		if (p->limits_line)
			return failf(p, line, 0, NULL,
				     "[limits] given twice (first at line %u)",
				     p->limits_line);
		p->limits_line = line;
		p->sec = SEC_LIMITS;
	} else if (len > 10 && memcmp(s, "attribute", 9) == 0 &&
		   textconf_is_space(s[9])) {
		s += 10;
		len -= 10;
		trim(&s, &len);
		int a = -1;
		for (int i = 0; i < SCORE_ATTR__COUNT; i++)
			if (strlen(attr_defs[i].name) == len &&
			    memcmp(attr_defs[i].name, s, len) == 0)
				a = i;
		if (a < 0) {
			if (textconf_plain_name(s, len))
				return failf(p, line, 0, NULL, "unknown attribute '%.*s'",
					     (int)len, s);
			return failf(p, line, 0, NULL, "unknown attribute");
		}
		if (p->c->attr[a].line)
			return failf(p, line, 0, NULL,
				     "[attribute %s] given twice (first at line %u)",
				     attr_defs[a].name, p->c->attr[a].line);
		p->c->attr[a].line = line;
		p->attr = a;
		p->sec = SEC_ATTR;
	} else {
		return failf(p, line, 0, NULL,
			     "a section is [card], [attribute NAME] or [limits]");
	}
	p->sec_line = line;
	return SENIM_OK;
}

/* Split a value into at most `max` words separated by spaces; returns the
 * count, or max + 1 when there are more. */
static size_t words(const char *s, size_t len, const char **w, size_t *wl, size_t max)
{
	size_t n = 0, i = 0;
	while (i < len) {
		while (i < len && textconf_is_space(s[i]))
			i++;
		if (i == len)
			break;
		size_t start = i;
		while (i < len && !textconf_is_space(s[i]))
			i++;
		if (n == max)
			return max + 1;
		w[n] = s + start;
		wl[n] = i - start;
		n++;
	}
	return n;
}

/* A reason a file may name, in w: *out set and SENIM_OK, else the fault. */
static enum senim_result file_reason(struct parser *p, unsigned line, const char *key,
				     const char *w, size_t wl, enum score_reason *out)
{
	enum score_reason r = scorecard_reason_parse(w, wl);
	if (r == SCORE_REASON_NONE) {
		if (textconf_plain_name(w, wl))
			return failf(p, line, 1, key, "unknown reason '%.*s'", (int)wl,
				     w);
		return failf(p, line, 1, key, "unknown reason");
	}
	if (r < SCORE_REASON_FIRST_IN_FILE)
		return failf(p, line, 1, key, "%s is given by the card itself",
			     reason_defs[r].code);
	*out = r;
	return SENIM_OK;
}

/* `band = LO..HI POINTS [REASON]`: in order, no overlap, no gap. */
static enum senim_result band_line(struct parser *p, unsigned line, const char *v,
				   size_t vlen)
{
	const struct attr_def *def = &attr_defs[p->attr];
	struct score_attribute_rule *a = &p->c->attr[p->attr];
	const char *w[3];
	size_t wl[3];
	size_t n = words(v, vlen, w, wl, 3);
	if (n < 2 || n > 3)
		return failf(p, line, 1, "band", "LO..HI POINTS [REASON]");
	const char *dots = wl[0] >= 2 ? memchr(w[0], '.', wl[0] - 1) : NULL;
	if (!dots || dots[1] != '.')
		return failf(p, line, 1, "band", "LO..HI POINTS [REASON]");
	size_t lol = (size_t)(dots - w[0]);
	const char *hs = dots + 2;
	size_t hl = wl[0] - lol - 2;
	int64_t dmax = def->max == SCORE_VALUE_OPEN ? SCORE_FILE_NUMBER_MAX : def->max;
	struct score_band b = { .line = line };
	if (!textconf_number(w[0], lol, 0, dmax, &b.lo))
		return failf(p, line, 1, "band", "LO a whole number from 0 to %lld",
			     (long long)dmax);
	if (hl == 3 && memcmp(hs, "max", 3) == 0)
		b.hi = def->max;
	else if (!textconf_number(hs, hl, 0, dmax, &b.hi))
		return failf(p, line, 1, "band",
			     "HI a whole number from 0 to %lld, or max", (long long)dmax);
	int64_t pts;
	if (!textconf_number(w[1], wl[1], 0, SCORE_POINTS_MAX, &pts))
		return failf(p, line, 1, "band", "POINTS a whole number from 0 to %d",
			     SCORE_POINTS_MAX);
	b.points = (int)pts;
	if (n == 3) {
		enum senim_result rc =
			file_reason(p, line, "band", w[2], wl[2], &b.reason);
		if (rc)
			return rc;
	}
	char t1[24], t2[24];
	if (b.lo > b.hi)
		return failf(p, line, 1, "band", "%lld..%s: LO above HI", (long long)b.lo,
			     bound_text(b.hi, t1, sizeof(t1)));
	if (a->nbands == 0) {
		if (b.lo != 0)
			return failf(
				p, line, 1, "band",
				"the first band starts at %lld: 0..%lld is not covered",
				(long long)b.lo, (long long)b.lo - 1);
	} else {
		const struct score_band *prev = &a->bands[a->nbands - 1];
		if (b.lo <= prev->hi)
			return failf(p, line, 1, "band",
				     "%lld..%s overlaps %lld..%s at line %u",
				     (long long)b.lo, bound_text(b.hi, t1, sizeof(t1)),
				     (long long)prev->lo,
				     bound_text(prev->hi, t2, sizeof(t2)), prev->line);
		if (b.lo > prev->hi + 1)
			return failf(p, line, 1, "band",
				     "a gap: %lld..%lld is in no band (after line %u)",
				     (long long)prev->hi + 1, (long long)b.lo - 1,
				     prev->line);
	}
	if (a->nbands == SCORECARD_BANDS_MAX)
		return failf(p, line, 1, "band", "more than %d bands",
			     SCORECARD_BANDS_MAX);
	a->bands[a->nbands++] = b;
	if (a->nbands == 1 || b.points > a->best_points)
		a->best_points = b.points;
	return SENIM_OK;
}

/* `missing = POINTS [REASON] | refer REASON | decline REASON`. */
static enum senim_result missing_line(struct parser *p, unsigned line, const char *v,
				      size_t vlen)
{
	struct score_attribute_rule *a = &p->c->attr[p->attr];
	if (!attr_defs[p->attr].may_be_missing)
		return failf(p, line, 1, "missing", "%s is never missing",
			     attr_defs[p->attr].name);
	if (a->has_missing)
		return failf(p, line, 1, "missing", "given twice");
	a->has_missing = 1;
	const char *w[2];
	size_t wl[2];
	size_t n = words(v, vlen, w, wl, 2);
	if (n < 1 || n > 2)
		return failf(p, line, 1, "missing",
			     "POINTS [REASON], refer REASON or decline REASON");
	int64_t pts;
	if (wl[0] == 5 && memcmp(w[0], "refer", 5) == 0)
		a->missing = SCORE_MISSING_REFER;
	else if (wl[0] == 7 && memcmp(w[0], "decline", 7) == 0)
		a->missing = SCORE_MISSING_DECLINE;
	else if (textconf_number(w[0], wl[0], 0, SCORE_POINTS_MAX, &pts))
		a->missing = SCORE_MISSING_POINTS, a->missing_points = (int)pts;
	else
		return failf(p, line, 1, "missing", "POINTS (0 to %d), refer or decline",
			     SCORE_POINTS_MAX);
	if (n == 1) {
		/* The borrower is owed a reason for what decides. */
		if (a->missing != SCORE_MISSING_POINTS)
			return failf(p, line, 1, "missing", "%.*s needs a REASON",
				     (int)wl[0], w[0]);
		return SENIM_OK;
	}
	return file_reason(p, line, "missing", w[1], wl[1], &a->missing_reason);
}

/* `limit = POINTS AMOUNT_TIYN TERM_DAYS`, POINTS increasing. */
static enum senim_result limit_line(struct parser *p, unsigned line, const char *v,
				    size_t vlen)
{
	struct scorecard *c = p->c;
	const char *w[3];
	size_t wl[3];
	struct score_limit l = { .line = line };
	if (words(v, vlen, w, wl, 3) != 3 ||
	    !textconf_number(w[0], wl[0], 0, 100000, &l.points) ||
	    !textconf_number(w[1], wl[1], 1, SCORE_FILE_NUMBER_MAX, &l.amount_tiyn) ||
	    !textconf_number(w[2], wl[2], 1, 3660, &l.term_days))
		return failf(p, line, 1, "limit",
			     "POINTS (0 to 100000) AMOUNT_TIYN (1 to %lld) TERM_DAYS (1 "
			     "to 3660)",
			     (long long)SCORE_FILE_NUMBER_MAX);
	if (c->nlimits && l.points <= c->limits[c->nlimits - 1].points)
		return failf(p, line, 1, "limit",
			     "%lld is not above %lld at line %u: limits come in "
			     "increasing points",
			     (long long)l.points,
			     (long long)c->limits[c->nlimits - 1].points,
			     c->limits[c->nlimits - 1].line);
	if (c->nlimits == SCORECARD_LIMITS_MAX)
		return failf(p, line, 1, "limit", "more than %d limits",
			     SCORECARD_LIMITS_MAX);
	c->limits[c->nlimits++] = l;
	return SENIM_OK;
}

/* A [card] key. */
static enum senim_result card_line(struct parser *p, unsigned line, const char *k,
				   size_t klen, const char *v, size_t vlen)
{
	int key = -1;
	for (int i = 0; i < K__COUNT; i++)
		if (strlen(card_keys[i].key) == klen &&
		    memcmp(card_keys[i].key, k, klen) == 0)
			key = i;
	if (key < 0) {
		if (textconf_plain_name(k, klen))
			return failf(p, line, 1, NULL, "unknown key '%.*s'", (int)klen,
				     k);
		return failf(p, line, 1, NULL, "unknown key");
	}
	const char *name = card_keys[key].key;
	if (p->key_line[key])
		return failf(p, line, 1, name, "given twice (first at line %u)",
			     p->key_line[key]);
	p->key_line[key] = line;
	struct scorecard *c = p->c;
	if (key == K_ID) {
		if (!textconf_plain_name(v, vlen))
			return failf(p, line, 1, name, "1-32 of a-z, 0-9 and _");
		memcpy(c->id, v, vlen);
		c->id[vlen] = '\0';
		return SENIM_OK;
	}
	if (key == K_FROM) {
		if (!textconf_date(v, vlen, &c->from))
			return failf(p, line, 1, name, "not a date YYYY-MM-DD");
		memcpy(c->from_text, v, 10);
		c->from_text[10] = '\0';
		return SENIM_OK;
	}
	int64_t *dst[K__COUNT] = {
		[K_VERSION] = &c->version,
		[K_APPROVE] = &c->approve,
		[K_REFER] = &c->refer,
		[K_MIN_AGE] = &c->min_age,
		[K_MAX_AGE] = &c->max_age,
		[K_MAX_OVERDUE] = &c->max_bureau_overdue_days,
		[K_MAX_BURDEN] = &c->max_debt_burden_bp,
	};
	if (!textconf_number(v, vlen, card_keys[key].min, card_keys[key].max, dst[key]))
		return failf(p, line, 1, name, "a whole number from %lld to %lld",
			     (long long)card_keys[key].min,
			     (long long)card_keys[key].max);
	return SENIM_OK;
}

/* A `key = value` line, trimmed; `eq` is the offset of '='. */
static enum senim_result key_value(struct parser *p, unsigned line, const char *s,
				   size_t len, size_t eq)
{
	if (p->sec == SEC_NONE)
		return failf(p, line, 0, NULL, "a key outside a section");
	const char *k = s;
	size_t klen = eq;
	while (klen && textconf_is_space(k[klen - 1]))
		klen--;
	const char *v = s + eq + 1;
	size_t vlen = len - eq - 1;
	trim(&v, &vlen);
	if (p->sec == SEC_CARD)
		return card_line(p, line, k, klen, v, vlen);
	const char *want = p->sec == SEC_ATTR ? "band" : "limit";
	int is_missing = p->sec == SEC_ATTR && klen == 7 && memcmp(k, "missing", 7) == 0;
	if (!is_missing && !(strlen(want) == klen && memcmp(want, k, klen) == 0)) {
		if (textconf_plain_name(k, klen))
			return failf(p, line, 1, NULL, "unknown key '%.*s'", (int)klen,
				     k);
		return failf(p, line, 1, NULL, "unknown key");
	}
	if (is_missing)
		return missing_line(p, line, v, vlen);
	if (p->sec == SEC_ATTR)
		return band_line(p, line, v, vlen);
	return limit_line(p, line, v, vlen);
}

/* One raw line (no LF): length, encoding, then what kind of line it is. */
static enum senim_result one_line(struct parser *p, unsigned line, const char *s,
				  size_t len)
{
	if (len && s[len - 1] == '\r')
		len--;
	if (len > SCORECARD_LINE_MAX)
		return failf(p, line, 0, NULL, "longer than %d bytes",
			     SCORECARD_LINE_MAX);
	if (!utf8_valid(s, len))
		return failf(p, line, 0, NULL, "not UTF-8");
	if (textconf_has_control(s, len))
		return failf(p, line, 0, NULL, "a control character");
	trim(&s, &len);
	if (len == 0 || s[0] == '#')
		return SENIM_OK;
	if (s[0] == '[')
		return header(p, line, s, len);
	const char *eq = memchr(s, '=', len);
	if (!eq || eq == s)
		return failf(p, line, 0, NULL,
			     "neither a section, a comment nor key = value");
	return key_value(p, line, s, len, (size_t)(eq - s));
}

static int each_line(void *p, unsigned line, const char *s, size_t len)
{
	return (int)one_line(p, line, s, len);
}

/* After the last line: every section there, and the limits reach down to
 * the refer cut-off so that every approval and referral has a limit. */
static enum senim_result check_whole(struct parser *p, unsigned after)
{
	if (!p->card_line)
		return failf(p, after, 0, NULL, "no [card] in the file");
	for (int a = 0; a < SCORE_ATTR__COUNT; a++)
		if (!p->c->attr[a].line)
			return failf(p, after, 0, NULL, "no [attribute %s] in the file",
				     attr_defs[a].name);
	if (!p->limits_line)
		return failf(p, after, 0, NULL, "no [limits] in the file");
	const struct score_limit *first = &p->c->limits[0];
	if (first->points > p->c->refer)
		return failf(p, first->line, 0, NULL,
			     "[limits] limit: the first starts at %lld, above the refer "
			     "cut-off %lld: a total from %lld would have no limit",
			     (long long)first->points, (long long)p->c->refer,
			     (long long)p->c->refer);
	return SENIM_OK;
}

enum senim_result scorecard_parse(const char *name, const char *text, size_t len,
				  struct scorecard **out, char *err, size_t errlen)
{
	*out = NULL;
	if (errlen)
		err[0] = '\0';
	struct parser p = { .file = name, .err = err, .errlen = errlen };
	if (len > SCORECARD_FILE_MAX)
		return failf(&p, 1, 0, NULL, "the file is longer than %d bytes",
			     SCORECARD_FILE_MAX);
	p.c = calloc(1, sizeof(*p.c));
	if (!p.c)
		return SENIM_ERR_NOMEM;
	unsigned line = 1;
	enum senim_result rc =
		(enum senim_result)textconf_each_line(text, len, each_line, &p, &line);
	if (rc)
		goto fail;
	rc = close_section(&p);
	if (rc)
		goto fail;
	rc = check_whole(&p, line);
	if (rc)
		goto fail;
	/* The card's name in a stored decision: the exact bytes it came from. */
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, (const unsigned char *)text, len);
	sodium_bin2hex(p.c->digest, sizeof(p.c->digest), h, sizeof(h));
	*out = p.c;
	return SENIM_OK;
fail:
	free(p.c);
	return rc;
}

void scorecard_free(struct scorecard *c)
{
	free(c);
}

/* ---- evaluation ------------------------------------------------------------- */

int64_t score_age_years(int32_t birth, int32_t on)
{
	if (birth > on)
		return -1;
	int by, bm, bd, y, m, d;
	textconf_civil_from_days(birth, &by, &bm, &bd);
	textconf_civil_from_days(on, &y, &m, &d);
	/* Not yet had this year's birthday: one year less.  A 29 February
	 * birthday is reached on 1 March of a common year. */
	int64_t age = y - by;
	if (m < bm || (m == bm && d < bd))
		age--;
	return age;
}

int64_t score_debt_burden_bp(int64_t payments_tiyn, int64_t income_tiyn)
{
	if (income_tiyn <= 0 || payments_tiyn < 0 || payments_tiyn > SCORE_MONEY_MAX)
		return SCORE_DEBT_BURDEN_CAP_BP;
	/* Up, so that a burden of 50.001% is above a 5000 bp limit. */
	int64_t bp = (payments_tiyn * 10000 + income_tiyn - 1) / income_tiyn;
	return bp > SCORE_DEBT_BURDEN_CAP_BP ? SCORE_DEBT_BURDEN_CAP_BP : bp;
}

int scorecard_uses_income(const struct scorecard *c)
{
	const struct score_attribute_rule *r = &c->attr[SCORE_ATTR_DEBT_BURDEN];
	if (c->max_debt_burden_bp < SCORE_DEBT_BURDEN_CAP_BP)
		return 1;
	if (r->missing != SCORE_MISSING_POINTS)
		return 1;
	for (size_t i = 0; i < r->nbands; i++)
		if (r->bands[i].points != r->missing_points)
			return 1;
	return 0;
}

__attribute__((format(printf, 3, 4))) static enum senim_result
invalid(char *err, size_t errlen, const char *fmt, ...)
{
	if (errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return SENIM_ERR_INVALID;
}

/* Append r to the reasons unless it is there already or the list is full. */
static void add_reason(struct score_result *out, enum score_reason r)
{
	if (r == SCORE_REASON_NONE || out->nreasons == SCORE_REASONS_MAX)
		return;
	for (size_t i = 0; i < out->nreasons; i++)
		if (out->reasons[i] == r)
			return;
	out->reasons[out->nreasons++] = r;
}

/* The limit of the total: the one with the largest points not above it
 * (the file guarantees one from the refer cut-off up). */
static void limit(const struct scorecard *c, struct score_result *out)
{
	for (size_t i = 0; i < c->nlimits; i++)
		if (c->limits[i].points <= out->total) {
			out->amount_limit_tiyn = c->limits[i].amount_tiyn;
			out->term_limit_days = c->limits[i].term_days;
		}
}

/*
 * The reasons of bands and of missing lines with points, by the points
 * they cost against the attribute's best band, most first; ties keep
 * attribute order (a stable selection, not a sort, over 8 attributes).
 * A reason that costs nothing is not told.
 */
static void add_costly_reasons(const struct scorecard *c, struct score_result *out)
{
	int lost[SCORE_ATTR__COUNT], done[SCORE_ATTR__COUNT] = { 0 };
	for (int a = 0; a < SCORE_ATTR__COUNT; a++) {
		const struct score_attribute_result *v = &out->attr[a];
		int told = v->reason != SCORE_REASON_NONE &&
			   (!v->missing || c->attr[a].missing == SCORE_MISSING_POINTS);
		lost[a] = told ? c->attr[a].best_points - v->points : 0;
	}
	for (;;) {
		int pick = -1;
		for (int a = 0; a < SCORE_ATTR__COUNT; a++)
			if (!done[a] && lost[a] > 0 && (pick < 0 || lost[a] > lost[pick]))
				pick = a;
		if (pick < 0)
			return;
		done[pick] = 1;
		add_reason(out, out->attr[pick].reason);
	}
}

/* Band each attribute: the value and whether it is known. */
static void values(const struct score_inputs *in, int64_t age,
		   struct score_attribute_result *v)
{
	int bureau = !(in->missing & SCORE_IN_BUREAU);
	v[SCORE_ATTR_BUREAU_OVERDUE].missing = !bureau;
	v[SCORE_ATTR_BUREAU_OVERDUE].value = in->bureau_overdue_days;
	v[SCORE_ATTR_ACTIVE_LOANS].missing = !bureau;
	v[SCORE_ATTR_ACTIVE_LOANS].value = in->active_loans;
	/* A burden needs both sides: the bureau's payments and the income. */
	v[SCORE_ATTR_DEBT_BURDEN].missing = !bureau || (in->missing & SCORE_IN_INCOME);
	v[SCORE_ATTR_DEBT_BURDEN].value =
		score_debt_burden_bp(in->debt_payments_tiyn, in->income_tiyn);
	v[SCORE_ATTR_ENQUIRIES].missing = !bureau;
	v[SCORE_ATTR_ENQUIRIES].value = in->enquiries_30d;
	v[SCORE_ATTR_OPERATOR_SCORE].missing = !!(in->missing & SCORE_IN_OPERATOR_SCORE);
	v[SCORE_ATTR_OPERATOR_SCORE].value = in->operator_score;
	v[SCORE_ATTR_AGE].value = age;
	v[SCORE_ATTR_LENDER_REPAID].value = in->lender_loans_repaid;
	v[SCORE_ATTR_LENDER_OVERDUE].missing = !!(in->missing & SCORE_IN_LENDER_HISTORY);
	v[SCORE_ATTR_LENDER_OVERDUE].value = in->lender_overdue_days;
	for (int a = 0; a < SCORE_ATTR__COUNT; a++)
		if (v[a].missing)
			v[a].value = 0;
}

/* The inputs' ranges; a missing input's fields are not looked at. */
static enum senim_result check_inputs(const struct score_inputs *in, char *err,
				      size_t errlen)
{
	static const struct {
		const char *name;
		unsigned missing_bit;
		size_t off;
		int64_t max;
	} f[] = {
		{ "bureau_overdue_days", SCORE_IN_BUREAU,
		  offsetof(struct score_inputs, bureau_overdue_days), SCORE_COUNT_MAX },
		{ "active_loans", SCORE_IN_BUREAU,
		  offsetof(struct score_inputs, active_loans), SCORE_COUNT_MAX },
		{ "debt_payments", SCORE_IN_BUREAU,
		  offsetof(struct score_inputs, debt_payments_tiyn), SCORE_MONEY_MAX },
		{ "enquiries_30d", SCORE_IN_BUREAU,
		  offsetof(struct score_inputs, enquiries_30d), SCORE_COUNT_MAX },
		{ "income", SCORE_IN_INCOME, offsetof(struct score_inputs, income_tiyn),
		  SCORE_MONEY_MAX },
		{ "operator_score", SCORE_IN_OPERATOR_SCORE,
		  offsetof(struct score_inputs, operator_score), SCORE_OPERATOR_MAX },
		{ "lender_loans_repaid", 0,
		  offsetof(struct score_inputs, lender_loans_repaid), SCORE_COUNT_MAX },
		{ "lender_overdue_days", SCORE_IN_LENDER_HISTORY,
		  offsetof(struct score_inputs, lender_overdue_days), SCORE_COUNT_MAX },
	};
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		if (in->missing & f[i].missing_bit)
			continue;
		int64_t v;
		memcpy(&v, (const char *)in + f[i].off, sizeof(v));
		if (v < 0 || v > f[i].max)
			return invalid(err, errlen, "%s: a whole number from 0 to %lld",
				       f[i].name, (long long)f[i].max);
	}
	return SENIM_OK;
}

enum senim_result scorecard_evaluate(const struct scorecard *c,
				     const struct score_inputs *in,
				     struct score_result *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (errlen)
		err[0] = '\0';
	memcpy(out->card_id, c->id, sizeof(out->card_id));
	out->card_version = c->version;
	memcpy(out->card_digest, c->digest, sizeof(out->card_digest));
	int32_t on, birth;
	if (!textconf_date(in->decision_date, strnlen(in->decision_date, 11), &on))
		return invalid(err, errlen, "date: not a date YYYY-MM-DD");
	if (!textconf_date(in->birth_date, strnlen(in->birth_date, 11), &birth))
		return invalid(err, errlen, "birth_date: not a date YYYY-MM-DD");
	if (on < c->from)
		return invalid(err, errlen, "date: the card %s is in force from %s",
			       c->id, c->from_text);
	int64_t age = score_age_years(birth, on);
	if (age < 0)
		return invalid(err, errlen, "birth_date: after the decision date");
	enum senim_result rc = check_inputs(in, err, errlen);
	if (rc)
		return rc;
	memcpy(out->decision_date, in->decision_date, 10);

	struct score_attribute_result *v = out->attr;
	values(in, age, v);
	int missing_decline = 0, missing_refer = 0;
	for (int a = 0; a < SCORE_ATTR__COUNT; a++) {
		const struct score_attribute_rule *r = &c->attr[a];
		v[a].band = -1;
		if (v[a].missing) {
			v[a].reason = r->missing_reason;
			if (r->missing == SCORE_MISSING_POINTS)
				v[a].points = r->missing_points;
			missing_decline |= r->missing == SCORE_MISSING_DECLINE;
			missing_refer |= r->missing == SCORE_MISSING_REFER;
		} else {
			/* The bands cover 0..max without gaps: one matches. */
			for (size_t b = 0; b < r->nbands; b++)
				if (v[a].value >= r->bands[b].lo &&
				    v[a].value <= r->bands[b].hi)
					v[a].band = (int)b;
			if (v[a].band >= 0) {
				v[a].points = r->bands[v[a].band].points;
				v[a].reason = r->bands[v[a].band].reason;
			}
		}
		out->total += v[a].points;
	}

	/* Hard rules, whatever the points.  A missing input is no evidence
	 * either way: its own `missing` line decides. */
	enum score_reason hard[4];
	size_t nhard = 0;
	if (age < c->min_age)
		hard[nhard++] = SCORE_REASON_AGE_BELOW_MINIMUM;
	if (age > c->max_age)
		hard[nhard++] = SCORE_REASON_AGE_ABOVE_MAXIMUM;
	if (!v[SCORE_ATTR_BUREAU_OVERDUE].missing &&
	    v[SCORE_ATTR_BUREAU_OVERDUE].value > c->max_bureau_overdue_days)
		hard[nhard++] = SCORE_REASON_BUREAU_OVERDUE_OVER_LIMIT;
	if (!v[SCORE_ATTR_DEBT_BURDEN].missing &&
	    v[SCORE_ATTR_DEBT_BURDEN].value > c->max_debt_burden_bp)
		hard[nhard++] = SCORE_REASON_DEBT_BURDEN_OVER_LIMIT;
	out->hard_decline = nhard > 0;

	enum score_reason by_points = SCORE_REASON_NONE;
	if (nhard || missing_decline) {
		out->decision = SCORE_DECLINE;
	} else if (out->total < c->refer) {
		out->decision = SCORE_DECLINE;
		by_points = SCORE_REASON_SCORE_BELOW_REFER;
	} else if (missing_refer) {
		out->decision = SCORE_REFER;
	} else if (out->total < c->approve) {
		out->decision = SCORE_REFER;
		by_points = SCORE_REASON_SCORE_BELOW_APPROVE;
	} else {
		out->decision = SCORE_APPROVE;
	}

	if (out->decision == SCORE_APPROVE) {
		limit(c, out);
		return SENIM_OK;
	}
	for (size_t i = 0; i < nhard; i++)
		add_reason(out, hard[i]);
	for (int a = 0; a < SCORE_ATTR__COUNT; a++)
		if (v[a].missing && c->attr[a].missing != SCORE_MISSING_POINTS)
			add_reason(out, v[a].reason);
	add_reason(out, by_points);
	add_costly_reasons(c, out);
	if (out->decision == SCORE_REFER)
		limit(c, out);
	return SENIM_OK;
}
