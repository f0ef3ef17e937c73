"""The C2 walk and the payout (issue 12; C2, U2; docs/payout.md).

A loan made by senim itself, end to end: an application decided by the
scorecard (peers) -> acceptance -> signature -> the payout by serve's pump
through the payment provider (peer) -> the bureau consent's withdrawal
refused while the loan is open -> repayment in full by the provider ->
the loan closed -> the withdrawal accepted.

And the payout's rules: with the cooling-off hold the money goes only after
the borrower confirms again once it is over (Law 56-V art. 3 p.3-3 part 7),
and the borrower may cancel before; a provider that lies is refused and
nothing opens; a provider that paid and lost its answer, or a server killed
between the provider's answer and the commit, pays once."""
import os
import tempfile
import time

import pytest

from peer_harness import PeerProcess, TestCA, peerlib
from senim_harness import TMP, Senim, borrower
from test_contracts import BIG_CARD, RULES, TEMPLATE, accept, approved, code_of, sign
from test_decisions import RECIPIENTS, TOKEN
from test_fail_closed import block_audit_sql, unblock_audit_sql

PAYMENTS = """
[recipient payments]
name_ru = Платёжный провайдер (тест)
name_kk = Төлем провайдері (тест)
registration = pending
kind = processor
country = KZ
endpoint = {payments}
credentials = {credentials}
ca = {ca}
timeout_ms = 1500
breaker_failures = 100
agreement = DPA-PAY-1 2026-01-15
agreement_purposes = loan_servicing
[service payments.payout]
api = payout/1
purposes = loan_servicing
sends = loan.contract_number loan.amount_tiyn loan.payout_destination identity.iin
basis = agreement
"""
SMALL = 5000000  # 50,000 tenge: under 75 МРП, no cooling-off hold
BIG = 50000000  # 500,000 tenge: the hold of data/loan-rules.conf applies


def start_senim(w, data_dir=None, db=None):
    os.environ["SENIM_LENDER_NAME"] = "ТОО «МФО Тест»"
    os.environ["SENIM_LENDER_DETAILS"] = "БИН 000000000000, лицензия № 00.00.000 (тест)"
    try:
        return Senim(extra_args=["--recipients", w["recipients"], "--loan-rules", RULES,
                                 "--scorecard", w["card"], "--contract-template", TEMPLATE,
                                 "--payout-interval", "1"],
                     data_dir=data_dir, db=db).start()
    finally:
        del os.environ["SENIM_LENDER_NAME"], os.environ["SENIM_LENDER_DETAILS"]


@pytest.fixture(scope="module")
def world():
    d = tempfile.mkdtemp(prefix="c2walk-", dir=TMP)
    ca = TestCA.create(os.path.join(d, "ca"))
    server = ca.issue_server("server")
    bureau = PeerProcess("credit_bureau.py", tls=server, token=TOKEN, ca=ca.crt)
    operator = PeerProcess("mobile_operator.py", tls=server, ca=ca.crt)
    payments = PeerProcess("payment_provider.py", tls=server, token=TOKEN, ca=ca.crt)
    client = ca.issue_client("senim")
    os.chmod(client.key, 0o600)
    state = PeerProcess("state_database.py", tls=server, client_ca=ca.crt, ca=ca.crt,
                        client=client)
    credentials = os.path.join(d, "peer.token")
    with open(os.open(credentials, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
        f.write(TOKEN + "\n")
    w = {"dir": d, "payments": payments, "recipients": os.path.join(d, "recipients.conf"),
         "card": os.path.join(d, "scorecard.conf")}
    with open(w["recipients"], "w", encoding="utf-8") as f:
        f.write((RECIPIENTS + PAYMENTS).format(
            bureau="https://127.0.0.1:%d" % bureau.port,
            operator="https://127.0.0.1:%d" % operator.port,
            state="https://127.0.0.1:%d" % state.port,
            payments="https://127.0.0.1:%d" % payments.port,
            client_cert=client.crt, client_key=client.key,
            credentials=credentials, ca=ca.crt))
    with open(w["card"], "w", encoding="utf-8") as f:
        f.write(BIG_CARD)
    s = start_senim(w)
    w["senim"] = s
    w["staff"] = {r: s.service_token("c2w-" + r, r)
                  for r in ("admin", "underwriter", "support", "dpo")}
    w["provider"] = s.service_token("c2w-provider", "payment_provider")
    r = s.post("/v1/products", {
        "code": "ctr", "name_ru": "Микрокредит", "name_kk": "Микрокредит",
        "amount_min_tiyn": 1000000, "amount_max_tiyn": 50000000,
        "term_min_days": 30, "term_max_days": 365, "rate_bp": 3000,
        "issue_fee_bp": 100, "schedule_methods": ["annuity", "differentiated"],
        "categories": ["identity", "contact"], "consents": ["credit_bureau_pkb"]},
        token=w["staff"]["admin"])
    assert r.status == 201, r
    yield w
    rc = w["senim"].stop()
    for p in (bureau, operator, payments, state):
        p.stop()
    assert rc == 0, w["senim"].read_log()[-4000:]


@pytest.fixture(autouse=True)
def provider_ok(world):
    world["payments"].mode("ok")
    yield
    world["payments"].mode("ok")


def signed(world, amount=SMALL):
    who = approved(world, amount=amount)
    r = accept(world, who)
    assert r.status == 202, r
    r = sign(world, who, code_of(world, who))
    assert r.status == 200, r
    return who


def new_borrower(world, surname="Картов"):
    """A borrower signed in, the policy accepted, the consents the
    scorecard's checks need given."""
    s = world["senim"]
    while True:
        body = borrower(surname=surname)
        msisdn = "+" + "".join(ch for ch in body["phone"] if ch.isdigit())
        if peerlib.synthetic_phone(body["iin"], msisdn)["score"] is not None:
            break
    r = s.post("/v1/subjects", body, token=world["staff"]["underwriter"],
               headers={"Senim-Purpose": "identification"})
    assert r.status == 201, r
    who = {"sid": r.json["id"], "body": body, "token": s.borrower_token(body["phone"])}
    s.accept_policy(who["token"])
    for kind in ("credit_bureau_pkb", "mobile_operator"):
        g = s.post("/v1/me/consents", {"kind": kind, "channel": "web"}, token=who["token"])
        assert g.status in (200, 201), g
    return who


def start_binding(world, who):
    """POST /v1/me/cards: the provider's page to send the borrower to."""
    r = world["senim"].post("/v1/me/cards", None, token=who["token"])
    assert r.status == 201, (r, world["senim"].read_log()[-3000:])
    assert r.json["state"] == "pending" and r.json["id"].startswith("crd_"), r.json
    assert r.json["page_url"].startswith("https://"), r.json
    assert r.header("Location") == "/v1/me/cards/" + r.json["id"]
    return r.json["id"]


def finish_page(world, card, outcome="bound", **kw):
    """The borrower on the provider's page (the peer's control endpoint)."""
    return world["payments"].control("POST", "card-binding", dict(
        kw, binding_key="cbd_" + card[4:], outcome=outcome))


def bind_card(world, who, **kw):
    card = start_binding(world, who)
    finish_page(world, card, **kw)
    r = world["senim"].get("/v1/me/cards/" + card, token=who["token"])
    assert r.status == 200 and r.json["state"] == "bound", r
    return card


def signed_card(world, who=None, card=None, **kw):
    """As approved() and signed(), with a bound card as the payout's
    destination."""
    s = world["senim"]
    who = who or new_borrower(world)
    card = card or bind_card(world, who, **kw)
    r = s.post("/v1/me/applications", {
        "product": "ctr", "amount_tiyn": SMALL, "term_days": 90,
        "schedule_method": "annuity", "payout_kind": "card",
        "payout_card": card}, token=who["token"])
    assert r.status == 201, r
    assert r.json["payout"] == {"kind": "card", "last4": "1234"}, r.json
    who["app"], who["card"] = r.json["id"], card
    return sign_up(world, who)


def sign_up(world, who):
    s = world["senim"]
    r = s.post("/v1/me/applications/%s/submission" % who["app"], None, token=who["token"])
    assert r.status == 200 and r.json["state"] == "approved", r
    assert accept(world, who).status == 202
    assert sign(world, who, code_of(world, who)).status == 200
    return who


def signed_legacy_card(world):
    """A card application from before the binding: its sealed destination
    is not a bound card's id (the card number the borrower typed then).  An
    application is no longer made so (a card number is refused), so this
    one is made with an account and turned into a card payout in the
    database before it is submitted: what the pump finds is the same, a
    card payout whose sealed value is no card id."""
    s = world["senim"]
    who = new_borrower(world)
    r = s.post("/v1/me/applications", {
        "product": "ctr", "amount_tiyn": SMALL, "term_days": 90,
        "schedule_method": "annuity", "payout_kind": "account",
        "payout_number": "KZ86125KZT5004100100"}, token=who["token"])
    assert r.status == 201, r
    who["app"] = r.json["id"]
    s.sql("UPDATE applications SET payout_kind = 'card' WHERE id = '%s'" % who["app"])
    return sign_up(world, who)


def failures(world, role="support"):
    r = world["senim"].get("/v1/payouts/failed", token=world["staff"][role])
    assert r.status == 200, r
    return {p["application_id"]: p for p in r.json["payouts"]}


def key_of(who):
    return "pyo_" + who["app"][4:]


def app_state(world, who):
    return world["senim"].sql("SELECT state FROM applications WHERE id = '%s'"
                              % who["app"])[0][0]


def payout_row(world, who):
    rows = world["senim"].sql("SELECT state, attempts, COALESCE(reason, ''),"
                              " COALESCE(loan_id, '') FROM payouts WHERE application_id"
                              " = '%s'" % who["app"])
    return rows[0] if rows else None


def wait_for(pred, seconds=30):
    deadline = time.time() + seconds
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.2)
    return pred()


def provider_payouts(world, who):
    return [p for p in world["payments"].control("GET", "payouts")["payouts"]
            if p["operation_key"] == key_of(who)]


def test_c2_walk(world):
    s = world["senim"]
    who = signed(world)
    # The pump pays it out: the loan opened with its `issued` event, the
    # application disbursed, the provider paid once under the key.
    assert wait_for(lambda: app_state(world, who) == "disbursed"), payout_row(world, who)
    st, _, _, loan_id = payout_row(world, who)
    assert st == "paid" and loan_id.startswith("lon_")
    paid = provider_payouts(world, who)
    assert len(paid) == 1 and paid[0]["status"] == "completed"
    assert paid[0]["contract_ref"] == who["app"]
    offer = s.sql("SELECT amount_tiyn, fee_tiyn FROM offers WHERE application_id = '%s'"
                  % who["app"])[0]
    assert paid[0]["amount_tiyn"] == int(offer[0]) - int(offer[1])
    loan = s.sql("SELECT subject_id, application_id, principal, status FROM loans"
                 " WHERE id = '%s'" % loan_id)[0]
    assert loan == [who["sid"], who["app"], offer[0], "open"]
    events = s.sql("SELECT event FROM loan_events WHERE subject_id = '%s'" % who["sid"])
    assert [e[0] for e in events] == ["applied", "issued"]
    reg = s.sql("SELECT recipient, outcome FROM disclosures WHERE subject_id = '%s'"
                " AND recipient = 'payments'" % who["sid"])
    assert reg == [["payments", "delivered"]]
    ops = [r[0] for r in s.sql("SELECT operation FROM audit_log WHERE subject_id = '%s'"
                               % who["sid"])]
    assert "payout.send" in ops and "payout.complete" in ops and "loan.open" in ops
    # C2: the consent the loan rests on cannot be withdrawn while it is open.
    token = who["token"]
    consents = s.get("/v1/me/consents", token=token).json["consents"]
    pkb = next(c for c in consents if c["kind"] == "credit_bureau_pkb"
               and c["status"] == "active")
    r = s.delete("/v1/me/consents/%s" % pkb["id"], token=token)
    assert r.status == 409 and r.json["code"] == "consent_irrevocable", r
    # Repaid in full by the provider's notice: closed, and then it can.
    view = s.get("/v1/me/loans/" + loan_id, token=token)
    assert view.status == 200, view
    payoff = view.json["payoff"]["amount_tiyn"]
    r = s.post("/v1/loans/%s/payments" % loan_id, {
        "provider_ref": "c2-%s" % who["app"][4:], "amount_tiyn": payoff,
        "currency": "KZT", "paid_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "channel": "card", "kind": "early"}, token=world["provider"])
    assert r.status == 201 and r.json["loan_status"] == "closed", r
    r = s.delete("/v1/me/consents/%s" % pkb["id"], token=token)
    assert r.status == 200 and r.json["status"] == "withdrawn", r
    # Paid once, whatever the passes since.
    assert len(provider_payouts(world, who)) == 1
    assert s.sql("SELECT count(*) FROM loans WHERE application_id = '%s'"
                 % who["app"]) == [["1"]]


def test_hold_needs_a_second_confirmation(world):
    s = world["senim"]
    who = signed(world, BIG)
    url = "/v1/me/applications/%s/payout-confirmation" % who["app"]
    r = s.post(url, None, token=who["token"])
    assert r.status == 409 and r.json["code"] == "cooling_off_running", r
    # The hold over (moved into the past), still no payout without the
    # borrower's confirmation.
    s.sql("UPDATE applications SET payout_due_at = payout_due_at - 86460000000"
          " WHERE id = '%s'" % who["app"])
    time.sleep(2.5)
    assert app_state(world, who) == "signed" and payout_row(world, who) is None
    assert provider_payouts(world, who) == []
    r = s.post(url, None, token=who["token"])
    assert r.status == 200 and r.json["payout_state"] == "confirmed", r
    assert wait_for(lambda: app_state(world, who) == "disbursed"), payout_row(world, who)
    again = s.post(url, None, token=who["token"])
    assert again.status == 409 and again.json["code"] == "application_not_signed", again
    rows = s.sql("SELECT outcome FROM audit_log WHERE operation = 'payout.confirm'"
                 " AND subject_id = '%s' ORDER BY seq" % who["sid"])
    assert [x[0] for x in rows] == ["denied", "success", "denied"]


def test_cancellation_during_the_hold(world):
    s = world["senim"]
    who = signed(world, BIG)
    r = s.post("/v1/me/applications/%s/cancellation" % who["app"], None, token=who["token"])
    assert r.status == 200 and r.json == {"application_id": who["app"],
                                          "state": "withdrawn"}, r
    s.sql("UPDATE applications SET payout_due_at = 0 WHERE id = '%s'" % who["app"])
    r = s.post("/v1/me/applications/%s/payout-confirmation" % who["app"], None,
               token=who["token"])
    assert r.status == 409 and r.json["code"] == "application_not_signed", r
    time.sleep(2.5)
    assert app_state(world, who) == "withdrawn" and provider_payouts(world, who) == []
    # another borrower's application is not found
    other = signed(world, BIG)
    r = s.post("/v1/me/applications/%s/cancellation" % who["app"], None,
               token=other["token"])
    assert r.status == 404 and r.json["code"] == "application_not_found", r


def test_a_lie_is_refused_and_nothing_opens(world):
    s = world["senim"]
    world["payments"].mode("lie", lie="other_amount")
    who = signed(world)
    assert wait_for(lambda: (payout_row(world, who) or [""])[0] == "refused"), \
        payout_row(world, who)
    assert payout_row(world, who)[2] == "wrong_subject"
    assert app_state(world, who) == "signed"
    assert s.sql("SELECT count(*) FROM loans WHERE application_id = '%s'"
                 % who["app"]) == [["0"]]
    reg = s.sql("SELECT outcome, reason FROM disclosures WHERE subject_id = '%s'"
                " AND recipient = 'payments'" % who["sid"])
    assert reg == [["failed", "wrong_subject"]]
    rows = s.sql("SELECT outcome FROM audit_log WHERE operation = 'payout.refuse'"
                 " AND subject_id = '%s'" % who["sid"])
    assert rows == [["denied"]]
    # support sees it (the application's payout has failed); others do not
    seen = failures(world)[who["app"]]
    assert seen["state"] == "refused" and seen["reason"] == "wrong_subject"
    assert failures(world, "underwriter")[who["app"]] == seen
    for role in ("admin", "dpo"):
        r = s.get("/v1/payouts/failed", token=world["staff"][role])
        assert r.status == 403, (role, r)
    assert s.get("/v1/payouts/failed", token=who["token"]).status in (401, 403)
    assert s.audit_rows("payout.list")
    # the money may have gone: the borrower cannot step back
    r = s.post("/v1/me/applications/%s/cancellation" % who["app"], None, token=who["token"])
    assert r.status == 409 and r.json["code"] == "payout_in_progress", r
    # refused for good: not sent again once the provider tells the truth
    world["payments"].mode("ok")
    time.sleep(2.5)
    assert payout_row(world, who)[0] == "refused"
    assert provider_payouts(world, who)[0]["requests"] == 1


def test_a_card_number_from_before_binding_is_never_sent(world):
    """payout/1 pays a card by the provider's token only; an application from
    before the card binding holds the card number the borrower typed, which
    never leaves: the payout fails at claim, nothing is sent, support sees
    why, and the borrower may step back (nothing was paid)."""
    s = world["senim"]
    who = signed_legacy_card(world)
    assert wait_for(lambda: (payout_row(world, who) or [""])[0] == "failed"), \
        payout_row(world, who)
    assert payout_row(world, who)[2] == "card_not_tokenised"
    assert provider_payouts(world, who) == []
    assert failures(world)[who["app"]]["reason"] == "card_not_tokenised"
    reg = s.sql("SELECT outcome, reason FROM disclosures WHERE subject_id = '%s'"
                " AND recipient = 'payments'" % who["sid"])
    assert reg == [["refused", "card_not_tokenised"]]
    r = s.post("/v1/me/applications/%s/cancellation" % who["app"], None, token=who["token"])
    assert r.status == 200 and r.json["state"] == "withdrawn", r
    # the payout ends with the application: out of support's list
    assert payout_row(world, who)[0] == "cancelled"
    assert who["app"] not in failures(world)


def test_failures_are_retried_and_pay_once(world):
    """The provider paid and lost its answer (500): the retry under the same
    key gets the payout made; one payout, one loan.  While it fails the
    borrower cannot confirm (no hold) and cannot cancel once it is sent."""
    s = world["senim"]
    world["payments"].control("POST", "payment", {"pay_then_fail": 1})
    world["payments"].mode("fail", fail_count=4, status=503)
    who = signed(world)
    assert wait_for(lambda: payout_row(world, who) is not None)
    r = s.post("/v1/me/applications/%s/payout-confirmation" % who["app"], None,
               token=who["token"])
    assert (r.status, r.json["code"]) in ((409, "payout_confirmation_not_needed"),
                                          (409, "application_not_signed")), r
    r = s.post("/v1/me/applications/%s/cancellation" % who["app"], None,
               token=who["token"])
    assert (r.status, r.json["code"]) in ((409, "payout_in_progress"),
                                          (409, "application_not_signed")), r
    assert wait_for(lambda: app_state(world, who) == "disbursed", 60), \
        payout_row(world, who)
    paid = provider_payouts(world, who)
    assert len(paid) == 1 and paid[0]["requests"] >= 2
    assert int(payout_row(world, who)[1]) >= 2
    assert s.sql("SELECT count(*) FROM loans WHERE application_id = '%s'"
                 % who["app"]) == [["1"]]


def test_a_crash_between_answer_and_commit_pays_once(world):
    """kill -9 while the provider is answering: the lease runs out, the next
    server sends the same key, the provider answers its first result, and
    the money goes once."""
    s = world["senim"]
    world["payments"].mode("slow", delay_ms=1000)
    who = signed(world)
    assert wait_for(lambda: provider_payouts(world, who), 20)
    s.kill9()
    assert app_state(world, who) == "signed"
    world["payments"].mode("ok")
    world["senim"] = start_senim(world, data_dir=s.data_dir, db=s.db)
    assert wait_for(lambda: app_state(world, who) == "disbursed", 60), \
        payout_row(world, who)
    paid = provider_payouts(world, who)
    assert len(paid) == 1, paid
    assert world["senim"].sql("SELECT count(*) FROM loans WHERE application_id = '%s'"
                              % who["app"]) == [["1"]]


def test_payout_acts_fail_closed_without_audit(world):
    """S4: while the audit record cannot be written, no act — the borrower's
    or staff's — changes anything (test_fail_closed.py names this test)."""
    s = world["senim"]
    who = signed(world, BIG)
    card = signed_legacy_card(world)
    assert wait_for(lambda: (payout_row(world, card) or [""])[0] == "failed"), \
        payout_row(world, card)
    before = whole_row(world, card)
    s.sql(block_audit_sql())
    try:
        for path in ("payout-confirmation", "cancellation"):
            r = s.post("/v1/me/applications/%s/%s" % (who["app"], path), None,
                       token=who["token"])
            assert r.status >= 500, (path, r)
        r = s.get("/v1/payouts/failed", token=world["staff"]["support"])
        assert r.status >= 500 and b"payouts" not in r.body, r
        for act in ("retry", "closure"):
            r = staff_act(world, card, act, reason="other")
            assert r.status >= 500, (act, r)
    finally:
        s.sql(unblock_audit_sql())
    assert app_state(world, who) == "signed"
    assert whole_row(world, card) == before
    r = s.post("/v1/me/applications/%s/cancellation" % who["app"], None, token=who["token"])
    assert r.status == 200, r
    assert world["senim"].get("/v1/payouts/failed",
                              token=world["staff"]["support"]).status == 200


# ---- the expiry of an unconfirmed payout ------------------------------------------

DAY_US = 86400 * 1000000


def audit_of(world, who, operation):
    return world["senim"].sql(
        "SELECT actor, object, outcome FROM audit_log WHERE operation = '%s'"
        " AND subject_id = '%s' ORDER BY seq" % (operation, who["sid"]))


def test_an_unconfirmed_payout_expires(world):
    """The hold over and 7 days (serve's default --payout-confirm-days)
    passed since payout_due_at without a confirmation: the pump withdraws the
    application, nothing is sent, and a late confirmation is told why.  No
    loan was made, so C2 holds none of the borrower's consents."""
    s = world["senim"]
    late, early = signed(world, BIG), signed(world, BIG)
    # The clocks moved by the data, as the hold's test does: `late` waited 7
    # days and a minute since its hold ended, `early` 6 days and 23 hours.
    s.sql("UPDATE applications SET payout_due_at = %d WHERE id = '%s'"
          % (int(time.time() * 1e6) - 7 * DAY_US - 60 * 1000000, late["app"]))
    s.sql("UPDATE applications SET payout_due_at = %d WHERE id = '%s'"
          % (int(time.time() * 1e6) - 7 * DAY_US + 3600 * 1000000, early["app"]))
    assert wait_for(lambda: app_state(world, late) == "withdrawn"), payout_row(world, late)
    assert payout_row(world, late)[:3] == ["cancelled", "0", "confirmation_expired"]
    assert provider_payouts(world, late) == []
    assert audit_of(world, late, "payout.expire") == [
        ["system:payout", "application:%s:reason:confirmation_expired" % late["app"],
         "success"]]
    # A late confirmation: a clear refusal, nothing changes.
    url = "/v1/me/applications/%s/payout-confirmation"
    r = s.post(url % late["app"], None, token=late["token"])
    assert r.status == 409 and r.json["code"] == "payout_confirmation_expired", r
    assert app_state(world, late) == "withdrawn" and provider_payouts(world, late) == []
    # Not yet 7 days: still awaited, and confirmable.
    assert app_state(world, early) == "signed" and payout_row(world, early) is None
    r = s.post(url % early["app"], None, token=early["token"])
    assert r.status == 200 and r.json["payout_state"] == "confirmed", r
    assert wait_for(lambda: app_state(world, early) == "disbursed"), payout_row(world, early)
    # C2: no loan was made; the bureau consent may be withdrawn.
    consents = s.get("/v1/me/consents", token=late["token"]).json["consents"]
    pkb = next(c for c in consents if c["kind"] == "credit_bureau_pkb"
               and c["status"] == "active")
    r = s.delete("/v1/me/consents/%s" % pkb["id"], token=late["token"])
    assert r.status == 200 and r.json["status"] == "withdrawn", r


def test_payout_confirm_days_is_checked(world):
    s = world["senim"]
    for bad in ("0", "366", "7x", ""):
        p = s.cli("serve", "--payout-confirm-days", bad, check=False)
        assert p.returncode == 2, (bad, p)
        assert b"--payout-confirm-days must be 1 to 365 days" in p.stderr, (bad, p.stderr)
    os.environ["SENIM_PAYOUT_CONFIRM_DAYS"] = "0"
    try:
        p = s.cli("serve", check=False)
    finally:
        del os.environ["SENIM_PAYOUT_CONFIRM_DAYS"]
    assert p.returncode == 2 and b"SENIM_PAYOUT_CONFIRM_DAYS must be" in p.stderr, p.stderr
    p = s.cli("serve", "--help")
    assert b"--payout-confirm-days N" in p.stdout and b"SENIM_PAYOUT_CONFIRM_DAYS" in p.stdout


# ---- staff's acts on a failed payout ----------------------------------------------


def staff_act(world, who_or_app, act, reason="provider_fixed", role="support"):
    app = who_or_app if isinstance(who_or_app, str) else who_or_app["app"]
    return world["senim"].post("/v1/payouts/%s/%s" % (app, act), {"reason": reason},
                               token=world["staff"][role])


def whole_row(world, who):
    return world["senim"].sql(
        "SELECT p.state, p.attempts, COALESCE(p.reason, ''), p.next_at, p.updated_at,"
        " a.state FROM payouts p JOIN applications a ON a.id = p.application_id"
        " WHERE p.application_id = '%s'" % who["app"])


def posts_of(world, who):
    return [r for r in world["payments"].requests("/v1/payouts")
            if (r["body"] or {}).get("operation_key") == key_of(who)]


def test_staff_retry_after_a_provider_refusal_pays_once(world):
    """The provider refused the POST (a 4xx: nothing was made): a retry by
    support sends it again under the same operation key and it pays once.
    A role outside loan_servicing, a bad reason and acts out of order are
    refused and change nothing."""
    s = world["senim"]
    world["payments"].mode("fail", fail_count=1, status=400)
    who = signed(world)
    assert wait_for(lambda: (payout_row(world, who) or [""])[0] == "failed"), \
        payout_row(world, who)
    assert payout_row(world, who)[2] == "provider_refused"
    assert provider_payouts(world, who) == []
    before = whole_row(world, who)
    # refused: other roles, the borrower, a reason outside the list
    for role in ("admin", "dpo"):
        r = staff_act(world, who, "retry", role=role)
        assert r.status == 403 and r.json["code"] == "forbidden_role", (role, r)
    r = s.post("/v1/payouts/%s/retry" % who["app"], {"reason": "provider_fixed"},
               token=who["token"])
    assert r.status in (401, 403), r
    for reason in ("", "Иванов не ответил", "provider_fixed "):
        r = staff_act(world, who, "retry", reason=reason)
        assert r.status == 422 and r.json["code"] == "validation_failed" \
            and r.json["field"] == "reason", (reason, r)
    r = s.post("/v1/payouts/%s/retry" % who["app"], {}, token=world["staff"]["support"])
    assert r.status == 422 and r.json["field"] == "reason", r
    time.sleep(2.5)
    assert whole_row(world, who) == before
    assert not audit_of(world, who, "payout.retry")
    # the retry: the same key, paid once, a loan
    r = staff_act(world, who, "retry", reason="provider_fixed")
    assert r.status == 200 and r.json == {"application_id": who["app"], "state": "sending",
                                          "reason": "provider_fixed"}, r
    assert wait_for(lambda: app_state(world, who) == "disbursed"), payout_row(world, who)
    paid = provider_payouts(world, who)
    assert len(paid) == 1 and paid[0]["requests"] == 1 and paid[0]["status"] == "completed"
    posts = posts_of(world, who)
    assert len(posts) == 2 and {p["headers"]["Idempotency-Key"] for p in posts} == \
        {key_of(who)}, posts
    assert s.sql("SELECT count(*) FROM loans WHERE application_id = '%s'"
                 % who["app"]) == [["1"]]
    rows = audit_of(world, who, "payout.retry")
    assert len(rows) == 1 and rows[0][0].startswith("staff:"), rows
    assert [x[1:] for x in rows] == [["application:%s:reason:provider_fixed" % who["app"],
                                      "success"]]
    # out of order: a paid payout is neither retried nor closed; no such payout
    after = whole_row(world, who)
    for act in ("retry", "closure"):
        r = staff_act(world, who, act, role="underwriter")
        assert r.status == 409 and r.json["code"] == "payout_not_failed" \
            and r.json["state"] == "paid", (act, r)
        r = staff_act(world, "app_" + "A" * 22, act)
        assert r.status == 404 and r.json["code"] == "payout_not_found", (act, r)
        r = staff_act(world, "nonsense", act)
        assert r.status == 404 and r.json["code"] == "payout_not_found", (act, r)
    assert whole_row(world, who) == after
    assert len(provider_payouts(world, who)) == 1


def test_staff_closure_withdraws_a_payout_that_paid_nothing(world):
    """A card payout failed at claim (nothing sent): support closes it, the
    application is withdrawn, nothing lent, out of the failed list; a second
    closure or a retry is refused and changes nothing."""
    s = world["senim"]
    who = signed_legacy_card(world)
    assert wait_for(lambda: (payout_row(world, who) or [""])[0] == "failed"), \
        payout_row(world, who)
    r = staff_act(world, who, "closure", reason="destination_unusable", role="underwriter")
    assert r.status == 200 and r.json == {"application_id": who["app"],
                                          "state": "cancelled",
                                          "reason": "destination_unusable"}, r
    assert app_state(world, who) == "withdrawn"
    assert payout_row(world, who)[0] == "cancelled"
    assert who["app"] not in failures(world)
    assert provider_payouts(world, who) == []
    assert s.sql("SELECT count(*) FROM loans WHERE application_id = '%s'"
                 % who["app"]) == [["0"]]
    assert [x[1:] for x in audit_of(world, who, "payout.close")] == [
        ["application:%s:reason:destination_unusable" % who["app"], "success"]]
    after = whole_row(world, who)
    for act in ("closure", "retry"):
        r = staff_act(world, who, act)
        assert r.status == 409 and r.json["code"] == "payout_not_failed" \
            and r.json["state"] == "cancelled", (act, r)
    r = s.post("/v1/me/applications/%s/cancellation" % who["app"], None, token=who["token"])
    assert r.status == 409 and r.json["code"] == "application_not_signed", r
    assert whole_row(world, who) == after


def test_money_that_may_have_gone_is_asked_about_first(world):
    """A lie is neither retried nor closed.  After attempts_exhausted (made
    here from the lie's row: the provider holds the payout, its answer was
    lost) closure is refused, and a retry reads the provider's status first:
    it says completed, so the loan opens without a second POST."""
    s = world["senim"]
    world["payments"].mode("lie", lie="other_amount")
    who = signed(world)
    assert wait_for(lambda: (payout_row(world, who) or [""])[0] == "refused"), \
        payout_row(world, who)
    world["payments"].mode("ok")
    before = whole_row(world, who)
    r = staff_act(world, who, "retry")
    assert r.status == 409 and r.json["code"] == "payout_retry_futile" \
        and r.json["reason"] == "wrong_subject", r
    r = staff_act(world, who, "closure", reason="provider_confirmed_unpaid")
    assert r.status == 409 and r.json["code"] == "payout_may_have_been_paid" \
        and r.json["reason"] == "wrong_subject", r
    assert whole_row(world, who) == before
    assert [x[2] for x in audit_of(world, who, "payout.retry") +
            audit_of(world, who, "payout.close")] == ["denied", "denied"]
    # attempts_exhausted: the money may have gone
    s.sql("UPDATE payouts SET state = 'failed', reason = 'attempts_exhausted'"
          " WHERE application_id = '%s'" % who["app"])
    before = whole_row(world, who)
    r = staff_act(world, who, "closure", reason="provider_confirmed_unpaid")
    assert r.status == 409 and r.json["code"] == "payout_may_have_been_paid" \
        and r.json["reason"] == "attempts_exhausted", r
    assert whole_row(world, who) == before
    r = staff_act(world, who, "retry", reason="provider_confirmed_unpaid")
    assert r.status == 200 and r.json["state"] == "accepted", r
    assert wait_for(lambda: app_state(world, who) == "disbursed"), payout_row(world, who)
    assert len(posts_of(world, who)) == 1
    reads = world["payments"].requests("/v1/payouts/" + key_of(who))
    assert reads and all(x["method"] == "GET" for x in reads)
    paid = provider_payouts(world, who)
    assert len(paid) == 1 and paid[0]["requests"] == 1
    assert s.sql("SELECT count(*) FROM loans WHERE application_id = '%s'"
                 % who["app"]) == [["1"]]
