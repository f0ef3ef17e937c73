/*
 * clock.h — time as senim stores and shows it.
 *
 * Stored times are microseconds since the Unix epoch (int64, UTC) in both
 * backends; they are shown as RFC 3339 UTC strings with microseconds.
 */
#ifndef SENIM_CLOCK_H
#define SENIM_CLOCK_H

#include <stddef.h>
#include <stdint.h>

#define CLOCK_RFC3339_LEN 48

/* Wall-clock now, microseconds since the epoch. */
int64_t clock_now_us(void);
/* Monotonic now, microseconds, for durations. */
int64_t clock_mono_us(void);
/* Write `us` as "2026-11-25T16:45:48.123456Z" into out (>= CLOCK_RFC3339_LEN). */
void clock_format_rfc3339(int64_t us, char out[CLOCK_RFC3339_LEN]);

#endif
