#!/usr/bin/python3
"""A stand-in SMS gateway for senim's tests (stdlib only).

It speaks the protocol in src/connectors/sms.h:

    POST /messages
    Authorization: Bearer <token>
    Content-Type: application/json
    {"to": "+77011234567", "text": "...", "reference": "<request id>"}
    -> 202 {"id": "msg-1"}

and records what it accepted, so a test reads a one-time code from it as a
phone would.  Tests steer it through /_control/ endpoints (no auth; the
server listens on 127.0.0.1 only and refuses other clients):

    GET  /_control/messages[?to=+77...]  {"messages": [...]}, newest last
    GET  /_control/stats                 {"attempts": N, "delivered": N}
    POST /_control/mode                  {"mode": "ok"|"fail"|"slow"|"lie",
                                          "delay_ms": N, "fail_count": N,
                                          "status": N}
    POST /_control/reset                 mode ok, no messages, counters zero

Modes (each POST /messages counts as one attempt, whatever the answer):
  ok    accept and record.
  fail  answer `status` (default 503) to the next `fail_count` requests, or
        to every request when fail_count is absent; then back to ok.  The
        failure comes before the token check, as a gateway that is down does.
  slow  sleep delay_ms (default 5000) and then behave as ok.  delay_ms also
        applies to the other modes when given.
  lie   answer 200 with a body that is not JSON ("OK", text/plain) and never
        record the message: a gateway that claims success without the
        protocol's answer.

Usage: sms_gateway.py --port 0 --token TOKEN [--port-file FILE] [--verbose]
Prints "listening on 127.0.0.1:PORT" on stdout once it accepts connections;
ends with status 0 on SIGTERM or SIGINT.
"""

import argparse
import hmac
import json
import re
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import peerlib  # beside this file: the serve loop every peer shares

BODY_MAX = 64 * 1024
E164 = re.compile(r"^\+[0-9]{8,15}$")
MODES = ("ok", "fail", "slow", "lie")


class State:
    """Everything the handlers share, behind one lock."""

    def __init__(self, token):
        self.token = token
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.mode = "ok"
        self.delay_ms = 0
        self.fail_left = None  # None: fail every request
        self.fail_status = 503
        self.messages = []
        self.attempts = 0
        self.delivered = 0
        self.next_id = 1

    def plan(self):
        """Count an attempt and decide its fate: (delay_ms, action, status).

        The fault is decided when the request arrives, so fail_count counts
        requests, not answers."""
        with self.lock:
            self.attempts += 1
            mode, delay = self.mode, self.delay_ms
            if mode == "fail":
                status = self.fail_status
                if self.fail_left is not None:
                    self.fail_left -= 1
                    if self.fail_left <= 0:
                        self.mode, self.fail_left = "ok", None
                return delay, "fail", status
            return delay, mode, 0

    def record(self, msg):
        with self.lock:
            msg["id"] = "msg-%d" % self.next_id
            self.next_id += 1
            self.messages.append(msg)
            self.delivered += 1
            return msg["id"]


class Handler(BaseHTTPRequestHandler):
    server_version = "sms-gateway-peer/1"
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        if self.server.verbose:
            super().log_message(fmt, *args)

    # ---- plumbing --------------------------------------------------------

    def send_json(self, status, obj, extra=None):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def send_text(self, status, text):
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def read_body(self):
        """The request body, or None after answering 411/413."""
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self.send_json(411, {"error": "length_required"})
            return None
        n = int(length)
        if n > BODY_MAX:
            self.close_connection = True
            self.send_json(413, {"error": "too_large"})
            return None
        return self.rfile.read(n)

    def read_json(self):
        """(ok, value); on a bad body the 400 has been sent."""
        raw = self.read_body()
        if raw is None:
            return False, None
        try:
            return True, json.loads(raw or b"null")
        except (ValueError, UnicodeDecodeError):
            self.send_json(400, {"error": "bad_json"})
            return False, None

    def split_path(self):
        path, _, query = self.path.partition("?")
        params = {}
        for part in query.split("&") if query else ():
            k, _, v = part.partition("=")
            # unquote, not unquote_plus: "+7701..." keeps its plus sign.
            params[urllib.parse.unquote(k)] = urllib.parse.unquote(v)
        return path, params

    def loopback_only(self):
        if not self.client_address[0].startswith("127."):
            self.send_json(403, {"error": "control endpoints are loopback only"})
            return False
        return True

    # ---- routes ----------------------------------------------------------

    def do_GET(self):
        path, params = self.split_path()
        st = self.server.state
        if path.startswith("/_control/") and not self.loopback_only():
            return
        if path == "/_control/messages":
            with st.lock:
                msgs = [dict(m) for m in st.messages
                        if "to" not in params or m["to"] == params["to"]]
            self.send_json(200, {"messages": msgs})
        elif path == "/_control/stats":
            with st.lock:
                stats = {"attempts": st.attempts, "delivered": st.delivered}
            self.send_json(200, stats)
        else:
            self.send_json(404, {"error": "not_found"})

    def do_POST(self):
        path, _ = self.split_path()
        if path.startswith("/_control/") and not self.loopback_only():
            return
        if path == "/messages":
            self.post_message()
        elif path == "/_control/mode":
            self.post_mode()
        elif path == "/_control/reset":
            if self.read_body() is None:
                return
            with self.server.state.lock:
                self.server.state.reset()
            self.send_json(200, {"mode": "ok"})
        else:
            self.send_json(404, {"error": "not_found"})

    def post_mode(self):
        ok, req = self.read_json()
        if not ok:
            return
        if not isinstance(req, dict) or req.get("mode") not in MODES:
            self.send_json(400, {"error": "mode must be one of %s" % (MODES,)})
            return
        ints = {}
        for key in ("delay_ms", "fail_count", "status"):
            v = req.get(key)
            if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 0):
                self.send_json(400, {"error": "%s must be a non-negative integer" % key})
                return
            ints[key] = v
        status = ints["status"] if ints["status"] is not None else 503
        if not 100 <= status <= 599:
            self.send_json(400, {"error": "status must be an HTTP status"})
            return
        st = self.server.state
        with st.lock:
            st.mode = req["mode"]
            default_delay = 5000 if st.mode == "slow" else 0
            st.delay_ms = ints["delay_ms"] if ints["delay_ms"] is not None else default_delay
            st.fail_status = status
            st.fail_left = ints["fail_count"]
            if st.mode == "fail" and st.fail_left == 0:
                st.mode, st.fail_left = "ok", None
        self.send_json(200, {"mode": req["mode"]})

    def post_message(self):
        st = self.server.state
        delay_ms, action, status = st.plan()
        # Read the body before stalling or failing, so the client's request
        # is complete whatever we answer.
        raw = self.read_body()
        if raw is None:
            return
        if delay_ms:
            time.sleep(delay_ms / 1000.0)
        if action == "fail":
            self.send_json(status, {"error": "injected failure"},
                           {"Retry-After": "1"} if status in (429, 503) else None)
            return
        auth = self.headers.get("Authorization", "")
        want = "Bearer " + st.token
        if not hmac.compare_digest(auth.encode(), want.encode()):
            self.send_json(401, {"error": "unauthorized"},
                           {"WWW-Authenticate": "Bearer"})
            return
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if ctype != "application/json":
            self.send_json(415, {"error": "content type must be application/json"})
            return
        try:
            req = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            self.send_json(400, {"error": "bad_json"})
            return
        if (not isinstance(req, dict)
                or not isinstance(req.get("to"), str) or not E164.match(req["to"])
                or not isinstance(req.get("text"), str) or not req["text"]
                or not isinstance(req.get("reference"), (str, type(None)))):
            self.send_json(400, {"error": "want {to: E.164, text, reference}"})
            return
        if action == "lie":
            self.send_text(200, "OK")
            return
        msg = {"to": req["to"], "text": req["text"],
               "reference": req.get("reference"), "received_at": time.time()}
        self.send_json(202, {"id": st.record(msg)})


class Server(ThreadingHTTPServer):
    # A handler asleep in slow mode must not hold up shutdown.
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    # Tests send from many threads at once; a backlog of 5 would drop SYNs.
    request_queue_size = 64

    def handle_error(self, request, client_address):
        # A client that gave up on a slow answer is expected, not an error.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


def main():
    ap = argparse.ArgumentParser(description="SMS gateway peer for tests")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--token", required=True)
    ap.add_argument("--port-file")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()

    server = Server(("127.0.0.1", args.port), Handler)
    server.state = State(args.token)
    server.verbose = args.verbose
    return peerlib.serve(server, args.port_file)


if __name__ == "__main__":
    sys.exit(main())
