"""check-mapping's rules, exercised with describe dicts: the snapshot passes, each planted problem is caught."""

from __future__ import annotations

from typing import Any

import pytest

from mappings.check import check_profile, describe_source
from mappings.profile import PROFILE_NAMES, load_profile
from mappings.snapshots import load_describes


@pytest.mark.parametrize("name", PROFILE_NAMES)
def test_every_profile_passes_against_its_own_snapshot(name: str) -> None:
    report = check_profile(load_profile(name), describe_source(load_describes(name)))
    assert report.problems == []


def field_of(describes: dict[str, Any], obj: str, name: str) -> dict[str, Any]:
    return next(f for f in describes[obj]["fields"] if f["name"] == name)


def test_every_planted_describe_problem_is_reported() -> None:
    d = load_describes("npsp_pmm")
    d.pop("pmdm__ServiceSchedule__c")  # missing object
    d["Lead"]["fields"] = [f for f in d["Lead"]["fields"] if f["name"] != "Ignite_Interest__c"]  # missing field
    field_of(d, "Account", "Ignite_Key__c")["unique"] = False  # key not unique
    field_of(d, "Contact", "FirstName")["createable"] = False  # not createable
    field_of(d, "pmdm__ProgramCohort__c", "pmdm__StartDate__c")["updateable"] = False  # not updateable
    field_of(d, "pmdm__ProgramEngagement__c", "pmdm__StartDate__c")["type"] = "datetime"  # type mismatch
    field_of(d, "Contact", "Title")["length"] = 40  # too short for 128-character titles
    stage = field_of(d, "pmdm__ProgramEngagement__c", "pmdm__Stage__c")
    stage["picklistValues"] = [v for v in stage["picklistValues"] if v["value"] != "Withdrawn"]  # restricted
    d["Contact"]["fields"].append(
        {**field_of(d, "Contact", "Title"), "name": "Badge_Number__c", "nillable": False, "defaultedOnCreate": False}
    )  # required, not covered
    infos = d["Opportunity"]["recordTypeInfos"]
    d["Opportunity"]["recordTypeInfos"] = [i for i in infos if i["developerName"] != "Grant"]  # record type gone
    field_of(d, "pmdm__ServiceSession__c", "pmdm__SessionEnd__c")["calculated"] = True  # formula
    field_of(d, "pmdm__ProgramCohort__c", "pmdm__Program__c")["referenceTo"] = ["Account"]  # lookup elsewhere

    report = check_profile(load_profile("npsp_pmm"), describe_source(d))
    found = {(p.object, p.field, p.kind) for p in report.problems}
    expected = {
        ("pmdm__ServiceSchedule__c", "", "missing object"),
        ("Lead", "Ignite_Interest__c", "missing field"),
        ("Account", "Ignite_Key__c", "key field"),
        ("Contact", "FirstName", "not createable"),
        ("pmdm__ProgramCohort__c", "pmdm__StartDate__c", "not updateable"),
        ("pmdm__ProgramEngagement__c", "pmdm__StartDate__c", "type mismatch"),
        ("Contact", "Title", "length"),
        ("pmdm__ProgramEngagement__c", "pmdm__Stage__c", "picklist"),
        ("Contact", "Badge_Number__c", "required"),
        ("Opportunity", "RecordTypeId", "record type"),
        ("pmdm__ServiceSession__c", "pmdm__SessionEnd__c", "not writable"),
        ("pmdm__ProgramCohort__c", "pmdm__Program__c", "lookup"),
    }
    assert expected <= found, expected - found
    assert found - expected == set(), found - expected
    picklist = next(p for p in report.problems if p.kind == "picklist")
    assert "'Withdrawn'" in picklist.message


def test_a_field_that_cannot_change_must_be_marked_never() -> None:
    d = load_describes("salesforce_core")
    report = check_profile(load_profile("salesforce_core"), describe_source(d))
    assert report.ok  # CampaignMember.CampaignId is create-only and the profile says update: never
    field_of(d, "Contact", "LastName")["updateable"] = False
    report = check_profile(load_profile("salesforce_core"), describe_source(d))
    assert {(p.object, p.field, p.kind) for p in report.problems} == {("Contact", "LastName", "not updateable")}


def test_create_only_is_a_crm_fact_that_check_mapping_holds_to_the_describe() -> None:
    """`create_only` on a field the org lets change is a wrong fact; `always` on a create-only one fails updates."""
    d = load_describes("nonprofit_cloud")
    field_of(d, "IndicatorResult", "Denominator")["updateable"] = True
    report = check_profile(load_profile("nonprofit_cloud"), describe_source(d))
    assert {(p.object, p.field, p.kind) for p in report.problems} == {("IndicatorResult", "Denominator", "create_only")}
    d = load_describes("nonprofit_cloud")
    field_of(d, "IndicatorResult", "ResultValue")["updateable"] = False
    report = check_profile(load_profile("nonprofit_cloud"), describe_source(d))
    [problem] = report.problems
    assert (problem.field, problem.kind) == ("ResultValue", "not updateable") and "create_only" in problem.message


def test_campaign_member_statuses_need_a_createable_status_object() -> None:
    d = load_describes("salesforce_core")
    d["CampaignMemberStatus"]["createable"] = False
    report = check_profile(load_profile("salesforce_core"), describe_source(d))
    assert [(p.step, p.object) for p in report.problems] == [("cohort_campaign", "CampaignMemberStatus")]


def test_unconfirmed_facts_are_notes_not_problems() -> None:
    report = check_profile(load_profile("nonprofit_cloud"), describe_source(load_describes("nonprofit_cloud")))
    assert report.ok
    assert ("ProgramEnrollment", "Status") in {(n.object, n.field) for n in report.notes}
