#include "core/access.h"

#include <stddef.h>

#include "common/banned.h"

enum access_result access_decide(const struct access_matrix *m, enum role role,
				 enum purpose purpose, const struct subject_state *state,
				 uint32_t *categories)
{
	*categories = 0;
	if ((unsigned)role >= ROLE__COUNT || (unsigned)purpose >= PURPOSE__COUNT ||
	    !(m->purposes_of[role] & PURPOSE_BIT(purpose)))
		return ACCESS_PURPOSE_NOT_PERMITTED;
	/* U10: what the law requires is never withheld, blocked or not. */
	int legal = purpose == PURPOSE_LEGAL_OBLIGATION;
	if (state && state->blocked && !legal)
		return ACCESS_SUBJECT_BLOCKED; /* R3 */
	if (state && state->restricted && !legal &&
	    !(state->allowed_purposes & PURPOSE_BIT(purpose)))
		return ACCESS_PURPOSE_RESTRICTED; /* R4 */
	if (state && access_missing_consent(purpose, state))
		return ACCESS_CONSENT_REQUIRED; /* C4 */
	*categories = m->categories_of[purpose];
	return ACCESS_GRANTED;
}

enum access_result access_decide_write(const struct access_matrix *m,
				       enum purpose purpose, uint32_t categories,
				       enum category c)
{
	if ((unsigned)purpose >= PURPOSE__COUNT || (unsigned)c >= CATEGORY__COUNT)
		return ACCESS_PURPOSE_NOT_PERMITTED;
	if (!(categories & CATEGORY_BIT(c)))
		return ACCESS_GRANTED; /* withheld: the caller's other answer */
	/* U7, U8, U5, U9 only look, whatever a file says (purposes.h). */
	if (purpose_read_only(purpose) || !(m->writes_of[purpose] & CATEGORY_BIT(c)))
		return ACCESS_PURPOSE_READ_ONLY;
	return ACCESS_GRANTED;
}

const char *access_missing_consent(enum purpose purpose,
				   const struct subject_state *state)
{
	const uint32_t needs_policy = PURPOSE_BIT(PURPOSE_LOAN_APPLICATION_REVIEW) |
				      PURPOSE_BIT(PURPOSE_LOAN_SERVICING) |
				      PURPOSE_BIT(PURPOSE_CUSTOMER_COMMUNICATION) |
				      PURPOSE_BIT(PURPOSE_MARKETING) |
				      PURPOSE_BIT(PURPOSE_MARKETING_CAMPAIGN_DESIGN);
	const uint32_t marketing = (1u << CONSENT_MARKETING_SMS) |
				   (1u << CONSENT_MARKETING_EMAIL) |
				   (1u << CONSENT_MARKETING_PHONE);
	if ((needs_policy & PURPOSE_BIT(purpose)) &&
	    !(state->consents & (1u << CONSENT_POLICY)) &&
	    !(state->obligation_purposes & PURPOSE_BIT(purpose)))
		return "policy";
	if (purpose == PURPOSE_MARKETING && !(state->consents & marketing))
		return "marketing";
	return NULL;
}

const char *access_result_code(enum access_result r)
{
	switch (r) {
	case ACCESS_GRANTED:
		return "granted";
	case ACCESS_PURPOSE_NOT_PERMITTED:
		return "purpose_not_permitted";
	case ACCESS_SUBJECT_BLOCKED:
		return "subject_blocked";
	case ACCESS_PURPOSE_RESTRICTED:
		return "purpose_restricted";
	case ACCESS_CONSENT_REQUIRED:
		return "consent_required";
	case ACCESS_PURPOSE_READ_ONLY:
		return "purpose_read_only";
	case ACCESS_CATEGORY_WITHHELD:
		return "category_withheld";
	case ACCESS_NOT_FOR_RECIPIENT:
		return "purpose_not_allowed_for_recipient";
	case ACCESS_FIELD_NOT_ALLOWED:
		return "field_not_allowed";
	case ACCESS_CROSS_BORDER_COUNTRY:
		return "cross_border_country";
	case ACCESS_LIMITED_BY_LAW:
		return "access_limited_by_law";
	}
	return "purpose_not_permitted";
}

void access_refusal_set(struct access_refusal *r, enum access_result why,
			enum purpose purpose, const struct subject_state *state)
{
	r->why = why;
	r->missing_consent = NULL;
	r->field = NULL;
	if (why == ACCESS_CONSENT_REQUIRED) {
		r->missing_consent =
			state ? access_missing_consent(purpose, state) : NULL;
		/* C4: every consent-grounded purpose needs the policy first. */
		if (!r->missing_consent)
			r->missing_consent = "policy";
	}
}
