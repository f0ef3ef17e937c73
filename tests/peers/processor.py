#!/usr/bin/python3
"""A stand-in processor abroad (a scoring service working for the lender
under a processing agreement) for senim's tests: stdlib only.

It speaks processing/1 (docs/connectors/processing.md):

    POST /v1/jobs  {"job_id": "trf_...", "purpose": "...",
                    "pseudonym": "<32 hex digits>", "data": {"category.field": ...}}
        -> 202 {"job_id", "status": "accepted"}

It refuses (400) a job that is more than those four keys (no "iin", no
"subject_id"), or that holds identity.iin among its data: a processor
knows the subject by a pseudonym only.
Jobs are de-duplicated by Idempotency-Key (peerlib replays the first
answer).  The control API, the modes and the options every peer takes are
peerlib's; `lie` variants: unknown_status (default), missing_job_id.
wrong_person echoes another job_id.

Usage: processor.py --port 0 [--token T] [--tls-cert C --tls-key K
       [--client-ca CA]] [--delay-ms N] [--port-file F]
"""

import re
import sys

import peerlib
from peerlib import bad, want_object, want_str

JOB_ID = r"trf_[A-Za-z0-9_-]{22}"
PSEUDONYM = r"[0-9a-f]{32}"
PURPOSE = r"[a-z_]{1,64}"
FIELD = r"[a-z_]+\.[a-z_]+"


class Processor(peerlib.Peer):
    name = "processor"
    routes = {"/v1/jobs": "job"}
    success = {"/v1/jobs": 202}

    def job(self, body, ctx):
        want_object(body)
        if set(body) != {"job_id", "purpose", "pseudonym", "data"}:
            raise bad("the body must be exactly job_id, purpose, pseudonym, data")
        job_id = want_str(body, "job_id", 26, pattern=JOB_ID)
        want_str(body, "purpose", 64, pattern=PURPOSE)
        want_str(body, "pseudonym", 32, pattern=PSEUDONYM)
        data = body["data"]
        want_object(data, "data")
        if not data or len(data) > 32:
            raise bad("data holds 1 to 32 fields")
        for key, value in data.items():
            if not re.fullmatch(FIELD, key) or key == "identity.iin":
                raise bad("data may hold category.field keys other than identity.iin")
            if isinstance(value, (dict, list)):
                raise bad("data values are scalars")
        return {"job_id": job_id, "status": "accepted"}

    def job_wrong_person(self, body, answer):
        answer["job_id"] = "trf_" + "A" * 22
        return answer

    def job_lie(self, body, answer, variant):
        variant = variant or "unknown_status"
        if variant == "unknown_status":
            answer["status"] = "done"
        elif variant == "missing_job_id":
            del answer["job_id"]
        return answer


if __name__ == "__main__":
    sys.exit(peerlib.main(Processor(), "processor peer for tests"))
