/*
 * keyring.c — the key ring in memory and what is done with its keys
 * (keyring.h); the key file itself is keyfile.c's.
 *
 * Secrets (signing secret keys and the index key) live in one
 * sodium_malloc'ed block, taken over from the parsed key file and made
 * read-only.  The KEKs live in a second one: a fixed table of
 * KEYFILE_MAX_KEKS slots allocated at open, so that keyring_reload() can add
 * versions while other threads seal and unseal without a lock: a reloader
 * (serialised by reload_lock) fills slots past the published count, then
 * publishes the new count with a release store; readers load it with
 * acquire and only look at slots below it, which never change again.
 *
 * A running process takes new KEK versions from the file in three ways:
 * keyring_reload() (explicit); keyring_unseal() meeting a version it does
 * not hold (a re-read whenever the file changed since the last one, before
 * it fails); keyring_seal() noticing, with one
 * stat() a second, that the file changed.  The last keeps a process that
 * only seals from wrapping new data keys with a rotated-out KEK.
 */
#include "vault/keyring.h"

#include <inttypes.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/bigendian.h"
#include "common/clock.h"
#include "common/log.h"
#include "vault/keyfile.h"
#include "common/banned.h"

#define KR_NONCE_BYTES crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define KR_TAG_BYTES crypto_aead_xchacha20poly1305_ietf_ABYTES
#define KR_CHECK_US 1000000   /* seal looks for a changed file once a second */
#define KR_TEXT_NAME "(text)" /* what the log calls a key file given as text */

_Static_assert(KEYRING_SIG_BYTES == crypto_sign_BYTES, "signature size");
_Static_assert(KEYRING_PK_BYTES == KEYFILE_PK_BYTES, "public key size");
_Static_assert(KEYRING_KEY_ID_LEN == KEYFILE_KEY_ID_LEN, "key id size");
_Static_assert(KEYRING_SEAL_OVERHEAD == 4 + KR_NONCE_BYTES + KR_TAG_BYTES,
	       "seal overhead");
_Static_assert(KEYFILE_MAX_KEKS < 0xffff, "the KEK state packs counts in 16 bits");

struct keyring {
	struct keyfile_signer *signers; /* public halves; the last one is current */
	size_t nsigners;
	/* sodium_malloc'ed, read-only after loading (struct keyfile's):
	 * sk[nsigners][64] || index_key[32] */
	unsigned char *secret;
	/* sodium_malloc'ed table of KEYFILE_MAX_KEKS slots, read-only except
	 * while a reload appends to it.  kek_state packs the published slot
	 * count (low 16 bits) and the index of the highest version (high 16
	 * bits), so readers get both from one acquire load. */
	struct keyfile_kek *keks;
	_Atomic uint32_t kek_state;
	/* Reloading (everything below is guarded by reload_lock). */
	char *path; /* the file this ring was opened from */
	pthread_mutex_t reload_lock;
	struct keyfile_id file_id; /* of the file last read */
	struct keyfile_id refused; /* a file a reload gave up on */
	/* clock_mono_us() of seal's last look at the file (read without the
	 * lock, to skip the lock on all but one seal a second). */
	_Atomic int64_t checked_at;
};

static unsigned char *signer_sk(const struct keyring *kr, size_t i)
{
	return kr->secret + i * KEYFILE_SK_BYTES;
}

static unsigned char *index_key(const struct keyring *kr)
{
	return kr->secret + kr->nsigners * KEYFILE_SK_BYTES;
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

static enum senim_result reload_locked(struct keyring *kr);

/* The slot holding `version`, or NULL. */
static const struct keyfile_kek *find_kek(const struct keyring *kr, uint32_t version)
{
	size_t n = kek_snapshot(kr, NULL);
	for (size_t i = 0; i < n; i++)
		if (kr->keks[i].version == version)
			return &kr->keks[i];
	return NULL;
}

/* ---- opening and closing --------------------------------------------------- */

/*
 * A ring from a parsed key file: it takes over the signers and the secret
 * block (*kf keeps the rest, for the caller to release) and copies the KEKs
 * into its table.  On error *out stays NULL.
 */
static enum senim_result ring_from_keyfile(struct keyfile *kf, struct keyring **out)
{
	*out = NULL;
	struct keyring *kr = calloc(1, sizeof(*kr));
	if (!kr)
		return SENIM_ERR_NOMEM;
	if (pthread_mutex_init(&kr->reload_lock, NULL) != 0) {
		free(kr);
		return SENIM_ERR_NOMEM;
	}
	kr->keks = sodium_malloc(KEYFILE_MAX_KEKS * sizeof(*kr->keks));
	if (!kr->keks) {
		keyring_free(kr);
		return SENIM_ERR_NOMEM;
	}
	sodium_memzero(kr->keks, KEYFILE_MAX_KEKS * sizeof(*kr->keks));
	memcpy(kr->keks, kf->keks, kf->nkeks * sizeof(*kr->keks));
	kr->signers = kf->signers;
	kr->nsigners = kf->nsigners;
	kr->secret = kf->secret;
	kf->signers = NULL;
	kf->secret = NULL;
	sodium_mprotect_readonly(kr->secret);
	sodium_mprotect_readonly(kr->keks);
	atomic_store_explicit(&kr->kek_state, kek_state(kf->nkeks, kf->newest),
			      memory_order_release);
	*out = kr;
	return SENIM_OK;
}

enum senim_result keyring_open(const char *path, int create, struct keyring **out)
{
	struct keyfile kf = { 0 };
	struct keyfile_id id;
	if (!out)
		return SENIM_ERR_INVALID;
	*out = NULL;
	if (!path || !*path)
		return SENIM_ERR_INVALID;
	/* Taken before reading: if the file is replaced in between, the next
	 * reload sees a different identity and reads it again. */
	keyfile_id_of(path, &id);
	enum senim_result err = keyfile_load(path, &kf);
	if (err == SENIM_ERR_NOT_FOUND && create) {
		err = keyfile_create(path);
		if (err)
			goto fail;
		keyfile_id_of(path, &id);
		err = keyfile_load(path, &kf);
	}
	if (err == SENIM_ERR_NOT_FOUND)
		err = keyfile_refuse(path, "the key file does not exist");
	if (err)
		goto fail;
	err = ring_from_keyfile(&kf, out);
	if (err)
		goto fail;
	(*out)->file_id = id;
	atomic_store(&(*out)->checked_at, clock_mono_us());
	(*out)->path = strdup(path);
	if (!(*out)->path) {
		keyring_free(*out);
		*out = NULL;
		err = SENIM_ERR_NOMEM;
	}
fail:
	keyfile_release(&kf);
	return err;
}

enum senim_result keyring_parse(const char *text, size_t len, struct keyring **out)
{
	struct keyfile kf;
	if (!out)
		return SENIM_ERR_INVALID;
	*out = NULL;
	enum senim_result err = keyfile_parse(text, len, KR_TEXT_NAME, &kf);
	if (err)
		goto fail;
	/* No path: the ring never looks for a changed file. */
	err = ring_from_keyfile(&kf, out);
fail:
	keyfile_release(&kf);
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

enum senim_result keyring_verify(const struct keyring *kr, const char *key_id,
				 const void *msg, size_t len,
				 const unsigned char sig[KEYRING_SIG_BYTES])
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
		struct keyfile_id id;
		keyfile_id_of(kr->path, &id);
		if (!keyfile_id_equal(&id, &kr->file_id) &&
		    !keyfile_id_equal(&id, &kr->refused)) {
			enum senim_result err = reload_locked(kr);
			if (err) {
				kr->refused = id;
				log_event(LOG_WARN, "keyring_reload_failed", "reason",
					  senim_result_name(err), NULL);
			}
		}
	}
	pthread_mutex_unlock(&kr->reload_lock);
}

enum senim_result keyring_seal(const struct keyring *kr, const void *ad, size_t adlen,
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
	const struct keyfile_kek *k = &kr->keks[newest];
	put_be32(sealed, k->version);
	unsigned char *nonce = sealed + 4;
	randombytes_buf(nonce, KR_NONCE_BYTES);
	unsigned long long clen = 0;
	crypto_aead_xchacha20poly1305_ietf_encrypt(
		nonce + KR_NONCE_BYTES, &clen, len ? plain : (const void *)"", len,
		adlen ? ad : (const void *)"", adlen, NULL, nonce, k->key);
	enum senim_result err = buf_add(out, sealed, total);
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
	enum senim_result err = SENIM_OK;
	pthread_mutex_lock(&kr->reload_lock);
	if (kek_snapshot(kr, NULL) != before) {
		/* Another thread reloaded while this one waited. */
		pthread_mutex_unlock(&kr->reload_lock);
		return 1;
	}
	struct keyfile_id id;
	keyfile_id_of(kr->path, &id);
	if (!keyfile_id_equal(&id, &kr->refused)) {
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

enum senim_result keyring_unseal(const struct keyring *kr, const void *ad, size_t adlen,
				 const void *sealed, size_t sealed_len,
				 unsigned char *plain, size_t cap, size_t *len)
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
	uint32_t version = get_be32(s);
	const struct keyfile_kek *k = find_kek(kr, version);
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
			   KEYFILE_KEY_BYTES);
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
	uint32_t all[KEYFILE_MAX_KEKS];
	size_t n = kek_snapshot(kr, NULL);
	/* Insertion sort: at most KEYFILE_MAX_KEKS entries, rarely more than a few. */
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
static enum senim_result reload_locked(struct keyring *kr)
{
	struct keyfile_id id;
	keyfile_id_of(kr->path, &id);
	if (keyfile_id_equal(&id, &kr->file_id))
		return SENIM_OK;
	struct keyfile fresh;
	size_t n = kek_snapshot(kr, NULL), newest = 0, nnew = 0;
	enum senim_result err = keyfile_load(kr->path, &fresh);
	if (err)
		goto fail;
	if (sodium_memcmp(keyfile_index_key(&fresh), index_key(kr), KEYFILE_KEY_BYTES) !=
	    0) {
		err = keyfile_refuse(kr->path,
				     "the index key changed (restart to use it)");
		goto fail;
	}
	for (size_t i = 0; i < fresh.nkeks; i++) {
		const struct keyfile_kek *f = &fresh.keks[i];
		const struct keyfile_kek *k = find_kek(kr, f->version);
		if (!k) {
			nnew++;
		} else if (sodium_memcmp(k->key, f->key, KEYFILE_KEY_BYTES) != 0) {
			err = keyfile_refuse(kr->path, "a KEK version's key changed");
			goto fail;
		}
	}
	if (n + nnew > KEYFILE_MAX_KEKS) {
		err = keyfile_refuse(kr->path, "the key ring is full (256 KEK versions)");
		goto fail;
	}
	if (nnew) {
		/* Slots at n and above are unpublished: no reader looks at
		 * them until the release store below. */
		sodium_mprotect_readwrite(kr->keks);
		size_t m = n;
		for (size_t i = 0; i < fresh.nkeks; i++)
			if (!find_kek(kr, fresh.keks[i].version))
				kr->keks[m++] = fresh.keks[i];
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
fail:
	keyfile_release(&fresh);
	return err;
}

enum senim_result keyring_reload(struct keyring *kr)
{
	if (!kr)
		return SENIM_ERR_INVALID;
	if (!kr->path)
		return SENIM_OK;
	pthread_mutex_lock(&kr->reload_lock);
	enum senim_result err = reload_locked(kr);
	pthread_mutex_unlock(&kr->reload_lock);
	return err;
}

enum senim_result keyring_derive(const struct keyring *kr, uint32_t version,
				 const void *context, size_t len, unsigned char out[32])
{
	if (!kr || (!context && len))
		return SENIM_ERR_INVALID;
	const struct keyfile_kek *k = find_kek(kr, version);
	if (!k)
		return SENIM_ERR_NOT_FOUND;
	/* A domain label first, so a derived key never equals a hash the
	 * ring makes for another use of the same KEK. */
	static const char label[] = "senim-derived-v1";
	crypto_generichash_state h;
	crypto_generichash_init(&h, k->key, KEYFILE_KEY_BYTES, 32);
	crypto_generichash_update(&h, (const unsigned char *)label, sizeof(label) - 1);
	if (len)
		crypto_generichash_update(&h, context, len);
	crypto_generichash_final(&h, out, 32);
	sodium_memzero(&h, sizeof(h));
	return SENIM_OK;
}
