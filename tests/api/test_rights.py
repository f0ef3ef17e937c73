"""Fulfilling rights requests (issue 13; R1, R5, destruction): the DPO's
answer `fulfilled` to an access request releases the access package, kept
sealed with the request, and the borrower downloads it (JSON, or the HTML by
Accept); a subject whose own access is limited by law gets one neutral
refusal whatever the ground; accepting a destruction request destroys the
subject unless a legal hold or an open relation stands, and then names the
ground."""
import datetime
import json
import os
import tempfile

import pytest

from contract import SOURCE_DIR
from senim_harness import TMP, Senim, borrower
from test_c2_walk import world  # noqa: F401 (a server with a state database)
from test_fail_closed import block_audit_sql, unblock_audit_sql

ID = {"Senim-Purpose": "identification"}
CALENDAR = os.path.join(SOURCE_DIR, "data", "calendar")
RETENTION = os.path.join(SOURCE_DIR, "data", "retention.conf")
RULES = os.path.join(SOURCE_DIR, "data", "loan-rules.conf")


@pytest.fixture(scope="module")
def w():
    s = Senim(extra_args=["--calendar", CALENDAR, "--retention", RETENTION,
                          "--loan-rules", RULES]).start()
    w = {"s": s, "dir": tempfile.mkdtemp(prefix="rights-", dir=TMP)}
    for role in ("underwriter", "dpo", "support", "payment_provider"):
        w[role] = s.service_token("rt-" + role, role)
    yield w
    assert s.stop() == 0, s.read_log()[-4000:]


def register(w, **over):
    b = borrower(**over)
    r = w["s"].post("/v1/subjects", b, token=w["underwriter"], headers=ID)
    assert r.status == 201, r
    return r.json["id"], b, w["s"].borrower_token(b["phone"])


def file(w, token, kind):
    r = w["s"].post("/v1/me/requests", {"type": kind}, token=token)
    assert r.status == 201, r
    return r.json["id"]


def answer(w, rid, code="fulfilled"):
    return w["s"].post(f"/v1/requests/{rid}/answer", {"answer": code}, token=w["dpo"])


def pkg(w, rid, token, html=False):
    headers = {"Accept": "text/html"} if html else {}
    return w["s"].request("GET", f"/v1/me/requests/{rid}/package", token=token,
                          headers=headers)


def verify(w, data):
    path = os.path.join(w["dir"], "package")
    with open(path, "wb") as f:
        f.write(data)
    p = w["s"].cli("package", "verify", path, check=False)
    os.remove(path)
    return p


# ---- access (R1) -------------------------------------------------------------------


def test_access_request_releases_the_package(w):
    s = w["s"]
    sid, b, token = register(w)
    rid = file(w, token, "access")
    # Not answered yet: no package.
    r = pkg(w, rid, token)
    assert r.status == 404 and r.json["code"] == "request_package_not_found", r
    r = answer(w, rid)
    assert r.status == 200 and r.json["status"] == "accepted", r
    assert r.json["answer"]["code"] == "fulfilled"
    r = pkg(w, rid, token)
    assert r.status == 200 and r.header("Content-Type").startswith("application/json"), r
    doc = r.json
    assert doc["subject_id"] == sid and doc["version"] == "senim-access-package-v1"
    assert verify(w, r.body).returncode == 0
    # The very package that was made: the same id on a second download.
    assert pkg(w, rid, token).json["package_id"] == doc["package_id"]
    h = pkg(w, rid, token, html=True)
    assert h.status == 200 and h.header("Content-Type").startswith("text/html"), h
    assert verify(w, h.body).returncode == 0
    # Sealed at rest: the borrower's name is not in the row in clear.
    rows = s.sql(f"SELECT * FROM rights_packages WHERE request_id = '{rid}'")
    assert len(rows) == 1
    dump = repr(rows)
    assert b["surname"] not in dump and b["iin"] not in dump
    # Audited: the release and each download.
    assert s.sql("SELECT outcome, object FROM audit_log WHERE operation = 'subject.package'"
                 f" AND subject_id = '{sid}'") == [["success", "package:json"]]
    reads = s.sql("SELECT outcome, object FROM audit_log WHERE operation ="
                  f" 'request.package_read' AND subject_id = '{sid}' ORDER BY seq")
    assert reads == [["success", f"request:{rid}:package:json"]] * 2 + \
        [["success", f"request:{rid}:package:html"]], reads


def test_package_of_another_request_or_borrower(w):
    sid, _, token = register(w)
    rid = file(w, token, "access")
    assert answer(w, rid).status == 200
    _, _, other = register(w)
    r = pkg(w, rid, other)
    assert r.status == 404 and r.json["code"] == "request_not_found", r
    r = pkg(w, "rqt_nope", token)
    assert r.status == 404 and r.json["code"] == "request_not_found", r
    bid = file(w, token, "blocking")
    assert answer(w, bid, "no_grounds").status == 200
    r = pkg(w, bid, token)
    assert r.status == 404 and r.json["code"] == "request_package_not_found", r
    # A rejected access request has none either.
    _, _, t2 = register(w)
    rid2 = file(w, t2, "access")
    assert answer(w, rid2, "identity_not_confirmed").status == 200
    r = pkg(w, rid2, t2)
    assert r.status == 404 and r.json["code"] == "request_package_not_found", r


def shape(r):
    doc = dict(r.json)
    doc.pop("request_id", None)
    doc.pop("instance", None)
    return r.status, r.header("Content-Type"), doc


def limit(w, sid, ground, reference):
    r = w["s"].post(f"/v1/subjects/{sid}/access-limit",
                    {"ground": ground, "reference": reference}, token=w["dpo"])
    assert r.status == 200, r


def test_a_limited_subject_gets_the_neutral_refusal(w):
    """R5: an access request of a subject whose access is limited is
    rejected with one answer for every ground; nothing is kept; the
    borrower's view of it tells AML/CFT from a court order in no byte."""
    s = w["s"]
    seen = []
    for ground, ref in (("aml_cft", "191-IV/art.13"), ("court_order", "case-2-1-26")):
        sid, _, token = register(w)
        limit(w, sid, ground, ref)
        rid = file(w, token, "access")
        r = answer(w, rid)
        assert r.status == 200 and r.json["status"] == "rejected", r
        assert r.json["answer"]["code"] == "limited_by_law"
        assert s.sql(f"SELECT COUNT(*) FROM rights_packages WHERE request_id = '{rid}'") == [["0"]]
        mine = s.get(f"/v1/me/requests/{rid}", token=token)
        assert mine.status == 200, mine
        doc = dict(mine.json)
        for k in ("id", "filed_at", "updated_at", "closed_at"):
            doc.pop(k)
        seen.append(doc)
        assert b"aml" not in mine.body.lower() and b"court" not in mine.body.lower()
        r = pkg(w, rid, token)
        assert r.status == 404 and r.json["code"] == "request_package_not_found", r
        rows = s.sql("SELECT outcome, object FROM audit_log WHERE operation ="
                     f" 'subject.package' AND subject_id = '{sid}'")
        assert rows == [["denied", "package:json"]], rows
    assert seen[0] == seen[1]
    assert seen[0]["answer"]["code"] == "limited_by_law"


def test_a_limit_set_after_the_release_refuses_the_download(w):
    s = w["s"]
    answers = []
    for ground, ref in (("aml_cft", "191-IV/art.13"), ("other_law", "law-1-26")):
        sid, _, token = register(w)
        rid = file(w, token, "access")
        assert answer(w, rid).status == 200
        assert pkg(w, rid, token).status == 200
        limit(w, sid, ground, ref)
        r = pkg(w, rid, token)
        assert r.status == 403 and r.json["code"] == "access_limited_by_law", r
        h = pkg(w, rid, token, html=True)
        assert shape(h) == shape(r)
        answers.append(shape(r))
        rows = s.sql("SELECT outcome FROM audit_log WHERE operation ="
                     f" 'request.package_read' AND subject_id = '{sid}' ORDER BY seq")
        assert [x[0] for x in rows] == ["success", "denied", "denied"], rows
        # Lifted: the package is theirs again.
        assert s.delete(f"/v1/subjects/{sid}/access-limit", token=w["dpo"]).status == 200
        assert pkg(w, rid, token).status == 200
    assert answers[0] == answers[1]


def test_package_fail_closed_without_audit(w):
    """While the audit record cannot be written neither the release nor a
    download hands out the package."""
    s = w["s"]
    sid, b, token = register(w)
    rid = file(w, token, "access")
    s.sql(block_audit_sql())
    try:
        r = answer(w, rid)
    finally:
        s.sql(unblock_audit_sql())
    assert r.status >= 500, r
    assert s.sql(f"SELECT COUNT(*) FROM rights_packages WHERE request_id = '{rid}'") == [["0"]]
    assert s.sql(f"SELECT status FROM rights_requests WHERE id = '{rid}'") == [["open"]]
    assert answer(w, rid).status == 200
    s.sql(block_audit_sql())
    try:
        r = pkg(w, rid, token)
    finally:
        s.sql(unblock_audit_sql())
    assert r.status >= 500 and b["surname"].encode() not in r.body, r
    assert pkg(w, rid, token).status == 200


# ---- destruction ------------------------------------------------------------------------


def test_destruction_destroys_the_subject(w):
    s = w["s"]
    sid, b, token = register(w)
    keep, kb, ktoken = register(w)
    rid = file(w, token, "destruction")
    r = answer(w, rid)
    assert r.status == 200 and r.json["status"] == "accepted", r
    assert r.json["answer"]["code"] == "fulfilled"
    # The key and the sealed rows are gone; the journal names the subject.
    assert s.sql(f"SELECT COUNT(*) FROM subject_keys WHERE subject_id = '{sid}'") == [["0"]]
    assert s.sql(f"SELECT COUNT(*) FROM subject_records WHERE subject_id = '{sid}'") == [["0"]]
    with open(os.path.join(os.path.dirname(s.keys), "senim.shred")) as f:
        assert any(line.split()[:2] == [sid, "destroy"] for line in f)
    rows = s.sql("SELECT outcome, object FROM audit_log WHERE operation = 'subject.destroy'"
                 f" AND subject_id = '{sid}'")
    assert rows == [["success", f"request:{rid}"]], rows
    # Staff can no longer read them; the other borrower is untouched.
    r = s.get(f"/v1/subjects/{sid}/data", token=w["underwriter"], headers=ID)
    assert r.status >= 400, r
    r = s.get(f"/v1/subjects/{keep}/data", token=w["underwriter"], headers=ID)
    assert r.status == 200, r


def test_an_open_request_of_a_destroyed_subject_is_answered_data_destroyed(w):
    """An access request still open when the subject is destroyed: the DPO's
    `fulfilled` closes it as answered — `data_destroyed`, accepted, no
    package — not a false 404 that leaves it open and overdue for ever."""
    s = w["s"]
    sid, _, token = register(w)
    access = file(w, token, "access")
    blocking = file(w, token, "blocking")
    r = answer(w, file(w, token, "destruction"))
    assert r.status == 200 and r.json["answer"]["code"] == "fulfilled", r
    for rid in (access, blocking):
        r = answer(w, rid)
        assert r.status == 200, r
        assert r.json["status"] == "accepted", r
        assert r.json["answer"]["code"] == "data_destroyed", r
        assert "closed_at" in r.json and r.json["overdue"] is False, r
        r = s.get(f"/v1/requests/{rid}", token=w["dpo"])
        assert r.status == 200 and r.json["answer"]["code"] == "data_destroyed", r
        r = answer(w, rid)
        assert r.status == 409 and r.json["code"] == "request_closed", r
    assert s.sql(f"SELECT COUNT(*) FROM rights_packages WHERE subject_id = '{sid}'") \
        == [["0"]]
    assert s.sql("SELECT COUNT(*) FROM rights_requests WHERE subject_id ="
                 f" '{sid}' AND closed_at IS NULL") == [["0"]]
    rows = s.sql("SELECT outcome FROM audit_log WHERE operation = 'request.answer'"
                 f" AND object = 'request:{access}'")
    assert rows == [["success"]], rows


def test_destruction_refused_under_a_legal_hold(w):
    s = w["s"]
    sid, _, token = register(w)
    r = s.post(f"/v1/subjects/{sid}/hold", {"kind": "court", "reference": "case-7-26"},
               token=w["dpo"])
    assert r.status == 201, r
    rid = file(w, token, "destruction")
    r = answer(w, rid)
    assert r.status == 200 and r.json["status"] == "rejected", r
    assert r.json["answer"]["code"] == "legal_hold"
    assert s.sql(f"SELECT COUNT(*) FROM subject_keys WHERE subject_id = '{sid}'") == [["1"]]
    mine = s.get(f"/v1/me/requests/{rid}", token=token, headers={"Accept-Language": "en"})
    assert "investigation, a court or a regulator" in mine.json["answer"]["text"], mine


def test_destruction_refused_with_an_open_loan(w):
    s = w["s"]
    sid, b, token = register(w)
    path = os.path.join(w["dir"], "obligations.csv")
    with open(path, "w", encoding="utf-8") as f:
        f.write("iin,contract_number,outstanding_tiyn,due_date,status\n")
        f.write("%s,RT-%d,1500000,2099-01-01,open\n" % (b["iin"], os.getpid()))
    s.cli("obligations", "import", path)
    assert s.sql(f"SELECT COUNT(*) FROM obligations WHERE subject_id = '{sid}'") == [["1"]]
    rid = file(w, token, "destruction")
    r = answer(w, rid)
    assert r.status == 200 and r.json["status"] == "rejected", r
    assert r.json["answer"]["code"] == "open_loan"
    assert s.sql(f"SELECT COUNT(*) FROM subject_keys WHERE subject_id = '{sid}'") == [["1"]]


def closed_loan(w, b, token):
    """An imported loan of the borrower, repaid early in full: closed."""
    s = w["s"]
    start = (datetime.date.today() - datetime.timedelta(days=10)).isoformat()
    path = os.path.join(w["dir"], "loans.csv")
    with open(path, "w", encoding="utf-8") as f:
        f.write("contract_number,iin,principal_tiyn,rate_bp,method,payments,term_days,"
                "start_date,penalty_daily_bp,penalty_annual_bp\n")
        f.write("RK-%d-%s,%s,10000000,5600,annuity,3,,%s,5,1000\n"
                % (os.getpid(), b["iin"][-6:], b["iin"], start))
    s.cli("loans", "import", path)
    os.remove(path)
    s.accept_policy(token)
    loans = s.get("/v1/me/loans", token=token)
    assert loans.status == 200 and len(loans.json["loans"]) == 1, loans
    loan_id = loans.json["loans"][0]["id"]
    payoff = s.get("/v1/me/loans/" + loan_id, token=token).json["payoff"]["amount_tiyn"]
    r = s.post(f"/v1/loans/{loan_id}/payments",
               {"provider_ref": "rk-" + loan_id[-12:], "amount_tiyn": payoff,
                "currency": "KZT", "kind": "early", "channel": "card",
                "paid_at": datetime.datetime.now(datetime.timezone.utc)
                .strftime("%Y-%m-%dT%H:%M:%SZ")},
               token=w["payment_provider"])
    assert r.status == 201 and r.json["loan_status"] == "closed", r


def test_destruction_refused_while_a_keeping_period_runs(w):
    """A closed loan's file is kept for the legal minimums of the retention
    file (the credit-bureau consents 10 years, the AML/CFT client file 5):
    a destruction request is refused with that ground, nothing destroyed,
    nothing journalled; the retention run acts when the period ends."""
    s = w["s"]
    sid, b, token = register(w)
    closed_loan(w, b, token)
    rid = file(w, token, "destruction")
    r = answer(w, rid)
    assert r.status == 200 and r.json["status"] == "rejected", r
    assert r.json["answer"]["code"] == "keeping_period", r
    assert s.sql(f"SELECT COUNT(*) FROM subject_keys WHERE subject_id = '{sid}'") == [["1"]]
    journal = os.path.join(os.path.dirname(s.keys), "senim.shred")
    if os.path.exists(journal):
        with open(journal) as f:
            assert not any(line.split()[:1] == [sid] for line in f)
    mine = s.get(f"/v1/me/requests/{rid}", token=token, headers={"Accept-Language": "kk"})
    assert "белгіленген мерзім сақтауды" in mine.json["answer"]["text"], mine
    r = s.get(f"/v1/subjects/{sid}/data", token=w["underwriter"], headers=ID)
    assert r.status == 200, r


def test_without_a_retention_file_no_destruction_on_a_guess(w):
    """A server started without a retention file cannot know whether a
    keeping period runs: a closed loan's destruction is refused the same."""
    s = Senim(extra_args=["--calendar", CALENDAR, "--loan-rules", RULES]).start()
    try:
        w2 = {"s": s, "dir": w["dir"]}
        for role in ("underwriter", "dpo", "payment_provider"):
            w2[role] = s.service_token("rt2-" + role, role)
        sid, b, token = register(w2)
        closed_loan(w2, b, token)
        r = answer(w2, file(w2, token, "destruction"))
        assert r.status == 200 and r.json["answer"]["code"] == "keeping_period", r
        assert s.sql(f"SELECT COUNT(*) FROM subject_keys WHERE subject_id = '{sid}'") \
            == [["1"]]
        # A subject with no relation at all is destroyed as before.
        sid, _, token = register(w2)
        r = answer(w2, file(w2, token, "destruction"))
        assert r.status == 200 and r.json["answer"]["code"] == "fulfilled", r
    finally:
        assert s.stop() == 0


# ---- R5 on the borrower's own reads --------------------------------------------------


def test_me_is_refused_while_access_is_limited(w):
    """GET /v1/me answers a limited borrower with the one refusal the
    package gives, whatever the ground, and records the read as denied."""
    s = w["s"]
    shapes = []
    for ground, ref in (("aml_cft", "191-IV/art.13"), ("court_order", "case-3-2-26")):
        sid, b, token = register(w)
        s.accept_policy(token)
        assert s.get("/v1/me", token=token).status == 200
        limit(w, sid, ground, ref)
        r = s.get("/v1/me", token=token)
        assert r.status == 403 and r.json["code"] == "access_limited_by_law", r
        assert b["given_name"].encode() not in r.body and b"aml" not in r.body.lower()
        shapes.append(shape(r))
        rows = s.sql("SELECT outcome, categories FROM audit_log WHERE operation ="
                     f" 'subject.self_read' AND subject_id = '{sid}' ORDER BY seq")
        assert [x[0] for x in rows] == ["success", "denied"], rows
        assert rows[1][1] == "", rows
        assert s.delete(f"/v1/subjects/{sid}/access-limit", token=w["dpo"]).status == 200
        assert s.get("/v1/me", token=token).status == 200
    assert shapes[0] == shapes[1]


# ---- correction (R2) -------------------------------------------------------------------

import base64  # noqa: E402

from test_disclosures import entry_sql, now_us, snapshot_sql  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(64))
EVIDENCE = {"content_type": "image/png", "data": base64.b64encode(PNG).decode()}


def correction(w, token, **over):
    body = {"type": "correction", "category": "identity", "fields": {"surname": "Петрова"},
            "evidence": EVIDENCE}
    body.update(over)
    return w["s"].post("/v1/me/requests", {k: v for k, v in body.items() if v is not None},
                       token=token)


@pytest.fixture(scope="module")
def snapshots(w):
    w["s"].sql(snapshot_sql())


def test_correction_needs_evidence_and_no_state_field(w):
    sid, _, token = register(w)
    r = correction(w, token, evidence=None)
    assert r.status == 422 and r.json["code"] == "correction_evidence_required", r
    r = correction(w, token, fields={"iin": "900101300123"})
    assert r.status == 422 and r.json["code"] == "correction_state_sourced", r
    assert r.json["field"] == "iin"
    r = correction(w, token, category="contact", fields={"phone_mobile": "+77010000000"})
    assert r.status == 422 and r.json["rule"] == "phone_procedure", r
    r = correction(w, token, fields={"sex": "X"})
    assert r.status == 422 and r.json["code"] == "validation_failed", r
    r = correction(w, token, fields=None)
    assert r.status == 422 and r.json["field"] == "fields", r
    # The evidence is what it says it is, and not too large.
    r = correction(w, token, evidence={"content_type": "application/pdf",
                                       "data": EVIDENCE["data"]})
    assert r.status == 422 and r.json["field"] == "evidence.data", r
    assert r.json["rule"] == "format"
    r = correction(w, token, evidence={"content_type": "image/gif", "data": EVIDENCE["data"]})
    assert r.status == 422 and r.json["field"] == "evidence.content_type", r
    big = base64.b64encode(PNG + bytes(600 * 1024)).decode()
    r = correction(w, token, evidence={"content_type": "image/png", "data": big})
    assert r.status in (413, 422), r
    if r.status == 422:
        assert r.json["rule"] == "max_length"
    # Another type takes none of it.
    r = w["s"].post("/v1/me/requests", {"type": "access", "category": "identity"}, token=token)
    assert r.status == 422 and r.json["rule"] == "correction_only", r
    # None of them filed anything.
    assert w["s"].sql("SELECT COUNT(*) FROM rights_requests WHERE subject_id ="
                      f" '{sid}'") == [["0"]]


def test_correction_accepted_becomes_current_and_queues_notices(w, snapshots):
    s = w["s"]
    sid, b, token = register(w)
    # The register: identity went to gkb, contact only to oldbureau.
    s.sql(entry_sql(sid, "gkb", now_us(), categories="identity")[1])
    s.sql(entry_sql(sid, "oldbureau", now_us(), categories="contact", fields="contact.email")[1])
    r = correction(w, token)
    assert r.status == 201, r
    rid = r.json["id"]
    # Sealed at rest: neither the new value nor the document in clear.
    dump = repr(s.sql(f"SELECT * FROM rights_corrections WHERE request_id = '{rid}'"))
    assert "Петрова" not in dump and "IHDR" not in dump
    # The DPO sees the proposal and the evidence.
    r = s.get(f"/v1/requests/{rid}", token=w["dpo"])
    assert r.status == 200, r
    c = r.json["correction"]
    assert c["category"] == "identity" and c["fields"] == {"surname": "Петрова"}
    assert base64.b64decode(c["evidence"]["data"]) == PNG
    assert c["evidence"]["content_type"] == "image/png" and c["evidence"]["bytes"] == len(PNG)
    # The borrower's view carries none of it.
    assert "correction" not in s.get(f"/v1/me/requests/{rid}", token=token).json
    r = answer(w, rid)
    assert r.status == 200 and r.json["status"] == "accepted", r
    assert r.json["notices_queued"] == 1
    h = s.get(f"/v1/subjects/{sid}/data/identity/history", token=w["underwriter"], headers=ID)
    assert h.status == 200, h
    versions = h.json["versions"]
    assert versions[0]["fields"]["surname"] == "Петрова"
    assert versions[0]["source"] == "borrower"
    assert versions[0]["actor"].startswith("staff:")
    assert versions[1]["fields"]["surname"] == b["surname"]
    rows = s.sql("SELECT recipient, category, state FROM correction_notices"
                 f" WHERE request_id = '{rid}'")
    assert rows == [["gkb", "identity", "queued"]], rows
    assert s.sql("SELECT COUNT(*) FROM audit_log WHERE operation ="
                 f" 'request.correction_notice' AND subject_id = '{sid}'") == [["1"]]
    assert s.get(f"/v1/requests/{rid}", token=w["dpo"]).json["correction"]["version"] == 2


def test_correction_rejected_changes_nothing(w):
    s = w["s"]
    sid, b, token = register(w)
    rid = correction(w, token).json["id"]
    r = answer(w, rid, "no_grounds")
    assert r.status == 200 and r.json["status"] == "rejected", r
    h = s.get(f"/v1/subjects/{sid}/data/identity/history", token=w["underwriter"], headers=ID)
    assert len(h.json["versions"]) == 1, h
    assert s.sql(f"SELECT COUNT(*) FROM correction_notices WHERE request_id = '{rid}'") == \
        [["0"]]


def test_own_register_is_refused_while_access_is_limited(w, snapshots):
    """GET /v1/me/disclosures: a limited borrower gets the one refusal, the
    same as GET /v1/me's, and the listing is recorded as denied."""
    s = w["s"]
    sid, _, token = register(w)
    s.accept_policy(token)
    s.sql(entry_sql(sid, "gkb", now_us(), categories="identity")[1])
    r = s.get("/v1/me/disclosures", token=token)
    assert r.status == 200 and len(r.json["items"]) == 1, r
    limit(w, sid, "aml_cft", "191-IV/art.13")
    r = s.get("/v1/me/disclosures", token=token)
    assert r.status == 403 and r.json["code"] == "access_limited_by_law", r
    assert b"gkb" not in r.body
    assert shape(r) == shape(s.get("/v1/me", token=token))
    rows = s.sql("SELECT outcome FROM audit_log WHERE operation = 'disclosure.self_list'"
                 f" AND subject_id = '{sid}' ORDER BY seq")
    assert [x[0] for x in rows] == ["success", "denied"], rows
    assert s.delete(f"/v1/subjects/{sid}/access-limit", token=w["dpo"]).status == 200
    assert s.get("/v1/me/disclosures", token=token).status == 200


def test_support_files_a_correction_on_behalf(w):
    """Support files a correction that came by letter: the same values and
    evidence, the same checks."""
    s = w["s"]
    sid, _, _ = register(w)
    body = {"type": "correction", "channel": "letter", "identity_check": "notarised",
            "category": "professional", "fields": {"education": "postgraduate"}}
    r = s.post(f"/v1/subjects/{sid}/requests", body, token=w["support"])
    assert r.status == 422 and r.json["code"] == "correction_evidence_required", r
    body["evidence"] = {"content_type": "application/pdf",
                        "data": base64.b64encode(b"%PDF-1.4\n%scan\n").decode()}
    r = s.post(f"/v1/subjects/{sid}/requests", body, token=w["support"])
    assert r.status == 201, r
    assert answer(w, r.json["id"]).json["status"] == "accepted"
    h = s.get(f"/v1/subjects/{sid}/data/professional", token=w["dpo"],
              headers={"Senim-Purpose": "legal_obligation"})
    assert h.status == 200 and h.json["fields"]["education"] == "postgraduate", h


def test_a_state_database_answer_is_not_corrected_by_declaration(world):
    """R2: the fields a state database of the recipients file answers with
    (here the address registry's registered address) come from the state:
    a correction of them is refused, naming the field; the borrower's own
    fields of the same category are not."""
    s = world["senim"]
    b = borrower()
    r = s.post("/v1/subjects", b, token=world["staff"]["underwriter"], headers=ID)
    assert r.status == 201, r
    sid, token = r.json["id"], s.borrower_token(b["phone"])
    body = {"type": "correction", "category": "contact", "evidence": EVIDENCE,
            "fields": {"actual_address": "г. Алматы, ул. Абая, 2",
                       "registered_address": "г. Алматы, ул. Абая, 1"}}
    r = s.post("/v1/me/requests", body, token=token)
    assert r.status == 422 and r.json["code"] == "correction_state_sourced", r
    assert r.json["field"] == "registered_address", r
    assert s.sql("SELECT COUNT(*) FROM rights_requests WHERE subject_id ="
                 f" '{sid}'") == [["0"]]
    del body["fields"]["registered_address"]
    r = s.post("/v1/me/requests", body, token=token)
    assert r.status in (201, 503), r  # 503 where the server has no calendar


def test_a_request_of_an_anonymised_subject_is_read_without_its_text(w):
    """Anonymised by the retention run (the key gone, the sealed text left
    unreadable): the DPO still reads the request and its history, without
    the text — not a 404."""
    from test_retention import SHIPPED, day, withdrawn_borrower
    s = w["s"]
    sid, body = withdrawn_borrower(s, {"underwriter": w["underwriter"]})
    token = s.borrower_token(body["phone"])
    r = s.post("/v1/me/requests", {"type": "question", "text": "Где мои данные?"},
               token=token)
    assert r.status == 201, r
    rid = r.json["id"]
    access = file(w, token, "access")
    assert "text" in s.get(f"/v1/requests/{rid}", token=w["dpo"]).json
    conf = os.path.join(w["dir"], "anonymise.conf")
    with open(SHIPPED, encoding="utf-8") as f:
        text = f.read().replace("retain identity     consent_withdrawn 30d destroy none",
                                "retain identity     consent_withdrawn 30d anonymise none")
    with open(conf, "w", encoding="utf-8") as f:
        f.write(text)
    s.cli("retention", "run", "--file", conf, "--date", day(31))
    assert s.sql(f"SELECT COUNT(*) FROM subject_keys WHERE subject_id = '{sid}'") == [["0"]]
    r = s.get(f"/v1/requests/{rid}", token=w["dpo"])
    assert r.status == 200 and r.json["id"] == rid, r
    assert "text" not in r.json and r.json["history"], r
    # Their open access request is answered: the data was destroyed.
    r = answer(w, access)
    assert r.status == 200 and r.json["answer"]["code"] == "data_destroyed", r
