"""One-time codes on the disclosure register (issue 11, T5).

When the recipients file names a processor with an sms/1 service, every
code sent to the phone of a known subject (a sign-in, a phone change) is a
register entry — out, that processor, contact.phone_mobile, identification,
agreement, delivered or failed — with exactly one audit record naming it.
A code to a phone no subject holds stays in the audit log only (design Q3);
without the processor nothing goes on the register.  The gateway's endpoint
and credentials come from the file unless --sms-gateway overrides them.
"""
import os
import tempfile

import pytest

from senim_harness import TMP, Senim, borrower, e164

ID = {"Senim-Purpose": "identification"}


def recipients_text(endpoint, credentials):
    return """\
[recipient sms_gateway]
name_ru = SMS-шлюз (обработчик)
name_kk = SMS-шлюз (өңдеуші)
registration = pending
kind = processor
country = KZ
endpoint = %s
credentials = %s
agreement = DPA-SMS-1 2024-09-23
agreement_purposes = identification customer_communication

[service sms_gateway.sms]
api = sms/1
purposes = identification
sends = contact.phone_mobile
basis = agreement
""" % (endpoint, credentials)


# A file without the processor: a bureau only.
NO_PROCESSOR = """\
[recipient gkb]
name_ru = АО «Государственное кредитное бюро»
name_kk = «Мемлекеттік кредиттік бюро» АҚ
registration = pending
kind = credit_bureau
country = KZ
endpoint = http://127.0.0.1:9/v1
[service gkb.credit_report]
api = credit_report/1
purposes = loan_application_review loan_servicing
sends = identity.iin
receives = report.score
basis = consent:credit_bureau_gkb
"""


def start(text_of, from_file):
    """A server whose recipients file is text_of(its SMS peer); with
    from_file, serve gets no --sms-gateway and takes the file's."""
    s = Senim()
    d = tempfile.mkdtemp(prefix="smsreg-", dir=TMP)
    path = os.path.join(d, "recipients.conf")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text_of(s.sms))
    s.extra_args = ["--recipients", path]
    if from_file:
        s.sms_args = lambda: []
    s.start()
    s.tokens = {r: s.service_token("smsreg-" + r, r) for r in ("underwriter", "dpo")}
    return s


def register(s):
    body = borrower()
    r = s.post("/v1/subjects", body, token=s.tokens["underwriter"], headers=ID)
    assert r.status == 201, r
    return r.json["id"], body["phone"]


def entries(s, sid=None):
    where = " WHERE subject_id = '%s'" % sid if sid else ""
    return s.sql("SELECT id, outcome, may_have_reached, actor, recipient, service,"
                 " categories, fields, purpose, basis, reason FROM disclosures"
                 + where + " ORDER BY at, id")


def records_naming(s, eid):
    return s.sql("SELECT operation, subject_id, outcome FROM audit_log"
                 " WHERE object = 'disclosure:%s'" % eid)


@pytest.fixture(scope="module")
def srv():
    s = start(lambda peer: recipients_text(peer.url, peer.credentials), from_file=True)
    yield s
    assert s.stop() == 0


def test_a_sign_in_is_one_delivered_entry_with_its_record(srv):
    sid, phone = register(srv)
    assert entries(srv, sid) == []
    token = srv.borrower_token(phone)  # the code went through the file's endpoint
    (e,) = entries(srv, sid)
    eid = e[0]
    assert e[1:] == ["delivered", "0", "anonymous", "sms_gateway", "sms", "contact",
                     "contact.phone_mobile", "identification", "agreement", ""]
    assert records_naming(srv, eid) == [["transfer.out", sid, "success"]]
    # the borrower sees it
    r = srv.get("/v1/me/disclosures", token=token)
    assert r.status == 200, r
    (item,) = r.json["items"]
    assert item["id"] == eid
    assert item["recipient"]["code"] == "sms_gateway"
    assert item["recipient"]["kind"] == "processor"
    assert item["fields"] == ["contact.phone_mobile"]
    assert [c["code"] for c in item["categories"]] == ["contact"]
    assert item["purpose"]["code"] == "identification"
    assert item["basis"]["kind"] == "agreement"
    assert item["outcome"]["code"] == "delivered"
    # and the DPO
    r = srv.get("/v1/disclosures?subject=" + sid, token=srv.tokens["dpo"])
    assert r.status == 200, r
    assert [i["id"] for i in r.json["items"]] == [eid]


def test_a_code_to_an_unknown_phone_is_in_the_audit_log_only(srv):
    before = len(entries(srv))
    issued = len(srv.audit_rows("borrower.otp_issue"))
    r = srv.post("/v1/auth/otp", {"phone": "+77770000001"})
    assert r.status == 202, r
    assert len(entries(srv)) == before
    assert len(srv.audit_rows("borrower.otp_issue")) == issued + 1


def test_a_failing_gateway_is_a_failed_entry(srv):
    sid, phone = register(srv)
    srv.sms.control("POST", "mode", {"mode": "fail", "status": 503})
    try:
        r = srv.post("/v1/auth/otp", {"phone": phone})
    finally:
        srv.sms.control("POST", "mode", {"mode": "ok"})
    assert r.status == 503 and r.json["code"] == "sms_unavailable", r
    (e,) = entries(srv, sid)
    # the gateway answered 503 to the whole body: it may hold the number
    assert e[1:3] == ["failed", "1"] and e[10] == "sms_unavailable"
    assert records_naming(srv, e[0]) == [["transfer.out", sid, "failed"]]


def test_a_phone_change_puts_both_codes_on_the_register(srv):
    sid, phone = register(srv)
    token = srv.borrower_token(phone)
    srv.accept_policy(token)
    (signin,) = entries(srv, sid)
    new = "+7707%07d" % (os.getpid() % 10 ** 7)
    r = srv.post("/v1/me/phone", {"phone": new}, token=token)
    assert r.status == 202, r
    got = [e for e in entries(srv, sid) if e[0] != signin[0]]
    assert [e[1:4] for e in got] == [["delivered", "0", "borrower:" + sid]] * 2
    for e in got:
        assert e[7] == "contact.phone_mobile"
        assert records_naming(srv, e[0]) == [["transfer.out", sid, "success"]]


def test_a_gateway_nobody_answers_is_failed_without_reaching(srv):
    # last in the module: the peer stops
    sid, phone = register(srv)
    srv.sms.stop()
    r = srv.post("/v1/auth/otp", {"phone": phone})
    assert r.status == 503, r
    (e,) = entries(srv, sid)
    assert e[1:3] == ["failed", "0"]


def test_without_the_processor_nothing_is_on_the_register():
    s = start(lambda peer: NO_PROCESSOR, from_file=False)
    try:
        sid, phone = register(s)
        s.borrower_token(phone)
        s.sms.control("POST", "mode", {"mode": "fail"})
        assert s.post("/v1/auth/otp", {"phone": phone}).status == 503
        assert entries(s) == []
        assert s.sql("SELECT count(*) FROM audit_log WHERE operation = 'transfer.out'") \
            == [["0"]]
    finally:
        assert s.stop() == 0


def test_sms_gateway_overrides_the_files_endpoint():
    # the file's endpoint answers nothing; --sms-gateway names the peer
    s = start(lambda peer: recipients_text("http://127.0.0.1:9", peer.credentials),
              from_file=False)
    try:
        sid, phone = register(s)
        s.borrower_token(phone)
        (e,) = entries(s, sid)
        assert e[1] == "delivered"
    finally:
        assert s.stop() == 0
