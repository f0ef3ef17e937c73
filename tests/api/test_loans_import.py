"""`senim loans import FILE` (issue 12): a loan portfolio migrated from
another system.  Every row is checked before anything is written (a bad row
named by line, column and rule, never a value); each new row opens a loan
(loan.open) with the bureaus' `issued` event; a contract already imported is
skipped, so re-importing opens nothing twice; contract numbers and IINs are
never in the database, its files or the logs in plain text.
"""
import glob
import os
import subprocess
import tempfile

import pytest

from senim_harness import BACKEND, TMP, Senim, borrower

HEADER = ("contract_number,iin,principal_tiyn,rate_bp,method,payments,term_days,"
          "start_date,penalty_daily_bp,penalty_annual_bp\n")


@pytest.fixture(scope="module")
def world():
    s = Senim().start()
    staff = {r: s.service_token("li-" + r, r) for r in ("underwriter",)}
    w = {"senim": s, "staff": staff, "dir": tempfile.mkdtemp(prefix="loans-", dir=TMP),
         "n": [0]}
    yield w
    rc = s.stop()
    assert rc == 0, s.read_log()[-4000:]


def register(world):
    body = borrower()
    r = world["senim"].post("/v1/subjects", body, token=world["staff"]["underwriter"],
                            headers={"Senim-Purpose": "identification"})
    assert r.status == 201, r
    return r.json["id"], body["iin"]


def contract(world):
    world["n"][0] += 1
    return "ML-%d-%06d" % (os.getpid(), world["n"][0])


def row(iin, number, method="annuity", payments="12", term_days="",
        start="2026-01-10", principal="30000000", rate="5600", daily="5", annual="1000"):
    return ",".join([number, iin, principal, rate, method, payments, term_days, start,
                     daily, annual])


def write_csv(world, rows, name="loans.csv"):
    path = os.path.join(world["dir"], name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(HEADER + "".join(r + "\n" for r in rows))
    return path


def import_(world, rows, *extra, check=True):
    return world["senim"].cli("loans", "import", write_csv(world, rows), *extra,
                              check=check)


def count(world, table, where="1=1"):
    return int(world["senim"].sql("SELECT COUNT(*) FROM %s WHERE %s" % (table, where))[0][0])


def test_help_names_the_columns(world):
    p = world["senim"].cli("loans", "--help")
    assert b"principal_tiyn,rate_bp,method,payments,term_days" in p.stdout
    assert b"not_registered" in p.stdout


def test_a_good_file_opens_every_loan_with_its_issued_event(world):
    sid, iin = register(world)
    sid2, iin2 = register(world)
    rows = [row(iin, contract(world)),
            row(iin, contract(world), method="differentiated", payments="6"),
            row(iin2, contract(world), method="single", payments="", term_days="30",
                daily="0", annual="0")]
    loans0, events0 = count(world, "loans"), count(world, "loan_events", "event = 'issued'")
    p = import_(world, rows, "--dry-run")
    assert b"checked 3 loans" in p.stdout and b"nothing was imported" in p.stdout, p.stdout
    assert count(world, "loans") == loans0
    p = import_(world, rows)
    assert b"imported 3 loans (3 rows, 0 imported already, 3 issued events)" in p.stdout, p.stdout
    assert count(world, "loans") == loans0 + 3
    assert count(world, "loan_events", "event = 'issued'") == events0 + 3
    got = world["senim"].sql(
        "SELECT method, payments, term_days, status, principal_left FROM loans"
        " WHERE subject_id IN ('%s', '%s') ORDER BY method" % (sid, sid2))
    assert got == [["annuity", "12", "0", "open", "30000000"],
                   ["differentiated", "6", "0", "open", "30000000"],
                   ["single", "0", "30", "open", "30000000"]], got
    assert count(world, "audit_log", "operation = 'loan.open' AND subject_id = '%s'"
                 % sid) == 2
    assert world["senim"].audit_rows("loans.import")


def test_reimport_is_idempotent(world):
    _, iin = register(world)
    rows = [row(iin, contract(world)), row(iin, contract(world))]
    import_(world, rows)
    loans, events = count(world, "loans"), count(world, "loan_events")
    p = import_(world, rows)
    assert b"imported 0 loans (2 rows, 2 imported already, 0 issued events)" in p.stdout, \
        p.stdout
    assert count(world, "loans") == loans and count(world, "loan_events") == events
    # a file that adds one to what was imported opens only that one
    p = import_(world, rows + [row(iin, contract(world))])
    assert b"imported 1 loans (3 rows, 2 imported already" in p.stdout, p.stdout


BAD = [
    # (what the row breaks, its fields, the column named, the rule)
    ({"number": "MK 1"}, "contract_number", "format"),
    ({"number": "M" * 65}, "contract_number", "length"),
    ({"number": ""}, "contract_number", "required"),
    ({"iin": "12345"}, "iin", None),
    ({"principal": "0"}, "principal_tiyn", "range"),
    ({"principal": "10000000000001"}, "principal_tiyn", "range"),
    ({"principal": "-5"}, "principal_tiyn", "format"),
    ({"principal": "01"}, "principal_tiyn", "format"),
    ({"rate": "100001"}, "rate_bp", "range"),
    ({"rate": ""}, "rate_bp", "required"),
    ({"method": "balloon"}, "method", "format"),
    ({"payments": ""}, "payments", "required"),
    ({"payments": "601"}, "payments", "range"),
    ({"payments": "0"}, "payments", "range"),
    ({"term_days": "30"}, "term_days", "term"),
    ({"method": "single", "payments": "12"}, "payments", "term"),
    ({"method": "single", "payments": "", "term_days": ""}, "term_days", "required"),
    ({"method": "single", "payments": "", "term_days": "3661"}, "term_days", "range"),
    ({"start": "2026-02-30"}, "start_date", "format"),
    ({"start": "10.01.2026"}, "start_date", "format"),
    ({"daily": "-1"}, "penalty_daily_bp", "format"),
    ({"annual": "100001"}, "penalty_annual_bp", "range"),
    ({"annual": "x"}, "penalty_annual_bp", "format"),
]


@pytest.mark.parametrize("over,column,rule", BAD)
def test_each_rule_names_its_line_and_column(world, over, column, rule):
    _, iin = register(world)
    args = {"number": contract(world), "iin": iin}
    args.update(over)
    number, iin_ = args.pop("number"), args.pop("iin")
    good = row(iin, contract(world))
    loans = count(world, "loans")
    p = import_(world, [good, row(iin_, number, **args)], check=False)
    assert p.returncode == 1, p
    err = p.stderr.decode()
    want = "line 3, column %s: " % column + (rule or "")
    assert want in err, err
    assert "nothing was imported" in err
    assert count(world, "loans") == loans
    # the values are never in the message
    assert iin not in err and (not number or number not in err)


def test_header_and_columns(world):
    _, iin = register(world)
    path = os.path.join(world["dir"], "bad.csv")
    with open(path, "w") as f:
        f.write("contract,iin\n")
    p = world["senim"].cli("loans", "import", path, check=False)
    assert p.returncode == 1 and b"line 1, column" in p.stderr and b"header" in p.stderr
    p = import_(world, [row(iin, contract(world)) + ",1"], check=False)
    assert p.returncode == 1 and b"line 2, column (row): columns" in p.stderr, p.stderr


def test_unknown_iin_and_duplicate_are_named(world):
    _, iin = register(world)
    stranger = borrower()["iin"]
    loans = count(world, "loans")
    p = import_(world, [row(iin, contract(world)), row(stranger, contract(world))],
                check=False)
    assert p.returncode == 1 and b"line 3, column iin: not_registered" in p.stderr, p.stderr
    number = contract(world)
    p = import_(world, [row(iin, number), row(iin, contract(world)), row(iin, number)],
                check=False)
    assert p.returncode == 1 and b"line 4, column contract_number: duplicate" in p.stderr, \
        p.stderr
    assert count(world, "loans") == loans


def test_usage(world):
    p = world["senim"].cli("loans", "import", check=False)
    assert p.returncode == 2
    p = world["senim"].cli("loans", "import", "/nonexistent/x.csv", check=False)
    assert p.returncode == 3


def files_of(s):
    out = {}
    for path in glob.glob(os.path.join(s.data_dir, "**", "*"), recursive=True):
        if os.path.isfile(path):
            with open(path, "rb") as f:
                out[path] = f.read()
    return out


def test_contract_numbers_and_iins_are_never_in_plain_text():
    s = Senim().start()
    w = {"senim": s, "staff": {"underwriter": s.service_token("lp-uw", "underwriter")},
         "dir": tempfile.mkdtemp(prefix="loans-", dir=TMP), "n": [500]}
    _, iin = register(w)
    numbers = [contract(w) for _ in range(3)]
    p = import_(w, [row(iin, n) for n in numbers])
    assert b"imported 3 loans" in p.stdout
    bad = import_(w, [row(iin, numbers[0] + "X", principal="0")], check=False)
    assert bad.returncode == 1
    audit = "\n".join("|".join(r) for r in s.sql("SELECT * FROM audit_log")).encode()
    os.remove(os.path.join(w["dir"], "loans.csv"))  # the input file itself is ours
    assert s.stop() == 0
    blobs = {"audit_log": audit, "cli": p.stdout + p.stderr + bad.stdout + bad.stderr}
    blobs.update(files_of(s))
    if BACKEND == "postgres":
        dump = subprocess.run(["pg_dump", "--no-owner", s.db], capture_output=True,
                              check=True)
        blobs["pg_dump"] = dump.stdout
        assert b"loans" in dump.stdout
    else:
        assert any(k.endswith("senim.db") for k in blobs)
    needles = [n.encode() for n in numbers] + [iin.encode()]
    leaks = [(name, n) for name, data in blobs.items() for n in needles if n in data]
    assert not leaks, leaks
