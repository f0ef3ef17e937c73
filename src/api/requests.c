/*
 * requests.c — data-subject rights requests (R1-R4, F1; rights/requests.h).
 *
 *   POST /v1/me/requests                    file one (borrower): type, and a
 *                                           question's text
 *   GET  /v1/me/requests                    the borrower's own, newest first
 *   GET  /v1/me/requests/{id}               one: status, due date, answer in
 *                                           the request's language
 *   POST /v1/subjects/{id}/requests         file one on a borrower's behalf
 *                                           (support, dpo): channel and the
 *                                           identity check done
 *   GET  /v1/requests                       the DPO's queue by due date,
 *                                           overdue flagged; ?type= ?status=
 *   GET  /v1/requests/{id}                  one, with its history (dpo)
 *   POST /v1/requests/{id}/assignment       assign to a member of staff (dpo)
 *   POST /v1/requests/{id}/answer           answer: fulfilled accepts (and
 *                                           sets a block or restriction the
 *                                           request asks for), another code
 *                                           rejects (dpo)
 *
 * A filing that finds an open request of the same type answers 200 with
 * it, a new one 201.  Another borrower's request is 404, as one that does
 * not exist.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/app.h"
#include "api/refusal.h"
#include "api/subject_fields.h"
#include "common/clock.h"
#include "common/textconf.h"
#include "core/recipients.h"
#include "rights/requests.h"
#include "subjects/subjects.h"
#include "common/banned.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
/* The body's cap on a question, as docs/openapi.yaml states it. */
#define TEXT_MAX 4000
_Static_assert(TEXT_MAX == REQUEST_TEXT_MAX, "the question's cap");

static const char *const type_codes[] = { "access",	 "correction",	"blocking",
					  "unblocking",	 "restriction", "unrestriction",
					  "destruction", "question",	NULL };
static const char *const channels[] = { "phone", "email", "office", "letter", NULL };
static const char *const identity_checks[] = { "document", "callback", "eds", "notarised",
					       NULL };
static const char *const statuses[] = { "open", "in_progress", "accepted", "rejected",
					NULL };

static void date_text(int32_t day, char out[11])
{
	int y, m, d;
	textconf_civil_from_days(day, &y, &m, &d);
	snprintf(out, 11, "%04d-%02d-%02d", y, m, d);
}

/* A request as answered; lang < 0: staff's view (the answer's code only,
 * the assignee, who filed it). */
static json_t *request_json(const struct rights_request *q, int lang, int32_t today)
{
	char filed[CLOCK_RFC3339_LEN], updated[CLOCK_RFC3339_LEN], due[11];
	clock_format_rfc3339(q->filed_at, filed);
	clock_format_rfc3339(q->updated_at, updated);
	date_text(q->due_day, due);
	int open = !q->closed_at;
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:b}", "id", q->id, "type",
			      q->type, "status", q->status, "channel", q->channel,
			      "filed_at", filed, "updated_at", updated, "due_date", due,
			      "overdue", open && q->due_day < today);
	if (!o)
		return NULL;
	if (q->closed_at) {
		char closed[CLOCK_RFC3339_LEN];
		clock_format_rfc3339(q->closed_at, closed);
		json_object_set_new(o, "closed_at", json_string(closed));
	}
	if (*q->answer) {
		json_t *a = json_pack("{s:s}", "code", q->answer);
		if (a && lang >= 0)
			json_object_set_new(
				a, "text",
				json_string(request_answer_text(q->answer, lang)));
		json_object_set_new(o, "answer", a);
	}
	if (lang < 0) {
		json_object_set_new(o, "subject_id", json_string(q->subject_id));
		json_object_set_new(o, "filed_by", json_string(q->filed_by));
		if (*q->identity_check)
			json_object_set_new(o, "identity_check",
					    json_string(q->identity_check));
		if (*q->assignee)
			json_object_set_new(o, "assignee", json_string(q->assignee));
	}
	return o;
}

static int lang_index(struct http_request *req)
{
	const char *l = lang_code(req->lang);
	return strcmp(l, "kk") == 0 ? 1 : strcmp(l, "en") == 0 ? 2 : 0;
}

/* The {id} parameter as a request id; answers 404 itself otherwise. */
static const char *id_or_reply(struct http_request *req, struct http_response *resp)
{
	const char *id = req->params[0];
	if (request_id_valid(id))
		return id;
	http_reply_code(req, resp, "request_not_found");
	return NULL;
}

static enum senim_result invalid(struct http_request *req, struct http_response *resp,
				 const char *code, const char *field, const char *rule)
{
	struct problem p = { .code = code, .field = field, .rule = rule };
	return http_reply_problem(req, resp, &p);
}

/* ---- filing --------------------------------------------------------------------- */

static const char *const category_codes[] = { "identity",     "family",
					      "medical",      "contact",
					      "professional", "device",
					      "biometric",    NULL };

static const struct jsonin_field me_fields[] = {
	{ .name = "type", .type = JSONIN_STRING, .required = 1, .allowed = type_codes },
	{ .name = "text",
	  .type = JSONIN_STRING,
	  .min_len = 1,
	  .max_len = TEXT_MAX,
	  .multiline = 1 },
	/* R2: a correction names a category, its proposed fields and evidence. */
	{ .name = "category", .type = JSONIN_STRING, .allowed = category_codes },
	{ .name = "fields", .type = JSONIN_OBJECT },
	{ .name = "evidence", .type = JSONIN_OBJECT },
};

static const struct jsonin_field staff_fields[] = {
	{ .name = "type", .type = JSONIN_STRING, .required = 1, .allowed = type_codes },
	{ .name = "channel", .type = JSONIN_STRING, .required = 1, .allowed = channels },
	{ .name = "identity_check",
	  .type = JSONIN_STRING,
	  .required = 1,
	  .allowed = identity_checks },
	{ .name = "text",
	  .type = JSONIN_STRING,
	  .min_len = 1,
	  .max_len = TEXT_MAX,
	  .multiline = 1 },
	/* R2: a correction names a category, its proposed fields and evidence. */
	{ .name = "category", .type = JSONIN_STRING, .allowed = category_codes },
	{ .name = "fields", .type = JSONIN_OBJECT },
	{ .name = "evidence", .type = JSONIN_OBJECT },
};

/* The op and the body whose strings it borrows. */
struct file_req {
	struct request_file op; /* first: the write's ctx */
	json_t *body;
	unsigned char *evidence; /* decoded, sodium_malloc'ed */
	size_t evidence_cap;
};

static void file_dispose(void *p)
{
	struct file_req *fr = p;
	request_file_dispose(&fr->op);
	json_decref(fr->body); /* the text: wiped by the allocator */
	if (fr->evidence)
		sodium_free(fr->evidence); /* wipes */
}

static const char *const evidence_types[] = { "image/jpeg", "image/png",
					      "application/pdf", NULL };

/* The first of a correction's fields that comes from the state, or NULL:
 * the IIN, and whatever a state database of the recipients file answers
 * with (family ties, the registered address, legal capacity). */
static const char *state_sourced_field(const struct recipients *r, int category,
				       json_t *fields)
{
	const char *key;
	json_t *v;
	json_object_foreach(fields, key, v)
	{
		if ((category == CATEGORY_IDENTITY && strcmp(key, "iin") == 0) ||
		    recipients_state_sourced(r, category, key))
			return key;
	}
	return NULL;
}

/*
 * R2: a correction's category, fields and evidence, checked into op; 1 when
 * it answered a problem itself.  A correction without evidence, or of a
 * field that comes from a state database (state_sourced_field), is its own
 * problem;
 * the fields pass the checks a write of the category passes; the evidence
 * is base64 of at most REQUEST_EVIDENCE_MAX bytes whose content is of the
 * type it claims.
 */
static int correction_or_reply(struct http_request *req, struct http_response *resp,
			       struct file_req *fr, json_t *body, enum senim_result *err)
{
	struct request_file *op = &fr->op;
	json_t *fields = json_object_get(body, "fields");
	json_t *evidence = json_object_get(body, "evidence");
	const char *category = jsonin_str(body, "category");
	*err = SENIM_OK;
	if (!category) {
		*err = invalid(req, resp, "validation_failed", "category", "required");
		return 1;
	}
	if (!fields) {
		*err = invalid(req, resp, "validation_failed", "fields", "required");
		return 1;
	}
	op->category = category_parse(category);
	const char *state =
		state_sourced_field(req->app->recipients, op->category, fields);
	if (state) {
		struct problem p = { .code = "correction_state_sourced", .field = state };
		*err = http_reply_problem(req, resp, &p);
		return 1;
	}
	if (op->category == CATEGORY_CONTACT && json_object_get(fields, "phone_mobile")) {
		*err = invalid(req, resp, "validation_failed", "phone_mobile",
			       "phone_procedure");
		return 1;
	}
	struct field_error fe;
	enum senim_result cerr =
		subject_fields_check((enum category)op->category, fields, &fe);
	if (cerr == SENIM_ERR_INVALID) {
		struct problem p = { .code = "validation_failed",
				     .field = fe.field,
				     .rule = fe.rule,
				     .limit = fe.limit };
		*err = http_reply_problem(req, resp, &p);
		return 1;
	}
	if (cerr) {
		*err = cerr;
		return 1;
	}
	if (!evidence) {
		*err = http_reply_code(req, resp, "correction_evidence_required");
		return 1;
	}
	json_t *type = json_object_get(evidence, "content_type");
	json_t *data = json_object_get(evidence, "data");
	const char *t = json_string_value(type);
	size_t i = 0;
	while (t && evidence_types[i] && strcmp(evidence_types[i], t) != 0)
		i++;
	if (!t || !evidence_types[i]) {
		*err = invalid(req, resp, "validation_failed", "evidence.content_type",
			       t ? "enum_value" : "required");
		return 1;
	}
	if (!json_is_string(data) || json_string_length(data) == 0) {
		*err = invalid(req, resp, "validation_failed", "evidence.data",
			       "required");
		return 1;
	}
	size_t len = json_string_length(data), decoded = 0;
	if (len / 4 * 3 > REQUEST_EVIDENCE_MAX + 3) {
		struct problem p = { .code = "validation_failed",
				     .field = "evidence.data",
				     .rule = "max_length",
				     .limit = (long long)REQUEST_EVIDENCE_MAX };
		*err = http_reply_problem(req, resp, &p);
		return 1;
	}
	fr->evidence = sodium_malloc(len);
	if (!fr->evidence) {
		*err = SENIM_ERR_NOMEM;
		return 1;
	}
	if (sodium_base642bin(fr->evidence, len, json_string_value(data), len, NULL,
			      &decoded, NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    !request_evidence_valid(evidence_types[i], fr->evidence, decoded)) {
		*err = invalid(req, resp, "validation_failed", "evidence.data", "format");
		return 1;
	}
	op->fields = fields;
	op->evidence = fr->evidence;
	op->evidence_len = decoded;
	op->evidence_type = evidence_types[i];
	return 0;
}

static enum senim_result file_answer(struct http_request *req, struct http_response *resp,
				     enum senim_result result, void *ctx)
{
	struct request_file *op = ctx;
	if (result == SENIM_ERR_NOT_FOUND)
		return http_reply_code(req, resp, "subject_not_found");
	if (result)
		return result;
	int self = strcmp(op->channel, "app") == 0;
	int32_t today = clock_kz_day(clock_now_us());
	json_t *o = request_json(&op->req, self ? lang_index(req) : -1, today);
	if (op->existing)
		return http_reply_json(resp, 200, o);
	char location[64 + REQUEST_ID_LEN];
	snprintf(location, sizeof(location),
		 self ? "/v1/me/requests/%s" : "/v1/requests/%s", op->req.id);
	enum senim_result err = http_reply_json(resp, 201, o);
	if (err)
		return err;
	return http_add_header(req, resp, "Location", location);
}

/* File for subject_id from body (taken); staff: the body has a channel
 * and an identity check. */
static enum senim_result file(struct http_request *req, struct http_response *resp,
			      const char *subject_id, json_t *body, int staff)
{
	struct app *app = req->app;
	struct file_req *fr =
		arena_alloc_disposable(&req->arena, sizeof(*fr), file_dispose);
	if (!fr) {
		json_decref(body);
		return SENIM_ERR_NOMEM;
	}
	fr->body = body;
	struct request_file *op = &fr->op;
	op->type = (enum request_type)request_type_parse(jsonin_str(body, "type"));
	json_t *text = json_object_get(body, "text");
	/* F1: a question carries its text; the other demands are their type. */
	if (op->type == REQUEST_QUESTION && !text)
		return invalid(req, resp, "validation_failed", "text", "required");
	if (op->type != REQUEST_QUESTION && text)
		return invalid(req, resp, "validation_failed", "text", "question_only");
	if (op->type == REQUEST_CORRECTION) {
		enum senim_result cerr;
		if (correction_or_reply(req, resp, fr, body, &cerr))
			return cerr;
	} else {
		static const char *const only[] = { "category", "fields", "evidence" };
		for (size_t i = 0; i < COUNT(only); i++)
			if (json_object_get(body, only[i]))
				return invalid(req, resp, "validation_failed", only[i],
					       "correction_only");
	}
	if (!app->calendar)
		return http_reply_code(req, resp, "calendar_unavailable");
	op->kr = app->keys;
	op->actor = req->actor.label;
	op->request_id = req->request_id;
	op->subject_id = subject_id;
	op->channel = staff ? jsonin_str(body, "channel") : "app";
	op->identity_check = staff ? jsonin_str(body, "identity_check") : NULL;
	op->text = text ? json_string_value(text) : NULL;
	op->text_len = text ? json_string_length(text) : 0;
	enum senim_result err = requests_file_prepare(app->calendar, op);
	if (err == SENIM_ERR_NOT_FOUND) {
		/* A missing year is the operator's to fix, never a guess. */
		struct problem p = { .code = "calendar_year_missing",
				     .extra = json_pack("{s:i}", "year",
							op->missing_year) };
		return http_reply_problem(req, resp, &p);
	}
	if (err)
		return err;
	return http_write_then(req, requests_file_tx, op, file_answer);
}

enum senim_result api_me_request_file(struct http_request *req,
				      struct http_response *resp)
{
	json_t *body;
	if (http_json_body_or_reply(req, resp, me_fields, COUNT(me_fields), &body))
		return SENIM_OK;
	return file(req, resp, req->actor.subject_id, body, 0);
}

enum senim_result api_subject_request_file(struct http_request *req,
					   struct http_response *resp)
{
	const char *id = req->params[0];
	if (!subject_id_valid(id))
		return http_reply_code(req, resp, "subject_not_found");
	json_t *body;
	if (http_json_body_or_reply(req, resp, staff_fields, COUNT(staff_fields), &body))
		return SENIM_OK;
	return file(req, resp, id, body, 1);
}

/* ---- reading --------------------------------------------------------------------- */

static json_t *events_json(const struct request_read *op)
{
	json_t *a = json_array();
	for (int i = 0; a && i < op->nevents; i++) {
		const struct request_event *e = &op->events[i];
		char at[CLOCK_RFC3339_LEN];
		clock_format_rfc3339(e->at, at);
		json_t *o = json_pack("{s:s,s:s,s:s}", "at", at, "actor", e->actor,
				      "status", e->status);
		if (o && *e->assignee)
			json_object_set_new(o, "assignee", json_string(e->assignee));
		if (o && *e->answer)
			json_object_set_new(o, "answer", json_string(e->answer));
		json_array_append_new(a, o);
	}
	return a;
}

/* The evidence as base64 (sodium_malloc'ed: the caller sodium_frees), or
 * NULL. */
static char *evidence_base64(const struct buf *b)
{
	if (!b->len)
		return NULL;
	size_t n = sodium_base64_encoded_len(b->len, sodium_base64_VARIANT_ORIGINAL);
	char *out = sodium_malloc(n);
	if (out)
		sodium_bin2base64(out, n, (const unsigned char *)b->data, b->len,
				  sodium_base64_VARIANT_ORIGINAL);
	return out;
}

static enum senim_result read_answer(struct http_request *req, struct http_response *resp,
				     enum senim_result result, void *ctx)
{
	struct request_read *op = ctx;
	if (result == SENIM_ERR_NOT_FOUND)
		return http_reply_code(req, resp, "request_not_found");
	if (result)
		return result;
	int lang = op->subject_id ? lang_index(req) : -1;
	int32_t today = clock_kz_day(clock_now_us());
	if (op->id) {
		json_t *o = request_json(&op->rows[0], lang, today);
		if (o && op->rows[0].has_text)
			json_object_set_new(o, "text",
					    json_stringn(op->text.data, op->text.len));
		if (o && lang < 0)
			json_object_set_new(o, "history", events_json(op));
		if (o && lang < 0 && op->correction) {
			json_t *c = json_deep_copy(op->correction);
			char *b64 = evidence_base64(&op->evidence);
			if (c)
				json_object_set_new(
					c, "evidence",
					json_pack("{s:s,s:I,s:s?}", "content_type",
						  op->evidence_type, "bytes",
						  (json_int_t)op->evidence.len, "data",
						  b64));
			if (b64)
				sodium_free(b64);
			json_object_set_new(o, "correction", c);
		}
		return http_reply_json(resp, 200, o);
	}
	json_t *items = json_array();
	for (int i = 0; items && i < op->count; i++)
		json_array_append_new(items, request_json(&op->rows[i], lang, today));
	return http_reply_json(resp, 200, json_pack("{s:o}", "requests", items));
}

static struct request_read *read_op(struct http_request *req, const char *subject_id,
				    const char *id)
{
	struct request_read *op =
		arena_alloc_disposable(&req->arena, sizeof(*op), request_read_dispose);
	if (!op)
		return NULL;
	op->kr = req->app->keys;
	op->actor = req->actor.label;
	op->request_id = req->request_id;
	op->subject_id = subject_id;
	op->id = id;
	op->type = -1;
	return op;
}

enum senim_result api_me_requests(struct http_request *req, struct http_response *resp)
{
	(void)resp;
	struct request_read *op = read_op(req, req->actor.subject_id, NULL);
	if (!op)
		return SENIM_ERR_NOMEM;
	return http_write_then(req, requests_read_tx, op, read_answer);
}

enum senim_result api_me_request(struct http_request *req, struct http_response *resp)
{
	const char *id = id_or_reply(req, resp);
	if (!id)
		return SENIM_OK;
	struct request_read *op = read_op(req, req->actor.subject_id, id);
	if (!op)
		return SENIM_ERR_NOMEM;
	return http_write_then(req, requests_read_tx, op, read_answer);
}

/* One of a NULL-terminated list, or NULL. */
static const char *one_of(const char *const *list, const char *v)
{
	for (size_t i = 0; v && list[i]; i++)
		if (strcmp(list[i], v) == 0)
			return list[i];
	return NULL;
}

enum senim_result api_requests(struct http_request *req, struct http_response *resp)
{
	const char *type = http_query(req, "type");
	const char *status = http_query(req, "status");
	if (type && !one_of(type_codes, type))
		return invalid(req, resp, "invalid_parameter", "type", "enum_value");
	if (status && !one_of(statuses, status))
		return invalid(req, resp, "invalid_parameter", "status", "enum_value");
	struct request_read *op = read_op(req, NULL, NULL);
	if (!op)
		return SENIM_ERR_NOMEM;
	op->type = type ? request_type_parse(type) : -1;
	op->status = one_of(statuses, status);
	return http_write_then(req, requests_read_tx, op, read_answer);
}

enum senim_result api_request_get(struct http_request *req, struct http_response *resp)
{
	const char *id = id_or_reply(req, resp);
	if (!id)
		return SENIM_OK;
	struct request_read *op = read_op(req, NULL, id);
	if (!op)
		return SENIM_ERR_NOMEM;
	return http_write_then(req, requests_read_tx, op, read_answer);
}

/* ---- the DPO's acts ------------------------------------------------------------------ */

static int login_format(const char *v, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!((v[i] >= 'a' && v[i] <= 'z') || (v[i] >= '0' && v[i] <= '9') ||
		      v[i] == '_' || v[i] == '.' || v[i] == '-'))
			return 0;
	return 1;
}

static const char *const answer_codes[] = { "fulfilled", "identity_not_confirmed",
					    "no_grounds", "legal_obligation", NULL };

static const struct jsonin_field assign_fields[] = {
	{ .name = "assignee",
	  .type = JSONIN_STRING,
	  .required = 1,
	  .min_len = 1,
	  .max_len = 64,
	  .format = login_format },
};

static const struct jsonin_field answer_fields[] = {
	{ .name = "answer",
	  .type = JSONIN_STRING,
	  .required = 1,
	  .allowed = answer_codes },
};

static enum senim_result change_answer(struct http_request *req,
				       struct http_response *resp,
				       enum senim_result result, void *ctx)
{
	struct request_change *op = ctx;
	if (result == SENIM_ERR_NOT_FOUND)
		return http_reply_code(req, resp, "request_not_found");
	if (result)
		return result;
	if (op->closed)
		return http_reply_code(req, resp, "request_closed");
	if (op->unknown_assignee)
		return invalid(req, resp, "validation_failed", "assignee",
			       "unknown_staff");
	if (op->refused.why != ACCESS_GRANTED)
		return api_reply_refusal(req, resp, &op->refused);
	json_t *o = request_json(&op->req, -1, clock_kz_day(clock_now_us()));
	if (o && strcmp(op->req.type, "correction") == 0 &&
	    strcmp(op->req.status, "accepted") == 0)
		json_object_set_new(o, "notices_queued", json_integer(op->notices));
	return http_reply_json(resp, 200, o);
}

/* Run act on {id} with value (the assignee or the answer), copied. */
static enum senim_result change(struct http_request *req, struct http_response *resp,
				const char *id, enum request_act act, const char *value)
{
	struct request_change *op =
		arena_alloc_disposable(&req->arena, sizeof(*op), request_change_dispose);
	const char *copy = arena_strdup(&req->arena, value);
	if (!op || !copy)
		return SENIM_ERR_NOMEM;
	op->shred_journal = req->app->shred_journal;
	op->retention = req->app->retention;
	op->kr = req->app->keys;
	op->matrix = &req->app->matrix;
	op->actor = req->actor.label;
	op->role = req->actor.role;
	op->request_id = req->request_id;
	op->id = id;
	op->act = act;
	if (act == REQUEST_ASSIGN)
		op->assignee = copy;
	else
		op->answer = copy;
	/* R1: an access request's package is built before the write. */
	enum senim_result err = requests_change_prepare(req->app->store, op);
	if (err)
		return change_answer(req, resp, err, op);
	return http_write_then(req, requests_change_tx, op, change_answer);
}

enum senim_result api_request_assign(struct http_request *req, struct http_response *resp)
{
	const char *id = id_or_reply(req, resp);
	if (!id)
		return SENIM_OK;
	json_t *body;
	if (http_json_body_or_reply(req, resp, assign_fields, COUNT(assign_fields),
				    &body))
		return SENIM_OK;
	enum senim_result err =
		change(req, resp, id, REQUEST_ASSIGN, jsonin_str(body, "assignee"));
	json_decref(body);
	return err;
}

enum senim_result api_request_answer(struct http_request *req, struct http_response *resp)
{
	const char *id = id_or_reply(req, resp);
	if (!id)
		return SENIM_OK;
	json_t *body;
	if (http_json_body_or_reply(req, resp, answer_fields, COUNT(answer_fields),
				    &body))
		return SENIM_OK;
	enum senim_result err =
		change(req, resp, id, REQUEST_ANSWER, jsonin_str(body, "answer"));
	json_decref(body);
	return err;
}

/* ---- the access package a request released (R1) ------------------------------------ */

/* The form the Accept header asks for: 1 HTML, 0 JSON (the default, and
 * for anything else). */
static int wants_html(struct http_request *req)
{
	const char *a = http_header(req, "Accept");
	return a && strstr(a, "text/html") && !strstr(a, "application/json");
}

static enum senim_result package_answer(struct http_request *req,
					struct http_response *resp,
					enum senim_result result, void *ctx)
{
	struct request_package_read *op = ctx;
	if (result == SENIM_ERR_NOT_FOUND)
		return http_reply_code(req, resp, "request_not_found");
	if (result)
		return result;
	if (op->no_package)
		return http_reply_code(req, resp, "request_package_not_found");
	if (op->refused.why != ACCESS_GRANTED)
		return api_reply_refusal(req, resp, &op->refused);
	return http_reply_bytes(
		resp, 200, op->html ? "text/html; charset=utf-8" : "application/json",
		op->doc.data, op->doc.len);
}

enum senim_result api_me_request_package(struct http_request *req,
					 struct http_response *resp)
{
	const char *id = id_or_reply(req, resp);
	if (!id)
		return SENIM_OK;
	struct request_package_read *op = arena_alloc_disposable(
		&req->arena, sizeof(*op), request_package_read_dispose);
	if (!op)
		return SENIM_ERR_NOMEM;
	op->kr = req->app->keys;
	op->actor = req->actor.label;
	op->request_id = req->request_id;
	op->subject_id = req->actor.subject_id;
	op->id = id;
	op->html = wants_html(req);
	return http_write_then(req, requests_package_read_tx, op, package_answer);
}
