/*
 * password.h — staff passwords: Argon2id hashes, one-time passwords, and
 * the slots that bound how many hashes run at once.
 *
 * A password is kept only as libsodium's crypto_pwhash_str (Argon2id, its
 * parameters inside the string, so raising them later leaves old hashes
 * verifiable).  staff_password_verify() costs one Argon2id verification
 * whatever it is given, a missing hash included, so the time a sign-in
 * takes does not tell whether the login exists.
 *
 * Argon2id is costly on purpose; at most one verification per CPU runs at
 * a time: a caller takes a slot (staff_password_slot_take) before hashing
 * and gives it back after, so a burst of sign-ins leaves CPUs to every
 * other route.  The wait for a slot blocks: call from an I/O thread, never
 * from a server worker.
 */
#ifndef SENIM_STAFF_PASSWORD_H
#define SENIM_STAFF_PASSWORD_H

#include "common/result.h"

#define STAFF_PASSWORD_MIN 12
#define STAFF_PASSWORD_MAX 256
#define STAFF_PASSWORD_HASH_MAX 128 /* crypto_pwhash_STRBYTES, NUL included */
#define STAFF_ONE_TIME_LEN 20	    /* characters of a one-time password */

/* Hash password into out (NUL-terminated).  SENIM_ERR_NOMEM when libsodium
 * cannot get the memory Argon2id needs (its only failure).  The caller
 * wipes out when done with it. */
SENIM_MUST_CHECK enum senim_result staff_password_hash(const char *password,
						       char out[STAFF_PASSWORD_HASH_MAX]);

/* 1 when password matches hash; 0 when not, or when hash is NULL (then a
 * hash of a password nobody knows is verified instead, so the cost is the
 * same). */
int staff_password_verify(const char *hash, const char *password);

/* A fresh one-time password: STAFF_ONE_TIME_LEN characters from an
 * alphabet without look-alikes (about 115 bits), NUL-terminated.  The
 * caller wipes it. */
void staff_password_one_time(char out[STAFF_ONE_TIME_LEN + 1]);

/* ---- hash slots ------------------------------------------------------------ */

/* How many Argon2id computations may run at once: negative (the default)
 * one per CPU; 0 refuses every sign-in (for tests). */
void staff_password_set_slots(int slots);

/* Wait up to 250 ms for a slot: 1 when one was taken (hand it back with
 * staff_password_slot_give), 0 when none came free. */
int staff_password_slot_take(void);
void staff_password_slot_give(void);

#endif
