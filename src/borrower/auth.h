/*
 * auth.h — borrowers sign in with a one-time code sent by SMS (U4).
 *
 * A code is 6 random digits, valid BORROWER_OTP_SECONDS, good for one
 * successful use and at most BORROWER_OTP_ATTEMPTS wrong tries; a new request
 * replaces the old code.  It is stored only as a keyed hash (the key ring's
 * index key) bound to the phone, so a stolen database cannot be brute-forced
 * offline.  Phones are found by their blind index, never stored in clear.
 *
 * Answers never reveal whether a phone is registered: a code is sent to any
 * valid Kazakhstan number, and a verification fails the same way for a wrong
 * code, an expired code or an unregistered phone.
 *
 * A borrower token ("snb_" + 43 base64url characters) reaches only its own
 * subject's data; it is stored hashed and expires after
 * BORROWER_SESSION_SECONDS.
 *
 * A sign-in is attributable: when the subject's sign-in phone was last set
 * by staff (the maker-checker procedure of borrower/phone.h), the sign-in's
 * audit record names that change as its object ("phone_change:<id>"), so
 * every act of that session traces back to the members who moved the phone.
 *
 * A code is a disclosure (T5): the gateway that carries it learns the
 * phone.  When the recipients file names a processor with an sms/1 service
 * for identification (borrower_sms_processor), every send to the phone of
 * a known subject is a disclosure register entry (exchange/register.h),
 * delivered or failed, written with the send's audit record in the write
 * that follows the send.  A send to a phone no subject holds has no subject
 * to name: it stays in the audit log only (design Q3).  Without such a
 * processor nothing is put on the register.
 */
#ifndef SENIM_BORROWER_AUTH_H
#define SENIM_BORROWER_AUTH_H

#include <stdint.h>

#include "common/ids.h"
#include "common/result.h"
#include "core/contact.h"
#include "core/recipients.h"
#include "store/store.h"
#include "vault/keyring.h"

#define BORROWER_OTP_SECONDS 300
#define BORROWER_OTP_ATTEMPTS 5
#define BORROWER_SESSION_SECONDS (24 * 3600)
#define BORROWER_TOKEN_MAX 64

/* ---- the SMS processor on the register (T5) ---------------------------------------- */

/*
 * The processor that carries codes: the first recipient of kind processor
 * in r with an sms/1 service that serves identification, and that service
 * in *svc; NULL (and *svc NULL) when r is NULL or has none.  Borrowed from r.
 */
const struct recipient *borrower_sms_processor(const struct recipients *r,
					       const struct recipient_service **svc);

/* One SMS's fate, for its register entry.  All zero: no processor, no
 * entry. */
struct borrower_sms_fate {
	const struct recipient *rc;	     /* borrower_sms_processor's, or NULL */
	const struct recipient_service *svc; /* its sms/1 service */
	int failed;			     /* the gateway did not take it */
	int may_have_reached;		     /* failed after the body went out */
};

/*
 * Inside a write transaction: when f names a processor, the register entry
 * of one SMS to subject_id's phone — out, the processor and its service,
 * contact / contact.phone_mobile, identification, agreement, delivered or
 * failed — with its audit record (register_append).  Nothing when f->rc is
 * NULL.  actor is the audit label of who caused the send; strings borrowed.
 * Errors as register_append's: the caller's job must then fail.
 */
SENIM_MUST_CHECK enum senim_result
borrower_sms_register_tx(struct store_tx *tx, const struct keyring *kr,
			 const struct borrower_sms_fate *f, const char *subject_id,
			 const char *actor, const char *request_id);

/* Six fresh random digits. */
void borrower_otp_new_code(char code[7]);

/*
 * Each operation is one struct the caller allocates zeroed (a handler: from
 * the request's arena) and one function that runs inside the write
 * transaction (store_write, or http_write_then from a handler).  A refusal
 * is audited, so the write commits it and returns SENIM_OK; the op says
 * why.  The ops own nothing outside themselves, but hold phones, codes and
 * tokens, and an arena is not wiped: a sign-in is allocated with
 * borrower_sign_in_dispose as its hook; a caller that embeds a code's issue
 * in its own struct (with the SMS text) wipes that struct itself.
 */

/*
 * A sign-in code's issue: stores the hash of `code` (from
 * borrower_otp_new_code, already sent) as the one valid code for `phone`,
 * replacing any earlier one, and appends `borrower.otp_issue`.  With a
 * processor in `sms`, also the send's register entry for each subject
 * holding the phone (none when no one does: Q3).  When sms.failed, no code
 * is stored (the earlier one stays valid) and only the register entries are
 * written, so a caller without a processor skips the write then.
 */
struct borrower_otp {
	/* in */
	const struct keyring *kr;
	const char *request_id; /* outlives the op */
	char phone[PHONE_E164_LEN];
	char code[7];
	struct borrower_sms_fate sms;
	/* out */
	char subject_id[SUBJECT_ID_LEN]; /* the phone's borrower when exactly one
					  * holds it, else "": for the audit
					  * record only, never the answer */
};
SENIM_MUST_CHECK enum senim_result borrower_otp_issue_tx(struct store_tx *tx, void *op);

/* Why a sign-in was refused; each is recorded with outcome "failed" or
 * "ambiguous". */
enum borrower_refusal {
	BORROWER_REFUSED_NONE,
	/* A wrong, expired or used code, an unregistered phone, an IIN that
	 * is not the phone's borrower's (which costs an attempt): one answer
	 * for all, so it tells an attacker nothing. */
	BORROWER_REFUSED_CODE,
	/* A right code for a phone of several borrowers (shared, or recycled
	 * by the operator) without an IIN: the code proves the phone, not the
	 * person.  The code stays usable. */
	BORROWER_REFUSED_IIN_REQUIRED,
};

/*
 * A sign-in with a code: on success the code is marked used and a token
 * issued (borrower.sign_in, the borrower as actor); a wrong code counts
 * against the code's attempts.
 */
struct borrower_sign_in {
	/* in */
	const struct keyring *kr;
	const char *request_id; /* outlives the op */
	char phone[PHONE_E164_LEN];
	char code[7];
	char iin[13]; /* 12 digits, or "" when not given */
	/* out */
	enum borrower_refusal refused;
	char token[BORROWER_TOKEN_MAX]; /* when not refused */
	int64_t expires_at;		/* the token's, microseconds */
	char subject_id[SUBJECT_ID_LEN];
};
SENIM_MUST_CHECK enum senim_result borrower_sign_in_tx(struct store_tx *tx, void *op);
/* Wipe a sign-in op (the code, the token), for arena_alloc_disposable. */
void borrower_sign_in_dispose(void *op);

/* The subject behind a borrower token; SENIM_ERR_AUTH when unknown, expired
 * or revoked. */
SENIM_MUST_CHECK enum senim_result borrower_authenticate(struct store *st,
							 const char *token,
							 char subject_id[SUBJECT_ID_LEN]);

/* A sign-out: revokes the token with its `borrower.sign_out` record;
 * SENIM_ERR_AUTH (nothing written) when it is no live borrower token. */
struct borrower_sign_out {
	/* in (outlive the op) */
	const struct keyring *kr;
	const char *request_id;
	const char *token;
};
SENIM_MUST_CHECK enum senim_result borrower_sign_out_tx(struct store_tx *tx, void *op);

/*
 * Inside a write transaction: revoke every live session of subject_id but
 * the one of keep_token (NULL: all of them); *revoked gets how many.  Used
 * when the sign-in phone changes (borrower/phone.h): whoever held a session
 * through the old phone holds none after.
 */
SENIM_MUST_CHECK enum senim_result borrower_revoke_sessions_tx(struct store_tx *tx,
							       const char *subject_id,
							       const char *keep_token,
							       int64_t *revoked);

/* 1 when the token has the borrower form (prefix). */
int borrower_token_form(const char *token);

#endif
