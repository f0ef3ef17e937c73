/*
 * account.h — staff and service accounts and their roles (S3): adding,
 * revoking, unlocking and listing them (`senim staff`), and reading the
 * account row the sign-in checks.
 *
 * A person's account is made with a one-time password: its first sign-in
 * must enrol TOTP and set a new password (sign_in.h).  A service account
 * (the app gateway, batch jobs) has no password: it is made with a bearer
 * token that lasts until the account is revoked.  An account is never
 * deleted: revoking it ends it and every token it holds, and its audit
 * records keep naming it.  Unlocking clears the failure count and the
 * pause it earned (sign_in.h).
 *
 * Each change is one struct and one function that runs inside the write
 * transaction, with its audit record (staff.add, staff.revoke,
 * staff.unlock; actor the op's who): the CLI runs it with store_write().
 */
#ifndef SENIM_STAFF_ACCOUNT_H
#define SENIM_STAFF_ACCOUNT_H

#include <stddef.h>
#include <stdint.h>

#include "common/result.h"
#include "core/roles.h"
#include "staff/password.h"
#include "staff/staff.h"
#include "staff/totp.h"
#include "store/store.h"
#include "vault/keyring.h"

/* ---- administration -------------------------------------------------------- */

/*
 * Adding an account.  staff_add_prepare() checks the login and role and, for
 * a person, makes the one-time password and its Argon2id hash (slow: outside
 * the writer); then store_write(st, staff_add_tx, op).  On SENIM_OK op->secret
 * holds the one-time password, or for a service account the bearer token,
 * to be shown once.  SENIM_ERR_INVALID (prepare) for a bad login or role;
 * SENIM_ERR_CONFLICT (tx) when the login exists.  The caller zeroes the op
 * before filling it and calls staff_add_dispose() whatever happened.
 */
struct staff_add {
	/* in */
	const struct keyring *kr;
	struct staff_who who;
	const char *login; /* outlives the op */
	enum role role;
	int service;
	/* out */
	char *secret; /* sodium_malloc'd; owned by the op, wiped and freed by
		       * staff_add_dispose */
	int64_t id;   /* the new account's */
	/* private, between the two steps */
	char pw_hash[STAFF_PASSWORD_HASH_MAX];
};
SENIM_MUST_CHECK enum senim_result staff_add_prepare(struct staff_add *op);
SENIM_MUST_CHECK enum senim_result staff_add_tx(struct store_tx *tx, void *op);
/* Wipe and free what the op owns (not the op itself). */
void staff_add_dispose(void *op);

/*
 * Revoking or unlocking the account named login: run staff_revoke_tx or
 * staff_unlock_tx with store_write.  SENIM_ERR_NOT_FOUND when there is no
 * such account.  Revoking disables the account and every token it holds;
 * unlocking clears its failure count and its pause.
 */
struct staff_change {
	/* in (borrowed; outlive the op) */
	const struct keyring *kr;
	struct staff_who who;
	const char *login;
};
SENIM_MUST_CHECK enum senim_result staff_revoke_tx(struct store_tx *tx, void *op);
SENIM_MUST_CHECK enum senim_result staff_unlock_tx(struct store_tx *tx, void *op);

/* One line of `staff list`. */
struct staff_info {
	int64_t id;
	char login[STAFF_LOGIN_MAX + 1];
	enum role role;
	int is_service;
	int enrolled;
	int locked; /* in a pause after failed sign-ins now */
	int revoked;
	int64_t created_at;
};
typedef void (*staff_list_fn)(const struct staff_info *info, void *ctx);
/* Every account, oldest first, in a read transaction. */
SENIM_MUST_CHECK enum senim_result staff_list(struct store *st, staff_list_fn fn,
					      void *ctx);

/* ---- the account row, for signing in ------------------------------------------ */

/* An account as the sign-in sees it.  Holds a password hash and sealed
 * secrets: wipe it with staff_account_wipe(). */
struct staff_account {
	int found;
	int64_t id;
	enum role role;
	int is_service;
	int enrolled;
	int revoked;
	int64_t failed_logins;
	int64_t locked_until;	/* microseconds; the end of the pause */
	int64_t totp_last_step; /* RFC 6238 5.2: steps up to this are spent */
	int has_password;
	char password_hash[STAFF_PASSWORD_HASH_MAX];
	size_t secret_len; /* sealed totp_secret; 0 when NULL */
	unsigned char secret[STAFF_TOTP_SEALED_MAX];
	size_t pending_len; /* sealed totp_pending; 0 when NULL */
	unsigned char pending[STAFF_TOTP_SEALED_MAX];
};

/* The account named login into *a; a->found = 0 (and SENIM_OK) when there
 * is none.  SENIM_ERR_STORE for a row that cannot be trusted. */
SENIM_MUST_CHECK enum senim_result
staff_account_by_login(struct store_tx *tx, const char *login, struct staff_account *a);
/* Inside a write: the account with this id, locked against other writers
 * until the commit (PostgreSQL; SQLite's writer holds the database). */
SENIM_MUST_CHECK enum senim_result staff_account_lock(struct store_tx *tx, int64_t id,
						      struct staff_account *a);
void staff_account_wipe(struct staff_account *a);

#endif
