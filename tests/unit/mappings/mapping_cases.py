"""A small Ignite program and the named cases the golden files cover: every model, plus the edge cases."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

from pydantic import BaseModel

from mappings.transform import RelatedRecords
from models import (
    Attendance,
    Cohort,
    Enrollment,
    Funder,
    Grant,
    IntakeSubmission,
    Organization,
    Participant,
    Program,
    Session,
    SurveyResponse,
    default_catalogue,
)
from models.outcomes import cohort_outcomes
from models.summaries import grant_summaries, organization_summaries, participant_summaries

EASTERN = timezone(timedelta(hours=-5))

PROGRAM = Program(
    key="program:ignite",
    name="Ignite",
    description="Facilitated forums where hospital administrators and clinicians meet in cohorts.",
    start_date=date(2025, 1, 1),
    end_date=date(2026, 12, 31),
)
FLCH = Organization(
    key="org:flch",
    name="Fictional Lakeside Community Health",
    kind="fqhc",
    city="Lakeside",
    state="MI",
    website="https://flch.example.org",
)
ST_MARY = Organization(key="org:st-mary", name="St. Mary's Regional", kind="community_hospital")
FUNDER = Funder(key="funder:acme-fdn", name="Acme Health Foundation", website="https://acme.example.org")
SPRING = Cohort(
    key="cohort:flch-2025-spring",
    program=PROGRAM.key,
    organization=FLCH.key,
    name="Lakeside spring 2025",
    start_date=date(2025, 3, 1),
    end_date=date(2025, 6, 30),
    status="active",
    delivery="hybrid",
    facilitators=("Dana Reyes", "Sam Okafor"),
)
LONG_NAME = "St. Mary's Regional fall 2025 cohort for emergency, surgical and primary care teams"[:80]
FALL = Cohort(
    key="cohort:st-mary-2025-fall",
    program=PROGRAM.key,
    organization=ST_MARY.key,
    name=LONG_NAME,
    start_date=date(2025, 9, 1),
    end_date=date(2025, 12, 15),
    status="planned",
    delivery="in_person",
)
GRANT = Grant(
    key="grant:acme-2025",
    funder=FUNDER.key,
    name="Acme 2025 Ignite grant",
    amount=Decimal("125000.10"),
    period_start=date(2025, 1, 1),
    period_end=date(2025, 12, 31),
    cohorts=(SPRING.key, FALL.key),
)
ZOE = Participant(
    email=" Zoë.Nunez@FLCH.example.org ".replace("ë", "e"),
    first_name="Zoë",
    last_name="Ñúñez-Çelik",
    role="clinician",
    job_title="Attending Physician, Emergency Medicine",
    organization=FLCH.key,
    phone="+1 555 0100",
)
PAT = Participant(
    email="pat.lee@flch.example.org", first_name="Pat", last_name="Lee", role="administrator", organization=FLCH.key
)
OTHERS = [
    Participant(
        email=f"clinician{i}@flch.example.org",
        first_name=f"Clinician{i}",
        last_name="Example",
        role="clinician",
        organization=FLCH.key,
    )
    for i in range(4)
]
ZOE_ENROLLED = Enrollment(participant=ZOE.key, cohort=SPRING.key, status="enrolled", enrolled_on=date(2025, 2, 20))
PAT_WITHDRAWN = Enrollment(
    participant=PAT.key, cohort=SPRING.key, status="withdrawn", enrolled_on=date(2025, 2, 20), ended_on=date(2025, 4, 2)
)
OTHER_ENROLLED = [Enrollment(participant=p.key, cohort=SPRING.key, status="completed") for p in OTHERS]
LONG_TITLE = ("Listening across roles: what the night shift wants the C-suite to know about staffing "[:80]).strip()
SESSION = Session(
    key="session:flch-2025-spring-01",
    cohort=SPRING.key,
    sequence=1,
    title=LONG_TITLE,
    starts_at=datetime(2025, 3, 4, 18, 30, tzinfo=EASTERN),
    duration_minutes=90,
)
ZOE_PRESENT = Attendance(session=SESSION.key, participant=ZOE.key, status="present", minutes=90)
PAT_ABSENT = Attendance(session=SESSION.key, participant=PAT.key, status="absent")
_PEOPLE = [ZOE, *OTHERS]
RESPONSES = [
    SurveyResponse(
        participant=p.key, cohort=SPRING.key, measure="measure:burnout", phase=phase, value=v, collected_on=d
    )
    for phase, d, values in (
        ("pre", date(2025, 3, 1), [4, 3, 5, 2, 3]),
        ("post", date(2025, 6, 30), [2, 3, 2, 1, 3]),
    )
    for p, v in zip(_PEOPLE, values, strict=True)
] + [
    SurveyResponse(
        participant=p.key,
        cohort=SPRING.key,
        measure="measure:cross-role-empathy",
        phase="follow_up",
        value=v,
        collected_on=date(2025, 12, 1),
    )
    for p, v in zip(_PEOPLE[:2], [6, 5], strict=True)
]
OUTCOMES = {o.key: o for o in cohort_outcomes(RESPONSES, default_catalogue(), min_respondents=5)}
BURNOUT = default_catalogue().get("measure:burnout")
EMPATHY = default_catalogue().get("measure:cross-role-empathy")
ORG_SUMMARY = organization_summaries(
    [FLCH, ST_MARY],
    [SPRING, FALL],
    [ZOE_ENROLLED, PAT_WITHDRAWN, *OTHER_ENROLLED],
    [SESSION],
    [ZOE_PRESENT, PAT_ABSENT],
)
PARTICIPANT_SUMMARY = {
    s.key: s
    for s in participant_summaries(
        [ZOE, PAT], [SPRING, FALL], [ZOE_ENROLLED, PAT_WITHDRAWN], [SESSION], [ZOE_PRESENT, PAT_ABSENT]
    )
}
GRANT_SUMMARY = grant_summaries([GRANT], [SPRING, FALL], [ZOE_ENROLLED, PAT_WITHDRAWN, *OTHER_ENROLLED])
INTAKE = IntakeSubmission(
    source="website",
    delivery_id="msg_2b7Xq",
    received_at=datetime(2025, 5, 2, 14, 5, 9, tzinfo=UTC),
    first_name="Robin",
    last_name="Okoye",
    email="Robin.Okoye@Harbor-Health.example.com",
    phone="555-0199",
    organization="Harbor Health System",
    job_title="Chief Nursing Officer",
    role="administrator",
    organization_kind="health_system",
    state="OH",
    interest="A cohort for our three hospitals",
    message="We would like to bring Ignite to our nursing and physician leaders.",
    consent_to_contact=True,
)
INTAKE_MINIMAL = IntakeSubmission(
    source="website",
    delivery_id="msg_min",
    received_at=datetime(2025, 5, 3, 8, 0, tzinfo=UTC),
    last_name="Nguyen",
    email="nguyen@clinic.example.net",
    organization="Riverbend Clinic",
)

RELATED = RelatedRecords(
    [PROGRAM, FLCH, ST_MARY, FUNDER, GRANT, SPRING, FALL, ZOE, PAT, *OTHERS, SESSION, BURNOUT, EMPATHY]
)


@dataclass(frozen=True)
class Case:
    instance: BaseModel
    flags: tuple[str, ...] = ()


CASES: dict[str, Case] = {
    "program": Case(PROGRAM),
    "organization": Case(FLCH),
    "organization_state_country_picklists": Case(FLCH, ("state_country_picklists",)),
    "organization_missing_optional_fields": Case(ST_MARY),
    "funder": Case(FUNDER),
    "grant": Case(GRANT),
    "cohort": Case(SPRING),
    "cohort_very_long_name": Case(FALL),
    "participant_unicode_name": Case(ZOE),
    "participant_missing_optional_fields": Case(PAT),
    "enrollment": Case(ZOE_ENROLLED),
    "enrollment_withdrawn": Case(PAT_WITHDRAWN),
    "session_very_long_title": Case(SESSION),
    "attendance_present": Case(ZOE_PRESENT),
    "attendance_absent": Case(PAT_ABSENT),
    "survey_response_off_by_default": Case(RESPONSES[0]),
    "survey_response_when_enabled": Case(RESPONSES[0], ("individual_responses",)),
    "measure_with_threshold": Case(BURNOUT),
    "measure_without_threshold": Case(EMPATHY),
    "cohort_outcome_post": Case(OUTCOMES["outcome:flch-2025-spring:burnout:post"]),
    "cohort_outcome_follow_up_suppressed": Case(OUTCOMES["outcome:flch-2025-spring:cross-role-empathy:follow_up"]),
    "organization_summary": Case(ORG_SUMMARY[0]),
    "organization_summary_no_participants": Case(ORG_SUMMARY[1]),
    "participant_summary": Case(PARTICIPANT_SUMMARY[ZOE.key]),
    "participant_summary_withdrawn_never_attended": Case(PARTICIPANT_SUMMARY[PAT.key]),
    "grant_summary": Case(GRANT_SUMMARY[0]),
    "intake": Case(INTAKE),
    "intake_state_country_picklists": Case(INTAKE, ("state_country_picklists",)),
    "intake_missing_optional_fields": Case(INTAKE_MINIMAL),
    "intake_existing_contact": Case(INTAKE, ("existing_contact",)),
}
