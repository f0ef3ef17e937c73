/*
 * cmd_migrate.c — `senim migrate` and `senim version`.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "common/banned.h"

static const char migrate_usage[] =
	"usage: senim migrate [OPTIONS]\n\n"
	"Apply the schema migrations the store does not have yet, each in its own\n"
	"transaction, and create the key file if it is missing.  Safe to run while\n"
	"senim serves; `serve` also migrates at start.\n\n"
	"options:\n" CLI_COMMON_HELP "  --help           this text\n\n"
	"exit codes: 0 schema current, 2 usage error, 3 store or key file error\n";

int cmd_migrate(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		CLI_COMMON_LONG_OPTIONS,
		{ 0, 0, 0, 0 },
	};
	struct cli_common common;
	cli_common_init(&common);
	int opt;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (cli_common_option(&common, opt, optarg))
			continue;
		if (opt == 'h') {
			fputs(migrate_usage, stdout);
			return CLI_OK;
		}
		fputs(migrate_usage, stderr);
		return CLI_USAGE;
	}
	if (optind < argc) {
		cli_error("migrate", "unexpected argument '%s'", argv[optind]);
		return CLI_USAGE;
	}
	cli_common_finish(&common);
	struct store *st;
	struct keyring *kr;
	/* cli_open migrates; report what the schema is now. */
	int rc = cli_open(&common, 1, &st, &kr);
	if (rc)
		return rc;
	int current = 0, latest = 0;
	if (store_schema_version(st, &current, &latest)) {
		cli_error("migrate", "cannot read the schema version");
		rc = CLI_ENV;
	} else {
		printf("schema at version %d of %d\n", current, latest);
	}
	store_free(st);
	keyring_free(kr);
	return rc;
}

int cmd_version(int argc, char **argv)
{
	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		puts("usage: senim version\n\nPrint senim's version.");
		return CLI_OK;
	}
	if (argc > 1) {
		cli_error("version", "takes no arguments");
		return CLI_USAGE;
	}
	printf("senim %s\n", SENIM_VERSION);
	return CLI_OK;
}
