/*
 * fuzz_lang.c — lang_negotiate and lang_parse on arbitrary header values.
 *
 * The input becomes a NUL-terminated string (as libmicrohttpd hands headers
 * over).  Both functions must stay in bounds and answer one of our languages;
 * a language other than the default can only come from a header that names
 * it.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/i18n.h"
#include "common/banned.h"

/* 1 when the two letters of `code` appear in s, in either case. */
static int mentions(const char *s, const char *code)
{
	for (; s[0] && s[1]; s++)
		if (strncasecmp(s, code, 2) == 0)
			return 1;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	enum lang l = lang_negotiate(s);
	if ((unsigned)l >= LANG__COUNT)
		abort();
	if (l != LANG_RU && !mentions(s, lang_code(l)))
		abort();

	int p = lang_parse(s);
	if (p < -1 || p >= LANG__COUNT)
		abort();
	if (p >= 0 && strncasecmp(s, lang_code((enum lang)p), 2) != 0)
		abort();

	free(s);
	return 0;
}
