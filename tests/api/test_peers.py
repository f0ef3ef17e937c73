"""The exchange peers of tests/peers/ on their own (issue 11, step 3): each
is started with certificates from a CA made at test time, and every mode
is driven over HTTPS with the stdlib client, client certificates included.

senim's connectors do not exist yet; these tests hold the peers to the
wire APIs of docs/connectors/, so that the connector tests built on them
test senim and not the peer.  Nothing here touches senim's store, so the
module runs once, on the SQLite pass.
"""
import datetime
import http.client
import os
import signal
import socket
import ssl
import subprocess
import tempfile
import time

import pytest

from peer_harness import PEERS, PeerProcess, TestCA, peerlib
from senim_harness import BACKEND, TMP

pytestmark = pytest.mark.skipif(BACKEND == "postgres",
                                reason="the peers use no store: the SQLite pass runs them")

TOKEN = "bureau-token-1"
IIN = peerlib.make_iin(datetime.date(1987, 4, 12), "M", 41)         # even: a history
NO_HISTORY = peerlib.make_iin(datetime.date(1990, 5, 6), "F", 100)   # odd last digit
UNKNOWN = peerlib.make_iin(datetime.date(1970, 1, 1), "M", 7)
CONSENT = {"id": "cns_01", "granted_at": "2026-01-10T08:00:00Z", "receipt_sha256": "ab" * 32}


def report_request(iin=IIN, **over):
    body = {"iin": iin, "purpose": "loan_application_review", "consent": dict(CONSENT)}
    body.update(over)
    return body


def event(eid, iin=IIN, kind="issued", **over):
    e = {"event_id": eid, "event": kind, "occurred_on": "2026-02-01",
         "contract_number": "MK-2026-000123",
         "borrower": {"iin": iin, "surname": "Ахметов", "given_name": "Ержан",
                      "patronymic": None, "birth_date": "1987-04-12"},
         "amount_tiyn": 5000000, "outstanding_tiyn": 5000000, "overdue_days": 0,
         "due_date": "2026-03-01"}
    e.update(over)
    return e


def wait_for(check, what, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


# ---- what a valid answer is (docs/connectors/) -------------------------------

def report_breaks(r, asked):
    """The first rule of credit_report/1 the answer breaks, or None."""
    if r.get("iin") != asked:
        return "wrong_subject"
    loans = r.get("loans")
    if not isinstance(loans, list) or len(loans) > 200:
        return "loans"
    if not r["has_history"] and loans:
        return "loans without history"
    total = 0
    for x in loans:
        for k in ("original_tiyn", "outstanding_tiyn", "overdue_tiyn"):
            if not isinstance(x[k], int) or not 0 <= x[k] <= 10 ** 15:
                return k
        if (x["status"] == "closed") != (x["closed_on"] is not None):
            return "closed_on"
        if x["closed_on"] and x["opened_on"] > x["closed_on"]:
            return "opened_on"
        if not 0 <= x["overdue_days"] <= 36500 or x["overdue_tiyn"] > x["outstanding_tiyn"]:
            return "overdue"
        pay = x.get("monthly_payment_tiyn")
        if pay is not None and (not isinstance(pay, int) or isinstance(pay, bool) or
                                not 0 <= pay <= 10 ** 15):
            return "monthly_payment_tiyn"
        if x["status"] == "open":
            total += x["outstanding_tiyn"]
    if r["total_debt_tiyn"] != total:
        return "total_debt_tiyn"
    s = r["score"]
    if s is not None and not s["min"] <= s["value"] <= s["max"]:
        return "score"
    return None


# ---- fixtures ----------------------------------------------------------------

@pytest.fixture(scope="module")
def pki():
    base = tempfile.mkdtemp(prefix="peers-", dir=TMP)
    ca = TestCA.create(os.path.join(base, "ca"))
    other = TestCA.create(os.path.join(base, "other-ca"), "other test CA")
    return {"ca": ca, "server": ca.issue_server(), "client": ca.issue_client(),
            "other": other, "untrusted_server": other.issue_server(),
            "other_client": other.issue_client("stranger")}


@pytest.fixture(scope="module")
def bureau(pki):
    p = PeerProcess("credit_bureau.py", tls=pki["server"], token=TOKEN, ca=pki["ca"].crt,
                    extra=["--unknown-iin", UNKNOWN])
    yield p
    assert p.stop() == 0


@pytest.fixture
def b(bureau):
    """The bureau, reset before the test."""
    bureau.reset()
    return bureau


def ask(peer, body=None, **kw):
    kw.setdefault("token", TOKEN)
    return peer.post("/v1/credit-reports", report_request() if body is None else body, **kw)


# ---- the credit report -------------------------------------------------------

def test_a_report_is_the_synthetic_data_of_the_iin(b):
    r = ask(b, headers={"X-Request-Id": "req-1", "Idempotency-Key": "trf_1"})
    assert r.status == 200, r
    assert r.header("Content-Type") == "application/json"
    doc = r.json
    assert doc["iin"] == IIN
    assert doc["report_id"].startswith("r-")
    assert datetime.datetime.strptime(doc["generated_at"], "%Y-%m-%dT%H:%M:%SZ")
    want = peerlib.synthetic(IIN)
    assert {k: doc[k] for k in want} == want
    assert doc["has_history"] and report_breaks(doc, IIN) is None
    # What the peer saw, for the minimisation tests: the token only as
    # present, the body as sent.
    seen = b.requests()
    assert len(seen) == 1
    assert seen[0]["method"] == "POST" and seen[0]["path"] == "/v1/credit-reports"
    assert seen[0]["headers"]["Authorization"] == "present"
    assert seen[0]["headers"]["X-Request-Id"] == "req-1"
    assert seen[0]["headers"]["Idempotency-Key"] == "trf_1"
    assert seen[0]["body"] == report_request()
    assert seen[0]["client_cn"] is None
    assert b.stats() == {"attempts": 1, "answered": 1, "duplicates": 0, "events": 0,
                         "handshake_failures": 0}
    assert b.requests(path="/v1/loan-events") == []


def test_no_history_is_an_answer_not_a_404(b):
    r = ask(b, report_request(NO_HISTORY))
    assert r.status == 200
    doc = r.json
    assert doc["has_history"] is False and doc["loans"] == [] and doc["score"] is None
    assert doc["total_debt_tiyn"] == 0
    assert report_breaks(doc, NO_HISTORY) is None


def test_synthetic_reports_keep_the_rules():
    for n in range(300):
        iin = peerlib.make_iin(datetime.date(1960 + n % 40, 1 + n % 12, 1 + n % 28),
                               "MF"[n % 2], n * 31)
        doc = dict(peerlib.synthetic(iin), iin=iin)
        assert report_breaks(doc, iin) is None, (iin, doc)
        assert peerlib.synthetic(iin) == peerlib.synthetic(iin)


def test_bad_report_requests(b):
    cases = [
        (report_request("870412300415"), 400, "invalid_request"),      # check digit
        (report_request(consent=None), 403, "consent_not_confirmed"),
        (report_request(consent={"id": "cns_1"}), 403, "consent_not_confirmed"),
        (report_request(consent=dict(CONSENT, receipt_sha256="xy")), 403,
         "consent_not_confirmed"),
        (report_request(purpose="marketing"), 403, "purpose_not_allowed"),
        (report_request(UNKNOWN), 404, "person_not_found"),
        ([1, 2], 400, "invalid_request"),
    ]
    for body, status, code in cases:
        r = ask(b, body)
        assert (r.status, r.json["error"]["code"]) == (status, code), body
    r = ask(b, raw=b"{not json")
    assert (r.status, r.json["error"]["code"]) == (400, "invalid_request")
    r = ask(b, token="wrong")
    assert (r.status, r.json["error"]["code"]) == (401, "unauthorized")
    assert r.header("WWW-Authenticate") == "Bearer"
    r = ask(b, token=None)
    assert r.status == 401
    r = ask(b, content_type="text/plain")
    assert (r.status, r.json["error"]["code"]) == (415, "unsupported_media_type")
    r = b.request("GET", "/v1/credit-reports")
    assert r.status == 405 and r.header("Allow") == "POST"
    r = b.post("/v1/nothing", {}, token=TOKEN)
    assert r.status == 404


def test_an_idempotency_key_gets_the_first_answer_back(b):
    first = ask(b, headers={"Idempotency-Key": "trf_A"})
    again = ask(b, headers={"Idempotency-Key": "trf_A"})
    other = ask(b, headers={"Idempotency-Key": "trf_B"})
    assert first.status == again.status == other.status == 200
    assert again.json == first.json
    assert other.json["report_id"] != first.json["report_id"]
    assert b.stats()["answered"] == 2 and b.stats()["duplicates"] == 1
    assert len(b.requests()) == 3


def test_fail_n_times_then_answer(b):
    b.mode("fail", fail_count=2, status=503)
    for _ in range(2):
        # before authentication: a bureau that is down checks no token
        r = ask(b, token=None)
        assert (r.status, r.json["error"]["code"]) == (503, "injected_failure")
        assert r.header("Retry-After") == "1"
    assert ask(b).status == 200
    assert b.stats()["attempts"] == 3 and b.stats()["answered"] == 1


def test_fail_always_with_a_status(b):
    b.mode("fail", status=500)
    for _ in range(3):
        r = ask(b)
        assert r.status == 500 and r.header("Retry-After") is None
    b.mode("fail", status=429, fail_count=1)
    r = ask(b)
    assert r.status == 429 and r.header("Retry-After") == "1"
    assert ask(b).status == 200


def test_slow_answers_late_and_records_even_when_the_client_left(b):
    b.mode("slow", delay_ms=1500)
    with pytest.raises((socket.timeout, TimeoutError)):
        ask(b, timeout=0.2)
    # The bureau still made the enquiry the client gave up on.
    wait_for(lambda: b.stats()["answered"] == 1, "the slow answer")
    r = ask(b, timeout=30)
    assert r.status == 200 and report_breaks(r.json, IIN) is None


def test_garbage(b):
    b.mode("garbage")
    r = ask(b)
    assert r.status == 200 and r.header("Content-Type") == "application/json"
    with pytest.raises(ValueError):
        r.json
    assert int(r.header("Content-Length")) == len(r.body)


def test_truncate(b):
    b.mode("truncate")
    with pytest.raises(http.client.IncompleteRead):
        ask(b)
    b.mode("ok")
    assert ask(b).status == 200


def test_wrong_person(b):
    b.mode("wrong_person")
    r = ask(b)
    assert r.status == 200
    doc = r.json
    other = peerlib.next_iin(IIN)
    assert doc["iin"] == other != IIN and peerlib.iin_valid(other)
    want = peerlib.synthetic(other)
    assert {k: doc[k] for k in want} == want
    assert report_breaks(doc, IIN) == "wrong_subject"
    assert report_breaks(doc, other) is None
    # Errors are not dressed up as another person.
    assert ask(b, report_request(consent=None)).status == 403


@pytest.mark.parametrize("variant,rule", [
    (None, "total_debt_tiyn"),
    ("total_mismatch", "total_debt_tiyn"),
    ("negative_amount", "original_tiyn"),
    ("score_out_of_range", "score"),
    ("closed_without_date", "closed_on"),
    ("payment_out_of_range", "monthly_payment_tiyn"),
])
def test_lie(b, variant, rule):
    b.mode("lie", lie=variant)
    r = ask(b)
    assert r.status == 200
    assert report_breaks(r.json, IIN) == rule


def test_monthly_payments_only_when_named(b):
    """A report has no monthly_payment_tiyn unless a test names the
    payments of that IIN's loans; null is sent as null, loans past the list
    have none, [] and a reset forget them."""
    assert all("monthly_payment_tiyn" not in x for x in ask(b).json["loans"])
    n = len(peerlib.synthetic(IIN)["loans"])
    assert n >= 2
    assert b.control("POST", "monthly-payments",
                     {"iin": IIN, "payments": [120000, None]}) == \
        {"iin": IIN, "payments": [120000, None]}
    doc = ask(b).json
    assert report_breaks(doc, IIN) is None
    assert doc["loans"][0]["monthly_payment_tiyn"] == 120000
    assert doc["loans"][1]["monthly_payment_tiyn"] is None
    assert all("monthly_payment_tiyn" not in x for x in doc["loans"][2:])
    want = peerlib.synthetic(IIN)
    for x in doc["loans"]:
        x.pop("monthly_payment_tiyn", None)
    assert {k: doc[k] for k in want} == want
    # Another IIN is untouched.
    other = ask(b, report_request(peerlib.next_iin(IIN))).json
    assert all("monthly_payment_tiyn" not in x for x in other["loans"])
    b.control("POST", "monthly-payments", {"iin": IIN, "payments": []})
    assert all("monthly_payment_tiyn" not in x for x in ask(b).json["loans"])
    b.control("POST", "monthly-payments", {"iin": IIN, "payments": [1]})
    b.reset()
    assert all("monthly_payment_tiyn" not in x for x in ask(b).json["loans"])
    for body in ({"iin": IIN, "payments": [-1]}, {"iin": IIN, "payments": [10 ** 15 + 1]},
                 {"iin": IIN, "payments": [True]}, {"iin": IIN, "payments": ["1"]},
                 {"iin": IIN, "payments": 5}, {"iin": IIN}, {"payments": []}):
        assert b.post("/_control/monthly-payments", body).status == 400, body


def test_mode_requests_are_checked(b):
    for body in ({"mode": "sideways"}, {"mode": "fail", "status": 700},
                 {"mode": "slow", "delay_ms": -1}, {"mode": "ok", "fail_count": True},
                 {"mode": "lie", "lie": 3}, [1]):
        r = b.post("/_control/mode", body)
        assert r.status == 400, body
    assert b.control("POST", "mode", {"mode": "fail", "fail_count": 0}) == {"mode": "fail"}
    assert ask(b).status == 200   # fail_count 0 fails nothing


def test_reset_forgets_everything(b):
    b.mode("fail")
    assert ask(b).status == 503
    b.post("/v1/loan-events", {"events": [event("lev_r")]}, token=TOKEN)
    assert b.reset() == {"mode": "ok"}
    assert b.stats() == {"attempts": 0, "answered": 0, "duplicates": 0, "events": 0,
                         "handshake_failures": 0}
    assert b.requests() == [] and b.events() == []
    assert ask(b).status == 200


# ---- loan events -------------------------------------------------------------

def post_events(peer, events, **kw):
    kw.setdefault("token", TOKEN)
    return peer.post("/v1/loan-events", {"events": events}, **kw)


def test_loan_events_once_per_event_id(b):
    batch = [event("lev_1"), event("lev_2", kind="payment", outstanding_tiyn=2500000),
             event("lev_3", kind="closed", outstanding_tiyn=0, due_date=None)]
    r = post_events(b, batch, headers={"Idempotency-Key": "lbt_1"})
    assert r.status == 200
    assert r.json == {"results": [{"event_id": e["event_id"], "status": "accepted",
                                   "error": None} for e in batch]}
    kept = b.events()
    assert [e["event_id"] for e in kept] == ["lev_1", "lev_2", "lev_3"]
    assert kept[0]["borrower"]["iin"] == IIN and kept[0]["received_at"]
    # The same batch under its key: the first answer again.
    again = post_events(b, batch, headers={"Idempotency-Key": "lbt_1"})
    assert again.json == r.json
    # Under a new key (a re-run): each event is a duplicate, kept once.
    rerun = post_events(b, batch + [event("lev_4", kind="overdue", overdue_days=5)],
                        headers={"Idempotency-Key": "lbt_2"})
    assert [x["status"] for x in rerun.json["results"]] == ["duplicate"] * 3 + ["accepted"]
    assert b.stats() == {"attempts": 3, "answered": 2, "duplicates": 1, "events": 4,
                         "handshake_failures": 0}


def test_loan_event_rules(b):
    batch = [
        event("lev_a", due_date=None),                          # issued needs due_date
        event("lev_b", amount_tiyn=None),                       # and amount
        event("lev_c", kind="overdue", overdue_days=0),
        event("lev_d", kind="closed", outstanding_tiyn=10),
        event("lev_e", kind="forgiven"),
        event("lev_f", occurred_on="2026-02-30"),
        event("lev_g", iin=UNKNOWN),
        event("lev_h", amount_tiyn=-1),
        event("lev_ok"),
    ]
    r = post_events(b, batch)
    assert r.status == 200
    got = [(x["event_id"], x["status"], (x["error"] or {}).get("code"))
           for x in r.json["results"]]
    assert got == [
        ("lev_a", "rejected", "issued_incomplete"),
        ("lev_b", "rejected", "issued_incomplete"),
        ("lev_c", "rejected", "overdue_without_days"),
        ("lev_d", "rejected", "closed_with_debt"),
        ("lev_e", "rejected", "event_unknown"),
        ("lev_f", "rejected", "invalid_request"),
        ("lev_g", "rejected", "person_not_found"),
        ("lev_h", "rejected", "invalid_request"),
        ("lev_ok", "accepted", None),
    ]
    assert [e["event_id"] for e in b.events()] == ["lev_ok"]
    for bad in ([], [event("lev_%d" % i) for i in range(501)], ["x"], [{"event": "issued"}]):
        r = post_events(b, bad)
        assert (r.status, r.json["error"]["code"]) == (400, "invalid_request")
    r = b.post("/v1/loan-events", {"batch": []}, token=TOKEN)
    assert r.status == 400


@pytest.mark.parametrize("variant", [None, "missing_result", "reordered", "unknown_status"])
def test_loan_event_lies(b, variant):
    b.mode("lie", lie=variant)
    batch = [event("lev_x"), event("lev_y")]
    results = post_events(b, batch).json["results"]
    ids = [x["event_id"] for x in results]
    statuses = {x["status"] for x in results}
    # Exactly one result per event, in order, with a known status, else the
    # whole answer is invalid.
    assert ids != ["lev_x", "lev_y"] or not statuses <= {"accepted", "duplicate", "rejected"}


def test_loan_events_for_the_wrong_batch(b):
    b.mode("wrong_person")
    results = post_events(b, [event("lev_w")]).json["results"]
    assert [x["event_id"] for x in results] == ["lev_w-other"]


# ---- TLS ---------------------------------------------------------------------

def test_a_server_certificate_from_another_ca_is_refused(pki):
    p = PeerProcess("credit_bureau.py", tls=pki["untrusted_server"], ca=pki["other"].crt)
    try:
        with pytest.raises(ssl.SSLCertVerificationError):
            ask(p, ca=pki["ca"].crt)
        # Trusting its own CA, the same peer answers.
        assert ask(p).status == 200
        assert p.stats()["answered"] == 1
    finally:
        assert p.stop() == 0


def test_plain_http_for_benchmarks():
    p = PeerProcess("credit_bureau.py", extra=["--delay-ms", "1"])
    try:
        r = ask(p, token=None)
        assert r.status == 200 and r.json["iin"] == IIN
    finally:
        assert p.stop() == 0


@pytest.fixture(scope="module")
def state_db(pki):
    p = PeerProcess("state_database.py", tls=pki["server"], client_ca=pki["ca"].crt,
                    ca=pki["ca"].crt, client=pki["client"], extra=["--unknown-iin", UNKNOWN])
    yield p
    assert p.stop() == 0


@pytest.fixture
def sd(state_db):
    state_db.reset()
    return state_db


def ask_state(peer, path, iin=IIN, cert="default", **kw):
    return peer.post(path, {"iin": iin, "consent_ref": "cns_state_1"},
                     cert=peer.client if cert == "default" else cert, **kw)


def test_mutual_tls_with_a_client_certificate(sd, pki):
    r = ask_state(sd, "/v1/family-ties")
    assert r.status == 200
    seen = sd.requests()
    assert [x["client_cn"] for x in seen] == [pki["client"].cn] == ["senim-test-client"]


@pytest.mark.parametrize("who", ["none", "stranger"])
def test_mutual_tls_refuses_a_client_without_our_certificate(sd, pki, who):
    cert = None if who == "none" else pki["other_client"]
    # Under TLS 1.3 the refusal reaches the client after its own handshake:
    # it shows as an SSL error or a reset, on sending or on reading.
    with pytest.raises((ssl.SSLError, ConnectionError, http.client.RemoteDisconnected)):
        ask_state(sd, "/v1/family-ties", cert=cert)
    wait_for(lambda: sd.stats()["handshake_failures"] == 1, "the refused handshake")
    s = sd.stats()
    assert s["attempts"] == 0 and s["answered"] == 0
    assert sd.requests() == []


def test_a_state_database_always_demands_client_certificates(pki):
    p = subprocess.run(["/usr/bin/python3", os.path.join(PEERS, "state_database.py"),
                        "--port", "0", "--tls-cert", pki["server"].crt,
                        "--tls-key", pki["server"].key], capture_output=True, timeout=30)
    assert p.returncode == 2
    assert b"always demands a client certificate" in p.stderr


def test_state_database_answers(sd):
    for path, make in (("/v1/family-ties", peerlib.synthetic_family),
                       ("/v1/addresses", peerlib.synthetic_address),
                       ("/v1/legal-capacity", peerlib.synthetic_capacity)):
        r = ask_state(sd, path)
        assert r.status == 200, (path, r)
        doc = r.json
        assert doc["iin"] == IIN
        assert doc["as_of"] == datetime.datetime.now(datetime.timezone.utc).date().isoformat()
        want = make(IIN)
        assert {k: doc[k] for k in want} == want
        r = sd.post(path, {"iin": IIN}, cert=sd.client)
        assert (r.status, r.json["error"]["code"]) == (403, "consent_not_confirmed")
        r = ask_state(sd, path, iin=UNKNOWN)
        assert (r.status, r.json["error"]["code"]) == (404, "person_not_found")
    fam = peerlib.synthetic_family(IIN)
    for person in ([fam["spouse"]] if fam["spouse"] else []) + fam["children"]:
        assert peerlib.iin_valid(person["iin"])
    assert len(sd.requests()) == 9


def test_state_database_modes(sd):
    sd.mode("wrong_person")
    doc = ask_state(sd, "/v1/addresses").json
    other = peerlib.next_iin(IIN)
    assert doc["iin"] == other
    assert doc["registered_address"] == peerlib.synthetic_address(other)["registered_address"]
    sd.mode("lie")
    fam = ask_state(sd, "/v1/family-ties").json
    assert fam["marital_status"] == "married" and not peerlib.iin_valid(fam["spouse"]["iin"])
    sd.mode("lie", lie="too_many_children")
    assert len(ask_state(sd, "/v1/family-ties").json["children"]) > 20
    addr = ask_state(sd, "/v1/addresses").json
    assert len(addr["registered_address"]["text"]) > 500
    cap = ask_state(sd, "/v1/legal-capacity").json
    assert cap["legal_capacity"] != "full" and cap["decision_date"] is None
    sd.mode("fail", fail_count=1, status=502)
    assert ask_state(sd, "/v1/legal-capacity").status == 502
    sd.mode("garbage")
    with pytest.raises(ValueError):
        ask_state(sd, "/v1/legal-capacity").json
    sd.mode("truncate")
    with pytest.raises(http.client.IncompleteRead):
        ask_state(sd, "/v1/legal-capacity")


# ---- the mobile operator -----------------------------------------------------

@pytest.fixture(scope="module")
def operator(pki):
    p = PeerProcess("mobile_operator.py", tls=pki["server"], token=TOKEN, ca=pki["ca"].crt)
    yield p
    assert p.stop() == 0


def check_phone(peer, msisdn, iin=IIN):
    return peer.post("/v1/phone-checks", {"msisdn": msisdn, "iin": iin}, token=TOKEN)


def test_phone_checks(operator):
    operator.reset()
    seen = set()
    for n in range(30):
        msisdn = "+770112345%02d" % n
        r = check_phone(operator, msisdn)
        assert r.status == 200
        doc = r.json
        assert doc["msisdn"] == msisdn and doc["iin"] == IIN
        want = peerlib.synthetic_phone(IIN, msisdn)
        assert {k: doc[k] for k in want} == want
        seen.add(doc["result"])
        if doc["result"] != "match":
            assert doc["owner_since"] is None and doc["score"] is None
        else:
            assert doc["owner_since"] <= datetime.date.today().isoformat()
            assert 0 <= doc["score"]["value"] <= 1
    assert seen == {"match", "mismatch", "unknown_number"}
    for msisdn in ("87011234567", "+79161234567", "+7701123456"):
        r = check_phone(operator, msisdn)
        assert (r.status, r.json["error"]["code"]) == (400, "invalid_request"), msisdn


def test_phone_check_modes(operator):
    operator.reset()
    msisdn = "+77011234561"
    operator.mode("wrong_person")
    assert check_phone(operator, msisdn).json["iin"] == peerlib.next_iin(IIN)
    operator.mode("lie")
    doc = check_phone(operator, msisdn).json
    assert doc["owner_since"] > datetime.date.today().isoformat()
    operator.mode("lie", lie="score_out_of_range")
    assert check_phone(operator, msisdn).json["score"]["value"] > 1
    operator.mode("lie", lie="details_without_match")
    doc = check_phone(operator, msisdn).json
    assert doc["result"] != "match" and doc["owner_since"] is not None


# ---- the conventions every peer keeps ----------------------------------------

@pytest.mark.parametrize("program", ["credit_bureau.py", "mobile_operator.py"])
def test_port_file_and_sigterm(program):
    d = tempfile.mkdtemp(prefix="peers-", dir=TMP)
    port_file = os.path.join(d, "port")
    p = subprocess.Popen(["/usr/bin/python3", os.path.join(PEERS, program), "--port", "0",
                          "--port-file", port_file], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    line = p.stdout.readline().decode()
    with open(port_file) as f:
        port = int(f.read())
    assert line == "listening on 127.0.0.1:%d\n" % port
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=10) == 0
    assert p.stderr.read() == b""
    p.stdout.close()
    p.stderr.close()
