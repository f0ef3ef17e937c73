/*
 * server.c — libmicrohttpd glue: read, route, authorize, dispatch, answer.
 *
 * One struct exchange per request, from libmicrohttpd's first call of the
 * request handler (headers in) to its completion callback; the request
 * handler is called again for each piece of body, once the body is in, and
 * again after each resumption (a write or call done, a held answer due).
 */
#include "http/server.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/resource.h>
#include <sys/socket.h>
#include <sodium.h>

#include "common/clock.h"
#include "common/log.h"
#include "http/conntrack.h"
#include "http/defer.h"
#include "http/delay_queue.h"
#include "http/http.h"
#include "http/metrics.h"
#include "http/router.h"
#include "common/banned.h"

#define REQUEST_ARENA_MAX (4u << 20) /* per-request scratch memory cap */
#define CONNECTION_MEMORY \
	(16 * 1024) /* per-connection header buffer: MHD clears
				      * it for every request, so it is kept small */
/* Descriptors kept for what is not a client connection: the store's
 * connections, the I/O threads' sockets to other services, the key file,
 * epoll and the workers' wake-up pipes. */
#define FD_RESERVE 256

struct server {
	struct MHD_Daemon *daemon;
	struct server_config cfg;   /* the defaults applied */
	struct delay_queue *delays; /* held answers */
	struct defer defer;	    /* writes and calls answered after */
	struct conntrack *track;    /* request deadlines */
	int in_flight;		    /* requests between first byte and completion */
	MHD_socket quiesced_fd;	    /* the listening socket, once quiesced */
};

/* Per-request state, from the first callback to the completion callback. */
struct exchange {
	struct server *srv;
	struct http_request req;
	struct http_response resp;
	struct buf body;
	int64_t started_us;
	int too_large;
	size_t dropped;	 /* bytes of an oversized body read and dropped */
	int bad_lang;	 /* ?lang= names none of our languages */
	int route_index; /* -1 until matched */
	char *path_copy;
	char allow[64];
	enum router_result match;
	int held;		      /* suspended until its delay is over */
	struct conntrack_conn *track; /* its connection's deadlines; may be NULL */
	struct deferred work;	      /* a write or call to answer after */
};

/* ---- answering ---------------------------------------------------------- */

static void add_standard_headers(struct MHD_Response *r, struct exchange *x)
{
	MHD_add_response_header(r, "X-Request-Id", x->req.request_id);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	if (x->resp.content_type)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
					x->resp.content_type);
	if (x->resp.content_type &&
	    strcmp(x->resp.content_type, "application/json") != 0 &&
	    strcmp(x->resp.content_type, "application/problem+json") != 0)
		return;
	if (x->resp.status >= 400 || x->resp.content_type)
		MHD_add_response_header(r, "Content-Language", lang_code(x->req.lang));
}

static enum MHD_Result send_response(struct MHD_Connection *conn, struct exchange *x)
{
	struct MHD_Response *r;
	if (x->resp.shared_body) {
		/* public and kept alive by its owner: no copy, no wipe */
		r = MHD_create_response_from_buffer(x->resp.shared_len,
						    (void *)x->resp.shared_body,
						    MHD_RESPMEM_PERSISTENT);
		if (!r)
			return MHD_NO;
	} else {
		size_t len;
		char *body = buf_detach(&x->resp.body, &len);
		/* The body may hold personal data: wiped when MHD is done with it. */
		r = MHD_create_response_from_buffer_with_free_callback(len, body,
								       buf_wipe_free);
		if (!r) {
			buf_wipe_free(body);
			return MHD_NO;
		}
	}
	add_standard_headers(r, x);
	for (int i = 0; i < x->resp.nheaders; i++)
		MHD_add_response_header(r, x->resp.header_names[i],
					x->resp.header_values[i]);
	enum MHD_Result ok = MHD_queue_response(conn, (unsigned)x->resp.status, r);
	MHD_destroy_response(r);
	return ok;
}

/* ---- steps of a request -------------------------------------------------- */

static void new_request_id(char out[HTTP_REQUEST_ID_LEN])
{
	unsigned char raw[16];
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(out, HTTP_REQUEST_ID_LEN, raw, sizeof(raw));
}

static struct exchange *exchange_new(struct server *srv, struct MHD_Connection *conn,
				     const char *url, const char *method)
{
	struct exchange *x = calloc(1, sizeof(*x));
	if (!x)
		return NULL;
	x->srv = srv;
	x->started_us = clock_mono_us();
	x->route_index = -1;
	arena_init(&x->req.arena, REQUEST_ARENA_MAX);
	buf_init(&x->body, srv->cfg.max_body);
	buf_init(&x->resp.body, BUF_NO_LIMIT);
	x->req.conn = conn;
	x->req.app = srv->cfg.app;
	x->req.method = method;
	x->req.path = url;
	x->req.body = "";
	x->req.actor.kind = ACTOR_ANONYMOUS;
	snprintf(x->req.actor.label, sizeof(x->req.actor.label), "anonymous");
	new_request_id(x->req.request_id);
	const char *lang_param =
		MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "lang");
	int l = lang_parse(lang_param);
	x->bad_lang = lang_param && l < 0;
	x->req.lang =
		l >= 0 ? (enum lang)l
		       : lang_negotiate(MHD_lookup_connection_value(
				 conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_LANGUAGE));
	__atomic_fetch_add(&srv->in_flight, 1, __ATOMIC_SEQ_CST);
	return x;
}

static void exchange_free(struct exchange *x)
{
	if (!x)
		return;
	/* The body may hold personal data (a registration): wipe it. */
	if (x->body.len)
		sodium_memzero(x->body.data, x->body.len);
	buf_release(&x->body);
	/* Sent bodies are wiped by send_response's free callback; one built
	 * for a client that went away (a read's data, a token) is wiped here. */
	buf_release_wiped(&x->resp.body);
	arena_release(&x->req.arena);
	__atomic_fetch_sub(&x->srv->in_flight, 1, __ATOMIC_SEQ_CST);
	free(x);
}

static void answer_or_problem(struct exchange *x, enum senim_result err);

static void dispatch(struct exchange *x)
{
	struct http_request *req = &x->req;
	if (x->too_large) {
		struct problem p = { .code = "body_too_large",
				     .limit = (long long)x->srv->cfg.max_body };
		http_reply_problem(req, &x->resp, &p);
		return;
	}
	if (x->match == ROUTER_NO_PATH) {
		http_reply_code(req, &x->resp, "not_found");
		return;
	}
	if (x->match == ROUTER_NO_METHOD) {
		http_reply_code(req, &x->resp, "method_not_allowed");
		http_add_header(req, &x->resp, "Allow", x->allow);
		return;
	}
	if (x->bad_lang) {
		struct problem p = { .code = "invalid_parameter",
				     .field = "lang",
				     .rule = "enum_value" };
		http_reply_problem(req, &x->resp, &p);
		return;
	}
	req->body = x->body.data;
	req->body_len = x->body.len;
	enum senim_result err = x->srv->cfg.authorize_or_reply(req, &x->resp);
	if (err) {
		/* Refused.  A refusal that is audited is answered by its
		 * write's continuation. */
		if (x->work.state != DEFERRED_ASKED)
			answer_or_problem(x, err);
		return;
	}
	/* A body the route does not read would be dropped unseen: refuse it,
	 * so that a client that meant something by it finds out. */
	if (x->body.len && !(req->route->flags & ROUTE_JSON_BODY)) {
		http_reply_code(req, &x->resp, "body_not_allowed");
		return;
	}
	err = req->route->handler(req, &x->resp);
	if (!err && !x->resp.replied && x->work.state == DEFERRED_ASKED)
		return; /* answered once the write or call is done */
	x->work.state = DEFERRED_NONE;
	answer_or_problem(x, err);
}

/* After a handler or a continuation: an unanswered request, or an error
 * with a success status, gets the problem mapped from the result. */
static void answer_or_problem(struct exchange *x, enum senim_result err)
{
	struct http_request *req = &x->req;
	if (!x->resp.replied || (err && x->resp.status < 400)) {
		if (err)
			log_event(LOG_WARN, "handler_failed", "route",
				  req->route->pattern, "result", senim_result_name(err),
				  "request_id", req->request_id, NULL);
		x->resp.replied = 0;
		http_reply_code(req, &x->resp,
				err ? problem_code_for_result(err) : "internal_error");
	}
}

/* ---- answering after a write or a call ------------------------------------- */

static struct exchange *exchange_of(struct http_request *req)
{
	return (struct exchange *)((char *)req - offsetof(struct exchange, req));
}

/* Both public names, one path: the request asks, and the server starts the
 * work once the handler returns (defer.h). */
static enum senim_result answer_after(struct http_request *req, struct deferred_work work,
				      void *ctx, http_continue_fn cont)
{
	struct exchange *x = exchange_of(req);
	if (deferred_ask(&x->work, work, ctx, cont)) /* one per request */
		return cont(req, &x->resp, SENIM_ERR_INVALID, ctx);
	return SENIM_OK;
}

enum senim_result http_write_then(struct http_request *req, http_write_fn fn, void *ctx,
				  http_continue_fn cont)
{
	return answer_after(req, (struct deferred_work){ .write = fn }, ctx, cont);
}

enum senim_result http_call_then(struct http_request *req, http_call_fn call, void *ctx,
				 http_continue_fn cont)
{
	return answer_after(req, (struct deferred_work){ .call = call }, ctx, cont);
}

enum senim_result http_async_then(struct http_request *req, http_async_fn start,
				  void *ctx, http_continue_fn cont)
{
	return answer_after(req, (struct deferred_work){ .start = start }, ctx, cont);
}

/* Back from the write or call: let the handler's continuation answer. */
static void continue_after_work(struct exchange *x)
{
	struct deferred *w = &x->work;
	w->state = DEFERRED_NONE;
	enum senim_result err = w->cont(&x->req, &x->resp, w->result, w->ctx);
	if (err && w->result && !x->resp.replied)
		log_event(LOG_WARN, "write_failed", "route", x->req.route->pattern,
			  "result", senim_result_name(w->result), "request_id",
			  x->req.request_id, NULL);
	answer_or_problem(x, err);
}

static void match_route(struct exchange *x, const char *url, const char *method)
{
	x->path_copy = arena_strdup(&x->req.arena, url);
	if (!x->path_copy) {
		x->match = ROUTER_NO_PATH;
		return;
	}
	const struct server_config *cfg = &x->srv->cfg;
	x->match = router_match(cfg->routes, cfg->nroutes, method, x->path_copy,
				&x->req.route, x->req.params, x->allow, sizeof(x->allow));
	if (x->match == ROUTER_MATCH)
		x->route_index = (int)(x->req.route - cfg->routes);
}

/* Content-Length beyond the cap: refuse before reading a byte of the body. */
static int declared_too_large(struct MHD_Connection *conn, size_t max)
{
	const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (!cl)
		return 0;
	char *end;
	errno = 0;
	unsigned long long n = strtoull(cl, &end, 10);
	return errno == ERANGE || n > max;
}

/* ---- connections and their deadlines ------------------------------------- */

/* The connection's deadlines, kept in its socket context; NULL when the
 * connection could not be tracked (out of memory). */
static struct conntrack_conn *conn_track(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci ? ci->socket_context : NULL;
}

/* Accepted: its headers are due from now.  Closed: forget it (under the
 * watchdog's lock, so its descriptor is not shut down after this). */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	struct server *srv = cls;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		*socket_context = ci ? conntrack_open(srv->track, ci->connect_fd) : NULL;
	} else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		conntrack_close(srv->track, *socket_context);
		*socket_context = NULL;
	}
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	(void)version;
	struct server *srv = cls;
	struct exchange *x = *con_cls;
	if (!x) {
		/* The headers are in; the body is due by its own deadline. */
		struct conntrack_conn *track = conn_track(conn);
		if (!conntrack_headers_done(srv->track, track))
			return MHD_NO; /* cut by the watchdog meanwhile */
		x = exchange_new(srv, conn, url, method);
		if (!x)
			return MHD_NO;
		x->track = track;
		*con_cls = x;
		match_route(x, url, method);
		if (declared_too_large(conn, srv->cfg.max_body)) {
			x->too_large = 1;
			dispatch(x);
			return send_response(conn, x);
		}
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		if (x->resp.replied)
			return MHD_YES; /* answered early (413); MHD is draining */
		if (!x->too_large && buf_add(&x->body, upload_data, n) == SENIM_OK)
			return MHD_YES;
		if (!x->too_large) {
			x->too_large = 1;
			buf_release_wiped(&x->body); /* a partial body: never used */
		}
		/* A body past --max-body that declared no length (chunked):
		 * libmicrohttpd cannot answer before the body ends, so the rest
		 * is dropped and a body that ends soon gets its 413 — but no
		 * more than another --max-body of it: an endless body would
		 * hold the connection for ever.  Then the connection closes. */
		x->dropped += n;
		if (x->dropped > srv->cfg.max_body) {
			log_event(LOG_WARN, "body_flood_closed", "request_id",
				  x->req.request_id, NULL);
			return MHD_NO;
		}
		return MHD_YES;
	}
	if (x->held) {
		x->held = 0; /* resumed: the pause is over */
		return send_response(conn, x);
	}
	if (x->work.state == DEFERRED_QUEUED)
		return MHD_YES; /* not ours yet: the work is still being done */
	if (x->work.state == DEFERRED_DONE)
		continue_after_work(x);
	else if (x->resp.replied)
		return MHD_YES; /* answered early (413); MHD is draining */
	else if (!conntrack_received(x->track))
		return MHD_NO; /* cut at its deadline just now: no answer */
	else
		dispatch(x); /* received: no deadline from here on */
	if (x->work.state == DEFERRED_ASKED) {
		if (defer_start(&srv->defer, &x->work, conn))
			return MHD_YES;
		continue_after_work(x); /* ran in place: the server is stopping */
	}
	/* A held answer that cannot be held goes out at once: refusing to
	 * wait beats refusing to answer. */
	if (x->resp.delay_ms > 0 &&
	    delay_queue_hold(srv->delays, conn, x->resp.delay_ms) == SENIM_OK) {
		x->held = 1;
		return MHD_YES;
	}
	return send_response(conn, x);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct server *srv = cls;
	struct exchange *x = *con_cls;
	/* Kept alive, the connection may idle, then owes the next headers. */
	conntrack_answered(srv->track, conn_track(conn));
	if (!x)
		return;
	*con_cls = NULL;
	int64_t took = clock_mono_us() - x->started_us;
	int status = x->resp.replied ? x->resp.status : 0;
	if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && !x->resp.replied)
		status = 499; /* the client went away before we answered */
	if (x->work.state == DEFERRED_DONE) {
		/* Gone before its continuation ran.  The continuation only
		 * releases what it holds when told the work failed: no answer
		 * (decrypted data, a token) is built for nobody. */
		x->work.state = DEFERRED_NONE;
		(void)x->work.cont(&x->req, &x->resp, SENIM_ERR_UNAVAILABLE, x->work.ctx);
	}
	const char *route = x->req.route ? x->req.route->pattern : "(unmatched)";
	struct log_access line = {
		x->req.method, route, status, took, x->req.request_id, x->req.actor.label
	};
	log_access(&line);
	metrics_request(srv->cfg.metrics,
			x->route_index >= 0 ? x->route_index : (int)srv->cfg.nroutes,
			status, took);
	exchange_free(x);
}

static void on_mhd_error(void *cls, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* libmicrohttpd writes a line for each connection it refuses or loses; a
 * flood of connections must not become a flood of log.  At most this many
 * lines a second; the rest are counted and the count goes with the next. */
#define MHD_LOG_PER_SECOND 20

static pthread_mutex_t mhd_log_lock = PTHREAD_MUTEX_INITIALIZER;
static int64_t mhd_log_second;
static unsigned mhd_log_lines, mhd_log_dropped;

static void on_mhd_error(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	int64_t second = clock_mono_us() / 1000000;
	unsigned dropped = 0;
	pthread_mutex_lock(&mhd_log_lock);
	if (second != mhd_log_second) {
		mhd_log_second = second;
		mhd_log_lines = 0;
	}
	int quiet = ++mhd_log_lines > MHD_LOG_PER_SECOND;
	if (quiet) {
		mhd_log_dropped++;
	} else {
		dropped = mhd_log_dropped;
		mhd_log_dropped = 0;
	}
	pthread_mutex_unlock(&mhd_log_lock);
	if (quiet)
		return;
	char msg[256], count[16];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	size_t n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	snprintf(count, sizeof(count), "%u", dropped);
	log_event(LOG_WARN, "http_error", "message", msg,
		  dropped ? "suppressed_before" : NULL, dropped ? count : NULL, NULL);
}

/* ---- lifecycle ------------------------------------------------------------ */

enum senim_result server_parse_listen(const char *listen, char *host, size_t host_len,
				      uint16_t *port)
{
	const char *colon = strrchr(listen, ':');
	if (!colon)
		return SENIM_ERR_INVALID;
	const char *h = listen;
	size_t hlen = (size_t)(colon - listen);
	if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
		h++;
		hlen -= 2;
	}
	if (hlen >= host_len)
		return SENIM_ERR_INVALID;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	if (hlen == 0)
		snprintf(host, host_len, "127.0.0.1");
	char *end;
	errno = 0;
	unsigned long p = strtoul(colon + 1, &end, 10);
	if (errno || *end || colon[1] < '0' || colon[1] > '9' || p > 65535)
		return SENIM_ERR_INVALID;
	*port = (uint16_t)p;
	return SENIM_OK;
}

/*
 * How many client connections this process can hold: SERVER_CONNECTION_LIMIT,
 * or fewer when its descriptor limit is lower.  The soft limit is raised
 * towards the hard one first: with a shell's usual 1,024, a thousand idle
 * sockets would leave the store, the key file and the SMS gateway without
 * a descriptor.
 */
static unsigned connection_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return SERVER_CONNECTION_LIMIT / 4;
	rlim_t want = SERVER_CONNECTION_LIMIT + FD_RESERVE;
	if (rl.rlim_max != RLIM_INFINITY && want > rl.rlim_max)
		want = rl.rlim_max;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
		rl.rlim_cur = want;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur >= (rlim_t)SERVER_CONNECTION_LIMIT + FD_RESERVE)
		return SERVER_CONNECTION_LIMIT;
	return rl.rlim_cur > 2 * FD_RESERVE ? (unsigned)(rl.rlim_cur - FD_RESERVE)
					    : (unsigned)(rl.rlim_cur / 2);
}

/* Say what one client can hold, and warn when one address could take
 * every connection. */
static void log_limits(unsigned total, const struct server_config *cfg)
{
	char t[16], p[16], h[16], b[16], i[16];
	snprintf(t, sizeof(t), "%u", total);
	snprintf(p, sizeof(p), "%d", cfg->max_per_address);
	snprintf(h, sizeof(h), "%d", cfg->header_timeout_s);
	snprintf(b, sizeof(b), "%d", cfg->body_timeout_s);
	snprintf(i, sizeof(i), "%d", cfg->idle_timeout_s);
	log_event(LOG_INFO, "connection_limits", "connections", t, "per_address", p,
		  "header_timeout_s", h, "body_timeout_s", b, "idle_timeout_s", i, NULL);
	if (cfg->max_per_address == 0 || (unsigned)cfg->max_per_address >= total)
		log_event(LOG_WARN, "one_address_can_take_every_connection", NULL);
}

/* The config with the defaults applied; SENIM_ERR_CONFIG when what is to be
 * served is missing. */
static enum senim_result complete_config(const struct server_config *in,
					 struct server_config *c)
{
	*c = *in;
	if (!c->routes || !c->nroutes || !c->authorize_or_reply || !c->listen)
		return SENIM_ERR_CONFIG; /* never a handler without the gate */
	if (c->max_per_address < 0)
		c->max_per_address = SERVER_DEFAULT_PER_ADDRESS;
	if (c->header_timeout_s <= 0)
		c->header_timeout_s = SERVER_DEFAULT_HEADER_TIMEOUT_S;
	if (c->body_timeout_s <= 0)
		c->body_timeout_s = SERVER_DEFAULT_BODY_TIMEOUT_S;
	if (c->idle_timeout_s <= 0)
		c->idle_timeout_s = SERVER_DEFAULT_IDLE_TIMEOUT_S;
	return SENIM_OK;
}

/* Stop the threads and free; the daemon is stopped (or never started). */
static void server_free(struct server *srv)
{
	if (srv->delays) {
		delay_queue_stop(srv->delays);
		delay_queue_free(srv->delays);
	}
	defer_release(&srv->defer);
	conntrack_free(srv->track); /* every connection is closed */
	free(srv);
}

enum senim_result server_start(const struct server_config *cfg_in, struct server **out)
{
	*out = NULL;
	struct server_config c;
	enum senim_result err = complete_config(cfg_in, &c);
	if (err)
		return err;
	const struct server_config *cfg = &c;
	char host[64];
	uint16_t port;
	if (server_parse_listen(cfg->listen, host, sizeof(host), &port))
		return SENIM_ERR_CONFIG;
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
			 MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
	struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons(port);
	} else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons(port);
		flags |= MHD_USE_IPv6;
	} else {
		return SENIM_ERR_CONFIG;
	}
	struct server *srv = calloc(1, sizeof(*srv));
	if (!srv)
		return SENIM_ERR_NOMEM;
	srv->cfg = c;
	srv->quiesced_fd = MHD_INVALID_SOCKET;
	struct conntrack_config tc = { cfg->header_timeout_s * 1000,
				       cfg->body_timeout_s * 1000,
				       cfg->idle_timeout_s * 1000 };
	err = conntrack_new(&tc, &srv->track);
	if (err)
		goto fail;
	err = delay_queue_new(&srv->delays);
	if (err)
		goto fail;
	err = defer_init(&srv->defer, cfg->store);
	if (err)
		goto fail;
	unsigned limit = connection_limit();
	log_limits(limit, cfg);
	srv->daemon = MHD_start_daemon(
		flags, port, NULL, NULL, on_request, srv, MHD_OPTION_EXTERNAL_LOGGER,
		on_mhd_error, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		/* One worker is the daemon's own polling thread: a pool of one
		 * would only be refused with a warning. */
		MHD_OPTION_THREAD_POOL_SIZE,
		(unsigned)(cfg->threads > 1 ? cfg->threads : 0),
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
		MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv,
		/* Inactivity, each byte restarts it: the keep-alive idle
		 * allowance.  The deadlines a trickle cannot stretch are the
		 * watchdog's (conntrack.h). */
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->idle_timeout_s,
		MHD_OPTION_CONNECTION_LIMIT, limit,
		/* Counted over the whole pool, so one address cannot take every
		 * connection (0: no limit). */
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)cfg->max_per_address,
		MHD_OPTION_END);
	if (!srv->daemon) {
		err = SENIM_ERR_IO;
		goto fail;
	}
	*out = srv;
	return SENIM_OK;
fail:
	server_free(srv);
	return err;
}

uint16_t server_port(struct server *srv)
{
	const union MHD_DaemonInfo *info =
		MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
	return info ? info->port : 0;
}

void server_quiesce(struct server *srv)
{
	MHD_socket s = MHD_quiesce_daemon(srv->daemon);
	if (s == MHD_INVALID_SOCKET)
		return;
	/* A worker thread may still hold this socket in its epoll set until
	 * the daemon stops, so the descriptor stays open until then
	 * (libmicrohttpd's rule for threaded modes).  Shutting it down now
	 * stops the kernel listening: a new connection is refused at once
	 * instead of waiting in the backlog for a daemon that will not
	 * accept it. */
	(void)shutdown(s, SHUT_RDWR);
	srv->quiesced_fd = s;
}

void server_stop(struct server *srv, int grace_ms)
{
	if (!srv)
		return;
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	for (int waited = 0; waited < grace_ms; waited += 10) {
		if (__atomic_load_n(&srv->in_flight, __ATOMIC_SEQ_CST) == 0)
			break;
		nanosleep(&tick, NULL);
	}
	/* From now on a write or call runs in place, without suspending; wait
	 * for those queued, whose connections must resume before the daemon
	 * goes. */
	defer_quiesce(&srv->defer);
	/* Resume whatever is still held, so no connection is left suspended.
	 * The queue itself stays until the daemon has stopped: until then a
	 * connection may still ask to be held (and is refused). */
	delay_queue_stop(srv->delays);
	MHD_stop_daemon(srv->daemon);
	if (srv->quiesced_fd != MHD_INVALID_SOCKET)
		close(srv->quiesced_fd);
	server_free(srv);
}
