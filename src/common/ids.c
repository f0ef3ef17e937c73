/*
 * ids.c — time-ordered opaque ids (ids.h).
 */
#include "common/ids.h"

#include <sodium.h>
#include <string.h>

#include "common/banned.h"

#define TIME_CHARS 8 /* 48 bits of milliseconds */

/* The base64url characters in ASCII order, so that ids sort as strings. */
static const char alphabet[65] =
	"-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";

void id_time_ordered(char *out, const char *prefix, int64_t now_ms)
{
	size_t plen = strlen(prefix);
	memcpy(out, prefix, plen);
	char *body = out + plen;
	uint64_t t = (uint64_t)now_ms & ((UINT64_C(1) << (6 * TIME_CHARS)) - 1);
	for (int i = TIME_CHARS - 1; i >= 0; i--) {
		body[i] = alphabet[t & 63];
		t >>= 6;
	}
	unsigned char raw[ID_BODY_CHARS - TIME_CHARS];
	randombytes_buf(raw, sizeof(raw));
	for (size_t i = 0; i < sizeof(raw); i++)
		body[TIME_CHARS + i] = alphabet[raw[i] & 63]; /* 256 = 4 x 64: uniform */
	sodium_memzero(raw, sizeof(raw));
	body[ID_BODY_CHARS] = '\0';
}

int id_body_valid(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++)
		if (!memchr(alphabet, s[n], sizeof(alphabet) - 1))
			return 0;
	return n == ID_BODY_CHARS;
}
