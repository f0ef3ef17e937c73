/*
 * staff_sessions.c — staff sign-in over HTTP (S1).
 *
 *   POST   /v1/staff/enrollment  {login, password}            -> TOTP secret
 *   POST   /v1/staff/sessions    {login, password, totp[, new_password]}
 *                                                             -> bearer token
 *   DELETE /v1/staff/sessions    (bearer)                      -> signed out
 *   GET    /v1/staff/me          (bearer)                      -> who am I
 *
 * A failed sign-in gets one generic 401 after a pause, whatever was wrong,
 * so answers and timing tell an attacker nothing.  Guessing is slowed
 * without locking anyone out, before any password hash or write:
 *   - per client address, at most --sign-in-ip-limit tries a minute, and
 *     after repeated failures a pause that doubles (staff_backoff_policy());
 *   - per account, the same doubling pause (staff/sign_in.h, kept in the
 *     store).
 * A try over a limit or during a pause is 429 with Retry-After; with every
 * Argon2id slot busy it is 503 with Retry-After (staff/sign_in.h).
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/app.h"
#include "api/token.h"
#include "common/backoff.h"
#include "http/ratelimit.h"
#include "staff/password.h"
#include "staff/sign_in.h"
#include "staff/staff.h"
#include "common/banned.h"

static const struct jsonin_field enroll_fields[] = {
	{ .name = "login",
	  .type = JSONIN_STRING,
	  .required = 1,
	  .min_len = 1,
	  .max_len = STAFF_LOGIN_MAX },
	{ .name = "password",
	  .type = JSONIN_STRING,
	  .required = 1,
	  .min_len = 1,
	  .max_len = STAFF_PASSWORD_MAX },
};

static const struct jsonin_field sign_in_fields[] = {
	{ .name = "login",
	  .type = JSONIN_STRING,
	  .required = 1,
	  .min_len = 1,
	  .max_len = STAFF_LOGIN_MAX },
	{ .name = "password",
	  .type = JSONIN_STRING,
	  .required = 1,
	  .min_len = 1,
	  .max_len = STAFF_PASSWORD_MAX },
	{ .name = "totp",
	  .type = JSONIN_STRING,
	  .required = 1,
	  .min_len = 6,
	  .max_len = 6 },
	{ .name = "new_password",
	  .type = JSONIN_STRING,
	  .min_len = STAFF_PASSWORD_MIN,
	  .max_len = STAFF_PASSWORD_MAX },
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define SIGN_IN_WINDOW_S 60

/* A failed sign-in is answered after a pause, fixed plus random jitter, so
 * guessing is slow and timing does not tell which check failed.  The server
 * holds the answer without holding a worker thread (server.c). */
static enum senim_result reply_bad_credentials(struct http_request *req,
					       struct http_response *resp)
{
	enum senim_result err = http_reply_code(req, resp, "invalid_credentials");
	if (err)
		return err;
	int base = req->app->failure_delay_ms;
	if (base > 0)
		resp->delay_ms = base + (int)randombytes_uniform((uint32_t)base / 2 + 1);
	return SENIM_OK;
}

/* After a 429 or 503 (replied: its result): when to try again, at least a
 * second on. */
static enum senim_result with_retry_after(struct http_request *req,
					  struct http_response *resp,
					  enum senim_result replied, int retry_after_s)
{
	char v[16];
	snprintf(v, sizeof(v), "%d", retry_after_s > 0 ? retry_after_s : 1);
	if (replied)
		return replied;
	return http_add_header(req, resp, "Retry-After", v);
}

/* Wipe the secrets a request body carried before it is freed. */
static void wipe_member(json_t *body, const char *name)
{
	json_t *v = json_object_get(body, name);
	if (json_is_string(v) && json_string_length(v))
		sodium_memzero((char *)json_string_value(v), json_string_length(v));
}

static void wipe_and_free(json_t *body)
{
	wipe_member(body, "password");
	wipe_member(body, "new_password");
	wipe_member(body, "totp");
	json_decref(body);
}

/* The client's address: over its tries for this minute, or in a pause
 * after its failures?  Answers 429 itself; nothing else has happened yet. */
static enum senim_result address_limit_or_reply(struct http_request *req,
						struct http_response *resp)
{
	struct app *app = req->app;
	unsigned char key[16];
	size_t len = http_client_key(req, key);
	if (app->sign_in_ip_limit <= 0 || len == 0)
		return SENIM_OK;
	int retry = 0;
	if (!ratelimit_hit(app->limits, "staff-sign-in-ip", key, len,
			   app->sign_in_ip_limit, SIGN_IN_WINDOW_S, &retry) ||
	    (retry = backoff_wait_s(app->sign_in_pauses, key, len)) > 0) {
		(void)with_retry_after(req, resp,
				       http_reply_code(req, resp, "rate_limited"), retry);
		return SENIM_ERR_LOCKED;
	}
	return SENIM_OK;
}

/* After the attempt: a failure counts against the address too. */
static void address_count(struct http_request *req, const unsigned char *key, size_t len,
			  enum senim_result err)
{
	struct app *app = req->app;
	if (err == SENIM_ERR_AUTH && app->sign_in_ip_limit > 0 && len)
		backoff_failed(app->sign_in_pauses, key, len);
}

/*
 * One enrolment step or sign-in.  Its Argon2id hash and its write run on an
 * I/O thread (http_call_then), never on a worker: a burst of sign-ins then
 * leaves the workers to every other route.  Lives in the request's arena;
 * its dispose hook wipes the secrets and frees the body, whatever happened.
 */
struct attempt_op {
	struct app *app;
	json_t *body; /* the parsed request, secrets and all */
	int enroll;
	unsigned char addr[16]; /* the client's rate-limit key */
	size_t addr_len;
	/* out, set on the I/O thread */
	int ran;
	enum senim_result result;
	struct staff_attempt at;
};

static void attempt_dispose(void *p)
{
	struct attempt_op *op = p;
	if (op->body)
		wipe_and_free(op->body);
	op->body = NULL;
	staff_attempt_dispose(&op->at);
}

/* On an I/O thread: the attempt itself.  Always SENIM_OK: its outcome is in
 * op->result, so the continuation tells it from the server's own errors. */
static enum senim_result attempt_call(void *ctx)
{
	struct attempt_op *op = ctx;
	op->result = op->enroll ? staff_enroll_begin(op->app->store, &op->at)
				: staff_sign_in(op->app->store, &op->at);
	op->ran = 1;
	return SENIM_OK;
}

static enum senim_result enroll_answer(struct http_response *resp, struct attempt_op *op)
{
	char uri[256];
	snprintf(uri, sizeof(uri),
		 "otpauth://totp/senim:%s?secret=%s&issuer=senim&digits=6&period=30",
		 op->at.login, op->at.secret_b32);
	json_t *answer = json_pack("{s:s,s:s,s:i,s:i}", "totp_secret", op->at.secret_b32,
				   "otpauth_uri", uri, "digits", 6, "period", 30);
	sodium_memzero(uri, sizeof(uri));
	return http_reply_json(resp, 200, answer);
}

static enum senim_result sign_in_answer(struct http_request *req,
					struct http_response *resp, struct attempt_op *op)
{
	if (op->result == SENIM_ERR_DENIED) {
		struct problem p = { .code = "password_change_required",
				     .limit = STAFF_PASSWORD_MIN };
		if (op->at.block == STAFF_LOGIN_ENROLL_FIRST)
			p.code = "enrollment_required";
		/* A weak new password (too short is caught by the schema, so
		 * here: the one-time password again) gets the same explanation. */
		return http_reply_problem(req, resp, &p);
	}
	return api_reply_token(resp, 201, op->at.token, op->at.expires_at);
}

/* On a worker, after the call (or instead of it, when the I/O queue was
 * full: 503 with Retry-After).  A client gone meanwhile gets nothing built. */
static enum senim_result attempt_answer(struct http_request *req,
					struct http_response *resp,
					enum senim_result result, void *ctx)
{
	struct attempt_op *op = ctx;
	if (!op->ran)
		return with_retry_after(
			req, resp, http_reply_code(req, resp, "service_unavailable"), 1);
	address_count(req, op->addr, op->addr_len, op->result);
	if (result)
		return result; /* the client went away */
	switch (op->result) {
	case SENIM_ERR_LOCKED:
		return with_retry_after(req, resp,
					http_reply_code(req, resp, "rate_limited"),
					op->at.retry_after_s);
	case SENIM_ERR_UNAVAILABLE:
		return with_retry_after(req, resp,
					http_reply_code(req, resp, "service_unavailable"),
					op->at.retry_after_s);
	case SENIM_ERR_AUTH:
		return reply_bad_credentials(req, resp);
	case SENIM_OK:
		return op->enroll ? enroll_answer(resp, op)
				  : sign_in_answer(req, resp, op);
	case SENIM_ERR_DENIED:
		if (!op->enroll)
			return sign_in_answer(req, resp, op);
		return op->result;
	default:
		return op->result;
	}
}

/* Both routes, once the address's limit passed and the body parsed: the
 * attempt, on an I/O thread.  Takes the body. */
static enum senim_result attempt_start(struct http_request *req, json_t *body, int enroll)
{
	struct attempt_op *op =
		arena_alloc_disposable(&req->arena, sizeof(*op), attempt_dispose);
	if (!op) {
		wipe_and_free(body);
		return SENIM_ERR_NOMEM;
	}
	op->app = req->app;
	op->body = body;
	op->enroll = enroll;
	op->addr_len = http_client_key(req, op->addr);
	op->at.kr = req->app->keys;
	op->at.who = (struct staff_who){ req->actor.label, req->request_id };
	op->at.login = jsonin_str(body, "login");
	op->at.password = jsonin_str(body, "password");
	op->at.totp = jsonin_str(body, "totp");
	op->at.new_password = jsonin_str(body, "new_password");
	return http_call_then(req, attempt_call, op, attempt_answer);
}

enum senim_result api_staff_enroll(struct http_request *req, struct http_response *resp)
{
	json_t *body;
	if (address_limit_or_reply(req, resp) ||
	    http_json_body_or_reply(req, resp, enroll_fields, COUNT(enroll_fields),
				    &body))
		return SENIM_OK;
	return attempt_start(req, body, 1);
}

enum senim_result api_staff_sign_in(struct http_request *req, struct http_response *resp)
{
	json_t *body;
	if (address_limit_or_reply(req, resp) ||
	    http_json_body_or_reply(req, resp, sign_in_fields, COUNT(sign_in_fields),
				    &body))
		return SENIM_OK;
	return attempt_start(req, body, 0);
}

enum senim_result api_staff_sign_out(struct http_request *req, struct http_response *resp)
{
	if (req->actor.is_service)
		return http_reply_code(req, resp, "conflict"); /* revoke with the CLI */
	struct staff_sign_out *op = arena_alloc(&req->arena, sizeof(*op));
	if (!op)
		return SENIM_ERR_NOMEM;
	*op = (struct staff_sign_out){ .kr = req->app->keys,
				       .who = { req->actor.label, req->request_id },
				       .token = req->bearer };
	return http_write_then(req, staff_sign_out_tx, op, api_sign_out_answer);
}

enum senim_result api_staff_me(struct http_request *req, struct http_response *resp)
{
	return http_reply_json(resp, 200,
			       json_pack("{s:I,s:s,s:s}", "id", (json_int_t)req->actor.id,
					 "role", role_name(req->actor.role), "kind",
					 req->actor.is_service ? "service" : "person"));
}
