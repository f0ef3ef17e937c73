/*
 * refusal.h — the one answer to a refused access.
 *
 * An operation refuses by setting its op's `refused` (struct
 * access_refusal, core/access.h) and succeeding, so that the refusal's
 * audit record commits; every handler answers that refusal here, so the
 * same reason gets the same problem on every route.
 */
#ifndef SENIM_API_REFUSAL_H
#define SENIM_API_REFUSAL_H

#include "core/access.h"
#include "http/http.h"

/* 403 with the reason's code (access_result_code); a missing consent (C4)
 * is named in the problem's missing_consent member.  Returns what a handler
 * returns. */
enum senim_result api_reply_refusal(struct http_request *req, struct http_response *resp,
				    const struct access_refusal *r);

/*
 * R5: a read answered in its limited view because the borrower's own access
 * is limited by law (rights/package.h).  The view (a JSON object: the
 * domain module rendered it without the personal data) gets "limited": true
 * and "limited_reason": {"code": "limited_by_law", "text"} — the text of the
 * access request's `limited_by_law` answer (rights/requests.h) in the
 * request's language: one text for every ground.  Answers 200; takes view.
 */
enum senim_result api_reply_limited(struct http_request *req, struct http_response *resp,
				    json_t *view);

#endif
