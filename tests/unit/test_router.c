/*
 * test_router.c — matching method and path against the real route table
 * (routes_table()), and parameter extraction on a small table of our own.
 *
 * Allow is compared as a set of methods: RFC 9110 10.2.1 makes it a list
 * whose order carries no meaning.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "common/buf.h"
#include "common/result.h"
#include "http/router.h"
#include "common/banned.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

struct match {
	enum router_result res;
	const struct route *route;
	const char *params[HTTP_MAX_PARAMS];
	char allow[64];
	char *path; /* the caller's copy, which params point into */
};

static void match(const struct route *table, size_t n, const char *method,
		  const char *path, struct match *m)
{
	m->path = malloc(strlen(path) + 1);
	assert_non_null(m->path);
	memcpy(m->path, path, strlen(path) + 1);
	for (int i = 0; i < HTTP_MAX_PARAMS; i++)
		m->params[i] = "stale";
	memcpy(m->allow, "stale", 6);
	m->route = (const struct route *)table; /* must be reset on a miss */
	m->res = router_match(table, n, method, m->path, &m->route, m->params, m->allow,
			      sizeof(m->allow));
}

/* 1 when `item` (len bytes) is one of the items of `list`, split at `sep`. */
static int has_item(const char *list, const char *sep, const char *item, size_t len)
{
	size_t seplen = strlen(sep);
	while (*list) {
		const char *end = strstr(list, sep);
		size_t n = end ? (size_t)(end - list) : strlen(list);
		if (n == len && memcmp(list, item, len) == 0)
			return 1;
		list += n + (end ? seplen : 0);
	}
	return 0;
}

/* 1 when the Allow value ("GET, POST") names exactly the set of methods in
 * `want` ("GET POST"), none of them empty. */
static int allow_is(const char *allow, const char *want)
{
	for (const char *w = want; *w;) {
		const char *end = strchr(w, ' ');
		size_t len = end ? (size_t)(end - w) : strlen(w);
		if (!has_item(allow, ", ", w, len))
			return 0;
		w += len + (end ? 1 : 0);
	}
	if (!*allow)
		return 0;
	for (const char *g = allow; *g;) {
		const char *end = strstr(g, ", ");
		size_t len = end ? (size_t)(end - g) : strlen(g);
		if (len == 0 || !has_item(want, " ", g, len))
			return 0;
		g += len + (end ? 2 : 0);
	}
	return 1;
}

static void test_real_table(void **state)
{
	(void)state;
	static const struct {
		const char *method;
		const char *path;
		enum router_result res;
		const char *name;  /* on a match */
		const char *allow; /* on NO_METHOD: the methods, space separated */
		const char *param; /* the first parameter, or NULL */
	} cases[] = {
		{ "GET", "/healthz", ROUTER_MATCH, "healthz", NULL, NULL },
		{ "GET", "/readyz", ROUTER_MATCH, "readyz", NULL, NULL },
		{ "GET", "/metrics", ROUTER_MATCH, "metrics", NULL, NULL },
		{ "POST", "/v1/staff/enrollment", ROUTER_MATCH, "staff_enroll", NULL,
		  NULL },
		{ "POST", "/v1/staff/sessions", ROUTER_MATCH, "staff_sign_in", NULL,
		  NULL },
		{ "DELETE", "/v1/staff/sessions", ROUTER_MATCH, "staff_sign_out", NULL,
		  NULL },
		{ "GET", "/v1/staff/me", ROUTER_MATCH, "staff_me", NULL, NULL },
		{ "GET", "/v1/policies", ROUTER_MATCH, "policy_list", NULL, NULL },
		{ "POST", "/v1/policies", ROUTER_MATCH, "policy_publish", NULL, NULL },
		/* The literal route is listed, and so matched, before {version}. */
		{ "GET", "/v1/policies/current", ROUTER_MATCH, "policy_current", NULL,
		  NULL },
		{ "GET", "/v1/policies/2024-01", ROUTER_MATCH, "policy_get", NULL,
		  "2024-01" },
		{ "GET", "/v1/policies/currentx", ROUTER_MATCH, "policy_get", NULL,
		  "currentx" },
		{ "GET", "/v1/policies/Current", ROUTER_MATCH, "policy_get", NULL,
		  "Current" },
		{ "GET", "/v1/policies/%2F", ROUTER_MATCH, "policy_get", NULL, "%2F" },
		{ "GET", "/v1/audit/verify", ROUTER_MATCH, "audit_verify", NULL, NULL },

		/* The path exists, the method does not. */
		{ "PUT", "/v1/policies", ROUTER_NO_METHOD, NULL, "GET POST", NULL },
		{ "GET", "/v1/staff/sessions", ROUTER_NO_METHOD, NULL, "POST DELETE",
		  NULL },
		{ "GET", "/v1/staff/enrollment", ROUTER_NO_METHOD, NULL, "POST", NULL },
		{ "POST", "/v1/policies/2024-01", ROUTER_NO_METHOD, NULL, "GET", NULL },
		{ "POST", "/v1/policies/current", ROUTER_NO_METHOD, NULL, "GET", NULL },
		{ "POST", "/healthz", ROUTER_NO_METHOD, NULL, "GET", NULL },
		{ "HEAD", "/healthz", ROUTER_NO_METHOD, NULL, "GET", NULL },
		{ "get", "/healthz", ROUTER_NO_METHOD, NULL, "GET", NULL },
		{ "", "/v1/audit/verify", ROUTER_NO_METHOD, NULL, "GET", NULL },

		/* No such path. */
		{ "GET", "/", ROUTER_NO_PATH, NULL, NULL, NULL },
		{ "GET", "", ROUTER_NO_PATH, NULL, NULL, NULL },
		{ "GET", "healthz", ROUTER_NO_PATH, NULL, NULL, NULL },
		{ "GET", "*", ROUTER_NO_PATH, NULL, NULL, NULL },
		{ "GET", "/HEALTHZ", ROUTER_NO_PATH, NULL, NULL, NULL },
		{ "GET", "/health", ROUTER_NO_PATH, NULL, NULL, NULL },
		{ "GET", "/healthzz", ROUTER_NO_PATH, NULL, NULL, NULL },
		{ "GET", "/healthz/", ROUTER_NO_PATH, NULL, NULL, NULL },
		{ "GET", "//healthz", ROUTER_NO_PATH, NULL, NULL, NULL },
		{ "GET", "/v1/policies/", ROUTER_NO_PATH, NULL, NULL, NULL },
		{ "GET", "/v1//policies", ROUTER_NO_PATH, NULL, NULL, NULL },
		{ "GET", "/v1/policies//", ROUTER_NO_PATH, NULL, NULL, NULL },
		{ "GET", "/v1/policies/current/", ROUTER_NO_PATH, NULL, NULL, NULL },
		{ "GET", "/v1/policies/a/b", ROUTER_NO_PATH, NULL, NULL, NULL },
		{ "GET", "/v1", ROUTER_NO_PATH, NULL, NULL, NULL },
		{ "GET", "/v1/", ROUTER_NO_PATH, NULL, NULL, NULL },
		{ "GET", "/v2/policies", ROUTER_NO_PATH, NULL, NULL, NULL },
		{ "GET", "/v1/staff", ROUTER_NO_PATH, NULL, NULL, NULL },
		{ "GET", "/{version}", ROUTER_NO_PATH, NULL, NULL, NULL },
		{ "GET", "/v1/policies/x/../current", ROUTER_NO_PATH, NULL, NULL, NULL },
		{ "PUT", "/nowhere", ROUTER_NO_PATH, NULL, NULL, NULL },
	};
	size_t n;
	const struct route *table = routes_table(&n);
	assert_true(n >= 12);
	for (size_t i = 0; i < COUNT(cases); i++) {
		struct match m;
		match(table, n, cases[i].method, cases[i].path, &m);
		const char *what = cases[i].path;
		if (m.res != cases[i].res)
			fail_msg("%s %s: want result %d, got %d", cases[i].method, what,
				 cases[i].res, m.res);
		if (m.res == ROUTER_MATCH) {
			assert_non_null(m.route);
			if (strcmp(m.route->name, cases[i].name) != 0)
				fail_msg("%s %s: want %s, got %s", cases[i].method, what,
					 cases[i].name, m.route->name);
			assert_string_equal(m.route->method, cases[i].method);
			if (cases[i].param) {
				assert_string_equal(m.params[0], cases[i].param);
				/* Cut in place: the parameter lives in our copy. */
				assert_true(m.params[0] > m.path &&
					    m.params[0] < m.path + strlen(cases[i].path));
			} else {
				assert_null(m.params[0]);
			}
			for (int k = 1; k < HTTP_MAX_PARAMS; k++)
				assert_null(m.params[k]);
		} else {
			assert_null(m.route);
		}
		if (m.res == ROUTER_NO_METHOD && !allow_is(m.allow, cases[i].allow))
			fail_msg("%s %s: want Allow {%s}, got \"%s\"", cases[i].method,
				 what, cases[i].allow, m.allow);
		if (m.res == ROUTER_NO_PATH)
			assert_string_equal(m.allow, "");
		free(m.path);
	}
}

/* Every route in the table matches its own pattern and method, and the
 * table is in an order where that match is the route itself. */
static void test_every_route_reachable(void **state)
{
	(void)state;
	size_t n;
	const struct route *table = routes_table(&n);
	for (size_t r = 0; r < n; r++) {
		struct buf path;
		buf_init(&path, 1024);
		/* Fill each {param} with a value no literal route uses. */
		for (const char *p = table[r].pattern; *p; p++) {
			if (*p == '{') {
				p = strchr(p, '}');
				assert_non_null(p);
				assert_int_equal(buf_addstr(&path, "p-42"), SENIM_OK);
			} else {
				assert_int_equal(buf_addch(&path, *p), SENIM_OK);
			}
		}
		struct match m;
		match(table, n, table[r].method, path.data, &m);
		assert_int_equal(m.res, ROUTER_MATCH);
		assert_ptr_equal(m.route, &table[r]);
		assert_non_null(m.route->name);
		assert_non_null(m.route->handler);
		free(m.path);
		buf_release(&path);
	}
}

static void test_params(void **state)
{
	(void)state;
	static const struct route table[] = {
		{ "GET", "/a/{x}/b/{y}", NULL, 0, ROUTE_PUBLIC, "two" },
		{ "GET", "/a/{x}", NULL, 0, ROUTE_PUBLIC, "one" },
		{ "PATCH", "/a/{x}", NULL, 0, ROUTE_PUBLIC, "one_patch" },
		{ "GET", "/{p}/{q}/{r}/{s}", NULL, 0, ROUTE_PUBLIC, "four" },
		{ "GET", "/five/{a}/{b}/{c}/{d}/{e}", NULL, 0, ROUTE_PUBLIC, "five" },
	};
	struct match m;

	match(table, COUNT(table), "GET", "/a/1/b/Иван", &m);
	assert_int_equal(m.res, ROUTER_MATCH);
	assert_string_equal(m.route->name, "two");
	assert_string_equal(m.params[0], "1");
	assert_string_equal(m.params[1], "Иван");
	assert_null(m.params[2]);
	free(m.path);

	match(table, COUNT(table), "PATCH", "/a/xyz", &m);
	assert_int_equal(m.res, ROUTER_MATCH);
	assert_string_equal(m.route->name, "one_patch");
	assert_string_equal(m.params[0], "xyz");
	assert_null(m.params[1]);
	free(m.path);

	/* A parameter never matches an empty segment. */
	match(table, COUNT(table), "GET", "/a//b/c", &m);
	assert_int_equal(m.res, ROUTER_NO_PATH);
	free(m.path);

	match(table, COUNT(table), "GET", "/w/x/y/z", &m);
	assert_int_equal(m.res, ROUTER_MATCH);
	assert_string_equal(m.route->name, "four");
	assert_string_equal(m.params[0], "w");
	assert_string_equal(m.params[3], "z");
	free(m.path);

	/* More parameters than HTTP_MAX_PARAMS: the route cannot match. */
	match(table, COUNT(table), "GET", "/five/1/2/3/4/5", &m);
	assert_int_equal(m.res, ROUTER_NO_PATH);
	free(m.path);

	match(table, COUNT(table), "DELETE", "/a/1", &m);
	assert_int_equal(m.res, ROUTER_NO_METHOD);
	assert_true(allow_is(m.allow, "GET PATCH"));
	free(m.path);
}

/* Long paths and many segments are refused cleanly, not overflowed. */
static void test_long_paths(void **state)
{
	(void)state;
	size_t n;
	const struct route *table = routes_table(&n);
	struct buf path;
	buf_init(&path, BUF_NO_LIMIT);
	struct match m;

	/* Thousands of segments. */
	assert_int_equal(buf_addstr(&path, "/v1/policies"), SENIM_OK);
	for (int i = 0; i < 5000; i++)
		assert_int_equal(buf_addstr(&path, "/a"), SENIM_OK);
	match(table, n, "GET", path.data, &m);
	assert_int_equal(m.res, ROUTER_NO_PATH);
	assert_null(m.route);
	free(m.path);

	/* Slashes only. */
	buf_reset(&path);
	for (int i = 0; i < 10000; i++)
		assert_int_equal(buf_addch(&path, '/'), SENIM_OK);
	match(table, n, "GET", path.data, &m);
	assert_int_equal(m.res, ROUTER_NO_PATH);
	free(m.path);

	/* Sixteen and seventeen segments, around the router's own limit. */
	for (int segs = 15; segs <= 17; segs++) {
		buf_reset(&path);
		for (int i = 0; i < segs; i++)
			assert_int_equal(buf_addstr(&path, "/s"), SENIM_OK);
		match(table, n, "GET", path.data, &m);
		assert_int_equal(m.res, ROUTER_NO_PATH);
		free(m.path);
	}

	/* One very long parameter: the router takes it whole (handlers check
	 * its format and length). */
	buf_reset(&path);
	assert_int_equal(buf_addstr(&path, "/v1/policies/"), SENIM_OK);
	for (int i = 0; i < 100000; i++)
		assert_int_equal(buf_addch(&path, 'v'), SENIM_OK);
	match(table, n, "GET", path.data, &m);
	assert_int_equal(m.res, ROUTER_MATCH);
	assert_string_equal(m.route->name, "policy_get");
	assert_int_equal(strlen(m.params[0]), 100000);
	free(m.path);

	/* A long literal that shares a prefix with a route. */
	buf_reset(&path);
	assert_int_equal(buf_addstr(&path, "/healthz"), SENIM_OK);
	for (int i = 0; i < 100000; i++)
		assert_int_equal(buf_addch(&path, 'z'), SENIM_OK);
	match(table, n, "GET", path.data, &m);
	assert_int_equal(m.res, ROUTER_NO_PATH);
	free(m.path);
	buf_release(&path);
}

/* A zero-length Allow buffer is neither read nor written, whether it is
 * NULL or a block holding no terminator (fuzz_router found the search of
 * an unterminated buffer: "POST /v1/policies" with allow_len 0). */
static void test_zero_length_allow(void **state)
{
	(void)state;
	size_t n;
	const struct route *table = routes_table(&n);
	const char *params[HTTP_MAX_PARAMS] = { 0 };
	const struct route *route = NULL;
	char path[] = "/v1/policies/current";
	char *unterminated = malloc(1);
	assert_non_null(unterminated);

	for (int i = 0; i < 2; i++) {
		char *allow = i ? unterminated : NULL;
		if (allow)
			allow[0] = 'X';
		memcpy(path, "/v1/policies/current", sizeof(path));
		enum router_result res =
			router_match(table, n, "POST", path, &route, params, allow, 0);
		assert_int_equal(res, ROUTER_NO_METHOD);
		assert_null(route);
		if (allow)
			assert_int_equal(allow[0], 'X');
	}
	free(unterminated);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_table),
		cmocka_unit_test(test_every_route_reachable),
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_long_paths),
		cmocka_unit_test(test_zero_length_allow),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
