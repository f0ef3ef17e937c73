/*
 * access.h — the decision at the heart of every read or write of a
 * borrower's data (S3, U1-U10, R3, R4): may this role, for this purpose,
 * touch which categories of this subject?  Pure code.
 *
 * In order:
 *   1. the role must be allowed the purpose (role x purpose matrix), else
 *      ACCESS_PURPOSE_NOT_PERMITTED;
 *   2. a blocked subject (R3) may be processed only for legal_obligation,
 *      else ACCESS_SUBJECT_BLOCKED;
 *   3. a restricted subject (R4) only for the purposes it still allows
 *      (legal_obligation always), else ACCESS_PURPOSE_RESTRICTED;
 *   4. the categories are those the purpose may see (purpose x category).
 */
#ifndef SENIM_ACCESS_H
#define SENIM_ACCESS_H

#include <stdint.h>

#include "core/purposes.h"
#include "core/roles.h"

enum access_result {
	ACCESS_GRANTED,
	ACCESS_PURPOSE_NOT_PERMITTED,
	ACCESS_SUBJECT_BLOCKED,
	ACCESS_PURPOSE_RESTRICTED,
};

struct subject_state {
	int blocked;
	int restricted;		   /* 1 when allowed_purposes applies */
	uint32_t allowed_purposes; /* PURPOSE_BIT mask, when restricted */
};

/* Decide; on ACCESS_GRANTED *categories gets the CATEGORY_BIT mask the
 * purpose may see.  A NULL state means "no subject yet" (registration). */
enum access_result access_decide(const struct access_matrix *m, enum role role,
				 enum purpose purpose, const struct subject_state *state,
				 uint32_t *categories);

/* "purpose_not_permitted", "subject_blocked", "purpose_restricted". */
const char *access_result_code(enum access_result r);

#endif
