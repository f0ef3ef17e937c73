/*
 * applications.c — borrowers' applications for a microcredit (C4, U1).
 *
 *   POST /v1/me/applications                   apply (product, amount, term,
 *                                              schedule method, payout, the
 *                                              declared monthly income)
 *   GET  /v1/me/applications                   the borrower's own, newest first
 *   GET  /v1/me/applications/{id}              one, with what it still needs
 *   POST /v1/me/applications/{id}/withdrawal   withdraw an open one
 *   POST /v1/me/applications/{id}/refusal      refuse to give what it needs:
 *                                              declined, data_refused (C4)
 *   GET  /v1/applications                      the underwriters' queue (U1)
 *   GET  /v1/applications/{id}                 one, for an underwriter (U1)
 *
 * The payout card or account travels only in the request body; the answer
 * shows its kind and last four characters.  The declared monthly income
 * (monthly_income_tiyn) is required when the scorecard in force uses it
 * (scorecard_uses_income), optional otherwise; it is answered only to the
 * borrower (the 201 and their read of one application), never in a list or
 * to staff.  Another borrower's application is 404, as one that does not
 * exist.
 */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/app.h"
#include "api/refusal.h"
#include "common/clock.h"
#include "core/consents.h"
#include "core/scorecard.h"
#include "exchange/reporter.h"
#include "exchange/transfer.h"
#include "lending/applications.h"
#include "lending/cards.h"
#include "lending/decisions.h"
#include "rights/package.h"
#include "common/banned.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* The {id} parameter; answers 404 itself when it cannot be an id. */
static const char *id_or_reply(struct http_request *req, struct http_response *resp)
{
	const char *id = req->params[0];
	if (application_id_valid(id))
		return id;
	http_reply_code(req, resp, "application_not_found");
	return NULL;
}

/* ---- applying ----------------------------------------------------------- */

static const char *const payout_kinds[] = { "card", "account", NULL };
static const char *const methods[] = { "annuity", "differentiated", "single", NULL };

static int product_format(const char *v, size_t len)
{
	(void)len;
	return product_code_valid(v);
}

static const struct jsonin_field create_fields[] = {
	{ .name = "product",
	  .type = JSONIN_STRING,
	  .required = 1,
	  .min_len = 1,
	  .max_len = PRODUCT_CODE_MAX,
	  .format = product_format },
	{ .name = "amount_tiyn", .type = JSONIN_INTEGER, .required = 1 },
	{ .name = "term_days", .type = JSONIN_INTEGER, .required = 1 },
	{ .name = "schedule_method",
	  .type = JSONIN_STRING,
	  .required = 1,
	  .allowed = methods },
	{ .name = "payout_kind",
	  .type = JSONIN_STRING,
	  .required = 1,
	  .allowed = payout_kinds },
	/* with "account": the IBAN; never with "card" (a card number is not
	 * taken: the card is bound at the provider, lending/cards.h) */
	{ .name = "payout_number",
	  .type = JSONIN_STRING,
	  .min_len = 1,
	  .max_len = APPLICATION_PAYOUT_MAX },
	/* with "card": a bound card's id (POST /v1/me/cards) */
	{ .name = "payout_card",
	  .type = JSONIN_STRING,
	  .min_len = CARD_ID_LEN - 1,
	  .max_len = CARD_ID_LEN - 1 },
	/* required when the card uses it: checked in api_me_apply */
	{ .name = "monthly_income_tiyn", .type = JSONIN_INTEGER },
};

/* The op and what it borrows: the rules in force, the body (its strings). */
struct create_req {
	struct application_create op; /* first: the write's ctx */
	struct loan_rules_in_force rules;
	json_t *body;
};

static void create_dispose(void *p)
{
	struct create_req *cr = p;
	application_create_dispose(&cr->op);
	json_decref(cr->body); /* the payout number: wiped by the allocator */
}

static enum senim_result invalid(struct http_request *req, struct http_response *resp,
				 const char *field, const char *rule, long long limit)
{
	struct problem p = {
		.code = "validation_failed", .field = field, .rule = rule, .limit = limit
	};
	return http_reply_problem(req, resp, &p);
}

/* The answer to a refusal found before or in the write. */
static enum senim_result reply_create_refusal(struct http_request *req,
					      struct http_response *resp,
					      const struct application_create *op)
{
	switch (op->refusal) {
	case APPLICATION_PRODUCT_NOT_FOUND:
		return http_reply_code(req, resp, "product_not_found");
	case APPLICATION_PRODUCT_INACTIVE:
		return http_reply_code(req, resp, "product_inactive");
	case APPLICATION_METHOD_NOT_ALLOWED:
		return http_reply_code(req, resp, "schedule_method_not_offered");
	case APPLICATION_OUTSIDE_PRODUCT: {
		struct problem p = { .code = "application_outside_product",
				     .field = op->field,
				     .limit = op->limit,
				     .extra = json_pack("{s:I}", "limit",
							(json_int_t)op->limit) };
		return http_reply_problem(req, resp, &p);
	}
	case APPLICATION_LOAN_RULE: {
		/* The rule that refused, by its stable code, the entry in
		 * force and its legal source. */
		const struct loan_rule *r = op->rule.rule;
		json_t *extra = json_pack("{s:s}", "loan_rule", op->rule.code);
		if (extra && r) {
			json_object_set_new(extra, "loan_rule_from",
					    json_string(r->from_text));
			json_object_set_new(extra, "loan_rule_source",
					    json_string(r->source));
		}
		struct problem p = { .code = "loan_rule_breached", .extra = extra };
		return http_reply_problem(req, resp, &p);
	}
	case APPLICATION_OPEN_EXISTS:
		return http_reply_code(req, resp, "application_open_exists");
	case APPLICATION_CARD_NOT_BOUND: {
		struct problem p = { .code = "payout_card_not_bound",
				     .field = "payout_card" };
		return http_reply_problem(req, resp, &p);
	}
	case APPLICATION_ACCEPTED:
		break;
	}
	return SENIM_ERR_INVALID; /* not a refusal: a programmer's slip */
}

static enum senim_result create_answer(struct http_request *req,
				       struct http_response *resp,
				       enum senim_result result, void *ctx)
{
	struct application_create *op = ctx;
	if (result == SENIM_ERR_CONFLICT)
		return http_reply_code(req, resp, "application_open_exists");
	if (result)
		return result;
	if (op->refusal)
		return reply_create_refusal(req, resp, op);
	char location[64 + APPLICATION_ID_LEN];
	snprintf(location, sizeof(location), "/v1/me/applications/%s", op->app.id);
	json_t *o = application_json(&op->app, &op->missing, APPLICATION_VIEW_FULL);
	if (o && op->income_declared)
		json_object_set_new(o, "monthly_income_tiyn",
				    json_integer((json_int_t)op->income_tiyn));
	enum senim_result err = http_reply_json(resp, 201, o);
	if (err)
		return err;
	return http_add_header(req, resp, "Location", location);
}

enum senim_result api_me_apply(struct http_request *req, struct http_response *resp)
{
	struct app *app = req->app;
	json_t *body;
	if (http_json_body_or_reply(req, resp, create_fields, COUNT(create_fields),
				    &body))
		return SENIM_OK;
	struct create_req *cr =
		arena_alloc_disposable(&req->arena, sizeof(*cr), create_dispose);
	if (!cr) {
		json_decref(body);
		return SENIM_ERR_NOMEM;
	}
	cr->body = body;
	struct application_create *op = &cr->op;
	op->amount_tiyn =
		(int64_t)json_integer_value(json_object_get(body, "amount_tiyn"));
	op->term_days = (int64_t)json_integer_value(json_object_get(body, "term_days"));
	if (op->amount_tiyn < 1)
		return invalid(req, resp, "amount_tiyn", "min_value", 1);
	if (op->term_days < 1)
		return invalid(req, resp, "term_days", "min_value", 1);
	/* The declared income: asked when the card scores it (a lender that
	 * scores the debt burden does not lend without it), not collected
	 * for nothing otherwise (data minimisation). */
	json_t *income = json_object_get(body, "monthly_income_tiyn");
	if (income && !json_is_null(income)) {
		json_int_t v = json_integer_value(income);
		if (v < 0)
			return invalid(req, resp, "monthly_income_tiyn", "min_value", 0);
		if (v > APPLICATION_INCOME_MAX_TIYN)
			return invalid(req, resp, "monthly_income_tiyn", "max_value",
				       APPLICATION_INCOME_MAX_TIYN);
		op->income_declared = 1;
		op->income_tiyn = (int64_t)v;
	} else if (app->scorecard && scorecard_uses_income(app->scorecard)) {
		return invalid(req, resp, "monthly_income_tiyn", "required", 0);
	}
	op->payout_kind = jsonin_str(body, "payout_kind");
	json_t *number = json_object_get(body, "payout_number");
	json_t *card = json_object_get(body, "payout_card");
	if (strcmp(op->payout_kind, "card") == 0) {
		/* PCI DSS: a card number is never taken; the borrower binds the
		 * card on the provider's page and names it here. */
		if (number && !json_is_null(number)) {
			struct problem p = { .code = "card_number_not_accepted",
					     .field = "payout_number" };
			return http_reply_problem(req, resp, &p);
		}
		if (!card || json_is_null(card))
			return invalid(req, resp, "payout_card", "required", 0);
		if (!card_id_valid(json_string_value(card)))
			return invalid(req, resp, "payout_card", "format", 0);
		op->payout = json_string_value(card);
		op->payout_len = json_string_length(card);
	} else {
		if (card && !json_is_null(card))
			return invalid(req, resp, "payout_card", "unknown_field", 0);
		if (!number || json_is_null(number))
			return invalid(req, resp, "payout_number", "required", 0);
		op->payout = json_string_value(number);
		op->payout_len = json_string_length(number);
		if (!application_payout_valid(op->payout_kind, op->payout,
					      op->payout_len))
			return invalid(req, resp, "payout_number", "format", 0);
	}
	/* No rules, no application: an offer outside the law is never made,
	 * and without the rules that cannot be known. */
	char today[CLOCK_RFC3339_LEN], why[256];
	clock_format_rfc3339(clock_now_us(), today);
	today[10] = '\0';
	if (!app->loan_rules ||
	    loan_rules_in_force(app->loan_rules, today, &cr->rules, why, sizeof(why)))
		return http_reply_code(req, resp, "loan_rules_unavailable");
	op->rules = &cr->rules;
	op->kr = app->keys;
	op->actor = req->actor.label;
	op->request_id = req->request_id;
	op->subject_id = req->actor.subject_id;
	op->product_code = jsonin_str(body, "product");
	op->method = jsonin_str(body, "schedule_method");
	enum senim_result err = applications_create_prepare(app->store, op);
	if (err)
		return err;
	if (op->refusal)
		return reply_create_refusal(req, resp, op);
	return http_write_then(req, applications_create_tx, op, create_answer);
}

/* ---- the borrower's reads ------------------------------------------------- */

#define LOAN_RULE_PREFIX "loan_rule_breached:"

/* What the borrower is told of an offer a loan rule refused. */
static const char *loan_rule_text(const char *lang)
{
	if (strcmp(lang, "kk") == 0)
		return "Ұсыныс қарыздар туралы заңның ережесін бұзар еді (rule).";
	if (strcmp(lang, "en") == 0)
		return "The offer would break a rule of the lending law (rule).";
	return "Предложение нарушило бы правило закона о займах (rule).";
}

/* What the borrower is told of a decline under the rule self_exclusion:
 * `shown` when the report showed the refusal, else it could not be
 * checked.  The law is named, as the rule's source is. */
static const char *self_exclusion_text(int shown, const char *lang)
{
	if (strcmp(lang, "kk") == 0)
		return shown ? "Кредиттік есеп қарыз алудан ерікті бас тартуды "
			       "көрсетеді (ҚР № 56-V Заңы, 3-бап, 3-3-тармақ)."
			     : "Қарыз алудан ерікті бас тартуды тексеру мүмкін "
			       "болмады: кредиттік есеп алынбады (ҚР № 56-V "
			       "Заңы, 3-бап, 3-3-тармақ).";
	if (strcmp(lang, "en") == 0)
		return shown ? "The credit report shows a voluntary refusal of loans "
			       "(Law of RK No. 56-V, art. 3(3-3))."
			     : "A voluntary refusal of loans could not be checked: no "
			       "credit report was obtained (Law of RK No. 56-V, art. "
			       "3(3-3)).";
	return shown ? "Кредитный отчёт показывает добровольный отказ от получения "
		       "займов (Закон РК № 56-V, ст. 3, п. 3-3)."
		     : "Не удалось проверить добровольный отказ от получения займов: "
		       "кредитный отчёт не получен (Закон РК № 56-V, ст. 3, п. 3-3).";
}

/* A decision as the borrower reads it: the outcome and each reason's code
 * with its text in the request's language (core/scorecard.h). */
static json_t *decision_json(const char *outcome, const char *codes, const char *lang)
{
	json_t *reasons = json_array();
	for (const char *p = codes; reasons && *p;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		enum score_reason r = scorecard_reason_parse(p, len);
		const char *text = scorecard_reason_text(r, lang);
		int shown = len == strlen(DECISION_SELF_EXCLUDED) &&
			    memcmp(p, DECISION_SELF_EXCLUDED, len) == 0;
		if (shown || (len == strlen(DECISION_SELF_UNCHECKED) &&
			      memcmp(p, DECISION_SELF_UNCHECKED, len) == 0))
			json_array_append_new(
				reasons, json_pack("{s:s%,s:s,s:s}", "code", p, len,
						   "rule", "self_exclusion", "text",
						   self_exclusion_text(shown, lang)));
		else if (len > sizeof(LOAN_RULE_PREFIX) - 1 &&
			 memcmp(p, LOAN_RULE_PREFIX, sizeof(LOAN_RULE_PREFIX) - 1) == 0)
			json_array_append_new(
				reasons,
				json_pack("{s:s,s:s%,s:s}", "code", "loan_rule_breached",
					  "rule", p + sizeof(LOAN_RULE_PREFIX) - 1,
					  len - (sizeof(LOAN_RULE_PREFIX) - 1), "text",
					  loan_rule_text(lang)));
		else if (r != SCORE_REASON_NONE && text)
			json_array_append_new(reasons, json_pack("{s:s,s:s}", "code",
								 scorecard_reason_code(r),
								 "text", text));
		p = end ? end + 1 : p + len;
	}
	return json_pack("{s:s,s:o}", "outcome", outcome, "reasons", reasons);
}

/* Once the read's record is durable: the application or the list, in the
 * view the writer decided (R5; lending/applications.h).  Under a limit the
 * op holds no decision: the tx wiped it. */
static enum senim_result own_answer(struct http_request *req, struct http_response *resp,
				    enum senim_result result, void *ctx)
{
	struct application_own *op = ctx;
	if (result == SENIM_ERR_NOT_FOUND)
		return http_reply_code(req, resp, "application_not_found");
	if (result)
		return result;
	enum application_view v =
		op->limited ? APPLICATION_VIEW_LIMITED : APPLICATION_VIEW_FULL;
	json_t *out;
	if (op->id) {
		out = application_json(&op->app, &op->missing, v);
		/* Their own declared income, back to the borrower (R1); not in
		 * the limited view (R5), like the rest of what they declared. */
		if (out && op->income_declared && !op->limited)
			json_object_set_new(out, "monthly_income_tiyn",
					    json_integer((json_int_t)op->income_tiyn));
		if (out && *op->outcome)
			json_object_set_new(out, "decision",
					    decision_json(op->outcome, op->reasons,
							  lang_code(req->lang)));
	} else {
		json_t *items = json_array();
		for (int i = 0; items && i < op->count; i++)
			json_array_append_new(items,
					      application_json(&op->rows[i], NULL, v));
		out = json_pack("{s:o}", "applications", items);
	}
	return op->limited ? api_reply_limited(req, resp, out)
			   : http_reply_json(resp, 200, out);
}

/* In the writer: R5, the borrower's own access limited by law (rights/
 * package.h) leaves them the limited view of their applications — terms
 * and states, no payout, no decision, no C4 lists — the same for every
 * ground.  Everything is read either way and what the view does not show
 * is dropped (no timing tell); the record says "limited". */
static enum senim_result own_read_tx(struct store_tx *tx, void *arg)
{
	struct application_own *op = arg;
	enum senim_result err = package_limited_tx(tx, op->subject_id, &op->limited);
	return err ? err : applications_own_tx(tx, op);
}

/* The borrower's own read of {id} (id NULL: the list). */
static enum senim_result own_read(struct http_request *req, const char *id)
{
	struct application_own *op =
		arena_alloc_disposable(&req->arena, sizeof(*op), application_own_dispose);
	if (!op)
		return SENIM_ERR_NOMEM;
	op->kr = req->app->keys;
	op->actor = req->actor.label;
	op->request_id = req->request_id;
	op->subject_id = req->actor.subject_id;
	op->id = id;
	return http_write_then(req, own_read_tx, op, own_answer);
}

enum senim_result api_me_applications(struct http_request *req,
				      struct http_response *resp)
{
	(void)resp;
	return own_read(req, NULL);
}

enum senim_result api_me_application(struct http_request *req, struct http_response *resp)
{
	const char *id = id_or_reply(req, resp);
	if (!id)
		return SENIM_OK;
	return own_read(req, id);
}

/* ---- the borrower's acts ---------------------------------------------------- */

static enum senim_result change_answer(struct http_request *req,
				       struct http_response *resp,
				       enum senim_result result, void *ctx)
{
	struct application_change *op = ctx;
	if (result == SENIM_ERR_NOT_FOUND)
		return http_reply_code(req, resp, "application_not_found");
	if (result)
		return result;
	if (op->not_open)
		return http_reply_code(req, resp, "application_not_open");
	if (op->refusal_invalid)
		return http_reply_code(req, resp, "refusal_not_needed");
	return http_reply_json(resp, 200,
			       application_json(&op->app, NULL, APPLICATION_VIEW_FULL));
}

/* A change op for {id}, or NULL after answering. */
static struct application_change *
change_op(struct http_request *req, struct http_response *resp, enum senim_result *err)
{
	*err = SENIM_OK;
	const char *id = id_or_reply(req, resp);
	if (!id)
		return NULL;
	struct application_change *op =
		arena_alloc_disposable(&req->arena, sizeof(*op), NULL);
	if (!op) {
		*err = SENIM_ERR_NOMEM;
		return NULL;
	}
	op->kr = req->app->keys;
	op->actor = req->actor.label;
	op->request_id = req->request_id;
	op->subject_id = req->actor.subject_id;
	op->id = id;
	return op;
}

enum senim_result api_me_application_withdraw(struct http_request *req,
					      struct http_response *resp)
{
	enum senim_result err;
	struct application_change *op = change_op(req, resp, &err);
	if (!op)
		return err;
	op->act = APPLICATION_WITHDRAW;
	return http_write_then(req, applications_change_tx, op, change_answer);
}

static const struct jsonin_field refusal_fields[] = {
	{ .name = "categories", .type = JSONIN_ARRAY },
	{ .name = "consents", .type = JSONIN_ARRAY },
};

/* The mask of an array of codes; -1 when an element is unknown. */
static int64_t codes_mask(json_t *a, int (*parse)(const char *))
{
	json_t *v;
	size_t i;
	uint32_t mask = 0;
	if (!a)
		return 0;
	json_array_foreach(a, i, v)
	{
		int k = json_is_string(v) ? parse(json_string_value(v)) : -1;
		if (k < 0 || k >= 32)
			return -1;
		mask |= 1u << k;
	}
	return mask;
}

enum senim_result api_me_application_refuse(struct http_request *req,
					    struct http_response *resp)
{
	if (!application_id_valid(req->params[0]))
		return http_reply_code(req, resp, "application_not_found");
	json_t *body;
	if (http_json_body_or_reply(req, resp, refusal_fields, COUNT(refusal_fields),
				    &body))
		return SENIM_OK;
	int64_t categories =
		codes_mask(json_object_get(body, "categories"), category_parse);
	int64_t consents =
		codes_mask(json_object_get(body, "consents"), consent_kind_parse);
	json_decref(body);
	if (categories < 0)
		return invalid(req, resp, "categories", "enum_value", 0);
	if (consents < 0)
		return invalid(req, resp, "consents", "enum_value", 0);
	if (categories == 0 && consents == 0)
		return invalid(req, resp, "categories", "required", 0);
	enum senim_result err;
	struct application_change *op = change_op(req, resp, &err);
	if (!op)
		return err;
	op->act = APPLICATION_REFUSE_DATA;
	op->refused_categories = (uint32_t)categories;
	op->refused_consents = (uint32_t)consents;
	return http_write_then(req, applications_change_tx, op, change_answer);
}

/* ---- staff, under U1 ----------------------------------------------------------- */

static struct application_staff *staff_op(struct http_request *req)
{
	struct application_staff *op = arena_alloc_disposable(&req->arena, sizeof(*op),
							      application_staff_dispose);
	if (!op)
		return NULL;
	op->kr = req->app->keys;
	op->matrix = &req->app->matrix;
	op->role = req->actor.role;
	op->actor = req->actor.label;
	op->request_id = req->request_id;
	return op;
}

static enum senim_result staff_read_answer(struct http_request *req,
					   struct http_response *resp,
					   enum senim_result result, void *ctx)
{
	struct application_staff *op = ctx;
	if (result == SENIM_ERR_NOT_FOUND)
		return http_reply_code(req, resp, "application_not_found");
	if (result)
		return result;
	if (op->refused.why != ACCESS_GRANTED)
		return api_reply_refusal(req, resp, &op->refused);
	json_t *o = application_json(&op->app, &op->missing, APPLICATION_VIEW_FULL);
	if (o)
		json_object_set_new(o, "subject_id", json_string(op->app.subject_id));
	return http_reply_json(resp, 200, o);
}

enum senim_result api_application_get(struct http_request *req,
				      struct http_response *resp)
{
	const char *id = id_or_reply(req, resp);
	if (!id)
		return SENIM_OK;
	struct application_staff *op = staff_op(req);
	if (!op)
		return SENIM_ERR_NOMEM;
	op->id = id;
	return http_write_then(req, applications_staff_read_tx, op, staff_read_answer);
}

static enum senim_result staff_list_answer(struct http_request *req,
					   struct http_response *resp,
					   enum senim_result result, void *ctx)
{
	struct application_staff *op = ctx;
	if (result)
		return result;
	if (op->refused.why != ACCESS_GRANTED)
		return api_reply_refusal(req, resp, &op->refused);
	json_t *items = json_array();
	for (int i = 0; items && i < op->count; i++) {
		json_t *o = application_json(&op->rows[i], NULL, APPLICATION_VIEW_FULL);
		if (o)
			json_object_set_new(o, "subject_id",
					    json_string(op->rows[i].subject_id));
		json_array_append_new(items, o);
	}
	json_t *doc = json_pack("{s:o}", "applications", items);
	if (doc && op->more && op->count > 0)
		json_object_set_new(doc, "next_after",
				    json_string(op->rows[op->count - 1].id));
	return http_reply_json(resp, 200, doc);
}

static const char *const queue_states[] = { "open",	"declined",  "withdrawn",
					    "approved", "referred",  "offered",
					    "signed",	"disbursed", NULL };

static enum senim_result bad_parameter(struct http_request *req,
				       struct http_response *resp, const char *field,
				       const char *rule, long long limit)
{
	struct problem p = {
		.code = "invalid_parameter", .field = field, .rule = rule, .limit = limit
	};
	return http_reply_problem(req, resp, &p);
}

enum senim_result api_applications(struct http_request *req, struct http_response *resp)
{
	const char *state = http_query(req, "state");
	const char *after = http_query(req, "after");
	const char *limit = http_query(req, "limit");
	const char *chosen = "open";
	if (state) {
		chosen = NULL;
		for (size_t i = 0; queue_states[i]; i++)
			if (strcmp(queue_states[i], state) == 0)
				chosen = queue_states[i];
		if (!chosen)
			return bad_parameter(req, resp, "state", "enum_value", 0);
	}
	if (after && !application_id_valid(after))
		return bad_parameter(req, resp, "after", "format", 0);
	long n = 50;
	if (limit) {
		char *end;
		errno = 0;
		n = strtol(limit, &end, 10);
		if (errno || end == limit || *end || n < 1 || n > APPLICATION_LIST_MAX)
			return bad_parameter(req, resp, "limit",
					     n < 1 ? "min_value" : "max_value",
					     n < 1 ? 1 : APPLICATION_LIST_MAX);
	}
	struct application_staff *op = staff_op(req);
	if (!op)
		return SENIM_ERR_NOMEM;
	op->state = chosen;
	op->after = after ? after : "";
	op->limit = (int)n;
	return http_write_then(req, applications_staff_list_tx, op, staff_list_answer);
}

/* ---- submission and the decision (U1, D8; lending/decisions.h) ---------------- */

static enum senim_result submit_answer(struct http_request *req,
				       struct http_response *resp,
				       enum senim_result result, void *ctx)
{
	struct decision_submit *op = ctx;
	if (result == SENIM_ERR_CONFLICT || (result == SENIM_OK && op->not_open))
		return http_reply_code(req, resp, "application_not_open");
	if (result)
		return result;
	/* The decision's write recorded the `applied` event and has
	 * committed: GKB is told now, not at the reporter's next interval
	 * (Law 573-II Art. 19(2)(8), real time). */
	reporter_wake();
	json_t *o = application_json(&op->app, NULL, APPLICATION_VIEW_FULL);
	if (o)
		json_object_set_new(o, "decision",
				    decision_json(op->decision.outcome,
						  op->decision.reasons,
						  lang_code(req->lang)));
	return http_reply_json(resp, 200, o);
}

enum senim_result api_me_application_submit(struct http_request *req,
					    struct http_response *resp)
{
	const char *id = id_or_reply(req, resp);
	if (!id)
		return SENIM_OK;
	const struct exchange_env *ex = req->app->exchange;
	if (!req->app->scorecard || !ex || !ex->recipients)
		return http_reply_code(req, resp, "decisions_unavailable");
	struct decision_submit *op =
		arena_alloc_disposable(&req->arena, sizeof(*op), decision_submit_dispose);
	if (!op)
		return SENIM_ERR_NOMEM;
	/* An offer outside the law is never made: without the rules in force
	 * nothing is decided. */
	char today[CLOCK_RFC3339_LEN], why[256];
	clock_format_rfc3339(clock_now_us(), today);
	today[10] = '\0';
	struct loan_rules_in_force *rules =
		arena_alloc(&req->arena, sizeof(struct loan_rules_in_force));
	if (!rules)
		return SENIM_ERR_NOMEM;
	if (!req->app->loan_rules ||
	    loan_rules_in_force(req->app->loan_rules, today, rules, why, sizeof(why)))
		return http_reply_code(req, resp, "loan_rules_unavailable");
	op->rules = rules;
	op->ex = ex;
	op->card = req->app->scorecard;
	op->actor = req->actor.label;
	op->request_id = req->request_id;
	op->subject_id = req->actor.subject_id;
	op->id = id;
	enum senim_result err = store_read(req->app->store, decisions_submit_check, op);
	if (err == SENIM_ERR_NOT_FOUND)
		return http_reply_code(req, resp, "application_not_found");
	if (err)
		return err;
	if (op->not_open)
		return http_reply_code(req, resp, "application_not_open");
	/* C4: an application lacking data or consents is not decided. */
	if (op->missing.categories | op->missing.consents)
		return http_reply_code(req, resp, "application_incomplete");
	return http_async_then(req, decisions_submit_start, op, submit_answer);
}

/* ---- the offer ------------------------------------------------------------------ */

static json_t *schedule_json(const struct decision_offer *o, enum schedule_method m)
{
	static _Thread_local struct schedule_row rows[SCHEDULE_MAX_PAYMENTS];
	size_t n = 0;
	if (decisions_offer_schedule(o, m, rows, SCHEDULE_MAX_PAYMENTS, &n) != SENIM_OK)
		return json_null();
	json_t *a = json_array();
	for (size_t i = 0; a && i < n; i++) {
		int y, mo, d;
		char due[11];
		schedule_ymd(rows[i].due, &y, &mo, &d);
		snprintf(due, sizeof(due), "%04d-%02d-%02d", y, mo, d);
		json_array_append_new(
			a, json_pack("{s:s,s:I,s:I,s:I,s:I}", "due", due, "principal",
				     (json_int_t)rows[i].principal, "interest",
				     (json_int_t)rows[i].interest, "total",
				     (json_int_t)rows[i].total, "balance",
				     (json_int_t)rows[i].balance));
	}
	return a;
}

static enum senim_result offer_answer(struct http_request *req,
				      struct http_response *resp,
				      enum senim_result result, void *ctx)
{
	struct decision_offer_read *op = ctx;
	if (result == SENIM_ERR_NOT_FOUND)
		return http_reply_code(req, resp, "application_not_found");
	if (result)
		return result;
	if (op->none)
		return http_reply_code(req, resp, "offer_not_found");
	const struct decision_offer *o = &op->offer;
	json_t *gesv = json_object(), *schedules = json_object();
	if (o->single) {
		json_object_set_new(gesv, "single_bp", json_integer(o->gesv_single_bp));
		json_object_set_new(schedules, "single",
				    schedule_json(o, SCHEDULE_SINGLE));
	} else {
		json_object_set_new(gesv, "annuity_bp", json_integer(o->gesv_annuity_bp));
		json_object_set_new(gesv, "differentiated_bp",
				    json_integer(o->gesv_differentiated_bp));
		json_object_set_new(schedules, "annuity",
				    schedule_json(o, SCHEDULE_ANNUITY));
		json_object_set_new(schedules, "differentiated",
				    schedule_json(o, SCHEDULE_DIFFERENTIATED));
	}
	return http_reply_json(
		resp, 200,
		json_pack("{s:I,s:I,s:I,s:I,s:I,s:o,s:o}", "amount_tiyn",
			  (json_int_t)o->amount_tiyn, "term_days",
			  (json_int_t)o->term_days, "payments", (json_int_t)o->payments,
			  "rate_bp", (json_int_t)o->rate_bp, "fee_tiyn",
			  (json_int_t)o->fee_tiyn, "gesv", gesv, "schedules", schedules));
}

enum senim_result api_me_application_offer(struct http_request *req,
					   struct http_response *resp)
{
	const char *id = id_or_reply(req, resp);
	if (!id)
		return SENIM_OK;
	struct decision_offer_read *op = arena_alloc(&req->arena, sizeof(*op));
	if (!op)
		return SENIM_ERR_NOMEM;
	memset(op, 0, sizeof(*op));
	op->kr = req->app->keys;
	op->actor = req->actor.label;
	op->request_id = req->request_id;
	op->subject_id = req->actor.subject_id;
	op->id = id;
	return http_write_then(req, decisions_offer_read_tx, op, offer_answer);
}

/* ---- an underwriter on a referred case (U1) --------------------------------------- */

static const char *const outcomes[] = { "approve", "decline", NULL };
static const struct jsonin_field decision_fields[] = {
	{ .name = "outcome", .type = JSONIN_STRING, .required = 1, .allowed = outcomes },
	{ .name = "reason", .type = JSONIN_STRING, .min_len = 1, .max_len = 64 },
	/* approve only: a smaller amount, a shorter term than the card's offer */
	{ .name = "amount_tiyn", .type = JSONIN_INTEGER },
	{ .name = "term_days", .type = JSONIN_INTEGER },
};

static enum senim_result staff_decision_answer(struct http_request *req,
					       struct http_response *resp,
					       enum senim_result result, void *ctx)
{
	struct decision_staff *op = ctx;
	if (result == SENIM_ERR_NOT_FOUND)
		return http_reply_code(req, resp, "application_not_found");
	if (result == SENIM_ERR_CONFLICT && op->act == DECISION_STAFF_CONFIRM)
		return http_reply_code(req, resp, "application_open_exists");
	if (result == SENIM_ERR_CONFLICT)
		return http_reply_code(req, resp, "application_not_referred");
	if (result)
		return result;
	if (op->refused.why != ACCESS_GRANTED)
		return api_reply_refusal(req, resp, &op->refused);
	if (op->not_referred)
		return http_reply_code(req, resp, "application_not_referred");
	if (op->locked_by_other)
		return http_reply_code(req, resp, "application_locked");
	if (op->bound_field) {
		/* The underwriter may only make the offer smaller: the field,
		 * the bound it broke and its value. */
		struct problem p = { .code = "offer_outside_bounds",
				     .field = op->bound_field,
				     .rule = op->bound_rule,
				     .limit = op->bound_limit,
				     .extra = json_pack("{s:I}", "limit",
							(json_int_t)op->bound_limit) };
		return http_reply_problem(req, resp, &p);
	}
	if (op->rule_refused) {
		/* The chosen terms break a loan rule: named, nothing changed. */
		const struct loan_rule *r = op->rule.rule;
		json_t *extra =
			json_pack("{s:s}", "loan_rule",
				  op->rule.code ? op->rule.code : "offer_invalid");
		if (extra && r) {
			json_object_set_new(extra, "loan_rule_from",
					    json_string(r->from_text));
			json_object_set_new(extra, "loan_rule_source",
					    json_string(r->source));
		}
		struct problem p = { .code = "loan_rule_breached", .extra = extra };
		return http_reply_problem(req, resp, &p);
	}
	if (op->offer_impossible)
		return http_reply_code(req, resp, "offer_impossible");
	if (op->burden != DECISION_BURDEN_KEPT) {
		/* The card's КДН, named; never the burden itself (it tells
		 * the income, which staff do not read). */
		struct problem p = { .code = op->burden == DECISION_BURDEN_OVER_LIMIT
						     ? "debt_burden_over_limit"
						     : "debt_burden_unknown",
				     .limit = op->burden_limit_bp,
				     .extra =
					     json_pack("{s:s,s:I}", "scorecard_rule",
						       "max_debt_burden_bp", "limit_bp",
						       (json_int_t)op->burden_limit_bp) };
		return http_reply_problem(req, resp, &p);
	}
	if (op->nothing_pending)
		return http_reply_code(req, resp, "override_not_pending");
	if (op->same_person)
		return http_reply_code(req, resp, "maker_cannot_check");
	json_t *o = application_json(&op->app, NULL, APPLICATION_VIEW_FULL);
	if (o) {
		json_object_set_new(o, "subject_id", json_string(op->app.subject_id));
		if (op->act != DECISION_STAFF_LOCK && op->act != DECISION_STAFF_UNLOCK &&
		    !op->pending)
			json_object_set_new(o, "decision",
					    decision_json(op->decision.outcome,
							  op->decision.reasons,
							  lang_code(req->lang)));
	}
	/* An override waits for its checker: accepted, not done. */
	return http_reply_json(resp, op->pending ? 202 : 200, o);
}

static struct decision_staff *decision_staff_op(struct http_request *req, const char *id,
						enum decision_staff_act act)
{
	struct decision_staff *op = arena_alloc(&req->arena, sizeof(*op));
	if (!op)
		return NULL;
	memset(op, 0, sizeof(*op));
	op->kr = req->app->keys;
	op->matrix = &req->app->matrix;
	op->role = req->actor.role;
	op->actor = req->actor.label;
	op->request_id = req->request_id;
	op->id = id;
	op->act = act;
	return op;
}

/* An act on the case that takes no body: taking or releasing its lock. */
static enum senim_result staff_lock_act(struct http_request *req,
					struct http_response *resp,
					enum decision_staff_act act)
{
	const char *id = id_or_reply(req, resp);
	if (!id)
		return SENIM_OK;
	struct decision_staff *op = decision_staff_op(req, id, act);
	if (!op)
		return SENIM_ERR_NOMEM;
	return http_write_then(req, decisions_staff_tx, op, staff_decision_answer);
}

enum senim_result api_application_lock(struct http_request *req,
				       struct http_response *resp)
{
	return staff_lock_act(req, resp, DECISION_STAFF_LOCK);
}

enum senim_result api_application_unlock(struct http_request *req,
					 struct http_response *resp)
{
	return staff_lock_act(req, resp, DECISION_STAFF_UNLOCK);
}

enum senim_result api_application_decide(struct http_request *req,
					 struct http_response *resp)
{
	const char *id = id_or_reply(req, resp);
	if (!id)
		return SENIM_OK;
	json_t *body;
	if (http_json_body_or_reply(req, resp, decision_fields, COUNT(decision_fields),
				    &body))
		return SENIM_OK;
	struct decision_staff *op = decision_staff_op(req, id, DECISION_STAFF_DECIDE);
	if (!op) {
		json_decref(body);
		return SENIM_ERR_NOMEM;
	}
	op->approve = strcmp(jsonin_str(body, "outcome"), "approve") == 0;
	op->card = req->app->scorecard;
	const char *reason = jsonin_str(body, "reason");
	op->reason = reason ? scorecard_reason_parse(reason, strlen(reason))
			    : SCORE_REASON_NONE;
	/* A smaller amount or a shorter term: an approval's, at least 1 (the
	 * write checks them against the application, the card and the
	 * product). */
	static const char *const chosen[] = { "amount_tiyn", "term_days" };
	int64_t *chosen_to[] = { &op->chosen_amount_tiyn, &op->chosen_term_days };
	for (size_t i = 0; i < COUNT(chosen); i++) {
		json_t *v = json_object_get(body, chosen[i]);
		if (!v)
			continue;
		json_int_t n = json_integer_value(v);
		if (!op->approve || n < 1) {
			json_decref(body);
			return invalid(req, resp, chosen[i],
				       op->approve ? "min_value" : "approve_only",
				       op->approve ? 1 : 0);
		}
		*chosen_to[i] = (int64_t)n;
	}
	json_decref(body);
	/* A decline says why, with a code the borrower is told in words. */
	if (!op->approve && op->reason == SCORE_REASON_NONE)
		return invalid(req, resp, "reason", reason ? "enum_value" : "required",
			       0);
	char today[CLOCK_RFC3339_LEN], why[256];
	clock_format_rfc3339(clock_now_us(), today);
	today[10] = '\0';
	struct loan_rules_in_force *rules = arena_alloc(&req->arena, sizeof(*rules));
	if (!rules)
		return SENIM_ERR_NOMEM;
	if (!req->app->loan_rules ||
	    loan_rules_in_force(req->app->loan_rules, today, rules, why, sizeof(why)))
		return http_reply_code(req, resp, "loan_rules_unavailable");
	/* An approval keeps the card's debt-burden limit: without the card
	 * it cannot be known. */
	if (op->approve && !op->card)
		return http_reply_code(req, resp, "decisions_unavailable");
	op->rules = rules;
	return http_write_then(req, decisions_staff_tx, op, staff_decision_answer);
}

/* Maker-checker: a second underwriter confirms an override. */
enum senim_result api_application_confirm(struct http_request *req,
					  struct http_response *resp)
{
	const char *id = id_or_reply(req, resp);
	if (!id)
		return SENIM_OK;
	struct decision_staff *op = decision_staff_op(req, id, DECISION_STAFF_CONFIRM);
	if (!op)
		return SENIM_ERR_NOMEM;
	op->card = req->app->scorecard;
	if (!op->card)
		return http_reply_code(req, resp, "decisions_unavailable");
	char today[CLOCK_RFC3339_LEN], why[256];
	clock_format_rfc3339(clock_now_us(), today);
	today[10] = '\0';
	struct loan_rules_in_force *rules = arena_alloc(&req->arena, sizeof(*rules));
	if (!rules)
		return SENIM_ERR_NOMEM;
	if (!req->app->loan_rules ||
	    loan_rules_in_force(req->app->loan_rules, today, rules, why, sizeof(why)))
		return http_reply_code(req, resp, "loan_rules_unavailable");
	op->rules = rules;
	return http_write_then(req, decisions_staff_tx, op, staff_decision_answer);
}
