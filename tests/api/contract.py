"""Every request the API suite sends and every answer it gets, held to
docs/openapi.yaml.

senim_harness.Senim.request() calls check() on each exchange, so every test
of the suite is also a contract test, and a route added later is covered
without extra work.  The schemas are validated with Debian's
python3-jsonschema (draft 2020-12, the dialect of OpenAPI 3.1), with the
document's `$ref`s resolved against the document itself.

An answer must:
- have a status listed for its operation, or be one of the answers the
  document gives every request (404 not_found for a path no operation has,
  405 method_not_allowed with Allow for a method the path lacks, 413
  body_too_large);
- come with a media type listed for that status, and a body that matches its
  schema; a problem's `code` must be listed in that status's
  `x-senim-problem-codes`, its `type` must name that code, its `status` must
  be the HTTP status, and its `request_id` the X-Request-Id header;
- carry every header the document marks required for it, each matching its
  schema, and WWW-Authenticate on every 401 (RFC 9110 15.5.2).

A request the document says is wrong (a body that breaks the request schema,
a body sent to an operation that takes none, a required parameter missing or
a parameter outside its schema) must not succeed: the answer must be a 4xx.
Tests send such requests on purpose; what is checked is that the server
refuses them.
"""
import gzip
import json
import os
import re
import urllib.parse

import jsonschema
import yaml

SOURCE_DIR = os.environ.get("SENIM_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DOC_PATH = os.path.join(SOURCE_DIR, "docs", "openapi.yaml")
METHODS = ("get", "put", "post", "delete", "patch")
JSON_TYPES = ("application/json", "application/problem+json")


class ContractError(AssertionError):
    """An exchange the document does not allow."""


def _load():
    with open(DOC_PATH, encoding="utf-8") as f:
        return yaml.safe_load(f)


class Contract:
    def __init__(self, doc=None):
        self.doc = doc if doc is not None else _load()
        self.resolver = jsonschema.RefResolver(base_uri="", referrer=self.doc)
        self.routes = []
        for template, item in self.doc.get("paths", {}).items():
            params = re.findall(r"\{[^}]+\}", template)
            pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
            for method in METHODS:
                if method in item:
                    self.routes.append((len(params), re.compile(pattern), method, template,
                                        item, item[method]))
        # Literal segments win over parameters ("/v1/policies/current"
        # before "/v1/policies/{version}"), as in the router.
        self.routes.sort(key=lambda r: r[0])

    # ---- the document ------------------------------------------------------------
    def deref(self, obj):
        while isinstance(obj, dict) and "$ref" in obj:
            _, obj = self.resolver.resolve(obj["$ref"])
        return obj

    def validate(self, instance, schema, where):
        """Raise ContractError when instance breaks schema."""
        v = jsonschema.Draft202012Validator(schema, resolver=self.resolver,
                                            format_checker=jsonschema.FormatChecker())
        errors = sorted(v.iter_errors(instance), key=lambda e: list(e.absolute_path))
        if errors:
            e = errors[0]
            raise ContractError("%s: %s at %s" % (where, e.message,
                                                  "/".join(map(str, e.absolute_path)) or "(top)"))

    def find(self, method, path):
        """(template, path item, operation), or (None, None, None) with the
        methods the path has when it matches no operation."""
        method = method.lower()
        seen = []
        for _, rx, m, template, item, op in self.routes:
            if rx.match(path):
                if m == method:
                    return template, item, op
                seen.append(m)
        return None, None, seen

    # ---- one exchange ---------------------------------------------------------------
    def check(self, method, target, req_headers, req_body, status, resp_headers, resp_body):
        url = urllib.parse.urlsplit(target)
        path = url.path
        query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        headers = {k.lower(): v for k, v in resp_headers}
        rq_headers = {k.lower(): v for k, v in (req_headers or {}).items()}
        where = "%s %s -> %d" % (method, path, status)
        template, item, op = self.find(method, path)
        if template is None:
            self._check_global(where, status, headers, resp_body, path_known=bool(op))
            return
        where = "%s %s (%s) -> %d" % (method, template, op.get("operationId"), status)
        wrong = self._request_fault(item, op, rq_headers, query, req_body)
        if wrong and 200 <= status < 300:
            raise ContractError("%s: succeeded although %s" % (where, wrong))
        responses = op.get("responses", {})
        key = str(status)
        if status == 400 and req_body and "requestBody" not in op:
            # every route that takes no body (info.description)
            self._check_problem(where, status, headers, resp_body, ["body_not_allowed"])
            return
        if key not in responses:
            if status == 413:  # every route, before routing (info.description)
                self._check_problem(where, status, headers, resp_body, ["body_too_large"])
                return
            raise ContractError("%s: status not documented for this operation" % where)
        self._check_response(where, status, headers, resp_body, self.deref(responses[key]))

    def _check_global(self, where, status, headers, body, path_known):
        if status == 413:
            self._check_problem(where, status, headers, body, ["body_too_large"])
        elif path_known:
            if status != 405:
                raise ContractError("%s: a method the path lacks must be 405" % where)
            self._check_problem(where, status, headers, body, ["method_not_allowed"])
            if not headers.get("allow"):
                raise ContractError("%s: 405 without Allow" % where)
        else:
            if status != 404:
                raise ContractError("%s: a path no operation has must be 404" % where)
            self._check_problem(where, status, headers, body, ["not_found"])

    def _request_fault(self, item, op, headers, query, body):
        """Why the document says this request is wrong, or None."""
        params = [self.deref(p) for p in item.get("parameters", []) + op.get("parameters", [])]
        for p in params:
            name, where = p["name"], p["in"]
            if where == "header":
                value = headers.get(name.lower())
            elif where == "query":
                value = query.get(name, [None])[-1]
            else:
                continue
            if value is None:
                if p.get("required"):
                    return "required %s parameter %s is missing" % (where, name)
                continue
            schema = p.get("schema")
            if schema is not None:
                try:
                    self.validate(_typed(value, self.deref(schema)), schema, name)
                except ContractError as e:
                    return "parameter %s" % e
        rb = self.deref(op.get("requestBody")) if op.get("requestBody") else None
        if body is None or body == b"":
            if rb and rb.get("required"):
                return "the request body is required"
            return None
        if not rb:
            return "a body was sent to an operation that takes none"
        ctype = _base(headers.get("content-type", ""))
        content = {_base(k): v for k, v in rb.get("content", {}).items()}
        if ctype not in content:
            return "media type %r is not accepted" % ctype
        schema = content[ctype].get("schema")
        if ctype in JSON_TYPES and schema is not None:
            try:
                value = json.loads(body)
            except ValueError:
                return "the body is not JSON"
            try:
                self.validate(value, schema, "request body")
            except ContractError as e:
                return str(e)
        return None

    def _check_response(self, where, status, headers, body, response):
        for name, h in response.get("headers", {}).items():
            h = self.deref(h)
            value = headers.get(name.lower())
            if value is None:
                if h.get("required"):
                    raise ContractError("%s: required header %s missing" % (where, name))
                continue
            if "schema" in h:
                self.validate(_typed(value, self.deref(h["schema"])), h["schema"],
                              "%s: header %s" % (where, name))
        if status == 401 and not headers.get("www-authenticate"):
            raise ContractError("%s: 401 without WWW-Authenticate (RFC 9110 15.5.2)" % where)
        content = {_base(k): v for k, v in (response.get("content") or {}).items()}
        if headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        if not content:
            if body:
                raise ContractError("%s: a body where the document has none" % where)
            return
        ctype = _base(headers.get("content-type", ""))
        if ctype not in content:
            raise ContractError("%s: media type %r not documented (%s)"
                                % (where, ctype, ", ".join(content)))
        if ctype == "application/problem+json":
            codes = response.get("x-senim-problem-codes")
            if codes is None:
                raise ContractError("%s: problem answer without x-senim-problem-codes" % where)
            self._check_problem(where, status, headers, body, codes,
                                content[ctype].get("schema"))
        elif ctype in JSON_TYPES:
            schema = content[ctype].get("schema")
            if schema is not None:
                self.validate(_json(where, body), schema, where)

    def _check_problem(self, where, status, headers, body, codes, schema=None):
        if _base(headers.get("content-type", "")) != "application/problem+json":
            raise ContractError("%s: not application/problem+json" % where)
        p = _json(where, body)
        self.validate(p, schema or {"$ref": "#/components/schemas/Problem"}, where)
        code = p.get("code")
        if code not in codes:
            raise ContractError("%s: code %r not listed (%s)" % (where, code, ", ".join(codes)))
        if p.get("type") != "urn:senim:problem:" + str(code):
            raise ContractError("%s: type %r does not name code %r" % (where, p.get("type"), code))
        if p.get("status") != status:
            raise ContractError("%s: problem status %r" % (where, p.get("status")))
        if p.get("request_id") != headers.get("x-request-id"):
            raise ContractError("%s: request_id %r is not X-Request-Id %r"
                                % (where, p.get("request_id"), headers.get("x-request-id")))


def _base(media_type):
    """"text/plain; version=0.0.4" -> "text/plain"."""
    return media_type.split(";")[0].strip().lower()


def _json(where, body):
    try:
        return json.loads(body)
    except ValueError:
        raise ContractError("%s: the body is not JSON" % where) from None


def _typed(value, schema):
    """A header or query value as the type its schema names."""
    t = schema.get("type") if isinstance(schema, dict) else None
    if t == "integer":
        try:
            return int(value)
        except ValueError:
            return value
    return value


_contract = None


def check(*args):
    """Check one exchange against docs/openapi.yaml (loaded once)."""
    global _contract
    if _contract is None:
        _contract = Contract()
    _contract.check(*args)
