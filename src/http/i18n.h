/*
 * i18n.h — the three languages senim speaks (P3): Russian (default), Kazakh
 * and English, chosen from a `lang` query parameter or Accept-Language.
 */
#ifndef SENIM_I18N_H
#define SENIM_I18N_H

enum lang {
	LANG_RU,
	LANG_KK,
	LANG_EN,
	LANG__COUNT
};

/* "ru", "kk", "en". */
const char *lang_code(enum lang l);
/* The language named by a code ("kk", "kk-KZ", "RU", "en_GB"): ru, kk or en
 * in any case, then subtags of 1-8 letters or digits after '-' or '_', 16
 * bytes in all; -1 for anything else. */
int lang_parse(const char *code);
/*
 * The best of our languages for an Accept-Language header (RFC 9110 12.5.4:
 * q-values honoured, "*" matches our default), or LANG_RU when the header is
 * NULL, malformed or names none of ours.
 */
enum lang lang_negotiate(const char *accept_language);

#endif
