/*
 * keyring.c — the key file and the operations done with its keys (keyring.h).
 *
 * Key file, format 1 (JSON, UTF-8, mode 0600 in a directory 0700):
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
 * - "signing": Ed25519 seeds.  The LAST entry is the current key, which signs;
 *   older entries stay so that their old signatures still verify
 *   (keyring_verify() finds a key by id).  An id is the hex of the first 8
 *   bytes of the public key and must match the seed.
 * - "kek": key-encryption keys for XChaCha20-Poly1305.  The entry with the
 *   HIGHEST version seals; every listed version opens.  Versions are unique.
 * - "index_key": the BLAKE2b key of the blind indexes.
 * Other members are ignored.  Anything else wrong — bad JSON, a missing
 * member, a wrong length, an id that does not match its seed, a duplicate —
 * makes keyring_open() refuse the file with SENIM_ERR_CONFIG.
 *
 * Creation is atomic and race-free: the new file is written to a temporary
 * file (mkstemp: O_CREAT|O_EXCL, 0600) in the same directory, fsync'ed, then
 * link()ed to its final name, which fails with EEXIST when another process
 * got there first; the loser discards its keys and reads the winner's file.
 *
 * Secrets (signing secret keys, KEKs, the index key) live in one
 * sodium_malloc'ed block made read-only once loaded.  The file's bytes are
 * read into sodium_malloc'ed memory, and the base64 strings jansson decodes
 * are wiped before its tree is freed.  What cannot be wiped: the copies
 * jansson's lexer makes internally while parsing.
 */
#include "vault/keyring.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/banned.h"

#define KR_KEY_BYTES 32
#define KR_SK_BYTES crypto_sign_SECRETKEYBYTES
#define KR_NONCE_BYTES crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define KR_TAG_BYTES crypto_aead_xchacha20poly1305_ietf_ABYTES
#define KR_B64_LEN sodium_base64_ENCODED_LEN(KR_KEY_BYTES, sodium_base64_VARIANT_ORIGINAL)
#define KR_FILE_MAX (1 << 20) /* a key file is a few hundred bytes */
#define KR_MAX_SIGNERS 256
#define KR_MAX_KEKS 4096

_Static_assert(KEYRING_SIG_BYTES == crypto_sign_BYTES, "signature size");
_Static_assert(KEYRING_PK_BYTES == crypto_sign_PUBLICKEYBYTES, "public key size");
_Static_assert(crypto_sign_SEEDBYTES == KR_KEY_BYTES, "seed size");
_Static_assert(crypto_aead_xchacha20poly1305_ietf_KEYBYTES == KR_KEY_BYTES, "kek size");
_Static_assert(KEYRING_SEAL_OVERHEAD == 4 + KR_NONCE_BYTES + KR_TAG_BYTES,
	       "seal overhead");

struct kr_signer {
	char id[KEYRING_KEY_ID_LEN];
	unsigned char pk[KEYRING_PK_BYTES];
	int64_t created_at;
};

struct kr_kek {
	uint32_t version;
	int64_t created_at;
};

struct keyring {
	struct kr_signer *signers; /* public halves; the last one is current */
	size_t nsigners;
	struct kr_kek *keks;
	size_t nkeks;
	size_t newest; /* index in keks of the highest version */
	/* sodium_malloc'ed, read-only after loading:
	 * sk[nsigners][64] || kek[nkeks][32] || index_key[32] */
	unsigned char *secret;
};

static unsigned char *signer_sk(const struct keyring *kr, size_t i)
{
	return kr->secret + i * KR_SK_BYTES;
}

static unsigned char *kek_key(const struct keyring *kr, size_t i)
{
	return kr->secret + kr->nsigners * KR_SK_BYTES + i * KR_KEY_BYTES;
}

static unsigned char *index_key(const struct keyring *kr)
{
	return kek_key(kr, kr->nkeks);
}

/* Log why a key file is refused (never any key bytes) and say CONFIG. */
static int refuse(const char *path, const char *reason)
{
	log_event(LOG_ERROR, "keyring_refused", "path", path, "reason", reason, NULL);
	return SENIM_ERR_CONFIG;
}

/* The directory part of path: "." when there is none, "/" for "/x". */
static int parent_dir(const char *path, struct buf *dir)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return buf_addstr(dir, ".");
	if (slash == path)
		return buf_addstr(dir, "/");
	return buf_add(dir, path, (size_t)(slash - path));
}

/* mkdir -p the key file's directory, each new level 0700. */
static int make_dirs(const char *path)
{
	struct buf dir;
	buf_init(&dir, 4096);
	int err = parent_dir(path, &dir);
	for (size_t i = 1; !err && i <= dir.len; i++) {
		if (i < dir.len && dir.data[i] != '/')
			continue;
		char saved = dir.data[i];
		dir.data[i] = '\0';
		if (mkdir(dir.data, 0700) != 0 && errno != EEXIST) {
			log_event(LOG_ERROR, "keyring_mkdir_failed", "path", dir.data,
				  "reason", strerror(errno), NULL);
			err = SENIM_ERR_IO;
		}
		dir.data[i] = saved;
	}
	buf_release(&dir);
	return err;
}

/* The key file's directory must exist and not be open to group or others
 * (read would list it, write would let them replace the file).  A missing
 * directory is SENIM_ERR_NOT_FOUND, so the caller may create it. */
static int check_dir(const char *path)
{
	struct buf dir;
	buf_init(&dir, 4096);
	int err = parent_dir(path, &dir);
	struct stat sb;
	if (!err && stat(dir.data, &sb) != 0) {
		if (errno == ENOENT) {
			err = SENIM_ERR_NOT_FOUND;
		} else {
			log_event(LOG_ERROR, "keyring_refused", "path", path, "reason",
				  strerror(errno), NULL);
			err = SENIM_ERR_CONFIG;
		}
	} else if (!err && !S_ISDIR(sb.st_mode)) {
		err = refuse(path, "the key file's parent is not a directory");
	} else if (!err && (sb.st_mode & 066) != 0) {
		err = refuse(path, "the key directory is open to group or others "
				   "(chmod 700 it)");
	}
	buf_release(&dir);
	return err;
}

/*
 * Read the key file into sodium_malloc'ed memory (*data, NUL-terminated,
 * freed by the caller with sodium_free).  A missing file is
 * SENIM_ERR_NOT_FOUND; a file open to group or others is refused.
 */
static int read_key_file(const char *path, char **data, size_t *len)
{
	*data = NULL;
	*len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return SENIM_ERR_NOT_FOUND;
		log_event(LOG_ERROR, "keyring_refused", "path", path, "reason",
			  strerror(errno), NULL);
		return SENIM_ERR_CONFIG;
	}
	int err = SENIM_OK;
	struct stat sb;
	char *buf = NULL;
	if (fstat(fd, &sb) != 0) {
		err = SENIM_ERR_IO;
		goto done;
	}
	if (!S_ISREG(sb.st_mode)) {
		err = refuse(path, "the key file is not a regular file");
		goto done;
	}
	if ((sb.st_mode & 077) != 0) {
		err = refuse(path,
			     "the key file is open to group or others (chmod 600 it)");
		goto done;
	}
	if (sb.st_size <= 0 || sb.st_size > KR_FILE_MAX) {
		err = refuse(path, "the key file is empty or too large");
		goto done;
	}
	size_t want = (size_t)sb.st_size;
	buf = sodium_malloc(want + 1);
	if (!buf) {
		err = SENIM_ERR_NOMEM;
		goto done;
	}
	size_t got = 0;
	while (got < want) {
		ssize_t n = read(fd, buf + got, want - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got != want) {
		err = refuse(path, "the key file changed while it was read");
		goto done;
	}
	buf[want] = '\0';
	*data = buf;
	*len = want;
	buf = NULL;
done:
	if (buf) {
		sodium_free(buf);
	}
	close(fd);
	return err;
}

/* Decode exactly 32 bytes of padded standard base64; -1 on anything else. */
static int decode_key(const json_t *j, unsigned char out[KR_KEY_BYTES])
{
	if (!json_is_string(j))
		return -1;
	const char *s = json_string_value(j);
	size_t slen = json_string_length(j);
	size_t binlen = 0;
	const char *end = NULL;
	if (sodium_base642bin(out, KR_KEY_BYTES, s, slen, NULL, &binlen, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    end != s + slen || binlen != KR_KEY_BYTES) {
		sodium_memzero(out, KR_KEY_BYTES);
		return -1;
	}
	return 0;
}

/* Wipe every string value of a jansson tree in place (the base64 secrets). */
static void wipe_json(json_t *j)
{
	const char *key;
	json_t *v;
	size_t i;
	switch (json_typeof(j)) {
	case JSON_STRING:
		sodium_memzero((void *)json_string_value(j), json_string_length(j));
		break;
	case JSON_OBJECT:
		json_object_foreach(j, key, v)
		{
			wipe_json(v);
		}
		break;
	case JSON_ARRAY:
		json_array_foreach(j, i, v)
		{
			wipe_json(v);
		}
		break;
	default:
		break;
	}
}

static int parse_signers(struct keyring *kr, const json_t *arr, const char *path)
{
	for (size_t i = 0; i < kr->nsigners; i++) {
		const json_t *e = json_array_get(arr, i);
		const json_t *id = json_object_get(e, "id");
		const json_t *at = json_object_get(e, "created_at");
		struct kr_signer *s = &kr->signers[i];
		unsigned char seed[KR_KEY_BYTES];
		if (!json_is_object(e) || !json_is_string(id) || !json_is_integer(at))
			return refuse(path, "a signing key lacks id, seed or created_at");
		if (decode_key(json_object_get(e, "seed"), seed) != 0)
			return refuse(path, "a signing seed is not 32 bytes of base64");
		/* The secret key is seed || public key, written straight into
		 * the protected block. */
		crypto_sign_seed_keypair(s->pk, signer_sk(kr, i), seed);
		sodium_memzero(seed, sizeof(seed));
		sodium_bin2hex(s->id, sizeof(s->id), s->pk, 8);
		if (strcmp(s->id, json_string_value(id)) != 0)
			return refuse(path, "a signing key id does not match its seed");
		for (size_t k = 0; k < i; k++)
			if (strcmp(kr->signers[k].id, s->id) == 0)
				return refuse(path, "a signing key is listed twice");
		s->created_at = (int64_t)json_integer_value(at);
	}
	return SENIM_OK;
}

static int parse_keks(struct keyring *kr, const json_t *arr, const char *path)
{
	for (size_t i = 0; i < kr->nkeks; i++) {
		const json_t *e = json_array_get(arr, i);
		const json_t *ver = json_object_get(e, "version");
		const json_t *at = json_object_get(e, "created_at");
		if (!json_is_object(e) || !json_is_integer(ver) || !json_is_integer(at))
			return refuse(path, "a KEK lacks version, key or created_at");
		json_int_t v = json_integer_value(ver);
		if (v < 1 || v > (json_int_t)UINT32_MAX)
			return refuse(path, "a KEK version is out of range");
		if (decode_key(json_object_get(e, "key"), kek_key(kr, i)) != 0)
			return refuse(path, "a KEK is not 32 bytes of base64");
		kr->keks[i].version = (uint32_t)v;
		kr->keks[i].created_at = (int64_t)json_integer_value(at);
		for (size_t k = 0; k < i; k++)
			if (kr->keks[k].version == kr->keks[i].version)
				return refuse(path, "a KEK version is listed twice");
		if (kr->keks[i].version > kr->keks[kr->newest].version)
			kr->newest = i;
	}
	return SENIM_OK;
}

/* Build a keyring from the parsed file; on error *out stays NULL. */
static int parse_keyring(json_t *root, const char *path, struct keyring **out)
{
	*out = NULL;
	const json_t *format = json_object_get(root, "format");
	const json_t *signing = json_object_get(root, "signing");
	const json_t *kek = json_object_get(root, "kek");
	if (!json_is_object(root) || !json_is_integer(format))
		return refuse(path, "the key file has no format");
	if (json_integer_value(format) != 1)
		return refuse(path, "the key file's format is not 1");
	if (!json_is_array(signing) || json_array_size(signing) == 0 ||
	    json_array_size(signing) > KR_MAX_SIGNERS)
		return refuse(path, "the key file has no signing keys");
	if (!json_is_array(kek) || json_array_size(kek) == 0 ||
	    json_array_size(kek) > KR_MAX_KEKS)
		return refuse(path, "the key file has no KEKs");

	struct keyring *kr = calloc(1, sizeof(*kr));
	if (!kr)
		return SENIM_ERR_NOMEM;
	kr->nsigners = json_array_size(signing);
	kr->nkeks = json_array_size(kek);
	kr->signers = calloc(kr->nsigners, sizeof(*kr->signers));
	kr->keks = calloc(kr->nkeks, sizeof(*kr->keks));
	size_t secret_len = kr->nsigners * KR_SK_BYTES + (kr->nkeks + 1) * KR_KEY_BYTES;
	kr->secret = sodium_malloc(secret_len);
	int err = SENIM_OK;
	if (!kr->signers || !kr->keks || !kr->secret) {
		err = SENIM_ERR_NOMEM;
		goto fail;
	}
	sodium_memzero(kr->secret, secret_len);
	err = parse_signers(kr, signing, path);
	if (!err)
		err = parse_keks(kr, kek, path);
	if (!err && decode_key(json_object_get(root, "index_key"), index_key(kr)) != 0)
		err = refuse(path, "the index key is not 32 bytes of base64");
	if (err)
		goto fail;
	sodium_mprotect_readonly(kr->secret);
	*out = kr;
	return SENIM_OK;
fail:
	keyring_free(kr);
	return err;
}

static int load(const char *path, struct keyring **out)
{
	*out = NULL;
	int err = check_dir(path);
	char *data = NULL;
	size_t len = 0;
	if (!err)
		err = read_key_file(path, &data, &len);
	if (err)
		return err;
	json_error_t jerr;
	json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	sodium_free(data);
	/* jerr.text may quote the file's bytes, so it is never logged. */
	if (!root)
		return refuse(path, "the key file is not valid JSON");
	err = parse_keyring(root, path, out);
	wipe_json(root);
	json_decref(root);
	return err;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void fsync_dir(const char *path)
{
	struct buf dir;
	buf_init(&dir, 4096);
	if (parent_dir(path, &dir) == SENIM_OK) {
		int fd = open(dir.data, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0) {
			(void)fsync(fd);
			close(fd);
		}
	}
	buf_release(&dir);
}

/* The secrets of a new key file, kept together in one sodium_malloc block. */
struct fresh_keys {
	unsigned char seed[KR_KEY_BYTES];
	unsigned char sk[KR_SK_BYTES];
	unsigned char kek[KR_KEY_BYTES];
	unsigned char index[KR_KEY_BYTES];
	char seed64[KR_B64_LEN];
	char kek64[KR_B64_LEN];
	char index64[KR_B64_LEN];
	char text[1024];
};

/*
 * Write a new key file at path with fresh keys.  SENIM_OK also when another
 * process created the file first (its keys win; ours are discarded).
 */
static int create_key_file(const char *path)
{
	int err = make_dirs(path);
	if (err)
		return err;
	struct fresh_keys *k = sodium_malloc(sizeof(*k));
	if (!k)
		return SENIM_ERR_NOMEM;
	unsigned char pk[KEYRING_PK_BYTES];
	char id[KEYRING_KEY_ID_LEN];
	int64_t now = clock_now_us();
	randombytes_buf(k->seed, sizeof(k->seed));
	randombytes_buf(k->kek, sizeof(k->kek));
	randombytes_buf(k->index, sizeof(k->index));
	crypto_sign_seed_keypair(pk, k->sk, k->seed);
	sodium_bin2hex(id, sizeof(id), pk, 8);
	sodium_bin2base64(k->seed64, sizeof(k->seed64), k->seed, sizeof(k->seed),
			  sodium_base64_VARIANT_ORIGINAL);
	sodium_bin2base64(k->kek64, sizeof(k->kek64), k->kek, sizeof(k->kek),
			  sodium_base64_VARIANT_ORIGINAL);
	sodium_bin2base64(k->index64, sizeof(k->index64), k->index, sizeof(k->index),
			  sodium_base64_VARIANT_ORIGINAL);
	int n = snprintf(
		k->text, sizeof(k->text),
		"{\n"
		"  \"format\": 1,\n"
		"  \"signing\": [\n"
		"    {\"id\": \"%s\", \"seed\": \"%s\", \"created_at\": %" PRId64 "}\n"
		"  ],\n"
		"  \"kek\": [\n"
		"    {\"version\": 1, \"key\": \"%s\", \"created_at\": %" PRId64 "}\n"
		"  ],\n"
		"  \"index_key\": \"%s\"\n"
		"}\n",
		id, k->seed64, now, k->kek64, now, k->index64);

	struct buf tmp;
	buf_init(&tmp, 4096);
	int fd = -1;
	if (n < 0 || (size_t)n >= sizeof(k->text)) {
		err = SENIM_ERR_IO;
		goto done;
	}
	err = buf_addf(&tmp, "%s.tmp-XXXXXX", path);
	if (err)
		goto done;
	/* mkstemp opens with O_CREAT|O_EXCL and mode 0600. */
	fd = mkstemp(tmp.data);
	if (fd < 0) {
		log_event(LOG_ERROR, "keyring_create_failed", "path", path, "reason",
			  strerror(errno), NULL);
		err = SENIM_ERR_IO;
		goto done;
	}
	if (fchmod(fd, 0600) != 0 || write_all(fd, k->text, (size_t)n) != 0 ||
	    fsync(fd) != 0) {
		log_event(LOG_ERROR, "keyring_create_failed", "path", path, "reason",
			  strerror(errno), NULL);
		err = SENIM_ERR_IO;
		goto done;
	}
	/* link(), unlike rename(), never replaces an existing file: of two
	 * processes creating the key file at once, exactly one wins. */
	if (link(tmp.data, path) == 0) {
		fsync_dir(path);
		log_event(LOG_INFO, "keyring_created", "path", path, "key_id", id, NULL);
	} else if (errno != EEXIST) {
		log_event(LOG_ERROR, "keyring_create_failed", "path", path, "reason",
			  strerror(errno), NULL);
		err = SENIM_ERR_IO;
	}
done:
	if (fd >= 0) {
		close(fd);
		unlink(tmp.data);
	}
	buf_release(&tmp);
	sodium_free(k);
	return err;
}

int keyring_open(const char *path, int create, struct keyring **out)
{
	if (!out)
		return SENIM_ERR_INVALID;
	*out = NULL;
	if (!path || !*path)
		return SENIM_ERR_INVALID;
	if (sodium_init() < 0) {
		log_event(LOG_ERROR, "keyring_refused", "reason",
			  "libsodium failed to start", NULL);
		return SENIM_ERR_CRYPTO;
	}
	int err = load(path, out);
	if (err == SENIM_ERR_NOT_FOUND && create) {
		err = create_key_file(path);
		if (!err)
			err = load(path, out);
	}
	if (err == SENIM_ERR_NOT_FOUND)
		err = refuse(path, "the key file does not exist");
	return err;
}

void keyring_free(struct keyring *kr)
{
	if (!kr)
		return;
	sodium_free(kr->secret); /* wipes */
	free(kr->signers);
	free(kr->keks);
	free(kr);
}

/* ---- signatures ---------------------------------------------------------- */

const char *keyring_signing_key_id(const struct keyring *kr)
{
	return kr->signers[kr->nsigners - 1].id;
}

void keyring_public_key(const struct keyring *kr, unsigned char pk[KEYRING_PK_BYTES])
{
	memcpy(pk, kr->signers[kr->nsigners - 1].pk, KEYRING_PK_BYTES);
}

void keyring_sign(const struct keyring *kr, const void *msg, size_t len,
		  unsigned char sig[KEYRING_SIG_BYTES])
{
	crypto_sign_detached(sig, NULL, len ? msg : (const void *)"", len,
			     signer_sk(kr, kr->nsigners - 1));
}

int keyring_verify(const struct keyring *kr, const char *key_id, const void *msg,
		   size_t len, const unsigned char sig[KEYRING_SIG_BYTES])
{
	if (!kr || !key_id || !sig || (!msg && len))
		return SENIM_ERR_CRYPTO;
	for (size_t i = 0; i < kr->nsigners; i++) {
		if (strcmp(kr->signers[i].id, key_id) != 0)
			continue;
		if (crypto_sign_verify_detached(sig, len ? msg : (const void *)"", len,
						kr->signers[i].pk) == 0)
			return SENIM_OK;
		return SENIM_ERR_CRYPTO;
	}
	return SENIM_ERR_CRYPTO;
}

/* ---- sealing --------------------------------------------------------------- */

int keyring_seal(const struct keyring *kr, const void *ad, size_t adlen,
		 const void *plain, size_t len, struct buf *out)
{
	if (!kr || !out || (!ad && adlen) || (!plain && len))
		return SENIM_ERR_INVALID;
	if (len > crypto_aead_xchacha20poly1305_ietf_MESSAGEBYTES_MAX ||
	    len > SIZE_MAX - KEYRING_SEAL_OVERHEAD)
		return SENIM_ERR_TOO_LARGE;
	/* The sealed form holds no secret, so a plain heap buffer is fine. */
	size_t total = KEYRING_SEAL_OVERHEAD + len;
	unsigned char *sealed = malloc(total);
	if (!sealed)
		return SENIM_ERR_NOMEM;
	const struct kr_kek *k = &kr->keks[kr->newest];
	sealed[0] = (unsigned char)(k->version >> 24);
	sealed[1] = (unsigned char)(k->version >> 16);
	sealed[2] = (unsigned char)(k->version >> 8);
	sealed[3] = (unsigned char)k->version;
	unsigned char *nonce = sealed + 4;
	randombytes_buf(nonce, KR_NONCE_BYTES);
	unsigned long long clen = 0;
	crypto_aead_xchacha20poly1305_ietf_encrypt(nonce + KR_NONCE_BYTES, &clen,
						   len ? plain : (const void *)"", len,
						   adlen ? ad : (const void *)"", adlen,
						   NULL, nonce, kek_key(kr, kr->newest));
	int err = buf_add(out, sealed, total);
	free(sealed);
	return err;
}

int keyring_unseal(const struct keyring *kr, const void *ad, size_t adlen,
		   const void *sealed, size_t sealed_len, unsigned char *plain,
		   size_t cap, size_t *len)
{
	if (len)
		*len = 0;
	if (!kr || !len || (!ad && adlen) || (!sealed && sealed_len) || (!plain && cap))
		return SENIM_ERR_INVALID;
	if (sealed_len < KEYRING_SEAL_OVERHEAD)
		return SENIM_ERR_CRYPTO;
	size_t mlen_max = sealed_len - KEYRING_SEAL_OVERHEAD;
	if (cap < mlen_max)
		return SENIM_ERR_INVALID;
	const unsigned char *s = sealed;
	uint32_t version = (uint32_t)s[0] << 24 | (uint32_t)s[1] << 16 |
			   (uint32_t)s[2] << 8 | (uint32_t)s[3];
	size_t i = 0;
	while (i < kr->nkeks && kr->keks[i].version != version)
		i++;
	if (i == kr->nkeks)
		return SENIM_ERR_CRYPTO;
	unsigned char dummy[1];
	unsigned char *m = mlen_max ? plain : dummy;
	unsigned long long mlen = 0;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(
		    m, &mlen, NULL, s + 4 + KR_NONCE_BYTES,
		    sealed_len - 4 - KR_NONCE_BYTES, adlen ? ad : (const void *)"", adlen,
		    s + 4, kek_key(kr, i)) != 0) {
		if (mlen_max)
			sodium_memzero(plain, mlen_max);
		return SENIM_ERR_CRYPTO;
	}
	*len = (size_t)mlen;
	return SENIM_OK;
}
