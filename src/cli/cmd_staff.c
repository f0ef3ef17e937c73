/*
 * cmd_staff.c — `senim staff add|revoke|unlock|list`: staff and service
 * accounts, from the command line of the machine that holds the key file.
 *
 * A secret (one-time password or service token) is printed once on stdout
 * and never stored in plain text; with --api-token stdout carries only the
 * token, so a script can capture it.  Every change is audited with actor
 * "cli" and this run's id.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "common/clock.h"
#include "staff/account.h"
#include "staff/password.h"
#include "staff/staff.h"
#include "common/banned.h"

static void staff_usage(FILE *out)
{
	fprintf(out,
		"usage: senim staff add LOGIN --role ROLE [--api-token] [OPTIONS]\n"
		"       senim staff revoke LOGIN [OPTIONS]\n"
		"       senim staff unlock LOGIN [OPTIONS]\n"
		"       senim staff list [OPTIONS]\n"
		"\n"
		"Manage the lender's staff and service accounts.\n"
		"\n"
		"  add      create an account.  A person gets a one-time password "
		"(printed\n"
		"           once): the first sign-in enrols a TOTP authenticator and "
		"sets a\n"
		"           new password.  With --api-token the account is a service\n"
		"           account and only its bearer token is printed, on one line.\n"
		"  revoke   disable an account and every token it holds\n"
		"  unlock   end the pause (and clear the count) after failed sign-ins\n"
		"  list     show every account\n"
		"\n"
		"options:\n"
		"  --role ROLE      one of: %s\n"
		"  --api-token      make a service account with a bearer "
		"token\n" CLI_COMMON_HELP "  -h, --help       show this help\n"
		"\n"
		"LOGIN is 1-%d characters of a-z, 0-9, '.', '_' and '-', starting with a "
		"letter.\n"
		"\n"
		"exit codes: 0 success, 1 refused (the account exists or does not "
		"exist),\n"
		"            2 usage error, 3 environment error (store, key file, I/O)\n",
		role_list(), STAFF_LOGIN_MAX);
}

/* The result of a staff operation as an exit code, with its message. */
static int report(enum senim_result err, const char *login)
{
	switch (err) {
	case SENIM_OK:
		return CLI_OK;
	case SENIM_ERR_CONFLICT:
		cli_error("staff", "account %s exists", login);
		return CLI_FAILED;
	case SENIM_ERR_NOT_FOUND:
		cli_error("staff", "no account %s", login);
		return CLI_FAILED;
	case SENIM_ERR_INVALID:
		cli_error("staff", "invalid login or role");
		return CLI_USAGE;
	case SENIM_ERR_TAMPERED:
		cli_error("staff", "refused: the audit log does not verify; nothing was "
				   "changed (run 'senim audit verify')");
		return CLI_FAILED;
	default:
		cli_error("staff", "the operation failed: %s", senim_result_name(err));
		return CLI_ENV;
	}
}

static void print_person(const char *login, const char *role, const char *password)
{
	printf("Created staff account %s (role %s).\n"
	       "\n"
	       "One-time password: %s\n"
	       "\n"
	       "Give it to the person over a separate channel; it is shown only once.\n"
	       "To sign in for the first time they:\n"
	       "  1. POST /v1/staff/enrollment with their login and this password,\n"
	       "     and add the TOTP secret it returns to an authenticator app;\n"
	       "  2. POST /v1/staff/sessions with login, this password, a current\n"
	       "     6-digit code and a new password of %d-%d characters.\n",
	       login, role, password, STAFF_PASSWORD_MIN, STAFF_PASSWORD_MAX);
}

static void print_row(const struct staff_info *info, void *ctx)
{
	(void)ctx;
	char created[CLOCK_RFC3339_LEN];
	clock_format_rfc3339(info->created_at, created);
	printf("%-24s %-13s %-8s %-9s %-7s %-8s %s\n", info->login, role_name(info->role),
	       info->is_service ? "service" : "person",
	       info->is_service ? "-" : (info->enrolled ? "yes" : "no"),
	       info->locked ? "yes" : "no", info->revoked ? "yes" : "no", created);
}

/* `staff add`: the secret is printed once, and wiped whatever happened. */
static int do_add(struct store *st, const struct keyring *kr, struct staff_who who,
		  const char *login, enum role role, int service)
{
	struct staff_add op = {
		.kr = kr, .who = who, .login = login, .role = role, .service = service
	};
	int rc = CLI_OK;
	enum senim_result err = staff_add_prepare(&op);
	if (err)
		goto fail;
	err = store_write(st, staff_add_tx, &op);
	if (err)
		goto fail;
	if (service)
		printf("%s\n", op.secret);
	else
		print_person(login, role_name(role), op.secret);
	if (fflush(stdout) != 0) {
		cli_error("staff", "cannot write the secret to stdout");
		rc = CLI_ENV;
	}
fail:
	if (err)
		rc = report(err, login);
	staff_add_dispose(&op);
	return rc;
}

/* `staff revoke` and `staff unlock`. */
static int do_change(struct store *st, const struct keyring *kr, struct staff_who who,
		     const char *login, int revoke)
{
	struct staff_change op = { .kr = kr, .who = who, .login = login };
	int rc = report(store_write(st, revoke ? staff_revoke_tx : staff_unlock_tx, &op),
			login);
	if (rc == CLI_OK)
		printf("account %s %s\n", login, revoke ? "revoked" : "unlocked");
	return rc;
}

static int do_list(struct store *st)
{
	printf("%-24s %-13s %-8s %-9s %-7s %-8s %s\n", "LOGIN", "ROLE", "KIND",
	       "ENROLLED", "PAUSED", "REVOKED", "CREATED");
	return report(staff_list(st, print_row, NULL), "");
}

int cmd_staff(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "role", required_argument, NULL, 'r' },
		{ "api-token", no_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		CLI_COMMON_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct cli_args a = { .cmd = "staff", .print_usage = staff_usage };
	int sub = cli_subcommand(
		&a, argc, argv,
		(const char *const[]){ "add", "revoke", "unlock", "list", NULL });
	if (sub < 0)
		return a.rc;
	int is_add = sub == 0, is_revoke = sub == 1, is_unlock = sub == 2,
	    is_list = sub == 3;
	const char *role_arg = NULL;
	int api_token = 0;
	int opt;
	while ((opt = cli_next_option(&a, longopts)) > 0) {
		if (opt == 'r')
			role_arg = optarg;
		else if (opt == 't')
			api_token = 1;
	}
	if (opt < 0)
		return a.rc;

	const char *login = NULL;
	int operands = a.argc - a.first;
	if (is_list) {
		if (operands != 0)
			return cli_usage_error(&a, "list takes no arguments");
	} else {
		if (operands != 1)
			return cli_usage_error(&a, "expected exactly one LOGIN");
		login = a.argv[a.first];
		if (!staff_login_valid(login))
			return cli_usage_error(&a, "invalid LOGIN");
	}
	if (!is_add && (role_arg || api_token))
		return cli_usage_error(&a, "--role and --api-token are for 'staff add'");
	int role = -1;
	if (is_add) {
		if (!role_arg)
			return cli_usage_error(&a, "'staff add' needs --role");
		role = role_parse(role_arg);
		if (role < 0) {
			cli_error("staff", "unknown role '%s'; roles: %s", role_arg,
				  role_list());
			return CLI_USAGE;
		}
		/* A payment provider is a system, never a person who signs in. */
		if (role == ROLE_PAYMENT_PROVIDER && !api_token)
			return cli_usage_error(&a,
					       "role payment_provider needs --api-token");
	}

	struct store *st = NULL;
	struct keyring *kr = NULL;
	int rc = cli_open(&a.common, 1, &st, &kr);
	if (rc != CLI_OK)
		return rc;
	struct staff_who who = { "cli", a.common.run_id };
	if (is_add)
		rc = do_add(st, kr, who, login, (enum role)role, api_token);
	else if (is_revoke || is_unlock)
		rc = do_change(st, kr, who, login, is_revoke);
	else
		rc = do_list(st);
	store_free(st);
	keyring_free(kr);
	return rc;
}
