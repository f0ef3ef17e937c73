/*
 * testutil.h — what the unit tests share: a private temporary directory
 * under $SENIM_TMP (or /tmp), removing it again, and raw SQL on a SQLite
 * file.
 */
#ifndef SENIM_TESTUTIL_H
#define SENIM_TESTUTIL_H

#include <stddef.h>

/* Make a fresh directory "<base>/<prefix>-XXXXXX" (mode 0700) into out;
 * 0 on success, -1 when it cannot (out too small, mkdtemp failed). */
int testutil_tmpdir(const char *prefix, char *out, size_t cap);

/* rm -rf path; follows no symbolic links, makes directories writable to
 * empty them (tests chmod things on purpose). */
void testutil_rm_rf(const char *path);

/* SQL on a SQLite file from outside the store, as someone with file access
 * would (tests that tamper, or look at what is stored).  testutil_sql runs
 * every statement of `sql`: 0, or -1 with SQLite's message in why.
 * testutil_sql_int is the first column of the first row (-1 when none). */
int testutil_sql(const char *db, const char *sql, char *why, size_t cap);
long long testutil_sql_int(const char *db, const char *sql);

/* Whether rows a[0..n) and b[0..n) hold the same values, field by field:
 * a struct's padding is never set, so memcmp would read uninitialised
 * bytes (valgrind says so). */
struct schedule_row;
int testutil_rows_equal(const struct schedule_row *a, const struct schedule_row *b,
			size_t n);

#endif
