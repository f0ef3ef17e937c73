"""The regulatory rules file from the outside (issue 12): `senim rules
check|show`.

Each rule of the file and its exact message are unit-tested in
tests/unit/test_loan_rules.c; here the commands answer, accept the shipped
file, name the line of a bad one, and show the rules in force on a date.
"""
import os
import subprocess
import tempfile

from senim_harness import BIN, TMP

SOURCE = os.environ.get("SENIM_SOURCE_DIR",
                        os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SHIPPED = os.path.join(SOURCE, "data", "loan-rules.conf")


def run(*args, env=None):
    return subprocess.run([BIN, *args], capture_output=True, timeout=60,
                          env=dict(os.environ, **(env or {})))


def shipped_text():
    with open(SHIPPED, encoding="utf-8") as f:
        return f.read()


def write(directory, text):
    path = os.path.join(directory, "rules.conf")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def test_help_answers():
    p = run("rules", "--help")
    assert p.returncode == 0
    assert b"senim rules check FILE" in p.stdout
    assert b"--date" in p.stdout
    assert b"rules" in run("--help").stdout
    assert run("rules").returncode == 2
    p = run("rules", "verify", "x")
    assert p.returncode == 2 and b"--help" in p.stderr
    p = run("rules", "check")
    assert p.returncode == 2 and b"which file?" in p.stderr
    p = run("rules", "check", "--date", "2026-01-01", SHIPPED)
    assert p.returncode == 2 and b"--date goes with show" in p.stderr


def test_the_shipped_file_is_accepted_and_shown():
    p = run("rules", "check", SHIPPED)
    assert p.returncode == 0, p.stderr
    assert b"good" in p.stdout
    p = run("rules", "show", "--date", "2026-01-01", SHIPPED)
    assert p.returncode == 0, p.stderr
    out = p.stdout.decode()
    assert "1 МРП = 432500 tiyn" in out
    assert "ГЭСВ at most 4600 bp" in out
    assert "past 90 days of a delay, at most 3 bp a day" in out
    assert "source: " in out
    # The file from the environment when none is given.
    p = run("rules", "show", "--date", "2026-01-01", env={"SENIM_LOAN_RULES": SHIPPED})
    assert p.returncode == 0 and p.stdout.decode() == out


def test_a_year_without_its_mrp_is_named():
    """The shipped file's МРП ends with 2026: shown on a date of 2027, the
    2026 figure stands in and the output says the year's is missing; a
    file whose last МРП is of an earlier year warns at check."""
    p = run("rules", "show", "--date", "2027-01-05", SHIPPED)
    assert p.returncode == 0, p.stderr
    out = p.stdout.decode()
    assert "1 МРП = 432500 tiyn" in out
    assert "NOTE: no МРП for 2027 in the file: 2026's stands in" in out
    p = run("rules", "show", "--date", "2026-06-01", SHIPPED)
    assert p.returncode == 0 and "NOTE" not in p.stdout.decode()
    with tempfile.TemporaryDirectory(dir=TMP) as d:
        text = shipped_text()
        cut = text.index("[rule mrp]\nfrom = 2026-01-01")
        stale = text[:cut] + text[cut:].split("\n\n", 1)[1]
        p = run("rules", "check", write(d, stale))
        assert p.returncode == 0, p.stderr
        assert b"warning: " in p.stderr and b"has no \xd0\x9c\xd0\xa0\xd0\x9f for" in p.stderr
        assert b"2025's stands in" in p.stderr


def test_a_bad_file_is_refused_naming_the_line():
    text = shipped_text()
    with tempfile.TemporaryDirectory(dir=TMP) as d:
        # A second 2026 МРП overlaps the first.
        lines = text.count("\n")
        path = write(d, text + "[rule mrp]\nfrom = 2026-01-01\nsource = x\ntiyn = 1\n")
        p = run("rules", "check", path)
        assert p.returncode == 2
        err = p.stderr.decode()
        assert err.startswith("senim rules: %s:%d: [rule mrp] from: 2026-01-01 is not "
                              "later than 2026-01-01" % (path, lines + 1)), err
        assert p.stdout == b""
        # The ГЭСВ cap missing.
        start = text.index("[rule gesv_cap]")
        end = text.index("[rule short_loan]")
        path = write(d, text[:start] + text[end:])
        p = run("rules", "check", path)
        assert p.returncode == 2
        assert b"no [rule gesv_cap] in the file" in p.stderr
        # A value out of range names its key.
        path = write(d, text.replace("bp = 4600", "bp = 0"))
        p = run("rules", "check", path)
        assert p.returncode == 2
        assert b"[rule gesv_cap] bp: a whole number from 1 to 100000" in p.stderr


def test_show_on_a_date_before_the_rules():
    p = run("rules", "show", "--date", "2000-01-01", SHIPPED)
    assert p.returncode == 1
    assert b"in force on 2000-01-01" in p.stderr
    p = run("rules", "show", "--date", "2026-02-30", SHIPPED)
    assert p.returncode == 2
    p = run("rules", "check", os.path.join(TMP, "no-such-rules.conf"))
    assert p.returncode == 3
