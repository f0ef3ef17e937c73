/*
 * payouts.c — the borrower's acts between the signature and the payout
 * (issue 12; lending/payouts.h, docs/payout.md).
 *
 *   POST /v1/me/applications/{id}/payout-confirmation  after the cooling-off
 *                                                      hold: "pay me now"
 *   POST /v1/me/applications/{id}/cancellation         during the hold (or
 *                                                      before the payout
 *                                                      starts): withdrawn
 *   GET  /v1/payouts/failed                             support, underwriter:
 *                                                      the payouts that
 *                                                      failed for good
 *   POST /v1/payouts/{id}/retry                         support, underwriter:
 *                                                      back to the pump
 *   POST /v1/payouts/{id}/closure                       support, underwriter:
 *                                                      ended, nothing lent
 *
 * Law 56-V art. 3 p.3-3 part 7: where the hold applies the money goes only
 * after the borrower confirms again once it has passed.  The payout itself
 * is serve's pump's (lending/payouts.c).  Another borrower's application
 * is 404, as one that does not exist.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/app.h"
#include "api/refusal.h"
#include "common/clock.h"
#include "lending/applications.h"
#include "lending/payouts.h"
#include "common/banned.h"

static enum senim_result act_answer(struct http_request *req, struct http_response *resp,
				    enum senim_result result, void *ctx)
{
	struct payout_act *op = ctx;
	if (result == SENIM_ERR_NOT_FOUND)
		return http_reply_code(req, resp, "application_not_found");
	if (result)
		return result;
	switch (op->refusal) {
	case PAYOUT_REFUSED_NOT_SIGNED:
		return http_reply_code(req, resp, "application_not_signed");
	case PAYOUT_REFUSED_NO_HOLD:
		return http_reply_code(req, resp, "payout_confirmation_not_needed");
	case PAYOUT_REFUSED_HOLD_RUNNING:
		return http_reply_code(req, resp, "cooling_off_running");
	case PAYOUT_REFUSED_IN_PROGRESS:
		return http_reply_code(req, resp, "payout_in_progress");
	case PAYOUT_REFUSED_EXPIRED:
		return http_reply_code(req, resp, "payout_confirmation_expired");
	case PAYOUT_REFUSED_NONE:
		break;
	}
	if (!op->confirm)
		return http_reply_json(resp, 200,
				       json_pack("{s:s,s:s}", "application_id", op->id,
						 "state", op->state));
	char due[CLOCK_RFC3339_LEN], at[CLOCK_RFC3339_LEN];
	clock_format_rfc3339(op->payout_due_at, due);
	clock_format_rfc3339(op->confirmed_at, at);
	return http_reply_json(resp, 200,
			       json_pack("{s:s,s:s,s:s,s:s}", "application_id", op->id,
					 "payout_state", op->state, "payout_due_at", due,
					 "confirmed_at", at));
}

static enum senim_result act(struct http_request *req, struct http_response *resp,
			     int confirm)
{
	const char *id = req->params[0];
	if (!application_id_valid(id))
		return http_reply_code(req, resp, "application_not_found");
	struct payout_act *op = arena_alloc(&req->arena, sizeof(*op));
	if (!op)
		return SENIM_ERR_NOMEM;
	op->kr = req->app->keys;
	op->actor = req->actor.label;
	op->request_id = req->request_id;
	op->subject_id = req->actor.subject_id;
	op->id = id;
	op->confirm = confirm;
	return http_write_then(req, payouts_act_tx, op, act_answer);
}

enum senim_result api_me_payout_confirm(struct http_request *req,
					struct http_response *resp)
{
	return act(req, resp, 1);
}

enum senim_result api_me_application_cancel(struct http_request *req,
					    struct http_response *resp)
{
	return act(req, resp, 0);
}

static enum senim_result failures_answer(struct http_request *req,
					 struct http_response *resp,
					 enum senim_result result, void *ctx)
{
	(void)req;
	struct payout_failures *op = ctx;
	if (result)
		return result;
	json_t *list = json_array();
	for (size_t i = 0; list && i < op->n; i++) {
		const struct payout_failure *f = &op->rows[i];
		char at[CLOCK_RFC3339_LEN];
		clock_format_rfc3339(f->updated_at, at);
		if (json_array_append_new(
			    list,
			    json_pack("{s:s,s:s,s:s,s:s,s:I,s:s}", "application_id",
				      f->application_id, "subject_id", f->subject_id,
				      "state", f->state, "reason", f->reason, "attempts",
				      (json_int_t)f->attempts, "updated_at", at))) {
			json_decref(list);
			return SENIM_ERR_NOMEM;
		}
	}
	if (!list)
		return SENIM_ERR_NOMEM;
	return http_reply_json(resp, 200, json_pack("{s:o}", "payouts", list));
}

enum senim_result api_payout_failures(struct http_request *req,
				      struct http_response *resp)
{
	(void)resp;
	struct payout_failures *op = arena_alloc(&req->arena, sizeof(*op));
	if (!op)
		return SENIM_ERR_NOMEM;
	op->kr = req->app->keys;
	op->actor = req->actor.label;
	op->request_id = req->request_id;
	return http_write_then(req, payouts_failures_tx, op, failures_answer);
}

/* ---- staff's acts on a failed payout ---------------------------------------------- */

/* Why staff act: codes, never free text, so no personal data can reach the
 * audit log (docs/payout.md). */
static const char *const staff_reasons[] = {
	"provider_fixed",	     /* the provider's fault is mended */
	"access_restored",	     /* the subject's block or restriction lifted */
	"provider_confirmed_unpaid", /* the provider says nothing was paid */
	"borrower_request",	     /* the borrower asked (closure) */
	"destination_unusable",	     /* the destination cannot be paid (closure) */
	"other",
	NULL,
};
static const struct jsonin_field staff_fields[] = {
	{ .name = "reason",
	  .type = JSONIN_STRING,
	  .required = 1,
	  .allowed = staff_reasons },
};

static enum senim_result staff_answer(struct http_request *req,
				      struct http_response *resp,
				      enum senim_result result, void *ctx)
{
	struct payout_staff_act *op = ctx;
	if (result == SENIM_ERR_NOT_FOUND)
		return http_reply_code(req, resp, "payout_not_found");
	if (result)
		return result;
	switch (op->refusal) {
	case PAYOUT_STAFF_ACCESS:
		return api_reply_refusal(req, resp, &op->refused);
	case PAYOUT_STAFF_NOT_FAILED: {
		struct problem p = { .code = "payout_not_failed",
				     .extra = json_pack("{s:s}", "state", op->state) };
		return http_reply_problem(req, resp, &p);
	}
	case PAYOUT_STAFF_RETRY_FUTILE: {
		struct problem p = { .code = "payout_retry_futile",
				     .extra = json_pack("{s:s}", "reason",
							op->reason_was) };
		return http_reply_problem(req, resp, &p);
	}
	case PAYOUT_STAFF_MAY_HAVE_PAID: {
		struct problem p = { .code = "payout_may_have_been_paid",
				     .extra = json_pack("{s:s}", "reason",
							op->reason_was) };
		return http_reply_problem(req, resp, &p);
	}
	case PAYOUT_STAFF_OK:
		break;
	}
	return http_reply_json(resp, 200,
			       json_pack("{s:s,s:s,s:s}", "application_id", op->id,
					 "state", op->state, "reason", op->reason));
}

static enum senim_result staff_act(struct http_request *req, struct http_response *resp,
				   int close)
{
	const char *id = req->params[0];
	json_t *body;
	if (http_json_body_or_reply(req, resp, staff_fields,
				    sizeof(staff_fields) / sizeof(staff_fields[0]),
				    &body))
		return SENIM_OK;
	/* The reason is one of a static list: keep the list's pointer. */
	const char *given = jsonin_str(body, "reason"), *reason = NULL;
	for (size_t i = 0; given && staff_reasons[i]; i++)
		if (strcmp(given, staff_reasons[i]) == 0)
			reason = staff_reasons[i];
	json_decref(body);
	if (!reason) {
		struct problem p = { .code = "validation_failed",
				     .field = "reason",
				     .rule = "enum_value" };
		return http_reply_problem(req, resp, &p);
	}
	if (!application_id_valid(id))
		return http_reply_code(req, resp, "payout_not_found");
	struct payout_staff_act *op = arena_alloc(&req->arena, sizeof(*op));
	if (!op)
		return SENIM_ERR_NOMEM;
	*op = (struct payout_staff_act){ .kr = req->app->keys,
					 .matrix = &req->app->matrix,
					 .role = req->actor.role,
					 .actor = req->actor.label,
					 .request_id = req->request_id,
					 .id = id,
					 .reason = reason,
					 .close = close };
	return http_write_then(req, payouts_staff_tx, op, staff_answer);
}

enum senim_result api_payout_retry(struct http_request *req, struct http_response *resp)
{
	return staff_act(req, resp, 0);
}

enum senim_result api_payout_close(struct http_request *req, struct http_response *resp)
{
	return staff_act(req, resp, 1);
}
