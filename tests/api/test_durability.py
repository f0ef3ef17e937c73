"""An acknowledged write survives kill -9 (issue 3): writers register
borrowers concurrently, the server is killed mid-load, restarted on the same
data, and every acknowledged registration is there; the audit chain
verifies."""
import signal
import threading
import time

from senim_harness import Senim, borrower

ID = {"Senim-Purpose": "identification"}


def test_acknowledged_writes_survive_kill_9():
    s = Senim().start()
    token = s.service_token("dur-uw", "underwriter")
    acked = []
    lock = threading.Lock()
    stop = threading.Event()

    def writer():
        while not stop.is_set():
            body = borrower()
            try:
                r = s.post("/v1/subjects", body, token=token, headers=ID)
            except OSError:
                return  # the server died under us: that write was never acknowledged
            if r.status == 201:
                with lock:
                    acked.append((r.json["id"], body["iin"]))

    threads = [threading.Thread(target=writer) for _ in range(8)]
    for t in threads:
        t.start()
    deadline = time.time() + 30
    while time.time() < deadline and len(acked) < 200:
        time.sleep(0.05)
    s.proc.send_signal(signal.SIGKILL)  # mid-load, no goodbye
    s.proc.wait()
    stop.set()
    for t in threads:
        t.join()
    s.proc.stdout.close()
    s.log.close()
    s.proc = None
    assert len(acked) >= 50, "too few writes before the kill to prove anything"

    restarted = Senim(data_dir=s.data_dir, db=s.db).start()
    try:
        for sid, iin in acked:
            r = restarted.get(f"/v1/subjects/{sid}/data/identity", token=token, headers=ID)
            assert r.status == 200, (sid, r)
            assert r.json["fields"]["iin"] == iin
        p = restarted.cli("audit", "verify", check=False)
        assert p.returncode == 0, p.stdout
    finally:
        assert restarted.stop() == 0
