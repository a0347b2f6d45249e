"""The transform's rules: external-ID lookups, field ownership, rejected rows, flags, record types."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import yaml
from mapping_cases import (
    FLCH,
    GRANT,
    INTAKE,
    PAT,
    RELATED,
    RESPONSES,
    SESSION,
    SPRING,
    ZOE,
    ZOE_ENROLLED,
    ZOE_PRESENT,
)

from mappings.profile import load_profile
from mappings.snapshots import load_describes
from mappings.spec import UpdatePolicy
from mappings.transform import (
    CrmWrite,
    MappingRejected,
    RelatedRecords,
    fields_to_read,
    merge_writes,
    record_type_id,
    salesforce_datetime,
    to_crm,
    update_payload,
)
from models import Participant

NPSP = load_profile("npsp_pmm")


def test_lookups_are_external_id_references_by_relationship_name() -> None:
    [contact] = to_crm(ZOE, NPSP)
    assert contact.payload["npsp__Primary_Affiliation__r"] == {"Ignite_Key__c": "org:flch"}
    assert contact.field_names["npsp__Primary_Affiliation__r"] == "npsp__Primary_Affiliation__c"
    assert "npsp__Primary_Affiliation__c" not in contact.payload


def test_in_npsp_a_participant_is_affiliated_with_the_hospital_not_filed_under_it() -> None:
    """NPSP's household model: a Contact sent without AccountId gets a household account of its own; the
    hospital is its primary affiliation.  Filing clinicians under the hospital's account would break both."""
    [contact] = to_crm(ZOE, NPSP)
    assert "Account" not in contact.payload and "AccountId" not in contact.payload
    assert contact.payload["npsp__Primary_Affiliation__r"] == {"Ignite_Key__c": "org:flch"}


def test_polymorphic_lookups_name_the_target_type() -> None:
    [task] = to_crm(INTAKE, NPSP, flags={"existing_contact"})
    assert task.payload["Who"]["attributes"] == {"type": "Contact"}


def test_datetimes_are_sent_in_utc_and_dates_without_time_zone() -> None:
    [session] = to_crm(SESSION, NPSP, related=RELATED)
    assert session.payload["pmdm__SessionStart__c"] == "2025-03-04T23:30:00.000+0000"
    assert session.payload["pmdm__SessionEnd__c"] == "2025-03-05T01:00:00.000+0000"
    [delivery] = to_crm(ZOE_PRESENT, NPSP, related=RELATED)
    assert delivery.payload["pmdm__DeliveryDate__c"] == "2025-03-04"


def test_a_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        salesforce_datetime(datetime(2025, 1, 1, 12, 0))
    assert salesforce_datetime(datetime(2025, 1, 1, 12, 0, 0, 123456, tzinfo=UTC)) == "2025-01-01T12:00:00.123+0000"


def test_grant_amounts_keep_their_cents() -> None:
    [opportunity] = to_crm(GRANT, NPSP)
    assert opportunity.payload["Amount"] == 125000.10
    assert opportunity.record_type == "Grant"


def test_record_type_resolves_from_the_describe_by_developer_name() -> None:
    account = load_describes("npsp_pmm")["Account"]
    assert record_type_id(account, "Organization") == "012000000000002AAA"
    with pytest.raises(LookupError, match="no active record type 'Nope'"):
        record_type_id(account, "Nope")


def test_if_blank_fields_are_sent_only_where_the_crm_is_blank() -> None:
    [contact] = to_crm(ZOE, NPSP)
    existing = {
        "Title": "Chief of Emergency Medicine",
        "Phone": "",
        "npsp__Primary_Affiliation__c": "001000000000001AAA",
    }
    sent = update_payload(contact, existing)
    assert "Title" not in sent  # staff corrected it
    assert sent["Phone"] == "+1 555 0100"  # blank in the CRM, so the sync fills it
    assert "npsp__Primary_Affiliation__r" not in sent
    assert sent["Ignite_Key__c"] == ZOE.key
    assert fields_to_read(contact) == ("Phone", "Title", "npe01__Preferred_Email__c", "npsp__Primary_Affiliation__c")


def test_never_fields_are_set_on_create_only() -> None:
    [opportunity] = to_crm(GRANT, NPSP)
    assert opportunity.policies["StageName"] is UpdatePolicy.NEVER
    assert update_payload(opportunity, None)["StageName"] == "Awarded"
    sent = update_payload(opportunity, {"StageName": "Withdrawn"})
    assert "StageName" not in sent and "CloseDate" not in sent
    assert sent["Amount"] == 125000.10


def test_a_value_too_long_for_a_reject_field_rejects_the_row_naming_the_field() -> None:
    long_email = "a" * 60 + "@" + "b" * 20 + ".example.org"
    person = Participant(email=long_email, first_name="A", last_name="B", role="other", organization=FLCH.key)
    with pytest.raises(MappingRejected) as excinfo:
        to_crm(person, NPSP)
    fields = sorted(p.field for p in excinfo.value.problems)
    assert fields == ["Contact.Email", "Contact.npe01__WorkEmail__c"]
    assert excinfo.value.record == person.key
    assert "the CRM field holds at most 80" in excinfo.value.problems[0].rule


def test_a_missing_related_record_rejects_the_row_and_says_which() -> None:
    with pytest.raises(MappingRejected) as excinfo:
        to_crm(ZOE_PRESENT, NPSP, related=RelatedRecords([ZOE]))
    rules = {p.rule for p in excinfo.value.problems}
    assert "needs the Session 'session:flch-2025-spring-01', which was not given" in rules


def test_individual_responses_are_written_only_when_the_setting_turns_them_on() -> None:
    assert to_crm(RESPONSES[0], NPSP) == []
    [response] = to_crm(RESPONSES[0], NPSP, flags={"individual_responses"})
    assert response.object_name == "Ignite_Survey_Response__c"


def test_an_intake_matching_an_existing_contact_becomes_a_task_not_a_lead() -> None:
    assert [w.object_name for w in to_crm(INTAKE, NPSP)] == ["Lead"]
    assert [w.object_name for w in to_crm(INTAKE, NPSP, flags={"existing_contact"})] == ["Task"]


def test_unknown_flags_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown flags"):
        to_crm(INTAKE, NPSP, flags={"everything"})


def test_a_cohort_makes_a_cohort_a_service_and_a_schedule_in_dependency_order() -> None:
    from mapping_cases import SPRING

    writes = to_crm(SPRING, NPSP)
    assert [w.object_name for w in writes] == ["pmdm__ProgramCohort__c", "pmdm__Service__c", "pmdm__ServiceSchedule__c"]
    assert [w.order for w in writes] == sorted(w.order for w in writes)
    assert writes[2].payload["pmdm__Service__r"] == {"Ignite_Key__c": "service:flch-2025-spring"}


def test_engagement_account_stays_blank_so_pmm_validation_passes() -> None:
    from mapping_cases import ZOE_ENROLLED

    engagement, _roster = to_crm(ZOE_ENROLLED, NPSP, related=RELATED)
    assert engagement.object_name == "pmdm__ProgramEngagement__c"
    assert "pmdm__Account__c" not in engagement.payload and "pmdm__Account__r" not in engagement.payload
    assert engagement.payload["pmdm__Program__r"] == {"Ignite_Key__c": "program:ignite"}


def test_every_enrolment_puts_the_participant_on_the_cohort_schedule_roster_pmm_shows() -> None:
    from mapping_cases import PAT_WITHDRAWN, ZOE_ENROLLED

    [roster] = [w for w in to_crm(ZOE_ENROLLED, NPSP, related=RELATED) if w.step == "roster"]
    assert roster.object_name == "pmdm__ServiceParticipant__c"
    assert roster.key == "roster:" + ZOE_ENROLLED.key.split(":", 1)[1]
    assert roster.payload["pmdm__ServiceSchedule__r"] == {"Ignite_Key__c": "schedule:flch-2025-spring"}
    assert roster.payload["pmdm__Service__r"] == {"Ignite_Key__c": "service:flch-2025-spring"}
    assert roster.payload["pmdm__ProgramEngagement__r"] == {"Ignite_Key__c": ZOE_ENROLLED.key}
    assert roster.payload["pmdm__Contact__r"] == {"Ignite_Key__c": ZOE_ENROLLED.participant}
    assert roster.payload["pmdm__Status__c"] == "Enrolled"
    assert NPSP.position("roster") > max(NPSP.position(s) for s in ("enrollment", "cohort_schedule"))
    [withdrawn] = [w for w in to_crm(PAT_WITHDRAWN, NPSP, related=RELATED) if w.step == "roster"]
    assert withdrawn.payload["pmdm__Status__c"] == "Withdrawn"


def test_state_goes_to_the_code_fields_with_country_us_only_when_the_org_has_state_picklists() -> None:
    from mapping_cases import FLCH, INTAKE

    [off] = to_crm(FLCH, NPSP)
    assert (off.payload["BillingState"], off.payload["BillingCountry"]) == ("Michigan", "United States")
    assert "BillingStateCode" not in off.payload and "BillingCountryCode" not in off.payload
    [on] = to_crm(FLCH, NPSP, flags={"state_country_picklists"})
    assert (on.payload["BillingStateCode"], on.payload["BillingCountryCode"]) == ("MI", "US")
    assert "BillingState" not in on.payload and "BillingCountry" not in on.payload
    [lead] = to_crm(INTAKE, NPSP, flags={"state_country_picklists"})
    assert (lead.payload["StateCode"], lead.payload["CountryCode"], "State" in lead.payload) == ("OH", "US", False)


def test_the_grant_stage_and_record_type_are_profile_settings() -> None:
    from mapping_cases import GRANT

    from mappings.profile import load_profile_data, profile_path

    data = yaml.safe_load(profile_path("npsp_pmm").read_text("utf-8"))
    data["settings"] = {"grant_record_type": "NPSP_Default", "grant_stage": "Closed Won"}
    profile = load_profile_data(data, "site.yaml")
    [grant] = [w for w in to_crm(GRANT, profile, related=RELATED) if w.step == "grant_opportunity"]
    assert (grant.record_type, grant.payload["StageName"]) == ("NPSP_Default", "Closed Won")


def test_summaries_update_the_organisation_account_without_creating_it() -> None:
    from mapping_cases import ORG_SUMMARY

    [write] = to_crm(ORG_SUMMARY[0], NPSP)
    assert (write.object_name, write.key, write.operation) == ("Account", "org:flch", "update_existing")
    assert set(write.payload) == {
        "Ignite_Key__c",
        "Ignite_Cohorts_Hosted__c",
        "Ignite_Participants__c",
        "Ignite_Sessions_Attended__c",
        "Ignite_Last_Cohort_End__c",
    }
    assert write.order > NPSP.position("organization_account")


def test_merge_writes_drops_equal_repeats_and_refuses_conflicts() -> None:
    from mapping_cases import OUTCOMES

    nc = load_profile("nonprofit_cloud")
    writes = [w for o in OUTCOMES.values() for w in to_crm(o, nc, related=RELATED)]
    merged = merge_writes(writes)
    assert len(merged) < len(writes)
    assert len({(w.step, w.key) for w in merged}) == len(merged)
    [first, *_] = writes
    clash = type(first)(**{**first.__dict__, "payload": {**first.payload, "Name": "other"}})
    with pytest.raises(ValueError, match="two different payloads"):
        merge_writes([first, clash])


def test_participant_without_optional_fields_sends_blanks() -> None:
    [contact] = to_crm(PAT, NPSP)
    assert contact.payload["Title"] is None and contact.payload["Phone"] is None


NPC = load_profile("nonprofit_cloud")


def _npc_write(instance: object, step: str) -> CrmWrite:
    return next(w for w in to_crm(instance, NPC, related=RELATED) if w.step == step)  # type: ignore[arg-type]


def test_create_only_fields_are_sent_on_create_and_left_out_of_every_update() -> None:
    """IndicatorResult.Denominator and master-detail parents: the org refuses them on update."""
    from mapping_cases import OUTCOMES

    outcome = next(o for o in OUTCOMES.values() if not o.suppressed)
    result = _npc_write(outcome, "outcome_result")
    assert result.policies["Denominator"] is UpdatePolicy.CREATE_ONLY
    assert result.policies["IndicatorPerformancePeriod"] is UpdatePolicy.CREATE_ONLY
    created = update_payload(result, None)
    assert created["Denominator"] == outcome.respondents and "IndicatorPerformancePeriod" in created
    updated = update_payload(result, {"Denominator": 3})
    assert "Denominator" not in updated and "IndicatorPerformancePeriod" not in updated
    assert updated["ResultValue"] == outcome.mean and updated["Ignite_Key__c"] == result.key


def test_a_suppressed_outcome_writes_no_indicator_result_because_the_org_requires_a_value() -> None:
    from mapping_cases import OUTCOMES

    suppressed = next(o for o in OUTCOMES.values() if o.suppressed)
    steps = {w.step for w in to_crm(suppressed, NPC, related=RELATED)}
    assert "outcome_result" not in steps
    assert {"outcome_assignment", "outcome_period"} <= steps  # the period is there for when enough people answer


def test_nonprofit_cloud_sessions_hang_off_their_cohorts_benefit_schedule() -> None:
    session = _npc_write(SESSION, "session")
    assert session.payload["BenefitSchedule"] == {"Ignite_Key__c": f"benefitschedule:{SESSION.cohort.split(':')[1]}"}
    assert "Benefit" not in session.payload and session.payload["Status"] == "Scheduled"
    cohort = next(w for w in to_crm(SPRING, NPC, related=RELATED) if w.step == "cohort_schedule")
    assert cohort.key == session.payload["BenefitSchedule"]["Ignite_Key__c"]
    assert cohort.payload["Benefit"] == {"Ignite_Key__c": cohort.key.replace("benefitschedule:", "benefit:")}
    assert cohort.payload["FirstSessionStartDateTime"].startswith(SPRING.start_date.isoformat())


def test_nonprofit_cloud_attendance_carries_its_completion_date_and_assignments_their_parent() -> None:
    attendance = _npc_write(ZOE_PRESENT, "attendance")
    assert attendance.payload["ActualCompletionDate"] == salesforce_datetime(SESSION.starts_at)
    assignment = _npc_write(ZOE_ENROLLED, "benefit_assignment")
    assert "Name" not in assignment.payload  # an auto-number
    assert assignment.payload["ParentRecord"] == {
        "attributes": {"type": "ProgramEnrollment"},
        "Ignite_Key__c": ZOE_ENROLLED.key,
    }
