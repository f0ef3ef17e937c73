/*
 * phone.h — changing a borrower's sign-in phone (U4, S1, S3, S4).
 *
 * The mobile phone is an authentication factor: whoever receives its SMS
 * codes signs in as the borrower.  No data write moves it (subjects.h); it
 * changes only through one of two procedures, each a pending change that
 * the store keeps in phone_changes (the new phone sealed with the subject's
 * data key, found by its blind index only):
 *
 *   staff, maker-checker: a member acting for identification (U4) proposes
 *     the new phone with the identity check done (PHONE_STEP_PROPOSE); a
 *     member of ANOTHER role approves it (PHONE_STEP_APPROVE) within
 *     PHONE_CHANGE_STAFF_SECONDS.  The proposer never approves their own
 *     proposal, and no member of the proposer's role approves it.
 *   the borrower, signed in: asks for the change (PHONE_STEP_START), which
 *     makes two codes, one sent to the old and one to the new number; both
 *     confirm it (PHONE_STEP_CONFIRM) within BORROWER_OTP_SECONDS and
 *     PHONE_CHANGE_ATTEMPTS tries.
 *
 * Applying a change writes a new contact version, moves the phone's blind
 * index and revokes every borrower session of the subject (the borrower's
 * own confirming session excepted), in one transaction with the audit
 * records; the caller then sends the notice to the OLD number (its text,
 * in the borrower's language, is the API layer's) and records its fate
 * (phone_change_notice_*_tx).  Every SMS to either number is a
 * disclosure to the gateway when the recipients file names it as a
 * processor (borrower/auth.h): the codes' and the notice's register entries
 * are written after their sends.
 * A new proposal or request supersedes the subject's earlier pending ones
 * of the same kind, and a change applied supersedes every other pending
 * one of the subject.
 *
 * Audit operations: subject.phone_change_propose, .phone_change_approve
 * (refusals: outcome "denied"), subject.phone_change_start,
 * .phone_change_confirm (wrong codes: "failed"), subject.phone_change (the
 * change applied, object "phone_change:<id>"), subject.phone_notice.
 */
#ifndef SENIM_PHONE_H
#define SENIM_PHONE_H

#include <stdint.h>

#include "borrower/auth.h"
#include "core/contact.h"
#include "subjects/subjects.h"

#define PHONE_CHANGE_STAFF_SECONDS (24 * 3600)
#define PHONE_CHANGE_ATTEMPTS 5
#define PHONE_CHANGE_ID_LEN 27 /* "pch_" + 22 id characters + NUL */

enum phone_step {
	PHONE_STEP_PROPOSE, /* staff: in new_phone, identity_check */
	PHONE_STEP_APPROVE, /* staff: in change_id */
	PHONE_STEP_START,   /* borrower: in new_phone; out the two codes */
	PHONE_STEP_CONFIRM, /* borrower: in change_id, code_old, code_new, keep_token */
};

/* Why a step was refused (the HTTP edge names the problem). */
enum phone_refusal {
	PHONE_REFUSED_NONE,
	PHONE_REFUSED_ACCESS,	     /* the access decision: see refused */
	PHONE_REFUSED_UNCHANGED,     /* the new phone is the current one */
	PHONE_REFUSED_NOT_FOUND,     /* no such change of this subject and kind */
	PHONE_REFUSED_NOT_PENDING,   /* applied or superseded already */
	PHONE_REFUSED_EXPIRED,	     /* a staff proposal past its 24 hours */
	PHONE_REFUSED_SELF_APPROVAL, /* the proposer approving */
	PHONE_REFUSED_SAME_ROLE,     /* a member of the proposer's role approving */
	PHONE_REFUSED_CODE_INVALID,  /* wrong, expired or spent codes */
};

/*
 * One step of a procedure: filled by the caller, run by phone_change_tx
 * inside a write (store_write / http_write_then), read back.  Holds personal
 * data (phones, codes) and owns nothing outside itself: the caller
 * allocates it zeroed where it can wipe it (sodium_memzero) when done — from
 * the request's arena with a dispose hook that wipes it.
 */
struct phone_change {
	/* in */
	enum phone_step step;
	struct subject_actor actor; /* strings must outlive the op */
	char subject_id[SUBJECT_ID_LEN];
	char change_id
		[PHONE_CHANGE_ID_LEN];	/* APPROVE, CONFIRM; out for PROPOSE, START */
	char new_phone[PHONE_E164_LEN]; /* PROPOSE, START: E.164 */
	const char *identity_check;	/* PROPOSE: an attestation code */
	char code_old[7], code_new[7];	/* CONFIRM in; START out */
	const char *keep_token;		/* CONFIRM: the session kept, or NULL */
	int notice_sent;		/* phone_change_notice_tx: the gateway took it */
	/* The SMS to each number (START: the codes; a change applied: the
	 * notice, to the old one), for the register (T5, borrower/auth.h);
	 * rc NULL: no processor, or that SMS was not tried. */
	struct borrower_sms_fate sms_old, sms_new;
	/* out */
	enum phone_refusal refusal;	/* PHONE_REFUSED_NONE when done */
	struct access_refusal refused;	/* when refusal is the access decision's */
	const char *proposer_role;	/* APPROVE refused for the role: whose it was */
	char old_phone[PHONE_E164_LEN]; /* START, and a change applied */
	int64_t expires_at;		/* PROPOSE, START */
	int applied;			/* APPROVE, CONFIRM: the phone changed */
	int64_t revoked;		/* sessions revoked when applied */
	char role_buf[24];
};

/* Run the step inside a write transaction.  A refusal commits its audit
 * record and is reported in op->refusal with SENIM_OK; other errors roll
 * back (SENIM_ERR_NOT_FOUND: no such subject). */
SENIM_MUST_CHECK enum senim_result phone_change_tx(struct store_tx *tx, void *op);

/*
 * After a change was applied and its notice sent to the old number: record
 * whether the gateway took it (op->notice_sent; outcome "success" or
 * "failed"), as subject.phone_notice.  A write job; op is the step's.
 */
SENIM_MUST_CHECK enum senim_result phone_change_notice_tx(struct store_tx *tx, void *op);

/*
 * After START's codes were sent: their register entries (op->sms_old,
 * op->sms_new; borrower_sms_register_tx), the subject's, with the
 * borrower as actor.  A write job the caller runs only when a processor is
 * configured; op is the step's.
 */
SENIM_MUST_CHECK enum senim_result phone_change_codes_tx(struct store_tx *tx, void *op);

#endif
