/*
 * test_hub.c — the connector hub (connectors/hub.h) against
 * tests/peers/credit_bureau.py, started per test on 127.0.0.1 and steered
 * through its /_control/ endpoints: success with a bearer token, retries
 * under one Idempotency-Key, a 4xx not retried, a caller's verdict on the
 * answer, a slow peer past the deadline, the breaker opening and closing
 * through half-open, 200 calls never more than max_in_flight at the peer,
 * a full queue, mutual TLS with and without a client certificate, a server
 * certificate from another CA, and a stop with calls in flight.
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "connectors/hub.h"
#include "testutil.h"
#include "common/banned.h"

#define PATH_LEN 1024
#define PYTHON "/usr/bin/python3"
#define TOKEN "hub-test-token-7d1e"
#define IIN "870412341502"
#define PEER_START_MS 10000
#define PEER_STOP_MS 5000
#define REPORT_BODY                                                              \
	"{\"iin\":\"" IIN "\",\"purpose\":\"loan_application_review\","          \
	"\"consent\":{\"id\":\"cns_1\",\"granted_at\":\"2026-01-10T08:00:00Z\"," \
	"\"receipt_sha256\":\"" HEX64 "\"}}"
#define HEX64 "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

/* ---- the test CA, made once ------------------------------------------------ */

static char tmpdir[PATH_LEN / 2];
static char ca_crt[PATH_LEN], server_crt[PATH_LEN], server_key[PATH_LEN];
static char client_crt[PATH_LEN], client_key[PATH_LEN];
static char other_crt[PATH_LEN], other_key[PATH_LEN];
static char token_file[PATH_LEN];

static void source_path(char *out, size_t size, const char *rel)
{
	const char *src = getenv("SENIM_SOURCE_DIR");
	if (src && *src) {
		snprintf(out, size, "%s/%s", src, rel);
		return;
	}
	const char *tail = strstr(__FILE__, "tests/unit/test_hub.c");
	int keep = tail ? (int)(tail - __FILE__) : 0;
	snprintf(out, size, "%.*s%s", keep, __FILE__, rel);
}

static int run(char *const argv[])
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0)
			dup2(null, 1);
		execv(argv[0], argv);
		_exit(127);
	}
	int status = 0;
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static int group_setup(void **state)
{
	(void)state;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (testutil_tmpdir("hub", tmpdir, sizeof(tmpdir)) != 0)
		return -1;
	char script[PATH_LEN], dir[PATH_LEN / 2 + 8];
	source_path(script, sizeof(script), "tests/peers/testca.py");
	snprintf(dir, sizeof(dir), "%s/ca", tmpdir);
	char *argv[] = { PYTHON, script, dir, NULL };
	if (run(argv) != 0)
		return -1;
	snprintf(ca_crt, sizeof(ca_crt), "%s/ca.crt", dir);
	snprintf(server_crt, sizeof(server_crt), "%s/server.crt", dir);
	snprintf(server_key, sizeof(server_key), "%s/server.key", dir);
	snprintf(client_crt, sizeof(client_crt), "%s/client.crt", dir);
	snprintf(client_key, sizeof(client_key), "%s/client.key", dir);
	snprintf(other_crt, sizeof(other_crt), "%s/other-ca/server.crt", dir);
	snprintf(other_key, sizeof(other_key), "%s/other-ca/server.key", dir);
	snprintf(token_file, sizeof(token_file), "%s/token", tmpdir);
	int fd = open(token_file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, TOKEN "\n", sizeof(TOKEN)) != (ssize_t)sizeof(TOKEN))
		return -1;
	close(fd);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	testutil_rm_rf(tmpdir);
	curl_global_cleanup();
	return 0;
}

/* ---- the peer ---------------------------------------------------------------- */

enum peer_tls {
	PEER_PLAIN,
	PEER_TLS,
	PEER_MTLS,
	PEER_OTHER_CA
};

struct peer {
	pid_t pid;
	int port;
	enum peer_tls tls;
};

static int peer_start(struct peer *p, enum peer_tls tls, const char *token)
{
	char script[PATH_LEN];
	source_path(script, sizeof(script), "tests/peers/credit_bureau.py");
	p->pid = -1;
	p->port = 0;
	p->tls = tls;
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
		char *argv[16];
		int n = 0;
		argv[n++] = PYTHON;
		argv[n++] = script;
		argv[n++] = "--port";
		argv[n++] = "0";
		if (token) {
			argv[n++] = "--token";
			argv[n++] = (char *)token;
		}
		if (tls != PEER_PLAIN) {
			argv[n++] = "--tls-cert";
			argv[n++] = tls == PEER_OTHER_CA ? other_crt : server_crt;
			argv[n++] = "--tls-key";
			argv[n++] = tls == PEER_OTHER_CA ? other_key : server_key;
		}
		if (tls == PEER_MTLS) {
			argv[n++] = "--client-ca";
			argv[n++] = ca_crt;
		}
		argv[n] = NULL;
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

/* A control request; the status, and the parsed answer in *out. */
static long peer_http(const struct peer *p, const char *method, const char *path,
		      const char *body, json_t **out)
{
	char url[256];
	snprintf(url, sizeof(url), "%s://127.0.0.1:%d%s",
		 p->tls == PEER_PLAIN ? "http" : "https", p->port, path);
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
	if (p->tls == PEER_OTHER_CA)
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
	else if (p->tls != PEER_PLAIN)
		curl_easy_setopt(h, CURLOPT_CAINFO, ca_crt);
	if (p->tls == PEER_MTLS) {
		curl_easy_setopt(h, CURLOPT_SSLCERT, client_crt);
		curl_easy_setopt(h, CURLOPT_SSLKEY, client_key);
	}
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

static void peer_mode(const struct peer *p, const char *json)
{
	assert_int_equal(peer_http(p, "POST", "/_control/mode", json, NULL), 200);
}

static long long peer_get(const struct peer *p, const char *path, const char *name)
{
	json_t *j = NULL;
	assert_int_equal(peer_http(p, "GET", path, NULL, &j), 200);
	long long v = json_integer_value(json_object_get(j, name));
	json_decref(j);
	return v;
}

static long long peer_stat(const struct peer *p, const char *name)
{
	return peer_get(p, "/_control/stats", name);
}

/* ---- recipients and calls ------------------------------------------------------ */

static char endpoint[128];

/* One recipient "pkb" at the peer, with the file's defaults. */
static struct recipients *recipients_for(const struct peer *p)
{
	struct recipients *r = calloc(1, sizeof(*r));
	assert_non_null(r);
	r->n = 1;
	struct recipient *rc = &r->recipients[0];
	snprintf(endpoint, sizeof(endpoint), "%s://127.0.0.1:%d/",
		 p->tls == PEER_PLAIN ? "http" : "https", p->port);
	rc->code = "pkb";
	rc->endpoint = endpoint;
	rc->connect_timeout_ms = 1000;
	rc->timeout_ms = 3000;
	rc->max_in_flight = 32;
	rc->max_queued = 256;
	rc->breaker_failures = 5;
	rc->breaker_open_ms = 5000;
	if (p->tls != PEER_PLAIN)
		rc->ca = ca_crt;
	return r;
}

struct tcall {
	struct hub_call call;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int done; /* times done ran */
	struct hub_outcome out;
	char body[4096];
	char key[64];
};

static void on_done(struct hub_call *call, const struct hub_outcome *o)
{
	struct tcall *t = (struct tcall *)call;
	pthread_mutex_lock(&t->lock);
	t->done++;
	t->out = *o;
	size_t n = o->body_len < sizeof(t->body) - 1 ? o->body_len : sizeof(t->body) - 1;
	if (o->body)
		memcpy(t->body, o->body, n);
	t->body[o->body ? n : 0] = '\0';
	t->out.body = NULL;
	pthread_cond_broadcast(&t->cond);
	pthread_mutex_unlock(&t->lock);
}

/* The caller's verdict: the answer is JSON about the IIN asked. */
static enum retry_check check_report(struct hub_call *call, const char *body, size_t len)
{
	(void)call;
	json_t *j = json_loadb(body, len, 0, NULL);
	if (!j)
		return RETRY_CHECK_INVALID;
	const char *iin = json_string_value(json_object_get(j, "iin"));
	enum retry_check c = !iin		     ? RETRY_CHECK_INVALID
			     : strcmp(iin, IIN) == 0 ? RETRY_CHECK_OK
						     : RETRY_CHECK_WRONG_SUBJECT;
	json_decref(j);
	return c;
}

static void tcall_init(struct tcall *t, const struct recipients *r, int n,
		       int64_t deadline_ms, int max_attempts)
{
	memset(t, 0, sizeof(*t));
	pthread_mutex_init(&t->lock, NULL);
	pthread_cond_init(&t->cond, NULL);
	snprintf(t->key, sizeof(t->key), "trf_test%06d", n);
	t->call.recipient = &r->recipients[0];
	t->call.path = "/v1/credit-reports";
	t->call.body = REPORT_BODY;
	t->call.body_len = strlen(REPORT_BODY);
	t->call.idempotency_key = t->key;
	t->call.request_id = "req-hub-test";
	t->call.deadline = clock_mono_us() + deadline_ms * 1000;
	t->call.max_attempts = max_attempts;
	t->call.check = check_report;
	t->call.done = on_done;
}

/* Wait up to `ms` for done; returns how often it ran. */
static int tcall_wait(struct tcall *t, int ms)
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

static void tcall_release(struct tcall *t)
{
	pthread_mutex_destroy(&t->lock);
	pthread_cond_destroy(&t->cond);
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* ---- tests --------------------------------------------------------------------- */

static void test_success_with_token(void **state)
{
	(void)state;
	struct peer p;
	assert_int_equal(peer_start(&p, PEER_PLAIN, TOKEN), 0);
	struct recipients *r = recipients_for(&p);
	r->recipients[0].credentials = token_file;
	struct hub *h = NULL;
	assert_int_equal(hub_start(r, &h), SENIM_OK);
	assert_true(hub_recipient_available(h, &r->recipients[0], NULL));
	struct tcall t;
	tcall_init(&t, r, 1, 5000, 2);
	assert_int_equal(hub_submit(h, &t.call), SENIM_OK);
	assert_int_equal(tcall_wait(&t, 10000), 1);
	assert_int_equal(t.out.code, RETRY_OK);
	assert_int_equal(t.out.http_status, 200);
	assert_int_equal(t.out.attempts, 1);
	assert_int_equal(t.out.may_have_reached, 1);
	assert_non_null(strstr(t.body, "\"report_id\""));

	json_t *j = NULL;
	assert_int_equal(peer_http(&p, "GET", "/_control/requests", NULL, &j), 200);
	json_t *req = json_array_get(json_object_get(j, "requests"), 0);
	json_t *hd = json_object_get(req, "headers");
	assert_string_equal(json_string_value(json_object_get(hd, "Authorization")),
			    "present");
	assert_string_equal(json_string_value(json_object_get(hd, "Idempotency-Key")),
			    "trf_test000001");
	assert_string_equal(json_string_value(json_object_get(hd, "X-Request-Id")),
			    "req-hub-test");
	json_decref(j);

	struct buf m;
	buf_init(&m, 1 << 16);
	assert_int_equal(hub_metrics(h, &m), SENIM_OK);
	assert_non_null(strstr(
		m.data,
		"senim_transfer_attempts_total{recipient=\"pkb\",result=\"ok\"} 1\n"));
	assert_non_null(
		strstr(m.data, "senim_recipient_in_flight{recipient=\"pkb\"} 0\n"));
	buf_release(&m);
	hub_stop(h);
	tcall_release(&t);
	free(r);
	peer_stop(&p);
}

static void test_wrong_token_is_4xx_not_retried(void **state)
{
	(void)state;
	struct peer p;
	assert_int_equal(peer_start(&p, PEER_PLAIN, "another-token"), 0);
	struct recipients *r = recipients_for(&p);
	r->recipients[0].credentials = token_file;
	struct hub *h = NULL;
	assert_int_equal(hub_start(r, &h), SENIM_OK);
	struct tcall t;
	tcall_init(&t, r, 1, 5000, 3);
	assert_int_equal(hub_submit(h, &t.call), SENIM_OK);
	assert_int_equal(tcall_wait(&t, 10000), 1);
	assert_int_equal(t.out.code, RETRY_HTTP_4XX);
	assert_int_equal(t.out.http_status, 401);
	assert_int_equal(t.out.attempts, 1);
	assert_int_equal(peer_stat(&p, "attempts"), 1);
	hub_stop(h);
	tcall_release(&t);
	free(r);
	peer_stop(&p);
}

static void test_retries_keep_the_key(void **state)
{
	(void)state;
	struct peer p;
	assert_int_equal(peer_start(&p, PEER_PLAIN, NULL), 0);
	peer_mode(&p, "{\"mode\":\"fail\",\"fail_count\":2,\"status\":503}");
	struct recipients *r = recipients_for(&p);
	struct hub *h = NULL;
	assert_int_equal(hub_start(r, &h), SENIM_OK);
	struct tcall t;
	tcall_init(&t, r, 7, 15000, 3);
	assert_int_equal(hub_submit(h, &t.call), SENIM_OK);
	assert_int_equal(tcall_wait(&t, 20000), 1);
	assert_int_equal(t.out.code, RETRY_OK);
	assert_int_equal(t.out.attempts, 3);
	json_t *j = NULL;
	assert_int_equal(peer_http(&p, "GET", "/_control/requests", NULL, &j), 200);
	json_t *reqs = json_object_get(j, "requests");
	assert_int_equal(json_array_size(reqs), 3);
	for (size_t i = 0; i < 3; i++) {
		json_t *hd = json_object_get(json_array_get(reqs, i), "headers");
		assert_string_equal(
			json_string_value(json_object_get(hd, "Idempotency-Key")),
			"trf_test000007");
	}
	/* Retry-After: 1 was honoured: the attempts are a second apart */
	double a0 = json_real_value(json_object_get(json_array_get(reqs, 0), "at"));
	double a1 = json_real_value(json_object_get(json_array_get(reqs, 1), "at"));
	assert_true(a1 - a0 >= 0.9);
	json_decref(j);
	hub_stop(h);
	tcall_release(&t);
	free(r);
	peer_stop(&p);
}

static void test_4xx_not_retried(void **state)
{
	(void)state;
	struct peer p;
	assert_int_equal(peer_start(&p, PEER_PLAIN, NULL), 0);
	peer_mode(&p, "{\"mode\":\"fail\",\"status\":422}");
	struct recipients *r = recipients_for(&p);
	struct hub *h = NULL;
	assert_int_equal(hub_start(r, &h), SENIM_OK);
	struct tcall t;
	tcall_init(&t, r, 1, 5000, 3);
	assert_int_equal(hub_submit(h, &t.call), SENIM_OK);
	assert_int_equal(tcall_wait(&t, 10000), 1);
	assert_int_equal(t.out.code, RETRY_HTTP_4XX);
	assert_int_equal(t.out.http_status, 422);
	assert_int_equal(t.out.attempts, 1);
	assert_non_null(strstr(t.body, "injected_failure"));
	assert_int_equal(peer_stat(&p, "attempts"), 1);
	hub_stop(h);
	tcall_release(&t);
	free(r);
	peer_stop(&p);
}

static void test_verdicts(void **state)
{
	(void)state;
	struct peer p;
	assert_int_equal(peer_start(&p, PEER_PLAIN, NULL), 0);
	struct recipients *r = recipients_for(&p);
	struct hub *h = NULL;
	assert_int_equal(hub_start(r, &h), SENIM_OK);
	static const struct {
		const char *mode;
		enum retry_code code;
		int attempts;
	} cases[] = {
		{ "{\"mode\":\"garbage\"}", RETRY_INVALID_ANSWER, 2 },
		{ "{\"mode\":\"wrong_person\"}", RETRY_WRONG_SUBJECT, 1 },
		{ "{\"mode\":\"truncate\"}", RETRY_TRANSPORT, 2 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		peer_mode(&p, cases[i].mode);
		struct tcall t;
		tcall_init(&t, r, (int)i + 100, 5000, 2);
		assert_int_equal(hub_submit(h, &t.call), SENIM_OK);
		assert_int_equal(tcall_wait(&t, 10000), 1);
		if (t.out.code != cases[i].code || t.out.attempts != cases[i].attempts)
			fail_msg("%s: %s after %d attempts", cases[i].mode,
				 retry_code_name(t.out.code), t.out.attempts);
		tcall_release(&t);
	}
	hub_stop(h);
	free(r);
	peer_stop(&p);
}

static void test_slow_past_deadline(void **state)
{
	(void)state;
	struct peer p;
	assert_int_equal(peer_start(&p, PEER_PLAIN, NULL), 0);
	peer_mode(&p, "{\"mode\":\"slow\",\"delay_ms\":4000}");
	struct recipients *r = recipients_for(&p);
	struct hub *h = NULL;
	assert_int_equal(hub_start(r, &h), SENIM_OK);
	struct tcall t;
	tcall_init(&t, r, 1, 600, 2);
	int64_t t0 = clock_mono_us();
	assert_int_equal(hub_submit(h, &t.call), SENIM_OK);
	assert_int_equal(tcall_wait(&t, 10000), 1);
	/* bounded by the deadline, not the peer (a wide margin, not a timing) */
	assert_true(clock_mono_us() - t0 < 3000 * 1000);
	assert_int_equal(t.out.code, RETRY_TRANSPORT);
	assert_int_equal(t.out.curl_code, CURLE_OPERATION_TIMEDOUT);
	assert_int_equal(t.out.attempts, 1);
	assert_int_equal(t.out.may_have_reached, 1);
	hub_stop(h);
	tcall_release(&t);
	free(r);
	peer_stop(&p);
}

static int metrics_has(struct hub *h, const char *line)
{
	struct buf m;
	buf_init(&m, 1 << 16);
	assert_int_equal(hub_metrics(h, &m), SENIM_OK);
	int found = strstr(m.data, line) != NULL;
	buf_release(&m);
	return found;
}

static void test_breaker_opens_and_half_opens(void **state)
{
	(void)state;
	struct peer p;
	assert_int_equal(peer_start(&p, PEER_PLAIN, NULL), 0);
	peer_mode(&p, "{\"mode\":\"fail\",\"status\":500}");
	struct recipients *r = recipients_for(&p);
	r->recipients[0].breaker_failures = 3;
	r->recipients[0].breaker_open_ms = 400;
	struct hub *h = NULL;
	assert_int_equal(hub_start(r, &h), SENIM_OK);
	for (int i = 0; i < 3; i++) {
		struct tcall t;
		tcall_init(&t, r, i, 5000, 1);
		assert_int_equal(hub_submit(h, &t.call), SENIM_OK);
		assert_int_equal(tcall_wait(&t, 10000), 1);
		assert_int_equal(t.out.code, RETRY_HTTP_5XX);
		tcall_release(&t);
	}
	int after = 0;
	assert_false(hub_recipient_available(h, &r->recipients[0], &after));
	assert_int_equal(after, 1);
	assert_true(
		metrics_has(h, "senim_recipient_circuit_state{recipient=\"pkb\"} 2\n"));
	/* open: done at once, nothing sent */
	struct tcall t;
	tcall_init(&t, r, 10, 5000, 1);
	assert_int_equal(hub_submit(h, &t.call), SENIM_OK);
	assert_int_equal(tcall_wait(&t, 10000), 1);
	assert_int_equal(t.out.code, RETRY_UNAVAILABLE);
	assert_int_equal(t.out.attempts, 0);
	assert_int_equal(t.out.may_have_reached, 0);
	assert_int_equal(peer_stat(&p, "attempts"), 3);
	tcall_release(&t);

	/* after the pause one probe goes; it succeeds and closes the circuit */
	peer_mode(&p, "{\"mode\":\"ok\"}");
	sleep_ms(450);
	assert_true(hub_recipient_available(h, &r->recipients[0], NULL));
	tcall_init(&t, r, 11, 5000, 1);
	assert_int_equal(hub_submit(h, &t.call), SENIM_OK);
	assert_int_equal(tcall_wait(&t, 10000), 1);
	assert_int_equal(t.out.code, RETRY_OK);
	tcall_release(&t);
	assert_true(
		metrics_has(h, "senim_recipient_circuit_state{recipient=\"pkb\"} 0\n"));
	assert_true(hub_recipient_available(h, &r->recipients[0], NULL));
	hub_stop(h);
	free(r);
	peer_stop(&p);
}

#define MANY 200

static void test_never_more_than_max_in_flight(void **state)
{
	(void)state;
	struct peer p;
	assert_int_equal(peer_start(&p, PEER_PLAIN, NULL), 0);
	peer_mode(&p, "{\"mode\":\"slow\",\"delay_ms\":20}");
	struct recipients *r = recipients_for(&p);
	r->recipients[0].max_in_flight = 8;
	/* A second recipient with a wider limit lifts libcurl's own per-host
	 * backstop above 8: only the hub's admission holds pkb to 8. */
	r->n = 2;
	r->recipients[1] = r->recipients[0];
	r->recipients[1].code = "gkb";
	r->recipients[1].max_in_flight = 64;
	struct hub *h = NULL;
	assert_int_equal(hub_start(r, &h), SENIM_OK);
	struct tcall *t = calloc(MANY, sizeof(*t));
	assert_non_null(t);
	for (int i = 0; i < MANY; i++) {
		tcall_init(&t[i], r, i, 60000, 1);
		assert_int_equal(hub_submit(h, &t[i].call), SENIM_OK);
	}
	for (int i = 0; i < MANY; i++) {
		assert_int_equal(tcall_wait(&t[i], 60000), 1);
		if (t[i].out.code != RETRY_OK)
			fail_msg("call %d: %s", i, retry_code_name(t[i].out.code));
		tcall_release(&t[i]);
	}
	long long most = peer_get(&p, "/_control/concurrency", "max");
	assert_true(most >= 1 && most <= 8);
	assert_int_equal(peer_stat(&p, "attempts"), MANY);
	free(t);
	hub_stop(h);
	free(r);
	peer_stop(&p);
}

static void test_queue_full(void **state)
{
	(void)state;
	struct peer p;
	assert_int_equal(peer_start(&p, PEER_PLAIN, NULL), 0);
	peer_mode(&p, "{\"mode\":\"slow\",\"delay_ms\":500}");
	struct recipients *r = recipients_for(&p);
	r->recipients[0].max_in_flight = 1;
	r->recipients[0].max_queued = 1;
	struct hub *h = NULL;
	assert_int_equal(hub_start(r, &h), SENIM_OK);
	struct tcall t[3];
	for (int i = 0; i < 3; i++)
		tcall_init(&t[i], r, i, 10000, 1);
	assert_int_equal(hub_submit(h, &t[0].call), SENIM_OK);
	assert_int_equal(hub_submit(h, &t[1].call), SENIM_OK);
	assert_int_equal(hub_submit(h, &t[2].call), SENIM_ERR_UNAVAILABLE);
	assert_int_equal(tcall_wait(&t[0], 10000), 1);
	assert_int_equal(tcall_wait(&t[1], 10000), 1);
	assert_int_equal(t[0].out.code, RETRY_OK);
	assert_int_equal(t[1].out.code, RETRY_OK);
	assert_int_equal(t[2].done, 0);
	/* room again */
	assert_int_equal(hub_submit(h, &t[2].call), SENIM_OK);
	assert_int_equal(tcall_wait(&t[2], 10000), 1);
	for (int i = 0; i < 3; i++)
		tcall_release(&t[i]);
	hub_stop(h);
	free(r);
	peer_stop(&p);
}

static void test_submit_refuses_bad_calls(void **state)
{
	(void)state;
	struct peer p = { .tls = PEER_PLAIN, .port = 9 };
	struct recipients *r = recipients_for(&p);
	struct hub *h = NULL;
	assert_int_equal(hub_start(r, &h), SENIM_OK);
	struct tcall t;
	tcall_init(&t, r, 1, 1000, 1);
	t.call.idempotency_key = "trf_1\r\nX-Evil: 1";
	assert_int_equal(hub_submit(h, &t.call), SENIM_ERR_INVALID);
	t.call.idempotency_key = "";
	assert_int_equal(hub_submit(h, &t.call), SENIM_ERR_INVALID);
	t.call.idempotency_key = t.key;
	struct recipient stranger = r->recipients[0];
	t.call.recipient = &stranger;
	assert_int_equal(hub_submit(h, &t.call), SENIM_ERR_INVALID);
	t.call.recipient = &r->recipients[0];
	t.call.max_attempts = 0;
	assert_int_equal(hub_submit(h, &t.call), SENIM_ERR_INVALID);
	assert_int_equal(t.done, 0);
	hub_stop(h);
	tcall_release(&t);
	free(r);
}

static void test_mtls(void **state)
{
	(void)state;
	struct peer p;
	assert_int_equal(peer_start(&p, PEER_MTLS, NULL), 0);
	struct recipients *r = recipients_for(&p);
	struct recipient *rc = &r->recipients[0];
	rc->client_cert = client_crt;
	rc->client_key = client_key;
	struct hub *h = NULL;
	assert_int_equal(hub_start(r, &h), SENIM_OK);
	struct tcall t;
	tcall_init(&t, r, 1, 5000, 1);
	assert_int_equal(hub_submit(h, &t.call), SENIM_OK);
	assert_int_equal(tcall_wait(&t, 10000), 1);
	assert_int_equal(t.out.code, RETRY_OK);
	tcall_release(&t);
	json_t *j = NULL;
	assert_int_equal(peer_http(&p, "GET", "/_control/requests", NULL, &j), 200);
	json_t *req = json_array_get(json_object_get(j, "requests"), 0);
	assert_string_equal(json_string_value(json_object_get(req, "client_cn")),
			    "senim-test-client");
	json_decref(j);
	hub_stop(h);

	/* without a client certificate the peer refuses; nothing is answered */
	rc->client_cert = NULL;
	rc->client_key = NULL;
	assert_int_equal(hub_start(r, &h), SENIM_OK);
	tcall_init(&t, r, 2, 5000, 1);
	assert_int_equal(hub_submit(h, &t.call), SENIM_OK);
	assert_int_equal(tcall_wait(&t, 10000), 1);
	assert_int_not_equal(t.out.code, RETRY_OK);
	assert_int_equal(t.out.http_status, 0);
	tcall_release(&t);
	assert_int_equal(peer_stat(&p, "answered"), 1);
	assert_true(peer_stat(&p, "handshake_failures") >= 1);
	hub_stop(h);
	free(r);
	peer_stop(&p);
}

static void test_server_from_other_ca(void **state)
{
	(void)state;
	struct peer p;
	assert_int_equal(peer_start(&p, PEER_OTHER_CA, NULL), 0);
	struct recipients *r = recipients_for(&p);
	struct hub *h = NULL;
	assert_int_equal(hub_start(r, &h), SENIM_OK);
	struct tcall t;
	tcall_init(&t, r, 1, 5000, 3);
	assert_int_equal(hub_submit(h, &t.call), SENIM_OK);
	assert_int_equal(tcall_wait(&t, 10000), 1);
	assert_int_equal(t.out.code, RETRY_TLS_VERIFY);
	assert_int_equal(t.out.attempts, 1); /* not retried */
	assert_int_equal(t.out.may_have_reached, 0);
	assert_int_equal(peer_stat(&p, "attempts"), 0);
	tcall_release(&t);
	hub_stop(h);
	free(r);
	peer_stop(&p);
}

static void test_stop_with_calls_in_flight(void **state)
{
	(void)state;
	struct peer p;
	assert_int_equal(peer_start(&p, PEER_PLAIN, NULL), 0);
	peer_mode(&p, "{\"mode\":\"slow\",\"delay_ms\":5000}");
	struct recipients *r = recipients_for(&p);
	r->recipients[0].max_in_flight = 2;
	struct hub *h = NULL;
	assert_int_equal(hub_start(r, &h), SENIM_OK);
	struct tcall t[5];
	for (int i = 0; i < 5; i++) {
		tcall_init(&t[i], r, i, 20000, 2);
		assert_int_equal(hub_submit(h, &t[i].call), SENIM_OK);
	}
	/* two reach the peer, three wait */
	int64_t until = clock_mono_us() + 5000 * 1000;
	while (peer_stat(&p, "attempts") < 2 && clock_mono_us() < until)
		sleep_ms(20);
	assert_int_equal(peer_stat(&p, "attempts"), 2);
	hub_stop(h);
	int reached = 0;
	for (int i = 0; i < 5; i++) {
		assert_int_equal(t[i].done, 1);
		assert_int_equal(t[i].out.code, RETRY_UNAVAILABLE);
		reached += t[i].out.may_have_reached;
		tcall_release(&t[i]);
	}
	assert_int_equal(reached, 2);
	free(r);
	peer_stop(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_success_with_token),
		cmocka_unit_test(test_wrong_token_is_4xx_not_retried),
		cmocka_unit_test(test_retries_keep_the_key),
		cmocka_unit_test(test_4xx_not_retried),
		cmocka_unit_test(test_verdicts),
		cmocka_unit_test(test_slow_past_deadline),
		cmocka_unit_test(test_breaker_opens_and_half_opens),
		cmocka_unit_test(test_never_more_than_max_in_flight),
		cmocka_unit_test(test_queue_full),
		cmocka_unit_test(test_submit_refuses_bad_calls),
		cmocka_unit_test(test_mtls),
		cmocka_unit_test(test_server_from_other_ca),
		cmocka_unit_test(test_stop_with_calls_in_flight),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
