/*
 * ledger.h — the consent ledger (C1-C4, P1, P2).
 *
 * Every grant and withdrawal is a row that is never deleted, with the policy
 * version in force, language, channel, time, sealed evidence (IP address,
 * user agent, device id: personal data, so sealed with the subject's key),
 * and a signed receipt (receipt.h) — written with its audit record in one
 * transaction.
 *
 * Policy acceptance (P1, C1): a borrower accepts the version in force; an
 * outdated version is refused naming the current one.  When a newer version
 * is published, the borrower has accepted nothing current until they accept
 * it again.
 *
 * Withdrawal (C2): a consent the lender needs for an open obligation cannot
 * be withdrawn (the refusal is recorded and names the obligation); marketing
 * always can; any allowed withdrawal takes effect on the next request,
 * because every access decision reads the ledger (subjects.c).
 */
#ifndef SENIM_LEDGER_H
#define SENIM_LEDGER_H

#include <jansson.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/ids.h"
#include "common/result.h"
#include "core/consents.h"
#include "store/store.h"
#include "vault/keyring.h"

#define CONSENT_ID_LEN 27 /* "cns_" + 22 base64url + NUL */
#define LEDGER_VERSION_MAX 33

/*
 * Who grants or withdraws, and the evidence (C1): the op's input.  subject_id,
 * request_id, actor, user_agent and device_id must outlive the op (they are
 * the request's); language, channel and ip are copied by the prepare step.
 */
struct consent_request {
	const char *subject_id;
	const char *request_id;
	const char *actor;    /* "borrower:<id>" */
	const char *language; /* "ru" | "kk" */
	const char *channel;  /* "web" | "ios" | "android" */
	const char *ip;	      /* evidence; may be NULL */
	const char *user_agent;
	const char *device_id;
};

/*
 * Each operation below is one struct and at most two functions:
 *   X_prepare(st, op) runs outside the writer, in a read transaction: it
 *     reads, decides and does the slow parts (signing the receipt, sealing
 *     the evidence) concurrently with other requests.  An error ends the
 *     operation there, with nothing written;
 *   X_tx(tx, op) runs inside the write transaction (store_write, or
 *     http_write_then from a handler): it re-checks what another request may
 *     have changed since, writes, and appends the audit record.  It sets
 *     every output itself; after a failed write the outputs mean nothing.
 * The caller allocates the op zeroed (a handler: arena_alloc_disposable with
 * X_dispose), fills the "in" fields, and reads the "out" fields once the
 * write has returned SENIM_OK.  X_dispose(op) frees and wipes what the op
 * owns, the op's memory itself excepted; it is safe on an op that was never
 * prepared.
 */

/* ---- granting (P1, C1) ------------------------------------------------------ */

/*
 * A grant: accepting the policy version in force (kind CONSENT_POLICY,
 * version set), or granting a consent of another kind (version NULL).
 * Granting what is already active returns the active grant (created 0),
 * audited as `consent.grant` with outcome "unchanged": it discloses the
 * grant and its receipt, so it too leaves only after its record is durable.
 */
struct ledger_grant {
	/* in */
	const struct keyring *kr;
	struct consent_request rq;
	enum consent_kind kind;
	const char *version; /* CONSENT_POLICY: the version accepted (read by the
			     * preparation only); else NULL */
	/* out */
	json_t *out; /* the consent with its receipt; owned by the op (take it
		      * and set NULL to keep it) */
	int created; /* 1: a new grant (201); 0: the active one (200) */
	char current[LEDGER_VERSION_MAX]; /* the version in force, "" when none */
	/* private, between the two steps */
	char language[8], channel[16], ip[64];
	char id[CONSENT_ID_LEN];
	int64_t now;
	char pol_version[LEDGER_VERSION_MAX], pol_sha_ru[65], pol_sha_kk[65];
	char *receipt;	     /* the new receipt's JSON text */
	struct buf evidence; /* sealed */
};

/* Read the version in force, sign the receipt and seal the evidence.
 * SENIM_ERR_CONFLICT when op->version is not the version in force (a new
 * one was published: op->current names it); SENIM_ERR_NOT_FOUND when no
 * such version exists (for another kind: when no policy is published);
 * SENIM_ERR_INVALID for a kind and version that do not go together. */
SENIM_MUST_CHECK enum senim_result ledger_grant_prepare(struct store *st,
							struct ledger_grant *op);
/* Write the grant, or find the active one, with its record.
 * SENIM_ERR_CONFLICT (nothing written) when a newer policy version was
 * published since the preparation; op->current names it. */
SENIM_MUST_CHECK enum senim_result ledger_grant_tx(struct store_tx *tx, void *op);
void ledger_grant_dispose(void *op);

/* ---- withdrawing (C2, C3) ---------------------------------------------------- */

#define LEDGER_CONTRACT_MAX 72

/*
 * A withdrawal of one of the subject's consents.  Another subject's consent
 * id is not found.  C2: a kind needed for an obligation (consents.h) cannot
 * be withdrawn while the subject has an open obligation: the write then
 * commits only the `consent.withdraw` record with outcome "denied" and
 * returns SENIM_OK with `irrevocable` set — a refusal of the ledger, not of
 * the access decision (core/access.h), so the op carries it.  Marketing can
 * always be withdrawn.  The language and channel of the receipt are the
 * grant's; no evidence is kept.
 */
struct ledger_withdrawal {
	/* in */
	const struct keyring *kr;
	struct consent_request rq;
	const char *consent_id; /* from the path; need not be well formed */
	/* out */
	json_t *out; /* the consent as withdrawn, both receipts; owned by the op */
	const char *irrevocable; /* C2: why not ("open_obligation", static), or
				  * NULL when withdrawn */
	char obligation[LEDGER_CONTRACT_MAX]; /* with irrevocable: the earliest
					       * open contract's number, or "" */
	int64_t open_obligations;	      /* with irrevocable: how many */
	/* private, between the two steps */
	char language[8], channel[16];
	enum consent_kind kind;
	char id[CONSENT_ID_LEN];
	int64_t now;
	char version[LEDGER_VERSION_MAX], grant_language[8], grant_channel[16];
	int64_t granted_at;
	char *grant_receipt;
	char *receipt; /* the withdrawal receipt's JSON text */
};

/* Find the consent, check C2 and sign the withdrawal receipt.
 * SENIM_ERR_NOT_FOUND when it is not one of this subject's;
 * SENIM_ERR_CONFLICT when it is withdrawn already.  A C2 refusal is not an
 * error here: the write records it. */
SENIM_MUST_CHECK enum senim_result
ledger_withdrawal_prepare(struct store *st, struct ledger_withdrawal *op);
/* Re-check C2 (an obligation imported since counts) and withdraw, or record
 * the refusal.  SENIM_ERR_CONFLICT (nothing written) when another request
 * withdrew it meanwhile. */
SENIM_MUST_CHECK enum senim_result ledger_withdrawal_tx(struct store_tx *tx, void *op);
void ledger_withdrawal_dispose(void *op);

/* ---- listing (R1) ------------------------------------------------------------ */

/*
 * A borrower's own listing (GET /v1/me/consents), audited like any access
 * to the subject's data: the list is read first, then `consent.list` is
 * appended (the borrower as actor, purpose legal_obligation: the right of
 * access), and the list leaves only once that record is durable.
 *
 * R5: when the borrower's own access is limited by law, the caller decides
 * so in the writer (rights/package.h: package_limited_tx) and sets
 * `limited` before ledger_listing_tx runs; the record's outcome is then
 * "limited" (never the ground) and the answer is the limited view
 * (ledger_listing_view).  The full list was read all the same.
 */
struct ledger_listing {
	/* in (strings outlive the op) */
	const struct keyring *kr;
	const char *subject_id;
	const char *request_id;
	const char *actor;
	int limited; /* R5: set in the writer, before ledger_listing_tx */
	/* out */
	json_t *out; /* {"consents": [...]}, the full view; owned by the op */
};

/* What a borrower is shown of their consents. */
enum ledger_view {
	LEDGER_VIEW_FULL, /* every field, the signed receipts included */
	/* R5: what the borrower needs to keep their contract and act on a
	 * consent (withdraw it): id, kind, policy_version, status, granted_at,
	 * withdrawn_at — no receipt (it names recipients, the borrower's id,
	 * the evidence's language and channel), no language, no channel.  The
	 * same bytes for the same consents, whatever the limit's ground. */
	LEDGER_VIEW_LIMITED
};

/* Read the list (a read transaction). */
SENIM_MUST_CHECK enum senim_result ledger_listing_prepare(struct store *st,
							  struct ledger_listing *op);
/* The listing's audit record (outcome "limited" with op->limited). */
SENIM_MUST_CHECK enum senim_result ledger_listing_tx(struct store_tx *tx, void *op);
/* The list to answer, in view v: *out = {"consents": [...]} (caller
 * decrefs).  LEDGER_VIEW_FULL hands over op->out; LEDGER_VIEW_LIMITED builds
 * a new list from it, keeping only the fields named above (anything added
 * to the full view later stays out), and leaves op->out to the dispose.
 * SENIM_ERR_NOMEM; SENIM_ERR_INVALID when nothing was prepared. */
SENIM_MUST_CHECK enum senim_result ledger_listing_view(struct ledger_listing *op,
						       enum ledger_view v, json_t **out);
void ledger_listing_dispose(void *op);

/* Every consent of the subject, current and past, newest first, with
 * receipts: *out = {"consents": [...]} (caller decrefs).  A read alone: the
 * caller has audited the access (the staff view, api/me.c). */
SENIM_MUST_CHECK enum senim_result ledger_list(struct store *st, const char *subject_id,
					       json_t **out);

/* For the 428 gate: *accepted 1 when the subject has accepted the version in
 * force; current gets that version ("" when none is published). */
SENIM_MUST_CHECK enum senim_result ledger_policy_state(struct store *st,
						       const char *subject_id,
						       int *accepted,
						       char current[LEDGER_VERSION_MAX]);

/*
 * Inside a transaction: the CONSENT_BIT mask of active consents, with the
 * policy counted only when its accepted version is the one in force.
 * *obligation_purposes (when not NULL) gets the PURPOSE_BIT mask that an
 * accepted earlier version still grounds (C2): CONSENT_OBLIGATION_PURPOSES
 * while the borrower has an open obligation and has not accepted the
 * version in force, else 0.
 */
#define CONSENT_BIT(k) (1u << (k))
SENIM_MUST_CHECK enum senim_result ledger_active_in(struct store_tx *tx,
						    const char *subject_id,
						    uint32_t *active,
						    uint32_t *obligation_purposes);

/*
 * Inside a transaction: the evidence of the subject's active consent of
 * `kind`, for a recipient that must see it confirmed (a credit bureau,
 * 573-II Art. 17): its id, when it was given, and the SHA-256 of its signed
 * receipt.  SENIM_ERR_NOT_FOUND when none is active.
 */
struct ledger_evidence {
	char id[CONSENT_ID_LEN];
	int64_t granted_at;	 /* unix seconds */
	char receipt_sha256[65]; /* hex */
};
SENIM_MUST_CHECK enum senim_result ledger_evidence_in(struct store_tx *tx,
						      const char *subject_id,
						      enum consent_kind kind,
						      struct ledger_evidence *e);

#endif
