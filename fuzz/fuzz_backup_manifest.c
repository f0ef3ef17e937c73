/*
 * fuzz_backup_manifest.c — backup_manifest_parse on arbitrary bytes, as
 * `senim restore DIR` reads DIR/manifest.json, which may come from anywhere
 * (a copy, a disk handed in, another deployment).
 *
 * The input is the file, in an exactly sized heap block (not
 * NUL-terminated) so ASan sees any read past it.  Beyond "no crash, no
 * leak" the target checks:
 *   - the result is SENIM_OK or SENIM_ERR_INVALID, and a refusal leaves the
 *     struct zeroed;
 *   - an accepted manifest has the format this senim writes, a deployment
 *     id and a SHA-256 of lower-case hex, a known backend whose part name
 *     fits it, a schema version and a KEK version from 1, sizes and times
 *     not negative, every string NUL-terminated inside its member;
 *   - parsing is a function of the text: a second parse gives the same.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backup/backup.h"
#include "common/banned.h"

static int hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[n] == '\0';
}

static void check_accepted(const struct backup_manifest *m)
{
	if (!memchr(m->backend, '\0', sizeof(m->backend)) ||
	    !memchr(m->part, '\0', sizeof(m->part)))
		abort();
	if (!hex(m->deployment, DEPLOYMENT_ID_LEN - 1) || !hex(m->part_sha256, 64))
		abort();
	int sqlite = strcmp(m->backend, "sqlite") == 0;
	if (!sqlite && strcmp(m->backend, "postgres") != 0)
		abort();
	if (strcmp(m->part, sqlite ? "store.sqlite" : "store.pgdump") != 0)
		abort();
	if (m->schema_version < 1 || m->kek_version < 1 || m->created_at < 0 ||
	    m->part_bytes < 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size ? size : 1);
	if (!text)
		abort();
	memcpy(text, data, size);
	struct backup_manifest m, again, zero;
	memset(&zero, 0, sizeof(zero));
	enum senim_result rc = backup_manifest_parse(text, size, &m);
	if (rc == SENIM_ERR_INVALID) {
		if (memcmp(&m, &zero, sizeof(m)) != 0)
			abort();
	} else if (rc == SENIM_OK) {
		check_accepted(&m);
		if (backup_manifest_parse(text, size, &again) != SENIM_OK ||
		    memcmp(&m, &again, sizeof(m)) != 0)
			abort();
	} else {
		abort();
	}
	free(text);
	return 0;
}
