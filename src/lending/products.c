/*
 * products.c — the product catalogue: versions, reads, the list.
 */
#include "lending/products.h"

#include <stdio.h>
#include <string.h>

#include "audit/audit.h"
#include "common/clock.h"
#include "core/consents.h"
#include "common/banned.h"

static const char *const method_codes[] = { "annuity", "differentiated", "single" };
#define METHODS (sizeof(method_codes) / sizeof(method_codes[0]))

const char *product_method_code(enum schedule_method m)
{
	return (unsigned)m < METHODS ? method_codes[m] : NULL;
}

int product_method_parse(const char *code)
{
	for (size_t i = 0; i < METHODS; i++)
		if (strcmp(method_codes[i], code) == 0)
			return (int)i;
	return -1;
}

int product_code_valid(const char *code)
{
	size_t n = strlen(code);
	if (n == 0 || n > PRODUCT_CODE_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = code[i];
		int alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z');
		if (!alnum && (i == 0 || (c != '_' && c != '-')))
			return 0;
	}
	return 1;
}

/* Check lo <= v <= hi, naming the field and the bound broken. */
static int in_range(int64_t v, int64_t lo, int64_t hi, const char *name,
		    const char **field, const char **rule)
{
	if (v >= lo && v <= hi)
		return 1;
	*field = name;
	*rule = v < lo ? "min_value" : "max_value";
	return 0;
}

int product_valid(const struct product *p, const char **field, const char **rule)
{
	if (!product_code_valid(p->code)) {
		*field = "code";
		*rule = "format";
		return 0;
	}
	if (p->methods == 0 || (p->methods >> METHODS) != 0) {
		*field = "schedule_methods";
		*rule = "enum_value";
		return 0;
	}
	/* A maximum is at least its minimum; a fixed fee at most the
	 * smallest amount. */
	return in_range(p->amount_min_tiyn, 1, PRODUCT_AMOUNT_MAX, "amount_min_tiyn",
			field, rule) &&
	       in_range(p->amount_max_tiyn, p->amount_min_tiyn, PRODUCT_AMOUNT_MAX,
			"amount_max_tiyn", field, rule) &&
	       in_range(p->term_min_days, 1, PRODUCT_TERM_MAX, "term_min_days", field,
			rule) &&
	       in_range(p->term_max_days, p->term_min_days, PRODUCT_TERM_MAX,
			"term_max_days", field, rule) &&
	       in_range(p->rate_bp, 0, PRODUCT_RATE_MAX, "rate_bp", field, rule) &&
	       in_range(p->issue_fee_tiyn, 0, p->amount_min_tiyn, "issue_fee_tiyn", field,
			rule) &&
	       in_range(p->issue_fee_bp, 0, 10000, "issue_fee_bp", field, rule);
}

/* ---- masks as text ------------------------------------------------------- */

typedef const char *(*code_fn)(unsigned i);

static const char *category_at(unsigned i)
{
	return i < CATEGORY__COUNT ? category_code((enum category)i) : NULL;
}

static const char *consent_at(unsigned i)
{
	const struct consent_def *d =
		i < CONSENT__COUNT ? consent_def((enum consent_kind)i) : NULL;
	return d ? d->code : NULL;
}

static const char *method_at(unsigned i)
{
	return product_method_code((enum schedule_method)i);
}

static void mask_text(uint32_t mask, code_fn name, char *out, size_t cap)
{
	size_t used = 0;
	out[0] = '\0';
	for (unsigned i = 0; i < 32; i++) {
		const char *c = (mask >> i) & 1 ? name(i) : NULL;
		if (!c)
			continue;
		int n = snprintf(out + used, cap - used, "%s%s", used ? "," : "", c);
		if (n < 0 || (size_t)n >= cap - used)
			return; /* the caller's buffer holds every code: cannot happen */
		used += (size_t)n;
	}
}

void product_categories_text(uint32_t mask, char *out, size_t cap)
{
	mask_text(mask, category_at, out, cap);
}

void product_consents_text(uint32_t mask, char *out, size_t cap)
{
	mask_text(mask, consent_at, out, cap);
}

void product_methods_text(uint32_t mask, char *out, size_t cap)
{
	mask_text(mask, method_at, out, cap);
}

/* The mask of a stored comma-separated list; codes this build does not
 * know are skipped (a newer build wrote them). */
static uint32_t mask_parse(const char *s, size_t len, code_fn name)
{
	uint32_t mask = 0;
	size_t start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != ',')
			continue;
		for (unsigned k = 0; k < 32; k++) {
			const char *c = name(k);
			if (c && strlen(c) == i - start &&
			    memcmp(c, s + start, i - start) == 0)
				mask |= 1u << k;
		}
		start = i + 1;
	}
	return mask;
}

/* ---- the store ----------------------------------------------------------- */

#define COLUMNS                                                                 \
	"code, version, name_ru, name_kk, amount_min_tiyn, amount_max_tiyn,"    \
	" term_min_days, term_max_days, rate_bp, issue_fee_tiyn, issue_fee_bp," \
	" schedule_methods, categories, consents, active, created_at, created_by"

static void copy_col(struct store_rows *r, int col, char *dst, size_t cap)
{
	size_t len;
	const char *s = store_rows_text(r, col, &len);
	if (len >= cap)
		len = cap - 1;
	memcpy(dst, s, len);
	dst[len] = '\0';
}

static void read_row(struct store_rows *r, struct product *p)
{
	size_t len;
	const char *s;
	memset(p, 0, sizeof(*p));
	copy_col(r, 0, p->code, sizeof(p->code));
	p->version = store_rows_int(r, 1);
	copy_col(r, 2, p->name_ru, sizeof(p->name_ru));
	copy_col(r, 3, p->name_kk, sizeof(p->name_kk));
	p->amount_min_tiyn = store_rows_int(r, 4);
	p->amount_max_tiyn = store_rows_int(r, 5);
	p->term_min_days = store_rows_int(r, 6);
	p->term_max_days = store_rows_int(r, 7);
	p->rate_bp = store_rows_int(r, 8);
	p->issue_fee_tiyn = store_rows_int(r, 9);
	p->issue_fee_bp = store_rows_int(r, 10);
	s = store_rows_text(r, 11, &len);
	p->methods = mask_parse(s, len, method_at);
	s = store_rows_text(r, 12, &len);
	p->categories = mask_parse(s, len, category_at);
	s = store_rows_text(r, 13, &len);
	p->consents = mask_parse(s, len, consent_at);
	p->active = store_rows_int(r, 14) != 0;
	p->created_at = store_rows_int(r, 15);
	copy_col(r, 16, p->created_by, sizeof(p->created_by));
}

enum senim_result products_create_tx(struct store_tx *tx, void *arg)
{
	struct product_create *op = arg;
	struct product *p = &op->p;
	struct store_rows *r = NULL;
	enum senim_result err;
	/* PostgreSQL: creators in other processes wait here, so two versions
	 * of one code never race for the same number. */
	if (store_tx_kind(tx) == STORE_POSTGRES) {
		err = store_exec(tx, "LOCK TABLE products IN EXCLUSIVE MODE", NULL, 0,
				 NULL);
		if (err)
			return err;
	}
	err = store_query_one(
		tx, "SELECT COALESCE(MAX(version), 0) FROM products WHERE code = $1",
		(struct store_val[]){ SV_TEXT(p->code) }, 1, &r);
	if (err)
		return err;
	p->version = store_rows_int(r, 0) + 1;
	store_rows_free(r);
	p->created_at = clock_now_us();
	snprintf(p->created_by, sizeof(p->created_by), "%s", op->actor);
	char methods[64], categories[128], consents[256];
	product_methods_text(p->methods, methods, sizeof(methods));
	product_categories_text(p->categories, categories, sizeof(categories));
	product_consents_text(p->consents, consents, sizeof(consents));
	err = store_exec(tx,
			 "INSERT INTO products (" COLUMNS
			 ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8,"
			 " $9, $10, $11, $12, $13, $14, $15, $16, $17)",
			 (struct store_val[]){
				 SV_TEXT(p->code), SV_INT(p->version),
				 SV_TEXT(p->name_ru), SV_TEXT(p->name_kk),
				 SV_INT(p->amount_min_tiyn), SV_INT(p->amount_max_tiyn),
				 SV_INT(p->term_min_days), SV_INT(p->term_max_days),
				 SV_INT(p->rate_bp), SV_INT(p->issue_fee_tiyn),
				 SV_INT(p->issue_fee_bp), SV_TEXT(methods),
				 SV_TEXT(categories), SV_TEXT(consents),
				 SV_INT(p->active ? 1 : 0), SV_INT(p->created_at),
				 SV_TEXT(op->actor) },
			 17, NULL);
	if (err)
		return err;
	char object[PRODUCT_CODE_MAX + 32];
	snprintf(object, sizeof(object), "product:%s:%lld", p->code,
		 (long long)p->version);
	struct audit_record rec = { .actor = op->actor,
				    .operation = "product.create",
				    .object = object,
				    .subject_id = NULL,
				    .categories = "",
				    .purpose = "",
				    .outcome = "success",
				    .request_id = op->request_id };
	return audit_append(tx, op->kr, &rec);
}

enum senim_result products_get_in(struct store_tx *tx, const char *code, int64_t version,
				  struct product *out)
{
	struct store_rows *r = NULL;
	enum senim_result err;
	if (version > 0)
		err = store_query_one(
			tx,
			"SELECT " COLUMNS
			" FROM products WHERE code = $1 AND version = $2",
			(struct store_val[]){ SV_TEXT(code), SV_INT(version) }, 2, &r);
	else
		err = store_query_one(tx,
				      "SELECT " COLUMNS " FROM products WHERE code = $1"
				      " ORDER BY version DESC LIMIT 1",
				      (struct store_val[]){ SV_TEXT(code) }, 1, &r);
	if (err)
		return err;
	read_row(r, out);
	store_rows_free(r);
	return SENIM_OK;
}

struct get_ctx {
	const char *code;
	int64_t version;
	struct product *out;
};

static enum senim_result get_tx(struct store_tx *tx, void *arg)
{
	struct get_ctx *c = arg;
	return products_get_in(tx, c->code, c->version, c->out);
}

enum senim_result products_get(struct store *st, const char *code, int64_t version,
			       struct product *out)
{
	struct get_ctx c = { code, version, out };
	return store_read(st, get_tx, &c);
}

struct list_ctx {
	int active_only;
	product_each_fn fn;
	void *ctx;
};

static enum senim_result list_tx(struct store_tx *tx, void *arg)
{
	struct list_ctx *c = arg;
	struct store_rows *r;
	int has = 0;
	/* The current version of each code: no newer row of the same code. */
	enum senim_result err = store_query(
		tx,
		"SELECT " COLUMNS " FROM products p WHERE NOT EXISTS (SELECT 1 FROM"
		" products n WHERE n.code = p.code AND n.version > p.version)"
		" ORDER BY code",
		NULL, 0, &r);
	if (err)
		return err;
	while (!err && (err = store_rows_next(r, &has)) == SENIM_OK && has) {
		struct product p;
		read_row(r, &p);
		if (c->active_only && !p.active)
			continue;
		err = c->fn(&p, c->ctx);
	}
	store_rows_free(r);
	return err;
}

enum senim_result products_list(struct store *st, int active_only, product_each_fn fn,
				void *ctx)
{
	struct list_ctx c = { active_only, fn, ctx };
	return store_read(st, list_tx, &c);
}
