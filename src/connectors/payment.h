/*
 * payment.h — payout/1, the payment provider's wire API, as a pure codec
 * (docs/connectors/payment-provider.md; the test peer is
 * tests/peers/payment_provider.py): the payout request, the check of its
 * answer (to POST /v1/payouts and to GET /v1/payouts/{operation_key}), and
 * the provider's repayment notice that senim receives
 * (POST /v1/loans/{id}/payments).  No I/O, no clock: the caller passes
 * "now".
 *
 * A payout is named by its operation key, "pyo_" and 22 base64url
 * characters (common/ids.h's shape), chosen by senim once per payout and
 * sent as the Idempotency-Key and in the body.  A payout that may have
 * reached the provider is never sent under another key: after a timeout it
 * is asked about (payment_status_path()) or sent again under the same key,
 * which the provider answers with its first result.
 *
 * An answer that parses CODEC_OK keeps these invariants:
 *   - operation_key is the one sent, amount_tiyn the amount sent and
 *     currency "KZT" — else CODEC_WRONG_SUBJECT: the answer is about
 *     another payout, or lies about this one, and nothing of it is trusted
 *     (not retried: a person looks at the payout);
 *   - status is accepted, completed or rejected; provider_ref is 1 to
 *     PAYMENT_REF_MAX characters of [A-Za-z0-9_.:-];
 *   - completed: completed_at is an RFC 3339 UTC time from 2000 on and no
 *     more than CODEC_CLOCK_SKEW_S after now; rejected: reject_code is
 *     [a-z0-9_]{1,64}.
 * Verdicts and reasons are codec.h's: a reason never carries a byte of the
 * answer.  The parsers return SENIM_OK whatever the verdict; only running
 * out of memory is SENIM_ERR_NOMEM.
 *
 * The repayment notice is input from outside, so it is stricter than an
 * answer: at most PAYMENT_NOTICE_MAX bytes, exactly the keys of its schema
 * (an unknown key is refused, not ignored), no key twice.
 *
 * Minimisation (T5): a payout carries the amount, the contract reference
 * and the destination; the borrower's IIN goes only with an IBAN, as the
 * account holder's IIN the receiving bank checks the account against.  A
 * card payout carries the provider's card token, never a card number.
 */
#ifndef SENIM_PAYMENT_H
#define SENIM_PAYMENT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/result.h"
#include "connectors/codec.h"
#include "core/iban.h"

#define PAYMENT_KEY_LEN 26 /* "pyo_" + 22 */
#define PAYMENT_KEY_SIZE (PAYMENT_KEY_LEN + 1)
#define PAYMENT_KEY_PREFIX "pyo_"
#define PAYMENT_REF_MAX 64   /* provider_ref, contract_ref: characters */
#define PAYMENT_CODE_MAX 64  /* reject_code */
#define PAYMENT_TOKEN_MIN 16 /* a card token's characters */
#define PAYMENT_TOKEN_MAX 64
#define PAYMENT_NOTICE_MAX 4096	   /* bytes of a repayment notice */
#define PAYMENT_PATH "/v1/payouts" /* payout/1's path */
#define PAYMENT_STATUS_PATH_SIZE (sizeof(PAYMENT_PATH "/") + PAYMENT_KEY_LEN)
#define PAYMENT_PAID_AT_MIN 946684800 /* 2000-01-01T00:00:00Z */

/* ---- the payout ----------------------------------------------------------------- */

enum payment_destination {
	PAYMENT_DEST_CARD_TOKEN, /* the provider's token for a card it holds */
	PAYMENT_DEST_IBAN,	 /* a KZ bank account (core/iban.h) */
};

/* What one payout sends; strings are the caller's. */
struct payment_payout {
	const char *operation_key; /* "pyo_" + 22 base64url */
	int64_t amount_tiyn;	   /* 1 .. CODEC_TIYN_MAX */
	const char *contract_ref;  /* 1-64 of [A-Za-z0-9_./-] */
	enum payment_destination dest;
	const char *card_token; /* with CARD_TOKEN: 16-64 of [A-Za-z0-9_-] */
	const char *iban;	/* with IBAN: a valid KZ IBAN, electronic form */
	const char *holder_iin; /* with IBAN: the borrower's IIN; NULL with a card */
};

/* 1 when `s` is an operation key: "pyo_" and 22 base64url characters. */
int payment_key_ok(const char *s);

/*
 * The request body of POST /v1/payouts:
 *   {"operation_key", "amount_tiyn": "<digits>", "currency": "KZT",
 *    "contract_ref", "destination": {"type": "card_token", "token"} or
 *    {"type": "iban", "iban", "holder_iin"}}
 * *out is a new object (json_decref).  SENIM_ERR_INVALID when a field
 * breaks its rule above, with `why` (NULL or CODEC_REASON_MAX bytes)
 * naming it; SENIM_ERR_NOMEM.
 */
SENIM_MUST_CHECK enum senim_result payment_payout_request(const struct payment_payout *p,
							  json_t **out, char *why);

/* "/v1/payouts/" + key into out: 1, or 0 (out "") when key is not an
 * operation key, so a path never carries anything else. */
int payment_status_path(const char *operation_key, char out[PAYMENT_STATUS_PATH_SIZE]);

/* ---- its answer ------------------------------------------------------------------- */

enum payment_status {
	PAYMENT_ACCEPTED,  /* taken; the money has not left yet */
	PAYMENT_COMPLETED, /* paid out */
	PAYMENT_REJECTED,  /* refused for good: nothing was paid */
};

/* Of an answer that parsed CODEC_OK; copies, so the body may go. */
struct payment_answer {
	enum payment_status status;
	char provider_ref[PAYMENT_REF_MAX + 1];
	char reject_code[PAYMENT_CODE_MAX + 1]; /* with REJECTED, else "" */
	int64_t completed_at;			/* with COMPLETED (Unix s), else 0 */
};

/*
 * Check the `len` bytes of a 2xx answer to the payout `asked_key` of
 * `asked_amount` tiyn — the answer to POST /v1/payouts or to its status
 * GET, which have one shape.  Always sets *v, and *a (zeroed unless
 * CODEC_OK).  SENIM_ERR_NOMEM, else SENIM_OK.
 */
SENIM_MUST_CHECK enum senim_result payment_payout_parse(const char *body, size_t len,
							const char *asked_key,
							int64_t asked_amount, int64_t now,
							struct payment_answer *a,
							struct codec_verdict *v);

/* "accepted", "completed", "rejected"; NULL out of range. */
const char *payment_status_code(enum payment_status s);

/* ---- the card binding ------------------------------------------------------------ */

/*
 * The provider's card binding (tokenisation): senim starts a binding under
 * its own key, "cbd_" and 22 base64url characters, sent as the
 * Idempotency-Key and in the body of POST /v1/card-bindings, and nothing
 * else — the borrower types the card number on the provider's page
 * (page_url), never into senim (PCI DSS).  GET /v1/card-bindings/{key}
 * reads the binding's result: the provider's token, the card number
 * masked ("440043******1234") and its expiry.  Both answer one shape.
 *
 * An answer that parses CODEC_OK keeps these invariants:
 *   - binding_key is the one asked about, else CODEC_WRONG_SUBJECT;
 *   - status is pending, bound or failed;
 *   - pending: page_url is http(s)://, 12 to PAYMENT_URL_MAX characters of
 *     RFC 3986's URI characters, no quote or space;
 *   - bound: token is PAYMENT_TOKEN_MIN..MAX base64url characters;
 *     masked_pan is 6 digits, 2 to 9 '*' and 4 digits; expiry is "YYYY-MM",
 *     month 01-12, year 2000-2099;
 *   - failed: fail_code is [a-z0-9_]{1,64}.
 */
#define PAYMENT_BINDING_KEY_LEN 26 /* "cbd_" + 22 */
#define PAYMENT_BINDING_KEY_SIZE (PAYMENT_BINDING_KEY_LEN + 1)
#define PAYMENT_BINDING_KEY_PREFIX "cbd_"
#define PAYMENT_BINDING_PATH "/v1/card-bindings"
#define PAYMENT_BINDING_PATH_SIZE \
	(sizeof(PAYMENT_BINDING_PATH "/") + PAYMENT_BINDING_KEY_LEN)
#define PAYMENT_URL_MAX 512
#define PAYMENT_MASKED_MAX 19 /* 6 + up to 9 '*' + 4 */
#define PAYMENT_EXPIRY_LEN 7  /* "YYYY-MM" */

/* 1 when `s` is a binding key: "cbd_" and 22 base64url characters. */
int payment_binding_key_ok(const char *s);

/* The body of POST /v1/card-bindings: {"binding_key"} — nothing about the
 * borrower.  *out is a new object.  SENIM_ERR_INVALID (a key that is not
 * one, `why` says so), SENIM_ERR_NOMEM. */
SENIM_MUST_CHECK enum senim_result payment_binding_request(const char *binding_key,
							   json_t **out, char *why);

/* "/v1/card-bindings/" + key into out: 1, or 0 (out "") when key is not a
 * binding key. */
int payment_binding_path(const char *binding_key, char out[PAYMENT_BINDING_PATH_SIZE]);

enum payment_binding_status {
	PAYMENT_BINDING_PENDING, /* the borrower has not finished the page */
	PAYMENT_BINDING_BOUND,	 /* the card is bound: token, masked_pan, expiry */
	PAYMENT_BINDING_FAILED,	 /* declined or abandoned, for good */
};

/* Of an answer that parsed CODEC_OK; copies (wipe it: the token). */
struct payment_binding {
	enum payment_binding_status status;
	char page_url[PAYMENT_URL_MAX + 1];	 /* with PENDING, else "" */
	char token[PAYMENT_TOKEN_MAX + 1];	 /* with BOUND, else "" */
	char masked_pan[PAYMENT_MASKED_MAX + 1]; /* with BOUND, else "" */
	char expiry[PAYMENT_EXPIRY_LEN + 1];	 /* with BOUND, else "" */
	char fail_code[PAYMENT_CODE_MAX + 1];	 /* with FAILED, else "" */
};

/*
 * Check the `len` bytes of a 2xx answer about the binding `asked_key`
 * (to the POST or to the status GET).  Always sets *v, and *b (zeroed
 * unless CODEC_OK).  SENIM_ERR_NOMEM, else SENIM_OK.
 */
SENIM_MUST_CHECK enum senim_result payment_binding_parse(const char *body, size_t len,
							 const char *asked_key,
							 struct payment_binding *b,
							 struct codec_verdict *v);

/*
 * The unbinding: DELETE /v1/card-bindings/{key} (the status path, no
 * body, the key as the Idempotency-Key) ends the binding at the provider
 * and its token with it.  The 200 answer is {"binding_key", "status":
 * "removed"}; the status read of a key unbound answers 404
 * binding_not_found, as does the DELETE of a key the provider does not
 * know.  Check the `len` bytes of a 2xx answer about `asked_key`: CODEC_OK
 * only for that key and "removed"; another key is CODEC_WRONG_SUBJECT.
 * Always sets *v.  SENIM_ERR_NOMEM, else SENIM_OK.
 */
SENIM_MUST_CHECK enum senim_result payment_unbind_parse(const char *body, size_t len,
							const char *asked_key,
							struct codec_verdict *v);

/* "pending", "bound", "failed"; NULL out of range. */
const char *payment_binding_status_code(enum payment_binding_status s);

/* ---- the repayment notice ------------------------------------------------------ */

enum payment_channel {
	PAYMENT_CHANNEL_CARD,	       /* a card payment at the provider */
	PAYMENT_CHANNEL_BANK_TRANSFER, /* a transfer into the lender's account */
	PAYMENT_CHANNEL_TERMINAL,      /* a payment terminal */
	PAYMENT_CHANNEL_CASH_DESK,     /* cash at a bank or post office */
};

/* What the borrower meant the payment for (core/servicing.h's kinds). */
enum payment_kind {
	PAYMENT_KIND_DUE,   /* what is due; absent "kind" means this */
	PAYMENT_KIND_EARLY, /* early repayment of principal not yet due */
};

/* A notice that parsed; copies of its values. */
struct payment_notice {
	char provider_ref[PAYMENT_REF_MAX + 1]; /* the repayment's idempotency key */
	int64_t amount_tiyn;			/* 1 .. CODEC_TIYN_MAX */
	int64_t paid_at;			/* Unix seconds */
	char paid_at_text[40];			/* as sent: RFC 3339 UTC */
	enum payment_channel channel;
	enum payment_kind kind;
};

/*
 * Parse the body of POST /v1/loans/{id}/payments:
 *   {"provider_ref", "amount_tiyn" (an integer or a string of digits),
 *    "currency": "KZT", "paid_at" (RFC 3339 UTC, from 2000 on, at most
 *    CODEC_CLOCK_SKEW_S after now), "channel", and optionally "kind"
 *    ("due", the default, or "early")}
 * SENIM_OK and *n; SENIM_ERR_INVALID with `why` (CODEC_REASON_MAX bytes,
 * or NULL) naming the field and the rule, never a byte of the body;
 * SENIM_ERR_NOMEM.  *n is zeroed unless SENIM_OK.
 */
SENIM_MUST_CHECK enum senim_result payment_notice_parse(const char *body, size_t len,
							int64_t now,
							struct payment_notice *n,
							char *why);

/* "card", "bank_transfer", "terminal", "cash_desk"; NULL out of range. */
const char *payment_channel_code(enum payment_channel c);

#endif
