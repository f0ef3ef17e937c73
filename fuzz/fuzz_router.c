/*
 * fuzz_router.c — router_match on the real route table.
 *
 * The input is "METHOD PATH" (split at the first space; no space means the
 * whole input is the path and the method is GET).  The path is copied to an
 * exactly sized heap block so that ASan sees any read or write past it, and
 * the match is run twice: with the server's 64-byte Allow buffer and with a
 * tiny one.  The target checks that a match really fits its pattern and that
 * Allow is set exactly when the path exists without that method.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "http/router.h"
#include "common/banned.h"

/* The params a pattern declares, and that each captured one is a segment. */
static void check_match(const struct route *r, const char *method,
			const char *params[HTTP_MAX_PARAMS])
{
	if (strcmp(r->method, method) != 0)
		abort();
	int want = 0;
	for (const char *p = r->pattern; *p; p++)
		want += *p == '{';
	for (int i = 0; i < HTTP_MAX_PARAMS; i++) {
		if (i < want && (!params[i] || !params[i][0] || strchr(params[i], '/')))
			abort();
		if (i >= want && params[i])
			abort();
	}
}

static void run(const struct route *table, size_t n, const char *method, const char *path,
		size_t path_len, size_t allow_len)
{
	char *copy = malloc(path_len + 1);
	char *allow = malloc(allow_len ? allow_len : 1);
	if (!copy || !allow)
		goto out;
	memcpy(copy, path, path_len);
	copy[path_len] = '\0';
	const struct route *route = (const struct route *)1;
	const char *params[HTTP_MAX_PARAMS] = { 0 };
	enum router_result res =
		router_match(table, n, method, copy, &route, params, allow, allow_len);
	switch (res) {
	case ROUTER_MATCH:
		if (!route || route < table || route >= table + n)
			abort();
		check_match(route, method, params);
		break;
	case ROUTER_NO_METHOD:
		if (route || (allow_len >= 8 && !allow[0]))
			abort();
		if (allow_len && !memchr(allow, '\0', allow_len))
			abort();
		break;
	case ROUTER_NO_PATH:
		if (route || (allow_len && allow[0]))
			abort();
		break;
	default:
		abort();
	}
out:
	free(copy);
	free(allow);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t n;
	const struct route *table = routes_table(&n);
	const char *in = (const char *)data;
	const char *sp = memchr(in, ' ', size);
	char method[16] = "GET";
	const char *path = in;
	size_t path_len = size;
	if (sp) {
		size_t mlen = (size_t)(sp - in);
		if (mlen >= sizeof(method))
			return 0;
		memcpy(method, in, mlen);
		method[mlen] = '\0';
		path = sp + 1;
		path_len = size - mlen - 1;
	}
	/* libmicrohttpd hands over a C string: the path ends at the first NUL. */
	const char *nul = memchr(path, '\0', path_len);
	if (nul)
		path_len = (size_t)(nul - path);
	run(table, n, method, path, path_len, 64);
	run(table, n, method, path, path_len, 5);
	run(table, n, method, path, path_len, 0);
	return 0;
}
