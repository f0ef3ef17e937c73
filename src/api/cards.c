/*
 * cards.c — the borrower's payout cards, bound at the payment provider
 * (issue 12; lending/cards.h, docs/payout.md "Card payouts").
 *
 *   POST /v1/me/cards        start a binding: 201 {id, state "pending",
 *                            page_url} — the provider's page, where the
 *                            borrower types the card (never into senim)
 *   GET  /v1/me/cards        the borrower's cards, newest first
 *   GET  /v1/me/cards/{id}   one card; a pending one is asked about at the
 *                            provider first (the borrower back from its page)
 *   DELETE /v1/me/cards/{id} remove it: unbound at the provider, then its
 *                            row and token deleted; 204.  409 card_in_use
 *                            while a signed loan is still to be paid out to
 *                            it; the provider failing leaves it bound (the
 *                            exchange's 502/503/504)
 *
 * A card shows its id, state, the masked number and expiry once bound, the
 * failure's code once failed: never a token.  Another borrower's card is
 * 404, as one that does not exist.  Each call blocks on the provider, so it
 * runs on an I/O thread (http_call_then).
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/app.h"
#include "api/refusal.h"
#include "common/clock.h"
#include "exchange/transfer.h"
#include "lending/cards.h"
#include "common/banned.h"

struct cards_req {
	struct card_op op;
	struct card_env env;
};

static json_t *card_json(const struct card_view *v)
{
	char created[CLOCK_RFC3339_LEN], updated[CLOCK_RFC3339_LEN];
	clock_format_rfc3339(v->created_at, created);
	clock_format_rfc3339(v->updated_at, updated);
	json_t *o = json_pack("{s:s,s:s,s:s,s:s}", "id", v->id, "state", v->state,
			      "created_at", created, "updated_at", updated);
	if (!o)
		return NULL;
	if (v->masked[0]) {
		json_object_set_new(o, "masked_number", json_string(v->masked));
		json_object_set_new(o, "expiry", json_string(v->expiry));
	}
	if (v->reason[0])
		json_object_set_new(o, "reason", json_string(v->reason));
	if (v->page_url[0])
		json_object_set_new(o, "page_url", json_string(v->page_url));
	return o;
}

/* The start's failure, by the code lending/cards.c recorded. */
static enum senim_result reply_failure(struct http_request *req,
				       struct http_response *resp, const char *reason)
{
	if (strcmp(reason, "recipient_timeout") == 0)
		return http_reply_code(req, resp, "recipient_timeout");
	if (strcmp(reason, "recipient_invalid_answer") == 0)
		return http_reply_code(req, resp, "recipient_invalid_answer");
	if (strcmp(reason, "recipient_wrong_subject") == 0)
		return http_reply_code(req, resp, "recipient_wrong_subject");
	if (strcmp(reason, "recipient_refused") == 0)
		return http_reply_code(req, resp, "recipient_refused");
	return http_reply_code(req, resp, "recipient_unavailable");
}

static enum senim_result answer(struct http_request *req, struct http_response *resp,
				enum senim_result result, struct card_op *op, int started)
{
	if (result)
		return result;
	switch (op->outcome) {
	case CARD_NOT_CONFIGURED:
		return http_reply_code(req, resp, "exchange_not_configured");
	case CARD_REFUSED:
		return api_reply_refusal(req, resp, &op->refused);
	case CARD_NOT_FOUND:
		return http_reply_code(req, resp, "card_not_found");
	case CARD_IN_USE:
		return http_reply_code(req, resp, "card_in_use");
	case CARD_TOO_MANY:
		return http_reply_code(req, resp, "card_bindings_pending");
	case CARD_PROVIDER_FAILED:
		/* The card's row says it failed, with the exchange's code. */
		return reply_failure(req, resp, op->card.reason);
	case CARD_DONE:
		break;
	}
	if (op->id || started) {
		json_t *o = card_json(&op->card);
		enum senim_result err = http_reply_json(resp, started ? 201 : 200, o);
		if (err || !started)
			return err;
		char location[32 + CARD_ID_LEN];
		snprintf(location, sizeof(location), "/v1/me/cards/%s", op->card.id);
		return http_add_header(req, resp, "Location", location);
	}
	json_t *items = json_array();
	for (size_t i = 0; items && i < op->n; i++)
		json_array_append_new(items, card_json(&op->list[i]));
	return http_reply_json(resp, 200, json_pack("{s:o}", "cards", items));
}

static enum senim_result start_answer(struct http_request *req,
				      struct http_response *resp,
				      enum senim_result result, void *ctx)
{
	return answer(req, resp, result, ctx, 1);
}

static enum senim_result read_answer(struct http_request *req, struct http_response *resp,
				     enum senim_result result, void *ctx)
{
	return answer(req, resp, result, ctx, 0);
}

static enum senim_result remove_answer(struct http_request *req,
				       struct http_response *resp,
				       enum senim_result result, void *ctx)
{
	struct card_op *op = ctx;
	if (!result && op->outcome == CARD_DONE)
		return http_reply_empty(resp);
	return answer(req, resp, result, op, 0);
}

static enum senim_result run_remove(void *ctx)
{
	return cards_remove(ctx);
}

static enum senim_result run_start(void *ctx)
{
	return cards_start(ctx);
}

static enum senim_result run_read(void *ctx)
{
	return cards_read(ctx);
}

static struct cards_req *new_req(struct http_request *req)
{
	const struct exchange_env *ex = req->app->exchange;
	struct cards_req *cr = arena_alloc(&req->arena, sizeof(*cr));
	if (!cr)
		return NULL;
	memset(cr, 0, sizeof(*cr));
	cr->env = (struct card_env){
		.store = req->app->store,
		.kr = req->app->keys,
		.hub = ex ? ex->hub : NULL,
		.recipients = ex ? ex->recipients : NULL,
		.matrix = &req->app->matrix,
		.deadline_ms = ex ? ex->query_deadline_ms : 0,
	};
	cr->op.env = &cr->env;
	cr->op.actor = req->actor.label;
	cr->op.request_id = req->request_id;
	cr->op.subject_id = req->actor.subject_id;
	return cr;
}

enum senim_result api_me_card_start(struct http_request *req, struct http_response *resp)
{
	const struct exchange_env *ex = req->app->exchange;
	if (!ex || !ex->recipients)
		return http_reply_code(req, resp, "exchange_not_configured");
	struct cards_req *cr = new_req(req);
	if (!cr)
		return SENIM_ERR_NOMEM;
	return http_call_then(req, run_start, &cr->op, start_answer);
}

enum senim_result api_me_cards(struct http_request *req, struct http_response *resp)
{
	(void)resp;
	struct cards_req *cr = new_req(req);
	if (!cr)
		return SENIM_ERR_NOMEM;
	return http_call_then(req, run_read, &cr->op, read_answer);
}

enum senim_result api_me_card(struct http_request *req, struct http_response *resp)
{
	const char *id = req->params[0];
	if (!card_id_valid(id))
		return http_reply_code(req, resp, "card_not_found");
	struct cards_req *cr = new_req(req);
	if (!cr)
		return SENIM_ERR_NOMEM;
	cr->op.id = id;
	return http_call_then(req, run_read, &cr->op, read_answer);
}

enum senim_result api_me_card_remove(struct http_request *req, struct http_response *resp)
{
	const char *id = req->params[0];
	if (!card_id_valid(id))
		return http_reply_code(req, resp, "card_not_found");
	struct cards_req *cr = new_req(req);
	if (!cr)
		return SENIM_ERR_NOMEM;
	cr->op.id = id;
	return http_call_then(req, run_remove, &cr->op, remove_answer);
}
