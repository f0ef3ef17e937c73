"""`senim eod --date D` (issue 12): end of day for loans imported with
`senim loans import`.  Past the first due date without payments the loans
are overdue, in their bucket, with the bureaus' `overdue` event and a
delinquency notice queued; the same date again changes nothing; a run
killed with SIGKILL halfway and started again ends where an uninterrupted
run ends.
"""
import os
import signal
import struct
import subprocess
import tempfile
import time

import pytest

from senim_harness import BACKEND, BIN, TMP, Senim, borrower

SOURCE = os.environ.get("SENIM_SOURCE_DIR",
                        os.path.join(os.path.dirname(__file__), "..", ".."))
RULES = os.path.join(SOURCE, "data", "loan-rules.conf")
HEADER = ("contract_number,iin,principal_tiyn,rate_bp,method,payments,term_days,"
          "start_date,penalty_daily_bp,penalty_annual_bp\n")
COLUMNS = ("method, payments, term_days, start_day, principal, status, day, overdue_days,"
           " principal_left")


def start_world(borrowers=2):
    s = Senim().start()
    uw = s.service_token("eod-uw", "underwriter")
    iins = []
    for _ in range(borrowers):
        body = borrower()
        r = s.post("/v1/subjects", body, token=uw,
                   headers={"Senim-Purpose": "identification"})
        assert r.status == 201, r
        iins.append(body["iin"])
    return {"senim": s, "iins": iins,
            "dir": tempfile.mkdtemp(prefix="eod-", dir=TMP)}


def stop_world(w):
    assert w["senim"].stop() == 0, w["senim"].read_log()[-4000:]


def portfolio(w, n, start="2026-01-10"):
    """n loans over the world's borrowers, their terms varied by row."""
    rows = []
    methods = [("annuity", "12", ""), ("differentiated", "6", ""), ("single", "", "30")]
    for i in range(n):
        m, p, t = methods[i % 3]
        rows.append(",".join(["EOD-%d-%s-%05d" % (os.getpid(), w["dir"][-6:], i),
                              w["iins"][i % len(w["iins"])], str(10000000 + 1000 * i),
                              "5600", m, p, t, start, "5", "1000"]))
    path = os.path.join(w["dir"], "loans.csv")
    with open(path, "w", encoding="utf-8") as f:
        f.write(HEADER + "".join(r + "\n" for r in rows))
    p = w["senim"].cli("loans", "import", path)
    assert b"imported %d loans" % n in p.stdout, p.stdout


def eod(w, date, *extra, check=True):
    return w["senim"].cli("eod", "--date", date, "--loan-rules", RULES, *extra,
                          check=check)


def hexed(col):
    return "encode(%s, 'hex')" % col if BACKEND == "postgres" else "hex(%s)" % col


def loans(w):
    """Every loan as it stands, ids and keys left out: the same terms
    brought to the same day give the same rows in any database."""
    return sorted(tuple(r) for r in w["senim"].sql(
        "SELECT %s, %s, %s FROM loans" % (COLUMNS, hexed("state"), hexed("schedule"))))


def count(w, table, where="1=1"):
    return int(w["senim"].sql("SELECT COUNT(*) FROM %s WHERE %s" % (table, where))[0][0])


def outcome(w):
    return (loans(w), count(w, "loan_events", "event = 'overdue'"),
            count(w, "loan_notices", "state = 'queued'"),
            count(w, "loan_events", "event = 'issued'"))


def bucket_of(state_hex):
    # struct loan_state encoded (lending/loans.c): bucket after day, status,
    # six amounts, overdue_since and overdue_days.
    raw = bytes.fromhex(state_hex)
    return struct.unpack(">i", raw[64:68])[0]


@pytest.fixture(scope="module")
def world():
    w = start_world()
    portfolio(w, 6)
    yield w
    stop_world(w)


def test_help_answers(world):
    p = world["senim"].cli("eod", "--help")
    assert b"--date" in p.stdout and b"resumable" in p.stdout and b"UTC+5" in p.stdout


def test_usage_and_refusals(world):
    assert eod(world, "2026-13-01", check=False).returncode == 2
    p = world["senim"].cli("eod", "--loan-rules", RULES, check=False)
    assert p.returncode == 2 and b"--date is required" in p.stderr
    assert eod(world, "2026-03-01", "--chunk", "0", check=False).returncode == 2
    # a day that has not ended in Kazakhstan is refused, and nothing is run
    p = eod(world, "2099-01-01", check=False)
    assert p.returncode == 1 and b"has not ended" in p.stderr, p.stderr
    assert count(world, "eod_runs") == 0
    p = world["senim"].cli("eod", "--date", "2026-03-01", "--loan-rules",
                           "/nonexistent/rules.conf", check=False)
    assert p.returncode == 3, p


def test_past_the_first_due_date_loans_are_overdue_then_a_rerun_changes_nothing(world):
    p = eod(world, "2026-01-31")
    assert b"end of day 2026-01-31: 6 loans, 132 days closed, 0 overdue events" in p.stdout, \
        p.stdout
    assert count(world, "loans", "status = 'open' AND day = %d" % day("2026-01-31")) == 6
    # the single loans (30 days) fell due on 02-09, the monthly ones on 02-10
    p = eod(world, "2026-02-25")
    assert b": 6 loans, 150 days closed, 6 overdue events, 6 notices" in p.stdout, p.stdout
    got = loans(world)
    assert {r[5] for r in got} == {"overdue"}
    assert {int(r[7]) for r in got} == {16, 17}  # as core/servicing counts a delay
    assert {bucket_of(r[9]) for r in got} == {1}  # 1-30 days
    assert count(world, "loan_events", "event = 'overdue'") == 6
    assert count(world, "loan_notices", "state = 'queued' AND kind = 'delinquency'") == 6
    assert world["senim"].audit_rows("eod.run")
    runs = world["senim"].sql("SELECT loans, days_closed, overdue_events, notices,"
                              " finished_at IS NOT NULL FROM eod_runs WHERE day = %d"
                              % day("2026-02-25"))
    assert runs == [["6", "150", "6", "6", "1" if BACKEND == "sqlite" else "t"]], runs
    before = outcome(world)
    p = eod(world, "2026-02-25")
    assert b"had finished already" in p.stdout, p.stdout
    assert outcome(world) == before
    # a day before the latest run is refused: its loans are past it
    p = eod(world, "2026-02-20", check=False)
    assert p.returncode == 1 and b"before the latest end of day, 2026-02-25" in p.stderr
    assert outcome(world) == before


def day(text):
    import datetime
    return (datetime.date.fromisoformat(text) - datetime.date(1970, 1, 1)).days


def test_killed_halfway_the_rerun_ends_where_an_uninterrupted_run_ends():
    n = 300
    a, b = start_world(3), start_world(3)
    try:
        portfolio(a, n)
        portfolio(b, n)
        eod(a, "2026-03-20", "--chunk", "1")
        s = b["senim"]
        proc = subprocess.Popen([BIN, "eod", "--date", "2026-03-20", "--loan-rules", RULES,
                                 "--chunk", "1", *s.common_args()],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.time() + 120
        done = 0
        while time.time() < deadline and proc.poll() is None:
            rows = s.sql("SELECT loans FROM eod_runs")
            done = int(rows[0][0]) if rows else 0
            if done >= 10:
                break
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        assert proc.returncode == -signal.SIGKILL, "the run ended before it was killed"
        rows = s.sql("SELECT loans, finished_at FROM eod_runs")
        assert 0 < int(rows[0][0]) < n and rows[0][1] == "", rows
        p = eod(b, "2026-03-20", "--chunk", "7")
        assert b"(resumed)" in p.stdout, p.stdout
        assert outcome(b) == outcome(a)
        ra = a["senim"].sql("SELECT loans, days_closed, overdue_events, notices FROM eod_runs")
        rb = s.sql("SELECT loans, days_closed, overdue_events, notices FROM eod_runs")
        assert ra == rb == [[str(n), str(n * day("2026-03-20") - n * (day("2026-01-10") - 1)),
                             str(n), str(n)]], (ra, rb)
    finally:
        stop_world(a)
        stop_world(b)
