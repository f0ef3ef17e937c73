/*
 * findings.c — disagreements with a state database (findings.h, D8).
 */
#include "exchange/findings.h"

#include <stdio.h>
#include <string.h>

#include "audit/audit.h"
#include "common/clock.h"
#include "subjects/subjects.h"
#include "common/banned.h"

const char *finding_kind_code(enum finding_kind k)
{
	switch (k) {
	case FINDING_MISMATCH:
		return "mismatch";
	case FINDING_NOT_FOUND:
		return "not_found";
	}
	return NULL;
}

/* ---- comparing ------------------------------------------------------------------- */

int findings_declared_category(enum recipient_api api, enum category *c)
{
	switch (api) {
	case RECIPIENT_API_FAMILY_TIES:
		*c = CATEGORY_FAMILY;
		return 1;
	case RECIPIENT_API_ADDRESS:
		*c = CATEGORY_CONTACT;
		return 1;
	case RECIPIENT_API_LEGAL_CAPACITY:
		*c = CATEGORY_MEDICAL;
		return 1;
	default:
		return 0;
	}
}

/* The next byte of an address that counts in a comparison, or 0 at the
 * end: ASCII folded to lower case; spaces and , . - skipped (a borrower
 * writes "ул.Абая, 1" where the registry has "ул. Абая 1").  Other bytes,
 * Cyrillic included, compare as they are. */
static unsigned char address_next(const char **s)
{
	while (**s && strchr(" \t,.-", **s))
		(*s)++;
	if (!**s)
		return 0;
	unsigned char c = (unsigned char)*(*s)++;
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

static int address_same(const char *a, const char *b)
{
	for (;;) {
		unsigned char x = address_next(&a), y = address_next(&b);
		if (x != y)
			return 0;
		if (!x)
			return 1;
	}
}

/* Entries of a PEOPLE array whose relation is "child". */
static size_t children_of(const json_t *people)
{
	size_t n = 0, i;
	json_t *p;
	json_array_foreach(people, i, p)
	{
		const char *r = json_string_value(json_object_get(p, "relation"));
		n += r && strcmp(r, "child") == 0;
	}
	return n;
}

/* 1 when both are strings and equal, or the kept one is missing. */
static int same_string(const json_t *declared, const json_t *kept)
{
	return json_is_string(declared) && json_is_string(kept) &&
	       strcmp(json_string_value(declared), json_string_value(kept)) == 0;
}

size_t findings_compare(enum recipient_api api, const json_t *declared,
			const json_t *kept, struct finding_field out[FINDINGS_MAX])
{
	size_t n = 0;
	const json_t *d, *k;
	switch (api) {
	case RECIPIENT_API_FAMILY_TIES:
		d = json_object_get(declared, "marital_status");
		k = json_object_get(kept, "family.marital_status");
		if (d && k && !same_string(d, k))
			out[n++] = (struct finding_field){ CATEGORY_FAMILY,
							   "marital_status" };
		d = json_object_get(declared, "dependants");
		k = json_object_get(kept, "family.dependants");
		if (json_is_array(d) && json_is_array(k) &&
		    children_of(d) != json_array_size(k))
			out[n++] =
				(struct finding_field){ CATEGORY_FAMILY, "dependants" };
		break;
	case RECIPIENT_API_ADDRESS:
		d = json_object_get(declared, "registered_address");
		k = json_object_get(kept, "contact.registered_address");
		if (json_is_string(d) && k &&
		    (!json_is_string(k) ||
		     !address_same(json_string_value(d), json_string_value(k))))
			out[n++] = (struct finding_field){ CATEGORY_CONTACT,
							   "registered_address" };
		break;
	case RECIPIENT_API_LEGAL_CAPACITY:
		d = json_object_get(declared, "legal_capacity");
		k = json_object_get(kept, "medical.legal_capacity");
		if (json_is_string(k) && (strcmp(json_string_value(k), "full") != 0 ||
					  (d && !same_string(d, k))))
			out[n++] = (struct finding_field){ CATEGORY_MEDICAL,
							   "legal_capacity" };
		break;
	default:
		break;
	}
	return n;
}

/* ---- recording ------------------------------------------------------------------- */

enum senim_result findings_record_in(struct store_tx *tx, const struct keyring *kr,
				     const struct finding_record *f,
				     char id[FINDING_ID_LEN])
{
	id_time_ordered(id, "fnd_", clock_now_us() / 1000);
	const char *category = category_code(f->category);
	enum senim_result err = store_exec(
		tx,
		"INSERT INTO subject_findings (id, subject_id, source_id, category, "
		"field,"
		" kind, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
		(struct store_val[]){ SV_TEXT(id), SV_TEXT(f->subject_id),
				      f->source_id ? SV_TEXT(f->source_id) : SV_NULL(),
				      SV_TEXT(category), SV_TEXT(f->field),
				      SV_TEXT(finding_kind_code(f->kind)),
				      SV_INT(clock_now_us() / 1000000) },
		7, NULL);
	if (err)
		return err;
	char object[16 + FINDING_ID_LEN];
	snprintf(object, sizeof(object), "finding:%s", id);
	return audit_append(tx, kr,
			    &(struct audit_record){ .actor = f->actor,
						    .operation = "finding.record",
						    .object = object,
						    .subject_id = f->subject_id,
						    .categories = category,
						    .purpose = f->purpose,
						    .outcome = "success",
						    .request_id = f->request_id });
}

/* ---- listing --------------------------------------------------------------------- */

void findings_list_dispose(void *arg)
{
	struct findings_list *op = arg;
	json_decref(op->out);
	op->out = NULL;
}

static json_t *text_or_null(struct store_rows *r, int col)
{
	if (store_rows_is_null(r, col))
		return json_null();
	size_t n = 0;
	const char *t = store_rows_text(r, col, &n);
	return json_stringn(t, n);
}

static json_t *int_or_null(struct store_rows *r, int col)
{
	return store_rows_is_null(r, col) ? json_null()
					  : json_integer(store_rows_int(r, col));
}

static enum senim_result list_read(struct store_tx *tx, void *arg)
{
	struct findings_list *op = arg;
	struct subject_state state;
	enum senim_result err = subjects_state_in(tx, op->subject_id, &state);
	if (err)
		return err;
	op->categories = 0;
	enum access_result why =
		access_decide(op->matrix, op->role, op->purpose, &state, &op->categories);
	if (why != ACCESS_GRANTED) {
		access_refusal_set(&op->refused, why, op->purpose, &state);
		return SENIM_OK;
	}
	json_t *items = json_array();
	struct store_rows *r = NULL;
	if (!items)
		return SENIM_ERR_NOMEM;
	err = store_query(tx,
			  "SELECT id, category, field, kind, source_id, created_at,"
			  " resolved_at, resolved_by, resolution FROM subject_findings"
			  " WHERE subject_id = $1 ORDER BY created_at, id",
			  (struct store_val[]){ SV_TEXT(op->subject_id) }, 1, &r);
	int has = 0;
	while (!err && (err = store_rows_next(r, &has)) == SENIM_OK && has) {
		size_t n = 0;
		const char *cat = store_rows_text(r, 1, &n);
		char code[32];
		snprintf(code, sizeof(code), "%.*s", (int)n, cat);
		int c = category_parse(code);
		/* A purpose sees the findings of the categories it may read. */
		if (c < 0 || !(op->categories & CATEGORY_BIT(c)))
			continue;
		json_t *f = json_pack(
			"{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "id", text_or_null(r, 0),
			"category", text_or_null(r, 1), "field", text_or_null(r, 2),
			"kind", text_or_null(r, 3), "source_id", text_or_null(r, 4),
			"created_at", int_or_null(r, 5), "resolved_at", int_or_null(r, 6),
			"resolved_by", text_or_null(r, 7), "resolution",
			text_or_null(r, 8));
		if (!f || json_array_append_new(items, f))
			err = SENIM_ERR_NOMEM;
	}
	store_rows_free(r);
	if (!err) {
		op->out = json_pack("{s:o}", "findings", items);
		items = NULL;
		err = op->out ? SENIM_OK : SENIM_ERR_NOMEM;
	}
	json_decref(items);
	return err;
}

enum senim_result findings_list_prepare(struct store *st, struct findings_list *op)
{
	json_decref(op->out);
	op->out = NULL;
	op->refused = (struct access_refusal){ .why = ACCESS_GRANTED };
	return store_read(st, list_read, op);
}

enum senim_result findings_list_tx(struct store_tx *tx, void *arg)
{
	struct findings_list *op = arg;
	char object[64];
	snprintf(object, sizeof(object), "findings:%s", op->subject_id);
	return audit_append(
		tx, op->kr,
		&(struct audit_record){ .actor = op->actor,
					.operation = "finding.list",
					.object = object,
					.subject_id = op->subject_id,
					.categories = "",
					.purpose = purpose_code(op->purpose),
					.outcome = op->refused.why == ACCESS_GRANTED
							   ? "success"
							   : "denied",
					.request_id = op->request_id });
}

/* ---- resolving ------------------------------------------------------------------- */

static const char *const resolutions[] = { "declared_confirmed", "declared_corrected",
					   "source_error", "escalated" };

int finding_resolution_valid(const char *code)
{
	for (size_t i = 0; code && i < sizeof(resolutions) / sizeof(resolutions[0]); i++)
		if (strcmp(code, resolutions[i]) == 0)
			return 1;
	return 0;
}

/* May this role, for this purpose, judge this subject's data of `category`? */
static enum senim_result resolve_decide(struct store_tx *tx, struct finding_resolve *op,
					const char *category)
{
	op->refused = (struct access_refusal){ .why = ACCESS_GRANTED };
	struct subject_state state;
	enum senim_result err = subjects_state_in(tx, op->subject_id, &state);
	if (err)
		return err;
	uint32_t categories = 0;
	enum access_result why =
		access_decide(op->matrix, op->role, op->purpose, &state, &categories);
	int c = category_parse(category);
	if (why == ACCESS_GRANTED && (c < 0 || !(categories & CATEGORY_BIT(c))))
		why = ACCESS_CATEGORY_WITHHELD;
	if (why != ACCESS_GRANTED)
		access_refusal_set(&op->refused, why, op->purpose, &state);
	return SENIM_OK;
}

enum senim_result findings_resolve_tx(struct store_tx *tx, void *arg)
{
	struct finding_resolve *op = arg;
	struct store_rows *r = NULL;
	enum senim_result err = store_query_one(
		tx,
		"SELECT category, resolved_at FROM subject_findings"
		" WHERE id = $1 AND subject_id = $2",
		(struct store_val[]){ SV_TEXT(op->finding_id), SV_TEXT(op->subject_id) },
		2, &r);
	if (err == SENIM_ERR_NOT_FOUND) {
		op->status = FINDING_UNKNOWN;
		return SENIM_OK; /* nothing to record: no such finding */
	}
	if (err)
		return err;
	char category[32];
	size_t n = 0;
	const char *t = store_rows_text(r, 0, &n);
	snprintf(category, sizeof(category), "%.*s", (int)n, t);
	op->status =
		store_rows_is_null(r, 1) ? FINDING_RESOLVED : FINDING_ALREADY_RESOLVED;
	store_rows_free(r);
	err = resolve_decide(tx, op, category);
	if (err)
		return err;
	if (op->refused.why != ACCESS_GRANTED)
		op->status = FINDING_UNKNOWN; /* not told: the refusal answers */
	else if (op->status == FINDING_RESOLVED)
		err = store_exec(
			tx,
			"UPDATE subject_findings SET resolved_at = $2, resolved_by = $3,"
			" resolution = $4 WHERE id = $1 AND resolved_at IS NULL",
			(struct store_val[]){
				SV_TEXT(op->finding_id), SV_INT(clock_now_us() / 1000000),
				SV_TEXT(op->actor), SV_TEXT(op->resolution) },
			4, NULL);
	if (err)
		return err;
	char object[16 + FINDING_ID_LEN];
	snprintf(object, sizeof(object), "finding:%s", op->finding_id);
	return audit_append(
		tx, op->kr,
		&(struct audit_record){
			.actor = op->actor,
			.operation = "finding.resolve",
			.object = object,
			.subject_id = op->subject_id,
			.categories = category,
			.purpose = purpose_code(op->purpose),
			.outcome = op->refused.why != ACCESS_GRANTED ? "denied"
				   : op->status == FINDING_RESOLVED  ? "success"
								     : "unchanged",
			.request_id = op->request_id });
}
