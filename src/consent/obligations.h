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

#include <jansson.h>

#include "common/result.h"
#include "store/store.h"
#include "vault/keyring.h"
#include "vault/vault.h"

#define OBLIGATIONS_MAX_ROWS 1000000

struct import_error {
	size_t line;	    /* 1-based line of the file */
	const char *column; /* "iin", "contract_number", ... or "(row)" */
	const char *rule;   /* "iin_checksum", "not_registered", "duplicate", ... */
};

/* Progress callback: rows checked so far, total rows; may be NULL. */
typedef void (*import_progress_fn)(size_t done, size_t total, void *ctx);

/*
 * An import of a portfolio (`senim obligations import`): one struct, run by
 * obligations_import().  The caller fills the "in" fields of a zeroed op;
 * the op owns nothing (the text stays the caller's, who wipes it).
 *
 * The text: UTF-8 (a leading byte-order mark is skipped), RFC 4180 quoting,
 * LF or CRLF, trailing empty lines ignored.  Values: iin a valid IIN;
 * contract_number 1-64 characters of A-Z a-z 0-9 / _ . - and Cyrillic
 * letters, matched exactly (no case folding); outstanding_tiyn decimal
 * digits without sign or leading zero, at most 10^15; due_date YYYY-MM-DD;
 * status open|overdue|closed.  Rules: header, columns, quoting, encoding,
 * required, format, length, range, the IIN rules of core/iin.h
 * ("iin_checksum", ...), duplicate (twice in the file), not_registered,
 * exists, too_many_rows.
 * Audit: "obligation.record" per borrower (subject_id set) and one
 * "obligations.import" (object "import:<rows>"), purpose legal_obligation.
 */
struct obligations_import {
	/* in */
	const struct keyring *kr;
	const char *actor;	/* the audit records' actor ("cli") */
	const char *request_id; /* the run's id, for the records */
	const char *csv;	/* the file's text, len bytes */
	size_t len;
	int dry_run;		     /* check everything, the lookups included,
				      * and write and audit nothing */
	import_progress_fn progress; /* may be NULL: every 1000 rows checked */
	void *ctx;		     /* for progress */
	/* out: on SENIM_OK what was (in a dry run: would be) recorded */
	size_t rows;		   /* data rows */
	size_t open;		   /* of which open ("open", "overdue") */
	size_t closed;		   /* of which closed */
	size_t subjects;	   /* distinct borrowers */
	struct import_error error; /* the first bad row; { 0, "", "" } else */
};

/*
 * Check every row, then record them all in one transaction, or none.
 * SENIM_ERR_INVALID with op->error set when a row is bad (nothing written);
 * SENIM_ERR_CONFLICT when a contract is already recorded (named in
 * op->error); SENIM_ERR_TOO_LARGE past OBLIGATIONS_MAX_ROWS rows
 * ("too_many_rows").  Parses and looks up outside the writer; writes with
 * store_write.
 */
SENIM_MUST_CHECK enum senim_result obligations_import(struct store *st,
						      struct obligations_import *op);

/*
 * Settling a contract (`senim obligations close`): run obligations_close_tx
 * with store_write.  SENIM_ERR_NOT_FOUND when no obligation has that number;
 * closing a closed one changes nothing (SENIM_OK).  Audited as
 * "obligation.close".
 */
struct obligations_close {
	/* in (all outlive the op) */
	const struct keyring *kr;
	const char *actor;
	const char *request_id;
	const char *contract_number;
};
SENIM_MUST_CHECK enum senim_result obligations_close_tx(struct store_tx *tx, void *op);

/* Inside a transaction: the number of open obligations of a subject, and
 * (when out is not NULL and there is one) the first open contract number,
 * decrypted into out (cap bytes) for the answer to a refused withdrawal.
 * "First" is the earliest recorded; contracts recorded by one import tie,
 * and among them the choice is arbitrary but stable.  A number longer than
 * cap - 1 bytes is cut at a character boundary; out is "" when the count is
 * 0 or the subject's data key is gone. */
SENIM_MUST_CHECK enum senim_result
obligations_open_in(struct store_tx *tx, const struct keyring *kr, const char *subject_id,
		    int64_t *count, char *out, size_t cap);

/*
 * The sealed details of one obligation row (its `details` blob and
 * `contract_digest`), opened with the subject's data key into *out:
 * {"contract_number", "outstanding_tiyn", "due_date", "status"} (caller
 * decrefs; personal data).  SENIM_ERR_CRYPTO when they do not open as that
 * row's (moved between rows, or altered).  For the access package
 * (rights/package.h), which lists them without a query per row.
 */
SENIM_MUST_CHECK enum senim_result
obligations_details_open(const struct keyring *kr, const struct vault_dek *dek,
			 const char *subject_id, const unsigned char *digest,
			 const void *blob, size_t len, json_t **out);

#endif
