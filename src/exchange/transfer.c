/*
 * transfer.c — a query's three steps (transfer.h): decide, send, settle.
 */
#include "exchange/transfer.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "audit/audit.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/log.h"
#include "connectors/bureau.h"
#include "connectors/codec.h"
#include "connectors/hub.h"
#include "connectors/operator.h"
#include "connectors/processing.h"
#include "connectors/statedb.h"
#include "consent/ledger.h"
#include "core/consents.h"
#include "exchange/findings.h"
#include "exchange/register.h"
#include "subjects/subjects.h"
#include "vault/vault.h"
#include "common/banned.h"

#define DEFAULT_DEADLINE_MS 5000
#define QUERY_ATTEMPTS 2
#define FIELDS_MAX 512 /* "identity.iin identity.surname ..." */
#define NEEDS_MAX 2    /* the sent fields a request is built from */
#define VALUE_MAX 40   /* an IIN, a phone number */

struct transfer_private;
struct transfer_query;

/*
 * What a query needs to speak one API: the sent fields its request is
 * built from (needs[0], when there are any, is identity.iin: every answer
 * echoes it), a builder of the request from those values, and a checker of
 * the answer that, when the answer is valid, leaves the kept record in
 * p->kept.  The
 * recipients file has already refused a service whose `sends` lacks one of
 * the needed fields or whose `receives` names what its API never answers
 * (core/recipients.c); the builder and the codecs check again.  A row
 * without needs (processing/1) carries every field the service sends,
 * read into p->data before build, and no IIN.
 */
struct query_api {
	enum recipient_api api;
	const char *needs[NEEDS_MAX];
	SENIM_MUST_CHECK enum senim_result (*build)(struct transfer_query *op,
						    const struct ledger_evidence *ev,
						    json_t **req);
	/* SENIM_OK with *v set; SENIM_ERR_NOMEM */
	SENIM_MUST_CHECK enum senim_result (*check)(struct transfer_query *op,
						    const char *body, size_t len,
						    struct codec_verdict *v);
};

struct transfer_private {
	const struct query_api *api;
	char values[NEEDS_MAX][VALUE_MAX]; /* personal data, wiped */
	char today[CODEC_DATE_LEN];
	store_done_fn done;
	void *done_arg;
	struct exchange_decision d;
	char categories[128]; /* "identity,contact" */
	char fields[FIELDS_MAX];
	char consent_id[CONSENT_ID_LEN];
	char *body; /* the request: personal data, wiped */
	size_t body_len;
	int64_t deadline_ms;	  /* wall clock, for the transfers row */
	int64_t deadline_mono_us; /* the same, for the hub */
	struct hub_call call;
	/* what the hub and the codec made of the answer */
	enum retry_code code;
	int may_have_reached;
	int curl_code; /* of the last attempt */
	json_t *kept;  /* the fields to keep, from a valid answer */
	char subject_iin[13];
	int not_found;	  /* a state database answered 404 person_not_found */
	json_t *findings; /* what settle_tx recorded (D8), for the answer */
	json_t *data;	  /* without needs: {"category.field": value}, wiped
			   * by the vault's allocator */
};

void transfer_query_dispose(void *arg)
{
	struct transfer_query *op = arg;
	json_decref(op->received);
	op->received = NULL;
	json_decref(op->findings);
	op->findings = NULL;
	struct transfer_private *p = op->p;
	if (!p)
		return;
	if (p->body) {
		sodium_memzero(p->body, p->body_len);
		free(p->body);
	}
	json_decref(p->kept);
	json_decref(p->findings);
	json_decref(p->data);
	sodium_memzero(p, sizeof(*p));
	free(p);
	op->p = NULL;
}

/* ---- what the register and the audit log say ------------------------------ */

/* "identity,contact" and "identity.iin contact.phone_mobile" of the fields
 * the service sends. */
static void describe_sends(const struct recipient_service *svc,
			   struct transfer_private *p)
{
	uint32_t seen = 0;
	size_t c = 0, f = 0;
	for (size_t i = 0; i < svc->nsends; i++) {
		const struct recipient_field *fd = &svc->sends[i];
		f += (size_t)snprintf(p->fields + f, sizeof(p->fields) - f, "%s%s",
				      f ? "," : "", fd->code);
		if (f >= sizeof(p->fields))
			f = sizeof(p->fields) - 1;
		if (seen & (1u << fd->category))
			continue;
		seen |= 1u << fd->category;
		c += (size_t)snprintf(p->categories + c, sizeof(p->categories) - c,
				      "%s%s", c ? "," : "",
				      recipient_category_code(fd->category));
		if (c >= sizeof(p->categories))
			c = sizeof(p->categories) - 1;
	}
}

static enum senim_result append_disclosure(struct store_tx *tx,
					   const struct transfer_query *op,
					   enum register_direction direction,
					   enum register_outcome outcome,
					   const char *reason)
{
	const struct transfer_private *p = op->p;
	const struct recipient_service *svc = p->d.service;
	struct disclosure e = {
		.subject_id = op->subject_id,
		.direction = direction,
		.recipient = p->d.recipient,
		.service = svc->code,
		.categories = p->categories,
		.fields = p->fields,
		.purpose = op->purpose,
		.basis = svc->basis,
		.consent_id = p->consent_id[0] ? p->consent_id : NULL,
		.legal_ref = svc->legal_ref,
		.outcome = outcome,
		.reason = reason,
		.may_have_reached = p->may_have_reached,
		.transfer_id = op->transfer_id[0] ? op->transfer_id : NULL,
		.request_id = op->request_id,
		.actor = op->actor,
	};
	return register_append(tx, op->ex->kr, &e, NULL);
}

/* ---- step 1: decide ------------------------------------------------------- */

/* The value of "category.field" among the subject's newest records. */
static enum senim_result field_value(struct store_tx *tx, const struct vault_dek *dek,
				     const char *subject_id,
				     const struct recipient_field *f, json_t **value)
{
	json_t *fields = NULL;
	*value = NULL;
	if (f->category >= CATEGORY__COUNT)
		return SENIM_ERR_INVALID; /* register-only: no query sends one */
	enum senim_result err = subjects_latest_fields_in(
		tx, dek, subject_id, (enum category)f->category, &fields);
	if (err || !fields)
		return err ? err : SENIM_ERR_NOT_FOUND;
	*value = json_incref(json_object_get(fields, f->name));
	json_decref(fields);
	return *value ? SENIM_OK : SENIM_ERR_NOT_FOUND;
}

/* ---- the APIs ---------------------------------------------------------------- */

/* credit_report/1: the IIN, the purpose and the consent's confirmation
 * (573-II Art. 17). */
static enum senim_result build_report(struct transfer_query *op,
				      const struct ledger_evidence *ev, json_t **req)
{
	char granted[CLOCK_RFC3339_LEN];
	clock_format_rfc3339(ev->granted_at, granted);
	struct bureau_consent_evidence evidence = {
		.id = ev->id, .granted_at = granted, .receipt_sha256 = ev->receipt_sha256
	};
	return bureau_report_request(op->p->subject_iin, purpose_code(op->purpose),
				     &evidence, req, NULL);
}

static enum senim_result check_report(struct transfer_query *op, const char *body,
				      size_t len, struct codec_verdict *v)
{
	struct transfer_private *p = op->p;
	struct bureau_report *report = NULL;
	enum senim_result err = bureau_report_parse(body, len, p->subject_iin,
						    clock_now_us() / 1000000, &report, v);
	if (err || v->status != CODEC_OK)
		return err;
	err = bureau_report_kept(report, p->d.service, &p->kept);
	op->self_excluded = report->self_excluded;
	bureau_report_free(report);
	return err;
}

/* phone_check/1: the number and the IIN, nothing else. */
static enum senim_result build_phone(struct transfer_query *op,
				     const struct ledger_evidence *ev, json_t **req)
{
	(void)ev;
	return operator_check_request(op->p->values[1], op->p->subject_iin, req, NULL);
}

static enum senim_result check_phone(struct transfer_query *op, const char *body,
				     size_t len, struct codec_verdict *v)
{
	struct transfer_private *p = op->p;
	struct operator_answer *a = NULL;
	enum senim_result err = operator_check_parse(body, len, p->values[1],
						     p->subject_iin, p->today, &a, v);
	if (err || v->status != CODEC_OK)
		return err;
	err = operator_check_kept(a, p->d.service, &p->kept);
	operator_answer_free(a);
	return err;
}

/* family_ties/1, address/1, legal_capacity/1: the IIN and a consent
 * reference.  94-V Art. 8(1) wants that consent given through the state
 * service; until senim speaks to it (design Q4) the reference is the
 * ledger's state_database consent — consent via senim, not via the state
 * service — and without one nothing is sent. */
static enum senim_result build_statedb(struct transfer_query *op,
				       const struct ledger_evidence *ev, json_t **req)
{
	if (!ev->id[0])
		return SENIM_ERR_INVALID;
	return statedb_request(op->p->subject_iin, ev->id, req, NULL);
}

static enum senim_result check_statedb(struct transfer_query *op, const char *body,
				       size_t len, struct codec_verdict *v)
{
	struct transfer_private *p = op->p;
	struct statedb_answer *a = NULL;
	enum statedb_api api;
	if (!statedb_api_of(p->d.service->api, &api))
		return codec_fail(v, CODEC_INVALID_ANSWER, "not a state database API"),
		       SENIM_OK;
	enum senim_result err =
		statedb_parse(api, body, len, p->subject_iin, p->today, &a, v);
	if (err || v->status != CODEC_OK)
		return err;
	err = statedb_kept(a, p->d.service, &p->kept);
	statedb_answer_free(a);
	return err;
}

/* processing/1 (T5): the fields the service sends, for the purpose, under
 * the subject's pseudonym at this recipient; never the IIN or the subject
 * id.  Nothing comes back to keep. */
static enum senim_result build_processing(struct transfer_query *op,
					  const struct ledger_evidence *ev, json_t **req)
{
	(void)ev;
	unsigned char key[PROCESSING_KEY_BYTES];
	char pseudonym[PROCESSING_PSEUDONYM_LEN];
	processing_pseudonym_key(op->ex->kr, op->p->d.recipient->code, key);
	processing_pseudonym(key, op->subject_id, pseudonym);
	sodium_memzero(key, sizeof(key));
	return processing_job_request(op->transfer_id, purpose_code(op->purpose),
				      pseudonym, op->p->data, req, NULL);
}

static enum senim_result check_processing(struct transfer_query *op, const char *body,
					  size_t len, struct codec_verdict *v)
{
	struct transfer_private *p = op->p;
	enum senim_result err = processing_job_parse(body, len, op->transfer_id, v);
	if (err || v->status != CODEC_OK)
		return err;
	p->kept = json_object(); /* nothing to keep: the job was accepted */
	return p->kept ? SENIM_OK : SENIM_ERR_NOMEM;
}

static const struct query_api query_apis[] = {
	{ RECIPIENT_API_CREDIT_REPORT, { "identity.iin" }, build_report, check_report },
	{ RECIPIENT_API_PHONE_CHECK,
	  { "identity.iin", "contact.phone_mobile" },
	  build_phone,
	  check_phone },
	{ RECIPIENT_API_FAMILY_TIES, { "identity.iin" }, build_statedb, check_statedb },
	{ RECIPIENT_API_ADDRESS, { "identity.iin" }, build_statedb, check_statedb },
	{ RECIPIENT_API_LEGAL_CAPACITY,
	  { "identity.iin" },
	  build_statedb,
	  check_statedb },
	{ RECIPIENT_API_PROCESSING, { NULL }, build_processing, check_processing },
};

static const struct query_api *query_api_of(enum recipient_api api)
{
	for (size_t i = 0; i < sizeof(query_apis) / sizeof(query_apis[0]); i++)
		if (query_apis[i].api == api)
			return &query_apis[i];
	return NULL;
}

int transfer_api_supported(enum recipient_api api)
{
	return query_api_of(api) != NULL;
}

/* The sent field `code` of the service, decrypted, into out (a string of
 * fewer than VALUE_MAX bytes).  SENIM_ERR_INVALID when the service does
 * not send it or the value is not such a string; SENIM_ERR_NOT_FOUND when
 * the subject has none. */
static enum senim_result needed_value(struct store_tx *tx, const struct vault_dek *dek,
				      struct transfer_query *op, const char *code,
				      char out[VALUE_MAX])
{
	const struct recipient_service *svc = op->p->d.service;
	const struct recipient_field *f = NULL;
	for (size_t i = 0; i < svc->nsends && !f; i++)
		if (strcmp(svc->sends[i].code, code) == 0)
			f = &svc->sends[i];
	if (!f)
		return SENIM_ERR_INVALID;
	json_t *v = NULL;
	enum senim_result err = field_value(tx, dek, op->subject_id, f, &v);
	if (err)
		return err;
	size_t n = json_is_string(v) ? json_string_length(v) : VALUE_MAX;
	if (n == 0 || n >= VALUE_MAX) {
		json_decref(v);
		return SENIM_ERR_INVALID;
	}
	memcpy(out, json_string_value(v), n);
	out[n] = '\0';
	json_decref(v);
	return SENIM_OK;
}

/* Every field the service sends into p->data; SENIM_ERR_NOT_FOUND when
 * the subject has none of one. */
static enum senim_result sends_data(struct store_tx *tx, const struct vault_dek *dek,
				    struct transfer_query *op)
{
	struct transfer_private *p = op->p;
	const struct recipient_service *svc = p->d.service;
	p->data = json_object();
	if (!p->data)
		return SENIM_ERR_NOMEM;
	enum senim_result err = SENIM_OK;
	for (size_t i = 0; i < svc->nsends && !err; i++) {
		json_t *v = NULL;
		err = field_value(tx, dek, op->subject_id, &svc->sends[i], &v);
		if (!err)
			err = codec_set(p->data, svc->sends[i].code, v);
	}
	return err;
}

/* The request of the service's API, from the fields it sends. */
static enum senim_result build_request(struct store_tx *tx, struct transfer_query *op,
				       const struct vault_dek *dek)
{
	struct transfer_private *p = op->p;
	const struct recipient_service *svc = p->d.service;
	struct ledger_evidence ev = { 0 };
	enum senim_result err = SENIM_OK;
	if (svc->basis == RECIPIENT_BASIS_CONSENT) {
		err = ledger_evidence_in(tx, op->subject_id,
					 (enum consent_kind)svc->consent, &ev);
		if (err)
			return err;
		memcpy(p->consent_id, ev.id, sizeof(p->consent_id));
	}
	for (size_t i = 0; i < NEEDS_MAX && p->api->needs[i] && !err; i++)
		err = needed_value(tx, dek, op, p->api->needs[i], p->values[i]);
	if (!err && !p->api->needs[0])
		err = sends_data(tx, dek, op);
	if (err)
		return err;
	if (p->api->needs[0]) {
		if (strlen(p->values[0]) != 12)
			return SENIM_ERR_INVALID;
		memcpy(p->subject_iin, p->values[0], sizeof(p->subject_iin));
	}
	json_t *req = NULL;
	err = p->api->build(op, &ev, &req);
	if (err)
		return err;
	err = codec_dump(req, &p->body, &p->body_len);
	json_decref(req);
	return err;
}

static enum senim_result insert_transfer(struct store_tx *tx, struct transfer_query *op,
					 const struct vault_dek *dek)
{
	struct transfer_private *p = op->p;
	const struct recipient_service *svc = p->d.service;
	struct buf sealed;
	buf_init(&sealed, BUF_NO_LIMIT);
	enum senim_result err =
		vault_seal_blob(dek, op->subject_id, "transfer", op->transfer_id, 0,
				p->body, p->body_len, &sealed);
	if (err)
		return err;
	int64_t now = clock_now_us() / 1000;
	err = store_exec(
		tx,
		"INSERT INTO transfers (id, subject_id, recipient, service, api, mode,"
		" idempotency_key, purpose, basis, consent_id, legal_ref, categories, "
		"fields,"
		" country, cross_border, payload, state, attempts, next_attempt_at, "
		"deadline_at,"
		" may_have_reached, request_id, actor, created_at, updated_at)"
		" VALUES ($1, $2, $3, $4, $5, 'query', $1, $6, $7, $8, $9, $10, $11, "
		"$12, $13,"
		" $14, 'sending', 0, $15, $16, 0, $17, $18, $15, $15)",
		(struct store_val[]){
			SV_TEXT(op->transfer_id), SV_TEXT(op->subject_id),
			SV_TEXT(p->d.recipient->code), SV_TEXT(svc->code),
			SV_TEXT(recipient_api_code(svc->api)),
			SV_TEXT(purpose_code(op->purpose)),
			SV_TEXT(recipient_basis_code(svc->basis)),
			p->consent_id[0] ? SV_TEXT(p->consent_id) : SV_NULL(),
			svc->legal_ref ? SV_TEXT(svc->legal_ref) : SV_NULL(),
			SV_TEXT(p->categories), SV_TEXT(p->fields),
			SV_TEXT(p->d.recipient->country), SV_INT(p->d.cross_border),
			SV_BLOB(sealed.data, sealed.len), SV_INT(now),
			SV_INT(p->deadline_ms), SV_TEXT(op->request_id),
			SV_TEXT(op->actor) },
		18, NULL);
	buf_release(&sealed);
	if (err)
		return err;
	char object[16 + TRANSFER_ID_LEN];
	snprintf(object, sizeof(object), "transfer:%s", op->transfer_id);
	return audit_append(tx, op->ex->kr,
			    &(struct audit_record){ .actor = op->actor,
						    .operation = "transfer.decide",
						    .object = object,
						    .subject_id = op->subject_id,
						    .categories = p->categories,
						    .purpose = purpose_code(op->purpose),
						    .outcome = "success",
						    .request_id = op->request_id });
}

static enum senim_result decide_tx(struct store_tx *tx, void *arg)
{
	struct transfer_query *op = arg;
	struct transfer_private *p = op->p;
	struct subject_state state;
	struct vault_dek *dek = NULL;
	enum senim_result err = subjects_state_in(tx, op->subject_id, &state);
	if (err)
		return err;
	struct exchange_question q = { .recipient = op->recipient,
				       .service = op->service,
				       .role = op->role,
				       .by_system = op->by_system,
				       .purpose = op->purpose,
				       .state = &state };
	err = exchange_decide(op->ex->recipients, op->ex->matrix, &q, &p->d);
	if (err)
		return err;
	describe_sends(p->d.service, p);
	p->api = query_api_of(p->d.service->api);
	if (!p->api)
		return SENIM_ERR_INVALID; /* a service no query speaks */
	if (p->d.refused.why != ACCESS_GRANTED) {
		op->result = TRANSFER_REFUSED;
		op->refused = p->d.refused;
		return append_disclosure(tx, op, REGISTER_OUT, REGISTER_REFUSED,
					 access_result_code(p->d.refused.why));
	}
	id_time_ordered(op->transfer_id, "trf_", clock_now_us() / 1000);
	err = vault_dek_load(tx, op->ex->kr, op->subject_id, &dek);
	if (err)
		goto fail;
	err = build_request(tx, op, dek);
	if (err)
		goto fail;
	err = insert_transfer(tx, op, dek);
fail:
	vault_dek_free(dek);
	return err;
}

/* ---- step 2: send ---------------------------------------------------------- */

static void settle(struct transfer_query *op);

static enum retry_check check_answer(struct hub_call *call, const char *body, size_t len)
{
	struct transfer_query *op = call->arg;
	struct transfer_private *p = op->p;
	struct codec_verdict v;
	json_decref(p->kept);
	p->kept = NULL;
	if (p->api->check(op, body, len, &v)) {
		json_decref(p->kept);
		p->kept = NULL;
		return RETRY_CHECK_INVALID; /* out of memory: keep nothing */
	}
	if (v.status == CODEC_WRONG_SUBJECT)
		return RETRY_CHECK_WRONG_SUBJECT;
	if (v.status != CODEC_OK || !p->kept) {
		log_event(LOG_WARN, "recipient_invalid_answer", "recipient",
			  p->d.recipient->code, "reason", v.reason, NULL);
		return RETRY_CHECK_INVALID;
	}
	return RETRY_CHECK_OK;
}

/* 1 when a 4xx answer is a state database's {"error": {"code":
 * "person_not_found"}}: the person asked about is not in its records, a
 * finding (D8), not a fault. */
static int person_not_found(const struct hub_outcome *o)
{
	json_t *root = NULL;
	struct codec_verdict v;
	if (o->http_status != 404 || !o->body ||
	    !codec_decode(o->body, o->body_len, &root, &v))
		return 0;
	const char *code = json_string_value(
		json_object_get(json_object_get(root, "error"), "code"));
	int yes = code && strcmp(code, "person_not_found") == 0;
	json_decref(root);
	return yes;
}

static void answered(struct hub_call *call, const struct hub_outcome *o)
{
	struct transfer_query *op = call->arg;
	struct transfer_private *p = op->p;
	p->code = o->code;
	p->may_have_reached = o->may_have_reached;
	p->curl_code = o->curl_code;
	enum statedb_api api;
	p->not_found = o->code == RETRY_HTTP_4XX &&
		       statedb_api_of(p->d.service->api, &api) && person_not_found(o);
	settle(op);
}

static void after_decide(enum senim_result result, void *arg)
{
	struct transfer_query *op = arg;
	struct transfer_private *p = op->p;
	if (result || op->result == TRANSFER_REFUSED) {
		p->done(result, p->done_arg);
		return;
	}
	p->call = (struct hub_call){ .recipient = p->d.recipient,
				     .path = p->d.service->path,
				     .body = p->body,
				     .body_len = p->body_len,
				     .idempotency_key = op->transfer_id,
				     .request_id = op->request_id,
				     .deadline = p->deadline_mono_us,
				     .max_attempts = QUERY_ATTEMPTS,
				     .check = check_answer,
				     .done = answered,
				     .arg = op };
	if (hub_submit(op->ex->hub, &p->call)) {
		p->code = RETRY_UNAVAILABLE; /* nothing was sent */
		settle(op);
	}
}

/* ---- step 3: settle --------------------------------------------------------- */

/* curl's codes for a timeout and for an answer cut short (CURLE_*). */
#define CURL_TIMED_OUT 28
#define CURL_PARTIAL 18

static enum transfer_result result_of(enum retry_code code, int curl_code)
{
	switch (code) {
	case RETRY_OK:
		return TRANSFER_OK;
	case RETRY_INVALID_ANSWER:
		return TRANSFER_INVALID_ANSWER;
	case RETRY_WRONG_SUBJECT:
		return TRANSFER_WRONG_SUBJECT;
	case RETRY_TRANSPORT:
		/* A body cut short is an answer that breaks its API; a
		 * connection that died otherwise is the recipient unavailable. */
		if (curl_code == CURL_TIMED_OUT)
			return TRANSFER_TIMEOUT;
		return curl_code == CURL_PARTIAL ? TRANSFER_INVALID_ANSWER
						 : TRANSFER_UNAVAILABLE;
	case RETRY_HTTP_4XX:
		return TRANSFER_RECIPIENT_REFUSED;
	default:
		return TRANSFER_UNAVAILABLE;
	}
}

static enum senim_result keep_answer(struct store_tx *tx, struct transfer_query *op,
				     const struct vault_dek *dek, char id[SUBJECT_ID_LEN])
{
	struct transfer_private *p = op->p;
	struct buf sealed;
	buf_init(&sealed, BUF_NO_LIMIT);
	id_time_ordered(id, "src_", clock_now_us() / 1000);
	/* D7: the categories the answer carries, in the clear (codes only),
	 * so the retention run purges each at its own period. */
	uint32_t mask = 0;
	const char *key;
	json_t *value;
	json_object_foreach(p->kept, key, value)
	{
		int c = category_of_key(key);
		if (c >= 0)
			mask |= CATEGORY_BIT(c);
	}
	char cats[128];
	category_mask_text(mask, cats, sizeof(cats));
	enum senim_result err =
		vault_seal_record(dek, op->subject_id, "source", 0, p->kept, &sealed);
	if (err)
		goto fail;
	err = store_exec(
		tx,
		"INSERT INTO subject_sources (id, subject_id, recipient, service,"
		" transfer_id, received_at, sealed, categories)"
		" VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
		(struct store_val[]){
			SV_TEXT(id), SV_TEXT(op->subject_id),
			SV_TEXT(p->d.recipient->code), SV_TEXT(p->d.service->code),
			SV_TEXT(op->transfer_id), SV_INT(clock_now_us() / 1000000),
			SV_BLOB(sealed.data, sealed.len), SV_TEXT(cats) },
		8, NULL);
	/* D7: a category purged before and answered again is new data with
	 * its own period (as subjects_write_tx does for records). */
	for (int c = 0; c < CATEGORY__COUNT && !err; c++)
		if (mask & CATEGORY_BIT(c))
			err = store_exec(
				tx,
				"DELETE FROM retention_purges"
				" WHERE subject_id = $1 AND category = $2",
				(struct store_val[]){ SV_TEXT(op->subject_id),
						      SV_TEXT(category_code(c)) },
				2, NULL);
fail:
	buf_release(&sealed);
	return err;
}

/* D8: one finding, with its audit record, and its summary for the answer. */
static enum senim_result add_finding(struct store_tx *tx, struct transfer_query *op,
				     const char *source_id, enum category c,
				     const char *field, enum finding_kind kind)
{
	struct transfer_private *p = op->p;
	char id[FINDING_ID_LEN];
	struct finding_record f = { .subject_id = op->subject_id,
				    .source_id = source_id,
				    .category = c,
				    .field = field,
				    .kind = kind,
				    .purpose = purpose_code(op->purpose),
				    .actor = op->actor,
				    .request_id = op->request_id };
	enum senim_result err = findings_record_in(tx, op->ex->kr, &f, id);
	if (err)
		return err;
	json_t *j = json_pack("{s:s,s:s,s:s,s:s}", "id", id, "category", category_code(c),
			      "field", field, "kind", finding_kind_code(kind));
	if (!j || json_array_append_new(p->findings, j))
		return SENIM_ERR_NOMEM;
	return SENIM_OK;
}

/* D8: what a state database said against what the borrower declared.
 * The declaration is read, never written: a disagreement is a finding for
 * a person to resolve. */
static enum senim_result compare_declared(struct store_tx *tx, struct transfer_query *op,
					  const struct vault_dek *dek,
					  const char *source_id)
{
	struct transfer_private *p = op->p;
	enum category c;
	if (!findings_declared_category(p->d.service->api, &c))
		return SENIM_OK;
	json_t *declared = NULL;
	enum senim_result err =
		subjects_latest_fields_in(tx, dek, op->subject_id, c, &declared);
	if (err)
		return err;
	struct finding_field diff[FINDINGS_MAX];
	size_t n = findings_compare(p->d.service->api, declared, p->kept, diff);
	json_decref(declared); /* the vault's wiping allocator clears it */
	for (size_t i = 0; i < n && !err; i++)
		err = add_finding(tx, op, source_id, diff[i].category, diff[i].field,
				  FINDING_MISMATCH);
	return err;
}

static enum senim_result settle_tx(struct store_tx *tx, void *arg)
{
	struct transfer_query *op = arg;
	struct transfer_private *p = op->p;
	int ok = p->code == RETRY_OK;
	const char *state = ok ? "delivered" : "failed";
	const char *why = ok		 ? NULL
			  : p->not_found ? "person_not_found"
					 : retry_code_name(p->code);
	struct vault_dek *dek = NULL;
	/* A job that failed is run again from the start: no stale findings. */
	json_decref(p->findings);
	p->findings = json_array();
	if (!p->findings)
		return SENIM_ERR_NOMEM;
	enum senim_result err = store_exec(
		tx,
		"UPDATE transfers SET state = $2, may_have_reached = $3, last_error = $4,"
		" updated_at = $5 WHERE id = $1 AND state = 'sending'",
		(struct store_val[]){ SV_TEXT(op->transfer_id), SV_TEXT(state),
				      SV_INT(p->may_have_reached),
				      ok ? SV_NULL() : SV_TEXT(why),
				      SV_INT(clock_now_us() / 1000) },
		5, NULL);
	if (err)
		return err;
	err = append_disclosure(tx, op, REGISTER_OUT,
				ok ? REGISTER_DELIVERED : REGISTER_FAILED, why);
	if (err)
		return err;
	if (!ok) /* D8: the state database does not know the person */
		return p->not_found ? add_finding(tx, op, NULL, CATEGORY_IDENTITY, "iin",
						  FINDING_NOT_FOUND)
				    : SENIM_OK;
	if (p->d.service->nreceives == 0)
		return SENIM_OK; /* a processor's job: nothing comes in (T5) */
	char source_id[SUBJECT_ID_LEN];
	err = vault_dek_load(tx, op->ex->kr, op->subject_id, &dek);
	if (err)
		return err;
	err = keep_answer(tx, op, dek, source_id);
	if (err)
		goto fail;
	err = append_disclosure(tx, op, REGISTER_IN, REGISTER_RECEIVED, NULL);
	if (err)
		goto fail;
	err = compare_declared(tx, op, dek, source_id);
fail:
	vault_dek_free(dek);
	return err;
}

static void after_settle(enum senim_result result, void *arg)
{
	struct transfer_query *op = arg;
	struct transfer_private *p = op->p;
	if (!result) {
		op->result = p->not_found ? TRANSFER_NOT_FOUND
					  : result_of(p->code, p->curl_code);
		if (op->result == TRANSFER_OK) {
			op->received = p->kept; /* the op owns it now */
			p->kept = NULL;
		}
		op->findings = p->findings;
		p->findings = NULL;
	}
	p->done(result, p->done_arg);
}

static void settle(struct transfer_query *op)
{
	struct transfer_private *p = op->p;
	if (store_write_async(op->ex->store, settle_tx, op, after_settle, op))
		p->done(SENIM_ERR_UNAVAILABLE, p->done_arg); /* recovery settles it */
}

enum senim_result transfer_query_start(void *arg, store_done_fn done, void *done_arg)
{
	struct transfer_query *op = arg;
	if (!op->ex || !op->ex->recipients || !op->ex->hub)
		return SENIM_ERR_UNAVAILABLE;
	op->p = calloc(1, sizeof(*op->p));
	if (!op->p)
		return SENIM_ERR_NOMEM;
	struct transfer_private *p = op->p;
	p->done = done;
	p->done_arg = done_arg;
	int deadline = op->ex->query_deadline_ms > 0 ? op->ex->query_deadline_ms
						     : DEFAULT_DEADLINE_MS;
	p->deadline_ms = clock_now_us() / 1000 + deadline;
	p->deadline_mono_us = clock_mono_us() + (int64_t)deadline * 1000;
	char now[CLOCK_RFC3339_LEN];
	clock_format_rfc3339(clock_now_us(), now);
	memcpy(p->today, now, CODEC_DATE_LEN - 1); /* "YYYY-MM-DD" */
	return store_write_async(op->ex->store, decide_tx, op, after_decide, op);
}

/* ---- recovery -------------------------------------------------------------------- */

#define RECOVER_BATCH 256

struct stranded {
	char id[TRANSFER_ID_LEN], subject_id[SUBJECT_ID_LEN];
	char recipient[40], service[40], purpose[40], basis[16];
	char consent_id[CONSENT_ID_LEN], request_id[80], actor[64];
	char categories[128], fields[FIELDS_MAX];
	int has_consent;
};

static void copy_col(struct store_rows *r, int col, char *out, size_t cap)
{
	size_t n = 0;
	const char *t = store_rows_is_null(r, col) ? "" : store_rows_text(r, col, &n);
	n = n < cap - 1 ? n : cap - 1;
	memcpy(out, t, n);
	out[n] = '\0';
}

/* Mark one stranded query abandoned, with its register entry when its
 * recipient is still in the file (else its audit record alone). */
static enum senim_result abandon(struct store_tx *tx, const struct exchange_env *ex,
				 const struct stranded *t)
{
	enum senim_result err = store_exec(
		tx,
		"UPDATE transfers SET state = 'abandoned', may_have_reached = 1,"
		" updated_at = $2 WHERE id = $1",
		(struct store_val[]){ SV_TEXT(t->id), SV_INT(clock_now_us() / 1000) }, 2,
		NULL);
	if (err)
		return err;
	const struct recipient *rc = recipients_find(ex->recipients, t->recipient);
	int purpose = purpose_parse(t->purpose);
	if (!rc || purpose < 0) {
		char object[16 + TRANSFER_ID_LEN];
		snprintf(object, sizeof(object), "transfer:%s", t->id);
		return audit_append(
			tx, ex->kr,
			&(struct audit_record){ .actor = "system",
						.operation = "transfer.abandon",
						.object = object,
						.subject_id = t->subject_id,
						.categories = t->categories,
						.purpose = t->purpose,
						.outcome = "failed",
						.request_id = t->request_id });
	}
	const struct recipient_service *svc = recipient_service_find(rc, t->service);
	struct disclosure e = {
		.subject_id = t->subject_id,
		.direction = REGISTER_OUT,
		.recipient = rc,
		.service = t->service,
		.categories = t->categories,
		.fields = t->fields,
		.purpose = (enum purpose)purpose,
		.basis = svc ? svc->basis : RECIPIENT_BASIS_CONSENT,
		.consent_id = t->has_consent ? t->consent_id : NULL,
		.legal_ref = svc ? svc->legal_ref : NULL,
		.outcome = REGISTER_ABANDONED,
		.reason = "interrupted",
		.may_have_reached = 1,
		.transfer_id = t->id,
		.request_id = t->request_id,
		.actor = t->actor,
	};
	return register_append(tx, ex->kr, &e, NULL);
}

enum senim_result transfer_recover_tx(struct store_tx *tx, void *arg)
{
	struct transfer_recovery *rec = arg;
	struct stranded *batch = calloc(RECOVER_BATCH, sizeof(*batch));
	if (!batch)
		return SENIM_ERR_NOMEM;
	enum senim_result err;
	for (;;) {
		struct store_rows *r;
		size_t n = 0;
		int has = 0;
		err = store_query(
			tx,
			"SELECT id, subject_id, recipient, service, purpose, basis,"
			" consent_id, request_id, actor, categories, fields"
			" FROM transfers WHERE mode = 'query'"
			" AND state IN ('pending', 'sending') ORDER BY id LIMIT 256",
			NULL, 0, &r);
		if (err)
			break;
		while (n < RECOVER_BATCH &&
		       (err = store_rows_next(r, &has)) == SENIM_OK && has) {
			struct stranded *t = &batch[n++];
			copy_col(r, 0, t->id, sizeof(t->id));
			copy_col(r, 1, t->subject_id, sizeof(t->subject_id));
			copy_col(r, 2, t->recipient, sizeof(t->recipient));
			copy_col(r, 3, t->service, sizeof(t->service));
			copy_col(r, 4, t->purpose, sizeof(t->purpose));
			copy_col(r, 5, t->basis, sizeof(t->basis));
			t->has_consent = !store_rows_is_null(r, 6);
			copy_col(r, 6, t->consent_id, sizeof(t->consent_id));
			copy_col(r, 7, t->request_id, sizeof(t->request_id));
			copy_col(r, 8, t->actor, sizeof(t->actor));
			copy_col(r, 9, t->categories, sizeof(t->categories));
			copy_col(r, 10, t->fields, sizeof(t->fields));
		}
		store_rows_free(r);
		if (err || n == 0)
			break;
		for (size_t i = 0; i < n && !err; i++)
			err = abandon(tx, rec->ex, &batch[i]);
		if (err)
			break;
		rec->abandoned += (int)n;
	}
	free(batch);
	return err;
}
