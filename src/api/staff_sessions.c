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
#include "common/backoff.h"
#include "common/clock.h"
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
static int reply_bad_credentials(struct http_request *req, struct http_response *resp)
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

int api_staff_enroll(struct http_request *req, struct http_response *resp)
{
	unsigned char addr[16];
	size_t addr_len = http_client_key(req, addr);
	if (address_limit_or_reply(req, resp, addr, addr_len))
		return SENIM_OK;
	json_t *body;
	if (http_json_body_or_reply(req, resp, enroll_fields, COUNT(enroll_fields),
				    &body))
		return SENIM_OK;
	struct staff_who who = { req->actor.label, req->request_id };
	char secret[STAFF_TOTP_SECRET_B32_MAX];
	const char *login = jsonin_str(body, "login");
	int retry = 0;
	int err = staff_enroll_begin(req->app->store, req->app->keys, &who, login,
				     jsonin_str(body, "password"), secret, &retry);
	address_count(req, addr, addr_len, err);
	if (err == SENIM_ERR_AUTH || err == SENIM_ERR_LOCKED ||
	    err == SENIM_ERR_UNAVAILABLE) {
		wipe_and_free(body);
		return reply_attempt_or_not(req, resp, err, retry);
	}
	if (err) {
		wipe_and_free(body);
		return err;
	}
	char uri[256];
	snprintf(uri, sizeof(uri),
		 "otpauth://totp/senim:%s?secret=%s&issuer=senim&digits=6&period=30",
		 login, secret);
	json_t *answer = json_pack("{s:s,s:s,s:i,s:i}", "totp_secret", secret,
				   "otpauth_uri", uri, "digits", 6, "period", 30);
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(uri, sizeof(uri));
	wipe_and_free(body);
	return http_reply_json(resp, 200, answer);
}

int api_staff_sign_in(struct http_request *req, struct http_response *resp)
{
	unsigned char addr[16];
	size_t addr_len = http_client_key(req, addr);
	if (address_limit_or_reply(req, resp, addr, addr_len))
		return SENIM_OK;
	json_t *body;
	if (http_json_body_or_reply(req, resp, sign_in_fields, COUNT(sign_in_fields),
				    &body))
		return SENIM_OK;
	struct staff_who who = { req->actor.label, req->request_id };
	struct staff_login in = { jsonin_str(body, "login"), jsonin_str(body, "password"),
				  jsonin_str(body, "totp"),
				  jsonin_str(body, "new_password") };
	char token[STAFF_TOKEN_MAX];
	int64_t expires = 0;
	enum staff_login_block block = STAFF_LOGIN_OK;
	int retry = 0;
	int err = staff_sign_in(req->app->store, req->app->keys, &who, &in, token,
				&expires, &block, &retry);
	wipe_and_free(body);
	address_count(req, addr, addr_len, err);
	if (err == SENIM_ERR_AUTH || err == SENIM_ERR_LOCKED ||
	    err == SENIM_ERR_UNAVAILABLE)
		return reply_attempt_or_not(req, resp, err, retry);
	if (err == SENIM_ERR_DENIED) {
		struct problem p = { .code = "password_change_required",
				     .limit = STAFF_PASSWORD_MIN };
		if (block == STAFF_LOGIN_ENROLL_FIRST)
			p.code = "enrollment_required";
		/* A weak new password (too short is caught by the schema, so
		 * here: the one-time password again) gets the same explanation. */
		return http_reply_problem(req, resp, &p);
	}
	if (err)
		return err;
	char when[CLOCK_RFC3339_LEN];
	clock_format_rfc3339(expires, when);
	json_t *answer = json_pack("{s:s,s:s,s:s}", "token", token, "token_type",
				   "Bearer", "expires_at", when);
	sodium_memzero(token, sizeof(token));
	return http_reply_json(resp, 201, answer);
}

int api_staff_sign_out(struct http_request *req, struct http_response *resp)
{
	struct staff_who who = { req->actor.label, req->request_id };
	if (req->actor.is_service)
		return http_reply_code(req, resp, "conflict"); /* revoke with the CLI */
	int err = staff_sign_out(req->app->store, req->app->keys, &who, req->bearer);
	if (err == SENIM_ERR_AUTH) {
		err = http_reply_code(req, resp, "unauthenticated");
		return err ? err
			   : http_add_header(req, resp, "WWW-Authenticate",
					     "Bearer realm=\"senim\"");
	}
	if (err)
		return err;
	return http_reply_empty(resp);
}

int api_staff_me(struct http_request *req, struct http_response *resp)
{
	return http_reply_json(resp, 200,
			       json_pack("{s:I,s:s,s:s}", "id", (json_int_t)req->actor.id,
					 "role", role_name(req->actor.role), "kind",
					 req->actor.is_service ? "service" : "person"));
}
