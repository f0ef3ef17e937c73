/*
 * processing.h — processing/1, a processor's wire API, as a pure codec
 * (docs/connectors/processing.md; the test peer is tests/peers/processor.py),
 * and the pseudonym a processor knows a subject by.  No I/O, no clock.
 *
 * processing_job_request() builds {"job_id", "purpose", "pseudonym",
 * "data"}; processing_job_parse() checks the answer, 202 {"job_id",
 * "status": "accepted"}.  One that parses ok keeps these invariants:
 *   - job_id is the one sent (else wrong_subject: the answer is about
 *     another job, so maybe about another person);
 *   - status is "accepted".
 * Nothing of the answer is kept: a processor works for the lender and
 * sends nothing back through this API.
 *
 * A request never names the subject: no subject id and no IIN goes to a
 * processor (T5).  The subject is its pseudonym, the lowercase hex of
 * BLAKE2b-128 (libsodium crypto_generichash, 16 bytes) of the subject id
 * keyed by the recipient's pseudonym key, which is derived from the key
 * ring's blind-index key:
 *     K_r = keyring_blind_index("senim/processing-pseudonym/1" || 0x00 ||
 *                               recipient code)    (BLAKE2b-256, keyed)
 * So one subject has one pseudonym at one recipient (a job for the same
 * person twice is recognisably the same person there), and two recipients
 * cannot link their pseudonyms without the key ring.  The index key never
 * rotates (keyring.h), so neither do pseudonyms.
 *
 * Verdicts and reasons are codec.h's: a reason never carries a value of
 * the answer.  The parser returns SENIM_OK whatever the verdict; only
 * running out of memory is SENIM_ERR_NOMEM.
 */
#ifndef SENIM_PROCESSING_H
#define SENIM_PROCESSING_H

#include <jansson.h>
#include <stddef.h>

#include "common/result.h"
#include "connectors/codec.h"
#include "vault/keyring.h"

#define PROCESSING_PSEUDONYM_LEN 33 /* 32 hex digits + NUL */
#define PROCESSING_KEY_BYTES 32
#define PROCESSING_DATA_MAX 32 /* fields in one job's data */

/* K_r above, into key (the caller wipes it). */
void processing_pseudonym_key(const struct keyring *kr, const char *recipient,
			      unsigned char key[PROCESSING_KEY_BYTES]);

/* The pseudonym of `subject_id` under `key`, as 32 lowercase hex digits. */
void processing_pseudonym(const unsigned char key[PROCESSING_KEY_BYTES],
			  const char *subject_id, char out[PROCESSING_PSEUDONYM_LEN]);

/* 1 when `s` is 32 lowercase hex digits. */
int processing_pseudonym_ok(const char *s);

/*
 * The request body.  job_id is the transfer id ("trf_" + 22 characters of
 * base64url), purpose a purpose code (1-64 of [a-z_]), pseudonym as above,
 * data an object of 1 to PROCESSING_DATA_MAX "category.field" keys other
 * than identity.iin, each a string, number, boolean or null (a copy is
 * made: data stays the caller's).  *out is a new object (json_decref).
 * SENIM_ERR_INVALID when one breaks that, with `why` (NULL or
 * CODEC_REASON_MAX bytes) naming the field; SENIM_ERR_NOMEM.
 */
SENIM_MUST_CHECK enum senim_result
processing_job_request(const char *job_id, const char *purpose, const char *pseudonym,
		       const json_t *data, json_t **out, char *why);

/*
 * Check the `len` bytes of an answer to the job `asked_job_id`.  Always
 * sets *v; SENIM_ERR_NOMEM, else SENIM_OK.
 */
SENIM_MUST_CHECK enum senim_result processing_job_parse(const char *body, size_t len,
							const char *asked_job_id,
							struct codec_verdict *v);

#endif
