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
 * Adding a KEK (keyring_add_kek) rewrites the file atomically under an
 * exclusive flock() on its directory: the file is read and checked, a new
 * version (the highest plus one) is appended to "kek", and the whole text is
 * written to a temporary file (0600, same directory), fsync'ed, rename()d
 * over the old file, and the directory fsync'ed.  A file whose format is not
 * 1, or that changed while it was being rewritten, is refused untouched.
 *
 * Secrets (signing secret keys and the index key) live in one
 * sodium_malloc'ed block made read-only once loaded.  The KEKs live in a
 * second one: a fixed table of KR_KEK_CAP slots allocated at open, so that
 * keyring_reload() can add versions while other threads seal and unseal
 * without a lock: a reloader (serialised by reload_lock) fills slots past
 * the published count, then publishes the new count with a release store;
 * readers load it with acquire and only look at slots below it, which never
 * change again.  The file's bytes are read into sodium_malloc'ed memory,
 * and the base64 strings jansson decodes are wiped before its tree is
 * freed.  What cannot be wiped: the copies
 * jansson's lexer makes internally while parsing.
 *
 * A running process takes new KEK versions from the file in three ways:
 * keyring_reload() (explicit); keyring_unseal() meeting a version it does
 * not hold (a re-read whenever the file changed since the last one, before
 * it fails); keyring_seal() noticing, with one
 * stat() a second, that the file changed.  The last keeps a process that
 * only seals from wrapping new data keys with a rotated-out KEK.
 */
#include "vault/keyring.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/secretfile.h"
#include "common/banned.h"

#define KR_KEY_BYTES 32
#define KR_SK_BYTES crypto_sign_SECRETKEYBYTES
#define KR_NONCE_BYTES crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define KR_TAG_BYTES crypto_aead_xchacha20poly1305_ietf_ABYTES
#define KR_B64_LEN sodium_base64_ENCODED_LEN(KR_KEY_BYTES, sodium_base64_VARIANT_ORIGINAL)
#define KR_FILE_MAX (1 << 20) /* a key file is a few hundred bytes */
#define KR_MAX_SIGNERS 256
#define KR_KEK_CAP 256	      /* KEK versions one ring can hold, ever */
#define KR_CHECK_US 1000000   /* seal looks for a changed file once a second */
#define KR_TEXT_NAME "(text)" /* what the log calls a key file given as text */

_Static_assert(KEYRING_SIG_BYTES == crypto_sign_BYTES, "signature size");
_Static_assert(KEYRING_PK_BYTES == crypto_sign_PUBLICKEYBYTES, "public key size");
_Static_assert(crypto_sign_SEEDBYTES == KR_KEY_BYTES, "seed size");
_Static_assert(crypto_aead_xchacha20poly1305_ietf_KEYBYTES == KR_KEY_BYTES, "kek size");
_Static_assert(crypto_generichash_KEYBYTES == KR_KEY_BYTES, "index key size");
_Static_assert(KEYRING_SEAL_OVERHEAD == 4 + KR_NONCE_BYTES + KR_TAG_BYTES,
	       "seal overhead");
_Static_assert(KR_KEK_CAP < 0xffff, "the KEK state packs counts in 16 bits");

struct kr_signer {
	char id[KEYRING_KEY_ID_LEN];
	unsigned char pk[KEYRING_PK_BYTES];
	int64_t created_at;
};

/* One KEK slot, in the sodium_malloc'ed table. */
struct kr_kek {
	unsigned char key[KR_KEY_BYTES];
	uint32_t version;
	int64_t created_at;
};

/* What identifies one version of the key file on disk, to skip re-reading
 * a file that has not changed. */
struct kr_file_id {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	struct timespec ctime;
	int known;
};

struct keyring {
	struct kr_signer *signers; /* public halves; the last one is current */
	size_t nsigners;
	/* sodium_malloc'ed, read-only after loading:
	 * sk[nsigners][64] || index_key[32] */
	unsigned char *secret;
	/* sodium_malloc'ed table of KR_KEK_CAP slots, read-only except while a
	 * reload appends to it.  kek_state packs the published slot count (low
	 * 16 bits) and the index of the highest version (high 16 bits), so
	 * readers get both from one acquire load. */
	struct kr_kek *keks;
	_Atomic uint32_t kek_state;
	/* Reloading (everything below is guarded by reload_lock). */
	char *path; /* the file this ring was opened from */
	pthread_mutex_t reload_lock;
	struct kr_file_id file_id; /* of the file last read */
	struct kr_file_id refused; /* a file a reload gave up on */
	/* clock_mono_us() of seal's last look at the file (read without the
	 * lock, to skip the lock on all but one seal a second). */
	_Atomic int64_t checked_at;
};

static unsigned char *signer_sk(const struct keyring *kr, size_t i)
{
	return kr->secret + i * KR_SK_BYTES;
}

static unsigned char *index_key(const struct keyring *kr)
{
	return kr->secret + kr->nsigners * KR_SK_BYTES;
}

static uint32_t kek_state(size_t count, size_t newest)
{
	return (uint32_t)count | (uint32_t)newest << 16;
}

/* The published KEK count and newest slot (acquire: the slots below the
 * count are fully written). */
static size_t kek_snapshot(const struct keyring *kr, size_t *newest)
{
	uint32_t s = atomic_load_explicit(&kr->kek_state, memory_order_acquire);
	if (newest)
		*newest = s >> 16;
	return s & 0xffff;
}

static int reload_locked(struct keyring *kr);

/* The slot holding `version`, or NULL. */
static const struct kr_kek *find_kek(const struct keyring *kr, uint32_t version)
{
	size_t n = kek_snapshot(kr, NULL);
	for (size_t i = 0; i < n; i++)
		if (kr->keks[i].version == version)
			return &kr->keks[i];
	return NULL;
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
	const char *why = NULL;
	int err = secret_file_read(path, KR_FILE_MAX, data, len, &why);
	if (err && err != SENIM_ERR_NOT_FOUND && err != SENIM_ERR_NOMEM)
		log_event(LOG_ERROR, "keyring_refused", "path", path, "reason", why,
			  NULL);
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

/* Fill kr->keks[0..n) from the "kek" array; publishes nothing (the caller
 * does, once the whole ring is checked). */
static int parse_keks(struct keyring *kr, const json_t *arr, size_t n, size_t *newest,
		      const char *path)
{
	*newest = 0;
	for (size_t i = 0; i < n; i++) {
		const json_t *e = json_array_get(arr, i);
		const json_t *ver = json_object_get(e, "version");
		const json_t *at = json_object_get(e, "created_at");
		struct kr_kek *k = &kr->keks[i];
		if (!json_is_object(e) || !json_is_integer(ver) || !json_is_integer(at))
			return refuse(path, "a KEK lacks version, key or created_at");
		json_int_t v = json_integer_value(ver);
		if (v < 1 || v > (json_int_t)UINT32_MAX)
			return refuse(path, "a KEK version is out of range");
		if (decode_key(json_object_get(e, "key"), k->key) != 0)
			return refuse(path, "a KEK is not 32 bytes of base64");
		k->version = (uint32_t)v;
		k->created_at = (int64_t)json_integer_value(at);
		for (size_t j = 0; j < i; j++)
			if (kr->keks[j].version == k->version)
				return refuse(path, "a KEK version is listed twice");
		if (k->version > kr->keks[*newest].version)
			*newest = i;
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
	if (!json_is_array(kek) || json_array_size(kek) == 0)
		return refuse(path, "the key file has no KEKs");
	if (json_array_size(kek) > KR_KEK_CAP)
		return refuse(path,
			      "the key file has more KEK versions than a ring holds "
			      "(256)");

	struct keyring *kr = calloc(1, sizeof(*kr));
	if (!kr)
		return SENIM_ERR_NOMEM;
	if (pthread_mutex_init(&kr->reload_lock, NULL) != 0) {
		free(kr);
		return SENIM_ERR_NOMEM;
	}
	kr->nsigners = json_array_size(signing);
	kr->signers = calloc(kr->nsigners, sizeof(*kr->signers));
	size_t secret_len = kr->nsigners * KR_SK_BYTES + KR_KEY_BYTES;
	kr->secret = sodium_malloc(secret_len);
	kr->keks = sodium_malloc(KR_KEK_CAP * sizeof(*kr->keks));
	int err = SENIM_OK;
	size_t nkeks = json_array_size(kek), newest = 0;
	if (!kr->signers || !kr->secret || !kr->keks) {
		err = SENIM_ERR_NOMEM;
		goto fail;
	}
	sodium_memzero(kr->secret, secret_len);
	sodium_memzero(kr->keks, KR_KEK_CAP * sizeof(*kr->keks));
	err = parse_signers(kr, signing, path);
	if (!err)
		err = parse_keks(kr, kek, nkeks, &newest, path);
	if (!err && decode_key(json_object_get(root, "index_key"), index_key(kr)) != 0)
		err = refuse(path, "the index key is not 32 bytes of base64");
	if (err)
		goto fail;
	sodium_mprotect_readonly(kr->secret);
	sodium_mprotect_readonly(kr->keks);
	atomic_store_explicit(&kr->kek_state, kek_state(nkeks, newest),
			      memory_order_release);
	*out = kr;
	return SENIM_OK;
fail:
	keyring_free(kr);
	return err;
}

/* Parse a key file's text (path names it in the log); *root is freed by
 * the caller with free_json. */
static int parse_json(const char *text, size_t len, const char *path, json_t **root)
{
	json_error_t jerr;
	*root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	/* jerr.text may quote the file's bytes, so it is never logged. */
	if (!*root)
		return refuse(path, "the key file is not valid JSON");
	return SENIM_OK;
}

/* Read and parse the key file (checks of directory and file modes
 * included); *root is freed by the caller with free_json. */
static int load_json(const char *path, json_t **root)
{
	*root = NULL;
	int err = check_dir(path);
	char *data = NULL;
	size_t len = 0;
	if (!err)
		err = read_key_file(path, &data, &len);
	if (err)
		return err;
	err = parse_json(data, len, path, root);
	sodium_free(data);
	return err;
}

static void free_json(json_t *root)
{
	if (root) {
		wipe_json(root);
		json_decref(root);
	}
}

static int load(const char *path, struct keyring **out)
{
	*out = NULL;
	json_t *root = NULL;
	int err = load_json(path, &root);
	if (!err)
		err = parse_keyring(root, path, out);
	free_json(root);
	return err;
}

/* The identity of the file at path now (known = 0 when it cannot be
 * stat'ed). */
static void file_id_of(const char *path, struct kr_file_id *id)
{
	struct stat sb;
	memset(id, 0, sizeof(*id));
	if (stat(path, &sb) != 0)
		return;
	id->dev = sb.st_dev;
	id->ino = sb.st_ino;
	id->size = sb.st_size;
	id->mtime = sb.st_mtim;
	id->ctime = sb.st_ctim;
	id->known = 1;
}

static int file_id_equal(const struct kr_file_id *a, const struct kr_file_id *b)
{
	return a->known && b->known && a->dev == b->dev && a->ino == b->ino &&
	       a->size == b->size && a->mtime.tv_sec == b->mtime.tv_sec &&
	       a->mtime.tv_nsec == b->mtime.tv_nsec &&
	       a->ctime.tv_sec == b->ctime.tv_sec && a->ctime.tv_nsec == b->ctime.tv_nsec;
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

/* fsync the directory holding path, so a rename or link in it is durable. */
static int fsync_dir(const char *path)
{
	struct buf dir;
	buf_init(&dir, 4096);
	int err = parent_dir(path, &dir);
	if (!err) {
		int fd = open(dir.data, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0 || fsync(fd) != 0)
			err = SENIM_ERR_IO;
		if (fd >= 0)
			close(fd);
	}
	buf_release(&dir);
	return err;
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
		(void)fsync_dir(path);
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
	/* Taken before reading: if the file is replaced in between, the next
	 * reload sees a different identity and reads it again. */
	struct kr_file_id id;
	file_id_of(path, &id);
	int err = load(path, out);
	if (err == SENIM_ERR_NOT_FOUND && create) {
		err = create_key_file(path);
		file_id_of(path, &id);
		if (!err)
			err = load(path, out);
	}
	if (err == SENIM_ERR_NOT_FOUND)
		err = refuse(path, "the key file does not exist");
	if (!err) {
		(*out)->file_id = id;
		atomic_store(&(*out)->checked_at, clock_mono_us());
		(*out)->path = strdup(path);
		if (!(*out)->path) {
			keyring_free(*out);
			*out = NULL;
			err = SENIM_ERR_NOMEM;
		}
	}
	return err;
}

int keyring_parse(const char *text, size_t len, struct keyring **out)
{
	if (!out)
		return SENIM_ERR_INVALID;
	*out = NULL;
	if (!text && len)
		return SENIM_ERR_INVALID;
	if (sodium_init() < 0) {
		log_event(LOG_ERROR, "keyring_refused", "reason",
			  "libsodium failed to start", NULL);
		return SENIM_ERR_CRYPTO;
	}
	json_t *root = NULL;
	int err = parse_json(text ? text : "", len, KR_TEXT_NAME, &root);
	if (!err)
		err = parse_keyring(root, KR_TEXT_NAME, out);
	free_json(root);
	/* No path: the ring never looks for a changed file. */
	return err;
}

void keyring_free(struct keyring *kr)
{
	if (!kr)
		return;
	sodium_free(kr->secret); /* wipes */
	sodium_free(kr->keks);
	pthread_mutex_destroy(&kr->reload_lock);
	free(kr->signers);
	free(kr->path);
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

/*
 * Once a second, seal looks whether the key file changed (one stat) and
 * takes its new KEK versions, so that a process that only seals (one that
 * registers borrowers and reads nothing) moves to a rotated KEK within a
 * second, instead of wrapping new data keys with the old one for ever.
 * A file that cannot be taken is logged once and not retried until it
 * changes again.  Never blocks: a seal that finds the lock taken goes on.
 * (Casting away const: see auto_reload().)
 */
static void check_file(const struct keyring *ckr)
{
	struct keyring *kr = (struct keyring *)ckr;
	int64_t now = clock_mono_us();
	if (now - atomic_load_explicit(&kr->checked_at, memory_order_relaxed) <
	    KR_CHECK_US)
		return;
	if (pthread_mutex_trylock(&kr->reload_lock) != 0)
		return;
	if (now - atomic_load_explicit(&kr->checked_at, memory_order_relaxed) >=
	    KR_CHECK_US) {
		atomic_store_explicit(&kr->checked_at, now, memory_order_relaxed);
		struct kr_file_id id;
		file_id_of(kr->path, &id);
		if (!file_id_equal(&id, &kr->file_id) &&
		    !file_id_equal(&id, &kr->refused)) {
			int err = reload_locked(kr);
			if (err) {
				kr->refused = id;
				log_event(LOG_WARN, "keyring_reload_failed", "reason",
					  senim_result_name(err), NULL);
			}
		}
	}
	pthread_mutex_unlock(&kr->reload_lock);
}

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
	if (kr->path)
		check_file(kr);
	size_t newest = 0;
	(void)kek_snapshot(kr, &newest);
	const struct kr_kek *k = &kr->keks[newest];
	sealed[0] = (unsigned char)(k->version >> 24);
	sealed[1] = (unsigned char)(k->version >> 16);
	sealed[2] = (unsigned char)(k->version >> 8);
	sealed[3] = (unsigned char)k->version;
	unsigned char *nonce = sealed + 4;
	randombytes_buf(nonce, KR_NONCE_BYTES);
	unsigned long long clen = 0;
	crypto_aead_xchacha20poly1305_ietf_encrypt(
		nonce + KR_NONCE_BYTES, &clen, len ? plain : (const void *)"", len,
		adlen ? ad : (const void *)"", adlen, NULL, nonce, k->key);
	int err = buf_add(out, sealed, total);
	free(sealed);
	return err;
}

/*
 * A sealed value names a KEK version this ring does not hold: perhaps
 * `senim keys rotate` added it since the file was read.  Re-read the file
 * before failing, whenever it changed since it was last read: a rotation
 * writes its new version to the file before it wraps any data key with it,
 * so a version the file has is always found, however soon after the last
 * re-read (rotations back to back, or one killed and resumed, add versions
 * within a second).  An unchanged file costs one stat(), not a read: a
 * version nobody wrote does not make every request parse the file.  A file
 * that was refused is not read again until it changes.  1 when the ring
 * gained versions.
 *
 * keyring_unseal() takes a const ring, as sealing and opening do not change
 * what the ring means; the KEK table only grows, guarded by reload_lock and
 * the atomic state.  The cast is sound: every ring is heap memory from
 * keyring_open(), never a const object.
 */
static int auto_reload(const struct keyring *ckr)
{
	struct keyring *kr = (struct keyring *)ckr;
	size_t before = kek_snapshot(kr, NULL);
	int err = SENIM_OK;
	pthread_mutex_lock(&kr->reload_lock);
	if (kek_snapshot(kr, NULL) != before) {
		/* Another thread reloaded while this one waited. */
		pthread_mutex_unlock(&kr->reload_lock);
		return 1;
	}
	struct kr_file_id id;
	file_id_of(kr->path, &id);
	if (!file_id_equal(&id, &kr->refused)) {
		err = reload_locked(kr);
		if (err)
			kr->refused = id;
	}
	pthread_mutex_unlock(&kr->reload_lock);
	if (err)
		log_event(LOG_WARN, "keyring_reload_failed", "reason",
			  senim_result_name(err), NULL);
	return kek_snapshot(kr, NULL) != before;
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
	const struct kr_kek *k = find_kek(kr, version);
	/* Version 0 is never valid: no reason to look at the file for it. */
	if (!k && version != 0 && kr->path && auto_reload(kr))
		k = find_kek(kr, version);
	if (!k)
		return SENIM_ERR_CRYPTO;
	unsigned char dummy[1];
	unsigned char *m = mlen_max ? plain : dummy;
	unsigned long long mlen = 0;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(
		    m, &mlen, NULL, s + 4 + KR_NONCE_BYTES,
		    sealed_len - 4 - KR_NONCE_BYTES, adlen ? ad : (const void *)"", adlen,
		    s + 4, k->key) != 0) {
		if (mlen_max)
			sodium_memzero(plain, mlen_max);
		return SENIM_ERR_CRYPTO;
	}
	*len = (size_t)mlen;
	return SENIM_OK;
}

/* ---- blind indexes ----------------------------------------------------------- */

void keyring_blind_index(const struct keyring *kr, const void *data, size_t len,
			 unsigned char out[32])
{
	crypto_generichash(out, 32, len ? data : (const void *)"", len, index_key(kr),
			   KR_KEY_BYTES);
}

/* ---- KEK versions and rotation ---------------------------------------------- */

uint32_t keyring_kek_version(const struct keyring *kr)
{
	size_t newest = 0;
	(void)kek_snapshot(kr, &newest);
	return kr->keks[newest].version;
}

size_t keyring_kek_count(const struct keyring *kr)
{
	return kek_snapshot(kr, NULL);
}

size_t keyring_kek_versions(const struct keyring *kr, uint32_t *out, size_t cap)
{
	uint32_t all[KR_KEK_CAP];
	size_t n = kek_snapshot(kr, NULL);
	/* Insertion sort: at most KR_KEK_CAP entries, rarely more than a few. */
	for (size_t i = 0; i < n; i++) {
		uint32_t v = kr->keks[i].version;
		size_t j = i;
		for (; j > 0 && all[j - 1] > v; j--)
			all[j] = all[j - 1];
		all[j] = v;
	}
	size_t m = n < cap ? n : cap;
	if (m)
		memcpy(out, all, m * sizeof(*out));
	return m;
}

/*
 * Merge the key file into kr; the caller holds reload_lock.  Only new KEK
 * versions are taken: signing keys and the index key stay as loaded (a
 * changed index key would break every lookup, so it is refused), and a
 * version that vanished from the file stays in memory until restart.  A
 * version whose key bytes changed is refused: data sealed with it would no
 * longer open.
 */
static int reload_locked(struct keyring *kr)
{
	struct kr_file_id id;
	file_id_of(kr->path, &id);
	if (file_id_equal(&id, &kr->file_id))
		return SENIM_OK;
	struct keyring *fresh = NULL;
	int err = load(kr->path, &fresh);
	if (err)
		return err;
	size_t n = kek_snapshot(kr, NULL), newest = 0;
	size_t nfresh = kek_snapshot(fresh, NULL), nnew = 0;
	if (sodium_memcmp(index_key(fresh), index_key(kr), KR_KEY_BYTES) != 0) {
		err = refuse(kr->path, "the index key changed (restart to use it)");
		goto done;
	}
	for (size_t i = 0; i < nfresh; i++) {
		const struct kr_kek *f = &fresh->keks[i];
		const struct kr_kek *k = find_kek(kr, f->version);
		if (!k) {
			nnew++;
		} else if (sodium_memcmp(k->key, f->key, KR_KEY_BYTES) != 0) {
			err = refuse(kr->path, "a KEK version's key changed");
			goto done;
		}
	}
	if (n + nnew > KR_KEK_CAP) {
		err = refuse(kr->path, "the key ring is full (256 KEK versions)");
		goto done;
	}
	if (nnew) {
		/* Slots at n and above are unpublished: no reader looks at
		 * them until the release store below. */
		sodium_mprotect_readwrite(kr->keks);
		size_t m = n;
		for (size_t i = 0; i < nfresh; i++)
			if (!find_kek(kr, fresh->keks[i].version))
				kr->keks[m++] = fresh->keks[i];
		sodium_mprotect_readonly(kr->keks);
		for (size_t i = 0; i < m; i++)
			if (kr->keks[i].version > kr->keks[newest].version)
				newest = i;
		atomic_store_explicit(&kr->kek_state, kek_state(m, newest),
				      memory_order_release);
		char v[16];
		snprintf(v, sizeof(v), "%" PRIu32, kr->keks[newest].version);
		log_event(LOG_INFO, "keyring_reloaded", "path", kr->path, "newest_kek", v,
			  NULL);
	}
	kr->file_id = id;
done:
	keyring_free(fresh);
	return err;
}

int keyring_reload(struct keyring *kr)
{
	if (!kr)
		return SENIM_ERR_INVALID;
	if (!kr->path)
		return SENIM_OK;
	pthread_mutex_lock(&kr->reload_lock);
	int err = reload_locked(kr);
	pthread_mutex_unlock(&kr->reload_lock);
	return err;
}

/* The secrets of one new KEK entry, in sodium_malloc'ed memory. */
struct new_kek {
	unsigned char key[KR_KEY_BYTES];
	char b64[KR_B64_LEN];
};

/* Write text to a fresh temporary file next to path, fsync it, and rename
 * it over path unless path is no longer the file identified by `was`. */
static int replace_file(const char *path, const char *text, size_t len,
			const struct kr_file_id *was)
{
	struct buf tmp;
	buf_init(&tmp, 4096);
	int fd = -1, renamed = 0;
	int err = buf_addf(&tmp, "%s.tmp-XXXXXX", path);
	if (err)
		goto done;
	/* mkstemp opens with O_CREAT|O_EXCL and mode 0600. */
	fd = mkstemp(tmp.data);
	if (fd < 0 || fchmod(fd, 0600) != 0 || write_all(fd, text, len) != 0 ||
	    fsync(fd) != 0) {
		log_event(LOG_ERROR, "keyring_write_failed", "path", path, "reason",
			  strerror(errno), NULL);
		err = SENIM_ERR_IO;
		goto done;
	}
	struct kr_file_id now;
	file_id_of(path, &now);
	if (!file_id_equal(&now, was)) {
		err = refuse(path, "the key file changed while a KEK was being added");
		goto done;
	}
	if (rename(tmp.data, path) != 0) {
		log_event(LOG_ERROR, "keyring_write_failed", "path", path, "reason",
			  strerror(errno), NULL);
		err = SENIM_ERR_IO;
		goto done;
	}
	renamed = 1;
	if (fsync_dir(path) != 0) {
		/* The new file is in place but may not survive a crash; say
		 * so rather than claim a durable rotation. */
		log_event(LOG_ERROR, "keyring_write_failed", "path", path, "reason",
			  "fsync of the key directory failed", NULL);
		err = SENIM_ERR_IO;
	}
done:
	if (fd >= 0)
		close(fd);
	if (fd >= 0 && !renamed)
		unlink(tmp.data);
	buf_release(&tmp);
	return err;
}

/* Take an exclusive flock() on the key file's directory (*fd, closed by the
 * caller to release it): two rotations at once would both add "the next"
 * version, and the loser's key would be lost with whatever it wrapped. */
static int lock_dir(const char *path, int *fd)
{
	struct buf dir;
	buf_init(&dir, 4096);
	int err = parent_dir(path, &dir);
	*fd = -1;
	if (!err) {
		*fd = open(dir.data, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		while (*fd >= 0 && flock(*fd, LOCK_EX) != 0 && errno == EINTR)
			;
		if (*fd < 0)
			err = SENIM_ERR_IO;
	}
	buf_release(&dir);
	return err;
}

int keyring_add_kek(const char *path, uint32_t *new_version)
{
	if (new_version)
		*new_version = 0;
	if (!path || !*path || !new_version)
		return SENIM_ERR_INVALID;
	if (sodium_init() < 0)
		return SENIM_ERR_CRYPTO;
	int lockfd = -1;
	json_t *root = NULL;
	struct keyring *check = NULL;
	struct new_kek *k = NULL;
	char *text = NULL;
	size_t textlen = 0;
	struct kr_file_id was;

	int err = check_dir(path);
	if (err == SENIM_ERR_NOT_FOUND)
		err = refuse(path, "the key file does not exist");
	if (!err)
		err = lock_dir(path, &lockfd);
	if (err)
		goto done;
	file_id_of(path, &was);
	err = load_json(path, &root);
	if (err == SENIM_ERR_NOT_FOUND)
		err = refuse(path, "the key file does not exist");
	/* Validate all of it: a file this code does not fully understand
	 * (another format, a bad key) is never rewritten. */
	if (!err)
		err = parse_keyring(root, path, &check);
	if (err)
		goto done;
	size_t n = kek_snapshot(check, NULL);
	uint32_t newest = keyring_kek_version(check);
	if (n >= KR_KEK_CAP || newest == UINT32_MAX) {
		err = refuse(path, "no room for another KEK version");
		goto done;
	}
	k = sodium_malloc(sizeof(*k));
	if (!k) {
		err = SENIM_ERR_NOMEM;
		goto done;
	}
	randombytes_buf(k->key, sizeof(k->key));
	sodium_bin2base64(k->b64, sizeof(k->b64), k->key, sizeof(k->key),
			  sodium_base64_VARIANT_ORIGINAL);
	json_t *entry =
		json_pack("{s:I, s:s, s:I}", "version", (json_int_t)newest + 1, "key",
			  k->b64, "created_at", (json_int_t)clock_now_us());
	if (!entry || json_array_append_new(json_object_get(root, "kek"), entry) != 0) {
		err = SENIM_ERR_NOMEM;
		goto done;
	}
	/* json_dumpb into sodium memory: no unwiped copy of the keys' text. */
	size_t flags = JSON_INDENT(2);
	textlen = json_dumpb(root, NULL, 0, flags);
	text = textlen ? sodium_malloc(textlen + 1) : NULL;
	if (!text || json_dumpb(root, text, textlen, flags) != textlen) {
		err = SENIM_ERR_NOMEM;
		goto done;
	}
	text[textlen] = '\n';
	err = replace_file(path, text, textlen + 1, &was);
	if (err)
		goto done;
	*new_version = newest + 1;
	char v[16];
	snprintf(v, sizeof(v), "%" PRIu32, *new_version);
	log_event(LOG_INFO, "keyring_kek_added", "path", path, "version", v, NULL);
done:
	sodium_free(text);
	sodium_free(k);
	keyring_free(check);
	free_json(root);
	if (lockfd >= 0)
		close(lockfd);
	return err;
}
