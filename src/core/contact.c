/*
 * contact.c — Kazakhstan phone numbers, e-mail addresses, ISO dates and
 * ISO 3166-1 alpha-2 country codes (contact.h).
 *
 * Everything here is a pure function of its input: no locale (the character
 * classes are ASCII, spelled out), no allocation, no I/O.
 */
#include "core/contact.h"

#include <stdlib.h>
#include <string.h>

#include "common/banned.h"

/* ---- phones ---------------------------------------------------------------- */

/* Separators people type inside a phone number; nothing else is skipped. */
static int phone_separator(char c)
{
	return c == ' ' || c == '-' || c == '.' || c == '(' || c == ')';
}

/*
 * Kazakhstan's part of the +7 zone: the national number's first digit is 6
 * or 7 (7xx mobile codes 700-708, 747, 75x, 77x and 71x/72x fixed lines;
 * 6xx reserved), where Russia's numbers start with 3, 4, 8 or 9.
 */
int phone_normalize_kz(const char *in, size_t len, char out[PHONE_E164_LEN])
{
	char digits[12];
	size_t n = 0;
	int plus = 0;

	if (!in)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = in[i];
		if (c == '+') {
			/* Only as the very first thing typed. */
			if (plus || n > 0)
				return 0;
			plus = 1;
		} else if (c >= '0' && c <= '9') {
			if (n == sizeof(digits))
				return 0;
			digits[n++] = c;
		} else if (!phone_separator(c)) {
			return 0;
		}
	}
	if (n != 11)
		return 0;
	/* "+7..." and "7..." are international; "8..." is the domestic trunk
	 * prefix, which is never written after a '+'. */
	if (digits[0] != '7' && !(digits[0] == '8' && !plus))
		return 0;
	if (digits[1] != '6' && digits[1] != '7')
		return 0;
	out[0] = '+';
	out[1] = '7';
	memcpy(out + 2, digits + 1, 10);
	out[12] = '\0';
	return 1;
}

/* ---- e-mail ---------------------------------------------------------------- */

static int is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* RFC 5322 atext. */
static int is_atext(char c)
{
	return is_alpha(c) || is_digit(c) ||
	       (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

static int local_valid(const char *s, size_t len)
{
	if (len < 1 || len > 64 || s[0] == '.' || s[len - 1] == '.')
		return 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (s[i - 1] == '.')
				return 0;
		} else if (!is_atext(s[i])) {
			return 0;
		}
	}
	return 1;
}

static int domain_valid(const char *s, size_t len)
{
	size_t start = 0, labels = 0;

	if (len < 1 || len > 253)
		return 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != '.') {
			if (!is_alpha(s[i]) && !is_digit(s[i]) && s[i] != '-')
				return 0;
			continue;
		}
		/* A label ends at s[i]: 1..63 LDH characters, no hyphen at an end. */
		size_t n = i - start;
		if (n < 1 || n > 63 || s[start] == '-' || s[i - 1] == '-')
			return 0;
		labels++;
		if (i == len) {
			/* The last label is the TLD: 2+ letters, or an
			 * internationalised one in its ASCII form ("xn--" and
			 * letters, digits, hyphens: Kazakhstan's .қаз is
			 * xn--80ao21a). */
			if (n < 2)
				return 0;
			int idn = n > 4 && (s[start] == 'x' || s[start] == 'X') &&
				  (s[start + 1] == 'n' || s[start + 1] == 'N') &&
				  s[start + 2] == '-' && s[start + 3] == '-';
			for (size_t k = start; k < i; k++)
				if (!is_alpha(s[k]) &&
				    !(idn && (is_digit(s[k]) || s[k] == '-')))
					return 0;
		}
		start = i + 1;
	}
	return labels >= 2;
}

int email_valid(const char *s, size_t len)
{
	if (!s || len < 3 || len > EMAIL_MAX)
		return 0;
	const char *at = memchr(s, '@', len);
	if (!at)
		return 0;
	size_t local = (size_t)(at - s);
	/* A second '@' is not atext, so domain_valid refuses it. */
	return local_valid(s, local) && domain_valid(at + 1, len - local - 1);
}

/*
 * Lower-case ASCII copy of a valid address into out (NUL-terminated).
 * Returns 0, leaving out untouched, when the address is not email_valid() or
 * out has less than len + 1 bytes.
 */
int email_normalize(const char *s, size_t len, char *out, size_t cap)
{
	if (!out || cap < len + 1 || !email_valid(s, len))
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		out[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	out[len] = '\0';
	return 1;
}

/* ---- dates ----------------------------------------------------------------- */

static int two_digits(const char *s)
{
	return (s[0] - '0') * 10 + (s[1] - '0');
}

int date_parse_iso(const char *s, size_t len, int *year, int *month, int *day)
{
	static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (!s || len != 10 || s[4] != '-' || s[7] != '-')
		return 0;
	for (size_t i = 0; i < 10; i++)
		if (i != 4 && i != 7 && !is_digit(s[i]))
			return 0;
	int y = two_digits(s) * 100 + two_digits(s + 2);
	int m = two_digits(s + 5);
	int d = two_digits(s + 8);
	if (y < 1900 || m < 1 || m > 12 || d < 1)
		return 0;
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (d > mdays[m - 1] + (m == 2 && leap))
		return 0;
	*year = y;
	*month = m;
	*day = d;
	return 1;
}

/* ---- countries ------------------------------------------------------------- */

/* Every officially assigned ISO 3166-1 alpha-2 code (249), sorted for
 * bsearch; taken from the iso-codes package's iso_3166-1.json. */
static const char country_codes[][3] = {
	"AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU",
	"AW", "AX", "AZ", "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL",
	"BM", "BN", "BO", "BQ", "BR", "BS", "BT", "BV", "BW", "BY", "BZ", "CA", "CC",
	"CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN", "CO", "CR", "CU", "CV",
	"CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE", "EG",
	"EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD",
	"GE", "GF", "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT",
	"GU", "GW", "GY", "HK", "HM", "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM",
	"IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM", "JO", "JP", "KE", "KG", "KH",
	"KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC", "LI", "LK",
	"LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH",
	"MK", "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW",
	"MX", "MY", "MZ", "NA", "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR",
	"NU", "NZ", "OM", "PA", "PE", "PF", "PG", "PH", "PK", "PL", "PM", "PN", "PR",
	"PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW", "SA", "SB", "SC",
	"SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
	"ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL",
	"TM", "TN", "TO", "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY",
	"UZ", "VA", "VC", "VE", "VG", "VI", "VN", "VU", "WF", "WS", "YE", "YT", "ZA",
	"ZM", "ZW",
};

#define COUNTRY_COUNT (sizeof(country_codes) / sizeof(country_codes[0]))

static int country_cmp(const void *key, const void *elem)
{
	return memcmp(key, elem, 2);
}

int country_alpha2_valid(const char *s, size_t len)
{
	if (!s || len != 2 || s[0] < 'A' || s[0] > 'Z' || s[1] < 'A' || s[1] > 'Z')
		return 0;
	return bsearch(s, country_codes, COUNTRY_COUNT, sizeof(country_codes[0]),
		       country_cmp) != NULL;
}
