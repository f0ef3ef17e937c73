/*
 * test_secretfile.c — the rules every secret file is read under
 * (common/secretfile.h): the key file and the SMS gateway's credentials.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/secretfile.h"
#include "testutil.h"
#include "common/banned.h"

struct dir {
	char path[512];
	char file[600];
};

static int setup(void **state)
{
	static struct dir d;
	if (sodium_init() < 0 || testutil_tmpdir("secretfile", d.path, sizeof(d.path)))
		return -1;
	snprintf(d.file, sizeof(d.file), "%s/secret", d.path);
	*state = &d;
	return 0;
}

static int teardown(void **state)
{
	struct dir *d = *state;
	testutil_rm_rf(d->path);
	return 0;
}

static void write_file(const char *path, const char *text, size_t len, mode_t mode)
{
	(void)unlink(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

/* The whole file, NUL-terminated, in memory of libsodium's. */
static void test_reads_the_whole_file(void **state)
{
	struct dir *d = *state;
	static const char text[] = "line one\nline two\n";
	write_file(d->file, text, sizeof(text) - 1, 0600);
	char *data = NULL;
	size_t len = 0;
	const char *why = "unset";
	assert_int_equal(secret_file_read(d->file, 64, &data, &len, &why), SENIM_OK);
	assert_null(why);
	assert_int_equal(len, sizeof(text) - 1);
	assert_memory_equal(data, text, sizeof(text)); /* with its NUL */
	sodium_free(data);

	/* Owner-only modes other than 0600 are fine too. */
	write_file(d->file, text, sizeof(text) - 1, 0400);
	assert_int_equal(secret_file_read(d->file, 64, &data, &len, &why), SENIM_OK);
	sodium_free(data);
}

/* Any bit for group or others refuses the file, and says how to fix it. */
static void test_refuses_files_open_to_others(void **state)
{
	struct dir *d = *state;
	static const mode_t modes[] = { 0640, 0604, 0620, 0602, 0610, 0601, 0644 };
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		write_file(d->file, "k", 1, modes[i]);
		char *data = (char *)"untouched";
		size_t len = 7;
		const char *why = NULL;
		assert_int_equal(secret_file_read(d->file, 64, &data, &len, &why),
				 SENIM_ERR_CONFIG);
		assert_null(data);
		assert_int_equal(len, 0);
		assert_string_equal(why, "open to group or others (chmod 600 it)");
	}
}

static void test_refuses_empty_oversized_and_odd_files(void **state)
{
	struct dir *d = *state;
	char *data = NULL;
	size_t len = 0;
	const char *why = NULL;
	write_file(d->file, "", 0, 0600);
	assert_int_equal(secret_file_read(d->file, 64, &data, &len, &why),
			 SENIM_ERR_CONFIG);
	assert_string_equal(why, "empty or too large");

	char big[65];
	memset(big, 'x', sizeof(big));
	write_file(d->file, big, sizeof(big), 0600);
	assert_int_equal(secret_file_read(d->file, 64, &data, &len, &why),
			 SENIM_ERR_CONFIG);
	assert_string_equal(why, "empty or too large");
	/* exactly the limit is allowed */
	assert_int_equal(secret_file_read(d->file, 65, &data, &len, &why), SENIM_OK);
	assert_int_equal(len, 65);
	sodium_free(data);

	char sub[600];
	snprintf(sub, sizeof(sub), "%s/adir", d->path);
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_int_equal(secret_file_read(sub, 64, &data, &len, &why), SENIM_ERR_CONFIG);
	assert_string_equal(why, "not a regular file");
	assert_null(data);
}

/* A missing file is told apart: the key file is created when missing. */
static void test_missing_file_is_not_found(void **state)
{
	struct dir *d = *state;
	char path[700];
	snprintf(path, sizeof(path), "%s/none", d->path);
	char *data = NULL;
	size_t len = 0;
	const char *why = NULL;
	assert_int_equal(secret_file_read(path, 64, &data, &len, &why),
			 SENIM_ERR_NOT_FOUND);
	assert_non_null(why);
	assert_null(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reads_the_whole_file),
		cmocka_unit_test(test_refuses_files_open_to_others),
		cmocka_unit_test(test_refuses_empty_oversized_and_odd_files),
		cmocka_unit_test(test_missing_file_is_not_found),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
