#include "backup/deployment.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "common/clock.h"
#include "common/banned.h"

enum senim_result deployment_path(const char *key_file, char *out, size_t size)
{
	const char *slash = strrchr(key_file, '/');
	int n = slash ? snprintf(out, size, "%.*s/%s", (int)(slash - key_file), key_file,
				 DEPLOYMENT_FILE_NAME)
		      : snprintf(out, size, "%s", DEPLOYMENT_FILE_NAME);
	return n < 0 || (size_t)n >= size ? SENIM_ERR_INVALID : SENIM_OK;
}

int deployment_id_valid(const char *id)
{
	size_t n = 0;
	for (; id[n]; n++)
		if (!((id[n] >= '0' && id[n] <= '9') || (id[n] >= 'a' && id[n] <= 'f')))
			return 0;
	return n == DEPLOYMENT_ID_LEN - 1;
}

enum senim_result deployment_read_file(const char *path, char id[DEPLOYMENT_ID_LEN])
{
	id[0] = '\0';
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? SENIM_ERR_NOT_FOUND : SENIM_ERR_IO;
	char text[DEPLOYMENT_ID_LEN + 2];
	ssize_t n = read(fd, text, sizeof(text));
	close(fd);
	if (n < 0)
		return SENIM_ERR_IO;
	/* Exactly the id and a newline: anything else is not our file. */
	if (n != DEPLOYMENT_ID_LEN || text[DEPLOYMENT_ID_LEN - 1] != '\n')
		return SENIM_ERR_INVALID;
	text[DEPLOYMENT_ID_LEN - 1] = '\0';
	if (!deployment_id_valid(text))
		return SENIM_ERR_INVALID;
	memcpy(id, text, DEPLOYMENT_ID_LEN);
	return SENIM_OK;
}

/* Create the file at path holding id unless it exists: written to a
 * temporary file, fsync'ed, linked into place (EEXIST: another process's
 * id won, read it back), the directory fsync'ed. */
static enum senim_result write_file(const char *path, char id[DEPLOYMENT_ID_LEN])
{
	char tmp[4200], dir[4200];
	if (snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid()) >=
	    (int)sizeof(tmp))
		return SENIM_ERR_INVALID;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return SENIM_ERR_IO;
	char line[DEPLOYMENT_ID_LEN];
	memcpy(line, id, DEPLOYMENT_ID_LEN - 1);
	line[DEPLOYMENT_ID_LEN - 1] = '\n';
	int bad =
		write(fd, line, sizeof(line)) != (ssize_t)sizeof(line) || fsync(fd) != 0;
	bad |= close(fd) != 0;
	if (!bad && link(tmp, path) != 0 && errno != EEXIST)
		bad = 1;
	unlink(tmp);
	if (bad)
		return SENIM_ERR_IO;
	const char *slash = strrchr(path, '/');
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) : 1,
		 slash ? path : ".");
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	return deployment_read_file(path, id);
}

static enum senim_result read_tx(struct store_tx *tx, void *ctx)
{
	char *id = ctx;
	struct store_rows *r;
	enum senim_result err = store_query_one(
		tx, "SELECT id FROM deployment WHERE one = 1", NULL, 0, &r);
	if (err)
		return err;
	size_t len;
	const char *text = store_rows_text(r, 0, &len);
	if (text && len == DEPLOYMENT_ID_LEN - 1) {
		memcpy(id, text, len);
		id[len] = '\0';
	} else {
		err = SENIM_ERR_INVALID;
	}
	store_rows_free(r);
	return err;
}

enum senim_result deployment_read_store(struct store *st, char id[DEPLOYMENT_ID_LEN])
{
	id[0] = '\0';
	return store_read(st, read_tx, id);
}

static enum senim_result insert_tx(struct store_tx *tx, void *ctx)
{
	const char *id = ctx;
	/* A row already there (another process was first) stays. */
	return store_exec(
		tx,
		"INSERT INTO deployment (one, id, created_at) VALUES (1, $1, $2)"
		" ON CONFLICT DO NOTHING",
		(struct store_val[]){ SV_TEXT(id), SV_INT(clock_now_us()) }, 2, NULL);
}

enum senim_result deployment_ensure(struct store *st, const char *key_file,
				    char id[DEPLOYMENT_ID_LEN],
				    char store_id[DEPLOYMENT_ID_LEN],
				    char file_id[DEPLOYMENT_ID_LEN])
{
	char path[4200], in_store[DEPLOYMENT_ID_LEN], in_file[DEPLOYMENT_ID_LEN];
	id[0] = '\0';
	enum senim_result err = deployment_path(key_file, path, sizeof(path));
	if (err)
		return err;
	err = deployment_read_store(st, in_store);
	if (err && err != SENIM_ERR_NOT_FOUND)
		return err;
	int have_store = !err;
	err = deployment_read_file(path, in_file);
	if (err == SENIM_ERR_NOT_FOUND) {
		/* The store's id, or a new one, into the key directory. */
		if (have_store) {
			memcpy(in_file, in_store, DEPLOYMENT_ID_LEN);
		} else {
			unsigned char raw[16];
			randombytes_buf(raw, sizeof(raw));
			sodium_bin2hex(in_file, DEPLOYMENT_ID_LEN, raw, sizeof(raw));
		}
		err = write_file(path, in_file);
	}
	if (err)
		return err;
	if (!have_store) {
		err = store_write(st, insert_tx, in_file);
		if (!err)
			err = deployment_read_store(st, in_store);
		if (err)
			return err;
	}
	if (store_id)
		memcpy(store_id, in_store, DEPLOYMENT_ID_LEN);
	if (file_id)
		memcpy(file_id, in_file, DEPLOYMENT_ID_LEN);
	if (strcmp(in_store, in_file) != 0)
		return SENIM_ERR_CONFLICT;
	memcpy(id, in_file, DEPLOYMENT_ID_LEN);
	return SENIM_OK;
}
