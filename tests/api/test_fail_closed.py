"""Fail closed (S4): when the audit record cannot be written, no route hands
out a borrower's personal data or changes it.

The routes come from the route table of src/api/routes.c (parsed as
test_openapi.py parses it, which also holds docs/openapi.yaml to it): every
route is either called here or named in NO_BORROWER_DATA with the reason it
carries none, so a new route fails this test until someone says which it is.

The audit write is made to fail from outside the server, as a broken disk or
a full tablespace would: a trigger that raises on every insert into
audit_log.  Each route is then called as a caller allowed to use it; the
answer must be a 5xx problem without any of the borrower's data in it, and
the server's log must hold none either.  Once the trigger is gone the very
same calls succeed, which shows they were well-formed calls and that the
5xx came from the audit write alone (and that nothing was half-done).
"""
import json

import pytest

from senim_harness import BACKEND, borrower, e164
from test_openapi import _routes

ID = {"Senim-Purpose": "identification"}
REVIEW = {"Senim-Purpose": "loan_application_review"}
LEGAL = {"Senim-Purpose": "legal_obligation"}

# Routes that carry no borrower's personal data, with why.  Everything else
# in the route table must have a call in CALLS below.
NO_BORROWER_DATA = {
    "healthz": "liveness only",
    "readyz": "readiness only",
    "metrics": "counters by route, no one's data",
    "staff_enroll": "a staff member's own enrolment; no borrower's data",
    "staff_sign_in": "a staff member's own session; no borrower's data",
    "staff_sign_out": "204 without a body",
    "staff_me": "the caller's own login and role; no borrower's data",
    "policy_list": "public policy texts",
    "policy_publish": "a policy text (its audit is held by test_audit.py)",
    "policy_current": "the public policy text",
    "policy_get": "a public policy text",
    "auth_otp": "202 without a body; the code goes by SMS",
    "auth_sign_out": "204 without a body",
    "audit_verify": "the chain's state: counts and sequence numbers",
    "product_create": "the product catalogue; no one's data",
    "product_list": "the product catalogue; no one's data",
    "product_get": "the product catalogue; no one's data",
    "me_products": "the active products of the catalogue; no one's data",
}

# Routes on a borrower's data whose fail-closed test is another one below:
# each changes the sign-in phone and revokes sessions, which the shared
# sequence of CALLS could not survive.
ELSEWHERE = {
    "phone_change_propose": "test_phone_changes_fail_closed_without_audit",
    "phone_change_approve": "test_phone_changes_fail_closed_without_audit",
    "me_phone": "test_phone_changes_fail_closed_without_audit",
    "me_phone_confirm": "test_phone_changes_fail_closed_without_audit",
    # needs a recipients file and a bureau peer, which test_exchange.py runs
    "subject_check_report": "test_exchange.py::test_fail_closed_without_audit",
    # the same, with an operator and a state database (test_checks.py)
    "subject_check_phone": "test_checks.py::test_fail_closed_without_audit",
    "subject_check_family": "test_checks.py::test_fail_closed_without_audit",
    "subject_check_address": "test_checks.py::test_fail_closed_without_audit",
    "subject_check_capacity": "test_checks.py::test_fail_closed_without_audit",
    # a processor abroad, with its peer (test_processing.py)
    "subject_check_scoring": "test_processing.py::test_fail_closed_without_audit",
    # findings exist only after a state database's check
    "subject_findings": "test_checks.py::test_findings_fail_closed_without_audit",
    "subject_finding_resolve": "test_checks.py::test_findings_fail_closed_without_audit",
    # the register's entries are written by the exchange (issue 11); the
    # test makes its own and checks both lists fail closed
    "me_disclosures": "test_disclosures.py::test_lists_fail_closed_without_audit",
    "me_request_file": "test_requests.py::test_requests_fail_closed_without_audit",
    "me_requests": "test_requests.py::test_requests_fail_closed_without_audit",
    "me_request": "test_requests.py::test_requests_fail_closed_without_audit",
    "me_request_package": "test_rights.py::test_package_fail_closed_without_audit",
    "subject_request_file": "test_requests.py::test_requests_fail_closed_without_audit",
    "requests": "test_requests.py::test_requests_fail_closed_without_audit",
    "request_get": "test_requests.py::test_requests_fail_closed_without_audit",
    "request_assign": "test_requests.py::test_requests_fail_closed_without_audit",
    "request_answer": "test_requests.py::test_requests_fail_closed_without_audit",
    "disclosures": "test_disclosures.py::test_lists_fail_closed_without_audit",
    # applications need the loan rules and a product (test_applications.py)
    "me_apply": "test_applications.py::test_applications_fail_closed_without_audit",
    "me_applications": "test_applications.py::test_applications_fail_closed_without_audit",
    "me_application": "test_applications.py::test_applications_fail_closed_without_audit",
    "me_application_withdraw":
        "test_applications.py::test_applications_fail_closed_without_audit",
    "me_application_refuse":
        "test_applications.py::test_applications_fail_closed_without_audit",
    "me_application_submit": "test_decisions.py::test_submission_fails_closed_without_audit",
    "me_application_offer": "test_decisions.py::test_submission_fails_closed_without_audit",
    "application_lock": "test_decisions.py::test_staff_fail_closed_without_audit",
    "application_unlock": "test_decisions.py::test_unlock_fails_closed_without_audit",
    "application_decide": "test_decisions.py::test_staff_fail_closed_without_audit",
    "application_confirm": "test_decisions.py::test_staff_fail_closed_without_audit",
    "applications": "test_applications.py::test_applications_fail_closed_without_audit",
    "application_get": "test_applications.py::test_applications_fail_closed_without_audit",
    # a contract needs an approved application, the template and the SMS peer
    "me_application_accept": "test_contracts.py::test_contracts_fail_closed_without_audit",
    "me_application_sign": "test_contracts.py::test_contracts_fail_closed_without_audit",
    "me_application_contract": "test_contracts.py::test_contracts_fail_closed_without_audit",
    "me_application_receipt": "test_contracts.py::test_contracts_fail_closed_without_audit",
    "application_contract": "test_contracts.py::test_contracts_fail_closed_without_audit",
    # the payout needs a signed contract and the payment provider's peer
    "me_payout_confirm": "test_c2_walk.py::test_payout_acts_fail_closed_without_audit",
    "me_application_cancel": "test_c2_walk.py::test_payout_acts_fail_closed_without_audit",
    "payout_failures": "test_c2_walk.py::test_payout_acts_fail_closed_without_audit",
    "payout_retry": "test_c2_walk.py::test_payout_acts_fail_closed_without_audit",
    "payout_close": "test_c2_walk.py::test_payout_acts_fail_closed_without_audit",
    # the card binding needs the payment provider's peer
    "me_card_start": "test_cards.py::test_cards_fail_closed_without_audit",
    "me_cards": "test_cards.py::test_cards_fail_closed_without_audit",
    "me_card": "test_cards.py::test_cards_fail_closed_without_audit",
    "me_card_remove": "test_cards.py::test_cards_fail_closed_without_audit",
    # loans come from `senim loans import` and payments need the loan rules
    "loan_payment": "test_payments.py::test_loans_fail_closed_without_audit",
    "me_loans": "test_payments.py::test_loans_fail_closed_without_audit",
    "me_loan": "test_payments.py::test_loans_fail_closed_without_audit",
    "me_loan_schedule": "test_payments.py::test_loans_fail_closed_without_audit",
    "me_loan_payments": "test_payments.py::test_loans_fail_closed_without_audit",
    "me_restructuring_create":
        "test_restructuring.py::test_restructuring_fails_closed_without_audit",
    "me_restructuring": "test_restructuring.py::test_restructuring_fails_closed_without_audit",
    "restructurings": "test_restructuring.py::test_restructuring_fails_closed_without_audit",
    "restructuring_decide":
        "test_restructuring.py::test_restructuring_fails_closed_without_audit",
}

# How to call each route that touches a borrower's data: who calls, which
# path parameters, headers and body.  `ctx` holds the subject, the borrower's
# token and staff tokens set up before the audit write is broken.
CALLS = {
    "auth_verify": lambda c: dict(token=None, body={"phone": c.body["phone"],
                                                    "code": c.code}),
    "subject_register": lambda c: dict(token=c.uw, headers=ID, body=c.second),
    "subject_search": lambda c: dict(token=c.uw, headers=ID, body={"iin": c.body["iin"]}),
    "subject_data": lambda c: dict(token=c.uw, headers=ID),
    "subject_category": lambda c: dict(token=c.uw, headers=ID, category="identity"),
    "subject_put": lambda c: dict(token=c.uw, headers=REVIEW, category="professional",
                                  body={"fields": {"education": "postgraduate"}}),
    "subject_history": lambda c: dict(token=c.uw, headers=ID, category="identity"),
    "subject_block": lambda c: dict(token=c.dpo, body={"reason": "borrower_request"}),
    "subject_unblock": lambda c: dict(token=c.dpo),
    "subject_restrict": lambda c: dict(token=c.dpo,
                                       body={"allowed_purposes": ["loan_servicing"]}),
    "subject_unrestrict": lambda c: dict(token=c.dpo),
    "subject_protection": lambda c: dict(token=c.dpo),
    "subject_hold_set": lambda c: dict(token=c.dpo, body={"kind": "court",
                                                          "reference": "2-77/2026"}),
    "subject_hold_lift": lambda c: dict(token=c.dpo),
    "subject_consents": lambda c: dict(token=c.dpo, headers=LEGAL),
    "subject_package": lambda c: dict(token=c.dpo),
    "subject_package_html": lambda c: dict(token=c.dpo),
    "subject_limit_set": lambda c: dict(token=c.dpo, body={"ground": "other_law",
                                                           "reference": "fc-1"}),
    "subject_limit_lift": lambda c: dict(token=c.dpo),
    "me": lambda c: dict(token=c.token),
    "me_accept_policy": lambda c: dict(token=c.token, body={
        "version": c.policy, "language": "ru", "channel": "web"}),
    "me_consents": lambda c: dict(token=c.token),
    "me_grant": lambda c: dict(token=c.token, body={"kind": "marketing_sms",
                                                    "channel": "web"}),
    "me_withdraw": lambda c: dict(token=c.token, consent=c.consent_id),
}


def block_audit_sql():
    if BACKEND == "postgres":
        return ("CREATE TRIGGER block_audit BEFORE INSERT ON audit_log"
                " FOR EACH ROW EXECUTE FUNCTION senim_refuse_change()")
    return ("CREATE TRIGGER block_audit BEFORE INSERT ON audit_log"
            " BEGIN SELECT RAISE(ABORT, 'blocked'); END;")


def unblock_audit_sql():
    return "DROP TRIGGER block_audit" + (" ON audit_log" if BACKEND == "postgres" else "")


class Ctx:
    """A registered borrower who signed in and accepted the policy, one
    consent to withdraw, and the staff who act on them."""

    def __init__(self, s, tag=""):
        self.s = s
        self.uw = s.service_token("fc-underwriter" + tag, "underwriter")
        self.dpo = s.service_token("fc-dpo" + tag, "dpo")
        self.body = borrower(surname="Аудитова", given_name="Сәуле",
                             patronymic="Бекқызы", sex="F", birth_date="1979-11-23",
                             email="saule.auditova@example.kz")
        r = s.post("/v1/subjects", self.body, token=self.uw, headers=ID)
        assert r.status == 201, r
        self.sid = r.json["id"]
        self.token = s.borrower_token(self.body["phone"])
        self.policy = s.ensure_policy()
        s.accept_policy(self.token)
        r = s.post("/v1/me/consents", {"kind": "state_database", "channel": "web"},
                   token=self.token)
        assert r.status == 201, r
        self.consent_id = r.json["id"]
        # a sign-in code asked for now (asking is audited too) and used
        # while the audit write fails, then again once it works
        r = s.post("/v1/auth/otp", {"phone": self.body["phone"]})
        assert r.status == 202, r
        self.code = s.sms.last_code(e164(self.body["phone"]))
        # registered while the audit write fails: it must not exist after
        self.second = borrower(surname="Тексерова", given_name="Айгерім",
                               patronymic="Маратқызы", sex="F", birth_date="1991-02-14",
                               email="aigerim.tekserova@example.kz")

    def personal(self, with_ids=True):
        """Strings that must not leave the server while the audit fails."""
        out = []
        for b in (self.body, self.second):
            digits = "".join(ch for ch in b["phone"] if ch.isdigit())
            out += [b["iin"], b["surname"], b["given_name"], b["patronymic"],
                    b["email"], b["birth_date"], digits[-10:]]
        if with_ids:
            out += [self.sid, self.consent_id]
        return out


def request_for(route, ctx):
    spec = CALLS[route["name"]](ctx)
    path = route["path"].replace("{id}", spec.pop("consent", ctx.sid))
    path = path.replace("{category}", spec.pop("category", "identity"))
    return dict(method=route["method"], path=path, token=spec.get("token"),
                headers=spec.get("headers"), body=spec.get("body"))


def leaks(text, personal):
    return [p for p in personal if p and p in text]


def body_text(r):
    """The body as sent and, when it is JSON, as decoded (\\u escapes)."""
    raw = r.body.decode("utf-8", "replace")
    try:
        return raw + json.dumps(json.loads(raw), ensure_ascii=False)
    except ValueError:
        return raw


def test_every_route_on_borrower_data_fails_closed_without_audit(senim):
    routes = _routes()[0]
    names = {r["name"] for r in routes}
    assert not set(NO_BORROWER_DATA) - names, \
        "NO_BORROWER_DATA names routes that are gone: %s" % sorted(set(NO_BORROWER_DATA) - names)
    assert not set(CALLS) - names, "CALLS names routes that are gone: %s" % sorted(
        set(CALLS) - names)
    assert not set(ELSEWHERE) - names, "ELSEWHERE names routes that are gone"
    unclassified = sorted(names - set(NO_BORROWER_DATA) - set(CALLS) - set(ELSEWHERE))
    assert not unclassified, (
        "routes neither called by this test nor listed as carrying no borrower data:"
        " %s; add a call to CALLS (or a reason to NO_BORROWER_DATA)" % unclassified)
    tested = [r for r in routes if r["name"] in CALLS]
    assert any(r["borrower"] for r in tested) and any(
        not r["borrower"] and r["roles"] != ("public",) for r in tested)

    s = senim
    ctx = Ctx(s)
    s.sql(block_audit_sql())
    try:
        answers = {}
        for route in tested:
            req = request_for(route, ctx)
            r = s.request(req["method"], req["path"], body=req["body"],
                          headers=req["headers"], token=req["token"])
            answers[route["name"]] = r
    finally:
        s.sql(unblock_audit_sql())

    failures = []
    for name, r in answers.items():
        found = leaks(body_text(r), ctx.personal())
        if r.status < 500 or r.header("Content-Type") != "application/problem+json" or found:
            failures.append("%s: %s %s%s" % (name, r.status, r.body[:200],
                                              " leaks %s" % found if found else ""))
    assert not failures, "answered without an audit record:\n  " + "\n  ".join(failures)
    # The log (the server's stderr: access log, events, failures) names
    # requests by id, never by person; ids are in URLs by design, so only
    # the borrowers' data is looked for.
    logged = s.read_log()
    assert not leaks(logged, ctx.personal(with_ids=False)), leaks(logged, ctx.personal(False))

    # Nothing was half-done, and the same calls were good ones: with the
    # audit write back they succeed, in the same order (the second borrower
    # registers now, so was not registered then; the consent is withdrawn
    # now, so was not then).
    again = {}
    for route in tested:
        req = request_for(route, ctx)
        r = s.request(req["method"], req["path"], body=req["body"],
                      headers=req["headers"], token=req["token"])
        again[route["name"]] = r
    bad = ["%s: %s %s" % (n, r.status, r.body[:200]) for n, r in again.items()
           if not 200 <= r.status < 300]
    assert not bad, "calls that fail with the audit working:\n  " + "\n  ".join(bad)
    # and every read among them did carry the borrower's data (or ids)
    for route in tested:
        if route["method"] == "GET":
            assert leaks(body_text(again[route["name"]]), ctx.personal()), route["name"]


def test_phone_changes_fail_closed_without_audit(senim):
    """No phone change is proposed, approved, asked for or confirmed while
    its audit record cannot be written: each answers 5xx with no phone in it,
    no code goes out, and once the audit works again nothing had changed."""
    s = senim
    ctx = Ctx(s, tag="-phone")
    sup = s.service_token("fc-support", "support")
    old = e164(ctx.body["phone"])
    new_staff, new_own, new_pending = "+77071234561", "+77071234562", "+77071234563"
    # made while the audit works: a pending proposal, and the borrower's own
    # request with its two codes
    r = s.post(f"/v1/subjects/{ctx.sid}/phone-changes",
               {"new_phone": new_pending, "identity_check": "document_in_person"}, token=sup)
    assert r.status == 201, r
    pending = r.json["change_id"]
    r = s.post("/v1/me/phone", {"phone": new_own}, token=ctx.token)
    assert r.status == 202, r
    own = r.json["change_id"]
    codes = {"change_id": own, "code_old": s.sms.last_code(old),
             "code_new": s.sms.last_code(new_own)}
    sent = len(s.sms.messages())
    rows = s.sql("SELECT id, status FROM phone_changes ORDER BY id")

    s.sql(block_audit_sql())
    try:
        answers = [
            s.post(f"/v1/subjects/{ctx.sid}/phone-changes",
                   {"new_phone": new_staff, "identity_check": "document_in_person"},
                   token=sup),
            s.post(f"/v1/subjects/{ctx.sid}/phone-changes/{pending}/approve", token=ctx.uw),
            s.post("/v1/me/phone", {"phone": "+77071234564"}, token=ctx.token),
            s.post("/v1/me/phone/confirm", codes, token=ctx.token),
        ]
    finally:
        s.sql(unblock_audit_sql())

    phones = [p[2:] for p in (old, new_staff, new_own, new_pending, "+77071234564")]
    for r in answers:
        assert r.status >= 500 and r.header("Content-Type") == "application/problem+json", r
        assert not leaks(body_text(r), phones + ctx.personal(with_ids=False)), r
    assert len(s.sms.messages()) == sent, "an SMS went out without its audit record"
    assert s.sql("SELECT id, status FROM phone_changes ORDER BY id") == rows
    # the phone is still the old one: it signs in; the new ones sign nobody in
    for phone, status in ((old, 200), (new_own, 401), (new_pending, 401)):
        assert s.post("/v1/auth/otp", {"phone": phone}).status == 202
        r = s.post("/v1/auth/verify", {"phone": phone, "code": s.sms.last_code(phone)})
        assert r.status == status, (phone, r)
    assert s.get("/v1/me", token=ctx.token).status == 200, "sessions were revoked"
