/*
 * applications.c — borrowers' applications: checks, the C4 step, acts,
 * staff reads.
 */
#include "lending/applications.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "common/clock.h"
#include "core/consents.h"
#include "lending/cards.h"
#include "subjects/subjects.h"
#include "vault/vault.h"
#include "common/banned.h"

#define PAYOUT_CATEGORY "application" /* the vault binding of the sealed payout */
/* The vault binding of the declared income: its own category, so that the
 * payout's ciphertext moved into the income column does not open. */
#define INCOME_CATEGORY "application_income"
#define INCOME_DIGITS 24 /* a decimal int64 and its NUL, with room */
#define PURPOSE_U1 "loan_application_review"

int application_id_valid(const char *id)
{
	return strncmp(id, "app_", 4) == 0 && id_body_valid(id + 4);
}

/* ---- payout destinations ------------------------------------------------- */

static int luhn_ok(const char *s, size_t len)
{
	int sum = 0;
	for (size_t i = 0; i < len; i++) {
		int d = s[len - 1 - i] - '0';
		if (i % 2 == 1) {
			d *= 2;
			if (d > 9)
				d -= 9;
		}
		sum += d;
	}
	return sum % 10 == 0;
}

/* ISO 13616: move the first four characters to the end, letters to
 * 10..35, the number mod 97 is 1. */
static int iban_ok(const char *s, size_t len)
{
	int rem = 0;
	for (size_t k = 0; k < len; k++) {
		char c = s[(k + 4) % len];
		if (c >= '0' && c <= '9')
			rem = (rem * 10 + (c - '0')) % 97;
		else if (c >= 'A' && c <= 'Z')
			rem = (rem * 100 + (c - 'A' + 10)) % 97;
		else
			return 0;
	}
	return rem == 1;
}

int application_payout_valid(const char *kind, const char *value, size_t len)
{
	if (strcmp(kind, "card") == 0) {
		if (len < 16 || len > 19)
			return 0;
		for (size_t i = 0; i < len; i++)
			if (value[i] < '0' || value[i] > '9')
				return 0;
		return luhn_ok(value, len);
	}
	if (strcmp(kind, "account") == 0) {
		/* A Kazakh IBAN is 20 characters. */
		if (len != 20 || value[0] != 'K' || value[1] != 'Z')
			return 0;
		return iban_ok(value, len);
	}
	return 0;
}

/* ---- rows ------------------------------------------------------------------ */

#define COLUMNS                                                                  \
	"id, subject_id, product_code, product_version, amount_tiyn, term_days," \
	" schedule_method, payout_kind, payout_last4, state,"                    \
	" COALESCE(decline_reason, ''), COALESCE(refused, ''), created_at, updated_at"

static void copy_col(struct store_rows *r, int col, char *dst, size_t cap)
{
	size_t len;
	const char *s = store_rows_text(r, col, &len);
	if (len >= cap)
		len = cap - 1;
	memcpy(dst, s, len);
	dst[len] = '\0';
}

static void read_row(struct store_rows *r, struct application *a)
{
	memset(a, 0, sizeof(*a));
	copy_col(r, 0, a->id, sizeof(a->id));
	copy_col(r, 1, a->subject_id, sizeof(a->subject_id));
	copy_col(r, 2, a->product_code, sizeof(a->product_code));
	a->product_version = store_rows_int(r, 3);
	a->amount_tiyn = store_rows_int(r, 4);
	a->term_days = store_rows_int(r, 5);
	copy_col(r, 6, a->method, sizeof(a->method));
	copy_col(r, 7, a->payout_kind, sizeof(a->payout_kind));
	copy_col(r, 8, a->payout_last4, sizeof(a->payout_last4));
	copy_col(r, 9, a->state, sizeof(a->state));
	copy_col(r, 10, a->decline_reason, sizeof(a->decline_reason));
	copy_col(r, 11, a->refused, sizeof(a->refused));
	a->created_at = store_rows_int(r, 12);
	a->updated_at = store_rows_int(r, 13);
}

/* The application `id`, owned by subject_id when that is not NULL. */
static enum senim_result load_in(struct store_tx *tx, const char *subject_id,
				 const char *id, struct application *a)
{
	struct store_rows *r = NULL;
	enum senim_result err;
	if (subject_id)
		err = store_query_one(
			tx,
			"SELECT " COLUMNS " FROM applications"
			" WHERE id = $1 AND subject_id = $2",
			(struct store_val[]){ SV_TEXT(id), SV_TEXT(subject_id) }, 2, &r);
	else
		err = store_query_one(
			tx, "SELECT " COLUMNS " FROM applications WHERE id = $1",
			(struct store_val[]){ SV_TEXT(id) }, 1, &r);
	if (err)
		return err;
	read_row(r, a);
	store_rows_free(r);
	return SENIM_OK;
}

/* ---- C4: what is missing ----------------------------------------------------- */

/* Presence only: which categories have any record, and which consent kinds
 * were ever withdrawn.  Nothing is unsealed. */
static enum senim_result missing_in(struct store_tx *tx, const char *subject_id,
				    const struct product *p,
				    struct application_missing *m)
{
	struct store_rows *r = NULL;
	int has = 0;
	uint32_t present = 0, withdrawn = 0;
	memset(m, 0, sizeof(*m));
	enum senim_result err = store_query(
		tx, "SELECT DISTINCT category FROM subject_records WHERE subject_id = $1",
		(struct store_val[]){ SV_TEXT(subject_id) }, 1, &r);
	if (err)
		return err;
	while ((err = store_rows_next(r, &has)) == SENIM_OK && has) {
		char code[32];
		copy_col(r, 0, code, sizeof(code));
		int c = category_parse(code);
		if (c >= 0)
			present |= CATEGORY_BIT(c);
	}
	store_rows_free(r);
	if (err)
		return err;
	struct subject_state state;
	err = subjects_state_in(tx, subject_id, &state);
	if (err)
		return err;
	m->categories = p->categories & ~present;
	m->consents = p->consents & ~state.consents;
	if (!m->consents)
		return SENIM_OK;
	err = store_query(tx,
			  "SELECT DISTINCT kind FROM consents WHERE subject_id = $1"
			  " AND withdrawn_at IS NOT NULL",
			  (struct store_val[]){ SV_TEXT(subject_id) }, 1, &r);
	if (err)
		return err;
	while ((err = store_rows_next(r, &has)) == SENIM_OK && has) {
		char code[64];
		copy_col(r, 0, code, sizeof(code));
		int k = consent_kind_parse(code);
		if (k >= 0)
			withdrawn |= 1u << k;
	}
	store_rows_free(r);
	m->withdrawn = m->consents & withdrawn;
	return err;
}

/* The missing list of an open application (zero otherwise). */
static enum senim_result missing_of(struct store_tx *tx, const struct application *a,
				    struct application_missing *m)
{
	memset(m, 0, sizeof(*m));
	if (strcmp(a->state, "open") != 0)
		return SENIM_OK;
	struct product p;
	enum senim_result err =
		products_get_in(tx, a->product_code, a->product_version, &p);
	if (err)
		return err;
	return missing_in(tx, a->subject_id, &p, m);
}

enum senim_result applications_load_in(struct store_tx *tx, const char *subject_id,
				       const char *id, struct application *a)
{
	return load_in(tx, subject_id, id, a);
}

enum senim_result applications_missing_in(struct store_tx *tx,
					  const struct application *a,
					  struct application_missing *m)
{
	return missing_of(tx, a, m);
}

/* ---- making one ---------------------------------------------------------------- */

static enum senim_result create_check_tx(struct store_tx *tx, void *arg)
{
	struct application_create *op = arg;
	struct product *p = &op->product;
	enum senim_result err = products_get_in(tx, op->product_code, 0, p);
	if (err == SENIM_ERR_NOT_FOUND) {
		op->refusal = APPLICATION_PRODUCT_NOT_FOUND;
		return SENIM_OK;
	}
	if (err)
		return err;
	int method = product_method_parse(op->method);
	if (!p->active) {
		op->refusal = APPLICATION_PRODUCT_INACTIVE;
	} else if (method < 0 || !(p->methods & PRODUCT_METHOD_BIT(method))) {
		op->refusal = APPLICATION_METHOD_NOT_ALLOWED;
	} else if (op->amount_tiyn < p->amount_min_tiyn) {
		op->refusal = APPLICATION_OUTSIDE_PRODUCT;
		op->field = "amount_tiyn";
		op->limit = p->amount_min_tiyn;
	} else if (op->amount_tiyn > p->amount_max_tiyn) {
		op->refusal = APPLICATION_OUTSIDE_PRODUCT;
		op->field = "amount_tiyn";
		op->limit = p->amount_max_tiyn;
	} else if (op->term_days < p->term_min_days) {
		op->refusal = APPLICATION_OUTSIDE_PRODUCT;
		op->field = "term_days";
		op->limit = p->term_min_days;
	} else if (op->term_days > p->term_max_days) {
		op->refusal = APPLICATION_OUTSIDE_PRODUCT;
		op->field = "term_days";
		op->limit = p->term_max_days;
	} else {
		/* The law, on what is known before an offer: the amount, the
		 * term and the nominal rate.  The ГЭСВ is not computed yet
		 * (the offer does that, with the fees and the schedule); it is
		 * never below the nominal rate, so the nominal rate stands in
		 * for it here — whatever it refuses, the offer would too. */
		struct loan_offer o = { .amount_tiyn = op->amount_tiyn,
					.term_days = op->term_days,
					.annual_rate_bp = p->rate_bp,
					.effective_rate_bp = p->rate_bp };
		if (loan_rules_check_offer(op->rules, &o, &op->rule) != LOAN_BREACH_NONE)
			op->refusal = APPLICATION_LOAN_RULE;
	}
	if (op->refusal)
		return SENIM_OK;
	/* C4 and S1: the payout destination is sealed before the writer sees
	 * it, bound to this subject and this application. */
	struct vault_dek *dek = NULL;
	err = vault_dek_load(tx, op->kr, op->subject_id, &dek);
	if (err)
		return err;
	if (strcmp(op->payout_kind, "card") == 0) {
		/* A card is paid by the provider's token: it must be a card
		 * this borrower bound (another's is as none). */
		int bound = 0;
		err = cards_bound_in(tx, dek, op->subject_id, op->payout, &bound,
				     op->app.payout_last4);
		if (!err && !bound)
			op->refusal = APPLICATION_CARD_NOT_BOUND;
		if (err || !bound) {
			vault_dek_free(dek);
			return err;
		}
	}
	buf_reset(&op->sealed);
	err = vault_seal_blob(dek, op->subject_id, PAYOUT_CATEGORY, op->app.id, 1,
			      op->payout, op->payout_len, &op->sealed);
	buf_reset(&op->income_sealed);
	if (!err && op->income_declared) {
		/* The income as decimal digits, sealed like the payout: the
		 * database never holds it in the clear. */
		char digits[INCOME_DIGITS];
		int n = snprintf(digits, sizeof(digits), "%lld",
				 (long long)op->income_tiyn);
		err = vault_seal_blob(dek, op->subject_id, INCOME_CATEGORY, op->app.id, 1,
				      digits, (size_t)n, &op->income_sealed);
		sodium_memzero(digits, sizeof(digits));
	}
	vault_dek_free(dek);
	return err;
}

enum senim_result applications_card_named_in(struct store_tx *tx,
					     const struct vault_dek *dek,
					     const char *subject_id, const char *card_id,
					     int *named)
{
	struct store_rows *r = NULL;
	int has = 0;
	*named = 0;
	/* One open application at a time (applications_one_open): a row. */
	enum senim_result err = store_query(
		tx,
		"SELECT id, payout_sealed FROM applications WHERE subject_id = $1"
		" AND state = 'signed' AND payout_kind = 'card'",
		(struct store_val[]){ SV_TEXT(subject_id) }, 1, &r);
	while (!err && !*named && (err = store_rows_next(r, &has)) == SENIM_OK && has) {
		struct buf plain;
		size_t n = 0;
		const void *sealed = store_rows_blob(r, 1, &n);
		buf_init(&plain, 64);
		err = vault_open_blob(dek, subject_id, PAYOUT_CATEGORY,
				      store_rows_text(r, 0, NULL), 1, sealed, n, &plain);
		if (!err && plain.len == strlen(card_id) &&
		    memcmp(plain.data, card_id, plain.len) == 0)
			*named = 1;
		buf_release_wiped(&plain);
	}
	store_rows_free(r);
	return err;
}

enum senim_result applications_income_in(struct store_tx *tx, const struct vault_dek *dek,
					 const struct application *a, int *declared,
					 int64_t *income_tiyn)
{
	struct store_rows *r = NULL;
	struct buf plain;
	*declared = 0;
	*income_tiyn = 0;
	enum senim_result err = store_query_one(
		tx,
		"SELECT income_sealed FROM applications WHERE id = $1 AND subject_id = $2"
		" AND income_sealed IS NOT NULL",
		(struct store_val[]){ SV_TEXT(a->id), SV_TEXT(a->subject_id) }, 2, &r);
	if (err == SENIM_ERR_NOT_FOUND)
		return SENIM_OK;
	if (err)
		return err;
	size_t len = 0;
	const void *sealed = store_rows_blob(r, 0, &len);
	buf_init(&plain, INCOME_DIGITS);
	err = vault_open_blob(dek, a->subject_id, INCOME_CATEGORY, a->id, 1, sealed, len,
			      &plain);
	store_rows_free(r);
	if (!err) {
		/* Only what create sealed opens here: the digits of 0..max. */
		char *end = NULL;
		errno = 0;
		long long v = plain.len && plain.len < INCOME_DIGITS
				      ? strtoll(plain.data, &end, 10)
				      : -1;
		if (errno || v < 0 || v > APPLICATION_INCOME_MAX_TIYN || !end || *end) {
			err = SENIM_ERR_CRYPTO;
		} else {
			*declared = 1;
			*income_tiyn = (int64_t)v;
		}
	}
	buf_release_wiped(&plain);
	return err;
}

enum senim_result applications_create_prepare(struct store *st,
					      struct application_create *op)
{
	op->refusal = APPLICATION_ACCEPTED;
	op->field = NULL;
	op->limit = 0;
	memset(&op->rule, 0, sizeof(op->rule));
	memset(&op->app, 0, sizeof(op->app));
	buf_init(&op->sealed, 4096);
	buf_init(&op->income_sealed, 256);
	int64_t now = clock_now_us();
	id_time_ordered(op->app.id, "app_", now / 1000);
	struct application *a = &op->app;
	snprintf(a->subject_id, sizeof(a->subject_id), "%s", op->subject_id);
	snprintf(a->method, sizeof(a->method), "%s", op->method);
	snprintf(a->payout_kind, sizeof(a->payout_kind), "%s", op->payout_kind);
	if (op->payout_len >= 4)
		memcpy(a->payout_last4, op->payout + op->payout_len - 4, 4);
	a->payout_last4[4] = '\0';
	a->amount_tiyn = op->amount_tiyn;
	a->term_days = op->term_days;
	return store_read(st, create_check_tx, op);
}

enum senim_result applications_create_tx(struct store_tx *tx, void *arg)
{
	struct application_create *op = arg;
	struct application *a = &op->app;
	struct store_rows *r = NULL;
	op->refusal = APPLICATION_ACCEPTED; /* a job may run more than once */
	/* One in progress per borrower: checked here so the answer is clear;
	 * the partial unique index keeps it against any other writer. */
	enum senim_result err = store_query_one(
		tx,
		"SELECT id FROM applications WHERE subject_id = $1 AND state IN"
		" ('open', 'approved', 'referred', 'offered', 'signed')",
		(struct store_val[]){ SV_TEXT(op->subject_id) }, 1, &r);
	if (err == SENIM_OK) {
		store_rows_free(r);
		op->refusal = APPLICATION_OPEN_EXISTS;
		return SENIM_OK;
	}
	if (err != SENIM_ERR_NOT_FOUND)
		return err;
	int64_t now = clock_now_us();
	snprintf(a->product_code, sizeof(a->product_code), "%s", op->product.code);
	a->product_version = op->product.version;
	snprintf(a->state, sizeof(a->state), "open");
	a->created_at = a->updated_at = now;
	err = store_exec(
		tx,
		"INSERT INTO applications (id, subject_id, product_code, product_version,"
		" amount_tiyn, term_days, schedule_method, payout_kind, payout_sealed,"
		" payout_last4, state, created_at, updated_at, request_id, income_sealed)"
		" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'open', $11, $11, "
		"$12, $13)",
		(struct store_val[]){
			SV_TEXT(a->id), SV_TEXT(a->subject_id), SV_TEXT(a->product_code),
			SV_INT(a->product_version), SV_INT(a->amount_tiyn),
			SV_INT(a->term_days), SV_TEXT(a->method), SV_TEXT(a->payout_kind),
			SV_BLOB(op->sealed.data, op->sealed.len),
			SV_TEXT(a->payout_last4), SV_INT(now), SV_TEXT(op->request_id),
			op->income_sealed.len
				? SV_BLOB(op->income_sealed.data, op->income_sealed.len)
				: SV_NULL() },
		13, NULL);
	/* SENIM_ERR_CONFLICT: another writer's application got in first; the
	 * job is undone and the answer says so (PostgreSQL allows nothing
	 * more in this transaction after a failed statement). */
	if (err)
		return err;
	err = missing_in(tx, a->subject_id, &op->product, &op->missing);
	if (err)
		return err;
	char object[APPLICATION_ID_LEN + 16];
	snprintf(object, sizeof(object), "application:%s", a->id);
	struct audit_record rec = { .actor = op->actor,
				    .operation = "application.create",
				    .object = object,
				    .subject_id = a->subject_id,
				    .categories = "",
				    .purpose = PURPOSE_U1,
				    .outcome = "success",
				    .request_id = op->request_id };
	return audit_append(tx, op->kr, &rec);
}

void application_create_dispose(void *arg)
{
	struct application_create *op = arg;
	buf_release(&op->sealed);
	buf_release(&op->income_sealed);
	sodium_memzero(op->app.payout_last4, sizeof(op->app.payout_last4));
	sodium_memzero(&op->income_tiyn, sizeof(op->income_tiyn));
}

/* ---- how an application is shown ------------------------------------------------------ */

/* A stored comma-separated list as a JSON array. */
static json_t *list_json(const char *s)
{
	json_t *a = json_array();
	const char *p = s;
	while (a && *p) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		json_array_append_new(a, json_stringn(p, n));
		p += n + (end ? 1 : 0);
	}
	return a;
}

/* The codes of a mask's bits, in bit order; code(i) NULL skips bit i. */
static json_t *codes_json(uint32_t mask, const char *(*code)(unsigned))
{
	json_t *a = json_array();
	for (unsigned i = 0; a && i < 32; i++) {
		const char *c = (mask >> i) & 1 ? code(i) : NULL;
		if (c)
			json_array_append_new(a, json_string(c));
	}
	return a;
}

static const char *category_name(unsigned i)
{
	return i < CATEGORY__COUNT ? category_code((enum category)i) : NULL;
}

static const char *consent_name(unsigned i)
{
	const struct consent_def *d =
		i < CONSENT__COUNT ? consent_def((enum consent_kind)i) : NULL;
	return d ? d->code : NULL;
}

static json_t *missing_json(const struct application_missing *m)
{
	return json_pack("{s:o,s:o,s:o}", "categories",
			 codes_json(m->categories, category_name), "consents",
			 codes_json(m->consents, consent_name), "withdrawn_consents",
			 codes_json(m->withdrawn, consent_name));
}

json_t *application_json(const struct application *a, const struct application_missing *m,
			 enum application_view v)
{
	char created[CLOCK_RFC3339_LEN], updated[CLOCK_RFC3339_LEN];
	clock_format_rfc3339(a->created_at, created);
	clock_format_rfc3339(a->updated_at, updated);
	if (v == APPLICATION_VIEW_LIMITED) /* R5: nothing but the contract's terms */
		return json_pack("{s:s,s:{s:s,s:I},s:I,s:I,s:s,s:s,s:s,s:s}", "id", a->id,
				 "product", "code", a->product_code, "version",
				 (json_int_t)a->product_version, "amount_tiyn",
				 (json_int_t)a->amount_tiyn, "term_days",
				 (json_int_t)a->term_days, "schedule_method", a->method,
				 "state", a->state, "created_at", created, "updated_at",
				 updated);
	json_t *o = json_pack(
		"{s:s,s:{s:s,s:I},s:I,s:I,s:s,s:{s:s,s:s},s:s,s:s,s:s}", "id", a->id,
		"product", "code", a->product_code, "version",
		(json_int_t)a->product_version, "amount_tiyn", (json_int_t)a->amount_tiyn,
		"term_days", (json_int_t)a->term_days, "schedule_method", a->method,
		"payout", "kind", a->payout_kind, "last4", a->payout_last4, "state",
		a->state, "created_at", created, "updated_at", updated);
	if (!o)
		return NULL;
	if (*a->decline_reason)
		json_object_set_new(o, "decline_reason", json_string(a->decline_reason));
	if (*a->refused)
		json_object_set_new(o, "refused", list_json(a->refused));
	if (m && strcmp(a->state, "open") == 0)
		json_object_set_new(o, "missing", missing_json(m));
	return o;
}

/* ---- the borrower's reads ---------------------------------------------------------- */

/* The newest decision's outcome and reason codes (M0011): no personal data. */
static enum senim_result outcome_of(struct store_tx *tx, struct application_own *op)
{
	struct store_rows *r = NULL;
	op->outcome[0] = op->reasons[0] = '\0';
	enum senim_result err = store_query_one(
		tx,
		"SELECT outcome, reasons FROM decisions WHERE application_id = $1"
		" AND status = 'final' ORDER BY created_at DESC, id DESC LIMIT 1",
		(struct store_val[]){ SV_TEXT(op->id) }, 1, &r);
	if (err == SENIM_ERR_NOT_FOUND)
		return SENIM_OK;
	if (err)
		return err;
	copy_col(r, 0, op->outcome, sizeof(op->outcome));
	copy_col(r, 1, op->reasons, sizeof(op->reasons));
	store_rows_free(r);
	return SENIM_OK;
}

/* R5: what the limited view does not show, read all the same, dropped
 * before the answer can see it. */
static void own_drop_limited(struct application_own *op)
{
	sodium_memzero(op->outcome, sizeof(op->outcome));
	sodium_memzero(op->reasons, sizeof(op->reasons));
	sodium_memzero(&op->missing, sizeof(op->missing));
}

enum senim_result applications_own_tx(struct store_tx *tx, void *arg)
{
	struct application_own *op = arg;
	enum senim_result err;
	char object[APPLICATION_ID_LEN + 16];
	free(op->rows);
	op->rows = NULL;
	op->count = 0;
	if (op->id) {
		err = load_in(tx, op->subject_id, op->id, &op->app);
		if (err)
			return err;
		err = missing_of(tx, &op->app, &op->missing);
		if (err)
			return err;
		err = outcome_of(tx, op);
		if (err)
			return err;
		/* The income the borrower declared, back to them (R1). */
		struct vault_dek *dek = NULL;
		err = vault_dek_load(tx, op->kr, op->subject_id, &dek);
		if (err)
			return err;
		err = applications_income_in(tx, dek, &op->app, &op->income_declared,
					     &op->income_tiyn);
		vault_dek_free(dek);
		if (err)
			return err;
		snprintf(object, sizeof(object), "application:%s", op->id);
	} else {
		op->rows = calloc(APPLICATION_LIST_MAX, sizeof(*op->rows));
		if (!op->rows)
			return SENIM_ERR_NOMEM;
		struct store_rows *r;
		int has = 0;
		err = store_query(tx,
				  "SELECT " COLUMNS
				  " FROM applications WHERE subject_id = $1"
				  " ORDER BY id DESC LIMIT $2",
				  (struct store_val[]){ SV_TEXT(op->subject_id),
							SV_INT(APPLICATION_LIST_MAX) },
				  2, &r);
		if (err)
			return err;
		while ((err = store_rows_next(r, &has)) == SENIM_OK && has &&
		       op->count < APPLICATION_LIST_MAX)
			read_row(r, &op->rows[op->count++]);
		store_rows_free(r);
		if (err)
			return err;
		snprintf(object, sizeof(object), "applications");
	}
	if (op->limited)
		own_drop_limited(op);
	/* R1: the borrower's own data, read under the right of access; R5: a
	 * limited view is recorded as such, never its ground. */
	struct audit_record rec = { .actor = op->actor,
				    .operation = "application.self_read",
				    .object = object,
				    .subject_id = op->subject_id,
				    .categories = "",
				    .purpose = "legal_obligation",
				    .outcome = op->limited ? "limited" : "success",
				    .request_id = op->request_id };
	return audit_append(tx, op->kr, &rec);
}

void application_own_dispose(void *arg)
{
	struct application_own *op = arg;
	free(op->rows);
	op->rows = NULL;
	sodium_memzero(&op->income_tiyn, sizeof(op->income_tiyn));
}

/* ---- the borrower's acts ------------------------------------------------------------ */

enum senim_result applications_change_tx(struct store_tx *tx, void *arg)
{
	struct application_change *op = arg;
	struct application *a = &op->app;
	op->not_open = op->refusal_invalid = 0;
	enum senim_result err = load_in(tx, op->subject_id, op->id, a);
	if (err)
		return err;
	if (strcmp(a->state, "open") != 0) {
		op->not_open = 1;
		return SENIM_OK;
	}
	char refused[sizeof(a->refused)] = "", categories[128] = "";
	const char *state = "withdrawn", *reason = NULL,
		   *operation = "application.withdraw";
	if (op->act == APPLICATION_REFUSE_DATA) {
		struct application_missing m;
		err = missing_of(tx, a, &m);
		if (err)
			return err;
		/* C4: the borrower refuses what the product needs and is not
		 * given; refusing anything else is a mistake, not a refusal. */
		if ((op->refused_categories | op->refused_consents) == 0 ||
		    (op->refused_categories & ~m.categories) ||
		    (op->refused_consents & ~m.consents)) {
			op->refusal_invalid = 1;
			return SENIM_OK;
		}
		char consents[256];
		product_categories_text(op->refused_categories, categories,
					sizeof(categories));
		product_consents_text(op->refused_consents, consents, sizeof(consents));
		snprintf(refused, sizeof(refused), "%s%s%s", categories,
			 *categories && *consents ? "," : "", consents);
		state = "declined";
		reason = APPLICATION_DECLINE_DATA_REFUSED;
		operation = "application.decline";
	}
	int64_t now = clock_now_us();
	int64_t changed = 0;
	err = store_exec(
		tx,
		"UPDATE applications SET state = $1, decline_reason = $2,"
		" refused = $3, updated_at = $4 WHERE id = $5 AND state = 'open'",
		(struct store_val[]){ SV_TEXT(state),
				      reason ? SV_TEXT(reason) : SV_NULL(),
				      *refused ? SV_TEXT(refused) : SV_NULL(),
				      SV_INT(now), SV_TEXT(a->id) },
		5, &changed);
	if (err)
		return err;
	if (changed != 1) {
		op->not_open = 1;
		return SENIM_OK;
	}
	snprintf(a->state, sizeof(a->state), "%s", state);
	snprintf(a->decline_reason, sizeof(a->decline_reason), "%s",
		 reason ? reason : "");
	snprintf(a->refused, sizeof(a->refused), "%s", refused);
	a->updated_at = now;
	char object[APPLICATION_ID_LEN + 16];
	snprintf(object, sizeof(object), "application:%s", a->id);
	struct audit_record rec = { .actor = op->actor,
				    .operation = operation,
				    .object = object,
				    .subject_id = a->subject_id,
				    .categories = categories,
				    .purpose = PURPOSE_U1,
				    .outcome = "success",
				    .request_id = op->request_id };
	return audit_append(tx, op->kr, &rec);
}

/* ---- staff, under U1 ------------------------------------------------------------------ */

static enum senim_result staff_record(struct store_tx *tx, struct application_staff *op,
				      const char *operation, const char *object,
				      const char *subject_id, const char *outcome)
{
	struct audit_record rec = { .actor = op->actor,
				    .operation = operation,
				    .object = object,
				    .subject_id = subject_id,
				    .categories = "",
				    .purpose = PURPOSE_U1,
				    .outcome = outcome,
				    .request_id = op->request_id };
	return audit_append(tx, op->kr, &rec);
}

enum senim_result applications_staff_read_tx(struct store_tx *tx, void *arg)
{
	struct application_staff *op = arg;
	memset(&op->refused, 0, sizeof(op->refused));
	memset(&op->missing, 0, sizeof(op->missing));
	enum senim_result err = load_in(tx, NULL, op->id, &op->app);
	if (err)
		return err;
	struct subject_state state;
	err = subjects_state_in(tx, op->app.subject_id, &state);
	if (err)
		return err;
	uint32_t categories = 0;
	enum access_result why =
		access_decide(op->matrix, op->role, PURPOSE_LOAN_APPLICATION_REVIEW,
			      &state, &categories);
	char object[APPLICATION_ID_LEN + 16];
	snprintf(object, sizeof(object), "application:%s", op->id);
	if (why != ACCESS_GRANTED) {
		access_refusal_set(&op->refused, why, PURPOSE_LOAN_APPLICATION_REVIEW,
				   &state);
		memset(&op->app, 0, sizeof(op->app));
		return staff_record(tx, op, "application.read", object, NULL, "denied");
	}
	err = missing_of(tx, &op->app, &op->missing);
	if (err)
		return err;
	return staff_record(tx, op, "application.read", object, op->app.subject_id,
			    "success");
}

enum senim_result applications_staff_list_tx(struct store_tx *tx, void *arg)
{
	struct application_staff *op = arg;
	memset(&op->refused, 0, sizeof(op->refused));
	free(op->rows);
	op->rows = NULL;
	op->count = op->more = 0;
	/* The role must hold U1 at all; the queue shows no personal data
	 * beyond ids and amounts, and leaves blocked subjects out (R3). */
	uint32_t categories = 0;
	enum access_result why = access_decide(
		op->matrix, op->role, PURPOSE_LOAN_APPLICATION_REVIEW, NULL, &categories);
	if (why != ACCESS_GRANTED) {
		access_refusal_set(&op->refused, why, PURPOSE_LOAN_APPLICATION_REVIEW,
				   NULL);
		return staff_record(tx, op, "application.list", "applications", NULL,
				    "denied");
	}
	op->rows = calloc((size_t)op->limit + 1, sizeof(*op->rows));
	if (!op->rows)
		return SENIM_ERR_NOMEM;
	struct store_rows *r;
	int has = 0;
	enum senim_result err = store_query(
		tx,
		"SELECT a.id, a.subject_id, a.product_code, a.product_version, "
		"a.amount_tiyn,"
		" a.term_days, a.schedule_method, a.payout_kind, a.payout_last4, a.state,"
		" COALESCE(a.decline_reason, ''), COALESCE(a.refused, ''), a.created_at,"
		" a.updated_at FROM applications a JOIN subjects s ON s.id = a.subject_id"
		" WHERE a.state = $1 AND a.id > $2 AND s.blocked = 0"
		" ORDER BY a.id LIMIT $3",
		(struct store_val[]){ SV_TEXT(op->state), SV_TEXT(op->after),
				      SV_INT(op->limit + 1) },
		3, &r);
	if (err)
		return err;
	while ((err = store_rows_next(r, &has)) == SENIM_OK && has) {
		if (op->count == op->limit) {
			op->more = 1;
			break;
		}
		read_row(r, &op->rows[op->count++]);
	}
	store_rows_free(r);
	if (err)
		return err;
	return staff_record(tx, op, "application.list", "applications", NULL, "success");
}

void application_staff_dispose(void *arg)
{
	struct application_staff *op = arg;
	free(op->rows);
	op->rows = NULL;
}
