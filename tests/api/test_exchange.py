"""A credit report through senim, end to end (issue 11: T2, T4, T6, D8, S4):
an underwriter asks for a borrower's report from a bureau; senim decides,
records the decision, sends only what the bureau may receive over TLS to
tests/peers/credit_bureau.py, checks the answer field by field, keeps what
the recipients file says to keep, sealed, and puts both directions on the
disclosure register, each with its audit record.

Every refusal is checked three ways: the problem answered, nothing at the
peer (its request log), and nothing kept (subject_sources).
"""
import datetime
import json
import os
import re
import tempfile
import threading
import time

import pytest

from peer_harness import PeerProcess, TestCA, peerlib
from senim_harness import TMP, Senim, borrower
from test_fail_closed import block_audit_sql, unblock_audit_sql

REVIEW = {"Senim-Purpose": "loan_application_review"}
ID = {"Senim-Purpose": "identification"}
TOKEN = "bureau-token-7"
FAILING = ("pkb_garbage", "pkb_truncate", "pkb_lie", "pkb_wrong_person", "pkb_slow")

RECIPIENTS = """\
[cross_border]
allowed_countries = DE

# The same bureau answering from abroad (a test's stand-in: the consent
# names the bureau, and the file lets it be abroad only in DE).
[recipient xbureau]
name_ru = ТОО «Первое кредитное бюро»
name_kk = «Бірінші кредиттік бюро» ЖШС
registration = foreign:DE:HRB-000001
kind = credit_bureau
country = DE
endpoint = {endpoint}
credentials = {credentials}
ca = {ca}
[service xbureau.credit_report]
api = credit_report/1
purposes = loan_application_review
sends = identity.iin
receives = report.score
basis = consent:credit_bureau_pkb

[recipient pkb]
name_ru = ТОО «Первое кредитное бюро»
name_kk = «Бірінші кредиттік бюро» ЖШС
registration = pending
kind = credit_bureau
country = KZ
endpoint = {endpoint}
credentials = {credentials}
ca = {ca}
timeout_ms = {timeout_ms}
breaker_failures = 100
[service pkb.credit_report]
api = credit_report/1
purposes = loan_application_review loan_servicing
sends = identity.iin
receives = report.score report.loans report.total_debt_tiyn report.enquiries
basis = consent:credit_bureau_pkb

[recipient gkb]
name_ru = АО «Государственное кредитное бюро»
name_kk = «Мемлекеттік кредиттік бюро» АҚ
registration = pending
kind = credit_bureau
country = KZ
endpoint = {gkb_endpoint}
ca = {ca}
timeout_ms = 1000
breaker_failures = 2
breaker_open_ms = 600000
[service gkb.credit_report]
api = credit_report/1
purposes = loan_application_review loan_servicing
sends = identity.iin
receives = report.score
basis = consent:credit_bureau_gkb
"""


@pytest.fixture(scope="module")
def world():
    d = tempfile.mkdtemp(prefix="exchange-", dir=TMP)
    ca = TestCA.create(os.path.join(d, "ca"))
    server = ca.issue_server("server")
    peer = PeerProcess("credit_bureau.py", tls=server, token=TOKEN, ca=ca.crt)
    gkb = PeerProcess("credit_bureau.py", tls=server, ca=ca.crt)
    credentials = os.path.join(d, "pkb.token")
    with open(os.open(credentials, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
        f.write(TOKEN + "\n")
    path = os.path.join(d, "recipients.conf")
    with open(path, "w", encoding="utf-8") as f:
        f.write(RECIPIENTS.format(endpoint="https://127.0.0.1:%d" % peer.port,
                                  gkb_endpoint="https://127.0.0.1:%d" % gkb.port,
                                  credentials=credentials, ca=ca.crt, timeout_ms=1500))
        # The same bureau under other codes, one per way of failing, so
        # that each has a circuit breaker of its own.
        for code in FAILING:
            f.write("\n" + RECIPIENTS.split("[recipient pkb]")[1].split(
                "\n[recipient gkb]")[0].join(["[recipient pkb]", ""]).replace(
                "[recipient pkb]", "[recipient %s]" % code).replace(
                "[service pkb.", "[service %s." % code).format(endpoint="https://127.0.0.1:%d" % peer.port,
                                    credentials=credentials, ca=ca.crt, timeout_ms=1500))
    s = Senim(extra_args=["--recipients", path]).start()
    staff = {role: s.service_token("xch-" + role, role)
             for role in ("underwriter", "support", "marketing", "dpo", "auditor")}
    yield {"senim": s, "peer": peer, "gkb": gkb, "staff": staff, "conf": path}
    rc = s.stop()
    peer.stop()
    gkb.stop()
    assert rc == 0, s.read_log()[-4000:]


@pytest.fixture(autouse=True)
def calm_peer(world):
    world["peer"].mode("ok")
    world["peer"].reset()
    yield


def register(world, consents=("credit_bureau_pkb",), body=None):
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


def check(world, sid, recipient="pkb", role="underwriter", headers=REVIEW):
    return world["senim"].post("/v1/subjects/%s/checks/credit-report" % sid,
                               {"recipient": recipient}, token=world["staff"][role],
                               headers=headers)


def peer_requests(world):
    return world["peer"].requests("/v1/credit-reports")


def kept(world, sid):
    return int(world["senim"].sql(
        "SELECT COUNT(*) FROM subject_sources WHERE subject_id = '%s'" % sid)[0][0])


def register_rows(world, sid):
    return world["senim"].sql(
        "SELECT direction, recipient, service, outcome, purpose, basis, consent_id, fields"
        " FROM disclosures WHERE subject_id = '%s' ORDER BY at, direction DESC" % sid)


def test_a_report_under_consent(world):
    sid, body, token = register(world)
    r = check(world, sid)
    assert r.status == 200, r
    want = peerlib.synthetic(body["iin"])
    got = r.json["received"]
    assert got["report.total_debt_tiyn"] == want["total_debt_tiyn"]
    assert len(got["report.loans"]) == len(want["loans"])
    # Minimisation: the bureau saw the IIN, the purpose and the consent's
    # confirmation, nothing else of the borrower.
    sent = peer_requests(world)
    assert len(sent) == 1
    assert set(sent[0]["body"]) == {"iin", "purpose", "consent"}
    assert sent[0]["body"]["iin"] == body["iin"]
    assert sent[0]["body"]["purpose"] == "loan_application_review"
    consents = world["senim"].get("/v1/me/consents", token=token).json["consents"]
    pkb = [c for c in consents if c["kind"] == "credit_bureau_pkb"][0]
    assert sent[0]["body"]["consent"]["id"] == pkb["id"]
    assert sent[0]["headers"]["Authorization"] == "present"
    assert sent[0]["headers"]["Idempotency-Key"].startswith("trf_")
    # Both directions on the register, each under the consent.
    rows = register_rows(world, sid)
    assert [(d, o) for d, _, _, o, *_ in rows] == [("out", "delivered"), ("in", "received")]
    for _, recipient, service, _, purpose, basis, consent_id, _ in rows:
        assert (recipient, service, purpose, basis, consent_id) == (
            "pkb", "credit_report", "loan_application_review", "consent", pkb["id"])
    assert kept(world, sid) == 1
    # Each register entry has exactly one audit record naming it.
    s = world["senim"]
    for (did,) in s.sql("SELECT id FROM disclosures WHERE subject_id = '%s'" % sid):
        n = s.sql("SELECT COUNT(*) FROM audit_log WHERE object = 'disclosure:%s'" % did)
        assert int(n[0][0]) == 1


def test_without_the_bureau_consent_nothing_leaves(world):
    sid, _, _ = register(world, consents=())
    r = check(world, sid)
    assert r.status == 403 and r.json["code"] == "consent_required", r
    assert r.json["missing_consent"] == "credit_bureau_pkb"
    assert peer_requests(world) == []
    assert kept(world, sid) == 0
    assert [(d, o) for d, _, _, o, *_ in register_rows(world, sid)] == [("out", "refused")]


def test_a_withdrawn_consent_stops_the_next_report(world):
    sid, _, token = register(world)
    assert check(world, sid).status == 200
    s = world["senim"]
    consents = s.get("/v1/me/consents", token=token).json["consents"]
    cid = [c for c in consents if c["kind"] == "credit_bureau_pkb"][0]["id"]
    w = s.delete("/v1/me/consents/%s" % cid, token=token)
    assert w.status == 200, w
    world["peer"].reset()
    r = check(world, sid)
    assert r.status == 403 and r.json["missing_consent"] == "credit_bureau_pkb", r
    assert peer_requests(world) == []


def test_a_restricted_subject_is_not_reported_on(world):
    """R4: a borrower who restricted processing to servicing is not asked
    about for an application review."""
    sid, _, _ = register(world)
    s = world["senim"]
    r = s.post("/v1/subjects/%s/restrictions" % sid, {"allowed_purposes": ["loan_servicing"]},
               token=world["staff"]["dpo"])
    assert r.status == 200, r
    r = check(world, sid)
    assert r.status == 403 and r.json["code"] == "purpose_restricted", r
    assert peer_requests(world) == [] and kept(world, sid) == 0
    assert [(d, o) for d, _, _, o, *_ in register_rows(world, sid)] == [("out", "refused")]
    # servicing, which the restriction allows, still gets its report
    r = check(world, sid, headers={"Senim-Purpose": "loan_servicing"})
    assert r.status == 200, r


def test_a_blocked_subject_is_not_reported_on(world):
    sid, _, _ = register(world)
    s = world["senim"]
    b = s.post("/v1/subjects/%s/block" % sid, {"reason": "borrower_request"},
               token=world["staff"]["dpo"])
    assert b.status == 200, b
    r = check(world, sid)
    assert r.status == 403 and r.json["code"] == "subject_blocked", r
    assert peer_requests(world) == [] and kept(world, sid) == 0


def test_unknown_recipient_and_wrong_service(world):
    sid, _, _ = register(world)
    for name in ("nobody", "PKB", ""):
        r = check(world, sid, recipient=name)
        assert r.status == 422 and r.json["code"] == "recipient_unknown", r
    assert peer_requests(world) == []
    assert register_rows(world, sid) == []


def test_who_may_ask(world):
    sid, _, _ = register(world)
    r = check(world, sid, role="marketing")
    assert r.status == 403 and r.json["code"] == "forbidden_role", r
    # Support may serve a loan, but not review an application.
    r = check(world, sid, role="support")
    assert r.status == 403 and r.json["code"] == "purpose_not_permitted", r
    # The purpose must be one the bureau serves.
    r = check(world, sid, headers=ID)
    assert r.status == 403 and r.json["code"] == "purpose_not_allowed_for_recipient", r
    r = check(world, sid, headers={})
    assert r.status == 400 and r.json["code"] == "purpose_required", r
    assert peer_requests(world) == []


def test_the_borrower_and_the_dpo_see_the_exchange(world):
    """T6 from a real transfer: the borrower's own register and the DPO's
    listing (and its CSV export) show what went out and what came in."""
    sid, _, token = register(world)
    assert check(world, sid).status == 200
    s = world["senim"]
    r = s.get("/v1/me/disclosures?lang=kk", token=token)
    assert r.status == 200, r
    items = r.json["items"]
    assert [(i["direction"]["code"], i["outcome"]["code"]) for i in items] == [
        ("in", "received"), ("out", "delivered")]
    for i in items:
        assert i["recipient"]["code"] == "pkb"
        assert i["recipient"]["name"] == "«Бірінші кредиттік бюро» ЖШС"
        assert i["purpose"]["code"] == "loan_application_review"
        assert i["basis"]["kind"] == "consent"
    assert items[1]["fields"] == ["identity.iin"]
    r = s.get("/v1/disclosures?subject=%s&format=csv" % sid, token=world["staff"]["dpo"])
    assert r.status == 200, r
    rows = r.body.decode().splitlines()
    assert len(rows) == 3 and rows[0].startswith("id,at,subject_id,direction")
    assert all(sid in row and ",pkb," in row for row in rows[1:])


def metrics_text(world):
    r = world["senim"].get("/metrics", token=world["staff"]["auditor"])
    assert r.status == 200, r
    return r.body.decode()


def metric(world, name, **labels):
    text = metrics_text(world)
    want = ",".join('%s="%s"' % kv for kv in sorted(labels.items()))
    for line in text.splitlines():
        m = re.match(r"%s\{(.*)\} (\d+)$" % name, line)
        if m and ",".join(sorted(m.group(1).split(","))) == want:
            return int(m.group(2))
    return 0


def test_metrics_count_transfers_by_recipient_and_outcome(world):
    out = dict(recipient="pkb", direction="out", outcome="delivered")
    got = dict(recipient="pkb", direction="in", outcome="received")
    refused = dict(recipient="pkb", direction="out", outcome="refused")
    before = [metric(world, "senim_transfers_total", **x) for x in (out, got, refused)]
    sid, _, _ = register(world)
    assert check(world, sid).status == 200
    nobody, _, _ = register(world, consents=())
    assert check(world, nobody).status == 403
    after = [metric(world, "senim_transfers_total", **x) for x in (out, got, refused)]
    assert [a - b for a, b in zip(after, before)] == [1, 1, 1]
    assert metric(world, "senim_transfer_attempts_total", recipient="pkb", result="ok") >= 1
    assert 'senim_recipient_circuit_state{recipient="pkb"} 0' in metrics_text(world)


def test_nothing_personal_in_the_log(world):
    sid, body, _ = register(world)
    assert check(world, sid).status == 200
    log = world["senim"].read_log()
    for value in (body["iin"], body["surname"], body["phone"]):
        assert value not in log


def test_fail_closed_without_audit(world):
    """S4: when the audit record cannot be written, nothing leaves: the
    decision's record is part of the transaction that must commit before a
    byte goes to the bureau."""
    sid, body, _ = register(world)
    s = world["senim"]
    s.sql(block_audit_sql())
    try:
        r = check(world, sid)
    finally:
        s.sql(unblock_audit_sql())
    assert r.status >= 500, r
    assert body["iin"] not in r.body.decode("utf-8", "replace")
    assert peer_requests(world) == []
    assert register_rows(world, sid) == [] and kept(world, sid) == 0
    assert s.sql("SELECT COUNT(*) FROM transfers WHERE subject_id = '%s'" % sid)[0][0] == "0"
    # The same call works once the audit log does.
    assert check(world, sid).status == 200


def test_a_failing_bureau_is_left_alone(world):
    """After breaker_failures failures in a row the circuit opens: the next
    check is answered 503 before anything is read, recorded or sent."""
    sid, _, _ = register(world, consents=("credit_bureau_gkb",))
    gkb = world["gkb"]
    gkb.mode("fail", status=503)
    for _ in range(2):
        r = check(world, sid, recipient="gkb")
        assert r.status == 503 and r.json["code"] == "recipient_unavailable", r
    sent = len(gkb.requests("/v1/credit-reports"))
    before = register_rows(world, sid)
    gkb.mode("ok")
    r = check(world, sid, recipient="gkb")
    assert r.status == 503 and r.json["code"] == "recipient_unavailable", r
    assert len(gkb.requests("/v1/credit-reports")) == sent
    assert register_rows(world, sid) == before


@pytest.mark.parametrize("mode,code", [("garbage", "recipient_invalid_answer"),
                                       ("truncate", "recipient_invalid_answer"),
                                       ("lie", "recipient_invalid_answer"),
                                       ("wrong_person", "recipient_wrong_subject")])
def test_a_bad_answer_is_refused_and_nothing_kept(world, mode, code):
    sid, _, _ = register(world)
    world["peer"].mode(mode)
    r = check(world, sid, recipient="pkb_" + mode)
    assert r.status == 502 and r.json["code"] == code, r
    assert kept(world, sid) == 0
    rows = register_rows(world, sid)
    assert [(d, o) for d, _, _, o, *_ in rows] == [("out", "failed")]


def test_a_monthly_payment_is_kept_when_the_bureau_gives_it(world):
    """loans[].monthly_payment_tiyn is optional: kept in report.loans when
    the bureau gives it, absent from a loan it gave none for (nor null).
    Out of range, the whole answer is invalid_answer and nothing is kept."""
    while True:
        body = borrower()
        if len(peerlib.synthetic(body["iin"])["loans"]) >= 2:
            break
    sid, _, _ = register(world, body=body)
    world["peer"].control("POST", "monthly-payments",
                          {"iin": body["iin"], "payments": [120000, None]})
    r = check(world, sid)
    assert r.status == 200, r
    loans = r.json["received"]["report.loans"]
    assert loans[0]["monthly_payment_tiyn"] == 120000
    assert all("monthly_payment_tiyn" not in x for x in loans[1:])
    want = peerlib.synthetic(body["iin"])["loans"]
    assert [{k: v for k, v in x.items() if k != "monthly_payment_tiyn"}
            for x in loans] == want

    sid, _, _ = register(world)
    world["peer"].mode("lie", lie="payment_out_of_range")
    r = check(world, sid, recipient="pkb_lie")
    assert r.status == 502 and r.json["code"] == "recipient_invalid_answer", r
    assert kept(world, sid) == 0


def test_a_stalled_bureau_times_out(world):
    sid, _, _ = register(world)
    world["peer"].mode("slow", delay_ms=5000)
    r = check(world, sid, recipient="pkb_slow")
    assert r.status == 504 and r.json["code"] == "recipient_timeout", r
    assert kept(world, sid) == 0


def test_abroad_only_with_the_cross_border_consent(world):
    """T4 (Law 94-V Art. 16, read strictly): a recipient abroad, in a country
    the configuration allows, still needs the borrower's cross-border
    consent; without it nothing leaves and the refusal is on the register
    with the country."""
    sid, _, token = register(world)
    r = check(world, sid, recipient="xbureau")
    assert r.status == 403 and r.json["code"] == "consent_required", r
    assert r.json["missing_consent"] == "cross_border"
    assert peer_requests(world) == [] and kept(world, sid) == 0
    s = world["senim"]
    rows = s.sql("SELECT outcome, cross_border, country FROM disclosures"
                 " WHERE subject_id = '%s'" % sid)
    assert rows == [["refused", "1", "DE"]]
    g = s.post("/v1/me/consents", {"kind": "cross_border", "channel": "web"}, token=token)
    assert g.status == 201, g
    r = check(world, sid, recipient="xbureau")
    assert r.status == 200, r
    assert len(peer_requests(world)) == 1
    rows = s.sql("SELECT direction, outcome, cross_border, country FROM disclosures"
                 " WHERE subject_id = '%s' AND outcome <> 'refused' ORDER BY direction DESC"
                 % sid)
    assert rows == [["out", "delivered", "1", "DE"], ["in", "received", "1", "DE"]]


def test_a_query_a_crash_interrupted_is_abandoned(world):
    """A query in flight when the server dies is never sent again: at the
    next start it is marked abandoned, on the register (it may have reached
    the bureau) with its audit record, and nothing of it is kept."""
    s = Senim(extra_args=["--recipients", world["conf"]]).start()
    own = {"senim": s, "staff": {"underwriter": s.service_token("xch-crash", "underwriter")}}
    sid, _, _ = register(own)
    peer = world["peer"]
    peer.mode("slow", delay_ms=3000)
    done = []
    t = threading.Thread(target=lambda: done.append(_quietly(check, own, sid)))
    t.start()
    deadline = time.time() + 10
    while not peer_requests(world) and time.time() < deadline:
        time.sleep(0.02)
    assert len(peer_requests(world)) == 1
    s.kill9()
    s.sms.stop()
    t.join()
    assert s.sql("SELECT state FROM transfers WHERE subject_id = '%s'" % sid) == [["sending"]]
    peer.mode("ok")
    restarted = Senim(extra_args=["--recipients", world["conf"]], data_dir=s.data_dir,
                      db=s.db).start()
    try:
        rows = restarted.sql("SELECT state, may_have_reached FROM transfers"
                             " WHERE subject_id = '%s'" % sid)
        assert rows == [["abandoned", "1"]]
        entries = restarted.sql("SELECT id, direction, outcome, may_have_reached, reason"
                                " FROM disclosures WHERE subject_id = '%s'" % sid)
        assert [e[1:] for e in entries] == [["out", "abandoned", "1", "interrupted"]]
        n = restarted.sql("SELECT COUNT(*) FROM audit_log WHERE object = 'disclosure:%s'"
                          % entries[0][0])
        assert n == [["1"]]
        assert kept(own | {"senim": restarted}, sid) == 0
        time.sleep(0.5)
        assert len(peer_requests(world)) == 1  # never sent again
    finally:
        assert restarted.stop() == 0


def _quietly(fn, *args):
    try:
        return fn(*args)
    except Exception as e:  # the server died under the request: expected
        return e
