"""The contract check itself (contract.py) catches what it is there to catch.

Every exchange of the API suite goes through contract.check(); these tests
feed it exchanges that break docs/openapi.yaml in one way each, and one that
keeps it, so that a check that could not fail would show here.  No server:
the exchanges are made up, the document is the real one.
"""
import json

import pytest

from contract import Contract, ContractError

RID = "0123456789abcdef0123456789abcdef"
COMMON = [("X-Request-Id", RID), ("Content-Language", "en"), ("Cache-Control", "no-store"),
          ("X-Content-Type-Options", "nosniff")]


@pytest.fixture(scope="module")
def c():
    return Contract()


def problem(code, status, **extra):
    p = {"type": "urn:senim:problem:" + code, "title": "t", "status": status,
         "detail": "d", "code": code, "request_id": RID}
    p.update(extra)
    return json.dumps(p).encode()


def healthz(body, headers=None):
    return ("GET", "/healthz", {}, None, 200,
            headers or COMMON + [("Content-Type", "application/json")], body)


def test_the_document_declares_no_dialect_tools_cannot_read(c):
    """jsonSchemaDialect .../oas/3.1/dialect/base made common validators skip
    every body schema; OpenAPI 3.1's default dialect is what they read."""
    assert "jsonSchemaDialect" not in c.doc


def test_a_good_answer_passes(c):
    ok = c.doc["paths"]["/healthz"]["get"]["responses"]["200"]
    assert ok  # the operation exists as the made-up answers below assume
    c.check("GET", "/nope", {}, None, 404, COMMON + [("Content-Type", "application/problem+json")],
            problem("not_found", 404))


def test_a_wrong_body_is_caught(c):
    with pytest.raises(ContractError, match="healthz"):
        c.check(*healthz(json.dumps({"status": 5, "surprise": True}).encode()))


def test_an_undocumented_status_is_caught(c):
    with pytest.raises(ContractError, match="status not documented"):
        c.check("GET", "/healthz", {}, None, 418, COMMON, b"")


def test_a_problem_code_not_listed_is_caught(c):
    with pytest.raises(ContractError, match="not listed"):
        c.check("GET", "/nope", {}, None, 404,
                COMMON + [("Content-Type", "application/problem+json")],
                problem("subject_not_found", 404))


def test_a_problem_whose_status_or_request_id_disagrees_is_caught(c):
    h = COMMON + [("Content-Type", "application/problem+json")]
    with pytest.raises(ContractError, match="problem status"):
        c.check("GET", "/nope", {}, None, 404, h, problem("not_found", 400))
    with pytest.raises(ContractError, match="request_id"):
        c.check("GET", "/nope", {}, None, 404, h,
                problem("not_found", 404, request_id="f" * 32))


def test_a_401_without_its_challenge_is_caught(c):
    h = [x for x in COMMON] + [("Content-Type", "application/problem+json")]
    with pytest.raises(ContractError, match="WWW-Authenticate"):
        c.check("GET", "/v1/me", {}, None, 401, h, problem("unauthenticated", 401))


def test_a_missing_required_header_is_caught(c):
    h = [x for x in COMMON if x[0] != "X-Request-Id"] + [("Content-Type", "application/json")]
    with pytest.raises(ContractError, match="X-Request-Id"):
        c.check(*healthz(b'{"status":"ok"}', h))


def test_a_wrong_media_type_is_caught(c):
    with pytest.raises(ContractError, match="media type"):
        c.check(*healthz(b"ok", COMMON + [("Content-Type", "text/html")]))


def test_a_request_the_document_forbids_must_not_succeed(c):
    """A body that breaks the request schema, answered 2xx, is a drift: the
    server took what the document says it refuses."""
    body = json.dumps({"phone": 7}).encode()
    with pytest.raises(ContractError, match="succeeded although"):
        c.check("POST", "/v1/auth/otp", {"Content-Type": "application/json"}, body, 202,
                COMMON, b"")
    with pytest.raises(ContractError, match="takes none"):
        c.check("DELETE", "/v1/auth/session", {"Content-Type": "application/json"}, b"{}", 204,
                COMMON, b"")


def test_every_route_of_the_router_is_in_the_document(c):
    """The static check (test_openapi.py) compares the two tables; here, the
    matcher the contract uses finds an operation for each documented path."""
    for template, item in c.doc["paths"].items():
        concrete = template.replace("{", "x").replace("}", "")
        for method in ("get", "put", "post", "delete"):
            if method in item:
                assert c.find(method, concrete)[0] is not None, (method, template)


def test_an_undocumented_member_is_caught(c):
    h = COMMON + [("Content-Type", "application/problem+json")]
    with pytest.raises(ContractError, match="surprise"):
        c.check("GET", "/nope", {}, None, 404, h, problem("not_found", 404, surprise=1))


# Objects open on purpose: a category's members are checked against the
# category's own schema (x-senim-category), and the bases below are closed
# by the schemas built on them (unevaluatedProperties).
OPEN = {"ProblemMembers", "PolicyMetaMembers", "ApplicationMembers", "RightsRequestMembers",
        "LimitedApplicationMembers"}


def test_every_answer_schema_is_closed(c):
    """An object schema that allows any other member would let an undocumented
    field through the contract check: each one says which members it has."""
    open_ = []

    def walk(s, where, in_allof=False):
        if isinstance(s, dict):
            closed = "additionalProperties" in s or "unevaluatedProperties" in s
            if (s.get("type") == "object" or "properties" in s) and not closed \
                    and not in_allof and not where.endswith("/fields"):
                open_.append(where)
            for k, v in s.items():
                walk(v, where + "/" + k, in_allof=(k == "allOf"))
        elif isinstance(s, list):
            for i, v in enumerate(s):
                walk(v, "%s/%d" % (where, i), in_allof=in_allof)

    for name, schema in c.doc["components"]["schemas"].items():
        if name not in OPEN:
            walk(schema, name)
            # a schema built of parts closes over all of them
            if "allOf" in schema and "unevaluatedProperties" not in schema:
                open_.append(name)
    assert not open_, open_
