/*
 * policy.c — publishing and reading privacy-policy versions.
 */
#include "policy/policy.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "common/clock.h"
#include "common/banned.h"

int policy_version_valid(const char *v)
{
	size_t n = strlen(v);
	if (n == 0 || n > POLICY_VERSION_MAX)
		return 0;
	/* "current" names the version in force in the API's paths. */
	if (strcmp(v, "current") == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = v[i];
		int alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
			    (c >= 'A' && c <= 'Z');
		if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
			return 0;
	}
	return 1;
}

void policy_sha256_hex(const void *data, size_t len, char out[POLICY_SHA256_HEX])
{
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, data, len);
	sodium_bin2hex(out, POLICY_SHA256_HEX, h, sizeof(h));
}

void policy_doc_release(struct policy_doc *d)
{
	free(d->text_ru);
	free(d->text_kk);
	d->text_ru = d->text_kk = NULL;
}

/* A text is publishable when non-empty, within the cap, UTF-8 without NUL. */
static int text_valid(const char *s, size_t len)
{
	if (len == 0 || len > POLICY_TEXT_MAX || memchr(s, '\0', len))
		return 0;
	json_t *probe = json_stringn(s, len); /* NULL unless valid UTF-8 */
	json_decref(probe);
	return probe != NULL;
}

static void copy_text(char *dst, size_t cap, const char *src, size_t len)
{
	if (len >= cap)
		len = cap - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

/* Fill the metadata columns (seq, version, published_at, published_by,
 * sha256_ru, sha256_kk) from the current row. */
static void read_meta(struct store_rows *r, struct policy_doc *d)
{
	size_t len;
	const char *s;
	d->seq = store_rows_int(r, 0);
	s = store_rows_text(r, 1, &len);
	copy_text(d->version, sizeof(d->version), s, len);
	d->published_at = store_rows_int(r, 2);
	s = store_rows_text(r, 3, &len);
	copy_text(d->published_by, sizeof(d->published_by), s, len);
	s = store_rows_text(r, 4, &len);
	copy_text(d->sha256_ru, sizeof(d->sha256_ru), s, len);
	s = store_rows_text(r, 5, &len);
	copy_text(d->sha256_kk, sizeof(d->sha256_kk), s, len);
}

#define META_COLUMNS "seq, version, published_at, published_by, sha256_ru, sha256_kk"

enum senim_result policy_publish_prepare(struct policy_publish *op)
{
	memset(&op->doc, 0, sizeof(op->doc));
	op->created = 0;
	if (!policy_version_valid(op->version) || !text_valid(op->ru, op->ru_len) ||
	    !text_valid(op->kk, op->kk_len))
		return SENIM_ERR_INVALID;
	policy_sha256_hex(op->ru, op->ru_len, op->sha_ru);
	policy_sha256_hex(op->kk, op->kk_len, op->sha_kk);
	return SENIM_OK;
}

/* The version already published under op->version into op->doc;
 * SENIM_ERR_NOT_FOUND when there is none. */
static enum senim_result published_as(struct store_tx *tx, struct policy_publish *op)
{
	struct store_rows *r = NULL;
	enum senim_result err = store_query_one(
		tx, "SELECT " META_COLUMNS " FROM policies WHERE version = $1",
		(struct store_val[]){ SV_TEXT(op->version) }, 1, &r);
	if (err)
		return err;
	read_meta(r, &op->doc);
	store_rows_free(r);
	return SENIM_OK;
}

enum senim_result policy_publish_tx(struct store_tx *tx, void *arg)
{
	struct policy_publish *op = arg;
	struct policy_doc *d = &op->doc;
	struct store_rows *r = NULL;
	enum senim_result err;
	memset(d, 0, sizeof(*d));
	op->created = 0;
	/* PostgreSQL: publishers in other processes wait here, so seq numbers
	 * and the version check stay consistent. */
	if (store_tx_kind(tx) == STORE_POSTGRES) {
		err = store_exec(tx, "LOCK TABLE policies IN EXCLUSIVE MODE", NULL, 0,
				 NULL);
		if (err)
			return err;
	}
	err = published_as(tx, op);
	if (err == SENIM_OK) {
		/* P2: a published version is immutable. */
		if (strcmp(d->sha256_ru, op->sha_ru) != 0 ||
		    strcmp(d->sha256_kk, op->sha_kk) != 0)
			return SENIM_ERR_CONFLICT;
		return SENIM_OK;
	}
	if (err != SENIM_ERR_NOT_FOUND)
		return err;
	err = store_query_one(tx, "SELECT COALESCE(MAX(seq), 0) FROM policies", NULL, 0,
			      &r);
	if (err)
		return err;
	int64_t seq = store_rows_int(r, 0) + 1;
	store_rows_free(r);
	int64_t now = clock_now_us();
	err = store_exec(tx,
			 "INSERT INTO policies (seq, version, published_at, published_by,"
			 " text_ru, text_kk, sha256_ru, sha256_kk)"
			 " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
			 (struct store_val[]){ SV_INT(seq), SV_TEXT(op->version),
					       SV_INT(now), SV_TEXT(op->actor),
					       SV_TEXTN(op->ru, op->ru_len),
					       SV_TEXTN(op->kk, op->kk_len),
					       SV_TEXT(op->sha_ru), SV_TEXT(op->sha_kk) },
			 8, NULL);
	if (err)
		return err;
	char object[16 + POLICY_VERSION_MAX];
	snprintf(object, sizeof(object), "policy:%s", op->version);
	struct audit_record rec = { .actor = op->actor,
				    .operation = "policy.publish",
				    .object = object,
				    .subject_id = NULL,
				    .categories = "",
				    .purpose = "legal_obligation",
				    .outcome = "success",
				    .request_id = op->request_id };
	err = audit_append(tx, op->kr, &rec);
	if (err)
		return err;
	d->seq = seq;
	copy_text(d->version, sizeof(d->version), op->version, strlen(op->version));
	d->published_at = now;
	memcpy(d->sha256_ru, op->sha_ru, sizeof(op->sha_ru));
	memcpy(d->sha256_kk, op->sha_kk, sizeof(op->sha_kk));
	copy_text(d->published_by, sizeof(d->published_by), op->actor, strlen(op->actor));
	op->created = 1;
	return SENIM_OK;
}

struct get_ctx {
	const char *version;
	struct policy_doc *out;
};

static enum senim_result dup_text(struct store_rows *r, int col, char **out, size_t *len)
{
	const char *s = store_rows_text(r, col, len);
	*out = malloc(*len + 1);
	if (!*out)
		return SENIM_ERR_NOMEM;
	memcpy(*out, s, *len);
	(*out)[*len] = '\0';
	return SENIM_OK;
}

static enum senim_result get_tx(struct store_tx *tx, void *arg)
{
	struct get_ctx *c = arg;
	struct store_rows *r = NULL;
	enum senim_result err;
	if (c->version)
		err = store_query_one(tx,
				      "SELECT " META_COLUMNS
				      ", text_ru, text_kk FROM policies"
				      " WHERE version = $1",
				      (struct store_val[]){ SV_TEXT(c->version) }, 1, &r);
	else
		err = store_query_one(tx,
				      "SELECT " META_COLUMNS
				      ", text_ru, text_kk FROM policies"
				      " ORDER BY seq DESC LIMIT 1",
				      NULL, 0, &r);
	if (err)
		return err;
	read_meta(r, c->out);
	err = dup_text(r, 6, &c->out->text_ru, &c->out->len_ru);
	if (err)
		goto fail;
	err = dup_text(r, 7, &c->out->text_kk, &c->out->len_kk);
fail:
	store_rows_free(r);
	return err;
}

enum senim_result policy_get(struct store *st, const char *version,
			     struct policy_doc *out)
{
	memset(out, 0, sizeof(*out));
	struct get_ctx c = { version, out };
	enum senim_result err = store_read(st, get_tx, &c);
	if (err)
		policy_doc_release(out);
	return err;
}

static enum senim_result seq_tx(struct store_tx *tx, void *arg)
{
	int64_t *seq = arg;
	struct store_rows *r = NULL;
	/* One row always: the aggregate of an empty table is 0. */
	enum senim_result err = store_query_one(
		tx, "SELECT COALESCE(MAX(seq), 0) FROM policies", NULL, 0, &r);
	if (err)
		return err;
	*seq = store_rows_int(r, 0);
	store_rows_free(r);
	return SENIM_OK;
}

enum senim_result policy_current_seq(struct store *st, int64_t *seq)
{
	*seq = 0;
	return store_read(st, seq_tx, seq);
}

struct list_ctx {
	policy_each_fn fn;
	void *ctx;
};

static enum senim_result list_tx(struct store_tx *tx, void *arg)
{
	struct list_ctx *c = arg;
	struct store_rows *r;
	int has = 0;
	enum senim_result err =
		store_query(tx, "SELECT " META_COLUMNS " FROM policies ORDER BY seq DESC",
			    NULL, 0, &r);
	if (err)
		return err;
	while (!err && (err = store_rows_next(r, &has)) == SENIM_OK && has) {
		struct policy_doc d;
		memset(&d, 0, sizeof(d));
		read_meta(r, &d);
		err = c->fn(&d, c->ctx);
	}
	store_rows_free(r);
	return err;
}

enum senim_result policy_list(struct store *st, policy_each_fn fn, void *ctx)
{
	struct list_ctx c = { fn, ctx };
	return store_read(st, list_tx, &c);
}
