/*
 * phone.c — changing a borrower's sign-in phone over HTTP (U4, S1, S3, S4;
 * borrower/phone.h).
 *
 *   POST /v1/subjects/{id}/phone-changes               staff propose {new_phone,
 *                                                      identity_check}
 *   POST /v1/subjects/{id}/phone-changes/{change}/approve   a member of
 *                                                      another role approves
 *   POST /v1/me/phone                                  the borrower asks {phone}:
 *                                                      codes to both numbers
 *   POST /v1/me/phone/confirm                          {change_id, code_old,
 *                                                      code_new}
 *
 * Staff act for identification (U4), the one purpose both proposing roles
 * hold.  A change applied sends a notice to the OLD number, showing only the
 * new number's last two digits; its fate is on record.  Phones and codes
 * travel only in bodies and SMS, never in a URL, a log or an answer.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/refusal.h"
#include "api/app.h"
#include "borrower/phone.h"
#include "common/clock.h"
#include "common/ids.h"
#include "connectors/sms.h"
#include "http/ratelimit.h"
#include "common/banned.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* A borrower's own change requests (two SMS each) per window. */
#define PHONE_STARTS_PER_WINDOW 3
#define PHONE_WINDOW_S 600

/* A step on its way: the op, and what the answer needs afterwards.  Wiped
 * whole when the request is done (call_dispose): phones and codes. */
struct phone_call {
	struct app *app;
	struct phone_change op;
	enum lang lang;
	int64_t asked_at; /* clock_mono_us() of the request: SMS deadlines count from here */
	int sms_failed; /* START: a code did not reach the gateway */
};

static void call_dispose(void *c)
{
	sodium_memzero(c, sizeof(struct phone_call));
}

static struct phone_call *call_new(struct http_request *req, enum phone_step step,
				   const char *subject_id)
{
	struct phone_call *c =
		arena_alloc_disposable(&req->arena, sizeof(*c), call_dispose);
	if (!c)
		return NULL;
	c->app = req->app;
	c->lang = req->lang;
	c->asked_at = clock_mono_us();
	c->op.step = step;
	c->op.actor = (struct subject_actor){ .label = req->actor.label,
					      .request_id = req->request_id,
					      .role = req->actor.role,
					      .purpose = PURPOSE_IDENTIFICATION,
					      .matrix = &req->app->matrix,
					      .kr = req->app->keys };
	snprintf(c->op.subject_id, sizeof(c->op.subject_id), "%s", subject_id);
	return c;
}

static enum senim_result reply_invalid(struct http_request *req,
				       struct http_response *resp, const char *field,
				       const char *rule)
{
	struct problem p = { .code = "validation_failed", .field = field, .rule = rule };
	return http_reply_problem(req, resp, &p);
}

/* A refused step: its problem, with what the caller may act on. */
static enum senim_result reply_refusal(struct http_request *req,
				       struct http_response *resp,
				       const struct phone_change *op)
{
	struct problem p = { .code = "conflict" };
	switch (op->refusal) {
	case PHONE_REFUSED_ACCESS:
		return api_reply_refusal(req, resp, &op->refused);
	case PHONE_REFUSED_UNCHANGED:
		p.code = "phone_unchanged";
		break;
	case PHONE_REFUSED_NOT_FOUND:
		p.code = "phone_change_not_found";
		break;
	case PHONE_REFUSED_NOT_PENDING:
		p.code = "phone_change_not_pending";
		break;
	case PHONE_REFUSED_EXPIRED:
		p.code = "phone_change_expired";
		break;
	case PHONE_REFUSED_SELF_APPROVAL:
		p.code = "phone_change_self_approval";
		break;
	case PHONE_REFUSED_SAME_ROLE:
		p.code = "phone_change_same_role";
		p.extra = json_pack("{s:s}", "proposer_role", op->proposer_role);
		break;
	case PHONE_REFUSED_CODE_INVALID:
		p.code = "phone_change_code_invalid";
		break;
	case PHONE_REFUSED_NONE:
		break;
	}
	return http_reply_problem(req, resp, &p);
}

/* The last two digits of a phone, for a notice that must not carry it. */
static const char *tail2(const char *phone)
{
	size_t n = strlen(phone);
	return n >= 2 ? phone + n - 2 : "";
}

/* The notice to the OLD number, in the borrower's language (P3). */
static void notice_text(enum lang l, const struct phone_change *op, char *out, size_t cap)
{
	switch (l) {
	case LANG_KK:
		snprintf(out, cap,
			 "senim: кіру нөміріңіз ***%s нөміріне ауыстырылды (%s). "
			 "Бұл сіз болмасаңыз, қолдау қызметіне хабарласыңыз.",
			 tail2(op->new_phone), op->change_id);
		break;
	case LANG_EN:
		snprintf(out, cap,
			 "senim: your sign-in phone was changed to a number ending %s "
			 "(%s). If this was not you, call support.",
			 tail2(op->new_phone), op->change_id);
		break;
	default:
		snprintf(out, cap,
			 "senim: номер для входа изменён на номер, оканчивающийся на "
			 "%s (%s). Если это были не вы, позвоните в поддержку.",
			 tail2(op->new_phone), op->change_id);
	}
}

static void code_text(enum lang l, const char *code, int to_new, char *out, size_t cap)
{
	const char *which;
	switch (l) {
	case LANG_KK:
		which = to_new ? "жаңа" : "ескі";
		snprintf(out, cap,
			 "senim: кіру нөмірін ауыстыру коды (%s нөмір) %s. Оны ешкімге "
			 "айтпаңыз.",
			 which, code);
		break;
	case LANG_EN:
		which = to_new ? "new" : "old";
		snprintf(out, cap,
			 "senim: code to change your sign-in phone (%s number) %s. Do "
			 "not share it.",
			 which, code);
		break;
	default:
		which = to_new ? "новый" : "старый";
		snprintf(out, cap,
			 "senim: код для смены номера входа (%s номер) %s. Никому его "
			 "не сообщайте.",
			 which, code);
	}
}

/* On an I/O thread, after a change was applied: tell the old number, and
 * put on record whether the gateway took the notice. */
static enum senim_result send_notice(struct phone_call *c)
{
	char text[400];
	enum senim_result err = SENIM_ERR_UNAVAILABLE;
	if (c->app->sms && c->op.old_phone[0]) {
		notice_text(c->lang, &c->op, text, sizeof(text));
		struct borrower_sms_fate *f = &c->op.sms_old;
		f->rc = borrower_sms_processor(c->app->recipients, &f->svc);
		err = sms_send_traced(c->app->sms, c->op.old_phone, text,
				      c->op.actor.request_id,
				      c->asked_at + (int64_t)SMS_DEADLINE_MS * 1000,
				      &f->may_have_reached);
		f->failed = err != SENIM_OK;
		sodium_memzero(text, sizeof(text));
	}
	c->op.notice_sent = err == SENIM_OK;
	return store_write(c->app->store, phone_change_notice_tx, &c->op);
}

/* On an I/O thread: the step's write, then the SMS it calls for. */
static enum senim_result run_step(void *ctx)
{
	struct phone_call *c = ctx;
	enum senim_result err = store_write(c->app->store, phone_change_tx, &c->op);
	if (err || c->op.refusal)
		return err;
	if (c->op.applied)
		return send_notice(c);
	if (c->op.step != PHONE_STEP_START)
		return SENIM_OK;
	/* Codes to both numbers: only who holds both confirms. */
	char text[200];
	int64_t deadline = c->asked_at + (int64_t)SMS_DEADLINE_MS * 1000;
	const struct recipient_service *svc = NULL;
	const struct recipient *rc = borrower_sms_processor(c->app->recipients, &svc);
	struct borrower_sms_fate *f = &c->op.sms_old;
	err = SENIM_ERR_UNAVAILABLE;
	if (!c->app->sms) {
		rc = NULL; /* nothing was sent */
		goto fail;
	}
	*f = (struct borrower_sms_fate){ .rc = rc, .svc = svc };
	code_text(c->lang, c->op.code_old, 0, text, sizeof(text));
	err = sms_send_traced(c->app->sms, c->op.old_phone, text, c->op.actor.request_id,
			      deadline, &f->may_have_reached);
	f->failed = err != SENIM_OK;
	if (err)
		goto fail;
	f = &c->op.sms_new;
	*f = (struct borrower_sms_fate){ .rc = rc, .svc = svc };
	code_text(c->lang, c->op.code_new, 1, text, sizeof(text));
	err = sms_send_traced(c->app->sms, c->op.new_phone, text, c->op.actor.request_id,
			      deadline, &f->may_have_reached);
	f->failed = err != SENIM_OK;
fail:
	sodium_memzero(text, sizeof(text));
	/* T5: the codes that went are on the register; with no processor
	 * nothing is written, as before. */
	if (rc) {
		enum senim_result werr =
			store_write(c->app->store, phone_change_codes_tx, &c->op);
		if (werr)
			return werr;
	}
	/* The change is on record either way; the answer says the codes did
	 * not go out. */
	if (err)
		c->sms_failed = 1;
	return SENIM_OK;
}

/* Once the step is done: the answer. */
static enum senim_result step_answer(struct http_request *req, struct http_response *resp,
				     enum senim_result result, void *ctx)
{
	struct phone_call *c = ctx;
	struct phone_change *op = &c->op;
	if (result == SENIM_ERR_NOT_FOUND)
		return http_reply_code(req, resp, "subject_not_found");
	if (result)
		return result;
	if (op->refusal)
		return reply_refusal(req, resp, op);
	char when[CLOCK_RFC3339_LEN];
	switch (op->step) {
	case PHONE_STEP_PROPOSE:
		clock_format_rfc3339(op->expires_at, when);
		return http_reply_json(resp, 201,
				       json_pack("{s:s,s:s,s:s,s:s}", "change_id",
						 op->change_id, "subject_id",
						 op->subject_id, "status", "pending",
						 "expires_at", when));
	case PHONE_STEP_START:
		if (c->sms_failed)
			return http_reply_code(req, resp, "sms_unavailable");
		return http_reply_json(resp, 202,
				       json_pack("{s:s,s:s,s:i}", "change_id",
						 op->change_id, "status", "sent",
						 "expires_in", BORROWER_OTP_SECONDS));
	case PHONE_STEP_APPROVE:
	case PHONE_STEP_CONFIRM:
	default:
		return http_reply_json(resp, 200,
				       json_pack("{s:s,s:s,s:I,s:s}", "change_id",
						 op->change_id, "status", "applied",
						 "sessions_revoked",
						 (json_int_t)op->revoked, "notice",
						 op->notice_sent ? "sent" : "failed"));
	}
}

/* ---- staff: maker-checker ---------------------------------------------------------- */

/* How the proposer checked that the caller is the borrower (U4). */
static const char *const identity_checks[] = { "document_in_person",
					       "video_identification", "digital_id",
					       NULL };

static const struct jsonin_field propose_fields[] = {
	{ .name = "new_phone", .type = JSONIN_STRING, .required = 1, .max_len = 32 },
	{ .name = "identity_check",
	  .type = JSONIN_STRING,
	  .required = 1,
	  .allowed = identity_checks },
};

static const char *subject_or_reply(struct http_request *req, struct http_response *resp)
{
	const char *id = req->params[0];
	if (!subject_id_valid(id)) {
		http_reply_code(req, resp, "subject_not_found");
		return NULL;
	}
	return id;
}

enum senim_result api_phone_change_propose(struct http_request *req,
					   struct http_response *resp)
{
	const char *id = subject_or_reply(req, resp);
	json_t *body;
	if (!id || http_json_body_or_reply(req, resp, propose_fields,
					   COUNT(propose_fields), &body))
		return SENIM_OK;
	struct phone_call *c = call_new(req, PHONE_STEP_PROPOSE, id);
	if (!c) {
		json_decref(body);
		return SENIM_ERR_NOMEM;
	}
	const char *in = jsonin_str(body, "new_phone");
	int ok = phone_normalize_kz(in, strlen(in), c->op.new_phone);
	/* The attestation is one of a fixed list: the static string, not the
	 * body's, outlives the body. */
	for (size_t i = 0; identity_checks[i]; i++)
		if (strcmp(identity_checks[i], jsonin_str(body, "identity_check")) == 0)
			c->op.identity_check = identity_checks[i];
	json_decref(body);
	if (!ok)
		return reply_invalid(req, resp, "new_phone", "format");
	return http_call_then(req, run_step, c, step_answer);
}

enum senim_result api_phone_change_approve(struct http_request *req,
					   struct http_response *resp)
{
	const char *id = subject_or_reply(req, resp);
	if (!id)
		return SENIM_OK;
	const char *change = req->params[1];
	if (strncmp(change, "pch_", 4) != 0 || !id_body_valid(change + 4))
		return http_reply_code(req, resp, "phone_change_not_found");
	struct phone_call *c = call_new(req, PHONE_STEP_APPROVE, id);
	if (!c)
		return SENIM_ERR_NOMEM;
	snprintf(c->op.change_id, sizeof(c->op.change_id), "%s", change);
	return http_call_then(req, run_step, c, step_answer);
}

/* ---- the borrower, signed in ------------------------------------------------------- */

static const struct jsonin_field start_fields[] = {
	{ .name = "phone",
	  .type = JSONIN_STRING,
	  .required = 1,
	  .min_len = 1,
	  .max_len = 32 },
};

enum senim_result api_me_phone(struct http_request *req, struct http_response *resp)
{
	json_t *body;
	if (http_json_body_or_reply(req, resp, start_fields, COUNT(start_fields), &body))
		return SENIM_OK;
	struct phone_call *c = call_new(req, PHONE_STEP_START, req->actor.subject_id);
	if (!c) {
		json_decref(body);
		return SENIM_ERR_NOMEM;
	}
	const char *in = jsonin_str(body, "phone");
	int ok = phone_normalize_kz(in, strlen(in), c->op.new_phone);
	json_decref(body);
	if (!ok)
		return reply_invalid(req, resp, "phone", "format");
	if (!req->app->sms)
		return http_reply_code(req, resp, "sms_unavailable");
	/* Each request sends two SMS: a few per borrower per window. */
	int retry = 0;
	if (!ratelimit_hit(req->app->limits, "phone-change", req->actor.subject_id,
			   strlen(req->actor.subject_id), PHONE_STARTS_PER_WINDOW,
			   PHONE_WINDOW_S, &retry)) {
		char v[16];
		snprintf(v, sizeof(v), "%d", retry);
		enum senim_result err = http_reply_code(req, resp, "rate_limited");
		return err ? err : http_add_header(req, resp, "Retry-After", v);
	}
	return http_call_then(req, run_step, c, step_answer);
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

static int change_id_form(const char *s, size_t len)
{
	return len == PHONE_CHANGE_ID_LEN - 1 && strncmp(s, "pch_", 4) == 0 &&
	       id_body_valid(s + 4);
}

static const struct jsonin_field confirm_fields[] = {
	{ .name = "change_id",
	  .type = JSONIN_STRING,
	  .required = 1,
	  .max_len = 64,
	  .format = change_id_form },
	{ .name = "code_old",
	  .type = JSONIN_STRING,
	  .required = 1,
	  .min_len = 6,
	  .max_len = 6,
	  .format = digits6 },
	{ .name = "code_new",
	  .type = JSONIN_STRING,
	  .required = 1,
	  .min_len = 6,
	  .max_len = 6,
	  .format = digits6 },
};

enum senim_result api_me_phone_confirm(struct http_request *req,
				       struct http_response *resp)
{
	json_t *body;
	if (http_json_body_or_reply(req, resp, confirm_fields, COUNT(confirm_fields),
				    &body))
		return SENIM_OK;
	struct phone_call *c = call_new(req, PHONE_STEP_CONFIRM, req->actor.subject_id);
	if (!c) {
		json_decref(body);
		return SENIM_ERR_NOMEM;
	}
	snprintf(c->op.change_id, sizeof(c->op.change_id), "%s",
		 jsonin_str(body, "change_id"));
	snprintf(c->op.code_old, sizeof(c->op.code_old), "%s",
		 jsonin_str(body, "code_old"));
	snprintf(c->op.code_new, sizeof(c->op.code_new), "%s",
		 jsonin_str(body, "code_new"));
	c->op.keep_token = req->bearer;
	json_decref(body);
	return http_call_then(req, run_step, c, step_answer);
}
