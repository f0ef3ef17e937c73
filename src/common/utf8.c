/*
 * utf8.c — UTF-8 checks shared by the parsers (utf8.h).
 */
#include "common/utf8.h"

#include "common/banned.h"

size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	size_t n;
	uint32_t c, min;
	if ((s[0] & 0xE0) == 0xC0) {
		n = 2, c = s[0] & 0x1Fu, min = 0x80;
	} else if ((s[0] & 0xF0) == 0xE0) {
		n = 3, c = s[0] & 0x0Fu, min = 0x800;
	} else if ((s[0] & 0xF8) == 0xF0) {
		n = 4, c = s[0] & 0x07u, min = 0x10000;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3Fu);
	}
	if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return 0;
	*cp = c;
	return n;
}

int utf8_valid(const char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t n = utf8_decode((const unsigned char *)s + i, len - i, &cp);
		if (!n)
			return 0;
		i += n;
	}
	return 1;
}

size_t utf8_chars(const char *s, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			n++;
	return n;
}

/* U+0080-U+009F: 0xC2 0x80-0x9F. */
static int is_c1(const unsigned char *u, size_t left)
{
	return left >= 2 && u[0] == 0xC2 && u[1] >= 0x80 && u[1] <= 0x9F;
}

/* U+202A-U+202E and U+2066-U+2069: 0xE2 0x80 0xAA-0xAE, 0xE2 0x81 0xA6-0xA9. */
static int is_bidi_control(const unsigned char *u, size_t left)
{
	if (left < 3 || u[0] != 0xE2)
		return 0;
	return (u[1] == 0x80 && u[2] >= 0xAA && u[2] <= 0xAE) ||
	       (u[1] == 0x81 && u[2] >= 0xA6 && u[2] <= 0xA9);
}

int utf8_has_invisible_control(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	for (size_t i = 0; i < len; i++)
		if (is_c1(u + i, len - i) || is_bidi_control(u + i, len - i))
			return 1;
	return 0;
}

int utf8_has_control(const char *s, size_t len, int multiline)
{
	const unsigned char *u = (const unsigned char *)s;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = u[i];
		if (c == 0x7f)
			return 1;
		if (c < 0x20 && !(multiline && (c == '\n' || c == '\r' || c == '\t')))
			return 1;
		if (is_c1(u + i, len - i) || is_bidi_control(u + i, len - i))
			return 1;
	}
	return 0;
}
