"""The org facts come from the reference metadata by a build step, never by hand: any drift fails here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mappings.check import check_profile, describe_source
from mappings.profile import load_profile
from mappings.snapshots import load_describes
from mappings.snapshots.facts import org_facts
from mappings.snapshots.reference import GENERATED, SOURCES, build_org_facts, org_facts_text, read_sources

# The shared reference sits beside the checkout (../shared from /work/main, ../../shared from a worktree).
REFERENCE = next(
    (
        p / "shared" / "reference" / "metadata"
        for p in Path(__file__).resolve().parents[3:6]
        if (p / "shared" / "reference" / "metadata").is_dir()
    ),
    Path("/nonexistent"),
)


def test_committed_org_facts_are_exactly_what_the_sources_generate() -> None:
    assert GENERATED.read_text("utf-8") == org_facts_text(build_org_facts()), (
        "org_facts.json drifted from mappings/snapshots/sources: run python -m mappings.snapshots.generate"
    )


def test_an_edited_source_fact_shows_up_as_drift() -> None:
    sources = read_sources()
    sources["pmm.json"]["objects"]["pmdm__ProgramCohort__c"]["fields"]["pmdm__EndDate__c"]["required"] = True
    assert org_facts_text(build_org_facts(sources)) != GENERATED.read_text("utf-8")


@pytest.mark.skipif(not REFERENCE.is_dir(), reason="the shared reference folder is not beside this checkout")
@pytest.mark.parametrize("name", ["pmm.json", "npsp.json", "nonprofit_cloud.json", "standard.json", "README.md"])
def test_sources_are_unchanged_copies_of_the_reference(name: str) -> None:
    assert (SOURCES / name).read_bytes() == (REFERENCE / name).read_bytes()


def test_objects_the_profiles_must_create_are_described() -> None:
    facts = org_facts()
    assert {"BenefitSchedule", "TimePeriod", "UnitOfMeasure"} <= set(facts["objects"]["npc"])
    assert "pmdm__ServiceParticipant__c" in facts["objects"]["pmm"]
    session = {f["name"]: f for f in facts["objects"]["npc"]["BenefitSession"]["fields"]}
    assert "BenefitId" not in session
    assert session["BenefitScheduleId"]["createable"] and not session["BenefitScheduleId"]["updateable"]
    assert not session["BenefitScheduleId"]["nillable"]


def test_what_the_reference_marks_unconfirmed_stays_marked() -> None:
    npc = org_facts()["objects"]["npc"]
    process = next(f for f in npc["BenefitType"]["fields"] if f["name"] == "ProcessType")
    assert "unconfirmed" in process["x_unconfirmed"]
    assert not process["nillable"], "the docs call ProcessType required although the Properties say Nillable"
    grant = next(i for i in org_facts()["npsp"]["recordTypes"]["Opportunity"] if i["developerName"] == "Grant")
    assert "trial configuration" in grant["x_unconfirmed"]


def test_state_and_country_code_fields_carry_iso_values_with_states_dependent_on_country() -> None:
    account = {f["name"]: f for f in load_describes("salesforce_core")["Account"]["fields"]}
    lead = {f["name"] for f in load_describes("salesforce_core")["Lead"]["fields"]}
    assert {"StateCode", "CountryCode"} <= lead
    countries = [v["value"] for v in account["BillingCountryCode"]["picklistValues"]]
    assert {"US", "CA"} <= set(countries) and account["BillingCountryCode"]["restrictedPicklist"]
    state = account["BillingStateCode"]
    assert state["controllerName"] == "BillingCountryCode" and state["restrictedPicklist"]
    new_york = next(v for v in state["picklistValues"] if v["value"] == "NY" and v["label"] == "New York")
    assert new_york["validFor"]


def test_check_mapping_reports_generated_unconfirmed_facts_as_notes() -> None:
    describes = load_describes("salesforce_core")
    name = next(f for f in describes["Account"]["fields"] if f["name"] == "Name")
    name["x_unconfirmed"] = "the reference could not confirm this"
    report = check_profile(load_profile("salesforce_core"), describe_source(describes))
    notes = {(n.object, n.field): n.message for n in report.notes}
    assert notes[("Account", "Name")] == "the reference could not confirm this"
    assert report.ok


def test_generated_file_is_data_not_code() -> None:
    assert isinstance(json.loads(GENERATED.read_text("utf-8")), dict)
