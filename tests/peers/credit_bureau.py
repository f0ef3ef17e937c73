#!/usr/bin/python3
"""A stand-in credit bureau (GKB, PKB) for senim's tests: stdlib only.

It speaks two APIs (docs/connectors/credit_report.md, loan_event.md):

    POST /v1/credit-reports  {"iin", "purpose", "consent": {"id", "granted_at",
                              "receipt_sha256"}}
        -> 200 {"iin", "report_id", "generated_at", "has_history",
                "self_excluded", "score", "loans", "total_debt_tiyn", "enquiries"}
    POST /v1/loan-events     {"events": [1..500 events]}
        -> 200 {"results": [{"event_id", "status", "error"}, ...]}

The report is peerlib.synthetic(iin); a loan event is kept once per
event_id (GET /_control/events).  The control API, the modes and the
options every peer takes are peerlib's; `lie` variants:

    credit report  total_mismatch (default), negative_amount,
                   score_out_of_range, closed_without_date,
                   payment_out_of_range
    loan events    missing_result (default), reordered, unknown_status

wrong_person answers a report for the next IIN, and loan-event results
that name other event ids.

self_excluded (a voluntary refusal of loans, Law 56-V art. 3(3-3)) is false
unless the IIN was named by --self-excluded or by
    POST /_control/self-excluded  {"iin", "excluded": true|false}
(forgotten by /_control/reset, except the command line's).

A loan's monthly_payment_tiyn (optional in credit_report/1) is given only
when a test names it:
    POST /_control/monthly-payments  {"iin", "payments": [P0, P1, ...]}
gives loans[i] of that IIN's report the payment Pi (an integer 0..10^15,
or null to send null); loans past the list have none, and an empty list
forgets the IIN (so does /_control/reset).  Without it the report is
exactly peerlib.synthetic(iin).

Usage: credit_bureau.py --port 0 [--token T] [--tls-cert C --tls-key K
       [--client-ca CA]] [--delay-ms N] [--unknown-iin IIN]...
       [--self-excluded IIN]... [--port-file F]
"""

import re
import sys

import peerlib
from peerlib import ApiError, bad, want_date, want_int, want_object, want_str

REPORT_PURPOSES = ("loan_application_review", "loan_servicing")
EVENTS = ("issued", "payment", "overdue", "restructured", "closed", "written_off",
          "applied")
# An application's purposes (loan_event.md; 573-II Art. 19(2)(8)).
PURPOSES = ("consumer", "business", "refinancing", "other")
TIYN_MAX = 10 ** 15
BATCH_MAX = 500
RFC3339_UTC = r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z"


class Bureau(peerlib.Peer):
    name = "credit-bureau"
    routes = {"/v1/credit-reports": "credit_report", "/v1/loan-events": "loan_events"}

    def add_arguments(self, ap):
        ap.add_argument("--self-excluded", action="append",
                        help="an IIN whose report shows a voluntary refusal of loans")

    def configure(self, args):
        super().configure(args)
        self.excluded_at_start = set(args.self_excluded or ())
        self.excluded = set(self.excluded_at_start)
        self.payments = {}

    def reset(self):
        self.excluded = set(getattr(self, "excluded_at_start", ()))
        self.payments = {}

    def control_post(self, path, body):
        if path == "/_control/monthly-payments":
            return self.set_payments(body)
        if path != "/_control/self-excluded":
            return None
        if not isinstance(body, dict) or not isinstance(body.get("excluded"), bool):
            raise bad("excluded must be true or false")
        iin = peerlib.want_iin(body)
        if body["excluded"]:
            self.excluded.add(iin)
        else:
            self.excluded.discard(iin)
        return {"iin": iin, "excluded": body["excluded"]}

    def set_payments(self, body):
        want_object(body)
        iin = peerlib.want_iin(body)
        payments = body.get("payments")
        if not isinstance(payments, list) or len(payments) > 200 or any(
                p is not None and (not isinstance(p, int) or isinstance(p, bool) or
                                   not 0 <= p <= TIYN_MAX) for p in payments):
            raise bad("payments must be a list of at most 200 integers from 0 to %d "
                      "or nulls" % TIYN_MAX)
        if payments:
            self.payments[iin] = list(payments)
        else:
            self.payments.pop(iin, None)
        return {"iin": iin, "payments": payments}

    # ---- credit_report/1 -----------------------------------------------------

    def credit_report(self, body, ctx):
        want_object(body)
        iin = peerlib.want_iin(body)
        purpose = body.get("purpose")
        if not isinstance(purpose, str):
            raise bad("purpose must be a string")
        consent = body.get("consent")
        # 573-II Art. 17(1)(2): no report without the subject's confirmed
        # consent, and reports serve lending only (Art. 26(2)).
        if not isinstance(consent, dict) or \
                not isinstance(consent.get("id"), str) or not 1 <= len(consent["id"]) <= 64 or \
                not isinstance(consent.get("granted_at"), str) or \
                not re.fullmatch(RFC3339_UTC, consent["granted_at"]) or \
                not isinstance(consent.get("receipt_sha256"), str) or \
                len(consent["receipt_sha256"]) != 64 or \
                any(c not in "0123456789abcdef" for c in consent["receipt_sha256"]):
            raise ApiError(403, "consent_not_confirmed",
                           "a report needs the subject's confirmed consent")
        if purpose not in REPORT_PURPOSES:
            raise ApiError(403, "purpose_not_allowed",
                           "reports serve loan review and servicing only")
        self.known(iin)
        return self.report(iin, ctx.state)

    def report(self, iin, state):
        out = {"iin": iin, "report_id": "r-%06d" % state.next_number(),
               "generated_at": peerlib.now_rfc3339()}
        out.update(peerlib.synthetic(iin))
        out["self_excluded"] = iin in self.excluded
        for loan, p in zip(out["loans"], self.payments.get(iin, ())):
            loan["monthly_payment_tiyn"] = p
        return out

    def credit_report_wrong_person(self, body, answer):
        other = peerlib.next_iin(body["iin"])
        answer.update(peerlib.synthetic(other))
        answer["iin"] = other
        return answer

    def credit_report_lie(self, body, answer, variant):
        variant = variant or "total_mismatch"
        if variant == "total_mismatch":
            answer["total_debt_tiyn"] += 1
        elif variant == "negative_amount":
            if answer["loans"]:
                answer["loans"][0]["original_tiyn"] = -500
            else:
                answer["total_debt_tiyn"] = -1
        elif variant == "score_out_of_range":
            answer["score"] = {"value": 1000, "min": 0, "max": 999, "model": "v3"}
        elif variant == "closed_without_date":
            answer["has_history"] = True
            answer["loans"] = [{"contract_ref": "c-lie", "lender_kind": "bank",
                                "opened_on": "2020-01-01", "closed_on": None,
                                "original_tiyn": 100, "outstanding_tiyn": 0,
                                "overdue_days": 0, "overdue_tiyn": 0,
                                "status": "closed"}]
            answer["total_debt_tiyn"] = 0
        elif variant == "payment_out_of_range":
            if not answer["loans"]:
                answer["has_history"] = True
                answer["loans"] = [{"contract_ref": "c-lie", "lender_kind": "bank",
                                    "opened_on": "2020-01-01",
                                    "closed_on": "2020-06-01", "original_tiyn": 100,
                                    "outstanding_tiyn": 0, "overdue_days": 0,
                                    "overdue_tiyn": 0, "status": "closed"}]
            answer["loans"][0]["monthly_payment_tiyn"] = TIYN_MAX + 1
        return answer

    # ---- loan_event/1 --------------------------------------------------------

    def loan_events(self, body, ctx):
        want_object(body)
        events = body.get("events")
        if not isinstance(events, list) or not 1 <= len(events) <= BATCH_MAX:
            raise bad("events must be a list of 1 to %d events" % BATCH_MAX)
        for e in events:
            want_object(e, "an event")
            want_str(e, "event_id", 64)
        results = []
        for e in events:
            results.append(self.one_event(e, ctx.state))
        return {"results": results}

    def one_event(self, e, state):
        eid = e["event_id"]
        try:
            self.check_event(e)
        except ApiError as err:
            return {"event_id": eid, "status": "rejected",
                    "error": {"code": err.code, "message": err.message}}
        with state.lock:
            if eid in state.event_ids:
                return {"event_id": eid, "status": "duplicate", "error": None}
            state.event_ids.add(eid)
            kept = dict(e)
            kept["received_at"] = peerlib.now_rfc3339()
            state.events.append(kept)
        return {"event_id": eid, "status": "accepted", "error": None}

    def check_event(self, e):
        kind = e.get("event")
        if kind not in EVENTS:
            raise ApiError(422, "event_unknown", "event must be one of %s" % (EVENTS,))
        want_date(e, "occurred_on")
        want_str(e, "contract_number", 64)
        b = want_object(e.get("borrower"), "borrower")
        peerlib.want_iin(b)
        want_str(b, "surname", 100)
        want_str(b, "given_name", 100)
        want_str(b, "patronymic", 100, required=False)
        want_date(b, "birth_date")
        self.known(b["iin"])
        amount = want_int(e, "amount_tiyn", 0, TIYN_MAX, required=False)
        outstanding = want_int(e, "outstanding_tiyn", 0, TIYN_MAX, required=False)
        overdue = want_int(e, "overdue_days", 0, 36500, required=False)
        due = want_date(e, "due_date", required=False)
        if kind == "issued" and (amount is None or outstanding is None or due is None):
            raise ApiError(422, "issued_incomplete",
                           "issued needs amount_tiyn, outstanding_tiyn and due_date")
        if kind == "overdue" and not overdue:
            raise ApiError(422, "overdue_without_days", "overdue needs overdue_days > 0")
        if kind == "closed" and outstanding != 0:
            raise ApiError(422, "closed_with_debt", "closed needs outstanding_tiyn = 0")
        purpose = e.get("purpose")
        if kind == "applied" and (amount is None or purpose not in PURPOSES):
            raise ApiError(422, "applied_incomplete",
                           "applied needs amount_tiyn and a purpose of %s" % (PURPOSES,))
        if kind != "applied" and purpose is not None:
            raise ApiError(422, "invalid_request", "only applied has a purpose")

    def loan_events_wrong_person(self, body, answer):
        for r in answer["results"]:
            r["event_id"] = r["event_id"] + "-other"
        return answer

    def loan_events_lie(self, body, answer, variant):
        variant = variant or "missing_result"
        results = answer["results"]
        if variant == "missing_result":
            results.pop()
        elif variant == "reordered":
            if len(results) > 1:
                results.reverse()
            else:
                results.append(dict(results[0]))
        elif variant == "unknown_status":
            results[0]["status"] = "maybe"
        return answer


if __name__ == "__main__":
    sys.exit(peerlib.main(Bureau(), "credit bureau peer for tests"))
