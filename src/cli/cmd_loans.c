/*
 * cmd_loans.c — `senim loans import`: a loan portfolio migrated from
 * another system (lending/portfolio.h; docs/end-of-day.md).
 *
 * The file holds personal data (IINs, contract numbers): its bytes are
 * wiped once read, and errors name only the line, the column and the rule.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/buf.h"
#include "common/clock.h"
#include "lending/portfolio.h"
#include "common/banned.h"

#define LOANS_FILE_MAX ((size_t)512 << 20)
#define LOANS_ACTOR "cli"

static const char loans_usage[] =
	"usage: senim loans import FILE [--dry-run] [OPTIONS]\n\n"
	"Loans migrated from another system: each row opens a loan as a payout\n"
	"would (its schedule from the start date) and records the credit bureaus'\n"
	"'issued' event.  End of day (senim eod) then services them.\n\n"
	"import   open loans from FILE ('-' for standard input): UTF-8 CSV,\n"
	"         RFC 4180 quoting, LF or CRLF, with the header\n"
	"   contract_number,iin,principal_tiyn,rate_bp,method,payments,term_days,\n"
	"   start_date,penalty_daily_bp,penalty_annual_bp\n"
	"         contract_number   1-64 of A-Z a-z 0-9 / _ . -\n"
	"         iin               a registered borrower's IIN\n"
	"         principal_tiyn    1 to 10^13\n"
	"         rate_bp           annual nominal rate, 0 to 100000\n"
	"         method            annuity, differentiated or single\n"
	"         payments          1 to 600 (annuity, differentiated; empty for\n"
	"                           single)\n"
	"         term_days         1 to 3660 (single; empty for the others)\n"
	"         start_date        YYYY-MM-DD, the payout day\n"
	"         penalty_daily_bp, penalty_annual_bp  0 to 100000\n"
	"         Every row is checked before anything is written, the borrowers'\n"
	"         look-ups included; the first bad row is named as\n"
	"         'line L, column C: RULE' and nothing is imported.  Then the\n"
	"         loans are written 2000 to a transaction.  A contract number that\n"
	"         is a loan already is skipped, so importing a file again opens\n"
	"         nothing twice and finishes an import that was cut off.\n\n"
	"options:\n"
	"  --dry-run        check every row, the look-ups included, and record\n"
	"                   nothing\n" CLI_COMMON_HELP "  -h, --help       this text\n\n"
	"rules: header, columns, quoting, encoding, required, format, length, range,\n"
	"       iin_*, term (payments with single, term_days with a monthly method),\n"
	"       schedule (terms the schedule refuses), duplicate (a contract twice in\n"
	"       the file), not_registered (no borrower has the IIN), too_many_rows\n\n"
	"exit codes: 0 success, 1 a bad row, 2 usage error,\n"
	"            3 environment error (store, key file, I/O)\n";

static int read_file(const char *path, struct buf *b)
{
	int rc = cli_read_input("loans", path, b);
	if (rc == CLI_FAILED)
		cli_error("loans", "%s is larger than %zu MiB; split it", path,
			  (size_t)LOANS_FILE_MAX >> 20);
	return rc;
}

struct progress {
	int tty, shown;
};

static void show_progress(const char *phase, size_t done, size_t total, void *ctx)
{
	struct progress *p = ctx;
	if (!p->tty)
		return;
	if (total)
		fprintf(stderr, "\r%s %zu/%zu rows   ", phase, done, total);
	else
		fprintf(stderr, "\r%s %zu rows   ", phase, done);
	fflush(stderr);
	p->shown = 1;
}

static int do_import(struct cli_common *common, const char *path, int dry_run)
{
	struct buf text;
	buf_init(&text, LOANS_FILE_MAX);
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
	struct progress prog = { .tty = isatty(2) };
	struct portfolio_import run = { .kr = kr,
					.actor = LOANS_ACTOR,
					.request_id = common->run_id,
					.csv = text.data,
					.len = text.len,
					.dry_run = dry_run,
					.progress = show_progress,
					.ctx = &prog };
	int64_t t0 = clock_mono_us();
	enum senim_result err = portfolio_import(st, &run);
	double secs = (double)(clock_mono_us() - t0) / 1e6;
	if (prog.shown)
		fputc('\n', stderr);
	buf_release_wiped(&text);
	if (err == SENIM_ERR_INVALID || err == SENIM_ERR_TOO_LARGE) {
		cli_error("loans", "line %zu, column %s: %s", run.error.line,
			  run.error.column, run.error.rule);
		cli_error("loans", "nothing was imported");
		rc = CLI_FAILED;
	} else if (err) {
		cli_error("loans",
			  "the import failed: %s; %zu loans were opened before it did; "
			  "run it again to finish",
			  senim_result_name(err), run.opened);
		rc = CLI_ENV;
	} else {
		printf("%s %zu loans (%zu rows, %zu imported already, %zu issued events) "
		       "in %.1f s%s\n",
		       dry_run ? "checked" : "imported", run.opened, run.rows,
		       run.skipped, run.events, secs,
		       dry_run ? "; nothing was imported (--dry-run)" : "");
	}
	store_free(st);
	keyring_free(kr);
	return rc;
}

int cmd_loans(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		CLI_COMMON_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct cli_args a = { .cmd = "loans", .usage = loans_usage };
	int sub = cli_subcommand(&a, argc, argv, (const char *const[]){ "import", NULL });
	if (sub < 0)
		return a.rc;
	int dry_run = 0, opt;
	while ((opt = cli_next_option(&a, longopts)) > 0)
		if (opt == 'n')
			dry_run = 1;
	if (opt < 0)
		return a.rc;
	if (a.first >= a.argc)
		return cli_usage_error(&a, "import needs a FILE");
	if (a.first + 1 < a.argc)
		return cli_usage_error(&a, "unexpected argument");
	return do_import(&a.common, a.argv[a.first], dry_run);
}
