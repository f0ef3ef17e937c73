/*
 * migrations.c — the schema, version by version, for both backends.
 *
 * A migration is never edited once released: a change is a new entry at the
 * end of the list.  A database records the versions it ran by number and
 * name only (schema_migrations), so an edited text would leave it with
 * another schema than a fresh one; tests/unit/test_migrations.c pins the
 * SQL each backend runs for each version.
 *
 * Each version is written once.  Where the engines' dialects differ (the
 * binary type, a key the engine numbers, the append-only triggers), the
 * text names the difference as {name}, and store_migration_sql() puts in
 * the backend's words from the table below, so the two schemas cannot
 * drift apart.  No other '{' appears in a migration.
 *
 * Every table that holds a borrower's data carries subject_id (DESIGN.md,
 * scale-out); the tables of version 1 hold none yet.
 */
#include "store/backend.h"

#include <string.h>

#include "common/log.h"
#include "common/banned.h"

/* ---- where the dialects differ ------------------------------------------ */

/*
 * Append-only tables (the audit log and its checkpoints) and published
 * policies refuse UPDATE and DELETE: on SQLite a trigger per statement
 * kind raises; on PostgreSQL every such trigger calls one function, and
 * TRUNCATE, which fires no row trigger, has a trigger of its own.
 */
static const char POSTGRES_REFUSE_CHANGE[] =
	"CREATE FUNCTION senim_refuse_change() RETURNS trigger LANGUAGE plpgsql AS"
	" $$ BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$;";

static const char SQLITE_AUDIT_LOG_APPEND_ONLY[] =
	"CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log"
	" BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;"
	"CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log"
	" BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;";
static const char POSTGRES_AUDIT_LOG_APPEND_ONLY[] =
	"CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log"
	" FOR EACH ROW EXECUTE FUNCTION senim_refuse_change();"
	"CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log"
	" FOR EACH STATEMENT EXECUTE FUNCTION senim_refuse_change();";

static const char SQLITE_CHECKPOINTS_APPEND_ONLY[] =
	"CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints"
	" BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END;"
	"CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints"
	" BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END;";
static const char POSTGRES_CHECKPOINTS_APPEND_ONLY[] =
	"CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE"
	" ON audit_checkpoints FOR EACH ROW EXECUTE FUNCTION senim_refuse_change();";

static const char SQLITE_POLICIES_IMMUTABLE[] =
	"CREATE TRIGGER policies_immutable BEFORE UPDATE ON policies"
	" BEGIN SELECT RAISE(ABORT, 'published policies are immutable'); END;"
	"CREATE TRIGGER policies_kept BEFORE DELETE ON policies"
	" BEGIN SELECT RAISE(ABORT, 'published policies are kept forever'); END;";
static const char POSTGRES_POLICIES_IMMUTABLE[] =
	"CREATE TRIGGER policies_immutable BEFORE UPDATE OR DELETE ON policies"
	" FOR EACH ROW EXECUTE FUNCTION senim_refuse_change();";

/* Version 6 (see M0006).  SQLite has nothing to do: its released text is a
 * statement that does nothing. */
static const char POSTGRES_NO_TRUNCATE[] =
	"CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE"
	" ON audit_checkpoints FOR EACH STATEMENT EXECUTE FUNCTION senim_refuse_change();"
	"CREATE TRIGGER policies_no_truncate BEFORE TRUNCATE ON policies"
	" FOR EACH STATEMENT EXECUTE FUNCTION senim_refuse_change();";

/* Version 8 (see M0008): the disclosure register and the recipients as
 * they were, append-only like the audit log, TRUNCATE included. */
static const char SQLITE_REGISTER_APPEND_ONLY[] =
	"CREATE TRIGGER disclosures_no_update BEFORE UPDATE ON disclosures"
	" BEGIN SELECT RAISE(ABORT, 'disclosures is append-only'); END;"
	"CREATE TRIGGER disclosures_no_delete BEFORE DELETE ON disclosures"
	" BEGIN SELECT RAISE(ABORT, 'disclosures is append-only'); END;"
	"CREATE TRIGGER recipient_snapshots_no_update BEFORE UPDATE ON "
	"recipient_snapshots"
	" BEGIN SELECT RAISE(ABORT, 'recipient_snapshots is append-only'); END;"
	"CREATE TRIGGER recipient_snapshots_no_delete BEFORE DELETE ON "
	"recipient_snapshots"
	" BEGIN SELECT RAISE(ABORT, 'recipient_snapshots is append-only'); END;";
static const char POSTGRES_REGISTER_APPEND_ONLY[] =
	"CREATE TRIGGER disclosures_append_only BEFORE UPDATE OR DELETE ON disclosures"
	" FOR EACH ROW EXECUTE FUNCTION senim_refuse_change();"
	"CREATE TRIGGER disclosures_no_truncate BEFORE TRUNCATE ON disclosures"
	" FOR EACH STATEMENT EXECUTE FUNCTION senim_refuse_change();"
	"CREATE TRIGGER recipient_snapshots_append_only BEFORE UPDATE OR DELETE"
	" ON recipient_snapshots FOR EACH ROW EXECUTE FUNCTION senim_refuse_change();"
	"CREATE TRIGGER recipient_snapshots_no_truncate BEFORE TRUNCATE"
	" ON recipient_snapshots FOR EACH STATEMENT EXECUTE FUNCTION "
	"senim_refuse_change();";

/* Version 22 (see M0022): loan_events' event CHECK gains 'applied'.
 * SQLite cannot change a CHECK: the table is built again under a new name,
 * the rows copied, the old dropped and the new renamed (nothing references
 * loan_events, so no foreign key sees the swap).  PostgreSQL swaps the
 * constraint it named for the column. */
static const char SQLITE_LOAN_EVENTS_APPLIED[] =
	"CREATE TABLE loan_events_v22 ("
	" id TEXT PRIMARY KEY,"
	" seq BIGINT NOT NULL UNIQUE,"
	" subject_id TEXT NOT NULL REFERENCES subjects(id),"
	" contract_digest BLOB NOT NULL,"
	" event TEXT NOT NULL CHECK (event IN ('issued', 'payment', 'overdue',"
	"  'restructured', 'closed', 'written_off', 'applied')),"
	" occurred_on TEXT NOT NULL,"
	" details BLOB NOT NULL,"
	" imported_at BIGINT NOT NULL,"
	" imported_by TEXT NOT NULL,"
	" UNIQUE (contract_digest, event, occurred_on));"
	"INSERT INTO loan_events_v22 (id, seq, subject_id, contract_digest, event,"
	" occurred_on, details, imported_at, imported_by)"
	" SELECT id, seq, subject_id, contract_digest, event, occurred_on, details,"
	" imported_at, imported_by FROM loan_events;"
	"DROP TABLE loan_events;"
	"ALTER TABLE loan_events_v22 RENAME TO loan_events;"
	"CREATE INDEX loan_events_by_subject ON loan_events(subject_id);";
static const char POSTGRES_LOAN_EVENTS_APPLIED[] =
	"ALTER TABLE loan_events DROP CONSTRAINT loan_events_event_check;"
	"ALTER TABLE loan_events ADD CONSTRAINT loan_events_event_check"
	" CHECK (event IN ('issued', 'payment', 'overdue', 'restructured', 'closed',"
	" 'written_off', 'applied'));";

/* Every {name} a migration may use, in each dialect. */
static const struct dialect_word {
	const char *name;
	const char *sqlite;
	const char *postgres;
} dialect[] = {
	{ "blob", "BLOB", "BYTEA" },
	/* A key the engine numbers: SQLite's rowid, PostgreSQL's sequence. */
	{ "serial", "INTEGER", "BIGSERIAL" },
	{ "zero_hash", "zeroblob(32)", "decode(repeat('00', 32), 'hex')" },
	{ "refuse_change", "", POSTGRES_REFUSE_CHANGE },
	{ "audit_log_append_only", SQLITE_AUDIT_LOG_APPEND_ONLY,
	  POSTGRES_AUDIT_LOG_APPEND_ONLY },
	{ "audit_checkpoints_append_only", SQLITE_CHECKPOINTS_APPEND_ONLY,
	  POSTGRES_CHECKPOINTS_APPEND_ONLY },
	{ "policies_immutable", SQLITE_POLICIES_IMMUTABLE, POSTGRES_POLICIES_IMMUTABLE },
	{ "no_truncate", "SELECT 1;", POSTGRES_NO_TRUNCATE },
	{ "register_append_only", SQLITE_REGISTER_APPEND_ONLY,
	  POSTGRES_REGISTER_APPEND_ONLY },
	{ "loan_events_applied", SQLITE_LOAN_EVENTS_APPLIED,
	  POSTGRES_LOAN_EVENTS_APPLIED },
};

/* ---- the versions ---------------------------------------------------------- */

static const char M0001[] =
	"CREATE TABLE staff ("
	" id {serial} PRIMARY KEY,"
	" login TEXT NOT NULL UNIQUE,"
	" role TEXT NOT NULL,"
	" kind TEXT NOT NULL CHECK (kind IN ('person', 'service')),"
	" password_hash TEXT,"
	" totp_secret {blob},"
	" totp_pending {blob},"
	" enrolled INTEGER NOT NULL DEFAULT 0,"
	" failed_logins INTEGER NOT NULL DEFAULT 0,"
	" locked_until BIGINT NOT NULL DEFAULT 0,"
	" created_at BIGINT NOT NULL,"
	" revoked_at BIGINT);"
	"CREATE TABLE staff_tokens ("
	" token_hash {blob} PRIMARY KEY,"
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
	" hash {blob} NOT NULL);"
	"{refuse_change}"
	"{audit_log_append_only}"
	"CREATE TABLE audit_head ("
	" id INTEGER PRIMARY KEY CHECK (id = 1),"
	" seq BIGINT NOT NULL,"
	" hash {blob} NOT NULL);"
	"INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, {zero_hash});"
	"CREATE TABLE audit_checkpoints ("
	" seq BIGINT PRIMARY KEY,"
	" hash {blob} NOT NULL,"
	" signed_at BIGINT NOT NULL,"
	" key_id TEXT NOT NULL,"
	" signature {blob} NOT NULL);"
	"{audit_checkpoints_append_only}"
	"CREATE TABLE policies ("
	" seq BIGINT PRIMARY KEY,"
	" version TEXT NOT NULL UNIQUE,"
	" published_at BIGINT NOT NULL,"
	" published_by TEXT NOT NULL,"
	" text_ru TEXT NOT NULL,"
	" text_kk TEXT NOT NULL,"
	" sha256_ru TEXT NOT NULL,"
	" sha256_kk TEXT NOT NULL);"
	"{policies_immutable}";

/* Version 2: the personal-data vault (issue: encrypted borrower records).
 * No column holds personal data in plain text: records are sealed blobs
 * (vault.h), lookups go through blind indexes. */
static const char M0002[] =
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
	" wrapped {blob} NOT NULL,"
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
	" sealed {blob} NOT NULL,"
	" PRIMARY KEY (subject_id, category, version));"
	"CREATE TABLE subject_index ("
	" kind TEXT NOT NULL,"
	" digest {blob} NOT NULL,"
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
static const char M0003[] =
	"CREATE TABLE borrower_otps ("
	" phone_digest {blob} PRIMARY KEY,"
	" code_hash {blob} NOT NULL,"
	" created_at BIGINT NOT NULL,"
	" expires_at BIGINT NOT NULL,"
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" used_at BIGINT);"
	"CREATE TABLE borrower_tokens ("
	" token_hash {blob} PRIMARY KEY,"
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
	" evidence {blob} NOT NULL,"
	" receipt TEXT NOT NULL,"
	" withdrawal_receipt TEXT);"
	"CREATE INDEX consents_by_subject ON consents(subject_id, kind);"
	"CREATE TABLE obligations ("
	" subject_id TEXT NOT NULL REFERENCES subjects(id),"
	" contract_digest {blob} NOT NULL,"
	" status TEXT NOT NULL CHECK (status IN ('open', 'closed')),"
	" origin TEXT NOT NULL,"
	" details {blob} NOT NULL,"
	" recorded_at BIGINT NOT NULL,"
	" closed_at BIGINT,"
	" PRIMARY KEY (subject_id, contract_digest));"
	"CREATE UNIQUE INDEX obligations_by_contract ON obligations(contract_digest);";

/* Version 4: RFC 6238 5.2 — a TOTP code is accepted once: the last time
 * step used by each account. */
static const char M0004[] =
	"ALTER TABLE staff ADD COLUMN totp_last_step BIGINT NOT NULL DEFAULT 0;";

/* Version 5: every borrower request asks which consents are active (the
 * policy gate, C4), and every grant whether one of its kind is; answered
 * from the active ones alone, so the cost does not grow with a borrower's
 * history of grants and withdrawals. */
static const char M0005[] =
	"CREATE INDEX consents_active ON consents(subject_id, kind, policy_version)"
	" WHERE withdrawn_at IS NULL;";

/* Version 6: on PostgreSQL, TRUNCATE of the signed audit checkpoints and
 * of published policies is refused as DELETE is (TRUNCATE fires no row
 * triggers): without its checkpoints the chain could be recomputed whole.
 * SQLite has no TRUNCATE — its DELETE triggers already hold, a DELETE
 * without WHERE included — so there the version does nothing (see
 * {no_truncate}). */
static const char M0006[] = "{no_truncate}";

/* Version 7: the sign-in phone changes only by its own procedure (U4, S1):
 * a proposal by staff that a member of another role approves, or the
 * borrower's own change proven by codes to both numbers.  The new phone is
 * held sealed with the subject's data key and found by its blind index
 * only; the codes only as keyed hashes. */
static const char M0007[] =
	"CREATE TABLE phone_changes ("
	" id TEXT PRIMARY KEY,"
	" subject_id TEXT NOT NULL REFERENCES subjects(id),"
	" kind TEXT NOT NULL CHECK (kind IN ('staff', 'borrower')),"
	" status TEXT NOT NULL"
	"  CHECK (status IN ('pending', 'applied', 'superseded')),"
	" new_phone_sealed {blob} NOT NULL,"
	" new_phone_digest {blob} NOT NULL,"
	" identity_check TEXT,"
	" proposed_by TEXT NOT NULL,"
	" proposed_role TEXT,"
	" created_at BIGINT NOT NULL,"
	" expires_at BIGINT NOT NULL,"
	" old_code_hash {blob},"
	" new_code_hash {blob},"
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" decided_by TEXT,"
	" decided_at BIGINT);"
	"CREATE INDEX phone_changes_by_subject ON phone_changes(subject_id, status);";

/*
 * Version 8: exchange with third parties (T1-T6, D8, S4;
 * docs/recipients.md).
 *
 * transfers is the durable outbox: a transfer is decided and recorded with
 * its sealed payload in one transaction, then sent under its idempotency
 * key; the state machine and leases let a crash resend it, never twice to a
 * recipient that de-duplicates.  loan_events feed the bureau reports, the
 * contract found by its blind index, the details sealed; bureau_cursors say
 * how far each bureau has been reported to.
 *
 * disclosures is the register: every transfer's fate and every receipt, one
 * row each, written only by exchange/register.c with its audit record in
 * the same transaction, append-only.  It holds ids and codes only, so it
 * outlives crypto-shredding as the audit log does; recipient_snapshots
 * keeps who each recipient was (names, registration) when it was named,
 * keyed by a hash of exactly that.  subject_sources keeps what came in,
 * sealed; subject_findings the disagreements between it and what the
 * borrower declared (D8), without values.  The register's indexes end in
 * id: its pages are ordered, and resumed, by (at, id).
 */
static const char M0008[] =
	"CREATE TABLE transfers ("
	" id TEXT PRIMARY KEY,"
	" subject_id TEXT NOT NULL REFERENCES subjects(id),"
	" recipient TEXT NOT NULL,"
	" service TEXT NOT NULL,"
	" api TEXT NOT NULL,"
	" mode TEXT NOT NULL CHECK (mode IN ('query', 'deliver')),"
	" idempotency_key TEXT NOT NULL,"
	" purpose TEXT NOT NULL,"
	" basis TEXT NOT NULL CHECK (basis IN ('consent', 'law', 'agreement')),"
	" consent_id TEXT,"
	" legal_ref TEXT,"
	" categories TEXT NOT NULL,"
	" fields TEXT NOT NULL,"
	" country TEXT NOT NULL,"
	" cross_border INTEGER NOT NULL,"
	" payload {blob} NOT NULL,"
	" state TEXT NOT NULL CHECK (state IN"
	"  ('pending', 'sending', 'delivered', 'failed', 'dead', 'abandoned')),"
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" next_attempt_at BIGINT NOT NULL,"
	" deadline_at BIGINT,"
	" lease_owner TEXT,"
	" lease_until BIGINT,"
	" may_have_reached INTEGER NOT NULL DEFAULT 0,"
	" last_error TEXT,"
	" batch_id TEXT,"
	" request_id TEXT NOT NULL,"
	" actor TEXT NOT NULL,"
	" created_at BIGINT NOT NULL,"
	" updated_at BIGINT NOT NULL);"
	"CREATE UNIQUE INDEX transfers_key ON transfers(recipient, idempotency_key);"
	"CREATE INDEX transfers_due ON transfers(state, next_attempt_at);"
	"CREATE INDEX transfers_by_subject ON transfers(subject_id, created_at);"
	"CREATE TABLE loan_events ("
	" id TEXT PRIMARY KEY,"
	" seq BIGINT NOT NULL UNIQUE,"
	" subject_id TEXT NOT NULL REFERENCES subjects(id),"
	" contract_digest {blob} NOT NULL,"
	" event TEXT NOT NULL CHECK (event IN ('issued', 'payment', 'overdue',"
	"  'restructured', 'closed', 'written_off')),"
	" occurred_on TEXT NOT NULL,"
	" details {blob} NOT NULL,"
	" imported_at BIGINT NOT NULL,"
	" imported_by TEXT NOT NULL,"
	" UNIQUE (contract_digest, event, occurred_on));"
	"CREATE INDEX loan_events_by_subject ON loan_events(subject_id);"
	"CREATE TABLE bureau_cursors ("
	" recipient TEXT PRIMARY KEY,"
	" last_seq BIGINT NOT NULL,"
	" updated_at BIGINT NOT NULL);"
	"CREATE TABLE recipient_snapshots ("
	" id {blob} PRIMARY KEY,"
	" code TEXT NOT NULL,"
	" kind TEXT NOT NULL,"
	" country TEXT NOT NULL,"
	" registration TEXT NOT NULL,"
	" name_ru TEXT NOT NULL,"
	" name_kk TEXT NOT NULL,"
	" first_seen BIGINT NOT NULL);"
	"CREATE INDEX recipient_snapshots_by_code ON recipient_snapshots(code, "
	"first_seen);"
	"CREATE TABLE disclosures ("
	" id TEXT PRIMARY KEY,"
	" subject_id TEXT NOT NULL REFERENCES subjects(id),"
	" at BIGINT NOT NULL,"
	" direction TEXT NOT NULL CHECK (direction IN ('out', 'in')),"
	" recipient TEXT NOT NULL,"
	" recipient_snapshot {blob} NOT NULL REFERENCES recipient_snapshots(id),"
	" service TEXT NOT NULL,"
	" categories TEXT NOT NULL,"
	" fields TEXT NOT NULL,"
	" purpose TEXT NOT NULL,"
	" basis TEXT NOT NULL CHECK (basis IN ('consent', 'law', 'agreement')),"
	" consent_id TEXT,"
	" legal_ref TEXT,"
	" cross_border INTEGER NOT NULL,"
	" country TEXT NOT NULL,"
	" outcome TEXT NOT NULL CHECK (outcome IN"
	"  ('delivered', 'received', 'refused', 'failed', 'abandoned')),"
	" reason TEXT,"
	" may_have_reached INTEGER NOT NULL DEFAULT 0,"
	" transfer_id TEXT,"
	" request_id TEXT NOT NULL,"
	" actor TEXT NOT NULL);"
	"CREATE INDEX disclosures_by_subject ON disclosures(subject_id, at, id);"
	"CREATE INDEX disclosures_by_recipient ON disclosures(recipient, at, id);"
	"CREATE INDEX disclosures_by_time ON disclosures(at, id);"
	"{register_append_only}"
	"CREATE TABLE subject_sources ("
	" id TEXT PRIMARY KEY,"
	" subject_id TEXT NOT NULL REFERENCES subjects(id),"
	" recipient TEXT NOT NULL,"
	" service TEXT NOT NULL,"
	" transfer_id TEXT,"
	" received_at BIGINT NOT NULL,"
	" sealed {blob} NOT NULL);"
	"CREATE INDEX subject_sources_by_subject ON subject_sources(subject_id, "
	"received_at);"
	"CREATE TABLE subject_findings ("
	" id TEXT PRIMARY KEY,"
	" subject_id TEXT NOT NULL REFERENCES subjects(id),"
	" source_id TEXT REFERENCES subject_sources(id),"
	" category TEXT NOT NULL,"
	" field TEXT NOT NULL,"
	" kind TEXT NOT NULL CHECK (kind IN ('mismatch', 'not_found')),"
	" created_at BIGINT NOT NULL,"
	" resolved_at BIGINT,"
	" resolved_by TEXT,"
	" resolution TEXT);"
	"CREATE INDEX subject_findings_by_subject ON subject_findings(subject_id, "
	"created_at);";

/*
 * Version 9: lending — the product catalogue and borrowers' applications
 * (C4, U1; src/lending/).
 *
 * A product is versioned: a change is a new row (code, version + 1), never
 * an UPDATE, and an application keeps the version it was made under.
 * Lists (schedule methods, required categories and consents) are
 * comma-separated codes.  An application's payout destination (a card
 * number or an account) is personal data: sealed with the subject's data
 * key, with only its last four characters beside it for display.  One
 * application in progress per borrower is the partial unique index, on
 * both engines; the states of the next wave (approved ... disbursed) are
 * in the CHECK already so it needs no table rebuild on SQLite.
 */
static const char M0009[] =
	"CREATE TABLE products ("
	" code TEXT NOT NULL,"
	" version BIGINT NOT NULL,"
	" name_ru TEXT NOT NULL,"
	" name_kk TEXT NOT NULL,"
	" amount_min_tiyn BIGINT NOT NULL,"
	" amount_max_tiyn BIGINT NOT NULL,"
	" term_min_days BIGINT NOT NULL,"
	" term_max_days BIGINT NOT NULL,"
	" rate_bp BIGINT NOT NULL,"
	" issue_fee_tiyn BIGINT NOT NULL,"
	" issue_fee_bp BIGINT NOT NULL,"
	" schedule_methods TEXT NOT NULL,"
	" categories TEXT NOT NULL,"
	" consents TEXT NOT NULL,"
	" active INTEGER NOT NULL CHECK (active IN (0, 1)),"
	" created_at BIGINT NOT NULL,"
	" created_by TEXT NOT NULL,"
	" CHECK (0 < amount_min_tiyn AND amount_min_tiyn <= amount_max_tiyn),"
	" CHECK (0 < term_min_days AND term_min_days <= term_max_days),"
	" PRIMARY KEY (code, version));"
	"CREATE TABLE applications ("
	" id TEXT PRIMARY KEY,"
	" subject_id TEXT NOT NULL REFERENCES subjects(id),"
	" product_code TEXT NOT NULL,"
	" product_version BIGINT NOT NULL,"
	" amount_tiyn BIGINT NOT NULL CHECK (amount_tiyn > 0),"
	" term_days BIGINT NOT NULL CHECK (term_days > 0),"
	" schedule_method TEXT NOT NULL,"
	" payout_kind TEXT NOT NULL CHECK (payout_kind IN ('card', 'account')),"
	" payout_sealed {blob} NOT NULL,"
	" payout_last4 TEXT NOT NULL,"
	" state TEXT NOT NULL CHECK (state IN ('open', 'declined', 'withdrawn',"
	"  'approved', 'referred', 'offered', 'signed', 'disbursed')),"
	" decline_reason TEXT,"
	" refused TEXT,"
	" created_at BIGINT NOT NULL,"
	" updated_at BIGINT NOT NULL,"
	" request_id TEXT NOT NULL,"
	" FOREIGN KEY (product_code, product_version) REFERENCES products(code, "
	"version));"
	"CREATE UNIQUE INDEX applications_one_open ON applications(subject_id)"
	" WHERE state IN ('open', 'approved', 'referred', 'offered', 'signed');"
	"CREATE INDEX applications_by_subject ON applications(subject_id, created_at);"
	"CREATE INDEX applications_by_state ON applications(state, id);";

/* Version 10: loans (lending/loans.h).  A loan's state and schedule are
 * their encodings; status, day, overdue_days and principal_left mirror the
 * state for end of day's index and for reports. */
static const char M0010[] =
	"CREATE TABLE loans ("
	" id TEXT PRIMARY KEY,"
	" subject_id TEXT NOT NULL REFERENCES subjects(id),"
	" application_id TEXT REFERENCES applications(id),"
	" contract_index {blob} NOT NULL UNIQUE,"
	" sealed {blob} NOT NULL,"
	" principal BIGINT NOT NULL CHECK (principal > 0),"
	" rate_bp BIGINT NOT NULL CHECK (rate_bp >= 0),"
	" method TEXT NOT NULL CHECK (method IN ('annuity', 'differentiated',"
	"  'single')),"
	" payments BIGINT NOT NULL,"
	" term_days BIGINT NOT NULL,"
	" start_day BIGINT NOT NULL,"
	" penalty_daily_bp BIGINT NOT NULL CHECK (penalty_daily_bp >= 0),"
	" penalty_annual_bp BIGINT NOT NULL CHECK (penalty_annual_bp >= 0),"
	" schedule {blob} NOT NULL,"
	" state {blob} NOT NULL,"
	" status TEXT NOT NULL CHECK (status IN ('open', 'overdue', 'closed')),"
	" day BIGINT NOT NULL,"
	" overdue_days BIGINT NOT NULL,"
	" principal_left BIGINT NOT NULL,"
	" created_at BIGINT NOT NULL,"
	" updated_at BIGINT NOT NULL);"
	"CREATE INDEX loans_by_subject ON loans(subject_id, created_at);"
	"CREATE INDEX loans_due ON loans(status, day, id);"
	"CREATE TABLE loan_notices ("
	" id TEXT PRIMARY KEY,"
	" loan_id TEXT NOT NULL REFERENCES loans(id),"
	" subject_id TEXT NOT NULL REFERENCES subjects(id),"
	" kind TEXT NOT NULL CHECK (kind IN ('delinquency')),"
	" delay_began BIGINT NOT NULL,"
	" send_by BIGINT NOT NULL,"
	" state TEXT NOT NULL CHECK (state IN ('queued', 'sent', 'cancelled')),"
	" created_at BIGINT NOT NULL,"
	" sent_at BIGINT,"
	" UNIQUE (loan_id, kind, delay_began));"
	"CREATE INDEX loan_notices_queued ON loan_notices(state, send_by);";

/*
 * Version 11: decisions on applications (U1, D8; lending/decisions.h).
 *
 * A decision is appended, never changed: an underwriter's decision on a
 * referred case is a row of its own.  It names the scorecard (id, version
 * and the digest of the file's bytes) so the points and reasons can be
 * explained later; the inputs it was made from (the bureau's and the
 * operator's answers: personal financial data) are sealed with the
 * subject's data key, bound to the decision's id.  Reasons are the codes
 * only, comma-separated; the texts are the scorecard's, by language.
 * `status` is 'pending_approval' for an override waiting for a second
 * underwriter (maker-checker).  The offer is one row per approved
 * application: amount, term, rate, fees and the ГЭСВ of each schedule;
 * the schedules themselves are recomputable from these.  A lock names the
 * one underwriter working a case.
 */
static const char M0011[] =
	"CREATE TABLE decisions ("
	" id TEXT PRIMARY KEY,"
	" application_id TEXT NOT NULL REFERENCES applications(id),"
	" subject_id TEXT NOT NULL REFERENCES subjects(id),"
	" kind TEXT NOT NULL CHECK (kind IN ('automatic', 'underwriter')),"
	" outcome TEXT NOT NULL CHECK (outcome IN ('approve', 'decline', 'refer')),"
	" status TEXT NOT NULL CHECK (status IN ('final', 'pending_approval',"
	"  'superseded')),"
	" scorecard_id TEXT,"
	" scorecard_version BIGINT,"
	" scorecard_digest TEXT,"
	" points BIGINT,"
	" reasons TEXT NOT NULL,"
	" inputs_sealed {blob},"
	" amount_limit_tiyn BIGINT NOT NULL,"
	" term_limit_days BIGINT NOT NULL,"
	" decided_by TEXT NOT NULL,"
	" confirmed_by TEXT,"
	" created_at BIGINT NOT NULL,"
	" request_id TEXT NOT NULL);"
	"CREATE INDEX decisions_by_application ON decisions(application_id, created_at);"
	"CREATE INDEX decisions_by_subject ON decisions(subject_id, created_at);"
	"CREATE TABLE offers ("
	" application_id TEXT PRIMARY KEY REFERENCES applications(id),"
	" decision_id TEXT NOT NULL REFERENCES decisions(id),"
	" subject_id TEXT NOT NULL REFERENCES subjects(id),"
	" amount_tiyn BIGINT NOT NULL CHECK (amount_tiyn > 0),"
	" term_days BIGINT NOT NULL CHECK (term_days > 0),"
	" payments BIGINT NOT NULL CHECK (payments > 0),"
	" rate_bp BIGINT NOT NULL CHECK (rate_bp >= 0),"
	" fee_tiyn BIGINT NOT NULL CHECK (fee_tiyn >= 0),"
	" start_day BIGINT NOT NULL,"
	" gesv_annuity_bp BIGINT,"
	" gesv_differentiated_bp BIGINT,"
	" gesv_single_bp BIGINT,"
	" method TEXT CHECK (method IN ('annuity', 'differentiated', 'single')),"
	" created_at BIGINT NOT NULL);"
	"CREATE INDEX offers_by_subject ON offers(subject_id);"
	"CREATE TABLE application_locks ("
	" application_id TEXT PRIMARY KEY REFERENCES applications(id),"
	" locked_by TEXT NOT NULL,"
	" locked_at BIGINT NOT NULL);";
/* Version 12: end-of-day runs (lending/eod.h), one row per day closed.
 * last_loan is the run's cursor: every loan with an id up to it has been
 * brought to the day, in the same transaction that moved it; finished_at is
 * set once no loan is left.  (Version 11 is the decisions' migration.) */
static const char M0012[] = "CREATE TABLE eod_runs ("
			    " day BIGINT PRIMARY KEY,"
			    " started_at BIGINT NOT NULL,"
			    " finished_at BIGINT,"
			    " last_loan TEXT NOT NULL,"
			    " loans BIGINT NOT NULL,"
			    " days_closed BIGINT NOT NULL,"
			    " overdue_events BIGINT NOT NULL,"
			    " notices BIGINT NOT NULL,"
			    " actor TEXT NOT NULL,"
			    " request_id TEXT NOT NULL);";
/* Version 13: repayments of loans (api/payments.c), one row per payment
 * the provider notified, found again by its reference so a notice sent
 * twice is applied once.  The split's parts sum to the amount; what no
 * debt took is overpayment, kept, never dropped. */
static const char M0013[] =
	"CREATE TABLE loan_payments ("
	" id TEXT PRIMARY KEY,"
	" loan_id TEXT NOT NULL REFERENCES loans(id),"
	" provider TEXT NOT NULL,"
	" reference TEXT NOT NULL,"
	" amount BIGINT NOT NULL CHECK (amount > 0),"
	" paid_day BIGINT NOT NULL,"
	" applied_day BIGINT NOT NULL,"
	" kind TEXT NOT NULL CHECK (kind IN ('due', 'early')),"
	" channel TEXT NOT NULL,"
	" body_digest {blob} NOT NULL,"
	" principal_overdue BIGINT NOT NULL,"
	" interest_overdue BIGINT NOT NULL,"
	" penalty BIGINT NOT NULL,"
	" principal_current BIGINT NOT NULL,"
	" interest_current BIGINT NOT NULL,"
	" interest_to_date BIGINT NOT NULL,"
	" principal_early BIGINT NOT NULL,"
	" overpayment BIGINT NOT NULL CHECK (overpayment >= 0),"
	" principal_after BIGINT NOT NULL,"
	" status_after TEXT NOT NULL CHECK (status_after IN ('open', 'overdue',"
	"  'closed')),"
	" received_at BIGINT NOT NULL,"
	" request_id TEXT NOT NULL,"
	" UNIQUE (provider, reference));"
	"CREATE INDEX loan_payments_by_loan ON loan_payments(loan_id, received_at);";

/*
 * Version 14: the contract of an accepted offer and its signature
 * (lending/contracts.h).  One row per application: the HTML and the PDF
 * rendered from the template, each sealed with the subject's data key
 * (bound to the application's id), each with its SHA-256 in the clear so a
 * receipt can be checked without opening anything.  The one-time code is
 * a keyed hash only, with its expiry and the wrong tries counted.  Signing
 * moves the application to 'signed' with payout_due_at, the moment the
 * cooling-off hold ends (or the signing time): the payout claims by
 * (state, payout_due_at), hence the index.
 */
static const char M0014[] =
	"ALTER TABLE applications ADD COLUMN payout_due_at BIGINT;"
	"CREATE INDEX applications_payout_due ON applications(state, payout_due_at);"
	"CREATE TABLE contracts ("
	" application_id TEXT PRIMARY KEY REFERENCES applications(id),"
	" subject_id TEXT NOT NULL REFERENCES subjects(id),"
	" number TEXT NOT NULL UNIQUE,"
	" method TEXT NOT NULL CHECK (method IN ('annuity', 'differentiated',"
	"  'single')),"
	" contract_day BIGINT NOT NULL,"
	" html_sealed {blob} NOT NULL,"
	" pdf_sealed {blob} NOT NULL,"
	" html_sha256 {blob} NOT NULL,"
	" pdf_sha256 {blob} NOT NULL,"
	" status TEXT NOT NULL CHECK (status IN ('pending', 'signed')),"
	" code_hash {blob},"
	" code_expires_at BIGINT,"
	" code_attempts BIGINT NOT NULL,"
	" created_at BIGINT NOT NULL,"
	" signed_at BIGINT,"
	" signed_sha256 {blob},"
	" hold_minutes BIGINT,"
	" request_id TEXT NOT NULL);"
	"CREATE INDEX contracts_by_subject ON contracts(subject_id, created_at);";

/* Version 15: restructuring requests (lending/restructurings.h), one row
 * per request, its decision on the row.  One open request per loan (the
 * partial unique index); the reason and decision are codes from fixed
 * lists, the proposal numbers: nothing personal in clear. */
static const char M0015[] =
	"CREATE TABLE restructurings ("
	" id TEXT PRIMARY KEY,"
	" loan_id TEXT NOT NULL REFERENCES loans(id),"
	" subject_id TEXT NOT NULL,"
	" reason TEXT NOT NULL,"
	" kind TEXT NOT NULL CHECK (kind IN ('deferral', 'term')),"
	" months BIGINT NOT NULL,"
	" payments BIGINT NOT NULL,"
	" requested_day BIGINT NOT NULL,"
	" answer_due_day BIGINT,"
	" status TEXT NOT NULL CHECK (status IN ('open', 'approved', 'declined')),"
	" created_at BIGINT NOT NULL,"
	" decided_at BIGINT,"
	" decided_by TEXT,"
	" decision_reason TEXT,"
	" effective_day BIGINT,"
	" schedule_version BIGINT,"
	" gesv_bp BIGINT,"
	" request_id TEXT NOT NULL);"
	"CREATE UNIQUE INDEX restructurings_one_open ON restructurings(loan_id)"
	" WHERE status = 'open';"
	"CREATE INDEX restructurings_by_loan ON restructurings(loan_id, created_at);"
	"CREATE INDEX restructurings_queue ON restructurings(status, created_at);";

/* Version 16: data-subject rights requests (rights/requests.h) and their
 * history.  One open request per subject and type, kept by a partial unique
 * index (both engines have them): a second filing finds the first.  A
 * question's text is sealed with the subject's data key; days are counted
 * since 1970-01-01 in Kazakhstan's time.  (Versions 14 and 15 are the
 * contracts' and the restructurings'.) */
static const char M0016[] =
	"CREATE TABLE rights_requests ("
	" id TEXT PRIMARY KEY,"
	" subject_id TEXT NOT NULL REFERENCES subjects(id),"
	" type TEXT NOT NULL CHECK (type IN ('access', 'correction', 'blocking',"
	"  'unblocking', 'restriction', 'unrestriction', 'destruction', 'question')),"
	" status TEXT NOT NULL CHECK (status IN ('open', 'in_progress', 'accepted',"
	"  'rejected')),"
	" channel TEXT NOT NULL CHECK (channel IN ('app', 'phone', 'email', 'office',"
	"  'letter')),"
	" identity_check TEXT,"
	" filed_by TEXT NOT NULL,"
	" filed_at BIGINT NOT NULL,"
	" filed_day BIGINT NOT NULL,"
	" due_day BIGINT NOT NULL,"
	" text_sealed {blob},"
	" assignee TEXT,"
	" answer TEXT,"
	" updated_at BIGINT NOT NULL,"
	" closed_at BIGINT);"
	"CREATE UNIQUE INDEX rights_requests_one_open ON rights_requests(subject_id, "
	"type)"
	" WHERE status IN ('open', 'in_progress');"
	"CREATE INDEX rights_requests_queue ON rights_requests(due_day, id);"
	"CREATE INDEX rights_requests_by_subject ON rights_requests(subject_id, id);"
	"CREATE TABLE rights_request_events ("
	" request_id TEXT NOT NULL REFERENCES rights_requests(id),"
	" seq INTEGER NOT NULL,"
	" at BIGINT NOT NULL,"
	" actor TEXT NOT NULL,"
	" status TEXT NOT NULL,"
	" assignee TEXT,"
	" answer TEXT,"
	" http_request_id TEXT NOT NULL,"
	" PRIMARY KEY (request_id, seq));";

/*
 * Version 17: retention (C3, O1, D7; subjects/retention.h, docs/retention.md).
 *
 * legal_holds stops a subject's retention clock while a hold is open: the
 * DPO's, for an investigation, a court or a regulator, with a reference
 * that is a case number, never a person's data.  retention_done marks a
 * subject whose data key was destroyed (the run's idempotency and the
 * lists' answer); retention_purges a category whose records went before
 * the rest (D7).  retention_stats keeps what anonymisation leaves: facts
 * without a subject id (amounts, outcomes, an age band), written in the
 * transaction that destroys the key, so nothing links a row to a person.
 */
static const char M0017[] =
	"CREATE TABLE legal_holds ("
	" id TEXT PRIMARY KEY,"
	" subject_id TEXT NOT NULL REFERENCES subjects(id),"
	" kind TEXT NOT NULL CHECK (kind IN ('investigation', 'court', 'regulator')),"
	" reference TEXT NOT NULL,"
	" set_by TEXT NOT NULL,"
	" set_at BIGINT NOT NULL,"
	" lifted_by TEXT,"
	" lifted_at BIGINT,"
	" request_id TEXT NOT NULL);"
	"CREATE INDEX legal_holds_by_subject ON legal_holds(subject_id, set_at);"
	"CREATE UNIQUE INDEX legal_holds_one_open ON legal_holds(subject_id)"
	" WHERE lifted_at IS NULL;"
	"CREATE TABLE retention_done ("
	" subject_id TEXT PRIMARY KEY REFERENCES subjects(id),"
	" state TEXT NOT NULL,"
	" action TEXT NOT NULL CHECK (action IN ('anonymised', 'destroyed')),"
	" run_day BIGINT NOT NULL,"
	" done_at BIGINT NOT NULL,"
	" request_id TEXT NOT NULL);"
	"CREATE TABLE retention_purges ("
	" subject_id TEXT NOT NULL REFERENCES subjects(id),"
	" category TEXT NOT NULL,"
	" run_day BIGINT NOT NULL,"
	" done_at BIGINT NOT NULL,"
	" PRIMARY KEY (subject_id, category));"
	"CREATE TABLE retention_stats ("
	" id TEXT PRIMARY KEY,"
	" run_day BIGINT NOT NULL,"
	" state TEXT NOT NULL,"
	" age_band TEXT,"
	" applications BIGINT NOT NULL,"
	" declined BIGINT NOT NULL,"
	" loans BIGINT NOT NULL,"
	" principal_tiyn BIGINT NOT NULL,"
	" written_off BIGINT NOT NULL,"
	" max_overdue_days BIGINT NOT NULL);";

/*
 * Version 18: the access package (R1) and its lawful limits (R5;
 * rights/package.h).  access_limits holds one row per subject whose own
 * access the MFO limits under a law — AML/CFT (the flag, which must never
 * reach the borrower), a court order, another law — with the legal
 * reference (a code, never personal data) and who set it; lifting deletes
 * the row (the audit log keeps the history).  The package gathers a
 * subject's audit records: audit_log_by_subject finds them without a walk
 * of the whole log.  (Versions 14 to 17 are the other wave-3 tasks'.)
 */
static const char M0018[] =
	"CREATE TABLE access_limits ("
	" subject_id TEXT PRIMARY KEY REFERENCES subjects(id),"
	" ground TEXT NOT NULL CHECK (ground IN ('aml_cft', 'court_order',"
	"  'other_law')),"
	" reference TEXT NOT NULL,"
	" set_by TEXT NOT NULL,"
	" set_at BIGINT NOT NULL,"
	" request_id TEXT NOT NULL);"
	"CREATE INDEX audit_log_by_subject ON audit_log(subject_id, seq);";

/*
 * Version 19: payouts (lending/payouts.h).  One row per application once
 * its payout is confirmed (after a cooling-off hold) or first claimed (no
 * hold): the operation key sent to the provider, the amount, the state,
 * the lease that lets one process send it, the attempts and when the next
 * may go, the provider's reference and the loan it opened.  Ids, amounts
 * and codes only: the destination stays sealed on the application.
 */
static const char M0019[] =
	"CREATE TABLE payouts ("
	" application_id TEXT PRIMARY KEY REFERENCES applications(id),"
	" subject_id TEXT NOT NULL REFERENCES subjects(id),"
	" operation_key TEXT NOT NULL UNIQUE,"
	" amount_tiyn BIGINT NOT NULL CHECK (amount_tiyn > 0),"
	" state TEXT NOT NULL CHECK (state IN ('confirmed', 'sending', 'accepted',"
	"  'paid', 'failed', 'refused', 'cancelled')),"
	" attempts BIGINT NOT NULL,"
	" next_at BIGINT NOT NULL,"
	" lease_owner TEXT,"
	" lease_until BIGINT,"
	" confirmed_at BIGINT,"
	" provider_ref TEXT,"
	" reason TEXT,"
	" loan_id TEXT REFERENCES loans(id),"
	" created_at BIGINT NOT NULL,"
	" updated_at BIGINT NOT NULL,"
	" request_id TEXT NOT NULL);"
	"CREATE INDEX payouts_due ON payouts(state, next_at);";

/* The deployment's identity (backup/deployment.h): one row, made at the
 * first start and copied into the key directory, so a backup restored
 * into another deployment is refused. */
static const char M0020[] = "CREATE TABLE deployment ("
			    " one INTEGER PRIMARY KEY CHECK (one = 1),"
			    " id TEXT NOT NULL,"
			    " created_at BIGINT NOT NULL);";

/*
 * Version 21: the fulfilment of rights requests (rights/requests.h,
 * docs/rights.md).  rights_packages keeps the access package (R1) the DPO
 * released for an access request, sealed with the subject's data key and
 * bound to the request id: the JSON and the HTML document, as signed, so the
 * borrower downloads the very package that was made, not a later one.
 * rights_corrections keeps a correction request's proposed values and its
 * evidence (a document image or PDF), both sealed the same way, and the
 * version its acceptance made; correction_notices is the queue of notices
 * owed to each recipient the disclosure register shows received the
 * category before (for the messaging work to send).
 * (Versions 19, 20 and 22 are the other wave-4 tasks'.)
 */
static const char M0021[] =
	"CREATE TABLE rights_packages ("
	" request_id TEXT PRIMARY KEY REFERENCES rights_requests(id),"
	" subject_id TEXT NOT NULL REFERENCES subjects(id),"
	" json_sealed {blob} NOT NULL,"
	" html_sealed {blob} NOT NULL,"
	" made_by TEXT NOT NULL,"
	" made_at BIGINT NOT NULL);"
	"CREATE TABLE rights_corrections ("
	" request_id TEXT PRIMARY KEY REFERENCES rights_requests(id),"
	" subject_id TEXT NOT NULL REFERENCES subjects(id),"
	" category TEXT NOT NULL,"
	" fields_sealed {blob} NOT NULL,"
	" evidence_sealed {blob} NOT NULL,"
	" evidence_type TEXT NOT NULL CHECK (evidence_type IN ('image/jpeg',"
	"  'image/png', 'application/pdf')),"
	" evidence_bytes BIGINT NOT NULL,"
	" version BIGINT);"
	"CREATE TABLE correction_notices ("
	" id TEXT PRIMARY KEY,"
	" request_id TEXT NOT NULL REFERENCES rights_requests(id),"
	" subject_id TEXT NOT NULL REFERENCES subjects(id),"
	" recipient TEXT NOT NULL,"
	" category TEXT NOT NULL,"
	" version BIGINT NOT NULL,"
	" state TEXT NOT NULL CHECK (state IN ('queued', 'sent')),"
	" created_at BIGINT NOT NULL,"
	" sent_at BIGINT,"
	" UNIQUE (request_id, recipient));"
	"CREATE INDEX correction_notices_queue ON correction_notices(state, created_at,"
	" id);";

/*
 * Version 22: a microcredit applied for is a loan event (`applied`, Law
 * 573-II Art. 19(2)(8): reported to GKB in real time; exchange/loan_events.h,
 * docs/bureau-reporting.md).  Its amount and purpose are in the sealed
 * details, as the other events' are.  (Versions 19 to 21 are the other
 * wave-4 tasks'.)
 */
static const char M0022[] = "{loan_events_applied}";

/*
 * Version 23: the borrower's declared monthly income (U1, the debt burden
 * of docs/scoring.md), sealed with the subject's data key bound to the
 * application (lending/applications.h); NULL when none was declared.
 */
static const char M0023[] = "ALTER TABLE applications ADD COLUMN income_sealed {blob};";

/*
 * Version 24: the interest a restructuring carried into the first new row,
 * still unpaid (struct loan_state's carried_interest, core/servicing.h),
 * mirrored beside principal_left so a report of what is owed needs no
 * decoding.  The states saved before it are 8 bytes shorter and decode with
 * the amount 0 (lending/loans.h), which is what the column's default says
 * of them.
 */
static const char M0024[] =
	"ALTER TABLE loans ADD COLUMN carried_interest BIGINT NOT NULL DEFAULT 0;";

/*
 * Version 25: the contract numbers' sequence (lending/contracts.h).  One
 * row, bumped by the transaction that numbers a contract: two processes on
 * one PostgreSQL cannot take the same number (the row's lock orders them),
 * where counting the contracts could.  It starts where the count was: no
 * contract row was ever deleted but to be written again with its number.
 */
static const char M0025[] =
	"CREATE TABLE contract_sequence ("
	" id INTEGER PRIMARY KEY CHECK (id = 1),"
	" last BIGINT NOT NULL);"
	"INSERT INTO contract_sequence (id, last) SELECT 1, COUNT(*) FROM contracts;";

/*
 * Version 26: the borrower's payout cards bound at the payment provider
 * (lending/cards.h).  Ids, states and codes in the clear; the provider's
 * token and the masked number with the expiry only sealed with the
 * subject's data key, bound to the card (the masked number's last four
 * digits and its bank lead to the card: personal, so sealed).  The card
 * number itself is never here: the borrower types it on the provider's
 * page.
 */
static const char M0026[] =
	"CREATE TABLE cards ("
	" id TEXT PRIMARY KEY,"
	" subject_id TEXT NOT NULL REFERENCES subjects(id),"
	" binding_key TEXT NOT NULL UNIQUE,"
	" state TEXT NOT NULL CHECK (state IN ('pending', 'bound', 'failed')),"
	" reason TEXT,"
	" token_sealed {blob},"
	" details_sealed {blob},"
	" created_at BIGINT NOT NULL,"
	" updated_at BIGINT NOT NULL,"
	" request_id TEXT NOT NULL,"
	" CHECK ((state = 'bound') = (token_sealed IS NOT NULL)));"
	"CREATE INDEX cards_by_subject ON cards(subject_id, created_at);";

/*
 * 27: the categories a source row (a recipient's answer, sealed) carries
 * fields of, as "medical" or "family,contact" — codes only, no data — so
 * the retention run sees a category held only in a state database's
 * answer and purges it at its own period (D7).  NULL on rows kept before:
 * the run opens those once and fills it in.
 */
static const char M0027[] = "ALTER TABLE subject_sources ADD COLUMN categories TEXT;";

static const struct store_migration migrations[] = {
	{ .version = 1, .name = "0001_platform", .sql = M0001 },
	{ .version = 2, .name = "0002_vault", .sql = M0002 },
	{ .version = 3, .name = "0003_consents", .sql = M0003 },
	{ .version = 4, .name = "0004_totp_once", .sql = M0004 },
	{ .version = 5, .name = "0005_active_consents", .sql = M0005 },
	{ .version = 6, .name = "0006_no_truncate", .sql = M0006 },
	{ .version = 7, .name = "0007_phone_changes", .sql = M0007 },
	{ .version = 8, .name = "0008_exchange", .sql = M0008 },
	{ .version = 9, .name = "0009_lending", .sql = M0009 },
	{ .version = 10, .name = "0010_loans", .sql = M0010 },
	{ .version = 11, .name = "0011_decisions", .sql = M0011 },
	{ .version = 12, .name = "0012_eod", .sql = M0012 },
	{ .version = 13, .name = "0013_payments", .sql = M0013 },
	{ .version = 14, .name = "0014_contracts", .sql = M0014 },
	{ .version = 15, .name = "0015_restructuring", .sql = M0015 },
	{ .version = 16, .name = "0016_requests", .sql = M0016 },
	{ .version = 17, .name = "0017_retention", .sql = M0017 },
	{ .version = 18, .name = "0018_access_packages", .sql = M0018 },
	{ .version = 19, .name = "0019_payouts", .sql = M0019 },
	{ .version = 20, .name = "0020_deployment", .sql = M0020 },
	{ .version = 21, .name = "0021_rights", .sql = M0021 },
	{ .version = 22, .name = "0022_applied_events", .sql = M0022 },
	{ .version = 23, .name = "0023_declared_income", .sql = M0023 },
	{ .version = 24, .name = "0024_carried_interest", .sql = M0024 },
	{ .version = 25, .name = "0025_contract_sequence", .sql = M0025 },
	{ .version = 26, .name = "0026_cards", .sql = M0026 },
	{ .version = 27, .name = "0027_source_categories", .sql = M0027 },
};

const struct store_migration *store_migrations(size_t *count)
{
	*count = sizeof(migrations) / sizeof(migrations[0]);
	return migrations;
}

/* The backend's words for the difference named by [name, name + len). */
static const char *dialect_text(const char *name, size_t len, enum store_kind kind)
{
	for (size_t i = 0; i < sizeof(dialect) / sizeof(dialect[0]); i++)
		if (strlen(dialect[i].name) == len &&
		    memcmp(dialect[i].name, name, len) == 0)
			return kind == STORE_POSTGRES ? dialect[i].postgres
						      : dialect[i].sqlite;
	return NULL;
}

enum senim_result store_migration_sql(const struct store_migration *m,
				      enum store_kind kind, struct buf *out)
{
	const char *p = m->sql;
	for (;;) {
		const char *open = strchr(p, '{');
		if (!open)
			return buf_addstr(out, p);
		enum senim_result err = buf_add(out, p, (size_t)(open - p));
		if (err)
			return err;
		const char *close = strchr(open, '}');
		const char *text =
			close ? dialect_text(open + 1, (size_t)(close - open - 1), kind)
			      : NULL;
		if (!text) {
			/* A programmer's slip, which test_migrations catches. */
			log_event(LOG_ERROR, "migration_invalid", "name", m->name,
				  "reason", "an unknown {name}", NULL);
			return SENIM_ERR_INVALID;
		}
		err = buf_addstr(out, text);
		if (err)
			return err;
		p = close + 1;
	}
}
