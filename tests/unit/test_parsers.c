/*
 * test_parsers.c — small parsers of operator and client input: policy
 * version names (policy_version_valid) and --listen values
 * (server_parse_listen).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "common/result.h"
#include "http/server.h"
#include "policy/policy.h"
#include "common/banned.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static void test_policy_version(void **state)
{
	(void)state;
	static const struct {
		const char *v;
		int ok;
	} cases[] = {
		{ "1", 1 },
		{ "A", 1 },
		{ "z9", 1 },
		{ "Z", 1 },
		{ "vZz.09", 1 },
		{ "v1.0", 1 },
		{ "2024-01-01", 1 },
		{ "2024_01", 1 },
		{ "1..2", 1 },
		{ "v1-", 1 },
		{ "0123456789abcdefghijABCDEFGHIJ._", 1 },  /* 32 */
		{ "0123456789abcdefghijABCDEFGHIJ._x", 0 }, /* 33 */
		{ "", 0 },
		/* "current" is the version in force in API paths, never a name. */
		{ "current", 0 },
		{ "current1", 1 },
		{ "Current", 1 },
		{ ".v1", 0 },
		{ "-1", 0 },
		{ "_a", 0 },
		{ "a b", 0 },
		{ " a", 0 },
		{ "a/b", 0 },
		{ "..", 0 },
		{ "a\tb", 0 },
		{ "v1.0\n", 0 },
		{ "v1+2", 0 },
		{ "a:b", 0 },
		{ "a%2F", 0 },
		{ "current?", 0 },
		{ "Ä1", 0 },
		{ "v1\xd0\x90", 0 },
		{ "1\x7f", 0 },
	};
	for (size_t i = 0; i < COUNT(cases); i++)
		if (policy_version_valid(cases[i].v) != cases[i].ok)
			fail_msg("\"%s\": want %d", cases[i].v, cases[i].ok);
}

static void test_parse_listen(void **state)
{
	(void)state;
	static const struct {
		const char *listen;
		const char *host; /* NULL: SENIM_ERR_INVALID */
		uint16_t port;
	} cases[] = {
		{ "127.0.0.1:8080", "127.0.0.1", 8080 },
		{ "0.0.0.0:1", "0.0.0.0", 1 },
		{ "localhost:65535", "localhost", 65535 },
		{ "[::1]:0", "::1", 0 },
		{ "[::]:443", "::", 443 },
		{ "[fe80::1%eth0]:8080", "fe80::1%eth0", 8080 },
		{ "::1:443", "::1", 443 },
		{ ":8080", "127.0.0.1", 8080 },
		{ "host:00080", "host", 80 },
		{ "host:65536", NULL, 0 },
		{ "host:99999999999999999999999", NULL, 0 },
		{ "host:", NULL, 0 },
		{ "host", NULL, 0 },
		{ "", NULL, 0 },
		{ ":", NULL, 0 },
		{ "[::1]", NULL, 0 },
		{ "host:80x", NULL, 0 },
		{ "host:8 0", NULL, 0 },
		{ "host:0x50", NULL, 0 },
		{ "host:-1", NULL, 0 },
		{ "host:-0", NULL, 0 },
		{ "host:+80", NULL, 0 },
		{ "host: 80", NULL, 0 },
		{ "host:\v80", NULL, 0 },
		{ "host:80 ", NULL, 0 },
		{ "host:80\n", NULL, 0 },
		{ "127.0.0.1:8080:", NULL, 0 },
		/* 63 bytes of host fit a 64-byte buffer, 64 do not. */
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:1",
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 1 },
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:1",
		  NULL, 0 },
	};
	for (size_t i = 0; i < COUNT(cases); i++) {
		char host[64];
		memset(host, 'x', sizeof(host));
		uint16_t port = 4242;
		int err = server_parse_listen(cases[i].listen, host, sizeof(host), &port);
		if (!cases[i].host) {
			if (err != SENIM_ERR_INVALID)
				fail_msg("\"%s\": want invalid, got %d", cases[i].listen,
					 err);
			continue;
		}
		if (err != SENIM_OK)
			fail_msg("\"%s\": want OK, got %d", cases[i].listen, err);
		assert_non_null(memchr(host, '\0', sizeof(host)));
		if (strcmp(host, cases[i].host) != 0 || port != cases[i].port)
			fail_msg("\"%s\": want %s port %u, got %s port %u",
				 cases[i].listen, cases[i].host, cases[i].port, host,
				 port);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy_version),
		cmocka_unit_test(test_parse_listen),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
