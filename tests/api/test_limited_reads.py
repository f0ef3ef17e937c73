"""R5 on the borrower's servicing reads (issue 13; docs/rights.md "R5 on
access"): while the borrower's own access is limited by law, GET
/v1/me/consents and GET /v1/me/applications (and /{id}) answer a limited
view — ids, states, amounts, terms, dates, policy versions; no receipt, no
payout, no decision, no C4 list — marked `limited` with the one text of the
access request's `limited_by_law` answer, byte-identical whatever the
ground, audited `limited`; the acts (sign, confirm the payout, cancel, pay,
withdraw a consent) and the loans and requests reads keep serving."""
import time

from test_c2_walk import BIG, app_state, payout_row, signed, wait_for, world  # noqa: F401
from test_contracts import accept, approved, code_of, sign

LIMITED_RU = ("Предоставить эти сведения нельзя: доступ к ним ограничен в случаях, "
              "установленных законом.")
LIMITED_EN = ("This information cannot be provided: access to it is limited in the "
              "cases the law sets.")
GROUNDS = (("aml_cft", "191-IV/art.13"), ("court_order", "case-3-2-26"))
CONSENT_KEYS = {"id", "kind", "policy_version", "status", "granted_at", "withdrawn_at"}
APPLICATION_KEYS = {"id", "product", "amount_tiyn", "term_days", "schedule_method",
                    "state", "created_at", "updated_at"}


def limit(world, sid, ground, reference):
    r = world["senim"].post(f"/v1/subjects/{sid}/access-limit",
                            {"ground": ground, "reference": reference},
                            token=world["staff"]["dpo"])
    assert r.status == 200 and r.json["limited"] is True, r


def lift(world, sid):
    r = world["senim"].delete(f"/v1/subjects/{sid}/access-limit",
                              token=world["staff"]["dpo"])
    assert r.status == 200 and r.json["limited"] is False, r


def reads(world, who, lang=None):
    """The three reads, raw: consents, the list, the one application."""
    s = world["senim"]
    headers = {"Accept-Language": lang} if lang else {}
    out = []
    for path in ("/v1/me/consents", "/v1/me/applications",
                 "/v1/me/applications/" + who["app"]):
        r = s.request("GET", path, token=who["token"], headers=headers)
        assert r.status == 200, r
        out.append(r)
    return out


def distinctive(who, full):
    """Values the full answers show that a limited borrower may not see:
    the subject id and each receipt's id and signature (the receipts name
    recipients and the borrower), the payout and the decision."""
    consents, _, one = full
    values = [who["sid"].encode(), b'"receipt"', b'"recipients"', b'"pii_principal_id"',
              b'"payout"', b'"last4"', b'"decision"', b'"reasons"', b'"channel"',
              b'"language"']
    for c in consents.json["consents"]:
        values.append(c["receipt"]["receipt_id"].encode())
        values.append(c["receipt"]["signature"]["value"].encode())
    values.append(('"%s"' % one.json["payout"]["last4"]).encode())
    return values


def test_consents_and_applications_are_limited_alike_for_every_ground(world):
    s = world["senim"]
    who = signed(world, BIG)  # signed, held by the cooling-off: nothing moves
    g = s.post("/v1/me/consents", {"kind": "marketing_sms", "channel": "web"},
               token=who["token"])
    assert g.status == 201, g
    full = reads(world, who)
    assert "limited" not in full[0].json and "limited" not in full[2].json
    assert "decision" in full[2].json and "payout" in full[2].json
    secret = distinctive(who, full)
    for v in secret:  # each is there unlimited: the scan below means something
        assert any(v in r.body for r in full), v
    bodies = []
    for ground, ref in GROUNDS:
        limit(world, who["sid"], ground, ref)
        seen = reads(world, who)
        for r in seen:
            leaked = [v for v in secret if v in r.body]
            assert not leaked, (r.body, leaked)
            assert ground.encode() not in r.body and ref.encode() not in r.body
            assert r.json["limited"] is True, r
            assert r.json["limited_reason"] == {"code": "limited_by_law",
                                                "text": LIMITED_RU}, r
        consents, listing, one = (r.json for r in seen)
        assert len(consents["consents"]) == len(full[0].json["consents"])
        for c in consents["consents"]:
            assert set(c) == CONSENT_KEYS, c
        mine = [a for a in listing["applications"] if a["id"] == who["app"]]
        assert len(mine) == 1 and set(mine[0]) == APPLICATION_KEYS, listing
        assert set(one) == APPLICATION_KEYS | {"limited", "limited_reason"}, one
        assert one["state"] == "signed" and one["amount_tiyn"] == BIG
        # The request's language, one text for every ground.
        en = reads(world, who, "en")
        assert all(r.json["limited_reason"]["text"] == LIMITED_EN for r in en)
        bodies.append([r.body for r in seen])
        lift(world, who["sid"])
    # One view whatever the ground: the same bytes.
    assert bodies[0] == bodies[1]
    # Lifted: the full answers again, unchanged.
    assert [r.body for r in reads(world, who)] == [r.body for r in full]
    # Audited "limited", never the ground.
    for op in ("consent.list", "application.self_read"):
        rows = s.sql("SELECT outcome, object, categories, purpose FROM audit_log"
                     f" WHERE operation = '{op}' AND subject_id = '{who['sid']}'"
                     " ORDER BY seq")
        outcomes = [x[0] for x in rows]
        assert "limited" in outcomes and "success" in outcomes, rows
        for x in rows:
            assert x[2] == "" and x[3] == "legal_obligation", x
            for ground, ref in GROUNDS:
                assert ground not in repr(x) and ref not in repr(x), x
    n = {op: s.sql("SELECT count(*) FROM audit_log WHERE operation = '%s' AND"
                   " subject_id = '%s' AND outcome = 'limited'" % (op, who["sid"]))[0][0]
         for op in ("consent.list", "application.self_read")}
    # Per ground: the list read twice (ru, en); the list and the one twice.
    assert n == {"consent.list": "4", "application.self_read": "8"}, n


def test_acts_and_servicing_reads_work_under_a_limit(world):
    s = world["senim"]
    who = approved(world, BIG)
    g = s.post("/v1/me/consents", {"kind": "marketing_sms", "channel": "web"},
               token=who["token"])
    assert g.status == 201, g
    limit(world, who["sid"], "aml_cft", "191-IV/art.13")
    # Sign: accept the offer, sign with the code.
    r = accept(world, who)
    assert r.status == 202, r
    r = sign(world, who, code_of(world, who))
    assert r.status == 200, r
    # Confirm the payout once the hold is over; the loan opens.
    s.sql("UPDATE applications SET payout_due_at = payout_due_at - 86460000000"
          " WHERE id = '%s'" % who["app"])
    r = s.post("/v1/me/applications/%s/payout-confirmation" % who["app"], None,
               token=who["token"])
    assert r.status == 200 and r.json["payout_state"] == "confirmed", r
    assert wait_for(lambda: app_state(world, who) == "disbursed"), payout_row(world, who)
    loan_id = payout_row(world, who)[3]
    # The loans and requests reads keep serving (the contract's terms).
    view = s.get("/v1/me/loans/" + loan_id, token=who["token"])
    assert view.status == 200 and "limited" not in view.json, view
    assert s.get("/v1/me/loans/%s/schedule" % loan_id, token=who["token"]).status == 200
    assert s.get("/v1/me/requests", token=who["token"]).status == 200
    # Pay: the provider's notice for the payoff closes the loan.
    r = s.post("/v1/loans/%s/payments" % loan_id, {
        "provider_ref": "lim-%s" % who["app"][4:],
        "amount_tiyn": view.json["payoff"]["amount_tiyn"], "currency": "KZT",
        "paid_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "channel": "card", "kind": "early"}, token=world["provider"])
    assert r.status == 201 and r.json["loan_status"] == "closed", r
    # Withdraw a consent: the limited list still names it by id.
    listing = s.get("/v1/me/consents", token=who["token"]).json
    assert listing["limited"] is True
    mk = next(c for c in listing["consents"]
              if c["kind"] == "marketing_sms" and c["status"] == "active")
    r = s.delete("/v1/me/consents/%s" % mk["id"], token=who["token"])
    assert r.status == 200 and r.json["status"] == "withdrawn", r
    after = s.get("/v1/me/consents", token=who["token"]).json["consents"]
    assert next(c for c in after if c["id"] == mk["id"])["status"] == "withdrawn"
    # Cancel: another borrower's signed application, under a limit too.
    other = signed(world, BIG)
    limit(world, other["sid"], "court_order", "case-3-2-26")
    r = s.post("/v1/me/applications/%s/cancellation" % other["app"], None,
               token=other["token"])
    assert r.status == 200 and r.json["state"] == "withdrawn", r
    one = s.get("/v1/me/applications/" + other["app"], token=other["token"])
    assert one.status == 200 and one.json["state"] == "withdrawn" and one.json["limited"]
