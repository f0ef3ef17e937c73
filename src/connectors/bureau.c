/*
 * bureau.c — credit_report/1 and loan_event/1 codecs (bureau.h).
 */
#include "connectors/bureau.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/banned.h"

static const char *const purposes[] = { "loan_application_review", "loan_servicing",
					NULL };
static const char *const lender_kinds[] = { "bank", "mfo", "other", NULL };
static const char *const loan_statuses[] = { "open", "closed", "written_off", NULL };
static const char *const event_kinds[] = { "issued",	   "payment", "overdue",
					   "restructured", "closed",  "written_off",
					   "applied",	   NULL };
static const char *const applied_purposes[] = { "consumer", "business", "refinancing",
						"other", NULL };
static const char *const event_statuses[] = { "accepted", "duplicate", "rejected", NULL };

/* Fill `why` (may be NULL) and return SENIM_ERR_INVALID. */
static enum senim_result refuse(char *why, const char *field, const char *rule)
{
	if (why)
		snprintf(why, CODEC_REASON_MAX, "%s %s", field, rule);
	return SENIM_ERR_INVALID;
}

static int hex64_ok(const char *s)
{
	if (!s || strlen(s) != 64)
		return 0;
	return strspn(s, "0123456789abcdef") == 64;
}

static int one_of(const char *s, const char *const *values)
{
	for (int i = 0; s && values[i]; i++)
		if (strcmp(s, values[i]) == 0)
			return 1;
	return 0;
}

int bureau_purpose_ok(const char *s)
{
	return one_of(s, applied_purposes);
}

/* ---- credit_report/1 request ------------------------------------------------ */

enum senim_result bureau_report_request(const char *iin, const char *purpose,
					const struct bureau_consent_evidence *consent,
					json_t **out, char *why)
{
	*out = NULL;
	if (why)
		why[0] = '\0';
	if (!codec_iin_ok(iin))
		return refuse(why, "iin", "is not a valid IIN");
	if (!one_of(purpose, purposes))
		return refuse(why, "purpose",
			      "is not loan_application_review or loan_servicing");
	if (!consent || !codec_text_ok(consent->id, 1, 64))
		return refuse(why, "consent.id", "is not 1 to 64 characters");
	if (!codec_time_ok(consent->granted_at, NULL))
		return refuse(why, "consent.granted_at", "is not an RFC 3339 UTC time");
	if (!hex64_ok(consent->receipt_sha256))
		return refuse(why, "consent.receipt_sha256",
			      "is not 64 lower-case hex digits");
	json_t *j =
		json_pack("{s:s, s:s, s:{s:s, s:s, s:s}}", "iin", iin, "purpose", purpose,
			  "consent", "id", consent->id, "granted_at", consent->granted_at,
			  "receipt_sha256", consent->receipt_sha256);
	if (!j)
		return SENIM_ERR_NOMEM;
	*out = j;
	return SENIM_OK;
}

/* ---- credit_report/1 answer ------------------------------------------------- */

void bureau_report_free(struct bureau_report *r)
{
	if (!r)
		return;
	free(r->loans);
	json_decref(r->root_);
	free(r);
}

static int check_loan(json_t *x, size_t i, struct bureau_loan *l, struct codec_verdict *v)
{
	char path[40];
	int k;
	snprintf(path, sizeof(path), "loans[%zu]", i);
	if (!json_is_object(x))
		return codec_fail(v, CODEC_INVALID_ANSWER, "%s is not an object", path);
	if (!codec_string(x, path, "contract_ref", 1, 64, 0, &l->contract_ref, v) ||
	    !codec_enum(x, path, "lender_kind", lender_kinds, 0, &k, v))
		return 0;
	l->lender_kind = (enum bureau_lender_kind)k;
	if (!codec_date(x, path, "opened_on", 0, &l->opened_on, v) ||
	    !codec_date(x, path, "closed_on", 1, &l->closed_on, v) ||
	    !codec_int(x, path, "original_tiyn", 0, CODEC_TIYN_MAX, 0, &l->original_tiyn,
		       NULL, v) ||
	    !codec_int(x, path, "outstanding_tiyn", 0, CODEC_TIYN_MAX, 0,
		       &l->outstanding_tiyn, NULL, v) ||
	    !codec_int(x, path, "overdue_days", 0, BUREAU_OVERDUE_DAYS_MAX, 0,
		       &l->overdue_days, NULL, v) ||
	    !codec_int(x, path, "overdue_tiyn", 0, CODEC_TIYN_MAX, 0, &l->overdue_tiyn,
		       NULL, v) ||
	    !codec_enum(x, path, "status", loan_statuses, 0, &k, v))
		return 0;
	l->status = (enum bureau_loan_status)k;
	/* Optional: absent or null is not given. */
	l->monthly_payment_tiyn = BUREAU_ABSENT;
	if (json_object_get(x, "monthly_payment_tiyn")) {
		int is_null;
		if (!codec_int(x, path, "monthly_payment_tiyn", 0, CODEC_TIYN_MAX, 1,
			       &l->monthly_payment_tiyn, &is_null, v))
			return 0;
		if (is_null)
			l->monthly_payment_tiyn = BUREAU_ABSENT;
	}
	if (l->overdue_tiyn > l->outstanding_tiyn)
		return codec_fail(v, CODEC_INVALID_ANSWER,
				  "%s.overdue_tiyn exceeds outstanding_tiyn", path);
	if ((l->status == BUREAU_LOAN_CLOSED) != (l->closed_on != NULL))
		return codec_fail(v, CODEC_INVALID_ANSWER,
				  "%s.closed_on is not set exactly when status is closed",
				  path);
	/* Strict dates compare as strings. */
	if (l->closed_on && strcmp(l->opened_on, l->closed_on) > 0)
		return codec_fail(v, CODEC_INVALID_ANSWER,
				  "%s.opened_on is after closed_on", path);
	return 1;
}

static int check_score(struct bureau_report *r, struct codec_verdict *v)
{
	json_t *val, *min, *max;
	if (!codec_object(r->root_, "", "score", 1, &r->score, v))
		return 0;
	if (!r->score)
		return 1;
	if (!codec_number(r->score, "score", "value", &val, v) ||
	    !codec_number(r->score, "score", "min", &min, v) ||
	    !codec_number(r->score, "score", "max", &max, v) ||
	    !codec_string(r->score, "score", "model", 1, 32, 0, &r->score_model, v))
		return 0;
	r->score_value = json_number_value(val);
	r->score_min = json_number_value(min);
	r->score_max = json_number_value(max);
	if (!(r->score_min < r->score_max))
		return codec_fail(v, CODEC_INVALID_ANSWER,
				  "score.min is not below score.max");
	if (r->score_value < r->score_min || r->score_value > r->score_max)
		return codec_fail(v, CODEC_INVALID_ANSWER,
				  "score.value is outside score.min to score.max");
	return 1;
}

/* Every rule of credit_report.md on the decoded answer; 1 when they hold. */
static int check_report(struct bureau_report *r, const char *asked_iin, int64_t now_s,
			struct codec_verdict *v)
{
	json_t *root = r->root_, *loans, *enq;
	if (!codec_iin(root, "", "iin", &r->iin, v))
		return 0;
	if (strcmp(r->iin, asked_iin) != 0)
		return codec_fail(v, CODEC_WRONG_SUBJECT,
				  "iin is not the IIN asked about");
	if (!codec_string(root, "", "report_id", 1, 64, 0, &r->report_id, v) ||
	    !codec_time(root, "", "generated_at", &r->generated_at_s, v))
		return 0;
	r->generated_at = json_string_value(json_object_get(root, "generated_at"));
	if (r->generated_at_s > now_s + CODEC_CLOCK_SKEW_S)
		return codec_fail(v, CODEC_INVALID_ANSWER,
				  "generated_at is in the future");
	if (!codec_bool(root, "", "has_history", &r->has_history, v) ||
	    !codec_bool(root, "", "self_excluded", &r->self_excluded, v) ||
	    !check_score(r, v) ||
	    !codec_array(root, "", "loans", BUREAU_LOANS_MAX, &loans, v))
		return 0;
	r->nloans = json_array_size(loans);
	if (!r->has_history && r->nloans)
		return codec_fail(v, CODEC_INVALID_ANSWER,
				  "loans is not empty although has_history is false");
	if (r->nloans) {
		r->loans = calloc(r->nloans, sizeof(*r->loans));
		if (!r->loans)
			return -1;
	}
	long long open_debt = 0;
	for (size_t i = 0; i < r->nloans; i++) {
		if (!check_loan(json_array_get(loans, i), i, &r->loans[i], v))
			return 0;
		/* At most 200 x 10^15: no overflow. */
		if (r->loans[i].status == BUREAU_LOAN_OPEN)
			open_debt += r->loans[i].outstanding_tiyn;
	}
	if (!codec_int(root, "", "total_debt_tiyn", 0, CODEC_TIYN_MAX, 0,
		       &r->total_debt_tiyn, NULL, v))
		return 0;
	if (r->total_debt_tiyn != open_debt)
		return codec_fail(
			v, CODEC_INVALID_ANSWER,
			"total_debt_tiyn is not the sum of outstanding_tiyn over "
			"open loans");
	if (!codec_object(root, "", "enquiries", 0, &enq, v) ||
	    !codec_int(enq, "enquiries", "last_30_days", 0, BUREAU_ENQUIRIES_MAX, 0,
		       &r->enquiries_30, NULL, v) ||
	    !codec_int(enq, "enquiries", "last_90_days", 0, BUREAU_ENQUIRIES_MAX, 0,
		       &r->enquiries_90, NULL, v))
		return 0;
	if (r->enquiries_90 < r->enquiries_30)
		return codec_fail(v, CODEC_INVALID_ANSWER,
				  "enquiries.last_90_days is below last_30_days");
	return 1;
}

enum senim_result bureau_report_parse(const char *body, size_t len, const char *asked_iin,
				      int64_t now_s, struct bureau_report **out,
				      struct codec_verdict *v)
{
	*out = NULL;
	json_t *root;
	if (!codec_decode(body, len, &root, v))
		return SENIM_OK;
	struct bureau_report *r = calloc(1, sizeof(*r));
	if (!r) {
		json_decref(root);
		return SENIM_ERR_NOMEM;
	}
	r->root_ = root;
	int ok = check_report(r, asked_iin ? asked_iin : "", now_s, v);
	if (ok < 0) {
		bureau_report_free(r);
		return SENIM_ERR_NOMEM;
	}
	if (!ok) {
		bureau_report_free(r);
		return SENIM_OK;
	}
	*out = r;
	return SENIM_OK;
}

/* ---- credit_report/1 kept record -------------------------------------------- */

static json_t *kept_loan(const struct bureau_loan *l)
{
	json_t *k = json_pack(
		"{s:s, s:s, s:s, s:s?, s:I, s:I, s:I, s:I, s:s}", "contract_ref",
		l->contract_ref, "lender_kind", lender_kinds[l->lender_kind], "opened_on",
		l->opened_on, "closed_on", l->closed_on, "original_tiyn",
		(json_int_t)l->original_tiyn, "outstanding_tiyn",
		(json_int_t)l->outstanding_tiyn, "overdue_days",
		(json_int_t)l->overdue_days, "overdue_tiyn", (json_int_t)l->overdue_tiyn,
		"status", loan_statuses[l->status]);
	/* The monthly payment only when the bureau gave it. */
	if (k && l->monthly_payment_tiyn != BUREAU_ABSENT &&
	    json_object_set_new(k, "monthly_payment_tiyn",
				json_integer((json_int_t)l->monthly_payment_tiyn)) != 0) {
		json_decref(k);
		return NULL;
	}
	return k;
}

static json_t *kept_score(const struct bureau_report *r)
{
	if (!r->score)
		return json_null();
	/* The numbers as the bureau wrote them (integer or not), nothing else. */
	return json_pack("{s:O, s:O, s:O, s:s}", "value",
			 json_object_get(r->score, "value"), "min",
			 json_object_get(r->score, "min"), "max",
			 json_object_get(r->score, "max"), "model", r->score_model);
}

static json_t *kept_loans(const struct bureau_report *r)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < r->nloans; i++)
		if (json_array_append_new(a, kept_loan(&r->loans[i])) != 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

enum senim_result bureau_report_kept(const struct bureau_report *r,
				     const struct recipient_service *s, json_t **out)
{
	*out = NULL;
	json_t *k = json_object();
	if (!k)
		return SENIM_ERR_NOMEM;
	enum senim_result err = SENIM_OK;
	for (size_t i = 0; !err && i < s->nreceives; i++) {
		const char *code = s->receives[i].code;
		json_t *x;
		if (strcmp(code, "report.has_history") == 0)
			x = json_boolean(r->has_history);
		else if (strcmp(code, "report.self_excluded") == 0)
			x = json_boolean(r->self_excluded);
		else if (strcmp(code, "report.score") == 0)
			x = kept_score(r);
		else if (strcmp(code, "report.loans") == 0)
			x = kept_loans(r);
		else if (strcmp(code, "report.total_debt_tiyn") == 0)
			x = json_integer(r->total_debt_tiyn);
		else if (strcmp(code, "report.enquiries") == 0)
			x = json_pack("{s:I, s:I}", "last_30_days",
				      (json_int_t)r->enquiries_30, "last_90_days",
				      (json_int_t)r->enquiries_90);
		else {
			err = SENIM_ERR_INVALID;
			break;
		}
		err = codec_set(k, code, x);
	}
	if (err) {
		json_decref(k);
		return err;
	}
	*out = k;
	return SENIM_OK;
}

/* ---- loan_event/1 request --------------------------------------------------- */

const char *bureau_event_code(enum bureau_event_kind k)
{
	return (unsigned)k < BUREAU_EVENT__COUNT ? event_kinds[k] : NULL;
}

/* Refuse with "events[i].FIELD RULE". */
static enum senim_result refuse_event(char *why, size_t i, const char *field,
				      const char *rule)
{
	if (why)
		snprintf(why, CODEC_REASON_MAX, "events[%zu].%s %s", i, field, rule);
	return SENIM_ERR_INVALID;
}

static int amount_ok(long long x, long long hi)
{
	return x == BUREAU_ABSENT || (x >= 0 && x <= hi);
}

static enum senim_result check_event(const struct bureau_loan_event *e, size_t i,
				     char *why)
{
	if (!codec_text_ok(e->event_id, 1, 64))
		return refuse_event(why, i, "event_id", "is not 1 to 64 characters");
	if (!bureau_event_code(e->event))
		return refuse_event(why, i, "event", "is not one of the API's events");
	if (!codec_date_ok(e->occurred_on))
		return refuse_event(why, i, "occurred_on", "is not a date YYYY-MM-DD");
	if (!codec_text_ok(e->contract_number, 1, 64))
		return refuse_event(why, i, "contract_number",
				    "is not 1 to 64 characters");
	if (!codec_iin_ok(e->iin))
		return refuse_event(why, i, "borrower.iin", "is not a valid IIN");
	if (!codec_text_ok(e->surname, 1, 100))
		return refuse_event(why, i, "borrower.surname",
				    "is not 1 to 100 characters");
	if (!codec_text_ok(e->given_name, 1, 100))
		return refuse_event(why, i, "borrower.given_name",
				    "is not 1 to 100 characters");
	if (e->patronymic && !codec_text_ok(e->patronymic, 1, 100))
		return refuse_event(why, i, "borrower.patronymic",
				    "is not 1 to 100 characters");
	if (!codec_date_ok(e->birth_date))
		return refuse_event(why, i, "borrower.birth_date",
				    "is not a date YYYY-MM-DD");
	if (!amount_ok(e->amount_tiyn, CODEC_TIYN_MAX))
		return refuse_event(why, i, "amount_tiyn", "is not from 0 to 10^15");
	if (!amount_ok(e->outstanding_tiyn, CODEC_TIYN_MAX))
		return refuse_event(why, i, "outstanding_tiyn", "is not from 0 to 10^15");
	if (!amount_ok(e->overdue_days, BUREAU_OVERDUE_DAYS_MAX))
		return refuse_event(why, i, "overdue_days", "is not from 0 to 36500");
	if (e->due_date && !codec_date_ok(e->due_date))
		return refuse_event(why, i, "due_date", "is not a date YYYY-MM-DD");
	/* What the bureau would reject (issued_incomplete, overdue_without_days,
	 * closed_with_debt): a mistake of ours, not worth a round trip. */
	if (e->event == BUREAU_EVENT_ISSUED &&
	    (e->amount_tiyn == BUREAU_ABSENT || e->outstanding_tiyn == BUREAU_ABSENT ||
	     !e->due_date))
		return refuse_event(
			why, i, "event",
			"issued needs amount_tiyn, outstanding_tiyn and due_date");
	if (e->event == BUREAU_EVENT_OVERDUE && !(e->overdue_days > 0))
		return refuse_event(why, i, "overdue_days",
				    "must be above 0 for overdue");
	if (e->event == BUREAU_EVENT_CLOSED && e->outstanding_tiyn != 0)
		return refuse_event(why, i, "outstanding_tiyn", "must be 0 for closed");
	/* 573-II Art. 19(2)(8): an application goes with its amount and
	 * purpose; no other event has a purpose. */
	if (e->event == BUREAU_EVENT_APPLIED && e->amount_tiyn == BUREAU_ABSENT)
		return refuse_event(why, i, "amount_tiyn", "is required for applied");
	if (e->event == BUREAU_EVENT_APPLIED && !bureau_purpose_ok(e->purpose))
		return refuse_event(why, i, "purpose", "is not one of the purposes");
	if (e->event != BUREAU_EVENT_APPLIED && e->purpose)
		return refuse_event(why, i, "purpose", "is only for applied");
	return SENIM_OK;
}

static json_t *opt_int(long long x)
{
	return x == BUREAU_ABSENT ? json_null() : json_integer(x);
}

static json_t *event_json(const struct bureau_loan_event *e)
{
	json_t *b = json_pack("{s:s, s:s, s:s, s:s?, s:s}", "iin", e->iin, "surname",
			      e->surname, "given_name", e->given_name, "patronymic",
			      e->patronymic, "birth_date", e->birth_date);
	if (!b)
		return NULL;
	json_t *j = json_pack(
		"{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:s?}", "event_id", e->event_id,
		"event", event_kinds[e->event], "occurred_on", e->occurred_on,
		"contract_number", e->contract_number, "borrower", b, "amount_tiyn",
		opt_int(e->amount_tiyn), "outstanding_tiyn", opt_int(e->outstanding_tiyn),
		"overdue_days", opt_int(e->overdue_days), "due_date", e->due_date);
	/* Only an application carries a purpose: the other events' bodies
	 * stay as they were. */
	if (j && e->purpose &&
	    json_object_set_new(j, "purpose", json_string(e->purpose)) != 0) {
		json_decref(j);
		return NULL;
	}
	return j;
}

enum senim_result bureau_events_request(const struct bureau_loan_event *ev, size_t n,
					json_t **out, char *why)
{
	*out = NULL;
	if (why)
		why[0] = '\0';
	if (n < 1 || n > BUREAU_EVENTS_MAX) {
		if (why)
			snprintf(why, CODEC_REASON_MAX, "events is not 1 to %d events",
				 BUREAU_EVENTS_MAX);
		return SENIM_ERR_INVALID;
	}
	for (size_t i = 0; i < n; i++) {
		enum senim_result err = check_event(&ev[i], i, why);
		if (err)
			return err;
		for (size_t j = 0; j < i; j++)
			if (strcmp(ev[i].event_id, ev[j].event_id) == 0)
				return refuse_event(why, i, "event_id",
						    "repeats an earlier event's");
	}
	json_t *a = json_array();
	if (!a)
		return SENIM_ERR_NOMEM;
	for (size_t i = 0; i < n; i++)
		if (json_array_append_new(a, event_json(&ev[i])) != 0) {
			json_decref(a);
			return SENIM_ERR_NOMEM;
		}
	json_t *j = json_pack("{s:o}", "events", a);
	if (!j)
		return SENIM_ERR_NOMEM;
	*out = j;
	return SENIM_OK;
}

/* ---- loan_event/1 answer ---------------------------------------------------- */

void bureau_event_results_free(struct bureau_event_results *r)
{
	if (!r)
		return;
	free(r->results);
	json_decref(r->root_);
	free(r);
}

static int code_ok(const char *s)
{
	size_t n = strlen(s);
	return n >= 1 && n <= 64 &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

static int check_result(json_t *x, size_t i, const char *event_id,
			struct bureau_event_result *res, struct codec_verdict *v)
{
	char path[40];
	const char *id;
	int k;
	json_t *error;
	snprintf(path, sizeof(path), "results[%zu]", i);
	if (!json_is_object(x))
		return codec_fail(v, CODEC_INVALID_ANSWER, "%s is not an object", path);
	if (!codec_string(x, path, "event_id", 1, 64, 0, &id, v))
		return 0;
	if (strcmp(id, event_id) != 0)
		return codec_fail(v, CODEC_INVALID_ANSWER,
				  "%s.event_id is not the id of event %zu", path, i);
	if (!codec_enum(x, path, "status", event_statuses, 0, &k, v) ||
	    !codec_object(x, path, "error", 1, &error, v))
		return 0;
	res->status = (enum bureau_event_status)k;
	if ((res->status == BUREAU_EVENT_REJECTED) != (error != NULL))
		return codec_fail(v, CODEC_INVALID_ANSWER,
				  "%s.error is not set exactly when status is rejected",
				  path);
	if (error) {
		char epath[56];
		const char *msg;
		snprintf(epath, sizeof(epath), "%s.error", path);
		if (!codec_string(error, epath, "code", 1, 64, 0, &res->error_code, v) ||
		    !codec_string(error, epath, "message", 0, 1000, 0, &msg, v))
			return 0;
		if (!code_ok(res->error_code))
			return codec_fail(v, CODEC_INVALID_ANSWER,
					  "%s.code is not [a-z0-9_]{1,64}", epath);
	}
	return 1;
}

enum senim_result bureau_events_parse(const char *body, size_t len,
				      const char *const *event_ids, size_t n,
				      struct bureau_event_results **out,
				      struct codec_verdict *v)
{
	*out = NULL;
	json_t *root, *results;
	if (!codec_decode(body, len, &root, v))
		return SENIM_OK;
	if (!codec_array(root, "", "results", BUREAU_EVENTS_MAX, &results, v)) {
		json_decref(root);
		return SENIM_OK;
	}
	if (json_array_size(results) != n) {
		json_decref(root);
		codec_fail(v, CODEC_INVALID_ANSWER,
			   "results is not one result per event");
		return SENIM_OK;
	}
	struct bureau_event_results *r = calloc(1, sizeof(*r));
	if (r)
		r->results = calloc(n ? n : 1, sizeof(*r->results));
	if (!r || !r->results) {
		free(r);
		json_decref(root);
		return SENIM_ERR_NOMEM;
	}
	r->root_ = root;
	r->n = n;
	for (size_t i = 0; i < n; i++)
		if (!check_result(json_array_get(results, i), i, event_ids[i],
				  &r->results[i], v)) {
			bureau_event_results_free(r);
			return SENIM_OK;
		}
	*out = r;
	return SENIM_OK;
}
