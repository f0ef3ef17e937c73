/*
 * test_receipt.c — consent receipts: what they say (every consent kind),
 * that they verify with the key ring and offline, and that no altered byte,
 * foreign key or malformed document passes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/clock.h"
#include "consent/receipt.h"
#include "core/consents.h"
#include "core/purposes.h"
#include "vault/keyring.h"
#include "testutil.h"
#include "common/banned.h"

#define SUBJECT "sbj_Qm9yb3dlcjAwMDAwMDAx"
#define AT_US INT64_C(1764089148123456)
#define SHA_RU "8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4"
#define SHA_KK "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"

/* ---- fixtures ------------------------------------------------------------------ */

struct fx {
	char dir[512];
	char path[600];	 /* our key ring */
	char path2[600]; /* another service's */
	struct keyring *kr, *kr2;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	if (testutil_tmpdir("receipt", f->dir, sizeof(f->dir)) != 0) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/keys/senim.keys", f->dir);
	snprintf(f->path2, sizeof(f->path2), "%s/other/senim.keys", f->dir);
	if (keyring_open(f->path, 1, &f->kr) || keyring_open(f->path2, 1, &f->kr2)) {
		keyring_free(f->kr);
		testutil_rm_rf(f->dir);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	keyring_free(f->kr);
	keyring_free(f->kr2);
	testutil_rm_rf(f->dir);
	free(f);
	return 0;
}

static struct receipt_in input(enum consent_kind kind, const char *event)
{
	struct receipt_in in = {
		.event = event,
		.consent_id = "cns_AAECAwQFBgcICQoLDA0ODw",
		.kind = kind,
		.at_us = AT_US,
		.language = "ru",
		.channel = "android",
		.subject_id = SUBJECT,
		.policy_version = "2025-01",
		.policy_sha256_ru = SHA_RU,
		.policy_sha256_kk = SHA_KK,
	};
	return in;
}

static json_t *make(const struct keyring *kr, enum consent_kind kind, const char *event)
{
	struct receipt_in in = input(kind, event);
	json_t *r = NULL;
	assert_int_equal(receipt_make(kr, &in, &r), SENIM_OK);
	assert_non_null(r);
	return r;
}

static const char *str(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	assert_non_null(s);
	return s;
}

/* The object's keys, sorted and comma-joined, into out. */
static void keys_of(const json_t *obj, char *out, size_t cap)
{
	const char *keys[64], *key;
	json_t *v;
	size_t nk = 0, n = 0;
	assert_true(json_is_object(obj));
	json_object_foreach((json_t *)obj, key, v)
	{
		assert_true(nk < 64);
		keys[nk++] = key;
	}
	for (size_t i = 1; i < nk; i++)
		for (size_t j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
			const char *t = keys[j];
			keys[j] = keys[j - 1];
			keys[j - 1] = t;
		}
	out[0] = '\0';
	for (size_t i = 0; i < nk; i++) {
		n += (size_t)snprintf(out + n, cap - n, "%s%s", i ? "," : "", keys[i]);
		assert_true(n < cap);
	}
}

/* ---- making and verifying ------------------------------------------------------ */

static void test_make_and_verify(void **state)
{
	struct fx *f = *state;
	json_t *r = make(f->kr, CONSENT_CREDIT_BUREAU_GKB, "grant");
	unsigned char pk[KEYRING_PK_BYTES];
	keyring_public_key(f->kr, pk);

	assert_int_equal(receipt_verify(f->kr, NULL, r), SENIM_OK);
	assert_int_equal(receipt_verify(NULL, NULL, r), SENIM_OK);
	assert_int_equal(receipt_verify(NULL, pk, r), SENIM_OK);
	char *text = json_dumps(r, JSON_INDENT(2));
	assert_int_equal(receipt_verify_text(f->kr, NULL, text, strlen(text)), SENIM_OK);
	assert_int_equal(receipt_verify_text(NULL, pk, text, strlen(text)), SENIM_OK);
	free(text);

	assert_string_equal(str(r, "version"), "KI-CR-v1.1.0");
	assert_string_equal(str(r, "event"), "grant");
	assert_string_equal(str(r, "consent_id"), "cns_AAECAwQFBgcICQoLDA0ODw");
	assert_string_equal(str(r, "consent_type"), "credit_bureau_gkb");
	assert_string_equal(str(r, "language"), "ru");
	assert_string_equal(str(r, "collection_method"), "android");
	assert_string_equal(str(r, "pii_principal_id"), SUBJECT);
	char ts[CLOCK_RFC3339_LEN];
	clock_format_rfc3339(AT_US, ts);
	assert_string_equal(str(r, "timestamp"), ts);
	assert_string_equal(ts, "2025-11-25T16:45:48.123456Z");

	const json_t *c = json_object_get(r, "pii_controller");
	assert_string_equal(str(c, "name"),
			    "ТОО «Микрофинансовая организация «Бизнес займ»");
	assert_string_equal(str(c, "bin"), "240640009707");
	assert_string_equal(str(c, "country"), "KZ");
	assert_true(strlen(str(c, "contact")) > 0);
	const json_t *p = json_object_get(r, "policy");
	assert_string_equal(str(p, "version"), "2025-01");
	assert_string_equal(str(p, "sha256_ru"), SHA_RU);
	assert_string_equal(str(p, "sha256_kk"), SHA_KK);

	const json_t *s = json_object_get(r, "signature");
	char pk64[64];
	sodium_bin2base64(pk64, sizeof(pk64), pk, sizeof(pk),
			  sodium_base64_VARIANT_ORIGINAL);
	assert_string_equal(str(s, "alg"), "Ed25519");
	assert_string_equal(str(s, "key_id"), keyring_signing_key_id(f->kr));
	assert_string_equal(str(s, "public_key"), pk64);

	/* "rcp_" + 16 random bytes in base64url: 22 characters, fresh each time. */
	const char *id = str(r, "receipt_id");
	assert_int_equal(strlen(id), 26);
	assert_memory_equal(id, "rcp_", 4);
	for (const char *q = id + 4; *q; q++)
		assert_non_null(
			strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			       "0123456789-_",
			       *q));
	json_t *r2 = make(f->kr, CONSENT_CREDIT_BUREAU_GKB, "grant");
	assert_string_not_equal(str(r2, "receipt_id"), id);
	json_decref(r2);
	json_decref(r);
}

/* What an outside checker does from the header alone: drop "signature",
 * dump with sorted keys, compact; verify with the embedded key. */
static void test_canonical_form_is_what_is_signed(void **state)
{
	struct fx *f = *state;
	json_t *r = make(f->kr, CONSENT_STATE_DATABASE, "grant");
	json_t *copy = json_deep_copy(r);
	json_object_del(copy, "signature");
	char *msg = json_dumps(copy, JSON_SORT_KEYS | JSON_COMPACT);
	const json_t *s = json_object_get(r, "signature");
	unsigned char pk[32], sig[64];
	size_t got = 0;
	assert_int_equal(sodium_base642bin(pk, sizeof(pk), str(s, "public_key"),
					   strlen(str(s, "public_key")), NULL, &got, NULL,
					   sodium_base64_VARIANT_ORIGINAL),
			 0);
	assert_int_equal(got, 32);
	assert_int_equal(sodium_base642bin(sig, sizeof(sig), str(s, "value"),
					   strlen(str(s, "value")), NULL, &got, NULL,
					   sodium_base64_VARIANT_ORIGINAL),
			 0);
	assert_int_equal(got, 64);
	assert_int_equal(crypto_sign_verify_detached(sig, (const unsigned char *)msg,
						     strlen(msg), pk),
			 0);
	/* UTF-8 as it is, not \u escapes. */
	assert_non_null(strstr(msg, "«Бизнес займ»"));
	free(msg);
	json_decref(copy);
	json_decref(r);
}

/* The documented members and nothing else; the principal is the subject id. */
static void test_exact_members(void **state)
{
	struct fx *f = *state;
	json_t *r = make(f->kr, CONSENT_MOBILE_OPERATOR, "grant");
	char keys[1024];
	keys_of(r, keys, sizeof(keys));
	assert_string_equal(keys,
			    "collection_method,consent_id,consent_type,event,"
			    "jurisdiction,language,pii_categories,pii_controller,"
			    "pii_principal_id,policy,purposes,receipt_id,recipients,"
			    "sensitive,signature,third_party_disclosure,timestamp,"
			    "version");
	keys_of(json_object_get(r, "pii_controller"), keys, sizeof(keys));
	assert_string_equal(keys, "bin,contact,country,name");
	keys_of(json_object_get(r, "policy"), keys, sizeof(keys));
	assert_string_equal(keys, "sha256_kk,sha256_ru,version");
	keys_of(json_object_get(r, "signature"), keys, sizeof(keys));
	assert_string_equal(keys, "alg,key_id,public_key,value");
	assert_string_equal(str(r, "pii_principal_id"), SUBJECT);
	json_decref(r);

	/* An IIN is never a principal id. */
	struct receipt_in in = input(CONSENT_POLICY, "grant");
	in.subject_id = "900101300123";
	r = NULL;
	assert_int_equal(receipt_make(f->kr, &in, &r), SENIM_ERR_INVALID);
	assert_null(r);
}

static int array_has_exactly(const json_t *a, const char *const *want, size_t n)
{
	if (json_array_size(a) != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (strcmp(json_string_value(json_array_get(a, i)), want[i]) != 0)
			return 0;
	return 1;
}

static void test_every_kind_matches_its_definition(void **state)
{
	struct fx *f = *state;
	for (int k = 0; k < CONSENT__COUNT; k++) {
		const struct consent_def *def = consent_def((enum consent_kind)k);
		json_t *r = make(f->kr, (enum consent_kind)k, "grant");
		assert_int_equal(receipt_verify(f->kr, NULL, r), SENIM_OK);
		assert_string_equal(str(r, "consent_type"), def->code);
		assert_string_equal(str(r, "jurisdiction"), def->jurisdiction);

		const char *want[32];
		size_t n = 0;
		for (int p = 0; p < PURPOSE__COUNT; p++)
			if (def->purposes & PURPOSE_BIT(p))
				want[n++] = purpose_code((enum purpose)p);
		assert_true(n > 0);
		assert_true(array_has_exactly(json_object_get(r, "purposes"), want, n));

		int special = 0;
		n = 0;
		for (int c = 0; c < CATEGORY__COUNT; c++)
			if (def->categories & CATEGORY_BIT(c)) {
				want[n++] = category_code((enum category)c);
				special |= category_is_special((enum category)c);
			}
		assert_true(n > 0);
		assert_true(
			array_has_exactly(json_object_get(r, "pii_categories"), want, n));
		assert_int_equal(json_is_true(json_object_get(r, "sensitive")), special);

		n = 0;
		while (def->recipients[n])
			n++;
		assert_true(array_has_exactly(json_object_get(r, "recipients"),
					      (const char *const *)def->recipients, n));
		assert_int_equal(
			json_is_true(json_object_get(r, "third_party_disclosure")),
			n > 1);
		json_decref(r);
	}
	/* Spot checks against the policy, not only against consents.c. */
	json_t *r = make(f->kr, CONSENT_STATE_DATABASE, "grant");
	assert_true(json_is_true(json_object_get(r, "sensitive"))); /* medical, D7 */
	assert_true(json_is_true(json_object_get(r, "third_party_disclosure")));
	json_decref(r);
	r = make(f->kr, CONSENT_MARKETING_SMS, "grant");
	assert_true(json_is_false(json_object_get(r, "sensitive")));
	assert_true(json_is_false(json_object_get(r, "third_party_disclosure")));
	json_decref(r);
	r = make(f->kr, CONSENT_CROSS_BORDER, "grant");
	assert_string_equal(str(r, "jurisdiction"), "cross-border");
	json_decref(r);
}

static void test_withdraw_receipt(void **state)
{
	struct fx *f = *state;
	for (int k = 0; k < CONSENT__COUNT; k++) {
		json_t *r = make(f->kr, (enum consent_kind)k, "withdraw");
		assert_string_equal(str(r, "event"), "withdraw");
		assert_int_equal(receipt_verify(f->kr, NULL, r), SENIM_OK);
		json_decref(r);
	}
}

/* ---- tampering ----------------------------------------------------------------- */

/* Not OK with the key ring, nor offline; returns the key ring's result. */
static int check_bad(const struct fx *f, const char *text, size_t len)
{
	unsigned char pk[KEYRING_PK_BYTES];
	keyring_public_key(f->kr, pk);
	int a = receipt_verify_text(f->kr, NULL, text, len);
	int b = receipt_verify_text(NULL, pk, text, len);
	int c = receipt_verify_text(NULL, NULL, text, len);
	assert_true(a == SENIM_ERR_CRYPTO || a == SENIM_ERR_INVALID);
	assert_true(b == SENIM_ERR_CRYPTO || b == SENIM_ERR_INVALID);
	assert_true(c == SENIM_ERR_CRYPTO || c == SENIM_ERR_INVALID);
	return a;
}

/* Every byte of the serialized receipt, flipped in two ways: never valid. */
static void test_any_flipped_byte_fails(void **state)
{
	struct fx *f = *state;
	json_t *r = make(f->kr, CONSENT_STATE_DATABASE, "grant");
	char *text = json_dumps(r, JSON_COMPACT);
	size_t len = strlen(text);
	char *copy = malloc(len + 1);
	assert_int_equal(receipt_verify_text(f->kr, NULL, text, len), SENIM_OK);
	static const unsigned char masks[] = { 0x01, 0x20, 0x80 };
	for (size_t i = 0; i < len; i++)
		for (size_t m = 0; m < sizeof(masks); m++) {
			memcpy(copy, text, len + 1);
			copy[i] = (char)(copy[i] ^ masks[m]);
			(void)check_bad(f, copy, len);
		}
	free(copy);
	free(text);
	json_decref(r);
}

/*
 * Where a value's bytes are changed and the result is still a receipt, the
 * answer is SENIM_ERR_CRYPTO: "key" names a member whose value is a string
 * (or, for arrays, all strings in it).  0x01 keeps these characters
 * printable and never makes a quote or a backslash.
 */
static void flip_inside(const struct fx *f, const char *text, const char *key)
{
	char needle[64];
	snprintf(needle, sizeof(needle), "\"%s\":", key);
	const char *at = strstr(text, needle);
	assert_non_null(at);
	const char *v = at + strlen(needle);
	char close = *v == '[' ? ']' : '"';
	const char *end = strchr(v + 1, close);
	assert_non_null(end);
	size_t len = strlen(text), flipped = 0;
	char *copy = malloc(len + 1);
	for (const char *q = v + 1; q < end; q++) {
		if (*q == '"' || *q == ',')
			continue;
		memcpy(copy, text, len + 1);
		copy[q - text] = (char)(copy[q - text] ^ 0x01);
		assert_int_equal(check_bad(f, copy, len), SENIM_ERR_CRYPTO);
		unsigned char pk[KEYRING_PK_BYTES];
		keyring_public_key(f->kr, pk);
		assert_int_equal(receipt_verify_text(NULL, pk, copy, len),
				 SENIM_ERR_CRYPTO);
		flipped++;
	}
	assert_true(flipped > 0);
	free(copy);
}

static void test_altered_values_fail_as_crypto(void **state)
{
	struct fx *f = *state;
	json_t *r = make(f->kr, CONSENT_CREDIT_BUREAU_PKB, "grant");
	char *text = json_dumps(r, JSON_COMPACT);
	static const char *const keys[] = {
		"purposes",   "pii_categories", "recipients", "pii_principal_id",
		"timestamp",  "receipt_id",	"consent_id", "consent_type",
		"event",      "jurisdiction",	"language",   "collection_method",
		"version",    "sha256_ru",	"sha256_kk",  "name",
		"bin",	      "contact",	"alg",	      "key_id",
		"public_key", "value",
	};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		flip_inside(f, text, keys[i]);
	free(text);
	json_decref(r);
}

static void test_other_key_ring(void **state)
{
	struct fx *f = *state;
	json_t *r = make(f->kr2, CONSENT_CREDIT_BUREAU_GKB, "grant");
	unsigned char ours[KEYRING_PK_BYTES], theirs[KEYRING_PK_BYTES];
	keyring_public_key(f->kr, ours);
	keyring_public_key(f->kr2, theirs);
	assert_int_equal(receipt_verify(f->kr, NULL, r), SENIM_ERR_CRYPTO);
	assert_int_equal(receipt_verify(NULL, ours, r), SENIM_ERR_CRYPTO);
	assert_int_equal(receipt_verify(f->kr2, NULL, r), SENIM_OK);
	assert_int_equal(receipt_verify(NULL, theirs, r), SENIM_OK);

	/* Their key, relabelled with our key's id and public key: still fails. */
	char pk64[64];
	sodium_bin2base64(pk64, sizeof(pk64), ours, sizeof(ours),
			  sodium_base64_VARIANT_ORIGINAL);
	json_t *s = json_object_get(r, "signature");
	json_object_set_new(s, "key_id", json_string(keyring_signing_key_id(f->kr)));
	json_object_set_new(s, "public_key", json_string(pk64));
	assert_int_equal(receipt_verify(f->kr, NULL, r), SENIM_ERR_CRYPTO);
	assert_int_equal(receipt_verify(NULL, ours, r), SENIM_ERR_CRYPTO);
	assert_int_equal(receipt_verify(NULL, NULL, r), SENIM_ERR_CRYPTO);
	json_decref(r);

	/* Our receipt carrying their public key (and id): the ring refuses. */
	r = make(f->kr, CONSENT_CREDIT_BUREAU_GKB, "grant");
	sodium_bin2base64(pk64, sizeof(pk64), theirs, sizeof(theirs),
			  sodium_base64_VARIANT_ORIGINAL);
	s = json_object_get(r, "signature");
	json_object_set_new(s, "public_key", json_string(pk64));
	assert_int_equal(receipt_verify(f->kr, NULL, r), SENIM_ERR_CRYPTO);
	json_object_set_new(s, "key_id", json_string(keyring_signing_key_id(f->kr2)));
	assert_int_equal(receipt_verify(f->kr, NULL, r), SENIM_ERR_CRYPTO);
	assert_int_equal(receipt_verify(NULL, NULL, r), SENIM_ERR_CRYPTO);
	json_decref(r);
}

static void test_trusted_key_mismatch(void **state)
{
	struct fx *f = *state;
	json_t *r = make(f->kr, CONSENT_MARKETING_EMAIL, "grant");
	unsigned char pk[KEYRING_PK_BYTES];
	keyring_public_key(f->kr, pk);
	pk[31] ^= 1;
	assert_int_equal(receipt_verify(NULL, pk, r), SENIM_ERR_CRYPTO);
	randombytes_buf(pk, sizeof(pk));
	assert_int_equal(receipt_verify(NULL, pk, r), SENIM_ERR_CRYPTO);
	json_decref(r);
}

/* A second spelling of the same key or signature bytes (non-zero padding
 * bits in the last base64 character) is not accepted either. */
static void test_base64_second_spelling(void **state)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	static const char *const members[] = { "public_key", "value" };
	struct fx *f = *state;
	for (size_t m = 0; m < 2; m++) {
		json_t *r = make(f->kr, CONSENT_CREDIT_BUREAU_GKB, "grant");
		json_t *s = json_object_get(r, "signature");
		char text[128];
		snprintf(text, sizeof(text), "%s", str(s, members[m]));
		/* 32 bytes: "...X=" (2 spare bits); 64 bytes: "...X==" (4). */
		size_t last = strcspn(text, "=") - 1;
		size_t idx = (size_t)(strchr(b64, text[last]) - b64);
		text[last] = b64[idx | 1];
		json_object_set_new(s, members[m], json_string(text));
		assert_int_equal(receipt_verify(f->kr, NULL, r), SENIM_ERR_CRYPTO);
		assert_int_equal(receipt_verify(NULL, NULL, r), SENIM_ERR_CRYPTO);
		json_decref(r);
	}
}

/* ---- not a receipt --------------------------------------------------------------- */

static void expect_invalid(const struct fx *f, json_t *doc)
{
	assert_int_equal(receipt_verify(f->kr, NULL, doc), SENIM_ERR_INVALID);
	assert_int_equal(receipt_verify(NULL, NULL, doc), SENIM_ERR_INVALID);
	json_decref(doc);
}

static void test_shape_errors(void **state)
{
	struct fx *f = *state;
	static const char *const members[] = {
		"version",
		"receipt_id",
		"event",
		"consent_id",
		"consent_type",
		"timestamp",
		"jurisdiction",
		"language",
		"collection_method",
		"pii_principal_id",
		"pii_controller",
		"policy",
		"purposes",
		"pii_categories",
		"sensitive",
		"recipients",
		"third_party_disclosure",
		"signature",
	};
	json_t *r = make(f->kr, CONSENT_CREDIT_BUREAU_GKB, "grant");
	for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++) {
		json_t *d = json_deep_copy(r);
		json_object_del(d, members[i]);
		expect_invalid(f, d);
		/* the wrong type: a number in place of each member */
		d = json_deep_copy(r);
		json_object_set_new(d, members[i], json_integer(1));
		expect_invalid(f, d);
	}
	json_t *d = json_deep_copy(r);
	json_object_set_new(d, "iin", json_string("900101300123"));
	expect_invalid(f, d);
	d = json_deep_copy(r);
	json_object_set_new(json_object_get(d, "policy"), "extra", json_string("x"));
	expect_invalid(f, d);
	d = json_deep_copy(r);
	json_object_set_new(json_object_get(d, "signature"), "extra", json_string("x"));
	expect_invalid(f, d);
	d = json_deep_copy(r);
	json_object_del(json_object_get(d, "pii_controller"), "bin");
	expect_invalid(f, d);
	d = json_deep_copy(r);
	json_array_append_new(json_object_get(d, "purposes"), json_integer(3));
	expect_invalid(f, d);
	d = json_deep_copy(r);
	json_object_set_new(d, "sensitive", json_string("false"));
	expect_invalid(f, d);
	d = json_deep_copy(r);
	json_object_set_new(d, "pii_principal_id", json_stringn("sbj_\0x", 6));
	expect_invalid(f, d);
	expect_invalid(f, json_array());
	expect_invalid(f, json_string("receipt"));
	assert_int_equal(receipt_verify(f->kr, NULL, NULL), SENIM_ERR_INVALID);

	/* Text: duplicates, trailing bytes, truncation, empty. */
	char *text = json_dumps(r, JSON_COMPACT);
	size_t len = strlen(text);
	assert_int_equal(receipt_verify_text(f->kr, NULL, text, len), SENIM_OK);
	assert_int_equal(receipt_verify_text(f->kr, NULL, text, len - 1),
			 SENIM_ERR_INVALID);
	assert_int_equal(receipt_verify_text(f->kr, NULL, "", 0), SENIM_ERR_INVALID);
	char *more = malloc(len + 64);
	snprintf(more, len + 64, "%s {}", text);
	assert_int_equal(receipt_verify_text(f->kr, NULL, more, strlen(more)),
			 SENIM_ERR_INVALID);
	/* a second "event" ahead of the signed one */
	snprintf(more, len + 64, "{\"event\":\"withdraw\",%s", text + 1);
	assert_int_equal(receipt_verify_text(f->kr, NULL, more, strlen(more)),
			 SENIM_ERR_INVALID);
	free(more);
	free(text);
	json_decref(r);
}

static void test_make_refuses_bad_input(void **state)
{
	struct fx *f = *state;
	json_t *r = (json_t *)1;
	struct receipt_in in = input(CONSENT_POLICY, "grant");
	assert_int_equal(receipt_make(f->kr, NULL, &r), SENIM_ERR_INVALID);
	assert_null(r);
	assert_int_equal(receipt_make(NULL, &in, &r), SENIM_ERR_INVALID);

	struct receipt_in bad[8];
	for (size_t i = 0; i < 8; i++)
		bad[i] = input(CONSENT_POLICY, "grant");
	bad[0].event = "granted";
	bad[1].kind = CONSENT__COUNT;
	bad[2].subject_id = NULL;
	bad[3].subject_id = "";
	bad[4].policy_sha256_kk = NULL;
	bad[5].channel = "\xff\xfe";
	bad[6].consent_id = NULL;
	bad[7].at_us = -1;
	for (size_t i = 0; i < 8; i++) {
		r = NULL;
		assert_int_equal(receipt_make(f->kr, &bad[i], &r), SENIM_ERR_INVALID);
		assert_null(r);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_make_and_verify),
		cmocka_unit_test(test_canonical_form_is_what_is_signed),
		cmocka_unit_test(test_exact_members),
		cmocka_unit_test(test_every_kind_matches_its_definition),
		cmocka_unit_test(test_withdraw_receipt),
		cmocka_unit_test(test_any_flipped_byte_fails),
		cmocka_unit_test(test_altered_values_fail_as_crypto),
		cmocka_unit_test(test_other_key_ring),
		cmocka_unit_test(test_trusted_key_mismatch),
		cmocka_unit_test(test_base64_second_spelling),
		cmocka_unit_test(test_shape_errors),
		cmocka_unit_test(test_make_refuses_bad_input),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, setup, teardown);
}
