"""Key rotation while serving (issue 3): `senim keys rotate` adds a KEK
version and rewraps every data key while writers keep registering and
readers keep reading; nothing becomes unreadable, and `keys status` shows
every data key on the new version."""
import re
import threading
import time

from senim_harness import Senim, borrower

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
