/*
 * log.h — senim's operational log: one JSON object per line on stderr.
 *
 * The log never carries personal data, request bodies or query strings.  Its
 * callers pass only fixed event names and values that are safe by
 * construction (route templates, status codes, opaque ids); log_event()
 * escapes whatever it is given, so a line is always valid JSON.
 */
#ifndef SENIM_LOG_H
#define SENIM_LOG_H

#include <stdint.h>

enum log_level {
	LOG_DEBUG,
	LOG_INFO,
	LOG_WARN,
	LOG_ERROR
};

/* Lines below `level` are dropped.  Default LOG_INFO. */
void log_set_level(enum log_level level);
/* Parse "debug|info|warn|error"; -1 when unknown. */
int log_level_parse(const char *name);

/*
 * Write {"time":..., "level":..., "event": event, k1: v1, ...}.  The variadic
 * part is pairs of (const char *key, const char *value) ending with NULL.  A
 * NULL value is written as JSON null.
 */
void log_event(enum log_level level, const char *event, ...) __attribute__((sentinel));

/* One access-log line (http layer).  Every argument is safe to log. */
struct log_access {
	const char *method;
	const char *route; /* the template, "/v1/policies/{version}" */
	int status;
	int64_t duration_us;
	const char *request_id;
	const char *actor; /* "staff:12", "anonymous" */
};
void log_access(const struct log_access *a);

#endif
