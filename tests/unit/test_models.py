"""Rules of the domain models: every rule named, every problem reported with its field."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from models import (
    Attendance,
    Cohort,
    Enrollment,
    Grant,
    IntakeSubmission,
    Participant,
    Program,
    Session,
    SurveyResponse,
    default_catalogue,
    normalise_email,
    participant_key,
    problems_from_validation_error,
)
from models.rules import ProgramData, check_program, check_program_dates
from sync.plan import pick_matches

PERSON = {
    "email": "ana@flch.example",
    "first_name": "Ana",
    "last_name": "Gómez",
    "role": "clinician",
    "organization": "org:flch",
}
COHORT = {
    "key": "cohort:flch-1",
    "program": "program:ignite",
    "organization": "org:flch",
    "name": "Spring forum",
    "start_date": "2025-03-01",
    "end_date": "2025-04-30",
    "status": "active",
    "delivery": "hybrid",
}


def fields_in_error(exc: pytest.ExceptionInfo[ValidationError]) -> set[str]:
    return {p.field for p in problems_from_validation_error("row", exc.value)}


local_parts = st.from_regex(r"[a-z][a-z0-9._+-]{0,20}", fullmatch=True)
domains = st.from_regex(r"[a-z][a-z0-9-]{0,10}[a-z0-9]\.(org|com|example)", fullmatch=True)


@given(local=local_parts, domain=domains, data=st.data())
def test_same_person_typed_with_other_case_or_spacing_gets_the_same_key(
    local: str, domain: str, data: st.DataObject
) -> None:
    email = f"{local}@{domain}"
    variant = "".join(c.upper() if data.draw(st.booleans()) else c for c in email)
    padding = data.draw(st.sampled_from(["", " ", "  ", "\t", " \n"]))
    assert participant_key(padding + variant + padding) == participant_key(email)


@given(a=st.tuples(local_parts, domains), b=st.tuples(local_parts, domains))
def test_different_people_get_different_keys(a: tuple[str, str], b: tuple[str, str]) -> None:
    if a != b:
        assert participant_key("@".join(a)) != participant_key("@".join(b))


def test_unicode_domain_is_idna_encoded_and_unicode_names_are_kept() -> None:
    person = Participant(**{**PERSON, "email": " José@Bücher.Example ", "first_name": "José", "last_name": "Nguyễn"})
    assert person.email == "josé@xn--bcher-kva.example"
    assert person.key == participant_key("JOSÉ@bücher.example")
    assert (person.first_name, person.last_name) == ("José", "Nguyễn")


@pytest.mark.parametrize("bad", ["no-at-sign", "two@@example.org", "a@nodot", "spaced name@example.org", "a@-x.org"])
def test_an_address_that_is_not_an_email_is_rejected_naming_the_rule(bad: str) -> None:
    with pytest.raises(ValueError):
        normalise_email(bad)
    with pytest.raises(ValidationError) as exc:
        Participant(**{**PERSON, "email": bad})
    assert fields_in_error(exc) == {"email"}


def test_participant_key_carries_no_personal_data() -> None:
    person = Participant(**PERSON)
    assert "ana" not in person.key and "flch" not in person.key


def test_cohort_end_before_start_is_rejected() -> None:
    with pytest.raises(ValidationError, match="end_date must be on or after start_date"):
        Cohort(**{**COHORT, "end_date": "2025-02-01"})


def test_cohort_facilitators_are_split_from_a_csv_cell() -> None:
    cohort = Cohort(**{**COHORT, "facilitators": "Dana Whitfield; Marcus Boateng;"})
    assert cohort.facilitators == ("Dana Whitfield", "Marcus Boateng")


def test_every_bad_field_is_reported_at_once() -> None:
    with pytest.raises(ValidationError) as exc:
        Cohort(**{**COHORT, "status": "finished", "delivery": "carrier pigeon", "key": "Cohort 1"})
    assert fields_in_error(exc) == {"status", "delivery", "key"}


def test_unknown_columns_are_rejected_not_dropped() -> None:
    with pytest.raises(ValidationError) as exc:
        Participant(**{**PERSON, "emial": "typo@example.org"})
    assert fields_in_error(exc) == {"emial"}


def test_session_start_needs_a_time_zone_and_is_stored_as_utc() -> None:
    eastern = timezone(timedelta(hours=-5))
    session = Session(
        key="session:flch-1:1",
        cohort="cohort:flch-1",
        sequence=1,
        title="Forum 1",
        starts_at=datetime(2025, 3, 4, 19, 30, tzinfo=eastern),
        duration_minutes=90,
    )
    assert session.starts_at == datetime(2025, 3, 5, 0, 30, tzinfo=UTC)
    with pytest.raises(ValidationError) as exc:
        Session(**{**session.model_dump(), "starts_at": datetime(2025, 3, 4, 19, 30)})
    assert fields_in_error(exc) == {"starts_at"}


def test_absent_attendance_cannot_carry_minutes() -> None:
    with pytest.raises(ValidationError, match="minutes must be empty"):
        Attendance(session="session:flch-1:1", participant=participant_key("a@b.org"), status="absent", minutes=30)


def test_grant_amount_is_exact_decimal_and_period_ordered() -> None:
    grant = Grant(
        key="grant:g1",
        funder="funder:f1",
        name="G",
        amount="125000.10",
        period_start="2025-01-01",
        period_end="2025-12-31",
        cohorts="cohort:a;cohort:b",
    )
    assert str(grant.amount) == "125000.10" and grant.currency == "USD"
    assert grant.cohorts == ("cohort:a", "cohort:b")
    with pytest.raises(ValidationError, match="period_end"):
        Grant(**{**grant.model_dump(), "period_end": "2024-01-01"})


def test_intake_message_is_capped_at_5000_characters() -> None:
    base = {
        "source": "website",
        "delivery_id": "d1",
        "received_at": "2026-01-01T00:00:00Z",
        "last_name": "Kim",
        "email": "k@example.org",
        "organization": "Delta Regional",
    }
    assert IntakeSubmission(**base, message="x" * 5000).message
    with pytest.raises(ValidationError) as exc:
        IntakeSubmission(**base, message="x" * 5001)
    assert fields_in_error(exc) == {"message"}


def test_the_same_delivery_gets_the_same_intake_key() -> None:
    base = {"source": "website", "received_at": "2026-01-01T00:00:00Z", "last_name": "Kim", "email": "k@e.org"}
    one = IntakeSubmission(**base, delivery_id="d1", organization="A")
    assert one.key == IntakeSubmission(**base, delivery_id="d1", organization="B").key
    assert one.key != IntakeSubmission(**base, delivery_id="d2", organization="A").key


NFC_JOSE = "jos\u00e9@example.org"
NFD_JOSE = "jose\u0301@example.org"


@pytest.mark.parametrize("spelling", [NFD_JOSE, " JOSE\u0301@Example.ORG ", "jos\u00c9@example.org"])
def test_an_email_in_nfd_is_the_same_person_as_in_nfc(spelling: str) -> None:
    """macOS and some forms send `é` as `e` + combining accent: that must not make a second participant."""
    assert normalise_email(spelling) == NFC_JOSE
    assert participant_key(spelling) == participant_key(NFC_JOSE)
    base = {"source": "website", "delivery_id": "d1", "received_at": "2026-01-01T00:00:00Z", "last_name": "K"}
    assert IntakeSubmission(**base, organization="A", email=spelling).email == NFC_JOSE
    person = {"first_name": "José", "last_name": "K", "role": "clinician", "organization": "org:a"}
    assert Participant(**person, email=spelling).key == Participant(**person, email=NFC_JOSE).key


def test_a_crm_email_in_nfd_matches_the_same_person_for_adoption() -> None:
    """The sync adopts an unkeyed CRM Contact by email: one typed in NFD in the CRM is still the person."""
    rows = [{"Id": "003A", "Email": NFD_JOSE.upper(), "Ignite_Key__c": None}]
    assert pick_matches(rows, "Email", "Ignite_Key__c") == {NFC_JOSE: "003A"}


def test_response_value_must_lie_on_the_measure_scale_and_phase() -> None:
    catalogue = default_catalogue()
    who = participant_key("a@b.org")
    ok = SurveyResponse(
        participant=who, cohort="cohort:c", measure="measure:burnout", phase="pre", value=3, collected_on="2025-01-01"
    )
    assert catalogue.check_response(ok, "r") == []
    too_high = SurveyResponse(**{**ok.model_dump(exclude={"key"}), "value": 6.0})
    assert [(p.field, p.rule) for p in catalogue.check_response(too_high, "r")] == [
        ("value", "must be between 1 and 5 for measure:burnout")
    ]
    wrong_phase = SurveyResponse(
        **{**ok.model_dump(exclude={"key"}), "measure": "measure:belonging", "phase": "follow_up"}
    )
    assert [p.field for p in catalogue.check_response(wrong_phase, "r")] == ["phase"]
    unknown = SurveyResponse(**{**ok.model_dump(exclude={"key"}), "measure": "measure:height"})
    assert [p.field for p in catalogue.check_response(unknown, "r")] == ["measure"]


def test_default_catalogue_has_burnout_with_a_threshold_and_direction() -> None:
    catalogue = default_catalogue()
    assert 5 <= len(catalogue.measures) <= 6
    burnout = catalogue.get("measure:burnout")
    assert burnout is not None and burnout.threshold == 3 and not burnout.higher_is_better
    assert burnout.meets_threshold(3) and not burnout.meets_threshold(2)


def test_responses_and_attendance_need_an_enrolment_and_all_problems_come_at_once() -> None:
    cohort = Cohort(**COHORT)
    person = Participant(**PERSON)
    stranger = participant_key("stranger@example.org")
    session = Session(
        key="session:flch-1:1",
        cohort=cohort.key,
        sequence=1,
        title="Forum 1",
        starts_at="2025-03-04T19:30:00-05:00",
        duration_minutes=90,
    )
    data = ProgramData(
        programs=[],
        organizations=[],
        cohorts=[cohort],
        participants=[person],
        enrollments=[Enrollment(participant=person.key, cohort=cohort.key, status="invited")],
        sessions=[session],
        attendance=[Attendance(session=session.key, participant=stranger, status="present", minutes=90)],
        responses=[
            SurveyResponse(
                participant=person.key,
                cohort=cohort.key,
                measure="measure:burnout",
                phase="pre",
                value=9,
                collected_on=date(2025, 3, 1),
            )
        ],
    )
    problems = check_program(data, default_catalogue())
    rules = sorted((p.field, p.rule.split(" ")[0]) for p in problems)
    assert rules == [
        ("organization", "unknown"),  # cohort's organisation
        ("organization", "unknown"),  # participant's organisation
        ("participant", "a"),  # response without enrolment (invited is not enrolled)
        ("participant", "attendance"),  # attendance of a stranger
        ("program", "unknown"),
        ("value", "must"),
    ]


def test_a_dumped_record_reads_back_but_a_wrong_derived_key_is_refused() -> None:
    person = Participant(**PERSON)
    assert Participant.model_validate(person.model_dump()) == person
    with pytest.raises(ValidationError, match="does not match the key derived"):
        Participant.model_validate({**person.model_dump(), "key": "participant:0000"})


def test_derived_keys_fit_the_crm_key_field_without_being_cut() -> None:
    long_cohort = "cohort:" + "a" * 60
    who = participant_key("someone@example.org")
    response = SurveyResponse(
        participant=who, cohort=long_cohort, measure="measure:intent-to-leave", phase="follow_up", value=2,
        collected_on="2025-01-01",
    )  # fmt: skip
    other = SurveyResponse(**{**response.model_dump(exclude={"key"}), "phase": "post"})
    assert len(response.key) <= 80 and response.key.startswith("response:h-")
    assert response.key != other.key
    short = Enrollment(participant=who, cohort="cohort:c1", status="enrolled")
    assert short.key == f"enrollment:c1:{who.split(':')[1]}"


def test_cohorts_and_enrolments_must_fall_within_their_programs_dates() -> None:
    program = Program(key="program:ignite", name="Ignite", start_date="2025-03-15", end_date="2025-04-15")
    cohort = Cohort(**COHORT)  # 2025-03-01 .. 2025-04-30: both ends outside
    person = Participant(**PERSON)
    inside = Enrollment(participant=person.key, cohort=cohort.key, status="enrolled", enrolled_on="2025-03-20")
    data = ProgramData(programs=[program], cohorts=[cohort], enrollments=[inside])
    assert [(p.record, p.field, p.rule) for p in check_program_dates(data)] == [
        (cohort.key, "start_date", "the cohort starts on 2025-03-01, before program:ignite starts (2025-03-15)"),
        (cohort.key, "end_date", "the cohort ends on 2025-04-30, after program:ignite ends (2025-04-15)"),
    ]
