#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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
