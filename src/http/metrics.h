/*
 * metrics.h — counters and histograms for GET /metrics (Prometheus text).
 *
 * Lock-free: every update is one relaxed atomic add, so the hot path pays
 * almost nothing.  Requests are counted by route and status; latency and
 * store commit time go into fixed-bucket histograms.
 */
#ifndef SENIM_METRICS_H
#define SENIM_METRICS_H

#include <stdint.h>

#include "common/buf.h"
#include "common/result.h"

struct metrics;

/* For `nroutes` routes (index = position in the route table; nroutes is the
 * index used for requests that matched no route). */
struct metrics *metrics_new(int nroutes);
void metrics_free(struct metrics *m);

/* One finished request.  route is an index or nroutes for "unmatched". */
void metrics_request(struct metrics *m, int route, int status, int64_t duration_us);
/* One store commit. */
void metrics_commit(struct metrics *m, int64_t duration_us);

/* Append the exposition text.  route_name(i) names route i; audit_records is
 * the audit counter read at the time of the scrape.  SENIM_OK or the buf's
 * error (out then holds part of the text). */
SENIM_MUST_CHECK enum senim_result metrics_render(struct metrics *m,
						  const char *(*route_name)(int i),
						  uint64_t audit_records,
						  struct buf *out);

#endif
