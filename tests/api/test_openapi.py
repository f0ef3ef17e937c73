"""docs/openapi.yaml describes exactly the routes of src/api/routes.c.

No server needed: this reads the C sources and the YAML.  It fails when a
route is added to, removed from or changed in one and not the other (method,
path, operationId, roles: ["public"] for ROUTE_PUBLIC, ["borrower"] for
ROUTE_BORROWER, else the staff roles of the mask), when the security scheme,
the 401/403 answers or the 428 policy gate (ROUTE_POLICY_FREE) do not follow
the route's flags, when a JSON body in the document drifts from the
handler's jsonin_field table (found through the handler or the static helpers
it calls), when a problem code in the document is not in the catalogue of
src/http/problem.c with the status it is listed under, when a handler names a
code the catalogue lacks or the document leaves out, when a problem's
extension members (json_pack) or headers (Retry-After, WWW-Authenticate) are
not documented where its code is listed, when the request headers a handler
reads differ from its documented header parameters, when the purpose header,
path parameters or record sources drift from the C enums, when a category's
field schema drifts from src/core/categories.c, and when the consent kinds,
the consent record or the receipt drift from src/core/consents.c,
src/consent/ledger.c and src/consent/receipt.c.
"""
import os
import re

import pytest
import yaml

SOURCE_DIR = os.environ.get("SENIM_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
PUBLIC = ("public",)
BORROWER = ("borrower",)


def _read(rel):
    with open(os.path.join(SOURCE_DIR, rel), encoding="utf-8") as f:
        return f.read()


def _strip_comments(text):
    """C text without comments; string and character literals are kept
    whole (a "//" inside one is no comment)."""
    def repl(m):
        return " " if m.group(0).startswith("/") else m.group(0)
    return re.sub(r'"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|/\*.*?\*/|//[^\n]*',
                  repl, text, flags=re.S)


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
    """The route table of src/api/routes.c as dicts, and its bench-only part."""
    raw = _read("src/api/routes.c")
    text = _strip_comments(raw)
    defines = _defines(text)
    roles = _role_names()
    all_roles = tuple(sorted(roles.values()))

    assert not set(PUBLIC + BORROWER) & set(roles.values()), \
        "a staff role is named like the pseudo-roles public/borrower"
    flag_names = set(re.findall(r"\b(ROUTE_[A-Z_]+)\s*=",
                                _strip_comments(_read("src/http/router.h"))))
    known_flags = {"ROUTE_PUBLIC", "ROUTE_JSON_BODY", "ROUTE_BORROWER", "ROUTE_POLICY_FREE"}
    assert flag_names == known_flags, \
        "route flags in router.h changed (%s): teach test_openapi.py" % sorted(flag_names ^ known_flags)

    def decode(entry):
        method, path, handler, role_expr, flag_expr, name = entry
        flags = _expand(flag_expr, defines)
        role_expr = _expand(role_expr, defines)
        unknown = set(re.findall(r"\bROUTE_[A-Z_]+\b", flags)) - known_flags
        assert not unknown, "route %s: unknown flags %s" % (name, sorted(unknown))
        borrower = "ROUTE_BORROWER" in flags
        policy_free = "ROUTE_POLICY_FREE" in flags
        assert not (policy_free and not borrower), \
            "route %s: ROUTE_POLICY_FREE only means something on a borrower route" % name
        if "ROUTE_PUBLIC" in flags:
            assert not borrower, "route %s is both public and a borrower route" % name
            who = PUBLIC
        elif borrower:
            # The server ignores the role mask of a borrower route: a staff
            # mask there would be a lie in the access-control list.
            assert re.fullmatch(r"[\s()]*0[\s()]*", role_expr), \
                "borrower route %s names staff roles (%s)" % (name, role_expr)
            who = BORROWER
        elif "ROLE_ALL" in role_expr:
            # ROLE_ALL & ~ROLE_BIT(X): every role but X
            but = {roles[r] for r in re.findall(r"~\s*ROLE_BIT\s*\(\s*(ROLE_[A-Z_]+)", role_expr)}
            who = tuple(r for r in all_roles if r not in but)
        else:
            found = re.findall(r"ROLE_BIT\s*\(\s*\(?\s*(ROLE_[A-Z_]+)", role_expr)
            unknown = [r for r in found if r not in roles]
            assert not unknown, "unknown roles %s in route %s" % (unknown, name)
            who = tuple(sorted(roles[r] for r in found))
            assert who, "route %s names no roles and is not public" % name
        return {"method": method, "path": path, "handler": handler, "name": name,
                "roles": who, "json": "ROUTE_JSON_BODY" in flags,
                "borrower": borrower, "policy_free": policy_free}

    table = re.search(r"struct\s+route\s+table\s*\[\s*\]\s*=\s*\{(.*?)\n\};", text, flags=re.S)
    assert table, "route table not found in src/api/routes.c"
    normal, bench = _without_bench(table.group(1))
    routes = [decode(e) for e in _route_entries(normal)]
    bench_routes = [decode(e) for e in _route_entries(bench)]
    # Every entry-like line was parsed: a format change must not silently hide routes.
    n_lines = len(re.findall(r"\{\s*\"[A-Z]+\"\s*,", table.group(1)))
    assert len(routes) + len(bench_routes) == n_lines, \
        "parsed %d of %d route entries in routes.c" % (len(routes) + len(bench_routes), n_lines)
    assert routes, "no routes parsed from src/api/routes.c"
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


def _token_prefix(rel, pattern):
    m = re.search(pattern, _strip_comments(_read(rel)))
    assert m, "token prefix not found in %s" % rel
    return m.group(1)


def _codes_of(doc, response):
    return set(_resolve(doc, response).get("x-senim-problem-codes") or [])


def test_security_follows_roles(doc):
    """Staff routes take a staff token (bearerAuth), borrower routes a
    borrower token (borrowerBearer), public routes none.  A token of the
    other kind is known but refused: 403 forbidden_role on every route that
    takes a token, even one all staff roles may call."""
    schemes = doc["components"]["securitySchemes"]
    prefixes = {
        "bearerAuth": _token_prefix("src/staff/staff.c", r'#\s*define\s+TOKEN_PREFIX\s+"(\w+)"'),
        "borrowerBearer": _token_prefix("src/borrower/auth.c",
                                        r'strncmp\s*\(\s*token\s*,\s*"(\w+)"'),
    }
    for name, prefix in prefixes.items():
        assert schemes[name]["type"] == "http", name
        assert schemes[name]["scheme"] == "bearer", name
        assert schemes[name].get("bearerFormat", "").startswith(prefix), \
            "%s: bearerFormat must name the token prefix %s" % (name, prefix)
    for path, method, op in _operations(doc):
        responses = op["responses"]
        roles = op["x-senim-roles"]
        where = "%s %s" % (method, path)
        if roles == list(PUBLIC):
            assert op.get("security") == [], "%s is public: security: []" % where
            continue
        assert not set(roles) & set(PUBLIC + BORROWER) or roles == list(BORROWER), \
            "%s: public and borrower are roles of their own, never mixed with staff roles" % where
        scheme = "borrowerBearer" if roles == list(BORROWER) else "bearerAuth"
        assert op.get("security") == [{scheme: []}], "%s needs %s" % (where, scheme)
        assert "401" in responses and "unauthenticated" in _codes_of(doc, responses["401"]), \
            "%s must document 401 unauthenticated" % where
        assert "403" in responses and "forbidden_role" in _codes_of(doc, responses["403"]), \
            "%s must document 403 forbidden_role (a token of the other kind)" % where


def test_policy_gate_follows_the_flags(doc, routes):
    """Every borrower route but the ROUTE_POLICY_FREE ones answers 428
    policy_acceptance_required until the policy in force is accepted
    (server.c); the document says which routes are open before that."""
    ops = {(m, p): op for p, m, op in _operations(doc)}
    for r in routes:
        op = ops.get((r["method"], r["path"]))
        if op is None:
            continue
        where = r["name"]
        gated = r["borrower"] and not r["policy_free"]
        if r["borrower"]:
            assert op.get("x-senim-policy-free", False) is r["policy_free"], \
                "%s: x-senim-policy-free must be %s (ROUTE_POLICY_FREE)" % (where, r["policy_free"])
        else:
            assert "x-senim-policy-free" not in op, "%s is no borrower route" % where
        if gated:
            assert "428" in op["responses"] and \
                "policy_acceptance_required" in _codes_of(doc, op["responses"]["428"]), \
                "%s: document 428 policy_acceptance_required" % where
        else:
            assert "428" not in op["responses"], "%s is not behind the policy gate" % where


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
        # the schema says what lang_parse() takes: ours in any case, with
        # subtags, and nothing else
        rx = re.compile(lang["schema"]["pattern"])
        for good in ("ru", "kk", "en", "KK", "Ru", "kk-KZ", "en_GB", "en-GB-x1"):
            assert rx.search(good) and len(good) <= lang["schema"]["maxLength"], good
        for bad in ("de", "kaz", "*", "kk-", "kk--KZ", "kk-!!", "kk KZ", "kk-abcdefghi"):
            assert not rx.search(bad), bad
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
    problem = doc["components"]["schemas"]["ProblemMembers"]
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


# ---- C text: functions, calls, string arrays ---------------------------------

_STRING = r'"((?:[^"\\\n]|\\.)*)"'


def _skip_string(text, j):
    """Index just past the string or character literal starting at text[j]."""
    q = text[j]
    j += 1
    while j < len(text) and text[j] != q:
        j += 2 if text[j] == "\\" else 1
    return j + 1


def _matching(text, i):
    """Index just past the bracket that closes the one at text[i]."""
    pairs = {"(": ")", "{": "}", "[": "]"}
    open_ch, close_ch = text[i], pairs[text[i]]
    depth, j = 0, i
    while j < len(text):
        c = text[j]
        if c in "\"'":
            j = _skip_string(text, j)
            continue
        if c == open_ch:
            depth += 1
        elif c == close_ch:
            depth -= 1
            if depth == 0:
                return j + 1
        j += 1
    raise AssertionError("unbalanced %r in C text" % open_ch)


def _split_top(text):
    """Split C text at the commas outside brackets and literals."""
    parts, depth, start, j = [], 0, 0, 0
    while j < len(text):
        c = text[j]
        if c in "\"'":
            j = _skip_string(text, j)
            continue
        if c in "({[":
            depth += 1
        elif c in ")}]":
            depth -= 1
        elif c == "," and depth == 0:
            parts.append(text[start:j].strip())
            start = j + 1
        j += 1
    last = text[start:].strip()
    if last:
        parts.append(last)
    return parts


def _c_string(item):
    """The value of one C string expression (adjacent literals joined), or None."""
    found = re.findall(_STRING, item)
    if not found:
        return None
    return "".join(found).encode("utf-8").decode("unicode_escape").encode("latin-1").decode("utf-8")


_FUNCTION = re.compile(r"^[A-Za-z_][\w \t*]*?\b(\w+)\s*\(([^;{}]*?)\)\s*\{", re.M)


def _functions(text):
    """Function name -> body ({...}) of every definition in a C text (comments stripped)."""
    out = {}
    for m in _FUNCTION.finditer(text):
        start = m.end() - 1
        out[m.group(1)] = text[start:_matching(text, start)]
    return out


def _calls(body):
    return set(re.findall(r"\b(\w+)\s*\(", body))


def _reach(funcs, name):
    """name and every function of the same file it calls, directly or not, or
    hands on to be called (a continuation given to http_write_then)."""
    seen, pending = set(), [name]
    while pending:
        f = pending.pop()
        if f in seen or f not in funcs:
            continue
        seen.add(f)
        named = set(re.findall(r"\b(\w+)\b", funcs[f]))
        pending.extend(c for c in named if c in funcs)
    return seen


def _string_arrays(text):
    """`const char *const NAME[] = {"a", "b", NULL}` arrays of a C text: name -> values."""
    out = {}
    for m in re.finditer(r"\bchar\s*\*\s*const\s+(\w+)\s*\[[^\]]*\]\s*=\s*\{(.*?)\}\s*;",
                         text, flags=re.S):
        out[m.group(1)] = re.findall(_STRING, m.group(2))
    return out


# ---- request bodies against the handlers' jsonin_field tables ----------------

def _all_defines():
    out = {}
    for d in ("src/staff", "src/policy", "src/http", "src/api", "src/core", "src/common",
              "src/subjects", "src/vault", "src/lending"):
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
                "allowed": attrs.get("allowed") if attrs.get("allowed") not in (None, "NULL") else None,
            })
        tables[m.group(1)] = fields
    return tables


def _api_sources():
    """handler name -> the parsed file that defines it (src/api/*.c)."""
    defines = _all_defines()
    out = {}
    api = os.path.join(SOURCE_DIR, "src", "api")
    for name in sorted(os.listdir(api)):
        if not name.endswith(".c"):
            continue
        rel = os.path.join("src", "api", name)
        text = _strip_comments(_read(rel))
        src = {"file": rel, "funcs": _functions(text), "tables": _jsonin_tables(text, defines),
               "arrays": _string_arrays(text)}
        for fn in src["funcs"]:
            if fn.startswith("api_"):
                out[fn] = src
    return out


def _direct_tables(body):
    # NULL: the JSON alone is checked there; the handler's own parser checks
    # the schema (OWN_PARSERS).
    return set(re.findall(r"\bhttp_json_body_or_reply\s*\(\s*\w+\s*,\s*\w+\s*,\s*(\w+)",
                          body)) - {"NULL"}


def _handler_tables(sources=None):
    """handler -> (tables it reads a body with, itself or through the static
    helpers it calls; tables it names in its own body)."""
    sources = sources or _api_sources()
    out = {}
    for fn, src in sources.items():
        reached = set()
        for f in _reach(src["funcs"], fn):
            reached |= _direct_tables(src["funcs"][f])
        unknown = reached - set(src["tables"])
        assert not unknown, "%s (%s) uses unknown jsonin tables %s" % (fn, src["file"], sorted(unknown))
        out[fn] = (reached, _direct_tables(src["funcs"][fn]))
    return out


JSON_TYPES = {"JSONIN_STRING": "string", "JSONIN_INTEGER": "integer", "JSONIN_BOOLEAN": "boolean",
              "JSONIN_OBJECT": "object", "JSONIN_ARRAY": "array"}


def _schema_types(schema):
    t = schema.get("type")
    return set(t) if isinstance(t, list) else {t}


def test_every_route_has_a_handler(routes):
    sources = _api_sources()
    for r in routes:
        assert r["handler"] in sources, "%s: %s is not defined in src/api" % (r["name"], r["handler"])


def test_routes_without_a_body_read_none(routes):
    tables = _handler_tables()
    for r in routes:
        if r["json"] or r["handler"] not in tables:
            continue
        direct = tables[r["handler"]][1]
        assert not direct, "%s reads a JSON body (%s) but is not ROUTE_JSON_BODY in routes.c" % (
            r["name"], sorted(direct))


# JSON routes whose body a parser of its own checks (fuzzed), not a jsonin
# table: handler -> the parser.
OWN_PARSERS = {"api_loan_payment": "payment_notice_parse (src/connectors/payment.c)"}


def test_request_bodies_match_jsonin_tables(doc, routes):
    sources = _api_sources()
    tables = _handler_tables(sources)
    ops = {(m, p): op for p, m, op in _operations(doc)}
    for r in routes:
        if not r["json"] or r["handler"] in OWN_PARSERS:
            continue
        reached = tables.get(r["handler"], (set(), set()))[0]
        assert reached, "%s: no jsonin table found for %s (in it or the static helpers it calls)" % (
            r["name"], r["handler"])
        assert len(reached) == 1, "%s: %s reaches several jsonin tables %s" % (
            r["name"], r["handler"], sorted(reached))
        op = ops.get((r["method"], r["path"]))
        if op is None:
            continue  # reported by the set comparison
        src = sources[r["handler"]]
        table = next(iter(reached))
        schema = _resolve(doc, _resolve(doc, op["requestBody"])["content"]["application/json"]["schema"])
        where = "%s (%s, %s)" % (r["name"], r["handler"], table)
        fields = src["tables"][table]
        assert schema.get("type") == "object", where
        assert schema.get("additionalProperties") is False, "%s: additionalProperties: false" % where
        props = schema.get("properties", {})
        assert set(props) == {f["name"] for f in fields}, "%s: properties differ from the jsonin table" % where
        assert set(schema.get("required", [])) == {f["name"] for f in fields if f["required"]}, \
            "%s: required differs from the jsonin table" % where
        for f in fields:
            p = _resolve(doc, props[f["name"]])
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
            if f["allowed"]:
                values = src["arrays"].get(f["allowed"])
                assert values is not None, "%s.%s: list %s not found" % (where, f["name"], f["allowed"])
                assert set(p.get("enum", [])) - {None} == set(values), \
                    "%s.%s: enum differs from %s" % (where, f["name"], f["allowed"])


# ---- problem codes the handlers answer ---------------------------------------

def _code_literals(fragment):
    return set(re.findall(r'"([a-z][a-z0-9_]*)"', fragment))


def _returned_codes(funcs, name, where):
    assert name in funcs, "%s not found in %s" % (name, where)
    return _code_literals(" ".join(re.findall(r"\breturn\s+([^;]*);", funcs[name])))


def _codes_named(body, named_by_call):
    """Problem codes a function body names: the code argument of
    http_reply_code(), `code = ...` in a struct problem, and the codes of the
    code-returning functions it calls (named_by_call: function -> codes)."""
    found = set()
    for m in re.finditer(r"\bhttp_reply_code\s*\(", body):
        args = _split_top(body[m.end():_matching(body, m.end() - 1) - 1])
        found |= _code_literals(",".join(args[2:]))
    for m in re.finditer(r"\bcode\s*=(?!=)", body):
        expr = _split_top(body[m.end():].split(";", 1)[0].split("}", 1)[0])
        found |= _code_literals(expr[0] if expr else "")
    for fn, codes in named_by_call.items():
        if re.search(r"\b%s\s*\(" % fn, body):
            found |= codes
    return found


def _code_model():
    """What the code can answer: codes per handler (directly, and through the
    static helpers it calls) and the codes the server and reply layer answer
    on any route."""
    problem_funcs = _functions(_strip_comments(_read("src/http/problem.c")))
    result_codes = _returned_codes(problem_funcs, "problem_code_for_result", "src/http/problem.c")
    access_text = _strip_comments(_read("src/core/access.c"))
    access_funcs = _functions(access_text)
    access_codes = _returned_codes(access_funcs, "access_result_code", "src/core/access.c")
    # The result that is no refusal has a name too, never answered as a problem.
    access_codes -= set(re.findall(r"case\s+ACCESS_GRANTED\s*:\s*return\s+\"(\w+)\"",
                                   access_funcs["access_result_code"]))
    # api_reply_refusal() answers any refusal with access_result_code()'s code.
    by_call = {"problem_code_for_result": result_codes, "access_result_code": access_codes,
               "api_reply_refusal": access_codes}
    generic = set(result_codes)
    for rel in ("src/http/server.c", "src/http/reply.c"):
        for body in _functions(_strip_comments(_read(rel))).values():
            generic |= _codes_named(body, by_call)
    direct, reach = {}, {}
    # A handler that hands a refusal to api_reply_refusal() answers the codes
    # its operation can refuse with, not all of them: those count as reached.
    by_call_direct = {k: v for k, v in by_call.items() if k != "api_reply_refusal"}
    for fn, src in _api_sources().items():
        direct[fn] = _codes_named(src["funcs"][fn], by_call_direct)
        reach[fn] = set()
        for f in _reach(src["funcs"], fn):
            reach[fn] |= _codes_named(src["funcs"][f], by_call)
    return {"generic": generic, "direct": direct, "reach": reach}


def _listed_codes(doc, op):
    out = set()
    for resp in op["responses"].values():
        out |= set(_resolve(doc, resp).get("x-senim-problem-codes") or [])
    return out


def test_code_answers_only_catalogue_codes():
    codes, _ = _catalogue()
    model = _code_model()
    unknown = model["generic"] - set(codes)
    assert not unknown, "the server answers codes problem.c lacks: %s" % sorted(unknown)
    for fn, named in sorted(model["reach"].items()):
        unknown = named - set(codes)
        assert not unknown, "%s can answer codes problem.c lacks (they would be 500): %s" % (
            fn, sorted(unknown))


def test_documented_codes_are_the_handlers(doc, routes):
    model = _code_model()
    ops = {(m, p): op for p, m, op in _operations(doc)}
    all_listed, all_reached = set(), set()
    for r in routes:
        op = ops.get((r["method"], r["path"]))
        if op is None or r["handler"] not in model["reach"]:
            continue  # reported elsewhere
        listed = _listed_codes(doc, op)
        reach = model["reach"][r["handler"]]
        extra = listed - reach - model["generic"]
        assert not extra, "%s lists %s, which neither %s nor the server answers" % (
            r["name"], sorted(extra), r["handler"])
        missing = model["direct"][r["handler"]] - listed
        assert not missing, "%s answers %s; openapi.yaml does not list them for %s" % (
            r["handler"], sorted(missing), r["name"])
        all_listed |= listed
        all_reached |= reach
    missing = all_reached - all_listed
    assert not missing, "handlers can answer %s, listed under no operation" % sorted(missing)


# ---- what a problem carries besides the code: members and headers --------------

_PACK_TYPES = {"s": "string", "b": "boolean", "i": "integer", "I": "integer",
               "f": "number", "F": "number", "o": None, "O": None, "n": "null"}


def _pack_tree(fmt, args, where):
    """The JSON shape a jansson json_pack() format builds: {"type", "nullable",
    "members"} (members for objects), keys taken from the literal arguments."""
    toks = re.findall(r"[{}\[\]]|[sbiIfFoOn][?*#%+]*|\S", re.sub(r"[\s:,]", "", fmt))
    pos, arg = 0, 0

    def value():
        nonlocal pos, arg
        t = toks[pos]
        pos += 1
        if t == "{":
            members = {}
            while toks[pos] != "}":
                assert toks[pos] == "s", "%s: a non-literal key in %r" % (where, fmt)
                pos += 1
                key = _c_string(args[arg])
                assert key is not None, "%s: key %r is not a literal" % (where, args[arg])
                arg += 1
                members[key] = value()
            pos += 1
            return {"type": "object", "nullable": False, "members": members}
        if t == "[":
            while toks[pos] != "]":
                value()
            pos += 1
            return {"type": "array", "nullable": False}
        assert t[0] in _PACK_TYPES and "+" not in t, \
            "%s: json_pack format %r: teach test_openapi.py" % (where, fmt)
        arg += 0 if t[0] == "n" else (2 if ("#" in t or "%" in t) else 1)
        return {"type": _PACK_TYPES[t[0]], "nullable": "?" in t or "*" in t}

    tree = value()
    assert pos == len(toks) and arg == len(args), "%s: cannot read json_pack(%r)" % (where, fmt)
    return tree


def _access_codes():
    body = _functions(_strip_comments(_read("src/core/access.c")))["access_result_code"]
    return dict(re.findall(r"case\s+(ACCESS_\w+)\s*:\s*return\s+\"(\w+)\"", body))


def _problem_extras(body, where):
    """(code, json_pack tree) for each problem a function body gives extension
    members: `.extra = json_pack(...)` in the initializer of a struct problem
    with a literal code, or `p.extra = json_pack(...)` guarded by
    `denied == ACCESS_X` for a code from access_result_code()."""
    out = []
    for m in re.finditer(r"\bextra\s*=\s*json_pack\s*\(", body):
        args = _split_top(body[m.end():_matching(body, m.end() - 1) - 1])
        fmt = _c_string(args[0])
        assert fmt is not None, "%s: json_pack format is not a literal" % where
        tree = _pack_tree(fmt, args[1:], where)
        before = body[:m.start()]
        codes = list(re.finditer(r"\.code\s*=\s*", before))
        assert codes, "%s: extension members for which code? teach test_openapi.py" % where
        expr = _split_top(body[codes[-1].end():].split(";", 1)[0].split("}", 1)[0])[0]
        code = _c_string(expr)
        if code is None and expr.startswith("access_result_code"):
            guard = re.findall(r"==\s*(ACCESS_\w+)", body[codes[-1].end():m.start()])
            assert len(guard) == 1, "%s: extension members for which access result?" % where
            code = _access_codes()[guard[0]]
        assert code, "%s: extension members for code %r: teach test_openapi.py" % (where, expr)
        out.append((code, tree))
    return out


def _problem_headers(body):
    """(code, header) for each http_add_header() that follows an
    http_reply_code() with a literal code (nothing else answered between)."""
    out = []
    for m in re.finditer(r"\bhttp_add_header\s*\(", body):
        args = _split_top(body[m.end():_matching(body, m.end() - 1) - 1])
        name = _c_string(args[2]) if len(args) > 2 else None
        replies = list(re.finditer(r"\bhttp_reply_(\w+)\s*\(", body[:m.start()]))
        if not name or not replies or replies[-1].group(1) != "code":
            continue
        r = replies[-1]
        rargs = _split_top(body[r.end():_matching(body, r.end() - 1) - 1])
        code = _c_string(rargs[2]) if len(rargs) > 2 else None
        if code:
            out.append((code, name))
    return out


def _where_answered(find):
    """What `find(body, where)` returns, per place: ("generic", items) for the
    server and reply layer, (handler, items) for each handler reaching it."""
    out = []
    for rel in ("src/http/server.c", "src/http/reply.c"):
        for fn, body in _functions(_strip_comments(_read(rel))).items():
            items = find(body, "%s:%s" % (rel, fn))
            if items:
                out.append(("generic", items))
    for handler, src in _api_sources().items():
        for fn in _reach(src["funcs"], handler):
            items = find(src["funcs"][fn], "%s:%s" % (src["file"], fn))
            if items:
                out.append((handler, items))
    return out


def _responses_listing(doc, routes, who, code):
    """(where, response) of every documented response that lists `code`, on
    every operation (who == "generic") or on the operations of handler `who`."""
    handlers = {(r["method"], r["path"]): r["handler"] for r in routes}
    for path, method, op in _operations(doc):
        if who != "generic" and handlers.get((method, path)) != who:
            continue
        for status, resp in op["responses"].items():
            resp = _resolve(doc, resp)
            if code in (resp.get("x-senim-problem-codes") or []):
                yield "%s %s %s" % (method, path, status), resp


def _declared(doc, schema):
    """Member name -> its schemas, over properties, allOf, anyOf and oneOf."""
    out = {}
    schema = _resolve(doc, schema)
    for name, p in (schema.get("properties") or {}).items():
        out.setdefault(name, []).append(p)
    for key in ("allOf", "anyOf", "oneOf"):
        for branch in schema.get(key) or []:
            for name, ps in _declared(doc, branch).items():
                out.setdefault(name, []).extend(ps)
    return out


def _types_of(doc, schema):
    schema = _resolve(doc, schema)
    types = set()
    if "type" in schema:
        types |= _schema_types(schema)
    for key in ("anyOf", "oneOf", "allOf"):
        for branch in schema.get(key) or []:
            types |= _types_of(doc, branch)
    return types


def _check_members(doc, where, schema, tree):
    declared = _declared(doc, schema)
    for name, shape in tree["members"].items():
        assert name in declared, "%s: the answer carries `%s`; document it" % (where, name)
        types = set()
        for p in declared[name]:
            types |= _types_of(doc, p)
        if shape["type"]:
            assert shape["type"] in types, "%s.%s: type %s" % (where, name, shape["type"])
        if shape["nullable"]:
            assert "null" in types, "%s.%s can be null" % (where, name)
        if shape["type"] == "object" and "members" in shape:
            for p in declared[name]:
                _check_members(doc, "%s.%s" % (where, name), p, shape)


def test_problem_members_are_documented(doc, routes):
    """Extension members a problem carries (json_pack in server.c or a
    handler) are declared by the schema of every response listing its code."""
    seen = 0
    for who, extras in _where_answered(_problem_extras):
        for code, tree in extras:
            for where, resp in _responses_listing(doc, routes, who, code):
                seen += 1
                schema = resp["content"]["application/problem+json"]["schema"]
                _check_members(doc, "%s (%s)" % (where, code), schema, tree)
    assert seen, "no problem with extension members found?"


def test_problem_headers_are_documented(doc, routes):
    """A header added to a problem answer (Retry-After, WWW-Authenticate) is
    documented on every response listing that code."""
    seen = 0
    for who, pairs in _where_answered(lambda body, where: _problem_headers(body)):
        for code, header in pairs:
            for where, resp in _responses_listing(doc, routes, who, code):
                seen += 1
                assert header in (resp.get("headers") or {}), \
                    "%s lists %s, which carries the %s header: document it" % (where, code, header)
    assert seen, "no problem with a header found?"


def test_header_parameters_are_the_handlers(doc, routes):
    """Each request header a handler reads (http_header(), itself or through
    its static helpers) is a documented header parameter, and no other is
    (Accept-Language, read by the server, is on every operation)."""
    sources = _api_sources()
    ops = {(m, p): op for p, m, op in _operations(doc)}
    for r in routes:
        op = ops.get((r["method"], r["path"]))
        src = sources.get(r["handler"])
        if op is None or src is None:
            continue
        read = set()
        for f in _reach(src["funcs"], r["handler"]):
            read |= {h.lower() for h in re.findall(r'\bhttp_header\s*\(\s*\w+\s*,\s*"([^"]+)"',
                                                   src["funcs"][f])}
        params = [_resolve(doc, p) for p in op.get("parameters", [])]
        documented = {p["name"].lower() for p in params if p["in"] == "header"} - {"accept-language"}
        assert documented == read, "%s: header parameters %s, the handler reads %s" % (
            r["name"], sorted(documented), sorted(read))


# ---- purposes, path parameters, sources ---------------------------------------

def _c_arrays(rel):
    return _string_arrays(_strip_comments(_read(rel)))


def _subject_id_pattern():
    defines = _defines(_strip_comments(_read("src/common/ids.h")))
    text = _strip_comments(_read("src/subjects/subjects.c"))
    m = re.search(r"strncmp\s*\(\s*id\s*,\s*\"(\w+)\"\s*,\s*(\d+)\s*\)", text)
    assert m and len(m.group(1)) == int(m.group(2)), "subject id prefix not found in subjects.c"
    n = _eval_int("SUBJECT_ID_LEN", defines) - 1 - len(m.group(1))
    return "^%s[A-Za-z0-9_-]{%d}$" % (m.group(1), n)


def _consent_id_pattern():
    defines = _defines(_strip_comments(_read("src/consent/ledger.h")))
    text = _strip_comments(_read("src/consent/ledger.c"))
    m = re.search(r"id_time_ordered\s*\(\s*id\s*,\s*\"(\w+)\"", text)
    assert m, "consent id prefix not found in ledger.c"
    n = _eval_int("CONSENT_ID_LEN", defines) - 1 - len(m.group(1))
    return "^%s[A-Za-z0-9_-]{%d}$" % (m.group(1), n)


def _loan_id_pattern():
    defines = _defines(_strip_comments(_read("src/lending/loans.h")))
    defines.update(_defines(_strip_comments(_read("src/common/ids.h"))))
    text = _strip_comments(_read("src/lending/payments.c"))
    m = re.search(r"strncmp\s*\(\s*id\s*,\s*\"(\w+)\"\s*,\s*(\d+)\s*\)", text)
    assert m and len(m.group(1)) == int(m.group(2)), "loan id prefix not found"
    n = _eval_int("LOAN_ID_LEN", defines) - 1 - len(m.group(1))
    return "^%s[A-Za-z0-9_-]{%d}$" % (m.group(1), n)


def _request_id_pattern():
    defines = _defines(_strip_comments(_read("src/rights/requests.h")))
    text = _strip_comments(_read("src/rights/requests.c"))
    m = re.search(r"memcmp\s*\(\s*s\s*,\s*\"(\w+)\"\s*,\s*(\d+)\s*\)", text)
    assert m and len(m.group(1)) == int(m.group(2)), "request id prefix not found"
    n = _eval_int("REQUEST_ID_LEN", defines) - 1 - len(m.group(1))
    return "^%s[A-Za-z0-9_-]{%d}$" % (m.group(1), n)


def _application_id_pattern():
    defines = _defines(_strip_comments(_read("src/lending/applications.h")))
    defines.update(_defines(_strip_comments(_read("src/common/ids.h"))))
    text = _strip_comments(_read("src/lending/applications.c"))
    m = re.search(r"strncmp\s*\(\s*id\s*,\s*\"(\w+)\"\s*,\s*(\d+)\s*\)", text)
    assert m and len(m.group(1)) == int(m.group(2)), "application id prefix not found"
    n = _eval_int("APPLICATION_ID_LEN", defines) - 1 - len(m.group(1))
    return "^%s[A-Za-z0-9_-]{%d}$" % (m.group(1), n)


def _card_id_pattern():
    defines = _defines(_strip_comments(_read("src/lending/cards.h")))
    defines.update(_defines(_strip_comments(_read("src/common/ids.h"))))
    text = _strip_comments(_read("src/lending/cards.c"))
    m = re.search(r"strncmp\s*\(\s*s\s*,\s*\"(\w+)\"\s*,\s*(\d+)\s*\)", text)
    assert m and len(m.group(1)) == int(m.group(2)), "card id prefix not found"
    n = _eval_int("CARD_ID_LEN", defines) - 1 - len(m.group(1))
    return "^%s[A-Za-z0-9_-]{%d}$" % (m.group(1), n)


def _restructuring_id_pattern():
    defines = _defines(_strip_comments(_read("src/lending/restructurings.h")))
    defines.update(_defines(_strip_comments(_read("src/common/ids.h"))))
    text = _strip_comments(_read("src/lending/restructurings.c"))
    m = re.search(r"strncmp\s*\(\s*id\s*,\s*\"(\w+)\"\s*,\s*(\d+)\s*\)", text)
    assert m and len(m.group(1)) == int(m.group(2)), "restructuring id prefix not found"
    n = _eval_int("RESTRUCTURING_ID_LEN", defines) - 1 - len(m.group(1))
    return "^%s[A-Za-z0-9_-]{%d}$" % (m.group(1), n)


def test_purpose_header_and_path_parameters(doc, routes):
    purposes = _c_arrays("src/core/purposes.c")
    sources = _api_sources()
    ops = {(m, p): op for p, m, op in _operations(doc)}
    with_header = 0
    for r in routes:
        op = ops.get((r["method"], r["path"]))
        if op is None:
            continue
        where = r["name"]
        params = [_resolve(doc, p) for p in op.get("parameters", [])]
        in_path = {p["name"]: p for p in params if p["in"] == "path"}
        assert set(in_path) == set(re.findall(r"\{(\w+)\}", r["path"])), \
            "%s: path parameters differ from the path" % where
        for name, p in in_path.items():
            assert p.get("required") is True, "%s: {%s} is required" % (where, name)
        if "category" in in_path:
            assert set(_resolve(doc, in_path["category"]["schema"])["enum"]) == set(purposes["category_codes"]), \
                "%s: {category} enum differs from category_codes in purposes.c" % where
        if "id" in in_path:
            pattern = _resolve(doc, in_path["id"]["schema"]).get("pattern")
            if r["path"].startswith("/v1/subjects/"):
                assert pattern == _subject_id_pattern(), \
                    "%s: {id} pattern differs from subject_id_valid()" % where
            elif r["path"].startswith("/v1/me/consents/"):
                assert pattern == _consent_id_pattern(), \
                    "%s: {id} pattern differs from new_consent_id() in ledger.c" % where
            elif r["path"].startswith(("/v1/me/applications/", "/v1/applications/",
                                       "/v1/payouts/")):
                assert pattern == _application_id_pattern(), \
                    "%s: {id} pattern differs from application_id_valid()" % where
            elif r["path"].startswith(("/v1/me/loans/", "/v1/loans/")):
                assert pattern == _loan_id_pattern(), \
                    "%s: {id} pattern differs from loan_id_valid()" % where
            elif r["path"].startswith("/v1/restructurings/"):
                assert pattern == _restructuring_id_pattern(), \
                    "%s: {id} pattern differs from restructuring_id_valid()" % where
            elif r["path"].startswith(("/v1/me/requests/", "/v1/requests/")):
                assert pattern == _request_id_pattern(), \
                    "%s: {id} pattern differs from request_id_valid()" % where
            elif r["path"].startswith("/v1/me/cards/"):
                assert pattern == _card_id_pattern(), \
                    "%s: {id} pattern differs from card_id_valid()" % where
            else:
                raise AssertionError("%s: an {id} of unknown kind: teach test_openapi.py" % where)
        src = sources.get(r["handler"])
        reads = src and any('"Senim-Purpose"' in src["funcs"][f]
                            for f in _reach(src["funcs"], r["handler"]))
        header = [p for p in params if p["in"] == "header" and p["name"].lower() == "senim-purpose"]
        if reads:
            with_header += 1
            assert header and header[0].get("required") is True, \
                "%s reads Senim-Purpose: document it as a required header" % where
            assert set(_resolve(doc, header[0]["schema"])["enum"]) == set(purposes["purpose_codes"]), \
                "%s: Senim-Purpose enum differs from purpose_codes in purposes.c" % where
        else:
            assert not header, "%s does not read Senim-Purpose" % where
    assert with_header, "no route reads Senim-Purpose?"


def _walk(node):
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from _walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from _walk(v)


def test_record_sources_match_the_service(doc):
    sources = _c_arrays("src/subjects/subjects.c")["source_codes"]
    found = 0
    for node in _walk(doc["components"]["schemas"]):
        props = node.get("properties") if isinstance(node.get("properties"), dict) else {}
        src = props.get("source")
        if isinstance(src, dict) and "enum" in _resolve(doc, src):
            found += 1
            assert set(_resolve(doc, src)["enum"]) - {None} == set(sources), \
                "a `source` enum differs from source_codes in src/subjects/subjects.c"
    assert found, "no schema documents the record sources"


# ---- each category's field schema, from src/core/categories.c -----------------

def _function_macros(text):
    out = {}
    text = re.sub(r"\\\n", " ", text)
    for m in re.finditer(r"^[ \t]*#[ \t]*define[ \t]+(\w+)\(([^)]*)\)[ \t]+([^\n]+)$", text, flags=re.M):
        out[m.group(1)] = ([a.strip() for a in m.group(2).split(",")], m.group(3).strip())
    return out


def _category_fields():
    """category code -> its field_defs as dicts, in table order."""
    defines = _all_defines()
    text = _strip_comments(_read("src/core/categories.c"))
    macros = _function_macros(text)
    arrays = _string_arrays(text)
    codes = dict(re.findall(r"\[\s*(CATEGORY_\w+)\s*\]\s*=\s*\"(\w+)\"",
                            _strip_comments(_read("src/core/purposes.c"))))
    tables = {}
    for m in re.finditer(r"struct\s+field_def\s+(\w+)\s*\[\s*\]\s*=\s*\{(.*?)\n\};", text, flags=re.S):
        fields = []
        for entry in _split_top(m.group(2)):
            call = re.match(r"(\w+)\s*\((.*)\)$", entry, flags=re.S)
            if call:
                assert call.group(1) in macros, "unknown macro %s in %s" % (call.group(1), m.group(1))
                params, body = macros[call.group(1)]
                args = _split_top(call.group(2))
                assert len(args) == len(params), "%s: wrong argument count" % entry[:40]
                sub = dict(zip(params, args))
                entry = re.sub(r"\b(%s)\b" % "|".join(map(re.escape, params)),
                               lambda a: sub[a.group(1)], body)
            entry = entry.strip()
            assert entry.startswith("{") and entry.endswith("}"), "cannot read %r" % entry[:60]
            name, kind, max_len, max_items, allowed, describes = _split_top(entry[1:-1])
            fields.append({
                "name": _c_string(name), "kind": kind,
                "max_len": _eval_int(max_len, defines), "max_items": _eval_int(max_items, defines),
                "allowed": None if allowed == "NULL" else arrays[allowed],
                "describes": _c_string(describes),
            })
        tables[m.group(1)] = fields
    out = {}
    for enum, table in re.findall(r"\[\s*(CATEGORY_\w+)\s*\]\s*=\s*FIELDS\s*\(\s*(\w+)\s*\)", text):
        assert enum in codes and table in tables, "schema entry %s = %s" % (enum, table)
        out[codes[enum]] = tables[table]
    assert set(out) == set(codes.values()), "categories without a field table: %s" % (
        sorted(set(codes.values()) - set(out)))
    return out


def _people_item_len():
    defines = _all_defines()
    text = _strip_comments(_read("src/api/subject_fields.c"))
    m = re.search(r"field_def\s+\w+\s*=\s*\{\s*\"name\"\s*,\s*FIELD_TEXT\s*,\s*(\w+)", text)
    assert m, "the item limit of people lists was not found in src/api/subject_fields.c"
    return _eval_int(m.group(1), defines)


def _content_hashed():
    """The suffix subject_fields.c adds to a biometric field for its content hash, or None."""
    m = re.search(r'"%s(_\w+)"', _strip_comments(_read("src/api/subject_fields.c")))
    return m.group(1) if m else None


TEXTUAL = ("FIELD_TEXT", "FIELD_PHONE", "FIELD_EMAIL", "FIELD_ENUM", "FIELD_DATE", "FIELD_COUNTRY")
KIND_TYPES = {"FIELD_TEXT": "string", "FIELD_DATE": "string", "FIELD_BOOL": "boolean",
              "FIELD_ENUM": "string", "FIELD_PHONE": "string", "FIELD_EMAIL": "string",
              "FIELD_COUNTRY": "string", "FIELD_LIST": "array", "FIELD_PEOPLE": "array",
              "FIELD_BLOB": "string"}


def _check_field(doc, where, f, p, people_len):
    kind = f["kind"]
    assert kind in KIND_TYPES, "%s: field kind %s is new: teach test_openapi.py" % (where, kind)
    types = _schema_types(p)
    assert KIND_TYPES[kind] in types, "%s: type %s" % (where, KIND_TYPES[kind])
    assert "null" in types, "%s: PUT accepts null for any field" % where
    if kind in TEXTUAL:
        assert p.get("minLength") == 1, "%s: minLength 1" % where
    if kind in ("FIELD_TEXT", "FIELD_PHONE", "FIELD_EMAIL"):
        assert p.get("maxLength") == f["max_len"], "%s: maxLength %d" % (where, f["max_len"])
    if kind == "FIELD_ENUM":
        assert set(p.get("enum", [])) - {None} == set(f["allowed"]), "%s: enum" % where
    if kind == "FIELD_DATE":
        assert p.get("format") == "date", "%s: format date" % where
    if kind == "FIELD_EMAIL":
        assert p.get("format") == "email", "%s: format email" % where
    if kind == "FIELD_COUNTRY":
        assert p.get("pattern") == "^[A-Z]{2}$", "%s: ISO 3166-1 alpha-2 pattern" % where
    if kind == "FIELD_LIST":
        assert p.get("maxItems") == f["max_items"], "%s: maxItems %d" % (where, f["max_items"])
        items = _resolve(doc, p["items"])
        assert items.get("type") == "string" and items.get("minLength") == 1, "%s: items" % where
        assert items.get("maxLength") == f["max_len"], "%s: items maxLength %d" % (where, f["max_len"])
    if kind == "FIELD_PEOPLE":
        assert p.get("maxItems") == f["max_items"], "%s: maxItems %d" % (where, f["max_items"])
        items = _resolve(doc, p["items"])
        assert items.get("type") == "object" and items.get("additionalProperties") is False, where
        assert set(items["properties"]) == {"relation", "name", "birth_date"}, "%s: item members" % where
        for member in ("relation", "name"):
            assert items["properties"][member].get("maxLength") == people_len, \
                "%s.%s: maxLength %d (subject_fields.c)" % (where, member, people_len)
        assert items["properties"]["birth_date"].get("format") == "date", where
    if kind == "FIELD_BLOB":
        assert p.get("contentEncoding") == "base64", "%s: base64" % where
        assert p.get("x-senim-max-bytes") == f["max_len"], "%s: x-senim-max-bytes %d" % (where, f["max_len"])
        assert p.get("maxLength") == 4 * -(-f["max_len"] // 3), "%s: maxLength of the base64" % where


def test_category_schemas_match_categories_c(doc):
    categories = _category_fields()
    people_len = _people_item_len()
    hashed = _content_hashed()
    schemas = {}
    for name, s in doc["components"]["schemas"].items():
        if "x-senim-category" in s:
            assert s["x-senim-category"] not in schemas.values(), "two schemas for one category"
            schemas[name] = s["x-senim-category"]
    assert set(schemas.values()) == set(categories), "one x-senim-category schema per category"
    for name, code in schemas.items():
        s = doc["components"]["schemas"][name]
        fields = {f["name"]: f for f in categories[code]}
        props = s.get("properties", {})
        assert s.get("type") == "object" and s.get("additionalProperties") is False, name
        derived = {k for k, p in props.items() if k not in fields}
        for k in derived:
            assert props[k].get("readOnly") is True, "%s.%s is not in categories.c" % (name, k)
        assert set(fields) <= set(props), "%s lacks %s" % (name, sorted(set(fields) - set(props)))
        blobs = {f for f, d in fields.items() if d["kind"] == "FIELD_BLOB"}
        want = {b + hashed for b in blobs} if hashed else set()
        assert derived == want, "%s: read-only members %s, expected %s" % (name, sorted(derived), sorted(want))
        for k in derived:
            assert props[k].get("pattern") == "^[0-9a-f]{64}$", "%s.%s: hex SHA-256" % (name, k)
        for f in fields.values():
            _check_field(doc, "%s.%s" % (name, f["name"]), f, props[f["name"]], people_len)
    # A write's `fields` is one of them, by the category in its path.
    refs = {"#/components/schemas/" + n for n in schemas}
    for path, method, op in _operations(doc):
        if "{category}" not in path or "requestBody" not in op:
            continue
        body = _resolve(doc, _resolve(doc, op["requestBody"])["content"]["application/json"]["schema"])
        choices = [p for p in body.get("properties", {}).values() if "anyOf" in p]
        assert choices and {c.get("$ref") for c in choices[0]["anyOf"]} == refs, \
            "%s %s: the body's fields must be anyOf every category schema" % (method, path)


# ---- the consent ledger: kinds, records, receipts ------------------------------

def _consent_kinds():
    text = _strip_comments(_read("src/core/consents.c"))
    kinds = re.findall(r"\{\s*(CONSENT_\w+)\s*,\s*\"(\w+)\"\s*,\s*\"(\w+)\"", text)
    assert kinds, "no consent kinds found in src/core/consents.c"
    return dict((enum, code) for enum, code, _ in kinds)


def _operation(doc, operation_id):
    found = [op for _, _, op in _operations(doc) if op.get("operationId") == operation_id]
    assert len(found) == 1, "operation %s not found" % operation_id
    return found[0]


def test_consent_kinds_match_consents_c(doc, routes):
    kinds = _consent_kinds()
    schema = doc["components"]["schemas"]["ConsentKind"]
    assert set(schema["enum"]) == set(kinds.values()), \
        "ConsentKind differs from the kinds of src/core/consents.c"
    # A grant takes every kind but the one api_me_grant refuses (the policy,
    # accepted at its own route).
    grant = _api_sources()["api_me_grant"]["funcs"]["api_me_grant"]
    refused = {kinds[k] for k in re.findall(r"kind\s*==\s*(CONSENT_\w+)", grant)}
    assert refused, "api_me_grant refuses no kind?"
    body = _resolve(doc, _resolve(doc, _operation(doc, "me_grant")["requestBody"])
                    ["content"]["application/json"]["schema"])
    assert set(_resolve(doc, body["properties"]["kind"])["enum"]) == set(kinds.values()) - refused, \
        "the grant body's kind enum must be every kind but %s" % sorted(refused)


def _receipt_tables():
    text = _strip_comments(_read("src/consent/receipt.c"))
    tables = {}
    for m in re.finditer(r"struct\s+member\s+(\w+)\s*\[\s*\]\s*=\s*\{(.*?)\n\};", text, flags=re.S):
        rows = re.findall(r"\{\s*(NULL|\"\w+\")\s*,\s*(M_\w+)\s*,\s*(NULL|\w+)\s*\}", m.group(2))
        tables[m.group(1)] = [(n.strip('"'), t, None if sub == "NULL" else sub)
                              for n, t, sub in rows if n != "NULL"]
    assert "receipt_members" in tables, "receipt_members not found in src/consent/receipt.c"
    return tables


RECEIPT_TYPES = {"M_STRING": "string", "M_BOOL": "boolean", "M_STRINGS": "array", "M_OBJECT": "object"}


def _check_receipt(doc, where, schema, table, tables):
    schema = _resolve(doc, schema)
    names = {n for n, _, _ in table}
    assert schema.get("type") == "object" and schema.get("additionalProperties") is False, where
    assert set(schema.get("properties", {})) == names, \
        "%s: members differ from receipt.c (%s)" % (where, sorted(set(schema.get("properties", {})) ^ names))
    assert set(schema.get("required", [])) == names, "%s: every member is required" % where
    for name, kind, sub in table:
        p = _resolve(doc, schema["properties"][name])
        assert RECEIPT_TYPES[kind] in _types_of(doc, p), "%s.%s: type %s" % (where, name, kind)
        if kind == "M_STRINGS":
            assert "string" in _types_of(doc, p["items"]), "%s.%s: items are strings" % (where, name)
        if kind == "M_OBJECT":
            _check_receipt(doc, "%s.%s" % (where, name), p, tables[sub], tables)


def test_receipt_schema_matches_receipt_c(doc):
    tables = _receipt_tables()
    _check_receipt(doc, "Receipt", doc["components"]["schemas"]["Receipt"],
                   tables["receipt_members"], tables)
    text = _strip_comments(_read("src/consent/receipt.c"))
    version = re.search(r'#\s*define\s+RECEIPT_VERSION\s+"([^"]+)"', text).group(1)
    alg = re.search(r'#\s*define\s+RECEIPT_ALG\s+"([^"]+)"', text).group(1)
    props = doc["components"]["schemas"]["Receipt"]["properties"]
    assert props["version"].get("const") == version, "Receipt.version: %s" % version
    assert props["signature"]["properties"]["alg"].get("const") == alg, "signature.alg: %s" % alg
    kinds = set(_consent_kinds().values())
    assert set(_resolve(doc, props["consent_type"])["enum"]) == kinds, "Receipt.consent_type"


def test_consent_record_matches_the_ledger(doc):
    """ConsentRecord has exactly the members consent_json() in ledger.c packs."""
    body = _functions(_strip_comments(_read("src/consent/ledger.c")))["consent_json"]
    m = re.search(r"\bjson_pack\s*\(", body)
    assert m, "consent_json packs no JSON?"
    args = _split_top(body[m.end():_matching(body, m.end() - 1) - 1])
    tree = _pack_tree(_c_string(args[0]), args[1:], "ledger.c:consent_json")
    schema = doc["components"]["schemas"]["ConsentRecord"]
    assert schema.get("additionalProperties") is False
    assert set(schema["properties"]) == set(tree["members"]), \
        "ConsentRecord members differ from consent_json: %s" % sorted(
            set(schema["properties"]) ^ set(tree["members"]))
    # json_pack writes every member, null included.
    assert set(schema.get("required", [])) == set(tree["members"]), "ConsentRecord: all required"
    _check_members(doc, "ConsentRecord", schema, tree)
