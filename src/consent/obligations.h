/*
 * obligations.h — a borrower's open obligations to the MFO, whatever their
 * origin (C2: consent needed for an obligation cannot be withdrawn while it
 * is open).
 *
 * A lender moving to senim brings its portfolio: obligations_import() reads
 * a CSV file
 *     iin,contract_number,outstanding_tiyn,due_date,status
 * (header line required; status "open" or "overdue" imports as open,
 * "closed" as closed), validates every row, and records all of them in one
 * transaction — or none: the first bad row is named (line number, column,
 * rule) and nothing is written.  Each row's IIN must belong to a registered
 * subject (found by blind index).  The contract number, amount and due date
 * are sealed with the subject's data key; the contract is found later by a
 * blind index of its number.  Every import and close is audited.
 */
#ifndef SENIM_OBLIGATIONS_H
#define SENIM_OBLIGATIONS_H

#include <stddef.h>
#include <stdint.h>

#include "common/result.h"
#include "store/store.h"
#include "vault/keyring.h"

#define OBLIGATIONS_MAX_ROWS 1000000

struct import_error {
	size_t line;	    /* 1-based line of the file */
	const char *column; /* "iin", "contract_number", ... or "(row)" */
	const char *rule;   /* "iin_checksum", "not_registered", "duplicate", ... */
};

/* Progress callback: rows checked so far, total rows; may be NULL. */
typedef void (*import_progress_fn)(size_t done, size_t total, void *ctx);

/*
 * Import the CSV text.  *imported gets the number of rows recorded.
 * SENIM_ERR_INVALID with *e set when a row is bad (nothing written);
 * SENIM_ERR_CONFLICT when a contract is already recorded (named in *e).
 * SENIM_ERR_TOO_LARGE past OBLIGATIONS_MAX_ROWS rows ("too_many_rows").
 *
 * The text: UTF-8 (a leading byte-order mark is skipped), RFC 4180 quoting,
 * LF or CRLF, trailing empty lines ignored.  Values: iin a valid IIN;
 * contract_number 1-64 characters of A-Z a-z 0-9 / _ . - and Cyrillic
 * letters, matched exactly (no case folding); outstanding_tiyn decimal
 * digits without sign or leading zero, at most 10^15; due_date YYYY-MM-DD;
 * status open|overdue|closed.  Rules: header, columns, quoting, encoding,
 * required, format, length, range, the IIN rules of core/iin.h
 * ("iin_checksum", ...), duplicate (twice in the file), not_registered,
 * exists, too_many_rows.  On other errors *e is { 0, "", "" }.
 * Audit: "obligation.record" per borrower (subject_id set) and one
 * "obligations.import" (object "import:<rows>"), purpose legal_obligation.
 */
SENIM_MUST_CHECK int obligations_import(struct store *st, const struct keyring *kr,
					const char *actor, const char *request_id,
					const char *csv, size_t len, size_t *imported,
					struct import_error *e,
					import_progress_fn progress, void *ctx);

/*
 * The same import with its options and counts, for `senim obligations
 * import` and its summary line.  With run->dry_run set every check runs,
 * the lookups included, and nothing is written or audited.  run->progress
 * (may be NULL) is called every 1000 rows checked.  On SENIM_OK the counts
 * say what was (or, in a dry run, would be) recorded.
 */
struct import_run {
	int dry_run;		     /* in */
	import_progress_fn progress; /* in, may be NULL */
	void *ctx;		     /* in, for progress */
	size_t rows;		     /* out: data rows recorded */
	size_t open;		     /* out: of which open ("open", "overdue") */
	size_t closed;		     /* out: of which closed */
	size_t subjects;	     /* out: distinct borrowers */
};
SENIM_MUST_CHECK int obligations_import_run(struct store *st, const struct keyring *kr,
					    const char *actor, const char *request_id,
					    const char *csv, size_t len,
					    struct import_run *run,
					    struct import_error *e);

/* Settle a contract.  SENIM_ERR_NOT_FOUND when unknown; closing a closed
 * one changes nothing (SENIM_OK).  Audited as "obligation.close". */
SENIM_MUST_CHECK int obligations_close(struct store *st, const struct keyring *kr,
				       const char *actor, const char *request_id,
				       const char *contract_number);

/* Inside a transaction: the number of open obligations of a subject, and
 * (when out is not NULL and there is one) the first open contract number,
 * decrypted into out (cap bytes) for the answer to a refused withdrawal.
 * "First" is the earliest recorded; contracts recorded by one import tie,
 * and among them the choice is arbitrary but stable.  A number longer than
 * cap - 1 bytes is cut at a character boundary; out is "" when the count is
 * 0 or the subject's data key is gone. */
SENIM_MUST_CHECK int obligations_open_in(struct store_tx *tx, const struct keyring *kr,
					 const char *subject_id, int64_t *count,
					 char *out, size_t cap);

#endif
