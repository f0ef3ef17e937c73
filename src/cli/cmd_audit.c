/*
 * cmd_audit.c — `senim audit verify`: walk the audit chain (S4).
 */
#include <stdio.h>
#include <string.h>

#include "audit/audit.h"
#include "cli/cli.h"
#include "common/banned.h"

static const char audit_usage[] =
	"usage: senim audit verify [OPTIONS]\n\n"
	"Recompute the audit log's hash chain from its first record, check the head\n"
	"and every signed checkpoint.  Reports the first sequence number that was\n"
	"changed, deleted, reordered or inserted.\n\n"
	"options:\n" CLI_COMMON_HELP "  --help           this text\n\n"
	"exit codes: 0 the chain is intact, 1 it is not (the first bad sequence is\n"
	"            printed), 2 usage error, 3 store or key file error\n";

int cmd_audit(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		CLI_COMMON_LONG_OPTIONS,
		{ 0, 0, 0, 0 },
	};
	struct cli_args a = { .cmd = "audit", .usage = audit_usage };
	if (cli_subcommand(&a, argc, argv, (const char *const[]){ "verify", NULL }) < 0)
		return a.rc;
	int opt;
	while ((opt = cli_next_option(&a, longopts)) > 0)
		; /* verify has no options of its own */
	if (opt < 0)
		return a.rc;
	if (a.first < a.argc)
		return cli_usage_error(&a, "unexpected argument");
	struct store *st;
	struct keyring *kr;
	int rc = cli_open(&a.common, 1, &st, &kr);
	if (rc)
		return rc;
	struct audit_report rep;
	int err = audit_verify(st, kr, &rep);
	if (err == SENIM_OK) {
		printf("audit chain intact: %lld records, %lld signed checkpoints\n",
		       (long long)rep.records, (long long)rep.checkpoints);
		rc = CLI_OK;
	} else if (err == SENIM_ERR_TAMPERED) {
		printf("audit chain BROKEN at sequence %lld: %s\n",
		       (long long)rep.first_bad_seq, rep.problem);
		rc = CLI_FAILED;
	} else {
		cli_error("audit", "cannot read the audit log: %s",
			  senim_result_name(err));
		rc = CLI_ENV;
	}
	store_free(st);
	keyring_free(kr);
	return rc;
}
