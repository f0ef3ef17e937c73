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
 * be withdrawn (SENIM_ERR_DENIED, with the obligation named); marketing
 * always can; any allowed withdrawal takes effect on the next request,
 * because every access decision reads the ledger (subjects.c).
 */
#ifndef SENIM_LEDGER_H
#define SENIM_LEDGER_H

#include <jansson.h>
#include <stdint.h>

#include "common/ids.h"
#include "common/result.h"
#include "core/consents.h"
#include "store/store.h"
#include "vault/keyring.h"

#define CONSENT_ID_LEN 27 /* "cns_" + 22 base64url + NUL */
#define LEDGER_VERSION_MAX 33

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

/* Accept the policy version `version`.  SENIM_ERR_CONFLICT when it is not the
 * version in force (current gets it), SENIM_ERR_NOT_FOUND when no such
 * version exists.  Accepting the current version again returns the existing
 * acceptance, audited as `consent.grant` with outcome "unchanged" (it
 * discloses the grant, so it too fails closed without its record).
 * *receipt: the signed receipt (caller decrefs). */
SENIM_MUST_CHECK int ledger_accept_policy(struct store *st, const struct keyring *kr,
					  const struct consent_request *rq,
					  const char *version,
					  char current[LEDGER_VERSION_MAX], json_t **out,
					  int *created);

/* Grant a consent of `kind` (not the policy).  An active grant of the same
 * kind is returned as it is (*created 0), audited as `consent.grant` with
 * outcome "unchanged".  *out: {"id", ..., "receipt"}. */
SENIM_MUST_CHECK int ledger_grant(struct store *st, const struct keyring *kr,
				  const struct consent_request *rq,
				  enum consent_kind kind, json_t **out, int *created);

/* Why a withdrawal was refused (C2). */
struct withdraw_refusal {
	char reason[64];     /* "open_obligation" */
	char obligation[72]; /* the contract number of an open obligation */
	int64_t open_count;
};

/* Withdraw consent `consent_id` of the subject.  SENIM_ERR_NOT_FOUND when
 * it is not one of this subject's; SENIM_ERR_CONFLICT when already
 * withdrawn; SENIM_ERR_DENIED with *why when irrevocable now. */
SENIM_MUST_CHECK int ledger_withdraw(struct store *st, const struct keyring *kr,
				     const struct consent_request *rq,
				     const char *consent_id, json_t **out,
				     struct withdraw_refusal *why);

/*
 * The same operations in three steps, for a caller that must not block on
 * the group commit (http_write_then):
 *   ledger_grant_prepare() (version: the policy version to accept, for
 *   CONSENT_POLICY only; NULL otherwise) or ledger_withdraw_prepare() reads,
 *     decides, signs the receipt and seals the evidence, in a read
 *     transaction; an error ends there, with no op;
 *   when ledger_op_needs_write(op), ledger_op_tx is the write (it re-checks
 *     what may have changed since: an active grant, the version in force,
 *     open obligations);
 *   ledger_grant_finish() / ledger_withdraw_finish() turn the write's result
 *     (SENIM_OK when there was none) into the answers of the calls above, and
 *     free op.  Exactly one finish per op.
 * rq's strings must outlive the op, except language, channel and ip, which
 * are copied.
 */
struct ledger_op;
SENIM_MUST_CHECK int ledger_grant_prepare(struct store *st, const struct keyring *kr,
					  const struct consent_request *rq,
					  enum consent_kind kind, const char *version,
					  struct ledger_op **op);
SENIM_MUST_CHECK int ledger_withdraw_prepare(struct store *st, const struct keyring *kr,
					     const struct consent_request *rq,
					     const char *consent_id,
					     struct ledger_op **op);
int ledger_op_needs_write(const struct ledger_op *op);
enum senim_result ledger_op_tx(struct store_tx *tx, void *op);
/* current (may be NULL) gets the version in force. */
SENIM_MUST_CHECK int ledger_grant_finish(struct ledger_op *op, int result, json_t **out,
					 int *created, char current[LEDGER_VERSION_MAX]);
SENIM_MUST_CHECK int ledger_withdraw_finish(struct ledger_op *op, int result,
					    json_t **out, struct withdraw_refusal *why);

/* Every consent of the subject, current and past, newest first, with
 * receipts: {"consents": [...]}. */
SENIM_MUST_CHECK int ledger_list(struct store *st, const char *subject_id, json_t **out);

/*
 * A borrower's own listing (GET /v1/me/consents), audited like any access
 * to the subject's data: _prepare lists the consents in a read transaction;
 * ledger_list_audit_tx appends `consent.list` (the borrower as actor,
 * purpose legal_obligation: the right of access, R1); _finish hands the
 * list out only when that record is durable (result SENIM_OK) and frees
 * op.  rq's strings must outlive op.
 */
struct ledger_list_op;
SENIM_MUST_CHECK int ledger_list_prepare(struct store *st, const struct keyring *kr,
					 const struct consent_request *rq,
					 struct ledger_list_op **op);
enum senim_result ledger_list_audit_tx(struct store_tx *tx, void *op);
SENIM_MUST_CHECK int ledger_list_finish(struct ledger_list_op *op, int result,
					json_t **out);

/* For the 428 gate: *accepted 1 when the subject has accepted the version in
 * force; current gets that version ("" when none is published). */
SENIM_MUST_CHECK int ledger_policy_state(struct store *st, const char *subject_id,
					 int *accepted, char current[LEDGER_VERSION_MAX]);

/*
 * Inside a transaction: the CONSENT_BIT mask of active consents, with the
 * policy counted only when its accepted version is the one in force.
 * *obligation_purposes (when not NULL) gets the PURPOSE_BIT mask that an
 * accepted earlier version still grounds (C2): CONSENT_OBLIGATION_PURPOSES
 * while the borrower has an open obligation and has not accepted the
 * version in force, else 0.
 */
#define CONSENT_BIT(k) (1u << (k))
SENIM_MUST_CHECK int ledger_active_in(struct store_tx *tx, const char *subject_id,
				      uint32_t *active, uint32_t *obligation_purposes);

#endif
