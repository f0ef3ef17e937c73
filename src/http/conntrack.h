/*
 * conntrack.h — deadlines for receiving a request, that a trickle of bytes
 * does not reset.
 *
 * libmicrohttpd's own connection timeout is an inactivity timeout: every
 * byte restarts it, so a client sending one header line every few seconds
 * (slowloris) holds its connection for ever.  This module keeps, for every
 * open connection, an absolute deadline by which the request it is reading
 * must have arrived:
 *
 *   accepted            -> the headers are due within header_ms;
 *   headers complete    -> the body is due within body_ms;
 *   request received    -> no deadline: the request is the server's now
 *                          (handled, suspended until its write is durable,
 *                          held for a failed sign-in's pause, answered);
 *   answer sent         -> the next request's headers are due within
 *                          idle_ms + header_ms (a keep-alive connection may
 *                          idle for idle_ms, libmicrohttpd's inactivity
 *                          timeout, and then has header_ms for its headers).
 *
 * A watchdog thread shuts down (shutdown(2), both directions) every
 * connection past its deadline; libmicrohttpd then sees the socket fail and
 * closes it.  The shutdown happens under a lock that the close notification
 * takes too, so the descriptor is never one the kernel has handed to
 * something else meanwhile.  A deadline and the cut are one atomic word: a
 * request that has been received can no longer be cut, and a connection
 * that was cut refuses a new deadline (the caller then closes it).
 *
 * Threads: conntrack_open/close and the deadline calls come from
 * libmicrohttpd's workers, each for its own connections; the watchdog is
 * the module's own thread.
 */
#ifndef SENIM_CONNTRACK_H
#define SENIM_CONNTRACK_H

#include <stdint.h>

#include "common/result.h"

struct conntrack;
struct conntrack_conn;

struct conntrack_config {
	int header_ms; /* from accept (or idle's end) to the end of the headers */
	int body_ms;   /* from the end of the headers to the end of the body */
	int idle_ms;   /* keep-alive idle allowed between requests */
};

/* Start the watchdog; SENIM_ERR_NOMEM (and *out NULL) when out of memory or
 * threads.  Free *out with conntrack_free() once no connection is open
 * (after MHD_stop_daemon). */
SENIM_MUST_CHECK enum senim_result conntrack_new(const struct conntrack_config *cfg,
						 struct conntrack **out);
void conntrack_free(struct conntrack *ct);

/* A connection was accepted on `fd`: track it, headers due from now.  NULL
 * when out of memory (the connection is then simply not watched).  Freed by
 * conntrack_close(), which the connection's close notification calls. */
struct conntrack_conn *conntrack_open(struct conntrack *ct, int fd);
void conntrack_close(struct conntrack *ct, struct conntrack_conn *c);

/*
 * Steps of a request on a tracked connection; NULL c does nothing and
 * returns 1.  Each returns 0 when the watchdog has already cut the
 * connection: the caller should close it rather than go on.
 */
int conntrack_headers_done(struct conntrack *ct, struct conntrack_conn *c);
int conntrack_received(struct conntrack_conn *c);
int conntrack_answered(struct conntrack *ct, struct conntrack_conn *c);

/* Connections cut since start (for tests and metrics). */
uint64_t conntrack_cut_count(struct conntrack *ct);

#endif
