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
 *   - per account, the same doubling pause (staff.c, kept in the store).
 * A try over a limit or during a pause is 429 with Retry-After; with every
 * Argon2id slot busy it is 503 with Retry-After (staff.h).
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/app.h"
#include "api/token.h"
#include "common/backoff.h"
#include "http/ratelimit.h"
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
	int err = http_reply_code(req, resp, "invalid_credentials");
	int base = req->app->failure_delay_ms;
	if (!err && base > 0)
		resp->delay_ms = base + (int)randombytes_uniform((uint32_t)base / 2 + 1);
	return err;
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

/* After a 429 or 503 (replied = its result): when to try again. */
static int with_retry_after(struct http_request *req, struct http_response *resp,
			    int replied, int retry_after_s)
{
	char v[16];
	snprintf(v, sizeof(v), "%d", retry_after_s > 0 ? retry_after_s : 1);
	return replied ? replied : http_add_header(req, resp, "Retry-After", v);
}

/* The client's address: over its tries for this minute, or in a pause
 * after its failures?  Answers 429 itself; nothing else has happened yet. */
static int address_limit_or_reply(struct http_request *req, struct http_response *resp,
				  const unsigned char *key, size_t len)
{
	struct app *app = req->app;
	if (app->sign_in_ip_limit <= 0 || len == 0)
		return SENIM_OK;
	int retry = 0;
	if (!ratelimit_hit(app->limits, "staff-sign-in-ip", key, len,
			   app->sign_in_ip_limit, SIGN_IN_WINDOW_S, &retry) ||
	    (retry = backoff_wait_s(app->sign_in_pauses, key, len)) > 0) {
		with_retry_after(req, resp, http_reply_code(req, resp, "rate_limited"),
				 retry);
		return SENIM_ERR_LOCKED;
	}
	return SENIM_OK;
}

/* After the attempt: a failure counts against the address too. */
static void address_count(struct http_request *req, const unsigned char *key, size_t len,
			  int err)
{
	struct app *app = req->app;
	if (err == SENIM_ERR_AUTH && app->sign_in_ip_limit > 0 && len)
		backoff_failed(app->sign_in_pauses, key, len);
}

/* The answers every attempt shares: a pause (429), no hash slot (503), or
 * the generic failure.  SENIM_ERR_INVALID when err is none of them. */
static int reply_attempt_or_not(struct http_request *req, struct http_response *resp,
				int err, int retry_after_s)
{
	if (err == SENIM_ERR_LOCKED)
		return with_retry_after(req, resp,
					http_reply_code(req, resp, "rate_limited"),
					retry_after_s);
	if (err == SENIM_ERR_UNAVAILABLE)
		return with_retry_after(req, resp,
					http_reply_code(req, resp, "service_unavailable"),
					retry_after_s);
	if (err == SENIM_ERR_AUTH)
		return reply_bad_credentials(req, resp);
	return SENIM_ERR_INVALID;
}

/*
 * One enrolment step or sign-in.  Its Argon2id hash and its write run on an
 * I/O thread (http_call_then), never on a worker: a burst of sign-ins then
 * leaves the workers to every other route.  Lives in the request's arena;
 * the continuation wipes the secrets and frees the body, whatever happened.
 */
struct attempt_op {
	struct app *app;
	json_t *body; /* the parsed request, secrets and all */
	struct staff_who who;
	int enroll;
	unsigned char addr[16]; /* the client's rate-limit key */
	size_t addr_len;
	/* out, set on the I/O thread */
	int ran;
	int result;
	int retry_after_s;
	char token[STAFF_TOKEN_MAX];
	int64_t expires;
	enum staff_login_block block;
	char secret[STAFF_TOTP_SECRET_B32_MAX];
};

/* On an I/O thread: the attempt itself.  Always SENIM_OK: its outcome is in
 * op->result, so the continuation tells it from the server's own errors. */
static enum senim_result attempt_call(void *ctx)
{
	struct attempt_op *op = ctx;
	json_t *b = op->body;
	if (op->enroll) {
		op->result = staff_enroll_begin(
			op->app->store, op->app->keys, &op->who, jsonin_str(b, "login"),
			jsonin_str(b, "password"), op->secret, &op->retry_after_s);
	} else {
		struct staff_login in = { jsonin_str(b, "login"),
					  jsonin_str(b, "password"),
					  jsonin_str(b, "totp"),
					  jsonin_str(b, "new_password") };
		op->result = staff_sign_in(op->app->store, op->app->keys, &op->who, &in,
					   op->token, &op->expires, &op->block,
					   &op->retry_after_s);
	}
	op->ran = 1;
	return SENIM_OK;
}

static void attempt_release(struct attempt_op *op)
{
	wipe_and_free(op->body);
	op->body = NULL;
	sodium_memzero(op->token, sizeof(op->token));
	sodium_memzero(op->secret, sizeof(op->secret));
}

static int enroll_answer(struct http_response *resp, struct attempt_op *op)
{
	char uri[256];
	snprintf(uri, sizeof(uri),
		 "otpauth://totp/senim:%s?secret=%s&issuer=senim&digits=6&period=30",
		 jsonin_str(op->body, "login"), op->secret);
	json_t *answer = json_pack("{s:s,s:s,s:i,s:i}", "totp_secret", op->secret,
				   "otpauth_uri", uri, "digits", 6, "period", 30);
	sodium_memzero(uri, sizeof(uri));
	return http_reply_json(resp, 200, answer);
}

static int sign_in_answer(struct http_request *req, struct http_response *resp,
			  struct attempt_op *op)
{
	if (op->result == SENIM_ERR_DENIED) {
		struct problem p = { .code = "password_change_required",
				     .limit = STAFF_PASSWORD_MIN };
		if (op->block == STAFF_LOGIN_ENROLL_FIRST)
			p.code = "enrollment_required";
		/* A weak new password (too short is caught by the schema, so
		 * here: the one-time password again) gets the same explanation. */
		return http_reply_problem(req, resp, &p);
	}
	return api_reply_token(resp, 201, op->token, op->expires);
}

/* On a worker, after the call (or instead of it, when the I/O queue was
 * full: 503 with Retry-After).  A client gone meanwhile gets nothing built. */
static enum senim_result attempt_answer(struct http_request *req,
					struct http_response *resp,
					enum senim_result result, void *ctx)
{
	struct attempt_op *op = ctx;
	int err = op->ran ? op->result : SENIM_ERR_UNAVAILABLE;
	if (op->ran)
		address_count(req, op->addr, op->addr_len, err);
	if (result && op->ran) {
		attempt_release(op); /* the client went away */
		return result;
	}
	int rc;
	if (err == SENIM_ERR_AUTH || err == SENIM_ERR_LOCKED ||
	    err == SENIM_ERR_UNAVAILABLE)
		rc = reply_attempt_or_not(req, resp, err,
					  op->ran ? op->retry_after_s : 1);
	else if (op->enroll && !err)
		rc = enroll_answer(resp, op);
	else if (!op->enroll && (!err || err == SENIM_ERR_DENIED))
		rc = sign_in_answer(req, resp, op);
	else
		rc = err;
	attempt_release(op);
	return rc;
}

/* Both routes, once the address's limit passed and the body parsed: the
 * attempt, on an I/O thread.  Takes the body. */
static int attempt_start(struct http_request *req, json_t *body, int enroll,
			 const unsigned char addr[16], size_t addr_len)
{
	struct attempt_op *op = arena_alloc(&req->arena, sizeof(*op));
	if (!op) {
		wipe_and_free(body);
		return SENIM_ERR_NOMEM;
	}
	memset(op, 0, sizeof(*op));
	op->app = req->app;
	op->body = body;
	op->who = (struct staff_who){ req->actor.label, req->request_id };
	op->enroll = enroll;
	memcpy(op->addr, addr, sizeof(op->addr));
	op->addr_len = addr_len;
	return http_call_then(req, attempt_call, op, attempt_answer);
}

enum senim_result api_staff_enroll(struct http_request *req, struct http_response *resp)
{
	unsigned char addr[16];
	size_t addr_len = http_client_key(req, addr);
	if (address_limit_or_reply(req, resp, addr, addr_len))
		return SENIM_OK;
	json_t *body;
	if (http_json_body_or_reply(req, resp, enroll_fields, COUNT(enroll_fields),
				    &body))
		return SENIM_OK;
	return attempt_start(req, body, 1, addr, addr_len);
}

enum senim_result api_staff_sign_in(struct http_request *req, struct http_response *resp)
{
	unsigned char addr[16];
	size_t addr_len = http_client_key(req, addr);
	if (address_limit_or_reply(req, resp, addr, addr_len))
		return SENIM_OK;
	json_t *body;
	if (http_json_body_or_reply(req, resp, sign_in_fields, COUNT(sign_in_fields),
				    &body))
		return SENIM_OK;
	return attempt_start(req, body, 0, addr, addr_len);
}

enum senim_result api_staff_sign_out(struct http_request *req, struct http_response *resp)
{
	struct staff_who who = { req->actor.label, req->request_id };
	if (req->actor.is_service)
		return http_reply_code(req, resp, "conflict"); /* revoke with the CLI */
	int err = staff_sign_out(req->app->store, req->app->keys, &who, req->bearer);
	if (err == SENIM_ERR_AUTH)
		return http_reply_code(req, resp, "unauthenticated");
	if (err)
		return err;
	return http_reply_empty(resp);
}

enum senim_result api_staff_me(struct http_request *req, struct http_response *resp)
{
	return http_reply_json(resp, 200,
			       json_pack("{s:I,s:s,s:s}", "id", (json_int_t)req->actor.id,
					 "role", role_name(req->actor.role), "kind",
					 req->actor.is_service ? "service" : "person"));
}
