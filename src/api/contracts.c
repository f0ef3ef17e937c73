/*
 * contracts.c — accepting an offer, signing the contract, reading it
 * (issue 12; lending/contracts.h).
 *
 *   POST /v1/me/applications/{id}/acceptance        {"method": ...}: the
 *                                                   contract is made, a code
 *                                                   goes by SMS
 *   POST /v1/me/applications/{id}/signature         {"code": "123456"}
 *   GET  /v1/me/applications/{id}/contract          the document, by Accept:
 *                                                   application/pdf (default)
 *                                                   or text/html
 *   GET  /v1/me/applications/{id}/contract/receipt  number, SHA-256, signed
 *                                                   at, method
 *   GET  /v1/applications/{id}/contract             staff under U2, by Accept
 *
 * The code travels only in the SMS and the signature's body, never in a
 * URL, a log or an answer.  Another borrower's application is 404.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/app.h"
#include "api/refusal.h"
#include "common/clock.h"
#include "connectors/sms.h"
#include "http/ratelimit.h"
#include "lending/contracts.h"
#include "common/banned.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Acceptances (one SMS each) per borrower per window: a code locked after
 * its tries is replaced by accepting again, so this bounds the guesses. */
#define ACCEPTS_PER_WINDOW 3
#define ACCEPT_WINDOW_S 600

static const char *id_or_reply(struct http_request *req, struct http_response *resp)
{
	const char *id = req->params[0];
	if (application_id_valid(id))
		return id;
	http_reply_code(req, resp, "application_not_found");
	return NULL;
}

/* The rules in force today into *out (from the request's arena); NULL when
 * none can be known (the caller answers loan_rules_unavailable). */
static const struct loan_rules_in_force *rules_today(struct http_request *req)
{
	char day[CLOCK_RFC3339_LEN], why[256];
	clock_format_rfc3339(clock_now_us(), day);
	day[10] = '\0';
	struct loan_rules_in_force *r = arena_alloc(&req->arena, sizeof(*r));
	if (!r || !req->app->loan_rules ||
	    loan_rules_in_force(req->app->loan_rules, day, r, why, sizeof(why)))
		return NULL;
	return r;
}

/* A refused act: its problem. */
static enum senim_result reply_refusal(struct http_request *req,
				       struct http_response *resp,
				       enum contract_refusal why,
				       const struct access_refusal *refused,
				       const struct loan_rule_refusal *rule, int64_t left)
{
	struct problem p = { 0 };
	switch (why) {
	case CONTRACT_REFUSED_ACCESS:
		return api_reply_refusal(req, resp, refused);
	case CONTRACT_REFUSED_NOT_APPROVED:
		p.code = "application_not_approved";
		break;
	case CONTRACT_REFUSED_METHOD:
		p.code = "schedule_method_not_offered";
		break;
	case CONTRACT_REFUSED_LOAN_RULE:
		p.code = "loan_rule_breached";
		p.extra = json_pack("{s:s}", "loan_rule",
				    rule && rule->code ? rule->code : "offer_invalid");
		if (p.extra && rule && rule->rule) {
			json_object_set_new(p.extra, "loan_rule_from",
					    json_string(rule->rule->from_text));
			json_object_set_new(p.extra, "loan_rule_source",
					    json_string(rule->rule->source));
		}
		break;
	case CONTRACT_REFUSED_NO_PHONE:
		p.code = "contract_no_phone";
		break;
	case CONTRACT_REFUSED_NOT_ACCEPTED:
		p.code = "contract_not_found";
		break;
	case CONTRACT_REFUSED_SIGNED:
		p.code = "contract_signed_already";
		break;
	case CONTRACT_REFUSED_NOT_SIGNED:
		p.code = "contract_not_signed";
		break;
	case CONTRACT_REFUSED_CODE_INVALID:
		p.code = "signature_code_invalid";
		p.extra = json_pack("{s:I}", "attempts_left", (json_int_t)left);
		break;
	case CONTRACT_REFUSED_CODE_EXPIRED:
		p.code = "signature_code_expired";
		break;
	case CONTRACT_REFUSED_CODE_LOCKED:
		p.code = "signature_code_locked";
		break;
	case CONTRACT_REFUSED_NONE:
		return SENIM_ERR_INVALID; /* not a refusal: a programmer's slip */
	}
	return http_reply_problem(req, resp, &p);
}

/* ---- acceptance ---------------------------------------------------------------------- */

struct accept_call {
	struct app *app;
	struct contract_accept op;
	struct contracts_env env;
	enum lang lang;
	int64_t asked_at;
	int sms_failed;
};

static void accept_dispose(void *c)
{
	struct accept_call *call = c;
	contract_accept_dispose(&call->op);
	sodium_memzero(call, sizeof(*call));
}

/* The code first: a reader (or a phone's code autofill) takes the first
 * six digits, and the contract's number has digits too. */
static void code_text(enum lang l, const char *number, const char *code, char *out,
		      size_t cap)
{
	switch (l) {
	case LANG_KK:
		snprintf(out, cap,
			 "senim: %s — %s шартына қол қою коды. Оны ешкімге айтпаңыз.",
			 code, number);
		break;
	case LANG_EN:
		snprintf(out, cap,
			 "senim: %s is the code to sign contract %s. Do not share it.",
			 code, number);
		break;
	default:
		snprintf(out, cap,
			 "senim: %s — код для подписания договора %s. Никому его не "
			 "сообщайте.",
			 code, number);
	}
}

/* On an I/O thread: the contract's write, then the code by SMS, then the
 * send's register entry (T5) when a processor carries it. */
static enum senim_result run_accept(void *ctx)
{
	struct accept_call *c = ctx;
	enum senim_result err = store_write(c->app->store, contracts_accept_tx, &c->op);
	if (err || c->op.refusal)
		return err;
	char text[240];
	struct borrower_sms_fate *f = &c->op.sms;
	const struct recipient_service *svc = NULL;
	f->rc = borrower_sms_processor(c->app->recipients, &svc);
	f->svc = svc;
	code_text(c->lang, c->op.number, c->op.code, text, sizeof(text));
	err = sms_send_traced(c->app->sms, c->op.phone, text, c->op.request_id,
			      c->asked_at + (int64_t)SMS_DEADLINE_MS * 1000,
			      &f->may_have_reached);
	f->failed = err != SENIM_OK;
	sodium_memzero(text, sizeof(text));
	sodium_memzero(c->op.code, sizeof(c->op.code));
	c->sms_failed = err != SENIM_OK;
	if (f->rc) {
		enum senim_result werr =
			store_write(c->app->store, contracts_accept_sms_tx, &c->op);
		if (werr)
			return werr;
	}
	return SENIM_OK;
}

static enum senim_result accept_answer(struct http_request *req,
				       struct http_response *resp,
				       enum senim_result result, void *ctx)
{
	struct accept_call *c = ctx;
	struct contract_accept *op = &c->op;
	if (result == SENIM_ERR_NOT_FOUND)
		return http_reply_code(req, resp, "application_not_found");
	if (result)
		return result;
	if (op->refusal)
		return reply_refusal(req, resp, op->refusal, &op->refused, &op->rule, 0);
	if (c->sms_failed)
		return http_reply_code(req, resp, "sms_unavailable");
	char when[CLOCK_RFC3339_LEN];
	clock_format_rfc3339(op->code_expires_at, when);
	return http_reply_json(
		resp, 202,
		json_pack("{s:s,s:s,s:s,s:s,s:I,s:s,s:i}", "application_id", op->id,
			  "contract_number", op->number, "method",
			  op->method == SCHEDULE_ANNUITY	  ? "annuity"
			  : op->method == SCHEDULE_DIFFERENTIATED ? "differentiated"
								  : "single",
			  "document_sha256", op->sha256_hex, "gesv_bp",
			  (json_int_t)op->gesv_bp, "code_expires_at", when, "attempts",
			  CONTRACT_SIGN_ATTEMPTS));
}

static const char *const methods[] = { "annuity", "differentiated", "single", NULL };
static const struct jsonin_field accept_fields[] = {
	{ .name = "method", .type = JSONIN_STRING, .required = 1, .allowed = methods },
};

enum senim_result api_me_application_accept(struct http_request *req,
					    struct http_response *resp)
{
	const char *id = id_or_reply(req, resp);
	json_t *body;
	if (!id || http_json_body_or_reply(req, resp, accept_fields, COUNT(accept_fields),
					   &body))
		return SENIM_OK;
	enum schedule_method method = SCHEDULE_ANNUITY;
	int ok = contracts_method_parse(jsonin_str(body, "method"), &method);
	json_decref(body);
	if (!ok)
		return http_reply_code(req, resp, "schedule_method_not_offered");
	struct app *app = req->app;
	if (!app->contract_template)
		return http_reply_code(req, resp, "contracts_unavailable");
	const struct loan_rules_in_force *rules = rules_today(req);
	if (!rules)
		return http_reply_code(req, resp, "loan_rules_unavailable");
	if (!app->sms)
		return http_reply_code(req, resp, "sms_unavailable");
	int retry = 0;
	if (!ratelimit_hit(app->limits, "contract-accept", req->actor.subject_id,
			   strlen(req->actor.subject_id), ACCEPTS_PER_WINDOW,
			   ACCEPT_WINDOW_S, &retry)) {
		char v[16];
		snprintf(v, sizeof(v), "%d", retry);
		enum senim_result err = http_reply_code(req, resp, "rate_limited");
		return err ? err : http_add_header(req, resp, "Retry-After", v);
	}
	struct accept_call *c =
		arena_alloc_disposable(&req->arena, sizeof(*c), accept_dispose);
	if (!c)
		return SENIM_ERR_NOMEM;
	c->app = app;
	c->lang = req->lang;
	c->asked_at = clock_mono_us();
	c->env = (struct contracts_env){ .tpl = app->contract_template,
					 .lender_name = app->lender_name,
					 .lender_details = app->lender_details };
	c->op.kr = app->keys;
	c->op.matrix = &app->matrix;
	c->op.env = &c->env;
	c->op.rules = rules;
	c->op.actor = req->actor.label;
	c->op.request_id = req->request_id;
	c->op.subject_id = req->actor.subject_id;
	c->op.id = id;
	c->op.method = method;
	return http_call_then(req, run_accept, c, accept_answer);
}

/* ---- signature ----------------------------------------------------------------------- */

static json_t *receipt_json(const struct contract_receipt *r, const char *id)
{
	char signed_at[CLOCK_RFC3339_LEN], due[CLOCK_RFC3339_LEN];
	clock_format_rfc3339(r->signed_at, signed_at);
	clock_format_rfc3339(r->payout_due_at, due);
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I}", "application_id", id,
			 "contract_number", r->number, "document_sha256", r->sha256_hex,
			 "signed_at", signed_at, "method", r->method, "payout_due_at",
			 due, "cooling_off_minutes", (json_int_t)r->hold_minutes);
}

static enum senim_result sign_answer(struct http_request *req, struct http_response *resp,
				     enum senim_result result, void *ctx)
{
	struct contract_sign *op = ctx;
	if (result == SENIM_ERR_NOT_FOUND)
		return http_reply_code(req, resp, "application_not_found");
	if (result)
		return result;
	if (op->refusal)
		return reply_refusal(req, resp, op->refusal, NULL, NULL,
				     op->attempts_left);
	return http_reply_json(resp, 200, receipt_json(&op->receipt, op->id));
}

static int digits6(const char *s, size_t len)
{
	if (len != 6)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

static const struct jsonin_field sign_fields[] = {
	{ .name = "code",
	  .type = JSONIN_STRING,
	  .required = 1,
	  .min_len = 6,
	  .max_len = 6,
	  .format = digits6 },
};

enum senim_result api_me_application_sign(struct http_request *req,
					  struct http_response *resp)
{
	const char *id = id_or_reply(req, resp);
	json_t *body;
	if (!id ||
	    http_json_body_or_reply(req, resp, sign_fields, COUNT(sign_fields), &body))
		return SENIM_OK;
	struct contract_sign *op =
		arena_alloc_disposable(&req->arena, sizeof(*op), contract_sign_dispose);
	if (!op) {
		json_decref(body);
		return SENIM_ERR_NOMEM;
	}
	snprintf(op->code, sizeof(op->code), "%s", jsonin_str(body, "code"));
	json_decref(body);
	op->rules = rules_today(req);
	if (!op->rules)
		return http_reply_code(req, resp, "loan_rules_unavailable");
	op->kr = req->app->keys;
	op->actor = req->actor.label;
	op->request_id = req->request_id;
	op->subject_id = req->actor.subject_id;
	op->id = id;
	return http_write_then(req, contracts_sign_tx, op, sign_answer);
}

/* ---- reading ------------------------------------------------------------------------- */

/* The document the Accept header asks for: 1 PDF, 0 HTML, -1 neither.  No
 * header, or one that takes anything, gets the PDF: the document signed. */
static int wants_pdf(struct http_request *req)
{
	const char *a = http_header(req, "Accept");
	if (!a || !*a || strstr(a, "application/pdf"))
		return 1;
	if (strstr(a, "text/html"))
		return 0;
	if (strstr(a, "*/*") || strstr(a, "application/*"))
		return 1;
	if (strstr(a, "text/*"))
		return 0;
	return -1;
}

static enum senim_result read_answer(struct http_request *req, struct http_response *resp,
				     enum senim_result result, void *ctx)
{
	struct contract_read *op = ctx;
	if (result == SENIM_ERR_NOT_FOUND)
		return http_reply_code(req, resp, "application_not_found");
	if (result)
		return result;
	if (op->refusal)
		return reply_refusal(req, resp, op->refusal, &op->refused, NULL, 0);
	if (op->receipt_only)
		return http_reply_json(resp, 200, receipt_json(&op->receipt, op->id));
	enum senim_result err = http_reply_bytes(
		resp, 200, op->pdf ? "application/pdf" : "text/html; charset=utf-8",
		op->doc.data, op->doc.len);
	/* The PDF is the document signed: its hash beside it, to compare with
	 * the receipt's. */
	if (!err && op->pdf)
		err = http_add_header(req, resp, "X-Document-SHA256",
				      op->receipt.sha256_hex);
	if (!err)
		err = http_add_header(req, resp, "Cache-Control", "no-store");
	return err;
}

static enum senim_result contract_get(struct http_request *req,
				      struct http_response *resp, int staff, int pdf,
				      int receipt_only)
{
	const char *id = id_or_reply(req, resp);
	if (!id)
		return SENIM_OK;
	if (pdf < 0)
		return http_reply_code(req, resp, "not_acceptable");
	struct contract_read *op =
		arena_alloc_disposable(&req->arena, sizeof(*op), contract_read_dispose);
	if (!op)
		return SENIM_ERR_NOMEM;
	buf_init(&op->doc, CONTRACT_DOC_MAX);
	op->kr = req->app->keys;
	op->matrix = &req->app->matrix;
	op->actor = req->actor.label;
	op->request_id = req->request_id;
	op->subject_id = staff ? NULL : req->actor.subject_id;
	op->id = id;
	op->staff = staff;
	op->role = req->actor.role;
	op->pdf = pdf;
	op->receipt_only = receipt_only;
	return http_write_then(req, contracts_read_tx, op, read_answer);
}

enum senim_result api_me_application_contract(struct http_request *req,
					      struct http_response *resp)
{
	return contract_get(req, resp, 0, wants_pdf(req), 0);
}

enum senim_result api_me_application_receipt(struct http_request *req,
					     struct http_response *resp)
{
	return contract_get(req, resp, 0, 1, 1);
}

enum senim_result api_application_contract(struct http_request *req,
					   struct http_response *resp)
{
	return contract_get(req, resp, 1, wants_pdf(req), 0);
}
