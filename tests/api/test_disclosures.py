"""The disclosure register from the outside (issue 11, T4, T6, S4):
GET /v1/me/disclosures and GET /v1/disclosures.

Who may read it (the DPO and the auditor everything, a borrower only their
own), the filters and their 422s, pages, the CSV export and its cap, the
audit records of the listings, failing closed, and the table refusing to
change on both backends.

The register's entries are written by the exchange through
register_append() alone (tests/unit/test_register.c proves the entry and its
audit record go together); no route writes one yet, so these tests put
entries in the table with raw SQL, as the database's owner could, to read
them back through the routes.
"""
import csv
import io
import os
import re
import tempfile
import urllib.parse

import pytest

from contract import SOURCE_DIR
from senim_harness import BACKEND, TMP, Senim, borrower
from test_fail_closed import block_audit_sql, unblock_audit_sql

ID = {"Senim-Purpose": "identification"}
COLUMNS = ("id,at,subject_id,direction,recipient,service,categories,fields,purpose,basis,"
           "consent_id,legal_ref,cross_border,country,outcome,reason,may_have_reached,"
           "transfer_id,request_id,actor")

RECIPIENTS = """\
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

# Recipients as the entries name them: gkb is in the file; oldbureau has
# left it (its snapshot names it); scorelab is a processor abroad.
SNAPSHOTS = {
    "gkb": ("11" * 16, "credit_bureau", "KZ", "pending", "АО «Государственное кредитное бюро»",
            "«Мемлекеттік кредиттік бюро» АҚ"),
    "oldbureau": ("22" * 16, "credit_bureau", "KZ", "pending", "ТОО «Старое бюро»",
                  "«Ескі бюро» ЖШС"),
    "scorelab": ("33" * 16, "processor", "DE", "foreign:DE:HRB-1", "Scorelab GmbH",
                 "Scorelab GmbH"),
}

_n = [0]


def blob(hexstr):
    return ("decode('%s', 'hex')" if BACKEND == "postgres" else "X'%s'") % hexstr


def q(v):
    return "NULL" if v is None else "'%s'" % str(v).replace("'", "''")


def snapshot_sql():
    rows = ["(%s, %s, %s, %s, %s, %s, %s, 0)" % (blob(h), q(code), q(k), q(c), q(reg), q(ru),
                                                  q(kk))
            for code, (h, k, c, reg, ru, kk) in SNAPSHOTS.items()]
    return ("INSERT INTO recipient_snapshots (id, code, kind, country, registration, name_ru,"
            " name_kk, first_seen) VALUES " + ", ".join(rows))


def entry_sql(sid, recipient, at_us, direction="out", outcome="delivered", purpose=
              "loan_application_review", basis="consent", consent_id="cns_AAAAAAAAAAAAAAAAAAAAAA",
              reason=None, categories="identity", fields="identity.iin", legal_ref=None):
    _n[0] += 1
    eid = "dsc_%s" % ("%022d" % _n[0])
    h, _, country, _, _, _ = SNAPSHOTS[recipient]
    return eid, (
        "INSERT INTO disclosures (id, subject_id, at, direction, recipient, recipient_snapshot,"
        " service, categories, fields, purpose, basis, consent_id, legal_ref, cross_border,"
        " country, outcome, reason, may_have_reached, transfer_id, request_id, actor) VALUES"
        " (%s, %s, %d, %s, %s, %s, 'credit_report', %s, %s, %s, %s, %s, %s, %d, %s, %s, %s, 0,"
        " NULL, 'req-fixture', 'staff:1')" % (
            q(eid), q(sid), at_us, q(direction), q(recipient), blob(h), q(categories),
            q(fields), q(purpose), q(basis), q(consent_id), q(legal_ref),
            1 if country != "KZ" else 0, q(country), q(outcome), q(reason)))


def now_us():
    import time
    return int(time.time() * 1_000_000)


class Reg:
    """A server with a recipients file, staff of each role, three borrowers
    (one without entries) and entries for two of them."""

    def __init__(self):
        d = tempfile.mkdtemp(prefix="disclosures-", dir=TMP)
        path = os.path.join(d, "recipients.conf")
        with open(path, "w", encoding="utf-8") as f:
            f.write(RECIPIENTS)
        self.s = s = Senim(extra_args=["--recipients", path]).start()
        self.tokens = {role: s.service_token("dsc-" + role, role)
                       for role in ("dpo", "auditor", "underwriter", "support", "marketing")}
        self.subjects, self.borrowers = [], []
        for i, (surname, given) in enumerate((("Берушова", "Әсел"), ("Алушов", "Ерлан"),
                                              ("Бостова", "Дана"))):
            body = borrower(surname=surname, given_name=given)
            r = s.post("/v1/subjects", body, token=self.tokens["underwriter"], headers=ID)
            assert r.status == 201, r
            self.subjects.append(r.json["id"])
            self.borrowers.append(s.borrower_token(body["phone"]))
        a, b, _ = self.subjects
        t = now_us() - 3600 * 1_000_000
        self.ids = {}
        plan = [
            ("a_out", a, "gkb", t + 1, {}),
            ("a_in", a, "gkb", t + 2, {"direction": "in", "outcome": "received",
                                        "categories": "report", "fields": "report.score"}),
            ("a_refused", a, "oldbureau", t + 3, {"outcome": "refused", "consent_id": None,
                                                  "reason": "consent_required"}),
            ("a_abroad", a, "scorelab", t + 4, {"basis": "agreement", "consent_id": None,
                                                "categories": "identity,contact",
                                                "fields": "identity.birth_date,contact.city"}),
            ("b_law", b, "gkb", t + 5, {"purpose": "legal_obligation", "basis": "law",
                                        "consent_id": None,
                                        "legal_ref": "KZ 573-II art. 26(1)"}),
        ]
        stmts = [snapshot_sql()]
        for name, sid, rcp, at, kw in plan:
            eid, sql = entry_sql(sid, rcp, at, **kw)
            self.ids[name] = eid
            stmts.append(sql)
        s.sql(";\n".join(stmts) + ";")

    def get(self, path, role=None, token=None, **kw):
        return self.s.get(path, token=token or self.tokens[role], **kw)


@pytest.fixture(scope="module")
def reg():
    r = Reg()
    yield r
    assert r.s.stop() == 0


def ids_of(r):
    return [i["id"] for i in r.json["items"]]


# ---- who may read ---------------------------------------------------------------------

def test_roles(reg):
    for role in ("dpo", "auditor"):
        r = reg.get("/v1/disclosures", role)
        assert r.status == 200, r
    for role in ("underwriter", "support", "marketing"):
        r = reg.get("/v1/disclosures", role)
        assert r.status == 403 and r.json["code"] == "forbidden_role", r
    r = reg.get("/v1/disclosures", token=reg.borrowers[0])
    assert r.status == 403 and r.json["code"] == "forbidden_role", r
    assert reg.s.get("/v1/disclosures").status == 401
    # the borrower's own list is for borrowers only
    r = reg.get("/v1/me/disclosures", "dpo")
    assert r.status == 403 and r.json["code"] == "forbidden_role", r
    assert reg.s.get("/v1/me/disclosures").status == 401


def test_empty_lists(reg):
    c = reg.subjects[2]
    r = reg.get("/v1/me/disclosures", token=reg.borrowers[2])
    assert r.status == 200, r
    assert r.json == {"items": [], "in_progress": []}
    r = reg.get("/v1/disclosures?subject=" + c, "auditor")
    assert r.status == 200 and r.json == {"items": []}, r
    r = reg.get("/v1/disclosures?subject=%s&format=csv" % c, "dpo")
    assert r.status == 200 and r.body.decode() == COLUMNS + "\r\n"


# ---- the borrower's own ---------------------------------------------------------------

def test_borrower_sees_only_their_own(reg):
    a = reg.subjects[0]
    r = reg.get("/v1/me/disclosures", token=reg.borrowers[0])
    assert r.status == 200, r
    assert ids_of(r) == [reg.ids[k] for k in ("a_abroad", "a_refused", "a_in", "a_out")]
    assert reg.ids["b_law"] not in r.body.decode()
    assert "next_cursor" not in r.json
    items = {i["id"]: i for i in r.json["items"]}
    out = items[reg.ids["a_out"]]
    assert out["recipient"] == {"code": "gkb", "name": "АО «Государственное кредитное бюро»",
                                "kind": "credit_bureau", "country": "KZ"}
    assert out["service"] == {"code": "credit_report", "title": "Кредитный отчёт"}
    assert out["direction"] == {"code": "out", "title": "Передача ваших данных"}
    assert out["categories"] == [{"code": "identity", "title": "Идентификационные данные"}]
    assert out["fields"] == ["identity.iin"]
    assert out["purpose"] == {"code": "loan_application_review",
                              "title": "Рассмотрение заявки на микрокредит"}
    assert out["basis"] == {"kind": "consent", "consent_id": "cns_AAAAAAAAAAAAAAAAAAAAAA",
                            "title": "Ваше согласие"}
    assert out["outcome"] == {"code": "delivered", "title": "Передано"}
    assert out["cross_border"] is False
    # a recipient that left the file is named by its snapshot
    gone = items[reg.ids["a_refused"]]
    assert gone["recipient"]["name"] == "ТОО «Старое бюро»"
    assert gone["outcome"]["code"] == "refused" and "consent_id" not in gone["basis"]
    assert gone["service"]["title"] is None  # its API is no longer known
    abroad = items[reg.ids["a_abroad"]]
    assert abroad["cross_border"] is True and abroad["country"] == "DE"
    assert [c["code"] for c in abroad["categories"]] == ["identity", "contact"]
    # the subject's own id is not in the items (the borrower knows it)
    assert a not in r.body.decode()


def test_borrower_reads_kazakh_and_english_gets_russian(reg):
    r = reg.get("/v1/me/disclosures?lang=kk", token=reg.borrowers[0])
    items = {i["id"]: i for i in r.json["items"]}
    assert items[reg.ids["a_out"]]["recipient"]["name"] == "«Мемлекеттік кредиттік бюро» АҚ"
    assert items[reg.ids["a_out"]]["outcome"]["title"] == "Берілді"
    assert items[reg.ids["a_refused"]]["recipient"]["name"] == "«Ескі бюро» ЖШС"
    r = reg.get("/v1/me/disclosures", token=reg.borrowers[0],
                headers={"Accept-Language": "en"})
    items = {i["id"]: i for i in r.json["items"]}
    assert items[reg.ids["a_out"]]["recipient"]["name"] == "АО «Государственное кредитное бюро»"


def test_borrower_pages(reg):
    r = reg.get("/v1/me/disclosures?limit=3", token=reg.borrowers[0])
    assert len(r.json["items"]) == 3 and r.json["next_cursor"]
    r2 = reg.get("/v1/me/disclosures?limit=3&cursor=" +
                 urllib.parse.quote(r.json["next_cursor"]), token=reg.borrowers[0])
    assert ids_of(r2) == [reg.ids["a_out"]] and "next_cursor" not in r2.json
    for bad, rule in (("limit=101", "max_value"), ("limit=0", "min_value"),
                      ("limit=x", "format"), ("cursor=nope", "format")):
        r = reg.get("/v1/me/disclosures?" + bad, token=reg.borrowers[0])
        assert r.status == 422 and r.json["code"] == "filter_invalid", (bad, r)
        assert r.json["field"] == bad.split("=")[0] and r.json["rule"] == rule


def test_borrower_listing_is_audited(reg):
    s = reg.s
    before = len(s.audit_rows("disclosure.self_list"))
    r = reg.get("/v1/me/disclosures", token=reg.borrowers[1])
    assert r.status == 200 and ids_of(r) == [reg.ids["b_law"]]
    rows = s.audit_rows("disclosure.self_list")
    assert len(rows) == before + 1
    seq, actor, obj, outcome, purpose, request_id = rows[-1]
    assert actor == "borrower:" + reg.subjects[1]
    assert obj == "disclosures:" + reg.subjects[1]
    assert (outcome, purpose) == ("success", "legal_obligation")
    assert request_id == r.header("X-Request-Id")


# ---- the DPO's and the auditor's --------------------------------------------------------

@pytest.mark.parametrize("query,want", [
    ("subject={a}", ["a_abroad", "a_refused", "a_in", "a_out"]),
    ("subject={b}", ["b_law"]),
    ("recipient=gkb", ["b_law", "a_in", "a_out"]),
    ("recipient=gkb&subject={a}", ["a_in", "a_out"]),
    ("direction=in", ["a_in"]),
    ("outcome=refused", ["a_refused"]),
    ("cross_border=true", ["a_abroad"]),
    ("cross_border=false&direction=out&subject={a}", ["a_refused", "a_out"]),
    ("recipient=nobody", []),
])
def test_filters(reg, query, want):
    query = query.format(a=reg.subjects[0], b=reg.subjects[1])
    r = reg.get("/v1/disclosures?" + query, "dpo")
    assert r.status == 200, r
    got = [i for i in ids_of(r) if i in reg.ids.values()]
    assert got == [reg.ids[k] for k in want]


def test_staff_item_and_period(reg):
    r = reg.get("/v1/disclosures?subject=" + reg.subjects[1], "auditor")
    (item,) = r.json["items"]
    assert item["basis"] == {"kind": "law", "legal_ref": "KZ 573-II art. 26(1)"}
    assert item["recipient"]["in_file"] is True and item["purpose"] == "legal_obligation"
    r = reg.get("/v1/disclosures?recipient=oldbureau", "auditor")
    (item,) = r.json["items"]
    assert item["recipient"]["in_file"] is False
    assert item["recipient"]["name_kk"] == "«Ескі бюро» ЖШС"
    assert item["reason"] == "consent_required" and "consent_id" not in item["basis"]
    # the entries are an hour old: a period that ended two hours ago has none
    r = reg.get("/v1/disclosures?to=2020-01-02T00:00:00Z", "auditor")
    assert r.status == 200 and r.json["items"] == []
    r = reg.get("/v1/disclosures?from=2020-01-01T00:00:00Z&to=2020-12-31T00:00:00%2B05:00",
                "auditor")
    assert r.status == 200 and r.json["items"] == []


def test_staff_pages(reg):
    r = reg.get("/v1/disclosures?limit=2", "dpo")
    first = ids_of(r)
    assert len(first) == 2 and r.json["next_cursor"]
    seen = list(first)
    cursor = r.json["next_cursor"]
    while cursor:
        r = reg.get("/v1/disclosures?limit=2&cursor=" + urllib.parse.quote(cursor), "dpo")
        seen += ids_of(r)
        cursor = r.json.get("next_cursor")
    assert sorted(seen) == sorted(reg.ids.values())


@pytest.mark.parametrize("query,field,rule", [
    ("subject=870412300415", "subject", "format"),
    ("recipient=GKB", "recipient", "format"),
    ("direction=up", "direction", "enum_value"),
    ("outcome=lost", "outcome", "enum_value"),
    ("cross_border=yes", "cross_border", "enum_value"),
    ("from=2025-01-01", "from", "format"),
    ("to=2025-13-01T00:00:00Z", "to", "format"),
    ("from=2024-01-01T00:00:00Z&to=2025-06-01T00:00:00Z", "to", "period_length"),
    ("from=2025-06-01T00:00:00Z&to=2025-06-01T00:00:00Z", "to", "period_length"),
    ("from=2020-01-01T00:00:00Z", "from", "period_length"),
    ("cursor=1.x", "cursor", "format"),
    ("limit=501", "limit", "max_value"),
    ("limit=-1", "limit", "format"),
    ("format=xml", "format", "enum_value"),
])
def test_bad_filters(reg, query, field, rule):
    r = reg.get("/v1/disclosures?" + query, "dpo")
    assert r.status == 422, r
    assert r.json["code"] == "filter_invalid"
    assert (r.json["field"], r.json["rule"]) == (field, rule)
    if rule == "period_length":
        assert "366" in r.json["detail"]


def test_staff_listing_is_audited_with_filter_names(reg):
    s = reg.s
    a = reg.subjects[0]
    before = len(s.audit_rows("disclosure.list"))
    r = reg.get("/v1/disclosures?recipient=gkb&subject=%s&limit=5" % a, "auditor")
    assert r.status == 200
    rows = s.audit_rows("disclosure.list")
    assert len(rows) == before + 1
    seq, actor, obj, outcome, purpose, request_id = rows[-1]
    assert obj == "disclosures?subject,recipient"  # names, never values
    assert actor.startswith("staff:") and outcome == "success"
    assert request_id == r.header("X-Request-Id")
    (subject,) = s.sql("SELECT subject_id FROM audit_log WHERE seq = %s" % seq)[0]
    assert subject == a
    # a refused filter reads nothing and records nothing
    r = reg.get("/v1/disclosures?limit=0", "auditor")
    assert r.status == 422 and len(s.audit_rows("disclosure.list")) == before + 1


# ---- the export --------------------------------------------------------------------------

def test_csv_export(reg):
    a = reg.subjects[0]
    r = reg.get("/v1/disclosures?format=csv&subject=" + a, "dpo")
    assert r.status == 200, r
    assert r.header("Content-Type") == "text/csv; charset=utf-8; header=present"
    text = r.body.decode("utf-8")
    assert text.startswith(COLUMNS + "\r\n") and text.endswith("\r\n")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert [row["id"] for row in rows] == [reg.ids[k] for k in
                                           ("a_abroad", "a_refused", "a_in", "a_out")]
    abroad = rows[0]
    assert abroad["categories"] == "identity,contact"  # quoted in the text
    assert '"identity.birth_date,contact.city"' in text
    assert abroad["cross_border"] == "true" and abroad["country"] == "DE"
    assert abroad["basis"] == "agreement" and abroad["consent_id"] == ""
    assert rows[1]["reason"] == "consent_required"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", rows[2]["at"])
    # Accept: text/csv asks for it too; format wins over Accept
    r = reg.get("/v1/disclosures?subject=" + a, "auditor", headers={"Accept": "text/csv"})
    assert r.status == 200 and r.body.decode() == text
    r = reg.get("/v1/disclosures?format=json&subject=" + a, "auditor",
                headers={"Accept": "text/csv"})
    assert r.status == 200 and len(r.json["items"]) == 4
    # cursor and limit page JSON only
    r = reg.get("/v1/disclosures?format=csv&limit=1&subject=" + a, "dpo")
    assert r.body.decode() == text


def test_csv_export_is_capped(reg):
    """More than 100,000 entries: 413 export_too_large; 100,000 exactly go."""
    s = reg.s
    sid = reg.subjects[2]
    h = SNAPSHOTS["gkb"][0]
    base = 1577836800000000  # 2020-01-01T00:00:00Z, away from the other entries
    select = ("SELECT 'dsc_bulk' || lpad(CAST(n AS TEXT), 18, '0'), %s, %d + n, 'out', 'gkb',"
              " %s, 'credit_report', 'identity', 'identity.iin', 'loan_application_review',"
              " 'consent', NULL, NULL, 0, 'KZ', 'delivered', NULL, 0, NULL, 'req-bulk',"
              " 'cli'" % (q(sid), base, blob(h)))
    insert = ("INSERT INTO disclosures (id, subject_id, at, direction, recipient,"
              " recipient_snapshot, service, categories, fields, purpose, basis, consent_id,"
              " legal_ref, cross_border, country, outcome, reason, may_have_reached,"
              " transfer_id, request_id, actor) ")
    if BACKEND == "postgres":
        s.sql(insert + select + " FROM generate_series(1, 100000) AS n")
    else:
        s.sql(insert.replace("INSERT", "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT"
                             " n + 1 FROM c WHERE n < 100000) INSERT") +
              select.replace("lpad(CAST(n AS TEXT), 18, '0')",
                             "substr('000000000000000000' || n, -18, 18)") + " FROM c")
    period = "from=2020-01-01T00:00:00Z&to=2020-01-02T00:00:00Z"
    r = reg.get("/v1/disclosures?format=csv&" + period, "dpo")
    assert r.status == 200, r
    assert r.body.count(b"\r\n") == 100001
    eid, sql = entry_sql(sid, "gkb", base + 100001)
    s.sql(sql)
    r = reg.get("/v1/disclosures?format=csv&" + period, "dpo")
    assert r.status == 413 and r.json["code"] == "export_too_large", r
    assert "100000" in r.json["detail"]
    # a page of JSON still answers
    r = reg.get("/v1/disclosures?limit=500&" + period, "dpo")
    assert r.status == 200 and len(r.json["items"]) == 500 and r.json["items"][0]["id"] == eid


# ---- append-only, failing closed, one writer ---------------------------------------------

def test_register_is_append_only(reg):
    s = reg.s
    eid = reg.ids["a_out"]
    for sql in ("UPDATE disclosures SET outcome = 'refused' WHERE id = '%s'" % eid,
                "DELETE FROM disclosures WHERE id = '%s'" % eid,
                "UPDATE recipient_snapshots SET name_ru = 'x'",
                "DELETE FROM recipient_snapshots"):
        with pytest.raises(Exception):
            s.sql(sql)
    if BACKEND == "postgres":
        for table in ("disclosures", "recipient_snapshots"):
            with pytest.raises(Exception):
                s.sql("TRUNCATE %s CASCADE" % table)
    assert s.sql("SELECT outcome FROM disclosures WHERE id = '%s'" % eid) == [["delivered"]]


def test_lists_fail_closed_without_audit(reg):
    """S4: while the listing's audit record cannot be written, neither list
    answers with the register (test_fail_closed.py names this test)."""
    s = reg.s
    a = reg.subjects[0]
    secret = list(reg.ids.values()) + [a]
    calls = [("/v1/me/disclosures", dict(token=reg.borrowers[0])),
             ("/v1/disclosures?subject=" + a, dict(token=reg.tokens["dpo"])),
             ("/v1/disclosures?format=csv&subject=" + a, dict(token=reg.tokens["auditor"]))]
    s.sql(block_audit_sql())
    try:
        answers = [s.get(path, **kw) for path, kw in calls]
    finally:
        s.sql(unblock_audit_sql())
    for (path, _), r in zip(calls, answers):
        assert r.status >= 500, (path, r)
        assert r.header("Content-Type") == "application/problem+json"
        assert not [x for x in secret if x in r.body.decode()], path
    for path, kw in calls:
        r = s.get(path, **kw)
        assert r.status == 200 and reg.ids["a_out"] in r.body.decode(), path


def test_only_the_register_inserts_into_disclosures():
    """register_append() is the one writer (exchange/register.h): no other
    source file holds an INSERT into the table."""
    pattern = re.compile(r"insert\s+into\s+disclosures\b", re.I)
    found = []
    for top in ("src", "fuzz", "bench"):
        for root, _, files in os.walk(os.path.join(SOURCE_DIR, top)):
            for name in files:
                if not name.endswith((".c", ".h", ".lua", ".py", ".sql")):
                    continue
                path = os.path.join(root, name)
                with open(path, encoding="utf-8", errors="replace") as f:
                    text = re.sub(r'"\s*"', "", f.read())  # C strings split over lines
                if pattern.search(text):
                    found.append(os.path.relpath(path, SOURCE_DIR))
    assert found == [os.path.join("src", "exchange", "register.c")], found
