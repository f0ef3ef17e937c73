/*
 * hub.h — the transport for every outbound call to a recipient of the
 * recipients file (design §4): one thread driving libcurl's multi
 * interface, so no worker or I/O thread is held while a peer answers.
 *
 * Any thread hands a call in with hub_submit(), which only puts it on a
 * mutex-protected list and wakes the hub (curl_multi_wakeup); it never
 * blocks on the network.  Only the hub thread touches the multi handle and
 * the easy handles.  Per recipient the hub keeps:
 *   - a FIFO of calls waiting for admission: at most max_queued wait
 *     (beyond that hub_submit fails at once), and at most max_in_flight
 *     are in the multi handle at a time (libcurl's own host limit is only a
 *     backstop: a transfer queued inside libcurl would spend its timeout
 *     waiting);
 *   - a circuit breaker (core/breaker.h), consulted at admission: an open
 *     circuit ends the call at once with code RETRY_UNAVAILABLE;
 *   - the bearer token (read once, from the credentials file, into guarded
 *     memory), the client certificate and key, and the CA file;
 *   - a free list of easy handles, reused.
 * Each attempt gets CURLOPT_TIMEOUT_MS = min(timeout_ms, deadline - now);
 * an attempt that fails with a retryable code (core/retry.h) is tried
 * again, under the same Idempotency-Key, after a full-jitter backoff (or
 * the peer's Retry-After, when longer) kept as a timer on the hub thread —
 * never past the call's deadline or its max_attempts.
 *
 * As connectors/sms.c: http and https only, no redirects, no signals;
 * nothing a call carries is logged (bodies hold personal data), only the
 * recipient's code, codes and counts.
 */
#ifndef SENIM_HUB_H
#define SENIM_HUB_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/result.h"
#include "core/recipients.h"
#include "core/retry.h"

/* An answer larger than this is not an API's answer: invalid_answer. */
#define HUB_ANSWER_MAX (256 * 1024)
/* An attempt with less time than this before the deadline is not started. */
#define HUB_MIN_ATTEMPT_MS 50
/* Backoff between attempts: full jitter from this base, doubling, capped. */
#define HUB_BACKOFF_BASE_MS 100
#define HUB_BACKOFF_MAX_MS 5000
/* Idempotency-Key and X-Request-Id: 1 to this many visible ASCII bytes. */
#define HUB_HEADER_VALUE_MAX 128

struct hub;
struct hub_call;
struct hub_item;

/* What the hub did with a call: given to its done callback. */
struct hub_outcome {
	enum retry_code code; /* of the last attempt; RETRY_OK on success;
				* RETRY_UNAVAILABLE when nothing was tried
				* (circuit open, deadline passed in the queue)
				* or the hub stopped under it */
	long http_status;     /* of the last answer; 0 when none */
	int curl_code;	      /* of the last attempt (CURLcode) */
	int attempts;	      /* started */
	int may_have_reached; /* 1 when any attempt may have reached the peer */
	const char *body;     /* the last answer's body (any status), valid
				* only during done; NULL when none */
	size_t body_len;
};

/* A call's verdict on a 2xx answer (the caller parses; the hub's retry and
 * breaker logic use the verdict). */
typedef enum retry_check (*hub_check_fn)(struct hub_call *call, const char *body,
					 size_t len);
/* Runs on the hub thread, once per accepted call, and must not block
 * (queue a store write, wake a waiter).  The call belongs to the caller
 * again once done starts: done may free it. */
typedef void (*hub_done_fn)(struct hub_call *call, const struct hub_outcome *outcome);

/*
 * One call.  The caller allocates it, fills the fields above the line, and
 * keeps it and everything it points to alive and unchanged until done runs.
 */
struct hub_call {
	const struct recipient *recipient; /* a pointer into the recipients
					    * given to hub_start */
	const char *path;		   /* "/v1/credit-reports": appended to
					    * the recipient's endpoint */
	const char *body;		   /* the JSON request; the caller owns
					    * it (and wipes it after done) */
	size_t body_len;
	/* 1: a GET of path with no body (body NULL), such as payout/1's
	 * status read; 0: a POST of body. */
	int get;
	/* With get: a DELETE of path instead (payout/1's unbinding), no
	 * body either. */
	int del;
	const char *idempotency_key; /* required: 1-128 visible ASCII */
	const char *request_id;	     /* X-Request-Id; NULL: none */
	int64_t deadline;	     /* clock_mono_us() time (microseconds):
				      * nothing is attempted after it */
	int max_attempts;	     /* >= 1 */
	hub_check_fn check;	     /* NULL: every 2xx is ok */
	hub_done_fn done;	     /* required */
	void *arg;		     /* the caller's */
	/* ---- the hub's, set by hub_submit ---- */
	struct hub_item *item_;
};

/*
 * Start the hub thread for the recipients in `r`, which must outlive the
 * hub.  curl_global_init (sms_global_init) must have run.  Reads every recipient's credentials file now (SENIM_ERR_CONFIG
 * when one is refused, logged with its recipient and path, never its
 * bytes).  SENIM_ERR_NOMEM, SENIM_ERR_UNAVAILABLE (libcurl or the thread
 * would not start).  *out is NULL on failure; hub_stop frees it.
 */
SENIM_MUST_CHECK enum senim_result hub_start(const struct recipients *r,
					     struct hub **out);

/*
 * Stop: every call not yet done — waiting, in backoff or in flight — is
 * done with RETRY_UNAVAILABLE (in-flight ones with may_have_reached = 1:
 * the peer may have acted on them), exactly once, on the hub thread; then
 * the thread ends and the hub is freed.  Submissions after the stop began
 * fail.  NULL does nothing.  Call once, from a thread other than the hub's.
 */
void hub_stop(struct hub *h);

/*
 * Hand a call to the hub.  Thread-safe; never blocks on the network.  On
 * SENIM_OK done will run exactly once, on the hub thread (possibly before
 * hub_submit returns to its caller).  Otherwise done is never run:
 * SENIM_ERR_INVALID (a field missing, a POST without a body or a GET with
 * one, or a header value not visible ASCII
 * or too long; a recipient not of this hub), SENIM_ERR_UNAVAILABLE (the
 * recipient's queue is full, or the hub is stopping), SENIM_ERR_NOMEM.
 */
SENIM_MUST_CHECK enum senim_result hub_submit(struct hub *h, struct hub_call *call);

/* 1 when the recipient's circuit would admit a call now, 0 when it is open
 * (or its probe is out): lets a worker answer 503 before reading anything.
 * Any thread; one atomic read.  *retry_after_s, when not NULL, gets the
 * seconds until it may admit again (>= 1 when 0 is returned). */
int hub_recipient_available(struct hub *h, const struct recipient *rc,
			    int *retry_after_s);

/*
 * Append Prometheus text for every recipient: senim_recipient_in_flight,
 * senim_recipient_circuit_state (0 closed, 1 half-open, 2 open) and
 * senim_transfer_attempts_total{recipient,result} (result: a retry code
 * name).  Any thread (atomic reads).  SENIM_OK or the buf's error.
 */
SENIM_MUST_CHECK enum senim_result hub_metrics(struct hub *h, struct buf *out);

#endif
