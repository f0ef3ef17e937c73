/*
 * loans.h — microcredits in the store (`loans`, `loan_payments`,
 * store/migrations.c version 10): a loan's terms, its current schedule and
 * its servicing state (core/servicing.h) kept exactly as they are, and what
 * every path that touches a loan shares — opening one, loading and saving
 * it, closing its days, recording a payment.
 *
 * Invariants:
 *   - `state` is struct loan_state encoded field by field, big-endian
 *     (LOAN_STATE_BYTES); `schedule` the current rows, LOAN_ROW_BYTES each.
 *     Decoding checks the length and servicing_check(); a state saved
 *     before carried_interest existed (LOAN_STATE_BYTES_V1) decodes with
 *     it 0, and the next save writes the current length.  A row that does
 *     not decode is SENIM_ERR_CRYPTO's cousin SENIM_ERR_STORE, never used.
 *   - The columns status, day, overdue_days, principal_left and
 *     carried_interest (migration 24) mirror the state (a save writes them
 *     together), so end of day finds the loans it must close by index, and
 *     a portfolio report needs no decoding.
 *   - The contract number is personal (it leads to the borrower at a
 *     bureau): sealed under the subject's key in `sealed`, found by its
 *     blind index `contract_index` (kind "contract", unique).  The amounts
 *     and days are plain integers keyed by opaque ids.
 *   - A loan is opened at its payout: its schedule starts on that day.
 *   - Every write appends its audit record in the same transaction.
 */
#ifndef SENIM_LOANS_H
#define SENIM_LOANS_H

#include <stddef.h>
#include <stdint.h>

#include "common/ids.h"
#include "common/result.h"
#include "core/loan_rules.h"
#include "core/schedule.h"
#include "core/servicing.h"
#include "store/store.h"
#include "vault/keyring.h"

#define LOAN_ID_LEN (4 + ID_BODY_CHARS + 1) /* "lon_" + 22 + NUL */
#define LOAN_CONTRACT_MAX 64		    /* bytes of a contract number */
#define LOAN_STATE_BYTES 216		    /* struct loan_state, encoded */
#define LOAN_STATE_BYTES_V1 208		    /* before carried_interest */
#define LOAN_ROW_BYTES 36		    /* due 4, four amounts 8 each */
#define LOAN_ROWS_MAX SCHEDULE_MAX_PAYMENTS

/* ---- encodings ------------------------------------------------------------------- */

void loan_state_encode(const struct loan_state *st, unsigned char out[LOAN_STATE_BYTES]);
/* From LOAN_STATE_BYTES, or LOAN_STATE_BYTES_V1 (carried_interest 0).
 * SENIM_ERR_INVALID for another length or a state that breaks
 * servicing_check(). */
SENIM_MUST_CHECK enum senim_result loan_state_decode(const void *p, size_t len,
						     struct loan_state *st);
void loan_rows_encode(const struct schedule_row *rows, size_t n, unsigned char *out);
/* Into rows[0..*n), cap at most; SENIM_ERR_INVALID for a length that is not
 * a whole number of rows, none, or more than cap. */
SENIM_MUST_CHECK enum senim_result loan_rows_decode(const void *p, size_t len,
						    struct schedule_row *rows, size_t cap,
						    size_t *n);

/* "open", "overdue", "closed". */
const char *loan_status_code(enum loan_status s);
/* "annuity", "differentiated", "single"; and back (-1 when unknown). */
const char *loan_method_code(enum schedule_method m);
int loan_method_parse(const char *s);

/* ---- a loan ---------------------------------------------------------------------- */

/* A loan as loaded: what servicing needs, and its rows inline. */
struct loan {
	char id[LOAN_ID_LEN];
	char subject_id[SUBJECT_ID_LEN];
	struct servicing_terms terms;
	int32_t payments; /* annuity, differentiated: the schedule's count */
	int32_t days;	  /* single: the term in days */
	struct loan_state state;
	struct schedule_row rows[LOAN_ROWS_MAX];
	size_t nrows;
};

/*
 * Open a loan at its payout: the schedule of `terms` (start = the payout
 * day) built, its state opened, the row inserted with its audit record
 * (loan.open, purpose loan_servicing).  In: the fields above the line;
 * contract_number is sealed.  Out: the loan's id, its state and rows
 * (op->loan).  SENIM_ERR_INVALID for terms the schedule or servicing
 * refuse; SENIM_ERR_CONFLICT when the contract number is a loan already.
 */
struct loan_open {
	const struct keyring *kr;
	const char *actor, *request_id;
	const char *subject_id;
	const char *application_id; /* NULL: a loan migrated from another system */
	const char *contract_number;
	struct servicing_terms terms;
	int32_t payments, days;
	/* ---- out */
	struct loan loan;
};
SENIM_MUST_CHECK enum senim_result loan_open_tx(struct store_tx *tx, void *op);

/* Inside a transaction: load loan `id` into *out.  SENIM_ERR_NOT_FOUND;
 * SENIM_ERR_STORE when its stored state or rows do not decode. */
SENIM_MUST_CHECK enum senim_result loan_load(struct store_tx *tx, const char *id,
					     struct loan *out);

/* Inside a write: store l's state and rows (and the columns that mirror
 * them).  No audit record: the caller's operation has its own. */
SENIM_MUST_CHECK enum senim_result loan_save(struct store_tx *tx, const struct loan *l);

/* Inside a transaction: the sealed contract number of l, opened. */
SENIM_MUST_CHECK enum senim_result loan_contract_number(struct store_tx *tx,
							const struct keyring *kr,
							const struct loan *l,
							char out[LOAN_CONTRACT_MAX + 1]);

/*
 * Bring l forward: close its days after l->state.day up to and including
 * `through`, each with the rules in force that day (loan_rules_in_force),
 * and record what they say happened, in the caller's write:
 *   - SERVICING_EV_BECAME_OVERDUE: a loan event `overdue` for the bureaus
 *     (exchange/loan_events.h), on the delay's first day;
 *   - SERVICING_EV_NOTICE_DUE: a delinquency notice queued in
 *     `loan_notices` (kind 'delinquency', state 'queued', its deadline
 *     notice_by) for the messaging work to send;
 * then saves l (loan_save).  Nothing when through <= l->state.day, so a
 * rerun of a day finds the loan done and changes nothing.  A payment is
 * never applied here: the payment's own operation brings the loan to the
 * day before it (this function) and pays on its day (servicing_pay).
 * *closed (may be NULL) gets the days closed.  SENIM_ERR_INVALID when no
 * rules are in force on a day or servicing refuses a step.
 */
struct loan_rules;
struct loan_advance {
	const struct keyring *kr;
	const struct loan_rules *rules;
	const char *actor, *request_id;
	int32_t through;
	/* ---- out, added to (a caller may sum over loans) */
	size_t days, overdue_events, notices;
	/* private: the rules in force on cached_day, kept across loans */
	int cached;
	int32_t cached_day;
	struct loan_rules_in_force in_force;
};
SENIM_MUST_CHECK enum senim_result loan_advance(struct store_tx *tx, struct loan *l,
						struct loan_advance *a);

#endif
