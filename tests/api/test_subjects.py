"""The personal-data vault (issue 3): registration with every IIN rule,
purpose-bound reads and writes, history, lookups by blind index, blocking
and restriction, and ciphertexts that refuse to open anywhere else."""
import base64
import hashlib

import pytest

from senim_harness import borrower, iin_check_digit, make_iin

ID = {"Senim-Purpose": "identification"}
REVIEW = {"Senim-Purpose": "loan_application_review"}
LEGAL = {"Senim-Purpose": "legal_obligation"}


@pytest.fixture(scope="module")
def staff(senim):
    return {role: senim.service_token("subj-" + role, role)
            for role in ("underwriter", "support", "marketing", "dpo", "investigator", "admin")}


def register(senim, staff, accept=True, **over):
    """Register a borrower; by default they also sign in and accept the
    policy, as every borrower does before applying (C1, C4)."""
    body = borrower(**over)
    r = senim.post("/v1/subjects", body, token=staff["underwriter"], headers=ID)
    assert r.status == 201, r
    if accept:
        token = senim.borrower_token(body["phone"])
        senim.accept_policy(token)
        TOKENS[r.json["id"]] = token
    return r.json["id"], body


TOKENS = {}  # subject id -> that borrower's token


def test_register_and_read_back(senim, staff):
    sid, body = register(senim, staff)
    assert sid.startswith("sbj_") and len(sid) == 26
    r = senim.get(f"/v1/subjects/{sid}/data", token=staff["underwriter"], headers=ID)
    assert r.status == 200
    ident = r.json["categories"]["identity"]["fields"]
    assert ident["iin"] == body["iin"] and ident["surname"] == "Иванов"
    contact = r.json["categories"]["contact"]["fields"]
    digits = "".join(c for c in body["phone"] if c.isdigit())
    assert contact["phone_mobile"] == "+" + digits  # normalised E.164
    assert r.json["categories"]["identity"]["source"] == "borrower"
    # identification sees identity, contact, biometric; the rest is listed as withheld
    assert set(r.json["withheld"]) == {"family", "medical", "professional", "device"}


def test_duplicate_iin_reveals_nothing(senim, staff):
    sid, body = register(senim, staff)
    again = borrower(iin=body["iin"], surname="Другой", birth_date=body["birth_date"])
    r = senim.post("/v1/subjects", again, token=staff["underwriter"], headers=ID)
    assert r.status == 409 and r.json["code"] == "subject_exists"
    assert sid.encode() not in r.body and "Иванов".encode() not in r.body
    assert body["iin"].encode() not in r.body
    # the attempt is on record, naming the record it ran into: asking
    # whether an IIN is a customer leaves a trace
    rows = senim.sql("SELECT outcome, subject_id, request_id FROM audit_log"
                     " WHERE operation = 'subject.register' AND subject_id = '%s'"
                     " ORDER BY seq" % sid)
    assert [row[0] for row in rows] == ["success", "conflict"], rows
    assert rows[1][2] == r.header("X-Request-Id")
    assert senim.sql("SELECT count(*) FROM subjects") == \
        senim.sql("SELECT count(DISTINCT subject_id) FROM subject_keys")


def bad_iin(prefix6, digit7, serial="0001"):
    """An IIN with a correct check digit over whatever date/century it has."""
    d11 = prefix6 + digit7 + serial
    c = iin_check_digit(d11)
    if c is None:
        raise ValueError(d11)
    return d11 + str(c)


def wrong_check(iin):
    return iin[:11] + str((int(iin[11]) + 1) % 10)


# Every rule of the IIN, each with an input that breaks only that rule.
IIN_CASES = [
    ("8704123000", "iin_length"),
    ("8704123000123", "iin_length"),
    ("87041230001A", "iin_digits"),
    ("８７０４１２３０００１２", "iin_length"),          # full-width digits are not digits
    (bad_iin("870231", "3"), "iin_date"),                # 31 February
    (bad_iin("870229", "3"), "iin_date"),                # 29 Feb 1987: not a leap year
    (bad_iin("871301", "3"), "iin_date"),                # month 13
    (bad_iin("870412", "0"), "iin_century"),             # digit 7 = 0
    (bad_iin("870412", "7"), "iin_century"),             # digit 7 = 7
    (wrong_check(make_iin("1987-04-12", "M")), "iin_checksum"),
    ("870412300080", "iin_no_checksum"),                 # both passes give 10
    (make_iin("1987-04-13", "M"), "iin_birth_date_mismatch"),
    (make_iin("1987-04-12", "F"), "iin_sex_mismatch"),
]


@pytest.mark.parametrize("iin,rule", IIN_CASES)
def test_iin_rules(senim, staff, iin, rule):
    assert iin_check_digit("87041230008") is None  # the double-10 prefix really is one
    body = borrower(iin=iin, birth_date="1987-04-12", sex="M")
    r = senim.post("/v1/subjects", body, token=staff["underwriter"], headers=ID)
    assert r.status == 422, (iin, r)
    assert (r.json["field"], r.json["rule"]) == ("iin", rule), r.json
    assert iin.encode() not in r.body  # the value is never echoed


def test_leap_day_iin_is_fine(senim, staff):
    body = borrower(birth_date="2000-02-29", sex="F")
    r = senim.post("/v1/subjects", body, token=staff["underwriter"], headers=ID)
    assert r.status == 201, r


@pytest.mark.parametrize("over,field,rule", [
    ({"phone": "+7 916 123 45 67"}, "phone", "format"),        # a Russian number
    ({"phone": "12345"}, "phone", "format"),
    ({"email": "not-an-email"}, "email", "format"),
    ({"citizenship": "XX"}, "citizenship", "format"),
    ({"birth_date": "12.04.1987", "iin": make_iin()}, "birth_date", "format"),
    ({"sex": "X"}, "sex", "enum_value"),
    ({"surname": ""}, "surname", "min_length"),
    # A C1 control and a right-to-left override: the stored name would
    # display as another in a log, an export or a staff screen.
    ({"surname": "Ив\u0085анов"}, "surname", "forbidden_characters"),
    ({"surname": "\u202eвонавИ"}, "surname", "forbidden_characters"),
    ({"nickname": "x"}, "(key N)", "unknown_field"),
])
def test_registration_validation(senim, staff, over, field, rule):
    body = borrower(**over)
    if field == "(key N)":  # an unknown key is named by its position in the body
        field = "(key %d)" % (list(body).index("nickname") + 1)
    r = senim.post("/v1/subjects", body, token=staff["underwriter"], headers=ID)
    assert r.status == 422 and (r.json["field"], r.json["rule"]) == (field, rule), r
    assert b"nickname" not in r.body


def test_purpose_header_rules(senim, staff):
    sid, _ = register(senim, staff)
    r = senim.get(f"/v1/subjects/{sid}/data", token=staff["underwriter"])
    assert r.status == 400 and r.json["code"] == "purpose_required"
    r = senim.get(f"/v1/subjects/{sid}/data", token=staff["underwriter"],
                  headers={"Senim-Purpose": "curiosity"})
    assert r.status == 400 and r.json["code"] == "purpose_unknown"
    r = senim.post("/v1/subjects", borrower(), token=staff["underwriter"])
    assert r.status == 400 and r.json["code"] == "purpose_required"


def test_role_outside_its_purposes_is_refused_and_audited(senim, staff):
    sid, _ = register(senim, staff)
    r = senim.get(f"/v1/subjects/{sid}/data", token=staff["marketing"], headers=ID)
    assert r.status == 403 and r.json["code"] == "purpose_not_permitted"
    rows = senim.sql("SELECT outcome, purpose, subject_id FROM audit_log WHERE request_id = '%s'"
                     % r.header("X-Request-Id"))
    assert rows == [["denied", "identification", sid]]
    # admins and auditors run the system; they never reach borrowers' data
    r = senim.get(f"/v1/subjects/{sid}/data", token=staff["admin"], headers=LEGAL)
    assert r.status == 403 and r.json["code"] == "forbidden_role"


def test_purpose_sees_only_its_categories(senim, staff):
    sid, _ = register(senim, staff)
    # marketing (U7) needs a marketing consent too (C4): which one is missing is said
    r = senim.get(f"/v1/subjects/{sid}/data", token=staff["marketing"],
                  headers={"Senim-Purpose": "marketing"})
    assert r.status == 403 and r.json["code"] == "consent_required"
    assert r.json["missing_consent"] == "marketing"
    assert senim.post("/v1/me/consents", {"kind": "marketing_sms", "channel": "ios"},
                      token=TOKENS[sid]).status == 201
    r = senim.get(f"/v1/subjects/{sid}/data", token=staff["marketing"],
                  headers={"Senim-Purpose": "marketing"})
    assert r.status == 200
    assert set(r.json["categories"]) == {"contact"}
    assert "identity" in r.json["withheld"]
    r = senim.get(f"/v1/subjects/{sid}/data/identity", token=staff["marketing"],
                  headers={"Senim-Purpose": "marketing"})
    assert r.status == 403 and r.json["code"] == "category_withheld"
    rows = senim.sql("SELECT categories, purpose, outcome FROM audit_log WHERE request_id = '%s'"
                     % r.header("X-Request-Id"))
    assert rows == [["", "marketing", "denied"]]  # asked only for what it may not see


def test_no_accepted_policy_no_processing_beyond_identification(senim, staff):
    """C4: a borrower who has not accepted the policy is identified, not served."""
    sid, _ = register(senim, staff, accept=False)
    assert senim.get(f"/v1/subjects/{sid}/data", token=staff["underwriter"],
                     headers=ID).status == 200
    r = senim.get(f"/v1/subjects/{sid}/data", token=staff["underwriter"], headers=REVIEW)
    assert r.status == 403 and r.json["code"] == "consent_required"
    assert r.json["missing_consent"] == "policy"


def test_write_versions_and_history(senim, staff):
    sid, _ = register(senim, staff)
    uw = staff["underwriter"]
    r = senim.request("PUT", f"/v1/subjects/{sid}/data/professional", token=uw, headers=REVIEW,
                      body={"fields": {"education": "higher", "employer": "ТОО «Бизнес»"},
                            "source": "credit_bureau"})
    assert r.status == 200 and r.json["version"] == 1, r
    r = senim.request("PUT", f"/v1/subjects/{sid}/data/professional", token=uw, headers=REVIEW,
                      body={"fields": {"education": "postgraduate"}})
    assert r.json["version"] == 2
    cur = senim.get(f"/v1/subjects/{sid}/data/professional", token=uw, headers=REVIEW)
    # a write is a merge patch: untouched fields stay
    assert cur.json["fields"] == {"education": "postgraduate", "employer": "ТОО «Бизнес»"}
    assert cur.json["source"] == "staff"
    r = senim.request("PUT", f"/v1/subjects/{sid}/data/professional", token=uw, headers=REVIEW,
                      body={"fields": {"employer": None}})
    assert r.json["version"] == 3
    cur = senim.get(f"/v1/subjects/{sid}/data/professional", token=uw, headers=REVIEW)
    assert cur.json["fields"] == {"education": "postgraduate"}
    hist = senim.get(f"/v1/subjects/{sid}/data/professional/history", token=uw, headers=REVIEW)
    assert [v["version"] for v in hist.json["versions"]] == [3, 2, 1]
    assert hist.json["versions"][2]["source"] == "credit_bureau"
    assert hist.json["versions"][2]["fields"] == {"education": "higher", "employer": "ТОО «Бизнес»"}
    assert hist.json["versions"][0]["actor"].startswith("staff:")


@pytest.mark.parametrize("category,fields,field,rule", [
    ("identity", {"iin": "870412300234"}, "iin", "immutable"),
    ("identity", {"iin": None}, "iin", "immutable"),
    ("identity", {"favourite_colour": "red"}, "(key 1)", "unknown_field"),
    ("identity", {"surname": "Ахметова", "870412300234": "x"}, "(key 2)", "unknown_field"),
    ("identity", {"_790315442423": "x"}, "(key 1)", "unknown_field"),
    ("contact", {"phone_home": "555"}, "phone_home", "format"),
    ("medical", {"legal_capacity": "sometimes"}, "legal_capacity", "enum_value"),
    ("family", {"dependants": [{"relation": "son", "name": "А", "birth_date": "2010-13-01"}]},
     "dependants", "format"),
    ("professional", {"individual_entrepreneur": "yes"}, "individual_entrepreneur",
     "type_boolean"),
])
def test_field_schema(senim, staff, category, fields, field, rule):
    sid, _ = register(senim, staff)
    r = senim.request("PUT", f"/v1/subjects/{sid}/data/{category}", token=staff["underwriter"],
                      headers=REVIEW, body={"fields": fields})
    assert r.status == 422 and (r.json["field"], r.json["rule"]) == (field, rule), r
    assert b"870412300234" not in r.body and b"790315442423" not in r.body


def test_unknown_category_and_subject(senim, staff):
    sid, _ = register(senim, staff)
    r = senim.get(f"/v1/subjects/{sid}/data/horoscope", token=staff["underwriter"], headers=ID)
    assert r.status == 422 and (r.json["field"], r.json["rule"]) == ("category", "enum_value")
    r = senim.get("/v1/subjects/sbj_AAAAAAAAAAAAAAAAAAAAAA/data", token=staff["underwriter"],
                  headers=ID)
    assert r.status == 404 and r.json["code"] == "subject_not_found"
    r = senim.get("/v1/subjects/870412300234/data", token=staff["underwriter"], headers=ID)
    assert r.status == 404


def test_search_by_blind_index(senim, staff):
    sid, body = register(senim, staff)
    uw = staff["underwriter"]
    for key, value in (("iin", body["iin"]), ("phone", body["phone"].replace(" ", "")),
                       ("email", body["email"].upper())):
        r = senim.post("/v1/subjects/search", {key: value}, token=uw, headers=ID)
        assert r.status == 200 and r.json["subjects"] == [sid], (key, r)
    # a new e-mail is found, the old one no longer
    r = senim.request("PUT", f"/v1/subjects/{sid}/data/contact", token=uw, headers=ID,
                      body={"fields": {"email": "moved.%s@example.kz" % sid[-6:].lower()}})
    assert r.status == 200
    assert senim.post("/v1/subjects/search", {"email": "moved.%s@example.kz" % sid[-6:].lower()},
                      token=uw, headers=ID).json["subjects"] == [sid]
    assert senim.post("/v1/subjects/search", {"email": body["email"]}, token=uw,
                      headers=ID).json["subjects"] == []
    # the mobile phone is the sign-in factor: a data write never moves it
    # (test_phone_change.py has its own procedure)
    r = senim.request("PUT", f"/v1/subjects/{sid}/data/contact", token=uw, headers=ID,
                      body={"fields": {"phone_mobile": "87079998877"}})
    assert r.status == 409 and r.json["code"] == "phone_change_procedure", r
    assert senim.post("/v1/subjects/search", {"phone": "+7 707 999 88 77"}, token=uw,
                      headers=ID).json["subjects"] == []
    assert senim.post("/v1/subjects/search", {"phone": body["phone"]}, token=uw,
                      headers=ID).json["subjects"] == [sid]
    r = senim.post("/v1/subjects/search", {"iin": body["iin"], "phone": body["phone"]},
                   token=uw, headers=ID)
    assert r.status == 422 and (r.json["field"], r.json["rule"]) == ("phone", "one_key"), r
    r = senim.post("/v1/subjects/search", {"phone": body["phone"], "email": body["email"]},
                   token=uw, headers=dict(ID, **{"Accept-Language": "en"}))
    assert (r.json["field"], r.json["rule"]) == ("email", "one_key"), r
    assert "only one of the keys" in r.json["detail"], r.json
    r = senim.post("/v1/subjects/search", {"email": body["email"]}, token=staff["marketing"],
                   headers={"Senim-Purpose": "marketing_campaign_design"})
    assert r.status == 403


def test_block_and_unblock(senim, staff):
    sid, _ = register(senim, staff)
    dpo, uw = staff["dpo"], staff["underwriter"]
    assert senim.post(f"/v1/subjects/{sid}/block", {"reason": "borrower_request"},
                      token=uw).status == 403
    r = senim.post(f"/v1/subjects/{sid}/block", {"reason": "borrower_request"}, token=dpo)
    assert r.status == 200 and r.json["blocked"] is True
    # the very next request is refused; data is kept for legal obligations only
    r = senim.get(f"/v1/subjects/{sid}/data", token=uw, headers=ID)
    assert r.status == 403 and r.json["code"] == "subject_blocked"
    r = senim.request("PUT", f"/v1/subjects/{sid}/data/contact", token=uw, headers=ID,
                      body={"fields": {"actual_address": "Алматы"}})
    assert r.status == 403 and r.json["code"] == "subject_blocked"
    r = senim.get(f"/v1/subjects/{sid}/data", token=dpo, headers=LEGAL)
    assert r.status == 200 and "identity" in r.json["categories"]
    # a body where the operation takes none is refused, not dropped unseen
    r = senim.post(f"/v1/subjects/{sid}/unblock", {"x": 1}, token=dpo,
                   headers={"Accept-Language": "en"})
    assert r.status == 400 and r.json["code"] == "body_not_allowed", r
    assert senim.get(f"/v1/subjects/{sid}/data", token=uw, headers=ID).status == 403
    r = senim.request("GET", f"/v1/subjects/{sid}/protection", token=dpo, raw=b"x",
                      content_type="text/plain")
    assert r.status == 400 and r.json["code"] == "body_not_allowed", r
    assert senim.post(f"/v1/subjects/{sid}/unblock", token=dpo).json["blocked"] is False
    assert senim.get(f"/v1/subjects/{sid}/data", token=uw, headers=ID).status == 200
    ops = [row[0] for row in senim.sql(
        f"SELECT operation FROM audit_log WHERE subject_id = '{sid}' ORDER BY seq")]
    assert "subject.block" in ops and "subject.unblock" in ops
    # the DPO's look at the state is an access too, with its record
    before = ops.count("subject.protection_read")
    r = senim.get(f"/v1/subjects/{sid}/protection", token=dpo)
    assert r.status == 200 and r.json["blocked"] is False
    rows = senim.sql("SELECT actor, purpose, request_id FROM audit_log WHERE subject_id ="
                     f" '{sid}' AND operation = 'subject.protection_read' ORDER BY seq")
    assert len(rows) == before + 1 and rows[-1][1:] == ["legal_obligation",
                                                        r.header("X-Request-Id")], rows
    # an unknown subject is 404, as for every other route
    r = senim.get("/v1/subjects/sbj_AAAAAAAAAAAAAAAAAAAAAA/protection", token=dpo)
    assert r.status == 404 and r.json["code"] == "subject_not_found", r


def test_restriction(senim, staff):
    sid, _ = register(senim, staff)
    dpo, uw = staff["dpo"], staff["underwriter"]
    r = senim.post(f"/v1/subjects/{sid}/restrictions",
                   {"allowed_purposes": ["loan_servicing"]}, token=dpo)
    assert r.status == 200 and r.json["restricted"] is True
    assert set(r.json["allowed_purposes"]) == {"loan_servicing", "legal_obligation"}
    r = senim.get(f"/v1/subjects/{sid}/data", token=uw, headers=ID)
    assert r.status == 403 and r.json["code"] == "purpose_restricted"
    r = senim.get(f"/v1/subjects/{sid}/data", token=uw,
                  headers={"Senim-Purpose": "loan_servicing"})
    assert r.status == 200
    r = senim.post(f"/v1/subjects/{sid}/restrictions", {"allowed_purposes": ["gossip"]},
                   token=dpo)
    assert r.status == 422
    assert senim.delete(f"/v1/subjects/{sid}/restrictions", token=dpo).json["restricted"] is False
    assert senim.get(f"/v1/subjects/{sid}/data", token=uw, headers=ID).status == 200
    assert senim.get(f"/v1/subjects/{sid}/protection", token=dpo).json["blocked"] is False


def test_biometric_image_with_content_hash(senim, staff):
    sid, _ = register(senim, staff)
    image = bytes(range(256)) * 40
    b64 = base64.b64encode(image).decode()
    r = senim.request("PUT", f"/v1/subjects/{sid}/data/biometric", token=staff["underwriter"],
                      headers=ID, body={"fields": {"face_image": b64}})
    assert r.status == 200, r
    got = senim.get(f"/v1/subjects/{sid}/data/biometric", token=staff["underwriter"], headers=ID)
    assert got.json["fields"]["face_image"] == b64
    assert got.json["fields"]["face_image_sha256"] == hashlib.sha256(image).hexdigest()
    # special categories stay out of reach of marketing purposes (D7)
    r = senim.get(f"/v1/subjects/{sid}/data/biometric", token=staff["marketing"],
                  headers={"Senim-Purpose": "marketing"})
    assert r.status == 403
    # removing the image removes its fingerprint too; another image stays
    sig = base64.b64encode(b"signature").decode()
    r = senim.request("PUT", f"/v1/subjects/{sid}/data/biometric", token=staff["underwriter"],
                      headers=ID, body={"fields": {"signature_image": sig}})
    assert r.status == 200, r
    r = senim.request("PUT", f"/v1/subjects/{sid}/data/biometric", token=staff["underwriter"],
                      headers=ID, body={"fields": {"face_image": None}})
    assert r.status == 200, r
    got = senim.get(f"/v1/subjects/{sid}/data/biometric", token=staff["underwriter"], headers=ID)
    assert set(got.json["fields"]) == {"signature_image", "signature_image_sha256"}, got.json
    assert got.json["fields"]["signature_image_sha256"] == hashlib.sha256(b"signature").hexdigest()


def test_swapped_ciphertexts_refuse_to_open(senim, staff):
    a, _ = register(senim, staff)
    b, body_b = register(senim, staff, surname="Сапарова", sex="F", birth_date="1990-01-01")
    senim.sql(f"UPDATE subject_records SET sealed = (SELECT sealed FROM subject_records"
              f" WHERE subject_id = '{b}' AND category = 'identity' AND version = 1)"
              f" WHERE subject_id = '{a}' AND category = 'identity' AND version = 1")
    r = senim.get(f"/v1/subjects/{a}/data/identity", token=staff["underwriter"], headers=ID)
    assert r.status >= 500 and r.header("Content-Type") == "application/problem+json"
    assert "Сапарова".encode() not in r.body and body_b["iin"].encode() not in r.body
    # b itself still opens
    assert senim.get(f"/v1/subjects/{b}/data/identity", token=staff["underwriter"],
                     headers=ID).json["fields"]["surname"] == "Сапарова"
