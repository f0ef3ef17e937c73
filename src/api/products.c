/*
 * products.c — the product catalogue over HTTP (issue 12, C4).
 *
 *   POST /v1/products          a new version of a product (admin)
 *   GET  /v1/products          the current version of every product (admin)
 *   GET  /v1/products/{code}   its current version, or ?version=N (admin)
 *   GET  /v1/me/products       the active products, as the app shows them
 *
 * Nothing here is personal data.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/app.h"
#include "common/clock.h"
#include "core/consents.h"
#include "lending/products.h"
#include "common/banned.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* A mask as a JSON array of codes; code(i) names bit i (NULL: none). */
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

static const char *method_name(unsigned i)
{
	return product_method_code((enum schedule_method)i);
}

json_t *api_categories_json(uint32_t mask)
{
	return codes_json(mask, category_name);
}

json_t *api_consents_json(uint32_t mask)
{
	return codes_json(mask, consent_name);
}

static json_t *product_json(const struct product *p)
{
	char when[CLOCK_RFC3339_LEN];
	clock_format_rfc3339(p->created_at, when);
	return json_pack(
		"{s:s,s:I,s:{s:s,s:s},s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:o,s:o,s:b,s:s}",
		"code", p->code, "version", (json_int_t)p->version, "name", "ru",
		p->name_ru, "kk", p->name_kk, "amount_min_tiyn",
		(json_int_t)p->amount_min_tiyn, "amount_max_tiyn",
		(json_int_t)p->amount_max_tiyn, "term_min_days",
		(json_int_t)p->term_min_days, "term_max_days",
		(json_int_t)p->term_max_days, "rate_bp", (json_int_t)p->rate_bp,
		"issue_fee_tiyn", (json_int_t)p->issue_fee_tiyn, "issue_fee_bp",
		(json_int_t)p->issue_fee_bp, "schedule_methods",
		codes_json(p->methods, method_name), "categories",
		codes_json(p->categories, category_name), "consents",
		codes_json(p->consents, consent_name), "active", p->active, "created_at",
		when);
}

/* ---- reading ------------------------------------------------------------- */

static enum senim_result add_to_list(const struct product *p, void *ctx)
{
	json_t *o = product_json(p);
	return o && json_array_append_new(ctx, o) == 0 ? SENIM_OK : SENIM_ERR_NOMEM;
}

static enum senim_result list(struct http_request *req, struct http_response *resp,
			      int active_only)
{
	json_t *items = json_array();
	if (!items)
		return SENIM_ERR_NOMEM;
	enum senim_result err =
		products_list(req->app->store, active_only, add_to_list, items);
	if (err) {
		json_decref(items);
		return err;
	}
	return http_reply_json(resp, 200, json_pack("{s:o}", "products", items));
}

enum senim_result api_product_list(struct http_request *req, struct http_response *resp)
{
	return list(req, resp, 0);
}

enum senim_result api_me_products(struct http_request *req, struct http_response *resp)
{
	return list(req, resp, 1);
}

enum senim_result api_product_get(struct http_request *req, struct http_response *resp)
{
	const char *code = req->params[0];
	if (!product_code_valid(code))
		return http_reply_code(req, resp, "product_not_found");
	int64_t version = 0;
	const char *v = http_query(req, "version");
	if (v) {
		char *end;
		errno = 0;
		long long n = strtoll(v, &end, 10);
		if (errno || end == v || *end || n < 1) {
			struct problem p = { .code = "invalid_parameter",
					     .field = "version",
					     .rule = "min_value",
					     .limit = 1 };
			return http_reply_problem(req, resp, &p);
		}
		version = n;
	}
	struct product p;
	enum senim_result err = products_get(req->app->store, code, version, &p);
	if (err == SENIM_ERR_NOT_FOUND)
		return http_reply_code(req, resp, "product_not_found");
	if (err)
		return err;
	return http_reply_json(resp, 200, product_json(&p));
}

/* ---- creating a version ---------------------------------------------------- */

static int code_format(const char *v, size_t len)
{
	(void)len;
	return product_code_valid(v);
}

static const struct jsonin_field create_fields[] = {
	{ .name = "code",
	  .type = JSONIN_STRING,
	  .required = 1,
	  .min_len = 1,
	  .max_len = PRODUCT_CODE_MAX,
	  .format = code_format },
	{ .name = "name_ru",
	  .type = JSONIN_STRING,
	  .required = 1,
	  .min_len = 1,
	  .max_len = PRODUCT_NAME_MAX },
	{ .name = "name_kk",
	  .type = JSONIN_STRING,
	  .required = 1,
	  .min_len = 1,
	  .max_len = PRODUCT_NAME_MAX },
	{ .name = "amount_min_tiyn", .type = JSONIN_INTEGER, .required = 1 },
	{ .name = "amount_max_tiyn", .type = JSONIN_INTEGER, .required = 1 },
	{ .name = "term_min_days", .type = JSONIN_INTEGER, .required = 1 },
	{ .name = "term_max_days", .type = JSONIN_INTEGER, .required = 1 },
	{ .name = "rate_bp", .type = JSONIN_INTEGER, .required = 1 },
	{ .name = "issue_fee_tiyn", .type = JSONIN_INTEGER },
	{ .name = "issue_fee_bp", .type = JSONIN_INTEGER },
	{ .name = "schedule_methods", .type = JSONIN_ARRAY, .required = 1 },
	{ .name = "categories", .type = JSONIN_ARRAY, .required = 1 },
	{ .name = "consents", .type = JSONIN_ARRAY },
	{ .name = "active", .type = JSONIN_BOOLEAN },
};

static int64_t int_of(json_t *body, const char *name)
{
	json_t *v = json_object_get(body, name);
	return v ? (int64_t)json_integer_value(v) : 0;
}

/* The mask of an array of codes, each parsed by parse (-1: unknown);
 * -1 when an element is not a known code or repeats one. */
static int64_t mask_of(json_t *body, const char *name, int (*parse)(const char *))
{
	json_t *a = json_object_get(body, name), *v;
	size_t i;
	uint32_t mask = 0;
	if (!a)
		return 0;
	json_array_foreach(a, i, v)
	{
		int k = json_is_string(v) ? parse(json_string_value(v)) : -1;
		if (k < 0 || k >= 32 || (mask & (1u << k)))
			return -1;
		mask |= 1u << k;
	}
	return mask;
}

static int parse_method(const char *s)
{
	return product_method_parse(s);
}

static enum senim_result invalid(struct http_request *req, struct http_response *resp,
				 const char *field, const char *rule)
{
	struct problem p = { .code = "validation_failed", .field = field, .rule = rule };
	return http_reply_problem(req, resp, &p);
}

static enum senim_result create_answer(struct http_request *req,
				       struct http_response *resp,
				       enum senim_result result, void *ctx)
{
	struct product_create *op = ctx;
	if (result)
		return result;
	char location[64 + PRODUCT_CODE_MAX];
	snprintf(location, sizeof(location), "/v1/products/%s", op->p.code);
	enum senim_result err = http_reply_json(resp, 201, product_json(&op->p));
	if (err)
		return err;
	return http_add_header(req, resp, "Location", location);
}

enum senim_result api_product_create(struct http_request *req, struct http_response *resp)
{
	json_t *body;
	if (http_json_body_or_reply(req, resp, create_fields, COUNT(create_fields),
				    &body))
		return SENIM_OK;
	struct product_create *op =
		arena_alloc_disposable(&req->arena, sizeof(*op), NULL);
	if (!op) {
		json_decref(body);
		return SENIM_ERR_NOMEM;
	}
	memset(op, 0, sizeof(*op));
	struct product *p = &op->p;
	snprintf(p->code, sizeof(p->code), "%s", jsonin_str(body, "code"));
	snprintf(p->name_ru, sizeof(p->name_ru), "%s", jsonin_str(body, "name_ru"));
	snprintf(p->name_kk, sizeof(p->name_kk), "%s", jsonin_str(body, "name_kk"));
	p->amount_min_tiyn = int_of(body, "amount_min_tiyn");
	p->amount_max_tiyn = int_of(body, "amount_max_tiyn");
	p->term_min_days = int_of(body, "term_min_days");
	p->term_max_days = int_of(body, "term_max_days");
	p->rate_bp = int_of(body, "rate_bp");
	p->issue_fee_tiyn = int_of(body, "issue_fee_tiyn");
	p->issue_fee_bp = int_of(body, "issue_fee_bp");
	json_t *active = json_object_get(body, "active");
	p->active = active ? json_is_true(active) : 1;
	int64_t methods = mask_of(body, "schedule_methods", parse_method);
	int64_t categories = mask_of(body, "categories", category_parse);
	int64_t consents = mask_of(body, "consents", consent_kind_parse);
	json_decref(body);
	if (methods <= 0)
		return invalid(req, resp, "schedule_methods", "enum_value");
	if (categories < 0)
		return invalid(req, resp, "categories", "enum_value");
	if (consents < 0)
		return invalid(req, resp, "consents", "enum_value");
	p->methods = (uint32_t)methods;
	p->categories = (uint32_t)categories;
	p->consents = (uint32_t)consents;
	const char *field = NULL, *rule = NULL;
	if (!product_valid(p, &field, &rule))
		return invalid(req, resp, field, rule);
	op->kr = req->app->keys;
	op->actor = req->actor.label;
	op->request_id = req->request_id;
	return http_write_then(req, products_create_tx, op, create_answer);
}
