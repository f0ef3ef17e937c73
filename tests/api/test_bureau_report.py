"""Loan events reported to the credit bureaus (issue 11, T2; design §5.2-§5.4,
§8 step 7): `senim bureau import FILE` records events all or nothing, and
`senim bureau report` decides each for every bureau, queues it in the outbox
with the bureau's cursor, and pumps it to tests/peers/credit_bureau.py.

What the peer saw is read from its /_control/events (one entry per
event_id) and /_control/stats; what senim recorded from the transfers
table and the disclosure register.
"""
import os
import re
import signal
import subprocess
import tempfile
import time

import pytest

from peer_harness import PeerProcess
from senim_harness import BIN, TMP, Senim, borrower

ID = {"Senim-Purpose": "identification"}
HEADER = ("event,occurred_on,iin,contract_number,amount_tiyn,outstanding_tiyn,"
          "overdue_days,due_date\n")

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
report_within_days = 1
[service gkb.loan_event]
api = loan_event/1
purposes = legal_obligation
sends = identity.iin identity.surname identity.given_name identity.patronymic identity.birth_date loan.contract_number loan.event loan.occurred_on loan.amount_tiyn loan.outstanding_tiyn loan.overdue_days loan.due_date
basis = law:KZ 573-II art. 26(1)

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
sends = identity.iin identity.surname identity.given_name identity.patronymic identity.birth_date loan.contract_number loan.event loan.occurred_on loan.amount_tiyn loan.outstanding_tiyn loan.overdue_days loan.due_date
basis = consent:credit_bureau_pkb
"""


@pytest.fixture(scope="module")
def world():
    d = tempfile.mkdtemp(prefix="bureau-", dir=TMP)
    gkb = PeerProcess("credit_bureau.py")
    pkb = PeerProcess("credit_bureau.py")
    path = os.path.join(d, "recipients.conf")
    with open(path, "w", encoding="utf-8") as f:
        f.write(RECIPIENTS.format(gkb=gkb.port, pkb=pkb.port))
    # The server reads the same recipients: /metrics shows their outbox.
    # Its own reporter is off: these tests run `senim bureau report`.
    s = Senim(extra_args=["--recipients", path,
                          "--bureau-report-interval", "0"]).start()
    staff = {r: s.service_token("bur-" + r, r) for r in ("underwriter", "dpo", "auditor")}
    w = {"senim": s, "gkb": gkb, "pkb": pkb, "staff": staff, "dir": d,
         "recipients": path, "n": [0]}
    yield w
    rc = s.stop()
    gkb.stop()
    pkb.stop()
    assert rc == 0, s.read_log()[-4000:]


@pytest.fixture(autouse=True)
def calm(world):
    for p in (world["gkb"], world["pkb"]):
        p.mode("ok")
    # Whatever an earlier test left queued is delivered first, so that each
    # test sees only its own events.
    report(world, check=False)
    for p in (world["gkb"], world["pkb"]):
        p.reset()
    yield


def register(world, consents=("credit_bureau_pkb",)):
    s = world["senim"]
    body = borrower()
    r = s.post("/v1/subjects", body, token=world["staff"]["underwriter"], headers=ID)
    assert r.status == 201, r
    token = s.borrower_token(body["phone"])
    s.accept_policy(token)
    for kind in consents:
        g = s.post("/v1/me/consents", {"kind": kind, "channel": "web"}, token=token)
        assert g.status in (200, 201), g
    return r.json["id"], body


def contract(world):
    world["n"][0] += 1
    return "MK-%d-%06d" % (os.getpid(), world["n"][0])


def events_for(iin, number):
    return [
        "issued,2026-02-01,%s,%s,5000000,5000000,0,2026-03-01" % (iin, number),
        "payment,2026-02-15,%s,%s,1000000,4000000,," % (iin, number),
        "closed,2026-03-01,%s,%s,4000000,0,," % (iin, number),
    ]


def write_csv(world, rows, name="events.csv"):
    path = os.path.join(world["dir"], name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(HEADER + "".join(r + "\n" for r in rows))
    return path


def import_(world, rows, *extra, check=True):
    return world["senim"].cli("bureau", "import", write_csv(world, rows), *extra,
                              check=check)


def report(world, *extra, check=True, wait="10"):
    return world["senim"].cli("bureau", "report", "--recipients", world["recipients"],
                              "--wait", wait, *extra, check=check)


def peer_events(peer, number):
    return [e for e in peer.events() if e.get("contract_number") == number]


def register_rows(world, sid, recipient, outcome):
    return world["senim"].sql(
        "SELECT id FROM disclosures WHERE subject_id = '%s' AND recipient = '%s'"
        " AND service = 'loan_event' AND outcome = '%s'" % (sid, recipient, outcome))


# ---- import ----------------------------------------------------------------


def test_help_names_the_columns(world):
    p = world["senim"].cli("bureau", "--help")
    assert b"event,occurred_on,iin,contract_number" in p.stdout


def test_a_bad_row_refuses_the_file_naming_line_and_column(world):
    sid, body = register(world)
    number = contract(world)
    rows = events_for(body["iin"], number)
    rows[1] = "payment,2026-02-31,%s,%s,1000000,4000000,," % (body["iin"], number)
    p = import_(world, rows, check=False)
    assert p.returncode == 1, p
    err = p.stderr.decode()
    assert "line 3, column occurred_on: format" in err, err
    assert body["iin"] not in err and number not in err  # no values in errors
    assert world["senim"].sql("SELECT count(*) FROM loan_events WHERE subject_id = '%s'"
                              % sid) == [["0"]]


@pytest.mark.parametrize("row,where", [
    ("overdue,2026-02-01,{iin},{c},,100,0,", "column overdue_days: overdue_days"),
    ("closed,2026-02-01,{iin},{c},,100,,", "column outstanding_tiyn: closed_debt"),
    ("issued,2026-02-01,{iin},{c},100,100,,", "column due_date: required"),
    ("lent,2026-02-01,{iin},{c},,,,", "column event: format"),
    ("payment,2026-02-01,{iin},{c} x,,,,", "column contract_number: format"),
    ("payment,2026-02-01,{iin},{c},-5,,,", "column amount_tiyn: format"),
])
def test_each_rule_names_its_column(world, row, where):
    _, body = register(world)
    p = import_(world, [row.format(iin=body["iin"], c=contract(world))], check=False)
    assert p.returncode == 1 and ("line 2, " + where) in p.stderr.decode(), p.stderr


def test_an_unregistered_iin_and_a_duplicate_are_named(world):
    _, body = register(world)
    other = borrower()["iin"]
    number = contract(world)
    p = import_(world, events_for(body["iin"], number)[:1]
                + ["payment,2026-02-15,%s,%s,1,1,," % (other, contract(world))],
                check=False)
    assert p.returncode == 1 and "line 3, column iin: not_registered" in p.stderr.decode()
    row = events_for(body["iin"], number)[0]
    p = import_(world, [row, row], check=False)
    assert p.returncode == 1 and "line 3, column contract_number: duplicate" \
        in p.stderr.decode()


def test_dry_run_stores_nothing_and_reimport_is_idempotent(world):
    sid, body = register(world)
    rows = events_for(body["iin"], contract(world))
    p = import_(world, rows, "--dry-run")
    assert b"checked 3 loan events" in p.stdout and b"--dry-run" in p.stdout
    count = "SELECT count(*) FROM loan_events WHERE subject_id = '%s'" % sid
    assert world["senim"].sql(count) == [["0"]]
    p = import_(world, rows)
    assert b"imported 3 loan events" in p.stdout, p.stdout
    p = import_(world, rows)
    assert b"imported 0 loan events" in p.stdout and b"3 imported already" in p.stdout
    assert world["senim"].sql(count) == [["3"]]
    # Nothing of the file in the table in plain text.
    assert all(body["iin"] not in str(r) for r in world["senim"].sql(
        "SELECT * FROM loan_events WHERE subject_id = '%s'" % sid))
    assert world["senim"].audit_rows("loan_events.import")


# ---- report ----------------------------------------------------------------


def test_report_delivers_every_event_once_and_a_rerun_sends_nothing(world):
    sid, body = register(world)
    number = contract(world)
    import_(world, events_for(body["iin"], number))
    p = report(world)
    assert p.returncode == 0, p.stderr
    for peer in (world["gkb"], world["pkb"]):
        got = peer_events(peer, number)
        assert sorted(e["event"] for e in got) == ["closed", "issued", "payment"]
        assert got[0]["borrower"]["iin"] == body["iin"]
    assert len(register_rows(world, sid, "gkb", "delivered")) == 3
    assert len(register_rows(world, sid, "pkb", "delivered")) == 3
    before = world["gkb"].stats()["attempts"]
    p = report(world)
    assert p.returncode == 0
    assert world["gkb"].stats()["attempts"] == before  # nothing sent again
    assert len(register_rows(world, sid, "gkb", "delivered")) == 3


def test_a_blocked_subject_goes_to_gkb_not_pkb(world):
    sid, body = register(world)
    s = world["senim"]
    b = s.post("/v1/subjects/%s/block" % sid, {"reason": "borrower_request"},
               token=world["staff"]["dpo"])
    assert b.status == 200, b
    number = contract(world)
    import_(world, events_for(body["iin"], number)[:1])
    p = report(world)
    assert p.returncode == 0, p.stderr
    assert len(peer_events(world["gkb"], number)) == 1  # legal obligation
    assert peer_events(world["pkb"], number) == []
    refused = s.sql("SELECT reason FROM disclosures WHERE subject_id = '%s'"
                    " AND recipient = 'pkb' AND outcome = 'refused'" % sid)
    assert refused == [["subject_blocked"]]


def test_pkb_without_consent_is_refused_on_the_register(world):
    sid, body = register(world, consents=())
    number = contract(world)
    import_(world, events_for(body["iin"], number)[:1])
    p = report(world)
    assert p.returncode == 0, p.stderr
    assert peer_events(world["pkb"], number) == []
    assert len(peer_events(world["gkb"], number)) == 1
    refused = world["senim"].sql(
        "SELECT reason FROM disclosures WHERE subject_id = '%s' AND recipient = 'pkb'"
        " AND outcome = 'refused'" % sid)
    assert refused == [["consent_required"]]
    assert world["senim"].sql("SELECT count(*) FROM transfers WHERE subject_id = '%s'"
                              " AND recipient = 'pkb'" % sid) == [["0"]]


def test_a_failing_peer_exits_1_then_a_rerun_delivers(world):
    sid, body = register(world)
    number = contract(world)
    import_(world, events_for(body["iin"], number))
    world["gkb"].mode("fail", status=503)
    p = report(world, "--recipient", "gkb", check=False, wait="0")
    assert p.returncode == 1, p.stdout
    assert peer_events(world["gkb"], number) == []
    assert outbox_pending(world, "gkb") >= 3
    world["gkb"].mode("ok")
    # The retry waits out its backoff (full jitter from 1 s).
    p = report(world, "--recipient", "gkb", wait="10")
    assert p.returncode == 0, p.stdout
    assert len(peer_events(world["gkb"], number)) == 3
    assert len(register_rows(world, sid, "gkb", "delivered")) == 3
    assert outbox_pending(world, "gkb") == 0


def outbox_pending(world, recipient):
    """senim_outbox_pending for a recipient on /metrics (0 when absent)."""
    r = world["senim"].get("/metrics", token=world["staff"]["auditor"])
    assert r.status == 200, r
    m = re.search(r'^senim_outbox_pending\{recipient="%s"\} (\d+)$' % recipient,
                  r.body.decode(), re.M)
    return int(m.group(1)) if m else 0


def bureau_late(world, recipient):
    """senim_bureau_events_late for a recipient on /metrics; None when absent."""
    r = world["senim"].get("/metrics", token=world["staff"]["auditor"])
    assert r.status == 200, r
    m = re.search(r'^senim_bureau_events_late\{recipient="%s"\} (\d+)$' % recipient,
                  r.body.decode(), re.M)
    return int(m.group(1)) if m else None


def test_events_past_the_deadline_are_counted_late_until_delivered(world):
    """GKB's report_within_days = 1: events recorded two days ago and not
    delivered are late — first unqueued, then queued while the peer fails;
    delivered, they are not; a fresh event is not late.  PKB sets no
    deadline, so it has no gauge."""
    s = world["senim"]
    assert bureau_late(world, "gkb") == 0
    assert bureau_late(world, "pkb") is None
    sid, body = register(world)
    number = contract(world)
    import_(world, events_for(body["iin"], number))
    assert bureau_late(world, "gkb") == 0
    # Two days earlier, in microseconds.
    s.sql("UPDATE loan_events SET imported_at = imported_at - 172800000000"
          " WHERE subject_id = '%s'" % sid)
    assert bureau_late(world, "gkb") == 3
    world["gkb"].mode("fail")
    report(world, "--recipient", "gkb", check=False, wait="0")
    assert outbox_pending(world, "gkb") == 3
    assert bureau_late(world, "gkb") == 3
    world["gkb"].mode("ok")
    report(world)
    assert len(peer_events(world["gkb"], number)) == 3
    assert bureau_late(world, "gkb") == 0
    fresh = contract(world)
    import_(world, events_for(body["iin"], fresh)[:1])
    assert bureau_late(world, "gkb") == 0


def test_kill_9_while_sending_then_rerun_delivers_each_event_once(world):
    sid, body = register(world)
    number = contract(world)
    import_(world, events_for(body["iin"], number))
    s = world["senim"]
    world["gkb"].mode("slow", delay_ms=1200)
    cmd = [BIN, "bureau", "report", "--recipients", world["recipients"],
           "--recipient", "gkb", "--wait", "0", *s.common_args()]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 20
    while time.time() < deadline and world["gkb"].stats()["attempts"] == 0:
        time.sleep(0.05)
    assert world["gkb"].stats()["attempts"] >= 1
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert s.sql("SELECT count(*) FROM transfers WHERE subject_id = '%s'"
                 " AND recipient = 'gkb' AND state = 'sending'" % sid) == [["3"]]
    time.sleep(1.5)  # the slow peer records the batch although nobody waits
    world["gkb"].mode("ok")
    p = report(world, "--recipient", "gkb")
    assert p.returncode == 0, p.stdout
    assert len(peer_events(world["gkb"], number)) == 3  # each once
    assert world["gkb"].stats()["duplicates"] >= 1  # the resend, de-duplicated
    assert len(register_rows(world, sid, "gkb", "delivered")) == 3
    rows = s.sql("SELECT may_have_reached FROM disclosures WHERE subject_id = '%s'"
                 " AND recipient = 'gkb'" % sid)
    assert rows == [["1"]] * 3


# ---- the server reports on its own ------------------------------------------


def test_serve_reports_new_events_every_interval_without_the_cli(world):
    """T2 while the server runs: `serve --bureau-report-interval 1` queues and
    delivers imported events to both bureaus, with the register entries, and
    logs counts only."""
    s = Senim(extra_args=["--recipients", world["recipients"],
                          "--bureau-report-interval", "1"]).start()
    try:
        staff = s.service_token("bur-auto", "underwriter")
        body = borrower()
        r = s.post("/v1/subjects", body, token=staff, headers=ID)
        assert r.status == 201, r
        sid = r.json["id"]
        token = s.borrower_token(body["phone"])
        s.accept_policy(token)
        g = s.post("/v1/me/consents", {"kind": "credit_bureau_pkb", "channel": "web"},
                   token=token)
        assert g.status in (200, 201), g
        number = contract(world)
        path = write_csv(world, events_for(body["iin"], number), "auto.csv")
        s.cli("bureau", "import", path)
        delivered = ("SELECT actor FROM disclosures WHERE subject_id = '%s' AND"
                     " service = 'loan_event' AND outcome = 'delivered'" % sid)
        # A peer holds an event before the reporter's commit settles it on
        # the register: wait for both.
        deadline = time.time() + 30
        while time.time() < deadline:
            if all(len(peer_events(p, number)) == 3
                   for p in (world["gkb"], world["pkb"])) and \
                    len(s.sql(delivered)) == 6:
                break
            time.sleep(0.2)
        for peer in (world["gkb"], world["pkb"]):
            assert sorted(e["event"] for e in peer_events(peer, number)) == \
                ["closed", "issued", "payment"]
        rows = s.sql(delivered)
        assert len(rows) == 6
        assert {a for (a,) in rows} == {"system:bureau-reporter"}
        log = s.read_log()
        assert '"event":"bureau_report"' in log
        assert body["iin"] not in log and number not in log
    finally:
        assert s.stop() == 0, s.read_log()[-4000:]


def test_serve_refuses_a_bad_report_interval():
    p = subprocess.run([BIN, "serve", "--bureau-report-interval", "-1"],
                       capture_output=True, timeout=20)
    assert p.returncode == 2
    assert b"--bureau-report-interval must be 0 to 86400" in p.stderr
