"""Writes answered without holding a worker: a handler hands its write to the
group commit (http_write_then), the connection is suspended until the batch
is durable, and the worker serves other requests meanwhile.  Registration,
purpose-bound reads (whose audit record is the write), new versions of a
category, the DPO's blocks and restrictions, and the consent ledger's grants
and withdrawals go this way; the ledger re-checks inside the
write, so concurrent identical grants leave one active consent."""
import http.client
import os
import sqlite3
import threading
import time

import pytest

from senim_harness import Senim, borrower

ID = {"Senim-Purpose": "identification"}


@pytest.fixture(scope="module")
def staff(senim):
    return {r: senim.service_token("aw-" + r, r) for r in ("underwriter",)}


def signed_in(senim, staff):
    """A registered borrower, signed in, who accepted the policy in force."""
    body = borrower()
    r = senim.post("/v1/subjects", body, token=staff["underwriter"], headers=ID)
    assert r.status == 201, r
    token = senim.borrower_token(body["phone"])
    senim.accept_policy(token)
    return r.json["id"], body, token


def timed_get(server, path, timeout):
    """GET with a short timeout of its own: (status, seconds taken)."""
    t0 = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        r.read()
        return r.status, time.monotonic() - t0
    finally:
        conn.close()


def concurrently(n, fn):
    """Run fn(i) in n threads released together; their results in order."""
    barrier = threading.Barrier(n)
    out = [None] * n

    def run(i):
        barrier.wait()
        try:
            out[i] = fn(i)
        except Exception as e:  # noqa: BLE001 - reported by the caller's asserts
            out[i] = e

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a request never came back"
    return out


# ---- a write waits without a worker -----------------------------------------------

def answered_after_the_lock(s, write, what):
    """Run write() while SQLite's one write lock is held from outside the
    server (started with one worker): write() must not be answered while
    the lock is held, the worker must answer meanwhile, and the answer must
    come after the lock went.  Returns write()'s response."""
    done = {}

    def run():
        try:
            done["r"] = write()
        except Exception as e:  # noqa: BLE001
            done["r"] = e
        done["at"] = time.monotonic()

    lock = sqlite3.connect(s.db, timeout=2, isolation_level=None)
    writer = threading.Thread(target=run)
    released_at = None
    try:
        lock.execute("BEGIN IMMEDIATE")  # the database's one write lock
        held_at = time.monotonic()
        writer.start()
        time.sleep(0.5)
        assert writer.is_alive() and "r" not in done, \
            "%s finished while its write could not: %r" % (what, done.get("r"))
        # The one worker is free: it answers while the write waits
        # (a worker held in the write would leave this hanging).
        status, took = timed_get(s, "/healthz", timeout=5)
        assert status == 200 and took < 2, (what, status, took)
        # a read of the store goes on too
        status, took = timed_get(s, "/v1/policies/current", timeout=5)
        assert status == 200 and took < 2, (what, status, took)
        assert writer.is_alive() and "r" not in done, \
            "%s must still be waiting for the lock" % what
        assert time.monotonic() - held_at < 5, "keep well below the 10 s busy timeout"
    finally:
        lock.execute("ROLLBACK")
        released_at = time.monotonic()
        lock.close()
        writer.join(timeout=15)
    assert not writer.is_alive(), "%s never completed after the lock went" % what
    r = done["r"]
    assert not isinstance(r, Exception), r
    assert done["at"] >= released_at, "%s answered before it could be durable" % what
    return r


def one_worker():
    # The harness passes --threads 2 first; the later --threads 1 wins.
    s = Senim(extra_args=["--threads", "1"]).start()
    s.ensure_policy()  # the CLI writes; done before any lock is taken
    assert s.get("/v1/policies/current").status == 200
    return s


def stopped(s):
    rc = s.stop()
    assert rc == 0, "senim did not stop cleanly (exit %r); log:\n%s" % (rc, s.read_log()[-4000:])


@pytest.mark.skipif(os.environ.get("SENIM_TEST_BACKEND") == "postgres",
                    reason="holds SQLite's write lock from outside the server")
def test_worker_not_held_while_write_waits():
    s = one_worker()
    try:
        token = s.service_token("aw-one-uw", "underwriter")
        body = borrower()
        r = answered_after_the_lock(
            s, lambda: s.post("/v1/subjects", body, token=token, headers=ID),
            "the registration")
        assert r.status == 201, r
        sid = r.json["id"]
        r = s.get(f"/v1/subjects/{sid}/data/identity", token=token, headers=ID)
        assert r.status == 200, r
        assert r.json["fields"]["iin"] == body["iin"]
        assert s.sql("SELECT count(*) FROM audit_log WHERE operation = 'subject.register'"
                     f" AND subject_id = '{sid}' AND outcome = 'success'") == [["1"]]
    finally:
        stopped(s)


@pytest.mark.skipif(os.environ.get("SENIM_TEST_BACKEND") == "postgres",
                    reason="holds SQLite's write lock from outside the server")
def test_data_writes_blocks_and_restrictions_wait_without_a_worker():
    """A new version of a category, a history, a search and the DPO's blocks
    and restrictions go through the group commit the same way, each with
    its audit record."""
    s = one_worker()
    try:
        uw = s.service_token("aw-one-uw2", "underwriter")
        dpo = s.service_token("aw-one-dpo", "dpo")
        body = borrower()
        r = s.post("/v1/subjects", body, token=uw, headers=ID)
        assert r.status == 201, r
        sid = r.json["id"]
        s.accept_policy(s.borrower_token(body["phone"]))  # C4: the review needs it
        r = answered_after_the_lock(
            s, lambda: s.request("PUT", f"/v1/subjects/{sid}/data/professional",
                                 body={"fields": {"education": "postgraduate"}}, token=uw,
                             headers={"Senim-Purpose": "loan_application_review"}),
            "a data write")
        assert r.status == 200 and r.json["version"] == 1, r
        # reads audited in their write job wait the same way
        r = answered_after_the_lock(
            s, lambda: s.get(f"/v1/subjects/{sid}/data/professional/history", token=uw,
                             headers={"Senim-Purpose": "loan_application_review"}),
            "a history")
        assert r.status == 200 and [v["version"] for v in r.json["versions"]] == [1], r
        r = answered_after_the_lock(
            s, lambda: s.post("/v1/subjects/search", {"iin": body["iin"]}, token=uw,
                              headers=ID), "a search")
        assert r.status == 200 and r.json["subjects"] == [sid], r
        # a role's refusal is on record before it is answered, the same way
        r = answered_after_the_lock(
            s, lambda: s.post("/v1/policies", {"version": "x", "ru": "а", "kk": "ә"},
                              token=uw), "a role refusal")
        assert r.status == 403 and r.json["code"] == "forbidden_role", r
        assert s.sql("SELECT count(*) FROM audit_log WHERE operation = 'access.denied'"
                     " AND request_id = '%s'" % r.header("X-Request-Id")) == [["1"]]
        r = answered_after_the_lock(
            s, lambda: s.post(f"/v1/subjects/{sid}/block", {"reason": "borrower_request"},
                              token=dpo), "a block")
        assert r.status == 200 and r.json["blocked"] is True, r
        # the very next request meets the block
        r = s.get(f"/v1/subjects/{sid}/data/identity", token=uw, headers=ID)
        assert r.status == 403 and r.json["code"] == "subject_blocked", r
        r = answered_after_the_lock(
            s, lambda: s.post(f"/v1/subjects/{sid}/unblock", token=dpo), "an unblock")
        assert r.status == 200 and r.json["blocked"] is False, r
        r = answered_after_the_lock(
            s, lambda: s.post(f"/v1/subjects/{sid}/restrictions",
                              {"allowed_purposes": ["loan_servicing"]}, token=dpo),
            "a restriction")
        assert r.status == 200 and r.json["restricted"] is True, r
        r = s.get(f"/v1/subjects/{sid}/data/identity", token=uw, headers=ID)
        assert r.status == 403 and r.json["code"] == "purpose_restricted", r
        r = answered_after_the_lock(
            s, lambda: s.delete(f"/v1/subjects/{sid}/restrictions", token=dpo),
            "lifting the restriction")
        assert r.status == 200 and r.json["restricted"] is False, r
        ops = s.sql("SELECT operation FROM audit_log WHERE subject_id = '%s'"
                    " AND outcome = 'success' ORDER BY seq" % sid)
        assert [o[0] for o in ops if o[0].startswith("subject.")
                and o[0] != "subject.read"] == [
            "subject.register", "subject.write", "subject.history", "subject.search",
            "subject.block", "subject.unblock", "subject.restrict",
            "subject.unrestrict"], ops
    finally:
        stopped(s)


# ---- a slow gateway waits without a worker ----------------------------------------

def test_worker_not_held_while_the_sms_gateway_is_slow():
    """An SMS send may take seconds (retries, deadline); it runs on an I/O
    thread, so the one worker keeps answering meanwhile."""
    s = Senim(extra_args=["--threads", "1"]).start()
    try:
        # Slower than a worker may wait, faster than one attempt's timeout (2 s).
        s.sms.control("POST", "mode", {"mode": "slow", "delay_ms": 1800})
        done = {}

        def ask_code():
            try:
                done["r"] = s.post("/v1/auth/otp", {"phone": "+77070000091"})
            except Exception as e:  # noqa: BLE001
                done["r"] = e

        sender = threading.Thread(target=ask_code)
        sender.start()
        time.sleep(0.3)
        assert sender.is_alive(), "the send should still be waiting for the gateway"
        status, took = timed_get(s, "/healthz", timeout=5)
        assert status == 200 and took < 1, (status, took)
        assert sender.is_alive(), "answered /healthz only after the send: a worker was held"
        sender.join(timeout=20)
        assert not sender.is_alive()
        r = done["r"]
        assert not isinstance(r, Exception), r
        assert r.status == 202, r  # slow, but within the deadline
        # The code reached the phone and was stored: it signs in (or, for a
        # phone no borrower has, is refused like any wrong code).
        code = s.sms.last_code("+77070000091")
        s.sms.control("POST", "reset")
        assert code
        assert s.sql("SELECT count(*) FROM borrower_otps") == [["1"]]
    finally:
        rc = s.stop()
    assert rc == 0, "senim did not stop cleanly (exit %r); log:\n%s" % (rc, s.read_log()[-4000:])


# ---- the ledger's re-check inside the write ------------------------------------------

def test_concurrent_identical_grants_leave_one_active(senim, staff):
    sid, body, token = signed_in(senim, staff)
    kind = "marketing_email"
    grants = concurrently(12, lambda i: senim.post(
        "/v1/me/consents", {"kind": kind, "channel": "web"}, token=token))
    for r in grants:
        assert not isinstance(r, Exception), r
        assert r.status in (200, 201), r
    statuses = [r.status for r in grants]
    assert statuses.count(201) == 1, statuses
    ids = {r.json["id"] for r in grants}
    assert len(ids) == 1, ids
    cid = ids.pop()
    assert all(r.json["kind"] == kind for r in grants)
    listed = senim.get("/v1/me/consents", token=token)
    assert listed.status == 200, listed
    mine = [c for c in listed.json["consents"] if c["kind"] == kind]
    assert [(c["id"], c["status"]) for c in mine] == [(cid, "active")]
    # in the database too: one row, one audited grant, and each of the
    # other answers (that grant again) on record before it left
    assert senim.sql(f"SELECT count(*) FROM consents WHERE subject_id = '{sid}'"
                     f" AND kind = '{kind}'") == [["1"]]
    assert senim.sql("SELECT outcome, count(*) FROM audit_log WHERE operation = 'consent.grant'"
                     f" AND object = 'consent:{kind}:{cid}' GROUP BY outcome ORDER BY outcome"
                     ) == [["success", "1"], ["unchanged", "11"]]

    withdrawals = concurrently(8, lambda i: senim.delete(
        f"/v1/me/consents/{cid}", token=token))
    for r in withdrawals:
        assert not isinstance(r, Exception), r
    statuses = sorted(r.status for r in withdrawals)
    assert statuses == [200] + [409] * 7, withdrawals
    for r in withdrawals:
        if r.status == 200:
            assert r.json["id"] == cid and r.json["status"] == "withdrawn", r
            assert r.json["withdrawal_receipt"]["event"] == "withdraw"
        else:
            assert r.json["code"] == "consent_withdrawn", r
    listed = senim.get("/v1/me/consents", token=token).json["consents"]
    assert [(c["id"], c["status"]) for c in listed if c["kind"] == kind] == [(cid, "withdrawn")]
    assert senim.sql("SELECT count(*) FROM audit_log WHERE operation = 'consent.withdraw'"
                     f" AND object = 'consent:{kind}:{cid}' AND outcome = 'success'") == [["1"]]


# ---- no data without its audit record ----------------------------------------------

def test_read_answer_needs_its_audit_record(senim, staff):
    sid, body, token = signed_in(senim, staff)
    r = senim.get(f"/v1/subjects/{sid}/data/identity", token=staff["underwriter"], headers=ID)
    assert r.status == 200, r
    assert r.json["fields"]["iin"] == body["iin"]
    rid = r.header("X-Request-Id")
    assert rid
    # the record is there the moment the answer is: it was durable first
    rows = senim.sql("SELECT operation, subject_id, categories, purpose, outcome"
                     f" FROM audit_log WHERE request_id = '{rid}'")
    assert rows == [["subject.read", sid, "identity", "identification", "success"]], rows


def test_own_data_answer_needs_its_audit_record(senim, staff):
    """GET /v1/me (R1) answers after its audit record, like a staff read."""
    sid, body, token = signed_in(senim, staff)
    r = senim.get("/v1/me", token=token)
    assert r.status == 200, r
    assert r.json["subject_id"] == sid
    assert r.json["categories"]["identity"]["fields"]["iin"] == body["iin"]
    rid = r.header("X-Request-Id")
    rows = senim.sql("SELECT operation, subject_id, purpose, outcome"
                     f" FROM audit_log WHERE request_id = '{rid}'")
    assert rows == [["subject.self_read", sid, "legal_obligation", "success"]], rows
