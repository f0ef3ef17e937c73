/*
 * anchor.h — the audit anchor: a copy of every signed audit checkpoint kept
 * in an append-only file outside the database (S4).
 *
 * The database can be cut back to an older signed checkpoint by anyone who
 * can write it: what is left still verifies.  The anchor remembers how far
 * the log reached.  Each line is one checkpoint, written by the batch that
 * made it right after the batch's COMMIT and made durable (fdatasync)
 * before any of the batch's callers is answered:
 *
 *   senim-anchor-v1 SEQ HASH SIGNED_AT KEY_ID SIGNATURE\n
 *
 * SEQ and SIGNED_AT in decimal, HASH (32 bytes), KEY_ID (16 hex digits) and
 * SIGNATURE (64 bytes) in lower-case hex: the checkpoint's own fields
 * (audit.c signs "senim-audit-checkpoint-v1" || be64(SEQ) || HASH ||
 * be64(SIGNED_AT)).  No personal data: a sequence number, a hash, a time, a
 * key id and a signature.  Lines of several processes may interleave out of
 * sequence order; a reader takes each on its own.
 *
 * Order of durability: the COMMIT first, then the anchor line (while the
 * next batches may already commit).  A crash leaves the database at most
 * AUDIT_ANCHOR_LAG checkpoints ahead of the anchor, never behind it, so a
 * line in the anchor always names a checkpoint the database committed.
 */
#ifndef SENIM_ANCHOR_H
#define SENIM_ANCHOR_H

#include <stddef.h>
#include <stdint.h>

#include "common/result.h"
#include "vault/keyring.h"

#define ANCHOR_HASH_BYTES 32
/* "senim-anchor-v1" + 5 separators + 20 + 64 + 20 + 16 + 128 digits + "\n" */
#define ANCHOR_LINE_MAX 320

struct anchor_entry {
	int64_t seq;
	unsigned char hash[ANCHOR_HASH_BYTES];
	int64_t signed_at;
	char key_id[KEYRING_KEY_ID_LEN];
	unsigned char sig[KEYRING_SIG_BYTES];
	int64_t line; /* 1-based line number in the file (when read) */
};

/* The line for e, "\n" included, into line (ANCHOR_LINE_MAX bytes);
 * returns its length. */
size_t anchor_format(const struct anchor_entry *e, char line[ANCHOR_LINE_MAX]);

/* Parse one line (without its "\n"); SENIM_ERR_INVALID when malformed. */
SENIM_MUST_CHECK enum senim_result anchor_parse(const char *line, size_t len,
						struct anchor_entry *e);

/*
 * Open (creating it, mode 0600) the anchor file for appending: O_APPEND, so
 * writers in several processes never overwrite each other.  A file that
 * ends in a torn line (a crash mid-write) gets its "\n" first, so the next
 * line starts afresh.  *fd >= 0 on SENIM_OK; SENIM_ERR_IO with *why (the
 * system's reason) otherwise.
 */
SENIM_MUST_CHECK enum senim_result anchor_open_append(const char *path, int *fd,
						      const char **why);

/* Append one formatted line with one write and make it durable
 * (fdatasync).  SENIM_ERR_IO with *why when either fails. */
SENIM_MUST_CHECK enum senim_result anchor_append(int fd, const char *line, size_t len,
						 const char **why);

/*
 * Read every line of the anchor at path into *out (malloc'ed, *n entries,
 * in file order).  A line that does not parse, or lacks its "\n", is skipped
 * and counted in *skipped: it is the torn write of a crash or a full disk
 * (never made durable, so never a checkpoint to insist on), or someone
 * wrote to the file — who could as well have deleted lines, which no
 * reader can tell.  SENIM_ERR_NOT_FOUND when the file does not exist,
 * SENIM_ERR_IO when it cannot be read, SENIM_ERR_TOO_LARGE above 1 GiB.
 */
SENIM_MUST_CHECK enum senim_result
anchor_read(const char *path, struct anchor_entry **out, size_t *n, int64_t *skipped);

#endif
