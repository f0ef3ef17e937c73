/*
 * cmd_policy.c — `senim policy publish|list|show`: privacy-policy versions
 * from the command line (P2, P3).  Publishing here is the same operation as
 * POST /v1/policies, audited with actor "cli".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/buf.h"
#include "common/clock.h"
#include "policy/policy.h"
#include "common/banned.h"

static const char policy_usage[] =
	"usage: senim policy publish --version V --ru FILE --kk FILE [OPTIONS]\n"
	"       senim policy list [OPTIONS]\n"
	"       senim policy show VERSION|current [--lang ru|kk] [OPTIONS]\n\n"
	"publish  publish a version of the privacy policy from its Russian and\n"
	"         Kazakh texts (UTF-8 files); it is in force from this instant.\n"
	"         Publishing the same version with the same texts again changes\n"
	"         nothing; with other texts it is refused.\n"
	"list     every version, newest first, with publication time and SHA-256\n"
	"show     print one version's text in one language (default ru)\n\n"
	"options:\n" CLI_COMMON_HELP "  --help           this text\n\n"
	"exit codes: 0 success, 1 refused (version exists with other texts, not\n"
	"            found, invalid text), 2 usage error, 3 store, key or file error\n";

/* Read a whole file up to the text cap into b. */
static int read_file(const char *path, struct buf *b)
{
	int rc = cli_read_input("policy", path, b);
	if (rc == CLI_FAILED)
		cli_error("policy", "%s is larger than %d bytes", path, POLICY_TEXT_MAX);
	return rc;
}

/* A refused or failed publication as an exit code, with its message. */
static int report_publish(enum senim_result err, const char *version)
{
	if (err == SENIM_ERR_INVALID) {
		cli_error("policy",
			  "refused: the version must be 1-32 characters of "
			  "[0-9A-Za-z._-], and each text non-empty UTF-8 of at most %d "
			  "bytes",
			  POLICY_TEXT_MAX);
		return CLI_FAILED;
	}
	if (err == SENIM_ERR_CONFLICT) {
		cli_error("policy",
			  "refused: version %s is already published with other texts",
			  version);
		return CLI_FAILED;
	}
	cli_error("policy", "cannot publish: %s", senim_result_name(err));
	return CLI_ENV;
}

/* `policy publish`: the same operation as POST /v1/policies. */
static int do_publish(struct store *st, struct keyring *kr, struct cli_common *common,
		      const char *version, const char *ru_path, const char *kk_path)
{
	struct buf ru, kk;
	buf_init(&ru, POLICY_TEXT_MAX);
	buf_init(&kk, POLICY_TEXT_MAX);
	enum senim_result err = SENIM_OK;
	int rc = read_file(ru_path, &ru);
	if (rc)
		goto fail;
	rc = read_file(kk_path, &kk);
	if (rc)
		goto fail;
	struct policy_publish op = { .kr = kr,
				     .actor = "cli",
				     .request_id = common->run_id,
				     .version = version,
				     .ru = ru.data,
				     .ru_len = ru.len,
				     .kk = kk.data,
				     .kk_len = kk.len };
	err = policy_publish_prepare(&op);
	if (err)
		goto fail;
	err = store_write(st, policy_publish_tx, &op);
	if (err)
		goto fail;
	char when[CLOCK_RFC3339_LEN];
	clock_format_rfc3339(op.doc.published_at, when);
	printf("%s version %s, in force since %s\n  sha256 ru %s\n  sha256 kk %s\n",
	       op.created ? "published" : "already published (same texts)",
	       op.doc.version, when, op.doc.sha256_ru, op.doc.sha256_kk);
fail:
	if (err)
		rc = report_publish(err, version);
	buf_release(&ru);
	buf_release(&kk);
	return rc;
}

static enum senim_result print_row(const struct policy_doc *d, void *ctx)
{
	int *count = ctx;
	char when[CLOCK_RFC3339_LEN];
	clock_format_rfc3339(d->published_at, when);
	printf("%-20s %s  ru %.16s…  kk %.16s…%s\n", d->version, when, d->sha256_ru,
	       d->sha256_kk, *count == 0 ? "  (current)" : "");
	(*count)++;
	return SENIM_OK;
}

static int do_show(struct store *st, const char *version, const char *lang)
{
	struct policy_doc d;
	enum senim_result err =
		policy_get(st, strcmp(version, "current") == 0 ? NULL : version, &d);
	if (err == SENIM_ERR_NOT_FOUND) {
		cli_error("policy", "no such version");
		return CLI_FAILED;
	}
	if (err) {
		cli_error("policy", "cannot read: %s", senim_result_name(err));
		return CLI_ENV;
	}
	int kk = strcmp(lang, "kk") == 0;
	fwrite(kk ? d.text_kk : d.text_ru, 1, kk ? d.len_kk : d.len_ru, stdout);
	policy_doc_release(&d);
	return CLI_OK;
}

int cmd_policy(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "version", required_argument, NULL, 'V' },
		{ "ru", required_argument, NULL, 'r' },
		{ "kk", required_argument, NULL, 'k' },
		{ "lang", required_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		CLI_COMMON_LONG_OPTIONS,
		{ 0, 0, 0, 0 },
	};
	struct cli_args a = { .cmd = "policy", .usage = policy_usage };
	int sub = cli_subcommand(
		&a, argc, argv, (const char *const[]){ "publish", "list", "show", NULL });
	if (sub < 0)
		return a.rc;
	const char *version = NULL, *ru = NULL, *kk = NULL, *lang = "ru";
	int opt;
	while ((opt = cli_next_option(&a, longopts)) > 0) {
		switch (opt) {
		case 'V':
			version = optarg;
			break;
		case 'r':
			ru = optarg;
			break;
		case 'k':
			kk = optarg;
			break;
		case 'L':
			lang = optarg;
			break;
		}
	}
	if (opt < 0)
		return a.rc;
	int operands = a.argc - a.first;
	int is_publish = sub == 0, is_show = sub == 2;
	if (is_publish && (!version || !ru || !kk || operands))
		return cli_usage_error(
			&a, "publish needs --version, --ru and --kk, and nothing else");
	if (is_show && (operands != 1 || (strcmp(lang, "ru") && strcmp(lang, "kk"))))
		return cli_usage_error(
			&a, "show needs one VERSION (or 'current') and --lang ru|kk");
	if (!is_publish && !is_show && operands)
		return cli_usage_error(&a, "list takes no arguments");
	struct store *st;
	struct keyring *kr;
	int rc = cli_open(&a.common, 1, &st, &kr);
	if (rc)
		return rc;
	if (is_publish) {
		rc = do_publish(st, kr, &a.common, version, ru, kk);
	} else if (is_show) {
		rc = do_show(st, a.argv[a.first], lang);
	} else {
		int count = 0;
		if (policy_list(st, print_row, &count)) {
			cli_error("policy", "cannot list versions");
			rc = CLI_ENV;
		} else if (count == 0) {
			puts("no policy published yet");
		}
	}
	store_free(st);
	keyring_free(kr);
	return rc;
}
