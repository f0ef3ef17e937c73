/*
 * test_loans.c — a loan's state and schedule survive the store's encoding
 * byte for byte, and what does not decode is refused (lending/loans.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/schedule.h"
#include "core/servicing.h"
#include "lending/loans.h"
#include "testutil.h"
#include "common/banned.h"

static const struct servicing_terms TERMS = { .principal = 15000000,
					      .rate_bp = 4000,
					      .method = SCHEDULE_ANNUITY,
					      .start = 0,
					      .penalty_daily_bp = 5,
					      .penalty_annual_bp = 1000 };

static void opened(struct loan *l)
{
	memset(l, 0, sizeof(*l));
	l->terms = TERMS;
	l->terms.start = schedule_day(2026, 12, 6);
	struct schedule_terms t = { .principal = TERMS.principal,
				    .rate_bp = TERMS.rate_bp,
				    .method = SCHEDULE_ANNUITY,
				    .payments = 6,
				    .start = l->terms.start };
	assert_int_equal(schedule_build(&t, l->rows, LOAN_ROWS_MAX, &l->nrows), SENIM_OK);
	assert_int_equal(servicing_open(&l->terms, l->rows, l->nrows, &l->state),
			 SENIM_OK);
}

static void test_state_round_trip(void **state)
{
	(void)state;
	struct loan l;
	opened(&l);
	/* Negative fields (SERVICING_NO_DAY) and 64-bit ones survive. */
	l.state.penalty_total = INT64_C(1) << 40;
	assert_int_equal(l.state.notice_by, SERVICING_NO_DAY);
	unsigned char a[LOAN_STATE_BYTES], b[LOAN_STATE_BYTES];
	loan_state_encode(&l.state, a);
	struct loan_state back;
	assert_int_equal(loan_state_decode(a, sizeof(a), &back), SENIM_OK);
	assert_memory_equal(&back, &l.state, sizeof(back));
	loan_state_encode(&back, b);
	assert_memory_equal(a, b, sizeof(a));
	/* Big-endian: the day is the first four bytes. */
	assert_int_equal((int32_t)((uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 |
				   (uint32_t)a[2] << 8 | a[3]),
			 l.state.day);
}

/* A state saved before carried_interest (LOAN_STATE_BYTES_V1: the same
 * fields, 8 bytes shorter) still decodes, with it 0; the current encoding
 * keeps the amount (a restructured loan's, last 8 bytes). */
static void test_state_v1_and_carried(void **state)
{
	(void)state;
	struct loan l;
	opened(&l);
	unsigned char a[LOAN_STATE_BYTES];
	loan_state_encode(&l.state, a);
	struct loan_state back;
	assert_int_equal(loan_state_decode(a, LOAN_STATE_BYTES_V1, &back), SENIM_OK);
	assert_memory_equal(&back, &l.state, sizeof(back));
	l.state.carried_interest = 123456789;
	loan_state_encode(&l.state, a);
	assert_int_equal(a[LOAN_STATE_BYTES - 1], 123456789 & 0xff);
	assert_int_equal(loan_state_decode(a, sizeof(a), &back), SENIM_OK);
	assert_int_equal(back.carried_interest, 123456789);
	/* from the V1 prefix of the same bytes: not carried (the V1 format had
	 * no such amount) */
	assert_int_equal(loan_state_decode(a, LOAN_STATE_BYTES_V1, &back), SENIM_OK);
	assert_int_equal(back.carried_interest, 0);
	/* carried interest after the first row fell due breaks the state */
	l.state.next_row = 1;
	loan_state_encode(&l.state, a);
	assert_int_equal(loan_state_decode(a, sizeof(a), &back), SENIM_ERR_INVALID);
	assert_int_equal(loan_state_decode(a, LOAN_STATE_BYTES_V1 + 1, &back),
			 SENIM_ERR_INVALID);
}

static void test_state_refused(void **state)
{
	(void)state;
	struct loan l;
	opened(&l);
	unsigned char a[LOAN_STATE_BYTES];
	loan_state_encode(&l.state, a);
	struct loan_state back;
	assert_int_equal(loan_state_decode(a, sizeof(a) - 1, &back), SENIM_ERR_INVALID);
	/* principal (bytes 8..15) no longer principal_not_due + due_principal. */
	a[15] ^= 1;
	assert_int_equal(loan_state_decode(a, sizeof(a), &back), SENIM_ERR_INVALID);
}

static void test_rows_round_trip(void **state)
{
	(void)state;
	struct loan l;
	opened(&l);
	unsigned char buf[LOAN_ROWS_MAX * LOAN_ROW_BYTES];
	loan_rows_encode(l.rows, l.nrows, buf);
	struct schedule_row back[LOAN_ROWS_MAX];
	size_t n = 0;
	assert_int_equal(
		loan_rows_decode(buf, l.nrows * LOAN_ROW_BYTES, back, LOAN_ROWS_MAX, &n),
		SENIM_OK);
	assert_int_equal(n, l.nrows);
	assert_true(testutil_rows_equal(back, l.rows, n));
	assert_int_equal(loan_rows_decode(buf, l.nrows * LOAN_ROW_BYTES - 1, back,
					  LOAN_ROWS_MAX, &n),
			 SENIM_ERR_INVALID);
	assert_int_equal(loan_rows_decode(buf, 0, back, LOAN_ROWS_MAX, &n),
			 SENIM_ERR_INVALID);
	assert_int_equal(
		loan_rows_decode(buf, l.nrows * LOAN_ROW_BYTES, back, l.nrows - 1, &n),
		SENIM_ERR_INVALID);
}

static void test_codes(void **state)
{
	(void)state;
	assert_string_equal(loan_status_code(LOAN_OVERDUE), "overdue");
	assert_string_equal(loan_method_code(SCHEDULE_DIFFERENTIATED), "differentiated");
	assert_int_equal(loan_method_parse("single"), SCHEDULE_SINGLE);
	assert_int_equal(loan_method_parse("balloon"), -1);
	assert_null(loan_method_code((enum schedule_method)7));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_state_round_trip),
		cmocka_unit_test(test_state_v1_and_carried),
		cmocka_unit_test(test_state_refused),
		cmocka_unit_test(test_rows_round_trip),
		cmocka_unit_test(test_codes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
