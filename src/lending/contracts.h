/*
 * contracts.h — accepting an offer, the contract it makes and its
 * signature with a one-time code (issue 12; P3, D8, U2).
 *
 * Acceptance (the borrower, on an approved application): the offer is
 * checked again against the loan rules in force today with the schedule of
 * the chosen method starting today (an offer outside a rule is never
 * signed: the rule is named and nothing changes); the borrower's name, IIN
 * and address are read from the vault under loan_servicing (U2, decided on
 * the subject's block, restriction and consents as the system's own
 * processing, audited `contract.accept` with the categories read); the
 * contract is rendered from the template (contract/contract.h) as HTML and
 * as PDF, each sealed with the subject's data key bound to the
 * application's id, each with its SHA-256 in the clear; a one-time code is
 * made, stored only as a keyed hash (the key ring's index key) bound to the
 * application and to the PDF's SHA-256, with an expiry and a count of
 * wrong tries; the application moves to `offered`.  The caller sends the
 * code by SMS to op->phone after the write (as sign-in does) and wipes the
 * op.  Accepting again before signing remakes the contract and the code
 * (the number is kept): it is how a lost or locked code is replaced.
 *
 * Signature (the borrower, with the code): a wrong code costs one of
 * CONTRACT_SIGN_ATTEMPTS tries and is refused; an expired code, a locked
 * code, a contract signed already are refused and change nothing.  On
 * success the contract is `signed`: the signed document's SHA-256 (the
 * PDF's: the document the borrower saw and signed) is stored and audited
 * (`contract.sign`, the hash in the record's object, never the content);
 * the application is `signed` with payout_due_at = the signing time plus
 * the cooling-off hold of the rules in force (an online payout above the
 * МРП threshold), else the signing time.
 *
 * Reads: the borrower's own document (HTML or PDF) and receipt, audited
 * under legal_obligation as every read of their own data (R1); staff
 * (underwriter, support) read a document under loan_servicing, the access
 * decided and recorded (`contract.read`, "denied" when refused).
 *
 * Invariants:
 *   - no personal data in the clear in the database: the documents are
 *     sealed; only hashes, the number, the method and times are clear;
 *   - the code is never stored or logged; the op holding it is wiped by
 *     its dispose hook;
 *   - another borrower's application is SENIM_ERR_NOT_FOUND, as one that
 *     does not exist, and nothing is recorded.
 */
#ifndef SENIM_CONTRACTS_H
#define SENIM_CONTRACTS_H

#include <stdint.h>

#include "borrower/auth.h"
#include "common/buf.h"
#include "common/result.h"
#include "contract/contract.h"
#include "core/access.h"
#include "core/contact.h"
#include "core/loan_rules.h"
#include "core/schedule.h"
#include "lending/applications.h"
#include "store/store.h"
#include "vault/keyring.h"

#define CONTRACT_SIGN_ATTEMPTS 5  /* wrong codes before the code locks */
#define CONTRACT_CODE_SECONDS 300 /* a code's life */
#define CONTRACT_NUMBER_MAX 32	  /* "МК-2026-000001" and NUL */
#define CONTRACT_HEX_LEN (2 * CONTRACT_HASH_BYTES + 1)

/* What serve loads once: the template, the fonts (NULL: the defaults) and
 * the lender's name and details as the contract prints them.  Borrowed. */
struct contracts_env {
	const struct contract_template *tpl;
	const char *font, *font_bold;
	const char *lender_name, *lender_details;
};

/* Why an act was refused; CONTRACT_REFUSED_NONE when it was not. */
enum contract_refusal {
	CONTRACT_REFUSED_NONE,
	CONTRACT_REFUSED_ACCESS,       /* the access decision: see `refused` */
	CONTRACT_REFUSED_NOT_APPROVED, /* accept: the application is not approved */
	CONTRACT_REFUSED_METHOD,       /* accept: the offer has no such schedule */
	CONTRACT_REFUSED_LOAN_RULE,    /* accept: `rule` names the rule in force */
	CONTRACT_REFUSED_NO_PHONE,     /* accept: the borrower has no sign-in phone */
	CONTRACT_REFUSED_NOT_ACCEPTED, /* no contract yet */
	CONTRACT_REFUSED_SIGNED,       /* signed already */
	CONTRACT_REFUSED_NOT_SIGNED,   /* receipt: not signed yet */
	CONTRACT_REFUSED_CODE_INVALID, /* sign: wrong code (one try spent) */
	CONTRACT_REFUSED_CODE_EXPIRED, /* sign: the code's time is over */
	CONTRACT_REFUSED_CODE_LOCKED,  /* sign: no tries left */
};

/* A signed contract as its receipt shows it. */
struct contract_receipt {
	char number[CONTRACT_NUMBER_MAX];
	char method[16];
	char sha256_hex[CONTRACT_HEX_LEN]; /* the signed PDF's */
	int64_t signed_at, payout_due_at;  /* microseconds */
	int64_t hold_minutes;		   /* the cooling-off applied, 0 none */
};

/* "annuity", "differentiated", "single" into *m; 0 when none. */
int contracts_method_parse(const char *s, enum schedule_method *m);

/*
 * Accepting: the caller allocates the op zeroed (from the request's arena
 * with contract_accept_dispose), fills "in", runs contracts_accept_tx in
 * the writer; on SENIM_OK without a refusal, sends op->code to op->phone,
 * then (with a processor, borrower/auth.h) runs contracts_accept_sms_tx
 * with op->sms filled for the send's register entry.
 */
struct contract_accept {
	/* in (borrowed; outlive the op) */
	const struct keyring *kr;
	const struct access_matrix *matrix;
	const struct contracts_env *env;
	const struct loan_rules_in_force *rules; /* in force today */
	const char *actor, *request_id, *subject_id, *id;
	enum schedule_method method;
	/* out */
	enum contract_refusal refusal;
	struct access_refusal refused;
	struct loan_rule_refusal rule;
	char state[12]; /* with NOT_APPROVED: the application's state */
	char number[CONTRACT_NUMBER_MAX];
	char sha256_hex[CONTRACT_HEX_LEN]; /* the PDF's */
	int64_t gesv_bp;
	int64_t code_expires_at;
	char phone[PHONE_E164_LEN]; /* personal data: wiped by dispose */
	char code[7];		    /* wiped by dispose */
	struct borrower_sms_fate sms;
};
SENIM_MUST_CHECK enum senim_result contracts_accept_tx(struct store_tx *tx, void *op);
SENIM_MUST_CHECK enum senim_result contracts_accept_sms_tx(struct store_tx *tx, void *op);
void contract_accept_dispose(void *op);

/*
 * Signing: as accepting, with contract_sign_dispose.  `rules` are those in
 * force at the signature (the cooling-off hold).  SENIM_ERR_NOT_FOUND: the
 * subject has no such application.
 */
struct contract_sign {
	/* in */
	const struct keyring *kr;
	const struct loan_rules_in_force *rules;
	const char *actor, *request_id, *subject_id, *id;
	char code[7]; /* wiped by dispose */
	/* out */
	enum contract_refusal refusal;
	int64_t attempts_left; /* with CODE_INVALID */
	struct contract_receipt receipt;
};
SENIM_MUST_CHECK enum senim_result contracts_sign_tx(struct store_tx *tx, void *op);
void contract_sign_dispose(void *op);

/*
 * Reading a contract: the borrower's own (subject_id set; `staff` 0) or
 * staff's (`staff` 1, `role`, subject_id NULL).  `pdf` picks the document;
 * `receipt_only` reads the receipt (the borrower's; refused NOT_SIGNED
 * before the signature).  A write job (its audit record commits with it).
 * `doc` holds the document (personal data): the op's dispose hook wipes
 * and releases it.  SENIM_ERR_NOT_FOUND: no such application (of the
 * subject).
 */
struct contract_read {
	/* in */
	const struct keyring *kr;
	const struct access_matrix *matrix;
	const char *actor, *request_id, *subject_id, *id;
	int staff;
	enum role role;
	int pdf;
	int receipt_only;
	/* out */
	enum contract_refusal refusal;
	struct access_refusal refused;
	char status[12]; /* "pending", "signed" */
	struct contract_receipt receipt;
	struct buf doc;
};
SENIM_MUST_CHECK enum senim_result contracts_read_tx(struct store_tx *tx, void *op);
void contract_read_dispose(void *op);

#endif
