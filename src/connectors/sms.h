/*
 * sms.h — the SMS gateway client (libcurl): one-time codes to borrowers'
 * phones (U4).
 *
 * Protocol (tests/peers/sms_gateway.py speaks it too):
 *   POST <url>/messages
 *   Authorization: Bearer <token>        (from the credentials file)
 *   Content-Type: application/json
 *   {"to": "+77011234567", "text": "...", "reference": "<request id>"}
 *   -> 200/201/202 {"id": "..."}; anything else is a failure.
 * A send is tried up to SMS_ATTEMPTS times with a per-attempt timeout and
 * exponential backoff, so a slow or failing gateway costs at most about
 * SMS_DEADLINE_MS and then a clear SENIM_ERR_UNAVAILABLE — never a hang.
 * 4xx answers other than 408/429 are not retried.  Neither the number nor
 * the text is ever logged.
 */
#ifndef SENIM_SMS_H
#define SENIM_SMS_H

#include <stddef.h>
#include <stdint.h>

#include "common/result.h"

#define SMS_ATTEMPTS 3
#define SMS_ATTEMPT_TIMEOUT_MS 2000
#define SMS_DEADLINE_MS 8000

struct sms_client;

/*
 * A client for the gateway at base_url (http:// or https://).  The
 * credentials file holds the bearer token on its first line and must not be
 * readable by group or others (SENIM_ERR_CONFIG otherwise); NULL means no
 * credentials.  Free with sms_client_free().
 */
SENIM_MUST_CHECK enum senim_result sms_client_new(const char *base_url,
						  const char *credentials_file,
						  struct sms_client **out);
void sms_client_free(struct sms_client *c);

/* Send; thread-safe (one curl easy handle per call).  SENIM_OK once the
 * gateway accepted it; SENIM_ERR_UNAVAILABLE when it did not. */
SENIM_MUST_CHECK enum senim_result sms_send(struct sms_client *c, const char *to_e164,
					    const char *text, const char *reference);

/* The same, done by `deadline` (clock_mono_us() time) instead of
 * SMS_DEADLINE_MS from now: for a send that waited in a queue, whose
 * caller has been waiting since it was queued.  Nothing is sent when too
 * little time is left for one attempt (SENIM_ERR_UNAVAILABLE). */
SENIM_MUST_CHECK enum senim_result sms_send_by(struct sms_client *c, const char *to_e164,
					       const char *text, const char *reference,
					       int64_t deadline);

/* sms_send_by, saying also whether the gateway may hold the message though
 * the send failed: *may_have_reached is 1 when some attempt sent the whole
 * body (a 5xx, a refusal or a timeout after it), 0 when none got that far
 * (no connection, a deadline spent in a queue); 1 on SENIM_OK.  For the disclosure register (T5, borrower/auth.h). */
SENIM_MUST_CHECK enum senim_result
sms_send_traced(struct sms_client *c, const char *to_e164, const char *text,
		const char *reference, int64_t deadline, int *may_have_reached);

/* Call once before threads start (curl_global_init); and at exit. */
void sms_global_init(void);
void sms_global_cleanup(void);

#endif
