"""The cooling-off threshold counts the day's microcredits together (issue 12;
U2; docs/lending-rules.md, docs/contract.md).

The regulator holds an online microcredit above 75 МРП for 24 hours, and adds
up several online microcredits a borrower takes the same day.  A borrower
whose first loan (300,000 tenge, under 75 МРП: no hold) is paid out the same
day signs a second of 50,000 tenge: alone it is under the threshold, together
they are above it, so the second waits the hold.  A contract withdrawn during
its hold is not a loan taken, and does not count."""
import time

from senim_harness import borrower  # noqa: F401  (the harness's import order)
from test_c2_walk import app_state, wait_for, world  # noqa: F401  (the fixture)
from test_contracts import accept, approved, code_of, sign

FIRST = 30000000  # 300,000 tenge: under 75 МРП (324,375 tenge in 2026)
SECOND = 5000000  # 50,000 tenge: under it alone, above it with the first


def second_application(world, who, amount):
    s = world["senim"]
    r = s.post("/v1/me/applications", {
        "product": "ctr", "amount_tiyn": amount, "term_days": 90,
        "schedule_method": "annuity", "payout_kind": "account",
        "payout_number": "KZ86125KZT5004100100"}, token=who["token"])
    assert r.status == 201, r
    nxt = dict(who, app=r.json["id"])
    r = s.post("/v1/me/applications/%s/submission" % nxt["app"], None, token=who["token"])
    assert r.status == 200 and r.json["state"] == "approved", r
    assert accept(world, nxt).status == 202
    return nxt


def test_a_second_loan_the_same_day_is_held(world):
    s = world["senim"]
    who = approved(world, amount=FIRST)
    assert accept(world, who).status == 202
    r = sign(world, who, code_of(world, who))
    assert r.status == 200 and r.json["cooling_off_minutes"] == 0, r
    assert wait_for(lambda: app_state(world, who) == "disbursed")
    nxt = second_application(world, who, SECOND)
    r = sign(world, nxt, code_of(world, nxt))
    assert r.status == 200, r
    assert r.json["cooling_off_minutes"] == 1440, r
    due = s.sql("SELECT payout_due_at FROM applications WHERE id = '%s'" % nxt["app"])
    signed = s.sql("SELECT signed_at FROM contracts WHERE application_id = '%s'"
                   % nxt["app"])
    assert int(due[0][0]) == int(signed[0][0]) + 1440 * 60 * 1000000
    # Not paid out before the hold is over.
    time.sleep(2.5)
    assert app_state(world, nxt) == "signed"


def test_a_contract_withdrawn_in_its_hold_does_not_count(world):
    """A first contract above the threshold, cancelled during its hold: the
    borrower took no loan that day, so a small second one is not held."""
    s = world["senim"]
    who = approved(world, amount=40000000)
    assert accept(world, who).status == 202
    r = sign(world, who, code_of(world, who))
    assert r.status == 200 and r.json["cooling_off_minutes"] == 1440, r
    r = s.post("/v1/me/applications/%s/cancellation" % who["app"], None, token=who["token"])
    assert r.status == 200, r
    assert app_state(world, who) == "withdrawn"
    nxt = second_application(world, who, SECOND)
    r = sign(world, nxt, code_of(world, nxt))
    assert r.status == 200 and r.json["cooling_off_minutes"] == 0, r
