/*
 * audit.c — the hash-chained audit log (audit.h).
 *
 * Canonical bytes of a record, hashed as
 *   hash = BLAKE2b-256(prev_hash(32) || field_1 || ... || field_10)
 * where each field is be32(length) || bytes, in the order
 *   seq, at        — 8 bytes each, big-endian two's complement (length 8);
 *   actor, operation, object, subject_id, categories, purpose, outcome,
 *   request_id     — the text's bytes.
 * A NULL subject_id is written as the length 0xFFFFFFFF with no bytes, so it
 * encodes unlike the empty string.  Text fields are capped at
 * AUDIT_FIELD_MAX bytes (they are ids and codes, never free text).
 *
 * A checkpoint signs, with the keyring's current Ed25519 key, the message
 *   "senim-audit-checkpoint-v1" (25 bytes, no NUL) || be64(seq) ||
 *   hash(32) || be64(signed_at)
 * and is stored with the signing key's id, so checkpoints made before a key
 * rotation still verify.  signed_at is the time of the batch's last record.
 * Every batch ends in one; its anchor line (anchor.h) carries the same
 * fields.
 *
 * Locking: the flush reads the head and extends it in the batch's write
 * transaction.  On SQLite, BEGIN IMMEDIATE already holds the database's
 * write lock; on PostgreSQL the head row is locked with FOR UPDATE, which
 * serialises appends and their checkpoints.
 */
#include "audit/audit.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit/anchor.h"
#include "common/bigendian.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/banned.h"

#define AUDIT_FIELD_MAX 4096
#define AUDIT_NFIELDS 8	      /* text fields */
#define AUDIT_SUBJECT_FIELD 3 /* index of subject_id among them */
#define AUDIT_NULL_LEN 0xffffffffu
#define CHECKPOINT_DOMAIN "senim-audit-checkpoint-v1"
#define CHECKPOINT_DOMAIN_LEN (sizeof(CHECKPOINT_DOMAIN) - 1)
#define CHECKPOINT_MSG_LEN (CHECKPOINT_DOMAIN_LEN + 8 + AUDIT_HASH_BYTES + 8)

static _Atomic uint64_t records_written;

static const char SQL_HEAD[] = "SELECT seq, hash FROM audit_head WHERE id = 1";
static const char SQL_HEAD_LOCK[] =
	"SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE";
static const char SQL_SET_HEAD[] =
	"UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1";
static const char SQL_INSERT[] =
	"INSERT INTO audit_log (seq, at, actor, operation, object, subject_id,"
	" categories, purpose, outcome, request_id, hash)"
	" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";
static const char SQL_LAST_CHECKPOINT[] =
	"SELECT seq, hash FROM audit_checkpoints ORDER BY seq DESC LIMIT 1";
static const char SQL_INSERT_CHECKPOINT[] =
	"INSERT INTO audit_checkpoints (seq, hash, signed_at, key_id, signature)"
	" VALUES ($1, $2, $3, $4, $5)";
/* What a wiped log would leave behind: rows that are only ever written
 * together with an audit record. */
static const char SQL_AUDITED_ROWS[] =
	"SELECT (SELECT COUNT(*) FROM subjects), (SELECT COUNT(*) FROM staff),"
	" (SELECT COUNT(*) FROM policies)";
/* The walk reads the log a page at a time: PostgreSQL hands a query's
 * whole result to the client at once, and the log grows by a record for
 * every access. */
#define WALK_PAGE 10000
static const char SQL_WALK[] =
	"SELECT seq, at, actor, operation, object, subject_id, categories, purpose,"
	" outcome, request_id, hash FROM audit_log WHERE seq > $1 ORDER BY seq"
	" LIMIT 10000";
_Static_assert(WALK_PAGE == 10000, "SQL_WALK's LIMIT");
static const char SQL_CHECKPOINTS[] =
	"SELECT seq, hash, signed_at, key_id, signature FROM audit_checkpoints"
	" ORDER BY seq";
static const char SQL_NEWEST_CHECKPOINT[] =
	"SELECT seq, hash, signed_at, key_id, signature FROM audit_checkpoints"
	" ORDER BY seq DESC LIMIT 1";

static const char *const field_names[AUDIT_NFIELDS] = {
	"actor",      "operation", "object",  "subject_id",
	"categories", "purpose",   "outcome", "request_id",
};

/* A record as hashed: text fields as (pointer, length); NULL ptr = SQL NULL. */
struct canon {
	int64_t seq;
	int64_t at;
	struct slice f[AUDIT_NFIELDS];
};

static void hash_field(crypto_generichash_state *st, const void *p, size_t len)
{
	unsigned char n[4];
	put_be32(n, p ? (uint32_t)len : AUDIT_NULL_LEN);
	crypto_generichash_update(st, n, sizeof(n));
	if (p && len)
		crypto_generichash_update(st, p, len);
}

/* hash = BLAKE2b-256(prev || canonical bytes of c); see the top of the file. */
static void record_hash(const unsigned char prev[AUDIT_HASH_BYTES], const struct canon *c,
			unsigned char out[AUDIT_HASH_BYTES])
{
	crypto_generichash_state st;
	unsigned char n[8];
	crypto_generichash_init(&st, NULL, 0, AUDIT_HASH_BYTES);
	crypto_generichash_update(&st, prev, AUDIT_HASH_BYTES);
	put_be64(n, (uint64_t)c->seq);
	hash_field(&st, n, sizeof(n));
	put_be64(n, (uint64_t)c->at);
	hash_field(&st, n, sizeof(n));
	for (int i = 0; i < AUDIT_NFIELDS; i++)
		hash_field(&st, c->f[i].ptr, c->f[i].len);
	crypto_generichash_final(&st, out, AUDIT_HASH_BYTES);
}

static void checkpoint_message(int64_t seq, const unsigned char hash[AUDIT_HASH_BYTES],
			       int64_t signed_at, unsigned char msg[CHECKPOINT_MSG_LEN])
{
	memcpy(msg, CHECKPOINT_DOMAIN, CHECKPOINT_DOMAIN_LEN);
	put_be64(msg + CHECKPOINT_DOMAIN_LEN, (uint64_t)seq);
	memcpy(msg + CHECKPOINT_DOMAIN_LEN + 8, hash, AUDIT_HASH_BYTES);
	put_be64(msg + CHECKPOINT_DOMAIN_LEN + 8 + AUDIT_HASH_BYTES, (uint64_t)signed_at);
}

/* Whether a checkpoint as stored (its hash and signature of any length) is
 * signed by the key named key_id, one this ring holds. */
static int checkpoint_signed(const struct keyring *kr, int64_t seq, const void *hash,
			     size_t hlen, int64_t signed_at, const char *key_id,
			     const void *sig, size_t slen)
{
	unsigned char msg[CHECKPOINT_MSG_LEN];
	if (hlen != AUDIT_HASH_BYTES || slen != KEYRING_SIG_BYTES)
		return 0;
	checkpoint_message(seq, hash, signed_at, msg);
	return keyring_verify(kr, key_id, msg, sizeof(msg), sig) == SENIM_OK;
}

/* ---- appending ------------------------------------------------------------ */

/*
 * Read the head (locking it on PostgreSQL).  A missing or malformed head
 * means the table was tampered with: refuse to extend it.
 */
static enum senim_result read_head(struct store_tx *tx, int64_t *seq,
				   unsigned char hash[AUDIT_HASH_BYTES])
{
	const char *sql = store_tx_kind(tx) == STORE_POSTGRES ? SQL_HEAD_LOCK : SQL_HEAD;
	struct store_rows *r;
	size_t len = 0;
	enum senim_result err = store_query_one(tx, sql, NULL, 0, &r);
	if (err == SENIM_ERR_NOT_FOUND)
		err = SENIM_ERR_TAMPERED;
	if (err)
		goto fail;
	const void *h = store_rows_blob(r, 1, &len);
	*seq = store_rows_int(r, 0);
	if (len != AUDIT_HASH_BYTES || *seq < 0) {
		err = SENIM_ERR_TAMPERED;
		goto fail;
	}
	memcpy(hash, h, AUDIT_HASH_BYTES);
fail:
	store_rows_free(r);
	if (err == SENIM_ERR_TAMPERED)
		log_event(LOG_ERROR, "audit_head_invalid", NULL);
	return err;
}

/* The newest checkpoint's seq and hash; *found = 0 when there is none. */
static enum senim_result last_checkpoint(struct store_tx *tx, int *found, int64_t *seq,
					 unsigned char hash[AUDIT_HASH_BYTES])
{
	struct store_rows *r;
	*found = 0;
	enum senim_result err = store_query_one(tx, SQL_LAST_CHECKPOINT, NULL, 0, &r);
	if (err == SENIM_ERR_NOT_FOUND)
		return SENIM_OK;
	if (err)
		return err;
	size_t len = 0;
	const void *h = store_rows_blob(r, 1, &len);
	*found = 1;
	*seq = store_rows_int(r, 0);
	if (len == AUDIT_HASH_BYTES)
		memcpy(hash, h, AUDIT_HASH_BYTES);
	else
		memset(hash, 0, AUDIT_HASH_BYTES);
	store_rows_free(r);
	return SENIM_OK;
}

/* ---- the anchor ------------------------------------------------------------ */

/* The process's anchor file (anchor.h), set before any write. */
static int anchor_fd = -1;
static char anchor_file[4096];

enum senim_result audit_anchor_open(const char *path)
{
	audit_anchor_close();
	if (!path || strlen(path) >= sizeof(anchor_file))
		return SENIM_ERR_INVALID;
	const char *why = NULL;
	enum senim_result err = anchor_open_append(path, &anchor_fd, &why);
	if (err) {
		log_event(LOG_ERROR, "audit_anchor_failed", "reason", why, NULL);
		return err;
	}
	snprintf(anchor_file, sizeof(anchor_file), "%s", path);
	return SENIM_OK;
}

void audit_anchor_close(void)
{
	if (anchor_fd >= 0)
		close(anchor_fd);
	anchor_fd = -1;
	anchor_file[0] = '\0';
}

const char *audit_anchor_path(void)
{
	return anchor_fd >= 0 ? anchor_file : NULL;
}

/*
 * After the batches' COMMITs (store_tx_after_commit): their checkpoints go
 * to the log stream and to the anchor file — one write, one fdatasync for
 * all of them — before any caller of those batches is answered.  A failure
 * fails those callers: their writes are durable, but a read's data must not
 * leave unanchored.
 */
static enum senim_result anchor_after_commit(void *ctx, const struct store_item *items,
					     size_t n)
{
	(void)ctx;
	enum senim_result err = SENIM_OK;
	size_t len = 0;
	char *lines = malloc(n * ANCHOR_LINE_MAX);
	if (!lines)
		return SENIM_ERR_NOMEM;
	for (size_t i = 0; i < n; i++) {
		char text[ANCHOR_LINE_MAX];
		size_t l = items[i].len;
		if (l == 0 || l > ANCHOR_LINE_MAX) {
			err = SENIM_ERR_INVALID;
			goto fail;
		}
		memcpy(lines + len, items[i].data, l);
		memcpy(text, items[i].data, l - 1); /* without its "\n" */
		text[l - 1] = '\0';
		log_event(LOG_INFO, "audit_checkpoint", "anchor", text, NULL);
		len += l;
	}
	if (anchor_fd >= 0) {
		const char *why = NULL;
		err = anchor_append(anchor_fd, lines, len, &why);
		if (err)
			log_event(LOG_ERROR, "audit_anchor_failed", "reason", why, NULL);
	}
fail:
	free(lines);
	return err;
}

/* Sign (seq, hash, signed_at), store the checkpoint, and queue its anchor
 * line for after the COMMIT. */
static enum senim_result write_checkpoint(struct store_tx *tx, const struct keyring *kr,
					  int64_t seq,
					  const unsigned char hash[AUDIT_HASH_BYTES],
					  int64_t signed_at)
{
	unsigned char msg[CHECKPOINT_MSG_LEN];
	struct anchor_entry e = { .seq = seq, .signed_at = signed_at };
	checkpoint_message(seq, hash, signed_at, msg);
	keyring_sign(kr, msg, sizeof(msg), e.sig);
	memcpy(e.hash, hash, AUDIT_HASH_BYTES);
	snprintf(e.key_id, sizeof(e.key_id), "%s", keyring_signing_key_id(kr));
	struct store_val p[] = {
		SV_INT(seq),	   SV_BLOB(hash, AUDIT_HASH_BYTES), SV_INT(signed_at),
		SV_TEXT(e.key_id), SV_BLOB(e.sig, sizeof(e.sig)),
	};
	enum senim_result err =
		store_exec(tx, SQL_INSERT_CHECKPOINT, p, sizeof(p) / sizeof(p[0]), NULL);
	if (err)
		return err;
	char line[ANCHOR_LINE_MAX];
	size_t len = anchor_format(&e, line);
	if (!len)
		return SENIM_ERR_INVALID;
	return store_tx_after_commit(tx, anchor_after_commit, NULL, line, len);
}

/* A record's text fields, in the order they are hashed. */
static void record_fields(const struct audit_record *rec, const char *v[AUDIT_NFIELDS])
{
	v[0] = rec->actor;
	v[1] = rec->operation;
	v[2] = rec->object;
	v[3] = rec->subject_id;
	v[4] = rec->categories;
	v[5] = rec->purpose;
	v[6] = rec->outcome;
	v[7] = rec->request_id;
}

/* Every field present (but subject_id, which may be NULL) and short. */
static enum senim_result check_fields(const char *const v[AUDIT_NFIELDS],
				      uint32_t len[AUDIT_NFIELDS])
{
	for (int i = 0; i < AUDIT_NFIELDS; i++) {
		if (!v[i] && i == AUDIT_SUBJECT_FIELD) {
			len[i] = AUDIT_NULL_LEN;
			continue;
		}
		size_t n = v[i] ? strlen(v[i]) : 0;
		if (!v[i] || n > AUDIT_FIELD_MAX) {
			log_event(LOG_ERROR, "audit_record_invalid", "field",
				  field_names[i], "rule", v[i] ? "too long" : "missing",
				  NULL);
			return SENIM_ERR_INVALID;
		}
		len[i] = (uint32_t)n;
	}
	return SENIM_OK;
}

/*
 * Appends are deferred to the end of the write batch (store_tx_defer): each
 * job packs its record, and flush_records() reads the head once, chains
 * every record of the batch, inserts them and moves the head once.  A
 * packed record is be64-free host data, never stored: at (int64), the eight
 * field lengths (uint32, AUDIT_NULL_LEN for NULL), then the fields' bytes.
 */
struct packed_head {
	int64_t at;
	uint32_t len[AUDIT_NFIELDS];
};

static enum senim_result unpack(const struct store_item *it, struct canon *c)
{
	struct packed_head h;
	if (it->len < sizeof(h))
		return SENIM_ERR_INVALID;
	memcpy(&h, it->data, sizeof(h));
	const char *p = (const char *)it->data + sizeof(h);
	size_t left = it->len - sizeof(h);
	c->at = h.at;
	for (int i = 0; i < AUDIT_NFIELDS; i++) {
		if (h.len[i] == AUDIT_NULL_LEN) {
			c->f[i] = (struct slice){ NULL, 0 };
			continue;
		}
		if (h.len[i] > left)
			return SENIM_ERR_INVALID;
		c->f[i] = (struct slice){ p, h.len[i] };
		p += h.len[i];
		left -= h.len[i];
	}
	return left == 0 ? SENIM_OK : SENIM_ERR_INVALID;
}

static struct store_val text_or_null(const struct slice *f)
{
	return f->ptr ? SV_TEXTN(f->ptr, f->len) : SV_NULL();
}

static enum senim_result insert_record(struct store_tx *tx, const struct canon *c,
				       const unsigned char hash[AUDIT_HASH_BYTES])
{
	struct store_val p[] = {
		SV_INT(c->seq),
		SV_INT(c->at),
		text_or_null(&c->f[0]),
		text_or_null(&c->f[1]),
		text_or_null(&c->f[2]),
		text_or_null(&c->f[3]),
		text_or_null(&c->f[4]),
		text_or_null(&c->f[5]),
		text_or_null(&c->f[6]),
		text_or_null(&c->f[7]),
		SV_BLOB(hash, AUDIT_HASH_BYTES),
	};
	enum senim_result err =
		store_exec(tx, SQL_INSERT, p, sizeof(p) / sizeof(p[0]), NULL);
	if (err == SENIM_ERR_CONFLICT) {
		/* The head says seq is next, yet a record holds it: someone wrote
		 * to the log behind our back.  Refuse, and say so. */
		log_event(LOG_ERROR, "audit_head_behind_log", NULL);
		return SENIM_ERR_TAMPERED;
	}
	return err;
}

/*
 * The head extended by a batch must be signed: every batch ends in a
 * checkpoint of its last record, in its own transaction, so a head that
 * the newest checkpoint does not name was written without the key (a
 * record added, changed or a checkpoint deleted behind the service's
 * back).  Signing on top of it would vouch for it: refuse, and say so.
 */
static enum senim_result check_head_signed(struct store_tx *tx, int64_t head,
					   const unsigned char hash[AUDIT_HASH_BYTES])
{
	int found = 0;
	int64_t cp_seq = 0;
	unsigned char cp_hash[AUDIT_HASH_BYTES];
	enum senim_result err = last_checkpoint(tx, &found, &cp_seq, cp_hash);
	if (err || head == 0)
		return err;
	if (!found || cp_seq != head ||
	    sodium_memcmp(cp_hash, hash, AUDIT_HASH_BYTES) != 0) {
		log_event(LOG_ERROR, "audit_head_unsigned", NULL);
		return SENIM_ERR_TAMPERED;
	}
	return SENIM_OK;
}

/* Chain and insert a batch's records, sign the last one, and move the head
 * once: one signature per batch, not per record. */
static enum senim_result flush_records(struct store_tx *tx, void *ctx,
				       const struct store_item *items, size_t n)
{
	const struct keyring *kr = ctx;
	int64_t head = 0, at = 0;
	unsigned char hash[AUDIT_HASH_BYTES];
	enum senim_result err = read_head(tx, &head, hash);
	if (err)
		return err;
	err = check_head_signed(tx, head, hash);
	if (err)
		return err;
	for (size_t i = 0; i < n; i++) {
		struct canon c;
		err = unpack(&items[i], &c);
		if (err)
			return err;
		c.seq = ++head;
		record_hash(hash, &c, hash);
		err = insert_record(tx, &c, hash);
		if (err)
			return err;
		at = c.at;
	}
	if (n) {
		err = write_checkpoint(tx, kr, head, hash, at);
		if (err)
			return err;
	}
	int64_t changes = 0;
	struct store_val hp[] = { SV_INT(head), SV_BLOB(hash, sizeof(hash)) };
	err = store_exec(tx, SQL_SET_HEAD, hp, 2, &changes);
	return !err && changes != 1 ? SENIM_ERR_TAMPERED : err;
}

enum senim_result audit_append(struct store_tx *tx, const struct keyring *kr,
			       const struct audit_record *rec)
{
	if (!tx || !kr || !rec) {
		log_event(LOG_ERROR, "audit_record_invalid", "rule", "no record", NULL);
		return SENIM_ERR_INVALID;
	}
	const char *v[AUDIT_NFIELDS];
	struct packed_head h = { .at = clock_now_us() };
	record_fields(rec, v);
	enum senim_result err = check_fields(v, h.len);
	if (err)
		return err;
	size_t total = sizeof(h);
	for (int i = 0; i < AUDIT_NFIELDS; i++)
		total += v[i] ? h.len[i] : 0;
	unsigned char stack[1024];
	unsigned char *packed = total <= sizeof(stack) ? stack : malloc(total);
	if (!packed)
		return SENIM_ERR_NOMEM;
	memcpy(packed, &h, sizeof(h));
	size_t off = sizeof(h);
	for (int i = 0; i < AUDIT_NFIELDS; i++) {
		if (!v[i])
			continue;
		memcpy(packed + off, v[i], h.len[i]);
		off += h.len[i];
	}
	err = store_tx_defer(tx, flush_records, (void *)kr, packed, total);
	if (packed != stack)
		free(packed);
	if (err)
		return err;
	/* Counted before the batch commits: a rolled-back append still counts. */
	atomic_fetch_add(&records_written, 1);
	return SENIM_OK;
}

uint64_t audit_records_written(void)
{
	return atomic_load(&records_written);
}

/* ---- verifying ------------------------------------------------------------- */

struct checkpoint {
	int64_t seq;
	unsigned char hash[AUDIT_HASH_BYTES];
};

struct verify_ctx {
	const struct keyring *kr;
	struct audit_report *rep;
	struct checkpoint *cps; /* well-formed, validly signed checkpoints */
	size_t ncps;
	size_t cap;
	const struct anchor_entry *anchor; /* the anchor's lines by seq, or NULL */
	size_t nanchor;
	int64_t last_seq; /* the last record walked */
};

/* Record a problem at seq; the report keeps the lowest seq (the first noted
 * wins a tie). */
__attribute__((format(printf, 3, 4))) static void
note_bad(struct verify_ctx *v, int64_t seq, const char *fmt, ...)
{
	struct audit_report *rep = v->rep;
	if (seq < 1)
		seq = 1;
	if (rep->first_bad_seq != 0 && rep->first_bad_seq <= seq)
		return;
	rep->first_bad_seq = seq;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(rep->problem, sizeof(rep->problem), fmt, ap);
	va_end(ap);
}

/* Read every checkpoint and check its signature; keep the good ones, in seq
 * order, for comparison with the records. */
static enum senim_result load_checkpoints(struct store_tx *tx, struct verify_ctx *v)
{
	struct store_rows *r;
	int has = 0;
	int64_t malformed = 0;
	enum senim_result err = store_query(tx, SQL_CHECKPOINTS, NULL, 0, &r);
	if (err)
		goto fail;
	while ((err = store_rows_next(r, &has)) == SENIM_OK && has) {
		int64_t seq = store_rows_int(r, 0);
		int64_t signed_at = store_rows_int(r, 2);
		size_t hlen = 0, slen = 0, klen = 0;
		const void *hash = store_rows_blob(r, 1, &hlen);
		const char *key_id = store_rows_text(r, 3, &klen);
		const void *sig = store_rows_blob(r, 4, &slen);
		v->rep->checkpoints++;
		if (hlen != AUDIT_HASH_BYTES || slen != KEYRING_SIG_BYTES ||
		    klen != KEYRING_KEY_ID_LEN - 1) {
			note_bad(v, seq, "checkpoint %lld is malformed", (long long)seq);
			malformed++;
			continue;
		}
		if (!checkpoint_signed(v->kr, seq, hash, hlen, signed_at, key_id, sig,
				       slen)) {
			note_bad(v, seq,
				 "checkpoint %lld has a bad signature or an unknown key",
				 (long long)seq);
			continue;
		}
		if (v->ncps == v->cap) {
			size_t cap = v->cap ? v->cap * 2 : 64;
			struct checkpoint *grown = realloc(v->cps, cap * sizeof(*grown));
			if (!grown) {
				err = SENIM_ERR_NOMEM;
				goto fail;
			}
			v->cps = grown;
			v->cap = cap;
		}
		v->cps[v->ncps].seq = seq;
		memcpy(v->cps[v->ncps].hash, hash, AUDIT_HASH_BYTES);
		v->ncps++;
	}
	if (err)
		goto fail;
	if (v->rep->checkpoints > 0 && v->ncps == 0 && !malformed) {
		/* Not one signature holds: not tampering with a record or two,
		 * but a store and a key file that do not belong together. */
		v->rep->first_bad_seq = 0;
		note_bad(v, 1,
			 "none of the %lld checkpoints is signed by this key file: the"
			 " store is another deployment's, or the key file is",
			 (long long)v->rep->checkpoints);
	}
fail:
	store_rows_free(r);
	return err;
}

/* Whether an anchor line is a checkpoint this key file signed. */
static int anchor_signed(const struct verify_ctx *v, const struct anchor_entry *e)
{
	return checkpoint_signed(v->kr, e->seq, e->hash, sizeof(e->hash), e->signed_at,
				 e->key_id, e->sig, sizeof(e->sig));
}

/* A record the anchor names must carry the anchored hash.  Its signature is
 * checked only when it disagrees: a line that merely agrees proves nothing
 * the database's own checkpoints do not. */
static void check_anchored(struct verify_ctx *v, const struct anchor_entry *e,
			   const void *stored, size_t hlen)
{
	if (hlen == AUDIT_HASH_BYTES && sodium_memcmp(e->hash, stored, hlen) == 0)
		return;
	if (anchor_signed(v, e))
		note_bad(v, e->seq,
			 "record %lld does not match its checkpoint in the anchor file"
			 " (line %lld): the log was rewritten",
			 (long long)e->seq, (long long)e->line);
	else
		note_bad(
			v, e->seq,
			"anchor line %lld (sequence %lld) is not signed by this key file",
			(long long)e->line, (long long)e->seq);
}

/* Where a walk of the records has got to. */
struct walk {
	unsigned char prev[AUDIT_HASH_BYTES]; /* the chain recomputed so far */
	unsigned char last[AUDIT_HASH_BYTES]; /* the last record's stored hash */
	int64_t expected;		      /* the seq the chain needs next */
	int64_t last_seq;		      /* the last record walked */
	int chain_ok;			      /* no break in the chain yet */
	size_t ci, ai;			      /* next checkpoint, anchor line */
};

/* Take the record r is on: recompute its link of the chain and compare it
 * with the checkpoints and anchor lines that name it. */
static void walk_record(struct verify_ctx *v, struct walk *w, struct store_rows *r)
{
	struct canon c = { .seq = store_rows_int(r, 0), .at = store_rows_int(r, 1) };
	size_t hlen = 0;
	const void *stored = store_rows_blob(r, 10, &hlen);
	int nulls = 0;
	v->rep->records++;
	for (int i = 0; i < AUDIT_NFIELDS; i++) {
		if (store_rows_is_null(r, 2 + i)) {
			c.f[i] = (struct slice){ NULL, 0 };
			nulls += i != AUDIT_SUBJECT_FIELD;
		} else {
			c.f[i].ptr = store_rows_text(r, 2 + i, &c.f[i].len);
		}
	}
	if (w->chain_ok && c.seq != w->expected) {
		/* With seq the primary key, rows come strictly ascending: a
		 * jump means the records in between were deleted. */
		if (c.seq > w->expected)
			note_bad(v, w->expected, "record %lld is missing: it was deleted",
				 (long long)w->expected);
		else
			note_bad(v, c.seq, "record %lld is out of sequence",
				 (long long)c.seq);
		w->chain_ok = 0;
	} else if (w->chain_ok) {
		unsigned char h[AUDIT_HASH_BYTES];
		record_hash(w->prev, &c, h);
		if (nulls || hlen != AUDIT_HASH_BYTES ||
		    sodium_memcmp(h, stored, AUDIT_HASH_BYTES) != 0) {
			note_bad(v, c.seq,
				 "record %lld was changed: its hash does not match its "
				 "content",
				 (long long)c.seq);
			w->chain_ok = 0;
		}
		memcpy(w->prev, h, sizeof(h));
		w->expected++;
	}
	/* Checkpoints are compared with the stored hash: up to the first bad
	 * record it equals the recomputed one, and a chain recomputed after
	 * tampering differs from what was signed. */
	for (; w->ci < v->ncps && v->cps[w->ci].seq < c.seq; w->ci++)
		note_bad(v, v->cps[w->ci].seq,
			 "checkpoint %lld names a record that does not exist",
			 (long long)v->cps[w->ci].seq);
	if (w->ci < v->ncps && v->cps[w->ci].seq == c.seq) {
		if (hlen != AUDIT_HASH_BYTES ||
		    sodium_memcmp(v->cps[w->ci].hash, stored, AUDIT_HASH_BYTES) != 0)
			note_bad(v, c.seq,
				 "record %lld does not match its signed checkpoint: the "
				 "log was rewritten",
				 (long long)c.seq);
		w->ci++;
	}
	/* Anchored records the walk skipped are missing, and said so above;
	 * the ones here must carry the anchored hash. */
	for (; w->ai < v->nanchor && v->anchor[w->ai].seq < c.seq; w->ai++)
		;
	for (; w->ai < v->nanchor && v->anchor[w->ai].seq == c.seq; w->ai++)
		check_anchored(v, &v->anchor[w->ai], stored, hlen);
	w->last_seq = c.seq;
	memset(w->last, 0, sizeof(w->last));
	if (hlen == AUDIT_HASH_BYTES)
		memcpy(w->last, stored, AUDIT_HASH_BYTES);
}

/* The head must name the last record the walk found. */
static enum senim_result check_head(struct store_tx *tx, struct verify_ctx *v,
				    const struct walk *w)
{
	struct store_rows *r;
	enum senim_result err = store_query_one(tx, SQL_HEAD, NULL, 0, &r);
	if (err == SENIM_ERR_NOT_FOUND) {
		note_bad(v, w->last_seq + 1, "the audit head is missing");
		return SENIM_OK;
	}
	if (err)
		return err;
	int64_t head = store_rows_int(r, 0), last_seq = w->last_seq;
	size_t hlen = 0;
	const void *hh = store_rows_blob(r, 1, &hlen);
	if (head == last_seq + 1)
		note_bad(v, head, "record %lld was deleted from the end of the log",
			 (long long)head);
	else if (head > last_seq)
		note_bad(v, last_seq + 1,
			 "records %lld to %lld were deleted from the end of the log",
			 (long long)(last_seq + 1), (long long)head);
	else if (head < last_seq)
		note_bad(v, head + 1,
			 "record %lld was added after the head: it is not in the chain",
			 (long long)(head + 1));
	else if (hlen != AUDIT_HASH_BYTES ||
		 sodium_memcmp(hh, w->last, AUDIT_HASH_BYTES) != 0)
		note_bad(v, head, "the audit head does not match record %lld",
			 (long long)head);
	store_rows_free(r);
	return SENIM_OK;
}

/* Walk the records in seq order, recomputing the chain and comparing each
 * checkpointed or anchored record with its checkpoint; then compare the
 * head. */
static enum senim_result walk_records(struct store_tx *tx, struct verify_ctx *v)
{
	struct walk w = { .expected = 1, .chain_ok = 1 };
	struct store_rows *r = NULL;
	int has = 0, rows = 0;
	int64_t after = INT64_MIN;
	enum senim_result err;
	do { /* a page at a time: the next one, if this one was full */
		err = store_query(tx, SQL_WALK, (struct store_val[]){ SV_INT(after) }, 1,
				  &r);
		if (err)
			goto fail;
		rows = 0;
		while ((err = store_rows_next(r, &has)) == SENIM_OK && has) {
			rows++;
			walk_record(v, &w, r);
			after = w.last_seq;
		}
		if (err)
			goto fail;
		store_rows_free(r);
		r = NULL;
	} while (rows == WALK_PAGE);
	err = check_head(tx, v, &w);
	if (err)
		goto fail;
	v->last_seq = w.last_seq;
	if (w.ci < v->ncps) /* signed checkpoints past the last record */
		note_bad(v, w.last_seq + 1,
			 "records %lld to %lld were deleted from the end of the log:"
			 " signed checkpoint %lld names record %lld",
			 (long long)(w.last_seq + 1), (long long)v->cps[v->ncps - 1].seq,
			 (long long)v->cps[v->ncps - 1].seq,
			 (long long)v->cps[v->ncps - 1].seq);
fail:
	store_rows_free(r);
	return err;
}

/*
 * Every committed batch ends in a checkpoint of its last record, signed in
 * the same transaction (flush_records): so the newest signed checkpoint
 * names the last record.  Records after it were added, or rewritten with
 * the checkpoint that covered them deleted, by someone without the key.
 */
static void check_covered(struct verify_ctx *v, int64_t last_seq)
{
	if (last_seq == 0 || (v->ncps && v->cps[v->ncps - 1].seq > last_seq))
		return; /* a cut tail: walk_records said so */
	int64_t signed_to = v->ncps ? v->cps[v->ncps - 1].seq : 0;
	if (signed_to == last_seq)
		return;
	note_bad(v, signed_to + 1,
		 "records %lld to %lld are not covered by a signed checkpoint: every"
		 " committed batch ends in one, so they were added or rewritten"
		 " without the key",
		 (long long)(signed_to + 1), (long long)last_seq);
}

/* The anchor's lines past the last record: the newest one this key file
 * signed names how far the log reached before it was cut back. */
static void check_anchor_tail(struct verify_ctx *v, int64_t last_seq)
{
	const struct anchor_entry *unsigned_line = NULL;
	for (size_t i = v->nanchor; i-- > 0 && v->anchor[i].seq > last_seq;) {
		const struct anchor_entry *e = &v->anchor[i];
		if (!anchor_signed(v, e)) {
			unsigned_line = e;
			continue;
		}
		note_bad(v, last_seq + 1,
			 "the log ends at record %lld, but the anchor file holds signed"
			 " checkpoint %lld (line %lld): records %lld to %lld were cut"
			 " from the end; last anchored sequence missing: %lld",
			 (long long)last_seq, (long long)e->seq, (long long)e->line,
			 (long long)(last_seq + 1), (long long)e->seq, (long long)e->seq);
		return;
	}
	if (unsigned_line)
		note_bad(
			v, unsigned_line->seq,
			"anchor line %lld (sequence %lld) is not signed by this key file",
			(long long)unsigned_line->line, (long long)unsigned_line->seq);
}

/* A log that is empty while the store holds rows that are only ever
 * written with an audit record was wiped. */
static enum senim_result check_wiped(struct store_tx *tx, struct verify_ctx *v)
{
	if (v->rep->records != 0)
		return SENIM_OK;
	struct store_rows *r;
	/* Counts: always one row. */
	enum senim_result err = store_query_one(tx, SQL_AUDITED_ROWS, NULL, 0, &r);
	if (err)
		return err;
	int64_t subjects = store_rows_int(r, 0), staff = store_rows_int(r, 1),
		policies = store_rows_int(r, 2);
	if (subjects || staff || policies)
		note_bad(v, 1,
			 "the log is empty, but the store holds %lld borrowers,"
			 " %lld staff accounts and %lld policy versions, each"
			 " written with an audit record: the log was wiped",
			 (long long)subjects, (long long)staff, (long long)policies);
	store_rows_free(r);
	return SENIM_OK;
}

static enum senim_result verify_fn(struct store_tx *tx, void *ctx)
{
	struct verify_ctx *v = ctx;
	struct audit_report keep = *v->rep; /* the anchor's counts */
	memset(v->rep, 0, sizeof(*v->rep));
	v->rep->anchored = keep.anchored;
	v->rep->anchor_skipped = keep.anchor_skipped;
	v->rep->anchor_last_seq = keep.anchor_last_seq;
	v->ncps = 0;
	enum senim_result err = load_checkpoints(tx, v);
	if (err)
		return err;
	err = walk_records(tx, v);
	if (err)
		return err;
	err = check_wiped(tx, v);
	if (err)
		return err;
	check_covered(v, v->rep->records ? v->last_seq : 0);
	check_anchor_tail(v, v->rep->records ? v->last_seq : 0);
	return SENIM_OK;
}

enum senim_result audit_signed_by(struct store_tx *tx, const struct keyring *kr,
				  int *fits)
{
	struct store_rows *r;
	*fits = 1;
	enum senim_result err = store_query_one(tx, SQL_NEWEST_CHECKPOINT, NULL, 0, &r);
	if (err == SENIM_ERR_NOT_FOUND)
		return SENIM_OK; /* nothing signed yet: any key file fits */
	if (err)
		return err;
	size_t hlen = 0, slen = 0;
	const void *hash = store_rows_blob(r, 1, &hlen);
	const void *sig = store_rows_blob(r, 4, &slen);
	*fits = checkpoint_signed(kr, store_rows_int(r, 0), hash, hlen,
				  store_rows_int(r, 2), store_rows_text(r, 3, NULL), sig,
				  slen);
	store_rows_free(r);
	return SENIM_OK;
}

static int by_seq(const void *a, const void *b)
{
	int64_t x = ((const struct anchor_entry *)a)->seq;
	int64_t y = ((const struct anchor_entry *)b)->seq;
	return (x > y) - (x < y);
}

/* The anchor's lines by seq; *missing when there is no such file. */
static enum senim_result load_anchor(const char *path, struct anchor_entry **es,
				     size_t *n, struct audit_report *rep, int *missing)
{
	int64_t skipped = 0;
	*missing = 0;
	enum senim_result err = anchor_read(path, es, n, &skipped);
	if (err == SENIM_ERR_NOT_FOUND) {
		*missing = 1;
		return SENIM_OK;
	}
	if (err) {
		log_event(LOG_ERROR, "audit_anchor_unreadable", "reason",
			  senim_result_name(err), NULL);
		return err;
	}
	qsort(*es, *n, sizeof(**es), by_seq);
	rep->anchored = (int64_t)*n;
	rep->anchor_skipped = skipped;
	rep->anchor_last_seq = *n ? (*es)[*n - 1].seq : 0;
	return SENIM_OK;
}

/*
 * The database may be ahead of the anchor by AUDIT_ANCHOR_LAG checkpoints: a
 * batch's line is written after its COMMIT, while the next batches already
 * commit (store_tx_after_commit), and a crash then loses their lines.  More
 * means the anchor is not this store's, is an old copy, or was not written
 * (audit_anchor_failed in the log).  Read after the walk, so that batches
 * committed while it ran are anchored by now.
 */
static enum senim_result check_anchor_lag(struct verify_ctx *v, const char *path)
{
	struct anchor_entry *es = NULL;
	size_t n = 0;
	int64_t skipped = 0;
	enum senim_result err = anchor_read(path, &es, &n, &skipped);
	if (err)
		return err == SENIM_ERR_NOT_FOUND ? SENIM_OK : err;
	int64_t newest = 0;
	for (size_t i = 0; i < n; i++)
		if (es[i].seq > newest)
			newest = es[i].seq;
	free(es);
	size_t after = 0;
	for (size_t i = v->ncps; i-- > 0 && v->cps[i].seq > newest;)
		after++;
	/* The weakest finding: it never hides what the records themselves
	 * show. */
	if (after > AUDIT_ANCHOR_LAG && v->rep->first_bad_seq == 0)
		note_bad(
			v, newest + 1,
			"%zu signed checkpoints, up to record %lld, are not in the anchor"
			" file, which ends at sequence %lld: it is another store's or an"
			" old copy, or anchoring failed (audit_anchor_failed in the log)",
			after, (long long)v->cps[v->ncps - 1].seq, (long long)newest);
	return SENIM_OK;
}

enum senim_result audit_verify_anchored(struct store *st, const struct keyring *kr,
					const char *anchor, struct audit_report *rep)
{
	if (!st || !kr || !rep)
		return SENIM_ERR_INVALID;
	memset(rep, 0, sizeof(*rep));
	struct anchor_entry *es = NULL;
	size_t n = 0;
	int missing = 0;
	struct verify_ctx v = { .kr = kr, .rep = rep };
	enum senim_result err = SENIM_OK;
	/* The anchor before the database's snapshot: every line in it was
	 * committed before the line was written, so the snapshot holds it. */
	if (anchor) {
		err = load_anchor(anchor, &es, &n, rep, &missing);
		if (err)
			goto fail;
	}
	v.anchor = es;
	v.nanchor = n;
	err = store_read(st, verify_fn, &v);
	if (err)
		goto fail;
	if (anchor && !missing) {
		err = check_anchor_lag(&v, anchor);
		if (err)
			goto fail;
	}
	if (rep->first_bad_seq != 0) {
		char seq[24];
		snprintf(seq, sizeof(seq), "%lld", (long long)rep->first_bad_seq);
		log_event(LOG_ERROR, "audit_tampered", "first_bad_seq", seq, "problem",
			  rep->problem, NULL);
		err = SENIM_ERR_TAMPERED;
	} else if (anchor && missing && rep->checkpoints > 0) {
		rep->anchor_missing = 1;
		err = SENIM_ERR_NOT_FOUND;
	}
fail:
	free(v.cps);
	free(es);
	return err;
}

enum senim_result audit_verify(struct store *st, const struct keyring *kr,
			       struct audit_report *rep)
{
	return audit_verify_anchored(st, kr, audit_anchor_path(), rep);
}
