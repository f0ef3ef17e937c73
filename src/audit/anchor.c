/*
 * anchor.c — the audit anchor file (anchor.h).
 */
#include "audit/anchor.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/banned.h"

#define ANCHOR_TAG "senim-anchor-v1"
#define ANCHOR_TAG_LEN (sizeof(ANCHOR_TAG) - 1)
/* The whole file is read at once by a verifier: a bound keeps a planted
 * huge file from exhausting memory (about 4 million checkpoints). */
#define ANCHOR_FILE_MAX ((size_t)1 << 30)

size_t anchor_format(const struct anchor_entry *e, char line[ANCHOR_LINE_MAX])
{
	char hash[2 * ANCHOR_HASH_BYTES + 1], sig[2 * KEYRING_SIG_BYTES + 1];
	sodium_bin2hex(hash, sizeof(hash), e->hash, sizeof(e->hash));
	sodium_bin2hex(sig, sizeof(sig), e->sig, sizeof(e->sig));
	int n = snprintf(line, ANCHOR_LINE_MAX,
			 ANCHOR_TAG " %" PRId64 " %s %" PRId64 " %s %s\n", e->seq, hash,
			 e->signed_at, e->key_id, sig);
	return n > 0 && n < ANCHOR_LINE_MAX ? (size_t)n : 0;
}

/* The next space-separated field of [*p, end): its start and length. */
static int next_field(const char **p, const char *end, const char **f, size_t *len)
{
	const char *s = *p;
	const char *sp = memchr(s, ' ', (size_t)(end - s));
	const char *e = sp ? sp : end;
	if (e == s)
		return -1;
	*f = s;
	*len = (size_t)(e - s);
	*p = sp ? sp + 1 : end;
	return 0;
}

static int parse_int(const char *f, size_t len, int64_t *out)
{
	char buf[24];
	if (len == 0 || len >= sizeof(buf))
		return -1;
	for (size_t i = 0; i < len; i++)
		if ((f[i] < '0' || f[i] > '9') && !(i == 0 && f[i] == '-' && len > 1))
			return -1;
	memcpy(buf, f, len);
	buf[len] = '\0';
	errno = 0;
	char *end;
	long long v = strtoll(buf, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

static int parse_hex(const char *f, size_t len, unsigned char *out, size_t n)
{
	size_t got = 0;
	for (size_t i = 0; i < len; i++) /* lower case only: one spelling */
		if (!((f[i] >= '0' && f[i] <= '9') || (f[i] >= 'a' && f[i] <= 'f')))
			return -1;
	if (len != 2 * n || sodium_hex2bin(out, n, f, len, NULL, &got, NULL) != 0 ||
	    got != n)
		return -1;
	return 0;
}

enum senim_result anchor_parse(const char *line, size_t len, struct anchor_entry *e)
{
	const char *p = line, *end = line + len, *f;
	size_t flen;
	memset(e, 0, sizeof(*e));
	if (next_field(&p, end, &f, &flen) || flen != ANCHOR_TAG_LEN ||
	    memcmp(f, ANCHOR_TAG, flen) != 0)
		return SENIM_ERR_INVALID;
	if (next_field(&p, end, &f, &flen) || parse_int(f, flen, &e->seq) || e->seq < 1)
		return SENIM_ERR_INVALID;
	if (next_field(&p, end, &f, &flen) ||
	    parse_hex(f, flen, e->hash, sizeof(e->hash)))
		return SENIM_ERR_INVALID;
	if (next_field(&p, end, &f, &flen) || parse_int(f, flen, &e->signed_at))
		return SENIM_ERR_INVALID;
	unsigned char id[(KEYRING_KEY_ID_LEN - 1) / 2];
	if (next_field(&p, end, &f, &flen) || parse_hex(f, flen, id, sizeof(id)))
		return SENIM_ERR_INVALID;
	memcpy(e->key_id, f, flen);
	e->key_id[flen] = '\0';
	if (next_field(&p, end, &f, &flen) || parse_hex(f, flen, e->sig, sizeof(e->sig)))
		return SENIM_ERR_INVALID;
	return p == end ? SENIM_OK : SENIM_ERR_INVALID;
}

/* Whether the file ends in the middle of a line: the torn write of a
 * crash, which the next line must not be glued onto. */
static int ends_torn(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return 0;
	char last = '\n';
	off_t end = lseek(fd, 0, SEEK_END);
	int torn = end > 0 && pread(fd, &last, 1, end - 1) == 1 && last != '\n';
	close(fd);
	return torn;
}

enum senim_result anchor_open_append(const char *path, int *fd, const char **why)
{
	*fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (*fd < 0) {
		*why = strerror(errno);
		return SENIM_ERR_IO;
	}
	if (ends_torn(path) && write(*fd, "\n", 1) != 1) {
		*why = strerror(errno);
		close(*fd);
		*fd = -1;
		return SENIM_ERR_IO;
	}
	return SENIM_OK;
}

enum senim_result anchor_append(int fd, const char *line, size_t len, const char **why)
{
	/* One write of a few hundred bytes with O_APPEND: lines of several
	 * writers never mix.  A short write (a full disk) leaves a torn last
	 * line that a reader skips; the next line starts on its own. */
	ssize_t n;
	do
		n = write(fd, line, len);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)len) {
		*why = n < 0 ? strerror(errno) : "short write";
		if (n > 0) /* end the torn line: the next one starts afresh */
			(void)!write(fd, "\n", 1);
		return SENIM_ERR_IO;
	}
	if (fdatasync(fd) != 0) {
		*why = strerror(errno);
		return SENIM_ERR_IO;
	}
	return SENIM_OK;
}

/* Read the whole file into a malloc'ed buffer (*data, freed by the
 * caller). */
static enum senim_result slurp(const char *path, char **data, size_t *len)
{
	size_t cap = 1 << 16, n = 0;
	char *buf = NULL;
	enum senim_result err = SENIM_OK;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? SENIM_ERR_NOT_FOUND : SENIM_ERR_IO;
	buf = malloc(cap);
	if (!buf) {
		err = SENIM_ERR_NOMEM;
		goto fail;
	}
	for (;;) {
		if (n == cap) {
			if (cap >= ANCHOR_FILE_MAX) {
				err = SENIM_ERR_TOO_LARGE;
				goto fail;
			}
			char *grown = malloc(cap * 2);
			if (!grown) {
				err = SENIM_ERR_NOMEM;
				goto fail;
			}
			memcpy(grown, buf, n); /* no personal data: plain free */
			free(buf);
			buf = grown;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = SENIM_ERR_IO;
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*data = buf;
	*len = n;
	buf = NULL;
fail:
	free(buf);
	close(fd);
	return err;
}

enum senim_result anchor_read(const char *path, struct anchor_entry **out, size_t *n,
			      int64_t *skipped)
{
	char *data = NULL;
	size_t len = 0, count = 0;
	struct anchor_entry *es = NULL;
	int64_t lineno = 0;
	*out = NULL;
	*n = 0;
	*skipped = 0;
	enum senim_result err = slurp(path, &data, &len);
	if (err)
		return err;
	size_t cap = len / 200 + 1; /* a line is about 270 bytes */
	es = malloc(cap * sizeof(*es));
	if (!es) {
		err = SENIM_ERR_NOMEM;
		goto fail;
	}
	for (size_t off = 0; off < len;) {
		const char *line = data + off;
		const char *nl = memchr(line, '\n', len - off);
		size_t llen = nl ? (size_t)(nl - line) : len - off;
		off += llen + (nl ? 1 : 0);
		lineno++;
		struct anchor_entry e;
		if (!nl || anchor_parse(line, llen, &e) != SENIM_OK) {
			/* A line without its "\n" is the torn last write of a
			 * crash, or of a full disk (then the next write ends it):
			 * never durable, so never a checkpoint to insist on. */
			if (llen > 0)
				(*skipped)++;
			continue;
		}
		e.line = lineno;
		if (count == cap) {
			struct anchor_entry *grown =
				realloc(es, cap * 2 * sizeof(*grown));
			if (!grown) {
				err = SENIM_ERR_NOMEM;
				goto fail;
			}
			es = grown;
			cap *= 2;
		}
		es[count++] = e;
	}
	*out = es;
	*n = count;
	es = NULL;
fail:
	free(es);
	free(data);
	return err;
}
