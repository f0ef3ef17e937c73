/*
 * keyfile.h — the key file: its format, reading and checking it, and the
 * two ways it is written (created with fresh keys, or given a new KEK
 * version), each of them atomic.
 *
 * The file (`--keys`, default <data-dir>/keys/senim.keys) is JSON, format 1:
 *
 *   {
 *     "format": 1,
 *     "signing": [ { "id": "<16 hex>", "seed": "<base64, 32 bytes>",
 *                    "created_at": <us since epoch> }, ... ],
 *     "kek": [ { "version": <1..2^32-1>, "key": "<base64, 32 bytes>",
 *                "created_at": <us since epoch> }, ... ],
 *     "index_key": "<base64, 32 bytes>"
 *   }
 *
 * - base64 is the ORIGINAL variant (RFC 4648 section 4, with padding).
 * - "signing": Ed25519 seeds.  The LAST entry is the current key; older
 *   ones stay so that their signatures still verify.  An id is the hex of
 *   the first 8 bytes of the public key and must match the seed.
 * - "kek": key-encryption keys for XChaCha20-Poly1305.  The HIGHEST
 *   version seals; every listed version opens.  Versions are unique.
 * - "index_key": the BLAKE2b key of the blind indexes.
 * Other members are ignored.  Anything else wrong — bad JSON, a missing
 * member, a wrong length, an id that does not match its seed, a duplicate —
 * refuses the file with SENIM_ERR_CONFIG, and the reason (never a byte of
 * the file) is logged as keyring_refused.
 *
 * Invariants: the file is mode 0600 in a directory no group or other may
 * open (a file or directory that is, is refused), and it is never seen
 * half-written: a new file is written to a temporary file (0600) beside it,
 * fsync'ed, and then linked (creation: of two processes, exactly one wins)
 * or renamed (a new KEK, under an exclusive flock of the directory) into
 * place, and the directory fsync'ed.  Secrets read from it live only in
 * sodium_malloc'ed memory; the base64 texts jansson decodes are wiped
 * before its tree is freed (the copies jansson's lexer makes while parsing
 * are beyond reach).
 *
 * The key ring (keyring.h) is what the rest of senim uses; this module only
 * reads and writes the file.
 */
#ifndef SENIM_KEYFILE_H
#define SENIM_KEYFILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "common/result.h"

#define KEYFILE_KEY_BYTES 32  /* a signing seed, a KEK, the index key */
#define KEYFILE_SK_BYTES 64   /* an Ed25519 secret key: seed || public key */
#define KEYFILE_PK_BYTES 32   /* an Ed25519 public key */
#define KEYFILE_KEY_ID_LEN 17 /* 16 hex digits + NUL */
#define KEYFILE_MAX_SIGNERS 256
#define KEYFILE_MAX_KEKS 256 /* KEK versions a file, and a ring, may hold */

/* ---- a key file's contents ------------------------------------------------ */

struct keyfile_signer {
	char id[KEYFILE_KEY_ID_LEN];
	unsigned char pk[KEYFILE_PK_BYTES];
	int64_t created_at;
};

struct keyfile_kek {
	unsigned char key[KEYFILE_KEY_BYTES];
	uint32_t version;
	int64_t created_at;
};

/*
 * A key file, parsed and checked.  Each pointer owns its memory until
 * keyfile_release(); a caller that keeps one (the key ring adopts signers
 * and secret) sets it to NULL first.
 */
struct keyfile {
	size_t nsigners;
	struct keyfile_signer *signers; /* malloc'ed, in file order */
	/* sodium_malloc'ed, one block: the signers' secret keys,
	 * KEYFILE_SK_BYTES each in file order, then the index key
	 * (KEYFILE_KEY_BYTES). */
	unsigned char *secret;
	size_t nkeks;
	struct keyfile_kek *keks; /* sodium_malloc'ed, in file order */
	size_t newest;		  /* keks[newest] has the highest version */
};

/* The index key, inside kf->secret. */
static inline unsigned char *keyfile_index_key(const struct keyfile *kf)
{
	return kf->secret + kf->nsigners * KEYFILE_SK_BYTES;
}

/*
 * Parse a key file's text (`len` bytes, not necessarily NUL-terminated)
 * into *out, touching no file; `name` says what the log calls it.
 * SENIM_ERR_CONFIG when it is not a valid key file, SENIM_ERR_INVALID when
 * text is NULL with len > 0, SENIM_ERR_CRYPTO when libsodium cannot start.  The caller wipes its copy of the text and
 * releases *out (set up even on failure) with keyfile_release().
 */
SENIM_MUST_CHECK enum senim_result keyfile_parse(const char *text, size_t len,
						 const char *name, struct keyfile *out);

/*
 * Read, check and parse the key file at path into *out, as keyfile_parse
 * does.  SENIM_ERR_NOT_FOUND when the file or its directory does not exist
 * (nothing is logged: the caller may create it); SENIM_ERR_CONFIG when the
 * file or its directory is open to group or others, or does not parse.
 */
SENIM_MUST_CHECK enum senim_result keyfile_load(const char *path, struct keyfile *out);

/* Wipe and free what *kf still owns, and leave it empty. */
void keyfile_release(struct keyfile *kf);

/* ---- writing the file ------------------------------------------------------ */

/*
 * Create the key file at path, and its missing directories (0700), with
 * fresh keys: one signing key and KEK version 1.  SENIM_OK also when
 * another process created it first: its keys win, ours are wiped unused.
 */
SENIM_MUST_CHECK enum senim_result keyfile_create(const char *path);

/*
 * Add a KEK version (the highest plus one) to the key file at path and say
 * which in *new_version.  The file is read and checked first — one this
 * code does not fully understand is never rewritten — and a file that
 * changes while it is rewritten is refused untouched.  Processes that
 * loaded the file earlier keep working and take the new version with
 * keyring_reload().
 */
SENIM_MUST_CHECK enum senim_result keyfile_add_kek(const char *path,
						   uint32_t *new_version);

/* ---- the file's identity on disk ---------------------------------------------- */

/* What tells one version of the file from another, so that a file that has
 * not changed is not read again. */
struct keyfile_id {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	struct timespec ctime;
	int known; /* 0: the file could not be stat'ed */
};

/* The identity of the file at path now. */
void keyfile_id_of(const char *path, struct keyfile_id *id);
/* 1 when both are known and name the same version of the file. */
int keyfile_id_equal(const struct keyfile_id *a, const struct keyfile_id *b);

/* Log why the key file at path is refused (keyring_refused, never a key
 * byte) and return SENIM_ERR_CONFIG. */
enum senim_result keyfile_refuse(const char *path, const char *reason);

#endif
