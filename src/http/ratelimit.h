/*
 * ratelimit.h — fixed-window request counters by key (a phone's blind index,
 * a client address), for the endpoints a stranger can call: sending and
 * checking one-time codes.  In memory, per process: the limits protect the
 * SMS budget and slow guessing; the per-code attempt limit in the store is
 * what makes guessing futile.
 */
#ifndef SENIM_RATELIMIT_H
#define SENIM_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

struct ratelimit;

/* A table of `slots` counters (keys that collide share one: stricter, never
 * looser).  NULL when out of memory. */
struct ratelimit *ratelimit_new(size_t slots);
void ratelimit_free(struct ratelimit *rl);

/*
 * Count one hit of `key` in its current window of `window_s` seconds; 1 when
 * within `limit`, 0 when over it (then *retry_after_s says when the window
 * ends).  `scope` separates limits that share keys ("otp-send", ...).
 */
int ratelimit_hit(struct ratelimit *rl, const char *scope, const void *key, size_t len,
		  int limit, int window_s, int *retry_after_s);

#endif
