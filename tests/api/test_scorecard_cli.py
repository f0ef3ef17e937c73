"""The scorecard from the outside (issue 12): `senim scorecard check|show`.

Each rule of the file, each band and each reason is unit-tested in
tests/unit/test_scorecard.c; here the commands answer, accept the shipped
card, name the line of a bad one, and evaluate an application as an
underwriter would read it.
"""
import hashlib
import os
import subprocess
import tempfile

from senim_harness import BIN, TMP

SOURCE = os.environ.get("SENIM_SOURCE_DIR",
                        os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SHIPPED = os.path.join(SOURCE, "data", "scorecard.conf")
CLEAN = ("date=2026-12-01,birth_date=1990-05-05,bureau_overdue_days=0,active_loans=1,"
         "debt_payments_tiyn=5000000,income_tiyn=30000000,enquiries_30d=1,"
         "operator_score=700")


def run(*args, env=None):
    return subprocess.run([BIN, *args], capture_output=True, timeout=60,
                          env=dict(os.environ, **(env or {})))


def shipped_text():
    with open(SHIPPED, encoding="utf-8") as f:
        return f.read()


def test_help_answers():
    p = run("scorecard", "--help")
    assert p.returncode == 0
    assert b"senim scorecard check [FILE]" in p.stdout
    assert b"--inputs" in p.stdout
    assert b"scorecard" in run("--help").stdout
    assert run("scorecard").returncode == 2
    p = run("scorecard", "verify")
    assert p.returncode == 2 and b"--help" in p.stderr
    p = run("scorecard", "check", "--inputs", CLEAN, SHIPPED)
    assert p.returncode == 2 and b"--inputs and --lang go with show" in p.stderr
    p = run("scorecard", "show", "--lang", "de", SHIPPED)
    assert p.returncode == 2 and b"--lang: ru, kk or en" in p.stderr
    p = run("scorecard", "show", "--inputs", "date=2026-12-01", SHIPPED)
    assert p.returncode == 2 and b"birth_date is required" in p.stderr
    p = run("scorecard", "show", "--inputs", CLEAN + ",colour=red", SHIPPED)
    assert p.returncode == 2 and b"unknown key 'colour'" in p.stderr
    p = run("scorecard", "show", "--inputs", CLEAN + ",operator_score=1", SHIPPED)
    assert p.returncode == 2 and b"operator_score given twice" in p.stderr
    # An input the card refuses: before the card's date.
    p = run("scorecard", "show", "--inputs",
            CLEAN.replace("date=2026-12-01", "date=2026-11-30"), SHIPPED)
    assert p.returncode == 2 and b"in force from 2026-12-01" in p.stderr


def test_the_shipped_card_is_accepted_and_shown():
    p = run("scorecard", "check", SHIPPED)
    assert p.returncode == 0, p.stderr
    assert p.stdout.decode() == "%s: card kz_demo version 2 from 2026-12-01, good\n" % SHIPPED
    p = run("scorecard", "show", SHIPPED)
    assert p.returncode == 0, p.stderr
    out = p.stdout.decode()
    with open(SHIPPED, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    assert "sha256 %s\n" % digest in out
    assert "approve from 600 points, refer from 520" in out
    assert "[attribute debt_burden_bp]" in out
    # The file from the environment when none is given.
    p = run("scorecard", "show", env={"SENIM_SCORECARD": SHIPPED})
    assert p.returncode == 0 and p.stdout.decode() == out


def test_a_bad_card_is_refused_naming_the_line():
    text = shipped_text()
    with tempfile.TemporaryDirectory(dir=TMP) as d:
        path = os.path.join(d, "card.conf")
        bad = text.replace("band = 2..3 70 many_active_loans",
                           "band = 1..3 70 many_active_loans")
        line = bad[:bad.index("band = 1..3 70")].count("\n") + 1
        with open(path, "w", encoding="utf-8") as f:
            f.write(bad)
        p = run("scorecard", "check", path)
        assert p.returncode == 2
        assert p.stderr.decode() == (
            "senim scorecard: %s:%d: [attribute active_loans] band: 1..3 overlaps "
            "0..1 at line %d\n" % (path, line, line - 1)), p.stderr
        assert p.stdout == b""
        p = run("scorecard", "check", os.path.join(d, "none.conf"))
        assert p.returncode == 3


def test_an_application_is_evaluated():
    p = run("scorecard", "show", "--lang", "en", "--inputs", CLEAN, SHIPPED)
    assert p.returncode == 0, p.stderr
    out = p.stdout.decode()
    assert "decision on 2026-12-01: approve\n" in out
    assert "debt_burden_bp                 1667     150" in out
    assert "lender_overdue_days         missing      20" in out
    assert "650  (approve from 600, refer from 520)" in out
    assert "limit: 10000000 tiyn, 30 days" in out
    assert "reasons:" not in out
    # No bureau answer is not a clean history.
    p = run("scorecard", "show", "--lang", "kk", "--inputs",
            "date=2026-12-01,birth_date=1990-05-05,income_tiyn=30000000,"
            "operator_score=700", SHIPPED)
    assert p.returncode == 0, p.stderr
    out = p.stdout.decode()
    assert "decision on 2026-12-01: decline\n" in out
    assert "bureau_overdue_days         missing       0  bureau_unavailable" in out
    assert "  bureau_unavailable: Кредиттік тарихты алу мүмкін болмады.\n" in out
    assert out.index("bureau_unavailable:") < out.index("score_below_refer:")
    # A hard rule declines whatever the points.
    p = run("scorecard", "show", "--inputs",
            CLEAN.replace("bureau_overdue_days=0", "bureau_overdue_days=61"), SHIPPED)
    out = p.stdout.decode()
    assert "decline (hard rule)" in out
    assert "  bureau_overdue_over_limit: В кредитной истории есть просрочка" in out
