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
/* Kazakhstan keeps one time zone, UTC+5, since 2024-03-01: its days are the
 * days of the law's deadlines, of end of day and of payouts. */
#define CLOCK_KZ_UTC_OFFSET_S (5 * 3600)

/* Wall-clock now, microseconds since the epoch. */
int64_t clock_now_us(void);
/* Monotonic now, microseconds, for durations. */
int64_t clock_mono_us(void);
/* Write `us` as "2026-11-25T16:45:48.123456Z" into out (>= CLOCK_RFC3339_LEN). */
void clock_format_rfc3339(int64_t us, char out[CLOCK_RFC3339_LEN]);
/* The day (since 1970-01-01) a wall-clock time falls on in Kazakhstan. */
int32_t clock_kz_day(int64_t us);
/* The first microsecond of Kazakhstan day `day`, as a stored time (UTC). */
int64_t clock_kz_day_start_us(int32_t day);

#endif
