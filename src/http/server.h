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

/*
 * What one client can hold.  Connections: at most max_per_address open from
 * one address (0: no limit, for a server behind a proxy that is the only
 * client), and at most SERVER_CONNECTION_LIMIT in all, fewer when the
 * process may not open that many descriptors.  Time: a request's headers
 * are due header_timeout_s after the connection opened (or after the idle
 * allowance that follows an answer), its body body_timeout_s after the
 * headers, however steadily its bytes trickle in (conntrack.h); a
 * keep-alive connection is closed after idle_timeout_s without a byte.
 */
struct server_config {
	const char *listen; /* "127.0.0.1:8080", "[::1]:0", ":8080" */
	int threads;	    /* worker threads (>= 1) */
	int max_per_address;
	int header_timeout_s;
	int body_timeout_s;
	int idle_timeout_s;
};

#define SERVER_CONNECTION_LIMIT 4096
#define SERVER_DEFAULT_PER_ADDRESS 64
#define SERVER_DEFAULT_HEADER_TIMEOUT_S 10
#define SERVER_DEFAULT_BODY_TIMEOUT_S 30
#define SERVER_DEFAULT_IDLE_TIMEOUT_S 30

/* Start serving; *out is freed by server_stop().  Fields of cfg at 0 take
 * the defaults below, except max_per_address: 0 there is no limit, and a
 * negative one takes the default.  Raises the process's soft descriptor
 * limit towards the hard one, to hold SERVER_CONNECTION_LIMIT connections. */
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
