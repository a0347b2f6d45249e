"""The sync engine against the embedded local CRM, on SQLite and Postgres service databases."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine
from syncdata import (
    KEY,
    PROFILE,
    crm_rows,
    describes,
    keys_of,
    local_crm,
    program,
    seed,
    title_required,
    update_records,
    with_first_participant_untitled,
)

from models import Cohort, Participant
from sync.options import WorkerOptions
from sync.runner import enqueue_sync, make_handlers, replay, run_sync, run_worker, sync_status
from tests.sync_options import housekeeping, options
from wiring import open_local_crm


@pytest.fixture
def data() -> dict[str, list]:  # type: ignore[type-arg]
    return program()


def expected_counts(data: dict[str, list]) -> dict[str, int]:  # type: ignore[type-arg]
    return {
        "Contact": len(data["participants"]),
        "pmdm__ProgramEngagement__c": len(data["enrollments"]),
        "pmdm__ServiceDelivery__c": len(data["attendance"]),
        "pmdm__ServiceSession__c": len(data["sessions"]),
        "pmdm__ProgramCohort__c": len(data["cohorts"]),
        "Account": len(data["organizations"]) + len(data["funders"]),
    }


def test_a_first_sync_creates_every_record_parents_first(engine: Engine, tmp_path: Path, data: dict) -> None:  # type: ignore[type-arg]
    seed(engine, data)
    crm, _ = local_crm(tmp_path)
    report = run_sync(engine, crm, options(PROFILE))
    assert report.status == "succeeded", report.as_dict()
    for object_name, n in expected_counts(data).items():
        assert len(keys_of(crm, object_name)) == n, object_name
    # lookups resolved: every attendance row points at a real session and contact
    deliveries = crm_rows(crm, "pmdm__ServiceDelivery__c", f"{KEY}, pmdm__Contact__c, pmdm__ServiceSession__c")
    assert all(r["pmdm__Contact__c"] and r["pmdm__ServiceSession__c"] for r in deliveries)
    accounts = crm_rows(crm, "Account", f"{KEY}, Ignite_Participants__c, RecordTypeId")
    host = next(a for a in accounts if a[KEY] == "org:catskill-ridge")
    assert host["Ignite_Participants__c"] == len(data["participants"])  # the summary step landed on the Account
    assert host["RecordTypeId"]


def test_an_unchanged_resync_makes_zero_crm_calls(engine: Engine, tmp_path: Path, data: dict) -> None:  # type: ignore[type-arg]
    seed(engine, data)
    crm, _ = local_crm(tmp_path)
    run_sync(engine, crm, options(PROFILE))
    before = crm.counter.total
    report = run_sync(engine, crm, options(PROFILE))
    assert crm.counter.total == before
    assert report.total_api_calls == 0
    total_unchanged = sum(c["unchanged"] for c in report.by_object().values())
    assert total_unchanged >= sum(expected_counts(data).values())


def test_only_the_changed_record_and_the_rows_built_from_it_are_sent(
    engine: Engine, tmp_path: Path, data: dict
) -> None:  # type: ignore[type-arg]
    seed(engine, data)
    crm, _ = local_crm(tmp_path)
    run_sync(engine, crm, options(PROFILE))
    person: Participant = data["participants"][0]
    update_records(engine, "participants", [person.model_copy(update={"first_name": "Renamed"})])
    report = run_sync(engine, crm, options(PROFILE))
    objects = report.by_object()
    contacts = report.steps["participant_contact"]  # the Contact records (each also carries participant_summary)
    assert contacts.updated == 1 and contacts.unchanged == len(data["participants"]) - 1
    assert report.steps["participant_summary"].updated == 0  # a new first name changes no engagement count
    # the enrolment and attendance names are templates over the participant's name: those rows change too
    assert objects["pmdm__ProgramEngagement__c"]["updated"] == 1
    assert objects["pmdm__ServiceDelivery__c"]["updated"] == 2
    assert objects["pmdm__ProgramCohort__c"]["updated"] == 0
    [contact] = [r for r in crm_rows(crm, "Contact", f"{KEY}, FirstName") if r[KEY] == person.key]
    assert contact["FirstName"] == "Renamed"


def test_a_full_sync_resends_everything(engine: Engine, tmp_path: Path, data: dict) -> None:  # type: ignore[type-arg]
    seed(engine, data)
    crm, _ = local_crm(tmp_path)
    run_sync(engine, crm, options(PROFILE))
    report = run_sync(engine, crm, options(PROFILE, full=True))
    assert report.steps["participant_contact"].updated == len(data["participants"])
    assert report.steps["participant_summary"].updated == len(data["participants"])  # summaries resent too


def test_a_dry_run_writes_nothing_and_says_what_would_change(engine: Engine, tmp_path: Path, data: dict) -> None:  # type: ignore[type-arg]
    seed(engine, data)
    crm, _ = local_crm(tmp_path)
    report = run_sync(engine, crm, options(PROFILE, dry_run=True))
    assert report.by_object()["pmdm__ServiceDelivery__c"]["created"] == len(data["attendance"])
    assert report.by_object()["pmdm__ServiceDelivery__c"]["blocked"] == 0  # parents would exist by then
    assert report.writes == 0
    assert keys_of(crm, "Contact") == []
    assert sync_status(engine)["objects"] == {}


def test_only_limits_the_sync_to_the_named_objects(engine: Engine, tmp_path: Path, data: dict) -> None:  # type: ignore[type-arg]
    seed(engine, data)
    crm, _ = local_crm(tmp_path)
    report = run_sync(engine, crm, options(PROFILE, only=["Account"]))
    assert set(report.by_object()) == {"Account"}
    assert keys_of(crm, "Contact") == []
    with pytest.raises(ValueError, match="no such object"):
        run_sync(engine, crm, options(PROFILE, only=["Contactz"]))


def test_an_existing_contact_with_the_same_email_is_adopted_not_duplicated(
    engine: Engine,
    tmp_path: Path,
    data: dict,  # type: ignore[type-arg]
) -> None:
    seed(engine, data)
    crm, _ = local_crm(tmp_path)
    person: Participant = data["participants"][1]
    [made] = crm.create("Contact", [{"LastName": "Entered By Staff", "Email": person.email.upper(), "Phone": "555"}])
    report = run_sync(engine, crm, options(PROFILE))
    assert report.by_object()["Contact"]["matched"] == 1
    contacts = crm_rows(crm, "Contact", f"{KEY}, Email, Phone")
    assert len(contacts) == len(data["participants"])
    adopted = next(c for c in contacts if c["Id"] == made.id)
    assert adopted[KEY] == person.key
    assert adopted["Phone"] == "555"  # Phone is `if_blank`: the value staff entered stays


def test_rejected_rows_do_not_block_others_and_go_through_after_the_fix_and_replay(
    engine: Engine,
    tmp_path: Path,
    data: dict,  # type: ignore[type-arg]
) -> None:
    """Reliability 5: a field the CRM requires but only some records have."""
    no_title = with_first_participant_untitled(data)["participants"][0]
    seed(engine, data)
    crm, _ = local_crm(tmp_path, title_required())

    report = run_sync(engine, crm, options(PROFILE))
    objects = report.by_object()
    assert objects["Contact"]["rejected"] == 1 and objects["Contact"]["created"] == len(data["participants"]) - 1
    assert objects["pmdm__ProgramEngagement__c"]["blocked"] == 1
    assert objects["pmdm__ServiceDelivery__c"]["blocked"] == 2
    status = sync_status(engine)
    rejected = next(e for e in status["errors"] if e["status"] == "rejected")
    assert rejected["object"] == "Contact" and rejected["code"] == "REQUIRED_FIELD_MISSING"
    assert rejected["keys"] == [no_title.key] and "Title" in rejected["message"]
    blocked = next(e for e in status["errors"] if e["object"] == "pmdm__ProgramEngagement__c")
    assert no_title.key in blocked["message"]

    # resending an unchanged refused row cannot help: the next sync leaves it alone
    again = run_sync(engine, crm, options(PROFILE))
    assert again.writes == 0 and again.by_object()["Contact"]["rejected"] == 1

    crm.ensure_schema(describes())  # the admin relaxes the rule in the CRM
    replayed = replay(engine, rejected=True)
    assert replayed["rejected_rows"] == 1
    final = run_sync(engine, crm, options(PROFILE))
    assert final.status == "succeeded", final.as_dict()
    assert final.by_object()["Contact"]["created"] == 1
    assert final.by_object()["pmdm__ServiceDelivery__c"]["created"] == 2  # the blocked children followed
    for object_name, n in expected_counts(data).items():
        assert len(keys_of(crm, object_name)) == n, object_name
    assert sync_status(engine)["errors"] == []


def test_a_record_deleted_in_the_crm_is_found_by_the_reconcile_and_sent_again(
    engine: Engine,
    tmp_path: Path,
    data: dict,  # type: ignore[type-arg]
) -> None:
    from sync.maintenance import reconcile

    seed(engine, data)
    crm, _ = local_crm(tmp_path)
    run_sync(engine, crm, options(PROFILE))
    gone = crm_rows(crm, "pmdm__ProgramCohort__c")[0]
    crm.delete("pmdm__ProgramCohort__c", [gone["Id"]])
    result = reconcile(engine, crm, ["pmdm__ProgramCohort__c", "Contact"])
    assert result.missing == {"pmdm__ProgramCohort__c": [gone["Id"]], "Contact": []}
    assert sync_status(engine)["objects"]["pmdm__ProgramCohort__c"]["missing"] == 1
    report = run_sync(engine, crm, options(PROFILE))
    assert report.by_object()["pmdm__ProgramCohort__c"]["created"] == 1
    assert gone[KEY] in keys_of(crm, "pmdm__ProgramCohort__c")


def test_a_changed_cohort_name_reaches_the_rows_that_show_it(engine: Engine, tmp_path: Path, data: dict) -> None:  # type: ignore[type-arg]
    seed(engine, data)
    crm, _ = local_crm(tmp_path)
    run_sync(engine, crm, options(PROFILE))
    cohort: Cohort = data["cohorts"][0]
    update_records(engine, "cohorts", [cohort.model_copy(update={"name": "Renamed Cohort"})])
    report = run_sync(engine, crm, options(PROFILE))
    objects = report.by_object()
    assert objects["pmdm__ProgramCohort__c"]["updated"] == 1
    assert objects["pmdm__ProgramEngagement__c"]["updated"] == 4  # "<cohort name>: <person>"
    assert objects["Contact"]["updated"] == 0


def test_status_counts_what_is_still_pending_per_object(engine: Engine, tmp_path: Path, data: dict) -> None:  # type: ignore[type-arg]
    seed(engine, data)
    crm, _ = local_crm(tmp_path)
    before = sync_status(engine, profile=PROFILE)["objects"]
    assert before["Contact"] == {"pending": len(data["participants"])}
    run_sync(engine, crm, options(PROFILE, only=["Account", "Contact"]))
    after = sync_status(engine, profile=PROFILE)["objects"]
    assert after["Contact"] == {"synced": len(data["participants"]), "pending": 0}
    assert after["pmdm__ServiceDelivery__c"]["pending"] == len(data["attendance"])


def test_a_queued_sync_is_run_by_a_worker(engine: Engine, tmp_path: Path, data: dict) -> None:  # type: ignore[type-arg]
    seed(engine, data)
    crm, url = local_crm(tmp_path)
    job_id = enqueue_sync(engine, reason="test")
    assert enqueue_sync(engine, reason="another import") == job_id  # pending incremental syncs coalesce
    handlers = make_handlers(engine, lambda: open_local_crm(url, PROFILE), options(PROFILE), housekeeping(PROFILE))
    stats = run_worker(engine, handlers, WorkerOptions(once=True, reconcile_every=None))
    assert stats.succeeded == 1
    assert len(keys_of(crm, "Contact")) == len(data["participants"])
    status = sync_status(engine)
    assert status["jobs"] == {"succeeded": 1}
    assert status["runs"][0]["mode"] == "incremental" and status["runs"][0]["status"] == "succeeded"


def test_records_that_map_to_one_crm_row_are_sent_once(engine: Engine, tmp_path: Path, data: dict) -> None:  # type: ignore[type-arg]
    """Nonprofit Cloud: the pre and post outcomes of a cohort's measure share one IndicatorAssignment."""
    seed(engine, data)
    crm = open_local_crm(f"sqlite:///{tmp_path / 'npc.db'}", "nonprofit_cloud")
    # The small program's cohorts have fewer than 5 respondents; a suppressed result is not written at all (the
    # org requires ResultValue), so count every answer here to see both phases' results.
    report = run_sync(engine, crm, options("nonprofit_cloud", min_respondents=1))
    assignments = report.by_object()["IndicatorAssignment"]
    assert assignments["created"] == len(data["cohorts"]) and assignments["rejected"] == 0
    assert report.by_object()["IndicatorResult"]["created"] == 2 * len(data["cohorts"])  # pre and post


def test_a_changed_outcome_updates_its_result_without_touching_the_create_only_denominator(
    engine: Engine,
    tmp_path: Path,
    data: dict,  # type: ignore[type-arg]
) -> None:
    """Nonprofit Cloud refuses IndicatorResult.Denominator on update: a later answer changes the result's value,
    and the update leaves Denominator (create-only) out instead of being rejected."""
    seed(engine, data)
    crm = open_local_crm(f"sqlite:///{tmp_path / 'npc.db'}", "nonprofit_cloud")
    run_sync(engine, crm, options("nonprofit_cloud", min_respondents=1))
    before = {r[KEY]: r for r in crm_rows(crm, "IndicatorResult", f"{KEY}, ResultValue, Denominator")}
    first = data["responses"][0]
    update_records(engine, "responses", [first.model_copy(update={"value": first.value + 2})])

    report = run_sync(engine, crm, options("nonprofit_cloud", min_respondents=1))

    results = report.by_object()["IndicatorResult"]
    assert results["updated"] == 1 and results["rejected"] == 0, results
    after = {r[KEY]: r for r in crm_rows(crm, "IndicatorResult", f"{KEY}, ResultValue, Denominator")}
    [changed] = [k for k in after if after[k]["ResultValue"] != before[k]["ResultValue"]]
    assert after[changed]["Denominator"] == before[changed]["Denominator"]
