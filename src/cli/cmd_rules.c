/*
 * cmd_rules.c — `senim rules check FILE` and `senim rules show [--date D]
 * [FILE]`: the regulatory rules file (core/loan_rules.h) as an operator
 * checks it, and the rules it puts in force on a date.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/clock.h"
#include "core/loan_rules.h"
#include "common/banned.h"

#define DEFAULT_RULES_FILE "data/loan-rules.conf"

static const char rules_usage[] =
	"usage: senim rules check FILE\n"
	"       senim rules show [--date YYYY-MM-DD] [FILE]\n\n"
	"The rules file holds the regulatory rules every microcredit offer must\n"
	"keep — the ГЭСВ caps, the short-loan caps, the largest microcredit, the\n"
	"МРП of each year, the cooling-off hold, penalty limits, the notice and\n"
	"restructuring deadlines, the voluntary refusal of loans — each with its\n"
	"effective date and legal source.  docs/lending-rules.md describes it; the\n"
	"shipped file is data/loan-rules.conf.\n\n"
	"  check   check every rule of the file; a fault is one line naming\n"
	"          FILE:LINE, the rule and the key.\n"
	"  show    print the rules in force on a date (default: today, UTC),\n"
	"          each with its source and the line it comes from.  FILE\n"
	"          defaults to $SENIM_LOAN_RULES, else " DEFAULT_RULES_FILE ".\n\n"
	"options:\n"
	"  --date YYYY-MM-DD  show: the date (default today, UTC)\n"
	"  -h, --help         this text\n\n"
	"exit codes: 0 the file is good, 1 no rules in force on the date (show),\n"
	"            2 the file breaks a rule, or a usage error, 3 the file cannot\n"
	"            be read\n";

static void show(const struct loan_rules_in_force *f)
{
	printf("rules in force on %s\n", f->date);
	for (int c = 0; c < LOAN_RULE__COUNT; c++) {
		const struct loan_rule *e = f->rule[c];
		if (!e) { /* an optional rule */
			printf("\n[rule %s] none in force: %s\n", loan_rule_code_name(c),
			       c == LOAN_RULE_ALLOCATION
				       ? "payments cannot be allocated"
				       : "restructuring answers have no due date");
			continue;
		}
		printf("\n[rule %s] from %s (line %u)\n  source: %s\n",
		       loan_rule_code_name(c), e->from_text, e->line, e->source);
		switch ((enum loan_rule_code)c) {
		case LOAN_RULE_GESV_CAP:
			printf("  ГЭСВ at most %lld bp\n", (long long)f->gesv_cap_bp);
			break;
		case LOAN_RULE_SHORT_LOAN:
			printf("  loans of at most %lld days and %lld МРП: daily rate "
			       "under "
			       "%lld bp, ГЭСВ at most %lld bp\n",
			       (long long)f->short_max_days, (long long)f->short_max_mrp,
			       (long long)f->short_daily_cap_bp,
			       (long long)f->short_annual_cap_bp);
			break;
		case LOAN_RULE_MAX_AMOUNT:
			printf("  at most %lld МРП = %lld tiyn\n",
			       (long long)f->max_amount_mrp,
			       (long long)loan_rules_mrp_tiyn(f, f->max_amount_mrp));
			break;
		case LOAN_RULE_MRP:
			printf("  1 МРП = %lld tiyn\n", (long long)f->mrp_tiyn);
			if (loan_rules_mrp_of_an_earlier_year(f))
				printf("  NOTE: no МРП for %.4s in the file: %.4s's "
				       "stands "
				       "in (stricter); add the year's from its budget "
				       "law\n",
				       f->date, e->from_text);
			break;
		case LOAN_RULE_COOLOFF:
			printf("  an online payout above %lld МРП waits %lld minutes\n",
			       (long long)f->cooloff_above_mrp,
			       (long long)f->cooloff_hold_minutes);
			break;
		case LOAN_RULE_PENALTY:
			printf("  at most %lld bp a day of the overdue sum, %lld bp a "
			       "year of "
			       "the principal\n",
			       (long long)f->penalty_daily_bp,
			       (long long)f->penalty_annual_bp);
			if (f->penalty_after_days > 0)
				printf("  past %lld days of a delay, at most %lld bp a "
				       "day\n",
				       (long long)f->penalty_after_days,
				       (long long)f->penalty_daily_after_bp);
			break;
		case LOAN_RULE_NOTICE:
			printf("  delinquency notice within %lld days\n",
			       (long long)f->notice_days);
			break;
		case LOAN_RULE_ALLOCATION:
			printf("  a payment pays, up to %lld days of delay:",
			       (long long)f->allocation_after_days);
			for (int i = 0; i < LOAN_ALLOC_COMPONENTS; i++)
				printf(" %s",
				       loan_alloc_component_name(f->allocation_order[i]));
			printf("\n  beyond:");
			for (int i = 0; i < LOAN_ALLOC_COMPONENTS; i++)
				printf(" %s", loan_alloc_component_name(
						      f->allocation_order_after[i]));
			printf("\n");
			break;
		case LOAN_RULE_RESTRUCTURING:
			printf("  restructuring requests within %lld days\n",
			       (long long)f->restructuring_days);
			break;
		case LOAN_RULE_RESTRUCTURING_ANSWER:
			printf("  a restructuring request answered within %lld days\n",
			       (long long)f->restructuring_answer_days);
			break;
		case LOAN_RULE_SELF_EXCLUSION:
			printf("  voluntary refusal of loans checked: %s\n",
			       f->self_exclusion_check ? "yes" : "no");
			break;
		case LOAN_RULE__COUNT:
			break;
		}
	}
}

int cmd_rules(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "date", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_args a = { .cmd = "rules", .usage = rules_usage };
	int sub = cli_subcommand(&a, argc, argv,
				 (const char *const[]){ "check", "show", NULL });
	if (sub < 0)
		return a.rc;
	const char *date = NULL;
	int opt;
	while ((opt = cli_next_option(&a, longopts)) > 0)
		if (opt == 'd')
			date = optarg;
	if (opt < 0)
		return a.rc;
	if (sub == 0 && date)
		return cli_usage_error(&a, "--date goes with show");
	if (a.first + 1 < a.argc)
		return cli_usage_error(&a, "one rules FILE at a time");
	const char *path = a.first < a.argc ? a.argv[a.first] : NULL;
	if (!path && sub == 0)
		return cli_usage_error(&a, "which file? give the rules FILE");
	if (!path) {
		path = getenv("SENIM_LOAN_RULES");
		if (!path || !*path)
			path = DEFAULT_RULES_FILE;
	}
	char today[CLOCK_RFC3339_LEN];
	if (!date) {
		clock_format_rfc3339(clock_now_us(), today);
		today[10] = '\0';
		date = today;
	}
	struct loan_rules *r = NULL;
	int rc = cli_loan_rules_load("rules", path, &r);
	if (rc)
		return rc;
	struct loan_rules_in_force f;
	char why[512];
	int in_force = loan_rules_in_force(r, date, &f, why, sizeof(why)) == SENIM_OK;
	if (!in_force) {
		/* A date that is no date is the caller's mistake; a date before
		 * the rules begin is a fact about the file. */
		int not_a_date = strcmp(why, "not a date YYYY-MM-DD") == 0;
		if (not_a_date || sub == 1) {
			loan_rules_free(r);
			if (not_a_date)
				return cli_usage_error(&a,
						       "--date: not a date YYYY-MM-DD");
			cli_error("rules", "%s: %s", path, why);
			return CLI_FAILED;
		}
	}
	if (sub == 1)
		show(&f);
	else
		printf("%s: %zu entries, good\n", path, r->n);
	if (sub == 0 && in_force && loan_rules_mrp_of_an_earlier_year(&f))
		fprintf(stderr,
			"rules: warning: %s has no МРП for %.4s: %.4s's stands in "
			"(stricter); add the year's from its budget law\n",
			path, f.date, f.rule[LOAN_RULE_MRP]->from_text);
	loan_rules_free(r);
	return CLI_OK;
}
