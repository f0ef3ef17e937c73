/*
 * breaker.h — one recipient's circuit breaker (design §5.5): pure, in
 * memory, driven by a clock the caller passes in (milliseconds, any
 * monotonic origin), so tests step time by hand.  Not thread-safe: the
 * connector hub owns each breaker on its one thread and publishes what
 * other threads need (breaker_available_from) through an atomic.
 *
 * States and transitions:
 *   closed     every attempt goes.  Opens after `failures` counted failures
 *              in a row, or when at least BREAKER_MIN_SAMPLES of the last
 *              BREAKER_WINDOW attempts within BREAKER_WINDOW_MS were
 *              recorded and at least half of them failed.
 *   open       nothing goes until open_until; then the next admission
 *              becomes the one probe and the state half-open.  The pause
 *              is `open_ms` the first time, doubled per re-open (a failed
 *              probe) up to max(BREAKER_OPEN_MAX_MS, open_ms).
 *   half-open  only the probe is out; nothing else goes.  The probe's
 *              success (or any answer that proves the peer up) closes the
 *              circuit and forgets the history and the doubling; its
 *              failure re-opens it.
 * Outcomes of attempts admitted before the circuit opened, recorded while
 * it is open or half-open, change nothing: only the probe decides.
 */
#ifndef SENIM_BREAKER_H
#define SENIM_BREAKER_H

#include <stdint.h>

#define BREAKER_WINDOW 20
#define BREAKER_WINDOW_MS 10000
#define BREAKER_MIN_SAMPLES 10
#define BREAKER_OPEN_MAX_MS 60000

/* The numbers are the metric's: senim_recipient_circuit_state. */
enum breaker_state {
	BREAKER_CLOSED = 0,
	BREAKER_HALF_OPEN = 1,
	BREAKER_OPEN = 2
};

/* What an attempt proved (core/retry.h's breaker_failure decides). */
enum breaker_result {
	BREAKER_SUCCESS, /* answered as it should */
	BREAKER_FAILURE, /* a failure that counts */
	BREAKER_NEUTRAL	 /* the peer is up, but the answer says nothing of its
			  * health (4xx, 429): not in the window; closes a
			  * half-open circuit */
};

struct breaker {
	int failures;	 /* in a row to open; >= 1 */
	int64_t open_ms; /* the first pause */
	enum breaker_state state;
	int in_a_row;
	int64_t pause_ms;   /* the current pause, doubling per re-open */
	int64_t open_until; /* while open */
	int probe_out;	    /* half-open: the probe is in flight */
	/* The last BREAKER_WINDOW counted attempts, a ring. */
	struct {
		int64_t at;
		int failed;
	} window[BREAKER_WINDOW];
	int wn, whead;
};

/* A closed breaker opening after `failures` in a row for `open_ms`. */
void breaker_init(struct breaker *b, int failures, int64_t open_ms);

/* May an attempt start at `now`?  1 yes (and *probe = 1 when it is the
 * half-open probe, whose outcome must be recorded with probe = 1), 0 no.
 * An open circuit whose pause is over turns half-open here. */
int breaker_admit(struct breaker *b, int64_t now, int *probe);

/* Record an admitted attempt's outcome at `now`. */
void breaker_record(struct breaker *b, int64_t now, enum breaker_result r, int probe);

/* The state, for metrics (an open circuit whose pause is over
 * still reads open until an admission takes the probe). */
enum breaker_state breaker_state(const struct breaker *b);

/* The earliest time an admission could succeed: INT64_MIN when closed,
 * open_until when open, INT64_MAX while a probe is out. */
int64_t breaker_available_from(const struct breaker *b);

#endif
