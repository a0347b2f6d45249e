"""Put a funder and its grant into a CRM the way the sync maps them (for the attach tests)."""

from __future__ import annotations

from connector.base import CrmConnector
from mappings import load_profile, to_crm
from models import Funder, Grant


def record_type(crm: CrmConnector, object_name: str, developer_name: str) -> str:
    """The RecordTypeId an org would give: found by query, set up first if this fresh CRM has none.

    (`record_type_id(describe, …)` reads the snapshot's ids, which a fresh local CRM has no RecordType rows
    for; querying works on every CRM.)
    """
    soql = f"SELECT Id FROM RecordType WHERE SobjectType = '{object_name}' AND DeveloperName = '{developer_name}'"
    found = [r for page in crm.query(soql) for r in page.records]
    if not found:
        [made] = crm.create(
            "RecordType",
            [{"SobjectType": object_name, "DeveloperName": developer_name, "Name": developer_name, "IsActive": True}],
        )
        assert made.success and made.id, made
        return made.id
    return str(found[0]["Id"])


def sync_grant(crm: CrmConnector, funder: Funder, grant: Grant) -> str:
    """Upsert the funder's Account and the grant's Opportunity as the npsp_pmm profile maps them."""
    profile = load_profile("npsp_pmm")
    for instance in (funder, grant):
        for write in to_crm(instance, profile):
            payload = dict(write.payload)
            if write.record_type:
                payload["RecordTypeId"] = record_type(crm, write.object_name, write.record_type)
            [result] = crm.upsert(write.object_name, write.key_field, [payload])
            assert result.success, (write.step, result.error_code, result.message)
    [page] = list(crm.query(f"SELECT Id, AccountId FROM Opportunity WHERE Ignite_Key__c = '{grant.key}'"))
    [opportunity] = page.records
    [account] = [
        r for p in crm.query(f"SELECT Id FROM Account WHERE Ignite_Key__c = '{funder.key}'") for r in p.records
    ]
    assert opportunity["AccountId"] == account["Id"]  # the grant hangs off its funder, as the profile says
    return str(opportunity["Id"])
