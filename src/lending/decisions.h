/*
 * decisions.h — the decision on a submitted application (U1, D8): its
 * verification through the exchange, the scorecard, the stored decision.
 *
 * A borrower submits an open application that lacks nothing (C4).  The
 * lender then asks, all at once, every recipient service the decision
 * needs that serves loan_application_review — a credit report from each
 * bureau, a phone check at each operator, the state databases' checks —
 * as the system on the borrower's behalf (exchange/transfer.h, by_system:
 * no staff role, the borrower's own state and consents decide each one).
 * Each query is decided, recorded and put on the disclosure register as
 * any other; a state database that disagrees leaves its finding (D8).  A
 * refused or failed query is an input marked missing, never a failure of
 * the submission: the scorecard's `missing` rule decides what that costs.
 *
 * Then, in one write: the scorecard (core/scorecard.h) evaluates the
 * inputs — the income the application declared (opened with the subject's
 * data key), and as the monthly debt payments the bureau's plus the new
 * loan's own instalment (decisions_offer_instalment): first the loan as
 * asked; when the offer the card's limit makes has a larger instalment,
 * again with that one (at most DECISION_PASSES_MAX evaluations, else an
 * underwriter decides); the decision is stored (decisions, M0011) with the card's id,
 * version and digest, the points, the reason codes and the inputs sealed
 * with the subject's data key bound to the decision's id; the application
 * moves to approved, declined or referred; `application.decide` is
 * audited.  Nothing of the inputs is logged, audited or answered.
 *
 * Invariants:
 *   - a decision is appended, never changed;
 *   - the application moves only from `open` (the write checks it again:
 *     a second submission that raced the first finds it decided);
 *   - a decline's reason on the application is the first reason code;
 *   - with the rule self_exclusion in force (check = yes), an application
 *     whose credit report shows a voluntary refusal of loans is declined
 *     (DECISION_SELF_EXCLUDED), and one with no credit report at all is
 *     never approved (DECISION_SELF_UNCHECKED when the card did not
 *     decline it already);
 *   - the submission's write records the `applied` loan event for GKB
 *     (exchange/loan_events.h), whatever the decision.
 */
#ifndef SENIM_DECISIONS_H
#define SENIM_DECISIONS_H

#include <stdatomic.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/ids.h"
#include "common/result.h"
#include "core/loan_rules.h"
#include "core/schedule.h"
#include "core/scorecard.h"
#include "exchange/transfer.h"
#include "lending/applications.h"
#include "store/store.h"

#define DECISION_ID_LEN SUBJECT_ID_LEN /* "dcs_" + body + NUL */
#define DECISION_QUERIES_MAX 16	       /* recipient services asked at once */
/* Evaluations of the card while the offer's instalment outgrows the one
 * the debt burden counted; past them the case is referred. */
#define DECISION_PASSES_MAX 3
/* An underwriter's lock on a case not renewed (taken again) for this long
 * has lapsed: the case is free for another underwriter, so one away from
 * work does not hold it for ever. */
#define DECISION_LOCK_HOURS 8
/* The reasons of a decline under the rule self_exclusion (Law 56-V art.
 * 3(3-3)): the credit report shows the borrower's voluntary refusal of
 * loans; no credit report came back, so it could not be checked. */
#define DECISION_SELF_EXCLUDED "self_exclusion"
#define DECISION_SELF_UNCHECKED "self_exclusion_unchecked"

/* A stored decision, as the borrower and staff see it. */
struct decision {
	char id[DECISION_ID_LEN];
	char kind[12];	   /* "automatic", "underwriter" */
	char outcome[8];   /* "approve", "decline", "refer" */
	char status[20];   /* "final", "pending_approval" */
	char reasons[256]; /* codes, comma-separated */
	int64_t points;
	int64_t amount_limit_tiyn, term_limit_days;
	int64_t created_at;
};

/*
 * The offer of an approved application: the amount and term within the
 * application, the product and the scorecard's limit; the product's rate
 * and fee at payout (fixed plus a share of the amount, half-up); the
 * ГЭСВ (core/gesv.h) of the real flows — the amount less the fee paid out
 * on `start`, each payment in on its due day — for each schedule the
 * borrower may choose: annuity and differentiated for a monthly term
 * (payments = term / 30 days, at least 1), single for a single payment.
 * The method is chosen later; the schedules are rebuilt from these
 * numbers (decisions_offer_schedule), never stored.
 */
struct decision_offer {
	int64_t amount_tiyn, term_days, payments, rate_bp, fee_tiyn;
	int32_t start; /* day number of the payout, as offered */
	int single;    /* 1: one payment after term_days */
	int64_t gesv_annuity_bp, gesv_differentiated_bp, gesv_single_bp; /* -1: n/a */
};
/* Why no offer could be made (the application is declined or referred). */
enum decision_offer_refusal {
	DECISION_OFFER_MADE,
	DECISION_OFFER_BELOW_PRODUCT, /* the limit is under the product's minimum */
	DECISION_OFFER_LOAN_RULE,     /* `rule` names the rule it would break */
	DECISION_OFFER_INVALID,	      /* terms no schedule or ГЭСВ can take */
};
/*
 * Compute the offer (pure).  Checks it with loan_rules_check_offer against
 * `rules` with the largest ГЭСВ of its schedules: an offer outside a rule is
 * never made.  Returns the refusal (DECISION_OFFER_MADE: *o is the offer).
 */
enum decision_offer_refusal
decisions_offer_compute(const struct product *p, const struct application *a,
			int64_t limit_amount_tiyn, int64_t limit_term_days, int32_t start,
			const struct loan_rules_in_force *rules, struct decision_offer *o,
			struct loan_rule_refusal *rule);
/*
 * The offer's terms as the application asks them, before the card's limit
 * is known (pure): its amount and term within the product's maxima, the
 * product's rate, the payments and the method; no fee, no ГЭСВ, no loan
 * rule checked.  The debt burden's first evaluation counts this loan.
 */
void decisions_offer_asked(const struct product *p, const struct application *a,
			   int32_t start, struct decision_offer *o);
/*
 * The new loan's monthly payment, which the debt burden counts beside the
 * bureau's (docs/scoring.md; pure): for a monthly offer the largest
 * scheduled instalment of its annuity and differentiated schedules (the
 * borrower may choose either); for a single payment what is repaid,
 * principal and interest, over the months the term spans (ceil(term / 30
 * days), at least one), rounded up.  -1 when no schedule can be built.
 */
int64_t decisions_offer_instalment(const struct decision_offer *o);
/* The schedule of the offer by `method` into rows (cap of them). */
SENIM_MUST_CHECK enum senim_result
decisions_offer_schedule(const struct decision_offer *o, enum schedule_method method,
			 struct schedule_row *rows, size_t cap, size_t *n);

/*
 * The borrower's read of the offer of application `id` (R1, audited as
 * `application.offer_read`): SENIM_ERR_NOT_FOUND when the subject has no
 * such application; `none` when it has no offer.
 */
struct decision_offer_read {
	/* in */
	const struct keyring *kr;
	const char *actor, *request_id, *subject_id, *id;
	/* out */
	int none;
	struct decision_offer offer;
};
SENIM_MUST_CHECK enum senim_result decisions_offer_read_tx(struct store_tx *tx, void *op);

/*
 * Inside a transaction: the newest decision on application `id` into *d;
 * *found 0 when there is none.  Reads no personal data.
 */
SENIM_MUST_CHECK enum senim_result decisions_latest_in(struct store_tx *tx,
						       const char *application_id,
						       struct decision *d, int *found);

/*
 * Submitting.  The caller zeroes the op (from the request's arena with
 * decision_submit_dispose), fills "in", runs decisions_submit_check in a
 * read (store_read): SENIM_ERR_NOT_FOUND when the subject has no such
 * application, else SENIM_OK with `not_open` or `missing` saying whether
 * it may go.  Then
 *     http_async_then(req, decisions_submit_start, op, answer);
 * and `answer` reads `app` and `decision` (or `not_open`, set again when
 * another submission decided it meanwhile).
 */
struct decision_submit {
	/* in (borrowed; outlive the op) */
	const struct exchange_env *ex;
	const struct scorecard *card;
	const struct loan_rules_in_force *rules; /* in force today */
	const char *actor, *request_id, *subject_id, *id;
	/* out */
	int not_open;			    /* its state is not "open" */
	struct application_missing missing; /* C4: it lacks these (check) */
	struct application app;		    /* as it stands */
	struct decision decision;
	int offered;		       /* approved with an offer */
	struct decision_offer offer;   /* with offered */
	struct loan_rule_refusal rule; /* a decline by a loan rule */
	/* private */
	store_done_fn done;
	void *done_arg;
	atomic_int outstanding;
	struct transfer_query queries[DECISION_QUERIES_MAX];
	int started[DECISION_QUERIES_MAX];
	size_t nqueries;
	struct buf sealed;
};
SENIM_MUST_CHECK enum senim_result decisions_submit_check(struct store_tx *tx, void *op);
SENIM_MUST_CHECK enum senim_result decisions_submit_start(void *op, store_done_fn done,
							  void *arg);
void decision_submit_dispose(void *op);

/*
 * The inputs of a decision from the kept answers (pure; for tests): a
 * credit report's kept fields (report.loans, report.enquiries,
 * report.total_debt_tiyn), NULL when no bureau answered; a phone check's
 * (phone.score), NULL when none.  Sets the bureau and operator fields of
 * *in and their SCORE_IN_* bits; the rest of *in is the caller's.  The
 * bureau's monthly payments (debt_payments_tiyn) are the open loans'
 * monthly_payment_tiyn where the bureau gave one, plus the sum of the
 * others' outstanding_tiyn over 12 rounded up, capped at SCORE_MONEY_MAX.
 */
void decisions_inputs_from(const json_t *report, const json_t *phone,
			   struct score_inputs *in);

/*
 * Staff under U1 (an underwriter): a referred case.  `lock` takes it (or
 * keeps one's own lock): one underwriter works a case; `decide` approves
 * it (the offer as an automatic approval's, within the application and
 * the card's limit when the card gave one; outside a loan rule it is
 * declined naming the rule; when no offer fits the product,
 * `offer_impossible` and nothing changes) or declines it with a reason
 * code (a scorecard reason).  Each decides access (role, purpose, the
 * subject's block, restriction and consents) and records it
 * (`application.lock`, `application.decide`; "denied" when refused).
 * Maker-checker: `decide` approving an application the scorecard declined
 * is an override: stored as `pending_approval` (`pending`), the
 * application stays declined; `confirm` (audited `application.confirm`)
 * by a different underwriter makes it — the final decision names both:
 * decided_by the maker, confirmed_by the checker — with its offer, or
 * nothing (`offer_impossible`) when no offer fits the product or keeps
 * the loan rules.  An approval — an underwriter's on a referred case, a
 * confirmed override — keeps the card's debt-burden limit (КДН): the
 * bureau's monthly payments the automatic decision counted (its sealed
 * inputs) plus the offer's largest instalment (decisions_offer_instalment)
 * over the declared income (score_debt_burden_bp) above the card's
 * max_debt_burden_bp is `burden` DECISION_BURDEN_OVER_LIMIT, and nothing
 * changes; when the bureau did not answer or no income was declared the
 * burden cannot be known: DECISION_BURDEN_UNKNOWN, nothing changes —
 * unless the card would take an unknown burden itself (its `missing` line
 * for debt_burden_bp gives points) or sets no limit (max_debt_burden_bp at
 * SCORE_DEBT_BURDEN_CAP_BP).  The card is `card`, the one in force.
 * A decline under the rule self_exclusion (its reason
 * DECISION_SELF_EXCLUDED or DECISION_SELF_UNCHECKED) is not overridden:
 * `decide` approving it is `offer_impossible`, nothing changes.
 * Smaller terms (U1): approving a referred case, or making an override,
 * the underwriter may choose a smaller amount or a shorter term
 * (chosen_amount_tiyn, chosen_term_days): each at most what the
 * application asked (the product's maximum bounded it) and the card's
 * limit, at least the product's minimum, else `bound_field` names it and
 * nothing changes.  The offer
 * is then made for them — the loan rules and the КДН are checked on it —
 * and the decision's amount_limit_tiyn / term_limit_days keep them: the
 * pending override's, so its checker confirms the same offer (a
 * confirmation takes none), and the final decision's.  Chosen terms that
 * break a loan rule are `rule_refused` on a referred case (nothing
 * changes: the underwriter chose them, the application did not), and
 * `offer_impossible` on a confirmation.
 * SENIM_ERR_NOT_FOUND: no such application.  Nothing changes when
 * `not_referred` (its state is not "referred") or `locked_by_other` (a
 * different underwriter holds a live lock).  A decision releases the lock;
 * `unlock` releases one's own (or a lapsed one; none: nothing to do,
 * `application.unlock`); `lock` taken again renews it; a lock older than
 * DECISION_LOCK_HOURS has lapsed and another underwriter may lock or
 * decide the case.
 */
/* Why an underwriter's approval was refused by the card's debt-burden limit. */
enum decision_burden {
	DECISION_BURDEN_KEPT,	    /* within the limit, or no limit to keep */
	DECISION_BURDEN_OVER_LIMIT, /* the offer's burden is above it */
	DECISION_BURDEN_UNKNOWN,    /* no bureau answer or no income: unknown */
};
enum decision_staff_act {
	DECISION_STAFF_LOCK,
	DECISION_STAFF_UNLOCK,
	DECISION_STAFF_DECIDE,
	DECISION_STAFF_CONFIRM
};
struct decision_staff {
	/* in */
	const struct keyring *kr;
	const struct access_matrix *matrix;
	const struct loan_rules_in_force *rules; /* decide, confirm */
	const struct scorecard *card;		 /* approve, confirm: in force */
	enum role role;
	const char *actor, *request_id, *id;
	enum decision_staff_act act;
	int approve;		  /* decide: 1 approve, 0 decline */
	enum score_reason reason; /* decline: why (not NONE) */
	/* decide approving: the amount and term the underwriter chose, 0 for
	 * none (the card's limit and the product decide, as before); each at
	 * most what the application asked (within the product's maximum) and
	 * the card's limit, at least the product's minimum, else `bound_field`
	 * says which broke `bound_rule` and nothing changes */
	int64_t chosen_amount_tiyn, chosen_term_days;
	/* out */
	struct access_refusal refused;
	int not_referred, locked_by_other, offer_impossible;
	int pending;	     /* decide on an automatic decline: awaits a checker */
	int nothing_pending; /* confirm: no override awaits */
	int same_person;     /* confirm: the maker may not check */
	enum decision_burden burden; /* approve, confirm: not KEPT, nothing changed */
	int64_t burden_limit_bp;     /* the card's max_debt_burden_bp, with burden */
	/* chosen terms outside their bounds, nothing changed: the field
	 * ("amount_tiyn", "term_days"), the rule it broke
	 * (within_application, within_scorecard_limit, product_min) and the
	 * bound */
	const char *bound_field, *bound_rule;
	int64_t bound_limit;
	/* the chosen terms break a loan rule (`rule`): nothing changed */
	int rule_refused;
	struct application app;
	struct decision decision;
	int offered;
	struct decision_offer offer;
	struct loan_rule_refusal rule;
};
SENIM_MUST_CHECK enum senim_result decisions_staff_tx(struct store_tx *tx, void *op);

#endif
