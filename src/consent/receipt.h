/*
 * receipt.h — consent receipts (C1, S4): a signed JSON record of one grant
 * or withdrawal that the borrower keeps and anyone can check offline.
 *
 * Fields follow the Kantara Consent Receipt (v1.1) and ISO/IEC TS 27560:
 *   {"version": "KI-CR-v1.1.0", "receipt_id", "event": "grant"|"withdraw",
 *    "consent_id", "consent_type": "<kind code>", "timestamp" (RFC 3339 UTC),
 *    "jurisdiction", "language", "collection_method" (the channel),
 *    "pii_principal_id" (the subject id — never a name or IIN),
 *    "pii_controller": {"name", "bin", "country": "KZ", "contact"},
 *    "policy": {"version", "sha256_ru", "sha256_kk"},
 *    "purposes": ["<purpose code>", ...], "pii_categories": [...],
 *    "sensitive": bool (special categories D7 included),
 *    "recipients": [...], "third_party_disclosure": bool,
 *    "signature": {"alg": "Ed25519", "key_id", "public_key" (base64),
 *                  "value" (base64)}}
 * The signature covers the receipt's canonical form: the JSON object
 * without "signature", keys sorted, compact, UTF-8 (json_dumps with
 * JSON_SORT_KEYS | JSON_COMPACT | JSON_ENSURE_ASCII off).
 */
#ifndef SENIM_RECEIPT_H
#define SENIM_RECEIPT_H

#include <jansson.h>
#include <stdint.h>

#include "common/result.h"
#include "core/consents.h"
#include "vault/keyring.h"

struct receipt_in {
	const char *event; /* "grant" or "withdraw" */
	const char *consent_id;
	enum consent_kind kind;
	int64_t at_us;
	const char *language; /* "ru", "kk" */
	const char *channel;  /* "web", "ios", "android", ... */
	const char *subject_id;
	const char *policy_version;
	const char *policy_sha256_ru;
	const char *policy_sha256_kk;
};

/* Build and sign a receipt; *out is a new JSON object (caller decrefs). */
SENIM_MUST_CHECK enum senim_result
receipt_make(const struct keyring *kr, const struct receipt_in *in, json_t **out);

/*
 * Check a receipt's signature.  With kr, the key named by key_id must be one
 * of the key ring's signing keys; without (kr NULL) the embedded public key
 * is used, and then `trusted_pk` (32 bytes, may be NULL) must match it.
 * SENIM_OK when valid; SENIM_ERR_CRYPTO when not; SENIM_ERR_INVALID when the
 * document is not a receipt.
 */
SENIM_MUST_CHECK enum senim_result receipt_verify(const struct keyring *kr,
						  const unsigned char *trusted_pk,
						  json_t *receipt);

/* Parse text and verify (the CLI's path). */
SENIM_MUST_CHECK enum senim_result receipt_verify_text(const struct keyring *kr,
						       const unsigned char *trusted_pk,
						       const char *text, size_t len);

/* ---- the same signature on other documents (rights/package.h) ---------- */

/*
 * Sign any JSON object the way a receipt is signed: its canonical form (every
 * member but "signature", keys sorted, compact) signed with the key ring's
 * Ed25519 key, set as its "signature" member {"alg", "key_id", "public_key",
 * "value"} (replacing one there).  SENIM_ERR_INVALID when doc is not an
 * object; SENIM_ERR_NOMEM.  The caller keeps doc.
 */
SENIM_MUST_CHECK enum senim_result receipt_sign_document(const struct keyring *kr,
							 json_t *doc);

/*
 * Check the "signature" member of a document receipt_sign_document signed,
 * with the same key rules as receipt_verify (kr and trusted_pk as there).
 * The document's other members are the caller's to check.
 * SENIM_ERR_INVALID when doc is not an object or "signature" lacks its
 * shape; SENIM_ERR_CRYPTO when it does not verify.
 */
SENIM_MUST_CHECK enum senim_result
receipt_verify_document(const struct keyring *kr, const unsigned char *trusted_pk,
			json_t *doc);

/*
 * Sign and check raw bytes the same way (a document that is not JSON, such
 * as the package's HTML): *out gets a new "signature" object as above over
 * exactly msg[0..len); receipt_verify_bytes checks one.
 */
SENIM_MUST_CHECK enum senim_result
receipt_sign_bytes(const struct keyring *kr, const char *msg, size_t len, json_t **out);
SENIM_MUST_CHECK enum senim_result receipt_verify_bytes(const struct keyring *kr,
							const unsigned char *trusted_pk,
							const json_t *sigobj,
							const char *msg, size_t len);

#endif
