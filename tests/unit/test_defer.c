/*
 * test_defer.c — http_async_then on a real server (libmicrohttpd on
 * 127.0.0.1, one worker thread): work that ends on another thread resumes
 * the request; work that ends inside its start, or whose start fails,
 * answers too; a second ask is refused; and — the point of it — a request
 * waiting for asynchronous work holds no worker, so the one worker serves
 * the request that lets the first one finish.  A client gives up after
 * 10 s, so a held worker shows as a failed request, not a hung test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "http/http.h"
#include "http/metrics.h"
#include "http/router.h"
#include "http/server.h"
#include "common/banned.h"

/* ---- the asynchronous work: a thread that ends it later ------------------ */

struct later {
	http_async_done_fn done;
	void *arg;
	int wait_for_release; /* 1: end only once release() was called */
};

static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static int gate_open;
static int gate_waiting;

static void *later_thread(void *p)
{
	struct later *l = p;
	if (l->wait_for_release) {
		pthread_mutex_lock(&gate_lock);
		gate_waiting++;
		pthread_cond_broadcast(&gate_cond);
		while (!gate_open)
			pthread_cond_wait(&gate_cond, &gate_lock);
		pthread_mutex_unlock(&gate_lock);
	} else {
		struct timespec t = { 0, 20 * 1000 * 1000 };
		nanosleep(&t, NULL);
	}
	l->done(SENIM_OK, l->arg);
	return NULL;
}

static enum senim_result start_on_thread(void *ctx, http_async_done_fn done, void *arg)
{
	struct later *l = ctx;
	l->done = done;
	l->arg = arg;
	pthread_t t;
	if (pthread_create(&t, NULL, later_thread, l))
		return SENIM_ERR_UNAVAILABLE;
	pthread_detach(t);
	return SENIM_OK;
}

static enum senim_result start_done_at_once(void *ctx, http_async_done_fn done, void *arg)
{
	(void)ctx;
	done(SENIM_ERR_CONFLICT, arg);
	return SENIM_OK;
}

static enum senim_result start_refused(void *ctx, http_async_done_fn done, void *arg)
{
	(void)ctx;
	(void)done;
	(void)arg;
	return SENIM_ERR_UNAVAILABLE;
}

/* The continuation answers with the result's number: the test reads it. */
static enum senim_result answer(struct http_request *req, struct http_response *resp,
				enum senim_result result, void *ctx)
{
	(void)req;
	(void)ctx;
	return http_reply_json(resp, 200, json_pack("{s:i}", "result", (int)result));
}

/* ---- routes ---------------------------------------------------------------- */

static enum senim_result h_later(struct http_request *req, struct http_response *resp)
{
	(void)resp;
	struct later *l = arena_alloc(&req->arena, sizeof(*l));
	if (!l)
		return SENIM_ERR_NOMEM;
	*l = (struct later){ .wait_for_release = 0 };
	return http_async_then(req, start_on_thread, l, answer);
}

static enum senim_result h_gated(struct http_request *req, struct http_response *resp)
{
	(void)resp;
	struct later *l = arena_alloc(&req->arena, sizeof(*l));
	if (!l)
		return SENIM_ERR_NOMEM;
	*l = (struct later){ .wait_for_release = 1 };
	return http_async_then(req, start_on_thread, l, answer);
}

static enum senim_result h_release(struct http_request *req, struct http_response *resp)
{
	(void)req;
	pthread_mutex_lock(&gate_lock);
	gate_open = 1;
	pthread_cond_broadcast(&gate_cond);
	pthread_mutex_unlock(&gate_lock);
	return http_reply_json(resp, 200, json_pack("{s:b}", "released", 1));
}

static enum senim_result h_at_once(struct http_request *req, struct http_response *resp)
{
	(void)resp;
	return http_async_then(req, start_done_at_once, NULL, answer);
}

static enum senim_result h_refused(struct http_request *req, struct http_response *resp)
{
	(void)resp;
	return http_async_then(req, start_refused, NULL, answer);
}

static enum senim_result h_twice(struct http_request *req, struct http_response *resp)
{
	enum senim_result err = http_async_then(req, start_done_at_once, NULL, answer);
	if (err)
		return err;
	/* The second ask is answered through its own continuation, at once. */
	enum senim_result second = http_async_then(req, start_done_at_once, NULL, answer);
	(void)resp;
	return second;
}

static const struct route routes[] = {
	{ "GET", "/later", h_later, 0, ROUTE_PUBLIC, "later" },
	{ "GET", "/gated", h_gated, 0, ROUTE_PUBLIC, "gated" },
	{ "GET", "/release", h_release, 0, ROUTE_PUBLIC, "release" },
	{ "GET", "/at-once", h_at_once, 0, ROUTE_PUBLIC, "at_once" },
	{ "GET", "/refused", h_refused, 0, ROUTE_PUBLIC, "refused" },
	{ "GET", "/twice", h_twice, 0, ROUTE_PUBLIC, "twice" },
};

static enum senim_result let_everyone(struct http_request *req,
				      struct http_response *resp)
{
	(void)req;
	(void)resp;
	return SENIM_OK;
}

/* ---- the server and a client ---------------------------------------------- */

struct fixture {
	struct server *srv;
	struct metrics *metrics;
	uint16_t port;
};

static int setup(void **state)
{
	static struct fixture f;
	f.metrics = metrics_new((int)(sizeof(routes) / sizeof(routes[0])));
	assert_non_null(f.metrics);
	struct server_config cfg = { .listen = "127.0.0.1:0",
				     .threads = 1,
				     .max_body = 1024,
				     .routes = routes,
				     .nroutes = sizeof(routes) / sizeof(routes[0]),
				     .authorize_or_reply = let_everyone,
				     .metrics = f.metrics };
	assert_int_equal(server_start(&cfg, &f.srv), SENIM_OK);
	f.port = server_port(f.srv);
	gate_open = 0;
	gate_waiting = 0;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	server_quiesce(f->srv);
	server_stop(f->srv, 2000);
	metrics_free(f->metrics);
	return 0;
}

struct got {
	char body[256];
	size_t len;
	long status;
	CURLcode code;
};

static size_t collect(char *p, size_t size, size_t n, void *arg)
{
	struct got *g = arg;
	size_t len = size * n;
	size_t room = sizeof(g->body) - 1 - g->len;
	size_t take = len < room ? len : room;
	memcpy(g->body + g->len, p, take);
	g->len += take;
	g->body[g->len] = '\0';
	return len;
}

static void get(uint16_t port, const char *path, struct got *g)
{
	char url[128];
	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", port, path);
	memset(g, 0, sizeof(*g));
	CURL *c = curl_easy_init();
	assert_non_null(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, g);
	g->code = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &g->status);
	curl_easy_cleanup(c);
}

static int result_of(const struct got *g)
{
	json_t *doc = json_loadb(g->body, g->len, 0, NULL);
	assert_non_null(doc);
	int r = (int)json_integer_value(json_object_get(doc, "result"));
	json_decref(doc);
	return r;
}

/* ---- tests ---------------------------------------------------------------- */

static void test_work_ended_on_another_thread_resumes_the_request(void **state)
{
	struct fixture *f = *state;
	struct got g;
	get(f->port, "/later", &g);
	assert_int_equal(g.code, CURLE_OK);
	assert_int_equal(g.status, 200);
	assert_int_equal(result_of(&g), SENIM_OK);
}

static void test_work_ended_inside_its_start_answers(void **state)
{
	struct fixture *f = *state;
	struct got g;
	get(f->port, "/at-once", &g);
	assert_int_equal(g.status, 200);
	assert_int_equal(result_of(&g), SENIM_ERR_CONFLICT);
}

static void test_a_start_that_fails_gives_its_result_to_the_continuation(void **state)
{
	struct fixture *f = *state;
	struct got g;
	get(f->port, "/refused", &g);
	assert_int_equal(g.status, 200);
	assert_int_equal(result_of(&g), SENIM_ERR_UNAVAILABLE);
}

static void test_a_second_ask_is_refused_through_its_continuation(void **state)
{
	struct fixture *f = *state;
	struct got g;
	get(f->port, "/twice", &g);
	assert_int_equal(g.status, 200);
	assert_int_equal(result_of(&g), SENIM_ERR_INVALID);
}

struct client {
	uint16_t port;
	struct got got;
};

static void *gated_client(void *p)
{
	struct client *c = p;
	get(c->port, "/gated", &c->got);
	return NULL;
}

static void test_waiting_work_holds_no_worker(void **state)
{
	struct fixture *f = *state;
	/* Four requests wait on work that only /release ends, and the server
	 * has one worker: if waiting held it, /release would never be
	 * served and every client would give up after 10 s. */
	enum {
		N = 4
	};
	struct client clients[N];
	pthread_t t[N];
	for (int i = 0; i < N; i++) {
		clients[i].port = f->port;
		assert_int_equal(pthread_create(&t[i], NULL, gated_client, &clients[i]),
				 0);
	}
	/* All four wait, unless a held worker keeps the others from starting:
	 * then go on after 10 s and fail below. */
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	pthread_mutex_lock(&gate_lock);
	while (gate_waiting < N &&
	       pthread_cond_timedwait(&gate_cond, &gate_lock, &until) == 0)
		;
	pthread_mutex_unlock(&gate_lock);
	struct got g;
	get(f->port, "/release", &g);
	/* Open the gate here too, so a held worker fails the test rather
	 * than hanging it. */
	pthread_mutex_lock(&gate_lock);
	gate_open = 1;
	pthread_cond_broadcast(&gate_cond);
	pthread_mutex_unlock(&gate_lock);
	for (int i = 0; i < N; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(g.code, CURLE_OK);
	assert_int_equal(g.status, 200);
	for (int i = 0; i < N; i++) {
		assert_int_equal(clients[i].got.code, CURLE_OK);
		assert_int_equal(clients[i].got.status, 200);
		assert_int_equal(result_of(&clients[i].got), SENIM_OK);
	}
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_work_ended_on_another_thread_resumes_the_request, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_work_ended_inside_its_start_answers,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_a_start_that_fails_gives_its_result_to_the_continuation,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_a_second_ask_is_refused_through_its_continuation, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_waiting_work_holds_no_worker, setup,
						teardown),
	};
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return failed;
}
