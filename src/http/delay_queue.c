/*
 * delay_queue.c — a fixed array of (connection, due time) and one thread
 * that sleeps until the earliest is due.
 */
#include "http/delay_queue.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "common/clock.h"
#include "common/banned.h"

struct delayed {
	struct MHD_Connection *conn;
	int64_t due_us;
};

struct delay_queue {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct delayed items[DELAY_QUEUE_SLOTS];
	int count;
	int stop;
	int started; /* the thread runs (delay_queue_stop joins it) */
};

static void *delay_loop(void *arg)
{
	struct delay_queue *q = arg;
	pthread_mutex_lock(&q->lock);
	while (!q->stop || q->count) {
		int64_t now = clock_mono_us(), next = now + 1000000;
		for (int i = 0; i < q->count;) {
			if (q->items[i].due_us <= now || q->stop) {
				MHD_resume_connection(q->items[i].conn);
				q->items[i] = q->items[--q->count];
			} else {
				if (q->items[i].due_us < next)
					next = q->items[i].due_us;
				i++;
			}
		}
		if (q->stop && !q->count)
			break;
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		int64_t wait_us = next - now;
		until.tv_sec += wait_us / 1000000;
		until.tv_nsec += (wait_us % 1000000) * 1000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&q->wake, &q->lock, &until);
	}
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

enum senim_result delay_queue_new(struct delay_queue **out)
{
	*out = NULL;
	struct delay_queue *q = calloc(1, sizeof(*q));
	if (!q)
		return SENIM_ERR_NOMEM;
	/* Due times are monotonic: a clock step must not release or keep a
	 * pause early or late. */
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&q->wake, &attr);
	pthread_condattr_destroy(&attr);
	pthread_mutex_init(&q->lock, NULL);
	if (pthread_create(&q->thread, NULL, delay_loop, q) != 0)
		goto fail;
	q->started = 1;
	*out = q;
	return SENIM_OK;
fail:
	delay_queue_free(q);
	return SENIM_ERR_NOMEM;
}

enum senim_result delay_queue_hold(struct delay_queue *q, struct MHD_Connection *conn,
				   int delay_ms)
{
	pthread_mutex_lock(&q->lock);
	int ok = q->count < DELAY_QUEUE_SLOTS && !q->stop;
	if (ok) {
		MHD_suspend_connection(conn);
		q->items[q->count].conn = conn;
		q->items[q->count].due_us = clock_mono_us() + (int64_t)delay_ms * 1000;
		q->count++;
		pthread_cond_signal(&q->wake);
	}
	pthread_mutex_unlock(&q->lock);
	return ok ? SENIM_OK : SENIM_ERR_UNAVAILABLE;
}

void delay_queue_stop(struct delay_queue *q)
{
	pthread_mutex_lock(&q->lock);
	q->stop = 1;
	pthread_cond_signal(&q->wake);
	pthread_mutex_unlock(&q->lock);
	if (q->started)
		pthread_join(q->thread, NULL);
	q->started = 0;
}

void delay_queue_free(struct delay_queue *q)
{
	if (!q)
		return;
	pthread_cond_destroy(&q->wake);
	pthread_mutex_destroy(&q->lock);
	free(q);
}
