/*
 * keyfile.c — the key file's format, and reading and writing it (keyfile.h).
 *
 * Creation is race-free: the new file is written to a temporary file
 * (mkstemp: O_CREAT|O_EXCL, 0600) in the same directory, fsync'ed, then
 * link()ed to its final name, which fails with EEXIST when another process
 * got there first; the loser discards its keys and reads the winner's file.
 *
 * Adding a KEK rewrites the file under an exclusive flock() on its
 * directory: the file is read and checked, a new version (the highest plus
 * one) is appended to "kek", and the whole text — as jansson dumps it,
 * indented by two — is written to a temporary file the same way, rename()d
 * over the old file, and the directory fsync'ed.  A file whose format is
 * not 1, or that changed while it was being rewritten, is refused
 * untouched.
 */
#include "vault/keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/secretfile.h"
#include "common/banned.h"

#define KF_FILE_MAX (1 << 20) /* a key file is a few hundred bytes */
#define KF_B64_LEN \
	sodium_base64_ENCODED_LEN(KEYFILE_KEY_BYTES, sodium_base64_VARIANT_ORIGINAL)

_Static_assert(KEYFILE_SK_BYTES == crypto_sign_SECRETKEYBYTES, "secret key size");
_Static_assert(KEYFILE_PK_BYTES == crypto_sign_PUBLICKEYBYTES, "public key size");
_Static_assert(KEYFILE_KEY_BYTES == crypto_sign_SEEDBYTES, "seed size");
_Static_assert(KEYFILE_KEY_BYTES == crypto_aead_xchacha20poly1305_ietf_KEYBYTES,
	       "kek size");
_Static_assert(KEYFILE_KEY_BYTES == crypto_generichash_KEYBYTES, "index key size");

enum senim_result keyfile_refuse(const char *path, const char *reason)
{
	log_event(LOG_ERROR, "keyring_refused", "path", path, "reason", reason, NULL);
	return SENIM_ERR_CONFIG;
}

static enum senim_result start_sodium(void)
{
	if (sodium_init() >= 0)
		return SENIM_OK;
	log_event(LOG_ERROR, "keyring_refused", "reason", "libsodium failed to start",
		  NULL);
	return SENIM_ERR_CRYPTO;
}

/* ---- the directory ---------------------------------------------------------- */

/* The directory part of path: "." when there is none, "/" for "/x". */
static enum senim_result parent_dir(const char *path, struct buf *dir)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return buf_addstr(dir, ".");
	if (slash == path)
		return buf_addstr(dir, "/");
	return buf_add(dir, path, (size_t)(slash - path));
}

/* mkdir -p the key file's directory, each new level 0700. */
static enum senim_result make_dirs(const char *path)
{
	struct buf dir;
	buf_init(&dir, 4096);
	enum senim_result err = parent_dir(path, &dir);
	if (err)
		goto fail;
	for (size_t i = 1; i <= dir.len; i++) {
		if (i < dir.len && dir.data[i] != '/')
			continue;
		char saved = dir.data[i];
		dir.data[i] = '\0';
		if (mkdir(dir.data, 0700) != 0 && errno != EEXIST) {
			log_event(LOG_ERROR, "keyring_mkdir_failed", "path", dir.data,
				  "reason", strerror(errno), NULL);
			err = SENIM_ERR_IO;
			goto fail;
		}
		dir.data[i] = saved;
	}
fail:
	buf_release(&dir);
	return err;
}

/* The key file's directory must exist and not be open to group or others
 * (read would list it, write would let them replace the file).  A missing
 * directory is SENIM_ERR_NOT_FOUND, so the caller may create it. */
static enum senim_result check_dir(const char *path)
{
	struct buf dir;
	buf_init(&dir, 4096);
	struct stat sb;
	enum senim_result err = parent_dir(path, &dir);
	if (err)
		goto fail;
	if (stat(dir.data, &sb) != 0) {
		err = errno == ENOENT ? SENIM_ERR_NOT_FOUND
				      : keyfile_refuse(path, strerror(errno));
		goto fail;
	}
	if (!S_ISDIR(sb.st_mode))
		err = keyfile_refuse(path, "the key file's parent is not a directory");
	else if ((sb.st_mode & 066) != 0)
		err = keyfile_refuse(path, "the key directory is open to group or others "
					   "(chmod 700 it)");
fail:
	buf_release(&dir);
	return err;
}

/* Open the key file's directory (read-only, close-on-exec) into *fd, which
 * the caller closes. */
static enum senim_result open_dir(const char *path, int *fd)
{
	struct buf dir;
	buf_init(&dir, 4096);
	*fd = -1;
	enum senim_result err = parent_dir(path, &dir);
	if (err)
		goto fail;
	*fd = open(dir.data, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*fd < 0)
		err = SENIM_ERR_IO;
fail:
	buf_release(&dir);
	return err;
}

/* fsync the directory holding path, so a rename or link in it is durable. */
static enum senim_result fsync_dir(const char *path)
{
	int fd;
	enum senim_result err = open_dir(path, &fd);
	if (err)
		return err;
	if (fsync(fd) != 0)
		err = SENIM_ERR_IO;
	close(fd);
	return err;
}

/* Take an exclusive flock() on the key file's directory (*fd, closed by the
 * caller to release it): two rotations at once would both add "the next"
 * version, and the loser's key would be lost with whatever it wrapped. */
static enum senim_result lock_dir(const char *path, int *fd)
{
	enum senim_result err = open_dir(path, fd);
	if (err)
		return err;
	while (flock(*fd, LOCK_EX) != 0 && errno == EINTR)
		;
	return SENIM_OK;
}

/* ---- the file's identity ------------------------------------------------------ */

void keyfile_id_of(const char *path, struct keyfile_id *id)
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

int keyfile_id_equal(const struct keyfile_id *a, const struct keyfile_id *b)
{
	return a->known && b->known && a->dev == b->dev && a->ino == b->ino &&
	       a->size == b->size && a->mtime.tv_sec == b->mtime.tv_sec &&
	       a->mtime.tv_nsec == b->mtime.tv_nsec &&
	       a->ctime.tv_sec == b->ctime.tv_sec && a->ctime.tv_nsec == b->ctime.tv_nsec;
}

/* ---- parsing ------------------------------------------------------------------ */

/* Decode exactly 32 bytes of padded standard base64; -1 on anything else. */
static int decode_key(const json_t *j, unsigned char out[KEYFILE_KEY_BYTES])
{
	if (!json_is_string(j))
		return -1;
	const char *s = json_string_value(j);
	size_t slen = json_string_length(j);
	size_t binlen = 0;
	const char *end = NULL;
	if (sodium_base642bin(out, KEYFILE_KEY_BYTES, s, slen, NULL, &binlen, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    end != s + slen || binlen != KEYFILE_KEY_BYTES) {
		sodium_memzero(out, KEYFILE_KEY_BYTES);
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

/* Wipe and free a parsed key file's tree; NULL does nothing. */
static void free_json(json_t *root)
{
	if (root) {
		wipe_json(root);
		json_decref(root);
	}
}

static enum senim_result parse_signers(struct keyfile *kf, const json_t *arr,
				       const char *path)
{
	for (size_t i = 0; i < kf->nsigners; i++) {
		const json_t *e = json_array_get(arr, i);
		const json_t *id = json_object_get(e, "id");
		const json_t *at = json_object_get(e, "created_at");
		struct keyfile_signer *s = &kf->signers[i];
		unsigned char seed[KEYFILE_KEY_BYTES];
		if (!json_is_object(e) || !json_is_string(id) || !json_is_integer(at))
			return keyfile_refuse(
				path, "a signing key lacks id, seed or created_at");
		if (decode_key(json_object_get(e, "seed"), seed) != 0)
			return keyfile_refuse(path,
					      "a signing seed is not 32 bytes of base64");
		/* The secret key is seed || public key, written straight into
		 * the protected block. */
		crypto_sign_seed_keypair(s->pk, kf->secret + i * KEYFILE_SK_BYTES, seed);
		sodium_memzero(seed, sizeof(seed));
		sodium_bin2hex(s->id, sizeof(s->id), s->pk, 8);
		if (strcmp(s->id, json_string_value(id)) != 0)
			return keyfile_refuse(path,
					      "a signing key id does not match its seed");
		for (size_t k = 0; k < i; k++)
			if (strcmp(kf->signers[k].id, s->id) == 0)
				return keyfile_refuse(path,
						      "a signing key is listed twice");
		s->created_at = (int64_t)json_integer_value(at);
	}
	return SENIM_OK;
}

static enum senim_result parse_keks(struct keyfile *kf, const json_t *arr,
				    const char *path)
{
	kf->newest = 0;
	for (size_t i = 0; i < kf->nkeks; i++) {
		const json_t *e = json_array_get(arr, i);
		const json_t *ver = json_object_get(e, "version");
		const json_t *at = json_object_get(e, "created_at");
		struct keyfile_kek *k = &kf->keks[i];
		if (!json_is_object(e) || !json_is_integer(ver) || !json_is_integer(at))
			return keyfile_refuse(path,
					      "a KEK lacks version, key or created_at");
		json_int_t v = json_integer_value(ver);
		if (v < 1 || v > (json_int_t)UINT32_MAX)
			return keyfile_refuse(path, "a KEK version is out of range");
		if (decode_key(json_object_get(e, "key"), k->key) != 0)
			return keyfile_refuse(path, "a KEK is not 32 bytes of base64");
		k->version = (uint32_t)v;
		k->created_at = (int64_t)json_integer_value(at);
		for (size_t j = 0; j < i; j++)
			if (kf->keks[j].version == k->version)
				return keyfile_refuse(path,
						      "a KEK version is listed twice");
		if (k->version > kf->keks[kf->newest].version)
			kf->newest = i;
	}
	return SENIM_OK;
}

/* Check a parsed file and decode its keys into *kf (released by the caller,
 * on failure too). */
static enum senim_result parse_tree(const json_t *root, const char *path,
				    struct keyfile *kf)
{
	const json_t *format = json_object_get(root, "format");
	const json_t *signing = json_object_get(root, "signing");
	const json_t *kek = json_object_get(root, "kek");
	if (!json_is_object(root) || !json_is_integer(format))
		return keyfile_refuse(path, "the key file has no format");
	if (json_integer_value(format) != 1)
		return keyfile_refuse(path, "the key file's format is not 1");
	if (!json_is_array(signing) || json_array_size(signing) == 0 ||
	    json_array_size(signing) > KEYFILE_MAX_SIGNERS)
		return keyfile_refuse(path, "the key file has no signing keys");
	if (!json_is_array(kek) || json_array_size(kek) == 0)
		return keyfile_refuse(path, "the key file has no KEKs");
	if (json_array_size(kek) > KEYFILE_MAX_KEKS)
		return keyfile_refuse(
			path, "the key file has more KEK versions than a ring holds "
			      "(256)");

	kf->nsigners = json_array_size(signing);
	kf->nkeks = json_array_size(kek);
	size_t secret_len = kf->nsigners * KEYFILE_SK_BYTES + KEYFILE_KEY_BYTES;
	kf->signers = calloc(kf->nsigners, sizeof(*kf->signers));
	kf->secret = sodium_malloc(secret_len);
	kf->keks = sodium_malloc(kf->nkeks * sizeof(*kf->keks));
	if (!kf->signers || !kf->secret || !kf->keks)
		return SENIM_ERR_NOMEM;
	sodium_memzero(kf->secret, secret_len);
	sodium_memzero(kf->keks, kf->nkeks * sizeof(*kf->keks));
	enum senim_result err = parse_signers(kf, signing, path);
	if (err)
		return err;
	err = parse_keks(kf, kek, path);
	if (err)
		return err;
	if (decode_key(json_object_get(root, "index_key"), keyfile_index_key(kf)) != 0)
		return keyfile_refuse(path, "the index key is not 32 bytes of base64");
	return SENIM_OK;
}

/* Parse a key file's text (path names it in the log); *root is freed by
 * the caller with free_json. */
static enum senim_result parse_json(const char *text, size_t len, const char *path,
				    json_t **root)
{
	json_error_t jerr;
	*root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	/* jerr.text may quote the file's bytes, so it is never logged. */
	if (!*root)
		return keyfile_refuse(path, "the key file is not valid JSON");
	return SENIM_OK;
}

/* Read and parse the key file (checks of directory and file modes
 * included); *root is freed by the caller with free_json. */
static enum senim_result load_json(const char *path, json_t **root)
{
	char *data = NULL;
	size_t len = 0;
	const char *why = NULL;
	*root = NULL;
	enum senim_result err = check_dir(path);
	if (err)
		return err;
	/* Into sodium_malloc'ed memory, wiped when freed. */
	err = secret_file_read(path, KF_FILE_MAX, &data, &len, &why);
	if (err && err != SENIM_ERR_NOT_FOUND && err != SENIM_ERR_NOMEM)
		log_event(LOG_ERROR, "keyring_refused", "path", path, "reason", why,
			  NULL);
	if (err)
		return err;
	err = parse_json(data, len, path, root);
	sodium_free(data);
	return err;
}

enum senim_result keyfile_parse(const char *text, size_t len, const char *name,
				struct keyfile *out)
{
	json_t *root = NULL;
	memset(out, 0, sizeof(*out));
	if (!text && len)
		return SENIM_ERR_INVALID;
	enum senim_result err = start_sodium();
	if (err)
		goto fail;
	err = parse_json(text ? text : "", len, name, &root);
	if (err)
		goto fail;
	err = parse_tree(root, name, out);
fail:
	free_json(root);
	return err;
}

enum senim_result keyfile_load(const char *path, struct keyfile *out)
{
	json_t *root = NULL;
	memset(out, 0, sizeof(*out));
	enum senim_result err = start_sodium();
	if (err)
		goto fail;
	err = load_json(path, &root);
	if (err)
		goto fail;
	err = parse_tree(root, path, out);
fail:
	free_json(root);
	return err;
}

void keyfile_release(struct keyfile *kf)
{
	free(kf->signers);
	sodium_free(kf->secret); /* wipes */
	sodium_free(kf->keks);
	memset(kf, 0, sizeof(*kf));
}

/* ---- writing ------------------------------------------------------------------ */

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

/*
 * Write text to a fresh temporary file beside path ("<path>.tmp-XXXXXX",
 * opened O_CREAT|O_EXCL by mkstemp, mode 0600) and fsync it; its name goes
 * to tmp and its descriptor to *fd, for the caller to link or rename into
 * place, then close and unlink.  A failure is logged as `event`.
 */
static enum senim_result write_temp(const char *path, const char *text, size_t len,
				    const char *event, struct buf *tmp, int *fd)
{
	*fd = -1;
	enum senim_result err = buf_addf(tmp, "%s.tmp-XXXXXX", path);
	if (err)
		return err;
	*fd = mkstemp(tmp->data);
	if (*fd < 0 || fchmod(*fd, 0600) != 0 || write_all(*fd, text, len) != 0 ||
	    fsync(*fd) != 0) {
		log_event(LOG_ERROR, event, "path", path, "reason", strerror(errno),
			  NULL);
		return SENIM_ERR_IO;
	}
	return SENIM_OK;
}

/* The secrets of a new key file, kept together in one sodium_malloc block. */
struct fresh_keys {
	unsigned char seed[KEYFILE_KEY_BYTES];
	unsigned char sk[KEYFILE_SK_BYTES];
	unsigned char kek[KEYFILE_KEY_BYTES];
	unsigned char index[KEYFILE_KEY_BYTES];
	char seed64[KF_B64_LEN];
	char kek64[KF_B64_LEN];
	char index64[KF_B64_LEN];
	char text[1024];
};

enum senim_result keyfile_create(const char *path)
{
	struct fresh_keys *k = NULL;
	struct buf tmp;
	buf_init(&tmp, 4096);
	int fd = -1;
	enum senim_result err = start_sodium();
	if (err)
		goto fail;
	err = make_dirs(path);
	if (err)
		goto fail;
	k = sodium_malloc(sizeof(*k));
	if (!k) {
		err = SENIM_ERR_NOMEM;
		goto fail;
	}
	unsigned char pk[KEYFILE_PK_BYTES];
	char id[KEYFILE_KEY_ID_LEN];
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
	if (n < 0 || (size_t)n >= sizeof(k->text)) {
		err = SENIM_ERR_IO;
		goto fail;
	}
	err = write_temp(path, k->text, (size_t)n, "keyring_create_failed", &tmp, &fd);
	if (err)
		goto fail;
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
fail:
	if (fd >= 0) {
		close(fd);
		unlink(tmp.data);
	}
	buf_release(&tmp);
	sodium_free(k);
	return err;
}

/* Write text to a temporary file and rename it over path, unless path is no
 * longer the file identified by `was`. */
static enum senim_result replace_file(const char *path, const char *text, size_t len,
				      const struct keyfile_id *was)
{
	struct buf tmp;
	buf_init(&tmp, 4096);
	int fd = -1, renamed = 0;
	enum senim_result err =
		write_temp(path, text, len, "keyring_write_failed", &tmp, &fd);
	if (err)
		goto fail;
	struct keyfile_id now;
	keyfile_id_of(path, &now);
	if (!keyfile_id_equal(&now, was)) {
		err = keyfile_refuse(path,
				     "the key file changed while a KEK was being added");
		goto fail;
	}
	if (rename(tmp.data, path) != 0) {
		log_event(LOG_ERROR, "keyring_write_failed", "path", path, "reason",
			  strerror(errno), NULL);
		err = SENIM_ERR_IO;
		goto fail;
	}
	renamed = 1;
	if (fsync_dir(path) != 0) {
		/* The new file is in place but may not survive a crash; say
		 * so rather than claim a durable rotation. */
		log_event(LOG_ERROR, "keyring_write_failed", "path", path, "reason",
			  "fsync of the key directory failed", NULL);
		err = SENIM_ERR_IO;
	}
fail:
	if (fd >= 0)
		close(fd);
	if (fd >= 0 && !renamed)
		unlink(tmp.data);
	buf_release(&tmp);
	return err;
}

/* The secrets of one new KEK entry, in sodium_malloc'ed memory. */
struct new_kek {
	unsigned char key[KEYFILE_KEY_BYTES];
	char b64[KF_B64_LEN];
};

enum senim_result keyfile_add_kek(const char *path, uint32_t *new_version)
{
	int lockfd = -1;
	json_t *root = NULL;
	struct keyfile check = { 0 };
	struct new_kek *k = NULL;
	char *text = NULL;
	size_t textlen = 0;
	struct keyfile_id was;
	enum senim_result err;

	if (new_version)
		*new_version = 0;
	if (!path || !*path || !new_version)
		return SENIM_ERR_INVALID;
	err = start_sodium();
	if (err)
		goto fail;
	err = check_dir(path);
	if (err == SENIM_ERR_NOT_FOUND)
		err = keyfile_refuse(path, "the key file does not exist");
	if (err)
		goto fail;
	err = lock_dir(path, &lockfd);
	if (err)
		goto fail;
	keyfile_id_of(path, &was);
	err = load_json(path, &root);
	if (err == SENIM_ERR_NOT_FOUND)
		err = keyfile_refuse(path, "the key file does not exist");
	if (err)
		goto fail;
	/* Validate all of it: a file this code does not fully understand
	 * (another format, a bad key) is never rewritten. */
	err = parse_tree(root, path, &check);
	if (err)
		goto fail;
	uint32_t newest = check.keks[check.newest].version;
	if (check.nkeks >= KEYFILE_MAX_KEKS || newest == UINT32_MAX) {
		err = keyfile_refuse(path, "no room for another KEK version");
		goto fail;
	}
	k = sodium_malloc(sizeof(*k));
	if (!k) {
		err = SENIM_ERR_NOMEM;
		goto fail;
	}
	randombytes_buf(k->key, sizeof(k->key));
	sodium_bin2base64(k->b64, sizeof(k->b64), k->key, sizeof(k->key),
			  sodium_base64_VARIANT_ORIGINAL);
	json_t *entry =
		json_pack("{s:I, s:s, s:I}", "version", (json_int_t)newest + 1, "key",
			  k->b64, "created_at", (json_int_t)clock_now_us());
	if (!entry || json_array_append_new(json_object_get(root, "kek"), entry) != 0) {
		err = SENIM_ERR_NOMEM;
		goto fail;
	}
	/* json_dumpb into sodium memory: no unwiped copy of the keys' text. */
	size_t flags = JSON_INDENT(2);
	textlen = json_dumpb(root, NULL, 0, flags);
	text = textlen ? sodium_malloc(textlen + 1) : NULL;
	if (!text || json_dumpb(root, text, textlen, flags) != textlen) {
		err = SENIM_ERR_NOMEM;
		goto fail;
	}
	text[textlen] = '\n';
	err = replace_file(path, text, textlen + 1, &was);
	if (err)
		goto fail;
	*new_version = newest + 1;
	char v[16];
	snprintf(v, sizeof(v), "%" PRIu32, *new_version);
	log_event(LOG_INFO, "keyring_kek_added", "path", path, "version", v, NULL);
fail:
	sodium_free(text);
	sodium_free(k);
	keyfile_release(&check);
	free_json(root);
	if (lockfd >= 0)
		close(lockfd);
	return err;
}
