/*
 * test_retry.c — classifying an attempt (core/retry.h, design §5.4) from a
 * table of curl codes, statuses, Retry-After, the caller's verdict and the
 * size cap; and full-jitter backoff's bounds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/retry.h"
#include "common/banned.h"

static void test_classify_table(void **state)
{
	(void)state;
	static const struct {
		const char *what;
		struct retry_attempt in;
		enum retry_code code;
		int retry, breaker, reached;
		int64_t after_ms;
	} cases[] = {
		{ "2xx checked ok",
		  { 0, 200, 0, 1, 0, RETRY_CHECK_OK },
		  RETRY_OK,
		  0,
		  0,
		  1,
		  0 },
		{ "202 ok", { 0, 202, 0, 1, 0, RETRY_CHECK_OK }, RETRY_OK, 0, 0, 1, 0 },
		{ "dns", { 6, 0, 0, 0, 0, 0 }, RETRY_CONNECT, 1, 1, 0, 0 },
		{ "refused", { 7, 0, 0, 0, 0, 0 }, RETRY_CONNECT, 1, 1, 0, 0 },
		{ "handshake", { 35, 0, 0, 0, 0, 0 }, RETRY_CONNECT, 1, 1, 0, 0 },
		{ "untrusted", { 60, 0, 0, 0, 0, 0 }, RETRY_TLS_VERIFY, 0, 1, 0, 0 },
		{ "bad own cert", { 58, 0, 0, 0, 0, 0 }, RETRY_TLS_VERIFY, 0, 1, 0, 0 },
		{ "bad CA file", { 77, 0, 0, 0, 0, 0 }, RETRY_TLS_VERIFY, 0, 1, 0, 0 },
		{ "timeout after send",
		  { 28, 0, 0, 1, 0, 0 },
		  RETRY_TRANSPORT,
		  1,
		  1,
		  1,
		  0 },
		{ "timeout connecting",
		  { 28, 0, 0, 0, 0, 0 },
		  RETRY_TRANSPORT,
		  1,
		  1,
		  0,
		  0 },
		{ "empty reply", { 52, 0, 0, 1, 0, 0 }, RETRY_TRANSPORT, 1, 1, 1, 0 },
		{ "send error", { 55, 0, 0, 1, 0, 0 }, RETRY_TRANSPORT, 1, 1, 1, 0 },
		{ "recv error", { 56, 0, 0, 1, 0, 0 }, RETRY_TRANSPORT, 1, 1, 1, 0 },
		{ "short body", { 18, 200, 0, 1, 0, 0 }, RETRY_TRANSPORT, 1, 1, 1, 0 },
		{ "unknown curl code",
		  { 99, 0, 0, 1, 0, 0 },
		  RETRY_TRANSPORT,
		  1,
		  1,
		  1,
		  0 },
		{ "500", { 0, 500, 0, 1, 0, 0 }, RETRY_HTTP_5XX, 1, 1, 1, 0 },
		{ "503 after 1", { 0, 503, 1, 1, 0, 0 }, RETRY_HTTP_5XX, 1, 1, 1, 1000 },
		{ "408", { 0, 408, 0, 1, 0, 0 }, RETRY_HTTP_5XX, 1, 1, 1, 0 },
		{ "429", { 0, 429, 0, 1, 0, 0 }, RETRY_HTTP_429, 1, 0, 1, 0 },
		{ "429 after 7", { 0, 429, 7, 1, 0, 0 }, RETRY_HTTP_429, 1, 0, 1, 7000 },
		{ "429 after capped",
		  { 0, 429, 86400, 1, 0, 0 },
		  RETRY_HTTP_429,
		  1,
		  0,
		  1,
		  300000 },
		{ "429 negative after",
		  { 0, 429, -5, 1, 0, 0 },
		  RETRY_HTTP_429,
		  1,
		  0,
		  1,
		  0 },
		{ "400", { 0, 400, 0, 1, 0, 0 }, RETRY_HTTP_4XX, 0, 0, 1, 0 },
		{ "401", { 0, 401, 0, 1, 0, 0 }, RETRY_HTTP_4XX, 0, 0, 1, 0 },
		{ "403", { 0, 403, 0, 1, 0, 0 }, RETRY_HTTP_4XX, 0, 0, 1, 0 },
		{ "404 no after", { 0, 404, 9, 1, 0, 0 }, RETRY_HTTP_4XX, 0, 0, 1, 0 },
		{ "302 not followed",
		  { 0, 302, 0, 1, 0, 0 },
		  RETRY_HTTP_4XX,
		  0,
		  0,
		  1,
		  0 },
		{ "2xx invalid",
		  { 0, 200, 0, 1, 0, RETRY_CHECK_INVALID },
		  RETRY_INVALID_ANSWER,
		  1,
		  1,
		  1,
		  0 },
		{ "2xx too large",
		  { 23, 200, 0, 1, 1, RETRY_CHECK_OK },
		  RETRY_INVALID_ANSWER,
		  1,
		  1,
		  1,
		  0 },
		{ "2xx wrong subject",
		  { 0, 200, 0, 1, 0, RETRY_CHECK_WRONG_SUBJECT },
		  RETRY_WRONG_SUBJECT,
		  0,
		  1,
		  1,
		  0 },
		{ "verdict ignored on 4xx",
		  { 0, 422, 0, 1, 0, RETRY_CHECK_WRONG_SUBJECT },
		  RETRY_HTTP_4XX,
		  0,
		  0,
		  1,
		  0 },
		{ "verdict ignored on 5xx",
		  { 0, 502, 0, 1, 0, RETRY_CHECK_INVALID },
		  RETRY_HTTP_5XX,
		  1,
		  1,
		  1,
		  0 },
		{ "no status", { 0, 0, 0, 1, 0, 0 }, RETRY_TRANSPORT, 1, 1, 1, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct retry_verdict v;
		memset(&v, 0xa5, sizeof(v));
		retry_classify(&cases[i].in, &v);
		if (v.code != cases[i].code || v.retry != cases[i].retry ||
		    v.breaker_failure != cases[i].breaker ||
		    v.may_have_reached != cases[i].reached ||
		    v.retry_after_ms != cases[i].after_ms)
			fail_msg("%s: code %s retry %d breaker %d reached %d after %lld; "
				 "want %s %d %d %d %lld",
				 cases[i].what, retry_code_name(v.code), v.retry,
				 v.breaker_failure, v.may_have_reached,
				 (long long)v.retry_after_ms,
				 retry_code_name(cases[i].code), cases[i].retry,
				 cases[i].breaker, cases[i].reached,
				 (long long)cases[i].after_ms);
	}
}

static void test_names(void **state)
{
	(void)state;
	for (int c = 0; c < RETRY__COUNT; c++)
		assert_non_null(retry_code_name((enum retry_code)c));
	assert_string_equal(retry_code_name(RETRY_HTTP_5XX), "http_5xx");
	assert_string_equal(retry_code_name(RETRY_UNAVAILABLE), "unavailable");
	assert_null(retry_code_name(RETRY__COUNT));
}

static void test_backoff_bounds(void **state)
{
	(void)state;
	static const struct {
		int attempt;
		int64_t base, cap;
		int64_t ceiling; /* the largest pause */
	} cases[] = {
		{ 0, 1000, 300000, 0 },
		{ 1, 1000, 300000, 1000 },
		{ 2, 1000, 300000, 2000 },
		{ 3, 1000, 300000, 4000 },
		{ 9, 1000, 300000, 256000 },
		{ 10, 1000, 300000, 300000 },
		{ 12, 1000, 300000, 300000 },
		{ 1000, 1000, 300000, 300000 },
		{ 1, 5000, 2000, 2000 },
		{ 3, 0, 2000, 0 },
		{ 70, 100, INT64_MAX, INT64_MAX },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t c = cases[i].ceiling;
		/* random = ceiling is the top, ceiling + 1 wraps to 0 */
		int64_t top = retry_backoff_ms(cases[i].attempt, cases[i].base,
					       cases[i].cap, (uint64_t)c);
		int64_t zero = retry_backoff_ms(cases[i].attempt, cases[i].base,
						cases[i].cap, (uint64_t)c + 1u);
		int64_t any = retry_backoff_ms(cases[i].attempt, cases[i].base,
					       cases[i].cap, UINT64_MAX);
		if (top != c || zero != 0 || any < 0 || any > c)
			fail_msg("attempt %d base %lld cap %lld: top %lld zero %lld any "
				 "%lld, want ceiling %lld",
				 cases[i].attempt, (long long)cases[i].base,
				 (long long)cases[i].cap, (long long)top, (long long)zero,
				 (long long)any, (long long)c);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classify_table),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_backoff_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
