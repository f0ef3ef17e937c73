/*
 * arena.h — a request's memory pool (h2o's req->pool).
 *
 * Allocations live until arena_release(); nothing allocated from an arena is
 * freed on its own.  A handler allocates request-lifetime data here and never
 * calls free() for it.  The arena has a hard cap so that no client can make a
 * request grow without bound.
 */
#ifndef SENIM_ARENA_H
#define SENIM_ARENA_H

#include <stddef.h>

struct arena_chunk;
struct arena_disposer;

struct arena {
	struct arena_chunk *head;
	struct arena_disposer *disposers; /* newest first */
	size_t used;			  /* bytes handed out, for the cap */
	size_t max;			  /* hard cap on bytes handed out */
};

void arena_init(struct arena *a, size_t max);
/* Run every dispose hook, newest first, then free every allocation at once;
 * the arena may be used again. */
void arena_release(struct arena *a);

/* Zeroed, 16-byte aligned memory; NULL when out of memory or over the cap. */
void *arena_alloc(struct arena *a, size_t size);
/* A NUL-terminated copy of `len` bytes of `s`; NULL on failure. */
char *arena_strndup(struct arena *a, const char *s, size_t len);
char *arena_strdup(struct arena *a, const char *s);

/*
 * Zeroed memory for an object that owns things outside the arena (a JSON
 * answer, sealed keys, decrypted data): dispose(obj) runs once, from
 * arena_release(), before the memory goes — so the object's lifetime is
 * the request's, whatever thread finishes the request (h2o's
 * h2o_mem_alloc_shared).  dispose may be NULL.  NULL when out of memory or
 * over the cap; nothing is registered then.
 */
void *arena_alloc_disposable(struct arena *a, size_t size, void (*dispose)(void *obj));

#endif
