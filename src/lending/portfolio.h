/*
 * portfolio.h — a loan portfolio migrated from another system
 * (`senim loans import`, docs/end-of-day.md): each row of a CSV file opens a
 * loan exactly as a payout would (lending/loans.h loan_open_tx) and records
 * the bureau's `issued` event (exchange/loan_events.h).
 *
 * The text: UTF-8, RFC 4180 quoting, LF or CRLF, the header line
 *     contract_number,iin,principal_tiyn,rate_bp,method,payments,term_days,
 *     start_date,penalty_daily_bp,penalty_annual_bp
 * (one line).  Values: contract_number 1-64 of A-Z a-z 0-9 / _ . -; iin a
 * valid IIN of a registered borrower; principal_tiyn 1 to 10^13; rate_bp 0
 * to 100000; method annuity|differentiated|single; payments 1 to 600 for
 * the monthly methods and empty for single, term_days 1 to 3660 for single
 * and empty for the others; start_date YYYY-MM-DD, the payout day;
 * penalty_daily_bp and penalty_annual_bp 0 to 100000.
 *
 * Invariants:
 *   - Every row is checked before anything is written: the format rules,
 *     the schedule and servicing accepting the terms, a contract number
 *     twice in the file ("duplicate"), and in one read every IIN's borrower
 *     found by its blind index ("not_registered").  The first bad row is
 *     named by line, column and rule, never a value, and nothing is written.
 *   - Then the new rows are written PORTFOLIO_CHUNK to a write transaction:
 *     each loan, its loan.open audit record and its `issued` event commit
 *     together; the last chunk adds one `loans.import` audit record.  A
 *     contract number already a loan is skipped and counted, so re-importing
 *     a file opens nothing twice, and an import cut off by a crash or a
 *     store failure is finished by running it again.
 *   - The op owns nothing; the text stays the caller's, who wipes it.  The
 *     rows the import keeps (offsets into the text, digests, numbers) are
 *     wiped before they are freed.
 */
#ifndef SENIM_PORTFOLIO_H
#define SENIM_PORTFOLIO_H

#include <stddef.h>

#include "common/result.h"
#include "store/store.h"
#include "vault/keyring.h"

#define PORTFOLIO_MAX_ROWS 1000000
#define PORTFOLIO_CHUNK 2000 /* loans per write transaction */

struct portfolio_error {
	size_t line;	    /* 1-based line of the file */
	const char *column; /* "contract_number", ... or "(row)" */
	const char *rule;   /* "required", "format", "not_registered", ... */
};

/* Progress: `phase` "checked" or "imported", done of total rows. */
typedef void (*portfolio_progress_fn)(const char *phase, size_t done, size_t total,
				      void *ctx);

/*
 * Rules named: header, columns, quoting, encoding, required, format,
 * length, range, the IIN rules of core/iin.h, term (payments given with
 * single or term_days with a monthly method), schedule (terms the schedule
 * or servicing refuse), duplicate, not_registered, too_many_rows.
 */
struct portfolio_import {
	/* in */
	const struct keyring *kr;
	const char *actor;
	const char *request_id;
	const char *csv;
	size_t len;
	int dry_run; /* check everything, the lookups included; write nothing */
	portfolio_progress_fn progress; /* may be NULL */
	void *ctx;
	/* out */
	size_t rows;	/* data rows */
	size_t opened;	/* loans opened (in a dry run: that would be) */
	size_t skipped; /* contract numbers that are loans already */
	size_t events;	/* `issued` events recorded */
	struct portfolio_error error;
};

/*
 * Check every row, then open the new loans.  SENIM_ERR_INVALID with
 * op->error for a bad row; SENIM_ERR_TOO_LARGE past PORTFOLIO_MAX_ROWS;
 * store errors as they come (the chunks committed before stay: rerun).
 */
SENIM_MUST_CHECK enum senim_result portfolio_import(struct store *st,
						    struct portfolio_import *op);

#endif
