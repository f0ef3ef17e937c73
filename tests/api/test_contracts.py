"""Accepting an offer, the contract and its signature (issue 12; P3, D8, U2).

The walk: an application approved by the scorecard (peers as in
test_decisions.py) -> acceptance with a schedule method -> the signing code
read from the SMS peer -> signature -> the receipt, whose SHA-256 is that of
the PDF the borrower downloads.  Then every bad input: a wrong code (tries
counted, then locked), an expired code, a second signature, another
borrower's application, an application not approved, an offer a loan rule in
force today refuses; and the raw database holds neither the borrower's name
nor the IIN in clear."""
import glob
import hashlib
import os
import tempfile

import pytest

from peer_harness import PeerProcess, TestCA, peerlib
from senim_harness import BACKEND, TMP, Senim, borrower, e164
from test_decisions import CARD, RECIPIENTS, TOKEN
from test_fail_closed import block_audit_sql, unblock_audit_sql

SOURCE = os.environ.get("SENIM_SOURCE_DIR",
                        os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
RULES = os.path.join(SOURCE, "data", "loan-rules.conf")
TEMPLATE = os.path.join(SOURCE, "data", "contract", "contract.ru-kk.html")
ID = {"Senim-Purpose": "identification"}
PDF = {"Accept": "application/pdf"}
HTML = {"Accept": "text/html"}
# 500,000 tenge for 90 days at the top score: above 75 МРП, so the
# cooling-off hold of data/loan-rules.conf applies to such a loan.
BIG_CARD = CARD.replace("limit = 800 10000000 90", "limit = 800 50000000 90")


@pytest.fixture(scope="module")
def world():
    d = tempfile.mkdtemp(prefix="contracts-", dir=TMP)
    ca = TestCA.create(os.path.join(d, "ca"))
    server = ca.issue_server("server")
    bureau = PeerProcess("credit_bureau.py", tls=server, token=TOKEN, ca=ca.crt)
    operator = PeerProcess("mobile_operator.py", tls=server, ca=ca.crt)
    client = ca.issue_client("senim")
    os.chmod(client.key, 0o600)
    state = PeerProcess("state_database.py", tls=server, client_ca=ca.crt, ca=ca.crt,
                        client=client)
    credentials = os.path.join(d, "pkb.token")
    with open(os.open(credentials, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
        f.write(TOKEN + "\n")
    path = os.path.join(d, "recipients.conf")
    with open(path, "w", encoding="utf-8") as f:
        f.write(RECIPIENTS.format(bureau="https://127.0.0.1:%d" % bureau.port,
                                  operator="https://127.0.0.1:%d" % operator.port,
                                  state="https://127.0.0.1:%d" % state.port,
                                  client_cert=client.crt, client_key=client.key,
                                  credentials=credentials, ca=ca.crt))
    card = os.path.join(d, "scorecard.conf")
    with open(card, "w", encoding="utf-8") as f:
        f.write(BIG_CARD)
    os.environ["SENIM_LENDER_NAME"] = "ТОО «МФО Тест»"
    os.environ["SENIM_LENDER_DETAILS"] = "БИН 000000000000, лицензия № 00.00.000 (тест)"
    try:
        s = Senim(extra_args=["--recipients", path, "--loan-rules", RULES,
                              "--scorecard", card, "--contract-template", TEMPLATE]).start()
    finally:
        del os.environ["SENIM_LENDER_NAME"], os.environ["SENIM_LENDER_DETAILS"]
    staff = {r: s.service_token("ctr-" + r, r)
             for r in ("admin", "underwriter", "support", "dpo")}
    r = s.post("/v1/products", {
        "code": "ctr", "name_ru": "Микрокредит", "name_kk": "Микрокредит",
        "amount_min_tiyn": 1000000, "amount_max_tiyn": 50000000,
        "term_min_days": 30, "term_max_days": 365, "rate_bp": 3000,
        "issue_fee_bp": 100, "schedule_methods": ["annuity", "differentiated"],
        "categories": ["identity", "contact"], "consents": ["credit_bureau_pkb"]},
        token=staff["admin"])
    assert r.status == 201, r
    yield {"senim": s, "staff": staff, "dir": d}
    rc = s.stop()
    bureau.stop()
    operator.stop()
    state.stop()
    assert rc == 0, s.read_log()[-4000:]


_n = [0]


def approved(world, amount=5000000, surname=None, submit=True):
    """A registered borrower whose application the scorecard approved."""
    s = world["senim"]
    while True:
        _n[0] += 1
        body = borrower(surname=surname or "Тестов")
        msisdn = "+" + "".join(ch for ch in body["phone"] if ch.isdigit())
        if peerlib.synthetic_phone(body["iin"], msisdn)["score"] is not None:
            break
    r = s.post("/v1/subjects", body, token=world["staff"]["underwriter"], headers=ID)
    assert r.status == 201, r
    sid = r.json["id"]
    token = s.borrower_token(body["phone"])
    s.accept_policy(token)
    for kind in ("credit_bureau_pkb", "mobile_operator"):
        g = s.post("/v1/me/consents", {"kind": kind, "channel": "web"}, token=token)
        assert g.status in (200, 201), g
    r = s.post("/v1/me/applications", {
        "product": "ctr", "amount_tiyn": amount, "term_days": 90,
        "schedule_method": "annuity", "payout_kind": "account",
        "payout_number": "KZ86125KZT5004100100"}, token=token)
    assert r.status == 201, r
    app = r.json["id"]
    if not submit:
        return {"sid": sid, "body": body, "token": token, "app": app}
    r = s.post("/v1/me/applications/%s/submission" % app, None, token=token)
    assert r.status == 200 and r.json["state"] == "approved", r
    return {"sid": sid, "body": body, "token": token, "app": app}


def accept(world, who, method="annuity", token=None):
    return world["senim"].post("/v1/me/applications/%s/acceptance" % who["app"],
                               {"method": method}, token=token or who["token"])


def sign(world, who, code, token=None):
    return world["senim"].post("/v1/me/applications/%s/signature" % who["app"],
                               {"code": code}, token=token or who["token"])


def code_of(world, who):
    return world["senim"].sms.last_code(e164(who["body"]["phone"]))


def wrong(code):
    return "%06d" % ((int(code) + 1) % 1000000)


def state_of(world, who):
    return world["senim"].sql("SELECT state, COALESCE(payout_due_at, -1) FROM applications"
                              " WHERE id = '%s'" % who["app"])[0]


def test_walk_accept_sign_receipt(world):
    s = world["senim"]
    who = approved(world)
    r = accept(world, who)
    assert r.status == 202, r
    acc = r.json
    assert acc["method"] == "annuity" and acc["attempts"] == 5
    assert acc["contract_number"].startswith("МК-")
    assert state_of(world, who)[0] == "offered"
    # The SMS carries the number and the code, in the borrower's language.
    msg = s.sms.messages(e164(who["body"]["phone"]))[-1]["text"]
    assert acc["contract_number"] in msg
    code = code_of(world, who)
    # The borrower reads it before signing: the PDF, its hash as accepted.
    pdf = s.get("/v1/me/applications/%s/contract" % who["app"], token=who["token"],
                headers=PDF)
    assert pdf.status == 200 and pdf.header("Content-Type") == "application/pdf", pdf
    assert pdf.body.startswith(b"%PDF-")
    assert hashlib.sha256(pdf.body).hexdigest() == acc["document_sha256"]
    assert pdf.header("X-Document-SHA256") == acc["document_sha256"]
    html = s.get("/v1/me/applications/%s/contract" % who["app"], token=who["token"],
                 headers=HTML)
    assert html.status == 200 and html.header("Content-Type").startswith("text/html")
    text = html.body.decode()
    # Both languages, the borrower's name and IIN, the D8 clause.
    assert who["body"]["surname"] in text and who["body"]["iin"] in text
    assert 'id="false-information-ru"' in text and 'id="false-information-kk"' in text
    assert acc["contract_number"] in text
    # No receipt before the signature.
    r = s.get("/v1/me/applications/%s/contract/receipt" % who["app"], token=who["token"])
    assert r.status == 409 and r.json["code"] == "contract_not_signed", r
    r = sign(world, who, code)
    assert r.status == 200, r
    receipt = r.json
    assert receipt["contract_number"] == acc["contract_number"]
    assert receipt["method"] == "annuity"
    assert receipt["document_sha256"] == acc["document_sha256"]
    # 50,000 tenge is not above 75 МРП: no cooling-off, due when signed.
    assert receipt["cooling_off_minutes"] == 0
    assert receipt["payout_due_at"] == receipt["signed_at"]
    got = s.get("/v1/me/applications/%s/contract/receipt" % who["app"], token=who["token"])
    assert got.status == 200 and got.json == receipt
    # The receipt's hash is that of the PDF the borrower downloads now.
    pdf = s.get("/v1/me/applications/%s/contract" % who["app"], token=who["token"])
    assert pdf.status == 200 and pdf.header("Content-Type") == "application/pdf"
    assert hashlib.sha256(pdf.body).hexdigest() == got.json["document_sha256"]
    st, due = state_of(world, who)
    assert st == "signed" and int(due) > 0
    mine = s.get("/v1/me/applications/" + who["app"], token=who["token"])
    assert mine.status == 200 and mine.json["state"] == "signed", mine
    row = s.sql("SELECT status, hex(signed_sha256) = hex(pdf_sha256), code_hash IS NULL"
                " FROM contracts WHERE application_id = '%s'" % who["app"]
                if BACKEND != "postgres" else
                "SELECT status, signed_sha256 = pdf_sha256, code_hash IS NULL"
                " FROM contracts WHERE application_id = '%s'" % who["app"])
    assert row[0][0] == "signed" and row[0][1] in ("1", "t") and row[0][2] in ("1", "t")
    # Audited: the acceptance read identity and contact under U2; the
    # signature's record names the document by its hash.
    rows = s.sql("SELECT operation, outcome, purpose, categories, object FROM audit_log"
                 " WHERE subject_id = '%s' AND operation LIKE 'contract.%%' ORDER BY seq"
                 % who["sid"])
    ops = [r[:2] for r in rows]
    assert ["contract.accept", "success"] in ops and ["contract.sign", "success"] in ops
    acc_row = next(r for r in rows if r[0] == "contract.accept")
    assert acc_row[2] == "loan_servicing" and acc_row[3] == "identity,contact"
    sign_row = next(r for r in rows if r[0] == "contract.sign" and r[1] == "success")
    assert sign_row[4] == "contract:%s:sha256:%s" % (who["app"], receipt["document_sha256"])
    # The code appears in no log and no audit record.
    assert code not in s.read_log()
    assert code not in str(s.sql("SELECT * FROM audit_log WHERE subject_id = '%s'"
                                 % who["sid"]))


def test_cooling_off_above_the_threshold(world):
    """500,000 tenge is above 75 МРП: the payout waits the rules' hold
    (1440 minutes in data/loan-rules.conf) from the signature; the
    differentiated schedule is signed."""
    who = approved(world, amount=50000000)
    r = accept(world, who, method="differentiated")
    assert r.status == 202, r
    r = sign(world, who, code_of(world, who))
    assert r.status == 200, r
    assert r.json["method"] == "differentiated"
    assert r.json["cooling_off_minutes"] == 1440
    signed = world["senim"].sql("SELECT signed_at FROM contracts WHERE application_id"
                                " = '%s'" % who["app"])[0][0]
    st, due = state_of(world, who)
    assert st == "signed" and int(due) == int(signed) + 1440 * 60 * 1000000


def test_wrong_code_counts_then_locks(world):
    s = world["senim"]
    who = approved(world)
    assert accept(world, who).status == 202
    code = code_of(world, who)
    for left in (4, 3, 2, 1, 0):
        r = sign(world, who, wrong(code))
        assert r.status == 422 and r.json["code"] == "signature_code_invalid", r
        assert r.json["attempts_left"] == left
    # Locked: even the right code now changes nothing.
    r = sign(world, who, code)
    assert r.status == 409 and r.json["code"] == "signature_code_locked", r
    assert state_of(world, who)[0] == "offered"
    assert s.sql("SELECT status, code_attempts FROM contracts WHERE application_id = '%s'"
                 % who["app"]) == [["pending", "5"]]
    # Accepting again makes a new code (and keeps the number); it signs.
    number = s.sql("SELECT number FROM contracts WHERE application_id = '%s'"
                   % who["app"])[0][0]
    r = accept(world, who)
    assert r.status == 202 and r.json["contract_number"] == number, r
    r = sign(world, who, code_of(world, who))
    assert r.status == 200, r


def test_expired_code_changes_nothing(world):
    s = world["senim"]
    who = approved(world)
    assert accept(world, who).status == 202
    code = code_of(world, who)
    s.sql("UPDATE contracts SET code_expires_at = 1 WHERE application_id = '%s'"
          % who["app"])
    r = sign(world, who, code)
    assert r.status == 409 and r.json["code"] == "signature_code_expired", r
    assert s.sql("SELECT status, code_attempts FROM contracts WHERE application_id = '%s'"
                 % who["app"]) == [["pending", "0"]]
    assert state_of(world, who)[0] == "offered"


def test_second_signature_and_acceptance_refused(world):
    s = world["senim"]
    who = approved(world)
    assert accept(world, who).status == 202
    code = code_of(world, who)
    assert sign(world, who, code).status == 200
    before = s.sql("SELECT signed_at, hex(signed_sha256) FROM contracts WHERE"
                   " application_id = '%s'" % who["app"]) if BACKEND != "postgres" else \
        s.sql("SELECT signed_at, encode(signed_sha256, 'hex') FROM contracts WHERE"
              " application_id = '%s'" % who["app"])
    r = sign(world, who, code)
    assert r.status == 409 and r.json["code"] == "contract_signed_already", r
    r = accept(world, who, method="differentiated")
    assert r.status == 409 and r.json["code"] == "contract_signed_already", r
    after = s.sql("SELECT signed_at, hex(signed_sha256) FROM contracts WHERE"
                  " application_id = '%s'" % who["app"]) if BACKEND != "postgres" else \
        s.sql("SELECT signed_at, encode(signed_sha256, 'hex') FROM contracts WHERE"
              " application_id = '%s'" % who["app"])
    assert before == after


def test_another_borrowers_application_is_not_found(world):
    s = world["senim"]
    who = approved(world)
    other = approved(world)
    assert accept(world, who).status == 202
    code = code_of(world, who)
    for r in (accept(world, who, token=other["token"]),
              sign(world, who, code, token=other["token"]),
              s.get("/v1/me/applications/%s/contract" % who["app"], token=other["token"]),
              s.get("/v1/me/applications/%s/contract/receipt" % who["app"],
                    token=other["token"])):
        assert r.status == 404 and r.json["code"] == "application_not_found", r
    assert s.sql("SELECT code_attempts FROM contracts WHERE application_id = '%s'"
                 % who["app"]) == [["0"]]
    assert sign(world, who, code).status == 200


def test_not_approved_and_bad_bodies(world):
    s = world["senim"]
    who = approved(world)
    # Before the acceptance: no contract to read or sign.
    r = s.get("/v1/me/applications/%s/contract" % who["app"], token=who["token"])
    assert r.status == 404 and r.json["code"] == "contract_not_found", r
    r = sign(world, who, "123456")
    assert r.status == 404 and r.json["code"] == "contract_not_found", r
    # A method the offer has no schedule of; a body out of its schema.
    r = accept(world, who, method="single")
    assert r.status == 422 and r.json["code"] == "schedule_method_not_offered", r
    r = accept(world, who, method="weekly")
    assert r.status == 422 and r.json["code"] == "validation_failed", r
    r = sign(world, who, "12ab56")
    assert r.status == 422 and r.json["code"] == "validation_failed", r
    assert state_of(world, who)[0] == "approved"
    # An application that is not approved: still open here.
    who = approved(world, submit=False)
    r = accept(world, who)
    assert r.status == 409 and r.json["code"] == "application_not_approved", r
    assert s.sql("SELECT COUNT(*) FROM contracts WHERE application_id = '%s'"
                 % who["app"]) == [["0"]]


def test_an_offer_outside_todays_rules_is_not_accepted(world):
    """The offer as stored at 90 % nominal: its schedule from today breaks
    the ГЭСВ cap in force; the rule is named and nothing changes."""
    s = world["senim"]
    who = approved(world)
    s.sql("UPDATE offers SET rate_bp = 9000 WHERE application_id = '%s'" % who["app"])
    r = s.post("/v1/me/applications/%s/acceptance?lang=en" % who["app"],
               {"method": "annuity"}, token=who["token"])
    assert r.status == 422 and r.json["code"] == "loan_rule_breached", r
    assert r.json["loan_rule"] == "gesv_cap" and r.json["loan_rule_source"]
    assert state_of(world, who)[0] == "approved"
    assert s.sql("SELECT COUNT(*) FROM contracts WHERE application_id = '%s'"
                 % who["app"]) == [["0"]]


def test_not_acceptable(world):
    s = world["senim"]
    who = approved(world)
    assert accept(world, who).status == 202
    r = s.get("/v1/me/applications/%s/contract" % who["app"], token=who["token"],
              headers={"Accept": "image/png"})
    assert r.status == 406 and r.json["code"] == "not_acceptable", r


def test_staff_read_under_loan_servicing(world):
    s = world["senim"]
    staff = world["staff"]
    who = approved(world)
    acc = accept(world, who).json
    for role in ("underwriter", "support"):
        r = s.get("/v1/applications/%s/contract" % who["app"], token=staff[role])
        assert r.status == 200 and r.body.startswith(b"%PDF-"), r
        assert hashlib.sha256(r.body).hexdigest() == acc["document_sha256"]
    r = s.get("/v1/applications/%s/contract" % who["app"], token=staff["underwriter"],
              headers=HTML)
    assert r.status == 200 and who["body"]["iin"] in r.body.decode()
    # Roles without U2 never reach it.
    r = s.get("/v1/applications/%s/contract" % who["app"], token=staff["dpo"])
    assert r.status == 403 and r.json["code"] == "forbidden_role", r
    # A blocked subject (R3): refused, and the refusal recorded.
    r = s.post("/v1/subjects/%s/block" % who["sid"], {"reason": "borrower_request"},
               token=staff["dpo"])
    assert r.status == 200, r
    try:
        r = s.get("/v1/applications/%s/contract" % who["app"], token=staff["support"])
        assert r.status == 403 and r.json["code"] == "subject_blocked", r
        assert who["body"]["iin"].encode() not in r.body
        # The acceptance is the lender's U2 processing: refused too.
        r = accept(world, who)
        assert r.status == 403 and r.json["code"] == "subject_blocked", r
    finally:
        assert s.post("/v1/subjects/%s/unblock" % who["sid"], None,
                      token=staff["dpo"]).status == 200
    rows = s.sql("SELECT outcome, purpose FROM audit_log WHERE operation ="
                 " 'contract.read' AND subject_id = '%s' ORDER BY seq" % who["sid"])
    assert rows.count(["success", "loan_servicing"]) == 3
    assert rows[-1] == ["denied", "loan_servicing"]
    r = s.get("/v1/applications/app_0000000000000000000000/contract",
              token=staff["support"])
    assert r.status == 404 and r.json["code"] == "application_not_found", r


def test_raw_database_holds_no_name_or_iin(world):
    s = world["senim"]
    surname = "Жумабаевазсекрет"
    who = approved(world, surname=surname)
    assert accept(world, who).status == 202
    assert sign(world, who, code_of(world, who)).status == 200
    secrets = [surname.encode(), who["body"]["iin"].encode(),
               who["body"]["given_name"].encode() + b" " + who["body"]["patronymic"].encode()]
    if BACKEND == "postgres":
        dump = s.sql("SELECT application_id, subject_id, number, method,"
                     " encode(html_sealed, 'escape'), encode(pdf_sealed, 'escape')"
                     " FROM contracts WHERE application_id = '%s'" % who["app"])
        raw = str(dump).encode()
    else:
        raw = b""
        for path in glob.glob(s.db + "*"):
            with open(path, "rb") as f:
                raw += f.read()
        assert len(raw) > 10000
    for secret in secrets:
        assert secret not in raw, secret
    log = s.read_log()
    for secret in secrets:
        assert secret.decode() not in log


def test_contracts_fail_closed_without_audit(world):
    """S4: while the audit record cannot be written, no contract is made,
    signed or handed out; once it can, the same calls succeed."""
    s = world["senim"]
    who = approved(world)
    s.sql(block_audit_sql())
    try:
        r = accept(world, who)
    finally:
        s.sql(unblock_audit_sql())
    assert r.status >= 500 and r.header("Content-Type") == "application/problem+json", r
    assert s.sql("SELECT COUNT(*) FROM contracts WHERE application_id = '%s'"
                 % who["app"]) == [["0"]]
    assert state_of(world, who)[0] == "approved"
    assert accept(world, who).status == 202
    code = code_of(world, who)
    calls = [
        lambda: sign(world, who, code),
        lambda: s.get("/v1/me/applications/%s/contract" % who["app"], token=who["token"]),
        lambda: s.get("/v1/applications/%s/contract" % who["app"],
                      token=world["staff"]["support"]),
    ]
    for call in calls:
        s.sql(block_audit_sql())
        try:
            r = call()
        finally:
            s.sql(unblock_audit_sql())
        assert r.status >= 500, r
        assert who["body"]["iin"].encode() not in r.body and not r.body.startswith(b"%PDF")
    assert state_of(world, who)[0] == "offered"
    for call in calls:
        assert call().status == 200
    s.sql(block_audit_sql())
    try:
        r = s.get("/v1/me/applications/%s/contract/receipt" % who["app"],
                  token=who["token"])
    finally:
        s.sql(unblock_audit_sql())
    assert r.status >= 500 and "document_sha256" not in r.body.decode(), r
    assert s.get("/v1/me/applications/%s/contract/receipt" % who["app"],
                 token=who["token"]).status == 200


def test_contract_numbers_follow_one_sequence(world):
    """Each new contract takes the next number of the sequence (M0025),
    never a number already given — even when the count of contracts would
    give one (a row taken out by hand, as a restore of a partial copy
    could); accepting again keeps the number."""
    s = world["senim"]
    first = approved(world)
    r = accept(world, first)
    assert r.status == 202, r
    n1 = int(r.json["contract_number"].rsplit("-", 1)[1])
    assert s.sql("SELECT last FROM contract_sequence") == [[str(n1)]]
    # The count now lags the numbers given: it must not be what numbers.
    s.sql("DELETE FROM contracts WHERE application_id = '%s'" % first["app"])
    second = approved(world)
    r = accept(world, second)
    assert r.status == 202, r
    n2 = int(r.json["contract_number"].rsplit("-", 1)[1])
    assert n2 == n1 + 1, (n1, n2)
    r = accept(world, second)
    assert r.status == 202 and int(r.json["contract_number"].rsplit("-", 1)[1]) == n2
