/*
 * api.h — the handlers, one file per resource (STYLE.md, h2o's handlers).
 *
 * Each handler follows http.h's contract: answer through an http_reply_*
 * helper and return SENIM_OK, or return an error for the server to map.
 * Which roles may call a handler is declared next to the route in
 * http/routes.c, not here: a handler runs only for a caller already allowed.
 */
#ifndef SENIM_API_H
#define SENIM_API_H

#include "http/http.h"

/* health.c: liveness, readiness, metrics */
enum senim_result api_healthz(struct http_request *req, struct http_response *resp);
enum senim_result api_readyz(struct http_request *req, struct http_response *resp);
enum senim_result api_metrics(struct http_request *req, struct http_response *resp);
#ifdef SENIM_BENCH
enum senim_result api_bench_hello(struct http_request *req, struct http_response *resp);
#endif

/* staff_sessions.c: staff sign-in (S1) */
enum senim_result api_staff_enroll(struct http_request *req, struct http_response *resp);
enum senim_result api_staff_sign_in(struct http_request *req, struct http_response *resp);
enum senim_result api_staff_sign_out(struct http_request *req,
				     struct http_response *resp);
enum senim_result api_staff_me(struct http_request *req, struct http_response *resp);

/* policies.c: privacy-policy versions (P1-P3) */
enum senim_result api_policy_publish(struct http_request *req,
				     struct http_response *resp);
enum senim_result api_policy_current(struct http_request *req,
				     struct http_response *resp);
enum senim_result api_policy_get(struct http_request *req, struct http_response *resp);
enum senim_result api_policy_list(struct http_request *req, struct http_response *resp);
/* The ready-made answers of GET /v1/policies/current (app->policies). */
struct policy_cache *api_policy_cache_new(void);
void api_policy_cache_free(struct policy_cache *c);

/* subjects.c: borrowers' personal data (D1-D7, U1-U10, R2-R4) */
enum senim_result api_subject_register(struct http_request *req,
				       struct http_response *resp);
enum senim_result api_subject_search(struct http_request *req,
				     struct http_response *resp);
enum senim_result api_subject_data(struct http_request *req, struct http_response *resp);
enum senim_result api_subject_category(struct http_request *req,
				       struct http_response *resp);
enum senim_result api_subject_put(struct http_request *req, struct http_response *resp);
enum senim_result api_subject_history(struct http_request *req,
				      struct http_response *resp);
enum senim_result api_subject_block(struct http_request *req, struct http_response *resp);
enum senim_result api_subject_unblock(struct http_request *req,
				      struct http_response *resp);
enum senim_result api_subject_restrict(struct http_request *req,
				       struct http_response *resp);
enum senim_result api_subject_unrestrict(struct http_request *req,
					 struct http_response *resp);
/* holds.c: the DPO's legal holds (retention). */
enum senim_result api_subject_hold_set(struct http_request *req,
				       struct http_response *resp);
enum senim_result api_subject_hold_lift(struct http_request *req,
					struct http_response *resp);
enum senim_result api_subject_check_report(struct http_request *req,
					   struct http_response *resp);
enum senim_result api_subject_check_phone(struct http_request *req,
					  struct http_response *resp);
enum senim_result api_subject_check_family(struct http_request *req,
					   struct http_response *resp);
enum senim_result api_subject_check_address(struct http_request *req,
					    struct http_response *resp);
enum senim_result api_subject_check_scoring(struct http_request *req,
					    struct http_response *resp);
enum senim_result api_subject_check_capacity(struct http_request *req,
					     struct http_response *resp);
/* Findings: a state database against the borrower's declarations (D8). */
enum senim_result api_subject_findings(struct http_request *req,
				       struct http_response *resp);
enum senim_result api_subject_finding_resolve(struct http_request *req,
					      struct http_response *resp);
enum senim_result api_subject_protection(struct http_request *req,
					 struct http_response *resp);

/* package.c: the access package (R1) and the lawful limit on it (R5) */
enum senim_result api_subject_package(struct http_request *req,
				      struct http_response *resp);
enum senim_result api_subject_package_html(struct http_request *req,
					   struct http_response *resp);
enum senim_result api_subject_limit_set(struct http_request *req,
					struct http_response *resp);
enum senim_result api_subject_limit_lift(struct http_request *req,
					 struct http_response *resp);

/* me.c: borrowers' own access, sign-in and consents (U4, P1, C1-C4, R1) */
enum senim_result api_auth_otp(struct http_request *req, struct http_response *resp);
enum senim_result api_auth_verify(struct http_request *req, struct http_response *resp);
enum senim_result api_auth_sign_out(struct http_request *req, struct http_response *resp);
enum senim_result api_me(struct http_request *req, struct http_response *resp);
enum senim_result api_me_accept_policy(struct http_request *req,
				       struct http_response *resp);
enum senim_result api_me_consents(struct http_request *req, struct http_response *resp);
enum senim_result api_me_grant(struct http_request *req, struct http_response *resp);
enum senim_result api_me_withdraw(struct http_request *req, struct http_response *resp);
enum senim_result api_subject_consents(struct http_request *req,
				       struct http_response *resp);

/* phone.c: changing a borrower's sign-in phone (U4, S1): staff maker-checker
 * and the borrower's own change */
enum senim_result api_phone_change_propose(struct http_request *req,
					   struct http_response *resp);
enum senim_result api_phone_change_approve(struct http_request *req,
					   struct http_response *resp);
enum senim_result api_me_phone(struct http_request *req, struct http_response *resp);
enum senim_result api_me_phone_confirm(struct http_request *req,
				       struct http_response *resp);

/* audit.c: the audit chain, for auditors and the DPO (S4) */
enum senim_result api_audit_verify(struct http_request *req, struct http_response *resp);

/* disclosures.c: the disclosure register (T4, T6, S4) */
enum senim_result api_me_disclosures(struct http_request *req,
				     struct http_response *resp);
enum senim_result api_disclosures(struct http_request *req, struct http_response *resp);

/* products.c: the product catalogue (issue 12, C4) */
enum senim_result api_product_create(struct http_request *req,
				     struct http_response *resp);
enum senim_result api_product_list(struct http_request *req, struct http_response *resp);
enum senim_result api_product_get(struct http_request *req, struct http_response *resp);
enum senim_result api_me_products(struct http_request *req, struct http_response *resp);
/* Masks of categories and consent kinds as JSON arrays of their codes. */
json_t *api_categories_json(uint32_t mask);
json_t *api_consents_json(uint32_t mask);
/* applications.c: borrowers' applications (C4) and the underwriters' view (U1) */
enum senim_result api_me_apply(struct http_request *req, struct http_response *resp);
enum senim_result api_me_applications(struct http_request *req,
				      struct http_response *resp);
enum senim_result api_me_application(struct http_request *req,
				     struct http_response *resp);
enum senim_result api_me_application_withdraw(struct http_request *req,
					      struct http_response *resp);
enum senim_result api_me_application_refuse(struct http_request *req,
					    struct http_response *resp);
enum senim_result api_me_application_submit(struct http_request *req,
					    struct http_response *resp);
enum senim_result api_me_application_offer(struct http_request *req,
					   struct http_response *resp);
enum senim_result api_application_unlock(struct http_request *req,
					 struct http_response *resp);
enum senim_result api_application_lock(struct http_request *req,
				       struct http_response *resp);
enum senim_result api_application_decide(struct http_request *req,
					 struct http_response *resp);
enum senim_result api_application_confirm(struct http_request *req,
					  struct http_response *resp);
enum senim_result api_applications(struct http_request *req, struct http_response *resp);
enum senim_result api_application_get(struct http_request *req,
				      struct http_response *resp);
/* cards.c: the borrower's payout cards, bound at the payment provider */
enum senim_result api_me_card_start(struct http_request *req, struct http_response *resp);
enum senim_result api_me_cards(struct http_request *req, struct http_response *resp);
enum senim_result api_me_card(struct http_request *req, struct http_response *resp);
enum senim_result api_me_card_remove(struct http_request *req,
				     struct http_response *resp);
/* payouts.c: the confirmation after the cooling-off hold, the cancellation */
enum senim_result api_me_payout_confirm(struct http_request *req,
					struct http_response *resp);
enum senim_result api_me_application_cancel(struct http_request *req,
					    struct http_response *resp);
enum senim_result api_payout_failures(struct http_request *req,
				      struct http_response *resp);
enum senim_result api_payout_retry(struct http_request *req, struct http_response *resp);
enum senim_result api_payout_close(struct http_request *req, struct http_response *resp);
/* contracts.c: accepting an offer, signing the contract, reading it */
enum senim_result api_me_application_accept(struct http_request *req,
					    struct http_response *resp);
enum senim_result api_me_application_sign(struct http_request *req,
					  struct http_response *resp);
enum senim_result api_me_application_contract(struct http_request *req,
					      struct http_response *resp);
enum senim_result api_me_application_receipt(struct http_request *req,
					     struct http_response *resp);
enum senim_result api_application_contract(struct http_request *req,
					   struct http_response *resp);
/* loans.c: repayments from the payment provider (U2) and the borrower's
 * own loans */
enum senim_result api_loan_payment(struct http_request *req, struct http_response *resp);
enum senim_result api_me_loans(struct http_request *req, struct http_response *resp);
enum senim_result api_me_loan(struct http_request *req, struct http_response *resp);
enum senim_result api_me_loan_schedule(struct http_request *req,
				       struct http_response *resp);
enum senim_result api_me_loan_payments(struct http_request *req,
				       struct http_response *resp);
/* restructurings.c: restructuring requests (the borrower's) and their
 * decision (the underwriters'), U2 */
enum senim_result api_me_restructuring_create(struct http_request *req,
					      struct http_response *resp);
enum senim_result api_me_restructuring(struct http_request *req,
				       struct http_response *resp);
enum senim_result api_restructurings(struct http_request *req,
				     struct http_response *resp);
enum senim_result api_restructuring_decide(struct http_request *req,
					   struct http_response *resp);

/* requests.c: data-subject rights requests (R1-R4, F1; issue 13) */
enum senim_result api_me_request_file(struct http_request *req,
				      struct http_response *resp);
enum senim_result api_me_requests(struct http_request *req, struct http_response *resp);
enum senim_result api_me_request(struct http_request *req, struct http_response *resp);
enum senim_result api_me_request_package(struct http_request *req,
					 struct http_response *resp);
enum senim_result api_subject_request_file(struct http_request *req,
					   struct http_response *resp);
enum senim_result api_requests(struct http_request *req, struct http_response *resp);
enum senim_result api_request_get(struct http_request *req, struct http_response *resp);
enum senim_result api_request_assign(struct http_request *req,
				     struct http_response *resp);
enum senim_result api_request_answer(struct http_request *req,
				     struct http_response *resp);

#endif
