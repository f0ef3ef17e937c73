#!/usr/bin/python3
"""A stand-in payment provider for senim's tests: stdlib only.

It speaks payout/1 (docs/connectors/payment-provider.md):

    POST /v1/payouts   Idempotency-Key: pyo_...
        {"operation_key", "amount_tiyn": "<digits>", "currency": "KZT",
         "contract_ref", "destination": {"type": "card_token", "token"} or
                                        {"type": "iban", "iban", "holder_iin"}}
        -> 200 {"operation_key", "status", "provider_ref", "amount_tiyn",
                "currency", "completed_at" | "reject_code"}
    GET  /v1/payouts/{operation_key}
        -> 200 the payout as it stands, or 404 payout_not_found

and the card binding (tokenisation), where senim never sees a card number:

    POST /v1/card-bindings   Idempotency-Key: cbd_...
        {"binding_key"}   (exactly: nothing about the borrower)
        -> 200 {"binding_key", "status": "pending", "page_url"}
    GET  /v1/card-bindings/{binding_key}
        -> 200 {"binding_key", "status", "page_url" | "token", "masked_pan",
                "expiry" | "fail_code"}, or 404 binding_not_found
    DELETE /v1/card-bindings/{binding_key}   Idempotency-Key: cbd_...
        -> 200 {"binding_key", "status": "removed"}: the binding ends and its
           token with it (a payout to the token is rejected card_unbound);
           404 binding_not_found for a key unknown or already removed

The borrower finishes the provider's page in a test with
POST /_control/card-binding (below).

and, the other way, sends senim a repayment notice when a test asks it to
(POST /_control/repay, below).

Payouts are kept in memory by operation key: a key pays once, however many
times it arrives (the first payout is answered again, and the request is
counted against it), so a test sees idempotency in /_control/payouts.  A
card payout completes at once; an IBAN payout is accepted, and completes
when it is next asked about (GET).  A card token that starts with
"tok_decline" is rejected (card_declined); an IBAN holder in --unknown-iin
is rejected (holder_mismatch).  A body that is not exactly the schema, an
operation key that is not the Idempotency-Key, a bad IBAN (mod 97) or an
IIN sent with a card is refused with 400 invalid_request.

Modes are peerlib's, and apply to both routes; besides them:
    POST /_control/payment {"pay_then_fail": N}: the next N new payouts are
        made and then answered 500, as a provider that paid and lost its
        answer; the retry under the same key gets the payout made.
`lie` variants: other_amount (default), other_currency, unknown_status,
missing_ref, future_completed; wrong_person answers another operation key.
For the card binding: full_pan (the default for a binding: a bound card's
masked_pan is the whole card number), bad_url (a page_url that is not
http(s)); wrong_person answers another binding key.  For the unbinding:
any lie keeps the binding and answers status "bound"; wrong_person removes
it and answers another binding key.
slow with a delay past senim's timeout is "accepted, then the client timed
out": the payout is still made, and GET tells it.

Control endpoints beyond peerlib's:
    GET  /_control/payouts   {"payouts": [{"operation_key", "amount_tiyn",
             "destination_type", "contract_ref", "status", "provider_ref",
             "requests"}]}: every payout made, oldest first; "requests" is how
             many POSTs with that key reached the route
    POST /_control/card-binding {"binding_key", "outcome": "bound" |
             "declined" | "abandoned", "pan"?, "expiry"?, "payout": "ok" |
             "decline"}: the borrower on the provider's page: "bound" keeps the
             card (pan, default 4400430000001234) and makes a token (one
             that starts "tok_decline" with payout "decline", so payouts to
             it are rejected); "declined"/"abandoned" fail the binding
             (fail_code card_declined / abandoned)
    GET  /_control/card-bindings  {"bindings": [{"binding_key", "status",
             "requests", "token", "masked_pan"}]}
    POST /_control/repay {"url", "loan_id", "amount_tiyn", "token",
             "provider_ref"?, "paid_at"?, "channel"?, "currency"?, "extra"?}
             -> {"status", "body"}: POSTs a repayment notice to
             URL/v1/loans/{loan_id}/payments with the bearer token, and
             says what senim answered

Usage: payment_provider.py --port 0 [--token T] [--tls-cert C --tls-key K
       [--client-ca CA]] [--delay-ms N] [--unknown-iin IIN] [--port-file F]
"""

import json
import re
import secrets
import sys
import threading
import urllib.error
import urllib.request

import peerlib
from peerlib import ApiError, bad, want_object, want_str

KEY = r"pyo_[A-Za-z0-9_-]{22}"
BINDING = r"cbd_[A-Za-z0-9_-]{22}"
PAN = r"[0-9]{16,19}"
EXPIRY = r"20[0-9]{2}-(0[1-9]|1[0-2])"
TOKEN = r"[A-Za-z0-9_-]{16,64}"
CONTRACT = r"[A-Za-z0-9_./-]{1,64}"
AMOUNT = r"[1-9][0-9]{0,15}"
IBAN = r"KZ[0-9]{5}[0-9A-Z]{13}"
TIYN_MAX = 10 ** 15
REPAY_TIMEOUT = 10


def iban_ok(iban):
    if not re.fullmatch(IBAN, iban) or not 2 <= int(iban[2:4]) <= 98:
        return False
    moved = iban[4:] + iban[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


class PaymentProvider(peerlib.Peer):
    name = "payment-provider"
    routes = {"/v1/payouts": "payout", "/v1/card-bindings": "binding"}
    get_routes = {"/v1/payouts/": "status", "/v1/card-bindings/": "binding_status"}
    delete_routes = {"/v1/card-bindings/": "unbind"}

    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with self.lock:
            self.payouts = {}  # operation key -> the payout
            self.order = []
            self.bindings = {}  # binding key -> the binding
            self.binding_order = []
            self.unbound = set()  # the tokens of bindings removed
            self.pay_then_fail = 0
            self.repayments = 0

    # ---- payout/1 -----------------------------------------------------------

    def payout(self, body, ctx):
        want_object(body)
        if set(body) != {"operation_key", "amount_tiyn", "currency", "contract_ref",
                         "destination"}:
            raise bad("the body must be exactly operation_key, amount_tiyn, currency, "
                      "contract_ref, destination")
        key = want_str(body, "operation_key", 26, pattern=KEY)
        amount = want_str(body, "amount_tiyn", 16, pattern=AMOUNT)
        if int(amount) > TIYN_MAX:
            raise bad("amount_tiyn is over 10^15")
        if body["currency"] != "KZT":
            raise bad("currency must be KZT")
        contract = want_str(body, "contract_ref", 64, pattern=CONTRACT)
        dest = body["destination"]
        want_object(dest, "destination")
        if dest.get("type") == "card_token":
            if set(dest) != {"type", "token"}:
                raise bad("a card destination is exactly type and token (no IIN)")
            want_str(dest, "token", 64, pattern=TOKEN)
        elif dest.get("type") == "iban":
            if set(dest) != {"type", "iban", "holder_iin"}:
                raise bad("an IBAN destination is exactly type, iban and holder_iin")
            if not isinstance(dest["iban"], str) or not iban_ok(dest["iban"]):
                raise bad("destination.iban is not a valid KZ IBAN")
            peerlib.want_iin(dest, "holder_iin")
        else:
            raise bad("destination.type is card_token or iban")
        # The Idempotency-Key is the operation key: one name for one payout.
        if ctx.idempotency_key != key:
            raise bad("operation_key is not the Idempotency-Key")
        with self.lock:
            fail = False
            p = self.payouts.get(key)
            if p is None:
                p = self.make(key, int(amount), contract, dest, ctx)
                if self.pay_then_fail > 0:
                    self.pay_then_fail -= 1
                    fail = True
            p["requests"] += 1
            answer = self.answer_of(p)
        if fail:
            raise ApiError(500, "internal_error", "paid, but the answer was lost")
        return answer

    def make(self, key, amount, contract, dest, ctx):
        n = ctx.state.next_number()
        p = {"operation_key": key, "amount_tiyn": amount, "contract_ref": contract,
             "destination_type": dest["type"], "provider_ref": "PP-%08d" % n,
             "requests": 0, "status": "accepted", "completed_at": None,
             "reject_code": None}
        if dest["type"] == "card_token":
            if dest["token"].startswith("tok_decline"):
                p["status"], p["reject_code"] = "rejected", "card_declined"
            elif dest["token"] in self.unbound:
                p["status"], p["reject_code"] = "rejected", "card_unbound"
            else:
                p["status"], p["completed_at"] = "completed", peerlib.now_rfc3339()
        elif dest["holder_iin"] in self.unknown:
            p["status"], p["reject_code"] = "rejected", "holder_mismatch"
        self.payouts[key] = p
        self.order.append(key)
        return p

    @staticmethod
    def answer_of(p):
        a = {"operation_key": p["operation_key"], "status": p["status"],
             "provider_ref": p["provider_ref"], "amount_tiyn": str(p["amount_tiyn"]),
             "currency": "KZT"}
        if p["status"] == "completed":
            a["completed_at"] = p["completed_at"]
        elif p["status"] == "rejected":
            a["reject_code"] = p["reject_code"]
        return a

    def status(self, key, ctx):
        if not re.fullmatch(KEY, key):
            raise ApiError(404, "payout_not_found", "no such payout")
        with self.lock:
            p = self.payouts.get(key)
            if p is None:
                raise ApiError(404, "payout_not_found", "no such payout")
            if p["status"] == "accepted":  # the bank transfer went through
                p["status"], p["completed_at"] = "completed", peerlib.now_rfc3339()
            return self.answer_of(p)

    def payout_wrong_person(self, body, answer):
        answer["operation_key"] = "pyo_" + "A" * 22
        return answer

    def payout_lie(self, body, answer, variant):
        variant = variant or "other_amount"
        if variant == "other_amount":
            answer["amount_tiyn"] = str(int(answer["amount_tiyn"]) + 100)
        elif variant == "other_currency":
            answer["currency"] = "USD"
        elif variant == "unknown_status":
            answer["status"] = "paid"
        elif variant == "missing_ref":
            del answer["provider_ref"]
        elif variant == "future_completed":
            answer["status"] = "completed"
            answer["completed_at"] = "2999-01-01T00:00:00Z"
        return answer

    status_wrong_person = payout_wrong_person
    status_lie = payout_lie

    # ---- the card binding ---------------------------------------------------

    def binding(self, body, ctx):
        want_object(body)
        if set(body) != {"binding_key"}:
            raise bad("the body must be exactly binding_key")
        key = want_str(body, "binding_key", 26, pattern=BINDING)
        if ctx.idempotency_key != key:
            raise bad("binding_key is not the Idempotency-Key")
        with self.lock:
            b = self.bindings.get(key)
            if b is None:
                n = ctx.state.next_number()
                b = {"binding_key": key, "status": "pending",
                     "page_url": "https://pay.example.kz/bind/BND-%08d" % n,
                     "token": None, "masked_pan": None, "expiry": None,
                     "fail_code": None, "requests": 0}
                self.bindings[key] = b
                self.binding_order.append(key)
            b["requests"] += 1
            return self.binding_answer(b)

    @staticmethod
    def binding_answer(b):
        a = {"binding_key": b["binding_key"], "status": b["status"]}
        if b["status"] == "pending":
            a["page_url"] = b["page_url"]
        elif b["status"] == "bound":
            a.update(token=b["token"], masked_pan=b["masked_pan"], expiry=b["expiry"])
        else:
            a["fail_code"] = b["fail_code"]
        return a

    def binding_status(self, key, ctx):
        with self.lock:
            b = self.bindings.get(key) if re.fullmatch(BINDING, key) else None
            if b is None or b["status"] == "removed":
                raise ApiError(404, "binding_not_found", "no such binding")
            return self.binding_answer(b)

    def unbind(self, key, ctx):
        with self.lock:
            b = self.bindings.get(key) if re.fullmatch(BINDING, key) else None
            if b is None or b["status"] == "removed":
                raise ApiError(404, "binding_not_found", "no such binding")
            if ctx.state.mode == "lie":  # kept: unbind_lie answers "bound"
                return {"binding_key": key, "status": "removed"}
            if b["token"]:
                self.unbound.add(b["token"])
            b.update(status="removed", token=None, page_url=None)
            return {"binding_key": key, "status": "removed"}

    def unbind_wrong_person(self, body, answer):
        answer["binding_key"] = "cbd_" + "A" * 22
        return answer

    def unbind_lie(self, body, answer, variant):
        # The binding was kept (unbind): the answer is not "removed".
        answer["status"] = "bound"
        return answer

    def binding_wrong_person(self, body, answer):
        answer["binding_key"] = "cbd_" + "A" * 22
        return answer

    def binding_lie(self, body, answer, variant):
        if variant == "bad_url":
            if "page_url" in answer:
                answer["page_url"] = "javascript:alert(1)//" + "x" * 8
        elif answer.get("status") == "bound":  # full_pan, the default
            with self.lock:
                b = self.bindings[answer["binding_key"]]
                answer["masked_pan"] = b["pan"]
        return answer

    binding_status_wrong_person = binding_wrong_person
    binding_status_lie = binding_lie

    def complete_binding(self, body):
        want_object(body)
        key = want_str(body, "binding_key", 26, pattern=BINDING)
        outcome = body.get("outcome")
        if outcome not in ("bound", "declined", "abandoned"):
            raise bad("outcome is bound, declined or abandoned")
        pan = want_str(body, "pan", 19, required=False, pattern=PAN) or \
            "4400430000001234"
        expiry = want_str(body, "expiry", 7, required=False, pattern=EXPIRY) or \
            "2029-04"
        with self.lock:
            b = self.bindings.get(key)
            if b is None:
                raise ApiError(404, "binding_not_found", "no such binding")
            if b["status"] != "pending":  # removed too
                raise ApiError(409, "binding_finished", "the binding has ended")
            if outcome == "bound":
                lead = "tok_decline" if body.get("payout") == "decline" else "tok_"
                b.update(status="bound", pan=pan, expiry=expiry,
                         masked_pan=pan[:6] + "*" * (len(pan) - 10) + pan[-4:],
                         token=lead + secrets.token_urlsafe(18)[:24])
            else:
                b.update(status="failed", fail_code="card_declined"
                         if outcome == "declined" else "abandoned")
            return self.binding_answer(b)

    # ---- control ------------------------------------------------------------

    def control_get(self, path, params):
        if path == "/_control/card-bindings":
            with self.lock:
                return {"bindings": [
                    {k: self.bindings[key].get(k) for k in
                     ("binding_key", "status", "requests", "token", "masked_pan")}
                    for key in self.binding_order]}
        if path != "/_control/payouts":
            return None
        with self.lock:
            return {"payouts": [dict(self.payouts[k]) for k in self.order]}

    def control_post(self, path, body):
        if path == "/_control/payment":
            n = body.get("pay_then_fail") if isinstance(body, dict) else None
            if not isinstance(n, int) or isinstance(n, bool) or n < 0:
                raise bad("pay_then_fail must be a non-negative integer")
            with self.lock:
                self.pay_then_fail = n
            return {"pay_then_fail": n}
        if path == "/_control/repay":
            return self.repay(body)
        if path == "/_control/card-binding":
            return self.complete_binding(body)
        return None

    def repay(self, body):
        want_object(body)
        for k in ("url", "loan_id", "token"):
            want_str(body, k, 512)
        notice = {"provider_ref": body.get("provider_ref") or
                  "RP-%08d" % self.next_repayment(),
                  "amount_tiyn": body.get("amount_tiyn"),
                  "currency": body.get("currency", "KZT"),
                  "paid_at": body.get("paid_at") or peerlib.now_rfc3339(),
                  "channel": body.get("channel", "card")}
        notice.update(body.get("extra") or {})
        data = json.dumps(notice).encode()
        req = urllib.request.Request(
            "%s/v1/loans/%s/payments" % (body["url"].rstrip("/"), body["loan_id"]),
            data=data, method="POST",
            headers={"Content-Type": "application/json",
                     "Authorization": "Bearer " + body["token"],
                     "Idempotency-Key": notice["provider_ref"]})
        try:
            with urllib.request.urlopen(req, timeout=REPAY_TIMEOUT) as r:
                status, raw = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        except (urllib.error.URLError, OSError) as e:
            raise ApiError(502, "unreachable", str(e)) from None
        try:
            answer = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            answer = raw.decode("utf-8", "replace")
        return {"status": status, "body": answer, "sent": notice}

    def next_repayment(self):
        with self.lock:
            self.repayments += 1
            return self.repayments


if __name__ == "__main__":
    sys.exit(peerlib.main(PaymentProvider(), "payment provider peer for tests"))
