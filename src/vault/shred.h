/*
 * shred.h — crypto-shredding of a subject, and the journal that lets a
 * restored backup forget them again (C3, O1).
 *
 * A subject's data is readable only through their data key (vault.h).
 * shred_subject_tx() deletes the wrapped key and the blind indexes (no
 * lookup by IIN, phone or e-mail finds the id again), and with
 * SHRED_DESTROY also the rows of sealed data themselves: the records,
 * sources and findings, pending phone changes, the rights work's access
 * packages, corrections and request texts, a declared income.  Sealed
 * columns other tables must keep (a contract's documents, a loan's
 * contract number, an application's payout account, a decision's inputs)
 * stay, unreadable without the key; ids, amounts and codes stay (the audit
 * log and the disclosure register never hold data).  It writes no audit record: the caller does, in the
 * same transaction, with what was done and never with the data.
 *
 * A backup taken before the shredding still holds the wrapped key.  So
 * every shredded subject id is also appended to the journal, a file
 * outside the database kept beside the key file (default
 * `senim.shred` there), one line a subject:
 *     "<subject id> <anonymise|destroy> <unix seconds>\n"
 * written and fsync'd *before* the transaction that shreds commits: a
 * journal line whose transaction then failed names a subject that a second
 * run shreds anyway, never the reverse.  Appends from several processes
 * (serve, a retention run) are serialised by an exclusive flock on the
 * file, readers take a shared one.  A restore reads it with
 * shred_journal_each() and shreds each subject again (idempotent).
 */
#ifndef SENIM_VAULT_SHRED_H
#define SENIM_VAULT_SHRED_H

#include <stddef.h>
#include <stdint.h>

#include "common/result.h"
#include "store/store.h"
#include "vault/keyring.h"

#define SHRED_JOURNAL_NAME "senim.shred"

enum shred_mode {
	SHRED_ANONYMISE, /* the key and the blind indexes go; sealed rows stay,
			  * unreadable */
	SHRED_DESTROY,	 /* the sealed rows go too */
};

const char *shred_mode_code(enum shred_mode m); /* "anonymise", "destroy" */

/* What shred_subject_tx removed, counted in rows. */
struct shred_counts {
	int64_t keys, indexes, records, other;
};

/*
 * Inside a write transaction: shred subject_id as `mode` says.  Rows that
 * are already gone count 0, so a repeat is harmless.  SENIM_ERR_STORE.
 */
SENIM_MUST_CHECK enum senim_result shred_subject_tx(struct store_tx *tx,
						    const char *subject_id,
						    enum shred_mode mode,
						    struct shred_counts *counts);

/*
 * Inside a write transaction: delete one category of a subject's data (a
 * category whose period ended before the rest, D7): its records; every
 * source row (subject_sources: a recipient's answer, sealed with kr's data
 * key as one record of "<category>.<field>" keys) that carries a field of
 * it, with the findings naming the row.  *n gets the records and source
 * rows deleted.  The key stays: newer data of other categories still needs
 * it.
 * SENIM_ERR_CRYPTO when a source row does not open (the caller rolls back);
 * SENIM_ERR_STORE.
 */
SENIM_MUST_CHECK enum senim_result shred_category_tx(struct store_tx *tx,
						     const struct keyring *kr,
						     const char *subject_id,
						     const char *category, int64_t *n);

/* The journal's path beside key_file ("dir/senim.shred") into out. */
SENIM_MUST_CHECK enum senim_result shred_journal_path(const char *key_file, char *out,
						      size_t size);

/*
 * Append one line per id (ids[0..n)) to the journal at path, creating it
 * (mode 0600) and fsync'ing its directory when it is new, then fsync the
 * file.  SENIM_ERR_INVALID for an id that is not [A-Za-z0-9_-]{1,64};
 * SENIM_ERR_IO when it cannot be written durably (nothing should be
 * shredded then).
 */
SENIM_MUST_CHECK enum senim_result shred_journal_append(const char *path,
							const char *const *ids, size_t n,
							enum shred_mode mode,
							int64_t unix_seconds);

/*
 * Call fn for each entry of the journal, oldest first, until it returns
 * other than SENIM_OK, which is returned.  A missing journal has no
 * entries (SENIM_OK).
 * A malformed line is SENIM_ERR_INVALID with *bad_line (may be NULL) set;
 * an unfinished last line (a crash while appending) is skipped: its
 * transaction never committed.
 */
typedef enum senim_result (*shred_journal_fn)(void *ctx, const char *subject_id,
					      enum shred_mode mode, int64_t at);
SENIM_MUST_CHECK enum senim_result
shred_journal_each(const char *path, shred_journal_fn fn, void *ctx, unsigned *bad_line);

#endif
