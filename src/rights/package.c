/*
 * package.c — the access package: gather, redact, render, sign, verify
 * (package.h).
 *
 * Gathering is table-driven: each section is one SELECT over one table by
 * subject_id (each has an index that leads with it), its columns named and
 * typed in a `struct column` list, so a section is one query whatever the
 * number of rows.  Sealed values (the categories' records) are opened with
 * the subject's data key, loaded once.
 */
#include "rights/package.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "audit/audit.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/ids.h"
#include "consent/obligations.h"
#include "consent/receipt.h"
#include "core/purposes.h"
#include "core/schedule.h"
#include "lending/cards.h"
#include "lending/loans.h"
#include "vault/vault.h"
#include "common/banned.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
/* Far beyond a borrower with years of history; a cap, not a size. */
#define HTML_MAX ((size_t)48 * 1024 * 1024)
#define CONTROLLER_NAME "ТОО «Микрофинансовая организация «Бизнес займ»"
#define CONTROLLER_BIN "240640009707"
#define LEGAL_BASIS                                                                     \
	"Law of the Republic of Kazakhstan No. 94-V of 21 May 2013 \"On personal data " \
	"and their protection\": the subject's right of access"

/* ---- sections: one query each ------------------------------------------------ */

enum col_type {
	C_INT,	      /* integer */
	C_TEXT,	      /* text, NULL as null */
	C_TIME,	      /* microseconds since the epoch, as RFC 3339; NULL as null */
	C_BOOL,	      /* 0/1 */
	C_JSON,	      /* text holding JSON (a signed receipt), parsed; NULL as null */
	C_ROWS,	      /* a loan's encoded schedule (lending/loans.h) */
	C_CODES,      /* comma-separated codes, as an array */
	C_DIGEST,     /* a contract's blind index: not shown, read by the next column */
	C_OBLIGATION, /* an obligation's sealed details, bound to the digest before */
	C_CARD,	      /* a card's sealed masked number and expiry, bound to the
		       * card id in column 0: two members, masked_number and
		       * expiry (null until bound) */
};

/* What a sealed column needs to open. */
struct opener {
	const struct keyring *kr;
	const struct vault_dek *dek;
	const char *subject_id;
};

struct column {
	const char *name;
	enum col_type type;
};

struct section {
	const char *key;
	const char *sql; /* $1 is the subject id */
	const struct column *cols;
	size_t ncols;
	const char *ru, *kk; /* the HTML's headings */
};

static const struct column consent_cols[] = {
	{ "consent_id", C_TEXT },
	{ "kind", C_TEXT },
	{ "policy_version", C_TEXT },
	{ "language", C_TEXT },
	{ "channel", C_TEXT },
	{ "granted_at", C_TIME },
	{ "withdrawn_at", C_TIME },
	{ "receipt", C_JSON },
	{ "withdrawal_receipt", C_JSON },
};
static const struct column source_cols[] = {
	{ "source_id", C_TEXT },
	{ "recipient", C_TEXT },
	{ "service", C_TEXT },
	{ "received_at", C_TIME },
};
static const struct column application_cols[] = {
	{ "application_id", C_TEXT }, { "product_code", C_TEXT },
	{ "product_version", C_INT }, { "amount_tiyn", C_INT },
	{ "term_days", C_INT },	      { "schedule_method", C_TEXT },
	{ "payout_kind", C_TEXT },    { "payout_last4", C_TEXT },
	{ "state", C_TEXT },	      { "decline_reason", C_TEXT },
	{ "created_at", C_TIME },     { "updated_at", C_TIME },
};
static const struct column decision_cols[] = {
	{ "decision_id", C_TEXT },
	{ "application_id", C_TEXT },
	{ "kind", C_TEXT },
	{ "outcome", C_TEXT },
	{ "status", C_TEXT },
	{ "scorecard_id", C_TEXT },
	{ "scorecard_version", C_INT },
	{ "points", C_INT },
	{ "reasons", C_CODES },
	{ "amount_limit_tiyn", C_INT },
	{ "term_limit_days", C_INT },
	{ "created_at", C_TIME },
};
static const struct column offer_cols[] = {
	{ "application_id", C_TEXT },
	{ "decision_id", C_TEXT },
	{ "amount_tiyn", C_INT },
	{ "term_days", C_INT },
	{ "payments", C_INT },
	{ "rate_bp", C_INT },
	{ "fee_tiyn", C_INT },
	{ "gesv_annuity_bp", C_INT },
	{ "gesv_differentiated_bp", C_INT },
	{ "gesv_single_bp", C_INT },
	{ "method", C_TEXT },
	{ "created_at", C_TIME },
};
static const struct column loan_cols[] = {
	{ "loan_id", C_TEXT },
	{ "application_id", C_TEXT },
	{ "principal_tiyn", C_INT },
	{ "rate_bp", C_INT },
	{ "method", C_TEXT },
	{ "payments", C_INT },
	{ "term_days", C_INT },
	{ "start_day", C_INT },
	{ "status", C_TEXT },
	{ "day", C_INT },
	{ "overdue_days", C_INT },
	{ "principal_left_tiyn", C_INT },
	{ "interest_carried_tiyn", C_INT },
	{ "created_at", C_TIME },
	{ "updated_at", C_TIME },
	{ "schedule", C_ROWS },
};
static const struct column payment_cols[] = {
	{ "payment_id", C_TEXT },	{ "loan_id", C_TEXT },
	{ "amount_tiyn", C_INT },	{ "paid_day", C_INT },
	{ "applied_day", C_INT },	{ "kind", C_TEXT },
	{ "channel", C_TEXT },		{ "principal_overdue", C_INT },
	{ "interest_overdue", C_INT },	{ "penalty", C_INT },
	{ "principal_current", C_INT }, { "interest_current", C_INT },
	{ "interest_to_date", C_INT },	{ "principal_early", C_INT },
	{ "overpayment", C_INT },	{ "principal_after", C_INT },
	{ "status_after", C_TEXT },	{ "received_at", C_TIME },
};
static const struct column obligation_cols[] = {
	{ "status", C_TEXT },
	{ "origin", C_TEXT },
	{ "recorded_at", C_TIME },
	{ "closed_at", C_TIME },
	{ "contract_digest", C_DIGEST },
	{ "details", C_OBLIGATION },
};
/* A bound card: never its token (lending/cards.h). */
static const struct column card_cols[] = {
	{ "card_id", C_TEXT },	  { "state", C_TEXT },	    { "reason", C_TEXT },
	{ "card", C_CARD },	  { "created_at", C_TIME }, { "bound_at", C_TIME },
	{ "updated_at", C_TIME }, { "provider", C_TEXT },
};
static const struct column bureau_event_cols[] = {
	{ "event_id", C_TEXT },
	{ "event", C_TEXT },
	{ "occurred_on", C_TEXT },
	{ "imported_at", C_TIME },
};
static const struct column disclosure_cols[] = {
	{ "disclosure_id", C_TEXT }, { "at", C_TIME },	      { "direction", C_TEXT },
	{ "recipient", C_TEXT },     { "service", C_TEXT },   { "categories", C_CODES },
	{ "fields", C_CODES },	     { "purpose", C_TEXT },   { "basis", C_TEXT },
	{ "consent_id", C_TEXT },    { "legal_ref", C_TEXT }, { "cross_border", C_BOOL },
	{ "country", C_TEXT },	     { "outcome", C_TEXT },   { "reason", C_TEXT },
};
static const struct column finding_cols[] = {
	{ "finding_id", C_TEXT }, { "category", C_TEXT },   { "field", C_TEXT },
	{ "kind", C_TEXT },	  { "created_at", C_TIME }, { "resolved_at", C_TIME },
	{ "resolution", C_TEXT },
};
static const struct column audit_cols[] = {
	{ "seq", C_INT },	 { "at", C_TIME },	{ "actor", C_TEXT },
	{ "operation", C_TEXT }, { "object", C_TEXT },	{ "categories", C_CODES },
	{ "purpose", C_TEXT },	 { "outcome", C_TEXT },
};

#define SECTION(k, s, c, r, kz)          \
	{                                \
		k, s, c, COUNT(c), r, kz \
	}

/* In the order the HTML shows them; "categories" and "redactions" are built
 * apart (sealed records). */
static const struct section sections[] = {
	SECTION("sources",
		"SELECT id, recipient, service, received_at FROM subject_sources"
		" WHERE subject_id = $1 ORDER BY received_at, id",
		source_cols, "Сведения, полученные от третьих лиц",
		"Үшінші тұлғалардан алынған мәліметтер"),
	SECTION("consents",
		"SELECT id, kind, policy_version, language, channel, granted_at,"
		" withdrawn_at, receipt, withdrawal_receipt FROM consents"
		" WHERE subject_id = $1 ORDER BY granted_at, id",
		consent_cols, "Согласия и их квитанции",
		"Келісімдер және олардың түбіртектері"),
	SECTION("applications",
		"SELECT id, product_code, product_version, amount_tiyn, term_days,"
		" schedule_method, payout_kind, payout_last4, state, decline_reason,"
		" created_at, updated_at FROM applications"
		" WHERE subject_id = $1 ORDER BY created_at, id",
		application_cols, "Заявки на заём", "Қарызға өтінімдер"),
	/* The provider is the recipient the binding was started at: the
	 * register's `out` entry of the card's request (lending/cards.c). */
	SECTION("cards",
		"SELECT c.id, c.state, c.reason, c.details_sealed, c.created_at,"
		" CASE WHEN c.state = 'bound' THEN c.updated_at END, c.updated_at,"
		" (SELECT d.recipient FROM disclosures d WHERE d.subject_id ="
		" c.subject_id AND d.request_id = c.request_id AND d.direction ="
		" 'out' ORDER BY d.at, d.id LIMIT 1)"
		" FROM cards c WHERE c.subject_id = $1 ORDER BY c.created_at, c.id",
		card_cols, "Банковские карты для выплаты займа",
		"Қарызды төлеуге арналған банк карталары"),
	SECTION("decisions",
		"SELECT id, application_id, kind, outcome, status, scorecard_id,"
		" scorecard_version, points, reasons, amount_limit_tiyn,"
		" term_limit_days, created_at FROM decisions"
		" WHERE subject_id = $1 ORDER BY created_at, id",
		decision_cols, "Решения по заявкам", "Өтінімдер бойынша шешімдер"),
	SECTION("offers",
		"SELECT application_id, decision_id, amount_tiyn, term_days, payments,"
		" rate_bp, fee_tiyn, gesv_annuity_bp, gesv_differentiated_bp,"
		" gesv_single_bp, method, created_at FROM offers"
		" WHERE subject_id = $1 ORDER BY created_at, application_id",
		offer_cols, "Предложения", "Ұсыныстар"),
	SECTION("loans",
		"SELECT id, application_id, principal, rate_bp, method, payments,"
		" term_days, start_day, status, day, overdue_days, principal_left,"
		" carried_interest, created_at, updated_at, schedule FROM loans"
		" WHERE subject_id = $1 ORDER BY created_at, id",
		loan_cols, "Займы и графики платежей", "Қарыздар және төлем кестелері"),
	SECTION("loan_payments",
		"SELECT p.id, p.loan_id, p.amount, p.paid_day, p.applied_day, p.kind,"
		" p.channel, p.principal_overdue, p.interest_overdue, p.penalty,"
		" p.principal_current, p.interest_current, p.interest_to_date,"
		" p.principal_early, p.overpayment, p.principal_after, p.status_after,"
		" p.received_at FROM loan_payments p JOIN loans l ON l.id = p.loan_id"
		" WHERE l.subject_id = $1 ORDER BY p.loan_id, p.received_at, p.id",
		payment_cols, "Платежи по займам", "Қарыздар бойынша төлемдер"),
	SECTION("obligations",
		"SELECT status, origin, recorded_at, closed_at, contract_digest, details"
		" FROM obligations WHERE subject_id = $1 ORDER BY recorded_at",
		obligation_cols, "Перенесённые обязательства",
		"Көшірілген міндеттемелер"),
	SECTION("bureau_events",
		"SELECT id, event, occurred_on, imported_at FROM loan_events"
		" WHERE subject_id = $1 ORDER BY seq",
		bureau_event_cols, "События для кредитного бюро",
		"Кредиттік бюроға арналған оқиғалар"),
	SECTION("disclosures",
		"SELECT id, at, direction, recipient, service, categories, fields,"
		" purpose, basis, consent_id, legal_ref, cross_border, country, outcome,"
		" reason FROM disclosures WHERE subject_id = $1 ORDER BY at, id",
		disclosure_cols, "Кому и когда передавались данные",
		"Деректер кімге және қашан берілді"),
	SECTION("findings",
		"SELECT id, category, field, kind, created_at, resolved_at, resolution"
		" FROM subject_findings WHERE subject_id = $1 ORDER BY created_at, id",
		finding_cols, "Расхождения в данных", "Деректердегі сәйкессіздіктер"),
	/* R5: the limit's own records never reach the subject (package.h). */
	SECTION("audit",
		"SELECT seq, at, actor, operation, object, categories, purpose, outcome"
		" FROM audit_log WHERE subject_id = $1"
		" AND operation NOT LIKE 'subject.access_limit.%' ORDER BY seq",
		audit_cols, "Журнал обращений к вашим данным",
		"Деректеріңізге жүгіну журналы"),
};

static json_t *time_value(int64_t us)
{
	char when[CLOCK_RFC3339_LEN];
	clock_format_rfc3339(us, when);
	return json_string(when);
}

static json_t *codes_value(const char *s)
{
	json_t *a = json_array();
	const char *p = s;
	while (a && p && *p) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		if (n && json_array_append_new(a, json_stringn(p, n))) {
			json_decref(a);
			return NULL;
		}
		p = comma ? comma + 1 : NULL;
	}
	return a;
}

/* A loan's schedule rows as [{"due_day", "principal", "interest", "total",
 * "balance"}]. */
static json_t *rows_value(const void *p, size_t len)
{
	struct schedule_row rows[LOAN_ROWS_MAX];
	size_t n = 0;
	if (loan_rows_decode(p, len, rows, COUNT(rows), &n))
		return json_null(); /* kept as stored; not a reason to fail R1 */
	json_t *a = json_array();
	for (size_t i = 0; a && i < n; i++)
		if (json_array_append_new(
			    a, json_pack("{s:i,s:I,s:I,s:I,s:I}", "due_day",
					 (int)rows[i].due, "principal",
					 (json_int_t)rows[i].principal, "interest",
					 (json_int_t)rows[i].interest, "total",
					 (json_int_t)rows[i].total, "balance",
					 (json_int_t)rows[i].balance))) {
			json_decref(a);
			return NULL;
		}
	return a;
}

/* The value of column i, of type t; NULL when out of memory (or, for a
 * sealed column, when it does not open: *err says which). */
static json_t *cell(struct store_rows *r, int i, enum col_type t, const struct opener *o,
		    enum senim_result *err)
{
	if (t == C_CARD && store_rows_is_null(r, i))
		return json_pack("{s:n,s:n}", "masked_number", "expiry");
	if (t != C_ROWS && t != C_OBLIGATION && t != C_DIGEST && store_rows_is_null(r, i))
		return t == C_CODES ? json_array() : json_null();
	switch (t) {
	case C_INT:
		return json_integer((json_int_t)store_rows_int(r, i));
	case C_BOOL:
		return json_boolean(store_rows_int(r, i) != 0);
	case C_TIME:
		return time_value(store_rows_int(r, i));
	case C_TEXT:
		return json_string(store_rows_text(r, i, NULL));
	case C_CODES:
		return codes_value(store_rows_text(r, i, NULL));
	case C_JSON: {
		size_t n = 0;
		const char *s = store_rows_text(r, i, &n);
		json_t *v = json_loadb(s, n, 0, NULL);
		return v ? v : json_string(s);
	}
	case C_ROWS: {
		size_t n = 0;
		const void *p = store_rows_blob(r, i, &n);
		return rows_value(p, n);
	}
	case C_DIGEST:
		return NULL; /* never shown */
	case C_CARD: {
		size_t n = 0;
		const void *p = store_rows_blob(r, i, &n);
		char masked[PAYMENT_MASKED_MAX + 1], expiry[PAYMENT_EXPIRY_LEN + 1];
		if (!o || !o->dek) {
			*err = SENIM_ERR_CRYPTO;
			return NULL;
		}
		*err = cards_details_open(o->dek, o->subject_id,
					  store_rows_text(r, 0, NULL), p, n, masked,
					  expiry);
		json_t *v = *err ? NULL
				 : json_pack("{s:s,s:s}", "masked_number", masked,
					     "expiry", expiry);
		sodium_memzero(masked, sizeof(masked));
		sodium_memzero(expiry, sizeof(expiry));
		return v;
	}
	case C_OBLIGATION: {
		size_t n = 0, dn = 0;
		const void *p = store_rows_blob(r, i, &n);
		const unsigned char *digest = store_rows_blob(r, i - 1, &dn);
		json_t *v = NULL;
		if (!o || !o->dek || dn != VAULT_INDEX_BYTES) {
			*err = SENIM_ERR_CRYPTO;
			return NULL;
		}
		*err = obligations_details_open(o->kr, o->dek, o->subject_id, digest, p,
						n, &v);
		return v;
	}
	}
	return json_null();
}

/* One section's rows into a new array *out. */
static enum senim_result gather(struct store_tx *tx, const struct section *s,
				const struct opener *o, json_t **out)
{
	const char *id = o->subject_id;
	struct store_rows *r = NULL;
	int has = 0;
	json_t *a = json_array();
	*out = NULL;
	if (!a)
		return SENIM_ERR_NOMEM;
	enum senim_result err =
		store_query(tx, s->sql, (struct store_val[]){ SV_TEXT(id) }, 1, &r);
	if (err)
		goto fail;
	while ((err = store_rows_next(r, &has)) == SENIM_OK && has) {
		json_t *row = json_object();
		if (!row || json_array_append_new(a, row)) {
			err = SENIM_ERR_NOMEM;
			goto fail;
		}
		for (size_t c = 0; c < s->ncols; c++) {
			if (s->cols[c].type == C_DIGEST)
				continue;
			enum senim_result cerr = SENIM_ERR_NOMEM;
			json_t *v = cell(r, (int)c, s->cols[c].type, o, &cerr);
			if (v && s->cols[c].type == C_CARD) {
				/* its members into the row */
				int bad = json_object_update(row, v);
				json_decref(v);
				if (bad) {
					err = SENIM_ERR_NOMEM;
					goto fail;
				}
				continue;
			}
			if (!v || json_object_set_new(row, s->cols[c].name, v)) {
				err = v ? SENIM_ERR_NOMEM : cerr;
				goto fail;
			}
		}
	}
	if (err)
		goto fail;
	store_rows_free(r);
	*out = a;
	return SENIM_OK;
fail:
	store_rows_free(r);
	json_decref(a);
	return err;
}

/* ---- the categories, with R5's redaction ---------------------------------- */

/* R5: fields that describe another person (categories.c, D2). */
static const char *const third_party_fields[] = {
	"spouse_name", "spouse_document_number", "marriage_certificate_number",
	"dependants",  "represented_persons",
};

static enum senim_result redact(json_t *fields, const char *category, int64_t version,
				json_t *redactions, int *count)
{
	if (strcmp(category, category_code(CATEGORY_FAMILY)) != 0)
		return SENIM_OK;
	for (size_t i = 0; i < COUNT(third_party_fields); i++) {
		const char *f = third_party_fields[i];
		if (!json_object_get(fields, f))
			continue;
		if (json_object_set_new(fields, f, json_string(PACKAGE_REDACTED)) ||
		    json_array_append_new(redactions,
					  json_pack("{s:s,s:I,s:s,s:s}", "category",
						    category, "version",
						    (json_int_t)version, "field", f,
						    "reason", "third_party_rights")))
			return SENIM_ERR_NOMEM;
		(*count)++;
	}
	return SENIM_OK;
}

/* Every version of every category, newest first per category, opened with
 * the subject's key: {"<category>": [{"version", "source", "actor",
 * "updated_at", "fields"}, ...]}. */
static enum senim_result gather_records(struct store_tx *tx, const struct vault_dek *dek,
					const char *id, json_t *cats, json_t *redactions,
					uint32_t *mask, int *redacted)
{
	struct store_rows *r = NULL;
	int has = 0;
	enum senim_result err =
		store_query(tx,
			    "SELECT category, version, source, actor, created_at, sealed"
			    " FROM subject_records WHERE subject_id = $1"
			    " ORDER BY category, version DESC",
			    (struct store_val[]){ SV_TEXT(id) }, 1, &r);
	if (err)
		return err;
	while ((err = store_rows_next(r, &has)) == SENIM_OK && has) {
		const char *cat = store_rows_text(r, 0, NULL);
		int64_t version = store_rows_int(r, 1);
		size_t len = 0;
		const void *sealed = store_rows_blob(r, 5, &len);
		json_t *fields = NULL;
		err = vault_open_record(dek, id, cat, version, sealed, len, &fields);
		if (err)
			break;
		err = redact(fields, cat, version, redactions, redacted);
		if (err) {
			json_decref(fields);
			break;
		}
		int c = category_parse(cat);
		if (c >= 0)
			*mask |= CATEGORY_BIT(c);
		json_t *list = json_object_get(cats, cat);
		if (!list && json_object_set_new(cats, cat, list = json_array()))
			list = NULL;
		json_t *v = json_pack(
			"{s:I,s:s,s:s,s:o,s:o}", "version", (json_int_t)version, "source",
			store_rows_text(r, 2, NULL), "actor", store_rows_text(r, 3, NULL),
			"updated_at", time_value(store_rows_int(r, 4)), "fields", fields);
		if (!list || !v || json_array_append_new(list, v)) {
			err = SENIM_ERR_NOMEM;
			break;
		}
	}
	store_rows_free(r);
	return err;
}

/* ---- HTML ------------------------------------------------------------------- */

static enum senim_result render(struct buf *b, const json_t *v);

/* An array of objects as a table whose columns are the first row's keys
 * (every row of a section has the same). */
static enum senim_result render_table(struct buf *b, const json_t *a)
{
	const json_t *first = json_array_get(a, 0);
	const char *key;
	const json_t *x;
	enum senim_result err = buf_addstr(b, "<table><tr>");
	json_object_foreach((json_t *)first, key, x)
	{
		if (!err)
			err = buf_addstr(b, "<th>");
		if (!err)
			err = buf_add_html(b, key, strlen(key));
		if (!err)
			err = buf_addstr(b, "</th>");
	}
	if (!err)
		err = buf_addstr(b, "</tr>\n");
	for (size_t i = 0; !err && i < json_array_size(a); i++) {
		const json_t *row = json_array_get(a, i);
		err = buf_addstr(b, "<tr>");
		json_object_foreach((json_t *)first, key, x)
		{
			if (!err)
				err = buf_addstr(b, "<td>");
			if (!err)
				err = render(b, json_object_get(row, key));
			if (!err)
				err = buf_addstr(b, "</td>");
		}
		if (!err)
			err = buf_addstr(b, "</tr>\n");
	}
	return err ? err : buf_addstr(b, "</table>\n");
}

static enum senim_result render(struct buf *b, const json_t *v)
{
	enum senim_result err = SENIM_OK;
	switch (json_typeof(v)) {
	case JSON_STRING:
		return buf_add_html(b, json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		return buf_addf(b, "%lld", (long long)json_integer_value(v));
	case JSON_REAL:
		return buf_addf(b, "%g", json_real_value(v));
	case JSON_TRUE:
		return buf_addstr(b, "да / иә");
	case JSON_FALSE:
		return buf_addstr(b, "нет / жоқ");
	case JSON_NULL:
		return buf_addstr(b, "—");
	case JSON_ARRAY:
		if (json_array_size(v) == 0)
			return buf_addstr(b, "—");
		if (json_is_object(json_array_get(v, 0)))
			return render_table(b, v);
		for (size_t i = 0; !err && i < json_array_size(v); i++) {
			if (i)
				err = buf_addstr(b, ", ");
			if (!err)
				err = render(b, json_array_get(v, i));
		}
		return err;
	case JSON_OBJECT: {
		const char *key;
		const json_t *x;
		err = buf_addstr(b, "<dl>");
		json_object_foreach((json_t *)v, key, x)
		{
			if (!err)
				err = buf_addstr(b, "<dt>");
			if (!err)
				err = buf_add_html(b, key, strlen(key));
			if (!err)
				err = buf_addstr(b, "</dt><dd>");
			if (!err)
				err = render(b, x);
			if (!err)
				err = buf_addstr(b, "</dd>");
		}
		return err ? err : buf_addstr(b, "</dl>\n");
	}
	}
	return SENIM_OK;
}

static enum senim_result heading(struct buf *b, const char *ru, const char *kk)
{
	return buf_addf(b, "<h2 lang=\"ru\">%s</h2>\n<h2 lang=\"kk\">%s</h2>\n", ru, kk);
}

static enum senim_result section_html(struct buf *b, const json_t *doc, const char *key,
				      const char *ru, const char *kk)
{
	enum senim_result err = buf_addstr(b, "<section>\n");
	if (!err)
		err = heading(b, ru, kk);
	if (!err)
		err = render(b, json_object_get(doc, key));
	return err ? err : buf_addstr(b, "</section>\n");
}

/* The readable document, then its signature line (package.h). */
static enum senim_result render_html(const struct keyring *kr, const json_t *doc,
				     struct buf *b)
{
	json_t *sig = NULL;
	enum senim_result err = buf_addstr(
		b, "<!DOCTYPE html>\n<html lang=\"ru\">\n<head><meta charset=\"utf-8\">"
		   "<title>Сведения о персональных данных / Дербес деректер туралы "
		   "мәліметтер</title>\n<style>body{font-family:sans-serif}"
		   "table{border-collapse:collapse}td,th{border:1px solid #999;"
		   "padding:2px 4px;vertical-align:top}</style></head>\n<body>\n"
		   "<h1 lang=\"ru\">Сведения о ваших персональных данных</h1>\n"
		   "<h1 lang=\"kk\">Сіздің дербес деректеріңіз туралы мәліметтер</h1>\n"
		   "<p lang=\"ru\">Всё, что МФО хранит о вас на дату выдачи: данные по "
		   "категориям со всеми версиями и источниками, согласия, заявки, "
		   "решения, займы, привязанные банковские карты, передачи третьим "
		   "лицам и журнал обращений. Документ "
		   "подписан электронной подписью (Ed25519); проверить: senim package "
		   "verify.</p>\n"
		   "<p lang=\"kk\">Берілген күнге МҚҰ сіз туралы сақтайтынның бәрі: "
		   "санаттар бойынша деректер барлық нұсқаларымен және көздерімен, "
		   "келісімдер, өтінімдер, шешімдер, қарыздар, байланыстырылған банк "
		   "карталары, үшінші тұлғаларға беру "
		   "және жүгіну журналы. Құжатқа электрондық қолтаңба (Ed25519) "
		   "қойылған; тексеру: senim package verify.</p>\n");
	static const char *const head[] = { "package_id", "subject_id", "generated_at",
					    "legal_basis" };
	if (!err)
		err = buf_addstr(b, "<dl>");
	for (size_t i = 0; !err && i < COUNT(head); i++) {
		err = buf_addf(b, "<dt>%s</dt><dd>", head[i]);
		if (!err)
			err = render(b, json_object_get(doc, head[i]));
		if (!err)
			err = buf_addstr(b, "</dd>");
	}
	if (!err)
		err = buf_addstr(b, "</dl>\n");
	if (!err)
		err = section_html(b, doc, "subject", "Состояние записи",
				   "Жазбаның күйі");
	if (!err)
		err = section_html(b, doc, "categories",
				   "Персональные данные по категориям (все версии)",
				   "Санаттар бойынша дербес деректер (барлық нұсқалар)");
	if (!err)
		err = section_html(b, doc, "redactions", "Скрыто: данные третьих лиц",
				   "Жасырылған: үшінші тұлғалардың деректері");
	for (size_t i = 0; !err && i < COUNT(sections); i++)
		err = section_html(b, doc, sections[i].key, sections[i].ru,
				   sections[i].kk);
	if (!err)
		err = buf_addstr(b, "</body>\n</html>\n");
	if (!err)
		err = receipt_sign_bytes(kr, b->data, b->len, &sig);
	char *line = NULL;
	if (!err) {
		line = json_dumps(sig, JSON_COMPACT | JSON_SORT_KEYS);
		err = line ? SENIM_OK : SENIM_ERR_NOMEM;
	}
	if (!err)
		err = buf_addf(b, "%s%s -->\n", PACKAGE_HTML_SIGNATURE, line);
	free(line);
	json_decref(sig);
	return err;
}

/* ---- building ------------------------------------------------------------------- */

/* The subject's own record: when registered, block and restriction. */
static enum senim_result subject_row(struct store_tx *tx, const char *id, json_t **out)
{
	struct store_rows *r = NULL;
	*out = NULL;
	enum senim_result err = store_query_one(
		tx,
		"SELECT created_at, blocked, block_reason, allowed_purposes FROM subjects"
		" WHERE id = $1",
		(struct store_val[]){ SV_TEXT(id) }, 1, &r);
	if (err)
		return err;
	json_t *allowed = json_null();
	if (!store_rows_is_null(r, 3)) {
		uint32_t mask = (uint32_t)store_rows_int(r, 3);
		json_decref(allowed);
		allowed = json_array();
		for (int p = 0; allowed && p < PURPOSE__COUNT; p++)
			if ((mask & PURPOSE_BIT(p)) || p == PURPOSE_LEGAL_OBLIGATION)
				json_array_append_new(allowed, json_string(purpose_code(
								       (enum purpose)p)));
	}
	*out = json_pack(
		"{s:o,s:b,s:o,s:b,s:o}", "registered_at",
		time_value(store_rows_int(r, 0)), "blocked", store_rows_int(r, 1) != 0,
		"block_reason",
		store_rows_is_null(r, 2) ? json_null()
					 : json_string(store_rows_text(r, 2, NULL)),
		"restricted", !store_rows_is_null(r, 3), "allowed_purposes", allowed);
	store_rows_free(r);
	return *out ? SENIM_OK : SENIM_ERR_NOMEM;
}

static enum senim_result limited_in(struct store_tx *tx, const char *id, int *limited)
{
	struct store_rows *r = NULL;
	enum senim_result err = store_query_one(
		tx, "SELECT ground FROM access_limits WHERE subject_id = $1",
		(struct store_val[]){ SV_TEXT(id) }, 1, &r);
	*limited = err == SENIM_OK;
	store_rows_free(r);
	return err == SENIM_ERR_NOT_FOUND ? SENIM_OK : err;
}

enum senim_result package_limited_tx(struct store_tx *tx, const char *subject_id,
				     int *limited)
{
	return limited_in(tx, subject_id, limited);
}

static enum senim_result fetch_tx(struct store_tx *tx, void *arg)
{
	struct package_build *op = arg;
	struct vault_dek *dek = NULL;
	struct buf html;
	json_t *doc = NULL, *part = NULL;
	int limited = 0;
	char pkg_id[4 + ID_BODY_CHARS + 1];
	int64_t now = clock_now_us();
	buf_init(&html, HTML_MAX);

	enum senim_result err = subject_row(tx, op->subject_id, &part);
	if (err)
		goto fail;
	/* Read, never acted on before the end: the limited path does the same
	 * work as the other (package.h). */
	err = limited_in(tx, op->subject_id, &limited);
	if (err)
		goto fail;
	id_time_ordered(pkg_id, "pkg_", now / 1000);
	doc = json_pack("{s:s,s:s,s:o,s:s,s:{s:s,s:s,s:s},s:s,s:o,s:o,s:o}", "version",
			PACKAGE_VERSION, "package_id", pkg_id, "generated_at",
			time_value(now), "subject_id", op->subject_id, "controller",
			"name", CONTROLLER_NAME, "bin", CONTROLLER_BIN, "country", "KZ",
			"legal_basis", LEGAL_BASIS, "subject", part, "categories",
			json_object(), "redactions", json_array());
	part = NULL;
	if (!doc) {
		err = SENIM_ERR_NOMEM;
		goto fail;
	}
	err = vault_dek_load(tx, op->kr, op->subject_id, &dek);
	if (err)
		goto fail;
	err = gather_records(tx, dek, op->subject_id, json_object_get(doc, "categories"),
			     json_object_get(doc, "redactions"), &op->categories,
			     &op->redacted);
	if (err)
		goto fail;
	const struct opener o = { .kr = op->kr,
				  .dek = dek,
				  .subject_id = op->subject_id };
	for (size_t i = 0; i < COUNT(sections); i++) {
		err = gather(tx, &sections[i], &o, &part);
		if (err)
			goto fail;
		if (json_object_set_new(doc, sections[i].key, part)) {
			part = NULL;
			err = SENIM_ERR_NOMEM;
			goto fail;
		}
		part = NULL;
	}
	err = receipt_sign_document(op->kr, doc);
	if (err)
		goto fail;
	err = render_html(op->kr, doc, &html);
	if (err)
		goto fail;
	if (limited) {
		/* R5: made and signed like any package, then dropped unseen. */
		access_refusal_set(&op->refused, ACCESS_LIMITED_BY_LAW,
				   PURPOSE_LEGAL_OBLIGATION, NULL);
		op->categories = 0;
		op->redacted = 0;
		goto fail;
	}
	op->doc = doc;
	doc = NULL;
	op->html = buf_detach(&html, &op->html_len);
	if (!op->html)
		err = SENIM_ERR_NOMEM;
fail:
	vault_dek_free(dek);
	json_decref(part);
	json_decref(doc);
	buf_release_wiped(&html);
	return err;
}

enum senim_result package_build_fetch(struct store *st, struct package_build *op)
{
	package_build_dispose(op);
	op->refused = (struct access_refusal){ .why = ACCESS_GRANTED };
	op->categories = 0;
	op->redacted = 0;
	if (!op->kr || !op->subject_id || !op->actor || !op->request_id)
		return SENIM_ERR_INVALID;
	return store_read(st, fetch_tx, op);
}

static void category_codes(uint32_t mask, char *out, size_t cap)
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

enum senim_result package_build_record(struct store_tx *tx, void *arg)
{
	struct package_build *op = arg;
	int granted = op->refused.why == ACCESS_GRANTED;
	char cats[256], object[64];
	category_codes(granted ? op->categories : 0, cats, sizeof(cats));
	/* The redaction is recorded (R5); a refusal's object is the same for
	 * every ground. */
	snprintf(object, sizeof(object), "package:%s%s", op->format ? op->format : "json",
		 granted && op->redacted ? ":redacted:third_party_rights" : "");
	struct audit_record rec = { .actor = op->actor,
				    .operation = "subject.package",
				    .object = object,
				    .subject_id = op->subject_id,
				    .categories = cats,
				    .purpose = purpose_code(PURPOSE_LEGAL_OBLIGATION),
				    .outcome = granted ? "success" : "denied",
				    .request_id = op->request_id };
	return audit_append(tx, op->kr, &rec);
}

void package_build_dispose(void *arg)
{
	struct package_build *op = arg;
	json_decref(op->doc); /* decrypted: the wiping allocator clears it */
	op->doc = NULL;
	buf_wipe_free(op->html);
	op->html = NULL;
	op->html_len = 0;
}

/* ---- the limit ------------------------------------------------------------------ */

static const char *const grounds[] = { "aml_cft", "court_order", "other_law" };

int package_limit_ground_valid(const char *s)
{
	for (size_t i = 0; s && i < COUNT(grounds); i++)
		if (strcmp(s, grounds[i]) == 0)
			return 1;
	return 0;
}

int package_limit_reference_valid(const char *s)
{
	size_t n = 0;
	if (!s)
		return 0;
	for (; s[n]; n++) {
		char c = s[n];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '/' || c == '_' ||
		      c == '-'))
			return 0;
	}
	return n >= 1 && n <= 64;
}

enum senim_result package_limit_tx(struct store_tx *tx, void *arg)
{
	struct package_limit *op = arg;
	struct store_rows *r = NULL;
	int64_t changes = 0;
	op->limited = 0;
	if (op->set && (!package_limit_ground_valid(op->ground) ||
			!package_limit_reference_valid(op->reference)))
		return SENIM_ERR_INVALID;
	enum senim_result err =
		store_query_one(tx, "SELECT 1 FROM subjects WHERE id = $1",
				(struct store_val[]){ SV_TEXT(op->subject_id) }, 1, &r);
	store_rows_free(r);
	if (err)
		return err;
	err = store_exec(tx, "DELETE FROM access_limits WHERE subject_id = $1",
			 (struct store_val[]){ SV_TEXT(op->subject_id) }, 1, &changes);
	if (!err && op->set)
		err = store_exec(
			tx,
			"INSERT INTO access_limits (subject_id, ground, reference,"
			" set_by, set_at, request_id) VALUES ($1, $2, $3, $4, $5, $6)",
			(struct store_val[]){ SV_TEXT(op->subject_id),
					      SV_TEXT(op->ground), SV_TEXT(op->reference),
					      SV_TEXT(op->actor), SV_INT(clock_now_us()),
					      SV_TEXT(op->request_id) },
			6, NULL);
	if (err)
		return err;
	op->limited = op->set;
	char object[96];
	snprintf(object, sizeof(object), "access_limit:%s",
		 op->set ? op->ground : "lifted");
	struct audit_record rec = { .actor = op->actor,
				    .operation = op->set ? "subject.access_limit.set"
							 : "subject.access_limit.lift",
				    .object = object,
				    .subject_id = op->subject_id,
				    .categories = "",
				    .purpose = purpose_code(PURPOSE_LEGAL_OBLIGATION),
				    .outcome =
					    op->set || changes ? "success" : "unchanged",
				    .request_id = op->request_id };
	return audit_append(tx, op->kr, &rec);
}

/* ---- verifying ------------------------------------------------------------------ */

/* The last occurrence of needle in hay[0..n), or NULL. */
static const char *last_of(const char *hay, size_t n, const char *needle)
{
	size_t m = strlen(needle);
	for (size_t i = n >= m ? n - m + 1 : 0; i-- > 0;)
		if (memcmp(hay + i, needle, m) == 0)
			return hay + i;
	return NULL;
}

static enum senim_result verify_html(const struct keyring *kr, const unsigned char *pk,
				     const char *text, size_t len)
{
	static const char tail[] = " -->\n";
	const char *line = last_of(text, len, "\n" PACKAGE_HTML_SIGNATURE);
	if (!line)
		return SENIM_ERR_INVALID;
	size_t signed_len = (size_t)(line - text) + 1; /* through the newline */
	const char *js = line + 1 + strlen(PACKAGE_HTML_SIGNATURE);
	const char *end = text + len;
	if ((size_t)(end - js) < sizeof(tail) - 1 ||
	    memcmp(end - (sizeof(tail) - 1), tail, sizeof(tail) - 1) != 0)
		return SENIM_ERR_INVALID;
	size_t jlen = (size_t)(end - (sizeof(tail) - 1) - js);
	json_t *sig = json_loadb(js, jlen, JSON_REJECT_DUPLICATES, NULL);
	if (!sig)
		return SENIM_ERR_INVALID;
	enum senim_result err = receipt_verify_bytes(kr, pk, sig, text, signed_len);
	json_decref(sig);
	return err;
}

enum senim_result package_verify_text(const struct keyring *kr,
				      const unsigned char *trusted_pk, const char *text,
				      size_t len, int *is_html)
{
	if (is_html)
		*is_html = 0;
	if (!text || len > PACKAGE_MAX_TEXT)
		return SENIM_ERR_INVALID;
	size_t i = 0;
	while (i < len &&
	       (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r'))
		i++;
	if (i < len && text[i] == '<') {
		if (is_html)
			*is_html = 1;
		return verify_html(kr, trusted_pk, text, len);
	}
	json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	if (!doc)
		return SENIM_ERR_INVALID;
	enum senim_result err = receipt_verify_document(kr, trusted_pk, doc);
	/* The version is signed too: checked after the signature, as receipts
	 * are, so an altered value is reported as altered. */
	const char *v = json_string_value(json_object_get(doc, "version"));
	if (!err && (!v || strcmp(v, PACKAGE_VERSION) != 0))
		err = SENIM_ERR_INVALID;
	json_decref(doc);
	return err;
}
