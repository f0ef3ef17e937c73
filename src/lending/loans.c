/*
 * loans.c — microcredits in the store (loans.h).
 */
#include "lending/loans.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "audit/audit.h"
#include "common/bigendian.h"
#include "common/buf.h"
#include "common/clock.h"
#include "connectors/bureau.h"
#include "exchange/loan_events.h"
#include "vault/vault.h"
#include "common/banned.h"

#define CONTRACT_CATEGORY "loan"
#define CONTRACT_FIELD "contract_number"
#define CONTRACT_VERSION 1
#define PURPOSE "loan_servicing"

/* ---- encodings --------------------------------------------------------------------- */

/* The state's fields in the order they are stored: each is an int64_t or
 * an int32_t member, written big-endian at its width.  The list is the
 * format: a field added to struct loan_state goes at its end with a new
 * LOAN_STATE_BYTES, and decoding keeps reading the shorter states saved
 * before it (the new field 0) until their next save. */
#define STATE_FIELDS(X)            \
	X(32, day)                 \
	X(32, status)              \
	X(64, principal)           \
	X(64, principal_not_due)   \
	X(64, interest_accrued)    \
	X(64, due_principal)       \
	X(64, due_interest)        \
	X(64, due_penalty)         \
	X(32, overdue_since)       \
	X(32, overdue_days)        \
	X(32, bucket)              \
	X(32, notice_by)           \
	X(32, notice_sent)         \
	X(32, delay_began)         \
	X(32, restructuring_until) \
	X(32, reserved)            \
	X(64, penalty_total)       \
	X(64, penalty_year)        \
	X(32, pen_year)            \
	X(32, pen_year_end)        \
	X(64, paid_principal)      \
	X(64, paid_interest)       \
	X(64, paid_penalty)        \
	X(64, overpaid)            \
	X(32, rows)                \
	X(32, next_row)            \
	X(32, period_start)        \
	X(32, period_end)          \
	X(32, seg_start)           \
	X(32, schedule_version)    \
	X(32, oldest_p)            \
	X(32, oldest_i)            \
	X(64, before_p)            \
	X(64, before_i)            \
	X(64, fifo_p)              \
	X(64, fifo_i)              \
	X(64, carried_interest)

#define STATE_SIZE(bits, name) +(bits) / 8
_Static_assert(0 STATE_FIELDS(STATE_SIZE) == LOAN_STATE_BYTES,
	       "LOAN_STATE_BYTES is the encoded size of struct loan_state");
_Static_assert(sizeof(struct loan_state) == LOAN_STATE_BYTES,
	       "every member of struct loan_state is in STATE_FIELDS");

void loan_state_encode(const struct loan_state *st, unsigned char out[LOAN_STATE_BYTES])
{
	unsigned char *p = out;
#define PUT(bits, name)                            \
	put_be##bits(p, (uint##bits##_t)st->name); \
	p += (bits) / 8;
	STATE_FIELDS(PUT)
#undef PUT
}

enum senim_result loan_state_decode(const void *in, size_t len, struct loan_state *st)
{
	if (len != LOAN_STATE_BYTES && len != LOAN_STATE_BYTES_V1)
		return SENIM_ERR_INVALID;
	const unsigned char *p = in;
	size_t at = 0;
	memset(st, 0, sizeof(*st));
	/* A V1 state ends before carried_interest, which stays 0. */
#define GET(bits, name)                                         \
	if (at + (bits) / 8 <= len)                             \
		st->name = (int##bits##_t)get_be##bits(p + at); \
	at += (bits) / 8;
	STATE_FIELDS(GET)
#undef GET
	return servicing_check(st) ? SENIM_OK : SENIM_ERR_INVALID;
}

void loan_rows_encode(const struct schedule_row *rows, size_t n, unsigned char *out)
{
	for (size_t i = 0; i < n; i++, out += LOAN_ROW_BYTES) {
		put_be32(out, (uint32_t)rows[i].due);
		put_be64(out + 4, (uint64_t)rows[i].principal);
		put_be64(out + 12, (uint64_t)rows[i].interest);
		put_be64(out + 20, (uint64_t)rows[i].total);
		put_be64(out + 28, (uint64_t)rows[i].balance);
	}
}

enum senim_result loan_rows_decode(const void *in, size_t len, struct schedule_row *rows,
				   size_t cap, size_t *n)
{
	*n = 0;
	if (!len || len % LOAN_ROW_BYTES || len / LOAN_ROW_BYTES > cap)
		return SENIM_ERR_INVALID;
	const unsigned char *p = in;
	size_t count = len / LOAN_ROW_BYTES;
	for (size_t i = 0; i < count; i++, p += LOAN_ROW_BYTES) {
		rows[i].due = (int32_t)get_be32(p);
		rows[i].principal = (int64_t)get_be64(p + 4);
		rows[i].interest = (int64_t)get_be64(p + 12);
		rows[i].total = (int64_t)get_be64(p + 20);
		rows[i].balance = (int64_t)get_be64(p + 28);
	}
	*n = count;
	return SENIM_OK;
}

const char *loan_status_code(enum loan_status s)
{
	switch (s) {
	case LOAN_OPEN:
		return "open";
	case LOAN_OVERDUE:
		return "overdue";
	case LOAN_CLOSED:
		return "closed";
	}
	return "open";
}

static const char *const methods[] = { [SCHEDULE_ANNUITY] = "annuity",
				       [SCHEDULE_DIFFERENTIATED] = "differentiated",
				       [SCHEDULE_SINGLE] = "single" };

const char *loan_method_code(enum schedule_method m)
{
	return (size_t)m < sizeof(methods) / sizeof(methods[0]) ? methods[m] : NULL;
}

int loan_method_parse(const char *s)
{
	for (size_t i = 0; s && i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strcmp(s, methods[i]) == 0)
			return (int)i;
	return -1;
}

/* ---- the row ----------------------------------------------------------------------- */

static enum senim_result audit(struct store_tx *tx, const struct keyring *kr,
			       const char *actor, const char *request_id,
			       const char *operation, const char *loan_id,
			       const char *subject_id)
{
	char object[8 + LOAN_ID_LEN];
	snprintf(object, sizeof(object), "loan:%s", loan_id);
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

enum senim_result loan_save(struct store_tx *tx, const struct loan *l)
{
	unsigned char state[LOAN_STATE_BYTES];
	unsigned char rows[LOAN_ROWS_MAX * LOAN_ROW_BYTES];
	loan_state_encode(&l->state, state);
	loan_rows_encode(l->rows, l->nrows, rows);
	return store_exec(
		tx,
		"UPDATE loans SET state = $2, schedule = $3, status = $4, day = $5,"
		" overdue_days = $6, principal_left = $7, updated_at = $8,"
		" carried_interest = $9 WHERE id = $1",
		(struct store_val[]){
			SV_TEXT(l->id), SV_BLOB(state, sizeof(state)),
			SV_BLOB(rows, l->nrows * LOAN_ROW_BYTES),
			SV_TEXT(loan_status_code((enum loan_status)l->state.status)),
			SV_INT(l->state.day), SV_INT(l->state.overdue_days),
			SV_INT(l->state.principal), SV_INT(clock_now_us() / 1000),
			SV_INT(l->state.carried_interest) },
		9, NULL);
}

static int terms_in_range(const struct loan_open *op)
{
	const struct servicing_terms *t = &op->terms;
	return t->penalty_daily_bp >= 0 && t->penalty_annual_bp >= 0 &&
	       (unsigned)t->method <= SCHEDULE_SINGLE;
}

/* The schedule of the op's terms into op->loan. */
static enum senim_result build(struct loan_open *op)
{
	struct loan *l = &op->loan;
	struct schedule_terms st = { .principal = op->terms.principal,
				     .rate_bp = op->terms.rate_bp,
				     .method = op->terms.method,
				     .payments = op->payments,
				     .days = op->days,
				     .start = op->terms.start };
	enum senim_result err = schedule_build(&st, l->rows, LOAN_ROWS_MAX, &l->nrows);
	if (err)
		return err == SENIM_ERR_TOO_LARGE ? SENIM_ERR_INVALID : err;
	l->terms = op->terms;
	l->payments = op->payments;
	l->days = op->days;
	return servicing_open(&l->terms, l->rows, l->nrows, &l->state);
}

static enum senim_result seal_contract(struct store_tx *tx, const struct loan_open *op,
				       struct buf *out)
{
	struct vault_dek *dek = NULL;
	enum senim_result err = vault_dek_load(tx, op->kr, op->subject_id, &dek);
	if (err)
		return err;
	err = vault_seal_blob(dek, op->subject_id, CONTRACT_CATEGORY, CONTRACT_FIELD,
			      CONTRACT_VERSION, op->contract_number,
			      strlen(op->contract_number), out);
	vault_dek_free(dek);
	return err;
}

enum senim_result loan_open_tx(struct store_tx *tx, void *arg)
{
	struct loan_open *op = arg;
	struct loan *l = &op->loan;
	memset(l, 0, sizeof(*l));
	size_t clen = op->contract_number ? strlen(op->contract_number) : 0;
	if (!clen || clen > LOAN_CONTRACT_MAX || !terms_in_range(op))
		return SENIM_ERR_INVALID;
	enum senim_result err = build(op);
	if (err)
		return err;
	unsigned char index[VAULT_INDEX_BYTES];
	vault_blind_index(op->kr, "contract", op->contract_number, clen, index);
	struct store_rows *r = NULL;
	err = store_query_one(tx, "SELECT 1 FROM loans WHERE contract_index = $1",
			      (struct store_val[]){ SV_BLOB(index, sizeof(index)) }, 1,
			      &r);
	store_rows_free(r);
	if (err != SENIM_ERR_NOT_FOUND)
		return err ? err : SENIM_ERR_CONFLICT;
	id_time_ordered(l->id, "lon_", clock_now_us() / 1000);
	snprintf(l->subject_id, sizeof(l->subject_id), "%s", op->subject_id);
	struct buf sealed;
	buf_init(&sealed, BUF_NO_LIMIT);
	err = seal_contract(tx, op, &sealed);
	if (err)
		goto out;
	int64_t now = clock_now_us() / 1000;
	err = store_exec(
		tx,
		"INSERT INTO loans (id, subject_id, application_id, contract_index,"
		" sealed, principal, rate_bp, method, payments, term_days, start_day,"
		" penalty_daily_bp, penalty_annual_bp, schedule, state, status, day,"
		" overdue_days, principal_left, created_at, updated_at)"
		" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,"
		" $15, 'open', $16, 0, $6, $17, $17)",
		(struct store_val[]){
			SV_TEXT(l->id), SV_TEXT(op->subject_id),
			op->application_id ? SV_TEXT(op->application_id) : SV_NULL(),
			SV_BLOB(index, sizeof(index)), SV_BLOB(sealed.data, sealed.len),
			SV_INT(op->terms.principal), SV_INT(op->terms.rate_bp),
			SV_TEXT(loan_method_code(op->terms.method)), SV_INT(op->payments),
			SV_INT(op->days), SV_INT(op->terms.start),
			SV_INT(op->terms.penalty_daily_bp),
			SV_INT(op->terms.penalty_annual_bp),
			SV_BLOB("", 0), /* written by loan_save below */
			SV_BLOB("", 0), SV_INT(l->state.day), SV_INT(now) },
		17, NULL);
	if (!err)
		err = loan_save(tx, l);
	if (!err)
		err = audit(tx, op->kr, op->actor, op->request_id, "loan.open", l->id,
			    op->subject_id);
out:
	buf_release(&sealed);
	return err;
}

enum senim_result loan_load(struct store_tx *tx, const char *id, struct loan *out)
{
	struct store_rows *r = NULL;
	enum senim_result err = store_query_one(
		tx,
		"SELECT subject_id, principal, rate_bp, method, payments, term_days,"
		" start_day, penalty_daily_bp, penalty_annual_bp, schedule, state"
		" FROM loans WHERE id = $1",
		(struct store_val[]){ SV_TEXT(id) }, 1, &r);
	if (err)
		return err;
	memset(out, 0, sizeof(*out));
	snprintf(out->id, sizeof(out->id), "%s", id);
	size_t n = 0;
	const char *text = store_rows_text(r, 0, &n);
	snprintf(out->subject_id, sizeof(out->subject_id), "%.*s", (int)n,
		 text ? text : "");
	out->terms.principal = store_rows_int(r, 1);
	out->terms.rate_bp = (int32_t)store_rows_int(r, 2);
	text = store_rows_text(r, 3, &n);
	char method[24];
	snprintf(method, sizeof(method), "%.*s", (int)n, text ? text : "");
	int m = loan_method_parse(method);
	out->payments = (int32_t)store_rows_int(r, 4);
	out->days = (int32_t)store_rows_int(r, 5);
	out->terms.start = (int32_t)store_rows_int(r, 6);
	out->terms.penalty_daily_bp = (int32_t)store_rows_int(r, 7);
	out->terms.penalty_annual_bp = (int32_t)store_rows_int(r, 8);
	size_t len = 0;
	const void *blob = store_rows_blob(r, 9, &len);
	err = m < 0 ? SENIM_ERR_STORE : SENIM_OK;
	if (!err)
		err = loan_rows_decode(blob, len, out->rows, LOAN_ROWS_MAX, &out->nrows);
	if (!err) {
		out->terms.method = (enum schedule_method)m;
		blob = store_rows_blob(r, 10, &len);
		err = loan_state_decode(blob, len, &out->state);
	}
	store_rows_free(r);
	return err == SENIM_ERR_INVALID ? SENIM_ERR_STORE : err;
}

enum senim_result loan_contract_number(struct store_tx *tx, const struct keyring *kr,
				       const struct loan *l,
				       char out[LOAN_CONTRACT_MAX + 1])
{
	out[0] = '\0';
	struct store_rows *r = NULL;
	enum senim_result err =
		store_query_one(tx, "SELECT sealed FROM loans WHERE id = $1",
				(struct store_val[]){ SV_TEXT(l->id) }, 1, &r);
	if (err)
		return err;
	struct vault_dek *dek = NULL;
	struct buf plain;
	buf_init(&plain, LOAN_CONTRACT_MAX);
	err = vault_dek_load(tx, kr, l->subject_id, &dek);
	if (!err) {
		size_t len = 0;
		const void *blob = store_rows_blob(r, 0, &len);
		err = vault_open_blob(dek, l->subject_id, CONTRACT_CATEGORY,
				      CONTRACT_FIELD, CONTRACT_VERSION, blob, len,
				      &plain);
	}
	if (!err)
		snprintf(out, LOAN_CONTRACT_MAX + 1, "%.*s", (int)plain.len, plain.data);
	buf_release_wiped(&plain);
	vault_dek_free(dek);
	store_rows_free(r);
	return err;
}

/* ---- bringing a loan forward ------------------------------------------------------- */

static void day_text(int32_t day, char out[11])
{
	int y, m, d;
	schedule_ymd(day, &y, &m, &d);
	snprintf(out, 11, "%04d-%02d-%02d", y, m, d);
}

/* The bureau's `overdue` event of a delay that began on `day`. */
static enum senim_result record_overdue(struct store_tx *tx, const struct loan *l,
					struct loan_advance *a, int32_t day)
{
	char contract[LOAN_CONTRACT_MAX + 1];
	enum senim_result err = loan_contract_number(tx, a->kr, l, contract);
	struct vault_dek *dek = NULL;
	if (!err)
		err = vault_dek_load(tx, a->kr, l->subject_id, &dek);
	int recorded = 0;
	if (!err)
		err = loan_events_append_tx(
			tx, a->kr, dek,
			&(struct loan_event_new){ .subject_id = l->subject_id,
						  .contract_number = contract,
						  .event = BUREAU_EVENT_OVERDUE,
						  .occurred_on = day,
						  .amount_tiyn = l->state.due_principal +
								 l->state.due_interest,
						  .outstanding_tiyn = l->state.principal,
						  .overdue_days =
							  l->state.overdue_days > 0
								  ? l->state.overdue_days
								  : 1,
						  .actor = a->actor,
						  .request_id = a->request_id },
			&recorded);
	vault_dek_free(dek);
	sodium_memzero(contract, sizeof(contract));
	a->overdue_events += (size_t)recorded;
	return err;
}

/* A delinquency notice for the messaging work, once per delay. */
static enum senim_result queue_notice(struct store_tx *tx, const struct loan *l,
				      struct loan_advance *a)
{
	char id[4 + ID_BODY_CHARS + 1];
	id_time_ordered(id, "ntc_", clock_now_us() / 1000);
	struct store_rows *r = NULL;
	enum senim_result err = store_query_one(
		tx,
		"SELECT 1 FROM loan_notices WHERE loan_id = $1 AND kind = 'delinquency'"
		" AND delay_began = $2",
		(struct store_val[]){ SV_TEXT(l->id), SV_INT(l->state.delay_began) }, 2,
		&r);
	store_rows_free(r);
	if (err != SENIM_ERR_NOT_FOUND)
		return err; /* queued already */
	err = store_exec(tx,
			 "INSERT INTO loan_notices (id, loan_id, subject_id, kind,"
			 " delay_began, send_by, state, created_at)"
			 " VALUES ($1, $2, $3, 'delinquency', $4, $5, 'queued', $6)",
			 (struct store_val[]){
				 SV_TEXT(id), SV_TEXT(l->id), SV_TEXT(l->subject_id),
				 SV_INT(l->state.delay_began), SV_INT(l->state.notice_by),
				 SV_INT(clock_now_us() / 1000) },
			 6, NULL);
	if (!err)
		err = audit(tx, a->kr, a->actor, a->request_id, "loan.notice_queued",
			    l->id, l->subject_id);
	if (!err)
		a->notices++;
	return err;
}

enum senim_result loan_advance(struct store_tx *tx, struct loan *l,
			       struct loan_advance *a)
{
	if (a->through <= l->state.day)
		return SENIM_OK;
	enum senim_result err = SENIM_OK;
	while (!err && l->state.day < a->through) {
		int32_t day = l->state.day + 1;
		char date[11], why[160];
		day_text(day, date);
		if (!a->cached || a->cached_day != day) {
			err = loan_rules_in_force(a->rules, date, &a->in_force, why,
						  sizeof(why));
			if (err)
				break;
			a->cached = 1;
			a->cached_day = day;
		}
		int events = 0;
		err = servicing_day(&l->state, &l->terms, l->rows, l->nrows, &a->in_force,
				    day, &events);
		if (err)
			break;
		a->days++;
		if (events & SERVICING_EV_BECAME_OVERDUE)
			err = record_overdue(tx, l, a, l->state.delay_began);
		if (!err && (events & SERVICING_EV_NOTICE_DUE))
			err = queue_notice(tx, l, a);
	}
	if (!err)
		err = loan_save(tx, l);
	return err;
}
