#include "testutil.h"

#include <dirent.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/schedule.h"
#include "common/banned.h"

int testutil_tmpdir(const char *prefix, char *out, size_t cap)
{
	const char *base = getenv("SENIM_TMP");
	if (!base || !*base)
		base = "/tmp";
	(void)mkdir(base, 0700);
	int n = snprintf(out, cap, "%s/%s-XXXXXX", base, prefix);
	if (n < 0 || (size_t)n >= cap || !mkdtemp(out))
		return -1;
	return 0;
}

void testutil_rm_rf(const char *path)
{
	struct stat sb;
	if (lstat(path, &sb) != 0)
		return;
	if (S_ISDIR(sb.st_mode)) {
		(void)chmod(path, 0700);
		DIR *d = opendir(path);
		struct dirent *e;
		while (d && (e = readdir(d)) != NULL) {
			char sub[1024];
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
			testutil_rm_rf(sub);
		}
		if (d)
			closedir(d);
	}
	(void)remove(path);
}

int testutil_sql(const char *db, const char *sql, char *why, size_t cap)
{
	sqlite3 *c = NULL;
	char *msg = NULL;
	int rc = sqlite3_open(db, &c);
	if (rc == SQLITE_OK) {
		sqlite3_busy_timeout(c, 10000);
		rc = sqlite3_exec(c, sql, NULL, NULL, &msg);
	}
	if (rc != SQLITE_OK)
		snprintf(why, cap, "%s",
			 msg ? msg
			 : c ? sqlite3_errmsg(c)
			     : "cannot open");
	sqlite3_free(msg);
	sqlite3_close(c);
	return rc == SQLITE_OK ? 0 : -1;
}

long long testutil_sql_int(const char *db, const char *sql)
{
	sqlite3 *c = NULL;
	sqlite3_stmt *stmt = NULL;
	long long v = -1;
	if (sqlite3_open(db, &c) == SQLITE_OK) {
		sqlite3_busy_timeout(c, 10000);
		if (sqlite3_prepare_v2(c, sql, -1, &stmt, NULL) == SQLITE_OK &&
		    sqlite3_step(stmt) == SQLITE_ROW)
			v = sqlite3_column_int64(stmt, 0);
	}
	sqlite3_finalize(stmt);
	sqlite3_close(c);
	return v;
}

int testutil_rows_equal(const struct schedule_row *a, const struct schedule_row *b,
			size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i].due != b[i].due || a[i].principal != b[i].principal ||
		    a[i].interest != b[i].interest || a[i].total != b[i].total ||
		    a[i].balance != b[i].balance)
			return 0;
	return 1;
}
