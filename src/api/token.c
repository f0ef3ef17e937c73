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
