/*
 * health.c — GET /healthz (the process answers), GET /readyz (the store is
 * reachable and its schema current), GET /metrics (Prometheus text).
 */
#include <stdio.h>

#include "api/api.h"
#include "api/app.h"
#include "connectors/hub.h"
#include "exchange/outbox.h"
#include "exchange/register.h"
#include "exchange/reporter.h"
#include "exchange/transfer.h"
#include "audit/audit.h"
#include "common/clock.h"
#include "http/metrics.h"
#include "http/router.h"
#include "rights/requests.h"
#include "common/banned.h"

enum senim_result api_healthz(struct http_request *req, struct http_response *resp)
{
	(void)req;
	return http_reply_json(resp, 200, json_pack("{s:s}", "status", "ok"));
}

#ifdef SENIM_BENCH
/* The bare endpoint benchmarks compare against: no store, no JSON library. */
enum senim_result api_bench_hello(struct http_request *req, struct http_response *resp)
{
	(void)req;
	return http_reply_bytes(resp, 200, "text/plain", "hello\n", 6);
}
#endif

enum senim_result api_readyz(struct http_request *req, struct http_response *resp)
{
	struct app *app = req->app;
	int current = 0, latest = 0;
	int store_ok = store_ping(app->store) == SENIM_OK;
	int schema_ok = store_ok &&
			store_schema_version(app->store, &current, &latest) == SENIM_OK &&
			current == latest;
	json_t *checks = json_pack("{s:s,s:s,s:i,s:i}", "store", store_ok ? "ok" : "down",
				   "schema", schema_ok ? "ok" : "behind",
				   "schema_version", current, "schema_latest", latest);
	if (store_ok && schema_ok)
		return http_reply_json(
			resp, 200,
			json_pack("{s:s,s:o}", "status", "ready", "checks", checks));
	struct problem p = { .code = "not_ready",
			     .extra = json_pack("{s:o}", "checks", checks) };
	return http_reply_problem(req, resp, &p);
}

static const char *route_label(int i)
{
	size_t n;
	const struct route *r = routes_table(&n);
	return (size_t)i < n ? r[i].name : "unmatched";
}

enum senim_result api_metrics(struct http_request *req, struct http_response *resp)
{
	struct buf text;
	buf_init(&text, BUF_NO_LIMIT);
	enum senim_result err = metrics_render(req->app->metrics, route_label,
					       audit_records_written(), &text);
	if (err)
		goto fail;
	/* The exchange: transfers by outcome, and each recipient's hub state. */
	if (req->app->exchange) {
		err = register_metrics(&text);
		if (err)
			goto fail;
		err = hub_metrics(req->app->exchange->hub, &text);
		if (err)
			goto fail;
		err = outbox_metrics(req->app->exchange->store, &text);
		if (err)
			goto fail;
		if (req->app->recipients)
			err = reporter_metrics(req->app->exchange->store,
					       req->app->recipients, clock_now_us(),
					       &text);
		if (err)
			goto fail;
	}
	/* Rights requests open and overdue by type (issue 13). */
	err = requests_metrics(req->app->store, &text);
	if (err)
		goto fail;
	err = http_reply_bytes(resp, 200, "text/plain; version=0.0.4", text.data,
			       text.len);
fail:
	buf_release(&text);
	return err;
}
