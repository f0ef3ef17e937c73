/*
 * cmd_eod.c — `senim eod --date D`: end of day for every loan
 * (lending/eod.h; docs/end-of-day.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/clock.h"
#include "core/contact.h"
#include "core/loan_rules.h"
#include "core/schedule.h"
#include "lending/eod.h"
#include "common/banned.h"

#define DEFAULT_LOAN_RULES "data/loan-rules.conf"
#define EOD_ACTOR "cli"

static const char eod_usage[] =
	"usage: senim eod --date YYYY-MM-DD [--loan-rules FILE] [--chunk N] [OPTIONS]\n\n"
	"End of day: close day D for every loan still open or overdue whose days\n"
	"are closed only to before D — the interest accrued, the delay counted and\n"
	"its bucket, the day's penalty, the credit bureaus' 'overdue' event on a\n"
	"delay's first day, the delinquency notice queued — each day with the\n"
	"rules in force on it.\n\n"
	"D must have ended in Kazakhstan (UTC+5): at most yesterday there.  The\n"
	"run is resumable and idempotent: loans are taken in id order, N to a\n"
	"transaction that also moves the run's cursor (table eod_runs), so a run\n"
	"that was killed continues after its cursor when started again, and a\n"
	"loan already at D is never touched twice.  A finished run of D says so\n"
	"and exits 0.  A day before the latest run's day is refused.\n\n"
	"options:\n"
	"  --date D         the day to close, YYYY-MM-DD (required)\n"
	"  --loan-rules FILE  the regulatory rules (SENIM_LOAN_RULES; default\n"
	"                   " DEFAULT_LOAN_RULES ")\n"
	"  --chunk N        loans per write transaction, 1 to 10000 (default "
	"500)\n" CLI_COMMON_HELP "  -h, --help       this text\n\n"
	"output: one line, the loans brought to D, the days closed, the overdue\n"
	"        events, the notices queued and the time; progress on a terminal\n\n"
	"exit codes: 0 success (the day closed, or closed already), 1 D is today,\n"
	"            in the future or before the latest run, or no rules are in\n"
	"            force on a day, 2 usage error, 3 environment error (store,\n"
	"            key file, I/O); after 3 run it again to finish\n";

struct progress {
	int tty, shown;
};

static void show_progress(size_t done, size_t total, void *ctx)
{
	struct progress *p = ctx;
	if (!p->tty)
		return;
	fprintf(stderr, "\rclosed %zu/%zu loans   ", done, total);
	fflush(stderr);
	p->shown = 1;
}

static void day_text(int32_t day, char out[11])
{
	int y, m, d;
	schedule_ymd(day, &y, &m, &d);
	snprintf(out, 11, "%04d-%02d-%02d", y, m, d);
}

static int run(struct cli_common *common, const char *date, int32_t day,
	       const char *rules_file, size_t chunk)
{
	int32_t today = eod_today();
	if (day >= today) {
		char t[11];
		day_text(today, t);
		cli_error("eod",
			  "%s has not ended yet in Kazakhstan (today is %s, UTC+5)", date,
			  t);
		return CLI_FAILED;
	}
	struct loan_rules *rules = NULL;
	int rc = cli_loan_rules_load("eod", rules_file, &rules);
	if (rc != CLI_OK)
		return rc;
	struct store *st = NULL;
	struct keyring *kr = NULL;
	rc = cli_open(common, 1, &st, &kr);
	if (rc != CLI_OK) {
		loan_rules_free(rules);
		return rc;
	}
	struct progress prog = { .tty = isatty(2) };
	struct eod_run op = { .kr = kr,
			      .rules = rules,
			      .actor = EOD_ACTOR,
			      .request_id = common->run_id,
			      .day = day,
			      .chunk = chunk,
			      .progress = show_progress,
			      .ctx = &prog };
	int64_t t0 = clock_mono_us();
	enum senim_result err = eod_run(st, &op);
	double secs = (double)(clock_mono_us() - t0) / 1e6;
	if (prog.shown)
		fputc('\n', stderr);
	if (err == SENIM_ERR_CONFLICT) {
		char t[11];
		day_text(op.latest, t);
		cli_error("eod",
			  "%s is before the latest end of day, %s: its loans are past it",
			  date, t);
		rc = CLI_FAILED;
	} else if (err == SENIM_ERR_INVALID) {
		cli_error(
			"eod",
			"a loan could not be brought to %s (no rules in force on a day, "
			"or servicing refused a step); %zu loans were closed before it",
			date, op.loans);
		rc = CLI_FAILED;
	} else if (err) {
		cli_error("eod",
			  "end of day %s failed: %s; %zu loans were closed before it; "
			  "run it "
			  "again to finish",
			  date, senim_result_name(err), op.loans);
		rc = CLI_ENV;
	} else if (op.finished_before) {
		printf("end of day %s had finished already: %lld loans, %lld days "
		       "closed, "
		       "%lld overdue events, %lld notices; nothing to do\n",
		       date, (long long)op.run_loans, (long long)op.run_days,
		       (long long)op.run_overdue_events, (long long)op.run_notices);
	} else {
		printf("end of day %s%s: %zu loans, %zu days closed, %zu overdue events, "
		       "%zu notices in %.1f s\n",
		       date, op.resumed ? " (resumed)" : "", op.loans, op.days,
		       op.overdue_events, op.notices, secs);
	}
	store_free(st);
	keyring_free(kr);
	loan_rules_free(rules);
	return rc;
}

int cmd_eod(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "date", required_argument, NULL, 'd' },
		{ "loan-rules", required_argument, NULL, 'L' },
		{ "chunk", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		CLI_COMMON_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct cli_args a = { .cmd = "eod", .usage = eod_usage };
	cli_begin_options(&a, argc, argv);
	const char *date = NULL;
	const char *rules = getenv("SENIM_LOAN_RULES");
	if (!rules || !*rules)
		rules = DEFAULT_LOAN_RULES;
	size_t chunk = EOD_CHUNK_DEFAULT;
	int opt;
	while ((opt = cli_next_option(&a, longopts)) > 0) {
		if (opt == 'd') {
			date = optarg;
		} else if (opt == 'L') {
			rules = optarg;
		} else if (opt == 'c') {
			char *end = NULL;
			long v = strtol(optarg, &end, 10);
			if (!*optarg || *end || v < 1 || v > EOD_CHUNK_MAX)
				return cli_usage_error(&a,
						       "--chunk needs 1 to 10000 loans");
			chunk = (size_t)v;
		}
	}
	if (opt < 0)
		return a.rc;
	if (a.first < a.argc)
		return cli_usage_error(&a, "unexpected argument");
	int y, m, d;
	if (!date)
		return cli_usage_error(&a, "--date is required");
	if (strlen(date) != 10 || !date_parse_iso(date, 10, &y, &m, &d))
		return cli_usage_error(&a, "--date needs YYYY-MM-DD");
	return run(&a.common, date, schedule_day(y, m, d), rules, chunk);
}
