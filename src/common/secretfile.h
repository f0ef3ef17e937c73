/*
 * secretfile.h — reading a small secret file (the key file, the SMS
 * gateway's credentials) into guarded memory.
 *
 * Both files hold secrets a stolen database must not reach, so both are
 * held to the same rules: a regular file of a bounded size that group and
 * others can neither read nor write, read whole into sodium_malloc'ed
 * memory (guard pages, never swapped, wiped on free).
 */
#ifndef SENIM_SECRETFILE_H
#define SENIM_SECRETFILE_H

#include <stddef.h>

#include "common/result.h"

/*
 * Read all of `path` into *data (NUL-terminated, freed with sodium_free)
 * and *len.  Returns SENIM_OK; SENIM_ERR_NOT_FOUND when the file does not
 * exist; SENIM_ERR_NOMEM; SENIM_ERR_IO when it cannot be examined; and
 * SENIM_ERR_CONFIG when it is refused.  On every error but NOMEM, *why
 * says why in a few words fit for a log line ("not a regular file", "open
 * to group or others (chmod 600 it)", "empty or too large", "changed while
 * it was read", or the system's reason); it never quotes the file's bytes.
 */
SENIM_MUST_CHECK enum senim_result secret_file_read(const char *path, size_t max,
						    char **data, size_t *len,
						    const char **why);

#endif
