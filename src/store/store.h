/*
 * store.h — senim's one storage interface, over SQLite or PostgreSQL.
 *
 * Callers write portable SQL with numbered parameters `$1, $2, ...` (the
 * SQLite backend rewrites them to `?1, ?2`), keep to the types both engines
 * share (BIGINT/INTEGER, TEXT, BLOB/BYTEA), and store times as int64
 * microseconds since the epoch.  The schema comes from versioned migrations,
 * one list written once for both backends (store/migrations.c), applied by
 * store_migrate().
 *
 * Work happens inside a transaction callback:
 *   store_write() runs `fn` in a read-write transaction and commits when fn
 *   returns SENIM_OK; any other result rolls everything back, so a request
 *   never leaves a half-written record.  Writers are serialised (SQLite: BEGIN
 *   IMMEDIATE; PostgreSQL: the callbacks lock what they need), so an
 *   append-only chain such as the audit log can read its head and extend it
 *   inside the same transaction.
 *   store_read() runs `fn` in a read-only snapshot.
 *
 * Group commit: concurrent store_write() calls are run by one of the callers
 * as a batch in one transaction, each job inside its own savepoint, and made
 * durable together by one COMMIT (one fsync).  A job that fails is undone
 * alone; the callback may run on another caller's thread, so it must not
 * rely on thread-local state, and it must never call store_write() or
 * store_read() itself (that would wait for the batch it is part of).
 *
 * A store keeps a pool of connections (one per server worker); store_write and
 * store_read may be called from any thread.  Every SQL text passed in must be a
 * string literal or otherwise live as long as the store: backends cache
 * prepared statements keyed by the pointer.
 *
 * PostgreSQL aborts a transaction at its first failed statement, so "try the
 * INSERT and read the existing row on SENIM_ERR_CONFLICT" only works on
 * SQLite: write `INSERT ... ON CONFLICT DO NOTHING` and look at the change
 * count instead.  A parameter whose type the SQL does not show needs a cast
 * (`$1::bigint`); blobs are always bound as bytea.
 *
 * Errors: the database's own messages go to the operational log (never to a
 * client: they might echo data); callers see SENIM_ERR_STORE, or
 * SENIM_ERR_CONFLICT for a unique-constraint violation.
 */
#ifndef SENIM_STORE_H
#define SENIM_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "common/result.h"

struct store;
struct store_tx;
struct store_rows;

enum store_kind {
	STORE_SQLITE,
	STORE_POSTGRES
};

enum store_type {
	STORE_NULL,
	STORE_INT,
	STORE_TEXT,
	STORE_BLOB
};

/* One bound parameter.  Text and blobs are borrowed for the call only. */
struct store_val {
	enum store_type type;
	int64_t i;
	const void *p;
	size_t len;
};

/* Parameter constructors, for `(struct store_val[]){ SV_INT(x), SV_TEXT(s) }`. */
#define SV_NULL() ((struct store_val){ .type = STORE_NULL })
#define SV_INT(v) ((struct store_val){ .type = STORE_INT, .i = (int64_t)(v) })
#define SV_TEXT(s) ((struct store_val){ .type = STORE_TEXT, .p = (s), .len = strlen(s) })
#define SV_TEXTN(s, n) ((struct store_val){ .type = STORE_TEXT, .p = (s), .len = (n) })
#define SV_BLOB(b, n) ((struct store_val){ .type = STORE_BLOB, .p = (b), .len = (n) })

/* ---- opening and closing ---------------------------------------------- */

/*
 * Open the store named by `target`: a `postgresql://` or `postgres://` URL, or
 * else a path to an SQLite file (created, with its directory mode 0700 and the
 * file mode 0600).  `connections` is the pool size (>= 1).  The schema is not
 * touched; call store_migrate() or store_check_schema().  On success *out
 * owns the store; free it with store_free().
 */
SENIM_MUST_CHECK enum senim_result store_open(const char *target, int connections,
					      struct store **out);
/* Close every connection.  store_free(NULL) does nothing. */
void store_free(struct store *st);

enum store_kind store_kind(const struct store *st);

/* ---- schema ------------------------------------------------------------- */

/*
 * Apply every migration newer than the database's version, each in its own
 * transaction, recording it in schema_migrations.  *applied (may be NULL) is
 * the number applied now.  Safe to run while another process serves.
 */
SENIM_MUST_CHECK enum senim_result store_migrate(struct store *st, int *applied);
/* Current and latest-known schema versions (for readiness checks). */
SENIM_MUST_CHECK enum senim_result store_schema_version(struct store *st, int *current,
							int *latest);

/* ---- transactions ------------------------------------------------------- */

typedef enum senim_result (*store_fn)(struct store_tx *tx, void *ctx);

/* Run fn in a read-write transaction (shared with concurrent writers, see
 * group commit above); durable on SENIM_OK, else fn's writes are undone and
 * its result returned.  A commit failure is SENIM_ERR_STORE. */
SENIM_MUST_CHECK enum senim_result store_write(struct store *st, store_fn fn, void *ctx);
/*
 * Queue fn for the group commit and return at once: for a caller that must
 * not block (a server worker with other connections to serve).  When the
 * batch is durable, or has failed, on_done(result, done_ctx) is called once
 * with what store_write() would have returned, on the thread that led the
 * batch (a committer thread of the store's own, or a store_write() caller):
 * it must be quick and must not call back into the store.  fn, ctx and
 * done_ctx must stay valid until then.  store_free() waits for every queued
 * job.  SENIM_ERR_NOMEM / SENIM_ERR_UNAVAILABLE (store closing): on_done
 * will not be called.
 */
typedef void (*store_done_fn)(enum senim_result result, void *done_ctx);
SENIM_MUST_CHECK enum senim_result store_write_async(struct store *st, store_fn fn,
						     void *ctx, store_done_fn on_done,
						     void *done_ctx);

/* Run fn in a read-only transaction. */
SENIM_MUST_CHECK enum senim_result store_read(struct store *st, store_fn fn, void *ctx);

/*
 * A cheap "has anything changed?" number for caches: it differs whenever any
 * connection, in this process or another, has committed since it was last
 * read.  SENIM_ERR_UNAVAILABLE when the engine has no such number
 * (PostgreSQL): then the caller must look at the data itself.
 */
SENIM_MUST_CHECK enum senim_result store_data_version(struct store *st, int64_t *version);

/* Cheap liveness check: one round trip on a pooled connection. */
SENIM_MUST_CHECK enum senim_result store_ping(struct store *st);

/*
 * After rows were deleted so that their bytes must not stay on disk (the
 * data keys of shredded subjects, vault/shred.h): on SQLite, whose deleted
 * cells are zeroed (secure_delete) but whose WAL keeps the old pages, a
 * TRUNCATE checkpoint copies the WAL in and empties it; SENIM_ERR_UNAVAILABLE
 * when a reader kept it from finishing (run it again).  On PostgreSQL
 * nothing: dead rows stay until VACUUM (docs/retention.md).
 */
SENIM_MUST_CHECK enum senim_result store_forget_freed(struct store *st);

/* ---- statements (only inside fn) ---------------------------------------- */

/* Run a statement that returns no rows; *changes (may be NULL) gets the number
 * of rows it changed. */
SENIM_MUST_CHECK enum senim_result store_exec(struct store_tx *tx, const char *sql,
					      const struct store_val *params,
					      size_t nparams, int64_t *changes);

/*
 * Run a query; *out is a cursor positioned before the first row, freed with
 * store_rows_free().  Typical use:
 *     struct store_rows *r;
 *     err = store_query(tx, SQL, params, n, &r);
 *     if (err)
 *             return err;
 *     while ((err = store_rows_next(r, &has)) == SENIM_OK && has) { ... }
 *     store_rows_free(r);
 */
SENIM_MUST_CHECK enum senim_result store_query(struct store_tx *tx, const char *sql,
					       const struct store_val *params,
					       size_t nparams, struct store_rows **out);
/*
 * A query that expects one row: *out is positioned on it, freed with
 * store_rows_free().  SENIM_ERR_NOT_FOUND when there is none, and then, as on
 * any error, *out is NULL and nothing is left to free.
 */
SENIM_MUST_CHECK enum senim_result store_query_one(struct store_tx *tx, const char *sql,
						   const struct store_val *params,
						   size_t nparams,
						   struct store_rows **out);
/* Advance; *has_row = 1 while a row is there, 0 at the end. */
SENIM_MUST_CHECK enum senim_result store_rows_next(struct store_rows *r, int *has_row);
/* Column accessors for the current row (0-based).  Text and blob pointers are
 * valid until the next store_rows_next()/store_rows_free(). */
int store_rows_is_null(struct store_rows *r, int col);
int64_t store_rows_int(struct store_rows *r, int col);
const char *store_rows_text(struct store_rows *r, int col, size_t *len);
const void *store_rows_blob(struct store_rows *r, int col, size_t *len);
void store_rows_free(struct store_rows *r);

/*
 * Deferred appends, for an append-only chain that every write extends (the
 * audit log).  Inside store_write()'s fn, store_tx_defer() copies `len` bytes
 * of item; after the last job of the batch, and before its COMMIT, the
 * batch calls flush(tx, ctx, items, n) once for each distinct (flush, ctx),
 * with the items of the jobs that succeeded, in the order they were
 * deferred.  A job that fails takes its items with it.  If flush fails, the
 * whole batch fails with flush's result and nothing of it is written.  So a batch of N writes
 * reads and moves the chain's head once, not N times.  SENIM_ERR_INVALID
 * outside a write.
 */
struct store_item {
	const void *data;
	size_t len;
};
typedef enum senim_result (*store_flush_fn)(struct store_tx *tx, void *ctx,
					    const struct store_item *items, size_t n);
SENIM_MUST_CHECK enum senim_result store_tx_defer(struct store_tx *tx,
						  store_flush_fn flush, void *ctx,
						  const void *item, size_t len);

/*
 * After the batch's COMMIT, before anyone is told: inside store_write()'s fn
 * or a flush, queue an action (the `len` bytes of data are copied) to run
 * once the batch is durable and before any of its jobs is answered (on_done
 * or store_write()'s return).  For a copy kept outside the database that
 * must never name what the database lost (the audit anchor), yet must exist
 * before a caller acts on the write.
 *
 * Actions run on the store's finisher thread while the next batches are
 * already written and committed, so an action's fsync overlaps the COMMITs'
 * instead of adding to them.  The finisher takes every batch committed since
 * it last ran and calls after(ctx, items, n) once per distinct (after, ctx)
 * with the data of all of them in commit order (one fsync for them all); a
 * crash can leave up to STORE_AFTER_COMMIT_LAG committed batches whose
 * actions never ran.  A job that fails takes its actions with it; when the
 * COMMIT fails none runs.  If an action fails, the jobs of its batches that
 * had succeeded get its result: their writes are durable, but the caller
 * must not act on them.  The same rules as on_done: quick, and never back
 * into the store.  SENIM_ERR_INVALID outside a write.
 */
#define STORE_AFTER_COMMIT_LAG 5
typedef enum senim_result (*store_after_fn)(void *ctx, const struct store_item *items,
					    size_t n);
SENIM_MUST_CHECK enum senim_result store_tx_after_commit(struct store_tx *tx,
							 store_after_fn after, void *ctx,
							 const void *data, size_t len);

/* Which backend a transaction runs on, for the rare SQL that differs. */
enum store_kind store_tx_kind(const struct store_tx *tx);

/* ---- measurements -------------------------------------------------------- */

/* Called after every commit with its duration; set once before serving. */
typedef void (*store_commit_hook)(int64_t duration_us, void *ctx);
void store_set_commit_hook(struct store *st, store_commit_hook hook, void *ctx);

#endif
