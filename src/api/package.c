/*
 * package.c — the access package (R1) and its lawful limit (R5) over HTTP.
 *
 *   POST   /v1/subjects/{id}/package       the signed JSON package (dpo)
 *   GET    /v1/subjects/{id}/package       the signed bilingual HTML (dpo)
 *   POST   /v1/subjects/{id}/access-limit  set the limit: {"ground", "reference"}
 *   DELETE /v1/subjects/{id}/access-limit  lift it
 *
 * The DPO fulfils the subject's right of access: a legal obligation of the
 * MFO, so the purpose is legal_obligation whatever the request says.  Until
 * the rights requests' queue calls rights/package.h for the borrower, these
 * are the routes that make a package.  A limited subject's package is the
 * one refusal access_limited_by_law, whatever the ground (package.h).
 */
#include <string.h>

#include "api/api.h"
#include "api/app.h"
#include "api/refusal.h"
#include "rights/package.h"
#include "subjects/subjects.h"
#include "common/banned.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *subject_or_reply(struct http_request *req, struct http_response *resp)
{
	const char *id = req->params[0];
	if (!subject_id_valid(id)) {
		http_reply_code(req, resp, "subject_not_found");
		return NULL;
	}
	return id;
}

static enum senim_result reply_failure(struct http_request *req,
				       struct http_response *resp,
				       enum senim_result result)
{
	if (result == SENIM_ERR_NOT_FOUND)
		return http_reply_code(req, resp, "subject_not_found");
	return result;
}

/* ---- the package ----------------------------------------------------------------- */

/* Once the package's audit record is durable. */
static enum senim_result package_answer(struct http_request *req,
					struct http_response *resp,
					enum senim_result result, void *ctx)
{
	struct package_build *op = ctx;
	if (result)
		return reply_failure(req, resp, result);
	if (op->refused.why != ACCESS_GRANTED)
		return api_reply_refusal(req, resp, &op->refused);
	if (strcmp(op->format, "html") == 0)
		return http_reply_bytes(resp, 200, "text/html; charset=utf-8", op->html,
					op->html_len);
	return http_reply_json(resp, 200, json_incref(op->doc));
}

static enum senim_result make_package(struct http_request *req,
				      struct http_response *resp, const char *format)
{
	const char *id = subject_or_reply(req, resp);
	if (!id)
		return SENIM_OK;
	struct package_build *op =
		arena_alloc_disposable(&req->arena, sizeof(*op), package_build_dispose);
	if (!op)
		return SENIM_ERR_NOMEM;
	op->kr = req->app->keys;
	op->actor = req->actor.label;
	op->request_id = req->request_id;
	op->subject_id = id;
	op->format = format;
	enum senim_result err = package_build_fetch(req->app->store, op);
	if (err)
		return package_answer(req, resp, err, op);
	return http_write_then(req, package_build_record, op, package_answer);
}

enum senim_result api_subject_package(struct http_request *req,
				      struct http_response *resp)
{
	return make_package(req, resp, "json");
}

enum senim_result api_subject_package_html(struct http_request *req,
					   struct http_response *resp)
{
	return make_package(req, resp, "html");
}

/* ---- the limit ------------------------------------------------------------------- */

static const char *const limit_grounds[] = { "aml_cft", "court_order", "other_law",
					     NULL };

static int reference_format(const char *value, size_t len)
{
	(void)len;
	return package_limit_reference_valid(value);
}

static const struct jsonin_field limit_fields[] = {
	{ .name = "ground",
	  .type = JSONIN_STRING,
	  .required = 1,
	  .allowed = limit_grounds },
	{ .name = "reference",
	  .type = JSONIN_STRING,
	  .required = 1,
	  .min_len = 1,
	  .max_len = 64,
	  .format = reference_format },
};

static enum senim_result limit_answer(struct http_request *req,
				      struct http_response *resp,
				      enum senim_result result, void *ctx)
{
	struct package_limit *op = ctx;
	if (result)
		return reply_failure(req, resp, result);
	return http_reply_json(resp, 200,
			       json_pack("{s:s,s:b,s:s?}", "subject_id", op->subject_id,
					 "limited", op->limited, "ground",
					 op->limited ? op->ground : NULL));
}

static enum senim_result set_limit(struct http_request *req, struct http_response *resp,
				   int set)
{
	const char *id = subject_or_reply(req, resp);
	if (!id)
		return SENIM_OK;
	struct package_limit *op = arena_alloc(&req->arena, sizeof(*op));
	if (!op)
		return SENIM_ERR_NOMEM;
	if (set) {
		json_t *body;
		if (http_json_body_or_reply(req, resp, limit_fields, COUNT(limit_fields),
					    &body))
			return SENIM_OK;
		op->ground = arena_strdup(&req->arena, jsonin_str(body, "ground"));
		op->reference = arena_strdup(&req->arena, jsonin_str(body, "reference"));
		json_decref(body);
		if (!op->ground || !op->reference)
			return SENIM_ERR_NOMEM;
	}
	op->kr = req->app->keys;
	op->actor = req->actor.label;
	op->request_id = req->request_id;
	op->subject_id = id;
	op->set = set;
	return http_write_then(req, package_limit_tx, op, limit_answer);
}

enum senim_result api_subject_limit_set(struct http_request *req,
					struct http_response *resp)
{
	return set_limit(req, resp, 1);
}

enum senim_result api_subject_limit_lift(struct http_request *req,
					 struct http_response *resp)
{
	return set_limit(req, resp, 0);
}
