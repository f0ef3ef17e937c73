/*
 * bureau.h — the credit bureau's two wire APIs as pure codecs: the request
 * bodies senim sends and the checks of what comes back
 * (docs/connectors/credit_report.md and loan_event.md; the test peer is
 * tests/peers/credit_bureau.py).  No I/O and no clock: the transport and
 * the exchange are elsewhere, and "now" is a parameter.
 *
 * credit_report/1.  bureau_report_request() builds
 *   {"iin", "purpose", "consent": {"id", "granted_at", "receipt_sha256"}}
 * and bureau_report_parse() checks an answer against every rule of the
 * page.  A report that parses ok keeps these invariants:
 *   - iin is the IIN asked about (else the verdict is wrong_subject);
 *   - at most BUREAU_LOANS_MAX loans; none when has_history is false;
 *   - each loan: amounts 0..10^15 (monthly_payment_tiyn too, or
 *     BUREAU_ABSENT when not given), overdue_tiyn <= outstanding_tiyn,
 *     overdue_days 0..36500, closed_on set exactly when status is closed,
 *     and then opened_on <= closed_on;
 *   - total_debt_tiyn is the sum of outstanding_tiyn over the open loans;
 *   - a score has min < max and min <= value <= max;
 *   - enquiries 0..10000, last_30_days <= last_90_days;
 *   - generated_at is not later than now + CODEC_CLOCK_SKEW_S.
 *
 * loan_event/1.  bureau_events_request() builds {"events": [...]} from 1 to
 * BUREAU_EVENTS_MAX events, refusing an event the bureau must reject
 * (issued without amount, outstanding and due date; overdue without days;
 * closed with debt; applied without amount or purpose, or a purpose on
 * another event); bureau_events_parse() checks that the answer has
 * exactly one result per event, in order, each naming its event and with
 * a status of accepted, duplicate or rejected (an error object with
 * rejected only).  A result naming another event is invalid_answer for the
 * whole batch, as loan_event.md says.
 *
 * Verdicts and reasons are codec.h's: a reason never carries a value of
 * the answer.  Parsers return SENIM_OK whatever the verdict (an answer
 * that breaks a rule is an outcome, not an error of senim's); only running
 * out of memory is SENIM_ERR_NOMEM.
 */
#ifndef SENIM_BUREAU_H
#define SENIM_BUREAU_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/result.h"
#include "connectors/codec.h"
#include "core/recipients.h"

#define BUREAU_LOANS_MAX 200
#define BUREAU_EVENTS_MAX 500
#define BUREAU_OVERDUE_DAYS_MAX 36500
#define BUREAU_ENQUIRIES_MAX 10000
/* An optional amount not given (not sent, or null or absent in an answer). */
#define BUREAU_ABSENT (-1LL)

/* ---- credit_report/1: the request ------------------------------------------ */

/* L10's confirmation of the borrower's bureau consent.  Borrowed strings. */
struct bureau_consent_evidence {
	const char *id;		    /* the consent's id in the ledger, 1-64 chars */
	const char *granted_at;	    /* RFC 3339 UTC */
	const char *receipt_sha256; /* 64 lower-case hex digits */
};

/*
 * The request body for `iin` (a valid IIN), `purpose`
 * ("loan_application_review" or "loan_servicing") and the consent evidence.
 * *out is a new JSON object (json_decref it; dump it with codec_dump).
 * SENIM_ERR_INVALID when an input breaks the request table (a caller's
 * mistake: the bureau would refuse it), with `why` (may be NULL, else
 * CODEC_REASON_MAX bytes) naming the field; SENIM_ERR_NOMEM.
 */
SENIM_MUST_CHECK enum senim_result
bureau_report_request(const char *iin, const char *purpose,
		      const struct bureau_consent_evidence *consent, json_t **out,
		      char *why);

/* ---- credit_report/1: the answer ------------------------------------------- */

enum bureau_lender_kind {
	BUREAU_LENDER_BANK,
	BUREAU_LENDER_MFO,
	BUREAU_LENDER_OTHER
};
enum bureau_loan_status {
	BUREAU_LOAN_OPEN,
	BUREAU_LOAN_CLOSED,
	BUREAU_LOAN_WRITTEN_OFF
};

struct bureau_loan {
	const char *contract_ref; /* 1-64 characters */
	enum bureau_lender_kind lender_kind;
	const char *opened_on; /* "YYYY-MM-DD" */
	const char *closed_on; /* "YYYY-MM-DD" exactly when status is closed, else NULL */
	long long original_tiyn, outstanding_tiyn, overdue_tiyn;
	long long overdue_days;
	enum bureau_loan_status status;
	/* The contract's periodic (monthly) payment, 0..10^15, or
	 * BUREAU_ABSENT when the bureau gave none (null or no key). */
	long long monthly_payment_tiyn;
};

/* A report that parsed ok.  Every string points into `root_`, which the
 * struct owns; free it all with bureau_report_free(). */
struct bureau_report {
	const char *iin;	  /* the subject's, as asked */
	const char *report_id;	  /* 1-64 characters: the source record's reference */
	const char *generated_at; /* RFC 3339 UTC: the source record's time */
	int64_t generated_at_s;	  /* the same, Unix seconds */
	int has_history;
	/* The borrower registered a voluntary refusal of loans (Law 56-V
	 * art. 3(3-3); set through eGov, Law 573-II art. 22(8)). */
	int self_excluded;
	json_t *score; /* {"value", "min", "max", "model"}, or NULL (null) */
	double score_value, score_min, score_max;
	const char *score_model; /* 1-32 characters; NULL without a score */
	struct bureau_loan *loans;
	size_t nloans;
	long long total_debt_tiyn;
	long long enquiries_30, enquiries_90;
	json_t *root_;
};

/*
 * Check the `len` bytes of an answer's body (need not be NUL-terminated)
 * to a request about `asked_iin`, at Unix time `now_s`.  Always sets *v.
 * With CODEC_OK, *out is the report (bureau_report_free() it); with any
 * other verdict *out is NULL.  SENIM_ERR_NOMEM (and *out NULL) when memory
 * ran out; otherwise SENIM_OK.
 */
SENIM_MUST_CHECK enum senim_result
bureau_report_parse(const char *body, size_t len, const char *asked_iin, int64_t now_s,
		    struct bureau_report **out, struct codec_verdict *v);

/* Free a report (the answer's memory goes through jansson's free, which
 * the vault makes wiping); NULL does nothing. */
void bureau_report_free(struct bureau_report *r);

/*
 * The kept record: a new JSON object with one key per item of the
 * service's `receives` (report.has_history -> true/false, report.score ->
 * {"max", "min", "model", "value"} or null, report.loans -> the loans with
 * only the page's fields (monthly_payment_tiyn only when given),
 * report.total_debt_tiyn, report.enquiries ->
 * {"last_30_days", "last_90_days"}, report.self_excluded -> true/false).  Nothing the page does not define is
 * in it.  SENIM_ERR_INVALID when `s` names an item that is not a
 * credit_report/1 answer field (a service of another API); SENIM_ERR_NOMEM.
 */
SENIM_MUST_CHECK enum senim_result bureau_report_kept(const struct bureau_report *r,
						      const struct recipient_service *s,
						      json_t **out);

/* ---- loan_event/1 ------------------------------------------------------------ */

enum bureau_event_kind {
	BUREAU_EVENT_ISSUED,
	BUREAU_EVENT_PAYMENT,
	BUREAU_EVENT_OVERDUE,
	BUREAU_EVENT_RESTRUCTURED,
	BUREAU_EVENT_CLOSED,
	BUREAU_EVENT_WRITTEN_OFF,
	/* A microcredit applied for (Law 573-II Art. 19(2)(8): in real time,
	 * with the IIN, the amount and the purpose): the contract number is
	 * the application's id, amount_tiyn the amount asked, `purpose` one
	 * of BUREAU_PURPOSES.  Only a bureau reported to under the law (GKB)
	 * takes it (exchange/loan_events.h). */
	BUREAU_EVENT_APPLIED,
	BUREAU_EVENT__COUNT
};

/* One event, as the caller has it.  Borrowed strings.  An optional
 * amount is BUREAU_ABSENT when not sent (null on the wire). */
struct bureau_loan_event {
	const char *event_id; /* 1-64 characters, "lev_..." */
	enum bureau_event_kind event;
	const char *occurred_on;     /* "YYYY-MM-DD" */
	const char *contract_number; /* 1-64 characters */
	const char *iin;
	const char *surname, *given_name; /* 1-100 characters */
	const char *patronymic;		  /* 1-100 characters, or NULL */
	const char *birth_date;		  /* "YYYY-MM-DD" */
	long long amount_tiyn;		  /* 0..10^15 or BUREAU_ABSENT */
	long long outstanding_tiyn;	  /* 0..10^15 or BUREAU_ABSENT */
	long long overdue_days;		  /* 0..36500 or BUREAU_ABSENT */
	const char *due_date;		  /* "YYYY-MM-DD" or NULL */
	const char *purpose; /* with applied: a code of bureau_purpose_ok; else NULL */
};

/* The purposes of a microcredit applied for, a fixed list
 * (docs/connectors/loan_event.md): "consumer", "business", "refinancing",
 * "other".  1 when `s` is one of them. */
int bureau_purpose_ok(const char *s);

/* "issued", ...; NULL out of range. */
const char *bureau_event_code(enum bureau_event_kind k);

/*
 * The batch's request body, {"events": [...]}, from `n` events (1 to
 * BUREAU_EVENTS_MAX) in order.  SENIM_ERR_INVALID when the batch or an
 * event breaks loan_event.md's request table or the per-event rules, with
 * `why` (NULL or CODEC_REASON_MAX bytes) naming "events[i].field";
 * SENIM_ERR_NOMEM.  *out is a new object (json_decref).
 */
SENIM_MUST_CHECK enum senim_result
bureau_events_request(const struct bureau_loan_event *ev, size_t n, json_t **out,
		      char *why);

enum bureau_event_status {
	BUREAU_EVENT_ACCEPTED,
	BUREAU_EVENT_DUPLICATE, /* the bureau had it already: delivered */
	BUREAU_EVENT_REJECTED,	/* permanent for that event */
};

struct bureau_event_result {
	enum bureau_event_status status;
	/* With REJECTED: the bureau's code, [a-z0-9_]{1,64} (so it may be
	 * stored as the failure's code); else NULL.  Points into root_. */
	const char *error_code;
};

/* The answer to a batch, one result per event in the request's order. */
struct bureau_event_results {
	struct bureau_event_result *results;
	size_t n;
	json_t *root_;
};

/*
 * Check a loan_event/1 answer to the batch whose events had `event_ids`
 * (n of them, in order).  Always sets *v; with CODEC_OK *out is the
 * results (bureau_event_results_free()), else NULL.  SENIM_ERR_NOMEM, else
 * SENIM_OK.
 */
SENIM_MUST_CHECK enum senim_result
bureau_events_parse(const char *body, size_t len, const char *const *event_ids, size_t n,
		    struct bureau_event_results **out, struct codec_verdict *v);

/* NULL does nothing. */
void bureau_event_results_free(struct bureau_event_results *r);

#endif
