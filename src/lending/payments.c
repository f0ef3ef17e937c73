/*
 * payments.c — repayments and the borrower's loans (payments.h).
 */
#include "lending/payments.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "common/clock.h"
#include "connectors/bureau.h"
#include "exchange/loan_events.h"
#include "vault/vault.h"
#include "common/banned.h"

#define PURPOSE "loan_servicing"

int loan_id_valid(const char *id)
{
	return id && strncmp(id, "lon_", 4) == 0 && id_body_valid(id + 4);
}

static enum senim_result audit(struct store_tx *tx, const struct keyring *kr,
			       const char *actor, const char *request_id,
			       const char *operation, const char *object,
			       const char *subject_id)
{
	return audit_append(tx, kr,
			    &(struct audit_record){ .actor = actor,
						    .operation = operation,
						    .object = object,
						    .subject_id = subject_id,
						    .categories = "",
						    .purpose = PURPOSE,
						    .outcome = "success",
						    .request_id = request_id });
}

static void day_text(int32_t day, char out[11])
{
	int y, m, d;
	schedule_ymd(day, &y, &m, &d);
	snprintf(out, 11, "%04d-%02d-%02d", y, m, d);
}

/* ---- the row ------------------------------------------------------------------------ */

#define PAYMENT_COLUMNS                                                            \
	"id, loan_id, reference, kind, channel, status_after, amount, paid_day,"   \
	" applied_day, principal_overdue, interest_overdue, penalty,"              \
	" principal_current, interest_current, interest_to_date, principal_early," \
	" overpayment, principal_after, received_at"

static void text_into(struct store_rows *r, int col, char *out, size_t cap)
{
	size_t n = 0;
	const char *t = store_rows_text(r, col, &n);
	snprintf(out, cap, "%.*s", (int)n, t ? t : "");
}

static void row_from(struct store_rows *r, struct loan_payment *p)
{
	memset(p, 0, sizeof(*p));
	text_into(r, 0, p->id, sizeof(p->id));
	text_into(r, 1, p->loan_id, sizeof(p->loan_id));
	text_into(r, 2, p->reference, sizeof(p->reference));
	text_into(r, 3, p->kind, sizeof(p->kind));
	text_into(r, 4, p->channel, sizeof(p->channel));
	text_into(r, 5, p->status_after, sizeof(p->status_after));
	p->amount = store_rows_int(r, 6);
	p->paid_day = (int32_t)store_rows_int(r, 7);
	p->applied_day = (int32_t)store_rows_int(r, 8);
	p->split.principal_overdue = store_rows_int(r, 9);
	p->split.interest_overdue = store_rows_int(r, 10);
	p->split.penalty = store_rows_int(r, 11);
	p->split.principal_current = store_rows_int(r, 12);
	p->split.interest_current = store_rows_int(r, 13);
	p->split.interest_to_date = store_rows_int(r, 14);
	p->split.principal_early = store_rows_int(r, 15);
	p->split.overpayment = store_rows_int(r, 16);
	p->principal_after = store_rows_int(r, 17);
	p->received_at = store_rows_int(r, 18);
}

/* The earlier notice under (provider, reference), if any: *found 1 and its
 * row, its loan and whether its body was this one. */
static enum senim_result earlier(struct store_tx *tx, struct loan_payment_op *op,
				 int *found, int *same_body)
{
	struct store_rows *r = NULL;
	*found = *same_body = 0;
	enum senim_result err = store_query_one(
		tx,
		"SELECT " PAYMENT_COLUMNS ", body_digest FROM loan_payments"
		" WHERE provider = $1 AND reference = $2",
		(struct store_val[]){ SV_TEXT(op->provider), SV_TEXT(op->reference) }, 2,
		&r);
	if (err == SENIM_ERR_NOT_FOUND)
		return SENIM_OK;
	if (err)
		return err;
	row_from(r, &op->row);
	size_t len = 0;
	const void *d = store_rows_blob(r, 19, &len);
	*found = 1;
	*same_body = len == LOAN_PAYMENT_DIGEST &&
		     sodium_memcmp(d, op->digest, LOAN_PAYMENT_DIGEST) == 0;
	store_rows_free(r);
	return SENIM_OK;
}

/* The bureau's events of this payment: `payment`, and `closed` with it. */
static enum senim_result record_events(struct store_tx *tx, struct loan_payment_op *op)
{
	const struct loan *l = &op->loan;
	char contract[LOAN_CONTRACT_MAX + 1];
	struct vault_dek *dek = NULL;
	enum senim_result err = loan_contract_number(tx, op->kr, l, contract);
	if (!err)
		err = vault_dek_load(tx, op->kr, l->subject_id, &dek);
	int recorded = 0;
	/* A payment no debt took (all overpayment) paid nothing the bureau
	 * reports. */
	int64_t applied = op->amount - op->row.split.overpayment;
	if (!err && applied > 0)
		err = loan_events_append_tx(
			tx, op->kr, dek,
			&(struct loan_event_new){ .subject_id = l->subject_id,
						  .contract_number = contract,
						  .event = BUREAU_EVENT_PAYMENT,
						  .occurred_on = op->row.applied_day,
						  .amount_tiyn = applied,
						  .outstanding_tiyn = l->state.principal,
						  .overdue_days = BUREAU_ABSENT,
						  .actor = op->actor,
						  .request_id = op->request_id },
			&recorded);
	if (!err && l->state.status == LOAN_CLOSED)
		err = loan_events_append_tx(
			tx, op->kr, dek,
			&(struct loan_event_new){ .subject_id = l->subject_id,
						  .contract_number = contract,
						  .event = BUREAU_EVENT_CLOSED,
						  .occurred_on = op->row.applied_day,
						  .amount_tiyn = BUREAU_ABSENT,
						  .outstanding_tiyn = 0,
						  .overdue_days = BUREAU_ABSENT,
						  .actor = op->actor,
						  .request_id = op->request_id },
			&recorded);
	vault_dek_free(dek);
	sodium_memzero(contract, sizeof(contract));
	return err;
}

static enum senim_result insert_row(struct store_tx *tx, struct loan_payment_op *op)
{
	const struct loan_payment *p = &op->row;
	const struct servicing_split *s = &p->split;
	return store_exec(
		tx,
		"INSERT INTO loan_payments (id, loan_id, provider, reference, amount,"
		" paid_day, applied_day, kind, channel, body_digest, principal_overdue,"
		" interest_overdue, penalty, principal_current, interest_current,"
		" interest_to_date, principal_early, overpayment, principal_after,"
		" status_after, received_at, request_id) VALUES ($1, $2, $3, $4, $5, $6,"
		" $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20,"
		" $21, $22)",
		(struct store_val[]){ SV_TEXT(p->id),
				      SV_TEXT(p->loan_id),
				      SV_TEXT(op->provider),
				      SV_TEXT(p->reference),
				      SV_INT(p->amount),
				      SV_INT(p->paid_day),
				      SV_INT(p->applied_day),
				      SV_TEXT(p->kind),
				      SV_TEXT(p->channel),
				      SV_BLOB(op->digest, LOAN_PAYMENT_DIGEST),
				      SV_INT(s->principal_overdue),
				      SV_INT(s->interest_overdue),
				      SV_INT(s->penalty),
				      SV_INT(s->principal_current),
				      SV_INT(s->interest_current),
				      SV_INT(s->interest_to_date),
				      SV_INT(s->principal_early),
				      SV_INT(s->overpayment),
				      SV_INT(p->principal_after),
				      SV_TEXT(p->status_after),
				      SV_INT(p->received_at),
				      SV_TEXT(op->request_id) },
		22, NULL);
}

enum senim_result loan_payment_tx(struct store_tx *tx, void *arg)
{
	struct loan_payment_op *op = arg;
	struct loan *l = &op->loan;
	int found = 0, same = 0;
	enum senim_result err = earlier(tx, op, &found, &same);
	if (err)
		return err;
	if (found) {
		op->outcome = !same ? LOAN_PAYMENT_REUSED
			      : strcmp(op->row.loan_id, op->loan_id)
				      ? LOAN_PAYMENT_OTHER_LOAN
				      : LOAN_PAYMENT_REPLAYED;
		return SENIM_OK;
	}
	err = loan_load(tx, op->loan_id, l);
	if (err)
		return err;
	if (l->state.status == LOAN_CLOSED) {
		op->outcome = LOAN_PAYMENT_CLOSED;
		return SENIM_OK;
	}
	/* A day closed already stays closed: the payment goes to the next
	 * open day (payments.h). */
	int32_t day = op->paid_day > l->state.day ? op->paid_day : l->state.day + 1;
	/* paid_at may run up to the clock skew ahead: today is not closed
	 * for a payment stamped a few seconds into tomorrow. */
	if (op->today && day > op->today && op->today > l->state.day)
		day = op->today;
	struct loan_advance adv = { .kr = op->kr,
				    .rules = op->rules,
				    .actor = op->actor,
				    .request_id = op->request_id,
				    .through = day - 1 };
	err = loan_advance(tx, l, &adv);
	if (err)
		return err;
	char date[11], why[160];
	day_text(day, date);
	struct loan_rules_in_force f;
	err = loan_rules_in_force(op->rules, date, &f, why, sizeof(why));
	if (err)
		return err;
	struct schedule_row fresh[LOAN_ROWS_MAX];
	size_t nfresh = 0;
	struct loan_payment *p = &op->row;
	memset(p, 0, sizeof(*p));
	err = servicing_pay(&l->state, &l->terms, l->rows, l->nrows, &f, day, op->amount,
			    op->kind, &p->split, fresh, LOAN_ROWS_MAX, &nfresh);
	if (err)
		return err == SENIM_ERR_TOO_LARGE ? SENIM_ERR_INVALID : err;
	if (p->split.events & SERVICING_EV_RESCHEDULED) {
		memcpy(l->rows, fresh, nfresh * sizeof(fresh[0]));
		l->nrows = nfresh;
	}
	p->split.events = 0;
	err = loan_save(tx, l);
	if (err)
		return err;
	p->received_at = clock_now_us() / 1000;
	id_time_ordered(p->id, "lpm_", p->received_at);
	snprintf(p->loan_id, sizeof(p->loan_id), "%s", l->id);
	snprintf(p->reference, sizeof(p->reference), "%s", op->reference);
	snprintf(p->kind, sizeof(p->kind), "%s",
		 op->kind == SERVICING_PAY_EARLY ? "early" : "due");
	snprintf(p->channel, sizeof(p->channel), "%s", op->channel);
	snprintf(p->status_after, sizeof(p->status_after), "%s",
		 loan_status_code((enum loan_status)l->state.status));
	p->amount = op->amount;
	p->paid_day = op->paid_day;
	p->applied_day = day;
	p->principal_after = l->state.principal;
	err = insert_row(tx, op);
	if (!err)
		err = record_events(tx, op);
	char object[8 + LOAN_PAYMENT_ID_LEN];
	snprintf(object, sizeof(object), "payment:%s", p->id);
	if (!err)
		err = audit(tx, op->kr, op->actor, op->request_id, "loan.payment", object,
			    l->subject_id);
	if (!err && l->state.status == LOAN_CLOSED) {
		snprintf(object, sizeof(object), "loan:%s", l->id);
		err = audit(tx, op->kr, op->actor, op->request_id, "loan.close", object,
			    l->subject_id);
	}
	if (!err)
		op->outcome = LOAN_PAYMENT_APPLIED;
	return err;
}

/* ---- the borrower's reads ---------------------------------------------------------- */

/* The loan as this morning finds it, and its payoff today: the days end
 * of day has not closed yet are closed on a copy, recording nothing (end
 * of day records them).  Without rules for a day, or more than a year
 * behind, the loan as stored and the payoff on its next open day. */
#define CATCH_UP_MAX 366
static void payoff_of(struct loan_view *v, const struct loan_rules *rules, int32_t today)
{
	struct loan *l = &v->loan;
	if (rules && l->state.status != LOAN_CLOSED && today > l->state.day + 1 &&
	    today - l->state.day <= CATCH_UP_MAX) {
		struct loan_state st = l->state;
		enum senim_result err = SENIM_OK;
		while (!err && st.day < today - 1) {
			char date[11], why[160];
			struct loan_rules_in_force f;
			day_text(st.day + 1, date);
			err = loan_rules_in_force(rules, date, &f, why, sizeof(why));
			if (!err)
				err = servicing_day(&st, &l->terms, l->rows, l->nrows, &f,
						    st.day + 1, NULL);
		}
		if (!err)
			l->state = st;
	}
	v->today = l->state.day + 1;
	v->payoff = l->state.status == LOAN_CLOSED
			    ? 0
			    : servicing_payoff(&l->state, &l->terms, v->today);
}

void loan_own_dispose(void *arg)
{
	struct loan_own *op = arg;
	free(op->loans);
	free(op->payments);
	op->loans = NULL;
	op->payments = NULL;
}

static enum senim_result list_tx(struct store_tx *tx, struct loan_own *op)
{
	struct store_rows *r = NULL;
	enum senim_result err =
		store_query(tx,
			    "SELECT id, created_at FROM loans WHERE subject_id = $1"
			    " ORDER BY created_at DESC, id DESC LIMIT 50",
			    (struct store_val[]){ SV_TEXT(op->subject_id) }, 1, &r);
	if (err)
		return err;
	op->loans = calloc(LOAN_LIST_MAX, sizeof(*op->loans));
	if (!op->loans) {
		store_rows_free(r);
		return SENIM_ERR_NOMEM;
	}
	int has = 0;
	while (op->count < LOAN_LIST_MAX &&
	       (err = store_rows_next(r, &has)) == SENIM_OK && has) {
		struct loan_view *v = &op->loans[op->count++];
		text_into(r, 0, v->loan.id, sizeof(v->loan.id));
		v->created_at = store_rows_int(r, 1);
	}
	store_rows_free(r);
	/* Loaded after the cursor is done: one statement at a time. */
	for (int i = 0; !err && i < op->count; i++) {
		char id[LOAN_ID_LEN];
		snprintf(id, sizeof(id), "%s", op->loans[i].loan.id);
		err = loan_load(tx, id, &op->loans[i].loan);
		if (!err)
			payoff_of(&op->loans[i], op->rules, op->today);
	}
	return err;
}

static enum senim_result payments_of(struct store_tx *tx, struct loan_own *op)
{
	struct store_rows *r = NULL;
	enum senim_result err = store_query(
		tx,
		"SELECT " PAYMENT_COLUMNS " FROM loan_payments WHERE loan_id = $1"
		" ORDER BY received_at, id LIMIT 200",
		(struct store_val[]){ SV_TEXT(op->id) }, 1, &r);
	if (err)
		return err;
	op->payments = calloc(LOAN_PAYMENTS_LIST_MAX, sizeof(*op->payments));
	if (!op->payments) {
		store_rows_free(r);
		return SENIM_ERR_NOMEM;
	}
	int has = 0;
	while (op->npayments < LOAN_PAYMENTS_LIST_MAX &&
	       (err = store_rows_next(r, &has)) == SENIM_OK && has)
		row_from(r, &op->payments[op->npayments++]);
	store_rows_free(r);
	return err;
}

enum senim_result loan_own_tx(struct store_tx *tx, void *arg)
{
	struct loan_own *op = arg;
	enum senim_result err;
	char object[8 + LOAN_ID_LEN];
	if (op->view == LOAN_OWN_LIST) {
		err = list_tx(tx, op);
		if (!err)
			err = audit(tx, op->kr, op->actor, op->request_id, "loan.list",
				    "loans:own", op->subject_id);
		return err;
	}
	op->loans = calloc(1, sizeof(*op->loans));
	if (!op->loans)
		return SENIM_ERR_NOMEM;
	err = loan_load(tx, op->id, &op->loans[0].loan);
	if (err)
		return err;
	/* Another borrower's loan is as absent as one that does not exist. */
	if (strcmp(op->loans[0].loan.subject_id, op->subject_id) != 0)
		return SENIM_ERR_NOT_FOUND;
	op->count = 1;
	payoff_of(&op->loans[0], op->rules, op->today);
	if (op->view == LOAN_OWN_PAYMENTS) {
		err = payments_of(tx, op);
		if (err)
			return err;
	}
	snprintf(object, sizeof(object), "loan:%s", op->id);
	return audit(tx, op->kr, op->actor, op->request_id,
		     op->view == LOAN_OWN_SCHEDULE   ? "loan.schedule"
		     : op->view == LOAN_OWN_PAYMENTS ? "loan.payments"
						     : "loan.read",
		     object, op->subject_id);
}
