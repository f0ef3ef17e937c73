/*
 * loans.c — senim's loans after the payout (U2).
 *
 *   POST /v1/loans/{id}/payments      a repayment, from the payment provider
 *                                     (role payment_provider), idempotent
 *                                     by the provider's reference
 *   GET  /v1/me/loans                 the borrower's loans, newest first
 *   GET  /v1/me/loans/{id}            one: terms, state, payoff
 *   GET  /v1/me/loans/{id}/schedule   its current schedule
 *   GET  /v1/me/loans/{id}/payments   its payments, with their split
 *
 * Amounts are tiyn as JSON integers, days "YYYY-MM-DD".  No answer carries
 * the contract number or the borrower's IIN; another borrower's loan is
 * 404, as one that does not exist.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/app.h"
#include "common/clock.h"
#include "connectors/payment.h"
#include "lending/loans.h"
#include "lending/payments.h"
#include "common/banned.h"

/* The payment provider: recipient `payments` of data/recipients.conf
 * (payout/1).  senim has one; the code keys its references. */
#define PROVIDER "payments"

static json_t *day_json(int32_t day)
{
	int y, m, d;
	char text[16];
	schedule_ymd(day, &y, &m, &d);
	snprintf(text, sizeof(text), "%04d-%02d-%02d", y, m, d);
	return json_string(text);
}

static json_t *split_json(const struct servicing_split *s)
{
	return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "principal_overdue",
			 (json_int_t)s->principal_overdue, "interest_overdue",
			 (json_int_t)s->interest_overdue, "penalty",
			 (json_int_t)s->penalty, "principal_current",
			 (json_int_t)s->principal_current, "interest_current",
			 (json_int_t)s->interest_current, "interest_to_date",
			 (json_int_t)s->interest_to_date, "principal_early",
			 (json_int_t)s->principal_early);
}

static json_t *payment_json(const struct loan_payment *p)
{
	char received[CLOCK_RFC3339_LEN];
	clock_format_rfc3339(p->received_at * 1000, received);
	return json_pack("{s:s,s:s,s:s,s:I,s:o,s:o,s:s,s:s,s:o,s:I,s:I,s:s,s:s}", "id",
			 p->id, "loan_id", p->loan_id, "provider_ref", p->reference,
			 "amount_tiyn", (json_int_t)p->amount, "paid_on",
			 day_json(p->paid_day), "applied_on", day_json(p->applied_day),
			 "kind", p->kind, "channel", p->channel, "split",
			 split_json(&p->split), "overpayment_tiyn",
			 (json_int_t)p->split.overpayment, "principal_after_tiyn",
			 (json_int_t)p->principal_after, "loan_status", p->status_after,
			 "received_at", received);
}

/* ---- the provider's repayment ---------------------------------------------------- */

/* The notice's canonical form, hashed: what "the same body" means. */
static void notice_digest(const struct payment_notice *n, unsigned char out[32])
{
	char canon[PAYMENT_REF_MAX + 96];
	int len = snprintf(canon, sizeof(canon), "%s|%lld|%lld|%s|%d", n->provider_ref,
			   (long long)n->amount_tiyn, (long long)n->paid_at,
			   payment_channel_code(n->channel), (int)n->kind);
	crypto_hash_sha256(out, (const unsigned char *)canon, (size_t)len);
}

/* The parser's reason ("FIELD RULE ...") as a 422 naming the field. */
static enum senim_result reply_notice_invalid(struct http_request *req,
					      struct http_response *resp, const char *why)
{
	char field[32];
	size_t n = strcspn(why, " .");
	snprintf(field, sizeof(field), "%.*s", (int)(n < sizeof(field) ? n : 0), why);
	const char *rule = "format";
	long long limit = 0;
	if (strstr(why, "unknown field")) {
		rule = "unknown_field";
	} else if (strstr(why, "exceeds")) {
		rule = "max_length";
		limit = PAYMENT_NOTICE_MAX;
	} else if (strstr(why, "missing")) {
		rule = "required";
	}
	struct problem p = { .code = "validation_failed",
			     .field = field[0] ? field : "body",
			     .rule = rule,
			     .limit = limit };
	return http_reply_problem(req, resp, &p);
}

static enum senim_result payment_answer(struct http_request *req,
					struct http_response *resp,
					enum senim_result result, void *ctx)
{
	struct loan_payment_op *op = ctx;
	if (result == SENIM_ERR_NOT_FOUND)
		return http_reply_code(req, resp, "loan_not_found");
	/* The amount is checked already: what servicing or a day's close
	 * refuses is a day without the rules (an allocation order) in force. */
	if (result == SENIM_ERR_INVALID)
		return http_reply_code(req, resp, "loan_rules_unavailable");
	if (result)
		return result;
	switch (op->outcome) {
	case LOAN_PAYMENT_CLOSED:
		return http_reply_code(req, resp, "loan_closed");
	case LOAN_PAYMENT_REUSED:
	case LOAN_PAYMENT_OTHER_LOAN:
		return http_reply_code(req, resp, "payment_reference_reused");
	case LOAN_PAYMENT_REPLAYED:
		return http_reply_json(resp, 200, payment_json(&op->row));
	case LOAN_PAYMENT_APPLIED:
		break;
	}
	return http_reply_json(resp, 201, payment_json(&op->row));
}

enum senim_result api_loan_payment(struct http_request *req, struct http_response *resp)
{
	struct app *app = req->app;
	const char *id = req->params[0];
	json_t *doc;
	if (http_json_body_or_reply(req, resp, NULL, 0, &doc))
		return SENIM_OK; /* 415, or 400 malformed_json */
	json_decref(doc);
	struct payment_notice n;
	char why[CODEC_REASON_MAX];
	if (payment_notice_parse(req->body, req->body_len, clock_now_us() / 1000000, &n,
				 why))
		return reply_notice_invalid(req, resp, why);
	if (!loan_id_valid(id))
		return http_reply_code(req, resp, "loan_not_found");
	if (!app->loan_rules)
		return http_reply_code(req, resp, "loan_rules_unavailable");
	struct loan_payment_op *op =
		arena_alloc_disposable(&req->arena, sizeof(*op), NULL);
	if (!op)
		return SENIM_ERR_NOMEM;
	op->kr = app->keys;
	op->rules = app->loan_rules;
	op->actor = req->actor.label;
	op->request_id = req->request_id;
	op->provider = PROVIDER;
	op->loan_id = id;
	/* The op outlives this frame: copies into the request's arena. */
	char *ref = arena_alloc_disposable(&req->arena, sizeof(n.provider_ref), NULL);
	if (!ref)
		return SENIM_ERR_NOMEM;
	memcpy(ref, n.provider_ref, sizeof(n.provider_ref));
	op->reference = ref;
	op->channel = payment_channel_code(n.channel);
	op->amount = n.amount_tiyn;
	op->paid_day = (int32_t)(n.paid_at / 86400);
	op->today = (int32_t)(clock_now_us() / 1000000 / 86400);
	op->kind = n.kind == PAYMENT_KIND_EARLY ? SERVICING_PAY_EARLY : SERVICING_PAY_DUE;
	notice_digest(&n, op->digest);
	return http_write_then(req, loan_payment_tx, op, payment_answer);
}

/* ---- the borrower's reads ----------------------------------------------------------- */

static json_t *rows_json(const struct loan *l)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < l->nrows; i++) {
		const struct schedule_row *r = &l->rows[i];
		json_array_append_new(
			a, json_pack("{s:o,s:I,s:I,s:I,s:I}", "due_on", day_json(r->due),
				     "principal_tiyn", (json_int_t)r->principal,
				     "interest_tiyn", (json_int_t)r->interest,
				     "total_tiyn", (json_int_t)r->total, "balance_tiyn",
				     (json_int_t)r->balance));
	}
	return a;
}

static json_t *loan_json(const struct loan_view *v)
{
	const struct loan *l = &v->loan;
	const struct loan_state *s = &l->state;
	json_t *o = json_pack(
		"{s:s,s:s,s:{s:I,s:I,s:s,s:o,s:I,s:I},s:{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,"
		"s:I}"
		","
		"s:{s:o,s:I}}",
		"id", l->id, "status", loan_status_code((enum loan_status)s->status),
		"terms", "principal_tiyn", (json_int_t)l->terms.principal, "rate_bp",
		(json_int_t)l->terms.rate_bp, "schedule_method",
		loan_method_code(l->terms.method), "start_on", day_json(l->terms.start),
		"penalty_daily_bp", (json_int_t)l->terms.penalty_daily_bp,
		"penalty_annual_bp", (json_int_t)l->terms.penalty_annual_bp, "state",
		"outstanding_principal_tiyn", (json_int_t)s->principal,
		"due_principal_tiyn", (json_int_t)s->due_principal, "due_interest_tiyn",
		(json_int_t)s->due_interest, "due_penalty_tiyn",
		(json_int_t)s->due_penalty, "interest_accrued_tiyn",
		(json_int_t)s->interest_accrued, "interest_carried_tiyn",
		(json_int_t)s->carried_interest, "overdue_days",
		(json_int_t)s->overdue_days, "overpaid_tiyn", (json_int_t)s->overpaid,
		"paid_principal_tiyn", (json_int_t)s->paid_principal, "payoff", "on",
		day_json(v->today), "amount_tiyn", (json_int_t)v->payoff);
	if (o && l->terms.method == SCHEDULE_SINGLE)
		json_object_set_new(json_object_get(o, "terms"), "term_days",
				    json_integer(l->days));
	else if (o)
		json_object_set_new(json_object_get(o, "terms"), "payments",
				    json_integer(l->payments));
	return o;
}

static enum senim_result own_answer(struct http_request *req, struct http_response *resp,
				    enum senim_result result, void *ctx)
{
	struct loan_own *op = ctx;
	if (result == SENIM_ERR_NOT_FOUND)
		return http_reply_code(req, resp, "loan_not_found");
	if (result)
		return result;
	json_t *doc = NULL;
	switch (op->view) {
	case LOAN_OWN_LIST: {
		json_t *items = json_array();
		for (int i = 0; items && i < op->count; i++)
			json_array_append_new(items, loan_json(&op->loans[i]));
		doc = json_pack("{s:o}", "loans", items);
		break;
	}
	case LOAN_OWN_ONE:
		doc = loan_json(&op->loans[0]);
		break;
	case LOAN_OWN_SCHEDULE:
		doc = json_pack("{s:s,s:I,s:o}", "loan_id", op->loans[0].loan.id,
				"schedule_version",
				(json_int_t)op->loans[0].loan.state.schedule_version,
				"rows", rows_json(&op->loans[0].loan));
		break;
	case LOAN_OWN_PAYMENTS: {
		json_t *items = json_array();
		for (int i = 0; items && i < op->npayments; i++)
			json_array_append_new(items, payment_json(&op->payments[i]));
		doc = json_pack("{s:s,s:o}", "loan_id", op->loans[0].loan.id, "payments",
				items);
		break;
	}
	}
	return http_reply_json(resp, 200, doc);
}

static enum senim_result own_read(struct http_request *req, struct http_response *resp,
				  enum loan_own_view view)
{
	const char *id = view == LOAN_OWN_LIST ? NULL : req->params[0];
	if (view != LOAN_OWN_LIST && !loan_id_valid(id))
		return http_reply_code(req, resp, "loan_not_found");
	struct loan_own *op =
		arena_alloc_disposable(&req->arena, sizeof(*op), loan_own_dispose);
	if (!op)
		return SENIM_ERR_NOMEM;
	op->kr = req->app->keys;
	op->actor = req->actor.label;
	op->request_id = req->request_id;
	op->subject_id = req->actor.subject_id;
	op->id = id;
	op->view = view;
	op->rules = req->app->loan_rules;
	op->today = (int32_t)(clock_now_us() / 1000000 / 86400);
	return http_write_then(req, loan_own_tx, op, own_answer);
}

enum senim_result api_me_loans(struct http_request *req, struct http_response *resp)
{
	return own_read(req, resp, LOAN_OWN_LIST);
}

enum senim_result api_me_loan(struct http_request *req, struct http_response *resp)
{
	return own_read(req, resp, LOAN_OWN_ONE);
}

enum senim_result api_me_loan_schedule(struct http_request *req,
				       struct http_response *resp)
{
	return own_read(req, resp, LOAN_OWN_SCHEDULE);
}

enum senim_result api_me_loan_payments(struct http_request *req,
				       struct http_response *resp)
{
	return own_read(req, resp, LOAN_OWN_PAYMENTS);
}
