/*
 * purposes.h — why personal data may be processed (U1-U10), what it is
 * (the categories D1-D7), and who may use which purpose for which data.
 *
 * Two matrices decide every access (S3):
 *   purpose x category — the categories a purpose may see, and of those the
 *                        ones it may also write (a purpose has a direction:
 *                        some only ever read);
 *   role x purpose     — the purposes a staff role may act under.
 * They ship as a JSON data file (data/access-matrix.json) whose defaults are
 * derived from the policy and explained cell by cell in docs/purposes.md;
 * access_matrix_parse() refuses a file that names an unknown purpose,
 * category or role, leaves one out, or grants what the policy forbids
 * outright (see the function's comment).  Pure code: the caller reads the
 * file.
 */
#ifndef SENIM_PURPOSES_H
#define SENIM_PURPOSES_H

#include <stddef.h>
#include <stdint.h>

#include "common/result.h"
#include "core/roles.h"

enum purpose {
	PURPOSE_LOAN_APPLICATION_REVIEW,   /* U1 */
	PURPOSE_LOAN_SERVICING,		   /* U2 */
	PURPOSE_FRAUD_PREVENTION,	   /* U3 */
	PURPOSE_IDENTIFICATION,		   /* U4 */
	PURPOSE_SECURITY_COMPLIANCE,	   /* U5 */
	PURPOSE_CUSTOMER_COMMUNICATION,	   /* U6 */
	PURPOSE_MARKETING,		   /* U7 */
	PURPOSE_MARKETING_CAMPAIGN_DESIGN, /* U8 */
	PURPOSE_INTERNAL_INVESTIGATION,	   /* U9 */
	PURPOSE_LEGAL_OBLIGATION,	   /* U10 */
	PURPOSE__COUNT
};

enum category {
	CATEGORY_IDENTITY,     /* D1, without biometrics */
	CATEGORY_FAMILY,       /* D2 */
	CATEGORY_MEDICAL,      /* D3, special (D7) */
	CATEGORY_CONTACT,      /* D4 */
	CATEGORY_PROFESSIONAL, /* D5 */
	CATEGORY_DEVICE,       /* D6 */
	CATEGORY_BIOMETRIC,    /* D1's face and signature images, special (D7) */
	CATEGORY__COUNT
};

#define PURPOSE_BIT(p) (1u << (p))
#define CATEGORY_BIT(c) (1u << (c))
#define PURPOSE_ALL ((1u << PURPOSE__COUNT) - 1)
#define CATEGORY_ALL ((1u << CATEGORY__COUNT) - 1)

/* Stable codes: "loan_application_review", ...; "identity", ... */
const char *purpose_code(enum purpose p);
int purpose_parse(const char *code);	    /* -1 when unknown */
const char *purpose_clause(enum purpose p); /* "U1" ... "U10" */
const char *category_code(enum category c);
int category_parse(const char *code); /* -1 when unknown */
/* The category of a kept field's key "<category>.<field>" (a state
 * database's answer, subject_sources), or -1. */
int category_of_key(const char *key);
/* A CATEGORY_BIT mask as "medical" or "family,contact" (enum order; "" for
 * none) into out, and back: unknown codes are skipped. */
void category_mask_text(uint32_t mask, char *out, size_t size);
uint32_t category_mask_parse(const char *text);
/* 1 for the special categories (D7): medical and biometric. */
int category_is_special(enum category c);

struct access_matrix {
	uint32_t categories_of[PURPOSE__COUNT]; /* CATEGORY_BIT mask per purpose */
	uint32_t writes_of[PURPOSE__COUNT];	/* the subset it may also write */
	uint32_t purposes_of[ROLE__COUNT];	/* PURPOSE_BIT mask per role */
};

/*
 * Parse and validate the matrix file's JSON text:
 *   {"purpose_categories": {"<purpose>": ["<category>", ...], ...},
 *    "purpose_writes": {"<purpose>": ["<category>", ...], ...},
 *    "role_purposes": {"<role>": ["<purpose>", ...], ...}}
 * purpose_categories says what a purpose may read, purpose_writes which of
 * those it may also write.  Every purpose and every role must appear
 * exactly once in each map (an empty list is allowed); unknown names,
 * duplicates, other keys or types are refused.
 * Rules from the policy that no file may break: the special categories
 * (medical, biometric) are never open to marketing or
 * marketing_campaign_design (D7); legal_obligation sees every category
 * (U10: what the law requires cannot be withheld); a purpose writes only
 * categories it may read; and the purposes that only look — marketing,
 * marketing_campaign_design (U7, U8), security_compliance (U5) and
 * internal_investigation (U9) — write nothing (access_purpose_read_only).
 * SENIM_OK, or SENIM_ERR_CONFIG with a one-line English reason written into
 * err (when err is not NULL); `out` is written only on success.
 */
SENIM_MUST_CHECK enum senim_result access_matrix_parse(const char *json, size_t len,
						       struct access_matrix *out,
						       char *err, size_t errlen);

/* 1 for the purposes that never write personal data, whatever a file
 * says: marketing and campaign design use the data, audits and
 * investigations examine it, none of them changes it. */
int purpose_read_only(enum purpose p);

/* The defaults compiled in (the same as data/access-matrix.json). */
void access_matrix_default(struct access_matrix *out);

#endif
