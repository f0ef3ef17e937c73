/*
 * test_vault.c — envelope encryption (vault.h): data keys, sealed records
 * and blobs, the bindings that make a moved ciphertext fail, key rotation,
 * blind indexes (with a known answer), the wiping allocator.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "vault/keyfile.h"
#include "vault/keyring.h"
#include "vault/vault.h"
#include "testutil.h"
#include "common/banned.h"

/* ---- fixtures ---------------------------------------------------------------- */

struct fx {
	char dir[512];
	char path[600]; /* <dir>/keys/senim.keys */
	struct keyring *kr;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	if (testutil_tmpdir("vault", f->dir, sizeof(f->dir)) != 0) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/keys/senim.keys", f->dir);
	if (keyring_open(f->path, 1, &f->kr) != SENIM_OK) {
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
	testutil_rm_rf(f->dir);
	free(f);
	return 0;
}

static json_t *parse(const char *text)
{
	json_error_t jerr;
	json_t *j = json_loads(text, JSON_DECODE_ANY, &jerr);
	if (!j)
		fail_msg("bad test JSON: %s", jerr.text);
	return j;
}

static struct vault_dek *new_dek(const struct keyring *kr, const char *subject,
				 struct buf *wrapped)
{
	struct vault_dek *dek = NULL;
	uint32_t v = 0;
	assert_int_equal(vault_dek_new(kr, subject, &dek, wrapped, &v), SENIM_OK);
	assert_non_null(dek);
	assert_int_equal(v, keyring_kek_version(kr));
	return dek;
}

/* 1 when needle occurs in hay. */
static int contains(const void *hay, size_t hlen, const void *needle, size_t nlen)
{
	const unsigned char *h = hay;
	for (size_t i = 0; nlen && i + nlen <= hlen; i++)
		if (memcmp(h + i, needle, nlen) == 0)
			return 1;
	return 0;
}

/* A record with what the categories hold: Cyrillic and Kazakh text,
 * numbers of every kind, arrays, nested objects, null, booleans. */
static const char RECORD[] =
	"{\"surname\":\"Иванов\",\"given_name\":\"Әлихан\","
	"\"patronymic\":\"Сергеевич\",\"iin\":\"870412300234\","
	"\"birth_place\":\"Қарағанды, ул. Бұқар жырау 12/3\","
	"\"dependants\":[{\"name\":\"Айгерім\",\"age\":7},{\"name\":\"Ерлан\",\"age\":3}]"
	","
	"\"income_kzt\":452000,\"debt\":-17,\"big\":9007199254740993,"
	"\"rate\":0.1875,\"tiny\":1e-300,\"scores\":[1,2.5,-3,[],{}],"
	"\"married\":true,\"criminal_record\":false,\"note\":null,\"empty\":\"\","
	"\"emoji\":\"\xf0\x9f\x98\x80 ok\"}";

/* ---- blob surgery ----------------------------------------------------------- */

struct entry {
	size_t name_at, name_len, sealed_at, sealed_len;
};

/* Split a record blob into its entries; returns the count. */
static size_t entries(const struct buf *blob, struct entry *e, size_t cap)
{
	const unsigned char *p = (const unsigned char *)blob->data;
	assert_true(blob->len >= 5);
	assert_memory_equal(p, "SV1", 3);
	size_t n = (size_t)(p[3] << 8 | p[4]), at = 5;
	assert_true(n <= cap);
	for (size_t i = 0; i < n; i++) {
		e[i].name_len = p[at];
		e[i].name_at = at + 1;
		at += 1 + e[i].name_len;
		e[i].sealed_len = (size_t)p[at] << 24 | (size_t)p[at + 1] << 16 |
				  (size_t)p[at + 2] << 8 | p[at + 3];
		e[i].sealed_at = at + 4;
		at += 4 + e[i].sealed_len;
	}
	assert_int_equal(at, blob->len);
	return n;
}

/* Rebuild a blob from entries of src, in `order`, with field i's sealed
 * bytes taken from entry sealed_from[i]; count may differ from n. */
static void rebuild(const struct buf *src, const struct entry *e, const size_t *order,
		    const size_t *sealed_from, size_t n, size_t count, struct buf *out)
{
	unsigned char head[5] = { 'S', 'V', '1', (unsigned char)(count >> 8),
				  (unsigned char)count };
	buf_reset(out);
	assert_int_equal(buf_add(out, head, 5), SENIM_OK);
	for (size_t k = 0; k < n; k++) {
		const struct entry *name = &e[order[k]];
		const struct entry *sealed = &e[sealed_from[k]];
		unsigned char len[4] = { (unsigned char)(sealed->sealed_len >> 24),
					 (unsigned char)(sealed->sealed_len >> 16),
					 (unsigned char)(sealed->sealed_len >> 8),
					 (unsigned char)sealed->sealed_len };
		assert_int_equal(buf_addch(out, (char)name->name_len), SENIM_OK);
		assert_int_equal(buf_add(out, src->data + name->name_at, name->name_len),
				 SENIM_OK);
		assert_int_equal(buf_add(out, len, 4), SENIM_OK);
		assert_int_equal(
			buf_add(out, src->data + sealed->sealed_at, sealed->sealed_len),
			SENIM_OK);
	}
}

/* ---- round trips ------------------------------------------------------------- */

static void test_record_round_trip(void **state)
{
	struct fx *f = *state;
	struct buf wrapped, blob;
	buf_init(&wrapped, 4096);
	buf_init(&blob, BUF_NO_LIMIT);
	struct vault_dek *dek = new_dek(f->kr, "subj-0001", &wrapped);
	json_t *rec = parse(RECORD);
	/* A string with a NUL inside survives too. */
	json_object_set_new(rec, "nul", json_stringn("a\0b", 3));

	assert_int_equal(buf_addstr(&blob, "keep"), SENIM_OK);
	assert_int_equal(vault_seal_record(dek, "subj-0001", "identity", 1, rec, &blob),
			 SENIM_OK);
	/* Appended after what was there. */
	assert_memory_equal(blob.data, "keepSV1", 7);
	json_t *back = NULL;
	assert_int_equal(vault_open_record(dek, "subj-0001", "identity", 1, blob.data + 4,
					   blob.len - 4, &back),
			 SENIM_OK);
	assert_true(json_equal(rec, back));
	assert_int_equal(json_integer_value(json_object_get(back, "big")),
			 9007199254740993LL);
	assert_string_equal(json_string_value(json_object_get(back, "surname")),
			    "Иванов");

	/* None of the values shows in the blob or the wrapped key. */
	static const char *const plain[] = { "Иванов",	"Әлихан", "870412300234",
					     "Айгерім", "452000", "Қарағанды" };
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		assert_false(contains(blob.data, blob.len, plain[i], strlen(plain[i])));
		assert_false(
			contains(wrapped.data, wrapped.len, plain[i], strlen(plain[i])));
	}

	/* The wrapped DEK unwraps into a key that opens the record. */
	struct vault_dek *again = NULL;
	assert_int_equal(
		vault_dek_unwrap(f->kr, "subj-0001", wrapped.data, wrapped.len, &again),
		SENIM_OK);
	json_t *back2 = NULL;
	assert_int_equal(vault_open_record(again, "subj-0001", "identity", 1,
					   blob.data + 4, blob.len - 4, &back2),
			 SENIM_OK);
	assert_true(json_equal(rec, back2));

	/* An empty record is a record too. */
	json_t *empty = json_object();
	buf_reset(&blob);
	assert_int_equal(vault_seal_record(dek, "subj-0001", "family", 0, empty, &blob),
			 SENIM_OK);
	assert_int_equal(blob.len, 5);
	json_t *eback = NULL;
	assert_int_equal(vault_open_record(dek, "subj-0001", "family", 0, blob.data,
					   blob.len, &eback),
			 SENIM_OK);
	assert_int_equal(json_object_size(eback), 0);

	json_decref(empty);
	json_decref(eback);
	json_decref(back2);
	json_decref(back);
	json_decref(rec);
	vault_dek_free(again);
	vault_dek_free(dek);
	vault_dek_free(NULL);
	buf_release(&blob);
	buf_release(&wrapped);
}

static void test_blob_round_trip(void **state)
{
	static const size_t sizes[] = { 0, 1, 1000, 200000 };
	struct fx *f = *state;
	struct buf wrapped, sealed, back;
	buf_init(&wrapped, 4096);
	buf_init(&sealed, BUF_NO_LIMIT);
	buf_init(&back, BUF_NO_LIMIT);
	struct vault_dek *dek = new_dek(f->kr, "subj-b", &wrapped);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i];
		unsigned char *img = malloc(n + 1);
		assert_non_null(img);
		for (size_t k = 0; k < n; k++)
			img[k] = (unsigned char)(k * 31 + 7);
		buf_reset(&sealed);
		buf_reset(&back);
		assert_int_equal(buf_addstr(&back, "pre"), SENIM_OK);
		assert_int_equal(vault_seal_blob(dek, "subj-b", "biometric", "face_image",
						 2, img, n, &sealed),
				 SENIM_OK);
		assert_int_equal(vault_open_blob(dek, "subj-b", "biometric", "face_image",
						 2, sealed.data, sealed.len, &back),
				 SENIM_OK);
		assert_int_equal(back.len, 3 + n);
		assert_memory_equal(back.data, "pre", 3);
		if (n)
			assert_memory_equal(back.data + 3, img, n);
		/* Bound to field, category, version and subject. */
		size_t before = back.len;
		assert_int_equal(vault_open_blob(dek, "subj-b", "biometric",
						 "signature_image", 2, sealed.data,
						 sealed.len, &back),
				 SENIM_ERR_CRYPTO);
		assert_int_equal(vault_open_blob(dek, "subj-b", "identity", "face_image",
						 2, sealed.data, sealed.len, &back),
				 SENIM_ERR_CRYPTO);
		assert_int_equal(vault_open_blob(dek, "subj-b", "biometric", "face_image",
						 3, sealed.data, sealed.len, &back),
				 SENIM_ERR_CRYPTO);
		assert_int_equal(vault_open_blob(dek, "subj-c", "biometric", "face_image",
						 2, sealed.data, sealed.len, &back),
				 SENIM_ERR_CRYPTO);
		/* A failed open leaves out as it was. */
		assert_int_equal(back.len, before);
		sodium_memzero(back.data, back.len);
		free(img);
	}
	buf_release(&back);
	buf_release(&sealed);
	buf_release(&wrapped);
	vault_dek_free(dek);
}

/* A record field's sealed bytes cannot pass for a blob with the same
 * names, nor the other way round. */
static void test_record_and_blob_apart(void **state)
{
	struct fx *f = *state;
	struct buf wrapped, blob, sealed, out;
	buf_init(&wrapped, 4096);
	buf_init(&blob, BUF_NO_LIMIT);
	buf_init(&sealed, BUF_NO_LIMIT);
	buf_init(&out, BUF_NO_LIMIT);
	struct vault_dek *dek = new_dek(f->kr, "s", &wrapped);
	json_t *rec = parse("{\"face\":\"x\"}");
	assert_int_equal(vault_seal_record(dek, "s", "biometric", 1, rec, &blob),
			 SENIM_OK);
	struct entry e[1];
	assert_int_equal(entries(&blob, e, 1), 1);
	assert_int_equal(vault_open_blob(dek, "s", "biometric", "face", 1,
					 blob.data + e[0].sealed_at, e[0].sealed_len,
					 &out),
			 SENIM_ERR_CRYPTO);
	/* And a blob sealed as "face" inside a record's frame. */
	assert_int_equal(
		vault_seal_blob(dek, "s", "biometric", "face", 1, "\"x\"", 3, &sealed),
		SENIM_OK);
	struct buf forged;
	buf_init(&forged, BUF_NO_LIMIT);
	unsigned char len[4] = { 0, 0, 0, (unsigned char)sealed.len };
	assert_int_equal(buf_add(&forged, "SV1\0\1\4face", 10), SENIM_OK);
	assert_int_equal(buf_add(&forged, len, 4), SENIM_OK);
	assert_int_equal(buf_add(&forged, sealed.data, sealed.len), SENIM_OK);
	json_t *back = NULL;
	assert_int_equal(vault_open_record(dek, "s", "biometric", 1, forged.data,
					   forged.len, &back),
			 SENIM_ERR_CRYPTO);
	assert_null(back);
	json_decref(rec);
	buf_release(&forged);
	buf_release(&out);
	buf_release(&sealed);
	buf_release(&blob);
	buf_release(&wrapped);
	vault_dek_free(dek);
}

/* ---- bindings ------------------------------------------------------------------ */

enum change {
	NONE,
	OTHER_SUBJECT,
	OTHER_CATEGORY,
	OTHER_VERSION,
	OTHER_DEK,	 /* another subject's DEK */
	FRESH_DEK,	 /* a second DEK for the same subject */
	SWAP_SEALED,	 /* two fields' sealed bytes exchanged */
	SWAP_NAMES,	 /* the same, seen from the names */
	REORDER,	 /* entries in another order: allowed */
	DROP_FIELD,	 /* one entry removed, count fixed */
	DUP_FIELD,	 /* one entry twice, count fixed */
	OTHER_RECORD,	 /* the blob of another version of the record */
	OTHER_SUBJECTS,	 /* the blob of another subject's record */
	FLIP,		 /* one byte flipped */
	CUT,		 /* `at` bytes cut from the end */
	KEEP,		 /* only the first `at` bytes kept */
	APPEND,		 /* a byte added at the end */
	KEK_REMOVED,	 /* the KEK that wrapped the DEK left the key file */
	WRAPPED_FLIP,	 /* a byte of the wrapped DEK flipped */
	WRAPPED_SUBJECT, /* the wrapped DEK unwrapped for another subject */
};

static void test_bindings(void **state)
{
	static const struct {
		const char *name;
		enum change change;
		size_t at;
		int want;
	} cases[] = {
		{ "untouched", NONE, 0, SENIM_OK },
		{ "other subject", OTHER_SUBJECT, 0, SENIM_ERR_CRYPTO },
		{ "other category", OTHER_CATEGORY, 0, SENIM_ERR_CRYPTO },
		{ "other version", OTHER_VERSION, 0, SENIM_ERR_CRYPTO },
		{ "another subject's DEK", OTHER_DEK, 0, SENIM_ERR_CRYPTO },
		{ "a fresh DEK of the same subject", FRESH_DEK, 0, SENIM_ERR_CRYPTO },
		{ "two fields' sealed bytes swapped", SWAP_SEALED, 0, SENIM_ERR_CRYPTO },
		{ "two fields' names swapped", SWAP_NAMES, 0, SENIM_ERR_CRYPTO },
		{ "fields reordered", REORDER, 0, SENIM_OK },
		{ "a field dropped", DROP_FIELD, 0, SENIM_ERR_CRYPTO },
		{ "a field duplicated", DUP_FIELD, 0, SENIM_ERR_CRYPTO },
		{ "another version's blob", OTHER_RECORD, 0, SENIM_ERR_CRYPTO },
		{ "another subject's blob", OTHER_SUBJECTS, 0, SENIM_ERR_CRYPTO },
		{ "magic byte flipped", FLIP, 0, SENIM_ERR_CRYPTO },
		{ "count byte flipped", FLIP, 4, SENIM_ERR_CRYPTO },
		{ "name length flipped", FLIP, 5, SENIM_ERR_CRYPTO },
		{ "name byte flipped", FLIP, 6, SENIM_ERR_CRYPTO },
		{ "sealed length flipped", FLIP, 6 + 7 + 3, SENIM_ERR_CRYPTO },
		{ "DEK version flipped", FLIP, 6 + 7 + 4 + 3, SENIM_ERR_CRYPTO },
		{ "nonce byte flipped", FLIP, 6 + 7 + 4 + 4 + 5, SENIM_ERR_CRYPTO },
		{ "ciphertext byte flipped", FLIP, 6 + 7 + 4 + 28 + 1, SENIM_ERR_CRYPTO },
		{ "last byte flipped", FLIP, (size_t)-1, SENIM_ERR_CRYPTO },
		{ "one byte cut", CUT, 1, SENIM_ERR_CRYPTO },
		{ "a tag cut", CUT, 16, SENIM_ERR_CRYPTO },
		{ "cut inside the first name", KEEP, 9, SENIM_ERR_CRYPTO },
		{ "cut after the first field", KEEP, (size_t)-1, SENIM_ERR_CRYPTO },
		{ "only the magic kept", KEEP, 3, SENIM_ERR_CRYPTO },
		{ "only the header kept", KEEP, 5, SENIM_ERR_CRYPTO },
		{ "everything cut", KEEP, 0, SENIM_ERR_CRYPTO },
		{ "a byte appended", APPEND, 0, SENIM_ERR_CRYPTO },
		{ "the KEK removed from the key file", KEK_REMOVED, 0, SENIM_ERR_CRYPTO },
		{ "a wrapped DEK byte flipped", WRAPPED_FLIP, 40, SENIM_ERR_CRYPTO },
		{ "the DEK unwrapped for another subject", WRAPPED_SUBJECT, 0,
		  SENIM_ERR_CRYPTO },
	};
	struct fx *f = *state;
	/* The first field's name is 7 bytes ("surname"), which the FLIP
	 * offsets above rely on. */
	const char *text = "{\"surname\":\"Иванов\",\"given_name\":\"Иван\","
			   "\"iin\":\"870412300234\"}";
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *subject = "subj-a", *category = "identity";
		int64_t version = 5;
		struct buf wa, wb, blob, other, work;
		buf_init(&wa, 4096);
		buf_init(&wb, 4096);
		buf_init(&blob, BUF_NO_LIMIT);
		buf_init(&other, BUF_NO_LIMIT);
		buf_init(&work, BUF_NO_LIMIT);
		struct vault_dek *a = new_dek(f->kr, "subj-a", &wa);
		struct vault_dek *b = new_dek(f->kr, "subj-b", &wb);
		struct vault_dek *use = a;
		struct vault_dek *owned = NULL;
		json_t *rec = parse(text);
		assert_int_equal(
			vault_seal_record(a, "subj-a", "identity", 5, rec, &blob),
			SENIM_OK);
		struct entry e[3];
		assert_int_equal(entries(&blob, e, 3), 3);
		assert_int_equal(e[0].name_len, 7);
		size_t order[3] = { 0, 1, 2 }, from[3] = { 0, 1, 2 };
		int err = SENIM_OK;

		switch (cases[i].change) {
		case OTHER_SUBJECT:
			subject = "subj-b";
			break;
		case OTHER_CATEGORY:
			category = "contact";
			break;
		case OTHER_VERSION:
			version = 4;
			break;
		case OTHER_DEK:
			use = b;
			break;
		case FRESH_DEK: {
			struct buf w;
			buf_init(&w, 4096);
			owned = use = new_dek(f->kr, "subj-a", &w);
			buf_release(&w);
			break;
		}
		case SWAP_SEALED:
			from[0] = 1;
			from[1] = 0;
			rebuild(&blob, e, order, from, 3, 3, &work);
			buf_reset(&blob);
			assert_int_equal(buf_add(&blob, work.data, work.len), SENIM_OK);
			break;
		case SWAP_NAMES:
			order[0] = 2;
			order[2] = 0;
			rebuild(&blob, e, order, from, 3, 3, &work);
			buf_reset(&blob);
			assert_int_equal(buf_add(&blob, work.data, work.len), SENIM_OK);
			break;
		case REORDER:
			order[0] = from[0] = 2;
			order[2] = from[2] = 0;
			rebuild(&blob, e, order, from, 3, 3, &work);
			buf_reset(&blob);
			assert_int_equal(buf_add(&blob, work.data, work.len), SENIM_OK);
			break;
		case DROP_FIELD:
			rebuild(&blob, e, order, from, 2, 2, &work);
			buf_reset(&blob);
			assert_int_equal(buf_add(&blob, work.data, work.len), SENIM_OK);
			break;
		case DUP_FIELD: {
			size_t o4[4] = { 0, 1, 2, 2 };
			rebuild(&blob, e, o4, o4, 4, 4, &work);
			buf_reset(&blob);
			assert_int_equal(buf_add(&blob, work.data, work.len), SENIM_OK);
			break;
		}
		case OTHER_RECORD:
			/* Version 6 of the same record, opened as version 5. */
			assert_int_equal(vault_seal_record(a, "subj-a", "identity", 6,
							   rec, &other),
					 SENIM_OK);
			buf_reset(&blob);
			assert_int_equal(buf_add(&blob, other.data, other.len), SENIM_OK);
			break;
		case OTHER_SUBJECTS:
			/* Subject b's record under b's key, opened as a's with a's key. */
			assert_int_equal(vault_seal_record(b, "subj-b", "identity", 5,
							   rec, &other),
					 SENIM_OK);
			buf_reset(&blob);
			assert_int_equal(buf_add(&blob, other.data, other.len), SENIM_OK);
			break;
		case FLIP: {
			size_t at =
				cases[i].at == (size_t)-1 ? blob.len - 1 : cases[i].at;
			blob.data[at] ^= 0x01;
			break;
		}
		case CUT:
			blob.len -= cases[i].at;
			break;
		case KEEP:
			/* (size_t)-1: keep the header and the first field whole */
			blob.len = cases[i].at == (size_t)-1 ? e[1].name_at - 1
							     : cases[i].at;
			break;
		case APPEND:
			assert_int_equal(buf_addch(&blob, 0), SENIM_OK);
			break;
		case KEK_REMOVED: {
			/* Rotate, rewrite the key file without version 1, and
			 * open it anew: a's wrapped DEK no longer unwraps. */
			uint32_t v = 0;
			assert_int_equal(keyfile_add_kek(f->path, &v), SENIM_OK);
			FILE *fp = fopen(f->path, "rb");
			assert_non_null(fp);
			char text2[8192];
			size_t n = fread(text2, 1, sizeof(text2) - 1, fp);
			fclose(fp);
			text2[n] = '\0';
			json_error_t jerr;
			json_t *kf = json_loads(text2, 0, &jerr);
			assert_non_null(kf);
			assert_int_equal(json_array_remove(json_object_get(kf, "kek"), 0),
					 0);
			assert_int_equal(json_dump_file(kf, f->path, JSON_INDENT(2)), 0);
			json_decref(kf);
			struct keyring *kr2 = NULL;
			assert_int_equal(keyring_open(f->path, 0, &kr2), SENIM_OK);
			assert_int_equal(keyring_kek_count(kr2), 1);
			err = vault_dek_unwrap(kr2, "subj-a", wa.data, wa.len, &owned);
			uint32_t got = 0;
			struct buf re;
			buf_init(&re, 4096);
			assert_int_equal(vault_dek_rewrap(kr2, "subj-a", wa.data, wa.len,
							  &re, &got),
					 SENIM_ERR_CRYPTO);
			assert_int_equal(re.len, 0);
			buf_release(&re);
			keyring_free(kr2);
			break;
		}
		case WRAPPED_FLIP:
			wa.data[cases[i].at] ^= 0x01;
			err = vault_dek_unwrap(f->kr, "subj-a", wa.data, wa.len, &owned);
			break;
		case WRAPPED_SUBJECT:
			err = vault_dek_unwrap(f->kr, "subj-b", wa.data, wa.len, &owned);
			break;
		default:
			break;
		}

		if (!err) {
			json_t *back = NULL;
			err = vault_open_record(use, subject, category, version,
						blob.data, blob.len, &back);
			if (!err)
				assert_true(json_equal(rec, back));
			else
				assert_null(back);
			json_decref(back);
		} else {
			assert_null(owned);
		}
		if (err != cases[i].want)
			fail_msg("%s: got %d, want %d", cases[i].name, err,
				 cases[i].want);
		json_decref(rec);
		vault_dek_free(owned);
		vault_dek_free(a);
		vault_dek_free(b);
		buf_release(&work);
		buf_release(&other);
		buf_release(&blob);
		buf_release(&wb);
		buf_release(&wa);
	}
}

/* ---- limits and bad arguments ---------------------------------------------- */

static void test_limits(void **state)
{
	struct fx *f = *state;
	struct buf wrapped, blob;
	buf_init(&wrapped, 4096);
	buf_init(&blob, BUF_NO_LIMIT);
	struct vault_dek *dek = new_dek(f->kr, "s", &wrapped);
	char name[80];

	/* 255 fields seal, 256 do not. */
	json_t *rec = json_object();
	for (int i = 0; i < 255; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		json_object_set_new(rec, name, json_integer(i));
	}
	assert_int_equal(vault_seal_record(dek, "s", "c", 1, rec, &blob), SENIM_OK);
	json_t *back = NULL;
	assert_int_equal(vault_open_record(dek, "s", "c", 1, blob.data, blob.len, &back),
			 SENIM_OK);
	assert_true(json_equal(rec, back));
	json_decref(back);
	json_object_set_new(rec, "one_too_many", json_true());
	buf_reset(&blob);
	assert_int_equal(buf_addstr(&blob, "x"), SENIM_OK);
	assert_int_equal(vault_seal_record(dek, "s", "c", 1, rec, &blob),
			 SENIM_ERR_TOO_LARGE);
	assert_int_equal(blob.len, 1);
	json_decref(rec);

	/* Field names of 1..64 bytes. */
	static const struct {
		size_t len;
		int want;
	} names[] = { { 0, SENIM_ERR_INVALID },
		      { 1, SENIM_OK },
		      { 64, SENIM_OK },
		      { 65, SENIM_ERR_INVALID } };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		memset(name, 'n', names[i].len);
		name[names[i].len] = '\0';
		rec = json_object();
		json_object_set_new(rec, "ok", json_true());
		json_object_set_new(rec, name, json_string("v"));
		buf_reset(&blob);
		int err = vault_seal_record(dek, "s", "c", 1, rec, &blob);
		if (err != names[i].want)
			fail_msg("name of %zu bytes: got %d", names[i].len, err);
		if (err) /* nothing half-written is left */
			assert_int_equal(blob.len, 0);
		json_decref(rec);
	}

	/* A sealed value up to 4 MiB: a value of 4 MiB - 44 bytes of JSON
	 * text seals, one byte more does not. */
	size_t max_plain = ((size_t)4 << 20) - 44;
	char *big = malloc(max_plain + 1);
	assert_non_null(big);
	memset(big, 'A', max_plain + 1);
	rec = json_object();
	json_object_set_new(rec, "face", json_stringn(big, max_plain - 2)); /* + quotes */
	buf_reset(&blob);
	assert_int_equal(vault_seal_record(dek, "s", "biometric", 1, rec, &blob),
			 SENIM_OK);
	back = NULL;
	assert_int_equal(
		vault_open_record(dek, "s", "biometric", 1, blob.data, blob.len, &back),
		SENIM_OK);
	assert_true(json_equal(rec, back));
	json_decref(back);
	json_object_set_new(rec, "face", json_stringn(big, max_plain - 1));
	buf_reset(&blob);
	assert_int_equal(vault_seal_record(dek, "s", "biometric", 1, rec, &blob),
			 SENIM_ERR_TOO_LARGE);
	assert_int_equal(blob.len, 0);
	json_decref(rec);
	assert_int_equal(
		vault_seal_blob(dek, "s", "biometric", "face", 1, big, max_plain, &blob),
		SENIM_OK);
	buf_reset(&blob);
	assert_int_equal(vault_seal_blob(dek, "s", "biometric", "face", 1, big,
					 max_plain + 1, &blob),
			 SENIM_ERR_TOO_LARGE);
	free(big);

	/* Bad arguments are INVALID, never a crash. */
	char long_id[VAULT_SUBJECT_ID_MAX + 2];
	memset(long_id, 'i', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';
	struct vault_dek *d2 = NULL;
	uint32_t v = 0;
	assert_int_equal(vault_dek_new(f->kr, long_id, &d2, &blob, &v),
			 SENIM_ERR_INVALID);
	assert_int_equal(vault_dek_new(f->kr, "", &d2, &blob, &v), SENIM_ERR_INVALID);
	assert_int_equal(vault_dek_new(f->kr, NULL, &d2, &blob, &v), SENIM_ERR_INVALID);
	long_id[VAULT_SUBJECT_ID_MAX] = '\0'; /* exactly the maximum */
	assert_int_equal(vault_dek_new(f->kr, long_id, &d2, &blob, &v), SENIM_OK);
	vault_dek_free(d2);
	json_t *arr = json_array();
	assert_int_equal(vault_seal_record(dek, "s", "c", 1, arr, &blob),
			 SENIM_ERR_INVALID);
	assert_int_equal(vault_seal_record(dek, "s", "", 1, arr, &blob),
			 SENIM_ERR_INVALID);
	json_decref(arr);
	assert_int_equal(vault_open_record(dek, "s", "c", 1, NULL, 0, &back),
			 SENIM_ERR_CRYPTO);
	assert_int_equal(vault_open_record(NULL, "s", "c", 1, "SV1\0\0", 5, &back),
			 SENIM_ERR_INVALID);
	/* A blob that claims more fields than allowed. */
	assert_int_equal(vault_open_record(dek, "s", "c", 1, "SV1\1\0", 5, &back),
			 SENIM_ERR_CRYPTO);
	assert_int_equal(vault_dek_unwrap(f->kr, "s", "short", 5, &d2), SENIM_ERR_CRYPTO);
	assert_null(d2);

	buf_release(&blob);
	buf_release(&wrapped);
	vault_dek_free(dek);
}

/* ---- rotation ------------------------------------------------------------------ */

static void test_dek_rotation(void **state)
{
	struct fx *f = *state;
	struct buf w1, w2, re, blob;
	buf_init(&w1, 4096);
	buf_init(&w2, 4096);
	buf_init(&re, 4096);
	buf_init(&blob, BUF_NO_LIMIT);
	struct vault_dek *d1 = new_dek(f->kr, "subj-old", &w1);
	assert_memory_equal(w1.data, "\0\0\0\1", 4);
	json_t *rec = parse(RECORD);
	assert_int_equal(vault_seal_record(d1, "subj-old", "contact", 1, rec, &blob),
			 SENIM_OK);

	uint32_t v = 0;
	assert_int_equal(keyfile_add_kek(f->path, &v), SENIM_OK);
	assert_int_equal(v, 2);
	/* Until reloaded, the ring seals with version 1 still. */
	assert_int_equal(keyring_kek_version(f->kr), 1);
	assert_int_equal(keyring_reload(f->kr), SENIM_OK);
	assert_int_equal(keyring_kek_version(f->kr), 2);

	/* Old wrapping still unwraps, and its DEK opens the old record. */
	struct vault_dek *again = NULL;
	assert_int_equal(vault_dek_unwrap(f->kr, "subj-old", w1.data, w1.len, &again),
			 SENIM_OK);
	json_t *back = NULL;
	assert_int_equal(vault_open_record(again, "subj-old", "contact", 1, blob.data,
					   blob.len, &back),
			 SENIM_OK);
	assert_true(json_equal(rec, back));
	json_decref(back);
	vault_dek_free(again);

	/* New DEKs are wrapped under version 2. */
	struct vault_dek *d2 = new_dek(f->kr, "subj-new", &w2);
	assert_memory_equal(w2.data, "\0\0\0\2", 4);

	/* Rewrapping moves the old DEK to version 2 without changing it. */
	uint32_t got = 0;
	assert_int_equal(vault_dek_rewrap(f->kr, "subj-old", w1.data, w1.len, &re, &got),
			 SENIM_OK);
	assert_int_equal(got, 2);
	assert_memory_equal(re.data, "\0\0\0\2", 4);
	assert_int_equal(re.len, w1.len);
	assert_int_equal(vault_dek_unwrap(f->kr, "subj-old", re.data, re.len, &again),
			 SENIM_OK);
	assert_int_equal(vault_open_record(again, "subj-old", "contact", 1, blob.data,
					   blob.len, &back),
			 SENIM_OK);
	assert_true(json_equal(rec, back));
	json_decref(back);
	vault_dek_free(again);
	/* Rewrapping binds to the subject too. */
	struct buf bad;
	buf_init(&bad, 4096);
	assert_int_equal(vault_dek_rewrap(f->kr, "subj-new", w1.data, w1.len, &bad, &got),
			 SENIM_ERR_CRYPTO);
	assert_int_equal(bad.len, 0);
	buf_release(&bad);

	/* Another process that opened the file before rotating also opens the
	 * rewrapped DEK (it reloads the file on meeting version 2). */
	struct keyring *fresh = NULL;
	assert_int_equal(keyring_open(f->path, 0, &fresh), SENIM_OK);
	assert_int_equal(keyring_kek_count(fresh), 2);
	assert_int_equal(vault_dek_unwrap(fresh, "subj-old", re.data, re.len, &again),
			 SENIM_OK);
	vault_dek_free(again);
	keyring_free(fresh);

	json_decref(rec);
	vault_dek_free(d1);
	vault_dek_free(d2);
	buf_release(&blob);
	buf_release(&re);
	buf_release(&w2);
	buf_release(&w1);
}

/* ---- blind indexes ----------------------------------------------------------------- */

/* The committed key file next to this source (tests/unit/data/). */
static void kat_path(char *out, size_t cap)
{
	const char *src = getenv("SENIM_SOURCE_DIR");
	if (src && *src) {
		snprintf(out, cap, "%s/tests/unit/data/vault-kat.keys", src);
		return;
	}
	const char *file = __FILE__;
	const char *slash = strrchr(file, '/');
	int dirlen = slash ? (int)(slash - file) : 1;
	snprintf(out, cap, "%.*s/data/vault-kat.keys", dirlen, slash ? file : ".");
}

/* Copy the committed key file into dir/kat/ with the modes keyring_open
 * wants (git does not keep 0600). */
static struct keyring *open_kat(const char *dir)
{
	char src[1024], dst[1024], kdir[1024];
	kat_path(src, sizeof(src));
	snprintf(kdir, sizeof(kdir), "%s/kat", dir);
	snprintf(dst, sizeof(dst), "%s/kat/senim.keys", dir);
	assert_int_equal(mkdir(kdir, 0700), 0);
	FILE *in = fopen(src, "rb");
	if (!in)
		fail_msg("cannot read %s (set SENIM_SOURCE_DIR)", src);
	char text[4096];
	size_t n = fread(text, 1, sizeof(text), in);
	fclose(in);
	int fd = open(dst, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, n), (ssize_t)n);
	close(fd);
	struct keyring *kr = NULL;
	assert_int_equal(keyring_open(dst, 0, &kr), SENIM_OK);
	return kr;
}

static void hex_of(const unsigned char *b, size_t n, char *out)
{
	sodium_bin2hex(out, 2 * n + 1, b, n);
}

static void test_blind_index(void **state)
{
	/* Expected values computed independently with Python's hashlib
	 * (tests/unit/data/README.md). */
	static const struct {
		const char *kind, *value, *hex;
	} kat[] = {
		{ "iin", "870412300234",
		  "3d679f2983bd33f0f2ad3650e5cdb1e8b031b696b0b7292f4247f77a9c789d12" },
		{ "phone", "+77011234567",
		  "8fc7f94e4411aa96a47d66071fe703e379ce51f1c0cdf84a47d54ad26dbcd812" },
	};
	struct fx *f = *state;
	struct keyring *k = open_kat(f->dir);
	for (size_t i = 0; i < sizeof(kat) / sizeof(kat[0]); i++) {
		unsigned char idx[VAULT_INDEX_BYTES];
		char hex[2 * VAULT_INDEX_BYTES + 1];
		vault_blind_index(k, kat[i].kind, kat[i].value, strlen(kat[i].value),
				  idx);
		hex_of(idx, sizeof(idx), hex);
		assert_string_equal(hex, kat[i].hex);
		/* The same as keyring_blind_index of "<kind>:<value>". */
		char msg[64];
		unsigned char direct[32];
		int n = snprintf(msg, sizeof(msg), "%s:%s", kat[i].kind, kat[i].value);
		keyring_blind_index(k, msg, (size_t)n, direct);
		assert_memory_equal(direct, idx, 32);
	}

	unsigned char a[32], b[32], c[32], d[32], e[32];
	vault_blind_index(f->kr, "iin", "870412300234", 12, a);
	vault_blind_index(f->kr, "iin", "870412300234", 12, b);
	assert_memory_equal(a, b, 32); /* same value, same index */
	vault_blind_index(f->kr, "phone", "870412300234", 12, c);
	assert_memory_not_equal(a, c, 32); /* another kind */
	vault_blind_index(f->kr, "iin", "870412300235", 12, d);
	assert_memory_not_equal(a, d, 32); /* another value */
	vault_blind_index(k, "iin", "870412300234", 12, e);
	assert_memory_not_equal(a, e, 32); /* another key ring */
	/* The empty value hashes too, NULL or not. */
	vault_blind_index(f->kr, "email", "", 0, e);
	vault_blind_index(f->kr, "email", NULL, 0, d);
	assert_memory_equal(e, d, 32);
	/* A long value takes the heap path and still agrees with the ring. */
	char *longv = malloc(5000);
	assert_non_null(longv);
	memcpy(longv, "email:", 6);
	memset(longv + 6, 'x', 5000 - 6);
	vault_blind_index(f->kr, "email", longv + 6, 5000 - 6, a);
	keyring_blind_index(f->kr, longv, 5000, b);
	assert_memory_equal(a, b, 32);
	free(longv);
	keyring_free(k);
}

/* ---- many DEKs, many threads ------------------------------------------------ */

/* More DEKs alive at once than one slab of the pool holds, freed out of
 * order and made again: each stays its own key. */
static void test_many_deks(void **state)
{
	enum {
		N = 600
	};
	struct fx *f = *state;
	struct vault_dek **d = calloc(N, sizeof(*d));
	struct buf *w = calloc(N, sizeof(*w));
	assert_non_null(d);
	assert_non_null(w);
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < N; i++) {
			char id[16];
			snprintf(id, sizeof(id), "m%d", i);
			if (d[i])
				continue;
			buf_init(&w[i], 4096);
			d[i] = new_dek(f->kr, id, &w[i]);
		}
		for (int i = 0; i < N; i++) {
			char id[16];
			struct vault_dek *u = NULL;
			struct buf blob;
			json_t *rec = json_pack("{s:i}", "n", i), *back = NULL;
			snprintf(id, sizeof(id), "m%d", i);
			buf_init(&blob, 4096);
			assert_int_equal(vault_seal_record(d[i], id, "c", 1, rec, &blob),
					 SENIM_OK);
			assert_int_equal(
				vault_dek_unwrap(f->kr, id, w[i].data, w[i].len, &u),
				SENIM_OK);
			assert_int_equal(vault_open_record(u, id, "c", 1, blob.data,
							   blob.len, &back),
					 SENIM_OK);
			assert_true(json_equal(rec, back));
			/* Another DEK does not open it. */
			json_t *no = NULL;
			assert_int_equal(vault_open_record(d[(i + 1) % N], id, "c", 1,
							   blob.data, blob.len, &no),
					 SENIM_ERR_CRYPTO);
			vault_dek_free(u);
			json_decref(back);
			json_decref(rec);
			buf_release(&blob);
		}
		/* Free every third one, then (next round) make them again. */
		for (int i = 0; i < N; i += 3) {
			vault_dek_free(d[i]);
			d[i] = NULL;
			buf_release(&w[i]);
		}
	}
	for (int i = 0; i < N; i++) {
		vault_dek_free(d[i]);
		buf_release(&w[i]);
	}
	free(w);
	free(d);
}

struct vworker {
	const struct keyring *kr;
	int id;
	int failures;
};

static void *vworker_main(void *arg)
{
	struct vworker *w = arg;
	for (int i = 0; i < 300; i++) {
		char id[32];
		struct buf wrapped, blob;
		struct vault_dek *dek = NULL, *again = NULL;
		uint32_t v = 0;
		json_t *rec = json_pack("{s:s, s:i}", "name", "Дәулет", "i", i),
		       *back = NULL;
		snprintf(id, sizeof(id), "t%d-%d", w->id, i);
		buf_init(&wrapped, 4096);
		buf_init(&blob, 4096);
		if (vault_dek_new(w->kr, id, &dek, &wrapped, &v) != SENIM_OK ||
		    vault_seal_record(dek, id, "identity", i, rec, &blob) != SENIM_OK ||
		    vault_dek_unwrap(w->kr, id, wrapped.data, wrapped.len, &again) !=
			    SENIM_OK ||
		    vault_open_record(again, id, "identity", i, blob.data, blob.len,
				      &back) != SENIM_OK ||
		    !json_equal(rec, back))
			w->failures++;
		json_decref(back);
		json_decref(rec);
		vault_dek_free(again);
		vault_dek_free(dek);
		buf_release(&blob);
		buf_release(&wrapped);
	}
	return NULL;
}

static void test_threads(void **state)
{
	enum {
		NTHREADS = 4
	};
	struct fx *f = *state;
	pthread_t t[NTHREADS];
	struct vworker w[NTHREADS];
	for (int i = 0; i < NTHREADS; i++) {
		w[i] = (struct vworker){ .kr = f->kr, .id = i };
		assert_int_equal(pthread_create(&t[i], NULL, vworker_main, &w[i]), 0);
	}
	for (int i = 0; i < NTHREADS; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(w[i].failures, 0);
	}
}

/* ---- the wiping allocator --------------------------------------------------------- */

static void test_wiping_allocator(void **state)
{
	(void)state;
	json_malloc_t m = NULL;
	json_free_t fr = NULL;
	json_get_alloc_funcs(&m, &fr);
	/* main() installed it before any test ran. */
	assert_true(m == malloc);
	assert_true(fr != free);

	json_t *j = parse(RECORD);
	char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	assert_non_null(text);
	json_t *k = parse(text);
	assert_true(json_equal(j, k));
	/* A json_dumps() result is an ordinary malloc block: free() works,
	 * as http/reply.c does. */
	free(text);
	text = json_dumps(k, 0);
	assert_non_null(text);
	fr(text); /* and so does jansson's own free */
	json_decref(k);
	json_decref(j);

	/* Blocks from before the allocator (plain malloc) are freed fine. */
	void *p = malloc(100);
	assert_non_null(p);
	memset(p, 0x5a, 100);
	fr(p);
	fr(NULL);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	vault_install_wiping_allocator();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_record_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blob_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_record_and_blob_apart, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bindings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dek_rotation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blind_index, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_deks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
		cmocka_unit_test(test_wiping_allocator),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
