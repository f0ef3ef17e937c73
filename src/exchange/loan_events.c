/*
 * loan_events.c — importing loan events, and queuing them for a bureau
 * (loan_events.h).
 *
 * An import makes three passes, only the last of which writes: parse every
 * row with the checks that need no database (a duplicate is found by
 * sorting the rows by their key); look each row up in one read (its
 * subject by the IIN's blind index, whether the event is recorded
 * already); then record the new rows in one write, grouped by subject so
 * each subject's key is unwrapped once and each gets one audit record.  The
 * first bad row of the file is the one named, whichever pass finds it.
 */
#include "exchange/loan_events.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/csv.h"
#include "common/utf8.h"
#include "connectors/bureau.h"
#include "connectors/codec.h"
#include "consent/ledger.h"
#include "core/contact.h"
#include "core/iin.h"
#include "core/schedule.h"
#include "exchange/decide.h"
#include "exchange/register.h"
#include "subjects/subjects.h"
#include "vault/vault.h"
#include "common/banned.h"

#define NCOLS 8
#define IIN_LEN 12
#define DATE_LEN 10
#define CONTRACT_MAX 64
#define AMOUNT_MAX INT64_C(1000000000000000)
#define OVERDUE_MAX 36500
#define ROW_COLUMN "(row)"
#define PROGRESS_EVERY 1000
#define DETAILS_CATEGORY "loan_event"
#define DETAILS_VERSION 1
#define PURPOSE_CODE "legal_obligation"
#define ABSENT (-1)

enum {
	C_EVENT,
	C_OCCURRED,
	C_IIN,
	C_CONTRACT,
	C_AMOUNT,
	C_OUTSTANDING,
	C_OVERDUE,
	C_DUE
};

static const char *const column_names[NCOLS] = {
	"event",       "occurred_on",	   "iin",	   "contract_number",
	"amount_tiyn", "outstanding_tiyn", "overdue_days", "due_date",
};

struct lrow {
	unsigned char digest[VAULT_INDEX_BYTES]; /* the contract's blind index */
	size_t line;
	size_t iin, contract, occurred, due;  /* offsets into the text */
	int64_t amount, outstanding, overdue; /* or ABSENT */
	uint8_t contract_len;
	uint8_t has_due;
	uint8_t event; /* enum bureau_event_kind */
	uint8_t skip;  /* recorded already */
	char subject[SUBJECT_ID_LEN];
	int64_t seq;
};

struct import {
	struct loan_events_import *op;
	const char *text;
	struct lrow *rows;
	size_t n, cap;
	struct loan_import_error parse_err, dup_err, look_err;
	size_t *order; /* new rows, grouped by subject */
	size_t nnew;
};

static void set_error(struct loan_import_error *e, size_t line, const char *col,
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

/* NULL and *v set, or the rule broken; an empty value is ABSENT. */
static const char *number_rule(const char *s, size_t len, int64_t max, int64_t *v)
{
	*v = ABSENT;
	if (!len)
		return NULL;
	if (len > 16 || (len > 1 && s[0] == '0'))
		return len > 16 ? "range" : "format";
	int64_t x = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return "format";
		x = x * 10 + (s[i] - '0');
	}
	if (x > max)
		return "range";
	*v = x;
	return NULL;
}

static const char *check_row(const char *text, const struct csv_field *f, struct lrow *r,
			     size_t *col)
{
	for (size_t i = 0; i < NCOLS; i++) {
		*col = i;
		const char *s = text + f[i].off;
		size_t len = f[i].len;
		int optional = i == C_AMOUNT || i == C_OUTSTANDING || i == C_OVERDUE ||
			       i == C_DUE;
		if (!len && !optional)
			return "required";
		if (!utf8_valid(s, len))
			return "encoding";
		const char *rule = NULL;
		int y, m, d;
		switch (i) {
		case C_EVENT:
			rule = "format";
			/* Applications are senim's own (a submission records
			 * them): a file does not bring them. */
			for (int k = 0; k < BUREAU_EVENT_APPLIED; k++) {
				const char *code =
					bureau_event_code((enum bureau_event_kind)k);
				if (len == strlen(code) && memcmp(s, code, len) == 0) {
					r->event = (uint8_t)k;
					rule = NULL;
				}
			}
			break;
		case C_OCCURRED:
		case C_DUE:
			if (!len)
				break;
			if (len != DATE_LEN || !date_parse_iso(s, len, &y, &m, &d))
				return "format";
			if (i == C_DUE) {
				r->due = f[i].off;
				r->has_due = 1;
			} else {
				r->occurred = f[i].off;
			}
			break;
		case C_IIN: {
			struct iin_info info;
			enum iin_error ie = iin_parse(s, len, &info);
			if (ie != IIN_OK)
				return iin_error_rule(ie);
			r->iin = f[i].off;
			break;
		}
		case C_CONTRACT:
			if (len > CONTRACT_MAX)
				return "length";
			if (!contract_ok(s, len))
				return "format";
			r->contract = f[i].off;
			r->contract_len = (uint8_t)len;
			break;
		case C_AMOUNT:
			rule = number_rule(s, len, AMOUNT_MAX, &r->amount);
			break;
		case C_OUTSTANDING:
			rule = number_rule(s, len, AMOUNT_MAX, &r->outstanding);
			break;
		default:
			rule = number_rule(s, len, OVERDUE_MAX, &r->overdue);
			break;
		}
		if (rule)
			return rule;
	}
	/* loan_event/1's rules per event: the bureau would reject the event. */
	switch (r->event) {
	case BUREAU_EVENT_ISSUED:
		*col = r->amount == ABSENT	  ? C_AMOUNT
		       : r->outstanding == ABSENT ? C_OUTSTANDING
						  : C_DUE;
		if (r->amount == ABSENT || r->outstanding == ABSENT || !r->has_due)
			return "required";
		break;
	case BUREAU_EVENT_OVERDUE:
		*col = C_OVERDUE;
		if (r->overdue == ABSENT || r->overdue == 0)
			return "overdue_days";
		break;
	case BUREAU_EVENT_CLOSED:
		*col = C_OUTSTANDING;
		if (r->outstanding != ABSENT && r->outstanding != 0)
			return "closed_debt";
		break;
	default:
		break;
	}
	return NULL;
}

static enum senim_result add_row(struct import *im, const struct lrow *r)
{
	if (im->n == im->cap) {
		size_t cap = im->cap ? im->cap * 2 : 1024;
		struct lrow *g = malloc(cap * sizeof(*g));
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
	struct csv c;
	csv_init(&c, im->text, im->op->len, NULL);
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
		if (im->n == LOAN_EVENTS_MAX_ROWS) {
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
		struct lrow r = { .line = line };
		const char *rule = check_row(im->text, f, &r, &col);
		if (rule) {
			set_error(&im->parse_err, line, column_names[col], rule);
			return SENIM_ERR_INVALID;
		}
		vault_blind_index(im->op->kr, "contract", im->text + r.contract,
				  r.contract_len, r.digest);
		enum senim_result err = add_row(im, &r);
		if (err)
			return err;
	}
	return SENIM_OK;
}

/* Sorting row indexes by (contract, event, date, line) finds duplicates. */
static const struct import *sort_im;

static int by_key(const void *a, const void *b)
{
	const struct lrow *x = &sort_im->rows[*(const size_t *)a];
	const struct lrow *y = &sort_im->rows[*(const size_t *)b];
	int c = memcmp(x->digest, y->digest, VAULT_INDEX_BYTES);
	if (!c)
		c = (int)x->event - (int)y->event;
	if (!c)
		c = memcmp(sort_im->text + x->occurred, sort_im->text + y->occurred,
			   DATE_LEN);
	if (!c)
		c = x->line < y->line ? -1 : x->line > y->line;
	return c;
}

static int same_key(const struct import *im, const struct lrow *x, const struct lrow *y)
{
	return memcmp(x->digest, y->digest, VAULT_INDEX_BYTES) == 0 &&
	       x->event == y->event &&
	       memcmp(im->text + x->occurred, im->text + y->occurred, DATE_LEN) == 0;
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
	qsort(idx, im->n, sizeof(*idx), by_key);
	for (size_t i = 1; i < im->n; i++) {
		const struct lrow *a = &im->rows[idx[i - 1]], *b = &im->rows[idx[i]];
		if (same_key(im, a, b) &&
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
	struct loan_events_import *op = im->op;
	for (size_t i = 0; i < im->n; i++) {
		struct lrow *r = &im->rows[i];
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
		char occurred[DATE_LEN + 1];
		memcpy(occurred, im->text + r->occurred, DATE_LEN);
		occurred[DATE_LEN] = '\0';
		struct store_rows *rs = NULL;
		enum senim_result err = store_query_one(
			tx,
			"SELECT 1 FROM loan_events WHERE contract_digest = $1 AND event "
			"= $2"
			" AND occurred_on = $3",
			(struct store_val[]){ SV_BLOB(r->digest, VAULT_INDEX_BYTES),
					      SV_TEXT(bureau_event_code(r->event)),
					      SV_TEXT(occurred) },
			3, &rs);
		store_rows_free(rs);
		if (err && err != SENIM_ERR_NOT_FOUND)
			return err;
		r->skip = err == SENIM_OK;
		if (op->progress && ((i + 1) % PROGRESS_EVERY == 0 || i + 1 == im->n))
			op->progress(i + 1, im->n, op->ctx);
	}
	return SENIM_OK;
}

/* ---- pass 3: write ----------------------------------------------------------------- */

static int by_subject(const void *a, const void *b)
{
	const struct lrow *x = &sort_im->rows[*(const size_t *)a];
	const struct lrow *y = &sort_im->rows[*(const size_t *)b];
	int c = strcmp(x->subject, y->subject);
	return c ? c : (x->line < y->line ? -1 : x->line > y->line);
}

static enum senim_result audit(struct store_tx *tx, const struct loan_events_import *op,
			       const char *operation, const char *object,
			       const char *subject)
{
	return audit_append(tx, op->kr,
			    &(struct audit_record){ .actor = op->actor,
						    .operation = operation,
						    .object = object,
						    .subject_id = subject,
						    .categories = "",
						    .purpose = PURPOSE_CODE,
						    .outcome = "success",
						    .request_id = op->request_id });
}

/* An event's details, as both an import and lending record them. */
struct details {
	const char *contract;
	size_t contract_len;
	int64_t amount, outstanding, overdue; /* or ABSENT */
	const char *due;		      /* DATE_LEN characters, or NULL */
	const char *purpose;		      /* applied only, else NULL */
};

/* Insert one row: its details sealed with the subject's key, bound to the
 * row's id. */
static enum senim_result insert_row(struct store_tx *tx, const struct vault_dek *dek,
				    const char *subject, const unsigned char *digest,
				    int64_t seq, enum bureau_event_kind event,
				    const char *occurred, const struct details *d,
				    const char *actor, int64_t now)
{
	char id[OUTBOX_ID_LEN];
	id_time_ordered(id, "lev_", now / 1000);
	json_t *j = json_object();
	struct buf sealed;
	buf_init(&sealed, BUF_NO_LIMIT);
	char *text = NULL;
	size_t len = 0;
	enum senim_result err = SENIM_ERR_NOMEM;
	if (!j)
		goto fail;
	json_object_set_new(j, "contract_number",
			    json_stringn(d->contract, d->contract_len));
	json_object_set_new(j, "amount_tiyn",
			    d->amount == ABSENT ? json_null() : json_integer(d->amount));
	json_object_set_new(j, "outstanding_tiyn",
			    d->outstanding == ABSENT ? json_null()
						     : json_integer(d->outstanding));
	json_object_set_new(j, "overdue_days",
			    d->overdue == ABSENT ? json_null()
						 : json_integer(d->overdue));
	json_object_set_new(j, "due_date",
			    d->due ? json_stringn(d->due, DATE_LEN) : json_null());
	if (d->purpose)
		json_object_set_new(j, "purpose", json_string(d->purpose));
	err = codec_dump(j, &text, &len);
	if (err)
		goto fail;
	err = vault_seal_blob(dek, subject, DETAILS_CATEGORY, id, DETAILS_VERSION, text,
			      len, &sealed);
	if (err)
		goto fail;
	err = store_exec(tx,
			 "INSERT INTO loan_events (id, seq, subject_id, contract_digest,"
			 " event, occurred_on, details, imported_at, imported_by)"
			 " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
			 (struct store_val[]){ SV_TEXT(id), SV_INT(seq), SV_TEXT(subject),
					       SV_BLOB(digest, VAULT_INDEX_BYTES),
					       SV_TEXT(bureau_event_code(event)),
					       SV_TEXT(occurred),
					       SV_BLOB(sealed.data, sealed.len),
					       SV_INT(now), SV_TEXT(actor) },
			 9, NULL);
fail:
	if (text) {
		sodium_memzero(text, len);
		free(text);
	}
	json_decref(j);
	buf_release(&sealed);
	return err;
}

static enum senim_result insert_event(struct store_tx *tx, struct import *im,
				      const struct vault_dek *dek, const struct lrow *r,
				      int64_t now)
{
	struct details d = { .contract = im->text + r->contract,
			     .contract_len = r->contract_len,
			     .amount = r->amount,
			     .outstanding = r->outstanding,
			     .overdue = r->overdue,
			     .due = r->has_due ? im->text + r->due : NULL };
	char occurred[DATE_LEN + 1];
	memcpy(occurred, im->text + r->occurred, DATE_LEN);
	occurred[DATE_LEN] = '\0';
	return insert_row(tx, dek, r->subject, r->digest, r->seq, r->event, occurred, &d,
			  im->op->actor, now);
}

/* The next seq: MAX + 1, with the table locked on PostgreSQL so two writers
 * never take the same (SQLite has one writer). */
static enum senim_result next_seq(struct store_tx *tx, int64_t *seq)
{
	struct store_rows *rs = NULL;
	enum senim_result err = SENIM_OK;
	if (store_tx_kind(tx) == STORE_POSTGRES) {
		err = store_exec(tx, "LOCK TABLE loan_events IN EXCLUSIVE MODE", NULL, 0,
				 NULL);
		if (err)
			return err;
	}
	err = store_query_one(tx, "SELECT COALESCE(MAX(seq), 0) FROM loan_events", NULL,
			      0, &rs);
	if (err)
		return err;
	*seq = store_rows_int(rs, 0) + 1;
	store_rows_free(rs);
	return SENIM_OK;
}

static enum senim_result write_fn(struct store_tx *tx, void *arg)
{
	struct import *im = arg;
	struct loan_events_import *op = im->op;
	int64_t now = clock_now_us();
	int64_t seq = 0;
	enum senim_result err = next_seq(tx, &seq);
	if (err)
		return err;
	for (size_t i = 0; i < im->n; i++)
		if (!im->rows[i].skip)
			im->rows[i].seq = seq++;
	op->subjects = 0;
	struct vault_dek *dek = NULL;
	for (size_t k = 0; k < im->nnew && !err; k++) {
		const struct lrow *r = &im->rows[im->order[k]];
		int first = !k || strcmp(r->subject, im->rows[im->order[k - 1]].subject);
		if (first) {
			vault_dek_free(dek);
			dek = NULL;
			err = vault_dek_load(tx, op->kr, r->subject, &dek);
			if (err)
				break;
			op->subjects++;
		}
		err = insert_event(tx, im, dek, r, now);
		int last = k + 1 == im->nnew ||
			   strcmp(r->subject, im->rows[im->order[k + 1]].subject);
		if (!err && last) {
			char object[16 + SUBJECT_ID_LEN];
			snprintf(object, sizeof(object), "subject:%s", r->subject);
			err = audit(tx, op, "loan_event.record", object, r->subject);
		}
	}
	vault_dek_free(dek);
	if (err)
		return err;
	char object[48];
	snprintf(object, sizeof(object), "import:%zu", im->nnew);
	return audit(tx, op, "loan_events.import", object, NULL);
}

/* The earliest of the errors found, or NULL. */
static const struct loan_import_error *first_error(const struct import *im)
{
	const struct loan_import_error *e[] = { &im->parse_err, &im->dup_err,
						&im->look_err };
	const struct loan_import_error *best = NULL;
	for (size_t i = 0; i < 3; i++)
		if (e[i]->line && (!best || e[i]->line < best->line))
			best = e[i];
	return best;
}

enum senim_result loan_events_import(struct store *st, struct loan_events_import *op)
{
	set_error(&op->error, 0, "", "");
	op->rows = op->recorded = op->skipped = op->subjects = 0;
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
	const struct loan_import_error *e = first_error(&im);
	if (e) {
		op->error = *e;
		err = e == &im.parse_err && perr ? perr : SENIM_ERR_INVALID;
		goto fail;
	}
	im.order = malloc((im.n ? im.n : 1) * sizeof(*im.order));
	if (!im.order) {
		err = SENIM_ERR_NOMEM;
		goto fail;
	}
	for (size_t i = 0; i < im.n; i++)
		if (im.rows[i].skip)
			op->skipped++;
		else
			im.order[im.nnew++] = i;
	sort_im = &im;
	qsort(im.order, im.nnew, sizeof(*im.order), by_subject);
	for (size_t k = 0; k < im.nnew; k++)
		if (!k || strcmp(im.rows[im.order[k]].subject,
				 im.rows[im.order[k - 1]].subject))
			op->subjects++;
	if (!op->dry_run && im.nnew)
		err = store_write(st, write_fn, &im);
	if (err)
		goto fail;
	op->rows = im.n;
	op->recorded = im.nnew;
fail:
	if (err) {
		op->rows = op->recorded = op->skipped = op->subjects = 0;
		if (!op->error.line)
			set_error(&op->error, 0, "", "");
	}
	if (im.rows)
		sodium_memzero(im.rows, im.cap * sizeof(*im.rows));
	free(im.rows);
	free(im.order);
	return err;
}

/* ---- queuing for a bureau -------------------------------------------------------- */

struct pending_event {
	char id[OUTBOX_ID_LEN];
	char subject[SUBJECT_ID_LEN];
	char event[16];
	char occurred[DATE_LEN + 1];
	int64_t seq;
	void *details;
	size_t details_len;
};

static void copy_text(struct store_rows *r, int col, char *out, size_t cap)
{
	size_t n = 0;
	const char *t = store_rows_text(r, col, &n);
	if (!t)
		t = "";
	n = n < cap - 1 ? n : cap - 1;
	memcpy(out, t, n);
	out[n] = '\0';
}

/* "identity,loan" and "identity.iin,...,loan.event" of the service's sends. */
static void describe(const struct recipient_service *svc, char *cats, size_t ccap,
		     char *fields, size_t fcap)
{
	uint32_t seen = 0;
	size_t c = 0, f = 0;
	cats[0] = fields[0] = '\0';
	for (size_t i = 0; i < svc->nsends; i++) {
		const struct recipient_field *fd = &svc->sends[i];
		f += (size_t)snprintf(fields + f, fcap - f, "%s%s", f ? "," : "",
				      fd->code);
		if (f >= fcap)
			f = fcap - 1;
		if (fd->category < 32 && (seen & (1u << fd->category)))
			continue;
		if (fd->category < 32)
			seen |= 1u << fd->category;
		c += (size_t)snprintf(cats + c, ccap - c, "%s%s", c ? "," : "",
				      recipient_category_code(fd->category));
		if (c >= ccap)
			c = ccap - 1;
	}
}

static enum purpose service_purpose(const struct recipient_service *svc)
{
	if (svc->purposes & PURPOSE_BIT(PURPOSE_LEGAL_OBLIGATION))
		return PURPOSE_LEGAL_OBLIGATION;
	if (svc->purposes & PURPOSE_BIT(PURPOSE_LOAN_SERVICING))
		return PURPOSE_LOAN_SERVICING;
	for (int p = 0; p < 32; p++)
		if (svc->purposes & (1u << p))
			return (enum purpose)p;
	return PURPOSE_LOAN_SERVICING;
}

static const char *str_or_null(json_t *fields, const char *key)
{
	return json_string_value(json_object_get(fields, key));
}

static long long int_or_absent(json_t *j, const char *key)
{
	json_t *v = json_object_get(j, key);
	return json_is_integer(v) ? (long long)json_integer_value(v) : BUREAU_ABSENT;
}

/* The event's loan_event/1 object (dumped into *payload), from its sealed
 * details and the subject's identity.  SENIM_ERR_INVALID when the codec
 * refuses it (*why names the field). */
static enum senim_result build_event(struct store_tx *tx, const struct vault_dek *dek,
				     const struct pending_event *e, char **payload,
				     size_t *len, char *why)
{
	struct buf plain;
	buf_init(&plain, BUF_NO_LIMIT);
	json_t *details = NULL, *identity = NULL, *req = NULL;
	enum senim_result err =
		vault_open_blob(dek, e->subject, DETAILS_CATEGORY, e->id, DETAILS_VERSION,
				e->details, e->details_len, &plain);
	if (err)
		goto fail;
	err = SENIM_ERR_CRYPTO;
	details = json_loadb(plain.data, plain.len, 0, NULL);
	if (!details)
		goto fail;
	err = subjects_latest_fields_in(tx, dek, e->subject, CATEGORY_IDENTITY,
					&identity);
	if (err)
		goto fail;
	int kind = -1;
	for (int k = 0; k < BUREAU_EVENT__COUNT; k++)
		if (strcmp(bureau_event_code((enum bureau_event_kind)k), e->event) == 0)
			kind = k;
	struct bureau_loan_event ev = {
		.event_id = e->id,
		.event = (enum bureau_event_kind)(kind < 0 ? 0 : kind),
		.occurred_on = e->occurred,
		.contract_number = str_or_null(details, "contract_number"),
		.iin = identity ? str_or_null(identity, "iin") : NULL,
		.surname = identity ? str_or_null(identity, "surname") : NULL,
		.given_name = identity ? str_or_null(identity, "given_name") : NULL,
		.patronymic = identity ? str_or_null(identity, "patronymic") : NULL,
		.birth_date = identity ? str_or_null(identity, "birth_date") : NULL,
		.amount_tiyn = int_or_absent(details, "amount_tiyn"),
		.outstanding_tiyn = int_or_absent(details, "outstanding_tiyn"),
		.overdue_days = int_or_absent(details, "overdue_days"),
		.due_date = str_or_null(details, "due_date"),
		.purpose = str_or_null(details, "purpose"),
	};
	if (kind < 0) {
		err = SENIM_ERR_INVALID;
		goto fail;
	}
	err = bureau_events_request(&ev, 1, &req, why);
	if (err)
		goto fail;
	err = codec_dump(json_array_get(json_object_get(req, "events"), 0), payload, len);
fail:
	json_decref(req);
	json_decref(identity);
	json_decref(details);
	buf_release_wiped(&plain);
	return err;
}

static enum senim_result one_event(struct store_tx *tx, struct loan_events_queue *q,
				   const struct pending_event *e, const char *cats,
				   const char *fields)
{
	const struct recipient_service *svc = q->service;
	enum purpose purpose = service_purpose(svc);
	struct subject_state state;
	struct exchange_decision d;
	struct vault_dek *dek = NULL;
	char *payload = NULL;
	size_t plen = 0;
	struct buf sealed;
	buf_init(&sealed, BUF_NO_LIMIT);
	enum senim_result err = subjects_state_in(tx, e->subject, &state);
	if (err)
		return err;
	/* 573-II Art. 19(2)(8) asks an application of the bureau with state
	 * participation only, on the law's ground; another bureau never gets
	 * one (it would need the borrower's consent to an application being
	 * reported, which senim does not ask). */
	int not_taken = strcmp(e->event, bureau_event_code(BUREAU_EVENT_APPLIED)) == 0 &&
			svc->basis != RECIPIENT_BASIS_LAW;
	struct exchange_question question = { .recipient = q->recipient->code,
					      .service = svc->code,
					      .by_system = 1,
					      .purpose = purpose,
					      .state = &state };
	err = exchange_decide(q->recipients, q->matrix, &question, &d);
	if (err)
		return err;
	struct disclosure entry = {
		.subject_id = e->subject,
		.direction = REGISTER_OUT,
		.recipient = q->recipient,
		.service = svc->code,
		.categories = cats,
		.fields = fields,
		.purpose = purpose,
		.basis = svc->basis,
		.legal_ref = svc->legal_ref,
		.outcome = REGISTER_REFUSED,
		.request_id = q->request_id,
		.actor = q->actor,
	};
	if (not_taken || d.refused.why != ACCESS_GRANTED) {
		q->refused++;
		entry.reason = not_taken ? LOAN_EVENTS_NOT_TAKEN
					 : access_result_code(d.refused.why);
		return register_append(tx, q->kr, &entry, NULL);
	}
	struct ledger_evidence ev = { 0 };
	if (svc->basis == RECIPIENT_BASIS_CONSENT) {
		err = ledger_evidence_in(tx, e->subject, (enum consent_kind)svc->consent,
					 &ev);
		if (err)
			goto fail;
	}
	err = vault_dek_load(tx, q->kr, e->subject, &dek);
	if (err)
		goto fail;
	char why[CODEC_REASON_MAX] = "";
	err = build_event(tx, dek, e, &payload, &plen, why);
	if (err == SENIM_ERR_INVALID || err == SENIM_ERR_NOT_FOUND) {
		/* Data the bureau would reject (a missing birth date, say):
		 * nothing leaves; the register says so. */
		q->invalid++;
		entry.outcome = REGISTER_FAILED;
		entry.reason = "invalid_event";
		entry.consent_id = ev.id[0] ? ev.id : NULL;
		err = register_append(tx, q->kr, &entry, NULL);
		goto fail;
	}
	if (err)
		goto fail;
	char tid[OUTBOX_ID_LEN];
	int64_t now = clock_now_us() / 1000;
	id_time_ordered(tid, "trf_", now);
	err = vault_seal_blob(dek, e->subject, "transfer", tid, 0, payload, plen,
			      &sealed);
	if (err)
		goto fail;
	err = store_exec(
		tx,
		"INSERT INTO transfers (id, subject_id, recipient, service, api, mode,"
		" idempotency_key, purpose, basis, consent_id, legal_ref, categories, "
		"fields,"
		" country, cross_border, payload, state, attempts, next_attempt_at,"
		" may_have_reached, batch_id, request_id, actor, created_at, updated_at)"
		" VALUES ($1, $2, $3, $4, $5, 'deliver', $6, $7, $8, $9, $10, $11, $12,"
		" $13, $14, $15, 'pending', 0, $16, 0, $17, $18, $19, $16, $16)",
		(struct store_val[]){
			SV_TEXT(tid), SV_TEXT(e->subject), SV_TEXT(q->recipient->code),
			SV_TEXT(svc->code), SV_TEXT(recipient_api_code(svc->api)),
			SV_TEXT(e->id), SV_TEXT(purpose_code(purpose)),
			SV_TEXT(recipient_basis_code(svc->basis)),
			ev.id[0] ? SV_TEXT(ev.id) : SV_NULL(),
			svc->legal_ref ? SV_TEXT(svc->legal_ref) : SV_NULL(),
			SV_TEXT(cats), SV_TEXT(fields), SV_TEXT(q->recipient->country),
			SV_INT(d.cross_border), SV_BLOB(sealed.data, sealed.len),
			SV_INT(now), SV_TEXT(q->batch_id), SV_TEXT(q->request_id),
			SV_TEXT(q->actor) },
		19, NULL);
	if (err)
		goto fail;
	char object[16 + OUTBOX_ID_LEN];
	snprintf(object, sizeof(object), "transfer:%s", tid);
	err = audit_append(tx, q->kr,
			   &(struct audit_record){ .actor = q->actor,
						   .operation = "transfer.decide",
						   .object = object,
						   .subject_id = e->subject,
						   .categories = cats,
						   .purpose = purpose_code(purpose),
						   .outcome = "success",
						   .request_id = q->request_id });
	if (!err)
		q->queued++;
fail:
	if (payload) {
		sodium_memzero(payload, plen);
		free(payload);
	}
	buf_release(&sealed);
	vault_dek_free(dek);
	return err;
}

enum senim_result loan_events_queue_tx(struct store_tx *tx, void *arg)
{
	struct loan_events_queue *q = arg;
	q->taken = q->queued = q->refused = q->invalid = 0;
	if (!q->kr || !q->recipients || !q->matrix || !q->recipient || !q->service ||
	    !q->actor || !q->request_id)
		return SENIM_ERR_INVALID;
	const char *rc = q->recipient->code;
	struct store_rows *r = NULL;
	int64_t cursor = 0;
	enum senim_result err = store_query_one(
		tx, "SELECT last_seq FROM bureau_cursors WHERE recipient = $1",
		(struct store_val[]){ SV_TEXT(rc) }, 1, &r);
	if (!err)
		cursor = store_rows_int(r, 0);
	store_rows_free(r);
	r = NULL;
	if (err && err != SENIM_ERR_NOT_FOUND)
		return err;
	err = store_query(tx,
			  "SELECT id, subject_id, event, occurred_on, seq, details"
			  " FROM loan_events WHERE seq > $1 ORDER BY seq LIMIT 500",
			  (struct store_val[]){ SV_INT(cursor) }, 1, &r);
	if (err)
		return err;
	struct pending_event *ev = calloc(LOAN_EVENTS_BATCH, sizeof(*ev));
	size_t n = 0;
	int has = 0;
	if (!ev)
		err = SENIM_ERR_NOMEM;
	while (!err && n < LOAN_EVENTS_BATCH &&
	       (err = store_rows_next(r, &has)) == SENIM_OK && has) {
		struct pending_event *e = &ev[n++];
		copy_text(r, 0, e->id, sizeof(e->id));
		copy_text(r, 1, e->subject, sizeof(e->subject));
		copy_text(r, 2, e->event, sizeof(e->event));
		copy_text(r, 3, e->occurred, sizeof(e->occurred));
		e->seq = store_rows_int(r, 4);
		size_t len = 0;
		const void *blob = store_rows_blob(r, 5, &len);
		e->details = malloc(len ? len : 1);
		if (!e->details) {
			err = SENIM_ERR_NOMEM;
			break;
		}
		memcpy(e->details, blob, len);
		e->details_len = len;
	}
	store_rows_free(r);
	char cats[128], fields[512];
	describe(q->service, cats, sizeof(cats), fields, sizeof(fields));
	id_time_ordered(q->batch_id, "lbt_", clock_now_us() / 1000);
	for (size_t i = 0; i < n && !err; i++)
		err = one_event(tx, q, &ev[i], cats, fields);
	if (!err && n) {
		err = store_exec(
			tx,
			"INSERT INTO bureau_cursors (recipient, last_seq, updated_at)"
			" VALUES ($1, $2, $3) ON CONFLICT (recipient) DO UPDATE"
			" SET last_seq = excluded.last_seq,"
			" updated_at = excluded.updated_at",
			(struct store_val[]){ SV_TEXT(rc), SV_INT(ev[n - 1].seq),
					      SV_INT(clock_now_us() / 1000) },
			3, NULL);
		q->taken = n;
	}
	for (size_t i = 0; i < n; i++)
		free(ev[i].details);
	free(ev);
	return err;
}

/* ---- loan_event/1 for the pump ----------------------------------------------------- */

static enum senim_result api_build(const struct outbox_row *rows, size_t n, char **body,
				   size_t *len)
{
	struct buf b;
	buf_init(&b, BUF_NO_LIMIT);
	enum senim_result err = buf_add(&b, "{\"events\":[", 11);
	for (size_t i = 0; i < n && !err; i++) {
		if (i)
			err = buf_add(&b, ",", 1);
		if (!err)
			err = buf_add(&b, rows[i].payload, rows[i].payload_len);
	}
	if (!err)
		err = buf_add(&b, "]}", 2);
	if (err) {
		buf_release_wiped(&b);
		return err;
	}
	*body = buf_detach(&b, len);
	return SENIM_OK;
}

static enum retry_check api_check(const char *body, size_t len, struct outbox_row *rows,
				  size_t n)
{
	const char **ids = malloc((n ? n : 1) * sizeof(*ids));
	if (!ids)
		return RETRY_CHECK_INVALID;
	for (size_t i = 0; i < n; i++)
		ids[i] = rows[i].key;
	struct bureau_event_results *res = NULL;
	struct codec_verdict v;
	enum senim_result err = bureau_events_parse(body, len, ids, n, &res, &v);
	free(ids);
	if (err || v.status != CODEC_OK || !res)
		return RETRY_CHECK_INVALID;
	for (size_t i = 0; i < n; i++) {
		const struct bureau_event_result *x = &res->results[i];
		rows[i].result = x->status == BUREAU_EVENT_REJECTED
					 ? OUTBOX_ROW_REJECTED
					 : OUTBOX_ROW_DELIVERED;
		rows[i].reason[0] = '\0';
		if (x->error_code)
			snprintf(rows[i].reason, sizeof(rows[i].reason), "%s",
				 x->error_code);
	}
	bureau_event_results_free(res);
	return RETRY_CHECK_OK;
}

const struct outbox_api loan_events_api = { .build = api_build, .check = api_check };

/* ---- one event, from lending -------------------------------------------------------- */

static void day_text(int32_t day, char out[DATE_LEN + 1])
{
	int y, m, d;
	schedule_ymd(day, &y, &m, &d);
	snprintf(out, DATE_LEN + 1, "%04d-%02d-%02d", y, m, d);
}

enum senim_result loan_events_append_tx(struct store_tx *tx, const struct keyring *kr,
					const struct vault_dek *dek,
					const struct loan_event_new *e, int *recorded)
{
	*recorded = 0;
	size_t clen = e->contract_number ? strlen(e->contract_number) : 0;
	if (!clen || clen > CONTRACT_MAX || e->event >= BUREAU_EVENT__COUNT ||
	    !e->subject_id || !e->actor || !e->request_id)
		return SENIM_ERR_INVALID;
	/* loan_event/1: an application has its amount and a purpose of the
	 * list; no other event has a purpose. */
	if (e->event == BUREAU_EVENT_APPLIED
		    ? (!bureau_purpose_ok(e->purpose) || e->amount_tiyn < 0)
		    : e->purpose != NULL)
		return SENIM_ERR_INVALID;
	unsigned char digest[VAULT_INDEX_BYTES];
	vault_blind_index(kr, "contract", e->contract_number, clen, digest);
	char occurred[DATE_LEN + 1], due[DATE_LEN + 1];
	day_text(e->occurred_on, occurred);
	if (e->has_due)
		day_text(e->due, due);
	struct store_rows *rs = NULL;
	enum senim_result err = store_query_one(
		tx,
		"SELECT 1 FROM loan_events WHERE contract_digest = $1 AND event = $2"
		" AND occurred_on = $3",
		(struct store_val[]){ SV_BLOB(digest, VAULT_INDEX_BYTES),
				      SV_TEXT(bureau_event_code(e->event)),
				      SV_TEXT(occurred) },
		3, &rs);
	store_rows_free(rs);
	if (err != SENIM_ERR_NOT_FOUND)
		return err; /* SENIM_OK: recorded already, left as it is */
	int64_t seq = 0;
	err = next_seq(tx, &seq);
	if (err)
		return err;
	struct details d = { .contract = e->contract_number,
			     .contract_len = clen,
			     .amount = e->amount_tiyn,
			     .outstanding = e->outstanding_tiyn,
			     .overdue = e->overdue_days,
			     .due = e->has_due ? due : NULL,
			     .purpose = e->purpose };
	err = insert_row(tx, dek, e->subject_id, digest, seq, e->event, occurred, &d,
			 e->actor, clock_now_us());
	if (err)
		return err;
	char object[16 + SUBJECT_ID_LEN];
	snprintf(object, sizeof(object), "subject:%s", e->subject_id);
	err = audit_append(tx, kr,
			   &(struct audit_record){ .actor = e->actor,
						   .operation = "loan_event.record",
						   .object = object,
						   .subject_id = e->subject_id,
						   .categories = "",
						   .purpose = PURPOSE_CODE,
						   .outcome = "success",
						   .request_id = e->request_id });
	if (!err)
		*recorded = 1;
	return err;
}
