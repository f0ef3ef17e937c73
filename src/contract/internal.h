/*
 * internal.h — what contract.c (the template, the values, HTML) shares with
 * contract_pdf.c (the PDF layout); not for other modules.
 *
 * A template is kept as its text and a list of tokens over it: raw markup
 * (comments, the doctype), text between tags, an opening or closing tag of
 * a known kind, a placeholder.  HTML copies every token but placeholders
 * verbatim; the PDF lays text out by the tags' kinds.
 */
#ifndef SENIM_CONTRACT_INTERNAL_H
#define SENIM_CONTRACT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "contract/contract.h"

/* A row's interest is at most a schedule's largest payment (core/gesv.h). */
#define GESV_LIKE_MAX INT64_C(2000000000000000)

enum placeholder {
	PH_CONTRACT_NUMBER,
	PH_CONTRACT_DATE,
	PH_LENDER_NAME,
	PH_LENDER_DETAILS,
	PH_BORROWER_NAME,
	PH_BORROWER_IIN,
	PH_BORROWER_ADDRESS,
	PH_AMOUNT,
	PH_FEE,
	PH_RATE,
	PH_GESV,
	PH_PENALTY_DAILY,
	PH_PENALTY_ANNUAL,
	PH_TERM_RU,
	PH_TERM_KK,
	PH_METHOD_RU,
	PH_METHOD_KK,
	PH_TOTAL_INTEREST,
	PH_TOTAL_TO_PAY,
	PH_PAYOUT_DESTINATION,
	PH_COOLOFF_RU,
	PH_COOLOFF_KK,
	PH_RESTRUCTURING_RU,
	PH_RESTRUCTURING_KK,
	PH_SCHEDULE_RU,
	PH_SCHEDULE_KK,
	PH__COUNT
};

enum tag_kind {
	TAG_CONTAINER, /* a block holding blocks: ends a paragraph */
	TAG_P,	       /* a paragraph */
	TAG_H1,
	TAG_H2,
	TAG_H3,
	TAG_LI, /* a paragraph with a bullet */
	TAG_BR, /* a line break */
	TAG_HR, /* a rule */
	TAG_INLINE,
	TAG_HEAD,    /* nothing inside reaches the PDF */
	TAG_IN_HEAD, /* meta, title: only inside head */
	TAG_STYLE,   /* CSS: no placeholders, no entities */
};

enum token_kind {
	TOK_RAW,
	TOK_TEXT,
	TOK_OPEN,
	TOK_CLOSE,
	TOK_PH
};

struct token {
	enum token_kind kind;
	size_t off, len;     /* the token's bytes in the template's text */
	enum tag_kind tag;   /* TOK_OPEN, TOK_CLOSE */
	enum placeholder ph; /* TOK_PH */
};

struct contract_template {
	char *text; /* NUL-terminated copy of the file */
	size_t len;
	struct token *tokens;
	size_t n, cap;
};

#define CONTRACT_SCHEDULE_COLS 6
struct contract_schedule_labels {
	const char *col[CONTRACT_SCHEDULE_COLS];
	const char *total;
};
/* [0] ru, [1] kk */
extern const struct contract_schedule_labels contract_schedule_labels[2];

/* The raw (unescaped) text of every placeholder but the schedules for
 * checked terms t, each in values[p] (empty for the schedules).  The bufs
 * are always initialised: release them with contract_values_release, which
 * wipes them, whatever this returns. */
SENIM_MUST_CHECK enum senim_result contract_values(const struct contract_terms *t,
						   struct buf values[PH__COUNT]);
void contract_values_release(struct buf values[PH__COUNT]);

#endif
