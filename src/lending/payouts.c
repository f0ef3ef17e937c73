/*
 * payouts.c — the payout pump and the borrower's confirmation and
 * withdrawal (lending/payouts.h; docs/payout.md).
 *
 * A payout moves in three steps, each its own transaction or none: claim
 * (lease, decide, open the destination, build the request), send (the hub,
 * no transaction held), settle (open the loan, or record why not).  The
 * lease, not a lock, keeps two servers apart: a claim takes only a row
 * whose lease has run out, and a settle writes only while its lease is the
 * row's.
 */
#include "lending/payouts.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit/audit.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/ids.h"
#include "common/log.h"
#include "connectors/bureau.h"
#include "connectors/hub.h"
#include "connectors/payment.h"
#include "core/categories.h"
#include "core/schedule.h"
#include "exchange/decide.h"
#include "exchange/loan_events.h"
#include "exchange/register.h"
#include "lending/applications.h"
#include "lending/cards.h"
#include "lending/loans.h"
#include "subjects/subjects.h"
#include "vault/vault.h"
#include "common/banned.h"

#define PURPOSE PURPOSE_LOAN_SERVICING
#define BACKOFF_CAP_MS (10 * 60 * 1000)
#define HUB_ATTEMPTS 3
#define OWNER_MAX 64

static enum senim_result audit(struct store_tx *tx, const struct keyring *kr,
			       const char *actor, const char *request_id,
			       const char *subject_id, const char *operation,
			       const char *object, const char *categories,
			       const char *outcome)
{
	struct audit_record rec = { .actor = actor,
				    .operation = operation,
				    .object = object,
				    .subject_id = subject_id,
				    .categories = categories,
				    .purpose = purpose_code(PURPOSE),
				    .outcome = outcome,
				    .request_id = request_id };
	return audit_append(tx, kr, &rec);
}

/* The operation key of an application: "pyo_" and the id's body, so one
 * application is one payout at the provider whoever sends it. */
static void key_of(const char *app_id, char key[PAYMENT_KEY_SIZE])
{
	snprintf(key, PAYMENT_KEY_SIZE, "%s%s", PAYMENT_KEY_PREFIX, app_id + 4);
}

/* The first recipient with a payout/1 service. */
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

/* How long a send may take (send_payout's deadline), and the margin. */
static int64_t lease_ms(const struct recipient *rc)
{
	return (int64_t)(rc->timeout_ms + rc->connect_timeout_ms) * HUB_ATTEMPTS +
	       PAYOUT_LEASE_MARGIN_MS;
}

/* ---- claim ------------------------------------------------------------------------- */

struct claim {
	struct payout_pass *p;
	const struct recipient *rc;
	const struct recipient_service *svc;
	int64_t now;
	/* out */
	int found; /* 1: a payout to send (body set); 2: one failed at claim */
	char app[APPLICATION_ID_LEN];
	char subject[SUBJECT_ID_LEN];
	char key[PAYMENT_KEY_SIZE];
	int64_t amount, attempts;
	int ask; /* the provider answered `accepted`: read its status */
	char *body;
	size_t body_len;
	char fields[160], cats[64];
};

static void claim_wipe(struct claim *c)
{
	if (c->body) {
		sodium_memzero(c->body, c->body_len);
		free(c->body);
	}
	c->body = NULL;
	c->body_len = 0;
}

/* A payout that cannot go (the access refused, a card with no provider
 * token, a request the codec refuses): `failed` for good, on the register as
 * refused, nothing sent. */
static enum senim_result fail_at_claim(struct store_tx *tx, struct claim *c,
				       const char *reason)
{
	struct payout_pass *p = c->p;
	char object[APPLICATION_ID_LEN + 16];
	snprintf(object, sizeof(object), "application:%s", c->app);
	enum senim_result err = store_exec(
		tx,
		"UPDATE payouts SET state = 'failed', reason = $2, lease_owner = NULL,"
		" lease_until = NULL, updated_at = $3 WHERE application_id = $1",
		(struct store_val[]){ SV_TEXT(c->app), SV_TEXT(reason), SV_INT(c->now) },
		3, NULL);
	if (!err)
		err = register_append(
			tx, p->kr,
			&(struct disclosure){ .subject_id = c->subject,
					      .direction = REGISTER_OUT,
					      .recipient = c->rc,
					      .service = c->svc->code,
					      .categories = c->cats,
					      .fields = c->fields,
					      .purpose = PURPOSE,
					      .basis = c->svc->basis,
					      .legal_ref = c->svc->legal_ref,
					      .outcome = REGISTER_REFUSED,
					      .reason = reason,
					      .request_id = p->request_id,
					      .actor = "system:payout" },
			NULL);
	if (!err)
		err = audit(tx, p->kr, "system:payout", p->request_id, c->subject,
			    "payout.fail", object, "", "failed");
	c->found = 2;
	return err;
}

/* The request body: the destination opened from the vault (and the IIN
 * with an IBAN), built by the codec, kept in c->body only. */
static enum senim_result build_body(struct store_tx *tx, struct claim *c, int *unusable,
				    const char **reason)
{
	struct payout_pass *p = c->p;
	struct vault_dek *dek = NULL;
	struct store_rows *r = NULL;
	struct buf dest;
	json_t *id = NULL, *req = NULL;
	char why[CODEC_REASON_MAX] = "";
	buf_init(&dest, BUF_NO_LIMIT);
	*unusable = 0;
	enum senim_result err = store_query_one(
		tx, "SELECT payout_kind, payout_sealed FROM applications WHERE id = $1",
		(struct store_val[]){ SV_TEXT(c->app) }, 1, &r);
	if (err)
		goto fail;
	int card = strcmp(store_rows_text(r, 0, NULL), "account") != 0;
	size_t n = 0;
	const void *sealed = store_rows_blob(r, 1, &n);
	err = vault_dek_load(tx, p->kr, c->subject, &dek);
	if (!err)
		err = vault_open_blob(dek, c->subject, "application", c->app, 1, sealed,
				      n, &dest);
	if (err)
		goto fail;
	struct payment_payout pp = {
		.operation_key = c->key,
		.amount_tiyn = c->amount,
		.contract_ref = c->app,
	};
	struct buf token;
	buf_init(&token, 256);
	if (card) {
		/* payout/1 pays a card only by the provider's token: the
		 * application names a card bound at the provider
		 * (lending/cards.h).  An application from before the binding
		 * holds the card number the borrower typed, which never
		 * leaves: it cannot be paid. */
		err = buf_add(&dest, "", 1); /* NUL-terminated for the check */
		if (!err && !card_id_valid(dest.data)) {
			*unusable = 1;
			*reason = "card_not_tokenised";
			goto fail_token;
		}
		if (!err)
			err = cards_token_in(tx, dek, c->subject, dest.data, &token);
		if (!err)
			err = buf_add(&token, "", 1);
		if (err == SENIM_ERR_NOT_FOUND) {
			*unusable = 1;
			*reason = "card_not_bound";
			err = SENIM_OK;
			goto fail_token;
		}
		if (err)
			goto fail_token;
		pp.dest = PAYMENT_DEST_CARD_TOKEN;
		pp.card_token = token.data;
		/* What goes: no IIN with a card (payment.h). */
		snprintf(c->fields, sizeof(c->fields), "%s",
			 "loan.contract_number,loan.amount_tiyn,loan.payout_destination");
		snprintf(c->cats, sizeof(c->cats), "%s", "loan");
	} else {
		err = subjects_latest_fields_in(tx, dek, c->subject, CATEGORY_IDENTITY,
						&id);
		if (err)
			goto fail_token;
		pp.dest = PAYMENT_DEST_IBAN;
		pp.iban = dest.data;
		pp.holder_iin = json_string_value(json_object_get(id, "iin"));
	}
	err = payment_payout_request(&pp, &req, why);
	if (err == SENIM_ERR_INVALID) {
		*unusable = 1;
		*reason = "invalid_request";
		err = SENIM_OK;
		goto fail_token;
	}
	if (!err)
		err = codec_dump(req, &c->body, &c->body_len);
fail_token:
	buf_release_wiped(&token);
fail:
	json_decref(req);
	json_decref(id);
	buf_release_wiped(&dest);
	vault_dek_free(dek);
	store_rows_free(r);
	return err;
}

/* Rows already made (confirmed, or sent before and due again) whose lease
 * has run out, of applications still signed. */
static const char DUE_ROWS[] =
	"SELECT p.application_id, p.subject_id, p.amount_tiyn, p.attempts, p.state"
	" FROM payouts p JOIN applications a ON a.id = p.application_id"
	" WHERE p.state IN ('confirmed', 'sending', 'accepted') AND p.next_at <= $1"
	" AND (p.lease_until IS NULL OR p.lease_until < $1) AND a.state = 'signed'"
	" ORDER BY p.next_at, p.application_id LIMIT 1";
/* Applications signed without a hold, due, with no row yet. */
static const char DUE_NEW[] =
	"SELECT a.id, a.subject_id, o.amount_tiyn - o.fee_tiyn, 0, 'new'"
	" FROM applications a JOIN contracts c ON c.application_id = a.id"
	" JOIN offers o ON o.application_id = a.id"
	" WHERE a.state = 'signed' AND a.payout_due_at <= $1"
	" AND COALESCE(c.hold_minutes, 0) = 0"
	" AND NOT EXISTS (SELECT 1 FROM payouts p WHERE p.application_id = a.id)"
	" ORDER BY a.payout_due_at, a.id LIMIT 1";

static enum senim_result take(struct store_tx *tx, struct claim *c, const char *sql,
			      int *got)
{
	struct store_rows *r = NULL;
	*got = 0;
	enum senim_result err =
		store_query_one(tx, sql, (struct store_val[]){ SV_INT(c->now) }, 1, &r);
	if (err == SENIM_ERR_NOT_FOUND)
		return SENIM_OK;
	if (err)
		return err;
	snprintf(c->app, sizeof(c->app), "%s", store_rows_text(r, 0, NULL));
	snprintf(c->subject, sizeof(c->subject), "%s", store_rows_text(r, 1, NULL));
	c->amount = store_rows_int(r, 2);
	c->attempts = store_rows_int(r, 3);
	c->ask = strcmp(store_rows_text(r, 4, NULL), "accepted") == 0;
	int fresh = strcmp(store_rows_text(r, 4, NULL), "new") == 0;
	store_rows_free(r);
	key_of(c->app, c->key);
	*got = 1;
	if (!fresh)
		return SENIM_OK;
	/* A payout that needs no confirmation: its row is made by its first
	 * claim, in this transaction. */
	return store_exec(
		tx,
		"INSERT INTO payouts (application_id, subject_id, operation_key,"
		" amount_tiyn, state, attempts, next_at, created_at, updated_at,"
		" request_id) VALUES ($1, $2, $3, $4, 'sending', 0, $5, $5, $5, $6)",
		(struct store_val[]){ SV_TEXT(c->app), SV_TEXT(c->subject),
				      SV_TEXT(c->key), SV_INT(c->amount), SV_INT(c->now),
				      SV_TEXT(c->p->request_id) },
		6, NULL);
}

static enum senim_result claim_tx(struct store_tx *tx, void *arg)
{
	struct claim *c = arg;
	struct payout_pass *p = c->p;
	int got = 0;
	c->found = 0;
	c->ask = 0;
	/* Rows already made (confirmed, or sent before and due again), then
	 * applications due with no hold and no row yet. */
	enum senim_result err = take(tx, c, DUE_ROWS, &got);
	if (!err && !got)
		err = take(tx, c, DUE_NEW, &got);
	if (err || !got)
		return err;
	c->attempts++;
	err = store_exec(
		tx,
		"UPDATE payouts SET state = CASE WHEN state = 'confirmed' THEN 'sending'"
		" ELSE state END, attempts = $2, lease_owner = $3, lease_until = $4,"
		" updated_at = $5 WHERE application_id = $1",
		(struct store_val[]){
			SV_TEXT(c->app), SV_INT(c->attempts), SV_TEXT(p->owner),
			SV_INT(c->now + lease_ms(c->rc) * 1000), SV_INT(c->now) },
		5, NULL);
	if (err)
		return err;
	snprintf(c->fields, sizeof(c->fields), "%s",
		 "loan.contract_number,loan.amount_tiyn,loan.payout_destination,"
		 "identity.iin");
	snprintf(c->cats, sizeof(c->cats), "%s", "loan,identity");
	/* U2 as the lender's own processing: the subject's block, restriction
	 * and consents decide, and the processor's agreement (T5). */
	struct subject_state state;
	struct exchange_decision d;
	err = subjects_state_in(tx, c->subject, &state);
	if (err)
		return err;
	struct exchange_question q = { .recipient = c->rc->code,
				       .service = c->svc->code,
				       .by_system = 1,
				       .purpose = PURPOSE,
				       .state = &state };
	err = exchange_decide(p->recipients, p->matrix, &q, &d);
	if (err)
		return err;
	if (d.refused.why != ACCESS_GRANTED)
		return fail_at_claim(tx, c, access_result_code(d.refused.why));
	int unusable = 0;
	const char *reason = NULL;
	err = build_body(tx, c, &unusable, &reason);
	if (err)
		return err;
	if (unusable)
		return fail_at_claim(tx, c, reason);
	char object[APPLICATION_ID_LEN + 40];
	snprintf(object, sizeof(object), "application:%s:attempt:%lld", c->app,
		 (long long)c->attempts);
	err = audit(tx, p->kr, "system:payout", p->request_id, c->subject, "payout.send",
		    object, "identity", "success");
	if (!err)
		c->found = 1;
	return err;
}

/* ---- send ---------------------------------------------------------------------------- */

struct waiter {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int done;
	const struct claim *c;
	/* out */
	struct payment_answer a;
	struct codec_verdict v;
	enum retry_code code;
	long http_status;
	int may_have_reached;
};

static enum retry_check check_answer(struct hub_call *call, const char *body, size_t len)
{
	struct waiter *w = call->arg;
	if (payment_payout_parse(body, len, w->c->key, w->c->amount,
				 clock_now_us() / 1000000, &w->a, &w->v))
		return RETRY_CHECK_INVALID;
	if (w->v.status == CODEC_WRONG_SUBJECT)
		return RETRY_CHECK_WRONG_SUBJECT;
	return w->v.status == CODEC_OK ? RETRY_CHECK_OK : RETRY_CHECK_INVALID;
}

static void answered(struct hub_call *call, const struct hub_outcome *o)
{
	struct waiter *w = call->arg;
	pthread_mutex_lock(&w->mu);
	w->code = o->code;
	w->http_status = o->http_status;
	w->may_have_reached = o->may_have_reached;
	w->done = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

static void send_payout(struct payout_pass *p, const struct claim *c, struct waiter *w)
{
	char path[PAYMENT_STATUS_PATH_SIZE];
	payment_status_path(c->key, path);
	w->c = c;
	w->v.status = CODEC_INVALID_ANSWER;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	struct hub_call call = {
		.recipient = c->rc,
		.path = c->ask ? path : PAYMENT_PATH,
		.body = c->ask ? NULL : c->body,
		.body_len = c->ask ? 0 : c->body_len,
		.get = c->ask,
		.idempotency_key = c->key,
		.request_id = p->request_id,
		.deadline = clock_mono_us() +
			    (int64_t)(c->rc->timeout_ms + c->rc->connect_timeout_ms) *
				    HUB_ATTEMPTS * 1000,
		.max_attempts = HUB_ATTEMPTS,
		.check = check_answer,
		.done = answered,
		.arg = w,
	};
	if (hub_submit(p->hub, &call)) {
		w->code = RETRY_UNAVAILABLE;
		w->may_have_reached = 0;
	} else {
		pthread_mutex_lock(&w->mu);
		while (!w->done)
			pthread_cond_wait(&w->cv, &w->mu);
		pthread_mutex_unlock(&w->mu);
	}
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
}

/* ---- settle -------------------------------------------------------------------------- */

struct settle {
	struct payout_pass *p;
	const struct claim *c;
	const struct waiter *w;
	int64_t now;
	/* out */
	int outcome; /* 0 nothing (lease lost), else which totals++ */
	char loan_id[LOAN_ID_LEN];
};

enum {
	SETTLED_PAID = 1,
	SETTLED_WAITING,
	SETTLED_RETRY,
	SETTLED_FAILED,
	SETTLED_REFUSED
};

static enum senim_result entry(struct store_tx *tx, const struct settle *s,
			       enum register_outcome outcome, const char *reason)
{
	const struct claim *c = s->c;
	return register_append(
		tx, s->p->kr,
		&(struct disclosure){ .subject_id = c->subject,
				      .direction = REGISTER_OUT,
				      .recipient = c->rc,
				      .service = c->svc->code,
				      .categories = c->cats,
				      .fields = c->fields,
				      .purpose = PURPOSE,
				      .basis = c->svc->basis,
				      .legal_ref = c->svc->legal_ref,
				      .outcome = outcome,
				      .reason = reason,
				      .may_have_reached = outcome == REGISTER_FAILED &&
							  s->w->may_have_reached,
				      .request_id = s->p->request_id,
				      .actor = "system:payout" },
		NULL);
}

/* The row's end: `failed` or `refused`, with the register and audit. */
static enum senim_result finish(struct store_tx *tx, struct settle *s, const char *state,
				const char *reason)
{
	const struct claim *c = s->c;
	char object[APPLICATION_ID_LEN + 16];
	snprintf(object, sizeof(object), "application:%s", c->app);
	enum senim_result err = store_exec(
		tx,
		"UPDATE payouts SET state = $2, reason = $3, lease_owner = NULL,"
		" lease_until = NULL, updated_at = $4 WHERE application_id = $1",
		(struct store_val[]){ SV_TEXT(c->app), SV_TEXT(state), SV_TEXT(reason),
				      SV_INT(s->now) },
		4, NULL);
	if (!err)
		err = entry(tx, s, REGISTER_FAILED, reason);
	if (!err)
		err = audit(
			tx, s->p->kr, "system:payout", s->p->request_id, c->subject,
			strcmp(state, "refused") == 0 ? "payout.refuse" : "payout.fail",
			object, "", strcmp(state, "refused") == 0 ? "denied" : "failed");
	s->outcome = strcmp(state, "refused") == 0 ? SETTLED_REFUSED : SETTLED_FAILED;
	return err;
}

/* Paid: the loan opened on the payout day with the schedule signed, its
 * `issued` event, the application disbursed, all in this transaction. */
static enum senim_result complete(struct store_tx *tx, struct settle *s)
{
	const struct claim *c = s->c;
	struct payout_pass *p = s->p;
	struct store_rows *r = NULL;
	struct vault_dek *dek = NULL;
	struct loan_open *lo = calloc(1, sizeof(*lo));
	char number[LOAN_CONTRACT_MAX + 1] = "";
	if (!lo)
		return SENIM_ERR_NOMEM;
	enum senim_result err = store_query_one(
		tx,
		"SELECT o.amount_tiyn, o.term_days, o.payments, o.rate_bp, c.method,"
		" c.number FROM offers o JOIN contracts c ON c.application_id ="
		" o.application_id WHERE o.application_id = $1",
		(struct store_val[]){ SV_TEXT(c->app) }, 1, &r);
	if (err)
		goto fail;
	int method = loan_method_parse(store_rows_text(r, 4, NULL));
	snprintf(number, sizeof(number), "%s", store_rows_text(r, 5, NULL));
	int32_t day = clock_kz_day(s->w->a.completed_at * 1000000);
	int y, m, d;
	char date[11];
	schedule_ymd(day, &y, &m, &d);
	snprintf(date, sizeof(date), "%04d-%02d-%02d", y, m, d);
	struct loan_rules_in_force f;
	char why[256];
	if (method < 0 || !p->rules ||
	    loan_rules_in_force(p->rules, date, &f, why, sizeof(why))) {
		err = SENIM_ERR_INVALID;
		goto fail;
	}
	*lo = (struct loan_open){
		.kr = p->kr,
		.actor = "system:payout",
		.request_id = p->request_id,
		.subject_id = c->subject,
		.application_id = c->app,
		.contract_number = number,
		.terms = { .principal = store_rows_int(r, 0),
			   .rate_bp = (int32_t)store_rows_int(r, 3),
			   .method = (enum schedule_method)method,
			   .start = day,
			   .penalty_daily_bp = (int32_t)f.penalty_daily_bp,
			   .penalty_annual_bp = (int32_t)f.penalty_annual_bp },
		.payments = (int32_t)store_rows_int(r, 2),
		.days = (int32_t)store_rows_int(r, 1),
	};
	err = loan_open_tx(tx, lo);
	if (err)
		goto fail;
	const struct loan *l = &lo->loan;
	snprintf(s->loan_id, sizeof(s->loan_id), "%s", l->id);
	err = vault_dek_load(tx, p->kr, c->subject, &dek);
	int recorded = 0;
	if (!err)
		err = loan_events_append_tx(
			tx, p->kr, dek,
			&(struct loan_event_new){ .subject_id = c->subject,
						  .contract_number = number,
						  .event = BUREAU_EVENT_ISSUED,
						  .occurred_on = day,
						  .amount_tiyn = lo->terms.principal,
						  .outstanding_tiyn = lo->terms.principal,
						  .overdue_days = 0,
						  .has_due = 1,
						  .due = l->rows[l->nrows - 1].due,
						  .actor = "system:payout",
						  .request_id = p->request_id },
			&recorded);
	if (!err)
		err = store_exec(
			tx,
			"UPDATE applications SET state = 'disbursed', updated_at = $2"
			" WHERE id = $1",
			(struct store_val[]){ SV_TEXT(c->app), SV_INT(s->now) }, 2, NULL);
	if (!err)
		err = store_exec(
			tx,
			"UPDATE payouts SET state = 'paid', provider_ref = $2, loan_id = "
			"$3,"
			" lease_owner = NULL, lease_until = NULL, updated_at = $4"
			" WHERE application_id = $1",
			(struct store_val[]){ SV_TEXT(c->app),
					      SV_TEXT(s->w->a.provider_ref),
					      SV_TEXT(l->id), SV_INT(s->now) },
			4, NULL);
	if (!err)
		err = entry(tx, s, REGISTER_DELIVERED, NULL);
	if (!err) {
		char object[APPLICATION_ID_LEN + LOAN_ID_LEN + 24];
		snprintf(object, sizeof(object), "application:%s:loan:%s", c->app, l->id);
		err = audit(tx, p->kr, "system:payout", p->request_id, c->subject,
			    "payout.complete", object, "", "success");
	}
	s->outcome = SETTLED_PAID;
fail:
	sodium_memzero(number, sizeof(number));
	vault_dek_free(dek);
	store_rows_free(r);
	free(lo);
	return err;
}

static int64_t backoff_ms(int64_t attempts)
{
	int64_t ms = PAYOUT_BACKOFF_MS;
	for (int64_t i = 1; i < attempts && ms < BACKOFF_CAP_MS; i++)
		ms *= 2;
	return ms < BACKOFF_CAP_MS ? ms : BACKOFF_CAP_MS;
}

static enum senim_result settle_tx(struct store_tx *tx, void *arg)
{
	struct settle *s = arg;
	const struct claim *c = s->c;
	const struct waiter *w = s->w;
	struct store_rows *r = NULL;
	s->outcome = 0;
	/* Only while the lease is still ours: after it ran out, another claim
	 * owns the payout (and sends the same key). */
	enum senim_result err = store_query_one(
		tx,
		"SELECT state FROM payouts WHERE application_id = $1 AND lease_owner = $2"
		" AND lease_until >= $3 AND state IN ('sending', 'accepted')",
		(struct store_val[]){ SV_TEXT(c->app), SV_TEXT(s->p->owner),
				      SV_INT(s->now) },
		3, &r);
	store_rows_free(r);
	if (err == SENIM_ERR_NOT_FOUND)
		return SENIM_OK;
	if (err)
		return err;
	if (w->code == RETRY_WRONG_SUBJECT || w->v.status == CODEC_WRONG_SUBJECT)
		return finish(tx, s, "refused", "wrong_subject");
	if (w->code == RETRY_OK && w->v.status == CODEC_OK) {
		if (w->a.status == PAYMENT_COMPLETED)
			return complete(tx, s);
		if (w->a.status == PAYMENT_REJECTED)
			return finish(tx, s, "failed", "provider_rejected");
		s->outcome = SETTLED_WAITING;
		return store_exec(
			tx,
			"UPDATE payouts SET state = 'accepted', provider_ref = $2,"
			" lease_owner = NULL, lease_until = NULL, next_at = $3, "
			"updated_at = $4"
			" WHERE application_id = $1",
			(struct store_val[]){ SV_TEXT(c->app), SV_TEXT(w->a.provider_ref),
					      SV_INT(s->now + PAYOUT_BACKOFF_MS * 1000LL),
					      SV_INT(s->now) },
			4, NULL);
	}
	/* The status read of a payout the provider does not know: the POST
	 * never reached it; send it (same key). */
	int unknown = c->ask && w->code == RETRY_HTTP_4XX && w->http_status == 404;
	if (w->code == RETRY_HTTP_4XX && !unknown)
		return finish(tx, s, "failed", "provider_refused");
	if (c->attempts >= PAYOUT_ATTEMPTS_MAX)
		return finish(tx, s, "failed", "attempts_exhausted");
	s->outcome = SETTLED_RETRY;
	return store_exec(
		tx,
		"UPDATE payouts SET state = CASE WHEN $5 = 1 THEN 'sending' ELSE"
		" state END, lease_owner = NULL, lease_until = NULL, next_at = $2,"
		" reason = $3, updated_at = $4 WHERE application_id = $1",
		(struct store_val[]){ SV_TEXT(c->app),
				      SV_INT(s->now + backoff_ms(c->attempts) * 1000),
				      SV_TEXT(retry_code_name(w->code)), SV_INT(s->now),
				      SV_INT(unknown) },
		5, NULL);
}

/* ---- expiry ------------------------------------------------------------------------- */

/* Signed with a hold, the hold over confirm_days ago ($1 = now less them),
 * never confirmed (no row). */
static const char DUE_EXPIRED[] =
	"SELECT a.id, a.subject_id, o.amount_tiyn - o.fee_tiyn"
	" FROM applications a JOIN contracts c ON c.application_id = a.id"
	" JOIN offers o ON o.application_id = a.id"
	" WHERE a.state = 'signed' AND COALESCE(c.hold_minutes, 0) > 0"
	" AND a.payout_due_at <= $1"
	" AND NOT EXISTS (SELECT 1 FROM payouts p WHERE p.application_id = a.id)"
	" ORDER BY a.payout_due_at, a.id LIMIT $2";

struct expiry {
	struct payout_pass *p;
	int64_t now, before;
	size_t n; /* out: how many were withdrawn (expire_tx), or due (read) */
};

static enum senim_result expired_due_tx(struct store_tx *tx, void *arg)
{
	struct expiry *e = arg;
	struct store_rows *r = NULL;
	e->n = 0;
	enum senim_result err = store_query_one(
		tx, DUE_EXPIRED, (struct store_val[]){ SV_INT(e->before), SV_INT(1) }, 2,
		&r);
	store_rows_free(r);
	if (err == SENIM_ERR_NOT_FOUND)
		return SENIM_OK;
	if (!err)
		e->n = 1;
	return err;
}

struct expired_app {
	char app[APPLICATION_ID_LEN];
	char subject[SUBJECT_ID_LEN];
	int64_t amount;
};

/* One application withdrawn as its borrower's cancellation would, the
 * payout's row made `cancelled` (reason confirmation_expired) so a late
 * confirmation is told why. */
static enum senim_result expire_one(struct store_tx *tx, const struct expiry *e,
				    const struct expired_app *x)
{
	struct payout_pass *p = e->p;
	char key[PAYMENT_KEY_SIZE];
	char object[APPLICATION_ID_LEN + 48];
	key_of(x->app, key);
	enum senim_result err = store_exec(
		tx,
		"UPDATE applications SET state = 'withdrawn', updated_at = $2"
		" WHERE id = $1 AND state = 'signed'",
		(struct store_val[]){ SV_TEXT(x->app), SV_INT(e->now) }, 2, NULL);
	if (!err)
		err = store_exec(
			tx,
			"INSERT INTO payouts (application_id, subject_id, operation_key,"
			" amount_tiyn, state, attempts, next_at, reason, created_at,"
			" updated_at, request_id) VALUES ($1, $2, $3, $4, 'cancelled', 0,"
			" $5, 'confirmation_expired', $5, $5, $6)",
			(struct store_val[]){ SV_TEXT(x->app), SV_TEXT(x->subject),
					      SV_TEXT(key), SV_INT(x->amount),
					      SV_INT(e->now), SV_TEXT(p->request_id) },
			6, NULL);
	snprintf(object, sizeof(object), "application:%s:reason:confirmation_expired",
		 x->app);
	if (!err)
		err = audit(tx, p->kr, "system:payout", p->request_id, x->subject,
			    "payout.expire", object, "", "success");
	return err;
}

static enum senim_result expire_tx(struct store_tx *tx, void *arg)
{
	struct expiry *e = arg;
	struct store_rows *r = NULL;
	struct expired_app *xs = calloc(PAYOUT_EXPIRE_BATCH, sizeof(*xs));
	size_t n = 0;
	int has = 0;
	e->n = 0;
	if (!xs)
		return SENIM_ERR_NOMEM;
	enum senim_result err = store_query(
		tx, DUE_EXPIRED,
		(struct store_val[]){ SV_INT(e->before), SV_INT(PAYOUT_EXPIRE_BATCH) }, 2,
		&r);
	while (!err && (err = store_rows_next(r, &has)) == SENIM_OK && has &&
	       n < PAYOUT_EXPIRE_BATCH) {
		snprintf(xs[n].app, sizeof(xs[n].app), "%s", store_rows_text(r, 0, NULL));
		snprintf(xs[n].subject, sizeof(xs[n].subject), "%s",
			 store_rows_text(r, 1, NULL));
		xs[n].amount = store_rows_int(r, 2);
		n++;
	}
	store_rows_free(r);
	for (size_t i = 0; !err && i < n; i++)
		err = expire_one(tx, e, &xs[i]);
	if (!err)
		e->n = n;
	free(xs);
	return err;
}

/* The expiry of unconfirmed payouts: a read first, so an idle pass never
 * takes the writer; then batches until none is left. */
static enum senim_result expire_unconfirmed(struct payout_pass *p)
{
	if (p->confirm_days <= 0)
		return SENIM_OK;
	struct expiry e = { .p = p };
	for (;;) {
		e.now = clock_now_us();
		e.before = e.now - p->confirm_days * 86400LL * 1000000LL;
		enum senim_result err = store_read(p->store, expired_due_tx, &e);
		if (err || !e.n)
			return err;
		err = store_write(p->store, expire_tx, &e);
		if (err)
			return err;
		p->totals.expired += e.n;
		if (e.n < PAYOUT_EXPIRE_BATCH)
			return SENIM_OK;
	}
}

/* ---- the pass ------------------------------------------------------------------------ */

/* A read: is anything due?  So an idle pass never takes the writer. */
static enum senim_result due_tx(struct store_tx *tx, void *arg)
{
	struct claim *c = arg;
	const char *const sql[] = { DUE_ROWS, DUE_NEW };
	c->found = 0;
	for (size_t i = 0; i < 2 && !c->found; i++) {
		struct store_rows *r = NULL;
		enum senim_result err = store_query_one(
			tx, sql[i], (struct store_val[]){ SV_INT(c->now) }, 1, &r);
		store_rows_free(r);
		if (err == SENIM_ERR_NOT_FOUND)
			continue;
		if (err)
			return err;
		c->found = 1;
	}
	return SENIM_OK;
}

enum senim_result payout_pass_run(struct payout_pass *p)
{
	struct claim c = { .p = p };
	/* Expiry needs no provider: it runs whether or not one is set up. */
	enum senim_result xerr = expire_unconfirmed(p);
	if (xerr)
		return xerr;
	if (!find_service(p->recipients, &c.rc, &c.svc))
		return SENIM_OK;
	for (;;) {
		c.now = clock_now_us();
		enum senim_result err = store_read(p->store, due_tx, &c);
		if (err || !c.found)
			return err;
		err = store_write(p->store, claim_tx, &c);
		if (err || !c.found) {
			claim_wipe(&c);
			return err;
		}
		p->totals.claimed++;
		if (c.found == 2) {
			p->totals.failed++;
			continue;
		}
		struct waiter w = { 0 };
		send_payout(p, &c, &w);
		claim_wipe(&c);
		struct settle s = { .p = p, .c = &c, .w = &w, .now = clock_now_us() };
		err = store_write(p->store, settle_tx, &s);
		sodium_memzero(&w.a, sizeof(w.a));
		if (err)
			return err;
		switch (s.outcome) {
		case SETTLED_PAID:
			p->totals.paid++;
			break;
		case SETTLED_WAITING:
			p->totals.waiting++;
			break;
		case SETTLED_RETRY:
			p->totals.retried++;
			break;
		case SETTLED_FAILED:
			p->totals.failed++;
			break;
		case SETTLED_REFUSED:
			p->totals.refused++;
			break;
		default:
			break;
		}
	}
}

/* ---- the thread ---------------------------------------------------------------------- */

struct payout_pump {
	struct payout_pump_config cfg;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake; /* on CLOCK_MONOTONIC */
	int stopping;
	char owner[OWNER_MAX];
};

static void run_pass(struct payout_pump *pp)
{
	char request_id[4 + ID_BODY_CHARS + 1];
	id_time_ordered(request_id, "pyr_", clock_now_us() / 1000);
	struct payout_pass p = { .store = pp->cfg.store,
				 .kr = pp->cfg.kr,
				 .hub = pp->cfg.hub,
				 .recipients = pp->cfg.recipients,
				 .matrix = pp->cfg.matrix,
				 .rules = pp->cfg.rules,
				 .owner = pp->owner,
				 .request_id = request_id,
				 .confirm_days = pp->cfg.confirm_days };
	enum senim_result err = payout_pass_run(&p);
	if (err) {
		log_event(LOG_WARN, "payout_pass_failed", "error", senim_result_name(err),
			  NULL);
		return;
	}
	if (!p.totals.claimed && !p.totals.expired)
		return;
	char paid[24], failed[24], retried[24], expired[24];
	snprintf(expired, sizeof(expired), "%zu", p.totals.expired);
	snprintf(paid, sizeof(paid), "%zu", p.totals.paid);
	snprintf(failed, sizeof(failed), "%zu", p.totals.failed + p.totals.refused);
	snprintf(retried, sizeof(retried), "%zu", p.totals.retried + p.totals.waiting);
	log_event(LOG_INFO, "payout_pass", "request_id", request_id, "paid", paid,
		  "failed", failed, "again", retried, "expired", expired, NULL);
}

static void *pump_main(void *arg)
{
	struct payout_pump *pp = arg;
	pthread_mutex_lock(&pp->lock);
	while (!pp->stopping) {
		pthread_mutex_unlock(&pp->lock);
		run_pass(pp);
		pthread_mutex_lock(&pp->lock);
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += (time_t)(pp->cfg.interval_ms / 1000);
		until.tv_nsec += (long)(pp->cfg.interval_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		while (!pp->stopping &&
		       pthread_cond_timedwait(&pp->wake, &pp->lock, &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&pp->lock);
	return NULL;
}

enum senim_result payout_pump_start(const struct payout_pump_config *cfg,
				    struct payout_pump **out)
{
	*out = NULL;
	if (cfg->interval_ms <= 0 || cfg->confirm_days <= 0)
		return SENIM_ERR_INVALID;
	struct payout_pump *pp = calloc(1, sizeof(*pp));
	if (!pp)
		return SENIM_ERR_NOMEM;
	pp->cfg = *cfg;
	/* The lease's owner: this process, told apart from a restart of it. */
	char id[4 + ID_BODY_CHARS + 1];
	id_time_ordered(id, "own_", clock_now_us() / 1000);
	snprintf(pp->owner, sizeof(pp->owner), "%s", id);
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_mutex_init(&pp->lock, NULL);
	pthread_cond_init(&pp->wake, &attr);
	pthread_condattr_destroy(&attr);
	if (pthread_create(&pp->thread, NULL, pump_main, pp) != 0) {
		pthread_cond_destroy(&pp->wake);
		pthread_mutex_destroy(&pp->lock);
		free(pp);
		return SENIM_ERR_UNAVAILABLE;
	}
	*out = pp;
	return SENIM_OK;
}

void payout_pump_stop(struct payout_pump *pp)
{
	if (!pp)
		return;
	pthread_mutex_lock(&pp->lock);
	pp->stopping = 1;
	pthread_cond_signal(&pp->wake);
	pthread_mutex_unlock(&pp->lock);
	pthread_join(pp->thread, NULL);
	pthread_cond_destroy(&pp->wake);
	pthread_mutex_destroy(&pp->lock);
	free(pp);
}

/* ---- the borrower's acts --------------------------------------------------------------- */

enum senim_result payouts_act_tx(struct store_tx *tx, void *arg)
{
	struct payout_act *op = arg;
	struct application a;
	struct store_rows *r = NULL;
	char object[APPLICATION_ID_LEN + 16];
	const char *name = op->confirm ? "payout.confirm" : "payout.withdraw";
	int64_t now = clock_now_us();
	op->refusal = PAYOUT_REFUSED_NONE;
	op->replayed = 0;
	enum senim_result err = applications_load_in(tx, op->subject_id, op->id, &a);
	if (err)
		return err;
	snprintf(object, sizeof(object), "application:%s", op->id);
	if (strcmp(a.state, "signed") != 0) {
		snprintf(op->state, sizeof(op->state), "%s", a.state);
		op->refusal = PAYOUT_REFUSED_NOT_SIGNED;
		/* Withdrawn by the pump: the confirmation came too late. */
		err = store_query_one(tx,
				      "SELECT 1 FROM payouts WHERE application_id = $1"
				      " AND state = 'cancelled'"
				      " AND reason = 'confirmation_expired'",
				      (struct store_val[]){ SV_TEXT(op->id) }, 1, &r);
		store_rows_free(r);
		if (err && err != SENIM_ERR_NOT_FOUND)
			return err;
		if (!err && op->confirm)
			op->refusal = PAYOUT_REFUSED_EXPIRED;
		return audit(tx, op->kr, op->actor, op->request_id, op->subject_id, name,
			     object, "", "denied");
	}
	err = store_query_one(
		tx,
		"SELECT a.payout_due_at, COALESCE(c.hold_minutes, 0),"
		" o.amount_tiyn - o.fee_tiyn, COALESCE(p.state, ''),"
		" COALESCE(p.confirmed_at, 0), COALESCE(p.reason, '') FROM applications a"
		" JOIN contracts c ON"
		" c.application_id = a.id JOIN offers o ON o.application_id = a.id"
		" LEFT JOIN payouts p ON p.application_id = a.id WHERE a.id = $1",
		(struct store_val[]){ SV_TEXT(op->id) }, 1, &r);
	if (err)
		return err;
	op->payout_due_at = store_rows_int(r, 0);
	int64_t hold = store_rows_int(r, 1), amount = store_rows_int(r, 2);
	char pstate[16];
	snprintf(pstate, sizeof(pstate), "%s", store_rows_text(r, 3, NULL));
	op->confirmed_at = store_rows_int(r, 4);
	/* Failed for good with nothing paid (a card payout, a rejection): the
	 * borrower may still step back; after the attempts ran out the money
	 * may have gone, and support settles it first. */
	int unpaid = strcmp(pstate, "failed") == 0 &&
		     strcmp(store_rows_text(r, 5, NULL), "attempts_exhausted") != 0;
	store_rows_free(r);
	if (!op->confirm) {
		/* During the hold (or before a payout without one is claimed) the
		 * borrower may step back; once the payout is sent it may have
		 * reached the provider, and only its settlement decides. */
		if (*pstate && strcmp(pstate, "confirmed") != 0 && !unpaid) {
			op->refusal = PAYOUT_REFUSED_IN_PROGRESS;
			return audit(tx, op->kr, op->actor, op->request_id,
				     op->subject_id, name, object, "", "denied");
		}
		err = store_exec(
			tx,
			"UPDATE applications SET state = 'withdrawn', updated_at = $2"
			" WHERE id = $1",
			(struct store_val[]){ SV_TEXT(op->id), SV_INT(now) }, 2, NULL);
		/* The row ends with the application: out of support's list. */
		if (!err && (strcmp(pstate, "confirmed") == 0 || unpaid))
			err = store_exec(
				tx,
				"UPDATE payouts SET state = 'cancelled', updated_at = $2"
				" WHERE application_id = $1",
				(struct store_val[]){ SV_TEXT(op->id), SV_INT(now) }, 2,
				NULL);
		snprintf(op->state, sizeof(op->state), "withdrawn");
		if (!err)
			err = audit(tx, op->kr, op->actor, op->request_id, op->subject_id,
				    name, object, "", "success");
		return err;
	}
	if (hold == 0) {
		op->refusal = PAYOUT_REFUSED_NO_HOLD;
		return audit(tx, op->kr, op->actor, op->request_id, op->subject_id, name,
			     object, "", "denied");
	}
	if (now < op->payout_due_at) {
		/* Law 56-V art. 3 p.3-3 part 7: the confirmation counts only
		 * once the hold has passed. */
		op->refusal = PAYOUT_REFUSED_HOLD_RUNNING;
		return audit(tx, op->kr, op->actor, op->request_id, op->subject_id, name,
			     object, "", "denied");
	}
	if (*pstate) {
		op->replayed = 1;
		snprintf(op->state, sizeof(op->state), "%s", pstate);
		return audit(tx, op->kr, op->actor, op->request_id, op->subject_id, name,
			     object, "", "unchanged");
	}
	char key[PAYMENT_KEY_SIZE];
	key_of(op->id, key);
	op->confirmed_at = now;
	snprintf(op->state, sizeof(op->state), "confirmed");
	err = store_exec(
		tx,
		"INSERT INTO payouts (application_id, subject_id, operation_key,"
		" amount_tiyn, state, attempts, next_at, confirmed_at, created_at,"
		" updated_at, request_id) VALUES ($1, $2, $3, $4, 'confirmed', 0, $5,"
		" $5, $5, $5, $6)",
		(struct store_val[]){ SV_TEXT(op->id), SV_TEXT(op->subject_id),
				      SV_TEXT(key), SV_INT(amount), SV_INT(now),
				      SV_TEXT(op->request_id) },
		6, NULL);
	if (!err)
		err = audit(tx, op->kr, op->actor, op->request_id, op->subject_id, name,
			    object, "", "success");
	return err;
}

/* ---- support's view ------------------------------------------------------------------- */

enum senim_result payouts_failures_tx(struct store_tx *tx, void *arg)
{
	struct payout_failures *op = arg;
	struct store_rows *r = NULL;
	int has = 0;
	op->n = 0;
	enum senim_result err = store_query(
		tx,
		"SELECT application_id, subject_id, state, COALESCE(reason, ''), "
		"attempts,"
		" updated_at FROM payouts WHERE state IN ('failed', 'refused')"
		" ORDER BY updated_at, application_id LIMIT $1",
		(struct store_val[]){ SV_INT(PAYOUT_LIST_MAX) }, 1, &r);
	if (err)
		return err;
	while ((err = store_rows_next(r, &has)) == SENIM_OK && has &&
	       op->n < PAYOUT_LIST_MAX) {
		struct payout_failure *f = &op->rows[op->n++];
		snprintf(f->application_id, sizeof(f->application_id), "%s",
			 store_rows_text(r, 0, NULL));
		snprintf(f->subject_id, sizeof(f->subject_id), "%s",
			 store_rows_text(r, 1, NULL));
		snprintf(f->state, sizeof(f->state), "%s", store_rows_text(r, 2, NULL));
		snprintf(f->reason, sizeof(f->reason), "%s", store_rows_text(r, 3, NULL));
		f->attempts = store_rows_int(r, 4);
		f->updated_at = store_rows_int(r, 5);
	}
	store_rows_free(r);
	if (err)
		return err;
	return audit(tx, op->kr, op->actor, op->request_id, NULL, "payout.list",
		     "payouts:failed", "", "success");
}

/* ---- staff's acts on a failed payout ------------------------------------------------- */

/* The answer of a refused act: nothing changes, the refusal is audited. */
static enum senim_result staff_refuse(struct store_tx *tx, struct payout_staff_act *op,
				      const char *subject, const char *name,
				      const char *object, enum payout_staff_refusal why)
{
	op->refusal = why;
	return audit(tx, op->kr, op->actor, op->request_id, subject, name, object, "",
		     "denied");
}

enum senim_result payouts_staff_tx(struct store_tx *tx, void *arg)
{
	struct payout_staff_act *op = arg;
	struct store_rows *r = NULL;
	const char *name = op->close ? "payout.close" : "payout.retry";
	char subject[SUBJECT_ID_LEN], astate[16];
	char object[APPLICATION_ID_LEN + 64];
	int64_t now = clock_now_us();
	op->refusal = PAYOUT_STAFF_OK;
	memset(&op->refused, 0, sizeof(op->refused));
	enum senim_result err = store_query_one(
		tx,
		"SELECT p.subject_id, p.state, COALESCE(p.reason, ''), a.state"
		" FROM payouts p JOIN applications a ON a.id = p.application_id"
		" WHERE p.application_id = $1",
		(struct store_val[]){ SV_TEXT(op->id) }, 1, &r);
	if (err)
		return err;
	snprintf(subject, sizeof(subject), "%s", store_rows_text(r, 0, NULL));
	snprintf(op->state, sizeof(op->state), "%s", store_rows_text(r, 1, NULL));
	snprintf(op->reason_was, sizeof(op->reason_was), "%s",
		 store_rows_text(r, 2, NULL));
	snprintf(astate, sizeof(astate), "%s", store_rows_text(r, 3, NULL));
	store_rows_free(r);
	snprintf(object, sizeof(object), "application:%s:reason:%s", op->id, op->reason);
	/* U2: the role's own processing under loan_servicing, for this subject
	 * (its block and restriction decide too). */
	struct subject_state state;
	uint32_t categories = 0;
	err = subjects_state_in(tx, subject, &state);
	if (err)
		return err;
	enum access_result why =
		access_decide(op->matrix, op->role, PURPOSE, &state, &categories);
	if (why != ACCESS_GRANTED) {
		access_refusal_set(&op->refused, why, PURPOSE, &state);
		return staff_refuse(tx, op, subject, name, object, PAYOUT_STAFF_ACCESS);
	}
	int failed = strcmp(op->state, "failed") == 0;
	int lied = strcmp(op->state, "refused") == 0;
	if ((!failed && !lied) || strcmp(astate, "signed") != 0)
		return staff_refuse(tx, op, subject, name, object,
				    PAYOUT_STAFF_NOT_FAILED);
	/* attempts_exhausted: the last send's outcome is unknown, the money may
	 * have gone; a lie: the provider's word is worth nothing. */
	int exhausted = strcmp(op->reason_was, "attempts_exhausted") == 0;
	if (op->close) {
		if (lied || exhausted)
			return staff_refuse(tx, op, subject, name, object,
					    PAYOUT_STAFF_MAY_HAVE_PAID);
		err = store_exec(
			tx,
			"UPDATE applications SET state = 'withdrawn', updated_at = $2"
			" WHERE id = $1",
			(struct store_val[]){ SV_TEXT(op->id), SV_INT(now) }, 2, NULL);
		if (!err)
			err = store_exec(
				tx,
				"UPDATE payouts SET state = 'cancelled', updated_at = $2"
				" WHERE application_id = $1",
				(struct store_val[]){ SV_TEXT(op->id), SV_INT(now) }, 2,
				NULL);
		snprintf(op->state, sizeof(op->state), "cancelled");
	} else {
		/* The provider keeps a rejected key rejected (one payout per key):
		 * the same key cannot pay.  A lie is never sent again. */
		if (lied || strcmp(op->reason_was, "provider_rejected") == 0)
			return staff_refuse(tx, op, subject, name, object,
					    PAYOUT_STAFF_RETRY_FUTILE);
		/* After attempts_exhausted the pump reads the provider's status
		 * first (`accepted`): it sends again only on its 404. */
		const char *next = exhausted ? "accepted" : "sending";
		err = store_exec(
			tx,
			"UPDATE payouts SET state = $2, attempts = 0, next_at = $3,"
			" reason = NULL, lease_owner = NULL, lease_until = NULL,"
			" updated_at = $3 WHERE application_id = $1",
			(struct store_val[]){ SV_TEXT(op->id), SV_TEXT(next),
					      SV_INT(now) },
			3, NULL);
		snprintf(op->state, sizeof(op->state), "%s", next);
	}
	if (!err)
		err = audit(tx, op->kr, op->actor, op->request_id, subject, name, object,
			    "", "success");
	return err;
}
