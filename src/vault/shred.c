/*
 * shred.c — crypto-shredding and its journal (shred.h).
 */
#include "vault/shred.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "vault/vault.h"
#include "common/banned.h"

#define JOURNAL_LINE_MAX 128
#define JOURNAL_ID_MAX 64

const char *shred_mode_code(enum shred_mode m)
{
	return m == SHRED_DESTROY ? "destroy" : "anonymise";
}

/* ---- in the store ------------------------------------------------------------- */

static enum senim_result del(struct store_tx *tx, const char *sql, const char *id,
			     int64_t *count)
{
	int64_t n = 0;
	enum senim_result err =
		store_exec(tx, sql, (struct store_val[]){ SV_TEXT(id) }, 1, &n);
	if (!err)
		*count += n;
	return err;
}

enum senim_result shred_subject_tx(struct store_tx *tx, const char *subject_id,
				   enum shred_mode mode, struct shred_counts *c)
{
	memset(c, 0, sizeof(*c));
	/* The key first: once it is gone nothing sealed for the subject opens,
	 * whatever of the rest a failure below would leave (it rolls back
	 * together anyway). */
	enum senim_result err = del(tx, "DELETE FROM subject_keys WHERE subject_id = $1",
				    subject_id, &c->keys);
	if (!err)
		err = del(tx, "DELETE FROM subject_index WHERE subject_id = $1",
			  subject_id, &c->indexes);
	/* Sign-in ends with the subject: no token outlives their data. */
	if (!err)
		err = del(tx, "DELETE FROM borrower_tokens WHERE subject_id = $1",
			  subject_id, &c->other);
	if (err || mode != SHRED_DESTROY)
		return err;
	err = del(tx, "DELETE FROM subject_records WHERE subject_id = $1", subject_id,
		  &c->records);
	/* Findings name the source rows they came from: they go first. */
	if (!err)
		err = del(tx, "DELETE FROM subject_findings WHERE subject_id = $1",
			  subject_id, &c->other);
	if (!err)
		err = del(tx, "DELETE FROM subject_sources WHERE subject_id = $1",
			  subject_id, &c->records);
	if (!err)
		err = del(tx, "DELETE FROM phone_changes WHERE subject_id = $1",
			  subject_id, &c->records);
	/* The rights work's sealed rows (access packages, corrections and
	 * their evidence, a request's text), a declared income and the payout
	 * cards: here, not
	 * in their modules, so a restore's shredding again (backup_reshred)
	 * takes them too.  What other tables keep sealed under NOT NULL (a
	 * contract, a loan's number, a payout account) stays, unreadable
	 * without the key. */
	if (!err)
		err = del(tx, "DELETE FROM rights_packages WHERE subject_id = $1",
			  subject_id, &c->records);
	if (!err)
		err = del(tx, "DELETE FROM rights_corrections WHERE subject_id = $1",
			  subject_id, &c->records);
	if (!err)
		err = del(tx,
			  "UPDATE rights_requests SET text_sealed = NULL"
			  " WHERE subject_id = $1 AND text_sealed IS NOT NULL",
			  subject_id, &c->other);
	if (!err)
		err = del(tx,
			  "UPDATE applications SET income_sealed = NULL"
			  " WHERE subject_id = $1 AND income_sealed IS NOT NULL",
			  subject_id, &c->other);
	/* The payout cards (the provider's tokens, the masked numbers): no
	 * row points at one but a sealed application value, unreadable now. */
	if (!err)
		err = del(tx, "DELETE FROM cards WHERE subject_id = $1", subject_id,
			  &c->records);
	return err;
}

#define SOURCE_ID_MAX 64

/* The ids of the subject's source rows, into a new array *ids (*count). */
static enum senim_result source_ids(struct store_tx *tx, const char *subject_id,
				    char (**ids)[SOURCE_ID_MAX], size_t *count)
{
	*ids = NULL;
	*count = 0;
	struct store_rows *r;
	enum senim_result err =
		store_query(tx, "SELECT id FROM subject_sources WHERE subject_id = $1",
			    (struct store_val[]){ SV_TEXT(subject_id) }, 1, &r);
	if (err)
		return err;
	size_t cap = 0;
	int has;
	while ((err = store_rows_next(r, &has)) == SENIM_OK && has) {
		if (*count == cap) {
			cap = cap ? 2 * cap : 8;
			char(*grown)[SOURCE_ID_MAX] = realloc(*ids, cap * sizeof(**ids));
			if (!grown) {
				err = SENIM_ERR_NOMEM;
				break;
			}
			*ids = grown;
		}
		snprintf((*ids)[(*count)++], SOURCE_ID_MAX, "%s",
			 store_rows_text(r, 0, NULL));
	}
	store_rows_free(r);
	return err;
}

/* Whether a source record has a field of `category` ("<category>.<field>"). */
static int carries(json_t *fields, const char *category)
{
	size_t cl = strlen(category);
	const char *key;
	json_t *value;
	json_object_foreach(fields, key, value)
	{
		if (strncmp(key, category, cl) == 0 && key[cl] == '.')
			return 1;
	}
	return 0;
}

/* One source row: when it carries fields of `category` it goes, with the
 * findings that name it (a mismatch of medical data says something about
 * it too).  No shipped service answers with fields of two categories; one
 * that did would lose the other's with it, never keep the purged one. */
static enum senim_result purge_source(struct store_tx *tx, const struct vault_dek *dek,
				      const char *subject_id, const char *source_id,
				      const char *category, int64_t *n)
{
	struct store_rows *r;
	json_t *fields = NULL;
	enum senim_result err =
		store_query_one(tx, "SELECT sealed FROM subject_sources WHERE id = $1",
				(struct store_val[]){ SV_TEXT(source_id) }, 1, &r);
	if (err)
		return err;
	size_t len;
	const void *blob = store_rows_blob(r, 0, &len);
	err = vault_open_record(dek, subject_id, "source", 0, blob, len, &fields);
	store_rows_free(r);
	if (err || !carries(fields, category))
		goto fail;
	err = store_exec(tx, "DELETE FROM subject_findings WHERE source_id = $1",
			 (struct store_val[]){ SV_TEXT(source_id) }, 1, NULL);
	if (!err)
		err = store_exec(tx, "DELETE FROM subject_sources WHERE id = $1",
				 (struct store_val[]){ SV_TEXT(source_id) }, 1, NULL);
	if (!err)
		(*n)++;
fail:
	json_decref(fields); /* the wiping allocator clears it */
	return err;
}

/* The subject's source rows that carry fields of `category` go (a state
 * database's answer holds e.g. medical.legal_capacity). */
static enum senim_result purge_sources(struct store_tx *tx, const struct keyring *kr,
				       const char *subject_id, const char *category,
				       int64_t *n)
{
	char(*ids)[SOURCE_ID_MAX];
	size_t count;
	enum senim_result err = source_ids(tx, subject_id, &ids, &count);
	if (err || count == 0)
		goto fail;
	struct vault_dek *dek = NULL;
	err = vault_dek_load(tx, kr, subject_id, &dek);
	if (err == SENIM_ERR_NOT_FOUND) {
		err = SENIM_OK; /* shredded: nothing of theirs opens any more */
		goto fail;
	}
	for (size_t i = 0; i < count && !err; i++)
		err = purge_source(tx, dek, subject_id, ids[i], category, n);
	vault_dek_free(dek);
fail:
	free(ids);
	return err;
}

enum senim_result shred_category_tx(struct store_tx *tx, const struct keyring *kr,
				    const char *subject_id, const char *category,
				    int64_t *n)
{
	*n = 0;
	enum senim_result err = store_exec(
		tx, "DELETE FROM subject_records WHERE subject_id = $1 AND category = $2",
		(struct store_val[]){ SV_TEXT(subject_id), SV_TEXT(category) }, 2, n);
	if (!err)
		err = purge_sources(tx, kr, subject_id, category, n);
	return err;
}

/* ---- the journal ----------------------------------------------------------------- */

enum senim_result shred_journal_path(const char *key_file, char *out, size_t size)
{
	const char *slash = strrchr(key_file, '/');
	int dir = slash ? (int)(slash - key_file) + 1 : 0;
	int n = snprintf(out, size, "%.*s%s", dir, key_file, SHRED_JOURNAL_NAME);
	return n < 0 || (size_t)n >= size ? SENIM_ERR_INVALID : SENIM_OK;
}

static int id_ok(const char *s, size_t n)
{
	if (n == 0 || n > JOURNAL_ID_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

/* fsync the directory that holds path, so a new file in it is durable. */
static enum senim_result sync_dir_of(const char *path)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	int n = slash ? (int)(slash - path) : 1;
	snprintf(dir, sizeof(dir), "%.*s", n, slash ? path : ".");
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return SENIM_ERR_IO;
	enum senim_result err = fsync(fd) == 0 ? SENIM_OK : SENIM_ERR_IO;
	close(fd);
	return err;
}

/* An append that a crash cut short leaves an unfinished last line, whose
 * transaction never committed: cut it off, so the next line starts a line
 * of its own, and leave the offset at the end. */
static enum senim_result drop_unfinished(int fd)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return SENIM_ERR_IO;
	off_t end = st.st_size;
	char tail[JOURNAL_LINE_MAX];
	while (end > 0) {
		off_t from = end > (off_t)sizeof(tail) ? end - (off_t)sizeof(tail) : 0;
		ssize_t n = pread(fd, tail, (size_t)(end - from), from);
		if (n != end - from)
			return SENIM_ERR_IO;
		if (tail[n - 1] == '\n')
			break;
		ssize_t i = n - 1;
		while (i >= 0 && tail[i] != '\n')
			i--;
		end = from + i + 1; /* after the last LF, or `from` */
		if (i >= 0 || from == 0)
			break;
	}
	if (end != st.st_size && ftruncate(fd, end) != 0)
		return SENIM_ERR_IO;
	return lseek(fd, 0, SEEK_END) < 0 ? SENIM_ERR_IO : SENIM_OK;
}

/* flock(fd, how), waiting; released when fd is closed. */
static enum senim_result lock(int fd, int how)
{
	while (flock(fd, how) != 0)
		if (errno != EINTR)
			return SENIM_ERR_IO;
	return SENIM_OK;
}

enum senim_result shred_journal_append(const char *path, const char *const *ids, size_t n,
				       enum shred_mode mode, int64_t unix_seconds)
{
	struct buf b;
	buf_init(&b, BUF_NO_LIMIT);
	enum senim_result err = SENIM_OK;
	int fd = -1;
	for (size_t i = 0; i < n && !err; i++) {
		if (!id_ok(ids[i], strlen(ids[i]))) {
			err = SENIM_ERR_INVALID;
			break;
		}
		char line[JOURNAL_LINE_MAX];
		snprintf(line, sizeof(line), "%s %s %lld\n", ids[i],
			 shred_mode_code(mode), (long long)unix_seconds);
		err = buf_addstr(&b, line);
	}
	if (err || b.len == 0)
		goto fail;
	struct stat st;
	int fresh = stat(path, &st) != 0;
	/* serve (a destruction answer) and `senim retention run` may append at
	 * once: O_APPEND puts every write at the end, and the lock keeps one
	 * process's cut of an unfinished line from cutting another's line
	 * while it is being written. */
	fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = SENIM_ERR_IO;
		goto fail;
	}
	err = lock(fd, LOCK_EX);
	if (!err)
		err = drop_unfinished(fd);
	if (err)
		goto fail;
	/* One write of whole lines: an interrupted one leaves at most an
	 * unfinished last line, which shred_journal_each skips. */
	size_t off = 0;
	while (off < b.len) {
		ssize_t w = write(fd, b.data + off, b.len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			err = SENIM_ERR_IO;
			goto fail;
		}
		off += (size_t)w;
	}
	if (fsync(fd) != 0) {
		err = SENIM_ERR_IO;
		goto fail;
	}
	if (fresh)
		err = sync_dir_of(path);
fail:
	if (fd >= 0)
		close(fd);
	buf_release(&b);
	return err;
}

/* One journal line [s, s+len) without its LF. */
static enum senim_result parse_line(const char *s, size_t len,
				    char id[JOURNAL_ID_MAX + 1], enum shred_mode *mode,
				    int64_t *at)
{
	const char *sp1 = memchr(s, ' ', len);
	if (!sp1 || !id_ok(s, (size_t)(sp1 - s)))
		return SENIM_ERR_INVALID;
	memcpy(id, s, (size_t)(sp1 - s));
	id[sp1 - s] = '\0';
	const char *rest = sp1 + 1, *end = s + len;
	const char *sp2 = memchr(rest, ' ', (size_t)(end - rest));
	if (!sp2)
		return SENIM_ERR_INVALID;
	size_t ml = (size_t)(sp2 - rest);
	if (ml == 7 && memcmp(rest, "destroy", 7) == 0)
		*mode = SHRED_DESTROY;
	else if (ml == 9 && memcmp(rest, "anonymise", 9) == 0)
		*mode = SHRED_ANONYMISE;
	else
		return SENIM_ERR_INVALID;
	const char *d = sp2 + 1;
	if (d == end || end - d > 18)
		return SENIM_ERR_INVALID;
	int64_t v = 0;
	for (; d < end; d++) {
		if (*d < '0' || *d > '9')
			return SENIM_ERR_INVALID;
		v = v * 10 + (*d - '0');
	}
	*at = v;
	return SENIM_OK;
}

enum senim_result shred_journal_each(const char *path, shred_journal_fn fn, void *ctx,
				     unsigned *bad_line)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? SENIM_OK : SENIM_ERR_IO;
	/* Shared: an append in progress is not read half written. */
	enum senim_result err = lock(fileno(f), LOCK_SH);
	char line[JOURNAL_LINE_MAX + 2];
	unsigned n = 0;
	while (!err && fgets(line, sizeof(line), f)) {
		n++;
		size_t len = strlen(line);
		if (len == 0 || line[len - 1] != '\n') {
			/* Too long, or the unfinished last line of a crash. */
			if (len < sizeof(line) - 1 && feof(f))
				break;
			err = SENIM_ERR_INVALID;
			break;
		}
		char id[JOURNAL_ID_MAX + 1];
		enum shred_mode mode;
		int64_t at;
		err = parse_line(line, len - 1, id, &mode, &at);
		if (!err)
			err = fn(ctx, id, mode, at);
	}
	if (!err && ferror(f))
		err = SENIM_ERR_IO;
	if (err == SENIM_ERR_INVALID && bad_line)
		*bad_line = n;
	fclose(f);
	return err;
}
