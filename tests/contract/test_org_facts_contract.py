"""An org built from the generated facts, through the port: the local CRM and (over HTTPS) the sandbox agree.

Each test builds its CRM from describes the reference generated (org_facts.json and the profile snapshots), so
what is checked is the org the facts describe: create-only and non-createable fields, restricted picklists,
State and Country/Territory Picklists (on, and off), record-type stages and PMM's validation rules.
"""

from __future__ import annotations

from typing import Any

from connector.base import CrmConnector
from connector.local import LocalCrm
from connector.local.address_picklists import without_address_picklists
from mappings.snapshots import load_describes
from mappings.snapshots.facts import org_facts
from tests.contract.conftest import ConnectorFactory
from tests.contract.test_crm_contract import ok, rejected

Describes = dict[str, dict[str, Any]]


def npc(*names: str) -> Describes:
    return {name: org_facts()["objects"]["npc"][name] for name in names}


def snapshot(profile: str, *names: str) -> Describes:
    describes = load_describes(profile)
    return {name: describes[name] for name in names}


def program_and_cohort(crm: CrmConnector) -> tuple[str, str]:
    program = ok(crm.create("Program", [{"Name": "Youth Mentoring"}])[0])
    cohort = ok(crm.create("ProgramCohort", [{"Name": "Spring", "ProgramId": program, "Status": "Active"}])[0])
    return program, cohort


# ------------------------------------------------------------------------------------- field access


def test_a_create_only_field_is_refused_on_update(crm_factory: ConnectorFactory) -> None:
    crm = crm_factory(npc("Program", "ProgramCohort"))
    _, cohort = program_and_cohort(crm)
    other = ok(crm.create("Program", [{"Name": "After School"}])[0])
    result = rejected(
        crm.update("ProgramCohort", [{"Id": cohort, "ProgramId": other}])[0], "INVALID_FIELD_FOR_INSERT_UPDATE"
    )
    assert result.fields == ("ProgramId",)
    ok(crm.update("ProgramCohort", [{"Id": cohort, "Name": "Spring 2026"}])[0])


def test_auto_number_names_and_computed_fields_are_refused_on_create(crm_factory: ConnectorFactory) -> None:
    crm = crm_factory(npc("Program", "ProgramCohort", "ProgramEnrollment", "ProgramCohortMember"))
    program, cohort = program_and_cohort(crm)
    enrollment = ok(crm.create("ProgramEnrollment", [{"Name": "Ana", "ProgramId": program}])[0])
    member = {"ProgramCohortId": cohort, "ProgramEnrollmentId": enrollment}
    named = rejected(
        crm.create("ProgramCohortMember", [{**member, "Name": "M-1"}])[0], "INVALID_FIELD_FOR_INSERT_UPDATE"
    )
    assert named.fields == ("Name",)
    counted = crm.create("ProgramCohort", [{"Name": "Fall", "ProgramId": program, "CurrentMemberCount": 3}])[0]
    rejected(counted, "INVALID_FIELD_FOR_INSERT_UPDATE")
    ok(crm.create("ProgramCohortMember", [member])[0])


def test_a_restricted_picklist_refuses_a_value_it_lacks(crm_factory: ConnectorFactory) -> None:
    crm = crm_factory(npc("Program", "ProgramCohort"))
    program, _ = program_and_cohort(crm)
    cancelled = crm.create("ProgramCohort", [{"Name": "Fall", "ProgramId": program, "Status": "Cancelled"}])[0]
    assert "Cancelled" in rejected(cancelled, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST").message
    ok(crm.create("ProgramCohort", [{"Name": "Fall", "ProgramId": program, "Status": "Canceled"}])[0])


# ------------------------------------------------------------------- state and country picklists


def accounts(crm_factory: ConnectorFactory, *, picklists: bool = True) -> CrmConnector:
    describes = snapshot("salesforce_core", "Account")
    return crm_factory(describes if picklists else without_address_picklists(describes))


def test_state_and_country_codes_are_taken_and_fill_the_text_fields(crm_factory: ConnectorFactory) -> None:
    crm = accounts(crm_factory)
    record = ok(crm.create("Account", [{"Name": "Flagler", "BillingStateCode": "NY", "BillingCountryCode": "US"}])[0])
    saved = crm.get("Account", record, ["BillingState", "BillingCountry", "BillingStateCode", "BillingCountryCode"])
    assert saved == {
        "BillingState": "New York",
        "BillingCountry": "United States",
        "BillingStateCode": "NY",
        "BillingCountryCode": "US",
    }
    by_name = ok(
        crm.create("Account", [{"Name": "Baptist", "BillingState": "Florida", "BillingCountry": "United States"}])[0]
    )
    assert crm.get("Account", by_name, ["BillingStateCode"]) == {"BillingStateCode": "FL"}


def test_a_state_code_in_the_text_field_is_refused(crm_factory: ConnectorFactory) -> None:
    crm = accounts(crm_factory)
    result = crm.create("Account", [{"Name": "Flagler", "BillingState": "NY", "BillingCountry": "United States"}])[0]
    rejected(result, "FIELD_INTEGRITY_EXCEPTION")
    assert result.message.startswith("There's a problem with this state, even though it may appear correct.")
    assert result.fields == ("BillingState",)


def test_a_state_needs_a_country_and_must_be_one_of_its_states(crm_factory: ConnectorFactory) -> None:
    crm = accounts(crm_factory)
    alone = rejected(crm.create("Account", [{"Name": "A", "BillingStateCode": "NY"}])[0], "FIELD_INTEGRITY_EXCEPTION")
    assert alone.message == (
        "The existing country/territory doesn't recognize the state value for field: Billing State/Province Code"
    )
    canada = crm.create("Account", [{"Name": "B", "BillingStateCode": "NY", "BillingCountryCode": "CA"}])[0]
    rejected(canada, "FIELD_INTEGRITY_EXCEPTION")
    unknown = crm.create("Account", [{"Name": "C", "BillingStateCode": "FD", "BillingCountryCode": "US"}])[0]
    assert rejected(unknown, "FIELD_INTEGRITY_EXCEPTION").message == (
        "The BillingStateCode field contains FD, which isn't an available state. Your administrator can add it for you."
    )
    country = crm.create("Account", [{"Name": "D", "BillingCountry": "US"}])[0]
    assert "problem with this country" in rejected(country, "FIELD_INTEGRITY_EXCEPTION").message


def test_with_the_picklists_off_states_are_plain_text(crm_factory: ConnectorFactory) -> None:
    crm = accounts(crm_factory, picklists=False)
    assert "BillingStateCode" not in {f["name"] for f in crm.describe("Account")["fields"]}
    record = ok(crm.create("Account", [{"Name": "Flagler", "BillingState": "NY"}])[0])
    assert crm.get("Account", record, ["BillingState"]) == {"BillingState": "NY"}
    rejected(crm.create("Account", [{"Name": "B", "BillingStateCode": "NY"}])[0], "INVALID_FIELD")


def test_the_org_setting_turns_the_picklists_off(tmp_path: Any) -> None:
    describes = snapshot("salesforce_core", "Account")
    with LocalCrm.create_database(f"sqlite:///{tmp_path / 'off.db'}", describes, state_country_picklists=False) as crm:
        ok(crm.create("Account", [{"Name": "Flagler", "BillingState": "NY"}])[0])
        assert "BillingCountryCode" not in {f["name"] for f in crm.describe("Account")["fields"]}


# ---------------------------------------------------------------- record types and validation rules


def test_a_record_type_takes_only_its_business_process_stages(crm_factory: ConnectorFactory) -> None:
    crm = crm_factory(snapshot("npsp_pmm", "Opportunity", "RecordType", "Account", "Contact"))
    grant = crm.query_all("SELECT Id FROM RecordType WHERE SobjectType = 'Opportunity' AND DeveloperName = 'Grant'")
    base = {"Name": "Arts grant", "CloseDate": "2026-03-01", "RecordTypeId": grant[0]["Id"]}
    refused = rejected(
        crm.create("Opportunity", [{**base, "StageName": "Closed Won"}])[0], "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    )
    assert refused.fields == ("StageName",)
    ok(crm.create("Opportunity", [{**base, "StageName": "Awarded"}])[0])


def test_pmm_refuses_a_cohort_dated_outside_its_program_with_the_rule_s_message(crm_factory: ConnectorFactory) -> None:
    crm = crm_factory(snapshot("npsp_pmm", "pmdm__Program__c", "pmdm__ProgramCohort__c"))
    program = ok(
        crm.create(
            "pmdm__Program__c",
            [
                {
                    "Name": "Mentoring",
                    "pmdm__Status__c": "Active",
                    "pmdm__StartDate__c": "2026-01-01",
                    "pmdm__EndDate__c": "2026-06-30",
                }
            ],
        )[0]
    )
    early = {
        "Name": "Early",
        "pmdm__Program__c": program,
        "pmdm__Status__c": "Active",
        "pmdm__StartDate__c": "2025-12-01",
    }
    result = rejected(crm.create("pmdm__ProgramCohort__c", [early])[0], "FIELD_CUSTOM_VALIDATION_EXCEPTION")
    assert result.message == "Start Date must be within the range of the related Program Start and End Dates."
    assert result.fields == ()
    cohort = ok(crm.create("pmdm__ProgramCohort__c", [{**early, "pmdm__StartDate__c": "2026-02-01"}])[0])
    # The program's dates change; nothing re-checks the cohort until its next edit, which then fails.
    ok(crm.update("pmdm__Program__c", [{"Id": program, "pmdm__StartDate__c": "2026-03-01"}])[0])
    rejected(
        crm.update("pmdm__ProgramCohort__c", [{"Id": cohort, "Name": "Renamed"}])[0],
        "FIELD_CUSTOM_VALIDATION_EXCEPTION",
    )
    backwards = {"Id": program, "pmdm__EndDate__c": "2026-02-01"}
    assert rejected(crm.update("pmdm__Program__c", [backwards])[0], "FIELD_CUSTOM_VALIDATION_EXCEPTION").message == (
        "Start Date must be before End Date"
    )
