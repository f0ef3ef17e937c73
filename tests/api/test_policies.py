"""Privacy-policy versions (P1-P3): publish, immutability, languages, hashes,
and the real policy text read back byte-exact."""
import hashlib
import os

import pytest

from senim_harness import SHARED

SEED = os.path.join(SHARED, "seed", "privacy-policy.ru-kk.txt")


def split_policy(text):
    """The seed file is Russian, then Kazakh from the line "Бекітілді"."""
    lines = text.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if line.strip() == "Бекітілді":
            return "".join(lines[:i]), "".join(lines[i:])
    raise AssertionError("no Kazakh half in the seed policy")


def sha(s):
    return hashlib.sha256(s.encode()).hexdigest()


def test_nothing_published_yet(senim):
    r = senim.get("/v1/policies/current")
    assert r.status == 404 and r.json["code"] == "policy_not_published"
    assert senim.get("/v1/policies").json == {"policies": []}


def test_publish_requires_admin(senim):
    body = {"version": "v0", "ru": "текст", "kk": "мәтін"}
    assert senim.post("/v1/policies", body).status == 401
    support = senim.service_token("pol-support", "support")
    r = senim.post("/v1/policies", body, token=support)
    assert r.status == 403 and r.json["code"] == "forbidden_role"
    assert senim.get("/v1/policies/v0").status == 404


def test_publish_real_policy_byte_exact(senim, admin):
    if not os.path.exists(SEED):
        pytest.skip("../shared/seed is absent (a clone outside CI): nothing to publish")
    with open(SEED, encoding="utf-8") as f:
        ru, kk = split_policy(f.read())
    assert "Положение о конфиденциальности" in ru and "құпиялылығы" in kk
    r = senim.post("/v1/policies", {"version": "2024-09-23", "ru": ru, "kk": kk}, token=admin)
    assert r.status == 201, r
    assert r.header("Location") == "/v1/policies/2024-09-23"
    assert r.json["sha256"] == {"ru": sha(ru), "kk": sha(kk)}
    for lang, text in (("ru", ru), ("kk", kk)):
        for path in ("/v1/policies/current", "/v1/policies/2024-09-23"):
            got = senim.get(path + "?lang=" + lang)
            assert got.status == 200
            assert got.json["language"] == lang
            assert got.json["text"].encode() == text.encode()  # byte-exact
            assert got.json["sha256"][lang] == sha(text)
    # Accept-Language picks the text when no lang parameter is given.
    assert senim.get("/v1/policies/current", headers={"Accept-Language": "kk-KZ"}).json["text"] == kk
    # English is not a policy language: the Russian text is served, and says so.
    r = senim.get("/v1/policies/current", headers={"Accept-Language": "en"})
    assert r.json["language"] == "ru" and r.json["text"] == ru
    assert r.header("Content-Language") == "ru"
    # ... but an error is in the language asked for, like every other error
    for path in ("/v1/policies/no-such-1", "/v1/policies/" + "v" * 100):
        r = senim.get(path + "?lang=en")
        assert r.status == 404 and r.json["title"] == "Policy version not found", r
        assert r.header("Content-Language") == "en"


def test_same_version_same_text_is_idempotent_other_text_conflicts(senim, admin):
    body = {"version": "2025.1", "ru": "Политика 2025", "kk": "Саясат 2025"}
    first = senim.post("/v1/policies", body, token=admin)
    assert first.status == 201
    again = senim.post("/v1/policies", body, token=admin)
    assert again.status == 200 and again.json["published_at"] == first.json["published_at"]
    r = senim.post("/v1/policies", dict(body, kk="Басқа мәтін"), token=admin,
                   headers={"Accept-Language": "kk"})
    assert r.status == 409 and r.json["code"] == "policy_version_conflict"
    assert r.json["title"] == "Нұсқа жарияланып қойған"
    assert senim.get("/v1/policies/2025.1?lang=kk").json["text"] == "Саясат 2025"


def test_newest_is_current_and_list_is_newest_first(senim, admin):
    for v in ("2026-a", "2026-b"):
        assert senim.post("/v1/policies", {"version": v, "ru": "ru " + v, "kk": "kk " + v},
                          token=admin).status == 201
    assert senim.get("/v1/policies/current").json["version"] == "2026-b"
    versions = [p["version"] for p in senim.get("/v1/policies").json["policies"]]
    assert versions[:2] == ["2026-b", "2026-a"]
    times = [p["published_at"] for p in senim.get("/v1/policies").json["policies"]]
    assert times == sorted(times, reverse=True)
    # every version stays retrievable (P2)
    assert senim.get("/v1/policies/2026-a?lang=kk").json["text"] == "kk 2026-a"


def test_cli_publication_is_in_force_at_once(senim, tmp_path):
    """A version published by the CLI while the server runs is current on the
    very next request, though the server caches the current answer."""
    senim.get("/v1/policies/current")  # warm the cache
    (tmp_path / "ru.txt").write_text("Политика из CLI\n", encoding="utf-8")
    (tmp_path / "kk.txt").write_text("CLI саясаты\n", encoding="utf-8")
    p = senim.cli("policy", "publish", "--version", "cli-1", "--ru", str(tmp_path / "ru.txt"),
                  "--kk", str(tmp_path / "kk.txt"))
    assert b"published version cli-1" in p.stdout
    r = senim.get("/v1/policies/current?lang=kk")
    assert r.json["version"] == "cli-1" and r.json["text"] == "CLI саясаты\n"
    again = senim.cli("policy", "publish", "--version", "cli-1", "--ru",
                      str(tmp_path / "kk.txt"), "--kk", str(tmp_path / "kk.txt"), check=False)
    assert again.returncode == 1 and b"already published with other texts" in again.stderr


@pytest.mark.parametrize("body,field,rule", [
    ({"ru": "a", "kk": "b"}, "version", "required"),
    ({"version": "bad version!", "ru": "a", "kk": "b"}, "version", "format"),
    ({"version": "-lead", "ru": "a", "kk": "b"}, "version", "format"),
    ({"version": "current", "ru": "a", "kk": "b"}, "version", "format"),
    ({"version": "v" * 33, "ru": "a", "kk": "b"}, "version", "max_length"),
    ({"version": "v9", "ru": "", "kk": "b"}, "ru", "min_length"),
    ({"version": "v9", "ru": "a", "kk": 5}, "kk", "type_string"),
    ({"version": "v9", "ru": "a\u0001b", "kk": "b"}, "ru", "forbidden_characters"),
    ({"version": "v9", "ru": "a", "kk": "b", "en": "c"}, "(key 4)", "unknown_field"),
])
def test_publish_validation(senim, admin, body, field, rule):
    r = senim.post("/v1/policies", body, token=admin)
    assert r.status == 422, r
    assert (r.json["field"], r.json["rule"]) == (field, rule)
    assert senim.get("/v1/policies/v9").status == 404


def test_nul_in_text_is_malformed(senim, admin):
    r = senim.post("/v1/policies", {"version": "v9", "ru": "a\u0000b", "kk": "b"}, token=admin)
    assert r.status == 400 and r.json["code"] == "malformed_json"


def test_unknown_version(senim):
    r = senim.get("/v1/policies/never-published", headers={"Accept-Language": "en"})
    assert r.status == 404 and r.json["code"] == "policy_not_found"


def test_publication_is_audited(senim, admin):
    r = senim.post("/v1/policies", {"version": "audited-1", "ru": "р", "kk": "қ"}, token=admin)
    assert r.status == 201
    rows = [row for row in senim.audit_rows("policy.publish") if row[2] == "policy:audited-1"]
    assert len(rows) == 1
    seq, actor, obj, outcome, purpose, request_id = rows[0]
    assert actor.startswith("staff:") and outcome == "success"
    assert request_id == r.header("X-Request-Id")
    p = senim.cli("audit", "verify")
    assert p.returncode == 0 and b"audit chain intact" in p.stdout


def test_current_policy_gzip_for_clients_that_ask(senim, admin):
    import gzip
    senim.post("/v1/policies", {"version": "gz-1", "ru": "Политика " * 500, "kk": "Саясат " * 500},
               token=admin)
    plain = senim.get("/v1/policies/current?lang=kk")
    assert plain.header("Content-Encoding") is None
    z = senim.get("/v1/policies/current?lang=kk", headers={"Accept-Encoding": "br, gzip"})
    assert z.status == 200 and z.header("Content-Encoding") == "gzip"
    assert "Accept-Encoding" in z.header("Vary")
    assert len(z.body) < len(plain.body) / 4
    assert gzip.decompress(z.body) == plain.body
    refused = senim.get("/v1/policies/current", headers={"Accept-Encoding": "gzip;q=0"})
    assert refused.header("Content-Encoding") is None
