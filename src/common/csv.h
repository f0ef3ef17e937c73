/*
 * csv.h — a reader of CSV text (RFC 4180) for the files a lender's staff
 * hand to senim (the obligations import today).
 *
 * Pure and allocation-free: it walks the caller's text in place and hands
 * back each record's fields as (offset, length) slices of that text, so a
 * file's personal data is never copied.  Records end at LF, CRLF or the end
 * of the text; a lone CR is an ordinary character.  A field is either plain
 * (no comma, quote or line end in it) or quoted: "..." with "" for a quote
 * inside, and may then span lines.  A UTF-8 byte-order mark at the start is
 * skipped; line ends after the last record (trailing empty lines) make no
 * record.
 *
 * Errors name the rule, the line the record starts on (1-based, counting
 * the line ends inside quoted fields) and the 0-based field:
 *   "quoting"  a quote inside a plain field, text after a closing quote, or
 *              a quote never closed;
 *   "length"   a field longer than csv_options.max_field_bytes (raw bytes);
 *   "encoding" a field that is not UTF-8 (utf8.h), when asked to check.
 * After an error the reader is not used again.
 */
#ifndef SENIM_CSV_H
#define SENIM_CSV_H

#include <stddef.h>

#include "common/result.h"

struct csv_options {
	size_t max_field_bytes; /* a longer field breaks "length"; 0: no bound */
	int utf8;		/* check that every field is UTF-8 */
};

/* One field: text[off .. off + len).  A quoted field is its inside, with
 * doubled quotes still doubled (csv_unquote undoes them). */
struct csv_field {
	size_t off, len;
	int quoted;
};

struct csv_error {
	size_t line;	  /* the line the record starts on, 1-based */
	size_t field;	  /* 0-based field of that record */
	const char *rule; /* "quoting", "length", "encoding" */
};

/* The reader's state; set up by csv_init, nothing to release. */
struct csv {
	const char *s;
	size_t len, pos;
	size_t line; /* the line at pos, 1-based */
	struct csv_options opt;
};

/* Read `len` bytes of text (NULL only when len is 0) with the options
 * (NULL: no bound, no UTF-8 check).  Skips a leading byte-order mark. */
void csv_init(struct csv *c, const char *text, size_t len, const struct csv_options *opt);

/* 1 when only line ends are left: no record follows. */
int csv_at_end(const struct csv *c);

/*
 * Read the next record: its first `max` fields into f[], the number of its
 * fields into *nf (which may exceed max: the rest are checked but not kept),
 * the line it starts on into *line.  Call only when !csv_at_end(c).
 * SENIM_OK, or SENIM_ERR_INVALID with *e set.
 */
SENIM_MUST_CHECK enum senim_result csv_record(struct csv *c, struct csv_field *f,
					      size_t max, size_t *nf, size_t *line,
					      struct csv_error *e);

/* Copy field f of the text into out (at least f->len bytes), turning each
 * "" of a quoted field into one quote; returns the value's length.  Not
 * NUL-terminated. */
size_t csv_unquote(const char *text, const struct csv_field *f, char *out);

#endif
