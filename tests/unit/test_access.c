/*
 * test_access.c — the access decision (S3, R3, R4, C4, U10), table-driven
 * over the default matrices: each row names a role, a purpose and a
 * subject's state, and the decision and categories expected.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include <string.h>

#include "core/access.h"
#include "core/consents.h"
#include "core/purposes.h"
#include "common/banned.h"

#define P(x) PURPOSE_##x
#define CB(x) CATEGORY_BIT(CATEGORY_##x)
#define POLICY (1u << CONSENT_POLICY)
#define MKT_SMS (1u << CONSENT_MARKETING_SMS)

static const struct subject_state plain = { .consents = POLICY };
static const struct subject_state no_policy = { .consents = 0 };
static const struct subject_state blocked = { .blocked = 1, .consents = POLICY };
static const struct subject_state restricted = { .restricted = 1,
						 .allowed_purposes = PURPOSE_BIT(
							 PURPOSE_LOAN_SERVICING),
						 .consents = POLICY };
static const struct subject_state with_marketing = { .consents = POLICY | MKT_SMS };
/* C2: an earlier version accepted, a new one published, an obligation open. */
static const struct subject_state obligation_only = {
	.obligation_purposes = CONSENT_OBLIGATION_PURPOSES
};

static const struct {
	enum role role;
	enum purpose purpose;
	const struct subject_state *state;
	enum access_result want;
	uint32_t must_see;     /* categories that must be granted */
	uint32_t must_not_see; /* categories that must be withheld */
	const char *missing;   /* access_missing_consent, when consent is lacking */
} cases[] = {
	/* S3: a role acts only under its purposes */
	{ ROLE_UNDERWRITER, P(LOAN_APPLICATION_REVIEW), &plain, ACCESS_GRANTED,
	  CB(IDENTITY) | CB(MEDICAL), CB(DEVICE) | CB(BIOMETRIC), NULL },
	{ ROLE_MARKETING, P(IDENTIFICATION), &plain, ACCESS_PURPOSE_NOT_PERMITTED, 0, 0,
	  NULL },
	{ ROLE_ADMIN, P(LEGAL_OBLIGATION), &plain, ACCESS_PURPOSE_NOT_PERMITTED, 0, 0,
	  NULL },
	{ ROLE_AUDITOR, P(INTERNAL_INVESTIGATION), &plain, ACCESS_PURPOSE_NOT_PERMITTED,
	  0, 0, NULL },
	{ ROLE_INVESTIGATOR, P(INTERNAL_INVESTIGATION), &plain, ACCESS_GRANTED,
	  CATEGORY_ALL, 0, NULL },
	/* D7: special categories never reach marketing */
	{ ROLE_MARKETING, P(MARKETING), &with_marketing, ACCESS_GRANTED, CB(CONTACT),
	  CB(MEDICAL) | CB(BIOMETRIC) | CB(IDENTITY), NULL },
	/* R3: blocked, except for legal obligations (U10) */
	{ ROLE_UNDERWRITER, P(IDENTIFICATION), &blocked, ACCESS_SUBJECT_BLOCKED, 0, 0,
	  NULL },
	{ ROLE_DPO, P(LEGAL_OBLIGATION), &blocked, ACCESS_GRANTED, CATEGORY_ALL, 0,
	  NULL },
	/* R4: restricted to the purposes still allowed */
	{ ROLE_UNDERWRITER, P(IDENTIFICATION), &restricted, ACCESS_PURPOSE_RESTRICTED, 0,
	  0, NULL },
	{ ROLE_UNDERWRITER, P(LOAN_SERVICING), &restricted, ACCESS_GRANTED, CB(IDENTITY),
	  0, NULL },
	{ ROLE_DPO, P(LEGAL_OBLIGATION), &restricted, ACCESS_GRANTED, CATEGORY_ALL, 0,
	  NULL },
	/* C4: consent-based purposes need the policy in force; marketing a
	 * marketing consent; identification and the law need neither */
	{ ROLE_UNDERWRITER, P(LOAN_APPLICATION_REVIEW), &no_policy,
	  ACCESS_CONSENT_REQUIRED, 0, 0, "policy" },
	{ ROLE_SUPPORT, P(CUSTOMER_COMMUNICATION), &no_policy, ACCESS_CONSENT_REQUIRED, 0,
	  0, "policy" },
	{ ROLE_MARKETING, P(MARKETING), &plain, ACCESS_CONSENT_REQUIRED, 0, 0,
	  "marketing" },
	{ ROLE_UNDERWRITER, P(IDENTIFICATION), &no_policy, ACCESS_GRANTED, CB(IDENTITY),
	  0, NULL },
	/* C2: an open obligation keeps servicing grounded by the version the
	 * borrower accepted; new services need the version in force */
	{ ROLE_SUPPORT, P(LOAN_SERVICING), &obligation_only, ACCESS_GRANTED, CB(IDENTITY),
	  0, NULL },
	{ ROLE_UNDERWRITER, P(LOAN_APPLICATION_REVIEW), &obligation_only,
	  ACCESS_CONSENT_REQUIRED, 0, 0, "policy" },
	{ ROLE_SUPPORT, P(CUSTOMER_COMMUNICATION), &obligation_only,
	  ACCESS_CONSENT_REQUIRED, 0, 0, "policy" },
	{ ROLE_SUPPORT, P(LOAN_SERVICING), &no_policy, ACCESS_CONSENT_REQUIRED, 0, 0,
	  "policy" },
	{ ROLE_INVESTIGATOR, P(FRAUD_PREVENTION), &no_policy, ACCESS_GRANTED, CB(DEVICE),
	  0, NULL },
	{ ROLE_DPO, P(LEGAL_OBLIGATION), &no_policy, ACCESS_GRANTED, CATEGORY_ALL, 0,
	  NULL },
	/* no subject yet (registration): the purpose's own grant */
	{ ROLE_SUPPORT, P(IDENTIFICATION), NULL, ACCESS_GRANTED,
	  CB(IDENTITY) | CB(CONTACT), 0, NULL },
};

static void test_decisions(void **state)
{
	(void)state;
	struct access_matrix m;
	access_matrix_default(&m);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t cats = 0xdeadbeef;
		enum access_result got = access_decide(
			&m, cases[i].role, cases[i].purpose, cases[i].state, &cats);
		if (got != cases[i].want)
			fail_msg("case %zu: %s, want %s", i, access_result_code(got),
				 access_result_code(cases[i].want));
		if (got != ACCESS_GRANTED) {
			assert_int_equal(cats, 0); /* a refusal grants nothing */
		} else {
			assert_int_equal(cats & cases[i].must_see, cases[i].must_see);
			assert_int_equal(cats & cases[i].must_not_see, 0);
		}
		if (cases[i].state) {
			const char *missing =
				access_missing_consent(cases[i].purpose, cases[i].state);
			if (cases[i].missing)
				assert_string_equal(missing, cases[i].missing);
			else if (got != ACCESS_PURPOSE_NOT_PERMITTED)
				assert_null(missing);
		}
	}
}

/* Out-of-range roles and purposes are refused, never indexed. */
/* Purposes have a direction: a category a purpose reads is not one it may
 * write, and the purposes that only look never write, whatever a matrix
 * says. */
static void test_write_direction(void **state)
{
	(void)state;
	struct access_matrix m;
	access_matrix_default(&m);
	static const struct {
		enum purpose purpose;
		enum category category;
		enum access_result want;
	} rows[] = {
		{ P(MARKETING), CATEGORY_CONTACT, ACCESS_PURPOSE_READ_ONLY },
		{ P(MARKETING_CAMPAIGN_DESIGN), CATEGORY_DEVICE,
		  ACCESS_PURPOSE_READ_ONLY },
		{ P(INTERNAL_INVESTIGATION), CATEGORY_MEDICAL, ACCESS_PURPOSE_READ_ONLY },
		{ P(INTERNAL_INVESTIGATION), CATEGORY_CONTACT, ACCESS_PURPOSE_READ_ONLY },
		{ P(SECURITY_COMPLIANCE), CATEGORY_IDENTITY, ACCESS_PURPOSE_READ_ONLY },
		{ P(LOAN_SERVICING), CATEGORY_IDENTITY, ACCESS_PURPOSE_READ_ONLY },
		{ P(FRAUD_PREVENTION), CATEGORY_CONTACT, ACCESS_PURPOSE_READ_ONLY },
		{ P(LOAN_SERVICING), CATEGORY_CONTACT, ACCESS_GRANTED },
		{ P(CUSTOMER_COMMUNICATION), CATEGORY_CONTACT, ACCESS_GRANTED },
		{ P(IDENTIFICATION), CATEGORY_BIOMETRIC, ACCESS_GRANTED },
		{ P(LEGAL_OBLIGATION), CATEGORY_MEDICAL, ACCESS_GRANTED },
		/* not even read: the caller's "withheld", not a direction */
		{ P(MARKETING), CATEGORY_MEDICAL, ACCESS_GRANTED },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		enum access_result got = access_decide_write(
			&m, rows[i].purpose, m.categories_of[rows[i].purpose],
			rows[i].category);
		if (got != rows[i].want)
			fail_msg("row %zu: %s writing %s: got %s", i,
				 purpose_code(rows[i].purpose),
				 category_code(rows[i].category),
				 access_result_code(got));
	}
	/* A matrix built to let marketing write is still refused. */
	m.writes_of[P(MARKETING)] = CB(CONTACT);
	assert_int_equal(
		access_decide_write(&m, P(MARKETING), CB(CONTACT), CATEGORY_CONTACT),
		ACCESS_PURPOSE_READ_ONLY);
	assert_string_equal(access_result_code(ACCESS_PURPOSE_READ_ONLY),
			    "purpose_read_only");
}

static void test_out_of_range(void **state)
{
	(void)state;
	struct access_matrix m;
	access_matrix_default(&m);
	uint32_t cats = 1;
	assert_int_equal(access_decide(&m, (enum role)ROLE__COUNT, PURPOSE_IDENTIFICATION,
				       NULL, &cats),
			 ACCESS_PURPOSE_NOT_PERMITTED);
	assert_int_equal(access_decide(&m, ROLE_UNDERWRITER, (enum purpose)PURPOSE__COUNT,
				       NULL, &cats),
			 ACCESS_PURPOSE_NOT_PERMITTED);
	assert_int_equal(cats, 0);
}

/* A purpose that the accepted policy alone lets through must be one the
 * policy's signed receipt names: the receipt is the borrower's record of
 * what they agreed to. */
static void test_policy_receipt_names_what_the_policy_grounds(void **state)
{
	(void)state;
	const struct consent_def *policy = consent_def(CONSENT_POLICY);
	struct subject_state none = { 0 },
			     accepted = { .consents = 1u << CONSENT_POLICY };
	for (int p = 0; p < PURPOSE__COUNT; p++) {
		const char *without = access_missing_consent((enum purpose)p, &none);
		const char *with = access_missing_consent((enum purpose)p, &accepted);
		if (without && strcmp(without, "policy") == 0 && !with &&
		    !(policy->purposes & PURPOSE_BIT(p)))
			fail_msg("%s rests on the policy, which does not name it",
				 purpose_code((enum purpose)p));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decisions),
		cmocka_unit_test(test_write_direction),
		cmocka_unit_test(test_out_of_range),
		cmocka_unit_test(test_policy_receipt_names_what_the_policy_grounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
