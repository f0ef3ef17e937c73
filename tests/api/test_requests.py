"""Data-subject rights requests (R1-R4, F1; issue 13): filing with the legal
deadline in Kazakhstan working days, the borrower's own view, support filing
on a borrower's behalf, the DPO's queue with overdue requests flagged,
assignment and answer with history, blocking and restriction by request,
the calendar without the year asked for, roles, and failing closed when
the audit record cannot be written.

The expected due dates are computed here from data/calendar/ by a reading
of the files of its own (weekends, holidays, moves, transfers), not by the
server's parser.
"""
import datetime
import os
import re
import shutil
import tempfile

import pytest

from contract import SOURCE_DIR
import subprocess

from senim_harness import BIN, TMP, Senim, borrower
from test_fail_closed import block_audit_sql, unblock_audit_sql

ID = {"Senim-Purpose": "identification"}
CALENDAR = os.path.join(SOURCE_DIR, "data", "calendar")
KZ = datetime.timezone(datetime.timedelta(hours=5))
DAYS = {"access": 3, "correction": 1, "blocking": 1, "unblocking": 1, "restriction": 1,
        "unrestriction": 1, "destruction": 1, "question": 15}


def days_off(directory):
    """{year: set of days off} from the kz-YYYY.conf files of directory."""
    out = {}
    for name in os.listdir(directory):
        m = re.fullmatch(r"kz-(\d{4})\.conf", name)
        if not m:
            continue
        year = int(m.group(1))
        d = datetime.date(year, 1, 1)
        off = set()
        while d.year == year:
            if d.weekday() >= 5:
                off.add(d)
            d += datetime.timedelta(days=1)
        for line in open(os.path.join(directory, name), encoding="utf-8"):
            key, _, value = line.partition("=")
            key, value = key.strip(), value.strip()
            dates = [datetime.date.fromisoformat(x) for x in re.findall(r"\d{4}-\d\d-\d\d", value)]
            if key in ("holiday", "religious"):
                off.add(dates[0])
            elif key == "moved":
                off.add(dates[1])
            elif key == "transfer":
                off.discard(dates[0])
                off.add(dates[1])
        out[year] = off
    return out


def due_after(day, n, off):
    while n:
        day += datetime.timedelta(days=1)
        if day.year not in off:
            raise KeyError(day.year)
        if day not in off[day.year]:
            n -= 1
    return day


def cli(*args):
    return subprocess.run([BIN, *args], capture_output=True, timeout=60)


def today_kz():
    return datetime.datetime.now(KZ).date()


@pytest.fixture(scope="module")
def srv():
    s = Senim(extra_args=["--calendar", CALENDAR]).start()
    yield s
    assert s.stop() == 0


class People:
    def __init__(self, s, tag):
        self.uw = s.service_token("rq-uw" + tag, "underwriter")
        self.support = s.service_token("rq-support" + tag, "support")
        self.marketing = s.service_token("rq-marketing" + tag, "marketing")
        self.dpo_login = "rq-dpo" + tag
        self.dpo = s.service_token(self.dpo_login, "dpo")
        self.admin = s.service_token("rq-admin" + tag, "admin")


def new_borrower(s, people, **over):
    body = borrower(**over)
    r = s.post("/v1/subjects", body, token=people.uw, headers=ID)
    assert r.status == 201, r
    token = s.borrower_token(body["phone"])
    return r.json["id"], token, body


@pytest.fixture(scope="module")
def people(srv):
    return People(srv, "")


def test_calendar_command():
    """`senim calendar`: the shipped years check; counting crosses a holiday
    moved from a Sunday and Nauryz; a missing year is exit 1, never a guess;
    a bad file is refused naming its line."""
    p = cli("calendar", "check", *sorted(os.path.join(CALENDAR, f)
                                           for f in os.listdir(CALENDAR)))
    assert b"kz-2026.conf: 2026, good" in p.stdout
    # Friday 6 March 2026: Sunday 8 March's day off moved to Monday 9.
    p = cli("calendar", "show", "--from", "2026-03-06", "--days", "1", CALENDAR)
    assert p.stdout.decode().strip() == "2026-03-06 + 1 working days = 2026-03-10"
    p = cli("calendar", "show", "--from", "2026-03-20", "--days", "1", CALENDAR)
    assert p.stdout.decode().strip().endswith("= 2026-03-26")
    p = cli("calendar", "show", "--from", "2099-01-01", "--days", "1", CALENDAR)
    assert p.returncode == 1 and b"no year 2099" in p.stderr
    bad = os.path.join(tempfile.mkdtemp(dir=TMP), "kz-2026.conf")
    with open(bad, "w") as f:
        f.write("year = 2026\nsource = x\ndecree = y\nverified = no\n"
                "holiday = 2026-01-05 A\nmoved = 2026-01-05 -> 2026-01-05\n")
    p = cli("calendar", "check", bad)
    assert p.returncode == 2
    assert b"kz-2026.conf:6: moved: 2026-01-05 is moved to itself" in p.stderr


def test_file_read_and_duplicate(srv, people):
    s = srv
    sid, token, _ = new_borrower(s, people)
    off = days_off(CALENDAR)
    r = s.post("/v1/me/requests", {"type": "access"}, token=token)
    assert r.status == 201, r
    req = r.json
    assert r.header("Location") == "/v1/me/requests/" + req["id"]
    assert req["status"] == "open" and req["channel"] == "app" and req["overdue"] is False
    assert req["due_date"] == due_after(today_kz(), 3, off).isoformat()
    # The same type again: the open one, not a second row.
    r = s.post("/v1/me/requests", {"type": "access"}, token=token)
    assert r.status == 200 and r.json["id"] == req["id"], r
    assert s.sql(f"SELECT COUNT(*) FROM rights_requests WHERE subject_id = '{sid}'") == [["1"]]
    assert [row[3] for row in s.audit_rows("request.file")][-2:] == ["success", "unchanged"]
    # Another type is another request, with its own deadline.
    # (a correction carries its values and evidence since issue 13's rights work)
    r = s.post("/v1/me/requests", {"type": "correction", "category": "professional",
                                   "fields": {"education": "vocational"},
                                   "evidence": {"content_type": "application/pdf",
                                                "data": "JVBERi0xLjQK"}}, token=token)
    assert r.status == 201 and r.json["id"] != req["id"], r
    assert r.json["due_date"] == due_after(today_kz(), 1, off).isoformat()
    # The list, newest first; one by id.
    r = s.get("/v1/me/requests", token=token)
    assert r.status == 200 and [q["type"] for q in r.json["requests"]] == ["correction", "access"]
    r = s.get("/v1/me/requests/" + req["id"], token=token)
    assert r.status == 200 and r.json["id"] == req["id"]
    # Another borrower's request is not found; nor is a malformed id.
    _, other, _ = new_borrower(s, people)
    r = s.get("/v1/me/requests/" + req["id"], token=other)
    assert r.status == 404 and r.json["code"] == "request_not_found", r
    r = s.get("/v1/me/requests/rqt_nope", token=other)
    assert r.status == 404 and r.json["code"] == "request_not_found", r
    assert s.get("/v1/me/requests", token=other).json["requests"] == []


def test_question_text_is_sealed(srv, people):
    s = srv
    sid, token, _ = new_borrower(s, people)
    # Text only with a question, and a question needs one.
    r = s.post("/v1/me/requests", {"type": "question"}, token=token)
    assert r.status == 422 and r.json["field"] == "text" and r.json["rule"] == "required", r
    r = s.post("/v1/me/requests", {"type": "access", "text": "hi"}, token=token)
    assert r.status == 422 and r.json["rule"] == "question_only", r
    text = "Почему вы передаёте мой номер Бекболатову Ержану?\nЖауап беріңіз."
    r = s.post("/v1/me/requests", {"type": "question", "text": text}, token=token)
    assert r.status == 201, r
    qid = r.json["id"]
    off = days_off(CALENDAR)
    assert r.json["due_date"] == due_after(today_kz(), 15, off).isoformat()
    assert s.get("/v1/me/requests/" + qid, token=token).json["text"] == text
    r = s.get("/v1/requests/" + qid, token=people.dpo)
    assert r.status == 200 and r.json["text"] == text and r.json["subject_id"] == sid
    # Neither the text nor a word of it is in the database in clear.
    rows = s.sql(f"SELECT * FROM rights_requests WHERE id = '{qid}'")
    rows += s.sql(f"SELECT * FROM rights_request_events WHERE request_id = '{qid}'")
    rows += s.sql("SELECT * FROM audit_log")
    dump = repr(rows)
    assert "Бекболатову" not in dump and "передаёте" not in dump


def test_support_files_on_behalf(srv, people):
    s = srv
    sid, token, _ = new_borrower(s, people)
    body = {"type": "destruction", "channel": "letter", "identity_check": "notarised"}
    r = s.post(f"/v1/subjects/{sid}/requests", body, token=people.support)
    assert r.status == 201, r
    assert r.json["channel"] == "letter" and r.json["identity_check"] == "notarised"
    assert r.json["filed_by"].startswith("staff:")
    assert r.header("Location") == "/v1/requests/" + r.json["id"]
    # The borrower sees it as theirs; filing it again finds it.
    mine = s.get("/v1/me/requests", token=token).json["requests"]
    assert [q["id"] for q in mine] == [r.json["id"]]
    assert s.post("/v1/me/requests", {"type": "destruction"}, token=token).status == 200
    # The channel and identity check are required; a staff body has them.
    r = s.post(f"/v1/subjects/{sid}/requests", {"type": "access"}, token=people.support)
    assert r.status == 422 and r.json["field"] == "channel", r
    r = s.post("/v1/subjects/sbj_AAAAAAAAAAAAAAAAAAAAAA/requests", body, token=people.support)
    assert r.status == 404 and r.json["code"] == "subject_not_found", r
    # Roles: marketing may not file; support may not run the queue.
    r = s.post(f"/v1/subjects/{sid}/requests", body, token=people.marketing)
    assert r.status == 403 and r.json["code"] == "forbidden_role", r
    for path in ("/v1/requests", "/v1/requests/" + mine[0]["id"]):
        r = s.get(path, token=people.support)
        assert r.status == 403 and r.json["code"] == "forbidden_role", r
    r = s.post(f"/v1/requests/{mine[0]['id']}/answer", {"answer": "fulfilled"}, token=people.uw)
    assert r.status == 403, r
    r = s.get("/v1/me/requests", token=people.dpo)
    assert r.status == 403, r


def test_queue_order_overdue_and_metrics(srv, people):
    s = srv
    sid, token, _ = new_borrower(s, people)
    ids = {}
    for t in ("access", "blocking", "question"):
        body = {"type": t, "text": "?"} if t == "question" else {"type": t}
        r = s.post("/v1/me/requests", body, token=token)
        assert r.status == 201, r
        ids[t] = r.json["id"]
    # One filed long ago: its due date has passed.
    s.sql(f"UPDATE rights_requests SET due_day = 19000 WHERE id = '{ids['question']}'")
    r = s.get("/v1/requests", token=people.dpo)
    assert r.status == 200, r
    queue = r.json["requests"]
    dues = [q["due_date"] for q in queue]
    assert dues == sorted(dues)
    assert queue[0]["due_date"] <= "2022-01-08"
    mine = {q["id"]: q for q in queue if q["subject_id"] == sid}
    assert mine[ids["question"]]["overdue"] is True
    assert mine[ids["access"]]["overdue"] is False
    # Filters.
    r = s.get("/v1/requests?type=blocking&status=open", token=people.dpo)
    assert r.status == 200 and ids["blocking"] in [q["id"] for q in r.json["requests"]]
    assert {q["type"] for q in r.json["requests"]} == {"blocking"}
    r = s.get("/v1/requests?type=nope", token=people.dpo)
    assert r.status == 400 and r.json["code"] == "invalid_parameter", r
    # /metrics counts open and overdue requests by type.
    text = s.get("/metrics", token=people.admin).body.decode()
    m = re.search(r'^senim_requests_overdue\{type="question"\} (\d+)$', text, re.M)
    assert m and int(m.group(1)) >= 1, text[-2000:]
    m = re.search(r'^senim_requests_open\{type="blocking"\} (\d+)$', text, re.M)
    assert m and int(m.group(1)) >= 1
    # The DPO's reads are audited.
    assert s.audit_rows("request.read")


def protection(s, people, sid):
    r = s.get(f"/v1/subjects/{sid}/protection", token=people.dpo)
    assert r.status == 200, r
    return r.json


def test_blocking_and_restriction_by_request(srv, people):
    s = srv
    sid, token, _ = new_borrower(s, people)
    rid = s.post("/v1/me/requests", {"type": "blocking"}, token=token).json["id"]
    r = s.post(f"/v1/requests/{rid}/assignment", {"assignee": "nobody-here"}, token=people.dpo)
    assert r.status == 422 and r.json["rule"] == "unknown_staff", r
    r = s.post(f"/v1/requests/{rid}/assignment", {"assignee": people.dpo_login},
               token=people.dpo)
    assert r.status == 200 and r.json["status"] == "in_progress", r
    assert r.json["assignee"] == people.dpo_login
    assert protection(s, people, sid)["blocked"] is False
    r = s.post(f"/v1/requests/{rid}/answer", {"answer": "fulfilled"}, token=people.dpo)
    assert r.status == 200 and r.json["status"] == "accepted", r
    p = protection(s, people, sid)
    assert p["blocked"] is True and p["block_reason"] == rid
    # The history: filed, assigned, answered.
    h = s.get("/v1/requests/" + rid, token=people.dpo).json["history"]
    assert [e["status"] for e in h] == ["open", "in_progress", "accepted"]
    # An answered request does not change again.
    r = s.post(f"/v1/requests/{rid}/answer", {"answer": "no_grounds"}, token=people.dpo)
    assert r.status == 409 and r.json["code"] == "request_closed", r
    # The borrower reads the answer in their language.
    for lang, word in (("ru", "выполнено"), ("kk", "орындалды"), ("en", "fulfilled")):
        r = s.get("/v1/me/requests/" + rid, token=token, headers={"Accept-Language": lang})
        assert r.json["answer"]["code"] == "fulfilled" and word in r.json["answer"]["text"]
    # The block is in force: a data route refuses the subject.
    r = s.get(f"/v1/subjects/{sid}/data", token=people.uw, headers=ID)
    assert r.status == 403, r
    # Unblocking is a request too.
    uid = s.post("/v1/me/requests", {"type": "unblocking"}, token=token).json["id"]
    r = s.post(f"/v1/requests/{uid}/answer", {"answer": "fulfilled"}, token=people.dpo)
    assert r.status == 200, r
    assert protection(s, people, sid)["blocked"] is False
    # Restriction: only legal_obligation stays; a rejected request changes nothing.
    qid = s.post("/v1/me/requests", {"type": "restriction"}, token=token).json["id"]
    r = s.post(f"/v1/requests/{qid}/answer", {"answer": "legal_obligation"}, token=people.dpo)
    assert r.status == 200 and r.json["status"] == "rejected", r
    assert protection(s, people, sid)["restricted"] is False
    qid = s.post("/v1/me/requests", {"type": "restriction"}, token=token).json["id"]
    r = s.post(f"/v1/requests/{qid}/answer", {"answer": "fulfilled"}, token=people.dpo)
    assert r.status == 200, r
    p = protection(s, people, sid)
    assert p["restricted"] is True and p["allowed_purposes"] == ["legal_obligation"]
    assert s.audit_rows("subject.restrict")
    r = s.post("/v1/requests/rqt_AAAAAAAAAAAAAAAAAAAAAA/answer", {"answer": "fulfilled"},
               token=people.dpo)
    assert r.status == 404 and r.json["code"] == "request_not_found", r


def test_missing_year_is_refused():
    """A calendar without the year the deadline needs refuses the filing:
    503, the year named, nothing written."""
    year = today_kz().year
    d = tempfile.mkdtemp(prefix="calendar-", dir=TMP)
    with open(os.path.join(d, "kz-%d.conf" % (year - 1)), "w") as f:
        f.write("year = %d\nsource = test\ndecree = none\nverified = no\n" % (year - 1))
    s = Senim(extra_args=["--calendar", d]).start()
    try:
        people = People(s, "-y")
        sid, token, _ = new_borrower(s, people)
        r = s.post("/v1/me/requests", {"type": "access"}, token=token)
        assert r.status == 503 and r.json["code"] == "calendar_year_missing", r
        assert r.json["year"] == year
        assert s.sql("SELECT COUNT(*) FROM rights_requests") == [["0"]]
    finally:
        assert s.stop() == 0
    # A calendar directory that is bad stops the server from starting.
    shutil.copy(os.path.join(CALENDAR, "kz-2026.conf"), os.path.join(d, "kz-2027.conf"))
    p = cli("calendar", "show", d)
    assert p.returncode == 2 and b"holds the year 2026, named for 2027" in p.stderr


def test_requests_fail_closed_without_audit(srv, people):
    """While the audit record cannot be written no request is filed, read,
    assigned or answered, and no block is set: each route answers 5xx."""
    s = srv
    sid, token, _ = new_borrower(s, people)
    rid = s.post("/v1/me/requests", {"type": "blocking"}, token=token).json["id"]
    before = s.sql("SELECT id, status FROM rights_requests ORDER BY id")
    calls = [
        ("POST", "/v1/me/requests", {"type": "access"}, token),
        ("GET", "/v1/me/requests", None, token),
        ("GET", "/v1/me/requests/" + rid, None, token),
        ("POST", f"/v1/subjects/{sid}/requests",
         {"type": "access", "channel": "phone", "identity_check": "callback"}, people.support),
        ("GET", "/v1/requests", None, people.dpo),
        ("GET", "/v1/requests/" + rid, None, people.dpo),
        ("POST", f"/v1/requests/{rid}/assignment", {"assignee": people.dpo_login}, people.dpo),
        ("POST", f"/v1/requests/{rid}/answer", {"answer": "fulfilled"}, people.dpo),
    ]
    s.sql(block_audit_sql())
    try:
        answers = [s.request(m, p, body=b, token=t) for m, p, b, t in calls]
    finally:
        s.sql(unblock_audit_sql())
    assert all(r.status >= 500 for r in answers), [(r.status, r.body[:100]) for r in answers]
    assert all(rid not in r.body.decode() for r in answers)
    assert s.sql("SELECT id, status FROM rights_requests ORDER BY id") == before
    assert protection(s, people, sid)["blocked"] is False
    again = [s.request(m, p, body=b, token=t) for m, p, b, t in calls]
    assert all(200 <= r.status < 300 for r in again), [(r.status, r.body[:200]) for r in again]
