/*
 * recipients.c — the recipients file's parser and its rules (recipients.h).
 *
 * One pass over the lines.  The parser copies the text once (the pool) and
 * cuts values out of it in place, so every string of the result points
 * into the pool.  A section is checked when it ends (at the next header or
 * the end of the file), when all of its keys are known, in a fixed order:
 * the keys others depend on first (kind and country before registration,
 * api and basis before purposes and sends).  A service names a recipient
 * defined above it, so the recipient is complete when the service is
 * checked; only the countries of recipients abroad wait for the end of the
 * file, since [cross_border] may come anywhere.
 */
#include "core/recipients.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
#include "core/categories.h"
#include "core/consents.h"
#include "core/contact.h"
#include "core/iin.h"
#include "common/banned.h"

#define NAME_MAX_CHARS 300
#define LEGAL_REF_MAX_CHARS 200
#define ENDPOINT_MAX 512
#define SERVICE_PATH_MAX 256
#define REGISTRATION_ID_MAX 64
#define AGREEMENT_ID_MAX 64

/* ---- names of things --------------------------------------------------------- */

static const char *const kind_codes[RECIPIENT_KIND__COUNT] = {
	"credit_bureau", "mobile_operator", "state_database", "processor", "other",
};

/* How messages speak of a kind. */
static const char *const kind_names[RECIPIENT_KIND__COUNT] = {
	"a credit bureau", "a mobile operator",		"a state database",
	"a processor",	   "a recipient of kind other",
};

static const char *const basis_codes[] = { "consent", "law", "agreement" };

static const char *const extra_categories[] = { "report", "phone", "loan" };

/* ---- the APIs ---------------------------------------------------------------- */

/* What each API sends and answers (docs/connectors/).  `allowed` NULL: any
 * field of a policy category (processing/1 carries a chosen set); `answers`
 * NULL: nothing in the answer is kept, so `receives` is not given. */
struct api_def {
	const char *code;
	enum recipient_kind kind;
	const char *path;
	const char *const *required;
	const char *const *allowed;
	const char *const *answers;
};

static const char *const none[] = { NULL };
static const char *const iin_only[] = { "identity.iin", NULL };
static const char *const report_answers[] = {
	"report.has_history",
	"report.score",
	"report.loans",
	"report.total_debt_tiyn",
	"report.enquiries",
	"report.self_excluded",
	NULL,
};
static const char *const loan_event_required[] = {
	"identity.iin",		"identity.surname", "identity.given_name",
	"identity.birth_date",	"loan.event",	    "loan.occurred_on",
	"loan.contract_number", "loan.amount_tiyn", "loan.outstanding_tiyn",
	"loan.overdue_days",	"loan.due_date",    NULL,
};
static const char *const loan_event_allowed[] = {
	"identity.iin",
	"identity.surname",
	"identity.given_name",
	"identity.patronymic",
	"identity.birth_date",
	"loan.event",
	"loan.occurred_on",
	"loan.contract_number",
	"loan.amount_tiyn",
	"loan.outstanding_tiyn",
	"loan.overdue_days",
	"loan.due_date",
	"loan.purpose", /* an application's (`applied`) only */
	NULL,
};
static const char *const phone_sends[] = { "identity.iin", "contact.phone_mobile", NULL };
static const char *const phone_answers[] = { "phone.match", "phone.owner_since",
					     "phone.subscriber_type", "phone.score",
					     NULL };
static const char *const family_answers[] = { "family.marital_status",
					      "family.spouse_name", "family.dependants",
					      NULL };
static const char *const address_answers[] = { "contact.registered_address",
					       "contact.address_registry_id", NULL };
static const char *const capacity_answers[] = { "medical.legal_capacity",
						"medical.source_body", NULL };
static const char *const sms_sends[] = { "contact.phone_mobile", NULL };
/* A payout names the contract, the amount and where the money goes; the
 * IIN only as the holder of an IBAN (docs/connectors/payment-provider.md). */
static const char *const payout_required[] = { "loan.contract_number", "loan.amount_tiyn",
					       "loan.payout_destination", NULL };
static const char *const payout_allowed[] = { "loan.contract_number", "loan.amount_tiyn",
					      "loan.payout_destination", "identity.iin",
					      NULL };

static const struct api_def apis[RECIPIENT_API__COUNT] = {
	[RECIPIENT_API_CREDIT_REPORT] = { "credit_report/1", RECIPIENT_CREDIT_BUREAU,
					  "/v1/credit-reports", iin_only, iin_only,
					  report_answers },
	[RECIPIENT_API_LOAN_EVENT] = { "loan_event/1", RECIPIENT_CREDIT_BUREAU,
				       "/v1/loan-events", loan_event_required,
				       loan_event_allowed, NULL },
	[RECIPIENT_API_PHONE_CHECK] = { "phone_check/1", RECIPIENT_MOBILE_OPERATOR,
					"/v1/phone-checks", phone_sends, phone_sends,
					phone_answers },
	[RECIPIENT_API_FAMILY_TIES] = { "family_ties/1", RECIPIENT_STATE_DATABASE,
					"/v1/family-ties", iin_only, iin_only,
					family_answers },
	[RECIPIENT_API_ADDRESS] = { "address/1", RECIPIENT_STATE_DATABASE,
				    "/v1/addresses", iin_only, iin_only,
				    address_answers },
	[RECIPIENT_API_LEGAL_CAPACITY] = { "legal_capacity/1", RECIPIENT_STATE_DATABASE,
					   "/v1/legal-capacity", iin_only, iin_only,
					   capacity_answers },
	[RECIPIENT_API_SMS] = { "sms/1", RECIPIENT_PROCESSOR, "/messages", sms_sends,
				sms_sends, NULL },
	[RECIPIENT_API_PROCESSING] = { "processing/1", RECIPIENT_PROCESSOR, "/v1/jobs",
				       none, NULL, NULL },
	[RECIPIENT_API_PAYOUT] = { "payout/1", RECIPIENT_PROCESSOR, "/v1/payouts",
				   payout_required, payout_allowed, NULL },
};

/* The loan's own fields (loan.*: a loan event's, design §3.4, and where a
 * payout goes, payout/1) and the answer fields of
 * the register-only categories. */
static const char *const loan_fields[] = {
	"event",       "occurred_on",	     "contract_number",
	"amount_tiyn", "outstanding_tiyn",   "overdue_days",
	"due_date",    "payout_destination", "purpose",
	NULL
};
static const char *const report_fields[] = { "has_history", "score",
					     "loans",	    "total_debt_tiyn",
					     "enquiries",   "self_excluded",
					     NULL };
static const char *const phone_fields[] = { "match", "owner_since", "subscriber_type",
					    "score", NULL };

/* Which recipients a consent reaches (core/consents.h names them): the
 * bureau and operator consents name their recipients, so the recipient's
 * name_ru must be one of those; the state-database consent names a class;
 * the cross-border one reaches any recipient abroad.  The policy and the
 * marketing consents reach the lender alone and ground no transfer. */
static const struct {
	enum consent_kind consent;
	int kind; /* enum recipient_kind, or -1: any recipient abroad */
	int by_name;
} reach[] = {
	{ CONSENT_CREDIT_BUREAU_GKB, RECIPIENT_CREDIT_BUREAU, 1 },
	{ CONSENT_CREDIT_BUREAU_PKB, RECIPIENT_CREDIT_BUREAU, 1 },
	{ CONSENT_MOBILE_OPERATOR, RECIPIENT_MOBILE_OPERATOR, 1 },
	{ CONSENT_STATE_DATABASE, RECIPIENT_STATE_DATABASE, 0 },
	{ CONSENT_CROSS_BORDER, -1, 0 },
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- the keys of each section ------------------------------------------------ */

enum rkey {
	RK_NAME_RU,
	RK_NAME_KK,
	RK_KIND,
	RK_COUNTRY,
	RK_REGISTRATION,
	RK_ENDPOINT,
	RK_CREDENTIALS,
	RK_CLIENT_CERT,
	RK_CLIENT_KEY,
	RK_CA,
	RK_CONNECT_TIMEOUT,
	RK_TIMEOUT,
	RK_MAX_IN_FLIGHT,
	RK_MAX_QUEUED,
	RK_BREAKER_FAILURES,
	RK_BREAKER_OPEN,
	RK_AGREEMENT,
	RK_AGREEMENT_PURPOSES,
	RK_REPORT_WITHIN,
	RK__COUNT
};

static const char *const recipient_keys[RK__COUNT] = {
	"name_ru",
	"name_kk",
	"kind",
	"country",
	"registration",
	"endpoint",
	"credentials",
	"client_cert",
	"client_key",
	"ca",
	"connect_timeout_ms",
	"timeout_ms",
	"max_in_flight",
	"max_queued",
	"breaker_failures",
	"breaker_open_ms",
	"agreement",
	"agreement_purposes",
	"report_within_days",
};

enum skey {
	SK_API,
	SK_PATH,
	SK_BASIS,
	SK_PURPOSES,
	SK_SENDS,
	SK_RECEIVES,
	SK_STATE_SERVICE_CONSENT,
	SK__COUNT
};

static const char *const service_keys[SK__COUNT] = {
	"api", "path", "basis", "purposes", "sends", "receives", "state_service_consent",
};

static const char *const cross_border_keys[] = { "allowed_countries" };

enum section {
	SEC_NONE,
	SEC_CROSS_BORDER,
	SEC_RECIPIENT,
	SEC_SERVICE
};

struct parser {
	const char *file;
	const struct access_matrix *m;
	struct recipients *r;
	char *err;
	size_t errlen;

	enum section sec;
	unsigned sec_line;
	char label[RECIPIENTS_LINE_MAX + 32]; /* "[recipient gkb]" */
	struct recipient *rc;		      /* the section's, or the service's */
	struct recipient_service *svc;
	/* The current section's values (cut out of the pool) and their lines. */
	char *val[RK__COUNT];
	unsigned at[RK__COUNT];

	unsigned country_at[RECIPIENTS_MAX];
	unsigned cross_border_at; /* its header's line, 0 while none */
	char *items[RECIPIENTS_LIST_MAX];
	size_t nitems;
};

/* ---- messages ---------------------------------------------------------------- */

/*
 * Write "FILE:LINE: [SECTION] KEY: MESSAGE" into p->err: with in_section 0
 * no "[SECTION] KEY", with key NULL no KEY.  A message cut short by errlen
 * is cut at a character, so the line stays UTF-8.  Returns
 * SENIM_ERR_INVALID for the caller to pass on.
 */
__attribute__((format(printf, 5, 6))) static enum senim_result
failf(struct parser *p, unsigned line, int in_section, const char *key, const char *fmt,
      ...)
{
	if (!p->errlen)
		return SENIM_ERR_INVALID;
	size_t n = (size_t)snprintf(p->err, p->errlen, "%s:%u: ", p->file, line);
	if (in_section && n < p->errlen)
		n += (size_t)snprintf(p->err + n, p->errlen - n,
				      key ? "%s %s: " : "%s: ", p->label, key);
	if (n < p->errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(p->err + n, p->errlen - n, fmt, ap);
		va_end(ap);
	}
	size_t len = strlen(p->err);
	while (len > 0 && !utf8_valid(p->err, len))
		p->err[--len] = '\0';
	return SENIM_ERR_INVALID;
}

/* "a, b, c": the codes of the purposes in mask. */
static const char *purpose_list(char *buf, size_t cap, uint32_t mask)
{
	size_t n = 0;
	buf[0] = '\0';
	for (int i = 0; i < PURPOSE__COUNT && n < cap; i++)
		if (mask & PURPOSE_BIT(i))
			n += (size_t)snprintf(buf + n, cap - n, "%s%s", n ? ", " : "",
					      purpose_code(i));
	return buf;
}

/* "a, b, c": a NULL-terminated list. */
static const char *string_list(char *buf, size_t cap, const char *const *list)
{
	size_t n = 0;
	buf[0] = '\0';
	for (size_t i = 0; list[i] && n < cap; i++)
		n += (size_t)snprintf(buf + n, cap - n, "%s%s", n ? ", " : "", list[i]);
	return buf;
}

static int listed(const char *s, const char *const *list)
{
	for (size_t i = 0; list[i]; i++)
		if (strcmp(s, list[i]) == 0)
			return 1;
	return 0;
}

/* ---- small checks ------------------------------------------------------------ */

/* [a-z][a-z0-9_]{1,31} */
static int code_valid(const char *s)
{
	size_t n = strlen(s);
	if (n < 2 || n > 32 || s[0] < 'a' || s[0] > 'z')
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '_'))
			return 0;
	return 1;
}

/* 1 with *out set when s is a whole number within [min, max]. */
static int number(const char *s, long min, long max, int *out)
{
	long v = 0;
	size_t i = 0;
	for (; s[i]; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= 9)
			return 0;
		v = v * 10 + (s[i] - '0');
	}
	if (i == 0 || v < min || v > max)
		return 0;
	*out = (int)v;
	return 1;
}

/* 1 when every byte is visible ASCII (0x21-0x7e). */
static int visible_ascii(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

/* Why `s` is not an endpoint senim calls, or NULL when it is one:
 * https://host[:port][/path], without user name, query or fragment;
 * http:// only on the loopback (tests and benchmarks). */
static const char *endpoint_problem(const char *s)
{
	size_t len = strlen(s);
	if (len > ENDPOINT_MAX)
		return "longer than 512 bytes";
	if (!visible_ascii(s, len))
		return "only visible ASCII (an international host name in punycode)";
	int plain = 0;
	const char *rest;
	if (strncmp(s, "https://", 8) == 0) {
		rest = s + 8;
	} else if (strncmp(s, "http://", 7) == 0) {
		rest = s + 7;
		plain = 1;
	} else {
		return "must start with https://";
	}
	if (strpbrk(s, "?#"))
		return "no query or fragment";
	const char *slash = strchr(rest, '/');
	const char *aend = slash ? slash : rest + strlen(rest);
	if (memchr(rest, '@', (size_t)(aend - rest)))
		return "no user name or password in the URL (the credentials file holds "
		       "the token)";
	const char *host = rest, *hend, *port = NULL;
	if (*host == '[') {
		hend = memchr(host, ']', (size_t)(aend - host));
		if (!hend || hend == host + 1)
			return "an IPv6 host is written [ADDRESS]";
		for (const char *c = host + 1; c < hend; c++)
			if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f') ||
			      (*c >= 'A' && *c <= 'F') || *c == ':' || *c == '.'))
				return "an IPv6 host is written [ADDRESS]";
		hend++;
		if (hend < aend && *hend != ':')
			return "a port follows the host after a colon";
		if (hend < aend)
			port = hend + 1;
	} else {
		const char *colon = memchr(host, ':', (size_t)(aend - host));
		hend = colon ? colon : aend;
		if (hend == host)
			return "the host is missing";
		for (const char *c = host; c < hend; c++)
			if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'z') ||
			      (*c >= 'A' && *c <= 'Z') || *c == '.' || *c == '-'))
				return "the host has a character a host name cannot have";
		if (colon)
			port = colon + 1;
	}
	if (port) {
		long v = 0;
		if (port == aend || aend - port > 5)
			return "the port must be 1 to 65535";
		for (const char *c = port; c < aend; c++) {
			if (*c < '0' || *c > '9')
				return "the port must be 1 to 65535";
			v = v * 10 + (*c - '0');
		}
		if (v < 1 || v > 65535)
			return "the port must be 1 to 65535";
	}
	size_t hlen = (size_t)(hend - host);
	if (plain && !((hlen == 9 && strncmp(host, "127.0.0.1", 9) == 0) ||
		       (hlen == 5 && strncmp(host, "[::1]", 5) == 0) ||
		       (hlen == 9 && strncmp(host, "localhost", 9) == 0)))
		return "http:// only for 127.0.0.1, ::1 or localhost; use https://";
	return NULL;
}

/* ---- lists and fields -------------------------------------------------------- */

/* Cut the value at p->val[k] into space-separated items (p->items). */
static enum senim_result split(struct parser *p, int k, const char *key)
{
	char *s = p->val[k];
	p->nitems = 0;
	while (*s) {
		while (*s == ' ')
			s++;
		if (!*s)
			break;
		if (p->nitems == RECIPIENTS_LIST_MAX)
			return failf(p, p->at[k], 1, key, "more than %d items",
				     RECIPIENTS_LIST_MAX);
		p->items[p->nitems] = s;
		while (*s && *s != ' ')
			s++;
		if (*s)
			*s++ = '\0';
		for (size_t i = 0; i < p->nitems; i++)
			if (strcmp(p->items[i], p->items[p->nitems]) == 0)
				return failf(p, p->at[k], 1, key,
					     "\"%s\" is listed twice", p->items[i]);
		p->nitems++;
	}
	return SENIM_OK;
}

/* Purpose codes of the current list into *mask. */
static enum senim_result purposes_parse(struct parser *p, int k, const char *key,
					uint32_t *mask)
{
	char all[512];
	enum senim_result err = split(p, k, key);
	if (err)
		return err;
	*mask = 0;
	for (size_t i = 0; i < p->nitems; i++) {
		int pu = purpose_parse(p->items[i]);
		if (pu < 0)
			return failf(p, p->at[k], 1, key,
				     "\"%s\" is not a purpose of the policy (one of %s)",
				     p->items[i],
				     purpose_list(all, sizeof(all), PURPOSE_ALL));
		*mask |= PURPOSE_BIT(pu);
	}
	return SENIM_OK;
}

/* The category named by the `n` bytes at s: enum category, a register-only
 * RECIPIENT_CATEGORY_*, or -1. */
static int category_of(const char *s, size_t n)
{
	char name[32];
	if (n >= sizeof(name))
		return -1;
	memcpy(name, s, n);
	name[n] = '\0';
	int c = category_parse(name);
	if (c >= 0)
		return c;
	for (size_t i = 0; i < N(extra_categories); i++)
		if (strcmp(name, extra_categories[i]) == 0)
			return CATEGORY__COUNT + (int)i;
	return -1;
}

/* Read item `s` as CATEGORY.FIELD into *f, naming what is wrong with it. */
static enum senim_result field_parse(struct parser *p, int k, const char *key, char *s,
				     struct recipient_field *f)
{
	char *dot = strchr(s, '.');
	if (!dot || dot == s || !dot[1])
		return failf(p, p->at[k], 1, key, "\"%s\" is not CATEGORY.FIELD", s);
	int c = category_of(s, (size_t)(dot - s));
	if (c < 0)
		return failf(
			p, p->at[k], 1, key,
			"\"%s\": no category \"%.*s\" (one of identity, family, medical, "
			"contact, professional, device, biometric, report, phone, "
			"loan)",
			s, (int)(dot - s), s);
	const char *name = dot + 1;
	int known;
	if (c < CATEGORY__COUNT)
		known = category_field(c, name) != NULL;
	else
		known = listed(name, c == RECIPIENT_CATEGORY_LOAN     ? loan_fields
				     : c == RECIPIENT_CATEGORY_REPORT ? report_fields
								      : phone_fields);
	if (!known)
		return failf(p, p->at[k], 1, key, "\"%s\" is not a field of category %s",
			     s, recipient_category_code(c));
	f->code = s;
	f->category = c;
	f->name = name;
	return SENIM_OK;
}

/* ---- [recipient CODE] -------------------------------------------------------- */

static enum senim_result check_registration(struct parser *p, struct recipient *rc)
{
	const char *v = p->val[RK_REGISTRATION];
	const char *key = "registration";
	unsigned at = p->at[RK_REGISTRATION];
	rc->registration = v;
	if (strcmp(v, "pending") == 0) {
		rc->registration_pending = 1;
		return SENIM_OK;
	}
	if (strcmp(rc->country, "KZ") == 0) {
		/* A BIN has the IIN's check digit (core/iin.h). */
		if (strncmp(v, "bin:", 4) != 0 || strlen(v) != 16 ||
		    strspn(v + 4, "0123456789") != 12)
			return failf(
				p, at, 1, key,
				"a recipient in KZ is registered by its BIN: \"bin:\" "
				"and 12 digits, or \"pending\"");
		int check = iin_check_digit(v + 4);
		if (check < 0 || check != v[15] - '0')
			return failf(p, at, 1, key, "BIN %s fails its check digit",
				     v + 4);
		return SENIM_OK;
	}
	if (strncmp(v, "foreign:", 8) != 0 || strlen(v) < 11 || v[10] != ':')
		return failf(p, at, 1, key,
			     "a recipient in %s is registered as \"foreign:%s:ID\", or "
			     "\"pending\"",
			     rc->country, rc->country);
	if (strncmp(v + 8, rc->country, 2) != 0)
		return failf(
			p, at, 1, key,
			"\"%.2s\" in the registration is not the recipient's country %s",
			v + 8, rc->country);
	size_t idlen = strlen(v + 11);
	if (idlen < 1 || idlen > REGISTRATION_ID_MAX || !visible_ascii(v + 11, idlen))
		return failf(p, at, 1, key,
			     "the ID after \"foreign:%s:\" must be 1 to %d visible ASCII "
			     "characters",
			     rc->country, REGISTRATION_ID_MAX);
	return SENIM_OK;
}

/* "ID YYYY-MM-DD": the agreement's number and date. */
static enum senim_result check_agreement(struct parser *p, struct recipient *rc)
{
	char *v = p->val[RK_AGREEMENT];
	char *space = strchr(v, ' ');
	if (!space || strchr(space + 1, ' ') || space - v > AGREEMENT_ID_MAX ||
	    !visible_ascii(v, (size_t)(space - v)))
		return failf(p, p->at[RK_AGREEMENT], 1, "agreement",
			     "want \"ID YYYY-MM-DD\": the agreement's number (1 to %d "
			     "visible ASCII characters) and date",
			     AGREEMENT_ID_MAX);
	int y, mo, d;
	if (strlen(space + 1) != 10 || !date_parse_iso(space + 1, 10, &y, &mo, &d))
		return failf(p, p->at[RK_AGREEMENT], 1, "agreement",
			     "\"%s\" is not a date (YYYY-MM-DD)", space + 1);
	*space = '\0';
	rc->agreement_id = v;
	memcpy(rc->agreement_date, space + 1, 11);
	return SENIM_OK;
}

/* A whole-number key within [min, max], or its default. */
static enum senim_result check_number(struct parser *p, int k, long min, long max,
				      int fallback, int *out)
{
	*out = fallback;
	if (!p->val[k])
		return SENIM_OK;
	if (!number(p->val[k], min, max, out))
		return failf(p, p->at[k], 1, recipient_keys[k],
			     "want a whole number from %ld to %ld", min, max);
	return SENIM_OK;
}

static enum senim_result finish_recipient(struct parser *p)
{
	struct recipient *rc = p->rc;
	enum senim_result err;
	char all[256];

	for (int k = 0; k <= RK_ENDPOINT; k++)
		if (!p->val[k])
			return failf(p, p->sec_line, 1, NULL,
				     "required key \"%s\" is missing", recipient_keys[k]);
	for (int k = RK_NAME_RU; k <= RK_NAME_KK; k++) {
		const char *v = p->val[k];
		if (utf8_chars(v, strlen(v)) > NAME_MAX_CHARS)
			return failf(p, p->at[k], 1, recipient_keys[k],
				     "longer than %d characters", NAME_MAX_CHARS);
	}
	rc->name_ru = p->val[RK_NAME_RU];
	rc->name_kk = p->val[RK_NAME_KK];

	int kind = -1;
	for (int i = 0; i < RECIPIENT_KIND__COUNT; i++)
		if (strcmp(p->val[RK_KIND], kind_codes[i]) == 0)
			kind = i;
	if (kind < 0)
		return failf(
			p, p->at[RK_KIND], 1, "kind", "unknown kind \"%s\" (one of %s)",
			p->val[RK_KIND],
			string_list(all, sizeof(all),
				    (const char *const[]){ kind_codes[0], kind_codes[1],
							   kind_codes[2], kind_codes[3],
							   kind_codes[4], NULL }));
	rc->kind = (enum recipient_kind)kind;

	const char *cc = p->val[RK_COUNTRY];
	if (strlen(cc) != 2 || !country_alpha2_valid(cc, 2))
		return failf(p, p->at[RK_COUNTRY], 1, "country",
			     "\"%s\" is not an assigned ISO 3166-1 alpha-2 code", cc);
	memcpy(rc->country, cc, 3);
	p->country_at[p->r->n - 1] = p->at[RK_COUNTRY];

	err = check_registration(p, rc);
	if (err)
		return err;

	const char *why = endpoint_problem(p->val[RK_ENDPOINT]);
	if (why)
		return failf(p, p->at[RK_ENDPOINT], 1, "endpoint", "%s", why);
	rc->endpoint = p->val[RK_ENDPOINT];

	for (int k = RK_CREDENTIALS; k <= RK_CA; k++) {
		const char *v = p->val[k];
		if (v && v[0] != '/')
			return failf(p, p->at[k], 1, recipient_keys[k],
				     "must be an absolute path");
	}
	if (!p->val[RK_CLIENT_CERT] != !p->val[RK_CLIENT_KEY]) {
		int given = p->val[RK_CLIENT_CERT] ? RK_CLIENT_CERT : RK_CLIENT_KEY;
		return failf(p, p->at[given], 1, recipient_keys[given],
			     "%s must be given too",
			     recipient_keys[given == RK_CLIENT_CERT ? RK_CLIENT_KEY
								    : RK_CLIENT_CERT]);
	}
	rc->credentials = p->val[RK_CREDENTIALS];
	rc->client_cert = p->val[RK_CLIENT_CERT];
	rc->client_key = p->val[RK_CLIENT_KEY];
	rc->ca = p->val[RK_CA];
	rc->credentials_line = p->at[RK_CREDENTIALS];
	rc->client_cert_line = p->at[RK_CLIENT_CERT];
	rc->client_key_line = p->at[RK_CLIENT_KEY];
	rc->ca_line = p->at[RK_CA];

	if ((err = check_number(p, RK_CONNECT_TIMEOUT, 100, 10000, 1000,
				&rc->connect_timeout_ms)) ||
	    (err = check_number(p, RK_TIMEOUT, 100, 30000, 3000, &rc->timeout_ms)) ||
	    (err = check_number(p, RK_MAX_IN_FLIGHT, 1, 256, 32, &rc->max_in_flight)) ||
	    (err = check_number(p, RK_MAX_QUEUED, 0, 4096, 256, &rc->max_queued)) ||
	    (err = check_number(p, RK_BREAKER_FAILURES, 1, 100, 5,
				&rc->breaker_failures)) ||
	    (err = check_number(p, RK_BREAKER_OPEN, 100, 600000, 5000,
				&rc->breaker_open_ms)))
		return err;
	if (rc->timeout_ms < rc->connect_timeout_ms) {
		if (p->val[RK_TIMEOUT])
			return failf(p, p->at[RK_TIMEOUT], 1, "timeout_ms",
				     "%d is less than connect_timeout_ms (%d)",
				     rc->timeout_ms, rc->connect_timeout_ms);
		return failf(p, p->at[RK_CONNECT_TIMEOUT], 1, "connect_timeout_ms",
			     "%d is more than timeout_ms (%d by default)",
			     rc->connect_timeout_ms, rc->timeout_ms);
	}

	if (rc->kind != RECIPIENT_PROCESSOR) {
		for (int k = RK_AGREEMENT; k <= RK_AGREEMENT_PURPOSES; k++)
			if (p->val[k])
				return failf(
					p, p->at[k], 1, recipient_keys[k],
					"only a processor has a processing agreement");
	} else {
		for (int k = RK_AGREEMENT; k <= RK_AGREEMENT_PURPOSES; k++)
			if (!p->val[k])
				return failf(
					p, p->sec_line, 1, NULL,
					"required key \"%s\" is missing (a processor "
					"acts only under a processing agreement, T5)",
					recipient_keys[k]);
		err = check_agreement(p, rc);
		if (err)
			return err;
		err = purposes_parse(p, RK_AGREEMENT_PURPOSES, "agreement_purposes",
				     &rc->agreement_purposes);
		if (err)
			return err;
	}
	if (p->val[RK_REPORT_WITHIN]) {
		if (rc->kind != RECIPIENT_CREDIT_BUREAU)
			return failf(p, p->at[RK_REPORT_WITHIN], 1, "report_within_days",
				     "only for a credit bureau");
		err = check_number(p, RK_REPORT_WITHIN, 1, 90, 0,
				   &rc->report_within_days);
		if (err)
			return err;
	}
	return SENIM_OK;
}

/* ---- [service CODE.SERVICE] -------------------------------------------------- */

/* The basis's form: consent:KIND, law:REFERENCE or agreement. */
static enum senim_result parse_basis(struct parser *p, struct recipient_service *s)
{
	char *v = p->val[SK_BASIS];
	char all[256];
	unsigned at = p->at[SK_BASIS];
	s->consent = -1;
	if (strcmp(v, "agreement") == 0) {
		s->basis = RECIPIENT_BASIS_AGREEMENT;
		return SENIM_OK;
	}
	if (strncmp(v, "consent:", 8) == 0) {
		s->basis = RECIPIENT_BASIS_CONSENT;
		s->consent = consent_kind_parse(v + 8);
		if (s->consent < 0)
			return failf(
				p, at, 1, "basis", "no consent \"%s\" (one of %s)", v + 8,
				string_list(all, sizeof(all),
					    (const char *const[]){
						    "credit_bureau_gkb",
						    "credit_bureau_pkb",
						    "mobile_operator", "state_database",
						    "cross_border", NULL }));
		return SENIM_OK;
	}
	if (strncmp(v, "law:", 4) == 0) {
		const char *ref = v + 4;
		while (*ref == ' ')
			ref++;
		if (!*ref)
			return failf(p, at, 1, "basis",
				     "law: needs the provision it rests on");
		if (utf8_chars(ref, strlen(ref)) > LEGAL_REF_MAX_CHARS)
			return failf(p, at, 1, "basis",
				     "the legal reference is longer than %d characters",
				     LEGAL_REF_MAX_CHARS);
		s->basis = RECIPIENT_BASIS_LAW;
		s->legal_ref = ref;
		return SENIM_OK;
	}
	return failf(p, at, 1, "basis", "want consent:KIND, law:REFERENCE or agreement");
}

/* The basis against the recipient and the purposes. */
static enum senim_result check_basis(struct parser *p, const struct recipient *rc,
				     const struct recipient_service *s)
{
	unsigned at = p->at[SK_BASIS];
	char all[512];
	if (s->basis == RECIPIENT_BASIS_LAW) {
		/* What the law obliges is legal_obligation (U10); anything
		 * else needs a consent or an agreement. */
		if (s->purposes != PURPOSE_BIT(PURPOSE_LEGAL_OBLIGATION))
			return failf(p, at, 1, "basis",
				     "law: may only be used with purposes = "
				     "legal_obligation");
		return SENIM_OK;
	}
	if (s->basis == RECIPIENT_BASIS_AGREEMENT) {
		if (rc->kind != RECIPIENT_PROCESSOR)
			return failf(p, at, 1, "basis",
				     "agreement is only for a processor");
		return SENIM_OK;
	}
	const struct consent_def *def = consent_def((enum consent_kind)s->consent);
	size_t i = 0;
	while (i < N(reach) && (int)reach[i].consent != s->consent)
		i++;
	if (i == N(reach))
		return failf(p, at, 1, "basis",
			     "consent %s covers the lender alone and grounds no transfer",
			     def->code);
	if (reach[i].kind < 0) {
		if (strcmp(rc->country, "KZ") == 0)
			return failf(p, at, 1, "basis",
				     "consent %s is for a recipient abroad, and this one "
				     "is in KZ",
				     def->code);
		return SENIM_OK;
	}
	if (reach[i].kind != (int)rc->kind)
		return failf(p, at, 1, "basis", "consent %s is for %s, not %s", def->code,
			     kind_names[reach[i].kind], kind_names[rc->kind]);
	/* The borrower consented to the recipients the consent names (the
	 * MFO first, then the others); the recipient must be one of them. */
	if (reach[i].by_name && !listed(rc->name_ru, def->recipients + 1))
		return failf(
			p, at, 1, "basis",
			"consent %s names its recipients (%s), and \"%s\" is not one "
			"of them",
			def->code, string_list(all, sizeof(all), def->recipients + 1),
			rc->name_ru);
	return SENIM_OK;
}

static enum senim_result check_purposes(struct parser *p, const struct recipient *rc,
					const struct recipient_service *s)
{
	unsigned at = p->at[SK_PURPOSES];
	char all[512];
	const struct consent_def *abroad = consent_def(CONSENT_CROSS_BORDER);
	for (int pu = 0; pu < PURPOSE__COUNT; pu++) {
		if (!(s->purposes & PURPOSE_BIT(pu)))
			continue;
		if ((pu == PURPOSE_MARKETING ||
		     pu == PURPOSE_MARKETING_CAMPAIGN_DESIGN) &&
		    (rc->kind == RECIPIENT_CREDIT_BUREAU ||
		     rc->kind == RECIPIENT_MOBILE_OPERATOR ||
		     rc->kind == RECIPIENT_STATE_DATABASE))
			return failf(p, at, 1, "purposes",
				     "\"%s\" is never a purpose for %s", purpose_code(pu),
				     kind_names[rc->kind]);
		if (s->basis == RECIPIENT_BASIS_CONSENT) {
			const struct consent_def *def =
				consent_def((enum consent_kind)s->consent);
			if (!(def->purposes & PURPOSE_BIT(pu)))
				return failf(p, at, 1, "purposes",
					     "consent %s does not cover purpose \"%s\"",
					     def->code, purpose_code(pu));
		}
		if (rc->kind == RECIPIENT_PROCESSOR &&
		    !(rc->agreement_purposes & PURPOSE_BIT(pu)))
			return failf(
				p, at, 1, "purposes",
				"\"%s\" is not among the processing agreement's "
				"purposes (%s)",
				purpose_code(pu),
				purpose_list(all, sizeof(all), rc->agreement_purposes));
		/* L6: every transfer abroad also needs the cross-border
		 * consent, so a purpose it does not cover can never go. */
		if (strcmp(rc->country, "KZ") != 0 &&
		    !(abroad->purposes & PURPOSE_BIT(pu)))
			return failf(
				p, at, 1, "purposes",
				"consent cross_border does not cover purpose \"%s\", so "
				"it cannot go abroad",
				purpose_code(pu));
	}
	return SENIM_OK;
}

/* Every purpose of the service may see category c (the access matrix). */
static enum senim_result check_matrix(struct parser *p, int k, const char *key,
				      const struct recipient_service *s, int c)
{
	if (c >= CATEGORY__COUNT)
		return SENIM_OK; /* register-only: outside the matrix (Q2) */
	for (int pu = 0; pu < PURPOSE__COUNT; pu++)
		if ((s->purposes & PURPOSE_BIT(pu)) &&
		    !(p->m->categories_of[pu] & CATEGORY_BIT(c)))
			return failf(
				p, p->at[k], 1, key,
				"purpose \"%s\" may not see category %s (access matrix)",
				purpose_code(pu), category_code(c));
	return SENIM_OK;
}

static enum senim_result check_sends(struct parser *p, const struct recipient *rc,
				     struct recipient_service *s,
				     struct recipient_field *fields)
{
	const struct api_def *api = &apis[s->api];
	const char *key = "sends";
	unsigned at = p->at[SK_SENDS];
	char all[1024];
	enum senim_result err;
	for (size_t i = 0; i < p->nitems; i++) {
		struct recipient_field *f = &fields[i];
		err = field_parse(p, SK_SENDS, key, p->items[i], f);
		if (err)
			return err;
		if (f->category == RECIPIENT_CATEGORY_REPORT ||
		    f->category == RECIPIENT_CATEGORY_PHONE)
			return failf(p, at, 1, key,
				     "\"%s\" is an answer field and is never sent",
				     f->code);
		if (f->category < CATEGORY__COUNT && category_is_special(f->category))
			return failf(p, at, 1, key,
				     "\"%s\" is a special category and is never sent",
				     f->code);
		if (s->api == RECIPIENT_API_PROCESSING &&
		    f->category == RECIPIENT_CATEGORY_LOAN)
			return failf(p, at, 1, key, "%s does not send \"%s\"", api->code,
				     f->code);
		/* processing/1 names the subject by a pseudonym only. */
		if (s->api == RECIPIENT_API_PROCESSING &&
		    strcmp(f->code, "identity.iin") == 0)
			return failf(
				p, at, 1, key,
				"%s sends a pseudonym in place of the subject, never "
				"\"identity.iin\"",
				api->code);
		if (api->allowed && !listed(f->code, api->allowed))
			return failf(p, at, 1, key,
				     "%s does not send \"%s\" (it sends %s)", api->code,
				     f->code,
				     string_list(all, sizeof(all), api->allowed));
		s->sends_categories |= 1u << f->category;
	}
	for (size_t i = 0; api->required[i]; i++) {
		size_t j = 0;
		while (j < p->nitems && strcmp(fields[j].code, api->required[i]) != 0)
			j++;
		if (j == p->nitems)
			return failf(p, at, 1, key, "%s needs \"%s\"", api->code,
				     api->required[i]);
	}
	const struct consent_def *def =
		s->basis == RECIPIENT_BASIS_CONSENT ? consent_def(s->consent) : NULL;
	const struct consent_def *abroad = consent_def(CONSENT_CROSS_BORDER);
	for (int c = 0; c < CATEGORY__COUNT; c++) {
		if (!(s->sends_categories & (1u << c)))
			continue;
		err = check_matrix(p, SK_SENDS, key, s, c);
		if (err)
			return err;
		if (def && !(def->categories & CATEGORY_BIT(c)))
			return failf(p, at, 1, key,
				     "consent %s does not cover category %s", def->code,
				     category_code(c));
		if (strcmp(rc->country, "KZ") != 0 &&
		    !(abroad->categories & CATEGORY_BIT(c)))
			return failf(
				p, at, 1, key,
				"consent cross_border does not cover category %s, so it "
				"cannot go abroad",
				category_code(c));
	}
	s->sends = fields;
	s->nsends = p->nitems;
	return SENIM_OK;
}

static enum senim_result check_receives(struct parser *p, struct recipient_service *s,
					struct recipient_field *fields)
{
	const struct api_def *api = &apis[s->api];
	const char *key = "receives";
	unsigned at = p->at[SK_RECEIVES];
	char all[512];
	enum senim_result err;
	for (size_t i = 0; i < p->nitems; i++) {
		struct recipient_field *f = &fields[i];
		err = field_parse(p, SK_RECEIVES, key, p->items[i], f);
		if (err)
			return err;
		if (!listed(f->code, api->answers))
			return failf(p, at, 1, key,
				     "\"%s\" is not in the answer of %s (it answers %s)",
				     f->code, api->code,
				     string_list(all, sizeof(all), api->answers));
		err = check_matrix(p, SK_RECEIVES, key, s, f->category);
		if (err)
			return err;
	}
	s->receives = fields;
	s->nreceives = p->nitems;
	return SENIM_OK;
}

static enum senim_result finish_service(struct parser *p)
{
	struct recipient *rc = p->rc;
	struct recipient_service *s = p->svc;
	enum senim_result err;
	char all[256];

	static const int required[] = { SK_API, SK_BASIS, SK_PURPOSES, SK_SENDS };
	for (size_t i = 0; i < N(required); i++)
		if (!p->val[required[i]])
			return failf(p, p->sec_line, 1, NULL,
				     "required key \"%s\" is missing",
				     service_keys[required[i]]);

	int api = -1;
	for (int i = 0; i < RECIPIENT_API__COUNT; i++)
		if (strcmp(p->val[SK_API], apis[i].code) == 0)
			api = i;
	if (api < 0) {
		const char *codes[RECIPIENT_API__COUNT + 1];
		for (int i = 0; i < RECIPIENT_API__COUNT; i++)
			codes[i] = apis[i].code;
		codes[RECIPIENT_API__COUNT] = NULL;
		return failf(p, p->at[SK_API], 1, "api", "unknown API \"%s\" (one of %s)",
			     p->val[SK_API], string_list(all, sizeof(all), codes));
	}
	if (apis[api].kind != rc->kind)
		return failf(p, p->at[SK_API], 1, "api", "%s is for %s, not %s",
			     apis[api].code, kind_names[apis[api].kind],
			     kind_names[rc->kind]);
	s->api = (enum recipient_api)api;
	s->path = apis[api].path;
	if (p->val[SK_PATH]) {
		const char *v = p->val[SK_PATH];
		size_t n = strlen(v);
		if (v[0] != '/' || n > SERVICE_PATH_MAX || !visible_ascii(v, n) ||
		    strpbrk(v, "?#"))
			return failf(
				p, p->at[SK_PATH], 1, "path",
				"must start with / and be at most %d bytes of visible "
				"ASCII, without query or fragment",
				SERVICE_PATH_MAX);
		s->path = v;
	}

	err = parse_basis(p, s);
	if (err)
		return err;
	err = purposes_parse(p, SK_PURPOSES, "purposes", &s->purposes);
	if (err)
		return err;
	err = check_basis(p, rc, s);
	if (err)
		return err;
	err = check_purposes(p, rc, s);
	if (err)
		return err;

	err = split(p, SK_SENDS, "sends");
	if (err)
		return err;
	struct recipient_field *fields = calloc(p->nitems, sizeof(*fields));
	if (!fields)
		return SENIM_ERR_NOMEM;
	err = check_sends(p, rc, s, fields);
	if (err) {
		free(fields);
		return err;
	}

	if (!apis[api].answers && p->val[SK_RECEIVES])
		return failf(p, p->at[SK_RECEIVES], 1, "receives",
			     "%s answers with nothing to keep", apis[api].code);
	if (apis[api].answers && !p->val[SK_RECEIVES])
		return failf(
			p, p->sec_line, 1, NULL,
			"required key \"receives\" is missing (what of the answer of "
			"%s is kept)",
			apis[api].code);
	if (p->val[SK_RECEIVES]) {
		err = split(p, SK_RECEIVES, "receives");
		if (err)
			return err;
		fields = calloc(p->nitems, sizeof(*fields));
		if (!fields)
			return SENIM_ERR_NOMEM;
		err = check_receives(p, s, fields);
		if (err) {
			free(fields);
			return err;
		}
	}

	s->state_service_consent = rc->kind == RECIPIENT_STATE_DATABASE;
	if (p->val[SK_STATE_SERVICE_CONSENT]) {
		const char *v = p->val[SK_STATE_SERVICE_CONSENT];
		if (rc->kind != RECIPIENT_STATE_DATABASE)
			return failf(p, p->at[SK_STATE_SERVICE_CONSENT], 1,
				     "state_service_consent",
				     "only a state database's services have it");
		if (strcmp(v, "yes") != 0 && strcmp(v, "no") != 0)
			return failf(p, p->at[SK_STATE_SERVICE_CONSENT], 1,
				     "state_service_consent", "want yes or no");
		s->state_service_consent = v[0] == 'y';
	}
	return SENIM_OK;
}

/* ---- [cross_border] ---------------------------------------------------------- */

static enum senim_result finish_cross_border(struct parser *p)
{
	if (!p->val[0])
		return failf(p, p->sec_line, 1, NULL,
			     "required key \"allowed_countries\" is missing");
	enum senim_result err = split(p, 0, "allowed_countries");
	if (err)
		return err;
	for (size_t i = 0; i < p->nitems; i++) {
		const char *cc = p->items[i];
		if (strlen(cc) != 2 || !country_alpha2_valid(cc, 2))
			return failf(p, p->at[0], 1, "allowed_countries",
				     "\"%s\" is not an assigned ISO 3166-1 alpha-2 code",
				     cc);
		if (strcmp(cc, "KZ") == 0)
			return failf(p, p->at[0], 1, "allowed_countries",
				     "KZ is home; list only countries abroad");
		memcpy(p->r->allowed_countries[i], cc, 3);
	}
	p->r->ncountries = p->nitems;
	return SENIM_OK;
}

/* ---- lines ------------------------------------------------------------------- */

static enum senim_result finish_section(struct parser *p)
{
	enum senim_result err = SENIM_OK;
	switch (p->sec) {
	case SEC_NONE:
		break;
	case SEC_CROSS_BORDER:
		err = finish_cross_border(p);
		break;
	case SEC_RECIPIENT:
		err = finish_recipient(p);
		break;
	case SEC_SERVICE:
		err = finish_service(p);
		break;
	}
	memset(p->val, 0, sizeof(p->val));
	memset(p->at, 0, sizeof(p->at));
	p->sec = SEC_NONE;
	return err;
}

static char *trim(char *s, char *end)
{
	while (s < end && *s == ' ')
		s++;
	while (end > s && end[-1] == ' ')
		end--;
	*end = '\0';
	return s;
}

/* A header line; `inner` is what stands between the brackets, trimmed. */
static enum senim_result begin_section(struct parser *p, char *inner, unsigned line)
{
	enum senim_result err = finish_section(p);
	if (err)
		return err;
	char *arg = strchr(inner, ' ');
	if (arg) {
		*arg++ = '\0';
		while (*arg == ' ')
			arg++;
	}
	p->sec_line = line;
	if (strcmp(inner, "cross_border") == 0 && !arg) {
		snprintf(p->label, sizeof(p->label), "[cross_border]");
		if (p->cross_border_at)
			return failf(p, line, 1, NULL,
				     "the section is given twice (first on line %u)",
				     p->cross_border_at);
		p->cross_border_at = line;
		p->sec = SEC_CROSS_BORDER;
		return SENIM_OK;
	}
	if (!arg || (strcmp(inner, "recipient") != 0 && strcmp(inner, "service") != 0))
		return failf(p, line, 0, NULL,
			     "unknown section \"[%s%s%s]\" (one of [recipient CODE], "
			     "[service CODE.SERVICE], [cross_border])",
			     inner, arg ? " " : "", arg ? arg : "");
	snprintf(p->label, sizeof(p->label), "[%s %s]", inner, arg);
	if (inner[0] == 'r') {
		if (!code_valid(arg))
			return failf(p, line, 1, NULL,
				     "a recipient's code matches [a-z][a-z0-9_]{1,31}");
		const struct recipient *dup = recipients_find(p->r, arg);
		if (dup)
			return failf(p, line, 1, NULL,
				     "recipient %s is defined twice (first on line %u)",
				     arg, dup->line);
		if (p->r->n == RECIPIENTS_MAX)
			return failf(p, line, 1, NULL, "more than %d recipients",
				     RECIPIENTS_MAX);
		p->rc = &p->r->recipients[p->r->n++];
		p->rc->code = arg;
		p->rc->line = line;
		p->sec = SEC_RECIPIENT;
		return SENIM_OK;
	}
	char *dot = strchr(arg, '.');
	if (!dot)
		return failf(p, line, 1, NULL, "a service is named CODE.SERVICE");
	*dot = '\0';
	struct recipient *rc = (struct recipient *)recipients_find(p->r, arg);
	*dot = '.';
	if (!rc)
		return failf(p, line, 1, NULL, "no recipient \"%.*s\" is defined above",
			     (int)(dot - arg), arg);
	if (!code_valid(dot + 1))
		return failf(p, line, 1, NULL,
			     "a service's name matches [a-z][a-z0-9_]{1,31}");
	const struct recipient_service *dup = recipient_service_find(rc, dot + 1);
	if (dup)
		return failf(p, line, 1, NULL,
			     "service %s is defined twice (first on line %u)", arg,
			     dup->line);
	if (rc->nservices == RECIPIENT_SERVICES_MAX)
		return failf(p, line, 1, NULL, "recipient %s has more than %d services",
			     rc->code, RECIPIENT_SERVICES_MAX);
	p->rc = rc;
	p->svc = &rc->services[rc->nservices++];
	p->svc->code = dot + 1;
	p->svc->line = line;
	p->svc->consent = -1;
	p->sec = SEC_SERVICE;
	return SENIM_OK;
}

/* `key = value`, the value trimmed and cut out in place. */
static enum senim_result key_value(struct parser *p, char *s, char *end, unsigned line)
{
	char *eq = memchr(s, '=', (size_t)(end - s));
	if (!eq)
		return failf(
			p, line, 0, NULL,
			"expected \"key = value\", a [section] header or a # comment");
	char *key = trim(s, eq);
	char *value = trim(eq + 1, end);
	if (!*key)
		return failf(p, line, 0, NULL, "a key is missing before \"=\"");
	if (p->sec == SEC_NONE)
		return failf(p, line, 0, NULL, "key \"%s\" outside a section", key);
	const char *const *keys = p->sec == SEC_RECIPIENT ? recipient_keys
				  : p->sec == SEC_SERVICE ? service_keys
							  : cross_border_keys;
	size_t nkeys = p->sec == SEC_RECIPIENT ? RK__COUNT
		       : p->sec == SEC_SERVICE ? SK__COUNT
					       : N(cross_border_keys);
	size_t k = 0;
	while (k < nkeys && strcmp(keys[k], key) != 0)
		k++;
	if (k == nkeys) {
		char all[512];
		const char *names[RK__COUNT + 1];
		for (size_t i = 0; i < nkeys; i++)
			names[i] = keys[i];
		names[nkeys] = NULL;
		return failf(p, line, 1, key, "unknown key (one of %s)",
			     string_list(all, sizeof(all), names));
	}
	if (p->val[k])
		return failf(p, line, 1, key, "given twice (first on line %u)", p->at[k]);
	if (!*value)
		return failf(p, line, 1, key, "the value is empty");
	p->val[k] = value;
	p->at[k] = line;
	return SENIM_OK;
}

/* One line of `n` bytes (its end of line removed) at s. */
static enum senim_result parse_line(struct parser *p, char *s, size_t n, unsigned line)
{
	if (n > RECIPIENTS_LINE_MAX)
		return failf(p, line, 0, NULL, "line is longer than %d bytes",
			     RECIPIENTS_LINE_MAX);
	if (!utf8_valid(s, n))
		return failf(p, line, 0, NULL, "not valid UTF-8");
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return failf(
				p, line, 0, NULL,
				"control character 0x%02x (the file allows none, tabs "
				"included)",
				(unsigned char)s[i]);
	if (utf8_has_invisible_control(s, n))
		return failf(p, line, 0, NULL,
			     "a C1 control or bidirectional override character (the "
			     "file allows none)");
	char *end = s + n;
	while (s < end && *s == ' ')
		s++;
	if (s == end || *s == '#')
		return SENIM_OK;
	if (*s == '[') {
		char *close = end;
		while (close > s && close[-1] == ' ')
			close--;
		if (close - s < 2 || close[-1] != ']')
			return failf(p, line, 0, NULL,
				     "a section header ends with \"]\"");
		return begin_section(p, trim(s + 1, close - 1), line);
	}
	return key_value(p, s, end, line);
}

static enum senim_result finish_file(struct parser *p)
{
	enum senim_result err = finish_section(p);
	if (err)
		return err;
	for (size_t i = 0; i < p->r->n; i++) {
		const struct recipient *rc = &p->r->recipients[i];
		if (strcmp(rc->country, "KZ") == 0)
			continue;
		size_t j = 0;
		while (j < p->r->ncountries &&
		       strcmp(p->r->allowed_countries[j], rc->country))
			j++;
		if (j == p->r->ncountries) {
			snprintf(p->label, sizeof(p->label), "[recipient %s]", rc->code);
			return failf(p, p->country_at[i], 1, "country",
				     "\"%s\" is not in [cross_border] allowed_countries",
				     rc->country);
		}
	}
	return SENIM_OK;
}

enum senim_result recipients_parse(const char *name, const char *text, size_t len,
				   const struct access_matrix *m, struct recipients **out,
				   char *err, size_t errlen)
{
	struct parser *p = calloc(1, sizeof(*p));
	struct recipients *r = calloc(1, sizeof(*r));
	enum senim_result rc = SENIM_ERR_NOMEM;
	*out = NULL;
	if (errlen)
		err[0] = '\0';
	if (!p || !r)
		goto fail;
	p->file = name;
	p->m = m;
	p->r = r;
	p->err = err;
	p->errlen = errlen;
	if (len > RECIPIENTS_FILE_MAX) {
		unsigned line = 1;
		for (size_t i = 0; i < RECIPIENTS_FILE_MAX; i++)
			line += text[i] == '\n';
		rc = failf(p, line, 0, NULL, "the file is longer than %d bytes",
			   RECIPIENTS_FILE_MAX);
		goto fail;
	}
	r->pool_ = malloc(len + 1);
	if (!r->pool_)
		goto fail;
	if (len)
		memcpy(r->pool_, text, len);
	r->pool_[len] = '\0';

	char *s = r->pool_, *end = r->pool_ + len;
	/* An editor's byte-order mark is no content. */
	if (len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
		s += 3;
	unsigned line = 0;
	while (s < end) {
		line++;
		char *nl = memchr(s, '\n', (size_t)(end - s));
		char *stop = nl ? nl : end;
		if (stop > s && stop[-1] == '\r')
			stop--;
		rc = parse_line(p, s, (size_t)(stop - s), line);
		if (rc)
			goto fail;
		s = nl ? nl + 1 : end;
	}
	rc = finish_file(p);
	if (rc)
		goto fail;
	free(p);
	*out = r;
	return SENIM_OK;
fail:
	if (rc == SENIM_ERR_NOMEM && errlen)
		snprintf(err, errlen, "%s: out of memory", name);
	free(p);
	recipients_free(r);
	return rc;
}

void recipients_free(struct recipients *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		for (size_t j = 0; j < r->recipients[i].nservices; j++) {
			free((void *)r->recipients[i].services[j].sends);
			free((void *)r->recipients[i].services[j].receives);
		}
	free(r->pool_);
	free(r);
}

/* ---- lookups and names ------------------------------------------------------- */

const struct recipient *recipients_find(const struct recipients *r, const char *code)
{
	for (size_t i = 0; r && code && i < r->n; i++)
		if (r->recipients[i].code && strcmp(r->recipients[i].code, code) == 0)
			return &r->recipients[i];
	return NULL;
}

int recipients_state_sourced(const struct recipients *r, int category, const char *name)
{
	for (size_t i = 0; r && name && i < r->n; i++) {
		const struct recipient *rc = &r->recipients[i];
		if (rc->kind != RECIPIENT_STATE_DATABASE)
			continue;
		for (size_t k = 0; k < rc->nservices; k++)
			for (size_t f = 0; f < rc->services[k].nreceives; f++) {
				const struct recipient_field *x =
					&rc->services[k].receives[f];
				if (x->category == category && strcmp(x->name, name) == 0)
					return 1;
			}
	}
	return 0;
}

const struct recipient_service *recipient_service_find(const struct recipient *rc,
						       const char *code)
{
	for (size_t i = 0; rc && code && i < rc->nservices; i++)
		if (strcmp(rc->services[i].code, code) == 0)
			return &rc->services[i];
	return NULL;
}

const char *recipient_kind_code(enum recipient_kind k)
{
	return (unsigned)k < RECIPIENT_KIND__COUNT ? kind_codes[k] : NULL;
}

const char *recipient_api_code(enum recipient_api a)
{
	return (unsigned)a < RECIPIENT_API__COUNT ? apis[a].code : NULL;
}

const char *recipient_api_path(enum recipient_api a)
{
	return (unsigned)a < RECIPIENT_API__COUNT ? apis[a].path : NULL;
}

const char *recipient_basis_code(enum recipient_basis b)
{
	return (unsigned)b < N(basis_codes) ? basis_codes[b] : NULL;
}

const char *recipient_category_code(int category)
{
	if (category >= 0 && category < CATEGORY__COUNT)
		return category_code((enum category)category);
	if (category >= CATEGORY__COUNT && category < RECIPIENT_CATEGORY__COUNT)
		return extra_categories[category - CATEGORY__COUNT];
	return NULL;
}
