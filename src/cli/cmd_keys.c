/*
 * cmd_keys.c — `senim keys status|rotate`: the key-encryption keys (KEKs)
 * that wrap every subject's data key (S1).
 *
 * Rotation adds a KEK version to the key file (keyfile_add_kek: an atomic
 * rewrite, old versions kept) and then rewraps every data key still on an
 * older version, in batches of ROTATE_BATCH rows, one write transaction per
 * batch.  Each row is updated only if its KEK version is still the one read
 * (so a concurrent writer is never overwritten), and the data keys
 * themselves do not change, so the server keeps serving throughout: it
 * opens old and new wrappings alike, and picks up the new version when it
 * first meets it (keyring_unseal reloads the file).  An interrupted
 * rotation is finished with `senim keys rotate --resume`.
 *
 * The batches walk subject_keys in subject_id order after the last id seen,
 * so a row that cannot be rewrapped (its KEK is missing, its bytes damaged)
 * is reported and passed over instead of being picked up forever.  Rows that
 * a server which had not reloaded yet wrapped with an old KEK behind the
 * walk are caught by a further pass (at most ROTATE_PASSES), and a last walk
 * starts no sooner than ROTATE_SETTLE_US after the KEK was added: by then
 * every process that seals has noticed the new version (keyring_seal looks
 * at the key file once a second), so none wraps with the old one any more.
 *
 * Audit: one record when a rotation starts — written before the key file
 * changes, so that no change to it goes unrecorded — and one when it ends,
 * with its outcome ("keys.rotate", object "kek:<version>", actor "cli").
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit/audit.h"
#include "cli/cli.h"
#include "common/buf.h"
#include "common/clock.h"
#include "vault/keyfile.h"
#include "vault/vault.h"
#include "common/banned.h"

#define ROTATE_BATCH 500
#define ROTATE_PASSES 5
#define ROTATE_SHOW_FAILED 10
#define ROTATE_SETTLE_US 2000000 /* see do_rotate() */
#define KEYS_AUDIT_PURPOSE "security_compliance"

static const char keys_usage[] =
	"usage: senim keys status [OPTIONS]\n"
	"       senim keys rotate [--resume] [OPTIONS]\n\n"
	"Every borrower's data is encrypted with the borrower's own data key, which\n"
	"is stored only wrapped by a key-encryption key (KEK) from the key file.\n\n"
	"status   list the KEK versions in the key file and how many data keys\n"
	"         each version wraps\n"
	"rotate   add a new KEK version to the key file, then rewrap every data key\n"
	"         under it, 500 per transaction, while the server keeps serving.\n"
	"         Older versions stay in the key file, so nothing becomes\n"
	"         unreadable; the data itself is not re-encrypted.\n\n"
	"options:\n"
	"  --resume         (rotate) finish an interrupted rotation: rewrap under\n"
	"                   the newest version without adding one\n" CLI_COMMON_HELP
	"  -h, --help       this text\n\n"
	"exit codes: 0 success, 1 some data keys could not be rewrapped, or (status)\n"
	"            some data keys use a KEK version the key file lacks,\n"
	"            2 usage error, 3 environment error (store, key file, I/O)\n";

static const char SQL_COUNT_BY_VERSION[] =
	"SELECT kek_version, count(*) FROM subject_keys GROUP BY kek_version"
	" ORDER BY kek_version";
static const char SQL_COUNT_OLDER[] =
	"SELECT count(*) FROM subject_keys WHERE kek_version < $1";
static const char SQL_BATCH[] =
	"SELECT subject_id, wrapped, kek_version FROM subject_keys"
	" WHERE kek_version < $1 AND subject_id > $2"
	" ORDER BY subject_id LIMIT 500";
static const char SQL_REWRAP[] =
	"UPDATE subject_keys SET wrapped = $1, kek_version = $2, rewrapped_at = $3"
	" WHERE subject_id = $4 AND kek_version = $5";

_Static_assert(ROTATE_BATCH == 500, "SQL_BATCH's LIMIT");

/* ---- counting data keys by KEK version ------------------------------------- */

struct version_count {
	int64_t version;
	int64_t count;
};

struct counts {
	struct version_count *v;
	size_t n;
};

static enum senim_result count_fn(struct store_tx *tx, void *ctx)
{
	struct counts *c = ctx;
	struct store_rows *r = NULL;
	int has = 0;
	c->n = 0;
	enum senim_result err = store_query(tx, SQL_COUNT_BY_VERSION, NULL, 0, &r);
	while (!err && (err = store_rows_next(r, &has)) == SENIM_OK && has) {
		struct version_count *grown = realloc(c->v, (c->n + 1) * sizeof(*c->v));
		if (!grown) {
			err = SENIM_ERR_NOMEM;
			break;
		}
		c->v = grown;
		c->v[c->n].version = store_rows_int(r, 0);
		c->v[c->n].count = store_rows_int(r, 1);
		c->n++;
	}
	store_rows_free(r);
	return err;
}

static enum senim_result count_keys(struct store *st, struct counts *c)
{
	enum senim_result err = store_read(st, count_fn, c);
	if (err)
		cli_error("keys",
			  "cannot count the data keys in subject_keys: %s (is the schema "
			  "current? run 'senim migrate')",
			  senim_result_name(err));
	return err;
}

static int in_ring(const uint32_t *versions, size_t n, int64_t v)
{
	for (size_t i = 0; i < n; i++)
		if ((int64_t)versions[i] == v)
			return 1;
	return 0;
}

/* Print the ring's versions as "1, 2, 3". */
static void print_versions(FILE *out, const struct keyring *kr)
{
	uint32_t v[256];
	size_t n = keyring_kek_versions(kr, v, sizeof(v) / sizeof(v[0]));
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%s%" PRIu32, i ? ", " : "", v[i]);
}

/*
 * The table of data keys per KEK version; returns CLI_FAILED when some are
 * wrapped by a version the key file lacks (they cannot be opened).
 */
static int print_counts(const struct keyring *kr, const struct counts *c)
{
	uint32_t v[256];
	size_t nv = keyring_kek_versions(kr, v, sizeof(v) / sizeof(v[0]));
	uint32_t newest = keyring_kek_version(kr);
	int64_t total = 0, older = 0, missing = 0;
	printf("%-12s %12s\n", "KEK VERSION", "DATA KEYS");
	for (size_t i = 0; i < c->n; i++) {
		int known = in_ring(v, nv, c->v[i].version);
		printf("%-12" PRId64 " %12" PRId64 "%s\n", c->v[i].version, c->v[i].count,
		       known ? "" : "   NOT IN THE KEY FILE: these cannot be opened");
		total += c->v[i].count;
		if (!known)
			missing += c->v[i].count;
		else if (c->v[i].version < (int64_t)newest)
			older += c->v[i].count;
	}
	printf("%-12s %12" PRId64 "\n", "total", total);
	if (older)
		printf("\n%" PRId64 " data keys are wrapped by an older KEK version; "
		       "'senim keys rotate --resume'\nrewraps them under version %" PRIu32
		       ".\n",
		       older, newest);
	if (missing) {
		printf("\n%" PRId64
		       " data keys are wrapped by a KEK version missing from "
		       "the key file.\nRestore that version from the key file's "
		       "backup.\n",
		       missing);
		return CLI_FAILED;
	}
	return CLI_OK;
}

static int do_status(struct cli_common *common, struct store *st, struct keyring *kr)
{
	printf("key file:     %s\n", common->keys);
	printf("KEK versions: ");
	print_versions(stdout, kr);
	printf(" (newest %" PRIu32 " seals new data keys)\n\n", keyring_kek_version(kr));
	struct counts c = { NULL, 0 };
	int rc = count_keys(st, &c) ? CLI_ENV : print_counts(kr, &c);
	free(c.v);
	return rc;
}

/* ---- rotation ----------------------------------------------------------------- */

struct batch_row {
	char *id;		/* malloc'ed copy of the whole id */
	unsigned char *wrapped; /* malloc'ed copy; no secret */
	size_t len;
	int64_t version;
	int usable; /* a subject id this code can bind to */
};

struct rotate {
	const struct keyring *kr;
	uint32_t target;
	char *after; /* the walk's position: the last id seen (malloc'ed) */
	struct batch_row rows[ROTATE_BATCH];
	size_t nrows;
	/* this batch's results, kept only when it commits */
	int64_t b_done, b_failed, b_skipped;
	char b_failed_ids[ROTATE_SHOW_FAILED][VAULT_SUBJECT_ID_MAX + 1];
	size_t b_nfailed_ids;
	enum senim_result b_last_err;
	/* totals */
	int64_t done, failed, skipped, total;
	char failed_ids[ROTATE_SHOW_FAILED][VAULT_SUBJECT_ID_MAX + 1];
	size_t nfailed_ids;
	enum senim_result last_failure;
};

static void rows_release(struct rotate *ro)
{
	for (size_t i = 0; i < ro->nrows; i++) {
		free(ro->rows[i].id);
		free(ro->rows[i].wrapped);
	}
	ro->nrows = 0;
}

/* Read the next batch into ro->rows (the cursor is closed before any
 * update, so no backend has to update the table it is scanning). */
static enum senim_result read_batch(struct store_tx *tx, struct rotate *ro)
{
	struct store_val p[] = { SV_INT(ro->target), SV_TEXT(ro->after) };
	struct store_rows *r = NULL;
	int has = 0;
	enum senim_result err = store_query(tx, SQL_BATCH, p, 2, &r);
	while (!err && ro->nrows < ROTATE_BATCH &&
	       (err = store_rows_next(r, &has)) == SENIM_OK && has) {
		struct batch_row *row = &ro->rows[ro->nrows];
		size_t idlen = 0, len = 0;
		const char *id = store_rows_text(r, 0, &idlen);
		const void *w = store_rows_blob(r, 1, &len);
		if (!id)
			idlen = 0;
		/* An id the vault cannot bind to is reported, not rewrapped,
		 * and still moves the walk on. */
		row->usable = idlen >= 1 && idlen <= VAULT_SUBJECT_ID_MAX &&
			      !memchr(id, '\0', idlen);
		row->id = malloc(idlen + 1);
		row->wrapped = malloc(len ? len : 1);
		if (!row->id || !row->wrapped) {
			free(row->id);
			free(row->wrapped);
			err = SENIM_ERR_NOMEM;
			break;
		}
		if (idlen)
			memcpy(row->id, id, idlen);
		row->id[idlen] = '\0';
		if (len)
			memcpy(row->wrapped, w, len);
		row->len = len;
		row->version = store_rows_int(r, 2);
		ro->nrows++;
	}
	store_rows_free(r);
	return err;
}

static void note_failure(struct rotate *ro, const char *id, enum senim_result err)
{
	ro->b_failed++;
	ro->b_last_err = err;
	/* Ids are opaque (never personal data); long ones are cut. */
	if (ro->b_nfailed_ids < ROTATE_SHOW_FAILED)
		snprintf(ro->b_failed_ids[ro->b_nfailed_ids++], VAULT_SUBJECT_ID_MAX + 1,
			 "%s", id);
}

/* One batch, in one write transaction. */
static enum senim_result batch_fn(struct store_tx *tx, void *ctx)
{
	struct rotate *ro = ctx;
	/* store_write may run fn more than once; start clean each time. */
	rows_release(ro);
	ro->b_done = ro->b_failed = ro->b_skipped = 0;
	ro->b_nfailed_ids = 0;
	enum senim_result err = read_batch(tx, ro);
	if (err)
		return err;
	int64_t now = clock_now_us();
	struct buf out;
	buf_init(&out, 4096);
	for (size_t i = 0; i < ro->nrows; i++) {
		struct batch_row *row = &ro->rows[i];
		uint32_t got = 0;
		buf_reset(&out);
		enum senim_result rerr =
			row->usable ? vault_dek_rewrap(ro->kr, row->id, row->wrapped,
						       row->len, &out, &got)
				    : SENIM_ERR_INVALID;
		if (rerr == SENIM_ERR_NOMEM) {
			err = rerr;
			goto fail;
		}
		if (rerr) {
			note_failure(ro, row->id, rerr);
			continue;
		}
		struct store_val p[] = {
			SV_BLOB(out.data, out.len), SV_INT(got),	  SV_INT(now),
			SV_TEXT(row->id),	    SV_INT(row->version),
		};
		int64_t changes = 0;
		err = store_exec(tx, SQL_REWRAP, p, 5, &changes);
		if (err)
			goto fail;
		if (changes == 1)
			ro->b_done++;
		else
			ro->b_skipped++; /* changed by someone else meanwhile */
	}
fail:
	buf_release(&out);
	return err;
}

static enum senim_result count_older_fn(struct store_tx *tx, void *ctx)
{
	struct rotate *ro = ctx;
	struct store_val p[] = { SV_INT(ro->target) };
	struct store_rows *r = NULL;
	ro->total = 0;
	enum senim_result err = store_query_one(tx, SQL_COUNT_OLDER, p, 1, &r);
	if (err)
		return err;
	ro->total = store_rows_int(r, 0);
	store_rows_free(r);
	return SENIM_OK;
}

struct rotate_audit {
	const struct keyring *kr;
	const char *object;
	const char *outcome;
	const char *run_id;
};

static enum senim_result audit_fn(struct store_tx *tx, void *ctx)
{
	const struct rotate_audit *a = ctx;
	struct audit_record rec = {
		.actor = "cli",
		.operation = "keys.rotate",
		.object = a->object,
		.subject_id = NULL,
		.categories = "",
		.purpose = KEYS_AUDIT_PURPOSE,
		.outcome = a->outcome,
		.request_id = a->run_id,
	};
	return audit_append(tx, a->kr, &rec);
}

static enum senim_result audit_rotation(struct store *st, const struct keyring *kr,
					const struct cli_common *common, uint32_t version,
					const char *outcome)
{
	char object[32];
	snprintf(object, sizeof(object), "kek:%" PRIu32, version);
	struct rotate_audit a = { kr, object, outcome, common->run_id };
	enum senim_result err = store_write(st, audit_fn, &a);
	if (err)
		cli_error("keys", "cannot write the audit record: %s",
			  senim_result_name(err));
	return err;
}

static void progress(const struct rotate *ro, int tty)
{
	if (!tty)
		return;
	int64_t of = ro->total > ro->done ? ro->total : ro->done;
	fprintf(stderr, "\rrewrapped %" PRId64 "/%" PRId64 " data keys", ro->done, of);
	fflush(stderr);
}

/* Walk subject_keys until a pass finds nothing left to rewrap. */
static enum senim_result rewrap_all(struct store *st, struct rotate *ro, int tty)
{
	enum senim_result err = SENIM_OK;
	for (int pass = 0; pass < ROTATE_PASSES; pass++) {
		int64_t before = ro->done;
		/* Every pass meets every row that cannot be rewrapped: count
		 * those of the last pass only. */
		ro->failed = 0;
		ro->nfailed_ids = 0;
		free(ro->after);
		ro->after = strdup("");
		if (!ro->after) {
			err = SENIM_ERR_NOMEM;
			goto fail;
		}
		for (;;) {
			err = store_write(st, batch_fn, ro);
			if (err)
				goto fail;
			ro->done += ro->b_done;
			ro->failed += ro->b_failed;
			ro->skipped += ro->b_skipped;
			if (ro->b_failed)
				ro->last_failure = ro->b_last_err;
			for (size_t i = 0; i < ro->b_nfailed_ids &&
					   ro->nfailed_ids < ROTATE_SHOW_FAILED;
			     i++)
				memcpy(ro->failed_ids[ro->nfailed_ids++],
				       ro->b_failed_ids[i], VAULT_SUBJECT_ID_MAX + 1);
			size_t n = ro->nrows;
			if (n) {
				free(ro->after);
				ro->after = ro->rows[n - 1].id;
				ro->rows[n - 1].id = NULL;
			}
			rows_release(ro);
			progress(ro, tty);
			if (n < ROTATE_BATCH)
				break;
		}
		/* A further pass only for rows that appeared behind the walk;
		 * failed rows would be found again, so they do not count. */
		if (ro->done == before)
			break;
		err = store_read(st, count_older_fn, ro);
		int64_t left = ro->total;
		ro->total = ro->done + left;
		if (err)
			goto fail;
		if (left <= ro->failed)
			break;
	}
fail:
	rows_release(ro);
	if (tty)
		fputc('\n', stderr);
	return err;
}

/* Add a KEK version to the key file and take it into kr: *target gets it. */
static enum senim_result add_kek(const char *path, struct keyring *kr, uint32_t *target)
{
	enum senim_result err = keyfile_add_kek(path, target);
	if (err)
		return err;
	return keyring_reload(kr);
}

/* Rewrap every data key on an older KEK version than ro->target. */
static enum senim_result rewrap(struct store *st, struct rotate *ro, int resume,
				int64_t added_at)
{
	enum senim_result err = store_read(st, count_older_fn, ro);
	if (err)
		return err;
	err = rewrap_all(st, ro, isatty(2));
	if (err || resume)
		return err;
	/* Servers that had not yet seen the new KEK may have wrapped new data
	 * keys with the old one meanwhile: wait until they all have, then walk
	 * once more. */
	int64_t wait = added_at + ROTATE_SETTLE_US - clock_mono_us();
	if (wait > 0)
		usleep((useconds_t)wait);
	return rewrap_all(st, ro, isatty(2));
}

static int do_rotate(struct cli_common *common, struct store *st, struct keyring *kr,
		     int resume)
{
	uint32_t target = keyring_kek_version(kr);
	int64_t added_at = clock_mono_us();
	enum senim_result err;
	/* The record comes first: a key file is never changed without one (a
	 * store that cannot take it stops the rotation before it begins). */
	uint32_t next = resume ? target : target + 1;
	if (audit_rotation(st, kr, common, next, "started"))
		return CLI_ENV;
	if (!resume) {
		err = add_kek(common->keys, kr, &target);
		if (err) {
			cli_error("keys", "cannot add a KEK version to %s: %s",
				  common->keys, senim_result_name(err));
			(void)audit_rotation(st, kr, common, next, "failed");
			return CLI_ENV;
		}
		if (target != next || keyring_kek_version(kr) < target) {
			cli_error("keys",
				  "the key file was changed by someone else during "
				  "the rotation; run 'senim keys rotate --resume'");
			(void)audit_rotation(st, kr, common, next, "failed");
			return CLI_ENV;
		}
	}

	struct rotate *ro = calloc(1, sizeof(*ro));
	if (!ro) {
		cli_error("keys", "out of memory");
		return CLI_ENV;
	}
	ro->kr = kr;
	ro->target = target;
	int64_t t0 = clock_mono_us();
	err = rewrap(st, ro, resume, added_at);
	double secs = (double)(clock_mono_us() - t0) / 1e6;
	int rc = CLI_OK;
	if (err) {
		cli_error("keys",
			  "rotation stopped after %" PRId64 " data keys: %s; run 'senim "
			  "keys rotate --resume' to finish it",
			  ro->done, senim_result_name(err));
		rc = CLI_ENV;
	} else if (ro->failed) {
		rc = CLI_FAILED;
	}
	/* The end record is written even after a failure: it says how the
	 * rotation ended. */
	enum senim_result aerr = audit_rotation(st, kr, common, target,
						rc == CLI_OK ? "success" : "failed");
	if (aerr && rc == CLI_OK)
		rc = CLI_ENV;

	if (!resume)
		printf("KEK version %" PRIu32 " added to %s.\n", target, common->keys);
	printf("KEK versions: ");
	print_versions(stdout, kr);
	printf("\nRewrapped %" PRId64 " data keys under KEK version %" PRIu32
	       " in %.1f s.\n",
	       ro->done, target, secs);
	if (ro->skipped)
		printf("%" PRId64 " data keys were rewrapped concurrently by another "
		       "process.\n",
		       ro->skipped);
	if (ro->failed) {
		printf("%" PRId64 " data keys could not be rewrapped (%s: their KEK "
		       "version is missing\nfrom the key file, or they are damaged). "
		       "Subjects:",
		       ro->failed, senim_result_name(ro->last_failure));
		for (size_t i = 0; i < ro->nfailed_ids; i++)
			printf(" %s", ro->failed_ids[i]);
		printf("%s\n", ro->failed > (int64_t)ro->nfailed_ids ? " ..." : "");
	}
	if (err)
		goto fail;
	struct counts c = { NULL, 0 };
	if (count_keys(st, &c) == SENIM_OK) {
		printf("\n");
		int prc = print_counts(kr, &c);
		if (prc != CLI_OK && rc == CLI_OK)
			rc = prc;
	} else if (rc == CLI_OK) {
		rc = CLI_ENV;
	}
	free(c.v);
fail:
	free(ro->after);
	free(ro);
	return rc;
}

int cmd_keys(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "resume", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		CLI_COMMON_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct cli_args a = { .cmd = "keys", .usage = keys_usage };
	int sub = cli_subcommand(&a, argc, argv,
				 (const char *const[]){ "status", "rotate", NULL });
	if (sub < 0)
		return a.rc;
	int is_rotate = sub == 1;
	int resume = 0;
	int opt;
	while ((opt = cli_next_option(&a, longopts)) > 0)
		if (opt == 'r')
			resume = 1;
	if (opt < 0)
		return a.rc;
	if (a.first < a.argc)
		return cli_usage_error(&a, "unexpected argument");
	if (resume && !is_rotate)
		return cli_usage_error(&a, "--resume is for 'keys rotate'");

	struct store *st = NULL;
	struct keyring *kr = NULL;
	int rc = cli_open(&a.common, 1, &st, &kr);
	if (rc != CLI_OK)
		return rc;
	rc = is_rotate ? do_rotate(&a.common, st, kr, resume)
		       : do_status(&a.common, st, kr);
	store_free(st);
	keyring_free(kr);
	return rc;
}
