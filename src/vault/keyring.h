/*
 * keyring.h — the service's key material, read from a key file kept apart
 * from the database (`--keys`, default <data-dir>/keys/senim.keys).
 *
 * The file is JSON, mode 0600 in a 0700 directory, created with fresh random
 * keys on first use.  It holds:
 *   - the Ed25519 signing key that signs audit checkpoints and receipts,
 *     with an id (the first 8 bytes of its public key, hex);
 *   - versioned key-encryption keys (KEKs, 32 bytes, XChaCha20-Poly1305):
 *     the newest seals, every version still opens;
 *   - the blind-index key (BLAKE2b key for lookups by IIN, phone, e-mail).
 * All secret bytes live in sodium_malloc'ed memory, are wiped on free, and
 * never leave this module except as signatures and ciphertexts.
 *
 * Sealed data is: 4-byte KEK version (big endian) || 24-byte nonce ||
 * ciphertext+tag.  The associated data the caller passes binds a ciphertext
 * to its place (table, row, field), so one moved elsewhere fails to open.
 */
#ifndef SENIM_KEYRING_H
#define SENIM_KEYRING_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/result.h"

#define KEYRING_SIG_BYTES 64
#define KEYRING_PK_BYTES 32
#define KEYRING_KEY_ID_LEN 17 /* 16 hex digits + NUL */
#define KEYRING_SEAL_OVERHEAD (4 + 24 + 16)

struct keyring;

/*
 * Load the key file at `path`.  When it does not exist and `create` is set,
 * make it (and its directory, 0700) with fresh keys; a file or directory
 * readable by group or others is refused (SENIM_ERR_CONFIG), as is a file
 * that does not parse.  *out is freed with keyring_free().
 */
SENIM_MUST_CHECK int keyring_open(const char *path, int create, struct keyring **out);
/* Wipe and free.  keyring_free(NULL) does nothing. */
void keyring_free(struct keyring *kr);

/* ---- signatures ---------------------------------------------------------- */

/* The id of the current signing key, e.g. "3f2a9c0d11e4b7a8". */
const char *keyring_signing_key_id(const struct keyring *kr);
/* The current signing key's public half. */
void keyring_public_key(const struct keyring *kr, unsigned char pk[KEYRING_PK_BYTES]);
/* Detached Ed25519 signature of msg with the current signing key. */
void keyring_sign(const struct keyring *kr, const void *msg, size_t len,
		  unsigned char sig[KEYRING_SIG_BYTES]);
/* SENIM_OK when sig is a valid signature of msg by the key named key_id;
 * SENIM_ERR_CRYPTO when it is not or the key is unknown. */
SENIM_MUST_CHECK int keyring_verify(const struct keyring *kr, const char *key_id,
				    const void *msg, size_t len,
				    const unsigned char sig[KEYRING_SIG_BYTES]);

/* ---- sealing (encryption at rest) --------------------------------------- */

/* Encrypt `len` bytes with the newest KEK, appending the sealed form to out. */
SENIM_MUST_CHECK int keyring_seal(const struct keyring *kr, const void *ad, size_t adlen,
				  const void *plain, size_t len, struct buf *out);
/*
 * Decrypt a sealed value into `plain` (capacity cap, at least
 * sealed_len - KEYRING_SEAL_OVERHEAD); *len gets the plaintext length.
 * SENIM_ERR_CRYPTO when the data, its associated data or its key version do
 * not match.  The caller wipes `plain` with sodium_memzero when done.
 */
SENIM_MUST_CHECK int keyring_unseal(const struct keyring *kr, const void *ad,
				    size_t adlen, const void *sealed, size_t sealed_len,
				    unsigned char *plain, size_t cap, size_t *len);

#endif
