/*
 * receipt.c — consent receipts: build, canonicalise, sign, verify.
 *
 * What the signature covers and what it does not: it covers every member
 * but "signature" (receipt.h).  The members of "signature" are therefore
 * checked one by one, so that a change to any byte of any value is caught:
 * "alg" must be "Ed25519"; "public_key" and "value" must be the canonical
 * base64 of exactly 32 and 64 bytes (decoded and encoded again, so no
 * second spelling of the same bytes passes); "key_id" must be the id of the
 * embedded key (the hex of its first 8 bytes, as keyring.c derives ids);
 * and the signature must verify under the embedded key.  With a key ring it
 * must verify under the ring's key of that id as well, so an embedded key
 * that is not the ring's fails even when its id is.  A `trusted_pk` given
 * with a key ring is checked too (receipt.h asks for it only without one).
 *
 * Results: a document that does not have the receipt's shape (not an
 * object, a member missing, extra or of the wrong type, duplicate keys,
 * trailing bytes) is SENIM_ERR_INVALID; a receipt of the right shape whose
 * values do not verify is SENIM_ERR_CRYPTO.  The values' content (event,
 * version) is checked only after the signature, so any altered value is
 * reported as an altered value.
 */
#include "consent/receipt.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/clock.h"
#include "core/purposes.h"
#include "common/banned.h"

#define RECEIPT_VERSION "KI-CR-v1.1.0"
#define RECEIPT_ALG "Ed25519"
#define RECEIPT_ID_PREFIX "rcp_"
#define RECEIPT_ID_RANDOM 16
/* "rcp_" + 22 base64url characters + NUL */
#define RECEIPT_ID_LEN 27
/* A receipt is about 1.5 KB; anything far beyond that is not one. */
#define RECEIPT_MAX_TEXT (64 * 1024)
#define RECEIPT_PK_B64_LEN 45  /* base64 of 32 bytes + NUL */
#define RECEIPT_SIG_B64_LEN 89 /* base64 of 64 bytes + NUL */
#define RECEIPT_KEY_ID_BYTES 8

#define CONTROLLER_NAME "ТОО «Микрофинансовая организация «Бизнес займ»"
#define CONTROLLER_BIN "240640009707"
#define CONTROLLER_COUNTRY "KZ"
/* The phone the policy gives under "Обратная связь" (feedback). */
#define CONTROLLER_CONTACT "+7 705 957 77 70"

#define CANONICAL_FLAGS (JSON_SORT_KEYS | JSON_COMPACT)

/* ---- shape ------------------------------------------------------------------- */

enum member_type {
	M_STRING,
	M_BOOL,
	M_STRINGS, /* array of strings */
	M_OBJECT,  /* checked by its own table */
};

struct member {
	const char *name;
	enum member_type type;
	const struct member *members; /* M_OBJECT: NULL-name-terminated */
};

static const struct member controller_members[] = {
	{ "name", M_STRING, NULL },    { "bin", M_STRING, NULL },
	{ "country", M_STRING, NULL }, { "contact", M_STRING, NULL },
	{ NULL, M_STRING, NULL },
};

static const struct member policy_members[] = {
	{ "version", M_STRING, NULL },
	{ "sha256_ru", M_STRING, NULL },
	{ "sha256_kk", M_STRING, NULL },
	{ NULL, M_STRING, NULL },
};

static const struct member signature_members[] = {
	{ "alg", M_STRING, NULL },	  { "key_id", M_STRING, NULL },
	{ "public_key", M_STRING, NULL }, { "value", M_STRING, NULL },
	{ NULL, M_STRING, NULL },
};

/* Every member of a receipt: exactly these, no others (receipt.h). */
static const struct member receipt_members[] = {
	{ "version", M_STRING, NULL },
	{ "receipt_id", M_STRING, NULL },
	{ "event", M_STRING, NULL },
	{ "consent_id", M_STRING, NULL },
	{ "consent_type", M_STRING, NULL },
	{ "timestamp", M_STRING, NULL },
	{ "jurisdiction", M_STRING, NULL },
	{ "language", M_STRING, NULL },
	{ "collection_method", M_STRING, NULL },
	{ "pii_principal_id", M_STRING, NULL },
	{ "pii_controller", M_OBJECT, controller_members },
	{ "policy", M_OBJECT, policy_members },
	{ "purposes", M_STRINGS, NULL },
	{ "pii_categories", M_STRINGS, NULL },
	{ "sensitive", M_BOOL, NULL },
	{ "recipients", M_STRINGS, NULL },
	{ "third_party_disclosure", M_BOOL, NULL },
	{ "signature", M_OBJECT, signature_members },
	{ NULL, M_STRING, NULL },
};

/* A string without NUL bytes (jansson may hold one built with json_stringn). */
static int plain_string(const json_t *v)
{
	return json_is_string(v) && strlen(json_string_value(v)) == json_string_length(v);
}

/*
 * 1 when obj has exactly the members of the table, each of its type
 * (recursively); 0 otherwise.  Counting the table's members and finding
 * each one rules out extra members without walking the object's keys.
 */
static int has_shape(const json_t *obj, const struct member *table)
{
	if (!json_is_object(obj))
		return 0;
	size_t n = 0;
	for (const struct member *m = table; m->name; m++, n++) {
		const json_t *v = json_object_get(obj, m->name);
		switch (m->type) {
		case M_STRING:
			if (!plain_string(v))
				return 0;
			break;
		case M_BOOL:
			if (!json_is_boolean(v))
				return 0;
			break;
		case M_STRINGS: {
			if (!json_is_array(v))
				return 0;
			for (size_t i = 0; i < json_array_size(v); i++)
				if (!plain_string(json_array_get(v, i)))
					return 0;
			break;
		}
		case M_OBJECT:
			if (!has_shape(v, m->members))
				return 0;
			break;
		}
	}
	return json_object_size(obj) == n;
}

/* ---- canonical form -------------------------------------------------------- */

/*
 * The signed bytes: the receipt without "signature", keys sorted, compact,
 * UTF-8 as it is.  *text is malloc'ed by jansson (caller frees).
 */
static enum senim_result canonical(const json_t *receipt, char **text)
{
	*text = NULL;
	/* A shallow copy shares the members; dropping "signature" from it
	 * leaves the receipt itself untouched. */
	json_t *copy = json_copy((json_t *)receipt);
	if (!copy)
		return SENIM_ERR_NOMEM;
	json_object_del(copy, "signature");
	*text = json_dumps(copy, CANONICAL_FLAGS);
	json_decref(copy);
	return *text ? SENIM_OK : SENIM_ERR_NOMEM;
}

/* ---- building ---------------------------------------------------------------- */

/* Set key to a new string; 0 or -1 (out of memory, or not UTF-8). */
static int set_str(json_t *obj, const char *key, const char *value)
{
	return json_object_set_new(obj, key, json_string(value));
}

static int nonempty(const char *s)
{
	return s && *s;
}

/* An IIN is 12 digits; a subject id never is one (receipt.h: never an IIN). */
static int looks_like_iin(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++)
		if (s[n] < '0' || s[n] > '9')
			return 0;
	return n == 12;
}

static int valid_input(const struct receipt_in *in)
{
	if (!in || !consent_def(in->kind))
		return 0;
	if (!nonempty(in->event) ||
	    (strcmp(in->event, "grant") != 0 && strcmp(in->event, "withdraw") != 0))
		return 0;
	if (!nonempty(in->consent_id) || !nonempty(in->language) ||
	    !nonempty(in->channel) || !nonempty(in->subject_id) ||
	    !nonempty(in->policy_version) || !in->policy_sha256_ru ||
	    !in->policy_sha256_kk)
		return 0;
	return in->at_us >= 0 && !looks_like_iin(in->subject_id);
}

/* "rcp_" + 16 random bytes in base64url without padding. */
static void new_receipt_id(char out[RECEIPT_ID_LEN])
{
	unsigned char raw[RECEIPT_ID_RANDOM];
	randombytes_buf(raw, sizeof(raw));
	memcpy(out, RECEIPT_ID_PREFIX, sizeof(RECEIPT_ID_PREFIX) - 1);
	sodium_bin2base64(out + sizeof(RECEIPT_ID_PREFIX) - 1,
			  RECEIPT_ID_LEN - (sizeof(RECEIPT_ID_PREFIX) - 1), raw,
			  sizeof(raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* The codes of the bits set in mask, in enum order, as a JSON array. */
static json_t *purpose_list(uint32_t mask)
{
	json_t *a = json_array();
	for (int p = 0; a && p < PURPOSE__COUNT; p++)
		if ((mask & PURPOSE_BIT(p)) &&
		    json_array_append_new(a,
					  json_string(purpose_code((enum purpose)p)))) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static json_t *category_list(uint32_t mask, int *sensitive)
{
	json_t *a = json_array();
	*sensitive = 0;
	for (int c = 0; a && c < CATEGORY__COUNT; c++) {
		if (!(mask & CATEGORY_BIT(c)))
			continue;
		/* D7: the special categories make the whole receipt sensitive. */
		if (category_is_special((enum category)c))
			*sensitive = 1;
		if (json_array_append_new(a,
					  json_string(category_code((enum category)c)))) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* Recipients as listed by the consent; *third_party when any besides the
 * MFO, which consents.c always lists first. */
static json_t *recipient_list(const char *const *recipients, int *third_party)
{
	json_t *a = json_array();
	size_t n = 0;
	for (; a && recipients && recipients[n]; n++)
		if (json_array_append_new(a, json_string(recipients[n]))) {
			json_decref(a);
			return NULL;
		}
	*third_party = n > 1;
	return a;
}

static json_t *controller(void)
{
	json_t *c = json_object();
	if (c &&
	    (set_str(c, "name", CONTROLLER_NAME) || set_str(c, "bin", CONTROLLER_BIN) ||
	     set_str(c, "country", CONTROLLER_COUNTRY) ||
	     set_str(c, "contact", CONTROLLER_CONTACT))) {
		json_decref(c);
		return NULL;
	}
	return c;
}

/* The key id keyring.c gives a public key: hex of its first 8 bytes. */
static void key_id_of(const unsigned char pk[KEYRING_PK_BYTES],
		      char id[KEYRING_KEY_ID_LEN])
{
	sodium_bin2hex(id, KEYRING_KEY_ID_LEN, pk, RECEIPT_KEY_ID_BYTES);
}

/* The "signature" member for the bytes msg[0..len); NULL when out of memory. */
static json_t *sign_n(const struct keyring *kr, const char *msg, size_t len)
{
	unsigned char pk[KEYRING_PK_BYTES], sig[KEYRING_SIG_BYTES];
	char pk64[RECEIPT_PK_B64_LEN], sig64[RECEIPT_SIG_B64_LEN];
	keyring_public_key(kr, pk);
	keyring_sign(kr, msg, len, sig);
	sodium_bin2base64(pk64, sizeof(pk64), pk, sizeof(pk),
			  sodium_base64_VARIANT_ORIGINAL);
	sodium_bin2base64(sig64, sizeof(sig64), sig, sizeof(sig),
			  sodium_base64_VARIANT_ORIGINAL);
	json_t *s = json_object();
	if (s && (set_str(s, "alg", RECEIPT_ALG) ||
		  set_str(s, "key_id", keyring_signing_key_id(kr)) ||
		  set_str(s, "public_key", pk64) || set_str(s, "value", sig64))) {
		json_decref(s);
		return NULL;
	}
	return s;
}

/* The "signature" member for canonical text `msg`. */
static json_t *sign(const struct keyring *kr, const char *msg)
{
	return sign_n(kr, msg, strlen(msg));
}

/*
 * Build the receipt's members (receipt.h) and sign them.  SENIM_ERR_INVALID
 * for a missing or malformed input (a string that is not UTF-8, an unknown
 * kind or event, a subject id that is an IIN); SENIM_ERR_NOMEM.  *out is
 * set only on success; the caller decrefs it.
 */
enum senim_result receipt_make(const struct keyring *kr, const struct receipt_in *in,
			       json_t **out)
{
	if (!out)
		return SENIM_ERR_INVALID;
	*out = NULL;
	if (!kr || !valid_input(in))
		return SENIM_ERR_INVALID;
	const struct consent_def *def = consent_def(in->kind);
	char id[RECEIPT_ID_LEN], ts[CLOCK_RFC3339_LEN];
	new_receipt_id(id);
	clock_format_rfc3339(in->at_us, ts);

	int sensitive = 0, third_party = 0, err = SENIM_ERR_NOMEM;
	char *text = NULL;
	json_t *r = json_object(), *policy = json_object();
	if (!r || !policy)
		goto fail;
	/* A string member that fails here is not UTF-8 (json_string refuses
	 * it) or memory ran out; both are refused as input. */
	err = SENIM_ERR_INVALID;
	if (set_str(r, "version", RECEIPT_VERSION) || set_str(r, "receipt_id", id) ||
	    set_str(r, "event", in->event) || set_str(r, "consent_id", in->consent_id) ||
	    set_str(r, "consent_type", def->code) || set_str(r, "timestamp", ts) ||
	    set_str(r, "jurisdiction", def->jurisdiction) ||
	    set_str(r, "language", in->language) ||
	    set_str(r, "collection_method", in->channel) ||
	    set_str(r, "pii_principal_id", in->subject_id) ||
	    set_str(policy, "version", in->policy_version) ||
	    set_str(policy, "sha256_ru", in->policy_sha256_ru) ||
	    set_str(policy, "sha256_kk", in->policy_sha256_kk))
		goto fail;
	err = SENIM_ERR_NOMEM;
	/* json_object_set_new takes the reference even when it fails. */
	json_t *owned = policy;
	policy = NULL;
	if (json_object_set_new(r, "policy", owned) ||
	    json_object_set_new(r, "pii_controller", controller()) ||
	    json_object_set_new(r, "purposes", purpose_list(def->purposes)) ||
	    json_object_set_new(r, "pii_categories",
				category_list(def->categories, &sensitive)) ||
	    json_object_set_new(r, "sensitive", json_boolean(sensitive)) ||
	    json_object_set_new(r, "recipients",
				recipient_list(def->recipients, &third_party)) ||
	    json_object_set_new(r, "third_party_disclosure", json_boolean(third_party)))
		goto fail;
	err = canonical(r, &text);
	if (err)
		goto fail;
	err = SENIM_ERR_NOMEM;
	if (json_object_set_new(r, "signature", sign(kr, text)))
		goto fail;
	free(text);
	*out = r;
	return SENIM_OK;
fail:
	free(text);
	json_decref(policy);
	json_decref(r);
	return err;
}

/* ---- verifying --------------------------------------------------------------- */

/*
 * Decode the canonical base64 of exactly `len` bytes; 0 when s is that,
 * -1 when not (bad characters, other length, non-zero padding bits, or any
 * other spelling than the one sodium_bin2base64 writes).
 */
static int decode_exact(const char *s, unsigned char *bin, size_t len, char *again,
			size_t again_len)
{
	size_t n = strlen(s), got = 0;
	const char *end = NULL;
	if (n + 1 != again_len)
		return -1;
	if (sodium_base642bin(bin, len, s, n, NULL, &got, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    got != len || end != s + n)
		return -1;
	sodium_bin2base64(again, again_len, bin, len, sodium_base64_VARIANT_ORIGINAL);
	return strcmp(again, s) == 0 ? 0 : -1;
}

/* Check the "signature" member against msg[0..len) (see the top). */
static enum senim_result check_signature_n(const struct keyring *kr,
					   const unsigned char *trusted_pk,
					   const json_t *sigobj, const char *msg,
					   size_t len)
{
	const char *alg = json_string_value(json_object_get(sigobj, "alg"));
	const char *key_id = json_string_value(json_object_get(sigobj, "key_id"));
	const char *pk64 = json_string_value(json_object_get(sigobj, "public_key"));
	const char *sig64 = json_string_value(json_object_get(sigobj, "value"));
	unsigned char pk[KEYRING_PK_BYTES], sig[KEYRING_SIG_BYTES];
	char pk_again[RECEIPT_PK_B64_LEN], sig_again[RECEIPT_SIG_B64_LEN];
	char want_id[KEYRING_KEY_ID_LEN];

	if (strcmp(alg, RECEIPT_ALG) != 0)
		return SENIM_ERR_CRYPTO;
	if (decode_exact(pk64, pk, sizeof(pk), pk_again, sizeof(pk_again)) ||
	    decode_exact(sig64, sig, sizeof(sig), sig_again, sizeof(sig_again)))
		return SENIM_ERR_CRYPTO;
	key_id_of(pk, want_id);
	if (strcmp(key_id, want_id) != 0)
		return SENIM_ERR_CRYPTO;
	if (crypto_sign_verify_detached(sig, (const unsigned char *)msg, len, pk) != 0)
		return SENIM_ERR_CRYPTO;
	if (kr && keyring_verify(kr, key_id, msg, len, sig) != SENIM_OK)
		return SENIM_ERR_CRYPTO;
	if (trusted_pk && sodium_memcmp(trusted_pk, pk, KEYRING_PK_BYTES) != 0)
		return SENIM_ERR_CRYPTO;
	return SENIM_OK;
}

static enum senim_result check_signature(const struct keyring *kr,
					 const unsigned char *trusted_pk,
					 const json_t *sigobj, const char *msg)
{
	return check_signature_n(kr, trusted_pk, sigobj, msg, strlen(msg));
}

/*
 * Shape (SENIM_ERR_INVALID), then signature (SENIM_ERR_CRYPTO), then the
 * signed content: a validly signed document that is not a receipt of this
 * version is SENIM_ERR_INVALID.  SENIM_ERR_NOMEM when memory runs out.
 */
enum senim_result receipt_verify(const struct keyring *kr,
				 const unsigned char *trusted_pk, json_t *receipt)
{
	if (!receipt || !has_shape(receipt, receipt_members))
		return SENIM_ERR_INVALID;
	if (sodium_init() < 0)
		return SENIM_ERR_CRYPTO;
	char *text = NULL;
	enum senim_result err = canonical(receipt, &text);
	if (err)
		return err;
	err = check_signature(kr, trusted_pk, json_object_get(receipt, "signature"),
			      text);
	free(text);
	if (err)
		return err;
	const char *version = json_string_value(json_object_get(receipt, "version"));
	const char *event = json_string_value(json_object_get(receipt, "event"));
	if (strcmp(version, RECEIPT_VERSION) != 0 ||
	    (strcmp(event, "grant") != 0 && strcmp(event, "withdraw") != 0))
		return SENIM_ERR_INVALID;
	return SENIM_OK;
}

/*
 * Parse strictly (duplicate keys, NUL in strings and trailing bytes are
 * refused; text beyond RECEIPT_MAX_TEXT is not a receipt) and verify.
 */
enum senim_result receipt_verify_text(const struct keyring *kr,
				      const unsigned char *trusted_pk, const char *text,
				      size_t len)
{
	if (!text || len > RECEIPT_MAX_TEXT)
		return SENIM_ERR_INVALID;
	json_error_t jerr;
	json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc)
		return SENIM_ERR_INVALID;
	enum senim_result err = receipt_verify(kr, trusted_pk, doc);
	json_decref(doc);
	return err;
}

/* ---- other documents --------------------------------------------------------- */

enum senim_result receipt_sign_document(const struct keyring *kr, json_t *doc)
{
	if (!kr || !json_is_object(doc))
		return SENIM_ERR_INVALID;
	char *text = NULL;
	enum senim_result err = canonical(doc, &text);
	if (err)
		return err;
	err = json_object_set_new(doc, "signature", sign(kr, text)) ? SENIM_ERR_NOMEM
								    : SENIM_OK;
	free(text);
	return err;
}

enum senim_result receipt_verify_document(const struct keyring *kr,
					  const unsigned char *trusted_pk, json_t *doc)
{
	if (!json_is_object(doc) ||
	    !has_shape(json_object_get(doc, "signature"), signature_members))
		return SENIM_ERR_INVALID;
	if (sodium_init() < 0)
		return SENIM_ERR_CRYPTO;
	char *text = NULL;
	enum senim_result err = canonical(doc, &text);
	if (err)
		return err;
	err = check_signature(kr, trusted_pk, json_object_get(doc, "signature"), text);
	free(text);
	return err;
}

enum senim_result receipt_sign_bytes(const struct keyring *kr, const char *msg,
				     size_t len, json_t **out)
{
	if (!out)
		return SENIM_ERR_INVALID;
	*out = NULL;
	if (!kr || (!msg && len))
		return SENIM_ERR_INVALID;
	*out = sign_n(kr, msg ? msg : "", len);
	return *out ? SENIM_OK : SENIM_ERR_NOMEM;
}

enum senim_result receipt_verify_bytes(const struct keyring *kr,
				       const unsigned char *trusted_pk,
				       const json_t *sigobj, const char *msg, size_t len)
{
	if (!has_shape(sigobj, signature_members) || (!msg && len))
		return SENIM_ERR_INVALID;
	if (sodium_init() < 0)
		return SENIM_ERR_CRYPTO;
	return check_signature_n(kr, trusted_pk, sigobj, msg ? msg : "", len);
}
