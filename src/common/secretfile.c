/*
 * secretfile.c — see secretfile.h.
 */
#include "common/secretfile.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "common/banned.h"

/* Check what fstat says of an open secret file; NULL when it may be read. */
static const char *refusal(const struct stat *sb, size_t max)
{
	if (!S_ISREG(sb->st_mode))
		return "not a regular file";
	if ((sb->st_mode & 077) != 0)
		return "open to group or others (chmod 600 it)";
	if (sb->st_size <= 0 || (unsigned long long)sb->st_size > max)
		return "empty or too large";
	return NULL;
}

/* Read exactly `want` bytes; a shorter file (truncated since fstat) fails. */
static int read_exactly(int fd, char *into, size_t want)
{
	size_t got = 0;
	while (got < want) {
		ssize_t n = read(fd, into + got, want - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return got == want ? 0 : -1;
}

enum senim_result secret_file_read(const char *path, size_t max, char **data, size_t *len,
				   const char **why)
{
	*data = NULL;
	*len = 0;
	*why = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		*why = strerror(errno);
		return errno == ENOENT ? SENIM_ERR_NOT_FOUND : SENIM_ERR_CONFIG;
	}
	enum senim_result err = SENIM_OK;
	char *buf = NULL;
	struct stat sb;
	if (fstat(fd, &sb) != 0) {
		*why = strerror(errno);
		err = SENIM_ERR_IO;
		goto fail;
	}
	*why = refusal(&sb, max);
	if (*why) {
		err = SENIM_ERR_CONFIG;
		goto fail;
	}
	buf = sodium_malloc((size_t)sb.st_size + 1);
	if (!buf) {
		err = SENIM_ERR_NOMEM;
		goto fail;
	}
	if (read_exactly(fd, buf, (size_t)sb.st_size) != 0) {
		*why = "changed while it was read";
		err = SENIM_ERR_CONFIG;
		goto fail;
	}
	buf[sb.st_size] = '\0';
	*data = buf;
	*len = (size_t)sb.st_size;
	buf = NULL;
fail:
	if (buf)
		sodium_free(buf);
	close(fd);
	return err;
}
