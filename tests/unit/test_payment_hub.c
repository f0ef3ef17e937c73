/*
 * test_payment_hub.c — payout/1 end to end at the transport: requests
 * built by connectors/payment.h, sent through the connector hub
 * (connectors/hub.h) to tests/peers/payment_provider.py on 127.0.0.1, and
 * their answers checked by payment_payout_parse().  What the peer received
 * (/_control/requests) and what it paid (/_control/payouts) show:
 *   - a payout goes once, under its operation key as the Idempotency-Key
 *     and in the body;
 *   - a 500 is retried under the same key, and a provider that paid and
 *     then failed to answer is asked again and pays once;
 *   - an answer with another amount or operation key is refused, not
 *     retried;
 *   - after a timeout the payout is asked about (a GET through the hub),
 *     never sent under a new key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "connectors/hub.h"
#include "connectors/payment.h"
#include "testutil.h"
#include "common/banned.h"

#define PATH_LEN 1024
#define PYTHON "/usr/bin/python3"
#define PEER_START_MS 10000
#define PEER_STOP_MS 5000
#define AMOUNT 15000000

/* ---- the peer ---------------------------------------------------------------- */

struct peer {
	pid_t pid;
	int port;
};

static void source_path(char *out, size_t size, const char *rel)
{
	const char *src = getenv("SENIM_SOURCE_DIR");
	if (src && *src) {
		snprintf(out, size, "%s/%s", src, rel);
		return;
	}
	const char *tail = strstr(__FILE__, "tests/unit/test_payment_hub.c");
	int keep = tail ? (int)(tail - __FILE__) : 0;
	snprintf(out, size, "%.*s%s", keep, __FILE__, rel);
}

static int peer_start(struct peer *p)
{
	char script[PATH_LEN];
	source_path(script, sizeof(script), "tests/peers/payment_provider.py");
	p->pid = -1;
	p->port = 0;
	int fds[2];
	if (pipe(fds) != 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
		int null = open("/dev/null", O_RDONLY);
		if (null >= 0)
			dup2(null, 0);
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		char *argv[] = { PYTHON, script, "--port", "0", NULL };
		execv(PYTHON, argv);
		_exit(127);
	}
	close(fds[1]);
	p->pid = pid;
	char line[256];
	size_t len = 0;
	int64_t until = clock_mono_us() + (int64_t)PEER_START_MS * 1000;
	while (len < sizeof(line) - 1 && !memchr(line, '\n', len)) {
		int left = (int)((until - clock_mono_us()) / 1000);
		struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
		if (left <= 0 || poll(&pfd, 1, left) <= 0)
			break;
		ssize_t n = read(fds[0], line + len, sizeof(line) - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fds[0]);
	line[len] = '\0';
	const char *prefix = "listening on 127.0.0.1:";
	if (strncmp(line, prefix, strlen(prefix)) != 0)
		return -1;
	p->port = (int)strtol(line + strlen(prefix), NULL, 10);
	return p->port > 0 ? 0 : -1;
}

static void peer_stop(struct peer *p)
{
	if (p->pid <= 0)
		return;
	int status = 0;
	kill(p->pid, SIGTERM);
	int64_t until = clock_mono_us() + (int64_t)PEER_STOP_MS * 1000;
	for (;;) {
		pid_t r = waitpid(p->pid, &status, WNOHANG);
		if (r == p->pid)
			break;
		if (r < 0 || clock_mono_us() > until) {
			kill(p->pid, SIGKILL);
			(void)waitpid(p->pid, &status, 0);
			break;
		}
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	p->pid = -1;
}

static size_t collect(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	return buf_add(userdata, ptr, size * nmemb) ? 0 : size * nmemb;
}

/* A control request: its status, and the parsed answer in *out. */
static long peer_http(const struct peer *p, const char *method, const char *path,
		      const char *body, json_t **out)
{
	char url[256];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", p->port, path);
	struct buf b;
	buf_init(&b, 16 << 20);
	CURL *h = curl_easy_init();
	assert_non_null(h);
	struct curl_slist *hdr =
		curl_slist_append(NULL, "Content-Type: application/json");
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	if (body)
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	assert_int_equal(curl_easy_perform(h), CURLE_OK);
	long status = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(h);
	curl_slist_free_all(hdr);
	if (out) {
		*out = json_loadb(b.data, b.len, 0, NULL);
		assert_non_null(*out);
	}
	buf_release(&b);
	return status;
}

static void peer_post(const struct peer *p, const char *path, const char *json)
{
	assert_int_equal(peer_http(p, "POST", path, json, NULL), 200);
}

/* The requests the peer received at `path` (a new reference). */
static json_t *peer_requests(const struct peer *p)
{
	json_t *j = NULL;
	assert_int_equal(peer_http(p, "GET", "/_control/requests", NULL, &j), 200);
	json_t *r = json_incref(json_object_get(j, "requests"));
	json_decref(j);
	return r;
}

/* The payouts the peer made (a new reference). */
static json_t *peer_payouts(const struct peer *p)
{
	json_t *j = NULL;
	assert_int_equal(peer_http(p, "GET", "/_control/payouts", NULL, &j), 200);
	json_t *r = json_incref(json_object_get(j, "payouts"));
	json_decref(j);
	return r;
}

/* ---- calls ----------------------------------------------------------------------- */

static char endpoint[128];

static struct recipients *recipients_for(const struct peer *p)
{
	struct recipients *r = calloc(1, sizeof(*r));
	assert_non_null(r);
	r->n = 1;
	struct recipient *rc = &r->recipients[0];
	snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%d", p->port);
	rc->code = "payments";
	rc->endpoint = endpoint;
	rc->connect_timeout_ms = 1000;
	rc->timeout_ms = 3000;
	rc->max_in_flight = 32;
	rc->max_queued = 256;
	rc->breaker_failures = 5;
	rc->breaker_open_ms = 5000;
	return r;
}

struct pcall {
	struct hub_call call;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int done;
	struct hub_outcome out;
	char key[PAYMENT_KEY_SIZE];
	char path[PAYMENT_STATUS_PATH_SIZE];
	char *body;
	/* the codec's verdict on the last 2xx answer */
	struct codec_verdict v;
	struct payment_answer a;
};

static void on_done(struct hub_call *call, const struct hub_outcome *o)
{
	struct pcall *t = (struct pcall *)call;
	pthread_mutex_lock(&t->lock);
	t->done++;
	t->out = *o;
	t->out.body = NULL;
	pthread_cond_broadcast(&t->cond);
	pthread_mutex_unlock(&t->lock);
}

static enum retry_check check_payout(struct hub_call *call, const char *body, size_t len)
{
	struct pcall *t = (struct pcall *)call;
	if (payment_payout_parse(body, len, t->key, AMOUNT, time(NULL), &t->a, &t->v))
		return RETRY_CHECK_INVALID;
	return t->v.status == CODEC_OK		    ? RETRY_CHECK_OK
	       : t->v.status == CODEC_WRONG_SUBJECT ? RETRY_CHECK_WRONG_SUBJECT
						    : RETRY_CHECK_INVALID;
}

/* A card payout of AMOUNT under key number n; get: its status instead. */
static void pcall_init(struct pcall *t, const struct recipients *r, int n, int get,
		       int64_t deadline_ms, int max_attempts)
{
	memset(t, 0, sizeof(*t));
	pthread_mutex_init(&t->lock, NULL);
	pthread_cond_init(&t->cond, NULL);
	snprintf(t->key, sizeof(t->key), "pyo_AZP6o5h8cQ2v7kV1hM3s%02d", n);
	t->call.recipient = &r->recipients[0];
	if (get) {
		assert_int_equal(payment_status_path(t->key, t->path), 1);
		t->call.path = t->path;
		t->call.get = 1;
	} else {
		struct payment_payout p = { .operation_key = t->key,
					    .amount_tiyn = AMOUNT,
					    .contract_ref = "MK-2026-000123",
					    .dest = PAYMENT_DEST_CARD_TOKEN,
					    .card_token = "tok_4f9a2c7e1b3d5a6c" };
		json_t *j = NULL;
		assert_int_equal(payment_payout_request(&p, &j, NULL), SENIM_OK);
		t->body = json_dumps(j, CODEC_DUMP_FLAGS);
		json_decref(j);
		t->call.path = PAYMENT_PATH;
		t->call.body = t->body;
		t->call.body_len = strlen(t->body);
	}
	t->call.idempotency_key = t->key;
	t->call.request_id = "req-payment-test";
	t->call.deadline = clock_mono_us() + deadline_ms * 1000;
	t->call.max_attempts = max_attempts;
	t->call.check = check_payout;
	t->call.done = on_done;
}

static int pcall_wait(struct pcall *t, int ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&t->lock);
	while (!t->done && pthread_cond_timedwait(&t->cond, &t->lock, &ts) == 0)
		;
	int d = t->done;
	pthread_mutex_unlock(&t->lock);
	return d;
}

static void pcall_release(struct pcall *t)
{
	free(t->body);
	pthread_mutex_destroy(&t->lock);
	pthread_cond_destroy(&t->cond);
}

/* Every request the peer got carried `key` as its Idempotency-Key and, for
 * a POST, in its body. */
static void all_under_key(json_t *reqs, const char *key)
{
	size_t i;
	json_t *q;
	json_array_foreach(reqs, i, q)
	{
		json_t *hd = json_object_get(q, "headers");
		assert_string_equal(
			json_string_value(json_object_get(hd, "Idempotency-Key")), key);
		json_t *b = json_object_get(q, "body");
		if (strcmp(json_string_value(json_object_get(q, "method")), "POST") == 0)
			assert_string_equal(
				json_string_value(json_object_get(b, "operation_key")),
				key);
	}
}

/* ---- tests ------------------------------------------------------------------------- */

static int group_setup(void **state)
{
	(void)state;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	curl_global_cleanup();
	return 0;
}

static void test_payout_once(void **state)
{
	(void)state;
	struct peer p;
	assert_int_equal(peer_start(&p), 0);
	struct recipients *r = recipients_for(&p);
	struct hub *h = NULL;
	assert_int_equal(hub_start(r, &h), SENIM_OK);
	struct pcall t;
	pcall_init(&t, r, 1, 0, 10000, 3);
	assert_int_equal(hub_submit(h, &t.call), SENIM_OK);
	assert_int_equal(pcall_wait(&t, 15000), 1);
	assert_int_equal(t.out.code, RETRY_OK);
	assert_int_equal(t.out.attempts, 1);
	assert_int_equal(t.v.status, CODEC_OK);
	assert_int_equal(t.a.status, PAYMENT_COMPLETED);
	assert_string_equal(t.a.provider_ref, "PP-00000001");
	json_t *reqs = peer_requests(&p);
	assert_int_equal(json_array_size(reqs), 1);
	all_under_key(reqs, t.key);
	/* What left: the payout's fields, no IIN for a card. */
	json_t *body = json_object_get(json_array_get(reqs, 0), "body");
	assert_int_equal(json_object_size(body), 5);
	assert_null(json_object_get(json_object_get(body, "destination"), "holder_iin"));
	json_decref(reqs);
	json_t *pays = peer_payouts(&p);
	assert_int_equal(json_array_size(pays), 1);
	assert_int_equal(json_integer_value(
				 json_object_get(json_array_get(pays, 0), "amount_tiyn")),
			 AMOUNT);
	json_decref(pays);
	hub_stop(h);
	pcall_release(&t);
	free(r);
	peer_stop(&p);
}

static void test_500_retried_under_the_key_pays_once(void **state)
{
	(void)state;
	struct peer p;
	assert_int_equal(peer_start(&p), 0);
	struct recipients *r = recipients_for(&p);
	struct hub *h = NULL;
	assert_int_equal(hub_start(r, &h), SENIM_OK);
	/* First a provider that fails before paying, then one that pays and
	 * loses its answer: either way two requests, one key, one payout. */
	static const struct {
		const char *path, *body;
	} faults[] = {
		{ "/_control/mode",
		  "{\"mode\":\"fail\",\"fail_count\":1,\"status\":500}" },
		{ "/_control/payment", "{\"pay_then_fail\":1}" },
	};
	for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++) {
		peer_post(&p, "/_control/reset", "{}");
		peer_post(&p, faults[i].path, faults[i].body);
		struct pcall t;
		pcall_init(&t, r, 2 + (int)i, 0, 15000, 3);
		assert_int_equal(hub_submit(h, &t.call), SENIM_OK);
		assert_int_equal(pcall_wait(&t, 20000), 1);
		assert_int_equal(t.out.code, RETRY_OK);
		assert_int_equal(t.out.attempts, 2);
		assert_int_equal(t.v.status, CODEC_OK);
		json_t *reqs = peer_requests(&p);
		assert_int_equal(json_array_size(reqs), 2);
		all_under_key(reqs, t.key);
		json_decref(reqs);
		json_t *pays = peer_payouts(&p);
		assert_int_equal(json_array_size(pays), 1);
		json_t *one = json_array_get(pays, 0);
		assert_string_equal(
			json_string_value(json_object_get(one, "operation_key")), t.key);
		/* Paid once; with pay_then_fail both requests reached it. */
		assert_int_equal(json_integer_value(json_object_get(one, "requests")),
				 (json_int_t)i + 1);
		json_decref(pays);
		pcall_release(&t);
	}
	hub_stop(h);
	free(r);
	peer_stop(&p);
}

static void test_lying_answers_refused(void **state)
{
	(void)state;
	struct peer p;
	assert_int_equal(peer_start(&p), 0);
	struct recipients *r = recipients_for(&p);
	struct hub *h = NULL;
	assert_int_equal(hub_start(r, &h), SENIM_OK);
	static const struct {
		const char *mode;
		enum retry_code code;
		int attempts;
		const char *reason;
	} cases[] = {
		{ "{\"mode\":\"lie\",\"lie\":\"other_amount\"}", RETRY_WRONG_SUBJECT, 1,
		  "amount_tiyn is not the amount sent" },
		{ "{\"mode\":\"wrong_person\"}", RETRY_WRONG_SUBJECT, 1,
		  "operation_key is not the payout sent" },
		/* Malformed: asked again under the same key, still refused. */
		{ "{\"mode\":\"lie\",\"lie\":\"unknown_status\"}", RETRY_INVALID_ANSWER,
		  2, "status is not one of the API's values" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		peer_post(&p, "/_control/reset", "{}");
		peer_post(&p, "/_control/mode", cases[i].mode);
		struct pcall t;
		pcall_init(&t, r, 10 + (int)i, 0, 10000, 2);
		assert_int_equal(hub_submit(h, &t.call), SENIM_OK);
		assert_int_equal(pcall_wait(&t, 15000), 1);
		if (t.out.code != cases[i].code || t.out.attempts != cases[i].attempts)
			fail_msg("%s: %s after %d attempts", cases[i].mode,
				 retry_code_name(t.out.code), t.out.attempts);
		assert_string_equal(t.v.reason, cases[i].reason);
		assert_string_equal(t.a.provider_ref, "");
		json_t *reqs = peer_requests(&p);
		all_under_key(reqs, t.key);
		json_decref(reqs);
		pcall_release(&t);
	}
	hub_stop(h);
	free(r);
	peer_stop(&p);
}

static void test_timeout_then_asked_not_resent(void **state)
{
	(void)state;
	struct peer p;
	assert_int_equal(peer_start(&p), 0);
	struct recipients *r = recipients_for(&p);
	struct hub *h = NULL;
	assert_int_equal(hub_start(r, &h), SENIM_OK);
	/* Not yet sent: the provider knows no such payout. */
	struct pcall q;
	pcall_init(&q, r, 20, 1, 10000, 2);
	assert_int_equal(hub_submit(h, &q.call), SENIM_OK);
	assert_int_equal(pcall_wait(&q, 15000), 1);
	assert_int_equal(q.out.code, RETRY_HTTP_4XX);
	assert_int_equal(q.out.http_status, 404);
	pcall_release(&q);
	/* Accepted, but the answer comes after the deadline. */
	peer_post(&p, "/_control/mode", "{\"mode\":\"slow\",\"delay_ms\":1500}");
	struct pcall t;
	pcall_init(&t, r, 20, 0, 500, 1);
	assert_int_equal(hub_submit(h, &t.call), SENIM_OK);
	assert_int_equal(pcall_wait(&t, 10000), 1);
	assert_int_equal(t.out.code, RETRY_TRANSPORT);
	assert_int_equal(t.out.may_have_reached, 1);
	/* The payout may have reached it: ask, under the same key. */
	peer_post(&p, "/_control/mode", "{\"mode\":\"ok\"}");
	int64_t until = clock_mono_us() + 5000 * 1000;
	json_t *pays = peer_payouts(&p);
	while (json_array_size(pays) == 0 && clock_mono_us() < until) {
		json_decref(pays);
		struct timespec ts = { 0, 50 * 1000 * 1000 };
		nanosleep(&ts, NULL);
		pays = peer_payouts(&p);
	}
	assert_int_equal(json_array_size(pays), 1);
	json_decref(pays);
	struct pcall s;
	pcall_init(&s, r, 20, 1, 10000, 2);
	assert_int_equal(hub_submit(h, &s.call), SENIM_OK);
	assert_int_equal(pcall_wait(&s, 15000), 1);
	assert_int_equal(s.out.code, RETRY_OK);
	assert_int_equal(s.v.status, CODEC_OK);
	assert_int_equal(s.a.status, PAYMENT_COMPLETED);
	json_t *reqs = peer_requests(&p);
	size_t n = json_array_size(reqs);
	assert_int_equal(n, 3); /* GET 404, POST, GET */
	all_under_key(reqs, t.key);
	int posts = 0;
	for (size_t i = 0; i < n; i++)
		posts += strcmp(json_string_value(json_object_get(json_array_get(reqs, i),
								  "method")),
				"POST") == 0;
	assert_int_equal(posts, 1);
	json_decref(reqs);
	pcall_release(&t);
	pcall_release(&s);
	/* A GET with a body, or a POST without one, is refused. */
	struct pcall bad;
	pcall_init(&bad, r, 21, 1, 1000, 1);
	bad.call.body = "{}";
	bad.call.body_len = 2;
	assert_int_equal(hub_submit(h, &bad.call), SENIM_ERR_INVALID);
	bad.call.get = 0;
	bad.call.body = NULL;
	assert_int_equal(hub_submit(h, &bad.call), SENIM_ERR_INVALID);
	pcall_release(&bad);
	hub_stop(h);
	free(r);
	peer_stop(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_payout_once),
		cmocka_unit_test(test_500_retried_under_the_key_pays_once),
		cmocka_unit_test(test_lying_answers_refused),
		cmocka_unit_test(test_timeout_then_asked_not_resent),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
