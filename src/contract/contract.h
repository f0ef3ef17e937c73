/*
 * contract.h — the microcredit contract as a document: a bilingual (ru and
 * kk) template filled with a loan's terms, rendered to HTML (for the screen)
 * and to PDF (the document the borrower signs), and the SHA-256 of the exact
 * bytes rendered.  Clauses P3 (contracts in ru and kk) and D8 (the clause on
 * false information).  docs/contract.md describes the template and the PDF.
 *
 * The template (data/contract/contract.ru-kk.html) is checked once when it
 * is loaded: valid UTF-8; only the tags the PDF layout knows; every
 * placeholder `{{name}}` one of contract_placeholders(), never inside a tag;
 * the placeholders no contract may lack present; the D8 clause present in
 * both languages.  A template that breaks a rule is refused at load, so a
 * render never meets an unknown placeholder.
 *
 * Invariants of every rendered document:
 *   - every value is HTML-escaped in the HTML; nothing the caller gives
 *     becomes markup;
 *   - money is printed from int64 tiyn exactly ("150 000,00 ₸", the group
 *     separator and the space before ₸ being U+00A0), dates as DD.MM.YYYY,
 *     rates with the precision they have (the nominal rate and penalties to
 *     0.01 %, the ГЭСВ to 0.1 %); no floating point anywhere;
 *   - the schedule's rows are all printed and sum to the amount (a render
 *     refuses terms whose rows do not);
 *   - the PDF is a function of the template, the terms, the font files and
 *     the PDF library: its creation and modification dates are the
 *     contract's date and it holds no random identifier, so rendering the
 *     same terms twice gives the same bytes and the same SHA-256.
 *
 * Personal data: the borrower's name, IIN and address are given decrypted
 * by the caller in a struct contract_terms from contract_terms_new()
 * (sodium_malloc'd), which contract_terms_free() wipes.  The rendered
 * documents hold them too: the caller releases the output buffers with
 * buf_release_wiped(), and the PDF library's own memory is wiped as it is
 * freed.
 */
#ifndef SENIM_CONTRACT_H
#define SENIM_CONTRACT_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/result.h"
#include "core/schedule.h"

#define CONTRACT_TEMPLATE_DEFAULT "data/contract/contract.ru-kk.html"
#define CONTRACT_FONT_DEFAULT "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
#define CONTRACT_FONT_BOLD_DEFAULT "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"

#define CONTRACT_TEMPLATE_MAX (256 * 1024)  /* bytes of a template file */
#define CONTRACT_TEXT_MAX 512		    /* bytes of a text field, NUL included */
#define CONTRACT_HASH_BYTES 32		    /* SHA-256 */
#define CONTRACT_DOC_MAX (16 * 1024 * 1024) /* the cap to give an output buf */

/* ---- the terms ---------------------------------------------------------------- */

/* What a contract says.  Text fields are NUL-terminated UTF-8 without
 * control characters, non-empty unless marked optional; set them with
 * contract_set_text(). */
struct contract_terms {
	char number[CONTRACT_TEXT_MAX]; /* the contract's number */
	int32_t date;			/* day number (schedule.h) of signing */

	char lender_name[CONTRACT_TEXT_MAX];
	char lender_details[CONTRACT_TEXT_MAX]; /* BIN, licence, address, bank */

	/* Personal data, decrypted by the caller; wiped by contract_terms_free. */
	char borrower_name[CONTRACT_TEXT_MAX];
	char borrower_iin[CONTRACT_TEXT_MAX]; /* 12 digits */
	char borrower_address[CONTRACT_TEXT_MAX];

	int64_t amount;		    /* tiyn, the principal paid out */
	int32_t rate_bp;	    /* annual nominal rate */
	int64_t fee;		    /* tiyn, one-off fee at payout; 0 for none */
	int64_t gesv_bp;	    /* ГЭСВ from core/gesv (a multiple of 10) */
	int64_t penalty_daily_bp;   /* penalty per overdue day, of the overdue sum */
	int64_t penalty_annual_bp;  /* its cap per year, of the principal */
	int64_t cooloff_minutes;    /* the cooling-off hold in force (loan_rules) */
	int64_t restructuring_days; /* the restructuring request window */
	char payout_masked[CONTRACT_TEXT_MAX]; /* "KZ** **** **** 1234" */

	enum schedule_method method;
	int32_t term; /* months (annuity, differentiated) or days (single) */
	size_t n_rows;
	struct schedule_row rows[SCHEDULE_MAX_PAYMENTS]; /* from schedule_build */
};

/* A zeroed struct contract_terms in sodium_malloc'd memory, or NULL when
 * out of memory.  Free with contract_terms_free. */
struct contract_terms *contract_terms_new(void);

/* Wipe and free; NULL does nothing. */
void contract_terms_free(struct contract_terms *t);

/* Copy the NUL-terminated `value` into a text field of CONTRACT_TEXT_MAX
 * bytes.  SENIM_ERR_TOO_LARGE when it does not fit (the field is left
 * empty). */
SENIM_MUST_CHECK enum senim_result contract_set_text(char field[CONTRACT_TEXT_MAX],
						     const char *value);

/* SENIM_OK when the terms can be rendered; else SENIM_ERR_INVALID and the
 * name of the first bad field in *field (a static string): an empty or
 * overlong text, invalid UTF-8 or a control character, an IIN that is not
 * 12 digits, an amount, rate, fee or term out of schedule.h's ranges, rows
 * that are missing, in excess of the term, or do not sum to the amount. */
SENIM_MUST_CHECK enum senim_result contract_terms_check(const struct contract_terms *t,
							const char **field);

/* ---- the template ------------------------------------------------------------- */

struct contract_template;

/* Every placeholder a template may use, NULL-terminated (docs/contract.md
 * says what each prints). */
const char *const *contract_placeholders(void);

/* Check and keep the template text[0..len).  `name` is for messages.
 * SENIM_OK with *out set (free with contract_template_free); else
 * SENIM_ERR_INVALID with a one-line reason naming name:line in why (a
 * placeholder unknown, malformed or inside a tag, a tag the PDF cannot lay
 * out, an unknown entity, a required placeholder or the D8 clause missing,
 * invalid UTF-8), SENIM_ERR_TOO_LARGE past CONTRACT_TEMPLATE_MAX, or
 * SENIM_ERR_NOMEM. */
SENIM_MUST_CHECK enum senim_result contract_template_parse(const char *name,
							   const char *text, size_t len,
							   struct contract_template **out,
							   char *why, size_t why_cap);

/* Read the file at `path` and contract_template_parse it; SENIM_ERR_IO (with
 * why) when it cannot be read. */
SENIM_MUST_CHECK enum senim_result contract_template_load(const char *path,
							  struct contract_template **out,
							  char *why, size_t why_cap);

/* NULL does nothing. */
void contract_template_free(struct contract_template *tpl);

/* ---- rendering ---------------------------------------------------------------- */

/* Append the HTML document of `t` to `out` (give it a cap such as
 * CONTRACT_DOC_MAX; release it with buf_release_wiped) and, unless sha256 is
 * NULL, the SHA-256 of exactly the bytes appended.
 * SENIM_ERR_INVALID: the terms fail contract_terms_check; SENIM_ERR_TOO_LARGE
 * or SENIM_ERR_NOMEM from the buffer.  On an error `out` is left as it was
 * given, its added bytes wiped. */
SENIM_MUST_CHECK enum senim_result
contract_render_html(const struct contract_template *tpl, const struct contract_terms *t,
		     struct buf *out, unsigned char *sha256);

/* The same for the PDF (A4, the text laid out in wrapped paragraphs, the
 * schedule as a table with its header repeated on each page, page
 * numbers), its text in the TrueType fonts at font_path and bold_path
 * (NULL: the defaults above), embedded as subsets.  Errors as for HTML, and
 * SENIM_ERR_CONFIG when a font cannot be loaded, SENIM_ERR_IO when the PDF
 * library fails otherwise. */
SENIM_MUST_CHECK enum senim_result
contract_render_pdf(const struct contract_template *tpl, const struct contract_terms *t,
		    const char *font_path, const char *bold_path, struct buf *out,
		    unsigned char *sha256);

/* ---- formatting (exposed for tests and other documents) ------------------------ */

/* Append tiyn as "150 000,00 ₸" (U+00A0 between groups and before ₸; a
 * minus sign for a negative sum). */
SENIM_MUST_CHECK enum senim_result contract_format_money(struct buf *out, int64_t tiyn);

/* Append a day number as DD.MM.YYYY. */
SENIM_MUST_CHECK enum senim_result contract_format_date(struct buf *out, int32_t day);

/* Append basis points as a percentage with `decimals` (0..2) digits after
 * the comma, "36,50 %" (U+00A0 before %); bp must be a multiple of
 * 10^(2 - decimals), else SENIM_ERR_INVALID (a rate is never rounded
 * silently). */
SENIM_MUST_CHECK enum senim_result contract_format_rate(struct buf *out, int64_t bp,
							int decimals);

/* The SHA-256 of data[0..len) (libsodium) into out[CONTRACT_HASH_BYTES]. */
void contract_sha256(const void *data, size_t len, unsigned char *out);

#endif
