/*
 * csv.c — reading RFC 4180 text in place (csv.h).
 */
#include "common/csv.h"

#include <string.h>

#include "common/utf8.h"
#include "common/banned.h"

void csv_init(struct csv *c, const char *text, size_t len, const struct csv_options *opt)
{
	static const struct csv_options none = { 0, 0 };
	c->s = text ? text : "";
	c->len = text ? len : 0;
	c->pos = 0;
	c->line = 1;
	c->opt = opt ? *opt : none;
	/* The UTF-8 byte-order mark spreadsheets write is not part of a field. */
	if (c->len >= 3 && memcmp(c->s, "\xEF\xBB\xBF", 3) == 0)
		c->pos = 3;
}

static int is_crlf(const struct csv *c, size_t i)
{
	return c->s[i] == '\r' && i + 1 < c->len && c->s[i + 1] == '\n';
}

int csv_at_end(const struct csv *c)
{
	for (size_t i = c->pos; i < c->len; i++)
		if (c->s[i] != '\n' && !is_crlf(c, i))
			return 0;
	return 1;
}

static enum senim_result fail(struct csv_error *e, size_t line, size_t field,
			      const char *rule)
{
	e->line = line;
	e->field = field;
	e->rule = rule;
	return SENIM_ERR_INVALID;
}

/* Scan the field at c->pos into *cur; 0, or -1 on a quoting error. */
static int scan_field(struct csv *c, struct csv_field *cur)
{
	cur->off = c->pos;
	cur->quoted = 0;
	if (c->pos < c->len && c->s[c->pos] == '"') {
		cur->quoted = 1;
		cur->off = ++c->pos;
		for (;;) {
			if (c->pos >= c->len)
				return -1; /* never closed */
			char ch = c->s[c->pos];
			if (ch == '"') {
				if (c->pos + 1 < c->len && c->s[c->pos + 1] == '"') {
					c->pos += 2;
					continue;
				}
				break;
			}
			if (ch == '\n')
				c->line++;
			c->pos++;
		}
		cur->len = c->pos - cur->off;
		c->pos++; /* the closing quote */
		return 0;
	}
	while (c->pos < c->len) {
		char ch = c->s[c->pos];
		if (ch == ',' || ch == '\n' || is_crlf(c, c->pos))
			break;
		if (ch == '"')
			return -1; /* a quote inside a plain field */
		c->pos++;
	}
	cur->len = c->pos - cur->off;
	return 0;
}

enum senim_result csv_record(struct csv *c, struct csv_field *f, size_t max, size_t *nf,
			     size_t *line, struct csv_error *e)
{
	*nf = 0;
	*line = c->line;
	for (;;) {
		struct csv_field cur;
		if (scan_field(c, &cur))
			return fail(e, *line, *nf, "quoting");
		if (c->opt.max_field_bytes && cur.len > c->opt.max_field_bytes)
			return fail(e, *line, *nf, "length");
		if (c->opt.utf8 && !utf8_valid(c->s + cur.off, cur.len))
			return fail(e, *line, *nf, "encoding");
		if (*nf < max)
			f[*nf] = cur;
		(*nf)++;
		if (c->pos >= c->len)
			return SENIM_OK;
		if (c->s[c->pos] == ',') {
			c->pos++;
			continue;
		}
		if (c->s[c->pos] == '\n' || is_crlf(c, c->pos)) {
			c->pos += c->s[c->pos] == '\n' ? 1 : 2;
			c->line++;
			return SENIM_OK;
		}
		return fail(e, *line, *nf - 1,
			    "quoting"); /* text after a closing quote */
	}
}

size_t csv_unquote(const char *text, const struct csv_field *f, char *out)
{
	const char *s = text + f->off;
	size_t n = 0;
	for (size_t i = 0; i < f->len; i++) {
		out[n++] = s[i];
		if (f->quoted && s[i] == '"' && i + 1 < f->len && s[i + 1] == '"')
			i++;
	}
	return n;
}
