/*
 * holds.c — `POST/DELETE /v1/subjects/{id}/hold`: the DPO sets or lifts a
 * legal hold, which stops the subject's retention clock (C3, O1;
 * subjects/retention.h, docs/retention.md).  The hold names its kind and a
 * case reference, never a person's data; each act is audited.
 */
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/app.h"
#include "subjects/retention.h"
#include "subjects/subjects.h"
#include "common/banned.h"

static const char *const hold_kinds[] = { "investigation", "court", "regulator", NULL };

static int reference_format(const char *value, size_t len)
{
	char ref[65];
	if (len == 0 || len >= sizeof(ref))
		return 0;
	memcpy(ref, value, len);
	ref[len] = '\0';
	return hold_reference_valid(ref);
}

static const struct jsonin_field hold_fields[] = {
	{ .name = "kind", .type = JSONIN_STRING, .required = 1, .allowed = hold_kinds },
	{ .name = "reference",
	  .type = JSONIN_STRING,
	  .required = 1,
	  .min_len = 1,
	  .max_len = 64,
	  .format = reference_format },
};

static enum senim_result hold_answer(struct http_request *req, struct http_response *resp,
				     enum senim_result result, void *ctx)
{
	struct hold_op *op = ctx;
	int lift = op->reference == NULL;
	if (result == SENIM_ERR_NOT_FOUND)
		return http_reply_code(req, resp, "subject_not_found");
	if (result)
		return result;
	if (op->refused == HOLD_EXISTS)
		return http_reply_code(req, resp, "hold_exists");
	if (op->refused == HOLD_NONE)
		return http_reply_code(req, resp, "hold_not_found");
	return http_reply_json(resp, lift ? 200 : 201,
			       json_pack("{s:s,s:s,s:s}", "hold_id", op->hold_id,
					 "subject_id", op->subject_id, "status",
					 lift ? "lifted" : "held"));
}

/* Set (body given) or lift the hold on the subject of the path. */
static enum senim_result hold(struct http_request *req, struct http_response *resp,
			      int set)
{
	const char *id = req->params[0];
	if (!subject_id_valid(id))
		return http_reply_code(req, resp, "subject_not_found");
	struct hold_op *op = arena_alloc(&req->arena, sizeof(*op));
	if (!op)
		return SENIM_ERR_NOMEM;
	memset(op, 0, sizeof(*op));
	if (set) {
		json_t *body;
		if (http_json_body_or_reply(req, resp, hold_fields,
					    sizeof(hold_fields) / sizeof(hold_fields[0]),
					    &body))
			return SENIM_OK;
		op->kind = (enum hold_kind)hold_kind_parse(jsonin_str(body, "kind"));
		op->reference = arena_strdup(&req->arena, jsonin_str(body, "reference"));
		json_decref(body);
		if (!op->reference)
			return SENIM_ERR_NOMEM;
	}
	op->kr = req->app->keys;
	op->subject_id = id;
	op->actor = req->actor.label;
	op->request_id = req->request_id;
	return http_write_then(req, set ? hold_set_tx : hold_lift_tx, op, hold_answer);
}

enum senim_result api_subject_hold_set(struct http_request *req,
				       struct http_response *resp)
{
	return hold(req, resp, 1);
}

enum senim_result api_subject_hold_lift(struct http_request *req,
					struct http_response *resp)
{
	return hold(req, resp, 0);
}
