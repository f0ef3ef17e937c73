/*
 * retry.c — classifying an attempt and full-jitter backoff (§5.4).
 */
#include "core/retry.h"

#include <stddef.h>

#include "common/banned.h"

/* libcurl's result codes this table names (curl/curl.h fixes the numbers in
 * its ABI; core/ does not depend on libcurl). */
enum {
	CURL_OK = 0,
	CURL_COULDNT_RESOLVE_PROXY = 5,
	CURL_COULDNT_RESOLVE_HOST = 6,
	CURL_COULDNT_CONNECT = 7,
	CURL_PARTIAL_FILE = 18,
	CURL_WRITE_ERROR = 23,
	CURL_OPERATION_TIMEDOUT = 28,
	CURL_GOT_NOTHING = 52,
	CURL_SSL_CONNECT_ERROR = 35,
	CURL_SEND_ERROR = 55,
	CURL_RECV_ERROR = 56,
	CURL_SSL_CERTPROBLEM = 58,
	CURL_SSL_CIPHER = 59,
	CURL_PEER_FAILED_VERIFICATION = 60,
	CURL_SSL_CACERT_BADFILE = 77,
	CURL_SSL_ISSUER_ERROR = 83,
	CURL_SSL_PINNEDPUBKEYNOTMATCH = 90,
	CURL_SSL_INVALIDCERTSTATUS = 91,
};

static const char *const names[RETRY__COUNT] = {
	[RETRY_OK] = "ok",
	[RETRY_CONNECT] = "connect",
	[RETRY_TLS_VERIFY] = "tls_verify",
	[RETRY_TRANSPORT] = "transport",
	[RETRY_HTTP_5XX] = "http_5xx",
	[RETRY_HTTP_429] = "http_429",
	[RETRY_HTTP_4XX] = "http_4xx",
	[RETRY_INVALID_ANSWER] = "invalid_answer",
	[RETRY_WRONG_SUBJECT] = "wrong_subject",
	[RETRY_UNAVAILABLE] = "unavailable",
};

const char *retry_code_name(enum retry_code c)
{
	return (unsigned)c < RETRY__COUNT ? names[c] : NULL;
}

/* The consequences of each code, in the order of the header's table. */
static const struct {
	int retry, breaker, reached;
} rules[RETRY__COUNT] = {
	[RETRY_OK] = { 0, 0, 1 },
	[RETRY_CONNECT] = { 1, 1, 0 },
	[RETRY_TLS_VERIFY] = { 0, 1, 0 },
	[RETRY_TRANSPORT] = { 1, 1, 1 }, /* reached: refined by request_sent */
	[RETRY_HTTP_5XX] = { 1, 1, 1 },
	[RETRY_HTTP_429] = { 1, 0, 1 },
	[RETRY_HTTP_4XX] = { 0, 0, 1 },
	[RETRY_INVALID_ANSWER] = { 1, 1, 1 },
	[RETRY_WRONG_SUBJECT] = { 0, 1, 1 },
	[RETRY_UNAVAILABLE] = { 0, 0, 0 },
};

static enum retry_code curl_failure(int code)
{
	switch (code) {
	case CURL_COULDNT_RESOLVE_PROXY:
	case CURL_COULDNT_RESOLVE_HOST:
	case CURL_COULDNT_CONNECT:
	case CURL_SSL_CONNECT_ERROR:
		return RETRY_CONNECT;
	/* A certificate we cannot trust, or a local certificate, key or CA
	 * file curl cannot use: asking again changes nothing. */
	case CURL_PEER_FAILED_VERIFICATION:
	case CURL_SSL_CERTPROBLEM:
	case CURL_SSL_CIPHER:
	case CURL_SSL_CACERT_BADFILE:
	case CURL_SSL_ISSUER_ERROR:
	case CURL_SSL_PINNEDPUBKEYNOTMATCH:
	case CURL_SSL_INVALIDCERTSTATUS:
		return RETRY_TLS_VERIFY;
	default:
		/* 18, 28, 52, 55, 56 and whatever else went wrong on the way:
		 * the same key makes a retry safe. */
		return RETRY_TRANSPORT;
	}
}

void retry_classify(const struct retry_attempt *a, struct retry_verdict *out)
{
	enum retry_code code;
	if (a->too_large)
		code = RETRY_INVALID_ANSWER; /* over the cap: not the API's answer */
	else if (a->curl_code != CURL_OK)
		code = curl_failure(a->curl_code);
	else if (a->http_status >= 200 && a->http_status < 300)
		code = a->check == RETRY_CHECK_WRONG_SUBJECT ? RETRY_WRONG_SUBJECT
		       : a->check == RETRY_CHECK_INVALID     ? RETRY_INVALID_ANSWER
							     : RETRY_OK;
	else if (a->http_status == 429)
		code = RETRY_HTTP_429;
	else if (a->http_status >= 500 || a->http_status == 408)
		code = RETRY_HTTP_5XX;
	else if (a->http_status <= 0)
		code = RETRY_TRANSPORT; /* no status line: not an HTTP answer */
	else
		code = RETRY_HTTP_4XX;

	out->code = code;
	out->retry = rules[code].retry;
	out->breaker_failure = rules[code].breaker;
	out->may_have_reached = rules[code].reached;
	if (code == RETRY_TRANSPORT && !a->request_sent)
		out->may_have_reached = 0;
	out->retry_after_ms = 0;
	if ((code == RETRY_HTTP_429 || code == RETRY_HTTP_5XX) && a->retry_after_s > 0)
		out->retry_after_ms =
			(a->retry_after_s < RETRY_AFTER_MAX_S ? a->retry_after_s
							      : RETRY_AFTER_MAX_S) *
			1000;
}

int64_t retry_backoff_ms(int attempt, int64_t base_ms, int64_t cap_ms, uint64_t random)
{
	if (attempt < 1 || base_ms <= 0 || cap_ms <= 0)
		return 0;
	int64_t ceiling = base_ms < cap_ms ? base_ms : cap_ms;
	/* Doubling, stopped at the cap before it can overflow. */
	for (int n = attempt - 1; n > 0 && ceiling < cap_ms; n--)
		ceiling = ceiling > cap_ms / 2 ? cap_ms : ceiling * 2;
	return (int64_t)(random % ((uint64_t)ceiling + 1));
}
