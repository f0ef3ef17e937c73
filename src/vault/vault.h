/*
 * vault.h — envelope encryption of a borrower's personal data (S1).
 *
 * Every subject has its own data key (DEK): 32 random bytes for
 * XChaCha20-Poly1305, stored only wrapped (sealed) by the key ring's newest
 * key-encryption key, with associated data "senim/dek/v1" || subject_id.
 * Destroying the wrapped DEK destroys every copy of the subject's data,
 * backups included (crypto-shredding).
 *
 * A record is one version of one category of one subject: a JSON object of
 * fields.  vault_seal_record() seals each field's value (its compact JSON
 * text) on its own, with associated data binding it to subject, category,
 * field, record version and DEK version, and packs the sealed fields into
 * one blob:
 *     "SV1" | u16 field count | per field: u8 name length, name,
 *                                          u32 sealed length, sealed bytes
 * (integers big-endian).  A blob or a field moved to another subject,
 * category, field or version fails to open: SENIM_ERR_CRYPTO, never data.
 *
 * Lookups by IIN, phone or e-mail use blind indexes: keyed BLAKE2b-256 of
 * "<kind>:" || normalised value, with the key ring's index key, so equal
 * values meet without the database ever holding one in plain text.
 *
 * Decrypted data is handed out as jansson values; serve installs
 * vault_install_wiping_allocator() so jansson's memory is wiped when freed.
 */
#ifndef SENIM_VAULT_H
#define SENIM_VAULT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/result.h"
#include "vault/keyring.h"

#define VAULT_DEK_BYTES 32
#define VAULT_INDEX_BYTES 32
#define VAULT_SUBJECT_ID_MAX 64

struct vault_dek; /* a subject's unwrapped data key, in sodium_malloc'ed memory */

/* A fresh DEK for subject_id; *wrapped gets its sealed form (appended) and
 * *kek_version the KEK version that sealed it.  Free *dek with vault_dek_free. */
SENIM_MUST_CHECK enum senim_result
vault_dek_new(const struct keyring *kr, const char *subject_id, struct vault_dek **dek,
	      struct buf *wrapped, uint32_t *kek_version);
/* Unwrap a stored DEK; SENIM_ERR_CRYPTO when it does not belong to subject_id
 * or its KEK is gone. */
SENIM_MUST_CHECK enum senim_result vault_dek_unwrap(const struct keyring *kr,
						    const char *subject_id,
						    const void *wrapped, size_t len,
						    struct vault_dek **dek);
/* Wipe and free; NULL does nothing. */
void vault_dek_free(struct vault_dek *dek);

/* Inside a transaction: read the subject's wrapped data key from the store
 * and unwrap it; free it with vault_dek_free().  SENIM_ERR_NOT_FOUND when
 * the subject has none (never had one, or it was shredded).  The one place
 * a data key is loaded, for subjects, consent and the rest alike. */
struct store_tx;
SENIM_MUST_CHECK enum senim_result vault_dek_load(struct store_tx *tx,
						  const struct keyring *kr,
						  const char *subject_id,
						  struct vault_dek **dek);

/* Re-seal a wrapped DEK under the newest KEK (key rotation); the DEK itself
 * and so all data sealed with it are unchanged. */
SENIM_MUST_CHECK enum senim_result
vault_dek_rewrap(const struct keyring *kr, const char *subject_id, const void *wrapped,
		 size_t len, struct buf *out, uint32_t *kek_version);

/* Seal a JSON object of fields (values of any JSON type) as one blob. */
SENIM_MUST_CHECK enum senim_result
vault_seal_record(const struct vault_dek *dek, const char *subject_id,
		  const char *category, int64_t version, json_t *fields, struct buf *out);
/* Open a blob back into a new JSON object (*out, caller json_decref()s). */
SENIM_MUST_CHECK enum senim_result vault_open_record(const struct vault_dek *dek,
						     const char *subject_id,
						     const char *category,
						     int64_t version, const void *blob,
						     size_t len, json_t **out);

/* Seal / open one opaque value (biometric images) with the same binding,
 * `field` naming it. */
SENIM_MUST_CHECK enum senim_result
vault_seal_blob(const struct vault_dek *dek, const char *subject_id, const char *category,
		const char *field, int64_t version, const void *data, size_t len,
		struct buf *out);
SENIM_MUST_CHECK enum senim_result
vault_open_blob(const struct vault_dek *dek, const char *subject_id, const char *category,
		const char *field, int64_t version, const void *sealed, size_t len,
		struct buf *out);

/* Blind index of a normalised value; kind is "iin", "phone" or "email". */
void vault_blind_index(const struct keyring *kr, const char *kind, const char *value,
		       size_t len, unsigned char out[VAULT_INDEX_BYTES]);

/* Make jansson wipe every block it frees (call once, before any JSON). */
void vault_install_wiping_allocator(void);

#endif
