"""Card payouts through the provider's card binding (issue 12; U2;
docs/payout.md "Card payouts", docs/connectors/payment-provider.md "The card
binding").

The card number never reaches senim (PCI DSS): the borrower starts a binding
(POST /v1/me/cards), types the card on the provider's page (the peer's
control endpoint stands in for the borrower there), and senim reads the
result — the provider's token, kept sealed, and the masked number.  A card
application names the bound card, and the pump pays it by the token."""
import json
import os
import tempfile
import time

from senim_harness import TMP

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
    # The last four digits as a value of their own: bare, they would match
    # any microsecond timestamp that happens to hold them.
    for needle in (PAN, MASKED, '"1234"', "*1234", token):
        assert needle not in dump, needle
    assert token not in s.read_log()
    # On the register as a payout is: the binding out and its result in,
    # then the payout.
    assert register_of(world, who) == [["out", "delivered", ""], ["in", "received", ""],
                                       ["out", "delivered", ""]]
    ops = [(op, out) for op, _, out in audit_ops(world, who)]
    assert ops[:2] == [("card.start", "success"), ("card.read", "success")]
    assert ("card.bind", "success") in ops


def card_removed_at_provider(world, card):
    return binding_of(world, card)["status"] == "removed" and \
        binding_of(world, card)["token"] is None


def test_the_access_package_holds_the_cards(world):
    """R1: the package names each card — id, state, the masked number and
    expiry, when made and bound, the provider — never the token, in the
    signed JSON and in the signed ru/kk HTML, from one query."""
    s = world["senim"]
    who = new_borrower(world)
    bound = bind_card(world, who, pan=PAN, expiry="2031-07")
    pending = start_binding(world, who)
    token = binding_of(world, bound)["token"]
    r = s.post("/v1/subjects/%s/package" % who["sid"], token=world["staff"]["dpo"])
    assert r.status == 200, r
    cards = {c["card_id"]: c for c in r.json["cards"]}
    assert set(cards) == {bound, pending}
    b = cards[bound]
    assert b["state"] == "bound" and b["masked_number"] == MASKED \
        and b["expiry"] == "2031-07" and b["provider"] == "payments", b
    assert b["created_at"] and b["bound_at"] and b["updated_at"], b
    assert set(b) == {"card_id", "state", "reason", "masked_number", "expiry",
                      "created_at", "bound_at", "updated_at", "provider"}
    p = cards[pending]
    assert p["state"] == "pending" and p["masked_number"] is None \
        and p["bound_at"] is None and p["provider"] == "payments", p
    assert token not in r.body.decode() and PAN not in r.body.decode()
    html = s.get("/v1/subjects/%s/package" % who["sid"], token=world["staff"]["dpo"])
    assert html.status == 200, html
    text = html.body.decode()
    assert "Банковские карты для выплаты займа" in text \
        and "Қарызды төлеуге арналған банк карталары" in text
    assert MASKED in text and bound in text and "2031-07" in text
    assert token not in text and PAN not in text
    # both signed as the rest of the package: the checker takes them
    d = tempfile.mkdtemp(prefix="cardpkg-", dir=TMP)
    for name, data in (("p.json", r.body), ("p.html", html.body)):
        path = os.path.join(d, name)
        with open(path, "wb") as f:
            f.write(data)
        v = s.cli("package", "verify", path, check=False)
        assert v.returncode == 0 and b"valid" in v.stdout, v.stdout
        tampered = data.replace(MASKED.encode(), b"440043******9999", 1)
        with open(path, "wb") as f:
            f.write(tampered)
        assert s.cli("package", "verify", path, check=False).returncode == 1


def test_a_card_is_removed(world):
    """DELETE /v1/me/cards/{id}: unbound at the provider, then the card and
    its sealed token gone from senim; audited, on the register."""
    s = world["senim"]
    who = new_borrower(world)
    card = bind_card(world, who)
    keep = bind_card(world, who)
    r = s.delete("/v1/me/cards/" + card, token=who["token"])
    assert r.status == 204, r
    assert card_removed_at_provider(world, card)
    assert s.sql("SELECT COUNT(*) FROM cards WHERE id = '%s'" % card) == [["0"]]
    r = s.get("/v1/me/cards/" + card, token=who["token"])
    assert r.status == 404 and r.json["code"] == "card_not_found", r
    assert set(cards_of(world, who)) == {keep}
    unbinds = [x for x in world["payments"].requests("/v1/card-bindings/cbd_" + card[4:])
               if x["method"] == "DELETE"]
    assert len(unbinds) == 1 and not unbinds[0]["body"], unbinds
    # the other card is untouched, at the provider too
    assert binding_of(world, keep)["status"] == "bound"
    ops = [(o, x) for o, obj, x in audit_ops(world, who) if obj == "card:" + card]
    assert ops[-2:] == [("card.unbind", "success"), ("card.remove", "success")], ops
    # the unbinding on the register as the start is: out, delivered
    assert register_of(world, who)[-1] == ["out", "delivered", ""]
    # gone: a second removal finds nothing, and the package no longer shows it
    r = s.delete("/v1/me/cards/" + card, token=who["token"])
    assert r.status == 404 and r.json["code"] == "card_not_found", r
    pkg = s.post("/v1/subjects/%s/package" % who["sid"], token=world["staff"]["dpo"])
    assert [c["card_id"] for c in pkg.json["cards"]] == [keep]
    assert ("card.remove", "card:" + card, "success") in \
        [(a["operation"], a["object"], a["outcome"]) for a in pkg.json["audit"]]
    # an application cannot name the removed card
    r = s.post("/v1/me/applications", {
        "product": "ctr", "amount_tiyn": 5000000, "term_days": 90,
        "schedule_method": "annuity", "payout_kind": "card", "payout_card": card},
        token=who["token"])
    assert r.status == 422 and r.json["code"] == "payout_card_not_bound", r
    # A pending binding is ended at the provider too; a failed card has
    # nothing there and goes at once.
    pending = start_binding(world, who)
    assert s.delete("/v1/me/cards/" + pending, token=who["token"]).status == 204
    assert binding_of(world, pending)["status"] == "removed"
    failed = start_binding(world, who)
    finish_page(world, failed, outcome="declined")
    assert s.get("/v1/me/cards/" + failed, token=who["token"]).json["state"] == "failed"
    sent = len(world["payments"].requests())
    assert s.delete("/v1/me/cards/" + failed, token=who["token"]).status == 204
    assert len(world["payments"].requests()) == sent
    assert set(cards_of(world, who)) == {keep}


def test_a_card_a_signed_loan_awaits_cannot_be_removed(world):
    """409 card_in_use while an application naming the card is signed and
    not yet paid out; once paid out, the card may go."""
    s = world["senim"]
    # a payout the provider rejected: the application stays signed
    who = signed_card(world, payout="decline")
    assert wait_for(lambda: (payout_row(world, who) or [""])[0] == "failed"), \
        payout_row(world, who)
    assert app_state(world, who) == "signed"
    sent = len(world["payments"].requests())
    for lang, word in (("ru", "Карта"), ("kk", "Карта"), ("en", "Card")):
        r = s.delete("/v1/me/cards/" + who["card"], token=who["token"],
                     headers={"Accept-Language": lang})
        assert r.status == 409 and r.json["code"] == "card_in_use", r
        assert r.header("Content-Type") == "application/problem+json"
        assert word in r.json["title"], r.json
    assert len(world["payments"].requests()) == sent  # nothing asked
    assert card_row(world, who["card"])[0] == "bound"
    assert binding_of(world, who["card"])["status"] == "bound"
    assert ["card.remove", "card:" + who["card"], "denied"] in audit_ops(world, who)
    # paid out: free to go
    paid = signed_card(world)
    assert wait_for(lambda: app_state(world, paid) == "disbursed"), payout_row(world, paid)
    r = s.delete("/v1/me/cards/" + paid["card"], token=paid["token"])
    assert r.status == 204, r


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
    r = s.delete("/v1/me/cards/" + card, token=other["token"])
    assert r.status == 404 and r.json["code"] == "card_not_found", r
    assert card_row(world, card)[0] == "bound"
    assert binding_of(world, card)["status"] == "bound"
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
    assert s.delete("/v1/me/cards/" + card, token=world["staff"]["support"]).status == 403
    assert s.delete("/v1/me/cards/" + card).status == 401
    r = s.delete("/v1/me/cards/crd_nonsense", token=other["token"])
    assert r.status == 404 and r.json["code"] == "card_not_found"
    assert card_row(world, card)[0] == "bound"
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
                   s.get("/v1/me/cards/" + bound, token=who["token"]),
                   s.delete("/v1/me/cards/" + bound, token=who["token"])]
    finally:
        s.sql(unblock_audit_sql())
    for r in answers:
        assert r.status >= 500, r
        assert r.header("Content-Type") == "application/problem+json"
        assert bound not in r.body.decode() and MASKED not in r.body.decode()
    assert s.sql("SELECT id, state, updated_at FROM cards ORDER BY id") == before
    assert len(world["payments"].requests("/v1/card-bindings")) == sent
    assert not [x for x in world["payments"].requests("/v1/card-bindings/cbd_" + bound[4:])
                if x["method"] == "DELETE"]
    assert binding_of(world, bound)["status"] == "bound"
    r = s.get("/v1/me/cards/" + pending, token=who["token"])
    assert r.status == 200 and r.json["state"] == "bound", r
    assert s.post("/v1/me/cards", None, token=who["token"]).status == 201
    assert s.get("/v1/me/cards", token=who["token"]).status == 200
    assert s.delete("/v1/me/cards/" + bound, token=who["token"]).status == 204


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
    """Last in the file but the unbinding's: its failures would open the
    provider's circuit for the tests after it.  The pause first lets the breaker's window (10 s)
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


def test_the_provider_failing_or_lying_on_an_unbinding(world):
    """After the binding's failures, with its own pause (the breaker's
    window): a provider that fails, is slow, lies or answers about another
    binding leaves the card bound in senim and answers the exchange's
    problem; asked again once it answers, the card goes."""
    s = world["senim"]
    pay = world["payments"]
    who = new_borrower(world)
    time.sleep(10.5)
    other, lied, failing = (bind_card(world, who) for _ in range(3))
    for card, mode, code in ((other, "wrong_person", "recipient_wrong_subject"),
                             (lied, "lie", "recipient_invalid_answer")):
        pay.mode(mode)
        r = s.delete("/v1/me/cards/" + card, token=who["token"])
        pay.mode("ok")
        assert r.status == 502 and r.json["code"] == code, (mode, r)
        assert r.header("Content-Type") == "application/problem+json"
        assert card_row(world, card)[0] == "bound"
        assert register_of(world, who)[-1][:2] == ["out", "failed"]
        assert audit_ops(world, who)[-1] == ["card.remove", "card:" + card, "failed"]
    # The lie kept the binding (its answer said "bound"); asked again, the
    # provider removes it and so does senim.
    assert binding_of(world, lied)["status"] == "bound"
    assert s.delete("/v1/me/cards/" + lied, token=who["token"]).status == 204
    assert binding_of(world, lied)["status"] == "removed"
    # It is slow past the deadline, then it fails: the card stays bound.
    pay.mode("slow", delay_ms=2500)
    r = s.delete("/v1/me/cards/" + failing, token=who["token"])
    pay.mode("ok")
    assert r.status == 504 and r.json["code"] == "recipient_timeout", r
    pay.mode("fail", status=500)
    r = s.delete("/v1/me/cards/" + failing, token=who["token"])
    pay.mode("ok")
    assert r.status == 503 and r.json["code"] == "recipient_unavailable", r
    assert r.header("Content-Type") == "application/problem+json"
    # In senim the card stays bound (the slow call may have ended the binding
    # at the provider, its answer lost: the next removal finds it gone).
    assert card_row(world, failing)[0] == "bound"
    assert s.get("/v1/me/cards/" + failing, token=who["token"]).json["state"] == "bound"
    assert [x[:2] for x in register_of(world, who)][-2:] == [["out", "failed"]] * 2
    assert [x for x in audit_ops(world, who, "card.remove")][-2:] == \
        [["card.remove", "card:" + failing, "failed"]] * 2
