"""The queries every request makes are answered from indexes whose cost does
not grow with a borrower's history: the database's own query planner says so,
on the schema the migrations built (both backends)."""
import os

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
