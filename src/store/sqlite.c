/*
 * sqlite.c — the embedded SQLite backend (WAL, one connection per worker).
 *
 * Durability: WAL with synchronous=FULL, so an acknowledged commit survives
 * a crash.  Prepared statements are cached per connection, keyed by the SQL
 * text's address (store.h asks callers for long-lived SQL strings).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/log.h"
#include "store/backend.h"
#include "common/banned.h"

#define STMT_CACHE 128 /* power of two */

struct cached_stmt {
	const char *key;
	sqlite3_stmt *stmt;
};

struct checkpointer;

struct sqlite_conn {
	sqlite3 *db;
	struct cached_stmt cache[STMT_CACHE];
	int in_use;		 /* a cursor holds a cached statement */
	struct checkpointer *cp; /* the writer's: checkpoints off the commit path */
};

struct sqlite_rows {
	struct store_rows base;
	sqlite3_stmt *stmt;
	int owned; /* finalise on free (not from the cache) */
};

static void log_sqlite(const char *event, sqlite3 *db)
{
	char code[16];
	snprintf(code, sizeof(code), "%d", sqlite3_extended_errcode(db));
	/* SQLite's message can quote values of a failed constraint only by
	 * column name, never by value, so it is safe in the operational log. */
	log_event(LOG_ERROR, event, "engine", "sqlite", "code", code, "message",
		  sqlite3_errmsg(db), NULL);
}

static enum senim_result map_error(sqlite3 *db, int rc)
{
	if ((rc & 0xff) == SQLITE_CONSTRAINT &&
	    (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY))
		return SENIM_ERR_CONFLICT;
	log_sqlite("store_error", db);
	return SENIM_ERR_STORE;
}

/* Make the directory for the database file (0700) when it is missing. */
static enum senim_result ensure_parent_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash || slash == path)
		return SENIM_OK;
	struct buf dir;
	buf_init(&dir, 4096);
	enum senim_result err = buf_add(&dir, path, (size_t)(slash - path));
	if (err)
		goto fail;
	if (mkdir(dir.data, 0700) != 0 && errno != EEXIST)
		err = SENIM_ERR_IO;
fail:
	buf_release(&dir);
	return err;
}

/*
 * Once per process, before SQLite initialises: no memory statistics.  With
 * them on (SQLite's default) every sqlite3_malloc takes one process-wide
 * mutex, and readers on different threads queue on it (seen as futex
 * wake-ups in profiles of the read path); senim never asks for the numbers.
 */
static void configure_sqlite(void)
{
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static enum senim_result sqlite_connect(const char *target, void **out)
{
	*out = NULL;
	static pthread_once_t configured = PTHREAD_ONCE_INIT;
	pthread_once(&configured, configure_sqlite);
	enum senim_result err = ensure_parent_dir(target);
	if (err)
		return err;
	/* Create the file ourselves so that it is 0600 from its first byte
	 * (SQLite gives its -wal and -shm files the same mode).  Only when it
	 * does not exist: closing any descriptor of a file drops every POSIX
	 * lock this process holds on it, including those of SQLite connections
	 * already open, which would break WAL locking between processes. */
	int fd = open(target, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 && errno != EEXIST) {
		log_event(LOG_ERROR, "store_open_failed", "engine", "sqlite", "reason",
			  strerror(errno), NULL);
		return SENIM_ERR_IO;
	}
	if (fd >= 0)
		close(fd);
	struct sqlite_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return SENIM_ERR_NOMEM;
	int rc = sqlite3_open_v2(target, &c->db,
				 SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		if (c->db)
			log_sqlite("store_open_failed", c->db);
		sqlite3_close(c->db);
		free(c);
		return SENIM_ERR_STORE;
	}
	sqlite3_busy_timeout(c->db, 10000);
	sqlite3_extended_result_codes(c->db, 1);
	const char *pragmas = "PRAGMA journal_mode=WAL;"
			      "PRAGMA synchronous=FULL;"
			      "PRAGMA foreign_keys=ON;"
			      "PRAGMA secure_delete=ON;"
			      "PRAGMA trusted_schema=OFF;";
	rc = sqlite3_exec(c->db, pragmas, NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		log_sqlite("store_open_failed", c->db);
		sqlite3_close(c->db);
		free(c);
		return SENIM_ERR_STORE;
	}
	*out = c;
	return SENIM_OK;
}

static void checkpointer_stop(struct checkpointer *cp);

static void sqlite_disconnect(void *conn)
{
	struct sqlite_conn *c = conn;
	if (!c)
		return;
	checkpointer_stop(c->cp);
	for (int i = 0; i < STMT_CACHE; i++)
		sqlite3_finalize(c->cache[i].stmt);
	sqlite3_close(c->db);
	free(c);
}

/* ---- the writer and its checkpointer ----------------------------------------
 *
 * SQLite's automatic checkpoint runs inside the COMMIT that crosses the
 * threshold: that commit (and every request waiting on its batch) would pay
 * for copying the WAL's pages into the database file and syncing it.  The
 * writer connection turns it off and signals a thread of its own instead,
 * which checkpoints PASSIVE-ly on a separate connection: it never takes the
 * write lock, so batches keep committing while it copies.  A checkpoint
 * failure is logged; the WAL only grows until the next one succeeds.
 */
/* SQLite's own default threshold.  Larger ones (8,000) made each
 * checkpoint's fsync of the database file long enough to hold up the WAL's
 * fsyncs behind it: p99 of 330 ms in bench/vault. */
#define CHECKPOINT_FRAMES 1000
#define CATCH_UP_FRAMES 4000   /* the writer finishes the job itself beyond this */
#define WAIT_UP_FRAMES 8000    /* ... and beyond this waits out a background one */
#define WRITER_CACHE_KIB 16384 /* the writer touches every index; keep them hot */

struct checkpointer {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	sqlite3 *db;
	int due;
	int stop;
	int running;	     /* a checkpoint is under way (lock held) */
	pthread_cond_t idle; /* signalled when it ends */
	int wal_frames;	     /* the WAL's size after the writer's last commit */
};

static void *checkpoint_loop(void *arg)
{
	struct checkpointer *cp = arg;
	pthread_mutex_lock(&cp->lock);
	for (;;) {
		while (!cp->due && !cp->stop)
			pthread_cond_wait(&cp->wake, &cp->lock);
		if (cp->stop)
			break;
		cp->due = 0;
		cp->running = 1;
		pthread_mutex_unlock(&cp->lock);
		int rc = sqlite3_wal_checkpoint_v2(cp->db, NULL,
						   SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		if (rc != SQLITE_OK && rc != SQLITE_BUSY)
			log_sqlite("store_checkpoint_failed", cp->db);
		pthread_mutex_lock(&cp->lock);
		cp->running = 0;
		pthread_cond_broadcast(&cp->idle);
	}
	pthread_mutex_unlock(&cp->lock);
	return NULL;
}

/* Called by SQLite after each commit on the writer with the WAL's size. */
static int on_wal_commit(void *arg, sqlite3 *db, const char *name, int frames)
{
	(void)db;
	(void)name;
	struct checkpointer *cp = arg;
	cp->wal_frames = frames; /* read and written on the writer's thread only */
	if (frames >= CHECKPOINT_FRAMES) {
		pthread_mutex_lock(&cp->lock);
		cp->due = 1;
		pthread_cond_signal(&cp->wake);
		pthread_mutex_unlock(&cp->lock);
	}
	return SQLITE_OK;
}

static void checkpointer_stop(struct checkpointer *cp)
{
	if (!cp)
		return;
	pthread_mutex_lock(&cp->lock);
	cp->stop = 1;
	pthread_cond_signal(&cp->wake);
	pthread_mutex_unlock(&cp->lock);
	pthread_join(cp->thread, NULL);
	sqlite3_close(cp->db);
	pthread_cond_destroy(&cp->idle);
	pthread_cond_destroy(&cp->wake);
	pthread_mutex_destroy(&cp->lock);
	free(cp);
}

static enum senim_result checkpointer_start(const char *target,
					    struct sqlite_conn *writer)
{
	struct checkpointer *cp = calloc(1, sizeof(*cp));
	if (!cp)
		return SENIM_ERR_NOMEM;
	int rc = sqlite3_open_v2(target, &cp->db,
				 SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_busy_timeout(cp->db, 10000);
		rc = sqlite3_exec(cp->db, "PRAGMA synchronous=FULL", NULL, NULL, NULL);
	}
	if (rc != SQLITE_OK) {
		if (cp->db)
			log_sqlite("store_open_failed", cp->db);
		sqlite3_close(cp->db);
		free(cp);
		return SENIM_ERR_STORE;
	}
	pthread_mutex_init(&cp->lock, NULL);
	pthread_cond_init(&cp->wake, NULL);
	pthread_cond_init(&cp->idle, NULL);
	if (pthread_create(&cp->thread, NULL, checkpoint_loop, cp) != 0) {
		sqlite3_close(cp->db);
		pthread_cond_destroy(&cp->idle);
		pthread_cond_destroy(&cp->wake);
		pthread_mutex_destroy(&cp->lock);
		free(cp);
		return SENIM_ERR_NOMEM;
	}
	writer->cp = cp;
	sqlite3_wal_hook(writer->db, on_wal_commit, cp); /* replaces autocheckpoint */
	return SENIM_OK;
}

static enum senim_result sqlite_connect_writer(const char *target, void **out)
{
	enum senim_result err = sqlite_connect(target, out);
	if (err)
		return err;
	struct sqlite_conn *c = *out;
	char pragma[64];
	snprintf(pragma, sizeof(pragma), "PRAGMA cache_size=-%d", WRITER_CACHE_KIB);
	if (sqlite3_exec(c->db, pragma, NULL, NULL, NULL) != SQLITE_OK ||
	    (err = checkpointer_start(target, c)) != SENIM_OK) {
		sqlite_disconnect(c);
		*out = NULL;
		return err ? err : SENIM_ERR_STORE;
	}
	return SENIM_OK;
}

static enum senim_result run_simple(struct sqlite_conn *c, const char *sql)
{
	int rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? SENIM_OK : map_error(c->db, rc);
}

/* Transaction control runs on every request: through the statement cache
 * (prepared once per connection) rather than sqlite3_exec, which would
 * compile the text each time. */
static enum senim_result run_cached(struct sqlite_conn *c, const char *sql);

static const char SQL_BEGIN[] = "BEGIN";
static const char SQL_BEGIN_IMMEDIATE[] = "BEGIN IMMEDIATE";
static const char SQL_COMMIT[] = "COMMIT";

/*
 * The WAL starts over from its beginning only when a write transaction
 * begins with every frame already copied back; a background checkpoint
 * that runs while batches keep committing rarely gets there.  Past
 * CATCH_UP_FRAMES the writer copies the few frames it is behind by itself
 * (BUSY when the background one is at it: then next time), so the WAL stays
 * bounded.  It tries before every batch while the WAL is that long, even
 * when readers keep it from starting over: trying at most every 100 ms let
 * the WAL grow further and measured worse (consent grants 6.8–8.9k/s, p99
 * up to 23 ms, against 9.0–9.2k/s, p99 12.6 ms).
 */
static void catch_up(struct sqlite_conn *c)
{
	if (c->cp && c->cp->wal_frames >= WAIT_UP_FRAMES) {
		/* Twice as far: a background checkpoint that keeps the writer's
		 * BUSY (a slow disk, a starved thread) would let the WAL grow
		 * without bound.  Wait for it — a checkpoint ends; a reader is
		 * not waited for — then catch up. */
		pthread_mutex_lock(&c->cp->lock);
		while (c->cp->running)
			pthread_cond_wait(&c->cp->idle, &c->cp->lock);
		pthread_mutex_unlock(&c->cp->lock);
	}
	if (c->cp && c->cp->wal_frames >= CATCH_UP_FRAMES) {
		int rc = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE,
						   NULL, NULL);
		if (rc != SQLITE_OK && rc != SQLITE_BUSY)
			log_sqlite("store_checkpoint_failed", c->db);
	}
}

static enum senim_result sqlite_begin(void *conn, int write)
{
	/* IMMEDIATE takes the write lock up front, so a writer reads the state
	 * it is about to extend (the audit chain's head) under the lock. */
	if (write)
		catch_up(conn);
	return run_cached(conn, write ? SQL_BEGIN_IMMEDIATE : SQL_BEGIN);
}

static enum senim_result sqlite_commit(void *conn)
{
	return run_cached(conn, SQL_COMMIT);
}

static void sqlite_rollback(void *conn)
{
	struct sqlite_conn *c = conn;
	if (!sqlite3_get_autocommit(c->db))
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
}

/* Rewrite PostgreSQL-style "$1" placeholders as SQLite's "?1". */
static enum senim_result rewrite_placeholders(const char *sql, struct buf *out)
{
	enum senim_result err = buf_addstr(out, sql);
	for (size_t i = 0; !err && i + 1 < out->len; i++)
		if (out->data[i] == '$' && out->data[i + 1] >= '0' &&
		    out->data[i + 1] <= '9')
			out->data[i] = '?';
	return err;
}

static enum senim_result prepare(struct sqlite_conn *c, const char *sql,
				 sqlite3_stmt **stmt, int *owned)
{
	uintptr_t h = ((uintptr_t)sql >> 3) * 2654435761u;
	size_t slot = h & (STMT_CACHE - 1);
	*owned = 0;
	for (size_t probe = 0; probe < 8; probe++) {
		struct cached_stmt *e = &c->cache[(slot + probe) & (STMT_CACHE - 1)];
		if (e->key == sql) {
			*stmt = e->stmt;
			return SENIM_OK;
		}
		if (!e->key) {
			slot = (slot + probe) & (STMT_CACHE - 1);
			goto compile;
		}
	}
	*owned = 1; /* cache neighbourhood full: use a one-off statement */
compile:;
	struct buf text;
	buf_init(&text, 1 << 20);
	enum senim_result err = rewrite_placeholders(sql, &text);
	if (err) {
		buf_release(&text);
		return err;
	}
	int rc = sqlite3_prepare_v3(c->db, text.data, (int)text.len + 1,
				    *owned ? 0 : SQLITE_PREPARE_PERSISTENT, stmt, NULL);
	buf_release(&text);
	if (rc != SQLITE_OK)
		return map_error(c->db, rc);
	if (!*owned) {
		c->cache[slot].key = sql;
		c->cache[slot].stmt = *stmt;
	}
	return SENIM_OK;
}

static enum senim_result bind_all(struct sqlite_conn *c, sqlite3_stmt *stmt,
				  const struct store_val *params, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int idx = (int)i + 1;
		int rc;
		const struct store_val *v = &params[i];
		switch (v->type) {
		case STORE_INT:
			rc = sqlite3_bind_int64(stmt, idx, v->i);
			break;
		case STORE_TEXT:
			rc = sqlite3_bind_text64(stmt, idx, v->p, v->len, SQLITE_STATIC,
						 SQLITE_UTF8);
			break;
		case STORE_BLOB:
			rc = sqlite3_bind_blob64(stmt, idx, v->len ? v->p : "", v->len,
						 SQLITE_STATIC);
			break;
		default:
			rc = sqlite3_bind_null(stmt, idx);
		}
		if (rc != SQLITE_OK)
			return map_error(c->db, rc);
	}
	return SENIM_OK;
}

static void done_with(sqlite3_stmt *stmt, int owned)
{
	if (owned) {
		sqlite3_finalize(stmt);
	} else {
		sqlite3_reset(stmt);
		sqlite3_clear_bindings(stmt);
	}
}

static enum senim_result sqlite_exec(void *conn, const char *sql,
				     const struct store_val *params, size_t n,
				     int64_t *changes)
{
	struct sqlite_conn *c = conn;
	sqlite3_stmt *stmt;
	int owned;
	enum senim_result err = prepare(c, sql, &stmt, &owned);
	if (err)
		return err;
	err = bind_all(c, stmt, params, n);
	if (err)
		goto fail;
	int rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		;
	if (rc != SQLITE_DONE) {
		err = map_error(c->db, rc);
		goto fail;
	}
	if (changes)
		*changes = sqlite3_changes64(c->db);
fail:
	done_with(stmt, owned);
	return err;
}

static enum senim_result run_cached(struct sqlite_conn *c, const char *sql)
{
	return sqlite_exec(c, sql, NULL, 0, NULL);
}

static enum senim_result sqlite_query(void *conn, const char *sql,
				      const struct store_val *params, size_t n,
				      struct store_rows **out)
{
	struct sqlite_conn *c = conn;
	*out = NULL;
	struct sqlite_rows *r = calloc(1, sizeof(*r));
	if (!r)
		return SENIM_ERR_NOMEM;
	enum senim_result err = prepare(c, sql, &r->stmt, &r->owned);
	if (err)
		goto fail;
	if (!r->owned && sqlite3_stmt_busy(r->stmt)) {
		/* The same SQL is already open in an outer cursor: compile a
		 * private copy instead of resetting it under the caller. */
		sqlite3_stmt *copy;
		const char *text = sqlite3_sql(r->stmt);
		if (sqlite3_prepare_v2(c->db, text, -1, &copy, NULL) != SQLITE_OK) {
			err = map_error(c->db, sqlite3_errcode(c->db));
			r->stmt = NULL; /* the outer cursor's: not ours to reset */
			goto fail;
		}
		r->stmt = copy;
		r->owned = 1;
	}
	err = bind_all(c, r->stmt, params, n);
	if (err)
		goto fail;
	r->base.be = &store_sqlite_backend;
	*out = &r->base;
	return SENIM_OK;
fail:
	if (r->stmt)
		done_with(r->stmt, r->owned);
	free(r);
	return err;
}

static enum senim_result sqlite_rows_next(struct store_rows *base, int *has_row)
{
	struct sqlite_rows *r = (struct sqlite_rows *)base;
	int rc = sqlite3_step(r->stmt);
	if (rc == SQLITE_ROW) {
		*has_row = 1;
		return SENIM_OK;
	}
	*has_row = 0;
	if (rc == SQLITE_DONE)
		return SENIM_OK;
	return map_error(sqlite3_db_handle(r->stmt), rc);
}

static int sqlite_rows_is_null(struct store_rows *base, int col)
{
	struct sqlite_rows *r = (struct sqlite_rows *)base;
	return sqlite3_column_type(r->stmt, col) == SQLITE_NULL;
}

static int64_t sqlite_rows_int(struct store_rows *base, int col)
{
	struct sqlite_rows *r = (struct sqlite_rows *)base;
	return sqlite3_column_int64(r->stmt, col);
}

static const char *sqlite_rows_text(struct store_rows *base, int col, size_t *len)
{
	struct sqlite_rows *r = (struct sqlite_rows *)base;
	const unsigned char *t = sqlite3_column_text(r->stmt, col);
	if (len)
		*len = (size_t)sqlite3_column_bytes(r->stmt, col);
	return t ? (const char *)t : "";
}

static const void *sqlite_rows_blob(struct store_rows *base, int col, size_t *len)
{
	struct sqlite_rows *r = (struct sqlite_rows *)base;
	const void *p = sqlite3_column_blob(r->stmt, col);
	*len = (size_t)sqlite3_column_bytes(r->stmt, col);
	return p ? p : "";
}

static void sqlite_rows_free(struct store_rows *base)
{
	struct sqlite_rows *r = (struct sqlite_rows *)base;
	done_with(r->stmt, r->owned);
	free(r);
}

static enum senim_result sqlite_exec_script(void *conn, const char *sql)
{
	return run_simple(conn, sql);
}

static const char SQL_DATA_VERSION[] = "PRAGMA data_version";

/* Reads the WAL index header in shared memory: no I/O, no transaction. */
static enum senim_result sqlite_data_version(void *conn, int64_t *version)
{
	struct sqlite_conn *c = conn;
	sqlite3_stmt *stmt;
	int owned;
	enum senim_result err = prepare(c, SQL_DATA_VERSION, &stmt, &owned);
	if (err)
		return err;
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*version = sqlite3_column_int64(stmt, 0);
	else
		err = map_error(c->db, rc);
	done_with(stmt, owned);
	return err;
}

/* The WAL still holds the pages as they were before rows were deleted: a
 * TRUNCATE checkpoint copies it into the database (where secure_delete
 * zeroed the deleted cells) and empties it.  A reader still on an older
 * snapshot keeps it from finishing: SENIM_ERR_UNAVAILABLE. */
static enum senim_result sqlite_forget_freed(void *conn)
{
	struct sqlite_conn *c = conn;
	int rc = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL,
					   NULL);
	if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
		return SENIM_ERR_UNAVAILABLE;
	return rc == SQLITE_OK ? SENIM_OK : map_error(c->db, rc);
}

/* One savepoint per job of every group commit: cached like BEGIN/COMMIT. */
static const char SQL_SAVEPOINT[] = "SAVEPOINT job";
static const char SQL_RELEASE[] = "RELEASE job";

static enum senim_result sqlite_savepoint(void *conn)
{
	return run_cached(conn, SQL_SAVEPOINT);
}

static enum senim_result sqlite_release(void *conn)
{
	return run_cached(conn, SQL_RELEASE);
}

static enum senim_result sqlite_rollback_to(void *conn)
{
	return run_simple(conn, "ROLLBACK TO job; RELEASE job");
}

const struct store_backend store_sqlite_backend = {
	.kind = STORE_SQLITE,
	.name = "sqlite",
	.connect = sqlite_connect,
	.connect_writer = sqlite_connect_writer,
	.disconnect = sqlite_disconnect,
	.begin = sqlite_begin,
	.commit = sqlite_commit,
	.rollback = sqlite_rollback,
	.exec = sqlite_exec,
	.query = sqlite_query,
	.rows_next = sqlite_rows_next,
	.rows_is_null = sqlite_rows_is_null,
	.rows_int = sqlite_rows_int,
	.rows_text = sqlite_rows_text,
	.rows_blob = sqlite_rows_blob,
	.rows_free = sqlite_rows_free,
	.exec_script = sqlite_exec_script,
	.savepoint = sqlite_savepoint,
	.release = sqlite_release,
	.rollback_to = sqlite_rollback_to,
	.data_version = sqlite_data_version,
	.forget_freed = sqlite_forget_freed,
};
