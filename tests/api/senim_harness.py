"""Start a real `senim serve` on loopback and talk to it over HTTP.

Every API test runs against the binary built by CMake (SENIM_BIN), on the
backend named by SENIM_TEST_BACKEND: an SQLite file in a temporary data
directory, or a fresh database on the PostgreSQL server that
scripts/pg-test-server started for this test run (SENIM_PG_DIR).
"""
import atexit
import base64
import hashlib
import hmac
import http.client
import json
import os
import re
import signal
import struct
import subprocess
import tempfile
import time
import urllib.parse
import uuid

import contract

BIN = os.environ.get("SENIM_BIN", "build/test/senim")
BACKEND = os.environ.get("SENIM_TEST_BACKEND", "sqlite")
TMP = os.environ.get("SENIM_TMP", tempfile.gettempdir())
SHARED = os.environ.get("SENIM_SHARED", "../shared")


def totp(secret_b32, at=None, step=30, digits=6):
    """RFC 6238 TOTP, written independently of the server's liboath."""
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    counter = int((time.time() if at is None else at) // step)
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    code = (struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF) % 10 ** digits
    return str(code).zfill(digits)


def _pg_admin_url():
    pg_dir = os.environ["SENIM_PG_DIR"]
    with open(os.path.join(pg_dir, "url")) as f:
        return f.read().strip()


def fresh_db_target(data_dir):
    """An SQLite path in data_dir, or the URL of a new PostgreSQL database."""
    if BACKEND != "postgres":
        return os.path.join(data_dir, "senim.db")
    admin = _pg_admin_url()
    name = "t_" + uuid.uuid4().hex[:16]
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", admin, "-c",
                    f"CREATE DATABASE {name}"], check=True, capture_output=True)
    return admin.rsplit("/", 1)[0] + "/" + name


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def json(self):
        return json.loads(self.body)

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def __repr__(self):
        return f"<{self.status} {self.body[:300]!r}>"


PEERS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "peers")


_peers = []


@atexit.register
def _stop_peers():
    for peer in _peers:
        peer.stop()


class SmsPeer:
    """tests/peers/sms_gateway.py on a free loopback port."""

    def __init__(self, directory):
        _peers.append(self)
        self.token = "peer-" + uuid.uuid4().hex
        self.credentials = os.path.join(directory, "sms.credentials")
        fd = os.open(self.credentials, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(self.token + "\n")
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", os.path.join(PEERS, "sms_gateway.py"), "--port", "0",
             "--token", self.token], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        line = self.proc.stdout.readline().decode()
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
        if not m:
            self.proc.kill()
            raise RuntimeError("the SMS peer did not start: %r" % line)
        self.port = int(m.group(1))
        self.url = "http://127.0.0.1:%d" % self.port

    def control(self, method, path, body=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        data = json.dumps(body).encode() if body is not None else None
        conn.request(method, "/_control/" + path, body=data,
                     headers={"Content-Type": "application/json"} if data else {})
        r = conn.getresponse()
        out = json.loads(r.read() or b"{}")
        conn.close()
        return out

    def messages(self, to=None):
        q = "?to=" + urllib.parse.quote(to) if to else ""
        return self.control("GET", "messages" + q)["messages"]

    def last_code(self, to):
        msgs = self.messages(to)
        assert msgs, "no SMS reached " + to
        return re.search(r"\b(\d{6})\b", msgs[-1]["text"]).group(1)

    def stop(self):
        if self.proc:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc.stdout.close()
            self.proc = None


def e164(phone):
    digits = "".join(c for c in phone if c.isdigit())
    if digits.startswith("8") and len(digits) == 11:
        digits = "7" + digits[1:]
    if len(digits) == 10:
        digits = "7" + digits
    return "+" + digits


# What a sanitizer writes to stderr when it finds a bug.  ASan and UBSan
# (built with -fno-sanitize-recover) stop the process, which fails the test
# anyway; ThreadSanitizer reports a race and lets the server go on, so every
# test looks for its reports (conftest.py) and fails on one.
SANITIZER_REPORT = re.compile(rb"WARNING: ThreadSanitizer|ERROR: AddressSanitizer"
                              rb"|runtime error: ")

_servers = []      # every Senim made in this test process
_cli_reports = []  # reports found in CLI runs' stderr, not yet handed out


def sanitizer_reports():
    """Sanitizer reports that servers or CLI runs wrote since the last call
    (one string per report, up to a few kilobytes each)."""
    found = []
    for s in _servers:
        found += s.new_sanitizer_reports()
    found += _cli_reports
    _cli_reports.clear()
    return found


def _excerpts(data):
    return [data[m.start():m.start() + 4000].decode("utf-8", "replace")
            for m in SANITIZER_REPORT.finditer(data)]


class Senim:
    """One senim server process with its own data directory and database."""

    def __init__(self, extra_args=(), data_dir=None, db=None, sms=True):
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="senim-", dir=TMP)
        self.db = db or fresh_db_target(self.data_dir)
        self.keys = os.path.join(self.data_dir, "keys", "senim.keys")
        self.log_path = os.path.join(self.data_dir, "server.log")
        self.log_checked = 0  # bytes of the log already searched for reports
        _servers.append(self)
        self.extra_args = list(extra_args)
        self.proc = None
        self.port = None
        # the peer's credentials live apart from the data directory, which
        # senim itself must create (and make private)
        self.sms = SmsPeer(tempfile.mkdtemp(prefix="senim-sms-", dir=TMP)) if sms else None

    # ---- process ----------------------------------------------------------
    def common_args(self):
        return ["--data-dir", self.data_dir, "--db", self.db, "--keys", self.keys]

    def start(self):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [BIN, "serve", "--listen", "127.0.0.1:0", "--threads", "2",
             "--failure-delay-ms", "20", "--otp-ip-limit", "0", "--sign-in-ip-limit", "0",
             *self.common_args(),
             *self.sms_args(),
             *self.extra_args],
            stdout=subprocess.PIPE, stderr=self.log, stdin=subprocess.DEVNULL)
        deadline = time.time() + 60
        while time.time() < deadline:
            line = self.proc.stdout.readline().decode()
            if not line:
                break
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
            if m:
                self.port = int(m.group(1))
                break
        if not self.port:
            self.proc.kill()
            raise RuntimeError("senim did not start; log:\n" + self.read_log())
        return self

    def sms_args(self):
        if not self.sms:
            return []
        return ["--sms-gateway", self.sms.url, "--sms-credentials", self.sms.credentials]

    def stop(self, sig=signal.SIGTERM, timeout=60, keep_peer=False):
        """Stop the server (and its SMS peer); returns the server's exit code."""
        if self.sms and not keep_peer:
            self.sms.stop()
        if not self.proc:
            return None
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.proc.stdout.close()
        self.log.close()
        self.proc = None
        return rc

    # ---- borrowers ---------------------------------------------------------
    def ensure_policy(self, version="test-1"):
        """Publish a policy version through the CLI unless one is in force."""
        r = self.get("/v1/policies/current")
        if r.status == 200:
            return r.json["version"]
        d = tempfile.mkdtemp(dir=self.data_dir)
        for lang, text in (("ru", "Политика " + version), ("kk", "Саясат " + version)):
            with open(os.path.join(d, lang), "w", encoding="utf-8") as f:
                f.write(text)
        self.cli("policy", "publish", "--version", version, "--ru", os.path.join(d, "ru"),
                 "--kk", os.path.join(d, "kk"))
        return version

    def borrower_token(self, phone):
        """Sign in as the borrower with this phone, reading the SMS code."""
        r = self.post("/v1/auth/otp", {"phone": phone})
        assert r.status == 202, r
        code = self.sms.last_code(e164(phone))
        r = self.post("/v1/auth/verify", {"phone": phone, "code": code})
        assert r.status == 200, r
        return r.json["token"]

    def accept_policy(self, token, channel="android", language="ru"):
        version = self.ensure_policy()
        r = self.post("/v1/me/consents/policy",
                      {"version": version, "language": language, "channel": channel},
                      token=token)
        assert r.status in (200, 201), r
        return r.json

    def kill9(self):
        self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()
        self.log.close()
        self.proc = None

    def read_log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def new_sanitizer_reports(self):
        """Reports in the server's stderr (its log) not looked at before."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(self.log_checked)
                data = f.read()
        except FileNotFoundError:
            return []
        self.log_checked += len(data)
        return _excerpts(data)

    def cli(self, *args, check=True, input=None):
        """Run `senim ARGS --data-dir ...` against this server's store."""
        cmd = [BIN, *args, *self.common_args()]
        p = subprocess.run(cmd, capture_output=True, input=input, timeout=120)
        _cli_reports.extend(_excerpts(p.stderr))
        if check and p.returncode != 0:
            raise AssertionError(f"{cmd} exited {p.returncode}: {p.stderr.decode()}")
        return p

    def sql(self, query):
        """Run raw SQL on this server's database, as someone with file or
        superuser access would (tests that tamper, or look at raw bytes).
        Returns the rows as lists of strings."""
        if BACKEND == "postgres":
            p = subprocess.run(["psql", "-qAt", "-F", "\t", "-v", "ON_ERROR_STOP=1",
                                self.db, "-c", query], capture_output=True, check=True)
            return [line.split("\t") for line in p.stdout.decode().splitlines()]
        import sqlite3
        con = sqlite3.connect(self.db, timeout=30)
        try:
            cur = con.executescript(query) if query.count(";") > 1 else con.execute(query)
            rows = [[("" if v is None else str(v)) for v in row] for row in cur.fetchall()]
            con.commit()
            return rows
        finally:
            con.close()

    def audit_rows(self, operation):
        return self.sql("SELECT seq, actor, object, outcome, purpose, request_id"
                        f" FROM audit_log WHERE operation = '{operation}' ORDER BY seq")

    # ---- HTTP --------------------------------------------------------------
    def request(self, method, path, body=None, headers=None, token=None, raw=None,
                content_type="application/json"):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        h = dict(headers or {})
        data = raw
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode()
        if data is not None and content_type and "Content-Type" not in h:
            h["Content-Type"] = content_type
        if token:
            h["Authorization"] = "Bearer " + token
        conn.request(method, path, body=data, headers=h)
        r = conn.getresponse()
        resp = Response(r.status, r.getheaders(), r.read())
        conn.close()
        # every exchange of the suite is held to docs/openapi.yaml
        contract.check(method, path, h, data, resp.status, resp.headers, resp.body)
        return resp

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body=body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    # ---- staff -------------------------------------------------------------
    def service_token(self, login, role):
        p = self.cli("staff", "add", login, "--role", role, "--api-token")
        return p.stdout.decode().strip()

    def person(self, login, role, new_password="correct horse battery"):
        """Create a person account and sign in fully; returns (token, secret)."""
        p = self.cli("staff", "add", login, "--role", role)
        otp = re.search(r"One-time password: (\S+)", p.stdout.decode()).group(1)
        r = self.post("/v1/staff/enrollment", {"login": login, "password": otp})
        assert r.status == 200, r
        secret = r.json["totp_secret"]
        r = self.post("/v1/staff/sessions", {"login": login, "password": otp,
                                              "totp": totp(secret),
                                              "new_password": new_password})
        assert r.status == 201, r
        return r.json["token"], secret


def iin_check_digit(d11):
    """The official two-pass check digit; None when both passes give 10."""
    digits = [int(c) for c in d11]
    s = sum(d * w for d, w in zip(digits, range(1, 12))) % 11
    if s == 10:
        weights = [3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2]
        s = sum(d * w for d, w in zip(digits, weights)) % 11
        if s == 10:
            return None
    return s


def make_iin(birth_date="1987-04-12", sex="M", serial=None):
    """A valid IIN for a birth date and sex (serial picked when not given)."""
    y, m, d = (int(x) for x in birth_date.split("-"))
    century = {18: 1, 19: 3, 20: 5}[y // 100] + (1 if sex == "F" else 0)
    serials = [serial] if serial is not None else range(1, 10000)
    for n in serials:
        d11 = "%02d%02d%02d%d%04d" % (y % 100, m, d, century, n)
        c = iin_check_digit(d11)
        if c is not None:
            return d11 + str(c)
    raise ValueError("no valid IIN for that serial")


_used = set()
_counter = [0]


def unique_iin(birth_date="1987-04-12", sex="M"):
    """A valid IIN not handed out before in this test process."""
    start = os.getpid() * 7919
    for n in range(10000):
        try:
            iin = make_iin(birth_date, sex, serial=(start + n * 37) % 10000)
        except ValueError:  # a serial whose check digit does not exist
            continue
        if iin not in _used:
            _used.add(iin)
            return iin
    raise ValueError("out of IINs")


def borrower(**over):
    """A registration body with a fresh valid IIN, phone and e-mail."""
    _counter[0] += 1
    n = (os.getpid() * 1000 + _counter[0]) % 10 ** 7
    born = "%04d-%02d-%02d" % (1960 + n % 40, 1 + n // 40 % 12, 1 + n // 480 % 28)
    body = {"surname": "Иванов", "given_name": "Ержан", "patronymic": "Серикович",
            "birth_date": born, "sex": "M", "citizenship": "KZ",
            "phone": "+7 701 %03d %02d %02d" % (n // 10000, n // 100 % 100, n % 100),
            "email": "borrower%d@example.kz" % n}
    body.update(over)
    if "iin" not in over:
        body["iin"] = unique_iin(body["birth_date"], body["sex"])
    return body
