"""A processor abroad (issue 11: T4, T5, S4), end to end: an underwriter
sends a scoring job to tests/peers/processor.py in DE over TLS.  senim
decides (the processing agreement and its purposes, the country allowed in
[cross_border], the borrower's cross_border consent), records, and sends
processing/1's job: the transfer id, the purpose, the borrower's pseudonym
at that processor and only the fields the service sends — never the IIN
or the subject id.  Nothing comes back to keep; the register shows the
transfer out.

Each way of failing has a recipient code of its own, so that each has its
own circuit breaker.
"""
import json
import os
import subprocess
import tempfile

import pytest

from peer_harness import PeerProcess, TestCA
from senim_harness import BIN, TMP, Senim, borrower
from test_fail_closed import block_audit_sql, unblock_audit_sql

REVIEW = {"Senim-Purpose": "loan_application_review"}
ID = {"Senim-Purpose": "identification"}
JOBS = "/v1/jobs"

PROCESSOR = """\
[recipient {code}]
name_ru = Scorelab GmbH (тест)
name_kk = Scorelab GmbH (тест)
registration = foreign:DE:HRB-000000
kind = processor
country = DE
endpoint = {endpoint}
ca = {ca}
timeout_ms = 1500
breaker_failures = 100
agreement = DPA-SL-1 2025-01-15
agreement_purposes = {agreement_purposes}
[service {code}.scoring]
api = processing/1
purposes = {purposes}
sends = identity.birth_date identity.sex
basis = agreement
"""

CODES = ("scorelab", "scorelab_other", "scorelab_lie", "scorelab_wrong_job")


def entry(code, endpoint, ca, purposes="loan_application_review",
          agreement_purposes="loan_application_review"):
    return PROCESSOR.format(code=code, endpoint=endpoint, ca=ca, purposes=purposes,
                            agreement_purposes=agreement_purposes)


@pytest.fixture(scope="module")
def world():
    d = tempfile.mkdtemp(prefix="processing-", dir=TMP)
    ca = TestCA.create(os.path.join(d, "ca"))
    server = ca.issue_server("server")
    peer = PeerProcess("processor.py", tls=server, ca=ca.crt)
    endpoint = "https://127.0.0.1:%d" % peer.port
    path = os.path.join(d, "recipients.conf")
    with open(path, "w", encoding="utf-8") as f:
        f.write("[cross_border]\nallowed_countries = DE\n\n")
        for code in CODES:
            f.write(entry(code, endpoint, ca.crt) + "\n")
    s = Senim(extra_args=["--recipients", path]).start()
    staff = {role: s.service_token("proc-" + role, role)
             for role in ("underwriter", "support")}
    yield {"senim": s, "peer": peer, "staff": staff, "dir": d, "endpoint": endpoint,
           "ca": ca.crt}
    rc = s.stop()
    peer.stop()
    assert rc == 0, s.read_log()[-4000:]


@pytest.fixture(autouse=True)
def calm_peer(world):
    world["peer"].mode("ok")
    world["peer"].reset()
    yield


def register(world, cross_border=True):
    s = world["senim"]
    body = borrower()
    r = s.post("/v1/subjects", body, token=world["staff"]["underwriter"], headers=ID)
    assert r.status == 201, r
    token = s.borrower_token(body["phone"])
    s.accept_policy(token)
    if cross_border:
        g = s.post("/v1/me/consents", {"kind": "cross_border", "channel": "web"},
                   token=token)
        assert g.status == 201, g
    return r.json["id"], body, token


def scoring(world, sid, recipient="scorelab", role="underwriter", headers=REVIEW):
    return world["senim"].post("/v1/subjects/%s/checks/scoring" % sid,
                               {"recipient": recipient}, token=world["staff"][role],
                               headers=headers)


def jobs(world):
    return world["peer"].requests(JOBS)


def register_rows(world, sid):
    return world["senim"].sql(
        "SELECT direction, outcome, cross_border, country, basis, recipient"
        " FROM disclosures WHERE subject_id = '%s' ORDER BY at, direction DESC" % sid)


def kept(world, sid):
    return int(world["senim"].sql(
        "SELECT COUNT(*) FROM subject_sources WHERE subject_id = '%s'" % sid)[0][0])


def test_abroad_only_with_the_cross_border_consent(world):
    """T4: a processor in an allowed country still needs the borrower's
    cross_border consent; without it nothing leaves, and the refusal is on
    the register with the country."""
    sid, _, token = register(world, cross_border=False)
    r = scoring(world, sid)
    assert r.status == 403 and r.json["code"] == "consent_required", r
    assert r.json["missing_consent"] == "cross_border"
    assert jobs(world) == []
    assert register_rows(world, sid) == [["out", "refused", "1", "DE", "agreement",
                                          "scorelab"]]
    g = world["senim"].post("/v1/me/consents", {"kind": "cross_border", "channel": "web"},
                            token=token)
    assert g.status == 201, g
    assert scoring(world, sid).status == 200


def test_a_job_carries_a_pseudonym_and_the_sent_fields_only(world):
    """T5: the processor gets exactly {job_id, purpose, pseudonym, data},
    data holding only the service's `sends`; no IIN and no subject id
    anywhere in the request; nothing is kept, and the register shows the
    transfer out, delivered, abroad, under the agreement."""
    sid, body, _ = register(world)
    r = scoring(world, sid)
    assert r.status == 200, r
    assert r.json["status"] == "accepted" and r.json["recipient"] == "scorelab"
    assert r.json["service"] == "scoring"
    assert r.json["transfer_id"].startswith("trf_")
    got = jobs(world)
    assert len(got) == 1
    job = got[0]["body"]
    assert set(job) == {"job_id", "purpose", "pseudonym", "data"}
    assert job["job_id"] == r.json["transfer_id"]
    assert job["purpose"] == "loan_application_review"
    assert len(job["pseudonym"]) == 32 and int(job["pseudonym"], 16) >= 0
    assert job["data"] == {"identity.birth_date": body["birth_date"],
                           "identity.sex": body["sex"]}
    # The whole request as the peer saw it: path, headers and body.
    raw = json.dumps(got[0], ensure_ascii=False)
    assert body["iin"] not in raw and sid not in raw
    assert body["surname"] not in raw
    assert got[0]["headers"].get("Idempotency-Key") == r.json["transfer_id"]
    assert register_rows(world, sid) == [["out", "delivered", "1", "DE", "agreement",
                                          "scorelab"]]
    assert kept(world, sid) == 0
    s = world["senim"]
    assert s.sql("SELECT state, country, cross_border FROM transfers WHERE id = '%s'"
                 % r.json["transfer_id"]) == [["delivered", "DE", "1"]]


def test_one_pseudonym_per_subject_and_recipient(world):
    """The same subject twice at one processor: the same pseudonym; two
    subjects, or one subject at two processors: different ones."""
    a, _, _ = register(world)
    b, _, _ = register(world)
    for sid, recipient in ((a, "scorelab"), (a, "scorelab"), (b, "scorelab"),
                           (a, "scorelab_other")):
        assert scoring(world, sid, recipient).status == 200
    p = [j["body"]["pseudonym"] for j in jobs(world)]
    assert len(p) == 4
    assert p[0] == p[1]
    assert p[2] != p[0]
    assert p[3] != p[0] and p[3] != p[2]


def test_only_for_the_underwriter_and_the_agreement_purposes(world):
    sid, _, _ = register(world)
    assert scoring(world, sid, role="support").status == 403
    r = scoring(world, sid, headers={"Senim-Purpose": "loan_servicing"})
    assert r.status == 403, r
    assert jobs(world) == []


@pytest.mark.parametrize("recipient,mode,status,code", [
    ("scorelab_lie", "lie", 502, "recipient_invalid_answer"),
    ("scorelab_wrong_job", "wrong_person", 502, "recipient_wrong_subject"),
])
def test_a_bad_answer_is_a_failed_transfer(world, recipient, mode, status, code):
    sid, _, _ = register(world)
    world["peer"].mode(mode)
    r = scoring(world, sid, recipient)
    assert r.status == status and r.json["code"] == code, r
    rows = register_rows(world, sid)
    assert rows == [["out", "failed", "1", "DE", "agreement", recipient]]
    assert kept(world, sid) == 0


def test_fail_closed_without_audit(world):
    """S4: no audit record, no job: the decision's record commits before a
    byte goes to the processor."""
    sid, body, _ = register(world)
    s = world["senim"]
    s.sql(block_audit_sql())
    try:
        r = scoring(world, sid)
    finally:
        s.sql(unblock_audit_sql())
    assert r.status >= 500, r
    assert body["iin"] not in r.body.decode("utf-8", "replace")
    assert jobs(world) == []
    assert register_rows(world, sid) == []
    assert scoring(world, sid).status == 200


def test_a_purpose_outside_the_agreement_cannot_be_configured(world):
    """T5: the recipients file refuses a processor's service whose purposes
    go beyond its processing agreement, naming the line."""
    path = os.path.join(world["dir"], "outside.conf")
    with open(path, "w", encoding="utf-8") as f:
        f.write("[cross_border]\nallowed_countries = DE\n\n")
        f.write(entry("scorelab", world["endpoint"], world["ca"],
                      purposes="loan_application_review loan_servicing"))
    p = subprocess.run([BIN, "recipients", "check", "--skip-files", path],
                       capture_output=True, timeout=60)
    assert p.returncode == 2, p
    assert p.stderr.decode() == (
        "senim recipients: %s:18: [service scorelab.scoring] purposes: \"loan_servicing\""
        " is not among the processing agreement's purposes (loan_application_review)\n"
        % path)


def test_a_retried_job_is_the_same_job(world):
    """A job retried after a 503 goes again under the same Idempotency-Key
    with the same body, so the processor runs it once."""
    sid, _, _ = register(world)
    world["peer"].mode("fail", fail_count=1, status=503)
    r = scoring(world, sid)
    assert r.status == 200, r
    got = jobs(world)
    assert len(got) == 2
    assert got[0]["body"] == got[1]["body"]
    assert {g["headers"].get("Idempotency-Key") for g in got} == {r.json["transfer_id"]}
    assert world["peer"].stats()["answered"] == 1
