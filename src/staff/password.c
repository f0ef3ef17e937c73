/*
 * password.c — Argon2id through libsodium, and the hash slots.
 */
#include "staff/password.h"

#include <pthread.h>
#include <sodium.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/banned.h"

_Static_assert(STAFF_PASSWORD_HASH_MAX == crypto_pwhash_STRBYTES,
	       "a stored hash fits STAFF_PASSWORD_HASH_MAX");

/*
 * Argon2id with t=2 passes over m=19 MiB, one lane: the OWASP Password
 * Storage Cheat Sheet's first recommended Argon2id setting.  It costs an
 * attacker with a GPU dearly per guess while keeping a verification around
 * 20 ms and 19 MiB here, so a burst of sign-ins cannot exhaust the server's
 * memory.
 */
#define PWHASH_OPSLIMIT 2
#define PWHASH_MEMLIMIT ((size_t)19 * 1024 * 1024)

/*
 * Verified in place of a missing hash, so that an unknown login costs the
 * same Argon2id verification as a known one: the hash of a random password
 * nobody knows, with the parameters above.
 */
static const char DUMMY_HASH[] = "$argon2id$v=19$m=19456,t=2,p=1$nHRBYzG+G4rqBOKO25x8yA"
				 "$+Kn/lKqnDRdO1Yq7k+ukVR+Bxq4xastKTcc1ufe1YJo";

/* One-time passwords avoid characters people confuse: 0/O/o, 1/l/I/i. */
static const char ONE_TIME_ALPHABET[] = "abcdefghjkmnpqrstuvwxyz"
					"ABCDEFGHJKLMNPQRSTUVWXYZ"
					"23456789";

enum senim_result staff_password_hash(const char *password,
				      char out[STAFF_PASSWORD_HASH_MAX])
{
	if (crypto_pwhash_str_alg(out, password, strlen(password), PWHASH_OPSLIMIT,
				  PWHASH_MEMLIMIT, crypto_pwhash_ALG_ARGON2ID13) != 0)
		return SENIM_ERR_NOMEM; /* libsodium's only failure: memory */
	return SENIM_OK;
}

int staff_password_verify(const char *hash, const char *password)
{
	int ok = crypto_pwhash_str_verify(hash ? hash : DUMMY_HASH, password,
					  strlen(password)) == 0;
	return hash && ok;
}

void staff_password_one_time(char out[STAFF_ONE_TIME_LEN + 1])
{
	for (int i = 0; i < STAFF_ONE_TIME_LEN; i++)
		out[i] = ONE_TIME_ALPHABET[randombytes_uniform(sizeof(ONE_TIME_ALPHABET) -
							       1)];
	out[STAFF_ONE_TIME_LEN] = '\0';
}

/* ---- hash slots ------------------------------------------------------------ */

static pthread_mutex_t slot_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t slot_freed = PTHREAD_COND_INITIALIZER;
static int slots = -1; /* -1: one per CPU, counted at first use */
static int slots_busy;

/* A sign-in waits at most this long for a slot before it is refused. */
#define SLOT_WAIT_MS 250

void staff_password_set_slots(int n)
{
	pthread_mutex_lock(&slot_lock);
	slots = n;
	pthread_cond_broadcast(&slot_freed);
	pthread_mutex_unlock(&slot_lock);
}

int staff_password_slot_take(void)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += SLOT_WAIT_MS * 1000000L;
	until.tv_sec += until.tv_nsec / 1000000000L;
	until.tv_nsec %= 1000000000L;
	pthread_mutex_lock(&slot_lock);
	if (slots < 0) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		slots = cpus > 0 ? (int)cpus : 1;
	}
	int rc = 0;
	while (slots_busy >= slots && rc == 0)
		rc = pthread_cond_timedwait(&slot_freed, &slot_lock, &until);
	int ok = slots_busy < slots;
	if (ok)
		slots_busy++;
	pthread_mutex_unlock(&slot_lock);
	return ok;
}

void staff_password_slot_give(void)
{
	pthread_mutex_lock(&slot_lock);
	slots_busy--;
	pthread_cond_signal(&slot_freed);
	pthread_mutex_unlock(&slot_lock);
}
