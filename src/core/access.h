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
 *   4. C4: purposes that rest on the borrower's consent need the accepted
 *      policy in force (loan review and servicing, communication, marketing
 *      and campaign design), and marketing needs a marketing consent for at
 *      least one channel, else ACCESS_CONSENT_REQUIRED; identification,
 *      fraud prevention, security, investigations and legal obligations rest
 *      on the law and need none;
 *   5. the categories are those the purpose may see (purpose x category).
 *
 * A write asks one more question (access_decide_write): a purpose has a
 * direction, and a category it may read is not one it may change unless
 * the matrix's purpose_writes says so, else ACCESS_PURPOSE_READ_ONLY.
 */
#ifndef SENIM_ACCESS_H
#define SENIM_ACCESS_H

#include <stdint.h>

#include "core/consents.h"
#include "core/purposes.h"
#include "core/roles.h"

enum access_result {
	ACCESS_GRANTED,
	ACCESS_PURPOSE_NOT_PERMITTED,
	ACCESS_SUBJECT_BLOCKED,
	ACCESS_PURPOSE_RESTRICTED,
	ACCESS_CONSENT_REQUIRED,
	ACCESS_PURPOSE_READ_ONLY,
	/* Never from access_decide(): the purpose may not see the one category
	 * an operation names (a category's history). */
	ACCESS_CATEGORY_WITHHELD,
	/* Never from access_decide(): an exchange's own refusals
	 * (exchange/decide.h) — the recipient does not serve the purpose (or
	 * a processor's agreement does not cover it), a field is not one the
	 * recipient may receive, the recipient's country is not allowed. */
	ACCESS_NOT_FOR_RECIPIENT,
	ACCESS_FIELD_NOT_ALLOWED,
	ACCESS_CROSS_BORDER_COUNTRY,
	/* Never from access_decide(): R5, the subject's own access limited by
	 * a law (AML/CFT, a court order, another law; rights/package.h).  One
	 * reason for every ground, so the answer never says which. */
	ACCESS_LIMITED_BY_LAW,
};

struct subject_state {
	int blocked;
	int restricted;		   /* 1 when allowed_purposes applies */
	uint32_t allowed_purposes; /* PURPOSE_BIT mask, when restricted */
	uint32_t consents;	   /* active consents, 1u << enum consent_kind; the
				    * policy only when its version is in force */
	/* C2: purposes an accepted earlier policy version still grounds while
	 * an obligation is open (CONSENT_OBLIGATION_PURPOSES or 0). */
	uint32_t obligation_purposes;
};

/*
 * A refusal as it travels from the decision to the answer — the one way it
 * does: in the operation's `refused` member, why != ACCESS_GRANTED.  The
 * operation itself succeeds (SENIM_OK): a refusal is an answer, and its
 * audit record (outcome "denied") commits with the batch that decided it.
 */
struct access_refusal {
	enum access_result why;
	const char *missing_consent; /* with ACCESS_CONSENT_REQUIRED: "policy",
				      * "marketing" (static) */
	const char *field;	     /* with ACCESS_FIELD_NOT_ALLOWED: "identity.iin"
			    * (static, or as long as the refusal); else NULL */
};

/* Fill r for a refusal `why` of `purpose` on a subject in `state` (state may
 * be NULL): with ACCESS_CONSENT_REQUIRED it names the missing consent. */
void access_refusal_set(struct access_refusal *r, enum access_result why,
			enum purpose purpose, const struct subject_state *state);

/* The consent a purpose lacks for this subject ("policy", "marketing"), or
 * NULL when none is missing. */
const char *access_missing_consent(enum purpose purpose,
				   const struct subject_state *state);

/* Decide; on ACCESS_GRANTED *categories gets the CATEGORY_BIT mask the
 * purpose may see.  A NULL state means "no subject yet" (registration). */
enum access_result access_decide(const struct access_matrix *m, enum role role,
				 enum purpose purpose, const struct subject_state *state,
				 uint32_t *categories);

/* After access_decide() granted `categories` for a write of category c:
 * ACCESS_GRANTED when the purpose may write c, ACCESS_PURPOSE_READ_ONLY when
 * it may only read it (purpose_writes), ACCESS_GRANTED too when it may not
 * even read c — that is the caller's "withheld" answer, not a direction. */
enum access_result access_decide_write(const struct access_matrix *m,
				       enum purpose purpose, uint32_t categories,
				       enum category c);

/* "purpose_not_permitted", "subject_blocked", "purpose_restricted",
 * "consent_required", "purpose_read_only", "category_withheld",
 * "purpose_not_allowed_for_recipient", "field_not_allowed",
 * "cross_border_country", "access_limited_by_law". */
const char *access_result_code(enum access_result r);

#endif
