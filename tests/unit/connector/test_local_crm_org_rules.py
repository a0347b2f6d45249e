"""The local CRM's org behaviours are the reference's: every PMM rule has a predicate, texts are standard.json's."""

from __future__ import annotations

from pathlib import Path

from connector.local import LocalCrm
from connector.local import address_picklists as address
from connector.local.validation_rules import RULES
from mappings.snapshots import load_describes
from mappings.snapshots.reference import read_sources


def test_every_pmm_validation_rule_has_a_predicate() -> None:
    pmm = read_sources()["pmm.json"]["objects"]
    listed = {(obj, rule) for obj, spec in pmm.items() for rule in (spec.get("validationRules") or {})}
    assert len(listed) == 13
    assert listed == set(RULES)


def test_state_and_country_error_texts_are_the_reference_s() -> None:
    errors = read_sources()["standard.json"]["stateAndCountryPicklists"]["errors"]
    assert errors["badStateText"]["message"] == address.BAD_STATE_TEXT
    assert errors["badCountryText"]["message"] == address.BAD_COUNTRY_TEXT
    assert (
        address.STATE_NOT_IN_COUNTRY.format(label="Billing State/Province Code")
        == errors["stateNotInCountry"]["message"]
    )
    unknown = address.UNKNOWN_STATE_CODE.format(field="BillingStateCode", value="FD")
    assert unknown == errors["unknownStateCode"]["message"]
    assert {e["statusCode"] for e in errors.values()} == {address.INTEGRITY}


def test_engagements_and_deliveries_must_agree_with_their_contact_and_program(tmp_path: Path) -> None:
    describes = load_describes("npsp_pmm")
    with LocalCrm.create_database(f"sqlite:///{tmp_path / 'pmm.db'}", describes) as crm:
        org, other = (r.id for r in crm.create("Account", [{"Name": "Org"}, {"Name": "Other"}]))
        contact = crm.create("Contact", [{"LastName": "Rivera", "AccountId": org}])[0].id
        program, second = (
            r.id
            for r in crm.create(
                "pmdm__Program__c",
                [{"Name": "A", "pmdm__Status__c": "Active"}, {"Name": "B", "pmdm__Status__c": "Active"}],
            )
        )
        cohort = crm.create(
            "pmdm__ProgramCohort__c", [{"Name": "C", "pmdm__Program__c": second, "pmdm__Status__c": "Active"}]
        )[0].id
        assert cohort is not None
        base = {"pmdm__Contact__c": contact, "pmdm__Program__c": program, "pmdm__Stage__c": "Active"}
        results = crm.create(
            "pmdm__ProgramEngagement__c",
            [
                {**base, "pmdm__Account__c": other},
                {**base, "pmdm__ProgramCohort__c": cohort},
                {**base, "pmdm__Account__c": org},
            ],
        )
        assert [r.error_code for r in results] == [
            "FIELD_CUSTOM_VALIDATION_EXCEPTION",
            "FIELD_CUSTOM_VALIDATION_EXCEPTION",
            None,
        ]
        assert results[0].message == "Select an Account that matches the related Contact."
        assert results[1].message == "Select a Program Cohort that matches the Program."
        service = crm.create("pmdm__Service__c", [{"Name": "S", "pmdm__Program__c": second}])[0].id
        delivery = crm.create(
            "pmdm__ServiceDelivery__c",
            [{"Name": "D", "pmdm__Service__c": service, "pmdm__ProgramEngagement__c": results[2].id}],
        )[0]
        assert delivery.message == "Select a Program Engagement that matches the Program of the related Service."
