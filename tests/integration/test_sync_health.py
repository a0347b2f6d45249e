"""Development staff see and steer the sync from inside the CRM: issue records, run records, Retry requested.

A participant without a job title is refused by an org that requires Contact.Title (REQUIRED_FIELD_MISSING);
their enrolment and attendance wait for them (blocked).  Each becomes an Ignite_Sync_Issue__c with a hint,
resolved (never deleted) when the row lands; staff set Retry requested to have it sent at once.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from syncdata import (
    PROFILE,
    describes,
    local_crm,
    program,
    seed,
    title_required,
    update_records,
    with_first_participant_untitled,
)

from connector.local import LocalCrm
from mappings.health import what_to_do
from store.jobs import JobRepository
from sync import jobs as job_kinds
from sync.runner import make_handlers, replay, run_sync, sync_status
from sync.worker import JobControl
from tests.sync_options import housekeeping, options

ISSUE_FIELDS = (
    "Ignite_Key__c, Status__c, Problem__c, Object__c, Step__c, Record_Key__c, Error_Code__c, Fields__c, "
    "Message__c, What_To_Do__c, Blocked_By__c, Attempts__c, Last_Tried__c, Next_Retry__c, First_Seen__c, "
    "Resolved_On__c, Contact__c, CRM_Record_Id__c"
)


def issues(crm: LocalCrm, where: str = "") -> list[dict[str, Any]]:
    return crm.query_all(f"SELECT Id, {ISSUE_FIELDS} FROM Ignite_Sync_Issue__c {where} ORDER BY Ignite_Key__c")


@pytest.fixture
def refused(engine: Engine, tmp_path: Path) -> tuple[LocalCrm, dict[str, Any]]:
    """A synced program with one participant the org refuses, and the first run's report."""
    data = with_first_participant_untitled(program())
    seed(engine, data)
    crm, _ = local_crm(tmp_path, title_required())
    report = run_sync(engine, crm, options(PROFILE))
    return crm, {"report": report, "data": data}


def test_a_rejected_row_becomes_an_open_issue_with_the_hint_for_its_error_code(
    refused: tuple[LocalCrm, dict[str, Any]],
) -> None:
    crm, _ = refused
    [issue] = issues(crm, "WHERE Problem__c = 'Rejected'")
    assert issue["Status__c"] == "Open"
    assert issue["Object__c"] == "Contact" and issue["Step__c"] == "participant_contact"
    assert issue["Error_Code__c"] == "REQUIRED_FIELD_MISSING"
    assert issue["Fields__c"] == "Title"
    assert issue["What_To_Do__c"] == what_to_do("REQUIRED_FIELD_MISSING")
    assert "requires a field" in issue["What_To_Do__c"]
    assert issue["Attempts__c"] == 1 and issue["Last_Tried__c"] and issue["Next_Retry__c"] > issue["Last_Tried__c"]
    assert issue["Record_Key__c"].startswith("participant:")
    assert "@" not in str(issue)  # people are keyed by a hash: no email in the org's issue


def test_blocked_children_appear_as_issues_naming_their_failed_parent(
    refused: tuple[LocalCrm, dict[str, Any]],
) -> None:
    crm, _ = refused
    [parent] = issues(crm, "WHERE Problem__c = 'Rejected'")
    blocked = issues(crm, "WHERE Problem__c = 'Blocked'")
    assert blocked, "the refused participant's enrolment and attendance wait for them"
    for issue in blocked:
        assert issue["Blocked_By__c"] == parent["Record_Key__c"]
        assert issue["Error_Code__c"] == "BLOCKED_BY_PARENT"
        assert parent["Record_Key__c"] in issue["Message__c"]
        assert "Blocked By" in issue["What_To_Do__c"]


def test_an_unchanged_resync_writes_no_issue_or_run_record(
    engine: Engine, refused: tuple[LocalCrm, dict[str, Any]]
) -> None:
    crm, _ = refused
    before = crm.counter.calls.get("upsert", 0)
    again = run_sync(engine, crm, options(PROFILE))
    # the only call: one query for issues staff set to Retry requested (made while issues are open)
    assert again.api_calls == {"query": 1}
    assert crm.counter.calls.get("upsert", 0) == before
    assert again.health is not None and again.health.issues_written == 0 and not again.health.run_record


def test_an_issue_is_resolved_with_a_date_when_its_row_lands_and_is_never_deleted(
    engine: Engine, refused: tuple[LocalCrm, dict[str, Any]]
) -> None:
    crm, _ = refused
    count = len(issues(crm))
    crm.ensure_schema(describes())  # the admin relaxes the rule
    replay(engine, rejected=True)
    healed = run_sync(engine, crm, options(PROFILE))
    assert healed.status == "succeeded", healed.as_dict()
    after = issues(crm)
    assert len(after) == count
    assert {i["Status__c"] for i in after} == {"Resolved"}
    assert all(i["Resolved_On__c"] for i in after)
    [person] = [i for i in after if i["Step__c"] == "participant_contact"]
    assert person["Contact__c"] and person["Contact__c"] == person["CRM_Record_Id__c"]
    calls = crm.counter.total
    assert run_sync(engine, crm, options(PROFILE)).total_api_calls == 0  # nothing open: no call at all
    assert crm.counter.total == calls


def test_retry_requested_sends_the_row_again_at_once_and_resolves_its_issue(
    engine: Engine, refused: tuple[LocalCrm, dict[str, Any]]
) -> None:
    crm, _ = refused
    [issue] = issues(crm, "WHERE Problem__c = 'Rejected'")
    crm.ensure_schema(describes())  # staff fix the cause in Salesforce...
    crm.update("Ignite_Sync_Issue__c", [{"Id": issue["Id"], "Status__c": "Retry requested"}])  # ...and ask

    report = run_sync(engine, crm, options(PROFILE))  # well inside the hour of backoff
    assert report.health is not None and report.health.retries_requested == 1
    assert report.by_object()["Contact"]["created"] == 1
    assert {i["Status__c"] for i in issues(crm)} == {"Resolved"}  # the blocked children landed too
    assert sync_status(engine)["errors"] == []


def test_retry_requested_without_a_fix_goes_back_to_open_with_the_new_attempt(
    engine: Engine, refused: tuple[LocalCrm, dict[str, Any]]
) -> None:
    crm, _ = refused
    [issue] = issues(crm, "WHERE Problem__c = 'Rejected'")
    crm.update("Ignite_Sync_Issue__c", [{"Id": issue["Id"], "Status__c": "Retry requested"}])

    report = run_sync(engine, crm, options(PROFILE))
    assert report.by_object()["Contact"]["rejected"] == 1
    [again] = issues(crm, "WHERE Problem__c = 'Rejected'")
    assert again["Status__c"] == "Open" and again["Attempts__c"] == 2
    assert again["First_Seen__c"] == issue["First_Seen__c"]


def test_run_records_match_status_json(engine: Engine, refused: tuple[LocalCrm, dict[str, Any]]) -> None:
    crm, _ = refused
    [run] = crm.query_all(
        "SELECT Ignite_Key__c, Mode__c, Outcome__c, Created__c, Updated__c, Unchanged__c, Rejected__c, Blocked__c, "
        "Invalid__c, API_Calls__c, Issues_Not_Written__c FROM Ignite_Sync_Run__c"
    )
    [latest] = sync_status(engine, runs=1)["runs"]
    counts = latest["counts"]

    def total(name: str) -> int:
        return sum(c.get(name, 0) for c in counts.values())

    assert run["Ignite_Key__c"].endswith(f":{latest['id']}")
    assert (run["Mode__c"], run["Outcome__c"]) == (latest["mode"], latest["status"].title())
    assert run["Created__c"] == total("created") > 0
    assert run["Updated__c"] == total("updated") + total("matched")
    assert (run["Rejected__c"], run["Blocked__c"], run["Invalid__c"]) == (
        total("rejected"),
        total("blocked"),
        total("invalid"),
    )
    assert run["Rejected__c"] == 1
    assert run["API_Calls__c"] == latest["api_calls"]  # the run's own calls, the issues' and its own write
    assert run["Issues_Not_Written__c"] == 0


def test_at_most_max_issues_are_written_per_run_and_the_rest_follow(engine: Engine, tmp_path: Path) -> None:
    seed(engine, with_first_participant_untitled(program()))
    crm, _ = local_crm(tmp_path, title_required())
    first = run_sync(engine, crm, options(PROFILE, max_issues=2))
    assert first.health is not None and first.health.issues_written == 2 and first.health.issues_not_written > 0
    [run] = crm.query_all("SELECT Issues_Not_Written__c FROM Ignite_Sync_Run__c")
    assert run["Issues_Not_Written__c"] == first.health.issues_not_written
    left = first.health.issues_not_written
    while left:
        report = run_sync(engine, crm, options(PROFILE, max_issues=2))
        assert report.health is not None
        left = report.health.issues_not_written
    assert len(issues(crm)) == 2 + first.health.issues_not_written


def test_sync_health_off_writes_no_issue_or_run_record(engine: Engine, tmp_path: Path) -> None:
    seed(engine, with_first_participant_untitled(program()))
    crm, _ = local_crm(tmp_path, title_required())
    report = run_sync(engine, crm, options(PROFILE, sync_health=False))
    assert report.by_object()["Contact"]["rejected"] == 1
    assert issues(crm) == []
    assert crm.query_all("SELECT Id FROM Ignite_Sync_Run__c") == []


def test_an_org_without_the_health_objects_still_syncs_and_says_why_nothing_was_recorded(
    engine: Engine, tmp_path: Path
) -> None:
    seed(engine, with_first_participant_untitled(program()))
    bare = {name: d for name, d in title_required().items() if not name.startswith("Ignite_Sync_")}
    crm = LocalCrm.create_database(f"sqlite:///{tmp_path / 'bare.db'}", bare)  # the plugin of an older release
    report = run_sync(engine, crm, options(PROFILE))
    assert report.by_object()["Contact"]["rejected"] == 1 and report.status == "partial"
    assert report.health is not None and report.health.error
    assert report.health.issues_written == 0


def test_the_workers_housekeeping_queues_a_sync_when_staff_ask_for_a_retry(
    engine: Engine, refused: tuple[LocalCrm, dict[str, Any]]
) -> None:
    crm, _ = refused
    handlers = make_handlers(engine, lambda: crm, options(PROFILE), housekeeping(PROFILE))
    control = JobControl(threading.Event())
    handlers[job_kinds.HOUSEKEEPING](None, control)  # type: ignore[arg-type]
    with engine.connect() as conn:
        assert [j for j in JobRepository(conn).list_jobs(limit=10) if j.kind == job_kinds.SYNC] == []
    [issue] = issues(crm, "WHERE Problem__c = 'Rejected'")
    crm.update("Ignite_Sync_Issue__c", [{"Id": issue["Id"], "Status__c": "Retry requested"}])
    handlers[job_kinds.HOUSEKEEPING](None, control)  # type: ignore[arg-type]
    with engine.connect() as conn:
        queued = [j for j in JobRepository(conn).list_jobs(limit=10) if j.kind == job_kinds.SYNC]
    assert [j.payload["reason"] for j in queued] == ["staff asked for a retry in the CRM"]


def test_retry_requested_on_a_resolved_issue_is_set_back_to_resolved(engine: Engine, tmp_path: Path) -> None:
    """Nothing to send, so the sync says so by writing Resolved again (it looks while any issue is open)."""
    data = program()
    first, second = data["participants"][0], data["participants"][1]
    data["participants"][0] = first.model_copy(update={"job_title": None})
    data["participants"][1] = second.model_copy(update={"job_title": None})
    seed(engine, data)
    crm, _ = local_crm(tmp_path, title_required())
    run_sync(engine, crm, options(PROFILE))
    update_records(engine, "participants", [first])  # the first one's title is filled in: that row lands
    run_sync(engine, crm, options(PROFILE))
    [fixed] = issues(crm, f"WHERE Record_Key__c = '{first.key}' AND Step__c = 'participant_contact'")
    assert fixed["Status__c"] == "Resolved"
    crm.update("Ignite_Sync_Issue__c", [{"Id": fixed["Id"], "Status__c": "Retry requested"}])  # a stray click
    run_sync(engine, crm, options(PROFILE))
    [again] = issues(crm, f"WHERE Id = '{fixed['Id']}'")
    assert again["Status__c"] == "Resolved"
    [still] = issues(crm, f"WHERE Record_Key__c = '{second.key}' AND Step__c = 'participant_contact'")
    assert still["Status__c"] == "Open"
