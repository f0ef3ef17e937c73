/*
 * test_conntrack.c — request deadlines (http/conntrack.h) on socket pairs:
 * a connection past its deadline is shut down, whatever it trickled; a
 * received request has no deadline; a cut connection refuses a new one.
 * Waits for a cut are generous (seconds for a 100 ms deadline); "not cut"
 * is only asserted where there is no deadline or a far one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http/conntrack.h"
#include "common/banned.h"

struct pair {
	int server, client;
};

static void pair_open(struct pair *p)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	p->server = sv[0];
	p->client = sv[1];
}

static void pair_close(struct pair *p)
{
	close(p->server);
	close(p->client);
}

/* 1 when the client side sees the server side shut within ms. */
static int shut_within(struct pair *p, int ms)
{
	struct pollfd pf = { .fd = p->client, .events = POLLIN };
	for (int waited = 0; waited < ms; waited += 50) {
		/* The client trickles meanwhile: bytes do not move a deadline. */
		if (send(p->client, "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 &&
		    errno == EPIPE)
			return 1;
		if (poll(&pf, 1, 50) == 1) {
			char c;
			if (recv(p->client, &c, 1, MSG_DONTWAIT) == 0)
				return 1;
		}
	}
	return 0;
}

static void sleep_ms(int ms)
{
	struct timespec t = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&t, NULL);
}

static void test_headers_past_their_deadline_are_cut(void **state)
{
	(void)state;
	struct conntrack_config cfg = { .header_ms = 100,
					.body_ms = 100,
					.idle_ms = 100 };
	struct conntrack *ct;
	assert_int_equal(conntrack_new(&cfg, &ct), SENIM_OK);
	struct pair p;
	pair_open(&p);
	struct conntrack_conn *c = conntrack_open(ct, p.server);
	assert_non_null(c);
	assert_true(shut_within(&p, 5000));
	assert_int_equal(conntrack_cut_count(ct), 1);
	/* Cut: no new deadline, no "received" — the caller closes it. */
	assert_int_equal(conntrack_headers_done(ct, c), 0);
	assert_int_equal(conntrack_received(c), 0);
	assert_int_equal(conntrack_answered(ct, c), 0);
	conntrack_close(ct, c);
	pair_close(&p);
	conntrack_free(ct);
}

static void test_body_past_its_deadline_is_cut(void **state)
{
	(void)state;
	struct conntrack_config cfg = { .header_ms = 60000,
					.body_ms = 100,
					.idle_ms = 100 };
	struct conntrack *ct;
	assert_int_equal(conntrack_new(&cfg, &ct), SENIM_OK);
	struct pair p;
	pair_open(&p);
	struct conntrack_conn *c = conntrack_open(ct, p.server);
	assert_int_equal(conntrack_headers_done(ct, c), 1);
	assert_true(shut_within(&p, 5000));
	conntrack_close(ct, c);
	pair_close(&p);
	conntrack_free(ct);
}

/* Received: handled, suspended for a write or held for a pause — never
 * cut; once answered, the connection owes its next headers again. */
static void test_a_received_request_has_no_deadline(void **state)
{
	(void)state;
	struct conntrack_config cfg = { .header_ms = 50, .body_ms = 50, .idle_ms = 50 };
	struct conntrack *ct;
	assert_int_equal(conntrack_new(&cfg, &ct), SENIM_OK);
	struct pair p;
	pair_open(&p);
	struct conntrack_conn *c = conntrack_open(ct, p.server);
	assert_int_equal(conntrack_headers_done(ct, c), 1);
	assert_int_equal(conntrack_received(c), 1);
	sleep_ms(500); /* ten times both deadlines */
	char ch;
	assert_int_equal(recv(p.client, &ch, 1, MSG_DONTWAIT), -1);
	assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
	assert_int_equal(conntrack_cut_count(ct), 0);
	assert_int_equal(conntrack_answered(ct, c), 1);
	assert_true(shut_within(&p, 5000));
	conntrack_close(ct, c);
	pair_close(&p);
	conntrack_free(ct);
}

/* A closed connection is forgotten: the watchdog never touches its
 * descriptor again, whatever number the kernel gives next. */
static void test_closed_connections_are_forgotten(void **state)
{
	(void)state;
	struct conntrack_config cfg = { .header_ms = 50, .body_ms = 50, .idle_ms = 50 };
	struct conntrack *ct;
	assert_int_equal(conntrack_new(&cfg, &ct), SENIM_OK);
	struct pair a, b;
	pair_open(&a);
	struct conntrack_conn *c = conntrack_open(ct, a.server);
	conntrack_close(ct, c);
	pair_close(&a);
	pair_open(&b); /* likely the same descriptor numbers */
	sleep_ms(500);
	char ch;
	assert_int_equal(recv(b.client, &ch, 1, MSG_DONTWAIT), -1);
	assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
	assert_int_equal(conntrack_cut_count(ct), 0);
	pair_close(&b);
	conntrack_free(ct);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_headers_past_their_deadline_are_cut),
		cmocka_unit_test(test_body_past_its_deadline_is_cut),
		cmocka_unit_test(test_a_received_request_has_no_deadline),
		cmocka_unit_test(test_closed_connections_are_forgotten),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
