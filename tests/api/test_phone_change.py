"""The sign-in phone is an authentication factor (issue 9, point 1; U4, S1,
S3, S4): no staff write may change it as a side effect, purposes have a
direction (some only read), and changing it is its own audited procedure —
staff maker-checker, or the borrower with codes to both numbers."""
import base64
import re

import pytest

from senim_harness import borrower, e164

ID = {"Senim-Purpose": "identification"}
REVIEW = {"Senim-Purpose": "loan_application_review"}
MARKETING = {"Senim-Purpose": "marketing"}


@pytest.fixture(scope="module")
def staff(senim):
    return {r: senim.service_token("ph-" + r, r)
            for r in ("underwriter", "support", "marketing", "dpo", "investigator")}


_phones = [0]


def fresh_phone():
    """A valid Kazakhstan mobile number no other test uses."""
    _phones[0] += 1
    import os
    n = (os.getpid() * 131 + _phones[0]) % 10 ** 7
    return "+7707%07d" % n


def sensitive_borrower(senim, staff, marketing=True):
    """A signed-in borrower with medical, criminal-record and biometric
    data, who accepted the policy and (optionally) marketing by SMS."""
    body = borrower()
    r = senim.post("/v1/subjects", body, token=staff["underwriter"], headers=ID)
    assert r.status == 201, r
    sid = r.json["id"]
    token = senim.borrower_token(body["phone"])
    senim.accept_policy(token)
    if marketing:
        g = senim.post("/v1/me/consents", {"kind": "marketing_sms", "channel": "web"},
                       token=token)
        assert g.status in (200, 201), g
    for cat, fields, who, purpose in (
            ("medical", {"legal_capacity": "full", "health_status": "DIAG-secret"},
             "underwriter", REVIEW),
            ("professional", {"criminal_record": "CRIM-secret"}, "underwriter", REVIEW),
            ("biometric", {"face_image": base64.b64encode(b"FACE-secret" * 20).decode()},
             "investigator", {"Senim-Purpose": "fraud_prevention"})):
        r = senim.request("PUT", f"/v1/subjects/{sid}/data/{cat}", token=staff[who],
                          headers=purpose, body={"fields": fields})
        assert r.status == 200, (cat, r)
    return sid, body, token


def sign_in(senim, phone):
    """OTP sign-in; the response of the verify call."""
    r = senim.post("/v1/auth/otp", {"phone": phone})
    assert r.status == 202, r
    code = senim.sms.last_code(e164(phone))
    return senim.post("/v1/auth/verify", {"phone": phone, "code": code})


# ---- the takeover (reproduction of the review's finding) --------------------------

@pytest.mark.parametrize("role,purpose", [("marketing", "marketing"),
                                          ("support", "customer_communication")])
def test_staff_cannot_take_over_an_account_through_the_contact_category(
        senim, staff, role, purpose):
    sid, body, _ = sensitive_borrower(senim, staff)
    attacker = fresh_phone()
    put = senim.request("PUT", f"/v1/subjects/{sid}/data/contact", token=staff[role],
                        headers={"Senim-Purpose": purpose},
                        body={"fields": {"phone_mobile": attacker}})
    # what the review did next: sign in with the new phone, read /v1/me
    v = sign_in(senim, attacker)
    leaked = ""
    if v.status == 200:
        me = senim.get("/v1/me", token=v.json["token"])
        leaked = me.body.decode() if me.status == 200 else ""
    for secret in ("DIAG-secret", "CRIM-secret", "face_image"):
        assert secret not in leaked, "account taken over: " + secret
    assert v.status == 401 and v.json["code"] == "invalid_code", v
    assert put.status in (403, 409), put
    # the borrower's own phone still signs the borrower in
    assert sign_in(senim, body["phone"]).status == 200
    # the contact record still holds the old phone
    r = senim.get(f"/v1/subjects/{sid}/data/contact", token=staff["underwriter"], headers=ID)
    assert r.json["fields"]["phone_mobile"] == e164(body["phone"]), r


# ---- purposes have a direction -------------------------------------------------------

@pytest.mark.parametrize("role,purpose,category,fields", [
    ("marketing", "marketing", "contact", {"actual_address": "Алматы, Абая 1"}),
    ("marketing", "marketing_campaign_design", "device", {"os": "Android 14"}),
    ("investigator", "internal_investigation", "medical", {"legal_capacity": "limited"}),
    ("investigator", "internal_investigation", "contact", {"workplace": "ТОО Ромашка"}),
    ("dpo", "security_compliance", "identity", {"place_of_birth": "Шымкент"}),
])
def test_read_only_purposes_never_write(senim, staff, role, purpose, category, fields):
    sid, _, _ = sensitive_borrower(senim, staff)
    before = senim.sql(f"SELECT COUNT(*) FROM subject_records WHERE subject_id = '{sid}'")
    r = senim.request("PUT", f"/v1/subjects/{sid}/data/{category}", token=staff[role],
                      headers={"Senim-Purpose": purpose, "Accept-Language": "en"},
                      body={"fields": fields})
    assert r.status == 403 and r.json["code"] == "purpose_read_only", r
    assert (r.json["purpose"], r.json["category"]) == (purpose, category), r.json
    assert "never change it" in r.json["detail"], r.json
    for lang in ("ru", "kk"):
        t = senim.request("PUT", f"/v1/subjects/{sid}/data/{category}", token=staff[role],
                          headers={"Senim-Purpose": purpose, "Accept-Language": lang},
                          body={"fields": fields})
        assert t.status == 403 and t.json["detail"] != r.json["detail"], t
    # nothing written; the refusal is on record, naming purpose and category
    assert senim.sql(f"SELECT COUNT(*) FROM subject_records WHERE subject_id = '{sid}'") == before
    rows = senim.sql("SELECT actor, operation, subject_id, categories, purpose, outcome"
                     " FROM audit_log WHERE request_id = '%s'" % r.header("X-Request-Id"))
    assert len(rows) == 1, rows
    actor, op, subject, cats, why, outcome = rows[0]
    assert actor.startswith("staff:") and op == "subject.write" and subject == sid
    assert (cats, why, outcome) == (category, purpose, "denied"), rows
    # the same purpose still reads the category
    g = senim.get(f"/v1/subjects/{sid}/data/{category}", token=staff[role],
                  headers={"Senim-Purpose": purpose})
    assert g.status in (200, 404), g
    assert g.status == 200 or g.json["code"] == "record_not_found", g


def test_a_purpose_that_writes_still_writes(senim, staff):
    sid, _, _ = sensitive_borrower(senim, staff)
    r = senim.request("PUT", f"/v1/subjects/{sid}/data/contact", token=staff["support"],
                      headers={"Senim-Purpose": "customer_communication"},
                      body={"fields": {"actual_address": "Астана, Мәңгілік Ел 8"}})
    assert r.status == 200 and r.json["version"] == 2, r

