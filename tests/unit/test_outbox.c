/*
 * test_outbox.c — the outbox's pure parts (exchange/outbox.h): the backoff
 * of a `deliver` row and when it is dead; and loan_event/1's part of the
 * pump (exchange/loan_events.h): a batch's body from its rows' payloads and
 * the reading of the bureau's answer, per event.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "exchange/loan_events.h"
#include "exchange/outbox.h"
#include "common/banned.h"

static void test_backoff_bounds(void **state)
{
	(void)state;
	/* Full jitter: 0 .. min(cap, 1 s * 2^(attempts-1)). */
	assert_int_equal(outbox_backoff_ms(1, 0), 0);
	assert_int_equal(outbox_backoff_ms(1, UINT64_MAX), UINT64_MAX % 1001);
	for (int a = 1; a <= 20; a++)
		for (uint64_t r = 0; r < 5000; r += 977) {
			int64_t ms = outbox_backoff_ms(a, r * 2654435761u);
			int64_t ceiling = a > 10 ? OUTBOX_BACKOFF_CAP_MS
						 : (int64_t)OUTBOX_BACKOFF_BASE_MS
							   << (a - 1);
			if (ceiling > OUTBOX_BACKOFF_CAP_MS)
				ceiling = OUTBOX_BACKOFF_CAP_MS;
			assert_true(ms >= 0 && ms <= ceiling);
		}
}

static void test_dead_after_the_limits(void **state)
{
	(void)state;
	int64_t t0 = 1000000;
	assert_false(outbox_is_dead(1, t0, t0));
	assert_false(outbox_is_dead(OUTBOX_MAX_ATTEMPTS - 1, t0, t0 + 1000));
	assert_true(outbox_is_dead(OUTBOX_MAX_ATTEMPTS, t0, t0 + 1000));
	assert_false(outbox_is_dead(2, t0, t0 + OUTBOX_MAX_AGE_MS - 1));
	assert_true(outbox_is_dead(2, t0, t0 + OUTBOX_MAX_AGE_MS));
}

static void row(struct outbox_row *r, const char *key, const char *payload)
{
	memset(r, 0, sizeof(*r));
	size_t n = strlen(key);
	memcpy(r->key, key, n < sizeof(r->key) ? n : sizeof(r->key) - 1);
	r->payload = (char *)payload;
	r->payload_len = strlen(payload);
}

static void test_batch_body(void **state)
{
	(void)state;
	struct outbox_row rows[2];
	row(&rows[0], "lev_a", "{\"event_id\":\"lev_a\"}");
	row(&rows[1], "lev_b", "{\"event_id\":\"lev_b\"}");
	char *body = NULL;
	size_t len = 0;
	assert_int_equal(loan_events_api.build(rows, 2, &body, &len), SENIM_OK);
	const char want[] =
		"{\"events\":[{\"event_id\":\"lev_a\"},{\"event_id\":\"lev_b\"}]}";
	assert_int_equal(len, strlen(want));
	assert_memory_equal(body, want, len);
	free(body);
}

static void test_answer_per_event(void **state)
{
	(void)state;
	struct outbox_row rows[3];
	row(&rows[0], "lev_a", "{}");
	row(&rows[1], "lev_b", "{}");
	row(&rows[2], "lev_c", "{}");
	static const char ok[] =
		"{\"results\":[{\"event_id\":\"lev_a\",\"status\":\"accepted\",\"error\":"
		"null},"
		"{\"event_id\":\"lev_b\",\"status\":\"duplicate\",\"error\":null},"
		"{\"event_id\":\"lev_c\",\"status\":\"rejected\",\"error\":"
		"{\"code\":\"event_rule\",\"message\":\"no\"}}]}";
	assert_int_equal(loan_events_api.check(ok, strlen(ok), rows, 3), RETRY_CHECK_OK);
	assert_int_equal(rows[0].result, OUTBOX_ROW_DELIVERED);
	assert_int_equal(rows[1].result, OUTBOX_ROW_DELIVERED); /* duplicate: delivered */
	assert_int_equal(rows[2].result, OUTBOX_ROW_REJECTED);
	assert_string_equal(rows[2].reason, "event_rule");
	/* One result missing, or naming another event: the whole answer is invalid. */
	static const char short_[] = "{\"results\":[{\"event_id\":\"lev_a\",\"status\":"
				     "\"accepted\",\"error\":null}]}";
	assert_int_equal(loan_events_api.check(short_, strlen(short_), rows, 3),
			 RETRY_CHECK_INVALID);
	assert_int_equal(loan_events_api.check("<html>", 6, rows, 3),
			 RETRY_CHECK_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff_bounds),
		cmocka_unit_test(test_dead_after_the_limits),
		cmocka_unit_test(test_batch_body),
		cmocka_unit_test(test_answer_per_event),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
