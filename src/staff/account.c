/*
 * account.c — staff accounts: the administrative operations and the row.
 */
#include "staff/account.h"

#include <sodium.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/banned.h"

/* ---- the account row ---------------------------------------------------------- */

#define ACCOUNT_COLUMNS                                                       \
	"id, role, kind, password_hash, totp_secret, totp_pending, enrolled," \
	" failed_logins, locked_until, revoked_at, totp_last_step"

static const char SQL_ACCOUNT_BY_LOGIN[] =
	"SELECT " ACCOUNT_COLUMNS " FROM staff WHERE login = $1";
static const char SQL_ACCOUNT_BY_ID[] =
	"SELECT " ACCOUNT_COLUMNS " FROM staff WHERE id = $1";
/* PostgreSQL writers lock what they change (store.h); SQLite's BEGIN
 * IMMEDIATE already holds the database's write lock. */
static const char SQL_ACCOUNT_BY_ID_PG[] =
	"SELECT " ACCOUNT_COLUMNS " FROM staff WHERE id = $1 FOR UPDATE";

static enum senim_result copy_sealed(struct store_rows *r, int col, unsigned char *out,
				     size_t *len)
{
	*len = 0;
	if (store_rows_is_null(r, col))
		return SENIM_OK;
	size_t n = 0;
	const void *p = store_rows_blob(r, col, &n);
	if (n == 0 || n > STAFF_TOTP_SEALED_MAX)
		return SENIM_ERR_STORE;
	memcpy(out, p, n);
	*len = n;
	return SENIM_OK;
}

static enum senim_result account_from_row(struct store_rows *r, struct staff_account *a)
{
	a->found = 1;
	a->id = store_rows_int(r, 0);
	int role = role_parse(store_rows_text(r, 1, NULL));
	if (role < 0) {
		log_event(LOG_ERROR, "staff_bad_row", "reason", "unknown role", NULL);
		return SENIM_ERR_STORE;
	}
	a->role = (enum role)role;
	a->is_service = strcmp(store_rows_text(r, 2, NULL), "service") == 0;
	a->has_password = 0;
	if (!store_rows_is_null(r, 3)) {
		size_t n = 0;
		const char *h = store_rows_text(r, 3, &n);
		if (n == 0 || n >= sizeof(a->password_hash)) {
			log_event(LOG_ERROR, "staff_bad_row", "reason", "password hash",
				  NULL);
			return SENIM_ERR_STORE;
		}
		memcpy(a->password_hash, h, n);
		a->password_hash[n] = '\0';
		a->has_password = 1;
	}
	if (copy_sealed(r, 4, a->secret, &a->secret_len) ||
	    copy_sealed(r, 5, a->pending, &a->pending_len)) {
		log_event(LOG_ERROR, "staff_bad_row", "reason", "sealed totp size", NULL);
		return SENIM_ERR_STORE;
	}
	a->enrolled = store_rows_int(r, 6) != 0;
	a->failed_logins = store_rows_int(r, 7);
	a->locked_until = store_rows_int(r, 8);
	a->revoked = !store_rows_is_null(r, 9);
	a->totp_last_step = store_rows_int(r, 10);
	return SENIM_OK;
}

/* Read one account into *a; a->found = 0 when there is none. */
static enum senim_result account_read(struct store_tx *tx, const char *sql,
				      struct store_val key, struct staff_account *a)
{
	struct store_rows *r = NULL;
	memset(a, 0, sizeof(*a));
	enum senim_result err = store_query_one(tx, sql, &key, 1, &r);
	if (err == SENIM_ERR_NOT_FOUND)
		return SENIM_OK;
	if (err)
		return err;
	err = account_from_row(r, a);
	store_rows_free(r);
	return err;
}

enum senim_result staff_account_by_login(struct store_tx *tx, const char *login,
					 struct staff_account *a)
{
	return account_read(tx, SQL_ACCOUNT_BY_LOGIN, SV_TEXT(login), a);
}

enum senim_result staff_account_lock(struct store_tx *tx, int64_t id,
				     struct staff_account *a)
{
	return account_read(tx,
			    store_tx_kind(tx) == STORE_POSTGRES ? SQL_ACCOUNT_BY_ID_PG
								: SQL_ACCOUNT_BY_ID,
			    SV_INT(id), a);
}

void staff_account_wipe(struct staff_account *a)
{
	sodium_memzero(a, sizeof(*a));
}

/* ---- adding -------------------------------------------------------------------- */

enum senim_result staff_add_prepare(struct staff_add *op)
{
	op->secret = NULL;
	if (!staff_login_valid(op->login) || !role_name(op->role))
		return SENIM_ERR_INVALID;
	if (sodium_init() < 0)
		return SENIM_ERR_CRYPTO;
	/* sodium_malloc: guarded pages, wiped by sodium_free. */
	op->secret =
		sodium_malloc(op->service ? STAFF_TOKEN_MAX : STAFF_ONE_TIME_LEN + 1);
	if (!op->secret)
		return SENIM_ERR_NOMEM;
	op->secret[0] = '\0';
	if (op->service) /* the token is made by the write, with its row */
		return SENIM_OK;
	staff_password_one_time(op->secret);
	return staff_password_hash(op->secret, op->pw_hash);
}

enum senim_result staff_add_tx(struct store_tx *tx, void *arg)
{
	struct staff_add *op = arg;
	int64_t now = clock_now_us();
	struct store_val p[] = {
		SV_TEXT(op->login),
		SV_TEXT(role_name(op->role)),
		SV_TEXT(op->service ? "service" : "person"),
		op->service ? SV_NULL() : SV_TEXT(op->pw_hash),
		SV_INT(now),
	};
	struct store_rows *r = NULL;
	op->id = 0;
	enum senim_result err =
		store_query_one(tx,
				"INSERT INTO staff (login, role, kind, password_hash,"
				" created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
				p, 5, &r);
	if (err == SENIM_ERR_NOT_FOUND) /* an INSERT that returns no id */
		err = SENIM_ERR_STORE;
	if (err)
		return err;
	op->id = store_rows_int(r, 0);
	store_rows_free(r);
	if (op->service) {
		err = staff_token_issue(tx, op->id, now, 0, op->secret);
		if (err)
			return err;
	}
	char ref[STAFF_REF_MAX];
	staff_ref(ref, op->id);
	return staff_audit(tx, op->kr, &op->who, NULL, "staff.add", ref, "success");
}

void staff_add_dispose(void *arg)
{
	struct staff_add *op = arg;
	sodium_free(op->secret); /* wipes; NULL does nothing */
	op->secret = NULL;
	sodium_memzero(op->pw_hash, sizeof(op->pw_hash));
}

/* ---- revoking and unlocking ---------------------------------------------------- */

/* Inside a write: revoke account id and every token it holds. */
static enum senim_result revoke(struct store_tx *tx, int64_t id)
{
	struct store_val p[] = { SV_INT(id), SV_INT(clock_now_us()) };
	enum senim_result err = store_exec(
		tx,
		"UPDATE staff SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
		p, 2, NULL);
	if (err)
		return err;
	return store_exec(tx,
			  "UPDATE staff_tokens SET revoked_at = $2"
			  " WHERE staff_id = $1 AND revoked_at IS NULL",
			  p, 2, NULL);
}

/* Inside a write: clear account id's failure count and pause. */
static enum senim_result unlock(struct store_tx *tx, int64_t id)
{
	return store_exec(
		tx, "UPDATE staff SET failed_logins = 0, locked_until = 0 WHERE id = $1",
		(struct store_val[]){ SV_INT(id) }, 1, NULL);
}

/* Apply `change` to the account op names, with the record `operation`;
 * SENIM_ERR_NOT_FOUND when there is no such account. */
static enum senim_result
change_account(struct store_tx *tx, const struct staff_change *op, const char *operation,
	       enum senim_result (*change)(struct store_tx *, int64_t))
{
	if (!staff_login_valid(op->login))
		return SENIM_ERR_NOT_FOUND;
	struct staff_account acct;
	enum senim_result err = staff_account_by_login(tx, op->login, &acct);
	int found = acct.found;
	int64_t id = acct.id;
	staff_account_wipe(&acct);
	if (err)
		return err;
	if (!found)
		return SENIM_ERR_NOT_FOUND;
	err = change(tx, id);
	if (err)
		return err;
	char ref[STAFF_REF_MAX];
	staff_ref(ref, id);
	return staff_audit(tx, op->kr, &op->who, NULL, operation, ref, "success");
}

enum senim_result staff_revoke_tx(struct store_tx *tx, void *op)
{
	return change_account(tx, op, "staff.revoke", revoke);
}

enum senim_result staff_unlock_tx(struct store_tx *tx, void *op)
{
	return change_account(tx, op, "staff.unlock", unlock);
}

/* ---- listing --------------------------------------------------------------------- */

struct list_ctx {
	staff_list_fn fn;
	void *ctx;
};

static enum senim_result list_fn(struct store_tx *tx, void *ctx)
{
	struct list_ctx *l = ctx;
	int64_t now = clock_now_us();
	struct store_rows *r = NULL;
	int has = 0;
	enum senim_result err = store_query(tx,
					    "SELECT id, login, role, kind, enrolled,"
					    " locked_until, revoked_at, created_at"
					    " FROM staff ORDER BY id",
					    NULL, 0, &r);
	while (!err && (err = store_rows_next(r, &has)) == SENIM_OK && has) {
		struct staff_info info;
		memset(&info, 0, sizeof(info));
		info.id = store_rows_int(r, 0);
		size_t n = 0;
		const char *login = store_rows_text(r, 1, &n);
		int role = role_parse(store_rows_text(r, 2, NULL));
		if (n > STAFF_LOGIN_MAX || role < 0) {
			log_event(LOG_ERROR, "staff_bad_row", "reason", "login or role",
				  NULL);
			err = SENIM_ERR_STORE;
			break;
		}
		memcpy(info.login, login, n);
		info.role = (enum role)role;
		info.is_service = strcmp(store_rows_text(r, 3, NULL), "service") == 0;
		info.enrolled = store_rows_int(r, 4) != 0;
		info.locked = store_rows_int(r, 5) > now;
		info.revoked = !store_rows_is_null(r, 6);
		info.created_at = store_rows_int(r, 7);
		l->fn(&info, l->ctx);
	}
	store_rows_free(r);
	return err;
}

enum senim_result staff_list(struct store *st, staff_list_fn fn, void *ctx)
{
	struct list_ctx l = { fn, ctx };
	return store_read(st, list_fn, &l);
}
