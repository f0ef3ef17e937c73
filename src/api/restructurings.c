/*
 * restructurings.c — restructuring requests and their decision (U2).
 *
 *   POST /v1/me/loans/{id}/restructuring   the borrower asks, inside the
 *                                          window, with a reason and a
 *                                          proposal; 201, or 409 with the
 *                                          open request's id
 *   GET  /v1/me/loans/{id}/restructuring   the loan's latest request, its
 *                                          outcome and reasons in ru/kk/en
 *   GET  /v1/restructurings                the underwriters' queue, oldest
 *                                          first, with the answer's due date
 *   POST /v1/restructurings/{id}/decision  approve (the schedule rewritten)
 *                                          or decline, with a reason
 *
 * Days are "YYYY-MM-DD", amounts tiyn.  No answer carries the contract
 * number or anything naming the borrower; another borrower's loan is 404.
 */
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/app.h"
#include "api/refusal.h"
#include "common/clock.h"
#include "lending/payments.h"
#include "lending/restructurings.h"
#include "common/banned.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static json_t *day_json(int32_t day)
{
	if (day == SERVICING_NO_DAY)
		return json_null();
	int y, m, d;
	char text[16];
	schedule_ymd(day, &y, &m, &d);
	snprintf(text, sizeof(text), "%04d-%02d-%02d", y, m, d);
	return json_string(text);
}

static json_t *ms_json(int64_t ms)
{
	char text[CLOCK_RFC3339_LEN];
	clock_format_rfc3339(ms * 1000, text);
	return json_string(text);
}

/* A reason code and its words in the three languages. */
static json_t *reason_json(const char *code)
{
	return json_pack("{s:s,s:{s:s?,s:s?,s:s?}}", "code", code, "text", "ru",
			 restructuring_reason_text(code, "ru"), "kk",
			 restructuring_reason_text(code, "kk"), "en",
			 restructuring_reason_text(code, "en"));
}

static json_t *restructuring_json(const struct restructuring *x, int staff)
{
	json_t *proposal = x->proposal.kind == RESTRUCTURE_TERM
				   ? json_pack("{s:s,s:i}", "kind", "term", "payments",
					       (int)x->proposal.payments)
				   : json_pack("{s:s,s:i}", "kind", "deferral", "months",
					       (int)x->proposal.months);
	json_t *decision = json_null();
	if (strcmp(x->status, "open") != 0) {
		decision = json_pack("{s:s,s:o,s:o}", "outcome", x->status, "reason",
				     reason_json(x->decision_reason), "decided_at",
				     ms_json(x->decided_at));
		if (decision && strcmp(x->status, "approved") == 0) {
			json_object_set_new(decision, "effective_on",
					    day_json(x->effective_day));
			json_object_set_new(decision, "schedule_version",
					    json_integer(x->schedule_version));
			json_object_set_new(decision, "gesv_bp",
					    json_integer(x->gesv_bp));
		}
	}
	json_t *o = json_pack("{s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:o}", "id", x->id,
			      "loan_id", x->loan_id, "status", x->status, "reason",
			      reason_json(x->reason), "proposal", proposal,
			      "requested_on", day_json(x->requested_day), "answer_due_on",
			      day_json(x->answer_due_day), "created_at",
			      ms_json(x->created_at), "decision", decision);
	if (o && staff)
		json_object_set_new(o, "subject_id", json_string(x->subject_id));
	return o;
}

static enum senim_result invalid(struct http_request *req, struct http_response *resp,
				 const char *field, const char *rule, long long limit)
{
	struct problem p = {
		.code = "validation_failed", .field = field, .rule = rule, .limit = limit
	};
	return http_reply_problem(req, resp, &p);
}

/* A loan rule by its code, the entry in force and its source, added to
 * extra (a new object when NULL): a problem's extension members. */
static json_t *rule_members(const char *code, const struct loan_rule *r, json_t *extra)
{
	if (!extra)
		extra = json_object();
	if (extra) {
		json_object_set_new(extra, "loan_rule", json_string(code));
		if (r) {
			json_object_set_new(extra, "loan_rule_from",
					    json_string(r->from_text));
			json_object_set_new(extra, "loan_rule_source",
					    json_string(r->source));
		}
	}
	return extra;
}

/* A proposal the loan cannot take: which way, by a stable word. */
static enum senim_result reply_proposal(struct http_request *req,
					struct http_response *resp,
					enum restructure_refusal why,
					const struct loan_rule_refusal *rule)
{
	const char *what = "out_of_range";
	switch (why) {
	case RESTRUCTURE_BREAKS_RULE: {
		struct problem p = { .code = "loan_rule_breached",
				     .extra =
					     rule_members(rule->code, rule->rule, NULL) };
		return http_reply_problem(req, resp, &p);
	}
	case RESTRUCTURE_CLOSED:
		return http_reply_code(req, resp, "loan_closed");
	case RESTRUCTURE_NOT_LONGER:
		what = "term_not_longer";
		break;
	case RESTRUCTURE_SINGLE_TERM:
		what = "single_payment_takes_deferral";
		break;
	case RESTRUCTURE_NOTHING_LEFT:
		what = "no_principal_left";
		break;
	case RESTRUCTURE_BAD_PROPOSAL:
	case RESTRUCTURE_OK:
		break;
	}
	struct problem p = { .code = "restructuring_proposal_invalid",
			     .extra = json_pack("{s:s}", "reason", what) };
	return http_reply_problem(req, resp, &p);
}

static int32_t today_day(void)
{
	return (int32_t)(clock_now_us() / 1000000 / 86400);
}

/* ---- the borrower --------------------------------------------------------------------- */

static const char *const reasons[] = { "income_loss", "job_loss", "family_circumstances",
				       "emergency",   "other",	  NULL };
static const char *const kinds[] = { "deferral", "term", NULL };
static const struct jsonin_field request_fields[] = {
	{ .name = "reason", .type = JSONIN_STRING, .required = 1, .allowed = reasons },
	{ .name = "kind", .type = JSONIN_STRING, .required = 1, .allowed = kinds },
	{ .name = "months", .type = JSONIN_INTEGER },
	{ .name = "payments", .type = JSONIN_INTEGER },
};

static enum senim_result request_answer(struct http_request *req,
					struct http_response *resp,
					enum senim_result result, void *ctx)
{
	struct restructuring_request *op = ctx;
	if (result == SENIM_ERR_NOT_FOUND)
		return http_reply_code(req, resp, "loan_not_found");
	if (result == SENIM_ERR_INVALID)
		return http_reply_code(req, resp, "loan_rules_unavailable");
	if (result)
		return result;
	if (op->existing) {
		struct problem p = { .code = "restructuring_open_exists",
				     .extra = json_pack("{s:s}", "restructuring_id",
							op->row.id) };
		return http_reply_problem(req, resp, &p);
	}
	if (op->outside_window) {
		/* The rule that closes the window, named as a loan rule is. */
		struct problem p = { .code = "restructuring_window_closed",
				     .extra = rule_members(
					     "restructuring", op->rule_entry,
					     json_pack("{s:I}", "window_days",
						       (json_int_t)op->window_days)) };
		return http_reply_problem(req, resp, &p);
	}
	if (op->proposal_refused)
		return reply_proposal(req, resp, op->proposal_refused, &op->rule);
	return http_reply_json(resp, 201, restructuring_json(&op->row, 0));
}

enum senim_result api_me_restructuring_create(struct http_request *req,
					      struct http_response *resp)
{
	const char *id = req->params[0];
	json_t *body;
	if (http_json_body_or_reply(req, resp, request_fields, COUNT(request_fields),
				    &body))
		return SENIM_OK;
	struct restructure_proposal proposal = { 0 };
	proposal.kind =
		(enum restructure_kind)restructure_kind_parse(jsonin_str(body, "kind"));
	json_t *months = json_object_get(body, "months");
	json_t *payments = json_object_get(body, "payments");
	int reason_ok = restructuring_reason_valid(jsonin_str(body, "reason"));
	const char *reason = jsonin_str(body, "reason");
	/* The reason is one of a static list: keep the list's pointer. */
	for (size_t i = 0; reasons[i]; i++)
		if (reason && strcmp(reason, reasons[i]) == 0)
			reason = reasons[i];
	json_int_t value = 0;
	const char *field = proposal.kind == RESTRUCTURE_TERM ? "payments" : "months";
	json_t *given = proposal.kind == RESTRUCTURE_TERM ? payments : months;
	json_t *other = proposal.kind == RESTRUCTURE_TERM ? months : payments;
	if (given)
		value = json_integer_value(given);
	json_decref(body);
	if (!reason_ok)
		return invalid(req, resp, "reason", "enum_value", 0);
	/* Each kind takes its own number, and only it. */
	if (!given)
		return invalid(req, resp, field, "required", 0);
	if (other)
		return invalid(req, resp,
			       proposal.kind == RESTRUCTURE_TERM ? "months" : "payments",
			       "unknown_field", 0);
	long long max = proposal.kind == RESTRUCTURE_TERM ? SCHEDULE_MAX_PAYMENTS
							  : RESTRUCTURE_MAX_DEFERRAL;
	if (value < 1)
		return invalid(req, resp, field, "min_value", 1);
	if (value > max)
		return invalid(req, resp, field, "max_value", max);
	if (proposal.kind == RESTRUCTURE_TERM)
		proposal.payments = (int32_t)value;
	else
		proposal.months = (int32_t)value;
	if (!loan_id_valid(id))
		return http_reply_code(req, resp, "loan_not_found");
	if (!req->app->loan_rules)
		return http_reply_code(req, resp, "loan_rules_unavailable");
	struct restructuring_request *op =
		arena_alloc_disposable(&req->arena, sizeof(*op), NULL);
	if (!op)
		return SENIM_ERR_NOMEM;
	op->kr = req->app->keys;
	op->rules = req->app->loan_rules;
	op->actor = req->actor.label;
	op->request_id = req->request_id;
	op->subject_id = req->actor.subject_id;
	op->loan_id = id;
	op->reason = reason;
	op->proposal = proposal;
	op->today = today_day();
	return http_write_then(req, restructuring_request_tx, op, request_answer);
}

static enum senim_result own_answer(struct http_request *req, struct http_response *resp,
				    enum senim_result result, void *ctx)
{
	struct restructuring_own *op = ctx;
	if (result == SENIM_ERR_NOT_FOUND)
		return http_reply_code(req, resp, "restructuring_not_found");
	if (result)
		return result;
	return http_reply_json(resp, 200, restructuring_json(&op->row, 0));
}

enum senim_result api_me_restructuring(struct http_request *req,
				       struct http_response *resp)
{
	const char *id = req->params[0];
	if (!loan_id_valid(id))
		return http_reply_code(req, resp, "restructuring_not_found");
	struct restructuring_own *op =
		arena_alloc_disposable(&req->arena, sizeof(*op), NULL);
	if (!op)
		return SENIM_ERR_NOMEM;
	op->kr = req->app->keys;
	op->actor = req->actor.label;
	op->request_id = req->request_id;
	op->subject_id = req->actor.subject_id;
	op->loan_id = id;
	return http_write_then(req, restructuring_own_tx, op, own_answer);
}

/* ---- the underwriters ----------------------------------------------------------------- */

static enum senim_result queue_answer(struct http_request *req,
				      struct http_response *resp,
				      enum senim_result result, void *ctx)
{
	struct restructuring_queue *op = ctx;
	if (result)
		return result;
	if (op->refused.why != ACCESS_GRANTED)
		return api_reply_refusal(req, resp, &op->refused);
	json_t *items = json_array();
	for (int i = 0; items && i < op->count; i++)
		json_array_append_new(items, restructuring_json(&op->rows[i], 1));
	return http_reply_json(resp, 200, json_pack("{s:o}", "restructurings", items));
}

enum senim_result api_restructurings(struct http_request *req, struct http_response *resp)
{
	(void)resp; /* answered by queue_answer */
	struct restructuring_queue *op = arena_alloc_disposable(
		&req->arena, sizeof(*op), restructuring_queue_dispose);
	if (!op)
		return SENIM_ERR_NOMEM;
	op->kr = req->app->keys;
	op->matrix = &req->app->matrix;
	op->role = req->actor.role;
	op->actor = req->actor.label;
	op->request_id = req->request_id;
	return http_write_then(req, restructuring_queue_tx, op, queue_answer);
}

static const char *const outcomes[] = { "approve", "decline", NULL };
static const char *const decision_reasons[] = { "hardship_confirmed",
						"insufficient_grounds",
						"proposal_unaffordable",
						"documents_missing", NULL };
static const struct jsonin_field decision_fields[] = {
	{ .name = "outcome", .type = JSONIN_STRING, .required = 1, .allowed = outcomes },
	{ .name = "reason",
	  .type = JSONIN_STRING,
	  .required = 1,
	  .allowed = decision_reasons },
};

static enum senim_result decide_answer(struct http_request *req,
				       struct http_response *resp,
				       enum senim_result result, void *ctx)
{
	struct restructuring_decide *op = ctx;
	if (result == SENIM_ERR_NOT_FOUND)
		return http_reply_code(req, resp, "restructuring_not_found");
	if (result == SENIM_ERR_INVALID)
		return http_reply_code(req, resp, "loan_rules_unavailable");
	if (result)
		return result;
	if (op->refused.why != ACCESS_GRANTED)
		return api_reply_refusal(req, resp, &op->refused);
	if (op->not_open)
		return http_reply_code(req, resp, "restructuring_decided");
	if (op->loan_closed)
		return http_reply_code(req, resp, "loan_closed");
	if (op->proposal_refused)
		return reply_proposal(req, resp, op->proposal_refused, &op->rule);
	return http_reply_json(resp, 200, restructuring_json(&op->row, 1));
}

enum senim_result api_restructuring_decide(struct http_request *req,
					   struct http_response *resp)
{
	const char *id = req->params[0];
	json_t *body;
	if (http_json_body_or_reply(req, resp, decision_fields, COUNT(decision_fields),
				    &body))
		return SENIM_OK;
	int approve = strcmp(jsonin_str(body, "outcome"), "approve") == 0;
	const char *given = jsonin_str(body, "reason");
	const char *reason = NULL;
	for (size_t i = 0; decision_reasons[i]; i++)
		if (strcmp(given, decision_reasons[i]) == 0)
			reason = decision_reasons[i];
	json_decref(body);
	/* An approval says why it approves, a decline why it declines. */
	if (!restructuring_decision_reason_valid(reason, approve))
		return invalid(req, resp, "reason", "enum_value", 0);
	if (!restructuring_id_valid(id))
		return http_reply_code(req, resp, "restructuring_not_found");
	if (!req->app->loan_rules)
		return http_reply_code(req, resp, "loan_rules_unavailable");
	struct restructuring_decide *op =
		arena_alloc_disposable(&req->arena, sizeof(*op), NULL);
	if (!op)
		return SENIM_ERR_NOMEM;
	op->kr = req->app->keys;
	op->rules = req->app->loan_rules;
	op->matrix = &req->app->matrix;
	op->role = req->actor.role;
	op->actor = req->actor.label;
	op->request_id = req->request_id;
	op->id = id;
	op->approve = approve;
	op->reason = reason;
	op->today = today_day();
	return http_write_then(req, restructuring_decide_tx, op, decide_answer);
}
