/*
 * testutil.h — what the unit tests share: a private temporary directory
 * under $SENIM_TMP (or /tmp), and removing it again.
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

#endif
