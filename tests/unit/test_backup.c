/*
 * test_backup.c — the pieces of backup/restore that need no store: the key
 * a backup is encrypted under (keyring_derive, a known answer computed
 * apart with Python's hashlib.blake2b), the manifest's parser, and the
 * deployment id's file.  Whole backups and restores are in
 * tests/api/test_backup.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "backup/backup.h"
#include "backup/deployment.h"
#include "vault/keyring.h"
#include "testutil.h"
#include "common/banned.h"

/* KEK version 1 is 32 bytes of '3' (0x33). */
static const char kat_text[] =
	"{\"format\": 1,\n"
	" \"signing\": [{\"id\": \"d04ab232742bb4ab\", \"seed\": "
	"\"ERERERERERERERERERERERERERERERERERERERERERE=\", \"created_at\": 1}],\n"
	" \"kek\": [{\"version\": 1, \"key\": "
	"\"MzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzM=\", \"created_at\": 1}],\n"
	" \"index_key\": \"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\"}\n";

static void test_derive(void **state)
{
	(void)state;
	struct keyring *kr = NULL;
	assert_int_equal(keyring_parse(kat_text, strlen(kat_text), &kr), SENIM_OK);
	unsigned char k[32], k2[32];
	char hex[65];
	assert_int_equal(keyring_derive(kr, 1, "backup|x", 8, k), SENIM_OK);
	sodium_bin2hex(hex, sizeof(hex), k, sizeof(k));
	/* BLAKE2b-256, keyed with the KEK, of "senim-derived-v1" || context */
	assert_string_equal(
		hex, "11f960f3a11e5b800fb2978d95bdaa64f1254215cf10a142dbf0e61c5bd91bf7");
	/* Another context, another key; no such version, no key. */
	assert_int_equal(keyring_derive(kr, 1, "backup|y", 8, k2), SENIM_OK);
	assert_memory_not_equal(k, k2, 32);
	assert_int_equal(keyring_derive(kr, 2, "backup|x", 8, k2), SENIM_ERR_NOT_FOUND);
	assert_int_equal(keyring_derive(kr, 1, NULL, 1, k2), SENIM_ERR_INVALID);
	keyring_free(kr);
}

#define DEP "0123456789abcdef0123456789abcdef"
#define SHA "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

static enum senim_result parse(const char *text, struct backup_manifest *m)
{
	return backup_manifest_parse(text, strlen(text), m);
}

static void test_manifest(void **state)
{
	(void)state;
	struct backup_manifest m;
	const char *good =
		"{\"format\":\"senim-backup-1\",\"deployment\":\"" DEP "\","
		"\"backend\":\"sqlite\",\"schema_version\":20,\"created_at\":5,"
		"\"kek_version\":2,\"parts\":[{\"name\":\"store.sqlite\",\"bytes\":7,"
		"\"sha256\":\"" SHA "\"}]}";
	assert_int_equal(parse(good, &m), SENIM_OK);
	assert_string_equal(m.deployment, DEP);
	assert_string_equal(m.backend, "sqlite");
	assert_string_equal(m.part, "store.sqlite");
	assert_string_equal(m.part_sha256, SHA);
	assert_int_equal(m.schema_version, 20);
	assert_int_equal(m.kek_version, 2);
	assert_int_equal(m.created_at, 5);
	assert_int_equal(m.part_bytes, 7);
	/* Each refused: the rule named in the header. */
	static const char *const bad[] = {
		"",
		"[]",
		/* another format */
		"{\"format\":\"senim-backup-2\",\"deployment\":\"" DEP "\","
		"\"backend\":\"sqlite\",\"schema_version\":20,\"created_at\":5,"
		"\"kek_version\":2,\"parts\":[{\"name\":\"store.sqlite\",\"bytes\":7,"
		"\"sha256\":\"" SHA "\"}]}",
		/* an id in upper case */
		"{\"format\":\"senim-backup-1\",\"deployment\":"
		"\"0123456789ABCDEF0123456789abcdef\","
		"\"backend\":\"sqlite\",\"schema_version\":20,\"created_at\":5,"
		"\"kek_version\":2,\"parts\":[{\"name\":\"store.sqlite\",\"bytes\":7,"
		"\"sha256\":\"" SHA "\"}]}",
		/* a part name of the other store, or a path */
		"{\"format\":\"senim-backup-1\",\"deployment\":\"" DEP "\","
		"\"backend\":\"sqlite\",\"schema_version\":20,\"created_at\":5,"
		"\"kek_version\":2,\"parts\":[{\"name\":\"store.pgdump\",\"bytes\":7,"
		"\"sha256\":\"" SHA "\"}]}",
		"{\"format\":\"senim-backup-1\",\"deployment\":\"" DEP "\","
		"\"backend\":\"sqlite\",\"schema_version\":20,\"created_at\":5,"
		"\"kek_version\":2,\"parts\":[{\"name\":\"../store.sqlite\",\"bytes\":7,"
		"\"sha256\":\"" SHA "\"}]}",
		/* an unknown backend */
		"{\"format\":\"senim-backup-1\",\"deployment\":\"" DEP "\","
		"\"backend\":\"mysql\",\"schema_version\":20,\"created_at\":5,"
		"\"kek_version\":2,\"parts\":[{\"name\":\"store.pgdump\",\"bytes\":7,"
		"\"sha256\":\"" SHA "\"}]}",
		/* KEK version 0, a short hash, two parts, a member twice */
		"{\"format\":\"senim-backup-1\",\"deployment\":\"" DEP "\","
		"\"backend\":\"sqlite\",\"schema_version\":20,\"created_at\":5,"
		"\"kek_version\":0,\"parts\":[{\"name\":\"store.sqlite\",\"bytes\":7,"
		"\"sha256\":\"" SHA "\"}]}",
		"{\"format\":\"senim-backup-1\",\"deployment\":\"" DEP "\","
		"\"backend\":\"sqlite\",\"schema_version\":20,\"created_at\":5,"
		"\"kek_version\":2,\"parts\":[{\"name\":\"store.sqlite\",\"bytes\":7,"
		"\"sha256\":\"0011\"}]}",
		"{\"format\":\"senim-backup-1\",\"deployment\":\"" DEP "\","
		"\"backend\":\"sqlite\",\"schema_version\":20,\"created_at\":5,"
		"\"kek_version\":2,\"parts\":[{\"name\":\"store.sqlite\",\"bytes\":7,"
		"\"sha256\":\"" SHA "\"},{\"name\":\"store.sqlite\",\"bytes\":7,"
		"\"sha256\":\"" SHA "\"}]}",
		"{\"format\":\"senim-backup-1\",\"deployment\":\"" DEP "\","
		"\"backend\":\"sqlite\",\"backend\":\"sqlite\",\"schema_version\":20,"
		"\"created_at\":5,\"kek_version\":2,\"parts\":[{\"name\":\"store."
		"sqlite\","
		"\"bytes\":7,\"sha256\":\"" SHA "\"}]}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct backup_manifest zero;
		memset(&zero, 0, sizeof(zero));
		if (parse(bad[i], &m) != SENIM_ERR_INVALID)
			fail_msg("manifest %zu accepted", i);
		assert_memory_equal(&m, &zero, sizeof(m));
	}
}

static void test_deployment_file(void **state)
{
	(void)state;
	char dir[4096], keys[4200], path[4300], id[DEPLOYMENT_ID_LEN];
	assert_int_equal(testutil_tmpdir("backup", dir, sizeof(dir)), 0);
	snprintf(keys, sizeof(keys), "%s/senim.keys", dir);
	assert_int_equal(deployment_path(keys, path, sizeof(path)), SENIM_OK);
	char want[4300];
	snprintf(want, sizeof(want), "%s/%s", dir, DEPLOYMENT_FILE_NAME);
	assert_string_equal(path, want);
	assert_int_equal(deployment_read_file(path, id), SENIM_ERR_NOT_FOUND);
	FILE *f = fopen(path, "w");
	fputs(DEP "\n", f);
	fclose(f);
	assert_int_equal(deployment_read_file(path, id), SENIM_OK);
	assert_string_equal(id, DEP);
	/* Anything but the id and a newline is not ours. */
	f = fopen(path, "w");
	fputs(DEP "\nmore", f);
	fclose(f);
	assert_int_equal(deployment_read_file(path, id), SENIM_ERR_INVALID);
	assert_true(deployment_id_valid(DEP));
	assert_false(deployment_id_valid("0123"));
	assert_false(deployment_id_valid("0123456789abcdef0123456789abcdeg"));
	testutil_rm_rf(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_derive),
		cmocka_unit_test(test_manifest),
		cmocka_unit_test(test_deployment_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
