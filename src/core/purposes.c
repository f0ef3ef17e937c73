/*
 * purposes.c — the purposes U1-U10, the categories D1-D7, and the two access
 * matrices (purposes.h).
 *
 * The compiled-in default matrix below must stay identical to
 * data/access-matrix.json (test_purposes.c compares them); docs/purposes.md
 * explains every granted cell.  access_matrix_parse() is strict: a file that
 * is not exactly the expected shape is refused whole, never half-applied.
 */
#include "core/purposes.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "common/banned.h"

static const char *const purpose_codes[PURPOSE__COUNT] = {
	[PURPOSE_LOAN_APPLICATION_REVIEW] = "loan_application_review",
	[PURPOSE_LOAN_SERVICING] = "loan_servicing",
	[PURPOSE_FRAUD_PREVENTION] = "fraud_prevention",
	[PURPOSE_IDENTIFICATION] = "identification",
	[PURPOSE_SECURITY_COMPLIANCE] = "security_compliance",
	[PURPOSE_CUSTOMER_COMMUNICATION] = "customer_communication",
	[PURPOSE_MARKETING] = "marketing",
	[PURPOSE_MARKETING_CAMPAIGN_DESIGN] = "marketing_campaign_design",
	[PURPOSE_INTERNAL_INVESTIGATION] = "internal_investigation",
	[PURPOSE_LEGAL_OBLIGATION] = "legal_obligation",
};

static const char *const purpose_clauses[PURPOSE__COUNT] = {
	"U1", "U2", "U3", "U4", "U5", "U6", "U7", "U8", "U9", "U10",
};

static const char *const category_codes[CATEGORY__COUNT] = {
	[CATEGORY_IDENTITY] = "identity",	  [CATEGORY_FAMILY] = "family",
	[CATEGORY_MEDICAL] = "medical",		  [CATEGORY_CONTACT] = "contact",
	[CATEGORY_PROFESSIONAL] = "professional", [CATEGORY_DEVICE] = "device",
	[CATEGORY_BIOMETRIC] = "biometric",
};

const char *purpose_code(enum purpose p)
{
	if ((int)p < 0 || p >= PURPOSE__COUNT)
		return NULL;
	return purpose_codes[p];
}

/* The index of code in codes[0..n), or -1 (also for NULL). */
static int code_index(const char *const *codes, int n, const char *code)
{
	if (!code)
		return -1;
	for (int i = 0; i < n; i++)
		if (strcmp(code, codes[i]) == 0)
			return i;
	return -1;
}

int purpose_parse(const char *code)
{
	return code_index(purpose_codes, PURPOSE__COUNT, code);
}

const char *purpose_clause(enum purpose p)
{
	if ((int)p < 0 || p >= PURPOSE__COUNT)
		return NULL;
	return purpose_clauses[p];
}

const char *category_code(enum category c)
{
	if ((int)c < 0 || c >= CATEGORY__COUNT)
		return NULL;
	return category_codes[c];
}

int category_parse(const char *code)
{
	return code_index(category_codes, CATEGORY__COUNT, code);
}

int category_of_key(const char *key)
{
	const char *dot = strchr(key, '.');
	char code[32];
	if (!dot || dot == key || (size_t)(dot - key) >= sizeof(code))
		return -1;
	memcpy(code, key, (size_t)(dot - key));
	code[dot - key] = '\0';
	return category_parse(code);
}

void category_mask_text(uint32_t mask, char *out, size_t size)
{
	size_t n = 0;
	if (size)
		out[0] = '\0';
	for (int c = 0; c < CATEGORY__COUNT; c++)
		if (mask & CATEGORY_BIT(c))
			n += (size_t)snprintf(out + n, n < size ? size - n : 0, "%s%s",
					      n ? "," : "", category_code(c));
}

uint32_t category_mask_parse(const char *text)
{
	uint32_t mask = 0;
	while (text && *text) {
		const char *comma = strchr(text, ',');
		size_t len = comma ? (size_t)(comma - text) : strlen(text);
		char code[32];
		if (len < sizeof(code)) {
			memcpy(code, text, len);
			code[len] = '\0';
			int c = category_parse(code);
			if (c >= 0)
				mask |= CATEGORY_BIT(c);
		}
		text = comma ? comma + 1 : text + len;
	}
	return mask;
}

int purpose_read_only(enum purpose p)
{
	return p == PURPOSE_MARKETING || p == PURPOSE_MARKETING_CAMPAIGN_DESIGN ||
	       p == PURPOSE_SECURITY_COMPLIANCE || p == PURPOSE_INTERNAL_INVESTIGATION;
}

int category_is_special(enum category c)
{
	/* D7: medical and biometric data get the strictest handling. */
	return c == CATEGORY_MEDICAL || c == CATEGORY_BIOMETRIC;
}

/* ---- the default matrix ---------------------------------------------------- */

#define C(x) CATEGORY_BIT(CATEGORY_##x)
#define P(x) PURPOSE_BIT(PURPOSE_##x)

/* Keep in step with data/access-matrix.json and docs/purposes.md. */
static const struct access_matrix matrix_default = {
	.categories_of = {
		[PURPOSE_LOAN_APPLICATION_REVIEW] =
			C(IDENTITY) | C(FAMILY) | C(MEDICAL) | C(CONTACT) | C(PROFESSIONAL),
		[PURPOSE_LOAN_SERVICING] = C(IDENTITY) | C(CONTACT),
		[PURPOSE_FRAUD_PREVENTION] =
			C(IDENTITY) | C(CONTACT) | C(DEVICE) | C(BIOMETRIC),
		[PURPOSE_IDENTIFICATION] = C(IDENTITY) | C(CONTACT) | C(BIOMETRIC),
		[PURPOSE_SECURITY_COMPLIANCE] = C(IDENTITY),
		[PURPOSE_CUSTOMER_COMMUNICATION] = C(IDENTITY) | C(CONTACT),
		[PURPOSE_MARKETING] = C(CONTACT),
		[PURPOSE_MARKETING_CAMPAIGN_DESIGN] = C(DEVICE),
		[PURPOSE_INTERNAL_INVESTIGATION] = CATEGORY_ALL,
		[PURPOSE_LEGAL_OBLIGATION] = CATEGORY_ALL,
	},
	/* What each purpose may change; docs/purposes.md gives the reasons. */
	.writes_of = {
		[PURPOSE_LOAN_APPLICATION_REVIEW] =
			C(IDENTITY) | C(FAMILY) | C(MEDICAL) | C(CONTACT) | C(PROFESSIONAL),
		[PURPOSE_LOAN_SERVICING] = C(CONTACT),
		[PURPOSE_FRAUD_PREVENTION] = C(DEVICE) | C(BIOMETRIC),
		[PURPOSE_IDENTIFICATION] = C(IDENTITY) | C(CONTACT) | C(BIOMETRIC),
		[PURPOSE_SECURITY_COMPLIANCE] = 0,
		[PURPOSE_CUSTOMER_COMMUNICATION] = C(CONTACT),
		[PURPOSE_MARKETING] = 0,
		[PURPOSE_MARKETING_CAMPAIGN_DESIGN] = 0,
		[PURPOSE_INTERNAL_INVESTIGATION] = 0,
		[PURPOSE_LEGAL_OBLIGATION] = CATEGORY_ALL,
	},
	.purposes_of = {
		[ROLE_ADMIN] = 0,
		[ROLE_UNDERWRITER] =
			P(LOAN_APPLICATION_REVIEW) | P(LOAN_SERVICING) | P(IDENTIFICATION),
		[ROLE_SUPPORT] =
			P(CUSTOMER_COMMUNICATION) | P(IDENTIFICATION) | P(LOAN_SERVICING),
		[ROLE_MARKETING] = P(MARKETING) | P(MARKETING_CAMPAIGN_DESIGN),
		[ROLE_DPO] = P(LEGAL_OBLIGATION) | P(SECURITY_COMPLIANCE),
		[ROLE_INVESTIGATOR] = P(INTERNAL_INVESTIGATION) | P(FRAUD_PREVENTION),
		[ROLE_AUDITOR] = 0,
		[ROLE_PAYMENT_PROVIDER] = P(LOAN_SERVICING),
	},
};

#undef C
#undef P

void access_matrix_default(struct access_matrix *out)
{
	*out = matrix_default;
}

/* ---- parsing the matrix file ----------------------------------------------- */

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	/* One line, whatever the file held: a name or jansson's text never
	 * breaks it. */
	for (char *p = err; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
}

/*
 * A name from the file made safe to quote in an error: printable ASCII only,
 * at most 40 characters.  `out` needs 44 bytes.
 */
static const char *quote_name(const char *name, char out[44])
{
	size_t n = 0;

	for (; *name && n < 40; name++)
		out[n++] = (*name >= 0x20 && *name < 0x7f) ? *name : '?';
	if (*name) {
		out[n++] = '.';
		out[n++] = '.';
		out[n++] = '.';
	}
	out[n] = '\0';
	return out;
}

/* A name -> index function: purpose_parse, category_parse or role_parse. */
typedef int (*name_parse_fn)(const char *name);

/*
 * Read `list`, a JSON array of distinct names that `parse` knows, into a bit
 * mask.  `where` names the list in errors ("purpose_categories.marketing").
 * SENIM_OK, or SENIM_ERR_CONFIG with err set.
 */
static enum senim_result parse_name_list(json_t *list, name_parse_fn parse,
					 const char *kind, const char *where,
					 uint32_t *mask, char *err, size_t errlen)
{
	char q[44];
	size_t i;
	json_t *item;

	if (!json_is_array(list)) {
		set_err(err, errlen, "%s: expected an array of %s names", where, kind);
		return SENIM_ERR_CONFIG;
	}
	*mask = 0;
	json_array_foreach(list, i, item)
	{
		if (!json_is_string(item)) {
			set_err(err, errlen, "%s[%zu]: expected a %s name (a string)",
				where, i, kind);
			return SENIM_ERR_CONFIG;
		}
		const char *name = json_string_value(item);
		int v = parse(name);
		if (v < 0) {
			set_err(err, errlen, "%s: unknown %s \"%s\"", where, kind,
				quote_name(name, q));
			return SENIM_ERR_CONFIG;
		}
		if (*mask & (1u << v)) {
			set_err(err, errlen, "%s: %s \"%s\" listed twice", where, kind,
				quote_name(name, q));
			return SENIM_ERR_CONFIG;
		}
		*mask |= 1u << v;
	}
	return SENIM_OK;
}

/*
 * Read `obj`, an object mapping every one of `count` names (by `outer`) to a
 * list of names (by `inner`), into masks[].  SENIM_OK, or SENIM_ERR_CONFIG
 * with err set.
 */
static enum senim_result parse_map(json_t *obj, const char *section, name_parse_fn outer,
				   const char *outer_kind, int count, name_parse_fn inner,
				   const char *inner_kind, const char *(*outer_name)(int),
				   uint32_t *masks, char *err, size_t errlen)
{
	char q[44], where[128];
	const char *key;
	json_t *value;
	uint32_t seen = 0;

	if (!json_is_object(obj)) {
		set_err(err, errlen, "%s: expected an object", section);
		return SENIM_ERR_CONFIG;
	}
	json_object_foreach(obj, key, value)
	{
		int k = outer(key);
		if (k < 0) {
			set_err(err, errlen, "%s: unknown %s \"%s\"", section, outer_kind,
				quote_name(key, q));
			return SENIM_ERR_CONFIG;
		}
		/* Duplicate keys are refused by the loader (JSON_REJECT_DUPLICATES). */
		seen |= 1u << k;
		snprintf(where, sizeof(where), "%s.%s", section, key);
		if (parse_name_list(value, inner, inner_kind, where, &masks[k], err,
				    errlen))
			return SENIM_ERR_CONFIG;
	}
	for (int k = 0; k < count; k++) {
		if (!(seen & (1u << k))) {
			set_err(err, errlen, "%s: %s \"%s\" is missing", section,
				outer_kind, outer_name(k));
			return SENIM_ERR_CONFIG;
		}
	}
	return SENIM_OK;
}

static const char *purpose_name_at(int i)
{
	return purpose_codes[i];
}

static const char *role_name_at(int i)
{
	return role_name((enum role)i);
}

/*
 * The direction rules (purposes.h): a purpose writes only what it may read,
 * and the purposes that only look write nothing.  SENIM_OK, or
 * SENIM_ERR_CONFIG with err set.
 */
static enum senim_result check_writes(const struct access_matrix *m, char *err,
				      size_t errlen)
{
	for (int p = 0; p < PURPOSE__COUNT; p++) {
		uint32_t w = m->writes_of[p];
		for (int c = 0; c < CATEGORY__COUNT; c++) {
			if (!(w & CATEGORY_BIT(c)))
				continue;
			if (purpose_read_only((enum purpose)p)) {
				set_err(err, errlen,
					"purpose_writes.%s: must be empty, the "
					"purpose only reads (%s), \"%s\" listed",
					purpose_codes[p], purpose_clauses[p],
					category_codes[c]);
				return SENIM_ERR_CONFIG;
			}
			if (!(m->categories_of[p] & CATEGORY_BIT(c))) {
				set_err(err, errlen,
					"purpose_writes.%s: \"%s\" is not in "
					"purpose_categories.%s (a purpose writes only "
					"what it may read)",
					purpose_codes[p], category_codes[c],
					purpose_codes[p]);
				return SENIM_ERR_CONFIG;
			}
		}
	}
	return SENIM_OK;
}

/*
 * Parse and validate the matrix file (see purposes.h).  `out` is written only
 * on success, so a refused file leaves the caller's matrix as it was.
 */
enum senim_result access_matrix_parse(const char *json, size_t len,
				      struct access_matrix *out, char *err, size_t errlen)
{
	struct access_matrix m;
	json_error_t jerr;
	json_t *root = NULL;
	const char *key;
	json_t *value;
	char q[44];
	int have_pc = 0, have_pw = 0, have_rp = 0;

	memset(&m, 0, sizeof(m));
	if (!json) {
		set_err(err, errlen, "access matrix: no text");
		goto fail;
	}
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		set_err(err, errlen, "access matrix: line %d column %d: %s", jerr.line,
			jerr.column, jerr.text);
		goto fail;
	}
	if (!json_is_object(root)) {
		set_err(err, errlen, "access matrix: expected a JSON object");
		goto fail;
	}
	json_object_foreach(root, key, value)
	{
		if (strcmp(key, "purpose_categories") == 0) {
			have_pc = 1;
			if (parse_map(value, key, purpose_parse, "purpose",
				      PURPOSE__COUNT, category_parse, "category",
				      purpose_name_at, m.categories_of, err, errlen))
				goto fail;
		} else if (strcmp(key, "purpose_writes") == 0) {
			have_pw = 1;
			if (parse_map(value, key, purpose_parse, "purpose",
				      PURPOSE__COUNT, category_parse, "category",
				      purpose_name_at, m.writes_of, err, errlen))
				goto fail;
		} else if (strcmp(key, "role_purposes") == 0) {
			have_rp = 1;
			if (parse_map(value, key, role_parse, "role", ROLE__COUNT,
				      purpose_parse, "purpose", role_name_at,
				      m.purposes_of, err, errlen))
				goto fail;
		} else {
			set_err(err, errlen, "access matrix: unknown key \"%s\"",
				quote_name(key, q));
			goto fail;
		}
	}
	if (!have_pc || !have_pw || !have_rp) {
		set_err(err, errlen, "access matrix: \"%s\" is missing",
			!have_pc   ? "purpose_categories"
			: !have_pw ? "purpose_writes"
				   : "role_purposes");
		goto fail;
	}

	/* D7: the special categories are never used to advertise. */
	static const enum purpose marketing[] = { PURPOSE_MARKETING,
						  PURPOSE_MARKETING_CAMPAIGN_DESIGN };
	for (size_t i = 0; i < sizeof(marketing) / sizeof(marketing[0]); i++) {
		for (int c = 0; c < CATEGORY__COUNT; c++) {
			if (category_is_special((enum category)c) &&
			    (m.categories_of[marketing[i]] & CATEGORY_BIT(c))) {
				set_err(err, errlen,
					"purpose_categories.%s: must not include the "
					"special "
					"category \"%s\" (D7)",
					purpose_codes[marketing[i]], category_codes[c]);
				goto fail;
			}
		}
	}
	/* U10: what the law requires cannot be withheld. */
	if (m.categories_of[PURPOSE_LEGAL_OBLIGATION] != CATEGORY_ALL) {
		for (int c = 0; c < CATEGORY__COUNT; c++) {
			if (!(m.categories_of[PURPOSE_LEGAL_OBLIGATION] &
			      CATEGORY_BIT(c))) {
				set_err(err, errlen,
					"purpose_categories.legal_obligation: must "
					"include every "
					"category, \"%s\" is missing (U10)",
					category_codes[c]);
				goto fail;
			}
		}
	}
	if (check_writes(&m, err, errlen))
		goto fail;

	json_decref(root);
	*out = m;
	return SENIM_OK;
fail:
	json_decref(root);
	return SENIM_ERR_CONFIG;
}
