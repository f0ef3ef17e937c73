/*
 * migrations.c — the schema, version by version, for each backend.
 *
 * A migration is never edited once released: a change is a new entry at the
 * end of both lists.  The two lists keep the same versions and the same
 * tables; they differ only where the engines' dialects do (BLOB/BYTEA,
 * INTEGER PRIMARY KEY/BIGSERIAL, trigger syntax).
 *
 * Every table that holds a borrower's data carries subject_id (DESIGN.md,
 * scale-out); the tables of version 1 hold none yet.
 */
#include "store/backend.h"

#include "common/banned.h"

/* ---- SQLite --------------------------------------------------------------- */

static const char SQLITE_0001[] =
	"CREATE TABLE staff ("
	" id INTEGER PRIMARY KEY,"
	" login TEXT NOT NULL UNIQUE,"
	" role TEXT NOT NULL,"
	" kind TEXT NOT NULL CHECK (kind IN ('person', 'service')),"
	" password_hash TEXT,"
	" totp_secret BLOB,"
	" totp_pending BLOB,"
	" enrolled INTEGER NOT NULL DEFAULT 0,"
	" failed_logins INTEGER NOT NULL DEFAULT 0,"
	" locked_until BIGINT NOT NULL DEFAULT 0,"
	" created_at BIGINT NOT NULL,"
	" revoked_at BIGINT);"
	"CREATE TABLE staff_tokens ("
	" token_hash BLOB PRIMARY KEY,"
	" staff_id BIGINT NOT NULL REFERENCES staff(id),"
	" created_at BIGINT NOT NULL,"
	" expires_at BIGINT,"
	" revoked_at BIGINT);"
	"CREATE INDEX staff_tokens_by_staff ON staff_tokens(staff_id);"
	"CREATE TABLE audit_log ("
	" seq BIGINT PRIMARY KEY,"
	" at BIGINT NOT NULL,"
	" actor TEXT NOT NULL,"
	" operation TEXT NOT NULL,"
	" object TEXT NOT NULL,"
	" subject_id TEXT,"
	" categories TEXT NOT NULL,"
	" purpose TEXT NOT NULL,"
	" outcome TEXT NOT NULL,"
	" request_id TEXT NOT NULL,"
	" hash BLOB NOT NULL);"
	"CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log"
	" BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;"
	"CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log"
	" BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;"
	"CREATE TABLE audit_head ("
	" id INTEGER PRIMARY KEY CHECK (id = 1),"
	" seq BIGINT NOT NULL,"
	" hash BLOB NOT NULL);"
	"INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, zeroblob(32));"
	"CREATE TABLE audit_checkpoints ("
	" seq BIGINT PRIMARY KEY,"
	" hash BLOB NOT NULL,"
	" signed_at BIGINT NOT NULL,"
	" key_id TEXT NOT NULL,"
	" signature BLOB NOT NULL);"
	"CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints"
	" BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END;"
	"CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints"
	" BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END;"
	"CREATE TABLE policies ("
	" seq BIGINT PRIMARY KEY,"
	" version TEXT NOT NULL UNIQUE,"
	" published_at BIGINT NOT NULL,"
	" published_by TEXT NOT NULL,"
	" text_ru TEXT NOT NULL,"
	" text_kk TEXT NOT NULL,"
	" sha256_ru TEXT NOT NULL,"
	" sha256_kk TEXT NOT NULL);"
	"CREATE TRIGGER policies_immutable BEFORE UPDATE ON policies"
	" BEGIN SELECT RAISE(ABORT, 'published policies are immutable'); END;"
	"CREATE TRIGGER policies_kept BEFORE DELETE ON policies"
	" BEGIN SELECT RAISE(ABORT, 'published policies are kept forever'); END;";

/* Version 2: the personal-data vault (issue: encrypted borrower records).
 * No column holds personal data in plain text: records are sealed blobs
 * (vault.h), lookups go through blind indexes. */
static const char SQLITE_0002[] =
	"CREATE TABLE subjects ("
	" id TEXT PRIMARY KEY,"
	" created_at BIGINT NOT NULL,"
	" created_by TEXT NOT NULL,"
	" blocked INTEGER NOT NULL DEFAULT 0,"
	" block_reason TEXT,"
	" blocked_at BIGINT,"
	" allowed_purposes BIGINT);"
	"CREATE TABLE subject_keys ("
	" subject_id TEXT PRIMARY KEY REFERENCES subjects(id),"
	" kek_version BIGINT NOT NULL,"
	" wrapped BLOB NOT NULL,"
	" created_at BIGINT NOT NULL,"
	" rewrapped_at BIGINT);"
	"CREATE INDEX subject_keys_by_kek ON subject_keys(kek_version);"
	"CREATE TABLE subject_records ("
	" subject_id TEXT NOT NULL REFERENCES subjects(id),"
	" category TEXT NOT NULL,"
	" version BIGINT NOT NULL,"
	" source TEXT NOT NULL,"
	" actor TEXT NOT NULL,"
	" created_at BIGINT NOT NULL,"
	" sealed BLOB NOT NULL,"
	" PRIMARY KEY (subject_id, category, version));"
	"CREATE TABLE subject_index ("
	" kind TEXT NOT NULL,"
	" digest BLOB NOT NULL,"
	" subject_id TEXT NOT NULL REFERENCES subjects(id),"
	" PRIMARY KEY (kind, digest, subject_id));"
	"CREATE UNIQUE INDEX subject_index_one_iin ON subject_index(digest)"
	" WHERE kind = 'iin';"
	"CREATE INDEX subject_index_by_subject ON subject_index(subject_id);";

/* Version 3: borrowers' own access and the consent ledger.  OTP codes and
 * tokens are stored as keyed hashes; a consent's evidence (IP, user agent,
 * device id) and an obligation's details (contract number, amount, due date)
 * are sealed with the subject's data key; contracts are found by a blind
 * index. */
static const char SQLITE_0003[] =
	"CREATE TABLE borrower_otps ("
	" phone_digest BLOB PRIMARY KEY,"
	" code_hash BLOB NOT NULL,"
	" created_at BIGINT NOT NULL,"
	" expires_at BIGINT NOT NULL,"
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" used_at BIGINT);"
	"CREATE TABLE borrower_tokens ("
	" token_hash BLOB PRIMARY KEY,"
	" subject_id TEXT NOT NULL REFERENCES subjects(id),"
	" created_at BIGINT NOT NULL,"
	" expires_at BIGINT NOT NULL,"
	" revoked_at BIGINT);"
	"CREATE INDEX borrower_tokens_by_subject ON borrower_tokens(subject_id);"
	"CREATE TABLE consents ("
	" id TEXT PRIMARY KEY,"
	" subject_id TEXT NOT NULL REFERENCES subjects(id),"
	" kind TEXT NOT NULL,"
	" policy_version TEXT NOT NULL,"
	" language TEXT NOT NULL,"
	" channel TEXT NOT NULL,"
	" granted_at BIGINT NOT NULL,"
	" withdrawn_at BIGINT,"
	" evidence BLOB NOT NULL,"
	" receipt TEXT NOT NULL,"
	" withdrawal_receipt TEXT);"
	"CREATE INDEX consents_by_subject ON consents(subject_id, kind);"
	"CREATE TABLE obligations ("
	" subject_id TEXT NOT NULL REFERENCES subjects(id),"
	" contract_digest BLOB NOT NULL,"
	" status TEXT NOT NULL CHECK (status IN ('open', 'closed')),"
	" origin TEXT NOT NULL,"
	" details BLOB NOT NULL,"
	" recorded_at BIGINT NOT NULL,"
	" closed_at BIGINT,"
	" PRIMARY KEY (subject_id, contract_digest));"
	"CREATE UNIQUE INDEX obligations_by_contract ON obligations(contract_digest);";

/* Version 4: RFC 6238 5.2 — a TOTP code is accepted once: the last time
 * step used by each account. */
static const char SQLITE_0004[] =
	"ALTER TABLE staff ADD COLUMN totp_last_step BIGINT NOT NULL DEFAULT 0;";

/* Version 5: every borrower request asks which consents are active (the
 * policy gate, C4), and every grant whether one of its kind is; answered
 * from the active ones alone, so the cost does not grow with a borrower's
 * history of grants and withdrawals. */
static const char SQLITE_0005[] =
	"CREATE INDEX consents_active ON consents(subject_id, kind, policy_version)"
	" WHERE withdrawn_at IS NULL;";

/* Version 6: on PostgreSQL, TRUNCATE of the signed audit checkpoints and
 * of published policies is refused as DELETE is (TRUNCATE fires no row
 * triggers): without its checkpoints the chain could be recomputed whole.
 * SQLite has no TRUNCATE — its DELETE triggers already hold, a DELETE
 * without WHERE included — so here the version only keeps the two
 * schemas' numbers in step. */
static const char SQLITE_0006[] = "SELECT 1;";

/* Version 7: the sign-in phone changes only by its own procedure (U4, S1):
 * a proposal by staff that a member of another role approves, or the
 * borrower's own change proven by codes to both numbers.  The new phone is
 * held sealed with the subject's data key and found by its blind index
 * only; the codes only as keyed hashes. */
static const char SQLITE_0007[] =
	"CREATE TABLE phone_changes ("
	" id TEXT PRIMARY KEY,"
	" subject_id TEXT NOT NULL REFERENCES subjects(id),"
	" kind TEXT NOT NULL CHECK (kind IN ('staff', 'borrower')),"
	" status TEXT NOT NULL"
	"  CHECK (status IN ('pending', 'applied', 'superseded')),"
	" new_phone_sealed BLOB NOT NULL,"
	" new_phone_digest BLOB NOT NULL,"
	" identity_check TEXT,"
	" proposed_by TEXT NOT NULL,"
	" proposed_role TEXT,"
	" created_at BIGINT NOT NULL,"
	" expires_at BIGINT NOT NULL,"
	" old_code_hash BLOB,"
	" new_code_hash BLOB,"
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" decided_by TEXT,"
	" decided_at BIGINT);"
	"CREATE INDEX phone_changes_by_subject ON phone_changes(subject_id, status);";

static const struct store_migration sqlite_migrations[] = {
	{ 1, "0001_platform", SQLITE_0001 },
	{ 2, "0002_vault", SQLITE_0002 },
	{ 3, "0003_consents", SQLITE_0003 },
	{ 4, "0004_totp_once", SQLITE_0004 },
	{ 5, "0005_active_consents", SQLITE_0005 },
	{ 6, "0006_no_truncate", SQLITE_0006 },
	{ 7, "0007_phone_changes", SQLITE_0007 },
};

/* ---- PostgreSQL ----------------------------------------------------------- */

static const char POSTGRES_0001[] =
	"CREATE TABLE staff ("
	" id BIGSERIAL PRIMARY KEY,"
	" login TEXT NOT NULL UNIQUE,"
	" role TEXT NOT NULL,"
	" kind TEXT NOT NULL CHECK (kind IN ('person', 'service')),"
	" password_hash TEXT,"
	" totp_secret BYTEA,"
	" totp_pending BYTEA,"
	" enrolled INTEGER NOT NULL DEFAULT 0,"
	" failed_logins INTEGER NOT NULL DEFAULT 0,"
	" locked_until BIGINT NOT NULL DEFAULT 0,"
	" created_at BIGINT NOT NULL,"
	" revoked_at BIGINT);"
	"CREATE TABLE staff_tokens ("
	" token_hash BYTEA PRIMARY KEY,"
	" staff_id BIGINT NOT NULL REFERENCES staff(id),"
	" created_at BIGINT NOT NULL,"
	" expires_at BIGINT,"
	" revoked_at BIGINT);"
	"CREATE INDEX staff_tokens_by_staff ON staff_tokens(staff_id);"
	"CREATE TABLE audit_log ("
	" seq BIGINT PRIMARY KEY,"
	" at BIGINT NOT NULL,"
	" actor TEXT NOT NULL,"
	" operation TEXT NOT NULL,"
	" object TEXT NOT NULL,"
	" subject_id TEXT,"
	" categories TEXT NOT NULL,"
	" purpose TEXT NOT NULL,"
	" outcome TEXT NOT NULL,"
	" request_id TEXT NOT NULL,"
	" hash BYTEA NOT NULL);"
	"CREATE FUNCTION senim_refuse_change() RETURNS trigger LANGUAGE plpgsql AS"
	" $$ BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$;"
	"CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log"
	" FOR EACH ROW EXECUTE FUNCTION senim_refuse_change();"
	"CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log"
	" FOR EACH STATEMENT EXECUTE FUNCTION senim_refuse_change();"
	"CREATE TABLE audit_head ("
	" id INTEGER PRIMARY KEY CHECK (id = 1),"
	" seq BIGINT NOT NULL,"
	" hash BYTEA NOT NULL);"
	"INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, decode(repeat('00', 32), "
	"'hex'));"
	"CREATE TABLE audit_checkpoints ("
	" seq BIGINT PRIMARY KEY,"
	" hash BYTEA NOT NULL,"
	" signed_at BIGINT NOT NULL,"
	" key_id TEXT NOT NULL,"
	" signature BYTEA NOT NULL);"
	"CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE"
	" ON audit_checkpoints FOR EACH ROW EXECUTE FUNCTION senim_refuse_change();"
	"CREATE TABLE policies ("
	" seq BIGINT PRIMARY KEY,"
	" version TEXT NOT NULL UNIQUE,"
	" published_at BIGINT NOT NULL,"
	" published_by TEXT NOT NULL,"
	" text_ru TEXT NOT NULL,"
	" text_kk TEXT NOT NULL,"
	" sha256_ru TEXT NOT NULL,"
	" sha256_kk TEXT NOT NULL);"
	"CREATE TRIGGER policies_immutable BEFORE UPDATE OR DELETE ON policies"
	" FOR EACH ROW EXECUTE FUNCTION senim_refuse_change();";

static const char POSTGRES_0002[] =
	"CREATE TABLE subjects ("
	" id TEXT PRIMARY KEY,"
	" created_at BIGINT NOT NULL,"
	" created_by TEXT NOT NULL,"
	" blocked INTEGER NOT NULL DEFAULT 0,"
	" block_reason TEXT,"
	" blocked_at BIGINT,"
	" allowed_purposes BIGINT);"
	"CREATE TABLE subject_keys ("
	" subject_id TEXT PRIMARY KEY REFERENCES subjects(id),"
	" kek_version BIGINT NOT NULL,"
	" wrapped BYTEA NOT NULL,"
	" created_at BIGINT NOT NULL,"
	" rewrapped_at BIGINT);"
	"CREATE INDEX subject_keys_by_kek ON subject_keys(kek_version);"
	"CREATE TABLE subject_records ("
	" subject_id TEXT NOT NULL REFERENCES subjects(id),"
	" category TEXT NOT NULL,"
	" version BIGINT NOT NULL,"
	" source TEXT NOT NULL,"
	" actor TEXT NOT NULL,"
	" created_at BIGINT NOT NULL,"
	" sealed BYTEA NOT NULL,"
	" PRIMARY KEY (subject_id, category, version));"
	"CREATE TABLE subject_index ("
	" kind TEXT NOT NULL,"
	" digest BYTEA NOT NULL,"
	" subject_id TEXT NOT NULL REFERENCES subjects(id),"
	" PRIMARY KEY (kind, digest, subject_id));"
	"CREATE UNIQUE INDEX subject_index_one_iin ON subject_index(digest)"
	" WHERE kind = 'iin';"
	"CREATE INDEX subject_index_by_subject ON subject_index(subject_id);";

static const char POSTGRES_0003[] =
	"CREATE TABLE borrower_otps ("
	" phone_digest BYTEA PRIMARY KEY,"
	" code_hash BYTEA NOT NULL,"
	" created_at BIGINT NOT NULL,"
	" expires_at BIGINT NOT NULL,"
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" used_at BIGINT);"
	"CREATE TABLE borrower_tokens ("
	" token_hash BYTEA PRIMARY KEY,"
	" subject_id TEXT NOT NULL REFERENCES subjects(id),"
	" created_at BIGINT NOT NULL,"
	" expires_at BIGINT NOT NULL,"
	" revoked_at BIGINT);"
	"CREATE INDEX borrower_tokens_by_subject ON borrower_tokens(subject_id);"
	"CREATE TABLE consents ("
	" id TEXT PRIMARY KEY,"
	" subject_id TEXT NOT NULL REFERENCES subjects(id),"
	" kind TEXT NOT NULL,"
	" policy_version TEXT NOT NULL,"
	" language TEXT NOT NULL,"
	" channel TEXT NOT NULL,"
	" granted_at BIGINT NOT NULL,"
	" withdrawn_at BIGINT,"
	" evidence BYTEA NOT NULL,"
	" receipt TEXT NOT NULL,"
	" withdrawal_receipt TEXT);"
	"CREATE INDEX consents_by_subject ON consents(subject_id, kind);"
	"CREATE TABLE obligations ("
	" subject_id TEXT NOT NULL REFERENCES subjects(id),"
	" contract_digest BYTEA NOT NULL,"
	" status TEXT NOT NULL CHECK (status IN ('open', 'closed')),"
	" origin TEXT NOT NULL,"
	" details BYTEA NOT NULL,"
	" recorded_at BIGINT NOT NULL,"
	" closed_at BIGINT,"
	" PRIMARY KEY (subject_id, contract_digest));"
	"CREATE UNIQUE INDEX obligations_by_contract ON obligations(contract_digest);";

static const char POSTGRES_0004[] =
	"ALTER TABLE staff ADD COLUMN totp_last_step BIGINT NOT NULL DEFAULT 0;";

/* Version 5: see SQLITE_0005. */
static const char POSTGRES_0005[] =
	"CREATE INDEX consents_active ON consents(subject_id, kind, policy_version)"
	" WHERE withdrawn_at IS NULL;";

/* Version 6: see SQLITE_0006. */
static const char POSTGRES_0006[] =
	"CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON "
	"audit_checkpoints"
	" FOR EACH STATEMENT EXECUTE FUNCTION senim_refuse_change();"
	"CREATE TRIGGER policies_no_truncate BEFORE TRUNCATE ON policies"
	" FOR EACH STATEMENT EXECUTE FUNCTION senim_refuse_change();";

/* Version 7: see SQLITE_0007. */
static const char POSTGRES_0007[] =
	"CREATE TABLE phone_changes ("
	" id TEXT PRIMARY KEY,"
	" subject_id TEXT NOT NULL REFERENCES subjects(id),"
	" kind TEXT NOT NULL CHECK (kind IN ('staff', 'borrower')),"
	" status TEXT NOT NULL"
	"  CHECK (status IN ('pending', 'applied', 'superseded')),"
	" new_phone_sealed BYTEA NOT NULL,"
	" new_phone_digest BYTEA NOT NULL,"
	" identity_check TEXT,"
	" proposed_by TEXT NOT NULL,"
	" proposed_role TEXT,"
	" created_at BIGINT NOT NULL,"
	" expires_at BIGINT NOT NULL,"
	" old_code_hash BYTEA,"
	" new_code_hash BYTEA,"
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" decided_by TEXT,"
	" decided_at BIGINT);"
	"CREATE INDEX phone_changes_by_subject ON phone_changes(subject_id, status);";

static const struct store_migration postgres_migrations[] = {
	{ 1, "0001_platform", POSTGRES_0001 },
	{ 2, "0002_vault", POSTGRES_0002 },
	{ 3, "0003_consents", POSTGRES_0003 },
	{ 4, "0004_totp_once", POSTGRES_0004 },
	{ 5, "0005_active_consents", POSTGRES_0005 },
	{ 6, "0006_no_truncate", POSTGRES_0006 },
	{ 7, "0007_phone_changes", POSTGRES_0007 },
};

const struct store_migration *store_migrations(enum store_kind kind, size_t *count)
{
	if (kind == STORE_POSTGRES) {
		*count = sizeof(postgres_migrations) / sizeof(postgres_migrations[0]);
		return postgres_migrations;
	}
	*count = sizeof(sqlite_migrations) / sizeof(sqlite_migrations[0]);
	return sqlite_migrations;
}
