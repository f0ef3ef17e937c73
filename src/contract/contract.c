/*
 * contract.c — the terms, the formatting of money, dates and rates, the
 * template and its HTML rendering.  The PDF layout is contract_pdf.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "contract/contract.h"
#include "contract/internal.h"
#include "common/utf8.h"
#include "common/banned.h"

/* ---- the terms ---------------------------------------------------------------- */

struct contract_terms *contract_terms_new(void)
{
	if (sodium_init() < 0)
		return NULL;
	struct contract_terms *t = sodium_malloc(sizeof(*t));
	if (t)
		sodium_memzero(t, sizeof(*t));
	return t;
}

void contract_terms_free(struct contract_terms *t)
{
	if (!t)
		return;
	sodium_memzero(t, sizeof(*t));
	sodium_free(t);
}

enum senim_result contract_set_text(char field[CONTRACT_TEXT_MAX], const char *value)
{
	size_t len = strlen(value);
	if (len >= CONTRACT_TEXT_MAX) {
		field[0] = '\0';
		return SENIM_ERR_TOO_LARGE;
	}
	memcpy(field, value, len + 1);
	return SENIM_OK;
}

/* 1 when the field holds a NUL-terminated, non-empty UTF-8 line. */
static int text_ok(const char field[CONTRACT_TEXT_MAX])
{
	const char *end = memchr(field, '\0', CONTRACT_TEXT_MAX);
	if (!end || end == field)
		return 0;
	size_t len = (size_t)(end - field);
	return utf8_valid(field, len) && !utf8_has_control(field, len, 0);
}

enum senim_result contract_terms_check(const struct contract_terms *t, const char **field)
{
	static const char *const none = "";
	*field = none;
#define BAD(name)                         \
	do {                              \
		*field = name;            \
		return SENIM_ERR_INVALID; \
	} while (0)
	if (!text_ok(t->number))
		BAD("number");
	if (t->date < schedule_day(1900, 1, 1) || t->date > schedule_day(2200, 12, 31))
		BAD("date");
	if (!text_ok(t->lender_name))
		BAD("lender_name");
	if (!text_ok(t->lender_details))
		BAD("lender_details");
	if (!text_ok(t->borrower_name))
		BAD("borrower_name");
	if (strnlen(t->borrower_iin, CONTRACT_TEXT_MAX) != 12 ||
	    strspn(t->borrower_iin, "0123456789") != 12)
		BAD("borrower_iin");
	if (!text_ok(t->borrower_address))
		BAD("borrower_address");
	if (!text_ok(t->payout_masked))
		BAD("payout_masked");
	if (t->amount < 1 || t->amount > SCHEDULE_MAX_PRINCIPAL)
		BAD("amount");
	if (t->rate_bp < 0 || t->rate_bp > SCHEDULE_MAX_RATE_BP)
		BAD("rate_bp");
	if (t->fee < 0 || t->fee > SCHEDULE_MAX_PRINCIPAL)
		BAD("fee");
	/* The ГЭСВ is rounded to 0.1 % (core/gesv.h): printed as it is. */
	if (t->gesv_bp < 0 || t->gesv_bp > INT64_C(1000000000000000000) ||
	    t->gesv_bp % 10)
		BAD("gesv_bp");
	if (t->penalty_daily_bp < 0 || t->penalty_daily_bp > 1000000)
		BAD("penalty_daily_bp");
	if (t->penalty_annual_bp < 0 || t->penalty_annual_bp > 1000000)
		BAD("penalty_annual_bp");
	if (t->cooloff_minutes < 0 || t->cooloff_minutes > 1000000)
		BAD("cooloff_minutes");
	if (t->restructuring_days < 0 || t->restructuring_days > 3660)
		BAD("restructuring_days");
	switch (t->method) {
	case SCHEDULE_ANNUITY:
	case SCHEDULE_DIFFERENTIATED:
		if (t->term < 1 || t->term > SCHEDULE_MAX_PAYMENTS ||
		    t->n_rows != (size_t)t->term)
			BAD("term");
		break;
	case SCHEDULE_SINGLE:
		if (t->term < 1 || t->term > SCHEDULE_MAX_DAYS || t->n_rows != 1)
			BAD("term");
		break;
	default:
		BAD("method");
	}
	/* Every row printed must add up: the principal parts to the amount,
	 * each payment to its parts, the balance down to 0, dates rising. */
	int64_t sum = 0;
	int32_t prev = t->date;
	for (size_t i = 0; i < t->n_rows; i++) {
		const struct schedule_row *r = &t->rows[i];
		if (r->principal < 0 || r->interest < 0 || r->balance < 0 ||
		    r->principal > SCHEDULE_MAX_PRINCIPAL ||
		    r->interest > GESV_LIKE_MAX ||
		    r->total != r->principal + r->interest || r->due <= prev)
			BAD("rows");
		sum += r->principal;
		if (sum > t->amount || r->balance != t->amount - sum)
			BAD("rows");
		prev = r->due;
	}
	if (sum != t->amount)
		BAD("rows");
#undef BAD
	return SENIM_OK;
}

/* ---- formatting --------------------------------------------------------------- */

#define NBSP "\xc2\xa0"

/* Append the digits of v >= 0 in groups of three separated by U+00A0. */
static enum senim_result add_grouped(struct buf *out, uint64_t v)
{
	char digits[24];
	int n = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)v);
	enum senim_result err = SENIM_OK;
	for (int i = 0; i < n && !err; i++) {
		if (i > 0 && (n - i) % 3 == 0)
			err = buf_addstr(out, NBSP);
		if (!err)
			err = buf_addch(out, digits[i]);
	}
	return err;
}

enum senim_result contract_format_money(struct buf *out, int64_t tiyn)
{
	/* The magnitude as unsigned, so INT64_MIN has one too. */
	uint64_t mag = tiyn < 0 ? (uint64_t)0 - (uint64_t)tiyn : (uint64_t)tiyn;
	enum senim_result err = SENIM_OK;
	if (tiyn < 0)
		err = buf_addch(out, '-');
	if (!err)
		err = add_grouped(out, mag / 100);
	if (!err)
		err = buf_addf(out, ",%02u" NBSP "\xe2\x82\xb8", (unsigned)(mag % 100));
	return err;
}

enum senim_result contract_format_date(struct buf *out, int32_t day)
{
	int y, m, d;
	schedule_ymd(day, &y, &m, &d);
	return buf_addf(out, "%02d.%02d.%04d", d, m, y);
}

enum senim_result contract_format_rate(struct buf *out, int64_t bp, int decimals)
{
	static const int64_t unit[] = { 100, 10, 1 };
	if (decimals < 0 || decimals > 2 || bp % unit[decimals])
		return SENIM_ERR_INVALID;
	uint64_t mag = bp < 0 ? (uint64_t)0 - (uint64_t)bp : (uint64_t)bp;
	enum senim_result err = SENIM_OK;
	if (bp < 0)
		err = buf_addch(out, '-');
	if (!err)
		err = buf_addf(out, "%llu", (unsigned long long)(mag / 100));
	if (!err && decimals > 0)
		err = buf_addf(
			out, ",%0*llu", decimals,
			(unsigned long long)(mag % 100 / (uint64_t)unit[decimals]));
	if (!err)
		err = buf_addstr(out, NBSP "%");
	return err;
}

void contract_sha256(const void *data, size_t len, unsigned char *out)
{
	crypto_hash_sha256(out, data, len);
}

/* The Russian plural form of n: one (1, 21), few (2-4, 22-24), many. */
static const char *ru_plural(int64_t n, const char *one, const char *few,
			     const char *many)
{
	int64_t d = n % 10, h = n % 100;
	if (d == 1 && h != 11)
		return one;
	if (d >= 2 && d <= 4 && (h < 12 || h > 14))
		return few;
	return many;
}

/* ---- placeholders ------------------------------------------------------------- */

static const char *const ph_names[PH__COUNT + 1] = {
	[PH_CONTRACT_NUMBER] = "contract_number",
	[PH_CONTRACT_DATE] = "contract_date",
	[PH_LENDER_NAME] = "lender_name",
	[PH_LENDER_DETAILS] = "lender_details",
	[PH_BORROWER_NAME] = "borrower_name",
	[PH_BORROWER_IIN] = "borrower_iin",
	[PH_BORROWER_ADDRESS] = "borrower_address",
	[PH_AMOUNT] = "amount",
	[PH_FEE] = "fee",
	[PH_RATE] = "rate",
	[PH_GESV] = "gesv",
	[PH_PENALTY_DAILY] = "penalty_daily",
	[PH_PENALTY_ANNUAL] = "penalty_annual",
	[PH_TERM_RU] = "term_ru",
	[PH_TERM_KK] = "term_kk",
	[PH_METHOD_RU] = "method_ru",
	[PH_METHOD_KK] = "method_kk",
	[PH_TOTAL_INTEREST] = "total_interest",
	[PH_TOTAL_TO_PAY] = "total_to_pay",
	[PH_PAYOUT_DESTINATION] = "payout_destination",
	[PH_COOLOFF_RU] = "cooloff_ru",
	[PH_COOLOFF_KK] = "cooloff_kk",
	[PH_RESTRUCTURING_RU] = "restructuring_ru",
	[PH_RESTRUCTURING_KK] = "restructuring_kk",
	[PH_SCHEDULE_RU] = "schedule_ru",
	[PH_SCHEDULE_KK] = "schedule_kk",
	[PH__COUNT] = NULL,
};

/* What no contract may lack: who, how much, at what price, when. */
static const enum placeholder ph_required[] = {
	PH_CONTRACT_NUMBER, PH_CONTRACT_DATE, PH_LENDER_NAME, PH_BORROWER_NAME,
	PH_BORROWER_IIN,    PH_AMOUNT,	      PH_RATE,	      PH_GESV,
	PH_SCHEDULE_RU,	    PH_SCHEDULE_KK,
};

const char *const *contract_placeholders(void)
{
	return ph_names;
}

static const char *method_ru[] = {
	[SCHEDULE_ANNUITY] = "аннуитетными (равными) платежами",
	[SCHEDULE_DIFFERENTIATED] = "дифференцированными платежами",
	[SCHEDULE_SINGLE] = "одним платежом в конце срока",
};
static const char *method_kk[] = {
	[SCHEDULE_ANNUITY] = "аннуитеттік (тең) төлемдермен",
	[SCHEDULE_DIFFERENTIATED] = "сараланған төлемдермен",
	[SCHEDULE_SINGLE] = "мерзім соңында бір төлеммен",
};

/* The text of placeholder p (not a schedule) for checked terms t, appended
 * raw (unescaped) to out. */
static enum senim_result value_of(const struct contract_terms *t, enum placeholder p,
				  struct buf *out)
{
	int64_t interest = 0, paid = 0;
	for (size_t i = 0; i < t->n_rows; i++) {
		interest += t->rows[i].interest;
		paid += t->rows[i].total;
	}
	int single = t->method == SCHEDULE_SINGLE;
	int64_t cool = t->cooloff_minutes, hours = cool / 60, rd = t->restructuring_days;
	switch (p) {
	case PH_CONTRACT_NUMBER:
		return buf_addstr(out, t->number);
	case PH_CONTRACT_DATE:
		return contract_format_date(out, t->date);
	case PH_LENDER_NAME:
		return buf_addstr(out, t->lender_name);
	case PH_LENDER_DETAILS:
		return buf_addstr(out, t->lender_details);
	case PH_BORROWER_NAME:
		return buf_addstr(out, t->borrower_name);
	case PH_BORROWER_IIN:
		return buf_addstr(out, t->borrower_iin);
	case PH_BORROWER_ADDRESS:
		return buf_addstr(out, t->borrower_address);
	case PH_AMOUNT:
		return contract_format_money(out, t->amount);
	case PH_FEE:
		return contract_format_money(out, t->fee);
	case PH_RATE:
		return contract_format_rate(out, t->rate_bp, 2);
	case PH_GESV:
		return contract_format_rate(out, t->gesv_bp, 1);
	case PH_PENALTY_DAILY:
		return contract_format_rate(out, t->penalty_daily_bp, 2);
	case PH_PENALTY_ANNUAL:
		return contract_format_rate(out, t->penalty_annual_bp, 2);
	case PH_TERM_RU:
		/* "на срок 12 месяцев", "на срок 21 день" */
		return buf_addf(
			out, "%d %s", (int)t->term,
			single ? ru_plural(t->term, "день", "дня", "дней")
			       : ru_plural(t->term, "месяц", "месяца", "месяцев"));
	case PH_TERM_KK:
		/* Kazakh nouns do not change after a numeral: "12 ай мерзімге". */
		return buf_addf(out, "%d %s", (int)t->term, single ? "күн" : "ай");
	case PH_METHOD_RU:
		return buf_addstr(out, method_ru[t->method]);
	case PH_METHOD_KK:
		return buf_addstr(out, method_kk[t->method]);
	case PH_TOTAL_INTEREST:
		return contract_format_money(out, interest);
	case PH_TOTAL_TO_PAY:
		return contract_format_money(out, paid + t->fee);
	case PH_PAYOUT_DESTINATION:
		return buf_addstr(out, t->payout_masked);
	case PH_COOLOFF_RU:
		/* "не ранее чем через 24 часа", "через 90 минут" */
		if (cool % 60 == 0)
			return buf_addf(out, "%lld %s", (long long)hours,
					ru_plural(hours, "час", "часа", "часов"));
		return buf_addf(out, "%lld %s", (long long)cool,
				ru_plural(cool, "минуту", "минуты", "минут"));
	case PH_COOLOFF_KK:
		if (cool % 60 == 0)
			return buf_addf(out, "%lld сағат", (long long)hours);
		return buf_addf(out, "%lld минут", (long long)cool);
	case PH_RESTRUCTURING_RU:
		/* After "в течение": the genitive, singular only for 1, 21, 31... */
		return buf_addf(out, "%lld %s", (long long)rd,
				rd % 10 == 1 && rd % 100 != 11 ? "календарного дня"
							       : "календарных дней");
	case PH_RESTRUCTURING_KK:
		return buf_addf(out, "%lld күнтізбелік күн", (long long)rd);
	case PH_SCHEDULE_RU:
	case PH_SCHEDULE_KK:
	case PH__COUNT:
		break;
	}
	return SENIM_ERR_INVALID;
}

enum senim_result contract_values(const struct contract_terms *t,
				  struct buf values[PH__COUNT])
{
	enum senim_result err = SENIM_OK;
	for (int p = 0; p < PH__COUNT; p++)
		buf_init(&values[p], 4 * CONTRACT_TEXT_MAX);
	for (int p = 0; p < PH__COUNT && !err; p++) {
		if (p != PH_SCHEDULE_RU && p != PH_SCHEDULE_KK)
			err = value_of(t, (enum placeholder)p, &values[p]);
	}
	return err;
}

void contract_values_release(struct buf values[PH__COUNT])
{
	for (int p = 0; p < PH__COUNT; p++)
		buf_release_wiped(&values[p]);
}

/* ---- the schedule's labels ---------------------------------------------------- */

const struct contract_schedule_labels contract_schedule_labels[2] = {
	{ .col = { "№", "Дата платежа", "Основной долг", "Вознаграждение",
		   "Сумма платежа", "Остаток долга" },
	  .total = "Итого" },
	{ .col = { "№", "Төлем күні", "Негізгі борыш", "Сыйақы", "Төлем сомасы",
		   "Борыш қалдығы" },
	  .total = "Барлығы" },
};

/* ---- the template ------------------------------------------------------------- */

/* The tags a template may use and what the PDF layout makes of each. */
static const struct {
	const char *name;
	enum tag_kind kind;
} tags[] = {
	{ "html", TAG_CONTAINER },
	{ "body", TAG_CONTAINER },
	{ "main", TAG_CONTAINER },
	{ "section", TAG_CONTAINER },
	{ "article", TAG_CONTAINER },
	{ "header", TAG_CONTAINER },
	{ "footer", TAG_CONTAINER },
	{ "ul", TAG_CONTAINER },
	{ "ol", TAG_CONTAINER },
	{ "div", TAG_P },
	{ "p", TAG_P },
	{ "h1", TAG_H1 },
	{ "h2", TAG_H2 },
	{ "h3", TAG_H3 },
	{ "li", TAG_LI },
	{ "br", TAG_BR },
	{ "hr", TAG_HR },
	{ "strong", TAG_INLINE },
	{ "em", TAG_INLINE },
	{ "b", TAG_INLINE },
	{ "i", TAG_INLINE },
	{ "span", TAG_INLINE },
	{ "small", TAG_INLINE },
	{ "head", TAG_HEAD },
	{ "meta", TAG_IN_HEAD },
	{ "title", TAG_IN_HEAD },
	{ "style", TAG_STYLE },
};

/* The entities template text may use (values are escaped by the engine). */
static const struct {
	const char *name, *utf8;
} entities[] = {
	{ "&amp;", "&" },   { "&lt;", "<" },  { "&gt;", ">" },
	{ "&quot;", "\"" }, { "&#39;", "'" }, { "&nbsp;", NBSP },
};

/* The D8 clause, in each language, marked so that a template without it is
 * refused at load. */
static const char *const d8_markers[] = { "id=\"false-information-ru\"",
					  "id=\"false-information-kk\"" };

/* The first needle in hay[0..n), or NULL (memmem is a GNU extension). */
static const char *find(const char *hay, size_t n, const char *needle)
{
	size_t m = strlen(needle);
	for (size_t i = 0; m <= n && i <= n - m; i++)
		if (memcmp(hay + i, needle, m) == 0)
			return hay + i;
	return NULL;
}

struct parser {
	struct contract_template *tpl;
	const char *name, *text;
	size_t len;
	char *why;
	size_t why_cap;
};

static enum senim_result refuse(struct parser *ps, size_t at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static enum senim_result refuse(struct parser *ps, size_t at, const char *fmt, ...)
{
	unsigned line = 1;
	for (size_t i = 0; i < at && i < ps->len; i++)
		line += ps->text[i] == '\n';
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(ps->why, ps->why_cap, "%s:%u: %s", ps->name, line, msg);
	return SENIM_ERR_INVALID;
}

static enum senim_result push(struct parser *ps, struct token tk)
{
	struct contract_template *tpl = ps->tpl;
	if (tpl->n == tpl->cap) {
		size_t cap = tpl->cap ? tpl->cap * 2 : 256;
		struct token *p = realloc(tpl->tokens, cap * sizeof(*p));
		if (!p)
			return SENIM_ERR_NOMEM;
		tpl->tokens = p;
		tpl->cap = cap;
	}
	tpl->tokens[tpl->n++] = tk;
	return SENIM_OK;
}

static enum senim_result push_text(struct parser *ps, size_t from, size_t to)
{
	if (to == from)
		return SENIM_OK;
	return push(ps,
		    (struct token){ .kind = TOK_TEXT, .off = from, .len = to - from });
}

/* A tag at ps->text[at] ('<'): its token, or a refusal.  *end is past '>'. */
static enum senim_result parse_tag(struct parser *ps, size_t at, size_t *end,
				   struct token *tk)
{
	const char *s = ps->text;
	size_t i = at + 1;
	if (i + 3 <= ps->len && memcmp(s + at, "<!--", 4) == 0) {
		const char *close = find(s + at + 4, ps->len - at - 4, "-->");
		if (!close)
			return refuse(ps, at, "%s", "a comment that does not end");
		*end = (size_t)(close - s) + 3;
		*tk = (struct token){ .kind = TOK_RAW, .off = at, .len = *end - at };
		return SENIM_OK;
	}
	int closing = 0, declaration = 0;
	if (i < ps->len && s[i] == '/')
		closing = 1, i++;
	else if (i < ps->len && s[i] == '!')
		declaration = 1, i++;
	size_t name_at = i;
	while (i < ps->len &&
	       ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		(declaration && s[i] >= 'A' && s[i] <= 'Z')))
		i++;
	size_t name_len = i - name_at;
	for (; i < ps->len && s[i] != '>'; i++) {
		if (s[i] == '<')
			return refuse(ps, at, "%s", "a '<' inside a tag");
		if (s[i] == '{' && i + 1 < ps->len && s[i + 1] == '{')
			return refuse(
				ps, i, "%s",
				"a placeholder inside a tag (values go in text only)");
	}
	if (i >= ps->len)
		return refuse(ps, at, "%s", "a tag that does not end");
	*end = i + 1;
	if (declaration) {
		if (name_len != 7 || strncasecmp(s + name_at, "doctype", 7) != 0)
			return refuse(ps, at, "%s",
				      "a declaration other than <!DOCTYPE html>");
		*tk = (struct token){ .kind = TOK_RAW, .off = at, .len = *end - at };
		return SENIM_OK;
	}
	for (size_t k = 0; k < sizeof(tags) / sizeof(tags[0]); k++) {
		if (strlen(tags[k].name) == name_len &&
		    memcmp(tags[k].name, s + name_at, name_len) == 0) {
			*tk = (struct token){ .kind = closing ? TOK_CLOSE : TOK_OPEN,
					      .off = at,
					      .len = *end - at,
					      .tag = tags[k].kind };
			return SENIM_OK;
		}
	}
	char tag[32];
	snprintf(tag, sizeof(tag), "%.*s", (int)(name_len < 24 ? name_len : 24),
		 s + name_at);
	return refuse(ps, at, "the tag <%s> (the PDF layout does not know it)", tag);
}

/* A placeholder at ps->text[at] ("{{"). */
static enum senim_result parse_placeholder(struct parser *ps, size_t at, size_t *end,
					   struct token *tk)
{
	const char *s = ps->text;
	size_t i = at + 2, name_at = i;
	while (i < ps->len && ((s[i] >= 'a' && s[i] <= 'z') || s[i] == '_'))
		i++;
	if (i + 1 >= ps->len || s[i] != '}' || s[i + 1] != '}' || i == name_at)
		return refuse(ps, at, "%s",
			      "a malformed placeholder (write {{name}}, lower case)");
	for (int p = 0; p < PH__COUNT; p++) {
		if (strlen(ph_names[p]) == i - name_at &&
		    memcmp(ph_names[p], s + name_at, i - name_at) == 0) {
			*end = i + 2;
			*tk = (struct token){ .kind = TOK_PH,
					      .off = at,
					      .len = *end - at,
					      .ph = (enum placeholder)p };
			return SENIM_OK;
		}
	}
	char name[40];
	snprintf(name, sizeof(name), "%.*s", (int)(i - name_at < 32 ? i - name_at : 32),
		 s + name_at);
	return refuse(ps, at, "the unknown placeholder {{%s}}", name);
}

enum senim_result contract_template_parse(const char *name, const char *text, size_t len,
					  struct contract_template **out, char *why,
					  size_t why_cap)
{
	*out = NULL;
	if (why_cap)
		why[0] = '\0';
	if (len > CONTRACT_TEMPLATE_MAX) {
		snprintf(why, why_cap, "%s: longer than %d bytes", name,
			 CONTRACT_TEMPLATE_MAX);
		return SENIM_ERR_TOO_LARGE;
	}
	struct contract_template *tpl = calloc(1, sizeof(*tpl));
	if (!tpl)
		return SENIM_ERR_NOMEM;
	struct parser ps = { .tpl = tpl,
			     .name = name,
			     .text = text,
			     .len = len,
			     .why = why,
			     .why_cap = why_cap };
	enum senim_result err = SENIM_OK;
	int used[PH__COUNT] = { 0 };
	int head = 0, style = 0;
	if (!utf8_valid(text, len) || utf8_has_control(text, len, 1) ||
	    memchr(text, '\0', len)) {
		err = refuse(&ps, 0, "%s", "not UTF-8 text");
		goto fail;
	}
	tpl->text = malloc(len + 1);
	if (!tpl->text) {
		err = SENIM_ERR_NOMEM;
		goto fail;
	}
	memcpy(tpl->text, text, len);
	tpl->text[len] = '\0';
	tpl->len = len;
	size_t start = 0, i = 0;
	while (i < len && !err) {
		char c = text[i];
		struct token tk = { 0 };
		size_t end = i;
		if (c == '<' || (c == '{' && i + 1 < len && text[i + 1] == '{')) {
			err = push_text(&ps, start, i);
			if (!err)
				err = c == '<' ? parse_tag(&ps, i, &end, &tk)
					       : parse_placeholder(&ps, i, &end, &tk);
			if (err)
				break;
			if (tk.kind == TOK_OPEN || tk.kind == TOK_CLOSE) {
				int d = tk.kind == TOK_OPEN ? 1 : -1;
				if (tk.tag == TAG_HEAD)
					head += d;
				if (tk.tag == TAG_STYLE)
					style += d;
				if (head < 0 || head > 1 || style < 0 || style > 1) {
					err = refuse(&ps, i, "%s",
						     "<head> or <style> opened twice or "
						     "closed unopened");
					break;
				}
			}
			if ((tk.tag == TAG_IN_HEAD || tk.tag == TAG_STYLE) &&
			    tk.kind == TOK_OPEN && !head) {
				err = refuse(&ps, i, "%s",
					     "<meta>, <title> or <style> outside <head>");
				break;
			}
			if (tk.kind == TOK_PH) {
				if (style) {
					err = refuse(&ps, i, "%s",
						     "a placeholder inside <style>");
					break;
				}
				if (!head)
					used[tk.ph]++;
			}
			err = push(&ps, tk);
			start = i = end;
		} else if (c == '}' && i + 1 < len && text[i + 1] == '}') {
			err = refuse(&ps, i, "%s", "a '}}' that closes no placeholder");
		} else if (c == '&' && !style) {
			size_t k = 0, n = sizeof(entities) / sizeof(entities[0]);
			for (; k < n; k++) {
				size_t el = strlen(entities[k].name);
				if (i + el <= len &&
				    memcmp(text + i, entities[k].name, el) == 0)
					break;
			}
			if (k == n)
				err = refuse(&ps, i, "%s",
					     "an '&' that starts no known entity "
					     "(&amp; &lt; &gt; &quot; &#39; &nbsp;)");
			i++;
		} else {
			i++;
		}
	}
	if (!err)
		err = push_text(&ps, start, len);
	if (err)
		goto fail;
	if (head || style) {
		err = refuse(&ps, len, "%s", "<head> or <style> not closed");
		goto fail;
	}
	for (size_t k = 0; k < sizeof(ph_required) / sizeof(ph_required[0]); k++) {
		if (!used[ph_required[k]]) {
			err = refuse(&ps, len,
				     "the required placeholder {{%s}} is missing",
				     ph_names[ph_required[k]]);
			goto fail;
		}
	}
	for (size_t k = 0; k < sizeof(d8_markers) / sizeof(d8_markers[0]); k++) {
		if (!find(text, len, d8_markers[k])) {
			err = refuse(
				&ps, len,
				"the clause on false information (D8) is missing: no "
				"element with %s",
				d8_markers[k]);
			goto fail;
		}
	}
	*out = tpl;
	return SENIM_OK;
fail:
	contract_template_free(tpl);
	return err;
}

enum senim_result contract_template_load(const char *path, struct contract_template **out,
					 char *why, size_t why_cap)
{
	*out = NULL;
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(why, why_cap, "%s: cannot be read: %s", path, strerror(errno));
		return SENIM_ERR_IO;
	}
	/* One byte past the limit lets the parser say the file is too long. */
	char *text = malloc(CONTRACT_TEMPLATE_MAX + 1);
	if (!text) {
		fclose(f);
		return SENIM_ERR_NOMEM;
	}
	size_t len = fread(text, 1, CONTRACT_TEMPLATE_MAX + 1, f);
	int bad = ferror(f);
	fclose(f);
	enum senim_result err;
	if (bad) {
		snprintf(why, why_cap, "%s: cannot be read", path);
		err = SENIM_ERR_IO;
	} else {
		err = contract_template_parse(path, text, len, out, why, why_cap);
	}
	free(text);
	return err;
}

void contract_template_free(struct contract_template *tpl)
{
	if (!tpl)
		return;
	free(tpl->tokens);
	free(tpl->text);
	free(tpl);
}

/* ---- HTML --------------------------------------------------------------------- */

/* A table cell: <td> or <td class="num"> around the escaped text of cell. */
static enum senim_result add_cell(struct buf *out, struct buf *cell, int num)
{
	enum senim_result err = buf_addstr(out, num ? "<td class=\"num\">" : "<td>");
	if (!err)
		err = buf_add_html(out, cell->data, cell->len);
	if (!err)
		err = buf_addstr(out, "</td>");
	buf_reset(cell);
	return err;
}

static enum senim_result add_schedule_html(struct buf *out,
					   const struct contract_terms *t, int lang)
{
	const struct contract_schedule_labels *l = &contract_schedule_labels[lang];
	struct buf cell;
	buf_init(&cell, 256);
	enum senim_result err =
		buf_addstr(out, "<table class=\"schedule\">\n<thead><tr>");
	for (int c = 0; c < CONTRACT_SCHEDULE_COLS && !err; c++) {
		err = buf_addstr(out, "<th>");
		if (!err)
			err = buf_add_html(out, l->col[c], strlen(l->col[c]));
		if (!err)
			err = buf_addstr(out, "</th>");
	}
	if (!err)
		err = buf_addstr(out, "</tr></thead>\n<tbody>\n");
	int64_t sum[3] = { 0, 0, 0 };
	for (size_t i = 0; i < t->n_rows && !err; i++) {
		const struct schedule_row *r = &t->rows[i];
		sum[0] += r->principal, sum[1] += r->interest, sum[2] += r->total;
		err = buf_addstr(out, "<tr>");
		if (!err)
			err = buf_addf(&cell, "%zu", i + 1);
		if (!err)
			err = add_cell(out, &cell, 1);
		if (!err)
			err = contract_format_date(&cell, r->due);
		if (!err)
			err = add_cell(out, &cell, 0);
		const int64_t amounts[] = { r->principal, r->interest, r->total,
					    r->balance };
		for (int k = 0; k < 4 && !err; k++) {
			err = contract_format_money(&cell, amounts[k]);
			if (!err)
				err = add_cell(out, &cell, 1);
		}
		if (!err)
			err = buf_addstr(out, "</tr>\n");
	}
	if (!err)
		err = buf_addstr(out, "<tr class=\"total\"><td></td><td>");
	if (!err)
		err = buf_add_html(out, l->total, strlen(l->total));
	if (!err)
		err = buf_addstr(out, "</td>");
	for (int k = 0; k < 3 && !err; k++) {
		err = contract_format_money(&cell, sum[k]);
		if (!err)
			err = add_cell(out, &cell, 1);
	}
	if (!err)
		err = buf_addstr(out, "<td></td></tr>\n</tbody>\n</table>");
	buf_release_wiped(&cell);
	return err;
}

enum senim_result contract_render_html(const struct contract_template *tpl,
				       const struct contract_terms *t, struct buf *out,
				       unsigned char *sha256)
{
	const char *field;
	enum senim_result err = contract_terms_check(t, &field);
	if (err)
		return err;
	size_t mark = out->len;
	struct buf values[PH__COUNT];
	err = contract_values(t, values);
	for (size_t k = 0; k < tpl->n && !err; k++) {
		const struct token *tk = &tpl->tokens[k];
		if (tk->kind != TOK_PH)
			err = buf_add(out, tpl->text + tk->off, tk->len);
		else if (tk->ph == PH_SCHEDULE_RU || tk->ph == PH_SCHEDULE_KK)
			err = add_schedule_html(out, t, tk->ph == PH_SCHEDULE_KK);
		else
			err = buf_add_html(out, values[tk->ph].data, values[tk->ph].len);
	}
	contract_values_release(values);
	if (err)
		goto fail;
	if (sha256)
		contract_sha256(out->data + mark, out->len - mark, sha256);
	return SENIM_OK;
fail:
	/* Leave `out` as it came, without the personal data written so far. */
	if (out->cap) {
		sodium_memzero(out->data + mark, out->len - mark);
		out->len = mark;
		out->data[mark] = '\0';
	}
	return err;
}
