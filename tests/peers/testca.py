#!/usr/bin/python3
"""A test certificate authority, made at test time with the openssl CLI.

Nothing here is committed: every run makes its own CA and certificates in
a fresh directory, so no private key lives in the repository and none
outlives its test run by more than the two days the certificates are valid.
Keys are EC P-256; every file is mode 0600.

    ca = TestCA.create(directory)            # ca.crt, ca.key
    server = ca.issue_server("server")       # server.crt/.key: 127.0.0.1, localhost
    client = ca.issue_client("client")       # client.crt/.key, CN senim-test-client
    other = TestCA.create(other_dir, "other test CA")   # for "untrusted" tests

Each issue_* returns a Cert with .crt, .key and .cn.

From a shell, `testca.py DIR` makes a CA, a server and a client certificate
in DIR, and a second CA with a server certificate in DIR/other-ca, and
prints the paths as JSON.
"""

import json
import os
import secrets
import subprocess
import sys
import tempfile

OPENSSL = "openssl"
DAYS = "2"
EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]


class Cert:
    def __init__(self, crt, key, cn):
        self.crt = crt
        self.key = key
        self.cn = cn

    def __repr__(self):
        return "<Cert %s %s>" % (self.cn, self.crt)


def _run(args, cwd):
    p = subprocess.run([OPENSSL, *args], cwd=cwd, capture_output=True, timeout=60)
    if p.returncode != 0:
        raise RuntimeError("openssl %s failed: %s" % (args[0], p.stderr.decode()[-2000:]))


def _private(*paths):
    for p in paths:
        os.chmod(p, 0o600)


class TestCA:
    """A CA in `directory`: ca.crt and ca.key."""

    __test__ = False  # a helper, not a pytest test class

    def __init__(self, directory, name):
        self.dir = directory
        self.name = name
        self.crt = os.path.join(directory, "ca.crt")
        self.key = os.path.join(directory, "ca.key")

    @classmethod
    def create(cls, directory=None, name="senim test CA"):
        if directory is None:
            base = os.environ.get("SENIM_TMP") or tempfile.gettempdir()
            os.makedirs(base, exist_ok=True)
            directory = tempfile.mkdtemp(prefix="ca-%d-" % os.getpid(), dir=base)
        os.makedirs(directory, mode=0o700, exist_ok=True)
        ca = cls(directory, name)
        _run(["req", "-x509", *EC, "-days", DAYS, "-keyout", "ca.key", "-out", "ca.crt",
              "-subj", "/CN=" + name,
              "-addext", "basicConstraints=critical,CA:TRUE",
              "-addext", "keyUsage=critical,keyCertSign,cRLSign"], directory)
        _private(ca.crt, ca.key)
        return ca

    def _issue(self, name, cn, extensions):
        ext = os.path.join(self.dir, name + ".ext")
        with open(ext, "w") as f:
            f.write("\n".join(extensions) + "\n")
        _run(["req", *EC, "-keyout", name + ".key", "-out", name + ".csr",
              "-subj", "/CN=" + cn], self.dir)
        _run(["x509", "-req", "-in", name + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key",
              "-set_serial", "0x" + secrets.token_hex(8), "-days", DAYS,
              "-out", name + ".crt", "-extfile", name + ".ext"], self.dir)
        os.unlink(os.path.join(self.dir, name + ".csr"))
        os.unlink(ext)
        cert = Cert(os.path.join(self.dir, name + ".crt"),
                    os.path.join(self.dir, name + ".key"), cn)
        _private(cert.crt, cert.key)
        return cert

    def issue_server(self, name="server", cn=None):
        """A server certificate for 127.0.0.1 and localhost."""
        return self._issue(name, cn or "senim-test-" + name, [
            "basicConstraints=CA:FALSE",
            "keyUsage=critical,digitalSignature",
            "extendedKeyUsage=serverAuth",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ])

    def issue_client(self, name="client", cn=None):
        """A client certificate (TLS client authentication only)."""
        return self._issue(name, cn or "senim-test-" + name, [
            "basicConstraints=CA:FALSE",
            "keyUsage=critical,digitalSignature",
            "extendedKeyUsage=clientAuth",
        ])


def main():
    if len(sys.argv) != 2 or sys.argv[1].startswith("-"):
        sys.stderr.write("usage: testca.py DIR\n")
        return 2
    d = sys.argv[1]
    ca = TestCA.create(d)
    server = ca.issue_server()
    client = ca.issue_client()
    other = TestCA.create(os.path.join(d, "other-ca"), "other test CA")
    untrusted = other.issue_server()
    print(json.dumps({"ca": ca.crt, "server": [server.crt, server.key],
                      "client": [client.crt, client.key], "other_ca": other.crt,
                      "untrusted_server": [untrusted.crt, untrusted.key]}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
