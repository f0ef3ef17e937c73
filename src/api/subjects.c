/*
 * subjects.c — borrowers' personal data over HTTP (D1-D7, U1-U10, R2-R4).
 *
 *   POST /v1/subjects                               register (IIN, names, ...)
 *   POST /v1/subjects/search                        find by IIN, phone or e-mail
 *   GET  /v1/subjects/{id}/data                     every category the purpose sees
 *   GET  /v1/subjects/{id}/data/{category}          one category
 *   PUT  /v1/subjects/{id}/data/{category}          a new version of it
 *   GET  /v1/subjects/{id}/data/{category}/history  every version (R2)
 *   POST /v1/subjects/{id}/block, /unblock          R3 (dpo)
 *   POST/DELETE /v1/subjects/{id}/restrictions      R4 (dpo)
 *   GET  /v1/subjects/{id}/protection               block and restriction state
 *   POST /v1/subjects/{id}/checks/credit-report     a bureau's report (T2, T6)
 *   POST /v1/subjects/{id}/checks/scoring           a processor's job (T5)
 *
 * Every data route names its purpose in the Senim-Purpose header; personal
 * data travels only in bodies, never in a URL.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/app.h"
#include "api/refusal.h"
#include "api/subject_fields.h"
#include "core/contact.h"
#include "core/iin.h"
#include "connectors/hub.h"
#include "exchange/findings.h"
#include "exchange/transfer.h"
#include "subjects/subjects.h"
#include "common/banned.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- purpose, actor, errors -------------------------------------------- */

/* The purpose named in Senim-Purpose; answers 400 itself when missing or
 * unknown. */
static enum senim_result purpose_or_reply(struct http_request *req,
					  struct http_response *resp, enum purpose *out)
{
	const char *h = http_header(req, "Senim-Purpose");
	if (!h || !*h) {
		http_reply_code(req, resp, "purpose_required");
		return SENIM_ERR_INVALID;
	}
	int p = purpose_parse(h);
	if (p < 0) {
		http_reply_code(req, resp, "purpose_unknown");
		return SENIM_ERR_INVALID;
	}
	*out = (enum purpose)p;
	return SENIM_OK;
}

/* The caller as the subjects module sees it; its strings are the request's. */
static struct subject_actor actor_for(struct http_request *req, enum purpose p)
{
	return (struct subject_actor){ .label = req->actor.label,
				       .request_id = req->request_id,
				       .role = req->actor.role,
				       .purpose = p,
				       .matrix = &req->app->matrix,
				       .kr = req->app->keys };
}

/* The answer to an operation that failed (result not SENIM_OK): a subject
 * that is not there is 404; any other failure is the server's to map. */
static enum senim_result reply_failure(struct http_request *req,
				       struct http_response *resp,
				       enum senim_result result)
{
	if (result == SENIM_ERR_NOT_FOUND)
		return http_reply_code(req, resp, "subject_not_found");
	return result;
}

/* The {id} parameter, answered 404 when it cannot be a subject id (another
 * form never reaches the store, and says nothing about what exists). */
static const char *subject_or_reply(struct http_request *req, struct http_response *resp)
{
	const char *id = req->params[0];
	if (!subject_id_valid(id)) {
		http_reply_code(req, resp, "subject_not_found");
		return NULL;
	}
	return id;
}

static enum senim_result category_or_reply(struct http_request *req,
					   struct http_response *resp, enum category *out)
{
	int c = category_parse(req->params[1]);
	if (c < 0) {
		struct problem p = { .code = "validation_failed",
				     .field = "category",
				     .rule = "enum_value" };
		http_reply_problem(req, resp, &p);
		return SENIM_ERR_INVALID;
	}
	*out = (enum category)c;
	return SENIM_OK;
}

static json_t *category_names(uint32_t mask)
{
	json_t *a = json_array();
	for (int c = 0; a && c < CATEGORY__COUNT; c++)
		if (mask & CATEGORY_BIT(c))
			json_array_append_new(
				a, json_string(category_code((enum category)c)));
	return a;
}

static enum senim_result reply_invalid(struct http_request *req,
				       struct http_response *resp, const char *field,
				       const char *rule, long long limit)
{
	struct problem p = {
		.code = "validation_failed", .field = field, .rule = rule, .limit = limit
	};
	return http_reply_problem(req, resp, &p);
}

/* ---- registration -------------------------------------------------------------- */

static const char *const sexes[] = { "M", "F", NULL };

static const struct jsonin_field register_fields[] = {
	{ .name = "iin", .type = JSONIN_STRING, .required = 1, .max_len = 64 },
	{ .name = "surname",
	  .type = JSONIN_STRING,
	  .required = 1,
	  .min_len = 1,
	  .max_len = 100 },
	{ .name = "given_name",
	  .type = JSONIN_STRING,
	  .required = 1,
	  .min_len = 1,
	  .max_len = 100 },
	{ .name = "patronymic", .type = JSONIN_STRING, .min_len = 1, .max_len = 100 },
	{ .name = "birth_date", .type = JSONIN_STRING, .required = 1, .max_len = 10 },
	{ .name = "sex", .type = JSONIN_STRING, .required = 1, .allowed = sexes },
	{ .name = "citizenship", .type = JSONIN_STRING, .required = 1, .max_len = 2 },
	{ .name = "phone", .type = JSONIN_STRING, .required = 1, .max_len = 32 },
	{ .name = "email", .type = JSONIN_STRING, .max_len = EMAIL_MAX },
	{ .name = "source", .type = JSONIN_STRING, .max_len = 32 },
};

/* The IIN's own rules, then agreement with birth date and sex. */
static enum senim_result check_iin(json_t *body, const char **rule)
{
	const char *iin = jsonin_str(body, "iin");
	const char *bd = jsonin_str(body, "birth_date");
	struct iin_info info;
	enum iin_error e = iin_parse(iin, strlen(iin), &info);
	int y, m, d;
	if (e == IIN_OK && date_parse_iso(bd, strlen(bd), &y, &m, &d))
		e = iin_matches(&info, y, m, d, jsonin_str(body, "sex")[0]);
	*rule = iin_error_rule(e);
	return e == IIN_OK ? SENIM_OK : SENIM_ERR_INVALID;
}

static json_t *identity_of(json_t *body)
{
	static const char *const keys[] = { "iin",	  "surname",	"given_name",
					    "patronymic", "birth_date", "sex",
					    "citizenship" };
	json_t *o = json_object();
	for (size_t i = 0; o && i < COUNT(keys); i++) {
		json_t *v = json_object_get(body, keys[i]);
		if (v && !json_is_null(v))
			json_object_set(o, keys[i], v);
	}
	return o;
}

/* The answer to a registration, once its write is durable (or failed). */
static enum senim_result register_answer(struct http_request *req,
					 struct http_response *resp,
					 enum senim_result result, void *ctx)
{
	struct subject_registration *op = ctx;
	if (result)
		return result;
	if (op->refused.why != ACCESS_GRANTED)
		return api_reply_refusal(req, resp, &op->refused);
	if (op->exists)
		return http_reply_code(req, resp, "subject_exists");
	char location[64];
	snprintf(location, sizeof(location), "/v1/subjects/%s/data", op->id);
	enum senim_result err = (enum senim_result)http_reply_json(
		resp, 201, json_pack("{s:s}", "id", op->id));
	if (err)
		return err;
	return http_add_header(req, resp, "Location", location);
}

enum senim_result api_subject_register(struct http_request *req,
				       struct http_response *resp)
{
	enum purpose purpose;
	if (purpose_or_reply(req, resp, &purpose))
		return SENIM_OK;
	json_t *body;
	if (http_json_body_or_reply(req, resp, register_fields, COUNT(register_fields),
				    &body))
		return SENIM_OK;
	int y, m, d;
	char phone[PHONE_E164_LEN], email[EMAIL_MAX + 1];
	const char *rule = NULL, *bd = jsonin_str(body, "birth_date");
	const char *mail = jsonin_str(body, "email"), *src = jsonin_str(body, "source");
	const char *cc = jsonin_str(body, "citizenship"), *ph = jsonin_str(body, "phone");
	int source = src ? subject_source_parse(src) : SOURCE_BORROWER;
	struct subject_registration *op = NULL;
	json_t *identity = NULL, *contact = NULL;
	enum senim_result err = SENIM_OK;
	if (!date_parse_iso(bd, strlen(bd), &y, &m, &d))
		err = reply_invalid(req, resp, "birth_date", "format", 0);
	else if (check_iin(body, &rule))
		err = reply_invalid(req, resp, "iin", rule, 0);
	else if (!country_alpha2_valid(cc, strlen(cc)))
		err = reply_invalid(req, resp, "citizenship", "format", 0);
	else if (!phone_normalize_kz(ph, strlen(ph), phone))
		err = reply_invalid(req, resp, "phone", "format", 0);
	else if (mail && (!email_valid(mail, strlen(mail)) ||
			  !email_normalize(mail, strlen(mail), email, sizeof(email))))
		err = reply_invalid(req, resp, "email", "format", 0);
	else if (source < 0)
		err = reply_invalid(req, resp, "source", "enum_value", 0);
	if (err || resp->replied)
		goto fail;
	op = arena_alloc_disposable(&req->arena, sizeof(*op),
				    subject_registration_dispose);
	identity = identity_of(body);
	contact = mail ? json_pack("{s:s,s:s}", "phone_mobile", phone, "email", email)
		       : json_pack("{s:s}", "phone_mobile", phone);
	if (!op || !identity || !contact) {
		err = SENIM_ERR_NOMEM;
		goto fail;
	}
	op->actor = actor_for(req, purpose);
	op->source = (enum subject_source)source;
	op->iin = jsonin_str(body, "iin");
	op->phone = phone;
	op->email = mail ? email : NULL;
	op->identity = identity;
	op->contact = contact;
	err = subjects_register_seal(op);
	/* What the seal read is the body's and this frame's. */
	op->iin = op->phone = op->email = NULL;
	op->identity = op->contact = NULL;
fail:
	json_decref(identity);
	json_decref(contact);
	json_decref(body);
	if (err || resp->replied)
		return err;
	/* Answered by register_answer once the registration is durable. */
	return http_write_then(req, subjects_register_tx, op, register_answer);
}

/* ---- reading ---------------------------------------------------------------- */

/* Once the read's audit record is durable: every category the purpose sees,
 * and the names of those it does not. */
static enum senim_result data_answer(struct http_request *req, struct http_response *resp,
				     enum senim_result result, void *ctx)
{
	struct subject_read *op = ctx;
	if (result) /* no data without its durable audit record */
		return reply_failure(req, resp, result);
	if (op->refused.why != ACCESS_GRANTED)
		return api_reply_refusal(req, resp, &op->refused);
	return http_reply_json(
		resp, 200,
		json_pack("{s:s,s:s,s:O,s:o}", "subject_id", op->subject_id, "purpose",
			  purpose_code(op->actor.purpose), "categories", op->out,
			  "withheld", category_names(op->withheld)));
}

/* Once the read's audit record is durable: the one category's record. */
static enum senim_result category_answer(struct http_request *req,
					 struct http_response *resp,
					 enum senim_result result, void *ctx)
{
	struct subject_read *op = ctx;
	if (result) /* no data without its durable audit record */
		return reply_failure(req, resp, result);
	if (op->refused.why != ACCESS_GRANTED)
		return api_reply_refusal(req, resp, &op->refused);
	if (op->withheld)
		return http_reply_code(req, resp, "category_withheld");
	/* The handler checked the category. */
	const char *cat = category_code((enum category)category_parse(req->params[1]));
	json_t *rec = json_object_get(op->out, cat);
	if (!rec)
		return http_reply_code(req, resp, "record_not_found");
	/* The record is the op's, disposed of with the request: the answer
	 * is made of it in place. */
	json_object_set_new(rec, "subject_id", json_string(op->subject_id));
	json_object_set_new(rec, "category", json_string(cat));
	json_object_set_new(rec, "purpose", json_string(purpose_code(op->actor.purpose)));
	return http_reply_json(resp, 200, json_incref(rec));
}

/* Decide and decrypt now; answer once the audit record is durable. */
static enum senim_result read_then_answer(struct http_request *req,
					  struct http_response *resp, const char *id,
					  enum purpose purpose, uint32_t wanted,
					  http_continue_fn answer)
{
	struct subject_read *op =
		arena_alloc_disposable(&req->arena, sizeof(*op), subject_read_dispose);
	if (!op)
		return SENIM_ERR_NOMEM;
	op->actor = actor_for(req, purpose);
	op->subject_id = id;
	op->wanted = wanted;
	enum senim_result err = subjects_read_fetch(req->app->store, op);
	if (err)
		return answer(req, resp, err, op);
	return http_write_then(req, subjects_read_record, op, answer);
}

enum senim_result api_subject_data(struct http_request *req, struct http_response *resp)
{
	enum purpose purpose;
	const char *id = subject_or_reply(req, resp);
	if (!id || purpose_or_reply(req, resp, &purpose))
		return SENIM_OK;
	return read_then_answer(req, resp, id, purpose, CATEGORY_ALL, data_answer);
}

enum senim_result api_subject_category(struct http_request *req,
				       struct http_response *resp)
{
	enum purpose purpose;
	enum category c;
	const char *id = subject_or_reply(req, resp);
	if (!id || category_or_reply(req, resp, &c) ||
	    purpose_or_reply(req, resp, &purpose))
		return SENIM_OK;
	return read_then_answer(req, resp, id, purpose, CATEGORY_BIT(c), category_answer);
}

/* Once the history and its audit record are durable: every version. */
static enum senim_result history_answer(struct http_request *req,
					struct http_response *resp,
					enum senim_result result, void *ctx)
{
	struct subject_history *op = ctx;
	if (result) /* no data without its durable audit record */
		return reply_failure(req, resp, result);
	if (op->refused.why != ACCESS_GRANTED)
		return api_reply_refusal(req, resp, &op->refused);
	return http_reply_json(resp, 200,
			       json_pack("{s:s,s:s,s:O}", "subject_id", op->subject_id,
					 "category", category_code(op->category),
					 "versions", op->out));
}

enum senim_result api_subject_history(struct http_request *req,
				      struct http_response *resp)
{
	enum purpose purpose;
	enum category c;
	const char *id = subject_or_reply(req, resp);
	if (!id || category_or_reply(req, resp, &c) ||
	    purpose_or_reply(req, resp, &purpose))
		return SENIM_OK;
	struct subject_history *op =
		arena_alloc_disposable(&req->arena, sizeof(*op), subject_history_dispose);
	if (!op)
		return SENIM_ERR_NOMEM;
	op->actor = actor_for(req, purpose);
	op->subject_id = id;
	op->category = c;
	return http_write_then(req, subjects_history_tx, op, history_answer);
}

/* ---- writing ------------------------------------------------------------------ */

static const struct jsonin_field put_fields[] = {
	{ .name = "fields", .type = JSONIN_OBJECT, .required = 1 },
	{ .name = "source", .type = JSONIN_STRING, .max_len = 32 },
};

/* Once the new version and its audit record are durable: its number. */
static enum senim_result put_answer(struct http_request *req, struct http_response *resp,
				    enum senim_result result, void *ctx)
{
	struct subject_write *op = ctx;
	const char *cat = category_code(op->category);
	if (result)
		return reply_failure(req, resp, result);
	if (op->refused.why == ACCESS_PURPOSE_READ_ONLY) {
		/* Say which purpose only reads which category. */
		struct problem p = { .code = "purpose_read_only",
				     .extra = json_pack("{s:s,s:s}", "purpose",
							purpose_code(op->actor.purpose),
							"category", cat) };
		return http_reply_problem(req, resp, &p);
	}
	if (op->refused.why != ACCESS_GRANTED)
		return api_reply_refusal(req, resp, &op->refused);
	if (op->phone_refused) {
		/* U4: the sign-in phone changes only by its own procedure. */
		struct problem p = { .code = "phone_change_procedure",
				     .field = "phone_mobile" };
		return http_reply_problem(req, resp, &p);
	}
	return http_reply_json(resp, 200,
			       json_pack("{s:s,s:s,s:I}", "subject_id", op->subject_id,
					 "category", cat, "version",
					 (json_int_t)op->version));
}

enum senim_result api_subject_put(struct http_request *req, struct http_response *resp)
{
	enum purpose purpose;
	enum category c;
	const char *id = subject_or_reply(req, resp);
	if (!id || category_or_reply(req, resp, &c) ||
	    purpose_or_reply(req, resp, &purpose))
		return SENIM_OK;
	json_t *body;
	if (http_json_body_or_reply(req, resp, put_fields, COUNT(put_fields), &body))
		return SENIM_OK;
	json_t *fields = json_object_get(body, "fields");
	const char *src = jsonin_str(body, "source");
	int source = src ? subject_source_parse(src) : SOURCE_STAFF;
	struct field_error fe;
	struct subject_write *op = NULL;
	enum senim_result err = SENIM_OK;
	if (source < 0)
		err = reply_invalid(req, resp, "source", "enum_value", 0);
	else if ((err = subject_fields_check(c, fields, &fe)) == SENIM_ERR_INVALID)
		err = reply_invalid(req, resp, fe.field, fe.rule, fe.limit);
	if (err || resp->replied)
		goto fail;
	op = arena_alloc_disposable(&req->arena, sizeof(*op), subject_write_dispose);
	if (!op) {
		err = SENIM_ERR_NOMEM;
		goto fail;
	}
	op->actor = actor_for(req, purpose);
	op->subject_id = id;
	op->category = c;
	op->source = (enum subject_source)source;
	op->fields = json_incref(fields);
fail:
	json_decref(body);
	if (err || resp->replied)
		return err;
	return http_write_then(req, subjects_write_tx, op, put_answer);
}

/* ---- lookups -------------------------------------------------------------------- */

static const struct jsonin_field search_fields[] = {
	{ .name = "iin", .type = JSONIN_STRING, .max_len = 64 },
	{ .name = "phone", .type = JSONIN_STRING, .max_len = 32 },
	{ .name = "email", .type = JSONIN_STRING, .max_len = EMAIL_MAX },
};

/* Once every record of the search is durable: the ids found. */
static enum senim_result search_answer(struct http_request *req,
				       struct http_response *resp,
				       enum senim_result result, void *ctx)
{
	struct subject_search *op = ctx;
	if (result)
		return reply_failure(req, resp, result);
	if (op->refused.why != ACCESS_GRANTED)
		return api_reply_refusal(req, resp, &op->refused);
	return http_reply_json(resp, 200, json_pack("{s:O}", "subjects", op->out));
}

enum senim_result api_subject_search(struct http_request *req, struct http_response *resp)
{
	enum purpose purpose;
	if (purpose_or_reply(req, resp, &purpose))
		return SENIM_OK;
	json_t *body;
	if (http_json_body_or_reply(req, resp, search_fields, COUNT(search_fields),
				    &body))
		return SENIM_OK;
	/* The key is personal data: it is normalised into the op, which the
	 * request's end wipes. */
	struct subject_search *op =
		arena_alloc_disposable(&req->arena, sizeof(*op), subject_search_dispose);
	if (!op) {
		json_decref(body);
		return SENIM_ERR_NOMEM;
	}
	const char *iin = jsonin_str(body, "iin"), *ph = jsonin_str(body, "phone");
	const char *mail = jsonin_str(body, "email");
	int given = (iin != NULL) + (ph != NULL) + (mail != NULL);
	char *norm = op->value;
	struct iin_info info;
	enum senim_result err = SENIM_OK;
	if (given == 0) {
		err = reply_invalid(req, resp, "iin", "required", 0);
	} else if (given > 1) { /* name a key given beside the first */
		err = reply_invalid(req, resp, mail ? "email" : "phone", "one_key", 0);
	} else if (iin) {
		enum iin_error e = iin_parse(iin, strlen(iin), &info);
		if (e != IIN_OK)
			err = reply_invalid(req, resp, "iin", iin_error_rule(e), 0);
		op->kind = "iin";
		snprintf(norm, sizeof(op->value), "%s", iin);
	} else if (ph) {
		if (!phone_normalize_kz(ph, strlen(ph), norm))
			err = reply_invalid(req, resp, "phone", "format", 0);
		op->kind = "phone";
	} else {
		if (!email_valid(mail, strlen(mail)) ||
		    !email_normalize(mail, strlen(mail), norm, sizeof(op->value)))
			err = reply_invalid(req, resp, "email", "format", 0);
		op->kind = "email";
	}
	json_decref(body);
	if (err || resp->replied)
		return err;
	op->actor = actor_for(req, purpose);
	return http_write_then(req, subjects_search_tx, op, search_answer);
}

/* ---- blocking and restriction (the DPO's acts) ------------------------------------ */

static const char *const block_reasons[] = {
	"borrower_request", "inaccurate_data", "unlawful_processing",
	"court_order",	    "other",	       NULL
};

static const struct jsonin_field block_fields[] = {
	{ .name = "reason",
	  .type = JSONIN_STRING,
	  .required = 1,
	  .allowed = block_reasons },
};

/* A subject's block and restriction as the DPO's act left them (or as the
 * DPO's look found them): the answer of every protection route. */
static enum senim_result reply_protection(struct http_request *req,
					  struct http_response *resp,
					  enum senim_result result, const char *id,
					  const struct subject_state *s,
					  const char *block_reason)
{
	if (result)
		return reply_failure(req, resp, result);
	json_t *allowed = NULL;
	if (s->restricted) {
		allowed = json_array();
		for (int p = 0; allowed && p < PURPOSE__COUNT; p++)
			if (s->allowed_purposes & PURPOSE_BIT(p) ||
			    p == PURPOSE_LEGAL_OBLIGATION)
				json_array_append_new(allowed, json_string(purpose_code(
								       (enum purpose)p)));
	}
	return http_reply_json(resp, 200,
			       json_pack("{s:s,s:b,s:s?,s:b,s:o?}", "subject_id", id,
					 "blocked", s->blocked, "block_reason",
					 s->blocked ? block_reason : NULL, "restricted",
					 s->restricted, "allowed_purposes", allowed));
}

static enum senim_result block_answer(struct http_request *req,
				      struct http_response *resp,
				      enum senim_result result, void *ctx)
{
	struct subject_block *op = ctx;
	return reply_protection(req, resp, result, op->subject_id, &op->state,
				op->block_reason);
}

static enum senim_result set_block(struct http_request *req, struct http_response *resp,
				   int block)
{
	const char *id = subject_or_reply(req, resp);
	if (!id)
		return SENIM_OK;
	struct subject_block *op = arena_alloc(&req->arena, sizeof(*op));
	if (!op)
		return SENIM_ERR_NOMEM;
	if (block) {
		json_t *body;
		if (http_json_body_or_reply(req, resp, block_fields, COUNT(block_fields),
					    &body))
			return SENIM_OK;
		op->reason = arena_strdup(&req->arena, jsonin_str(body, "reason"));
		json_decref(body);
		if (!op->reason)
			return SENIM_ERR_NOMEM;
	}
	/* R3/R4 fulfil the borrower's rights: a legal obligation of the MFO. */
	op->actor = actor_for(req, PURPOSE_LEGAL_OBLIGATION);
	op->subject_id = id;
	op->block = block;
	return http_write_then(req, subjects_block_tx, op, block_answer);
}

enum senim_result api_subject_block(struct http_request *req, struct http_response *resp)
{
	return set_block(req, resp, 1);
}

enum senim_result api_subject_unblock(struct http_request *req,
				      struct http_response *resp)
{
	return set_block(req, resp, 0);
}

static const struct jsonin_field restrict_fields[] = {
	{ .name = "allowed_purposes", .type = JSONIN_ARRAY, .required = 1 },
};

static enum senim_result restriction_answer(struct http_request *req,
					    struct http_response *resp,
					    enum senim_result result, void *ctx)
{
	struct subject_restriction *op = ctx;
	return reply_protection(req, resp, result, op->subject_id, &op->state,
				op->block_reason);
}

/* Restrict to mask (restrict_ 1) or lift the restriction (0). */
static enum senim_result set_restriction(struct http_request *req, const char *id,
					 int restrict_, uint32_t mask)
{
	struct subject_restriction *op = arena_alloc(&req->arena, sizeof(*op));
	if (!op)
		return SENIM_ERR_NOMEM;
	op->actor = actor_for(req, PURPOSE_LEGAL_OBLIGATION);
	op->subject_id = id;
	op->restrict_ = restrict_;
	op->allowed_purposes = mask;
	return http_write_then(req, subjects_restriction_tx, op, restriction_answer);
}

enum senim_result api_subject_restrict(struct http_request *req,
				       struct http_response *resp)
{
	const char *id = subject_or_reply(req, resp);
	json_t *body;
	if (!id || http_json_body_or_reply(req, resp, restrict_fields,
					   COUNT(restrict_fields), &body))
		return SENIM_OK;
	uint32_t mask = PURPOSE_BIT(PURPOSE_LEGAL_OBLIGATION);
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(body, "allowed_purposes"), i, v)
	{
		int p = json_is_string(v) ? purpose_parse(json_string_value(v)) : -1;
		if (p < 0) {
			json_decref(body);
			return reply_invalid(req, resp, "allowed_purposes", "enum_value",
					     0);
		}
		mask |= PURPOSE_BIT(p);
	}
	json_decref(body);
	return set_restriction(req, id, 1, mask);
}

enum senim_result api_subject_unrestrict(struct http_request *req,
					 struct http_response *resp)
{
	const char *id = subject_or_reply(req, resp);
	if (!id)
		return SENIM_OK;
	return set_restriction(req, id, 0, 0);
}

static enum senim_result protection_answer(struct http_request *req,
					   struct http_response *resp,
					   enum senim_result result, void *ctx)
{
	struct subject_protection *op = ctx;
	return reply_protection(req, resp, result, op->subject_id, &op->state,
				op->block_reason);
}

enum senim_result api_subject_protection(struct http_request *req,
					 struct http_response *resp)
{
	const char *id = subject_or_reply(req, resp);
	if (!id)
		return SENIM_OK;
	struct subject_protection *op = arena_alloc(&req->arena, sizeof(*op));
	if (!op)
		return SENIM_ERR_NOMEM;
	op->actor = actor_for(req, PURPOSE_LEGAL_OBLIGATION);
	op->subject_id = id;
	return http_write_then(req, subjects_protection_tx, op, protection_answer);
}

/* ---- checks with a recipient (T1-T3) ------------------------------------------ */

static const struct jsonin_field check_fields[] = {
	{ .name = "recipient", .type = JSONIN_STRING, .required = 1, .max_len = 32 },
};

static enum senim_result check_answer(struct http_request *req,
				      struct http_response *resp,
				      enum senim_result result, void *ctx)
{
	struct transfer_query *op = ctx;
	enum category declared;
	if (result == SENIM_ERR_UNAVAILABLE)
		return http_reply_code(req, resp, "recipient_unavailable");
	if (result)
		return reply_failure(req, resp, result);
	switch (op->result) {
	case TRANSFER_OK:
		/* A processor took the job and sends nothing back (T5). */
		if (op->api == RECIPIENT_API_PROCESSING)
			return http_reply_json(
				resp, 200,
				json_pack("{s:s,s:s,s:s,s:s}", "transfer_id",
					  op->transfer_id, "recipient", op->recipient,
					  "service", op->service, "status", "accepted"));
		/* A state database's answer comes with the findings it left (D8). */
		if (findings_declared_category(op->api, &declared))
			return http_reply_json(
				resp, 200,
				json_pack("{s:s,s:s,s:s,s:O,s:O}", "transfer_id",
					  op->transfer_id, "recipient", op->recipient,
					  "service", op->service, "received",
					  op->received, "findings", op->findings));
		return http_reply_json(resp, 200,
				       json_pack("{s:s,s:s,s:s,s:O}", "transfer_id",
						 op->transfer_id, "recipient",
						 op->recipient, "service", op->service,
						 "received", op->received));
	case TRANSFER_REFUSED:
		return api_reply_refusal(req, resp, &op->refused);
	case TRANSFER_INVALID_ANSWER:
		return http_reply_code(req, resp, "recipient_invalid_answer");
	case TRANSFER_WRONG_SUBJECT:
		return http_reply_code(req, resp, "recipient_wrong_subject");
	case TRANSFER_TIMEOUT:
		return http_reply_code(req, resp, "recipient_timeout");
	case TRANSFER_RECIPIENT_REFUSED:
		return http_reply_code(req, resp, "recipient_refused");
	case TRANSFER_NOT_FOUND:
		return http_reply_code(req, resp, "recipient_person_not_found");
	case TRANSFER_UNAVAILABLE:
		break;
	}
	return http_reply_code(req, resp, "recipient_unavailable");
}

/* The recipient's service speaking `api`, or NULL. */
static const struct recipient_service *
service_for(const struct recipients *r, const char *code, enum recipient_api api)
{
	const struct recipient *rc = r ? recipients_find(r, code) : NULL;
	for (size_t i = 0; rc && i < rc->nservices; i++)
		if (rc->services[i].api == api)
			return &rc->services[i];
	return NULL;
}

/* One check of the subject with the recipient the body names, through its
 * service speaking `api` (exchange/transfer.h). */
static enum senim_result check_with(struct http_request *req, struct http_response *resp,
				    enum recipient_api api)
{
	const struct exchange_env *ex = req->app->exchange;
	enum purpose purpose;
	const char *id = subject_or_reply(req, resp);
	if (!id || purpose_or_reply(req, resp, &purpose))
		return SENIM_OK;
	if (!ex || !ex->recipients)
		return http_reply_code(req, resp, "exchange_not_configured");
	json_t *body;
	if (http_json_body_or_reply(req, resp, check_fields, COUNT(check_fields), &body))
		return SENIM_OK;
	const char *recipient = arena_strdup(&req->arena, jsonin_str(body, "recipient"));
	json_decref(body);
	if (!recipient)
		return SENIM_ERR_NOMEM;
	const struct recipient_service *svc = service_for(ex->recipients, recipient, api);
	if (!svc) {
		struct problem p = { .code = "recipient_unknown", .field = "recipient" };
		return http_reply_problem(req, resp, &p);
	}
	/* An open breaker refuses before anything is read or recorded. */
	if (!hub_recipient_available(ex->hub, recipients_find(ex->recipients, recipient),
				     NULL))
		return http_reply_code(req, resp, "recipient_unavailable");
	struct transfer_query *op =
		arena_alloc_disposable(&req->arena, sizeof(*op), transfer_query_dispose);
	if (!op)
		return SENIM_ERR_NOMEM;
	*op = (struct transfer_query){ .ex = ex,
				       .actor = req->actor.label,
				       .request_id = req->request_id,
				       .role = req->actor.role,
				       .purpose = purpose,
				       .subject_id = id,
				       .recipient = recipient,
				       .service = svc->code,
				       .api = api };
	return http_async_then(req, transfer_query_start, op, check_answer);
}

enum senim_result api_subject_check_report(struct http_request *req,
					   struct http_response *resp)
{
	return check_with(req, resp, RECIPIENT_API_CREDIT_REPORT);
}

enum senim_result api_subject_check_phone(struct http_request *req,
					  struct http_response *resp)
{
	return check_with(req, resp, RECIPIENT_API_PHONE_CHECK);
}

enum senim_result api_subject_check_family(struct http_request *req,
					   struct http_response *resp)
{
	return check_with(req, resp, RECIPIENT_API_FAMILY_TIES);
}

enum senim_result api_subject_check_address(struct http_request *req,
					    struct http_response *resp)
{
	return check_with(req, resp, RECIPIENT_API_ADDRESS);
}

enum senim_result api_subject_check_capacity(struct http_request *req,
					     struct http_response *resp)
{
	return check_with(req, resp, RECIPIENT_API_LEGAL_CAPACITY);
}

enum senim_result api_subject_check_scoring(struct http_request *req,
					    struct http_response *resp)
{
	return check_with(req, resp, RECIPIENT_API_PROCESSING);
}

/* ---- findings (D8) ---------------------------------------------------------------- */

static enum senim_result findings_answer(struct http_request *req,
					 struct http_response *resp,
					 enum senim_result result, void *ctx)
{
	struct findings_list *op = ctx;
	if (result == SENIM_ERR_NOT_FOUND)
		return http_reply_code(req, resp, "subject_not_found");
	if (result)
		return reply_failure(req, resp, result);
	if (op->refused.why != ACCESS_GRANTED)
		return api_reply_refusal(req, resp, &op->refused);
	return http_reply_json(resp, 200, json_incref(op->out));
}

enum senim_result api_subject_findings(struct http_request *req,
				       struct http_response *resp)
{
	enum purpose purpose;
	const char *id = subject_or_reply(req, resp);
	if (!id || purpose_or_reply(req, resp, &purpose))
		return SENIM_OK;
	struct findings_list *op =
		arena_alloc_disposable(&req->arena, sizeof(*op), findings_list_dispose);
	if (!op)
		return SENIM_ERR_NOMEM;
	*op = (struct findings_list){ .kr = req->app->keys,
				      .matrix = &req->app->matrix,
				      .actor = req->actor.label,
				      .request_id = req->request_id,
				      .role = req->actor.role,
				      .purpose = purpose,
				      .subject_id = id };
	/* The decision and the rows now; the record (granted or denied) in
	 * the next batch; the answer once it is durable. */
	enum senim_result err = findings_list_prepare(req->app->store, op);
	if (err)
		return findings_answer(req, resp, err, op);
	return http_write_then(req, findings_list_tx, op, findings_answer);
}

static const struct jsonin_field resolve_fields[] = {
	{ .name = "resolution", .type = JSONIN_STRING, .required = 1, .max_len = 32 },
};

static enum senim_result resolve_answer(struct http_request *req,
					struct http_response *resp,
					enum senim_result result, void *ctx)
{
	struct finding_resolve *op = ctx;
	if (result == SENIM_ERR_NOT_FOUND)
		return http_reply_code(req, resp, "subject_not_found");
	if (result)
		return reply_failure(req, resp, result);
	if (op->refused.why != ACCESS_GRANTED)
		return api_reply_refusal(req, resp, &op->refused);
	switch (op->status) {
	case FINDING_UNKNOWN:
		return http_reply_code(req, resp, "finding_not_found");
	case FINDING_ALREADY_RESOLVED:
		return http_reply_code(req, resp, "finding_already_resolved");
	case FINDING_RESOLVED:
		break;
	}
	return http_reply_json(resp, 200,
			       json_pack("{s:s,s:s}", "id", op->finding_id, "resolution",
					 op->resolution));
}

enum senim_result api_subject_finding_resolve(struct http_request *req,
					      struct http_response *resp)
{
	enum purpose purpose;
	const char *id = subject_or_reply(req, resp);
	if (!id || purpose_or_reply(req, resp, &purpose))
		return SENIM_OK;
	const char *fid = req->params[1];
	if (strncmp(fid, "fnd_", 4) != 0 || !id_body_valid(fid + 4))
		return http_reply_code(req, resp, "finding_not_found");
	json_t *body;
	if (http_json_body_or_reply(req, resp, resolve_fields, COUNT(resolve_fields),
				    &body))
		return SENIM_OK;
	const char *resolution =
		arena_strdup(&req->arena, jsonin_str(body, "resolution"));
	json_decref(body);
	if (!resolution)
		return SENIM_ERR_NOMEM;
	if (!finding_resolution_valid(resolution))
		return reply_invalid(req, resp, "resolution", "enum_value", 0);
	struct finding_resolve *op = arena_alloc(&req->arena, sizeof(*op));
	if (!op)
		return SENIM_ERR_NOMEM;
	*op = (struct finding_resolve){ .kr = req->app->keys,
					.matrix = &req->app->matrix,
					.actor = req->actor.label,
					.request_id = req->request_id,
					.role = req->actor.role,
					.purpose = purpose,
					.subject_id = id,
					.finding_id = fid,
					.resolution = resolution };
	return http_write_then(req, findings_resolve_tx, op, resolve_answer);
}
