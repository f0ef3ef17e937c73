"""What the exchange peers share (tests/peers/credit_bureau.py,
mobile_operator.py, state_database.py): Python 3 standard library only.

A peer stands in for one kind of recipient of the recipients file
(docs/recipients.md).  It speaks the wire API senim defines for that kind
(docs/connectors/), over HTTPS with a certificate from the test CA
(testca.py) or over plain HTTP, optionally demanding a client certificate.
It answers with deterministic synthetic data per IIN (synthetic*() below,
which tests import to compute what to expect), and a test can tell it to
misbehave through /_control/:

    POST /_control/mode      {"mode", "delay_ms", "fail_count", "status", "lie"}
    GET  /_control/requests  [?path=/v1/...]  every API request received
    GET  /_control/stats     {"attempts", "answered", "duplicates", "events",
                              "handshake_failures"}
    GET  /_control/concurrency  {"now", "max"}: API requests being handled,
                              and the most at once since the last reset
    GET  /_control/events    loan events, once per event_id
    POST /_control/reset     mode ok, everything forgotten

Modes (README.md has the details):
  ok            answer.
  fail          answer `status` (default 503) to the next `fail_count`
                requests, or to all; before authentication.
  slow          sleep delay_ms (default 5000), then answer; what the request
                did is recorded even when the client gave up.
  garbage       200 application/json whose body is not JSON.
  truncate      the full Content-Length, half the body, then close.
  wrong_person  a valid answer about the next IIN (check digit recomputed).
  lie           valid JSON that breaks a rule of the API (`lie` picks which).
delay_ms given with another mode delays it too; --delay-ms sets a delay for
every API request when the mode sets none.

The first answer computed for an Idempotency-Key is replayed for every
later request with that key, and counted as a duplicate, not as an answer;
a 5xx a route raises is not kept (it says "try again").  A peer may add
GET routes (Peer.get_routes), /_control/ endpoints of its own
(control_get, control_post) and state that /_control/reset forgets (reset).

Conventions of every peer (README.md): --port 0 picks a free port,
--port-file FILE gets it, "listening on 127.0.0.1:PORT" on stdout once it
accepts, loopback only, quiet on stderr without --verbose, status 0 on
SIGTERM.  The TLS handshake runs in the connection's own thread, so a
client that stalls it cannot hold up accept().
"""

import argparse
import datetime
import hashlib
import hmac
import json
import os
import re
import signal
import socket
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BODY_MAX = 1024 * 1024
HANDSHAKE_TIMEOUT = 10
IDLE_TIMEOUT = 30
MODES = ("ok", "fail", "slow", "garbage", "truncate", "wrong_person", "lie")


class ApiError(Exception):
    """An answer {"error": {"code", "message"}} with an HTTP status."""

    def __init__(self, status, code, message):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def body(self):
        return {"error": {"code": self.code, "message": self.message}}


# ---- IINs (core/iin.h) -------------------------------------------------------

W1 = list(range(1, 12))
W2 = [3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2]


def iin_check_digit(d11):
    """The two-pass check digit of 11 digits; None when both passes give 10."""
    digits = [int(c) for c in d11]
    s = sum(d * w for d, w in zip(digits, W1)) % 11
    if s == 10:
        s = sum(d * w for d, w in zip(digits, W2)) % 11
        if s == 10:
            return None
    return s


def iin_valid(iin):
    if not isinstance(iin, str) or not re.fullmatch(r"[0-9]{12}", iin):
        return False
    c = int(iin[6])
    if not 1 <= c <= 6:
        return False
    year = 1800 + 100 * ((c - 1) // 2) + int(iin[0:2])
    try:
        datetime.date(year, int(iin[2:4]), int(iin[4:6]))
    except ValueError:
        return False
    return iin_check_digit(iin[:11]) == int(iin[11])


def make_iin(born, sex, serial):
    """A valid IIN for a date and sex ('M'/'F'), from `serial` on (mod 10000)."""
    century = {18: 1, 19: 3, 20: 5}[born.year // 100] + (1 if sex == "F" else 0)
    for n in range(10000):
        d11 = "%02d%02d%02d%d%04d" % (born.year % 100, born.month, born.day, century,
                                      (serial + n) % 10000)
        c = iin_check_digit(d11)
        if c is not None:
            return d11 + str(c)
    raise ValueError("no IIN for that date")


def next_iin(iin):
    """The IIN with the next serial that has a check digit: the same birth date
    and sex, another person."""
    for n in range(1, 10000):
        d11 = iin[:7] + "%04d" % ((int(iin[7:11]) + n) % 10000)
        c = iin_check_digit(d11)
        if c is not None:
            return d11 + str(c)
    raise ValueError("no next IIN")


def iin_birth_date(iin):
    c = int(iin[6])
    return datetime.date(1800 + 100 * ((c - 1) // 2) + int(iin[0:2]), int(iin[2:4]),
                         int(iin[4:6]))


# ---- deterministic synthetic data --------------------------------------------

def digest(*parts):
    """sha256(b"senim-peer:" + the parts joined by ":")."""
    return hashlib.sha256(b"senim-peer:" + ":".join(parts).encode()).digest()


EPOCH = datetime.date(2018, 1, 1)


def _date(days):
    return (EPOCH + datetime.timedelta(days=days)).isoformat()


def synthetic(iin):
    """What the credit bureau knows of an IIN (credit_report/1, without the
    report's id and time).  h = sha256("senim-peer:" + iin): a history when
    the IIN's last digit is even, then h[0] % 4 loans, each from six bytes
    of h; score int(h[1:3]) % 1000, none without a history."""
    h = digest(iin)
    has_history = int(iin[-1]) % 2 == 0
    loans = []
    for i in range(h[0] % 4 if has_history else 0):
        b = h[3 + 6 * i:9 + 6 * i]
        original = (int.from_bytes(b[0:3], "big") % 5_000_000 + 10_000) * 100
        outstanding = original * (b[3] % 101) // 100
        opened = b[5] * 7
        if outstanding == 0:
            status, closed, overdue_days = "closed", _date(opened + 180), 0
        elif b[4] % 10 == 0:
            status, closed, overdue_days = "written_off", None, 365 + b[4]
        else:
            status, closed = "open", None
            overdue_days = b[4] % 120 if b[4] % 3 == 0 else 0
        loans.append({
            "contract_ref": "c-" + b.hex(),
            "lender_kind": ("bank", "mfo", "other")[b[2] % 3],
            "opened_on": _date(opened),
            "closed_on": closed,
            "original_tiyn": original,
            "outstanding_tiyn": outstanding,
            "overdue_days": overdue_days,
            "overdue_tiyn": outstanding * min(overdue_days, 120) // 120,
            "status": status,
        })
    last_30 = h[25] % 5 if has_history else 0
    return {
        "has_history": has_history,
        "score": ({"value": int.from_bytes(h[1:3], "big") % 1000, "min": 0, "max": 999,
                   "model": "v3"} if has_history else None),
        "loans": loans,
        "total_debt_tiyn": sum(x["outstanding_tiyn"] for x in loans if x["status"] == "open"),
        "enquiries": {"last_30_days": last_30,
                      "last_90_days": last_30 + (h[26] % 5 if has_history else 0)},
    }


def synthetic_phone(iin, msisdn):
    """What an operator says of a number and an IIN (phone_check/1, without
    the echoed keys): an unknown number when its last digit is 0; else a
    match when h[0] % 3 != 0, h = sha256("senim-peer:" + iin + ":" + msisdn)."""
    if msisdn[-1] == "0":
        return {"result": "unknown_number", "owner_since": None,
                "subscriber_type": None, "score": None}
    h = digest(iin, msisdn)
    if h[0] % 3 == 0:
        return {"result": "mismatch", "owner_since": None, "subscriber_type": None,
                "score": None}
    return {"result": "match", "owner_since": _date(h[1] * 8),
            "subscriber_type": ("prepaid", "postpaid")[h[2] % 2],
            "score": {"value": round(h[3] / 255, 2), "min": 0, "max": 1}}


SURNAMES = ("Ахметов", "Нурланов", "Сейткали", "Иванов", "Касымов", "Омаров")
GIVEN_M = ("Ержан", "Арман", "Данияр", "Алибек", "Серик", "Тимур")
GIVEN_F = ("Айгерим", "Динара", "Жанар", "Сауле", "Алия", "Мадина")
PATRONYMICS_M = ("Серикович", "Болатович", "Маратович")
PATRONYMICS_F = ("Сериковна", "Болатовна", "Маратовна")


def _person(seed, born, sex):
    h = hashlib.sha256(seed).digest()
    female = sex == "F"
    surname = SURNAMES[h[0] % len(SURNAMES)] + ("а" if female else "")
    return {
        "iin": make_iin(born, sex, int.from_bytes(h[1:3], "big")),
        "surname": surname,
        "given_name": (GIVEN_F if female else GIVEN_M)[h[3] % 6],
        "patronymic": (PATRONYMICS_F if female else PATRONYMICS_M)[h[4] % 3],
        "birth_date": born.isoformat(),
    }


def synthetic_family(iin):
    """family_ties/1, without iin and as_of: h = sha256("senim-peer:family:"
    + iin); marital status h[4] % 4, a spouse when married, h[5] % 4
    children."""
    h = digest("family", iin)
    status = ("single", "married", "divorced", "widowed")[h[4] % 4]
    sex = "M" if int(iin[6]) % 2 else "F"
    spouse = None
    if status == "married":
        born = iin_birth_date(iin) + datetime.timedelta(days=h[6] * 3 - 380)
        spouse = _person(h + b"spouse", born, "F" if sex == "M" else "M")
    children = []
    for i in range(h[5] % 4):
        born = datetime.date(2005 + h[7 + i] % 16, 1 + h[11 + i] % 12, 1 + h[15 + i] % 28)
        children.append(_person(h + bytes([i]), born, "MF"[h[19 + i] % 2]))
    return {"marital_status": status, "spouse": spouse, "children": children}


def synthetic_address(iin):
    """address/1, without iin and as_of: none when h[0] % 10 == 0."""
    h = digest("address", iin)
    if h[0] % 10 == 0:
        return {"registered_address": None}
    return {"registered_address": {
        "text": "г. Алматы, ул. Абая, д. %d, кв. %d" % (1 + h[1] % 200, 1 + h[2] % 150),
        "registry_id": "ar-" + h[3:11].hex(),
        "since": _date(h[11] * 9),
    }}


def synthetic_capacity(iin):
    """legal_capacity/1, without iin and as_of: limited when h[0] % 20 == 0,
    incapable when it is 1, else full."""
    h = digest("capacity", iin)
    if h[0] % 20 == 0:
        return {"legal_capacity": "limited", "source_body": "Суд (синтетические данные)",
                "decision_date": _date(h[1] * 10)}
    if h[0] % 20 == 1:
        return {"legal_capacity": "incapable", "source_body": "Суд (синтетические данные)",
                "decision_date": _date(h[1] * 10)}
    return {"legal_capacity": "full", "source_body": "ГБД ФЛ (синтетические данные)",
            "decision_date": None}


def now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def today():
    return datetime.datetime.now(datetime.timezone.utc).date()


# ---- checking requests -------------------------------------------------------

def bad(message):
    return ApiError(400, "invalid_request", message)


def want_object(value, what="the body"):
    if not isinstance(value, dict):
        raise bad("%s must be a JSON object" % what)
    return value


def want_str(obj, key, max_len, required=True, pattern=None):
    v = obj.get(key)
    if v is None and not required:
        return None
    if not isinstance(v, str) or not 1 <= len(v) <= max_len or \
            (pattern and not re.fullmatch(pattern, v)):
        raise bad("%s must be a string of 1 to %d characters%s" % (
            key, max_len, " matching " + pattern if pattern else ""))
    return v


def want_int(obj, key, lo, hi, required=True):
    v = obj.get(key)
    if v is None and not required:
        return None
    if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
        raise bad("%s must be an integer from %d to %d" % (key, lo, hi))
    return v


def want_date(obj, key, required=True):
    v = obj.get(key)
    if v is None and not required:
        return None
    try:
        if not isinstance(v, str) or len(v) != 10:
            raise ValueError
        return datetime.date.fromisoformat(v)
    except ValueError:
        raise bad("%s must be a date YYYY-MM-DD" % key) from None


def want_iin(obj, key="iin"):
    v = obj.get(key)
    if not iin_valid(v):
        raise bad("%s must be a valid IIN" % key)
    return v


# ---- the shared state --------------------------------------------------------

class State:
    """Everything the handlers share, behind one lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.mode = "ok"
        self.delay_ms = None
        self.fail_left = None  # None: fail every request
        self.fail_status = 503
        self.lie = None
        self.requests = []
        self.attempts = 0
        self.answered = 0
        self.duplicates = 0
        self.handshake_failures = 0
        self.answers = {}  # Idempotency-Key -> (status, body)
        self.events = []
        self.event_ids = set()
        self.counter = 0
        self.concurrent = 0  # API requests being handled now
        self.max_concurrent = 0  # the most at once since the last reset

    def plan(self, base_delay):
        """Count an attempt and decide its fate: (delay_ms, action, status, lie)."""
        with self.lock:
            self.attempts += 1
            mode = self.mode
            delay = self.delay_ms if self.delay_ms is not None else base_delay
            if mode == "fail":
                if self.fail_left is not None:
                    self.fail_left -= 1
                    if self.fail_left <= 0:
                        self.mode, self.fail_left = "ok", None
                return delay, "fail", self.fail_status, None
            return delay, mode, 0, self.lie

    def next_number(self):
        with self.lock:
            self.counter += 1
            return self.counter


class Peer:
    """One kind of recipient: what it answers.  A subclass sets `name` and
    `routes` (path -> method name) and writes, per route,

        def route(self, body, ctx) -> dict           (200), or raises ApiError
        def route_lie(self, body, answer, variant) -> dict
        def route_wrong_person(self, body, answer) -> dict

    ctx has .state, .client_cn, .request_id, .idempotency_key.  A peer that always demands a
    client certificate sets requires_client_cert."""

    name = "peer"
    routes = {}
    # GET routes by path prefix -> method name: def name(self, rest, ctx)
    # -> dict (200), rest being the path after the prefix; the modes apply
    # as to routes (name_lie, name_wrong_person when the peer has them).
    get_routes = {}
    # DELETE routes, as get_routes (payment_provider.py's unbinding).
    delete_routes = {}
    # path -> the status of a success when not 200 (processing/1's 202)
    success = {}
    requires_client_cert = False

    def add_arguments(self, ap):
        pass

    def configure(self, args):
        self.unknown = set(args.unknown_iin or ())

    def known(self, iin):
        if iin in self.unknown:
            raise ApiError(404, "person_not_found", "no such person")

    # A peer's own control endpoints and state (payment_provider.py's
    # payouts): control_get/control_post answer a /_control/ path with a
    # dict, or None for 404; reset forgets the peer's state with
    # /_control/reset.
    def control_get(self, path, params):
        return None

    def control_post(self, path, body):
        return None

    def reset(self):
        pass


class Context:
    def __init__(self, state, client_cn, request_id, idempotency_key=None):
        self.state = state
        self.client_cn = client_cn
        self.request_id = request_id
        self.idempotency_key = idempotency_key


def client_cn(cert):
    for rdn in (cert or {}).get("subject", ()):
        for k, v in rdn:
            if k == "commonName":
                return v
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT

    def setup(self):
        super().setup()
        self.client_cn = None
        if isinstance(self.connection, ssl.SSLSocket):
            self.client_cn = client_cn(self.connection.getpeercert())

    def version_string(self):
        return self.server.peer.name + "-peer/1"

    def log_message(self, fmt, *args):
        if self.server.verbose:
            super().log_message(fmt, *args)

    # ---- plumbing ------------------------------------------------------------

    def send_bytes(self, status, body, ctype="application/json", extra=None, cut=None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if cut is None:
            self.wfile.write(body)
            return
        self.wfile.write(body[:cut])
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def send_json(self, status, obj, extra=None, cut=False):
        body = json.dumps(obj, ensure_ascii=False).encode()
        self.send_bytes(status, body, extra=extra, cut=len(body) // 2 if cut else None)

    def read_body(self):
        """The request body, or None after answering 411/413."""
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self.send_json(411, ApiError(411, "length_required", "Content-Length").body())
            return None
        n = int(length)
        if n > BODY_MAX:
            self.close_connection = True
            self.send_json(413, ApiError(413, "too_large", "body over 1 MiB").body())
            return None
        return self.rfile.read(n)

    def split_path(self):
        path, _, query = self.path.partition("?")
        return path, dict(urllib.parse.parse_qsl(query, keep_blank_values=True))

    def loopback_only(self):
        if not self.client_address[0].startswith("127."):
            self.send_json(403, {"error": {"code": "forbidden",
                                           "message": "control endpoints are loopback only"}})
            return False
        return True

    # ---- routes --------------------------------------------------------------

    def do_GET(self):
        path, params = self.split_path()
        st = self.server.state
        if path.startswith("/_control/"):
            if not self.loopback_only():
                return
            with st.lock:
                if path == "/_control/requests":
                    out = {"requests": [dict(r) for r in st.requests
                                        if "path" not in params or r["path"] == params["path"]]}
                elif path == "/_control/stats":
                    out = {"attempts": st.attempts, "answered": st.answered,
                           "duplicates": st.duplicates, "events": len(st.events),
                           "handshake_failures": st.handshake_failures}
                elif path == "/_control/concurrency":
                    out = {"now": st.concurrent, "max": st.max_concurrent}
                elif path == "/_control/events":
                    out = {"events": [dict(e) for e in st.events]}
                else:
                    out = None
            if out is None:
                out = self.server.peer.control_get(path, params)
            if out is None:
                self.send_json(404, ApiError(404, "not_found", path).body())
            else:
                self.send_json(200, out)
            return
        for prefix in self.server.peer.get_routes:
            if path.startswith(prefix) and len(path) > len(prefix):
                self.api_get(prefix, path)
                return
        self.not_allowed(path)

    def not_allowed(self, path):
        if path in self.server.peer.routes:
            self.send_json(405, ApiError(405, "method_not_allowed", "POST only").body(),
                           {"Allow": "POST"})
        else:
            self.send_json(404, ApiError(404, "not_found", path).body())

    def do_DELETE(self):
        path, _ = self.split_path()
        routes = self.server.peer.delete_routes
        for prefix in routes:
            if path.startswith(prefix) and len(path) > len(prefix):
                self.api_get(prefix, path, routes)
                return
        self.not_allowed(path)

    do_PUT = do_PATCH = lambda self: self.not_allowed(self.split_path()[0])

    def do_POST(self):
        path, _ = self.split_path()
        if path.startswith("/_control/"):
            if not self.loopback_only():
                return
            if path == "/_control/mode":
                self.post_mode()
            elif path == "/_control/reset":
                if self.read_body() is None:
                    return
                self.server.state.reset()
                self.server.peer.reset()
                self.send_json(200, {"mode": "ok"})
            else:
                raw = self.read_body()
                if raw is None:
                    return
                try:
                    body = json.loads(raw or b"null")
                except (ValueError, UnicodeDecodeError):
                    body = None
                try:
                    out = self.server.peer.control_post(path, body)
                except ApiError as e:
                    self.send_json(e.status, e.body())
                    return
                if out is None:
                    self.send_json(404, ApiError(404, "not_found", path).body())
                else:
                    self.send_json(200, out)
            return
        if path not in self.server.peer.routes:
            self.send_json(404, ApiError(404, "not_found", path).body())
            return
        self.api(path)

    def post_mode(self):
        raw = self.read_body()
        if raw is None:
            return
        try:
            req = json.loads(raw or b"null")
        except (ValueError, UnicodeDecodeError):
            req = None
        if not isinstance(req, dict) or req.get("mode") not in MODES:
            self.send_json(400, {"error": {"code": "invalid_request",
                                           "message": "mode must be one of %s" % (MODES,)}})
            return
        ints = {}
        for key in ("delay_ms", "fail_count", "status"):
            v = req.get(key)
            if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 0):
                self.send_json(400, {"error": {"code": "invalid_request", "message":
                                               "%s must be a non-negative integer" % key}})
                return
            ints[key] = v
        status = ints["status"] if ints["status"] is not None else 503
        if not 100 <= status <= 599:
            self.send_json(400, {"error": {"code": "invalid_request",
                                           "message": "status must be an HTTP status"}})
            return
        lie = req.get("lie")
        if lie is not None and not isinstance(lie, str):
            self.send_json(400, {"error": {"code": "invalid_request",
                                           "message": "lie must be a string"}})
            return
        st = self.server.state
        with st.lock:
            st.mode = req["mode"]
            st.delay_ms = ints["delay_ms"]
            if st.mode == "slow" and st.delay_ms is None:
                st.delay_ms = 5000
            st.fail_status = status
            st.fail_left = ints["fail_count"]
            st.lie = lie
            if st.mode == "fail" and st.fail_left == 0:
                st.mode, st.fail_left = "ok", None
        self.send_json(200, {"mode": req["mode"]})

    # ---- one API request -----------------------------------------------------

    def record(self, path, raw):
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            body = None
        headers = {}
        for k, v in self.headers.items():
            headers[k] = "present" if k.lower() == "authorization" else v
        entry = {"method": self.command, "path": path, "headers": headers,
                 "client_cn": self.client_cn, "body": body, "at": time.time()}
        with self.server.state.lock:
            self.server.state.requests.append(entry)

    def api(self, path):
        st = self.server.state
        with st.lock:
            st.concurrent += 1
            st.max_concurrent = max(st.max_concurrent, st.concurrent)
        try:
            self.api_request(path)
        finally:
            with st.lock:
                st.concurrent -= 1

    def api_request(self, path):
        srv = self.server
        st, peer = srv.state, srv.peer
        delay_ms, action, status, lie = st.plan(srv.delay_ms)
        raw = self.read_body()
        if raw is None:
            return
        self.record(path, raw)
        if delay_ms:
            time.sleep(delay_ms / 1000.0)
        if action == "fail":
            self.send_json(status, ApiError(status, "injected_failure", "failing on purpose")
                           .body(), {"Retry-After": "1"} if status in (429, 503) else None)
            return
        if srv.token is not None:
            auth = self.headers.get("Authorization", "")
            if not hmac.compare_digest(auth.encode(), ("Bearer " + srv.token).encode()):
                self.send_json(401, ApiError(401, "unauthorized", "bearer token").body(),
                               {"WWW-Authenticate": "Bearer"})
                return
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if ctype != "application/json":
            self.send_json(415, ApiError(415, "unsupported_media_type",
                                         "Content-Type must be application/json").body())
            return

        key = self.headers.get("Idempotency-Key")
        cached = None
        if key:
            with st.lock:
                cached = st.answers.get(key)
                if cached:
                    st.duplicates += 1
        if cached:
            code, answer = cached
        else:
            code, answer = self.compute(path, raw)
            with st.lock:
                st.answered += 1
                # A 5xx says "try again": it is not the key's answer.
                if key and code >= 500:
                    pass
                elif key and key not in st.answers:
                    st.answers[key] = (code, answer)
                elif key:  # another request with the key answered first
                    code, answer = st.answers[key]

        if action == "garbage":
            body = b"<\x00 not json " + os.urandom(24)
            self.send_bytes(200, body)
            return
        if code == peer.success.get(path, 200) and action == "wrong_person":
            answer = getattr(peer, peer.routes[path] + "_wrong_person")(
                json.loads(raw), json.loads(json.dumps(answer)))
        elif code == peer.success.get(path, 200) and action == "lie":
            answer = getattr(peer, peer.routes[path] + "_lie")(
                json.loads(raw), json.loads(json.dumps(answer)), lie)
        self.send_json(code, answer, cut=action == "truncate")

    def api_get(self, prefix, path, routes=None):
        """A GET route of the peer (a status read), or with routes a DELETE
        one: the modes apply as to a POST; there is no body and no
        Idempotency-Key replay."""
        srv = self.server
        st, peer = srv.state, srv.peer
        with st.lock:
            st.concurrent += 1
            st.max_concurrent = max(st.max_concurrent, st.concurrent)
        try:
            delay_ms, action, status, lie = st.plan(srv.delay_ms)
            self.record(path, b"")
            if delay_ms:
                time.sleep(delay_ms / 1000.0)
            if action == "fail":
                self.send_json(status, ApiError(status, "injected_failure",
                                                "failing on purpose").body(),
                               {"Retry-After": "1"} if status in (429, 503) else None)
                return
            if srv.token is not None:
                auth = self.headers.get("Authorization", "")
                if not hmac.compare_digest(auth.encode(), ("Bearer " + srv.token).encode()):
                    self.send_json(401, ApiError(401, "unauthorized", "bearer token").body(),
                                   {"WWW-Authenticate": "Bearer"})
                    return
            name = (routes if routes is not None else peer.get_routes)[prefix]
            ctx = Context(st, self.client_cn, self.headers.get("X-Request-Id"))
            try:
                code, answer = 200, getattr(peer, name)(path[len(prefix):], ctx)
            except ApiError as e:
                code, answer = e.status, e.body()
            with st.lock:
                st.answered += 1
            if action == "garbage":
                self.send_bytes(200, b"<\x00 not json " + os.urandom(24))
                return
            if code == 200 and action == "wrong_person" and hasattr(peer, name + "_wrong_person"):
                answer = getattr(peer, name + "_wrong_person")(None, answer)
            elif code == 200 and action == "lie" and hasattr(peer, name + "_lie"):
                answer = getattr(peer, name + "_lie")(None, answer, lie)
            self.send_json(code, answer, cut=action == "truncate")
        finally:
            with st.lock:
                st.concurrent -= 1

    def compute(self, path, raw):
        peer = self.server.peer
        ctx = Context(self.server.state, self.client_cn, self.headers.get("X-Request-Id"),
                      self.headers.get("Idempotency-Key"))
        try:
            try:
                body = json.loads(raw)
            except (ValueError, UnicodeDecodeError):
                raise bad("the body is not JSON") from None
            return (peer.success.get(path, 200),
                    getattr(peer, peer.routes[path])(body, ctx))
        except ApiError as e:
            return e.status, e.body()


class Server(ThreadingHTTPServer):
    # A handler asleep in slow mode must not hold up shutdown.
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    # Benchmarks open many connections at once; a backlog of 5 would drop SYNs.
    request_queue_size = 256

    def finish_request(self, request, client_address):
        """Runs in the connection's thread: the TLS handshake here cannot block
        accept() for everyone else."""
        conn = request
        if self.tls is not None:
            try:
                request.settimeout(HANDSHAKE_TIMEOUT)
                conn = self.tls.wrap_socket(request, server_side=True,
                                            do_handshake_on_connect=False)
                conn.do_handshake()
                conn.settimeout(None)
            except (ssl.SSLError, OSError):
                with self.state.lock:
                    self.state.handshake_failures += 1
                try:
                    conn.close()
                except OSError:
                    pass
                return
        try:
            self.RequestHandlerClass(conn, client_address, self)
        finally:
            if conn is not request:
                conn.close()

    def handle_error(self, request, client_address):
        # A client that gave up, or cut a TLS session, is expected.
        if isinstance(sys.exc_info()[1], (ConnectionError, ssl.SSLError, socket.timeout)):
            return
        super().handle_error(request, client_address)


def main(peer, description):
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--token", help="the bearer token to demand (none: no authentication)")
    ap.add_argument("--tls-cert", help="PEM certificate; without it, plain HTTP")
    ap.add_argument("--tls-key", help="PEM key of --tls-cert")
    ap.add_argument("--client-ca", help="demand a client certificate issued by this CA")
    ap.add_argument("--delay-ms", type=int, default=0,
                    help="delay every API answer (when the mode sets none)")
    ap.add_argument("--unknown-iin", action="append",
                    help="answer 404 person_not_found for this IIN (repeatable)")
    ap.add_argument("--verbose", action="store_true")
    peer.add_arguments(ap)
    args = ap.parse_args()
    if bool(args.tls_cert) != bool(args.tls_key):
        ap.error("--tls-cert and --tls-key go together")
    if args.client_ca and not args.tls_cert:
        ap.error("--client-ca needs --tls-cert")
    if peer.requires_client_cert and not args.client_ca:
        ap.error("this peer always demands a client certificate: give --client-ca")
    if args.delay_ms < 0:
        ap.error("--delay-ms must not be negative")
    peer.configure(args)

    server = Server(("127.0.0.1", args.port), Handler)
    server.state = State()
    server.peer = peer
    server.token = args.token
    server.delay_ms = args.delay_ms
    server.verbose = args.verbose
    server.tls = None
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        if args.client_ca:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(args.client_ca)
        server.tls = ctx
    return serve(server, args.port_file)


def serve(server, port_file):
    """Serve until SIGTERM or SIGINT: the bound port goes to port_file
    (written whole, by rename) and to stdout, so a harness can wait for it.
    Every peer of tests/peers/ ends its main() here."""
    port = server.server_address[1]

    def stop(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    if port_file:
        tmp = port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, port_file)
    print("listening on 127.0.0.1:%d" % port, flush=True)
    try:
        server.serve_forever(poll_interval=0.1)
    except SystemExit:
        pass
    finally:
        server.server_close()
    return 0
