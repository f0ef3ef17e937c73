/*
 * token.h — the answer to a sign-in, staff's or a borrower's: the one place
 * its JSON is built, so both kinds of session read alike to a client; and
 * the answer to a sign-out, alike for both too.
 *
 *   {"token": "<bearer token>", "token_type": "Bearer",
 *    "expires_at": "<RFC 3339 UTC>"}
 */
#ifndef SENIM_API_TOKEN_H
#define SENIM_API_TOKEN_H

#include <stdint.h>

#include "http/http.h"

/* Answer `status` with the token and its expiry (microseconds since the
 * epoch).  The token is copied into the body, which is wiped when sent; the
 * caller still wipes its own copy.  Returns what a handler returns. */
enum senim_result api_reply_token(struct http_response *resp, int status,
				  const char *token, int64_t expires_at_us);

/*
 * The answer to a sign-out, staff's or a borrower's, once its write is
 * done: an http_continue_fn for http_write_then.  204 when the token was
 * revoked; 401 unauthenticated when it was no live session token
 * (SENIM_ERR_AUTH); any other result is returned for the server to map.
 */
enum senim_result api_sign_out_answer(struct http_request *req,
				      struct http_response *resp,
				      enum senim_result result, void *ctx);

#endif
