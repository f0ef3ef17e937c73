"""Staff sign-in (S1, S3): one-time password, TOTP enrolment, sessions,
generic failures with pauses against guessing, logout, service tokens, all
audited."""
import http.client
import json
import re
import time

from senim_harness import Response, Senim, totp


def add_person(senim, login, role="support"):
    p = senim.cli("staff", "add", login, "--role", role)
    return re.search(r"One-time password: (\S+)", p.stdout.decode()).group(1)


def enroll(senim, login, otp):
    r = senim.post("/v1/staff/enrollment", {"login": login, "password": otp})
    assert r.status == 200, r
    assert r.json["otpauth_uri"].startswith("otpauth://totp/senim:" + login + "?secret=")
    return r.json["totp_secret"]


def test_first_sign_in_flow(senim):
    otp = add_person(senim, "aigerim", "underwriter")
    # Signing in before enrolment says what to do, once the password is right.
    r = senim.post("/v1/staff/sessions", {"login": "aigerim", "password": otp, "totp": "000000"})
    assert r.status == 403 and r.json["code"] == "enrollment_required", r
    secret = enroll(senim, "aigerim", otp)
    # Enrolled TOTP but no new password: the one-time password must go.
    r = senim.post("/v1/staff/sessions",
                   {"login": "aigerim", "password": otp, "totp": totp(secret)})
    assert r.status == 403 and r.json["code"] == "password_change_required"
    r = senim.post("/v1/staff/sessions", {"login": "aigerim", "password": otp,
                                          "totp": totp(secret), "new_password": "short"})
    assert r.status == 422 and r.json["field"] == "new_password"
    first_code = totp(secret)
    r = senim.post("/v1/staff/sessions", {"login": "aigerim", "password": otp,
                                          "totp": first_code,
                                          "new_password": "a long new passphrase"})
    assert r.status == 201, r
    token = r.json["token"]
    assert r.json["token_type"] == "Bearer" and r.json["expires_at"].endswith("Z")
    me = senim.get("/v1/staff/me", token=token)
    assert me.status == 200 and me.json["role"] == "underwriter" and me.json["kind"] == "person"
    # The one-time password no longer works; the new one does.
    r = senim.post("/v1/staff/sessions", {"login": "aigerim", "password": otp, "totp": totp(secret)})
    assert r.status == 401
    # RFC 6238 5.2: the code just used is not accepted a second time...
    r = senim.post("/v1/staff/sessions", {"login": "aigerim", "password": "a long new passphrase",
                                          "totp": first_code})
    assert r.status == 401
    # ...the next step's code is
    r = senim.post("/v1/staff/sessions", {"login": "aigerim", "password": "a long new passphrase",
                                          "totp": totp(secret, at=time.time() + 30)})
    assert r.status == 201
    # Enrolment is closed once done, with the generic answer.
    r = senim.post("/v1/staff/enrollment", {"login": "aigerim", "password": "a long new passphrase"})
    assert r.status == 401 and r.json["code"] == "invalid_credentials"


def test_failures_are_generic(senim):
    senim.person("bolat", "support", new_password="bolat's passphrase")
    wrong = [
        {"login": "bolat", "password": "nope nope nope", "totp": "123456"},
        {"login": "nobody-here", "password": "whatever", "totp": "123456"},
        {"login": "bolat", "password": "bolat's passphrase", "totp": "000000"},
    ]
    bodies = set()
    for body in wrong:
        r = senim.post("/v1/staff/sessions", body, headers={"Accept-Language": "en"})
        assert r.status == 401 and r.json["code"] == "invalid_credentials"
        p = dict(r.json)
        p.pop("request_id")
        bodies.add(str(sorted(p.items())))
    assert len(bodies) == 1  # nothing tells which part was wrong


def post_from(senim, source, path, body):
    """POST from another loopback address (Linux routes all of 127/8 here)."""
    conn = http.client.HTTPConnection("127.0.0.1", senim.port, timeout=30,
                                      source_address=(source, 0))
    conn.request("POST", path, body=json.dumps(body).encode(),
                 headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    out = Response(r.status, r.getheaders(), r.read())
    conn.close()
    return out


def test_failures_pause_the_account_but_the_member_gets_through():
    """An attacker's wrong passwords earn the account a short pause, not a
    lock: tries during it are 429 with Retry-After (no hash, no record), and
    the member, from another address, signs in once it is over.  The
    failures are recorded as anonymous, against the account."""
    s = Senim(extra_args=["--sign-in-ip-limit", "10"]).start()
    try:
        token, secret = s.person("dana", "dpo", new_password="dana's passphrase")
        statuses = []
        for _ in range(30):
            r = s.post("/v1/staff/sessions",
                       {"login": "dana", "password": "wrong password", "totp": totp(secret)})
            statuses.append(r.status)
            if r.status == 429:
                assert r.json["code"] == "rate_limited"
                assert int(r.header("Retry-After")) >= 1
                assert r.header("Content-Type").startswith("application/problem+json")
        assert statuses.count(401) >= 5 and 429 in statuses, statuses
        failures = [row for row in s.audit_rows("staff.sign_in") if row[3] == "failed"]
        assert len(failures) == statuses.count(401), "a refused try leaves no record"
        assert {row[1] for row in failures} == {"anonymous"}, failures
        assert {row[2] for row in failures} == {"staff:%s" % s.sql(
            "SELECT id FROM staff WHERE login = 'dana'")[0][0]}
        # the member, from another address: waits out the pause, then is in
        good = {"login": "dana", "password": "dana's passphrase"}
        waited = 0
        for _ in range(20):
            # the next step's code: the one person() signed in with is spent
            r = post_from(s, "127.0.0.2", "/v1/staff/sessions",
                          dict(good, totp=totp(secret, at=time.time() + 30)))
            if r.status != 429:
                break
            pause = int(r.header("Retry-After"))
            assert pause <= 60, "a pause is never longer than a minute"
            waited += pause
            time.sleep(pause)
        assert r.status == 201, r
        assert waited <= 60, waited
        # `staff unlock` clears a pause at once (and, for this test only,
        # the spent code steps are forgotten)
        s.sql("UPDATE staff SET totp_last_step = 0 WHERE login = 'dana'")
        for _ in range(8):
            post_from(s, "127.0.0.3", "/v1/staff/sessions",
                      {"login": "dana", "password": "wrong again", "totp": "123456"})
        r = post_from(s, "127.0.0.2", "/v1/staff/sessions", dict(good, totp=totp(secret)))
        assert r.status == 429, r
        s.cli("staff", "unlock", "dana")
        r = post_from(s, "127.0.0.2", "/v1/staff/sessions", dict(good, totp=totp(secret)))
        assert r.status == 201, r
    finally:
        assert s.stop() == 0


def test_sign_in_tries_are_limited_per_address_before_any_work():
    """Over --sign-in-ip-limit tries a minute, an address gets 429 with
    Retry-After, and nothing is hashed or written for it; other addresses
    are not affected."""
    s = Senim(extra_args=["--sign-in-ip-limit", "5"]).start()
    try:
        before = len(s.audit_rows("staff.sign_in"))
        statuses = []
        for i in range(12):
            # a new unknown login each time: only the address is limited
            r = s.post("/v1/staff/sessions",
                       {"login": "nobody%d" % i, "password": "guess guess", "totp": "123456"})
            statuses.append(r.status)
            if r.status == 429:
                assert r.json["code"] == "rate_limited" and int(r.header("Retry-After")) >= 1
        assert statuses[:5] == [401] * 5 and set(statuses[5:]) == {429}, statuses
        assert len(s.audit_rows("staff.sign_in")) == before + 5, "no record past the limit"
        r = s.post("/v1/staff/enrollment", {"login": "nobody", "password": "guess guess"})
        assert r.status == 429, r
        r = post_from(s, "127.0.0.2", "/v1/staff/sessions",
                      {"login": "nobody", "password": "guess guess", "totp": "123456"})
        assert r.status == 401, r
    finally:
        assert s.stop() == 0


def test_logout_revokes_the_token(senim):
    token, _ = senim.person("erlan", "investigator")
    assert senim.get("/v1/staff/me", token=token).status == 200
    assert senim.delete("/v1/staff/sessions", token=token).status == 204
    r = senim.get("/v1/staff/me", token=token)
    assert r.status == 401 and r.header("WWW-Authenticate").startswith("Bearer")
    assert senim.delete("/v1/staff/sessions", token=token).status == 401


def test_expired_session_is_refused(senim):
    token, _ = senim.person("farida", "auditor")
    assert senim.get("/v1/staff/me", token=token).status == 200
    senim.sql("UPDATE staff_tokens SET expires_at = 1 WHERE staff_id ="
              " (SELECT id FROM staff WHERE login = 'farida')")
    assert senim.get("/v1/staff/me", token=token).status == 401


def test_service_token_and_revocation(senim):
    token = senim.service_token("scoring-job", "underwriter")
    assert re.fullmatch(r"snm_[A-Za-z0-9_-]{43}", token)
    me = senim.get("/v1/staff/me", token=token)
    assert me.status == 200 and me.json["kind"] == "service"
    # Stored hashed: the token is in no column of the database's token table.
    rows = senim.sql("SELECT * FROM staff_tokens")
    assert rows and token not in repr(rows)
    assert token.encode().hex() not in repr(rows).lower()
    senim.cli("staff", "revoke", "scoring-job")
    assert senim.get("/v1/staff/me", token=token).status == 401


def test_bad_tokens(senim):
    for t in ("", "snm_", "snm_" + "A" * 43, "x" * 200, "snm_../../etc/passwd", "Bearer"):
        r = senim.request("GET", "/v1/staff/me", headers={"Authorization": "Bearer " + t})
        assert r.status == 401, t
    r = senim.request("GET", "/v1/staff/me", headers={"Authorization": "Basic Zm9vOmJhcg=="})
    assert r.status == 401


def test_sign_ins_are_audited_without_secrets(senim):
    otp = add_person(senim, "gulnar", "marketing")
    secret = enroll(senim, "gulnar", otp)
    code = totp(secret)
    r = senim.post("/v1/staff/sessions", {"login": "gulnar", "password": otp, "totp": code,
                                          "new_password": "gulnar's passphrase"})
    assert r.status == 201
    token = r.json["token"]
    senim.post("/v1/staff/sessions", {"login": "gulnar", "password": "bad guess here", "totp": code})
    ops = {row[0] for row in senim.sql("SELECT DISTINCT operation FROM audit_log")}
    assert {"staff.add", "staff.enroll", "staff.sign_in"} <= ops
    outcomes = {row[3] for row in senim.audit_rows("staff.sign_in")}
    assert {"success", "failed"} <= outcomes
    dump = "\n".join("|".join(row) for row in senim.sql("SELECT * FROM audit_log"))
    for secret_value in (otp, secret, token, "gulnar's passphrase", "gulnar"):
        assert secret_value not in dump
    log = senim.read_log()
    for secret_value in (otp, secret, token, "gulnar's passphrase"):
        assert secret_value not in log
    assert senim.cli("audit", "verify").returncode == 0


def test_cli_help_and_exit_codes(senim):
    p = senim.cli("staff", "add", "x1", "--role", "wizard", check=False)
    assert p.returncode == 2 and b"role" in p.stderr
    p = senim.cli("staff", "add", "Bad Login", "--role", "admin", check=False)
    assert p.returncode in (1, 2)
    senim.cli("staff", "add", "dup-user", "--role", "admin")
    p = senim.cli("staff", "add", "dup-user", "--role", "admin", check=False)
    assert p.returncode == 1 and b"exists" in p.stderr
    p = senim.cli("staff", "revoke", "no-such-user", check=False)
    assert p.returncode == 1
    listing = senim.cli("staff", "list").stdout.decode()
    assert "dup-user" in listing and "admin" in listing


def test_failure_pause_holds_no_worker():
    """Failed sign-ins are answered late, but the pause must not occupy the
    server's workers (2 here): with four of them waiting, /healthz is still
    answered before any of them."""
    import threading
    from senim_harness import Senim
    s = Senim(extra_args=["--failure-delay-ms", "3000"]).start()
    try:
        finished = []

        def fail_once():
            s.post("/v1/staff/sessions", {"login": "x", "password": "wrong one", "totp": "123456"})
            finished.append("sign-in")

        threads = [threading.Thread(target=fail_once) for _ in range(4)]
        for t in threads:
            t.start()
        time.sleep(0.5)
        assert s.get("/healthz").status == 200
        finished.append("healthz")
        for t in threads:
            t.join()
        assert finished[0] == "healthz", finished
        assert finished.count("sign-in") == 4
    finally:
        assert s.stop() == 0


def hold_write_lock(senim, seconds):
    """Hold the store's write lock (SQLite) or the audit head (PostgreSQL)
    from outside for `seconds`, as a long transaction would; returns the
    thread holding it, and once the lock is taken."""
    import subprocess
    import threading
    from senim_harness import BACKEND
    taken = threading.Event()

    def sqlite_hold():
        import sqlite3
        con = sqlite3.connect(senim.db, timeout=30, isolation_level=None)
        con.execute("BEGIN IMMEDIATE")
        taken.set()
        time.sleep(seconds)
        con.execute("COMMIT")
        con.close()

    def postgres_hold():
        p = subprocess.Popen(["psql", "-qAt", "-v", "ON_ERROR_STOP=1", senim.db],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        p.stdin.write(b"BEGIN;\nSELECT 'held' FROM audit_head FOR UPDATE;\n")
        p.stdin.flush()
        assert p.stdout.readline().strip() == b"held"
        taken.set()
        time.sleep(seconds)
        p.communicate(b"COMMIT;\n", timeout=30)

    t = threading.Thread(target=postgres_hold if BACKEND == "postgres" else sqlite_hold)
    t.start()
    assert taken.wait(30), "could not take the lock"
    return t


def test_sign_ins_hold_no_worker():
    """A sign-in's password hash and write wait on an I/O thread, never on a
    worker: with the store's write lock held elsewhere, four sign-ins wait
    for it, and /healthz (two workers here) is answered before any of them."""
    import threading
    s = Senim(extra_args=["--failure-delay-ms", "0"]).start()
    try:
        finished = []
        holder = hold_write_lock(s, 3.0)

        def sign_in(i):
            s.post("/v1/staff/sessions",
                   {"login": "nobody%d" % i, "password": "wrong one", "totp": "123456"})
            finished.append("sign-in")

        threads = [threading.Thread(target=sign_in, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        time.sleep(0.5)
        assert s.get("/healthz").status == 200
        finished.append("healthz")
        for t in threads:
            t.join()
        holder.join()
        assert finished[0] == "healthz", finished
        assert finished.count("sign-in") == 4
    finally:
        assert s.stop() == 0
