"""The audit chain (S4, T6) through the real server and CLI: records for what
happened, `senim audit verify` and GET /v1/audit/verify on an intact chain,
and each kind of tampering named by its first sequence; fail closed.  Then
the attacks of issue 9 by someone who can write the database but holds no
key: a log cut back, rewritten, extended or wiped, a missing or foreign
store — none of them is ever "intact"."""
import hashlib
import json
import os
import struct
import subprocess

import pytest

from senim_harness import BACKEND, BIN, Senim, borrower, fresh_db_target


def unlock_sql():
    """What an attacker with database access does first: lift the guards."""
    if BACKEND == "postgres":
        return "ALTER TABLE audit_log DISABLE TRIGGER USER;"
    return "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;"


@pytest.fixture
def busy_server():
    """A fresh server with 8 audit records: two service accounts created,
    then 6 policy publications."""
    s = Senim().start()
    admin = s.service_token("audit-admin", "admin")
    s.auditor = s.service_token("auditor-1", "auditor")
    for i in range(6):
        r = s.post("/v1/policies", {"version": f"v{i}", "ru": f"р{i}", "kk": f"қ{i}"}, token=admin)
        assert r.status == 201
    s.admin = admin
    yield s
    assert s.stop() == 0


def verify(s):
    p = s.cli("audit", "verify", check=False)
    return p.returncode, p.stdout.decode()


def test_intact_chain(busy_server):
    s = busy_server
    rc, out = verify(s)
    assert rc == 0 and "audit chain intact: 8 records" in out, out
    r = s.get("/v1/audit/verify", token=s.auditor)
    assert r.status == 200 and r.json["intact"] is True and r.json["records"] == 8
    # guards hold: the log is append-only in the database itself
    with pytest.raises(Exception):
        s.sql("UPDATE audit_log SET outcome = 'failed' WHERE seq = 2")
    with pytest.raises(Exception):
        s.sql("DELETE FROM audit_log WHERE seq = 2")
    # ... and so are the signed checkpoints and the published policies,
    # TRUNCATE included where there is one
    for table in ("audit_checkpoints", "policies"):
        with pytest.raises(Exception):
            s.sql(f"DELETE FROM {table}")
        if BACKEND == "postgres":
            with pytest.raises(Exception):
                s.sql(f"TRUNCATE {table}")
    assert verify(s)[0] == 0


@pytest.mark.parametrize("name,tamper,first_bad", [
    ("changed", "UPDATE audit_log SET outcome = 'denied' WHERE seq = 4", 4),
    ("deleted", "DELETE FROM audit_log WHERE seq = 3", 3),
    ("reordered", "UPDATE audit_log SET seq = -5 WHERE seq = 5;"
                  "UPDATE audit_log SET seq = 5 WHERE seq = 6;"
                  "UPDATE audit_log SET seq = 6 WHERE seq = -5", 5),
    ("inserted", "UPDATE audit_log SET seq = seq + 100 WHERE seq >= 3;"
                 "UPDATE audit_log SET seq = seq - 99 WHERE seq >= 103;"
                 "INSERT INTO audit_log (seq, at, actor, operation, object, subject_id,"
                 " categories, purpose, outcome, request_id, hash)"
                 " SELECT 3, at, actor, operation, object, subject_id, categories, purpose,"
                 " outcome, request_id, hash FROM audit_log WHERE seq = 2", 3),
    ("tail cut", "DELETE FROM audit_log WHERE seq = 8", 8),
    # without its signed checkpoints a chain could be recomputed whole
    ("checkpoints deleted",
     ("ALTER TABLE audit_checkpoints DISABLE TRIGGER USER;" if BACKEND == "postgres" else
      "DROP TRIGGER audit_checkpoints_no_delete;") + "DELETE FROM audit_checkpoints", 1),
])
def test_tampering_is_named(busy_server, name, tamper, first_bad):
    s = busy_server
    s.sql(unlock_sql() + tamper + ";")
    rc, out = verify(s)
    assert rc == 1, (name, out)
    assert f"BROKEN at sequence {first_bad}:" in out, (name, out)
    r = s.get("/v1/audit/verify", token=s.auditor)
    assert r.status == 200 and r.json["intact"] is False
    assert r.json["first_bad_seq"] == first_bad and r.json["problem"]


def test_fail_closed_when_audit_cannot_be_written(busy_server):
    s = busy_server
    if BACKEND == "postgres":
        s.sql("CREATE TRIGGER block_audit BEFORE INSERT ON audit_log"
              " FOR EACH ROW EXECUTE FUNCTION senim_refuse_change()")
    else:
        s.sql("CREATE TRIGGER block_audit BEFORE INSERT ON audit_log"
              " BEGIN SELECT RAISE(ABORT, 'blocked'); END;")
    r = s.post("/v1/policies", {"version": "no-audit", "ru": "р", "kk": "қ"}, token=s.admin)
    assert r.status >= 500 and r.header("Content-Type") == "application/problem+json", r
    assert "blocked" not in r.body.decode() and "audit_log" not in r.body.decode()
    # nothing half-written: the version does not exist
    assert s.get("/v1/policies/no-audit").status == 404
    assert s.sql("SELECT count(*) FROM policies WHERE version = 'no-audit'") == [["0"]]
    # a staff change fails closed too
    p = s.cli("staff", "add", "ghost", "--role", "admin", check=False)
    assert p.returncode != 0
    assert s.sql("SELECT count(*) FROM staff WHERE login = 'ghost'") == [["0"]]
    s.sql("DROP TRIGGER block_audit" + (" ON audit_log" if BACKEND == "postgres" else ""))
    assert s.post("/v1/policies", {"version": "no-audit", "ru": "р", "kk": "қ"},
                  token=s.admin).status == 201
    assert verify(s)[0] == 0


# ---- an attacker with the database only, the server stopped (issue 9) ------

def unlock_all_sql():
    """Lift the guards of the log and of its checkpoints, as the owner of
    the database file (SQLite) or a superuser (PostgreSQL) can."""
    if BACKEND == "postgres":
        return ("ALTER TABLE audit_log DISABLE TRIGGER USER;"
                "ALTER TABLE audit_checkpoints DISABLE TRIGGER USER;")
    return ("DROP TRIGGER IF EXISTS audit_log_no_update;"
            "DROP TRIGGER IF EXISTS audit_log_no_delete;"
            "DROP TRIGGER IF EXISTS audit_checkpoints_no_update;"
            "DROP TRIGGER IF EXISTS audit_checkpoints_no_delete;")


def hex_of(col):
    return f"encode({col}, 'hex')" if BACKEND == "postgres" else f"lower(hex({col}))"


def blob(hexdigits):
    return f"'\\x{hexdigits}'::bytea" if BACKEND == "postgres" else f"x'{hexdigits}'"


def is_true(v):
    return v in ("1", "t", "true")


def record_hash(prev, seq, at, fields):
    """audit.h's canonical hash, written again: what an attacker who read
    the source computes.  It needs no key."""
    h = hashlib.blake2b(digest_size=32)
    h.update(prev)
    for v in (seq, at):
        h.update(struct.pack(">I", 8) + struct.pack(">q", v))
    for f in fields:
        if f is None:
            h.update(struct.pack(">I", 0xFFFFFFFF))
        else:
            b = f.encode()
            h.update(struct.pack(">I", len(b)) + b)
    return h.digest()


FIELDS = "actor, operation, object, subject_id, categories, purpose, outcome, request_id"


def recompute_chain(s):
    """Rehash every record from the first and move the head to the last."""
    rows = s.sql(f"SELECT seq, at, {FIELDS}, subject_id IS NULL FROM audit_log ORDER BY seq")
    prev, sql = bytes(32), []
    for r in rows:
        fields = r[2:10]
        if is_true(r[10]):
            fields[3] = None
        prev = record_hash(prev, int(r[0]), int(r[1]), fields)
        sql.append(f"UPDATE audit_log SET hash = {blob(prev.hex())} WHERE seq = {r[0]};")
    seq = rows[-1][0] if rows else "0"
    sql.append(f"UPDATE audit_head SET seq = {seq}, hash = {blob(prev.hex())};")
    s.sql(unlock_all_sql() + "".join(sql))


def checkpoints(s):
    return [int(r[0]) for r in s.sql("SELECT seq FROM audit_checkpoints ORDER BY seq")]


def head(s):
    return int(s.sql("SELECT seq FROM audit_head")[0][0])


@pytest.fixture
def stopped():
    """A store with a borrower's data and a few batches of records, its
    server stopped: the attacker's moment."""
    s = Senim().start()
    admin = s.service_token("audit-admin", "admin")
    underwriter = s.service_token("audit-underwriter", "underwriter")
    for i in range(4):
        r = s.post("/v1/policies", {"version": f"v{i}", "ru": f"р{i}", "kk": f"қ{i}"},
                   token=admin)
        assert r.status == 201
    r = s.post("/v1/subjects", borrower(), token=underwriter,
               headers={"Senim-Purpose": "identification"})
    assert r.status == 201, r
    s.subject = r.json["id"]
    s.admin = admin
    assert s.stop() == 0
    assert verify(s)[0] == 0
    yield s
    if s.proc:
        s.stop()


def test_checkpoints_are_anchored_outside_the_database(stopped):
    s = stopped
    anchor = os.path.join(os.path.dirname(s.keys), "senim.anchor")
    assert os.stat(anchor).st_mode & 0o777 == 0o600
    with open(anchor) as f:
        lines = f.read().splitlines()
    # every batch signed its last record; each checkpoint is in the anchor
    # and in the log stream, the same line in both
    assert checkpoints(s)[-1] == head(s)
    rows = s.sql(f"SELECT seq, {hex_of('hash')} FROM audit_checkpoints ORDER BY seq")
    assert [(int(l.split()[1]), l.split()[2]) for l in lines] == \
        [(int(seq), h) for seq, h in rows]
    # (the server's own batches: the CLI logs its batches to its stderr)
    logged = [json.loads(l)["anchor"] for l in s.read_log().splitlines()
              if '"audit_checkpoint"' in l]
    assert logged and all(l in lines for l in logged), (logged, lines)
    rc, out = verify(s)
    assert rc == 0 and f"the newest at sequence {head(s)}" in out, out


def test_a_log_cut_back_to_a_signed_checkpoint_names_what_is_missing(stopped):
    s = stopped
    last, keep = head(s), checkpoints(s)[-3]
    s.sql(unlock_all_sql() +
          f"DELETE FROM audit_log WHERE seq > {keep};"
          f"DELETE FROM audit_checkpoints WHERE seq > {keep};"
          f"UPDATE audit_head SET seq = {keep},"
          f" hash = (SELECT hash FROM audit_log WHERE seq = {keep});")
    rc, out = verify(s)
    assert rc == 1, out
    assert f"BROKEN at sequence {keep + 1}:" in out, out
    assert f"last anchored sequence missing: {last}" in out, out
    # the server, started on the cut log, writes on under the old numbers
    # and signs them: the anchor still holds what those numbers were
    s.start()
    for i in range(last - keep + 1):
        r = s.post("/v1/policies", {"version": f"w{i}", "ru": "р", "kk": "қ"},
                   token=s.admin)
        assert r.status == 201, r
    assert s.stop() == 0
    rc, out = verify(s)
    assert rc == 1 and "does not match its checkpoint in the anchor file" in out, out


def test_rewritten_last_records_are_named(stopped):
    s = stopped
    last, before = head(s), checkpoints(s)[-2]  # the last batch: before+1 .. last
    s.sql(unlock_all_sql() +
          f"UPDATE audit_log SET actor = 'staff:999' WHERE seq > {before};"
          f"DELETE FROM audit_checkpoints WHERE seq = {last};")
    recompute_chain(s)
    rc, out = verify(s)
    assert rc == 1 and f"BROKEN at sequence {before + 1}:" in out, out
    # the database alone shows it, and so does the anchor
    empty = os.path.join(s.data_dir, "empty.anchor")
    open(empty, "w").close()
    p = s.cli("audit", "verify", "--anchor", empty, check=False)
    assert p.returncode == 1, p.stdout
    assert b"not covered by a signed checkpoint" in p.stdout, p.stdout
    # the server, started on it, refuses to sign on top of it
    s.start()
    r = s.post("/v1/policies", {"version": "after", "ru": "р", "kk": "қ"}, token=s.admin)
    assert r.status >= 500, r
    assert "audit_head_unsigned" in s.read_log()
    assert s.stop() == 0
    assert verify(s)[0] == 1


def test_a_forged_record_is_named(stopped):
    s = stopped
    last = head(s)
    s.sql(unlock_all_sql() +
          f"INSERT INTO audit_log (seq, at, {FIELDS}, hash)"
          f" SELECT {last + 1}, at + 1, 'staff:1', 'subject.read', 'subject:{s.subject}',"
          f" '{s.subject}', 'identity', 'loan_application_review', 'success', 'forged',"
          f" hash FROM audit_log WHERE seq = {last};")
    recompute_chain(s)
    rc, out = verify(s)
    assert rc == 1, out
    assert f"BROKEN at sequence {last + 1}:" in out and "not covered" in out, out


def test_a_wiped_log_is_never_intact(stopped):
    s = stopped
    s.sql(unlock_all_sql() +
          "DELETE FROM audit_log; DELETE FROM audit_checkpoints;"
          f"UPDATE audit_head SET seq = 0, hash = {blob('00' * 32)};")
    assert s.sql("SELECT count(*) FROM subjects") == [["1"]]
    rc, out = verify(s)
    assert rc == 1 and "wiped" in out and "intact" not in out, out
    # the database alone says so too, without the anchor
    empty = os.path.join(s.data_dir, "empty.anchor")
    open(empty, "w").close()
    p = s.cli("audit", "verify", "--anchor", empty, check=False)
    assert p.returncode == 1 and b"wiped" in p.stdout, p.stdout


def run_verify(*args):
    return subprocess.run([BIN, "audit", "verify", *args], capture_output=True, timeout=120)


def test_verify_never_makes_a_store(tmp_path):
    keys = os.path.join(str(tmp_path), "keys", "senim.keys")
    missing = os.path.join(str(tmp_path), "nope", "senim.db")
    p = run_verify("--db", missing, "--keys", keys)
    assert p.returncode == 3 and b"intact" not in p.stdout, p
    assert b"no store at" in p.stderr
    assert not os.path.exists(os.path.dirname(missing)) and not os.path.exists(keys)
    empty = os.path.join(str(tmp_path), "empty.db")
    open(empty, "w").close()
    p = run_verify("--db", empty, "--keys", keys)
    assert p.returncode == 3 and b"empty file" in p.stderr, p
    assert os.path.getsize(empty) == 0 and not os.path.exists(keys)
    if BACKEND == "postgres":
        target = fresh_db_target(str(tmp_path))  # a database without senim's schema
        p = run_verify("--db", target, "--keys", keys)
        assert p.returncode == 3 and b"not a senim store" in p.stderr, p


def test_another_deployments_store_is_not_intact(stopped):
    s = stopped
    other = Senim().start()
    assert other.stop() == 0
    p = run_verify("--db", s.db, "--keys", other.keys)
    assert p.returncode in (1, 3) and b"intact" not in p.stdout, p
    assert b"signed by this key file" in p.stdout, p


def test_the_anchor_path_is_an_option(tmp_path, monkeypatch):
    """--audit-anchor (or SENIM_AUDIT_ANCHOR) puts the anchor anywhere, for
    the server and every command; verify reads the one it is given."""
    anchor = os.path.join(str(tmp_path), "elsewhere.anchor")
    s = Senim(extra_args=["--audit-anchor", anchor]).start()
    try:
        with monkeypatch.context() as m:  # the CLI's batches, by environment
            m.setenv("SENIM_AUDIT_ANCHOR", anchor)
            token = s.service_token("anchor-admin", "admin")
        r = s.post("/v1/policies", {"version": "a1", "ru": "р", "kk": "қ"}, token=token)
        assert r.status == 201  # the server's batch, by option
    finally:
        assert s.stop() == 0
    assert not os.path.exists(os.path.join(os.path.dirname(s.keys), "senim.anchor"))
    with open(anchor) as f:
        assert len(f.read().splitlines()) == len(checkpoints(s)) == 2
    p = run_verify(*s.common_args(), "--audit-anchor", anchor)
    assert p.returncode == 0 and b"the newest at sequence 2" in p.stdout, p
    p = subprocess.run([BIN, "audit", "verify", *s.common_args()], capture_output=True,
                       env=dict(os.environ, SENIM_AUDIT_ANCHOR=anchor), timeout=120)
    assert p.returncode == 0, p
    # nothing at the default place: a signed log without its anchor is exit 3
    p = run_verify(*s.common_args())
    assert p.returncode == 3 and b"does not exist" in p.stderr, p


def test_no_writes_without_an_anchor(tmp_path):
    """A command (or the server) that cannot open its anchor does not start:
    its batches would go unanchored."""
    s = Senim()
    bad = os.path.join(str(tmp_path), "no-such-dir", "senim.anchor")
    for cmd in (["staff", "add", "nobody", "--role", "admin"],
                ["serve", "--listen", "127.0.0.1:0"]):
        p = subprocess.run([BIN, *cmd, *s.common_args(), "--audit-anchor", bad],
                           capture_output=True, timeout=120)
        assert p.returncode == 3 and b"--audit-anchor" in p.stderr, p
    if s.sms:
        s.sms.stop()
