#!/usr/bin/python3
"""A stand-in mobile operator (Kcell, Kar-Tel, Mobile Telecom-Service) for
senim's tests: stdlib only.

It speaks phone_check/1 (docs/connectors/phone_check.md):

    POST /v1/phone-checks  {"msisdn": "+77011234567", "iin": "..."}
        -> 200 {"msisdn", "iin", "result": "match|mismatch|unknown_number",
                "owner_since", "subscriber_type", "score"}

The answer is peerlib.synthetic_phone(iin, msisdn); owner_since,
subscriber_type and score are null unless the result is match, and an
operator never names a number's real owner.  The control API, the modes and
the options every peer takes are peerlib's; `lie` variants:
future_owner_since (default), score_out_of_range, details_without_match.
wrong_person answers about the next IIN.

Usage: mobile_operator.py --port 0 [--token T] [--tls-cert C --tls-key K
       [--client-ca CA]] [--delay-ms N] [--unknown-iin IIN]... [--port-file F]
"""

import datetime
import sys

import peerlib
from peerlib import want_object, want_str

# Kazakhstan's part of the +7 zone, E.164 (core/contact.h).
MSISDN = r"\+7[67][0-9]{9}"


class Operator(peerlib.Peer):
    name = "mobile-operator"
    routes = {"/v1/phone-checks": "phone_check"}

    def phone_check(self, body, ctx):
        want_object(body)
        msisdn = want_str(body, "msisdn", 13, pattern=MSISDN)
        iin = peerlib.want_iin(body)
        self.known(iin)
        out = {"msisdn": msisdn, "iin": iin}
        out.update(peerlib.synthetic_phone(iin, msisdn))
        return out

    def phone_check_wrong_person(self, body, answer):
        other = peerlib.next_iin(body["iin"])
        answer.update(peerlib.synthetic_phone(other, body["msisdn"]))
        answer["iin"] = other
        return answer

    def phone_check_lie(self, body, answer, variant):
        variant = variant or "future_owner_since"
        match = {"result": "match", "subscriber_type": "prepaid",
                 "score": {"value": 0.5, "min": 0, "max": 1}}
        if variant == "future_owner_since":
            answer.update(match)
            answer["owner_since"] = (peerlib.today() + datetime.timedelta(days=30)).isoformat()
        elif variant == "score_out_of_range":
            answer.update(match)
            answer["owner_since"] = "2019-03-01"
            answer["score"] = {"value": 1.5, "min": 0, "max": 1}
        elif variant == "details_without_match":
            answer.update({"result": "mismatch", "owner_since": "2019-03-01"})
        return answer


if __name__ == "__main__":
    sys.exit(peerlib.main(Operator(), "mobile operator peer for tests"))
