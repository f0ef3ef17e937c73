/*
 * cli.h — what every `senim` subcommand shares.
 *
 * main.c dispatches argv[1] through a table of commands (as git.c does with
 * builtin/); each command lives in cmd_<name>.c and reads its subcommand
 * and options through cli_subcommand() and cli_next_option() below, so
 * that help and usage errors read alike everywhere.  `serve`, which has no
 * subcommand and checks each option's value as it goes, keeps its own
 * getopt_long loop and hands the common options to cli_common_option().
 *
 * Exit codes (documented in `senim --help` and README.md):
 *   0 success, 1 a check failed or the operation was refused,
 *   2 usage error, 3 environment error (store, key file, I/O).
 */
#ifndef SENIM_CLI_H
#define SENIM_CLI_H

#include <getopt.h>
#include <stdio.h>

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
 * <data-dir>/keys/senim.keys, the audit anchor senim.anchor beside the key
 * file). */
struct cli_common {
	const char *data_dir;
	const char *db;
	const char *keys;
	const char *anchor;
	char db_default[4096];
	char keys_default[4096];
	char anchor_default[4096];
	char run_id[33]; /* request id of this CLI run, for audit records */
	/* Set by cli_open: the deployment's id (backup/deployment.h). */
	char deployment[33];
	/* `senim restore` only: open even while an unfinished restore's
	 * marker is there (backup/backup.h). */
	int restoring;
};

/* Long options every store-touching command accepts; ids >= 1000. */
#define CLI_COMMON_LONG_OPTIONS                               \
	{ "data-dir", required_argument, NULL, 1001 },        \
		{ "db", required_argument, NULL, 1002 },      \
		{ "keys", required_argument, NULL, 1003 },    \
	{                                                     \
		"audit-anchor", required_argument, NULL, 1004 \
	}
#define CLI_COMMON_HELP                                                               \
	"  --data-dir DIR   data directory (SENIM_DATA_DIR; default ./var)\n"         \
	"  --db TARGET      SQLite file or postgresql:// URL (SENIM_DB;\n"            \
	"                   default DIR/senim.db)\n"                                  \
	"  --keys FILE      key file, kept apart from the database (SENIM_KEYS;\n"    \
	"                   default DIR/keys/senim.keys)\n"                           \
	"  --audit-anchor FILE  append-only copy of every signed audit checkpoint,\n" \
	"                   outside the database (SENIM_AUDIT_ANCHOR; default\n"      \
	"                   senim.anchor beside the key file)\n"

/* Fill from the environment; call before parsing flags. */
void cli_common_init(struct cli_common *c);
/* Handle a common option id; 1 when it was one, 0 when not. */
int cli_common_option(struct cli_common *c, int opt, const char *arg);
/* Resolve defaults once flags are parsed. */
void cli_common_finish(struct cli_common *c);

/*
 * Open the store (with `connections` pooled connections), apply pending
 * migrations, and open the key file — creating it only when it is missing
 * and the store has never used keys (no data keys, no audit records): a
 * missing key file in front of sealed data is refused, never replaced.
 * Then make sure the store and the key directory name the same deployment
 * (deployment_ensure, c->deployment; refused when they differ) and that no
 * restore was left unfinished (the marker BACKUP_RESTORING_NAME beside the
 * key file; refused unless c->restoring), and open the audit anchor for
 * appending (audit_anchor_open), so every audit checkpoint this process
 * writes is anchored.  On failure prints a
 * one-line reason to stderr and returns CLI_ENV.
 */
int cli_open(struct cli_common *c, int connections, struct store **st,
	     struct keyring **kr);

/*
 * For `audit verify`: open what exists and change nothing.  A missing or
 * empty SQLite file, a database without senim's schema or with pending
 * migrations, and a missing key file are refused with a one-line reason
 * (CLI_ENV); nothing is created or migrated, and the key file is not
 * checked against the store (verification does that, and says how).
 */
int cli_open_existing(struct cli_common *c, struct store **st, struct keyring **kr);

/*
 * The shared steps of `senim CMD SUB [OPTIONS] [OPERANDS]`, so that every
 * command answers the same way:
 *
 *	struct cli_args a = { .cmd = "keys", .usage = keys_usage };
 *	int sub = cli_subcommand(&a, argc, argv, (const char *const[]){
 *					"status", "rotate", NULL });
 *	if (sub < 0)
 *		return a.rc;
 *	int opt;
 *	while ((opt = cli_next_option(&a, longopts)) > 0)
 *		... the command's own options ...
 *	if (opt < 0)
 *		return a.rc;
 *	... operands: a.argv[a.first] .. a.argv[a.argc - 1] ...
 *
 * Missing SUB: the usage on stderr, exit 2.  `--help`, `-h` or `help` in
 * SUB's place, or --help after it: the usage on stdout, exit 0.  An unknown
 * SUB, an unknown option or one missing its argument: a one-line error
 * naming the command's --help, exit 2.  The common options (--data-dir,
 * --db, --keys) are taken into `common`, whose defaults are resolved once
 * the options are done (cli_common_finish).
 */
struct cli_args {
	const char *cmd;		/* "keys": for messages */
	const char *usage;		/* the --help text, or */
	void (*print_usage)(FILE *out); /* a function that prints it */
	int argc;			/* what follows CMD; argv[0] is SUB */
	char **argv;
	int first; /* the first operand, once the options are done */
	int rc;	   /* the exit code when a call returned < 0 */
	struct cli_common common;
};

/* SUB's index in `subs` (NULL-terminated), or -1 with a->rc set. */
int cli_subcommand(struct cli_args *a, int argc, char **argv, const char *const subs[]);

/* For a command without subcommands (`senim migrate [OPTIONS]`): read
 * the options that follow argv[0] with cli_next_option. */
void cli_begin_options(struct cli_args *a, int argc, char **argv);

/* The next of the command's own options (its `val`, > 0); 0 when the
 * options are done; -1 with a->rc set when the command should exit now. */
int cli_next_option(struct cli_args *a, const struct option *longopts);

/* "senim CMD: MSG (see 'senim CMD --help')" on stderr; returns CLI_USAGE. */
int cli_usage_error(const struct cli_args *a, const char *msg);

/* The command's usage text on `out`. */
void cli_print_usage(const struct cli_args *a, FILE *out);

/* How this program was invoked (argv[0]), for hints that show a command. */
extern const char *cli_program;

/* A printed error "senim CMD: message" on stderr. */
void cli_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Read all of `path` ("-": standard input) into `b`, whose limit the caller
 * set.  The chunks read are wiped (an input file may hold personal data).
 * CLI_OK; CLI_FAILED when the input is larger than b's limit (nothing said:
 * the caller says what the limit means); CLI_ENV when it cannot be opened
 * or read (said on stderr under `cmd`).
 */
struct buf;
int cli_read_input(const char *cmd, const char *path, struct buf *b);

/*
 * Read a configuration file (rules, scorecard, calendar, retention) whole
 * into *text (malloc'ed, NUL-terminated; the caller frees it): at most
 * max + 1 bytes, so that the parser, seeing more than max, says the file is
 * too long.  CLI_OK, or CLI_ENV after "senim CMD: cannot read the WHAT
 * PATH: why" on stderr.
 */
int cli_read_config(const char *cmd, const char *what, const char *path, size_t max,
		    char **text, size_t *len);

/* A parser's result as an exit code: CLI_OK; CLI_USAGE after `why` (the
 * file breaks a rule: SENIM_ERR_INVALID); CLI_ENV after the error's name. */
int cli_parse_result(const char *cmd, enum senim_result err, const char *why);

/*
 * `senim CMD verify FILE [--public-key BASE64]`: the arguments of a command
 * that checks a signed document offline (a consent receipt, an access
 * package).  Without --public-key the key file's signing keys are the
 * trusted ones (only the key file is opened, never the store); with it,
 * that key alone.  Calls check(path, kr, NULL) or check(path, NULL, pk)
 * and returns its exit code, or CLI_USAGE / CLI_ENV for the arguments and
 * the key file.
 */
struct keyring;
typedef int (*cli_check_fn)(const char *path, const struct keyring *kr,
			    const unsigned char *pk);
int cli_verify_command(const char *cmd, const char *usage, const char *noun, int argc,
		       char **argv, cli_check_fn check);

/*
 * Read the recipients file at `path` and check it as `senim recipients
 * check` does (core/recipients.h against the access matrix m, then the
 * files it names), logging recipient_registration_pending once per
 * recipient whose registration is pending.  CLI_OK with *out set (free with
 * recipients_free); otherwise one line on stderr, "senim CMD: FILE:LINE:
 * ...", and CLI_USAGE (a rule broken, a named file unusable) or CLI_ENV
 * (the file cannot be read).
 */
struct access_matrix;
struct recipients;
int cli_recipients_load(const char *cmd, const char *path, const struct access_matrix *m,
			struct recipients **out);

/*
 * Read and parse the loan rules file at path (core/loan_rules.h): CLI_OK
 * with *out set (the caller frees it with loan_rules_free); otherwise one
 * line on stderr, "senim CMD: ...", *out NULL, and CLI_USAGE (the file
 * breaks a rule) or CLI_ENV (it cannot be read; errno says why).
 */
struct loan_rules;
int cli_loan_rules_load(const char *cmd, const char *path, struct loan_rules **out);

/*
 * Read every DIR/kz-YYYY.conf (core/workdays.h) into one calendar: CLI_OK
 * with *out set (workdays_free); otherwise one line on stderr naming the
 * file and line, *out NULL, and CLI_USAGE (a file breaks a rule, is named
 * for another year, or DIR holds none) or CLI_ENV (unreadable).
 */
#define CLI_CALENDAR_DIR "data/calendar"
struct workdays;
int cli_calendar_load(const char *cmd, const char *dir, struct workdays **out);

/*
 * Read and check the retention file (core/retention.h): CLI_OK with *out
 * set (retention_rules_free); otherwise one line on stderr naming the file
 * and line ("CMD: ..."), *out NULL, and CLI_USAGE or CLI_ENV.
 */
#define CLI_RETENTION_FILE "data/retention.conf"
struct retention_rules;
int cli_retention_load(const char *cmd, const char *path, struct retention_rules **out);

/* The subcommands. */
int cmd_serve(int argc, char **argv);
int cmd_migrate(int argc, char **argv);
int cmd_staff(int argc, char **argv);
int cmd_policy(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_keys(int argc, char **argv);
int cmd_obligations(int argc, char **argv);
int cmd_bureau(int argc, char **argv);
int cmd_loans(int argc, char **argv);
int cmd_eod(int argc, char **argv);
int cmd_receipt(int argc, char **argv);
int cmd_package(int argc, char **argv);
int cmd_recipients(int argc, char **argv);
int cmd_rules(int argc, char **argv);
int cmd_scorecard(int argc, char **argv);
int cmd_contract(int argc, char **argv);
int cmd_calendar(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_retention(int argc, char **argv);
#ifdef SENIM_BENCH
int cmd_bench(int argc, char **argv); /* bench builds only (cmd_bench.c) */
#endif
int cmd_backup(int argc, char **argv);
int cmd_restore(int argc, char **argv);

/* Read and check the scorecard at `path` (core/scorecard.h): CLI_OK with
 * *out set (scorecard_free), or the exit code (2 a bad file, 3 unreadable)
 * after one line on stderr naming the fault. */
struct scorecard;
int cli_scorecard_load(const char *path, struct scorecard **out);

#endif
