/*
 * hub.c — one thread on curl_multi_poll carrying every outbound call to
 * the recipients (design §4, §5.4, §5.5).
 *
 * Threads: hub_submit() (any thread) appends to `incoming` under `lock` and
 * wakes the hub; everything else — the FIFOs, the timers, the breakers, the
 * multi and easy handles — belongs to the hub thread alone.  What other
 * threads read (in flight, circuit state, availability, attempt counts) is
 * published through atomics after each change; `outstanding` (submitted,
 * not yet done) is the one counter both sides change, atomically.
 */
#include "connectors/hub.h"

#include <curl/curl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/secretfile.h"
#include "core/breaker.h"
#include "common/banned.h"

/* A credentials file is a token and a newline, not a document. */
#define HUB_CREDENTIALS_MAX 4096
/* The longest the hub sleeps with calls waiting in a FIFO: how late a
 * waiting call's passed deadline may be noticed. */
#define HUB_SWEEP_MS 50
#define HUB_IDLE_MS 1000

static const char bearer[] = "Authorization: Bearer ";
static char content_type[] = "Content-Type: application/json";
static char accept_json[] = "Accept: application/json";
static char no_expect[] = "Expect:";

struct hub_peer;

struct hub_item {
	struct hub_item *next; /* incoming, a FIFO or the timers */
	struct hub_item *prev_in_flight, *next_in_flight;
	struct hub_call *call;
	struct hub_peer *peer;
	char *url;
	CURL *easy; /* while in flight */
	struct buf answer;
	int too_large;
	int attempts;
	int probe;   /* the attempt in flight is the breaker's probe */
	int64_t due; /* in the timers: the next attempt's time, mono us */
	/* the last attempt */
	enum retry_code code;
	long status;
	int curl_code;
	int may_have_reached;
	/* the request's headers, a list curl reads but never frees */
	char key_header[sizeof("Idempotency-Key: ") + HUB_HEADER_VALUE_MAX];
	char rid_header[sizeof("X-Request-Id: ") + HUB_HEADER_VALUE_MAX];
	struct curl_slist headers[6];
};

struct hub_peer {
	const struct recipient *rc;
	char *auth; /* "Authorization: Bearer <token>", sodium_malloc'ed; or NULL */
	size_t auth_len;
	struct hub_item *fifo_head, *fifo_tail;
	int in_flight;
	CURL **free_easy; /* a stack of max_in_flight */
	int nfree;
	struct breaker breaker;
	/* published for other threads */
	atomic_int outstanding; /* submitted, not yet done */
	atomic_int in_flight_pub;
	atomic_int state_pub;
	_Atomic int64_t available_from_ms; /* mono ms */
	atomic_uint_least64_t attempts_by[RETRY__COUNT];
};

struct hub {
	const struct recipients *r;
	struct hub_peer *peers; /* r->n of them, in the file's order */
	CURLM *multi;
	pthread_t thread;
	pthread_mutex_t lock;
	struct hub_item *incoming_head, *incoming_tail; /* under lock */
	int stopping;					/* under lock */
	struct hub_item *timers;			/* unordered */
	struct hub_item *in_flight;			/* doubly linked */
};

static int64_t now_ms(void)
{
	return clock_mono_us() / 1000;
}

/* ---- set-up ------------------------------------------------------------------ */

static enum senim_result refuse_credentials(const struct recipient *rc, const char *why)
{
	log_event(LOG_ERROR, "hub_credentials_refused", "recipient", rc->code, "path",
		  rc->credentials, "reason", why, NULL);
	return SENIM_ERR_CONFIG;
}

/* The Authorization header from the first line of the recipient's
 * credentials file, in guarded memory: the rules of connectors/sms.c (a
 * file only its owner reads, a visible-ASCII token). */
static enum senim_result read_auth(struct hub_peer *p)
{
	const struct recipient *rc = p->rc;
	char *data = NULL;
	size_t want = 0;
	const char *why = NULL;
	enum senim_result err = secret_file_read(rc->credentials, HUB_CREDENTIALS_MAX,
						 &data, &want, &why);
	if (err == SENIM_ERR_NOMEM)
		return err;
	if (err)
		return refuse_credentials(rc, why);
	size_t len = 0;
	while (len < want && data[len] != '\n' && data[len] != '\r')
		len++;
	while (len > 0 && (data[len - 1] == ' ' || data[len - 1] == '\t'))
		len--;
	for (size_t i = 0; i < len && !err; i++)
		if ((unsigned char)data[i] < 0x21 || (unsigned char)data[i] > 0x7e)
			err = refuse_credentials(rc, "the token is not visible ASCII");
	if (!err && len == 0)
		err = refuse_credentials(rc, "the first line holds no token");
	if (err)
		goto fail;
	size_t total = sizeof(bearer) - 1 + len;
	p->auth = sodium_malloc(total + 1);
	if (!p->auth) {
		err = SENIM_ERR_NOMEM;
		goto fail;
	}
	memcpy(p->auth, bearer, sizeof(bearer) - 1);
	memcpy(p->auth + sizeof(bearer) - 1, data, len);
	p->auth[total] = '\0';
	p->auth_len = total;
fail:
	sodium_free(data);
	return err;
}

static void publish(struct hub_peer *p)
{
	atomic_store(&p->in_flight_pub, p->in_flight);
	atomic_store(&p->state_pub, (int)breaker_state(&p->breaker));
	atomic_store(&p->available_from_ms, breaker_available_from(&p->breaker));
}

static void free_peers(struct hub *h)
{
	if (!h->peers)
		return;
	for (size_t i = 0; i < h->r->n; i++) {
		struct hub_peer *p = &h->peers[i];
		for (int k = 0; k < p->nfree; k++)
			curl_easy_cleanup(p->free_easy[k]);
		free(p->free_easy);
		if (p->auth) {
			sodium_memzero(p->auth, p->auth_len);
			sodium_free(p->auth);
		}
	}
	free(h->peers);
}

static void *hub_main(void *arg);

enum senim_result hub_start(const struct recipients *r, struct hub **out)
{
	*out = NULL;
	if (sodium_init() < 0)
		return SENIM_ERR_CRYPTO;
	enum senim_result err = SENIM_ERR_NOMEM;
	struct hub *h = calloc(1, sizeof(*h));
	if (!h)
		return SENIM_ERR_NOMEM;
	h->r = r;
	int lock_made = 0;
	h->peers = calloc(r->n ? r->n : 1, sizeof(*h->peers));
	if (!h->peers)
		goto fail;
	long total = 0, widest = 1;
	for (size_t i = 0; i < r->n; i++) {
		struct hub_peer *p = &h->peers[i];
		p->rc = &r->recipients[i];
		breaker_init(&p->breaker, p->rc->breaker_failures,
			     p->rc->breaker_open_ms);
		atomic_init(&p->outstanding, 0);
		atomic_init(&p->in_flight_pub, 0);
		atomic_init(&p->state_pub, BREAKER_CLOSED);
		atomic_init(&p->available_from_ms, INT64_MIN);
		for (int c = 0; c < RETRY__COUNT; c++)
			atomic_init(&p->attempts_by[c], 0);
		p->free_easy = calloc(
			(size_t)(p->rc->max_in_flight > 0 ? p->rc->max_in_flight : 1),
			sizeof(CURL *));
		if (!p->free_easy)
			goto fail;
		if (p->rc->credentials) {
			err = read_auth(p);
			if (err)
				goto fail;
			err = SENIM_ERR_NOMEM;
		}
		total += p->rc->max_in_flight;
		if (p->rc->max_in_flight > widest)
			widest = p->rc->max_in_flight;
	}
	err = SENIM_ERR_UNAVAILABLE;
	h->multi = curl_multi_init();
	if (!h->multi)
		goto fail;
	/* Admission is ours (hub.h); these only back it up.  Connections are
	 * kept for every transfer that may run at once. */
	curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS, widest);
	curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, total > 0 ? total : 1L);
	if (pthread_mutex_init(&h->lock, NULL) != 0)
		goto fail;
	lock_made = 1;
	if (pthread_create(&h->thread, NULL, hub_main, h) != 0)
		goto fail;
	*out = h;
	return SENIM_OK;
fail:
	if (lock_made)
		pthread_mutex_destroy(&h->lock);
	if (h->multi)
		curl_multi_cleanup(h->multi);
	free_peers(h);
	free(h);
	return err;
}

/* ---- submitting --------------------------------------------------------------- */

/* 1 when s is 1..HUB_HEADER_VALUE_MAX visible ASCII bytes. */
static int header_value_ok(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++)
		if (n >= HUB_HEADER_VALUE_MAX || (unsigned char)s[n] < 0x21 ||
		    (unsigned char)s[n] > 0x7e)
			return 0;
	return n > 0;
}

static struct hub_peer *peer_of(struct hub *h, const struct recipient *rc)
{
	if (!rc)
		return NULL;
	for (size_t i = 0; i < h->r->n; i++)
		if (&h->r->recipients[i] == rc)
			return &h->peers[i];
	return NULL;
}

static void item_free(struct hub_item *it)
{
	if (!it)
		return;
	buf_release_wiped(&it->answer); /* the answer holds personal data */
	free(it->url);
	free(it);
}

/* The item for a call: its URL and header list.  NULL when out of memory. */
static struct hub_item *item_new(struct hub_peer *p, struct hub_call *call)
{
	struct hub_item *it = calloc(1, sizeof(*it));
	if (!it)
		return NULL;
	it->call = call;
	it->peer = p;
	it->code = RETRY_UNAVAILABLE;
	buf_init(&it->answer, HUB_ANSWER_MAX);
	const char *ep = p->rc->endpoint;
	size_t elen = strlen(ep), plen = strlen(call->path);
	while (elen > 0 && ep[elen - 1] == '/')
		elen--;
	it->url = malloc(elen + plen + 1);
	if (!it->url) {
		free(it);
		return NULL;
	}
	memcpy(it->url, ep, elen);
	memcpy(it->url + elen, call->path, plen + 1);
	snprintf(it->key_header, sizeof(it->key_header), "Idempotency-Key: %s",
		 call->idempotency_key);
	/* Built here rather than with curl_slist_append, which would copy the
	 * token into heap memory nobody wipes (as connectors/sms.c). */
	struct curl_slist *hd = it->headers;
	size_t n = 0;
	hd[n++].data = content_type;
	hd[n++].data = accept_json;
	hd[n++].data = no_expect;
	hd[n++].data = it->key_header;
	if (call->request_id) {
		snprintf(it->rid_header, sizeof(it->rid_header), "X-Request-Id: %s",
			 call->request_id);
		hd[n++].data = it->rid_header;
	}
	if (p->auth)
		hd[n++].data = p->auth;
	for (size_t i = 0; i + 1 < n; i++)
		hd[i].next = &hd[i + 1];
	hd[n - 1].next = NULL;
	return it;
}

enum senim_result hub_submit(struct hub *h, struct hub_call *call)
{
	if (!h || !call || !call->done || !call->path || call->path[0] != '/' ||
	    (call->get ? call->body != NULL : call->body == NULL) ||
	    (call->del && !call->get) || !call->idempotency_key ||
	    !header_value_ok(call->idempotency_key) ||
	    (call->request_id && !header_value_ok(call->request_id)) ||
	    call->max_attempts < 1)
		return SENIM_ERR_INVALID;
	struct hub_peer *p = peer_of(h, call->recipient);
	if (!p)
		return SENIM_ERR_INVALID;
	/* Beyond max_in_flight + max_queued calls outstanding, refuse at once:
	 * a caller waits for a slot no longer than a full queue takes. */
	int limit = p->rc->max_in_flight + p->rc->max_queued;
	if (atomic_fetch_add(&p->outstanding, 1) >= limit) {
		atomic_fetch_sub(&p->outstanding, 1);
		return SENIM_ERR_UNAVAILABLE;
	}
	struct hub_item *it = item_new(p, call);
	if (!it) {
		atomic_fetch_sub(&p->outstanding, 1);
		return SENIM_ERR_NOMEM;
	}
	call->item_ = it;
	pthread_mutex_lock(&h->lock);
	int stopping = h->stopping;
	if (!stopping) {
		if (h->incoming_tail)
			h->incoming_tail->next = it;
		else
			h->incoming_head = it;
		h->incoming_tail = it;
	}
	pthread_mutex_unlock(&h->lock);
	if (stopping) {
		call->item_ = NULL;
		item_free(it);
		atomic_fetch_sub(&p->outstanding, 1);
		return SENIM_ERR_UNAVAILABLE;
	}
	curl_multi_wakeup(h->multi);
	return SENIM_OK;
}

/* ---- the hub thread ------------------------------------------------------------ */

/* Hand the outcome to the caller; the item is gone afterwards. */
static void finish(struct hub_item *it)
{
	struct hub_call *call = it->call;
	struct hub_outcome o = {
		.code = it->code,
		.http_status = it->status,
		.curl_code = it->curl_code,
		.attempts = it->attempts,
		.may_have_reached = it->may_have_reached,
		.body = it->status ? it->answer.data : NULL,
		.body_len = it->status ? it->answer.len : 0,
	};
	atomic_fetch_sub(&it->peer->outstanding, 1);
	call->item_ = NULL;
	call->done(call, &o);
	item_free(it);
}

static size_t collect(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct hub_item *it = userdata;
	size_t n = size * nmemb;
	/* Less than given fails the transfer: an answer over the cap is not
	 * the API's answer. */
	if (buf_add(&it->answer, ptr, n)) {
		it->too_large = 1;
		return 0;
	}
	return n;
}

static void fifo_push(struct hub_peer *p, struct hub_item *it)
{
	it->next = NULL;
	if (p->fifo_tail)
		p->fifo_tail->next = it;
	else
		p->fifo_head = it;
	p->fifo_tail = it;
}

static void fifo_push_front(struct hub_peer *p, struct hub_item *it)
{
	it->next = p->fifo_head;
	p->fifo_head = it;
	if (!p->fifo_tail)
		p->fifo_tail = it;
}

/* The options of one attempt with `timeout_ms` left.  CURLE_OK or the
 * first failure. */
static CURLcode setup(CURL *e, struct hub_item *it, long timeout_ms)
{
	const struct recipient *rc = it->peer->rc;
	const struct hub_call *call = it->call;
	long connect_ms =
		rc->connect_timeout_ms < timeout_ms ? rc->connect_timeout_ms : timeout_ms;
	CURLcode c = CURLE_OK;
#define SET(opt, val)                                      \
	do {                                               \
		if (c == CURLE_OK)                         \
			c = curl_easy_setopt(e, opt, val); \
	} while (0)
	SET(CURLOPT_URL, it->url);
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85.0 */
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
#else
	SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_NOSIGNAL, 1L);
	if (call->get) {
		SET(CURLOPT_HTTPGET, 1L);
		if (call->del)
			SET(CURLOPT_CUSTOMREQUEST, "DELETE");
	} else {
		SET(CURLOPT_POST, 1L);
		SET(CURLOPT_POSTFIELDS, call->body);
		SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)call->body_len);
	}
	SET(CURLOPT_HTTPHEADER, it->headers);
	SET(CURLOPT_USERAGENT, "senim/" SENIM_VERSION);
	SET(CURLOPT_WRITEFUNCTION, collect);
	SET(CURLOPT_WRITEDATA, it);
	SET(CURLOPT_PRIVATE, it);
	SET(CURLOPT_TIMEOUT_MS, timeout_ms);
	SET(CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
	if (rc->client_cert) {
		SET(CURLOPT_SSLCERT, rc->client_cert);
		SET(CURLOPT_SSLKEY, rc->client_key);
	}
	if (rc->ca)
		SET(CURLOPT_CAINFO, rc->ca);
#undef SET
	return c;
}

/* Start the next attempt of `it` now; on failure it is finished. */
static void start_attempt(struct hub *h, struct hub_item *it, int64_t now_us)
{
	struct hub_peer *p = it->peer;
	int64_t left_ms = (it->call->deadline - now_us) / 1000;
	long timeout_ms = p->rc->timeout_ms < left_ms ? p->rc->timeout_ms : (long)left_ms;
	CURL *e = p->nfree > 0 ? p->free_easy[--p->nfree] : curl_easy_init();
	if (!e) {
		/* A probe that never went: the circuit re-opens rather than
		 * stay half-open with no probe out. */
		if (it->probe)
			breaker_record(&p->breaker, now_us / 1000, BREAKER_FAILURE, 1);
		log_event(LOG_ERROR, "hub_unavailable", "recipient", p->rc->code,
			  "reason", "curl_easy_init failed", NULL);
		finish(it);
		return;
	}
	curl_easy_reset(e);
	buf_reset(&it->answer);
	it->too_large = 0;
	if (setup(e, it, timeout_ms) != CURLE_OK ||
	    curl_multi_add_handle(h->multi, e) != CURLM_OK) {
		log_event(LOG_ERROR, "hub_unavailable", "recipient", p->rc->code,
			  "reason", "curl refused an option", NULL);
		if (it->probe)
			breaker_record(&p->breaker, now_us / 1000, BREAKER_FAILURE, 1);
		curl_easy_cleanup(e);
		finish(it);
		return;
	}
	it->easy = e;
	it->attempts++;
	it->prev_in_flight = NULL;
	it->next_in_flight = h->in_flight;
	if (h->in_flight)
		h->in_flight->prev_in_flight = it;
	h->in_flight = it;
	p->in_flight++;
}

/* Admit from each FIFO while the recipient is under max_in_flight; finish
 * the calls whose deadline passed while they waited. */
static void admit(struct hub *h)
{
	int64_t now_us = clock_mono_us();
	for (size_t i = 0; i < h->r->n; i++) {
		struct hub_peer *p = &h->peers[i];
		/* Sweep the passed deadlines: nobody waits for those. */
		struct hub_item **link = &p->fifo_head, *last = NULL;
		while (*link) {
			struct hub_item *it = *link;
			if ((it->call->deadline - now_us) / 1000 < HUB_MIN_ATTEMPT_MS) {
				*link = it->next;
				finish(it);
			} else {
				last = it;
				link = &it->next;
			}
		}
		p->fifo_tail = last;
		while (p->fifo_head && p->in_flight < p->rc->max_in_flight) {
			struct hub_item *it = p->fifo_head;
			p->fifo_head = it->next;
			if (!p->fifo_head)
				p->fifo_tail = NULL;
			if (!breaker_admit(&p->breaker, now_us / 1000, &it->probe)) {
				/* Open: at once, whatever the call's history. */
				if (it->attempts == 0)
					it->code = RETRY_UNAVAILABLE;
				finish(it);
				continue;
			}
			start_attempt(h, it, now_us);
		}
		publish(p);
	}
}

static void log_attempt(const struct hub_peer *p, const struct retry_verdict *v,
			long status)
{
	char s[24];
	snprintf(s, sizeof(s), "%ld", status);
	if (v->code == RETRY_TLS_VERIFY || v->code == RETRY_WRONG_SUBJECT)
		log_event(LOG_ERROR, "recipient_attempt_failed", "recipient", p->rc->code,
			  "result", retry_code_name(v->code), NULL);
	else if (status == 401 || status == 403)
		log_event(LOG_WARN, "recipient_auth_refused", "recipient", p->rc->code,
			  "http_status", s, NULL);
}

/* One attempt ended with `res`: classify it, count it, then retry later
 * or finish. */
static void attempt_done(struct hub *h, struct hub_item *it, CURLcode res)
{
	struct hub_peer *p = it->peer;
	CURL *e = it->easy;
	long status = 0, request_size = 0;
	curl_off_t retry_after = 0;
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(e, CURLINFO_RETRY_AFTER, &retry_after);
	curl_easy_getinfo(e, CURLINFO_REQUEST_SIZE, &request_size);
	curl_multi_remove_handle(h->multi, e);
	it->easy = NULL;
	if (p->nfree < p->rc->max_in_flight)
		p->free_easy[p->nfree++] = e;
	else
		curl_easy_cleanup(e);
	if (it->prev_in_flight)
		it->prev_in_flight->next_in_flight = it->next_in_flight;
	else
		h->in_flight = it->next_in_flight;
	if (it->next_in_flight)
		it->next_in_flight->prev_in_flight = it->prev_in_flight;
	p->in_flight--;

	struct retry_attempt a = {
		.curl_code = (int)res,
		.http_status = status,
		.retry_after_s = (int64_t)retry_after,
		.request_sent = request_size > 0,
		.too_large = it->too_large,
		.check = RETRY_CHECK_OK,
	};
	if (res == CURLE_OK && status >= 200 && status < 300 && !it->too_large &&
	    it->call->check)
		a.check = it->call->check(it->call, it->answer.data, it->answer.len);
	struct retry_verdict v;
	retry_classify(&a, &v);
	it->code = v.code;
	it->status = res == CURLE_OK ? status : 0;
	it->curl_code = (int)res;
	it->may_have_reached |= v.may_have_reached;
	atomic_fetch_add(&p->attempts_by[v.code], 1);
	log_attempt(p, &v, status);

	int64_t now = clock_mono_us();
	breaker_record(&p->breaker, now / 1000,
		       v.code == RETRY_OK  ? BREAKER_SUCCESS
		       : v.breaker_failure ? BREAKER_FAILURE
					   : BREAKER_NEUTRAL,
		       it->probe);
	it->probe = 0;
	publish(p);

	if (v.retry && it->attempts < it->call->max_attempts) {
		uint64_t rnd;
		randombytes_buf(&rnd, sizeof(rnd));
		int64_t pause = retry_backoff_ms(it->attempts, HUB_BACKOFF_BASE_MS,
						 HUB_BACKOFF_MAX_MS, rnd);
		if (pause < v.retry_after_ms)
			pause = v.retry_after_ms;
		if (now + (pause + HUB_MIN_ATTEMPT_MS) * 1000 <= it->call->deadline) {
			it->due = now + pause * 1000;
			it->next = h->timers;
			h->timers = it;
			return;
		}
	}
	finish(it);
}

/* Move the timers that are due to the front of their FIFO (they were
 * admitted once: they go before calls that never were).  Returns the
 * earliest remaining due time, or INT64_MAX. */
static int64_t fire_timers(struct hub *h, int64_t now_us)
{
	int64_t next = INT64_MAX;
	struct hub_item **link = &h->timers;
	while (*link) {
		struct hub_item *it = *link;
		if (it->due <= now_us) {
			*link = it->next;
			fifo_push_front(it->peer, it);
		} else {
			if (it->due < next)
				next = it->due;
			link = &it->next;
		}
	}
	return next;
}

static void collect_done(struct hub *h)
{
	CURLMsg *m;
	int left;
	while ((m = curl_multi_info_read(h->multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		/* m is invalid once the handle leaves the multi handle. */
		CURL *e = m->easy_handle;
		CURLcode res = m->data.result;
		struct hub_item *it = NULL;
		curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&it);
		attempt_done(h, it, res);
	}
}

/* The stop: every call still here is done, exactly once. */
static void abort_all(struct hub *h)
{
	while (h->in_flight) {
		struct hub_item *it = h->in_flight;
		h->in_flight = it->next_in_flight;
		curl_multi_remove_handle(h->multi, it->easy);
		struct hub_peer *p = it->peer;
		if (p->nfree < p->rc->max_in_flight)
			p->free_easy[p->nfree++] = it->easy;
		else
			curl_easy_cleanup(it->easy);
		it->easy = NULL;
		p->in_flight--;
		it->code = RETRY_UNAVAILABLE;
		it->status = 0;
		it->may_have_reached = 1;
		finish(it);
	}
	while (h->timers) {
		struct hub_item *it = h->timers;
		h->timers = it->next;
		it->code = RETRY_UNAVAILABLE;
		it->status = 0;
		finish(it);
	}
	for (size_t i = 0; i < h->r->n; i++) {
		struct hub_peer *p = &h->peers[i];
		while (p->fifo_head) {
			struct hub_item *it = p->fifo_head;
			p->fifo_head = it->next;
			it->code = RETRY_UNAVAILABLE;
			it->status = 0;
			finish(it);
		}
		p->fifo_tail = NULL;
		publish(p);
	}
}

static void *hub_main(void *arg)
{
	struct hub *h = arg;
	for (;;) {
		pthread_mutex_lock(&h->lock);
		struct hub_item *in = h->incoming_head;
		h->incoming_head = h->incoming_tail = NULL;
		int stopping = h->stopping;
		pthread_mutex_unlock(&h->lock);
		while (in) {
			struct hub_item *next = in->next;
			fifo_push(in->peer, in);
			in = next;
		}
		if (stopping) {
			abort_all(h);
			break;
		}
		fire_timers(h, clock_mono_us());
		admit(h);
		int running = 0;
		curl_multi_perform(h->multi, &running);
		collect_done(h);
		/* Slots freed and retries due now go at once. */
		int64_t now = clock_mono_us();
		int64_t next = fire_timers(h, now);
		admit(h);
		curl_multi_perform(h->multi, &running);

		int64_t wait_ms = HUB_IDLE_MS;
		for (size_t i = 0; i < h->r->n; i++)
			if (h->peers[i].fifo_head)
				wait_ms = HUB_SWEEP_MS;
		if (next != INT64_MAX) {
			int64_t due_ms = (next - now + 999) / 1000;
			if (due_ms < wait_ms)
				wait_ms = due_ms > 0 ? due_ms : 0;
		}
		curl_multi_poll(h->multi, NULL, 0, (int)wait_ms, NULL);
	}
	return NULL;
}

void hub_stop(struct hub *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&h->lock);
	h->stopping = 1;
	pthread_mutex_unlock(&h->lock);
	curl_multi_wakeup(h->multi);
	pthread_join(h->thread, NULL);
	pthread_mutex_destroy(&h->lock);
	curl_multi_cleanup(h->multi);
	free_peers(h);
	free(h);
}

/* ---- what other threads read --------------------------------------------------- */

int hub_recipient_available(struct hub *h, const struct recipient *rc, int *retry_after_s)
{
	if (retry_after_s)
		*retry_after_s = 0;
	struct hub_peer *p = h ? peer_of(h, rc) : NULL;
	if (!p)
		return 0;
	int64_t from = atomic_load(&p->available_from_ms);
	int64_t now = now_ms();
	if (now >= from)
		return 1;
	if (retry_after_s) {
		int64_t s = from == INT64_MAX ? 1 : (from - now + 999) / 1000;
		*retry_after_s = s < 1 ? 1 : s > 3600 ? 3600 : (int)s;
	}
	return 0;
}

enum senim_result hub_metrics(struct hub *h, struct buf *out)
{
	enum senim_result err = SENIM_OK;
	if (!h)
		return SENIM_OK;
	err = buf_addstr(out, "# TYPE senim_recipient_in_flight gauge\n");
	for (size_t i = 0; i < h->r->n && !err; i++)
		err = buf_addf(out, "senim_recipient_in_flight{recipient=\"%s\"} %d\n",
			       h->peers[i].rc->code,
			       atomic_load(&h->peers[i].in_flight_pub));
	if (!err)
		err = buf_addstr(out, "# TYPE senim_recipient_circuit_state gauge\n");
	for (size_t i = 0; i < h->r->n && !err; i++)
		err = buf_addf(out,
			       "senim_recipient_circuit_state{recipient=\"%s\"} %d\n",
			       h->peers[i].rc->code, atomic_load(&h->peers[i].state_pub));
	if (!err)
		err = buf_addstr(out, "# TYPE senim_transfer_attempts_total counter\n");
	for (size_t i = 0; i < h->r->n && !err; i++)
		for (int c = 0; c < RETRY__COUNT && !err; c++) {
			if (c == RETRY_UNAVAILABLE)
				continue; /* not an attempt */
			err = buf_addf(out,
				       "senim_transfer_attempts_total{recipient=\"%s\","
				       "result=\"%s\"} "
				       "%llu\n",
				       h->peers[i].rc->code,
				       retry_code_name((enum retry_code)c),
				       (unsigned long long)atomic_load(
					       &h->peers[i].attempts_by[c]));
		}
	return err;
}
