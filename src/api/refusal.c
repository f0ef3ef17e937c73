/*
 * refusal.c — api_reply_refusal(): a refusal's reason becomes its problem
 * (refusal.h).
 */
#include "api/refusal.h"

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
