#include "api/token.h"

#include "common/clock.h"
#include "common/banned.h"

enum senim_result api_reply_token(struct http_response *resp, int status,
				  const char *token, int64_t expires_at_us)
{
	char when[CLOCK_RFC3339_LEN];
	clock_format_rfc3339(expires_at_us, when);
	return http_reply_json(resp, status,
			       json_pack("{s:s,s:s,s:s}", "token", token, "token_type",
					 "Bearer", "expires_at", when));
}

enum senim_result api_sign_out_answer(struct http_request *req,
				      struct http_response *resp,
				      enum senim_result result, void *ctx)
{
	(void)ctx;
	if (result == SENIM_ERR_AUTH)
		return http_reply_code(req, resp, "unauthenticated");
	if (result)
		return result;
	return http_reply_empty(resp);
}
