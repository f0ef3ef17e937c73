#include "http/router.h"

#include <stdio.h>
#include <string.h>

#include "common/banned.h"

#define MAX_SEGMENTS 16

/* Cut "/a/b/c" into segments in place; -1 when there are too many or the
 * path is not absolute. */
static int split(char *path, char *segs[MAX_SEGMENTS])
{
	if (path[0] != '/')
		return -1;
	int n = 0;
	char *p = path + 1;
	if (*p == '\0')
		return 0;
	while (1) {
		if (n == MAX_SEGMENTS)
			return -1;
		segs[n++] = p;
		char *slash = strchr(p, '/');
		if (!slash)
			break;
		*slash = '\0';
		p = slash + 1;
	}
	return n;
}

/* Match split segments against a pattern; params filled in order. */
static int match_pattern(const char *pattern, char *const segs[], int nsegs,
			 const char *params[HTTP_MAX_PARAMS])
{
	const char *p = pattern + 1;
	int i = 0, np = 0;
	while (*p) {
		const char *end = strchr(p, '/');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (i >= nsegs)
			return 0;
		if (p[0] == '{') {
			if (segs[i][0] == '\0' || np == HTTP_MAX_PARAMS)
				return 0;
			params[np++] = segs[i];
		} else if (strlen(segs[i]) != len || memcmp(segs[i], p, len) != 0) {
			return 0;
		}
		i++;
		p += len;
		if (*p == '/')
			p++;
	}
	return i == nsegs;
}

/* 1 when `method` is already one of the comma-separated names in allow. */
static int method_listed(const char *allow, const char *method)
{
	size_t n = strlen(method);
	for (const char *p = allow; (p = strstr(p, method)) != NULL; p += n)
		if ((p == allow || p[-1] == ' ') && (p[n] == ',' || p[n] == '\0'))
			return 1;
	return 0;
}

enum router_result router_match(const struct route *routes, size_t n, const char *method,
				char *path_copy, const struct route **route,
				const char *params[HTTP_MAX_PARAMS], char *allow,
				size_t allow_len)
{
	char *segs[MAX_SEGMENTS];
	int nsegs = split(path_copy, segs);
	*route = NULL;
	if (allow && allow_len)
		allow[0] = '\0';
	if (nsegs < 0)
		return ROUTER_NO_PATH;
	int path_seen = 0;
	size_t used = 0;
	for (size_t r = 0; r < n; r++) {
		const char *tmp[HTTP_MAX_PARAMS] = { 0 };
		if (!match_pattern(routes[r].pattern, segs, nsegs, tmp))
			continue;
		if (strcmp(routes[r].method, method) == 0) {
			*route = &routes[r];
			memcpy(params, tmp, sizeof(tmp));
			return ROUTER_MATCH;
		}
		path_seen = 1;
		/* No buffer, no list: a zero-length Allow holds not even its
		 * terminator, so there is nothing to search or append to. */
		if (!allow || !allow_len)
			continue;
		/* Each method once ("/v1/policies/current" matches two GET
		 * patterns), and only whole names: a short buffer drops the rest. */
		if (method_listed(allow, routes[r].method))
			continue;
		int w = snprintf(allow + used, allow_len - used, "%s%s", used ? ", " : "",
				 routes[r].method);
		if (w > 0 && (size_t)w < allow_len - used)
			used += (size_t)w;
		else
			allow[used] = '\0';
	}
	return path_seen ? ROUTER_NO_METHOD : ROUTER_NO_PATH;
}
