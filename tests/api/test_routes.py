"""The access matrix (S3): every route x every role x no token.

EXPECTED is written here by hand from the policy, independently of the route
table in src/api/routes.c; the test checks both that the table lists exactly
these routes and that the running server answers each caller as expected:
401 without a token, 403 forbidden_role for a role not allowed, and never
401/403 for an allowed caller."""
import os
import re

import pytest

ROLES = ["admin", "underwriter", "support", "marketing", "dpo", "investigator", "auditor",
         "payment_provider"]
PUBLIC = "public"
BORROWER = "borrower"
# The payment provider's service account is not staff: its own route only.
ANY_STAFF = set(ROLES) - {"payment_provider"}
DATA = {"underwriter", "support", "marketing", "dpo", "investigator"}

EXPECTED = {
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): {"admin", "auditor"},
    ("POST", "/v1/staff/enrollment"): PUBLIC,
    ("POST", "/v1/staff/sessions"): PUBLIC,
    ("DELETE", "/v1/staff/sessions"): ANY_STAFF,
    ("GET", "/v1/staff/me"): ANY_STAFF,
    ("GET", "/v1/policies"): PUBLIC,
    ("POST", "/v1/policies"): {"admin"},
    ("GET", "/v1/policies/current"): PUBLIC,
    ("GET", "/v1/policies/{version}"): PUBLIC,
    ("GET", "/v1/audit/verify"): {"auditor", "dpo"},
    # The disclosure register (T6): the DPO answers for it, the auditor
    # checks it; a borrower sees their own (test_disclosures.py).
    ("GET", "/v1/disclosures"): {"dpo", "auditor"},
    ("GET", "/v1/me/disclosures"): BORROWER,
    # Rights requests (issue 13): the borrower's own, support files on a
    # borrower's behalf, the DPO runs the queue (test_requests.py).
    ("POST", "/v1/me/requests"): BORROWER,
    ("GET", "/v1/me/requests"): BORROWER,
    ("GET", "/v1/me/requests/{id}"): BORROWER,
    ("GET", "/v1/me/requests/{id}/package"): BORROWER,
    ("POST", "/v1/subjects/{id}/requests"): {"support", "dpo"},
    ("GET", "/v1/requests"): {"dpo"},
    ("GET", "/v1/requests/{id}"): {"dpo"},
    ("POST", "/v1/requests/{id}/assignment"): {"dpo"},
    ("POST", "/v1/requests/{id}/answer"): {"dpo"},
    # Lending (issue 12): the admin runs the catalogue; a borrower applies
    # and sees the active products; underwriters review under U1.
    ("POST", "/v1/products"): {"admin"},
    ("GET", "/v1/products"): {"admin"},
    ("GET", "/v1/products/{code}"): {"admin"},
    ("GET", "/v1/me/products"): BORROWER,
    ("POST", "/v1/me/cards"): BORROWER,
    ("GET", "/v1/me/cards"): BORROWER,
    ("GET", "/v1/me/cards/{id}"): BORROWER,
    ("DELETE", "/v1/me/cards/{id}"): BORROWER,
    ("POST", "/v1/me/applications"): BORROWER,
    ("GET", "/v1/me/applications"): BORROWER,
    ("GET", "/v1/me/applications/{id}"): BORROWER,
    ("POST", "/v1/me/applications/{id}/withdrawal"): BORROWER,
    ("POST", "/v1/me/applications/{id}/refusal"): BORROWER,
    ("POST", "/v1/me/applications/{id}/submission"): BORROWER,
    ("GET", "/v1/me/applications/{id}/offer"): BORROWER,
    # The contract (test_contracts.py): the borrower accepts, signs and
    # reads it; staff read it under loan_servicing (U2).
    ("POST", "/v1/me/applications/{id}/acceptance"): BORROWER,
    ("POST", "/v1/me/applications/{id}/signature"): BORROWER,
    ("GET", "/v1/me/applications/{id}/contract"): BORROWER,
    ("GET", "/v1/me/applications/{id}/contract/receipt"): BORROWER,
    ("GET", "/v1/applications/{id}/contract"): {"underwriter", "support"},
    # The payout (test_c2_walk.py): confirmed after the hold, or cancelled.
    ("POST", "/v1/me/applications/{id}/payout-confirmation"): BORROWER,
    ("POST", "/v1/me/applications/{id}/cancellation"): BORROWER,
    ("GET", "/v1/payouts/failed"): {"underwriter", "support"},
    ("POST", "/v1/payouts/{id}/retry"): {"underwriter", "support"},
    ("POST", "/v1/payouts/{id}/closure"): {"underwriter", "support"},
    ("GET", "/v1/applications"): {"underwriter"},
    ("GET", "/v1/applications/{id}"): {"underwriter"},
    ("POST", "/v1/applications/{id}/lock"): {"underwriter"},
    ("DELETE", "/v1/applications/{id}/lock"): {"underwriter"},
    ("POST", "/v1/applications/{id}/decision"): {"underwriter"},
    ("POST", "/v1/applications/{id}/confirmation"): {"underwriter"},
    # Loans (U2): repayments come from the payment provider alone; the
    # borrower reads their own loans (test_payments.py).
    ("POST", "/v1/loans/{id}/payments"): {"payment_provider"},
    ("GET", "/v1/me/loans"): BORROWER,
    ("GET", "/v1/me/loans/{id}"): BORROWER,
    ("GET", "/v1/me/loans/{id}/schedule"): BORROWER,
    ("GET", "/v1/me/loans/{id}/payments"): BORROWER,
    ("POST", "/v1/me/loans/{id}/restructuring"): BORROWER,
    ("GET", "/v1/me/loans/{id}/restructuring"): BORROWER,
    ("GET", "/v1/restructurings"): {"underwriter"},
    ("POST", "/v1/restructurings/{id}/decision"): {"underwriter"},
    # Borrowers' data: every role that holds a data purpose; never admin or
    # auditor (they run the system and read the trail, not borrowers' data).
    ("POST", "/v1/subjects"): DATA,
    ("POST", "/v1/subjects/search"): DATA,
    ("GET", "/v1/subjects/{id}/data"): DATA,
    ("GET", "/v1/subjects/{id}/data/{category}"): DATA,
    ("PUT", "/v1/subjects/{id}/data/{category}"): DATA,
    ("GET", "/v1/subjects/{id}/data/{category}/history"): DATA,
    # Blocking and restriction are the data-protection officer's acts (R3, R4).
    ("POST", "/v1/subjects/{id}/block"): {"dpo"},
    ("POST", "/v1/subjects/{id}/unblock"): {"dpo"},
    ("POST", "/v1/subjects/{id}/restrictions"): {"dpo"},
    ("DELETE", "/v1/subjects/{id}/restrictions"): {"dpo"},
    ("GET", "/v1/subjects/{id}/protection"): {"dpo"},
    ("POST", "/v1/subjects/{id}/package"): {"dpo"},
    ("GET", "/v1/subjects/{id}/package"): {"dpo"},
    ("POST", "/v1/subjects/{id}/access-limit"): {"dpo"},
    ("DELETE", "/v1/subjects/{id}/access-limit"): {"dpo"},
    ("POST", "/v1/subjects/{id}/hold"): {"dpo"},
    ("DELETE", "/v1/subjects/{id}/hold"): {"dpo"},
    # A bureau's report: application review (underwriter) and servicing
    # (support, underwriter), as the purposes the service serves allow.
    ("POST", "/v1/subjects/{id}/checks/credit-report"): {"underwriter", "support"},
    # A mobile operator's and the state databases' checks (T1, T3), and the
    # findings they leave (D8): the same roles.
    ("POST", "/v1/subjects/{id}/checks/phone"): {"underwriter", "support"},
    ("POST", "/v1/subjects/{id}/checks/family-ties"): {"underwriter", "support"},
    ("POST", "/v1/subjects/{id}/checks/address"): {"underwriter", "support"},
    ("POST", "/v1/subjects/{id}/checks/legal-capacity"): {"underwriter", "support"},
    # A processor's job (T5): application review only.
    ("POST", "/v1/subjects/{id}/checks/scoring"): {"underwriter"},
    ("GET", "/v1/subjects/{id}/findings"): {"underwriter", "support"},
    ("POST", "/v1/subjects/{id}/findings/{finding_id}/resolve"): {"underwriter", "support"},
    # The consent ledger as staff see it: the DPO answers for it, support
    # uses it to answer the borrower.
    ("GET", "/v1/subjects/{id}/consents"): {"dpo", "support"},
    # The sign-in phone (U4): the two roles holding identification propose,
    # and a member of the other one approves (test_phone_change.py).
    ("POST", "/v1/subjects/{id}/phone-changes"): {"underwriter", "support"},
    ("POST", "/v1/subjects/{id}/phone-changes/{change_id}/approve"): {"underwriter", "support"},
    # Borrowers' sign-in is public; their own routes take a borrower token
    # only (staff tokens: 403), checked in test_borrowers.py.
    ("POST", "/v1/auth/otp"): PUBLIC,
    ("POST", "/v1/auth/verify"): PUBLIC,
    ("DELETE", "/v1/auth/session"): BORROWER,
    ("GET", "/v1/me"): BORROWER,
    ("POST", "/v1/me/consents/policy"): BORROWER,
    ("GET", "/v1/me/consents"): BORROWER,
    ("POST", "/v1/me/consents"): BORROWER,
    ("DELETE", "/v1/me/consents/{id}"): BORROWER,
    ("POST", "/v1/me/phone"): BORROWER,
    ("POST", "/v1/me/phone/confirm"): BORROWER,
}

SAMPLE = {"{version}": "2024-09-23", "{id}": "sbj_AAAAAAAAAAAAAAAAAAAAAA",
          "{category}": "identity", "{change_id}": "pch_AAAAAAAAAAAAAAAAAAAAAA"}


def routes_in_source():
    src = os.path.join(os.environ.get("SENIM_SOURCE_DIR",
                                      os.path.join(os.path.dirname(__file__), "..", "..")),
                       "src", "api", "routes.c")
    text = open(src, encoding="utf-8").read()
    text = re.sub(r"#ifdef SENIM_BENCH.*?#endif", "", text, flags=re.S)
    return set(re.findall(r'\{\s*"(GET|POST|PUT|DELETE|PATCH)",\s*"([^"]+)"', text))


def test_table_and_expectations_list_the_same_routes():
    assert routes_in_source() == set(EXPECTED), \
        "a route was added or removed: update EXPECTED and docs/openapi.yaml"


@pytest.fixture(scope="module")
def tokens(senim):
    return {role: senim.service_token("matrix-" + role, role) for role in ROLES}


def concrete(path):
    for k, v in SAMPLE.items():
        path = path.replace(k, v)
    return path


@pytest.mark.parametrize("method,pattern", sorted(EXPECTED))
def test_matrix(senim, tokens, method, pattern):
    allowed = EXPECTED[(method, pattern)]
    path = concrete(pattern)
    body = {} if method in ("POST", "PUT") else None
    r = senim.request(method, path, body=body)
    if allowed == PUBLIC:
        assert r.status not in (401, 403), (method, path, r)
    else:
        assert r.status == 401 and r.json["code"] == "unauthenticated", (method, path, r)
    if allowed == BORROWER:
        for role in ROLES:  # no staff role reaches a borrower's own route
            r = senim.request(method, path, body=body, token=tokens[role])
            assert r.status == 403 and r.json["code"] == "forbidden_role", (method, path, role)
        return
    for role in ROLES:
        # A fresh token for DELETE /v1/staff/sessions would be spent by it,
        # and service tokens cannot sign out; both are fine for the matrix.
        r = senim.request(method, path, body=body, token=tokens[role])
        if allowed == PUBLIC or role in allowed:
            assert r.status not in (401, 403), (method, path, role, r)
        else:
            assert r.status == 403 and r.json["code"] == "forbidden_role", (method, path, role, r)


def test_role_denials_are_audited(senim, tokens):
    r = senim.post("/v1/policies", {"version": "x", "ru": "a", "kk": "b"}, token=tokens["marketing"])
    assert r.status == 403
    rows = senim.sql("SELECT actor, object, outcome, request_id FROM audit_log"
                     " WHERE operation = 'access.denied'")
    mine = [row for row in rows if row[3] == r.header("X-Request-Id")]
    assert len(mine) == 1
    actor, obj, outcome, _ = mine[0]
    assert actor.startswith("staff:") and obj == "route:policy_publish" and outcome == "denied"
