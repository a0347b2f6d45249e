"""`LocalCrm.merge` leaves what a Salesforce merge leaves: deleted losers pointing at the master, lookups moved."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from connector.base import FatalCrmError
from connector.local import LocalCrm
from mappings.snapshots import load_describes
from tests.unit.connector.local_records import made

KEY = "Ignite_Key__c"


@pytest.fixture
def crm(tmp_path: Path) -> Iterator[LocalCrm]:
    with LocalCrm.create_database(f"sqlite:///{tmp_path / 'crm.db'}", load_describes("salesforce_core")) as crm:
        yield crm


def test_merged_contacts_are_deleted_with_their_master_and_their_lookups_move_to_it(crm: LocalCrm) -> None:
    master = made(crm, "Contact", {"LastName": "Okafor", "Email": "keep@example.org"})
    loser = made(crm, "Contact", {"LastName": "Okafor", "Email": "dup@example.org", KEY: "person:dup"})
    other = made(crm, "Contact", {"LastName": "Ruiz"})
    campaign = made(crm, "Campaign", {"Name": "Cohort 1"})
    member = made(crm, "CampaignMember", {"CampaignId": campaign, "ContactId": loser})
    bystander = made(crm, "CampaignMember", {"CampaignId": campaign, "ContactId": other})
    task = made(crm, "Task", {"Subject": "Call", "WhoId": loser})

    result = crm.merge("Contact", master, [loser])

    assert result.merged_ids == (loser,)
    assert result.reparented == {"CampaignMember.ContactId": 1, "Task.WhoId": 1}
    assert crm.get("Contact", loser) is None
    [gone] = crm.query_all(f"SELECT IsDeleted, MasterRecordId FROM Contact WHERE Id = '{loser}'", include_deleted=True)
    assert gone == {"IsDeleted": True, "MasterRecordId": master}
    assert crm.get("CampaignMember", member, ["ContactId"]) == {"ContactId": master}
    assert crm.get("CampaignMember", bystander, ["ContactId"]) == {"ContactId": other}
    assert crm.get("Task", task, ["WhoId"]) == {"WhoId": master}
    assert crm.get("Contact", master, ["Email", KEY, "MasterRecordId"]) == {
        "Email": "keep@example.org",  # the master keeps its own values
        KEY: None,
        "MasterRecordId": None,
    }
    # the loser's key is free again (an upsert on it would make a new record, which is why the sync must not)
    [again] = crm.upsert("Contact", KEY, [{"LastName": "New", KEY: "person:dup"}])
    assert again.created


@pytest.mark.parametrize(
    ("object_name", "duplicates", "code"),
    [
        ("Campaign", 1, "INVALID_TYPE"),  # only objects with MasterRecordId can be merged
        ("Contact", 3, "INVALID_OPERATION"),  # at most three records in one merge
        ("Contact", 0, "INVALID_OPERATION"),
    ],
)
def test_a_merge_salesforce_would_refuse_is_refused(
    crm: LocalCrm, object_name: str, duplicates: int, code: str
) -> None:
    name_field = "Name" if object_name == "Campaign" else "LastName"
    ids = [made(crm, object_name, {name_field: f"P{i}"}) for i in range(duplicates + 1)]
    with pytest.raises(FatalCrmError) as caught:
        crm.merge(object_name, ids[0], ids[1:])
    assert caught.value.code == code


def test_a_merge_into_or_of_a_deleted_record_is_refused(crm: LocalCrm) -> None:
    first, second = made(crm, "Contact", {"LastName": "A"}), made(crm, "Contact", {"LastName": "B"})
    crm.delete("Contact", [second])
    with pytest.raises(FatalCrmError, match="deleted"):
        crm.merge("Contact", first, [second])
    with pytest.raises(FatalCrmError, match="itself"):
        crm.merge("Contact", first, [first])
    assert crm.get("Contact", first) is not None
