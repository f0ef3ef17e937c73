/*
 * cmd_scorecard.c — `senim scorecard check [FILE]` and `senim scorecard
 * show [FILE] [--inputs k=v,...] [--lang L]`: the lender's scorecard
 * (core/scorecard.h) as an operator checks it, and one application
 * evaluated by it as an underwriter reads it.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/clock.h"
#include "common/textconf.h"
#include "core/scorecard.h"
#include "common/banned.h"

#define DEFAULT_SCORECARD_FILE "data/scorecard.conf"

static const char scorecard_usage[] =
	"usage: senim scorecard check [FILE]\n"
	"       senim scorecard show [FILE] [--inputs K=V,...] [--lang ru|kk|en]\n\n"
	"The scorecard is the lender's credit policy as data: points for each\n"
	"attribute of an application, hard rules that decline whatever the\n"
	"points, the cut-offs to approve, refer or decline, and the amount and\n"
	"term granted for a total.  docs/scoring.md describes it; FILE defaults\n"
	"to $SENIM_SCORECARD, else " DEFAULT_SCORECARD_FILE ".\n\n"
	"  check   check every rule of the file; a fault is one line naming\n"
	"          FILE:LINE, the section and the key.\n"
	"  show    print the card; with --inputs, evaluate one application and\n"
	"          print each attribute's value and points, the decision, the\n"
	"          limit and the reasons with the borrower's text.\n\n"
	"options:\n"
	"  --inputs K=V,...  show: the application.  Keys:\n"
	"                    date, birth_date         YYYY-MM-DD (date: today)\n"
	"                    bureau_overdue_days, active_loans, debt_payments_tiyn,\n"
	"                    enquiries_30d            from the bureau; absent all\n"
	"                                             four (or bureau=missing): no\n"
	"                                             bureau answer; absent some: 0\n"
	"                    income_tiyn              declared monthly income\n"
	"                    operator_score           0..1000\n"
	"                    lender_loans_repaid      (default 0)\n"
	"                    lender_overdue_days      absent: no earlier loan\n"
	"                    A value `missing` marks an input absent; an input\n"
	"                    not given is absent too (a missing bureau answer is\n"
	"                    not a zero).\n"
	"  --lang ru|kk|en   show: the language of the reasons (default ru)\n"
	"  -h, --help        this text\n\n"
	"exit codes: 0 the file is good, 2 the file breaks a rule, or a usage\n"
	"            error (bad inputs included), 3 the file cannot be read\n";

/* Read the file and parse it: CLI_OK with *out set, or the exit code after
 * one line on stderr. */
int cli_scorecard_load(const char *path, struct scorecard **out)
{
	*out = NULL;
	char *text;
	size_t len;
	int rc = cli_read_config("scorecard", "scorecard", path, SCORECARD_FILE_MAX,
				 &text, &len);
	if (rc)
		return rc;
	char why[1024];
	enum senim_result err = scorecard_parse(path, text, len, out, why, sizeof(why));
	free(text);
	return cli_parse_result("scorecard", err, why);
}

static const char *hi_text(int64_t hi, char *buf, size_t n)
{
	if (hi == SCORE_VALUE_OPEN)
		return "max";
	snprintf(buf, n, "%lld", (long long)hi);
	return buf;
}

static void print_card(const struct scorecard *c)
{
	printf("card %s version %lld from %s\nsha256 %s\n\n", c->id,
	       (long long)c->version, c->from_text, c->digest);
	printf("approve from %lld points, refer from %lld, decline below\n",
	       (long long)c->approve, (long long)c->refer);
	printf("hard rules: age %lld..%lld, bureau overdue at most %lld days, "
	       "debt burden at most %lld bp\n",
	       (long long)c->min_age, (long long)c->max_age,
	       (long long)c->max_bureau_overdue_days, (long long)c->max_debt_burden_bp);
	for (int a = 0; a < SCORE_ATTR__COUNT; a++) {
		const struct score_attribute_rule *r = &c->attr[a];
		printf("\n[attribute %s] (line %u)\n", scorecard_attr_name(a), r->line);
		for (size_t b = 0; b < r->nbands; b++) {
			char hb[24];
			const char *why = scorecard_reason_code(r->bands[b].reason);
			printf("  %lld..%s: %d%s%s\n", (long long)r->bands[b].lo,
			       hi_text(r->bands[b].hi, hb, sizeof(hb)),
			       r->bands[b].points, why ? " " : "", why ? why : "");
		}
		if (r->has_missing) {
			const char *why = scorecard_reason_code(r->missing_reason);
			if (r->missing == SCORE_MISSING_POINTS)
				printf("  missing: %d", r->missing_points);
			else
				printf("  missing: %s", r->missing == SCORE_MISSING_REFER
								? "refer"
								: "decline");
			printf("%s%s\n", why ? " " : "", why ? why : "");
		}
	}
	printf("\n[limits]\n");
	for (size_t i = 0; i < c->nlimits; i++)
		printf("  from %lld points: %lld tiyn, %lld days\n",
		       (long long)c->limits[i].points,
		       (long long)c->limits[i].amount_tiyn,
		       (long long)c->limits[i].term_days);
}

/* The keys of --inputs, and where each goes. */
enum in_key {
	IN_DATE,
	IN_BIRTH,
	IN_OVERDUE,
	IN_ACTIVE,
	IN_PAYMENTS,
	IN_ENQUIRIES,
	IN_BUREAU,
	IN_INCOME,
	IN_OPERATOR,
	IN_REPAID,
	IN_LENDER_OVERDUE,
	IN__COUNT
};

static const char *const in_keys[IN__COUNT] = {
	[IN_DATE] = "date",
	[IN_BIRTH] = "birth_date",
	[IN_OVERDUE] = "bureau_overdue_days",
	[IN_ACTIVE] = "active_loans",
	[IN_PAYMENTS] = "debt_payments_tiyn",
	[IN_ENQUIRIES] = "enquiries_30d",
	[IN_BUREAU] = "bureau",
	[IN_INCOME] = "income_tiyn",
	[IN_OPERATOR] = "operator_score",
	[IN_REPAID] = "lender_loans_repaid",
	[IN_LENDER_OVERDUE] = "lender_overdue_days",
};

/*
 * Parse "k=v,k=v" into *in: 0, or -1 after printing a usage error.  Inputs
 * not given are missing, except lender_loans_repaid (0) and the date
 * (today).
 */
static int parse_inputs(const struct cli_args *a, const char *spec,
			struct score_inputs *in)
{
	memset(in, 0, sizeof(*in));
	int given[IN__COUNT] = { 0 }, is_missing[IN__COUNT] = { 0 };
	int64_t *num[IN__COUNT] = {
		[IN_OVERDUE] = &in->bureau_overdue_days,
		[IN_ACTIVE] = &in->active_loans,
		[IN_PAYMENTS] = &in->debt_payments_tiyn,
		[IN_ENQUIRIES] = &in->enquiries_30d,
		[IN_INCOME] = &in->income_tiyn,
		[IN_OPERATOR] = &in->operator_score,
		[IN_REPAID] = &in->lender_loans_repaid,
		[IN_LENDER_OVERDUE] = &in->lender_overdue_days,
	};
	char msg[160];
	const char *p = spec;
	while (*p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *eq = memchr(p, '=', len);
		if (!eq)
			return cli_usage_error(a,
					       "--inputs: K=V pairs separated by commas"),
			       -1;
		size_t klen = (size_t)(eq - p);
		const char *v = eq + 1;
		size_t vlen = len - klen - 1;
		int k = -1;
		for (int i = 0; i < IN__COUNT; i++)
			if (strlen(in_keys[i]) == klen &&
			    memcmp(in_keys[i], p, klen) == 0)
				k = i;
		if (k < 0) {
			snprintf(msg, sizeof(msg), "--inputs: unknown key '%.*s'",
				 textconf_plain_name(p, klen) ? (int)klen : 0, p);
			return cli_usage_error(a, msg), -1;
		}
		if (given[k]) {
			snprintf(msg, sizeof(msg), "--inputs: %s given twice",
				 in_keys[k]);
			return cli_usage_error(a, msg), -1;
		}
		given[k] = 1;
		if (vlen == 7 && memcmp(v, "missing", 7) == 0 && k != IN_DATE &&
		    k != IN_BIRTH && k != IN_REPAID) {
			is_missing[k] = 1;
		} else if (k == IN_DATE || k == IN_BIRTH) {
			int32_t d;
			if (!textconf_date(v, vlen, &d)) {
				snprintf(msg, sizeof(msg),
					 "--inputs: %s: not a date YYYY-MM-DD",
					 in_keys[k]);
				return cli_usage_error(a, msg), -1;
			}
			memcpy(k == IN_DATE ? in->decision_date : in->birth_date, v, 10);
		} else if (k == IN_BUREAU ||
			   !textconf_number(v, vlen, 0, SCORE_MONEY_MAX, num[k])) {
			snprintf(msg, sizeof(msg), "--inputs: %s: %s", in_keys[k],
				 k == IN_BUREAU ? "only bureau=missing"
						: "a whole number, or missing");
			return cli_usage_error(a, msg), -1;
		}
		p += len;
		if (*p == ',')
			p++;
	}
	if (!given[IN_BIRTH])
		return cli_usage_error(a, "--inputs: birth_date is required"), -1;
	if (!given[IN_DATE]) {
		char today[CLOCK_RFC3339_LEN];
		clock_format_rfc3339(clock_now_us(), today);
		memcpy(in->decision_date, today, 10);
	}
	int bureau_values = 0, bureau_missing = is_missing[IN_BUREAU];
	for (int k = IN_OVERDUE; k <= IN_ENQUIRIES; k++) {
		bureau_values |= given[k] && !is_missing[k];
		bureau_missing |= is_missing[k];
	}
	if (bureau_values && bureau_missing)
		return cli_usage_error(a,
				       "--inputs: bureau values beside a missing bureau"),
		       -1;
	if (!bureau_values)
		in->missing |= SCORE_IN_BUREAU;
	if (!given[IN_INCOME] || is_missing[IN_INCOME])
		in->missing |= SCORE_IN_INCOME;
	if (!given[IN_OPERATOR] || is_missing[IN_OPERATOR])
		in->missing |= SCORE_IN_OPERATOR_SCORE;
	if (!given[IN_LENDER_OVERDUE] || is_missing[IN_LENDER_OVERDUE])
		in->missing |= SCORE_IN_LENDER_HISTORY;
	return 0;
}

static void print_result(const struct scorecard *c, const struct score_result *r,
			 const char *lang)
{
	printf("card %s version %lld sha256 %s\n", r->card_id, (long long)r->card_version,
	       r->card_digest);
	printf("decision on %s: %s%s\n\n", r->decision_date,
	       scorecard_decision_name(r->decision),
	       r->hard_decline ? " (hard rule)" : "");
	printf("%-22s %12s %7s  %s\n", "attribute", "value", "points", "reason");
	for (int a = 0; a < SCORE_ATTR__COUNT; a++) {
		const struct score_attribute_result *v = &r->attr[a];
		char value[24];
		if (v->missing)
			snprintf(value, sizeof(value), "missing");
		else
			snprintf(value, sizeof(value), "%lld", (long long)v->value);
		const char *why = scorecard_reason_code(v->reason);
		printf("%-22s %12s %7d  %s\n", scorecard_attr_name(a), value, v->points,
		       why ? why : "");
	}
	printf("%-22s %12s %7d  (approve from %lld, refer from %lld)\n", "total", "",
	       r->total, (long long)c->approve, (long long)c->refer);
	if (r->decision != SCORE_DECLINE)
		printf("\nlimit: %lld tiyn, %lld days\n", (long long)r->amount_limit_tiyn,
		       (long long)r->term_limit_days);
	if (r->nreasons)
		printf("\nreasons:\n");
	for (size_t i = 0; i < r->nreasons; i++)
		printf("  %s: %s\n", scorecard_reason_code(r->reasons[i]),
		       scorecard_reason_text(r->reasons[i], lang));
}

int cmd_scorecard(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "inputs", required_argument, NULL, 'i' },
		{ "lang", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_args a = { .cmd = "scorecard", .usage = scorecard_usage };
	int sub = cli_subcommand(&a, argc, argv,
				 (const char *const[]){ "check", "show", NULL });
	if (sub < 0)
		return a.rc;
	const char *inputs = NULL, *lang = "ru";
	int opt;
	while ((opt = cli_next_option(&a, longopts)) > 0) {
		if (opt == 'i')
			inputs = optarg;
		else if (opt == 'l')
			lang = optarg;
	}
	if (opt < 0)
		return a.rc;
	if (sub == 0 && (inputs || strcmp(lang, "ru") != 0))
		return cli_usage_error(&a, "--inputs and --lang go with show");
	if (strcmp(lang, "ru") != 0 && strcmp(lang, "kk") != 0 && strcmp(lang, "en") != 0)
		return cli_usage_error(&a, "--lang: ru, kk or en");
	if (a.first + 1 < a.argc)
		return cli_usage_error(&a, "one scorecard FILE at a time");
	const char *path = a.first < a.argc ? a.argv[a.first] : NULL;
	if (!path) {
		path = getenv("SENIM_SCORECARD");
		if (!path || !*path)
			path = DEFAULT_SCORECARD_FILE;
	}
	struct score_inputs in;
	if (inputs && parse_inputs(&a, inputs, &in) < 0)
		return CLI_USAGE;
	struct scorecard *c = NULL;
	int rc = cli_scorecard_load(path, &c);
	if (rc)
		return rc;
	if (sub == 0) {
		printf("%s: card %s version %lld from %s, good\n", path, c->id,
		       (long long)c->version, c->from_text);
	} else if (!inputs) {
		print_card(c);
	} else {
		struct score_result r;
		char why[256];
		if (scorecard_evaluate(c, &in, &r, why, sizeof(why)) != SENIM_OK) {
			scorecard_free(c);
			cli_error("scorecard", "--inputs: %s", why);
			return CLI_USAGE;
		}
		print_result(c, &r, lang);
	}
	scorecard_free(c);
	return CLI_OK;
}
