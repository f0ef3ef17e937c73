/*
 * retry.h — what one attempt at a recipient's API came to, and what follows
 * from it (design §5.4).  Pure code: no clock, no randomness of its own, no
 * libcurl (curl's result codes are taken as the numbers its ABI fixes).
 *
 * retry_classify() turns an attempt — curl's result, the HTTP status, the
 * Retry-After it carried, whether any request bytes left, and the caller's
 * verdict on a 2xx answer — into one code and four consequences:
 *
 *   code            retry  breaker  may have reached the peer
 *   connect         yes    yes      no   (DNS, connect, TLS handshake)
 *   tls_verify      no     yes      no   (untrusted certificate: config)
 *   transport       yes    yes      when request bytes left (timeout,
 *                                        send/receive error, short body)
 *   http_5xx        yes    yes      yes  (5xx and 408)
 *   http_429        yes    no       yes  (Retry-After honoured, <= 300 s)
 *   http_4xx        no     no       yes  (other 4xx, and 1xx/3xx)
 *   invalid_answer  yes    yes      yes  (2xx the caller found invalid,
 *                                        or over the size cap)
 *   wrong_subject   no     yes      yes  (2xx about another subject)
 *   ok              no     no       yes
 *
 * "Counts for the breaker" means a failure that counts toward opening the
 * recipient's circuit (core/breaker.h); an answer that does not count is
 * still proof the peer is up.  Whether a retry actually happens is the
 * caller's: it also weighs attempts made and time left.
 *
 * retry_backoff_ms() is full jitter: a uniform pause in [0, min(cap, base *
 * 2^(attempt-1))], from a random number the caller supplies.
 */
#ifndef SENIM_RETRY_H
#define SENIM_RETRY_H

#include <stdint.h>

enum retry_code {
	RETRY_OK,
	RETRY_CONNECT,
	RETRY_TLS_VERIFY,
	RETRY_TRANSPORT,
	RETRY_HTTP_5XX,
	RETRY_HTTP_429,
	RETRY_HTTP_4XX,
	RETRY_INVALID_ANSWER,
	RETRY_WRONG_SUBJECT,
	/* Not an attempt's result: nothing was tried (the circuit was open,
	 * the queue was full or the deadline passed in it, the hub stopped). */
	RETRY_UNAVAILABLE,
	RETRY__COUNT
};

/* The caller's verdict on a 2xx answer's body (it parses; we don't). */
enum retry_check {
	RETRY_CHECK_OK,
	RETRY_CHECK_INVALID,	  /* not JSON, breaks the schema */
	RETRY_CHECK_WRONG_SUBJECT /* about someone other than asked */
};

/* The longest Retry-After honoured, and the longest backoff. */
#define RETRY_AFTER_MAX_S 300

struct retry_attempt {
	int curl_code;		/* CURLcode as an int; 0 (CURLE_OK) when answered */
	long http_status;	/* 0 when there was no answer */
	int64_t retry_after_s;	/* the answer's Retry-After; <= 0: none */
	int request_sent;	/* 1 when any request bytes left */
	int too_large;		/* 1 when the answer passed the size cap */
	enum retry_check check; /* for a 2xx answer; ignored otherwise */
};

struct retry_verdict {
	enum retry_code code;
	int retry;		/* 1: asking again may help */
	int breaker_failure;	/* 1: counts as a failure for the breaker */
	int may_have_reached;	/* 1: the peer may have acted on it */
	int64_t retry_after_ms; /* the least pause the peer asked for, capped */
};

/* Classify one attempt.  Never fails; an unknown curl code is `transport`. */
void retry_classify(const struct retry_attempt *a, struct retry_verdict *out);

/* "connect", "tls_verify", ... "ok", "unavailable" (metrics labels, the
 * outbox's last_error); NULL out of range. */
const char *retry_code_name(enum retry_code c);

/* Full jitter after failed attempt `attempt` (from 1): random % (ceiling + 1)
 * where ceiling = min(cap_ms, base_ms * 2^(attempt-1)).  0 for attempt < 1
 * or base_ms <= 0. */
int64_t retry_backoff_ms(int attempt, int64_t base_ms, int64_t cap_ms, uint64_t random);

#endif
