/*
 * contact.h — phones, e-mail addresses, dates and country codes as senim
 * accepts them.  Pure code: no I/O.
 *
 * Phones are Kazakhstan numbers only, normalised to E.164 "+7XXXXXXXXXX"
 * (country code 7, then 10 digits whose first is 6 or 7: Kazakhstan's part
 * of the +7 zone).  Accepted input forms: "+7 701 123 45 67", "8 (701)
 * 123-45-67", "87011234567", "77011234567", "+77011234567"; spaces, dashes,
 * dots and parentheses are ignored.
 */
#ifndef SENIM_CONTACT_H
#define SENIM_CONTACT_H

#include <stddef.h>

#define PHONE_E164_LEN 13 /* "+7" + 10 digits + NUL */
#define EMAIL_MAX 254

/* 1 and out set when `in` is a Kazakhstan phone number, else 0. */
int phone_normalize_kz(const char *in, size_t len, char out[PHONE_E164_LEN]);

/* 1 when `s` is an addr-spec senim accepts: local@domain, local part of
 * 1..64 chars of atext and dots (no leading, trailing or double dots),
 * domain of 1..253 chars of LDH labels (1..63, no leading/trailing hyphen)
 * with at least one dot and an alphabetic TLD of 2+ letters; total <= 254. */
int email_valid(const char *s, size_t len);

/* Lower-case copy for lookups (out has room for len + 1); 1 on success. */
int email_normalize(const char *s, size_t len, char *out, size_t cap);

/* Strict "YYYY-MM-DD" that is a real Gregorian date from 1900-01-01 on;
 * 1 and the parts set on success. */
int date_parse_iso(const char *s, size_t len, int *year, int *month, int *day);

/* 1 when `s` is an assigned ISO 3166-1 alpha-2 code (upper case). */
int country_alpha2_valid(const char *s, size_t len);

#endif
