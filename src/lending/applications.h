/*
 * applications.h — borrowers' applications for a microcredit (C4, U1).
 *
 * An application names a product (its current active version, which it
 * keeps), an amount in tiyn, a term in days, a schedule method, and where
 * the money goes: a card number or a bank account (IBAN).  It is refused
 * before anything is written when the product is unknown or inactive, the
 * method is not the product's, the amount or term is outside the product's
 * ranges, or outside the loan rules in force (core/loan_rules.h, the rule
 * named); and when the borrower has one in progress already.
 *
 * Invariants:
 *   - the payout destination is personal data: sealed with the subject's
 *     data key (vault.h), bound to the application's id; only its kind and
 *     last four characters are kept in the clear, for display.  It is never
 *     logged, audited or answered whole;
 *   - the declared monthly income (the debt burden's denominator,
 *     docs/scoring.md) is personal data too: sealed the same way under its
 *     own binding, never logged or audited, answered only to the borrower
 *     who declared it;
 *   - one application in progress per borrower: checked in the write and
 *     kept by the schema's partial unique index (M0009);
 *   - every write (create, withdrawal, refusal) appends its audit record in
 *     the same transaction; a staff read or list (U1) does too;
 *   - C4: while open, an application answers what its product needs and the
 *     borrower has not given — categories without any record (presence
 *     only: nothing is decrypted), consents not active (and of those, the
 *     ones withdrawn).  Refusing to give them declines the application
 *     with reason `data_refused`.
 *
 * The ops follow subjects.h's shape: the caller zeroes the op (a handler
 * from the request's arena with the dispose named after its struct), fills
 * "in", runs the prepare function if there is one, then the _tx job in the
 * writer; "out" is read once the write returned SENIM_OK.
 */
#ifndef SENIM_APPLICATIONS_H
#define SENIM_APPLICATIONS_H

#include <jansson.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/ids.h"
#include "common/result.h"
#include "core/access.h"
#include "core/loan_rules.h"
#include "lending/products.h"
#include "store/store.h"
#include "vault/keyring.h"

struct vault_dek; /* vault/vault.h */

#define APPLICATION_ID_LEN (4 + ID_BODY_CHARS + 1) /* "app_" + body + NUL */
#define APPLICATION_PAYOUT_MAX 34		   /* an IBAN's longest */
#define APPLICATION_LIST_MAX 100		   /* rows per page */
/* The largest declared monthly income, tiyn: a billion tenge a month is
 * past any microcredit borrower, and keeps payments x 10000 far from
 * overflow (core/scorecard.h's money bound is larger still). */
#define APPLICATION_INCOME_MAX_TIYN 100000000000LL

/* 1 when `id` has the form of an application id. */
int application_id_valid(const char *id);

/* Payout destinations: "card" — 16 to 19 digits with a valid Luhn check
 * digit; "account" — a Kazakh IBAN, "KZ" + 2 check digits + 16 characters
 * [0-9A-Z], mod-97 valid.  Returns 1 when `value` is one of `kind`. */
int application_payout_valid(const char *kind, const char *value, size_t len);

struct application {
	char id[APPLICATION_ID_LEN];
	char subject_id[SUBJECT_ID_LEN];
	char product_code[PRODUCT_CODE_MAX + 1];
	int64_t product_version;
	int64_t amount_tiyn, term_days;
	char method[16];	 /* "annuity", ... */
	char payout_kind[8];	 /* "card", "account" */
	char payout_last4[5];	 /* its last four characters */
	char state[12];		 /* "open", "declined", "withdrawn", ... */
	char decline_reason[32]; /* "" unless declined */
	char refused[400];	 /* with data_refused: the codes refused */
	int64_t created_at, updated_at;
};

/* C4: what the product needs and the borrower has not given. */
struct application_missing {
	uint32_t categories; /* CATEGORY_BIT: no record at all */
	uint32_t consents;   /* 1u << consent_kind: not active */
	uint32_t withdrawn;  /* of consents, the ones given and withdrawn */
};

/* Why an application was refused before it was made. */
enum application_refusal {
	APPLICATION_ACCEPTED,
	APPLICATION_PRODUCT_NOT_FOUND,
	APPLICATION_PRODUCT_INACTIVE,
	APPLICATION_METHOD_NOT_ALLOWED,
	APPLICATION_OUTSIDE_PRODUCT, /* field, limit say which bound */
	APPLICATION_LOAN_RULE,	     /* rule says which */
	APPLICATION_OPEN_EXISTS,
	APPLICATION_CARD_NOT_BOUND, /* a card payout naming no bound card of the
				     * subject (lending/cards.h) */
};

/*
 * Making an application.  applications_create_prepare() reads the product
 * and decides the checks above in a read transaction, and seals the payout
 * (SENIM_OK with `refusal` set when refused; nothing is written then);
 * applications_create_tx inserts it, once more refusing a second one in
 * progress, and appends `application.create`; SENIM_ERR_CONFLICT when the
 * schema's index refused it (a writer in another process got in first:
 * nothing is written, answer it as a second application).  The payout value is the
 * caller's (personal data: the caller wipes it); it need not outlive the
 * prepare.
 */
struct application_create {
	/* in (borrowed; outlive the op) */
	const struct keyring *kr;
	const char *actor, *request_id, *subject_id, *product_code;
	const struct loan_rules_in_force *rules;
	int64_t amount_tiyn, term_days;
	const char *method;	 /* checked against the product */
	const char *payout_kind; /* "card" | "account", checked by the caller */
	const char *payout;	 /* read by prepare only: an IBAN, or with
				  * "card" a bound card's id (lending/cards.h) */
	size_t payout_len;
	int income_declared; /* 1: income_tiyn was given (sealed by prepare) */
	int64_t income_tiyn; /* 0..APPLICATION_INCOME_MAX_TIYN, the caller's */
	/* out */
	enum application_refusal refusal;
	const char *field; /* with OUTSIDE_PRODUCT: "amount_tiyn", "term_days" */
	int64_t limit;	   /* the bound broken */
	struct loan_rule_refusal rule; /* with LOAN_RULE */
	struct product product;
	struct application app;
	struct application_missing missing;
	/* private */
	struct buf sealed;
	struct buf income_sealed; /* empty: none declared */
};
SENIM_MUST_CHECK enum senim_result
applications_create_prepare(struct store *st, struct application_create *op);
SENIM_MUST_CHECK enum senim_result applications_create_tx(struct store_tx *tx, void *op);
void application_create_dispose(void *op);

/*
 * How an application is shown.  The full view: id, product {code,
 * version}, amount_tiyn, term_days, schedule_method, payout {kind, last4},
 * state, created_at, updated_at, and when set decline_reason, refused, and
 * while open (m not NULL) missing {categories, consents,
 * withdrawn_consents}.  The limited view (R5: the borrower's own access is
 * limited by law) keeps what the borrower needs to keep the contract and
 * act on it — id, product, amount_tiyn, term_days, schedule_method, state,
 * created_at, updated_at: the state says which acts are open — and nothing
 * of the payout, the decline's reason, what was refused or is missing; the
 * same bytes for the same application, whatever the limit's ground.
 * Returns a new object (caller decrefs), NULL on memory exhaustion.
 */
enum application_view {
	APPLICATION_VIEW_FULL,
	APPLICATION_VIEW_LIMITED
};
json_t *application_json(const struct application *a, const struct application_missing *m,
			 enum application_view v);

/*
 * The borrower's own applications (R1): one by id (with, while open, what
 * it lacks, C4, and its newest decision), or, with id NULL, all of them
 * newest first (at most APPLICATION_LIST_MAX, without the missing lists).
 * Audited as `application.self_read` under legal_obligation, as every read
 * of the borrower's own data; SENIM_ERR_NOT_FOUND when the subject has no
 * application `id` (another's is not found either, and not recorded).
 * One also opens the income the borrower declared in it (their own data).
 *
 * R5: the caller decides in the writer whether the borrower's own access is
 * limited by law (rights/package.h: package_limited_tx) and sets `limited`
 * before this tx runs.  Then everything is read as without it (no timing
 * tell), what the limited view does not show — the decision's outcome and
 * reasons, the C4 lists — is wiped from the op here, the record's outcome
 * is "limited" (never the ground), and the caller answers
 * APPLICATION_VIEW_LIMITED.
 */
struct application_own {
	/* in */
	const struct keyring *kr;
	const char *actor, *request_id, *subject_id;
	const char *id; /* NULL: the list */
	int limited;	/* R5: set in the writer, before the tx */
	/* out */
	struct application app;		    /* one */
	struct application_missing missing; /* one */
	/* one: its newest decision (decisions.h), outcome "" when none */
	char outcome[8];	  /* "approve", "decline", "refer" */
	char reasons[256];	  /* reason codes, comma-separated */
	int income_declared;	  /* one: an income was declared ... */
	int64_t income_tiyn;	  /* ... this one */
	struct application *rows; /* the list: heap, `count` of them */
	int count;
};
SENIM_MUST_CHECK enum senim_result applications_own_tx(struct store_tx *tx, void *op);
void application_own_dispose(void *op);

/*
 * A borrower's act on an open application: withdraw it, or refuse to give
 * data it needs (C4), which declines it with reason `data_refused`.  The
 * refused categories and consents must each be among those missing now,
 * else `refusal_invalid` is set and nothing is written.  Audited as
 * `application.withdraw` / `application.decline`.  SENIM_ERR_NOT_FOUND when
 * the subject has no such application.  This op owns nothing.
 */
enum application_act {
	APPLICATION_WITHDRAW,
	APPLICATION_REFUSE_DATA
};
struct application_change {
	/* in */
	const struct keyring *kr;
	const char *actor, *request_id, *subject_id, *id;
	enum application_act act;
	uint32_t refused_categories, refused_consents; /* with REFUSE_DATA */
	/* out */
	int not_open;		/* its state is not "open": nothing changed */
	int refusal_invalid;	/* refused what is not missing: nothing changed */
	struct application app; /* as it stands after the act */
};
SENIM_MUST_CHECK enum senim_result applications_change_tx(struct store_tx *tx, void *op);

/*
 * Staff under U1 (loan_application_review).  The read decides access as
 * every purpose-bound access does (role, purpose, the subject's block,
 * restriction and consents) and records it (`application.read`, "denied"
 * when refused).  The list is the queue: applications in `state`, oldest
 * first, after the id `after` ("" from the start), at most `limit`, of
 * subjects not blocked; recorded as `application.list`.
 */
struct application_staff {
	/* in */
	const struct keyring *kr;
	const struct access_matrix *matrix;
	enum role role;
	const char *actor, *request_id;
	const char *id;	   /* read: the application */
	const char *state; /* list: the state (static) */
	const char *after; /* list: "" or an id */
	int limit;	   /* list: 1..APPLICATION_LIST_MAX */
	/* out */
	struct access_refusal refused;
	struct application app;		    /* read */
	struct application_missing missing; /* read */
	struct application *rows;	    /* list: heap, `count` of them */
	int count;
	int more; /* list: another page follows */
};
SENIM_MUST_CHECK enum senim_result applications_staff_read_tx(struct store_tx *tx,
							      void *op);
SENIM_MUST_CHECK enum senim_result applications_staff_list_tx(struct store_tx *tx,
							      void *op);
void application_staff_dispose(void *op);

/*
 * Inside a transaction, for lending's other modules (decisions.h): the
 * application `id` of subject_id (any subject's with NULL) into *a,
 * SENIM_ERR_NOT_FOUND when there is none; and what an open one lacks (C4;
 * zero for any other state).  No access decision, no audit record.
 */
SENIM_MUST_CHECK enum senim_result applications_load_in(struct store_tx *tx,
							const char *subject_id,
							const char *id,
							struct application *a);
SENIM_MUST_CHECK enum senim_result applications_missing_in(struct store_tx *tx,
							   const struct application *a,
							   struct application_missing *m);
/*
 * Inside a transaction: *named 1 when a card application of subject_id
 * that is signed and not yet paid out (state `signed`) names card_id as
 * its payout, its sealed payout opened with `dek`; 0 otherwise.  The card
 * of such an application cannot be removed (lending/cards.h).
 */
SENIM_MUST_CHECK enum senim_result
applications_card_named_in(struct store_tx *tx, const struct vault_dek *dek,
			   const char *subject_id, const char *card_id, int *named);

/*
 * Inside a transaction: the monthly income declared in application `a`,
 * opened with the subject's data key `dek`: *declared 0 (and *income_tiyn
 * 0) when none was.  SENIM_ERR_CRYPTO (or the vault's error) when the
 * sealed value does not open — it is never guessed.  The caller wipes
 * *income_tiyn when done; nothing is logged or audited here.
 */
SENIM_MUST_CHECK enum senim_result
applications_income_in(struct store_tx *tx, const struct vault_dek *dek,
		       const struct application *a, int *declared, int64_t *income_tiyn);

/* "data_refused" and the other stable decline codes. */
#define APPLICATION_DECLINE_DATA_REFUSED "data_refused"

#endif
