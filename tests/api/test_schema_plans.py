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
                         " ON s.id = d.recipient_snapshot WHERE d.recipient = 'gkb'"
                         " AND (CAST(NULL AS TEXT) IS NULL OR d.subject_id = NULL)"
                         + REGISTER_FILTERS)
IN_PROGRESS = ("SELECT id FROM transfers WHERE subject_id = 'sbj_x'"
               " AND state IN ('pending', 'sending')"
               " ORDER BY created_at DESC, id DESC LIMIT 100")


@pytest.mark.parametrize("query,index", [
    (REGISTER_BY_SUBJECT, "disclosures_by_subject"),
    (REGISTER_BY_RECIPIENT, "disclosures_by_recipient"),
    (IN_PROGRESS, "transfers_by_subject"),
])
def test_register_listings_use_their_indexes(senim, query, index):
    plan = _plan(senim, query)
    assert index in plan, "%s\nplanned as: %s" % (query, plan)
