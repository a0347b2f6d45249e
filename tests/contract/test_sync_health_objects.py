"""The sync-health objects behave in the local CRM and through the sandbox as a deployed plugin would.

Both CRMs are built from the profile's describe snapshots, which carry Ignite_Sync_Issue__c and
Ignite_Sync_Run__c like any other plugin object (mappings/health.py).  The tests use only the connector port.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

import demo
from connector.base import CrmConnector
from mappings.snapshots import load_describes
from sandbox.harness import SandboxHarness
from store.database import make_engine, upgrade_database
from sync.runner import run_sync
from tests.contract.conftest import ConnectorFactory
from tests.sync_options import options

KEY = "Ignite_Key__c"


@pytest.fixture
def crm(crm_factory: ConnectorFactory) -> CrmConnector:
    return crm_factory(load_describes("npsp_pmm"))


def _issue(key: str, **extra: Any) -> dict[str, Any]:
    return {
        KEY: key,
        "Status__c": "Open",
        "Problem__c": "Rejected",
        "Object__c": "Contact",
        "Error_Code__c": "REQUIRED_FIELD_MISSING",
        "First_Seen__c": "2026-12-01T10:00:00.000Z",
        **extra,
    }


def test_issue_records_upsert_on_their_key_number_their_names_and_link_the_contact(crm: CrmConnector) -> None:
    [contact] = crm.upsert("Contact", KEY, [{KEY: "participant:abc", "LastName": "Rivera"}])
    assert contact.success
    [first] = crm.upsert("Ignite_Sync_Issue__c", KEY, [_issue("participant:abc|participant_contact")])
    assert first.success and first.created
    [again] = crm.upsert(
        "Ignite_Sync_Issue__c",
        KEY,
        [_issue("participant:abc|participant_contact", Status__c="Resolved", Contact__c=contact.id)],
    )
    assert again.success and not again.created and again.id == first.id
    [row] = crm.query_all("SELECT Name, Status__c, Contact__c, Contact__r.Name FROM Ignite_Sync_Issue__c")
    assert row["Name"] == "ISS-000001"  # auto-numbered by the org
    assert (row["Status__c"], row["Contact__c"]) == ("Resolved", contact.id)
    assert row["Contact__r"]["Name"] == "Rivera"


def test_staff_set_retry_requested_and_the_sync_finds_it_with_one_query(crm: CrmConnector) -> None:
    results = crm.upsert("Ignite_Sync_Issue__c", KEY, [_issue(f"k{n}|step") for n in range(3)])
    assert all(r.success for r in results)
    [asked] = crm.update("Ignite_Sync_Issue__c", [{"Id": results[1].id, "Status__c": "Retry requested"}])
    assert asked.success
    found = crm.query_all(f"SELECT {KEY} FROM Ignite_Sync_Issue__c WHERE Status__c = 'Retry requested'")
    assert [r[KEY] for r in found] == ["k1|step"]


def test_the_status_picklist_is_restricted_and_the_record_link_is_read_only(crm: CrmConnector) -> None:
    [bad] = crm.upsert("Ignite_Sync_Issue__c", KEY, [_issue("k|s", Status__c="Closed")])
    assert not bad.success and bad.error_code == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    [formula] = crm.upsert("Ignite_Sync_Issue__c", KEY, [_issue("k|s", CRM_Record__c="x")])
    assert not formula.success and formula.error_code == "INVALID_FIELD_FOR_INSERT_UPDATE"


def test_run_records_carry_counts_and_dates(crm: CrmConnector) -> None:
    run = {
        KEY: "run:20261206T031500:7",
        "Mode__c": "incremental",
        "Started__c": "2026-12-06T03:15:00.000Z",
        "Finished__c": "2026-12-06T03:15:04.000Z",
        "Outcome__c": "Partial",
        "Created__c": 886,
        "Rejected__c": 1,
        "API_Calls__c": 25,
    }
    [result] = crm.upsert("Ignite_Sync_Run__c", KEY, [run])
    assert result.success, result
    [row] = crm.query_all("SELECT Name, Outcome__c, Created__c, API_Calls__c FROM Ignite_Sync_Run__c")
    assert row["Name"] == "RUN-000001" and row["Outcome__c"] == "Partial"
    assert (row["Created__c"], row["API_Calls__c"]) == (886, 25)


def test_a_refused_row_reaches_the_org_as_an_issue_through_the_salesforce_adapter(
    sandbox_harness: SandboxHarness, tmp_path: Path
) -> None:
    """The demo synced through the sandbox to an org that requires Contact.Title, with one title left blank."""
    strict = copy.deepcopy(load_describes("npsp_pmm"))
    for f in strict["Contact"]["fields"]:
        if f["name"] == "Title":
            f["nillable"] = False
    local = sandbox_harness.use(strict)
    try:
        engine = make_engine(f"sqlite:///{tmp_path / 'service.db'}")
        upgrade_database(engine)
        program = demo.generate(16)
        demo.seed(engine, program)
        from store.unit_of_work import UnitOfWork

        bundle = next(program.bundles())
        untitled = bundle.participants[0].model_copy(update={"job_title": None})
        with UnitOfWork(engine) as uow:
            uow.records("participants").upsert_many([untitled])
            uow.commit()
        connector = sandbox_harness.connector()
        report = run_sync(engine, connector, options("npsp_pmm"))
        assert report.by_object()["Contact"]["rejected"] == 1
        issues = local.query_all("SELECT Status__c, Problem__c, Error_Code__c, Fields__c FROM Ignite_Sync_Issue__c")
        rejected = [i for i in issues if i["Problem__c"] == "Rejected"]
        assert rejected == [
            {
                "Status__c": "Open",
                "Problem__c": "Rejected",
                "Error_Code__c": "REQUIRED_FIELD_MISSING",
                "Fields__c": "Title",
            }
        ]
        assert len(local.query_all("SELECT Id FROM Ignite_Sync_Run__c")) == 1
        engine.dispose()
    finally:
        sandbox_harness.use(load_describes("npsp_pmm"))
