/*
 * register.h — the disclosure register (T4, T6, S4): who got what about a
 * borrower, or gave what, when, why and on what ground.
 *
 * One row per outbound transfer once its fate is known (delivered, refused,
 * failed, abandoned) and per inbound receipt (received), in the table
 * `disclosures` (store/migrations.c, version 8).  Invariants:
 *
 *   - register_append() is the only writer of `disclosures`: no other
 *     source file holds an INSERT into it (tests/api/test_disclosures.py
 *     greps for one).  It inserts the row and appends its audit record
 *     (transfer.out, transfer.in or transfer.refused, object
 *     "disclosure:<id>") in the caller's write transaction, so the two are
 *     durable together or not at all; the same for the recipient's
 *     snapshot.
 *   - The table is append-only (triggers on both backends): an entry is
 *     never changed or removed, so the register answers for the past.
 *   - The register holds ids and codes only — never a value that was sent
 *     or received — so it outlives crypto-shredding as the audit log does.
 *   - Each entry names the recipient as it was then: a snapshot (code,
 *     kind, country, registration, names in ru and kk) kept once per
 *     distinct identity in `recipient_snapshots`, keyed by the BLAKE2b-128
 *     of its canonical form, so a recipient later renamed or dropped from
 *     the recipients file is still named.
 *
 * The read side (register_list) serves GET /v1/me/disclosures and GET
 * /v1/disclosures: newest first, filtered, a page at a time with an opaque
 * cursor; register_query_parse() turns the query parameters of those
 * routes into a query, naming the parameter at fault.
 */
#ifndef SENIM_REGISTER_H
#define SENIM_REGISTER_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/ids.h"
#include "common/result.h"
#include "core/purposes.h"
#include "core/recipients.h"
#include "store/store.h"
#include "vault/keyring.h"

/* "dsc_" + the id body, with its NUL. */
#define DISCLOSURE_ID_LEN (4 + ID_BODY_CHARS + 1)
/* The recipient snapshot's key: BLAKE2b-128 of its canonical form. */
#define REGISTER_SNAPSHOT_BYTES 16

enum register_direction {
	REGISTER_OUT, /* the lender sent (or would have sent) data */
	REGISTER_IN,  /* the lender received data about the borrower */
	REGISTER_DIRECTION__COUNT
};

enum register_outcome {
	REGISTER_DELIVERED, /* out: the recipient took it */
	REGISTER_RECEIVED,  /* in: a valid answer arrived and was kept */
	REGISTER_REFUSED,   /* out: senim refused it; nothing left */
	REGISTER_FAILED,    /* out: it did not arrive (it may have: may_have_reached) */
	REGISTER_ABANDONED, /* out: nobody awaited it any more; never sent again */
	REGISTER_OUTCOME__COUNT
};

/* "out", "in"; "delivered", ...; NULL out of range.  The _parse functions
 * return the value, or -1 for anything else. */
const char *register_direction_code(int d);
int register_direction_parse(const char *code);
const char *register_outcome_code(int o);
int register_outcome_parse(const char *code);

/* ---- writing --------------------------------------------------------------------- */

/*
 * One entry.  Every string is borrowed for the call.  `categories` and
 * `fields` are comma-separated codes ("identity,contact";
 * "identity.iin,contact.phone_mobile"; the register-only categories of
 * recipients.h included), never values.
 */
struct disclosure {
	const char *subject_id;
	int64_t at; /* microseconds since the epoch; 0: now */
	enum register_direction direction;
	const struct recipient *recipient; /* as the recipients file says now */
	const char *service;		   /* "credit_report" */
	const char *categories;
	const char *fields;
	enum purpose purpose;
	enum recipient_basis basis;
	const char *consent_id; /* the consent that grounded it, or NULL (a
				 * refusal for want of one, law, agreement) */
	const char *legal_ref;	/* with RECIPIENT_BASIS_LAW: the reference */
	enum register_outcome outcome;
	const char *reason;   /* a refusal's or failure's code, or NULL */
	int may_have_reached; /* a failed send that got as far as the body */
	const char *transfer_id;
	const char *request_id;
	const char *actor; /* the audit label: "staff:3", "borrower:sbj_...", "cli" */
};

/*
 * Inside a write transaction: record d — the recipient's snapshot (once per
 * identity), the row, and its audit record, signed into the chain with kr.
 * cross_border and country come from the recipient (abroad when its
 * country is not KZ).  On SENIM_OK the new id is in id (may be NULL).
 * SENIM_ERR_INVALID for an entry that breaks the register's rules (a
 * missing string, received with out, an outcome other than received with
 * in, law without its reference); store and audit errors as they come.  On
 * any error the caller's job must fail: its writes, this row included, are
 * then undone with it (store.h), so no row stands without its record.
 */
SENIM_MUST_CHECK enum senim_result register_append(struct store_tx *tx,
						   const struct keyring *kr,
						   const struct disclosure *d,
						   char id[DISCLOSURE_ID_LEN]);

/*
 * The snapshot key of a recipient: BLAKE2b-128 over its code, kind,
 * country, registration and names, each length-prefixed (a stored format).
 */
void register_snapshot_id(const struct recipient *r,
			  unsigned char out[REGISTER_SNAPSHOT_BYTES]);

/*
 * Append Prometheus text: senim_transfers_total{recipient,direction,outcome},
 * the entries this process committed (counted once their batch is durable).
 * Any thread.  SENIM_OK or the buf's error.
 */
SENIM_MUST_CHECK enum senim_result register_metrics(struct buf *out);

/* ---- reading ------------------------------------------------------------------------ */

#define REGISTER_PAGE_MAX 500	   /* GET /v1/disclosures */
#define REGISTER_SELF_PAGE_MAX 100 /* GET /v1/me/disclosures */
#define REGISTER_EXPORT_MAX 100000 /* rows in one CSV export */
#define REGISTER_PERIOD_MAX_DAYS 366

/* The query parameters, in this order (register_param_name). */
enum register_param {
	REGISTER_P_SUBJECT,
	REGISTER_P_RECIPIENT,
	REGISTER_P_DIRECTION,
	REGISTER_P_OUTCOME,
	REGISTER_P_CROSS_BORDER,
	REGISTER_P_FROM,
	REGISTER_P_TO,
	REGISTER_P_CURSOR,
	REGISTER_P_LIMIT,
	REGISTER_P__COUNT
};
/* "subject", "recipient", ..., "limit". */
const char *register_param_name(enum register_param p);

struct register_query {
	const char *subject_id; /* NULL: any (borrowed) */
	const char *recipient;	/* NULL: any (borrowed) */
	int direction;		/* enum register_direction, or -1: any */
	int outcome;		/* enum register_outcome, or -1: any */
	int cross_border;	/* 0, 1, or -1: any */
	int64_t from_us;	/* at >= from_us */
	int64_t to_us;		/* at < to_us */
	int has_cursor;		/* entries older than (cursor_at, cursor_id) */
	int64_t cursor_at;
	char cursor_id[DISCLOSURE_ID_LEN];
	size_t limit; /* entries per page, 1..the page maximum */
};

/*
 * The query that GET /v1/disclosures' parameters ask for.  values[p] is
 * parameter p's raw value, or NULL when it was not given.  subject is a
 * subject id, recipient a recipient code ([a-z][a-z0-9_]{1,31}), direction
 * and outcome their codes, cross_border "true" or "false", from and to RFC
 * 3339 times (seconds, an optional fraction, Z or an offset), cursor a
 * value an earlier page gave, limit 1..page_max (default
 * min(100, page_max)).  Without from, the period starts
 * REGISTER_PERIOD_MAX_DAYS before its end; without to, it ends at now_us;
 * from must be before to and the period at most REGISTER_PERIOD_MAX_DAYS
 * long.  With periodless set (the borrower's own list) from and to are not
 * required and the period is all time.  Values borrowed by q (subject,
 * recipient) must outlive it.
 *
 * SENIM_ERR_INVALID when a value breaks its rule: *bad is the parameter,
 * *rule a rule of http/problem.h ("format", "enum_value", "min_value",
 * "max_value", "period_length") and *limit the number the rule names.
 */
SENIM_MUST_CHECK enum senim_result
register_query_parse(const char *const values[REGISTER_P__COUNT], size_t page_max,
		     int periodless, int64_t now_us, struct register_query *q,
		     enum register_param *bad, const char **rule, long long *limit);

/* A page's cursor for the entry (at, id): "<at>.<id>" (a cursor is opaque
 * to clients; its form may change). */
#define REGISTER_CURSOR_LEN (20 + 1 + DISCLOSURE_ID_LEN)
void register_cursor_format(int64_t at, const char *id, char out[REGISTER_CURSOR_LEN]);

/* One entry as read back; strings valid for the callback only. */
struct register_entry {
	const char *id;
	int64_t at;
	const char *subject_id;
	int direction; /* enum register_direction */
	const char *recipient;
	const char *service;
	const char *categories;
	const char *fields;
	const char *purpose;
	const char *basis;
	const char *consent_id; /* NULL when none */
	const char *legal_ref;	/* NULL when none */
	int cross_border;
	const char *country;
	int outcome;	    /* enum register_outcome */
	const char *reason; /* NULL when none */
	int may_have_reached;
	const char *transfer_id; /* NULL when none */
	const char *request_id;
	const char *actor;
	/* the snapshot: who the recipient was then */
	const char *snapshot_kind;
	const char *snapshot_name_ru;
	const char *snapshot_name_kk;
};

/* Called once per entry, newest first; a result other than SENIM_OK stops
 * the walk and is returned. */
typedef enum senim_result (*register_entry_fn)(const struct register_entry *e, void *ctx);

/*
 * Inside a transaction: the entries q selects, newest first ((at, id)
 * descending), at most `max` of them (the page's limit, or the export's
 * maximum plus one to tell a too large export), each handed to fn.
 * *count gets how many were.
 */
SENIM_MUST_CHECK enum senim_result register_list(struct store_tx *tx,
						 const struct register_query *q,
						 size_t max, register_entry_fn fn,
						 void *ctx, size_t *count);

/* One transfer of the subject not yet settled (pending or sending). */
struct register_pending {
	const char *id; /* trf_... */
	int64_t created_at;
	const char *recipient;
	const char *service;
	const char *purpose;
	const char *categories;
	const char *fields;
	const char *state;
};
typedef enum senim_result (*register_pending_fn)(const struct register_pending *p,
						 void *ctx);

/* Inside a transaction: the subject's transfers still in the outbox,
 * newest first, at most `max`. */
SENIM_MUST_CHECK enum senim_result
register_in_progress(struct store_tx *tx, const char *subject_id, size_t max,
		     register_pending_fn fn, void *ctx);

/* ---- the listing, an operation ---------------------------------------------------- */

/*
 * Listing the register for one of its routes, in the shape of every
 * operation (subjects.h): register_listing_prepare() walks the entries in a
 * read transaction, handing each to `each` (and, for the borrower's own
 * list, each transfer still in the outbox to `pending`), where the caller
 * builds its answer; register_listing_tx() appends the listing's audit
 * record in the write batch.  The answer is sent only once that record is
 * durable.  The op owns nothing: the caller's context holds the answer.
 */
struct register_listing {
	/* in (strings outlive the op) */
	const struct keyring *kr;
	struct register_query query;
	size_t max;	     /* entries to walk at most */
	int self;	     /* the borrower's own list (R1): disclosure.self_list */
	const char *filters; /* the names of the filters given, "subject,from";
			      * never their values */
	const char *actor;
	const char *request_id;
	register_entry_fn each;
	register_pending_fn pending; /* NULL: the outbox is not read */
	void *ctx;		     /* for each and pending */
	/* out */
	size_t count; /* entries walked */
};

/* The walk, in a read transaction.  each's error ends it and is returned
 * (SENIM_ERR_TOO_LARGE for an export past its maximum, say). */
SENIM_MUST_CHECK enum senim_result register_listing_prepare(struct store *st,
							    struct register_listing *op);
/* The listing's audit record: disclosure.self_list (object
 * "disclosures:<subject>") or disclosure.list (object
 * "disclosures?<filters>"), the subject when one was asked for, purpose
 * legal_obligation (R1; the register's accountability, T6). */
SENIM_MUST_CHECK enum senim_result register_listing_tx(struct store_tx *tx, void *op);

#endif
