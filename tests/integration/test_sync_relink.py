"""Staff delete (or merge) a person in the CRM: when the sync brings them back, their history follows them.

A parent's CRM Id changes when staff delete it and the sync re-creates it, or merge it into another record.
Every child that looks it up (engagements, deliveries, campaign members, attendance…) must point at the new Id
after the same run, whatever the lookup's update policy, and `status` must only say synced when it is so.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from crmspy import RecordingCrm
from sqlalchemy import Engine
from syncdata import KEY, program, seed

from connector.local import LocalCrm
from mappings.profile import load_profile
from models import Participant
from store.ledger import LedgerRepository
from sync.maintenance import reconcile
from sync.profiles import table_steps
from sync.runner import replay, run_sync, sync_status
from tests.sync_options import options
from wiring import open_local_crm

ENGAGEMENT = "pmdm__ProgramEngagement__c"
DELIVERY = "pmdm__ServiceDelivery__c"
ATTENDANCE = "Ignite_Attendance__c"


def crm_for(tmp_path: Path, profile: str) -> LocalCrm:
    return open_local_crm(f"sqlite:///{tmp_path / f'{profile}.db'}", profile)


def synced(
    engine: Engine, tmp_path: Path, profile: str, data: dict[str, Any]
) -> tuple[dict[str, Any], LocalCrm, Participant]:
    """The program stored and synced once to a fresh local CRM; the first participant is the person staff touch."""
    seed(engine, data)
    crm = crm_for(tmp_path, profile)
    assert run_sync(engine, crm, options(profile)).status == "succeeded"
    return data, crm, data["participants"][0]


def by_key(crm: LocalCrm, object_name: str, fields: str = "Id") -> dict[str, dict[str, Any]]:
    return {str(r[KEY]): r for r in crm.query_all(f"SELECT {KEY}, {fields} FROM {object_name}")}


def contact_of(crm: LocalCrm, person: Participant) -> str:
    return str(by_key(crm, "Contact")[person.key]["Id"])


def ids_where(crm: LocalCrm, object_name: str, field: str, value: str) -> list[str]:
    return [str(r["Id"]) for r in crm.query_all(f"SELECT Id FROM {object_name} WHERE {field} = '{value}'")]


def ledger_agrees_with_crm(engine: Engine, crm: LocalCrm, step: str, object_name: str) -> None:
    """Every Id the ledger holds as synced is the live CRM record carrying that key: `status` tells the truth."""
    live = {k: r["Id"] for k, r in by_key(crm, object_name).items()}
    with engine.connect() as conn:
        entries = [e for page in LedgerRepository(conn).iter_known_ids(object_name) for e in page if e.step == step]
    assert entries
    wrong = {e.record_key: (e.crm_id, live.get(e.record_key)) for e in entries if live.get(e.record_key) != e.crm_id}
    assert wrong == {}


def staff_delete_person_pmm(crm: LocalCrm, contact: str) -> None:
    """What PMM lets staff do: its lookups restrict the delete, so deliveries and engagements go first."""
    [refused] = crm.delete("Contact", [contact])
    assert refused.error_code == "DELETE_FAILED"
    assert all(r.success for r in crm.delete(DELIVERY, ids_where(crm, DELIVERY, "pmdm__Contact__c", contact)))
    assert all(r.success for r in crm.delete(ENGAGEMENT, ids_where(crm, ENGAGEMENT, "pmdm__Contact__c", contact)))
    assert crm.delete("Contact", [contact])[0].success


def assert_pmm_history_follows(engine: Engine, crm: LocalCrm, data: dict[str, Any], person: Participant) -> str:
    new_id = contact_of(crm, person)
    engagements = by_key(crm, ENGAGEMENT, "Id, pmdm__Contact__c, pmdm__Stage__c")
    mine = [e for e in data["enrollments"] if e.participant == person.key]
    assert mine
    for enrollment in mine:
        row = engagements[enrollment.key]
        assert row["pmdm__Contact__c"] == new_id
        assert row["pmdm__Stage__c"]  # re-created whole, not from an update's partial payload
    deliveries = by_key(crm, DELIVERY, "pmdm__Contact__c, pmdm__ProgramEngagement__c")
    attended = [a for a in data["attendance"] if a.participant == person.key]
    assert attended
    engagement_ids = {engagements[e.key]["Id"] for e in mine}
    for attendance in attended:
        row = deliveries[attendance.key]
        assert row["pmdm__Contact__c"] == new_id
        assert row["pmdm__ProgramEngagement__c"] in engagement_ids
    assert sync_status(engine)["errors"] == []
    for step, object_name in (("participant_contact", "Contact"), ("enrollment", ENGAGEMENT), ("attendance", DELIVERY)):
        ledger_agrees_with_crm(engine, crm, step, object_name)
    return new_id


def test_a_person_staff_deleted_comes_back_with_engagements_and_deliveries_on_a_full_sync(
    engine: Engine, tmp_path: Path
) -> None:
    data, crm, person = synced(engine, tmp_path, "npsp_pmm", program(cohorts=1, per_cohort=3, sessions=2))
    old_id = contact_of(crm, person)
    staff_delete_person_pmm(crm, old_id)

    report = run_sync(engine, crm, options("npsp_pmm", full=True))

    assert report.status == "succeeded", report.as_dict()
    assert assert_pmm_history_follows(engine, crm, data, person) != old_id
    before = crm.counter.total
    assert run_sync(engine, crm, options("npsp_pmm")).total_api_calls == 0
    assert crm.counter.total == before


def test_a_person_the_reconcile_found_deleted_comes_back_with_their_history_on_the_next_incremental_sync(
    engine: Engine, tmp_path: Path
) -> None:
    data, crm, person = synced(engine, tmp_path, "npsp_pmm", program(cohorts=1, per_cohort=3, sessions=2))
    old_id = contact_of(crm, person)
    staff_delete_person_pmm(crm, old_id)
    assert reconcile(engine, crm, ["Contact"]).missing == {"Contact": [old_id]}  # the children were not checked

    report = run_sync(engine, crm, options("npsp_pmm"))

    assert report.status == "succeeded", report.as_dict()
    assert assert_pmm_history_follows(engine, crm, data, person) != old_id
    assert run_sync(engine, crm, options("npsp_pmm")).total_api_calls == 0


def assert_core_history_follows(engine: Engine, crm: LocalCrm, data: dict[str, Any], person: Participant) -> str:
    new_id = contact_of(crm, person)
    members = by_key(crm, "CampaignMember", "ContactId")
    mine = [e for e in data["enrollments"] if e.participant == person.key]
    assert mine and all(members[e.key]["ContactId"] == new_id for e in mine)
    attendance = by_key(crm, ATTENDANCE, "Ignite_Contact__c")
    attended = [a for a in data["attendance"] if a.participant == person.key]
    assert attended and all(attendance[a.key]["Ignite_Contact__c"] == new_id for a in attended)
    assert sync_status(engine)["errors"] == []
    for step, object_name in (
        ("participant_contact", "Contact"),
        ("enrollment", "CampaignMember"),
        ("attendance", ATTENDANCE),
    ):
        ledger_agrees_with_crm(engine, crm, step, object_name)
    return new_id


def test_campaign_members_deleted_with_the_person_are_re_created_and_blanked_attendance_relinked(
    engine: Engine, tmp_path: Path
) -> None:
    """Salesforce deletes a Contact's campaign members with it (their ContactId cannot be changed) and blanks
    the attendance lookups (SetNull, mapped `update: never`); a full sync puts both back."""
    data, crm, person = synced(engine, tmp_path, "salesforce_core", program(cohorts=1, per_cohort=3, sessions=2))
    old_id = contact_of(crm, person)
    assert crm.delete("Contact", [old_id])[0].success

    report = run_sync(engine, crm, options("salesforce_core", full=True))

    assert report.status == "succeeded", report.as_dict()
    assert assert_core_history_follows(engine, crm, data, person) != old_id
    assert run_sync(engine, crm, options("salesforce_core")).total_api_calls == 0


def test_after_the_reconcile_an_incremental_sync_relinks_only_the_persons_children(
    engine: Engine, tmp_path: Path
) -> None:
    data, local, person = synced(engine, tmp_path, "salesforce_core", program(cohorts=2, per_cohort=3, sessions=2))
    old_id = contact_of(local, person)
    assert local.delete("Contact", [old_id])[0].success
    reconcile(engine, local, ["Contact"])

    crm = RecordingCrm(local)
    report = run_sync(engine, crm, options("salesforce_core"))

    assert report.status == "succeeded", report.as_dict()
    assert assert_core_history_follows(engine, local, data, person) != old_id
    objects = report.by_object()
    assert objects["CampaignMember"]["created"] == 1  # this person's one enrolment, nobody else's
    assert objects[ATTENDANCE]["updated"] == 2  # the person's two sessions
    assert run_sync(engine, local, options("salesforce_core")).total_api_calls == 0


def test_children_of_a_merged_person_already_moved_by_the_merge_are_only_read_not_written(
    engine: Engine, tmp_path: Path
) -> None:
    data, local, person = synced(engine, tmp_path, "salesforce_core", program(cohorts=1, per_cohort=3, sessions=2))
    ours = contact_of(local, person)
    [staff] = local.create("Contact", [{"LastName": "Okafor-Staff"}])
    assert staff.id is not None
    local.merge("Contact", staff.id, [ours])  # the merge moves members and attendance to the survivor
    reconcile(engine, local, ["Contact"])

    crm = RecordingCrm(local)
    report = run_sync(engine, crm, options("salesforce_core"))

    assert report.status == "succeeded", report.as_dict()
    assert assert_core_history_follows(engine, local, data, person) == staff.id
    assert crm.writes_of("CampaignMember") == [] and crm.writes_of(ATTENDANCE) == []
    assert run_sync(engine, local, options("salesforce_core")).total_api_calls == 0


def test_a_record_staff_deleted_is_re_created_whole_although_its_update_leaves_fields_to_staff(
    engine: Engine, tmp_path: Path
) -> None:
    """A grant's stage and close date are `update: never` and required: an update alone cannot re-create it,
    and the update's fields alone would lose them."""
    data = program(cohorts=1, per_cohort=3, sessions=1)
    seed(engine, data)
    crm = crm_for(tmp_path, "npsp_pmm")
    run_sync(engine, crm, options("npsp_pmm"))
    grant = data["grants"][0]
    old = by_key(crm, "Opportunity", "Id, StageName")[grant.key]
    assert crm.delete("Opportunity", [old["Id"]])[0].success

    report = run_sync(engine, crm, options("npsp_pmm", full=True))

    assert report.status == "succeeded", report.as_dict()
    again = by_key(crm, "Opportunity", "Id, StageName, CloseDate, Ignite_Participants_Funded__c")[grant.key]
    assert again["Id"] != old["Id"]
    assert again["StageName"] == old["StageName"] and again["CloseDate"] == grant.period_start.isoformat()
    assert again["Ignite_Participants_Funded__c"] == 3  # the summary step lands on the new record too
    assert sync_status(engine)["errors"] == []
    ledger_agrees_with_crm(engine, crm, "grant_opportunity", "Opportunity")


def test_the_rows_referencing_a_changed_parent_are_exactly_that_parents_children(engine: Engine) -> None:
    """Found by the indexed column a lookup reads (a person's attendance), or by building every row when the
    lookup is a template (a session's service): either way only the children, all of them."""
    data = program(cohorts=2, per_cohort=3, sessions=2)
    seed(engine, data)
    steps = {p.step.name: p.source for p in table_steps(load_profile("npsp_pmm"))}
    person: Participant = data["participants"][0]
    by_person = steps["attendance"].referencing(engine, {"participant_contact": {person.key}})  # type: ignore[attr-defined]
    assert sorted(c.key for c in by_person) == sorted(a.key for a in data["attendance"] if a.participant == person.key)
    cohort = data["cohorts"][1]
    service = f"service:{cohort.key.split(':', 1)[1]}"
    by_service = steps["attendance"].referencing(engine, {"cohort_service": {service}})  # type: ignore[attr-defined]
    sessions = {s.key for s in data["sessions"] if s.cohort == cohort.key}
    assert sorted(c.key for c in by_service) == sorted(a.key for a in data["attendance"] if a.session in sessions)


def test_a_run_that_stops_before_the_children_leaves_their_relinking_to_the_next_run(
    engine: Engine, tmp_path: Path
) -> None:
    """`--only Contact` (or a crash after the Contact step) re-creates the person; the ledger remembers that
    their children still point at the old Id until a run has re-linked them, then forgets it."""
    data, crm, person = synced(engine, tmp_path, "salesforce_core", program(cohorts=1, per_cohort=3, sessions=2))
    assert crm.delete("Contact", [contact_of(crm, person)])[0].success
    reconcile(engine, crm, ["Contact"])

    first = run_sync(engine, crm, options("salesforce_core", only=["Contact"]))
    assert first.by_object()["Contact"]["created"] == 1
    with engine.connect() as conn:
        assert LedgerRepository(conn).id_changes() == {"participant_contact": {person.key: contact_of(crm, person)}}

    second = run_sync(engine, crm, options("salesforce_core"))
    assert second.status == "succeeded", second.as_dict()
    assert_core_history_follows(engine, crm, data, person)
    with engine.connect() as conn:
        assert LedgerRepository(conn).id_changes() == {}
    assert run_sync(engine, crm, options("salesforce_core")).total_api_calls == 0


def test_a_full_sync_before_the_reconcile_writes_a_merged_person_to_the_survivor_not_a_new_contact(
    engine: Engine, tmp_path: Path
) -> None:
    data, crm, person = synced(engine, tmp_path, "salesforce_core", program(cohorts=1, per_cohort=3, sessions=2))
    [staff] = crm.create("Contact", [{"LastName": "Okafor-Staff", "Phone": "555-0100"}])
    assert staff.id is not None
    crm.merge("Contact", staff.id, [contact_of(crm, person)])
    people_before = len(crm.query_all("SELECT Id FROM Contact"))

    report = run_sync(engine, crm, options("salesforce_core", full=True))

    assert report.status == "succeeded", report.as_dict()
    assert len(crm.query_all("SELECT Id FROM Contact")) == people_before  # no second record of the person
    assert contact_of(crm, person) == staff.id
    assert crm.get("Contact", staff.id, ["Phone"]) == {"Phone": "555-0100"}  # `if_blank`: staff's value stays
    assert_core_history_follows(engine, crm, data, person)
    assert run_sync(engine, crm, options("salesforce_core")).total_api_calls == 0


def test_a_child_the_crm_refuses_while_following_its_parent_is_re_linked_once_the_cause_is_fixed(
    engine: Engine, tmp_path: Path
) -> None:
    data, crm, person = synced(engine, tmp_path, "salesforce_core", program(cohorts=1, per_cohort=3, sessions=2))
    assert crm.delete("Contact", [contact_of(crm, person)])[0].success
    reconcile(engine, crm, ["Contact"])
    loose = crm.describe(ATTENDANCE)
    strict = copy.deepcopy(loose)
    for f in strict["fields"]:
        if f["name"] == "Ignite_Status__c":  # an admin narrows the picklist: the attendance update is refused
            f["picklistValues"] = [v for v in f["picklistValues"] if v["value"] == "Absent"]
    crm.ensure_schema({ATTENDANCE: strict})

    refused = run_sync(engine, crm, options("salesforce_core"))
    assert refused.by_object()[ATTENDANCE]["rejected"] == 2
    with engine.connect() as conn:  # the person stays marked: their attendance still has to follow them
        assert set(LedgerRepository(conn).id_changes()) == {"participant_contact"}

    crm.ensure_schema({ATTENDANCE: loose})
    replay(engine, rejected=True)
    fixed = run_sync(engine, crm, options("salesforce_core"))
    assert fixed.status == "succeeded", fixed.as_dict()
    assert_core_history_follows(engine, crm, data, person)
    with engine.connect() as conn:
        assert LedgerRepository(conn).id_changes() == {}
    assert run_sync(engine, crm, options("salesforce_core")).total_api_calls == 0
