#include "common/arena.h"

#include <stdlib.h>
#include <string.h>

#include "common/banned.h"

struct arena_chunk {
	struct arena_chunk *next;
	size_t size;
	size_t used;
	_Alignas(16) unsigned char data[];
};

struct arena_disposer {
	struct arena_disposer *next;
	void (*dispose)(void *obj);
	void *obj;
};

#define ARENA_CHUNK 4096

void arena_init(struct arena *a, size_t max)
{
	a->head = NULL;
	a->disposers = NULL;
	a->used = 0;
	a->max = max;
}

void arena_release(struct arena *a)
{
	/* Newest first: an object may refer to one allocated before it. */
	for (struct arena_disposer *d = a->disposers; d; d = d->next)
		if (d->dispose)
			d->dispose(d->obj);
	a->disposers = NULL;
	struct arena_chunk *c = a->head;
	while (c) {
		struct arena_chunk *next = c->next;
		free(c);
		c = next;
	}
	a->head = NULL;
	a->used = 0;
}

void *arena_alloc(struct arena *a, size_t size)
{
	size_t rounded = (size + 15) & ~(size_t)15;
	if (rounded < size || rounded > a->max || a->used > a->max - rounded)
		return NULL;
	struct arena_chunk *c = a->head;
	if (!c || c->size - c->used < rounded) {
		size_t csize = rounded > ARENA_CHUNK ? rounded : ARENA_CHUNK;
		c = malloc(sizeof(*c) + csize);
		if (!c)
			return NULL;
		c->size = csize;
		c->used = 0;
		/* A big one-off allocation goes behind the current chunk so the
		 * current chunk's free space stays usable. */
		if (a->head && rounded > ARENA_CHUNK) {
			c->next = a->head->next;
			a->head->next = c;
		} else {
			c->next = a->head;
			a->head = c;
		}
	}
	void *p = c->data + c->used;
	c->used += rounded;
	a->used += rounded;
	memset(p, 0, size);
	return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t len)
{
	char *p = arena_alloc(a, len + 1);
	if (!p)
		return NULL;
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

void *arena_alloc_disposable(struct arena *a, size_t size, void (*dispose)(void *obj))
{
	struct arena_disposer *d = arena_alloc(a, sizeof(*d));
	void *obj = d ? arena_alloc(a, size) : NULL;
	if (!obj)
		return NULL;
	d->dispose = dispose;
	d->obj = obj;
	d->next = a->disposers;
	a->disposers = d;
	return obj;
}
