/*
 * utf8.h — checking and measuring UTF-8 text that arrived as bytes.
 *
 * Valid UTF-8 here is what RFC 3629 allows: no overlong forms, no
 * surrogates (U+D800-U+DFFF), nothing past U+10FFFF.  Every function reads
 * exactly `len` bytes of `s` (which need not be NUL-terminated, and may be
 * NULL when len is 0) and allocates nothing.
 */
#ifndef SENIM_UTF8_H
#define SENIM_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Decode the character at s (len > 0 bytes available): its length in bytes
 * (1-4) with *cp set, or 0 when the bytes there are not UTF-8. */
size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *cp);

/* 1 when all len bytes are UTF-8, else 0. */
int utf8_valid(const char *s, size_t len);

/* The number of code points in s, which must be valid UTF-8 (each byte
 * that is not a continuation byte starts one). */
size_t utf8_chars(const char *s, size_t len);

/* 1 when s holds a C0 control character, DEL, a C1 control character
 * (U+0080-U+009F) or a bidirectional embedding, override or isolate
 * (U+202A-U+202E, U+2066-U+2069) — characters that no name, address or
 * policy needs and that can make a stored value display as another in a
 * log, a CSV export or a staff screen; with `multiline` set, LF, CR and TAB
 * are allowed. */
int utf8_has_control(const char *s, size_t len, int multiline);

/* 1 when s holds a C1 control or a bidirectional embedding, override or
 * isolate: the part of utf8_has_control() beyond C0 and DEL, for the file
 * parsers that check those bytes themselves. */
int utf8_has_invisible_control(const char *s, size_t len);

#endif
