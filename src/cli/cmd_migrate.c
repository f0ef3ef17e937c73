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
	struct cli_args a = { .cmd = "migrate", .usage = migrate_usage };
	cli_begin_options(&a, argc, argv);
	int opt;
	while ((opt = cli_next_option(&a, longopts)) > 0)
		; /* no options of its own */
	if (opt < 0)
		return a.rc;
	if (a.first < a.argc)
		return cli_usage_error(&a, "unexpected argument");
	struct store *st;
	struct keyring *kr;
	/* cli_open migrates; report what the schema is now. */
	int rc = cli_open(&a.common, 1, &st, &kr);
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
