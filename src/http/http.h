/*
 * http.h — a request as a handler sees it, and the ways to answer it.
 *
 * The server (server.c) reads the whole body (capped), matches the route,
 * negotiates the language, has the caller checked against the route by the
 * authorize hook the API installed (server.h; api/gate.h), and only then
 * calls the handler.  A handler fills `resp` with one of the http_reply_*
 * helpers and returns SENIM_OK; if it returns an error without replying,
 * the server answers the problem mapped from that result (problem.c) — so a
 * handler never leaves a request unanswered.  For the same reason the
 * http_reply_* helpers may be called without looking at their result: one
 * that fails leaves the request unanswered, and the server answers it.
 *
 * Memory: everything a handler allocates for the request comes from
 * req->arena and is freed when the response is done.  req->app is the
 * API's (api/app.h); this layer only carries it.
 */
#ifndef SENIM_HTTP_H
#define SENIM_HTTP_H

#include <jansson.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/ids.h"
#include "common/result.h"
#include "core/roles.h"
#include "http/i18n.h"
#include "http/jsonin.h"
#include "http/problem.h"

struct app;
struct route;
struct MHD_Connection;

#define HTTP_MAX_PARAMS 4
#define HTTP_MAX_HEADERS 4
#define HTTP_REQUEST_ID_LEN 33

enum actor_kind {
	ACTOR_ANONYMOUS,
	ACTOR_STAFF,
	ACTOR_BORROWER
};

struct actor {
	enum actor_kind kind;
	int64_t id;
	enum role role;
	int is_service;
	char label[40]; /* "staff:12", "borrower:sbj_..." or "anonymous" */
	char subject_id[SUBJECT_ID_LEN]; /* a borrower's own subject */
};

struct http_request {
	struct MHD_Connection *conn;
	struct app *app;
	const char *method;
	const char *path;
	const struct route *route;
	const char *params[HTTP_MAX_PARAMS]; /* path parameters, in pattern order */
	const char *body;		     /* NUL-terminated; "" when none */
	size_t body_len;
	enum lang lang;
	char request_id[HTTP_REQUEST_ID_LEN];
	struct actor actor; /* set by the authorize hook */
	const char *bearer; /* the caller's token, or NULL */
	struct arena arena;
};

struct http_response {
	int status;
	const char *content_type;
	struct buf body;
	const char *header_names[HTTP_MAX_HEADERS];
	char *header_values[HTTP_MAX_HEADERS]; /* from the request arena */
	int nheaders;
	int replied;
	int delay_ms;		 /* hold the answer this long without holding a worker */
	const void *shared_body; /* a public body that outlives the response */
	size_t shared_len;
};

/* Request accessors; NULL when absent. */
const char *http_header(struct http_request *req, const char *name);
const char *http_query(struct http_request *req, const char *name);

/*
 * The answers.  Each returns SENIM_OK or a buf/arena error (then nothing is
 * answered, and the server answers the mapped problem).  They return int,
 * not enum senim_result, while handlers still combine them with an int in
 * `err ? err : http_reply_json(...)`, which an unsigned enum would turn into
 * a -Wsign-compare error.
 */

/* Answer with a JSON document (stolen reference). */
enum senim_result http_reply_json(struct http_response *resp, int status, json_t *doc);
/* Answer with bytes of a given type (copied). */
enum senim_result http_reply_bytes(struct http_response *resp, int status,
				   const char *type, const void *data, size_t len);
/*
 * Answer with a public body the caller keeps alive for the life of the
 * process (a cached policy text): sent without a copy and without a wipe.
 * Never for personal data.
 */
enum senim_result http_reply_shared(struct http_response *resp, int status,
				    const char *type, const void *data, size_t len);
/* Answer 204 No Content. */
enum senim_result http_reply_empty(struct http_response *resp);
/* Answer a problem; p->extra is stolen.  A 401 gets WWW-Authenticate. */
enum senim_result http_reply_problem(struct http_request *req, struct http_response *resp,
				     struct problem *p);
/* Shorthand for a problem with no field. */
enum senim_result http_reply_code(struct http_request *req, struct http_response *resp,
				  const char *code);
/*
 * 428 policy_acceptance_required (P1): the caller must accept the policy in
 * force, `current_version` (NULL or "" when none is published), before this
 * route; the problem names it and "policy" as the missing consent.  The
 * authorize hook answers it on every gated route (api/gate.h), so, like
 * the 401's WWW-Authenticate, its shape is the server's: one answer for all
 * the routes, where the contract tests (test_openapi.py) look for it.
 */
enum senim_result http_reply_policy_required(struct http_request *req,
					     struct http_response *resp,
					     const char *current_version);
/* Add a response header; the value is copied into the request arena. */
enum senim_result http_add_header(struct http_request *req, struct http_response *resp,
				  const char *name, const char *value);

/*
 * The client's address as a rate-limit key: the 4 bytes of an IPv4 address
 * (IPv4-mapped IPv6 included), the first 8 bytes — the /64 one subscriber
 * usually holds whole — of an IPv6 one.  Returns the key's length, 0 when
 * the address is unknown.  A key, not evidence: never log it.
 */
size_t http_client_key(const struct http_request *req, unsigned char out[16]);

/*
 * Parse the body as a JSON object and check it against fields; on failure
 * answer the problem (415, 400 or 422) and return SENIM_ERR_INVALID, so a
 * handler does `if (http_json_body_or_reply(...)) return SENIM_OK;`.
 * On success *out is a new reference the caller json_decref()s.  fields
 * NULL: only the media type and the JSON are checked, for a handler whose
 * parser checks the schema itself (api/loans.c's payment notice).
 */
enum senim_result http_json_body_or_reply(struct http_request *req,
					  struct http_response *resp,
					  const struct jsonin_field *fields, size_t n,
					  json_t **out);

/* A handler. */
typedef enum senim_result (*http_handler_fn)(struct http_request *req,
					     struct http_response *resp);

/*
 * Answer after a durable write, without holding a worker thread while the
 * group commit gathers and syncs its batch (a worker serves many
 * connections; blocking it would stall them all).
 *
 * A handler that has done its reading and computing calls
 *     return http_write_then(req, fn, ctx, cont);
 * The connection is suspended and fn is queued with store_write_async();
 * when its batch is durable, or has failed, the server calls
 *     cont(req, resp, result, ctx)
 * on a worker thread, and cont answers as a handler would (an unanswered
 * request gets the problem mapped from its return value).  fn runs on the
 * store's thread, under store.h's rules; ctx must live until cont returns
 * (allocate it from req->arena).  One write per request, and req must be
 * the request the server handed to the handler.  Returns what a handler
 * returns: SENIM_OK, or — when the write cannot be asked for (a second
 * one) — cont's result for SENIM_ERR_INVALID, so cont runs exactly once and
 * a handler ends with `return http_write_then(...)`.
 */
struct store_tx;
typedef enum senim_result (*http_write_fn)(struct store_tx *tx, void *ctx);
typedef enum senim_result (*http_continue_fn)(struct http_request *req,
					      struct http_response *resp,
					      enum senim_result result, void *ctx);
enum senim_result http_write_then(struct http_request *req, http_write_fn fn, void *ctx,
				  http_continue_fn cont);

/*
 * The same for a blocking call to another service (the SMS gateway, which
 * may take seconds) or a deliberately slow one (a staff sign-in's password
 * hash): call(ctx) runs on one of the server's I/O threads, and
 * cont(req, resp, its result, ctx) answers on a worker thread.  When the I/O
 * queue is full, cont sees SENIM_ERR_UNAVAILABLE at once.  call may use the
 * store synchronously.  A request has one write, one call or one
 * asynchronous work (below): the three are one mechanism (defer.h).
 */
typedef enum senim_result (*http_call_fn)(void *ctx);
enum senim_result http_call_then(struct http_request *req, http_call_fn call, void *ctx,
				 http_continue_fn cont);

/*
 * The same for work that waits on something else's thread and tells when it
 * is done — an exchange with a recipient: a write that records the decision,
 * the call on the connector hub's thread, a write that settles it.  No
 * server thread is held while it waits.  start(ctx, done, arg) begins the
 * work and returns at once; the work then calls done(result, arg) exactly
 * once, from any thread (from inside start too), and
 * cont(req, resp, that result, ctx) answers on a worker thread.  When start
 * itself fails it must not call done: its result goes to cont.  While the
 * server is stopping, start still runs and the worker waits for done.
 */
typedef void (*http_async_done_fn)(enum senim_result result, void *arg);
typedef enum senim_result (*http_async_fn)(void *ctx, http_async_done_fn done, void *arg);
enum senim_result http_async_then(struct http_request *req, http_async_fn start,
				  void *ctx, http_continue_fn cont);

#endif
