"""Borrowers' own access and the consent ledger (issue 4): SMS sign-in
through a real gateway peer, the policy gate, consents with signed receipts,
and C2 — no withdrawal while an obligation is open."""
import json
import os
import re

import pytest

from senim_harness import Senim, borrower, e164

ID = {"Senim-Purpose": "identification"}


@pytest.fixture(scope="module")
def staff(senim):
    return {r: senim.service_token("b-" + r, r) for r in ("underwriter", "support", "dpo",
                                                           "marketing", "admin")}


def new_borrower(senim, staff):
    body = borrower()
    r = senim.post("/v1/subjects", body, token=staff["underwriter"], headers=ID)
    assert r.status == 201, r
    return r.json["id"], body


def signed_in(senim, staff, accept=True):
    sid, body = new_borrower(senim, staff)
    token = senim.borrower_token(body["phone"])
    if accept:
        senim.accept_policy(token)
    return sid, body, token


# ---- signing in -------------------------------------------------------------------

def test_code_by_sms_and_sign_in(senim, staff):
    sid, body = new_borrower(senim, staff)
    r = senim.post("/v1/auth/otp", {"phone": body["phone"]})
    assert r.status == 202 and r.json == {"status": "sent", "expires_in": 300}
    msg = senim.sms.messages(e164(body["phone"]))[-1]
    code = re.search(r"\b(\d{6})\b", msg["text"]).group(1)
    assert msg["reference"] == r.header("X-Request-Id")
    r = senim.post("/v1/auth/verify", {"phone": body["phone"], "code": code})
    assert r.status == 200 and r.json["token"].startswith("snb_")
    # the code is good once
    again = senim.post("/v1/auth/verify", {"phone": body["phone"], "code": code})
    assert again.status == 401 and again.json["code"] == "invalid_code"
    # codes are stored hashed: the code is nowhere in the database
    assert code not in repr(senim.sql("SELECT * FROM borrower_otps"))


def test_a_shared_phone_signs_in_only_with_the_borrowers_iin(senim, staff):
    """A phone may be two borrowers' (a family's, or a number the operator
    gave to someone new): the code proves the phone, not the person, so it
    never picks one of them by itself."""
    a_sid, a = new_borrower(senim, staff)
    b = borrower(surname="Сапаров", given_name="Нурлан")
    b["phone"] = a["phone"]
    r = senim.post("/v1/subjects", b, token=staff["underwriter"], headers=ID)
    assert r.status == 201, r
    b_sid = r.json["id"]
    phone = a["phone"]
    assert senim.post("/v1/auth/otp", {"phone": phone}).status == 202
    code = senim.sms.last_code(e164(phone))
    r = senim.post("/v1/auth/verify", {"phone": phone, "code": code})
    assert r.status == 409 and r.json["code"] == "iin_required", r
    assert a["iin"] not in r.body.decode() and b["iin"] not in r.body.decode() and a_sid not in r.body.decode()
    # an IIN that is neither borrower's costs an attempt and says no more
    other = borrower()["iin"]
    r = senim.post("/v1/auth/verify", {"phone": phone, "code": code, "iin": other})
    assert r.status == 401 and r.json["code"] == "invalid_code", r
    # the same code, with B's IIN, signs B in — and only B
    r = senim.post("/v1/auth/verify", {"phone": phone, "code": code, "iin": b["iin"]})
    assert r.status == 200, r
    token = r.json["token"]
    senim.accept_policy(token)
    me = senim.get("/v1/me", token=token)
    assert me.status == 200 and me.json["subject_id"] == b_sid, me
    seen = me.body.decode()
    assert b["iin"] in seen and "Сапаров" in seen
    assert a["iin"] not in seen and a["surname"] not in seen, seen
    # a malformed IIN is a validation error naming the field
    r = senim.post("/v1/auth/verify", {"phone": phone, "code": code, "iin": "12345"})
    assert r.status == 422 and r.json["field"] == "iin", r
    # the records: nobody signed in by the ambiguous attempt; B by the last
    rows = senim.sql("SELECT actor, outcome, subject_id FROM audit_log"
                     " WHERE operation = 'borrower.sign_in' ORDER BY seq DESC LIMIT 3")
    assert rows[0] == ["borrower:" + b_sid, "success", b_sid], rows
    assert rows[1][:2] == ["anonymous", "failed"] and rows[2][:2] == ["anonymous", "ambiguous"]
    assert rows[2][2] in ("", None), rows


def test_sign_in_attempts_are_anonymous_until_the_code_proves_them(senim, staff):
    """Anyone who knows a phone number can ask for its code or guess one;
    those records must not read as the borrower's own acts."""
    sid, body = new_borrower(senim, staff)
    phone = body["phone"]
    assert senim.post("/v1/auth/otp", {"phone": phone}).status == 202
    code = senim.sms.last_code(e164(phone))
    wrong = "%06d" % ((int(code) + 1) % 1000000)
    assert senim.post("/v1/auth/verify", {"phone": phone, "code": wrong}).status == 401
    issue = senim.sql("SELECT actor, subject_id FROM audit_log WHERE operation ="
                      " 'borrower.otp_issue' ORDER BY seq DESC LIMIT 1")
    failed = senim.sql("SELECT actor, subject_id, outcome FROM audit_log WHERE operation ="
                       " 'borrower.sign_in' ORDER BY seq DESC LIMIT 1")
    assert issue == [["anonymous", sid]], issue
    assert failed == [["anonymous", sid, "failed"]], failed
    # the right code proves the borrower: only now the borrower is the actor
    assert senim.post("/v1/auth/verify", {"phone": phone, "code": code}).status == 200
    ok = senim.sql("SELECT actor, outcome FROM audit_log WHERE operation ="
                   " 'borrower.sign_in' ORDER BY seq DESC LIMIT 1")
    assert ok == [["borrower:" + sid, "success"]], ok


def test_answers_do_not_reveal_registration(senim):
    unknown = "+7 707 000 00 01"
    r = senim.post("/v1/auth/otp", {"phone": unknown})
    assert r.status == 202 and r.json == {"status": "sent", "expires_in": 300}
    code = senim.sms.last_code(e164(unknown))
    r = senim.post("/v1/auth/verify", {"phone": unknown, "code": code})
    wrong = senim.post("/v1/auth/verify", {"phone": unknown, "code": "000000"})
    assert r.status == wrong.status == 401
    strip = lambda p: {k: v for k, v in p.items() if k != "request_id"}
    assert strip(r.json) == strip(wrong.json)


def test_wrong_expired_reused_and_brute_forced_codes(senim, staff):
    sid, body = new_borrower(senim, staff)
    phone = body["phone"]
    assert senim.post("/v1/auth/otp", {"phone": phone}).status == 202
    code = senim.sms.last_code(e164(phone))
    wrong = "%06d" % ((int(code) + 1) % 1000000)
    for _ in range(5):
        assert senim.post("/v1/auth/verify", {"phone": phone, "code": wrong}).status == 401
    # after five wrong tries the right code is refused too
    assert senim.post("/v1/auth/verify", {"phone": phone, "code": code}).status == 401
    # a new code replaces the old one; an expired code fails
    assert senim.post("/v1/auth/otp", {"phone": phone}).status == 202
    code2 = senim.sms.last_code(e164(phone))
    senim.sql("UPDATE borrower_otps SET expires_at = 1")
    assert senim.post("/v1/auth/verify", {"phone": phone, "code": code2}).status == 401
    for bad in ({"phone": phone, "code": "12345"}, {"phone": phone, "code": "12a456"},
                {"phone": "+1 212 555 0100", "code": "123456"}, {"phone": phone}):
        assert senim.post("/v1/auth/verify", bad).status == 422


def test_rate_limit_per_phone(senim, staff):
    sid, body = new_borrower(senim, staff)
    for _ in range(3):
        assert senim.post("/v1/auth/otp", {"phone": body["phone"]}).status == 202
    r = senim.post("/v1/auth/otp", {"phone": body["phone"]})
    assert r.status == 429 and r.json["code"] == "rate_limited"
    assert int(r.header("Retry-After")) > 0


def test_rate_limit_per_address():
    s = Senim(extra_args=["--otp-ip-limit", "2"]).start()
    try:
        assert s.post("/v1/auth/otp", {"phone": "+77070000011"}).status == 202
        assert s.post("/v1/auth/otp", {"phone": "+77070000012"}).status == 202
        assert s.post("/v1/auth/otp", {"phone": "+77070000013"}).status == 429
    finally:
        assert s.stop() == 0


def test_gateway_failures_are_clear_503s(senim):
    phone = "+77070000021"
    senim.sms.control("POST", "mode", {"mode": "fail", "fail_count": 2})
    r = senim.post("/v1/auth/otp", {"phone": phone})
    assert r.status == 202, "two failures, then the third try goes through"
    senim.sms.control("POST", "mode", {"mode": "fail"})
    r = senim.post("/v1/auth/otp", {"phone": "+77070000022"})
    assert r.status == 503 and r.json["code"] == "sms_unavailable"
    senim.sms.control("POST", "mode", {"mode": "slow", "delay_ms": 10000})
    r = senim.post("/v1/auth/otp", {"phone": "+77070000023"})
    assert r.status == 503  # timed out, not hung
    senim.sms.control("POST", "mode", {"mode": "lie"})
    r = senim.post("/v1/auth/otp", {"phone": "+77070000024"})
    assert r.status in (202, 503)
    senim.sms.control("POST", "reset")


def test_logout(senim, staff):
    sid, body, token = signed_in(senim, staff)
    assert senim.get("/v1/me", token=token).status == 200
    assert senim.delete("/v1/auth/session", token=token).status == 204
    assert senim.get("/v1/me", token=token).status == 401


# ---- whose data -------------------------------------------------------------------

def test_borrower_reaches_only_own_data(senim, staff):
    a, body_a, token_a = signed_in(senim, staff)
    b, body_b, token_b = signed_in(senim, staff)
    me = senim.get("/v1/me", token=token_a)
    assert me.status == 200 and me.json["subject_id"] == a
    assert me.json["categories"]["identity"]["fields"]["iin"] == body_a["iin"]
    assert body_b["iin"].encode() not in me.body
    grant = senim.post("/v1/me/consents", {"kind": "marketing_email", "channel": "web"},
                       token=token_b)
    b_consent = grant.json["id"]
    # every borrower route, with the other borrower's ids
    r = senim.delete(f"/v1/me/consents/{b_consent}", token=token_a)
    assert r.status == 404 and r.json["code"] == "consent_not_found"
    assert all(c["id"] != b_consent
               for c in senim.get("/v1/me/consents", token=token_a).json["consents"])
    assert senim.get("/v1/me/consents", token=token_b).json["consents"][0]["status"] == "active"
    # staff routes are not for borrowers
    r = senim.get(f"/v1/subjects/{a}/data", token=token_a, headers=ID)
    assert r.status == 403 and r.json["code"] == "forbidden_role"
    assert senim.get("/v1/staff/me", token=token_a).status == 403
    # and a staff token does not open a borrower's route
    assert senim.get("/v1/me", token=staff["support"]).status == 403


# ---- the policy ---------------------------------------------------------------------

def test_policy_gate(senim, staff):
    version = senim.ensure_policy()
    sid, body, token = signed_in(senim, staff, accept=False)
    r = senim.get("/v1/me", token=token)
    assert r.status == 428 and r.json["code"] == "policy_acceptance_required"
    assert r.json["current_version"] == version and r.json["missing_consent"] == "policy"
    # reading the policy and accepting it are open
    assert senim.get("/v1/policies/current", token=token).status == 200
    r = senim.post("/v1/me/consents/policy",
                   {"version": "no-such", "language": "kk", "channel": "ios"}, token=token)
    assert r.status == 404
    r = senim.post("/v1/me/consents/policy",
                   {"version": version, "language": "kk", "channel": "ios"}, token=token,
                   headers={"User-Agent": "SenimApp/1.0 (iOS 18)", "Senim-Device-Id": "dev-42"})
    assert r.status == 201 and r.json["kind"] == "policy"
    assert r.json["receipt"]["policy"]["version"] == version
    assert senim.get("/v1/me", token=token).status == 200
    # a new version is in force at once: the borrower must accept again
    admin = staff["admin"]
    r = senim.post("/v1/policies", {"version": "gate-2", "ru": "новая", "kk": "жаңа"}, token=admin)
    assert r.status == 201
    r = senim.get("/v1/me", token=token)
    assert r.status == 428 and r.json["current_version"] == "gate-2"
    r = senim.post("/v1/me/consents/policy",
                   {"version": version, "language": "ru", "channel": "ios"}, token=token)
    assert r.status == 409 and r.json["code"] == "policy_version_outdated"
    assert r.json["current_version"] == "gate-2"
    r = senim.post("/v1/me/consents/policy",
                   {"version": "gate-2", "language": "ru", "channel": "ios"}, token=token)
    assert r.status == 201
    assert senim.get("/v1/me", token=token).status == 200
    r = senim.get("/v1/me/consents", token=token)
    history = r.json["consents"]
    # reading one's own consents is an access to one's data: on record
    rows = senim.sql("SELECT actor, subject_id FROM audit_log WHERE operation ="
                     " 'consent.list' AND request_id = '%s'" % r.header("X-Request-Id"))
    assert rows == [["borrower:" + sid, sid]], rows
    assert [c["policy_version"] for c in history if c["kind"] == "policy"] == ["gate-2", version]


# ---- consents -----------------------------------------------------------------------

KINDS = ["credit_bureau_gkb", "credit_bureau_pkb", "mobile_operator", "state_database",
         "cross_border", "marketing_sms", "marketing_email", "marketing_phone"]


def test_grant_every_kind_with_receipts(senim, staff, tmp_path):
    sid, body, token = signed_in(senim, staff)
    for kind in KINDS:
        r = senim.post("/v1/me/consents", {"kind": kind, "channel": "android"}, token=token)
        assert r.status == 201, (kind, r)
        receipt = r.json["receipt"]
        assert receipt["consent_type"] == kind and receipt["pii_principal_id"] == sid
        assert receipt["event"] == "grant" and receipt["signature"]["alg"] == "Ed25519"
        # the receipt checks offline, and one altered byte breaks it
        path = tmp_path / (kind + ".json")
        path.write_text(json.dumps(receipt, ensure_ascii=False), encoding="utf-8")
        assert senim.cli("receipt", "verify", str(path), check=False).returncode == 0
        text = path.read_bytes()
        i = text.index(sid.encode()) + 5
        path.write_bytes(text[:i] + bytes([text[i] ^ 1]) + text[i + 1:])
        assert senim.cli("receipt", "verify", str(path), check=False).returncode == 1
    # granting again changes nothing
    r = senim.post("/v1/me/consents", {"kind": "marketing_sms", "channel": "web"}, token=token)
    assert r.status == 200
    listed = senim.get("/v1/me/consents", token=token).json["consents"]
    assert {c["kind"] for c in listed} == set(KINDS) | {"policy"}
    for bad in ({"kind": "telepathy", "channel": "web"}, {"kind": "policy", "channel": "web"},
                {"kind": "marketing_sms", "channel": "fax"}):
        r = senim.post("/v1/me/consents", bad, token=token)
        assert r.status == 422, (bad, r)


def test_withdraw_marketing_takes_effect_at_once(senim, staff):
    sid, body, token = signed_in(senim, staff)
    g = senim.post("/v1/me/consents", {"kind": "marketing_sms", "channel": "web"}, token=token)
    mk = {"Senim-Purpose": "marketing"}
    assert senim.get(f"/v1/subjects/{sid}/data", token=staff["marketing"], headers=mk).status == 200
    r = senim.delete(f"/v1/me/consents/{g.json['id']}", token=token)
    assert r.status == 200 and r.json["status"] == "withdrawn"
    assert r.json["withdrawal_receipt"]["event"] == "withdraw"
    # the withdrawal is told by the channel of the grant it undoes
    assert r.json["withdrawal_receipt"]["collection_method"] == "web"
    g2 = senim.post("/v1/me/consents", {"kind": "marketing_email", "channel": "ios",
                                        "language": "kk"}, token=token)
    w2 = senim.delete(f"/v1/me/consents/{g2.json['id']}", token=token)
    assert w2.json["withdrawal_receipt"]["collection_method"] == "ios"
    assert w2.json["withdrawal_receipt"]["language"] == "kk"
    r = senim.get(f"/v1/subjects/{sid}/data", token=staff["marketing"], headers=mk)
    assert r.status == 403 and r.json["missing_consent"] == "marketing"
    r = senim.delete(f"/v1/me/consents/{g.json['id']}", token=token)
    assert r.status == 409 and r.json["code"] == "consent_withdrawn"
    ops = [row[0] for row in senim.sql(
        f"SELECT operation FROM audit_log WHERE subject_id = '{sid}' AND operation LIKE 'consent.%'")]
    assert ops.count("consent.grant") == 3 and ops.count("consent.withdraw") == 2


def test_a_consent_id_must_match_exactly(senim, staff):
    """An id with anything added, cut or changed names no consent: 404, and
    the consent stays active."""
    sid, body, token = signed_in(senim, staff)
    g = senim.post("/v1/me/consents", {"kind": "marketing_phone", "channel": "web"}, token=token)
    assert g.status == 201
    cid = g.json["id"]
    for bad in (cid + "x", cid + "%20", cid[:-1], cid[:-1] + ("A" if cid[-1] != "A" else "B"),
                cid[:-1] + "%C3%A9", "cns_" + "%E2%82%AC" * 11):
        r = senim.delete(f"/v1/me/consents/{bad}", token=token)
        assert r.status == 404 and r.json["code"] == "consent_not_found", (bad, r.status, r.json)
    mine = senim.get("/v1/me/consents", token=token).json["consents"]
    assert [c["status"] for c in mine if c["id"] == cid] == ["active"]
    # A policy version too long for any published one is not found either
    # (33 bytes in 11 characters), not cut to one that might be.
    r = senim.post("/v1/me/consents/policy",
                   {"version": "€" * 11, "language": "ru", "channel": "web"}, token=token)
    assert r.status == 404 and r.json["code"] == "policy_not_found", (r.status, r.json)


def test_no_withdrawal_while_an_obligation_is_open(senim, staff, tmp_path):
    """C2, as the issue puts it: withdraw a bureau consent with an open
    obligation (409), settle it, withdraw again (200)."""
    sid, body, token = signed_in(senim, staff)
    g = senim.post("/v1/me/consents", {"kind": "credit_bureau_gkb", "channel": "web"},
                   token=token)
    contract = "MK-%s" % sid[-8:]
    csv = tmp_path / "portfolio.csv"
    csv.write_text("iin,contract_number,outstanding_tiyn,due_date,status\n"
                   f"{body['iin']},{contract},15000000,2027-03-01,open\n", encoding="utf-8")
    p = senim.cli("obligations", "import", str(csv), check=False)
    assert p.returncode == 0, p.stderr
    r = senim.delete(f"/v1/me/consents/{g.json['id']}", token=token)
    assert r.status == 409 and r.json["code"] == "consent_irrevocable"
    assert r.json["reason"] == "open_obligation"
    assert r.json["obligation"]["contract_number"] == contract
    # marketing stays revocable while the obligation is open
    m = senim.post("/v1/me/consents", {"kind": "marketing_phone", "channel": "web"}, token=token)
    assert senim.delete(f"/v1/me/consents/{m.json['id']}", token=token).status == 200
    assert senim.cli("obligations", "close", contract).returncode == 0
    r = senim.delete(f"/v1/me/consents/{g.json['id']}", token=token)
    assert r.status == 200 and r.json["status"] == "withdrawn"


def test_a_new_policy_version_does_not_lapse_an_open_obligations_consent(tmp_path):
    """C2 across policy versions: the borrower accepted version 1 and owes
    the MFO; version 2 is published and not (yet) accepted.  Servicing the
    loan goes on, grounded by version 1, until the obligation is closed; a
    new service (a new application's review) waits for version 2."""
    s = Senim().start()
    try:
        uw = s.service_token("c2-uw", "underwriter")
        sup = s.service_token("c2-sup", "support")
        reg = borrower()
        r = s.post("/v1/subjects", reg, token=uw, headers=ID)
        assert r.status == 201
        sid = r.json["id"]
        token = s.borrower_token(reg["phone"])
        policy_id = s.accept_policy(token)["id"]  # version test-1
        contract = "C2-%s" % sid[-8:]
        csv = tmp_path / "portfolio.csv"
        csv.write_text("iin,contract_number,outstanding_tiyn,due_date,status\n"
                       f"{reg['iin']},{contract},500000,2027-05-01,open\n",
                       encoding="utf-8")
        assert s.cli("obligations", "import", str(csv)).returncode == 0
        servicing = {"Senim-Purpose": "loan_servicing"}
        review = {"Senim-Purpose": "loan_application_review"}
        url = f"/v1/subjects/{sid}/data/identity"
        assert s.get(url, token=sup, headers=servicing).status == 200

        d = tmp_path / "v2"
        d.mkdir()
        (d / "ru").write_text("Политика 2", encoding="utf-8")
        (d / "kk").write_text("Саясат 2", encoding="utf-8")
        s.cli("policy", "publish", "--version", "test-2", "--ru", str(d / "ru"),
              "--kk", str(d / "kk"))

        r = s.get(url, token=sup, headers=servicing)
        assert r.status == 200, r  # version 1 still grounds servicing
        r = s.get(url, token=uw, headers=review)
        assert r.status == 403 and r.json["code"] == "consent_required", r
        assert r.json["missing_consent"] == "policy"
        # the borrower, too, meets the new version before new services
        assert s.get("/v1/me", token=token).status == 428
        # the accepted version stays irrevocable while the obligation is open
        r = s.delete(f"/v1/me/consents/{policy_id}", token=token)
        assert r.status == 409 and r.json["code"] == "consent_irrevocable", r

        # closed: version 1 grounds nothing any more
        assert s.cli("obligations", "close", contract).returncode == 0
        r = s.get(url, token=sup, headers=servicing)
        assert r.status == 403 and r.json["code"] == "consent_required", r
        # accepting the version in force grounds everything again
        s.accept_policy(token)
        assert s.get(url, token=sup, headers=servicing).status == 200
        assert s.get(url, token=uw, headers=review).status == 200
    finally:
        assert s.stop() == 0


def test_bad_obligation_file_imports_nothing(senim, staff, tmp_path):
    sid, body = new_borrower(senim, staff)
    csv = tmp_path / "bad.csv"
    csv.write_text("iin,contract_number,outstanding_tiyn,due_date,status\n"
                   f"{body['iin']},OK-1,100,2027-01-01,open\n"
                   f"{body['iin']},OK-2,-5,2027-01-01,open\n", encoding="utf-8")
    p = senim.cli("obligations", "import", str(csv), check=False)
    assert p.returncode == 1 and b"line 3" in p.stderr + p.stdout
    assert body["iin"].encode() not in p.stderr + p.stdout
    assert senim.sql("SELECT count(*) FROM obligations WHERE subject_id = '%s'" % sid) == [["0"]]


# ---- the staff view -------------------------------------------------------------------

def test_staff_view_of_consents(senim, staff):
    sid, body, token = signed_in(senim, staff)
    senim.post("/v1/me/consents", {"kind": "state_database", "channel": "ios"}, token=token)
    r = senim.get(f"/v1/subjects/{sid}/consents", token=staff["dpo"],
                  headers={"Senim-Purpose": "legal_obligation"})
    assert r.status == 200 and {c["kind"] for c in r.json["consents"]} == {"policy",
                                                                           "state_database"}
    r = senim.get(f"/v1/subjects/{sid}/consents", token=staff["support"],
                  headers={"Senim-Purpose": "customer_communication"})
    assert r.status == 200
    r = senim.get(f"/v1/subjects/{sid}/consents", token=staff["support"])
    assert r.status == 400 and r.json["code"] == "purpose_required"
    r = senim.get(f"/v1/subjects/{sid}/consents", token=staff["support"],
                  headers={"Senim-Purpose": "loan_servicing"})
    assert r.status == 403
    assert senim.get(f"/v1/subjects/{sid}/consents", token=staff["marketing"],
                     headers={"Senim-Purpose": "marketing"}).status == 403
    # a borrower who accepted no policy: the refusal names the consent missing
    other, _ = new_borrower(senim, staff)
    r = senim.get(f"/v1/subjects/{other}/consents", token=staff["support"],
                  headers={"Senim-Purpose": "customer_communication"})
    assert r.status == 403 and r.json["code"] == "consent_required", r
    assert r.json["missing_consent"] == "policy"
    # the refused look is on record too, with the request that made it
    rows = senim.sql("SELECT outcome, request_id FROM audit_log WHERE operation ="
                     " 'subject.read' AND subject_id = '%s'" % other)
    assert rows == [["denied", r.header("X-Request-Id")]], rows


def test_consent_evidence_is_sealed(senim, staff):
    sid, body, token = signed_in(senim, staff)
    marker = "SealedAgent/7.7 Qz9"
    senim.post("/v1/me/consents", {"kind": "mobile_operator", "channel": "android"},
               token=token, headers={"User-Agent": marker, "Senim-Device-Id": "dev-Qz9"})
    dump = repr(senim.sql("SELECT * FROM consents"))
    assert marker not in dump and "dev-Qz9" not in dump
    assert "127.0.0.1" not in dump


def test_a_body_naming_another_subject_changes_nothing(senim, staff):
    a, body_a, token_a = signed_in(senim, staff)
    b, body_b, token_b = signed_in(senim, staff)
    before = senim.get("/v1/me/consents", token=token_b).json
    for body in ({"kind": "marketing_sms", "channel": "web", "subject_id": b},
                 {"kind": "marketing_sms", "channel": "web", "pii_principal_id": b}):
        r = senim.post("/v1/me/consents", body, token=token_a)
        assert r.status == 422 and r.json["rule"] == "unknown_field"
    r = senim.post("/v1/me/consents/policy", {"version": senim.ensure_policy(), "language": "ru",
                                              "channel": "web", "subject_id": b}, token=token_a)
    assert r.status == 422
    assert senim.get("/v1/me/consents", token=token_b).json == before


def test_sms_speaks_the_borrowers_language(senim):
    """P3: what a borrower reads exists in Russian and Kazakh."""
    for lang, word in (("kk", "кіру коды"), ("ru", "код для входа")):
        phone = "+7707000003" + ("1" if lang == "kk" else "2")
        r = senim.post("/v1/auth/otp", {"phone": phone}, headers={"Accept-Language": lang})
        assert r.status == 202
        assert word in senim.sms.messages(phone)[-1]["text"]
