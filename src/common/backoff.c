/*
 * backoff.c — doubling pauses after failures, in memory.
 */
#include "common/backoff.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/banned.h"

#define US_PER_S 1000000

struct slot {
	int64_t failures;
	int64_t last_us;  /* the last failure, monotonic */
	int64_t until_us; /* no try before this, monotonic */
};

struct backoff {
	pthread_mutex_t lock;
	struct backoff_policy policy;
	size_t nslots;
	struct slot *slots;
	unsigned char salt[crypto_shorthash_KEYBYTES];
};

int backoff_delay_s(const struct backoff_policy *p, int64_t failures)
{
	if (failures < p->free_failures)
		return 0;
	int64_t d = p->base_s;
	/* Doubling, stopped at the cap before it can overflow. */
	for (int64_t n = failures - p->free_failures; n > 0 && d < p->max_s; n--)
		d *= 2;
	return d > p->max_s ? p->max_s : (int)d;
}

struct backoff *backoff_new(size_t slots, const struct backoff_policy *p)
{
	struct backoff *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->slots = calloc(slots, sizeof(struct slot));
	if (!b->slots) {
		free(b);
		return NULL;
	}
	b->nslots = slots;
	b->policy = *p;
	randombytes_buf(b->salt, sizeof(b->salt));
	pthread_mutex_init(&b->lock, NULL);
	return b;
}

void backoff_free(struct backoff *b)
{
	if (!b)
		return;
	pthread_mutex_destroy(&b->lock);
	free(b->slots);
	free(b);
}

static uint64_t key_hash(const struct backoff *b, const void *key, size_t len)
{
	unsigned char h[crypto_shorthash_BYTES];
	crypto_shorthash(h, key, len, b->salt);
	uint64_t k;
	memcpy(&k, h, sizeof(k));
	return k;
}

/* The key's slot, emptied when its failures are forgotten; lock held. */
static struct slot *slot_of(struct backoff *b, uint64_t k, int64_t now)
{
	struct slot *s = &b->slots[k % b->nslots];
	if (s->failures && now - s->last_us >= (int64_t)b->policy.forget_s * US_PER_S)
		memset(s, 0, sizeof(*s));
	return s;
}

int backoff_wait_s(struct backoff *b, const void *key, size_t len)
{
	uint64_t k = key_hash(b, key, len);
	int64_t now = clock_mono_us();
	pthread_mutex_lock(&b->lock);
	struct slot *s = slot_of(b, k, now);
	int64_t left = s->until_us - now;
	pthread_mutex_unlock(&b->lock);
	return left > 0 ? (int)((left + US_PER_S - 1) / US_PER_S) : 0;
}

void backoff_failed(struct backoff *b, const void *key, size_t len)
{
	uint64_t k = key_hash(b, key, len);
	int64_t now = clock_mono_us();
	pthread_mutex_lock(&b->lock);
	struct slot *s = slot_of(b, k, now);
	s->failures++;
	s->last_us = now;
	int64_t until =
		now + (int64_t)backoff_delay_s(&b->policy, s->failures) * US_PER_S;
	if (until > s->until_us)
		s->until_us = until;
	pthread_mutex_unlock(&b->lock);
}
