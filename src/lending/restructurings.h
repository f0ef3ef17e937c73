/*
 * restructurings.h — a borrower's request to restructure a loan in delay
 * and its own decision (`restructurings`, migration 15; U2, purpose
 * loan_servicing).  docs/lending-servicing.md, "Restructuring".
 *
 * The life of a request:
 *   - the borrower asks inside the window (servicing_restructuring_open on
 *     the loan as this morning finds it), with a reason from
 *     RESTRUCTURING_REASONS and a proposal (core/restructure.h); the
 *     proposal is checked against the loan and the rules in force when it
 *     is made, so a request that could never be approved is refused then;
 *   - an underwriter approves or declines it with a reason from
 *     RESTRUCTURING_DECISION_REASONS; approval rewrites the loan's schedule
 *     (restructure_apply), saved with loan_save, with the bureau event
 *     `restructured`, the decision and its audit record in one write.
 *
 * Invariants:
 *   - at most one open request per loan (a unique partial index): a second
 *     request is refused (`existing`), and the first one is named;
 *   - the row holds ids, codes, numbers and days: no contract number or
 *     anything that names the borrower; a reason is a code, and no code
 *     names a special category (health);
 *   - a decided request is final: a second decision changes nothing.
 */
#ifndef SENIM_LENDING_RESTRUCTURINGS_H
#define SENIM_LENDING_RESTRUCTURINGS_H

#include <stddef.h>
#include <stdint.h>

#include "common/result.h"
#include "core/access.h"
#include "core/restructure.h"
#include "lending/loans.h"
#include "store/store.h"
#include "vault/keyring.h"

#define RESTRUCTURING_ID_LEN (4 + ID_BODY_CHARS + 1) /* "rst_" + 22 + NUL */
#define RESTRUCTURING_QUEUE_MAX 200

/* 1 when id is "rst_" and an id body. */
int restructuring_id_valid(const char *id);

/* The borrower's reasons and the decision's, as codes; the text of a code
 * in "ru", "kk" or "en" (NULL for an unknown code or language). */
int restructuring_reason_valid(const char *code);
int restructuring_decision_reason_valid(const char *code, int approve);
const char *restructuring_reason_text(const char *code, const char *lang);

/* One request as stored (and answered). */
struct restructuring {
	char id[RESTRUCTURING_ID_LEN];
	char loan_id[LOAN_ID_LEN];
	char subject_id[SUBJECT_ID_LEN];
	char reason[32];
	char status[12]; /* open, approved, declined */
	char decision_reason[32];
	struct restructure_proposal proposal;
	int32_t requested_day;
	int32_t answer_due_day;		/* SERVICING_NO_DAY: the rules set none */
	int32_t effective_day;		/* approved: the first day under the new rows */
	int64_t created_at, decided_at; /* ms; decided_at 0 while open */
	int64_t schedule_version, gesv_bp;
};

/*
 * The borrower's request; run restructuring_request_tx with store_write.
 * In: the fields above the line.  Out: exactly one of
 *   - `existing` (the open request, in row),
 *   - `outside_window` (and `window_days`, the rule's entry in `rule_entry`),
 *   - `proposal_refused` (why, and the rule in `rule` for BREAKS_RULE),
 *   - the new request in row (audit restructuring.request).
 * SENIM_ERR_NOT_FOUND: no such loan, or another borrower's.
 * SENIM_ERR_INVALID: no rules in force today.
 */
struct restructuring_request {
	const struct keyring *kr;
	const struct loan_rules *rules;
	const char *actor, *request_id;
	const char *subject_id, *loan_id;
	const char *reason;
	struct restructure_proposal proposal;
	int32_t today;
	/* ---- out */
	int existing, outside_window;
	enum restructure_refusal proposal_refused;
	struct loan_rule_refusal rule;
	const struct loan_rule *rule_entry;
	int64_t window_days;
	struct restructuring row;
	struct loan loan; /* scratch */
	struct loan_rules_in_force in_force;
};
SENIM_MUST_CHECK enum senim_result restructuring_request_tx(struct store_tx *tx,
							    void *op);

/*
 * The borrower's view of a loan's latest request (audit restructuring.read).
 * SENIM_ERR_NOT_FOUND: no such loan, another borrower's, or no request.
 */
struct restructuring_own {
	const struct keyring *kr;
	const char *actor, *request_id;
	const char *subject_id, *loan_id;
	/* ---- out */
	struct restructuring row;
};
SENIM_MUST_CHECK enum senim_result restructuring_own_tx(struct store_tx *tx, void *op);

/*
 * The underwriters' queue: open requests, oldest first, at most
 * RESTRUCTURING_QUEUE_MAX (audit restructuring.queue).  A role without the
 * purpose is `refused` (audited, outcome denied).  Allocated with
 * restructuring_queue_dispose (frees rows).
 */
struct restructuring_queue {
	const struct keyring *kr;
	const struct access_matrix *matrix;
	enum role role;
	const char *actor, *request_id;
	/* ---- out */
	struct access_refusal refused;
	struct restructuring *rows;
	int count;
};
SENIM_MUST_CHECK enum senim_result restructuring_queue_tx(struct store_tx *tx, void *op);
void restructuring_queue_dispose(void *op);

/*
 * A decision; run restructuring_decide_tx with store_write.  The access
 * decision (role, loan_servicing, the subject's state) comes first and a
 * refusal is `refused`, audited.  Then `not_open` (decided already),
 * `loan_closed`, or for an approval that the loan as it is today cannot
 * take `proposal_refused` (and `rule`) — each changes nothing but the
 * days closed on the way (loan_advance, as end of day would).  Otherwise
 * the row is decided, and on approval the loan restructured (see the top).
 * SENIM_ERR_NOT_FOUND: no such request.  SENIM_ERR_INVALID: no rules in
 * force on a day.
 */
struct restructuring_decide {
	const struct keyring *kr;
	const struct loan_rules *rules;
	const struct access_matrix *matrix;
	enum role role;
	const char *actor, *request_id;
	const char *id;
	int approve;
	const char *reason;
	int32_t today;
	/* ---- out */
	struct access_refusal refused;
	int not_open, loan_closed;
	enum restructure_refusal proposal_refused;
	struct loan_rule_refusal rule;
	struct restructuring row;
	struct loan loan; /* scratch, and the loan after an approval */
	struct schedule_row fresh[LOAN_ROWS_MAX];
};
SENIM_MUST_CHECK enum senim_result restructuring_decide_tx(struct store_tx *tx, void *op);

#endif
