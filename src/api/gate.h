/*
 * gate.h — who may call a route: authentication, the role check, the
 * borrowers' policy gate, and the audit record of a refusal by role.
 *
 * The server (http/server.h) knows routes, not callers: `senim serve`
 * installs api_authorize_or_reply() as its authorize hook, and the server
 * calls it for every matched route before the route's handler.  The route
 * table (routes.c) declares who may call what; this module enforces it.
 *
 * What the gate answers, for a route that is not ROUTE_PUBLIC:
 * - no bearer token, or one that names nobody: 401 unauthenticated (with
 *   WWW-Authenticate); a token longer than any we issue counts as none;
 * - a valid token of the other kind — a borrower's on a staff route, a
 *   member of staff's on a borrower route: 403 forbidden_role, not audited;
 * - a member of staff whose role the route does not admit: an
 *   "access.denied" audit record (object "route:<name>"), then 403
 *   forbidden_role — the record goes through http_write_then, so no worker
 *   waits for its batch, and the 403 goes out even if it fails (logged);
 * - a borrower who has not accepted the policy in force, on a route that
 *   is not ROUTE_POLICY_FREE (P1, C4): 428 policy_acceptance_required;
 * - the store failing: 503 service_unavailable.
 * Anonymous 401s are never audited — that would let anyone make the server
 * write — but each is in the access log.
 *
 * On success the request carries its caller: req->actor (kind, id, role,
 * label, a borrower's subject) and req->bearer (the token, owned by the
 * connection).
 */
#ifndef SENIM_API_GATE_H
#define SENIM_API_GATE_H

#include "http/http.h"

/*
 * The server's authorize hook.  SENIM_OK: the caller may, and the handler
 * runs.  Anything else: refused, and the request is answered — by the
 * gate itself, or by the continuation of the refusal's audit write.
 * Reads req->app's store and key ring.
 */
SENIM_MUST_CHECK enum senim_result api_authorize_or_reply(struct http_request *req,
							  struct http_response *resp);

#endif
