"""docs/openapi.yaml describes exactly the routes of src/http/routes.c.

No server needed: this reads the C sources and the YAML.  It fails when a
route is added to, removed from or changed in one and not the other (method,
path, operationId, roles), when a JSON body in the document drifts from the
handler's jsonin_field table, and when a problem code in the document is not
in the catalogue of src/http/problem.c with the status it is listed under.
"""
import os
import re

import pytest
import yaml

SOURCE_DIR = os.environ.get("SENIM_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
PUBLIC = ("public",)


def _read(rel):
    with open(os.path.join(SOURCE_DIR, rel), encoding="utf-8") as f:
        return f.read()


def _strip_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def _without_bench(text):
    """Split C text into (normal, bench-only) by #ifdef SENIM_BENCH blocks.

    Lines inside `#ifdef SENIM_BENCH` / `#if defined(SENIM_BENCH)` (or the
    #else of `#ifndef SENIM_BENCH`) go to the bench part; every other line,
    including other conditional blocks, stays in the normal part."""
    normal, bench = [], []
    stack = []  # per open #if: None (not about bench) or True/False (bench branch)
    for line in text.splitlines():
        s = line.strip()
        m = re.match(r"#\s*(ifdef|ifndef|if|elif|else|endif)\b(.*)", s)
        if m:
            kind, rest = m.group(1), m.group(2)
            if kind in ("ifdef", "ifndef", "if"):
                about = "SENIM_BENCH" in rest
                if not about:
                    stack.append(None)
                elif kind == "ifndef" or re.search(r"!\s*defined|!\s*SENIM_BENCH", rest):
                    stack.append(False)
                else:
                    stack.append(True)
            elif kind == "else" and stack and stack[-1] is not None:
                stack[-1] = not stack[-1]
            elif kind == "endif" and stack:
                stack.pop()
            continue
        (bench if any(b is True for b in stack) else normal).append(line)
    return "\n".join(normal), "\n".join(bench)


def _defines(text):
    """Object-like #defines of a C text: name -> replacement."""
    out = {}
    text = re.sub(r"\\\n", " ", text)  # join continued lines
    for m in re.finditer(r"^[ \t]*#[ \t]*define[ \t]+([A-Z_][A-Z0-9_]*)[ \t]+([^\n]+)$",
                         text, flags=re.M):
        out[m.group(1)] = m.group(2).strip()
    return out


def _expand(expr, defines, depth=0):
    if depth > 10:
        raise AssertionError("macro expansion too deep: %r" % expr)
    def sub(m):
        name = m.group(0)
        return "(" + _expand(defines[name], defines, depth + 1) + ")" if name in defines else name
    return re.sub(r"\b[A-Z_][A-Z0-9_]*\b", sub, expr)


def _role_names():
    """enum value name -> role name, in order, from src/core/roles.c."""
    text = _strip_comments(_read("src/core/roles.c"))
    pairs = re.findall(r"\[\s*(ROLE_[A-Z_]+)\s*\]\s*=\s*\"([a-z_]+)\"", text)
    assert pairs, "no role names found in src/core/roles.c"
    return dict(pairs)


def _route_entries(text):
    return re.findall(
        r"\{\s*\"([A-Z]+)\"\s*,\s*\"([^\"]+)\"\s*,\s*(\w+)\s*,\s*([^,{}]+?)\s*,"
        r"\s*([^,{}]+?)\s*,\s*\"(\w+)\"\s*\}", text)


def _routes():
    """The route table of src/http/routes.c as dicts, and its bench-only part."""
    raw = _read("src/http/routes.c")
    text = _strip_comments(raw)
    defines = _defines(text)
    roles = _role_names()
    all_roles = tuple(sorted(roles.values()))

    def decode(entry):
        method, path, handler, role_expr, flag_expr, name = entry
        flags = _expand(flag_expr, defines)
        role_expr = _expand(role_expr, defines)
        if "ROUTE_PUBLIC" in flags:
            who = PUBLIC
        elif "ROLE_ALL" in role_expr:
            who = all_roles
        else:
            found = re.findall(r"ROLE_BIT\s*\(\s*\(?\s*(ROLE_[A-Z_]+)", role_expr)
            unknown = [r for r in found if r not in roles]
            assert not unknown, "unknown roles %s in route %s" % (unknown, name)
            who = tuple(sorted(roles[r] for r in found))
            assert who, "route %s names no roles and is not public" % name
        return {"method": method, "path": path, "handler": handler, "name": name,
                "roles": who, "json": "ROUTE_JSON_BODY" in flags}

    table = re.search(r"struct\s+route\s+table\s*\[\s*\]\s*=\s*\{(.*?)\n\};", text, flags=re.S)
    assert table, "route table not found in src/http/routes.c"
    normal, bench = _without_bench(table.group(1))
    routes = [decode(e) for e in _route_entries(normal)]
    bench_routes = [decode(e) for e in _route_entries(bench)]
    # Every entry-like line was parsed: a format change must not silently hide routes.
    n_lines = len(re.findall(r"\{\s*\"[A-Z]+\"\s*,", table.group(1)))
    assert len(routes) + len(bench_routes) == n_lines, \
        "parsed %d of %d route entries in routes.c" % (len(routes) + len(bench_routes), n_lines)
    assert routes, "no routes parsed from src/http/routes.c"
    return routes, bench_routes


@pytest.fixture(scope="module")
def doc():
    with open(os.path.join(SOURCE_DIR, "docs", "openapi.yaml"), encoding="utf-8") as f:
        d = yaml.safe_load(f)
    assert isinstance(d, dict) and str(d.get("openapi", "")).startswith("3.1"), \
        "docs/openapi.yaml is not an OpenAPI 3.1 document"
    return d


@pytest.fixture(scope="module")
def routes():
    return _routes()[0]


def _operations(doc):
    for path, item in (doc.get("paths") or {}).items():
        for method, op in item.items():
            if method in HTTP_METHODS:
                yield path, method.upper(), op


def _resolve(doc, obj):
    while isinstance(obj, dict) and "$ref" in obj:
        ref = obj["$ref"]
        assert ref.startswith("#/"), "only local $refs are expected: %s" % ref
        node = doc
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        obj = node
    return obj


def _key(method, path, name, roles):
    return (method, path, name, tuple(sorted(roles)))


def test_routes_and_openapi_describe_the_same_operations(doc, routes):
    in_code = {_key(r["method"], r["path"], r["name"], r["roles"]) for r in routes}
    in_doc = set()
    for path, method, op in _operations(doc):
        roles = op.get("x-senim-roles")
        assert isinstance(roles, list) and roles, \
            "%s %s has no x-senim-roles list" % (method, path)
        in_doc.add(_key(method, path, op.get("operationId"), roles))
    missing = sorted(in_code - in_doc)
    extra = sorted(in_doc - in_code)
    assert not missing and not extra, (
        "routes.c and docs/openapi.yaml disagree\n"
        "  in routes.c, not in openapi.yaml: %s\n"
        "  in openapi.yaml, not in routes.c: %s" % (missing, extra))


def test_operation_ids_are_unique(doc, routes):
    ids = [op.get("operationId") for _, _, op in _operations(doc)]
    assert len(ids) == len(set(ids)), "duplicate operationId in openapi.yaml"
    names = [r["name"] for r in routes]
    assert len(names) == len(set(names)), "duplicate route name in routes.c"


def test_bench_only_routes_are_noted_not_described(doc):
    _, bench = _routes()
    noted = {(b["method"], b["path"], b["operationId"])
             for b in doc["info"].get("x-senim-bench-only", [])}
    assert noted == {(r["method"], r["path"], r["name"]) for r in bench}
    described = {(m, p) for p, m, _ in _operations(doc)}
    for r in bench:
        assert (r["method"], r["path"]) not in described
        assert r["path"] in doc["info"]["description"]


def test_security_follows_roles(doc):
    schemes = doc["components"]["securitySchemes"]
    assert schemes["bearerAuth"]["type"] == "http"
    assert schemes["bearerAuth"]["scheme"] == "bearer"
    for path, method, op in _operations(doc):
        responses = op["responses"]
        if op["x-senim-roles"] == ["public"]:
            assert op.get("security") == [], "%s %s is public: security: []" % (method, path)
        else:
            assert op.get("security") == [{"bearerAuth": []}], "%s %s needs bearerAuth" % (method, path)
            assert "401" in responses, "%s %s must document 401" % (method, path)


def test_json_bodies_match_the_route_flags(doc, routes):
    ops = {(m, p): op for p, m, op in _operations(doc)}
    for r in routes:
        op = ops.get((r["method"], r["path"]))
        if op is None:
            continue  # reported by the set comparison
        body = op.get("requestBody")
        if r["json"]:
            assert body and "application/json" in _resolve(doc, body)["content"], \
                "%s %s takes a JSON body (ROUTE_JSON_BODY)" % (r["method"], r["path"])
            for status in ("400", "415", "422"):
                assert status in op["responses"], "%s %s must document %s" % (r["method"], r["path"], status)
        else:
            assert body is None, "%s %s takes no body" % (r["method"], r["path"])


def test_every_operation_has_lang_and_request_id(doc):
    for path, method, op in _operations(doc):
        params = [_resolve(doc, p) for p in op.get("parameters", [])]
        where = {(p["in"], p["name"]) for p in params}
        assert ("query", "lang") in where, "%s %s lacks ?lang=" % (method, path)
        assert ("header", "Accept-Language") in where, "%s %s lacks Accept-Language" % (method, path)
        lang = next(p for p in params if p["name"] == "lang")
        assert set(lang["schema"]["enum"]) == {"ru", "kk", "en"}
        for status, resp in op["responses"].items():
            resp = _resolve(doc, resp)
            assert "X-Request-Id" in (resp.get("headers") or {}), \
                "%s %s %s lacks the X-Request-Id header" % (method, path, status)
        assert "413" in op["responses"], "%s %s: any route can answer 413" % (method, path)
        assert "500" in op["responses"], "%s %s: any route can answer 500" % (method, path)


# ---- problem codes -----------------------------------------------------------

def _catalogue():
    text = _strip_comments(_read("src/http/problem.c"))
    body = re.search(r"problem_def\s+catalogue\s*\[\s*\]\s*=\s*\{(.*?)\n\};", text, flags=re.S)
    assert body, "problem catalogue not found in src/http/problem.c"
    codes = dict((c, int(s)) for c, s in
                 re.findall(r"\{\s*\"([a-z_]+)\"\s*,\s*(\d{3})\s*,", body.group(1)))
    assert codes, "no problem codes parsed from src/http/problem.c"
    rules_h = _read("src/http/problem.h")
    rules = re.findall(r"X\((\w+)\)", rules_h)
    return codes, rules


def test_problem_schema_matches_catalogue(doc):
    codes, rules = _catalogue()
    problem = doc["components"]["schemas"]["Problem"]
    assert set(problem["properties"]["code"]["enum"]) == set(codes), \
        "Problem.code enum differs from the catalogue in problem.c"
    assert set(problem["properties"]["rule"]["enum"]) == set(rules), \
        "Problem.rule enum differs from PROBLEM_RULES in problem.h"
    for member in ("type", "title", "status", "detail", "code", "field", "rule", "request_id"):
        assert member in problem["properties"]


def test_problem_codes_are_listed_under_their_status(doc):
    codes, _ = _catalogue()
    for path, method, op in _operations(doc):
        for status, resp in op["responses"].items():
            resp = _resolve(doc, resp)
            listed = resp.get("x-senim-problem-codes")
            if int(status) < 400:
                assert not listed
                continue
            assert listed, "%s %s %s: list its codes in x-senim-problem-codes" % (method, path, status)
            assert "application/problem+json" in resp.get("content", {}), \
                "%s %s %s is a problem+json answer" % (method, path, status)
            for code in listed:
                assert code in codes, "%s %s: code %r is not in problem.c" % (method, path, code)
                assert str(codes[code]) == str(status), \
                    "%s %s: %r is %d in problem.c, listed under %s" % (method, path, code, codes[code], status)


# ---- request bodies against the handlers' jsonin_field tables ----------------

def _all_defines():
    out = {}
    for d in ("src/staff", "src/policy", "src/http", "src/api", "src/core", "src/common"):
        full = os.path.join(SOURCE_DIR, d)
        for name in sorted(os.listdir(full)):
            if name.endswith((".h", ".c")):
                out.update(_defines(_strip_comments(_read(os.path.join(d, name)))))
    return out


def _eval_int(expr, defines):
    e = _expand(expr, defines)
    e = re.sub(r"\(\s*(?:size_t|unsigned|int|long)\s*\)", "", e)
    e = re.sub(r"(?<=\d)[uUlL]+\b", "", e)
    assert re.fullmatch(r"[\d\s()+*\-/<]+", e), "cannot evaluate %r (%r)" % (expr, e)
    return int(eval(e.replace("/", "//"), {"__builtins__": {}}))  # digits and operators only


def _jsonin_tables(text, defines):
    tables = {}
    for m in re.finditer(r"struct\s+jsonin_field\s+(\w+)\s*\[\s*\]\s*=\s*\{(.*?)\n\};", text, flags=re.S):
        fields = []
        for f in re.findall(r"\{([^{}]*)\}", m.group(2)):
            attrs = dict((k, v.strip()) for k, v in re.findall(r"\.(\w+)\s*=\s*([^,]+)", f))
            assert "name" in attrs, "unnamed field in %s" % m.group(1)
            fields.append({
                "name": attrs["name"].strip('"'),
                "type": attrs.get("type", "JSONIN_STRING"),
                "required": attrs.get("required", "0") not in ("0", ""),
                "min_len": _eval_int(attrs.get("min_len", "0"), defines),
                "max_len": _eval_int(attrs.get("max_len", "0"), defines),
                "multiline": attrs.get("multiline", "0") not in ("0", ""),
            })
        tables[m.group(1)] = fields
    return tables


def _handler_tables():
    """handler function name -> its jsonin_field table (list of field dicts)."""
    defines = _all_defines()
    out = {}
    api = os.path.join(SOURCE_DIR, "src", "api")
    for name in sorted(os.listdir(api)):
        if not name.endswith(".c"):
            continue
        text = _strip_comments(_read(os.path.join("src", "api", name)))
        tables = _jsonin_tables(text, defines)
        for fn in re.finditer(r"^int\s+(api_\w+)\s*\([^)]*\)\s*\{(.*?)^\}", text, flags=re.S | re.M):
            call = re.search(r"http_json_body_or_reply\s*\(\s*\w+\s*,\s*\w+\s*,\s*(\w+)", fn.group(2))
            if call:
                assert call.group(1) in tables, "%s uses unknown table %s" % (fn.group(1), call.group(1))
                out[fn.group(1)] = tables[call.group(1)]
    return out


JSON_TYPES = {"JSONIN_STRING": "string", "JSONIN_INTEGER": "integer", "JSONIN_BOOLEAN": "boolean",
              "JSONIN_OBJECT": "object", "JSONIN_ARRAY": "array"}


def _schema_types(schema):
    t = schema.get("type")
    return set(t) if isinstance(t, list) else {t}


def test_request_bodies_match_jsonin_tables(doc, routes):
    tables = _handler_tables()
    ops = {(m, p): op for p, m, op in _operations(doc)}
    for r in routes:
        if not r["json"]:
            continue
        assert r["handler"] in tables, "%s: no jsonin table found for %s" % (r["name"], r["handler"])
        op = ops.get((r["method"], r["path"]))
        if op is None:
            continue  # reported by the set comparison
        schema = _resolve(doc, _resolve(doc, op["requestBody"])["content"]["application/json"]["schema"])
        where = "%s (%s)" % (r["name"], r["handler"])
        fields = tables[r["handler"]]
        assert schema.get("type") == "object", where
        assert schema.get("additionalProperties") is False, "%s: additionalProperties: false" % where
        props = schema.get("properties", {})
        assert set(props) == {f["name"] for f in fields}, "%s: properties differ from the jsonin table" % where
        assert set(schema.get("required", [])) == {f["name"] for f in fields if f["required"]}, \
            "%s: required differs from the jsonin table" % where
        for f in fields:
            p = props[f["name"]]
            types = _schema_types(p)
            assert JSON_TYPES[f["type"]] in types, "%s.%s: type" % (where, f["name"])
            # jsonin treats null as absent: allowed for optional fields only.
            if f["required"]:
                assert "null" not in types, "%s.%s: a required field cannot be null" % (where, f["name"])
            if f["type"] == "JSONIN_STRING":
                assert p.get("minLength", 0) == f["min_len"], "%s.%s: minLength" % (where, f["name"])
                if f["max_len"]:
                    assert p.get("maxLength") == f["max_len"], "%s.%s: maxLength" % (where, f["name"])
                    if f["multiline"]:
                        assert p.get("x-senim-max-bytes") == f["max_len"], \
                            "%s.%s: multi-line limits are bytes (x-senim-max-bytes)" % (where, f["name"])
                else:
                    assert "maxLength" not in p, "%s.%s: no maxLength in the table" % (where, f["name"])
