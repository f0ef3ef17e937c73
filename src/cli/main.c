/*
 * main.c — `senim COMMAND [OPTIONS]`: dispatch to the subcommands.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "connectors/sms.h"
#include "vault/vault.h"
#include "common/banned.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "serve", cmd_serve, "serve the HTTP API" },
	{ "migrate", cmd_migrate, "apply pending schema migrations" },
	{ "staff", cmd_staff, "manage staff and service accounts" },
	{ "policy", cmd_policy, "publish and list privacy-policy versions" },
	{ "audit", cmd_audit, "verify the audit chain" },
	{ "keys", cmd_keys, "show and rotate the key-encryption keys" },
	{ "obligations", cmd_obligations, "import and settle borrowers' obligations" },
	{ "receipt", cmd_receipt, "verify a signed consent receipt" },
	{ "package", cmd_package, "verify a signed access package (JSON or HTML)" },
	{ "recipients", cmd_recipients, "check and show the recipients file" },
	{ "rules", cmd_rules, "check and show the regulatory rules for microcredits" },
	{ "scorecard", cmd_scorecard, "check the scorecard and evaluate an application" },
	{ "contract", cmd_contract, "check the contract template, render a sample" },
	{ "bureau", cmd_bureau, "import loan events and report them to credit bureaus" },
	{ "loans", cmd_loans, "import loans migrated from another system" },
	{ "eod", cmd_eod, "close the loans' day: accrual, delays, penalties, notices" },
	{ "calendar", cmd_calendar, "check and show the working-day calendar" },
	{ "retention", cmd_retention,
	  "retention periods, legal holds, anonymise and destroy" },
	{ "backup", cmd_backup, "an online, encrypted backup of the store" },
	{ "restore", cmd_restore, "restore a backup; shredded subjects stay shredded" },
	{ "version", cmd_version, "print the version" },
#ifdef SENIM_BENCH
	{ "bench", cmd_bench, "seed made-up data for benchmarks (bench builds only)" },
#endif
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: senim COMMAND [OPTIONS]\n\n"
		"senim is the backend of a digital microlender: borrowers' personal\n"
		"data kept under the lender's privacy policy.\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(out,
		"\n'senim COMMAND --help' explains a command.\n\n"
		"exit codes: 0 success, 1 a check failed or the operation was refused,\n"
		"            2 usage error, 3 environment error (store, key file, "
		"I/O)\n");
}

int main(int argc, char **argv)
{
	/* Before any JSON exists: every block jansson frees is wiped, since
	 * some of them held decrypted personal data. */
	vault_install_wiping_allocator();
	if (argc > 0 && argv[0] && *argv[0])
		cli_program = argv[0];
	sms_global_init(); /* libcurl, before any thread */
	if (argc < 2) {
		usage(stderr);
		return CLI_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return CLI_OK;
	}
	if (strcmp(argv[1], "--version") == 0)
		return cmd_version(argc - 1, argv + 1);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "senim: '%s' is not a command\n\n", argv[1]);
	usage(stderr);
	return CLI_USAGE;
}
