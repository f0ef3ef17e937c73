/*
 * cmd_audit.c — `senim audit verify`: walk the audit chain and check it
 * against the anchor (S4).  Opens only what exists and changes nothing.
 */
#include <stdio.h>
#include <string.h>

#include "audit/audit.h"
#include "cli/cli.h"
#include "common/banned.h"

static const char audit_usage[] =
	"usage: senim audit verify [OPTIONS]\n\n"
	"Recompute the audit log's hash chain from its first record, check the head\n"
	"and every signed checkpoint, require the last record to be signed, and\n"
	"check the log against the audit anchor (the copy of every checkpoint kept\n"
	"outside the database).  Reports the first sequence number that was\n"
	"changed, deleted, reordered or inserted, and the last anchored sequence\n"
	"number a cut log lacks.  Never creates or migrates a store.\n\n"
	"options:\n" CLI_COMMON_HELP "  --anchor FILE    the same as --audit-anchor\n"
	"  --help           this text\n\n"
	"exit codes: 0 the chain is intact, 1 it is not (the first bad sequence is\n"
	"            printed), 2 usage error, 3 store, key file or anchor missing or\n"
	"            unreadable\n";

static void print_anchor(const struct audit_report *rep)
{
	printf("anchor: %lld signed checkpoints, the newest at sequence %lld",
	       (long long)rep->anchored, (long long)rep->anchor_last_seq);
	if (rep->anchor_skipped)
		printf(" (%lld torn or unreadable lines skipped)",
		       (long long)rep->anchor_skipped);
	putchar('\n');
}

int cmd_audit(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "anchor", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		CLI_COMMON_LONG_OPTIONS,
		{ 0, 0, 0, 0 },
	};
	struct cli_args a = { .cmd = "audit", .usage = audit_usage };
	if (cli_subcommand(&a, argc, argv, (const char *const[]){ "verify", NULL }) < 0)
		return a.rc;
	int opt;
	const char *anchor = NULL;
	while ((opt = cli_next_option(&a, longopts)) > 0)
		if (opt == 'a')
			anchor = optarg;
	if (opt < 0)
		return a.rc;
	if (a.first < a.argc)
		return cli_usage_error(&a, "unexpected argument");
	if (anchor && *anchor)
		a.common.anchor = anchor;
	struct store *st;
	struct keyring *kr;
	int rc = cli_open_existing(&a.common, &st, &kr);
	if (rc)
		return rc;
	struct audit_report rep;
	enum senim_result err = audit_verify_anchored(st, kr, a.common.anchor, &rep);
	if (err == SENIM_OK) {
		printf("audit chain intact: %lld records, %lld signed checkpoints\n",
		       (long long)rep.records, (long long)rep.checkpoints);
		print_anchor(&rep);
		rc = CLI_OK;
	} else if (err == SENIM_ERR_TAMPERED) {
		printf("audit chain BROKEN at sequence %lld: %s\n",
		       (long long)rep.first_bad_seq, rep.problem);
		print_anchor(&rep);
		rc = CLI_FAILED;
	} else if (err == SENIM_ERR_NOT_FOUND) {
		cli_error(
			"audit",
			"the audit anchor %s does not exist, but the log has %lld signed"
			" checkpoints: cannot tell whether it was cut back (is"
			" --audit-anchor or SENIM_AUDIT_ANCHOR wrong?)",
			a.common.anchor, (long long)rep.checkpoints);
		rc = CLI_ENV;
	} else {
		cli_error("audit", "cannot read the audit log or its anchor: %s",
			  senim_result_name(err));
		rc = CLI_ENV;
	}
	store_free(st);
	keyring_free(kr);
	return rc;
}
