"""Backup and restore (issue 13: O1): `senim backup DIR` while senim serves,
`senim restore DIR` with the server stopped.  Crypto-shredding survives a
restore: back up, destroy a subject, restore the old backup — that subject's
data cannot be decrypted (API, rows, raw bytes), everyone else's can.  A
backup of another deployment, a damaged one and a store that is not empty
without --force are refused, each changing nothing.
"""
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import uuid

import pytest

from senim_harness import BACKEND, BIN, TMP, Senim, fresh_db_target
from test_retention import ID, day, raw_bytes, readable, run, withdrawn_borrower, \
    wrapped_key


def restore(s, directory, *args, check=True):
    return s.cli("restore", directory, *args, check=check)


def store_fingerprint(s):
    """What a refused restore must leave as it was."""
    rows = s.sql("SELECT (SELECT COUNT(*) FROM subjects), (SELECT COUNT(*) FROM"
                 " subject_keys), (SELECT COUNT(*) FROM audit_log)")
    if BACKEND == "postgres":
        return rows
    with open(s.db, "rb") as f:
        return rows, hashlib.sha256(f.read()).hexdigest()


def test_shredding_survives_restore():
    s = Senim().start()
    staff = {r: s.service_token("bk-" + r, r) for r in ("underwriter", "dpo")}
    gone, gone_body = withdrawn_borrower(s, staff)
    kept, _ = withdrawn_borrower(s, staff)
    s.cli("retention", "hold", kept, "court", "2-77/2026")
    key = wrapped_key(s, gone)
    assert key and readable(s, staff, gone) and readable(s, staff, kept)

    # Online: the server keeps serving while the backup is made.
    out = os.path.join(tempfile.mkdtemp(dir=TMP), "b1")
    p = s.cli("backup", out)
    assert b"deployment" in p.stdout and b"sha256" in p.stdout, p.stdout
    assert sorted(os.listdir(out)) == sorted(
        ["manifest.json", "store.sqlite" if BACKEND != "postgres" else "store.pgdump"])
    with open(os.path.join(out, "manifest.json")) as f:
        manifest = json.load(f)
    with open(os.path.join(os.path.dirname(s.keys), "senim.deployment")) as f:
        deployment = f.read().strip()
    assert manifest["deployment"] == deployment
    assert s.sql("SELECT id FROM deployment") == [[deployment]]
    assert manifest["schema_version"] >= 20 and manifest["format"] == "senim-backup-1"
    part = os.path.join(out, manifest["parts"][0]["name"])
    with open(part, "rb") as f:
        data = f.read()
    assert hashlib.sha256(data).hexdigest() == manifest["parts"][0]["sha256"]
    # Encrypted: neither the store's text nor the sealed key is readable in it.
    assert b"subject_keys" not in data and key not in data
    assert not data.startswith(b"SQLite format") and not data.startswith(b"PGDMP")
    # No key, journal or anchor in the backup.
    with open(s.keys, "rb") as f:
        keyfile = f.read()
    assert keyfile not in data
    assert readable(s, staff, kept)
    made = s.sql("SELECT object, outcome FROM audit_log WHERE operation = 'backup.make'")
    assert made == [[f"backup:{deployment}:{manifest['created_at']}", "success"]]

    # A second backup into the same directory is refused.
    p = s.cli("backup", out, check=False)
    assert p.returncode == 1 and b"holds a backup already" in p.stderr

    # Destroy `gone` after the backup.
    run(s, "--date", day(31))
    assert not readable(s, staff, gone) and readable(s, staff, kept)
    assert s.stop() == 0

    # A store with data is replaced only with --force.
    before = store_fingerprint(s)
    p = restore(s, out, check=False)
    assert p.returncode == 1 and b"not empty" in p.stderr, p.stderr
    assert store_fingerprint(s) == before

    p = restore(s, out, "--force")
    assert s.sql(f"SELECT COUNT(*) FROM subject_keys WHERE subject_id = '{gone}'") \
        == [["0"]]
    assert s.sql(f"SELECT COUNT(*) FROM subject_records WHERE subject_id = '{gone}'") \
        == [["0"]]
    raw = raw_bytes(s)
    if raw is not None:
        assert key not in raw
    rows = s.sql("SELECT outcome FROM audit_log WHERE operation = 'restore.shred'"
                 f" AND subject_id = '{gone}'")
    assert rows == [["success"]]
    assert b"shredded again  1 subjects" in p.stdout, p.stdout
    assert not os.path.exists(os.path.join(os.path.dirname(s.keys), "senim.restoring"))
    assert s.sql("SELECT object FROM audit_log WHERE operation = 'backup.restore'") \
        == [[f"backup:{deployment}:{manifest['created_at']}"]]
    # The restored log verifies; the anchor of the replaced one is kept.
    p = s.cli("audit", "verify")
    assert b"intact" in p.stdout, p.stdout
    assert any(n.startswith("senim.anchor.before-restore-")
               for n in os.listdir(os.path.dirname(s.keys)))

    # Served again: the restored store reads everyone but the destroyed one.
    s2 = Senim(data_dir=s.data_dir, db=s.db).start()
    try:
        assert readable(s2, staff, kept)
        r = s2.get(f"/v1/subjects/{gone}/data", token=staff["underwriter"], headers=ID)
        assert r.status == 404, r
        r = s2.post("/v1/subjects/search", {"iin": gone_body["iin"]},
                    token=staff["underwriter"], headers=ID)
        assert r.status in (200, 404) and gone not in str(r.json)
    finally:
        assert s2.stop() == 0

    # Restoring again is harmless: the journal is applied once more.
    p = restore(s, out, "--force")
    rows = s.sql("SELECT outcome FROM audit_log WHERE operation = 'restore.shred'"
                 f" AND subject_id = '{gone}'")
    assert rows == [["success"]], rows  # the backup's log again, and this restore's record
    assert b"intact" in s.cli("audit", "verify").stdout


def test_another_deployment_and_damage_are_refused():
    s = Senim().start()
    s.service_token("bk-admin", "admin")
    out = os.path.join(tempfile.mkdtemp(dir=TMP), "b")
    s.cli("backup", out)
    assert s.stop() == 0
    with open(os.path.join(out, "manifest.json")) as f:
        manifest = json.load(f)

    # Another deployment, with data of its own: refused, both ids named.
    other = Senim(sms=False)
    other.cli("migrate")
    other.cli("staff", "add", "other-admin", "--role", "admin", "--api-token")
    with open(os.path.join(os.path.dirname(other.keys), "senim.deployment")) as f:
        other_id = f.read().strip()
    before = store_fingerprint(other)
    p = other.cli("restore", out, "--force", check=False)
    assert p.returncode == 1, p.stderr
    msg = p.stderr.decode()
    assert manifest["deployment"] in msg and other_id in msg and "nothing changed" in msg
    assert store_fingerprint(other) == before

    # Another deployment with no store yet: refused before one is made.
    fresh_dir = tempfile.mkdtemp(prefix="senim-", dir=TMP)
    keys = os.path.join(other.data_dir, "keys", "senim.keys")
    target = fresh_db_target(fresh_dir) if BACKEND == "postgres" \
        else os.path.join(fresh_dir, "senim.db")
    p = subprocess.run([BIN, "restore", out, "--data-dir", fresh_dir, "--db", target,
                        "--keys", keys], capture_output=True)
    assert p.returncode == 1 and other_id.encode() in p.stderr
    if BACKEND != "postgres":
        assert not os.path.exists(target)

    # A damaged part: refused before the store is touched.
    part = os.path.join(out, manifest["parts"][0]["name"])
    with open(part, "r+b") as f:
        f.seek(100)
        b = f.read(1)
        f.seek(100)
        f.write(bytes([b[0] ^ 1]))
    before = store_fingerprint(s)
    p = restore(s, out, "--force", check=False)
    assert p.returncode == 1 and b"does not match its hash" in p.stderr, p.stderr
    assert store_fingerprint(s) == before

    # A manifest edited to fit the hash still does not open: the key is
    # bound to what the manifest says.
    with open(part, "rb") as f:
        manifest["parts"][0]["sha256"] = hashlib.sha256(f.read()).hexdigest()
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f)
    p = restore(s, out, "--force", check=False)
    assert p.returncode == 1 and b"does not open" in p.stderr, p.stderr
    assert store_fingerprint(s) == before
    # Of a newer schema than this senim knows: refused.
    manifest["schema_version"] = 999
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f)
    p = restore(s, out, "--force", check=False)
    assert p.returncode == 1 and b"newer schema" in p.stderr, p.stderr
    assert store_fingerprint(s) == before
    # Not a backup at all.
    p = restore(s, tempfile.mkdtemp(dir=TMP), "--force", check=False)
    assert p.returncode == 1 and b"not a backup" in p.stderr


def test_an_unfinished_restore_keeps_the_store_closed():
    s = Senim(sms=False)
    s.cli("migrate")
    marker = os.path.join(os.path.dirname(s.keys), "senim.restoring")
    with open(marker, "w") as f:
        f.write("x\n")
    p = s.cli("migrate", check=False)
    assert p.returncode == 3 and b"did not finish" in p.stderr
    os.unlink(marker)
    s.cli("migrate")


def test_a_key_directory_of_another_deployment_is_refused():
    a = Senim(sms=False)
    a.cli("migrate")
    b = Senim(sms=False)
    b.cli("migrate")
    # a's store with b's key directory: the ids differ.
    with open(os.path.join(os.path.dirname(b.keys), "senim.deployment")) as f:
        b_id = f.read().strip()
    a_id = a.sql("SELECT id FROM deployment")[0][0]
    os.makedirs(os.path.join(a.data_dir, "keys2"), mode=0o700)
    keys2 = os.path.join(a.data_dir, "keys2", "senim.keys")
    with open(a.keys, "rb") as f, open(keys2, "wb") as g:
        g.write(f.read())
    os.chmod(keys2, 0o600)
    with open(os.path.join(a.data_dir, "keys2", "senim.deployment"), "w") as g:
        g.write(b_id + "\n")
    p = subprocess.run([BIN, "migrate", "--data-dir", a.data_dir, "--db", a.db,
                        "--keys", keys2], capture_output=True)
    assert p.returncode == 3
    assert a_id.encode() in p.stderr and b_id.encode() in p.stderr, p.stderr


TOOL_SPY = """#!/bin/sh
# Records what senim hands the PostgreSQL tool, then runs the real one.
name=$(basename "$0")
printf '%s\\n' "$@" >"$SPY_DIR/$name.args"
printf '%s' "${PGPASSWORD-}" >"$SPY_DIR/$name.password"
exec "$SPY_REAL_DIR/$name" "$@"
"""


@pytest.mark.skipif(BACKEND != "postgres", reason="pg_dump and pg_restore serve PostgreSQL")
def test_the_password_never_reaches_the_tools_arguments():
    """pg_dump and pg_restore run as other processes, whose arguments any
    user of the host can read: the URL's password goes in their
    environment, never in their arguments."""
    secret = "pw-" + uuid.uuid4().hex
    url = fresh_db_target(tempfile.mkdtemp(prefix="senim-", dir=TMP))
    # Authentication is `trust` on the test server: any password is taken.
    url = url.replace("postgresql://postgres@", f"postgresql://postgres:{secret}@", 1)
    s = Senim(db=url).start()
    s.service_token("bk-admin", "admin")
    spy = tempfile.mkdtemp(dir=TMP)
    for name in ("pg_dump", "pg_restore"):
        path = os.path.join(spy, name)
        with open(path, "w") as f:
            f.write(TOOL_SPY)
        os.chmod(path, 0o700)
    env = dict(os.environ, PATH=spy + os.pathsep + os.environ["PATH"], SPY_DIR=spy,
               SPY_REAL_DIR=os.path.dirname(shutil.which("pg_dump")), SENIM_DB=url)
    common = ["--data-dir", s.data_dir, "--keys", s.keys]
    out = os.path.join(tempfile.mkdtemp(dir=TMP), "b")
    p = subprocess.run([BIN, "backup", out, *common], env=env, capture_output=True)
    assert p.returncode == 0, p.stderr
    assert s.stop() == 0
    p = subprocess.run([BIN, "restore", out, "--force", *common], env=env,
                       capture_output=True)
    assert p.returncode == 0, p.stderr
    for name in ("pg_dump", "pg_restore"):
        with open(os.path.join(spy, name + ".args")) as f:
            args = f.read()
        with open(os.path.join(spy, name + ".password")) as f:
            password = f.read()
        assert "--dbname=" in args and "127.0.0.1" in args, args
        assert secret not in args, name
        assert password == secret, name
    assert secret.encode() not in p.stdout + p.stderr


KILL_PPID = """#!/bin/sh
# A crash of senim while the PostgreSQL tool restores: it kills its parent.
kill -9 $PPID
exit 1
"""


def killed_restore(s, out, point):
    """`senim restore OUT --force` killed with SIGKILL at one point of its
    work: strace injects the signal when senim makes that system call on
    that path (PostgreSQL's restore itself: a pg_restore that kills its
    parent)."""
    keydir = os.path.dirname(s.keys)
    env = dict(os.environ)
    cmd = [BIN, "restore", out, "--force", *s.common_args()]
    if point == "restore" and BACKEND == "postgres":
        spy = tempfile.mkdtemp(dir=TMP)
        path = os.path.join(spy, "pg_restore")
        with open(path, "w") as f:
            f.write(KILL_PPID)
        os.chmod(path, 0o700)
        env["PATH"] = spy + os.pathsep + env["PATH"]
    else:
        syscalls, path, when = {
            # the marker is written: the audit anchor is set aside next
            "marker": ("rename,renameat,renameat2",
                       os.path.join(keydir, "senim.anchor"), ""),
            # pages of the restored copy going into the store's WAL
            "restore": ("pwrite64,write", s.db + "-wal", ":when=3"),
            # every step done but removing the marker
            "last": ("unlink,unlinkat", os.path.join(keydir, "senim.restoring"), ""),
        }[point]
        cmd = ["strace", "-f", "-qq", "-o", "/dev/null", "-e", "trace=" + syscalls,
               "-e", f"inject={syscalls}:signal=KILL{when}", "-P", path, *cmd]
    p = subprocess.run(cmd, env=env, capture_output=True, timeout=120)
    assert p.returncode in (-9, 137), (point, p.returncode, p.stderr)


@pytest.mark.parametrize("point", ["marker", "restore", "last"])
def test_a_restore_killed_at_any_step_is_finished_by_the_next(point):
    """kill -9 during `senim restore`: the store stays closed, and the next
    `senim restore` of the same backup (no --force needed) finishes it, the
    subject destroyed after the backup shredded again."""
    s = Senim().start()
    staff = {r: s.service_token("bk-" + r, r) for r in ("underwriter", "dpo")}
    gone, _ = withdrawn_borrower(s, staff)
    kept, _ = withdrawn_borrower(s, staff)
    s.cli("retention", "hold", kept, "court", "2-77/2026")
    out = os.path.join(tempfile.mkdtemp(dir=TMP), "b")
    s.cli("backup", out)
    run(s, "--date", day(31))
    assert not readable(s, staff, gone) and readable(s, staff, kept)
    assert s.stop() == 0

    killed_restore(s, out, point)
    assert os.path.exists(os.path.join(os.path.dirname(s.keys), "senim.restoring"))
    p = s.cli("migrate", check=False)
    assert p.returncode == 3 and b"did not finish" in p.stderr, p.stderr

    p = restore(s, out)
    assert b"shredded again  1 subjects" in p.stdout, p.stdout
    assert not os.path.exists(os.path.join(os.path.dirname(s.keys), "senim.restoring"))
    assert s.sql(f"SELECT COUNT(*) FROM subject_keys WHERE subject_id = '{gone}'") \
        == [["0"]]
    assert b"intact" in s.cli("audit", "verify").stdout
    s2 = Senim(data_dir=s.data_dir, db=s.db).start()
    try:
        assert readable(s2, staff, kept) and not readable(s2, staff, gone)
    finally:
        assert s2.stop() == 0


def test_a_subject_destroyed_by_request_stays_destroyed_after_restore():
    """Destroyed on their request after the backup: a restore shreds them
    again with everything the request destroyed — the access package, the
    question's text — not only the key."""
    from contract import SOURCE_DIR
    from senim_harness import borrower
    s = Senim(extra_args=["--calendar", os.path.join(SOURCE_DIR, "data", "calendar")])
    s.start()
    staff = {r: s.service_token("bq-" + r, r) for r in ("underwriter", "dpo")}
    b = borrower()
    r = s.post("/v1/subjects", b, token=staff["underwriter"], headers=ID)
    assert r.status == 201, r
    sid, token = r.json["id"], s.borrower_token(b["phone"])

    def filed(body):
        r = s.post("/v1/me/requests", body, token=token)
        assert r.status == 201, r
        return r.json["id"]

    def fulfilled(rid):
        r = s.post(f"/v1/requests/{rid}/answer", {"answer": "fulfilled"},
                   token=staff["dpo"])
        assert r.status == 200 and r.json["status"] == "accepted", r

    fulfilled(filed({"type": "access"}))
    filed({"type": "question", "text": "Кому вы передавали мои данные?"})
    counts = ("SELECT (SELECT COUNT(*) FROM rights_packages WHERE subject_id = '%s'),"
              " (SELECT COUNT(*) FROM rights_requests WHERE subject_id = '%s'"
              "  AND text_sealed IS NOT NULL)" % (sid, sid))
    assert s.sql(counts) == [["1", "1"]]
    out = os.path.join(tempfile.mkdtemp(dir=TMP), "b")
    s.cli("backup", out)
    fulfilled(filed({"type": "destruction"}))
    assert s.sql(counts) == [["0", "0"]]
    assert s.stop() == 0
    p = restore(s, out, "--force")
    assert b"shredded again  1 subjects" in p.stdout, p.stdout
    assert s.sql(counts) == [["0", "0"]]
    assert s.sql(f"SELECT COUNT(*) FROM subject_keys WHERE subject_id = '{sid}'") \
        == [["0"]]


def test_a_shredding_that_rolled_back_is_not_replayed_by_a_restore():
    """A destruction journalled and then rolled back is not shredded by a
    restore: one whose own work failed (a key that would not go) says so in
    the journal at once; one whose batch failed after it (the audit record
    refused) is settled by the restore, which asks the store it replaces.
    A committed one is shredded again, as ever (vault/shred.h)."""
    from contract import SOURCE_DIR
    from senim_harness import borrower
    from test_fail_closed import block_audit_sql, unblock_audit_sql
    s = Senim(extra_args=["--calendar", os.path.join(SOURCE_DIR, "data", "calendar")])
    s.start()
    staff = {r: s.service_token("rb-" + r, r) for r in ("underwriter", "dpo")}
    sids, rids = [], []
    for _ in range(3):
        b = borrower()
        r = s.post("/v1/subjects", b, token=staff["underwriter"], headers=ID)
        assert r.status == 201, r
        sids.append(r.json["id"])
        r = s.post("/v1/me/requests", {"type": "destruction"},
                   token=s.borrower_token(b["phone"]))
        assert r.status == 201, r
        rids.append(r.json["id"])
    failed, unknown, done = sids
    out = os.path.join(tempfile.mkdtemp(dir=TMP), "b")
    s.cli("backup", out)

    def answer(rid):
        return s.post(f"/v1/requests/{rid}/answer", {"answer": "fulfilled"},
                      token=staff["dpo"])

    if BACKEND == "postgres":
        block = ("CREATE TRIGGER block_keys BEFORE DELETE ON subject_keys"
                 " FOR EACH ROW EXECUTE FUNCTION senim_refuse_change()")
        unblock = "DROP TRIGGER block_keys ON subject_keys"
    else:
        block = ("CREATE TRIGGER block_keys BEFORE DELETE ON subject_keys"
                 " BEGIN SELECT RAISE(ABORT, 'blocked'); END;")
        unblock = "DROP TRIGGER block_keys"
    s.sql(block)
    r = answer(rids[0])
    s.sql(unblock)
    assert r.status >= 500, r
    s.sql(block_audit_sql())
    r = answer(rids[1])
    s.sql(unblock_audit_sql())
    assert r.status >= 500, r
    r = answer(rids[2])
    assert r.status == 200 and r.json["status"] == "accepted", r
    for sid in sids:
        want = "0" if sid == done else "1"
        assert s.sql(f"SELECT COUNT(*) FROM subject_keys WHERE subject_id = '{sid}'") \
            == [[want]], sid
    journal = os.path.join(os.path.dirname(s.keys), "senim.shred")

    def outcomes():
        with open(journal) as f:
            lines = [line.split() for line in f]
        tokens = {x[0]: x[3] for x in lines if len(x) == 4}
        said = {x[0]: x[1] for x in lines if len(x) == 2}
        return {sid: said.get(tokens[sid]) for sid in sids}

    assert outcomes() == {failed: "rolled_back", unknown: None, done: "committed"}
    assert s.stop() == 0

    p = restore(s, out, "--force")
    assert b"shredded again  1 subjects" in p.stdout, p.stdout
    assert b"settled     0 committed, 1 rolled back" in p.stdout, p.stdout
    assert outcomes() == {failed: "rolled_back", unknown: "rolled_back",
                          done: "committed"}
    for sid in sids:
        want = "0" if sid == done else "1"
        assert s.sql(f"SELECT COUNT(*) FROM subject_keys WHERE subject_id = '{sid}'") \
            == [[want]], sid
    # A second restore (the store now the backup's) keeps it so.
    p = restore(s, out, "--force")
    assert b"shredded again  1 subjects" in p.stdout, p.stdout
    assert s.sql(f"SELECT COUNT(*) FROM subject_keys WHERE subject_id = '{unknown}'") \
        == [["1"]]
