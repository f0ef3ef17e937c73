/*
 * postgres.c — the PostgreSQL backend, over libpq (one connection per worker).
 *
 * Statements go out with the extended protocol: parameters typed by the
 * server from the SQL (only blobs are pinned to bytea), integers and text
 * sent as text, blobs sent binary; results come back as text.  Prepared
 * statements are cached per connection, keyed by the SQL text's address
 * (store.h asks callers for long-lived SQL strings), so a hot statement is
 * parsed and planned once per connection.
 *
 * A PostgreSQL transaction is dead after any failed statement (SQLite only
 * undoes the statement).  So once a statement fails, later statements in the
 * same transaction fail fast, and a commit is refused: a callback that
 * swallows an error can never commit half of its work.
 *
 * The log gets SQLSTATE and the server's primary message, never DETAIL or
 * parameter values, and never the connection URL (it may hold a password).
 */
#include <limits.h>
#include <libpq-fe.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "store/backend.h"
#include "common/banned.h"

#define STMT_CACHE 128	    /* power of two */
#define PG_MAX_PARAMS 65535 /* the protocol's limit */
#define PG_MSG_MAX 200	    /* bytes of a server message kept in the log */
#define PG_BOOLOID 16
#define PG_BYTEAOID 17
#define PG_INT_DIGITS 24 /* "-9223372036854775808" and a NUL */

struct cached_stmt {
	const char *key;
	char name[16];
};

struct pg_conn {
	PGconn *pg;
	unsigned next_id; /* names prepared statements "s<N>" */
	struct cached_stmt cache[STMT_CACHE];
};

struct pg_rows {
	struct store_rows base;
	PGresult *res;
	int row; /* current row; -1 before the first */
	int nrows;
	int ncols;
	/* Decoded bytea values of the current row, per column (NULL until
	 * asked for); freed when the cursor moves. */
	unsigned char **blobs;
	size_t *blob_lens;
};

/* Parameters in libpq's parallel-array form; one allocation holds all. */
struct pg_params {
	void *block;
	const char **values;
	int *lengths;
	int *formats;
	Oid *types;
};

/* ---- errors and the log --------------------------------------------------- */

/*
 * Copy at most PG_MSG_MAX bytes of msg into out, cut on a UTF-8 character
 * boundary and without trailing white space (libpq ends messages with "\n").
 */
static void clip_message(char out[PG_MSG_MAX + 1], const char *msg)
{
	size_t n = strlen(msg);
	if (n > PG_MSG_MAX) {
		n = PG_MSG_MAX;
		while (n > 0 && ((unsigned char)msg[n] & 0xc0) == 0x80)
			n--;
	}
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' ' || msg[n - 1] == '\t'))
		n--;
	memcpy(out, msg, n);
	out[n] = '\0';
}

/*
 * Log a server or libpq failure.  Messages of SQLSTATE class 22 (data
 * exception: "invalid input syntax for type bigint: \"...\"") quote the
 * offending value, so theirs is withheld.
 */
static void log_failure(enum log_level level, const char *event, const char *sqlstate,
			const char *message)
{
	char msg[PG_MSG_MAX + 1];
	int withhold = sqlstate && strncmp(sqlstate, "22", 2) == 0;
	clip_message(msg, message && !withhold ? message : "");
	log_event(level, event, "engine", "postgres", "sqlstate",
		  sqlstate ? sqlstate : "", "message",
		  withhold ? "(withheld: may quote a value)" : msg, NULL);
}

/* Map a failed result (or NULL: no memory, connection lost) to a result code.
 * A unique violation is the caller's business and is not logged. */
static enum senim_result result_error(struct pg_conn *c, const PGresult *res)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	if (state && strcmp(state, "23505") == 0)
		return SENIM_ERR_CONFLICT;
	const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	log_failure(LOG_ERROR, "store_error", state, msg ? msg : PQerrorMessage(c->pg));
	return SENIM_ERR_STORE;
}

/* Server notices ("relation already exists, skipping") would otherwise go to
 * stderr as free text, breaking the one-JSON-object-per-line log. */
static void on_notice(void *arg, const PGresult *res)
{
	(void)arg;
	const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	enum log_level level = sev && strcmp(sev, "WARNING") == 0 ? LOG_WARN : LOG_DEBUG;
	log_failure(level, "store_notice", PQresultErrorField(res, PG_DIAG_SQLSTATE),
		    PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
}

/* ---- connections ----------------------------------------------------------- */

/* Run a parameterless command whose result is not needed. */
static enum senim_result run_simple(struct pg_conn *c, const char *sql)
{
	PGresult *res = PQexec(c->pg, sql);
	ExecStatusType st = PQresultStatus(res);
	enum senim_result err = (res && (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK))
					? SENIM_OK
					: result_error(c, res);
	PQclear(res);
	return err;
}

/* Per-session settings, after every (re)connect.  Results are read as hex
 * bytea whatever the server's default is. */
static enum senim_result session_setup(struct pg_conn *c)
{
	PQsetNoticeReceiver(c->pg, on_notice, NULL);
	return run_simple(c, "SET bytea_output = 'hex'");
}

static enum senim_result pg_connect(const char *target, void **out)
{
	*out = NULL;
	/* Check the URL first: libpq's parse errors quote pieces of it, and it
	 * may hold a password. */
	char *perr = NULL;
	PQconninfoOption *opts = PQconninfoParse(target, &perr);
	if (!opts) {
		PQfreemem(perr);
		log_event(LOG_ERROR, "store_open_failed", "engine", "postgres", "reason",
			  "the connection URL does not parse", NULL);
		return SENIM_ERR_STORE;
	}
	PQconninfoFree(opts);

	struct pg_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return SENIM_ERR_NOMEM;
	/* Keywords are applied in order: the URL (dbname, expanded) overrides
	 * the connect timeout, and the encoding overrides the URL. */
	static const char *const keys[] = { "connect_timeout", "dbname",
					    "fallback_application_name",
					    "client_encoding", NULL };
	const char *const vals[] = { "10", target, "senim", "UTF8", NULL };
	c->pg = PQconnectdbParams(keys, vals, 1);
	if (!c->pg) {
		free(c);
		return SENIM_ERR_NOMEM;
	}
	if (PQstatus(c->pg) != CONNECTION_OK) {
		/* Past parsing, libpq names host, port and user, never the
		 * password. */
		log_failure(LOG_ERROR, "store_open_failed", NULL, PQerrorMessage(c->pg));
		PQfinish(c->pg);
		free(c);
		return SENIM_ERR_STORE;
	}
	enum senim_result err = session_setup(c);
	if (err) {
		PQfinish(c->pg);
		free(c);
		return err;
	}
	*out = c;
	return SENIM_OK;
}

static void pg_disconnect(void *conn)
{
	struct pg_conn *c = conn;
	if (!c)
		return;
	PQfinish(c->pg);
	free(c);
}

/*
 * Reconnect a connection the server dropped (restart, fail-over).  Its
 * prepared statements died with the session, so the cache is emptied.
 */
static enum senim_result reconnect(struct pg_conn *c)
{
	memset(c->cache, 0, sizeof(c->cache));
	PQreset(c->pg);
	if (PQstatus(c->pg) != CONNECTION_OK) {
		log_failure(LOG_ERROR, "store_reconnect_failed", NULL,
			    PQerrorMessage(c->pg));
		return SENIM_ERR_STORE;
	}
	log_event(LOG_WARN, "store_reconnected", "engine", "postgres", NULL);
	return session_setup(c);
}

/* ---- transactions ---------------------------------------------------------- */

static enum senim_result pg_begin(void *conn, int write)
{
	struct pg_conn *c = conn;
	/* A read sees one snapshot, as store.h promises and as SQLite's read
	 * transactions do: under READ COMMITTED each statement would see what
	 * committed since the last, and a reader that reads in several
	 * statements (audit_verify: checkpoints, records, head) would mix
	 * states.  Read-only REPEATABLE READ never fails to serialise. */
	const char *sql =
		write ? "BEGIN" : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
	enum senim_result err = SENIM_OK;
	if (PQstatus(c->pg) != CONNECTION_OK)
		err = reconnect(c);
	if (err)
		return err;
	if (PQtransactionStatus(c->pg) != PQTRANS_IDLE)
		(void)run_simple(c, "ROLLBACK"); /* not expected: store.c ends each */
	err = run_simple(c, sql);
	/* Nothing has happened yet, so a connection found dead here is
	 * reopened and the BEGIN tried once more. */
	if (err && PQstatus(c->pg) != CONNECTION_OK) {
		err = reconnect(c);
		if (err)
			return err;
		err = run_simple(c, sql);
	}
	return err;
}

static enum senim_result pg_commit(void *conn)
{
	struct pg_conn *c = conn;
	if (PQtransactionStatus(c->pg) == PQTRANS_INERROR) {
		/* The callback returned success after a statement failed:
		 * PostgreSQL would turn COMMIT into ROLLBACK. */
		log_event(LOG_ERROR, "store_commit_refused", "engine", "postgres",
			  "reason", "a statement of the transaction failed", NULL);
		return SENIM_ERR_STORE;
	}
	PGresult *res = PQexec(c->pg, "COMMIT");
	enum senim_result err;
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		err = result_error(c, res); /* deferred unique: conflict */
	} else if (strcmp(PQcmdStatus(res), "COMMIT") != 0) {
		log_event(LOG_ERROR, "store_commit_refused", "engine", "postgres",
			  "reason", "the server rolled the transaction back", NULL);
		err = SENIM_ERR_STORE;
	} else {
		err = SENIM_OK;
	}
	PQclear(res);
	return err;
}

static void pg_rollback(void *conn)
{
	struct pg_conn *c = conn;
	PGTransactionStatusType ts = PQtransactionStatus(c->pg);
	if (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR)
		(void)run_simple(c, "ROLLBACK");
}

/* ---- statements ------------------------------------------------------------- */

static void params_release(struct pg_params *p)
{
	free(p->block);
	memset(p, 0, sizeof(*p));
}

/*
 * Lay the store_vals out as libpq wants them.  Text is copied to add the NUL
 * libpq's text format needs; blobs point at the caller's bytes.  p->block is
 * freed by params_release().
 */
static enum senim_result params_build(struct pg_params *p, const struct store_val *params,
				      size_t n)
{
	memset(p, 0, sizeof(*p));
	if (n == 0)
		return SENIM_OK;
	if (n > PG_MAX_PARAMS) {
		log_event(LOG_ERROR, "store_error", "engine", "postgres", "reason",
			  "too many parameters", NULL);
		return SENIM_ERR_INVALID;
	}
	size_t scratch = 0;
	for (size_t i = 0; i < n; i++) {
		const struct store_val *v = &params[i];
		if ((v->type == STORE_TEXT || v->type == STORE_BLOB) && v->len >= INT_MAX)
			return SENIM_ERR_TOO_LARGE;
		if (v->type == STORE_TEXT) {
			/* PostgreSQL text cannot hold NUL; SQLite's can. */
			if (memchr(v->p, '\0', v->len)) {
				log_event(LOG_ERROR, "store_error", "engine", "postgres",
					  "reason", "NUL byte in a text parameter", NULL);
				return SENIM_ERR_INVALID;
			}
			scratch += v->len + 1;
		} else if (v->type == STORE_INT) {
			scratch += PG_INT_DIGITS;
		}
	}
	size_t head = n * (sizeof(char *) + sizeof(Oid) + 2 * sizeof(int));
	char *block = malloc(head + scratch);
	if (!block)
		return SENIM_ERR_NOMEM;
	p->block = block;
	p->values = (const char **)(void *)block;
	p->types = (Oid *)(void *)(block + n * sizeof(char *));
	p->lengths = (int *)(void *)(block + n * (sizeof(char *) + sizeof(Oid)));
	p->formats = p->lengths + n;
	char *s = block + head;
	for (size_t i = 0; i < n; i++) {
		const struct store_val *v = &params[i];
		p->types[i] = 0; /* let the server infer it from the SQL */
		p->lengths[i] = 0;
		p->formats[i] = 0;
		switch (v->type) {
		case STORE_INT:
			p->values[i] = s;
			s += snprintf(s, PG_INT_DIGITS, "%lld", (long long)v->i) + 1;
			break;
		case STORE_TEXT:
			if (v->len)
				memcpy(s, v->p, v->len);
			s[v->len] = '\0';
			p->values[i] = s;
			s += v->len + 1;
			break;
		case STORE_BLOB:
			/* NULL would mean SQL NULL: an empty blob needs a pointer. */
			p->values[i] = v->len ? v->p : "";
			p->lengths[i] = (int)v->len;
			p->formats[i] = 1;
			p->types[i] = PG_BYTEAOID;
			break;
		default:
			p->values[i] = NULL;
		}
	}
	return SENIM_OK;
}

/*
 * Find the prepared statement for sql, preparing it on first use.  *name is
 * NULL when the cache neighbourhood is full: run it unnamed, once.
 */
static enum senim_result lookup_prepared(struct pg_conn *c, const char *sql,
					 const struct pg_params *p, size_t n,
					 const char **name)
{
	uintptr_t h = ((uintptr_t)sql >> 3) * 2654435761u;
	size_t slot = h & (STMT_CACHE - 1);
	*name = NULL;
	for (size_t probe = 0; probe < 8; probe++) {
		struct cached_stmt *e = &c->cache[(slot + probe) & (STMT_CACHE - 1)];
		if (e->key == sql) {
			*name = e->name;
			return SENIM_OK;
		}
		if (e->key)
			continue;
		snprintf(e->name, sizeof(e->name), "s%u", c->next_id++);
		PGresult *res = PQprepare(c->pg, e->name, sql, (int)n, p->types);
		enum senim_result err = PQresultStatus(res) == PGRES_COMMAND_OK
						? SENIM_OK
						: result_error(c, res);
		PQclear(res);
		if (err)
			return err;
		/* Protocol-level statements outlive a rollback of the
		 * transaction that prepared them, so caching here is safe. */
		e->key = sql;
		*name = e->name;
		return SENIM_OK;
	}
	return SENIM_OK;
}

/* Run one statement; on success *out holds its result (PQclear it). */
static enum senim_result run(struct pg_conn *c, const char *sql,
			     const struct store_val *params, size_t n, PGresult **out)
{
	*out = NULL;
	if (PQtransactionStatus(c->pg) == PQTRANS_INERROR) {
		log_event(LOG_ERROR, "store_error", "engine", "postgres", "reason",
			  "statement after a failed statement in the transaction", NULL);
		return SENIM_ERR_STORE;
	}
	struct pg_params p;
	enum senim_result err = params_build(&p, params, n);
	if (err)
		return err;
	const char *name;
	err = lookup_prepared(c, sql, &p, n, &name);
	if (err)
		goto fail;
	PGresult *res;
	if (name)
		res = PQexecPrepared(c->pg, name, (int)n, p.values, p.lengths, p.formats,
				     0);
	else
		res = PQexecParams(c->pg, sql, (int)n, p.types, p.values, p.lengths,
				   p.formats, 0);
	ExecStatusType st = PQresultStatus(res);
	if (res && (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)) {
		*out = res;
	} else {
		err = result_error(c, res);
		PQclear(res);
	}
fail:
	params_release(&p);
	return err;
}

static enum senim_result pg_exec(void *conn, const char *sql,
				 const struct store_val *params, size_t n,
				 int64_t *changes)
{
	PGresult *res;
	enum senim_result err = run(conn, sql, params, n, &res);
	if (err)
		return err;
	if (changes)
		*changes = strtoll(PQcmdTuples(res), NULL, 10); /* "" -> 0 */
	PQclear(res);
	return SENIM_OK;
}

static enum senim_result pg_query(void *conn, const char *sql,
				  const struct store_val *params, size_t n,
				  struct store_rows **out)
{
	*out = NULL;
	struct pg_rows *r = calloc(1, sizeof(*r));
	if (!r)
		return SENIM_ERR_NOMEM;
	enum senim_result err = run(conn, sql, params, n, &r->res);
	if (err) {
		free(r);
		return err;
	}
	r->base.be = &store_postgres_backend;
	r->row = -1;
	r->nrows = PQntuples(r->res);
	r->ncols = PQnfields(r->res);
	*out = &r->base;
	return SENIM_OK;
}

/* ---- cursors ---------------------------------------------------------------- */

static void free_row_blobs(struct pg_rows *r)
{
	if (!r->blobs)
		return;
	for (int i = 0; i < r->ncols; i++) {
		free(r->blobs[i]);
		r->blobs[i] = NULL;
	}
}

static enum senim_result pg_rows_next(struct store_rows *base, int *has_row)
{
	struct pg_rows *r = (struct pg_rows *)base;
	free_row_blobs(r);
	if (r->row < r->nrows)
		r->row++;
	*has_row = r->row < r->nrows;
	return SENIM_OK;
}

/* 1 when the cursor is on a row and col names one of its columns. */
static int valid_cell(const struct pg_rows *r, int col)
{
	return r->row >= 0 && r->row < r->nrows && col >= 0 && col < r->ncols;
}

static int pg_rows_is_null(struct store_rows *base, int col)
{
	struct pg_rows *r = (struct pg_rows *)base;
	return !valid_cell(r, col) || PQgetisnull(r->res, r->row, col);
}

static int64_t pg_rows_int(struct store_rows *base, int col)
{
	struct pg_rows *r = (struct pg_rows *)base;
	if (!valid_cell(r, col) || PQgetisnull(r->res, r->row, col))
		return 0;
	const char *v = PQgetvalue(r->res, r->row, col);
	if (PQftype(r->res, col) == PG_BOOLOID)
		return v[0] == 't';
	return strtoll(v, NULL, 10);
}

static const char *pg_rows_text(struct store_rows *base, int col, size_t *len)
{
	struct pg_rows *r = (struct pg_rows *)base;
	if (!valid_cell(r, col)) {
		if (len)
			*len = 0;
		return "";
	}
	/* A NULL reads as "" (libpq's own answer), as in the SQLite backend. */
	if (len)
		*len = (size_t)PQgetlength(r->res, r->row, col);
	return PQgetvalue(r->res, r->row, col);
}

static int hex_nibble(unsigned char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/*
 * Decode bytea's text form: "\x0a1b..." (hex, which session_setup asks for),
 * else the old escape form through libpq.  *out is malloc'ed (never NULL on
 * success, even when empty).
 */
static enum senim_result decode_bytea(const char *text, size_t tlen, unsigned char **out,
				      size_t *len)
{
	*out = NULL;
	*len = 0;
	if (tlen >= 2 && text[0] == '\\' && text[1] == 'x') {
		size_t n = (tlen - 2) / 2;
		unsigned char *b = malloc(n ? n : 1);
		if (!b)
			return SENIM_ERR_NOMEM;
		for (size_t i = 0; i < n; i++) {
			int hi = hex_nibble((unsigned char)text[2 + 2 * i]);
			int lo = hex_nibble((unsigned char)text[3 + 2 * i]);
			if (hi < 0 || lo < 0) {
				free(b);
				return SENIM_ERR_STORE;
			}
			b[i] = (unsigned char)(hi << 4 | lo);
		}
		*out = b;
		*len = n;
		return SENIM_OK;
	}
	size_t n;
	unsigned char *u = PQunescapeBytea((const unsigned char *)text, &n);
	if (!u)
		return SENIM_ERR_NOMEM;
	unsigned char *b = malloc(n ? n : 1);
	if (b && n)
		memcpy(b, u, n);
	PQfreemem(u);
	if (!b)
		return SENIM_ERR_NOMEM;
	*out = b;
	*len = n;
	return SENIM_OK;
}

/*
 * The raw bytes of a cell: bytea decoded (once per row and column), any
 * other type as its text.  NULL reads as an empty blob.  Returns NULL with
 * *len 0 only when decoding fails (out of memory).
 */
static const void *pg_rows_blob(struct store_rows *base, int col, size_t *len)
{
	struct pg_rows *r = (struct pg_rows *)base;
	*len = 0;
	if (!valid_cell(r, col) || PQgetisnull(r->res, r->row, col))
		return "";
	const char *v = PQgetvalue(r->res, r->row, col);
	size_t vlen = (size_t)PQgetlength(r->res, r->row, col);
	if (PQftype(r->res, col) != PG_BYTEAOID) {
		*len = vlen;
		return v;
	}
	if (!r->blobs) {
		r->blobs = calloc((size_t)r->ncols, sizeof(*r->blobs));
		r->blob_lens = calloc((size_t)r->ncols, sizeof(*r->blob_lens));
		if (!r->blobs || !r->blob_lens) {
			free(r->blobs);
			free(r->blob_lens);
			r->blobs = NULL;
			r->blob_lens = NULL;
			return NULL;
		}
	}
	if (!r->blobs[col]) {
		enum senim_result err =
			decode_bytea(v, vlen, &r->blobs[col], &r->blob_lens[col]);
		if (err) {
			log_event(LOG_ERROR, "store_error", "engine", "postgres",
				  "reason", "cannot decode a bytea value", NULL);
			return NULL;
		}
	}
	*len = r->blob_lens[col];
	return r->blobs[col];
}

static void pg_rows_free(struct store_rows *base)
{
	struct pg_rows *r = (struct pg_rows *)base;
	free_row_blobs(r);
	free(r->blobs);
	free(r->blob_lens);
	PQclear(r->res);
	free(r);
}

/* A whole script in one simple-protocol message; inside the caller's
 * transaction, so a failing statement undoes the script's earlier ones. */
static enum senim_result pg_exec_script(void *conn, const char *sql)
{
	struct pg_conn *c = conn;
	if (PQtransactionStatus(c->pg) == PQTRANS_INERROR) {
		log_event(LOG_ERROR, "store_error", "engine", "postgres", "reason",
			  "script after a failed statement in the transaction", NULL);
		return SENIM_ERR_STORE;
	}
	return run_simple(c, sql);
}

static enum senim_result pg_savepoint(void *conn)
{
	return pg_exec_script(conn, "SAVEPOINT job");
}

static enum senim_result pg_release(void *conn)
{
	return pg_exec_script(conn, "RELEASE SAVEPOINT job");
}

/* Allowed in the aborted state: it is how a transaction leaves it. */
static enum senim_result pg_rollback_to(void *conn)
{
	return run_simple(conn, "ROLLBACK TO SAVEPOINT job; RELEASE SAVEPOINT job");
}

const struct store_backend store_postgres_backend = {
	.kind = STORE_POSTGRES,
	.name = "postgres",
	.connect = pg_connect,
	.disconnect = pg_disconnect,
	.begin = pg_begin,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.exec = pg_exec,
	.query = pg_query,
	.rows_next = pg_rows_next,
	.rows_is_null = pg_rows_is_null,
	.rows_int = pg_rows_int,
	.rows_text = pg_rows_text,
	.rows_blob = pg_rows_blob,
	.rows_free = pg_rows_free,
	.exec_script = pg_exec_script,
	.savepoint = pg_savepoint,
	.release = pg_release,
	.rollback_to = pg_rollback_to,
};
