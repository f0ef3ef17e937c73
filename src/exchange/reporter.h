/*
 * reporter.h — loan events reported to the credit bureaus (T2, design
 * §5.2-§5.4): a pass queues what is new for every bureau's loan_event/1
 * service in the outbox and pumps it; `senim bureau report` runs one pass,
 * and `serve` runs one every interval on a thread of its own, so events
 * reach the bureaus while the server runs without anybody at a terminal.
 *
 * A pass is safe beside another (the CLI beside a server): queueing takes
 * rows under each bureau's cursor in one write, and the outbox's leases let
 * only one pump send a batch (outbox.h).  The thread never waits for a
 * retry: a row whose next attempt is later stays pending for the next pass.
 */
#ifndef SENIM_REPORTER_H
#define SENIM_REPORTER_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/result.h"
#include "core/purposes.h"
#include "core/recipients.h"
#include "store/store.h"
#include "vault/keyring.h"

struct hub;

/* What a pass did, summed over the services it served. */
struct report_totals {
	size_t services; /* loan_event/1 services served */
	size_t queued, refused, invalid;
	size_t delivered, failed, dead;
	size_t left; /* rows still pending or sending at the end */
};

/* One pass.  In: everything outlives the call; `only` is a recipient code
 * or NULL for every credit bureau.  Out: totals, and on an error the code
 * of the recipient it happened at. */
struct report_pass {
	struct store *store;
	const struct keyring *kr;
	struct hub *hub;
	const struct recipients *recipients;
	const struct access_matrix *matrix;
	const char *only;
	const char *owner;	/* outbox_owner() of this process */
	const char *actor;	/* on the register entries and audit records */
	const char *request_id; /* likewise */
	int64_t wait_until_ms;	/* wall clock: wait for retries until then */
	struct report_totals totals;
	const char *failed_at;
};

/* Run one pass: for each chosen service, pump what is due, then queue and
 * pump batch after batch until nothing is new.  SENIM_OK, or the store's or
 * the hub's error (totals hold what was done before it). */
SENIM_MUST_CHECK enum senim_result report_pass_run(struct report_pass *p);

/* /metrics: for each credit bureau with a loan_event/1 service and a
 * `report_within_days`, `senim_bureau_events_late{recipient}` — the loan
 * events recorded longer ago than that and not yet delivered to it: not
 * yet queued (past its cursor), or queued and pending, sending or dead.
 * An event refused on its ground (PKB without consent) is not late.  The
 * deadline is the law's for GKB (docs/bureau-reporting.md), an alert for
 * the operator: the gauge above 0 means a report is overdue.  Appends to
 * `out`; `now_us` is the wall clock. */
SENIM_MUST_CHECK enum senim_result reporter_metrics(struct store *st,
						    const struct recipients *rs,
						    int64_t now_us, struct buf *out);

/* The thread of `serve`.  The config's pointers outlive the reporter. */
struct reporter_config {
	struct store *store;
	const struct keyring *kr;
	struct hub *hub;
	const struct recipients *recipients;
	const struct access_matrix *matrix;
	int64_t interval_ms; /* between the end of a pass and the next; > 0 */
};
struct reporter;

/* Start the thread; its first pass runs one interval after the start.
 * SENIM_ERR_INVALID for an interval <= 0, SENIM_ERR_NOMEM, or
 * SENIM_ERR_UNAVAILABLE when no thread can start. */
SENIM_MUST_CHECK enum senim_result reporter_start(const struct reporter_config *cfg,
						  struct reporter **out);

/* Stop the thread (a pass in progress ends its current batch's send first)
 * and free it.  NULL is a no-op. */
void reporter_stop(struct reporter *r);

/*
 * Ask the running reporter for a pass now, not at the end of its interval:
 * Law 573-II Art. 19(2)(8) wants an application reported in real time.  A
 * writer calls it after the write that recorded an event has committed
 * (the API's submission answer).  Cheap and safe from any thread; does
 * nothing when no reporter runs (the CLI, or an interval of 0).  Wakes
 * during a pass are not lost: one more pass follows it.
 */
void reporter_wake(void);

#endif
