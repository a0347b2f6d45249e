"""The planner's rules: send only what changed, never a child before its parent, never a refused payload twice."""

from __future__ import annotations

from typing import Any

import pytest

from models.canonical import canonical_hash
from store.ledger import LedgerEntry
from sync.plan import (
    Action,
    Candidate,
    ParentRef,
    batches,
    match_queries,
    parent_refs,
    pick_matches,
    plan_chunk,
    soql_quote,
)

ORG = ParentRef("organizations", "org:flch")


def payload(**fields: Any) -> dict[str, Any]:
    return {"Ignite_Key__c": "participant:1", "LastName": "Okafor", **fields}


def entry(status: str, body: dict[str, Any] | None = None, crm_id: str | None = "003A", **kw: Any) -> LedgerEntry:
    h = canonical_hash(body) if body is not None else None
    return LedgerEntry(
        record_key="participant:1",
        step="participants",
        object_name="Contact",
        status=status,
        crm_id=crm_id,
        payload_hash=h if status == "synced" else None,
        rejected_hash=h if status == "rejected" else None,
        **kw,
    )


def one(candidate: Candidate, ledger_entry: LedgerEntry | None = None, full: bool = False) -> Action:
    ledger = {candidate.key: ledger_entry} if ledger_entry else {}
    [decision] = plan_chunk([candidate], ledger, {"organizations": {"org:flch"}}, full=full).decisions
    return decision.action


def test_a_never_synced_row_is_created() -> None:
    assert one(Candidate("participant:1", payload(), (ORG,))) is Action.CREATE


def test_an_unchanged_payload_is_skipped_and_a_full_sync_resends_it() -> None:
    body = payload()
    assert one(Candidate("participant:1", body), entry("synced", body)) is Action.UNCHANGED
    assert one(Candidate("participant:1", body), entry("synced", body), full=True) is Action.UPDATE


def test_a_change_to_what_a_row_must_ensure_resends_it_even_with_the_same_fields() -> None:
    """A campaign whose profile now wants another member status is sent again, so the status gets created."""
    body = payload()
    before = Candidate("participant:1", body, ensures=({"member_status": {"label": "Invited"}},))
    after = Candidate("participant:1", body, ensures=({"member_status": {"label": "Invited"}}, {"x": 1}))
    synced = entry("synced", body)
    synced.payload_hash = before.payload_hash
    assert one(before, synced) is Action.UNCHANGED
    assert one(after, synced) is Action.UPDATE
    assert Candidate("participant:1", body).payload_hash == canonical_hash(body)  # rows without extras: as before


def test_a_changed_payload_updates_the_known_crm_record() -> None:
    assert one(Candidate("participant:1", payload(Title="CNO")), entry("synced", payload())) is Action.UPDATE


def test_key_order_of_a_payload_does_not_count_as_a_change() -> None:
    a = {"LastName": "Okafor", "Ignite_Key__c": "participant:1"}
    assert one(Candidate("participant:1", a), entry("synced", payload())) is Action.UNCHANGED


def test_a_refused_payload_is_not_resent_until_it_changes() -> None:
    body = payload()
    rejected = entry("rejected", body, crm_id=None, error_code="REQUIRED_FIELD_MISSING")
    assert one(Candidate("participant:1", body), rejected) is Action.STILL_REJECTED
    assert one(Candidate("participant:1", payload(Title="fixed")), rejected) is Action.CREATE


def test_a_replayed_rejection_is_sent_again() -> None:
    replayed = entry("rejected", None, crm_id=None)  # replay cleared the rejected hash
    assert one(Candidate("participant:1", payload()), replayed) is Action.CREATE


def test_a_rejected_update_of_an_existing_record_is_retried_as_an_update_when_changed() -> None:
    rejected = entry("rejected", payload(Title="x" * 300), crm_id="003A")
    assert one(Candidate("participant:1", payload(Title="ok")), rejected) is Action.UPDATE


def test_a_child_whose_parent_is_not_in_the_crm_is_blocked_by_that_parent() -> None:
    missing = ParentRef("organizations", "org:gone")
    plan = plan_chunk([Candidate("participant:1", payload(), (ORG, missing))], {}, {"organizations": {"org:flch"}})
    [decision] = plan.decisions
    assert decision.action is Action.BLOCKED and decision.blocked_by == missing


def test_a_blocked_child_goes_out_once_its_parent_is_in_the_crm() -> None:
    candidate = Candidate("participant:1", payload(), (ParentRef("organizations", "org:late"),))
    assert plan_chunk([candidate], {}, {"organizations": set()}).decisions[0].action is Action.BLOCKED
    assert plan_chunk([candidate], {}, {"organizations": {"org:late"}}).decisions[0].action is Action.CREATE


def test_a_row_without_a_payload_is_invalid_before_anything_else() -> None:
    bad = Candidate("participant:1", None, (ParentRef("organizations", "org:gone"),), problem="Email: too long")
    assert one(bad) is Action.INVALID


def test_counts_and_parent_lookups_of_a_chunk() -> None:
    rows = [
        Candidate("participant:1", payload(), (ORG,)),
        Candidate("participant:2", payload(), (ParentRef("organizations", "org:x"),)),
    ]
    plan = plan_chunk(rows, {}, {"organizations": {"org:flch"}})
    assert plan.counts() == {"create": 1, "blocked": 1}
    assert parent_refs(rows) == {"organizations": {"org:flch", "org:x"}}
    assert [d.candidate.key for d in plan.to_send] == ["participant:1"]


def test_batches_split_in_order_and_reject_a_zero_size() -> None:
    assert [list(b) for b in batches([1, 2, 3, 4, 5], 2)] == [[1, 2], [3, 4], [5]]
    with pytest.raises(ValueError, match="batch size"):
        list(batches([1], 0))


def test_soql_literals_escape_quotes_and_backslashes() -> None:
    assert soql_quote("o'brien@example.org") == "'o\\'brien@example.org'"
    assert soql_quote("a\\b") == "'a\\\\b'"
    assert soql_quote("x' OR Name != '") == "'x\\' OR Name != \\''"


def test_match_queries_hold_at_most_200_distinct_emails_each() -> None:
    emails = [f"p{i}@example.org" for i in range(450)] + ["p1@example.org", ""]
    queries = match_queries("Contact", "Email", "Ignite_Key__c", emails)
    assert len(queries) == 3
    assert queries[0].count("@example.org") == 200 and queries[2].count("@example.org") == 50
    assert queries[0].startswith("SELECT Id, Email, Ignite_Key__c FROM Contact WHERE Email IN ('p0@example.org'")


def test_only_unkeyed_crm_records_are_adopted_and_the_oldest_wins() -> None:
    rows = [
        {"Id": "003B", "Email": "Ann@Example.org", "Ignite_Key__c": None},
        {"Id": "003A", "Email": "ann@example.org", "Ignite_Key__c": None},
        {"Id": "003C", "Email": "bo@example.org", "Ignite_Key__c": "participant:other"},
    ]
    assert pick_matches(rows, "Email", "Ignite_Key__c") == {"ann@example.org": "003A"}
