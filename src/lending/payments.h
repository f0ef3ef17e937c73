/*
 * payments.h — repayments of senim's loans (`loan_payments`, migration 13)
 * and the borrower's view of their loans (U2, purpose loan_servicing).
 *
 * A repayment is the payment provider's notice (connectors/payment.h)
 * applied to one loan in one write: the loan brought to the day before the
 * payment (loan_advance), the payment applied on its day (servicing_pay),
 * the loan saved, the payment's row with its split, the bureau events
 * `payment` (and `closed` when it closes the loan) and the audit record
 * `loan.payment`, all or nothing.
 *
 * Invariants:
 *   - (provider, reference) is unique: a notice sent again is found by it
 *     and answered with the row first written (`replayed`); the same
 *     reference with another body (its digest differs) is `reused` and
 *     changes nothing.
 *   - The day a payment is applied is its paid day (UTC) when that day is
 *     still open for the loan, else the loan's next open day (a notice for
 *     a day end of day already closed cannot be put into a closed day: the
 *     closed days are the loan's history, and the bureau has them).
 *   - The split's parts sum to the amount; overpayment is what no debt took,
 *     recorded on the row and in the loan's state, never dropped.
 *   - The row holds ids, amounts, days and codes: no contract number, IIN
 *     or card.
 */
#ifndef SENIM_LENDING_PAYMENTS_H
#define SENIM_LENDING_PAYMENTS_H

#include <stddef.h>
#include <stdint.h>

#include "common/result.h"
#include "core/servicing.h"
#include "lending/loans.h"
#include "store/store.h"
#include "vault/keyring.h"

#define LOAN_PAYMENT_ID_LEN (4 + ID_BODY_CHARS + 1) /* "lpm_" + 22 + NUL */
#define LOAN_PAYMENT_REF_MAX 64
#define LOAN_PAYMENT_DIGEST 32 /* SHA-256 of the notice's canonical form */
#define LOAN_PAYMENTS_LIST_MAX 200
#define LOAN_LIST_MAX 50

/* 1 when id is "lon_" and an id body. */
int loan_id_valid(const char *id);

/* One payment as stored (and answered). */
struct loan_payment {
	char id[LOAN_PAYMENT_ID_LEN];
	char loan_id[LOAN_ID_LEN];
	char reference[LOAN_PAYMENT_REF_MAX + 1];
	char kind[8];	      /* "due", "early" */
	char channel[16];     /* payment_channel_code */
	char status_after[8]; /* the loan's status after it */
	int64_t amount;
	int32_t paid_day, applied_day;
	struct servicing_split split; /* events unused (0) */
	int64_t principal_after;
	int64_t received_at; /* ms */
};

enum loan_payment_outcome {
	LOAN_PAYMENT_APPLIED,	 /* new: the row and the loan written */
	LOAN_PAYMENT_REPLAYED,	 /* the same notice again: the first row */
	LOAN_PAYMENT_REUSED,	 /* the reference with another body: nothing */
	LOAN_PAYMENT_CLOSED,	 /* the loan is closed: nothing */
	LOAN_PAYMENT_OTHER_LOAN, /* the reference was used for another loan */
};

/*
 * A repayment; run loan_payment_tx with store_write.  In: the fields above
 * the line (strings are the caller's).  Out: the outcome, the row (applied
 * or replayed).  SENIM_ERR_NOT_FOUND: no such loan; SENIM_ERR_INVALID: no
 * rules in force on a day to close, or servicing refused the payment.
 */
struct loan_payment_op {
	const struct keyring *kr;
	const struct loan_rules *rules;
	const char *actor, *request_id;
	const char *provider; /* the recipient code of the provider */
	const char *loan_id;
	const char *reference;
	const char *channel;
	int64_t amount;
	int32_t paid_day;
	int32_t today; /* UTC day number of now: the latest day applied on */
	enum servicing_pay_kind kind;
	unsigned char digest[LOAN_PAYMENT_DIGEST];
	/* ---- out */
	enum loan_payment_outcome outcome;
	struct loan_payment row;
	struct loan loan; /* scratch: the loan as loaded and paid */
};
SENIM_MUST_CHECK enum senim_result loan_payment_tx(struct store_tx *tx, void *op);

/* ---- the borrower's reads ---------------------------------------------------------- */

enum loan_own_view {
	LOAN_OWN_LIST,	   /* the borrower's loans, newest first */
	LOAN_OWN_ONE,	   /* one loan, its state and payoff today */
	LOAN_OWN_SCHEDULE, /* one loan's current schedule */
	LOAN_OWN_PAYMENTS, /* one loan's payments, oldest first */
};

/* A loan as the borrower sees it: its state this morning (the days end of
 * day has not closed yet closed on a copy, nothing recorded). */
struct loan_view {
	struct loan loan;
	int64_t payoff;	    /* full repayment on `today` */
	int32_t today;	    /* today, or the loan's next open day when it
			     * could not be brought to today */
	int64_t created_at; /* ms */
};

/*
 * The borrower's read; run loan_own_tx with store_write (it appends the
 * audit record loan.read / loan.list, purpose loan_servicing).  Another
 * borrower's loan is SENIM_ERR_NOT_FOUND, as one that does not exist.
 * Allocated with loan_own_dispose (frees the lists).
 */
struct loan_own {
	const struct keyring *kr;
	const char *actor, *request_id;
	const char *subject_id;
	const char *id; /* with ONE, SCHEDULE, PAYMENTS */
	enum loan_own_view view;
	const struct loan_rules *rules; /* NULL: no catching up (loan_view) */
	int32_t today;			/* the day number of today (UTC) */
	/* ---- out */
	struct loan_view *loans; /* LIST: count; others: one */
	int count;
	struct loan_payment *payments; /* PAYMENTS */
	int npayments;
};
SENIM_MUST_CHECK enum senim_result loan_own_tx(struct store_tx *tx, void *op);
void loan_own_dispose(void *op);

#endif
