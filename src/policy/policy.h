/*
 * policy.h — versions of the lender's privacy policy (P1-P3).
 *
 * A version is published once, in Russian and Kazakh, and is in force from
 * the instant of publication (P2) until a newer one is published.  A
 * published version never changes and is never deleted: publishing the same
 * version again with the same texts is a no-op, with other texts a conflict.
 * Each text is kept with its SHA-256, so anyone can check the copy they were
 * shown.  Publication is audited in the same transaction.
 */
#ifndef SENIM_POLICY_H
#define SENIM_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "common/result.h"
#include "store/store.h"
#include "vault/keyring.h"

#define POLICY_VERSION_MAX 32
#define POLICY_TEXT_MAX (256 * 1024) /* bytes, each language */
#define POLICY_SHA256_HEX 65

/* 1 when `v` is 1..32 characters of [0-9A-Za-z._-] starting alphanumeric,
 * and not the reserved word "current". */
int policy_version_valid(const char *v);

struct policy_doc {
	int64_t seq; /* publication order, 1, 2, ... */
	char version[POLICY_VERSION_MAX + 1];
	int64_t published_at; /* microseconds since the epoch */
	char published_by[40];
	char sha256_ru[POLICY_SHA256_HEX];
	char sha256_kk[POLICY_SHA256_HEX];
	char *text_ru; /* heap; NULL when loaded without texts */
	char *text_kk;
	size_t len_ru, len_kk;
};

/* Free the texts; the struct itself is the caller's.  Safe on a doc
 * loaded without texts or zeroed. */
void policy_doc_release(struct policy_doc *d);

/*
 * Publishing a version: policy_publish_prepare() checks the version and
 * the texts and hashes them (outside the writer: each text may be 256 KiB);
 * then policy_publish_tx runs in the write transaction (store_write, or
 * http_write_then from a handler) and appends `policy.publish`.  The caller
 * zeroes the op and fills "in"; the texts must outlive the op.  On SENIM_OK
 * created is 1 when this write published the version, 0 when the same
 * texts were already published under it; doc describes the version either
 * way (its texts left NULL).
 */
struct policy_publish {
	/* in (borrowed; outlive the op) */
	const struct keyring *kr;
	const char *actor, *request_id, *version;
	const char *ru, *kk;
	size_t ru_len, kk_len;
	/* out */
	struct policy_doc doc;
	int created;
	/* private, between the two steps */
	char sha_ru[POLICY_SHA256_HEX];
	char sha_kk[POLICY_SHA256_HEX];
};
/* SENIM_ERR_INVALID for a bad version or an empty, oversized or
 * non-UTF-8 text. */
SENIM_MUST_CHECK enum senim_result policy_publish_prepare(struct policy_publish *op);
/* SENIM_ERR_CONFLICT when the version exists with other texts (nothing is
 * written). */
SENIM_MUST_CHECK enum senim_result policy_publish_tx(struct store_tx *tx, void *op);

/* Load a version (version NULL: the current one) with its texts.
 * SENIM_ERR_NOT_FOUND when there is none. */
SENIM_MUST_CHECK enum senim_result policy_get(struct store *st, const char *version,
					      struct policy_doc *out);

/* The seq of the current version (0 when none): a cheap freshness check. */
SENIM_MUST_CHECK enum senim_result policy_current_seq(struct store *st, int64_t *seq);

/* Every version, newest first, without texts; a result other than SENIM_OK
 * from fn ends the walk with that result. */
typedef enum senim_result (*policy_each_fn)(const struct policy_doc *d, void *ctx);
SENIM_MUST_CHECK enum senim_result policy_list(struct store *st, policy_each_fn fn,
					       void *ctx);

/* Lower-case hex SHA-256 of data. */
void policy_sha256_hex(const void *data, size_t len, char out[POLICY_SHA256_HEX]);

#endif
