/*
 * disclosures.c — the disclosure register's routes (T4, T6, S4).
 *
 *   GET /v1/me/disclosures?cursor=&limit=          the borrower's own (R1)
 *   GET /v1/disclosures?subject=&recipient=&direction=&outcome=&cross_border=
 *                       &from=&to=&cursor=&limit=&format=   (dpo, auditor)
 *
 * Both read the register (exchange/register.h) newest first, a page at a
 * time, and are answered once their listing's audit record is durable
 * (disclosure.self_list, disclosure.list): the answer is built in the read,
 * held in the op's context, and sent only when the record's write returned
 * SENIM_OK.  The staff list also exports CSV (RFC 4180) of every entry of
 * the filters, up to REGISTER_EXPORT_MAX rows.
 *
 * A recipient is named as the recipients file loaded at start says, and
 * one that has left the file as its snapshot from the time of the entry
 * says.  The borrower reads names and titles in Russian or Kazakh; English
 * gets Russian, as the policy itself does (it is published in those two).
 */
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/app.h"
#include "api/refusal.h"
#include "audit/audit.h"
#include "common/clock.h"
#include "core/recipients.h"
#include "exchange/register.h"
#include "http/http.h"
#include "rights/package.h"
#include "common/banned.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
/* The CSV of REGISTER_EXPORT_MAX rows of ids and codes stays well under it. */
#define EXPORT_BYTES_MAX ((size_t)256 << 20)

/* ---- titles, ru and kk ----------------------------------------------------------------- */

struct title {
	const char *code;
	const char *ru, *kk;
};

static const struct title purpose_titles[] = {
	{ "loan_application_review", "Рассмотрение заявки на микрокредит",
	  "Микрокредит өтінімін қарау" },
	{ "loan_servicing", "Обслуживание микрокредита", "Микрокредитке қызмет көрсету" },
	{ "fraud_prevention", "Предотвращение мошенничества", "Алаяқтықтың алдын алу" },
	{ "identification", "Идентификация", "Сәйкестендіру" },
	{ "security_compliance", "Безопасность и соответствие требованиям",
	  "Қауіпсіздік және талаптарға сәйкестік" },
	{ "customer_communication", "Связь с клиентом", "Клиентпен байланыс" },
	{ "marketing", "Маркетинг", "Маркетинг" },
	{ "marketing_campaign_design", "Разработка маркетинговых кампаний",
	  "Маркетингтік науқандарды әзірлеу" },
	{ "internal_investigation", "Внутреннее расследование", "Ішкі тергеу" },
	{ "legal_obligation", "Исполнение требований закона", "Заң талаптарын орындау" },
};

static const struct title category_titles[] = {
	{ "identity", "Идентификационные данные", "Сәйкестендіру деректері" },
	{ "family", "Семейное положение", "Отбасылық жағдай" },
	{ "medical", "Сведения о здоровье и дееспособности",
	  "Денсаулық және әрекет қабілеттілігі туралы мәліметтер" },
	{ "contact", "Контактные данные", "Байланыс деректері" },
	{ "professional", "Сведения о работе и доходах",
	  "Жұмыс және табыс туралы мәліметтер" },
	{ "device", "Данные устройства", "Құрылғы деректері" },
	{ "biometric", "Биометрические данные", "Биометриялық деректер" },
	{ "report", "Кредитная история", "Кредиттік тарих" },
	{ "phone", "Сведения оператора о номере", "Нөмір туралы оператор мәліметтері" },
	{ "loan", "Сведения о займе", "Қарыз туралы мәліметтер" },
};

static const struct title outcome_titles[] = {
	{ "delivered", "Передано", "Берілді" },
	{ "received", "Получено", "Алынды" },
	{ "refused", "Отказано: данные не передавались",
	  "Бас тартылды: деректер берілмеді" },
	{ "failed", "Не доставлено", "Жеткізілмеді" },
	{ "abandoned", "Прекращено: больше не отправляется",
	  "Тоқтатылды: енді жіберілмейді" },
};

static const struct title basis_titles[] = {
	{ "consent", "Ваше согласие", "Сіздің келісіміңіз" },
	{ "law", "Требование закона", "Заң талабы" },
	{ "agreement", "Договор поручения обработки", "Өңдеуді тапсыру шарты" },
};

static const struct title direction_titles[] = {
	{ "out", "Передача ваших данных", "Деректеріңізді беру" },
	{ "in", "Получение данных о вас", "Сіз туралы деректерді алу" },
};

/* By the service's API, which the recipients file names. */
static const struct title api_titles[] = {
	{ "credit_report/1", "Кредитный отчёт", "Кредиттік есеп" },
	{ "loan_event/1", "Сообщение о микрокредите", "Микрокредит туралы хабар" },
	{ "phone_check/1", "Проверка номера телефона", "Телефон нөмірін тексеру" },
	{ "family_ties/1", "Семейные связи", "Отбасылық байланыстар" },
	{ "address/1", "Адрес регистрации", "Тіркелген мекенжай" },
	{ "legal_capacity/1", "Дееспособность", "Әрекет қабілеттілігі" },
	{ "sms/1", "SMS-сообщение", "SMS-хабарлама" },
	{ "processing/1", "Обработка по поручению", "Тапсырма бойынша өңдеу" },
};

/* The title of code in the caller's language, or NULL when none is known. */
static const char *title_of(const struct title *t, size_t n, const char *code,
			    enum lang lang)
{
	for (size_t i = 0; code && i < n; i++)
		if (strcmp(t[i].code, code) == 0)
			return lang == LANG_KK ? t[i].kk : t[i].ru;
	return NULL;
}

#define TITLE(table, code, lang) title_of(table, COUNT(table), code, lang)

/* {"code", "title"} (title null when unknown). */
static json_t *titled(const struct title *t, size_t n, const char *code, enum lang lang)
{
	const char *title = title_of(t, n, code, lang);
	return json_pack("{s:s,s:s?}", "code", code ? code : "", "title", title);
}

/* ---- who the recipient is ------------------------------------------------------------- */

/* The recipient as the file names it now, or NULL when it has left the file
 * (or no file is loaded). */
static const struct recipient *current(const struct http_request *req, const char *code)
{
	const struct recipients *rs = req->app->recipients;
	return rs && code ? recipients_find(rs, code) : NULL;
}

static json_t *recipient_json(const struct http_request *req,
			      const struct register_entry *e, int both_names)
{
	const struct recipient *r = current(req, e->recipient);
	const char *ru = r ? r->name_ru : e->snapshot_name_ru;
	const char *kk = r ? r->name_kk : e->snapshot_name_kk;
	const char *kind = r ? recipient_kind_code(r->kind) : e->snapshot_kind;
	if (both_names)
		return json_pack("{s:s,s:s,s:s,s:s,s:s,s:b}", "code", e->recipient,
				 "name_ru", ru, "name_kk", kk, "kind", kind, "country",
				 e->country, "in_file", r != NULL);
	return json_pack("{s:s,s:s,s:s,s:s}", "code", e->recipient, "name",
			 req->lang == LANG_KK ? kk : ru, "kind", kind, "country",
			 e->country);
}

/* The API of the entry's service, when the file still has both. */
static const char *service_api(const struct http_request *req, const char *recipient,
			       const char *service)
{
	const struct recipient *r = current(req, recipient);
	const struct recipient_service *s = r ? recipient_service_find(r, service) : NULL;
	return s ? recipient_api_code(s->api) : NULL;
}

/* "a,b,c" as a JSON array of its items, each through item(). */
static json_t *split_list(const char *list, json_t *(*item)(const char *code, void *ctx),
			  void *ctx)
{
	json_t *a = json_array();
	if (!a)
		return NULL;
	char code[128];
	for (const char *p = list; p && *p;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		if (n > 0 && n < sizeof(code)) {
			memcpy(code, p, n);
			code[n] = '\0';
			if (json_array_append_new(a, item(code, ctx))) {
				json_decref(a);
				return NULL;
			}
		}
		p += n + (comma ? 1 : 0);
	}
	return a;
}

static json_t *category_item(const char *code, void *ctx)
{
	return titled(category_titles, COUNT(category_titles), code, *(enum lang *)ctx);
}

static json_t *plain_item(const char *code, void *ctx)
{
	(void)ctx;
	return json_string(code);
}

/* ---- the borrower's own list ---------------------------------------------------------- */

/* The op first: the write runs register_listing_tx on the whole context,
 * which is a pointer to its first member. */
struct self_answer {
	struct register_listing op;
	struct http_request *req;
	json_t *items;
	json_t *in_progress;
	char last_cursor[REGISTER_CURSOR_LEN];
	int limited; /* R5: the borrower's own access is limited by law */
};

static void self_answer_dispose(void *arg)
{
	struct self_answer *a = arg;
	json_decref(a->items);
	json_decref(a->in_progress);
	a->items = a->in_progress = NULL;
}

static json_t *time_json(int64_t us)
{
	char at[CLOCK_RFC3339_LEN];
	clock_format_rfc3339(us, at);
	return json_string(at);
}

static enum senim_result self_entry(const struct register_entry *e, void *ctx)
{
	struct self_answer *a = ctx;
	enum lang lang = a->req->lang;
	const char *api = service_api(a->req, e->recipient, e->service);
	const char *direction = register_direction_code(e->direction);
	const char *outcome = register_outcome_code(e->outcome);
	json_t *item = json_pack(
		"{s:s,s:o,s:o,s:o,s:{s:s,s:s?},s:o,s:o,s:o,s:{s:s,s:s*,s:s*,s:s?},s:b,"
		"s:s,s:o}",
		"id", e->id, "at", time_json(e->at), "direction",
		titled(direction_titles, COUNT(direction_titles), direction, lang),
		"recipient", recipient_json(a->req, e, 0), "service", "code", e->service,
		"title", api ? TITLE(api_titles, api, lang) : NULL, "categories",
		split_list(e->categories, category_item, &lang), "fields",
		split_list(e->fields, plain_item, NULL), "purpose",
		titled(purpose_titles, COUNT(purpose_titles), e->purpose, lang), "basis",
		"kind", e->basis, "consent_id", e->consent_id, "legal_ref", e->legal_ref,
		"title", TITLE(basis_titles, e->basis, lang), "cross_border",
		e->cross_border, "country", e->country, "outcome",
		titled(outcome_titles, COUNT(outcome_titles), outcome, lang));
	if (!item || json_array_append_new(a->items, item))
		return SENIM_ERR_NOMEM;
	register_cursor_format(e->at, e->id, a->last_cursor);
	return SENIM_OK;
}

static enum senim_result self_pending(const struct register_pending *p, void *ctx)
{
	struct self_answer *a = ctx;
	enum lang lang = a->req->lang;
	const struct recipient *r = current(a->req, p->recipient);
	json_t *item = json_pack(
		"{s:s,s:o,s:{s:s,s:s*},s:s,s:o,s:o,s:s}", "id", p->id, "created_at",
		time_json(p->created_at), "recipient", "code", p->recipient, "name",
		r ? (lang == LANG_KK ? r->name_kk : r->name_ru) : NULL, "service",
		p->service, "purpose",
		titled(purpose_titles, COUNT(purpose_titles), p->purpose, lang),
		"categories", split_list(p->categories, category_item, &lang), "state",
		p->state);
	if (!item || json_array_append_new(a->in_progress, item))
		return SENIM_ERR_NOMEM;
	return SENIM_OK;
}

/* The query parameter p of the request, by its name. */
static const char *param(struct http_request *req, enum register_param p)
{
	return http_query(req, register_param_name(p));
}

static enum senim_result reply_filter(struct http_request *req,
				      struct http_response *resp, enum register_param bad,
				      const char *rule, long long limit)
{
	struct problem p = { .code = "filter_invalid",
			     .field = register_param_name(bad),
			     .rule = rule,
			     .limit = limit };
	return http_reply_problem(req, resp, &p);
}

/* In the writer: R5, the borrower's own access limited by law refuses
 * their register as it refuses the access package (rights/package.h): the
 * page was gathered all the same and is dropped unseen, the refusal names
 * no ground, and the listing's record says "denied".  A transfer to a
 * financial-monitoring authority would otherwise show here. */
static enum senim_result self_listing_tx(struct store_tx *tx, void *arg)
{
	struct self_answer *a = arg;
	enum senim_result err =
		package_limited_tx(tx, a->op.query.subject_id, &a->limited);
	if (err || !a->limited)
		return err ? err : register_listing_tx(tx, &a->op);
	char object[160];
	snprintf(object, sizeof(object), "disclosures:%s", a->op.query.subject_id);
	struct audit_record rec = { .actor = a->op.actor,
				    .operation = "disclosure.self_list",
				    .object = object,
				    .subject_id = a->op.query.subject_id,
				    .categories = "",
				    .purpose = "legal_obligation",
				    .outcome = "denied",
				    .request_id = a->op.request_id };
	return audit_append(tx, a->op.kr, &rec);
}

/* Once the listing's record is durable: the page. */
static enum senim_result self_page_answer(struct http_request *req,
					  struct http_response *resp,
					  enum senim_result result, void *ctx)
{
	(void)req;
	struct self_answer *a = ctx;
	if (result)
		return result;
	if (a->limited) {
		struct access_refusal r = { .why = ACCESS_GRANTED };
		access_refusal_set(&r, ACCESS_LIMITED_BY_LAW, PURPOSE_LEGAL_OBLIGATION,
				   NULL);
		return api_reply_refusal(req, resp, &r);
	}
	json_t *out = json_pack("{s:O,s:O,s:s*}", "items", a->items, "in_progress",
				a->in_progress, "next_cursor",
				a->op.count == a->op.query.limit ? a->last_cursor : NULL);
	if (!out)
		return SENIM_ERR_NOMEM;
	return http_reply_json(resp, 200, out);
}

enum senim_result api_me_disclosures(struct http_request *req, struct http_response *resp)
{
	struct self_answer *a =
		arena_alloc_disposable(&req->arena, sizeof(*a), self_answer_dispose);
	if (!a)
		return SENIM_ERR_NOMEM;
	a->req = req;
	/* Only a page's position: the borrower's list is the whole of their
	 * register, whatever else the query says. */
	const char *values[REGISTER_P__COUNT] = { 0 };
	values[REGISTER_P_CURSOR] = param(req, REGISTER_P_CURSOR);
	values[REGISTER_P_LIMIT] = param(req, REGISTER_P_LIMIT);
	enum register_param bad;
	const char *rule;
	long long limit;
	if (register_query_parse(values, REGISTER_SELF_PAGE_MAX, 1, clock_now_us(),
				 &a->op.query, &bad, &rule, &limit))
		return reply_filter(req, resp, bad, rule, limit);
	a->op.query.subject_id = req->actor.subject_id;
	a->op.kr = req->app->keys;
	a->op.max = a->op.query.limit;
	a->op.self = 1;
	a->op.actor = req->actor.label;
	a->op.request_id = req->request_id;
	a->op.each = self_entry;
	a->op.pending = self_pending;
	a->op.ctx = a;
	a->items = json_array();
	a->in_progress = json_array();
	if (!a->items || !a->in_progress)
		return SENIM_ERR_NOMEM;
	enum senim_result err = register_listing_prepare(req->app->store, &a->op);
	if (err)
		return err;
	return http_write_then(req, self_listing_tx, a, self_page_answer);
}

/* ---- the staff list and export ------------------------------------------------------- */

struct staff_answer {
	struct register_listing op; /* first, as in self_answer */
	struct http_request *req;
	int csv;
	json_t *items;	 /* JSON */
	struct buf text; /* CSV */
	char last_cursor[REGISTER_CURSOR_LEN];
	char filters[160];
};

static void staff_answer_dispose(void *arg)
{
	struct staff_answer *a = arg;
	json_decref(a->items);
	a->items = NULL;
	buf_release(&a->text);
}

static const char *const csv_columns[] = {
	"id",
	"at",
	"subject_id",
	"direction",
	"recipient",
	"service",
	"categories",
	"fields",
	"purpose",
	"basis",
	"consent_id",
	"legal_ref",
	"cross_border",
	"country",
	"outcome",
	"reason",
	"may_have_reached",
	"transfer_id",
	"request_id",
	"actor",
};

/* One CSV field (RFC 4180 2.6-2.7): quoted when it holds a comma, a quote or
 * a line end, a quote inside doubled.  The register holds codes and ids,
 * so no value can start a spreadsheet formula; the quoting is for commas
 * in lists. */
static enum senim_result csv_field(struct buf *b, const char *s, int last)
{
	enum senim_result err = SENIM_OK;
	s = s ? s : "";
	if (strpbrk(s, ",\"\r\n")) {
		err = buf_addch(b, '"');
		for (const char *p = s; !err && *p; p++)
			err = *p == '"' ? buf_addstr(b, "\"\"") : buf_addch(b, *p);
		if (!err)
			err = buf_addch(b, '"');
	} else {
		err = buf_addstr(b, s);
	}
	if (!err)
		err = last ? buf_addstr(b, "\r\n") : buf_addch(b, ',');
	return err;
}

static enum senim_result csv_entry(struct staff_answer *a, const struct register_entry *e)
{
	char at[CLOCK_RFC3339_LEN];
	clock_format_rfc3339(e->at, at);
	const char *row[] = { e->id,
			      at,
			      e->subject_id,
			      register_direction_code(e->direction),
			      e->recipient,
			      e->service,
			      e->categories,
			      e->fields,
			      e->purpose,
			      e->basis,
			      e->consent_id,
			      e->legal_ref,
			      e->cross_border ? "true" : "false",
			      e->country,
			      register_outcome_code(e->outcome),
			      e->reason,
			      e->may_have_reached ? "true" : "false",
			      e->transfer_id,
			      e->request_id,
			      e->actor };
	_Static_assert(COUNT(row) == COUNT(csv_columns), "a value per column");
	enum senim_result err = SENIM_OK;
	for (size_t i = 0; !err && i < COUNT(row); i++)
		err = csv_field(&a->text, row[i], i + 1 == COUNT(row));
	return err;
}

static enum senim_result staff_entry(const struct register_entry *e, void *ctx)
{
	struct staff_answer *a = ctx;
	if (a->csv) {
		/* One past the maximum tells a too large export: stop there. */
		if (a->op.count >= REGISTER_EXPORT_MAX)
			return SENIM_ERR_TOO_LARGE;
		return csv_entry(a, e);
	}
	json_t *item = json_pack(
		"{s:s,s:o,s:s,s:s,s:o,s:s,s:o,s:o,s:s,s:{s:s,s:s*,s:s*},s:b,s:s,s:s,s:s*,"
		"s:b,s:s*,s:s,s:s}",
		"id", e->id, "at", time_json(e->at), "subject_id", e->subject_id,
		"direction", register_direction_code(e->direction), "recipient",
		recipient_json(a->req, e, 1), "service", e->service, "categories",
		split_list(e->categories, plain_item, NULL), "fields",
		split_list(e->fields, plain_item, NULL), "purpose", e->purpose, "basis",
		"kind", e->basis, "consent_id", e->consent_id, "legal_ref", e->legal_ref,
		"cross_border", e->cross_border, "country", e->country, "outcome",
		register_outcome_code(e->outcome), "reason", e->reason,
		"may_have_reached", e->may_have_reached, "transfer_id", e->transfer_id,
		"request_id", e->request_id, "actor", e->actor);
	if (!item || json_array_append_new(a->items, item))
		return SENIM_ERR_NOMEM;
	register_cursor_format(e->at, e->id, a->last_cursor);
	return SENIM_OK;
}

static enum senim_result staff_page_answer(struct http_request *req,
					   struct http_response *resp,
					   enum senim_result result, void *ctx)
{
	(void)req;
	struct staff_answer *a = ctx;
	if (result)
		return result;
	if (a->csv)
		return http_reply_bytes(resp, 200,
					"text/csv; charset=utf-8; header=present",
					a->text.data, a->text.len);
	json_t *out = json_pack("{s:O,s:s*}", "items", a->items, "next_cursor",
				a->op.count == a->op.query.limit ? a->last_cursor : NULL);
	if (!out)
		return SENIM_ERR_NOMEM;
	return http_reply_json(resp, 200, out);
}

/* CSV when ?format=csv, or when Accept names text/csv (and format does not
 * say json).  -1 for a format that is neither. */
static int wants_csv(struct http_request *req)
{
	const char *format = http_query(req, "format");
	if (format)
		return strcmp(format, "csv") == 0    ? 1
		       : strcmp(format, "json") == 0 ? 0
						     : -1;
	const char *accept = http_header(req, "Accept");
	return accept && strstr(accept, "text/csv") != NULL;
}

enum senim_result api_disclosures(struct http_request *req, struct http_response *resp)
{
	struct staff_answer *a =
		arena_alloc_disposable(&req->arena, sizeof(*a), staff_answer_dispose);
	if (!a)
		return SENIM_ERR_NOMEM;
	a->req = req;
	buf_init(&a->text, EXPORT_BYTES_MAX);
	a->csv = wants_csv(req);
	if (a->csv < 0) {
		struct problem p = { .code = "filter_invalid",
				     .field = "format",
				     .rule = "enum_value" };
		return http_reply_problem(req, resp, &p);
	}
	const char *values[REGISTER_P__COUNT];
	size_t used = 0;
	for (int p = 0; p < REGISTER_P__COUNT; p++) {
		values[p] = param(req, (enum register_param)p);
		/* The record names the filters asked for, never their values
		 * (a subject id is the borrower's). */
		if (values[p] && p != REGISTER_P_CURSOR && p != REGISTER_P_LIMIT)
			used += (size_t)snprintf(
				a->filters + used, sizeof(a->filters) - used, "%s%s",
				used ? "," : "",
				register_param_name((enum register_param)p));
	}
	enum register_param bad;
	const char *rule;
	long long limit;
	if (register_query_parse(values, REGISTER_PAGE_MAX, 0, clock_now_us(),
				 &a->op.query, &bad, &rule, &limit))
		return reply_filter(req, resp, bad, rule, limit);
	a->op.kr = req->app->keys;
	/* An export is every entry the filters select, not a page. */
	a->op.max = a->csv ? REGISTER_EXPORT_MAX + 1 : a->op.query.limit;
	a->op.filters = a->filters;
	a->op.actor = req->actor.label;
	a->op.request_id = req->request_id;
	a->op.each = staff_entry;
	a->op.ctx = a;
	enum senim_result err = SENIM_ERR_NOMEM;
	if (a->csv) {
		for (size_t i = 0; i < COUNT(csv_columns); i++) {
			err = csv_field(&a->text, csv_columns[i],
					i + 1 == COUNT(csv_columns));
			if (err)
				return err;
		}
	} else if (!(a->items = json_array())) {
		return err;
	}
	err = register_listing_prepare(req->app->store, &a->op);
	if (err == SENIM_ERR_TOO_LARGE) {
		struct problem p = { .code = "export_too_large",
				     .limit = REGISTER_EXPORT_MAX };
		return http_reply_problem(req, resp, &p);
	}
	if (err)
		return err;
	return http_write_then(req, register_listing_tx, a, staff_page_answer);
}
