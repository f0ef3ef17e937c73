#include "common/buf.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/banned.h"

/*
 * An empty buffer points here so that data is always a valid C string.  It
 * is shared by every empty buffer in every thread, so nothing may write it:
 * it is const, in read-only memory, and a write through a buffer that never
 * grew faults at once instead of racing with the other threads (two
 * workers resetting their empty reply bodies wrote this byte concurrently).
 * Every writer below therefore writes only once cap is non-zero.
 */
static const char buf_empty[1];

void buf_init(struct buf *b, size_t max)
{
	/* The cast is safe: nothing writes data while cap is 0 (see above). */
	b->data = (char *)buf_empty;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

void buf_release(struct buf *b)
{
	if (b->cap)
		free(b->data);
	buf_init(b, b->max);
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	/* A buffer that never grew already reads "" from the shared sentinel. */
	if (b->cap)
		b->data[0] = '\0';
}

char *buf_detach(struct buf *b, size_t *len)
{
	char *out = b->cap ? b->data : calloc(1, 1);
	if (len)
		*len = b->len;
	buf_init(b, b->max);
	return out;
}

/*
 * Make room for `extra` more bytes plus the NUL, respecting `max`.  The
 * bytes move to a new block and the old one is wiped before it is freed,
 * never realloc'ed: buffers hold request and response bodies, decrypted
 * records and imported files, and realloc would leave each outgrown copy
 * of that personal data behind in freed memory.  (Doubling keeps the
 * copying to about the final size.)
 */
static enum senim_result buf_grow(struct buf *b, size_t extra)
{
	if (extra > b->max || b->len > b->max - extra)
		return SENIM_ERR_TOO_LARGE;
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return SENIM_OK;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap < ((size_t)1 << 62) ? cap * 2 : need;
	char *p = malloc(cap);
	if (!p)
		return SENIM_ERR_NOMEM;
	if (b->cap) {
		memcpy(p, b->data, b->len + 1);
		buf_wipe_free(b->data);
	} else {
		p[0] = '\0';
	}
	b->data = p;
	b->cap = cap;
	return SENIM_OK;
}

enum senim_result buf_add(struct buf *b, const void *data, size_t len)
{
	enum senim_result err = buf_grow(b, len);
	if (err)
		return err;
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return SENIM_OK;
}

enum senim_result buf_addstr(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

enum senim_result buf_addch(struct buf *b, char c)
{
	return buf_add(b, &c, 1);
}

enum senim_result buf_vaddf(struct buf *b, const char *fmt, va_list ap)
{
	va_list again;
	va_copy(again, ap);
	int n = vsnprintf(NULL, 0, fmt, again);
	va_end(again);
	if (n < 0)
		return SENIM_ERR_INVALID;
	enum senim_result err = buf_grow(b, (size_t)n);
	if (err)
		return err;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return SENIM_OK;
}

enum senim_result buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	enum senim_result err = buf_vaddf(b, fmt, ap);
	va_end(ap);
	return err;
}

enum senim_result buf_addhex(struct buf *b, const void *data, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *p = data;
	if (len > (BUF_NO_LIMIT / 2))
		return SENIM_ERR_TOO_LARGE;
	enum senim_result err = buf_grow(b, len * 2);
	if (err)
		return err;
	for (size_t i = 0; i < len; i++) {
		b->data[b->len++] = digits[p[i] >> 4];
		b->data[b->len++] = digits[p[i] & 15];
	}
	b->data[b->len] = '\0';
	return SENIM_OK;
}

void buf_wipe_free(void *p)
{
	if (!p)
		return;
	/* explicit_bzero: a wipe the optimiser may not drop before free(),
	 * at memset speed (a volatile byte loop cost a third of a 24 KB
	 * response's CPU time). */
	explicit_bzero(p, malloc_usable_size(p));
	free(p);
}

void buf_release_wiped(struct buf *b)
{
	if (b->cap) {
		buf_wipe_free(b->data);
		b->cap = 0;
	}
	buf_init(b, b->max);
}

struct slice slice_from(const char *s)
{
	struct slice v = { s, s ? strlen(s) : 0 };
	return v;
}

int slice_eq(struct slice a, const char *s)
{
	size_t n = strlen(s);
	return a.len == n && (n == 0 || memcmp(a.ptr, s, n) == 0);
}

enum senim_result buf_add_html(struct buf *b, const char *s, size_t len)
{
	enum senim_result err = SENIM_OK;
	size_t from = 0;
	for (size_t i = 0; i < len && !err; i++) {
		const char *rep = NULL;
		switch (s[i]) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&#39;";
			break;
		default:
			continue;
		}
		err = buf_add(b, s + from, i - from);
		if (!err)
			err = buf_addstr(b, rep);
		from = i + 1;
	}
	return err ? err : buf_add(b, s + from, len - from);
}
