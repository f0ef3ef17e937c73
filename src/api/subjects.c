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
 *
 * Every data route names its purpose in the Senim-Purpose header; personal
 * data travels only in bodies, never in a URL.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/app.h"
#include "api/subject_fields.h"
#include "core/contact.h"
#include "core/iin.h"
#include "subjects/subjects.h"
#include "common/banned.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- purpose, actor, errors -------------------------------------------- */

/* The purpose named in Senim-Purpose; answers 400 itself when missing or
 * unknown. */
static int purpose_or_reply(struct http_request *req, struct http_response *resp,
			    enum purpose *out)
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

static void actor_for(struct http_request *req, enum purpose p, struct subject_actor *a)
{
	a->missing_consent = &req->missing_consent;
	a->label = req->actor.label;
	a->request_id = req->request_id;
	a->role = req->actor.role;
	a->purpose = p;
	a->matrix = &req->app->matrix;
	a->kr = req->app->keys;
}

/* The answer to a refused access: 403 with the reason's code, or 404 for a
 * subject that is not there. */
static int reply_denied(struct http_request *req, struct http_response *resp,
			enum access_result denied, const char *missing)
{
	if (denied == ACCESS_GRANTED)
		return http_reply_code(req, resp, "category_withheld");
	struct problem p = { .code = access_result_code(denied) };
	if (denied == ACCESS_CONSENT_REQUIRED) /* C4: say which consent is missing */
		p.extra = json_pack("{s:s}", "missing_consent",
				    missing ? missing : "policy");
	return http_reply_problem(req, resp, &p);
}

static int reply_result(struct http_request *req, struct http_response *resp, int err,
			enum access_result denied)
{
	if (err == SENIM_ERR_DENIED)
		return reply_denied(req, resp, denied, req->missing_consent);
	if (err == SENIM_ERR_NOT_FOUND)
		return http_reply_code(req, resp, "subject_not_found");
	return err;
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

static int category_or_reply(struct http_request *req, struct http_response *resp,
			     enum category *out)
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

static int reply_invalid(struct http_request *req, struct http_response *resp,
			 const char *field, const char *rule, long long limit)
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
static int check_iin(json_t *body, const char **rule)
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
					 enum senim_result result, void *op)
{
	char id[SUBJECT_ID_LEN];
	enum access_result denied = ACCESS_GRANTED;
	int err = subjects_register_finish(op, result, id, &denied);
	if (err == SENIM_ERR_CONFLICT)
		return http_reply_code(req, resp, "subject_exists");
	if (err)
		return reply_result(req, resp, err, denied);
	char location[64];
	snprintf(location, sizeof(location), "/v1/subjects/%s/data", id);
	err = http_reply_json(resp, 201, json_pack("{s:s}", "id", id));
	return err ? err : http_add_header(req, resp, "Location", location);
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
	int err = SENIM_OK;
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
	if (err || resp->replied) {
		json_decref(body);
		return err;
	}
	json_t *identity = identity_of(body);
	json_t *contact =
		mail ? json_pack("{s:s,s:s}", "phone_mobile", phone, "email", email)
		     : json_pack("{s:s}", "phone_mobile", phone);
	struct subject_registration reg = {
		jsonin_str(body, "iin"),    phone, mail ? email : NULL, identity, contact,
		(enum subject_source)source
	};
	struct subject_actor a;
	actor_for(req, purpose, &a);
	struct subject_registration_op *op = NULL;
	err = (identity && contact) ? subjects_register_prepare(&a, &reg, &op)
				    : SENIM_ERR_NOMEM;
	json_decref(identity);
	json_decref(contact);
	json_decref(body);
	if (err)
		return err;
	/* Answered by register_answer once the registration is durable. */
	return http_write_then(req, subjects_register_tx, op, register_answer);
}

/* ---- reading ---------------------------------------------------------------- */

/* A read waiting for its audit record: what the answer needs afterwards. */
struct pending_read {
	struct subject_read_op *op;
	const char *id;
	enum purpose purpose;
	int category; /* one category's record, or -1 for all */
};

static int answer_all(struct http_response *resp, const struct pending_read *pr,
		      json_t *cats, uint32_t withheld)
{
	return http_reply_json(resp, 200,
			       json_pack("{s:s,s:s,s:o,s:o}", "subject_id", pr->id,
					 "purpose", purpose_code(pr->purpose),
					 "categories", cats, "withheld",
					 category_names(withheld)));
}

static int answer_one(struct http_request *req, struct http_response *resp,
		      const struct pending_read *pr, json_t *cats, uint32_t withheld)
{
	enum category c = (enum category)pr->category;
	if (withheld) {
		json_decref(cats);
		return http_reply_code(req, resp, "category_withheld");
	}
	json_t *rec = json_object_get(cats, category_code(c));
	if (!rec) {
		json_decref(cats);
		return http_reply_code(req, resp, "record_not_found");
	}
	json_t *o = json_deep_copy(rec);
	json_decref(cats);
	if (o) {
		json_object_set_new(o, "subject_id", json_string(pr->id));
		json_object_set_new(o, "category", json_string(category_code(c)));
		json_object_set_new(o, "purpose", json_string(purpose_code(pr->purpose)));
	}
	return http_reply_json(resp, 200, o);
}

/* Once the read's audit record is durable: the data, or why not. */
static enum senim_result read_answer(struct http_request *req, struct http_response *resp,
				     enum senim_result result, void *ctx)
{
	struct pending_read *pr = ctx;
	json_t *cats = NULL;
	uint32_t withheld = 0;
	enum access_result denied = ACCESS_GRANTED;
	int err = subjects_read_finish(pr->op, result, &cats, &withheld, &denied);
	if (err)
		return reply_result(req, resp, err, denied);
	return pr->category < 0 ? answer_all(resp, pr, cats, withheld)
				: answer_one(req, resp, pr, cats, withheld);
}

static enum senim_result read_audit(struct store_tx *tx, void *ctx)
{
	struct pending_read *pr = ctx;
	return subjects_read_audit_tx(tx, pr->op);
}

/* Decide and decrypt now; answer once the audit record is durable. */
static int read_then_answer(struct http_request *req, struct http_response *resp,
			    const char *id, enum purpose purpose, int category)
{
	struct subject_actor a;
	actor_for(req, purpose, &a);
	struct pending_read *pr = arena_alloc(&req->arena, sizeof(*pr));
	if (!pr)
		return SENIM_ERR_NOMEM;
	*pr = (struct pending_read){ NULL, id, purpose, category };
	uint32_t wanted = category < 0 ? CATEGORY_ALL : CATEGORY_BIT(category);
	int err = subjects_read_prepare(req->app->store, &a, id, wanted, &pr->op);
	if (err)
		return reply_result(req, resp, err, ACCESS_GRANTED);
	return http_write_then(req, read_audit, pr, read_answer);
}

enum senim_result api_subject_data(struct http_request *req, struct http_response *resp)
{
	enum purpose purpose;
	const char *id = subject_or_reply(req, resp);
	if (!id || purpose_or_reply(req, resp, &purpose))
		return SENIM_OK;
	return read_then_answer(req, resp, id, purpose, -1);
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
	return read_then_answer(req, resp, id, purpose, (int)c);
}

/* ---- writing ------------------------------------------------------------------ */

static int reply_protection(struct http_request *req, struct http_response *resp,
			    const char *id);

/* What the answer to a change (or a read audited in its write) shows. */
enum change_answer {
	ANSWER_VERSION,	   /* a data write: the new version's number */
	ANSWER_PROTECTION, /* the subject's block and restriction */
	ANSWER_HISTORY,	   /* a category's versions */
	ANSWER_SEARCH,	   /* the ids found */
};

/* A change waiting for its durable batch (http_write_then), and what its
 * answer needs. */
struct pending_change {
	struct subject_change_op *op;
	json_t *body; /* the request's body: the op points into it */
	const char *id;
	int category;
	enum change_answer answer;
	enum purpose purpose;
};

static enum senim_result change_write(struct store_tx *tx, void *ctx)
{
	struct pending_change *pc = ctx;
	return subjects_change_tx(tx, pc->op);
}

/* Once the change and its audit record are durable: the answer, or why not. */
static enum senim_result change_answer(struct http_request *req,
				       struct http_response *resp,
				       enum senim_result result, void *ctx)
{
	struct pending_change *pc = ctx;
	int64_t version = 0;
	json_t *out = NULL;
	enum access_result denied = ACCESS_GRANTED;
	int err = subjects_change_finish(pc->op, result, &version, &out, &denied);
	json_decref(pc->body);
	const char *cat = category_code((enum category)pc->category);
	if (err == SENIM_ERR_CONFLICT && pc->answer == ANSWER_VERSION) {
		/* U4: the sign-in phone changes only by its own procedure. */
		struct problem p = { .code = "phone_change_procedure",
				     .field = "phone_mobile" };
		return http_reply_problem(req, resp, &p);
	}
	if (err == SENIM_ERR_DENIED && denied == ACCESS_PURPOSE_READ_ONLY) {
		/* Say which purpose only reads which category. */
		struct problem p = { .code = "purpose_read_only",
				     .extra = json_pack("{s:s,s:s}", "purpose",
							purpose_code(pc->purpose),
							"category", cat) };
		return http_reply_problem(req, resp, &p);
	}
	if (err)
		return reply_result(req, resp, err, denied);
	switch (pc->answer) {
	case ANSWER_PROTECTION:
		return reply_protection(req, resp, pc->id);
	case ANSWER_HISTORY:
		return http_reply_json(resp, 200,
				       json_pack("{s:s,s:s,s:o}", "subject_id", pc->id,
						 "category", cat, "versions", out));
	case ANSWER_SEARCH:
		return http_reply_json(resp, 200, json_pack("{s:o}", "subjects", out));
	case ANSWER_VERSION:
	default:
		json_decref(out);
		return http_reply_json(resp, 200,
				       json_pack("{s:s,s:s,s:I}", "subject_id", pc->id,
						 "category", cat, "version",
						 (json_int_t)version));
	}
}

/* Ask for the prepared change (err: its preparation's result) in the next
 * batch, and answer once it is durable, without holding a worker. */
static int change_then_answer(struct http_request *req, struct http_response *resp,
			      struct subject_change_op *op, int err, json_t *body,
			      const char *id, int category, enum change_answer answer,
			      enum purpose purpose)
{
	struct pending_change *pc = err ? NULL : arena_alloc(&req->arena, sizeof(*pc));
	if (!pc) {
		if (op) /* the arena is full: let the op go */
			err = subjects_change_finish(op, SENIM_ERR_NOMEM, NULL, NULL,
						     NULL);
		json_decref(body);
		return reply_result(req, resp, err, ACCESS_GRANTED);
	}
	*pc = (struct pending_change){ op, body, id, category, answer, purpose };
	return http_write_then(req, change_write, pc, change_answer);
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
	struct subject_actor a;
	actor_for(req, purpose, &a);
	struct subject_change_op *op = NULL;
	int err = subjects_history_prepare(&a, id, c, &op);
	return change_then_answer(req, resp, op, err, NULL, id, (int)c, ANSWER_HISTORY,
				  purpose);
}

static const struct jsonin_field put_fields[] = {
	{ .name = "fields", .type = JSONIN_OBJECT, .required = 1 },
	{ .name = "source", .type = JSONIN_STRING, .max_len = 32 },
};

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
	int err = SENIM_OK;
	if (source < 0)
		err = reply_invalid(req, resp, "source", "enum_value", 0);
	else if (subject_fields_check(c, fields, &fe))
		err = reply_invalid(req, resp, fe.field, fe.rule, fe.limit);
	if (err || resp->replied) {
		json_decref(body);
		return err;
	}
	struct subject_actor a;
	actor_for(req, purpose, &a);
	struct subject_change_op *op = NULL;
	err = subjects_write_prepare(&a, id, c, (enum subject_source)source, fields,
				     jsonin_str(fields, "phone_mobile"),
				     jsonin_str(fields, "email"), &op);
	return change_then_answer(req, resp, op, err, body, id, (int)c, ANSWER_VERSION,
				  purpose);
}

/* ---- lookups -------------------------------------------------------------------- */

static const struct jsonin_field search_fields[] = {
	{ .name = "iin", .type = JSONIN_STRING, .max_len = 64 },
	{ .name = "phone", .type = JSONIN_STRING, .max_len = 32 },
	{ .name = "email", .type = JSONIN_STRING, .max_len = EMAIL_MAX },
};

enum senim_result api_subject_search(struct http_request *req, struct http_response *resp)
{
	enum purpose purpose;
	if (purpose_or_reply(req, resp, &purpose))
		return SENIM_OK;
	json_t *body;
	if (http_json_body_or_reply(req, resp, search_fields, COUNT(search_fields),
				    &body))
		return SENIM_OK;
	const char *iin = jsonin_str(body, "iin"), *ph = jsonin_str(body, "phone");
	const char *mail = jsonin_str(body, "email");
	int given = (iin != NULL) + (ph != NULL) + (mail != NULL);
	char norm[EMAIL_MAX + 1];
	const char *kind = NULL;
	struct iin_info info;
	int err = SENIM_OK;
	if (given == 0) {
		err = reply_invalid(req, resp, "iin", "required", 0);
	} else if (given > 1) { /* name a key given beside the first */
		err = reply_invalid(req, resp, mail ? "email" : "phone", "one_key", 0);
	} else if (iin) {
		enum iin_error e = iin_parse(iin, strlen(iin), &info);
		if (e != IIN_OK)
			err = reply_invalid(req, resp, "iin", iin_error_rule(e), 0);
		kind = "iin";
		snprintf(norm, sizeof(norm), "%s", iin);
	} else if (ph) {
		if (!phone_normalize_kz(ph, strlen(ph), norm))
			err = reply_invalid(req, resp, "phone", "format", 0);
		kind = "phone";
	} else {
		if (!email_valid(mail, strlen(mail)) ||
		    !email_normalize(mail, strlen(mail), norm, sizeof(norm)))
			err = reply_invalid(req, resp, "email", "format", 0);
		kind = "email";
	}
	json_decref(body);
	if (err || resp->replied) {
		sodium_memzero(norm, sizeof(norm));
		return err;
	}
	struct subject_actor a;
	actor_for(req, purpose, &a);
	struct subject_change_op *op = NULL;
	err = subjects_search_prepare(&a, kind, norm, &op); /* copies the key */
	sodium_memzero(norm, sizeof(norm));
	return change_then_answer(req, resp, op, err, NULL, NULL, 0, ANSWER_SEARCH,
				  purpose);
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

static int reply_protection(struct http_request *req, struct http_response *resp,
			    const char *id)
{
	struct subject_state s;
	char reason[64];
	int err = subjects_state(req->app->store, id, &s, reason, sizeof(reason));
	if (err)
		return reply_result(req, resp, err, ACCESS_GRANTED);
	json_t *allowed = NULL;
	if (s.restricted) {
		allowed = json_array();
		for (int p = 0; allowed && p < PURPOSE__COUNT; p++)
			if (s.allowed_purposes & PURPOSE_BIT(p) ||
			    p == PURPOSE_LEGAL_OBLIGATION)
				json_array_append_new(allowed, json_string(purpose_code(
								       (enum purpose)p)));
	}
	return http_reply_json(resp, 200,
			       json_pack("{s:s,s:b,s:s?,s:b,s:o?}", "subject_id", id,
					 "blocked", s.blocked, "block_reason",
					 s.blocked ? reason : NULL, "restricted",
					 s.restricted, "allowed_purposes", allowed));
}

static int set_block(struct http_request *req, struct http_response *resp, int blocked)
{
	const char *id = subject_or_reply(req, resp);
	if (!id)
		return SENIM_OK;
	json_t *body = NULL;
	const char *reason = NULL;
	if (blocked) {
		if (http_json_body_or_reply(req, resp, block_fields, COUNT(block_fields),
					    &body))
			return SENIM_OK;
		reason = jsonin_str(body, "reason");
	}
	struct subject_actor a;
	/* R3/R4 fulfil the borrower's rights: a legal obligation of the MFO. */
	actor_for(req, PURPOSE_LEGAL_OBLIGATION, &a);
	struct subject_change_op *op = NULL;
	int err = subjects_block_prepare(&a, id, blocked, reason, &op);
	return change_then_answer(req, resp, op, err, body, id, 0, ANSWER_PROTECTION,
				  PURPOSE_LEGAL_OBLIGATION);
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
	struct subject_actor a;
	actor_for(req, PURPOSE_LEGAL_OBLIGATION, &a);
	struct subject_change_op *op = NULL;
	int err = subjects_restriction_prepare(&a, id, 1, mask, &op);
	return change_then_answer(req, resp, op, err, NULL, id, 0, ANSWER_PROTECTION,
				  PURPOSE_LEGAL_OBLIGATION);
}

enum senim_result api_subject_unrestrict(struct http_request *req,
					 struct http_response *resp)
{
	const char *id = subject_or_reply(req, resp);
	if (!id)
		return SENIM_OK;
	struct subject_actor a;
	actor_for(req, PURPOSE_LEGAL_OBLIGATION, &a);
	struct subject_change_op *op = NULL;
	int err = subjects_restriction_prepare(&a, id, 0, 0, &op);
	return change_then_answer(req, resp, op, err, NULL, id, 0, ANSWER_PROTECTION,
				  PURPOSE_LEGAL_OBLIGATION);
}

enum senim_result api_subject_protection(struct http_request *req,
					 struct http_response *resp)
{
	const char *id = subject_or_reply(req, resp);
	if (!id)
		return SENIM_OK;
	struct subject_actor a;
	actor_for(req, PURPOSE_LEGAL_OBLIGATION, &a);
	struct subject_change_op *op = NULL;
	int err = subjects_protection_read_prepare(&a, id, &op);
	return change_then_answer(req, resp, op, err, NULL, id, 0, ANSWER_PROTECTION,
				  PURPOSE_LEGAL_OBLIGATION);
}
