/*
 * backup.h — `senim backup DIR` and `senim restore DIR` (O1): an online,
 * consistent, encrypted copy of the store, and putting one back so that
 * crypto-shredding survives it.
 *
 * A backup is a directory:
 *   manifest.json   what it is: format "senim-backup-1", the deployment
 *                   id, the store's kind and schema version, when it was
 *                   made, the KEK version its key comes from, and each
 *                   part's file name, size and SHA-256 (backup_manifest_*)
 *   store.<kind>    the store's snapshot (store/snapshot.h), encrypted
 *                   with libsodium's secretstream (XChaCha20-Poly1305):
 *                   "SENIMBK1" || the 24-byte stream header || chunks,
 *                   each a 4-byte big-endian length and a sealed chunk of
 *                   at most 64 KiB, the last tagged FINAL (a cut file
 *                   does not open).
 * The key is derived from a KEK of the key ring (keyring_derive) over the
 * deployment id, the time, the store's kind and the part's name, so an
 * edited manifest no longer opens its part.  A backup never holds a KEK,
 * the key file, the shred journal or the audit anchor: those stay in the
 * key directory, and restoring needs that directory.
 *
 * Restoring (backup_restore): the manifest's deployment must be the key
 * directory's (deployment.h), else nothing changes; the part's SHA-256 and
 * every chunk are checked before anything is written.  A marker file
 * (BACKUP_RESTORING_NAME, beside the key file) exists from before the
 * store is touched until every subject of the shred journal
 * (vault/shred.h) is shredded again, and the CLI refuses to open a store
 * while it exists, so a crash in between never leaves a restored store
 * usable with a shredded subject readable.  The restored log gets a
 * "backup.restore" record naming the backup, after the "restore.shred" ones.  On SQLite the shredding is done
 * in the decrypted copy before it is copied in, so the store never holds
 * the old keys at all.  The audit anchor, which describes the log the
 * restore replaces, is renamed "<anchor>.before-restore-<us>" and a new one
 * started, so the restored log verifies against what is anchored from then
 * on and the old anchor stays as the record of what was replaced.
 */
#ifndef SENIM_BACKUP_BACKUP_H
#define SENIM_BACKUP_BACKUP_H

#include <stddef.h>
#include <stdint.h>

#include "backup/deployment.h"
#include "common/result.h"
#include "store/store.h"
#include "vault/keyring.h"

#define BACKUP_FORMAT "senim-backup-1"
#define BACKUP_MANIFEST_NAME "manifest.json"
#define BACKUP_MANIFEST_MAX (64 * 1024)
#define BACKUP_RESTORING_NAME "senim.restoring"

/* What manifest.json says (one part: the store). */
struct backup_manifest {
	char deployment[DEPLOYMENT_ID_LEN];
	char backend[16]; /* "sqlite" or "postgres" */
	int schema_version;
	int64_t created_at; /* us since the epoch */
	uint32_t kek_version;
	char part[32];	    /* "store.sqlite" or "store.pgdump" */
	int64_t part_bytes; /* of the encrypted file */
	char part_sha256[65];
};

/*
 * Parse a manifest's text (len bytes, not necessarily NUL-terminated,
 * outside input: a backup may come from anywhere) into *m.
 * SENIM_ERR_INVALID when it is not one this senim writes: another format,
 * a missing or ill-typed member, a deployment id or hash not in hex, a part
 * name other than the two above, more or fewer than one part.
 */
SENIM_MUST_CHECK enum senim_result backup_manifest_parse(const char *text, size_t len,
							 struct backup_manifest *m);

/* Read and parse DIR/manifest.json: SENIM_ERR_NOT_FOUND when there is
 * none, else as backup_manifest_parse, or SENIM_ERR_IO. */
SENIM_MUST_CHECK enum senim_result backup_manifest_read(const char *dir,
							struct backup_manifest *m);

/* Progress, for a terminal: stage "snapshot", "encrypt", "check",
 * "decrypt", "restore", "shred"; done and total in bytes or subjects
 * (total 0 when unknown). */
typedef void (*backup_progress_fn)(const char *stage, int64_t done, int64_t total,
				   void *ctx);

struct backup_make {
	/* in */
	const char *target; /* the store: SQLite path or PostgreSQL URL */
	const struct keyring *kr;
	const char *deployment; /* deployment_ensure's id */
	int schema_version;
	const char *dir; /* made 0700 when missing; must hold no manifest */
	backup_progress_fn progress;
	void *ctx;
	/* optional: the open store, to record "backup.make" in its audit log
	 * once the backup is whole (object "backup:<deployment>:<created_at>") */
	struct store *st;
	const char *actor, *request_id;
	/* out */
	struct backup_manifest manifest;
	int64_t store_bytes; /* the snapshot's size before encryption */
};

/*
 * Back the store up into op->dir while it serves.  SENIM_ERR_CONFLICT when
 * dir holds a backup already; SENIM_ERR_IO, SENIM_ERR_STORE,
 * SENIM_ERR_UNAVAILABLE (pg_dump missing) otherwise.  A failure leaves no
 * manifest (a part without one is not a backup).
 */
SENIM_MUST_CHECK enum senim_result backup_make(struct backup_make *op);

struct backup_restore {
	/* in */
	const char *target;
	struct keyring *kr;
	const char *deployment; /* the key directory's id */
	int schema_latest;	/* this senim's newest schema version */
	const char *dir;
	const char *journal;		/* the shred journal's path */
	const char *work;		/* a file path for the decrypted copy, beside
			      * the key file (0700 directory) */
	const char *marker;		/* BACKUP_RESTORING_NAME's path */
	const char *actor, *request_id; /* for the audit records */
	backup_progress_fn progress;
	void *ctx;
	/* out */
	struct backup_manifest manifest; /* once read: the CLI names its id */
	int64_t reshredded;		 /* journal entries applied again */
};

/*
 * Restore op->dir into op->target.  SENIM_ERR_CONFLICT when the backup is
 * another deployment's (op->manifest.deployment says which); SENIM_ERR_
 * INVALID when the manifest is not readable, is of another kind of store
 * or of a newer schema; SENIM_ERR_CRYPTO when a part does not match its
 * hash or does not open — in all of these nothing is changed.  Then
 * SENIM_ERR_STORE / SENIM_ERR_IO / SENIM_ERR_UNAVAILABLE, with the marker
 * left in place when the store may have changed (run it again).  The
 * caller has checked the store is empty or was told --force, and that no
 * server runs on it.
 */
SENIM_MUST_CHECK enum senim_result backup_restore(struct backup_restore *op);

/*
 * Shred again every subject of the journal at `journal` in st whose
 * shredding committed or is unsettled (vault/shred.h; never a rolled-back
 * one), one transaction and one audit record ("restore.shred") each; *n
 * gets how many, unsettled ones are counted in the log
 * (`restore_shred_unsettled`).  Safe to repeat.  Used by backup_restore; exposed for the CLI's
 * recovery from an unfinished restore.
 */
SENIM_MUST_CHECK enum senim_result backup_reshred(struct store *st, struct keyring *kr,
						  const char *journal, const char *actor,
						  const char *request_id, int64_t *n);

#endif
