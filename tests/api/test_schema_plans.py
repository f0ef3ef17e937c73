"""The queries every request makes are answered from indexes whose cost does
not grow with a borrower's history: the database's own query planner says so,
on the schema the migrations built (both backends)."""
import os

import pytest

BACKEND = os.environ.get("SENIM_TEST_BACKEND", "sqlite")

# Asked on every borrower request (the policy gate) and every grant.
ACTIVE_CONSENTS = ("SELECT kind, policy_version FROM consents"
                   " WHERE subject_id = 'sbj_x' AND withdrawn_at IS NULL")
ACTIVE_OF_KIND = ("SELECT id FROM consents WHERE subject_id = 'sbj_x'"
                  " AND kind = 'gkb' AND withdrawn_at IS NULL")


def _plan(senim, query):
    if BACKEND == "postgres":
        # A handful of rows would make a sequential scan the cheapest plan;
        # ask what the planner does when scans are priced out.
        rows = senim.sql("SET enable_seqscan = off; SET enable_bitmapscan = off;"
                         " EXPLAIN " + query)
    else:
        rows = senim.sql("EXPLAIN QUERY PLAN " + query)
    return " ".join(" ".join(r) for r in rows)


def test_active_consents_come_from_the_partial_index(senim):
    for query in (ACTIVE_CONSENTS, ACTIVE_OF_KIND):
        plan = _plan(senim, query)
        assert "consents_active" in plan, "%s\nplanned as: %s" % (query, plan)


def test_the_partial_index_holds_only_active_consents(senim):
    if BACKEND == "postgres":
        rows = senim.sql("SELECT indexdef FROM pg_indexes WHERE indexname = 'consents_active'")
    else:
        rows = senim.sql("SELECT sql FROM sqlite_master WHERE name = 'consents_active'")
    assert len(rows) == 1
    definition = rows[0][0].lower()
    assert "withdrawn_at is null" in definition
    assert "subject_id" in definition and "kind" in definition


# The disclosure register's listings (src/exchange/register.c), each led by
# the index its first condition names, with the other filters absent as the
# routes send them; and the borrower's transfers still in the outbox.
REGISTER_FILTERS = (" AND (CAST(NULL AS TEXT) IS NULL OR d.direction = NULL)"
                    " AND d.at >= 0 AND d.at < 9000000000000000"
                    " ORDER BY d.at DESC, d.id DESC LIMIT 100")
REGISTER_BY_SUBJECT = ("SELECT d.id FROM disclosures d JOIN recipient_snapshots s"
                       " ON s.id = d.recipient_snapshot WHERE d.subject_id = 'sbj_x'"
                       " AND (CAST(NULL AS TEXT) IS NULL OR d.recipient = NULL)"
                       + REGISTER_FILTERS)
REGISTER_BY_RECIPIENT = ("SELECT d.id FROM disclosures d JOIN recipient_snapshots s"
                         " ON s.id = d.recipient_snapshot WHERE d.recipient = 'r1'"
                         " AND (CAST(NULL AS TEXT) IS NULL OR d.subject_id = NULL)"
                         + REGISTER_FILTERS)
IN_PROGRESS = ("SELECT id FROM transfers WHERE subject_id = 'sbj_x'"
               " AND state IN ('pending', 'sending')"
               " ORDER BY created_at DESC, id DESC LIMIT 100")


def _register_of_many(senim):
    """200 borrowers with 10 entries each, at 50 recipients, then the
    planner's statistics: the choice between indexes is the one a real
    register gets, not an empty table's tie."""
    if senim.sql("SELECT count(*) FROM disclosures WHERE request_id = 'plan'") != [["0"]]:
        return
    blob = ("decode('%s', 'hex')" if BACKEND == "postgres" else "X'%s'") % ("44" * 16)
    senim.sql("INSERT INTO recipient_snapshots (id, code, kind, country, registration,"
              " name_ru, name_kk, first_seen) VALUES (%s, 'plan', 'other', 'KZ', 'pending',"
              " 'x', 'x', 0)" % blob)
    if BACKEND == "postgres":
        numbers = "generate_series(0, %d) AS g(n)"
        pad = "lpad(CAST(%s AS TEXT), 18, '0')"
    else:
        numbers = ("(WITH RECURSIVE c(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM c"
                   " WHERE n < %d) SELECT n FROM c)")
        pad = "substr('000000000000000000' || %s, -18, 18)"
    senim.sql("INSERT INTO subjects (id, created_at, created_by) SELECT 'sbj_plan' || %s,"
              " 0, 'cli' FROM %s" % (pad % "n", numbers % 199))
    senim.sql("INSERT INTO disclosures (id, subject_id, at, direction, recipient,"
              " recipient_snapshot, service, categories, fields, purpose, basis, consent_id,"
              " legal_ref, cross_border, country, outcome, reason, may_have_reached,"
              " transfer_id, request_id, actor) SELECT 'dsc_plan' || %s, 'sbj_plan' || %s,"
              " 1000 + n, 'out', 'r' || CAST(n %% 50 AS TEXT), %s, 's', 'identity',"
              " 'identity.iin', 'identification', 'consent', NULL, NULL, 0, 'KZ',"
              " 'delivered', NULL, 0, NULL, 'plan', 'cli' FROM %s"
              % (pad % "n", pad % "(n % 200)", blob, numbers % 1999))
    senim.sql("ANALYZE")


@pytest.mark.parametrize("query,index", [
    (REGISTER_BY_SUBJECT, "disclosures_by_subject"),
    (REGISTER_BY_RECIPIENT, "disclosures_by_recipient"),
    (IN_PROGRESS, "transfers_by_subject"),
])
def test_register_listings_use_their_indexes(senim, query, index):
    _register_of_many(senim)
    plan = _plan(senim, query)
    assert index in plan, "%s\nplanned as: %s" % (query, plan)
