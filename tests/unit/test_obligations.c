/*
 * test_obligations.c — importing, settling and counting obligations
 * (consent/obligations.h) on a real SQLite file with a real key ring and
 * subjects registered through subjects_register_tx(): a good import, every
 * rule a row can break (nothing written each time), contracts recorded
 * already, settling, the audit trail, and a database file that holds no
 * contract number, IIN or amount in plain text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "consent/obligations.h"
#include "core/iin.h"
#include "core/purposes.h"
#include "store/store.h"
#include "subjects/subjects.h"
#include "vault/keyring.h"
#include "testutil.h"
#include "common/banned.h"

#define HEADER "iin,contract_number,outstanding_tiyn,due_date,status\n"
#define NSUBJECTS 3

/* ---- fixtures ---------------------------------------------------------------- */

struct fx {
	char dir[512];
	char db[600];
	char keys[600];
	struct keyring *kr;
	struct store *st;
	struct access_matrix matrix;
	char iin[NSUBJECTS][13];	    /* registered */
	char id[NSUBJECTS][SUBJECT_ID_LEN]; /* their subject ids */
	char stranger[13];		    /* a valid IIN nobody has */
};

/* The n-th valid IIN of a man born 1990-01-01 (serials with no check digit
 * are skipped). */
static void make_iin(int n, char out[13])
{
	for (int serial = 0; serial < 10000; serial++) {
		snprintf(out, 13, "9001013%04d", serial % 10000);
		int d = iin_check_digit(out);
		if (d < 0)
			continue;
		if (n-- == 0) {
			out[11] = (char)('0' + d);
			out[12] = '\0';
			assert_int_equal(iin_parse(out, 12, NULL), IIN_OK);
			return;
		}
	}
	fail_msg("no IIN number %d", n);
}

static void register_subject(struct fx *f, const char *iin, char id[SUBJECT_ID_LEN])
{
	struct subject_actor a = {
		.label = "staff:1",
		.request_id = "req-test",
		.role = ROLE_UNDERWRITER,
		.purpose = PURPOSE_IDENTIFICATION,
		.matrix = &f->matrix,
		.kr = f->kr,
	};
	json_t *identity = json_pack("{s:s,s:s,s:s}", "iin", iin, "first_name", "Aigerim",
				     "last_name", "Nurlanova");
	json_t *contact = json_pack("{s:s}", "mobile_phone", "+77011234567");
	struct subject_registration reg = {
		.actor = a,
		.iin = iin,
		.identity = identity,
		.contact = contact,
		.source = SOURCE_STAFF,
	};
	assert_int_equal(subjects_register_seal(&reg), SENIM_OK);
	json_decref(identity);
	json_decref(contact);
	assert_int_equal(store_write(f->st, subjects_register_tx, &reg), SENIM_OK);
	assert_int_equal(reg.refused.why, ACCESS_GRANTED);
	assert_int_equal(reg.exists, 0);
	memcpy(id, reg.id, SUBJECT_ID_LEN);
	subject_registration_dispose(&reg);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	const char *base = getenv("SENIM_TMP");
	assert_non_null(f);
	if (!base || !*base)
		base = "/tmp";
	(void)mkdir(base, 0700);
	snprintf(f->dir, sizeof(f->dir), "%s/oblig-XXXXXX", base);
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->db, sizeof(f->db), "%s/senim.db", f->dir);
	snprintf(f->keys, sizeof(f->keys), "%s/keys/senim.keys", f->dir);
	assert_int_equal(keyring_open(f->keys, 1, &f->kr), SENIM_OK);
	assert_int_equal(store_open(f->db, 2, &f->st), SENIM_OK);
	assert_int_equal(store_migrate(f->st, NULL), SENIM_OK);
	access_matrix_default(&f->matrix);
	for (int i = 0; i < NSUBJECTS; i++) {
		make_iin(i, f->iin[i]);
		register_subject(f, f->iin[i], f->id[i]);
	}
	make_iin(NSUBJECTS, f->stranger);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	store_free(f->st);
	keyring_free(f->kr);
	testutil_rm_rf(f->dir);
	free(f);
	return 0;
}

/* ---- helpers ---------------------------------------------------------------- */

static int64_t raw_int(const struct fx *f, const char *sql)
{
	return testutil_sql_int(f->db, sql);
}

static void raw_exec(const struct fx *f, const char *sql)
{
	char why[256];
	if (testutil_sql(f->db, sql, why, sizeof(why)))
		fail_msg("raw SQL failed: %s: %s", sql, why);
}

static int64_t rows_recorded(const struct fx *f)
{
	return raw_int(f, "SELECT count(*) FROM obligations");
}

/* A CSV: the header, then `body` with "%0", "%1", "%2" replaced by the
 * registered IINs, "%8" by the first with a wrong check digit and "%9" by
 * the stranger's.  The caller frees it. */
static char *csv_of(const struct fx *f, const char *body)
{
	struct buf b;
	buf_init(&b, BUF_NO_LIMIT);
	assert_int_equal(buf_addstr(&b, HEADER), SENIM_OK);
	for (const char *p = body; *p; p++) {
		if (p[0] == '%' && p[1] >= '0' && p[1] <= '9') {
			int i = p[1] - '0';
			char bad[13];
			memcpy(bad, f->iin[0], sizeof(bad));
			bad[11] = (char)('0' + (bad[11] - '0' + 1) % 10);
			assert_int_equal(buf_addstr(&b, i == 9	 ? f->stranger
							: i == 8 ? bad
								 : f->iin[i]),
					 SENIM_OK);
			p++;
		} else {
			assert_int_equal(buf_addch(&b, *p), SENIM_OK);
		}
	}
	return buf_detach(&b, NULL);
}

/* The import as the CLI runs it, with run's other "in" fields as given;
 * *e gets its error. */
static int run_import(const struct fx *f, const char *request_id, const char *text,
		      size_t len, struct obligations_import *run, struct import_error *e)
{
	run->kr = f->kr;
	run->actor = "cli";
	run->request_id = request_id;
	run->csv = text;
	run->len = len;
	int err = obligations_import(f->st, run);
	*e = run->error;
	return err;
}

static int import_text(const struct fx *f, const char *text, size_t *imported,
		       struct import_error *e)
{
	struct obligations_import run = { 0 };
	int err = run_import(f, "req-test", text, strlen(text), &run, e);
	if (imported)
		*imported = run.rows;
	return err;
}

/* Settle a contract as `senim obligations close` does. */
static int close_contract(const struct fx *f, const char *request_id,
			  const char *contract)
{
	struct obligations_close op = { .kr = f->kr,
					.actor = "cli",
					.request_id = request_id,
					.contract_number = contract };
	return store_write(f->st, obligations_close_tx, &op);
}

static int import_body(const struct fx *f, const char *body, size_t *imported,
		       struct import_error *e)
{
	char *text = csv_of(f, body);
	int err = import_text(f, text, imported, e);
	free(text);
	return err;
}

struct open_ctx {
	const struct keyring *kr;
	const char *subject_id;
	int64_t count;
	char first[160];
	size_t cap;
};

static enum senim_result open_fn(struct store_tx *tx, void *arg)
{
	struct open_ctx *c = arg;
	return obligations_open_in(tx, c->kr, c->subject_id, &c->count,
				   c->cap ? c->first : NULL, c->cap);
}

/* The subject's open count; *first (when not NULL) its first open contract. */
static int64_t open_count(const struct fx *f, int subject, char *first, size_t cap)
{
	struct open_ctx c = { .kr = f->kr, .subject_id = f->id[subject], .cap = cap };
	assert_true(cap <= sizeof(c.first));
	assert_int_equal(store_read(f->st, open_fn, &c), SENIM_OK);
	if (first && cap)
		memcpy(first, c.first, cap);
	return c.count;
}

/* Sealed details are bound to their row: swapped between two of the same
 * borrower's obligations, neither opens, so the C2 refusal never names a
 * contract the row is not. */
static void test_swapped_details_refuse_to_open(void **state)
{
	struct fx *f = *state;
	size_t imported = 0;
	struct import_error e;
	assert_int_equal(import_body(f,
				     "%0,SWAP-1,100,2026-01-01,open\n"
				     "%0,SWAP-2,200,2026-02-01,open\n",
				     &imported, &e),
			 SENIM_OK);
	char first[64];
	assert_int_equal(open_count(f, 0, first, sizeof(first)), 2);
	assert_true(strcmp(first, "SWAP-1") == 0 || strcmp(first, "SWAP-2") == 0);
	raw_exec(
		f,
		"CREATE TEMP TABLE t AS SELECT contract_digest, details FROM obligations;"
		"UPDATE obligations SET details = (SELECT t.details FROM t WHERE"
		" t.contract_digest <> obligations.contract_digest);");
	assert_int_equal(open_count(f, 0, first, sizeof(first)), 2); /* still refuses */
	assert_string_equal(first, "");				     /* names nothing */
}

/* ---- a good import -------------------------------------------------------------- */

static void test_good_import(void **state)
{
	struct fx *f = *state;
	/* CRLF, a quoted field, a Cyrillic contract number, a trailing empty
	 * line, and the byte-order mark spreadsheets write. */
	char *body = csv_of(
		f, "%0,KZ-2024/0001,150000000,2025-03-01,open\r\n"
		   "\"%0\",\"KZ-2024/0002\",0,2025-04-01,overdue\r\n"
		   "%1,\xD0\x9C\xD0\xA4\xD0\x9E-\xD2\x9A\xD0\x97.7_1,42,2024-12-31,"
		   "closed\r\n"
		   "%1,B-9,1000000000000000,2026-01-15,open\r\n"
		   "\r\n");
	size_t len = strlen(body) + 3;
	char *text = malloc(len + 1);
	assert_non_null(text);
	memcpy(text, "\xEF\xBB\xBF", 3);
	memcpy(text + 3, body, len - 2);
	free(body);

	struct obligations_import run = { 0 };
	struct import_error e;
	assert_int_equal(run_import(f, "req-1", text, len, &run, &e), SENIM_OK);
	free(text);
	assert_int_equal(run.rows, 4);
	assert_int_equal(run.open, 3);
	assert_int_equal(run.closed, 1);
	assert_int_equal(run.subjects, 2);
	assert_int_equal(rows_recorded(f), 4);
	assert_int_equal(
		raw_int(f, "SELECT count(*) FROM obligations WHERE status = 'open'"), 3);
	assert_int_equal(
		raw_int(f, "SELECT count(*) FROM obligations WHERE origin = 'import'"),
		4);
	assert_int_equal(
		raw_int(f, "SELECT count(*) FROM obligations WHERE status = 'closed'"
			   " AND closed_at IS NOT NULL"),
		1);

	char first[64];
	assert_int_equal(open_count(f, 0, first, sizeof(first)), 2);
	assert_true(strcmp(first, "KZ-2024/0001") == 0 ||
		    strcmp(first, "KZ-2024/0002") == 0);
	assert_int_equal(open_count(f, 1, first, sizeof(first)), 1);
	assert_string_equal(first, "B-9");
	assert_int_equal(open_count(f, 2, first, sizeof(first)), 0);
	assert_string_equal(first, "");
	/* A count without the number, and a number cut to fit. */
	assert_int_equal(open_count(f, 0, NULL, 0), 2);
	char small[5];
	assert_int_equal(open_count(f, 0, small, sizeof(small)), 2);
	assert_string_equal(small, "KZ-2");

	/* One record for the import, one per borrower. */
	assert_int_equal(raw_int(f,
				 "SELECT count(*) FROM audit_log WHERE operation ="
				 " 'obligations.import' AND object = 'import:4' AND"
				 " subject_id IS NULL AND purpose = 'legal_obligation'"),
			 1);
	assert_int_equal(raw_int(f,
				 "SELECT count(DISTINCT subject_id) FROM audit_log WHERE"
				 " operation = 'obligation.record'"),
			 2);
	assert_int_equal(raw_int(f, "SELECT count(*) FROM audit_log WHERE"
				    " operation = 'obligation.record'"),
			 2);
}

static void test_dry_run_and_empty(void **state)
{
	struct fx *f = *state;
	char *text = csv_of(f, "%0,D-1,5,2025-01-01,open\n%1,D-2,5,2025-01-01,closed");
	struct obligations_import run = { .dry_run = 1 };
	struct import_error e;
	assert_int_equal(run_import(f, "req-1", text, strlen(text), &run, &e), SENIM_OK);
	assert_int_equal(run.rows, 2);
	assert_int_equal(run.open, 1);
	assert_int_equal(run.closed, 1);
	assert_int_equal(run.subjects, 2);
	assert_int_equal(rows_recorded(f), 0);
	assert_int_equal(raw_int(f, "SELECT count(*) FROM audit_log WHERE operation LIKE"
				    " 'obligation%'"),
			 0);
	free(text);

	/* The header alone imports nothing, successfully. */
	size_t imported = 99;
	assert_int_equal(import_text(f, HEADER, &imported, &e), SENIM_OK);
	assert_int_equal(imported, 0);
	assert_int_equal(rows_recorded(f), 0);
}

/* ---- bad rows ---------------------------------------------------------------- */

struct bad_case {
	const char *name;
	const char *text; /* the whole file when whole, else a body after HEADER */
	int whole;
	size_t line;
	const char *column;
	const char *rule;
	int err;
};

#define GOOD "%0,OK-1,100,2025-01-01,open\n"

static const struct bad_case bad_cases[] = {
	{ "empty file", "", 1, 1, "(row)", "header", SENIM_ERR_INVALID },
	{ "header only blank", "\n", 1, 1, "(row)", "header", SENIM_ERR_INVALID },
	{ "header renamed", "iin,contract,outstanding_tiyn,due_date,status\n", 1, 1,
	  "contract_number", "header", SENIM_ERR_INVALID },
	{ "header short", "iin,contract_number,outstanding_tiyn,due_date\n", 1, 1,
	  "(row)", "header", SENIM_ERR_INVALID },
	{ "header case", "IIN,contract_number,outstanding_tiyn,due_date,status\n", 1, 1,
	  "iin", "header", SENIM_ERR_INVALID },
	{ "too few columns", GOOD "%1,X-1,100,2025-01-01\n", 0, 3, "(row)", "columns",
	  SENIM_ERR_INVALID },
	{ "too many columns", GOOD "%1,X-1,100,2025-01-01,open,extra\n", 0, 3, "(row)",
	  "columns", SENIM_ERR_INVALID },
	{ "empty line inside", GOOD "\n%1,X-1,100,2025-01-01,open\n", 0, 3, "(row)",
	  "columns", SENIM_ERR_INVALID },
	{ "iin checksum", GOOD "%8,X-1,100,2025-01-01,open\n", 0, 3, "iin",
	  "iin_checksum", SENIM_ERR_INVALID },
	{ "iin length", GOOD "90010130000,X-1,100,2025-01-01,open\n", 0, 3, "iin",
	  "iin_length", SENIM_ERR_INVALID },
	{ "iin required", GOOD ",X-1,100,2025-01-01,open\n", 0, 3, "iin", "required",
	  SENIM_ERR_INVALID },
	{ "contract required", GOOD "%1,,100,2025-01-01,open\n", 0, 3, "contract_number",
	  "required", SENIM_ERR_INVALID },
	{ "contract space", GOOD "%1,X 1,100,2025-01-01,open\n", 0, 3, "contract_number",
	  "format", SENIM_ERR_INVALID },
	{ "contract quote", GOOD "%1,\"X\"\"1\",100,2025-01-01,open\n", 0, 3,
	  "contract_number", "format", SENIM_ERR_INVALID },
	{ "contract bare CR", GOOD "%1,X\r1,100,2025-01-01,open\n", 0, 3,
	  "contract_number", "format", SENIM_ERR_INVALID },
	{ "contract not UTF-8",
	  GOOD "%1,X\xFF"
	       "1,100,2025-01-01,open\n",
	  0, 3, "contract_number", "encoding", SENIM_ERR_INVALID },
	{ "contract overlong UTF-8", GOOD "%1,X\xC0\xAF,100,2025-01-01,open\n", 0, 3,
	  "contract_number", "encoding", SENIM_ERR_INVALID },
	{ "contract too long",
	  GOOD "%1,A1234567890123456789012345678901234567890123456789012345678901234,100,"
	       "2025-01-01,open\n",
	  0, 3, "contract_number", "length", SENIM_ERR_INVALID },
	{ "amount required", GOOD "%1,X-1,,2025-01-01,open\n", 0, 3, "outstanding_tiyn",
	  "required", SENIM_ERR_INVALID },
	{ "amount negative", GOOD "%1,X-1,-5,2025-01-01,open\n", 0, 3, "outstanding_tiyn",
	  "format", SENIM_ERR_INVALID },
	{ "amount plus", GOOD "%1,X-1,+5,2025-01-01,open\n", 0, 3, "outstanding_tiyn",
	  "format", SENIM_ERR_INVALID },
	{ "amount fraction", GOOD "%1,X-1,1.5,2025-01-01,open\n", 0, 3,
	  "outstanding_tiyn", "format", SENIM_ERR_INVALID },
	{ "amount space", GOOD "%1,X-1, 5,2025-01-01,open\n", 0, 3, "outstanding_tiyn",
	  "format", SENIM_ERR_INVALID },
	{ "amount leading zero", GOOD "%1,X-1,007,2025-01-01,open\n", 0, 3,
	  "outstanding_tiyn", "format", SENIM_ERR_INVALID },
	{ "amount over 10^15", GOOD "%1,X-1,1000000000000001,2025-01-01,open\n", 0, 3,
	  "outstanding_tiyn", "range", SENIM_ERR_INVALID },
	{ "amount huge", GOOD "%1,X-1,99999999999999999999999,2025-01-01,open\n", 0, 3,
	  "outstanding_tiyn", "range", SENIM_ERR_INVALID },
	{ "date required", GOOD "%1,X-1,5,,open\n", 0, 3, "due_date", "required",
	  SENIM_ERR_INVALID },
	{ "date not real", GOOD "%1,X-1,5,2025-02-30,open\n", 0, 3, "due_date", "format",
	  SENIM_ERR_INVALID },
	{ "date short year", GOOD "%1,X-1,5,25-02-01,open\n", 0, 3, "due_date", "format",
	  SENIM_ERR_INVALID },
	{ "date other form", GOOD "%1,X-1,5,01.02.2025,open\n", 0, 3, "due_date",
	  "format", SENIM_ERR_INVALID },
	{ "status required", GOOD "%1,X-1,5,2025-02-01,\n", 0, 3, "status", "required",
	  SENIM_ERR_INVALID },
	{ "status upper case", GOOD "%1,X-1,5,2025-02-01,OPEN\n", 0, 3, "status",
	  "format", SENIM_ERR_INVALID },
	{ "status unknown", GOOD "%1,X-1,5,2025-02-01,paid\n", 0, 3, "status", "format",
	  SENIM_ERR_INVALID },
	{ "quote unclosed", GOOD "%1,\"X-1,5,2025-02-01,open\n", 0, 3, "contract_number",
	  "quoting", SENIM_ERR_INVALID },
	{ "quote inside field", GOOD "%1,X\"1,5,2025-02-01,open\n", 0, 3,
	  "contract_number", "quoting", SENIM_ERR_INVALID },
	{ "text after quote", GOOD "%1,\"X-1\"z,5,2025-02-01,open\n", 0, 3,
	  "contract_number", "quoting", SENIM_ERR_INVALID },
	{ "duplicate in file",
	  GOOD "%1,X-1,5,2025-02-01,open\n%2,OK-1,5,2025-02-01,closed\n", 0, 4,
	  "contract_number", "duplicate", SENIM_ERR_INVALID },
	{ "unknown IIN", GOOD "%9,X-1,5,2025-02-01,open\n", 0, 3, "iin", "not_registered",
	  SENIM_ERR_INVALID },
	/* The first bad row wins, even when only the database can tell. */
	{ "lookup before format",
	  GOOD "%9,X-1,5,2025-02-01,open\n%1,X-2,5,2025-02-30,open\n", 0, 3, "iin",
	  "not_registered", SENIM_ERR_INVALID },
	{ "format before lookup",
	  GOOD "%1,X-2,5,2025-02-30,open\n%9,X-1,5,2025-02-01,open\n", 0, 3, "due_date",
	  "format", SENIM_ERR_INVALID },
	/* Lines count physical lines: a quoted line break moves them on. */
	{ "line after quoted break",
	  GOOD "%1,\"X\n1\",5,2025-02-01,open\n%2,X-3,5,x,open\n", 0, 3,
	  "contract_number", "format", SENIM_ERR_INVALID },
	{ "line numbers",
	  GOOD "%1,X-1,5,2025-02-01,open\r\n%2,X-2,5,2025-02-01,open\r\n"
	       "%2,X-3,5,2025-02-01,shut\r\n",
	  0, 5, "status", "format", SENIM_ERR_INVALID },
};

static void test_bad_rows(void **state)
{
	struct fx *f = *state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		char *text = c->whole ? strdup(c->text) : csv_of(f, c->text);
		assert_non_null(text);
		size_t imported = 99;
		struct import_error e = { 0, NULL, NULL };
		int err = import_text(f, text, &imported, &e);
		free(text);
		if (err != c->err || e.line != c->line || !e.column || !e.rule ||
		    strcmp(e.column, c->column) != 0 || strcmp(e.rule, c->rule) != 0)
			fail_msg(
				"%s: got %s, line %zu, column %s: %s; want %s, line %zu, "
				"column %s: %s",
				c->name, senim_result_name(err), e.line,
				e.column ? e.column : "(null)",
				e.rule ? e.rule : "(null)", senim_result_name(c->err),
				c->line, c->column, c->rule);
		assert_int_equal(imported, 0);
		assert_int_equal(rows_recorded(f), 0);
	}
	assert_int_equal(raw_int(f, "SELECT count(*) FROM audit_log WHERE operation LIKE"
				    " 'obligation%'"),
			 0);
}

static void test_exists(void **state)
{
	struct fx *f = *state;
	size_t imported = 0;
	struct import_error e;
	assert_int_equal(import_body(f, "%0,E-1,5,2025-01-01,open\n", &imported, &e),
			 SENIM_OK);
	assert_int_equal(imported, 1);
	/* A second file with a new contract, then one recorded already. */
	assert_int_equal(
		import_body(f, "%1,E-2,5,2025-01-01,open\n%2,E-1,7,2025-01-01,open\n",
			    &imported, &e),
		SENIM_ERR_CONFLICT);
	assert_int_equal(imported, 0);
	assert_int_equal(e.line, 3);
	assert_string_equal(e.column, "contract_number");
	assert_string_equal(e.rule, "exists");
	assert_int_equal(rows_recorded(f), 1);
	assert_int_equal(open_count(f, 1, NULL, 0), 0);
}

/* ---- progress --------------------------------------------------------------- */

struct progress_log {
	size_t calls, last_done, total;
};

static void on_progress(size_t done, size_t total, void *ctx)
{
	struct progress_log *p = ctx;
	assert_true(done > p->last_done);
	assert_true(done % 1000 == 0 || done == total);
	p->calls++;
	p->last_done = done;
	p->total = total;
}

static void test_progress_large(void **state)
{
	struct fx *f = *state;
	struct buf b;
	buf_init(&b, BUF_NO_LIMIT);
	assert_int_equal(buf_addstr(&b, HEADER), SENIM_OK);
	for (int i = 0; i < 2500; i++)
		assert_int_equal(buf_addf(&b, "%s,L-%05d,%d,2025-06-30,%s\n",
					  f->iin[i % 3], i, i * 100,
					  i % 10 ? "open" : "closed"),
				 SENIM_OK);
	struct progress_log p = { 0 };
	struct obligations_import run = { .progress = on_progress, .ctx = &p };
	struct import_error e;
	assert_int_equal(run_import(f, "req-big", b.data, b.len, &run, &e), SENIM_OK);
	buf_release(&b);
	assert_int_equal(p.calls, 3); /* 1000, 2000, 2500 */
	assert_int_equal(p.last_done, 2500);
	assert_int_equal(p.total, 2500);
	assert_int_equal(run.rows, 2500);
	assert_int_equal(run.closed, 250);
	assert_int_equal(run.subjects, 3);
	assert_int_equal(rows_recorded(f), 2500);
	assert_int_equal(open_count(f, 0, NULL, 0), 834 - 84);
}

/* ---- settling ---------------------------------------------------------------- */

static void test_close(void **state)
{
	struct fx *f = *state;
	size_t imported = 0;
	struct import_error e;
	assert_int_equal(
		import_body(f,
			    "%0,C-1,5,2025-01-01,open\n%0,C-2,5,2025-01-01,overdue\n"
			    "%0,C-3,5,2025-01-01,closed\n",
			    &imported, &e),
		SENIM_OK);
	char first[32];
	assert_int_equal(open_count(f, 0, first, sizeof(first)), 2);
	/* Recorded together: either may come first. */
	assert_true(strcmp(first, "C-1") == 0 || strcmp(first, "C-2") == 0);

	assert_int_equal(close_contract(f, "req-c", "C-1"), SENIM_OK);
	assert_int_equal(open_count(f, 0, first, sizeof(first)), 1);
	assert_string_equal(first, "C-2");
	assert_int_equal(
		raw_int(f, "SELECT count(*) FROM obligations WHERE status = 'closed'"
			   " AND closed_at IS NOT NULL"),
		2);
	/* Closing a closed one changes nothing and audits nothing. */
	assert_int_equal(close_contract(f, "req-c", "C-1"), SENIM_OK);
	assert_int_equal(close_contract(f, "req-c", "C-3"), SENIM_OK);
	assert_int_equal(open_count(f, 0, NULL, 0), 1);
	assert_int_equal(raw_int(f, "SELECT count(*) FROM audit_log WHERE"
				    " operation = 'obligation.close'"),
			 1);
	/* The number is matched exactly. */
	assert_int_equal(close_contract(f, "req-c", "c-2"), SENIM_ERR_NOT_FOUND);
	assert_int_equal(close_contract(f, "req-c", "C-404"), SENIM_ERR_NOT_FOUND);
	assert_int_equal(close_contract(f, "req-c", ""), SENIM_ERR_NOT_FOUND);
	assert_int_equal(close_contract(f, "req-c", "C-2"), SENIM_OK);
	assert_int_equal(open_count(f, 0, first, sizeof(first)), 0);
	assert_string_equal(first, "");
	assert_int_equal(
		raw_int(f, "SELECT count(*) FROM audit_log WHERE"
			   " operation = 'obligation.close' AND subject_id IS NOT NULL"),
		2);

	/* The earliest recorded comes first. */
	assert_int_equal(import_body(f, "%1,Q-9,5,2025-01-01,open\n", &imported, &e),
			 SENIM_OK);
	assert_int_equal(import_body(f, "%1,Q-0,5,2024-01-01,open\n", &imported, &e),
			 SENIM_OK);
	assert_int_equal(open_count(f, 1, first, sizeof(first)), 2);
	assert_string_equal(first, "Q-9");
}

/* ---- nothing in plain text --------------------------------------------------------- */

static int contains(const void *hay, size_t hlen, const char *needle)
{
	size_t nlen = strlen(needle);
	const unsigned char *h = hay;
	for (size_t i = 0; nlen && i + nlen <= hlen; i++)
		if (memcmp(h + i, needle, nlen) == 0)
			return 1;
	return 0;
}

static void *slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	*len = 0;
	if (!fp)
		return NULL;
	struct buf b;
	buf_init(&b, BUF_NO_LIMIT);
	char chunk[8192];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		assert_int_equal(buf_add(&b, chunk, n), SENIM_OK);
	fclose(fp);
	return buf_detach(&b, len);
}

static void test_no_plaintext(void **state)
{
	struct fx *f = *state;
	size_t imported = 0;
	struct import_error e;
	assert_int_equal(
		import_body(f,
			    "%0,SECRET-CONTRACT-7781,987654321012,2031-07-19,open\n"
			    "%2,\xD0\x96\xD0\x95\xD0\x9B-55,123456789098,2031-08-21,"
			    "closed\n",
			    &imported, &e),
		SENIM_OK);
	assert_int_equal(close_contract(f, "req-p", "SECRET-CONTRACT-7781"), SENIM_OK);
	store_free(f->st);
	f->st = NULL;

	const char *needles[] = {
		"SECRET-CONTRACT-7781",
		"\xD0\x96\xD0\x95\xD0\x9B-55",
		"987654321012",
		"123456789098",
		f->iin[0],
		f->iin[2],
		"2031-07-19",
		"2031-08-21",
	};
	static const char *const suffixes[] = { "", "-wal", "-journal" };
	int read_any = 0;
	for (size_t s = 0; s < sizeof(suffixes) / sizeof(suffixes[0]); s++) {
		char path[700];
		snprintf(path, sizeof(path), "%s%s", f->db, suffixes[s]);
		size_t len = 0;
		void *bytes = slurp(path, &len);
		if (!bytes)
			continue;
		read_any |= len > 0;
		for (size_t i = 0; i < sizeof(needles) / sizeof(needles[0]); i++)
			if (contains(bytes, len, needles[i]))
				fail_msg("%s%s holds %s in plain text", f->db,
					 suffixes[s], needles[i]);
		free(bytes);
	}
	assert_true(read_any);
	/* And the data is still there, sealed. */
	assert_int_equal(store_open(f->db, 1, &f->st), SENIM_OK);
	char first[64];
	assert_int_equal(open_count(f, 0, first, sizeof(first)), 0);
	assert_int_equal(rows_recorded(f), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_good_import, setup, teardown),
		cmocka_unit_test_setup_teardown(test_swapped_details_refuse_to_open,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_dry_run_and_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exists, setup, teardown),
		cmocka_unit_test_setup_teardown(test_progress_large, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_plaintext, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
