/*
 * snapshot.h — a consistent copy of a whole store in one file, taken while
 * the store serves, and the copy put back (O1: backup).
 *
 * SQLite: the online backup API (sqlite3_backup_*) copies every page in
 * one step, inside one read transaction of a connection of its own, so the
 * copy is the database as one commit left it while writers carry on (WAL
 * readers never block them).  The copy is an ordinary SQLite file.
 * PostgreSQL: `pg_dump --format=custom` of the target, run as a child
 * process (its own REPEATABLE READ snapshot); `pg_restore --clean
 * --if-exists --single-transaction` puts one back, all or nothing.
 *
 * A snapshot holds what the store holds: sealed data, blind indexes, ids
 * and codes, never a key (the key file is not in the store).  Its file is
 * made mode 0600; the caller encrypts it and removes it (backup/backup.h).
 *
 * The target is never printed or logged: a PostgreSQL URL may carry a
 * password.  pg_dump and pg_restore get the URL's parameters but the
 * password as `--dbname` (other users of the host may read a process's
 * arguments), and the password in their environment as PGPASSWORD (only
 * its owner may read that).  A URL libpq cannot parse is
 * SENIM_ERR_INVALID.
 */
#ifndef SENIM_STORE_SNAPSHOT_H
#define SENIM_STORE_SNAPSHOT_H

#include <stdint.h>

#include "common/result.h"
#include "store/store.h"

/* The kind of store a target names (a postgres[ql]:// URL, else SQLite). */
enum store_kind snapshot_kind(const char *target);

/*
 * Copy the store at target into a new file at out_path (which must not
 * exist; mode 0600).  *bytes gets the copy's size.  SENIM_ERR_IO when the
 * file cannot be made, SENIM_ERR_STORE when the engine or pg_dump fails
 * (its reason logged, never the target), SENIM_ERR_UNAVAILABLE when
 * pg_dump cannot be run.  On failure out_path is removed.
 */
SENIM_MUST_CHECK enum senim_result snapshot_take(const char *target, const char *out_path,
						 int64_t *bytes);

/*
 * Replace the whole content of the store at target by the snapshot at
 * in_path (made by snapshot_take from a store of the same kind).  SQLite:
 * the backup API copies it in page by page under the database's write
 * lock, so a reader sees the old or the new content, never a mix; stop
 * `senim serve` first all the same (its caches would be stale).
 * PostgreSQL: pg_restore in one transaction.  Errors as snapshot_take.
 */
SENIM_MUST_CHECK enum senim_result snapshot_restore(const char *target,
						    const char *in_path);

#endif
