#include "store/snapshot.h"

#include <errno.h>
#include <stdlib.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sodium.h>
#include <sqlite3.h>

#include "common/log.h"
#include "common/banned.h"

extern char **environ;

enum store_kind snapshot_kind(const char *target)
{
	return strncmp(target, "postgresql://", 13) == 0 ||
			       strncmp(target, "postgres://", 11) == 0
		       ? STORE_POSTGRES
		       : STORE_SQLITE;
}

/* Make path as an empty file only its owner may read: the engine then
 * writes into a file that was never open to others. */
static enum senim_result make_private(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return SENIM_ERR_IO;
	close(fd);
	return SENIM_OK;
}

static void log_sqlite(const char *what, sqlite3 *db)
{
	log_event(LOG_ERROR, "snapshot_failed", "step", what, "reason",
		  db ? sqlite3_errmsg(db) : "out of memory", NULL);
}

/* Copy every page of src's main database into dst's, in one step: one read
 * transaction on src, so the copy is one commit's state. */
static enum senim_result copy_all(sqlite3 *dst, sqlite3 *src)
{
	sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
	if (!b) {
		log_sqlite("backup_init", dst);
		return SENIM_ERR_STORE;
	}
	int rc;
	for (int tries = 0; tries < 600; tries++) {
		rc = sqlite3_backup_step(b, -1);
		if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED)
			break;
		sqlite3_sleep(100);
	}
	int fin = sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE || fin != SQLITE_OK) {
		log_sqlite("backup_step", dst);
		return SENIM_ERR_STORE;
	}
	return SENIM_OK;
}

static enum senim_result sqlite_copy(const char *from, int from_flags, const char *to,
				     int to_flags)
{
	sqlite3 *src = NULL, *dst = NULL;
	enum senim_result err = SENIM_ERR_STORE;
	if (sqlite3_open_v2(from, &src, from_flags, NULL) != SQLITE_OK) {
		log_sqlite("open_source", src);
		goto done;
	}
	if (sqlite3_open_v2(to, &dst, to_flags, NULL) != SQLITE_OK) {
		log_sqlite("open_destination", dst);
		goto done;
	}
	sqlite3_busy_timeout(src, 10000);
	sqlite3_busy_timeout(dst, 10000);
	/* Pages freed by the copy are zeroed, as in the store itself. */
	if (sqlite3_exec(dst, "PRAGMA secure_delete=ON", NULL, NULL, NULL) != SQLITE_OK) {
		log_sqlite("secure_delete", dst);
		goto done;
	}
	err = copy_all(dst, src);
done:
	sqlite3_close(src);
	sqlite3_close(dst);
	return err;
}

/* Run argv (argv[0] found on PATH) and wait; SENIM_OK on exit status 0.
 * envp is the child's environment (environ, or environ with a password). */
static enum senim_result run_tool(char *const argv[], char *const envp[])
{
	pid_t pid;
	int rc = posix_spawnp(&pid, argv[0], NULL, NULL, argv, envp);
	if (rc != 0) {
		log_event(LOG_ERROR, "snapshot_failed", "step", argv[0], "reason",
			  strerror(rc), NULL);
		return SENIM_ERR_UNAVAILABLE;
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return SENIM_ERR_IO;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		/* The tool's own stderr says why; it never echoes the
		 * password. */
		log_event(LOG_ERROR, "snapshot_failed", "step", argv[0], "reason",
			  "exited with an error", NULL);
		return WIFEXITED(status) && WEXITSTATUS(status) == 127
			       ? SENIM_ERR_UNAVAILABLE
			       : SENIM_ERR_STORE;
	}
	return SENIM_OK;
}

/* How pg_dump and pg_restore reach the database: `--dbname=` with the
 * URL's parameters but its password, and the password (if the URL has
 * one) in the child's environment as PGPASSWORD.  Any user of the host may
 * read a process's arguments; its environment only its owner may. */
#define DBNAME_FLAG "--dbname="

struct pg_target {
	char dbname[4200];   /* "--dbname=host='h' port='5432' ..." */
	char password[1100]; /* "PGPASSWORD=..." or "" */
	char **envp;	     /* environ, or a copy with password added */
};

/* Append " key='value'" to out (libpq's quoting: \ and \' escaped). */
static int append_param(char *out, size_t size, size_t *len, const char *key,
			const char *value)
{
	int n = snprintf(out + *len, size - *len, "%s%s='",
			 *len > strlen(DBNAME_FLAG) ? " " : "", key);
	if (n < 0 || (size_t)n >= size - *len)
		return -1;
	*len += (size_t)n;
	for (const char *c = value; *c; c++) {
		if (*len + 3 >= size)
			return -1;
		if (*c == '\\' || *c == '\'')
			out[(*len)++] = '\\';
		out[(*len)++] = *c;
	}
	if (*len + 2 >= size)
		return -1;
	out[(*len)++] = '\'';
	out[*len] = '\0';
	return 0;
}

/* The environment with "PGPASSWORD=..." in place of any it had. */
static char **env_with(char *entry)
{
	size_t n = 0;
	while (environ[n])
		n++;
	char **envp = calloc(n + 2, sizeof(*envp));
	if (!envp)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "PGPASSWORD=", 11) != 0)
			envp[k++] = environ[i];
	envp[k] = entry;
	return envp;
}

static void pg_target_free(struct pg_target *t)
{
	if (t->envp != environ)
		free(t->envp);
	sodium_memzero(t->password, sizeof(t->password));
	sodium_memzero(t->dbname, sizeof(t->dbname));
}

/* Split target into t, or SENIM_ERR_INVALID for a URL libpq refuses or
 * that does not fit. */
static enum senim_result pg_target_of(const char *target, struct pg_target *t)
{
	char *why = NULL;
	PQconninfoOption *opts = PQconninfoParse(target, &why);
	if (!opts) {
		PQfreemem(why); /* may echo the URL: never logged */
		return SENIM_ERR_INVALID;
	}
	size_t len = (size_t)snprintf(t->dbname, sizeof(t->dbname), DBNAME_FLAG);
	t->password[0] = '\0';
	t->envp = environ;
	int bad = 0;
	for (PQconninfoOption *o = opts; o->keyword && !bad; o++) {
		if (!o->val || !o->val[0])
			continue;
		if (strcmp(o->keyword, "password") == 0) {
			int n = snprintf(t->password, sizeof(t->password),
					 "PGPASSWORD=%s", o->val);
			bad = n < 0 || (size_t)n >= sizeof(t->password);
		} else {
			bad = append_param(t->dbname, sizeof(t->dbname), &len, o->keyword,
					   o->val) != 0;
		}
	}
	PQconninfoFree(opts);
	if (!bad && t->password[0] && !(t->envp = env_with(t->password)))
		bad = 1;
	if (bad) {
		pg_target_free(t);
		return SENIM_ERR_INVALID;
	}
	return SENIM_OK;
}

/* pg_dump of target into out_path, in its custom format. */
static enum senim_result pg_dump_to(const char *target, const char *out_path)
{
	char file[4200];
	if (snprintf(file, sizeof(file), "--file=%s", out_path) >= (int)sizeof(file))
		return SENIM_ERR_INVALID;
	struct pg_target t;
	enum senim_result err = pg_target_of(target, &t);
	if (err)
		return err;
	char *argv[] = { "pg_dump", "--format=custom", "--no-owner", "--no-privileges",
			 file,	    t.dbname,	       NULL };
	err = run_tool(argv, t.envp);
	pg_target_free(&t);
	return err;
}

enum senim_result snapshot_take(const char *target, const char *out_path, int64_t *bytes)
{
	*bytes = 0;
	enum senim_result err = make_private(out_path);
	if (err)
		return err;
	if (snapshot_kind(target) == STORE_SQLITE)
		err = sqlite_copy(target, SQLITE_OPEN_READONLY, out_path,
				  SQLITE_OPEN_READWRITE);
	else
		err = pg_dump_to(target, out_path);
	struct stat sb;
	if (!err && stat(out_path, &sb) != 0)
		err = SENIM_ERR_IO;
	if (err) {
		unlink(out_path);
		return err;
	}
	*bytes = (int64_t)sb.st_size;
	return SENIM_OK;
}

enum senim_result snapshot_restore(const char *target, const char *in_path)
{
	if (snapshot_kind(target) == STORE_SQLITE)
		return sqlite_copy(in_path, SQLITE_OPEN_READONLY, target,
				   SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
	struct pg_target t;
	enum senim_result err = pg_target_of(target, &t);
	if (err)
		return err;
	char *argv[] = { "pg_restore",	    "--clean",
			 "--if-exists",	    "--no-owner",
			 "--no-privileges", "--single-transaction",
			 "--exit-on-error", t.dbname,
			 (char *)in_path,   NULL };
	err = run_tool(argv, t.envp);
	pg_target_free(&t);
	return err;
}
