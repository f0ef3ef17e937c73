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
 * every shredding is also written to the journal, a file outside the
 * database kept beside the key file (default `senim.shred` there), and a
 * restore shreds again every subject whose shredding committed
 * (backup_reshred).  A line is one of
 *     "<subject id> <anonymise|destroy> <unix seconds> <token>\n"   intent
 *     "<token> committed\n" | "<token> rolled_back\n"             outcome
 * The token (32 hex digits, random) names one shredding transaction, which
 * may shred many subjects (a retention page).  The protocol:
 *   1. before the transaction can commit, its intent lines are appended and
 *      fsync'd (shred_journal_append): a shredding that commits is always
 *      in the journal;
 *   2. in the transaction, shred_journal_commit_tx() queues the outcome
 *      `committed`, written by the store's after-commit action once the
 *      COMMIT is durable (store.h) — never before it;
 *   3. when the transaction's own work fails after the append (it is rolled
 *      back), the caller writes `rolled_back` (shred_journal_rolled_back);
 *   4. an intent without an outcome (a crash between 1 and 2, a COMMIT whose
 *      fate is unknown, an outcome that could not be written) is *unsettled*:
 *      only the store that ran the transaction knows.  `senim restore`
 *      asks it, before replacing it (shred_journal_settle): the subject's
 *      row is there and their key is gone -> committed; the key is still
 *      there -> rolled back (a key never comes back in that store: the
 *      shredding deletes it, nothing recreates one).  That is sound where a
 *      cancel line alone is not: a crash between the append and the COMMIT
 *      writes no cancel line, yet leaves the key in the store.
 * A restore shreds again the committed intents and, still, the unsettled
 * ones (no store left to ask: a subject whose shredding may have committed
 * is never brought back), never the rolled-back ones — so a subject whose
 * shredding failed, and who got a legal hold or a loan afterwards, keeps
 * their data through a restore.  A line of three fields (no token) counts
 * committed.  A destroy whose intent is settled committed only because an
 * earlier anonymisation deleted the key removes on a restore nothing
 * anyone could read.
 * Appends from several processes (serve, a retention run) are serialised by
 * an exclusive flock on the file, readers take a shared one.
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

#define SHRED_TOKEN_LEN 33 /* 32 hex digits and NUL */

/* A new random token for one shredding transaction. */
void shred_token_new(char token[SHRED_TOKEN_LEN]);

/*
 * Append one intent line per id (ids[0..n)) with `token` to the journal at
 * path, creating it (mode 0600) and fsync'ing its directory when it is
 * new, then fsync the file.  SENIM_ERR_INVALID for an id that is not
 * [A-Za-z0-9_-]{1,64} or a token that is not 32 lower-case hex digits;
 * SENIM_ERR_IO when it cannot be written durably (nothing should be
 * shredded then).
 */
SENIM_MUST_CHECK enum senim_result
shred_journal_append(const char *path, const char *const *ids, size_t n,
		     enum shred_mode mode, int64_t unix_seconds, const char *token);

enum shred_outcome {
	SHRED_COMMITTED,
	SHRED_ROLLED_BACK,
};

/* Append the outcome of each token (tokens[0..n)), fsync'd.
 * SENIM_ERR_INVALID for a malformed token; SENIM_ERR_IO. */
SENIM_MUST_CHECK enum senim_result shred_journal_outcome(const char *path,
							 const char *const *tokens,
							 size_t n,
							 enum shred_outcome outcome);

/*
 * Inside the write transaction that shreds: queue `<token> committed` for
 * after its COMMIT (store_tx_after_commit; path must outlive the write).  A
 * failure to write it then is logged, never the write's result (the intent
 * stays unsettled).  SENIM_ERR_INVALID, SENIM_ERR_NOMEM.
 */
SENIM_MUST_CHECK enum senim_result
shred_journal_commit_tx(struct store_tx *tx, const char *path, const char *token);

/* After the transaction's own work failed (it rolls back): append
 * `<token> rolled_back`; a failure is logged (the intent stays unsettled). */
void shred_journal_rolled_back(const char *path, const char *token);

/* What the journal knows of an intent. */
enum shred_state {
	SHRED_STATE_COMMITTED,	 /* its outcome `committed`, or no token */
	SHRED_STATE_UNSETTLED,	 /* no outcome */
	SHRED_STATE_ROLLED_BACK, /* its outcome `rolled_back` */
};

/*
 * Call fn for each intent of the journal, oldest first, with its token
 * ("" for a line of three fields) and its state, until it returns other
 * than SENIM_OK, which is returned.  A missing journal has no entries
 * (SENIM_OK).  A malformed line is SENIM_ERR_INVALID with *bad_line (may
 * be NULL) set; an unfinished last line (a crash while appending) is
 * skipped: its transaction never committed.
 */
typedef enum senim_result (*shred_journal_fn)(void *ctx, const char *subject_id,
					      enum shred_mode mode, int64_t at,
					      const char *token, enum shred_state state);
SENIM_MUST_CHECK enum senim_result
shred_journal_each(const char *path, shred_journal_fn fn, void *ctx, unsigned *bad_line);

/*
 * Settle the journal's unsettled intents against st, the store their
 * transactions ran on (never a restored copy: its keys are the backup's):
 * a token whose subject st has without a key is `committed`, with a key
 * `rolled_back`; one whose subjects st does not have stays unsettled.  The
 * outcomes are appended.  *committed and *rolled_back get how many tokens.
 * Run with no writer on st (the restore stops serve first).  Store and I/O
 * errors; SENIM_ERR_INVALID for a malformed journal.
 */
SENIM_MUST_CHECK enum senim_result shred_journal_settle(const char *path,
							struct store *st,
							size_t *committed,
							size_t *rolled_back);

#endif
