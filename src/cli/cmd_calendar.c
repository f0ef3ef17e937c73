/*
 * cmd_calendar.c — `senim calendar check FILE...` and `senim calendar show
 * [--year Y] [--from DATE --days N] [DIR]`: Kazakhstan's working-day
 * calendar (core/workdays.h) as an operator checks it, and the directory
 * loader `senim serve` uses.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/clock.h"
#include "common/textconf.h"
#include "core/workdays.h"
#include "common/banned.h"

static const char calendar_usage[] =
	"usage: senim calendar check FILE...\n"
	"       senim calendar show [--year YYYY] [--from YYYY-MM-DD --days N] [DIR]\n\n"
	"The calendar is one file a year, DIR/kz-YYYY.conf: the holidays, the\n"
	"days off of holidays on a weekend and the Government's transfers.  The\n"
	"deadlines of data-subject requests count its working days\n"
	"(docs/rights.md).\n\n"
	"  check   check each file; a fault is one line naming FILE:LINE.\n"
	"  show    the years of DIR (default $SENIM_CALENDAR, else " CLI_CALENDAR_DIR
	")\n"
	"          with their days off; with --from and --days, the N-th working\n"
	"          day after the date.\n\n"
	"options:\n"
	"  --year YYYY        show: only that year\n"
	"  --from YYYY-MM-DD  show: count from this date (its day does not count)\n"
	"  --days N           show: how many working days (1-366)\n"
	"  -h, --help         this text\n\n"
	"exit codes: 0 good, 1 a year asked for is not in the calendar, 2 a file\n"
	"            breaks a rule, or a usage error, 3 a file cannot be read\n";

/* Read and parse one file: CLI_OK with *out, or the exit code after one
 * line on stderr. */
static int load_file(const char *cmd, const char *path, struct workdays_year **out)
{
	*out = NULL;
	char *text;
	size_t len;
	int rc = cli_read_config(cmd, "calendar file", path, WORKDAYS_FILE_MAX, &text,
				 &len);
	if (rc)
		return rc;
	char why[1024];
	enum senim_result err = workdays_parse(path, text, len, out, why, sizeof(why));
	free(text);
	return cli_parse_result(cmd, err, why);
}

/* 1 when name is "kz-YYYY.conf"; *year set. */
static int year_file(const char *name, int *year)
{
	int64_t y;
	if (strlen(name) != 12 || memcmp(name, "kz-", 3) != 0 ||
	    memcmp(name + 7, ".conf", 5) != 0 ||
	    !textconf_number(name + 3, 4, 0, 9999, &y))
		return 0;
	*year = (int)y;
	return 1;
}

/* Load every kz-YYYY.conf of dir (cli.h). */
int cli_calendar_load(const char *cmd, const char *dir, struct workdays **out)
{
	*out = NULL;
	DIR *d = opendir(dir);
	if (!d) {
		cli_error(cmd, "cannot read the calendar directory %s: %s", dir,
			  strerror(errno));
		return CLI_ENV;
	}
	struct workdays *w = workdays_new();
	int rc = w ? CLI_OK : CLI_ENV;
	struct dirent *e;
	while (rc == CLI_OK && (e = readdir(d)) != NULL) {
		int year;
		if (!year_file(e->d_name, &year))
			continue;
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		struct workdays_year *y;
		rc = load_file(cmd, path, &y);
		if (rc)
			break;
		/* The name says the year: a file named for one year and holding
		 * another would put its days where nobody looks for them. */
		if (y->year != year) {
			cli_error(cmd, "%s: holds the year %d, named for %d", path,
				  y->year, year);
			free(y);
			rc = CLI_USAGE;
			break;
		}
		if (workdays_add_year(w, y)) {
			cli_error(cmd, "%s: too many years", path);
			rc = CLI_USAGE;
		}
	}
	closedir(d);
	if (rc == CLI_OK && w && w->n == 0) {
		cli_error(cmd, "%s holds no kz-YYYY.conf", dir);
		rc = CLI_USAGE;
	}
	if (rc) {
		workdays_free(w);
		return rc;
	}
	*out = w;
	return CLI_OK;
}

static void date_text(int32_t day, char out[11])
{
	int y, m, d;
	textconf_civil_from_days(day, &y, &m, &d);
	snprintf(out, 11, "%04d-%02d-%02d", y, m, d);
}

static const char *const kind_names[] = { "holiday", "religious", "moved", "transfer" };

static void show_year(const struct workdays_year *y)
{
	int off = 0;
	for (int32_t d = y->first; d <= y->last; d++)
		off += y->off[d - y->first];
	printf("%d: %d days off, %d working days%s\n  source: %s\n  decree: %s\n",
	       y->year, off, (int)(y->last - y->first + 1) - off,
	       y->verified ? "" : " (the decree is not verified)", y->source, y->decree);
	for (size_t i = 0; i < y->n; i++) {
		const struct workdays_entry *e = &y->entries[i];
		char a[11], b[11];
		date_text(e->day, a);
		date_text(e->to, b);
		if (e->kind == WORKDAYS_MOVED || e->kind == WORKDAYS_TRANSFER)
			printf("  %-9s %s -> %s (line %u)\n", kind_names[e->kind], a, b,
			       e->line);
		else
			printf("  %-9s %s %s (line %u)\n", kind_names[e->kind], a,
			       e->name, e->line);
	}
}

int cmd_calendar(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "year", required_argument, NULL, 'y' },
		{ "from", required_argument, NULL, 'f' },
		{ "days", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_args a = { .cmd = "calendar", .usage = calendar_usage };
	int sub = cli_subcommand(&a, argc, argv,
				 (const char *const[]){ "check", "show", NULL });
	if (sub < 0)
		return a.rc;
	const char *year_arg = NULL, *from_arg = NULL, *days_arg = NULL;
	int opt;
	while ((opt = cli_next_option(&a, longopts)) > 0) {
		if (opt == 'y')
			year_arg = optarg;
		else if (opt == 'f')
			from_arg = optarg;
		else if (opt == 'n')
			days_arg = optarg;
	}
	if (opt < 0)
		return a.rc;
	if (sub == 0) {
		if (year_arg || from_arg || days_arg)
			return cli_usage_error(&a,
					       "--year, --from and --days go with show");
		if (a.first >= a.argc)
			return cli_usage_error(&a, "which files? give FILE...");
		for (int i = a.first; i < a.argc; i++) {
			struct workdays_year *y;
			int rc = load_file("calendar", a.argv[i], &y);
			if (rc)
				return rc;
			printf("%s: %d, good%s\n", a.argv[i], y->year,
			       y->verified ? "" : " (the decree is not verified)");
			free(y);
		}
		return CLI_OK;
	}
	int64_t year = 0, days = 0;
	int32_t from = 0;
	if (year_arg && !textconf_number(year_arg, strlen(year_arg), 1900, 9999, &year))
		return cli_usage_error(&a, "--year is YYYY");
	if (!from_arg != !days_arg)
		return cli_usage_error(&a, "--from and --days go together");
	if (from_arg && !textconf_date(from_arg, strlen(from_arg), &from))
		return cli_usage_error(&a, "--from is YYYY-MM-DD");
	if (days_arg &&
	    !textconf_number(days_arg, strlen(days_arg), 1, WORKDAYS_STEPS_MAX, &days))
		return cli_usage_error(&a, "--days is 1 to 366");
	if (a.first + 1 < a.argc)
		return cli_usage_error(&a, "one calendar DIR at a time");
	const char *dir = a.first < a.argc ? a.argv[a.first] : getenv("SENIM_CALENDAR");
	if (!dir || !*dir)
		dir = CLI_CALENDAR_DIR;
	struct workdays *w;
	int rc = cli_calendar_load("calendar", dir, &w);
	if (rc)
		return rc;
	if (from_arg) {
		int32_t due;
		int missing = 0;
		enum senim_result err = workdays_add(w, from, (int)days, &due, &missing);
		if (err == SENIM_ERR_NOT_FOUND) {
			fprintf(stderr, "senim calendar: the calendar has no year %d\n",
				missing);
			rc = 1;
		} else if (err) {
			cli_error("calendar", "%s", senim_result_name(err));
			rc = CLI_ENV;
		} else {
			char t[11];
			date_text(due, t);
			printf("%s + %lld working days = %s\n", from_arg, (long long)days,
			       t);
		}
		workdays_free(w);
		return rc;
	}
	int shown = 0;
	for (int yy = 1900; yy <= 9999 && shown < (int)w->n; yy++)
		for (size_t i = 0; i < w->n; i++)
			if (w->years[i]->year == yy && (!year || year == yy)) {
				show_year(w->years[i]);
				shown++;
			}
	if (year && !shown) {
		fprintf(stderr, "senim calendar: the calendar has no year %lld\n",
			(long long)year);
		rc = 1;
	}
	workdays_free(w);
	return rc;
}
