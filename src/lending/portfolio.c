/*
 * portfolio.c — importing a migrated loan portfolio (portfolio.h).
 *
 * Three passes, as the bureau's import makes them (exchange/loan_events.c):
 * parse and check every row with what needs no database (the terms built
 * into a schedule on the stack, as loan_open_tx will); find a contract
 * number twice in the file by sorting the rows by its blind index; look
 * every row up in one read.  Only then are the new rows written, a chunk of
 * them per write transaction, so a million loans never make one transaction
 * the size of the portfolio.  The first bad row of the file is the one
 * named, whichever pass finds it.
 */
#include "lending/portfolio.h"

#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "common/csv.h"
#include "common/utf8.h"
#include "connectors/bureau.h"
#include "core/contact.h"
#include "core/iin.h"
#include "core/schedule.h"
#include "core/servicing.h"
#include "exchange/loan_events.h"
#include "lending/loans.h"
#include "vault/vault.h"
#include "subjects/subjects.h"
#include "common/banned.h"

#define NCOLS 10
#define IIN_LEN 12
#define DATE_LEN 10
#define BP_MAX 100000
#define ROW_COLUMN "(row)"
#define PROGRESS_EVERY 1000

enum {
	C_CONTRACT,
	C_IIN,
	C_PRINCIPAL,
	C_RATE,
	C_METHOD,
	C_PAYMENTS,
	C_TERM_DAYS,
	C_START,
	C_PEN_DAILY,
	C_PEN_ANNUAL
};

static const char *const column_names[NCOLS] = {
	"contract_number",   "iin",	   "principal_tiyn",
	"rate_bp",	     "method",	   "payments",
	"term_days",	     "start_date", "penalty_daily_bp",
	"penalty_annual_bp",
};

struct prow {
	unsigned char digest[VAULT_INDEX_BYTES]; /* the contract's blind index */
	size_t line;
	size_t iin, contract; /* offsets into the text */
	int64_t principal;
	int32_t rate_bp, payments, days, start, pen_daily, pen_annual;
	uint8_t method;
	uint8_t contract_len;
	uint8_t skip; /* a loan already */
	char subject[SUBJECT_ID_LEN];
};

struct import {
	struct portfolio_import *op;
	const char *text;
	struct prow *rows;
	size_t n, cap;
	struct portfolio_error parse_err, dup_err, look_err;
	size_t *todo; /* the new rows, in file order */
	size_t ntodo, next;
	struct loan_open *open; /* reused: a loan is ~24 KB */
};

static void set_error(struct portfolio_error *e, size_t line, const char *col,
		      const char *rule)
{
	e->line = line;
	e->column = col;
	e->rule = rule;
}

/* ---- pass 1: parse ------------------------------------------------------------ */

static int contract_ok(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '/' || c == '_' || c == '.' ||
		      c == '-'))
			return 0;
	}
	return 1;
}

/* NULL and *v set, or the rule broken.  Digits only: a sign is "format". */
static const char *number_rule(const char *s, size_t len, int64_t min, int64_t max,
			       int64_t *v)
{
	*v = 0;
	if (len > 16)
		return "range";
	if (len > 1 && s[0] == '0')
		return "format";
	int64_t x = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return "format";
		x = x * 10 + (s[i] - '0');
	}
	if (x < min || x > max)
		return "range";
	*v = x;
	return NULL;
}

/* The terms as loan_open_tx will take them: the schedule built and opened
 * for servicing, so the write pass never meets terms it refuses. */
static int terms_open(const struct prow *r)
{
	struct schedule_row rows[SCHEDULE_MAX_PAYMENTS];
	struct schedule_terms st = { .principal = r->principal,
				     .rate_bp = r->rate_bp,
				     .method = (enum schedule_method)r->method,
				     .payments = r->payments,
				     .days = r->days,
				     .start = r->start };
	size_t n = 0;
	if (schedule_build(&st, rows, SCHEDULE_MAX_PAYMENTS, &n))
		return 0;
	struct servicing_terms t = { .principal = r->principal,
				     .rate_bp = r->rate_bp,
				     .method = (enum schedule_method)r->method,
				     .start = r->start,
				     .penalty_daily_bp = r->pen_daily,
				     .penalty_annual_bp = r->pen_annual };
	struct loan_state state;
	return servicing_open(&t, rows, n, &state) == SENIM_OK;
}

static const char *check_row(const char *text, const struct csv_field *f, struct prow *r,
			     size_t *col)
{
	int64_t v = 0;
	int monthly = 0;
	for (size_t i = 0; i < NCOLS; i++) {
		*col = i;
		v = 0;
		const char *s = text + f[i].off;
		size_t len = f[i].len;
		int optional = i == C_PAYMENTS || i == C_TERM_DAYS;
		if (!len && !optional)
			return "required";
		if (!utf8_valid(s, len))
			return "encoding";
		const char *rule = NULL;
		switch (i) {
		case C_CONTRACT:
			if (len > LOAN_CONTRACT_MAX)
				return "length";
			if (!contract_ok(s, len))
				return "format";
			r->contract = f[i].off;
			r->contract_len = (uint8_t)len;
			break;
		case C_IIN: {
			struct iin_info info;
			enum iin_error ie = iin_parse(s, len, &info);
			if (ie != IIN_OK)
				return iin_error_rule(ie);
			r->iin = f[i].off;
			break;
		}
		case C_PRINCIPAL:
			rule = number_rule(s, len, 1, SCHEDULE_MAX_PRINCIPAL,
					   &r->principal);
			break;
		case C_RATE:
			rule = number_rule(s, len, 0, SCHEDULE_MAX_RATE_BP, &v);
			r->rate_bp = (int32_t)v;
			break;
		case C_METHOD: {
			char m[16];
			if (len >= sizeof(m))
				return "format";
			memcpy(m, s, len);
			m[len] = '\0';
			int k = loan_method_parse(m);
			if (k < 0)
				return "format";
			r->method = (uint8_t)k;
			monthly = k != SCHEDULE_SINGLE;
			break;
		}
		case C_PAYMENTS:
			if (!len && monthly)
				return "required";
			if (len && !monthly)
				return "term";
			if (len)
				rule = number_rule(s, len, 1, SCHEDULE_MAX_PAYMENTS, &v);
			r->payments = (int32_t)v;
			break;
		case C_TERM_DAYS:
			if (!len && !monthly)
				return "required";
			if (len && monthly)
				return "term";
			if (len)
				rule = number_rule(s, len, 1, SCHEDULE_MAX_DAYS, &v);
			r->days = (int32_t)v;
			break;
		case C_START: {
			int y, m, d;
			if (len != DATE_LEN || !date_parse_iso(s, len, &y, &m, &d))
				return "format";
			r->start = schedule_day(y, m, d);
			break;
		}
		case C_PEN_DAILY:
			rule = number_rule(s, len, 0, BP_MAX, &v);
			r->pen_daily = (int32_t)v;
			break;
		default:
			rule = number_rule(s, len, 0, BP_MAX, &v);
			r->pen_annual = (int32_t)v;
			break;
		}
		if (rule)
			return rule;
	}
	*col = SIZE_MAX;
	return terms_open(r) ? NULL : "schedule";
}

static enum senim_result add_row(struct import *im, const struct prow *r)
{
	if (im->n == im->cap) {
		size_t cap = im->cap ? im->cap * 2 : 1024;
		struct prow *g = malloc(cap * sizeof(*g));
		if (!g)
			return SENIM_ERR_NOMEM;
		if (im->n) {
			memcpy(g, im->rows, im->n * sizeof(*g));
			sodium_memzero(im->rows, im->cap * sizeof(*im->rows));
		}
		free(im->rows);
		im->rows = g;
		im->cap = cap;
	}
	im->rows[im->n++] = *r;
	return SENIM_OK;
}

static enum senim_result parse_all(struct import *im)
{
	struct portfolio_import *op = im->op;
	struct csv c;
	csv_init(&c, im->text, op->len, NULL);
	struct csv_field f[NCOLS];
	struct csv_error ce;
	size_t nf = 0, line = 1, col = 0;
	if (csv_at_end(&c) || csv_record(&c, f, NCOLS, &nf, &line, &ce) || nf != NCOLS) {
		set_error(&im->parse_err, 1, ROW_COLUMN, "header");
		return SENIM_ERR_INVALID;
	}
	for (size_t i = 0; i < NCOLS; i++)
		if (f[i].len != strlen(column_names[i]) ||
		    memcmp(im->text + f[i].off, column_names[i], f[i].len) != 0) {
			set_error(&im->parse_err, 1, column_names[i], "header");
			return SENIM_ERR_INVALID;
		}
	while (!csv_at_end(&c)) {
		if (im->n == PORTFOLIO_MAX_ROWS) {
			set_error(&im->parse_err, c.line, ROW_COLUMN, "too_many_rows");
			return SENIM_ERR_TOO_LARGE;
		}
		if (csv_record(&c, f, NCOLS, &nf, &line, &ce)) {
			set_error(&im->parse_err, ce.line,
				  ce.field < NCOLS ? column_names[ce.field] : ROW_COLUMN,
				  ce.rule);
			return SENIM_ERR_INVALID;
		}
		if (nf != NCOLS) {
			set_error(&im->parse_err, line, ROW_COLUMN, "columns");
			return SENIM_ERR_INVALID;
		}
		struct prow r = { .line = line };
		const char *rule = check_row(im->text, f, &r, &col);
		if (rule) {
			set_error(&im->parse_err, line,
				  col < NCOLS ? column_names[col] : ROW_COLUMN, rule);
			return SENIM_ERR_INVALID;
		}
		vault_blind_index(op->kr, "contract", im->text + r.contract,
				  r.contract_len, r.digest);
		enum senim_result err = add_row(im, &r);
		if (err)
			return err;
		if (op->progress && im->n % (PROGRESS_EVERY * 10) == 0)
			op->progress("parsed", im->n, 0, op->ctx);
	}
	return SENIM_OK;
}

/* Sorting row indexes by (contract, line) finds a contract twice. */
static const struct import *sort_im;

static int by_contract(const void *a, const void *b)
{
	const struct prow *x = &sort_im->rows[*(const size_t *)a];
	const struct prow *y = &sort_im->rows[*(const size_t *)b];
	int c = memcmp(x->digest, y->digest, VAULT_INDEX_BYTES);
	return c ? c : (x->line < y->line ? -1 : x->line > y->line);
}

static enum senim_result find_duplicates(struct import *im)
{
	if (im->n < 2)
		return SENIM_OK;
	size_t *idx = malloc(im->n * sizeof(*idx));
	if (!idx)
		return SENIM_ERR_NOMEM;
	for (size_t i = 0; i < im->n; i++)
		idx[i] = i;
	sort_im = im; /* the CLI imports on one thread */
	qsort(idx, im->n, sizeof(*idx), by_contract);
	for (size_t i = 1; i < im->n; i++) {
		const struct prow *a = &im->rows[idx[i - 1]], *b = &im->rows[idx[i]];
		if (memcmp(a->digest, b->digest, VAULT_INDEX_BYTES) == 0 &&
		    (!im->dup_err.line || b->line < im->dup_err.line))
			set_error(&im->dup_err, b->line, column_names[C_CONTRACT],
				  "duplicate");
	}
	free(idx);
	return SENIM_OK;
}

/* ---- pass 2: look up ------------------------------------------------------------ */

static enum senim_result lookup_fn(struct store_tx *tx, void *arg)
{
	struct import *im = arg;
	struct portfolio_import *op = im->op;
	for (size_t i = 0; i < im->n; i++) {
		struct prow *r = &im->rows[i];
		if (i && memcmp(im->text + r->iin, im->text + im->rows[i - 1].iin,
				IIN_LEN) == 0) {
			memcpy(r->subject, im->rows[i - 1].subject, sizeof(r->subject));
		} else {
			enum senim_result err = subjects_find_by_iin(
				tx, op->kr, im->text + r->iin, IIN_LEN, r->subject);
			if (err == SENIM_ERR_NOT_FOUND) {
				set_error(&im->look_err, r->line, column_names[C_IIN],
					  "not_registered");
				return SENIM_OK;
			}
			if (err)
				return err;
		}
		struct store_rows *rs = NULL;
		enum senim_result err = store_query_one(
			tx, "SELECT 1 FROM loans WHERE contract_index = $1",
			(struct store_val[]){ SV_BLOB(r->digest, VAULT_INDEX_BYTES) }, 1,
			&rs);
		store_rows_free(rs);
		if (err && err != SENIM_ERR_NOT_FOUND)
			return err;
		r->skip = err == SENIM_OK;
		if (op->progress && ((i + 1) % PROGRESS_EVERY == 0 || i + 1 == im->n))
			op->progress("checked", i + 1, im->n, op->ctx);
	}
	return SENIM_OK;
}

/* ---- pass 3: write ----------------------------------------------------------------- */

/* One loan: opened, and its `issued` event for the bureaus. */
static enum senim_result open_one(struct store_tx *tx, struct import *im,
				  const struct prow *r, int *opened)
{
	struct portfolio_import *op = im->op;
	struct loan_open *o = im->open;
	char contract[LOAN_CONTRACT_MAX + 1];
	memcpy(contract, im->text + r->contract, r->contract_len);
	contract[r->contract_len] = '\0';
	*o = (struct loan_open){
		.kr = op->kr,
		.actor = op->actor,
		.request_id = op->request_id,
		.subject_id = r->subject,
		.contract_number = contract,
		.terms = { .principal = r->principal,
			   .rate_bp = r->rate_bp,
			   .method = (enum schedule_method)r->method,
			   .start = r->start,
			   .penalty_daily_bp = r->pen_daily,
			   .penalty_annual_bp = r->pen_annual },
		.payments = r->payments,
		.days = r->days,
	};
	*opened = 0;
	enum senim_result err = loan_open_tx(tx, o);
	if (err == SENIM_ERR_CONFLICT) { /* opened since the look-up */
		err = SENIM_OK;
		goto out;
	}
	if (err)
		goto out;
	*opened = 1;
	const struct loan *l = &o->loan;
	struct vault_dek *dek = NULL;
	err = vault_dek_load(tx, op->kr, r->subject, &dek);
	int recorded = 0;
	if (!err)
		err = loan_events_append_tx(
			tx, op->kr, dek,
			&(struct loan_event_new){
				.subject_id = r->subject,
				.contract_number = contract,
				.event = BUREAU_EVENT_ISSUED,
				.occurred_on = r->start,
				.amount_tiyn = r->principal,
				.outstanding_tiyn = r->principal,
				.overdue_days = 0,
				.has_due = 1,
				.due = l->rows[l->nrows - 1].due, /* the maturity */
				.actor = op->actor,
				.request_id = op->request_id },
			&recorded);
	vault_dek_free(dek);
	op->events += (size_t)recorded;
out:
	sodium_memzero(contract, sizeof(contract));
	return err;
}

static enum senim_result write_fn(struct store_tx *tx, void *arg)
{
	struct import *im = arg;
	struct portfolio_import *op = im->op;
	size_t end = im->next + PORTFOLIO_CHUNK;
	if (end > im->ntodo)
		end = im->ntodo;
	size_t opened = 0, events = op->events;
	enum senim_result err = SENIM_OK;
	for (size_t k = im->next; k < end && !err; k++) {
		int one = 0;
		err = open_one(tx, im, &im->rows[im->todo[k]], &one);
		opened += (size_t)one;
	}
	if (!err && end == im->ntodo) {
		char object[48];
		snprintf(object, sizeof(object), "import:%zu", op->opened + opened);
		err = audit_append(
			tx, op->kr,
			&(struct audit_record){ .actor = op->actor,
						.operation = "loans.import",
						.object = object,
						.subject_id = NULL,
						.categories = "",
						.purpose = "loan_servicing",
						.outcome = "success",
						.request_id = op->request_id });
	}
	if (err) {
		op->events = events; /* the transaction rolls back */
		return err;
	}
	op->opened += opened;
	op->skipped += (end - im->next) - opened;
	im->next = end;
	return SENIM_OK;
}

/* The earliest of the errors found, or NULL. */
static const struct portfolio_error *first_error(const struct import *im)
{
	const struct portfolio_error *e[] = { &im->parse_err, &im->dup_err,
					      &im->look_err };
	const struct portfolio_error *best = NULL;
	for (size_t i = 0; i < 3; i++)
		if (e[i]->line && (!best || e[i]->line < best->line))
			best = e[i];
	return best;
}

enum senim_result portfolio_import(struct store *st, struct portfolio_import *op)
{
	set_error(&op->error, 0, "", "");
	op->rows = op->opened = op->skipped = op->events = 0;
	if (!st || !op->kr || !op->actor || !op->request_id || (!op->csv && op->len))
		return SENIM_ERR_INVALID;
	struct import im = { .op = op, .text = op->csv ? op->csv : "" };
	enum senim_result perr = parse_all(&im);
	enum senim_result err = SENIM_OK;
	if (perr && perr != SENIM_ERR_INVALID && perr != SENIM_ERR_TOO_LARGE) {
		err = perr;
		goto fail;
	}
	err = find_duplicates(&im);
	if (!err && perr != SENIM_ERR_TOO_LARGE)
		err = store_read(st, lookup_fn, &im);
	if (err)
		goto fail;
	const struct portfolio_error *e = first_error(&im);
	if (e) {
		op->error = *e;
		err = e == &im.parse_err && perr ? perr : SENIM_ERR_INVALID;
		goto fail;
	}
	im.todo = malloc((im.n ? im.n : 1) * sizeof(*im.todo));
	im.open = malloc(sizeof(*im.open));
	if (!im.todo || !im.open) {
		err = SENIM_ERR_NOMEM;
		goto fail;
	}
	size_t already = 0;
	for (size_t i = 0; i < im.n; i++)
		if (im.rows[i].skip)
			already++;
		else
			im.todo[im.ntodo++] = i;
	op->rows = im.n;
	if (op->dry_run) {
		op->opened = im.ntodo;
		op->skipped = already;
		goto fail;
	}
	while (!err && im.next < im.ntodo) {
		err = store_write(st, write_fn, &im);
		if (!err && op->progress)
			op->progress("imported", im.next, im.ntodo, op->ctx);
	}
	op->skipped += already;
fail:
	if (im.rows)
		sodium_memzero(im.rows, im.cap * sizeof(*im.rows));
	if (im.open)
		sodium_memzero(im.open, sizeof(*im.open));
	free(im.rows);
	free(im.todo);
	free(im.open);
	return err;
}
