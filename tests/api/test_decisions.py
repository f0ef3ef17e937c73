"""Submitting an application and its decision (issue 12; U1, D8).

A borrower submits an open application that lacks nothing; senim asks the
credit bureau and the mobile operator at once, as the lender on the
borrower's behalf (tests/peers/credit_bureau.py, mobile_operator.py), the
scorecard decides, and the decision is stored with its inputs sealed.  The
test card (CARD below) makes each outcome depend on one peer: both answer
-> approve; the bureau down -> its `missing = decline` line declines with
bureau_unavailable; the operator down -> its `missing = refer` line refers.
A refused or failed check is an input missing, never a failed submission."""
import os
import subprocess
import tempfile

import pytest

from peer_harness import PeerProcess, TestCA, peerlib
from senim_harness import BIN, TMP, Senim, borrower
from test_fail_closed import block_audit_sql, unblock_audit_sql

SOURCE = os.environ.get("SENIM_SOURCE_DIR",
                        os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
RULES = os.path.join(SOURCE, "data", "loan-rules.conf")
SHIPPED_CARD = os.path.join(SOURCE, "data", "scorecard.conf")
ID = {"Senim-Purpose": "identification"}
TOKEN = "bureau-token-12"

RECIPIENTS = """\
[recipient pkb]
name_ru = ТОО «Первое кредитное бюро»
name_kk = «Бірінші кредиттік бюро» ЖШС
registration = pending
kind = credit_bureau
country = KZ
endpoint = {bureau}
credentials = {credentials}
ca = {ca}
timeout_ms = 1500
breaker_failures = 100
[service pkb.credit_report]
api = credit_report/1
purposes = loan_application_review
sends = identity.iin
receives = report.score report.loans report.total_debt_tiyn report.enquiries
basis = consent:credit_bureau_pkb

[recipient kcell]
name_ru = АО «Кселл»
name_kk = «Кселл» АҚ
registration = pending
kind = mobile_operator
country = KZ
endpoint = {operator}
ca = {ca}
timeout_ms = 1500
breaker_failures = 100
[service kcell.phone_check]
api = phone_check/1
purposes = loan_application_review
sends = identity.iin contact.phone_mobile
receives = phone.match phone.owner_since phone.subscriber_type phone.score
basis = consent:mobile_operator

[recipient address_db]
name_ru = ГБД (тест)
name_kk = МДҚ (тест)
registration = pending
kind = state_database
country = KZ
endpoint = {state}
client_cert = {client_cert}
client_key = {client_key}
ca = {ca}
timeout_ms = 1500
breaker_failures = 100
[service address_db.address]
api = address/1
purposes = loan_application_review
sends = identity.iin
receives = contact.registered_address contact.address_registry_id
basis = consent:state_database
state_service_consent = yes
"""

# Every band the same points, so that only what is missing decides.
CARD = """\
[card]
id = test_card
version = 3
from = 2026-01-01
approve = 800
refer = 500
min_age = 18
max_age = 120
max_bureau_overdue_days = 1000000
max_debt_burden_bp = 1000000

[attribute bureau_overdue_days]
band = 0..max 150
missing = decline bureau_unavailable

[attribute active_loans]
band = 0..max 100
missing = 0 bureau_unavailable

[attribute debt_burden_bp]
band = 0..max 150
missing = 150

[attribute enquiries_30d]
band = 0..max 80
missing = 0 bureau_unavailable

[attribute operator_score]
band = 0..max 100
missing = refer operator_score_unavailable

[attribute age]
band = 0..max 70

[attribute lender_loans_repaid]
band = 0..max 100

[attribute lender_overdue_days]
band = 0..max 50
missing = 50

[limits]
limit = 500 3000000 30
limit = 800 10000000 90
"""


def make_world(self_exclusion_check=True, card_text=CARD):
    """Peers, a server and the two products.  Without the self-exclusion
    check (a rules file that says `check = no`), a decline without a credit
    report may be overridden; with it (the shipped rules, Law 56-V art.
    3(3-3)) it may not."""
    d = tempfile.mkdtemp(prefix="decisions-", dir=TMP)
    rules = RULES
    if not self_exclusion_check:
        with open(RULES, encoding="utf-8") as f:
            text = f.read()
        assert "\ncheck = yes\n" in text
        rules = os.path.join(d, "loan-rules.conf")
        with open(rules, "w", encoding="utf-8") as f:
            f.write(text.replace("\ncheck = yes\n", "\ncheck = no\n"))
    ca = TestCA.create(os.path.join(d, "ca"))
    server = ca.issue_server("server")
    bureau = PeerProcess("credit_bureau.py", tls=server, token=TOKEN, ca=ca.crt)
    operator = PeerProcess("mobile_operator.py", tls=server, ca=ca.crt)
    client = ca.issue_client("senim")
    os.chmod(client.key, 0o600)
    state = PeerProcess("state_database.py", tls=server, client_ca=ca.crt, ca=ca.crt,
                        client=client)
    credentials = os.path.join(d, "pkb.token")
    with open(os.open(credentials, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
        f.write(TOKEN + "\n")
    path = os.path.join(d, "recipients.conf")
    with open(path, "w", encoding="utf-8") as f:
        f.write(RECIPIENTS.format(bureau="https://127.0.0.1:%d" % bureau.port,
                                  operator="https://127.0.0.1:%d" % operator.port,
                                  state="https://127.0.0.1:%d" % state.port,
                                  client_cert=client.crt, client_key=client.key,
                                  credentials=credentials, ca=ca.crt))
    card = os.path.join(d, "scorecard.conf")
    with open(card, "w", encoding="utf-8") as f:
        f.write(card_text)
    s = Senim(extra_args=["--recipients", path, "--loan-rules", rules,
                          "--scorecard", card]).start()
    staff = {r: s.service_token("dcs-" + r, r) for r in ("admin", "underwriter")}
    # 30 % nominal keeps the 46 % ГЭСВ cap of data/loan-rules.conf; 40 %
    # nominal, paid monthly, is a ГЭСВ of about 48 %: no offer.
    for code, rate in (("dcs", 3000), ("dcsdear", 4000)):
        r = s.post("/v1/products", {
            "code": code, "name_ru": "Микрокредит", "name_kk": "Микрокредит",
            "amount_min_tiyn": 1000000, "amount_max_tiyn": 50000000,
            "term_min_days": 30, "term_max_days": 365, "rate_bp": rate,
            "issue_fee_bp": 100,
            "schedule_methods": ["annuity", "differentiated"],
            "categories": ["identity", "contact"], "consents": ["credit_bureau_pkb"]},
            token=staff["admin"])
        assert r.status == 201, r
    return {"senim": s, "bureau": bureau, "operator": operator, "state": state,
            "staff": staff, "dir": d}


def stop_world(w):
    rc = w["senim"].stop()
    for p in ("bureau", "operator", "state"):
        w[p].stop()
    assert rc == 0, w["senim"].read_log()[-4000:]


@pytest.fixture(scope="module")
def world():
    w = make_world()
    yield w
    stop_world(w)


@pytest.fixture(scope="module")
def world_unchecked():
    w = make_world(self_exclusion_check=False)
    yield w
    stop_world(w)


@pytest.fixture(scope="module")
def world_shipped():
    """The shipped card (data/scorecard.conf), which scores the declared
    income, and a product cheap enough that a 30-day offer keeps the ГЭСВ
    cap: 20 % nominal, no fee."""
    with open(SHIPPED_CARD, encoding="utf-8") as f:
        w = make_world(card_text=f.read())
    r = w["senim"].post("/v1/products", {
        "code": "dcslow", "name_ru": "Микрокредит", "name_kk": "Микрокредит",
        "amount_min_tiyn": 1000000, "amount_max_tiyn": 50000000,
        "term_min_days": 30, "term_max_days": 365, "rate_bp": 2000,
        "schedule_methods": ["annuity", "differentiated"],
        "categories": ["identity", "contact"], "consents": ["credit_bureau_pkb"]},
        token=w["staff"]["admin"])
    assert r.status == 201, r
    # Terms from 15 days: the offer at the refer cut-off's limit (30,000 ₸
    # for 15 days) fits it, so an underwriter's approval is an offer.
    r = w["senim"].post("/v1/products", {
        "code": "dcsshort", "name_ru": "Микрокредит", "name_kk": "Микрокредит",
        "amount_min_tiyn": 1000000, "amount_max_tiyn": 50000000,
        "term_min_days": 15, "term_max_days": 365, "rate_bp": 2000,
        "schedule_methods": ["annuity", "differentiated"],
        "categories": ["identity", "contact"], "consents": ["credit_bureau_pkb"]},
        token=w["staff"]["admin"])
    assert r.status == 201, r
    # As dcsshort with a fixed fee of 1,000 ₸: 30,000 ₸ for 15 days is a
    # ГЭСВ of about 75 %, within the short loan's 179 %; 10,000 ₸ about 350 %.
    r = w["senim"].post("/v1/products", {
        "code": "dcsfee", "name_ru": "Микрокредит", "name_kk": "Микрокредит",
        "amount_min_tiyn": 1000000, "amount_max_tiyn": 50000000,
        "term_min_days": 15, "term_max_days": 365, "rate_bp": 2000,
        "issue_fee_tiyn": 100000,
        "schedule_methods": ["annuity", "differentiated"],
        "categories": ["identity", "contact"], "consents": ["credit_bureau_pkb"]},
        token=w["staff"]["admin"])
    assert r.status == 201, r
    yield w
    stop_world(w)


@pytest.fixture(scope="module")
def world_shipped_unchecked():
    """The shipped card under rules without the self-exclusion check, so
    that a decline without a credit report may be overridden."""
    with open(SHIPPED_CARD, encoding="utf-8") as f:
        w = make_world(self_exclusion_check=False, card_text=f.read())
    yield w
    stop_world(w)


@pytest.fixture(autouse=True)
def calm_peers(world):
    for p in (world["bureau"], world["operator"], world["state"]):
        p.mode("ok")
        p.reset()
    yield


def scored_borrower():
    """A borrower whose phone the operator matches, with a score, ..."""
    while True:
        b = borrower()
        msisdn = "+" + "".join(ch for ch in b["phone"] if ch.isdigit())
        # ... and whom the address database knows an address of (D8 test).
        if peerlib.synthetic_phone(b["iin"], msisdn)["score"] is not None and \
                peerlib.synthetic_address(b["iin"])["registered_address"] is not None:
            return b


def clean_borrower():
    """For the shipped card, 500 points before the debt burden: no history
    at the bureau (the IIN's last digit odd: 150 + 100 + 80), an operator
    score of 620..780 (80), 36..58 years old (70), no loan with us (0 + 20)."""
    while True:
        b = scored_borrower()
        msisdn = "+" + "".join(ch for ch in b["phone"] if ch.isdigit())
        score = peerlib.synthetic_phone(b["iin"], msisdn)["score"]["value"]
        if int(b["iin"][-1]) % 2 == 1 and 1968 <= int(b["birth_date"][:4]) <= 1990 \
                and 0.62 <= score <= 0.78:
            return b


def applied(world, consents=("credit_bureau_pkb", "mobile_operator"), product="dcs",
            body=None, income=None, term_days=90):
    """A registered borrower with the consents and an open application
    (declaring `income` unless None)."""
    s = world["senim"]
    body = body or scored_borrower()
    r = s.post("/v1/subjects", body, token=world["staff"]["underwriter"], headers=ID)
    assert r.status == 201, r
    sid = r.json["id"]
    token = s.borrower_token(body["phone"])
    s.accept_policy(token)
    for kind in consents:
        g = s.post("/v1/me/consents", {"kind": kind, "channel": "web"}, token=token)
        assert g.status in (200, 201), g
    application = {
        "product": product, "amount_tiyn": 5000000, "term_days": term_days,
        "schedule_method": "annuity", "payout_kind": "account",
        "payout_number": "KZ86125KZT5004100100"}
    if income is not None:
        application["monthly_income_tiyn"] = income
    r = s.post("/v1/me/applications", application, token=token)
    assert r.status == 201, r
    return {"sid": sid, "body": body, "token": token, "app": r.json}


def submit(world, who, lang=None):
    path = "/v1/me/applications/%s/submission" % who["app"]["id"]
    if lang:
        path += "?lang=" + lang
    return world["senim"].post(path, None, token=who["token"])


def decisions(world, app_id):
    return world["senim"].sql(
        "SELECT kind, outcome, status, scorecard_id, scorecard_version, reasons,"
        " decided_by FROM decisions WHERE application_id = '%s'" % app_id)


def test_both_answer_approve(world):
    who = applied(world)
    r = submit(world, who)
    assert r.status == 200, r
    assert r.json["state"] == "approved"
    assert r.json["decision"] == {"outcome": "approve", "reasons": []}
    assert decisions(world, who["app"]["id"]) == [
        ["automatic", "approve", "final", "test_card", "3", "", "system"]]
    # Both were asked, each once, as the system on the borrower's behalf.
    assert len(world["bureau"].requests("/v1/credit-reports")) == 1
    assert len(world["operator"].requests()) == 1
    s = world["senim"]
    assert s.sql("SELECT direction, outcome FROM disclosures WHERE subject_id = '%s'"
                 " ORDER BY at" % who["sid"]).count(["out", "delivered"]) == 2
    rows = s.sql("SELECT actor, outcome, purpose FROM audit_log WHERE operation ="
                 " 'application.decide' AND object = 'application:%s'" % who["app"]["id"])
    assert rows == [["borrower:" + who["sid"], "success", "loan_application_review"]]
    got = s.get("/v1/me/applications/" + who["app"]["id"], token=who["token"])
    assert got.status == 200 and got.json["decision"]["outcome"] == "approve"
    # The offer: the application's amount and term (under the card's limit
    # of 100,000 tenge for 90 days), the product's rate and 1 % fee.
    o = s.get("/v1/me/applications/%s/offer" % who["app"]["id"], token=who["token"])
    assert o.status == 200, o
    o = o.json
    assert (o["amount_tiyn"], o["term_days"], o["payments"], o["rate_bp"],
            o["fee_tiyn"]) == (5000000, 90, 3, 3000, 50000)
    for method in ("annuity", "differentiated"):
        rows = o["schedules"][method]
        assert len(rows) == 3 and rows[-1]["balance"] == 0
        assert sum(x["principal"] for x in rows) == 5000000
        assert all(x["total"] == x["principal"] + x["interest"] for x in rows)
        # The fee makes the ГЭСВ more than the nominal rate compounded,
        # and the cap holds.
        assert 3450 < o["gesv"][method + "_bp"] <= 4600, o["gesv"]
    assert o["gesv"]["annuity_bp"] % 10 == 0


def test_an_offer_outside_a_loan_rule_is_never_made(world):
    """40 % nominal paid monthly is a ГЭСВ above the 46 % cap: the approval
    becomes a decline naming the rule, and there is no offer."""
    who = applied(world, product="dcsdear")
    r = submit(world, who, lang="en")
    assert r.status == 200, r
    assert r.json["state"] == "declined"
    assert r.json["decline_reason"] == "loan_rule_breached"
    assert r.json["decision"]["reasons"][0]["code"] == "loan_rule_breached"
    assert r.json["decision"]["reasons"][0]["rule"] == "gesv_cap"
    s = world["senim"]
    o = s.get("/v1/me/applications/%s/offer" % who["app"]["id"], token=who["token"])
    assert o.status == 404 and o.json["code"] == "offer_not_found", o
    assert s.sql("SELECT COUNT(*) FROM offers WHERE application_id = '%s'"
                 % who["app"]["id"]) == [["0"]]


def test_bureau_down_declines_with_reasons_by_language(world):
    world["bureau"].mode("fail")
    who = applied(world)
    r = submit(world, who, lang="kk")
    assert r.status == 200, r
    assert r.json["state"] == "declined"
    assert r.json["decline_reason"] == "bureau_unavailable"
    codes = [x["code"] for x in r.json["decision"]["reasons"]]
    assert codes[0] == "bureau_unavailable"
    s = world["senim"]
    texts = {}
    for lang in ("ru", "kk", "en"):
        got = s.get("/v1/me/applications/%s?lang=%s" % (who["app"]["id"], lang),
                    token=who["token"])
        assert got.status == 200, got
        assert got.json["decision"]["outcome"] == "decline"
        texts[lang] = got.json["decision"]["reasons"][0]["text"]
    assert len(set(texts.values())) == 3, texts
    assert r.json["decision"]["reasons"][0]["text"] == texts["kk"]
    assert decisions(world, who["app"]["id"])[0][1] == "decline"


def test_operator_down_refers(world):
    world["operator"].mode("fail")
    who = applied(world)
    r = submit(world, who)
    assert r.status == 200, r
    assert r.json["state"] == "referred"
    assert [x["code"] for x in r.json["decision"]["reasons"]][0] == \
        "operator_score_unavailable"


def test_state_database_findings_land_d8(world):
    """D8: the address database is asked with the others; its answer
    disagreeing with the declared address is a finding, and the decision
    goes on."""
    who = applied(world, consents=("credit_bureau_pkb", "mobile_operator",
                                   "state_database"))
    s = world["senim"]
    r = s.request("PUT", "/v1/subjects/%s/data/contact" % who["sid"],
                  token=world["staff"]["underwriter"],
                  headers={"Senim-Purpose": "loan_application_review"},
                  body={"fields": {"phone_mobile": who["body"]["phone"],
                                   "registered_address": "нигде"}})
    assert r.status == 200, r
    r = submit(world, who)
    assert r.status == 200 and r.json["state"] == "approved", r
    assert len(world["state"].requests()) == 1
    rows = s.sql("SELECT category, field FROM subject_findings WHERE subject_id = '%s'"
                 % who["sid"])
    assert rows == [["contact", "registered_address"]], rows
    assert "нигде" not in str(s.sql("SELECT * FROM subject_findings"))


def test_a_refused_check_is_missing_not_a_failure(world):
    """Without the mobile_operator consent the phone check is refused (and
    recorded as refused); the card's rule for a missing operator score
    refers the application."""
    who = applied(world, consents=("credit_bureau_pkb",))
    r = submit(world, who)
    assert r.status == 200, r
    assert r.json["state"] == "referred"
    assert world["operator"].requests() == []
    s = world["senim"]
    assert ["out", "refused"] in s.sql(
        "SELECT direction, outcome FROM disclosures WHERE subject_id = '%s'" % who["sid"])


def test_second_submission_and_not_open_refused(world):
    who = applied(world)
    assert submit(world, who).status == 200
    again = submit(world, who)
    assert again.status == 409 and again.json["code"] == "application_not_open", again
    assert len(decisions(world, who["app"]["id"])) == 1
    other = applied(world)
    world["bureau"].reset()
    s = world["senim"]
    w = s.post("/v1/me/applications/%s/withdrawal" % other["app"]["id"], None,
               token=other["token"])
    assert w.status == 200, w
    r = submit(world, other)
    assert r.status == 409 and r.json["code"] == "application_not_open", r
    assert world["bureau"].requests("/v1/credit-reports") == []
    # Another borrower's application is not found.
    r = s.post("/v1/me/applications/%s/submission" % other["app"]["id"], None,
               token=who["token"])
    assert r.status == 404 and r.json["code"] == "application_not_found", r


def test_incomplete_application_refused(world):
    """C4: an application lacking a consent the product needs is not
    decided, and nothing is asked."""
    who = applied(world, consents=("mobile_operator",))
    r = submit(world, who)
    assert r.status == 409 and r.json["code"] == "application_incomplete", r
    assert world["bureau"].requests("/v1/credit-reports") == []
    assert world["operator"].requests() == []
    assert decisions(world, who["app"]["id"]) == []


def test_inputs_sealed_and_no_personal_data_in_logs(world):
    who = applied(world)
    assert submit(world, who).status == 200
    s = world["senim"]
    body = who["body"]
    sealed = s.sql("SELECT inputs_sealed FROM decisions WHERE application_id = '%s'"
                   % who["app"]["id"])[0][0]
    assert sealed and body["birth_date"] not in str(sealed)
    log = s.read_log()
    for secret in (body["iin"], body["birth_date"], body["surname"]):
        assert secret not in log
    audit = s.sql("SELECT * FROM audit_log WHERE operation = 'application.decide'")
    assert body["iin"] not in str(audit) and body["birth_date"] not in str(audit)


def test_submission_fails_closed_without_audit(world):
    """S4: while the audit record cannot be written, the submission answers
    no decision and the application stays open; once it can, it is
    decided."""
    who = applied(world)
    s = world["senim"]
    s.sql(block_audit_sql())
    try:
        r = submit(world, who)
    finally:
        s.sql(unblock_audit_sql())
    assert r.status >= 500, r
    assert r.header("Content-Type") == "application/problem+json"
    assert decisions(world, who["app"]["id"]) == []
    assert s.sql("SELECT state FROM applications WHERE id = '%s'"
                 % who["app"]["id"]) == [["open"]]
    assert submit(world, who).status == 200
    s.sql(block_audit_sql())
    try:
        r = s.get("/v1/me/applications/%s/offer" % who["app"]["id"], token=who["token"])
    finally:
        s.sql(unblock_audit_sql())
    assert r.status >= 500 and "amount_tiyn" not in r.body.decode(), r
    assert s.get("/v1/me/applications/%s/offer" % who["app"]["id"],
                 token=who["token"]).status == 200


def test_a_bad_scorecard_stops_serve(world):
    d = world["dir"]
    bad = os.path.join(d, "bad-card.conf")
    with open(bad, "w", encoding="utf-8") as f:
        f.write(CARD.replace("approve = 800", "approve = lots"))
    data = os.path.join(d, "data-bad")
    p = subprocess.run([BIN, "serve", "--listen", "127.0.0.1:0", "--data-dir", data,
                        "--scorecard", bad], capture_output=True, timeout=60)
    assert p.returncode == 2, p
    assert bad.encode() in p.stderr and b"approve" in p.stderr
    assert not os.path.exists(data), "nothing opened before the card was checked"


# ---- an underwriter on a referred case ------------------------------------------

def referred(world):
    world["operator"].mode("fail")
    who = applied(world)
    r = submit(world, who)
    assert r.status == 200 and r.json["state"] == "referred", r
    world["operator"].mode("ok")
    return who


def staff_post(world, who, what, token, body=None):
    return world["senim"].post("/v1/applications/%s/%s" % (who["app"]["id"], what), body,
                               token=token)


def test_underwriter_decides_a_referred_case_under_a_lock(world):
    s = world["senim"]
    uw1, uw2 = world["staff"]["underwriter"], s.service_token("dcs-uw2", "underwriter")
    who = referred(world)
    r = staff_post(world, who, "lock", uw1)
    assert r.status == 200 and r.json["state"] == "referred", r
    assert staff_post(world, who, "lock", uw1).status == 200  # one's own lock
    # Another underwriter may neither take it nor decide it.
    r = staff_post(world, who, "lock", uw2)
    assert r.status == 409 and r.json["code"] == "application_locked", r
    r = staff_post(world, who, "decision", uw2, {"outcome": "approve"})
    assert r.status == 409 and r.json["code"] == "application_locked", r
    # A decline needs a reason code.
    r = staff_post(world, who, "decision", uw1, {"outcome": "decline"})
    assert r.status == 422 and r.json["field"] == "reason", r
    r = staff_post(world, who, "decision", uw1, {"outcome": "approve"})
    assert r.status == 200 and r.json["state"] == "approved", r
    assert r.json["decision"] == {"outcome": "approve", "reasons": []}
    rows = decisions(world, who["app"]["id"])
    assert [x[0] for x in rows] == ["automatic", "underwriter"]
    assert rows[1][6] == "staff:dcs-underwriter" or rows[1][6].startswith("staff:"), rows
    o = s.get("/v1/me/applications/%s/offer" % who["app"]["id"], token=who["token"])
    # Within the card's limit for the referral's points: 30,000 tenge for
    # 30 days (a short loan: its own caps).
    assert o.status == 200 and (o.json["amount_tiyn"], o.json["term_days"]) == \
        (3000000, 30), o
    assert s.sql("SELECT COUNT(*) FROM application_locks WHERE application_id = '%s'"
                 % who["app"]["id"]) == [["0"]]
    # Decided: no second decision.
    r = staff_post(world, who, "decision", uw1, {"outcome": "decline",
                                                 "reason": "low_operator_score"})
    assert r.status == 409 and r.json["code"] == "application_not_referred", r


def test_underwriter_declines_with_a_reason_the_borrower_reads(world):
    uw = world["staff"]["underwriter"]
    # An approved (not referred) application is not the underwriter's.
    ok = applied(world)
    r = submit(world, ok)
    assert r.json["state"] == "approved", r
    r = staff_post(world, ok, "lock", uw)
    assert r.status == 409 and r.json["code"] == "application_not_referred", r
    who = referred(world)
    r = staff_post(world, who, "decision", uw, {"outcome": "decline",
                                                "reason": "many_active_loans"})
    assert r.status == 200 and r.json["state"] == "declined", r
    assert r.json["decline_reason"] == "many_active_loans"
    got = world["senim"].get("/v1/me/applications/%s?lang=kk" % who["app"]["id"],
                             token=who["token"])
    assert got.json["decision"]["reasons"][0]["code"] == "many_active_loans"
    r = staff_post(world, who, "decision", uw, {"outcome": "decline", "reason": "nope"})
    assert r.status == 409 or (r.status == 422 and r.json["rule"] == "enum_value"), r


def test_a_decline_without_a_credit_report_is_not_overridden(world):
    """Law 56-V art. 3(3-3): without a credit report the voluntary refusal
    of loans cannot be ruled out.  The card's decline stands with its
    reasons, the missing check is said too, and no underwriter may
    approve it."""
    s = world["senim"]
    world["bureau"].mode("fail")
    who = applied(world)
    r = submit(world, who)
    assert r.json["state"] == "declined", r
    world["bureau"].mode("ok")
    got = s.get("/v1/me/applications/" + who["app"]["id"], token=who["token"])
    codes = [x["code"] for x in got.json["decision"]["reasons"]]
    assert codes[0] == "bureau_unavailable" and codes[-1] == "self_exclusion_unchecked", got
    r = staff_post(world, who, "decision", world["staff"]["underwriter"],
                   {"outcome": "approve"})
    assert r.status == 409 and r.json["code"] == "offer_impossible", r
    assert [x[2] for x in decisions(world, who["app"]["id"])] == ["final"]


def test_override_of_an_automatic_decline_takes_two(world_unchecked):
    """Maker-checker (rules without the self-exclusion check): one
    underwriter's approval of a scorecard decline waits (202,
    pending_approval); the same person cannot confirm it; a second one
    does, and the offer is made."""
    world = world_unchecked
    s = world["senim"]
    uw1, uw2 = world["staff"]["underwriter"], s.service_token("dcs-uw3", "underwriter")
    world["bureau"].mode("fail")
    who = applied(world)
    assert submit(world, who).json["state"] == "declined"
    world["bureau"].mode("ok")
    r = staff_post(world, who, "confirmation", uw2)
    assert r.status == 409 and r.json["code"] == "override_not_pending", r
    r = staff_post(world, who, "decision", uw1, {"outcome": "approve"})
    assert r.status == 202 and r.json["state"] == "declined", r
    assert [x[2] for x in decisions(world, who["app"]["id"])] == \
        ["final", "pending_approval"]
    o = s.get("/v1/me/applications/%s/offer" % who["app"]["id"], token=who["token"])
    assert o.status == 404, o
    r = staff_post(world, who, "confirmation", uw1)
    assert r.status == 409 and r.json["code"] == "maker_cannot_check", r
    # S4: no audit record, no confirmation.
    s.sql(block_audit_sql())
    try:
        r = staff_post(world, who, "confirmation", uw2)
    finally:
        s.sql(unblock_audit_sql())
    assert r.status >= 500, r
    assert s.sql("SELECT state FROM applications WHERE id = '%s'"
                 % who["app"]["id"]) == [["declined"]]
    r = staff_post(world, who, "confirmation", uw2)
    assert r.status == 200 and r.json["state"] == "approved", r
    rows = s.sql("SELECT decided_by, confirmed_by, status FROM decisions WHERE"
                 " application_id = '%s' AND confirmed_by IS NOT NULL" % who["app"]["id"])
    assert len(rows) == 1 and rows[0][0] != rows[0][1] and rows[0][2] == "final", rows
    o = s.get("/v1/me/applications/%s/offer" % who["app"]["id"], token=who["token"])
    assert o.status == 200 and o.json["amount_tiyn"] == 5000000, o
    got = s.get("/v1/me/applications/" + who["app"]["id"], token=who["token"])
    assert got.json["decision"] == {"outcome": "approve", "reasons": []}, got
    r = staff_post(world, who, "confirmation", uw2)
    assert r.status == 409 and r.json["code"] == "override_not_pending", r


def test_staff_fail_closed_without_audit(world):
    who = referred(world)
    s = world["senim"]
    uw = world["staff"]["underwriter"]
    s.sql(block_audit_sql())
    try:
        lock = staff_post(world, who, "lock", uw)
        dec = staff_post(world, who, "decision", uw, {"outcome": "approve"})
        conf = staff_post(world, who, "confirmation", uw)
    finally:
        s.sql(unblock_audit_sql())
    assert lock.status >= 500 and dec.status >= 500, (lock, dec)
    # Nothing pending: the confirmation changes nothing before any audit.
    assert conf.status in (409,) or conf.status >= 500, conf
    assert s.sql("SELECT state FROM applications WHERE id = '%s'"
                 % who["app"]["id"]) == [["referred"]]
    assert s.sql("SELECT COUNT(*) FROM application_locks") == [["0"]] or \
        who["app"]["id"] not in str(s.sql("SELECT application_id FROM application_locks"))
    assert staff_post(world, who, "decision", uw, {"outcome": "approve"}).status == 200


# ---- the declared income and the debt burden (the shipped card) -----------------

def points_of(world, app_id):
    return world["senim"].sql("SELECT outcome, points, reasons FROM decisions"
                              " WHERE application_id = '%s'" % app_id)


def test_the_shipped_card_asks_for_the_income(world_shipped):
    """It scores the debt burden, so an application without an income is
    refused, in each language, and nothing is written."""
    s = world_shipped["senim"]
    who = applied(world_shipped, product="dcslow", body=clean_borrower(), income=0)
    s.post("/v1/me/applications/%s/withdrawal" % who["app"]["id"], None, token=who["token"])
    before = s.sql("SELECT COUNT(*) FROM applications")
    body = {"product": "dcslow", "amount_tiyn": 5000000, "term_days": 30,
            "schedule_method": "annuity", "payout_kind": "account",
            "payout_number": "KZ86125KZT5004100100"}
    details = set()
    for lang in ("ru", "kk", "en"):
        r = s.post("/v1/me/applications", body, token=who["token"],
                   headers={"Accept-Language": lang})
        assert r.status == 422 and r.json["code"] == "validation_failed", r
        assert (r.json["field"], r.json["rule"]) == ("monthly_income_tiyn", "required")
        details.add(r.json["detail"])
    assert len(details) == 3
    assert s.sql("SELECT COUNT(*) FROM applications") == before


def test_a_fair_income_is_approved(world_shipped):
    """1,000,000 ₸ a month against the new loan's one payment of about
    50,800 ₸ (30 days at 20 %): about 508 bp, the best band (150)."""
    who = applied(world_shipped, product="dcslow", body=clean_borrower(),
                  income=100000000, term_days=30)
    r = submit(world_shipped, who)
    assert r.status == 200, r
    assert r.json["state"] == "approved", r.json
    assert points_of(world_shipped, who["app"]["id"]) == [["approve", "650", ""]]


def test_payments_over_the_limit_decline(world_shipped):
    """80,000 ₸ a month: the new loan's payment alone is about 63 % of it,
    above the 50 % of max_debt_burden_bp — a hard decline, though the
    bureau shows no debt at all."""
    who = applied(world_shipped, product="dcslow", body=clean_borrower(),
                  income=8000000, term_days=30)
    r = submit(world_shipped, who, lang="en")
    assert r.status == 200, r
    assert r.json["state"] == "declined"
    assert r.json["decline_reason"] == "debt_burden_over_limit"
    assert r.json["decision"]["reasons"][0] == {
        "code": "debt_burden_over_limit",
        "text": "Debt payments exceed the allowed share of income."}
    [[outcome, _, reasons]] = points_of(world_shipped, who["app"]["id"])
    assert outcome == "decline" and reasons.startswith("debt_burden_over_limit")
    o = world_shipped["senim"].get("/v1/me/applications/%s/offer" % who["app"]["id"],
                                   token=who["token"])
    assert o.status == 404


def test_the_offers_instalment_is_counted_again(world_shipped):
    """200,000 ₸ a month, 50,000 ₸ asked over 90 days: three payments of
    about 17,500 ₸ are 875 bp (150 points: 650, approve); but the card's
    limit at 650 is 30 days, one payment of about 50,800 ₸: 2541 bp, the
    band 2001..3500 (100 points).  The decision is taken again with it —
    600 points, still approved, the offer for 30 days — and the stored
    points show the burden counted with the offer's instalment."""
    who = applied(world_shipped, product="dcslow", body=clean_borrower(),
                  income=20000000, term_days=90)
    r = submit(world_shipped, who)
    assert r.status == 200, r
    assert r.json["state"] == "approved", r.json
    assert points_of(world_shipped, who["app"]["id"]) == [["approve", "600", ""]]
    o = world_shipped["senim"].get("/v1/me/applications/%s/offer" % who["app"]["id"],
                                   token=who["token"])
    assert o.status == 200 and o.json["term_days"] == 30, o


def indebted_borrower():
    """As clean_borrower (500 points before the debt burden) but with a
    history at the bureau (an even last digit): exactly one open loan,
    owing at least 2,000,000 ₸, nothing overdue or written off, at most two
    enquiries (150 + 100 + 80).  Its estimate alone, a twelfth of what it
    owes, is at least 166,667 ₸ a month."""
    while True:
        b = scored_borrower()
        if int(b["iin"][-1]) % 2 == 1 or not 1968 <= int(b["birth_date"][:4]) <= 1990:
            continue
        report = peerlib.synthetic(b["iin"])
        loans = report["loans"]
        opened = [x for x in loans if x["status"] == "open"]
        if len(opened) != 1 or any(x["status"] == "written_off" for x in loans) or \
                opened[0]["overdue_days"] or opened[0]["outstanding_tiyn"] < 200000000 or \
                report["enquiries"]["last_30_days"] > 2:
            continue
        msisdn = "+" + "".join(ch for ch in b["phone"] if ch.isdigit())
        if 0.62 <= peerlib.synthetic_phone(b["iin"], msisdn)["score"]["value"] <= 0.78:
            return b, loans.index(opened[0])


def test_the_bureaus_monthly_payment_is_the_burden(world_shipped):
    """ARDFM's КДН counts each loan's own monthly payment.  300,000 ₸ a
    month and 50,000 ₸ asked for 30 days (one payment of about 50,800 ₸,
    1693 bp).  Without a payment from the bureau, a twelfth of the open
    loan's 2,000,000 ₸ or more stands in: over 72 %, above the card's 50 %
    — a hard decline.  When the bureau gives the loan's monthly payment,
    25,000 ₸, that is what counts: (25,000 + 50,800) / 300,000 is 2526 bp,
    the band 2001..3500 (100 points): 600, approved."""
    s = world_shipped["senim"]
    bureau = world_shipped["bureau"]
    estimated, _ = indebted_borrower()
    who = applied(world_shipped, product="dcslow", body=estimated,
                  income=30000000, term_days=30)
    r = submit(world_shipped, who)
    assert r.status == 200, r
    assert r.json["state"] == "declined", r.json
    assert r.json["decline_reason"] == "debt_burden_over_limit"

    given, i = indebted_borrower()
    payments = [None] * i + [2500000]
    bureau.control("POST", "monthly-payments", {"iin": given["iin"], "payments": payments})
    try:
        who = applied(world_shipped, product="dcslow", body=given,
                      income=30000000, term_days=30)
        r = submit(world_shipped, who)
        assert r.status == 200, r
        assert r.json["state"] == "approved", r.json
        assert points_of(world_shipped, who["app"]["id"]) == [["approve", "600", ""]]
        o = s.get("/v1/me/applications/%s/offer" % who["app"]["id"], token=who["token"])
        assert o.status == 200 and o.json["amount_tiyn"] == 5000000, o
    finally:
        bureau.control("POST", "monthly-payments", {"iin": given["iin"], "payments": []})


def test_the_income_is_sealed_and_shown_only_to_the_borrower(world_shipped):
    s = world_shipped["senim"]
    income = 73918264537  # distinctive: nowhere else in the database
    who = applied(world_shipped, product="dcslow", body=clean_borrower(),
                  income=income, term_days=30)
    assert who["app"]["monthly_income_tiyn"] == income
    mine = s.get("/v1/me/applications/" + who["app"]["id"], token=who["token"])
    assert mine.status == 200 and mine.json["monthly_income_tiyn"] == income
    listed = s.get("/v1/me/applications", token=who["token"]).json["applications"]
    assert all("monthly_income_tiyn" not in x for x in listed)
    staff = s.get("/v1/applications/" + who["app"]["id"],
                  token=world_shipped["staff"]["underwriter"])
    assert staff.status == 200 and "monthly_income_tiyn" not in staff.json
    assert str(income) not in staff.body.decode()
    # R5: under a limit on the borrower's own access it is not shown either.
    sid = who["sid"] if "sid" in who else s.sql(
        "SELECT subject_id FROM applications WHERE id = '%s'" % who["app"]["id"])[0][0]
    dpo = s.service_token("inc-dpo", "dpo")
    r = s.post(f"/v1/subjects/{sid}/access-limit",
               {"ground": "aml_cft", "reference": "191-IV/art.13"}, token=dpo)
    assert r.status == 200, r
    limited = s.get("/v1/me/applications/" + who["app"]["id"], token=who["token"])
    assert limited.status == 200 and limited.json["limited"] is True, limited
    assert str(income).encode() not in limited.body
    assert s.delete(f"/v1/subjects/{sid}/access-limit", token=dpo).status == 200
    assert submit(world_shipped, who).status == 200
    sealed = s.sql("SELECT income_sealed FROM applications WHERE id = '%s'"
                   % who["app"]["id"])[0][0]
    assert sealed and str(income) not in str(sealed)
    dump = "\n".join("|".join(map(str, row)) for table in
                     ("applications", "decisions", "audit_log", "loan_events")
                     for row in s.sql("SELECT * FROM %s" % table))
    assert str(income) not in dump
    assert str(income) not in s.read_log()


# ---- an underwriter's approval keeps the debt-burden limit (КДН) ----------------

def referred_shipped(world, income, term_days, product="dcsshort"):
    """A clean borrower of the shipped card with the operator down (30
    points instead of 80): 450 before the debt burden, whose band 2001..3500
    (100) makes 550, referred; the refer cut-off's limit is 30,000 ₸ for 15
    days, one payment of about 30,250 ₸."""
    world["operator"].mode("fail")
    try:
        who = applied(world, product=product, body=clean_borrower(), income=income,
                      term_days=term_days)
        r = submit(world, who)
    finally:
        world["operator"].mode("ok")
    assert r.status == 200 and r.json["state"] == "referred", r
    return who


def audit_of(world, app_id):
    return world["senim"].sql("SELECT operation, outcome FROM audit_log WHERE object ="
                              " 'application:%s' ORDER BY seq" % app_id)


def assert_nothing_changed(world, who, state, decisions_before, audit_before):
    s = world["senim"]
    app_id = who["app"]["id"]
    assert s.sql("SELECT state FROM applications WHERE id = '%s'" % app_id) == [[state]]
    assert decisions(world, app_id) == decisions_before
    assert audit_of(world, app_id) == audit_before
    assert s.sql("SELECT COUNT(*) FROM offers WHERE application_id = '%s'"
                 % app_id) == [["0"]]
    assert s.get("/v1/me/applications/%s/offer" % app_id,
                 token=who["token"]).status == 404


def test_an_underwriters_offer_over_the_debt_burden_limit_is_refused(world_shipped):
    """55,000 ₸ a month, 50,000 ₸ asked over 90 days: three payments of
    about 17,500 ₸ are about 32 % — referred at 550.  The underwriter's
    offer is the limit's 30,000 ₸ for 15 days, one payment of about 30,250
    ₸: 55 % of the income, over the card's 50 %.  Refused in each language,
    naming the limit; nothing is written."""
    w = world_shipped
    who = referred_shipped(w, income=5500000, term_days=90)
    app_id = who["app"]["id"]
    uw = w["staff"]["underwriter"]
    assert staff_post(w, who, "lock", uw).status == 200
    before, audit_before = decisions(w, app_id), audit_of(w, app_id)
    details = set()
    for lang in ("ru", "kk", "en"):
        r = w["senim"].post("/v1/applications/%s/decision" % app_id,
                            {"outcome": "approve"}, token=uw,
                            headers={"Accept-Language": lang})
        assert r.status == 409 and r.json["code"] == "debt_burden_over_limit", r
        assert r.json["limit_bp"] == 5000 and r.json["scorecard_rule"] == \
            "max_debt_burden_bp", r
        assert "5000" in r.json["detail"]
        details.add(r.json["detail"])
    assert len(details) == 3
    assert_nothing_changed(w, who, "referred", before, audit_before)
    # It may still be declined, and the lock is the underwriter's still.
    r = staff_post(w, who, "decision", uw, {"outcome": "decline",
                                            "reason": "high_debt_burden"})
    assert r.status == 200 and r.json["state"] == "declined", r


def test_an_underwriters_offer_within_the_debt_burden_limit_is_made(world_shipped):
    """200,000 ₸ a month, 50,000 ₸ asked for 30 days: about 25 %, referred
    at 550; the offer's one payment of about 30,250 ₸ is about 15 %."""
    w = world_shipped
    who = referred_shipped(w, income=20000000, term_days=30)
    r = staff_post(w, who, "decision", w["staff"]["underwriter"], {"outcome": "approve"})
    assert r.status == 200 and r.json["state"] == "approved", r
    o = w["senim"].get("/v1/me/applications/%s/offer" % who["app"]["id"],
                       token=who["token"])
    assert o.status == 200 and (o.json["amount_tiyn"], o.json["term_days"]) == \
        (3000000, 15), o


def declined_shipped(world, income, operator_ok=True, product="dcslow"):
    if not operator_ok:
        world["operator"].mode("fail")
    try:
        who = applied(world, product=product, body=clean_borrower(), income=income,
                      term_days=30)
        r = submit(world, who)
    finally:
        world["operator"].mode("ok")
    assert r.status == 200 and r.json["state"] == "declined", r
    return who


def test_a_confirmed_override_over_the_debt_burden_limit_is_refused(world_shipped):
    """Maker-checker: the override of a decline for the debt burden (80,000
    ₸ a month, one payment of about 50,800 ₸) waits; its confirmation
    finds the offer over the card's limit and changes nothing."""
    w = world_shipped
    s = w["senim"]
    uw1, uw2 = w["staff"]["underwriter"], s.service_token("dcs-kdn2", "underwriter")
    who = declined_shipped(w, income=8000000)
    app_id = who["app"]["id"]
    r = staff_post(w, who, "decision", uw1, {"outcome": "approve"})
    assert r.status == 202, r
    before, audit_before = decisions(w, app_id), audit_of(w, app_id)
    assert [x[2] for x in before] == ["final", "pending_approval"]
    r = s.post("/v1/applications/%s/confirmation" % app_id, None, token=uw2,
               headers={"Accept-Language": "en"})
    assert r.status == 409 and r.json["code"] == "debt_burden_over_limit", r
    assert r.json["limit_bp"] == 5000 and "5000 bp" in r.json["detail"], r
    assert_nothing_changed(w, who, "declined", before, audit_before)


def test_a_confirmed_override_within_the_debt_burden_limit_is_made(world_shipped):
    """110,000 ₸ a month, the operator down: one payment of about 50,800 ₸
    is about 46 % (40 points), 490 in all, declined below the refer
    cut-off; the override's offer keeps the 50 % limit and is made."""
    w = world_shipped
    s = w["senim"]
    uw1, uw2 = w["staff"]["underwriter"], s.service_token("dcs-kdn3", "underwriter")
    who = declined_shipped(w, income=11000000, operator_ok=False)
    assert staff_post(w, who, "decision", uw1, {"outcome": "approve"}).status == 202
    r = staff_post(w, who, "confirmation", uw2)
    assert r.status == 200 and r.json["state"] == "approved", r
    o = s.get("/v1/me/applications/%s/offer" % who["app"]["id"], token=who["token"])
    assert o.status == 200 and o.json["amount_tiyn"] == 5000000, o


def test_without_a_credit_report_the_burden_is_unknown(world_shipped_unchecked):
    """The bureau down (and no self-exclusion check to decline on that):
    the card declines below the refer cut-off; an override cannot know the
    debt burden, so its confirmation is refused and nothing changes."""
    w = world_shipped_unchecked
    s = w["senim"]
    uw1, uw2 = w["staff"]["underwriter"], s.service_token("dcs-kdn4", "underwriter")
    w["bureau"].mode("fail")
    try:
        who = applied(w, body=clean_borrower(), income=100000000, term_days=30)
        r = submit(w, who)
    finally:
        w["bureau"].mode("ok")
    assert r.status == 200 and r.json["state"] == "declined", r
    app_id = who["app"]["id"]
    assert staff_post(w, who, "decision", uw1, {"outcome": "approve"}).status == 202
    before, audit_before = decisions(w, app_id), audit_of(w, app_id)
    r = s.post("/v1/applications/%s/confirmation" % app_id, None, token=uw2,
               headers={"Accept-Language": "kk"})
    assert r.status == 409 and r.json["code"] == "debt_burden_unknown", r
    assert r.json["limit_bp"] == 5000, r
    assert_nothing_changed(w, who, "declined", before, audit_before)


# ---- an underwriter's smaller amount or shorter term (U1) ------------------------

def limits_of(world, app_id):
    """Each decision's status, outcome and the bounds of its offer."""
    return world["senim"].sql(
        "SELECT kind, status, outcome, amount_limit_tiyn, term_limit_days FROM decisions"
        " WHERE application_id = '%s' ORDER BY created_at, id" % app_id)


def test_an_underwriters_smaller_amount_is_the_offer(world_shipped):
    """Referred at 550 (200,000 ₸ a month, 50,000 ₸ asked for 30 days); the
    card's limit is 30,000 ₸ for 15 days; the underwriter approves 20,000 ₸:
    the offer, its schedule and the final decision are for 20,000 ₸."""
    w = world_shipped
    s = w["senim"]
    who = referred_shipped(w, income=20000000, term_days=30)
    app_id = who["app"]["id"]
    r = staff_post(w, who, "decision", w["staff"]["underwriter"],
                   {"outcome": "approve", "amount_tiyn": 2000000, "term_days": 15})
    assert r.status == 200 and r.json["state"] == "approved", r
    o = s.get("/v1/me/applications/%s/offer" % app_id, token=who["token"])
    assert o.status == 200 and (o.json["amount_tiyn"], o.json["term_days"]) == \
        (2000000, 15), o
    for method in ("annuity", "differentiated"):
        rows = o.json["schedules"][method]
        assert sum(x["principal"] for x in rows) == 2000000, rows
        assert rows[-1]["balance"] == 0, rows
    assert s.sql("SELECT amount_tiyn, term_days FROM offers WHERE application_id = '%s'"
                 % app_id) == [["2000000", "15"]]
    assert limits_of(w, app_id)[-1] == ["underwriter", "final", "approve", "2000000", "15"]
    # Audited as before (the automatic decision's, the underwriter's): the
    # operation, no amounts, no categories.
    rows = s.sql("SELECT operation, outcome, categories FROM audit_log WHERE object ="
                 " 'application:%s' AND operation = 'application.decide'" % app_id)
    assert rows == [["application.decide", "success", ""]] * 2, rows


def test_an_underwriters_terms_outside_their_bounds_are_refused(world_shipped):
    """Only smaller: at most what the application asked (50,000 ₸, 30 days)
    and the card's limit (30,000 ₸, 15 days), at least the product's
    minimum (10,000 ₸, 15 days); else 422 naming the field and the rule, in
    each language, and nothing is written.  An amount with a decline, or
    below 1, is a malformed body."""
    w = world_shipped
    s = w["senim"]
    uw = w["staff"]["underwriter"]
    who = referred_shipped(w, income=20000000, term_days=30)
    app_id = who["app"]["id"]
    assert staff_post(w, who, "lock", uw).status == 200
    before, audit_before = decisions(w, app_id), audit_of(w, app_id)
    cases = [
        ({"amount_tiyn": 6000000}, "amount_tiyn", "within_application", 5000000),
        ({"amount_tiyn": 4000000}, "amount_tiyn", "within_scorecard_limit", 3000000),
        ({"amount_tiyn": 999999}, "amount_tiyn", "product_min", 1000000),
        ({"term_days": 31}, "term_days", "within_application", 30),
        ({"term_days": 16}, "term_days", "within_scorecard_limit", 15),
        ({"term_days": 14}, "term_days", "product_min", 15),
        # the amount is fine, the term is not: refused all the same
        ({"amount_tiyn": 2000000, "term_days": 20}, "term_days",
         "within_scorecard_limit", 15),
    ]
    for extra, field, rule, limit in cases:
        details = set()
        for lang in ("ru", "kk", "en"):
            r = s.post("/v1/applications/%s/decision" % app_id,
                       dict({"outcome": "approve"}, **extra), token=uw,
                       headers={"Accept-Language": lang})
            assert r.status == 422 and r.json["code"] == "offer_outside_bounds", r
            assert (r.json["field"], r.json["rule"], r.json["limit"]) == \
                (field, rule, limit), (extra, r.json)
            assert str(limit) in r.json["detail"], r.json
            details.add(r.json["detail"])
        assert len(details) == 3, details
    for body, field, rule in (
            ({"outcome": "approve", "amount_tiyn": 0}, "amount_tiyn", "min_value"),
            ({"outcome": "approve", "term_days": -15}, "term_days", "min_value"),
            ({"outcome": "approve", "amount_tiyn": "2000000"}, "amount_tiyn",
             "type_integer"),
            ({"outcome": "decline", "reason": "high_debt_burden",
              "amount_tiyn": 2000000}, "amount_tiyn", "approve_only")):
        r = staff_post(w, who, "decision", uw, body)
        assert r.status == 422 and r.json["code"] == "validation_failed", r
        assert (r.json["field"], r.json["rule"]) == (field, rule), r.json
    assert_nothing_changed(w, who, "referred", before, audit_before)
    # Within them, the lock still the underwriter's: made.
    r = staff_post(w, who, "decision", uw, {"outcome": "approve", "amount_tiyn": 1000000})
    assert r.status == 200 and r.json["state"] == "approved", r
    o = s.get("/v1/me/applications/%s/offer" % app_id, token=who["token"])
    assert (o.json["amount_tiyn"], o.json["term_days"]) == (1000000, 15), o


def test_a_smaller_amount_keeps_the_debt_burden_limit(world_shipped):
    """55,000 ₸ a month: the card's 30,000 ₸ for 15 days is one payment of
    about 30,250 ₸, 55 % of the income, over the 50 % limit — refused.  The
    underwriter approves 20,000 ₸ instead: about 20,170 ₸, 37 %, made."""
    w = world_shipped
    s = w["senim"]
    uw = w["staff"]["underwriter"]
    who = referred_shipped(w, income=5500000, term_days=90)
    app_id = who["app"]["id"]
    r = staff_post(w, who, "decision", uw, {"outcome": "approve"})
    assert r.status == 409 and r.json["code"] == "debt_burden_over_limit", r
    r = staff_post(w, who, "decision", uw, {"outcome": "approve", "amount_tiyn": 2000000})
    assert r.status == 200 and r.json["state"] == "approved", r
    o = s.get("/v1/me/applications/%s/offer" % app_id, token=who["token"])
    assert (o.json["amount_tiyn"], o.json["term_days"]) == (2000000, 15), o
    assert limits_of(w, app_id)[-1] == ["underwriter", "final", "approve", "2000000", "15"]


def test_smaller_terms_outside_a_loan_rule_are_refused(world_shipped):
    """A fixed fee of 1,000 ₸: the card's 30,000 ₸ for 15 days keeps the short
    loan's 179 % ГЭСВ, 10,000 ₸ would not.  The underwriter's choice is
    refused naming the rule and nothing changes — the application is not
    declined for terms it did not ask."""
    w = world_shipped
    s = w["senim"]
    uw = w["staff"]["underwriter"]
    who = referred_shipped(w, income=20000000, term_days=30, product="dcsfee")
    app_id = who["app"]["id"]
    before, audit_before = decisions(w, app_id), audit_of(w, app_id)
    r = s.post("/v1/applications/%s/decision" % app_id,
               {"outcome": "approve", "amount_tiyn": 1000000}, token=uw,
               headers={"Accept-Language": "en"})
    assert r.status == 422 and r.json["code"] == "loan_rule_breached", r
    assert r.json["loan_rule"] == "short_loan.annual" and r.json["loan_rule_source"], r
    assert_nothing_changed(w, who, "referred", before, audit_before)
    r = staff_post(w, who, "decision", uw, {"outcome": "approve"})
    assert r.status == 200 and r.json["state"] == "approved", r
    o = s.get("/v1/me/applications/%s/offer" % app_id, token=who["token"])
    assert (o.json["amount_tiyn"], o.json["term_days"]) == (3000000, 15), o


def test_an_override_with_a_smaller_amount_is_confirmed_as_made(world_shipped):
    """80,000 ₸ a month: 50,000 ₸ for 30 days (about 50,800 ₸, 63 %) is
    declined for the debt burden, and its override's confirmation would be
    refused.  The maker approves 30,000 ₸ for 30 days (about 30,500 ₸,
    38 %): the pending decision keeps it; the checker, who chooses nothing,
    confirms that offer; the final decision names it."""
    w = world_shipped
    s = w["senim"]
    uw1, uw2 = w["staff"]["underwriter"], s.service_token("dcs-uwamt", "underwriter")
    who = declined_shipped(w, income=8000000)
    app_id = who["app"]["id"]
    # The maker's terms are bounded as a referred case's are: nothing written.
    before, audit_before = decisions(w, app_id), audit_of(w, app_id)
    for extra, field, rule in (({"amount_tiyn": 5000001}, "amount_tiyn",
                                "within_application"),
                               ({"term_days": 29}, "term_days", "product_min")):
        r = staff_post(w, who, "decision", uw1, dict({"outcome": "approve"}, **extra))
        assert r.status == 422 and (r.json["field"], r.json["rule"]) == (field, rule), r
    assert decisions(w, app_id) == before and audit_of(w, app_id) == audit_before
    r = staff_post(w, who, "decision", uw1, {"outcome": "approve", "amount_tiyn": 3000000})
    assert r.status == 202 and r.json["state"] == "declined", r
    assert limits_of(w, app_id)[-1] == \
        ["underwriter", "pending_approval", "approve", "3000000", "0"]
    # The checker cannot change them: the route takes no body.
    r = staff_post(w, who, "confirmation", uw2, {"amount_tiyn": 5000000})
    assert r.status == 400 and r.json["code"] == "body_not_allowed", r
    assert s.sql("SELECT state FROM applications WHERE id = '%s'" % app_id) == \
        [["declined"]]
    r = staff_post(w, who, "confirmation", uw2)
    assert r.status == 200 and r.json["state"] == "approved", r
    o = s.get("/v1/me/applications/%s/offer" % app_id, token=who["token"])
    assert (o.json["amount_tiyn"], o.json["term_days"]) == (3000000, 30), o
    final = s.sql("SELECT status, amount_limit_tiyn, decided_by, confirmed_by FROM"
                  " decisions WHERE application_id = '%s' AND confirmed_by IS NOT NULL"
                  % app_id)
    assert len(final) == 1 and final[0][:2] == ["final", "3000000"], final
    assert final[0][2] != final[0][3], final


# ---- the lock: released by its holder, lapsed after DECISION_LOCK_HOURS -------

LOCK_HOURS_US = 8 * 3600 * 1000000


def lock_holder(world, who):
    rows = world["senim"].sql("SELECT locked_by FROM application_locks WHERE"
                              " application_id = '%s'" % who["app"]["id"])
    return rows[0][0] if rows else None


def unlock(world, who, token):
    return world["senim"].delete("/v1/applications/%s/lock" % who["app"]["id"], token=token)


def test_a_lock_is_released_by_its_holder_and_lapses(world):
    s = world["senim"]
    uw1, uw2 = world["staff"]["underwriter"], s.service_token("dcs-lk2", "underwriter")
    who = referred(world)
    assert staff_post(world, who, "lock", uw1).status == 200
    holder = lock_holder(world, who)
    # Another underwriter cannot release a live lock.
    r = unlock(world, who, uw2)
    assert r.status == 409 and r.json["code"] == "application_locked", r
    assert lock_holder(world, who) == holder
    # Its holder can: the case is free, the release recorded.
    r = unlock(world, who, uw1)
    assert r.status == 200 and r.json["state"] == "referred", r
    assert lock_holder(world, who) is None
    ops = [o for o in audit_of(world, who["app"]["id"]) if o[0] == "application.unlock"]
    assert ops == [["application.unlock", "success"]], ops
    # Nothing to release: the same answer, nothing changes.
    assert unlock(world, who, uw1).status == 200
    # The other takes it; renewing keeps it; once it lapses (not renewed
    # for 8 hours) the first takes it over and decides.
    assert staff_post(world, who, "lock", uw2).status == 200
    second = lock_holder(world, who)
    assert second != holder
    s.sql("UPDATE application_locks SET locked_at = locked_at - %d WHERE"
          " application_id = '%s'" % (LOCK_HOURS_US - 60 * 1000000, who["app"]["id"]))
    r = staff_post(world, who, "lock", uw1)
    assert r.status == 409 and r.json["code"] == "application_locked", r
    assert staff_post(world, who, "lock", uw2).status == 200  # renewed
    s.sql("UPDATE application_locks SET locked_at = locked_at - %d WHERE"
          " application_id = '%s'" % (LOCK_HOURS_US, who["app"]["id"]))
    assert staff_post(world, who, "lock", uw1).status == 200
    assert lock_holder(world, who) == holder
    r = staff_post(world, who, "decision", uw1, {"outcome": "decline",
                                                 "reason": "low_operator_score"})
    assert r.status == 200 and r.json["state"] == "declined", r


def test_a_lapsed_lock_does_not_stop_a_decision(world):
    s = world["senim"]
    uw1, uw2 = world["staff"]["underwriter"], s.service_token("dcs-lk3", "underwriter")
    who = referred(world)
    assert staff_post(world, who, "lock", uw1).status == 200
    s.sql("UPDATE application_locks SET locked_at = locked_at - %d WHERE"
          " application_id = '%s'" % (LOCK_HOURS_US, who["app"]["id"]))
    r = staff_post(world, who, "decision", uw2, {"outcome": "decline",
                                                 "reason": "low_operator_score"})
    assert r.status == 200 and r.json["state"] == "declined", r
    assert lock_holder(world, who) is None


def test_unlock_fails_closed_without_audit(world):
    s = world["senim"]
    uw = world["staff"]["underwriter"]
    who = referred(world)
    assert staff_post(world, who, "lock", uw).status == 200
    s.sql(block_audit_sql())
    try:
        r = unlock(world, who, uw)
    finally:
        s.sql(unblock_audit_sql())
    assert r.status >= 500, r
    assert lock_holder(world, who) is not None
    assert unlock(world, who, uw).status == 200
