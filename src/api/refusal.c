/*
 * refusal.c — api_reply_refusal(): a refusal's reason becomes its problem;
 * api_reply_limited(): R5's limited view is marked (refusal.h).
 */
#include "api/refusal.h"

#include "rights/requests.h"
#include "common/banned.h"

enum senim_result api_reply_refusal(struct http_request *req, struct http_response *resp,
				    const struct access_refusal *r)
{
	/* A refusal with no reason is a bug above; it still refuses. */
	enum access_result why =
		r->why == ACCESS_GRANTED ? ACCESS_PURPOSE_NOT_PERMITTED : r->why;
	struct problem p = { .code = access_result_code(why) };
	if (why == ACCESS_CONSENT_REQUIRED) /* C4: say which consent is missing */
		p.extra = json_pack("{s:s}", "missing_consent",
				    r->missing_consent ? r->missing_consent : "policy");
	if (why == ACCESS_FIELD_NOT_ALLOWED)
		p.field = r->field; /* the field that may not go */
	return http_reply_problem(req, resp, &p);
}

enum senim_result api_reply_limited(struct http_request *req, struct http_response *resp,
				    json_t *view)
{
	if (!json_is_object(view)) {
		json_decref(view);
		return SENIM_ERR_NOMEM;
	}
	/* The access request's own answer, so the borrower reads one wording
	 * for R5 wherever it reaches them; it names no ground. */
	json_t *reason =
		json_pack("{s:s,s:s}", "code", REQUEST_ANSWER_LIMITED, "text",
			  request_answer_text(REQUEST_ANSWER_LIMITED, (int)req->lang));
	/* Each set steals its value, on failure too. */
	int bad = json_object_set_new(view, "limited", json_true());
	bad |= json_object_set_new(view, "limited_reason", reason);
	if (bad) {
		json_decref(view);
		return SENIM_ERR_NOMEM;
	}
	return http_reply_json(resp, 200, view);
}
