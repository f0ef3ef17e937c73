/*
 * cmd_contract.c — `senim contract check [FILE]` and `senim contract sample
 * [--out DIR] [FILE]`: the microcredit contract's template
 * (contract/contract.h) as staff check and preview a change to it, rendered
 * with fictitious data to HTML and PDF.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "contract/contract.h"
#include "core/gesv.h"
#include "core/schedule.h"
#include "common/banned.h"

static const char contract_usage[] =
	"usage: senim contract check [FILE]\n"
	"       senim contract sample [--out DIR] [--font TTF] [--font-bold TTF] "
	"[FILE]\n\n"
	"The contract template is the bilingual (ru and kk) microcredit contract;\n"
	"docs/contract.md lists its placeholders.  FILE defaults to\n"
	"$SENIM_CONTRACT_TEMPLATE, else " CONTRACT_TEMPLATE_DEFAULT ".\n\n"
	"  check   check the template: its tags, placeholders, the required ones\n"
	"          and the clause on false information in both languages.\n"
	"  sample  render it with fictitious data to DIR/contract-sample.html and\n"
	"          DIR/contract-sample.pdf and print each file's SHA-256.\n\n"
	"options:\n"
	"  --out DIR        sample: where to write (default .)\n"
	"  --font TTF       sample: the regular font (default\n"
	"                   $SENIM_CONTRACT_FONT, else " CONTRACT_FONT_DEFAULT ")\n"
	"  --font-bold TTF  sample: the bold font (default\n"
	"                   $SENIM_CONTRACT_FONT_BOLD, else\n"
	"                   " CONTRACT_FONT_BOLD_DEFAULT ")\n"
	"  -h, --help       this text\n\n"
	"exit codes: 0 good, 2 the template breaks a rule or a usage error,\n"
	"            3 a file cannot be read or written, or a font cannot be used\n";

static const char *env_or(const char *name, const char *dflt)
{
	const char *v = getenv(name);
	return v && *v ? v : dflt;
}

/* Fictitious terms: 150,000 tenge for 12 months by annuity at 30 %, a fee
 * of 1,500 tenge, the ГЭСВ solved from the flows. */
static enum senim_result sample_terms(struct contract_terms *t)
{
	enum senim_result err = SENIM_OK;
	struct {
		char *field;
		const char *value;
	} text[] = {
		{ t->number, "МК-2026-000001" },
		{ t->lender_name, "ТОО «МФО Сенім Қаржы» (пример)" },
		{ t->lender_details,
		  "БИН 000000000000, лицензия № 00.00.000 (пример), г. Алматы, ул. "
		  "Примерная, 1, IBAN KZ00 0000 0000 0000 0000" },
		{ t->borrower_name, "Әлия Ғалымқызы Нұрланова" },
		{ t->borrower_iin, "900101400000" },
		{ t->borrower_address,
		  "Алматы шаһары, Әуезов ауданы, Құрманғазы көшесі, 1-үй, 2-пәтер" },
		{ t->payout_masked, "KZ** **** **** **** 1234" },
	};
	for (size_t i = 0; i < sizeof(text) / sizeof(text[0]) && !err; i++)
		err = contract_set_text(text[i].field, text[i].value);
	if (err)
		return err;
	t->date = schedule_day(2026, 1, 15);
	t->amount = INT64_C(15000000);
	t->rate_bp = 3000;
	t->fee = 150000;
	t->penalty_daily_bp = 50;
	t->penalty_annual_bp = 1000;
	t->cooloff_minutes = 24 * 60;
	t->restructuring_days = 30;
	t->method = SCHEDULE_ANNUITY;
	t->term = 12;
	struct schedule_terms st = { .principal = t->amount,
				     .rate_bp = t->rate_bp,
				     .method = t->method,
				     .payments = t->term,
				     .start = t->date };
	err = schedule_build(&st, t->rows, SCHEDULE_MAX_PAYMENTS, &t->n_rows);
	if (err)
		return err;
	/* The fee is paid at payout: the borrower receives amount − fee. */
	struct gesv_flow flows[SCHEDULE_MAX_PAYMENTS + 1];
	flows[0] = (struct gesv_flow){ .day = t->date, .amount = -(t->amount - t->fee) };
	for (size_t i = 0; i < t->n_rows; i++)
		flows[i + 1] = (struct gesv_flow){ .day = t->rows[i].due,
						   .amount = t->rows[i].total };
	struct gesv_result g;
	err = gesv_solve(flows, t->n_rows + 1, &g);
	if (!err)
		t->gesv_bp = g.bp;
	return err;
}

static int write_file(const char *dir, const char *name, const struct buf *b)
{
	char path[4096];
	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path)) {
		cli_error("contract", "%s: path too long", dir);
		return CLI_USAGE;
	}
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(b->data, 1, b->len, f) != b->len || fclose(f) != 0) {
		cli_error("contract", "cannot write %s: %s", path, strerror(errno));
		if (f)
			fclose(f);
		return CLI_ENV;
	}
	return CLI_OK;
}

static void print_hash(const char *name, const unsigned char h[CONTRACT_HASH_BYTES])
{
	printf("%s sha256 ", name);
	for (int i = 0; i < CONTRACT_HASH_BYTES; i++)
		printf("%02x", h[i]);
	printf("\n");
}

static int sample(const struct contract_template *tpl, const char *dir, const char *font,
		  const char *bold)
{
	struct contract_terms *t = contract_terms_new();
	struct buf html, pdf;
	buf_init(&html, CONTRACT_DOC_MAX);
	buf_init(&pdf, CONTRACT_DOC_MAX);
	unsigned char hh[CONTRACT_HASH_BYTES], ph[CONTRACT_HASH_BYTES];
	int rc = CLI_ENV;
	enum senim_result err = t ? sample_terms(t) : SENIM_ERR_NOMEM;
	if (err) {
		cli_error("contract", "the sample terms: %s", senim_result_name(err));
		goto done;
	}
	err = contract_render_html(tpl, t, &html, hh);
	if (!err)
		err = contract_render_pdf(tpl, t, font, bold, &pdf, ph);
	if (err) {
		cli_error("contract", "rendering failed: %s%s", senim_result_name(err),
			  err == SENIM_ERR_CONFIG ? " (a font cannot be loaded)" : "");
		goto done;
	}
	rc = write_file(dir, "contract-sample.html", &html);
	if (!rc)
		rc = write_file(dir, "contract-sample.pdf", &pdf);
	if (!rc) {
		print_hash("contract-sample.html", hh);
		print_hash("contract-sample.pdf", ph);
	}
done:
	buf_release_wiped(&html);
	buf_release_wiped(&pdf);
	contract_terms_free(t);
	return rc;
}

int cmd_contract(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "font", required_argument, NULL, 'f' },
		{ "font-bold", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_args a = { .cmd = "contract", .usage = contract_usage };
	int sub = cli_subcommand(&a, argc, argv,
				 (const char *const[]){ "check", "sample", NULL });
	if (sub < 0)
		return a.rc;
	const char *out = NULL;
	const char *font = env_or("SENIM_CONTRACT_FONT", CONTRACT_FONT_DEFAULT);
	const char *bold = env_or("SENIM_CONTRACT_FONT_BOLD", CONTRACT_FONT_BOLD_DEFAULT);
	int opt, font_given = 0;
	while ((opt = cli_next_option(&a, longopts)) > 0) {
		if (opt == 'o')
			out = optarg;
		else if (opt == 'f')
			font = optarg, font_given = 1;
		else if (opt == 'b')
			bold = optarg, font_given = 1;
	}
	if (opt < 0)
		return a.rc;
	if (sub == 0 && (out || font_given))
		return cli_usage_error(&a,
				       "--out, --font and --font-bold go with sample");
	if (a.first + 1 < a.argc)
		return cli_usage_error(&a, "one template FILE at a time");
	const char *path = a.first < a.argc ? a.argv[a.first]
					    : env_or("SENIM_CONTRACT_TEMPLATE",
						     CONTRACT_TEMPLATE_DEFAULT);
	struct contract_template *tpl = NULL;
	char why[512];
	enum senim_result err = contract_template_load(path, &tpl, why, sizeof(why));
	if (err) {
		cli_error("contract", "%s", why[0] ? why : senim_result_name(err));
		return err == SENIM_ERR_INVALID || err == SENIM_ERR_TOO_LARGE ? CLI_USAGE
									      : CLI_ENV;
	}
	int rc = CLI_OK;
	if (sub == 0)
		printf("%s: good\n", path);
	else
		rc = sample(tpl, out ? out : ".", font, bold);
	contract_template_free(tpl);
	return rc;
}
