/*
 * cmd_backup.c — `senim backup DIR` and `senim restore DIR [--force]`
 * (O1; backup/backup.h, docs/operations.md).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "backup/backup.h"
#include "backup/deployment.h"
#include "cli/cli.h"
#include "common/clock.h"
#include "vault/shred.h"
#include "common/banned.h"

#define RESTORE_ACTOR "cli" /* the actor of backups and restores */

static const char backup_usage[] =
	"usage: senim backup DIR [OPTIONS]\n\n"
	"Make an online, consistent backup of the store in DIR (made 0700 when\n"
	"missing) while senim serves: SQLite's backup API, or pg_dump in its custom\n"
	"format for PostgreSQL (on PATH).  The copy is encrypted under a key derived\n"
	"from the key file's newest KEK; DIR/manifest.json names the deployment,\n"
	"the schema version, the time and each part's SHA-256.  The backup holds no\n"
	"key: restoring it needs this deployment's key directory.\n\n"
	"options:\n" CLI_COMMON_HELP "  -h, --help       this text\n\n"
	"exit codes: 0 done, 1 DIR holds a backup already, 2 usage error,\n"
	"            3 environment error (store, pg_dump, key file, I/O)\n";

static const char restore_usage[] =
	"usage: senim restore DIR [--force] [OPTIONS]\n\n"
	"Restore the backup in DIR into the store.  Stop senim serve first.  A\n"
	"backup of another deployment (its manifest names another id than the key\n"
	"directory) is refused and nothing changes; so is one whose parts do not\n"
	"match their hashes or do not open.  A store that is not empty is replaced\n"
	"only with --force.  Every subject in the shred journal beside the key file\n"
	"is shredded again before the store can be used: crypto-shredding survives\n"
	"a restore.\n\n"
	"options:\n"
	"  --force          replace a store that holds data\n" CLI_COMMON_HELP
	"  -h, --help       this text\n\n"
	"exit codes: 0 restored, 1 refused (another deployment, a store not\n"
	"            empty without --force, a damaged or foreign backup), 2 usage\n"
	"            error, 3 environment error (store, pg_restore, key file, I/O)\n";

struct progress {
	int tty, shown;
	const char *stage;
};

static void on_progress(const char *stage, int64_t done, int64_t total, void *ctx)
{
	struct progress *p = ctx;
	if (!p->tty)
		return;
	if (p->shown && p->stage != stage)
		fputc('\n', stderr);
	p->stage = stage;
	if (total > 0)
		fprintf(stderr, "\r%-8s %3d%% (%lld of %lld bytes)   ", stage,
			(int)(done * 100 / total), (long long)done, (long long)total);
	else
		fprintf(stderr, "\r%-8s ...   ", stage);
	fflush(stderr);
	p->shown = 1;
}

static void end_progress(struct progress *p)
{
	if (p->shown)
		fputc('\n', stderr);
	p->shown = 0;
}

/* One operand, DIR, after the options. */
static int one_dir(struct cli_args *a, const char **dir)
{
	if (a->first >= a->argc)
		return cli_usage_error(a, "DIR is missing");
	if (a->first + 1 < a->argc)
		return cli_usage_error(a, "unexpected argument");
	*dir = a->argv[a->first];
	return CLI_OK;
}

int cmd_backup(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		CLI_COMMON_LONG_OPTIONS,
		{ 0, 0, 0, 0 },
	};
	struct cli_args a = { .cmd = "backup", .usage = backup_usage };
	cli_begin_options(&a, argc, argv);
	int opt;
	while ((opt = cli_next_option(&a, longopts)) > 0)
		;
	if (opt < 0)
		return a.rc;
	const char *dir = NULL;
	int rc = one_dir(&a, &dir);
	if (rc)
		return rc;
	struct store *st;
	struct keyring *kr;
	rc = cli_open(&a.common, 1, &st, &kr);
	if (rc)
		return rc;
	int current = 0, latest = 0;
	struct progress prog = { .tty = isatty(2) };
	struct backup_make op = { .target = a.common.db,
				  .kr = kr,
				  .deployment = a.common.deployment,
				  .dir = dir,
				  .progress = on_progress,
				  .ctx = &prog,
				  .st = st,
				  .actor = RESTORE_ACTOR,
				  .request_id = a.common.run_id };
	enum senim_result err = store_schema_version(st, &current, &latest);
	op.schema_version = current;
	if (!err)
		err = backup_make(&op);
	end_progress(&prog);
	if (err == SENIM_ERR_CONFLICT) {
		cli_error("backup", "%s holds a backup already (%s)", dir,
			  BACKUP_MANIFEST_NAME);
		rc = CLI_FAILED;
	} else if (err) {
		cli_error("backup", "the backup failed: %s%s", senim_result_name(err),
			  err == SENIM_ERR_UNAVAILABLE ? " (is pg_dump on PATH?)" : "");
		rc = CLI_ENV;
	} else {
		char at[CLOCK_RFC3339_LEN];
		clock_format_rfc3339(op.manifest.created_at, at);
		printf("backup %s\n  deployment  %s\n  store       %s, schema version "
		       "%d\n"
		       "  made at     %s\n  key         from KEK version %u\n"
		       "  part        %s, %lld bytes (%lld before encryption)\n"
		       "  sha256      %s\n",
		       dir, op.manifest.deployment, op.manifest.backend,
		       op.manifest.schema_version, at, op.manifest.kek_version,
		       op.manifest.part, (long long)op.manifest.part_bytes,
		       (long long)op.store_bytes, op.manifest.part_sha256);
	}
	store_free(st);
	keyring_free(kr);
	return rc;
}

static enum senim_result holds_data_tx(struct store_tx *tx, void *ctx)
{
	int *holds = ctx;
	struct store_rows *r;
	enum senim_result err = store_query_one(
		tx,
		"SELECT (SELECT COUNT(*) FROM subjects) + (SELECT COUNT(*) FROM staff)"
		" + (SELECT COUNT(*) FROM audit_log)",
		NULL, 0, &r);
	if (err)
		return err;
	*holds = store_rows_int(r, 0) > 0;
	store_rows_free(r);
	return SENIM_OK;
}

/* Paths beside the key file: the shred journal, the decrypted copy, the
 * marker. */
static int side_paths(const char *keys, char journal[4200], char work[4200],
		      char marker[4200])
{
	char dep[4200];
	if (shred_journal_path(keys, journal, 4200) ||
	    deployment_path(keys, dep, sizeof(dep)))
		return -1;
	char *slash = strrchr(dep, '/');
	int n = slash ? (int)(slash - dep) + 1 : 0;
	if (snprintf(work, 4200, "%.*s%s", n, dep, "senim.restore.tmp") >= 4200 ||
	    snprintf(marker, 4200, "%.*s%s", n, dep, BACKUP_RESTORING_NAME) >= 4200)
		return -1;
	return 0;
}

int cmd_restore(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "force", no_argument, NULL, 'f' },
		CLI_COMMON_LONG_OPTIONS,
		{ 0, 0, 0, 0 },
	};
	struct cli_args a = { .cmd = "restore", .usage = restore_usage };
	cli_begin_options(&a, argc, argv);
	int opt, force = 0;
	while ((opt = cli_next_option(&a, longopts)) > 0)
		if (opt == 'f')
			force = 1;
	if (opt < 0)
		return a.rc;
	const char *dir = NULL;
	int rc = one_dir(&a, &dir);
	if (rc)
		return rc;
	char journal[4200], work[4200], marker[4200];
	if (side_paths(a.common.keys, journal, work, marker)) {
		cli_error("restore", "the key file's path is too long");
		return CLI_ENV;
	}
	/* Another deployment's backup is refused before anything is opened,
	 * so not even an empty store is made. */
	struct backup_manifest seen;
	char dep_path[4200], here[DEPLOYMENT_ID_LEN];
	if (!deployment_path(a.common.keys, dep_path, sizeof(dep_path)) &&
	    !backup_manifest_read(dir, &seen) && !deployment_read_file(dep_path, here) &&
	    strcmp(seen.deployment, here) != 0) {
		cli_error("restore",
			  "the backup is of deployment %s, this key directory is of "
			  "deployment %s: refused, nothing changed",
			  seen.deployment, here);
		return CLI_FAILED;
	}
	/* A restore that did not finish is run again: its marker is ours. */
	a.common.restoring = 1;
	struct store *st;
	struct keyring *kr;
	rc = cli_open(&a.common, 1, &st, &kr);
	if (rc)
		return rc;
	int current = 0, latest = 0, holds = 0;
	enum senim_result err = store_schema_version(st, &current, &latest);
	if (!err)
		err = store_read(st, holds_data_tx, &holds);
	/* Before the store is replaced, it settles the shred journal's
	 * intents without an outcome (vault/shred.h): it alone knows whether
	 * their transactions committed.  Not when the marker says an earlier
	 * restore began: the store may be the backup's by now. */
	size_t settled_in = 0, settled_out = 0;
	int settle = !err && (!holds || force) && access(marker, F_OK) != 0;
	if (settle && shred_journal_settle(journal, st, &settled_in, &settled_out)) {
		store_free(st);
		cli_error("restore",
			  "cannot settle the shred journal %s against the store: "
			  "nothing changed",
			  journal);
		keyring_free(kr);
		return CLI_ENV;
	}
	/* The backend restores on connections of its own. */
	store_free(st);
	if (err) {
		cli_error("restore", "cannot read the store: %s", senim_result_name(err));
		keyring_free(kr);
		return CLI_ENV;
	}
	if (holds && !force && access(marker, F_OK) != 0) {
		cli_error("restore",
			  "the store is not empty: nothing changed (--force replaces it "
			  "with the backup)");
		keyring_free(kr);
		return CLI_FAILED;
	}
	struct progress prog = { .tty = isatty(2) };
	struct backup_restore op = { .target = a.common.db,
				     .kr = kr,
				     .deployment = a.common.deployment,
				     .schema_latest = latest,
				     .dir = dir,
				     .journal = journal,
				     .work = work,
				     .marker = marker,
				     .actor = RESTORE_ACTOR,
				     .request_id = a.common.run_id,
				     .progress = on_progress,
				     .ctx = &prog };
	err = backup_restore(&op);
	end_progress(&prog);
	switch (err) {
	case SENIM_OK: {
		char at[CLOCK_RFC3339_LEN];
		clock_format_rfc3339(op.manifest.created_at, at);
		printf("restored %s\n  deployment  %s\n  made at     %s\n"
		       "  store       %s, schema version %d (now %d)\n"
		       "  shredded again  %lld subjects from %s\n"
		       "  settled     %zu committed, %zu rolled back (not shredded)\n",
		       dir, op.manifest.deployment, at, op.manifest.backend,
		       op.manifest.schema_version, latest, (long long)op.reshredded,
		       journal, settled_in, settled_out);
		rc = CLI_OK;
		break;
	}
	case SENIM_ERR_CONFLICT:
		cli_error("restore",
			  "the backup is of deployment %s, this key directory is of "
			  "deployment %s: refused, nothing changed",
			  op.manifest.deployment, a.common.deployment);
		rc = CLI_FAILED;
		break;
	case SENIM_ERR_INVALID:
		cli_error("restore",
			  "%s is not a backup this senim can restore here (no readable "
			  "manifest, a part missing, another kind of store or a newer "
			  "schema): nothing changed",
			  dir);
		rc = CLI_FAILED;
		break;
	case SENIM_ERR_CRYPTO:
		cli_error("restore",
			  "the backup's part does not match its hash or does not open "
			  "with this key file: nothing changed");
		rc = CLI_FAILED;
		break;
	default:
		cli_error("restore",
			  "the restore failed: %s; the store may be partly restored and "
			  "stays unusable until 'senim restore' is run again",
			  senim_result_name(err));
		rc = CLI_ENV;
	}
	keyring_free(kr);
	return rc;
}
