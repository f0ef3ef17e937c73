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
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/buf.h"
#include "vault/keyring.h"
#include "common/banned.h"

/* ---- fixtures ---------------------------------------------------------------- */

struct fx {
	char dir[512];	/* a fresh temporary directory, 0700 */
	char path[600]; /* <dir>/keys/senim.keys (keys/ does not exist yet) */
};

/* rm -rf path (no symlinks are followed). */
static void rm_rf(const char *path)
{
	struct stat sb;
	if (lstat(path, &sb) != 0)
		return;
	if (S_ISDIR(sb.st_mode)) {
		DIR *d = opendir(path);
		struct dirent *e;
		(void)chmod(path, 0700);
		while (d && (e = readdir(d)) != NULL) {
			char sub[1024];
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
			rm_rf(sub);
		}
		if (d)
			closedir(d);
	}
	(void)remove(path);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	const char *base = getenv("SENIM_TMP");
	if (!f)
		return -1;
	if (!base || !*base)
		base = "/tmp";
	(void)mkdir(base, 0700);
	snprintf(f->dir, sizeof(f->dir), "%s/keyring-XXXXXX", base);
	if (!mkdtemp(f->dir)) {
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
	rm_rf(f->dir);
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
		cmocka_unit_test_setup_teardown(test_sign_verify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotated_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seal_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unseal_failures, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
