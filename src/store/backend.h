/*
 * backend.h — what a storage backend implements (private to store/).
 *
 * store.c owns the connection pool, transactions and migrations; a backend
 * only knows how to talk to one connection of its engine.  Each backend's
 * cursor struct starts with `struct store_rows` so store.c can dispatch.
 */
#ifndef SENIM_STORE_BACKEND_H
#define SENIM_STORE_BACKEND_H

#include "common/buf.h"
#include "store/store.h"

struct store_backend;

struct store_rows {
	const struct store_backend *be;
};

struct store_backend {
	enum store_kind kind;
	const char *name;
	/* Open one connection to target; *conn is the backend's handle. */
	enum senim_result (*connect)(const char *target, void **conn);
	/* Optional: open the connection every group commit runs on (store.c
	 * keeps exactly one).  NULL: an ordinary connection. */
	enum senim_result (*connect_writer)(const char *target, void **conn);
	void (*disconnect)(void *conn);
	enum senim_result (*begin)(void *conn, int write);
	enum senim_result (*commit)(void *conn);
	void (*rollback)(void *conn);
	enum senim_result (*exec)(void *conn, const char *sql,
				  const struct store_val *params, size_t nparams,
				  int64_t *changes);
	enum senim_result (*query)(void *conn, const char *sql,
				   const struct store_val *params, size_t nparams,
				   struct store_rows **out);
	enum senim_result (*rows_next)(struct store_rows *r, int *has_row);
	int (*rows_is_null)(struct store_rows *r, int col);
	int64_t (*rows_int)(struct store_rows *r, int col);
	const char *(*rows_text)(struct store_rows *r, int col, size_t *len);
	const void *(*rows_blob)(struct store_rows *r, int col, size_t *len);
	void (*rows_free)(struct store_rows *r);
	/* Run a whole SQL script (migrations); no parameters. */
	enum senim_result (*exec_script)(void *conn, const char *sql);
	/* Group commit: one savepoint per job inside the batch's transaction.
	 * rollback_to must work after a failed statement (PostgreSQL's
	 * aborted-transaction state), and leaves the savepoint released. */
	enum senim_result (*savepoint)(void *conn);
	enum senim_result (*release)(void *conn);
	enum senim_result (*rollback_to)(void *conn);
	/* Optional (NULL when the engine has none): a number that changes
	 * whenever any other connection commits, read without a transaction. */
	enum senim_result (*data_version)(void *conn, int64_t *version);
	/* Optional: leave no deleted row's bytes in the engine's own logs
	 * (store_forget_freed). */
	enum senim_result (*forget_freed)(void *conn);
};

extern const struct store_backend store_sqlite_backend;
extern const struct store_backend store_postgres_backend;

/*
 * One migration: a version, its name (both recorded in schema_migrations),
 * and the SQL script that brings the schema there, written once for both
 * backends: where their dialects differ it says {name} (migrations.c).
 */
struct store_migration {
	int version;
	const char *name;
	const char *sql;
};

/* Every migration, oldest first; *count gets their number. */
const struct store_migration *store_migrations(size_t *count);

/* Append m's script as the backend `kind` runs it, each {name} replaced by
 * that dialect's words, to out (the caller releases it).
 * SENIM_ERR_INVALID (logged) for a {name} migrations.c does not know. */
SENIM_MUST_CHECK enum senim_result store_migration_sql(const struct store_migration *m,
						       enum store_kind kind,
						       struct buf *out);

#endif
