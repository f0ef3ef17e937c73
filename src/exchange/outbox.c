/*
 * outbox.c — claims, leases, sends and settles of `deliver` transfers
 * (outbox.h).
 */
#include "exchange/outbox.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/log.h"
#include "connectors/hub.h"
#include "exchange/register.h"
#include "vault/vault.h"
#include "common/banned.h"

#define LEASE_SLACK_MS 5000
#define UNAVAILABLE_PAUSE_MS 1000
#define WAIT_STEP_MS 250

static int64_t now_ms(void)
{
	return clock_now_us() / 1000;
}

void outbox_owner(char out[OUTBOX_OWNER_LEN])
{
	char host[64] = "";
	if (gethostname(host, sizeof(host) - 1) != 0)
		memcpy(host, "localhost", 10);
	host[sizeof(host) - 1] = '\0';
	/* No ':' in the host part: the owner is split on it. */
	for (char *c = host; *c; c++)
		if (*c == ':')
			*c = '_';
	snprintf(out, OUTBOX_OWNER_LEN, "%s:%ld:%lld", host, (long)getpid(),
		 (long long)clock_now_us());
}

int64_t outbox_backoff_ms(int attempts, uint64_t random)
{
	return retry_backoff_ms(attempts, OUTBOX_BACKOFF_BASE_MS, OUTBOX_BACKOFF_CAP_MS,
				random);
}

int outbox_is_dead(int attempts, int64_t created_ms, int64_t now)
{
	return attempts >= OUTBOX_MAX_ATTEMPTS || now - created_ms >= OUTBOX_MAX_AGE_MS;
}

/* ---- recovery ----------------------------------------------------------------- */

/* 1 when `owner` names a process of this host other than `self` that is
 * gone: its leases need not be waited out. */
static int owner_gone(const char *owner, const char *self)
{
	char host[64] = "";
	if (gethostname(host, sizeof(host) - 1) != 0)
		return 0;
	host[sizeof(host) - 1] = '\0';
	for (char *c = host; *c; c++)
		if (*c == ':')
			*c = '_';
	size_t hl = strlen(host);
	if (strncmp(owner, host, hl) != 0 || owner[hl] != ':')
		return 0;
	if (self && strcmp(owner, self) == 0)
		return 0;
	char *end = NULL;
	long pid = strtol(owner + hl + 1, &end, 10);
	if (!end || *end != ':' || pid <= 0)
		return 0;
	if (pid == (long)getpid())
		return 1; /* this pid, another start: a previous life */
	/* A pid reused by another process looks alive: the lease is then
	 * waited out, the safe side. */
	return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

enum senim_result outbox_recover_tx(struct store_tx *tx, void *arg)
{
	struct outbox_recovery *rec = arg;
	int64_t now = now_ms();
	struct store_rows *r = NULL;
	enum senim_result err =
		store_query(tx,
			    "SELECT id, lease_owner, lease_until FROM transfers"
			    " WHERE mode = 'deliver' AND state = 'sending' ORDER BY id",
			    NULL, 0, &r);
	if (err)
		return err;
	size_t cap = 64, n = 0;
	char(*ids)[OUTBOX_ID_LEN] = malloc(cap * sizeof(*ids));
	char(*owners)[OUTBOX_OWNER_LEN] = malloc(cap * sizeof(*owners));
	int has = 0;
	if (!ids || !owners)
		err = SENIM_ERR_NOMEM;
	while (!err && (err = store_rows_next(r, &has)) == SENIM_OK && has) {
		size_t il = 0, ol = 0;
		const char *id = store_rows_text(r, 0, &il);
		const char *owner =
			store_rows_is_null(r, 1) ? "" : store_rows_text(r, 1, &ol);
		int64_t until = store_rows_is_null(r, 2) ? 0 : store_rows_int(r, 2);
		if (!id || il >= OUTBOX_ID_LEN || ol >= OUTBOX_OWNER_LEN)
			continue;
		char o[OUTBOX_OWNER_LEN];
		memcpy(o, owner, ol);
		o[ol] = '\0';
		if (rec->owner && strcmp(o, rec->owner) == 0)
			continue;
		if (until >= now && !owner_gone(o, rec->owner))
			continue;
		if (n == cap) {
			cap *= 2;
			void *a = realloc(ids, cap * sizeof(*ids));
			if (a)
				ids = a;
			void *b = realloc(owners, cap * sizeof(*owners));
			if (b)
				owners = b;
			if (!a || !b) {
				err = SENIM_ERR_NOMEM;
				break;
			}
		}
		memcpy(ids[n], id, il);
		ids[n][il] = '\0';
		memcpy(owners[n], o, ol + 1);
		n++;
	}
	store_rows_free(r);
	for (size_t i = 0; i < n && !err; i++) {
		int64_t changes = 0;
		err = store_exec(
			tx,
			"UPDATE transfers SET state = 'pending', may_have_reached = 1,"
			" lease_owner = NULL, lease_until = NULL, next_attempt_at = $3,"
			" updated_at = $3 WHERE id = $1 AND state = 'sending'"
			" AND lease_owner = $2",
			(struct store_val[]){ SV_TEXT(ids[i]), SV_TEXT(owners[i]),
					      SV_INT(now) },
			3, &changes);
		rec->recovered += (int)changes;
	}
	free(ids);
	free(owners);
	return err;
}

/* ---- claiming ------------------------------------------------------------------- */

struct batch {
	struct outbox_pump *p;
	char batch_id[OUTBOX_ID_LEN];
	struct outbox_row *rows;
	size_t n;
	/* settling */
	enum retry_code code;
	int may_have_reached;
	enum retry_check checked;
	int64_t next_due; /* out of the claim: the earliest pending row, or 0 */
};

static void copy_col(struct store_rows *r, int col, char *out, size_t cap)
{
	size_t n = 0;
	const char *t = store_rows_is_null(r, col) ? "" : store_rows_text(r, col, &n);
	if (!t)
		t = "";
	n = n < cap - 1 ? n : cap - 1;
	memcpy(out, t, n);
	out[n] = '\0';
}

static void rows_free(struct batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		if (b->rows[i].payload) {
			sodium_memzero(b->rows[i].payload, b->rows[i].payload_len);
			free(b->rows[i].payload);
		}
	free(b->rows);
	b->rows = NULL;
	b->n = 0;
}

static int64_t lease_ms(const struct recipient *rc)
{
	return 2LL * rc->timeout_ms + LEASE_SLACK_MS;
}

/* Open each row's payload with its subject's key. */
static enum senim_result open_payloads(struct store_tx *tx, struct batch *b)
{
	struct vault_dek *dek = NULL;
	char dek_of[OUTBOX_ID_LEN] = "";
	enum senim_result err = SENIM_OK;
	struct store_rows *r = NULL;
	for (size_t i = 0; i < b->n && !err; i++) {
		struct outbox_row *row = &b->rows[i];
		if (strcmp(dek_of, row->subject_id) != 0) {
			vault_dek_free(dek);
			dek = NULL;
			err = vault_dek_load(tx, b->p->kr, row->subject_id, &dek);
			if (err)
				break;
			memcpy(dek_of, row->subject_id, sizeof(dek_of));
		}
		err = store_query_one(tx, "SELECT payload FROM transfers WHERE id = $1",
				      (struct store_val[]){ SV_TEXT(row->id) }, 1, &r);
		if (err)
			break;
		size_t len = 0;
		const void *blob = store_rows_blob(r, 0, &len);
		struct buf plain;
		buf_init(&plain, BUF_NO_LIMIT);
		err = vault_open_blob(dek, row->subject_id, "transfer", row->id, 0, blob,
				      len, &plain);
		store_rows_free(r);
		r = NULL;
		if (err) {
			buf_release_wiped(&plain);
			break;
		}
		row->payload = buf_detach(&plain, &row->payload_len);
	}
	vault_dek_free(dek);
	return err;
}

static enum senim_result claim_tx(struct store_tx *tx, void *arg)
{
	struct batch *b = arg;
	struct outbox_pump *p = b->p;
	int64_t now = now_ms();
	const char *rc = p->recipient->code, *svc = p->service->code;
	struct store_rows *r = NULL;
	b->batch_id[0] = '\0';
	b->next_due = 0;
	enum senim_result err = store_query_one(
		tx,
		"SELECT batch_id, next_attempt_at FROM transfers WHERE mode = 'deliver'"
		" AND recipient = $1 AND service = $2 AND state = 'pending'"
		" ORDER BY next_attempt_at, id LIMIT 1",
		(struct store_val[]){ SV_TEXT(rc), SV_TEXT(svc) }, 2, &r);
	if (err == SENIM_ERR_NOT_FOUND)
		return SENIM_OK;
	if (err)
		return err;
	int64_t due = store_rows_int(r, 1);
	copy_col(r, 0, b->batch_id, sizeof(b->batch_id));
	store_rows_free(r);
	r = NULL;
	if (due > now) {
		b->next_due = due;
		b->batch_id[0] = '\0';
		return SENIM_OK;
	}
	err = store_exec(tx,
			 "UPDATE transfers SET state = 'sending', lease_owner = $3,"
			 " lease_until = $4, updated_at = $5 WHERE batch_id = $1"
			 " AND recipient = $2 AND state = 'pending'",
			 (struct store_val[]){
				 SV_TEXT(b->batch_id), SV_TEXT(rc), SV_TEXT(p->owner),
				 SV_INT(now + lease_ms(p->recipient)), SV_INT(now) },
			 5, NULL);
	if (err)
		return err;
	err = store_query(
		tx,
		"SELECT id, subject_id, idempotency_key, service, purpose,"
		" consent_id, categories, fields, request_id, actor, attempts,"
		" created_at, may_have_reached FROM transfers WHERE batch_id = $1"
		" AND recipient = $2 AND state = 'sending' AND lease_owner = $3"
		" ORDER BY id",
		(struct store_val[]){ SV_TEXT(b->batch_id), SV_TEXT(rc),
				      SV_TEXT(p->owner) },
		3, &r);
	if (err)
		return err;
	b->rows = calloc(OUTBOX_BATCH_MAX, sizeof(*b->rows));
	if (!b->rows) {
		store_rows_free(r);
		return SENIM_ERR_NOMEM;
	}
	int has = 0;
	while (b->n < OUTBOX_BATCH_MAX && (err = store_rows_next(r, &has)) == SENIM_OK &&
	       has) {
		struct outbox_row *row = &b->rows[b->n++];
		copy_col(r, 0, row->id, sizeof(row->id));
		copy_col(r, 1, row->subject_id, sizeof(row->subject_id));
		copy_col(r, 2, row->key, sizeof(row->key));
		copy_col(r, 3, row->service, sizeof(row->service));
		copy_col(r, 4, row->purpose, sizeof(row->purpose));
		row->has_consent = !store_rows_is_null(r, 5);
		copy_col(r, 5, row->consent_id, sizeof(row->consent_id));
		copy_col(r, 6, row->categories, sizeof(row->categories));
		copy_col(r, 7, row->fields, sizeof(row->fields));
		copy_col(r, 8, row->request_id, sizeof(row->request_id));
		copy_col(r, 9, row->actor, sizeof(row->actor));
		row->attempts = (int)store_rows_int(r, 10);
		row->created_at = store_rows_int(r, 11);
		row->may_have_reached = (int)store_rows_int(r, 12);
	}
	store_rows_free(r);
	if (err)
		return err;
	return open_payloads(tx, b);
}

/* ---- settling ------------------------------------------------------------------- */

static int retryable(enum retry_code c)
{
	return c == RETRY_CONNECT || c == RETRY_TRANSPORT || c == RETRY_HTTP_5XX ||
	       c == RETRY_HTTP_429 || c == RETRY_INVALID_ANSWER;
}

static enum senim_result register_row(struct store_tx *tx, const struct batch *b,
				      const struct outbox_row *row,
				      enum register_outcome outcome, const char *reason,
				      int may_have_reached)
{
	const struct outbox_pump *p = b->p;
	int purpose = purpose_parse(row->purpose);
	if (purpose < 0)
		return SENIM_ERR_STORE;
	struct disclosure e = {
		.subject_id = row->subject_id,
		.direction = REGISTER_OUT,
		.recipient = p->recipient,
		.service = row->service,
		.categories = row->categories,
		.fields = row->fields,
		.purpose = (enum purpose)purpose,
		.basis = p->service->basis,
		.consent_id = row->has_consent ? row->consent_id : NULL,
		.legal_ref = p->service->legal_ref,
		.outcome = outcome,
		.reason = reason,
		.may_have_reached = may_have_reached,
		.transfer_id = row->id,
		.request_id = row->request_id,
		.actor = row->actor,
	};
	return register_append(tx, p->kr, &e, NULL);
}

static enum senim_result settle_row(struct store_tx *tx, struct batch *b,
				    const struct outbox_row *row, int64_t now)
{
	struct outbox_pump *p = b->p;
	int mhr = row->may_have_reached || b->may_have_reached;
	const char *state, *reason = NULL;
	int attempts = row->attempts + 1;
	int64_t next = now;
	enum register_outcome outcome = REGISTER_FAILED;
	if (b->code == RETRY_OK && row->result == OUTBOX_ROW_DELIVERED) {
		state = "delivered";
		outcome = REGISTER_DELIVERED;
	} else if (b->code == RETRY_OK) {
		state = "failed";
		reason = row->reason[0] ? row->reason : "rejected";
	} else if (b->code == RETRY_UNAVAILABLE) {
		/* Nothing was tried (the circuit is open, the hub stopped): no
		 * attempt counted. */
		state = "pending";
		attempts = row->attempts;
		next = now + UNAVAILABLE_PAUSE_MS;
		reason = retry_code_name(b->code);
	} else if (retryable(b->code)) {
		reason = retry_code_name(b->code);
		if (outbox_is_dead(attempts, row->created_at, now)) {
			state = "dead";
		} else {
			uint64_t rnd = 0;
			randombytes_buf(&rnd, sizeof(rnd));
			state = "pending";
			next = now + outbox_backoff_ms(attempts, rnd);
		}
	} else {
		state = "failed";
		reason = retry_code_name(b->code);
	}
	int64_t changes = 0;
	enum senim_result err = store_exec(
		tx,
		"UPDATE transfers SET state = $3, attempts = $4, next_attempt_at = $5,"
		" may_have_reached = $6, last_error = $7, lease_owner = NULL,"
		" lease_until = NULL, updated_at = $8"
		" WHERE id = $1 AND state = 'sending' AND lease_owner = $2",
		(struct store_val[]){ SV_TEXT(row->id), SV_TEXT(p->owner), SV_TEXT(state),
				      SV_INT(attempts), SV_INT(next), SV_INT(mhr),
				      reason ? SV_TEXT(reason) : SV_NULL(), SV_INT(now) },
		8, &changes);
	if (err || changes != 1)
		return err; /* the lease was lost: the row is another's now */
	if (strcmp(state, "pending") == 0)
		return SENIM_OK;
	if (strcmp(state, "delivered") == 0)
		p->delivered++;
	else if (strcmp(state, "dead") == 0)
		p->dead++;
	else
		p->failed++;
	return register_row(tx, b, row, outcome, reason, mhr);
}

static enum senim_result settle_tx(struct store_tx *tx, void *arg)
{
	struct batch *b = arg;
	struct outbox_pump *p = b->p;
	size_t delivered = p->delivered, failed = p->failed, dead = p->dead;
	int64_t now = now_ms();
	enum senim_result err = SENIM_OK;
	for (size_t i = 0; i < b->n && !err; i++)
		err = settle_row(tx, b, &b->rows[i], now);
	if (err) { /* undone with the transaction */
		p->delivered = delivered;
		p->failed = failed;
		p->dead = dead;
	}
	return err;
}

/* ---- sending -------------------------------------------------------------------- */

struct waiter {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int done;
	struct batch *b;
};

static enum retry_check check_answer(struct hub_call *call, const char *body, size_t len)
{
	struct waiter *w = call->arg;
	struct batch *b = w->b;
	b->checked = b->p->api->check(body, len, b->rows, b->n);
	return b->checked;
}

static void answered(struct hub_call *call, const struct hub_outcome *o)
{
	struct waiter *w = call->arg;
	pthread_mutex_lock(&w->mu);
	w->b->code = o->code;
	w->b->may_have_reached = o->may_have_reached;
	w->done = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

static enum senim_result send_batch(struct batch *b)
{
	struct outbox_pump *p = b->p;
	char *body = NULL;
	size_t len = 0;
	enum senim_result err = p->api->build(b->rows, b->n, &body, &len);
	if (err)
		return err;
	struct waiter w = { .b = b };
	pthread_mutex_init(&w.mu, NULL);
	pthread_cond_init(&w.cv, NULL);
	b->checked = RETRY_CHECK_INVALID;
	struct hub_call call = {
		.recipient = p->recipient,
		.path = p->service->path,
		.body = body,
		.body_len = len,
		.idempotency_key = b->batch_id,
		.request_id = b->rows[0].request_id,
		.deadline = clock_mono_us() + ((int64_t)p->recipient->timeout_ms +
					       p->recipient->connect_timeout_ms) *
						      1000,
		.max_attempts = 1,
		.check = check_answer,
		.done = answered,
		.arg = &w,
	};
	if (hub_submit(p->hub, &call)) {
		b->code = RETRY_UNAVAILABLE;
		b->may_have_reached = 0;
	} else {
		pthread_mutex_lock(&w.mu);
		while (!w.done)
			pthread_cond_wait(&w.cv, &w.mu);
		pthread_mutex_unlock(&w.mu);
	}
	pthread_cond_destroy(&w.cv);
	pthread_mutex_destroy(&w.mu);
	sodium_memzero(body, len);
	free(body);
	return SENIM_OK;
}

static void sleep_ms(int64_t ms)
{
	if (ms <= 0)
		return;
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

struct counting {
	const struct outbox_pump *p;
	size_t left;
};

static enum senim_result count_left(struct store_tx *tx, void *arg)
{
	struct counting *c = arg;
	struct store_rows *r = NULL;
	enum senim_result err = store_query_one(
		tx,
		"SELECT count(*) FROM transfers WHERE mode = 'deliver' AND recipient = $1"
		" AND service = $2 AND state IN ('pending', 'sending')",
		(struct store_val[]){ SV_TEXT(c->p->recipient->code),
				      SV_TEXT(c->p->service->code) },
		2, &r);
	if (err)
		return err;
	c->left = (size_t)store_rows_int(r, 0);
	store_rows_free(r);
	return SENIM_OK;
}

enum senim_result outbox_pump_run(struct outbox_pump *p)
{
	if (!p->store || !p->kr || !p->hub || !p->recipient || !p->service || !p->api ||
	    !p->owner)
		return SENIM_ERR_INVALID;
	enum senim_result err = SENIM_OK;
	for (;;) {
		struct batch b = { .p = p };
		err = store_write(p->store, claim_tx, &b);
		if (err) {
			rows_free(&b);
			break;
		}
		if (!b.n) {
			rows_free(&b);
			/* A crashed run's leases may have expired meanwhile. */
			struct outbox_recovery rec = { .owner = p->owner };
			err = store_write(p->store, outbox_recover_tx, &rec);
			if (err)
				break;
			if (rec.recovered)
				continue;
			int64_t now = now_ms();
			if (!b.next_due || b.next_due > p->wait_until_ms)
				break;
			sleep_ms(b.next_due - now < WAIT_STEP_MS ? b.next_due - now
								 : WAIT_STEP_MS);
			continue;
		}
		err = send_batch(&b);
		if (!err)
			err = store_write(p->store, settle_tx, &b);
		p->batches++;
		rows_free(&b);
		if (err)
			break;
		log_event(LOG_INFO, "outbox_batch_settled", "recipient",
			  p->recipient->code, NULL);
	}
	struct counting c = { .p = p };
	enum senim_result cerr = store_read(p->store, count_left, &c);
	p->left = c.left;
	return err ? err : cerr;
}

/* ---- metrics ----------------------------------------------------------------------- */

struct outbox_metrics_read {
	struct buf *out;
	int64_t now_ms;
};

static enum senim_result outbox_metrics_tx(struct store_tx *tx, void *arg)
{
	struct outbox_metrics_read *m = arg;
	struct store_rows *r;
	enum senim_result err =
		store_query(tx,
			    "SELECT recipient, state = 'dead', COUNT(*), MIN(created_at) "
			    "FROM transfers"
			    " WHERE state IN ('pending', 'sending', 'dead')"
			    " GROUP BY recipient, state = 'dead' ORDER BY recipient",
			    NULL, 0, &r);
	if (err)
		return err;
	struct buf pending, oldest, dead;
	buf_init(&pending, BUF_NO_LIMIT);
	buf_init(&oldest, BUF_NO_LIMIT);
	buf_init(&dead, BUF_NO_LIMIT);
	int has = 0;
	while (!err && (err = store_rows_next(r, &has)) == SENIM_OK && has) {
		const char *rc = store_rows_text(r, 0, NULL);
		long long n = (long long)store_rows_int(r, 2);
		if (store_rows_int(r, 1)) {
			err = buf_addf(&dead,
				       "senim_outbox_dead{recipient=\"%s\"} %lld\n", rc,
				       n);
			continue;
		}
		int64_t age_ms = m->now_ms - store_rows_int(r, 3);
		err = buf_addf(&pending, "senim_outbox_pending{recipient=\"%s\"} %lld\n",
			       rc, n);
		if (!err)
			err = buf_addf(&oldest,
				       "senim_outbox_oldest_pending_seconds{recipient=\"%"
				       "s\"} %.3f\n",
				       rc, age_ms > 0 ? (double)age_ms / 1000.0 : 0.0);
	}
	store_rows_free(r);
	if (!err)
		err = buf_addf(m->out,
			       "# TYPE senim_outbox_pending gauge\n%s"
			       "# TYPE senim_outbox_oldest_pending_seconds gauge\n%s"
			       "# TYPE senim_outbox_dead gauge\n%s",
			       pending.data, oldest.data, dead.data);
	buf_release(&pending);
	buf_release(&oldest);
	buf_release(&dead);
	return err;
}

enum senim_result outbox_metrics(struct store *st, struct buf *out)
{
	struct outbox_metrics_read m = { .out = out, .now_ms = clock_now_us() / 1000 };
	return store_read(st, outbox_metrics_tx, &m);
}
