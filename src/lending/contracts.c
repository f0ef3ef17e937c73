/*
 * contracts.c — acceptance, the contract and its signature (contracts.h).
 *
 * Each act is one write transaction: load, decide, act, append the audit
 * record.  Refusals are answers, not errors: their records commit and
 * op->refusal says which problem to answer.
 */
#include "lending/contracts.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "audit/audit.h"
#include "common/clock.h"
#include "core/gesv.h"
#include "lending/decisions.h"
#include "subjects/subjects.h"
#include "vault/vault.h"
#include "common/banned.h"

#define CODE_HASH_BYTES 32
#define US_PER_S INT64_C(1000000)

/* The documents are sealed under this category name: the contract holds
 * identity and contact data, and is the subject's like any record. */
#define SEAL_CATEGORY "contract"

int contracts_method_parse(const char *s, enum schedule_method *m)
{
	if (strcmp(s, "annuity") == 0)
		*m = SCHEDULE_ANNUITY;
	else if (strcmp(s, "differentiated") == 0)
		*m = SCHEDULE_DIFFERENTIATED;
	else if (strcmp(s, "single") == 0)
		*m = SCHEDULE_SINGLE;
	else
		return 0;
	return 1;
}

static const char *method_name(enum schedule_method m)
{
	return m == SCHEDULE_ANNUITY	      ? "annuity"
	       : m == SCHEDULE_DIFFERENTIATED ? "differentiated"
					      : "single";
}

static void hex_of(const unsigned char *h, char out[CONTRACT_HEX_LEN])
{
	sodium_bin2hex(out, CONTRACT_HEX_LEN, h, CONTRACT_HASH_BYTES);
}

/* Today as a day number (schedule.h), from the clock. */
static int32_t today(void)
{
	char d[CLOCK_RFC3339_LEN];
	clock_format_rfc3339(clock_now_us(), d);
	int y = (d[0] - '0') * 1000 + (d[1] - '0') * 100 + (d[2] - '0') * 10 +
		(d[3] - '0');
	int m = (d[5] - '0') * 10 + (d[6] - '0');
	int dd = (d[8] - '0') * 10 + (d[9] - '0');
	return schedule_day(y, m, dd);
}

/* One record of an act on application `id`; categories "" unless data was
 * read. */
static enum senim_result audit(struct store_tx *tx, const struct keyring *kr,
			       const char *actor, const char *request_id,
			       const char *subject_id, const char *operation,
			       const char *object, const char *categories,
			       const char *purpose, const char *outcome)
{
	struct audit_record rec = { .actor = actor,
				    .operation = operation,
				    .object = object,
				    .subject_id = subject_id,
				    .categories = categories,
				    .purpose = purpose,
				    .outcome = outcome,
				    .request_id = request_id };
	return audit_append(tx, kr, &rec);
}

/* Keyed hash of a signing code: bound to the application and to the exact
 * document it signs, so a code opens nothing else. */
static void code_hash(const struct keyring *kr, const char *app_id, const char *sha_hex,
		      const char *code, unsigned char out[CODE_HASH_BYTES])
{
	char msg[160];
	int n = snprintf(msg, sizeof(msg), "contract-sign:%s:%s:%s", app_id, sha_hex,
			 code);
	keyring_blind_index(kr, msg, (size_t)n, out);
	sodium_memzero(msg, sizeof(msg));
}

/* ---- accepting -------------------------------------------------------------------- */

/* The application's offer, without a record (the act records itself). */
static enum senim_result offer_load(struct store_tx *tx, const char *id,
				    struct decision_offer *o, int *found)
{
	struct store_rows *r = NULL;
	*found = 0;
	enum senim_result err = store_query_one(
		tx,
		"SELECT amount_tiyn, term_days, payments, rate_bp, fee_tiyn, start_day,"
		" COALESCE(gesv_single_bp, -1) FROM offers WHERE application_id = $1",
		(struct store_val[]){ SV_TEXT(id) }, 1, &r);
	if (err == SENIM_ERR_NOT_FOUND)
		return SENIM_OK;
	if (err)
		return err;
	memset(o, 0, sizeof(*o));
	o->amount_tiyn = store_rows_int(r, 0);
	o->term_days = store_rows_int(r, 1);
	o->payments = store_rows_int(r, 2);
	o->rate_bp = store_rows_int(r, 3);
	o->fee_tiyn = store_rows_int(r, 4);
	o->start = (int32_t)store_rows_int(r, 5);
	o->single = store_rows_int(r, 6) >= 0;
	store_rows_free(r);
	*found = 1;
	return SENIM_OK;
}

/* The ГЭСВ of the rows: the amount less the fee out on `start`, each
 * payment in on its due day (as decisions.c computes an offer's); -1 when
 * it cannot be solved. */
static int64_t gesv_of_rows(const struct decision_offer *o,
			    const struct schedule_row *rows, size_t n)
{
	static _Thread_local struct gesv_flow flows[SCHEDULE_MAX_PAYMENTS + 1];
	flows[0] = (struct gesv_flow){ .day = o->start,
				       .amount = -(o->amount_tiyn - o->fee_tiyn) };
	size_t k = 1;
	for (size_t i = 0; i < n; i++)
		if (rows[i].total > 0)
			flows[k++] = (struct gesv_flow){ .day = rows[i].due,
							 .amount = rows[i].total };
	struct gesv_result g;
	if (gesv_solve(flows, k, &g) != SENIM_OK)
		return -1;
	return g.bp;
}

/* A text field of the decrypted fields, "" when absent. */
static const char *field_of(json_t *fields, const char *name)
{
	const char *s = json_string_value(json_object_get(fields, name));
	return s ? s : "";
}

/* The borrower's name, IIN and address into t (decrypted, wiped by
 * contract_terms_free). */
static enum senim_result borrower_terms(struct store_tx *tx, const struct keyring *kr,
					const char *subject_id, struct contract_terms *t)
{
	json_t *id = NULL, *contact = NULL;
	struct vault_dek *dek = NULL;
	char name[3 * 101 + 3];
	enum senim_result err = vault_dek_load(tx, kr, subject_id, &dek);
	if (err)
		goto fail;
	err = subjects_latest_fields_in(tx, dek, subject_id, CATEGORY_IDENTITY, &id);
	if (err)
		goto fail;
	err = subjects_latest_fields_in(tx, dek, subject_id, CATEGORY_CONTACT, &contact);
	if (err)
		goto fail;
	const char *parts[] = { field_of(id, "surname"), field_of(id, "given_name"),
				field_of(id, "patronymic") };
	size_t len = 0;
	name[0] = '\0';
	for (size_t i = 0; i < 3; i++) {
		if (!*parts[i])
			continue;
		int n = snprintf(name + len, sizeof(name) - len, "%s%s", len ? " " : "",
				 parts[i]);
		if (n < 0 || (size_t)n >= sizeof(name) - len) {
			err = SENIM_ERR_TOO_LARGE;
			goto fail;
		}
		len += (size_t)n;
	}
	const char *address = field_of(contact, "registered_address");
	if (!*address)
		address = field_of(contact, "actual_address");
	/* The template prints every field; an address not given says so. */
	if (!*address)
		address = "—";
	err = contract_set_text(t->borrower_name, name);
	if (!err)
		err = contract_set_text(t->borrower_iin, field_of(id, "iin"));
	if (!err)
		err = contract_set_text(t->borrower_address, address);
fail:
	sodium_memzero(name, sizeof(name));
	json_decref(id);
	json_decref(contact);
	vault_dek_free(dek);
	return err;
}

/* The contract's number: the one it has, or the next of the sequence
 * (M0025), in the same transaction as the contract's row. */
static enum senim_result number_of(struct store_tx *tx, const char *id, int32_t day,
				   char out[CONTRACT_NUMBER_MAX])
{
	struct store_rows *r = NULL;
	enum senim_result err = store_query_one(
		tx, "SELECT number FROM contracts WHERE application_id = $1",
		(struct store_val[]){ SV_TEXT(id) }, 1, &r);
	if (!err) {
		size_t n = 0;
		const char *s = store_rows_text(r, 0, &n);
		snprintf(out, CONTRACT_NUMBER_MAX, "%.*s", (int)n, s ? s : "");
		store_rows_free(r);
		return SENIM_OK;
	}
	if (err != SENIM_ERR_NOT_FOUND)
		return err;
	err = store_query_one(tx,
			      "UPDATE contract_sequence SET last = last + 1 WHERE id = 1"
			      " RETURNING last",
			      NULL, 0, &r);
	if (err)
		return err == SENIM_ERR_NOT_FOUND ? SENIM_ERR_STORE : err;
	int64_t next = store_rows_int(r, 0);
	store_rows_free(r);
	int y, m, d;
	schedule_ymd(day, &y, &m, &d);
	snprintf(out, CONTRACT_NUMBER_MAX, "МК-%04d-%06lld", y, (long long)next);
	return SENIM_OK;
}

/* The loan's terms as the contract prints them. */
static enum senim_result fill_terms(struct contract_accept *op,
				    const struct application *a,
				    const struct decision_offer *o, int32_t day,
				    struct contract_terms *t)
{
	enum senim_result err = contract_set_text(t->number, op->number);
	if (!err)
		err = contract_set_text(t->lender_name, op->env->lender_name);
	if (!err)
		err = contract_set_text(t->lender_details, op->env->lender_details);
	if (err)
		return err;
	char masked[40];
	if (strcmp(a->payout_kind, "account") == 0)
		snprintf(masked, sizeof(masked), "KZ** **** **** **** %s",
			 a->payout_last4);
	else
		snprintf(masked, sizeof(masked), "**** **** **** %s", a->payout_last4);
	err = contract_set_text(t->payout_masked, masked);
	if (err)
		return err;
	t->date = day;
	t->amount = o->amount_tiyn;
	t->rate_bp = (int32_t)o->rate_bp;
	t->fee = o->fee_tiyn;
	t->penalty_daily_bp = op->rules->penalty_daily_bp;
	t->penalty_annual_bp = op->rules->penalty_annual_bp;
	t->cooloff_minutes = op->rules->cooloff_hold_minutes;
	t->restructuring_days = op->rules->restructuring_days;
	t->method = op->method;
	t->term = op->method == SCHEDULE_SINGLE ? (int32_t)o->term_days
						: (int32_t)o->payments;
	return SENIM_OK;
}

/* Render both documents, seal them, and store the contract with the code's
 * hash (replacing an unsigned one). */
static enum senim_result store_contract(struct store_tx *tx, struct contract_accept *op,
					const struct contract_terms *t, int32_t day)
{
	struct buf html, pdf, html_sealed, pdf_sealed;
	buf_init(&html, CONTRACT_DOC_MAX);
	buf_init(&pdf, CONTRACT_DOC_MAX);
	buf_init(&html_sealed, CONTRACT_DOC_MAX + 4096);
	buf_init(&pdf_sealed, CONTRACT_DOC_MAX + 4096);
	unsigned char hh[CONTRACT_HASH_BYTES], hp[CONTRACT_HASH_BYTES];
	unsigned char code[CODE_HASH_BYTES];
	struct vault_dek *dek = NULL;
	enum senim_result err = contract_render_html(op->env->tpl, t, &html, hh);
	if (err)
		goto fail;
	err = contract_render_pdf(op->env->tpl, t, op->env->font, op->env->font_bold,
				  &pdf, hp);
	if (err)
		goto fail;
	err = vault_dek_load(tx, op->kr, op->subject_id, &dek);
	if (err)
		goto fail;
	/* Bound to the application: a document moved to another row opens for
	 * nothing; shredding the subject shreds both. */
	err = vault_seal_blob(dek, op->subject_id, SEAL_CATEGORY, "html", 0, html.data,
			      html.len, &html_sealed);
	if (!err)
		err = vault_seal_blob(dek, op->subject_id, SEAL_CATEGORY, "pdf", 0,
				      pdf.data, pdf.len, &pdf_sealed);
	if (err)
		goto fail;
	hex_of(hp, op->sha256_hex);
	borrower_otp_new_code(op->code);
	code_hash(op->kr, op->id, op->sha256_hex, op->code, code);
	int64_t now = clock_now_us();
	op->code_expires_at = now + CONTRACT_CODE_SECONDS * US_PER_S;
	err = store_exec(tx,
			 "DELETE FROM contracts WHERE application_id = $1"
			 " AND status = 'pending'",
			 (struct store_val[]){ SV_TEXT(op->id) }, 1, NULL);
	if (err)
		goto fail;
	err = store_exec(
		tx,
		"INSERT INTO contracts (application_id, subject_id, number, method,"
		" contract_day, html_sealed, pdf_sealed, html_sha256, pdf_sha256, status,"
		" code_hash, code_expires_at, code_attempts, created_at, request_id)"
		" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', $10, $11, 0,"
		" $12, $13)",
		(struct store_val[]){
			SV_TEXT(op->id), SV_TEXT(op->subject_id), SV_TEXT(op->number),
			SV_TEXT(method_name(op->method)), SV_INT(day),
			SV_BLOB(html_sealed.data, html_sealed.len),
			SV_BLOB(pdf_sealed.data, pdf_sealed.len), SV_BLOB(hh, sizeof(hh)),
			SV_BLOB(hp, sizeof(hp)), SV_BLOB(code, sizeof(code)),
			SV_INT(op->code_expires_at), SV_INT(now),
			SV_TEXT(op->request_id) },
		13, NULL);
	if (err)
		goto fail;
	err = store_exec(
		tx,
		"UPDATE applications SET state = 'offered', schedule_method = $1,"
		" updated_at = $2 WHERE id = $3",
		(struct store_val[]){ SV_TEXT(method_name(op->method)), SV_INT(now),
				      SV_TEXT(op->id) },
		3, NULL);
fail:
	sodium_memzero(code, sizeof(code));
	vault_dek_free(dek);
	buf_release_wiped(&html);
	buf_release_wiped(&pdf);
	buf_release(&html_sealed);
	buf_release(&pdf_sealed);
	return err;
}

/* U2 as the lender's own processing for the borrower: no staff role is
 * asked; the subject's block, restriction and consents decide. */
static enum access_result decide_system(const struct access_matrix *m, enum purpose p,
					const struct subject_state *state)
{
	struct access_matrix own = *m;
	own.purposes_of[ROLE_ADMIN] = PURPOSE_BIT(p);
	uint32_t categories = 0;
	enum access_result why = access_decide(&own, ROLE_ADMIN, p, state, &categories);
	if (why == ACCESS_GRANTED &&
	    (categories &
	     (CATEGORY_BIT(CATEGORY_IDENTITY) | CATEGORY_BIT(CATEGORY_CONTACT))) !=
		    (CATEGORY_BIT(CATEGORY_IDENTITY) | CATEGORY_BIT(CATEGORY_CONTACT)))
		why = ACCESS_CATEGORY_WITHHELD;
	return why;
}

enum senim_result contracts_accept_tx(struct store_tx *tx, void *arg)
{
	struct contract_accept *op = arg;
	const char *name = "contract.accept";
	const char *purpose = purpose_code(PURPOSE_LOAN_SERVICING);
	struct application a;
	struct decision_offer o;
	struct contract_terms *t = NULL;
	char object[APPLICATION_ID_LEN + 16];
	int found = 0;
	op->refusal = CONTRACT_REFUSED_NONE;
	op->refused = (struct access_refusal){ .why = ACCESS_GRANTED };
	sodium_memzero(op->code, sizeof(op->code));
	enum senim_result err = applications_load_in(tx, op->subject_id, op->id, &a);
	if (err)
		return err;
	snprintf(object, sizeof(object), "application:%s", op->id);
#define REFUSE(why)                                                                      \
	do {                                                                             \
		op->refusal = (why);                                                     \
		err = audit(tx, op->kr, op->actor, op->request_id, op->subject_id, name, \
			    object, "", purpose, "denied");                              \
		goto fail;                                                               \
	} while (0)
	if (strcmp(a.state, "signed") == 0 || strcmp(a.state, "disbursed") == 0)
		REFUSE(CONTRACT_REFUSED_SIGNED);
	if (strcmp(a.state, "approved") != 0 && strcmp(a.state, "offered") != 0) {
		snprintf(op->state, sizeof(op->state), "%s", a.state);
		REFUSE(CONTRACT_REFUSED_NOT_APPROVED);
	}
	err = offer_load(tx, op->id, &o, &found);
	if (err)
		goto fail;
	if (!found) {
		snprintf(op->state, sizeof(op->state), "%s", a.state);
		REFUSE(CONTRACT_REFUSED_NOT_APPROVED);
	}
	if (o.single != (op->method == SCHEDULE_SINGLE))
		REFUSE(CONTRACT_REFUSED_METHOD);
	/* The schedule the borrower signs starts today; the law in force today
	 * must hold for it, its ГЭСВ and the contract's penalties. */
	int32_t day = today();
	o.start = day;
	t = contract_terms_new();
	if (!t) {
		err = SENIM_ERR_NOMEM;
		goto fail;
	}
	err = decisions_offer_schedule(&o, op->method, t->rows, SCHEDULE_MAX_PAYMENTS,
				       &t->n_rows);
	if (err)
		goto fail;
	op->gesv_bp = gesv_of_rows(&o, t->rows, t->n_rows);
	t->gesv_bp = op->gesv_bp;
	struct loan_offer lo = { .amount_tiyn = o.amount_tiyn,
				 .term_days = o.term_days,
				 .annual_rate_bp = o.rate_bp,
				 .effective_rate_bp = op->gesv_bp,
				 .penalty_daily_bp = op->rules->penalty_daily_bp,
				 .penalty_annual_bp = op->rules->penalty_annual_bp };
	if (op->gesv_bp < 0 ||
	    loan_rules_check_offer(op->rules, &lo, &op->rule) != LOAN_BREACH_NONE)
		REFUSE(CONTRACT_REFUSED_LOAN_RULE);
	struct subject_state state;
	err = subjects_state_in(tx, op->subject_id, &state);
	if (err)
		goto fail;
	enum access_result why =
		decide_system(op->matrix, PURPOSE_LOAN_SERVICING, &state);
	if (why != ACCESS_GRANTED) {
		access_refusal_set(&op->refused, why, PURPOSE_LOAN_SERVICING, &state);
		REFUSE(CONTRACT_REFUSED_ACCESS);
	}
	err = subjects_phone_tx(tx, op->kr, op->subject_id, op->phone);
	if (err)
		goto fail;
	if (!op->phone[0])
		REFUSE(CONTRACT_REFUSED_NO_PHONE);
#undef REFUSE
	err = number_of(tx, op->id, day, op->number);
	if (!err)
		err = borrower_terms(tx, op->kr, op->subject_id, t);
	if (!err)
		err = fill_terms(op, &a, &o, day, t);
	if (!err)
		err = store_contract(tx, op, t, day);
	if (!err)
		err = audit(tx, op->kr, op->actor, op->request_id, op->subject_id, name,
			    object, "identity,contact", purpose, "success");
fail:
	contract_terms_free(t);
	if (err || op->refusal) {
		sodium_memzero(op->code, sizeof(op->code));
		sodium_memzero(op->phone, sizeof(op->phone));
	}
	return err;
}

enum senim_result contracts_accept_sms_tx(struct store_tx *tx, void *arg)
{
	struct contract_accept *op = arg;
	return borrower_sms_register_tx(tx, op->kr, &op->sms, op->subject_id, op->actor,
					op->request_id);
}

void contract_accept_dispose(void *arg)
{
	struct contract_accept *op = arg;
	sodium_memzero(op->code, sizeof(op->code));
	sodium_memzero(op->phone, sizeof(op->phone));
}

/* ---- signing ---------------------------------------------------------------------- */

/* The contract of application `id` as the signature and the reads need it. */
struct row {
	int found;
	char status[12], number[CONTRACT_NUMBER_MAX], method[16];
	unsigned char pdf_sha[CONTRACT_HASH_BYTES], code_hash[CODE_HASH_BYTES];
	int has_code;
	int64_t expires_at, attempts, signed_at, hold_minutes;
};

static void copy_text(struct store_rows *r, int col, char *out, size_t cap)
{
	size_t n = 0;
	const char *s = store_rows_text(r, col, &n);
	snprintf(out, cap, "%.*s", (int)(s ? n : 0), s ? s : "");
}

static enum senim_result row_load(struct store_tx *tx, const char *id, struct row *c)
{
	struct store_rows *r = NULL;
	memset(c, 0, sizeof(*c));
	enum senim_result err = store_query_one(
		tx,
		"SELECT status, number, method, pdf_sha256, code_hash,"
		" COALESCE(code_expires_at, 0), code_attempts, COALESCE(signed_at, 0),"
		" COALESCE(hold_minutes, 0) FROM contracts WHERE application_id = $1",
		(struct store_val[]){ SV_TEXT(id) }, 1, &r);
	if (err == SENIM_ERR_NOT_FOUND)
		return SENIM_OK;
	if (err)
		return err;
	c->found = 1;
	copy_text(r, 0, c->status, sizeof(c->status));
	copy_text(r, 1, c->number, sizeof(c->number));
	copy_text(r, 2, c->method, sizeof(c->method));
	size_t n = 0;
	const void *b = store_rows_blob(r, 3, &n);
	if (b && n == CONTRACT_HASH_BYTES)
		memcpy(c->pdf_sha, b, n);
	b = store_rows_is_null(r, 4) ? NULL : store_rows_blob(r, 4, &n);
	if (b && n == CODE_HASH_BYTES) {
		memcpy(c->code_hash, b, n);
		c->has_code = 1;
	}
	c->expires_at = store_rows_int(r, 5);
	c->attempts = store_rows_int(r, 6);
	c->signed_at = store_rows_int(r, 7);
	c->hold_minutes = store_rows_int(r, 8);
	store_rows_free(r);
	return SENIM_OK;
}

static void receipt_of(const struct row *c, struct contract_receipt *out)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->number, c->number, sizeof(out->number));
	memcpy(out->method, c->method, sizeof(out->method));
	hex_of(c->pdf_sha, out->sha256_hex);
	out->signed_at = c->signed_at;
	out->hold_minutes = c->hold_minutes;
	out->payout_due_at = c->signed_at + c->hold_minutes * 60 * US_PER_S;
}

/* The amount the cooling-off threshold is held against: this contract's
 * offer (the application's ask when it has none) plus every other contract
 * of the borrower signed the same Kazakhstan day, as the regulator adds up
 * several online microcredits of one day (a contract withdrawn before its
 * payout is no loan taken).  The asked amount is never below
 * the offer's, so falling back to it errs toward holding. */
static enum senim_result amount_for_hold(struct store_tx *tx, const char *subject_id,
					 const char *app_id, int64_t asked, int64_t now,
					 int64_t *out)
{
	struct decision_offer o;
	int found = 0;
	enum senim_result err = offer_load(tx, app_id, &o, &found);
	if (err)
		return err;
	int32_t day = clock_kz_day(now);
	struct store_rows *r = NULL;
	err = store_query_one(
		tx,
		"SELECT COALESCE(SUM(o.amount_tiyn), 0) FROM contracts c"
		" JOIN offers o ON o.application_id = c.application_id"
		" JOIN applications a ON a.id = c.application_id"
		" WHERE c.subject_id = $1 AND c.status = 'signed'"
		" AND a.state IN ('signed', 'disbursed')"
		" AND c.application_id <> $2 AND c.signed_at >= $3 AND c.signed_at < $4",
		(struct store_val[]){ SV_TEXT(subject_id), SV_TEXT(app_id),
				      SV_INT(clock_kz_day_start_us(day)),
				      SV_INT(clock_kz_day_start_us(day + 1)) },
		4, &r);
	if (err)
		return err;
	*out = (found ? o.amount_tiyn : asked) + store_rows_int(r, 0);
	store_rows_free(r);
	return SENIM_OK;
}

enum senim_result contracts_sign_tx(struct store_tx *tx, void *arg)
{
	struct contract_sign *op = arg;
	const char *name = "contract.sign";
	const char *purpose = purpose_code(PURPOSE_LOAN_SERVICING);
	struct application a;
	struct row c;
	char object[APPLICATION_ID_LEN + 16 + CONTRACT_HEX_LEN + 8];
	op->refusal = CONTRACT_REFUSED_NONE;
	op->attempts_left = 0;
	enum senim_result err = applications_load_in(tx, op->subject_id, op->id, &a);
	if (err)
		return err;
	err = row_load(tx, op->id, &c);
	if (err)
		return err;
	snprintf(object, sizeof(object), "application:%s", op->id);
	const char *outcome = "denied";
	if (!c.found)
		op->refusal = CONTRACT_REFUSED_NOT_ACCEPTED;
	else if (strcmp(c.status, "signed") == 0)
		op->refusal = CONTRACT_REFUSED_SIGNED;
	else if (!c.has_code || c.attempts >= CONTRACT_SIGN_ATTEMPTS)
		op->refusal = CONTRACT_REFUSED_CODE_LOCKED;
	else if (c.expires_at <= clock_now_us())
		op->refusal = CONTRACT_REFUSED_CODE_EXPIRED;
	if (op->refusal) {
		sodium_memzero(&c, sizeof(c));
		return audit(tx, op->kr, op->actor, op->request_id, op->subject_id, name,
			     object, "", purpose, outcome);
	}
	char hex[CONTRACT_HEX_LEN];
	unsigned char h[CODE_HASH_BYTES];
	hex_of(c.pdf_sha, hex);
	code_hash(op->kr, op->id, hex, op->code, h);
	int ok = sodium_memcmp(h, c.code_hash, sizeof(h)) == 0;
	sodium_memzero(h, sizeof(h));
	sodium_memzero(c.code_hash, sizeof(c.code_hash));
	if (!ok) {
		/* A wrong code costs one of the code's few tries. */
		err = store_exec(tx,
				 "UPDATE contracts SET code_attempts = code_attempts + 1"
				 " WHERE application_id = $1",
				 (struct store_val[]){ SV_TEXT(op->id) }, 1, NULL);
		if (err)
			return err;
		op->refusal = CONTRACT_REFUSED_CODE_INVALID;
		op->attempts_left = CONTRACT_SIGN_ATTEMPTS - c.attempts - 1;
		return audit(tx, op->kr, op->actor, op->request_id, op->subject_id, name,
			     object, "", purpose, "failed");
	}
	int64_t now = clock_now_us();
	int64_t held_amount = 0;
	err = amount_for_hold(tx, op->subject_id, op->id, a.amount_tiyn, now,
			      &held_amount);
	if (err)
		return err;
	/* The cooling-off (rules in force at the signature): every contract is
	 * made online, so the hold applies whenever the amount is above the
	 * threshold. */
	c.hold_minutes = loan_rules_payout_hold_minutes(op->rules, held_amount);
	c.signed_at = now;
	int64_t due = now + c.hold_minutes * 60 * US_PER_S;
	err = store_exec(
		tx,
		"UPDATE contracts SET status = 'signed', signed_at = $1,"
		" signed_sha256 = pdf_sha256, code_hash = NULL, hold_minutes = $2"
		" WHERE application_id = $3 AND status = 'pending'",
		(struct store_val[]){ SV_INT(now), SV_INT(c.hold_minutes),
				      SV_TEXT(op->id) },
		3, NULL);
	if (err)
		return err;
	err = store_exec(
		tx,
		"UPDATE applications SET state = 'signed', payout_due_at = $1,"
		" updated_at = $2 WHERE id = $3 AND state = 'offered'",
		(struct store_val[]){ SV_INT(due), SV_INT(now), SV_TEXT(op->id) }, 3,
		NULL);
	if (err)
		return err;
	receipt_of(&c, &op->receipt);
	/* The record names the document signed by its hash, never its text. */
	snprintf(object, sizeof(object), "contract:%s:sha256:%s", op->id, hex);
	return audit(tx, op->kr, op->actor, op->request_id, op->subject_id, name, object,
		     "", purpose, "success");
}

void contract_sign_dispose(void *arg)
{
	struct contract_sign *op = arg;
	sodium_memzero(op->code, sizeof(op->code));
}

/* ---- reading ---------------------------------------------------------------------- */

static enum senim_result open_doc(struct store_tx *tx, struct contract_read *op,
				  const char *subject_id)
{
	struct store_rows *r = NULL;
	struct vault_dek *dek = NULL;
	const char *field = op->pdf ? "pdf" : "html";
	enum senim_result err = store_query_one(
		tx,
		op->pdf ? "SELECT pdf_sealed FROM contracts WHERE application_id = $1"
			: "SELECT html_sealed FROM contracts WHERE application_id = $1",
		(struct store_val[]){ SV_TEXT(op->id) }, 1, &r);
	if (err)
		return err;
	err = vault_dek_load(tx, op->kr, subject_id, &dek);
	if (err)
		goto fail;
	size_t n = 0;
	const void *sealed = store_rows_blob(r, 0, &n);
	err = vault_open_blob(dek, subject_id, SEAL_CATEGORY, field, 0, sealed, n,
			      &op->doc);
fail:
	vault_dek_free(dek);
	store_rows_free(r);
	return err;
}

enum senim_result contracts_read_tx(struct store_tx *tx, void *arg)
{
	struct contract_read *op = arg;
	struct application a;
	struct row c;
	char object[APPLICATION_ID_LEN + 16];
	op->refusal = CONTRACT_REFUSED_NONE;
	op->refused = (struct access_refusal){ .why = ACCESS_GRANTED };
	enum senim_result err =
		applications_load_in(tx, op->staff ? NULL : op->subject_id, op->id, &a);
	if (err)
		return err;
	snprintf(object, sizeof(object), "application:%s", op->id);
	const char *name = op->receipt_only ? "contract.receipt_read"
			   : op->staff	    ? "contract.read"
					    : "contract.self_read";
	/* R1: the borrower's own reads rest on the law; staff read under U2. */
	enum purpose p = op->staff ? PURPOSE_LOAN_SERVICING : PURPOSE_LEGAL_OBLIGATION;
	if (op->staff) {
		struct subject_state state;
		uint32_t categories = 0;
		err = subjects_state_in(tx, a.subject_id, &state);
		if (err)
			return err;
		enum access_result why =
			access_decide(op->matrix, op->role, p, &state, &categories);
		if (why == ACCESS_GRANTED &&
		    !(categories & CATEGORY_BIT(CATEGORY_IDENTITY)))
			why = ACCESS_CATEGORY_WITHHELD;
		if (why != ACCESS_GRANTED) {
			access_refusal_set(&op->refused, why, p, &state);
			op->refusal = CONTRACT_REFUSED_ACCESS;
			return audit(tx, op->kr, op->actor, op->request_id, a.subject_id,
				     name, object, "", purpose_code(p), "denied");
		}
	}
	err = row_load(tx, op->id, &c);
	if (err)
		return err;
	if (!c.found)
		op->refusal = CONTRACT_REFUSED_NOT_ACCEPTED;
	else if (op->receipt_only && strcmp(c.status, "signed") != 0)
		op->refusal = CONTRACT_REFUSED_NOT_SIGNED;
	if (op->refusal)
		return audit(tx, op->kr, op->actor, op->request_id, a.subject_id, name,
			     object, "", purpose_code(p), "not_found");
	memcpy(op->status, c.status, sizeof(op->status));
	receipt_of(&c, &op->receipt);
	if (!op->receipt_only) {
		err = open_doc(tx, op, a.subject_id);
		if (err)
			return err;
	}
	return audit(tx, op->kr, op->actor, op->request_id, a.subject_id, name, object,
		     op->receipt_only ? "" : "identity,contact", purpose_code(p),
		     "success");
}

void contract_read_dispose(void *arg)
{
	struct contract_read *op = arg;
	buf_release_wiped(&op->doc);
}
