/*
 * keyring.h — the service's keys in memory, and everything done with them:
 * signing and verifying, sealing and opening, blind indexes.
 *
 * A ring is loaded from the key file (keyfile.h: its format, and how it is
 * created and rotated), kept apart from the database.  It holds:
 *   - Ed25519 signing keys, which sign audit checkpoints and receipts; the
 *     last one signs, every one verifies (found by its id: the hex of the
 *     first 8 bytes of its public key);
 *   - versioned key-encryption keys (KEKs, 32 bytes, XChaCha20-Poly1305):
 *     the highest version seals, every version opens;
 *   - the blind-index key (BLAKE2b key for lookups by IIN, phone, e-mail).
 *
 * Invariants: every secret byte lives in sodium_malloc'ed memory, read-only
 * once loaded and wiped on free, and leaves this module only as signatures,
 * ciphertexts and index digests.  The KEK table only grows: a ring opened
 * from a file takes the file's new versions while other threads seal and
 * open (keyring_reload), and never loses one.  A ring is shared by every
 * thread; only keyring_free() needs it to be unused.
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
 * make it (and its directory, 0700) with fresh keys (keyfile_create); a
 * file or directory open to group or others is refused (SENIM_ERR_CONFIG),
 * as is a file that does not parse or does not exist.  *out is freed with
 * keyring_free().
 */
SENIM_MUST_CHECK enum senim_result keyring_open(const char *path, int create,
						struct keyring **out);
/*
 * Build a key ring from the text of a key file (`len` bytes, the format
 * keyfile.h describes; it need not be NUL-terminated), touching no file:
 * for checking a file's text, for tests and for the fuzzer.  The ring has
 * no file, so it never reloads.  SENIM_ERR_CONFIG when the text is not a
 * valid key file (the reason is logged, never the text); SENIM_ERR_INVALID
 * when text is NULL with len > 0.  The caller wipes its copy of the text;
 * *out is freed with keyring_free().
 */
SENIM_MUST_CHECK enum senim_result keyring_parse(const char *text, size_t len,
						 struct keyring **out);
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
SENIM_MUST_CHECK enum senim_result
keyring_verify(const struct keyring *kr, const char *key_id, const void *msg, size_t len,
	       const unsigned char sig[KEYRING_SIG_BYTES]);

/* ---- sealing (encryption at rest) --------------------------------------- */

/* Encrypt `len` bytes with the newest KEK, appending the sealed form to out. */
SENIM_MUST_CHECK enum senim_result keyring_seal(const struct keyring *kr, const void *ad,
						size_t adlen, const void *plain,
						size_t len, struct buf *out);
/*
 * Decrypt a sealed value into `plain` (capacity cap, at least
 * sealed_len - KEYRING_SEAL_OVERHEAD); *len gets the plaintext length.
 * SENIM_ERR_CRYPTO when the data, its associated data or its key version do
 * not match.  The caller wipes `plain` with sodium_memzero when done.
 */
SENIM_MUST_CHECK enum senim_result
keyring_unseal(const struct keyring *kr, const void *ad, size_t adlen, const void *sealed,
	       size_t sealed_len, unsigned char *plain, size_t cap, size_t *len);

/* ---- blind indexes and rotation ---------------------------------------- */

/* Keyed BLAKE2b-256 of data with the key ring's index key. */
void keyring_blind_index(const struct keyring *kr, const void *data, size_t len,
			 unsigned char out[32]);

/* The newest KEK version, and how many KEK versions the ring holds. */
uint32_t keyring_kek_version(const struct keyring *kr);
size_t keyring_kek_count(const struct keyring *kr);
/* The KEK versions, oldest first, into out[0..cap); returns how many. */
size_t keyring_kek_versions(const struct keyring *kr, uint32_t *out, size_t cap);

/*
 * A 32-byte key for data kept outside the database (a backup), derived
 * from KEK `version` and `context` (keyed BLAKE2b-256 with the KEK over
 * "senim-derived-v1" || context), so the KEK itself never leaves the ring
 * and a backup made under a version opens as long as the ring keeps it.
 * SENIM_ERR_NOT_FOUND when the ring has no such version.  The caller wipes
 * out with sodium_memzero.
 */
SENIM_MUST_CHECK enum senim_result keyring_derive(const struct keyring *kr,
						  uint32_t version, const void *context,
						  size_t len, unsigned char out[32]);

/* Re-read the key file into kr when it has changed, taking its new KEK
 * versions (keyfile_add_kek() adds them); thread-safe against concurrent
 * seal/unseal.  A ring from keyring_parse() has no file: SENIM_OK. */
SENIM_MUST_CHECK enum senim_result keyring_reload(struct keyring *kr);

#endif
