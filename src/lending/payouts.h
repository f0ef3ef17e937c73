/*
 * payouts.h — the payout of a signed microcredit (issue 12; C2, U2) and
 * the borrower's acts around it: the second confirmation after the
 * cooling-off hold (Law 56-V art. 3 p.3-3 part 7) and the withdrawal
 * during the hold.  docs/payout.md tells the whole story.
 *
 * A payout is one row of `payouts` (migration 19) per application, made
 * when the payout is first claimed (no hold) or when the borrower confirms
 * (a hold applied).  Its operation key is "pyo_" and the application id's
 * body: one application can only ever be one payout at the provider,
 * whoever sends it and however often (connectors/payment.h).
 *
 * The pump (serve's thread, payout_pump_start; or payout_pass_run once):
 *   1. claim (a write): the oldest due payout whose lease is free is leased
 *      to this process for longer than the send can take and its attempt counted; the
 *      destination and (with an IBAN) the holder's IIN, or a bound card's
 *      provider token (lending/cards.h), are opened from the vault for the
 *      request only, and the access decided as the lender's
 *      own processing under loan_servicing (exchange_decide, by_system);
 *   2. send through the hub (outside any transaction): POST /v1/payouts, or
 *      the status GET when the provider had answered `accepted`;
 *   3. settle (a write): completed — loan_open_tx (start = the payout day
 *      in UTC+5, the method signed), the `issued` loan event, the
 *      application `disbursed`, the row `paid`, the register entry
 *      `delivered` and `payout.complete`, all or nothing; accepted — asked
 *      again later; rejected or a 4xx — the row `failed` (the application's
 *      payout has failed: support sees it), register `failed`; a lie
 *      (another key, amount or currency) — the row `refused`, register
 *      `failed` reason wrong_subject, nothing opened; anything retryable —
 *      the lease dropped, the next attempt after a doubling pause, and
 *      `failed` after PAYOUT_ATTEMPTS_MAX.
 * A crash between 2 and 3 leaves the lease to expire; the next claim sends
 * the same key, which the provider answers with its first result: the
 * money goes once.
 *
 * Invariants: no personal data in the row (ids, amounts, codes); the
 * request body (IBAN, IIN) lives only in the claim's memory and is wiped;
 * every state change appends its audit record in its transaction.
 */
#ifndef SENIM_LENDING_PAYOUTS_H
#define SENIM_LENDING_PAYOUTS_H

#include <stddef.h>
#include <stdint.h>

#include "common/ids.h"
#include "common/result.h"
#include "core/access.h"
#include "core/loan_rules.h"
#include "core/recipients.h"
#include "store/store.h"
#include "vault/keyring.h"

/* A claim's lease: the send's deadline (the recipient's timeouts times the
 * hub's attempts) and this margin for the settling write. */
#define PAYOUT_LEASE_MARGIN_MS 5000
#define PAYOUT_ATTEMPTS_MAX 8  /* retryable failures before `failed` */
#define PAYOUT_BACKOFF_MS 2000 /* the first pause; doubles, capped at 10 min */
#define PAYOUT_CONFIRM_DAYS 7  /* serve's default: a confirmation awaited */
#define PAYOUT_CONFIRM_DAYS_MAX 365
#define PAYOUT_EXPIRE_BATCH 100 /* applications expired per write */

struct hub;

/* ---- the pump -------------------------------------------------------------------- */

/* What a pass did. */
struct payout_totals {
	size_t claimed, paid, waiting, retried, failed, refused, expired;
};

/* One pass: first the expiry — a signed application whose cooling-off hold
 * is over and whose borrower has not confirmed within confirm_days of
 * payout_due_at is withdrawn (a `cancelled` payout row, reason
 * confirmation_expired, nothing sent; `payout.expire`) — then claim, send
 * and settle until nothing is due.  Everything outlives the call.
 * SENIM_OK, or the store's error. */
struct payout_pass {
	struct store *store;
	const struct keyring *kr;
	struct hub *hub;
	const struct recipients *recipients;
	const struct access_matrix *matrix;
	const struct loan_rules *rules;
	const char *owner; /* this process, on the lease */
	const char *request_id;
	int64_t confirm_days; /* > 0: the confirmation awaited after the hold */
	struct payout_totals totals;
};
SENIM_MUST_CHECK enum senim_result payout_pass_run(struct payout_pass *p);

/* serve's thread: a pass every interval_ms (> 0), the first one at once. */
struct payout_pump_config {
	struct store *store;
	const struct keyring *kr;
	struct hub *hub;
	const struct recipients *recipients;
	const struct access_matrix *matrix;
	const struct loan_rules *rules;
	int64_t interval_ms;
	int64_t confirm_days; /* 1 to PAYOUT_CONFIRM_DAYS_MAX */
};
struct payout_pump;
/* SENIM_ERR_INVALID (interval or confirm_days <= 0), SENIM_ERR_NOMEM, SENIM_ERR_UNAVAILABLE. */
SENIM_MUST_CHECK enum senim_result payout_pump_start(const struct payout_pump_config *cfg,
						     struct payout_pump **out);
/* Stop (a pass in progress finishes its payout first) and free; NULL: no-op. */
void payout_pump_stop(struct payout_pump *p);

/* ---- the borrower's acts ------------------------------------------------------------ */

enum payout_refusal {
	PAYOUT_REFUSED_NONE,
	PAYOUT_REFUSED_NOT_SIGNED,   /* the application is not signed (state in op) */
	PAYOUT_REFUSED_NO_HOLD,	     /* confirm: no hold applied, none needed */
	PAYOUT_REFUSED_HOLD_RUNNING, /* confirm: before payout_due_at */
	PAYOUT_REFUSED_IN_PROGRESS,  /* withdraw: the payout was sent and may
				      * have been paid */
	PAYOUT_REFUSED_EXPIRED,	     /* confirm: the pump withdrew it, the
				      * confirmation awaited too long */
};

/*
 * The confirmation after the hold (confirm 1) or the withdrawal during it
 * (confirm 0), for the borrower's own application; run with store_write
 * (the op from the request's arena).  A confirmation again answers as the
 * first (`replayed`).  Out: the refusal, or the payout's state.
 * SENIM_ERR_NOT_FOUND: the subject has no such application.
 */
struct payout_act {
	/* in */
	const struct keyring *kr;
	const char *actor, *request_id, *subject_id, *id;
	int confirm;
	/* out */
	enum payout_refusal refusal;
	char state[16]; /* the application's (refused NOT_SIGNED) or the act's */
	int64_t payout_due_at, confirmed_at; /* microseconds */
	int replayed;
};
SENIM_MUST_CHECK enum senim_result payouts_act_tx(struct store_tx *tx, void *op);

/* ---- support's view --------------------------------------------------------------- */

#define PAYOUT_LIST_MAX 100

/* One payout that ended without money paid (or with it unknown). */
struct payout_failure {
	char application_id[4 + ID_BODY_CHARS + 1];
	char subject_id[4 + ID_BODY_CHARS + 1];
	char state[12];	 /* "failed", "refused" */
	char reason[48]; /* a code: wrong_subject, provider_rejected, ... */
	int64_t attempts, updated_at;
};

/*
 * The payouts that failed for good (the application's payout_failed), the
 * oldest first, at most PAYOUT_LIST_MAX: for support, who settles each with
 * the provider.  A write job: `payout.list` is audited with it (ids and
 * codes only are read, no personal data).  Run with store_write; the op
 * from the request's arena.
 */
struct payout_failures {
	/* in */
	const struct keyring *kr;
	const char *actor, *request_id;
	/* out */
	struct payout_failure rows[PAYOUT_LIST_MAX];
	size_t n;
};
SENIM_MUST_CHECK enum senim_result payouts_failures_tx(struct store_tx *tx, void *op);

/* ---- staff's acts on a failed payout ---------------------------------------------- */

enum payout_staff_refusal {
	PAYOUT_STAFF_OK,
	PAYOUT_STAFF_ACCESS,	    /* the role's loan_servicing refused (refused) */
	PAYOUT_STAFF_NOT_FAILED,    /* not failed/refused now: pending, paid, closed */
	PAYOUT_STAFF_RETRY_FUTILE,  /* retry: the provider rejected the key for good,
				     * or lied (wrong_subject): the same key cannot pay */
	PAYOUT_STAFF_MAY_HAVE_PAID, /* close: attempts_exhausted or a lie: the money
				     * may have gone; only the provider's status
				     * (the retry's read) can tell */
};

/*
 * Support's (or an underwriter's) retry or closure of a failed payout, by
 * its application id; run with store_write (the op from the request's
 * arena).  The access is the role's under loan_servicing for the payout's
 * subject.  Audited `payout.retry` / `payout.close`, the object naming the
 * reason code (application:<id>:reason:<code>), `denied` when refused.
 *
 * retry: a `failed` payout the provider never took (provider_refused, a
 * failure at claim) goes back to the pump as `sending` (a POST under the same
 * operation key, attempts counted afresh); after attempts_exhausted it goes
 * back as `accepted`, so the pump first reads the provider's status: 404
 * sends it again (same key), completed opens the loan, rejected fails it.
 * provider_rejected or a lie: PAYOUT_STAFF_RETRY_FUTILE.
 * close: a `failed` payout whose provider answer proves nothing was paid
 * (every reason but attempts_exhausted) ends: the application `withdrawn`,
 * the row `cancelled`.  attempts_exhausted or a lie: PAYOUT_STAFF_MAY_HAVE_PAID.
 * A refusal changes nothing.  SENIM_ERR_NOT_FOUND: no payout for the id.
 */
struct payout_staff_act {
	/* in */
	const struct keyring *kr;
	const struct access_matrix *matrix;
	enum role role;
	const char *actor, *request_id, *id;
	const char *reason; /* a code of a fixed list (the route's): no personal data */
	int close;	    /* 0 retry, 1 closure */
	/* out */
	enum payout_staff_refusal refusal;
	struct access_refusal refused;
	char state[16];	     /* the payout's state after the act (or now, refused) */
	char reason_was[48]; /* the failure's reason code */
};
SENIM_MUST_CHECK enum senim_result payouts_staff_tx(struct store_tx *tx, void *op);

#endif
