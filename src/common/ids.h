/*
 * ids.h — opaque record ids whose order follows their creation time.
 *
 * An id is a prefix ("sbj_", "cns_") and 22 characters of the base64url set
 * (A-Z a-z 0-9 - _): 8 characters for the creation time in milliseconds (48
 * bits), then 14 random characters (84 bits).  The characters are assigned
 * in ASCII order ("-", digits, upper case, "_", lower case), so ids sort by
 * time as plain strings.
 *
 * Why: ids are primary keys.  Random keys put every insert on a random leaf
 * of each B-tree that holds them, so one registration dirtied a page per
 * index; time-ordered keys all land on the rightmost leaves, which a batch
 * of inserts shares.  The price: whoever holds an id can read when the
 * record was created, which the audit log records anyway.  84 random bits
 * keep ids unguessable.
 */
#ifndef SENIM_IDS_H
#define SENIM_IDS_H

#include <stddef.h>
#include <stdint.h>

#define ID_BODY_CHARS 22
/* A subject id, "sbj_" + ID_BODY_CHARS characters, with its NUL. */
#define SUBJECT_ID_LEN (4 + ID_BODY_CHARS + 1)

/*
 * Write prefix, then the 22 id characters for time `now_ms` (milliseconds
 * since the epoch), then a NUL into out, which holds
 * strlen(prefix) + ID_BODY_CHARS + 1 bytes.
 */
void id_time_ordered(char *out, const char *prefix, int64_t now_ms);

/* 1 when s is exactly ID_BODY_CHARS characters of the id alphabet. */
int id_body_valid(const char *s);

#endif
