/*
 * server.h — the HTTP server: libmicrohttpd with epoll and a thread pool.
 *
 * The server owns no data: it reads requests, routes them, asks the authorize
 * hook whether the caller may, calls the handler, answers and writes one
 * access-log line.  What it serves is installed at start (server_config):
 * the route table and the hook come from the API (api/app.h, api/gate.h),
 * so that this layer knows nothing of staff, borrowers or consents.
 *
 * Threads: libmicrohttpd's workers run the handlers and continuations; the
 * store finishes writes (its finisher thread, once a batch's anchor is
 * durable, or the batch's leader), the I/O pool blocking calls
 * (defer.h); one thread releases held answers (delay_queue.h), one cuts
 * connections past their deadlines (conntrack.h).
 *
 * It stops in two steps so that nothing in flight is lost: server_quiesce()
 * stops listening (new connections are refused; the socket itself is closed
 * by server_stop, once no worker can still watch it), server_stop() waits for requests in flight
 * (up to a deadline) and for every queued write and call, then closes every
 * connection.
 */
#ifndef SENIM_SERVER_H
#define SENIM_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "common/result.h"

struct app;
struct metrics;
struct route;
struct server;
struct store;
struct http_request;
struct http_response;

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
	size_t max_body; /* bytes; a larger body gets 413 */

	/* What is served, installed by the API; all required. */
	const struct route *routes; /* matched in table order (router.h) */
	size_t nroutes;
	/*
	 * Called for every matched route before its handler, with the body
	 * read.  SENIM_OK lets the handler run.  Anything else is a refusal:
	 * the hook has answered (http_reply_*), or asked for a write with
	 * http_write_then whose continuation answers; a request left
	 * unanswered gets the problem mapped from the result.  It may set
	 * req->actor and req->bearer.
	 */
	enum senim_result (*authorize_or_reply)(struct http_request *req,
						struct http_response *resp);
	struct app *app;	 /* opaque here: every request's req->app */
	struct store *store;	 /* where http_write_then's writes go */
	struct metrics *metrics; /* requests by route index and status */
};

#define SERVER_CONNECTION_LIMIT 4096
#define SERVER_DEFAULT_PER_ADDRESS 64
#define SERVER_DEFAULT_HEADER_TIMEOUT_S 10
#define SERVER_DEFAULT_BODY_TIMEOUT_S 30
#define SERVER_DEFAULT_IDLE_TIMEOUT_S 30

/* Start serving; *out is freed by server_stop().  The timeouts of cfg at 0
 * take the defaults below; max_per_address at 0 is no limit, and a negative
 * one takes the default.  Raises the process's soft descriptor limit
 * towards the hard one, to hold SERVER_CONNECTION_LIMIT connections.
 * cfg's routes, app, store and metrics must outlive the server.  Returns
 * SENIM_ERR_CONFIG for a bad listen address or a missing table or hook,
 * SENIM_ERR_IO when the address cannot be bound, SENIM_ERR_NOMEM. */
SENIM_MUST_CHECK enum senim_result server_start(const struct server_config *cfg,
						struct server **out);
/* The port actually bound (useful with port 0). */
uint16_t server_port(struct server *srv);
/* Stop accepting new connections. */
void server_quiesce(struct server *srv);
/* Wait up to `grace_ms` for requests in flight, then for every write and
 * call still queued (however long: their callers are owed an answer), then
 * stop and free.  NULL does nothing. */
void server_stop(struct server *srv, int grace_ms);

/* Parse "host:port" into its parts; SENIM_ERR_INVALID when malformed. */
SENIM_MUST_CHECK enum senim_result server_parse_listen(const char *listen, char *host,
						       size_t host_len, uint16_t *port);

#endif
