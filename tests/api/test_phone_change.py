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



# ---- staff: maker-checker -----------------------------------------------------------

def propose(senim, token, sid, phone, check="document_in_person"):
    return senim.post(f"/v1/subjects/{sid}/phone-changes",
                      {"new_phone": phone, "identity_check": check}, token=token)


def approve(senim, token, sid, change):
    return senim.post(f"/v1/subjects/{sid}/phone-changes/{change}/approve", token=token)


def audit_of(senim, sid, op):
    return senim.sql("SELECT actor, object, outcome, purpose, categories FROM audit_log"
                     f" WHERE subject_id = '{sid}' AND operation = '{op}' ORDER BY seq")


def test_maker_checker_changes_the_phone_revokes_sessions_and_tells_the_old_number(
        senim, staff):
    sid, body, session = sensitive_borrower(senim, staff)
    second = sign_in(senim, body["phone"]).json["token"]
    old, new = e164(body["phone"]), fresh_phone()
    r = propose(senim, staff["support"], sid, new.replace("+7", "8"))
    assert r.status == 201 and r.json["status"] == "pending", r
    change = r.json["change_id"]
    assert change.startswith("pch_") and new not in r.body.decode()
    # the new phone is sealed: no plain text of it in the table
    row = repr(senim.sql(f"SELECT * FROM phone_changes WHERE id = '{change}'"))
    assert new not in row and new[1:] not in row and new[2:] not in row, row
    # nothing changed yet: the old phone still signs in, the new one does not
    assert sign_in(senim, new).status == 401
    # the proposer cannot approve, nor anyone of the proposer's role
    r = approve(senim, staff["support"], sid, change)
    assert r.status == 403 and r.json["code"] == "phone_change_self_approval", r
    other_support = senim.service_token("ph-support-2", "support")
    r = approve(senim, other_support, sid, change)
    assert r.status == 403 and r.json["code"] == "phone_change_same_role", r
    assert r.json["proposer_role"] == "support"
    for role in ("marketing", "dpo", "investigator"):
        r = approve(senim, staff[role], sid, change)
        assert r.status == 403 and r.json["code"] == "forbidden_role", (role, r)
    # a member of another role approves
    sent_before = len(senim.sms.messages(old))
    r = approve(senim, staff["underwriter"], sid, change)
    assert r.status == 200, r
    assert r.json["status"] == "applied" and r.json["notice"] == "sent", r
    assert r.json["sessions_revoked"] >= 2, r
    # every borrower session is gone
    for t in (session, second):
        assert senim.get("/v1/me", token=t).status == 401
    # the old number got the notice, without the new number in full
    notices = senim.sms.messages(old)[sent_before:]
    assert len(notices) == 1, notices
    text = notices[0]["text"]
    assert change in text and new[-2:] in text, text
    assert new not in text and new[2:] not in text and new[-7:] not in text, text
    # the old phone signs nobody in; the new one signs the borrower in
    assert sign_in(senim, body["phone"]).status == 401
    v = sign_in(senim, new)
    assert v.status == 200, v
    me = senim.get("/v1/me", token=v.json["token"])
    assert me.status == 200 and me.json["subject_id"] == sid
    assert me.json["categories"]["contact"]["fields"]["phone_mobile"] == new
    # (c) the sign-in names the change that preceded it
    signin = senim.sql("SELECT actor, object, outcome FROM audit_log WHERE operation ="
                       " 'borrower.sign_in' AND request_id = '%s'" % v.header("X-Request-Id"))
    assert signin == [["borrower:" + sid, "phone_change:" + change, "success"]], signin
    # all of it on record
    obj = "phone_change:" + change
    proposals = audit_of(senim, sid, "subject.phone_change_propose")
    assert proposals[-1][1:] == [obj, "success", "identification", "contact"], proposals
    approvals = [row[2] for row in audit_of(senim, sid, "subject.phone_change_approve")]
    assert approvals == ["denied", "denied", "success"], approvals
    assert audit_of(senim, sid, "subject.phone_change")[-1][1:3] == [obj, "success"]
    assert audit_of(senim, sid, "subject.phone_notice")[-1][1:3] == [obj, "success"]
    # a change is applied once
    r = approve(senim, staff["underwriter"], sid, change)
    assert r.status == 409 and r.json["code"] == "phone_change_not_pending", r


def test_an_underwriters_proposal_is_approved_by_support(senim, staff):
    sid, body, _ = sensitive_borrower(senim, staff, marketing=False)
    change = propose(senim, staff["underwriter"], sid, fresh_phone(), "digital_id").json["change_id"]
    r = approve(senim, staff["underwriter"], sid, change)
    assert r.status == 403 and r.json["code"] == "phone_change_self_approval", r
    r = approve(senim, staff["support"], sid, change)
    assert r.status == 200 and r.json["status"] == "applied", r


def test_a_proposal_expires(senim, staff):
    sid, body, _ = sensitive_borrower(senim, staff, marketing=False)
    new = fresh_phone()
    r = propose(senim, staff["support"], sid, new)
    change = r.json["change_id"]
    assert r.status == 201
    # 24 hours later (moved back in the store rather than waited for)
    senim.sql(f"UPDATE phone_changes SET expires_at = 1 WHERE id = '{change}'")
    r = approve(senim, staff["underwriter"], sid, change)
    assert r.status == 409 and r.json["code"] == "phone_change_expired", r
    assert sign_in(senim, new).status == 401
    assert sign_in(senim, body["phone"]).status == 200
    assert audit_of(senim, sid, "subject.phone_change_approve")[-1][2] == "denied"


def test_proposal_rules(senim, staff):
    sid, body, _ = sensitive_borrower(senim, staff, marketing=False)
    # the current phone is no change
    r = propose(senim, staff["support"], sid, body["phone"])
    assert r.status == 409 and r.json["code"] == "phone_unchanged", r
    # the attestation of the identity check is required, from a fixed list
    r = senim.post(f"/v1/subjects/{sid}/phone-changes", {"new_phone": fresh_phone()},
                   token=staff["support"])
    assert r.status == 422 and (r.json["field"], r.json["rule"]) == ("identity_check", "required")
    r = propose(senim, staff["support"], sid, fresh_phone(), "trust_me")
    assert r.status == 422 and r.json["field"] == "identity_check", r
    r = propose(senim, staff["support"], sid, "12345")
    assert r.status == 422 and (r.json["field"], r.json["rule"]) == ("new_phone", "format"), r
    assert "12345" not in r.body.decode()
    # unknown subject, unknown change
    r = propose(senim, staff["support"], "sbj_AAAAAAAAAAAAAAAAAAAAAA", fresh_phone())
    assert r.status == 404 and r.json["code"] == "subject_not_found", r
    r = approve(senim, staff["underwriter"], sid, "pch_AAAAAAAAAAAAAAAAAAAAAA")
    assert r.status == 404 and r.json["code"] == "phone_change_not_found", r
    r = approve(senim, staff["underwriter"], sid, "nonsense")
    assert r.status == 404 and r.json["code"] == "phone_change_not_found", r
    # another subject's change is not found under this subject
    sid2, _, _ = sensitive_borrower(senim, staff, marketing=False)
    change = propose(senim, staff["support"], sid2, fresh_phone()).json["change_id"]
    r = approve(senim, staff["underwriter"], sid, change)
    assert r.status == 404 and r.json["code"] == "phone_change_not_found", r
    # a newer proposal supersedes the pending one
    newer = propose(senim, staff["support"], sid2, fresh_phone()).json["change_id"]
    r = approve(senim, staff["underwriter"], sid2, change)
    assert r.status == 409 and r.json["code"] == "phone_change_not_pending", r
    assert approve(senim, staff["underwriter"], sid2, newer).status == 200
    # a blocked subject's phone is not changed by staff (R3)
    assert senim.post(f"/v1/subjects/{sid}/block", {"reason": "court_order"},
                      token=staff["dpo"]).status == 200
    r = propose(senim, staff["support"], sid, fresh_phone())
    assert r.status == 403 and r.json["code"] == "subject_blocked", r


# ---- the borrower's own change --------------------------------------------------------

def test_the_borrower_changes_the_phone_with_codes_to_both_numbers(senim, staff):
    sid, body, session = sensitive_borrower(senim, staff, marketing=False)
    other = sign_in(senim, body["phone"]).json["token"]
    old, new = e164(body["phone"]), fresh_phone()
    r = senim.post("/v1/me/phone", {"phone": new}, token=session)
    assert r.status == 202 and r.json["status"] == "sent", r
    change = r.json["change_id"]
    code_old = senim.sms.last_code(old)
    code_new = senim.sms.last_code(new)
    row = repr(senim.sql(f"SELECT * FROM phone_changes WHERE id = '{change}'"))
    assert new not in row and code_old not in row and code_new not in row
    # one code is not enough; a wrong pair costs an attempt and is on record
    wrong = "%06d" % ((int(code_new) + 1) % 1000000)
    r = senim.post("/v1/me/phone/confirm", {"change_id": change, "code_old": code_old,
                                            "code_new": wrong}, token=session)
    assert r.status == 403 and r.json["code"] == "phone_change_code_invalid", r
    # the codes are not interchangeable
    r = senim.post("/v1/me/phone/confirm", {"change_id": change, "code_old": code_new,
                                            "code_new": code_old}, token=session)
    assert r.status == 403, r
    sent_before = len(senim.sms.messages(old))
    r = senim.post("/v1/me/phone/confirm", {"change_id": change, "code_old": code_old,
                                            "code_new": code_new}, token=session)
    assert r.status == 200 and r.json["status"] == "applied", r
    assert r.json["notice"] == "sent" and r.json["sessions_revoked"] >= 1, r
    # the confirming session stays, every other one is revoked
    assert senim.get("/v1/me", token=session).status == 200
    assert senim.get("/v1/me", token=other).status == 401
    notice = senim.sms.messages(old)[sent_before:]
    assert len(notice) == 1 and new not in notice[0]["text"], notice
    assert sign_in(senim, body["phone"]).status == 401
    v = sign_in(senim, new)
    assert v.status == 200
    # a borrower's own change is no staff change: the sign-in names the subject
    signin = senim.sql("SELECT object FROM audit_log WHERE operation = 'borrower.sign_in'"
                       " AND request_id = '%s'" % v.header("X-Request-Id"))
    assert signin == [["subject:" + sid]], signin
    ops = [row[2] for row in audit_of(senim, sid, "subject.phone_change_confirm")]
    assert ops[-3:] == ["failed", "failed", "success"], ops
    assert audit_of(senim, sid, "subject.phone_change")[-1][0] == "borrower:" + sid
    # the change is done once
    r = senim.post("/v1/me/phone/confirm", {"change_id": change, "code_old": code_old,
                                            "code_new": code_new}, token=session)
    assert r.status == 409 and r.json["code"] == "phone_change_not_pending", r


def test_the_borrowers_codes_run_out(senim, staff):
    sid, body, session = sensitive_borrower(senim, staff, marketing=False)
    new = fresh_phone()
    change = senim.post("/v1/me/phone", {"phone": new}, token=session).json["change_id"]
    code_old, code_new = senim.sms.last_code(e164(body["phone"])), senim.sms.last_code(new)
    for _ in range(5):
        r = senim.post("/v1/me/phone/confirm", {"change_id": change, "code_old": "000000",
                                                "code_new": "000000"}, token=session)
        assert r.status == 403
    r = senim.post("/v1/me/phone/confirm", {"change_id": change, "code_old": code_old,
                                            "code_new": code_new}, token=session)
    assert r.status == 403 and r.json["code"] == "phone_change_code_invalid", r
    # a staff proposal is not confirmed by a borrower, nor the other way round
    staff_change = propose(senim, staff["support"], sid, fresh_phone()).json["change_id"]
    r = senim.post("/v1/me/phone/confirm", {"change_id": staff_change, "code_old": code_old,
                                            "code_new": code_new}, token=session)
    assert r.status == 404 and r.json["code"] == "phone_change_not_found", r
    r = approve(senim, staff["underwriter"], sid, change)
    assert r.status == 404 and r.json["code"] == "phone_change_not_found", r
    # staff tokens do not reach the borrower's routes
    r = senim.post("/v1/me/phone", {"phone": new}, token=staff["support"])
    assert r.status == 403 and r.json["code"] == "forbidden_role", r


def test_a_change_applied_voids_the_other_pending_ones(senim, staff):
    """A staff proposal made before the borrower changed the phone was about
    the old phone: it cannot be approved afterwards."""
    sid, body, session = sensitive_borrower(senim, staff, marketing=False)
    pending = propose(senim, staff["support"], sid, fresh_phone()).json["change_id"]
    new = fresh_phone()
    change = senim.post("/v1/me/phone", {"phone": new}, token=session).json["change_id"]
    r = senim.post("/v1/me/phone/confirm",
                   {"change_id": change, "code_old": senim.sms.last_code(e164(body["phone"])),
                    "code_new": senim.sms.last_code(new)}, token=session)
    assert r.status == 200, r
    r = approve(senim, staff["underwriter"], sid, pending)
    assert r.status == 409 and r.json["code"] == "phone_change_not_pending", r
    assert sign_in(senim, new).status == 200
