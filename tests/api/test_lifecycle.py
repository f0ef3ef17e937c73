"""The program around the API: graceful stop, the CLI's help and exit codes,
settings from SENIM_* variables, migrations."""
import json
import os
import signal
import socket
import subprocess
import time

from senim_harness import BIN, BACKEND, Senim


def test_sigterm_finishes_requests_in_flight():
    s = Senim().start()
    body = json.dumps({"login": "nobody", "password": "x", "totp": "123456"}).encode()
    c = socket.create_connection(("127.0.0.1", s.port))
    c.sendall(b"POST /v1/staff/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Content-Length: %d\r\n\r\n" % len(body) + body[:10])
    time.sleep(0.2)
    s.proc.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    # No new connections once stopping...
    refused = False
    try:
        socket.create_connection(("127.0.0.1", s.port), timeout=2).close()
    except OSError:
        refused = True
    assert refused, "the listening socket must close at SIGTERM"
    # ...but the request in flight is finished and answered.
    c.sendall(body[10:])
    c.settimeout(30)
    data = c.recv(65536)
    c.close()
    assert data.startswith(b"HTTP/1.1 401"), data[:200]
    rc = s.proc.wait(timeout=60)
    s.proc.stdout.close()
    s.log.close()
    s.proc = None
    assert rc == 0
    assert '"event":"stopped"' in s.read_log()


def test_sigint_stops_cleanly():
    s = Senim().start()
    assert s.get("/healthz").status == 200
    assert s.stop(signal.SIGINT) == 0


def run(*args, env=None):
    return subprocess.run([BIN, *args], capture_output=True, timeout=60,
                          env=dict(os.environ, **(env or {})))


def test_every_command_has_help():
    top = run("--help")
    assert top.returncode == 0 and b"exit codes" in top.stdout
    for cmd in ("serve", "migrate", "staff", "policy", "audit", "keys", "obligations",
                "receipt", "version"):
        p = run(cmd, "--help")
        assert p.returncode == 0, cmd
        assert b"usage: senim " + cmd.encode() in p.stdout, (cmd, p.stdout)


# Every command with subcommands, and one subcommand of each.
SUBCOMMANDS = {"staff": "list", "policy": "list", "audit": "verify", "keys": "status",
               "obligations": "close", "receipt": "verify"}


def test_commands_with_subcommands_answer_alike():
    """Help, a missing or unknown subcommand and a bad option get the same
    kind of answer from every command (cli_subcommand, cli_next_option)."""
    for cmd, sub in SUBCOMMANDS.items():
        usage = b"usage: senim " + cmd.encode()
        see = ("see 'senim %s --help'" % cmd).encode()
        for ask in ("help", "-h", "--help"):
            p = run(cmd, ask)
            assert p.returncode == 0 and usage in p.stdout and not p.stderr, (cmd, ask)
        p = run(cmd, sub, "--help")
        assert p.returncode == 0 and usage in p.stdout, (cmd, sub)
        p = run(cmd)
        assert p.returncode == 2 and usage in p.stderr and not p.stdout, cmd
        p = run(cmd, "frobnicate")
        assert p.returncode == 2 and b"unknown subcommand 'frobnicate'" in p.stderr, cmd
        assert see in p.stderr, (cmd, p.stderr)
        for bad in ("--bogus", "--data-dir"):  # unknown; missing its argument
            p = run(cmd, sub, bad)
            assert p.returncode == 2, (cmd, bad)
            assert b"unknown option or missing argument" in p.stderr and see in p.stderr, \
                (cmd, bad, p.stderr)


def test_operand_errors_name_the_help(tmp_path):
    env = {"SENIM_DATA_DIR": str(tmp_path)}
    for args, says in ((("keys", "status", "extra"), b"unexpected argument"),
                       (("keys", "status", "--resume"), b"--resume is for 'keys rotate'"),
                       (("obligations", "close"), b"close needs a CONTRACT"),
                       (("obligations", "import", "--dry-run"), b"import needs a FILE"),
                       (("receipt", "verify", "a", "b"), b"one receipt FILE at a time"),
                       (("staff", "add", "bob"), b"'staff add' needs --role"),
                       (("policy", "list", "x"), b"list takes no arguments"),
                       (("audit", "verify", "x"), b"unexpected argument"),
                       (("migrate", "x"), b"unexpected argument")):
        p = run(*args, env=env)
        assert p.returncode == 2 and says in p.stderr, (args, p.stderr)
        assert ("see 'senim %s --help'" % args[0]).encode() in p.stderr, (args, p.stderr)


def test_usage_errors_exit_2():
    assert run().returncode == 2
    assert run("frobnicate").returncode == 2
    assert run("serve", "--threads", "zero").returncode == 2
    assert run("serve", "--listen", "nowhere").returncode == 2
    assert run("serve", "--bogus").returncode == 2
    assert run("policy", "publish", "--version", "x").returncode == 2
    assert run("audit", "check").returncode == 2


def test_version():
    p = run("version")
    assert p.returncode == 0 and p.stdout.startswith(b"senim ")


def test_environment_settings(tmp_path):
    """SENIM_DATA_DIR and SENIM_DB stand in for --data-dir and --db."""
    s = Senim()
    env = {"SENIM_DATA_DIR": s.data_dir, "SENIM_DB": s.db, "SENIM_KEYS": s.keys}
    p = run("migrate", env=env)
    assert p.returncode == 0 and b"schema at version" in p.stdout, p.stderr
    token = run("staff", "add", "env-bot", "--role", "admin", "--api-token", env=env)
    assert token.returncode == 0
    s.start()
    try:
        r = s.get("/v1/staff/me", token=token.stdout.decode().strip())
        assert r.status == 200
    finally:
        assert s.stop() == 0


def test_unusable_store_is_exit_3(tmp_path):
    bad_db = "postgresql://nobody@127.0.0.1:1/none" if BACKEND == "postgres" \
        else str(tmp_path / "no-such-dir" / "deeper" / "x.db")
    p = run("migrate", "--data-dir", str(tmp_path), "--db", bad_db)
    assert p.returncode == 3, p.stderr
    assert b"nobody" not in p.stderr  # a URL may hold credentials: never echoed


def test_key_file_readable_by_others_is_refused(tmp_path):
    s = Senim(data_dir=str(tmp_path))
    assert run("migrate", *s.common_args()).returncode == 0
    assert os.stat(s.keys).st_mode & 0o777 == 0o600
    assert os.stat(os.path.dirname(s.keys)).st_mode & 0o077 == 0
    os.chmod(s.keys, 0o644)
    p = run("migrate", *s.common_args())
    assert p.returncode == 3 and b"key" in p.stderr


def test_database_file_is_private(tmp_path):
    if BACKEND == "postgres":
        return
    s = Senim(data_dir=str(tmp_path / "fresh"))
    assert run("migrate", *s.common_args()).returncode == 0
    assert os.stat(s.db).st_mode & 0o777 == 0o600
    assert os.stat(s.data_dir).st_mode & 0o077 == 0


def test_migrate_is_idempotent_while_serving():
    s = Senim().start()
    try:
        p = s.cli("migrate")
        assert b"schema at version" in p.stdout
        assert s.get("/readyz").status == 200
    finally:
        assert s.stop() == 0


def test_serve_refuses_a_bad_access_matrix(tmp_path):
    """The matrices are validated at start: a file that opens medical data to
    marketing (D7), or names an unknown purpose, stops senim from serving."""
    src = os.path.join(os.environ.get("SENIM_SOURCE_DIR", "."), "data", "access-matrix.json")
    with open(src, encoding="utf-8") as f:
        good = json.load(f)
    bad_d7 = json.loads(json.dumps(good))
    bad_d7["purpose_categories"]["marketing"].append("medical")
    bad_name = json.loads(json.dumps(good))
    bad_name["role_purposes"]["support"].append("gossip")
    # purposes have a direction: marketing never writes, and a file without
    # the direction at all is not a matrix
    bad_writer = json.loads(json.dumps(good))
    bad_writer["purpose_writes"]["marketing"] = ["contact"]
    no_direction = json.loads(json.dumps(good))
    del no_direction["purpose_writes"]
    for i, (doc, why) in enumerate(((bad_d7, b"special category"),
                                    (bad_name, b"unknown purpose"),
                                    (bad_writer, b"purpose_writes.marketing: must be empty"),
                                    (no_direction, b'"purpose_writes" is missing'))):
        path = tmp_path / ("matrix%d.json" % i)
        path.write_text(json.dumps(doc))
        p = run("serve", "--listen", "127.0.0.1:0", "--data-dir", str(tmp_path / "d"),
                "--access-matrix", str(path))
        assert p.returncode == 2 and b"refusing the access matrix" in p.stderr, p.stderr
        assert why in p.stderr, p.stderr
    ok = tmp_path / "good.json"
    ok.write_text(json.dumps(good))
    s = Senim(extra_args=["--access-matrix", str(ok)]).start()
    assert s.get("/healthz").status == 200
    assert s.stop() == 0
