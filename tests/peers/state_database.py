#!/usr/bin/python3
"""A stand-in state database (family ties, the address registry, legal
capacity) for senim's tests: stdlib only.  It always demands a client
certificate (--client-ca is required) and records each client's CN.

It speaks three APIs (docs/connectors/state_databases.md), each
{"iin", "consent_ref"}:

    POST /v1/family-ties     -> 200 {"iin", "as_of", "marital_status",
                                     "spouse", "children"}
    POST /v1/addresses       -> 200 {"iin", "as_of", "registered_address"}
    POST /v1/legal-capacity  -> 200 {"iin", "as_of", "legal_capacity",
                                     "source_body", "decision_date"}

The answers are peerlib.synthetic_family / _address / _capacity(iin).  A
request without consent_ref is 403 consent_not_confirmed; --unknown-iin
makes an IIN 404 person_not_found.  The control API, the modes and the
options every peer takes are peerlib's; `lie` breaks one rule per API:
family  bad_spouse_iin (default), too_many_children;
address text_too_long (default);
capacity decision_date_missing (default).
wrong_person answers about the next IIN.

Usage: state_database.py --port 0 --tls-cert C --tls-key K --client-ca CA
       [--token T] [--delay-ms N] [--unknown-iin IIN]... [--port-file F]
"""

import datetime
import sys

import peerlib
from peerlib import ApiError, want_object, want_str


class StateDatabase(peerlib.Peer):
    name = "state-database"
    routes = {"/v1/family-ties": "family", "/v1/addresses": "address",
              "/v1/legal-capacity": "capacity"}
    requires_client_cert = True

    def ask(self, body, make):
        want_object(body)
        iin = peerlib.want_iin(body)
        # 94-V Art. 8(1): consent to data in state systems comes through the
        # state service for controlling access to personal data.
        if not isinstance(body.get("consent_ref"), str) or not body["consent_ref"]:
            raise ApiError(403, "consent_not_confirmed", "consent_ref is required")
        want_str(body, "consent_ref", 128)
        self.known(iin)
        out = {"iin": iin, "as_of": peerlib.today().isoformat()}
        out.update(make(iin))
        return out

    def family(self, body, ctx):
        return self.ask(body, peerlib.synthetic_family)

    def address(self, body, ctx):
        return self.ask(body, peerlib.synthetic_address)

    def capacity(self, body, ctx):
        return self.ask(body, peerlib.synthetic_capacity)

    def other(self, answer, make):
        answer["iin"] = peerlib.next_iin(answer["iin"])
        answer.update(make(answer["iin"]))
        return answer

    def family_wrong_person(self, body, answer):
        return self.other(answer, peerlib.synthetic_family)

    def address_wrong_person(self, body, answer):
        return self.other(answer, peerlib.synthetic_address)

    def capacity_wrong_person(self, body, answer):
        return self.other(answer, peerlib.synthetic_capacity)

    def family_lie(self, body, answer, variant):
        person = {"iin": "000000000000", "surname": "Ложь", "given_name": "Ложь",
                  "patronymic": None, "birth_date": "1990-01-01"}
        if (variant or "bad_spouse_iin") == "bad_spouse_iin":
            answer["marital_status"] = "married"
            answer["spouse"] = person
        elif variant == "too_many_children":
            answer["children"] = [dict(person, iin=peerlib.make_iin(
                datetime.date(2010, 1, 1), "M", i)) for i in range(21)]
        return answer

    def address_lie(self, body, answer, variant):
        answer["registered_address"] = {"text": "ж" * 501, "registry_id": "ar-lie",
                                        "since": "2020-01-01"}
        return answer

    def capacity_lie(self, body, answer, variant):
        answer.update({"legal_capacity": "limited", "source_body": "Суд",
                       "decision_date": None})
        return answer


if __name__ == "__main__":
    sys.exit(peerlib.main(StateDatabase(), "state database peer for tests"))
