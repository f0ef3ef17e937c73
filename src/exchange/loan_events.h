/*
 * loan_events.h — the lender's loan events, the feed of the credit bureau
 * reports (T2; design §5.1, §8 step 7), and their turning into `deliver`
 * transfers for a bureau (`senim bureau report`).
 *
 * Until lending lives in senim, the events come from a CSV file
 * (`senim bureau import`, docs/bureau-reporting.md):
 *     event,occurred_on,iin,contract_number,amount_tiyn,outstanding_tiyn,overdue_days,due_date
 * loan_events_import() checks every row and records all of them in one
 * transaction, or none: the first bad row is named by its line, column and
 * rule, never by a value.  Invariants of the table `loan_events`:
 *   - one row per (contract, event, occurred_on): the contract is its blind
 *     index (kind "contract", as for obligations), so a re-import of the same
 *     file records nothing again (those rows are counted as skipped);
 *   - seq grows with every row recorded, in file order, and is never reused:
 *     a bureau's cursor (bureau_cursors.last_seq) says every event up to it
 *     has been decided for that bureau;
 *   - the details (contract number, amounts, dates) are sealed with the
 *     subject's data key, bound to the row's id; the row itself holds only
 *     ids, codes and the date.
 *
 * loan_events_queue_tx() is one batch of `bureau report`: in one write
 * transaction, up to LOAN_EVENTS_BATCH events after the recipient's cursor
 * are each decided (exchange_decide, by_system) and become either a
 * transfers row (mode 'deliver', state 'pending', its event as the sealed
 * payload, the batch id `lbt_...` shared by the batch) or a `refused`
 * register entry; the cursor moves to the last of them in the same
 * transaction, so an event is queued at most once per bureau.
 *
 * An `applied` event (a microcredit applied for, recorded by a submission,
 * lending/decisions.h) goes only to a service whose ground is `law:` — the
 * bureau with state participation, GKB (Law 573-II Art. 19(2)(8)); for any
 * other bureau it gets a `refused` register entry with the reason
 * LOAN_EVENTS_NOT_TAKEN and nothing leaves.  An import never brings one.
 */
#ifndef SENIM_LOAN_EVENTS_H
#define SENIM_LOAN_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "common/result.h"
#include "core/access.h"
#include "connectors/bureau.h"
#include "core/recipients.h"
#include "exchange/outbox.h"
#include "store/store.h"
#include "vault/keyring.h"

#define LOAN_EVENTS_MAX_ROWS 1000000
#define LOAN_EVENTS_BATCH 500 /* loan_event/1's most per request */
/* The register's reason for an `applied` event not sent to a bureau whose
 * service's ground is not `law:` (queue below). */
#define LOAN_EVENTS_NOT_TAKEN "event_not_taken"

struct loan_import_error {
	size_t line;	    /* 1-based line of the file */
	const char *column; /* "event", "iin", ... or "(row)" */
	const char *rule;   /* "required", "format", "not_registered", ... */
};

typedef void (*loan_import_progress_fn)(size_t done, size_t total, void *ctx);

/*
 * An import (`senim bureau import`).  The caller fills the "in" fields of a
 * zeroed op; the op owns nothing (the text stays the caller's, who wipes it).
 *
 * The text: UTF-8, RFC 4180 quoting, LF or CRLF, the header line above.
 * Values: event issued|payment|overdue|restructured|closed|written_off;
 * occurred_on and due_date YYYY-MM-DD; iin a valid IIN of a registered
 * subject; contract_number 1-64 of A-Z a-z 0-9 / _ . -; amount_tiyn and
 * outstanding_tiyn digits, at most 10^15; overdue_days digits, at most
 * 36500.  amount_tiyn, outstanding_tiyn, overdue_days and due_date may be
 * empty, except as the event needs them (loan_event/1): issued needs
 * amount, outstanding and due date ("required"), overdue needs overdue_days
 * above 0 ("overdue_days"), closed needs outstanding 0 ("closed_debt").
 * Other rules: header, columns, quoting, encoding, format, length, range,
 * the IIN rules of core/iin.h, duplicate (the same contract, event and date
 * twice in the file), not_registered, too_many_rows.
 * Audit: "loan_event.record" per subject, one "loan_events.import"
 * (object "import:<recorded>"), purpose legal_obligation.
 */
struct loan_events_import {
	/* in */
	const struct keyring *kr;
	const char *actor;
	const char *request_id;
	const char *csv;
	size_t len;
	int dry_run; /* check everything, the lookups included; write nothing */
	loan_import_progress_fn progress; /* may be NULL */
	void *ctx;
	/* out */
	size_t rows;	 /* data rows */
	size_t recorded; /* new events (in a dry run: that would be) */
	size_t skipped;	 /* imported already */
	size_t subjects; /* distinct borrowers among the new events */
	struct loan_import_error error;
};

/*
 * Check every row, then record the new ones in one transaction, or none.
 * SENIM_ERR_INVALID with op->error for a bad row; SENIM_ERR_TOO_LARGE past
 * LOAN_EVENTS_MAX_ROWS; store errors as they come.
 */
SENIM_MUST_CHECK enum senim_result loan_events_import(struct store *st,
						      struct loan_events_import *op);

/*
 * One batch of reporting to one bureau's loan_event/1 service; run with
 * store_write.  In: the fields above the line.  Out: how many events were
 * taken (0: nothing new after the cursor), queued and refused.
 */
struct loan_events_queue {
	const struct keyring *kr;
	const struct recipients *recipients;
	const struct access_matrix *matrix;
	const struct recipient *recipient;
	const struct recipient_service *service; /* api loan_event/1 */
	const char *actor;
	const char *request_id;
	/* ---- out */
	size_t taken, queued, refused, invalid;
	char batch_id[OUTBOX_ID_LEN];
};
SENIM_MUST_CHECK enum senim_result loan_events_queue_tx(struct store_tx *tx, void *op);

/*
 * One event recorded by lending (a loan issued, paid, overdue, restructured,
 * closed), inside the caller's write: the same row an import writes, sealed
 * the same way with `dek` (the subject's key, loaded by the caller), the
 * next seq, and its audit record (loan_event.record, purpose
 * legal_obligation).  An event recorded already (the same contract, event
 * and day) is left as it is and *recorded stays 0, so a rerun of the same
 * day records nothing twice.  Amounts and overdue_days are BUREAU_ABSENT
 * (-1) when not given.  `purpose` is required for BUREAU_EVENT_APPLIED (a
 * code of bureau_purpose_ok(), with amount_tiyn) and NULL for every other
 * event.  SENIM_ERR_INVALID for a contract number of 0 or more than 64
 * bytes, an unknown event, a missing string or a purpose broken so.
 */
struct vault_dek;
struct loan_event_new {
	const char *subject_id;
	const char *contract_number;
	enum bureau_event_kind event;
	int32_t occurred_on; /* day number (core/schedule.h) */
	int64_t amount_tiyn, outstanding_tiyn, overdue_days;
	int has_due;
	int32_t due;	     /* day number, with has_due */
	const char *purpose; /* applied only: bureau_purpose_ok(); else NULL */
	const char *actor, *request_id;
};
SENIM_MUST_CHECK enum senim_result loan_events_append_tx(struct store_tx *tx,
							 const struct keyring *kr,
							 const struct vault_dek *dek,
							 const struct loan_event_new *e,
							 int *recorded);

/* loan_event/1 for the outbox's pump: the batch body from the rows'
 * payloads (each one event object), and the answer's check. */
extern const struct outbox_api loan_events_api;

#endif
