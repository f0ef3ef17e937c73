/*
 * iban.h — Kazakhstan IBANs as senim accepts them (ISO 13616; the National
 * Bank's format for KZ).  Pure code: no I/O.
 *
 * A KZ IBAN is exactly 20 characters, in its electronic form (no spaces,
 * upper case): "KZ", two check digits, a 3-digit bank code, then 13
 * characters of the account (digits and upper-case letters; banks put the
 * currency in it, "KZT").  It is valid when its check holds: the first
 * four characters moved to the end, each letter replaced by its number
 * (A = 10 ... Z = 35), the resulting decimal number is 1 modulo 97.
 *
 * The check finds every single-character mistake and almost every swap of
 * two characters, so a payout never leaves for a mistyped account; it does
 * not say the account exists or belongs to the borrower.
 */
#ifndef SENIM_IBAN_H
#define SENIM_IBAN_H

#include <stddef.h>

#define IBAN_KZ_LEN 20
#define IBAN_KZ_SIZE (IBAN_KZ_LEN + 1) /* with the NUL */

/* 1 when the `len` bytes at `s` are a KZ IBAN in electronic form whose
 * mod-97 check holds, else 0 (NULL included). */
int iban_kz_valid(const char *s, size_t len);

/* The mod-97 remainder of an IBAN of `len` characters of [0-9A-Z] at `s`
 * (4 to 34 of them), rearranged as above; -1 when it is not that shape.
 * A valid IBAN gives 1. */
int iban_mod97(const char *s, size_t len);

/* Normalise a KZ IBAN as people write it ("kz86 125K ZT50 0410 0100":
 * spaces dropped, letters upper-cased) into out: 1 when the result is
 * valid, else 0 and out "". */
int iban_kz_normalize(const char *in, size_t len, char out[IBAN_KZ_SIZE]);

#endif
