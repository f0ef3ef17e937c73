/*
 * decide.h — may this transfer to a recipient happen (T1-T5)?  Pure code:
 * the caller reads the subject's state (blocks, restrictions, active
 * consents) and records the answer; nothing here touches the store.
 *
 * The questions, in this order, the first "no" deciding:
 *   1. The recipient and its service exist in the recipients file, else
 *      SENIM_ERR_NOT_FOUND: there is no recipient to name in the register,
 *      so the caller answers 422 recipient_unknown and records nothing.
 *   2. access_decide(): the role may act for the purpose, the subject is
 *      not blocked or restricted against it, the policy consent it needs
 *      is there.  legal_obligation passes a block and a restriction (U10):
 *      reporting to the state credit bureau goes on for a blocked subject.
 *   3. The service serves the purpose (else ACCESS_NOT_FOR_RECIPIENT).
 *   4. consent:K — K is active (else ACCESS_CONSENT_REQUIRED naming K).
 *   5. Every field asked for is one the service sends and of a category the
 *      purpose may see (else ACCESS_FIELD_NOT_ALLOWED naming the field).
 *   6. A recipient abroad: its country is allowed (else
 *      ACCESS_CROSS_BORDER_COUNTRY) and the cross_border consent is active
 *      (else ACCESS_CONSENT_REQUIRED naming cross_border), whatever the
 *      service's basis (Law 94-V Art. 16; the strictest reading).
 *   7. A processor: the purpose is among its agreement's (else
 *      ACCESS_NOT_FOR_RECIPIENT) — the file was checked for this at load;
 *      asked again here so that no transfer rests on the load alone.
 * From question 2 on a "no" is SENIM_OK with d->refused set: the caller
 * records it on the register as refused, and nothing leaves.
 */
#ifndef SENIM_EXCHANGE_DECIDE_H
#define SENIM_EXCHANGE_DECIDE_H

#include <stddef.h>
#include <stdint.h>

#include "common/result.h"
#include "core/access.h"
#include "core/recipients.h"

/* What is asked. */
struct exchange_question {
	const char *recipient; /* code: "pkb" */
	const char *service;   /* code: "credit_report" */
	enum role role;	       /* who acts: the staff member's role */
	int by_system;	       /* 1: the lender's own batch (`senim bureau
				* report`), on no staff member's behalf: no
				* role is asked, only the subject's state */
	enum purpose purpose;
	const struct subject_state *state;
	/* The fields to send, as "category.field"; NULL asks for exactly the
	 * service's `sends`. */
	const char *const *fields;
	size_t nfields;
};

/* The answer. */
struct exchange_decision {
	const struct recipient *recipient; /* found, whatever the answer */
	const struct recipient_service *service;
	struct access_refusal refused; /* why == ACCESS_GRANTED: it may go */
	uint32_t categories;	       /* what the purpose may see, when granted */
	int cross_border;	       /* the recipient is outside Kazakhstan */
	int consent;		       /* enum consent_kind grounding it, or -1 */
};

/*
 * Decide q against the recipients file r and the access matrix m.
 * SENIM_ERR_NOT_FOUND when the recipient or service is unknown (d holds
 * nothing); otherwise SENIM_OK, with d->refused.why ACCESS_GRANTED or the
 * refusal.  Strings in d point into r, or are static.
 */
SENIM_MUST_CHECK enum senim_result exchange_decide(const struct recipients *r,
						   const struct access_matrix *m,
						   const struct exchange_question *q,
						   struct exchange_decision *d);

#endif
