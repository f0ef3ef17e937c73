/*
 * test_decisions.c — the pure parts of lending/decisions.h: the scorecard's
 * inputs from the kept answers, and the offer (amount and term bounded,
 * the fee, the ГЭСВ of each schedule, the loan rules).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/gesv.h"
#include "lending/decisions.h"
#include "common/banned.h"

#define RULES                                                               \
	"[rule gesv_cap]\nfrom = 2024-01-01\nsource = A\nbp = 4600\n"       \
	"[rule short_loan]\nfrom = 2024-01-01\nsource = B\nmax_days = 45\n" \
	"max_mrp = 45\ndaily_cap_bp = 30\nannual_cap_bp = 17900\n"          \
	"[rule max_amount]\nfrom = 2024-01-01\nsource = C\nmrp = 20000\n"   \
	"[rule mrp]\nfrom = 2024-01-01\nsource = D\ntiyn = 369200\n"        \
	"[rule cooloff]\nfrom = 2024-01-01\nsource = E\nabove_mrp = 75\n"   \
	"hold_minutes = 1440\n"                                             \
	"[rule penalty]\nfrom = 2024-01-01\nsource = F\ndaily_bp = 50\n"    \
	"annual_bp = 1000\n"                                                \
	"[rule notice]\nfrom = 2024-01-01\nsource = G\ndays = 10\n"         \
	"[rule restructuring]\nfrom = 2024-01-01\nsource = H\ndays = 30\n"  \
	"[rule self_exclusion]\nfrom = 2024-01-01\nsource = I\ncheck = yes\n"

static struct loan_rules *rules;
static struct loan_rules_in_force in_force;

static int setup(void **state)
{
	(void)state;
	char err[256];
	if (loan_rules_parse("r.conf", RULES, strlen(RULES), &rules, err, sizeof(err)) ||
	    loan_rules_in_force(rules, "2026-01-01", &in_force, err, sizeof(err)))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	loan_rules_free(rules);
	return 0;
}

/* The bureau's loans: the worst overdue, the open ones counted, their
 * outstanding sum over 12 rounded up; enquiries; the operator's scale. */
static void test_inputs_from_answers(void **state)
{
	(void)state;
	json_t *report = json_pack(
		"{s:[{s:s,s:I,s:I},{s:s,s:I,s:I},{s:s,s:I,s:I}],s:{s:I,s:I}}",
		"report.loans", "status", "open", "overdue_days", (json_int_t)12,
		"outstanding_tiyn", (json_int_t)1000001, "status", "closed",
		"overdue_days", (json_int_t)40, "outstanding_tiyn", (json_int_t)0,
		"status", "open", "overdue_days", (json_int_t)0, "outstanding_tiyn",
		(json_int_t)200000, "report.enquiries", "last_30_days", (json_int_t)3,
		"last_90_days", (json_int_t)5);
	json_t *phone = json_pack("{s:{s:f,s:i,s:i}}", "phone.score", "value", 0.25,
				  "min", 0, "max", 1);
	struct score_inputs in;
	memset(&in, 0, sizeof(in));
	decisions_inputs_from(report, phone, &in);
	assert_int_equal(in.missing, 0);
	assert_int_equal(in.bureau_overdue_days, 40);
	assert_int_equal(in.active_loans, 2);
	assert_int_equal(in.debt_payments_tiyn, (1200001 + 11) / 12);
	assert_int_equal(in.enquiries_30d, 3);
	assert_int_equal(in.operator_score, 250);

	/* No answer, or an answer without what is needed: missing. */
	memset(&in, 0, sizeof(in));
	decisions_inputs_from(NULL, NULL, &in);
	assert_int_equal(in.missing, SCORE_IN_BUREAU | SCORE_IN_OPERATOR_SCORE);
	json_t *half = json_pack("{s:[]}", "report.loans");
	json_t *bad = json_pack("{s:{s:i,s:i,s:i}}", "phone.score", "value", 5, "min", 0,
				"max", 1);
	memset(&in, 0, sizeof(in));
	decisions_inputs_from(half, bad, &in);
	assert_int_equal(in.missing, SCORE_IN_BUREAU | SCORE_IN_OPERATOR_SCORE);
	json_decref(report);
	json_decref(phone);
	json_decref(half);
	json_decref(bad);
}

/* The bureau's monthly payments: each open loan's own where the bureau
 * gave one (a closed loan's never counts), the estimate over the rest's
 * outstanding; without any given, exactly the estimate alone. */
static void test_inputs_with_monthly_payments(void **state)
{
	(void)state;
	json_t *report = json_pack(
		"{s:[{s:s,s:I,s:I,s:I},{s:s,s:I,s:I},{s:s,s:I,s:I,s:n},"
		"{s:s,s:I,s:I,s:I},{s:s,s:I,s:I,s:I}],s:{s:I,s:I}}",
		"report.loans",
		/* open, its payment given: 70,000 */
		"status", "open", "overdue_days", (json_int_t)0, "outstanding_tiyn",
		(json_int_t)9000000, "monthly_payment_tiyn", (json_int_t)70000,
		/* open, none given: estimated */
		"status", "open", "overdue_days", (json_int_t)0, "outstanding_tiyn",
		(json_int_t)1000001,
		/* open, null: estimated */
		"status", "open", "overdue_days", (json_int_t)0, "outstanding_tiyn",
		(json_int_t)200000, "monthly_payment_tiyn",
		/* open, a zero payment given */
		"status", "open", "overdue_days", (json_int_t)0, "outstanding_tiyn",
		(json_int_t)5000000, "monthly_payment_tiyn", (json_int_t)0,
		/* closed: nothing counted */
		"status", "closed", "overdue_days", (json_int_t)0, "outstanding_tiyn",
		(json_int_t)0, "monthly_payment_tiyn", (json_int_t)99999,
		"report.enquiries", "last_30_days", (json_int_t)0, "last_90_days",
		(json_int_t)0);
	assert_non_null(report);
	struct score_inputs in;
	memset(&in, 0, sizeof(in));
	decisions_inputs_from(report, NULL, &in);
	assert_int_equal(in.missing & SCORE_IN_BUREAU, 0);
	assert_int_equal(in.active_loans, 4);
	assert_int_equal(in.debt_payments_tiyn, 70000 + (1200001 + 11) / 12);

	/* Every open loan's given: no estimate at all. */
	json_t *loans = json_object_get(report, "report.loans");
	json_object_set_new(json_array_get(loans, 1), "monthly_payment_tiyn",
			    json_integer(1000));
	json_object_set_new(json_array_get(loans, 2), "monthly_payment_tiyn",
			    json_integer(30));
	memset(&in, 0, sizeof(in));
	decisions_inputs_from(report, NULL, &in);
	assert_int_equal(in.debt_payments_tiyn, 70000 + 1000 + 30);

	/* None given: the estimate over every open loan, as without the field. */
	for (size_t i = 0; i < json_array_size(loans); i++)
		json_object_del(json_array_get(loans, i), "monthly_payment_tiyn");
	memset(&in, 0, sizeof(in));
	decisions_inputs_from(report, NULL, &in);
	assert_int_equal(in.debt_payments_tiyn,
			 (9000000 + 1000001 + 200000 + 5000000 + 11) / 12);

	/* Capped: payments at the most the scorecard takes. */
	json_object_set_new(json_array_get(loans, 0), "monthly_payment_tiyn",
			    json_integer(SCORE_MONEY_MAX));
	json_object_set_new(json_array_get(loans, 3), "monthly_payment_tiyn",
			    json_integer(SCORE_MONEY_MAX));
	memset(&in, 0, sizeof(in));
	decisions_inputs_from(report, NULL, &in);
	assert_int_equal(in.debt_payments_tiyn, SCORE_MONEY_MAX);

	/* A payment that is not a non-negative integer: no bureau input. */
	json_object_set_new(json_array_get(loans, 0), "monthly_payment_tiyn",
			    json_string("70000"));
	memset(&in, 0, sizeof(in));
	decisions_inputs_from(report, NULL, &in);
	assert_int_equal(in.missing & SCORE_IN_BUREAU, SCORE_IN_BUREAU);
	json_decref(report);
}

static struct product product(int64_t rate_bp, int64_t fee_bp)
{
	struct product p;
	memset(&p, 0, sizeof(p));
	p.amount_min_tiyn = 1000000;
	p.amount_max_tiyn = 50000000;
	p.term_min_days = 30;
	p.term_max_days = 365;
	p.rate_bp = rate_bp;
	p.issue_fee_tiyn = 1000;
	p.issue_fee_bp = fee_bp;
	return p;
}

static struct application application(int64_t amount, int64_t term, const char *method)
{
	struct application a;
	memset(&a, 0, sizeof(a));
	a.amount_tiyn = amount;
	a.term_days = term;
	snprintf(a.method, sizeof(a.method), "%s", method);
	return a;
}

static void test_offer(void **state)
{
	(void)state;
	struct decision_offer o;
	struct loan_rule_refusal why;
	int32_t start = schedule_day(2026, 3, 1);
	struct product p = product(3000, 100);
	struct application a = application(8000000, 180, "annuity");

	/* The card's limit bounds amount and term; the fee is fixed plus 1 %,
	 * half-up; three monthly payments. */
	assert_int_equal(
		decisions_offer_compute(&p, &a, 5000050, 90, start, &in_force, &o, &why),
		DECISION_OFFER_MADE);
	assert_int_equal(o.amount_tiyn, 5000050);
	assert_int_equal(o.term_days, 90);
	assert_int_equal(o.payments, 3);
	assert_int_equal(o.fee_tiyn, 1000 + 50001);
	assert_int_equal(o.gesv_single_bp, -1);

	/* The ГЭСВ is gesv_solve's on the payout less the fee and the
	 * schedule's totals, and above the nominal rate. */
	struct schedule_row rows[8];
	size_t n = 0;
	assert_int_equal(decisions_offer_schedule(&o, SCHEDULE_ANNUITY, rows, 8, &n),
			 SENIM_OK);
	struct gesv_flow f[9] = { { start, -(o.amount_tiyn - o.fee_tiyn) } };
	for (size_t i = 0; i < n; i++)
		f[i + 1] = (struct gesv_flow){ rows[i].due, rows[i].total };
	struct gesv_result g;
	assert_int_equal(gesv_solve(f, n + 1, &g), SENIM_OK);
	assert_int_equal(o.gesv_annuity_bp, g.bp);
	assert_true(o.gesv_annuity_bp > 3000 && o.gesv_differentiated_bp > 3000);

	/* Under the product's minimum: no offer. */
	assert_int_equal(
		decisions_offer_compute(&p, &a, 999999, 90, start, &in_force, &o, &why),
		DECISION_OFFER_BELOW_PRODUCT);
	assert_int_equal(
		decisions_offer_compute(&p, &a, 5000000, 29, start, &in_force, &o, &why),
		DECISION_OFFER_BELOW_PRODUCT);

	/* 40 % nominal monthly is a ГЭСВ above the 46 % cap: the rule named. */
	struct product dear = product(4000, 0);
	assert_int_equal(decisions_offer_compute(&dear, &a, 5000000, 180, start,
						 &in_force, &o, &why),
			 DECISION_OFFER_LOAN_RULE);
	assert_string_equal(why.code, "gesv_cap");

	/* A single payment: one schedule, one ГЭСВ. */
	struct application single = application(2000000, 60, "single");
	assert_int_equal(decisions_offer_compute(&p, &single, 5000000, 90, start,
						 &in_force, &o, &why),
			 DECISION_OFFER_MADE);
	assert_int_equal(o.payments, 1);
	assert_true(o.single && o.gesv_single_bp > 0 && o.gesv_annuity_bp == -1);
}

/* The new loan's monthly payment, which the debt burden counts. */
static void test_instalment(void **state)
{
	(void)state;
	struct decision_offer o;
	int32_t start = schedule_day(2026, 3, 1);

	/* Without interest the arithmetic is plain: three monthly payments
	 * of a third; a single payment over the months its term spans, up,
	 * a term within one month counting whole. */
	struct product free_ = product(0, 0);
	static const struct {
		int64_t amount, term;
		const char *method;
		int64_t want;
	} rows[] = {
		{ 3000000, 90, "annuity", 1000000 },
		{ 3000000, 90, "differentiated", 1000000 },
		{ 2000000, 30, "single", 2000000 },
		{ 2000000, 31, "single", 1000000 },
		{ 2000000, 60, "single", 1000000 },
		{ 2000001, 60, "single", 1000001 },
		{ 3000000, 61, "single", 1000000 },
		{ 2000000, 15, "single", 2000000 },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct application a =
			application(rows[i].amount, rows[i].term, rows[i].method);
		decisions_offer_asked(&free_, &a, start, &o);
		if (decisions_offer_instalment(&o) != rows[i].want)
			fail_msg("%lld over %lld days %s: %lld, want %lld",
				 (long long)rows[i].amount, (long long)rows[i].term,
				 rows[i].method,
				 (long long)decisions_offer_instalment(&o),
				 (long long)rows[i].want);
	}

	/* With interest, monthly: the largest payment of either schedule —
	 * the differentiated one's first, above the annuity's — whichever
	 * method the application named, since the borrower chooses later. */
	struct product p = product(3000, 100);
	struct application a = application(5000000, 90, "annuity");
	decisions_offer_asked(&p, &a, start, &o);
	struct schedule_row an[3], diff[3];
	size_t n = 0;
	assert_int_equal(decisions_offer_schedule(&o, SCHEDULE_ANNUITY, an, 3, &n),
			 SENIM_OK);
	assert_int_equal(
		decisions_offer_schedule(&o, SCHEDULE_DIFFERENTIATED, diff, 3, &n),
		SENIM_OK);
	assert_true(diff[0].total > an[0].total && diff[0].total > an[2].total);
	assert_int_equal(decisions_offer_instalment(&o), diff[0].total);
	assert_true(diff[0].total > 5000000 / 3);

	/* Single, 45 days: principal and interest over two months, up. */
	struct application single = application(5000000, 45, "single");
	decisions_offer_asked(&p, &single, start, &o);
	struct schedule_row one[1];
	assert_int_equal(decisions_offer_schedule(&o, SCHEDULE_SINGLE, one, 1, &n),
			 SENIM_OK);
	assert_true(one[0].total > 5000000);
	assert_int_equal(decisions_offer_instalment(&o), (one[0].total + 1) / 2);

	/* As asked, within the product's maxima only. */
	struct application big = application(80000000, 400, "annuity");
	decisions_offer_asked(&p, &big, start, &o);
	assert_int_equal(o.amount_tiyn, 50000000);
	assert_int_equal(o.term_days, 365);
	assert_int_equal(o.payments, 12);

	/* No schedule (no payment at all): -1, never a made-up payment. */
	o.payments = 0;
	assert_int_equal(decisions_offer_instalment(&o), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inputs_from_answers),
		cmocka_unit_test(test_inputs_with_monthly_payments),
		cmocka_unit_test(test_offer),
		cmocka_unit_test(test_instalment),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
