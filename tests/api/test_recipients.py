"""The recipients file from the outside (issue 11, T1-T5): `senim recipients
check|show` and `senim serve --recipients`.

Each rule of the file and its exact message are unit-tested in
tests/unit/test_recipients.c; here the commands answer, name the line of a
bad file, check the secret files the file names, and serve refuses a bad
file with exit 2 and starts with a good one.
"""
import json
import os
import subprocess
import tempfile

from senim_harness import BIN, TMP, Senim

SOURCE = os.environ.get("SENIM_SOURCE_DIR",
                        os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SHIPPED = os.path.join(SOURCE, "data", "recipients.conf")

BUREAU = """\
# a test file
[recipient gkb]
name_ru = АО «Государственное кредитное бюро»
name_kk = «Мемлекеттік кредиттік бюро» АҚ
registration = pending
kind = credit_bureau
country = KZ
endpoint = http://127.0.0.1:9/v1
{secrets}
[service gkb.credit_report]
api = credit_report/1
purposes = loan_application_review loan_servicing
sends = identity.iin
receives = report.score
basis = consent:credit_bureau_gkb
"""

# Line 12 names a purpose outside the processor's agreement.
PROCESSOR_OUTSIDE = """\
[recipient proc]
name_ru = Обработчик
name_kk = Өңдеуші
registration = pending
kind = processor
country = KZ
endpoint = https://proc.example
agreement = DPA-1 2025-01-15
agreement_purposes = identification
[service proc.sms]
api = sms/1
purposes = identification marketing
sends = contact.phone_mobile
basis = agreement
"""
OUTSIDE_MESSAGE = (":12: [service proc.sms] purposes: \"marketing\" is not among the "
                   "processing agreement's purposes (identification)")


def run(*args, env=None):
    return subprocess.run([BIN, *args], capture_output=True, timeout=60,
                          env=dict(os.environ, **(env or {})))


def write(directory, name, text, mode=0o600):
    path = os.path.join(directory, name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def secrets(directory):
    """A token, client certificate, key and CA as the file expects them
    (their PEM markers; nothing here talks TLS)."""
    return {
        "credentials": write(directory, "gkb.token", "token-123\n"),
        "client_cert": write(directory, "gkb.crt",
                             "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n",
                             0o644),
        "client_key": write(directory, "gkb.key",
                            "-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----\n"),
        "ca": write(directory, "ca.pem",
                    "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n", 0o644),
    }


def bureau_file(directory, files):
    lines = "\n".join("%s = %s" % kv for kv in files.items())
    return write(directory, "recipients.conf", BUREAU.format(secrets=lines), 0o644)


def test_help_answers():
    p = run("recipients", "--help")
    assert p.returncode == 0
    out = p.stdout.decode()
    assert out.startswith("usage: senim recipients check")
    assert "exit codes" in out
    assert run("recipients", "check", "--help").returncode == 0
    assert b"recipients" in run("--help").stdout
    assert b"--recipients FILE" in run("serve", "--help").stdout
    p = run("recipients")
    assert p.returncode == 2 and p.stderr.startswith(b"usage: senim recipients")
    p = run("recipients", "verify", "x")
    assert p.returncode == 2 and b"unknown subcommand 'verify'" in p.stderr
    p = run("recipients", "check")
    assert p.returncode == 2 and b"which file?" in p.stderr
    p = run("recipients", "check", "--json", SHIPPED)
    assert p.returncode == 2 and b"--json goes with show" in p.stderr


def shipped_line(text):
    """The 1-based number of the shipped file's line that is `text`."""
    with open(SHIPPED, encoding="utf-8") as f:
        return next(i for i, line in enumerate(f, 1) if line.rstrip("\n") == text)


def test_the_shipped_file_keeps_every_rule():
    p = run("recipients", "check", "--skip-files", SHIPPED)
    assert p.returncode == 0, p.stderr
    assert b"good: 11 recipients, 13 services" in p.stdout
    # Its secrets are not in the repository: every file it names is missing
    # here, each named with its line.
    p = run("recipients", "check", SHIPPED)
    assert p.returncode == 1
    lines = p.stderr.decode().splitlines()
    assert len(lines) == 19
    for line in lines:
        assert line.startswith("senim recipients: %s:" % SHIPPED)
        assert "/etc/senim/secrets/" in line and "No such file or directory" in line
    at = shipped_line("credentials = /etc/senim/secrets/gkb.token")
    assert any(":%d: [recipient gkb] credentials: /etc/senim/secrets/gkb.token:" % at in x
               for x in lines)


def test_show_json_is_the_file():
    p = run("recipients", "show", "--json", SHIPPED)
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["cross_border"] == {"allowed_countries": ["DE"]}
    by_code = {r["code"]: r for r in doc["recipients"]}
    assert sorted(by_code) == sorted(["gkb", "pkb", "kcell", "kartel", "mts", "family_db",
                                      "address_db", "capacity_db", "sms_gateway",
                                      "scorelab", "payments"])
    gkb = by_code["gkb"]
    assert gkb["registration_pending"] is True
    assert gkb["report_within_days"] == 1
    events = next(s for s in gkb["services"] if s["code"] == "loan_event")
    assert events["basis"] == {"kind": "law", "consent": None,
                               "legal_ref": "KZ 573-II art. 23(1), 26(1); KZ 56-V art. 4(2), 21(3)"}
    assert events["purposes"] == ["legal_obligation"]
    assert events["receives"] is None
    report = next(s for s in gkb["services"] if s["code"] == "credit_report")
    assert report["basis"]["consent"] == "credit_bureau_gkb"
    assert report["path"] == "/v1/credit-reports"
    assert by_code["scorelab"]["agreement"] == {
        "id": "DPA-SL-1", "date": "2025-01-15", "purposes": ["loan_application_review"]}
    assert by_code["family_db"]["services"][0]["state_service_consent"] is True
    p = run("recipients", "show", SHIPPED)
    assert p.returncode == 0
    assert "gkb (line %d): АО «Государственное кредитное бюро»" % shipped_line(
        "[recipient gkb]") in p.stdout.decode()


def test_a_bad_file_is_refused_naming_its_line():
    d = tempfile.mkdtemp(prefix="recipients-", dir=TMP)
    path = write(d, "bad.conf", PROCESSOR_OUTSIDE, 0o644)
    for sub in (["check"], ["check", "--skip-files"], ["show"], ["show", "--json"]):
        p = run("recipients", *sub, path)
        assert p.returncode == 2, sub
        assert p.stdout == b""
        assert p.stderr.decode() == "senim recipients: %s%s\n" % (path, OUTSIDE_MESSAGE)
    # The access matrix in force decides too.
    matrix = json.load(open(os.path.join(SOURCE, "data", "access-matrix.json")))
    for part in ("purpose_categories", "purpose_writes"):
        matrix[part]["loan_application_review"].remove("identity")
    mpath = write(d, "matrix.json", json.dumps(matrix), 0o644)
    good = bureau_file(d, {})
    assert run("recipients", "check", good).returncode == 0
    p = run("recipients", "check", "--access-matrix", mpath, good)
    assert p.returncode == 2
    assert p.stderr.decode() == (
        "senim recipients: %s:13: [service gkb.credit_report] sends: purpose "
        "\"loan_application_review\" may not see category identity (access matrix)\n" % good)
    p = run("recipients", "check", good, env={"SENIM_ACCESS_MATRIX": mpath})
    assert p.returncode == 2
    p = run("recipients", "check", os.path.join(d, "missing.conf"))
    assert p.returncode == 3 and b"cannot read the recipients file" in p.stderr


def test_check_opens_the_files_the_file_names():
    d = tempfile.mkdtemp(prefix="recipients-", dir=TMP)
    files = secrets(d)
    path = bureau_file(d, files)
    p = run("recipients", "check", path)
    assert p.returncode == 0, p.stderr
    assert p.stdout.decode() == ("%s: good: 1 recipients, 1 services; "
                                 "1 registrations pending\n" % path)

    def refused(line, key, why):
        p = run("recipients", "check", path)
        assert p.returncode == 1
        assert p.stderr.decode() == "senim recipients: %s:%d: [recipient gkb] %s: %s: %s\n" % (
            path, line, key, files[key], why)
        # --skip-files leaves them alone
        assert run("recipients", "check", "--skip-files", path).returncode == 0

    os.chmod(files["credentials"], 0o644)
    refused(9, "credentials", "open to group or others (chmod 600 it)")
    write(d, "gkb.token", "\n", 0o600)
    refused(9, "credentials", "the first line holds no token")
    write(d, "gkb.token", "tok en\n", 0o600)
    refused(9, "credentials", "the token is not visible ASCII")
    write(d, "gkb.token", "token-123\n", 0o600)

    os.chmod(files["client_key"], 0o640)
    refused(11, "client_key", "open to group or others (chmod 600 it)")
    write(d, "gkb.key", "not a key\n", 0o600)
    refused(11, "client_key", "no PEM private key in it")
    write(d, "gkb.key", "-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----\n")

    write(d, "gkb.crt", "hello\n", 0o644)
    refused(10, "client_cert", "no PEM certificate in it")
    write(d, "gkb.crt", "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n",
          0o644)
    os.unlink(files["ca"])
    refused(12, "ca", "No such file or directory")


def test_serve_refuses_a_bad_file_with_exit_2():
    d = tempfile.mkdtemp(prefix="recipients-", dir=TMP)
    path = write(d, "bad.conf", PROCESSOR_OUTSIDE, 0o644)
    data = os.path.join(d, "data")
    cmd = [BIN, "serve", "--listen", "127.0.0.1:0", "--data-dir", data]
    p = subprocess.run(cmd + ["--recipients", path], capture_output=True, timeout=60)
    assert p.returncode == 2
    assert p.stderr.decode() == "senim serve: %s%s\n" % (path, OUTSIDE_MESSAGE)
    assert not os.path.exists(data), "nothing opened before the file was checked"
    p = subprocess.run(cmd, capture_output=True, timeout=60,
                       env=dict(os.environ, SENIM_RECIPIENTS=path))
    assert p.returncode == 2
    assert p.stderr.decode() == "senim serve: %s%s\n" % (path, OUTSIDE_MESSAGE)
    # A secret file open to others stops it too.
    files = secrets(d)
    os.chmod(files["credentials"], 0o644)
    good = bureau_file(d, files)
    p = subprocess.run(cmd + ["--recipients", good], capture_output=True, timeout=60)
    assert p.returncode == 2
    assert p.stderr.decode() == (
        "senim serve: %s:9: [recipient gkb] credentials: %s: open to group or others "
        "(chmod 600 it)\n" % (good, files["credentials"]))


def test_serve_starts_with_a_good_file():
    d = tempfile.mkdtemp(prefix="recipients-", dir=TMP)
    path = bureau_file(d, secrets(d))
    s = Senim(extra_args=["--recipients", path]).start()
    try:
        assert s.get("/healthz").status == 200
    finally:
        assert s.stop() == 0
    log = [json.loads(x) for x in s.read_log().splitlines() if x.startswith("{")]
    pending = [x for x in log if x.get("event") == "recipient_registration_pending"]
    assert [(x["level"], x["recipient"]) for x in pending] == [("warn", "gkb")]
