/*
 * recipients.h — the recipients file: who outside the lender may receive
 * what about a borrower, for which purposes, and on what ground (T1-T5).
 * Pure code: the caller reads the file and opens the files it names.
 *
 * The file is lines of UTF-8 text (LF or CRLF, at most RECIPIENTS_FILE_MAX
 * bytes, lines of at most RECIPIENTS_LINE_MAX bytes, no control characters).
 * A line is blank, a comment (`#` first, on its own line: a value may hold
 * `#`), a section header, or `key = value` (the value runs to the end of
 * the line, trimmed; a list is separated by spaces).  Sections:
 *
 *   [cross_border]          allowed_countries: where a recipient abroad may be
 *   [recipient CODE]        one organisation: names, registration, kind,
 *                           country, endpoint, the paths of its credentials,
 *                           client certificate, key and CA, timeouts, limits,
 *                           and a processor's processing agreement
 *   [service CODE.SERVICE]  one API of a recipient defined above: the
 *                           purposes it serves, the fields it is sent, the
 *                           fields kept from its answer, and its ground —
 *                           consent:KIND, law:REFERENCE or agreement
 *
 * docs/recipients.md explains every key and rule.  recipients_parse()
 * accepts a file only when every rule holds; the rules tie the file to the
 * policy as senim compiles it in: the purposes and categories
 * (core/purposes.h), the access matrix in force, the field schema
 * (core/categories.h) and the consents and what each covers
 * (core/consents.h).  Among them: a field is sent only when every purpose
 * of the service may see its category and the consent covers it; the
 * special categories (D7) are never sent; a consent grounds only transfers
 * to the recipients it names; law: grounds only legal_obligation; a
 * processor serves only the purposes of its processing agreement; a
 * recipient abroad is in an allowed country and within what the
 * cross-border consent covers.
 *
 * A refused file gets one line naming where, in the form
 *   FILE:LINE: [SECTION] KEY: MESSAGE
 * (without "[SECTION] KEY" for a fault of the line itself, and with the
 * header's line and no KEY for a key that is missing).  The file holds no
 * secrets, only the paths of the files that do.
 */
#ifndef SENIM_RECIPIENTS_H
#define SENIM_RECIPIENTS_H

#include <stddef.h>
#include <stdint.h>

#include "common/result.h"
#include "core/purposes.h"

#define RECIPIENTS_FILE_MAX (256 * 1024)
#define RECIPIENTS_LINE_MAX 2048
#define RECIPIENTS_MAX 64
#define RECIPIENT_SERVICES_MAX 16
#define RECIPIENTS_LIST_MAX 64 /* items in one list value */

enum recipient_kind {
	RECIPIENT_CREDIT_BUREAU,   /* T2 */
	RECIPIENT_MOBILE_OPERATOR, /* T1 */
	RECIPIENT_STATE_DATABASE,  /* T3 */
	RECIPIENT_PROCESSOR,	   /* T5: acts on the lender's instruction */
	RECIPIENT_OTHER,	   /* T4: no API is defined for it yet */
	RECIPIENT_KIND__COUNT
};

/* The wire APIs senim speaks (docs/connectors/), each for one kind. */
enum recipient_api {
	RECIPIENT_API_CREDIT_REPORT,  /* credit_report/1, credit bureaus */
	RECIPIENT_API_LOAN_EVENT,     /* loan_event/1, credit bureaus */
	RECIPIENT_API_PHONE_CHECK,    /* phone_check/1, mobile operators */
	RECIPIENT_API_FAMILY_TIES,    /* family_ties/1, state databases */
	RECIPIENT_API_ADDRESS,	      /* address/1, state databases */
	RECIPIENT_API_LEGAL_CAPACITY, /* legal_capacity/1, state databases */
	RECIPIENT_API_SMS,	      /* sms/1, processors (connectors/sms.h) */
	RECIPIENT_API_PROCESSING,     /* processing/1, processors */
	RECIPIENT_API_PAYOUT,	      /* payout/1, processors (connectors/payment.h) */
	RECIPIENT_API__COUNT
};

enum recipient_basis {
	RECIPIENT_BASIS_CONSENT,   /* consent:KIND, active at transfer time */
	RECIPIENT_BASIS_LAW,	   /* law:REFERENCE, for legal_obligation only */
	RECIPIENT_BASIS_AGREEMENT, /* a processor's processing agreement */
};

/* Categories that exist only in the register (design Q2): a bureau's
 * report, an operator's answer on a phone, a loan event.  They follow the
 * policy's categories, so a field's `category` is one number. */
enum {
	RECIPIENT_CATEGORY_REPORT = CATEGORY__COUNT,
	RECIPIENT_CATEGORY_PHONE,
	RECIPIENT_CATEGORY_LOAN,
	RECIPIENT_CATEGORY__COUNT
};

/* One item of `sends` or `receives`. */
struct recipient_field {
	const char *code; /* "identity.iin", as written */
	int category;	  /* enum category, or RECIPIENT_CATEGORY_* */
	const char *name; /* "iin": the part after the dot */
};

struct recipient_service {
	const char *code; /* "credit_report": after CODE. in the header */
	enum recipient_api api;
	const char *path;	   /* the API's path, or the file's override */
	uint32_t purposes;	   /* PURPOSE_BIT mask, never empty */
	uint32_t sends_categories; /* 1u << category of each item of `sends` */
	const struct recipient_field *sends;
	size_t nsends;
	const struct recipient_field *receives; /* NULL when the API answers
						 * with nothing to keep */
	size_t nreceives;
	enum recipient_basis basis;
	int consent;		   /* enum consent_kind with BASIS_CONSENT, else -1 */
	const char *legal_ref;	   /* with BASIS_LAW, else NULL */
	int state_service_consent; /* state databases: 1 (the default) or 0 */
	unsigned line;		   /* of its header */
};

struct recipient {
	const char *code;    /* [a-z][a-z0-9_]{1,31} */
	const char *name_ru; /* 1-300 code points */
	const char *name_kk;
	const char *registration; /* "bin:NNNNNNNNNNNN", "foreign:CC:ID" or
				   * "pending" */
	int registration_pending; /* 1 for "pending" */
	enum recipient_kind kind;
	char country[3];      /* ISO 3166-1 alpha-2 */
	const char *endpoint; /* https://host[:port][/path] */
	/* Absolute paths, or NULL when not given. */
	const char *credentials; /* first line: the bearer token */
	const char *client_cert; /* PEM; with client_key, or neither */
	const char *client_key;	 /* PEM, mode 0600 */
	const char *ca;		 /* PEM bundle; NULL: the system's CAs */
	/* The lines naming them, for messages about the files (0: none). */
	unsigned credentials_line, client_cert_line, client_key_line, ca_line;
	int connect_timeout_ms; /* 100-10000, default 1000 */
	int timeout_ms;		/* 100-30000 per attempt, default 3000 */
	int max_in_flight;	/* 1-256, default 32 */
	int max_queued;		/* 0-4096, default 256 */
	int breaker_failures;	/* 1-100, default 5 */
	int breaker_open_ms;	/* 100-600000, default 5000 */
	/* Processors only (T5): the agreement they act under. */
	const char *agreement_id;    /* NULL for other kinds */
	char agreement_date[11];     /* "YYYY-MM-DD", or "" */
	uint32_t agreement_purposes; /* PURPOSE_BIT mask */
	int report_within_days;	     /* credit bureaus: 1-90, or 0 when unset */
	struct recipient_service services[RECIPIENT_SERVICES_MAX];
	size_t nservices;
	unsigned line; /* of its header */
};

/* A parsed file.  Every string points into memory the struct owns. */
struct recipients {
	struct recipient recipients[RECIPIENTS_MAX];
	size_t n;
	char allowed_countries[RECIPIENTS_LIST_MAX][3];
	size_t ncountries;
	char *pool_; /* the text the strings point into: the parser's */
};

/*
 * Parse and check the file's `len` bytes of `text` (need not be
 * NUL-terminated) against the access matrix `m`.  `name` is how messages
 * name the file.  On SENIM_OK *out is a new struct the caller frees with
 * recipients_free().  SENIM_ERR_INVALID: the file breaks a rule and `err`
 * (errlen > 0) holds the one line saying where and why, valid UTF-8 even
 * when cut short.  SENIM_ERR_NOMEM: out of memory.  *out is NULL on
 * failure.
 */
SENIM_MUST_CHECK enum senim_result recipients_parse(const char *name, const char *text,
						    size_t len,
						    const struct access_matrix *m,
						    struct recipients **out, char *err,
						    size_t errlen);

/* Free what recipients_parse() made; NULL does nothing. */
void recipients_free(struct recipients *r);

/* The recipient with this code, or NULL. */
const struct recipient *recipients_find(const struct recipients *r, const char *code);

/* The recipient's service with this code ("credit_report"), or NULL. */
const struct recipient_service *recipient_service_find(const struct recipient *rc,
						       const char *code);

/* 1 when a state database of the file answers with field `name` of
 * category `category` (a `receives` item of a state_database recipient's
 * service): a value that comes from the state, not the borrower's to
 * correct by declaration (R2).  0 otherwise, and for r NULL. */
int recipients_state_sourced(const struct recipients *r, int category, const char *name);

/* "credit_bureau", ... ; NULL out of range. */
const char *recipient_kind_code(enum recipient_kind k);
/* "credit_report/1", ... and the API's default path "/v1/credit-reports";
 * NULL out of range. */
const char *recipient_api_code(enum recipient_api a);
const char *recipient_api_path(enum recipient_api a);
/* "consent", "law", "agreement". */
const char *recipient_basis_code(enum recipient_basis b);
/* "identity" ... "biometric", then "report", "phone", "loan"; NULL out of
 * range. */
const char *recipient_category_code(int category);

#endif
