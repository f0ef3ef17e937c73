/*
 * app.h — what every handler can reach: the store, the key ring, metrics,
 * and the caches the API keeps; and the route table the API serves.
 *
 * One struct app per server process, built by `senim serve` and read-only
 * once serving starts (caches lock themselves).  The HTTP layer carries it
 * to handlers as req->app without looking inside: what the server itself
 * needs (body cap, store, metrics, routes, the authorize hook) it is given
 * in its own config (http/server.h).
 */
#ifndef SENIM_APP_H
#define SENIM_APP_H

#include <stddef.h>

#include "core/purposes.h"
#include "store/store.h"
#include "vault/keyring.h"

struct metrics;
struct route;
struct policy_cache;
struct sms_client;
struct ratelimit;
struct backoff;
struct recipients;

struct exchange_env;
struct loan_rules;
struct scorecard;
struct contract_template;
struct workdays;
struct retention_rules;
struct app {
	struct store *store;
	struct keyring *keys;
	struct metrics *metrics;
	struct policy_cache *policies;
	int failure_delay_ms;		/* pause before answering a failed sign-in */
	struct access_matrix matrix;	/* purpose x category, role x purpose */
	struct sms_client *sms;		/* one-time codes; NULL when not configured */
	struct ratelimit *limits;	/* counters for stranger-callable routes */
	int otp_ip_limit;		/* codes sent per client address per window;
				      * 0: no per-address limit (behind a gateway) */
	int sign_in_ip_limit;		/* staff sign-in tries per address a minute;
				      * 0: no per-address limit or pause */
	struct backoff *sign_in_pauses; /* per client address, after failures */
	const struct recipients *recipients; /* serve --recipients; NULL without */
	const struct exchange_env
		*exchange; /* recipients and the hub; NULL: no exchange */
	const struct loan_rules
		*loan_rules;		   /* serve --loan-rules; NULL: no applications */
	const struct scorecard *scorecard; /* serve --scorecard; NULL: none decided */
	/* serve --contract-template and SENIM_LENDER_NAME / _DETAILS; NULL: no
	 * offer is accepted (lending/contracts.h) */
	const struct contract_template *contract_template;
	const char *lender_name, *lender_details;
	const struct workdays *calendar; /* serve --calendar; NULL: no rights
					    * requests are taken */
	/* serve --retention; NULL: a destruction is refused whenever a legal
	 * keeping period may run (subjects/retention.h) */
	const struct retention_rules *retention;
	const char *shred_journal; /* vault/shred.h's journal beside the key file;
				    * NULL: no destruction request is fulfilled */
};

/*
 * The route table (routes.c): every route, who may call it, its handler.
 * Static; *n gets its length.  A route's index in it is its index in the
 * metrics (http/metrics.h).
 */
const struct route *routes_table(size_t *n);

#endif
