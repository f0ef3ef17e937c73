/*
 * server.h — the HTTP server: libmicrohttpd with epoll and a thread pool.
 *
 * The server owns no data: it reads requests, routes them, authenticates the
 * caller, calls the handler, answers and writes one access-log line.  It
 * stops in two steps so that nothing in flight is lost: server_quiesce()
 * closes the listening socket, server_stop() waits for requests in flight
 * (up to a deadline) and closes every connection.
 */
#ifndef SENIM_SERVER_H
#define SENIM_SERVER_H

#include <stdint.h>

#include "api/app.h"
#include "common/result.h"

struct server;

struct server_config {
	const char *listen; /* "127.0.0.1:8080", "[::1]:0", ":8080" */
	int threads;	    /* worker threads (>= 1) */
};

/* Start serving; *out is freed by server_stop(). */
SENIM_MUST_CHECK int server_start(struct app *app, const struct server_config *cfg,
				  struct server **out);
/* The port actually bound (useful with port 0). */
uint16_t server_port(struct server *srv);
/* Stop accepting new connections. */
void server_quiesce(struct server *srv);
/* Wait up to `grace_ms` for requests in flight, then stop and free. */
void server_stop(struct server *srv, int grace_ms);

/* Parse "host:port" into its parts; SENIM_ERR_INVALID when malformed. */
SENIM_MUST_CHECK int server_parse_listen(const char *listen, char *host, size_t host_len,
					 uint16_t *port);

#endif
