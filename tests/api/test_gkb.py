"""A microcredit application reported to GKB in real time, and the
self-exclusion check (issues 11, 12; T2; docs/bureau-reporting.md,
docs/decisions.md).

Law 573-II Art. 19(2)(8): a microfinance organisation reports an application
for a microcredit to the credit bureau with state participation in real time,
with the IIN, the amount and the purpose.  The submission records an
`applied` loan event and wakes serve's reporter, so it reaches GKB within
seconds although the reporter's interval here is an hour; PKB, reported to
on the borrower's consent, never gets one (a `refused` register entry).

Law 56-V art. 3(3-3) (the rule self_exclusion of data/loan-rules.conf, check
= yes): a credit report showing a voluntary refusal of loans declines the
application (`self_exclusion`); no credit report at all never approves it
(`self_exclusion_unchecked`).  The card below gives a missing bureau full
points, so only that rule keeps such an application from approval."""
import datetime
import os
import tempfile
import time

import pytest

from peer_harness import PeerProcess, peerlib
from senim_harness import TMP, Senim, borrower

SOURCE = os.environ.get("SENIM_SOURCE_DIR",
                        os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
RULES = os.path.join(SOURCE, "data", "loan-rules.conf")
ID = {"Senim-Purpose": "identification"}
SENDS = ("identity.iin identity.surname identity.given_name identity.patronymic"
         " identity.birth_date loan.contract_number loan.event loan.occurred_on"
         " loan.amount_tiyn loan.outstanding_tiyn loan.overdue_days loan.due_date")

RECIPIENTS = """\
[recipient gkb]
name_ru = АО «Государственное кредитное бюро»
name_kk = «Мемлекеттік кредиттік бюро» АҚ
registration = pending
kind = credit_bureau
country = KZ
endpoint = http://127.0.0.1:{gkb}
timeout_ms = 1500
breaker_failures = 100
[service gkb.loan_event]
api = loan_event/1
purposes = legal_obligation
sends = {sends} loan.purpose
basis = law:KZ 573-II art. 19(2)(8), 23(1)
[service gkb.credit_report]
api = credit_report/1
purposes = loan_application_review
sends = identity.iin
receives = report.has_history report.score report.loans report.total_debt_tiyn report.enquiries
basis = consent:credit_bureau_gkb

[recipient pkb]
name_ru = ТОО «Первое кредитное бюро»
name_kk = «Бірінші кредиттік бюро» ЖШС
registration = pending
kind = credit_bureau
country = KZ
endpoint = http://127.0.0.1:{pkb}
timeout_ms = 1500
breaker_failures = 100
[service pkb.loan_event]
api = loan_event/1
purposes = loan_servicing
sends = {sends}
basis = consent:credit_bureau_pkb

[recipient kcell]
name_ru = АО «Кселл»
name_kk = «Кселл» АҚ
registration = pending
kind = mobile_operator
country = KZ
endpoint = http://127.0.0.1:{operator}
timeout_ms = 1500
breaker_failures = 100
[service kcell.phone_check]
api = phone_check/1
purposes = loan_application_review
sends = identity.iin contact.phone_mobile
receives = phone.match phone.owner_since phone.subscriber_type phone.score
basis = consent:mobile_operator
"""

# Every attribute full points whatever it is, a missing bureau included:
# the card approves whenever the operator answers.
CARD = """\
[card]
id = gkb_card
version = 1
from = 2026-01-01
approve = 800
refer = 500
min_age = 18
max_age = 120
max_bureau_overdue_days = 1000000
max_debt_burden_bp = 1000000

[attribute bureau_overdue_days]
band = 0..max 150
missing = 150

[attribute active_loans]
band = 0..max 100
missing = 100

[attribute debt_burden_bp]
band = 0..max 150
missing = 150

[attribute enquiries_30d]
band = 0..max 80
missing = 80

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

INTERVAL = "3600"  # the reporter's own pass is an hour away: only the wake sends


def start_senim(path, card, rules=RULES, like=None):
    """serve with the reporter's long interval; `like`: on that server's store."""
    kw = {"data_dir": like.data_dir, "db": like.db} if like else {}
    return Senim(extra_args=["--recipients", path, "--loan-rules", rules,
                             "--scorecard", card,
                             "--bureau-report-interval", INTERVAL], **kw).start()


@pytest.fixture(scope="module")
def world():
    d = tempfile.mkdtemp(prefix="gkb-", dir=TMP)
    gkb = PeerProcess("credit_bureau.py")
    pkb = PeerProcess("credit_bureau.py")
    operator = PeerProcess("mobile_operator.py")
    path = os.path.join(d, "recipients.conf")
    with open(path, "w", encoding="utf-8") as f:
        f.write(RECIPIENTS.format(gkb=gkb.port, pkb=pkb.port, operator=operator.port,
                                  sends=SENDS))
    card = os.path.join(d, "scorecard.conf")
    with open(card, "w", encoding="utf-8") as f:
        f.write(CARD)
    s = start_senim(path, card)
    staff = {r: s.service_token("gkb-" + r, r) for r in ("admin", "underwriter")}
    r = s.post("/v1/products", {
        "code": "gkb", "name_ru": "Микрокредит", "name_kk": "Микрокредит",
        "amount_min_tiyn": 1000000, "amount_max_tiyn": 50000000,
        "term_min_days": 30, "term_max_days": 365, "rate_bp": 3000,
        "issue_fee_bp": 100, "schedule_methods": ["annuity", "differentiated"],
        "categories": ["identity", "contact"], "consents": ["credit_bureau_gkb"]},
        token=staff["admin"])
    assert r.status == 201, r
    w = {"senim": s, "gkb": gkb, "pkb": pkb, "operator": operator, "staff": staff,
         "dir": d, "recipients": path, "card": card}
    yield w
    rc = w["senim"].stop()
    for p in (gkb, pkb, operator):
        p.stop()
    assert rc == 0, w["senim"].read_log()[-4000:]


@pytest.fixture(autouse=True)
def calm(world):
    for p in (world["gkb"], world["pkb"], world["operator"]):
        p.mode("ok")
        p.reset()
    yield


def scored_borrower():
    """A borrower whose phone the operator matches, with a score."""
    while True:
        b = borrower()
        msisdn = "+" + "".join(ch for ch in b["phone"] if ch.isdigit())
        if peerlib.synthetic_phone(b["iin"], msisdn)["score"] is not None:
            return b


def applied(world, s=None, staff=None):
    """A registered borrower with every consent and an open application."""
    s = s or world["senim"]
    staff = staff or world["staff"]["underwriter"]
    body = scored_borrower()
    r = s.post("/v1/subjects", body, token=staff, headers=ID)
    assert r.status == 201, r
    token = s.borrower_token(body["phone"])
    s.accept_policy(token)
    for kind in ("credit_bureau_gkb", "credit_bureau_pkb", "mobile_operator"):
        g = s.post("/v1/me/consents", {"kind": kind, "channel": "web"}, token=token)
        assert g.status in (200, 201), g
    r = s.post("/v1/me/applications", {
        "product": "gkb", "amount_tiyn": 5000000, "term_days": 90,
        "schedule_method": "annuity", "payout_kind": "account",
        "payout_number": "KZ86125KZT5004100100"}, token=token)
    assert r.status == 201, r
    return {"body": body, "token": token, "app": r.json}


def submit(s, who, lang=None):
    path = "/v1/me/applications/%s/submission" % who["app"]["id"]
    if lang:
        path += "?lang=" + lang
    return s.post(path, None, token=who["token"])


def events_of(peer, number):
    return [e for e in peer.events() if e.get("contract_number") == number]


def subject_of(s, who):
    rows = s.sql("SELECT subject_id FROM applications WHERE id = '%s'" % who["app"]["id"])
    return rows[0][0]


def wait_for(cond, seconds=10):
    deadline = time.time() + seconds
    while time.time() < deadline:
        got = cond()
        if got:
            return got
        time.sleep(0.1)
    return cond()


# ---- the applied event -----------------------------------------------------


def test_submission_reaches_gkb_within_seconds_and_pkb_never(world):
    s = world["senim"]
    who = applied(world)
    app_id = who["app"]["id"]
    t0 = time.time()
    r = submit(s, who)
    assert r.status == 200, r
    got = wait_for(lambda: events_of(world["gkb"], app_id))
    # The reporter's interval is an hour: only the submission's wake sent it.
    assert got, "GKB has no applied event %.1f s after the submission" % (time.time() - t0)
    assert len(got) == 1
    e = got[0]
    today = (datetime.datetime.now(datetime.timezone.utc) +
             datetime.timedelta(hours=5)).strftime("%Y-%m-%d")
    assert e["event"] == "applied"
    assert e["contract_number"] == app_id
    assert e["amount_tiyn"] == 5000000
    assert e["purpose"] == "consumer"
    assert e["occurred_on"] == today
    assert e["outstanding_tiyn"] is None and e["due_date"] is None
    assert e["borrower"]["iin"] == who["body"]["iin"]
    assert e["event_id"].startswith("lev_")
    sid = subject_of(s, who)
    # PKB: the same pass decided it, refused on its ground; nothing went.
    refused = wait_for(lambda: s.sql(
        "SELECT reason FROM disclosures WHERE subject_id = '%s' AND recipient = 'pkb'"
        " AND service = 'loan_event'" % sid), 5)
    assert refused == [["event_not_taken"]], refused
    assert events_of(world["pkb"], app_id) == []
    assert [e for e in world["pkb"].events() if e.get("event") == "applied"] == []
    delivered = s.sql("SELECT outcome, basis FROM disclosures WHERE subject_id = '%s'"
                      " AND recipient = 'gkb' AND service = 'loan_event'" % sid)
    assert delivered == [["delivered", "law"]], delivered
    # The event is sealed: neither the application id nor the amount in clear.
    rows = s.sql("SELECT event, occurred_on FROM loan_events WHERE subject_id = '%s'"
                 % sid)
    assert rows == [["applied", today]], rows
    log = s.read_log()
    assert who["body"]["iin"] not in log


def test_every_outcome_is_reported_once(world):
    """A declined application was applied for all the same; a second
    submission (refused, not open) records nothing more."""
    s = world["senim"]
    who = applied(world)
    world["gkb"].control("POST", "self-excluded",
                         {"iin": who["body"]["iin"], "excluded": True})
    r = submit(s, who)
    assert r.status == 200 and r.json["state"] == "declined", r
    assert wait_for(lambda: events_of(world["gkb"], who["app"]["id"]))
    again = submit(s, who)
    assert again.status == 409, again
    sid = subject_of(s, who)
    assert s.sql("SELECT COUNT(*) FROM loan_events WHERE subject_id = '%s'"
                 " AND event = 'applied'" % sid) == [["1"]]


def test_an_import_brings_no_applied_event(world):
    s = world["senim"]
    body = borrower()
    r = s.post("/v1/subjects", body, token=world["staff"]["underwriter"], headers=ID)
    assert r.status == 201, r
    path = os.path.join(world["dir"], "applied.csv")
    with open(path, "w", encoding="utf-8") as f:
        f.write("event,occurred_on,iin,contract_number,amount_tiyn,outstanding_tiyn,"
                "overdue_days,due_date\n"
                "applied,2026-02-01,%s,APP-1,5000000,,,\n" % body["iin"])
    p = s.cli("bureau", "import", path, check=False)
    assert p.returncode == 1, p
    assert b"line 2, column event: format" in p.stderr + p.stdout


# ---- self-exclusion ----------------------------------------------------------


def test_a_report_showing_self_exclusion_declines_by_language(world):
    s = world["senim"]
    who = applied(world)
    world["gkb"].control("POST", "self-excluded",
                         {"iin": who["body"]["iin"], "excluded": True})
    r = submit(s, who, lang="kk")
    assert r.status == 200, r
    assert r.json["state"] == "declined", r
    assert r.json["decline_reason"] == "self_exclusion"
    reason = r.json["decision"]["reasons"][0]
    assert reason["code"] == "self_exclusion" and reason["rule"] == "self_exclusion"
    texts = {}
    for lang in ("ru", "kk", "en"):
        got = s.get("/v1/me/applications/%s?lang=%s" % (who["app"]["id"], lang),
                    token=who["token"])
        assert got.status == 200, got
        texts[lang] = got.json["decision"]["reasons"][0]["text"]
    assert len(set(texts.values())) == 3, texts
    assert all("56-V" in t for t in texts.values()), texts
    assert s.sql("SELECT COUNT(*) FROM offers WHERE application_id = '%s'"
                 % who["app"]["id"]) == [["0"]]


def test_the_same_borrower_not_excluded_is_approved(world):
    """The control case: the card approves when the report shows nothing."""
    s = world["senim"]
    who = applied(world)
    r = submit(s, who)
    assert r.status == 200 and r.json["state"] == "approved", r


def test_no_credit_report_at_all_is_not_approved(world):
    s = world["senim"]
    world["gkb"].mode("fail")
    who = applied(world)
    r = submit(s, who, lang="en")
    assert r.status == 200, r
    assert r.json["state"] == "declined", r
    assert r.json["decline_reason"] == "self_exclusion_unchecked"
    reason = r.json["decision"]["reasons"][0]
    assert reason["code"] == "self_exclusion_unchecked"
    assert "could not be checked" in reason["text"]


def test_a_self_exclusion_decline_is_not_overridden(world):
    """Maker-checker has nothing to check: the law declined, not the card."""
    s = world["senim"]
    who = applied(world)
    world["gkb"].control("POST", "self-excluded",
                         {"iin": who["body"]["iin"], "excluded": True})
    assert submit(s, who).json["decline_reason"] == "self_exclusion"
    r = s.post("/v1/applications/%s/decision" % who["app"]["id"], {"outcome": "approve"},
               token=world["staff"]["underwriter"])
    assert r.status == 409 and r.json["code"] == "offer_impossible", r
    rows = s.sql("SELECT kind, outcome, status FROM decisions WHERE application_id = '%s'"
                 % who["app"]["id"])
    assert rows == [["automatic", "decline", "final"]], rows


def test_with_the_check_off_the_report_does_not_decline(world):
    """The rule says whether the check applies: `check = no` in force, a
    self-excluded borrower is approved by this card."""
    with open(RULES, encoding="utf-8") as f:
        text = f.read()
    assert "\ncheck = yes\n" in text
    rules = os.path.join(world["dir"], "rules-off.conf")
    with open(rules, "w", encoding="utf-8") as f:
        f.write(text.replace("\ncheck = yes\n", "\ncheck = no\n"))
    old = world["senim"]
    assert old.stop() == 0
    s = start_senim(world["recipients"], world["card"], rules, like=old)
    try:
        who = applied(world, s, world["staff"]["underwriter"])
        world["gkb"].control("POST", "self-excluded",
                             {"iin": who["body"]["iin"], "excluded": True})
        r = submit(s, who)
        assert r.status == 200 and r.json["state"] == "approved", r
    finally:
        world["senim"] = s
