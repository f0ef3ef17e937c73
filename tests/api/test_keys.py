"""Key rotation while serving (issue 3): `senim keys rotate` adds a KEK
version and rewraps every data key while writers keep registering and
readers keep reading; nothing becomes unreadable, and `keys status` shows
every data key on the new version."""
import os
import re
import subprocess
import threading
import time

from senim_harness import BIN, Senim, borrower

ID = {"Senim-Purpose": "identification"}


def test_rotation_while_serving():
    s = Senim().start()
    try:
        uw = s.service_token("rot-uw", "underwriter")
        ids = []
        for _ in range(40):
            r = s.post("/v1/subjects", borrower(), token=uw, headers=ID)
            assert r.status == 201
            ids.append(r.json["id"])
        status = s.cli("keys", "status").stdout.decode()
        assert re.search(r"\b1\b", status)

        errors = []
        stop = threading.Event()

        def keep_working():
            while not stop.is_set():
                r = s.post("/v1/subjects", borrower(), token=uw, headers=ID)
                if r.status != 201:
                    errors.append(("write", r.status))
                    return
                ids.append(r.json["id"])
                r = s.get(f"/v1/subjects/{ids[len(ids) // 2]}/data/identity", token=uw,
                          headers=ID)
                if r.status != 200:
                    errors.append(("read", r.status))
                    return

        workers = [threading.Thread(target=keep_working) for _ in range(3)]
        for w in workers:
            w.start()
        p = s.cli("keys", "rotate", check=False)
        stop.set()
        for w in workers:
            w.join()
        assert p.returncode == 0, p.stdout.decode() + p.stderr.decode()
        assert not errors, errors
        # keys written by the server during the rotation are rewrapped too
        # (rotate's last pass, or a resume)
        assert s.cli("keys", "rotate", "--resume").returncode == 0
        for sid in ids:
            r = s.get(f"/v1/subjects/{sid}/data/identity", token=uw, headers=ID)
            assert r.status == 200, sid
        rows = s.sql("SELECT kek_version, count(*) FROM subject_keys GROUP BY kek_version")
        assert rows == [["2", str(len(ids))]], rows
        assert s.cli("audit", "verify").returncode == 0
    finally:
        assert s.stop() == 0


def test_new_registrations_use_the_new_kek_after_rotation():
    s = Senim().start()
    try:
        uw = s.service_token("rot2-uw", "underwriter")
        assert s.post("/v1/subjects", borrower(), token=uw, headers=ID).status == 201
        assert s.cli("keys", "rotate").returncode == 0
        time.sleep(1.5)  # the server notices a changed key file within a second
        r = s.post("/v1/subjects", borrower(), token=uw, headers=ID)
        assert r.status == 201
        rows = s.sql("SELECT kek_version FROM subject_keys WHERE subject_id = '%s'" % r.json["id"])
        assert rows == [["2"]]
    finally:
        assert s.stop() == 0


def test_a_missing_key_file_is_never_replaced_in_front_of_sealed_data(senim, tmp_path):
    """A wrong --keys (or SENIM_KEYS, or an unmounted key volume) must not
    mint fresh keys for a store that already holds data sealed with the real
    ones: the server and every command refuse, and create nothing."""
    uw = senim.service_token("kf-uw", "underwriter")
    assert senim.post("/v1/subjects", borrower(), token=uw, headers=ID).status == 201
    wrong = tmp_path / "typo" / "senim.keys"
    base = [a for a in senim.common_args()]
    base[base.index("--keys") + 1] = str(wrong)
    for args in (["keys", "status"], ["staff", "list"], ["migrate"],
                 ["serve", "--listen", "127.0.0.1:0"]):
        p = subprocess.run([BIN, *args, *base], capture_output=True, timeout=60)
        assert p.returncode == 3, (args, p.returncode, p.stderr)
        assert b"refusing to make new ones" in p.stderr, (args, p.stderr)
        assert not wrong.exists() and not wrong.parent.exists(), args
    # with the right key file all is well
    assert senim.cli("keys", "status").returncode == 0


def test_a_new_store_gets_a_key_file(tmp_path):
    """The first start of a fresh store still makes its key file."""
    s = Senim(sms=False)
    base = [a for a in s.common_args()]
    keys = base[base.index("--keys") + 1]
    assert not os.path.exists(keys)
    p = subprocess.run([BIN, "migrate", *base], capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert os.path.exists(keys) and os.stat(keys).st_mode & 0o077 == 0


def test_another_stores_key_file_is_refused(senim, tmp_path):
    """A key file that exists but is not this store's (another deployment's,
    an old copy) is refused at start: its keys cannot open the newest data
    key nor verify the newest audit checkpoint, and writing with them would
    seal new data under keys the real file does not have."""
    uw = senim.service_token("kf2-uw", "underwriter")
    assert senim.post("/v1/subjects", borrower(), token=uw, headers=ID).status == 201
    other = tmp_path / "other"
    p = subprocess.run([BIN, "migrate", "--data-dir", str(other)], capture_output=True,
                       timeout=60)
    assert p.returncode == 0, p.stderr
    alien = other / "keys" / "senim.keys"
    base = list(senim.common_args())
    base[base.index("--keys") + 1] = str(alien)
    before = alien.read_bytes()
    for args in (["keys", "status"], ["staff", "list"],
                 ["serve", "--listen", "127.0.0.1:0"]):
        p = subprocess.run([BIN, *args, *base], capture_output=True, timeout=60)
        assert p.returncode == 3, (args, p.returncode, p.stderr)
        assert b"does not fit this store" in p.stderr, (args, p.stderr)
    assert alien.read_bytes() == before  # nothing was added to it
    assert senim.cli("keys", "status").returncode == 0


def test_no_key_file_change_without_its_audit_record(senim):
    """`keys rotate` writes its `started` record before it touches the key
    file: a store that cannot take the record leaves the key file as it was."""
    from senim_harness import BACKEND
    if BACKEND == "postgres":
        senim.sql("CREATE TRIGGER block_audit BEFORE INSERT ON audit_log"
                  " FOR EACH ROW EXECUTE FUNCTION senim_refuse_change()")
    else:
        senim.sql("CREATE TRIGGER block_audit BEFORE INSERT ON audit_log"
                  " BEGIN SELECT RAISE(ABORT, 'blocked'); END;")
    before = open(senim.keys, "rb").read()
    try:
        p = senim.cli("keys", "rotate", check=False)
        assert p.returncode == 3, (p.returncode, p.stderr)
        assert open(senim.keys, "rb").read() == before, "the key file changed unrecorded"
    finally:
        senim.sql("DROP TRIGGER block_audit" + (" ON audit_log" if BACKEND == "postgres"
                                                else ""))
    p = senim.cli("keys", "rotate")
    assert open(senim.keys, "rb").read() != before
    rows = senim.sql("SELECT outcome FROM audit_log WHERE operation = 'keys.rotate'"
                     " ORDER BY seq")
    assert [r[0] for r in rows][-2:] == ["started", "success"], rows


def test_rotations_killed_and_resumed_under_load_answer_no_5xx():
    """Rotations back to back, each killed with SIGKILL once it has changed
    the key file and then resumed, while readers read every borrower and a
    writer registers: not one request may fail.  A server that re-read the
    key file at most once a second answered 500 crypto_error to the reads
    that met a data key wrapped by a version newer than its last read."""
    s = Senim().start()
    try:
        uw = s.service_token("rot3-uw", "underwriter")
        ids = []
        for _ in range(150):
            r = s.post("/v1/subjects", borrower(), token=uw, headers=ID)
            assert r.status == 201
            ids.append(r.json["id"])
        answers = {}
        lock = threading.Lock()
        stop = threading.Event()

        def count(kind, status):
            with lock:
                answers[(kind, status)] = answers.get((kind, status), 0) + 1

        def read_all(offset):
            i = offset
            while not stop.is_set():
                r = s.get(f"/v1/subjects/{ids[i % 150]}/data/identity", token=uw,
                          headers=ID)
                count("read", r.status)
                i += 7

        def register():
            while not stop.is_set():
                count("write", s.post("/v1/subjects", borrower(), token=uw,
                                      headers=ID).status)

        threads = [threading.Thread(target=read_all, args=(k * 37,)) for k in range(4)]
        threads.append(threading.Thread(target=register))
        for t in threads:
            t.start()
        try:
            for n in range(6):
                before = os.stat(s.keys).st_ino
                p = subprocess.Popen([BIN, "keys", "rotate", *s.common_args()],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                deadline = time.time() + 60
                while p.poll() is None and os.stat(s.keys).st_ino == before \
                        and time.time() < deadline:
                    time.sleep(0.001)
                p.kill()  # SIGKILL: mid-rewrap, or just after it
                p.wait()
                assert s.cli("keys", "rotate", "--resume").returncode == 0
        finally:
            stop.set()
            for t in threads:
                t.join()
        failed = {k: v for k, v in answers.items() if k[1] >= 500}
        assert not failed, answers
        assert answers.get(("read", 200), 0) > 0 and answers.get(("write", 201), 0) > 0
        assert s.cli("audit", "verify").returncode == 0
    finally:
        assert s.stop() == 0
