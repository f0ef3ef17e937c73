/*
 * subjects.c — borrowers' personal data over the store, sealed by the vault.
 *
 * Each public function is one store_write(): load the subject's state,
 * decide access, do the work, append the audit record.  A denial commits
 * only its audit record and is reported through the context.
 */
#include "subjects/subjects.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "audit/audit.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/ids.h"
#include "common/log.h"
#include "consent/ledger.h"
#include "core/contact.h"
#include "vault/vault.h"
#include "common/banned.h"

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

static int audit(struct store_tx *tx, const struct subject_actor *a, const char *op,
		 const char *subject_id, uint32_t categories, const char *outcome)
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

/* ---- state and keys -------------------------------------------------------- */

/* Load the subject's state; SENIM_ERR_NOT_FOUND when there is none. */
static int load_state(struct store_tx *tx, const char *id, struct subject_state *s,
		      char *reason, size_t reason_len)
{
	struct store_rows *r;
	int has = 0;
	int err =
		store_query(tx,
			    "SELECT blocked, allowed_purposes, block_reason FROM subjects"
			    " WHERE id = $1",
			    (struct store_val[]){ SV_TEXT(id) }, 1, &r);
	if (err)
		return err;
	err = store_rows_next(r, &has);
	if (!err && !has)
		err = SENIM_ERR_NOT_FOUND;
	if (!err) {
		s->blocked = (int)store_rows_int(r, 0);
		s->restricted = !store_rows_is_null(r, 1);
		s->allowed_purposes = s->restricted ? (uint32_t)store_rows_int(r, 1) : 0;
		if (reason && reason_len) {
			size_t n = 0;
			const char *t =
				store_rows_is_null(r, 2) ? "" : store_rows_text(r, 2, &n);
			n = n < reason_len - 1 ? n : reason_len - 1;
			memcpy(reason, t, n);
			reason[n] = '\0';
		}
	}
	store_rows_free(r);
	/* C4: the consents in force are part of every decision. */
	if (!err)
		err = ledger_active_in(tx, id, &s->consents, &s->obligation_purposes);
	return err;
}

struct prepared;

/* ---- the shape of every operation ------------------------------------------ */

struct op {
	struct store *st;
	const struct subject_actor *a;
	const char *subject_id;
	const char *name; /* audit operation */
	enum access_result denied;
	uint32_t categories; /* granted by the purpose */
	struct subject_state state;
	/* operation-specific */
	uint32_t wanted;
	uint32_t withheld;
	enum category category;
	enum subject_source source;
	json_t *fields;
	const char *phone, *email;
	const char *kind, *value;
	int64_t version;
	json_t *out;
	int self;		     /* the borrower reading their own data (R1) */
	int phone_refused;	     /* a write that would change the sign-in phone */
	uint32_t returned;	     /* categories a read actually returned */
	const struct prepared *prep; /* a registration's precomputed parts */
};

/* Load state and decide; a denial writes its audit record and is reported
 * through o->denied with SENIM_OK, so that record commits. */
static int decide(struct store_tx *tx, struct op *o, int *denied)
{
	*denied = 0;
	int err = load_state(tx, o->subject_id, &o->state, NULL, 0);
	if (err)
		return err;
	if (o->self) { /* R1: a borrower's own data, every category */
		o->denied = ACCESS_GRANTED;
		o->categories = CATEGORY_ALL;
		return SENIM_OK;
	}
	o->denied = access_decide(o->a->matrix, o->a->role, o->a->purpose, &o->state,
				  &o->categories);
	if (o->denied == ACCESS_CONSENT_REQUIRED && o->a->missing_consent)
		*o->a->missing_consent = access_missing_consent(o->a->purpose, &o->state);
	if (o->denied == ACCESS_GRANTED)
		return SENIM_OK;
	*denied = 1;
	return audit(tx, o->a, o->name, o->subject_id, 0, "denied");
}

/* ---- registration ---------------------------------------------------------- */

static int insert_index(struct store_tx *tx, const struct keyring *kr, const char *kind,
			const char *value, const char *id)
{
	unsigned char digest[VAULT_INDEX_BYTES];
	vault_blind_index(kr, kind, value, strlen(value), digest);
	return store_exec(tx,
			  "INSERT INTO subject_index (kind, digest, subject_id)"
			  " VALUES ($1, $2, $3)",
			  (struct store_val[]){ SV_TEXT(kind),
						SV_BLOB(digest, sizeof(digest)),
						SV_TEXT(id) },
			  3, NULL);
}

static int insert_record(struct store_tx *tx, const struct subject_actor *a,
			 const struct vault_dek *dek, const char *id, enum category c,
			 int64_t version, enum subject_source source, json_t *fields)
{
	struct buf sealed;
	buf_init(&sealed, 64u << 20);
	int err = vault_seal_record(dek, id, category_code(c), version, fields, &sealed);
	if (!err)
		err = store_exec(
			tx,
			"INSERT INTO subject_records (subject_id, category, version, "
			"source,"
			" actor, created_at, sealed) VALUES ($1, $2, $3, $4, $5, $6, $7)",
			(struct store_val[]){ SV_TEXT(id), SV_TEXT(category_code(c)),
					      SV_INT(version),
					      SV_TEXT(subject_source_code(source)),
					      SV_TEXT(a->label), SV_INT(clock_now_us()),
					      SV_BLOB(sealed.data, sealed.len) },
			7, NULL);
	buf_release(&sealed);
	return err;
}

/* What a registration computes before it joins the group commit: the id,
 * the wrapped data key, the two sealed records and the blind indexes — so
 * the single writer only runs the inserts. */
struct prepared {
	char id[SUBJECT_ID_LEN];
	struct buf wrapped;
	uint32_t kek_version;
	struct buf identity, contact;
	unsigned char iin[VAULT_INDEX_BYTES], phone[VAULT_INDEX_BYTES],
		email[VAULT_INDEX_BYTES];
};

static void prepared_release(struct prepared *p)
{
	buf_release(&p->wrapped);
	buf_release(&p->identity);
	buf_release(&p->contact);
}

static int prepare_registration(const struct subject_actor *a,
				const struct subject_registration *reg,
				struct prepared *p)
{
	buf_init(&p->wrapped, 4096);
	buf_init(&p->identity, 64u << 20);
	buf_init(&p->contact, 64u << 20);
	new_subject_id(p->id);
	struct vault_dek *dek = NULL;
	int err = vault_dek_new(a->kr, p->id, &dek, &p->wrapped, &p->kek_version);
	if (!err)
		err = vault_seal_record(dek, p->id, category_code(CATEGORY_IDENTITY), 1,
					reg->identity, &p->identity);
	if (!err)
		err = vault_seal_record(dek, p->id, category_code(CATEGORY_CONTACT), 1,
					reg->contact, &p->contact);
	vault_dek_free(dek);
	vault_blind_index(a->kr, "iin", reg->iin, strlen(reg->iin), p->iin);
	if (reg->phone)
		vault_blind_index(a->kr, "phone", reg->phone, strlen(reg->phone),
				  p->phone);
	if (reg->email)
		vault_blind_index(a->kr, "email", reg->email, strlen(reg->email),
				  p->email);
	return err;
}

static int insert_digest(struct store_tx *tx, const char *kind,
			 const unsigned char digest[VAULT_INDEX_BYTES], const char *id)
{
	return store_exec(tx,
			  "INSERT INTO subject_index (kind, digest, subject_id)"
			  " VALUES ($1, $2, $3)",
			  (struct store_val[]){ SV_TEXT(kind),
						SV_BLOB(digest, VAULT_INDEX_BYTES),
						SV_TEXT(id) },
			  3, NULL);
}

static int insert_sealed(struct store_tx *tx, const struct subject_actor *a,
			 const char *id, enum category c, enum subject_source source,
			 const struct buf *sealed)
{
	return store_exec(
		tx,
		"INSERT INTO subject_records (subject_id, category, version, source,"
		" actor, created_at, sealed) VALUES ($1, $2, $3, $4, $5, $6, $7)",
		(struct store_val[]){ SV_TEXT(id), SV_TEXT(category_code(c)), SV_INT(1),
				      SV_TEXT(subject_source_code(source)),
				      SV_TEXT(a->label), SV_INT(clock_now_us()),
				      SV_BLOB(sealed->data, sealed->len) },
		7, NULL);
}

/* A registration between its preparation and its outcome: everything the
 * job needs, owned, so that it may run after the caller's frame is gone. */
struct subject_registration_op {
	struct op o;
	struct subject_actor actor; /* o.a points here */
	struct prepared prep;	    /* o.prep points here */
	int has_phone, has_email;
	enum subject_source source;
	int conflict; /* the IIN is another record's (audited, then 409) */
};

enum senim_result subjects_register_tx(struct store_tx *tx, void *arg)
{
	struct subject_registration_op *ro = arg;
	struct op *o = &ro->o;
	const struct subject_actor *a = o->a;
	const struct prepared *p = o->prep;
	o->denied = access_decide(a->matrix, a->role, a->purpose, NULL, &o->categories);
	uint32_t needed =
		CATEGORY_BIT(CATEGORY_IDENTITY) | CATEGORY_BIT(CATEGORY_CONTACT);
	if (o->denied == ACCESS_GRANTED && (o->categories & needed) != needed)
		o->denied = ACCESS_PURPOSE_NOT_PERMITTED;
	/* A registration writes identity and contact: a purpose that may only
	 * read them does not register anyone. */
	for (int c = CATEGORY_IDENTITY;
	     o->denied == ACCESS_GRANTED && c <= CATEGORY_CONTACT; c++)
		if (needed & CATEGORY_BIT(c))
			o->denied = access_decide_write(a->matrix, a->purpose,
							o->categories, (enum category)c);
	if (o->denied != ACCESS_GRANTED)
		return audit(tx, a, o->name, NULL, 0, "denied");
	struct store_rows *r;
	int taken = 0;
	char existing[SUBJECT_ID_LEN] = "";
	int err = store_query(
		tx,
		"SELECT subject_id FROM subject_index WHERE kind = 'iin' AND digest = $1",
		(struct store_val[]){ SV_BLOB(p->iin, VAULT_INDEX_BYTES) }, 1, &r);
	if (err)
		return err;
	err = store_rows_next(r, &taken);
	if (!err && taken) {
		size_t len = 0;
		const char *sid = store_rows_text(r, 0, &len);
		if (len < sizeof(existing)) {
			memcpy(existing, sid, len);
			existing[len] = '\0';
		}
	}
	store_rows_free(r);
	if (err)
		return err;
	if (taken) {
		/* C4/D8: one borrower, one record.  The answer reveals nothing
		 * about it, but the attempt is on record, naming the record it
		 * ran into: asking whether an IIN is a customer leaves a trace. */
		ro->conflict = 1;
		return audit(tx, a, o->name, existing[0] ? existing : NULL, 0,
			     "conflict");
	}
	const char *id = p->id;
	int64_t now = clock_now_us();
	err = store_exec(
		tx,
		"INSERT INTO subjects (id, created_at, created_by) VALUES ($1, $2, $3)",
		(struct store_val[]){ SV_TEXT(id), SV_INT(now), SV_TEXT(a->label) }, 3,
		NULL);
	if (!err)
		err = store_exec(
			tx,
			"INSERT INTO subject_keys (subject_id, kek_version, wrapped,"
			" created_at) VALUES ($1, $2, $3, $4)",
			(struct store_val[]){ SV_TEXT(id), SV_INT(p->kek_version),
					      SV_BLOB(p->wrapped.data, p->wrapped.len),
					      SV_INT(now) },
			4, NULL);
	if (!err)
		err = insert_sealed(tx, a, id, CATEGORY_IDENTITY, ro->source,
				    &p->identity);
	if (!err)
		err = insert_sealed(tx, a, id, CATEGORY_CONTACT, ro->source, &p->contact);
	if (!err)
		err = insert_digest(tx, "iin", p->iin, id);
	if (!err && ro->has_phone)
		err = insert_digest(tx, "phone", p->phone, id);
	if (!err && ro->has_email)
		err = insert_digest(tx, "email", p->email, id);
	if (!err)
		err = audit(tx, a, o->name, id, needed, "success");
	return err;
}

int subjects_register_prepare(const struct subject_actor *a,
			      const struct subject_registration *reg,
			      struct subject_registration_op **out)
{
	*out = NULL;
	struct subject_registration_op *ro = calloc(1, sizeof(*ro));
	if (!ro)
		return SENIM_ERR_NOMEM;
	ro->actor = *a;
	ro->has_phone = reg->phone != NULL;
	ro->has_email = reg->email != NULL;
	ro->source = reg->source;
	ro->o = (struct op){ .a = &ro->actor,
			     .name = "subject.register",
			     .prep = &ro->prep };
	int err = prepare_registration(a, reg, &ro->prep);
	if (err) {
		prepared_release(&ro->prep);
		free(ro);
		return err;
	}
	*out = ro;
	return SENIM_OK;
}

int subjects_register_finish(struct subject_registration_op *ro, int result,
			     char id[SUBJECT_ID_LEN], enum access_result *denied)
{
	id[0] = '\0';
	*denied = ro->o.denied;
	if (!result && ro->conflict)
		result = SENIM_ERR_CONFLICT;
	if (!result && ro->o.denied == ACCESS_GRANTED)
		memcpy(id, ro->prep.id, SUBJECT_ID_LEN);
	if (!result && ro->o.denied != ACCESS_GRANTED)
		result = SENIM_ERR_DENIED;
	prepared_release(&ro->prep);
	free(ro);
	return result;
}

int subjects_register(struct store *st, const struct subject_actor *a,
		      const struct subject_registration *reg, char id[SUBJECT_ID_LEN],
		      enum access_result *denied)
{
	struct subject_registration_op *ro;
	id[0] = '\0';
	*denied = ACCESS_GRANTED;
	int err = subjects_register_prepare(a, reg, &ro);
	if (err)
		return err;
	err = store_write(st, subjects_register_tx, ro);
	return subjects_register_finish(ro, err, id, denied);
}

/* ---- reading ----------------------------------------------------------------- */

/* The newest version of category c, decrypted, as {"version", ...}; *found 0
 * when the subject has none. */
static int read_latest(struct store_tx *tx, const struct vault_dek *dek, const char *id,
		       enum category c, json_t **out)
{
	*out = NULL;
	struct store_rows *r;
	int has = 0;
	int err = store_query(
		tx,
		"SELECT version, source, created_at, sealed FROM subject_records"
		" WHERE subject_id = $1 AND category = $2"
		" ORDER BY version DESC LIMIT 1",
		(struct store_val[]){ SV_TEXT(id), SV_TEXT(category_code(c)) }, 2, &r);
	if (err)
		return err;
	err = store_rows_next(r, &has);
	if (!err && has) {
		size_t len;
		int64_t version = store_rows_int(r, 0);
		const void *sealed = store_rows_blob(r, 3, &len);
		json_t *fields = NULL;
		err = vault_open_record(dek, id, category_code(c), version, sealed, len,
					&fields);
		if (!err) {
			char when[CLOCK_RFC3339_LEN];
			clock_format_rfc3339(store_rows_int(r, 2), when);
			*out = json_pack("{s:I,s:s,s:s,s:o}", "version",
					 (json_int_t)version, "source",
					 store_rows_text(r, 1, NULL), "updated_at", when,
					 "fields", fields);
			if (!*out)
				err = SENIM_ERR_NOMEM;
		}
	}
	store_rows_free(r);
	return err;
}

/*
 * A read runs in two steps so that readers do not queue behind the writer:
 * fetch_tx decides and decrypts in a read transaction (concurrently with
 * other readers), then read_audit_tx appends the audit record in the group
 * commit.  The answer leaves only once that record is durable, so it stays
 * fail closed: no data without its audit record.  The decision is the one
 * taken at fetch time; a block committed in between counts from the next
 * request.
 */
static enum senim_result fetch_tx(struct store_tx *tx, void *arg)
{
	struct op *o = arg;
	int err = load_state(tx, o->subject_id, &o->state, NULL, 0);
	if (err)
		return err;
	if (o->self) { /* R1: a borrower's own data, every category */
		o->denied = ACCESS_GRANTED;
		o->categories = CATEGORY_ALL;
	} else {
		o->denied = access_decide(o->a->matrix, o->a->role, o->a->purpose,
					  &o->state, &o->categories);
		if (o->denied == ACCESS_CONSENT_REQUIRED && o->a->missing_consent)
			*o->a->missing_consent =
				access_missing_consent(o->a->purpose, &o->state);
	}
	if (o->denied != ACCESS_GRANTED)
		return SENIM_OK;
	uint32_t granted = o->wanted & o->categories;
	o->withheld = o->wanted & ~o->categories;
	struct vault_dek *dek = NULL;
	json_t *cats = json_object();
	if (!cats)
		return SENIM_ERR_NOMEM;
	err = granted ? vault_dek_load(tx, o->a->kr, o->subject_id, &dek) : SENIM_OK;
	for (int c = 0; !err && c < CATEGORY__COUNT; c++) {
		if (!(granted & CATEGORY_BIT(c)))
			continue;
		json_t *rec = NULL;
		err = read_latest(tx, dek, o->subject_id, (enum category)c, &rec);
		if (!err && rec) {
			json_object_set_new(cats, category_code((enum category)c), rec);
			o->returned |= CATEGORY_BIT(c);
		}
	}
	vault_dek_free(dek);
	if (err) {
		json_decref(cats);
		return err;
	}
	o->out = cats;
	return SENIM_OK;
}

static enum senim_result read_audit_tx(struct store_tx *tx, void *arg)
{
	struct op *o = arg;
	const char *outcome = "success";
	/* Refused, or asking only for what the purpose may not see: denied. */
	if (o->denied != ACCESS_GRANTED ||
	    (o->wanted && !(o->wanted & o->categories) && !o->self))
		outcome = "denied";
	return audit(tx, o->a, o->name, o->subject_id,
		     o->denied == ACCESS_GRANTED ? o->returned : 0, outcome);
}

/* A read between its decryption and its audit record (see subjects.h). */
struct subject_read_op {
	struct op o;
	struct subject_actor actor; /* o.a points here */
};

static int read_prepare(struct store *st, const struct subject_actor *a,
			const char *subject_id, uint32_t wanted, int self,
			struct subject_read_op **out)
{
	*out = NULL;
	struct subject_read_op *ro = calloc(1, sizeof(*ro));
	if (!ro)
		return SENIM_ERR_NOMEM;
	ro->actor = *a;
	ro->o = (struct op){ .st = st,
			     .a = &ro->actor,
			     .subject_id = subject_id,
			     .name = self ? "subject.self_read" : "subject.read",
			     .wanted = wanted,
			     .self = self };
	int err = store_read(st, fetch_tx, &ro->o);
	if (err) {
		json_decref(ro->o.out);
		free(ro);
		return err;
	}
	*out = ro;
	return SENIM_OK;
}

int subjects_read_prepare(struct store *st, const struct subject_actor *a,
			  const char *subject_id, uint32_t wanted,
			  struct subject_read_op **out)
{
	return read_prepare(st, a, subject_id, wanted, 0, out);
}

int subjects_self_read_prepare(struct store *st, const struct subject_actor *a,
			       const char *subject_id, struct subject_read_op **out)
{
	return read_prepare(st, a, subject_id, CATEGORY_ALL, 1, out);
}

enum senim_result subjects_read_audit_tx(struct store_tx *tx, void *op)
{
	struct subject_read_op *ro = op;
	return read_audit_tx(tx, &ro->o);
}

int subjects_read_finish(struct subject_read_op *ro, int result, json_t **out,
			 uint32_t *withheld, enum access_result *denied)
{
	struct op *o = &ro->o;
	*out = NULL;
	*denied = o->denied;
	*withheld = o->withheld;
	if (!result && o->denied != ACCESS_GRANTED)
		result = SENIM_ERR_DENIED;
	if (!result)
		*out = o->out; /* no data without its durable audit record */
	else
		json_decref(o->out);
	free(ro);
	return result;
}

int subjects_read(struct store *st, const struct subject_actor *a, const char *subject_id,
		  uint32_t wanted, json_t **out, uint32_t *withheld,
		  enum access_result *denied)
{
	struct subject_read_op *ro;
	*out = NULL;
	*withheld = 0;
	*denied = ACCESS_GRANTED;
	int err = subjects_read_prepare(st, a, subject_id, wanted, &ro);
	if (err)
		return err;
	err = store_write(st, subjects_read_audit_tx, ro);
	return subjects_read_finish(ro, err, out, withheld, denied);
}

int subjects_self_read(struct store *st, const struct subject_actor *a,
		       const char *subject_id, json_t **out)
{
	struct subject_read_op *ro;
	uint32_t withheld = 0;
	enum access_result denied = ACCESS_GRANTED;
	*out = NULL;
	int err = subjects_self_read_prepare(st, a, subject_id, &ro);
	if (err)
		return err;
	err = store_write(st, subjects_read_audit_tx, ro);
	return subjects_read_finish(ro, err, out, &withheld, &denied);
}

struct subject_change_op;
static int change_new(const struct subject_actor *a, struct op o, store_fn tx,
		      struct subject_change_op **out);

static enum senim_result history_tx(struct store_tx *tx, void *arg)
{
	struct op *o = arg;
	int denied;
	int err = decide(tx, o, &denied);
	if (err || denied)
		return err;
	if (!(o->categories & CATEGORY_BIT(o->category))) {
		o->withheld = CATEGORY_BIT(o->category);
		return audit(tx, o->a, o->name, o->subject_id, 0, "denied");
	}
	struct vault_dek *dek = NULL;
	err = vault_dek_load(tx, o->a->kr, o->subject_id, &dek);
	if (err)
		return err;
	json_t *versions = json_array();
	struct store_rows *r = NULL;
	err = versions ? store_query(tx,
				     "SELECT version, source, actor, created_at, sealed"
				     " FROM subject_records WHERE subject_id = $1 AND "
				     "category = $2"
				     " ORDER BY version DESC",
				     (struct store_val[]){
					     SV_TEXT(o->subject_id),
					     SV_TEXT(category_code(o->category)) },
				     2, &r)
		       : SENIM_ERR_NOMEM;
	int has = 0;
	while (!err && (err = store_rows_next(r, &has)) == SENIM_OK && has) {
		size_t len;
		int64_t version = store_rows_int(r, 0);
		const void *sealed = store_rows_blob(r, 4, &len);
		json_t *fields = NULL;
		err = vault_open_record(dek, o->subject_id, category_code(o->category),
					version, sealed, len, &fields);
		if (err)
			break;
		char when[CLOCK_RFC3339_LEN];
		clock_format_rfc3339(store_rows_int(r, 3), when);
		json_t *v = json_pack(
			"{s:I,s:s,s:s,s:s,s:o}", "version", (json_int_t)version, "source",
			store_rows_text(r, 1, NULL), "actor", store_rows_text(r, 2, NULL),
			"updated_at", when, "fields", fields);
		/* A version left out would be a history audited as whole. */
		if (!v || json_array_append_new(versions, v) != 0)
			err = SENIM_ERR_NOMEM;
	}
	store_rows_free(r);
	vault_dek_free(dek);
	if (!err)
		err = audit(tx, o->a, o->name, o->subject_id, CATEGORY_BIT(o->category),
			    "success");
	if (err) {
		json_decref(versions);
		return err;
	}
	o->out = versions;
	return SENIM_OK;
}

int subjects_history_prepare(const struct subject_actor *a, const char *subject_id,
			     enum category c, struct subject_change_op **op)
{
	return change_new(a,
			  (struct op){ .subject_id = subject_id,
				       .name = "subject.history",
				       .category = c },
			  history_tx, op);
}

/* ---- writing ----------------------------------------------------------------- */

static int reindex(struct store_tx *tx, const struct keyring *kr, const char *id,
		   const char *kind, const char *value)
{
	int err = store_exec(
		tx, "DELETE FROM subject_index WHERE subject_id = $1 AND kind = $2",
		(struct store_val[]){ SV_TEXT(id), SV_TEXT(kind) }, 2, NULL);
	return !err && value ? insert_index(tx, kr, kind, value, id) : err;
}

static enum senim_result write_tx(struct store_tx *tx, void *arg)
{
	struct op *o = arg;
	int denied;
	int err = decide(tx, o, &denied);
	if (err || denied)
		return err;
	if (!(o->categories & CATEGORY_BIT(o->category))) {
		o->withheld = CATEGORY_BIT(o->category);
		return audit(tx, o->a, o->name, o->subject_id, 0, "denied");
	}
	/* A purpose has a direction: reading a category is not changing it. */
	o->denied = access_decide_write(o->a->matrix, o->a->purpose, o->categories,
					o->category);
	if (o->denied != ACCESS_GRANTED)
		return audit(tx, o->a, o->name, o->subject_id, CATEGORY_BIT(o->category),
			     "denied");
	struct store_rows *r;
	int has = 0;
	err = store_query(tx,
			  "SELECT COALESCE(MAX(version), 0) FROM subject_records"
			  " WHERE subject_id = $1 AND category = $2",
			  (struct store_val[]){ SV_TEXT(o->subject_id),
						SV_TEXT(category_code(o->category)) },
			  2, &r);
	if (err)
		return err;
	err = store_rows_next(r, &has);
	o->version = has ? store_rows_int(r, 0) + 1 : 1;
	store_rows_free(r);
	struct vault_dek *dek = NULL;
	if (!err)
		err = vault_dek_load(tx, o->a->kr, o->subject_id, &dek);
	/* A write is a merge patch on the newest version (RFC 7386 style): given
	 * fields replace, null removes, the rest is kept — so a partial update
	 * never loses a field, and every earlier version stays (R2). */
	json_t *prev = NULL, *merged = NULL;
	if (!err && o->version > 1)
		err = read_latest(tx, dek, o->subject_id, o->category, &prev);
	if (!err) {
		json_t *base = prev ? json_object_get(prev, "fields") : NULL;
		merged = base ? json_deep_copy(base) : json_object();
		const char *key;
		json_t *v;
		json_object_foreach(o->fields, key, v)
		{
			if (json_is_null(v))
				json_object_del(merged, key);
			else
				json_object_set(merged, key, v);
		}
		if (!merged)
			err = SENIM_ERR_NOMEM;
	}
	/* U4, S1: the mobile phone is the borrower's sign-in factor.  A data
	 * write never changes it — not even the purposes that may write
	 * contact data; only the phone-change procedures do (phone.h).  The
	 * attempt is refused and on record. */
	if (!err && o->category == CATEGORY_CONTACT &&
	    !json_equal(json_object_get(prev ? json_object_get(prev, "fields") : NULL,
					"phone_mobile"),
			json_object_get(merged, "phone_mobile"))) {
		o->phone_refused = 1;
		json_decref(prev);
		json_decref(merged);
		vault_dek_free(dek);
		return audit(tx, o->a, o->name, o->subject_id, CATEGORY_BIT(o->category),
			     "denied");
	}
	if (!err)
		err = insert_record(tx, o->a, dek, o->subject_id, o->category, o->version,
				    o->source, merged);
	/* The e-mail index follows the record; the phone index is the sign-in
	 * factor's and moves only with subjects_set_phone_tx(). */
	if (!err && o->category == CATEGORY_CONTACT) {
		o->email = json_string_value(json_object_get(merged, "email"));
		err = reindex(tx, o->a->kr, o->subject_id, "email", o->email);
	}
	json_decref(prev);
	json_decref(merged);
	vault_dek_free(dek);
	if (!err)
		err = audit(tx, o->a, o->name, o->subject_id, CATEGORY_BIT(o->category),
			    "success");
	return err;
}

/* A change between its request and its durable batch (see subjects.h). */
struct subject_change_op {
	struct op o;
	struct subject_actor actor; /* o.a points here */
	store_fn tx;		    /* write_tx, block_tx, restrict_tx, ... */
	char value[EMAIL_MAX + 1];  /* a search's key (o.value), wiped at the end */
};

static int change_new(const struct subject_actor *a, struct op o, store_fn tx,
		      struct subject_change_op **out)
{
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return SENIM_ERR_NOMEM;
	(*out)->actor = *a;
	(*out)->o = o;
	(*out)->o.a = &(*out)->actor;
	(*out)->tx = tx;
	return SENIM_OK;
}

int subjects_write_prepare(const struct subject_actor *a, const char *subject_id,
			   enum category c, enum subject_source source, json_t *fields,
			   const char *phone, const char *email,
			   struct subject_change_op **op)
{
	return change_new(a,
			  (struct op){ .subject_id = subject_id,
				       .name = "subject.write",
				       .category = c,
				       .source = source,
				       .fields = fields,
				       .phone = phone,
				       .email = email },
			  write_tx, op);
}

enum senim_result subjects_change_tx(struct store_tx *tx, void *op)
{
	struct subject_change_op *ch = op;
	return ch->tx(tx, &ch->o);
}

int subjects_change_finish(struct subject_change_op *op, int result, int64_t *version,
			   json_t **out, enum access_result *denied)
{
	if (version)
		*version = op->o.version;
	if (denied)
		*denied = op->o.denied;
	if (!result && (op->o.denied != ACCESS_GRANTED || op->o.withheld))
		result = SENIM_ERR_DENIED;
	if (!result && op->o.phone_refused)
		result = SENIM_ERR_CONFLICT;
	if (out && !result)
		*out = op->o.out; /* a history or search: only once its record is durable */
	else
		json_decref(op->o.out);
	sodium_memzero(op, sizeof(*op)); /* a search's key */
	free(op);
	return result;
}

/* ---- the sign-in phone (for borrower/phone.h) --------------------------------- */

int subjects_decide_write_tx(struct store_tx *tx, const struct subject_actor *a,
			     const char *subject_id, enum category c,
			     const char *operation, enum access_result *denied)
{
	struct op o = { .a = a, .subject_id = subject_id, .name = operation };
	int refused = 0;
	int err = decide(tx, &o, &refused);
	*denied = o.denied;
	if (err || refused)
		return err;
	/* A category the purpose does not even see is no write of it either. */
	*denied = (o.categories & CATEGORY_BIT(c))
			  ? access_decide_write(a->matrix, a->purpose, o.categories, c)
			  : ACCESS_PURPOSE_NOT_PERMITTED;
	if (*denied != ACCESS_GRANTED)
		return audit(tx, a, operation, subject_id, CATEGORY_BIT(c), "denied");
	return SENIM_OK;
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

int subjects_phone_tx(struct store_tx *tx, const struct keyring *kr,
		      const char *subject_id, char out[PHONE_E164_LEN])
{
	struct vault_dek *dek = NULL;
	json_t *rec = NULL;
	out[0] = '\0';
	int err = vault_dek_load(tx, kr, subject_id, &dek);
	if (!err)
		err = read_latest(tx, dek, subject_id, CATEGORY_CONTACT, &rec);
	if (!err)
		phone_of(rec, out);
	json_decref(rec);
	vault_dek_free(dek);
	return err;
}

int subjects_set_phone_tx(struct store_tx *tx, const struct subject_actor *a,
			  const char *subject_id, enum subject_source source,
			  const char *phone, char old[PHONE_E164_LEN])
{
	struct store_rows *r;
	int has = 0;
	int64_t version = 1;
	json_t *prev = NULL, *merged = NULL;
	struct vault_dek *dek = NULL;
	old[0] = '\0';
	int err = store_query(tx,
			      "SELECT COALESCE(MAX(version), 0) FROM subject_records"
			      " WHERE subject_id = $1 AND category = 'contact'",
			      (struct store_val[]){ SV_TEXT(subject_id) }, 1, &r);
	if (err)
		return err;
	err = store_rows_next(r, &has);
	version = has ? store_rows_int(r, 0) + 1 : 1;
	store_rows_free(r);
	if (!err)
		err = vault_dek_load(tx, a->kr, subject_id, &dek);
	if (!err && version > 1)
		err = read_latest(tx, dek, subject_id, CATEGORY_CONTACT, &prev);
	if (!err) {
		phone_of(prev, old);
		json_t *base = prev ? json_object_get(prev, "fields") : NULL;
		merged = base ? json_deep_copy(base) : json_object();
		if (!merged ||
		    json_object_set_new(merged, "phone_mobile", json_string(phone)) != 0)
			err = SENIM_ERR_NOMEM;
	}
	if (!err && strcmp(old, phone) == 0)
		err = SENIM_ERR_CONFLICT;
	if (!err)
		err = insert_record(tx, a, dek, subject_id, CATEGORY_CONTACT, version,
				    source, merged);
	if (!err)
		err = reindex(tx, a->kr, subject_id, "phone", phone);
	json_decref(prev);
	json_decref(merged);
	vault_dek_free(dek);
	return err;
}

/* ---- lookups ------------------------------------------------------------------- */

static enum senim_result search_tx(struct store_tx *tx, void *arg)
{
	struct op *o = arg;
	const struct subject_actor *a = o->a;
	/* A lookup touches the category its key belongs to. */
	enum category c =
		strcmp(o->kind, "iin") == 0 ? CATEGORY_IDENTITY : CATEGORY_CONTACT;
	unsigned char digest[VAULT_INDEX_BYTES];
	vault_blind_index(a->kr, o->kind, o->value, strlen(o->value), digest);
	struct store_rows *r;
	int err = store_query(
		tx,
		"SELECT subject_id FROM subject_index WHERE kind = $1"
		" AND digest = $2 ORDER BY subject_id",
		(struct store_val[]){ SV_TEXT(o->kind), SV_BLOB(digest, sizeof(digest)) },
		2, &r);
	if (err)
		return err;
	char ids[16][SUBJECT_ID_LEN];
	int n = 0, has = 0;
	while (n < 16 && (err = store_rows_next(r, &has)) == SENIM_OK && has) {
		size_t len;
		const char *id = store_rows_text(r, 0, &len);
		if (len >= SUBJECT_ID_LEN)
			continue;
		memcpy(ids[n], id, len);
		ids[n][len] = '\0';
		n++;
	}
	store_rows_free(r);
	if (err)
		return err;
	o->out = json_array();
	if (!o->out)
		return SENIM_ERR_NOMEM;
	/* Without a subject the decision is the purpose's alone. */
	o->denied = access_decide(a->matrix, a->role, a->purpose, NULL, &o->categories);
	if (o->denied != ACCESS_GRANTED || !(o->categories & CATEGORY_BIT(c))) {
		if (o->denied == ACCESS_GRANTED)
			o->denied = ACCESS_PURPOSE_NOT_PERMITTED;
		return audit(tx, a, o->name, NULL, 0, "denied");
	}
	for (int i = 0; !err && i < n; i++) {
		struct subject_state s;
		uint32_t cats;
		err = load_state(tx, ids[i], &s, NULL, 0);
		if (err)
			break;
		/* A blocked or restricted subject is not found for this purpose. */
		if (access_decide(a->matrix, a->role, a->purpose, &s, &cats) !=
		    ACCESS_GRANTED)
			continue;
		json_array_append_new(o->out, json_string(ids[i]));
		err = audit(tx, a, o->name, ids[i], CATEGORY_BIT(c), "success");
	}
	if (!err && json_array_size(o->out) == 0)
		err = audit(tx, a, o->name, NULL, CATEGORY_BIT(c), "not_found");
	return err;
}

int subjects_search_prepare(const struct subject_actor *a, const char *kind,
			    const char *value, struct subject_change_op **op)
{
	if (strlen(value) > EMAIL_MAX)
		return SENIM_ERR_INVALID;
	int err = change_new(a, (struct op){ .name = "subject.search", .kind = kind },
			     search_tx, op);
	if (!err) { /* the key is personal data: the op's own copy, wiped */
		memcpy((*op)->value, value, strlen(value) + 1);
		(*op)->o.value = (*op)->value;
	}
	return err;
}

/* ---- blocking and restriction (R3, R4) ------------------------------------------ */

static enum senim_result block_tx(struct store_tx *tx, void *arg)
{
	struct op *o = arg;
	struct subject_state s;
	int err = load_state(tx, o->subject_id, &s, NULL, 0);
	if (err)
		return err;
	int64_t changes = 0;
	if (o->version) /* block */
		err = store_exec(tx,
				 "UPDATE subjects SET blocked = 1, block_reason = $2,"
				 " blocked_at = $3 WHERE id = $1",
				 (struct store_val[]){ SV_TEXT(o->subject_id),
						       SV_TEXT(o->value),
						       SV_INT(clock_now_us()) },
				 3, &changes);
	else
		err = store_exec(tx,
				 "UPDATE subjects SET blocked = 0, block_reason = NULL,"
				 " blocked_at = NULL WHERE id = $1",
				 (struct store_val[]){ SV_TEXT(o->subject_id) }, 1,
				 &changes);
	if (!err)
		err = audit(tx, o->a, o->name, o->subject_id, 0, "success");
	return err;
}

int subjects_block_prepare(const struct subject_actor *a, const char *subject_id,
			   int blocked, const char *reason, struct subject_change_op **op)
{
	return change_new(
		a,
		(struct op){ .subject_id = subject_id,
			     .name = blocked ? "subject.block" : "subject.unblock",
			     .version = blocked,
			     .value = reason ? reason : "" },
		block_tx, op);
}

static enum senim_result restrict_tx(struct store_tx *tx, void *arg)
{
	struct op *o = arg;
	struct subject_state s;
	int err = load_state(tx, o->subject_id, &s, NULL, 0);
	if (err)
		return err;
	if (o->version)
		err = store_exec(
			tx, "UPDATE subjects SET allowed_purposes = $2 WHERE id = $1",
			(struct store_val[]){ SV_TEXT(o->subject_id), SV_INT(o->wanted) },
			2, NULL);
	else
		err = store_exec(
			tx, "UPDATE subjects SET allowed_purposes = NULL WHERE id = $1",
			(struct store_val[]){ SV_TEXT(o->subject_id) }, 1, NULL);
	if (!err)
		err = audit(tx, o->a, o->name, o->subject_id, 0, "success");
	return err;
}

int subjects_restriction_prepare(const struct subject_actor *a, const char *subject_id,
				 int restrict_, uint32_t allowed_purposes,
				 struct subject_change_op **op)
{
	return change_new(a,
			  (struct op){ .subject_id = subject_id,
				       .name = restrict_ ? "subject.restrict"
							 : "subject.unrestrict",
				       .version = restrict_,
				       .wanted = allowed_purposes },
			  restrict_tx, op);
}

/* The DPO's look at a subject's block and restriction is an access too. */
static enum senim_result protection_read_tx(struct store_tx *tx, void *arg)
{
	struct op *o = arg;
	struct subject_state s;
	int err = load_state(tx, o->subject_id, &s, NULL, 0);
	return err ? err : audit(tx, o->a, o->name, o->subject_id, 0, "success");
}

int subjects_protection_read_prepare(const struct subject_actor *a,
				     const char *subject_id,
				     struct subject_change_op **op)
{
	return change_new(a,
			  (struct op){ .subject_id = subject_id,
				       .name = "subject.protection_read" },
			  protection_read_tx, op);
}

struct state_ctx {
	const char *id;
	struct subject_state *out;
	char *reason;
	size_t reason_len;
};

static enum senim_result state_tx(struct store_tx *tx, void *arg)
{
	struct state_ctx *c = arg;
	return load_state(tx, c->id, c->out, c->reason, c->reason_len);
}

int subjects_state(struct store *st, const char *subject_id, struct subject_state *out,
		   char *reason, size_t reason_len)
{
	struct state_ctx c = { subject_id, out, reason, reason_len };
	return store_read(st, state_tx, &c);
}
