/*
 * cmd_retention.c — `senim retention check|show|run|hold|release`: the
 * retention file (core/retention.h), the run that anonymises and destroys
 * what is due (subjects/retention.h), and legal holds from the command
 * line (docs/retention.md).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/clock.h"
#include "common/textconf.h"
#include "core/retention.h"
#include "subjects/retention.h"
#include "vault/shred.h"
#include "common/banned.h"

#define RETENTION_ACTOR "cli"

static const char retention_usage[] =
	"usage: senim retention check FILE\n"
	"       senim retention show [FILE]\n"
	"       senim retention run [--dry-run] [--date YYYY-MM-DD] [--file FILE]\n"
	"                           [--chunk N] [OPTIONS]\n"
	"       senim retention hold SUBJECT_ID KIND REFERENCE [OPTIONS]\n"
	"       senim retention release SUBJECT_ID [OPTIONS]\n\n"
	"The retention file says, per data category and per borrower state\n"
	"(applicant_refused, open_loan, loan_closed, consent_withdrawn), how long\n"
	"data is kept and whether it is anonymised or destroyed at the end, each\n"
	"entry with its legal minimum and basis (docs/retention.md).  FILE\n"
	"defaults to $SENIM_RETENTION, else " CLI_RETENTION_FILE ".\n\n"
	"  check    check the file; a fault is one line naming FILE:LINE\n"
	"  show     print the periods, actions, minimums and bases\n"
	"  run      anonymise or destroy every subject whose period ended by the\n"
	"           date (default today in Kazakhstan), skipping held ones;\n"
	"           resumable and idempotent, in chunks of N subjects; each\n"
	"           shredded id is appended to the shred journal beside the key\n"
	"           file first.  --dry-run changes nothing and lists what it\n"
	"           would do, one line a subject.\n"
	"  hold     stop a subject's retention clock: KIND investigation, court\n"
	"           or regulator; REFERENCE the case number ([A-Za-z0-9/._-])\n"
	"  release  lift the subject's open hold\n\n"
	"options:\n"
	"  --dry-run        run: decide and report only\n"
	"  --date D         run: the day, YYYY-MM-DD\n"
	"  --file FILE      run: the retention file\n"
	"  --chunk N        run: subjects per transaction, 1 to 10000 (default "
	"200)\n" CLI_COMMON_HELP "  -h, --help       this text\n\n"
	"exit codes: 0 success, 1 refused (no such subject, a hold open already\n"
	"            or none open), 2 the file breaks a rule, or a usage error,\n"
	"            3 environment error (store, key file, journal, I/O)\n";

int cli_retention_load(const char *cmd, const char *path, struct retention_rules **out)
{
	*out = NULL;
	char *text;
	size_t len;
	int rc = cli_read_config(cmd, "retention file", path, RETENTION_FILE_MAX, &text,
				 &len);
	if (rc)
		return rc;
	struct retention_error why;
	enum senim_result err = retention_parse(text, len, out, &why);
	free(text);
	char line[sizeof(why.message) + 4200] = "";
	if (err == SENIM_ERR_INVALID)
		snprintf(line, sizeof(line), "%s:%u: %s", path, why.line, why.message);
	return cli_parse_result(cmd, err, line);
}

static void show(const struct retention_rules *r)
{
	printf("legal minimums\n");
	for (size_t i = 0; i < r->minimums; i++) {
		char p[16];
		retention_period_text(r->minimum[i].period, p, sizeof(p));
		printf("  %-12s %-5s %s\n", r->minimum[i].name, p, r->minimum[i].source);
	}
	for (int st = 0; st < RETENTION_STATE__COUNT; st++) {
		printf("\n%s\n", retention_state_code(st));
		for (int c = 0; c < CATEGORY__COUNT; c++) {
			const struct retention_entry *e = &r->entry[st][c];
			char p[16];
			retention_period_text(e->period, p, sizeof(p));
			printf("  %-12s %-5s %-9s min %-10s (line %u) %s\n",
			       category_code(c), p, retention_action_code(e->action),
			       e->minimum->name, e->line, e->basis);
		}
	}
}

static const char *file_default(void)
{
	const char *p = getenv("SENIM_RETENTION");
	return p && *p ? p : CLI_RETENTION_FILE;
}

struct progress {
	int tty, shown;
};

static void on_progress(size_t done, void *ctx)
{
	struct progress *p = ctx;
	if (!p->tty)
		return;
	fprintf(stderr, "\rlooked at %zu subjects   ", done);
	fflush(stderr);
	p->shown = 1;
}

static void on_step(const struct retention_step *s, void *ctx)
{
	(void)ctx;
	printf("%s %s %s\n", s->subject_id, retention_state_code(s->state), s->what);
}

static int today_kz(void)
{
	return clock_kz_day(clock_now_us());
}

static int run(struct cli_common *common, const char *file, int32_t day, size_t chunk,
	       int dry)
{
	struct retention_rules *rules = NULL;
	int rc = cli_retention_load("retention", file, &rules);
	if (rc)
		return rc;
	struct store *st = NULL;
	struct keyring *kr = NULL;
	rc = cli_open(common, 1, &st, &kr);
	if (rc) {
		retention_rules_free(rules);
		return rc;
	}
	char journal[4096];
	if (shred_journal_path(common->keys, journal, sizeof(journal))) {
		cli_error("retention", "the key file's path is too long");
		rc = CLI_ENV;
		goto done;
	}
	struct progress prog = { .tty = isatty(2) };
	struct retention_run op = { .kr = kr,
				    .rules = rules,
				    .actor = RETENTION_ACTOR,
				    .request_id = common->run_id,
				    .journal = journal,
				    .day = day,
				    .chunk = chunk,
				    .dry_run = dry,
				    .progress = on_progress,
				    .step = on_step,
				    .ctx = &prog };
	enum senim_result err = retention_run(st, &op);
	if (prog.shown)
		fputc('\n', stderr);
	if (!err && !dry && (op.anonymised || op.destroyed || op.purged)) {
		/* The deleted keys' bytes must not stay in the engine's log. */
		for (int i = 0; i < 50; i++) {
			err = store_forget_freed(st);
			if (err != SENIM_ERR_UNAVAILABLE)
				break;
			usleep(100 * 1000);
		}
		if (err)
			cli_error("retention",
				  "the deleted keys may still be in the database's log "
				  "(%s): "
				  "run it again",
				  senim_result_name(err));
	}
	int y, m, d;
	textconf_civil_from_days(day, &y, &m, &d);
	if (err) {
		cli_error(
			"retention",
			"the run stopped: %s; what was done before it stays done, run it "
			"again to finish",
			senim_result_name(err));
		rc = CLI_ENV;
	}
	printf("retention %s%04d-%02d-%02d: %zu subjects, %zu %sanonymised, %zu "
	       "%sdestroyed, %zu categories %spurged, %zu held, %zu with an open loan, "
	       "%zu consents ended\n",
	       dry ? "dry run " : "", y, m, d, op.subjects, op.anonymised,
	       dry ? "to be " : "", op.destroyed, dry ? "to be " : "", op.purged,
	       dry ? "to be " : "", op.held, op.open, op.consents_ended);
done:
	store_free(st);
	keyring_free(kr);
	retention_rules_free(rules);
	return rc;
}

static int hold(struct cli_common *common, int lift, const char *subject,
		const char *kind, const char *ref)
{
	struct store *st = NULL;
	struct keyring *kr = NULL;
	int rc = cli_open(common, 1, &st, &kr);
	if (rc)
		return rc;
	struct hold_op h = { .kr = kr,
			     .subject_id = subject,
			     .kind = lift ? HOLD_INVESTIGATION
					  : (enum hold_kind)hold_kind_parse(kind),
			     .reference = ref,
			     .actor = RETENTION_ACTOR,
			     .request_id = common->run_id };
	enum senim_result err = store_write(st, lift ? hold_lift_tx : hold_set_tx, &h);
	if (err == SENIM_ERR_NOT_FOUND) {
		cli_error("retention", "no subject %s", subject);
		rc = CLI_FAILED;
	} else if (!err && h.refused == HOLD_NONE) {
		cli_error("retention", "no open hold on %s", subject);
		rc = CLI_FAILED;
	} else if (!err && h.refused == HOLD_EXISTS) {
		cli_error("retention", "%s is held already (%s)", subject, h.hold_id);
		rc = CLI_FAILED;
	} else if (err) {
		cli_error("retention", "%s", senim_result_name(err));
		rc = CLI_ENV;
	} else {
		printf("%s %s\n", lift ? "lifted" : "held", h.hold_id);
	}
	store_free(st);
	keyring_free(kr);
	return rc;
}

int cmd_retention(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "date", required_argument, NULL, 'd' },
		{ "file", required_argument, NULL, 'f' },
		{ "chunk", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		CLI_COMMON_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct cli_args a = { .cmd = "retention", .usage = retention_usage };
	int sub = cli_subcommand(
		&a, argc, argv,
		(const char *const[]){ "check", "show", "run", "hold", "release", NULL });
	if (sub < 0)
		return a.rc;
	const char *date = NULL, *file = NULL;
	int dry = 0;
	size_t chunk = RETENTION_CHUNK_DEFAULT;
	int opt;
	while ((opt = cli_next_option(&a, longopts)) > 0) {
		if (opt == 'n') {
			dry = 1;
		} else if (opt == 'd') {
			date = optarg;
		} else if (opt == 'f') {
			file = optarg;
		} else if (opt == 'c') {
			char *end = NULL;
			long v = strtol(optarg, &end, 10);
			if (!*optarg || *end || v < 1 || v > RETENTION_CHUNK_MAX)
				return cli_usage_error(&a, "--chunk needs 1 to 10000");
			chunk = (size_t)v;
		}
	}
	if (opt < 0)
		return a.rc;
	int operands = a.argc - a.first;
	if (sub != 2 && (dry || date || file || chunk != RETENTION_CHUNK_DEFAULT))
		return cli_usage_error(
			&a, "--dry-run, --date, --file and --chunk go with run");
	if (sub == 0 || sub == 1) {
		if (operands > 1 || (sub == 0 && operands == 0))
			return cli_usage_error(&a, "give one retention FILE");
		struct retention_rules *r = NULL;
		int rc = cli_retention_load(
			"retention", operands ? a.argv[a.first] : file_default(), &r);
		if (rc)
			return rc;
		if (sub == 1)
			show(r);
		else
			printf("%s: good\n", a.argv[a.first]);
		retention_rules_free(r);
		return CLI_OK;
	}
	if (sub == 2) {
		if (operands)
			return cli_usage_error(&a, "unexpected argument");
		int32_t day = today_kz();
		if (date && (strlen(date) != 10 || !textconf_date(date, 10, &day)))
			return cli_usage_error(&a, "--date needs YYYY-MM-DD");
		return run(&a.common, file ? file : file_default(), day, chunk, dry);
	}
	if (sub == 3) {
		if (operands != 3)
			return cli_usage_error(&a,
					       "hold needs SUBJECT_ID KIND REFERENCE");
		if (hold_kind_parse(a.argv[a.first + 1]) < 0)
			return cli_usage_error(
				&a, "KIND is investigation, court or regulator");
		if (!hold_reference_valid(a.argv[a.first + 2]))
			return cli_usage_error(&a, "REFERENCE is [A-Za-z0-9/._-]{1,64}");
		return hold(&a.common, 0, a.argv[a.first], a.argv[a.first + 1],
			    a.argv[a.first + 2]);
	}
	if (operands != 1)
		return cli_usage_error(&a, "release needs SUBJECT_ID");
	return hold(&a.common, 1, a.argv[a.first], NULL, NULL);
}
