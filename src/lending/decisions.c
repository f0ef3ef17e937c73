/*
 * decisions.c — submission, verification through the exchange, the
 * scorecard's decision, stored.
 */
#include "lending/decisions.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "common/clock.h"
#include "core/categories.h"
#include "core/gesv.h"
#include "core/recipients.h"
#include "exchange/loan_events.h"
#include "lending/eod.h"
#include "subjects/subjects.h"
#include "vault/vault.h"
#include "common/banned.h"

#define PURPOSE_U1 "loan_application_review"
#define INPUTS_BINDING "decision" /* the vault binding of the sealed inputs */
/* The purpose GKB is told for every application: senim's products are
 * unsecured consumer microcredits to individuals (docs/bureau-reporting.md). */
#define APPLIED_PURPOSE "consumer"

static void copy_col(struct store_rows *r, int col, char *dst, size_t cap)
{
	size_t len;
	const char *s = store_rows_text(r, col, &len);
	if (len >= cap)
		len = cap - 1;
	memcpy(dst, s, len);
	dst[len] = '\0';
}

enum senim_result decisions_latest_in(struct store_tx *tx, const char *application_id,
				      struct decision *d, int *found)
{
	struct store_rows *r = NULL;
	memset(d, 0, sizeof(*d));
	*found = 0;
	enum senim_result err = store_query_one(
		tx,
		"SELECT id, kind, outcome, status, reasons, COALESCE(points, 0),"
		" amount_limit_tiyn, term_limit_days, created_at FROM decisions"
		" WHERE application_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1",
		(struct store_val[]){ SV_TEXT(application_id) }, 1, &r);
	if (err == SENIM_ERR_NOT_FOUND)
		return SENIM_OK;
	if (err)
		return err;
	copy_col(r, 0, d->id, sizeof(d->id));
	copy_col(r, 1, d->kind, sizeof(d->kind));
	copy_col(r, 2, d->outcome, sizeof(d->outcome));
	copy_col(r, 3, d->status, sizeof(d->status));
	copy_col(r, 4, d->reasons, sizeof(d->reasons));
	d->points = store_rows_int(r, 5);
	d->amount_limit_tiyn = store_rows_int(r, 6);
	d->term_limit_days = store_rows_int(r, 7);
	d->created_at = store_rows_int(r, 8);
	store_rows_free(r);
	*found = 1;
	return SENIM_OK;
}

/* ---- the inputs from the kept answers ------------------------------------------- */

static int64_t int_of(const json_t *o, const char *key, int *ok)
{
	const json_t *v = json_object_get(o, key);
	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		*ok = 0;
		return 0;
	}
	return (int64_t)json_integer_value(v);
}

static int64_t capped(int64_t v, int64_t max)
{
	return v > max ? max : v;
}

void decisions_inputs_from(const json_t *report, const json_t *phone,
			   struct score_inputs *in)
{
	in->missing |= SCORE_IN_BUREAU | SCORE_IN_OPERATOR_SCORE;
	const json_t *loans = report ? json_object_get(report, "report.loans") : NULL;
	const json_t *enq = report ? json_object_get(report, "report.enquiries") : NULL;
	if (json_is_array(loans) && json_is_object(enq)) {
		int ok = 1;
		int64_t worst = 0, active = 0, outstanding = 0, given = 0;
		size_t i;
		const json_t *l;
		json_array_foreach(loans, i, l)
		{
			int64_t days = int_of(l, "overdue_days", &ok);
			if (days > worst)
				worst = days;
			const char *status =
				json_string_value(json_object_get(l, "status"));
			if (status && strcmp(status, "open") == 0) {
				active++;
				const json_t *pay =
					json_object_get(l, "monthly_payment_tiyn");
				if (pay && !json_is_null(pay)) {
					/* The bureau's own monthly payment. */
					given += capped(
						int_of(l, "monthly_payment_tiyn", &ok),
						SCORE_MONEY_MAX);
					given = capped(given, SCORE_MONEY_MAX);
					continue;
				}
				outstanding += capped(int_of(l, "outstanding_tiyn", &ok),
						      SCORE_MONEY_MAX);
				outstanding = capped(outstanding, SCORE_MONEY_MAX);
			}
		}
		int64_t last30 = int_of(enq, "last_30_days", &ok);
		if (ok) {
			in->missing &= ~SCORE_IN_BUREAU;
			in->bureau_overdue_days = capped(worst, SCORE_COUNT_MAX);
			in->active_loans = capped(active, SCORE_COUNT_MAX);
			in->enquiries_30d = capped(last30, SCORE_COUNT_MAX);
			/* Each open loan's monthly payment as the bureau gave it;
			 * for the open loans without one, a year's repayment of
			 * what they owe stands in for theirs, rounded up
			 * (docs/decisions.md). */
			in->debt_payments_tiyn =
				capped(given + (outstanding + 11) / 12, SCORE_MONEY_MAX);
		}
	}
	const json_t *score = phone ? json_object_get(phone, "phone.score") : NULL;
	const json_t *v = json_object_get(score, "value"),
		     *lo = json_object_get(score, "min"),
		     *hi = json_object_get(score, "max");
	if (json_is_number(v) && json_is_number(lo) && json_is_number(hi)) {
		double val = json_number_value(v), min = json_number_value(lo),
		       max = json_number_value(hi);
		if (max > min && val >= min && val <= max) {
			/* The operator's own scale, onto 0..SCORE_OPERATOR_MAX. */
			in->operator_score =
				(int64_t)((val - min) / (max - min) * SCORE_OPERATOR_MAX);
			in->missing &= ~SCORE_IN_OPERATOR_SCORE;
		}
	}
}

/* ---- the offer ------------------------------------------------------------------------ */

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

static struct schedule_terms terms_of(const struct decision_offer *o,
				      enum schedule_method method)
{
	return (struct schedule_terms){ .principal = o->amount_tiyn,
					.rate_bp = (int32_t)o->rate_bp,
					.method = method,
					.payments = (int32_t)o->payments,
					.days = (int32_t)o->term_days,
					.start = o->start };
}

enum senim_result decisions_offer_schedule(const struct decision_offer *o,
					   enum schedule_method method,
					   struct schedule_row *rows, size_t cap,
					   size_t *n)
{
	struct schedule_terms t = terms_of(o, method);
	return schedule_build(&t, rows, cap, n);
}

/* The ГЭСВ of one schedule: the payout less the fee out on the start day,
 * every payment in on its due day; -1 when it cannot be solved. */
static int64_t gesv_of(const struct decision_offer *o, enum schedule_method method)
{
	static _Thread_local struct schedule_row rows[SCHEDULE_MAX_PAYMENTS];
	static _Thread_local struct gesv_flow flows[SCHEDULE_MAX_PAYMENTS + 1];
	size_t n = 0;
	struct gesv_result g;
	if (decisions_offer_schedule(o, method, rows, SCHEDULE_MAX_PAYMENTS, &n) !=
	    SENIM_OK)
		return -1;
	flows[0] = (struct gesv_flow){ .day = o->start,
				       .amount = -(o->amount_tiyn - o->fee_tiyn) };
	size_t k = 1;
	for (size_t i = 0; i < n; i++)
		if (rows[i].total > 0)
			flows[k++] = (struct gesv_flow){ .day = rows[i].due,
							 .amount = rows[i].total };
	if (gesv_solve(flows, k, &g) != SENIM_OK)
		return -1;
	return g.bp;
}

/* The amount, term, rate, payments and method of an offer within the
 * application, the limit and the product's maxima (no fee, no ГЭСВ). */
static void offer_terms(const struct product *p, const struct application *a,
			int64_t limit_amount_tiyn, int64_t limit_term_days, int32_t start,
			struct decision_offer *o)
{
	memset(o, 0, sizeof(*o));
	o->amount_tiyn =
		min64(min64(a->amount_tiyn, limit_amount_tiyn), p->amount_max_tiyn);
	o->term_days = min64(min64(a->term_days, limit_term_days), p->term_max_days);
	o->rate_bp = p->rate_bp;
	o->start = start;
	o->single = strcmp(a->method, "single") == 0;
	o->payments = o->single ? 1 : (o->term_days / 30 > 0 ? o->term_days / 30 : 1);
	o->gesv_annuity_bp = o->gesv_differentiated_bp = o->gesv_single_bp = -1;
}

void decisions_offer_asked(const struct product *p, const struct application *a,
			   int32_t start, struct decision_offer *o)
{
	offer_terms(p, a, INT64_MAX, INT64_MAX, start, o);
}

/* The largest total of one payment of `method`'s schedule; -1 when none. */
static int64_t largest_payment(const struct decision_offer *o,
			       enum schedule_method method)
{
	static _Thread_local struct schedule_row rows[SCHEDULE_MAX_PAYMENTS];
	size_t n = 0;
	if (decisions_offer_schedule(o, method, rows, SCHEDULE_MAX_PAYMENTS, &n) !=
		    SENIM_OK ||
	    n == 0)
		return -1;
	int64_t most = 0;
	for (size_t i = 0; i < n; i++)
		if (rows[i].total > most)
			most = rows[i].total;
	return most;
}

int64_t decisions_offer_instalment(const struct decision_offer *o)
{
	if (o->single) {
		/* One payment after the term: what is repaid, spread over the
		 * months the term spans, up — a term within a month counts
		 * whole in that month (a choice to verify against the ARDFM's
		 * КДН rule, docs/scoring.md). */
		int64_t total = largest_payment(o, SCHEDULE_SINGLE);
		if (total < 0 || o->term_days < 1)
			return -1;
		int64_t months = (o->term_days + 29) / 30;
		return (total + months - 1) / months;
	}
	int64_t annuity = largest_payment(o, SCHEDULE_ANNUITY);
	int64_t differentiated = largest_payment(o, SCHEDULE_DIFFERENTIATED);
	if (annuity < 0 || differentiated < 0)
		return -1;
	return annuity > differentiated ? annuity : differentiated;
}

enum decision_offer_refusal
decisions_offer_compute(const struct product *p, const struct application *a,
			int64_t limit_amount_tiyn, int64_t limit_term_days, int32_t start,
			const struct loan_rules_in_force *rules, struct decision_offer *o,
			struct loan_rule_refusal *rule)
{
	memset(rule, 0, sizeof(*rule));
	offer_terms(p, a, limit_amount_tiyn, limit_term_days, start, o);
	if (o->amount_tiyn < p->amount_min_tiyn || o->term_days < p->term_min_days)
		return DECISION_OFFER_BELOW_PRODUCT;
	/* The fee of a share of the amount, half-up to the tiyn. */
	o->fee_tiyn =
		p->issue_fee_tiyn + (o->amount_tiyn * p->issue_fee_bp + 5000) / 10000;
	if (o->fee_tiyn >= o->amount_tiyn)
		return DECISION_OFFER_INVALID;
	int64_t worst;
	if (o->single) {
		worst = o->gesv_single_bp = gesv_of(o, SCHEDULE_SINGLE);
	} else {
		o->gesv_annuity_bp = gesv_of(o, SCHEDULE_ANNUITY);
		o->gesv_differentiated_bp = gesv_of(o, SCHEDULE_DIFFERENTIATED);
		worst = o->gesv_annuity_bp < 0 || o->gesv_differentiated_bp < 0
				? -1
				: (o->gesv_annuity_bp > o->gesv_differentiated_bp
					   ? o->gesv_annuity_bp
					   : o->gesv_differentiated_bp);
	}
	if (worst < 0)
		return DECISION_OFFER_INVALID;
	/* The law on the offer as made: the dearest schedule must keep it, so
	 * whichever the borrower chooses does. */
	struct loan_offer lo = { .amount_tiyn = o->amount_tiyn,
				 .term_days = o->term_days,
				 .annual_rate_bp = o->rate_bp,
				 .effective_rate_bp = worst };
	if (loan_rules_check_offer(rules, &lo, rule) != LOAN_BREACH_NONE)
		return DECISION_OFFER_LOAN_RULE;
	return DECISION_OFFER_MADE;
}

static enum senim_result offer_insert(struct store_tx *tx,
				      const struct decision_submit *op, int64_t now)
{
	const struct decision_offer *o = &op->offer;
#define GESV_VAL(x) ((x) < 0 ? SV_NULL() : SV_INT(x))
	return store_exec(
		tx,
		"INSERT INTO offers (application_id, decision_id, subject_id, "
		"amount_tiyn,"
		" term_days, payments, rate_bp, fee_tiyn, start_day, gesv_annuity_bp,"
		" gesv_differentiated_bp, gesv_single_bp, created_at) VALUES ($1, $2, $3,"
		" $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
		(struct store_val[]){ SV_TEXT(op->app.id), SV_TEXT(op->decision.id),
				      SV_TEXT(op->app.subject_id), SV_INT(o->amount_tiyn),
				      SV_INT(o->term_days), SV_INT(o->payments),
				      SV_INT(o->rate_bp), SV_INT(o->fee_tiyn),
				      SV_INT(o->start), GESV_VAL(o->gesv_annuity_bp),
				      GESV_VAL(o->gesv_differentiated_bp),
				      GESV_VAL(o->gesv_single_bp), SV_INT(now) },
		13, NULL);
#undef GESV_VAL
}

enum senim_result decisions_offer_read_tx(struct store_tx *tx, void *arg)
{
	struct decision_offer_read *op = arg;
	struct application a;
	struct store_rows *r = NULL;
	op->none = 0;
	enum senim_result err = applications_load_in(tx, op->subject_id, op->id, &a);
	if (err)
		return err;
	err = store_query_one(
		tx,
		"SELECT amount_tiyn, term_days, payments, rate_bp, fee_tiyn, start_day,"
		" COALESCE(gesv_annuity_bp, -1), COALESCE(gesv_differentiated_bp, -1),"
		" COALESCE(gesv_single_bp, -1) FROM offers WHERE application_id = $1",
		(struct store_val[]){ SV_TEXT(op->id) }, 1, &r);
	if (err == SENIM_ERR_NOT_FOUND) {
		op->none = 1;
		err = SENIM_OK;
	} else if (err) {
		return err;
	} else {
		struct decision_offer *o = &op->offer;
		o->amount_tiyn = store_rows_int(r, 0);
		o->term_days = store_rows_int(r, 1);
		o->payments = store_rows_int(r, 2);
		o->rate_bp = store_rows_int(r, 3);
		o->fee_tiyn = store_rows_int(r, 4);
		o->start = (int32_t)store_rows_int(r, 5);
		o->gesv_annuity_bp = store_rows_int(r, 6);
		o->gesv_differentiated_bp = store_rows_int(r, 7);
		o->gesv_single_bp = store_rows_int(r, 8);
		o->single = o->gesv_single_bp >= 0;
		store_rows_free(r);
	}
	char object[APPLICATION_ID_LEN + 16];
	snprintf(object, sizeof(object), "application:%s", op->id);
	struct audit_record rec = { .actor = op->actor,
				    .operation = "application.offer_read",
				    .object = object,
				    .subject_id = op->subject_id,
				    .categories = "",
				    .purpose = "legal_obligation",
				    .outcome = "success",
				    .request_id = op->request_id };
	return audit_append(tx, op->kr, &rec);
}

/* ---- submitting --------------------------------------------------------------------- */

enum senim_result decisions_submit_check(struct store_tx *tx, void *arg)
{
	struct decision_submit *op = arg;
	op->not_open = 0;
	memset(&op->missing, 0, sizeof(op->missing));
	enum senim_result err =
		applications_load_in(tx, op->subject_id, op->id, &op->app);
	if (err)
		return err;
	if (strcmp(op->app.state, "open") != 0) {
		op->not_open = 1;
		return SENIM_OK;
	}
	return applications_missing_in(tx, &op->app, &op->missing);
}

void decision_submit_dispose(void *arg)
{
	struct decision_submit *op = arg;
	for (size_t i = 0; i < op->nqueries; i++)
		transfer_query_dispose(&op->queries[i]);
	buf_release(&op->sealed);
}

/* The services a decision asks: those speaking a query's API whose purposes
 * include loan_application_review. */
static int wanted(const struct recipient_service *s)
{
	if (!(s->purposes & PURPOSE_BIT(PURPOSE_LOAN_APPLICATION_REVIEW)))
		return 0;
	switch (s->api) {
	case RECIPIENT_API_CREDIT_REPORT:
	case RECIPIENT_API_PHONE_CHECK:
	case RECIPIENT_API_FAMILY_TIES:
	case RECIPIENT_API_ADDRESS:
	case RECIPIENT_API_LEGAL_CAPACITY:
		return 1;
	default:
		return 0;
	}
}

/* The newest of the answers of `api` that came back, or NULL. */
static const json_t *answer_of(const struct decision_submit *op, enum recipient_api api)
{
	const json_t *got = NULL;
	for (size_t i = 0; i < op->nqueries; i++)
		if (op->started[i] && op->queries[i].api == api &&
		    op->queries[i].result == TRANSFER_OK && op->queries[i].received)
			got = op->queries[i].received;
	return got;
}

/* Law 56-V art. 3(3-3): 1 when a credit report that came back shows the
 * borrower's voluntary refusal of loans, 0 when reports came back and none
 * shows it, -1 when no report came back at all. */
static int self_exclusion_of(const struct decision_submit *op)
{
	int seen = -1;
	for (size_t i = 0; i < op->nqueries; i++) {
		const struct transfer_query *q = &op->queries[i];
		if (!op->started[i] || q->api != RECIPIENT_API_CREDIT_REPORT ||
		    q->result != TRANSFER_OK)
			continue;
		if (q->self_excluded)
			return 1;
		seen = 0;
	}
	return seen;
}

/* Worst overdue with us and loans repaid, from the loans table. */
static enum senim_result lender_history(struct store_tx *tx, const char *subject_id,
					struct score_inputs *in)
{
	struct store_rows *r = NULL;
	enum senim_result err = store_query_one(
		tx,
		"SELECT COUNT(*), COALESCE(MAX(overdue_days), 0),"
		" COALESCE(SUM(CASE WHEN status = 'closed' THEN 1 ELSE 0 END), 0)"
		" FROM loans WHERE subject_id = $1",
		(struct store_val[]){ SV_TEXT(subject_id) }, 1, &r);
	if (err)
		return err;
	int64_t loans = store_rows_int(r, 0);
	in->lender_overdue_days = capped(store_rows_int(r, 1), SCORE_COUNT_MAX);
	in->lender_loans_repaid = capped(store_rows_int(r, 2), SCORE_COUNT_MAX);
	store_rows_free(r);
	if (loans == 0)
		in->missing |= SCORE_IN_LENDER_HISTORY;
	return SENIM_OK;
}

/* The inputs as sealed: the numbers, the missing bits and the birth date;
 * debt_payments_tiyn is the bureau's and the new loan's together, the new
 * loan's share beside it. */
static json_t *inputs_json(const struct score_inputs *in, int64_t new_payment_tiyn)
{
	return json_pack("{s:I,s:I,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
			 "new_loan_payment_tiyn", (json_int_t)new_payment_tiyn, "missing",
			 (json_int_t)in->missing, "decision_date", in->decision_date,
			 "birth_date", in->birth_date, "bureau_overdue_days",
			 (json_int_t)in->bureau_overdue_days, "active_loans",
			 (json_int_t)in->active_loans, "debt_payments_tiyn",
			 (json_int_t)in->debt_payments_tiyn, "enquiries_30d",
			 (json_int_t)in->enquiries_30d, "income_tiyn",
			 (json_int_t)in->income_tiyn, "operator_score",
			 (json_int_t)in->operator_score, "lender_loans_repaid",
			 (json_int_t)in->lender_loans_repaid, "lender_overdue_days",
			 (json_int_t)in->lender_overdue_days);
}

/* The birth date from the newest identity record; "" when none. */
static enum senim_result birth_date_in(struct store_tx *tx, const struct vault_dek *dek,
				       const char *subject_id, char out[11])
{
	json_t *fields = NULL;
	out[0] = '\0';
	enum senim_result err = subjects_latest_fields_in(tx, dek, subject_id,
							  CATEGORY_IDENTITY, &fields);
	if (err)
		return err;
	const char *s = json_string_value(json_object_get(fields, "birth_date"));
	if (s && strlen(s) == 10)
		memcpy(out, s, 11);
	json_decref(fields);
	return SENIM_OK;
}

static const char *state_of(enum score_decision d)
{
	return d == SCORE_APPROVE ? "approved"
	       : d == SCORE_REFER ? "referred"
				  : "declined";
}

/* The card's evaluation of `in` into *res; inputs the card cannot take (no
 * birth date, a date before the card) have no automatic answer: referred,
 * an underwriter decides. */
static void evaluate_or_refer(const struct scorecard *card, const struct score_inputs *in,
			      struct score_result *res)
{
	char why[256];
	if (scorecard_evaluate(card, in, res, why, sizeof(why)) == SENIM_OK)
		return;
	memset(res, 0, sizeof(*res));
	res->decision = SCORE_REFER;
	snprintf(res->card_id, sizeof(res->card_id), "%s", card->id);
	res->card_version = card->version;
	snprintf(res->card_digest, sizeof(res->card_digest), "%s", card->digest);
}

/* The decision, stored, in the writer's batch. */
static enum senim_result decide_tx(struct store_tx *tx, void *arg)
{
	struct decision_submit *op = arg;
	struct application *a = &op->app;
	struct vault_dek *dek = NULL;
	struct score_inputs in;
	struct score_result res;
	json_t *inputs = NULL;
	int64_t new_payment = 0;
	memset(&in, 0, sizeof(in));
	op->not_open = 0;
	enum senim_result err = applications_load_in(tx, op->subject_id, op->id, a);
	if (err)
		return err;
	if (strcmp(a->state, "open") != 0) {
		op->not_open = 1;
		return SENIM_OK;
	}
	int64_t now = clock_now_us();
	struct decision *d = &op->decision;
	memset(d, 0, sizeof(*d));
	id_time_ordered(d->id, "dcs_", now / 1000);
	err = vault_dek_load(tx, op->ex->kr, op->subject_id, &dek);
	if (err)
		goto fail;
	char stamp[CLOCK_RFC3339_LEN];
	clock_format_rfc3339(now, stamp);
	memcpy(in.decision_date, stamp, 10);
	in.decision_date[10] = '\0';
	err = birth_date_in(tx, dek, op->subject_id, in.birth_date);
	if (err)
		goto fail;
	/* The income the application declared; none: missing, and the
	 * card's `missing` line for it decides. */
	int declared = 0;
	err = applications_income_in(tx, dek, a, &declared, &in.income_tiyn);
	if (err)
		goto fail;
	if (!declared)
		in.missing |= SCORE_IN_INCOME;
	decisions_inputs_from(answer_of(op, RECIPIENT_API_CREDIT_REPORT),
			      answer_of(op, RECIPIENT_API_PHONE_CHECK), &in);
	err = lender_history(tx, op->subject_id, &in);
	if (err)
		goto fail;
	struct product p;
	err = products_get_in(tx, a->product_code, a->product_version, &p);
	if (err)
		goto fail;
	int32_t start = (int32_t)(now / 1000000 / 86400);
	int64_t bureau_payments = in.debt_payments_tiyn;
	/* The debt burden counts the new loan's own payment too, first as the
	 * application asks it (docs/scoring.md). */
	decisions_offer_asked(&p, a, start, &op->offer);
	new_payment = decisions_offer_instalment(&op->offer);
	if (new_payment < 0)
		new_payment = 0; /* no schedule: no offer either, see below */
	char rule_reason[64] = "";
	int excluded = self_exclusion_of(op);
	for (int pass = 1;; pass++) {
		in.debt_payments_tiyn =
			capped(bureau_payments + new_payment, SCORE_MONEY_MAX);
		evaluate_or_refer(op->card, &in, &res);
		op->offered = 0;
		rule_reason[0] = '\0';
		/* Law 56-V art. 3(3-3), the rule self_exclusion: no microcredit
		 * when the credit report shows a voluntary refusal of loans.
		 * Without any report the refusal cannot be ruled out: not
		 * approved either — a decline (docs/decisions.md), unless the
		 * card declined already, whose reasons then stand. */
		if (op->rules->self_exclusion_check &&
		    (excluded > 0 || (excluded < 0 && res.decision != SCORE_DECLINE))) {
			res.decision = SCORE_DECLINE;
			res.nreasons = 0;
			snprintf(rule_reason, sizeof(rule_reason), "%s",
				 excluded > 0 ? DECISION_SELF_EXCLUDED
					      : DECISION_SELF_UNCHECKED);
		}
		if (res.decision != SCORE_APPROVE)
			break;
		/* An approval is an offer, or no approval: an offer outside a
		 * loan rule declines (the rule named); one the product cannot
		 * hold (the limit under its minimum) goes to an underwriter. */
		enum decision_offer_refusal made = decisions_offer_compute(
			&p, a, res.amount_limit_tiyn, res.term_limit_days, start,
			op->rules, &op->offer, &op->rule);
		if (made == DECISION_OFFER_LOAN_RULE) {
			res.decision = SCORE_DECLINE;
			res.nreasons = 0;
			snprintf(rule_reason, sizeof(rule_reason),
				 "loan_rule_breached:%s",
				 op->rule.code ? op->rule.code : "offer_invalid");
			break;
		}
		if (made != DECISION_OFFER_MADE) {
			res.decision = SCORE_REFER;
			res.nreasons = 0;
			break;
		}
		/* The burden counted must not be below the offer's own: a
		 * shorter term under the limit can raise the instalment. */
		int64_t offered = decisions_offer_instalment(&op->offer);
		if (offered >= 0 && offered <= new_payment) {
			op->offered = 1;
			break;
		}
		if (offered < 0 || pass == DECISION_PASSES_MAX) {
			res.decision = SCORE_REFER;
			res.nreasons = 0;
			break;
		}
		new_payment = offered;
	}
	snprintf(d->kind, sizeof(d->kind), "automatic");
	snprintf(d->outcome, sizeof(d->outcome), "%s",
		 scorecard_decision_name(res.decision));
	snprintf(d->status, sizeof(d->status), "final");
	size_t off = 0;
	for (size_t i = 0; i < res.nreasons; i++) {
		int n = snprintf(d->reasons + off, sizeof(d->reasons) - off, "%s%s",
				 i ? "," : "", scorecard_reason_code(res.reasons[i]));
		if (n < 0 || (size_t)n >= sizeof(d->reasons) - off)
			break;
		off += (size_t)n;
	}
	if (*rule_reason)
		snprintf(d->reasons, sizeof(d->reasons), "%s", rule_reason);
	else if (op->rules->self_exclusion_check && excluded < 0 &&
		 res.decision == SCORE_DECLINE)
		/* The card's decline stands with its reasons; that no report
		 * came back is said too, so that no override lends without
		 * one (staff_override). */
		snprintf(d->reasons + off, sizeof(d->reasons) - off, "%s%s",
			 off ? "," : "", DECISION_SELF_UNCHECKED);
	d->points = res.total;
	d->amount_limit_tiyn = res.amount_limit_tiyn;
	d->term_limit_days = res.term_limit_days;
	d->created_at = now;
	inputs = inputs_json(&in, new_payment);
	if (!inputs) {
		err = SENIM_ERR_NOMEM;
		goto fail;
	}
	buf_reset(&op->sealed);
	err = vault_seal_record(dek, op->subject_id, INPUTS_BINDING, 1, inputs,
				&op->sealed);
	if (err)
		goto fail;
	err = store_exec(
		tx,
		"INSERT INTO decisions (id, application_id, subject_id, kind, outcome,"
		" status, scorecard_id, scorecard_version, scorecard_digest, points,"
		" reasons, inputs_sealed, amount_limit_tiyn, term_limit_days,"
		" decided_by, created_at, request_id) VALUES ($1, $2, $3, 'automatic',"
		" $4, 'final', $5, $6, $7, $8, $9, $10, $11, $12, 'system', $13, $14)",
		(struct store_val[]){
			SV_TEXT(d->id), SV_TEXT(a->id), SV_TEXT(a->subject_id),
			SV_TEXT(d->outcome), SV_TEXT(res.card_id),
			SV_INT(res.card_version), SV_TEXT(res.card_digest),
			SV_INT(d->points), SV_TEXT(d->reasons),
			SV_BLOB(op->sealed.data, op->sealed.len),
			SV_INT(d->amount_limit_tiyn), SV_INT(d->term_limit_days),
			SV_INT(now), SV_TEXT(op->request_id) },
		14, NULL);
	if (err)
		goto fail;
	const char *state = state_of(res.decision);
	char reason[sizeof(a->decline_reason)] = "";
	if (res.decision == SCORE_DECLINE && res.nreasons)
		snprintf(reason, sizeof(reason), "%s",
			 scorecard_reason_code(res.reasons[0]));
	else if (strcmp(rule_reason, DECISION_SELF_EXCLUDED) == 0)
		snprintf(reason, sizeof(reason), "%s", DECISION_SELF_EXCLUDED);
	else if (strcmp(rule_reason, DECISION_SELF_UNCHECKED) == 0)
		snprintf(reason, sizeof(reason), "%s", DECISION_SELF_UNCHECKED);
	else if (*rule_reason)
		snprintf(reason, sizeof(reason), "loan_rule_breached");
	if (op->offered) {
		err = offer_insert(tx, op, now);
		if (err)
			goto fail;
	}
	int64_t changed = 0;
	err = store_exec(tx,
			 "UPDATE applications SET state = $1, decline_reason = $2,"
			 " updated_at = $3 WHERE id = $4 AND state = 'open'",
			 (struct store_val[]){ SV_TEXT(state),
					       *reason ? SV_TEXT(reason) : SV_NULL(),
					       SV_INT(now), SV_TEXT(a->id) },
			 4, &changed);
	if (err)
		goto fail;
	if (changed != 1) {
		err = SENIM_ERR_CONFLICT;
		goto fail;
	}
	/* Law 573-II Art. 19(2)(8): the application, with the IIN, the
	 * amount and the purpose, goes to GKB in real time; it is recorded in
	 * the write that takes it out of `open` (the submission is the
	 * filing), whatever the decision, and the handler wakes the reporter
	 * once this commits.  The contract number is the application's id. */
	int recorded = 0;
	err = loan_events_append_tx(
		tx, op->ex->kr, dek,
		&(struct loan_event_new){ .subject_id = a->subject_id,
					  .contract_number = a->id,
					  .event = BUREAU_EVENT_APPLIED,
					  .occurred_on = clock_kz_day(now),
					  .amount_tiyn = a->amount_tiyn,
					  .outstanding_tiyn = BUREAU_ABSENT,
					  .overdue_days = BUREAU_ABSENT,
					  .purpose = APPLIED_PURPOSE,
					  .actor = op->actor,
					  .request_id = op->request_id },
		&recorded);
	if (err)
		goto fail;
	snprintf(a->state, sizeof(a->state), "%s", state);
	snprintf(a->decline_reason, sizeof(a->decline_reason), "%s", reason);
	a->updated_at = now;
	char object[APPLICATION_ID_LEN + 16];
	snprintf(object, sizeof(object), "application:%s", a->id);
	struct audit_record rec = { .actor = op->actor,
				    .operation = "application.decide",
				    .object = object,
				    .subject_id = a->subject_id,
				    .categories = "",
				    .purpose = PURPOSE_U1,
				    .outcome = "success",
				    .request_id = op->request_id };
	err = audit_append(tx, op->ex->kr, &rec);
fail:
	json_decref(inputs);
	sodium_memzero(&in, sizeof(in));
	sodium_memzero(&new_payment, sizeof(new_payment));
	vault_dek_free(dek);
	return err;
}

static void decided(enum senim_result result, void *arg)
{
	struct decision_submit *op = arg;
	op->done(result, op->done_arg);
}

/* The last query to end (or the start itself) writes the decision. */
static void one_ended(struct decision_submit *op)
{
	if (atomic_fetch_sub(&op->outstanding, 1) != 1)
		return;
	enum senim_result err =
		store_write_async(op->ex->store, decide_tx, op, decided, op);
	if (err)
		op->done(err, op->done_arg);
}

static void query_done(enum senim_result result, void *arg)
{
	/* A query that could not run leaves its input missing: its result
	 * stays what it was (never TRANSFER_OK) and the card decides. */
	(void)result;
	struct decision_submit *op = arg;
	one_ended(op);
}

enum senim_result decisions_submit_start(void *arg, store_done_fn done, void *done_arg)
{
	struct decision_submit *op = arg;
	const struct recipients *r = op->ex->recipients;
	op->done = done;
	op->done_arg = done_arg;
	buf_init(&op->sealed, 4096);
	op->nqueries = 0;
	for (size_t i = 0; r && i < r->n; i++)
		for (size_t j = 0; j < r->recipients[i].nservices; j++) {
			const struct recipient_service *s = &r->recipients[i].services[j];
			if (!wanted(s) || op->nqueries == DECISION_QUERIES_MAX)
				continue;
			struct transfer_query *q = &op->queries[op->nqueries++];
			memset(q, 0, sizeof(*q));
			q->ex = op->ex;
			q->actor = op->actor;
			q->request_id = op->request_id;
			q->by_system = 1;
			q->purpose = PURPOSE_LOAN_APPLICATION_REVIEW;
			q->subject_id = op->subject_id;
			q->recipient = r->recipients[i].code;
			q->service = s->code;
			q->api = s->api;
			q->result = TRANSFER_UNAVAILABLE;
		}
	/* One count for each query and one for this start, so that no query
	 * ending early writes the decision before all have started. */
	atomic_store(&op->outstanding, (int)op->nqueries + 1);
	for (size_t i = 0; i < op->nqueries; i++) {
		if (transfer_query_start(&op->queries[i], query_done, op) == SENIM_OK)
			op->started[i] = 1;
		else
			one_ended(op);
	}
	one_ended(op);
	return SENIM_OK;
}

/* ---- staff, under U1 ---------------------------------------------------------------- */

static enum senim_result staff_audit(struct store_tx *tx, const struct decision_staff *op,
				     const char *subject_id, const char *outcome)
{
	char object[APPLICATION_ID_LEN + 16];
	snprintf(object, sizeof(object), "application:%s", op->id);
	struct audit_record rec = {
		.actor = op->actor,
		.operation = op->act == DECISION_STAFF_LOCK	 ? "application.lock"
			     : op->act == DECISION_STAFF_UNLOCK	 ? "application.unlock"
			     : op->act == DECISION_STAFF_CONFIRM ? "application.confirm"
								 : "application.decide",
		.object = object,
		.subject_id = subject_id,
		.categories = "",
		.purpose = PURPOSE_U1,
		.outcome = outcome,
		.request_id = op->request_id
	};
	return audit_append(tx, op->kr, &rec);
}

/* The automatic decision's sealed inputs on application `a`, opened: the
 * bureau's monthly payments (what it counted less the new loan's share),
 * the declared income and the missing bits.  *found 0 when there is no
 * automatic decision or it sealed none. */
static enum senim_result automatic_inputs_in(struct store_tx *tx,
					     const struct keyring *kr,
					     const struct application *a,
					     struct score_inputs *in, int *found)
{
	struct store_rows *r = NULL;
	struct vault_dek *dek = NULL;
	json_t *inputs = NULL;
	*found = 0;
	enum senim_result err = store_query_one(
		tx,
		"SELECT inputs_sealed FROM decisions WHERE application_id = $1 AND"
		" kind = 'automatic' AND inputs_sealed IS NOT NULL"
		" ORDER BY created_at DESC, id DESC LIMIT 1",
		(struct store_val[]){ SV_TEXT(a->id) }, 1, &r);
	if (err == SENIM_ERR_NOT_FOUND)
		return SENIM_OK;
	if (err)
		return err;
	err = vault_dek_load(tx, kr, a->subject_id, &dek);
	if (err)
		goto fail;
	size_t len = 0;
	const void *blob = store_rows_blob(r, 0, &len);
	err = vault_open_record(dek, a->subject_id, INPUTS_BINDING, 1, blob, len,
				&inputs);
	if (err)
		goto fail;
	int ok = 1;
	int64_t counted = int_of(inputs, "debt_payments_tiyn", &ok);
	int64_t new_loan = int_of(inputs, "new_loan_payment_tiyn", &ok);
	in->income_tiyn = int_of(inputs, "income_tiyn", &ok);
	in->missing = (unsigned)int_of(inputs, "missing", &ok);
	in->debt_payments_tiyn = counted > new_loan ? counted - new_loan : 0;
	*found = ok;
fail:
	json_decref(inputs);
	vault_dek_free(dek);
	store_rows_free(r);
	return err;
}

/* U1 and the КДН: an underwriter's offer `o` keeps the card's debt-burden
 * limit as an automatic approval does — the bureau's payments plus the
 * offer's own largest instalment over the declared income, by the same
 * functions (decisions_offer_instalment, score_debt_burden_bp).  Sets
 * op->burden; an unknown burden refuses unless the card itself takes one
 * (its `missing` line gives points) or sets no limit. */
static enum senim_result staff_burden(struct store_tx *tx, struct decision_staff *op,
				      const struct decision_offer *o)
{
	const struct scorecard *c = op->card;
	struct score_inputs in;
	int found = 0;
	op->burden = DECISION_BURDEN_KEPT;
	if (!c) {
		/* No card in force: its limit cannot be known (api refuses
		 * before, decisions_unavailable). */
		op->burden = DECISION_BURDEN_UNKNOWN;
		return SENIM_OK;
	}
	if (c->max_debt_burden_bp >= SCORE_DEBT_BURDEN_CAP_BP)
		return SENIM_OK; /* the card sets no limit */
	memset(&in, 0, sizeof(in));
	enum senim_result err = automatic_inputs_in(tx, op->kr, &op->app, &in, &found);
	int64_t instalment = decisions_offer_instalment(o);
	if (err)
		goto done;
	op->burden_limit_bp = c->max_debt_burden_bp;
	if (!found || (in.missing & (SCORE_IN_BUREAU | SCORE_IN_INCOME)) ||
	    instalment < 0) {
		if (c->attr[SCORE_ATTR_DEBT_BURDEN].missing != SCORE_MISSING_POINTS)
			op->burden = DECISION_BURDEN_UNKNOWN;
		goto done;
	}
	int64_t bp = score_debt_burden_bp(
		capped(in.debt_payments_tiyn + instalment, SCORE_MONEY_MAX),
		in.income_tiyn);
	if (bp > c->max_debt_burden_bp)
		op->burden = DECISION_BURDEN_OVER_LIMIT;
done:
	sodium_memzero(&in, sizeof(in));
	return err;
}

/* One chosen value `v` of `field` at most what the application asked (which
 * the product's maximum bounded already) and the card's limit (0: none), and
 * at least the product's minimum; 1 and op->bound_* set when outside. */
static int bound_broken(struct decision_staff *op, const char *field, int64_t v,
			int64_t asked, int64_t card, int64_t min)
{
	const char *rule = NULL;
	int64_t limit = 0;
	if (v > asked)
		rule = "within_application", limit = asked;
	else if (card > 0 && v > card)
		rule = "within_scorecard_limit", limit = card;
	else if (v < min)
		rule = "product_min", limit = min;
	if (!rule)
		return 0;
	op->bound_field = field;
	op->bound_rule = rule;
	op->bound_limit = limit;
	return 1;
}

/* U1: the underwriter's chosen amount and term (0: not chosen) may only make
 * the offer smaller: 1 when one is outside its bounds (op->bound_*). */
static int chosen_outside(struct decision_staff *op, const struct product *p,
			  int64_t card_amount, int64_t card_term)
{
	const struct application *a = &op->app;
	return (op->chosen_amount_tiyn > 0 &&
		bound_broken(op, "amount_tiyn", op->chosen_amount_tiyn, a->amount_tiyn,
			     card_amount, p->amount_min_tiyn)) ||
	       (op->chosen_term_days > 0 &&
		bound_broken(op, "term_days", op->chosen_term_days, a->term_days,
			     card_term, p->term_min_days));
}

/* The underwriter's decision: the row, the offer, the state, the lock. */
static enum senim_result staff_decide(struct store_tx *tx, struct decision_staff *op,
				      int64_t now, const char *from, const char *maker)
{
	struct application *a = &op->app;
	struct decision *d = &op->decision;
	struct decision last;
	int found = 0;
	char rule_reason[64] = "";
	enum senim_result err = decisions_latest_in(tx, a->id, &last, &found);
	if (err)
		return err;
	int64_t amount_bound = found ? last.amount_limit_tiyn : 0;
	int64_t term_bound = found ? last.term_limit_days : 0;
	memset(d, 0, sizeof(*d));
	id_time_ordered(d->id, "dcs_", now / 1000);
	int approve = op->approve;
	if (approve) {
		struct product p;
		err = products_get_in(tx, a->product_code, a->product_version, &p);
		if (err)
			return err;
		/* The card's limit, when it gave one (amount_bound, term_bound
		 * above), still bounds the offer; on a confirmation `last` is
		 * the pending override, whose limit is the maker's chosen
		 * terms (or none).  The underwriter's smaller terms, within
		 * their bounds, bound it instead: the offer is made for them. */
		if (chosen_outside(op, &p, amount_bound, term_bound))
			return SENIM_OK;
		if (op->chosen_amount_tiyn > 0)
			amount_bound = op->chosen_amount_tiyn;
		if (op->chosen_term_days > 0)
			term_bound = op->chosen_term_days;
		switch (decisions_offer_compute(
			&p, a, amount_bound > 0 ? amount_bound : a->amount_tiyn,
			term_bound > 0 ? term_bound : a->term_days,
			(int32_t)(now / 1000000 / 86400), op->rules, &op->offer,
			&op->rule)) {
		case DECISION_OFFER_MADE:
			/* An offer over the card's debt-burden limit is never
			 * made, by an underwriter either: nothing changes. */
			err = staff_burden(tx, op, &op->offer);
			if (err || op->burden != DECISION_BURDEN_KEPT)
				return err;
			op->offered = 1;
			break;
		case DECISION_OFFER_LOAN_RULE:
			/* A confirmed override that would break a rule is no
			 * override: nothing changes. */
			if (maker) {
				op->offer_impossible = 1;
				return SENIM_OK;
			}
			/* Terms the underwriter chose that break a rule are
			 * refused, not the application: nothing changes. */
			if (op->chosen_amount_tiyn > 0 || op->chosen_term_days > 0) {
				op->rule_refused = 1;
				return SENIM_OK;
			}
			approve = 0;
			snprintf(rule_reason, sizeof(rule_reason),
				 "loan_rule_breached:%s",
				 op->rule.code ? op->rule.code : "offer_invalid");
			break;
		default:
			op->offer_impossible = 1;
			return SENIM_OK;
		}
	}
	snprintf(d->kind, sizeof(d->kind), "underwriter");
	snprintf(d->outcome, sizeof(d->outcome), "%s", approve ? "approve" : "decline");
	snprintf(d->status, sizeof(d->status), "final");
	if (*rule_reason)
		snprintf(d->reasons, sizeof(d->reasons), "%s", rule_reason);
	else if (!approve)
		snprintf(d->reasons, sizeof(d->reasons), "%s",
			 scorecard_reason_code(op->reason));
	/* The bounds of the offer: the card's limit, or the terms chosen. */
	d->amount_limit_tiyn = amount_bound;
	d->term_limit_days = term_bound;
	d->created_at = now;
	err = store_exec(
		tx,
		"INSERT INTO decisions (id, application_id, subject_id, kind, outcome,"
		" status, reasons, amount_limit_tiyn, term_limit_days, decided_by,"
		" confirmed_by, created_at, request_id) VALUES ($1, $2, $3,"
		" 'underwriter', $4, 'final', $5, $6, $7, $8, $9, $10, $11)",
		(struct store_val[]){ SV_TEXT(d->id), SV_TEXT(a->id),
				      SV_TEXT(a->subject_id), SV_TEXT(d->outcome),
				      SV_TEXT(d->reasons), SV_INT(d->amount_limit_tiyn),
				      SV_INT(d->term_limit_days),
				      SV_TEXT(maker ? maker : op->actor),
				      maker ? SV_TEXT(op->actor) : SV_NULL(), SV_INT(now),
				      SV_TEXT(op->request_id) },
		11, NULL);
	if (err)
		return err;
	const char *state = approve ? "approved" : "declined";
	char reason[sizeof(a->decline_reason)] = "";
	if (!approve)
		snprintf(reason, sizeof(reason), "%s",
			 *rule_reason ? "loan_rule_breached"
				      : scorecard_reason_code(op->reason));
	int64_t changed = 0;
	err = store_exec(tx,
			 "UPDATE applications SET state = $1, decline_reason = $2,"
			 " updated_at = $3 WHERE id = $4 AND state = $5",
			 (struct store_val[]){
				 SV_TEXT(state), *reason ? SV_TEXT(reason) : SV_NULL(),
				 SV_INT(now), SV_TEXT(a->id), SV_TEXT(from) },
			 5, &changed);
	if (err)
		return err;
	if (changed != 1)
		return SENIM_ERR_CONFLICT;
	if (op->offered) {
		const struct decision_offer *o = &op->offer;
#define GESV_VAL(x) ((x) < 0 ? SV_NULL() : SV_INT(x))
		err = store_exec(
			tx,
			"INSERT INTO offers (application_id, decision_id, subject_id,"
			" amount_tiyn, term_days, payments, rate_bp, fee_tiyn, start_day,"
			" gesv_annuity_bp, gesv_differentiated_bp, gesv_single_bp,"
			" created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,"
			" $11, $12, $13)",
			(struct store_val[]){
				SV_TEXT(a->id), SV_TEXT(d->id), SV_TEXT(a->subject_id),
				SV_INT(o->amount_tiyn), SV_INT(o->term_days),
				SV_INT(o->payments), SV_INT(o->rate_bp),
				SV_INT(o->fee_tiyn), SV_INT(o->start),
				GESV_VAL(o->gesv_annuity_bp),
				GESV_VAL(o->gesv_differentiated_bp),
				GESV_VAL(o->gesv_single_bp), SV_INT(now) },
			13, NULL);
#undef GESV_VAL
		if (err)
			return err;
	}
	snprintf(a->state, sizeof(a->state), "%s", state);
	snprintf(a->decline_reason, sizeof(a->decline_reason), "%s", reason);
	a->updated_at = now;
	return store_exec(tx, "DELETE FROM application_locks WHERE application_id = $1",
			  (struct store_val[]){ SV_TEXT(a->id) }, 1, NULL);
}

/* 1 when the comma-separated list `reasons` holds `code`. */
static int has_reason(const char *reasons, const char *code)
{
	size_t n = strlen(code);
	for (const char *p = reasons; *p;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len == n && memcmp(p, code, n) == 0)
			return 1;
		p = end ? end + 1 : p + len;
	}
	return 0;
}

/* The override of an automatic decline: the maker's approval waits as
 * `pending_approval`; a different underwriter's confirmation makes it (with
 * its offer, or nothing when no offer fits or keeps the rules). */
static enum senim_result staff_override(struct store_tx *tx, struct decision_staff *op,
					int64_t now)
{
	struct store_rows *r = NULL;
	struct decision last;
	int found = 0;
	enum senim_result err = decisions_latest_in(tx, op->app.id, &last, &found);
	if (err)
		return err;
	if (op->act == DECISION_STAFF_DECIDE) {
		if (!found || strcmp(last.kind, "automatic") != 0 ||
		    strcmp(last.outcome, "decline") != 0 ||
		    strcmp(last.status, "final") != 0) {
			op->not_referred = 1;
			return SENIM_OK;
		}
		/* Law 56-V art. 3(3-3): a decline under the rule self_exclusion
		 * — the report showed the refusal, or no report came back to
		 * show it — is the law's, not the card's; no underwriter may
		 * lend. */
		if (has_reason(last.reasons, DECISION_SELF_EXCLUDED) ||
		    has_reason(last.reasons, DECISION_SELF_UNCHECKED)) {
			op->offer_impossible = 1;
			return SENIM_OK;
		}
		/* The maker's smaller terms, within their bounds (the card's
		 * limit of the decline, when it gave one), are kept as the
		 * pending decision's limit: the checker confirms that offer. */
		if (op->chosen_amount_tiyn > 0 || op->chosen_term_days > 0) {
			struct product p;
			err = products_get_in(tx, op->app.product_code,
					      op->app.product_version, &p);
			if (err)
				return err;
			if (chosen_outside(op, &p, last.amount_limit_tiyn,
					   last.term_limit_days))
				return SENIM_OK;
		}
		struct decision *d = &op->decision;
		memset(d, 0, sizeof(*d));
		id_time_ordered(d->id, "dcs_", now / 1000);
		snprintf(d->kind, sizeof(d->kind), "underwriter");
		snprintf(d->outcome, sizeof(d->outcome), "approve");
		snprintf(d->status, sizeof(d->status), "pending_approval");
		d->amount_limit_tiyn = op->chosen_amount_tiyn;
		d->term_limit_days = op->chosen_term_days;
		d->created_at = now;
		err = store_exec(
			tx,
			"INSERT INTO decisions (id, application_id, subject_id, kind,"
			" outcome, status, reasons, amount_limit_tiyn, term_limit_days,"
			" decided_by, created_at, request_id) VALUES ($1, $2, $3,"
			" 'underwriter', 'approve', 'pending_approval', '', $4, $5, $6, "
			"$7, $8)",
			(struct store_val[]){
				SV_TEXT(d->id), SV_TEXT(op->app.id),
				SV_TEXT(op->app.subject_id), SV_INT(d->amount_limit_tiyn),
				SV_INT(d->term_limit_days), SV_TEXT(op->actor),
				SV_INT(now), SV_TEXT(op->request_id) },
			8, NULL);
		if (err)
			return err;
		op->pending = 1;
		return staff_audit(tx, op, op->app.subject_id, "success");
	}
	if (!found || strcmp(last.status, "pending_approval") != 0 ||
	    strcmp(op->app.state, "declined") != 0) {
		op->nothing_pending = 1;
		return SENIM_OK;
	}
	err = store_query_one(tx, "SELECT decided_by FROM decisions WHERE id = $1",
			      (struct store_val[]){ SV_TEXT(last.id) }, 1, &r);
	if (err)
		return err;
	char maker[80];
	copy_col(r, 0, maker, sizeof(maker));
	store_rows_free(r);
	if (strcmp(maker, op->actor) == 0) {
		op->same_person = 1;
		return SENIM_OK;
	}
	/* The checker confirms the maker's terms (the pending limit) and
	 * chooses none. */
	op->approve = 1;
	op->chosen_amount_tiyn = op->chosen_term_days = 0;
	err = staff_decide(tx, op, now, "declined", maker);
	if (err || op->offer_impossible || op->burden != DECISION_BURDEN_KEPT)
		return err;
	return staff_audit(tx, op, op->app.subject_id, "success");
}

enum senim_result decisions_staff_tx(struct store_tx *tx, void *arg)
{
	struct decision_staff *op = arg;
	struct store_rows *r = NULL;
	memset(&op->refused, 0, sizeof(op->refused));
	op->not_referred = op->locked_by_other = op->offer_impossible = op->offered = 0;
	op->pending = op->nothing_pending = op->same_person = 0;
	op->burden = DECISION_BURDEN_KEPT;
	op->burden_limit_bp = 0;
	op->bound_field = op->bound_rule = NULL;
	op->bound_limit = 0;
	op->rule_refused = 0;
	enum senim_result err = applications_load_in(tx, NULL, op->id, &op->app);
	if (err)
		return err;
	struct subject_state state;
	err = subjects_state_in(tx, op->app.subject_id, &state);
	if (err)
		return err;
	uint32_t categories = 0;
	enum access_result why =
		access_decide(op->matrix, op->role, PURPOSE_LOAN_APPLICATION_REVIEW,
			      &state, &categories);
	if (why != ACCESS_GRANTED) {
		access_refusal_set(&op->refused, why, PURPOSE_LOAN_APPLICATION_REVIEW,
				   &state);
		memset(&op->app, 0, sizeof(op->app));
		return staff_audit(tx, op, NULL, "denied");
	}
	int64_t now = clock_now_us();
	/* Maker-checker: overriding an automatic decline takes two people. */
	if (op->act == DECISION_STAFF_CONFIRM ||
	    (op->act == DECISION_STAFF_DECIDE && op->approve &&
	     strcmp(op->app.state, "declined") == 0))
		return staff_override(tx, op, now);
	if (strcmp(op->app.state, "referred") != 0) {
		op->not_referred = 1;
		return SENIM_OK;
	}
	/* One underwriter works a case: another's live lock refuses; a lock
	 * not renewed for DECISION_LOCK_HOURS has lapsed. */
	err = store_query_one(tx,
			      "SELECT locked_by, locked_at FROM application_locks"
			      " WHERE application_id = $1",
			      (struct store_val[]){ SV_TEXT(op->id) }, 1, &r);
	int locked = err == SENIM_OK;
	if (err && err != SENIM_ERR_NOT_FOUND)
		return err;
	if (locked) {
		char by[80];
		copy_col(r, 0, by, sizeof(by));
		int64_t age = now - store_rows_int(r, 1);
		store_rows_free(r);
		int lapsed = age >= (int64_t)DECISION_LOCK_HOURS * 3600 * 1000000;
		if (strcmp(by, op->actor) != 0 && !lapsed) {
			op->locked_by_other = 1;
			return SENIM_OK;
		}
	}
	if (op->act == DECISION_STAFF_LOCK) {
		/* Taken, renewed, or taken over once lapsed. */
		err = store_exec(tx,
				 locked ? "UPDATE application_locks SET locked_by = $2,"
					  " locked_at = $3 WHERE application_id = $1"
					: "INSERT INTO application_locks (application_id,"
					  " locked_by, locked_at) VALUES ($1, $2, $3)",
				 (struct store_val[]){ SV_TEXT(op->id),
						       SV_TEXT(op->actor), SV_INT(now) },
				 3, NULL);
		if (err)
			return err;
	} else if (op->act == DECISION_STAFF_UNLOCK) {
		err = store_exec(
			tx, "DELETE FROM application_locks WHERE application_id = $1",
			(struct store_val[]){ SV_TEXT(op->id) }, 1, NULL);
		if (err)
			return err;
	} else {
		err = staff_decide(tx, op, now, "referred", NULL);
		if (err || op->offer_impossible || op->burden != DECISION_BURDEN_KEPT ||
		    op->bound_field || op->rule_refused)
			return err;
	}
	return staff_audit(tx, op, op->app.subject_id, "success");
}
