/*
 * subjects.c — borrowers' personal data over the store, sealed by the vault.
 *
 * Each operation is one struct of subjects.h and at most two functions: a
 * preparation outside the writer, and a job inside the write transaction
 * that loads the subject's state, decides, does the work and appends the
 * audit record.  A refusal commits only its audit record and is the op's.
 */
#include "subjects/subjects.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "audit/audit.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/ids.h"
#include "consent/ledger.h"
#include "core/contact.h"
#include "vault/vault.h"
#include "common/banned.h"

/* A sealed record's cap: a category's fields with their biometric images. */
#define SEALED_MAX (64u << 20)
/* A search finds at most this many subjects for one key. */
#define SEARCH_MAX 16

static const char *const source_codes[SOURCE__COUNT] = {
	[SOURCE_BORROWER] = "borrower",
	[SOURCE_STAFF] = "staff",
	[SOURCE_CREDIT_BUREAU] = "credit_bureau",
	[SOURCE_STATE_DATABASE] = "state_database",
	[SOURCE_OPERATOR] = "operator",
};

const char *subject_source_code(enum subject_source s)
{
	return (unsigned)s < SOURCE__COUNT ? source_codes[s] : "staff";
}

int subject_source_parse(const char *code)
{
	for (int i = 0; i < SOURCE__COUNT; i++)
		if (strcmp(code, source_codes[i]) == 0)
			return i;
	return -1;
}

int subject_id_valid(const char *id)
{
	return strncmp(id, "sbj_", 4) == 0 && id_body_valid(id + 4);
}

/* Time-ordered (common/ids.h): registrations append to the subject tables. */
static void new_subject_id(char id[SUBJECT_ID_LEN])
{
	_Static_assert(SUBJECT_ID_LEN == 4 + ID_BODY_CHARS + 1, "sbj_ + id body");
	id_time_ordered(id, "sbj_", clock_now_us() / 1000);
}

/* "identity,contact" for a CATEGORY_BIT mask, in category order. */
static void category_list(uint32_t mask, char *out, size_t cap)
{
	size_t used = 0;
	out[0] = '\0';
	for (int c = 0; c < CATEGORY__COUNT; c++) {
		if (!(mask & CATEGORY_BIT(c)))
			continue;
		int w = snprintf(out + used, cap - used, "%s%s", used ? "," : "",
				 category_code((enum category)c));
		if (w < 0 || (size_t)w >= cap - used)
			break;
		used += (size_t)w;
	}
}

/* Append the operation's audit record to the transaction (audit.h). */
static enum senim_result audit(struct store_tx *tx, const struct subject_actor *a,
			       const char *op, const char *subject_id,
			       uint32_t categories, const char *outcome)
{
	char cats[128], object[64];
	category_list(categories, cats, sizeof(cats));
	snprintf(object, sizeof(object), "subject:%s", subject_id ? subject_id : "none");
	struct audit_record rec = { .actor = a->label,
				    .operation = op,
				    .object = object,
				    .subject_id = subject_id,
				    .categories = cats,
				    .purpose = purpose_code(a->purpose),
				    .outcome = outcome,
				    .request_id = a->request_id };
	return audit_append(tx, a->kr, &rec);
}

/* ---- state and the decision --------------------------------------------------- */

/* The subject's block and restriction (consents left 0), and the block's
 * reason into reason when given; SENIM_ERR_NOT_FOUND when there is none. */
static enum senim_result load_protection(struct store_tx *tx, const char *id,
					 struct subject_state *s, char *reason,
					 size_t reason_len)
{
	struct store_rows *r;
	enum senim_result err = store_query_one(
		tx,
		"SELECT blocked, allowed_purposes, block_reason FROM subjects"
		" WHERE id = $1",
		(struct store_val[]){ SV_TEXT(id) }, 1, &r);
	if (err)
		return err;
	*s = (struct subject_state){ 0 };
	s->blocked = (int)store_rows_int(r, 0);
	s->restricted = !store_rows_is_null(r, 1);
	s->allowed_purposes = s->restricted ? (uint32_t)store_rows_int(r, 1) : 0;
	if (reason && reason_len) {
		size_t n = 0;
		const char *t = store_rows_is_null(r, 2) ? "" : store_rows_text(r, 2, &n);
		n = n < reason_len - 1 ? n : reason_len - 1;
		memcpy(reason, t, n);
		reason[n] = '\0';
	}
	store_rows_free(r);
	return SENIM_OK;
}

/*
 * Load the subject's state and decide for a's purpose: *seen gets the
 * CATEGORY_BIT mask the purpose may see, r why not (ACCESS_GRANTED when
 * granted).  A refusal is not an error; it writes nothing — the caller
 * records it.  SENIM_ERR_NOT_FOUND for an unknown subject.
 */
enum senim_result subjects_state_in(struct store_tx *tx, const char *id,
				    struct subject_state *s)
{
	enum senim_result err = load_protection(tx, id, s, NULL, 0);
	if (err)
		return err;
	/* C4: the consents in force are part of every decision. */
	return ledger_active_in(tx, id, &s->consents, &s->obligation_purposes);
}

static enum senim_result decide(struct store_tx *tx, const struct subject_actor *a,
				const char *id, uint32_t *seen, struct access_refusal *r)
{
	struct subject_state s;
	*seen = 0;
	access_refusal_set(r, ACCESS_GRANTED, a->purpose, NULL);
	enum senim_result err = subjects_state_in(tx, id, &s);
	if (err)
		return err;
	enum access_result why = access_decide(a->matrix, a->role, a->purpose, &s, seen);
	if (why != ACCESS_GRANTED)
		access_refusal_set(r, why, a->purpose, &s);
	return SENIM_OK;
}

/* ---- records ------------------------------------------------------------------- */

static enum senim_result insert_digest(struct store_tx *tx, const char *kind,
				       const unsigned char digest[VAULT_INDEX_BYTES],
				       const char *id)
{
	return store_exec(tx,
			  "INSERT INTO subject_index (kind, digest, subject_id)"
			  " VALUES ($1, $2, $3)",
			  (struct store_val[]){ SV_TEXT(kind),
						SV_BLOB(digest, VAULT_INDEX_BYTES),
						SV_TEXT(id) },
			  3, NULL);
}

/* Replace the subject's index row of `kind` by value's (none when NULL). */
static enum senim_result reindex(struct store_tx *tx, const struct keyring *kr,
				 const char *id, const char *kind, const char *value)
{
	enum senim_result err = store_exec(
		tx, "DELETE FROM subject_index WHERE subject_id = $1 AND kind = $2",
		(struct store_val[]){ SV_TEXT(id), SV_TEXT(kind) }, 2, NULL);
	if (err || !value)
		return err;
	unsigned char digest[VAULT_INDEX_BYTES];
	vault_blind_index(kr, kind, value, strlen(value), digest);
	return insert_digest(tx, kind, digest, id);
}

static enum senim_result insert_sealed(struct store_tx *tx, const struct subject_actor *a,
				       const char *id, enum category c, int64_t version,
				       enum subject_source source,
				       const struct buf *sealed)
{
	enum senim_result err = store_exec(
		tx,
		"INSERT INTO subject_records (subject_id, category, version, source,"
		" actor, created_at, sealed) VALUES ($1, $2, $3, $4, $5, $6, $7)",
		(struct store_val[]){
			SV_TEXT(id), SV_TEXT(category_code(c)), SV_INT(version),
			SV_TEXT(subject_source_code(source)), SV_TEXT(a->label),
			SV_INT(clock_now_us()), SV_BLOB(sealed->data, sealed->len) },
		7, NULL);
	/* D7: data of a category purged before (retention.h) is new data with
	 * its own period; the old purge must not exempt it from the next. */
	if (!err)
		err = store_exec(
			tx,
			"DELETE FROM retention_purges"
			" WHERE subject_id = $1 AND category = $2",
			(struct store_val[]){ SV_TEXT(id), SV_TEXT(category_code(c)) }, 2,
			NULL);
	return err;
}

/* Seal fields as version `version` of category c and insert it. */
static enum senim_result insert_record(struct store_tx *tx, const struct subject_actor *a,
				       const struct vault_dek *dek, const char *id,
				       enum category c, int64_t version,
				       enum subject_source source, json_t *fields)
{
	struct buf sealed;
	buf_init(&sealed, SEALED_MAX);
	enum senim_result err =
		vault_seal_record(dek, id, category_code(c), version, fields, &sealed);
	if (err)
		goto fail;
	err = insert_sealed(tx, a, id, c, version, source, &sealed);
fail:
	buf_release(&sealed);
	return err;
}

/* The number the next version of category c gets (1 for the first). */
static enum senim_result next_version(struct store_tx *tx, const char *id,
				      enum category c, int64_t *version)
{
	struct store_rows *r;
	enum senim_result err = store_query_one(
		tx,
		"SELECT COALESCE(MAX(version), 0) FROM subject_records"
		" WHERE subject_id = $1 AND category = $2",
		(struct store_val[]){ SV_TEXT(id), SV_TEXT(category_code(c)) }, 2, &r);
	if (err)
		return err;
	*version = store_rows_int(r, 0) + 1;
	store_rows_free(r);
	return SENIM_OK;
}

/* The newest version of category c, decrypted, as {"version", "source",
 * "updated_at", "fields"} (caller decrefs); NULL when the subject has none. */
static enum senim_result read_latest(struct store_tx *tx, const struct vault_dek *dek,
				     const char *id, enum category c, json_t **out)
{
	struct store_rows *r;
	json_t *fields = NULL;
	*out = NULL;
	enum senim_result err = store_query_one(
		tx,
		"SELECT version, source, created_at, sealed FROM subject_records"
		" WHERE subject_id = $1 AND category = $2"
		" ORDER BY version DESC LIMIT 1",
		(struct store_val[]){ SV_TEXT(id), SV_TEXT(category_code(c)) }, 2, &r);
	if (err)
		return err == SENIM_ERR_NOT_FOUND ? SENIM_OK : err;
	size_t len;
	int64_t version = store_rows_int(r, 0);
	const void *sealed = store_rows_blob(r, 3, &len);
	err = vault_open_record(dek, id, category_code(c), version, sealed, len, &fields);
	if (err)
		goto fail;
	char when[CLOCK_RFC3339_LEN];
	clock_format_rfc3339(store_rows_int(r, 2), when);
	*out = json_pack("{s:I,s:s,s:s,s:o}", "version", (json_int_t)version, "source",
			 store_rows_text(r, 1, NULL), "updated_at", when, "fields",
			 fields); /* takes fields, even when it fails */
	if (!*out)
		err = SENIM_ERR_NOMEM;
fail:
	store_rows_free(r);
	return err;
}

enum senim_result subjects_latest_fields_in(struct store_tx *tx,
					    const struct vault_dek *dek, const char *id,
					    enum category c, json_t **fields)
{
	json_t *rec = NULL;
	*fields = NULL;
	enum senim_result err = read_latest(tx, dek, id, c, &rec);
	if (err || !rec)
		return err;
	*fields = json_incref(json_object_get(rec, "fields"));
	json_decref(rec);
	return SENIM_OK;
}

/* A copy of the newest version's fields (of `prev`, which may be NULL) with
 * patch applied (RFC 7386 style: null removes, the rest replaces); caller
 * decrefs.  NULL when out of memory. */
static json_t *merge_patch(json_t *prev, json_t *patch)
{
	json_t *base = prev ? json_object_get(prev, "fields") : NULL;
	json_t *merged = base ? json_deep_copy(base) : json_object();
	const char *key;
	json_t *v;
	if (!merged)
		return NULL;
	json_object_foreach(patch, key, v)
	{
		if (json_is_null(v))
			json_object_del(merged, key);
		else if (json_object_set(merged, key, v) != 0)
			goto fail;
	}
	return merged;
fail:
	json_decref(merged);
	return NULL;
}

/* ---- registering --------------------------------------------------------------------- */

enum senim_result subjects_register_seal(struct subject_registration *op)
{
	const struct keyring *kr = op->actor.kr;
	struct vault_dek *dek = NULL;
	buf_init(&op->wrapped, 4096);
	buf_init(&op->sealed_identity, SEALED_MAX);
	buf_init(&op->sealed_contact, SEALED_MAX);
	new_subject_id(op->id);
	op->has_phone = op->phone != NULL;
	op->has_email = op->email != NULL;
	enum senim_result err =
		vault_dek_new(kr, op->id, &dek, &op->wrapped, &op->kek_version);
	if (err)
		goto fail;
	err = vault_seal_record(dek, op->id, category_code(CATEGORY_IDENTITY), 1,
				op->identity, &op->sealed_identity);
	if (err)
		goto fail;
	err = vault_seal_record(dek, op->id, category_code(CATEGORY_CONTACT), 1,
				op->contact, &op->sealed_contact);
	if (err)
		goto fail;
	vault_blind_index(kr, "iin", op->iin, strlen(op->iin), op->iin_digest);
	if (op->phone)
		vault_blind_index(kr, "phone", op->phone, strlen(op->phone),
				  op->phone_digest);
	if (op->email)
		vault_blind_index(kr, "email", op->email, strlen(op->email),
				  op->email_digest);
fail:
	vault_dek_free(dek);
	return err;
}

/* A registration writes identity and contact: the purpose must see both, and
 * a purpose that may only read them does not register anyone. */
static void decide_registration(struct subject_registration *op)
{
	const struct subject_actor *a = &op->actor;
	const uint32_t needed =
		CATEGORY_BIT(CATEGORY_IDENTITY) | CATEGORY_BIT(CATEGORY_CONTACT);
	uint32_t seen = 0;
	enum access_result why =
		access_decide(a->matrix, a->role, a->purpose, NULL, &seen);
	if (why == ACCESS_GRANTED && (seen & needed) != needed)
		why = ACCESS_PURPOSE_NOT_PERMITTED;
	if (why == ACCESS_GRANTED)
		why = access_decide_write(a->matrix, a->purpose, seen, CATEGORY_IDENTITY);
	if (why == ACCESS_GRANTED)
		why = access_decide_write(a->matrix, a->purpose, seen, CATEGORY_CONTACT);
	access_refusal_set(&op->refused, why, a->purpose, NULL);
}

/* The subject an IIN digest belongs to into out; SENIM_ERR_NOT_FOUND when
 * nobody's. */
static enum senim_result iin_digest_owner(struct store_tx *tx,
					  const unsigned char digest[VAULT_INDEX_BYTES],
					  char out[SUBJECT_ID_LEN])
{
	struct store_rows *r;
	out[0] = '\0';
	enum senim_result err = store_query_one(
		tx,
		"SELECT subject_id FROM subject_index WHERE kind = 'iin' AND digest = $1",
		(struct store_val[]){ SV_BLOB(digest, VAULT_INDEX_BYTES) }, 1, &r);
	if (err)
		return err;
	size_t len = 0;
	const char *sid = store_rows_text(r, 0, &len);
	if (sid && len < SUBJECT_ID_LEN) {
		memcpy(out, sid, len);
		out[len] = '\0';
	} else {
		err = SENIM_ERR_STORE;
	}
	store_rows_free(r);
	return err;
}

/* The subject an IIN digest belongs to into existing ("" when nobody's). */
static enum senim_result iin_owner(struct store_tx *tx,
				   const unsigned char digest[VAULT_INDEX_BYTES],
				   char existing[SUBJECT_ID_LEN])
{
	enum senim_result err = iin_digest_owner(tx, digest, existing);
	return err == SENIM_ERR_NOT_FOUND ? SENIM_OK : err;
}

enum senim_result subjects_find_by_iin(struct store_tx *tx, const struct keyring *kr,
				       const char *iin, size_t len,
				       char out[SUBJECT_ID_LEN])
{
	unsigned char digest[VAULT_INDEX_BYTES];
	vault_blind_index(kr, "iin", iin, len, digest);
	return iin_digest_owner(tx, digest, out);
}

enum senim_result subjects_register_tx(struct store_tx *tx, void *arg)
{
	struct subject_registration *op = arg;
	const struct subject_actor *a = &op->actor;
	const char *name = "subject.register", *id = op->id;
	char existing[SUBJECT_ID_LEN];
	op->exists = 0;
	decide_registration(op);
	if (op->refused.why != ACCESS_GRANTED)
		return audit(tx, a, name, NULL, 0, "denied");
	enum senim_result err = iin_owner(tx, op->iin_digest, existing);
	if (err)
		return err;
	if (existing[0]) {
		/* C4/D8: one borrower, one record.  The answer reveals nothing
		 * about it, but the attempt is on record, naming the record it
		 * ran into: asking whether an IIN is a customer leaves a trace. */
		op->exists = 1;
		return audit(tx, a, name, existing, 0, "conflict");
	}
	int64_t now = clock_now_us();
	err = store_exec(
		tx,
		"INSERT INTO subjects (id, created_at, created_by) VALUES ($1, $2, $3)",
		(struct store_val[]){ SV_TEXT(id), SV_INT(now), SV_TEXT(a->label) }, 3,
		NULL);
	if (err)
		return err;
	err = store_exec(tx,
			 "INSERT INTO subject_keys (subject_id, kek_version, wrapped,"
			 " created_at) VALUES ($1, $2, $3, $4)",
			 (struct store_val[]){ SV_TEXT(id), SV_INT(op->kek_version),
					       SV_BLOB(op->wrapped.data, op->wrapped.len),
					       SV_INT(now) },
			 4, NULL);
	if (err)
		return err;
	err = insert_sealed(tx, a, id, CATEGORY_IDENTITY, 1, op->source,
			    &op->sealed_identity);
	if (err)
		return err;
	err = insert_sealed(tx, a, id, CATEGORY_CONTACT, 1, op->source,
			    &op->sealed_contact);
	if (err)
		return err;
	err = insert_digest(tx, "iin", op->iin_digest, id);
	if (err)
		return err;
	if (op->has_phone) {
		err = insert_digest(tx, "phone", op->phone_digest, id);
		if (err)
			return err;
	}
	if (op->has_email) {
		err = insert_digest(tx, "email", op->email_digest, id);
		if (err)
			return err;
	}
	return audit(tx, a, name, id,
		     CATEGORY_BIT(CATEGORY_IDENTITY) | CATEGORY_BIT(CATEGORY_CONTACT),
		     "success");
}

void subject_registration_dispose(void *arg)
{
	struct subject_registration *op = arg;
	buf_release(&op->wrapped);
	buf_release(&op->sealed_identity);
	buf_release(&op->sealed_contact);
	/* The blind indexes of the IIN, phone and e-mail. */
	sodium_memzero(op, sizeof(*op));
}

/* ---- reading ------------------------------------------------------------------------ */

/*
 * A read runs in two steps so that readers do not queue behind the writer:
 * the fetch decides and decrypts in a read transaction (concurrently with
 * other readers), then the record appends the audit record in the group
 * commit.  The answer leaves only once that record is durable, so it stays
 * fail closed: no data without its audit record.
 */
static enum senim_result read_fetch_tx(struct store_tx *tx, void *arg)
{
	struct subject_read *op = arg;
	const struct subject_actor *a = &op->actor;
	uint32_t seen = CATEGORY_ALL;
	struct vault_dek *dek = NULL;
	json_t *cats = NULL;
	enum senim_result err;
	if (op->self) { /* R1: a borrower's own data, every category */
		struct subject_state s;
		access_refusal_set(&op->refused, ACCESS_GRANTED, a->purpose, NULL);
		err = load_protection(tx, op->subject_id, &s, NULL, 0);
	} else {
		err = decide(tx, a, op->subject_id, &seen, &op->refused);
	}
	if (err || op->refused.why != ACCESS_GRANTED)
		return err;
	uint32_t granted = op->wanted & seen;
	op->withheld = op->wanted & ~seen;
	cats = json_object();
	if (!cats)
		return SENIM_ERR_NOMEM;
	if (granted) {
		err = vault_dek_load(tx, a->kr, op->subject_id, &dek);
		if (err)
			goto fail;
	}
	for (int c = 0; c < CATEGORY__COUNT; c++) {
		json_t *rec = NULL;
		if (!(granted & CATEGORY_BIT(c)))
			continue;
		err = read_latest(tx, dek, op->subject_id, (enum category)c, &rec);
		if (err)
			goto fail;
		if (!rec)
			continue;
		if (json_object_set_new(cats, category_code((enum category)c), rec) !=
		    0) {
			err = SENIM_ERR_NOMEM;
			goto fail;
		}
		op->returned |= CATEGORY_BIT(c);
	}
	vault_dek_free(dek);
	op->out = cats;
	return SENIM_OK;
fail:
	vault_dek_free(dek);
	json_decref(cats);
	op->returned = 0;
	return err;
}

enum senim_result subjects_read_fetch(struct store *st, struct subject_read *op)
{
	json_decref(op->out);
	op->out = NULL;
	op->withheld = 0;
	op->returned = 0;
	return store_read(st, read_fetch_tx, op);
}

enum senim_result subjects_read_record(struct store_tx *tx, void *arg)
{
	const struct subject_read *op = arg;
	int refused = op->refused.why != ACCESS_GRANTED;
	/* Refused, or asking only for what the purpose may not see: denied. */
	const char *outcome = refused || (op->wanted && op->withheld == op->wanted)
				      ? "denied"
				      : "success";
	return audit(tx, &op->actor, op->self ? "subject.self_read" : "subject.read",
		     op->subject_id, refused ? 0 : op->returned, outcome);
}

void subject_read_dispose(void *arg)
{
	struct subject_read *op = arg;
	json_decref(op->out); /* decrypted: the wiping allocator clears it */
	op->out = NULL;
}

/* ---- history ------------------------------------------------------------------------ */

/* Every version of category c, newest first, decrypted, into versions. */
static enum senim_result read_versions(struct store_tx *tx, const struct vault_dek *dek,
				       const char *id, enum category c, json_t *versions)
{
	struct store_rows *r;
	int has = 0;
	enum senim_result err = store_query(
		tx,
		"SELECT version, source, actor, created_at, sealed"
		" FROM subject_records WHERE subject_id = $1 AND category = $2"
		" ORDER BY version DESC",
		(struct store_val[]){ SV_TEXT(id), SV_TEXT(category_code(c)) }, 2, &r);
	if (err)
		return err;
	while ((err = store_rows_next(r, &has)) == SENIM_OK && has) {
		size_t len;
		int64_t version = store_rows_int(r, 0);
		const void *sealed = store_rows_blob(r, 4, &len);
		json_t *fields = NULL;
		err = vault_open_record(dek, id, category_code(c), version, sealed, len,
					&fields);
		if (err)
			goto fail;
		char when[CLOCK_RFC3339_LEN];
		clock_format_rfc3339(store_rows_int(r, 3), when);
		json_t *v = json_pack(
			"{s:I,s:s,s:s,s:s,s:o}", "version", (json_int_t)version, "source",
			store_rows_text(r, 1, NULL), "actor", store_rows_text(r, 2, NULL),
			"updated_at", when, "fields", fields);
		/* A version left out would be a history audited as whole. */
		if (!v || json_array_append_new(versions, v) != 0) {
			err = SENIM_ERR_NOMEM;
			goto fail;
		}
	}
fail:
	store_rows_free(r);
	return err;
}

enum senim_result subjects_history_tx(struct store_tx *tx, void *arg)
{
	struct subject_history *op = arg;
	const struct subject_actor *a = &op->actor;
	const char *name = "subject.history";
	uint32_t seen = 0;
	struct vault_dek *dek = NULL;
	json_t *versions = NULL;
	json_decref(op->out); /* the outputs are this transaction's alone */
	op->out = NULL;
	enum senim_result err = decide(tx, a, op->subject_id, &seen, &op->refused);
	if (err)
		return err;
	if (op->refused.why == ACCESS_GRANTED && !(seen & CATEGORY_BIT(op->category)))
		access_refusal_set(&op->refused, ACCESS_CATEGORY_WITHHELD, a->purpose,
				   NULL);
	if (op->refused.why != ACCESS_GRANTED)
		return audit(tx, a, name, op->subject_id, 0, "denied");
	err = vault_dek_load(tx, a->kr, op->subject_id, &dek);
	if (err)
		goto fail;
	versions = json_array();
	if (!versions) {
		err = SENIM_ERR_NOMEM;
		goto fail;
	}
	err = read_versions(tx, dek, op->subject_id, op->category, versions);
	if (err)
		goto fail;
	err = audit(tx, a, name, op->subject_id, CATEGORY_BIT(op->category), "success");
	if (err)
		goto fail;
	op->out = versions;
	versions = NULL;
fail:
	vault_dek_free(dek);
	json_decref(versions);
	return err;
}

void subject_history_dispose(void *arg)
{
	struct subject_history *op = arg;
	json_decref(op->out); /* decrypted: the wiping allocator clears it */
	op->out = NULL;
}

/* ---- writing ------------------------------------------------------------------------ */

enum senim_result subjects_write_tx(struct store_tx *tx, void *arg)
{
	struct subject_write *op = arg;
	const struct subject_actor *a = &op->actor;
	const char *name = "subject.write", *id = op->subject_id;
	const uint32_t cat = CATEGORY_BIT(op->category);
	uint32_t seen = 0;
	struct vault_dek *dek = NULL;
	json_t *prev = NULL, *merged = NULL;
	op->version = 0;
	op->phone_refused = 0;
	enum senim_result err = decide(tx, a, id, &seen, &op->refused);
	if (err)
		return err;
	if (op->refused.why == ACCESS_GRANTED && !(seen & cat))
		access_refusal_set(&op->refused, ACCESS_CATEGORY_WITHHELD, a->purpose,
				   NULL);
	if (op->refused.why != ACCESS_GRANTED)
		return audit(tx, a, name, id, 0, "denied");
	/* A purpose has a direction: reading a category is not changing it. */
	enum access_result why =
		access_decide_write(a->matrix, a->purpose, seen, op->category);
	if (why != ACCESS_GRANTED) {
		access_refusal_set(&op->refused, why, a->purpose, NULL);
		return audit(tx, a, name, id, cat, "denied");
	}
	int64_t version;
	err = next_version(tx, id, op->category, &version);
	if (err)
		goto fail;
	err = vault_dek_load(tx, a->kr, id, &dek);
	if (err)
		goto fail;
	/* A write is a merge patch on the newest version: a partial update never
	 * loses a field, and every earlier version stays (R2). */
	if (version > 1) {
		err = read_latest(tx, dek, id, op->category, &prev);
		if (err)
			goto fail;
	}
	merged = merge_patch(prev, op->fields);
	if (!merged) {
		err = SENIM_ERR_NOMEM;
		goto fail;
	}
	/* U4, S1: the mobile phone is the borrower's sign-in factor.  A data
	 * write never changes it — not even the purposes that may write
	 * contact data; only the phone-change procedures do (phone.h).  The
	 * attempt is refused and on record. */
	if (op->category == CATEGORY_CONTACT &&
	    !json_equal(json_object_get(prev ? json_object_get(prev, "fields") : NULL,
					"phone_mobile"),
			json_object_get(merged, "phone_mobile"))) {
		op->phone_refused = 1;
		err = audit(tx, a, name, id, cat, "denied");
		goto fail;
	}
	err = insert_record(tx, a, dek, id, op->category, version, op->source, merged);
	if (err)
		goto fail;
	/* The e-mail index follows the record; the phone index is the sign-in
	 * factor's and moves only with subjects_set_phone_tx(). */
	if (op->category == CATEGORY_CONTACT) {
		err = reindex(tx, a->kr, id, "email",
			      json_string_value(json_object_get(merged, "email")));
		if (err)
			goto fail;
	}
	err = audit(tx, a, name, id, cat, "success");
	if (err)
		goto fail;
	op->version = version;
fail:
	json_decref(prev);
	json_decref(merged);
	vault_dek_free(dek);
	return err;
}

void subject_write_dispose(void *arg)
{
	struct subject_write *op = arg;
	json_decref(op->fields);
	op->fields = NULL;
}

/* ---- the sign-in phone (for borrower/phone.h) --------------------------------------- */

enum senim_result subjects_decide_write_tx(struct store_tx *tx,
					   const struct subject_actor *a,
					   const char *subject_id, enum category c,
					   const char *operation,
					   struct access_refusal *r)
{
	uint32_t seen = 0;
	enum senim_result err = decide(tx, a, subject_id, &seen, r);
	if (err)
		return err;
	if (r->why != ACCESS_GRANTED)
		return audit(tx, a, operation, subject_id, 0, "denied");
	/* A category the purpose does not even see is no write of it either. */
	enum access_result why =
		(seen & CATEGORY_BIT(c))
			? access_decide_write(a->matrix, a->purpose, seen, c)
			: ACCESS_PURPOSE_NOT_PERMITTED;
	if (why == ACCESS_GRANTED)
		return SENIM_OK;
	access_refusal_set(r, why, a->purpose, NULL);
	return audit(tx, a, operation, subject_id, CATEGORY_BIT(c), "denied");
}

/* The newest contact record's phone_mobile into out ("" when none). */
static void phone_of(json_t *rec, char out[PHONE_E164_LEN])
{
	const char *p = json_string_value(json_object_get(
		rec ? json_object_get(rec, "fields") : NULL, "phone_mobile"));
	out[0] = '\0';
	if (p && strlen(p) < PHONE_E164_LEN)
		memcpy(out, p, strlen(p) + 1);
}

enum senim_result subjects_phone_tx(struct store_tx *tx, const struct keyring *kr,
				    const char *subject_id, char out[PHONE_E164_LEN])
{
	struct vault_dek *dek = NULL;
	json_t *rec = NULL;
	out[0] = '\0';
	enum senim_result err = vault_dek_load(tx, kr, subject_id, &dek);
	if (err)
		goto fail;
	err = read_latest(tx, dek, subject_id, CATEGORY_CONTACT, &rec);
	if (err)
		goto fail;
	phone_of(rec, out);
fail:
	json_decref(rec);
	vault_dek_free(dek);
	return err;
}

enum senim_result subjects_set_phone_tx(struct store_tx *tx,
					const struct subject_actor *a,
					const char *subject_id,
					enum subject_source source, const char *phone,
					char old[PHONE_E164_LEN])
{
	int64_t version;
	json_t *prev = NULL, *merged = NULL, *patch = NULL;
	struct vault_dek *dek = NULL;
	old[0] = '\0';
	enum senim_result err = next_version(tx, subject_id, CATEGORY_CONTACT, &version);
	if (err)
		return err;
	err = vault_dek_load(tx, a->kr, subject_id, &dek);
	if (err)
		goto fail;
	if (version > 1) {
		err = read_latest(tx, dek, subject_id, CATEGORY_CONTACT, &prev);
		if (err)
			goto fail;
	}
	phone_of(prev, old);
	if (strcmp(old, phone) == 0) {
		err = SENIM_ERR_CONFLICT;
		goto fail;
	}
	patch = json_pack("{s:s}", "phone_mobile", phone);
	merged = patch ? merge_patch(prev, patch) : NULL;
	if (!merged) {
		err = SENIM_ERR_NOMEM;
		goto fail;
	}
	err = insert_record(tx, a, dek, subject_id, CATEGORY_CONTACT, version, source,
			    merged);
	if (err)
		goto fail;
	err = reindex(tx, a->kr, subject_id, "phone", phone);
fail:
	json_decref(prev);
	json_decref(patch);
	json_decref(merged);
	vault_dek_free(dek);
	return err;
}

/* ---- lookups ---------------------------------------------------------------------- */

/* The ids the digest of `kind` points to, at most SEARCH_MAX, in id order. */
static enum senim_result find_ids(struct store_tx *tx, const char *kind,
				  const unsigned char digest[VAULT_INDEX_BYTES],
				  char ids[SEARCH_MAX][SUBJECT_ID_LEN], int *n)
{
	struct store_rows *r;
	int has = 0;
	*n = 0;
	enum senim_result err = store_query(
		tx,
		"SELECT subject_id FROM subject_index WHERE kind = $1"
		" AND digest = $2 ORDER BY subject_id",
		(struct store_val[]){ SV_TEXT(kind), SV_BLOB(digest, VAULT_INDEX_BYTES) },
		2, &r);
	if (err)
		return err;
	while (*n < SEARCH_MAX && (err = store_rows_next(r, &has)) == SENIM_OK && has) {
		size_t len;
		const char *id = store_rows_text(r, 0, &len);
		if (len >= SUBJECT_ID_LEN)
			continue;
		memcpy(ids[*n], id, len);
		ids[*n][len] = '\0';
		(*n)++;
	}
	store_rows_free(r);
	return err;
}

enum senim_result subjects_search_tx(struct store_tx *tx, void *arg)
{
	struct subject_search *op = arg;
	const struct subject_actor *a = &op->actor;
	const char *name = "subject.search";
	char ids[SEARCH_MAX][SUBJECT_ID_LEN];
	unsigned char digest[VAULT_INDEX_BYTES];
	int n = 0;
	json_decref(op->out); /* the outputs are this transaction's alone */
	op->out = NULL;
	/* A lookup touches the category its key belongs to; without a subject
	 * the decision is the purpose's alone. */
	enum category c =
		strcmp(op->kind, "iin") == 0 ? CATEGORY_IDENTITY : CATEGORY_CONTACT;
	uint32_t seen = 0;
	enum access_result why =
		access_decide(a->matrix, a->role, a->purpose, NULL, &seen);
	if (why == ACCESS_GRANTED && !(seen & CATEGORY_BIT(c)))
		why = ACCESS_PURPOSE_NOT_PERMITTED;
	access_refusal_set(&op->refused, why, a->purpose, NULL);
	if (why != ACCESS_GRANTED)
		return audit(tx, a, name, NULL, 0, "denied");
	vault_blind_index(a->kr, op->kind, op->value, strlen(op->value), digest);
	enum senim_result err = find_ids(tx, op->kind, digest, ids, &n);
	if (err)
		return err;
	op->out = json_array();
	if (!op->out)
		return SENIM_ERR_NOMEM;
	for (int i = 0; i < n; i++) {
		struct access_refusal refused;
		err = decide(tx, a, ids[i], &seen, &refused);
		if (err)
			return err;
		/* A blocked or restricted subject is not found for this purpose. */
		if (refused.why != ACCESS_GRANTED)
			continue;
		if (json_array_append_new(op->out, json_string(ids[i])) != 0)
			return SENIM_ERR_NOMEM;
		err = audit(tx, a, name, ids[i], CATEGORY_BIT(c), "success");
		if (err)
			return err;
	}
	if (json_array_size(op->out) == 0)
		return audit(tx, a, name, NULL, CATEGORY_BIT(c), "not_found");
	return SENIM_OK;
}

void subject_search_dispose(void *arg)
{
	struct subject_search *op = arg;
	json_decref(op->out);
	sodium_memzero(op, sizeof(*op)); /* the key searched for */
}

/* ---- blocking and restriction (R3, R4) ---------------------------------------------- */

enum senim_result subjects_block_tx(struct store_tx *tx, void *arg)
{
	struct subject_block *op = arg;
	const char *reason = op->reason ? op->reason : "";
	enum senim_result err =
		load_protection(tx, op->subject_id, &op->state, op->block_reason,
				sizeof(op->block_reason));
	if (err)
		return err;
	if (op->block)
		err = store_exec(tx,
				 "UPDATE subjects SET blocked = 1, block_reason = $2,"
				 " blocked_at = $3 WHERE id = $1",
				 (struct store_val[]){ SV_TEXT(op->subject_id),
						       SV_TEXT(reason),
						       SV_INT(clock_now_us()) },
				 3, NULL);
	else
		err = store_exec(tx,
				 "UPDATE subjects SET blocked = 0, block_reason = NULL,"
				 " blocked_at = NULL WHERE id = $1",
				 (struct store_val[]){ SV_TEXT(op->subject_id) }, 1,
				 NULL);
	if (err)
		return err;
	/* The answer shows the state as this act left it. */
	op->state.blocked = op->block;
	snprintf(op->block_reason, sizeof(op->block_reason), "%s",
		 op->block ? reason : "");
	return audit(tx, &op->actor, op->block ? "subject.block" : "subject.unblock",
		     op->subject_id, 0, "success");
}

enum senim_result subjects_restriction_tx(struct store_tx *tx, void *arg)
{
	struct subject_restriction *op = arg;
	enum senim_result err =
		load_protection(tx, op->subject_id, &op->state, op->block_reason,
				sizeof(op->block_reason));
	if (err)
		return err;
	if (op->restrict_)
		err = store_exec(
			tx, "UPDATE subjects SET allowed_purposes = $2 WHERE id = $1",
			(struct store_val[]){ SV_TEXT(op->subject_id),
					      SV_INT(op->allowed_purposes) },
			2, NULL);
	else
		err = store_exec(
			tx, "UPDATE subjects SET allowed_purposes = NULL WHERE id = $1",
			(struct store_val[]){ SV_TEXT(op->subject_id) }, 1, NULL);
	if (err)
		return err;
	op->state.restricted = op->restrict_;
	op->state.allowed_purposes = op->restrict_ ? op->allowed_purposes : 0;
	return audit(tx, &op->actor,
		     op->restrict_ ? "subject.restrict" : "subject.unrestrict",
		     op->subject_id, 0, "success");
}

enum senim_result subjects_protection_tx(struct store_tx *tx, void *arg)
{
	struct subject_protection *op = arg;
	enum senim_result err =
		load_protection(tx, op->subject_id, &op->state, op->block_reason,
				sizeof(op->block_reason));
	if (err)
		return err;
	return audit(tx, &op->actor, "subject.protection_read", op->subject_id, 0,
		     "success");
}
