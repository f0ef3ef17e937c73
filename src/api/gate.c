/*
 * gate.c — the server's authorize hook: bearer token -> actor, roles, the
 * policy gate, the audit record of a refusal by role.
 */
#include "api/gate.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api/app.h"
#include "audit/audit.h"
#include "borrower/auth.h"
#include "common/log.h"
#include "consent/ledger.h"
#include "http/router.h"
#include "staff/staff.h"
#include "common/banned.h"

/* The bearer token of the Authorization header, or NULL.  No token we issue
 * is STAFF_TOKEN_MAX long: a longer one is nobody's, and is not looked up. */
static const char *bearer_token(struct http_request *req)
{
	const char *h = http_header(req, "Authorization");
	if (!h || strncasecmp(h, "Bearer ", 7) != 0)
		return NULL;
	h += 7;
	while (*h == ' ')
		h++;
	size_t n = strlen(h);
	return n > 0 && n < STAFF_TOKEN_MAX ? h : NULL;
}

static enum senim_result reply_unauthenticated(struct http_request *req,
					       struct http_response *resp)
{
	http_reply_code(req, resp, "unauthenticated"); /* with WWW-Authenticate */
	return SENIM_ERR_AUTH;
}

/* A caller known, but not of this route's kind or role. */
static enum senim_result reply_forbidden(struct http_request *req,
					 struct http_response *resp)
{
	http_reply_code(req, resp, "forbidden_role");
	return SENIM_ERR_DENIED;
}

/* The store could not say who the caller is: fail closed. */
static enum senim_result reply_unavailable(struct http_request *req,
					   struct http_response *resp,
					   enum senim_result err)
{
	http_reply_code(req, resp, "service_unavailable");
	return err;
}

/* In the writer's batch: the refusal's audit record. */
static enum senim_result denial_tx(struct store_tx *tx, void *ctx)
{
	struct http_request *req = ctx;
	char object[64];
	snprintf(object, sizeof(object), "route:%s", req->route->name);
	struct audit_record rec = { .actor = req->actor.label,
				    .operation = "access.denied",
				    .object = object,
				    .subject_id = NULL,
				    .categories = "",
				    .purpose = "",
				    .outcome = "denied",
				    .request_id = req->request_id };
	return audit_append(tx, req->app->keys, &rec);
}

/* After the refusal's record: the 403 (a refusal discloses nothing, so it
 * goes out even when the record could not be written — which is logged). */
static enum senim_result denial_answer(struct http_request *req,
				       struct http_response *resp,
				       enum senim_result result, void *ctx)
{
	(void)ctx;
	if (result)
		log_event(LOG_ERROR, "denial_not_audited", "request_id", req->request_id,
			  NULL);
	return http_reply_code(req, resp, "forbidden_role");
}

/* A member of staff refused by role leaves an audit record (DESIGN: a
 * denial is an answer too), written in the next batch without holding a
 * worker; the 403 follows it.  Returns the refusal: the server then leaves
 * the answer to denial_answer. */
static enum senim_result refuse_role(struct http_request *req)
{
	/* Queued or refused, http_write_then has denial_answer answer: its
	 * result adds nothing here. */
	(void)http_write_then(req, denial_tx, req, denial_answer);
	return SENIM_ERR_DENIED;
}

/* P1, C4: a borrower who has not accepted the policy in force may only read
 * it and accept it; every other borrower route answers 428. */
static enum senim_result policy_gate_or_reply(struct http_request *req,
					      struct http_response *resp)
{
	if (req->route->flags & ROUTE_POLICY_FREE)
		return SENIM_OK;
	int accepted = 0;
	char current[LEDGER_VERSION_MAX];
	enum senim_result err = ledger_policy_state(
		req->app->store, req->actor.subject_id, &accepted, current);
	if (err)
		return reply_unavailable(req, resp, err);
	if (accepted)
		return SENIM_OK;
	http_reply_policy_required(req, resp, current);
	return SENIM_ERR_DENIED;
}

/* A borrower's own route: only a borrower token, whose subject becomes the
 * actor; a staff token is refused (403), no token or a bad one is 401. */
static enum senim_result authorize_borrower_or_reply(struct http_request *req,
						     struct http_response *resp,
						     const char *token)
{
	if (!token)
		return reply_unauthenticated(req, resp);
	if (!borrower_token_form(token)) {
		struct staff_actor who;
		enum senim_result err = staff_authenticate(req->app->store, token, &who);
		if (err == SENIM_ERR_AUTH)
			return reply_unauthenticated(req, resp);
		if (err)
			return reply_unavailable(req, resp, err);
		return reply_forbidden(req, resp);
	}
	char sid[SUBJECT_ID_LEN];
	enum senim_result err = borrower_authenticate(req->app->store, token, sid);
	if (err == SENIM_ERR_AUTH)
		return reply_unauthenticated(req, resp);
	if (err)
		return reply_unavailable(req, resp, err);
	req->bearer = token;
	req->actor.kind = ACTOR_BORROWER;
	snprintf(req->actor.subject_id, sizeof(req->actor.subject_id), "%s", sid);
	snprintf(req->actor.label, sizeof(req->actor.label), "borrower:%s", sid);
	return policy_gate_or_reply(req, resp);
}

/* A staff route: only a staff token whose role the route admits. */
static enum senim_result authorize_staff_or_reply(struct http_request *req,
						  struct http_response *resp,
						  const char *token)
{
	if (token && borrower_token_form(token)) {
		/* A borrower on a staff route: known, but not allowed. */
		char sid[SUBJECT_ID_LEN];
		enum senim_result err =
			borrower_authenticate(req->app->store, token, sid);
		if (err == SENIM_ERR_AUTH)
			return reply_unauthenticated(req, resp);
		if (err)
			return reply_unavailable(req, resp, err);
		return reply_forbidden(req, resp);
	}
	struct staff_actor who;
	enum senim_result err =
		token ? staff_authenticate(req->app->store, token, &who) : SENIM_ERR_AUTH;
	if (err == SENIM_ERR_AUTH)
		return reply_unauthenticated(req, resp);
	if (err)
		return reply_unavailable(req, resp, err);
	req->bearer = token;
	req->actor.kind = ACTOR_STAFF;
	req->actor.id = who.id;
	req->actor.role = who.role;
	req->actor.is_service = who.is_service;
	snprintf(req->actor.label, sizeof(req->actor.label), "staff:%lld",
		 (long long)who.id);
	if (!(req->route->roles & ROLE_BIT(who.role)))
		return refuse_role(req);
	return SENIM_OK;
}

enum senim_result api_authorize_or_reply(struct http_request *req,
					 struct http_response *resp)
{
	if (req->route->flags & ROUTE_PUBLIC)
		return SENIM_OK;
	const char *token = bearer_token(req);
	if (req->route->flags & ROUTE_BORROWER)
		return authorize_borrower_or_reply(req, resp, token);
	return authorize_staff_or_reply(req, resp, token);
}
