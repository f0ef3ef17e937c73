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
 * Every write batch (one group commit, store_tx_defer) ends in a checkpoint:
 * its last record's (seq, hash) signed with the Ed25519 key of the key file,
 * which is not in the database, written in the batch's own transaction.  So
 * the newest checkpoint always names the head, and no record can be
 * changed, added or removed without the key: a chain recomputed after
 * tampering no longer matches what was signed, and records after the
 * newest checkpoint cannot exist.  One signature per batch, not per record.
 *
 * What the database alone cannot show is a log cut back to an older signed
 * checkpoint.  So each checkpoint is also written, after the batch's COMMIT
 * and durably before any of its callers is answered, to the anchor: a file
 * outside the database (anchor.h, audit_anchor_open) and a line
 * "audit_checkpoint" in the log stream.  Verification checks the database
 * against the anchor.  The threat model: docs/threat-model.md.
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

#define AUDIT_HASH_BYTES 32
/* Signed checkpoints the database may hold beyond the anchor after a crash:
 * one a batch, those committed while their lines were not yet written
 * (store_tx_after_commit). */
#define AUDIT_ANCHOR_LAG STORE_AFTER_COMMIT_LAG

struct audit_record {
	const char *actor;	/* "staff:12", "borrower:<id>", "cli", "anonymous" */
	const char *operation;	/* "staff.login", "policy.publish", ... */
	const char *object;	/* "staff:12", "policy:2024-09-23", ... */
	const char *subject_id; /* the borrower concerned, or NULL */
	const char *categories; /* "identity,contact", or "" */
	const char *purpose;	/* a purpose code, or "" */
	const char *outcome;	/* "success", "denied", "failed", "not_found",
				 * "unchanged" (a repeat answered as it was),
				 * "limited" (R5: a read answered in its
				 * limited view) */
	const char *request_id; /* the HTTP request id, or a CLI run id */
};

/*
 * Append one record as part of the caller's write transaction.  Every string
 * must be non-NULL except subject_id.  The record is checked and copied now
 * and chained when the group commit's batch ends (store_tx_defer): records
 * take their sequence numbers in the order their jobs ran, the head moves
 * once per batch, and the record is durable exactly when the caller's write
 * is.  If the caller's job fails, its records are dropped with it.  The
 * batch fails with SENIM_ERR_TAMPERED when the head it would extend is not
 * the one the newest checkpoint signed (written without the key: never
 * signed over), and its callers get SENIM_ERR_IO when the checkpoint cannot
 * be anchored (the records are durable then, but not to be acted on).
 */
SENIM_MUST_CHECK enum senim_result audit_append(struct store_tx *tx,
						const struct keyring *kr,
						const struct audit_record *rec);

/*
 * The anchor file this process appends every checkpoint to (created mode
 * 0600 when missing, opened O_APPEND).  Call before the first write, from
 * one thread; without one, checkpoints go to the log stream only.
 * SENIM_ERR_IO (logged as audit_anchor_failed) when it cannot be opened.
 */
SENIM_MUST_CHECK enum senim_result audit_anchor_open(const char *path);
void audit_anchor_close(void);
/* The open anchor's path, or NULL. */
const char *audit_anchor_path(void);

/*
 * Inside a transaction: whether the newest signed checkpoint verifies under
 * this key ring (*fits 1, or 1 when there is none yet) — a cheap check, at
 * start, that the key file is the one this audit log was signed with.
 */
SENIM_MUST_CHECK enum senim_result audit_signed_by(struct store_tx *tx,
						   const struct keyring *kr, int *fits);

/* Records appended by this process (for /metrics). */
uint64_t audit_records_written(void);

/* The result of walking the whole chain. */
struct audit_report {
	int64_t records;	 /* records read */
	int64_t checkpoints;	 /* checkpoints checked */
	int64_t anchored;	 /* checkpoints read from the anchor file */
	int64_t anchor_last_seq; /* the newest of them, or 0 */
	int64_t anchor_skipped;	 /* anchor lines that did not parse (torn writes) */
	int anchor_missing;	 /* the anchor file does not exist */
	int64_t first_bad_seq;	 /* first sequence that does not verify, or 0 */
	char problem[320];	 /* what was wrong there, in English, or "" */
};

/*
 * Walk the chain from the start: SENIM_OK when every record, the head and
 * every checkpoint agree, the newest signed checkpoint names the last
 * record, and a log that is empty holds no borrowers, staff or policies.
 * SENIM_ERR_TAMPERED when not, with the first bad sequence (changed,
 * deleted, reordered or inserted record; bad or missing checkpoint; wiped
 * log; another deployment's key) in rep.  Other errors are store failures.
 *
 * With an anchor path, also: every line of the anchor that names a record
 * must match it, and the last record must reach the newest signed line (a
 * cut tail names the last anchored sequence missing); the database may be
 * ahead of the anchor by AUDIT_ANCHOR_LAG checkpoints (a crash between the
 * COMMITs and their anchor lines) but not more.  An anchor file that does not exist, in front
 * of a log that has checkpoints, is SENIM_ERR_NOT_FOUND (rep.anchor_missing)
 * unless the walk found tampering.  The anchor is read before the database,
 * so a live server's new batches are no false alarm.
 */
SENIM_MUST_CHECK enum senim_result audit_verify_anchored(struct store *st,
							 const struct keyring *kr,
							 const char *anchor,
							 struct audit_report *rep);

/* audit_verify_anchored() against this process's anchor (audit_anchor_open),
 * or none. */
SENIM_MUST_CHECK enum senim_result
audit_verify(struct store *st, const struct keyring *kr, struct audit_report *rep);

#endif
