/*
 * audit.h — the append-only, hash-chained audit log (S4, T6).
 *
 * Each record says who (actor), did what (operation) to what (object), about
 * which borrower (subject_id, or none), touching which data categories, for
 * which purpose, with what outcome, in which request — and never any personal
 * data itself: every field is an id, a code or a fixed word.
 *
 * record.hash = BLAKE2b-256(previous record's hash || canonical bytes), the
 * first record chaining from 32 zero bytes.  The canonical bytes are each
 * field as a 4-byte big-endian length followed by its bytes, in a fixed order
 * (seq, at, actor, operation, object, subject_id, categories, purpose,
 * outcome, request_id), so no two records encode alike.  The integers seq and
 * at are 8-byte big-endian values (length 8); a NULL subject_id is the length
 * 0xFFFFFFFF with no bytes, so NULL and "" differ.  This is a stored format:
 * changing it breaks every existing chain.  The head (last seq
 * and hash) is kept in audit_head and moved once per write batch.
 *
 * Every AUDIT_CHECKPOINT_RECORDS records, or when AUDIT_CHECKPOINT_SECONDS
 * have passed since the last checkpoint, audit_append() also writes a
 * checkpoint: (seq, hash) signed with the service's Ed25519 key.  Checkpoints
 * catch what hashes alone cannot: a chain recomputed after tampering, or a cut
 * tail.
 *
 * Fail closed: audit_append() is part of the caller's write transaction; if
 * it (or the batch's chaining of the records) fails, the whole operation
 * rolls back.
 */
#ifndef SENIM_AUDIT_H
#define SENIM_AUDIT_H

#include <stdint.h>

#include "common/result.h"
#include "store/store.h"
#include "vault/keyring.h"

#define AUDIT_CHECKPOINT_RECORDS 256
#define AUDIT_CHECKPOINT_SECONDS 60
#define AUDIT_HASH_BYTES 32

struct audit_record {
	const char *actor;	/* "staff:12", "borrower:<id>", "cli", "anonymous" */
	const char *operation;	/* "staff.login", "policy.publish", ... */
	const char *object;	/* "staff:12", "policy:2024-09-23", ... */
	const char *subject_id; /* the borrower concerned, or NULL */
	const char *categories; /* "identity,contact", or "" */
	const char *purpose;	/* a purpose code, or "" */
	const char *outcome;	/* "success", "denied", "failed", "not_found",
				 * "unchanged" (a repeat answered as it was) */
	const char *request_id; /* the HTTP request id, or a CLI run id */
};

/*
 * Append one record as part of the caller's write transaction.  Every string
 * must be non-NULL except subject_id.  The record is checked and copied now
 * and chained when the group commit's batch ends (store_tx_defer): records
 * take their sequence numbers in the order their jobs ran, the head moves
 * once per batch, and the record is durable exactly when the caller's write
 * is.  If the caller's job fails, its records are dropped with it.
 */
SENIM_MUST_CHECK int audit_append(struct store_tx *tx, const struct keyring *kr,
				  const struct audit_record *rec);

/* Sign the current head now if it is not signed yet (used at shutdown). */
SENIM_MUST_CHECK int audit_checkpoint(struct store *st, const struct keyring *kr);

/*
 * Inside a transaction: whether the newest signed checkpoint verifies under
 * this key ring (*fits 1, or 1 when there is none yet) — a cheap check, at
 * start, that the key file is the one this audit log was signed with.
 */
SENIM_MUST_CHECK int audit_signed_by(struct store_tx *tx, const struct keyring *kr,
				     int *fits);

/* Records appended by this process (for /metrics). */
uint64_t audit_records_written(void);

/* The result of walking the whole chain. */
struct audit_report {
	int64_t records;       /* records read */
	int64_t checkpoints;   /* checkpoints checked */
	int64_t first_bad_seq; /* first sequence that does not verify, or 0 */
	char problem[160];     /* what was wrong there, in English, or "" */
};

/*
 * Walk the chain from the start: SENIM_OK when every record, the head and
 * every checkpoint agree; SENIM_ERR_TAMPERED when not, with the first bad
 * sequence (changed, deleted, reordered or inserted record; bad checkpoint)
 * in rep.  Other errors are store failures.
 */
SENIM_MUST_CHECK int audit_verify(struct store *st, const struct keyring *kr,
				  struct audit_report *rep);

#endif
