"""Restructuring requests and their own decision (issue 12; U2).

A borrower whose loan is in delay asks, inside the window the rules set
(core/servicing's servicing_restructuring_open), with a reason from a fixed
list and a proposal (a deferral or a longer term); one open request per
loan, a second is 409 naming the first.  An underwriter sees the queue,
oldest first, with the answer's due date from the rules, and approves or
declines with a reason; approval rewrites the loan's remaining schedule
(the new rows sum to the principal left), records the bureau event
`restructured` and the audit record, in one write.  The borrower sees the
outcome and the reasons in ru, kk and en."""
import datetime
import os
import tempfile

import pytest

from senim_harness import TMP, Senim, borrower

SOURCE = os.environ.get("SENIM_SOURCE_DIR",
                        os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
RULES = os.path.join(SOURCE, "data", "loan-rules.conf")
ID = {"Senim-Purpose": "identification"}
HEADER = ("contract_number,iin,principal_tiyn,rate_bp,method,payments,term_days,"
          "start_date,penalty_daily_bp,penalty_annual_bp\n")
def today():
    """The server's day (UTC) now, not at collection: a run that crosses
    midnight would otherwise expect yesterday."""
    return datetime.datetime.now(datetime.timezone.utc).date()
BACKEND = os.environ.get("SENIM_TEST_BACKEND", "sqlite")


def days_ago(n):
    return (today() - datetime.timedelta(days=n)).isoformat()


def now_text():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def world():
    s = Senim(extra_args=["--loan-rules", RULES]).start()
    w = {"senim": s, "n": [0], "dir": tempfile.mkdtemp(prefix="rst-", dir=TMP),
         "uw": s.service_token("rst-uw", "underwriter"),
         "support": s.service_token("rst-support", "support"),
         "provider": s.service_token("rst-provider", "payment_provider")}
    yield w
    rc = s.stop()
    assert rc == 0, s.read_log()[-4000:]


def signed_in(w):
    b = borrower()
    r = w["senim"].post("/v1/subjects", b, token=w["uw"], headers=ID)
    assert r.status == 201, r
    token = w["senim"].borrower_token(b["phone"])
    w["senim"].accept_policy(token)
    return r.json["id"], b["iin"], token


def import_loan(w, iin, start, method="annuity", payments="3", term_days=""):
    w["n"][0] += 1
    number = "RS-%d-%06d" % (os.getpid(), w["n"][0])
    path = os.path.join(w["dir"], "loans.csv")
    with open(path, "w", encoding="utf-8") as f:
        f.write(HEADER + ",".join([number, iin, "30000000", "3600", method, payments,
                                   term_days, start, "5", "1000"]) + "\n")
    p = w["senim"].cli("loans", "import", path)
    assert b"imported 1 loans" in p.stdout, p.stdout
    os.remove(path)
    return w["senim"].sql("SELECT id FROM loans ORDER BY created_at DESC, id DESC")[0][0]


def eod_through_yesterday(w):
    w["senim"].cli("eod", "--date", days_ago(1), "--loan-rules", RULES)


def ask(w, token, loan_id, body):
    return w["senim"].post("/v1/me/loans/%s/restructuring" % loan_id, body, token=token)


def decide(w, rid, body, token=None):
    return w["senim"].post("/v1/restructurings/%s/decision" % rid, body,
                           token=token or w["uw"])


def overdue_loan(w, start=45, **kw):
    _, iin, token = signed_in(w)
    loan_id = import_loan(w, iin, days_ago(start), **kw)
    eod_through_yesterday(w)
    return loan_id, token


def test_the_walk_request_decide_schedule_payments(world):
    s = world["senim"]
    # 45 days ago, monthly: the first instalment fell due two weeks ago
    loan_id, token = overdue_loan(world)
    before = s.get("/v1/me/loans/" + loan_id, token=token).json
    assert before["status"] == "overdue" and before["state"]["overdue_days"] > 0
    r = ask(world, token, loan_id, {"reason": "income_loss", "kind": "term",
                                    "payments": 6})
    assert r.status == 201, r
    req = r.json
    assert req["status"] == "open" and req["decision"] is None
    assert req["proposal"] == {"kind": "term", "payments": 6}
    assert req["requested_on"] == today().isoformat()
    due = (today() + datetime.timedelta(days=15)).isoformat()
    assert req["answer_due_on"] == due  # restructuring_answer in data/loan-rules.conf
    assert req["reason"]["text"]["kk"] and req["reason"]["text"]["ru"]
    assert s.audit_rows("restructuring.request")

    mine = s.get("/v1/me/loans/%s/restructuring" % loan_id, token=token)
    assert mine.status == 200 and mine.json == req

    queue = s.get("/v1/restructurings", token=world["uw"])
    assert queue.status == 200, queue
    ids = [x["id"] for x in queue.json["restructurings"]]
    assert req["id"] in ids
    created = [x["created_at"] for x in queue.json["restructurings"]]
    assert created == sorted(created)  # oldest first

    sched0 = s.get("/v1/me/loans/%s/schedule" % loan_id, token=token).json
    d = decide(world, req["id"], {"outcome": "approve", "reason": "hardship_confirmed"})
    assert d.status == 200, d
    assert d.json["status"] == "approved"
    assert d.json["decision"]["outcome"] == "approved"
    assert d.json["decision"]["effective_on"] == today().isoformat()
    assert d.json["decision"]["gesv_bp"] <= 4600
    assert s.audit_rows("restructuring.decide")

    after = s.get("/v1/me/loans/" + loan_id, token=token).json
    sched = s.get("/v1/me/loans/%s/schedule" % loan_id, token=token).json
    assert after["status"] == "open" and after["state"]["overdue_days"] == 0
    assert sched["schedule_version"] == sched0["schedule_version"] + 1
    assert len(sched["rows"]) == 6
    # the new rows sum exactly to the principal left
    assert sum(x["principal_tiyn"] for x in sched["rows"]) == \
        before["state"]["outstanding_principal_tiyn"]
    assert after["state"]["outstanding_principal_tiyn"] == \
        before["state"]["outstanding_principal_tiyn"]
    assert sched["rows"][-1]["balance_tiyn"] == 0
    assert all(x["due_on"] > today().isoformat() for x in sched["rows"])
    # the interest due is carried into the first new instalment, not lost
    assert sched["rows"][0]["interest_tiyn"] >= before["state"]["due_interest_tiyn"]
    events = s.sql("SELECT event FROM loan_events WHERE subject_id ="
                   " (SELECT subject_id FROM loans WHERE id = '%s')" % loan_id)
    assert "restructured" in [e[0] for e in events]

    # the borrower sees the outcome and its reason in three languages
    mine = s.get("/v1/me/loans/%s/restructuring" % loan_id, token=token).json
    assert mine["status"] == "approved"
    texts = mine["decision"]["reason"]["text"]
    assert texts["ru"] and texts["kk"] and texts["en"] and texts["ru"] != texts["en"]

    # a payment now meets the new schedule: nothing is overdue, the
    # penalty charged stays due and is paid first
    penalty = after["state"]["due_penalty_tiyn"]
    assert penalty > 0
    p = s.post("/v1/loans/%s/payments" % loan_id,
               {"provider_ref": "rst-%d" % os.getpid(), "amount_tiyn": penalty + 100,
                "currency": "KZT", "paid_at": now_text(), "channel": "card"},
               token=world["provider"])
    assert p.status == 201, p
    assert p.json["split"]["principal_overdue"] == 0
    assert p.json["split"]["interest_overdue"] == 0
    assert p.json["split"]["penalty"] == penalty
    assert p.json["loan_status"] == "open"

    # a decision is final
    again = decide(world, req["id"], {"outcome": "decline",
                                      "reason": "insufficient_grounds"})
    assert again.status == 409 and again.json["code"] == "restructuring_decided"


def test_deferral_moves_the_first_instalment(world):
    s = world["senim"]
    loan_id, token = overdue_loan(world)
    r = ask(world, token, loan_id, {"reason": "job_loss", "kind": "deferral",
                                    "months": 2})
    assert r.status == 201, r
    d = decide(world, r.json["id"], {"outcome": "approve",
                                     "reason": "hardship_confirmed"})
    assert d.status == 200, d
    sched = s.get("/v1/me/loans/%s/schedule" % loan_id, token=token).json
    first = datetime.date.fromisoformat(sched["rows"][0]["due_on"])
    assert (first - today()).days >= 28 * 3 - 3  # three months on: two deferred, one run
    assert len(sched["rows"]) >= 1


def test_decline_leaves_the_loan_and_tells_why(world):
    s = world["senim"]
    loan_id, token = overdue_loan(world)
    sched0 = s.get("/v1/me/loans/%s/schedule" % loan_id, token=token).json
    r = ask(world, token, loan_id, {"reason": "other", "kind": "deferral", "months": 1})
    assert r.status == 201, r
    # a decline needs a decline's reason
    bad = decide(world, r.json["id"], {"outcome": "decline",
                                       "reason": "hardship_confirmed"})
    assert bad.status == 422 and bad.json["field"] == "reason"
    d = decide(world, r.json["id"], {"outcome": "decline",
                                     "reason": "documents_missing"})
    assert d.status == 200 and d.json["status"] == "declined", d
    assert s.get("/v1/me/loans/%s/schedule" % loan_id, token=token).json == sched0
    mine = s.get("/v1/me/loans/%s/restructuring" % loan_id, token=token).json
    assert mine["decision"]["outcome"] == "declined"
    assert mine["decision"]["reason"]["code"] == "documents_missing"
    assert mine["decision"]["reason"]["text"]["kk"]


def test_outside_the_window_names_the_rule(world):
    s = world["senim"]
    # not overdue at all
    _, iin, token = signed_in(world)
    fresh = import_loan(world, iin, days_ago(5))
    r = ask(world, token, fresh, {"reason": "income_loss", "kind": "deferral",
                                  "months": 1})
    assert r.status == 409 and r.json["code"] == "restructuring_window_closed", r
    assert r.json["loan_rule"] == "restructuring" and r.json["window_days"] == 30
    assert r.json["loan_rule_source"]
    # overdue for longer than the window: the first instalment fell due
    # about 50 days ago
    late = import_loan(world, iin, days_ago(80))
    eod_through_yesterday(world)
    r = ask(world, token, late, {"reason": "income_loss", "kind": "deferral",
                                 "months": 1})
    assert r.status == 409 and r.json["code"] == "restructuring_window_closed", r
    n = s.sql("SELECT count(*) FROM restructurings WHERE loan_id IN ('%s', '%s')"
              % (fresh, late))
    assert int(n[0][0]) == 0


def test_second_request_is_409_naming_the_first(world):
    s = world["senim"]
    loan_id, token = overdue_loan(world)
    first = ask(world, token, loan_id, {"reason": "emergency", "kind": "deferral",
                                        "months": 1})
    assert first.status == 201, first
    second = ask(world, token, loan_id, {"reason": "income_loss", "kind": "term",
                                         "payments": 12})
    assert second.status == 409 and second.json["code"] == "restructuring_open_exists"
    assert second.json["restructuring_id"] == first.json["id"]
    n = s.sql("SELECT count(*) FROM restructurings WHERE loan_id = '%s'" % loan_id)
    assert int(n[0][0]) == 1


@pytest.mark.parametrize("body,field,rule", [
    ({"kind": "deferral", "months": 1}, "reason", "required"),
    ({"reason": "illness", "kind": "deferral", "months": 1}, "reason", "enum_value"),
    ({"reason": "other", "kind": "holiday", "months": 1}, "kind", "enum_value"),
    ({"reason": "other", "kind": "deferral"}, "months", "required"),
    ({"reason": "other", "kind": "deferral", "months": 0}, "months", "min_value"),
    ({"reason": "other", "kind": "deferral", "months": 13}, "months", "max_value"),
    ({"reason": "other", "kind": "term", "payments": 601}, "payments", "max_value"),
    ({"reason": "other", "kind": "term", "months": 2}, "payments", "required"),
    ({"reason": "other", "kind": "term", "payments": 6, "months": 2}, "months",
     "unknown_field"),
    ({"reason": "other", "kind": "deferral", "months": 1, "x": 1}, "(key 4)",
     "unknown_field"),
])
def test_bad_proposals_are_422_naming_the_field(world, body, field, rule):
    _, iin, token = signed_in(world)
    loan_id = import_loan(world, iin, days_ago(45))
    r = ask(world, token, loan_id, body)
    assert r.status == 422 and r.json["code"] == "validation_failed", r
    assert r.json["field"] == field and r.json["rule"] == rule


def test_a_term_that_is_not_longer_is_refused(world):
    loan_id, token = overdue_loan(world)
    # three monthly rows from 45 days ago end in about 45 days; one
    # payment from today ends sooner
    r = ask(world, token, loan_id, {"reason": "other", "kind": "term", "payments": 1})
    assert r.status == 422 and r.json["code"] == "restructuring_proposal_invalid", r
    assert r.json["reason"] == "term_not_longer"
    # a single-payment loan takes a deferral, not a term
    _, iin, token = signed_in(world)
    single = import_loan(world, iin, days_ago(40), method="single", payments="",
                         term_days="30")
    eod_through_yesterday(world)
    r = ask(world, token, single, {"reason": "other", "kind": "term", "payments": 3})
    assert r.status == 422 and r.json["reason"] == "single_payment_takes_deferral"
    r = ask(world, token, single, {"reason": "other", "kind": "deferral", "months": 1})
    assert r.status == 201, r


def test_wrong_role_and_other_borrower(world):
    s = world["senim"]
    loan_id, token = overdue_loan(world)
    r = ask(world, token, loan_id, {"reason": "other", "kind": "deferral", "months": 1})
    assert r.status == 201, r
    # support serves loans (U2) but does not decide restructurings
    d = decide(world, r.json["id"], {"outcome": "approve",
                                     "reason": "hardship_confirmed"},
               token=world["support"])
    assert d.status == 403 and d.json["code"] == "forbidden_role", d
    q = s.get("/v1/restructurings", token=world["support"])
    assert q.status == 403
    assert s.sql("SELECT status FROM restructurings WHERE id = '%s'"
                 % r.json["id"])[0][0] == "open"
    # another borrower's loan is not found, both ways
    _, _, other = signed_in(world)
    assert ask(world, other, loan_id, {"reason": "other", "kind": "deferral",
                                       "months": 1}).status == 404
    g = s.get("/v1/me/loans/%s/restructuring" % loan_id, token=other)
    assert g.status == 404 and g.json["code"] == "restructuring_not_found"
    # unknown ids
    assert decide(world, "rst_AAAAAAAAAAAAAAAAAAAAAA",
                  {"outcome": "decline", "reason": "documents_missing"}).status == 404
    assert decide(world, "nope", {"outcome": "decline",
                                  "reason": "documents_missing"}).status == 404


def test_restructuring_fails_closed_without_audit(world):
    """S4: while the audit record cannot be written, no restructuring route
    answers or changes anything (test_fail_closed.py names this test); once
    it can, the same calls succeed."""
    from test_fail_closed import block_audit_sql, unblock_audit_sql
    s = world["senim"]
    loan_id, token = overdue_loan(world)
    body = {"reason": "income_loss", "kind": "term", "payments": 6}
    path = "/v1/me/loans/%s/restructuring" % loan_id
    before = s.sql("SELECT id, state, schedule FROM loans WHERE id = '%s'" % loan_id)
    s.sql(block_audit_sql())
    try:
        r = s.request("POST", path, token=token, body=body)
    finally:
        s.sql(unblock_audit_sql())
    assert r.status >= 500 and loan_id not in r.body.decode(), r
    assert int(s.sql("SELECT count(*) FROM restructurings WHERE loan_id = '%s'"
                     % loan_id)[0][0]) == 0
    made = s.request("POST", path, token=token, body=body)
    assert made.status == 201, made
    rid = made.json["id"]
    decision = {"outcome": "approve", "reason": "hardship_confirmed"}
    calls = [
        ("GET", path, dict(token=token)),
        ("GET", "/v1/restructurings", dict(token=world["uw"])),
        ("POST", "/v1/restructurings/%s/decision" % rid,
         dict(token=world["uw"], body=decision)),
    ]
    s.sql(block_audit_sql())
    try:
        answers = [s.request(m, p, **kw) for m, p, kw in calls]
    finally:
        s.sql(unblock_audit_sql())
    for (m, p, _), r in zip(calls, answers):
        assert r.status >= 500, (m, p, r)
        assert loan_id not in r.body.decode() and rid not in r.body.decode(), p
    assert s.sql("SELECT id, state, schedule FROM loans WHERE id = '%s'" % loan_id) == before
    assert s.sql("SELECT status FROM restructurings WHERE id = '%s'" % rid)[0][0] == "open"
    for (m, p, kw), want in zip(calls, (200, 200, 200)):
        r = s.request(m, p, **kw)
        assert r.status == want, (m, p, r)


def test_a_blocked_borrower_is_refused_and_the_refusal_audited(world):
    """The decision's access decision (role, loan_servicing, the borrower's
    state) refuses a blocked borrower (R3) and audits the refusal."""
    s = world["senim"]
    loan_id, token = overdue_loan(world)
    r = ask(world, token, loan_id, {"reason": "other", "kind": "deferral", "months": 1})
    assert r.status == 201, r
    sid = s.sql("SELECT subject_id FROM loans WHERE id = '%s'" % loan_id)[0][0]
    dpo = s.service_token("rst-dpo", "dpo")
    b = s.post("/v1/subjects/%s/block" % sid, {"reason": "borrower_request"}, token=dpo)
    assert b.status in (200, 201), b
    denied = len([x for x in s.audit_rows("restructuring.decide") if x[3] == "denied"])
    d = decide(world, r.json["id"], {"outcome": "approve",
                                     "reason": "hardship_confirmed"})
    assert d.status == 403 and d.json["code"] == "subject_blocked", d
    rows = [x for x in s.audit_rows("restructuring.decide") if x[3] == "denied"]
    assert len(rows) == denied + 1 and rows[-1][4] == "loan_servicing"
    assert s.sql("SELECT status FROM restructurings WHERE id = '%s'"
                 % r.json["id"])[0][0] == "open"


def restructured_by_deferral(w):
    """An overdue loan restructured today by a 2-month deferral; the loan's
    view before and after."""
    s = w["senim"]
    loan_id, token = overdue_loan(w)
    before = s.get("/v1/me/loans/" + loan_id, token=token).json
    r = ask(w, token, loan_id, {"reason": "job_loss", "kind": "deferral", "months": 2})
    assert r.status == 201, r
    d = decide(w, r.json["id"], {"outcome": "approve", "reason": "hardship_confirmed"})
    assert d.status == 200, d
    after = s.get("/v1/me/loans/" + loan_id, token=token).json
    return loan_id, token, before, after


def pay_early(w, loan_id, amount, ref):
    return w["senim"].post("/v1/loans/%s/payments" % loan_id,
                           {"provider_ref": "rst-%s-%d" % (ref, os.getpid()),
                            "amount_tiyn": amount, "currency": "KZT",
                            "paid_at": now_text(), "channel": "card", "kind": "early"},
                           token=w["provider"])


def test_early_full_repayment_pays_the_carried_interest(world):
    """The interest owed on the decision day (due and unpaid, accrued to
    that morning) is carried into the first new instalment and kept as the
    loan's state: today's payoff is the principal, the penalty and that
    interest (nothing has accrued yet in the new period), and an early
    repayment of it pays the carried interest and closes the loan."""
    s = world["senim"]
    loan_id, token, before, after = restructured_by_deferral(world)
    b = before["state"]
    carried = b["due_interest_tiyn"] + b["interest_accrued_tiyn"]
    principal, penalty = b["outstanding_principal_tiyn"], b["due_penalty_tiyn"]
    assert carried > 0 and penalty > 0
    assert after["state"]["interest_carried_tiyn"] == carried
    assert after["state"]["due_interest_tiyn"] == 0
    assert after["payoff"] == {"on": today().isoformat(),
                               "amount_tiyn": principal + penalty + carried}
    mirrored = s.sql("SELECT carried_interest FROM loans WHERE id = '%s'" % loan_id)
    assert int(mirrored[0][0]) == carried
    # the first new instalment still holds it, as agreed
    sched = s.get("/v1/me/loans/%s/schedule" % loan_id, token=token).json
    assert sched["rows"][0]["interest_tiyn"] > carried

    p = pay_early(world, loan_id, principal + penalty + carried, "full")
    assert p.status == 201, p
    assert p.json["split"]["penalty"] == penalty
    assert p.json["split"]["interest_to_date"] == carried
    assert p.json["split"]["principal_early"] == principal
    assert p.json["overpayment_tiyn"] == 0
    assert p.json["loan_status"] == "closed"
    done = s.get("/v1/me/loans/" + loan_id, token=token).json
    assert done["status"] == "closed" and done["state"]["interest_carried_tiyn"] == 0
    assert done["payoff"]["amount_tiyn"] == 0
    assert int(s.sql("SELECT carried_interest FROM loans WHERE id = '%s'"
                     % loan_id)[0][0]) == 0
    events = [e[0] for e in s.sql(
        "SELECT event FROM loan_events WHERE subject_id ="
        " (SELECT subject_id FROM loans WHERE id = '%s')" % loan_id)]
    assert "closed" in events


def test_partial_early_repayment_keeps_or_pays_the_carried_interest(world):
    """An early payment that cannot pay the carried interest in full is
    handed back and the carried interest stays owed; one that can pays it
    first, then lowers the principal, and the rebuilt rows owe the rest."""
    s = world["senim"]
    loan_id, token, before, after = restructured_by_deferral(world)
    b = before["state"]
    carried = b["due_interest_tiyn"] + b["interest_accrued_tiyn"]
    principal, penalty = b["outstanding_principal_tiyn"], b["due_penalty_tiyn"]

    short = pay_early(world, loan_id, penalty + carried - 1, "short")
    assert short.status == 201, short
    assert short.json["split"]["penalty"] == penalty  # due: paid as usual
    assert short.json["split"]["interest_to_date"] == 0
    assert short.json["split"]["principal_early"] == 0
    assert short.json["overpayment_tiyn"] == carried - 1
    view = s.get("/v1/me/loans/" + loan_id, token=token).json
    assert view["state"]["interest_carried_tiyn"] == carried
    assert view["state"]["outstanding_principal_tiyn"] == principal
    assert view["payoff"]["amount_tiyn"] == principal + carried

    part = pay_early(world, loan_id, carried + 1_000_000, "part")
    assert part.status == 201, part
    assert part.json["split"]["interest_to_date"] == carried
    assert part.json["split"]["principal_early"] == 1_000_000
    assert part.json["overpayment_tiyn"] == 0
    assert part.json["loan_status"] == "open"
    view = s.get("/v1/me/loans/" + loan_id, token=token).json
    assert view["state"]["interest_carried_tiyn"] == 0
    assert view["payoff"]["amount_tiyn"] == principal - 1_000_000
    sched = s.get("/v1/me/loans/%s/schedule" % loan_id, token=token).json
    assert sum(x["principal_tiyn"] for x in sched["rows"]) == principal - 1_000_000
    # the rebuilt first row owes the new period's interest only: at most a
    # full deferred period's (3 months at 36 %) on what is left
    assert sched["rows"][0]["interest_tiyn"] <= (principal - 1_000_000) * 3600 * 3 // 120000


def test_a_state_saved_before_carried_interest_still_reads(world):
    """A loan saved before migration 24 has the 208-byte state (no carried
    interest): it reads with none, takes a payment, and is saved back at
    the current length."""
    s = world["senim"]
    _, iin, token = signed_in(world)
    loan_id = import_loan(world, iin, days_ago(5))
    view = s.get("/v1/me/loans/" + loan_id, token=token).json
    cut = "substring(state from 1 for 208)" if BACKEND == "postgres" \
        else "substr(state, 1, 208)"
    s.sql("UPDATE loans SET state = %s WHERE id = '%s'" % (cut, loan_id))
    assert s.sql("SELECT length(state) FROM loans WHERE id = '%s'" % loan_id)[0][0] == "208"
    old = s.get("/v1/me/loans/" + loan_id, token=token)
    assert old.status == 200, old
    assert old.json == view and old.json["state"]["interest_carried_tiyn"] == 0
    p = s.post("/v1/loans/%s/payments" % loan_id,
               {"provider_ref": "rst-v1-%d" % os.getpid(), "amount_tiyn": 100_000,
                "currency": "KZT", "paid_at": now_text(), "channel": "card"},
               token=world["provider"])
    assert p.status == 201, p
    assert s.sql("SELECT length(state) FROM loans WHERE id = '%s'" % loan_id)[0][0] == "216"
