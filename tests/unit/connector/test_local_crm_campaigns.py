"""The local CRM keeps campaign member statuses as a Salesforce org does, so a sync that forgets them fails here too."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connector.base import RowResult
from connector.local import LocalCrm
from mappings.snapshots import load_describes

KEY = "Ignite_Key__c"


@pytest.fixture
def crm(tmp_path: Path) -> Iterator[LocalCrm]:
    with LocalCrm.create_database(f"sqlite:///{tmp_path / 'crm.db'}", load_describes("salesforce_core")) as crm:
        yield crm


def ok(result: RowResult) -> str:
    assert result.success, f"{result.error_code}: {result.message}"
    assert result.id is not None
    return result.id


def campaign(crm: LocalCrm, key: str = "cohort:a") -> str:
    return ok(crm.upsert("Campaign", KEY, [{"Name": key, KEY: key}])[0])


def statuses(crm: LocalCrm, campaign_id: str) -> list[dict[str, Any]]:
    return crm.query_all(
        "SELECT Label, IsDefault, HasResponded, SortOrder FROM CampaignMemberStatus "
        f"WHERE CampaignId = '{campaign_id}' ORDER BY SortOrder"
    )


def contact(crm: LocalCrm, key: str = "person:a") -> str:
    return ok(crm.upsert("Contact", KEY, [{"LastName": key, KEY: key}])[0])


def test_a_new_campaign_starts_with_sent_as_default_and_responded(crm: LocalCrm) -> None:
    made = campaign(crm)
    assert statuses(crm, made) == [
        {"Label": "Sent", "IsDefault": True, "HasResponded": False, "SortOrder": 1},
        {"Label": "Responded", "IsDefault": False, "HasResponded": True, "SortOrder": 2},
    ]
    campaign(crm)  # the same campaign upserted again is an update: no second set of statuses
    assert len(statuses(crm, made)) == 2


def test_a_member_without_a_status_gets_the_campaigns_default_and_its_responded_flag(crm: LocalCrm) -> None:
    made, person = campaign(crm), contact(crm)
    member = ok(crm.create("CampaignMember", [{"CampaignId": made, "ContactId": person}])[0])
    assert crm.get("CampaignMember", member, ["Status", "HasResponded"]) == {"Status": "Sent", "HasResponded": False}
    ok(crm.update("CampaignMember", [{"Id": member, "Status": "responded"}])[0])
    assert crm.get("CampaignMember", member, ["Status", "HasResponded"]) == {
        "Status": "Responded",  # the campaign's own spelling of the label
        "HasResponded": True,
    }


def test_a_member_status_the_campaign_does_not_have_is_refused_naming_the_statuses_it_has(crm: LocalCrm) -> None:
    made, person = campaign(crm), contact(crm)
    [result] = crm.create("CampaignMember", [{"CampaignId": made, "ContactId": person, "Status": "Enrolled"}])
    assert not result.success
    assert result.error_code == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert result.fields == ("Status",)
    assert "Enrolled" in (result.message or "") and "Sent, Responded" in (result.message or "")
    ok(crm.create("CampaignMemberStatus", [{"CampaignId": made, "Label": "Enrolled", "HasResponded": True}])[0])
    member = ok(crm.create("CampaignMember", [{"CampaignId": made, "ContactId": person, "Status": "Enrolled"}])[0])
    assert crm.get("CampaignMember", member, ["HasResponded"]) == {"HasResponded": True}


def test_a_status_made_the_default_takes_over_from_the_previous_default(crm: LocalCrm) -> None:
    made = campaign(crm)
    ok(crm.create("CampaignMemberStatus", [{"CampaignId": made, "Label": "Invited", "IsDefault": True}])[0])
    assert [(s["Label"], s["IsDefault"], s["SortOrder"]) for s in statuses(crm, made)] == [
        ("Sent", False, 1),
        ("Responded", False, 2),
        ("Invited", True, 3),
    ]
    member = ok(crm.create("CampaignMember", [{"CampaignId": made, "ContactId": contact(crm)}])[0])
    assert crm.get("CampaignMember", member, ["Status"]) == {"Status": "Invited"}


def test_a_status_label_is_unique_within_its_campaign_only(crm: LocalCrm) -> None:
    first, second = campaign(crm, "cohort:a"), campaign(crm, "cohort:b")
    results = crm.create(
        "CampaignMemberStatus",
        [
            {"CampaignId": first, "Label": "sent"},  # the campaign has "Sent" already
            {"CampaignId": first, "Label": "Enrolled"},
            {"CampaignId": first, "Label": "ENROLLED"},  # twice in one request
            {"CampaignId": second, "Label": "Enrolled"},  # another campaign may have its own
        ],
    )
    assert [r.error_code for r in results] == ["DUPLICATE_VALUE", None, "DUPLICATE_VALUE", None]
    assert [s["Label"] for s in statuses(crm, first)] == ["Sent", "Responded", "Enrolled"]
