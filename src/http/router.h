/*
 * router.h — routes, their roles, and matching a request to one.
 *
 * A route is a method and a path pattern whose segments are literals or
 * "{name}" parameters ("/v1/policies/{version}").  Every route declares who
 * may call it: ROUTE_PUBLIC, a borrower (ROUTE_BORROWER), or a mask of staff
 * roles; the server's authorize hook enforces it (server.h).  The API's
 * table is routes.c (api/app.h); docs/openapi.yaml lists the same routes (a
 * test checks).
 */
#ifndef SENIM_ROUTER_H
#define SENIM_ROUTER_H

#include <stddef.h>

#include "http/http.h"

enum route_flags {
	ROUTE_PUBLIC = 1 << 0,	  /* no authentication */
	ROUTE_JSON_BODY = 1 << 1, /* expects an application/json body */
	ROUTE_BORROWER = 1 << 2,  /* a borrower's own route: borrower token only */
	ROUTE_POLICY_FREE =
		1 << 3, /* a borrower route open before accepting the policy */
};

struct route {
	const char *method;
	const char *pattern;
	http_handler_fn handler;
	unsigned roles; /* ROLE_BIT mask; ignored for ROUTE_PUBLIC */
	unsigned flags;
	const char *name; /* operation id, for docs and metrics */
};

enum router_result {
	ROUTER_MATCH,
	ROUTER_NO_PATH,
	ROUTER_NO_METHOD
};

/*
 * Find the route for method and path.  On ROUTER_MATCH *route is set and
 * params[] point into `path_copy`, a writable copy of the path the caller
 * owns (segments are cut in place).  On ROUTER_NO_METHOD `allow` gets the
 * methods the path does support ("GET, POST"), as many whole names as fit
 * with the terminator in allow_len bytes; with allow NULL or allow_len 0 it
 * is neither read nor written.
 */
enum router_result router_match(const struct route *routes, size_t n, const char *method,
				char *path_copy, const struct route **route,
				const char *params[HTTP_MAX_PARAMS], char *allow,
				size_t allow_len);

#endif
