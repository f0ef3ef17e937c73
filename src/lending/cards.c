/*
 * cards.c — the borrower's payout cards bound at the payment provider
 * (lending/cards.h; docs/payout.md "Card payouts").
 *
 * A call to the provider is three steps, as a payout is: a write (decide,
 * record), the hub (no transaction held), a write (settle: the register,
 * the row, the audit record).
 */
#include "lending/cards.h"

#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "common/clock.h"
#include "connectors/hub.h"
#include "core/categories.h"
#include "exchange/decide.h"
#include "exchange/register.h"
#include "lending/applications.h"
#include "subjects/subjects.h"
#include "common/banned.h"

#define PURPOSE PURPOSE_LOAN_SERVICING
#define HUB_ATTEMPTS 3
#define TOKEN_CATEGORY "card"	    /* the vault binding of the sealed token */
#define DETAILS_CATEGORY "card_pan" /* of the masked number and expiry */
/* What the register names: the card is the payout destination. */
#define FIELDS "loan.payout_destination"
#define CATEGORIES "loan"
#define ACTOR_SYSTEM "system:cards"

int card_id_valid(const char *s)
{
	return s && strncmp(s, "crd_", 4) == 0 && id_body_valid(s + 4);
}

static void key_of(const char *card_id, char key[PAYMENT_BINDING_KEY_SIZE])
{
	snprintf(key, PAYMENT_BINDING_KEY_SIZE, "%s%s", PAYMENT_BINDING_KEY_PREFIX,
		 card_id + 4);
}

/* The first recipient with a payout/1 service: the pump's provider. */
static int find_service(const struct recipients *rs, const struct recipient **rc,
			const struct recipient_service **svc)
{
	for (size_t i = 0; rs && i < rs->n; i++)
		for (size_t j = 0; j < rs->recipients[i].nservices; j++)
			if (rs->recipients[i].services[j].api == RECIPIENT_API_PAYOUT) {
				*rc = &rs->recipients[i];
				*svc = &rs->recipients[i].services[j];
				return 1;
			}
	return 0;
}

static enum senim_result audit(struct store_tx *tx, const struct card_op *op,
			       const char *operation, const char *object,
			       const char *outcome)
{
	struct audit_record rec = { .actor = op->actor,
				    .operation = operation,
				    .object = object,
				    .subject_id = op->subject_id,
				    .categories = CATEGORIES,
				    .purpose = purpose_code(PURPOSE),
				    .outcome = outcome,
				    .request_id = op->request_id };
	return audit_append(tx, op->env->kr, &rec);
}

struct call {
	struct card_op *op;
	const struct recipient *rc;
	const struct recipient_service *svc;
	char key[PAYMENT_BINDING_KEY_SIZE];
	int get; /* 1: the status read */
	int del; /* 1: the unbinding (DELETE of the status path) */
	char *body;
	size_t body_len;
	/* the hub's answer */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int done;
	struct payment_binding b;
	struct codec_verdict v;
	enum retry_code code;
	long http_status;
	int curl_code;
	int may_have_reached;
};

static enum senim_result entry(struct store_tx *tx, const struct call *c,
			       enum register_direction dir, enum register_outcome outcome,
			       const char *reason)
{
	return register_append(
		tx, c->op->env->kr,
		&(struct disclosure){ .subject_id = c->op->subject_id,
				      .direction = dir,
				      .recipient = c->rc,
				      .service = c->svc->code,
				      .categories = CATEGORIES,
				      .fields = FIELDS,
				      .purpose = PURPOSE,
				      .basis = c->svc->basis,
				      .legal_ref = c->svc->legal_ref,
				      .outcome = outcome,
				      .reason = reason,
				      .may_have_reached = outcome == REGISTER_FAILED &&
							  c->may_have_reached,
				      .request_id = c->op->request_id,
				      .actor = c->op->actor },
		NULL);
}

/* ---- the hub ----------------------------------------------------------------------- */

static enum retry_check check_answer(struct hub_call *call, const char *body, size_t len)
{
	struct call *c = call->arg;
	if (c->del) {
		if (payment_unbind_parse(body, len, c->key, &c->v))
			return RETRY_CHECK_INVALID;
	} else if (payment_binding_parse(body, len, c->key, &c->b, &c->v))
		return RETRY_CHECK_INVALID;
	if (c->v.status == CODEC_WRONG_SUBJECT)
		return RETRY_CHECK_WRONG_SUBJECT;
	return c->v.status == CODEC_OK ? RETRY_CHECK_OK : RETRY_CHECK_INVALID;
}

static void answered(struct hub_call *call, const struct hub_outcome *o)
{
	struct call *c = call->arg;
	pthread_mutex_lock(&c->mu);
	c->code = o->code;
	c->http_status = o->http_status;
	c->curl_code = o->curl_code;
	c->may_have_reached = o->may_have_reached;
	c->done = 1;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

/* Send c (the start's POST, the status GET or the unbinding's DELETE) and
 * wait for its end. */
static void send_call(struct call *c)
{
	char path[PAYMENT_BINDING_PATH_SIZE];
	payment_binding_path(c->key, path);
	const struct card_env *env = c->op->env;
	c->v.status = CODEC_INVALID_ANSWER;
	c->done = 0;
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	int64_t deadline_ms = env->deadline_ms > 0 ? env->deadline_ms : 5000;
	struct hub_call call = {
		.recipient = c->rc,
		.path = c->get || c->del ? path : PAYMENT_BINDING_PATH,
		.body = c->get || c->del ? NULL : c->body,
		.body_len = c->get || c->del ? 0 : c->body_len,
		.get = c->get || c->del,
		.del = c->del,
		.idempotency_key = c->key,
		.request_id = c->op->request_id,
		.deadline = clock_mono_us() + deadline_ms * 1000,
		.max_attempts = HUB_ATTEMPTS,
		.check = check_answer,
		.done = answered,
		.arg = c,
	};
	if (!env->hub || hub_submit(env->hub, &call)) {
		c->code = RETRY_UNAVAILABLE;
		c->may_have_reached = 0;
	} else {
		pthread_mutex_lock(&c->mu);
		while (!c->done)
			pthread_cond_wait(&c->cv, &c->mu);
		pthread_mutex_unlock(&c->mu);
	}
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
}

#define CURL_TIMED_OUT 28

/* The failure's code, as the exchange's problems name it. */
static const char *failure_code(const struct call *c)
{
	switch (c->code) {
	case RETRY_WRONG_SUBJECT:
		return "recipient_wrong_subject";
	case RETRY_INVALID_ANSWER:
		return "recipient_invalid_answer";
	case RETRY_HTTP_4XX:
		return "recipient_refused";
	case RETRY_TRANSPORT:
		return c->curl_code == CURL_TIMED_OUT ? "recipient_timeout"
						      : "recipient_unavailable";
	default:
		return c->v.status == CODEC_WRONG_SUBJECT ? "recipient_wrong_subject"
							  : "recipient_unavailable";
	}
}

/* ---- sealing ------------------------------------------------------------------------ */

/* The bound card's token and details, sealed to the subject and card. */
static enum senim_result bind_row(struct store_tx *tx, const struct call *c,
				  const char *card_id, int64_t now)
{
	struct vault_dek *dek = NULL;
	struct buf token, details;
	char text[PAYMENT_MASKED_MAX + PAYMENT_EXPIRY_LEN + 2];
	buf_init(&token, 256);
	buf_init(&details, 256);
	snprintf(text, sizeof(text), "%s %s", c->b.masked_pan, c->b.expiry);
	enum senim_result err =
		vault_dek_load(tx, c->op->env->kr, c->op->subject_id, &dek);
	if (!err)
		err = vault_seal_blob(dek, c->op->subject_id, TOKEN_CATEGORY, card_id, 1,
				      c->b.token, strlen(c->b.token), &token);
	if (!err)
		err = vault_seal_blob(dek, c->op->subject_id, DETAILS_CATEGORY, card_id,
				      1, text, strlen(text), &details);
	if (!err)
		err = store_exec(
			tx,
			"UPDATE cards SET state = 'bound', reason = NULL,"
			" token_sealed = $2, details_sealed = $3, updated_at = $4"
			" WHERE id = $1",
			(struct store_val[]){
				SV_TEXT(card_id), SV_BLOB(token.data, token.len),
				SV_BLOB(details.data, details.len), SV_INT(now) },
			4, NULL);
	sodium_memzero(text, sizeof(text));
	buf_release_wiped(&token);
	buf_release_wiped(&details);
	vault_dek_free(dek);
	return err;
}

static enum senim_result fail_row(struct store_tx *tx, const struct call *c,
				  const char *card_id, const char *reason, int64_t now)
{
	char object[CARD_ID_LEN + 16];
	snprintf(object, sizeof(object), "card:%s", card_id);
	enum senim_result err = store_exec(
		tx,
		"UPDATE cards SET state = 'failed', reason = $2, updated_at = $3"
		" WHERE id = $1",
		(struct store_val[]){ SV_TEXT(card_id), SV_TEXT(reason), SV_INT(now) }, 3,
		NULL);
	if (!err)
		err = audit(tx, c->op, "card.fail", object, "failed");
	return err;
}

/* A valid answer's binding into the row (pending: nothing changes). */
static enum senim_result settle_binding(struct store_tx *tx, struct call *c,
					const char *card_id, int64_t now)
{
	struct card_view *v = &c->op->card;
	char object[CARD_ID_LEN + 16];
	snprintf(object, sizeof(object), "card:%s", card_id);
	enum senim_result err = SENIM_OK;
	switch (c->b.status) {
	case PAYMENT_BINDING_PENDING:
		snprintf(v->page_url, sizeof(v->page_url), "%s", c->b.page_url);
		snprintf(v->state, sizeof(v->state), "pending");
		return SENIM_OK;
	case PAYMENT_BINDING_BOUND:
		err = bind_row(tx, c, card_id, now);
		if (!err)
			err = entry(tx, c, REGISTER_IN, REGISTER_RECEIVED, NULL);
		if (!err)
			err = audit(tx, c->op, "card.bind", object, "success");
		snprintf(v->state, sizeof(v->state), "bound");
		return err;
	case PAYMENT_BINDING_FAILED:
		snprintf(v->state, sizeof(v->state), "failed");
		snprintf(v->reason, sizeof(v->reason), "%s", c->b.fail_code);
		return fail_row(tx, c, card_id, c->b.fail_code, now);
	}
	return SENIM_ERR_INVALID;
}

/* ---- the start ---------------------------------------------------------------------- */

/* Whether the lender may have the provider bind a card for the subject
 * (U2 as its own processing); a refusal's register entry and record. */
static enum senim_result decide(struct store_tx *tx, struct call *c, int *granted)
{
	struct subject_state state;
	struct exchange_decision d;
	*granted = 0;
	enum senim_result err = subjects_state_in(tx, c->op->subject_id, &state);
	if (err)
		return err;
	struct exchange_question q = { .recipient = c->rc->code,
				       .service = c->svc->code,
				       .by_system = 1,
				       .purpose = PURPOSE,
				       .state = &state };
	err = exchange_decide(c->op->env->recipients, c->op->env->matrix, &q, &d);
	if (err)
		return err;
	c->op->refused = d.refused;
	*granted = d.refused.why == ACCESS_GRANTED;
	return SENIM_OK;
}

static enum senim_result start_tx(struct store_tx *tx, void *arg)
{
	struct call *c = arg;
	struct card_op *op = c->op;
	struct store_rows *r = NULL;
	int granted = 0;
	op->outcome = CARD_DONE;
	enum senim_result err = store_query_one(
		tx,
		"SELECT COUNT(*) FROM cards WHERE subject_id = $1 AND state = 'pending'",
		(struct store_val[]){ SV_TEXT(op->subject_id) }, 1, &r);
	if (err)
		return err;
	int64_t pending = store_rows_int(r, 0);
	store_rows_free(r);
	if (pending >= CARD_PENDING_MAX) {
		op->outcome = CARD_TOO_MANY;
		return SENIM_OK;
	}
	err = decide(tx, c, &granted);
	if (err)
		return err;
	char object[CARD_ID_LEN + 16];
	snprintf(object, sizeof(object), "card:%s", op->card.id);
	if (!granted) {
		op->outcome = CARD_REFUSED;
		err = entry(tx, c, REGISTER_OUT, REGISTER_REFUSED,
			    access_result_code(op->refused.why));
		if (!err)
			err = audit(tx, op, "card.start", object, "denied");
		return err;
	}
	int64_t now = clock_now_us();
	err = store_exec(
		tx,
		"INSERT INTO cards (id, subject_id, binding_key, state, created_at,"
		" updated_at, request_id) VALUES ($1, $2, $3, 'pending', $4, $4, $5)",
		(struct store_val[]){ SV_TEXT(op->card.id), SV_TEXT(op->subject_id),
				      SV_TEXT(c->key), SV_INT(now),
				      SV_TEXT(op->request_id) },
		5, NULL);
	if (!err)
		err = audit(tx, op, "card.start", object, "success");
	op->card.created_at = op->card.updated_at = now;
	return err;
}

static enum senim_result start_settle_tx(struct store_tx *tx, void *arg)
{
	struct call *c = arg;
	struct card_op *op = c->op;
	int64_t now = clock_now_us();
	op->card.updated_at = now;
	op->card.reason[0] = '\0';
	op->card.page_url[0] = '\0';
	if (c->code == RETRY_OK && c->v.status == CODEC_OK) {
		op->outcome = CARD_DONE;
		enum senim_result err =
			entry(tx, c, REGISTER_OUT, REGISTER_DELIVERED, NULL);
		return err ? err : settle_binding(tx, c, op->card.id, now);
	}
	const char *reason = failure_code(c);
	op->outcome = CARD_PROVIDER_FAILED;
	snprintf(op->card.state, sizeof(op->card.state), "failed");
	snprintf(op->card.reason, sizeof(op->card.reason), "%s", reason);
	enum senim_result err = entry(tx, c, REGISTER_OUT, REGISTER_FAILED, reason);
	return err ? err : fail_row(tx, c, op->card.id, reason, now);
}

static void call_wipe(struct call *c)
{
	if (c->body) {
		sodium_memzero(c->body, c->body_len);
		free(c->body);
	}
	sodium_memzero(&c->b, sizeof(c->b));
}

enum senim_result cards_start(struct card_op *op)
{
	struct call *c = calloc(1, sizeof(*c));
	if (!c)
		return SENIM_ERR_NOMEM;
	c->op = op;
	memset(&op->card, 0, sizeof(op->card));
	op->n = 0;
	enum senim_result err = SENIM_OK;
	if (!find_service(op->env->recipients, &c->rc, &c->svc)) {
		op->outcome = CARD_NOT_CONFIGURED;
		goto done;
	}
	id_time_ordered(op->card.id, "crd_", clock_now_us() / 1000);
	key_of(op->card.id, c->key);
	snprintf(op->card.state, sizeof(op->card.state), "pending");
	json_t *req = NULL;
	err = payment_binding_request(c->key, &req, NULL);
	if (!err)
		err = codec_dump(req, &c->body, &c->body_len);
	json_decref(req);
	if (!err)
		err = store_write(op->env->store, start_tx, c);
	if (err || op->outcome != CARD_DONE)
		goto done;
	/* The row and its record are durable before anything leaves. */
	send_call(c);
	err = store_write(op->env->store, start_settle_tx, c);
done:
	call_wipe(c);
	free(c);
	return err;
}

/* ---- reading -------------------------------------------------------------------------- */

/* The card's state now, for a one-card read that may ask the provider. */
static enum senim_result pending_tx(struct store_tx *tx, void *arg)
{
	struct call *c = arg;
	struct store_rows *r = NULL;
	c->op->card.state[0] = '\0';
	enum senim_result err = store_query_one(
		tx, "SELECT state FROM cards WHERE id = $1 AND subject_id = $2",
		(struct store_val[]){ SV_TEXT(c->op->id), SV_TEXT(c->op->subject_id) }, 2,
		&r);
	if (err == SENIM_ERR_NOT_FOUND) {
		c->op->outcome = CARD_NOT_FOUND;
		return SENIM_OK;
	}
	if (err)
		return err;
	snprintf(c->op->card.state, sizeof(c->op->card.state), "%s",
		 store_rows_text(r, 0, NULL));
	store_rows_free(r);
	return SENIM_OK;
}

/* The status read's answer into the row, while it is still pending. */
static enum senim_result read_settle_tx(struct store_tx *tx, void *arg)
{
	struct call *c = arg;
	struct store_rows *r = NULL;
	int64_t now = clock_now_us();
	enum senim_result err = store_query_one(
		tx,
		"SELECT state FROM cards WHERE id = $1 AND subject_id = $2"
		" AND state = 'pending'",
		(struct store_val[]){ SV_TEXT(c->op->id), SV_TEXT(c->op->subject_id) }, 2,
		&r);
	store_rows_free(r);
	if (err == SENIM_ERR_NOT_FOUND)
		return SENIM_OK; /* settled by another read meanwhile */
	if (err)
		return err;
	if (c->code == RETRY_OK && c->v.status == CODEC_OK)
		return settle_binding(tx, c, c->op->id, now);
	/* A lie is never trusted, and the binding ends: nothing was paid, a
	 * new binding is one request away.  A binding the provider does not
	 * know has ended too.  Anything else leaves it pending. */
	if (c->code == RETRY_WRONG_SUBJECT || c->v.status == CODEC_WRONG_SUBJECT)
		return fail_row(tx, c, c->op->id, "recipient_wrong_subject", now);
	if (c->code == RETRY_HTTP_4XX && c->http_status == 404)
		return fail_row(tx, c, c->op->id, "binding_not_found", now);
	return SENIM_OK;
}

enum senim_result cards_details_open(const struct vault_dek *dek, const char *subject_id,
				     const char *card_id, const void *sealed, size_t n,
				     char masked[PAYMENT_MASKED_MAX + 1],
				     char expiry[PAYMENT_EXPIRY_LEN + 1])
{
	struct buf plain;
	masked[0] = expiry[0] = '\0';
	buf_init(&plain, 64);
	enum senim_result err = vault_open_blob(dek, subject_id, DETAILS_CATEGORY,
						card_id, 1, sealed, n, &plain);
	if (!err && plain.len == 0)
		err = SENIM_ERR_CRYPTO;
	if (!err) {
		/* "<masked> <expiry>", as bind_row sealed it */
		const char *sp = memchr(plain.data, ' ', plain.len);
		size_t m = sp ? (size_t)(sp - plain.data) : 0;
		if (!sp || m > PAYMENT_MASKED_MAX ||
		    plain.len - m - 1 != PAYMENT_EXPIRY_LEN) {
			err = SENIM_ERR_CRYPTO;
		} else {
			memcpy(masked, plain.data, m);
			masked[m] = '\0';
			memcpy(expiry, sp + 1, PAYMENT_EXPIRY_LEN);
			expiry[PAYMENT_EXPIRY_LEN] = '\0';
		}
	}
	buf_release_wiped(&plain);
	return err;
}

/* Row r (id, state, reason, details_sealed, created_at, updated_at) into
 * *v; url: the page of a pending card just asked about, or "". */
static void view_of(struct store_rows *r, const struct vault_dek *dek,
		    const char *subject_id, const char *url, struct card_view *v,
		    enum senim_result *err)
{
	memset(v, 0, sizeof(*v));
	snprintf(v->id, sizeof(v->id), "%s", store_rows_text(r, 0, NULL));
	snprintf(v->state, sizeof(v->state), "%s", store_rows_text(r, 1, NULL));
	if (!store_rows_is_null(r, 2))
		snprintf(v->reason, sizeof(v->reason), "%s", store_rows_text(r, 2, NULL));
	v->created_at = store_rows_int(r, 4);
	v->updated_at = store_rows_int(r, 5);
	if (strcmp(v->state, "pending") == 0)
		snprintf(v->page_url, sizeof(v->page_url), "%s", url);
	if (store_rows_is_null(r, 3) || *err)
		return;
	size_t n = 0;
	const void *sealed = store_rows_blob(r, 3, &n);
	*err = cards_details_open(dek, subject_id, v->id, sealed, n, v->masked,
				  v->expiry);
}

/* The answer's rows, opened, and card.read. */
static enum senim_result read_tx(struct store_tx *tx, void *arg)
{
	struct card_op *op = arg;
	struct store_rows *r = NULL;
	struct vault_dek *dek = NULL;
	char url[PAYMENT_URL_MAX + 1];
	snprintf(url, sizeof(url), "%s", op->card.page_url); /* a job may rerun */
	op->n = 0;
	op->outcome = CARD_DONE;
	enum senim_result err = vault_dek_load(tx, op->env->kr, op->subject_id, &dek);
	if (err)
		return err;
	if (op->id)
		err = store_query(
			tx,
			"SELECT id, state, reason, details_sealed, created_at,"
			" updated_at FROM cards WHERE id = $1 AND subject_id = $2",
			(struct store_val[]){ SV_TEXT(op->id), SV_TEXT(op->subject_id) },
			2, &r);
	else
		err = store_query(tx,
				  "SELECT id, state, reason, details_sealed, created_at,"
				  " updated_at FROM cards WHERE subject_id = $1"
				  " ORDER BY created_at DESC, id DESC LIMIT $2",
				  (struct store_val[]){ SV_TEXT(op->subject_id),
							SV_INT(CARD_LIST_MAX) },
				  2, &r);
	int has = 0;
	while (!err && (err = store_rows_next(r, &has)) == SENIM_OK && has) {
		struct card_view *v = op->id ? &op->card : &op->list[op->n];
		view_of(r, dek, op->subject_id, op->id ? url : "", v, &err);
		op->n++;
		if (op->id || op->n == CARD_LIST_MAX)
			break;
	}
	store_rows_free(r);
	vault_dek_free(dek);
	if (err)
		return err;
	if (op->id && op->n == 0) {
		op->outcome = CARD_NOT_FOUND;
		return SENIM_OK;
	}
	char object[CARD_ID_LEN + 16];
	snprintf(object, sizeof(object), op->id ? "card:%s" : "cards", op->id);
	return audit(tx, op, "card.read", object, "success");
}

enum senim_result cards_read(struct card_op *op)
{
	enum senim_result err = SENIM_OK;
	memset(&op->card, 0, sizeof(op->card));
	op->outcome = CARD_DONE;
	if (op->id) {
		struct call *c = calloc(1, sizeof(*c));
		if (!c)
			return SENIM_ERR_NOMEM;
		c->op = op;
		err = store_read(op->env->store, pending_tx, c);
		if (!err && op->outcome == CARD_DONE &&
		    strcmp(op->card.state, "pending") == 0 &&
		    find_service(op->env->recipients, &c->rc, &c->svc)) {
			/* The borrower back from the provider's page: ask. */
			key_of(op->id, c->key);
			c->get = 1;
			send_call(c);
			err = store_write(op->env->store, read_settle_tx, c);
		}
		call_wipe(c);
		free(c);
		if (err || op->outcome != CARD_DONE)
			return err;
	}
	return store_write(op->env->store, read_tx, op);
}

/* ---- removal ---------------------------------------------------------------------------- */

/* Whether the card may go, and what it needs: the provider's unbinding
 * (pending, bound: c->del set, card.unbind recorded before anything
 * leaves) or nothing (failed: deleted here). */
static enum senim_result remove_tx(struct store_tx *tx, void *arg)
{
	struct call *c = arg;
	struct card_op *op = c->op;
	struct store_rows *r = NULL;
	struct vault_dek *dek = NULL;
	int named = 0, granted = 0;
	char object[CARD_ID_LEN + 16];
	snprintf(object, sizeof(object), "card:%s", op->id);
	op->outcome = CARD_DONE;
	c->del = 0;
	enum senim_result err = store_query_one(
		tx, "SELECT state FROM cards WHERE id = $1 AND subject_id = $2",
		(struct store_val[]){ SV_TEXT(op->id), SV_TEXT(op->subject_id) }, 2, &r);
	if (err == SENIM_ERR_NOT_FOUND) {
		op->outcome = CARD_NOT_FOUND;
		return SENIM_OK;
	}
	if (err)
		return err;
	snprintf(op->card.state, sizeof(op->card.state), "%s",
		 store_rows_text(r, 0, NULL));
	store_rows_free(r);
	/* A signed loan still to be paid out to it keeps the card. */
	err = vault_dek_load(tx, op->env->kr, op->subject_id, &dek);
	if (!err)
		err = applications_card_named_in(tx, dek, op->subject_id, op->id, &named);
	vault_dek_free(dek);
	if (err)
		return err;
	if (named) {
		op->outcome = CARD_IN_USE;
		return audit(tx, op, "card.remove", object, "denied");
	}
	if (strcmp(op->card.state, "failed") == 0) {
		/* Nothing at the provider: the row goes, with what it held. */
		err = store_exec(
			tx, "DELETE FROM cards WHERE id = $1 AND subject_id = $2",
			(struct store_val[]){ SV_TEXT(op->id), SV_TEXT(op->subject_id) },
			2, NULL);
		return err ? err : audit(tx, op, "card.remove", object, "success");
	}
	if (!c->rc) {
		op->outcome = CARD_NOT_CONFIGURED;
		return SENIM_OK;
	}
	err = decide(tx, c, &granted);
	if (err)
		return err;
	if (!granted) {
		op->outcome = CARD_REFUSED;
		err = entry(tx, c, REGISTER_OUT, REGISTER_REFUSED,
			    access_result_code(op->refused.why));
		return err ? err : audit(tx, op, "card.remove", object, "denied");
	}
	c->del = 1;
	return audit(tx, op, "card.unbind", object, "success");
}

/* The unbinding's end: unbound (or unknown to the provider) — the row and
 * its sealed token deleted; else the card stays as it was. */
static enum senim_result remove_settle_tx(struct store_tx *tx, void *arg)
{
	struct call *c = arg;
	struct card_op *op = c->op;
	char object[CARD_ID_LEN + 16];
	snprintf(object, sizeof(object), "card:%s", op->id);
	if ((c->code == RETRY_OK && c->v.status == CODEC_OK) ||
	    (c->code == RETRY_HTTP_4XX && c->http_status == 404)) {
		op->outcome = CARD_DONE;
		enum senim_result err =
			entry(tx, c, REGISTER_OUT, REGISTER_DELIVERED, NULL);
		if (!err)
			err = store_exec(
				tx, "DELETE FROM cards WHERE id = $1 AND subject_id = $2",
				(struct store_val[]){ SV_TEXT(op->id),
						      SV_TEXT(op->subject_id) },
				2, NULL);
		return err ? err : audit(tx, op, "card.remove", object, "success");
	}
	const char *reason = failure_code(c);
	op->outcome = CARD_PROVIDER_FAILED;
	snprintf(op->card.reason, sizeof(op->card.reason), "%s", reason);
	enum senim_result err = entry(tx, c, REGISTER_OUT, REGISTER_FAILED, reason);
	return err ? err : audit(tx, op, "card.remove", object, "failed");
}

enum senim_result cards_remove(struct card_op *op)
{
	struct call *c = calloc(1, sizeof(*c));
	if (!c)
		return SENIM_ERR_NOMEM;
	c->op = op;
	memset(&op->card, 0, sizeof(op->card));
	op->n = 0;
	op->outcome = CARD_NOT_FOUND;
	enum senim_result err = SENIM_OK;
	if (!card_id_valid(op->id))
		goto done;
	if (!find_service(op->env->recipients, &c->rc, &c->svc))
		c->rc = NULL;
	key_of(op->id, c->key);
	err = store_write(op->env->store, remove_tx, c);
	if (err || op->outcome != CARD_DONE || !c->del)
		goto done;
	/* card.unbind is durable before the provider is asked. */
	send_call(c);
	err = store_write(op->env->store, remove_settle_tx, c);
done:
	call_wipe(c);
	free(c);
	return err;
}

/* ---- for applications and the pump ------------------------------------------------ */

enum senim_result cards_token_in(struct store_tx *tx, const struct vault_dek *dek,
				 const char *subject_id, const char *card_id,
				 struct buf *token)
{
	struct store_rows *r = NULL;
	if (!card_id_valid(card_id))
		return SENIM_ERR_NOT_FOUND;
	enum senim_result err = store_query_one(
		tx,
		"SELECT token_sealed FROM cards WHERE id = $1 AND subject_id = $2"
		" AND state = 'bound' AND token_sealed IS NOT NULL",
		(struct store_val[]){ SV_TEXT(card_id), SV_TEXT(subject_id) }, 2, &r);
	if (err)
		return err;
	size_t n = 0;
	const void *sealed = store_rows_blob(r, 0, &n);
	err = vault_open_blob(dek, subject_id, TOKEN_CATEGORY, card_id, 1, sealed, n,
			      token);
	store_rows_free(r);
	return err;
}

enum senim_result cards_bound_in(struct store_tx *tx, const struct vault_dek *dek,
				 const char *subject_id, const char *card_id, int *bound,
				 char last4[5])
{
	struct store_rows *r = NULL;
	*bound = 0;
	if (last4)
		last4[0] = '\0';
	if (!card_id_valid(card_id))
		return SENIM_OK;
	enum senim_result err = store_query(
		tx,
		"SELECT id, state, reason, details_sealed, created_at, updated_at"
		" FROM cards WHERE id = $1 AND subject_id = $2 AND state = 'bound'",
		(struct store_val[]){ SV_TEXT(card_id), SV_TEXT(subject_id) }, 2, &r);
	int has = 0;
	if (!err)
		err = store_rows_next(r, &has);
	if (!err && has) {
		struct card_view v;
		memset(&v, 0, sizeof(v));
		view_of(r, dek, subject_id, "", &v, &err);
		if (!err) {
			*bound = 1;
			if (last4) {
				size_t m = strlen(v.masked);
				snprintf(last4, 5, "%s", m >= 4 ? v.masked + m - 4 : "");
			}
		}
		sodium_memzero(&v, sizeof(v));
	}
	store_rows_free(r);
	return err;
}
