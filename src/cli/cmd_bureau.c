/*
 * cmd_bureau.c — `senim bureau import|report`: the lender's loan events
 * and their reporting to the credit bureaus (T2; docs/bureau-reporting.md).
 *
 * import records loan events from a CSV file, all rows or none
 * (exchange/loan_events.h).  report decides every new event for each bureau
 * with a loan_event/1 service, queues it in the outbox with the bureau's
 * cursor in the same transaction, and pumps the outbox through a hub
 * started in this process (exchange/outbox.h).  The file holds personal
 * data: its bytes are wiped once read, and errors name only the line, the
 * column and the rule.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/buf.h"
#include "common/clock.h"
#include "connectors/hub.h"
#include "connectors/sms.h"
#include "core/purposes.h"
#include "core/recipients.h"
#include "exchange/loan_events.h"
#include "exchange/outbox.h"
#include "exchange/reporter.h"
#include "common/banned.h"

#define BUREAU_FILE_MAX ((size_t)256 << 20)
#define BUREAU_ACTOR "cli"
#define WAIT_DEFAULT_S 30
#define WAIT_MAX_S 86400

static const char bureau_usage[] =
	"usage: senim bureau import FILE [--dry-run] [OPTIONS]\n"
	"       senim bureau report [--recipient CODE] [--wait S] [--recipients FILE]\n"
	"                           [OPTIONS]\n\n"
	"Loan events reported to the credit bureaus (T2).  Until lending lives in\n"
	"senim, the events come from a CSV file.\n\n"
	"import   record loan events from FILE ('-' for standard input): UTF-8 CSV,\n"
	"         RFC 4180 quoting, LF or CRLF, with the header\n"
	"   event,occurred_on,iin,contract_number,amount_tiyn,outstanding_tiyn,"
	"overdue_days,due_date\n"
	"         event             issued, payment, overdue, restructured, closed,\n"
	"                           written_off\n"
	"         occurred_on       YYYY-MM-DD\n"
	"         iin               a registered borrower's IIN\n"
	"         contract_number   1-64 of A-Z a-z 0-9 / _ . -\n"
	"         amount_tiyn, outstanding_tiyn  0 to 10^15, digits; may be empty\n"
	"         overdue_days      0 to 36500; may be empty\n"
	"         due_date          YYYY-MM-DD; may be empty\n"
	"         issued needs amount, outstanding and due date; overdue needs\n"
	"         overdue_days above 0; closed needs outstanding 0.  Every row is\n"
	"         checked before anything is written; the first bad row is named as\n"
	"         'line L, column C: RULE' and nothing is imported.  An event\n"
	"         (contract, event, date) imported already is skipped.\n"
	"report   send every event not yet reported to each credit bureau with a\n"
	"         loan_event/1 service (or only --recipient CODE), 500 to a batch;\n"
	"         old undelivered batches go first.  Exit 0 when every queued\n"
	"         event was delivered, 1 when some failed or are still waiting.\n\n"
	"options:\n"
	"  --dry-run        (import) check every row, the lookups included, and\n"
	"                   record nothing\n"
	"  --recipient CODE (report) only this bureau\n"
	"  --wait S         (report) wait up to S seconds for retries (default 30)\n"
	"  --recipients FILE (report) the recipients file (SENIM_RECIPIENTS;\n"
	"                   default data/recipients.conf)\n" CLI_COMMON_HELP
	"  -h, --help       this text\n\n"
	"rules: header, columns, quoting, encoding, required, format, length, range,\n"
	"       iin_*, overdue_days, closed_debt, duplicate (twice in the file),\n"
	"       not_registered (no borrower has the IIN), too_many_rows\n\n"
	"exit codes: 0 success, 1 a bad row or an event not delivered,\n"
	"            2 usage error, 3 environment error (store, key file, I/O)\n";

static int read_file(const char *path, struct buf *b)
{
	int rc = cli_read_input("bureau", path, b);
	if (rc == CLI_FAILED)
		cli_error("bureau", "%s is larger than %zu MiB; split it", path,
			  (size_t)BUREAU_FILE_MAX >> 20);
	return rc;
}

struct progress {
	int tty, shown;
};

static void show_progress(size_t done, size_t total, void *ctx)
{
	struct progress *p = ctx;
	if (!p->tty)
		return;
	fprintf(stderr, "\rchecked %zu/%zu rows", done, total);
	fflush(stderr);
	p->shown = 1;
}

static int do_import(struct cli_common *common, const char *path, int dry_run)
{
	struct buf text;
	buf_init(&text, BUREAU_FILE_MAX);
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
	struct loan_events_import run = { .kr = kr,
					  .actor = BUREAU_ACTOR,
					  .request_id = common->run_id,
					  .csv = text.data,
					  .len = text.len,
					  .dry_run = dry_run,
					  .progress = show_progress,
					  .ctx = &prog };
	int64_t t0 = clock_mono_us();
	enum senim_result err = loan_events_import(st, &run);
	double secs = (double)(clock_mono_us() - t0) / 1e6;
	if (prog.shown)
		fputc('\n', stderr);
	buf_release_wiped(&text);
	if (err == SENIM_ERR_INVALID || err == SENIM_ERR_TOO_LARGE) {
		cli_error("bureau", "line %zu, column %s: %s", run.error.line,
			  run.error.column, run.error.rule);
		cli_error("bureau", "nothing was imported");
		rc = CLI_FAILED;
	} else if (err) {
		cli_error("bureau", "the import failed: %s; nothing was imported",
			  senim_result_name(err));
		rc = CLI_ENV;
	} else {
		printf("%s %zu loan events for %zu borrowers (%zu rows, %zu imported "
		       "already) in %.1f s%s\n",
		       dry_run ? "checked" : "imported", run.recorded, run.subjects,
		       run.rows, run.skipped, secs,
		       dry_run ? "; nothing was imported (--dry-run)" : "");
	}
	store_free(st);
	keyring_free(kr);
	return rc;
}

static int do_report(struct cli_common *common, const char *only, const char *file,
		     int wait_s)
{
	struct access_matrix matrix;
	access_matrix_default(&matrix);
	struct recipients *rs = NULL;
	int rc = cli_recipients_load("bureau", file, &matrix, &rs);
	if (rc != CLI_OK)
		return rc;
	if (only && !recipients_find(rs, only)) {
		cli_error("bureau", "no recipient %s in %s", only, file);
		recipients_free(rs);
		return CLI_USAGE;
	}
	struct store *st = NULL;
	struct keyring *kr = NULL;
	struct hub *hub = NULL;
	rc = cli_open(common, 1, &st, &kr);
	if (rc != CLI_OK) {
		recipients_free(rs);
		return rc;
	}
	sms_global_init();
	if (hub_start(rs, &hub)) {
		cli_error("bureau", "cannot start the connector hub");
		rc = CLI_ENV;
		goto out;
	}
	char owner[OUTBOX_OWNER_LEN];
	outbox_owner(owner);
	struct outbox_recovery rec = { .owner = owner };
	if (store_write(st, outbox_recover_tx, &rec)) {
		cli_error("bureau", "cannot recover the outbox");
		rc = CLI_ENV;
		goto out;
	}
	struct report_pass pass = { .store = st,
				    .kr = kr,
				    .hub = hub,
				    .recipients = rs,
				    .matrix = &matrix,
				    .only = only,
				    .owner = owner,
				    .actor = BUREAU_ACTOR,
				    .request_id = common->run_id,
				    .wait_until_ms = clock_now_us() / 1000 +
						     (int64_t)wait_s * 1000 };
	enum senim_result err = report_pass_run(&pass);
	const struct report_totals *t = &pass.totals;
	if (err) {
		cli_error("bureau", "reporting to %s failed: %s", pass.failed_at,
			  senim_result_name(err));
		rc = CLI_ENV;
	} else if (only && !t->services) {
		cli_error("bureau", "%s has no loan_event/1 service", only);
		rc = CLI_USAGE;
	} else {
		printf("reported to %zu bureau services: %zu events queued, %zu "
		       "delivered, "
		       "%zu failed, %zu dead, %zu waiting, %zu refused, %zu invalid"
		       "%s\n",
		       t->services, t->queued, t->delivered, t->failed, t->dead, t->left,
		       t->refused, t->invalid,
		       rec.recovered ? " (interrupted sends recovered)" : "");
		if (t->failed || t->dead || t->left || t->invalid)
			rc = CLI_FAILED;
	}
out:
	hub_stop(hub);
	store_free(st);
	keyring_free(kr);
	recipients_free(rs);
	return rc;
}

int cmd_bureau(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "recipient", required_argument, NULL, 'r' },
		{ "recipients", required_argument, NULL, 'f' },
		{ "wait", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		CLI_COMMON_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct cli_args a = { .cmd = "bureau", .usage = bureau_usage };
	int sub = cli_subcommand(&a, argc, argv,
				 (const char *const[]){ "import", "report", NULL });
	if (sub < 0)
		return a.rc;
	int is_import = sub == 0;
	int dry_run = 0, wait_s = WAIT_DEFAULT_S;
	const char *only = NULL;
	const char *file = getenv("SENIM_RECIPIENTS");
	if (!file || !*file)
		file = "data/recipients.conf";
	int opt;
	while ((opt = cli_next_option(&a, longopts)) > 0) {
		if (opt == 'n') {
			dry_run = 1;
		} else if (opt == 'r') {
			only = optarg;
		} else if (opt == 'f') {
			file = optarg;
		} else if (opt == 'w') {
			char *end = NULL;
			long v = strtol(optarg, &end, 10);
			if (!*optarg || *end || v < 0 || v > WAIT_MAX_S)
				return cli_usage_error(&a,
						       "--wait needs 0 to 86400 seconds");
			wait_s = (int)v;
		}
	}
	if (opt < 0)
		return a.rc;
	if (is_import) {
		if (only || wait_s != WAIT_DEFAULT_S)
			return cli_usage_error(&a,
					       "--recipient and --wait are for 'report'");
		if (a.first >= a.argc)
			return cli_usage_error(&a, "import needs a FILE");
		if (a.first + 1 < a.argc)
			return cli_usage_error(&a, "unexpected argument");
		return do_import(&a.common, a.argv[a.first], dry_run);
	}
	if (dry_run)
		return cli_usage_error(&a, "--dry-run is for 'bureau import'");
	if (a.first < a.argc)
		return cli_usage_error(&a, "unexpected argument");
	return do_report(&a.common, only, file, wait_s);
}
