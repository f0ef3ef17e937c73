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
 */
#ifndef SENIM_BORROWER_AUTH_H
#define SENIM_BORROWER_AUTH_H

#include <stdint.h>

#include "common/result.h"
#include "store/store.h"
#include "subjects/subjects.h"
#include "vault/keyring.h"

#define BORROWER_OTP_SECONDS 300
#define BORROWER_OTP_ATTEMPTS 5
#define BORROWER_SESSION_SECONDS (24 * 3600)
#define BORROWER_TOKEN_MAX 64

/* Six fresh random digits. */
void borrower_otp_new_code(char code[7]);

/*
 * Store the hash of `code` (from borrower_otp_new_code, already sent) as the
 * one valid code for `phone` (E.164), replacing any earlier one.
 * *subject_id gets the phone's borrower when exactly one holds it ("" when
 * none or several do) — for the audit record only, never the answer.
 */
SENIM_MUST_CHECK int borrower_otp_issue(struct store *st, const struct keyring *kr,
					const char *request_id, const char *phone,
					char code[7], char subject_id[SUBJECT_ID_LEN]);

/*
 * Check a code; on success token gets a new borrower token, *expires_at its
 * expiry and subject_id the subject.  A phone may be several borrowers'
 * (shared, or recycled by the operator): then the code alone does not say
 * who signs in, and `iin` (12 digits, NULL when not given) must name one of
 * them.  A right code for a phone of several borrowers without an IIN is
 * SENIM_ERR_CONFLICT and leaves the code usable; every other failure — a
 * wrong, expired or used code, an unregistered phone, an IIN that is not
 * the phone's borrower's (which costs an attempt) — is SENIM_ERR_AUTH.
 */
SENIM_MUST_CHECK int borrower_otp_verify(struct store *st, const struct keyring *kr,
					 const char *request_id, const char *phone,
					 const char *code, const char *iin,
					 char token[BORROWER_TOKEN_MAX],
					 int64_t *expires_at,
					 char subject_id[SUBJECT_ID_LEN]);

/*
 * borrower_otp_verify() in three steps, for a caller that must not block on
 * the group commit (http_write_then): _prepare copies phone, code and iin (and
 * keeps request_id, which must outlive the op); _tx checks the code, counts
 * a failed attempt, and on success marks the code used and issues the token,
 * with the audit record either way; _finish answers as borrower_otp_verify()
 * would and wipes and frees op.
 */
struct borrower_verify_op;
SENIM_MUST_CHECK int borrower_otp_verify_prepare(const struct keyring *kr,
						 const char *request_id,
						 const char *phone, const char *code,
						 const char *iin,
						 struct borrower_verify_op **op);
enum senim_result borrower_otp_verify_tx(struct store_tx *tx, void *op);
SENIM_MUST_CHECK int borrower_otp_verify_finish(struct borrower_verify_op *op, int result,
						char token[BORROWER_TOKEN_MAX],
						int64_t *expires_at,
						char subject_id[SUBJECT_ID_LEN]);

/* The subject behind a borrower token; SENIM_ERR_AUTH when unknown, expired
 * or revoked. */
SENIM_MUST_CHECK int borrower_authenticate(struct store *st, const char *token,
					   char subject_id[SUBJECT_ID_LEN]);

/* Revoke a token (log out), in three steps so that the caller need not
 * block on the group commit: _prepare keeps the token's hash (request_id
 * must outlive op); _tx revokes it with its audit record (SENIM_ERR_AUTH
 * when it is no live token); _finish gives the result and frees op. */
struct borrower_signout_op;
SENIM_MUST_CHECK int borrower_sign_out_prepare(const struct keyring *kr,
					       const char *request_id, const char *token,
					       struct borrower_signout_op **op);
enum senim_result borrower_sign_out_tx(struct store_tx *tx, void *op);
SENIM_MUST_CHECK int borrower_sign_out_finish(struct borrower_signout_op *op, int result);

/*
 * Inside a write transaction: revoke every live session of subject_id but
 * the one of keep_token (NULL: all of them); *revoked gets how many.  Used
 * when the sign-in phone changes (borrower/phone.h): whoever held a session
 * through the old phone holds none after.
 */
SENIM_MUST_CHECK int borrower_revoke_sessions_tx(struct store_tx *tx,
						 const char *subject_id,
						 const char *keep_token,
						 int64_t *revoked);

/* 1 when the token has the borrower form (prefix). */
int borrower_token_form(const char *token);

#endif
