/*
 * cli.h — what every `senim` subcommand shares.
 *
 * main.c dispatches argv[1] through a table of commands (as git.c does with
 * builtin/); each command lives in cmd_<name>.c and parses its own options
 * with getopt_long, handing the common ones to cli_common_option().
 *
 * Exit codes (documented in `senim --help` and README.md):
 *   0 success, 1 a check failed or the operation was refused,
 *   2 usage error, 3 environment error (store, key file, I/O).
 */
#ifndef SENIM_CLI_H
#define SENIM_CLI_H

#include <getopt.h>

#include "store/store.h"
#include "vault/keyring.h"

enum {
	CLI_OK = 0,
	CLI_FAILED = 1,
	CLI_USAGE = 2,
	CLI_ENV = 3,
};

/* Where the data lives: flags, else SENIM_* environment variables, else
 * defaults (data dir ./var, SQLite <data-dir>/senim.db, keys
 * <data-dir>/keys/senim.keys). */
struct cli_common {
	const char *data_dir;
	const char *db;
	const char *keys;
	char db_default[4096];
	char keys_default[4096];
	char run_id[33]; /* request id of this CLI run, for audit records */
};

/* Long options every store-touching command accepts; ids >= 1000. */
#define CLI_COMMON_LONG_OPTIONS                          \
	{ "data-dir", required_argument, NULL, 1001 },   \
		{ "db", required_argument, NULL, 1002 }, \
	{                                                \
		"keys", required_argument, NULL, 1003    \
	}
#define CLI_COMMON_HELP                                                            \
	"  --data-dir DIR   data directory (SENIM_DATA_DIR; default ./var)\n"      \
	"  --db TARGET      SQLite file or postgresql:// URL (SENIM_DB;\n"         \
	"                   default DIR/senim.db)\n"                               \
	"  --keys FILE      key file, kept apart from the database (SENIM_KEYS;\n" \
	"                   default DIR/keys/senim.keys)\n"

/* Fill from the environment; call before parsing flags. */
void cli_common_init(struct cli_common *c);
/* Handle a common option id; 1 when it was one, 0 when not. */
int cli_common_option(struct cli_common *c, int opt, const char *arg);
/* Resolve defaults once flags are parsed. */
void cli_common_finish(struct cli_common *c);

/*
 * Open the store (with `connections` pooled connections), apply pending
 * migrations, and open (creating when missing) the key file.  On failure
 * prints a one-line reason to stderr and returns CLI_ENV.
 */
int cli_open(struct cli_common *c, int connections, struct store **st,
	     struct keyring **kr);

/* How this program was invoked (argv[0]), for hints that show a command. */
extern const char *cli_program;

/* A printed error "senim CMD: message" on stderr. */
void cli_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The subcommands. */
int cmd_serve(int argc, char **argv);
int cmd_migrate(int argc, char **argv);
int cmd_staff(int argc, char **argv);
int cmd_policy(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_keys(int argc, char **argv);
int cmd_obligations(int argc, char **argv);
int cmd_receipt(int argc, char **argv);
int cmd_version(int argc, char **argv);

#endif
