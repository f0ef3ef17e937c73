/*
 * transfer.h — one query to a recipient on a staff member's request: a
 * credit report from a bureau (T2), a phone check with a mobile operator
 * (T1), or a state database's family ties, registered address or legal
 * capacity (T3) — decided, recorded, sent, answered, checked, kept and put
 * on the disclosure register (T4, T6, S4); a state database that disagrees
 * with the borrower, or does not know them, leaves a finding (D8,
 * exchange/findings.h); or a job for a processor (T5, processing/1: a
 * pseudonym in place of the subject, nothing kept, only the `out` entry
 * on the register).  Each API is a row of transfer.c's table: the
 * sent fields its request needs, its request builder and its answer's
 * checker (the codecs of connectors/).
 *
 * A query runs as three steps on three threads, and holds none of them
 * while it waits:
 *
 *   1. decide (a write on the store's group commit): the subject's state,
 *      exchange_decide(); refused -> a register entry "refused" and its
 *      audit record, and nothing leaves.  Granted -> the fields the service
 *      sends are decrypted, the request built, the transfers row written
 *      ("sending", its payload sealed under the subject's key) with the
 *      audit record `transfer.decide` — durable before a byte leaves: no
 *      personal data goes out without its record (fail closed).
 *   2. send (the connector hub's thread, connectors/hub.h): the request goes
 *      with the transfer id as its Idempotency-Key; the answer is checked
 *      field by field by the API's codec, and must be about the person asked
 *      about.
 *   3. settle (a write): the transfers row gets its fate; the register gets
 *      "delivered" or "failed" for what went out and, for a valid answer,
 *      "received" for what came in, each with its audit record; what the
 *      recipients file says to keep is sealed into subject_sources, and a
 *      state database's answer is compared with what the borrower declared
 *      (never overwriting it): each disagreement, and a 404
 *      person_not_found, is a finding with its audit record.  Nothing of an
 *      answer that failed its checks is stored.
 *
 * transfer_query_start() has the shape of http_async_then's start (a
 * store_done_fn is the same type as http_async_done_fn): the API calls
 *     return http_async_then(req, transfer_query_start, op, answer);
 * and reads the op in its continuation.
 */
#ifndef SENIM_EXCHANGE_TRANSFER_H
#define SENIM_EXCHANGE_TRANSFER_H

#include <jansson.h>
#include <stdint.h>

#include "common/ids.h"
#include "common/result.h"
#include "core/access.h"
#include "core/recipients.h"
#include "exchange/decide.h"
#include "store/store.h"
#include "vault/keyring.h"

struct hub;

/* What the exchange runs on (the recipients, the hub, the store and keys);
 * set up once by serve, read-only after.  Not http/server.c's private
 * struct exchange, which is one HTTP request and its answer. */
struct exchange_env {
	const struct recipients *recipients; /* NULL: exchange not configured */
	struct hub *hub;
	struct store *store;
	const struct keyring *kr;
	const struct access_matrix *matrix;
	int query_deadline_ms; /* from the request to the answer (default 5000) */
};

/* How a query ended, for the API's answer. */
enum transfer_result {
	TRANSFER_OK,		    /* answered and kept: op->received */
	TRANSFER_REFUSED,	    /* op->refused says why; nothing left */
	TRANSFER_INVALID_ANSWER,    /* the answer broke its API; nothing kept */
	TRANSFER_WRONG_SUBJECT,	    /* the answer was about someone else */
	TRANSFER_TIMEOUT,	    /* no answer within the deadline */
	TRANSFER_UNAVAILABLE,	    /* could not reach it, or its breaker is open */
	TRANSFER_RECIPIENT_REFUSED, /* it answered 4xx (e.g. consent not confirmed) */
	TRANSFER_NOT_FOUND	    /* a state database does not know the person:
				     * a finding (op->findings), nothing kept */
};

#define TRANSFER_ID_LEN SUBJECT_ID_LEN /* "trf_" + 22 + NUL */

/* One query; allocate with transfer_query_new() from the request's arena. */
struct transfer_query {
	/* in (strings must outlive the op) */
	const struct exchange_env *ex;
	const char *actor; /* "staff:12" */
	const char *request_id;
	enum role role;
	int by_system; /* 1: the lender's own decision (lending/decisions.h),
			* on no staff member's behalf: no role is asked,
			* only the subject's state (exchange_decide) */
	enum purpose purpose;
	const char *subject_id;
	const char *recipient;	/* "pkb" */
	const char *service;	/* "credit_report" */
	enum recipient_api api; /* the service's, for the caller's answer */
	/* out */
	enum transfer_result result;
	struct access_refusal refused; /* with TRANSFER_REFUSED */
	char transfer_id[TRANSFER_ID_LEN];
	json_t *received; /* with TRANSFER_OK: the kept fields; the op owns it */
	/* With TRANSFER_OK of a credit_report/1 query: 1 when the report shows
	 * the borrower's voluntary refusal of loans, else 0 — whether or not
	 * `receives` keeps report.self_excluded, since Law 56-V art. 3(3-3)
	 * binds the decision to it (lending/decisions.h). */
	int self_excluded;
	json_t *findings; /* once settled: [{"id", "category", "field", "kind"}]
			   * recorded (D8), maybe empty; the op owns it */
	/* private */
	struct transfer_private *p;
};

/* 1 when a query speaks `api`: credit_report/1, phone_check/1,
 * family_ties/1, address/1, legal_capacity/1, processing/1 (a
 * processor's job: TRANSFER_OK with op->received an empty object). */
int transfer_api_supported(enum recipient_api api);

/* An op from `alloc`'s memory (the request's arena, with the dispose hook
 * arena_alloc_disposable runs once the request is done): zeroed. */
void transfer_query_dispose(void *op);

/*
 * Step 1, then 2 and 3 as each finishes; done(result, arg) once at the end,
 * from the store's or the hub's thread.  The result is SENIM_OK whenever
 * op->result tells how the query ended (a refusal included: its record
 * committed); SENIM_ERR_NOT_FOUND for an unknown subject; another error
 * when a step could not run (nothing left, or — when the failure came
 * after the send — the transfers row stays "sending" and recovery settles
 * it).  Returns non-OK without calling done when step 1 cannot be queued.
 */
SENIM_MUST_CHECK enum senim_result transfer_query_start(void *op, store_done_fn done,
							void *arg);

/*
 * At start, before serving: queries a crash left "pending" or "sending"
 * are abandoned — never sent again, since nobody awaits them and an
 * enquiry nobody asked for would show in the borrower's bureau history —
 * each with its register entry ("abandoned", may_have_reached) and audit
 * record.  Run with store_write(st, transfer_recover_tx, &rec).
 */
struct transfer_recovery {
	const struct exchange_env *ex; /* in: its recipients and key ring */
	int abandoned;		       /* out: how many */
};
SENIM_MUST_CHECK enum senim_result transfer_recover_tx(struct store_tx *tx, void *arg);

#endif
