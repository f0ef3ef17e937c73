/*
 * retention.h (subjects) — the retention run and legal holds (C3, O1, D7;
 * docs/retention.md).
 *
 * Each subject is in one retention state (core/retention.h), found from the
 * store: a loan open or overdue, an obligation open or an application in
 * progress is open_loan — the automatic hold, the clock does not run;
 * otherwise any loan makes loan_closed (the clock from the last loan's last
 * change), any application applicant_refused (from the last application's
 * last change), and consents all withdrawn consent_withdrawn (from the last
 * withdrawal).  A subject in none of them (an active consent and nothing
 * else) has no clock running.
 *
 * A legal hold (the DPO's: investigation, court, regulator) stops the
 * clock: a subject with an open hold is skipped, and the days a lifted hold
 * was open after the clock started are added to every period.
 *
 * On the day a category's period ends, a `destroy` category's records are
 * deleted (shred_category_tx, D7's short periods) and the purge recorded
 * in retention_purges, a row that a later write of the category deletes
 * (subjects.h), so data given again is purged again.  On the day the last
 * category's ends, the subject is shredded (vault/shred.h): anonymised when
 * the longest-kept entry says anonymise — a row of facts without the id in
 * retention_stats first (the age band from the birth date, amounts and
 * outcomes of loans and applications) — else destroyed.  In the same
 * transaction their active consents end (C3: the ledger records the end,
 * with the run as its receipt), the subject is marked in retention_done
 * (a second run does nothing) and an audit record says what was done,
 * never with the data.  The subject's id is appended to the shred journal
 * before that transaction commits.
 */
#ifndef SENIM_SUBJECTS_RETENTION_H
#define SENIM_SUBJECTS_RETENTION_H

#include <stddef.h>
#include <stdint.h>

#include "common/result.h"
#include "core/retention.h"
#include "store/store.h"
#include "vault/keyring.h"

#define RETENTION_CHUNK_DEFAULT 200
#define RETENTION_CHUNK_MAX 10000

/* ---- the run (`senim retention run`) -------------------------------------------- */

/* What the run found or did for one subject, for the dry run's listing. */
struct retention_step {
	const char *subject_id;
	enum retention_state state;
	const char *what; /* "anonymise", "destroy", "purge <category>", "held" */
};

struct retention_run {
	/* in */
	const struct keyring *kr;
	const struct retention_rules *rules;
	const char *actor;	/* "cli" */
	const char *request_id; /* the run's id, in audit records and receipts */
	const char *journal;	/* the shred journal's path (vault/shred.h) */
	int32_t day;		/* the run's date, days since 1970-01-01 */
	size_t chunk;		/* subjects per write transaction */
	int dry_run;		/* decide and report, change nothing */
	void (*progress)(size_t done, void *ctx);
	void (*step)(const struct retention_step *s, void *ctx); /* may be NULL */
	void *ctx;
	/* out */
	size_t subjects; /* looked at */
	size_t held;	 /* skipped: an open legal hold */
	size_t open;	 /* skipped: open_loan (the automatic hold) */
	size_t anonymised, destroyed;
	size_t purged; /* categories deleted before the rest */
	size_t consents_ended;
};

/*
 * Run retention on op->day over every subject not shredded yet, in id
 * order, op->chunk to a transaction: resumable (a killed run's finished
 * chunks are done, the rest is found again) and idempotent.  SENIM_ERR_IO
 * when the journal cannot be written (that chunk is not shredded);
 * SENIM_ERR_STORE.
 */
SENIM_MUST_CHECK enum senim_result retention_run(struct store *st,
						 struct retention_run *op);

/* ---- a legal keeping period ------------------------------------------------------ */

/*
 * Whether the law still obliges the lender to keep some of the subject's
 * data on `day`: *minimum is the name of the legal minimum (rules'
 * `minimum` lines, e.g. "bureau") of a category with records whose entry
 * for the subject's state names a minimum not over yet (counted from the
 * state's start, plus the days lifted holds stopped the clock), or NULL.
 * Without rules (NULL) every state but consent_withdrawn and "no clock"
 * answers "unknown": nothing is destroyed on a guess.  A subject in
 * open_loan answers NULL (its own ground, the open relation, is the
 * caller's).  For a destruction request (rights/requests.h).
 */
SENIM_MUST_CHECK enum senim_result
retention_keeping_tx(struct store_tx *tx, const struct retention_rules *rules,
		     const char *subject_id, int32_t day, const char **minimum);

/* ---- legal holds ----------------------------------------------------------------- */

enum hold_kind {
	HOLD_INVESTIGATION,
	HOLD_COURT,
	HOLD_REGULATOR,
	HOLD_KIND__COUNT
};
const char *hold_kind_code(enum hold_kind k);
int hold_kind_parse(const char *code); /* -1 when unknown */

/* A reference is a case or letter number: [A-Za-z0-9/._-]{1,64}, never a
 * person's data.  1 when ref is one. */
int hold_reference_valid(const char *ref);

/*
 * Set or lift the hold on a subject (the op of `POST/DELETE
 * /v1/subjects/{id}/hold` and `senim retention hold`).  In: subject_id,
 * kind and reference (setting), actor, request_id, kr.  hold_set_tx:
 * SENIM_ERR_NOT_FOUND for an unknown subject.  Each appends its audit record
 * (retention.hold.set, retention.hold.lift) with the hold's id as the
 * object, and so does a refusal that touched the subject, which returns
 * SENIM_OK with `refused` set so its record commits: HOLD_EXISTS when one
 * is open already (hold_id gets it; outcome "unchanged"), HOLD_NONE when
 * there is none to lift (outcome "not_found").
 */
enum hold_refusal {
	HOLD_OK,
	HOLD_EXISTS,
	HOLD_NONE
};
struct hold_op {
	const struct keyring *kr;
	const char *subject_id;
	enum hold_kind kind;
	const char *reference;
	const char *actor, *request_id;
	char hold_id[40];	   /* out */
	enum hold_refusal refused; /* out */
};
SENIM_MUST_CHECK enum senim_result hold_set_tx(struct store_tx *tx, void *op);
SENIM_MUST_CHECK enum senim_result hold_lift_tx(struct store_tx *tx, void *op);

#endif
