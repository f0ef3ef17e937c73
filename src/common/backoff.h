/*
 * backoff.h — a pause that doubles with each failure in a row, by key.
 *
 * Used to slow down guessing without locking anyone out: after
 * `free_failures` failures in a row a key must wait `base_s` before its next
 * try, then twice as long after each further failure, never more than
 * `max_s`.  Tries made during a pause are refused without counting, so a
 * pause cannot be stretched by hammering: once it is over the next try goes
 * through.  A key with no failure for `forget_s` starts afresh.
 *
 * backoff_delay_s() is the schedule alone, for callers that keep the count
 * elsewhere (staff accounts keep theirs in the store).  The table keeps
 * counts in memory, per process, for keys with no home of their own
 * (client addresses, logins that do not exist); keys are hashed with a
 * per-process salt and never kept, and keys whose hashes collide share a
 * slot: stricter for both, never looser.  Thread-safe.
 */
#ifndef SENIM_BACKOFF_H
#define SENIM_BACKOFF_H

#include <stddef.h>
#include <stdint.h>

struct backoff_policy {
	int free_failures; /* failures in a row before the first pause */
	int base_s;	   /* the first pause */
	int max_s;	   /* the longest pause */
	int forget_s;	   /* a quiet time after which the count starts again */
};

/* Seconds to wait after `failures` in a row: 0 below free_failures. */
int backoff_delay_s(const struct backoff_policy *p, int64_t failures);

struct backoff;

/* A table of `slots` keys.  NULL when out of memory. */
struct backoff *backoff_new(size_t slots, const struct backoff_policy *p);
void backoff_free(struct backoff *b);

/* Seconds before `key` may try again; 0 when it may try now. */
int backoff_wait_s(struct backoff *b, const void *key, size_t len);
/* Count a failure of `key` (and start its pause, when one is due). */
void backoff_failed(struct backoff *b, const void *key, size_t len);

#endif
