"""The access package (issue 13; R1, R5): everything senim holds about one
subject, as signed JSON and as signed bilingual HTML, made by the DPO
(`POST`/`GET /v1/subjects/{id}/package`) until the rights requests' queue
calls it; `senim package verify` checks either offline, and a flipped byte
fails.  Third parties' fields are redacted with the reason recorded.  A
subject whose own access is limited under a law (AML/CFT, a court order)
gets one refusal, the same answer whatever the ground, and the limit never
shows in a package."""
import base64
import datetime
import json
import os
import tempfile

import pytest

from senim_harness import TMP, Senim, borrower
from test_disclosures import entry_sql, now_us, snapshot_sql

SOURCE = os.environ.get("SENIM_SOURCE_DIR",
                        os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
RULES = os.path.join(SOURCE, "data", "loan-rules.conf")
ID = {"Senim-Purpose": "identification"}
U1 = {"Senim-Purpose": "loan_application_review"}
LOANS = ("contract_number,iin,principal_tiyn,rate_bp,method,payments,term_days,"
         "start_date,penalty_daily_bp,penalty_annual_bp\n")
TODAY = datetime.datetime.now(datetime.timezone.utc).date()


@pytest.fixture(scope="module")
def w():
    s = Senim(extra_args=["--loan-rules", RULES]).start()
    w = {"s": s, "dir": tempfile.mkdtemp(prefix="pkg-", dir=TMP), "n": [0]}
    for role in ("underwriter", "dpo", "support", "admin", "auditor", "payment_provider"):
        w[role] = s.service_token("pkg-" + role, role)
    yield w
    assert s.stop() == 0, s.read_log()[-4000:]


def register(w, **over):
    b = borrower(**over)
    r = w["s"].post("/v1/subjects", b, token=w["underwriter"], headers=ID)
    assert r.status == 201, r
    token = w["s"].borrower_token(b["phone"])
    w["s"].accept_policy(token)
    return r.json["id"], b, token


def put(w, sid, category, fields):
    r = w["s"].request("PUT", f"/v1/subjects/{sid}/data/{category}", token=w["underwriter"],
                       headers=U1, body={"fields": fields})
    assert r.status == 200, r


def import_loan(w, iin):
    w["n"][0] += 1
    number = "PK-%d-%06d" % (os.getpid(), w["n"][0])
    path = os.path.join(w["dir"], "loans.csv")
    start = (TODAY - datetime.timedelta(days=10)).isoformat()
    with open(path, "w", encoding="utf-8") as f:
        f.write(LOANS + ",".join([number, iin, "30000000", "5600", "annuity", "3", "",
                                  start, "5", "1000"]) + "\n")
    p = w["s"].cli("loans", "import", path)
    assert b"imported 1 loans" in p.stdout, p.stdout
    os.remove(path)
    return w["s"].sql("SELECT id FROM loans ORDER BY created_at DESC, id DESC")[0][0], number


def import_obligation(w, iin):
    w["n"][0] += 1
    number = "OB-%d-%06d" % (os.getpid(), w["n"][0])
    path = os.path.join(w["dir"], "obligations.csv")
    with open(path, "w", encoding="utf-8") as f:
        f.write("iin,contract_number,outstanding_tiyn,due_date,status\n")
        f.write("%s,%s,1500000,%s,open\n" % (iin, number,
                                             (TODAY + datetime.timedelta(days=60)).isoformat()))
    w["s"].cli("obligations", "import", path)
    os.remove(path)
    return number


@pytest.fixture(scope="module")
def seeded(w):
    """A borrower with data of each kind: two versions of a category, a
    family record naming a spouse and a child, a consent, a loan with a
    payment, an imported obligation."""
    s = w["s"]
    sid, b, token = register(w)
    put(w, sid, "professional", {"education": "vocational"})
    put(w, sid, "professional", {"education": "postgraduate"})
    put(w, sid, "family", {"marital_status": "married", "spouse_name": "Жұбайы Әйелов",
                           "dependants": [{"relation": "son", "name": "Балауса Ұлы",
                                           "birth_date": "2015-03-01"}]})
    r = s.post("/v1/me/consents", {"kind": "credit_bureau_gkb", "channel": "web"}, token=token)
    assert r.status == 201, r
    loan_id, number = import_loan(w, b["iin"])
    r = s.post("/v1/loans/%s/payments" % loan_id,
               {"provider_ref": "pkg-%d" % os.getpid(), "amount_tiyn": 1000000,
                "currency": "KZT", "channel": "card",
                "paid_at": datetime.datetime.now(datetime.timezone.utc)
                .strftime("%Y-%m-%dT%H:%M:%SZ")}, token=w["payment_provider"])
    assert r.status in (200, 201), r
    obligation = import_obligation(w, b["iin"])
    # a register entry as the exchange writes it (test_disclosures.py's way)
    s.sql(snapshot_sql())
    disclosure, insert = entry_sql(sid, "gkb", now_us())
    s.sql(insert)
    return {"disclosure": disclosure, "sid": sid, "b": b, "token": token, "loan": loan_id, "number": number,
            "obligation": obligation, "consent": r.json}


def package(w, sid, token=None):
    return w["s"].post(f"/v1/subjects/{sid}/package", token=token or w["dpo"])


def verify(w, data, *args):
    path = os.path.join(w["dir"], "package")
    with open(path, "wb") as f:
        f.write(data)
    p = w["s"].cli("package", "verify", path, *args, check=False)
    os.remove(path)
    return p


def test_the_package_holds_each_kind_of_data(w, seeded):
    r = package(w, seeded["sid"])
    assert r.status == 200, r
    p = r.json
    assert p["version"] == "senim-access-package-v1" and p["subject_id"] == seeded["sid"]
    cats = p["categories"]
    assert cats["identity"][0]["fields"]["iin"] == seeded["b"]["iin"]
    assert [v["fields"]["education"] for v in cats["professional"]] == \
        ["postgraduate", "vocational"]  # every version, newest first
    assert all(v["source"] for v in cats["professional"])
    assert [c["kind"] for c in p["consents"]].count("credit_bureau_gkb") == 1
    gkb = [c for c in p["consents"] if c["kind"] == "credit_bureau_gkb"][0]
    assert gkb["receipt"]["signature"]["alg"] == "Ed25519"
    assert [l["loan_id"] for l in p["loans"]] == [seeded["loan"]]
    assert len(p["loans"][0]["schedule"]) == 3
    assert p["loans"][0]["interest_carried_tiyn"] == 0  # no restructuring: nothing carried
    assert [x["loan_id"] for x in p["loan_payments"]] == [seeded["loan"]]
    assert p["loan_payments"][0]["amount_tiyn"] == 1000000
    assert len(p["obligations"]) == 1 and p["obligations"][0]["status"] == "open"
    assert p["obligations"][0]["details"]["contract_number"] == seeded["obligation"]
    assert p["obligations"][0]["details"]["outstanding_tiyn"] == 1500000
    assert any(e["event"] == "issued" for e in p["bureau_events"])
    assert [d["disclosure_id"] for d in p["disclosures"]] == [seeded["disclosure"]]
    assert p["disclosures"][0]["recipient"] == "gkb"
    ops = {a["operation"] for a in p["audit"]}
    assert {"subject.register", "subject.write", "consent.grant"} <= ops, ops
    for key in ("applications", "decisions", "offers", "disclosures", "findings",
                "sources"):
        assert isinstance(p[key], list)
    # the package itself is audited, with its purpose
    rows = w["s"].sql("SELECT outcome, purpose, object FROM audit_log WHERE operation ="
                      " 'subject.package' AND subject_id = '%s'" % seeded["sid"])
    assert rows[-1][0] == "success" and rows[-1][1] == "legal_obligation", rows


def test_the_package_has_a_cards_section(w, seeded):
    """The payout cards (test_cards.py binds them through the provider): the
    section is there, signed with the rest, empty for a borrower with none,
    its heading in both languages, and a card added afterwards breaks the
    signature."""
    r = package(w, seeded["sid"])
    assert r.status == 200 and r.json["cards"] == [], r.json.get("cards")
    html = w["s"].get(f"/v1/subjects/{seeded['sid']}/package", token=w["dpo"]).body.decode()
    assert "Банковские карты для выплаты займа" in html
    assert "Қарызды төлеуге арналған банк карталары" in html
    doc = dict(r.json)
    doc["cards"] = [{"card_id": "crd_" + "A" * 22}]
    p = verify(w, json.dumps(doc, ensure_ascii=False).encode())
    assert p.returncode == 1 and b"INVALID" in p.stdout, p.stdout


def test_third_parties_are_redacted_with_the_reason(w, seeded):
    p = package(w, seeded["sid"]).json
    fam = p["categories"]["family"][0]["fields"]
    assert fam["marital_status"] == "married"  # the subject's own
    assert fam["spouse_name"].startswith("[redacted")
    assert fam["dependants"].startswith("[redacted")
    assert {(x["field"], x["reason"]) for x in p["redactions"]} == \
        {("spouse_name", "third_party_rights"), ("dependants", "third_party_rights")}
    text = json.dumps(p, ensure_ascii=False)
    assert "Жұбайы" not in text and "Балауса" not in text
    html = w["s"].get(f"/v1/subjects/{seeded['sid']}/package", token=w["dpo"]).body
    assert "Жұбайы".encode() not in html and "Балауса".encode() not in html
    rows = w["s"].sql("SELECT object FROM audit_log WHERE operation = 'subject.package'"
                      " AND subject_id = '%s' ORDER BY seq" % seeded["sid"])
    assert rows[-1][0].endswith(":redacted:third_party_rights"), rows


def test_the_json_signature_verifies_and_a_flipped_byte_fails(w, seeded):
    r = package(w, seeded["sid"])
    assert verify(w, r.body).returncode == 0
    # offline, with the public key alone
    pk = r.json["signature"]["public_key"]
    p = verify(w, r.body, "--public-key", pk)
    assert p.returncode == 0 and b"package valid" in p.stdout, p.stdout
    doc = r.json
    doc["loans"][0]["principal_tiyn"] += 1
    p = verify(w, json.dumps(doc, ensure_ascii=False).encode())
    assert p.returncode == 1 and b"INVALID" in p.stdout, p.stdout
    flipped = bytearray(r.body)
    i = flipped.index(seeded["sid"].encode()) + 5
    flipped[i] ^= 0x01
    assert verify(w, bytes(flipped)).returncode == 1
    other = base64.b64encode(bytes(32)).decode()
    assert verify(w, r.body, "--public-key", other).returncode == 1


def test_the_html_has_both_languages_and_its_signature_verifies(w, seeded):
    r = w["s"].get(f"/v1/subjects/{seeded['sid']}/package", token=w["dpo"])
    assert r.status == 200 and r.header("Content-Type").startswith("text/html"), r
    text = r.body.decode()
    ru, kk = text.index('<h1 lang="ru">'), text.index('<h1 lang="kk">')
    assert ru < kk
    assert "Согласия" in text and "Келісімдер" in text
    assert seeded["b"]["surname"] in text and seeded["loan"] in text
    assert text.rstrip("\n").splitlines()[-1].startswith("<!-- senim-signature ")
    assert verify(w, r.body).returncode == 0
    flipped = r.body.replace(seeded["loan"].encode(), seeded["loan"][:-1].encode() + b"x", 1)
    p = verify(w, flipped)
    assert p.returncode == 1 and b"HTML" in p.stdout, p.stdout
    assert verify(w, b"<html>no signature</html>\n").returncode == 1


def test_other_roles_are_refused(w, seeded):
    for role in ("underwriter", "support", "admin", "auditor"):
        r = package(w, seeded["sid"], token=w[role])
        assert r.status == 403 and r.json["code"] == "forbidden_role", (role, r)
        r = w["s"].post(f"/v1/subjects/{seeded['sid']}/access-limit",
                        {"ground": "aml_cft", "reference": "x"}, token=w[role])
        assert r.status == 403 and r.json["code"] == "forbidden_role", (role, r)
    r = package(w, seeded["sid"], token=seeded["token"])
    assert r.status == 403, r
    assert package(w, "sbj_" + "A" * 22).status == 404


def test_bad_limit_bodies(w, seeded):
    sid = seeded["sid"]
    for body, field in (({"ground": "suspicion", "reference": "x"}, "ground"),
                        ({"ground": "aml_cft", "reference": "Иванов"}, "reference"),
                        ({"ground": "aml_cft", "reference": ""}, "reference"),
                        ({"ground": "aml_cft"}, "reference")):
        r = w["s"].post(f"/v1/subjects/{sid}/access-limit", body, token=w["dpo"])
        assert r.status == 422 and r.json["field"] == field, (body, r)


def shape(r):
    """A refusal without what differs per request."""
    doc = dict(r.json)
    doc.pop("request_id", None)
    doc.pop("instance", None)
    return r.status, r.header("Content-Type"), doc


def test_a_limited_subject_gets_one_refusal_whatever_the_ground(w):
    s = w["s"]
    aml, _, _ = register(w)
    court, _, _ = register(w)
    r = s.post(f"/v1/subjects/{aml}/access-limit",
               {"ground": "aml_cft", "reference": "191-IV/art.13"}, token=w["dpo"])
    assert r.status == 200 and r.json["limited"] is True, r
    r = s.post(f"/v1/subjects/{court}/access-limit",
               {"ground": "court_order", "reference": "case-2-1234-26"}, token=w["dpo"])
    assert r.status == 200, r
    a, c = package(w, aml), package(w, court)
    assert a.status == 403 and a.json["code"] == "access_limited_by_law", a
    assert shape(a) == shape(c)
    assert len(a.body) - len(a.header("X-Request-Id")) == \
        len(c.body) - len(c.header("X-Request-Id"))
    assert b"aml" not in a.body.lower() and b"money" not in a.body.lower()
    h = s.get(f"/v1/subjects/{aml}/package", token=w["dpo"])
    assert shape(h) == shape(a)
    rows = s.sql("SELECT outcome, object, categories FROM audit_log WHERE operation ="
                 " 'subject.package' AND subject_id IN ('%s', '%s') ORDER BY seq"
                 % (aml, court))
    assert {tuple(x) for x in rows} == {("denied", "package:json", ""),
                                        ("denied", "package:html", "")}, rows
    # lifted: the package is made again, and the limit's records are not in it
    r = s.delete(f"/v1/subjects/{aml}/access-limit", token=w["dpo"])
    assert r.status == 200 and r.json["limited"] is False, r
    p = package(w, aml)
    assert p.status == 200, p
    assert not [x for x in p.json["audit"] if "access_limit" in x["operation"]]
    assert b"aml_cft" not in p.body and b"191-IV" not in p.body
    # lifting again changes nothing, and says so in the audit log
    assert s.delete(f"/v1/subjects/{aml}/access-limit", token=w["dpo"]).status == 200
    rows = s.sql("SELECT outcome FROM audit_log WHERE operation ="
                 " 'subject.access_limit.lift' AND subject_id = '%s' ORDER BY seq" % aml)
    assert [x[0] for x in rows] == ["success", "unchanged"]


def test_no_personal_data_in_the_limit_table(w, seeded):
    rows = w["s"].sql("SELECT * FROM access_limits")
    text = repr(rows)
    assert seeded["b"]["iin"] not in text and seeded["b"]["surname"] not in text
