#include "http/ratelimit.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/banned.h"

struct slot {
	uint64_t key;
	int64_t window_start_us;
	int count;
};

struct ratelimit {
	pthread_mutex_t lock;
	size_t nslots;
	struct slot *slots;
	unsigned char salt[crypto_shorthash_KEYBYTES]; /* keys are hashed, never kept */
};

struct ratelimit *ratelimit_new(size_t slots)
{
	struct ratelimit *rl = calloc(1, sizeof(*rl));
	if (!rl)
		return NULL;
	rl->slots = calloc(slots, sizeof(struct slot));
	if (!rl->slots) {
		free(rl);
		return NULL;
	}
	rl->nslots = slots;
	randombytes_buf(rl->salt, sizeof(rl->salt));
	pthread_mutex_init(&rl->lock, NULL);
	return rl;
}

void ratelimit_free(struct ratelimit *rl)
{
	if (!rl)
		return;
	pthread_mutex_destroy(&rl->lock);
	free(rl->slots);
	free(rl);
}

int ratelimit_hit(struct ratelimit *rl, const char *scope, const void *key, size_t len,
		  int limit, int window_s, int *retry_after_s)
{
	crypto_generichash_state st;
	unsigned char h[8];
	crypto_generichash_init(&st, rl->salt, sizeof(rl->salt), sizeof(h));
	crypto_generichash_update(&st, (const unsigned char *)scope, strlen(scope) + 1);
	crypto_generichash_update(&st, key, len);
	crypto_generichash_final(&st, h, sizeof(h));
	uint64_t k;
	memcpy(&k, h, sizeof(k));
	int64_t now = clock_mono_us(), window = (int64_t)window_s * 1000000;
	pthread_mutex_lock(&rl->lock);
	struct slot *s = &rl->slots[k % rl->nslots];
	if (now - s->window_start_us >= window) {
		s->window_start_us = now; /* a new window */
		s->count = 0;
	}
	/* A key that collides with another in its window shares the count:
	 * stricter for both, never looser. */
	s->key = k;
	int ok = s->count < limit;
	if (ok)
		s->count++;
	else
		*retry_after_s = (int)((s->window_start_us + window - now) / 1000000) + 1;
	pthread_mutex_unlock(&rl->lock);
	return ok;
}
