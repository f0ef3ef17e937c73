/*
 * restructurings.c — restructuring requests and their decision
 * (restructurings.h).
 */
#include "lending/restructurings.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "common/clock.h"
#include "connectors/bureau.h"
#include "exchange/loan_events.h"
#include "subjects/subjects.h"
#include "vault/vault.h"
#include "common/banned.h"

#define PURPOSE "loan_servicing"

int restructuring_id_valid(const char *id)
{
	return id && strncmp(id, "rst_", 4) == 0 && id_body_valid(id + 4);
}

/* ---- the codes and their words ---------------------------------------------------- */

/* kind: 0 the borrower's reason, 1 an approval's, 2 a decline's. */
static const struct {
	const char *code;
	int kind;
	const char *ru, *kk, *en;
} texts[] = {
	{ "income_loss", 0, "Снижение дохода", "Табыстың азаюы", "Loss of income" },
	{ "job_loss", 0, "Потеря работы", "Жұмыстан айырылу", "Loss of employment" },
	{ "family_circumstances", 0, "Семейные обстоятельства", "Отбасылық жағдайлар",
	  "Family circumstances" },
	{ "emergency", 0, "Чрезвычайная ситуация", "Төтенше жағдай", "An emergency" },
	{ "other", 0, "Другая причина", "Басқа себеп", "Another reason" },
	{ "hardship_confirmed", 1, "Трудности подтверждены, условия изменены",
	  "Қиындықтар расталды, шарттар өзгертілді",
	  "Hardship confirmed, the terms are changed" },
	{ "insufficient_grounds", 2, "Недостаточно оснований для изменения условий",
	  "Шарттарды өзгертуге негіз жеткіліксіз",
	  "Not enough grounds to change the terms" },
	{ "proposal_unaffordable", 2,
	  "Предложенные условия не решают трудность с погашением",
	  "Ұсынылған шарттар өтеудегі қиындықты шешпейді",
	  "The proposed terms do not solve the repayment difficulty" },
	{ "documents_missing", 2, "Не представлены подтверждающие документы",
	  "Растайтын құжаттар ұсынылмады", "Supporting documents were not provided" },
};

static int find(const char *code, int kind)
{
	for (size_t i = 0; code && i < sizeof(texts) / sizeof(texts[0]); i++)
		if (texts[i].kind == kind && strcmp(texts[i].code, code) == 0)
			return (int)i;
	return -1;
}

int restructuring_reason_valid(const char *code)
{
	return find(code, 0) >= 0;
}

int restructuring_decision_reason_valid(const char *code, int approve)
{
	return find(code, approve ? 1 : 2) >= 0;
}

const char *restructuring_reason_text(const char *code, const char *lang)
{
	for (size_t i = 0; code && lang && i < sizeof(texts) / sizeof(texts[0]); i++) {
		if (strcmp(texts[i].code, code) != 0)
			continue;
		if (strcmp(lang, "ru") == 0)
			return texts[i].ru;
		if (strcmp(lang, "kk") == 0)
			return texts[i].kk;
		if (strcmp(lang, "en") == 0)
			return texts[i].en;
	}
	return NULL;
}

/* ---- helpers ------------------------------------------------------------------------ */

static void day_text(int32_t day, char out[11])
{
	int y, m, d;
	schedule_ymd(day, &y, &m, &d);
	snprintf(out, 11, "%04d-%02d-%02d", y, m, d);
}

static enum senim_result audit(struct store_tx *tx, const struct keyring *kr,
			       const char *actor, const char *request_id,
			       const char *operation, const char *id,
			       const char *subject_id, const char *outcome)
{
	char object[RESTRUCTURING_ID_LEN + 16];
	snprintf(object, sizeof(object), "restructuring:%s", id ? id : "*");
	return audit_append(tx, kr,
			    &(struct audit_record){ .actor = actor,
						    .operation = operation,
						    .object = object,
						    .subject_id = subject_id,
						    .categories = "",
						    .purpose = PURPOSE,
						    .outcome = outcome,
						    .request_id = request_id });
}

static void text_into(struct store_rows *r, int col, char *out, size_t cap)
{
	size_t n = 0;
	const char *t = store_rows_text(r, col, &n);
	snprintf(out, cap, "%.*s", (int)n, t ? t : "");
}

#define COLUMNS                                                                   \
	"id, loan_id, subject_id, reason, status, decision_reason, kind, months," \
	" payments, requested_day, answer_due_day, effective_day, created_at,"    \
	" decided_at, schedule_version, gesv_bp"

static void row_from(struct store_rows *r, struct restructuring *x)
{
	memset(x, 0, sizeof(*x));
	text_into(r, 0, x->id, sizeof(x->id));
	text_into(r, 1, x->loan_id, sizeof(x->loan_id));
	text_into(r, 2, x->subject_id, sizeof(x->subject_id));
	text_into(r, 3, x->reason, sizeof(x->reason));
	text_into(r, 4, x->status, sizeof(x->status));
	text_into(r, 5, x->decision_reason, sizeof(x->decision_reason));
	char kind[16];
	text_into(r, 6, kind, sizeof(kind));
	int k = restructure_kind_parse(kind);
	x->proposal.kind = k < 0 ? RESTRUCTURE_DEFERRAL : (enum restructure_kind)k;
	x->proposal.months = (int32_t)store_rows_int(r, 7);
	x->proposal.payments = (int32_t)store_rows_int(r, 8);
	x->requested_day = (int32_t)store_rows_int(r, 9);
	x->answer_due_day = store_rows_is_null(r, 10) ? SERVICING_NO_DAY
						      : (int32_t)store_rows_int(r, 10);
	x->effective_day = store_rows_is_null(r, 11) ? SERVICING_NO_DAY
						     : (int32_t)store_rows_int(r, 11);
	x->created_at = store_rows_int(r, 12);
	x->decided_at = store_rows_is_null(r, 13) ? 0 : store_rows_int(r, 13);
	x->schedule_version = store_rows_is_null(r, 14) ? 0 : store_rows_int(r, 14);
	x->gesv_bp = store_rows_is_null(r, 15) ? 0 : store_rows_int(r, 15);
}

/* The one row `where` ($1) finds, newest first; SENIM_ERR_NOT_FOUND. */
static enum senim_result load_row(struct store_tx *tx, const char *where,
				  const char *value, struct restructuring *x)
{
	char sql[512];
	snprintf(sql, sizeof(sql),
		 "SELECT " COLUMNS " FROM restructurings WHERE %s"
		 " ORDER BY created_at DESC, id DESC LIMIT 1",
		 where);
	struct store_rows *r = NULL;
	enum senim_result err =
		store_query_one(tx, sql, (struct store_val[]){ SV_TEXT(value) }, 1, &r);
	if (err)
		return err;
	row_from(r, x);
	store_rows_free(r);
	return SENIM_OK;
}

/* The borrower's own loan, or SENIM_ERR_NOT_FOUND (another's is not
 * told from one that does not exist). */
static enum senim_result own_loan(struct store_tx *tx, const char *subject_id,
				  const char *loan_id, struct loan *l)
{
	enum senim_result err = loan_load(tx, loan_id, l);
	if (err)
		return err;
	return strcmp(l->subject_id, subject_id) == 0 ? SENIM_OK : SENIM_ERR_NOT_FOUND;
}

/* The first day still open for l on or after today. */
static int32_t open_day(const struct loan *l, int32_t today)
{
	return today > l->state.day ? today : l->state.day + 1;
}

/* ---- the borrower's request --------------------------------------------------------- */

enum senim_result restructuring_request_tx(struct store_tx *tx, void *arg)
{
	struct restructuring_request *op = arg;
	struct loan *l = &op->loan;
	enum senim_result err = own_loan(tx, op->subject_id, op->loan_id, l);
	if (err)
		return err;
	err = load_row(tx, "loan_id = $1 AND status = 'open'", op->loan_id, &op->row);
	if (err == SENIM_OK) {
		op->existing = 1;
		return SENIM_OK;
	}
	if (err != SENIM_ERR_NOT_FOUND)
		return err;
	/* The loan as this morning finds it: the days end of day has not
	 * closed yet are closed on a copy, recording nothing. */
	int32_t day = open_day(l, op->today);
	char date[11], why[160];
	while (l->state.day < day - 1) {
		day_text(l->state.day + 1, date);
		err = loan_rules_in_force(op->rules, date, &op->in_force, why,
					  sizeof(why));
		if (!err)
			err = servicing_day(&l->state, &l->terms, l->rows, l->nrows,
					    &op->in_force, l->state.day + 1, NULL);
		if (err)
			return err;
	}
	day_text(day, date);
	err = loan_rules_in_force(op->rules, date, &op->in_force, why, sizeof(why));
	if (err)
		return err;
	if (!servicing_restructuring_open(&l->state, day)) {
		op->outside_window = 1;
		op->window_days = op->in_force.restructuring_days;
		op->rule_entry = op->in_force.rule[LOAN_RULE_RESTRUCTURING];
		return SENIM_OK;
	}
	/* A proposal the loan cannot take today is refused now, not after a
	 * wait for an underwriter. */
	struct restructure_result res;
	struct schedule_row *scratch = calloc(LOAN_ROWS_MAX, sizeof(*scratch));
	if (!scratch)
		return SENIM_ERR_NOMEM;
	err = restructure_apply(&l->state, &l->terms, l->rows, l->nrows, &op->proposal,
				&op->in_force, day, scratch, LOAN_ROWS_MAX, &res);
	free(scratch);
	if (err)
		return err;
	if (res.refused) {
		op->proposal_refused = res.refused;
		op->rule = res.rule;
		return SENIM_OK;
	}
	struct restructuring *x = &op->row;
	memset(x, 0, sizeof(*x));
	x->created_at = clock_now_us() / 1000;
	id_time_ordered(x->id, "rst_", x->created_at);
	snprintf(x->loan_id, sizeof(x->loan_id), "%s", l->id);
	snprintf(x->subject_id, sizeof(x->subject_id), "%s", l->subject_id);
	snprintf(x->reason, sizeof(x->reason), "%s", op->reason);
	snprintf(x->status, sizeof(x->status), "open");
	x->proposal = op->proposal;
	x->requested_day = day;
	x->answer_due_day =
		op->in_force.restructuring_answer_days
			? day + (int32_t)op->in_force.restructuring_answer_days
			: SERVICING_NO_DAY;
	x->effective_day = SERVICING_NO_DAY;
	err = store_exec(
		tx,
		"INSERT INTO restructurings (id, loan_id, subject_id, reason, kind,"
		" months, payments, requested_day, answer_due_day, status, created_at,"
		" request_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'open', $10,"
		" $11)",
		(struct store_val[]){
			SV_TEXT(x->id), SV_TEXT(x->loan_id), SV_TEXT(x->subject_id),
			SV_TEXT(x->reason),
			SV_TEXT(restructure_kind_code(x->proposal.kind)),
			SV_INT(x->proposal.months), SV_INT(x->proposal.payments),
			SV_INT(x->requested_day),
			x->answer_due_day == SERVICING_NO_DAY ? SV_NULL()
							      : SV_INT(x->answer_due_day),
			SV_INT(x->created_at), SV_TEXT(op->request_id) },
		11, NULL);
	/* Two requests at once: the index lets one in, the other is told. */
	if (err == SENIM_ERR_CONFLICT) {
		op->existing = 1;
		return load_row(tx, "loan_id = $1 AND status = 'open'", op->loan_id,
				&op->row);
	}
	if (err)
		return err;
	return audit(tx, op->kr, op->actor, op->request_id, "restructuring.request",
		     x->id, x->subject_id, "success");
}

/* ---- the borrower's view ------------------------------------------------------------ */

enum senim_result restructuring_own_tx(struct store_tx *tx, void *arg)
{
	struct restructuring_own *op = arg;
	struct loan *l = malloc(sizeof(*l));
	if (!l)
		return SENIM_ERR_NOMEM;
	enum senim_result err = own_loan(tx, op->subject_id, op->loan_id, l);
	free(l);
	if (!err)
		err = load_row(tx, "loan_id = $1", op->loan_id, &op->row);
	if (err)
		return err;
	return audit(tx, op->kr, op->actor, op->request_id, "restructuring.read",
		     op->row.id, op->row.subject_id, "success");
}

/* ---- the underwriters' queue -------------------------------------------------------- */

void restructuring_queue_dispose(void *arg)
{
	struct restructuring_queue *op = arg;
	free(op->rows);
	op->rows = NULL;
}

enum senim_result restructuring_queue_tx(struct store_tx *tx, void *arg)
{
	struct restructuring_queue *op = arg;
	memset(&op->refused, 0, sizeof(op->refused));
	uint32_t categories = 0;
	/* The queue names no one: the role's purpose is the question. */
	enum access_result why = access_decide(op->matrix, op->role,
					       PURPOSE_LOAN_SERVICING, NULL, &categories);
	if (why != ACCESS_GRANTED) {
		access_refusal_set(&op->refused, why, PURPOSE_LOAN_SERVICING, NULL);
		return audit(tx, op->kr, op->actor, op->request_id, "restructuring.queue",
			     NULL, NULL, "denied");
	}
	op->rows = calloc(RESTRUCTURING_QUEUE_MAX, sizeof(*op->rows));
	if (!op->rows)
		return SENIM_ERR_NOMEM;
	struct store_rows *r = NULL;
	enum senim_result err = store_query(
		tx,
		"SELECT " COLUMNS " FROM restructurings WHERE status = 'open'"
		" ORDER BY created_at, id LIMIT $1",
		(struct store_val[]){ SV_INT(RESTRUCTURING_QUEUE_MAX) }, 1, &r);
	if (err)
		return err;
	int has = 0;
	while ((err = store_rows_next(r, &has)) == SENIM_OK && has &&
	       op->count < RESTRUCTURING_QUEUE_MAX)
		row_from(r, &op->rows[op->count++]);
	store_rows_free(r);
	if (err)
		return err;
	return audit(tx, op->kr, op->actor, op->request_id, "restructuring.queue", NULL,
		     NULL, "success");
}

/* ---- the decision --------------------------------------------------------------------- */

/* The bureau's event of an approval: `restructured`, the principal left
 * and the new last due date. */
static enum senim_result record_event(struct store_tx *tx,
				      struct restructuring_decide *op, int32_t day)
{
	const struct loan *l = &op->loan;
	char contract[LOAN_CONTRACT_MAX + 1];
	struct vault_dek *dek = NULL;
	int recorded = 0;
	enum senim_result err = loan_contract_number(tx, op->kr, l, contract);
	if (!err)
		err = vault_dek_load(tx, op->kr, l->subject_id, &dek);
	if (!err)
		err = loan_events_append_tx(
			tx, op->kr, dek,
			&(struct loan_event_new){ .subject_id = l->subject_id,
						  .contract_number = contract,
						  .event = BUREAU_EVENT_RESTRUCTURED,
						  .occurred_on = day,
						  .amount_tiyn = BUREAU_ABSENT,
						  .outstanding_tiyn = l->state.principal,
						  .overdue_days = BUREAU_ABSENT,
						  .has_due = 1,
						  .due = l->rows[l->nrows - 1].due,
						  .actor = op->actor,
						  .request_id = op->request_id },
			&recorded);
	vault_dek_free(dek);
	sodium_memzero(contract, sizeof(contract));
	return err;
}

/* Approval: the loan brought to the day before, restructured on its day. */
static enum senim_result approve(struct store_tx *tx, struct restructuring_decide *op,
				 int32_t *day_out)
{
	struct loan *l = &op->loan;
	enum senim_result err = loan_load(tx, op->row.loan_id, l);
	if (err)
		return err;
	if (l->state.status == LOAN_CLOSED) {
		op->loan_closed = 1;
		return SENIM_OK;
	}
	int32_t day = open_day(l, op->today);
	struct loan_advance adv = { .kr = op->kr,
				    .rules = op->rules,
				    .actor = op->actor,
				    .request_id = op->request_id,
				    .through = day - 1 };
	err = loan_advance(tx, l, &adv);
	if (err)
		return err;
	if (l->state.status == LOAN_CLOSED) {
		op->loan_closed = 1;
		return SENIM_OK;
	}
	char date[11], why[160];
	day_text(day, date);
	struct loan_rules_in_force f;
	err = loan_rules_in_force(op->rules, date, &f, why, sizeof(why));
	if (err)
		return err;
	struct restructure_result res;
	err = restructure_apply(&l->state, &l->terms, l->rows, l->nrows,
				&op->row.proposal, &f, day, op->fresh, LOAN_ROWS_MAX,
				&res);
	if (err)
		return err;
	if (res.refused) {
		op->proposal_refused = res.refused;
		op->rule = res.rule;
		return SENIM_OK;
	}
	memcpy(l->rows, op->fresh, res.n * sizeof(op->fresh[0]));
	l->nrows = res.n;
	l->state = res.state;
	err = loan_save(tx, l);
	if (!err)
		err = record_event(tx, op, day);
	op->row.gesv_bp = res.gesv_bp;
	op->row.schedule_version = l->state.schedule_version;
	op->row.effective_day = day;
	*day_out = day;
	return err;
}

enum senim_result restructuring_decide_tx(struct store_tx *tx, void *arg)
{
	struct restructuring_decide *op = arg;
	memset(&op->refused, 0, sizeof(op->refused));
	enum senim_result err = load_row(tx, "id = $1", op->id, &op->row);
	if (err)
		return err;
	struct subject_state state;
	err = subjects_state_in(tx, op->row.subject_id, &state);
	if (err)
		return err;
	uint32_t categories = 0;
	enum access_result why = access_decide(
		op->matrix, op->role, PURPOSE_LOAN_SERVICING, &state, &categories);
	if (why != ACCESS_GRANTED) {
		access_refusal_set(&op->refused, why, PURPOSE_LOAN_SERVICING, &state);
		err = audit(tx, op->kr, op->actor, op->request_id, "restructuring.decide",
			    op->id, NULL, "denied");
		memset(&op->row, 0, sizeof(op->row));
		return err;
	}
	if (strcmp(op->row.status, "open") != 0) {
		op->not_open = 1;
		return SENIM_OK;
	}
	int32_t day = SERVICING_NO_DAY;
	if (op->approve) {
		err = approve(tx, op, &day);
		if (err || op->loan_closed || op->proposal_refused)
			return err;
	}
	struct restructuring *x = &op->row;
	x->decided_at = clock_now_us() / 1000;
	snprintf(x->status, sizeof(x->status), "%s",
		 op->approve ? "approved" : "declined");
	snprintf(x->decision_reason, sizeof(x->decision_reason), "%s", op->reason);
	err = store_exec(
		tx,
		"UPDATE restructurings SET status = $1, decided_at = $2, decided_by = $3,"
		" decision_reason = $4, effective_day = $5, schedule_version = $6,"
		" gesv_bp = $7 WHERE id = $8 AND status = 'open'",
		(struct store_val[]){
			SV_TEXT(x->status), SV_INT(x->decided_at), SV_TEXT(op->actor),
			SV_TEXT(x->decision_reason),
			op->approve ? SV_INT(day) : SV_NULL(),
			op->approve ? SV_INT(x->schedule_version) : SV_NULL(),
			op->approve ? SV_INT(x->gesv_bp) : SV_NULL(), SV_TEXT(x->id) },
		8, NULL);
	if (err)
		return err;
	return audit(tx, op->kr, op->actor, op->request_id, "restructuring.decide", x->id,
		     x->subject_id, "success");
}
