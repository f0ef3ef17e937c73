"""Checks with a mobile operator (T1) and the state databases (T3), and the
findings they leave (D8), end to end: an underwriter asks; senim decides,
records, sends only what the service sends over TLS (mutual TLS to the state
databases) to tests/peers/mobile_operator.py and state_database.py, checks
the answer, keeps it sealed, and compares a state database's answer with
what the borrower declared — a disagreement, or a person the database does
not know, is a finding, never an overwrite.

Each way of failing has a recipient code of its own, so that each has its
own circuit breaker.
"""
import os
import tempfile

import pytest

from peer_harness import PeerProcess, TestCA, peerlib
from senim_harness import TMP, Senim, borrower
from test_fail_closed import block_audit_sql, unblock_audit_sql

REVIEW = {"Senim-Purpose": "loan_application_review"}
ID = {"Senim-Purpose": "identification"}

OPERATOR = """\
[recipient {code}]
name_ru = АО «Кселл»
name_kk = «Кселл» АҚ
registration = pending
kind = mobile_operator
country = KZ
endpoint = {endpoint}
ca = {ca}
timeout_ms = 1500
breaker_failures = 100
[service {code}.phone_check]
api = phone_check/1
purposes = loan_application_review identification
sends = identity.iin contact.phone_mobile
receives = phone.match phone.owner_since phone.subscriber_type phone.score
basis = consent:mobile_operator
"""

STATE = """\
[recipient {code}]
name_ru = ГБД (тест)
name_kk = МДҚ (тест)
registration = pending
kind = state_database
country = KZ
endpoint = {endpoint}
{client}ca = {ca}
timeout_ms = 1500
breaker_failures = 100
[service {code}.{service}]
api = {api}
purposes = loan_application_review
sends = identity.iin
receives = {receives}
basis = consent:state_database
state_service_consent = yes
"""

SERVICES = {
    "family": ("family_ties", "family_ties/1",
               "family.marital_status family.spouse_name family.dependants"),
    "address": ("address", "address/1",
                "contact.registered_address contact.address_registry_id"),
    "capacity": ("legal_capacity", "legal_capacity/1",
                 "medical.legal_capacity medical.source_body"),
}
ROUTES = {"phone": "phone", "family": "family-ties", "address": "address",
          "capacity": "legal-capacity"}
PATHS = {"phone": "/v1/phone-checks", "family": "/v1/family-ties",
         "address": "/v1/addresses", "capacity": "/v1/legal-capacity"}

# The person the state database does not know (--unknown-iin).
UNKNOWN = borrower()


def state_entry(code, kind, port, ca, client):
    service, api, receives = SERVICES[kind]
    cert = "" if client is None else "client_cert = %s\nclient_key = %s\n" % client
    return STATE.format(code=code, endpoint="https://127.0.0.1:%d" % port, client=cert,
                        ca=ca, service=service, api=api, receives=receives)


@pytest.fixture(scope="module")
def world():
    d = tempfile.mkdtemp(prefix="checks-", dir=TMP)
    ca = TestCA.create(os.path.join(d, "ca"))
    server = ca.issue_server("server")
    client = ca.issue_client("senim")
    os.chmod(client.key, 0o600)
    operator = PeerProcess("mobile_operator.py", tls=server, ca=ca.crt)
    state = PeerProcess("state_database.py", tls=server, client_ca=ca.crt, ca=ca.crt,
                        client=client, extra=["--unknown-iin", UNKNOWN["iin"]])
    path = os.path.join(d, "recipients.conf")
    pair = (client.crt, client.key)
    with open(path, "w", encoding="utf-8") as f:
        for code in ("kcell", "kcell_wrong_person"):
            f.write(OPERATOR.format(code=code, endpoint="https://127.0.0.1:%d" % operator.port,
                                    ca=ca.crt) + "\n")
        for kind in SERVICES:
            f.write(state_entry(kind + "_db", kind, state.port, ca.crt, pair) + "\n")
            f.write(state_entry(kind + "_wrong_person", kind, state.port, ca.crt, pair) + "\n")
        # The same database without a client certificate: mutual TLS fails.
        f.write(state_entry("address_nocert", "address", state.port, ca.crt, None))
    s = Senim(extra_args=["--recipients", path]).start()
    staff = {role: s.service_token("chk-" + role, role)
             for role in ("underwriter", "support", "marketing", "dpo")}
    yield {"senim": s, "operator": operator, "state": state, "staff": staff}
    rc = s.stop()
    operator.stop()
    state.stop()
    assert rc == 0, s.read_log()[-4000:]


@pytest.fixture(autouse=True)
def calm_peers(world):
    for p in (world["operator"], world["state"]):
        p.mode("ok")
        p.reset()
    yield


def register(world, consents=("mobile_operator", "state_database"), body=None):
    s = world["senim"]
    body = body or borrower()
    r = s.post("/v1/subjects", body, token=world["staff"]["underwriter"], headers=ID)
    assert r.status == 201, r
    token = s.borrower_token(body["phone"])
    s.accept_policy(token)
    for kind in consents:
        g = s.post("/v1/me/consents", {"kind": kind, "channel": "web"}, token=token)
        assert g.status in (200, 201), g
    return r.json["id"], body, token


def check(world, sid, kind, recipient=None, role="underwriter", headers=REVIEW):
    recipient = recipient or ("kcell" if kind == "phone" else kind + "_db")
    return world["senim"].post("/v1/subjects/%s/checks/%s" % (sid, ROUTES[kind]),
                               {"recipient": recipient}, token=world["staff"][role],
                               headers=headers)


def peer_of(world, kind):
    return world["operator"] if kind == "phone" else world["state"]


def sent(world, kind):
    return peer_of(world, kind).requests(PATHS[kind])


def kept(world, sid):
    return int(world["senim"].sql(
        "SELECT COUNT(*) FROM subject_sources WHERE subject_id = '%s'" % sid)[0][0])


def outcomes(world, sid):
    return [tuple(r) for r in world["senim"].sql(
        "SELECT direction, outcome FROM disclosures WHERE subject_id = '%s'"
        " ORDER BY at, direction DESC" % sid)]


def finding_rows(world, sid):
    return [tuple(r) for r in world["senim"].sql(
        "SELECT category, field, kind FROM subject_findings WHERE subject_id = '%s'"
        " ORDER BY created_at, id" % sid)]


def consent_id(world, token, kind):
    consents = world["senim"].get("/v1/me/consents", token=token).json["consents"]
    return [c for c in consents if c["kind"] == kind][0]["id"]


def declare(world, sid, category, fields):
    r = world["senim"].request("PUT", "/v1/subjects/%s/data/%s" % (sid, category),
                               token=world["staff"]["underwriter"], headers=REVIEW,
                               body={"fields": fields})
    assert r.status == 200, r


def full_capacity_borrower(want_full):
    for _ in range(500):
        b = borrower()
        if (peerlib.synthetic_capacity(b["iin"])["legal_capacity"] == "full") == want_full:
            return b
    raise AssertionError("no such borrower")


# ---- each check, answered ----------------------------------------------------------

def test_phone_check_sends_the_number_and_the_iin_only(world):
    sid, body, _ = register(world)
    r = check(world, sid, "phone")
    assert r.status == 200, r
    msisdn = "+" + "".join(ch for ch in body["phone"] if ch.isdigit())
    want = peerlib.synthetic_phone(body["iin"], msisdn)
    assert r.json["received"]["phone.match"] == want["result"]
    assert set(r.json["received"]) == {"phone.match", "phone.owner_since",
                                       "phone.subscriber_type", "phone.score"}
    assert "findings" not in r.json
    reqs = sent(world, "phone")
    assert len(reqs) == 1
    assert reqs[0]["body"] == {"msisdn": msisdn, "iin": body["iin"]}
    assert reqs[0]["headers"]["Idempotency-Key"].startswith("trf_")
    assert outcomes(world, sid) == [("out", "delivered"), ("in", "received")]
    assert kept(world, sid) == 1
    assert finding_rows(world, sid) == []


@pytest.mark.parametrize("kind", ["family", "address", "capacity"])
def test_a_state_database_gets_the_iin_and_the_consent_ref_only(world, kind):
    sid, body, token = register(world, body=full_capacity_borrower(True))
    r = check(world, sid, kind)
    assert r.status == 200, r
    reqs = sent(world, kind)
    assert len(reqs) == 1
    # consent via senim, not via the state service (design Q4): the ledger's
    # state_database consent is the reference.
    assert reqs[0]["body"] == {"iin": body["iin"],
                               "consent_ref": consent_id(world, token, "state_database")}
    assert reqs[0]["client_cn"] == "senim-test-senim"
    got = r.json["received"]
    if kind == "family":
        want = peerlib.synthetic_family(body["iin"])
        assert got["family.marital_status"] == want["marital_status"]
        assert len(got["family.dependants"]) == len(want["children"])
        # No third person's IIN is kept.
        for child in want["children"]:
            assert child["iin"] not in str(got)
    elif kind == "address":
        want = peerlib.synthetic_address(body["iin"])["registered_address"]
        assert got["contact.registered_address"] == (want and want["text"])
    else:
        assert got == {"medical.legal_capacity": "full",
                       "medical.source_body": "ГБД ФЛ (синтетические данные)"}
    # Nothing declared to disagree with; full capacity: no finding.
    assert r.json["findings"] == [] and finding_rows(world, sid) == []
    assert outcomes(world, sid) == [("out", "delivered"), ("in", "received")]
    assert kept(world, sid) == 1


# ---- refusals: nothing leaves ----------------------------------------------------------

@pytest.mark.parametrize("kind,consent", [("phone", "mobile_operator"),
                                          ("family", "state_database"),
                                          ("address", "state_database"),
                                          ("capacity", "state_database")])
def test_without_consent_nothing_leaves(world, kind, consent):
    others = tuple(c for c in ("mobile_operator", "state_database") if c != consent)
    sid, _, _ = register(world, consents=others)
    r = check(world, sid, kind)
    assert r.status == 403 and r.json["code"] == "consent_required", r
    assert r.json["missing_consent"] == consent
    assert sent(world, kind) == []
    assert kept(world, sid) == 0
    assert outcomes(world, sid) == [("out", "refused")]


def test_who_may_ask_and_of_whom(world):
    sid, _, _ = register(world)
    r = check(world, sid, "family", role="marketing")
    assert r.status == 403 and r.json["code"] == "forbidden_role", r
    # The family database serves application review only.
    r = check(world, sid, "family", headers=ID)
    assert r.status == 403 and r.json["code"] == "purpose_not_allowed_for_recipient", r
    # A recipient that does not speak the route's API is unknown to it.
    r = check(world, sid, "family", recipient="kcell")
    assert r.status == 422 and r.json["code"] == "recipient_unknown", r
    r = check(world, sid, "phone", recipient="family_db")
    assert r.status == 422 and r.json["code"] == "recipient_unknown", r
    assert sent(world, "family") == [] and sent(world, "phone") == []


@pytest.mark.parametrize("kind", ["phone", "family", "address", "capacity"])
def test_fail_closed_without_audit(world, kind):
    """S4: no audit record, no request: the decision's record commits
    before a byte goes to the operator or the state database."""
    sid, body, _ = register(world)
    s = world["senim"]
    s.sql(block_audit_sql())
    try:
        r = check(world, sid, kind)
    finally:
        s.sql(unblock_audit_sql())
    assert r.status >= 500, r
    assert body["iin"] not in r.body.decode("utf-8", "replace")
    assert sent(world, kind) == []
    assert outcomes(world, sid) == [] and kept(world, sid) == 0
    assert check(world, sid, kind).status == 200


def test_findings_fail_closed_without_audit(world):
    """Neither the list nor a resolution answers without its audit record,
    and a resolution that could not be recorded did not happen."""
    sid, _, _ = register(world)
    declare(world, sid, "contact", {"registered_address": "нигде"})
    r = check(world, sid, "address")
    assert r.status == 200 and len(r.json["findings"]) == 1, r
    fid = r.json["findings"][0]["id"]
    s = world["senim"]
    s.sql(block_audit_sql())
    try:
        listed = findings(world, sid)
        resolved = resolve(world, sid, fid)
    finally:
        s.sql(unblock_audit_sql())
    assert listed.status >= 500 and fid not in listed.body.decode(), listed
    assert resolved.status >= 500, resolved
    assert s.sql("SELECT resolution FROM subject_findings WHERE id = '%s'" % fid)[0][0] \
        in (None, "", "NULL")
    assert resolve(world, sid, fid).status == 200


# ---- bad answers: nothing kept ---------------------------------------------------------

@pytest.mark.parametrize("kind", ["phone", "family", "address", "capacity"])
def test_an_answer_about_someone_else_is_refused(world, kind):
    sid, _, _ = register(world)
    peer_of(world, kind).mode("wrong_person")
    r = check(world, sid, kind,
              recipient="kcell_wrong_person" if kind == "phone" else kind + "_wrong_person")
    assert r.status == 502 and r.json["code"] == "recipient_wrong_subject", r
    assert kept(world, sid) == 0
    assert outcomes(world, sid) == [("out", "failed")]
    assert finding_rows(world, sid) == []


def test_mutual_tls_without_a_client_certificate_fails(world):
    sid, _, _ = register(world)
    r = check(world, sid, "address", recipient="address_nocert")
    assert r.status in (502, 503), r
    assert r.json["code"].startswith("recipient_"), r
    assert kept(world, sid) == 0
    assert outcomes(world, sid) == [("out", "failed")]
    # The database never answered a request without a client certificate.
    assert sent(world, "address") == []


# ---- findings (D8) ----------------------------------------------------------------------

def test_a_family_mismatch_is_a_finding_and_the_declaration_stays(world):
    sid, body, _ = register(world)
    truth = peerlib.synthetic_family(body["iin"])
    other = [m for m in ("single", "married", "divorced", "widowed")
             if m != truth["marital_status"]][0]
    dependants = [{"relation": "child", "name": "Ребёнок %d" % i,
                   "birth_date": "2015-01-0%d" % (i + 1)}
                  for i in range(len(truth["children"]) + 1)]
    declare(world, sid, "family", {"marital_status": other, "dependants": dependants})
    r = check(world, sid, "family")
    assert r.status == 200, r
    want = [("family", "dependants", "mismatch"), ("family", "marital_status", "mismatch")]
    assert sorted((f["category"], f["field"], f["kind"]) for f in r.json["findings"]) == want
    assert sorted(finding_rows(world, sid)) == want
    # Never overwritten: the borrower's declaration is what it was.
    d = world["senim"].get("/v1/subjects/%s/data/family" % sid,
                           token=world["staff"]["underwriter"], headers=REVIEW)
    assert d.status == 200 and d.json["fields"]["marital_status"] == other, d
    # Each finding has its audit record.
    s = world["senim"]
    for f in r.json["findings"]:
        n = s.sql("SELECT COUNT(*) FROM audit_log WHERE object = 'finding:%s'"
                  " AND operation = 'finding.record'" % f["id"])
        assert int(n[0][0]) == 1
    # A declaration that agrees leaves no finding.
    sid2, body2, _ = register(world)
    t2 = peerlib.synthetic_family(body2["iin"])
    declare(world, sid2, "family", {"marital_status": t2["marital_status"]})
    r = check(world, sid2, "family")
    assert r.status == 200 and r.json["findings"] == [], r


def test_an_address_mismatch_is_a_finding(world):
    sid, body, _ = register(world)
    declare(world, sid, "contact", {"registered_address": "г. Шымкент, ул. Другая, 1"})
    r = check(world, sid, "address")
    assert r.status == 200, r
    assert finding_rows(world, sid) == [("contact", "registered_address", "mismatch")]
    # The same address written otherwise (spaces, commas) agrees.
    sid2, body2, _ = register(world)
    truth = peerlib.synthetic_address(body2["iin"])["registered_address"]
    if truth:
        declare(world, sid2, "contact",
                {"registered_address": "  " + truth["text"].replace(", ", " ")})
        r = check(world, sid2, "address")
        assert r.status == 200 and r.json["findings"] == [], r


def test_legal_capacity_not_full_is_a_finding(world):
    sid, body, _ = register(world, body=full_capacity_borrower(False))
    r = check(world, sid, "capacity")
    assert r.status == 200, r
    assert r.json["received"]["medical.legal_capacity"] in ("limited", "incapable")
    assert finding_rows(world, sid) == [("medical", "legal_capacity", "mismatch")]


def test_a_person_the_database_does_not_know_is_a_finding(world):
    sid, _, _ = register(world, body=dict(UNKNOWN))
    r = check(world, sid, "family")
    assert r.status == 422 and r.json["code"] == "recipient_person_not_found", r
    assert kept(world, sid) == 0
    assert outcomes(world, sid) == [("out", "failed")]
    assert world["senim"].sql(
        "SELECT reason FROM disclosures WHERE subject_id = '%s'" % sid)[0][0] == \
        "person_not_found"
    assert finding_rows(world, sid) == [("identity", "iin", "not_found")]


def findings(world, sid, role="underwriter", headers=REVIEW):
    return world["senim"].get("/v1/subjects/%s/findings" % sid,
                              token=world["staff"][role], headers=headers)


def resolve(world, sid, fid, resolution="declared_corrected", role="underwriter",
            headers=REVIEW):
    return world["senim"].post("/v1/subjects/%s/findings/%s/resolve" % (sid, fid),
                               {"resolution": resolution}, token=world["staff"][role],
                               headers=headers)


def test_findings_are_listed_and_resolved_once(world):
    sid, _, _ = register(world)
    declare(world, sid, "contact", {"registered_address": "нигде"})
    assert check(world, sid, "address").status == 200
    r = findings(world, sid)
    assert r.status == 200, r
    assert [(f["category"], f["field"], f["kind"], f["resolution"])
            for f in r.json["findings"]] == [
        ("contact", "registered_address", "mismatch", None)]
    fid = r.json["findings"][0]["id"]
    s = world["senim"]
    n = s.sql("SELECT COUNT(*) FROM audit_log WHERE operation = 'finding.list'"
              " AND subject_id = '%s'" % sid)
    assert int(n[0][0]) == 1
    # The read names its purpose.
    r = findings(world, sid, headers={})
    assert r.status == 400 and r.json["code"] == "purpose_required", r
    r = findings(world, sid, role="marketing")
    assert r.status == 403 and r.json["code"] == "forbidden_role", r
    r = resolve(world, sid, fid, resolution="whatever")
    assert r.status == 422, r
    r = resolve(world, sid, fid)
    assert r.status == 200 and r.json == {"id": fid, "resolution": "declared_corrected"}, r
    r = resolve(world, sid, fid, resolution="source_error")
    assert r.status == 409 and r.json["code"] == "finding_already_resolved", r
    listed = findings(world, sid).json["findings"][0]
    assert listed["resolution"] == "declared_corrected" and listed["resolved_at"]
    n = s.sql("SELECT outcome FROM audit_log WHERE operation = 'finding.resolve'"
              " AND object = 'finding:%s' ORDER BY seq" % fid)
    assert [x[0] for x in n] == ["success", "unchanged"]
    # Another subject's finding is not this subject's.
    other, _, _ = register(world)
    r = resolve(world, other, fid)
    assert r.status == 404 and r.json["code"] == "finding_not_found", r
    r = resolve(world, sid, "fnd_nothing")
    assert r.status == 404 and r.json["code"] == "finding_not_found", r


def test_nothing_personal_in_the_log(world):
    sid, body, _ = register(world)
    for kind in ("phone", "family", "address"):
        assert check(world, sid, kind).status == 200
    log = world["senim"].read_log()
    for value in (body["iin"], body["surname"], body["phone"]):
        assert value not in log


def test_a_resolve_is_decided_like_a_read_of_the_finding(world):
    """Resolving judges the subject's data: it names its purpose, and a
    blocked subject's finding is not resolved (nothing changes; the refusal
    is audited)."""
    sid, _, _ = register(world)
    declare(world, sid, "contact", {"registered_address": "нигде"})
    assert check(world, sid, "address").status == 200
    fid = findings(world, sid).json["findings"][0]["id"]
    s = world["senim"]
    r = resolve(world, sid, fid, headers={})
    assert r.status == 400 and r.json["code"] == "purpose_required", r
    b = s.post("/v1/subjects/%s/block" % sid, {"reason": "borrower_request"},
               token=world["staff"]["dpo"])
    assert b.status == 200, b
    r = resolve(world, sid, fid)
    assert r.status in (403, 423) and r.json["code"] == "subject_blocked", r
    assert s.sql("SELECT resolved_at, resolution FROM subject_findings WHERE id = '%s'"
                 % fid) == [["", ""]]
    rows = s.sql("SELECT outcome, purpose FROM audit_log WHERE operation ="
                 " 'finding.resolve' AND object = 'finding:%s'" % fid)
    assert rows == [["denied", "loan_application_review"]], rows
