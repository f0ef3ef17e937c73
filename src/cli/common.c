#include "cli/cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "audit/audit.h"
#include "common/buf.h"
#include "backup/backup.h"
#include "backup/deployment.h"
#include "core/loan_rules.h"
#include "common/log.h"
#include "vault/vault.h"
#include "common/banned.h"

const char *cli_program = "senim";

void cli_common_init(struct cli_common *c)
{
	c->data_dir = getenv("SENIM_DATA_DIR");
	c->db = getenv("SENIM_DB");
	c->keys = getenv("SENIM_KEYS");
	c->anchor = getenv("SENIM_AUDIT_ANCHOR");
	c->db_default[0] = c->keys_default[0] = c->anchor_default[0] = '\0';
	c->deployment[0] = '\0';
	c->restoring = 0;
	unsigned char id[8];
	randombytes_buf(id, sizeof(id));
	snprintf(c->run_id, sizeof(c->run_id), "cli-");
	sodium_bin2hex(c->run_id + 4, sizeof(c->run_id) - 4, id, sizeof(id));
}

int cli_common_option(struct cli_common *c, int opt, const char *arg)
{
	switch (opt) {
	case 1001:
		c->data_dir = arg;
		return 1;
	case 1002:
		c->db = arg;
		return 1;
	case 1003:
		c->keys = arg;
		return 1;
	case 1004:
		c->anchor = arg;
		return 1;
	default:
		return 0;
	}
}

void cli_common_finish(struct cli_common *c)
{
	if (!c->data_dir || !*c->data_dir)
		c->data_dir = "var";
	if (!c->db || !*c->db) {
		snprintf(c->db_default, sizeof(c->db_default), "%s/senim.db",
			 c->data_dir);
		c->db = c->db_default;
	}
	if (!c->keys || !*c->keys) {
		snprintf(c->keys_default, sizeof(c->keys_default), "%s/keys/senim.keys",
			 c->data_dir);
		c->keys = c->keys_default;
	}
	if (!c->anchor || !*c->anchor) {
		/* Beside the key file: kept apart from the database as it is. */
		const char *slash = strrchr(c->keys, '/');
		int dir = slash ? (int)(slash - c->keys) + 1 : 0;
		snprintf(c->anchor_default, sizeof(c->anchor_default), "%.*ssenim.anchor",
			 dir, c->keys);
		c->anchor = c->anchor_default;
	}
}

void cli_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "senim %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Whether the store holds anything made with a key file's keys: wrapped
 * data keys, or audit records (whose checkpoints are signed). */
static enum senim_result uses_keys_fn(struct store_tx *tx, void *ctx)
{
	struct store_rows *r = NULL;
	enum senim_result err =
		store_query_one(tx,
				"SELECT (SELECT COUNT(*) FROM (SELECT 1 FROM subject_keys"
				" LIMIT 1) k) + (SELECT COUNT(*) FROM (SELECT 1 FROM"
				" audit_log LIMIT 1) a)",
				NULL, 0, &r);
	if (err)
		return err;
	*(int *)ctx = store_rows_int(r, 0) > 0;
	store_rows_free(r);
	return SENIM_OK;
}

/* Whether the key file is the one this store's data was sealed with: the
 * newest data key unwraps, and the newest audit checkpoint verifies. */
struct fit {
	const struct keyring *kr;
	int dek_ok, audit_ok;
};

static enum senim_result keys_fit_fn(struct store_tx *tx, void *ctx)
{
	struct fit *f = ctx;
	struct store_rows *r = NULL;
	f->dek_ok = 1;
	enum senim_result err =
		store_query_one(tx,
				"SELECT subject_id, wrapped FROM subject_keys"
				" ORDER BY created_at DESC, subject_id DESC"
				" LIMIT 1",
				NULL, 0, &r);
	if (err == SENIM_OK) {
		size_t len = 0;
		const void *wrapped = store_rows_blob(r, 1, &len);
		struct vault_dek *dek = NULL;
		f->dek_ok = vault_dek_unwrap(f->kr, store_rows_text(r, 0, NULL), wrapped,
					     len, &dek) == SENIM_OK;
		vault_dek_free(dek);
		store_rows_free(r);
	} else if (err != SENIM_ERR_NOT_FOUND) { /* no data keys: nothing to open */
		return err;
	}
	return audit_signed_by(tx, f->kr, &f->audit_ok);
}

/*
 * Open the key file; make one only for a store that has never used one.
 * A missing key file in front of a store full of sealed data is a wrong
 * --keys, an unset SENIM_KEYS or an unmounted volume: fresh keys would
 * wrap new borrowers' data keys under a KEK the real key file does not
 * have, sign with a key nobody trusts and index under another key.
 */
static int open_keys(struct cli_common *c, struct store *st, struct keyring **kr)
{
	struct stat sb;
	enum senim_result err;
	if (stat(c->keys, &sb) != 0 && errno == ENOENT) {
		int used = 1;
		err = store_read(st, uses_keys_fn, &used);
		if (err)
			goto unusable;
		if (used) {
			cli_error(
				"keys",
				"the key file %s does not exist, but the store holds data"
				" sealed with keys: refusing to make new ones (is --keys "
				"or"
				" SENIM_KEYS wrong, or the key volume not mounted?)",
				c->keys);
			return CLI_ENV;
		}
	}
	/* creates it when missing: the store has never used keys */
	err = keyring_open(c->keys, 1, kr);
	if (err)
		goto unusable;
	/* A key file that exists may still be another one: another
	 * deployment's, an old copy.  Its keys must open what is stored. */
	struct fit f = { .kr = *kr };
	err = store_read(st, keys_fit_fn, &f);
	if (err) {
		cli_error("store", "cannot read the store: %s", senim_result_name(err));
		goto fail;
	}
	if (!f.dek_ok || !f.audit_ok) {
		cli_error("keys",
			  "the key file %s does not fit this store: it cannot %s (another"
			  " deployment's key file, or an old copy?)",
			  c->keys,
			  !f.dek_ok ? "open the newest data key"
				    : "verify the newest audit checkpoint");
		goto fail;
	}
	return CLI_OK;
unusable:
	cli_error("keys", "cannot use key file %s: %s", c->keys, senim_result_name(err));
fail:
	keyring_free(*kr);
	*kr = NULL;
	return CLI_ENV;
}

/* O1: one deployment's store with another's key directory is refused, and
 * so is a store whose restore did not finish (its shredded subjects may be
 * readable again until the restore is run to its end). */
static int check_deployment(struct cli_common *c, struct store *st)
{
	char marker[4200];
	enum senim_result err = deployment_path(c->keys, marker, sizeof(marker));
	if (err) {
		cli_error("keys", "the key file's path is too long");
		return CLI_ENV;
	}
	char *slash = strrchr(marker, '/');
	size_t at = slash ? (size_t)(slash - marker) + 1 : 0;
	snprintf(marker + at, sizeof(marker) - at, "%s", BACKUP_RESTORING_NAME);
	if (!c->restoring && access(marker, F_OK) == 0) {
		cli_error("restore",
			  "a restore into this store did not finish (%s exists): run "
			  "'senim restore' with the same backup again",
			  marker);
		return CLI_ENV;
	}
	char in_store[DEPLOYMENT_ID_LEN], in_file[DEPLOYMENT_ID_LEN];
	err = deployment_ensure(st, c->keys, c->deployment, in_store, in_file);
	if (err == SENIM_ERR_CONFLICT) {
		cli_error("keys",
			  "the store belongs to deployment %s, the key directory to "
			  "deployment %s: refusing to use them together",
			  in_store, in_file);
		return CLI_ENV;
	}
	if (err) {
		cli_error("keys", "cannot read or record the deployment id: %s",
			  senim_result_name(err));
		return CLI_ENV;
	}
	return CLI_OK;
}

int cli_open(struct cli_common *c, int connections, struct store **st,
	     struct keyring **kr)
{
	*st = NULL;
	*kr = NULL;
	if (sodium_init() < 0) {
		cli_error("store", "libsodium failed to initialise");
		return CLI_ENV;
	}
	int rc = CLI_ENV;
	enum senim_result err = store_open(c->db, connections, st);
	if (err)
		goto no_store;
	err = store_migrate(*st, NULL);
	if (err)
		goto no_store;
	rc = open_keys(c, *st, kr);
	if (rc)
		goto fail;
	rc = check_deployment(c, *st);
	if (rc) {
		keyring_free(*kr);
		goto fail;
	}
	if (audit_anchor_open(c->anchor) != SENIM_OK) {
		cli_error("audit",
			  "cannot open the audit anchor %s for appending (a read-only"
			  " key directory? set --audit-anchor or SENIM_AUDIT_ANCHOR)",
			  c->anchor);
		keyring_free(*kr);
		rc = CLI_ENV;
		goto fail;
	}
	return CLI_OK;
no_store:
	/* Never print c->db: a PostgreSQL URL may carry a password. */
	cli_error("store", "cannot open the store: %s", senim_result_name(err));
fail:
	store_free(*st);
	*st = NULL;
	*kr = NULL;
	return rc;
}

static int is_url(const char *target)
{
	return strncmp(target, "postgresql://", 13) == 0 ||
	       strncmp(target, "postgres://", 11) == 0;
}

/* An SQLite target must be there and hold something: opening a missing
 * or empty file would make a store of it. */
static int sqlite_file_exists(const char *path)
{
	struct stat sb;
	if (stat(path, &sb) != 0) {
		cli_error("store", "there is no store at %s: %s", path, strerror(errno));
		return 0;
	}
	if (!S_ISREG(sb.st_mode) || sb.st_size == 0) {
		cli_error("store", "%s is %s, not a senim store", path,
			  S_ISREG(sb.st_mode) ? "an empty file" : "not a regular file");
		return 0;
	}
	return 1;
}

int cli_open_existing(struct cli_common *c, struct store **st, struct keyring **kr)
{
	*st = NULL;
	*kr = NULL;
	if (sodium_init() < 0) {
		cli_error("store", "libsodium failed to initialise");
		return CLI_ENV;
	}
	if (!is_url(c->db) && !sqlite_file_exists(c->db))
		return CLI_ENV;
	int current = 0, latest = 0;
	enum senim_result err = store_open(c->db, 1, st);
	if (err)
		goto unreadable;
	err = store_schema_version(*st, &current, &latest);
	if (err)
		goto unreadable;
	if (current != latest) {
		cli_error("store",
			  "the store's schema is version %d, this senim's is %d: %s",
			  current, latest,
			  current < latest ? "run 'senim migrate' first"
					   : "use the senim that wrote it");
		goto fail;
	}
	err = keyring_open(c->keys, 0, kr);
	if (err) {
		cli_error("keys", "cannot use key file %s: %s", c->keys,
			  senim_result_name(err));
		*kr = NULL;
		goto fail;
	}
	return CLI_OK;
unreadable:
	/* Never print c->db: a PostgreSQL URL may carry a password. */
	cli_error("store", "cannot read the store (%s): not a senim store?",
		  senim_result_name(err));
fail:
	store_free(*st);
	*st = NULL;
	return CLI_ENV;
}

void cli_print_usage(const struct cli_args *a, FILE *out)
{
	if (a->print_usage)
		a->print_usage(out);
	else
		fputs(a->usage, out);
}

int cli_usage_error(const struct cli_args *a, const char *msg)
{
	cli_error(a->cmd, "%s (see 'senim %s --help')", msg, a->cmd);
	return CLI_USAGE;
}

void cli_begin_options(struct cli_args *a, int argc, char **argv)
{
	a->argc = argc;
	a->argv = argv;
	a->first = argc;
	cli_common_init(&a->common);
	optind = 1;
	opterr = 0; /* errors are ours to word */
}

static int asks_for_help(const char *arg)
{
	return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0 ||
	       strcmp(arg, "help") == 0;
}

int cli_subcommand(struct cli_args *a, int argc, char **argv, const char *const subs[])
{
	if (argc < 2) {
		cli_print_usage(a, stderr);
		a->rc = CLI_USAGE;
		return -1;
	}
	if (asks_for_help(argv[1])) {
		cli_print_usage(a, stdout);
		a->rc = CLI_OK;
		return -1;
	}
	for (int i = 0; subs[i]; i++) {
		if (strcmp(argv[1], subs[i]) == 0) {
			/* Options are parsed after SUB: argv[1] plays argv[0]. */
			cli_begin_options(a, argc - 1, argv + 1);
			return i;
		}
	}
	/* SUB is the user's own input: safe to echo. */
	cli_error(a->cmd, "unknown subcommand '%s' (see 'senim %s --help')", argv[1],
		  a->cmd);
	a->rc = CLI_USAGE;
	return -1;
}

int cli_next_option(struct cli_args *a, const struct option *longopts)
{
	int opt;
	while ((opt = getopt_long(a->argc, a->argv, "h", longopts, NULL)) != -1) {
		if (cli_common_option(&a->common, opt, optarg))
			continue;
		if (opt == 'h') {
			cli_print_usage(a, stdout);
			a->rc = CLI_OK;
			return -1;
		}
		if (opt == '?' || opt == ':') {
			a->rc = cli_usage_error(a, "unknown option or missing argument");
			return -1;
		}
		return opt;
	}
	a->first = optind;
	cli_common_finish(&a->common);
	return 0;
}

int cli_read_config(const char *cmd, const char *what, const char *path, size_t max,
		    char **text, size_t *len)
{
	*text = NULL;
	*len = 0;
	FILE *f = fopen(path, "rb");
	if (!f) {
		cli_error(cmd, "cannot read the %s %s: %s", what, path, strerror(errno));
		return CLI_ENV;
	}
	char *t = malloc(max + 2);
	if (!t) {
		fclose(f);
		cli_error(cmd, "out of memory");
		return CLI_ENV;
	}
	size_t n = fread(t, 1, max + 1, f);
	int bad = ferror(f);
	fclose(f);
	if (bad) {
		free(t);
		cli_error(cmd, "cannot read the %s %s", what, path);
		return CLI_ENV;
	}
	t[n] = '\0';
	*text = t;
	*len = n;
	return CLI_OK;
}

int cli_parse_result(const char *cmd, enum senim_result err, const char *why)
{
	if (err == SENIM_OK)
		return CLI_OK;
	if (err == SENIM_ERR_INVALID) {
		cli_error(cmd, "%s", why);
		return CLI_USAGE;
	}
	cli_error(cmd, "%s", senim_result_name(err));
	return CLI_ENV;
}

/* Read the rules file and parse it (cli.h). */
int cli_loan_rules_load(const char *cmd, const char *path, struct loan_rules **out)
{
	*out = NULL;
	char *text;
	size_t len;
	int rc = cli_read_config(cmd, "rules file", path, LOAN_RULES_FILE_MAX, &text,
				 &len);
	if (rc)
		return rc;
	char why[1024];
	enum senim_result err = loan_rules_parse(path, text, len, out, why, sizeof(why));
	free(text);
	return cli_parse_result(cmd, err, why);
}

int cli_read_input(const char *cmd, const char *path, struct buf *b)
{
	int is_stdin = strcmp(path, "-") == 0;
	FILE *f = is_stdin ? stdin : fopen(path, "rb");
	if (!f) {
		cli_error(cmd, "cannot open %s: %s", path, strerror(errno));
		return CLI_ENV;
	}
	char chunk[65536];
	size_t n;
	enum senim_result err = SENIM_OK;
	while (!err && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		err = buf_add(b, chunk, n);
	int rerr = ferror(f);
	sodium_memzero(chunk, sizeof(chunk));
	if (!is_stdin)
		fclose(f);
	if (err == SENIM_ERR_TOO_LARGE)
		return CLI_FAILED;
	if (err || rerr) {
		cli_error(cmd, "cannot read %s", path);
		return CLI_ENV;
	}
	return CLI_OK;
}

int cli_verify_command(const char *cmd, const char *usage, const char *noun, int argc,
		       char **argv, cli_check_fn check)
{
	static const struct option longopts[] = {
		{ "public-key", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		CLI_COMMON_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct cli_args a = { .cmd = cmd, .usage = usage };
	if (cli_subcommand(&a, argc, argv, (const char *const[]){ "verify", NULL }) < 0)
		return a.rc;
	const char *pk64 = NULL;
	int opt;
	while ((opt = cli_next_option(&a, longopts)) > 0)
		if (opt == 'k')
			pk64 = optarg;
	if (opt < 0)
		return a.rc;
	char msg[96];
	if (a.first >= a.argc) {
		snprintf(msg, sizeof(msg), "which %s? give a FILE, or '-' for stdin",
			 noun);
		return cli_usage_error(&a, msg);
	}
	if (a.first + 1 < a.argc) {
		snprintf(msg, sizeof(msg), "one %s FILE at a time", noun);
		return cli_usage_error(&a, msg);
	}
	const char *path = a.argv[a.first];
	if (sodium_init() < 0) {
		cli_error(cmd, "libsodium failed to initialise");
		return CLI_ENV;
	}
	if (pk64) {
		unsigned char pk[KEYRING_PK_BYTES];
		size_t got = 0, n = strlen(pk64);
		const char *end = NULL;
		if (sodium_base642bin(pk, sizeof(pk), pk64, n, NULL, &got, &end,
				      sodium_base64_VARIANT_ORIGINAL) != 0 ||
		    got != sizeof(pk) || end != pk64 + n)
			return cli_usage_error(&a,
					       "--public-key must be 32 bytes in base64");
		return check(path, NULL, pk);
	}
	struct keyring *kr = NULL;
	enum senim_result err = keyring_open(a.common.keys, 0, &kr);
	if (err) {
		cli_error(cmd, "cannot use key file %s: %s", a.common.keys,
			  senim_result_name(err));
		return CLI_ENV;
	}
	int rc = check(path, kr, NULL);
	keyring_free(kr);
	return rc;
}
