/*
 * fuzz_credit_report.c — bureau_report_parse on arbitrary bytes, as a credit
 * bureau's answer to credit_report/1 (src/connectors/bureau.c).
 *
 * The first 12 bytes are the IIN asked about (so the seeds, the peer's real
 * answers for several IINs, can reach CODEC_OK), the rest the body, an
 * exactly sized heap block that is not NUL-terminated.  Besides "no crash,
 * no leak" and codec_checks.h's checks of every verdict, a report that
 * parses ok keeps every rule of docs/connectors/credit_report.md, checked
 * here again from the struct: the IIN asked about, at most 200 loans and
 * none without a history, each loan's amounts (a monthly payment given or
 * not), days, overdue within outstanding, closed_on set exactly when closed
 * and not before opened_on, the total equal to the open loans'
 * outstanding, the score within its range, the enquiries ordered; and its
 * kept record has exactly the items asked for and no IIN of the answer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec_checks.h"
#include "connectors/bureau.h"
#include "common/banned.h"

#define NOW_S 1798761600LL /* 2027-01-01T00:00:00Z */

static void check_report(const struct bureau_report *r, const char *asked)
{
	if (strcmp(r->iin, asked) != 0 || r->nloans > BUREAU_LOANS_MAX ||
	    (!r->has_history && r->nloans) ||
	    r->generated_at_s > NOW_S + CODEC_CLOCK_SKEW_S)
		abort();
	long long open = 0;
	for (size_t i = 0; i < r->nloans; i++) {
		const struct bureau_loan *l = &r->loans[i];
		if (l->original_tiyn < 0 || l->original_tiyn > CODEC_TIYN_MAX ||
		    l->outstanding_tiyn < 0 || l->outstanding_tiyn > CODEC_TIYN_MAX ||
		    l->overdue_tiyn < 0 || l->overdue_tiyn > l->outstanding_tiyn ||
		    l->overdue_days < 0 || l->overdue_days > BUREAU_OVERDUE_DAYS_MAX ||
		    (l->monthly_payment_tiyn != BUREAU_ABSENT &&
		     (l->monthly_payment_tiyn < 0 ||
		      l->monthly_payment_tiyn > CODEC_TIYN_MAX)) ||
		    (l->status == BUREAU_LOAN_CLOSED) != (l->closed_on != NULL) ||
		    (l->closed_on && strcmp(l->opened_on, l->closed_on) > 0) ||
		    !codec_date_ok(l->opened_on) ||
		    !codec_text_ok(l->contract_ref, 1, 64))
			abort();
		if (l->status == BUREAU_LOAN_OPEN)
			open += l->outstanding_tiyn;
	}
	if (open != r->total_debt_tiyn)
		abort();
	if (r->score &&
	    (!(r->score_min < r->score_max) || r->score_value < r->score_min ||
	     r->score_value > r->score_max || !codec_text_ok(r->score_model, 1, 32)))
		abort();
	if (r->enquiries_30 < 0 || r->enquiries_30 > r->enquiries_90 ||
	    r->enquiries_90 > BUREAU_ENQUIRIES_MAX)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const all[] = { "report.has_history", "report.score",
					   "report.loans",	 "report.total_debt_tiyn",
					   "report.enquiries",	 NULL };
	if (size < 12)
		return 0;
	char asked[13];
	memcpy(asked, data, 12);
	asked[12] = '\0';
	size_t len = size - 12;
	char *body = malloc(len ? len : 1);
	if (!body)
		abort();
	memcpy(body, data + 12, len);

	struct bureau_report *r = NULL;
	struct codec_verdict v;
	if (bureau_report_parse(body, len, asked, NOW_S, &r, &v) != SENIM_OK)
		abort();
	fuzz_check_verdict(&v, r != NULL, body, len);
	if (r) {
		check_report(r, asked);
		struct fuzz_svc s;
		json_t *k;
		fuzz_svc_make(&s, all);
		if (bureau_report_kept(r, &s.s, &k) != SENIM_OK)
			abort();
		fuzz_check_kept(k, all, body, len);
	}
	bureau_report_free(r);
	free(body);
	return 0;
}
