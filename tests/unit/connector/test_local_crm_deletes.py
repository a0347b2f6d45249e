"""`LocalCrm.delete` does to children what an org does: restrict refuses, cascade deletes along, else blank."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from connector.local import LocalCrm
from mappings.snapshots import load_describes
from tests.unit.connector.local_records import made


@pytest.fixture
def pmm(tmp_path: Path) -> Iterator[LocalCrm]:
    with LocalCrm.create_database(f"sqlite:///{tmp_path / 'pmm.db'}", load_describes("npsp_pmm")) as crm:
        yield crm


@pytest.fixture
def core(tmp_path: Path) -> Iterator[LocalCrm]:
    with LocalCrm.create_database(f"sqlite:///{tmp_path / 'core.db'}", load_describes("salesforce_core")) as crm:
        yield crm


def test_a_contact_with_program_engagements_cannot_be_deleted_as_pmm_restricts_it(pmm: LocalCrm) -> None:
    contact = made(pmm, "Contact", {"LastName": "Okafor"})
    program = made(pmm, "pmdm__Program__c", {"Name": "Ignite", "pmdm__Status__c": "Active"})
    engagement = made(
        pmm,
        "pmdm__ProgramEngagement__c",
        {"Name": "Okafor", "pmdm__Contact__c": contact, "pmdm__Program__c": program, "pmdm__Stage__c": "Active"},
    )
    [refused] = pmm.delete("Contact", [contact])
    assert not refused.success and refused.error_code == "DELETE_FAILED"
    assert engagement in (refused.message or "")
    assert pmm.get("Contact", contact) is not None

    assert pmm.delete("pmdm__ProgramEngagement__c", [engagement])[0].success
    assert pmm.delete("Contact", [contact])[0].success  # once its engagements are gone, it may go
    assert pmm.get("Contact", contact) is None


def test_deleting_a_contact_blanks_set_null_lookups_and_deletes_its_members_and_tasks(core: LocalCrm) -> None:
    contact = made(core, "Contact", {"LastName": "Okafor"})
    other = made(core, "Contact", {"LastName": "Ruiz"})
    campaign = made(core, "Campaign", {"Name": "Cohort 1"})
    member = made(core, "CampaignMember", {"CampaignId": campaign, "ContactId": contact})
    bystander = made(core, "CampaignMember", {"CampaignId": campaign, "ContactId": other})
    task = made(core, "Task", {"Subject": "Call", "WhoId": contact})
    session = made(core, "Ignite_Session__c", {"Name": "Session 1", "Ignite_Campaign__c": campaign})
    attendance = made(
        core,
        "Ignite_Attendance__c",
        {"Name": "Okafor", "Ignite_Session__c": session, "Ignite_Contact__c": contact},
    )

    assert core.delete("Contact", [contact])[0].success

    assert core.get("CampaignMember", member) is None  # a member cannot exist without its person
    assert core.get("CampaignMember", bystander) is not None
    assert core.get("Task", task) is None  # a record's activities go with it
    assert core.get("Ignite_Attendance__c", attendance, ["Ignite_Contact__c"]) == {"Ignite_Contact__c": None}
    [binned] = core.query_all(f"SELECT IsDeleted FROM CampaignMember WHERE Id = '{member}'", include_deleted=True)
    assert binned == {"IsDeleted": True}  # in the recycle bin, like its parent


def test_a_restrict_under_a_cascade_refuses_the_whole_delete(core: LocalCrm) -> None:
    campaign = made(core, "Campaign", {"Name": "Cohort 1"})
    session = made(core, "Ignite_Session__c", {"Name": "Session 1", "Ignite_Campaign__c": campaign})
    contact = made(core, "Contact", {"LastName": "Okafor"})
    made(core, "Ignite_Attendance__c", {"Name": "Okafor", "Ignite_Session__c": session, "Ignite_Contact__c": contact})
    # the session is SetNull under its campaign, so the campaign may go and the session stays
    assert core.delete("Campaign", [campaign])[0].success
    assert core.get("Ignite_Session__c", session, ["Ignite_Campaign__c"]) == {"Ignite_Campaign__c": None}
    # the attendance restricts its session
    [refused] = core.delete("Ignite_Session__c", [session])
    assert refused.error_code == "DELETE_FAILED"


def test_a_blanked_and_deleted_record_leaves_no_bytes_of_its_old_values_in_the_crm_file(tmp_path: Path) -> None:
    """Forgetting a person blanks their records, then deletes them (deleted records stay in the recycle bin, as
    in Salesforce); SQLite keeps the replaced bytes on free space unless secure_delete is on, and whether it is
    on by default depends on how SQLite was built."""
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    crm = LocalCrm.create_database(url, load_describes("npsp_pmm"))
    try:
        contact = made(crm, "Contact", {"LastName": "Zyxwvutsrq-Erasable"})
        [blanked] = crm.update("Contact", [{"Id": contact, "LastName": "Erased participant"}])
        assert blanked.success, blanked
        [deleted] = crm.delete("Contact", [contact])
        assert deleted.success, deleted
        with crm._storage.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        crm.close()
    files = [tmp_path / name for name in ("crm.db", "crm.db-wal") if (tmp_path / name).exists()]
    assert not any(b"Zyxwvutsrq-Erasable" in f.read_bytes() for f in files)
