/*
 * fuzz_portfolio.c — the portfolio import (`senim loans import --dry-run
 * FILE`) on arbitrary files: the CSV reader, every row rule (contract
 * number, IIN, amounts and rates, method and term, the date, the schedule
 * the terms make, duplicates) and the lookups, against a SQLite store in a
 * temporary directory holding one registered borrower, IIN 900101300007
 * (the seeds use it).  A dry run writes nothing, so the store stays as set
 * up.
 * Beyond "no crash, no leak" the target checks:
 *   - the result is SENIM_OK, a bad row (SENIM_ERR_INVALID) or too many
 *     rows (SENIM_ERR_TOO_LARGE), never a store or memory failure;
 *   - an error names a line of the file, a column of the header or
 *     "(row)", and a documented rule; "header" only on line 1;
 *   - no error lies past a record the CSV reader refuses;
 *   - on SENIM_OK every data record is counted, all new (nothing was ever
 *     opened), and no event was recorded (a dry run).
 */
#include <jansson.h>
#include <sodium.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/csv.h"
#include "common/log.h"
#include "core/purposes.h"
#include "lending/portfolio.h"
#include "store/store.h"
#include "subjects/subjects.h"
#include "vault/keyring.h"
#include "common/banned.h"

#define IIN "900101300007"

/* tests/unit/data/vault-kat.keys */
static const char keys[] =
	"{\"format\": 1,"
	" \"signing\": [{\"id\": \"d04ab232742bb4ab\", \"seed\": "
	"\"ERERERERERERERERERERERERERERERERERERERERERE=\", \"created_at\": 1}],"
	" \"kek\": [{\"version\": 1, \"key\": "
	"\"MzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzM=\", \"created_at\": 1}],"
	" \"index_key\": \"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\"}";

static const char *const columns[] = {
	"contract_number",   "iin",	   "principal_tiyn",
	"rate_bp",	     "method",	   "payments",
	"term_days",	     "start_date", "penalty_daily_bp",
	"penalty_annual_bp", "(row)",
};

static const char *const rules[] = {
	"header",      "columns",	 "quoting",	    "encoding",
	"required",    "format",	 "length",	    "range",
	"duplicate",   "not_registered", "too_many_rows",   "term",
	"schedule",    "iin_length",	 "iin_digits",	    "iin_date",
	"iin_century", "iin_checksum",	 "iin_no_checksum",
};

static struct keyring *kr;
static struct store *st;
static char dir[256], db[300];

static void remove_store(void)
{
	store_free(st);
	keyring_free(kr);
	static const char *const suffix[] = { "", "-wal", "-shm", "-journal" };
	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		char path[320];
		snprintf(path, sizeof(path), "%s%s", db, suffix[i]);
		(void)unlink(path);
	}
	(void)rmdir(dir);
}

static void set_up(void)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, sizeof(dir), "%s/fuzz_portfolio-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		abort();
	snprintf(db, sizeof(db), "%s/senim.db", dir);
	if (keyring_parse(keys, sizeof(keys) - 1, &kr) || store_open(db, 1, &st) ||
	    store_migrate(st, NULL))
		abort();
	atexit(remove_store);
	struct access_matrix matrix;
	access_matrix_default(&matrix);
	struct subject_actor a = {
		.label = "staff:1",
		.request_id = "fuzz",
		.role = ROLE_UNDERWRITER,
		.purpose = PURPOSE_IDENTIFICATION,
		.matrix = &matrix,
		.kr = kr,
	};
	json_t *identity = json_pack("{s:s}", "iin", IIN);
	json_t *contact = json_pack("{s:s}", "mobile_phone", "+77011234567");
	struct subject_registration reg = {
		.actor = a,
		.iin = IIN,
		.identity = identity,
		.contact = contact,
		.source = SOURCE_STAFF,
	};
	if (subjects_register_seal(&reg) != SENIM_OK ||
	    store_write(st, subjects_register_tx, &reg) != SENIM_OK ||
	    reg.refused.why != ACCESS_GRANTED || reg.exists)
		abort();
	subject_registration_dispose(&reg);
	json_decref(identity);
	json_decref(contact);
}

static int listed(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; s && i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return 1;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	if (!ready) {
		if (sodium_init() < 0)
			abort();
		log_set_level((enum log_level)(LOG_ERROR + 1));
		set_up();
		ready = 1;
	}
	char *s = malloc(size ? size : 1);
	if (!s)
		abort();
	memcpy(s, data, size);
	size_t newlines = 0;
	for (size_t i = 0; i < size; i++)
		newlines += s[i] == '\n';
	struct portfolio_import run = { .kr = kr,
					.actor = "cli",
					.request_id = "fuzz",
					.csv = s,
					.len = size,
					.dry_run = 1 };
	int err = portfolio_import(st, &run);
	const struct portfolio_error e = run.error;

	struct csv c;
	struct csv_field f[1];
	struct csv_error bad = { 0, 0, NULL };
	size_t records = 0, nf = 0, line = 0;
	int refused = 0;
	csv_init(&c, s, size, NULL);
	while (!csv_at_end(&c)) {
		if (csv_record(&c, f, 1, &nf, &line, &bad)) {
			refused = 1;
			break;
		}
		records++;
	}
	records = records ? records - 1 : 0;

	if (err == SENIM_OK) {
		if (refused || run.rows != records || run.opened != run.rows ||
		    run.skipped || run.events)
			abort();
	} else if (err == SENIM_ERR_INVALID || err == SENIM_ERR_TOO_LARGE) {
		if (e.line < 1 || e.line > newlines + 1 ||
		    !listed(e.column, columns, sizeof(columns) / sizeof(columns[0])) ||
		    !listed(e.rule, rules, sizeof(rules) / sizeof(rules[0])))
			abort();
		if (!strcmp(e.rule, "header") && e.line != 1)
			abort();
		if (refused && e.line > bad.line)
			abort();
	} else {
		abort();
	}
	free(s);
	return 0;
}
