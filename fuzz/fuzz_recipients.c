/*
 * fuzz_recipients.c — recipients_parse on arbitrary bytes, as `senim serve
 * --recipients` and `senim recipients check` read the file an operator
 * wrote.
 *
 * Byte 0 picks the access matrix: 0x80 set, the built-in defaults;
 * otherwise its low seven bits take categories away from loan review,
 * servicing and identification (one bit per category), so the matrix
 * checks see rows that differ from the defaults.  The rest is the file, an
 * exactly sized heap block (not NUL-terminated) so ASan sees any read past
 * it.  Beyond "no crash, no leak" the target checks:
 *   - the result is SENIM_OK or SENIM_ERR_INVALID, with a result only on
 *     SENIM_OK;
 *   - a refusal is one line "f.conf:LINE: ..." naming a line of the file
 *     (at most one past its last newline), in UTF-8 without control
 *     characters;
 *   - an accepted file keeps the rules it was checked against: codes match
 *     [a-z][a-z0-9_]{1,31}; names and values are UTF-8 without control
 *     characters; a recipient abroad is in an allowed country; every
 *     service has purposes and sends, sends no special category and no
 *     category a purpose may not see, stays within its consent's purposes
 *     and categories, within its processor's agreement, and uses law: for
 *     legal_obligation alone;
 *   - parsing is a function of the text: a second parse of the same bytes
 *     gives the same recipients and services.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
#include "core/consents.h"
#include "core/recipients.h"
#include "common/banned.h"

/* A code as the file format defines it, [a-z][a-z0-9_]{1,31}, written
 * independently of the parser's own check so that each tests the other. */
static int code_ok(const char *s)
{
	static const char lower[] = "abcdefghijklmnopqrstuvwxyz";
	size_t n = strlen(s);
	return n >= 2 && n <= 32 && strchr(lower, s[0]) &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

/* A string the parser handed out: UTF-8, no control characters. */
static void check_text(const char *s)
{
	if (!s)
		return;
	size_t n = strlen(s);
	if (!utf8_valid(s, n) || utf8_has_control(s, n, 0))
		abort();
}

static void check_service(const struct access_matrix *m, const struct recipient *rc,
			  const struct recipient_service *s)
{
	if (!code_ok(s->code) || !s->purposes || s->purposes & ~PURPOSE_ALL ||
	    s->nsends == 0 || !s->path || s->path[0] != '/')
		abort();
	check_text(s->path);
	check_text(s->legal_ref);
	const struct consent_def *def =
		s->basis == RECIPIENT_BASIS_CONSENT ? consent_def(s->consent) : NULL;
	if ((s->basis == RECIPIENT_BASIS_CONSENT) != (def != NULL))
		abort();
	if (def && (s->purposes & ~def->purposes))
		abort();
	if (s->basis == RECIPIENT_BASIS_LAW &&
	    s->purposes != PURPOSE_BIT(PURPOSE_LEGAL_OBLIGATION))
		abort();
	if (s->basis == RECIPIENT_BASIS_AGREEMENT && rc->kind != RECIPIENT_PROCESSOR)
		abort();
	if (rc->kind == RECIPIENT_PROCESSOR && (s->purposes & ~rc->agreement_purposes))
		abort();
	for (size_t i = 0; i < s->nsends; i++) {
		int c = s->sends[i].category;
		check_text(s->sends[i].code);
		if (c < 0 || c >= RECIPIENT_CATEGORY__COUNT)
			abort();
		if (c >= CATEGORY__COUNT)
			continue;
		if (category_is_special((enum category)c))
			abort();
		if (def && !(def->categories & CATEGORY_BIT(c)))
			abort();
		for (int p = 0; p < PURPOSE__COUNT; p++)
			if ((s->purposes & PURPOSE_BIT(p)) &&
			    !(m->categories_of[p] & CATEGORY_BIT(c)))
				abort();
	}
	if ((s->receives == NULL) != (s->nreceives == 0))
		abort();
	for (size_t i = 0; i < s->nreceives; i++)
		check_text(s->receives[i].code);
}

static void check_accepted(const struct access_matrix *m, const struct recipients *r)
{
	if (r->n > RECIPIENTS_MAX || r->ncountries > RECIPIENTS_LIST_MAX)
		abort();
	for (size_t i = 0; i < r->n; i++) {
		const struct recipient *rc = &r->recipients[i];
		if (!code_ok(rc->code) || rc->nservices > RECIPIENT_SERVICES_MAX ||
		    (unsigned)rc->kind >= RECIPIENT_KIND__COUNT)
			abort();
		check_text(rc->name_ru);
		check_text(rc->name_kk);
		check_text(rc->registration);
		check_text(rc->endpoint);
		if (strncmp(rc->endpoint, "https://", 8) != 0 &&
		    strncmp(rc->endpoint, "http://", 7) != 0)
			abort();
		if ((rc->kind == RECIPIENT_PROCESSOR) != (rc->agreement_id != NULL))
			abort();
		if (strcmp(rc->country, "KZ") != 0) {
			size_t j = 0;
			while (j < r->ncountries &&
			       strcmp(r->allowed_countries[j], rc->country) != 0)
				j++;
			if (j == r->ncountries)
				abort();
		}
		for (size_t j = 0; j < rc->nservices; j++)
			check_service(m, rc, &rc->services[j]);
	}
}

/* Two parses of one text agree. */
static void check_same(const struct recipients *a, const struct recipients *b)
{
	if (a->n != b->n || a->ncountries != b->ncountries)
		abort();
	for (size_t i = 0; i < a->n; i++) {
		const struct recipient *x = &a->recipients[i], *y = &b->recipients[i];
		if (strcmp(x->code, y->code) != 0 ||
		    strcmp(x->endpoint, y->endpoint) != 0 ||
		    x->nservices != y->nservices || x->line != y->line)
			abort();
		for (size_t j = 0; j < x->nservices; j++)
			if (x->services[j].purposes != y->services[j].purposes ||
			    x->services[j].nsends != y->services[j].nsends ||
			    x->services[j].sends_categories !=
				    y->services[j].sends_categories)
				abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct access_matrix m;
	access_matrix_default(&m);
	if (!(data[0] & 0x80))
		for (int c = 0; c < 7; c++)
			if (data[0] & (1u << c)) {
				m.categories_of[PURPOSE_LOAN_APPLICATION_REVIEW] &=
					~CATEGORY_BIT(c);
				m.categories_of[PURPOSE_LOAN_SERVICING] &=
					~CATEGORY_BIT(c);
				m.categories_of[PURPOSE_IDENTIFICATION] &=
					~CATEGORY_BIT(c);
			}
	size_t len = size - 1;
	char *text = malloc(len ? len : 1);
	if (!text)
		abort();
	memcpy(text, data + 1, len);
	size_t newlines = 0;
	for (size_t i = 0; i < len; i++)
		newlines += text[i] == '\n';

	char err[512];
	struct recipients *r = NULL;
	enum senim_result rc =
		recipients_parse("f.conf", text, len, &m, &r, err, sizeof(err));
	if (rc == SENIM_ERR_INVALID) {
		unsigned long line = 0;
		char *end = NULL;
		if (r || strncmp(err, "f.conf:", 7) != 0)
			abort();
		line = strtoul(err + 7, &end, 10);
		if (end == err + 7 || end[0] != ':' || end[1] != ' ' || line < 1 ||
		    line > newlines + 1)
			abort();
		check_text(err);
	} else if (rc == SENIM_OK) {
		if (!r)
			abort();
		check_accepted(&m, r);
		struct recipients *again = NULL;
		if (recipients_parse("f.conf", text, len, &m, &again, err, sizeof(err)) !=
		    SENIM_OK)
			abort();
		check_same(r, again);
		recipients_free(again);
	} else {
		abort();
	}
	recipients_free(r);
	free(text);
	return 0;
}
