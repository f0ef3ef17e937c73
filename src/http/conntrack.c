/*
 * conntrack.c — request deadlines and the watchdog that enforces them.
 */
#include "http/conntrack.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/banned.h"

/* The deadline word: > 0 a monotonic time in us, 0 none, CUT once cut. */
#define CUT (-1)
#define SWEEP_MAX_US 250000 /* the watchdog looks at least this often */
#define SWEEP_MIN_US 20000

struct conntrack_conn {
	int fd;
	int64_t deadline; /* atomic */
	struct conntrack_conn *prev, *next;
};

struct conntrack {
	struct conntrack_config cfg;
	pthread_t thread;
	pthread_mutex_t lock; /* the list, and every shutdown() */
	pthread_cond_t wake;
	struct conntrack_conn *head;
	int stop;
	int64_t sweep_us;
	uint64_t cut; /* atomic */
};

/* Move c's deadline to `when` unless it was cut; 0 when it was. */
static int set_deadline(struct conntrack_conn *c, int64_t when)
{
	if (!c)
		return 1;
	int64_t d = __atomic_load_n(&c->deadline, __ATOMIC_ACQUIRE);
	do {
		if (d == CUT)
			return 0;
	} while (!__atomic_compare_exchange_n(&c->deadline, &d, when, 0, __ATOMIC_ACQ_REL,
					      __ATOMIC_ACQUIRE));
	return 1;
}

/* Cut every connection past its deadline; the list lock is held, so no
 * descriptor here has been closed yet.  Returns how many were cut. */
static unsigned sweep(struct conntrack *ct, int64_t now)
{
	unsigned n = 0;
	for (struct conntrack_conn *c = ct->head; c; c = c->next) {
		int64_t d = __atomic_load_n(&c->deadline, __ATOMIC_ACQUIRE);
		if (d <= 0 || d > now)
			continue;
		/* Only the deadline we looked at: a worker that just moved it
		 * (the request arrived in time) wins. */
		if (!__atomic_compare_exchange_n(&c->deadline, &d, CUT, 0,
						 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			continue;
		/* Counted before the peer can see it: whoever watches the
		 * socket close finds the count already moved. */
		__atomic_fetch_add(&ct->cut, 1, __ATOMIC_RELEASE);
		shutdown(c->fd, SHUT_RDWR);
		n++;
	}
	return n;
}

static void *watchdog(void *arg)
{
	struct conntrack *ct = arg;
	pthread_mutex_lock(&ct->lock);
	while (!ct->stop) {
		unsigned n = sweep(ct, clock_mono_us());
		if (n) {
			/* Logged without the lock: workers open and close
			 * connections meanwhile. */
			pthread_mutex_unlock(&ct->lock);
			char count[16];
			snprintf(count, sizeof(count), "%u", n);
			log_event(LOG_WARN, "request_deadline_cut", "connections", count,
				  NULL);
			pthread_mutex_lock(&ct->lock);
			if (ct->stop)
				break;
		}
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += (long)(ct->sweep_us % 1000000) * 1000;
		until.tv_sec += ct->sweep_us / 1000000 + until.tv_nsec / 1000000000;
		until.tv_nsec %= 1000000000;
		pthread_cond_timedwait(&ct->wake, &ct->lock, &until);
	}
	pthread_mutex_unlock(&ct->lock);
	return NULL;
}

enum senim_result conntrack_new(const struct conntrack_config *cfg,
				struct conntrack **out)
{
	*out = NULL;
	struct conntrack *ct = calloc(1, sizeof(*ct));
	if (!ct)
		return SENIM_ERR_NOMEM;
	ct->cfg = *cfg;
	/* A quarter of the shorter deadline, so a connection is cut within a
	 * quarter of its deadline after it. */
	int shortest = cfg->header_ms < cfg->body_ms ? cfg->header_ms : cfg->body_ms;
	ct->sweep_us = (int64_t)shortest * 1000 / 4;
	if (ct->sweep_us > SWEEP_MAX_US)
		ct->sweep_us = SWEEP_MAX_US;
	if (ct->sweep_us < SWEEP_MIN_US)
		ct->sweep_us = SWEEP_MIN_US;
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&ct->wake, &attr);
	pthread_condattr_destroy(&attr);
	pthread_mutex_init(&ct->lock, NULL);
	if (pthread_create(&ct->thread, NULL, watchdog, ct) != 0)
		goto fail;
	*out = ct;
	return SENIM_OK;
fail:
	pthread_cond_destroy(&ct->wake);
	pthread_mutex_destroy(&ct->lock);
	free(ct);
	return SENIM_ERR_NOMEM;
}

void conntrack_free(struct conntrack *ct)
{
	if (!ct)
		return;
	pthread_mutex_lock(&ct->lock);
	ct->stop = 1;
	pthread_cond_signal(&ct->wake);
	pthread_mutex_unlock(&ct->lock);
	pthread_join(ct->thread, NULL);
	/* Every connection has had its close notification by now; anything
	 * left was never closed by libmicrohttpd and is only forgotten. */
	while (ct->head) {
		struct conntrack_conn *c = ct->head;
		ct->head = c->next;
		free(c);
	}
	pthread_cond_destroy(&ct->wake);
	pthread_mutex_destroy(&ct->lock);
	free(ct);
}

struct conntrack_conn *conntrack_open(struct conntrack *ct, int fd)
{
	struct conntrack_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->fd = fd;
	c->deadline = clock_mono_us() + (int64_t)ct->cfg.header_ms * 1000;
	pthread_mutex_lock(&ct->lock);
	c->next = ct->head;
	if (ct->head)
		ct->head->prev = c;
	ct->head = c;
	pthread_mutex_unlock(&ct->lock);
	return c;
}

void conntrack_close(struct conntrack *ct, struct conntrack_conn *c)
{
	if (!c)
		return;
	/* Under the lock: once this returns the descriptor may be closed, and
	 * no shutdown() of it is in progress or can follow. */
	pthread_mutex_lock(&ct->lock);
	if (c->prev)
		c->prev->next = c->next;
	else
		ct->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	pthread_mutex_unlock(&ct->lock);
	free(c);
}

int conntrack_headers_done(struct conntrack *ct, struct conntrack_conn *c)
{
	return set_deadline(c, clock_mono_us() + (int64_t)ct->cfg.body_ms * 1000);
}

int conntrack_received(struct conntrack_conn *c)
{
	return set_deadline(c, 0);
}

int conntrack_answered(struct conntrack *ct, struct conntrack_conn *c)
{
	int64_t wait_ms = (int64_t)ct->cfg.idle_ms + ct->cfg.header_ms;
	return set_deadline(c, clock_mono_us() + wait_ms * 1000);
}

uint64_t conntrack_cut_count(struct conntrack *ct)
{
	return __atomic_load_n(&ct->cut, __ATOMIC_ACQUIRE);
}
