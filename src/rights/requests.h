/*
 * requests.h — data-subject rights requests (R1-R4, F1; issue 13): a
 * borrower's demand of access, correction, blocking, unblocking,
 * restriction, lifting a restriction, destruction, or a question about the
 * privacy policy; filed by the borrower or by support on their behalf; the
 * legal deadline in Kazakhstan working days (core/workdays.h); the DPO's
 * queue, assignment and answer, with history.  docs/rights.md says which
 * law sets which deadline.
 *
 * Invariants:
 *   - at most one open request (status open or in_progress) per subject
 *     and type: filing a second finds the first and writes nothing new
 *     (the partial unique index of migration 16 backs the check);
 *   - the due day is fixed at filing, from the filing day in Kazakhstan's
 *     time (UTC+5) and the type's working days; a calendar without a year
 *     the count needs refuses the filing, never guesses;
 *   - a question's text is sealed with the subject's data key; no personal
 *     data goes into a column, an audit record or the history in clear;
 *   - every status change adds a row of history, and every act and read is
 *     audited (purpose legal_obligation: the lender answers under the law)
 *     in the transaction that does it;
 *   - accepting a blocking or restriction request sets the vault's block
 *     or restriction (subjects_block_tx, subjects_restriction_tx) with the
 *     request's id as its basis, in the same transaction; accepting an
 *     unblocking or unrestriction request lifts it.  Accepting the other
 *     types records the answer only: their fulfilment is built on top.
 *
 * Ops follow subjects.h's shape: the caller allocates the op zeroed (a
 * handler from the request's arena with the op's dispose function), fills
 * "in", calls the prepare function if there is one, then runs the _tx
 * function in the writer; "out" is valid once that write returned
 * SENIM_OK.  An unknown request, or another borrower's, is
 * SENIM_ERR_NOT_FOUND, never recorded.
 */
#ifndef SENIM_RIGHTS_REQUESTS_H
#define SENIM_RIGHTS_REQUESTS_H

#include <stddef.h>
#include <jansson.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/result.h"
#include "core/access.h"
#include "core/purposes.h"
#include "core/roles.h"
#include "core/workdays.h"
#include "store/store.h"
#include "vault/shred.h"
#include "vault/keyring.h"

/* "rqt_" + 22 id characters, with its NUL. */
#define REQUEST_ID_LEN (4 + 22 + 1)
#define REQUEST_TEXT_MAX 4000 /* bytes of a question's UTF-8 text */
#define REQUESTS_LIST_MAX 500 /* rows of one list or queue answer */
#define REQUEST_EVENTS_MAX 100
#define REQUEST_LABEL_MAX 80 /* an actor or assignee label */

enum request_type {
	REQUEST_ACCESS,
	REQUEST_CORRECTION,
	REQUEST_BLOCKING,
	REQUEST_UNBLOCKING,
	REQUEST_RESTRICTION,
	REQUEST_UNRESTRICTION,
	REQUEST_DESTRUCTION,
	REQUEST_QUESTION,
	REQUEST_TYPE__COUNT
};

/* The type's code ("access"), or NULL; and back (-1 when unknown). */
const char *request_type_code(enum request_type t);
int request_type_parse(const char *code);
/* Working days the law gives to answer a type (docs/rights.md). */
int request_type_days(enum request_type t);

/* 1 when s is a request id ("rqt_" and 22 id characters). */
int request_id_valid(const char *s);

/* The answers a request can get, each with its text in ru, kk and en
 * (lang 0 ru, 1 kk, 2 en: http/i18n.h's order).  "fulfilled" accepts the
 * request; every other code rejects it. */
int request_answer_valid(const char *code);
const char *request_answer_text(const char *code, int lang);

/* One request as stored. */
struct rights_request {
	char id[REQUEST_ID_LEN];
	char subject_id[64];
	char type[16];
	char status[16]; /* open, in_progress, accepted, rejected */
	char channel[8]; /* app, phone, email, office, letter */
	char identity_check[16];
	char filed_by[REQUEST_LABEL_MAX];
	char assignee[REQUEST_LABEL_MAX];
	char answer[32];
	int64_t filed_at, updated_at, closed_at; /* closed_at 0: open */
	int32_t filed_day, due_day;
	int has_text;
};

/* ---- filing ------------------------------------------------------------------- */

struct request_file {
	/* in */
	const struct keyring *kr;
	const char *actor;	/* "borrower:sbj_..", "staff:12" */
	const char *request_id; /* the HTTP request's id */
	const char *subject_id;
	enum request_type type;
	const char *channel;	    /* "app" for the borrower's own */
	const char *identity_check; /* staff filings: how identity was checked */
	const char *text;	    /* a question's text, else NULL; must outlive */
	size_t text_len;
	/* a correction (R2): the category, its proposed fields (checked by the
	 * caller: api/subject_fields.h; a borrowed reference) and the evidence,
	 * decoded, of evidence_type (REQUEST_EVIDENCE_TYPES); must outlive */
	int category; /* enum category */
	json_t *fields;
	const unsigned char *evidence;
	size_t evidence_len;
	const char *evidence_type;
	/* out */
	int missing_year; /* prepare's SENIM_ERR_NOT_FOUND: the year lacking */
	int existing;	  /* 1: an open request of the type was found */
	struct rights_request req;
	/* private */
	struct rights_request fresh; /* the row prepare made */
	struct buf sealed;	     /* the sealed text, owned: request_file_dispose */
	struct buf sealed_fields, sealed_evidence;
};

/* A correction's evidence: at most this many bytes, of one of these types
 * (the content must begin as the type's does). */
#define REQUEST_EVIDENCE_MAX ((size_t)512 * 1024)
/* 1 when type is a type of evidence taken and data begins as it does. */
int request_evidence_valid(const char *type, const unsigned char *data, size_t len);

/* Fix the id, the filing day and the due day from cal: SENIM_ERR_NOT_FOUND
 * (op->missing_year set) when cal lacks a year the count needs. */
SENIM_MUST_CHECK enum senim_result requests_file_prepare(const struct workdays *cal,
							 struct request_file *op);
/* Find the open request of the type or insert this one, sealing the text;
 * audited `request.file` (outcome "existing" for a duplicate).
 * SENIM_ERR_NOT_FOUND for an unknown subject. */
SENIM_MUST_CHECK enum senim_result requests_file_tx(struct store_tx *tx, void *op);
void request_file_dispose(void *op);

/* ---- reading -------------------------------------------------------------------- */

struct request_event {
	int64_t at;
	char actor[REQUEST_LABEL_MAX];
	char status[16];
	char assignee[REQUEST_LABEL_MAX];
	char answer[32];
};

struct request_read {
	/* in */
	const struct keyring *kr;
	const char *actor;
	const char *request_id;
	const char *subject_id; /* a borrower's own only; NULL: staff, any */
	const char *id;		/* one request; NULL: the list or queue */
	int type;		/* list filter: a request_type, or -1 */
	const char *status;	/* list filter, or NULL */
	/* out */
	struct rights_request *rows; /* malloc'ed: request_read_dispose */
	int count;
	struct request_event *events; /* one request: its history */
	int nevents;
	struct buf text; /* one request: the question's text, wiped on dispose */
	/* staff's view of one correction request: what it proposes (owned,
	 * decrypted, dropped by dispose) and its evidence (wiped on dispose) */
	json_t *correction; /* {"category", "fields", "version"?} or NULL */
	struct buf evidence;
	char evidence_type[32];
};

/* One request with its history and text, or the list: a borrower's own
 * newest first; staff's queue by due day then id.  Audited
 * `request.self_read` or `request.read`. */
SENIM_MUST_CHECK enum senim_result requests_read_tx(struct store_tx *tx, void *op);
void request_read_dispose(void *op);

/* ---- the DPO's acts --------------------------------------------------------------- */

enum request_act {
	REQUEST_ASSIGN, /* assignee: a staff login, not revoked; -> in_progress */
	REQUEST_ANSWER, /* answer code: fulfilled -> accepted, else rejected */
};

struct package_build;
struct retention_rules;

struct request_change {
	/* in */
	const struct keyring *kr;
	const struct access_matrix *matrix;
	const char *actor;
	enum role role;
	const char *request_id;
	const char *id;
	enum request_act act;
	const char *assignee;	   /* REQUEST_ASSIGN */
	const char *answer;	   /* REQUEST_ANSWER */
	const char *shred_journal; /* the shred journal's path (vault/shred.h):
				    * needed to fulfil a destruction request */
	/* the retention file (subjects/retention.h): a legal keeping period
	 * still running refuses a destruction; NULL refuses it whenever one
	 * may be (retention_keeping_tx) */
	const struct retention_rules *retention;
	/* out */
	int closed;	      /* the request was answered already: nothing done */
	int unknown_assignee; /* no such staff login: nothing done */
	struct rights_request req;
	/* a correction's write refused by the vault (a blocked subject, the
	 * sign-in phone): nothing but the refusal's record is done */
	struct access_refusal refused;
	int notices; /* a correction accepted: the recipients queued a notice */
	/* private: the access package requests_change_prepare built, owned
	 * (request_change_dispose) */
	struct package_build *package;
	char package_subject[64];
	/* private: the shredding this answer journalled (vault/shred.h) */
	int journaled;
	char shred_token[SHRED_TOKEN_LEN];
};

/*
 * Outside the writer, before an answer: when the answer fulfils an open
 * access request, build the subject's access package (rights/package.h) in
 * a read transaction, so the write only seals and keeps it.  Nothing for
 * the other acts.  SENIM_ERR_NOT_FOUND for an unknown request; store,
 * vault and memory errors.
 */
SENIM_MUST_CHECK enum senim_result requests_change_prepare(struct store *st,
							   struct request_change *op);

/*
 * Assign or answer; audited `request.assign` or `request.answer` (and the
 * vault's own record for a block or restriction it sets or lifts).  An
 * answer `fulfilled` does what the type asks, in this transaction:
 *   - access (R1): the prepared package is sealed with the subject's data
 *     key and kept with the request (rights_packages), audited
 *     `subject.package`; when the subject's own access is limited by law
 *     (R5) the request is rejected instead with REQUEST_ANSWER_LIMITED,
 *     whatever the ground, and nothing is kept;
 *   - destruction: when no legal hold is open and no loan, obligation or
 *     application is open, the subject is destroyed (shred_subject_tx,
 *     SHRED_DESTROY, journalled first); otherwise the request is rejected
 *     with the ground as its answer (`legal_hold`, `open_loan`);
 *   - correction (R2): the proposed fields become the category's newest
 *     version (subjects_write_tx, source borrower, written by the DPO; the
 *     request keeps the version it made; the old versions stay), and each recipient the disclosure register shows
 *     received the category before is queued a correction notice
 *     (correction_notices), audited `request.correction_notice`;
 *   - blocking, restriction and their lifting as before.
 * The answer op->req holds says what was done.
 */
SENIM_MUST_CHECK enum senim_result requests_change_tx(struct store_tx *tx, void *op);
/* Wipe and free what the op owns (the prepared package); safe on any op. */
void request_change_dispose(void *op);

/* The answer an access request gets when the subject's access is limited
 * by law (R5): one code for every ground, its text neutral. */
#define REQUEST_ANSWER_LIMITED "limited_by_law"

/* The answer `fulfilled` becomes when the request acts on the subject's
 * data (access, correction, blocking, restriction and their lifting) and
 * the subject was shredded already: the request is accepted with it. */
#define REQUEST_ANSWER_DESTROYED "data_destroyed"

/* ---- the access package a request released (R1) ------------------------------- */

/*
 * The borrower's download of the package released for their access
 * request.  Inside the writer (it is audited `request.package_read`,
 * purpose legal_obligation).  SENIM_ERR_NOT_FOUND when the request is not
 * the subject's; op->no_package when it has no package (another type, not
 * accepted).  R5: when the subject's access is limited now, the package is
 * opened as for anyone and dropped, op->refused says ACCESS_LIMITED_BY_LAW
 * (the same answer for every ground) and the audit record's outcome is
 * "denied".  The opened package is owned by the op
 * (request_package_read_dispose wipes it).
 */
struct request_package_read {
	/* in */
	const struct keyring *kr;
	const char *actor;
	const char *request_id;
	const char *subject_id;
	const char *id;
	int html; /* 1: the HTML document, 0: the JSON */
	/* out */
	int no_package;
	struct access_refusal refused;
	struct buf doc; /* the signed document as made */
};

SENIM_MUST_CHECK enum senim_result requests_package_read_tx(struct store_tx *tx,
							    void *op);
void request_package_read_dispose(void *op);

/* ---- metrics ----------------------------------------------------------------------- */

/* Append senim_requests_open{type} and senim_requests_overdue{type} (due
 * day before today in Kazakhstan) for every type, in Prometheus text. */
SENIM_MUST_CHECK enum senim_result requests_metrics(struct store *st, struct buf *out);

#endif
