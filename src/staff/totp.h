/*
 * totp.h — the staff's second factor: TOTP (RFC 6238 via liboath), 6 digits,
 * 30-second steps, one step of clock drift either side.
 *
 * A secret is 160 random bits (RFC 4226's recommendation), handed out once
 * in base32 for an authenticator app and kept only sealed with the key ring,
 * bound to its account (associated data "staff-totp:<id>"), so a sealed
 * secret copied to another account's row does not open.  A check does the
 * same work whether or not the account has a secret, so its time tells
 * nothing.  Codes are compared in constant time.
 */
#ifndef SENIM_STAFF_TOTP_H
#define SENIM_STAFF_TOTP_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/result.h"
#include "vault/keyring.h"

#define STAFF_TOTP_DIGITS 6
#define STAFF_TOTP_SECRET_B32_MAX 64
#define STAFF_TOTP_SEALED_MAX 128 /* a sealed secret: 20 + KEYRING_SEAL_OVERHEAD */

/* Initialise liboath, once per process (later calls return the first
 * call's result).  SENIM_ERR_CRYPTO when it cannot start. */
SENIM_MUST_CHECK enum senim_result staff_totp_init(void);

/*
 * A fresh secret for account id: sealed appended to *sealed (for the store;
 * give it a cap of STAFF_TOTP_SEALED_MAX), and its base32 in b32 (for the
 * authenticator app; the caller wipes it).  The plain secret is wiped
 * before returning.
 */
SENIM_MUST_CHECK enum senim_result staff_totp_new(const struct keyring *kr, int64_t id,
						  struct buf *sealed,
						  char b32[STAFF_TOTP_SECRET_B32_MAX]);

/*
 * 1 when code (STAFF_TOTP_DIGITS digits) is right now for the secret sealed
 * for account id; *step gets the time step it matched (RFC 6238's counter,
 * for one-time use), 0 when none.  sealed_len 0 means the account has no
 * secret: a throw-away one is checked instead, so the work is the same.
 * *present is 1 when the account's secret was there and opened.
 */
int staff_totp_check(const struct keyring *kr, int64_t id, const unsigned char *sealed,
		     size_t sealed_len, const char *code, int *present, uint64_t *step);

#endif
