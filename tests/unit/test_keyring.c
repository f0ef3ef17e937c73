/*
 * test_keyring.c — the key file (creation, modes, parsing) and what is done
 * with its keys (signatures, sealing).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "vault/keyfile.h"
#include "vault/keyring.h"
#include "testutil.h"
#include "common/banned.h"

/* ---- fixtures ---------------------------------------------------------------- */

struct fx {
	char dir[512];	/* a fresh temporary directory, 0700 */
	char path[600]; /* <dir>/keys/senim.keys (keys/ does not exist yet) */
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	if (testutil_tmpdir("keyring", f->dir, sizeof(f->dir)) != 0) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/keys/senim.keys", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	testutil_rm_rf(f->dir);
	free(f);
	return 0;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, mode), 0);
	size_t len = strlen(text);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
}

/* The whole file in a heap string (free()d by the caller). */
static char *read_text(const char *path)
{
	FILE *fp = fopen(path, "rb");
	assert_non_null(fp);
	char *text = calloc(1, 8192);
	assert_non_null(text);
	size_t n = fread(text, 1, 8191, fp);
	fclose(fp);
	text[n] = '\0';
	return text;
}

static mode_t mode_of(const char *path)
{
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	return sb.st_mode & 07777;
}

static struct keyring *open_ok(const char *path, int create)
{
	struct keyring *kr = NULL;
	assert_int_equal(keyring_open(path, create, &kr), SENIM_OK);
	assert_non_null(kr);
	return kr;
}

/* ---- known key material for hand-written key files ----------------------- */

/* Seeds and keys are 32 repeated bytes: A = 0x11, B = 0x22 (signing),
 * KEK1 = 0x33, KEK2 = 0x44, index = 0x55. */
struct material {
	char ida[17], idb[17];
	unsigned char pka[32], ska[64], pkb[32], skb[64];
	unsigned char kek1[32], kek2[32];
	char seeda[64], seedb[64], kek1b64[64], kek2b64[64], idx[64];
	char short64[64], long64[64];
};

static void b64(char *out, size_t cap, unsigned char byte, size_t n)
{
	unsigned char raw[40];
	memset(raw, byte, n);
	sodium_bin2base64(out, cap, raw, n, sodium_base64_VARIANT_ORIGINAL);
}

static void material_init(struct material *m)
{
	unsigned char seed[32];
	assert_true(sodium_init() >= 0);
	memset(seed, 0x11, 32);
	crypto_sign_seed_keypair(m->pka, m->ska, seed);
	memset(seed, 0x22, 32);
	crypto_sign_seed_keypair(m->pkb, m->skb, seed);
	sodium_bin2hex(m->ida, sizeof(m->ida), m->pka, 8);
	sodium_bin2hex(m->idb, sizeof(m->idb), m->pkb, 8);
	memset(m->kek1, 0x33, 32);
	memset(m->kek2, 0x44, 32);
	b64(m->seeda, sizeof(m->seeda), 0x11, 32);
	b64(m->seedb, sizeof(m->seedb), 0x22, 32);
	b64(m->kek1b64, sizeof(m->kek1b64), 0x33, 32);
	b64(m->kek2b64, sizeof(m->kek2b64), 0x44, 32);
	b64(m->idx, sizeof(m->idx), 0x55, 32);
	b64(m->short64, sizeof(m->short64), 0x66, 31);
	b64(m->long64, sizeof(m->long64), 0x66, 33);
}

/* Expand {IDA} {IDB} {SEEDA} {SEEDB} {KEK1} {KEK2} {IDX} {SHORT} {LONG}. */
static char *expand(const struct material *m, const char *tmpl)
{
	static const char *const names[] = { "{IDA}",	"{IDB}",   "{SEEDA}",
					     "{SEEDB}", "{KEK1}",  "{KEK2}",
					     "{IDX}",	"{SHORT}", "{LONG}" };
	const char *values[] = { m->ida,     m->idb, m->seeda,	 m->seedb, m->kek1b64,
				 m->kek2b64, m->idx, m->short64, m->long64 };
	struct buf b;
	buf_init(&b, BUF_NO_LIMIT);
	for (const char *p = tmpl; *p;) {
		size_t i = 0, n = sizeof(names) / sizeof(names[0]);
		for (; i < n; i++)
			if (strncmp(p, names[i], strlen(names[i])) == 0)
				break;
		if (i < n) {
			assert_int_equal(buf_addstr(&b, values[i]), SENIM_OK);
			p += strlen(names[i]);
		} else {
			assert_int_equal(buf_addch(&b, *p++), SENIM_OK);
		}
	}
	return buf_detach(&b, NULL);
}

#define SIGN_A "{\"id\":\"{IDA}\",\"seed\":\"{SEEDA}\",\"created_at\":1}"
#define SIGN_B "{\"id\":\"{IDB}\",\"seed\":\"{SEEDB}\",\"created_at\":2}"
#define KEK_1 "{\"version\":1,\"key\":\"{KEK1}\",\"created_at\":1}"
#define KEK_2 "{\"version\":2,\"key\":\"{KEK2}\",\"created_at\":2}"
#define KEYFILE(signing, kek, rest)                                                     \
	"{\"format\":1,\"signing\":[" signing "],\"kek\":[" kek "],\"index_key\":" rest \
	"}"

/* ---- creation, reopening, modes -------------------------------------------- */

static void test_create_and_reopen(void **state)
{
	struct fx *f = *state;
	struct keyring *a = open_ok(f->path, 1);
	struct keyring *b = open_ok(f->path, 0);
	unsigned char pka[KEYRING_PK_BYTES], pkb[KEYRING_PK_BYTES];
	char dir[700];

	assert_int_equal(strlen(keyring_signing_key_id(a)), KEYRING_KEY_ID_LEN - 1);
	assert_string_equal(keyring_signing_key_id(a), keyring_signing_key_id(b));
	keyring_public_key(a, pka);
	keyring_public_key(b, pkb);
	assert_memory_equal(pka, pkb, sizeof(pka));

	/* The id is the hex of the public key's first 8 bytes. */
	char hex[17];
	sodium_bin2hex(hex, sizeof(hex), pka, 8);
	assert_string_equal(hex, keyring_signing_key_id(a));

	/* What one sealed the other opens, and what one signed the other
	 * verifies: same keys. */
	struct buf sealed;
	unsigned char plain[16];
	size_t len = 0;
	buf_init(&sealed, 1024);
	assert_int_equal(keyring_seal(a, "ad", 2, "hello", 5, &sealed), SENIM_OK);
	assert_int_equal(keyring_unseal(b, "ad", 2, sealed.data, sealed.len, plain,
					sizeof(plain), &len),
			 SENIM_OK);
	assert_int_equal(len, 5);
	assert_memory_equal(plain, "hello", 5);
	unsigned char sig[KEYRING_SIG_BYTES];
	keyring_sign(a, "msg", 3, sig);
	assert_int_equal(keyring_verify(b, keyring_signing_key_id(a), "msg", 3, sig),
			 SENIM_OK);
	buf_release(&sealed);

	assert_int_equal(mode_of(f->path), 0600);
	snprintf(dir, sizeof(dir), "%s/keys", f->dir);
	assert_int_equal(mode_of(dir), 0700);
	keyring_free(a);
	keyring_free(b);
	keyring_free(NULL);

	/* The file is the documented JSON. */
	char *text = read_text(f->path);
	assert_non_null(strstr(text, "\"format\": 1"));
	assert_non_null(strstr(text, "\"signing\""));
	assert_non_null(strstr(text, "\"kek\""));
	assert_non_null(strstr(text, "\"index_key\""));
	free(text);
}

static void test_create_makes_missing_dirs(void **state)
{
	struct fx *f = *state;
	char path[700], dir[700];
	snprintf(path, sizeof(path), "%s/a/b/keys/senim.keys", f->dir);
	keyring_free(open_ok(path, 1));
	snprintf(dir, sizeof(dir), "%s/a", f->dir);
	assert_int_equal(mode_of(dir), 0700);
	snprintf(dir, sizeof(dir), "%s/a/b/keys", f->dir);
	assert_int_equal(mode_of(dir), 0700);
	assert_int_equal(mode_of(path), 0600);
}

static void test_missing_without_create(void **state)
{
	struct fx *f = *state;
	struct keyring *kr = (struct keyring *)1;
	assert_int_equal(keyring_open(f->path, 0, &kr), SENIM_ERR_CONFIG);
	assert_null(kr);
	assert_int_equal(access(f->path, F_OK), -1);
	assert_int_equal(keyring_open(NULL, 1, &kr), SENIM_ERR_INVALID);
	assert_int_equal(keyring_open("", 1, &kr), SENIM_ERR_INVALID);
}

static void test_file_modes(void **state)
{
	static const struct {
		mode_t mode;
		int want;
	} cases[] = {
		{ 0600, SENIM_OK },	    { 0400, SENIM_OK },
		{ 0640, SENIM_ERR_CONFIG }, { 0604, SENIM_ERR_CONFIG },
		{ 0644, SENIM_ERR_CONFIG }, { 0660, SENIM_ERR_CONFIG },
		{ 0602, SENIM_ERR_CONFIG }, { 0610, SENIM_ERR_CONFIG },
	};
	struct fx *f = *state;
	keyring_free(open_ok(f->path, 1));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct keyring *kr = NULL;
		assert_int_equal(chmod(f->path, cases[i].mode), 0);
		int err = keyring_open(f->path, 1, &kr);
		if (err != cases[i].want)
			fail_msg("mode %04o: got %d, want %d", (unsigned)cases[i].mode,
				 err, cases[i].want);
		assert_true(err ? kr == NULL : kr != NULL);
		keyring_free(kr);
	}
}

static void test_dir_modes(void **state)
{
	static const struct {
		mode_t mode;
		int want;
	} cases[] = {
		{ 0700, SENIM_OK },	    { 0711, SENIM_OK },
		{ 0750, SENIM_ERR_CONFIG }, { 0705, SENIM_ERR_CONFIG },
		{ 0770, SENIM_ERR_CONFIG }, { 0755, SENIM_ERR_CONFIG },
		{ 0702, SENIM_ERR_CONFIG },
	};
	struct fx *f = *state;
	char dir[700];
	keyring_free(open_ok(f->path, 1));
	snprintf(dir, sizeof(dir), "%s/keys", f->dir);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct keyring *kr = NULL;
		assert_int_equal(chmod(dir, cases[i].mode), 0);
		int err = keyring_open(f->path, 1, &kr);
		if (err != cases[i].want)
			fail_msg("dir mode %04o: got %d, want %d",
				 (unsigned)cases[i].mode, err, cases[i].want);
		keyring_free(kr);
	}
	assert_int_equal(chmod(dir, 0700), 0);
}

/* Two processes creating the same key file at once end up with one file. */
static void test_create_race(void **state)
{
	enum {
		NPROC = 6
	};
	struct fx *f = *state;
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	for (int i = 0; i < NPROC; i++) {
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			struct keyring *kr = NULL;
			char line[KEYRING_KEY_ID_LEN] = { 0 };
			if (keyring_open(f->path, 1, &kr) == SENIM_OK)
				memcpy(line, keyring_signing_key_id(kr),
				       KEYRING_KEY_ID_LEN - 1);
			keyring_free(kr);
			/* One write of <= PIPE_BUF bytes is atomic. */
			_exit(write(fds[1], line, KEYRING_KEY_ID_LEN - 1) ==
					      KEYRING_KEY_ID_LEN - 1
				      ? 0
				      : 1);
		}
	}
	close(fds[1]);
	char ids[NPROC][KEYRING_KEY_ID_LEN];
	memset(ids, 0, sizeof(ids));
	for (int i = 0; i < NPROC; i++) {
		size_t got = 0;
		while (got < KEYRING_KEY_ID_LEN - 1) {
			ssize_t n =
				read(fds[0], ids[i] + got, KEYRING_KEY_ID_LEN - 1 - got);
			assert_true(n > 0);
			got += (size_t)n;
		}
	}
	close(fds[0]);
	for (int i = 0; i < NPROC; i++) {
		int status = 0;
		assert_true(wait(&status) > 0);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	struct keyring *kr = open_ok(f->path, 0);
	for (int i = 0; i < NPROC; i++)
		assert_string_equal(ids[i], keyring_signing_key_id(kr));
	keyring_free(kr);

	/* No temporary file is left behind. */
	char dir[700];
	snprintf(dir, sizeof(dir), "%s/keys", f->dir);
	int count = 0;
	DIR *d = opendir(dir);
	struct dirent *e;
	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		assert_string_equal(e->d_name, "senim.keys");
		count++;
	}
	closedir(d);
	assert_int_equal(count, 1);
}

/* ---- parsing --------------------------------------------------------------- */

static void test_key_file_contents(void **state)
{
	static const struct {
		const char *name;
		const char *text;
		int want;
	} cases[] = {
		{ "valid", KEYFILE(SIGN_A, KEK_1, "\"{IDX}\""), SENIM_OK },
		{ "two keys each",
		  KEYFILE(SIGN_A "," SIGN_B, KEK_1 "," KEK_2, "\"{IDX}\""), SENIM_OK },
		{ "keks out of order", KEYFILE(SIGN_A, KEK_2 "," KEK_1, "\"{IDX}\""),
		  SENIM_OK },
		{ "empty file", "", SENIM_ERR_CONFIG },
		{ "not JSON", "senim keys", SENIM_ERR_CONFIG },
		{ "empty object", "{}", SENIM_ERR_CONFIG },
		{ "array", "[]", SENIM_ERR_CONFIG },
		{ "trailing garbage", KEYFILE(SIGN_A, KEK_1, "\"{IDX}\"") " x",
		  SENIM_ERR_CONFIG },
		{ "format 2",
		  "{\"format\":2,\"signing\":[" SIGN_A "],\"kek\":[" KEK_1
		  "],\"index_key\":\"{IDX}\"}",
		  SENIM_ERR_CONFIG },
		{ "format as string",
		  "{\"format\":\"1\",\"signing\":[" SIGN_A "],\"kek\":[" KEK_1
		  "],\"index_key\":\"{IDX}\"}",
		  SENIM_ERR_CONFIG },
		{ "duplicate member",
		  "{\"format\":1,\"format\":1,\"signing\":[" SIGN_A "],\"kek\":[" KEK_1
		  "],\"index_key\":\"{IDX}\"}",
		  SENIM_ERR_CONFIG },
		{ "no signing keys", KEYFILE("", KEK_1, "\"{IDX}\""), SENIM_ERR_CONFIG },
		{ "no keks", KEYFILE(SIGN_A, "", "\"{IDX}\""), SENIM_ERR_CONFIG },
		{ "no index key", KEYFILE(SIGN_A, KEK_1, "null"), SENIM_ERR_CONFIG },
		{ "short seed",
		  KEYFILE("{\"id\":\"{IDA}\",\"seed\":\"{SHORT}\",\"created_at\":1}",
			  KEK_1, "\"{IDX}\""),
		  SENIM_ERR_CONFIG },
		{ "long seed",
		  KEYFILE("{\"id\":\"{IDA}\",\"seed\":\"{LONG}\",\"created_at\":1}",
			  KEK_1, "\"{IDX}\""),
		  SENIM_ERR_CONFIG },
		{ "seed not base64",
		  KEYFILE("{\"id\":\"{IDA}\",\"seed\":\"!!!!\",\"created_at\":1}", KEK_1,
			  "\"{IDX}\""),
		  SENIM_ERR_CONFIG },
		{ "seed with trailing text",
		  KEYFILE("{\"id\":\"{IDA}\",\"seed\":\"{SEEDA}AAAA\",\"created_at\":1}",
			  KEK_1, "\"{IDX}\""),
		  SENIM_ERR_CONFIG },
		{ "id of another key",
		  KEYFILE("{\"id\":\"{IDB}\",\"seed\":\"{SEEDA}\",\"created_at\":1}",
			  KEK_1, "\"{IDX}\""),
		  SENIM_ERR_CONFIG },
		{ "no id",
		  KEYFILE("{\"seed\":\"{SEEDA}\",\"created_at\":1}", KEK_1, "\"{IDX}\""),
		  SENIM_ERR_CONFIG },
		{ "created_at as string",
		  KEYFILE("{\"id\":\"{IDA}\",\"seed\":\"{SEEDA}\",\"created_at\":\"1\"}",
			  KEK_1, "\"{IDX}\""),
		  SENIM_ERR_CONFIG },
		{ "signing key twice", KEYFILE(SIGN_A "," SIGN_A, KEK_1, "\"{IDX}\""),
		  SENIM_ERR_CONFIG },
		{ "kek version 0",
		  KEYFILE(SIGN_A, "{\"version\":0,\"key\":\"{KEK1}\",\"created_at\":1}",
			  "\"{IDX}\""),
		  SENIM_ERR_CONFIG },
		{ "kek version too large",
		  KEYFILE(SIGN_A,
			  "{\"version\":4294967296,\"key\":\"{KEK1}\",\"created_at\":1}",
			  "\"{IDX}\""),
		  SENIM_ERR_CONFIG },
		{ "kek version twice", KEYFILE(SIGN_A, KEK_1 "," KEK_1, "\"{IDX}\""),
		  SENIM_ERR_CONFIG },
		{ "short kek",
		  KEYFILE(SIGN_A, "{\"version\":1,\"key\":\"{SHORT}\",\"created_at\":1}",
			  "\"{IDX}\""),
		  SENIM_ERR_CONFIG },
		{ "short index key", KEYFILE(SIGN_A, KEK_1, "\"{SHORT}\""),
		  SENIM_ERR_CONFIG },
	};
	struct fx *f = *state;
	struct material m;
	char dir[700];
	material_init(&m);
	snprintf(dir, sizeof(dir), "%s/keys", f->dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text = expand(&m, cases[i].text);
		struct keyring *kr = NULL;
		write_file(f->path, text, 0600);
		int err = keyring_open(f->path, 1, &kr);
		if (err != cases[i].want)
			fail_msg("%s: got %d, want %d", cases[i].name, err,
				 cases[i].want);
		if (!err) {
			/* A refused file is never replaced by a fresh one; an
			 * accepted one keeps its keys. */
			const char *id = keyring_signing_key_id(kr);
			assert_true(strcmp(id, m.ida) == 0 || strcmp(id, m.idb) == 0);
		}
		keyring_free(kr);
		free(text);
	}
}

/* A real key file, truncated or with one character of its seed changed. */
static void test_corrupted_file(void **state)
{
	struct fx *f = *state;
	keyring_free(open_ok(f->path, 1));
	char *text = read_text(f->path);
	char *copy = strdup(text);
	assert_non_null(copy);

	copy[strlen(copy) / 2] = '\0';
	write_file(f->path, copy, 0600);
	struct keyring *kr = NULL;
	assert_int_equal(keyring_open(f->path, 1, &kr), SENIM_ERR_CONFIG);
	assert_null(kr);

	memcpy(copy, text, strlen(text) + 1);
	char *seed = strstr(copy, "\"seed\": \"");
	assert_non_null(seed);
	seed += strlen("\"seed\": \"");
	*seed = *seed == 'A' ? 'B' : 'A';
	write_file(f->path, copy, 0600);
	assert_int_equal(keyring_open(f->path, 1, &kr), SENIM_ERR_CONFIG);
	assert_null(kr);

	/* Put back, it opens again. */
	write_file(f->path, text, 0600);
	keyring_free(open_ok(f->path, 0));
	free(copy);
	free(text);
}

/* ---- the key file as text ------------------------------------------------- */

/* tests/unit/data/vault-kat.keys, and after it bytes that are not part of it. */
static const char kat_text[] =
	"{\"format\": 1,\n"
	" \"signing\": [{\"id\": \"d04ab232742bb4ab\", \"seed\": "
	"\"ERERERERERERERERERERERERERERERERERERERERERE=\", \"created_at\": 1}],\n"
	" \"kek\": [{\"version\": 1, \"key\": "
	"\"MzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzM=\", \"created_at\": 1}],\n"
	" \"index_key\": \"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\"}\n"
	"trailing garbage";

/* keyring_parse reads exactly len bytes, and a ring from text works as one
 * from the file: what one seals the other opens. */
static void test_parse_text(void **state)
{
	struct fx *f = *state;
	size_t len = strlen(kat_text) - strlen("trailing garbage");
	struct keyring *kr = NULL;
	assert_int_equal(keyring_parse(kat_text, len, &kr), SENIM_OK);
	assert_string_equal(keyring_signing_key_id(kr), "d04ab232742bb4ab");
	assert_int_equal(keyring_kek_version(kr), 1);
	assert_int_equal(keyring_kek_count(kr), 1);
	assert_int_equal(keyring_reload(kr), SENIM_OK); /* no file: nothing to do */

	char *dir = strdup(f->path);
	assert_non_null(dir);
	*strrchr(dir, '/') = '\0';
	assert_int_equal(mkdir(dir, 0700), 0);
	free(dir);
	char *copy = strndup(kat_text, len);
	assert_non_null(copy);
	write_file(f->path, copy, 0600);
	free(copy);
	struct keyring *file = open_ok(f->path, 0);
	struct buf sealed;
	buf_init(&sealed, 1024);
	assert_int_equal(keyring_seal(file, "ad", 2, "secret", 6, &sealed), SENIM_OK);
	unsigned char plain[64];
	size_t plen = 0;
	assert_int_equal(keyring_unseal(kr, "ad", 2, sealed.data, sealed.len, plain,
					sizeof(plain), &plen),
			 SENIM_OK);
	assert_int_equal(plen, 6);
	assert_memory_equal(plain, "secret", 6);
	unsigned char a[32], b[32];
	keyring_blind_index(kr, "x", 1, a);
	keyring_blind_index(file, "x", 1, b);
	assert_memory_equal(a, b, sizeof(a));
	buf_release(&sealed);
	keyring_free(file);
	keyring_free(kr);

	/* Cut short, extended with the garbage, or empty: refused. */
	kr = (struct keyring *)1;
	assert_int_equal(keyring_parse(kat_text, len / 2, &kr), SENIM_ERR_CONFIG);
	assert_null(kr);
	assert_int_equal(keyring_parse(kat_text, strlen(kat_text), &kr),
			 SENIM_ERR_CONFIG);
	assert_null(kr);
	assert_int_equal(keyring_parse("", 0, &kr), SENIM_ERR_CONFIG);
	assert_int_equal(keyring_parse(NULL, 0, &kr), SENIM_ERR_CONFIG);
	assert_int_equal(keyring_parse(NULL, 1, &kr), SENIM_ERR_INVALID);
	assert_null(kr);
	assert_int_equal(keyring_parse(kat_text, len, NULL), SENIM_ERR_INVALID);
}

/* ---- signatures -------------------------------------------------------------- */

static void test_sign_verify(void **state)
{
	enum {
		OK,
		FLIP_SIG0,
		FLIP_SIG63,
		FLIP_MSG,
		SHORT_MSG,
		UNKNOWN_ID,
		NULL_ID,
		EMPTY_ID
	};
	static const struct {
		const char *name;
		int change;
		int want;
	} cases[] = {
		{ "untouched", OK, SENIM_OK },
		{ "first signature byte flipped", FLIP_SIG0, SENIM_ERR_CRYPTO },
		{ "last signature byte flipped", FLIP_SIG63, SENIM_ERR_CRYPTO },
		{ "message byte flipped", FLIP_MSG, SENIM_ERR_CRYPTO },
		{ "message shortened", SHORT_MSG, SENIM_ERR_CRYPTO },
		{ "unknown key id", UNKNOWN_ID, SENIM_ERR_CRYPTO },
		{ "no key id", NULL_ID, SENIM_ERR_CRYPTO },
		{ "empty key id", EMPTY_ID, SENIM_ERR_CRYPTO },
	};
	struct fx *f = *state;
	struct keyring *kr = open_ok(f->path, 1);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned char msg[] = "senim-audit-checkpoint-v1 and some bytes";
		size_t len = sizeof(msg) - 1;
		unsigned char sig[KEYRING_SIG_BYTES];
		const char *id = keyring_signing_key_id(kr);
		keyring_sign(kr, msg, len, sig);
		switch (cases[i].change) {
		case FLIP_SIG0:
			sig[0] ^= 1;
			break;
		case FLIP_SIG63:
			sig[63] ^= 0x80;
			break;
		case FLIP_MSG:
			msg[7] ^= 1;
			break;
		case SHORT_MSG:
			len--;
			break;
		case UNKNOWN_ID:
			id = "0000000000000000";
			break;
		case NULL_ID:
			id = NULL;
			break;
		case EMPTY_ID:
			id = "";
			break;
		default:
			break;
		}
		int err = keyring_verify(kr, id, msg, len, sig);
		if (err != cases[i].want)
			fail_msg("%s: got %d, want %d", cases[i].name, err,
				 cases[i].want);
	}
	/* The empty message signs and verifies too. */
	unsigned char sig[KEYRING_SIG_BYTES];
	keyring_sign(kr, NULL, 0, sig);
	assert_int_equal(keyring_verify(kr, keyring_signing_key_id(kr), NULL, 0, sig),
			 SENIM_OK);
	keyring_free(kr);
}

/* With two signing keys the last one signs and both verify; with two KEKs
 * the highest version seals and both open. */
static void test_rotated_keys(void **state)
{
	struct fx *f = *state;
	struct material m;
	char dir[700];
	material_init(&m);
	snprintf(dir, sizeof(dir), "%s/keys", f->dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	char *text = expand(&m, KEYFILE(SIGN_A "," SIGN_B, KEK_2 "," KEK_1, "\"{IDX}\""));
	write_file(f->path, text, 0600);
	free(text);
	struct keyring *kr = open_ok(f->path, 0);

	assert_string_equal(keyring_signing_key_id(kr), m.idb);
	unsigned char pk[KEYRING_PK_BYTES], sig[KEYRING_SIG_BYTES];
	keyring_public_key(kr, pk);
	assert_memory_equal(pk, m.pkb, sizeof(pk));
	keyring_sign(kr, "x", 1, sig);
	assert_int_equal(
		crypto_sign_verify_detached(sig, (const unsigned char *)"x", 1, m.pkb),
		0);
	/* An old signature by A still verifies under A's id, not under B's. */
	crypto_sign_detached(sig, NULL, (const unsigned char *)"old", 3, m.ska);
	assert_int_equal(keyring_verify(kr, m.ida, "old", 3, sig), SENIM_OK);
	assert_int_equal(keyring_verify(kr, m.idb, "old", 3, sig), SENIM_ERR_CRYPTO);

	struct buf sealed;
	buf_init(&sealed, 1024);
	assert_int_equal(keyring_seal(kr, "ad", 2, "p", 1, &sealed), SENIM_OK);
	assert_memory_equal(sealed.data, "\0\0\0\2", 4);
	buf_release(&sealed);

	/* A value sealed by hand under KEK 1 opens; under an unknown version 3
	 * it does not. */
	unsigned char old[KEYRING_SEAL_OVERHEAD + 3];
	unsigned char plain[3];
	size_t len = 0;
	unsigned long long clen = 0;
	memcpy(old, "\0\0\0\1", 4);
	randombytes_buf(old + 4, 24);
	crypto_aead_xchacha20poly1305_ietf_encrypt(
		old + 28, &clen, (const unsigned char *)"abc", 3,
		(const unsigned char *)"ad", 2, NULL, old + 4, m.kek1);
	assert_int_equal(
		keyring_unseal(kr, "ad", 2, old, sizeof(old), plain, sizeof(plain), &len),
		SENIM_OK);
	assert_memory_equal(plain, "abc", 3);
	old[3] = 3;
	assert_int_equal(
		keyring_unseal(kr, "ad", 2, old, sizeof(old), plain, sizeof(plain), &len),
		SENIM_ERR_CRYPTO);
	keyring_free(kr);
}

/* ---- sealing ----------------------------------------------------------------- */

static void test_seal_round_trip(void **state)
{
	static const struct {
		const char *ad;
		size_t len;
	} cases[] = {
		{ "", 0 },   { "subjects:42:contact:phone:v1", 0 },
		{ "", 1 },   { "subjects:42:identity:iin:v1", 12 },
		{ "x", 16 }, { "subjects:42:documents:scan:v1", 5000 },
	};
	struct fx *f = *state;
	struct keyring *kr = open_ok(f->path, 1);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = cases[i].len, adlen = strlen(cases[i].ad), got = 99;
		unsigned char *plain = malloc(len + 1), *back = malloc(len + 1);
		struct buf a, b;
		assert_non_null(plain);
		assert_non_null(back);
		for (size_t k = 0; k < len; k++)
			plain[k] = (unsigned char)(k * 7 + i);
		buf_init(&a, BUF_NO_LIMIT);
		buf_init(&b, BUF_NO_LIMIT);
		assert_int_equal(buf_addstr(&a, "prefix"), SENIM_OK);
		assert_int_equal(keyring_seal(kr, cases[i].ad, adlen, plain, len, &a),
				 SENIM_OK);
		assert_int_equal(keyring_seal(kr, cases[i].ad, adlen, plain, len, &b),
				 SENIM_OK);
		/* Appended after what was there; version 1 first. */
		assert_int_equal(a.len, 6 + KEYRING_SEAL_OVERHEAD + len);
		assert_memory_equal(a.data, "prefix\0\0\0\1", 10);
		/* A fresh nonce every time. */
		assert_memory_not_equal(a.data + 10, b.data + 4, 24);
		assert_int_equal(keyring_unseal(kr, cases[i].ad, adlen, b.data, b.len,
						back, len + 1, &got),
				 SENIM_OK);
		assert_int_equal(got, len);
		if (len)
			assert_memory_equal(back, plain, len);
		buf_release(&a);
		buf_release(&b);
		free(plain);
		free(back);
	}
	keyring_free(kr);
}

static void test_unseal_failures(void **state)
{
	enum {
		OTHER_AD,
		NO_AD,
		FLIP,
		TRUNCATE
	};
	static const struct {
		const char *name;
		int change;
		size_t at; /* byte flipped, or bytes cut */
		int want;
	} cases[] = {
		{ "other associated data", OTHER_AD, 0, SENIM_ERR_CRYPTO },
		{ "no associated data", NO_AD, 0, SENIM_ERR_CRYPTO },
		{ "version byte flipped", FLIP, 3, SENIM_ERR_CRYPTO },
		{ "nonce byte flipped", FLIP, 4, SENIM_ERR_CRYPTO },
		{ "last nonce byte flipped", FLIP, 27, SENIM_ERR_CRYPTO },
		{ "ciphertext byte flipped", FLIP, 30, SENIM_ERR_CRYPTO },
		{ "tag byte flipped", FLIP, KEYRING_SEAL_OVERHEAD + 10 - 1,
		  SENIM_ERR_CRYPTO },
		{ "one byte cut", TRUNCATE, 1, SENIM_ERR_CRYPTO },
		{ "tag cut", TRUNCATE, 16, SENIM_ERR_CRYPTO },
		{ "all but the header cut", TRUNCATE, 10 + 16 + 1, SENIM_ERR_CRYPTO },
		{ "everything cut", TRUNCATE, KEYRING_SEAL_OVERHEAD + 10,
		  SENIM_ERR_CRYPTO },
	};
	struct fx *f = *state;
	struct keyring *kr = open_ok(f->path, 1);
	const char *ad = "subjects:7:contact:email:v1";
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf s;
		unsigned char plain[64];
		size_t len = 99, slen;
		const char *use_ad = ad;
		buf_init(&s, 1024);
		assert_int_equal(keyring_seal(kr, ad, strlen(ad), "0123456789", 10, &s),
				 SENIM_OK);
		slen = s.len;
		switch (cases[i].change) {
		case OTHER_AD:
			use_ad = "subjects:8:contact:email:v1";
			break;
		case NO_AD:
			use_ad = "";
			break;
		case FLIP:
			s.data[cases[i].at] ^= 1;
			break;
		default:
			slen -= cases[i].at;
		}
		memset(plain, 0xee, sizeof(plain));
		int err = keyring_unseal(kr, use_ad, strlen(use_ad), s.data, slen, plain,
					 sizeof(plain), &len);
		if (err != cases[i].want)
			fail_msg("%s: got %d, want %d", cases[i].name, err,
				 cases[i].want);
		assert_int_equal(len, 0);
		/* Nothing of the plaintext leaks into the output on failure. */
		for (size_t k = 0; k + 4 <= sizeof(plain); k++)
			assert_false(memcmp(plain + k, "0123", 4) == 0);
		buf_release(&s);
	}

	/* A buffer too small is the caller's mistake, not a bad ciphertext. */
	struct buf s;
	unsigned char small[4];
	size_t len = 0;
	buf_init(&s, 1024);
	assert_int_equal(keyring_seal(kr, NULL, 0, "0123456789", 10, &s), SENIM_OK);
	assert_int_equal(
		keyring_unseal(kr, NULL, 0, s.data, s.len, small, sizeof(small), &len),
		SENIM_ERR_INVALID);
	buf_release(&s);
	keyring_free(kr);
}

/* ---- blind indexes ----------------------------------------------------------- */

static void test_blind_index(void **state)
{
	struct fx *f = *state;
	struct material m;
	char dir[700];
	material_init(&m);
	snprintf(dir, sizeof(dir), "%s/keys", f->dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	char *text = expand(&m, KEYFILE(SIGN_A, KEK_1, "\"{IDX}\""));
	write_file(f->path, text, 0600);
	free(text);
	struct keyring *kr = open_ok(f->path, 0);
	unsigned char key[32], want[32], got[32];
	memset(key, 0x55, sizeof(key));
	static const char *const inputs[] = { "", "iin:870412300234",
					      "phone:+77011234567" };
	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		size_t len = strlen(inputs[i]);
		crypto_generichash(want, 32, (const unsigned char *)inputs[i], len, key,
				   32);
		keyring_blind_index(kr, inputs[i], len, got);
		assert_memory_equal(got, want, 32);
	}
	keyring_blind_index(kr, NULL, 0, got);
	crypto_generichash(want, 32, NULL, 0, key, 32);
	assert_memory_equal(got, want, 32);
	keyring_free(kr);
}

/* ---- adding KEK versions ------------------------------------------------------ */

/* The names in the key directory other than the key file. */
static int stray_files(const struct fx *f)
{
	char dir[700];
	snprintf(dir, sizeof(dir), "%s/keys", f->dir);
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;
	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
		    strcmp(e->d_name, "senim.keys") != 0)
			n++;
	closedir(d);
	return n;
}

static void test_add_kek(void **state)
{
	struct fx *f = *state;
	struct keyring *old = open_ok(f->path, 1);
	char *before = read_text(f->path);
	uint32_t v = 0;
	assert_int_equal(keyring_kek_version(old), 1);
	assert_int_equal(keyring_kek_count(old), 1);

	/* Members this code does not know are kept. */
	json_error_t jerr;
	json_t *root = json_loads(before, 0, &jerr);
	assert_non_null(root);
	json_object_set_new(root, "comment", json_string("kept"));
	char *with = json_dumps(root, JSON_INDENT(2));
	write_file(f->path, with, 0600);
	free(with);
	json_decref(root);

	assert_int_equal(keyfile_add_kek(f->path, &v), SENIM_OK);
	assert_int_equal(v, 2);
	assert_int_equal(keyfile_add_kek(f->path, &v), SENIM_OK);
	assert_int_equal(v, 3);
	assert_int_equal(mode_of(f->path), 0600);
	assert_int_equal(stray_files(f), 0);

	char *after = read_text(f->path);
	assert_non_null(strstr(after, "\"comment\": \"kept\""));
	root = json_loads(after, JSON_REJECT_DUPLICATES, &jerr);
	assert_non_null(root);
	assert_int_equal(json_array_size(json_object_get(root, "kek")), 3);
	assert_int_equal(json_array_size(json_object_get(root, "signing")), 1);
	json_decref(root);

	/* A fresh ring has all three; the old one gets them on reload, and
	 * the signing key and index key are unchanged. */
	struct keyring *fresh = open_ok(f->path, 0);
	uint32_t vs[8];
	assert_int_equal(keyring_kek_versions(fresh, vs, 8), 3);
	assert_int_equal(vs[0], 1);
	assert_int_equal(vs[1], 2);
	assert_int_equal(vs[2], 3);
	assert_int_equal(keyring_kek_versions(fresh, vs, 2), 2);
	assert_string_equal(keyring_signing_key_id(fresh), keyring_signing_key_id(old));
	unsigned char i1[32], i2[32];
	keyring_blind_index(old, "x", 1, i1);
	keyring_blind_index(fresh, "x", 1, i2);
	assert_memory_equal(i1, i2, 32);

	struct buf s1;
	buf_init(&s1, 1024);
	assert_int_equal(keyring_kek_version(old), 1);
	assert_int_equal(keyring_reload(old), SENIM_OK);
	assert_int_equal(keyring_kek_version(old), 3);
	assert_int_equal(keyring_kek_count(old), 3);
	assert_int_equal(keyring_reload(old), SENIM_OK); /* unchanged: no-op */
	assert_int_equal(keyring_kek_count(old), 3);
	buf_reset(&s1);
	assert_int_equal(keyring_seal(old, "ad", 2, "v3", 2, &s1), SENIM_OK);
	assert_memory_equal(s1.data, "\0\0\0\3", 4);
	unsigned char plain[8];
	size_t len = 0;
	assert_int_equal(keyring_unseal(fresh, "ad", 2, s1.data, s1.len, plain,
					sizeof(plain), &len),
			 SENIM_OK);
	assert_memory_equal(plain, "v3", 2);
	buf_release(&s1);
	keyring_free(fresh);
	keyring_free(old);
	free(after);
	free(before);
}

static void test_add_kek_refusals(void **state)
{
	static const struct {
		const char *name;
		const char *text; /* NULL: no file at all */
		mode_t mode;
		int want;
	} cases[] = {
		{ "no key file", NULL, 0600, SENIM_ERR_CONFIG },
		{ "format 2",
		  "{\"format\":2,\"signing\":[" SIGN_A "],\"kek\":[" KEK_1
		  "],\"index_key\":\"{IDX}\"}",
		  0600, SENIM_ERR_CONFIG },
		{ "not JSON", "senim", 0600, SENIM_ERR_CONFIG },
		{ "a bad KEK",
		  KEYFILE(SIGN_A, "{\"version\":1,\"key\":\"{SHORT}\",\"created_at\":1}",
			  "\"{IDX}\""),
		  0600, SENIM_ERR_CONFIG },
		{ "readable by others", KEYFILE(SIGN_A, KEK_1, "\"{IDX}\""), 0644,
		  SENIM_ERR_CONFIG },
		{ "highest version taken",
		  KEYFILE(SIGN_A,
			  "{\"version\":4294967295,\"key\":\"{KEK1}\",\"created_at\":1}",
			  "\"{IDX}\""),
		  0600, SENIM_ERR_CONFIG },
		{ "valid", KEYFILE(SIGN_A, KEK_2 "," KEK_1, "\"{IDX}\""), 0600,
		  SENIM_OK },
	};
	struct fx *f = *state;
	struct material m;
	char dir[700];
	material_init(&m);
	snprintf(dir, sizeof(dir), "%s/keys", f->dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text = cases[i].text ? expand(&m, cases[i].text) : NULL;
		(void)unlink(f->path);
		if (text)
			write_file(f->path, text, cases[i].mode);
		uint32_t v = 99;
		int err = keyfile_add_kek(f->path, &v);
		if (err != cases[i].want)
			fail_msg("%s: got %d, want %d", cases[i].name, err,
				 cases[i].want);
		if (err) {
			/* Refused: the file is exactly as it was, and no new
			 * one appeared. */
			assert_int_equal(v, 0);
			if (text) {
				char *now = read_text(f->path);
				assert_string_equal(now, text);
				free(now);
			} else {
				assert_int_equal(access(f->path, F_OK), -1);
			}
		} else {
			assert_int_equal(v, 3);
		}
		assert_int_equal(stray_files(f), 0);
		free(text);
	}
	uint32_t v = 0;
	assert_int_equal(keyfile_add_kek(NULL, &v), SENIM_ERR_INVALID);
	assert_int_equal(keyfile_add_kek(f->path, NULL), SENIM_ERR_INVALID);
}

/* A ring holds at most 256 KEK versions: a file with 256 opens and takes
 * no more; one with 257 is refused. */
static void test_kek_capacity(void **state)
{
	struct fx *f = *state;
	struct material m;
	char dir[700];
	material_init(&m);
	snprintf(dir, sizeof(dir), "%s/keys", f->dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	for (int total = 256; total <= 257; total++) {
		struct buf keks;
		buf_init(&keks, BUF_NO_LIMIT);
		for (int v = 1; v <= total; v++)
			assert_int_equal(buf_addf(&keks,
						  "%s{\"version\":%d,\"key\":\"{KEK1}\","
						  "\"created_at\":1}",
						  v > 1 ? "," : "", v),
					 SENIM_OK);
		struct buf tmpl;
		buf_init(&tmpl, BUF_NO_LIMIT);
		assert_int_equal(buf_addf(&tmpl,
					  "{\"format\":1,\"signing\":[" SIGN_A
					  "],\"kek\":[%s],\"index_key\":\"{IDX}\"}",
					  keks.data),
				 SENIM_OK);
		char *text = expand(&m, tmpl.data);
		write_file(f->path, text, 0600);
		struct keyring *kr = NULL;
		uint32_t v = 0;
		if (total == 256) {
			kr = open_ok(f->path, 0);
			assert_int_equal(keyring_kek_count(kr), 256);
			assert_int_equal(keyring_kek_version(kr), 256);
			assert_int_equal(keyfile_add_kek(f->path, &v), SENIM_ERR_CONFIG);
			keyring_free(kr);
		} else {
			assert_int_equal(keyring_open(f->path, 0, &kr), SENIM_ERR_CONFIG);
		}
		free(text);
		buf_release(&tmpl);
		buf_release(&keks);
	}
}

/* Processes adding KEK versions at once each get their own version, and
 * none is lost (the directory lock serialises the rewrites). */
static void test_add_kek_race(void **state)
{
	enum {
		NPROC = 4
	};
	struct fx *f = *state;
	keyring_free(open_ok(f->path, 1));
	for (int i = 0; i < NPROC; i++) {
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			uint32_t v = 0;
			_exit(keyfile_add_kek(f->path, &v) == SENIM_OK ? 0 : 1);
		}
	}
	for (int i = 0; i < NPROC; i++) {
		int status = 0;
		assert_true(wait(&status) > 0);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	struct keyring *kr = open_ok(f->path, 0);
	uint32_t vs[NPROC + 1];
	assert_int_equal(keyring_kek_versions(kr, vs, NPROC + 1), NPROC + 1);
	for (uint32_t i = 0; i < NPROC + 1; i++)
		assert_int_equal(vs[i], i + 1);
	keyring_free(kr);
	assert_int_equal(stray_files(f), 0);
}

/* ---- reloading ------------------------------------------------------------------ */

/* Replace one JSON string member of the key file ("index_key", or the
 * key of the KEK at `kek`) by base64 of 32 bytes of `byte`. */
static void rewrite_member(const char *path, int kek, unsigned char byte)
{
	char *text = read_text(path);
	json_error_t jerr;
	json_t *root = json_loads(text, 0, &jerr);
	assert_non_null(root);
	char b[64];
	b64(b, sizeof(b), byte, 32);
	if (kek < 0)
		json_object_set_new(root, "index_key", json_string(b));
	else
		json_object_set_new(
			json_array_get(json_object_get(root, "kek"), (size_t)kek), "key",
			json_string(b));
	char *out = json_dumps(root, JSON_INDENT(2));
	write_file(path, out, 0600);
	free(out);
	json_decref(root);
	free(text);
}

static void test_reload_refusals(void **state)
{
	struct fx *f = *state;
	struct keyring *kr = open_ok(f->path, 1);
	char *orig = read_text(f->path);
	struct buf s;
	unsigned char plain[8];
	size_t len = 0;
	buf_init(&s, 1024);
	assert_int_equal(keyring_seal(kr, "ad", 2, "ok", 2, &s), SENIM_OK);

	/* A KEK whose bytes changed is refused; the ring keeps its own. */
	uint32_t v = 0;
	assert_int_equal(keyfile_add_kek(f->path, &v), SENIM_OK);
	rewrite_member(f->path, 0, 0x77);
	assert_int_equal(keyring_reload(kr), SENIM_ERR_CONFIG);
	assert_int_equal(keyring_kek_count(kr), 1);
	assert_int_equal(
		keyring_unseal(kr, "ad", 2, s.data, s.len, plain, sizeof(plain), &len),
		SENIM_OK);

	/* So is a changed index key. */
	write_file(f->path, orig, 0600);
	rewrite_member(f->path, -1, 0x78);
	assert_int_equal(keyring_reload(kr), SENIM_ERR_CONFIG);
	/* And a file that no longer parses. */
	write_file(f->path, "{", 0600);
	assert_int_equal(keyring_reload(kr), SENIM_ERR_CONFIG);
	assert_int_equal(keyring_kek_count(kr), 1);

	/* A version removed from the file stays in memory. */
	write_file(f->path, orig, 0600);
	assert_int_equal(keyfile_add_kek(f->path, &v), SENIM_OK);
	assert_int_equal(keyring_reload(kr), SENIM_OK);
	assert_int_equal(keyring_kek_version(kr), 2);
	write_file(f->path, orig, 0600);
	assert_int_equal(keyring_reload(kr), SENIM_OK);
	assert_int_equal(keyring_kek_count(kr), 2);
	assert_int_equal(keyring_reload(NULL), SENIM_ERR_INVALID);
	buf_release(&s);
	free(orig);
	keyring_free(kr);
}

/* A value sealed by another process's newer version opens: unseal re-reads
 * the key file whenever it changed since the last read. */
static void test_unseal_reloads(void **state)
{
	struct fx *f = *state;
	struct keyring *a = open_ok(f->path, 1);
	uint32_t v = 0;
	assert_int_equal(keyfile_add_kek(f->path, &v), SENIM_OK);
	struct keyring *b = open_ok(f->path, 0);
	assert_int_equal(keyring_kek_version(b), 2);
	struct buf s;
	unsigned char plain[16];
	size_t len = 0;
	buf_init(&s, 1024);
	assert_int_equal(keyring_seal(b, "ad", 2, "from b", 6, &s), SENIM_OK);
	assert_int_equal(keyring_kek_version(a), 1);
	assert_int_equal(
		keyring_unseal(a, "ad", 2, s.data, s.len, plain, sizeof(plain), &len),
		SENIM_OK);
	assert_memory_equal(plain, "from b", 6);
	assert_int_equal(keyring_kek_version(a), 2);

	/* A third version right away (a rotation killed and resumed, or two
	 * back to back): the value opens at once, the file having changed
	 * since a's last read of it, however recently that was. */
	assert_int_equal(keyfile_add_kek(f->path, &v), SENIM_OK);
	struct keyring *c = open_ok(f->path, 0);
	buf_reset(&s);
	assert_int_equal(keyring_seal(c, "ad", 2, "from c", 6, &s), SENIM_OK);
	assert_int_equal(
		keyring_unseal(a, "ad", 2, s.data, s.len, plain, sizeof(plain), &len),
		SENIM_OK);
	assert_int_equal(keyring_kek_version(a), 3);
	assert_memory_equal(plain, "from c", 6);
	buf_release(&s);
	keyring_free(c);
	keyring_free(b);
	keyring_free(a);
}

/* A ring that only seals notices a changed key file within a second and
 * seals with the new version, without any reload call. */
static void test_seal_notices_rotation(void **state)
{
	struct fx *f = *state;
	struct keyring *kr = open_ok(f->path, 1);
	struct buf s;
	buf_init(&s, 1024);
	uint32_t v = 0;
	assert_int_equal(keyfile_add_kek(f->path, &v), SENIM_OK);
	usleep(1100 * 1000);
	assert_int_equal(keyring_seal(kr, "ad", 2, "x", 1, &s), SENIM_OK);
	assert_memory_equal(s.data, "\0\0\0\2", 4);
	assert_int_equal(keyring_kek_version(kr), 2);

	/* A broken file is logged once and left alone; the ring goes on. */
	write_file(f->path, "{", 0600);
	usleep(1100 * 1000);
	buf_reset(&s);
	assert_int_equal(keyring_seal(kr, "ad", 2, "x", 1, &s), SENIM_OK);
	assert_memory_equal(s.data, "\0\0\0\2", 4);
	buf_release(&s);
	keyring_free(kr);
}

struct worker {
	struct keyring *kr;
	_Atomic int *stop;
	const struct buf *old; /* sealed under version 1 before the start */
	int id;
	long ops;
	int failures;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct buf s;
	buf_init(&s, 1024);
	while (!atomic_load(w->stop)) {
		char msg[32], ad[16];
		unsigned char plain[64];
		size_t len = 0;
		int n = snprintf(msg, sizeof(msg), "worker %d op %ld", w->id, w->ops);
		snprintf(ad, sizeof(ad), "w%d", w->id);
		buf_reset(&s);
		if (keyring_seal(w->kr, ad, strlen(ad), msg, (size_t)n, &s) != SENIM_OK ||
		    keyring_unseal(w->kr, ad, strlen(ad), s.data, s.len, plain,
				   sizeof(plain), &len) != SENIM_OK ||
		    len != (size_t)n || memcmp(plain, msg, len) != 0)
			w->failures++;
		if (keyring_unseal(w->kr, "old", 3, w->old->data, w->old->len, plain,
				   sizeof(plain), &len) != SENIM_OK ||
		    len != 3 || memcmp(plain, "old", 3) != 0)
			w->failures++;
		w->ops++;
	}
	buf_release(&s);
	return NULL;
}

/* keyfile_add_kek + keyring_reload while four threads seal and unseal:
 * every operation succeeds (run under ASan). */
static void test_reload_concurrent(void **state)
{
	enum {
		NTHREADS = 4,
		ROTATIONS = 12
	};
	struct fx *f = *state;
	struct keyring *kr = open_ok(f->path, 1);
	struct buf old;
	buf_init(&old, 1024);
	assert_int_equal(keyring_seal(kr, "old", 3, "old", 3, &old), SENIM_OK);
	_Atomic int stop = 0;
	struct worker w[NTHREADS];
	pthread_t t[NTHREADS];
	for (int i = 0; i < NTHREADS; i++) {
		w[i] = (struct worker){ .kr = kr, .stop = &stop, .old = &old, .id = i };
		assert_int_equal(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
	}
	for (int r = 0; r < ROTATIONS; r++) {
		uint32_t v = 0;
		usleep(5000);
		assert_int_equal(keyfile_add_kek(f->path, &v), SENIM_OK);
		assert_int_equal(v, (uint32_t)r + 2);
		assert_int_equal(keyring_reload(kr), SENIM_OK);
		assert_int_equal(keyring_kek_version(kr), v);
	}
	usleep(5000);
	atomic_store(&stop, 1);
	long ops = 0;
	for (int i = 0; i < NTHREADS; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(w[i].failures, 0);
		ops += w[i].ops;
	}
	assert_true(ops > 0);
	assert_int_equal(keyring_kek_count(kr), ROTATIONS + 1);
	buf_release(&old);
	keyring_free(kr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_and_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_makes_missing_dirs, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_missing_without_create, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_file_modes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dir_modes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_race, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_file_contents, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupted_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parse_text, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sign_verify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotated_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seal_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unseal_failures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blind_index, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_kek, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_kek_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kek_capacity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_kek_race, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unseal_reloads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seal_notices_rotation, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reload_concurrent, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
