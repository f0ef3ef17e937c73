/*
 * vault.c — envelope encryption of a subject's personal data (vault.h).
 *
 * Stored formats (changing any of them makes existing data unreadable):
 *
 * A DEK's plaintext, as the key ring wraps it (keyring_seal, associated
 * data "senim/dek/v1" || subject_id):
 *     u32 DEK version (big-endian, >= 1) || 32 key bytes
 * The DEK version names which of a subject's data keys sealed a value; every
 * DEK made today is version 1, and a later re-keying of one subject gives
 * the new key the next version.  It is bound into every value's associated
 * data, so a value can never be opened as if another DEK had sealed it.
 *
 * A sealed value (one field of a record, or one blob):
 *     u32 DEK version || 24-byte nonce || XChaCha20-Poly1305 ciphertext+tag
 *
 * Associated data of a value, each text as one length byte then its bytes:
 *     tag || len subject_id || len category || len field ||
 *     i64 record version (big-endian) || u32 DEK version ||
 *     [records only] u16 field count of the record
 * with tag "senim/rec/v1" for a record's field and "senim/blob/v1" for a
 * blob, so neither can stand in for the other.  The field count makes a
 * record all-or-nothing: dropping a field from a blob (and fixing the count)
 * breaks every other field.  Fields may come in any order.
 *
 * A record's plaintext per field is the value's compact JSON text (jansson,
 * JSON_ENCODE_ANY | JSON_COMPACT), written with json_dumpb into a stack
 * buffer or, when larger, sodium_malloc'ed memory, and wiped once sealed.
 * Opening decrypts into the same kinds of buffer and parses with json_loadb.
 *
 * Every failure to open — bad layout, wrong sizes, a duplicate or unknown
 * field name, a DEK version that does not match, a tag that does not verify
 * — is SENIM_ERR_CRYPTO: a tampered blob yields an error, never data.
 */
#include "vault/vault.h"

#include <malloc.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "common/bigendian.h"
#include "common/log.h"
#include "store/store.h"
#include "common/banned.h"

#define DEK_AD_PREFIX "senim/dek/v1"
#define DEK_AD_PREFIX_LEN (sizeof(DEK_AD_PREFIX) - 1)
#define TAG_RECORD "senim/rec/v1"
#define TAG_BLOB "senim/blob/v1"

#define DEK_WIRE_BYTES (4 + VAULT_DEK_BYTES)
#define DEK_FIRST_VERSION 1u
#define NONCE_BYTES crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG_BYTES crypto_aead_xchacha20poly1305_ietf_ABYTES
#define VALUE_OVERHEAD (4 + NONCE_BYTES + TAG_BYTES)

#define VAULT_FIELDS_MAX 255
#define VAULT_NAME_MAX 64	      /* a field name, a category */
#define VAULT_SEALED_MAX (4u << 20)   /* one sealed value (biometric images) */
#define VAULT_AD_MAX 256	      /* tag + 3 x (1 + 64) + 8 + 4 + 2 fits */
#define VAULT_STACK_PLAIN 1024	      /* plaintexts up to this stay on the stack */
#define VAULT_INDEX_STACK (64 + 1024) /* "<kind>:" || value on the stack */
#define JSON_VALUE_FLAGS (JSON_ENCODE_ANY | JSON_COMPACT)

_Static_assert(crypto_aead_xchacha20poly1305_ietf_KEYBYTES == VAULT_DEK_BYTES,
	       "DEK size");
_Static_assert(crypto_generichash_BYTES == VAULT_INDEX_BYTES, "index size");

/* Lives in sodium_malloc'ed memory; wire is exactly what the ring wraps. */
struct vault_dek {
	unsigned char wire[DEK_WIRE_BYTES]; /* u32 version || key */
};

/* ---- the DEK pool -------------------------------------------------------- */

/*
 * Every read of a subject's data unwraps its DEK, and sodium_malloc() costs
 * an mmap, mprotects and an mlock (about 40 us a pair with sodium_free on
 * this machine: half a request's budget).  So DEKs live in slabs of
 * DEK_SLAB_SLOTS slots, each slab one sodium_malloc'ed block (guard pages,
 * locked in memory, kept out of core dumps) that is never returned; a freed
 * DEK is wiped at once and its slot reused.  Slabs are bounded by the
 * number of DEKs in use at once (about one per request in flight).
 * Under AddressSanitizer a free slot is poisoned, so a DEK used after
 * vault_dek_free() is still caught.
 */
#define DEK_SLAB_SLOTS 256
#define DEK_SLABS_MAX 4096 /* a million DEKs at once is a leak, not load */

struct dek_slot {
	struct vault_dek dek; /* first: a struct vault_dek * is its slot */
	struct dek_slot *next;
};

_Static_assert(sizeof(struct dek_slot) % 16 == 0,
	       "slots keep sodium_malloc's blocks aligned");

#if defined(__SANITIZE_ADDRESS__)
#define VAULT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VAULT_ASAN 1
#endif
#endif
#ifdef VAULT_ASAN
#include <sanitizer/asan_interface.h>
#define DEK_POISON(d) ASAN_POISON_MEMORY_REGION((d), sizeof(struct vault_dek))
#define DEK_UNPOISON(d) ASAN_UNPOISON_MEMORY_REGION((d), sizeof(struct vault_dek))
#else
#define DEK_POISON(d) ((void)(d))
#define DEK_UNPOISON(d) ((void)(d))
#endif

static pthread_mutex_t dek_pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct dek_slot *dek_pool_free;
static size_t dek_pool_slabs;

/* A DEK slot (contents undefined), or NULL when memory is out. */
static struct vault_dek *dek_alloc(void)
{
	struct dek_slot *s = NULL;
	pthread_mutex_lock(&dek_pool_lock);
	if (!dek_pool_free && dek_pool_slabs < DEK_SLABS_MAX) {
		struct dek_slot *slab = sodium_malloc(DEK_SLAB_SLOTS * sizeof(*slab));
		if (slab) {
			dek_pool_slabs++;
			for (size_t i = 0; i < DEK_SLAB_SLOTS; i++) {
				slab[i].next = dek_pool_free;
				dek_pool_free = &slab[i];
				DEK_POISON(&slab[i].dek);
			}
		}
	}
	if (dek_pool_free) {
		s = dek_pool_free;
		dek_pool_free = s->next;
	}
	pthread_mutex_unlock(&dek_pool_lock);
	if (!s)
		return NULL;
	DEK_UNPOISON(&s->dek);
	return &s->dek;
}

/* Wipe a DEK and give its slot back. */
static void dek_release(struct vault_dek *dek)
{
	struct dek_slot *s = (struct dek_slot *)dek;
	sodium_memzero(dek, sizeof(*dek));
	DEK_POISON(dek);
	pthread_mutex_lock(&dek_pool_lock);
	s->next = dek_pool_free;
	dek_pool_free = s;
	pthread_mutex_unlock(&dek_pool_lock);
}

static uint32_t dek_version(const struct vault_dek *dek)
{
	return get_be32(dek->wire);
}

static const unsigned char *dek_key(const struct vault_dek *dek)
{
	return dek->wire + 4;
}

/* 1 when s is a C string of 1..max bytes. */
static int text_ok(const char *s, size_t max)
{
	if (!s)
		return 0;
	size_t n = strnlen(s, max + 1);
	return n >= 1 && n <= max;
}

/* Cut b back to len bytes (undoing a partial append). */
static void buf_cut(struct buf *b, size_t len)
{
	if (b->cap && len <= b->len) {
		b->len = len;
		b->data[len] = '\0';
	}
}

/* ---- data keys ----------------------------------------------------------- */

static size_t dek_ad(const char *subject_id,
		     unsigned char ad[DEK_AD_PREFIX_LEN + VAULT_SUBJECT_ID_MAX])
{
	size_t n = strlen(subject_id);
	memcpy(ad, DEK_AD_PREFIX, DEK_AD_PREFIX_LEN);
	memcpy(ad + DEK_AD_PREFIX_LEN, subject_id, n);
	return DEK_AD_PREFIX_LEN + n;
}

/* Wrap d under the ring's newest KEK, appending the sealed form to out,
 * and say which KEK version sealed it. */
static enum senim_result wrap(const struct keyring *kr, const char *subject_id,
			      const struct vault_dek *d, struct buf *out,
			      uint32_t *kek_version)
{
	unsigned char ad[DEK_AD_PREFIX_LEN + VAULT_SUBJECT_ID_MAX];
	size_t adlen = dek_ad(subject_id, ad);
	size_t start = out->len;
	enum senim_result err =
		keyring_seal(kr, ad, adlen, d->wire, sizeof(d->wire), out);
	if (err)
		return err;
	/* Read back the version that sealed it: the ring may have gained a
	 * newer one since any earlier look. */
	*kek_version = get_be32((const unsigned char *)out->data + start);
	return SENIM_OK;
}

enum senim_result vault_dek_new(const struct keyring *kr, const char *subject_id,
				struct vault_dek **dek, struct buf *wrapped,
				uint32_t *kek_version)
{
	if (dek)
		*dek = NULL;
	if (kek_version)
		*kek_version = 0;
	if (!kr || !dek || !wrapped || !kek_version ||
	    !text_ok(subject_id, VAULT_SUBJECT_ID_MAX))
		return SENIM_ERR_INVALID;
	struct vault_dek *d = dek_alloc();
	if (!d)
		return SENIM_ERR_NOMEM;
	put_be32(d->wire, DEK_FIRST_VERSION);
	randombytes_buf(d->wire + 4, VAULT_DEK_BYTES);
	enum senim_result err = wrap(kr, subject_id, d, wrapped, kek_version);
	if (err) {
		dek_release(d); /* wipes */
		return err;
	}
	*dek = d;
	return SENIM_OK;
}

enum senim_result vault_dek_unwrap(const struct keyring *kr, const char *subject_id,
				   const void *wrapped, size_t len,
				   struct vault_dek **dek)
{
	if (dek)
		*dek = NULL;
	if (!kr || !dek || (!wrapped && len) ||
	    !text_ok(subject_id, VAULT_SUBJECT_ID_MAX))
		return SENIM_ERR_INVALID;
	if (len != KEYRING_SEAL_OVERHEAD + DEK_WIRE_BYTES)
		return SENIM_ERR_CRYPTO;
	struct vault_dek *d = dek_alloc();
	if (!d)
		return SENIM_ERR_NOMEM;
	unsigned char ad[DEK_AD_PREFIX_LEN + VAULT_SUBJECT_ID_MAX];
	size_t adlen = dek_ad(subject_id, ad), plen = 0;
	enum senim_result err = keyring_unseal(kr, ad, adlen, wrapped, len, d->wire,
					       sizeof(d->wire), &plen);
	if (err)
		goto fail;
	if (plen != DEK_WIRE_BYTES || dek_version(d) == 0) {
		err = SENIM_ERR_CRYPTO;
		goto fail;
	}
	*dek = d;
	return SENIM_OK;
fail:
	dek_release(d); /* wipes */
	return err;
}

void vault_dek_free(struct vault_dek *dek)
{
	if (dek)
		dek_release(dek); /* wipes */
}

enum senim_result vault_dek_rewrap(const struct keyring *kr, const char *subject_id,
				   const void *wrapped, size_t len, struct buf *out,
				   uint32_t *kek_version)
{
	if (kek_version)
		*kek_version = 0;
	if (!out || !kek_version)
		return SENIM_ERR_INVALID;
	struct vault_dek *d = NULL;
	enum senim_result err = vault_dek_unwrap(kr, subject_id, wrapped, len, &d);
	if (err)
		return err;
	err = wrap(kr, subject_id, d, out, kek_version);
	vault_dek_free(d);
	return err;
}

/* ---- sealed values --------------------------------------------------------- */

/* Associated data of one value (see the top of this file); count < 0 for a
 * blob, which has none. */
static size_t value_ad(unsigned char ad[VAULT_AD_MAX], const char *tag,
		       const char *subject_id, const char *category, const char *field,
		       size_t field_len, int64_t version, uint32_t dek_ver, int count)
{
	size_t n = strlen(tag), len;
	memcpy(ad, tag, n);
	len = strlen(subject_id);
	ad[n++] = (unsigned char)len;
	memcpy(ad + n, subject_id, len);
	n += len;
	len = strlen(category);
	ad[n++] = (unsigned char)len;
	memcpy(ad + n, category, len);
	n += len;
	ad[n++] = (unsigned char)field_len;
	memcpy(ad + n, field, field_len);
	n += field_len;
	put_be64(ad + n, (uint64_t)version);
	n += 8;
	put_be32(ad + n, dek_ver);
	n += 4;
	if (count >= 0) {
		put_be16(ad + n, (uint16_t)count);
		n += 2;
	}
	return n;
}

/* Seal plain with the DEK, appending the sealed value to out. */
static enum senim_result seal_value(const struct vault_dek *dek, const unsigned char *ad,
				    size_t adlen, const void *plain, size_t len,
				    struct buf *out)
{
	if (len > VAULT_SEALED_MAX - VALUE_OVERHEAD)
		return SENIM_ERR_TOO_LARGE;
	/* Ciphertext holds no secret: plain heap memory. */
	unsigned char *sealed = malloc(VALUE_OVERHEAD + len);
	if (!sealed)
		return SENIM_ERR_NOMEM;
	put_be32(sealed, dek_version(dek));
	randombytes_buf(sealed + 4, NONCE_BYTES);
	unsigned long long clen = 0;
	crypto_aead_xchacha20poly1305_ietf_encrypt(
		sealed + 4 + NONCE_BYTES, &clen, len ? plain : (const void *)"", len, ad,
		adlen, NULL, sealed + 4, dek_key(dek));
	enum senim_result err = buf_add(out, sealed, VALUE_OVERHEAD + len);
	free(sealed);
	return err;
}

/*
 * Open a sealed value into plain (capacity at least len - VALUE_OVERHEAD);
 * *plen gets its length.  Wipes plain on failure.
 */
static enum senim_result open_value(const struct vault_dek *dek, const unsigned char *ad,
				    size_t adlen, const unsigned char *sealed, size_t len,
				    unsigned char *plain, size_t *plen)
{
	*plen = 0;
	if (len < VALUE_OVERHEAD || len > VAULT_SEALED_MAX)
		return SENIM_ERR_CRYPTO;
	if (get_be32(sealed) != dek_version(dek))
		return SENIM_ERR_CRYPTO;
	unsigned long long mlen = 0;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(
		    plain, &mlen, NULL, sealed + 4 + NONCE_BYTES, len - 4 - NONCE_BYTES,
		    ad, adlen, sealed + 4, dek_key(dek)) != 0) {
		sodium_memzero(plain, len - VALUE_OVERHEAD);
		return SENIM_ERR_CRYPTO;
	}
	*plen = (size_t)mlen;
	return SENIM_OK;
}

/* A buffer for n plaintext bytes: the caller's stack buffer when it is big
 * enough, else sodium_malloc'ed memory.  Freed with plain_free(). */
static unsigned char *plain_get(unsigned char *stack, size_t stack_len, size_t n)
{
	if (n <= stack_len)
		return stack;
	return sodium_malloc(n);
}

static void plain_free(unsigned char *p, unsigned char *stack, size_t n)
{
	if (p == stack)
		sodium_memzero(p, n);
	else
		sodium_free(p); /* wipes */
}

/* ---- records ----------------------------------------------------------------- */

/* Seal one field's value (its compact JSON text) and append the blob's
 * entry for it: u8 name length, name, u32 sealed length, sealed bytes. */
static enum senim_result seal_field(const struct vault_dek *dek, const char *subject_id,
				    const char *category, int64_t version, int count,
				    const char *name, size_t name_len,
				    const json_t *value, struct buf *out)
{
	unsigned char stack[VAULT_STACK_PLAIN];
	size_t n = json_dumpb(value, NULL, 0, JSON_VALUE_FLAGS);
	if (n == 0)
		return SENIM_ERR_INVALID;
	if (n > VAULT_SEALED_MAX - VALUE_OVERHEAD)
		return SENIM_ERR_TOO_LARGE;
	unsigned char *plain = plain_get(stack, sizeof(stack), n);
	if (!plain)
		return SENIM_ERR_NOMEM;
	enum senim_result err = SENIM_OK;
	if (json_dumpb(value, (char *)plain, n, JSON_VALUE_FLAGS) != n) {
		err = SENIM_ERR_INVALID;
		goto fail;
	}
	unsigned char ad[VAULT_AD_MAX];
	size_t adlen = value_ad(ad, TAG_RECORD, subject_id, category, name, name_len,
				version, dek_version(dek), count);
	unsigned char head[1 + VAULT_NAME_MAX + 4];
	head[0] = (unsigned char)name_len;
	memcpy(head + 1, name, name_len);
	put_be32(head + 1 + name_len, (uint32_t)(VALUE_OVERHEAD + n));
	err = buf_add(out, head, 1 + name_len + 4);
	if (err)
		goto fail;
	err = seal_value(dek, ad, adlen, plain, n, out);
fail:
	plain_free(plain, stack, n);
	return err;
}

enum senim_result vault_seal_record(const struct vault_dek *dek, const char *subject_id,
				    const char *category, int64_t version, json_t *fields,
				    struct buf *out)
{
	if (!dek || !out || !json_is_object(fields) ||
	    !text_ok(subject_id, VAULT_SUBJECT_ID_MAX) ||
	    !text_ok(category, VAULT_NAME_MAX))
		return SENIM_ERR_INVALID;
	size_t count = json_object_size(fields);
	if (count > VAULT_FIELDS_MAX)
		return SENIM_ERR_TOO_LARGE;
	size_t start = out->len;
	unsigned char head[5] = { 'S', 'V', '1' };
	put_be16(head + 3, (uint16_t)count);
	enum senim_result err = buf_add(out, head, sizeof(head));
	if (err)
		goto fail;
	const char *name;
	size_t name_len;
	json_t *value;
	json_object_keylen_foreach(fields, name, name_len, value)
	{
		if (name_len == 0 || name_len > VAULT_NAME_MAX ||
		    memchr(name, '\0', name_len)) {
			err = SENIM_ERR_INVALID;
			goto fail;
		}
		err = seal_field(dek, subject_id, category, version, (int)count, name,
				 name_len, value, out);
		if (err)
			goto fail;
	}
	return SENIM_OK;
fail:
	buf_cut(out, start);
	return err;
}

/* Decrypt one field's sealed bytes and parse them into *value. */
static enum senim_result open_field(const struct vault_dek *dek, const unsigned char *ad,
				    size_t adlen, const unsigned char *sealed, size_t len,
				    json_t **value)
{
	unsigned char stack[VAULT_STACK_PLAIN];
	*value = NULL;
	if (len < VALUE_OVERHEAD)
		return SENIM_ERR_CRYPTO;
	size_t cap = len - VALUE_OVERHEAD, n = 0;
	unsigned char *plain = plain_get(stack, sizeof(stack), cap);
	if (!plain)
		return SENIM_ERR_NOMEM;
	enum senim_result err = open_value(dek, ad, adlen, sealed, len, plain, &n);
	if (err)
		goto fail;
	json_error_t jerr;
	/* Authentic bytes that do not parse mean a bug, not data: say CRYPTO
	 * all the same.  jerr may quote plaintext: never logged. */
	*value = json_loadb((const char *)plain, n, JSON_DECODE_ANY | JSON_ALLOW_NUL,
			    &jerr);
	if (!*value)
		err = SENIM_ERR_CRYPTO;
	sodium_memzero(&jerr, sizeof(jerr));
fail:
	plain_free(plain, stack, cap);
	return err;
}

enum senim_result vault_open_record(const struct vault_dek *dek, const char *subject_id,
				    const char *category, int64_t version,
				    const void *blob, size_t len, json_t **out)
{
	if (out)
		*out = NULL;
	if (!dek || !out || (!blob && len) ||
	    !text_ok(subject_id, VAULT_SUBJECT_ID_MAX) ||
	    !text_ok(category, VAULT_NAME_MAX))
		return SENIM_ERR_INVALID;
	const unsigned char *p = blob;
	if (len < 5 || memcmp(p, "SV1", 3) != 0)
		return SENIM_ERR_CRYPTO;
	size_t count = get_be16(p + 3), at = 5;
	if (count > VAULT_FIELDS_MAX)
		return SENIM_ERR_CRYPTO;
	json_t *obj = json_object();
	if (!obj)
		return SENIM_ERR_NOMEM;
	/* Every way the layout can be wrong is CRYPTO: a tampered blob. */
	enum senim_result err = SENIM_ERR_CRYPTO;
	for (size_t i = 0; i < count; i++) {
		if (len - at < 1)
			goto fail;
		size_t name_len = p[at++];
		if (name_len == 0 || name_len > VAULT_NAME_MAX || len - at < name_len + 4)
			goto fail;
		const char *name = (const char *)p + at;
		at += name_len;
		size_t slen = get_be32(p + at);
		at += 4;
		if (slen > len - at || memchr(name, '\0', name_len) ||
		    json_object_getn(obj, name, name_len))
			goto fail;
		unsigned char ad[VAULT_AD_MAX];
		size_t adlen = value_ad(ad, TAG_RECORD, subject_id, category, name,
					name_len, version, dek_version(dek), (int)count);
		json_t *value = NULL;
		err = open_field(dek, ad, adlen, p + at, slen, &value);
		if (err)
			goto fail;
		at += slen;
		err = SENIM_ERR_CRYPTO;
		/* setn_new takes value, and frees it when it fails. */
		if (json_object_setn_new(obj, name, name_len, value) != 0)
			goto fail;
	}
	if (at != len)
		goto fail;
	*out = obj;
	return SENIM_OK;
fail:
	json_decref(obj);
	return err;
}

/* ---- blobs --------------------------------------------------------------------- */

enum senim_result vault_seal_blob(const struct vault_dek *dek, const char *subject_id,
				  const char *category, const char *field,
				  int64_t version, const void *data, size_t len,
				  struct buf *out)
{
	if (!dek || !out || (!data && len) ||
	    !text_ok(subject_id, VAULT_SUBJECT_ID_MAX) ||
	    !text_ok(category, VAULT_NAME_MAX) || !text_ok(field, VAULT_NAME_MAX))
		return SENIM_ERR_INVALID;
	unsigned char ad[VAULT_AD_MAX];
	size_t adlen = value_ad(ad, TAG_BLOB, subject_id, category, field, strlen(field),
				version, dek_version(dek), -1);
	return seal_value(dek, ad, adlen, data, len, out);
}

/*
 * The plaintext is appended to out, which is ordinary heap memory: the
 * caller wipes it (sodium_memzero(out->data, out->len)) before releasing.
 * It is decrypted straight into out's memory, so no other copy is left.
 */
enum senim_result vault_open_blob(const struct vault_dek *dek, const char *subject_id,
				  const char *category, const char *field,
				  int64_t version, const void *sealed, size_t len,
				  struct buf *out)
{
	if (!dek || !out || (!sealed && len) ||
	    !text_ok(subject_id, VAULT_SUBJECT_ID_MAX) ||
	    !text_ok(category, VAULT_NAME_MAX) || !text_ok(field, VAULT_NAME_MAX))
		return SENIM_ERR_INVALID;
	if (len < VALUE_OVERHEAD || len > VAULT_SEALED_MAX)
		return SENIM_ERR_CRYPTO;
	unsigned char ad[VAULT_AD_MAX];
	size_t adlen = value_ad(ad, TAG_BLOB, subject_id, category, field, strlen(field),
				version, dek_version(dek), -1);
	size_t start = out->len, n = 0, cap = len - VALUE_OVERHEAD;
	/* Make room by appending ciphertext bytes (no secret), then decrypt
	 * over them. */
	enum senim_result err =
		buf_add(out, (const unsigned char *)sealed + 4 + NONCE_BYTES, cap);
	if (err)
		return err;
	unsigned char dummy[1];
	unsigned char *dst = cap ? (unsigned char *)out->data + start : dummy;
	err = open_value(dek, ad, adlen, sealed, len, dst, &n);
	if (err) {
		buf_cut(out, start);
		return err;
	}
	buf_cut(out, start + n);
	return SENIM_OK;
}

/* ---- blind indexes --------------------------------------------------------- */

void vault_blind_index(const struct keyring *kr, const char *kind, const char *value,
		       size_t len, unsigned char out[VAULT_INDEX_BYTES])
{
	unsigned char stack[VAULT_INDEX_STACK];
	size_t klen = kind ? strlen(kind) : 0;
	if (!value)
		len = 0;
	if (klen > SIZE_MAX - 1 - len) {
		randombytes_buf(out, VAULT_INDEX_BYTES);
		return;
	}
	size_t n = klen + 1 + len;
	unsigned char *msg = plain_get(stack, sizeof(stack), n);
	if (!msg) {
		/* A random index matches nothing: a failed lookup, never a
		 * wrong match.  Normalised IINs, phones and e-mails all fit
		 * the stack buffer, so this needs a huge value and no memory. */
		log_event(LOG_ERROR, "blind_index_failed", "reason", "out of memory",
			  NULL);
		randombytes_buf(out, VAULT_INDEX_BYTES);
		return;
	}
	if (klen)
		memcpy(msg, kind, klen);
	msg[klen] = ':';
	if (len)
		memcpy(msg + klen + 1, value, len);
	keyring_blind_index(kr, msg, n, out);
	plain_free(msg, stack, n);
}

/* ---- wiping allocator for jansson ----------------------------------------- */

/*
 * jansson frees everything it allocates through json_set_alloc_funcs' free
 * function, so decrypted values, the parser's copies of them and
 * json_dumps() output are wiped here.  The block's size comes from glibc's
 * malloc_usable_size rather than a size header of our own: blocks stay
 * ordinary malloc blocks, so code that free()s a json_dumps() result (as
 * jansson documents) keeps working, and blocks allocated before the
 * allocator was installed are wiped correctly too.
 */
static void wiping_free(void *p)
{
	if (!p)
		return;
	sodium_memzero(p, malloc_usable_size(p));
	free(p);
}

void vault_install_wiping_allocator(void)
{
	json_set_alloc_funcs(malloc, wiping_free);
}

enum senim_result vault_dek_load(struct store_tx *tx, const struct keyring *kr,
				 const char *subject_id, struct vault_dek **dek)
{
	struct store_rows *r;
	*dek = NULL;
	/* NOT_FOUND when shredded: the data is gone for good. */
	enum senim_result err = store_query_one(
		tx, "SELECT wrapped FROM subject_keys WHERE subject_id = $1",
		(struct store_val[]){ SV_TEXT(subject_id) }, 1, &r);
	if (err)
		return err;
	size_t len = 0;
	const void *w = store_rows_blob(r, 0, &len);
	err = vault_dek_unwrap(kr, subject_id, w, len, dek);
	store_rows_free(r);
	return err;
}
