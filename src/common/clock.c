#include "common/clock.h"

#include <stdio.h>
#include <time.h>

#include "common/banned.h"

int64_t clock_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t clock_mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void clock_format_rfc3339(int64_t us, char out[CLOCK_RFC3339_LEN])
{
	time_t secs = (time_t)(us / 1000000);
	long micros = (long)(us % 1000000);
	if (micros < 0) {
		micros += 1000000;
		secs -= 1;
	}
	struct tm tm;
	gmtime_r(&secs, &tm);
	snprintf(out, CLOCK_RFC3339_LEN, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		 tm.tm_sec, micros);
}

int32_t clock_kz_day(int64_t us)
{
	int64_t s = us / 1000000 - (us % 1000000 < 0) + CLOCK_KZ_UTC_OFFSET_S;
	return (int32_t)(s / 86400 - (s % 86400 < 0));
}

int64_t clock_kz_day_start_us(int32_t day)
{
	return ((int64_t)day * 86400 - CLOCK_KZ_UTC_OFFSET_S) * 1000000;
}
