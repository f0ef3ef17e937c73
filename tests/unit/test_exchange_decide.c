/*
 * test_exchange_decide.c — exchange_decide() (exchange/decide.h) on the
 * shipped data/recipients.conf and the default access matrix: each
 * question's "no", in order, next to the "yes" it differs from in one
 * thing; and the questions the file's own checks make unreachable (a
 * country not allowed, a processor outside its agreement), by changing the
 * parsed file the way a bug or a bad reload would.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/consents.h"
#include "exchange/decide.h"
#include "common/banned.h"

#define C(k) (1u << (k))

static struct recipients *shipped;
static struct access_matrix matrix;

static int load(void **state)
{
	(void)state;
	char path[4096];
	const char *src = getenv("SENIM_SOURCE_DIR");
	snprintf(path, sizeof(path), "%s/data/recipients.conf", src ? src : ".");
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	static char text[RECIPIENTS_FILE_MAX + 1];
	size_t len = fread(text, 1, sizeof(text), f);
	fclose(f);
	access_matrix_default(&matrix);
	char err[512];
	assert_int_equal(recipients_parse("recipients.conf", text, len, &matrix, &shipped,
					  err, sizeof(err)),
			 SENIM_OK);
	return 0;
}

static int unload(void **state)
{
	(void)state;
	recipients_free(shipped);
	return 0;
}

/* A borrower who accepted the policy and gave every exchange consent. */
static struct subject_state everything(void)
{
	return (struct subject_state){
		.consents = C(CONSENT_POLICY) | C(CONSENT_CREDIT_BUREAU_GKB) |
			    C(CONSENT_CREDIT_BUREAU_PKB) | C(CONSENT_MOBILE_OPERATOR) |
			    C(CONSENT_STATE_DATABASE) | C(CONSENT_CROSS_BORDER),
	};
}

static struct exchange_question ask(const char *recipient, const char *service,
				    enum role role, enum purpose purpose,
				    const struct subject_state *s)
{
	return (struct exchange_question){ .recipient = recipient,
					   .service = service,
					   .role = role,
					   .purpose = purpose,
					   .state = s };
}

static struct exchange_decision decide(const struct exchange_question *q)
{
	struct exchange_decision d;
	assert_int_equal(exchange_decide(shipped, &matrix, q, &d), SENIM_OK);
	return d;
}

static void test_unknown_recipient_or_service_is_not_found(void **state)
{
	(void)state;
	struct subject_state s = everything();
	struct exchange_decision d;
	struct exchange_question q = ask("nobody", "credit_report", ROLE_UNDERWRITER,
					 PURPOSE_LOAN_APPLICATION_REVIEW, &s);
	assert_int_equal(exchange_decide(shipped, &matrix, &q, &d), SENIM_ERR_NOT_FOUND);
	q = ask("pkb", "phone_check", ROLE_UNDERWRITER, PURPOSE_LOAN_APPLICATION_REVIEW,
		&s);
	assert_int_equal(exchange_decide(shipped, &matrix, &q, &d), SENIM_ERR_NOT_FOUND);
	q = ask("pkb", "credit_report", ROLE_UNDERWRITER, PURPOSE_LOAN_APPLICATION_REVIEW,
		&s);
	assert_int_equal(exchange_decide(NULL, &matrix, &q, &d), SENIM_ERR_NOT_FOUND);
}

static void test_a_report_with_every_consent_may_go(void **state)
{
	(void)state;
	struct subject_state s = everything();
	struct exchange_question q = ask("pkb", "credit_report", ROLE_UNDERWRITER,
					 PURPOSE_LOAN_APPLICATION_REVIEW, &s);
	struct exchange_decision d = decide(&q);
	assert_int_equal(d.refused.why, ACCESS_GRANTED);
	assert_string_equal(d.recipient->code, "pkb");
	assert_string_equal(d.service->code, "credit_report");
	assert_int_equal(d.consent, CONSENT_CREDIT_BUREAU_PKB);
	assert_int_equal(d.cross_border, 0);
	assert_true(d.categories & CATEGORY_BIT(CATEGORY_IDENTITY));
}

static void test_access_decides_first(void **state)
{
	(void)state;
	struct subject_state s = everything();
	/* The role: marketing never asks a bureau. */
	struct exchange_question q = ask("pkb", "credit_report", ROLE_MARKETING,
					 PURPOSE_LOAN_APPLICATION_REVIEW, &s);
	assert_int_equal(decide(&q).refused.why, ACCESS_PURPOSE_NOT_PERMITTED);
	/* A block (R3) and a restriction (R4). */
	s.blocked = 1;
	q = ask("pkb", "credit_report", ROLE_UNDERWRITER, PURPOSE_LOAN_APPLICATION_REVIEW,
		&s);
	assert_int_equal(decide(&q).refused.why, ACCESS_SUBJECT_BLOCKED);
	s = everything();
	s.restricted = 1;
	s.allowed_purposes = PURPOSE_BIT(PURPOSE_LOAN_SERVICING);
	assert_int_equal(decide(&q).refused.why, ACCESS_PURPOSE_RESTRICTED);
	/* The policy before any bureau consent. */
	s = everything();
	s.consents &= ~C(CONSENT_POLICY);
	struct exchange_decision d = decide(&q);
	assert_int_equal(d.refused.why, ACCESS_CONSENT_REQUIRED);
	assert_string_equal(d.refused.missing_consent, "policy");
	assert_int_equal(d.categories, 0);
}

static void test_the_law_passes_a_block(void **state)
{
	(void)state;
	/* U10: GKB hears of every microcredit, blocked subject or not. */
	struct subject_state s = { .blocked = 1, .restricted = 1 };
	struct exchange_question q =
		ask("gkb", "loan_event", ROLE__COUNT, PURPOSE_LEGAL_OBLIGATION, &s);
	q.by_system = 1;
	struct exchange_decision d = decide(&q);
	assert_int_equal(d.refused.why, ACCESS_GRANTED);
	assert_int_equal(d.consent, -1);
	/* PKB hears of it only under its consent, and never past a block. */
	q = ask("pkb", "loan_event", ROLE__COUNT, PURPOSE_LOAN_SERVICING, &s);
	q.by_system = 1;
	assert_int_equal(decide(&q).refused.why, ACCESS_SUBJECT_BLOCKED);
	s = everything();
	s.consents &= ~C(CONSENT_CREDIT_BUREAU_PKB);
	d = decide(&q);
	assert_int_equal(d.refused.why, ACCESS_CONSENT_REQUIRED);
	assert_string_equal(d.refused.missing_consent, "credit_bureau_pkb");
	/* Without by_system the role is asked: an unknown role may nothing. */
	s = everything();
	q.by_system = 0;
	assert_int_equal(decide(&q).refused.why, ACCESS_PURPOSE_NOT_PERMITTED);
}

static void test_the_service_must_serve_the_purpose(void **state)
{
	(void)state;
	struct subject_state s = everything();
	/* Support may act for identification, which no bureau report serves. */
	struct exchange_question q =
		ask("pkb", "credit_report", ROLE_SUPPORT, PURPOSE_IDENTIFICATION, &s);
	assert_int_equal(decide(&q).refused.why, ACCESS_NOT_FOR_RECIPIENT);
	q = ask("kcell", "phone_check", ROLE_SUPPORT, PURPOSE_IDENTIFICATION, &s);
	assert_int_equal(decide(&q).refused.why, ACCESS_GRANTED);
}

static void test_the_service_consent_is_needed(void **state)
{
	(void)state;
	struct subject_state s = everything();
	s.consents &= ~C(CONSENT_MOBILE_OPERATOR);
	struct exchange_question q = ask("kcell", "phone_check", ROLE_UNDERWRITER,
					 PURPOSE_LOAN_APPLICATION_REVIEW, &s);
	struct exchange_decision d = decide(&q);
	assert_int_equal(d.refused.why, ACCESS_CONSENT_REQUIRED);
	assert_string_equal(d.refused.missing_consent, "mobile_operator");
	/* Another consent does not stand in for it. */
	s.consents |= C(CONSENT_CREDIT_BUREAU_GKB);
	assert_int_equal(decide(&q).refused.why, ACCESS_CONSENT_REQUIRED);
}

static void test_only_the_fields_the_recipient_may_receive(void **state)
{
	(void)state;
	struct subject_state s = everything();
	static const char *const iin_only[] = { "identity.iin" };
	static const char *const with_phone[] = { "identity.iin",
						  "contact.phone_mobile" };
	struct exchange_question q = ask("pkb", "credit_report", ROLE_UNDERWRITER,
					 PURPOSE_LOAN_APPLICATION_REVIEW, &s);
	q.fields = iin_only;
	q.nfields = 1;
	assert_int_equal(decide(&q).refused.why, ACCESS_GRANTED);
	q.fields = with_phone;
	q.nfields = 2;
	struct exchange_decision d = decide(&q);
	assert_int_equal(d.refused.why, ACCESS_FIELD_NOT_ALLOWED);
	assert_string_equal(d.refused.field, "contact.phone_mobile");
	/* A field the service sends, of a category the purpose no longer
	 * sees (a matrix narrowed since the file was loaded). */
	struct access_matrix narrowed = matrix;
	narrowed.categories_of[PURPOSE_LOAN_APPLICATION_REVIEW] &=
		~CATEGORY_BIT(CATEGORY_IDENTITY);
	q.fields = NULL;
	q.nfields = 0;
	assert_int_equal(exchange_decide(shipped, &narrowed, &q, &d), SENIM_OK);
	assert_int_equal(d.refused.why, ACCESS_FIELD_NOT_ALLOWED);
	assert_string_equal(d.refused.field, "identity.iin");
}

static void test_abroad_needs_an_allowed_country_and_consent(void **state)
{
	(void)state;
	struct subject_state s = everything();
	struct exchange_question q = ask("scorelab", "scoring", ROLE_UNDERWRITER,
					 PURPOSE_LOAN_APPLICATION_REVIEW, &s);
	struct exchange_decision d = decide(&q);
	assert_int_equal(d.refused.why, ACCESS_GRANTED);
	assert_int_equal(d.cross_border, 1);
	s.consents &= ~C(CONSENT_CROSS_BORDER);
	d = decide(&q);
	assert_int_equal(d.refused.why, ACCESS_CONSENT_REQUIRED);
	assert_string_equal(d.refused.missing_consent, "cross_border");
	/* The country taken off the allowed list. */
	s = everything();
	size_t kept = shipped->ncountries;
	shipped->ncountries = 0;
	d = decide(&q);
	shipped->ncountries = kept;
	assert_int_equal(d.refused.why, ACCESS_CROSS_BORDER_COUNTRY);
}

static void test_a_processor_only_within_its_agreement(void **state)
{
	(void)state;
	struct subject_state s = everything();
	struct exchange_question q =
		ask("sms_gateway", "sms", ROLE_SUPPORT, PURPOSE_IDENTIFICATION, &s);
	assert_int_equal(decide(&q).refused.why, ACCESS_GRANTED);
	struct recipient *rc =
		(struct recipient *)recipients_find(shipped, "sms_gateway");
	uint32_t kept = rc->agreement_purposes;
	rc->agreement_purposes = PURPOSE_BIT(PURPOSE_CUSTOMER_COMMUNICATION);
	enum access_result why = decide(&q).refused.why;
	rc->agreement_purposes = kept;
	assert_int_equal(why, ACCESS_NOT_FOR_RECIPIENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unknown_recipient_or_service_is_not_found),
		cmocka_unit_test(test_a_report_with_every_consent_may_go),
		cmocka_unit_test(test_access_decides_first),
		cmocka_unit_test(test_the_law_passes_a_block),
		cmocka_unit_test(test_the_service_must_serve_the_purpose),
		cmocka_unit_test(test_the_service_consent_is_needed),
		cmocka_unit_test(test_only_the_fields_the_recipient_may_receive),
		cmocka_unit_test(test_abroad_needs_an_allowed_country_and_consent),
		cmocka_unit_test(test_a_processor_only_within_its_agreement),
	};
	return cmocka_run_group_tests(tests, load, unload);
}
