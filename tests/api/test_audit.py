"""The audit chain (S4, T6) through the real server and CLI: records for what
happened, `senim audit verify` and GET /v1/audit/verify on an intact chain,
and each kind of tampering named by its first sequence; fail closed."""
import pytest

from senim_harness import BACKEND, Senim


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
