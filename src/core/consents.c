#include "core/consents.h"

#include <string.h>

#include "common/banned.h"

#define MFO "ТОО «Микрофинансовая организация «Бизнес займ» (БИН 240640009707)"

static const char *const mfo_only[] = { MFO, NULL };
static const char *const gkb[] = { MFO, "АО «Государственное кредитное бюро»", NULL };
static const char *const pkb[] = { MFO, "ТОО «Первое кредитное бюро»", NULL };
static const char *const operators[] = { MFO, "АО «Кселл»", "ТОО «КаР-Тел»",
					 "ТОО «Мобайл Телком-Сервис»", NULL };
static const char *const state_dbs[] = { MFO,
					 "государственные базы данных и их операторы (АО "
					 "«НИТ», ГБД ФЛ, ГБД «Адресный регистр»)",
					 NULL };
static const char *const abroad[] = { MFO, "получатели за пределами Республики Казахстан",
				      NULL };

#define P(x) PURPOSE_BIT(PURPOSE_##x)
#define C(x) CATEGORY_BIT(CATEGORY_##x)

static const struct consent_def defs[CONSENT__COUNT] = {
	/* Every purpose the policy itself grounds — U8 included, since campaign
	 * design rests on the accepted policy alone (access_missing_consent);
	 * only U7's messages need a consent of their own. */
	{ CONSENT_POLICY, "policy", "C1",
	  P(LOAN_APPLICATION_REVIEW) | P(LOAN_SERVICING) | P(FRAUD_PREVENTION) |
		  P(IDENTIFICATION) | P(SECURITY_COMPLIANCE) | P(CUSTOMER_COMMUNICATION) |
		  P(MARKETING_CAMPAIGN_DESIGN) | P(INTERNAL_INVESTIGATION) |
		  P(LEGAL_OBLIGATION),
	  CATEGORY_ALL, mfo_only, "KZ", 1, 0 },
	{ CONSENT_CREDIT_BUREAU_GKB, "credit_bureau_gkb", "T2",
	  P(LOAN_APPLICATION_REVIEW) | P(LOAN_SERVICING),
	  C(IDENTITY) | C(CONTACT) | C(PROFESSIONAL), gkb, "KZ", 1, 0 },
	{ CONSENT_CREDIT_BUREAU_PKB, "credit_bureau_pkb", "T2",
	  P(LOAN_APPLICATION_REVIEW) | P(LOAN_SERVICING),
	  C(IDENTITY) | C(CONTACT) | C(PROFESSIONAL), pkb, "KZ", 1, 0 },
	{ CONSENT_MOBILE_OPERATOR, "mobile_operator", "T1",
	  P(IDENTIFICATION) | P(LOAN_APPLICATION_REVIEW),
	  C(IDENTITY) | C(CONTACT) | C(DEVICE), operators, "KZ", 0, 0 },
	{ CONSENT_STATE_DATABASE, "state_database", "T3",
	  P(IDENTIFICATION) | P(LOAN_APPLICATION_REVIEW),
	  C(IDENTITY) | C(FAMILY) | C(MEDICAL) | C(CONTACT), state_dbs, "KZ", 0, 0 },
	{ CONSENT_CROSS_BORDER, "cross_border", "T4",
	  P(LOAN_APPLICATION_REVIEW) | P(LOAN_SERVICING), C(IDENTITY) | C(CONTACT),
	  abroad, "cross-border", 0, 0 },
	{ CONSENT_MARKETING_SMS, "marketing_sms", "U7", P(MARKETING), C(CONTACT),
	  mfo_only, "KZ", 0, 1 },
	{ CONSENT_MARKETING_EMAIL, "marketing_email", "U7", P(MARKETING), C(CONTACT),
	  mfo_only, "KZ", 0, 1 },
	{ CONSENT_MARKETING_PHONE, "marketing_phone", "U7", P(MARKETING), C(CONTACT),
	  mfo_only, "KZ", 0, 1 },
};

const struct consent_def *consent_def(enum consent_kind k)
{
	return (unsigned)k < CONSENT__COUNT ? &defs[k] : NULL;
}

int consent_kind_parse(const char *code)
{
	for (int i = 0; i < CONSENT__COUNT; i++)
		if (strcmp(defs[i].code, code) == 0)
			return i;
	return -1;
}
