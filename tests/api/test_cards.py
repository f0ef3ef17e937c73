"""Card payouts through the provider's card binding (issue 12; U2;
docs/payout.md "Card payouts", docs/connectors/payment-provider.md "The card
binding").

The card number never reaches senim (PCI DSS): the borrower starts a binding
(POST /v1/me/cards), types the card on the provider's page (the peer's
control endpoint stands in for the borrower there), and senim reads the
result — the provider's token, kept sealed, and the masked number.  A card
application names the bound card, and the pump pays it by the token."""
import json
import time

from test_fail_closed import block_audit_sql, unblock_audit_sql
from test_c2_walk import (app_state, bind_card, failures, finish_page, new_borrower,
                          payout_row, provider_ok, provider_payouts, signed_card,
                          start_binding, wait_for, world)  # noqa: F401 (fixtures)

PAN = "4400430000001234"
MASKED = "440043******1234"


def cards_of(world, who):
    r = world["senim"].get("/v1/me/cards", token=who["token"])
    assert r.status == 200, r
    return {c["id"]: c for c in r.json["cards"]}


def binding_of(world, card):
    return [b for b in world["payments"].control("GET", "card-bindings")["bindings"]
            if b["binding_key"] == "cbd_" + card[4:]][0]


def register_of(world, who):
    return world["senim"].sql(
        "SELECT direction, outcome, COALESCE(reason, '') FROM disclosures"
        " WHERE subject_id = '%s' AND recipient = 'payments' ORDER BY at, id"
        % who["sid"])


def audit_ops(world, who, prefix="card."):
    return [r for r in world["senim"].sql(
        "SELECT operation, object, outcome FROM audit_log WHERE subject_id = '%s'"
        " AND operation LIKE '%s%%' ORDER BY seq" % (who["sid"], prefix))]


def card_row(world, card):
    return world["senim"].sql("SELECT state, COALESCE(reason, '') FROM cards"
                              " WHERE id = '%s'" % card)[0]


def test_a_card_application_is_paid_by_the_token(world):
    s = world["senim"]
    who = new_borrower(world)
    card = start_binding(world, who)
    # Before the borrower finishes the page the card is pending, and an
    # application cannot name it yet.
    r = s.get("/v1/me/cards/" + card, token=who["token"])
    assert r.status == 200 and r.json["state"] == "pending" and r.json["page_url"], r
    assert "masked_number" not in r.json
    r = s.post("/v1/me/applications", {
        "product": "ctr", "amount_tiyn": 5000000, "term_days": 90,
        "schedule_method": "annuity", "payout_kind": "card", "payout_card": card},
        token=who["token"])
    assert r.status == 422 and r.json["code"] == "payout_card_not_bound", r
    finish_page(world, card, pan=PAN, expiry="2029-04")
    r = s.get("/v1/me/cards/" + card, token=who["token"])
    assert r.status == 200, r
    assert r.json["state"] == "bound" and r.json["masked_number"] == MASKED \
        and r.json["expiry"] == "2029-04", r.json
    assert set(r.json) == {"id", "state", "masked_number", "expiry", "created_at",
                           "updated_at"}
    token = binding_of(world, card)["token"]
    assert token.startswith("tok_")
    listed = cards_of(world, who)[card]
    assert listed["masked_number"] == MASKED and "token" not in listed
    # application -> payout by the token -> loan open
    who = signed_card(world, who=who, card=card)
    assert wait_for(lambda: app_state(world, who) == "disbursed"), payout_row(world, who)
    st, _, _, loan = payout_row(world, who)
    assert st == "paid" and loan.startswith("lon_")
    paid = provider_payouts(world, who)
    assert len(paid) == 1 and paid[0]["destination_type"] == "card_token" \
        and paid[0]["status"] == "completed", paid
    sent = [r for r in world["payments"].requests("/v1/payouts")
            if (r["body"] or {}).get("operation_key") == "pyo_" + who["app"][4:]]
    assert sent and sent[0]["body"]["destination"] == {"type": "card_token",
                                                       "token": token}
    # The provider saw no card number from senim: the binding's start is the
    # binding key alone, and nothing senim sent holds the card's digits.
    starts = [r for r in world["payments"].requests("/v1/card-bindings")
              if r["method"] == "POST" and r["body"]["binding_key"] == "cbd_" + card[4:]]
    assert [r["body"] for r in starts] == [{"binding_key": "cbd_" + card[4:]}]
    everything = json.dumps(world["payments"].requests())
    assert PAN not in everything and PAN[:6] + "\\u002a" not in everything
    assert MASKED not in everything and "holder_iin" not in json.dumps(sent)
    # Nothing of the card in the clear in the database, the audit log or
    # the register; the token only sealed.
    dump = json.dumps(s.sql("SELECT * FROM cards WHERE id = '%s'" % card)) + \
        json.dumps(s.sql("SELECT * FROM audit_log")) + \
        json.dumps(s.sql("SELECT * FROM disclosures"))
    for needle in (PAN, MASKED, "1234", token):
        assert needle not in dump, needle
    assert token not in s.read_log()
    # On the register as a payout is: the binding out and its result in,
    # then the payout.
    assert register_of(world, who) == [["out", "delivered", ""], ["in", "received", ""],
                                       ["out", "delivered", ""]]
    ops = [(op, out) for op, _, out in audit_ops(world, who)]
    assert ops[:2] == [("card.start", "success"), ("card.read", "success")]
    assert ("card.bind", "success") in ops


def test_a_binding_the_provider_declined(world):
    s = world["senim"]
    who = new_borrower(world)
    card = start_binding(world, who)
    finish_page(world, card, outcome="declined")
    r = s.get("/v1/me/cards/" + card, token=who["token"])
    assert r.status == 200 and r.json["state"] == "failed" \
        and r.json["reason"] == "card_declined", r
    assert "masked_number" not in r.json and "page_url" not in r.json
    assert card_row(world, card) == ["failed", "card_declined"]
    assert ("card.fail", "failed") in [(o, x) for o, _, x in audit_ops(world, who)]
    r = s.post("/v1/me/applications", {
        "product": "ctr", "amount_tiyn": 5000000, "term_days": 90,
        "schedule_method": "annuity", "payout_kind": "card", "payout_card": card},
        token=who["token"])
    assert r.status == 422 and r.json["code"] == "payout_card_not_bound", r
    # the borrower may try again: a new binding, bound this time
    again = bind_card(world, who)
    assert again != card and cards_of(world, who)[again]["state"] == "bound"


def test_a_card_of_another_borrower_is_refused(world):
    s = world["senim"]
    owner = new_borrower(world)
    card = bind_card(world, owner)
    other = new_borrower(world, surname="Чужов")
    r = s.get("/v1/me/cards/" + card, token=other["token"])
    assert r.status == 404 and r.json["code"] == "card_not_found", r
    assert card not in cards_of(world, other)
    r = s.post("/v1/me/applications", {
        "product": "ctr", "amount_tiyn": 5000000, "term_days": 90,
        "schedule_method": "annuity", "payout_kind": "card", "payout_card": card},
        token=other["token"])
    assert r.status == 422 and r.json["code"] == "payout_card_not_bound", r
    assert s.sql("SELECT COUNT(*) FROM applications WHERE subject_id = '%s'"
                 % other["sid"]) == [["0"]]
    # staff reach no borrower's cards route; nobody without a token does
    for path in ("/v1/me/cards", "/v1/me/cards/" + card):
        assert s.get(path, token=world["staff"]["support"]).status == 403
        assert s.get(path).status == 401
    assert s.post("/v1/me/cards", None, token=world["staff"]["support"]).status == 403
    r = s.get("/v1/me/cards/crd_nonsense", token=other["token"])
    assert r.status == 404 and r.json["code"] == "card_not_found"


def test_the_provider_lying_on_a_binding(world):
    s = world["senim"]
    pay = world["payments"]
    who = new_borrower(world)
    # It lies about the result (the whole card number as the masked one):
    # nothing of the answer is kept and the card stays pending; once the
    # provider tells the truth, it binds.
    card = start_binding(world, who)
    finish_page(world, card, pan=PAN)
    pay.mode("lie", lie="full_pan")
    r = s.get("/v1/me/cards/" + card, token=who["token"])
    assert r.status == 200 and r.json["state"] == "pending", r
    assert PAN not in json.dumps(s.sql("SELECT * FROM cards"))
    pay.mode("ok")
    r = s.get("/v1/me/cards/" + card, token=who["token"])
    assert r.status == 200 and r.json["state"] == "bound" \
        and r.json["masked_number"] == MASKED, r
    # An answer about another binding is never trusted: the binding ends.
    card2 = start_binding(world, who)
    finish_page(world, card2)
    pay.mode("wrong_person")
    r = s.get("/v1/me/cards/" + card2, token=who["token"])
    assert r.status == 200 and r.json["state"] == "failed" \
        and r.json["reason"] == "recipient_wrong_subject", r
    pay.mode("ok")
    assert card_row(world, card2)[0] == "failed"
    assert PAN not in json.dumps(s.sql("SELECT * FROM audit_log"))
    # A page URL that is not http(s) is never handed to the borrower.
    pay.mode("lie", lie="bad_url")
    r = s.post("/v1/me/cards", None, token=who["token"])
    assert r.status == 502 and r.json["code"] == "recipient_invalid_answer", r
    assert "javascript" not in r.body.decode()


def test_a_token_the_provider_rejects_fails_the_payout(world):
    """A card the provider bound but will not pay (its token rejected at the
    payout): the payout fails provider_rejected, nothing is lent."""
    who = signed_card(world, payout="decline")
    assert wait_for(lambda: (payout_row(world, who) or [""])[0] == "failed"), \
        payout_row(world, who)
    assert payout_row(world, who)[2] == "provider_rejected"
    assert app_state(world, who) == "signed"
    assert failures(world)[who["app"]]["reason"] == "provider_rejected"


def test_cards_fail_closed_without_audit(world):
    """S4: while the audit record cannot be written, no card route answers
    with a card or changes one, and nothing reaches the provider
    (test_fail_closed.py names this test); once it can, the same calls
    succeed."""
    s = world["senim"]
    who = new_borrower(world)
    bound = bind_card(world, who)
    pending = start_binding(world, who)
    finish_page(world, pending)  # bound at the provider, not yet read
    before = s.sql("SELECT id, state, updated_at FROM cards ORDER BY id")
    sent = len(world["payments"].requests("/v1/card-bindings"))
    s.sql(block_audit_sql())
    try:
        answers = [s.post("/v1/me/cards", None, token=who["token"]),
                   s.get("/v1/me/cards", token=who["token"]),
                   s.get("/v1/me/cards/" + bound, token=who["token"])]
    finally:
        s.sql(unblock_audit_sql())
    for r in answers:
        assert r.status >= 500, r
        assert r.header("Content-Type") == "application/problem+json"
        assert bound not in r.body.decode() and MASKED not in r.body.decode()
    assert s.sql("SELECT id, state, updated_at FROM cards ORDER BY id") == before
    assert len(world["payments"].requests("/v1/card-bindings")) == sent
    r = s.get("/v1/me/cards/" + pending, token=who["token"])
    assert r.status == 200 and r.json["state"] == "bound", r
    assert s.post("/v1/me/cards", None, token=who["token"]).status == 201
    assert s.get("/v1/me/cards", token=who["token"]).status == 200


def test_a_destroyed_borrowers_cards_are_gone(world):
    """Retention's destruction (vault/shred.c) takes the payout cards with
    the borrower's key: the token and the masked number are not left
    behind, even sealed."""
    from test_retention import SHIPPED, day
    s = world["senim"]
    who = new_borrower(world)
    card = bind_card(world, who)
    for c in s.get("/v1/me/consents", token=who["token"]).json["consents"]:
        if c.get("state", "active") == "active":
            r = s.delete("/v1/me/consents/" + c["id"], token=who["token"])
            assert r.status == 200, r
    p = s.cli("retention", "run", "--file", SHIPPED, "--date", day(31))
    assert "%s consent_withdrawn destroy" % who["sid"] in p.stdout.decode(), p.stdout
    assert s.sql("SELECT COUNT(*) FROM cards WHERE id = '%s'" % card) == [["0"]]


def test_the_provider_failing_or_slow_on_a_binding(world):
    """Last in the file: its failures would open the provider's circuit for
    the tests after it.  The pause first lets the breaker's window (10 s)
    forget the failures of the tests before."""
    s = world["senim"]
    pay = world["payments"]
    who = new_borrower(world)
    time.sleep(10.5)
    # It is slow past the deadline: a timeout, the card failed.
    pay.mode("slow", delay_ms=2500)
    r = s.post("/v1/me/cards", None, token=who["token"])
    assert r.status == 504 and r.json["code"] == "recipient_timeout", r
    # It fails: the start answers the exchange's problem, the card failed,
    # on the register as failed.
    pay.mode("fail", status=500)
    r = s.post("/v1/me/cards", None, token=who["token"])
    assert r.status == 503 and r.json["code"] == "recipient_unavailable", r
    assert r.header("Content-Type") == "application/problem+json"
    pay.mode("ok")
    reasons = sorted((c["state"], c["reason"]) for c in cards_of(world, who).values())
    assert reasons == [("failed", "recipient_timeout"), ("failed", "recipient_unavailable")]
    assert [x[:2] for x in register_of(world, who)] == [["out", "failed"]] * 2
    assert [(o, x) for o, _, x in audit_ops(world, who)][:4] == [
        ("card.start", "success"), ("card.fail", "failed"),
        ("card.start", "success"), ("card.fail", "failed")]
