/*
 * breaker.c — the per-recipient circuit breaker (§5.5).
 */
#include "core/breaker.h"

#include <string.h>

#include "common/banned.h"

void breaker_init(struct breaker *b, int failures, int64_t open_ms)
{
	memset(b, 0, sizeof(*b));
	b->failures = failures > 0 ? failures : 1;
	b->open_ms = open_ms > 0 ? open_ms : 1;
	b->pause_ms = b->open_ms;
	b->state = BREAKER_CLOSED;
}

static void open_circuit(struct breaker *b, int64_t now)
{
	b->state = BREAKER_OPEN;
	b->open_until = now + b->pause_ms;
	b->probe_out = 0;
}

static void close_circuit(struct breaker *b)
{
	b->state = BREAKER_CLOSED;
	b->in_a_row = 0;
	b->wn = 0;
	b->whead = 0;
	b->probe_out = 0;
	b->pause_ms = b->open_ms;
}

int breaker_admit(struct breaker *b, int64_t now, int *probe)
{
	*probe = 0;
	switch (b->state) {
	case BREAKER_CLOSED:
		return 1;
	case BREAKER_OPEN:
		if (now < b->open_until)
			return 0;
		b->state = BREAKER_HALF_OPEN;
		b->probe_out = 1;
		*probe = 1;
		return 1;
	case BREAKER_HALF_OPEN:
		return 0; /* the probe is out */
	}
	return 0;
}

/* 1 when the recent window says open: enough samples within the time
 * window, half or more of them failed. */
static int window_says_open(const struct breaker *b, int64_t now)
{
	int n = 0, failed = 0;
	for (int i = 0; i < b->wn; i++) {
		int k = (b->whead - 1 - i + BREAKER_WINDOW) % BREAKER_WINDOW;
		if (now - b->window[k].at > BREAKER_WINDOW_MS)
			break; /* older ones are older still */
		n++;
		failed += b->window[k].failed;
	}
	return n >= BREAKER_MIN_SAMPLES && 2 * failed >= n;
}

void breaker_record(struct breaker *b, int64_t now, enum breaker_result r, int probe)
{
	if (b->state != BREAKER_CLOSED) {
		if (!probe || b->state != BREAKER_HALF_OPEN)
			return; /* admitted before it opened: the probe decides */
		if (r == BREAKER_FAILURE) {
			int64_t cap = b->open_ms > BREAKER_OPEN_MAX_MS
					      ? b->open_ms
					      : BREAKER_OPEN_MAX_MS;
			b->pause_ms = b->pause_ms > cap / 2 ? cap : b->pause_ms * 2;
			open_circuit(b, now);
		} else {
			close_circuit(b);
		}
		return;
	}
	if (r == BREAKER_NEUTRAL)
		return;
	b->window[b->whead].at = now;
	b->window[b->whead].failed = r == BREAKER_FAILURE;
	b->whead = (b->whead + 1) % BREAKER_WINDOW;
	if (b->wn < BREAKER_WINDOW)
		b->wn++;
	b->in_a_row = r == BREAKER_FAILURE ? b->in_a_row + 1 : 0;
	if (r == BREAKER_FAILURE &&
	    (b->in_a_row >= b->failures || window_says_open(b, now)))
		open_circuit(b, now);
}

enum breaker_state breaker_state(const struct breaker *b)
{
	return b->state;
}

int64_t breaker_available_from(const struct breaker *b)
{
	switch (b->state) {
	case BREAKER_CLOSED:
		return INT64_MIN;
	case BREAKER_OPEN:
		return b->open_until;
	case BREAKER_HALF_OPEN:
		return INT64_MAX;
	}
	return INT64_MAX;
}
