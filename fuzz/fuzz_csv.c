/*
 * fuzz_csv.c — the CSV reader (common/csv.h) and the UTF-8 checks
 * (common/utf8.h) on arbitrary text, as a lender's staff hand senim files.
 *
 * Input: byte 0 sets the options (bit 0: check UTF-8; bits 1-7: the field
 * bound in bytes, 0 for none), byte 1 how many fields a record keeps (0-15);
 * the rest is the text, copied to an exactly sized heap block so ASan sees
 * any read past it.  Beyond "no crash, no leak" the target checks:
 *   - utf8_valid agrees with an independent validator written from the
 *     Unicode standard's table of well-formed sequences (3-7), and
 *     utf8_chars with a count of lead bytes;
 *   - every record starts on a later line than the one before, within the
 *     text's lines; its fields are in order inside the text; a plain field
 *     holds no comma, quote or line end, a quoted one sits between quotes
 *     with every quote inside doubled; a field respects the bound and, when
 *     asked, is UTF-8;
 *   - keeping fewer fields changes nothing but what is kept;
 *   - the records read, written back out with every field quoted, read back
 *     as the same records (the same values, the same count), and an error
 *     comes only after them.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/csv.h"
#include "common/utf8.h"
#include "common/banned.h"

#define KEEP_ALL 64

/* Well-formed UTF-8 as the Unicode standard's Table 3-7 lists it. */
static int table_utf8(const unsigned char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		unsigned c = s[i];
		unsigned lo = 0x80, hi = 0xBF;
		size_t k;
		if (c <= 0x7F) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF)
			k = 1;
		else if (c == 0xE0)
			k = 2, lo = 0xA0;
		else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF)
			k = 2;
		else if (c == 0xED)
			k = 2, hi = 0x9F;
		else if (c == 0xF0)
			k = 3, lo = 0x90;
		else if (c >= 0xF1 && c <= 0xF3)
			k = 3;
		else if (c == 0xF4)
			k = 3, hi = 0x8F;
		else
			return 0;
		if (n - i - 1 < k || s[i + 1] < lo || s[i + 1] > hi)
			return 0;
		for (size_t j = 2; j <= k; j++)
			if (s[i + j] < 0x80 || s[i + j] > 0xBF)
				return 0;
		i += k + 1;
	}
	return 1;
}

static void check_utf8(const char *s, size_t n)
{
	int valid = utf8_valid(s, n);
	if (valid != table_utf8((const unsigned char *)s, n))
		abort();
	if (!valid)
		return;
	size_t chars = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		chars += c < 0x80 || c >= 0xC0;
	}
	if (utf8_chars(s, n) != chars)
		abort();
}

/* The shape csv.h promises of one kept field. */
static void check_field(const char *s, size_t len, const struct csv_field *f,
			const struct csv_options *opt)
{
	if (f->off > len || f->len > len - f->off)
		abort();
	const char *v = s + f->off;
	if (opt->max_field_bytes && f->len > opt->max_field_bytes)
		abort();
	if (opt->utf8 && !table_utf8((const unsigned char *)v, f->len))
		abort();
	if (!f->quoted) {
		if (memchr(v, ',', f->len) || memchr(v, '"', f->len) ||
		    memchr(v, '\n', f->len))
			abort();
		/* A CR ending the field would have been half of a CRLF. */
		if (f->len && v[f->len - 1] == '\r' && f->off + f->len < len &&
		    s[f->off + f->len] == '\n')
			abort();
		return;
	}
	if (f->off < 1 || s[f->off - 1] != '"' || f->off + f->len >= len ||
	    s[f->off + f->len] != '"')
		abort();
	for (size_t i = 0; i < f->len; i++)
		if (v[i] == '"' && (i + 1 >= f->len || v[++i] != '"'))
			abort();
}

struct pass {
	size_t records;
	int err;
	struct csv_error e;
};

/*
 * Read all of text with `keep` fields kept per record, checking each; when
 * out is not NULL, write every record back out with every field quoted
 * (all records must then keep all their fields).  vals, when not NULL,
 * collects the values in order, each followed by a NUL byte, and a record's
 * end as an extra NUL.
 */
static void read_all(const char *s, size_t len, const struct csv_options *opt,
		     size_t keep, struct pass *p, struct buf *out, struct buf *vals)
{
	struct csv c;
	struct csv_field f[KEEP_ALL];
	size_t newlines = 0, last = 0;
	for (size_t i = 0; i < len; i++)
		newlines += s[i] == '\n';
	csv_init(&c, s, len, opt);
	memset(p, 0, sizeof(*p));
	while (!csv_at_end(&c)) {
		size_t nf = 0, line = 0, before = c.pos;
		p->err = csv_record(&c, f, keep, &nf, &line, &p->e);
		if (line <= last || line > newlines + 1)
			abort();
		last = line;
		if (p->err) {
			const char *r = p->e.rule;
			if (p->err != SENIM_ERR_INVALID || p->e.line != line || !r ||
			    (strcmp(r, "quoting") != 0 && strcmp(r, "length") != 0 &&
			     strcmp(r, "encoding") != 0))
				abort();
			if ((!strcmp(r, "length") && !opt->max_field_bytes) ||
			    (!strcmp(r, "encoding") && !opt->utf8))
				abort();
			return;
		}
		if (c.pos <= before || nf == 0)
			abort();
		p->records++;
		size_t kept = nf < keep ? nf : keep;
		for (size_t i = 0; i < kept; i++) {
			check_field(s, len, &f[i], opt);
			if (i && f[i].off < f[i - 1].off + f[i - 1].len)
				abort();
		}
		if (!out)
			continue;
		if (nf > KEEP_ALL)
			abort();
		for (size_t i = 0; i < nf; i++) {
			char *v = malloc(f[i].len ? f[i].len : 1);
			if (!v)
				abort();
			size_t n = csv_unquote(s, &f[i], v);
			int err = buf_addstr(out, i ? ",\"" : "\"");
			for (size_t k = 0; !err && k < n; k++)
				err = buf_add(out, v[k] == '"' ? "\"\"" : &v[k],
					      v[k] == '"' ? 2 : 1);
			if (!err)
				err = buf_addch(out, '"');
			if (!err && vals)
				err = buf_add(vals, v, n);
			if (!err && vals)
				err = buf_addch(vals, '\0');
			free(v);
			if (err)
				abort();
		}
		if (buf_addch(out, '\n') || (vals && buf_addch(vals, '\0')))
			abort();
	}
}

/* Read text and collect its values as read_all does, without writing. */
static size_t values_of(const char *s, size_t len, const struct csv_options *opt,
			struct buf *vals)
{
	struct buf scratch;
	struct pass p;
	buf_init(&scratch, BUF_NO_LIMIT);
	read_all(s, len, opt, KEEP_ALL, &p, &scratch, vals);
	buf_release(&scratch);
	if (p.err)
		abort(); /* what was written out reads back */
	return p.records;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	struct csv_options opt = { (size_t)(data[0] >> 1), data[0] & 1 };
	size_t keep = data[1] & 15;
	size_t len = size - 2;
	char *s = malloc(len ? len : 1);
	if (!s)
		abort();
	memcpy(s, data + 2, len);
	check_utf8(s, len);

	struct pass few, all;
	read_all(s, len, &opt, keep, &few, NULL, NULL);
	read_all(s, len, &opt, KEEP_ALL, &all, NULL, NULL);
	if (few.records != all.records || few.err != all.err ||
	    (few.err && (few.e.line != all.e.line || few.e.field != all.e.field ||
			 strcmp(few.e.rule, all.e.rule) != 0)))
		abort();

	/* Round trip, when no record has more fields than are kept. */
	struct buf out, vals, again;
	buf_init(&out, BUF_NO_LIMIT);
	buf_init(&vals, BUF_NO_LIMIT);
	buf_init(&again, BUF_NO_LIMIT);
	struct csv probe;
	csv_init(&probe, s, len, &opt);
	int wide = 0;
	while (!wide && !csv_at_end(&probe)) {
		struct csv_field f[1];
		struct csv_error e;
		size_t nf = 0, line = 0;
		if (csv_record(&probe, f, 1, &nf, &line, &e))
			break;
		wide = nf > KEEP_ALL;
	}
	if (!wide) {
		struct pass p;
		read_all(s, len, &opt, KEEP_ALL, &p, &out, &vals);
		if (values_of(out.data, out.len, &opt, &again) != p.records ||
		    again.len != vals.len || memcmp(again.data, vals.data, vals.len) != 0)
			abort();
	}
	buf_release(&out);
	buf_release(&vals);
	buf_release(&again);
	free(s);
	return 0;
}
