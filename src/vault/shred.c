/*
 * shred.c — crypto-shredding and its journal (shred.h).
 */
#include "vault/shred.h"

#include <errno.h>
#include <sodium.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/log.h"
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

void shred_token_new(char token[SHRED_TOKEN_LEN])
{
	unsigned char raw[(SHRED_TOKEN_LEN - 1) / 2];
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(token, SHRED_TOKEN_LEN, raw, sizeof(raw));
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

static int token_ok(const char *s, size_t n)
{
	if (n != SHRED_TOKEN_LEN - 1)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
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

/* Append b's whole lines to the journal at path and fsync them. */
static enum senim_result append_lines(const char *path, const struct buf *b)
{
	struct stat st;
	int fresh = stat(path, &st) != 0;
	/* serve (a destruction answer) and `senim retention run` may append at
	 * once: O_APPEND puts every write at the end, and the lock keeps one
	 * process's cut of an unfinished line from cutting another's line
	 * while it is being written. */
	int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return SENIM_ERR_IO;
	enum senim_result err = lock(fd, LOCK_EX);
	if (!err)
		err = drop_unfinished(fd);
	/* One write of whole lines: an interrupted one leaves at most an
	 * unfinished last line, which shred_journal_each skips. */
	size_t off = 0;
	while (!err && off < b->len) {
		ssize_t w = write(fd, b->data + off, b->len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			err = SENIM_ERR_IO;
		else
			off += (size_t)w;
	}
	if (!err && fsync(fd) != 0)
		err = SENIM_ERR_IO;
	if (!err && fresh)
		err = sync_dir_of(path);
	close(fd);
	return err;
}

enum senim_result shred_journal_append(const char *path, const char *const *ids, size_t n,
				       enum shred_mode mode, int64_t unix_seconds,
				       const char *token)
{
	if (!token || !token_ok(token, strlen(token)))
		return SENIM_ERR_INVALID;
	struct buf b;
	buf_init(&b, BUF_NO_LIMIT);
	enum senim_result err = SENIM_OK;
	for (size_t i = 0; i < n && !err; i++) {
		if (!id_ok(ids[i], strlen(ids[i]))) {
			err = SENIM_ERR_INVALID;
			break;
		}
		char line[JOURNAL_LINE_MAX];
		snprintf(line, sizeof(line), "%s %s %lld %s\n", ids[i],
			 shred_mode_code(mode), (long long)unix_seconds, token);
		err = buf_addstr(&b, line);
	}
	if (!err && b.len)
		err = append_lines(path, &b);
	buf_release(&b);
	return err;
}

static const char *outcome_code(enum shred_outcome o)
{
	return o == SHRED_COMMITTED ? "committed" : "rolled_back";
}

enum senim_result shred_journal_outcome(const char *path, const char *const *tokens,
					size_t n, enum shred_outcome outcome)
{
	struct buf b;
	buf_init(&b, BUF_NO_LIMIT);
	enum senim_result err = SENIM_OK;
	for (size_t i = 0; i < n && !err; i++) {
		if (!token_ok(tokens[i], strlen(tokens[i]))) {
			err = SENIM_ERR_INVALID;
			break;
		}
		char line[JOURNAL_LINE_MAX];
		snprintf(line, sizeof(line), "%s %s\n", tokens[i], outcome_code(outcome));
		err = buf_addstr(&b, line);
	}
	if (!err && b.len)
		err = append_lines(path, &b);
	buf_release(&b);
	return err;
}

/* The after-commit action (store.h): ctx is the journal's path, each item
 * a token whose transaction committed.  A failure is logged and never the
 * write's result: the shredding is durable, and an intent left without
 * its outcome is settled by the next restore (shred.h). */
static enum senim_result committed_after(void *ctx, const struct store_item *items,
					 size_t n)
{
	const char *path = ctx;
	char(*tokens)[SHRED_TOKEN_LEN] = calloc(n ? n : 1, sizeof(*tokens));
	const char **p = calloc(n ? n : 1, sizeof(*p));
	enum senim_result err = tokens && p ? SENIM_OK : SENIM_ERR_NOMEM;
	for (size_t i = 0; i < n && !err; i++) {
		size_t len = items[i].len < SHRED_TOKEN_LEN - 1 ? items[i].len
								: SHRED_TOKEN_LEN - 1;
		memcpy(tokens[i], items[i].data, len);
		tokens[i][len] = '\0';
		p[i] = tokens[i];
	}
	if (!err)
		err = shred_journal_outcome(path, p, n, SHRED_COMMITTED);
	if (err)
		log_event(LOG_WARN, "shred_journal_outcome_failed", "outcome",
			  "committed", "error", senim_result_name(err), NULL);
	free(tokens);
	free(p);
	return SENIM_OK;
}

enum senim_result shred_journal_commit_tx(struct store_tx *tx, const char *path,
					  const char *token)
{
	if (!token || !token_ok(token, strlen(token)))
		return SENIM_ERR_INVALID;
	return store_tx_after_commit(tx, committed_after, (void *)path, token,
				     SHRED_TOKEN_LEN - 1);
}

void shred_journal_rolled_back(const char *path, const char *token)
{
	if (shred_journal_outcome(path, &token, 1, SHRED_ROLLED_BACK))
		log_event(LOG_WARN, "shred_journal_outcome_failed", "outcome",
			  "rolled_back", NULL);
}

/* ---- reading ---------------------------------------------------------------------- */

struct outcome {
	char token[SHRED_TOKEN_LEN];
	enum shred_outcome outcome;
};

static int outcome_cmp(const void *a, const void *b)
{
	return strcmp(((const struct outcome *)a)->token,
		      ((const struct outcome *)b)->token);
}

/* One line [s, s+len) without its LF: an intent (id mode at token; a line
 * of three fields, without the token, is an intent that counts committed)
 * or an outcome (token committed|rolled_back).  *is_outcome says which. */
static enum senim_result parse_line(const char *s, size_t len, int *is_outcome,
				    char id[JOURNAL_ID_MAX + 1], enum shred_mode *mode,
				    int64_t *at, char token[SHRED_TOKEN_LEN],
				    enum shred_outcome *outcome)
{
	const char *f[5];
	size_t fl[5];
	int nf = 0;
	const char *end = s + len, *p = s;
	while (p <= end && nf < 5) {
		const char *sp = memchr(p, ' ', (size_t)(end - p));
		const char *e = sp ? sp : end;
		f[nf] = p;
		fl[nf++] = (size_t)(e - p);
		if (!sp)
			break;
		p = sp + 1;
	}
	if (p <= end && nf == 5)
		return SENIM_ERR_INVALID;
	token[0] = '\0';
	*is_outcome = nf == 2;
	if (nf == 2) {
		if (!token_ok(f[0], fl[0]))
			return SENIM_ERR_INVALID;
		memcpy(token, f[0], fl[0]);
		token[fl[0]] = '\0';
		if (fl[1] == 9 && memcmp(f[1], "committed", 9) == 0)
			*outcome = SHRED_COMMITTED;
		else if (fl[1] == 11 && memcmp(f[1], "rolled_back", 11) == 0)
			*outcome = SHRED_ROLLED_BACK;
		else
			return SENIM_ERR_INVALID;
		return SENIM_OK;
	}
	if (nf != 3 && nf != 4)
		return SENIM_ERR_INVALID;
	if (!id_ok(f[0], fl[0]))
		return SENIM_ERR_INVALID;
	memcpy(id, f[0], fl[0]);
	id[fl[0]] = '\0';
	if (fl[1] == 7 && memcmp(f[1], "destroy", 7) == 0)
		*mode = SHRED_DESTROY;
	else if (fl[1] == 9 && memcmp(f[1], "anonymise", 9) == 0)
		*mode = SHRED_ANONYMISE;
	else
		return SENIM_ERR_INVALID;
	if (fl[2] == 0 || fl[2] > 18)
		return SENIM_ERR_INVALID;
	int64_t v = 0;
	for (size_t i = 0; i < fl[2]; i++) {
		char c = f[2][i];
		if (c < '0' || c > '9')
			return SENIM_ERR_INVALID;
		v = v * 10 + (c - '0');
	}
	*at = v;
	if (nf == 4) {
		if (!token_ok(f[3], fl[3]))
			return SENIM_ERR_INVALID;
		memcpy(token, f[3], fl[3]);
		token[fl[3]] = '\0';
	}
	return SENIM_OK;
}

/* Read f's lines from the start; for each, intent(ctx, ...) or the
 * outcome appended to *outs (when outs is not NULL). */
struct pass {
	struct outcome *outs;
	size_t n, cap;
	/* pass 2 */
	const struct outcome *sorted;
	size_t nsorted;
	shred_journal_fn fn;
	void *ctx;
};

static enum shred_state state_of(const struct pass *ps, const char *token)
{
	if (!token[0])
		return SHRED_STATE_COMMITTED; /* a line of three fields */
	struct outcome key;
	memcpy(key.token, token, SHRED_TOKEN_LEN);
	const struct outcome *o = ps->nsorted ? bsearch(&key, ps->sorted, ps->nsorted,
							sizeof(key), outcome_cmp)
					      : NULL;
	if (!o)
		return SHRED_STATE_UNSETTLED;
	return o->outcome == SHRED_COMMITTED ? SHRED_STATE_COMMITTED
					     : SHRED_STATE_ROLLED_BACK;
}

static enum senim_result read_pass(FILE *f, struct pass *ps, int second,
				   unsigned *bad_line)
{
	rewind(f);
	char line[JOURNAL_LINE_MAX + 2];
	unsigned n = 0;
	enum senim_result err = SENIM_OK;
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
		char id[JOURNAL_ID_MAX + 1], token[SHRED_TOKEN_LEN];
		enum shred_mode mode = SHRED_DESTROY;
		enum shred_outcome outcome = SHRED_COMMITTED;
		int64_t at = 0;
		int is_outcome = 0;
		err = parse_line(line, len - 1, &is_outcome, id, &mode, &at, token,
				 &outcome);
		if (err)
			break;
		if (!second && is_outcome) {
			if (ps->n == ps->cap) {
				size_t cap = ps->cap ? 2 * ps->cap : 16;
				struct outcome *g = realloc(ps->outs, cap * sizeof(*g));
				if (!g) {
					err = SENIM_ERR_NOMEM;
					break;
				}
				ps->outs = g;
				ps->cap = cap;
			}
			memcpy(ps->outs[ps->n].token, token, SHRED_TOKEN_LEN);
			ps->outs[ps->n++].outcome = outcome;
		} else if (second && !is_outcome) {
			err = ps->fn(ps->ctx, id, mode, at, token, state_of(ps, token));
		}
	}
	if (!err && ferror(f))
		err = SENIM_ERR_IO;
	if (err == SENIM_ERR_INVALID && bad_line)
		*bad_line = n;
	return err;
}

enum senim_result shred_journal_each(const char *path, shred_journal_fn fn, void *ctx,
				     unsigned *bad_line)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? SENIM_OK : SENIM_ERR_IO;
	/* Shared: an append in progress is not read half written. */
	enum senim_result err = lock(fileno(f), LOCK_SH);
	struct pass ps = { .fn = fn, .ctx = ctx };
	if (!err)
		err = read_pass(f, &ps, 0, bad_line);
	if (!err && ps.n) {
		/* Committed wins over rolled back should a token have both
		 * (never written so): a subject is never brought back. */
		qsort(ps.outs, ps.n, sizeof(*ps.outs), outcome_cmp);
		size_t k = 0;
		for (size_t i = 0; i < ps.n; i++) {
			if (k && strcmp(ps.outs[k - 1].token, ps.outs[i].token) == 0) {
				if (ps.outs[i].outcome == SHRED_COMMITTED)
					ps.outs[k - 1].outcome = SHRED_COMMITTED;
				continue;
			}
			ps.outs[k++] = ps.outs[i];
		}
		ps.n = k;
	}
	ps.sorted = ps.outs;
	ps.nsorted = ps.n;
	if (!err)
		err = read_pass(f, &ps, 1, bad_line);
	free(ps.outs);
	fclose(f);
	return err;
}

/* ---- settling --------------------------------------------------------------------- */

struct unsettled {
	char token[SHRED_TOKEN_LEN];
	char id[JOURNAL_ID_MAX + 1];
};

struct settle {
	struct unsettled *u;
	size_t n, cap;
	/* the one being asked about */
	const char *id;
	int64_t subjects, keys;
};

static enum senim_result collect_unsettled(void *ctx, const char *subject_id,
					   enum shred_mode mode, int64_t at,
					   const char *token, enum shred_state state)
{
	(void)mode;
	(void)at;
	struct settle *s = ctx;
	if (state != SHRED_STATE_UNSETTLED)
		return SENIM_OK;
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 16;
		struct unsettled *g = realloc(s->u, cap * sizeof(*g));
		if (!g)
			return SENIM_ERR_NOMEM;
		s->u = g;
		s->cap = cap;
	}
	snprintf(s->u[s->n].token, SHRED_TOKEN_LEN, "%s", token);
	snprintf(s->u[s->n].id, sizeof(s->u[s->n].id), "%s", subject_id);
	s->n++;
	return SENIM_OK;
}

static enum senim_result ask_tx(struct store_tx *tx, void *ctx)
{
	struct settle *s = ctx;
	struct store_rows *r;
	enum senim_result err = store_query_one(
		tx,
		"SELECT (SELECT COUNT(*) FROM subjects WHERE id = $1),"
		" (SELECT COUNT(*) FROM subject_keys WHERE subject_id = $1)",
		(struct store_val[]){ SV_TEXT(s->id) }, 1, &r);
	if (err)
		return err;
	s->subjects = store_rows_int(r, 0);
	s->keys = store_rows_int(r, 1);
	store_rows_free(r);
	return SENIM_OK;
}

enum senim_result shred_journal_settle(const char *path, struct store *st,
				       size_t *committed, size_t *rolled_back)
{
	*committed = *rolled_back = 0;
	struct settle s = { 0 };
	enum senim_result err = shred_journal_each(path, collect_unsettled, &s, NULL);
	const char **done = calloc(s.n ? s.n : 1, sizeof(*done));
	const char **undone = calloc(s.n ? s.n : 1, sizeof(*undone));
	if (!err && (!done || !undone))
		err = SENIM_ERR_NOMEM;
	size_t nd = 0, nu = 0;
	for (size_t i = 0; i < s.n && !err; i++) {
		/* One transaction shreds all of a token's subjects or none: the
		 * first one the store knows answers for the token. */
		int known = 0;
		for (size_t j = 0; j < nd && !known; j++)
			known = strcmp(done[j], s.u[i].token) == 0;
		for (size_t j = 0; j < nu && !known; j++)
			known = strcmp(undone[j], s.u[i].token) == 0;
		if (known)
			continue;
		s.id = s.u[i].id;
		err = store_read(st, ask_tx, &s);
		if (err || s.subjects == 0)
			continue; /* not this store's subject: it cannot tell */
		if (s.keys == 0)
			done[nd++] = s.u[i].token;
		else
			undone[nu++] = s.u[i].token;
	}
	if (!err)
		err = shred_journal_outcome(path, done, nd, SHRED_COMMITTED);
	if (!err)
		err = shred_journal_outcome(path, undone, nu, SHRED_ROLLED_BACK);
	if (!err) {
		*committed = nd;
		*rolled_back = nu;
	}
	free(done);
	free(undone);
	free(s.u);
	return err;
}
