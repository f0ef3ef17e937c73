/*
 * buf.h — the growable byte buffer and the non-owning slice.
 *
 * A `struct buf` owns heap memory that is always NUL-terminated (so `data`
 * can be handed to C string functions) and never grows past `max` bytes:
 * anything sized by a client goes through a buf with a hard cap (curl's
 * dynbuf, git's strbuf).  A `struct slice` is a (pointer, length) view into
 * memory somebody else owns, for parsing (h2o's iovec).
 */
#ifndef SENIM_BUF_H
#define SENIM_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "common/result.h"

struct buf {
	char *data; /* NUL-terminated; until first growth (cap 0) it points at
		     * a shared read-only "" that must never be written */
	size_t len; /* bytes used, not counting the NUL */
	size_t cap; /* bytes allocated */
	size_t max; /* hard limit on len; adding past it fails */
};

struct slice {
	const char *ptr;
	size_t len;
};

#define BUF_NO_LIMIT ((size_t)1 << 40)

/* Set up an empty buffer that may hold at most `max` bytes. */
void buf_init(struct buf *b, size_t max);

/* Free the buffer's memory and leave it empty and reusable. */
void buf_release(struct buf *b);

/* Empty the buffer but keep its memory.  Safe on a buffer that never grew
 * from any number of threads at once: it writes only memory the buffer owns. */
void buf_reset(struct buf *b);

/* Hand the memory to the caller, who frees it with free(); the buffer is left
 * empty.  Returns a heap string even when the buffer never grew. */
char *buf_detach(struct buf *b, size_t *len);

/* Append; SENIM_ERR_TOO_LARGE past `max`, SENIM_ERR_NOMEM on allocation. */
SENIM_MUST_CHECK enum senim_result buf_add(struct buf *b, const void *data, size_t len);
SENIM_MUST_CHECK enum senim_result buf_addstr(struct buf *b, const char *s);
SENIM_MUST_CHECK enum senim_result buf_addch(struct buf *b, char c);
SENIM_MUST_CHECK enum senim_result buf_addf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
SENIM_MUST_CHECK enum senim_result buf_vaddf(struct buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/* Append s[0..len) with & < > " ' escaped, so that a value never becomes
 * markup, in HTML text or inside a quoted attribute. */
SENIM_MUST_CHECK enum senim_result buf_add_html(struct buf *b, const char *s, size_t len);

/* free() that first wipes the whole block (its usable size): for memory
 * that held personal data, such as a response body.  NULL does nothing. */
void buf_wipe_free(void *p);

/* Wipe and free the buffer's memory (buf_release for secrets). */
void buf_release_wiped(struct buf *b);

/* Append `len` bytes as lower-case hex. */
SENIM_MUST_CHECK enum senim_result buf_addhex(struct buf *b, const void *data,
					      size_t len);

/* A slice of a C string. */
struct slice slice_from(const char *s);
/* 1 when the slice equals the C string `s` exactly. */
int slice_eq(struct slice a, const char *s);

#endif
