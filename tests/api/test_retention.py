"""Retention (issue 13: C3, O1, D7): `senim retention run` anonymises or
destroys a borrower whose period ended — their data can no longer be read,
through the API or in the raw database bytes — leaves a held one untouched,
changes nothing on a dry run, and does nothing the second time.
"""
import datetime
import os
import tempfile

import pytest

from senim_harness import BACKEND, TMP, borrower
from test_checks import (calm_peers, check, declare, full_capacity_borrower,  # noqa: F401
                         register, world)

SOURCE = os.environ.get("SENIM_SOURCE_DIR",
                        os.path.join(os.path.dirname(__file__), "..", ".."))
SHIPPED = os.path.join(SOURCE, "data", "retention.conf")
ID = {"Senim-Purpose": "identification"}
RET_AUDIT = "SELECT COUNT(*) FROM audit_log WHERE operation LIKE 'retention.%'"


@pytest.fixture(scope="module")
def staff(senim):
    return {r: senim.service_token("ret-" + r, r) for r in ("underwriter", "dpo")}


def kz_today():
    return (datetime.datetime.now(datetime.timezone.utc)
            + datetime.timedelta(hours=5)).date()


def day(offset):
    return (kz_today() + datetime.timedelta(days=offset)).isoformat()


def withdrawn_borrower(senim, staff):
    """A registered borrower who accepted the policy and withdrew it: the
    state consent_withdrawn, its clock started today."""
    body = borrower()
    r = senim.post("/v1/subjects", body, token=staff["underwriter"], headers=ID)
    assert r.status == 201, r
    sid = r.json["id"]
    token = senim.borrower_token(body["phone"])
    consent = senim.accept_policy(token)
    r = senim.delete("/v1/me/consents/" + consent["id"], token=token)
    assert r.status == 200, r
    return sid, body


def readable(senim, staff, sid):
    return senim.get(f"/v1/subjects/{sid}/data", token=staff["underwriter"],
                     headers=ID).status == 200


def raw_bytes(senim):
    if BACKEND == "postgres":
        return None
    data = b""
    for suffix in ("", "-wal"):
        try:
            with open(senim.db + suffix, "rb") as f:
                data += f.read()
        except FileNotFoundError:
            pass
    return data


def wrapped_key(senim, sid):
    rows = senim.sql(f"SELECT hex(wrapped) FROM subject_keys WHERE subject_id = '{sid}'"
                     if BACKEND != "postgres" else
                     f"SELECT encode(wrapped, 'hex') FROM subject_keys"
                     f" WHERE subject_id = '{sid}'")
    return bytes.fromhex(rows[0][0]) if rows else None


def run(senim, *args, check=True):
    if "--file" not in args:
        args = ("--file", SHIPPED) + args
    return senim.cli("retention", "run", *args, check=check)


def test_check_and_show(senim):
    p = senim.cli("retention", "check", SHIPPED)
    assert b"good" in p.stdout
    p = senim.cli("retention", "show", SHIPPED)
    assert b"loan_closed" in p.stdout and b"biometric" in p.stdout


def test_a_bad_file_is_refused_naming_the_line(senim):
    d = tempfile.mkdtemp(dir=TMP)
    path = os.path.join(d, "r.conf")
    with open(SHIPPED, encoding="utf-8") as f:
        lines = f.read().split("\n")
    n = next(i for i, l in enumerate(lines) if l.startswith("retain identity     loan_closed"))
    lines[n] = lines[n].replace(" 10y ", " 9y ")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))
    p = senim.cli("retention", "check", path, check=False)
    assert p.returncode == 2
    assert (f"r.conf:{n + 1}: retain identity loan_closed: 9y is below the legal "
            f"minimum bureau").encode() in p.stderr, p.stderr


def test_due_destroyed_held_untouched_dry_run_and_second_run(senim, staff):
    gone, gone_body = withdrawn_borrower(senim, staff)
    held, _ = withdrawn_borrower(senim, staff)
    key = wrapped_key(senim, gone)
    assert key and readable(senim, staff, gone) and readable(senim, staff, held)
    p = senim.cli("retention", "hold", held, "court", "2-1234/2026")
    hold_id = p.stdout.split()[1].decode()
    assert senim.cli("retention", "hold", held, "court", "x", check=False).returncode == 1

    # Not due yet: 29 days after the withdrawal of the shipped 30.
    p = run(senim, "--date", day(29))
    assert readable(senim, staff, gone)
    assert senim.sql(f"SELECT COUNT(*) FROM retention_done WHERE subject_id = '{gone}'") \
        == [["0"]]

    # The dry run says what it would do and changes nothing.
    before = senim.sql(RET_AUDIT)
    p = run(senim, "--dry-run", "--date", day(31))
    out = p.stdout.decode()
    assert f"{gone} consent_withdrawn destroy" in out, out
    assert f"{held} consent_withdrawn held" in out, out
    assert "dry run" in out
    assert readable(senim, staff, gone)
    assert senim.sql(RET_AUDIT) == before
    assert wrapped_key(senim, gone) == key

    p = run(senim, "--date", day(31))
    assert f"{gone} consent_withdrawn destroy" in p.stdout.decode()
    # Gone: the API cannot read it, nor can anyone with the database.
    r = senim.get(f"/v1/subjects/{gone}/data", token=staff["underwriter"], headers=ID)
    assert r.status == 404 and r.json["code"] == "subject_not_found", r
    assert senim.sql(f"SELECT COUNT(*) FROM subject_keys WHERE subject_id = '{gone}'") \
        == [["0"]]
    assert senim.sql(f"SELECT COUNT(*) FROM subject_records WHERE subject_id = '{gone}'") \
        == [["0"]]
    assert senim.sql(f"SELECT COUNT(*) FROM subject_index WHERE subject_id = '{gone}'") \
        == [["0"]]
    raw = raw_bytes(senim)
    if raw is not None:
        assert key not in raw
    # No lookup by IIN finds them again.
    r = senim.post("/v1/subjects/search", {"iin": gone_body["iin"]},
                   token=staff["underwriter"], headers=ID)
    assert r.status in (200, 404)
    if r.status == 200:
        assert gone not in str(r.json)
    # The held one is untouched.
    assert readable(senim, staff, held)
    # Audited with what was done, never with the data.
    rows = senim.sql("SELECT object, subject_id, purpose, outcome FROM audit_log"
                     f" WHERE operation = 'retention.destroy' AND subject_id = '{gone}'")
    assert rows == [[f"subject:{gone}", gone, "legal_obligation", "success"]]
    # The journal beside the key file names the subject.
    with open(os.path.join(os.path.dirname(senim.keys), "senim.shred")) as f:
        assert f"{gone} destroy " in f.read()

    # A second run does nothing.
    before = senim.sql(RET_AUDIT)
    p = run(senim, "--date", day(31))
    assert gone not in p.stdout.decode()
    assert senim.sql(RET_AUDIT) == before

    # Lifted, the hold's days are added; same-day hold: due now.
    senim.cli("retention", "release", held)
    assert senim.cli("retention", "release", held, check=False).returncode == 1
    run(senim, "--date", day(31))
    assert not readable(senim, staff, held)
    assert senim.sql(f"SELECT COUNT(*) FROM legal_holds WHERE id = '{hold_id}'"
                     " AND lifted_at IS NOT NULL") == [["1"]]


def test_anonymise_keeps_facts_without_the_id(senim, staff):
    d = tempfile.mkdtemp(dir=TMP)
    path = os.path.join(d, "anon.conf")
    with open(SHIPPED, encoding="utf-8") as f:
        text = f.read()
    text = text.replace("retain identity     consent_withdrawn 30d destroy none",
                        "retain identity     consent_withdrawn 60d anonymise none")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    sid, body = withdrawn_borrower(senim, staff)
    stats = int(senim.sql("SELECT COUNT(*) FROM retention_stats")[0][0])
    # Day 45: the other categories' 30 days ended, identity's 60 not yet.
    p = run(senim, "--file", path, "--date", day(45))
    assert f"{sid} consent_withdrawn purge contact" in p.stdout.decode(), p.stdout
    assert senim.sql(f"SELECT COUNT(*) FROM subject_records WHERE subject_id = '{sid}'"
                     " AND category = 'contact'") == [["0"]]
    assert readable(senim, staff, sid)
    p = run(senim, "--file", path, "--date", day(61))
    assert f"{sid} consent_withdrawn anonymise" in p.stdout.decode()
    assert not readable(senim, staff, sid)
    assert int(senim.sql("SELECT COUNT(*) FROM retention_stats")[0][0]) == stats + 1
    born = datetime.date.fromisoformat(body["birth_date"])
    rows = senim.sql("SELECT age_band, state FROM retention_stats ORDER BY id DESC LIMIT 1")
    age = day(61)
    assert rows[0][1] == "consent_withdrawn"
    assert rows[0][0] and "-" in rows[0][0] or rows[0][0] == "65+", (rows, born, age)
    assert senim.sql(f"SELECT action FROM retention_done WHERE subject_id = '{sid}'") \
        == [["anonymised"]]


def test_hold_by_the_dpo_over_the_api(senim, staff):
    sid, _ = withdrawn_borrower(senim, staff)
    path = f"/v1/subjects/{sid}/hold"
    body = {"kind": "investigation", "reference": "INV-2026/17"}
    # Only the DPO holds.
    r = senim.post(path, body, token=staff["underwriter"])
    assert r.status == 403, r
    r = senim.post(path, {"kind": "whim", "reference": "x"}, token=staff["dpo"])
    assert r.status == 422 and r.json["field"] == "kind", r
    r = senim.post(path, {"kind": "court", "reference": "Иванов"}, token=staff["dpo"])
    assert r.status == 422 and r.json["field"] == "reference", r
    r = senim.post(path, body, token=staff["dpo"])
    assert r.status == 201 and r.json["status"] == "held", r
    hold_id = r.json["hold_id"]
    r = senim.post(path, body, token=staff["dpo"])
    assert r.status == 409 and r.json["code"] == "hold_exists", r
    rows = senim.sql("SELECT object, subject_id, outcome FROM audit_log"
                     f" WHERE operation = 'retention.hold.set' AND subject_id = '{sid}'"
                     " ORDER BY seq")
    assert rows == [[f"hold:{hold_id}", sid, "success"],
                    [f"hold:{hold_id}", sid, "unchanged"]]
    p = run(senim, "--date", day(40))
    assert f"{sid} consent_withdrawn held" in p.stdout.decode()
    assert readable(senim, staff, sid)
    r = senim.delete(path, token=staff["dpo"])
    assert r.status == 200 and r.json == {"hold_id": hold_id, "subject_id": sid,
                                          "status": "lifted"}, r
    r = senim.delete(path, token=staff["dpo"])
    assert r.status == 404 and r.json["code"] == "hold_not_found", r
    r = senim.post("/v1/subjects/sbj_nobody/hold", body, token=staff["dpo"])
    assert r.status == 404, r


def test_an_open_loan_holds_automatically(senim, staff):
    sid, body = withdrawn_borrower(senim, staff)
    d = tempfile.mkdtemp(dir=TMP)
    path = os.path.join(d, "loans.csv")
    with open(path, "w", encoding="utf-8") as f:
        f.write("contract_number,iin,principal_tiyn,rate_bp,method,payments,term_days,"
                "start_date,penalty_daily_bp,penalty_annual_bp\n")
        f.write("RET-%d-%s,%s,10000000,5600,annuity,12,,2026-01-10,5,1000\n"
                % (os.getpid(), d[-6:], body["iin"]))
    p = senim.cli("loans", "import", path)
    assert b"imported 1 loans" in p.stdout, p.stdout
    p = run(senim, "--dry-run", "--date", day(3650))
    assert sid not in p.stdout.decode()
    p = run(senim, "--date", day(3650))
    assert sid not in p.stdout.decode()
    assert "with an open loan" in p.stdout.decode()
    assert readable(senim, staff, sid)
    assert senim.sql(f"SELECT COUNT(*) FROM retention_done WHERE subject_id = '{sid}'") \
        == [["0"]]


def test_no_journal_no_shredding(senim, staff):
    """The journal line comes before the key goes: when it cannot be
    written, the run stops and the subject is untouched."""
    sid, _ = withdrawn_borrower(senim, staff)
    journal = os.path.join(os.path.dirname(senim.keys), "senim.shred")
    moved = journal + ".aside"
    if os.path.exists(journal):
        os.rename(journal, moved)
    os.mkdir(journal)  # a directory cannot be appended to
    try:
        p = run(senim, "--date", day(4000), check=False)
        assert p.returncode == 3, p.stderr
        assert readable(senim, staff, sid)
        assert senim.sql(f"SELECT COUNT(*) FROM subject_keys WHERE subject_id = '{sid}'") \
            == [["1"]]
    finally:
        os.rmdir(journal)
        if os.path.exists(moved):
            os.rename(moved, journal)
    run(senim, "--date", day(4000))
    assert not readable(senim, staff, sid)


def test_a_failed_page_is_journalled_rolled_back(senim, staff):
    """The page's intents are written before its transaction; when the
    transaction then fails (here a key that will not go), the journal says
    `rolled_back` for the page's token, so a restore does not shred the
    subject; the run that succeeds says `committed` (vault/shred.h)."""
    sid, _ = withdrawn_borrower(senim, staff)
    journal = os.path.join(os.path.dirname(senim.keys), "senim.shred")
    if BACKEND == "postgres":
        block = ("CREATE TRIGGER block_keys BEFORE DELETE ON subject_keys"
                 " FOR EACH ROW EXECUTE FUNCTION senim_refuse_change()")
        unblock = "DROP TRIGGER block_keys ON subject_keys"
    else:
        block = ("CREATE TRIGGER block_keys BEFORE DELETE ON subject_keys"
                 " BEGIN SELECT RAISE(ABORT, 'blocked'); END;")
        unblock = "DROP TRIGGER block_keys"

    def outcomes():
        with open(journal) as f:
            lines = [line.split() for line in f]
        said = {x[0]: x[1] for x in lines if len(x) == 2}
        return [said.get(x[3]) for x in lines if len(x) == 4 and x[0] == sid]

    senim.sql(block)
    try:
        p = run(senim, "--date", day(31), check=False)
        assert p.returncode != 0, p.stdout
    finally:
        senim.sql(unblock)
    assert readable(senim, staff, sid)
    assert outcomes() == ["rolled_back"]
    run(senim, "--date", day(31))
    assert not readable(senim, staff, sid)
    assert outcomes() == ["rolled_back", "committed"]


def special_first_file(name):
    """The shipped file with identity kept 60 days after a withdrawal
    (anonymised), so the other categories' 30 days purge them first."""
    d = tempfile.mkdtemp(dir=TMP)
    path = os.path.join(d, name)
    with open(SHIPPED, encoding="utf-8") as f:
        text = f.read()
    text = text.replace("retain identity     consent_withdrawn 30d destroy none",
                        "retain identity     consent_withdrawn 60d anonymise none")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def write(senim, staff, sid, category, fields):
    r = senim.request("PUT", f"/v1/subjects/{sid}/data/{category}",
                      token=staff["underwriter"],
                      headers={"Senim-Purpose": "loan_application_review"},
                      body={"fields": fields})
    assert r.status == 200, r


def records(senim, sid, category):
    return senim.sql(f"SELECT COUNT(*) FROM subject_records WHERE subject_id = '{sid}'"
                     f" AND category = '{category}'")[0][0]


def test_special_data_given_again_after_a_purge_is_purged_again(senim, staff):
    """D7: a purge is not forever — medical data given again after one has
    its own period and is purged when it ends."""
    path = special_first_file("again.conf")
    body = borrower()
    r = senim.post("/v1/subjects", body, token=staff["underwriter"], headers=ID)
    assert r.status == 201, r
    sid = r.json["id"]
    token = senim.borrower_token(body["phone"])

    def given_then_withdrawn():
        consent = senim.accept_policy(token)
        write(senim, staff, sid, "medical", {"legal_capacity": "full"})
        r = senim.delete("/v1/me/consents/" + consent["id"], token=token)
        assert r.status == 200, r

    given_then_withdrawn()
    p = run(senim, "--file", path, "--date", day(45))
    assert f"{sid} consent_withdrawn purge medical" in p.stdout.decode(), p.stdout
    assert records(senim, sid, "medical") == "0"
    # They come back, give medical data again, withdraw again.
    given_then_withdrawn()
    assert records(senim, sid, "medical") == "1"
    p = run(senim, "--file", path, "--date", day(46))
    assert f"{sid} consent_withdrawn purge medical" in p.stdout.decode(), p.stdout
    assert records(senim, sid, "medical") == "0"
    assert readable(senim, staff, sid)


def test_a_category_purge_takes_the_state_database_answer_too(world):
    """D7: purging medical data takes the capacity database's sealed answer
    (medical.legal_capacity, medical.source_body) and the findings about
    it; the family database's answer stays."""
    s = world["senim"]
    d = tempfile.mkdtemp(dir=TMP)
    path = os.path.join(d, "medical.conf")
    with open(SHIPPED, encoding="utf-8") as f:
        text = f.read()
    text = text.replace("retain medical      consent_withdrawn 30d destroy none",
                        "retain medical      consent_withdrawn 10d destroy none")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    sid, body, token = register(world, body=full_capacity_borrower(True))
    # Declared otherwise than the database answers: a finding names the answer.
    declare(world, sid, "medical", {"legal_capacity": "limited"})
    for kind in ("capacity", "family"):
        r = check(world, sid, kind)
        assert r.status == 200, r

    def sources():
        return s.sql(f"SELECT recipient FROM subject_sources WHERE subject_id = '{sid}'"
                     " ORDER BY recipient")

    def findings():
        return s.sql(f"SELECT category FROM subject_findings WHERE subject_id = '{sid}'")

    assert sources() == [["capacity_db"], ["family_db"]]
    assert ["medical"] in findings()
    for c in s.get("/v1/me/consents", token=token).json["consents"]:
        if not c.get("withdrawn_at"):
            r = s.delete("/v1/me/consents/" + c["id"], token=token)
            assert r.status == 200, r
    p = s.cli("retention", "run", "--file", path, "--date", day(15))
    assert f"{sid} consent_withdrawn purge medical" in p.stdout.decode(), p.stdout
    assert sources() == [["family_db"]]
    assert ["medical"] not in findings()
    assert s.sql(f"SELECT COUNT(*) FROM subject_records WHERE subject_id = '{sid}'"
                 " AND category = 'medical'") == [["0"]]


def test_medical_data_held_only_in_a_state_database_answer_is_purged_at_its_period(world):
    """D7: no medical record, only the capacity database's answer
    (medical.legal_capacity): the run sees the category in the answer and
    purges it at medical's own period, not at the subject's shredding.  A
    source row kept before its categories were written down (NULL) is
    opened once, its categories filled in, and purged the same."""
    s = world["senim"]
    d = tempfile.mkdtemp(dir=TMP)
    path = os.path.join(d, "medical-only.conf")
    with open(SHIPPED, encoding="utf-8") as f:
        text = f.read()
    text = text.replace("retain medical      consent_withdrawn 30d destroy none",
                        "retain medical      consent_withdrawn 10d destroy none")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    sids = []
    for _ in range(2):
        sid, body, token = register(world, body=full_capacity_borrower(True))
        for kind in ("capacity", "family"):
            r = check(world, sid, kind)
            assert r.status == 200, r
        for c in s.get("/v1/me/consents", token=token).json["consents"]:
            if not c.get("withdrawn_at"):
                r = s.delete("/v1/me/consents/" + c["id"], token=token)
                assert r.status == 200, r
        sids.append(sid)
    fresh, legacy = sids

    def sources(sid):
        return s.sql("SELECT recipient, categories FROM subject_sources"
                     f" WHERE subject_id = '{sid}' ORDER BY recipient")

    for sid in sids:
        assert s.sql(f"SELECT COUNT(*) FROM subject_records WHERE subject_id = '{sid}'"
                     " AND category = 'medical'") == [["0"]]
        assert sources(sid) == [["capacity_db", "medical"], ["family_db", "family"]]
    # As a row kept before migration 27 reads.
    s.sql(f"UPDATE subject_sources SET categories = NULL WHERE subject_id = '{legacy}'")
    # Not yet due: nothing purged, and the dry run writes nothing.
    p = s.cli("retention", "run", "--file", path, "--date", day(5))
    assert not any(sid in p.stdout.decode() for sid in sids), p.stdout
    s.sql(f"UPDATE subject_sources SET categories = NULL WHERE subject_id = '{legacy}'")
    p = s.cli("retention", "run", "--dry-run", "--file", path, "--date", day(15))
    for sid in sids:
        assert f"{sid} consent_withdrawn purge medical" in p.stdout.decode(), p.stdout
    assert sources(legacy) == [["capacity_db", ""], ["family_db", ""]]
    p = s.cli("retention", "run", "--file", path, "--date", day(15))
    for sid in sids:
        assert f"{sid} consent_withdrawn purge medical" in p.stdout.decode(), p.stdout
        assert sources(sid) == [["family_db", "family"]], sid
        assert s.sql("SELECT outcome FROM audit_log WHERE operation = 'retention.purge'"
                     f" AND subject_id = '{sid}' AND categories = 'medical'") \
            == [["success"]]
    # The rest stays until its own period.
    p = s.cli("retention", "run", "--file", path, "--date", day(16))
    assert not any(sid in p.stdout.decode() for sid in sids), p.stdout
