#include "api/refusal.h"

#include "common/banned.h"

int api_reply_refusal(struct http_request *req, struct http_response *resp,
		      const struct access_refusal *r)
{
	struct problem p = { .code = access_result_code(r->why) };
	/* A refusal with no reason is a bug above; it still refuses. */
	if (r->why == ACCESS_GRANTED)
		p.code = "purpose_not_permitted";
	if (r->why == ACCESS_CONSENT_REQUIRED)
		p.extra = json_pack("{s:s}", "missing_consent",
				    r->missing_consent ? r->missing_consent : "policy");
	return http_reply_problem(req, resp, &p);
}
