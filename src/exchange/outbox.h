/*
 * outbox.h — the pump of `deliver` transfers (design §5.2-§5.4): rows of
 * the table `transfers` that must arrive (loan events to a bureau), sent
 * at least once under a stable Idempotency-Key and settled each with its
 * register entry.
 *
 * A batch is the rows that share a batch_id: they are claimed, sent (one
 * request, the batch id its Idempotency-Key) and settled together, so a
 * resend always carries the same events under the same key and the
 * recipient de-duplicates it.  The states:
 *
 *   pending --claim--> sending --answer--> delivered | failed (rejected)
 *                         |--retryable, within limits--> pending (attempts
 *                         |      counted, next_attempt_at = now + backoff)
 *                         |--retryable, past OUTBOX_MAX_ATTEMPTS or
 *                         |      OUTBOX_MAX_AGE_MS--> dead
 *                         `--lease expired (a crash)--> pending,
 *                                may_have_reached = 1 (outbox_recover_tx)
 *
 * Invariants:
 *   - a claim sets state 'sending', lease_owner (host:pid:start) and
 *     lease_until = now + 2 x timeout_ms + 5 s, in one write;
 *   - a settle changes a row only WHERE state = 'sending' AND lease_owner
 *     is this pump: a pump that lost its lease changes nothing, and the row
 *     is sent again under the same key;
 *   - delivered, failed and dead each write their register entry
 *     (register_append: delivered, or failed with the code) and its audit
 *     record in the settle's transaction; a retry writes none (the
 *     transfer's fate is not known yet);
 *   - payloads are sealed with the subject's key; they are opened only to
 *     be sent, in memory the pump wipes after the send.
 */
#ifndef SENIM_OUTBOX_H
#define SENIM_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "common/ids.h"
#include "common/result.h"
#include "core/recipients.h"
#include "core/retry.h"
#include "store/store.h"
#include "vault/keyring.h"

#define OUTBOX_ID_LEN (4 + ID_BODY_CHARS + 1) /* "trf_...", "lbt_...", "lev_..." */
#define OUTBOX_MAX_ATTEMPTS 12
#define OUTBOX_MAX_AGE_MS (72LL * 3600 * 1000)
#define OUTBOX_BACKOFF_BASE_MS 1000
#define OUTBOX_BACKOFF_CAP_MS (300LL * 1000)
#define OUTBOX_BATCH_MAX 500
#define OUTBOX_OWNER_LEN 128

/* How one row of a batch ended, from the API's reading of the answer. */
enum outbox_row_result {
	OUTBOX_ROW_DELIVERED, /* accepted, or a duplicate of one accepted */
	OUTBOX_ROW_REJECTED   /* refused for good: failed, with `reason` */
};

/* A claimed row.  payload is the opened body part (wiped and freed by the
 * pump); the rest is what the register entry needs. */
struct outbox_row {
	char id[OUTBOX_ID_LEN];
	char subject_id[OUTBOX_ID_LEN];
	char key[OUTBOX_ID_LEN]; /* idempotency_key: the event's id */
	char service[40], purpose[40];
	char consent_id[64];
	int has_consent;
	char categories[128], fields[512];
	char request_id[80], actor[64];
	int attempts; /* before this one */
	int64_t created_at;
	int may_have_reached;
	char *payload;
	size_t payload_len;
	/* set by the API's check */
	enum outbox_row_result result;
	char reason[65];
};

/* An API's part: the request from the rows' payloads (*body malloc'ed, the
 * pump wipes and frees it), and the check of a 2xx answer, which sets each
 * row's result (RETRY_CHECK_OK) or finds the answer invalid. */
struct outbox_api {
	enum senim_result (*build)(const struct outbox_row *rows, size_t n, char **body,
				   size_t *len);
	enum retry_check (*check)(const char *body, size_t len, struct outbox_row *rows,
				  size_t n);
};

/* The lease owner for this process: "host:pid:start". */
void outbox_owner(char out[OUTBOX_OWNER_LEN]);

/*
 * At start: `deliver` rows left 'sending' whose lease expired — or whose
 * owner was a process of this host that is gone — go back to 'pending'
 * with may_have_reached = 1, due now.  Run with store_write.
 */
struct outbox_recovery {
	const char *owner; /* this process's, never taken back */
	int recovered;	   /* out */
};
SENIM_MUST_CHECK enum senim_result outbox_recover_tx(struct store_tx *tx, void *arg);

/*
 * Pump one recipient's service until nothing is due: claim a batch, open
 * its payloads, send it through the hub, settle it; rows waiting for a
 * retry are waited for while their time is before wait_until_ms (wall
 * clock), else left pending.  Blocks the calling thread.
 */
struct hub;
struct outbox_pump {
	/* in (all outlive the call) */
	struct store *store;
	const struct keyring *kr;
	struct hub *hub;
	const struct recipient *recipient;
	const struct recipient_service *service;
	const struct outbox_api *api;
	const char *owner;
	int64_t wait_until_ms;
	/* out: rows settled by this pump */
	size_t delivered, failed, dead, batches;
	size_t left; /* rows of the service still pending or sending at the end */
};
SENIM_MUST_CHECK enum senim_result outbox_pump_run(struct outbox_pump *p);

/* The pause before retry number `attempts` (>= 1) from a random number:
 * full jitter up to min(OUTBOX_BACKOFF_CAP_MS, base * 2^(attempts - 1)). */
int64_t outbox_backoff_ms(int attempts, uint64_t random);

/*
 * Append Prometheus text from the outbox as it stands (one read): per
 * recipient, senim_outbox_pending (rows pending or sending),
 * senim_outbox_oldest_pending_seconds (the age of the oldest of them) and
 * senim_outbox_dead (rows given up on, awaiting an operator).  SENIM_OK, or
 * the store's or the buf's error.
 */
SENIM_MUST_CHECK enum senim_result outbox_metrics(struct store *st, struct buf *out);

/* 1 when a row that failed its attempts-th attempt (>= 1), created at
 * created_ms, is dead at now_ms rather than retried. */
int outbox_is_dead(int attempts, int64_t created_ms, int64_t now_ms);

#endif
