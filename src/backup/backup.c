#include "backup/backup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "audit/audit.h"
#include "common/bigendian.h"
#include "common/clock.h"
#include "common/log.h"
#include "store/snapshot.h"
#include "vault/shred.h"
#include "common/banned.h"

#define MAGIC "SENIMBK1"
#define MAGIC_LEN 8
#define CHUNK (64 * 1024)
#define SEALED_CHUNK (CHUNK + crypto_secretstream_xchacha20poly1305_ABYTES)

/* ---- the manifest ------------------------------------------------------------ */

static int is_hex(const char *s, size_t n)
{
	if (strlen(s) != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static const char *part_name(const char *backend)
{
	return strcmp(backend, "sqlite") == 0 ? "store.sqlite" : "store.pgdump";
}

enum senim_result backup_manifest_parse(const char *text, size_t len,
					struct backup_manifest *m)
{
	memset(m, 0, sizeof(*m));
	if (!text || len > BACKUP_MANIFEST_MAX)
		return SENIM_ERR_INVALID;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	if (!root)
		return SENIM_ERR_INVALID;
	enum senim_result err = SENIM_ERR_INVALID;
	const char *format, *dep, *backend, *name, *sha;
	json_int_t schema, created, kek, bytes;
	json_t *parts;
	if (json_unpack(root, "{s:s, s:s, s:s, s:I, s:I, s:I, s:o}", "format", &format,
			"deployment", &dep, "backend", &backend, "schema_version",
			&schema, "created_at", &created, "kek_version", &kek, "parts",
			&parts) != 0)
		goto done;
	if (strcmp(format, BACKUP_FORMAT) != 0 || !deployment_id_valid(dep) ||
	    (strcmp(backend, "sqlite") != 0 && strcmp(backend, "postgres") != 0) ||
	    schema < 1 || schema > 1000000 || created < 0 || kek < 1 ||
	    kek > (json_int_t)UINT32_MAX || !json_is_array(parts) ||
	    json_array_size(parts) != 1)
		goto done;
	if (json_unpack(json_array_get(parts, 0), "{s:s, s:I, s:s}", "name", &name,
			"bytes", &bytes, "sha256", &sha) != 0)
		goto done;
	if (strcmp(name, part_name(backend)) != 0 || bytes < 0 || !is_hex(sha, 64))
		goto done;
	memcpy(m->deployment, dep, DEPLOYMENT_ID_LEN);
	snprintf(m->backend, sizeof(m->backend), "%s", backend);
	m->schema_version = (int)schema;
	m->created_at = (int64_t)created;
	m->kek_version = (uint32_t)kek;
	snprintf(m->part, sizeof(m->part), "%s", name);
	m->part_bytes = (int64_t)bytes;
	memcpy(m->part_sha256, sha, 65);
	err = SENIM_OK;
done:
	json_decref(root);
	return err;
}

static enum senim_result manifest_write(const char *dir, const struct backup_manifest *m)
{
	json_t *root =
		json_pack("{s:s, s:s, s:s, s:i, s:I, s:I, s:[{s:s, s:I, s:s}]}", "format",
			  BACKUP_FORMAT, "deployment", m->deployment, "backend",
			  m->backend, "schema_version", m->schema_version, "created_at",
			  (json_int_t)m->created_at, "kek_version",
			  (json_int_t)m->kek_version, "parts", "name", m->part, "bytes",
			  (json_int_t)m->part_bytes, "sha256", m->part_sha256);
	if (!root)
		return SENIM_ERR_NOMEM;
	char *text = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(root);
	if (!text)
		return SENIM_ERR_NOMEM;
	char tmp[4200], path[4200];
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, BACKUP_MANIFEST_NAME);
	snprintf(path, sizeof(path), "%s/%s", dir, BACKUP_MANIFEST_NAME);
	enum senim_result err = SENIM_ERR_IO;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0) {
		size_t n = strlen(text);
		int bad = write(fd, text, n) != (ssize_t)n || write(fd, "\n", 1) != 1 ||
			  fsync(fd) != 0;
		bad |= close(fd) != 0;
		/* Written last and renamed into place: a directory with a
		 * manifest holds a whole backup. */
		if (!bad && rename(tmp, path) == 0)
			err = SENIM_OK;
		else
			unlink(tmp);
	}
	free(text);
	if (!err) {
		int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			if (fsync(dfd) != 0)
				err = SENIM_ERR_IO;
			close(dfd);
		}
	}
	return err;
}

enum senim_result backup_manifest_read(const char *dir, struct backup_manifest *m)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/%s", dir, BACKUP_MANIFEST_NAME);
	FILE *f = fopen(path, "rb");
	if (!f)
		return SENIM_ERR_NOT_FOUND;
	char *text = malloc(BACKUP_MANIFEST_MAX + 1);
	if (!text) {
		fclose(f);
		return SENIM_ERR_NOMEM;
	}
	size_t n = fread(text, 1, BACKUP_MANIFEST_MAX + 1, f);
	int bad = ferror(f);
	fclose(f);
	enum senim_result err = bad ? SENIM_ERR_IO : backup_manifest_parse(text, n, m);
	free(text);
	return err;
}

/* ---- the part's encryption ----------------------------------------------------- */

/* The part's key: bound to everything the manifest says of it. */
static enum senim_result part_key(const struct keyring *kr,
				  const struct backup_manifest *m, unsigned char key[32])
{
	char ctx[256];
	int n = snprintf(ctx, sizeof(ctx), "backup|%s|%s|%lld|%s", m->deployment,
			 m->backend, (long long)m->created_at, m->part);
	return keyring_derive(kr, m->kek_version, ctx, (size_t)n, key);
}

static void progress(backup_progress_fn fn, void *ctx, const char *stage, int64_t done,
		     int64_t total)
{
	if (fn)
		fn(stage, done, total, ctx);
}

/* Encrypt the file at in into out (new, 0600); *bytes and sha get the
 * encrypted file's size and SHA-256 (hex). */
static enum senim_result encrypt_file(const unsigned char key[32], const char *in,
				      const char *out, int64_t total,
				      backup_progress_fn fn, void *ctx, int64_t *bytes,
				      char sha[65])
{
	enum senim_result err = SENIM_ERR_IO;
	unsigned char *plain = malloc(CHUNK), *sealed = malloc(4 + SEALED_CHUNK);
	FILE *src = fopen(in, "rb");
	int fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	FILE *dst = fd >= 0 ? fdopen(fd, "wb") : NULL;
	crypto_secretstream_xchacha20poly1305_state st;
	crypto_hash_sha256_state h;
	crypto_hash_sha256_init(&h);
	*bytes = 0;
	if (!plain || !sealed) {
		err = SENIM_ERR_NOMEM;
		goto done;
	}
	if (!src || !dst)
		goto done;
	unsigned char head[MAGIC_LEN + crypto_secretstream_xchacha20poly1305_HEADERBYTES];
	memcpy(head, MAGIC, MAGIC_LEN);
	crypto_secretstream_xchacha20poly1305_init_push(&st, head + MAGIC_LEN, key);
	if (fwrite(head, 1, sizeof(head), dst) != sizeof(head))
		goto done;
	crypto_hash_sha256_update(&h, head, sizeof(head));
	*bytes += (int64_t)sizeof(head);
	int64_t done_bytes = 0;
	for (;;) {
		size_t n = fread(plain, 1, CHUNK, src);
		if (ferror(src))
			goto done;
		/* A short read is the end: the stream's last chunk says so. */
		int last = n < CHUNK;
		unsigned long long clen;
		crypto_secretstream_xchacha20poly1305_push(
			&st, sealed + 4, &clen, plain, n, NULL, 0,
			last ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : 0);
		put_be32(sealed, (uint32_t)clen);
		if (fwrite(sealed, 1, 4 + clen, dst) != 4 + clen)
			goto done;
		crypto_hash_sha256_update(&h, sealed, 4 + clen);
		*bytes += (int64_t)(4 + clen);
		done_bytes += (int64_t)n;
		progress(fn, ctx, "encrypt", done_bytes, total);
		if (last)
			break;
	}
	if (fflush(dst) != 0 || fsync(fileno(dst)) != 0)
		goto done;
	unsigned char digest[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_final(&h, digest);
	sodium_bin2hex(sha, 65, digest, sizeof(digest));
	err = SENIM_OK;
done:
	sodium_memzero(&st, sizeof(st));
	if (plain)
		sodium_memzero(plain, CHUNK);
	free(plain);
	free(sealed);
	if (src)
		fclose(src);
	if (dst) {
		if (fclose(dst) != 0)
			err = SENIM_ERR_IO;
	} else if (fd >= 0) {
		close(fd);
	}
	if (err)
		unlink(out);
	return err;
}

/* The SHA-256 of the file at path matches m's, and its size. */
static enum senim_result check_part(const char *path, const struct backup_manifest *m,
				    backup_progress_fn fn, void *ctx)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return SENIM_ERR_NOT_FOUND;
	unsigned char *b = malloc(CHUNK);
	if (!b) {
		fclose(f);
		return SENIM_ERR_NOMEM;
	}
	crypto_hash_sha256_state h;
	crypto_hash_sha256_init(&h);
	int64_t total = 0;
	size_t n;
	while ((n = fread(b, 1, CHUNK, f)) > 0) {
		crypto_hash_sha256_update(&h, b, n);
		total += (int64_t)n;
		progress(fn, ctx, "check", total, m->part_bytes);
	}
	int bad = ferror(f);
	fclose(f);
	free(b);
	if (bad)
		return SENIM_ERR_IO;
	unsigned char digest[crypto_hash_sha256_BYTES];
	char hex[65];
	crypto_hash_sha256_final(&h, digest);
	sodium_bin2hex(hex, sizeof(hex), digest, sizeof(digest));
	if (total != m->part_bytes || sodium_memcmp(hex, m->part_sha256, 64) != 0)
		return SENIM_ERR_CRYPTO;
	return SENIM_OK;
}

/* Decrypt the part at in into out (new, 0600).  SENIM_ERR_CRYPTO for a
 * chunk that does not open, a stream without its FINAL chunk or with
 * bytes after it. */
static enum senim_result decrypt_file(const unsigned char key[32], const char *in,
				      const char *out, int64_t total,
				      backup_progress_fn fn, void *ctx)
{
	enum senim_result err = SENIM_ERR_IO;
	unsigned char *plain = malloc(CHUNK), *sealed = malloc(SEALED_CHUNK);
	FILE *src = fopen(in, "rb");
	int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FILE *dst = fd >= 0 ? fdopen(fd, "wb") : NULL;
	crypto_secretstream_xchacha20poly1305_state st;
	memset(&st, 0, sizeof(st));
	if (!plain || !sealed) {
		err = SENIM_ERR_NOMEM;
		goto done;
	}
	if (!src || !dst)
		goto done;
	unsigned char head[MAGIC_LEN + crypto_secretstream_xchacha20poly1305_HEADERBYTES];
	err = SENIM_ERR_CRYPTO;
	if (fread(head, 1, sizeof(head), src) != sizeof(head) ||
	    memcmp(head, MAGIC, MAGIC_LEN) != 0 ||
	    crypto_secretstream_xchacha20poly1305_init_pull(&st, head + MAGIC_LEN, key) !=
		    0)
		goto done;
	int64_t read_bytes = (int64_t)sizeof(head);
	for (;;) {
		unsigned char len4[4];
		if (fread(len4, 1, 4, src) != 4)
			goto done; /* cut before FINAL */
		uint32_t clen = get_be32(len4);
		if (clen < crypto_secretstream_xchacha20poly1305_ABYTES ||
		    clen > SEALED_CHUNK || fread(sealed, 1, clen, src) != clen)
			goto done;
		unsigned long long mlen;
		unsigned char tag;
		if (crypto_secretstream_xchacha20poly1305_pull(
			    &st, plain, &mlen, &tag, sealed, clen, NULL, 0) != 0)
			goto done;
		if (fwrite(plain, 1, mlen, dst) != mlen) {
			err = SENIM_ERR_IO;
			goto done;
		}
		read_bytes += 4 + clen;
		progress(fn, ctx, "decrypt", read_bytes, total);
		if (tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL)
			break;
	}
	if (fgetc(src) != EOF)
		goto done; /* bytes after the end */
	err = SENIM_ERR_IO;
	if (fflush(dst) != 0 || fsync(fileno(dst)) != 0)
		goto done;
	err = SENIM_OK;
done:
	sodium_memzero(&st, sizeof(st));
	if (plain)
		sodium_memzero(plain, CHUNK);
	free(plain);
	free(sealed);
	if (src)
		fclose(src);
	if (dst) {
		if (fclose(dst) != 0 && !err)
			err = SENIM_ERR_IO;
	} else if (fd >= 0) {
		close(fd);
	}
	if (err)
		unlink(out);
	return err;
}

/* ---- the audit records of a backup and a restore ------------------------------------ */

struct op_record {
	const struct keyring *kr;
	const char *actor, *request_id, *operation;
	char object[64];
};

static enum senim_result op_record_tx(struct store_tx *tx, void *ctx)
{
	struct op_record *o = ctx;
	/* S4: the copy of every borrower's (sealed) data leaves a record. */
	struct audit_record rec = { .actor = o->actor,
				    .operation = o->operation,
				    .object = o->object,
				    .subject_id = NULL,
				    .categories = "",
				    .purpose = "",
				    .outcome = "success",
				    .request_id = o->request_id };
	return audit_append(tx, o->kr, &rec);
}

static enum senim_result record_op(struct store *st, const struct keyring *kr,
				   const char *actor, const char *request_id,
				   const char *operation, const struct backup_manifest *m)
{
	struct op_record o = {
		.kr = kr, .actor = actor, .request_id = request_id, .operation = operation
	};
	snprintf(o.object, sizeof(o.object), "backup:%s:%lld", m->deployment,
		 (long long)m->created_at);
	return store_write(st, op_record_tx, &o);
}

/* ---- backing up -------------------------------------------------------------------- */

enum senim_result backup_make(struct backup_make *op)
{
	struct backup_manifest *m = &op->manifest;
	memset(m, 0, sizeof(*m));
	char snap[4200], part[4200], path[4200];
	if (mkdir(op->dir, 0700) != 0 && errno != EEXIST)
		return SENIM_ERR_IO;
	snprintf(path, sizeof(path), "%s/%s", op->dir, BACKUP_MANIFEST_NAME);
	if (access(path, F_OK) == 0)
		return SENIM_ERR_CONFLICT;
	enum store_kind kind = snapshot_kind(op->target);
	snprintf(m->deployment, sizeof(m->deployment), "%s", op->deployment);
	snprintf(m->backend, sizeof(m->backend), "%s",
		 kind == STORE_SQLITE ? "sqlite" : "postgres");
	m->schema_version = op->schema_version;
	m->created_at = clock_now_us();
	m->kek_version = keyring_kek_version(op->kr);
	snprintf(m->part, sizeof(m->part), "%s", part_name(m->backend));
	if (snprintf(snap, sizeof(snap), "%s/.snapshot.tmp", op->dir) >=
		    (int)sizeof(snap) ||
	    snprintf(part, sizeof(part), "%s/%s", op->dir, m->part) >= (int)sizeof(part))
		return SENIM_ERR_INVALID;
	/* Leftovers of an interrupted run: never a backup (no manifest). */
	unlink(snap);
	unlink(part);
	progress(op->progress, op->ctx, "snapshot", 0, 0);
	enum senim_result err = snapshot_take(op->target, snap, &op->store_bytes);
	if (err)
		return err;
	unsigned char key[32];
	err = part_key(op->kr, m, key);
	if (!err)
		err = encrypt_file(key, snap, part, op->store_bytes, op->progress,
				   op->ctx, &m->part_bytes, m->part_sha256);
	sodium_memzero(key, sizeof(key));
	unlink(snap);
	if (!err)
		err = manifest_write(op->dir, m);
	if (err) {
		unlink(part);
		return err;
	}
	return op->st ? record_op(op->st, op->kr, op->actor, op->request_id,
				  "backup.make", m)
		      : SENIM_OK;
}

/* ---- restoring ------------------------------------------------------------------------ */

struct reshred {
	struct store *st;
	struct keyring *kr;
	const char *actor, *request_id;
	int64_t n, unsettled;
	/* the entry being applied */
	const char *id;
	enum shred_mode mode;
};

static enum senim_result reshred_tx(struct store_tx *tx, void *ctx)
{
	struct reshred *r = ctx;
	struct shred_counts counts;
	enum senim_result err = shred_subject_tx(tx, r->id, r->mode, &counts);
	if (err)
		return err;
	char object[96];
	snprintf(object, sizeof(object), "subject:%s", r->id);
	/* C3: what was done again, never the data. */
	struct audit_record rec = { .actor = r->actor,
				    .operation = "restore.shred",
				    .object = object,
				    .subject_id = r->id,
				    .categories = "",
				    .purpose = "legal_obligation",
				    .outcome = counts.keys ? "success" : "unchanged",
				    .request_id = r->request_id };
	return audit_append(tx, r->kr, &rec);
}

static enum senim_result reshred_one(void *ctx, const char *subject_id,
				     enum shred_mode mode, int64_t at, const char *token,
				     enum shred_state state)
{
	(void)at;
	(void)token;
	struct reshred *r = ctx;
	/* Its transaction rolled back: the subject was never shredded, and may
	 * have been held or lent to since (vault/shred.h). */
	if (state == SHRED_STATE_ROLLED_BACK)
		return SENIM_OK;
	/* No store could tell (shred_journal_settle): shredded, so a subject
	 * whose shredding may have committed is never brought back. */
	if (state == SHRED_STATE_UNSETTLED)
		r->unsettled++;
	r->id = subject_id;
	r->mode = mode;
	enum senim_result err = store_write(r->st, reshred_tx, r);
	if (!err)
		r->n++;
	return err;
}

enum senim_result backup_reshred(struct store *st, struct keyring *kr,
				 const char *journal, const char *actor,
				 const char *request_id, int64_t *n)
{
	struct reshred r = {
		.st = st, .kr = kr, .actor = actor, .request_id = request_id
	};
	unsigned bad_line = 0;
	enum senim_result err = shred_journal_each(journal, reshred_one, &r, &bad_line);
	*n = r.n;
	if (r.unsettled) {
		char count[24];
		snprintf(count, sizeof(count), "%lld", (long long)r.unsettled);
		log_event(LOG_WARN, "restore_shred_unsettled", "subjects", count,
			  "reason",
			  "intents without an outcome the replaced store could settle",
			  NULL);
	}
	if (err == SENIM_ERR_INVALID)
		log_event(LOG_ERROR, "restore_journal_invalid", "reason",
			  "a malformed line in the shred journal", NULL);
	if (err)
		return err;
	/* The deleted keys' bytes must not stay in the engine's log. */
	for (int i = 0; i < 50; i++) {
		err = store_forget_freed(st);
		if (err != SENIM_ERR_UNAVAILABLE)
			break;
		usleep(100 * 1000);
	}
	return err;
}

/* Open the store at target, bring its schema up to date and shred the
 * journal's subjects again. */
static enum senim_result reshred_store(struct backup_restore *op, const char *target)
{
	struct store *st = NULL;
	enum senim_result err = store_open(target, 1, &st);
	if (!err)
		err = store_migrate(st, NULL);
	if (!err)
		err = backup_reshred(st, op->kr, op->journal, op->actor, op->request_id,
				     &op->reshredded);
	if (!err)
		err = record_op(st, op->kr, op->actor, op->request_id, "backup.restore",
				&op->manifest);
	store_free(st);
	return err;
}

static void remove_sqlite(const char *path)
{
	char side[4300];
	unlink(path);
	snprintf(side, sizeof(side), "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", path);
	unlink(side);
}

static enum senim_result marker_write(const char *path, const struct backup_manifest *m)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return SENIM_ERR_IO;
	char line[128];
	int n = snprintf(line, sizeof(line), "%s %lld\n", m->deployment,
			 (long long)m->created_at);
	int bad = write(fd, line, (size_t)n) != n || fsync(fd) != 0;
	bad |= close(fd) != 0;
	return bad ? SENIM_ERR_IO : SENIM_OK;
}

/*
 * The audit anchor describes the log the restore replaces, which is longer
 * than the backup's: kept under another name as the record of what was
 * replaced, and a new anchor started for the restored log (so `audit
 * verify` checks the restored log against what is written from now on).
 */
static enum senim_result anchor_set_aside(void)
{
	const char *path = audit_anchor_path();
	if (!path)
		return SENIM_OK;
	char current[4200], aside[4300];
	snprintf(current, sizeof(current), "%s", path);
	snprintf(aside, sizeof(aside), "%s.before-restore-%lld", current,
		 (long long)clock_now_us());
	if (rename(current, aside) != 0 && errno != ENOENT)
		return SENIM_ERR_IO;
	return audit_anchor_open(current);
}

enum senim_result backup_restore(struct backup_restore *op)
{
	struct backup_manifest *m = &op->manifest;
	op->reshredded = 0;
	enum senim_result err = backup_manifest_read(op->dir, m);
	if (err == SENIM_ERR_NOT_FOUND || err == SENIM_ERR_INVALID)
		return SENIM_ERR_INVALID;
	if (err)
		return err;
	if (strcmp(m->deployment, op->deployment) != 0)
		return SENIM_ERR_CONFLICT;
	enum store_kind kind = snapshot_kind(op->target);
	if (strcmp(m->backend, kind == STORE_SQLITE ? "sqlite" : "postgres") != 0 ||
	    m->schema_version > op->schema_latest)
		return SENIM_ERR_INVALID;
	char part[4200];
	snprintf(part, sizeof(part), "%s/%s", op->dir, m->part);
	err = check_part(part, m, op->progress, op->ctx);
	if (err == SENIM_ERR_NOT_FOUND)
		return SENIM_ERR_INVALID;
	if (err)
		return err;
	unsigned char key[32];
	err = part_key(op->kr, m, key);
	if (err == SENIM_ERR_NOT_FOUND)
		err = SENIM_ERR_CRYPTO; /* a KEK version the ring lacks */
	if (!err) {
		remove_sqlite(op->work);
		err = decrypt_file(key, part, op->work, m->part_bytes, op->progress,
				   op->ctx);
	}
	sodium_memzero(key, sizeof(key));
	if (err)
		return err;
	/* From here the store may change: the marker keeps it unusable until
	 * the journal is applied again. */
	err = marker_write(op->marker, m);
	if (!err)
		err = anchor_set_aside();
	if (err)
		goto done;
	if (kind == STORE_SQLITE) {
		/* Shred in the copy first: the store never holds the keys the
		 * journal destroyed. */
		progress(op->progress, op->ctx, "shred", 0, 0);
		err = reshred_store(op, op->work);
		if (err)
			goto done;
		progress(op->progress, op->ctx, "restore", 0, 0);
		err = snapshot_restore(op->target, op->work);
		if (err)
			goto done;
		/* The copy went in through the WAL: empty it too. */
		struct store *st = NULL;
		err = store_open(op->target, 1, &st);
		for (int i = 0; !err && i < 50; i++) {
			err = store_forget_freed(st);
			if (err != SENIM_ERR_UNAVAILABLE)
				break;
			usleep(100 * 1000);
		}
		store_free(st);
	} else {
		progress(op->progress, op->ctx, "restore", 0, 0);
		err = snapshot_restore(op->target, op->work);
		if (!err) {
			progress(op->progress, op->ctx, "shred", 0, 0);
			err = reshred_store(op, op->target);
		}
	}
	if (!err && unlink(op->marker) != 0)
		err = SENIM_ERR_IO;
done:
	remove_sqlite(op->work);
	return err;
}
