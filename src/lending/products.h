/*
 * products.h — the microcredit product catalogue (issue 12; C4).
 *
 * A product is what a borrower may apply for: its amount and term ranges
 * (integer tiyn, whole days), the nominal annual rate and fees, the schedule
 * methods it offers, and the data categories and consents an application
 * for it needs (C4: what the borrower refuses to give ends the application).
 *
 * Invariants: a product is versioned.  A change is a new version (code,
 * version + 1), never an edit, so an application keeps the exact terms it
 * was made under; the current version of a code is its highest.  Only an
 * active current version takes applications.  Creation is audited
 * (`product.create`) in the same transaction.  Nothing here is personal
 * data.
 */
#ifndef SENIM_PRODUCTS_H
#define SENIM_PRODUCTS_H

#include <stddef.h>
#include <stdint.h>

#include "common/result.h"
#include "core/purposes.h"
#include "core/schedule.h"
#include "store/store.h"
#include "vault/keyring.h"

#define PRODUCT_CODE_MAX 32  /* [a-z0-9_-], a letter or digit first */
#define PRODUCT_NAME_MAX 200 /* characters, each language */
/* Upper bounds that keep every product's arithmetic far from overflow:
 * 10^13 tiyn is 10^11 tenge, well above any legal microcredit. */
#define PRODUCT_AMOUNT_MAX 10000000000000LL
#define PRODUCT_TERM_MAX 3660	/* days */
#define PRODUCT_RATE_MAX 100000 /* bp: 1000% a year */

/* 1 when `code` can name a product (says nothing of existence). */
int product_code_valid(const char *code);

/* Schedule methods as bits: 1u << enum schedule_method. */
#define PRODUCT_METHOD_BIT(m) (1u << (m))
/* "annuity", "differentiated", "single"; NULL out of range. */
const char *product_method_code(enum schedule_method m);
int product_method_parse(const char *code); /* -1 when unknown */

struct product {
	char code[PRODUCT_CODE_MAX + 1];
	int64_t version; /* 1, 2, ... */
	char name_ru[4 * PRODUCT_NAME_MAX + 1], name_kk[4 * PRODUCT_NAME_MAX + 1];
	int64_t amount_min_tiyn, amount_max_tiyn;
	int64_t term_min_days, term_max_days;
	int64_t rate_bp;	/* nominal annual rate */
	int64_t issue_fee_tiyn; /* a fixed fee at payout */
	int64_t issue_fee_bp;	/* a fee at payout, of the amount */
	uint32_t methods;	/* PRODUCT_METHOD_BIT mask, not 0 */
	uint32_t categories;	/* CATEGORY_BIT mask the product needs (C4) */
	uint32_t consents;	/* 1u << enum consent_kind it needs */
	int active;
	int64_t created_at; /* microseconds */
	char created_by[40];
};

/* 1 when the code, ranges, rate, fees and methods are coherent (what the
 * schema's CHECKs and the bounds above demand); else *field gets the first
 * field at fault and *rule the validation rule it broke ("format",
 * "enum_value", "min_value": below its minimum or, for a range's maximum,
 * below the range's minimum; "max_value"), both static. */
int product_valid(const struct product *p, const char **field, const char **rule);

/*
 * Creating a version.  The caller fills `p` (its version and created_*
 * are set here) and checks it with product_valid(); products_create_tx
 * inserts it as the code's next version with `product.create`'s audit
 * record.  This op owns nothing: no dispose.
 */
struct product_create {
	/* in (borrowed) */
	const struct keyring *kr;
	const char *actor, *request_id;
	/* in and out */
	struct product p;
};
SENIM_MUST_CHECK enum senim_result products_create_tx(struct store_tx *tx, void *op);

/* Inside a transaction: version `version` of `code`, or its current
 * version when version is 0.  SENIM_ERR_NOT_FOUND when there is none. */
SENIM_MUST_CHECK enum senim_result products_get_in(struct store_tx *tx, const char *code,
						   int64_t version, struct product *out);
/* The same in a read transaction of its own. */
SENIM_MUST_CHECK enum senim_result products_get(struct store *st, const char *code,
						int64_t version, struct product *out);

/* The current version of every code, by code; active_only skips the
 * inactive.  A result other than SENIM_OK from fn ends the walk with it. */
typedef enum senim_result (*product_each_fn)(const struct product *p, void *ctx);
SENIM_MUST_CHECK enum senim_result products_list(struct store *st, int active_only,
						 product_each_fn fn, void *ctx);

/* Comma-separated codes of a mask (categories, consents, methods) into
 * out (cap bytes); "" for 0. */
void product_categories_text(uint32_t mask, char *out, size_t cap);
void product_consents_text(uint32_t mask, char *out, size_t cap);
void product_methods_text(uint32_t mask, char *out, size_t cap);

#endif
