/*
 * consents.h — the kinds of consent a borrower gives (C1-C4, T1-T4, U7), and
 * what each covers.  Pure data.
 *
 * Accepting the privacy policy is consent to the policy's own purposes
 * (C1).  Beyond it, separate consents cover each transfer to a third party
 * (credit bureaus T2, mobile operators T1, state databases T3, cross-border
 * transfer T4) and marketing by each channel (U7, F2).
 *
 * Revocation (C2): a consent marked `needed_for_obligations` cannot be
 * withdrawn while the borrower has an open obligation to the MFO; any other
 * withdrawal takes effect at once.  Marketing can always be withdrawn.
 * Nor does a new policy version act as a withdrawal: while an obligation is
 * open, the version the borrower accepted keeps grounding the purposes the
 * obligation needs (CONSENT_OBLIGATION_PURPOSES); new services wait for the
 * version in force.
 */
#ifndef SENIM_CONSENTS_H
#define SENIM_CONSENTS_H

#include <stdint.h>

#include "core/purposes.h"

enum consent_kind {
	CONSENT_POLICY,		   /* C1: the privacy policy itself */
	CONSENT_CREDIT_BUREAU_GKB, /* T2: State Credit Bureau JSC */
	CONSENT_CREDIT_BUREAU_PKB, /* T2: First Credit Bureau LLP */
	CONSENT_MOBILE_OPERATOR,   /* T1: Kcell, Kar-Tel, Mobile Telecom-Service */
	CONSENT_STATE_DATABASE,	   /* T3: state databases and their operators */
	CONSENT_CROSS_BORDER,	   /* T4: transfer abroad */
	CONSENT_MARKETING_SMS,	   /* U7 by SMS */
	CONSENT_MARKETING_EMAIL,   /* U7 by e-mail */
	CONSENT_MARKETING_PHONE,   /* U7 by phone call */
	CONSENT__COUNT
};

/* What an open obligation needs from the policy (C2): servicing the loan,
 * collection included.  Reporting it to the credit bureaus rests on the
 * bureau consents (T2), which are irrevocable while it is open and carry no
 * policy version. */
#define CONSENT_OBLIGATION_PURPOSES PURPOSE_BIT(PURPOSE_LOAN_SERVICING)

struct consent_def {
	enum consent_kind kind;
	const char *code;	       /* "credit_bureau_gkb" */
	const char *clause;	       /* "T2" */
	uint32_t purposes;	       /* PURPOSE_BIT mask it serves */
	uint32_t categories;	       /* CATEGORY_BIT mask it covers */
	const char *const *recipients; /* NULL-terminated; the MFO itself first */
	const char *jurisdiction;      /* where recipients are: "KZ" or "cross-border" */
	int needed_for_obligations;    /* C2: irrevocable while an obligation is open */
	int marketing;		       /* U7: always revocable */
};

const struct consent_def *consent_def(enum consent_kind k);
/* The kind with this code, or -1. */
int consent_kind_parse(const char *code);

#endif
