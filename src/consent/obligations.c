/*
 * obligations.c — borrowers' obligations: importing a portfolio, settling a
 * contract, counting what is open (obligations.h).
 *
 * An import makes three passes, and only the last one writes:
 *   1. parse: the CSV row by row with every check that needs no database,
 *      and the contract's blind index, so a contract named twice in the file
 *      is caught.  Rows are kept as offsets into the caller's text: the
 *      file's personal data is never copied.
 *   2. look up, in one read transaction: each IIN's subject (once per IIN)
 *      and whether the contract is recorded already.
 *   3. write, in one store_write: per subject its data key is unwrapped
 *      once, its rows sealed and inserted, one audit record written; then
 *      the import's own record.  Any failure rolls back the lot.
 * When parsing stops at a bad row, the rows before it are still looked up,
 * so the row named is always the first bad row of the file.
 *
 * Rules a row can break (import_error.rule): header, columns, quoting,
 * encoding, required, format, length, range, the IIN rules of core/iin.h
 * (iin_checksum, ...), duplicate, not_registered, exists, too_many_rows.
 *
 * Contract numbers are matched exactly as written, with no case folding:
 * the blind index is of kind "contract" over the number's UTF-8 bytes.
 * Sealed details keep the status as the file gave it ("overdue" included);
 * the status column, open or closed, is what counts.
 */
#include "consent/obligations.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/csv.h"
#include "common/log.h"
#include "common/utf8.h"
#include "core/contact.h"
#include "core/iin.h"
#include "common/ids.h"
#include "vault/vault.h"
#include "common/banned.h"

/* Details are sealed bound to their row: the field is "details:" and the
 * first 16 bytes of the row's contract digest in hex (version 2; a field
 * name is at most 64 bytes), so details moved to another
 * row of the same subject fail to open.  Rows sealed before that (version
 * 1, field "details") still open; for every row the contract number inside
 * must also hash to the row's digest (details_field, first_contract). */
#define OBLIG_CATEGORY "obligation"
#define OBLIG_FIELD "details"
#define OBLIG_VERSION 2
#define OBLIG_VERSION_UNBOUND 1
#define OBLIG_BOUND_BYTES 16
#define OBLIG_FIELD_MAX (sizeof(OBLIG_FIELD) + 2 * OBLIG_BOUND_BYTES + 1)
#define OBLIG_PURPOSE "legal_obligation"
#define OBLIG_ORIGIN "import"
#define CONTRACT_MAX_CHARS 64
#define CONTRACT_MAX_BYTES (CONTRACT_MAX_CHARS * 2) /* Cyrillic: 2 bytes each */
#define AMOUNT_MAX INT64_C(1000000000000000)	    /* 10^15 tiyn */
#define AMOUNT_MAX_DIGITS 16
#define PROGRESS_EVERY 1000
#define NCOLS 5
#define IIN_LEN 12
#define ROW_COLUMN "(row)"

enum {
	COL_IIN,
	COL_CONTRACT,
	COL_AMOUNT,
	COL_DUE,
	COL_STATUS
};

static const char *const column_names[NCOLS] = {
	"iin", "contract_number", "outstanding_tiyn", "due_date", "status",
};

enum {
	STATUS_OPEN,
	STATUS_OVERDUE,
	STATUS_CLOSED,
	STATUS__COUNT
};

static const char *const status_names[STATUS__COUNT] = { "open", "overdue", "closed" };

static const char SQL_SUBJECT_BY_IIN[] =
	"SELECT subject_id FROM subject_index WHERE kind = 'iin' AND digest = $1";
static const char SQL_CONTRACT_EXISTS[] =
	"SELECT 1 FROM obligations WHERE contract_digest = $1";
static const char SQL_INSERT[] =
	"INSERT INTO obligations (subject_id, contract_digest, status, origin,"
	" details, recorded_at, closed_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";
static const char SQL_FIND[] =
	"SELECT subject_id, status FROM obligations WHERE contract_digest = $1";
static const char SQL_CLOSE[] = "UPDATE obligations SET status = 'closed', closed_at = $2"
				" WHERE contract_digest = $1 AND status = 'open'";
/* Imported obligations and senim's own loans alike (C2): a loan is open
 * until it closes, overdue or not (lending/loans.h mirrors its status). */
static const char SQL_COUNT_OPEN[] =
	"SELECT (SELECT count(*) FROM obligations WHERE subject_id = $1"
	" AND status = 'open') + (SELECT count(*) FROM loans WHERE subject_id = $1"
	" AND status IN ('open', 'overdue'))";
static const char SQL_FIRST_OPEN[] =
	"SELECT details, contract_digest FROM obligations WHERE subject_id = $1"
	" AND status = 'open'"
	" ORDER BY recorded_at, contract_digest LIMIT 1";

/* ---- rows, subjects, and the tables that find them ------------------------- */

/* One data row, checked; text is referred to by offset into the file. */
struct row {
	unsigned char digest[VAULT_INDEX_BYTES]; /* first: the table's key */
	size_t line;
	size_t iin;	 /* offset of the IIN (IIN_LEN digits) */
	size_t contract; /* offset of the contract number */
	int64_t tiyn;
	uint32_t subject; /* index into import.subjects, once looked up */
	uint16_t due_year;
	uint8_t due_month, due_day;
	uint8_t contract_len;
	uint8_t status;
};

struct subject_ref {
	unsigned char iin_digest[VAULT_INDEX_BYTES]; /* first: the table's key */
	char id[SUBJECT_ID_LEN];
	size_t first_line; /* its first row, to name if its key is gone */
};

/*
 * An open-addressing set of indexes into an array whose elements start with
 * a blind index (rows, subjects).  Blind indexes are keyed hashes, so their
 * first bytes are as good a hash as any.  Slots hold index + 1; 0 is empty.
 */
struct dtab {
	uint32_t *slot;
	size_t cap; /* a power of two, or 0 */
	size_t n;
};

static uint64_t dtab_hash(const unsigned char *d)
{
	uint64_t h;
	memcpy(&h, d, sizeof(h));
	return h;
}

/* The index whose key (at base + i * stride) is `digest`, or UINT32_MAX. */
static uint32_t dtab_find(const struct dtab *t, const void *base, size_t stride,
			  const unsigned char *digest)
{
	if (!t->cap)
		return UINT32_MAX;
	for (size_t i = dtab_hash(digest) & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
		uint32_t s = t->slot[i];
		if (!s)
			return UINT32_MAX;
		const unsigned char *k =
			(const unsigned char *)base + (size_t)(s - 1) * stride;
		if (memcmp(k, digest, VAULT_INDEX_BYTES) == 0)
			return s - 1;
	}
}

static void dtab_place(uint32_t *slot, size_t cap, const unsigned char *key, uint32_t idx)
{
	size_t i = dtab_hash(key) & (cap - 1);
	while (slot[i])
		i = (i + 1) & (cap - 1);
	slot[i] = idx + 1;
}

/* Add index idx, whose key is already in the array; grows at half full. */
static enum senim_result dtab_add(struct dtab *t, const void *base, size_t stride,
				  uint32_t idx)
{
	const unsigned char *b = base;
	if ((t->n + 1) * 2 > t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 1024;
		uint32_t *slot = calloc(cap, sizeof(*slot));
		if (!slot)
			return SENIM_ERR_NOMEM;
		for (size_t i = 0; i < t->cap; i++)
			if (t->slot[i])
				dtab_place(slot, cap,
					   b + (size_t)(t->slot[i] - 1) * stride,
					   t->slot[i] - 1);
		free(t->slot);
		t->slot = slot;
		t->cap = cap;
	}
	dtab_place(t->slot, t->cap, b + (size_t)idx * stride, idx);
	t->n++;
	return SENIM_OK;
}

static void dtab_release(struct dtab *t)
{
	free(t->slot);
	t->slot = NULL;
	t->cap = t->n = 0;
}

/* ---- the import's state ---------------------------------------------------- */

struct import {
	const struct keyring *kr;
	const char *text;
	size_t len;
	struct obligations_import *op; /* its counts are written as they come */
	struct import_error *e;	       /* op->error, or a scratch one */

	struct row *rows;
	size_t nrows, rows_cap;
	struct dtab contracts; /* rows by contract digest */

	struct subject_ref *subjects;
	size_t nsubjects, subjects_cap;
	struct dtab by_iin; /* subjects by IIN digest */

	/* rows grouped by subject, in file order within each: the rows of
	 * subject s are order[start[s] .. start[s + 1]) */
	uint32_t *order;
	size_t *start;

	int quiet; /* no progress: the lookups behind a bad row */
};

static void set_error(struct import_error *e, size_t line, const char *column,
		      const char *rule)
{
	e->line = line;
	e->column = column;
	e->rule = rule;
}

static void import_release(struct import *im)
{
	/* Offsets, amounts, dates and digests of people's contracts: wiped. */
	if (im->rows)
		sodium_memzero(im->rows, im->rows_cap * sizeof(*im->rows));
	if (im->subjects)
		sodium_memzero(im->subjects, im->subjects_cap * sizeof(*im->subjects));
	free(im->rows);
	free(im->subjects);
	free(im->order);
	free(im->start);
	dtab_release(&im->contracts);
	dtab_release(&im->by_iin);
}

/* ---- checking a value ---------------------------------------------------- */

/* Latin letters, digits, / _ . - and the Cyrillic letters of Kazakh and
 * Russian (U+0400-U+04FF without the signs U+0482-U+0489). */
static int contract_char(uint32_t c)
{
	if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
		return 1;
	if (c == '/' || c == '_' || c == '.' || c == '-')
		return 1;
	return c >= 0x0400 && c <= 0x04FF && !(c >= 0x0482 && c <= 0x0489);
}

/* NULL when s is a contract number, else the rule it breaks (UTF-8 is
 * checked already). */
static const char *contract_rule(const char *s, size_t len)
{
	size_t chars = 0;
	for (size_t i = 0; i < len; chars++) {
		uint32_t cp = 0;
		size_t n = utf8_decode((const unsigned char *)s + i, len - i, &cp);
		if (!n)
			return "encoding";
		if (!contract_char(cp))
			return "format";
		i += n;
	}
	return chars > CONTRACT_MAX_CHARS || len > CONTRACT_MAX_BYTES ? "length" : NULL;
}

/* NULL and *v set when s is an amount: decimal digits, no sign, no leading
 * zero, at most 10^15. */
static const char *amount_rule(const char *s, size_t len, int64_t *v)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return "format";
	if (len > 1 && s[0] == '0')
		return "format";
	if (len > AMOUNT_MAX_DIGITS)
		return "range";
	int64_t x = 0;
	for (size_t i = 0; i < len; i++)
		x = x * 10 + (s[i] - '0');
	if (x > AMOUNT_MAX)
		return "range";
	*v = x;
	return NULL;
}

/* Check a data row's five fields in column order; NULL and *r filled, or
 * the first rule broken with its column in *col.  A quoted field keeps its
 * doubled quotes (csv.h): no value accepted here holds a quote, so every
 * check refuses one. */
static const char *check_row(const char *text, const struct csv_field *f, struct row *r,
			     size_t *col)
{
	for (size_t i = 0; i < NCOLS; i++) {
		*col = i;
		const char *s = text + f[i].off;
		size_t len = f[i].len;
		if (!len)
			return "required";
		if (!utf8_valid(s, len))
			return "encoding";
		const char *rule = NULL;
		int y, m, d;
		switch (i) {
		case COL_IIN: {
			struct iin_info info;
			enum iin_error ie = iin_parse(s, len, &info);
			if (ie != IIN_OK)
				return iin_error_rule(ie);
			r->iin = f[i].off;
			break;
		}
		case COL_CONTRACT:
			rule = contract_rule(s, len);
			r->contract = f[i].off;
			r->contract_len = (uint8_t)(len <= CONTRACT_MAX_BYTES ? len : 0);
			break;
		case COL_AMOUNT:
			rule = amount_rule(s, len, &r->tiyn);
			break;
		case COL_DUE:
			if (!date_parse_iso(s, len, &y, &m, &d))
				return "format";
			r->due_year = (uint16_t)y;
			r->due_month = (uint8_t)m;
			r->due_day = (uint8_t)d;
			break;
		default:
			rule = "format";
			for (int st = 0; st < STATUS__COUNT; st++)
				if (len == strlen(status_names[st]) &&
				    memcmp(s, status_names[st], len) == 0) {
					r->status = (uint8_t)st;
					rule = NULL;
				}
			break;
		}
		if (rule)
			return rule;
	}
	return NULL;
}

/* ---- pass 1: parse ---------------------------------------------------------- */

static int header_ok(const char *text, const struct csv_field *f, size_t nf,
		     struct import_error *e)
{
	if (nf != NCOLS) {
		set_error(e, 1, ROW_COLUMN, "header");
		return 0;
	}
	for (size_t i = 0; i < NCOLS; i++)
		if (f[i].len != strlen(column_names[i]) ||
		    memcmp(text + f[i].off, column_names[i], f[i].len) != 0) {
			set_error(e, 1, column_names[i], "header");
			return 0;
		}
	return 1;
}

static enum senim_result add_row(struct import *im, const struct row *r)
{
	if (im->nrows == im->rows_cap) {
		size_t cap = im->rows_cap ? im->rows_cap * 2 : 1024;
		if (cap > OBLIGATIONS_MAX_ROWS)
			cap = OBLIGATIONS_MAX_ROWS;
		struct row *grown = malloc(cap * sizeof(*grown));
		if (!grown)
			return SENIM_ERR_NOMEM;
		/* By hand rather than realloc, so the old block can be wiped. */
		if (im->nrows) {
			memcpy(grown, im->rows, im->nrows * sizeof(*grown));
			sodium_memzero(im->rows, im->rows_cap * sizeof(*im->rows));
		}
		free(im->rows);
		im->rows = grown;
		im->rows_cap = cap;
	}
	im->rows[im->nrows] = *r;
	enum senim_result err = dtab_add(&im->contracts, im->rows, sizeof(struct row),
					 (uint32_t)im->nrows);
	if (err)
		return err;
	im->nrows++;
	return SENIM_OK;
}

/*
 * Parse and check the whole text.  SENIM_OK, or an error with im->e set
 * (SENIM_ERR_INVALID for a bad row, SENIM_ERR_TOO_LARGE past the row cap);
 * the rows before the bad one are kept.
 */
static enum senim_result parse_all(struct import *im)
{
	/* UTF-8 is checked field by field in check_row, so that the first
	 * rule a row breaks, in column order, is the one named. */
	struct csv c;
	csv_init(&c, im->text, im->len, NULL);
	struct csv_field f[NCOLS];
	struct csv_error ce;
	size_t nf = 0, line = 1, col = 0;
	if (c.pos >= c.len || csv_at_end(&c) ||
	    csv_record(&c, f, NCOLS, &nf, &line, &ce) || !header_ok(c.s, f, nf, im->e)) {
		if (!im->e->rule || !*im->e->rule)
			set_error(im->e, 1, ROW_COLUMN, "header");
		return SENIM_ERR_INVALID;
	}
	while (!csv_at_end(&c)) {
		if (im->nrows == OBLIGATIONS_MAX_ROWS) {
			set_error(im->e, c.line, ROW_COLUMN, "too_many_rows");
			return SENIM_ERR_TOO_LARGE;
		}
		if (csv_record(&c, f, NCOLS, &nf, &line, &ce)) {
			set_error(im->e, ce.line,
				  ce.field < NCOLS ? column_names[ce.field] : ROW_COLUMN,
				  ce.rule);
			return SENIM_ERR_INVALID;
		}
		if (nf != NCOLS) {
			set_error(im->e, line, ROW_COLUMN, "columns");
			return SENIM_ERR_INVALID;
		}
		struct row r = { .line = line };
		const char *rule = check_row(c.s, f, &r, &col);
		if (rule) {
			set_error(im->e, line, column_names[col], rule);
			return SENIM_ERR_INVALID;
		}
		vault_blind_index(im->kr, "contract", c.s + r.contract, r.contract_len,
				  r.digest);
		if (dtab_find(&im->contracts, im->rows, sizeof(struct row), r.digest) !=
		    UINT32_MAX) {
			set_error(im->e, line, column_names[COL_CONTRACT], "duplicate");
			return SENIM_ERR_INVALID;
		}
		enum senim_result err = add_row(im, &r);
		if (err)
			return err;
	}
	return SENIM_OK;
}

/* ---- pass 2: look up ---------------------------------------------------------- */

static enum senim_result add_subject(struct import *im, const unsigned char *digest,
				     const char *id, size_t idlen, size_t line,
				     uint32_t *idx)
{
	if (idlen >= SUBJECT_ID_LEN)
		return SENIM_ERR_STORE; /* not an id senim wrote */
	if (im->nsubjects == im->subjects_cap) {
		size_t cap = im->subjects_cap ? im->subjects_cap * 2 : 256;
		struct subject_ref *grown = malloc(cap * sizeof(*grown));
		if (!grown)
			return SENIM_ERR_NOMEM;
		if (im->nsubjects) {
			memcpy(grown, im->subjects, im->nsubjects * sizeof(*grown));
			sodium_memzero(im->subjects,
				       im->subjects_cap * sizeof(*im->subjects));
		}
		free(im->subjects);
		im->subjects = grown;
		im->subjects_cap = cap;
	}
	struct subject_ref *s = &im->subjects[im->nsubjects];
	memcpy(s->iin_digest, digest, VAULT_INDEX_BYTES);
	memcpy(s->id, id, idlen);
	s->id[idlen] = '\0';
	s->first_line = line;
	enum senim_result err =
		dtab_add(&im->by_iin, im->subjects, sizeof(struct subject_ref),
			 (uint32_t)im->nsubjects);
	if (err)
		return err;
	*idx = (uint32_t)im->nsubjects++;
	return SENIM_OK;
}

/* The subject of row r: found in the cache or the index, else not_registered. */
static enum senim_result find_subject(struct store_tx *tx, struct import *im,
				      struct row *r)
{
	unsigned char digest[VAULT_INDEX_BYTES];
	vault_blind_index(im->kr, "iin", im->text + r->iin, IIN_LEN, digest);
	uint32_t idx =
		dtab_find(&im->by_iin, im->subjects, sizeof(struct subject_ref), digest);
	if (idx != UINT32_MAX) {
		r->subject = idx;
		return SENIM_OK;
	}
	struct store_rows *rs = NULL;
	enum senim_result err = store_query_one(
		tx, SQL_SUBJECT_BY_IIN,
		(struct store_val[]){ SV_BLOB(digest, sizeof(digest)) }, 1, &rs);
	if (err == SENIM_ERR_NOT_FOUND) {
		set_error(im->e, r->line, column_names[COL_IIN], "not_registered");
		return SENIM_ERR_INVALID;
	}
	if (err)
		return err;
	size_t len = 0;
	const char *id = store_rows_text(rs, 0, &len);
	err = add_subject(im, digest, id ? id : "", id ? len : 0, r->line, &idx);
	r->subject = idx;
	store_rows_free(rs);
	return err;
}

/* *has 1 when the contract is recorded already. */
static enum senim_result contract_recorded(struct store_tx *tx,
					   const unsigned char *digest, int *has)
{
	struct store_rows *rs = NULL;
	enum senim_result err = store_query_one(
		tx, SQL_CONTRACT_EXISTS,
		(struct store_val[]){ SV_BLOB(digest, VAULT_INDEX_BYTES) }, 1, &rs);
	*has = !err;
	store_rows_free(rs);
	return err == SENIM_ERR_NOT_FOUND ? SENIM_OK : err;
}

static enum senim_result lookup_fn(struct store_tx *tx, void *arg)
{
	struct import *im = arg;
	import_progress_fn progress = im->quiet ? NULL : im->op->progress;
	im->nsubjects = 0;
	dtab_release(&im->by_iin);
	for (size_t i = 0; i < im->nrows; i++) {
		struct row *r = &im->rows[i];
		enum senim_result err = find_subject(tx, im, r);
		if (err)
			return err;
		int has = 0;
		err = contract_recorded(tx, r->digest, &has);
		if (err)
			return err;
		if (has) {
			set_error(im->e, r->line, column_names[COL_CONTRACT], "exists");
			return SENIM_ERR_CONFLICT;
		}
		if (progress && ((i + 1) % PROGRESS_EVERY == 0 || i + 1 == im->nrows))
			progress(i + 1, im->nrows, im->op->ctx);
	}
	return SENIM_OK;
}

/* Group the rows by subject (a counting sort, so file order is kept). */
static enum senim_result group_rows(struct import *im)
{
	im->start = calloc(im->nsubjects + 1, sizeof(*im->start));
	im->order = malloc((im->nrows ? im->nrows : 1) * sizeof(*im->order));
	if (!im->start || !im->order)
		return SENIM_ERR_NOMEM;
	for (size_t i = 0; i < im->nrows; i++)
		im->start[im->rows[i].subject + 1]++;
	for (size_t s = 0; s < im->nsubjects; s++)
		im->start[s + 1] += im->start[s];
	size_t *next = malloc((im->nsubjects ? im->nsubjects : 1) * sizeof(*next));
	if (!next)
		return SENIM_ERR_NOMEM;
	memcpy(next, im->start, im->nsubjects * sizeof(*next));
	for (size_t i = 0; i < im->nrows; i++)
		im->order[next[im->rows[i].subject]++] = (uint32_t)i;
	free(next);
	return SENIM_OK;
}

/* ---- pass 3: write -------------------------------------------------------------- */

static enum senim_result audit(struct store_tx *tx, const struct keyring *kr,
			       const char *actor, const char *request_id, const char *op,
			       const char *object, const char *subject_id)
{
	struct audit_record rec = {
		.actor = actor,
		.operation = op,
		.object = object,
		.subject_id = subject_id,
		.categories = "",
		.purpose = OBLIG_PURPOSE,
		.outcome = "success",
		.request_id = request_id,
	};
	return audit_append(tx, kr, &rec);
}

/* "details:<the contract digest's first 16 bytes in hex>": the AD field
 * that binds a row's details to that row. */
static void details_field(const unsigned char digest[VAULT_INDEX_BYTES],
			  char out[OBLIG_FIELD_MAX])
{
	memcpy(out, OBLIG_FIELD ":", sizeof(OBLIG_FIELD));
	sodium_bin2hex(out + sizeof(OBLIG_FIELD), OBLIG_FIELD_MAX - sizeof(OBLIG_FIELD),
		       digest, OBLIG_BOUND_BYTES);
}

/* Seal one row's details with the subject's key and insert it. */
static enum senim_result insert_row(struct store_tx *tx, struct import *im,
				    const struct vault_dek *dek, const char *subject_id,
				    const struct row *r, int64_t now, struct buf *details,
				    struct buf *sealed)
{
	/* The number holds no quote or backslash (contract_char), so it goes
	 * into the JSON as it is. */
	enum senim_result err = buf_addf(
		details,
		"{\"contract_number\":\"%.*s\",\"outstanding_tiyn\":%" PRId64
		",\"due_date\":\"%04d-%02d-%02d\",\"status\":\"%s\"}",
		(int)r->contract_len, im->text + r->contract, r->tiyn, (int)r->due_year,
		(int)r->due_month, (int)r->due_day, status_names[r->status]);
	if (err)
		return err;
	char field[OBLIG_FIELD_MAX];
	details_field(r->digest, field);
	err = vault_seal_blob(dek, subject_id, OBLIG_CATEGORY, field, OBLIG_VERSION,
			      details->data, details->len, sealed);
	if (err)
		return err;
	int closed = r->status == STATUS_CLOSED;
	struct store_val p[] = {
		SV_TEXT(subject_id),
		SV_BLOB(r->digest, sizeof(r->digest)),
		SV_TEXT(closed ? "closed" : "open"),
		SV_TEXT(OBLIG_ORIGIN),
		SV_BLOB(sealed->data, sealed->len),
		SV_INT(now),
		closed ? SV_INT(now) : SV_NULL(),
	};
	err = store_exec(tx, SQL_INSERT, p, sizeof(p) / sizeof(p[0]), NULL);
	if (err == SENIM_ERR_CONFLICT) /* recorded meanwhile by someone else */
		set_error(im->e, r->line, column_names[COL_CONTRACT], "exists");
	return err;
}

static enum senim_result write_subject(struct store_tx *tx, struct import *im, size_t s,
				       int64_t now, struct buf *details,
				       struct buf *sealed)
{
	const struct subject_ref *sub = &im->subjects[s];
	struct vault_dek *dek = NULL;
	enum senim_result err = vault_dek_load(tx, im->kr, sub->id, &dek);
	if (err == SENIM_ERR_NOT_FOUND) {
		/* Erased since the lookup: as if never registered. */
		set_error(im->e, sub->first_line, column_names[COL_IIN],
			  "not_registered");
		err = SENIM_ERR_INVALID;
	}
	if (err)
		goto fail;
	for (size_t k = im->start[s]; k < im->start[s + 1]; k++) {
		const struct row *r = &im->rows[im->order[k]];
		sodium_memzero(details->data, details->len);
		buf_reset(details);
		buf_reset(sealed);
		err = insert_row(tx, im, dek, sub->id, r, now, details, sealed);
		if (err)
			goto fail;
		if (r->status == STATUS_CLOSED)
			im->op->closed++;
		else
			im->op->open++;
	}
	char object[16 + SUBJECT_ID_LEN];
	snprintf(object, sizeof(object), "subject:%s", sub->id);
	err = audit(tx, im->kr, im->op->actor, im->op->request_id, "obligation.record",
		    object, sub->id);
fail:
	vault_dek_free(dek);
	return err;
}

static enum senim_result write_fn(struct store_tx *tx, void *arg)
{
	struct import *im = arg;
	int64_t now = clock_now_us();
	struct buf details, sealed;
	buf_init(&details, 1024);
	buf_init(&sealed, 4096);
	im->op->open = im->op->closed = 0; /* this transaction's counts alone */
	enum senim_result err = SENIM_OK;
	for (size_t s = 0; s < im->nsubjects; s++) {
		err = write_subject(tx, im, s, now, &details, &sealed);
		if (err)
			goto fail;
	}
	char object[48];
	snprintf(object, sizeof(object), "import:%zu", im->nrows);
	err = audit(tx, im->kr, im->op->actor, im->op->request_id, "obligations.import",
		    object, NULL);
fail:
	buf_release_wiped(&details);
	buf_release(&sealed);
	return err;
}

/* ---- importing -------------------------------------------------------------- */

/* A bad row found while parsing: the rows before it might hold an earlier
 * bad row that only the database can see, so they are looked up first.
 * Returns the import's result, with im->e the first bad row of the file. */
static enum senim_result first_bad_row(struct store *st, struct import *im)
{
	struct import_error parsed = *im->e, looked = { 0, "", "" };
	struct import_error *e = im->e;
	im->e = &looked;
	im->quiet = 1;
	enum senim_result err = store_read(st, lookup_fn, im);
	im->e = e;
	if (err == SENIM_ERR_INVALID || err == SENIM_ERR_CONFLICT) {
		*e = looked;
		return err;
	}
	if (err)
		return err;
	*e = parsed;
	return SENIM_ERR_INVALID;
}

enum senim_result obligations_import(struct store *st, struct obligations_import *op)
{
	set_error(&op->error, 0, "", "");
	op->rows = op->open = op->closed = op->subjects = 0;
	if (!st || !op->kr || !op->actor || !op->request_id || (!op->csv && op->len))
		return SENIM_ERR_INVALID;
	struct import im = {
		.kr = op->kr,
		.text = op->csv ? op->csv : "",
		.len = op->len,
		.op = op,
		.e = &op->error,
	};
	enum senim_result err = parse_all(&im);
	/* (A file over the row cap is refused as a whole, without lookups.) */
	if (err == SENIM_ERR_INVALID)
		err = first_bad_row(st, &im);
	if (err)
		goto fail;
	err = store_read(st, lookup_fn, &im);
	if (err)
		goto fail;
	err = group_rows(&im);
	if (err)
		goto fail;
	if (op->dry_run) {
		for (size_t i = 0; i < im.nrows; i++)
			if (im.rows[i].status == STATUS_CLOSED)
				op->closed++;
			else
				op->open++;
	} else if (im.nrows) {
		err = store_write(st, write_fn, &im);
		if (err)
			goto fail;
	}
	op->rows = im.nrows;
	op->subjects = im.nsubjects;
fail:
	if (err)
		op->rows = op->open = op->closed = op->subjects = 0;
	import_release(&im);
	return err;
}

/* ---- settling --------------------------------------------------------------- */

enum senim_result obligations_close_tx(struct store_tx *tx, void *arg)
{
	struct obligations_close *op = arg;
	unsigned char digest[VAULT_INDEX_BYTES];
	char subject_id[SUBJECT_ID_LEN];
	struct store_rows *rs = NULL;
	if (!op->kr || !op->actor || !op->request_id || !op->contract_number)
		return SENIM_ERR_INVALID;
	size_t len = strlen(op->contract_number);
	if (!len || len > CONTRACT_MAX_BYTES)
		return SENIM_ERR_NOT_FOUND; /* no such number can be recorded */
	vault_blind_index(op->kr, "contract", op->contract_number, len, digest);
	enum senim_result err = store_query_one(
		tx, SQL_FIND, (struct store_val[]){ SV_BLOB(digest, sizeof(digest)) }, 1,
		&rs);
	if (err)
		return err;
	size_t idlen = 0;
	const char *id = store_rows_text(rs, 0, &idlen);
	const char *status = store_rows_text(rs, 1, NULL);
	int open = status && strcmp(status, "open") == 0;
	err = SENIM_ERR_STORE;
	if (!id || idlen >= sizeof(subject_id))
		goto fail;
	memcpy(subject_id, id, idlen);
	subject_id[idlen] = '\0';
	err = SENIM_OK;
	if (!open)
		goto fail; /* closing a closed contract changes nothing */
	int64_t changes = 0;
	err = store_exec(tx, SQL_CLOSE,
			 (struct store_val[]){ SV_BLOB(digest, sizeof(digest)),
					       SV_INT(clock_now_us()) },
			 2, &changes);
	if (err || !changes)
		goto fail;
	/* Named by the first bytes of its blind index: an id, never the
	 * number itself. */
	char object[16 + 2 * 8 + 1];
	memcpy(object, "obligation:", 11);
	sodium_bin2hex(object + 11, sizeof(object) - 11, digest, 8);
	err = audit(tx, op->kr, op->actor, op->request_id, "obligation.close", object,
		    subject_id);
fail:
	store_rows_free(rs);
	return err;
}

/* ---- what is open ------------------------------------------------------------ */

/* The sealed details of one row opened and checked as that row's (see
 * obligations.h). */
enum senim_result obligations_details_open(const struct keyring *kr,
					   const struct vault_dek *dek,
					   const char *subject_id,
					   const unsigned char *digest, const void *blob,
					   size_t len, json_t **out)
{
	struct buf plain;
	buf_init(&plain, 64u << 10);
	json_t *j = NULL;
	*out = NULL;
	char field[OBLIG_FIELD_MAX];
	details_field(digest, field);
	enum senim_result err = vault_open_blob(dek, subject_id, OBLIG_CATEGORY, field,
						OBLIG_VERSION, blob, len, &plain);
	if (err == SENIM_ERR_CRYPTO) { /* a row sealed before the binding */
		buf_reset(&plain);
		err = vault_open_blob(dek, subject_id, OBLIG_CATEGORY, OBLIG_FIELD,
				      OBLIG_VERSION_UNBOUND, blob, len, &plain);
	}
	if (err)
		goto fail;
	/* Sealed by us, so never malformed: anything else is tampering. */
	err = SENIM_ERR_CRYPTO;
	j = json_loadb(plain.data, plain.len, 0, NULL);
	const char *num =
		j ? json_string_value(json_object_get(j, "contract_number")) : NULL;
	if (!num)
		goto fail;
	/* The details must be this row's: moved ones are refused. */
	unsigned char got[VAULT_INDEX_BYTES];
	vault_blind_index(kr, "contract", num, strlen(num), got);
	if (sodium_memcmp(got, digest, sizeof(got)) != 0)
		goto fail;
	*out = j;
	j = NULL;
	err = SENIM_OK;
fail:
	json_decref(j);
	buf_release_wiped(&plain);
	return err;
}

/* Copy the contract number out of sealed details into out, cut at a
 * character boundary when it does not fit.  SENIM_ERR_CRYPTO when the
 * details do not open as this row's. */
static enum senim_result first_contract(const struct keyring *kr,
					const struct vault_dek *dek,
					const char *subject_id,
					const unsigned char *digest, const void *blob,
					size_t len, char *out, size_t cap)
{
	json_t *j = NULL;
	enum senim_result err =
		obligations_details_open(kr, dek, subject_id, digest, blob, len, &j);
	if (err)
		return err;
	const char *num = json_string_value(json_object_get(j, "contract_number"));
	size_t n = strlen(num);
	if (n >= cap) {
		n = cap - 1;
		while (n && ((unsigned char)num[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(out, num, n);
	out[n] = '\0';
	json_decref(j);
	return SENIM_OK;
}

enum senim_result obligations_open_in(struct store_tx *tx, const struct keyring *kr,
				      const char *subject_id, int64_t *count, char *out,
				      size_t cap)
{
	struct store_rows *rs = NULL;
	struct vault_dek *dek = NULL;
	*count = 0;
	if (out && cap)
		out[0] = '\0';
	/* count(*) always answers one row. */
	enum senim_result err = store_query_one(
		tx, SQL_COUNT_OPEN, (struct store_val[]){ SV_TEXT(subject_id) }, 1, &rs);
	if (err)
		return err;
	*count = store_rows_int(rs, 0);
	store_rows_free(rs);
	rs = NULL;
	if (!out || !cap || !*count)
		return SENIM_OK;

	err = vault_dek_load(tx, kr, subject_id, &dek);
	if (err == SENIM_ERR_NOT_FOUND)
		return SENIM_OK; /* shredded: the number is gone, the count stands */
	if (err)
		goto fail;
	err = store_query_one(tx, SQL_FIRST_OPEN,
			      (struct store_val[]){ SV_TEXT(subject_id) }, 1, &rs);
	if (err == SENIM_ERR_NOT_FOUND) /* closed since the count */
		err = SENIM_OK;
	if (err || !rs)
		goto fail;
	size_t len = 0, dlen = 0;
	const void *blob = store_rows_blob(rs, 0, &len);
	const unsigned char *digest = store_rows_blob(rs, 1, &dlen);
	err = dlen == VAULT_INDEX_BYTES
		      ? first_contract(kr, dek, subject_id, digest, blob, len, out, cap)
		      : SENIM_ERR_CRYPTO;
	if (err == SENIM_ERR_CRYPTO) {
		/* Details that do not open, or are another row's: the count
		 * stands (C2 still refuses), the number is not shown, and the
		 * tampering is logged. */
		log_event(LOG_ERROR, "obligation_details_refused", "reason",
			  "do not open as this row's", NULL);
		out[0] = '\0';
		err = SENIM_OK;
	}
fail:
	store_rows_free(rs);
	vault_dek_free(dek);
	return err;
}
