/*
 * test_recipients.c — the recipients file (core/recipients.h): every rule
 * with the one line it is refused with, the files that pass, and the
 * shipped data/recipients.conf.
 *
 * Each table row is a whole file and the exact message; a row proves its
 * rule only together with the files that pass (test_good_files), which
 * differ from it in the one place the row breaks.  The shipped file is
 * read from $SENIM_SOURCE_DIR when set, else from the repository this file
 * sits in.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/consents.h"
#include "core/purposes.h"
#include "core/recipients.h"
#include "common/banned.h"

#define N(a) (sizeof(a) / sizeof(a[0]))

#define GKB_NAME "АО «Государственное кредитное бюро»"
#define PKB_NAME "ТОО «Первое кредитное бюро»"
#define KCELL_NAME "АО «Кселл»"

/* Seven lines: a recipient; further keys go from line 8. */
#define RECIPIENT(code, name, kind, country, registration, endpoint) \
	"[recipient " code "]\n"                                     \
	"name_ru = " name "\n"                                       \
	"name_kk = Атауы\n"                                     \
	"registration = " registration "\n"                          \
	"kind = " kind "\n"                                          \
	"country = " country "\n"                                    \
	"endpoint = " endpoint "\n"

/* Lines 1-7. */
#define R RECIPIENT("rx", "Получатель", "other", "KZ", "pending", "https://r.example")
#define GKB                                                          \
	RECIPIENT("gkb", GKB_NAME, "credit_bureau", "KZ", "pending", \
		  "https://gkb.example")
#define KCELL                                                              \
	RECIPIENT("kcell", KCELL_NAME, "mobile_operator", "KZ", "pending", \
		  "https://k.example")
#define FAMILY                                                           \
	RECIPIENT("family", "ГБД ФЛ", "state_database", "KZ", "pending", \
		  "https://f.example")
/* Lines 1-9: a processor in KZ under an agreement for two purposes. */
#define PROC                                                          \
	RECIPIENT("proc", "Обработчик", "processor", "KZ", "pending", \
		  "https://p.example")                                \
	"agreement = DPA-1 2025-01-15\n"                              \
	"agreement_purposes = identification customer_communication\n"
/* Lines 1-11: a processor in Germany, allowed there. */
#define ABROAD                                                                \
	"[cross_border]\n"                                                    \
	"allowed_countries = DE\n" RECIPIENT(                                 \
		"sl", "Scorelab GmbH", "processor", "DE", "foreign:DE:HRB-1", \
		"https://sl.example") "agreement = DPA-2 2025-01-15\n"        \
				      "agreement_purposes = identification "  \
				      "loan_application_review\n"

/* Service lines: header, api, purposes, sends, [receives,] basis. */
#define SERVICE(name, api, purposes, sends, basis) \
	"[service " name "]\n"                     \
	"api = " api "\n"                          \
	"purposes = " purposes "\n"                \
	"sends = " sends "\n"                      \
	"basis = " basis "\n"
#define QUERY(name, api, purposes, sends, receives, basis) \
	"[service " name "]\n"                             \
	"api = " api "\n"                                  \
	"purposes = " purposes "\n"                        \
	"sends = " sends "\n"                              \
	"receives = " receives "\n"                        \
	"basis = " basis "\n"

/* Lines 8-13. */
#define GKB_REPORT                                                        \
	QUERY("gkb.report", "credit_report/1", "loan_application_review", \
	      "identity.iin", "report.score", "consent:credit_bureau_gkb")

#define LOAN_FIELDS                                                              \
	"identity.iin identity.surname identity.given_name identity.birth_date " \
	"loan.event loan.occurred_on loan.contract_number loan.amount_tiyn "     \
	"loan.outstanding_tiyn loan.overdue_days loan.due_date"

static const char *parse_error(const char *text, size_t len,
			       const struct access_matrix *m)
{
	static char err[1024];
	struct recipients *r = (struct recipients *)1;
	enum senim_result rc =
		recipients_parse("t.conf", text, len, m, &r, err, sizeof(err));
	if (rc == SENIM_OK) {
		recipients_free(r);
		return NULL;
	}
	assert_int_equal(rc, SENIM_ERR_INVALID);
	assert_null(r);
	return err;
}

static void expect(const char *text, const char *want)
{
	struct access_matrix m;
	access_matrix_default(&m);
	const char *got = parse_error(text, strlen(text), &m);
	if (!got || strcmp(got, want) != 0) {
		print_error("file:\n%s\nwant: %s\ngot:  %s\n", text, want,
			    got ? got : "(accepted)");
		fail();
	}
}

static struct recipients *parse_ok(const char *text, size_t len,
				   const struct access_matrix *m)
{
	char err[1024] = "";
	struct recipients *r = NULL;
	enum senim_result rc =
		recipients_parse("t.conf", text, len, m, &r, err, sizeof(err));
	if (rc != SENIM_OK) {
		print_error("file:\n%s\nrefused: %s\n", text, err);
		fail();
	}
	assert_non_null(r);
	return r;
}

static void accept(const char *text)
{
	struct access_matrix m;
	access_matrix_default(&m);
	recipients_free(parse_ok(text, strlen(text), &m));
}

struct row {
	const char *text;
	const char *want;
};

static void run(const struct row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		expect(rows[i].text, rows[i].want);
}

/* ---- lines and sections ------------------------------------------------------ */

static void test_lines(void **state)
{
	(void)state;
	static const struct row rows[] = {
		{ "[recipient r\n", "t.conf:1: a section header ends with \"]\"" },
		{ "[\n", "t.conf:1: a section header ends with \"]\"" },
		{ "[foo bar]\n",
		  "t.conf:1: unknown section \"[foo bar]\" (one of [recipient "
		  "CODE], [service CODE.SERVICE], [cross_border])" },
		{ "[recipient]\n",
		  "t.conf:1: unknown section \"[recipient]\" (one of "
		  "[recipient CODE], [service CODE.SERVICE], [cross_border])" },
		{ "[cross_border x]\n", "t.conf:1: unknown section \"[cross_border x]\" "
					"(one of [recipient CODE], "
					"[service CODE.SERVICE], [cross_border])" },
		{ "# a comment\nname_ru = x\n",
		  "t.conf:2: key \"name_ru\" outside a section" },
		{ R "just words\n", "t.conf:8: expected \"key = value\", a [section] "
				    "header or a # comment" },
		{ R " = x\n", "t.conf:8: a key is missing before \"=\"" },
		{ R "colour = red\n",
		  "t.conf:8: [recipient rx] colour: unknown key (one of name_ru, "
		  "name_kk, "
		  "kind, country, registration, endpoint, credentials, client_cert, "
		  "client_key, ca, connect_timeout_ms, timeout_ms, max_in_flight, "
		  "max_queued, breaker_failures, breaker_open_ms, agreement, "
		  "agreement_purposes, report_within_days)" },
		{ R "kind = other\n",
		  "t.conf:8: [recipient rx] kind: given twice (first on "
		  "line 5)" },
		{ R "ca =   \n", "t.conf:8: [recipient rx] ca: the value is empty" },
		{ "# a\tb\n",
		  "t.conf:1: control character 0x09 (the file allows none, tabs "
		  "included)" },
		{ "# a\r\n# b\rc\n", "t.conf:2: control character 0x0d (the file allows "
				     "none, tabs included)" },
		{ "# a\x7f\n",
		  "t.conf:1: control character 0x7f (the file allows none, tabs "
		  "included)" },
		{ "\n\n# \xff\n", "t.conf:3: not valid UTF-8" },
		{ "# \xed\xa0\x80 a surrogate\n", "t.conf:1: not valid UTF-8" },
		{ "[recipient R1]\n", "t.conf:1: [recipient R1]: a recipient's code "
				      "matches [a-z][a-z0-9_]{1,31}" },
		{ "[recipient a]\n", "t.conf:1: [recipient a]: a recipient's code "
				     "matches [a-z][a-z0-9_]{1,31}" },
		{ R R, "t.conf:8: [recipient rx]: recipient rx is defined twice (first "
		       "on line "
		       "1)" },
		{ GKB "[service gkb]\n", "t.conf:8: [service gkb]: a service is named "
					 "CODE.SERVICE" },
		{ GKB "[service nobody.report]\n",
		  "t.conf:8: [service nobody.report]: no recipient \"nobody\" is defined "
		  "above" },
		{ GKB_REPORT GKB,
		  "t.conf:1: [service gkb.report]: no recipient \"gkb\" is "
		  "defined above" },
		{ GKB "[service gkb.Report]\n",
		  "t.conf:8: [service gkb.Report]: a service's "
		  "name matches [a-z][a-z0-9_]{1,31}" },
		{ GKB GKB_REPORT GKB_REPORT,
		  "t.conf:14: [service gkb.report]: service "
		  "gkb.report is defined twice (first on line 8)" },
		{ "[cross_border]\n", "t.conf:1: [cross_border]: required key "
				      "\"allowed_countries\" is missing" },
		{ "[cross_border]\nallowed_countries = DE\n[cross_border]\n",
		  "t.conf:3: [cross_border]: the section is given twice (first on line "
		  "1)" },
		{ "[cross_border]\ncountries = DE\n",
		  "t.conf:2: [cross_border] countries: unknown key (one of "
		  "allowed_countries)" },
		{ "[cross_border]\nallowed_countries = DE XX\n",
		  "t.conf:2: [cross_border] allowed_countries: \"XX\" is not an assigned "
		  "ISO "
		  "3166-1 alpha-2 code" },
		{ "[cross_border]\nallowed_countries = de\n",
		  "t.conf:2: [cross_border] allowed_countries: \"de\" is not an assigned "
		  "ISO "
		  "3166-1 alpha-2 code" },
		{ "[cross_border]\nallowed_countries = DE KZ\n",
		  "t.conf:2: [cross_border] allowed_countries: KZ is home; list only "
		  "countries abroad" },
		{ "[cross_border]\nallowed_countries = DE FR DE\n",
		  "t.conf:2: [cross_border] allowed_countries: \"DE\" is listed twice" },
	};
	run(rows, N(rows));
}

/* Limits that take a file too big to write out: built here. */
static void test_limits(void **state)
{
	(void)state;
	struct access_matrix m;
	access_matrix_default(&m);
	size_t cap = RECIPIENTS_FILE_MAX + 4096;
	char *s = malloc(cap);
	assert_non_null(s);

	/* A line of 2049 bytes; 2048 pass. */
	memset(s, 'x', 2049);
	s[0] = '#';
	s[2049] = '\n';
	assert_string_equal(parse_error(s, 2050, &m),
			    "t.conf:1: line is longer than 2048 bytes");
	s[2048] = '\n';
	assert_null(parse_error(s, 2049, &m));

	/* Past 256 KiB: the line the limit falls in (lines of 1002 bytes). */
	size_t n = 0;
	while (n < RECIPIENTS_FILE_MAX + 1002) {
		memset(s + n, 'x', 1001);
		s[n] = '#';
		s[n + 1001] = '\n';
		n += 1002;
	}
	assert_string_equal(parse_error(s, RECIPIENTS_FILE_MAX + 1, &m),
			    "t.conf:262: the file is longer than 262144 bytes");
	assert_null(parse_error(s, RECIPIENTS_FILE_MAX, &m));

	/* A NUL is a control character, not the end of the text. */
	assert_string_equal(
		parse_error("# a\0b\n", 6, &m),
		"t.conf:1: control character 0x00 (the file allows none, tabs "
		"included)");

	/* 64 recipients pass, the 65th does not. */
	size_t before = 0;
	n = 0;
	for (int i = 0; i < 65; i++) {
		before = n;
		n += (size_t)snprintf(s + n, cap - n,
				      RECIPIENT("r%02d", "Получатель", "other", "KZ",
						"pending", "https://r.example"),
				      i);
	}
	assert_string_equal(parse_error(s, n, &m),
			    "t.conf:449: [recipient r64]: more than 64 recipients");
	assert_null(parse_error(s, before, &m));

	/* 16 services pass, the 17th does not. */
	n = (size_t)snprintf(s, cap, GKB);
	for (int i = 0; i < 17; i++) {
		before = n;
		n += (size_t)snprintf(s + n, cap - n,
				      QUERY("gkb.s%02d", "credit_report/1",
					    "loan_application_review", "identity.iin",
					    "report.score", "consent:credit_bureau_gkb"),
				      i);
	}
	assert_string_equal(
		parse_error(s, n, &m),
		"t.conf:104: [service gkb.s16]: recipient gkb has more than 16 "
		"services");
	assert_null(parse_error(s, before, &m));

	/* 64 list items pass, the 65th does not. */
	n = (size_t)snprintf(s, cap, "[cross_border]\nallowed_countries =");
	static const char *const countries[] = {
		"AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS",
		"AT", "AU", "AW", "AX", "AZ", "BA", "BB", "BD", "BE", "BF", "BG",
		"BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS", "BT",
		"BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI",
		"CK", "CL", "CM", "CN", "CO", "CR", "CU", "CV", "CW", "CX", "CY",
		"CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE", "EG",
	};
	for (size_t i = 0; i < 64; i++)
		n += (size_t)snprintf(s + n, cap - n, " %s", countries[i]);
	assert_null(parse_error(s, n, &m));
	n += (size_t)snprintf(s + n, cap - n, " %s", countries[64]);
	assert_string_equal(
		parse_error(s, n, &m),
		"t.conf:2: [cross_border] allowed_countries: more than 64 items");

	/* A name of 300 characters passes, 301 do not (Cyrillic: 2 bytes each). */
	for (int chars = 300; chars <= 301; chars++) {
		n = (size_t)snprintf(s, cap, "[recipient rx]\nname_ru = ");
		for (int i = 0; i < chars; i++)
			n += (size_t)snprintf(s + n, cap - n, "ж");
		n += (size_t)snprintf(s + n, cap - n,
				      "\nname_kk = Атауы\nregistration = pending\n"
				      "kind = other\ncountry = KZ\nendpoint = "
				      "https://r.example\n");
		if (chars == 300)
			assert_null(parse_error(s, n, &m));
		else
			assert_string_equal(
				parse_error(s, n, &m),
				"t.conf:2: [recipient rx] name_ru: longer than "
				"300 characters");
	}

	/* An endpoint of 512 bytes passes, 513 do not. */
	char ep[600];
	memset(ep, 'a', sizeof(ep));
	memcpy(ep, "https://r.example/", 18);
	ep[512] = '\0';
	n = (size_t)snprintf(s, cap,
			     "[recipient rx]\nname_ru = x\nname_kk = x\n"
			     "registration = pending\nkind = other\ncountry = KZ\n"
			     "endpoint = %s\n",
			     ep);
	assert_null(parse_error(s, n, &m));
	ep[512] = 'a';
	ep[513] = '\0';
	n = (size_t)snprintf(s, cap,
			     "[recipient rx]\nname_ru = x\nname_kk = x\n"
			     "registration = pending\nkind = other\ncountry = KZ\n"
			     "endpoint = %s\n",
			     ep);
	assert_string_equal(parse_error(s, n, &m),
			    "t.conf:7: [recipient rx] endpoint: longer than 512 bytes");

	/* A legal reference of 200 characters passes, 201 do not. */
	char ref[256];
	memset(ref, 'x', sizeof(ref));
	ref[200] = '\0';
	n = (size_t)snprintf(s, cap,
			     GKB "[service gkb.events]\napi = loan_event/1\npurposes = "
				 "legal_obligation\nsends = " LOAN_FIELDS
				 "\nbasis = law:%s\n",
			     ref);
	assert_null(parse_error(s, n, &m));
	ref[200] = 'x';
	ref[201] = '\0';
	n = (size_t)snprintf(s, cap,
			     GKB "[service gkb.events]\napi = loan_event/1\npurposes = "
				 "legal_obligation\nsends = " LOAN_FIELDS
				 "\nbasis = law:%s\n",
			     ref);
	assert_string_equal(
		parse_error(s, n, &m),
		"t.conf:12: [service gkb.events] basis: the legal reference is "
		"longer than 200 characters");

	/* 65 items in sends. */
	n = (size_t)snprintf(s, cap,
			     PROC "[service proc.jobs]\napi = processing/1\n"
				  "purposes = identification\nbasis = agreement\n"
				  "sends =");
	for (int i = 0; i < 65; i++)
		n += (size_t)snprintf(s + n, cap - n, " contact.f%d", i);
	n += (size_t)snprintf(s + n, cap - n, "\n");
	assert_string_equal(parse_error(s, n, &m),
			    "t.conf:14: [service proc.jobs] sends: more than 64 items");
	free(s);
}

/* ---- [recipient CODE] -------------------------------------------------------- */

static void test_recipient_keys(void **state)
{
	(void)state;
	static const struct row rows[] = {
		{ "[recipient rx]\nname_ru = Р\n",
		  "t.conf:1: [recipient rx]: required key \"name_kk\" is missing" },
		{ "[recipient rx]\nname_ru = Р\nname_kk = Р\nregistration = pending\n"
		  "kind = other\ncountry = KZ\n",
		  "t.conf:1: [recipient rx]: required key \"endpoint\" is missing" },
		{ RECIPIENT("pkb", PKB_NAME, "bank", "KZ", "pending",
			    "https://p.example"),
		  "t.conf:5: [recipient pkb] kind: unknown kind \"bank\" (one of "
		  "credit_bureau, mobile_operator, state_database, processor, other)" },
		{ RECIPIENT("rx", "Р", "other", "XX", "pending", "https://r.example"),
		  "t.conf:6: [recipient rx] country: \"XX\" is not an assigned ISO "
		  "3166-1 "
		  "alpha-2 code" },
		{ RECIPIENT("rx", "Р", "other", "kz", "pending", "https://r.example"),
		  "t.conf:6: [recipient rx] country: \"kz\" is not an assigned ISO "
		  "3166-1 "
		  "alpha-2 code" },
		{ RECIPIENT("rx", "Р", "other", "KZ", "240640009707",
			    "https://r.example"),
		  "t.conf:4: [recipient rx] registration: a recipient in KZ is "
		  "registered by "
		  "its BIN: \"bin:\" and 12 digits, or \"pending\"" },
		{ RECIPIENT("rx", "Р", "other", "KZ", "bin:24064000970",
			    "https://r.example"),
		  "t.conf:4: [recipient rx] registration: a recipient in KZ is "
		  "registered by "
		  "its BIN: \"bin:\" and 12 digits, or \"pending\"" },
		{ RECIPIENT("rx", "Р", "other", "KZ", "foreign:KZ:1",
			    "https://r.example"),
		  "t.conf:4: [recipient rx] registration: a recipient in KZ is "
		  "registered by "
		  "its BIN: \"bin:\" and 12 digits, or \"pending\"" },
		{ RECIPIENT("rx", "Р", "other", "KZ", "bin:240640009706",
			    "https://r.example"),
		  "t.conf:4: [recipient rx] registration: BIN 240640009706 fails its "
		  "check "
		  "digit" },
		{ RECIPIENT("rx", "Р", "other", "DE", "bin:240640009707",
			    "https://r.example"),
		  "t.conf:4: [recipient rx] registration: a recipient in DE is "
		  "registered as "
		  "\"foreign:DE:ID\", or \"pending\"" },
		{ RECIPIENT("rx", "Р", "other", "DE", "foreign:FR:HRB-1",
			    "https://r.example"),
		  "t.conf:4: [recipient rx] registration: \"FR\" in the registration is "
		  "not "
		  "the recipient's country DE" },
		{ RECIPIENT("rx", "Р", "other", "DE", "foreign:DE:", "https://r.example"),
		  "t.conf:4: [recipient rx] registration: the ID after \"foreign:DE:\" "
		  "must "
		  "be 1 to 64 visible ASCII characters" },
		{ RECIPIENT("rx", "Р", "other", "DE", "foreign:DE:HRB 1",
			    "https://r.example"),
		  "t.conf:4: [recipient rx] registration: the ID after \"foreign:DE:\" "
		  "must "
		  "be 1 to 64 visible ASCII characters" },
		{ RECIPIENT("rx", "Р", "other", "DE", "foreign:DE-HRB-1",
			    "https://r.example"),
		  "t.conf:4: [recipient rx] registration: a recipient in DE is "
		  "registered as "
		  "\"foreign:DE:ID\", or \"pending\"" },
		{ R "credentials = secrets/r.token\n",
		  "t.conf:8: [recipient rx] credentials: must be an absolute path" },
		{ R "ca = ca.pem\n",
		  "t.conf:8: [recipient rx] ca: must be an absolute path" },
		{ R "client_cert = /s/r.crt\n",
		  "t.conf:8: [recipient rx] client_cert: client_key must be given too" },
		{ R "client_key = /s/r.key\n",
		  "t.conf:8: [recipient rx] client_key: client_cert must be given too" },
		{ R "connect_timeout_ms = 99\n",
		  "t.conf:8: [recipient rx] connect_timeout_ms: want a whole number from "
		  "100 "
		  "to 10000" },
		{ R "connect_timeout_ms = 1e3\n",
		  "t.conf:8: [recipient rx] connect_timeout_ms: want a whole number from "
		  "100 "
		  "to 10000" },
		{ R "timeout_ms = 30001\n",
		  "t.conf:8: [recipient rx] timeout_ms: want a whole number from 100 to "
		  "30000" },
		{ R "max_in_flight = 0\n", "t.conf:8: [recipient rx] max_in_flight: want "
					   "a whole number from 1 to 256" },
		{ R "max_queued = 4097\n", "t.conf:8: [recipient rx] max_queued: want a "
					   "whole number from 0 to 4096" },
		{ R "max_queued = -1\n", "t.conf:8: [recipient rx] max_queued: want a "
					 "whole number from 0 to 4096" },
		{ R "breaker_failures = 101\n",
		  "t.conf:8: [recipient rx] breaker_failures: want a whole number from 1 "
		  "to "
		  "100" },
		{ R "breaker_open_ms = 1234567890\n",
		  "t.conf:8: [recipient rx] breaker_open_ms: want a whole number from "
		  "100 to "
		  "600000" },
		{ R "timeout_ms = 500\n", "t.conf:8: [recipient rx] timeout_ms: 500 is "
					  "less than connect_timeout_ms "
					  "(1000)" },
		{ R "connect_timeout_ms = 5000\n",
		  "t.conf:8: [recipient rx] connect_timeout_ms: 5000 is more than "
		  "timeout_ms "
		  "(3000 by default)" },
		{ R "agreement = DPA-1 2025-01-15\n",
		  "t.conf:8: [recipient rx] agreement: only a processor has a processing "
		  "agreement" },
		{ R "agreement_purposes = identification\n",
		  "t.conf:8: [recipient rx] agreement_purposes: only a processor has a "
		  "processing agreement" },
		{ RECIPIENT("pp", "Р", "processor", "KZ", "pending",
			    "https://p.example") "agreement_purposes = identification\n",
		  "t.conf:1: [recipient pp]: required key \"agreement\" is missing (a "
		  "processor acts only under a processing agreement, T5)" },
		{ RECIPIENT("pp", "Р", "processor", "KZ", "pending",
			    "https://p.example") "agreement = DPA-1 2025-01-15\n",
		  "t.conf:1: [recipient pp]: required key \"agreement_purposes\" is "
		  "missing "
		  "(a processor acts only under a processing agreement, T5)" },
		{ RECIPIENT("pp", "Р", "processor", "KZ", "pending",
			    "https://p.example") "agreement = DPA-1\nagreement_purposes "
						 "= identification\n",
		  "t.conf:8: [recipient pp] agreement: want \"ID YYYY-MM-DD\": the "
		  "agreement's number (1 to 64 visible ASCII characters) and date" },
		{ RECIPIENT("pp", "Р", "processor", "KZ", "pending",
			    "https://p.example") "agreement = DPA 1 "
						 "2025-01-15\nagreement_purposes = "
						 "identification\n",
		  "t.conf:8: [recipient pp] agreement: want \"ID YYYY-MM-DD\": the "
		  "agreement's number (1 to 64 visible ASCII characters) and date" },
		{ RECIPIENT("pp", "Р", "processor", "KZ", "pending",
			    "https://p.example") "agreement = DPA-1 "
						 "2025-02-30\nagreement_purposes = "
						 "identification\n",
		  "t.conf:8: [recipient pp] agreement: \"2025-02-30\" is not a date "
		  "(YYYY-MM-DD)" },
		/* A processor given a purpose outside the policy. */
		{ RECIPIENT("pp", "Р", "processor", "KZ", "pending",
			    "https://p.example") "agreement = DPA-1 2025-01-15\n"
						 "agreement_purposes = identification "
						 "scoring\n",
		  "t.conf:9: [recipient pp] agreement_purposes: \"scoring\" is not a "
		  "purpose "
		  "of the policy (one of loan_application_review, loan_servicing, "
		  "fraud_prevention, identification, security_compliance, "
		  "customer_communication, marketing, marketing_campaign_design, "
		  "internal_investigation, legal_obligation)" },
		{ RECIPIENT("pp", "Р", "processor", "KZ", "pending",
			    "https://p.example") "agreement = DPA-1 2025-01-15\n"
						 "agreement_purposes = identification "
						 "identification\n",
		  "t.conf:9: [recipient pp] agreement_purposes: \"identification\" is "
		  "listed "
		  "twice" },
		{ R "report_within_days = 5\n",
		  "t.conf:8: [recipient rx] report_within_days: only for a credit "
		  "bureau" },
		{ GKB "report_within_days = 91\n",
		  "t.conf:8: [recipient gkb] report_within_days: want a whole number "
		  "from 1 "
		  "to 90" },
		{ RECIPIENT("sl", "Scorelab", "other", "DE", "foreign:DE:HRB-1",
			    "https://s.example"),
		  "t.conf:6: [recipient sl] country: \"DE\" is not in [cross_border] "
		  "allowed_countries" },
		{ "[cross_border]\nallowed_countries = FR\n" RECIPIENT(
			  "sl", "Scorelab", "other", "DE", "foreign:DE:HRB-1",
			  "https://s.example"),
		  "t.conf:8: [recipient sl] country: \"DE\" is not in [cross_border] "
		  "allowed_countries" },
	};
	run(rows, N(rows));
}

static void test_endpoints(void **state)
{
	(void)state;
	static const struct {
		const char *endpoint, *why;
	} rows[] = {
		{ "ftp://r.example", "must start with https://" },
		{ "HTTPS://r.example", "must start with https://" },
		{ "r.example", "must start with https://" },
		{ "https://user:pw@r.example",
		  "no user name or password in the URL (the credentials file holds the "
		  "token)" },
		{ "https://r.example/a?b=1", "no query or fragment" },
		{ "https://r.example/#top", "no query or fragment" },
		{ "https://", "the host is missing" },
		{ "https://:443/x", "the host is missing" },
		{ "https://r_x.example",
		  "the host has a character a host name cannot have" },
		{ "https://хост.kz",
		  "only visible ASCII (an international host name in punycode)" },
		{ "https://r.example:0", "the port must be 1 to 65535" },
		{ "https://r.example:65536", "the port must be 1 to 65535" },
		{ "https://r.example:", "the port must be 1 to 65535" },
		{ "https://r.example:8a/x", "the port must be 1 to 65535" },
		{ "https://r.example:000443", "the port must be 1 to 65535" },
		{ "https://[::1", "an IPv6 host is written [ADDRESS]" },
		{ "https://[]/x", "an IPv6 host is written [ADDRESS]" },
		{ "https://[fe80::1%eth0]", "an IPv6 host is written [ADDRESS]" },
		{ "https://[::1]443", "a port follows the host after a colon" },
		{ "http://r.example", "http:// only for 127.0.0.1, ::1 or localhost; use "
				      "https://" },
		{ "http://127.0.0.2:80",
		  "http:// only for 127.0.0.1, ::1 or localhost; use "
		  "https://" },
		{ "http://[::2]", "http:// only for 127.0.0.1, ::1 or localhost; use "
				  "https://" },
	};
	char text[1024], want[512];
	for (size_t i = 0; i < N(rows); i++) {
		snprintf(text, sizeof(text),
			 "[recipient rx]\nname_ru = Р\nname_kk = Р\nregistration = "
			 "pending\n"
			 "kind = other\ncountry = KZ\nendpoint = %s\n",
			 rows[i].endpoint);
		snprintf(want, sizeof(want), "t.conf:7: [recipient rx] endpoint: %s",
			 rows[i].why);
		expect(text, want);
	}
	static const char *const good[] = {
		"https://r.example",
		"https://r.example/",
		"https://r.example:65535/a/b",
		"https://10.0.0.1:8443/api/v1",
		"https://[2001:db8::1]:443/x",
		"https://[2001:db8::1]",
		"http://127.0.0.1:8080/peer",
		"http://[::1]:9",
		"http://localhost",
		"https://R-1.Example.KZ/x",
	};
	for (size_t i = 0; i < N(good); i++) {
		snprintf(text, sizeof(text),
			 "[recipient rx]\nname_ru = Р\nname_kk = Р\nregistration = "
			 "pending\n"
			 "kind = other\ncountry = KZ\nendpoint = %s\n",
			 good[i]);
		accept(text);
	}
}

/* ---- [service CODE.SERVICE] -------------------------------------------------- */

static void test_service_keys(void **state)
{
	(void)state;
	static const struct row rows[] = {
		{ GKB "[service gkb.report]\napi = credit_report/1\n",
		  "t.conf:8: [service gkb.report]: required key \"basis\" is missing" },
		{ GKB "[service gkb.report]\nbasis = consent:credit_bureau_gkb\n"
		      "purposes = loan_servicing\nsends = identity.iin\n",
		  "t.conf:8: [service gkb.report]: required key \"api\" is missing" },
		{ GKB "[service gkb.report]\napi = credit_report/1\n"
		      "basis = consent:credit_bureau_gkb\nsends = identity.iin\n",
		  "t.conf:8: [service gkb.report]: required key \"purposes\" is "
		  "missing" },
		{ GKB "[service gkb.report]\napi = credit_report/1\n"
		      "basis = consent:credit_bureau_gkb\npurposes = loan_servicing\n",
		  "t.conf:8: [service gkb.report]: required key \"sends\" is missing" },
		{ GKB "[service gkb.report]\nreport = yes\n",
		  "t.conf:9: [service gkb.report] report: unknown key (one of api, path, "
		  "basis, purposes, sends, receives, state_service_consent)" },
		{ GKB QUERY("gkb.report", "credit_report/2", "loan_application_review",
			    "identity.iin", "report.score", "consent:credit_bureau_gkb"),
		  "t.conf:9: [service gkb.report] api: unknown API \"credit_report/2\" "
		  "(one "
		  "of credit_report/1, loan_event/1, phone_check/1, family_ties/1, "
		  "address/1, legal_capacity/1, sms/1, processing/1, "
		  "payout/1)" },
		{ GKB QUERY("gkb.phone", "phone_check/1", "identification",
			    "identity.iin contact.phone_mobile", "phone.match",
			    "consent:mobile_operator"),
		  "t.conf:9: [service gkb.phone] api: phone_check/1 is for a mobile "
		  "operator, not a credit bureau" },
		{ R SERVICE("rx.jobs", "processing/1", "identification", "identity.sex",
			    "agreement"),
		  "t.conf:9: [service rx.jobs] api: processing/1 is for a processor, not "
		  "a "
		  "recipient of kind other" },
		{ GKB GKB_REPORT "path = v1/reports\n",
		  "t.conf:14: [service gkb.report] path: must start with / and be at "
		  "most "
		  "256 bytes of visible ASCII, without query or fragment" },
		{ GKB GKB_REPORT "path = /v1/reports?x=1\n",
		  "t.conf:14: [service gkb.report] path: must start with / and be at "
		  "most "
		  "256 bytes of visible ASCII, without query or fragment" },
		{ GKB GKB_REPORT "state_service_consent = yes\n",
		  "t.conf:14: [service gkb.report] state_service_consent: only a state "
		  "database's services have it" },
		{ FAMILY QUERY(
			  "family.ties", "family_ties/1", "loan_application_review",
			  "identity.iin", "family.marital_status",
			  "consent:state_database") "state_service_consent = maybe\n",
		  "t.conf:14: [service family.ties] state_service_consent: want yes or "
		  "no" },
	};
	run(rows, N(rows));
}

static void test_basis(void **state)
{
	(void)state;
	static const struct row rows[] = {
		{ GKB QUERY("gkb.report", "credit_report/1", "loan_application_review",
			    "identity.iin", "report.score", "consent"),
		  "t.conf:13: [service gkb.report] basis: want consent:KIND, "
		  "law:REFERENCE "
		  "or agreement" },
		{ GKB QUERY("gkb.report", "credit_report/1", "loan_application_review",
			    "identity.iin", "report.score", "contract"),
		  "t.conf:13: [service gkb.report] basis: want consent:KIND, "
		  "law:REFERENCE "
		  "or agreement" },
		{ GKB QUERY("gkb.report", "credit_report/1", "loan_application_review",
			    "identity.iin", "report.score", "consent:bureau"),
		  "t.conf:13: [service gkb.report] basis: no consent \"bureau\" (one of "
		  "credit_bureau_gkb, credit_bureau_pkb, mobile_operator, "
		  "state_database, "
		  "cross_border)" },
		{ GKB SERVICE("gkb.events", "loan_event/1", "legal_obligation",
			      LOAN_FIELDS, "law:"),
		  "t.conf:12: [service gkb.events] basis: law: needs the provision it "
		  "rests "
		  "on" },
		/* The design's example, line for line. */
		{ GKB SERVICE("gkb.events", "loan_event/1",
			      "legal_obligation loan_servicing", LOAN_FIELDS,
			      "law:KZ 573-II art. 26(1)"),
		  "t.conf:12: [service gkb.events] basis: law: may only be used with "
		  "purposes = legal_obligation" },
		{ GKB SERVICE("gkb.events", "loan_event/1", "loan_servicing", LOAN_FIELDS,
			      "agreement"),
		  "t.conf:12: [service gkb.events] basis: agreement is only for a "
		  "processor" },
		{ GKB QUERY("gkb.report", "credit_report/1", "loan_application_review",
			    "identity.iin", "report.score", "consent:policy"),
		  "t.conf:13: [service gkb.report] basis: consent policy covers the "
		  "lender "
		  "alone and grounds no transfer" },
		{ KCELL QUERY("kcell.phone", "phone_check/1", "identification",
			      "identity.iin contact.phone_mobile", "phone.match",
			      "consent:marketing_sms"),
		  "t.conf:13: [service kcell.phone] basis: consent marketing_sms covers "
		  "the "
		  "lender alone and grounds no transfer" },
		{ GKB QUERY("gkb.report", "credit_report/1", "loan_application_review",
			    "identity.iin", "report.score", "consent:mobile_operator"),
		  "t.conf:13: [service gkb.report] basis: consent mobile_operator is for "
		  "a "
		  "mobile operator, not a credit bureau" },
		{ GKB QUERY("gkb.report", "credit_report/1", "loan_application_review",
			    "identity.iin", "report.score", "consent:cross_border"),
		  "t.conf:13: [service gkb.report] basis: consent cross_border is for a "
		  "recipient abroad, and this one is in KZ" },
		/* A consent reaches only the recipients it names. */
		{ RECIPIENT("pkb", PKB_NAME, "credit_bureau", "KZ", "pending",
			    "https://p.example")
			  QUERY("pkb.report", "credit_report/1",
				"loan_application_review", "identity.iin", "report.score",
				"consent:credit_bureau_gkb"),
		  "t.conf:13: [service pkb.report] basis: consent credit_bureau_gkb "
		  "names "
		  "its recipients (" GKB_NAME "), and \"" PKB_NAME
		  "\" is not one of them" },
		{ RECIPIENT("beeline", "ПАО «ВымпелКом»", "mobile_operator", "KZ",
			    "pending", "https://b.example")
			  QUERY("beeline.phone", "phone_check/1", "identification",
				"identity.iin contact.phone_mobile", "phone.match",
				"consent:mobile_operator"),
		  "t.conf:13: [service beeline.phone] basis: consent mobile_operator "
		  "names "
		  "its recipients (АО «Кселл», ТОО «КаР-Тел», ТОО «Мобайл "
		  "Телком-Сервис»), "
		  "and \"ПАО «ВымпелКом»\" is not one of them" },
	};
	run(rows, N(rows));
}

static void test_purposes(void **state)
{
	(void)state;
	static const struct row rows[] = {
		{ GKB QUERY("gkb.report", "credit_report/1", "scoring", "identity.iin",
			    "report.score", "consent:credit_bureau_gkb"),
		  "t.conf:10: [service gkb.report] purposes: \"scoring\" is not a "
		  "purpose of "
		  "the policy (one of loan_application_review, loan_servicing, "
		  "fraud_prevention, identification, security_compliance, "
		  "customer_communication, marketing, marketing_campaign_design, "
		  "internal_investigation, legal_obligation)" },
		{ GKB QUERY("gkb.report", "credit_report/1",
			    "loan_servicing loan_servicing", "identity.iin",
			    "report.score", "consent:credit_bureau_gkb"),
		  "t.conf:10: [service gkb.report] purposes: \"loan_servicing\" is "
		  "listed "
		  "twice" },
		{ GKB QUERY("gkb.report", "credit_report/1", "loan_servicing marketing",
			    "identity.iin", "report.score", "consent:credit_bureau_gkb"),
		  "t.conf:10: [service gkb.report] purposes: \"marketing\" is never a "
		  "purpose for a credit bureau" },
		{ FAMILY QUERY("family.ties", "family_ties/1",
			       "marketing_campaign_design", "identity.iin",
			       "family.marital_status", "consent:state_database"),
		  "t.conf:10: [service family.ties] purposes: "
		  "\"marketing_campaign_design\" "
		  "is never a purpose for a state database" },
		{ KCELL QUERY("kcell.phone", "phone_check/1",
			      "identification loan_servicing",
			      "identity.iin contact.phone_mobile", "phone.match",
			      "consent:mobile_operator"),
		  "t.conf:10: [service kcell.phone] purposes: consent mobile_operator "
		  "does "
		  "not cover purpose \"loan_servicing\"" },
		{ GKB QUERY("gkb.report", "credit_report/1", "fraud_prevention",
			    "identity.iin", "report.score", "consent:credit_bureau_gkb"),
		  "t.conf:10: [service gkb.report] purposes: consent credit_bureau_gkb "
		  "does "
		  "not cover purpose \"fraud_prevention\"" },
		/* A processor given a purpose outside its agreement. */
		{ PROC SERVICE("proc.sms", "sms/1",
			       "identification loan_application_review",
			       "contact.phone_mobile", "agreement"),
		  "t.conf:12: [service proc.sms] purposes: \"loan_application_review\" "
		  "is "
		  "not among the processing agreement's purposes (identification, "
		  "customer_communication)" },
		{ PROC SERVICE("proc.sms", "sms/1", "marketing", "contact.phone_mobile",
			       "agreement"),
		  "t.conf:12: [service proc.sms] purposes: \"marketing\" is not among "
		  "the "
		  "processing agreement's purposes (identification, "
		  "customer_communication)" },
		/* L6: abroad, the cross-border consent must cover the purpose. */
		{ ABROAD SERVICE("sl.jobs", "processing/1", "identification",
				 "identity.sex", "agreement"),
		  "t.conf:14: [service sl.jobs] purposes: consent cross_border does not "
		  "cover purpose \"identification\", so it cannot go abroad" },
	};
	run(rows, N(rows));
}

static void test_sends(void **state)
{
	(void)state;
	static const struct row rows[] = {
		{ GKB QUERY("gkb.report", "credit_report/1", "loan_application_review",
			    "iin", "report.score", "consent:credit_bureau_gkb"),
		  "t.conf:11: [service gkb.report] sends: \"iin\" is not "
		  "CATEGORY.FIELD" },
		{ GKB QUERY("gkb.report", "credit_report/1", "loan_application_review",
			    "identity.", "report.score", "consent:credit_bureau_gkb"),
		  "t.conf:11: [service gkb.report] sends: \"identity.\" is not "
		  "CATEGORY.FIELD" },
		{ GKB QUERY("gkb.report", "credit_report/1", "loan_application_review",
			    "person.iin", "report.score", "consent:credit_bureau_gkb"),
		  "t.conf:11: [service gkb.report] sends: \"person.iin\": no category "
		  "\"person\" (one of identity, family, medical, contact, professional, "
		  "device, biometric, report, phone, loan)" },
		/* The design's example. */
		{ RECIPIENT("pkb", PKB_NAME, "credit_bureau", "KZ", "pending",
			    "https://p.example")
			  QUERY("pkb.credit_report", "credit_report/1",
				"loan_application_review", "identity.iin2",
				"report.score", "consent:credit_bureau_pkb"),
		  "t.conf:11: [service pkb.credit_report] sends: \"identity.iin2\" is "
		  "not a "
		  "field of category identity" },
		{ GKB SERVICE("gkb.events", "loan_event/1", "legal_obligation",
			      LOAN_FIELDS " loan.interest", "law:KZ 573-II"),
		  "t.conf:11: [service gkb.events] sends: \"loan.interest\" is not a "
		  "field "
		  "of category loan" },
		{ GKB QUERY("gkb.report", "credit_report/1", "loan_application_review",
			    "identity.iin report.score", "report.score",
			    "consent:credit_bureau_gkb"),
		  "t.conf:11: [service gkb.report] sends: \"report.score\" is an answer "
		  "field and is never sent" },
		/* D7, the design's example. */
		{ RECIPIENT("capacity_db", "Дееспособность", "state_database", "KZ",
			    "pending", "https://c.example")
			  QUERY("capacity_db.capacity", "legal_capacity/1",
				"loan_application_review",
				"identity.iin medical.legal_capacity",
				"medical.legal_capacity", "consent:state_database"),
		  "t.conf:11: [service capacity_db.capacity] sends: "
		  "\"medical.legal_capacity\" is a special category and is never sent" },
		{ PROC SERVICE("proc.jobs", "processing/1", "identification",
			       "biometric.face_image", "agreement"),
		  "t.conf:13: [service proc.jobs] sends: \"biometric.face_image\" is a "
		  "special category and is never sent" },
		{ PROC SERVICE("proc.jobs", "processing/1", "identification",
			       "contact.phone_mobile loan.event", "agreement"),
		  "t.conf:13: [service proc.jobs] sends: processing/1 does not send "
		  "\"loan.event\"" },
		/* payout/1 is sent what a payout needs and no more. */
		{ PROC SERVICE("proc.pay", "payout/1", "customer_communication",
			       "loan.contract_number loan.amount_tiyn "
			       "loan.payout_destination identity.surname",
			       "agreement"),
		  "t.conf:13: [service proc.pay] sends: payout/1 does not send "
		  "\"identity.surname\" (it sends loan.contract_number, "
		  "loan.amount_tiyn, loan.payout_destination, identity.iin)" },
		{ PROC SERVICE("proc.pay", "payout/1", "customer_communication",
			       "loan.contract_number loan.amount_tiyn", "agreement"),
		  "t.conf:13: [service proc.pay] sends: payout/1 needs "
		  "\"loan.payout_destination\"" },
		{ PROC SERVICE("proc.jobs", "processing/1", "identification",
			       "identity.sex identity.iin", "agreement"),
		  "t.conf:13: [service proc.jobs] sends: processing/1 sends a pseudonym "
		  "in "
		  "place of the subject, never \"identity.iin\"" },
		{ GKB QUERY("gkb.report", "credit_report/1", "loan_application_review",
			    "identity.iin contact.email", "report.score",
			    "consent:credit_bureau_gkb"),
		  "t.conf:11: [service gkb.report] sends: credit_report/1 does not send "
		  "\"contact.email\" (it sends identity.iin)" },
		{ PROC SERVICE("proc.sms", "sms/1", "identification",
			       "contact.phone_mobile identity.surname", "agreement"),
		  "t.conf:13: [service proc.sms] sends: sms/1 does not send "
		  "\"identity.surname\" (it sends contact.phone_mobile)" },
		{ GKB SERVICE(
			  "gkb.events", "loan_event/1", "legal_obligation",
			  "identity.iin identity.surname identity.given_name "
			  "identity.birth_date loan.event loan.occurred_on "
			  "loan.contract_number loan.amount_tiyn loan.outstanding_tiyn "
			  "loan.overdue_days",
			  "law:KZ 573-II"),
		  "t.conf:11: [service gkb.events] sends: loan_event/1 needs "
		  "\"loan.due_date\"" },
		{ KCELL QUERY("kcell.phone", "phone_check/1", "identification",
			      "contact.phone_mobile", "phone.match",
			      "consent:mobile_operator"),
		  "t.conf:11: [service kcell.phone] sends: phone_check/1 needs "
		  "\"identity.iin\"" },
		{ GKB QUERY("gkb.report", "credit_report/1", "loan_application_review",
			    "identity.iin identity.iin", "report.score",
			    "consent:credit_bureau_gkb"),
		  "t.conf:11: [service gkb.report] sends: \"identity.iin\" is listed "
		  "twice" },
		/* The access matrix: identification sees no professional data. */
		{ PROC SERVICE("proc.jobs", "processing/1", "identification",
			       "identity.sex professional.employer", "agreement"),
		  "t.conf:13: [service proc.jobs] sends: purpose \"identification\" may "
		  "not "
		  "see category professional (access matrix)" },
		{ PROC SERVICE("proc.jobs", "processing/1", "customer_communication",
			       "contact.email device.os", "agreement"),
		  "t.conf:13: [service proc.jobs] sends: purpose "
		  "\"customer_communication\" "
		  "may not see category device (access matrix)" },
		/* The consent must cover each category sent. */
		{ ABROAD SERVICE("sl.jobs", "processing/1", "loan_application_review",
				 "identity.sex professional.employer",
				 "consent:cross_border"),
		  "t.conf:15: [service sl.jobs] sends: consent cross_border does not "
		  "cover "
		  "category professional" },
		/* Abroad, whatever the basis, only what the cross-border consent
		 * covers (L6). */
		{ ABROAD SERVICE("sl.jobs", "processing/1", "loan_application_review",
				 "identity.sex family.marital_status", "agreement"),
		  "t.conf:15: [service sl.jobs] sends: consent cross_border does not "
		  "cover "
		  "category family, so it cannot go abroad" },
	};
	run(rows, N(rows));
}

static void test_receives(void **state)
{
	(void)state;
	static const struct row rows[] = {
		{ GKB SERVICE("gkb.events", "loan_event/1", "legal_obligation",
			      LOAN_FIELDS, "law:KZ 573-II") "receives = report.score\n",
		  "t.conf:13: [service gkb.events] receives: loan_event/1 answers with "
		  "nothing to keep" },
		{ GKB SERVICE("gkb.report", "credit_report/1", "loan_application_review",
			      "identity.iin", "consent:credit_bureau_gkb"),
		  "t.conf:8: [service gkb.report]: required key \"receives\" is missing "
		  "(what of the answer of credit_report/1 is kept)" },
		{ GKB QUERY("gkb.report", "credit_report/1", "loan_application_review",
			    "identity.iin", "report.rating", "consent:credit_bureau_gkb"),
		  "t.conf:12: [service gkb.report] receives: \"report.rating\" is not a "
		  "field of category report" },
		{ GKB QUERY("gkb.report", "credit_report/1", "loan_application_review",
			    "identity.iin", "report.score phone.match",
			    "consent:credit_bureau_gkb"),
		  "t.conf:12: [service gkb.report] receives: \"phone.match\" is not in "
		  "the "
		  "answer of credit_report/1 (it answers report.has_history, "
		  "report.score, "
		  "report.loans, report.total_debt_tiyn, report.enquiries, "
		  "report.self_excluded)" },
		{ FAMILY QUERY("family.ties", "family_ties/1", "loan_application_review",
			       "identity.iin", "family.marital_status family.notes",
			       "consent:state_database"),
		  "t.conf:12: [service family.ties] receives: \"family.notes\" is not in "
		  "the "
		  "answer of family_ties/1 (it answers family.marital_status, "
		  "family.spouse_name, family.dependants)" },
		/* Identification may not see family data, so may not ask for it. */
		{ FAMILY QUERY("family.ties", "family_ties/1", "identification",
			       "identity.iin", "family.marital_status",
			       "consent:state_database"),
		  "t.conf:12: [service family.ties] receives: purpose \"identification\" "
		  "may not see category family (access matrix)" },
	};
	run(rows, N(rows));
}

/* ---- files that pass --------------------------------------------------------- */

static void test_good_files(void **state)
{
	(void)state;
	struct access_matrix m;
	access_matrix_default(&m);
	/* CRLF, a byte-order mark, comments, blank lines, # inside a value,
	 * the [cross_border] section after the recipient that needs it. */
	static const char text[] =
		"\xef\xbb\xbf# recipients\r\n"
		"\r\n"
		"[recipient gkb]\r\n"
		"name_ru = " GKB_NAME "\r\n"
		"name_kk = «Мемлекеттік кредиттік бюро» АҚ\r\n"
		"registration = bin:240640009707\r\n"
		"kind = credit_bureau\r\n"
		"country = KZ\r\n"
		"endpoint = https://gkb.example:8443/api\r\n"
		"credentials = /etc/senim/gkb.token\r\n"
		"client_cert = /etc/senim/gkb.crt\r\n"
		"client_key = /etc/senim/gkb.key\r\n"
		"ca = /etc/senim/gkb-ca.pem\r\n"
		"timeout_ms = 1000\r\n"
		"max_queued = 0\r\n"
		"report_within_days = 10\r\n"
		"   # an indented comment\n"
		"[service gkb.events]\n"
		"api = loan_event/1\n"
		"purposes = legal_obligation\n"
		"sends = " LOAN_FIELDS " identity.patronymic\n"
		"basis = law:KZ 573-II art. 26(1) #1\n"
		"[service gkb.report]\n"
		"api  =  credit_report/1  \n"
		"path = /v2/reports\n"
		"purposes = loan_application_review   loan_servicing\n"
		"sends = identity.iin\n"
		"receives = report.score report.loans\n"
		"basis = consent:credit_bureau_gkb\n" ABROAD "[service sl.jobs]\n"
		"api = processing/1\n"
		"purposes = loan_application_review\n"
		"sends = identity.birth_date contact.email\n"
		"basis = agreement\n" FAMILY "[service family.ties]\n"
		"api = family_ties/1\n"
		"purposes = loan_application_review\n"
		"sends = identity.iin\n"
		"receives = family.marital_status\n"
		"basis = consent:state_database\n"
		"state_service_consent = no\n";
	struct recipients *r = parse_ok(text, sizeof(text) - 1, &m);
	assert_int_equal(r->n, 3);
	assert_int_equal(r->ncountries, 1);
	assert_string_equal(r->allowed_countries[0], "DE");

	const struct recipient *gkb = recipients_find(r, "gkb");
	assert_non_null(gkb);
	assert_int_equal(gkb->line, 3);
	assert_string_equal(gkb->name_ru, GKB_NAME);
	assert_string_equal(gkb->registration, "bin:240640009707");
	assert_int_equal(gkb->registration_pending, 0);
	assert_int_equal(gkb->kind, RECIPIENT_CREDIT_BUREAU);
	assert_string_equal(gkb->country, "KZ");
	assert_string_equal(gkb->endpoint, "https://gkb.example:8443/api");
	assert_string_equal(gkb->credentials, "/etc/senim/gkb.token");
	assert_int_equal(gkb->credentials_line, 10);
	assert_string_equal(gkb->client_key, "/etc/senim/gkb.key");
	assert_int_equal(gkb->client_key_line, 12);
	assert_string_equal(gkb->ca, "/etc/senim/gkb-ca.pem");
	assert_int_equal(gkb->connect_timeout_ms, 1000);
	assert_int_equal(gkb->timeout_ms, 1000);
	assert_int_equal(gkb->max_in_flight, 32);
	assert_int_equal(gkb->max_queued, 0);
	assert_int_equal(gkb->breaker_failures, 5);
	assert_int_equal(gkb->breaker_open_ms, 5000);
	assert_int_equal(gkb->report_within_days, 10);
	assert_null(gkb->agreement_id);
	assert_int_equal(gkb->nservices, 2);

	const struct recipient_service *ev = recipient_service_find(gkb, "events");
	assert_non_null(ev);
	assert_int_equal(ev->line, 18);
	assert_int_equal(ev->api, RECIPIENT_API_LOAN_EVENT);
	assert_string_equal(ev->path, "/v1/loan-events");
	assert_int_equal(ev->purposes, PURPOSE_BIT(PURPOSE_LEGAL_OBLIGATION));
	assert_int_equal(ev->basis, RECIPIENT_BASIS_LAW);
	assert_int_equal(ev->consent, -1);
	assert_string_equal(ev->legal_ref, "KZ 573-II art. 26(1) #1");
	assert_int_equal(ev->nsends, 12);
	assert_string_equal(ev->sends[0].code, "identity.iin");
	assert_int_equal(ev->sends[0].category, CATEGORY_IDENTITY);
	assert_string_equal(ev->sends[0].name, "iin");
	assert_int_equal(ev->sends[4].category, RECIPIENT_CATEGORY_LOAN);
	assert_int_equal(ev->sends_categories, CATEGORY_BIT(CATEGORY_IDENTITY) |
						       (1u << RECIPIENT_CATEGORY_LOAN));
	assert_null(ev->receives);
	assert_int_equal(ev->state_service_consent, 0);

	const struct recipient_service *rep = recipient_service_find(gkb, "report");
	assert_non_null(rep);
	assert_int_equal(rep->api, RECIPIENT_API_CREDIT_REPORT);
	assert_string_equal(rep->path, "/v2/reports");
	assert_int_equal(rep->purposes, PURPOSE_BIT(PURPOSE_LOAN_APPLICATION_REVIEW) |
						PURPOSE_BIT(PURPOSE_LOAN_SERVICING));
	assert_int_equal(rep->basis, RECIPIENT_BASIS_CONSENT);
	assert_int_equal(rep->consent, CONSENT_CREDIT_BUREAU_GKB);
	assert_int_equal(rep->nreceives, 2);
	assert_string_equal(rep->receives[1].code, "report.loans");
	assert_int_equal(rep->receives[1].category, RECIPIENT_CATEGORY_REPORT);
	assert_null(recipient_service_find(gkb, "nothing"));

	const struct recipient *sl = recipients_find(r, "sl");
	assert_non_null(sl);
	assert_string_equal(sl->country, "DE");
	assert_string_equal(sl->registration, "foreign:DE:HRB-1");
	assert_string_equal(sl->agreement_id, "DPA-2");
	assert_string_equal(sl->agreement_date, "2025-01-15");
	assert_int_equal(sl->agreement_purposes,
			 PURPOSE_BIT(PURPOSE_IDENTIFICATION) |
				 PURPOSE_BIT(PURPOSE_LOAN_APPLICATION_REVIEW));
	assert_null(sl->credentials);
	assert_int_equal(sl->credentials_line, 0);
	assert_int_equal(sl->services[0].basis, RECIPIENT_BASIS_AGREEMENT);
	assert_int_equal(sl->services[0].api, RECIPIENT_API_PROCESSING);

	const struct recipient *fam = recipients_find(r, "family");
	assert_non_null(fam);
	assert_int_equal(fam->registration_pending, 1);
	assert_int_equal(fam->services[0].state_service_consent, 0);
	assert_null(recipients_find(r, "nobody"));
	recipients_free(r);

	/* A state database's requests carry the state service's consent by
	 * default (L2). */
	r = parse_ok(
		FAMILY QUERY("family.ties", "family_ties/1", "loan_application_review",
			     "identity.iin", "family.marital_status",
			     "consent:state_database"),
		strlen(FAMILY QUERY("family.ties", "family_ties/1",
				    "loan_application_review", "identity.iin",
				    "family.marital_status", "consent:state_database")),
		&m);
	assert_int_equal(r->recipients[0].services[0].state_service_consent, 1);
	recipients_free(r);

	/* An empty file is a file without recipients; the last line may lack
	 * its newline. */
	r = parse_ok("", 0, &m);
	assert_int_equal(r->n, 0);
	recipients_free(r);
	accept(R "ca = /x.pem");
	/* The rows' neighbours that pass. */
	accept(GKB GKB_REPORT);
	accept(KCELL QUERY("kcell.phone", "phone_check/1", "identification",
			   "identity.iin contact.phone_mobile", "phone.match",
			   "consent:mobile_operator"));
	accept(PROC SERVICE("proc.sms", "sms/1", "identification customer_communication",
			    "contact.phone_mobile", "agreement"));
	accept(ABROAD SERVICE("sl.jobs", "processing/1", "loan_application_review",
			      "identity.sex", "consent:cross_border"));
	accept(R "connect_timeout_ms = 3000\n");
	accept(R "timeout_ms = 1000\n");
	accept(GKB "report_within_days = 90\n");
	accept(RECIPIENT("rx", "Р", "other", "KZ", "bin:240640009707",
			 "https://r.example"));
	accept("[cross_border]\nallowed_countries = FR DE\n" RECIPIENT(
		"sl", "Scorelab", "other", "DE", "foreign:DE:HRB-1",
		"https://s.example"));
}

/* The matrix in force decides: take identity away from loan review, and
 * the credit report can no longer be asked for. */
static void test_matrix_in_force(void **state)
{
	(void)state;
	struct access_matrix m;
	access_matrix_default(&m);
	static const char text[] = GKB GKB_REPORT;
	recipients_free(parse_ok(text, sizeof(text) - 1, &m));
	m.categories_of[PURPOSE_LOAN_APPLICATION_REVIEW] &=
		~CATEGORY_BIT(CATEGORY_IDENTITY);
	assert_string_equal(parse_error(text, sizeof(text) - 1, &m),
			    "t.conf:11: [service gkb.report] sends: purpose "
			    "\"loan_application_review\" may not see category identity "
			    "(access matrix)");
}

/* A message cut short by a small buffer stays UTF-8. */
static void test_message_cut_at_a_character(void **state)
{
	(void)state;
	struct access_matrix m;
	access_matrix_default(&m);
	static const char text[] = "[recipient rx]\nname_ru = Р\nname_kk = Р\n"
				   "registration = pending\nkind = банк\n";
	char err[64];
	for (size_t cap = 1; cap <= sizeof(err); cap++) {
		struct recipients *r = NULL;
		memset(err, 'x', sizeof(err));
		assert_int_equal(recipients_parse("t.conf", text, sizeof(text) - 1, &m,
						  &r, err, cap),
				 SENIM_ERR_INVALID);
		size_t n = strnlen(err, cap);
		assert_true(n < cap);
		/* No lead byte without its continuation at the end. */
		if (n > 0)
			assert_false((unsigned char)err[n - 1] >= 0xc0);
		if (n > 1)
			assert_false((unsigned char)err[n - 2] >= 0xe0);
	}
	assert_null(parse_error(NULL, 0, &m));
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(recipient_kind_code(RECIPIENT_STATE_DATABASE),
			    "state_database");
	assert_null(recipient_kind_code(RECIPIENT_KIND__COUNT));
	assert_string_equal(recipient_api_code(RECIPIENT_API_FAMILY_TIES),
			    "family_ties/1");
	assert_string_equal(recipient_api_path(RECIPIENT_API_PHONE_CHECK),
			    "/v1/phone-checks");
	assert_null(recipient_api_code(RECIPIENT_API__COUNT));
	assert_null(recipient_api_path(RECIPIENT_API__COUNT));
	assert_string_equal(recipient_basis_code(RECIPIENT_BASIS_AGREEMENT), "agreement");
	assert_string_equal(recipient_category_code(CATEGORY_MEDICAL), "medical");
	assert_string_equal(recipient_category_code(RECIPIENT_CATEGORY_LOAN), "loan");
	assert_null(recipient_category_code(RECIPIENT_CATEGORY__COUNT));
	assert_null(recipient_category_code(-1));
	recipients_free(NULL);
}

/* ---- the shipped file -------------------------------------------------------- */

static char *read_shipped(size_t *len)
{
	char path[4096];
	const char *src = getenv("SENIM_SOURCE_DIR");
	if (src && *src) {
		snprintf(path, sizeof(path), "%s/data/recipients.conf", src);
	} else {
		const char *here = __FILE__;
		const char *cut = strstr(here, "tests/unit/");
		snprintf(path, sizeof(path), "%.*sdata/recipients.conf",
			 cut ? (int)(cut - here) : 0, here);
	}
	FILE *f = fopen(path, "rb");
	if (!f) {
		print_error("cannot read %s\n", path);
		fail();
	}
	char *text = malloc(RECIPIENTS_FILE_MAX + 1);
	assert_non_null(text);
	*len = fread(text, 1, RECIPIENTS_FILE_MAX + 1, f);
	fclose(f);
	return text;
}

static void test_shipped_file(void **state)
{
	(void)state;
	struct access_matrix m;
	access_matrix_default(&m);
	size_t len;
	char *text = read_shipped(&len);
	struct recipients *r = parse_ok(text, len, &m);
	free(text);

	/* What the issue asks the default to list. */
	static const struct {
		const char *code;
		enum recipient_kind kind;
		const char *country;
	} want[] = {
		{ "gkb", RECIPIENT_CREDIT_BUREAU, "KZ" },
		{ "pkb", RECIPIENT_CREDIT_BUREAU, "KZ" },
		{ "kcell", RECIPIENT_MOBILE_OPERATOR, "KZ" },
		{ "kartel", RECIPIENT_MOBILE_OPERATOR, "KZ" },
		{ "mts", RECIPIENT_MOBILE_OPERATOR, "KZ" },
		{ "family_db", RECIPIENT_STATE_DATABASE, "KZ" },
		{ "address_db", RECIPIENT_STATE_DATABASE, "KZ" },
		{ "capacity_db", RECIPIENT_STATE_DATABASE, "KZ" },
		{ "sms_gateway", RECIPIENT_PROCESSOR, "KZ" },
		{ "scorelab", RECIPIENT_PROCESSOR, "DE" },
		{ "payments", RECIPIENT_PROCESSOR, "KZ" },
	};
	assert_int_equal(r->n, N(want));
	for (size_t i = 0; i < N(want); i++) {
		const struct recipient *rc = recipients_find(r, want[i].code);
		assert_non_null(rc);
		assert_int_equal(rc->kind, want[i].kind);
		assert_string_equal(rc->country, want[i].country);
		/* Secrets stay outside the repository: only absolute paths. */
		assert_true(!rc->credentials || rc->credentials[0] == '/');
		assert_true(!rc->client_key || strncmp(rc->client_key, "/etc/", 5) == 0);
		/* No endpoint reaches a real service until the lender sets it. */
		assert_non_null(strstr(rc->endpoint, ".invalid"));
		assert_true(rc->nservices >= 1);
	}
	/* GKB receives loan events by law, reports only under consent (L9). */
	const struct recipient *gkb = recipients_find(r, "gkb");
	const struct recipient_service *ev = recipient_service_find(gkb, "loan_event");
	assert_non_null(ev);
	assert_int_equal(ev->basis, RECIPIENT_BASIS_LAW);
	/* 573-II Art. 19(2)(8): one working day; watched as one calendar day. */
	assert_int_equal(gkb->report_within_days, 1);
	const struct recipient_service *rep =
		recipient_service_find(gkb, "credit_report");
	assert_int_equal(rep->consent, CONSENT_CREDIT_BUREAU_GKB);
	/* PKB needs consent both ways (L9, L14). */
	const struct recipient *pkb = recipients_find(r, "pkb");
	for (size_t i = 0; i < pkb->nservices; i++)
		assert_int_equal(pkb->services[i].consent, CONSENT_CREDIT_BUREAU_PKB);
	/* What the state databases answer with is the state's, not the
	 * borrower's to correct by declaration (R2); nothing else is. */
	assert_true(recipients_state_sourced(r, CATEGORY_MEDICAL, "legal_capacity"));
	assert_true(recipients_state_sourced(r, CATEGORY_CONTACT, "registered_address"));
	assert_true(recipients_state_sourced(r, CATEGORY_FAMILY, "spouse_name"));
	assert_false(recipients_state_sourced(r, CATEGORY_CONTACT, "actual_address"));
	assert_false(recipients_state_sourced(r, CATEGORY_IDENTITY, "surname"));
	assert_false(recipients_state_sourced(r, CATEGORY_MEDICAL, "health_status"));
	assert_false(recipients_state_sourced(NULL, CATEGORY_MEDICAL, "legal_capacity"));
	/* The state databases speak mutual TLS. */
	for (size_t i = 0; i < r->n; i++)
		if (r->recipients[i].kind == RECIPIENT_STATE_DATABASE)
			assert_non_null(r->recipients[i].client_cert);
	/* The foreign processor never gets the IIN. */
	const struct recipient *sl = recipients_find(r, "scorelab");
	for (size_t i = 0; i < sl->services[0].nsends; i++)
		assert_int_not_equal(
			strcmp(sl->services[0].sends[i].code, "identity.iin"), 0);
	/* The payment provider pays out for U2 and is sent no more than a
	 * payout needs (docs/connectors/payment-provider.md). */
	const struct recipient *pay = recipients_find(r, "payments");
	const struct recipient_service *po = recipient_service_find(pay, "payout");
	assert_non_null(po);
	assert_int_equal(po->api, RECIPIENT_API_PAYOUT);
	assert_int_equal(po->purposes, PURPOSE_BIT(PURPOSE_LOAN_SERVICING));
	assert_int_equal(po->basis, RECIPIENT_BASIS_AGREEMENT);
	assert_int_equal(po->nsends, 4);
	recipients_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_recipient_keys),
		cmocka_unit_test(test_endpoints),
		cmocka_unit_test(test_service_keys),
		cmocka_unit_test(test_basis),
		cmocka_unit_test(test_purposes),
		cmocka_unit_test(test_sends),
		cmocka_unit_test(test_receives),
		cmocka_unit_test(test_good_files),
		cmocka_unit_test(test_matrix_in_force),
		cmocka_unit_test(test_message_cut_at_a_character),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_shipped_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
