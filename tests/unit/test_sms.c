/*
 * test_sms.c — the SMS gateway client against tests/peers/sms_gateway.py,
 * started fresh for each test on 127.0.0.1: delivery, the token, retries
 * and what is not retried, the deadline with a slow or absent gateway, the
 * credentials file's mode, and what the log may carry.  The peer is told
 * how to misbehave and asked what it saw through its /_control/ endpoints.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "connectors/sms.h"
#include "testutil.h"
#include "common/banned.h"

#define PATH_LEN 1024
#define PYTHON "/usr/bin/python3"
#define TOKEN "test-token-5f2c9a"
#define PHONE "+77011234567"
#define PHONE_Q "%2B77011234567" /* the same, as a query value */
#define CODE_TEXT "Senim: your code is 482913"
/* How long the peer may take to start, and to stop after SIGTERM. */
#define PEER_START_MS 10000
#define PEER_STOP_MS 5000

/* ---- the peer ---------------------------------------------------------------- */

struct peer {
	pid_t pid;
	int port;
};

/* tests/peers/sms_gateway.py under SENIM_SOURCE_DIR, or next to this file. */
static void peer_script(char *out, size_t size)
{
	const char *src = getenv("SENIM_SOURCE_DIR");
	if (src && *src) {
		snprintf(out, size, "%s/tests/peers/sms_gateway.py", src);
		return;
	}
	const char *self = __FILE__;
	const char *tail = strstr(self, "tests/unit/test_sms.c");
	int keep = tail ? (int)(tail - self) : 0;
	snprintf(out, size, "%.*stests/peers/sms_gateway.py", keep, self);
}

/* Start the peer and read "listening on 127.0.0.1:PORT" from its stdout.
 * 0 on success; the caller stops it with peer_stop(). */
static int peer_start(struct peer *p, const char *token)
{
	char script[PATH_LEN];
	peer_script(script, sizeof(script));
	p->pid = -1;
	p->port = 0;
	int fds[2];
	if (pipe(fds) != 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		/* If this test process dies, the peer goes with it. */
		(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
		int null = open("/dev/null", O_RDONLY);
		if (null >= 0)
			dup2(null, 0);
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		char *argv[] = { "python3", script,	   "--port", "0",
				 "--token", (char *)token, NULL };
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

/* SIGTERM and wait; SIGKILL when it lingers.  0 when it ended cleanly
 * (status 0 after SIGTERM), -1 otherwise. */
static int peer_stop(struct peer *p)
{
	if (p->pid <= 0)
		return 0;
	int status = 0;
	int clean = -1;
	kill(p->pid, SIGTERM);
	int64_t until = clock_mono_us() + (int64_t)PEER_STOP_MS * 1000;
	for (;;) {
		pid_t r = waitpid(p->pid, &status, WNOHANG);
		if (r == p->pid) {
			clean = WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
			break;
		}
		if (r < 0 || clock_mono_us() > until) {
			kill(p->pid, SIGKILL);
			(void)waitpid(p->pid, &status, 0);
			break;
		}
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	p->pid = -1;
	return clean;
}

/* ---- talking to the peer's control endpoints ---------------------------------- */

static size_t collect(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	return buf_add(userdata, ptr, size * nmemb) ? 0 : size * nmemb;
}

/* `method` `path` on the peer with an optional JSON body; the HTTP status,
 * and the answer parsed in *out (json_decref'ed by the caller) when out. */
static long peer_http(const struct peer *p, const char *method, const char *path,
		      const char *body, json_t **out)
{
	char url[256];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", p->port, path);
	struct buf b;
	buf_init(&b, 1 << 20);
	CURL *h = curl_easy_init();
	assert_non_null(h);
	struct curl_slist *hdr =
		curl_slist_append(NULL, "Content-Type: application/json");
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
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

static void peer_mode(const struct peer *p, const char *json)
{
	assert_int_equal(peer_http(p, "POST", "/_control/mode", json, NULL), 200);
}

static void peer_reset(const struct peer *p)
{
	assert_int_equal(peer_http(p, "POST", "/_control/reset", "{}", NULL), 200);
}

static void peer_stats(const struct peer *p, int *attempts, int *delivered)
{
	json_t *j = NULL;
	assert_int_equal(peer_http(p, "GET", "/_control/stats", NULL, &j), 200);
	*attempts = (int)json_integer_value(json_object_get(j, "attempts"));
	*delivered = (int)json_integer_value(json_object_get(j, "delivered"));
	json_decref(j);
}

static void assert_stats(const struct peer *p, int attempts, int delivered)
{
	int a = -1, d = -1;
	peer_stats(p, &a, &d);
	assert_int_equal(a, attempts);
	assert_int_equal(d, delivered);
}

/* The messages the peer recorded for `to_q` (query-encoded; NULL: all). */
static json_t *peer_messages(const struct peer *p, const char *to_q)
{
	char path[128];
	snprintf(path, sizeof(path), "/_control/messages%s%s", to_q ? "?to=" : "",
		 to_q ? to_q : "");
	json_t *j = NULL;
	assert_int_equal(peer_http(p, "GET", path, NULL, &j), 200);
	json_t *msgs = json_incref(json_object_get(j, "messages"));
	json_decref(j);
	assert_true(json_is_array(msgs));
	return msgs;
}

/* ---- fixtures ---------------------------------------------------------------- */

struct fx {
	char dir[PATH_LEN];	   /* fresh, 0700, removed at teardown */
	char creds[PATH_LEN + 64]; /* <dir>/sms.token, TOKEN, 0600 */
	char base[64];		   /* http://127.0.0.1:<port>/ */
	struct peer peer;
	struct sms_client *client; /* base + creds */
};

/* Write `text` to `path` with exactly `mode`; 0 on success. */
static int write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	size_t len = strlen(text);
	int ok = fchmod(fd, mode) == 0 && write(fd, text, len) == (ssize_t)len;
	close(fd);
	return ok ? 0 : -1;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	const char *base = getenv("SENIM_TMP");
	if (!f)
		return -1;
	if (!base || !*base)
		base = "/tmp";
	(void)mkdir(base, 0700);
	snprintf(f->dir, sizeof(f->dir), "%s/sms-XXXXXX", base);
	f->peer.pid = -1;
	*state = f;
	if (!mkdtemp(f->dir)) {
		f->dir[0] = '\0';
		return -1;
	}
	snprintf(f->creds, sizeof(f->creds), "%s/sms.token", f->dir);
	/* Only the first line is the token; a CRLF file is fine too. */
	if (write_file(f->creds, TOKEN "\r\nthe rest is ignored\n", 0600) != 0)
		return -1;
	if (peer_start(&f->peer, TOKEN) != 0)
		return -1;
	/* A trailing slash on the base URL is allowed. */
	snprintf(f->base, sizeof(f->base), "http://127.0.0.1:%d/", f->peer.port);
	return sms_client_new(f->base, f->creds, &f->client) == SENIM_OK ? 0 : -1;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	sms_client_free(f->client);
	/* The peer must end cleanly on SIGTERM; a failure shows as a failed
	 * teardown. */
	int err = peer_stop(&f->peer);
	if (f->dir[0])
		testutil_rm_rf(f->dir);
	free(f);
	return err;
}

static int group_setup(void **state)
{
	(void)state;
	/* The peer is on loopback; no proxy from the environment may sit in
	 * between. */
	unsetenv("http_proxy");
	unsetenv("HTTP_PROXY");
	unsetenv("https_proxy");
	unsetenv("HTTPS_PROXY");
	unsetenv("ALL_PROXY");
	unsetenv("all_proxy");
	sms_global_init();
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	sms_global_cleanup();
	return 0;
}

static int64_t elapsed_ms(int64_t since_us)
{
	return (clock_mono_us() - since_us) / 1000;
}

/* ---- capturing the log ------------------------------------------------------- */

struct capture {
	int saved;
	char path[PATH_LEN + 64];
};

/* Send stderr (where log_event writes) to <dir>/log until capture_end. */
static void capture_begin(struct capture *cap, const char *dir)
{
	snprintf(cap->path, sizeof(cap->path), "%s/log", dir);
	fflush(stderr);
	cap->saved = dup(2);
	assert_true(cap->saved >= 0);
	int fd = open(cap->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(dup2(fd, 2), 2);
	close(fd);
}

/* Restore stderr; the captured text in a heap string (free()d by caller). */
static char *capture_end(struct capture *cap)
{
	fflush(stderr);
	assert_int_equal(dup2(cap->saved, 2), 2);
	close(cap->saved);
	FILE *fp = fopen(cap->path, "rb");
	assert_non_null(fp);
	char *text = calloc(1, 65536);
	assert_non_null(text);
	size_t n = fread(text, 1, 65535, fp);
	fclose(fp);
	text[n] = '\0';
	return text;
}

/* ---- delivery ---------------------------------------------------------------- */

static void test_send_delivered(void **state)
{
	struct fx *f = *state;
	assert_int_equal(sms_send(f->client, PHONE, CODE_TEXT, "req-1"), SENIM_OK);

	json_t *msgs = peer_messages(&f->peer, PHONE_Q);
	assert_int_equal(json_array_size(msgs), 1);
	json_t *m = json_array_get(msgs, 0);
	assert_string_equal(json_string_value(json_object_get(m, "to")), PHONE);
	assert_string_equal(json_string_value(json_object_get(m, "text")), CODE_TEXT);
	assert_string_equal(json_string_value(json_object_get(m, "reference")), "req-1");
	json_decref(msgs);

	msgs = peer_messages(&f->peer, "%2B77770000000");
	assert_int_equal(json_array_size(msgs), 0);
	json_decref(msgs);
	assert_stats(&f->peer, 1, 1);
}

/* A NULL reference goes out as null; non-ASCII text arrives intact. */
static void test_send_null_reference_and_utf8(void **state)
{
	struct fx *f = *state;
	const char *kz = "Senim: сіздің кодыңыз 482913";
	assert_int_equal(sms_send(f->client, PHONE, kz, NULL), SENIM_OK);
	json_t *msgs = peer_messages(&f->peer, NULL);
	assert_int_equal(json_array_size(msgs), 1);
	json_t *m = json_array_get(msgs, 0);
	assert_string_equal(json_string_value(json_object_get(m, "text")), kz);
	assert_true(json_is_null(json_object_get(m, "reference")));
	json_decref(msgs);
}

/* Malformed input is the caller's mistake: refused before any request. */
static void test_send_invalid_input(void **state)
{
	struct fx *f = *state;
	static const struct {
		const char *to, *text;
	} cases[] = {
		{ "77011234567", CODE_TEXT },	    /* no plus */
		{ "+7701", CODE_TEXT },		    /* too short */
		{ "+7701123456789012", CODE_TEXT }, /* too long */
		{ "+7701 123 45 67", CODE_TEXT },   /* spaces */
		{ "", CODE_TEXT },
		{ PHONE, "bad \xff utf-8" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(sms_send(f->client, cases[i].to, cases[i].text, "r"),
				 SENIM_ERR_INVALID);
	assert_int_equal(sms_send(f->client, NULL, CODE_TEXT, "r"), SENIM_ERR_INVALID);
	assert_int_equal(sms_send(f->client, PHONE, NULL, "r"), SENIM_ERR_INVALID);
	assert_int_equal(sms_send(NULL, PHONE, CODE_TEXT, "r"), SENIM_ERR_INVALID);
	assert_stats(&f->peer, 0, 0);
}

/* ---- the token --------------------------------------------------------------- */

/* 401 is an answer, not an outage: one attempt, no retry storm. */
static void test_wrong_token_not_retried(void **state)
{
	struct fx *f = *state;
	char wrong[PATH_LEN + 128];
	snprintf(wrong, sizeof(wrong), "%s.wrong", f->creds);
	assert_int_equal(write_file(wrong, "not-the-token\n", 0600), 0);
	struct sms_client *c = NULL;
	assert_int_equal(sms_client_new(f->base, wrong, &c), SENIM_OK);
	assert_int_equal(sms_send(c, PHONE, CODE_TEXT, "req-2"), SENIM_ERR_UNAVAILABLE);
	sms_client_free(c);
	assert_stats(&f->peer, 1, 0);
}

static void test_no_credentials_not_retried(void **state)
{
	struct fx *f = *state;
	struct sms_client *c = NULL;
	assert_int_equal(sms_client_new(f->base, NULL, &c), SENIM_OK);
	assert_int_equal(sms_send(c, PHONE, CODE_TEXT, "req-3"), SENIM_ERR_UNAVAILABLE);
	sms_client_free(c);
	assert_stats(&f->peer, 1, 0);
}

/* ---- retries ----------------------------------------------------------------- */

static void test_recovers_on_third_attempt(void **state)
{
	struct fx *f = *state;
	peer_mode(&f->peer, "{\"mode\": \"fail\", \"fail_count\": 2}");
	assert_int_equal(sms_send(f->client, PHONE, CODE_TEXT, "req-4"), SENIM_OK);
	assert_stats(&f->peer, 3, 1);
}

/* A gateway that always fails: SMS_ATTEMPTS attempts, then unavailable —
 * and the log names attempts and statuses, never the number, text or
 * token. */
static void test_fail_always(void **state)
{
	struct fx *f = *state;
	peer_mode(&f->peer, "{\"mode\": \"fail\"}");
	struct capture cap;
	capture_begin(&cap, f->dir);
	int err = sms_send(f->client, PHONE, CODE_TEXT, "req-5");
	char *log = capture_end(&cap);
	assert_int_equal(err, SENIM_ERR_UNAVAILABLE);
	assert_stats(&f->peer, SMS_ATTEMPTS, 0);

	assert_non_null(strstr(log, "\"event\":\"sms_attempt_failed\""));
	assert_non_null(strstr(log, "\"http_status\":\"503\""));
	char last[64];
	snprintf(last, sizeof(last), "\"attempt\":\"%d\"", SMS_ATTEMPTS);
	assert_non_null(strstr(log, last));
	assert_null(strstr(log, "7011234567"));
	assert_null(strstr(log, "482913"));
	assert_null(strstr(log, TOKEN));
	free(log);
}

/* Which statuses are worth another attempt (header: 5xx, 408, 429). */
static void test_status_table(void **state)
{
	struct fx *f = *state;
	static const struct {
		int status;
		int attempts;
	} cases[] = {
		{ 500, SMS_ATTEMPTS },
		{ 502, SMS_ATTEMPTS },
		{ 503, SMS_ATTEMPTS },
		{ 504, SMS_ATTEMPTS },
		{ 408, SMS_ATTEMPTS },
		{ 429, SMS_ATTEMPTS },
		{ 400, 1 },
		{ 403, 1 },
		{ 404, 1 },
		{ 413, 1 },
		{ 422, 1 },
		{ 301, 1 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char mode[96];
		snprintf(mode, sizeof(mode), "{\"mode\": \"fail\", \"status\": %d}",
			 cases[i].status);
		peer_reset(&f->peer);
		peer_mode(&f->peer, mode);
		assert_int_equal(sms_send(f->client, PHONE, CODE_TEXT, "req-6"),
				 SENIM_ERR_UNAVAILABLE);
		int a = -1, d = -1;
		peer_stats(&f->peer, &a, &d);
		if (a != cases[i].attempts)
			fail_msg("status %d: %d attempts, want %d", cases[i].status, a,
				 cases[i].attempts);
		assert_int_equal(d, 0);
	}
}

/* 200 without the protocol's {"id"} is not an acceptance. */
static void test_lying_gateway(void **state)
{
	struct fx *f = *state;
	peer_mode(&f->peer, "{\"mode\": \"lie\"}");
	assert_int_equal(sms_send(f->client, PHONE, CODE_TEXT, "req-7"),
			 SENIM_ERR_UNAVAILABLE);
	assert_stats(&f->peer, SMS_ATTEMPTS, 0);
}

/* ---- slow and absent gateways ------------------------------------------------- */

/* What counts as a hang.  Far above the client's deadline (SMS_DEADLINE_MS)
 * so a busy shared machine never trips it: these tests prove the client
 * gives up, they do not time it (bench/ measures). */
#define HANG_MS 60000

/* A gateway slower than the attempt timeout: a clear failure, not a hang.
 * The bound is generous on purpose — it catches hangs, it doesn't time
 * the client. */
static void test_slow_gateway_bounded(void **state)
{
	struct fx *f = *state;
	peer_mode(&f->peer, "{\"mode\": \"slow\", \"delay_ms\": 5000}");
	int64_t t0 = clock_mono_us();
	int err = sms_send(f->client, PHONE, CODE_TEXT, "req-8");
	int64_t took = elapsed_ms(t0);
	print_message("slow gateway: gave up after %lld ms\n", (long long)took);
	assert_int_equal(err, SENIM_ERR_UNAVAILABLE);
	if (took >= HANG_MS)
		fail_msg("sms_send took %lld ms", (long long)took);
	int a = -1, d = -1;
	peer_stats(&f->peer, &a, &d);
	assert_in_range(a, 1, SMS_ATTEMPTS);
}

/* A send whose deadline passed while it waited in a queue sends nothing:
 * its caller has given up, or is about to. */
static void test_deadline_spent_in_queue(void **state)
{
	struct fx *f = *state;
	assert_int_equal(
		sms_send_by(f->client, PHONE, CODE_TEXT, "req-q", clock_mono_us() - 1000),
		SENIM_ERR_UNAVAILABLE);
	assert_int_equal(sms_send_by(f->client, PHONE, CODE_TEXT, "req-q",
				     clock_mono_us() + 50 * 1000), /* under one attempt */
			 SENIM_ERR_UNAVAILABLE);
	assert_stats(&f->peer, 0, 0);
	/* with the time left, it goes */
	assert_int_equal(sms_send_by(f->client, PHONE, CODE_TEXT, "req-q",
				     clock_mono_us() + (int64_t)SMS_DEADLINE_MS * 1000),
			 SENIM_OK);
	assert_stats(&f->peer, 1, 1);
}

/* Slow but inside one attempt's timeout: delivered at the first try. */
static void test_slowish_gateway_delivers(void **state)
{
	struct fx *f = *state;
	peer_mode(&f->peer, "{\"mode\": \"slow\", \"delay_ms\": 300}");
	assert_int_equal(sms_send(f->client, PHONE, CODE_TEXT, "req-9"), SENIM_OK);
	assert_stats(&f->peer, 1, 1);
}

/* Nobody listens on the port (it is bound but not listening, so nobody
 * else can take it meanwhile): unavailable, promptly. */
static void test_unreachable(void **state)
{
	struct fx *f = *state;
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(s >= 0);
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	socklen_t sl = sizeof(sa);
	assert_int_equal(getsockname(s, (struct sockaddr *)&sa, &sl), 0);
	char url[64];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", ntohs(sa.sin_port));

	struct sms_client *c = NULL;
	assert_int_equal(sms_client_new(url, f->creds, &c), SENIM_OK);
	int64_t t0 = clock_mono_us();
	assert_int_equal(sms_send(c, PHONE, CODE_TEXT, "req-10"), SENIM_ERR_UNAVAILABLE);
	assert_true(elapsed_ms(t0) < HANG_MS);
	sms_client_free(c);
	close(s);
}

/* ---- configuration ----------------------------------------------------------- */

static void test_credentials_refused(void **state)
{
	struct fx *f = *state;
	static const struct {
		mode_t mode;
		const char *text;
		int want;
	} cases[] = {
		{ 0644, TOKEN "\n", SENIM_ERR_CONFIG },
		{ 0640, TOKEN "\n", SENIM_ERR_CONFIG },
		{ 0604, TOKEN "\n", SENIM_ERR_CONFIG },
		{ 0610, TOKEN "\n", SENIM_ERR_CONFIG },
		{ 0600, "", SENIM_ERR_CONFIG },
		{ 0600, "\n" TOKEN "\n", SENIM_ERR_CONFIG },
		{ 0600, "two words\n", SENIM_ERR_CONFIG },
		{ 0600, "tab\there\n", SENIM_ERR_CONFIG },
		{ 0600, TOKEN, SENIM_OK },
		{ 0400, TOKEN " \n", SENIM_OK },
	};
	char path[PATH_LEN + 64];
	snprintf(path, sizeof(path), "%s/case", f->dir);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		(void)chmod(path, 0600);
		(void)unlink(path);
		assert_int_equal(write_file(path, cases[i].text, cases[i].mode), 0);
		static char sentinel;
		/* Not NULL, so the test sees that a refusal clears it. */
		struct sms_client *c = (struct sms_client *)(void *)&sentinel;
		int err = sms_client_new(f->base, path, &c);
		if (err != cases[i].want)
			fail_msg("case %zu: %d, want %d", i, err, cases[i].want);
		if (err) {
			assert_null(c);
			continue;
		}
		/* An accepted token is the one the peer expects. */
		assert_int_equal(sms_send(c, PHONE, CODE_TEXT, "req-11"), SENIM_OK);
		sms_client_free(c);
	}

	struct sms_client *c = NULL;
	snprintf(path, sizeof(path), "%s/missing", f->dir);
	assert_int_equal(sms_client_new(f->base, path, &c), SENIM_ERR_CONFIG);
	assert_int_equal(sms_client_new(f->base, f->dir, &c), SENIM_ERR_CONFIG);
	assert_null(c);
}

static void test_bad_urls_refused(void **state)
{
	struct fx *f = *state;
	static const char *const urls[] = {
		"ftp://127.0.0.1/",    "127.0.0.1:8080",     "file:///etc/passwd", "",
		"http://127.0.0.1 /x", "gopher://127.0.0.1",
	};
	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		struct sms_client *c = NULL;
		assert_int_equal(sms_client_new(urls[i], f->creds, &c), SENIM_ERR_CONFIG);
		assert_null(c);
	}
	struct sms_client *c = NULL;
	assert_int_equal(sms_client_new(NULL, f->creds, &c), SENIM_ERR_CONFIG);
	sms_client_free(NULL);
}

/* ---- threads ----------------------------------------------------------------- */

#define SENDERS 8

struct sender {
	struct sms_client *client;
	char to[16];
	int err;
};

static void *send_one(void *arg)
{
	struct sender *s = arg;
	s->err = sms_send(s->client, s->to, CODE_TEXT, "req-12");
	return NULL;
}

/* One client, many threads at once: every message arrives once. */
static void test_concurrent_sends(void **state)
{
	struct fx *f = *state;
	struct sender s[SENDERS];
	pthread_t t[SENDERS];
	for (int i = 0; i < SENDERS; i++) {
		s[i].client = f->client;
		s[i].err = -1;
		snprintf(s[i].to, sizeof(s[i].to), "+7701000000%d", i);
		assert_int_equal(pthread_create(&t[i], NULL, send_one, &s[i]), 0);
	}
	for (int i = 0; i < SENDERS; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(s[i].err, SENIM_OK);
	}
	assert_stats(&f->peer, SENDERS, SENDERS);
	for (int i = 0; i < SENDERS; i++) {
		char q[32];
		snprintf(q, sizeof(q), "%%2B7701000000%d", i);
		json_t *msgs = peer_messages(&f->peer, q);
		assert_int_equal(json_array_size(msgs), 1);
		json_decref(msgs);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_send_delivered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_send_null_reference_and_utf8, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_send_invalid_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_token_not_retried, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_no_credentials_not_retried, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_recovers_on_third_attempt, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_fail_always, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lying_gateway, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deadline_spent_in_queue, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_slow_gateway_bounded, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_slowish_gateway_delivers, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_unreachable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_credentials_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bad_urls_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_sends, setup, teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
