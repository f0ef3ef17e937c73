/*
 * test_contact.c — Kazakhstan phones, e-mail addresses, ISO dates and
 * ISO 3166-1 alpha-2 codes (contact.h), table-driven: valid and invalid
 * rows for each.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/contact.h"
#include "common/banned.h"

#define N(a) (sizeof(a) / sizeof(a[0]))

/* ---- phones ---------------------------------------------------------------- */

static const struct {
	const char *in;
	const char *want; /* NULL: refused */
} phones[] = {
	/* The forms contact.h promises. */
	{ "+7 701 123 45 67", "+77011234567" },
	{ "8 (701) 123-45-67", "+77011234567" },
	{ "87011234567", "+77011234567" },
	{ "77011234567", "+77011234567" },
	{ "+77011234567", "+77011234567" },
	{ "+7.701.123.45.67", "+77011234567" },
	{ "+7(747)1234567", "+77471234567" },
	{ " +7 701 123 45 67 ", "+77011234567" },
	/* Kazakhstan's ranges: 70x, 747, 75x, 77x mobile; 71x/72x fixed; 6xx. */
	{ "+7 700 000 00 00", "+77000000000" },
	{ "+7 705 999 99 99", "+77059999999" },
	{ "+7 708 111 22 33", "+77081112233" },
	{ "+7 750 111 22 33", "+77501112233" },
	{ "+7 771 111 22 33", "+77711112233" },
	{ "+7 777 111 22 33", "+77771112233" },
	{ "8 7172 55 66 77", "+77172556677" }, /* Astana fixed line */
	{ "8 727 250 00 00", "+77272500000" }, /* Almaty fixed line */
	{ "+7 600 000 00 00", "+76000000000" },
	/* Russia's part of the +7 zone. */
	{ "+7 495 123 45 67", NULL },
	{ "+7 812 123 45 67", NULL },
	{ "8 916 123 45 67", NULL },
	{ "+7 301 123 45 67", NULL },
	{ "+7 501 123 45 67", NULL },
	/* Wrong country or trunk prefix. */
	{ "+8 701 123 45 67", NULL },
	{ "+87011234567", NULL },
	{ "+1 701 123 45 67", NULL },
	{ "97011234567", NULL },
	{ "07011234567", NULL },
	/* Wrong length. */
	{ "7011234567", NULL },
	{ "+7701123456", NULL },
	{ "+770112345678", NULL },
	{ "8701123456789012", NULL },
	{ "", NULL },
	{ "+", NULL },
	{ "+7", NULL },
	/* Characters that are not separators, or a misplaced '+'. */
	{ "+7 701 123 45 6a", NULL },
	{ "+7/701/123/45/67", NULL },
	{ "+7_7011234567", NULL },
	{ "7+7011234567", NULL },
	{ "++77011234567", NULL },
	{ "+7\t701 123 45 67", NULL },
	{ "tel:+77011234567", NULL },
};

static void test_phone_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(phones); i++) {
		char out[PHONE_E164_LEN];
		memset(out, 'x', sizeof(out));
		int ok = phone_normalize_kz(phones[i].in, strlen(phones[i].in), out);
		if (ok != (phones[i].want != NULL))
			fail_msg("\"%s\": got %d", phones[i].in, ok);
		if (ok)
			assert_string_equal(out, phones[i].want);
	}
}

static void test_phone_length_is_explicit(void **state)
{
	(void)state;
	char out[PHONE_E164_LEN];
	assert_int_equal(phone_normalize_kz("+770112345679", 12, out), 1);
	assert_string_equal(out, "+77011234567");
	assert_int_equal(phone_normalize_kz("+7701123\0"
					    "4567",
					    13, out),
			 0);
	assert_int_equal(phone_normalize_kz(NULL, 0, out), 0);
}

/* ---- e-mail ---------------------------------------------------------------- */

static const struct {
	const char *in;
	int valid;
} emails[] = {
	{ "aigerim@example.kz", 1 },
	{ "a@b.kz", 1 },
	{ "first.last@mail.example.com", 1 },
	{ "user+tag@example.org", 1 },
	{ "o'neil@example.ie", 1 },
	{ "x!#$%&'*+-/=?^_`{|}~y@example.com", 1 },
	{ "Aigerim.Nurlanovna@Example.KZ", 1 },
	{ "user@sub-domain.example.com", 1 },
	{ "user@123.example.com", 1 },
	{ "user@xn--80ao21a.xn--kaa", 1 }, /* an IDN TLD in ASCII form */
	{ "user@example.k2", 0 },	   /* a plain TLD is letters only */
	{ "", 0 },
	{ "plainaddress", 0 },
	{ "@example.com", 0 },
	{ "user@", 0 },
	{ "user@localhost", 0 },
	{ "user@example.c", 0 },
	{ "user@example.k2", 0 },
	{ "user@example.com.", 0 },
	{ "user@.example.com", 0 },
	{ "user@example..com", 0 },
	{ "user@-example.com", 0 },
	{ "user@example-.com", 0 },
	{ "user@exa_mple.com", 0 },
	{ "user@exa mple.com", 0 },
	{ ".user@example.com", 0 },
	{ "user.@example.com", 0 },
	{ "us..er@example.com", 0 },
	{ "us er@example.com", 0 },
	{ "us\"er@example.com", 0 },
	{ "us(er@example.com", 0 },
	{ "user@@example.com", 0 },
	{ "us@er@example.com", 0 },
	{ "user@exam@ple.com", 0 },
	{ "user@[127.0.0.1]", 0 },
	{ "\xd0\xb0@example.kz", 0 }, /* Cyrillic a: not atext */
	{ "user@\xd0\xbf\xd1\x80\xd0\xb8\xd0\xbc\xd0\xb5\xd1\x80.kz", 0 },
	{ "user@example.xn--80ao21a", 1 }, /* .қаз in its ASCII form */
	{ "user@xn--80ak6aa92e.xn--p1ai", 1 },
	{ "user@example.xn--", 0 },  /* no name after the prefix */
	{ "user@example.x1", 0 },    /* a digit in a plain TLD */
	{ "user@example.xn-a1", 0 }, /* not the IDN prefix */
};

static void test_email_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(emails); i++)
		if (email_valid(emails[i].in, strlen(emails[i].in)) != emails[i].valid)
			fail_msg("\"%s\": want %d", emails[i].in, emails[i].valid);
}

/* Builds "<local>@<domain>" from runs of a letter. */
static size_t make_email(char *out, size_t local, size_t label, size_t labels)
{
	size_t n = 0;
	memset(out + n, 'a', local);
	n += local;
	out[n++] = '@';
	for (size_t i = 0; i < labels; i++) {
		if (i)
			out[n++] = '.';
		memset(out + n, 'b', label);
		n += label;
	}
	out[n] = '\0';
	return n;
}

static void test_email_limits(void **state)
{
	(void)state;
	char s[1024];
	size_t n;

	/* Local part: 64 is the most. */
	n = make_email(s, 64, 10, 2);
	assert_int_equal(email_valid(s, n), 1);
	n = make_email(s, 65, 10, 2);
	assert_int_equal(email_valid(s, n), 0);
	/* A label: 63 is the most. */
	n = make_email(s, 5, 63, 2);
	assert_int_equal(email_valid(s, n), 1);
	n = make_email(s, 5, 64, 2);
	assert_int_equal(email_valid(s, n), 0);
	/* The whole address: 254 is the most (1 + 1 + 4 labels of 61 + 3 dots
	 * = 250; then grow the local part). */
	n = make_email(s, 5, 61, 4);
	assert_int_equal(n, 5 + 1 + 4 * 61 + 3);
	assert_int_equal(email_valid(s, n), 1);
	n = make_email(s, 6, 61, 4);
	assert_int_equal(n, 254);
	assert_int_equal(email_valid(s, n), 1);
	n = make_email(s, 7, 61, 4);
	assert_int_equal(n, 255);
	assert_int_equal(email_valid(s, n), 0);
	/* The length is the caller's, not strlen's. */
	assert_int_equal(email_valid("a@b.kzXXX", 6), 1);
	assert_int_equal(email_valid("a@b.kz\0", 7), 0);
	assert_int_equal(email_valid(NULL, 0), 0);
}

static void test_email_normalize(void **state)
{
	(void)state;
	char out[64];
	const char *in = "Aigerim.N@Example.KZ";
	size_t len = strlen(in);

	assert_int_equal(email_normalize(in, len, out, sizeof(out)), 1);
	assert_string_equal(out, "aigerim.n@example.kz");
	/* Exactly len + 1 is enough; one less is not. */
	assert_int_equal(email_normalize(in, len, out, len + 1), 1);
	memset(out, 'x', sizeof(out));
	assert_int_equal(email_normalize(in, len, out, len), 0);
	assert_int_equal(out[0], 'x');
	/* Only valid addresses are normalised. */
	assert_int_equal(email_normalize("NOT AN EMAIL", 12, out, sizeof(out)), 0);
}

/* ---- dates ----------------------------------------------------------------- */

static const struct {
	const char *in;
	int y, m, d; /* y == 0: refused */
} dates[] = {
	{ "1987-04-12", 1987, 4, 12 },	{ "1900-01-01", 1900, 1, 1 },
	{ "2000-02-29", 2000, 2, 29 },	{ "2024-02-29", 2024, 2, 29 },
	{ "1999-12-31", 1999, 12, 31 }, { "9999-12-31", 9999, 12, 31 },
	{ "1899-12-31", 0, 0, 0 },	{ "0000-01-01", 0, 0, 0 },
	{ "1900-02-29", 0, 0, 0 },	{ "2023-02-29", 0, 0, 0 },
	{ "2024-02-30", 0, 0, 0 },	{ "2024-02-31", 0, 0, 0 },
	{ "2024-04-31", 0, 0, 0 },	{ "2024-13-01", 0, 0, 0 },
	{ "2024-00-10", 0, 0, 0 },	{ "2024-01-00", 0, 0, 0 },
	{ "2024-01-32", 0, 0, 0 },	{ "2024-1-01", 0, 0, 0 },
	{ "2024-01-1", 0, 0, 0 },	{ "24-01-01", 0, 0, 0 },
	{ "2024/01/01", 0, 0, 0 },	{ "2024-01-01T00:00:00Z", 0, 0, 0 },
	{ "2024-01-01 ", 0, 0, 0 },	{ " 2024-01-01", 0, 0, 0 },
	{ "+024-01-01", 0, 0, 0 },	{ "2024-0a-01", 0, 0, 0 },
	{ "12.04.1987", 0, 0, 0 },	{ "", 0, 0, 0 },
};

static void test_date_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(dates); i++) {
		int y = -1, m = -1, d = -1;
		int ok = date_parse_iso(dates[i].in, strlen(dates[i].in), &y, &m, &d);
		if (ok != (dates[i].y != 0))
			fail_msg("\"%s\": got %d", dates[i].in, ok);
		if (ok) {
			assert_int_equal(y, dates[i].y);
			assert_int_equal(m, dates[i].m);
			assert_int_equal(d, dates[i].d);
		} else {
			assert_int_equal(y, -1);
		}
	}
}

/* ---- countries ------------------------------------------------------------- */

static void test_country_table(void **state)
{
	(void)state;
	static const char *const yes[] = {
		"KZ",
		"RU",
		"KG",
		"UZ",
		"TJ",
		"TM",
		"CN",
		"US",
		"DE",
		"TR",
		"AD",
		"ZW",
		/* Recent or easily forgotten assignments. */
		"SS",
		"BQ",
		"CW",
		"SX",
		"AX",
		"BL",
		"MF",
		"AQ",
		"BV",
		"HM",
		"UM",
		"PS",
		"EH",
		"TW",
		"VA",
	};
	static const char *const no[] = {
		"kz", "Kz", "KAZ", "K",	 "",   "XK", /* Kosovo: user-assigned, not ISO */
		"EU", "UK", "SU",  "YU", "CS", "AN", "ZZ",
		"AA", "QM", "XX",  "K1", "1Z", "TP", "ZR",
	};
	for (size_t i = 0; i < N(yes); i++)
		if (!country_alpha2_valid(yes[i], strlen(yes[i])))
			fail_msg("%s should be valid", yes[i]);
	for (size_t i = 0; i < N(no); i++)
		if (country_alpha2_valid(no[i], strlen(no[i])))
			fail_msg("%s should be refused", no[i]);
	assert_int_equal(country_alpha2_valid("KZX", 2), 1);
	assert_int_equal(country_alpha2_valid(NULL, 2), 0);
}

/* Exactly 249 of the 676 possible pairs are assigned. */
static void test_country_count(void **state)
{
	(void)state;
	int n = 0;
	char s[3] = "AA";
	for (char a = 'A'; a <= 'Z'; a++)
		for (char b = 'A'; b <= 'Z'; b++) {
			s[0] = a;
			s[1] = b;
			n += country_alpha2_valid(s, 2);
		}
	assert_int_equal(n, 249);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_phone_table),
		cmocka_unit_test(test_phone_length_is_explicit),
		cmocka_unit_test(test_email_table),
		cmocka_unit_test(test_email_limits),
		cmocka_unit_test(test_email_normalize),
		cmocka_unit_test(test_date_table),
		cmocka_unit_test(test_country_table),
		cmocka_unit_test(test_country_count),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
