#include "http/metrics.h"

#include <stdlib.h>

#include "common/banned.h"

/* Seconds; the Prometheus "le" bounds of the histograms. */
static const double bounds[] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
				 0.05,	 0.1,	0.25,	0.5,   1,    2.5 };
#define NBOUNDS (sizeof(bounds) / sizeof(bounds[0]))
#define NSTATUS 600

struct histogram {
	uint64_t buckets[NBOUNDS + 1]; /* last is +Inf */
	uint64_t count;
	uint64_t sum_us;
};

struct metrics {
	int nroutes;
	uint64_t *requests; /* (nroutes + 1) x NSTATUS */
	struct histogram latency;
	struct histogram commit;
};

struct metrics *metrics_new(int nroutes)
{
	struct metrics *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->nroutes = nroutes;
	m->requests = calloc((size_t)(nroutes + 1) * NSTATUS, sizeof(uint64_t));
	if (!m->requests) {
		free(m);
		return NULL;
	}
	return m;
}

void metrics_free(struct metrics *m)
{
	if (!m)
		return;
	free(m->requests);
	free(m);
}

static void observe(struct histogram *h, int64_t us)
{
	double s = (double)us / 1e6;
	size_t i = 0;
	while (i < NBOUNDS && s > bounds[i])
		i++;
	__atomic_fetch_add(&h->buckets[i], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&h->count, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&h->sum_us, (uint64_t)(us > 0 ? us : 0), __ATOMIC_RELAXED);
}

void metrics_request(struct metrics *m, int route, int status, int64_t duration_us)
{
	if (route < 0 || route > m->nroutes)
		route = m->nroutes;
	if (status < 0 || status >= NSTATUS)
		status = 0;
	__atomic_fetch_add(&m->requests[(size_t)route * NSTATUS + (size_t)status], 1,
			   __ATOMIC_RELAXED);
	observe(&m->latency, duration_us);
}

void metrics_commit(struct metrics *m, int64_t duration_us)
{
	observe(&m->commit, duration_us);
}

static enum senim_result render_histogram(struct buf *out, const char *name,
					  const char *help, struct histogram *h)
{
	enum senim_result err =
		buf_addf(out, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
	if (err)
		goto fail;
	uint64_t cumulative = 0;
	for (size_t i = 0; i <= NBOUNDS; i++) {
		cumulative += __atomic_load_n(&h->buckets[i], __ATOMIC_RELAXED);
		if (i < NBOUNDS)
			err = buf_addf(out, "%s_bucket{le=\"%g\"} %llu\n", name,
				       bounds[i], (unsigned long long)cumulative);
		else
			err = buf_addf(out, "%s_bucket{le=\"+Inf\"} %llu\n", name,
				       (unsigned long long)cumulative);
		if (err)
			goto fail;
	}
	err = buf_addf(out, "%s_sum %.6f\n%s_count %llu\n", name,
		       (double)__atomic_load_n(&h->sum_us, __ATOMIC_RELAXED) / 1e6, name,
		       (unsigned long long)__atomic_load_n(&h->count, __ATOMIC_RELAXED));
fail:
	return err;
}

enum senim_result metrics_render(struct metrics *m, const char *(*route_name)(int i),
				 uint64_t audit_records, struct buf *out)
{
	enum senim_result err =
		buf_addstr(out, "# HELP senim_http_requests_total HTTP "
				"requests by route and status.\n"
				"# TYPE senim_http_requests_total counter\n");
	if (err)
		goto fail;
	for (int r = 0; r <= m->nroutes; r++) {
		for (int s = 0; s < NSTATUS; s++) {
			uint64_t n = __atomic_load_n(
				&m->requests[(size_t)r * NSTATUS + (size_t)s],
				__ATOMIC_RELAXED);
			if (!n)
				continue; /* only the pairs seen */
			err = buf_addf(out,
				       "senim_http_requests_total{route=\"%s\","
				       "status=\"%d\"} %llu\n",
				       r < m->nroutes ? route_name(r) : "unmatched", s,
				       (unsigned long long)n);
			if (err)
				goto fail;
		}
	}
	err = render_histogram(out, "senim_http_request_duration_seconds",
			       "Time from request to response.", &m->latency);
	if (err)
		goto fail;
	err = render_histogram(out, "senim_store_commit_duration_seconds",
			       "Time to commit a write transaction.", &m->commit);
	if (err)
		goto fail;
	err = buf_addf(out,
		       "# HELP senim_audit_records_written_total Audit records "
		       "appended by this process.\n"
		       "# TYPE senim_audit_records_written_total counter\n"
		       "senim_audit_records_written_total %llu\n",
		       (unsigned long long)audit_records);
fail:
	return err;
}
