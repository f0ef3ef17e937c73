/*
 * routes.c — every route, who may call it, and its handler.
 *
 * This table is the access-control list of the API (S3): a route is either
 * public or names the staff roles allowed; the gate (api/gate.h) refuses
 * anyone else before the handler runs.  docs/openapi.yaml documents the same
 * routes and roles, and tests/api/test_routes.py walks every route x role.
 */
#include "api/app.h"

#include "api/api.h"
#include "http/router.h"
#include "common/banned.h"

/* Every staff role; the payment provider's service account is not staff
 * and reaches only its own route. */
#define STAFF_ANY (ROLE_ALL & ~ROLE_BIT(ROLE_PAYMENT_PROVIDER))
#define JSON ROUTE_JSON_BODY
#define BORROWER ROUTE_BORROWER
#define DATA_ROLES                                             \
	(ROLE_BIT(ROLE_UNDERWRITER) | ROLE_BIT(ROLE_SUPPORT) | \
	 ROLE_BIT(ROLE_MARKETING) | ROLE_BIT(ROLE_DPO) | ROLE_BIT(ROLE_INVESTIGATOR))
/* The two roles that hold identification (U4): either proposes a phone
 * change, only the other approves it. */
#define PHONE_ROLES (ROLE_BIT(ROLE_UNDERWRITER) | ROLE_BIT(ROLE_SUPPORT))

static const struct route table[] = {
	{ "GET", "/healthz", api_healthz, 0, ROUTE_PUBLIC, "healthz" },
	{ "GET", "/readyz", api_readyz, 0, ROUTE_PUBLIC, "readyz" },
	{ "GET", "/metrics", api_metrics, ROLE_BIT(ROLE_ADMIN) | ROLE_BIT(ROLE_AUDITOR),
	  0, "metrics" },
#ifdef SENIM_BENCH
	{ "GET", "/bench/hello", api_bench_hello, 0, ROUTE_PUBLIC, "bench_hello" },
#endif

	{ "POST", "/v1/staff/enrollment", api_staff_enroll, 0, ROUTE_PUBLIC | JSON,
	  "staff_enroll" },
	{ "POST", "/v1/staff/sessions", api_staff_sign_in, 0, ROUTE_PUBLIC | JSON,
	  "staff_sign_in" },
	{ "DELETE", "/v1/staff/sessions", api_staff_sign_out, STAFF_ANY, 0,
	  "staff_sign_out" },
	{ "GET", "/v1/staff/me", api_staff_me, STAFF_ANY, 0, "staff_me" },

	{ "GET", "/v1/policies", api_policy_list, 0, ROUTE_PUBLIC, "policy_list" },
	{ "POST", "/v1/policies", api_policy_publish, ROLE_BIT(ROLE_ADMIN), JSON,
	  "policy_publish" },
	{ "GET", "/v1/policies/current", api_policy_current, 0, ROUTE_PUBLIC,
	  "policy_current" },
	{ "GET", "/v1/policies/{version}", api_policy_get, 0, ROUTE_PUBLIC,
	  "policy_get" },

	/* Borrowers' data: the route admits the roles that hold any data
	 * purpose; the purpose matrix decides the rest (core/access.h). */
	{ "POST", "/v1/subjects", api_subject_register, DATA_ROLES, JSON,
	  "subject_register" },
	{ "POST", "/v1/subjects/search", api_subject_search, DATA_ROLES, JSON,
	  "subject_search" },
	{ "GET", "/v1/subjects/{id}/data", api_subject_data, DATA_ROLES, 0,
	  "subject_data" },
	{ "GET", "/v1/subjects/{id}/data/{category}", api_subject_category, DATA_ROLES, 0,
	  "subject_category" },
	{ "PUT", "/v1/subjects/{id}/data/{category}", api_subject_put, DATA_ROLES, JSON,
	  "subject_put" },
	{ "GET", "/v1/subjects/{id}/data/{category}/history", api_subject_history,
	  DATA_ROLES, 0, "subject_history" },
	{ "POST", "/v1/subjects/{id}/block", api_subject_block, ROLE_BIT(ROLE_DPO), JSON,
	  "subject_block" },
	{ "POST", "/v1/subjects/{id}/unblock", api_subject_unblock, ROLE_BIT(ROLE_DPO), 0,
	  "subject_unblock" },
	{ "POST", "/v1/subjects/{id}/restrictions", api_subject_restrict,
	  ROLE_BIT(ROLE_DPO), JSON, "subject_restrict" },
	{ "DELETE", "/v1/subjects/{id}/restrictions", api_subject_unrestrict,
	  ROLE_BIT(ROLE_DPO), 0, "subject_unrestrict" },
	{ "GET", "/v1/subjects/{id}/protection", api_subject_protection,
	  ROLE_BIT(ROLE_DPO), 0, "subject_protection" },
	/* R1, R5: the access package and the lawful limit on it (api/package.c). */
	{ "POST", "/v1/subjects/{id}/package", api_subject_package, ROLE_BIT(ROLE_DPO), 0,
	  "subject_package" },
	{ "GET", "/v1/subjects/{id}/package", api_subject_package_html,
	  ROLE_BIT(ROLE_DPO), 0, "subject_package_html" },
	{ "POST", "/v1/subjects/{id}/access-limit", api_subject_limit_set,
	  ROLE_BIT(ROLE_DPO), JSON, "subject_limit_set" },
	{ "DELETE", "/v1/subjects/{id}/access-limit", api_subject_limit_lift,
	  ROLE_BIT(ROLE_DPO), 0, "subject_limit_lift" },
	/* Legal holds stop the retention clock (C3, O1). */
	{ "POST", "/v1/subjects/{id}/hold", api_subject_hold_set, ROLE_BIT(ROLE_DPO),
	  JSON, "subject_hold_set" },
	{ "DELETE", "/v1/subjects/{id}/hold", api_subject_hold_lift, ROLE_BIT(ROLE_DPO),
	  0, "subject_hold_lift" },
	/* Checks with recipients (T1-T3): underwriting and servicing. */
	{ "POST", "/v1/subjects/{id}/checks/credit-report", api_subject_check_report,
	  PHONE_ROLES, JSON, "subject_check_report" },
	{ "POST", "/v1/subjects/{id}/checks/phone", api_subject_check_phone, PHONE_ROLES,
	  JSON, "subject_check_phone" },
	{ "POST", "/v1/subjects/{id}/checks/family-ties", api_subject_check_family,
	  PHONE_ROLES, JSON, "subject_check_family" },
	{ "POST", "/v1/subjects/{id}/checks/address", api_subject_check_address,
	  PHONE_ROLES, JSON, "subject_check_address" },
	{ "POST", "/v1/subjects/{id}/checks/legal-capacity", api_subject_check_capacity,
	  PHONE_ROLES, JSON, "subject_check_capacity" },
	/* A processor's job (T5): underwriting only. */
	{ "POST", "/v1/subjects/{id}/checks/scoring", api_subject_check_scoring,
	  ROLE_BIT(ROLE_UNDERWRITER), JSON, "subject_check_scoring" },
	/* Findings (D8): where a state database disagrees with the borrower. */
	{ "GET", "/v1/subjects/{id}/findings", api_subject_findings, PHONE_ROLES, 0,
	  "subject_findings" },
	{ "POST", "/v1/subjects/{id}/findings/{finding_id}/resolve",
	  api_subject_finding_resolve, PHONE_ROLES, JSON, "subject_finding_resolve" },

	/* The sign-in phone (U4): proposed by one identification role, approved
	 * by a member of the other (borrower/phone.h). */
	{ "POST", "/v1/subjects/{id}/phone-changes", api_phone_change_propose,
	  PHONE_ROLES, JSON, "phone_change_propose" },
	{ "POST", "/v1/subjects/{id}/phone-changes/{change_id}/approve",
	  api_phone_change_approve, PHONE_ROLES, 0, "phone_change_approve" },

	{ "GET", "/v1/subjects/{id}/consents", api_subject_consents,
	  ROLE_BIT(ROLE_DPO) | ROLE_BIT(ROLE_SUPPORT), 0, "subject_consents" },

	/* Borrowers themselves: a borrower token reaches only its own subject. */
	{ "POST", "/v1/auth/otp", api_auth_otp, 0, ROUTE_PUBLIC | JSON, "auth_otp" },
	{ "POST", "/v1/auth/verify", api_auth_verify, 0, ROUTE_PUBLIC | JSON,
	  "auth_verify" },
	{ "DELETE", "/v1/auth/session", api_auth_sign_out, 0,
	  BORROWER | ROUTE_POLICY_FREE, "auth_sign_out" },
	{ "GET", "/v1/me", api_me, 0, BORROWER, "me" },
	{ "POST", "/v1/me/consents/policy", api_me_accept_policy, 0,
	  BORROWER | ROUTE_POLICY_FREE | JSON, "me_accept_policy" },
	{ "GET", "/v1/me/consents", api_me_consents, 0, BORROWER | ROUTE_POLICY_FREE,
	  "me_consents" },
	{ "POST", "/v1/me/consents", api_me_grant, 0, BORROWER | JSON, "me_grant" },
	{ "DELETE", "/v1/me/consents/{id}", api_me_withdraw, 0,
	  BORROWER | ROUTE_POLICY_FREE, "me_withdraw" },
	{ "POST", "/v1/me/phone", api_me_phone, 0, BORROWER | JSON, "me_phone" },
	{ "POST", "/v1/me/phone/confirm", api_me_phone_confirm, 0, BORROWER | JSON,
	  "me_phone_confirm" },

	{ "GET", "/v1/audit/verify", api_audit_verify,
	  ROLE_BIT(ROLE_AUDITOR) | ROLE_BIT(ROLE_DPO), 0, "audit_verify" },

	/* The disclosure register (T4, T6): the borrower's own, before the
	 * policy is accepted too (R1); all of it for the DPO and the auditor. */
	{ "GET", "/v1/me/disclosures", api_me_disclosures, 0,
	  BORROWER | ROUTE_POLICY_FREE, "me_disclosures" },
	{ "GET", "/v1/disclosures", api_disclosures,
	  ROLE_BIT(ROLE_DPO) | ROLE_BIT(ROLE_AUDITOR), 0, "disclosures" },

	/* Rights requests (R1-R4, F1): a borrower files and follows their own,
	 * before accepting the policy too (a question may be about it);
	 * support files on a borrower's behalf; the DPO runs the queue. */
	{ "POST", "/v1/me/requests", api_me_request_file, 0,
	  BORROWER | ROUTE_POLICY_FREE | JSON, "me_request_file" },
	{ "GET", "/v1/me/requests", api_me_requests, 0, BORROWER | ROUTE_POLICY_FREE,
	  "me_requests" },
	{ "GET", "/v1/me/requests/{id}", api_me_request, 0, BORROWER | ROUTE_POLICY_FREE,
	  "me_request" },
	{ "GET", "/v1/me/requests/{id}/package", api_me_request_package, 0,
	  BORROWER | ROUTE_POLICY_FREE, "me_request_package" },
	{ "POST", "/v1/subjects/{id}/requests", api_subject_request_file,
	  ROLE_BIT(ROLE_SUPPORT) | ROLE_BIT(ROLE_DPO), JSON, "subject_request_file" },
	{ "GET", "/v1/requests", api_requests, ROLE_BIT(ROLE_DPO), 0, "requests" },
	{ "GET", "/v1/requests/{id}", api_request_get, ROLE_BIT(ROLE_DPO), 0,
	  "request_get" },
	{ "POST", "/v1/requests/{id}/assignment", api_request_assign, ROLE_BIT(ROLE_DPO),
	  JSON, "request_assign" },
	{ "POST", "/v1/requests/{id}/answer", api_request_answer, ROLE_BIT(ROLE_DPO),
	  JSON, "request_answer" },

	/* Lending (issue 12): the catalogue, run by the admin; applications,
	 * the borrower's own (C4), and the underwriters' queue under U1. */
	{ "POST", "/v1/products", api_product_create, ROLE_BIT(ROLE_ADMIN), JSON,
	  "product_create" },
	{ "GET", "/v1/products", api_product_list, ROLE_BIT(ROLE_ADMIN), 0,
	  "product_list" },
	{ "GET", "/v1/products/{code}", api_product_get, ROLE_BIT(ROLE_ADMIN), 0,
	  "product_get" },
	{ "GET", "/v1/me/products", api_me_products, 0, BORROWER, "me_products" },
	/* Payout cards, bound on the payment provider's page (lending/cards.h). */
	{ "POST", "/v1/me/cards", api_me_card_start, 0, BORROWER, "me_card_start" },
	{ "GET", "/v1/me/cards", api_me_cards, 0, BORROWER, "me_cards" },
	{ "GET", "/v1/me/cards/{id}", api_me_card, 0, BORROWER, "me_card" },
	{ "DELETE", "/v1/me/cards/{id}", api_me_card_remove, 0, BORROWER,
	  "me_card_remove" },
	{ "POST", "/v1/me/applications", api_me_apply, 0, BORROWER | JSON, "me_apply" },
	{ "GET", "/v1/me/applications", api_me_applications, 0, BORROWER,
	  "me_applications" },
	{ "GET", "/v1/me/applications/{id}", api_me_application, 0, BORROWER,
	  "me_application" },
	{ "POST", "/v1/me/applications/{id}/withdrawal", api_me_application_withdraw, 0,
	  BORROWER, "me_application_withdraw" },
	{ "POST", "/v1/me/applications/{id}/refusal", api_me_application_refuse, 0,
	  BORROWER | JSON, "me_application_refuse" },
	{ "POST", "/v1/me/applications/{id}/submission", api_me_application_submit, 0,
	  BORROWER, "me_application_submit" },
	{ "GET", "/v1/me/applications/{id}/offer", api_me_application_offer, 0, BORROWER,
	  "me_application_offer" },
	/* The contract (lending/contracts.h): accepted and signed by the
	 * borrower with a code by SMS; read by staff under U2. */
	{ "POST", "/v1/me/applications/{id}/acceptance", api_me_application_accept, 0,
	  BORROWER | JSON, "me_application_accept" },
	{ "POST", "/v1/me/applications/{id}/signature", api_me_application_sign, 0,
	  BORROWER | JSON, "me_application_sign" },
	{ "GET", "/v1/me/applications/{id}/contract", api_me_application_contract, 0,
	  BORROWER, "me_application_contract" },
	{ "GET", "/v1/me/applications/{id}/contract/receipt", api_me_application_receipt,
	  0, BORROWER, "me_application_receipt" },
	{ "GET", "/v1/applications/{id}/contract", api_application_contract, PHONE_ROLES,
	  0, "application_contract" },
	/* The payout (lending/payouts.h): the second confirmation after the
	 * cooling-off hold (Law 56-V art. 3 p.3-3 part 7), or stepping back
	 * before the money goes. */
	{ "POST", "/v1/me/applications/{id}/payout-confirmation", api_me_payout_confirm,
	  0, BORROWER, "me_payout_confirm" },
	{ "POST", "/v1/me/applications/{id}/cancellation", api_me_application_cancel, 0,
	  BORROWER, "me_application_cancel" },
	{ "GET", "/v1/payouts/failed", api_payout_failures, PHONE_ROLES, 0,
	  "payout_failures" },
	/* A failed payout retried or closed by the staff who hold
	 * loan_servicing (the purpose matrix decides per subject). */
	{ "POST", "/v1/payouts/{id}/retry", api_payout_retry, PHONE_ROLES, JSON,
	  "payout_retry" },
	{ "POST", "/v1/payouts/{id}/closure", api_payout_close, PHONE_ROLES, JSON,
	  "payout_close" },
	{ "GET", "/v1/applications", api_applications, ROLE_BIT(ROLE_UNDERWRITER), 0,
	  "applications" },
	{ "GET", "/v1/applications/{id}", api_application_get, ROLE_BIT(ROLE_UNDERWRITER),
	  0, "application_get" },
	{ "POST", "/v1/applications/{id}/lock", api_application_lock,
	  ROLE_BIT(ROLE_UNDERWRITER), 0, "application_lock" },
	{ "DELETE", "/v1/applications/{id}/lock", api_application_unlock,
	  ROLE_BIT(ROLE_UNDERWRITER), 0, "application_unlock" },
	{ "POST", "/v1/applications/{id}/decision", api_application_decide,
	  ROLE_BIT(ROLE_UNDERWRITER), JSON, "application_decide" },
	{ "POST", "/v1/applications/{id}/confirmation", api_application_confirm,
	  ROLE_BIT(ROLE_UNDERWRITER), 0, "application_confirm" },
	/* Loans after the payout (U2): repayments come from the payment
	 * provider's service account only; the borrower sees their own. */
	{ "POST", "/v1/loans/{id}/payments", api_loan_payment,
	  ROLE_BIT(ROLE_PAYMENT_PROVIDER), JSON, "loan_payment" },
	{ "GET", "/v1/me/loans", api_me_loans, 0, BORROWER, "me_loans" },
	{ "GET", "/v1/me/loans/{id}", api_me_loan, 0, BORROWER, "me_loan" },
	{ "GET", "/v1/me/loans/{id}/schedule", api_me_loan_schedule, 0, BORROWER,
	  "me_loan_schedule" },
	{ "GET", "/v1/me/loans/{id}/payments", api_me_loan_payments, 0, BORROWER,
	  "me_loan_payments" },
	/* Restructuring (U2): the borrower asks, an underwriter decides. */
	{ "POST", "/v1/me/loans/{id}/restructuring", api_me_restructuring_create, 0,
	  BORROWER | JSON, "me_restructuring_create" },
	{ "GET", "/v1/me/loans/{id}/restructuring", api_me_restructuring, 0, BORROWER,
	  "me_restructuring" },
	{ "GET", "/v1/restructurings", api_restructurings, ROLE_BIT(ROLE_UNDERWRITER), 0,
	  "restructurings" },
	{ "POST", "/v1/restructurings/{id}/decision", api_restructuring_decide,
	  ROLE_BIT(ROLE_UNDERWRITER), JSON, "restructuring_decide" },
};

const struct route *routes_table(size_t *n)
{
	*n = sizeof(table) / sizeof(table[0]);
	return table;
}
