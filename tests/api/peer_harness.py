"""Start the exchange peers of tests/peers/ and talk to them over HTTPS, as
senim's connectors will: a CA from tests/peers/testca.py made at test time,
http.client with the stdlib ssl module, client certificates included.

    ca = TestCA.create()                      # in $SENIM_TMP
    server = ca.issue_server()
    peer = PeerProcess("credit_bureau.py", tls=server, token="t")
    r = peer.post("/v1/credit-reports", {...}, ca=ca.crt, token="t")
    peer.mode("fail", fail_count=2)
    peer.stats(), peer.requests(), peer.events(), peer.reset()
    peer.stop()                               # SIGTERM; returns the exit code

A peer that demands client certificates gets `client=` (a testca Cert),
which control() presents too.
"""
import atexit
import http.client
import json
import os
import re
import signal
import ssl
import subprocess
import sys
import urllib.parse

PEERS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "peers")
sys.path.insert(0, PEERS)

import peerlib  # noqa: E402,F401  (re-exported for the tests)
from testca import TestCA  # noqa: E402,F401

_running = []


@atexit.register
def _stop_all():
    for p in list(_running):
        p.stop()


# An answer: status, headers and body, as the senim harness has them.
from senim_harness import Response as Answer  # noqa: E402


def tls_context(ca, cert=None):
    """A client context trusting `ca` (a PEM file), presenting `cert` (a
    testca Cert) when given."""
    ctx = ssl.create_default_context(cafile=ca)
    if cert is not None:
        ctx.load_cert_chain(cert.crt, cert.key)
    return ctx


class PeerProcess:
    def __init__(self, program, tls=None, client_ca=None, token=None, ca=None, client=None,
                 extra=()):
        self.ca = ca
        self.client = client
        self.tls = tls is not None
        args = ["/usr/bin/python3", os.path.join(PEERS, program), "--port", "0"]
        if tls is not None:
            args += ["--tls-cert", tls.crt, "--tls-key", tls.key]
        if client_ca:
            args += ["--client-ca", client_ca]
        if token:
            args += ["--token", token]
        args += list(extra)
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        line = self.proc.stdout.readline().decode()
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
        if not m:
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError("%s did not start: %r" % (program, line))
        self.port = int(m.group(1))
        _running.append(self)

    def connection(self, ca=None, cert=None, timeout=30):
        if not self.tls:
            return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout,
                                           context=tls_context(ca or self.ca, cert))

    def request(self, method, path, body=None, headers=None, token=None, ca=None,
                cert=None, raw=None, timeout=30, content_type="application/json"):
        h = dict(headers or {})
        data = raw if raw is not None else (
            json.dumps(body, ensure_ascii=False).encode() if body is not None else None)
        if data is not None and content_type:
            h.setdefault("Content-Type", content_type)
        if token:
            h["Authorization"] = "Bearer " + token
        conn = self.connection(ca, cert, timeout)
        try:
            conn.request(method, path, body=data, headers=h)
            r = conn.getresponse()
            return Answer(r.status, r.getheaders(), r.read())
        finally:
            conn.close()

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body, **kw)

    def control(self, method, path, body=None):
        r = self.request(method, "/_control/" + path, body, cert=self.client)
        assert r.status == 200, r
        return r.json

    def mode(self, mode, **kw):
        return self.control("POST", "mode", dict(kw, mode=mode))

    def stats(self):
        return self.control("GET", "stats")

    def requests(self, path=None):
        q = "?path=" + urllib.parse.quote(path) if path else ""
        return self.control("GET", "requests" + q)["requests"]

    def events(self):
        return self.control("GET", "events")["events"]

    def reset(self):
        return self.control("POST", "reset", {})

    def stop(self):
        if self not in _running:
            return None
        _running.remove(self)
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.proc.stdout.close()
        return rc
