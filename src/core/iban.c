/*
 * iban.c — KZ IBANs (iban.h).
 */
#include "core/iban.h"

#include <string.h>

#include "common/banned.h"

#define IBAN_MIN 4
#define IBAN_MAX 34

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int is_upper(char c)
{
	return c >= 'A' && c <= 'Z';
}

int iban_mod97(const char *s, size_t len)
{
	if (!s || len < IBAN_MIN || len > IBAN_MAX)
		return -1;
	/* Digit by digit (two for a letter), so no big number is needed: the
	 * remainder stays below 97 * 100. */
	unsigned r = 0;
	for (size_t k = 0; k < len; k++) {
		char c = s[(k + 4) % len];
		if (is_digit(c))
			r = (r * 10 + (unsigned)(c - '0')) % 97;
		else if (is_upper(c))
			r = (r * 100 + (unsigned)(c - 'A' + 10)) % 97;
		else
			return -1;
	}
	return (int)r;
}

int iban_kz_valid(const char *s, size_t len)
{
	if (!s || len != IBAN_KZ_LEN || s[0] != 'K' || s[1] != 'Z')
		return 0;
	for (size_t i = 2; i < 7; i++) /* check digits and bank code */
		if (!is_digit(s[i]))
			return 0;
	for (size_t i = 7; i < IBAN_KZ_LEN; i++)
		if (!is_digit(s[i]) && !is_upper(s[i]))
			return 0;
	/* Check digits 00, 01 and 99 are never issued (ISO 13616: 02-98). */
	int check = (s[2] - '0') * 10 + (s[3] - '0');
	if (check < 2 || check > 98)
		return 0;
	return iban_mod97(s, len) == 1;
}

int iban_kz_normalize(const char *in, size_t len, char out[IBAN_KZ_SIZE])
{
	size_t n = 0;
	out[0] = '\0';
	if (!in)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = in[i];
		if (c == ' ')
			continue;
		if (n == IBAN_KZ_LEN)
			return out[0] = '\0', 0;
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		out[n++] = c;
	}
	out[n] = '\0';
	if (!iban_kz_valid(out, n))
		return out[0] = '\0', 0;
	return 1;
}
