/*
 * decide.c — the questions of decide.h, one function each, asked in order.
 */
#include "exchange/decide.h"

#include <string.h>

#include "core/consents.h"
#include "common/banned.h"

static int consent_active(const struct subject_state *s, int kind)
{
	return kind >= 0 && (s->consents & (1u << kind));
}

static void refuse(struct exchange_decision *d, enum access_result why)
{
	d->refused.why = why;
	d->categories = 0;
}

static void refuse_for_consent(struct exchange_decision *d, int kind)
{
	refuse(d, ACCESS_CONSENT_REQUIRED);
	d->refused.missing_consent = consent_def((enum consent_kind)kind)->code;
}

/* The entry of `sends` named `code`, or NULL. */
static const struct recipient_field *sent_field(const struct recipient_service *svc,
						const char *code)
{
	for (size_t i = 0; i < svc->nsends; i++)
		if (strcmp(svc->sends[i].code, code) == 0)
			return &svc->sends[i];
	return NULL;
}

/* Question 5: NULL when every field may go, else the first that may not.
 * A register-only category (a loan's contract data) is not in the access
 * matrix: the file's `sends` is its whole rule. */
static const char *field_refused(const struct exchange_question *q,
				 const struct recipient_service *svc, uint32_t categories)
{
	for (size_t i = 0; q->fields && i < q->nfields; i++) {
		const struct recipient_field *f = sent_field(svc, q->fields[i]);
		if (!f)
			return q->fields[i];
		if (f->category < CATEGORY__COUNT &&
		    !(categories & CATEGORY_BIT((enum category)f->category)))
			return q->fields[i];
	}
	for (size_t i = 0; !q->fields && i < svc->nsends; i++) {
		int c = svc->sends[i].category;
		if (c < CATEGORY__COUNT && !(categories & CATEGORY_BIT((enum category)c)))
			return svc->sends[i].code;
	}
	return NULL;
}

static int country_allowed(const struct recipients *r, const char *country)
{
	for (size_t i = 0; i < r->ncountries; i++)
		if (strcmp(r->allowed_countries[i], country) == 0)
			return 1;
	return 0;
}

enum senim_result exchange_decide(const struct recipients *r,
				  const struct access_matrix *m,
				  const struct exchange_question *q,
				  struct exchange_decision *d)
{
	*d = (struct exchange_decision){ .consent = -1 };
	const struct recipient *rc = r ? recipients_find(r, q->recipient) : NULL;
	const struct recipient_service *svc =
		rc ? recipient_service_find(rc, q->service) : NULL;
	if (!svc)
		return SENIM_ERR_NOT_FOUND;
	d->recipient = rc;
	d->service = svc;
	d->cross_border = strcmp(rc->country, "KZ") != 0;
	d->consent = svc->basis == RECIPIENT_BASIS_CONSENT ? svc->consent : -1;

	enum access_result why;
	if (q->by_system) {
		/* Any purpose for the system's own batch; the subject's
		 * blocks, restrictions and consents still decide. */
		struct access_matrix own = *m;
		own.purposes_of[ROLE_ADMIN] = (unsigned)q->purpose < PURPOSE__COUNT
						      ? PURPOSE_BIT(q->purpose)
						      : 0;
		why = access_decide(&own, ROLE_ADMIN, q->purpose, q->state,
				    &d->categories);
	} else {
		why = access_decide(m, q->role, q->purpose, q->state, &d->categories);
	}
	if (why != ACCESS_GRANTED) {
		access_refusal_set(&d->refused, why, q->purpose, q->state);
		d->categories = 0;
		return SENIM_OK;
	}
	if (!(svc->purposes & PURPOSE_BIT(q->purpose))) {
		refuse(d, ACCESS_NOT_FOR_RECIPIENT);
		return SENIM_OK;
	}
	if (svc->basis == RECIPIENT_BASIS_CONSENT &&
	    !consent_active(q->state, svc->consent)) {
		refuse_for_consent(d, svc->consent);
		return SENIM_OK;
	}
	const char *field = field_refused(q, svc, d->categories);
	if (field) {
		refuse(d, ACCESS_FIELD_NOT_ALLOWED);
		d->refused.field = field;
		return SENIM_OK;
	}
	if (d->cross_border && !country_allowed(r, rc->country)) {
		refuse(d, ACCESS_CROSS_BORDER_COUNTRY);
		return SENIM_OK;
	}
	if (d->cross_border && !consent_active(q->state, CONSENT_CROSS_BORDER)) {
		refuse_for_consent(d, CONSENT_CROSS_BORDER);
		return SENIM_OK;
	}
	if (rc->kind == RECIPIENT_PROCESSOR &&
	    !(rc->agreement_purposes & PURPOSE_BIT(q->purpose))) {
		refuse(d, ACCESS_NOT_FOR_RECIPIENT);
		return SENIM_OK;
	}
	return SENIM_OK;
}
