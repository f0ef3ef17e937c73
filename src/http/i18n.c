#include "http/i18n.h"

#include <ctype.h>
#include <stddef.h>
#include <string.h>

#include "common/banned.h"

static const char *const codes[LANG__COUNT] = { "ru", "kk", "en" };

const char *lang_code(enum lang l)
{
	return (unsigned)l < LANG__COUNT ? codes[l] : codes[LANG_RU];
}

/* Match a primary language subtag of `len` bytes at `tag`. */
static int match_tag(const char *tag, size_t len)
{
	size_t primary = 0;
	while (primary < len && tag[primary] != '-' && tag[primary] != '_')
		primary++;
	if (primary == 1 && tag[0] == '*')
		return LANG_RU;
	for (int l = 0; l < LANG__COUNT; l++)
		if (primary == 2 && tolower((unsigned char)tag[0]) == codes[l][0] &&
		    tolower((unsigned char)tag[1]) == codes[l][1])
			return l;
	return -1;
}

/* 1 when s[0..n) is subtags of 1-8 letters or digits, each after a '-' or
 * '_' ("-KZ", "_GB-x1"; "" too). */
static int subtags_ok(const char *s, size_t n)
{
	size_t run = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '-' || s[i] == '_') {
			if (i > 0 && run == 0)
				return 0;
			run = 0;
		} else if (isalnum((unsigned char)s[i]) && i > 0 && run < 8) {
			run++;
		} else {
			return 0;
		}
	}
	return n == 0 || run > 0;
}

int lang_parse(const char *code)
{
	if (!code)
		return -1;
	size_t n = strlen(code);
	if (n < 2 || n > 16 || code[0] == '*' || !subtags_ok(code + 2, n - 2))
		return -1;
	return match_tag(code, n);
}

/* Parse "q=0.7" style weights into thousandths; -1 when malformed. */
static int parse_q(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (end - p < 3 || (p[0] != 'q' && p[0] != 'Q') || p[1] != '=')
		return -1;
	p += 2;
	int q = 0, scale = 1000, seen_dot = 0;
	if (*p == '1')
		q = 1000;
	else if (*p != '0')
		return -1;
	p++;
	for (; p < end && *p != ' ' && *p != '\t'; p++) {
		if (*p == '.' && !seen_dot) {
			seen_dot = 1;
		} else if (seen_dot && isdigit((unsigned char)*p) && scale > 1 &&
			   (q < 1000 || *p == '0')) { /* RFC 9110: at most 1.000 */
			scale /= 10;
			q += (*p - '0') * scale;
		} else {
			return -1;
		}
	}
	return q;
}

enum lang lang_negotiate(const char *header)
{
	if (!header)
		return LANG_RU;
	int best = LANG_RU, best_q = 0;
	const char *p = header;
	while (*p) {
		const char *end = strchr(p, ',');
		if (!end)
			end = p + strlen(p);
		const char *tag = p;
		while (tag < end && (*tag == ' ' || *tag == '\t'))
			tag++;
		const char *tag_end = tag;
		while (tag_end < end && *tag_end != ';' && *tag_end != ' ' &&
		       *tag_end != '\t')
			tag_end++;
		int q = 1000;
		const char *semi = memchr(tag, ';', (size_t)(end - tag));
		if (semi)
			q = parse_q(semi + 1, end);
		int l = match_tag(tag, (size_t)(tag_end - tag));
		/* Ties keep the earlier entry: the client's order is its preference. */
		if (l >= 0 && q > best_q) {
			best = l;
			best_q = q;
		}
		p = *end ? end + 1 : end;
	}
	return (enum lang)best;
}
