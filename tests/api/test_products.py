"""The product catalogue (issue 12, C4): versions made by the admin, read by
the admin, the active ones shown to borrowers; each bad body a clear
problem that changes nothing."""
import os

import pytest

from senim_harness import Senim, borrower

SOURCE = os.environ.get("SENIM_SOURCE_DIR",
                        os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
RULES = os.path.join(SOURCE, "data", "loan-rules.conf")
ID = {"Senim-Purpose": "identification"}


@pytest.fixture(scope="module")
def senim():
    s = Senim(extra_args=["--loan-rules", RULES]).start()
    yield s
    assert s.stop() == 0


@pytest.fixture(scope="module")
def staff(senim):
    return {r: senim.service_token("p-" + r, r) for r in ("admin", "underwriter", "support")}


def product(**over):
    body = {"code": "quick", "name_ru": "Быстрый", "name_kk": "Жылдам",
            "amount_min_tiyn": 500000, "amount_max_tiyn": 20000000,
            "term_min_days": 7, "term_max_days": 180, "rate_bp": 4000,
            "issue_fee_tiyn": 0, "issue_fee_bp": 100,
            "schedule_methods": ["annuity", "differentiated"],
            "categories": ["identity", "contact", "professional"],
            "consents": ["credit_bureau_gkb"]}
    body.update(over)
    return body


def count(s):
    return int(s.sql("SELECT COUNT(*) FROM products")[0][0])


def test_create_versions_and_read(senim, staff):
    a = staff["admin"]
    r = senim.post("/v1/products", product(code="ver"), token=a)
    assert r.status == 201, r
    assert r.json["version"] == 1 and r.json["active"] is True
    assert r.header("Location") == "/v1/products/ver"
    assert r.json["schedule_methods"] == ["annuity", "differentiated"]
    assert r.json["categories"] == ["identity", "contact", "professional"]
    assert r.json["consents"] == ["credit_bureau_gkb"]
    assert r.json["name"] == {"ru": "Быстрый", "kk": "Жылдам"}
    # A change is a new version; the old one stays readable.
    r = senim.post("/v1/products", product(code="ver", rate_bp=3500), token=a)
    assert r.status == 201 and r.json["version"] == 2 and r.json["rate_bp"] == 3500
    r = senim.get("/v1/products/ver", token=a)
    assert r.status == 200 and r.json["version"] == 2
    r = senim.get("/v1/products/ver?version=1", token=a)
    assert r.status == 200 and r.json["version"] == 1 and r.json["rate_bp"] == 4000
    assert senim.get("/v1/products/ver?version=3", token=a).json["code"] == \
        "product_not_found"
    assert senim.get("/v1/products/ver?version=0", token=a).status == 400
    assert senim.get("/v1/products/nope", token=a).status == 404
    assert senim.get("/v1/products/BAD!", token=a).status == 404
    listed = [p for p in senim.get("/v1/products", token=a).json["products"]
              if p["code"] == "ver"]
    assert [p["version"] for p in listed] == [2]
    rows = senim.sql("SELECT outcome FROM audit_log WHERE operation = 'product.create'"
                     " AND object LIKE 'product:ver:%'")
    assert rows == [["success"], ["success"]]


def test_borrowers_see_only_active_products(senim, staff):
    a = staff["admin"]
    assert senim.post("/v1/products", product(code="shown"), token=a).status == 201
    assert senim.post("/v1/products", product(code="hidden"), token=a).status == 201
    assert senim.post("/v1/products", product(code="hidden", active=False),
                      token=a).status == 201
    b = borrower()
    assert senim.post("/v1/subjects", b, token=staff["underwriter"], headers=ID).status == 201
    token = senim.borrower_token(b["phone"])
    senim.accept_policy(token)
    r = senim.get("/v1/me/products", token=token)
    assert r.status == 200
    codes = [p["code"] for p in r.json["products"]]
    assert "shown" in codes and "hidden" not in codes
    # Admin sees the inactive current version too.
    admin_codes = {p["code"]: p["active"] for p in
                   senim.get("/v1/products", token=a).json["products"]}
    assert admin_codes["hidden"] is False


@pytest.mark.parametrize("over,field,rule", [
    ({"amount_min_tiyn": 0}, "amount_min_tiyn", "min_value"),
    ({"amount_max_tiyn": 100}, "amount_max_tiyn", "min_value"),
    ({"amount_max_tiyn": 10 ** 14}, "amount_max_tiyn", "max_value"),
    ({"term_min_days": 0}, "term_min_days", "min_value"),
    ({"term_max_days": 3}, "term_max_days", "min_value"),
    ({"term_max_days": 5000}, "term_max_days", "max_value"),
    ({"rate_bp": -1}, "rate_bp", "min_value"),
    ({"rate_bp": 200000}, "rate_bp", "max_value"),
    ({"issue_fee_bp": 10001}, "issue_fee_bp", "max_value"),
    ({"schedule_methods": []}, "schedule_methods", "enum_value"),
    ({"schedule_methods": ["balloon"]}, "schedule_methods", "enum_value"),
    ({"schedule_methods": ["annuity", "annuity"]}, "schedule_methods", "enum_value"),
    ({"categories": ["income"]}, "categories", "enum_value"),
    ({"consents": ["everything"]}, "consents", "enum_value"),
    ({"code": "Bad Code"}, "code", "format"),
    ({"rate_bp": "40"}, "rate_bp", "type_integer"),
    ({"extra": 1}, "(key 14)", "unknown_field"),
])
def test_bad_products_are_refused_and_change_nothing(senim, staff, over, field, rule):
    before = count(senim)
    body = product(**dict({"code": "bad"}, **over))
    r = senim.post("/v1/products", body, token=staff["admin"])
    assert r.status == 422, r
    assert r.json["code"] == "validation_failed"
    assert r.json["field"] == field and r.json["rule"] == rule, r.json
    assert count(senim) == before


def test_missing_field_and_malformed_body(senim, staff):
    before = count(senim)
    body = product(code="bad")
    del body["rate_bp"]
    r = senim.post("/v1/products", body, token=staff["admin"])
    assert r.status == 422 and r.json["field"] == "rate_bp" and r.json["rule"] == "required"
    r = senim.request("POST", "/v1/products", raw=b"{not json", token=staff["admin"],
                      headers={"Content-Type": "application/json"})
    assert r.status == 400 and r.json["code"] == "malformed_json"
    assert count(senim) == before


def test_only_the_admin_runs_the_catalogue(senim, staff):
    before = count(senim)
    for role in ("underwriter", "support"):
        r = senim.post("/v1/products", product(code="nope"), token=staff[role])
        assert r.status == 403, r
        assert senim.get("/v1/products", token=staff[role]).status == 403
    assert senim.post("/v1/products", product(code="nope")).status == 401
    assert count(senim) == before
