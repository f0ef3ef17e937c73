/*
 * contract_pdf.c — the contract laid out as a PDF with libharu: A4, the
 * template's blocks as wrapped paragraphs, each language's text (each <h1>)
 * from the top of a page, the schedule as a table whose header repeats on
 * every page it runs onto, the contract's number and the page on each page.
 *
 * The text is UTF-8 in TrueType fonts embedded as subsets (libharu's
 * "UTF-8" encoder makes them CID fonts with a ToUnicode map, so the text can
 * be searched and extracted).  Determinism: the document's dates are the
 * contract's date, libharu writes no /ID without encryption, and its font
 * tags are a counter, so the bytes depend only on the inputs.  libharu's
 * memory is wiped as it is freed (it holds the borrower's data).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hpdf.h>
#include <sodium.h>

#include "contract/contract.h"
#include "contract/internal.h"
#include "common/utf8.h"
#include "common/banned.h"

#define PAGE_W 595.276f /* A4 in points */
#define PAGE_H 841.89f
#define MARGIN 56.0f
#define BOTTOM 64.0f /* the lowest baseline of text; the footer is below */
#define CONTENT_W (PAGE_W - 2 * MARGIN)
#define TABLE_SIZE 8.0f
#define TABLE_ROW 12.0f

struct pdf {
	HPDF_Doc doc;
	HPDF_Page page;
	HPDF_Font font, bold;
	float y; /* the top of the free space on the page */
	int page_no;
	int at_top; /* nothing drawn on this page yet */
	const struct contract_terms *t;
	struct buf line;    /* the line being drawn, NUL-terminated */
	HPDF_STATUS error;  /* the first error libharu reported */
	int in_table, lang; /* the schedule's header repeats on new pages */
};

static void on_error(HPDF_STATUS error_no, HPDF_STATUS detail_no, void *user)
{
	(void)detail_no;
	struct pdf *p = user;
	if (!p->error)
		p->error = error_no;
}

static void *pdf_alloc(HPDF_UINT size)
{
	return malloc(size);
}

/* ---- drawing ------------------------------------------------------------------ */

/* Width in points of s[0..len) in font f at size. */
static float text_width(HPDF_Font f, float size, const char *s, size_t len)
{
	if (len == 0)
		return 0;
	HPDF_TextWidth tw = HPDF_Font_TextWidth(f, (const HPDF_BYTE *)s, (HPDF_UINT)len);
	return (float)tw.width * size / 1000.0f;
}

/* Draw s[0..len) with its left end at x on baseline y. */
static enum senim_result draw(struct pdf *p, HPDF_Font f, float size, float x, float y,
			      const char *s, size_t len)
{
	buf_reset(&p->line);
	enum senim_result err = buf_add(&p->line, s, len);
	if (err)
		return err;
	HPDF_Page_SetFontAndSize(p->page, f, size);
	HPDF_Page_BeginText(p->page);
	HPDF_Page_TextOut(p->page, x, y, p->line.data);
	HPDF_Page_EndText(p->page);
	p->at_top = 0;
	return p->error ? SENIM_ERR_IO : SENIM_OK;
}

static enum senim_result table_header(struct pdf *p);

static enum senim_result new_page(struct pdf *p)
{
	p->page = HPDF_AddPage(p->doc);
	if (!p->page)
		return SENIM_ERR_IO;
	HPDF_Page_SetSize(p->page, HPDF_PAGE_SIZE_A4, HPDF_PAGE_PORTRAIT);
	p->page_no++;
	p->y = PAGE_H - MARGIN;
	char n[16];
	int nl = snprintf(n, sizeof(n), "%d", p->page_no);
	const char *num = p->t->number;
	enum senim_result err = draw(p, p->font, 8, MARGIN, 30, "№ ", strlen("№ "));
	if (!err)
		err = draw(p, p->font, 8,
			   MARGIN + text_width(p->font, 8, "№ ", strlen("№ ")), 30, num,
			   strlen(num));
	if (!err)
		err = draw(p, p->font, 8,
			   PAGE_W - MARGIN - text_width(p->font, 8, n, (size_t)nl), 30, n,
			   (size_t)nl);
	p->at_top = 1;
	if (!err && p->in_table)
		err = table_header(p);
	return err;
}

/* Make room for h points below p->y, on a new page if need be. */
static enum senim_result room(struct pdf *p, float h)
{
	if (p->page && p->y - h >= BOTTOM)
		return SENIM_OK;
	return new_page(p);
}

/* ---- paragraphs --------------------------------------------------------------- */

struct style {
	HPDF_Font font;
	float size, gap; /* gap: space above the paragraph */
	float indent;	 /* of every line; a bullet hangs in it */
	int bullet;
};

/* Draw one line of a paragraph. */
static enum senim_result emit_line(struct pdf *p, const struct style *st, const char *s,
				   size_t len, int first)
{
	float leading = st->size * 1.35f;
	enum senim_result err = room(p, leading);
	float base = p->y - st->size;
	if (!err && first && st->bullet)
		err = draw(p, st->font, st->size, MARGIN + st->indent - 10, base, "•",
			   strlen("•"));
	if (!err)
		err = draw(p, st->font, st->size, MARGIN + st->indent, base, s, len);
	p->y -= leading;
	return err;
}

/* Lay text[0..len) out as a paragraph: lines broken at spaces (U+00A0 does
 * not break), a word wider than a line broken between characters. */
static enum senim_result paragraph(struct pdf *p, const struct style *st,
				   const char *text, size_t len)
{
	float width = CONTENT_W - st->indent;
	float space = text_width(st->font, st->size, " ", 1);
	enum senim_result err = SENIM_OK;
	if (!p->at_top)
		p->y -= st->gap;
	size_t line_at = 0, line_end = 0; /* the line so far: text[line_at..line_end) */
	float line_w = 0;
	int first = 1, empty = 1;
	size_t i = 0;
	while (i < len && !err) {
		size_t w_at = i;
		while (i < len && text[i] != ' ')
			i++;
		size_t w_len = i - w_at;
		while (i < len && text[i] == ' ')
			i++;
		if (w_len == 0)
			continue;
		float w = text_width(st->font, st->size, text + w_at, w_len);
		if (!empty && line_w + space + w <= width) {
			line_end = w_at + w_len;
			line_w += space + w;
			continue;
		}
		if (!empty) {
			err = emit_line(p, st, text + line_at, line_end - line_at, first);
			first = 0;
			empty = 1;
		}
		/* A word wider than the line: as many characters as fit, again. */
		while (!err && w > width) {
			size_t fit = 0, k = 0;
			while (k < w_len) {
				uint32_t cp;
				size_t n = utf8_decode((const unsigned char *)text +
							       w_at + k,
						       w_len - k, &cp);
				if (n == 0)
					n = 1;
				if (text_width(st->font, st->size, text + w_at, k + n) >
				    width)
					break;
				k += n;
				fit = k;
			}
			if (fit == 0) /* one character wider than a line */
				fit = w_len;
			err = emit_line(p, st, text + w_at, fit, first);
			first = 0;
			w_at += fit;
			w_len -= fit;
			w = text_width(st->font, st->size, text + w_at, w_len);
		}
		if (!err && w_len > 0) {
			line_at = w_at;
			line_end = w_at + w_len;
			line_w = w;
			empty = 0;
		}
	}
	if (!err && !empty)
		err = emit_line(p, st, text + line_at, line_end - line_at, first);
	return err;
}

/* ---- the schedule ------------------------------------------------------------- */

static const float col_w[CONTRACT_SCHEDULE_COLS] = { 20, 72, 96, 94, 96, 101 };

/* Draw one row of cells: the date left-aligned, the rest right-aligned;
 * in the header, № and the date left-aligned too. */
static enum senim_result table_row(struct pdf *p, HPDF_Font f,
				   const char *const cells[CONTRACT_SCHEDULE_COLS],
				   int header)
{
	enum senim_result err = room(p, TABLE_ROW);
	float x = MARGIN, base = p->y - TABLE_SIZE - 1;
	for (int c = 0; c < CONTRACT_SCHEDULE_COLS && !err; c++) {
		size_t len = strlen(cells[c]);
		float w = text_width(f, TABLE_SIZE, cells[c], len);
		float at = c == 1 || (header && c == 0) ? x + 2 : x + col_w[c] - 2 - w;
		if (len)
			err = draw(p, f, TABLE_SIZE, at, base, cells[c], len);
		x += col_w[c];
	}
	p->y -= TABLE_ROW;
	return err;
}

static enum senim_result rule(struct pdf *p, float y)
{
	HPDF_Page_SetLineWidth(p->page, 0.5f);
	HPDF_Page_MoveTo(p->page, MARGIN, y);
	HPDF_Page_LineTo(p->page, PAGE_W - MARGIN, y);
	HPDF_Page_Stroke(p->page);
	return p->error ? SENIM_ERR_IO : SENIM_OK;
}

static enum senim_result table_header(struct pdf *p)
{
	const struct contract_schedule_labels *l = &contract_schedule_labels[p->lang];
	/* table_row may not break the page here: new_page called us. */
	p->in_table = 0;
	enum senim_result err = table_row(p, p->bold, l->col, 1);
	p->in_table = 1;
	if (!err)
		err = rule(p, p->y + 2);
	return err;
}

static enum senim_result schedule(struct pdf *p, int lang)
{
	const struct contract_terms *t = p->t;
	char c0[16], cells[5][64];
	const char *row[CONTRACT_SCHEDULE_COLS] = { c0,	      cells[0], cells[1],
						    cells[2], cells[3], cells[4] };
	struct buf cell;
	buf_init(&cell, 60);
	p->lang = lang;
	if (!p->at_top)
		p->y -= 6;
	/* The header and the first rows stay together. */
	enum senim_result err = room(p, 3 * TABLE_ROW);
	if (!err)
		err = table_header(p);
	int64_t sum[3] = { 0, 0, 0 };
	for (size_t i = 0; i <= t->n_rows && !err; i++) {
		int total = i == t->n_rows;
		int64_t amounts[4];
		if (total) {
			amounts[0] = sum[0], amounts[1] = sum[1], amounts[2] = sum[2];
			c0[0] = '\0';
			snprintf(cells[0], sizeof(cells[0]), "%s",
				 contract_schedule_labels[lang].total);
		} else {
			const struct schedule_row *r = &t->rows[i];
			amounts[0] = r->principal, amounts[1] = r->interest;
			amounts[2] = r->total, amounts[3] = r->balance;
			sum[0] += r->principal, sum[1] += r->interest, sum[2] += r->total;
			snprintf(c0, sizeof(c0), "%zu", i + 1);
			err = contract_format_date(&cell, r->due);
			snprintf(cells[0], sizeof(cells[0]), "%s", cell.data);
			buf_reset(&cell);
		}
		for (int k = 0; k < 4 && !err; k++) {
			cells[k + 1][0] = '\0';
			if (total && k == 3)
				break;
			err = contract_format_money(&cell, amounts[k]);
			snprintf(cells[k + 1], sizeof(cells[k + 1]), "%s", cell.data);
			buf_reset(&cell);
		}
		if (!err && total) {
			p->in_table = 0; /* the total needs no header of its own */
			err = room(p, TABLE_ROW + 2);
			if (!err)
				err = rule(p, p->y);
			p->y -= 2;
		}
		if (!err)
			err = table_row(p, total ? p->bold : p->font, row, 0);
	}
	p->in_table = 0;
	buf_release_wiped(&cell);
	return err;
}

/* ---- the template's blocks ---------------------------------------------------- */

static struct style style_of(const struct pdf *p, enum tag_kind k)
{
	switch (k) {
	case TAG_H1:
		return (struct style){ p->bold, 14, 6, 0, 0 };
	case TAG_H2:
		return (struct style){ p->bold, 11, 10, 0, 0 };
	case TAG_H3:
		return (struct style){ p->bold, 10, 6, 0, 0 };
	case TAG_LI:
		return (struct style){ p->font, 10, 3, 16, 1 };
	default:
		return (struct style){ p->font, 10, 5, 0, 0 };
	}
}

/* Append template text to the paragraph: entities decoded, runs of white
 * space one space (as a browser shows them). */
static enum senim_result add_text(struct buf *para, const char *s, size_t len)
{
	static const struct {
		const char *name, *utf8;
	} ent[] = { { "&amp;", "&" },	{ "&lt;", "<" },  { "&gt;", ">" },
		    { "&quot;", "\"" }, { "&#39;", "'" }, { "&nbsp;", "\xc2\xa0" } };
	enum senim_result err = SENIM_OK;
	for (size_t i = 0; i < len && !err; i++) {
		char c = s[i];
		if (c == ' ' || c == '\n' || c == '\t' || c == '\r') {
			if (para->len && para->data[para->len - 1] != ' ')
				err = buf_addch(para, ' ');
			continue;
		}
		if (c == '&') {
			for (size_t k = 0; k < sizeof(ent) / sizeof(ent[0]); k++) {
				size_t el = strlen(ent[k].name);
				if (i + el <= len &&
				    memcmp(s + i, ent[k].name, el) == 0) {
					err = buf_addstr(para, ent[k].utf8);
					i += el - 1;
					break;
				}
			}
			continue; /* the template was checked: every & is an entity */
		}
		err = buf_addch(para, c);
	}
	return err;
}

/* Lay out the paragraph gathered so far, if any, and empty it. */
static enum senim_result flush(struct pdf *p, struct buf *para, enum tag_kind kind)
{
	size_t len = para->len;
	while (len && para->data[len - 1] == ' ')
		len--;
	size_t from = para->len && para->data[0] == ' ' ? 1 : 0;
	enum senim_result err = SENIM_OK;
	if (len > from) {
		struct style st = style_of(p, kind);
		if (kind == TAG_H1 && !p->at_top)
			err = new_page(p);
		if (!err)
			err = room(p,
				   st.gap + st.size * 1.35f * (kind <= TAG_H3 ? 3 : 1));
		if (!err)
			err = paragraph(p, &st, para->data + from, len - from);
	}
	sodium_memzero(para->data, para->cap ? para->len : 0);
	buf_reset(para);
	return err;
}

static enum senim_result layout(struct pdf *p, const struct contract_template *tpl,
				struct buf values[PH__COUNT])
{
	struct buf para;
	buf_init(&para, BUF_NO_LIMIT);
	enum tag_kind kind = TAG_P;
	int head = 0;
	enum senim_result err = new_page(p);
	for (size_t k = 0; k < tpl->n && !err; k++) {
		const struct token *tk = &tpl->tokens[k];
		if (tk->kind == TOK_OPEN || tk->kind == TOK_CLOSE) {
			int open = tk->kind == TOK_OPEN;
			if (tk->tag == TAG_HEAD)
				head += open ? 1 : -1;
			if (head || tk->tag == TAG_HEAD || tk->tag == TAG_INLINE)
				continue;
			err = flush(p, &para, kind);
			if (!err && tk->tag == TAG_HR && open) {
				err = room(p, 12);
				if (!err)
					err = rule(p, p->y - 6);
				p->y -= 12;
			}
			kind = open && tk->tag != TAG_CONTAINER && tk->tag != TAG_BR &&
					       tk->tag != TAG_HR
				       ? tk->tag
				       : TAG_P;
			if (tk->tag == TAG_BR)
				kind = TAG_P;
			continue;
		}
		if (head || tk->kind == TOK_RAW)
			continue;
		if (tk->kind == TOK_TEXT) {
			err = add_text(&para, tpl->text + tk->off, tk->len);
		} else if (tk->ph == PH_SCHEDULE_RU || tk->ph == PH_SCHEDULE_KK) {
			err = flush(p, &para, kind);
			if (!err)
				err = schedule(p, tk->ph == PH_SCHEDULE_KK);
		} else {
			err = buf_add(&para, values[tk->ph].data, values[tk->ph].len);
		}
	}
	if (!err)
		err = flush(p, &para, kind);
	buf_release_wiped(&para);
	return err;
}

/* ---- the document ------------------------------------------------------------- */

enum senim_result contract_render_pdf(const struct contract_template *tpl,
				      const struct contract_terms *t,
				      const char *font_path, const char *bold_path,
				      struct buf *out, unsigned char *sha256)
{
	const char *field;
	enum senim_result err = contract_terms_check(t, &field);
	if (err)
		return err;
	size_t mark = out->len;
	struct buf values[PH__COUNT];
	struct pdf p = { .t = t };
	buf_init(&p.line, BUF_NO_LIMIT);
	unsigned char chunk[4096];
	err = contract_values(t, values);
	if (err)
		goto fail;
	/* Every block libharu frees is wiped first: pages hold personal data. */
	p.doc = HPDF_NewEx(on_error, pdf_alloc, buf_wipe_free, 0, &p);
	if (!p.doc) {
		err = SENIM_ERR_NOMEM;
		goto fail;
	}
	HPDF_SetCompressionMode(p.doc, HPDF_COMP_ALL);
	HPDF_UseUTFEncodings(p.doc);
	const char *regular = HPDF_LoadTTFontFromFile(
		p.doc, font_path ? font_path : CONTRACT_FONT_DEFAULT, HPDF_TRUE);
	const char *bold =
		regular ? HPDF_LoadTTFontFromFile(p.doc,
						  bold_path ? bold_path
							    : CONTRACT_FONT_BOLD_DEFAULT,
						  HPDF_TRUE)
			: NULL;
	if (!regular || !bold) {
		err = SENIM_ERR_CONFIG;
		goto fail;
	}
	p.font = HPDF_GetFont(p.doc, regular, "UTF-8");
	p.bold = HPDF_GetFont(p.doc, bold, "UTF-8");
	if (!p.font || !p.bold) {
		err = SENIM_ERR_CONFIG;
		goto fail;
	}
	/* The document's dates are the contract's, so the bytes do not depend
	 * on when they were made. */
	int y, m, d;
	schedule_ymd(t->date, &y, &m, &d);
	HPDF_Date date = { .year = y, .month = m, .day = d, .ind = 'Z' };
	HPDF_SetInfoDateAttr(p.doc, HPDF_INFO_CREATION_DATE, date);
	HPDF_SetInfoDateAttr(p.doc, HPDF_INFO_MOD_DATE, date);
	HPDF_SetInfoAttr(p.doc, HPDF_INFO_CREATOR, "senim");
	if (p.error) {
		err = SENIM_ERR_IO;
		goto fail;
	}
	err = layout(&p, tpl, values);
	if (err)
		goto fail;
	if (HPDF_SaveToStream(p.doc) != HPDF_OK || HPDF_ResetStream(p.doc) != HPDF_OK) {
		err = SENIM_ERR_IO;
		goto fail;
	}
	for (;;) {
		HPDF_UINT32 n = sizeof(chunk);
		HPDF_STATUS st = HPDF_ReadFromStream(p.doc, chunk, &n);
		if (st != HPDF_OK && st != HPDF_STREAM_EOF) {
			err = SENIM_ERR_IO;
			goto fail;
		}
		err = buf_add(out, chunk, n);
		if (err)
			goto fail;
		if (st == HPDF_STREAM_EOF)
			break;
	}
	if (p.error) {
		err = SENIM_ERR_IO;
		goto fail;
	}
	if (sha256)
		contract_sha256(out->data + mark, out->len - mark, sha256);
	HPDF_Free(p.doc);
	contract_values_release(values);
	buf_release_wiped(&p.line);
	sodium_memzero(chunk, sizeof(chunk));
	return SENIM_OK;
fail:
	if (p.doc)
		HPDF_Free(p.doc);
	contract_values_release(values);
	buf_release_wiped(&p.line);
	sodium_memzero(chunk, sizeof(chunk));
	if (out->cap) {
		sodium_memzero(out->data + mark, out->len - mark);
		out->len = mark;
		out->data[mark] = '\0';
	}
	return err;
}
