/*
 * cmd_obligations.c — `senim obligations import|close`: the obligations
 * borrowers have to the MFO, which keep the consents they need from being
 * withdrawn (C2).
 *
 * import reads a lender's portfolio from a CSV file (consent/obligations.h)
 * and records it all or nothing; close settles one contract.  The file
 * holds personal data: its bytes are wiped once the import is over, and an
 * error names only the line, the column and the rule, never a value.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/buf.h"
#include "common/clock.h"
#include "consent/obligations.h"
#include "common/banned.h"

#define OBLIGATIONS_FILE_MAX ((size_t)256 << 20)
#define OBLIGATIONS_ACTOR "cli"

static const char obligations_usage[] =
	"usage: senim obligations import FILE [--dry-run] [OPTIONS]\n"
	"       senim obligations close CONTRACT [OPTIONS]\n\n"
	"An open obligation of a borrower to the MFO keeps the consents it needs\n"
	"from being withdrawn (C2), whether senim issued the loan or it was\n"
	"brought over from another system.\n\n"
	"import   record a portfolio from FILE ('-' for standard input): UTF-8 CSV,\n"
	"         comma-separated, RFC 4180 quoting, LF or CRLF, with the header\n"
	"             iin,contract_number,outstanding_tiyn,due_date,status\n"
	"         iin               a registered borrower's IIN\n"
	"         contract_number   1-64 Latin or Cyrillic letters, digits, / _ . -\n"
	"                           (matched exactly, case included)\n"
	"         outstanding_tiyn  0 to 1000000000000000, digits only\n"
	"         due_date          YYYY-MM-DD\n"
	"         status            open, overdue (recorded as open) or closed\n"
	"         Every row is checked before anything is written; the first bad\n"
	"         row is named as 'line L, column C: RULE' and nothing is imported.\n"
	"close    settle the contract numbered CONTRACT\n\n"
	"options:\n"
	"  --dry-run        (import) check every row, the lookups included, and\n"
	"                   record nothing\n" CLI_COMMON_HELP
	"  -h, --help       this text\n\n"
	"rules: header, columns, quoting, encoding, required, format, length, range,\n"
	"       iin_length, iin_digits, iin_date, iin_century, iin_checksum,\n"
	"       iin_no_checksum, duplicate (twice in the file), not_registered (no\n"
	"       borrower has the IIN), exists (recorded already), too_many_rows\n\n"
	"exit codes: 0 success, 1 a bad row, or an unknown contract,\n"
	"            2 usage error, 3 environment error (store, key file, I/O)\n";

/* What a rule means, for the line after the error. */
static const char *rule_text(const char *rule)
{
	static const struct {
		const char *rule, *text;
	} texts[] = {
		{ "header", "the first line must be "
			    "iin,contract_number,outstanding_tiyn,due_date,status" },
		{ "columns", "a row must have exactly 5 columns" },
		{ "quoting", "a quote is misplaced or not closed" },
		{ "encoding", "the value is not UTF-8" },
		{ "required", "the value is empty" },
		{ "format", "the value is not in the form the column needs" },
		{ "length", "the contract number is longer than 64 characters" },
		{ "range", "the amount is more than 10^15 tiyn" },
		{ "duplicate", "the contract number is on an earlier line too" },
		{ "not_registered", "no registered borrower has this IIN" },
		{ "exists", "the contract is recorded already" },
		{ "too_many_rows", "the file has more than 1000000 rows" },
	};
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		if (strcmp(rule, texts[i].rule) == 0)
			return texts[i].text;
	return strncmp(rule, "iin_", 4) == 0 ? "not a valid IIN" : NULL;
}

/* Read the whole file (or standard input) into b, at most
 * OBLIGATIONS_FILE_MAX bytes; the caller wipes and releases b. */
static int read_file(const char *path, struct buf *b)
{
	int rc = cli_read_input("obligations", path, b);
	if (rc == CLI_FAILED)
		cli_error("obligations", "%s is larger than %zu MiB; split it", path,
			  (size_t)OBLIGATIONS_FILE_MAX >> 20);
	return rc;
}

struct progress {
	int tty;
	int dry_run;
	int shown;
};

static void show_progress(size_t done, size_t total, void *ctx)
{
	struct progress *p = ctx;
	if (!p->tty)
		return;
	fprintf(stderr, "\rchecked %zu/%zu rows", done, total);
	if (done == total && !p->dry_run)
		fputs(", recording...", stderr);
	fflush(stderr);
	p->shown = 1;
}

static void end_progress(struct progress *p)
{
	if (p->shown)
		fputc('\n', stderr);
	p->shown = 0;
}

static int do_import(struct cli_common *common, const char *path, int dry_run)
{
	struct buf text;
	buf_init(&text, OBLIGATIONS_FILE_MAX);
	int rc = read_file(path, &text);
	if (rc != CLI_OK) {
		buf_release_wiped(&text);
		return rc;
	}
	struct store *st = NULL;
	struct keyring *kr = NULL;
	rc = cli_open(common, 1, &st, &kr);
	if (rc != CLI_OK) {
		buf_release_wiped(&text);
		return rc;
	}
	struct progress prog = { .tty = isatty(2), .dry_run = dry_run };
	struct obligations_import run = { .kr = kr,
					  .actor = OBLIGATIONS_ACTOR,
					  .request_id = common->run_id,
					  .csv = text.data,
					  .len = text.len,
					  .dry_run = dry_run,
					  .progress = show_progress,
					  .ctx = &prog };
	int64_t t0 = clock_mono_us();
	enum senim_result err = obligations_import(st, &run);
	double secs = (double)(clock_mono_us() - t0) / 1e6;
	end_progress(&prog);
	buf_release_wiped(&text);

	if (err == SENIM_ERR_INVALID || err == SENIM_ERR_CONFLICT ||
	    err == SENIM_ERR_TOO_LARGE) {
		const struct import_error *e = &run.error;
		const char *why = rule_text(e->rule);
		/* Only the place and the rule: the values are personal data. */
		cli_error("obligations", "line %zu, column %s: %s%s%s%s", e->line,
			  e->column, e->rule, why ? " (" : "", why ? why : "",
			  why ? ")" : "");
		cli_error("obligations", "nothing was imported");
		rc = CLI_FAILED;
	} else if (err) {
		cli_error("obligations", "the import failed: %s; nothing was imported",
			  senim_result_name(err));
		rc = CLI_ENV;
	} else {
		printf("%s %zu obligations (%zu open, %zu closed) for %zu borrowers in "
		       "%.1f s%s\n",
		       dry_run ? "checked" : "imported", run.rows, run.open, run.closed,
		       run.subjects, secs,
		       dry_run ? "; nothing was imported (--dry-run)" : "");
		rc = CLI_OK;
	}
	store_free(st);
	keyring_free(kr);
	return rc;
}

static int do_close(struct cli_common *common, const char *contract)
{
	struct store *st = NULL;
	struct keyring *kr = NULL;
	int rc = cli_open(common, 1, &st, &kr);
	if (rc != CLI_OK)
		return rc;
	struct obligations_close op = { .kr = kr,
					.actor = OBLIGATIONS_ACTOR,
					.request_id = common->run_id,
					.contract_number = contract };
	enum senim_result err = store_write(st, obligations_close_tx, &op);
	if (err == SENIM_ERR_NOT_FOUND) {
		/* The number is the user's own input: safe to echo. */
		cli_error("obligations", "no obligation has the contract number '%s'",
			  contract);
		rc = CLI_FAILED;
	} else if (err) {
		cli_error("obligations", "cannot close the contract: %s",
			  senim_result_name(err));
		rc = CLI_ENV;
	} else {
		printf("contract '%s' is closed\n", contract);
	}
	store_free(st);
	keyring_free(kr);
	return rc;
}

int cmd_obligations(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		CLI_COMMON_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct cli_args a = { .cmd = "obligations", .usage = obligations_usage };
	int sub = cli_subcommand(&a, argc, argv,
				 (const char *const[]){ "import", "close", NULL });
	if (sub < 0)
		return a.rc;
	int is_import = sub == 0;
	int dry_run = 0;
	int opt;
	while ((opt = cli_next_option(&a, longopts)) > 0)
		if (opt == 'n')
			dry_run = 1;
	if (opt < 0)
		return a.rc;
	if (a.first >= a.argc)
		return cli_usage_error(&a, is_import ? "import needs a FILE"
						     : "close needs a CONTRACT");
	if (a.first + 1 < a.argc)
		return cli_usage_error(&a, "unexpected argument");
	if (dry_run && !is_import)
		return cli_usage_error(&a, "--dry-run is for 'obligations import'");
	const char *arg = a.argv[a.first];
	return is_import ? do_import(&a.common, arg, dry_run) : do_close(&a.common, arg);
}
