/*
 * result.h — the one result code used across senim.
 *
 * Every fallible function returns an `enum senim_result`, marked
 * SENIM_MUST_CHECK: SENIM_OK (0) on success or one of the SENIM_ERR_*
 * values below; data comes back through out-parameters (curl's CURLcode,
 * SQLite's SQLITE_OK).  The mapping from a result to an HTTP
 * status and a problem+json body lives in exactly one place: http/problem.c.
 */
#ifndef SENIM_RESULT_H
#define SENIM_RESULT_H

enum senim_result {
	SENIM_OK = 0,
	SENIM_ERR_NOMEM,       /* allocation failed */
	SENIM_ERR_INVALID,     /* input broke a rule (caller names field/rule) */
	SENIM_ERR_NOT_FOUND,   /* no such object */
	SENIM_ERR_CONFLICT,    /* object exists with other content / state clash */
	SENIM_ERR_DENIED,      /* the actor may not do this */
	SENIM_ERR_AUTH,	       /* credentials missing, wrong or expired */
	SENIM_ERR_LOCKED,      /* account locked after repeated failures */
	SENIM_ERR_TOO_LARGE,   /* a client-sized thing exceeded its cap */
	SENIM_ERR_STORE,       /* the database failed */
	SENIM_ERR_IO,	       /* a file or socket failed */
	SENIM_ERR_CRYPTO,      /* a key, signature or ciphertext did not verify */
	SENIM_ERR_TAMPERED,    /* the audit chain does not verify */
	SENIM_ERR_UNAVAILABLE, /* a dependency is down or we are shutting down */
	SENIM_ERR_CONFIG,      /* bad configuration or key file */
	SENIM_ERR__COUNT
};

/* Marks a function whose result must be looked at (as libsodium does). */
#define SENIM_MUST_CHECK __attribute__((warn_unused_result))

/* A short, stable English name for a result ("not_found"); never NULL. */
const char *senim_result_name(enum senim_result result);

#endif
