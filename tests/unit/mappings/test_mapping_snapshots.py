"""Describe snapshots: up to date with their facts, and faithful enough for the local CRM to enforce."""

from __future__ import annotations

import pytest

from mappings.profile import PROFILE_NAMES, load_profile
from mappings.snapshots import load_describes
from mappings.snapshots.generate import stale_files

SYSTEM_READ_ONLY = ("Id", "IsDeleted", "SystemModstamp")


def test_committed_snapshots_match_what_the_facts_and_plugins_generate() -> None:
    assert stale_files(write=False) == [], "run: python -m mappings.snapshots.generate"


@pytest.mark.parametrize("name", PROFILE_NAMES)
def test_snapshots_describe_every_object_the_profile_touches(name: str) -> None:
    describes = load_describes(name)
    profile = load_profile(name)
    assert set(profile.describe_objects()) <= set(describes)
    assert {"RecordType", "Task", "Lead", "ContentVersion", "ContentDocumentLink"} <= set(describes)
    for fields in profile.plugin_fields().values():
        for f in fields.values():
            if f.reference_to:
                assert f.reference_to in describes


@pytest.mark.parametrize("name", PROFILE_NAMES)
def test_key_prefixes_are_distinct_and_standard_ones_are_salesforce_s(name: str) -> None:
    describes = load_describes(name)
    prefixes = [d["keyPrefix"] for d in describes.values()]
    assert len(prefixes) == len(set(prefixes))
    standard = {"Account": "001", "Contact": "003", "Lead": "00Q", "Opportunity": "006", "Task": "00T"}
    standard |= {"RecordType": "012", "Campaign": "701", "CampaignMember": "00v"}
    for obj, prefix in standard.items():
        if obj in describes:
            assert describes[obj]["keyPrefix"] == prefix


@pytest.mark.parametrize("name", PROFILE_NAMES)
def test_system_fields_are_read_only_and_formulas_are_not_createable(name: str) -> None:
    for obj, d in load_describes(name).items():
        fields = {f["name"]: f for f in d["fields"]}
        for system in SYSTEM_READ_ONLY:
            assert not fields[system]["createable"] and not fields[system]["updateable"], (obj, system)
        for f in d["fields"]:
            if f["calculated"]:
                assert not f["createable"] and not f["updateable"], (obj, f["name"])
            if f["type"] == "boolean":
                assert not f["nillable"] and f["defaultedOnCreate"], (obj, f["name"])


def test_required_fields_match_the_reference() -> None:
    d = load_describes("npsp_pmm")

    def required(obj: str) -> set[str]:
        return {
            f["name"] for f in d[obj]["fields"] if not f["nillable"] and f["createable"] and not f["defaultedOnCreate"]
        }

    assert required("Account") == {"Name"}
    assert required("Contact") == {"LastName"}
    assert required("Lead") == {"LastName", "Company"}
    assert required("Opportunity") == {"Name", "StageName", "CloseDate"}
    assert required("pmdm__ProgramEngagement__c") == {"pmdm__Program__c"}
    assert required("pmdm__ServiceDelivery__c") == {"pmdm__Service__c"}


def test_plugin_key_fields_appear_as_unique_external_ids() -> None:
    for name in PROFILE_NAMES:
        for obj in load_profile(name).written_objects:
            key = next(f for f in load_describes(name)[obj]["fields"] if f["name"] == "Ignite_Key__c")
            assert key["externalId"] and key["unique"] and key["idLookup"] and key["caseSensitive"]
            assert (key["type"], key["length"]) == ("string", 80)


def test_child_relationships_point_back_at_lookups() -> None:
    program = load_describes("npsp_pmm")["pmdm__Program__c"]
    children = {(c["childSObject"], c["field"]): c["relationshipName"] for c in program["childRelationships"]}
    assert children[("pmdm__ProgramCohort__c", "pmdm__Program__c")] == "pmdm__ProgramCohorts__r"
