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
	*categories = m->categories_of[purpose];
	return ACCESS_GRANTED;
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
	}
	return "purpose_not_permitted";
}
