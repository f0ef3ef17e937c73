"""The platform: health, readiness, metrics, problem+json errors in three
languages, request ids, access log, and bad input that must not hurt."""
import json
import re
import socket
import time

LANGS = {"ru": "Не найдено", "kk": "Табылмады", "en": "Not found"}


def assert_problem(r, status, code):
    assert r.status == status, r
    assert r.header("Content-Type") == "application/problem+json", r.headers
    p = r.json
    assert p["status"] == status and p["code"] == code, p
    assert p["type"] == "urn:senim:problem:" + code
    assert p["title"] and p["detail"]
    assert p["request_id"] == r.header("X-Request-Id")
    return p


def test_healthz(senim):
    r = senim.get("/healthz")
    assert r.status == 200 and r.json == {"status": "ok"}
    assert re.fullmatch(r"[0-9a-f]{32}", r.header("X-Request-Id"))


def test_request_ids_differ(senim):
    ids = {senim.get("/healthz").header("X-Request-Id") for _ in range(5)}
    assert len(ids) == 5


def test_readyz_reports_store_and_schema(senim):
    r = senim.get("/readyz")
    assert r.status == 200
    assert r.json["checks"]["store"] == "ok"
    assert r.json["checks"]["schema_version"] == r.json["checks"]["schema_latest"] >= 1


def test_not_found_in_each_language(senim):
    for lang, title in LANGS.items():
        r = senim.get("/no/such/thing", headers={"Accept-Language": lang})
        p = assert_problem(r, 404, "not_found")
        assert p["title"] == title
        assert r.header("Content-Language") == lang


def test_language_negotiation_and_override(senim):
    r = senim.get("/nope", headers={"Accept-Language": "de-DE, kk;q=0.5, en;q=0.9"})
    assert r.json["title"] == LANGS["en"]
    r = senim.get("/nope?lang=kk", headers={"Accept-Language": "en"})
    assert r.json["title"] == LANGS["kk"]
    r = senim.get("/nope")  # default Russian
    assert r.json["title"] == LANGS["ru"]


def test_method_not_allowed_lists_allow(senim):
    r = senim.request("PUT", "/healthz")
    assert_problem(r, 405, "method_not_allowed")
    assert r.header("Allow") == "GET"


def test_unsupported_media_type(senim):
    r = senim.post("/v1/staff/sessions", raw=b"login=x", content_type="application/x-www-form-urlencoded")
    assert_problem(r, 415, "unsupported_media_type")


def test_malformed_json_variants(senim):
    bodies = [b"{", b"[1,2]", b'{"login": "a", "login": "b"}', b"\xff\xfe{}",
              b'{"login": "\xc3\x28"}', b"{" * 100 + b"}" * 100, b"", b"null",
              b'{"login": 1e999999}', b'{"login": 123456789012345678901234567890}']
    for body in bodies:
        r = senim.post("/v1/staff/sessions", raw=body)
        assert r.status in (400, 422), (body, r)
        assert r.header("Content-Type") == "application/problem+json"
        assert r.json["code"] in ("malformed_json", "validation_failed")


def test_validation_names_field_and_rule(senim):
    cases = [
        ({"password": "x", "totp": "123456"}, "login", "required"),
        ({"login": 5, "password": "x", "totp": "123456"}, "login", "type_string"),
        ({"login": "a" * 65, "password": "x", "totp": "123456"}, "login", "max_length"),
        ({"login": "a", "password": "x", "totp": "12345"}, "totp", "min_length"),
        ({"login": "a\u0001", "password": "x", "totp": "123456"}, "login",
         "forbidden_characters"),
        ({"login": "a", "password": "x", "totp": "123456", "extra": 1}, "(key 4)",
         "unknown_field"),
    ]
    for body, field, rule in cases:
        r = senim.post("/v1/staff/sessions", body, headers={"Accept-Language": "en"})
        p = assert_problem(r, 422, "validation_failed")
        assert (p["field"], p["rule"]) == (field, rule), p
        assert field in p["detail"]


def test_unknown_field_named_with_personal_data_is_not_echoed(senim):
    """An unknown key is named by its position, never echoed: "_790315442423"
    looks like a field name and is an IIN."""
    for key in ("870412300234", "_790315442423", "ivanov"):
        r = senim.post("/v1/staff/sessions",
                       {"login": "a", "password": "x", "totp": "123456", key: "x"},
                       headers={"Accept-Language": "en"})
        assert r.status == 422
        assert key.encode() not in r.body
        assert r.json["field"] == "(key 4)"
        assert "(key 4)" in r.json["detail"]


def test_body_too_large(senim):
    """A declared Content-Length over the cap is refused before the body."""
    s = socket.create_connection(("127.0.0.1", senim.port))
    s.settimeout(30)
    s.sendall(b"POST /v1/staff/sessions HTTP/1.1\r\nHost: x\r\nAccept-Language: en\r\n"
              b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (2 << 20))
    s.sendall(b'{"login":"' + b"a" * 1000)
    data = b""
    while b"}" not in data:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), head
    p = json.loads(body)
    assert p["code"] == "body_too_large" and "1048576" in p["detail"]


def test_chunked_body_too_large(senim):
    """No Content-Length: the cap is enforced while reading."""
    s = socket.create_connection(("127.0.0.1", senim.port))
    s.sendall(b"POST /v1/staff/sessions HTTP/1.1\r\nHost: x\r\n"
              b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"a" * 65536
    for _ in range(20):
        s.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
    s.sendall(b"0\r\n\r\n")
    data = s.recv(65536)
    s.close()
    assert data.startswith(b"HTTP/1.1 413")


def test_endless_chunked_body_is_cut_off(senim):
    """A chunked body that never ends must not hold a connection for ever:
    past a second --max-body of dropped bytes the server closes it."""
    s = socket.create_connection(("127.0.0.1", senim.port))
    s.settimeout(30)
    s.sendall(b"POST /v1/staff/sessions HTTP/1.1\r\nHost: x\r\n"
              b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"%x\r\n" % 65536 + b"a" * 65536 + b"\r\n"
    sent = 0
    try:
        while sent < (64 << 20):  # 64 MiB: far past two 1 MiB caps
            s.sendall(chunk)
            sent += 65536
    except OSError:
        pass  # closed by the server: what we want
    s.close()
    assert sent < (64 << 20), "the server read 64 MiB of a body it had refused"
    assert senim.get("/healthz").status == 200


def test_body_cut_mid_stream_then_server_answers(senim):
    for _ in range(3):
        s = socket.create_connection(("127.0.0.1", senim.port))
        s.sendall(b"POST /v1/staff/sessions HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
                  b'{"login": "abc')
        s.close()
    assert senim.get("/healthz").status == 200


def test_ten_thousand_headers(senim):
    s = socket.create_connection(("127.0.0.1", senim.port))
    s.settimeout(30)
    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"".join(
        b"X-H%d: v\r\n" % i for i in range(10000)) + b"\r\n"
    try:
        s.sendall(head)
        data = s.recv(65536)
    except (ConnectionResetError, BrokenPipeError):
        data = b""
    s.close()
    # Refused (431/413) or connection dropped, never served or crashed.
    assert data == b"" or re.match(rb"HTTP/1\.1 (413|431|400)", data), data[:100]
    assert senim.get("/healthz").status == 200


def test_garbage_request_line(senim):
    for junk in (b"\x00\x01\x02\r\n\r\n", b"GET\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n",
                 b"POST /v1/policies HTTP/1.1\r\nContent-Length: -5\r\n\r\n"):
        s = socket.create_connection(("127.0.0.1", senim.port))
        s.settimeout(10)
        s.sendall(junk)
        try:
            s.recv(4096)
        except (ConnectionResetError, socket.timeout):
            pass
        s.close()
    assert senim.get("/healthz").status == 200


def test_invalid_lang_parameter(senim):
    r = senim.get("/v1/policies?lang=de")
    p = assert_problem(r, 400, "invalid_parameter")
    assert p["field"] == "lang"


def test_access_log_lines(senim):
    r = senim.get("/v1/policies/some-version?secret=870412300234")
    rid = r.header("X-Request-Id")
    for _ in range(100):  # the line is written once the response is sent
        lines = [json.loads(l) for l in senim.read_log().splitlines() if l.startswith("{")]
        mine = [l for l in lines if l.get("request_id") == rid]
        if mine:
            break
        time.sleep(0.05)
    assert len(mine) == 1
    line = mine[0]
    assert line["event"] == "http_request"
    assert line["route"] == "/v1/policies/{version}"  # the template, not the path
    assert line["method"] == "GET" and line["status"] == 404
    assert line["actor"] == "anonymous" and line["duration_ms"] >= 0
    assert "870412300234" not in senim.read_log()
    assert "some-version" not in json.dumps(line)


def test_metrics(senim, admin):
    senim.get("/healthz")
    r = senim.get("/metrics", token=admin)
    assert r.status == 200
    text = r.body.decode()
    assert re.search(r'senim_http_requests_total\{route="healthz",status="200"\} [1-9]', text)
    assert "senim_http_request_duration_seconds_bucket" in text
    assert "senim_store_commit_duration_seconds_count" in text
    assert re.search(r"senim_audit_records_written_total \d+", text)


def test_allow_lists_each_method_once(senim):
    # /v1/policies/current matches two GET patterns (the literal and {version})
    r = senim.request("DELETE", "/v1/policies/current")
    assert r.status == 405 and r.header("Allow") == "GET"
    r = senim.request("PATCH", "/v1/policies")
    assert r.header("Allow") in ("GET, POST", "POST, GET")
