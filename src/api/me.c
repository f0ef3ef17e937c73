/*
 * me.c — the borrower's own side (U4, P1, C1-C4, R1).
 *
 *   POST   /v1/auth/otp               {phone}        send a sign-in code by SMS
 *   POST   /v1/auth/verify            {phone, code}  -> borrower token
 *   DELETE /v1/auth/session                          sign out
 *   GET    /v1/me                                    my data (R1)
 *   POST   /v1/me/consents/policy     {version, language, channel}
 *   GET    /v1/me/consents                           all my consents, with receipts
 *   POST   /v1/me/consents            {kind, language, channel}
 *   DELETE /v1/me/consents/{id}                      withdraw (C2)
 *   GET    /v1/subjects/{id}/consents (staff: dpo, support)
 *
 * A borrower token reaches only its own subject: there is no subject id in
 * these paths, and a consent id of another subject is simply not found.
 */
#include <microhttpd.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/app.h"
#include "api/refusal.h"
#include "api/token.h"
#include "borrower/auth.h"
#include "common/clock.h"
#include "common/log.h"
#include "connectors/sms.h"
#include "consent/ledger.h"
#include "core/contact.h"
#include "core/iin.h"
#include "http/ratelimit.h"
#include "rights/package.h"
#include "subjects/subjects.h"
#include "common/banned.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Limits for what strangers can call: codes sent per phone and per client
 * address, and checks per phone and per address, per window. */
#define OTP_SENDS_PER_PHONE 3
#define OTP_CHECKS_PER_PHONE 10
#define OTP_WINDOW_S 600

static const char *const channels[] = { "web", "ios", "android", NULL };
static const char *const languages[] = { "ru", "kk", NULL };

/* The client's address as text (evidence and rate-limit key). */
static void client_ip(struct http_request *req, char out[INET6_ADDRSTRLEN])
{
	out[0] = '\0';
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (!ci || !ci->client_addr)
		return;
	const struct sockaddr *sa = ci->client_addr;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET,
			  &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
			  INET6_ADDRSTRLEN);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6,
			  &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
			  out, INET6_ADDRSTRLEN);
}

static enum senim_result reply_rate_limited(struct http_request *req,
					    struct http_response *resp, int retry_after)
{
	char v[16];
	snprintf(v, sizeof(v), "%d", retry_after);
	enum senim_result err = http_reply_code(req, resp, "rate_limited");
	if (err)
		return err;
	return http_add_header(req, resp, "Retry-After", v);
}

/* Count a hit for the phone and for the client; answers 429 when over. */
static enum senim_result limit_or_reply(struct http_request *req,
					struct http_response *resp, const char *scope,
					const char *phone, int per_phone, int per_ip)
{
	/* The address's key, not its text: an IPv6 subscriber holds a whole
	 * /64, and counting each address alone would let it ask without end. */
	unsigned char addr[16];
	size_t addr_len = http_client_key(req, addr);
	char ip_scope[32];
	snprintf(ip_scope, sizeof(ip_scope), "%s-ip", scope);
	int retry = 0;
	struct ratelimit *rl = req->app->limits;
	if ((per_ip > 0 && addr_len &&
	     !ratelimit_hit(rl, ip_scope, addr, addr_len, per_ip, OTP_WINDOW_S,
			    &retry)) ||
	    !ratelimit_hit(rl, scope, phone, strlen(phone), per_phone, OTP_WINDOW_S,
			   &retry)) {
		reply_rate_limited(req, resp, retry);
		return SENIM_ERR_TOO_LARGE;
	}
	return SENIM_OK;
}

static enum senim_result phone_or_reply(struct http_request *req,
					struct http_response *resp, const char *in,
					char out[PHONE_E164_LEN])
{
	if (phone_normalize_kz(in, strlen(in), out))
		return SENIM_OK;
	struct problem p = { .code = "validation_failed",
			     .field = "phone",
			     .rule = "format" };
	http_reply_problem(req, resp, &p);
	return SENIM_ERR_INVALID;
}

/* ---- signing in ---------------------------------------------------------------- */

static const struct jsonin_field otp_fields[] = {
	{ .name = "phone",
	  .type = JSONIN_STRING,
	  .required = 1,
	  .min_len = 1,
	  .max_len = 32 },
};

/* The SMS, in the borrower's language (P3). */
static void sms_text(enum lang l, const char *code, char *out, size_t cap)
{
	switch (l) {
	case LANG_KK:
		snprintf(out, cap, "senim: кіру коды %s. Оны ешкімге айтпаңыз.", code);
		break;
	case LANG_EN:
		snprintf(out, cap, "senim: your sign-in code is %s. Do not share it.",
			 code);
		break;
	default:
		snprintf(out, cap, "senim: код для входа %s. Никому его не сообщайте.",
			 code);
	}
}

/* A sign-in code on its way: sent by SMS, then stored.  Wiped whole when
 * the request is done (otp_send_dispose): the phone, the code, the text. */
struct otp_send {
	struct app *app;
	int64_t asked_at; /* clock_mono_us() of the request: its deadline counts from here */
	char text[160];
	int sms_failed;
	struct borrower_otp op;
};

static void otp_send_dispose(void *ctx)
{
	sodium_memzero(ctx, sizeof(struct otp_send));
}

/* On an I/O thread.  Sent first, stored after: a failed send leaves the
 * borrower's earlier code valid.  Sent whether or not the phone is
 * registered: the answer must not tell, and only the phone's owner sees
 * it. */
static enum senim_result send_code(void *ctx)
{
	struct otp_send *o = ctx;
	/* The client has waited since it asked, queue included: the deadline
	 * is the request's, not the send's. */
	enum senim_result err =
		sms_send_traced(o->app->sms, o->op.phone, o->text, o->op.request_id,
				o->asked_at + (int64_t)SMS_DEADLINE_MS * 1000,
				&o->op.sms.may_have_reached);
	sodium_memzero(o->text, sizeof(o->text));
	if (err) {
		o->sms_failed = o->op.sms.failed = 1;
		/* T5: a failed send is on the register too; without a
		 * processor there is nothing to write, as before. */
		if (o->op.sms.rc &&
		    store_write(o->app->store, borrower_otp_issue_tx, &o->op))
			log_event(LOG_ERROR, "sms_register_failed", NULL);
		goto fail;
	}
	err = store_write(o->app->store, borrower_otp_issue_tx, &o->op);
fail:
	sodium_memzero(o->op.code, sizeof(o->op.code));
	return err;
}

static enum senim_result otp_answer(struct http_request *req, struct http_response *resp,
				    enum senim_result result, void *ctx)
{
	struct otp_send *o = ctx;
	if (o->sms_failed || result == SENIM_ERR_UNAVAILABLE)
		return http_reply_code(req, resp, "sms_unavailable");
	if (result)
		return result;
	return http_reply_json(resp, 202,
			       json_pack("{s:s,s:i}", "status", "sent", "expires_in",
					 BORROWER_OTP_SECONDS));
}

enum senim_result api_auth_otp(struct http_request *req, struct http_response *resp)
{
	json_t *body;
	if (http_json_body_or_reply(req, resp, otp_fields, COUNT(otp_fields), &body))
		return SENIM_OK;
	char phone[PHONE_E164_LEN];
	int bad = phone_or_reply(req, resp, jsonin_str(body, "phone"), phone);
	json_decref(body);
	if (bad || limit_or_reply(req, resp, "otp-send", phone, OTP_SENDS_PER_PHONE,
				  req->app->otp_ip_limit))
		return SENIM_OK;
	if (!req->app->sms)
		return http_reply_code(req, resp, "sms_unavailable");
	struct otp_send *o =
		arena_alloc_disposable(&req->arena, sizeof(*o), otp_send_dispose);
	if (!o)
		return SENIM_ERR_NOMEM;
	o->app = req->app;
	o->asked_at = clock_mono_us();
	o->op.kr = req->app->keys;
	o->op.request_id = req->request_id;
	memcpy(o->op.phone, phone, sizeof(phone));
	o->op.sms.rc = borrower_sms_processor(req->app->recipients, &o->op.sms.svc);
	borrower_otp_new_code(o->op.code);
	sms_text(req->lang, o->op.code, o->text, sizeof(o->text));
	/* The gateway may take seconds (retries, deadline): on an I/O thread. */
	return http_call_then(req, send_code, o, otp_answer);
}

static int digits6(const char *s, size_t len)
{
	if (len != 6)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

static const struct jsonin_field verify_fields[] = {
	{ .name = "phone",
	  .type = JSONIN_STRING,
	  .required = 1,
	  .min_len = 1,
	  .max_len = 32 },
	{ .name = "code",
	  .type = JSONIN_STRING,
	  .required = 1,
	  .min_len = 6,
	  .max_len = 6,
	  .format = digits6 },
	/* Only when the phone is several borrowers' (409 iin_required). */
	{ .name = "iin", .type = JSONIN_STRING, .min_len = 1, .max_len = 64 },
};

/* Once the sign-in's write is durable: the token, or a paused refusal. */
static enum senim_result verify_answer(struct http_request *req,
				       struct http_response *resp,
				       enum senim_result result, void *ctx)
{
	struct borrower_sign_in *op = ctx;
	if (result)
		return result;
	if (op->refused == BORROWER_REFUSED_IIN_REQUIRED) /* say whose with the IIN */
		return http_reply_code(req, resp, "iin_required");
	if (op->refused) {
		enum senim_result err = http_reply_code(req, resp, "invalid_code");
		if (err)
			return err;
		/* Held by the delay thread: a guess costs time, not a worker. */
		if (req->app->failure_delay_ms > 0)
			resp->delay_ms = req->app->failure_delay_ms;
		return SENIM_OK;
	}
	return api_reply_token(resp, 200, op->token, op->expires_at);
}

enum senim_result api_auth_verify(struct http_request *req, struct http_response *resp)
{
	json_t *body;
	if (http_json_body_or_reply(req, resp, verify_fields, COUNT(verify_fields),
				    &body))
		return SENIM_OK;
	/* Wiped when the request is done, whatever the answer. */
	struct borrower_sign_in *op = arena_alloc_disposable(&req->arena, sizeof(*op),
							     borrower_sign_in_dispose);
	if (!op) {
		json_decref(body);
		return SENIM_ERR_NOMEM;
	}
	op->kr = req->app->keys;
	op->request_id = req->request_id;
	int bad = phone_or_reply(req, resp, jsonin_str(body, "phone"), op->phone);
	snprintf(op->code, sizeof(op->code), "%s", jsonin_str(body, "code"));
	const char *given_iin = jsonin_str(body, "iin");
	if (!bad && given_iin) {
		struct iin_info info;
		enum iin_error e = iin_parse(given_iin, strlen(given_iin), &info);
		if (e != IIN_OK) {
			struct problem p = { .code = "validation_failed",
					     .field = "iin",
					     .rule = iin_error_rule(e) };
			http_reply_problem(req, resp, &p);
			bad = SENIM_ERR_INVALID;
		} else {
			snprintf(op->iin, sizeof(op->iin), "%s", given_iin);
		}
	}
	json_decref(body);
	if (bad || limit_or_reply(req, resp, "otp-check", op->phone, OTP_CHECKS_PER_PHONE,
				  req->app->otp_ip_limit * 3))
		return SENIM_OK;
	return http_write_then(req, borrower_sign_in_tx, op, verify_answer);
}

enum senim_result api_auth_sign_out(struct http_request *req, struct http_response *resp)
{
	(void)resp; /* the continuation answers */
	struct borrower_sign_out *op = arena_alloc(&req->arena, sizeof(*op));
	if (!op)
		return SENIM_ERR_NOMEM;
	*op = (struct borrower_sign_out){ .kr = req->app->keys,
					  .request_id = req->request_id,
					  .token = req->bearer };
	return http_write_then(req, borrower_sign_out_tx, op, api_sign_out_answer);
}

/* ---- my data (R1) --------------------------------------------------------------- */

/* The self-read and what its fetch decided, kept apart from what the
 * write decides (a rerun of the write starts from the fetch's). */
struct me_read {
	struct subject_read read; /* first: the op the subjects module sees */
	struct access_refusal fetched;
};

static void me_read_dispose(void *p)
{
	struct me_read *m = p;
	subject_read_dispose(&m->read);
}

/* In the writer: R5, the borrower's own access limited by law (AML/CFT, a
 * court order, another law; rights/package.h) refuses the read as it
 * refuses the access package.  The data was gathered and decrypted all the
 * same (no timing tell) and is dropped unseen; the refusal names no ground,
 * and the self-read's record says "denied". */
static enum senim_result me_record_tx(struct store_tx *tx, void *arg)
{
	struct me_read *m = arg;
	int limited = 0;
	enum senim_result err = package_limited_tx(tx, m->read.subject_id, &limited);
	if (err)
		return err;
	m->read.refused = m->fetched;
	if (limited)
		access_refusal_set(&m->read.refused, ACCESS_LIMITED_BY_LAW,
				   PURPOSE_LEGAL_OBLIGATION, NULL);
	return subjects_read_record(tx, &m->read);
}

/* Once the self-read's audit record is durable: the borrower's data. */
static enum senim_result me_answer(struct http_request *req, struct http_response *resp,
				   enum senim_result result, void *ctx)
{
	struct subject_read *op = ctx;
	if (result == SENIM_ERR_NOT_FOUND)
		return http_reply_code(req, resp, "subject_not_found");
	if (result) /* no data without its durable audit record */
		return result;
	if (op->refused.why != ACCESS_GRANTED)
		return api_reply_refusal(req, resp, &op->refused);
	return http_reply_json(resp, 200,
			       json_pack("{s:s,s:O}", "subject_id", req->actor.subject_id,
					 "categories", op->out));
}

enum senim_result api_me(struct http_request *req, struct http_response *resp)
{
	struct me_read *m =
		arena_alloc_disposable(&req->arena, sizeof(*m), me_read_dispose);
	if (!m)
		return SENIM_ERR_NOMEM;
	struct subject_read *op = &m->read;
	op->actor = (struct subject_actor){
		.label = req->actor.label,
		.request_id = req->request_id,
		.purpose =
			PURPOSE_LEGAL_OBLIGATION, /* R1: the borrower's right of access */
		.matrix = &req->app->matrix,
		.kr = req->app->keys
	};
	op->subject_id = req->actor.subject_id;
	op->wanted = CATEGORY_ALL;
	op->self = 1; /* R1: every category, no decision */
	enum senim_result err = subjects_read_fetch(req->app->store, op);
	if (err)
		return me_answer(req, resp, err, op);
	m->fetched = op->refused;
	return http_write_then(req, me_record_tx, m, me_answer);
}

/* ---- consents -------------------------------------------------------------------- */

static void fill_consent_request(struct http_request *req, const char *language,
				 const char *channel, char ip[INET6_ADDRSTRLEN],
				 struct consent_request *rq)
{
	client_ip(req, ip);
	rq->subject_id = req->actor.subject_id;
	rq->request_id = req->request_id;
	rq->actor = req->actor.label;
	rq->language =
		language ? language : lang_code(req->lang == LANG_KK ? LANG_KK : LANG_RU);
	rq->channel = channel ? channel : "web";
	rq->ip = ip[0] ? ip : NULL;
	rq->user_agent = http_header(req, "User-Agent");
	rq->device_id = http_header(req, "Senim-Device-Id");
}

static const struct jsonin_field policy_fields[] = {
	{ .name = "version",
	  .type = JSONIN_STRING,
	  .required = 1,
	  .min_len = 1,
	  .max_len = 32 },
	{ .name = "language",
	  .type = JSONIN_STRING,
	  .required = 1,
	  .allowed = languages },
	{ .name = "channel", .type = JSONIN_STRING, .required = 1, .allowed = channels },
};

/* Once the acceptance is durable: the consent, or why not. */
static enum senim_result accept_answer(struct http_request *req,
				       struct http_response *resp,
				       enum senim_result result, void *ctx)
{
	struct ledger_grant *op = ctx;
	if (result == SENIM_ERR_CONFLICT) {
		struct problem p = { .code = "policy_version_outdated",
				     .extra = json_pack("{s:s}", "current_version",
							op->current) };
		return http_reply_problem(req, resp, &p);
	}
	if (result == SENIM_ERR_NOT_FOUND)
		return http_reply_code(req, resp, "policy_not_found");
	if (result)
		return result;
	json_t *out = op->out;
	op->out = NULL;
	return http_reply_json(resp, op->created ? 201 : 200, out);
}

enum senim_result api_me_accept_policy(struct http_request *req,
				       struct http_response *resp)
{
	json_t *body;
	if (http_json_body_or_reply(req, resp, policy_fields, COUNT(policy_fields),
				    &body))
		return SENIM_OK;
	struct ledger_grant *op =
		arena_alloc_disposable(&req->arena, sizeof(*op), ledger_grant_dispose);
	if (!op) {
		json_decref(body);
		return SENIM_ERR_NOMEM;
	}
	char ip[INET6_ADDRSTRLEN];
	op->kr = req->app->keys;
	fill_consent_request(req, jsonin_str(body, "language"),
			     jsonin_str(body, "channel"), ip, &op->rq);
	op->kind = CONSENT_POLICY;
	op->version = jsonin_str(body, "version");
	enum senim_result err = ledger_grant_prepare(req->app->store, op);
	op->version = NULL; /* the body's: read by the preparation only */
	json_decref(body);
	if (err) /* refused or failed before any write */
		return accept_answer(req, resp, err, op);
	return http_write_then(req, ledger_grant_tx, op, accept_answer);
}

static const struct jsonin_field grant_fields[] = {
	{ .name = "kind",
	  .type = JSONIN_STRING,
	  .required = 1,
	  .min_len = 1,
	  .max_len = 32 },
	{ .name = "language", .type = JSONIN_STRING, .allowed = languages },
	{ .name = "channel", .type = JSONIN_STRING, .required = 1, .allowed = channels },
};

static enum senim_result grant_answer(struct http_request *req,
				      struct http_response *resp,
				      enum senim_result result, void *ctx)
{
	(void)req;
	struct ledger_grant *op = ctx;
	if (result)
		return result;
	json_t *out = op->out;
	op->out = NULL;
	return http_reply_json(resp, op->created ? 201 : 200, out);
}

enum senim_result api_me_grant(struct http_request *req, struct http_response *resp)
{
	json_t *body;
	if (http_json_body_or_reply(req, resp, grant_fields, COUNT(grant_fields), &body))
		return SENIM_OK;
	int kind = consent_kind_parse(jsonin_str(body, "kind"));
	if (kind < 0 || kind == CONSENT_POLICY) {
		json_decref(body);
		struct problem p = { .code = "validation_failed",
				     .field = "kind",
				     .rule = "enum_value" };
		return http_reply_problem(req, resp, &p);
	}
	struct ledger_grant *op =
		arena_alloc_disposable(&req->arena, sizeof(*op), ledger_grant_dispose);
	if (!op) {
		json_decref(body);
		return SENIM_ERR_NOMEM;
	}
	char ip[INET6_ADDRSTRLEN];
	op->kr = req->app->keys;
	fill_consent_request(req, jsonin_str(body, "language"),
			     jsonin_str(body, "channel"), ip, &op->rq);
	op->kind = (enum consent_kind)kind;
	enum senim_result err = ledger_grant_prepare(req->app->store, op);
	json_decref(body);
	if (err)
		return err;
	return http_write_then(req, ledger_grant_tx, op, grant_answer);
}

/* In the writer: R5, the borrower's own access limited by law (rights/
 * package.h) leaves them the limited view of their consents — what they
 * need to keep the contract and to withdraw a consent, without the signed
 * receipts — the same for every ground, and the listing's record says
 * "limited".  The full list was read before this, either way, and is
 * dropped unseen under a limit (no timing tell). */
static enum senim_result consents_listing_tx(struct store_tx *tx, void *arg)
{
	struct ledger_listing *op = arg;
	enum senim_result err = package_limited_tx(tx, op->subject_id, &op->limited);
	return err ? err : ledger_listing_tx(tx, op);
}

/* Once the listing's audit record is durable: the list, in the view the
 * writer decided. */
static enum senim_result consents_answer(struct http_request *req,
					 struct http_response *resp,
					 enum senim_result result, void *ctx)
{
	struct ledger_listing *op = ctx;
	if (result)
		return result;
	json_t *out = NULL;
	result = ledger_listing_view(
		op, op->limited ? LEDGER_VIEW_LIMITED : LEDGER_VIEW_FULL, &out);
	if (result)
		return result;
	return op->limited ? api_reply_limited(req, resp, out)
			   : http_reply_json(resp, 200, out);
}

enum senim_result api_me_consents(struct http_request *req, struct http_response *resp)
{
	(void)resp; /* the continuation answers */
	struct ledger_listing *op =
		arena_alloc_disposable(&req->arena, sizeof(*op), ledger_listing_dispose);
	if (!op)
		return SENIM_ERR_NOMEM;
	op->kr = req->app->keys;
	op->subject_id = req->actor.subject_id;
	op->request_id = req->request_id;
	op->actor = req->actor.label;
	enum senim_result err = ledger_listing_prepare(req->app->store, op);
	if (err)
		return err;
	return http_write_then(req, consents_listing_tx, op, consents_answer);
}

/* Once the withdrawal, or its refusal, is on record: the answer. */
static enum senim_result withdraw_answer(struct http_request *req,
					 struct http_response *resp,
					 enum senim_result result, void *ctx)
{
	struct ledger_withdrawal *op = ctx;
	if (result == SENIM_ERR_NOT_FOUND)
		return http_reply_code(req, resp, "consent_not_found");
	if (result == SENIM_ERR_CONFLICT)
		return http_reply_code(req, resp, "consent_withdrawn");
	if (result)
		return result;
	if (op->irrevocable) {
		/* C2: say why, and which obligation (the borrower's own). */
		struct problem p = {
			.code = "consent_irrevocable",
			.extra = json_pack("{s:s,s:{s:s,s:I}}", "reason", op->irrevocable,
					   "obligation", "contract_number",
					   op->obligation, "open_obligations",
					   (json_int_t)op->open_obligations)
		};
		return http_reply_problem(req, resp, &p);
	}
	json_t *out = op->out;
	op->out = NULL;
	return http_reply_json(resp, 200, out);
}

enum senim_result api_me_withdraw(struct http_request *req, struct http_response *resp)
{
	struct ledger_withdrawal *op = arena_alloc_disposable(&req->arena, sizeof(*op),
							      ledger_withdrawal_dispose);
	if (!op)
		return SENIM_ERR_NOMEM;
	char ip[INET6_ADDRSTRLEN];
	op->kr = req->app->keys;
	fill_consent_request(req, NULL, NULL, ip, &op->rq);
	op->consent_id = req->params[0];
	enum senim_result err = ledger_withdrawal_prepare(req->app->store, op);
	if (err) /* refused or failed before any write */
		return withdraw_answer(req, resp, err, op);
	return http_write_then(req, ledger_withdrawal_tx, op, withdraw_answer);
}

/* ---- the staff view --------------------------------------------------------------- */

/* Once the staff view's audit record is durable: the subject's consents. */
static enum senim_result consents_view_answer(struct http_request *req,
					      struct http_response *resp,
					      enum senim_result result, void *ctx)
{
	struct subject_read *op = ctx;
	if (result == SENIM_ERR_NOT_FOUND)
		return http_reply_code(req, resp, "subject_not_found");
	if (result)
		return result;
	if (op->refused.why != ACCESS_GRANTED)
		return api_reply_refusal(req, resp, &op->refused);
	json_t *out = NULL;
	result = ledger_list(req->app->store, op->subject_id, &out);
	if (result)
		return result;
	return http_reply_json(resp, 200, out);
}

enum senim_result api_subject_consents(struct http_request *req,
				       struct http_response *resp)
{
	const char *id = req->params[0];
	if (!subject_id_valid(id))
		return http_reply_code(req, resp, "subject_not_found");
	/* The DPO answers for the ledger (legal_obligation); support sees it
	 * to answer the borrower (customer_communication).  Either way the
	 * purpose is named and the access is decided and audited like any
	 * other read of the subject. */
	const char *h = http_header(req, "Senim-Purpose");
	int purpose = h ? purpose_parse(h) : -1;
	if (!h || !*h)
		return http_reply_code(req, resp, "purpose_required");
	if (purpose < 0)
		return http_reply_code(req, resp, "purpose_unknown");
	if (purpose != PURPOSE_LEGAL_OBLIGATION &&
	    purpose != PURPOSE_CUSTOMER_COMMUNICATION)
		return http_reply_code(req, resp, "purpose_not_permitted");
	struct subject_read *op =
		arena_alloc_disposable(&req->arena, sizeof(*op), subject_read_dispose);
	if (!op)
		return SENIM_ERR_NOMEM;
	op->actor = (struct subject_actor){ .label = req->actor.label,
					    .request_id = req->request_id,
					    .role = req->actor.role,
					    .purpose = (enum purpose)purpose,
					    .matrix = &req->app->matrix,
					    .kr = req->app->keys };
	op->subject_id = id;
	op->wanted = 0; /* no category: the decision and its record alone */
	/* The decision now; its audit record in the next batch; the ledger
	 * once that record is durable. */
	enum senim_result err = subjects_read_fetch(req->app->store, op);
	if (err)
		return consents_view_answer(req, resp, err, op);
	return http_write_then(req, subjects_read_record, op, consents_view_answer);
}
