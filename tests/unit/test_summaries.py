"""Engagement summaries: what development staff see on a participant's Contact, the organisation's Account and
the grant's Opportunity."""

from __future__ import annotations

from datetime import UTC, date, datetime

from models import Attendance, Cohort, Enrollment, Grant, Organization, Participant, Session
from models.summaries import grant_summaries, organization_summaries, participant_summaries

ORG = Organization(key="org:a", name="A", kind="fqhc")
OTHER = Organization(key="org:b", name="B", kind="other")


def cohort(key: str, status: str = "active", end: date = date(2025, 6, 1)) -> Cohort:
    return Cohort(
        key=key,
        program="program:p",
        organization=ORG.key,
        name=key,
        start_date=date(2025, 1, 1),
        end_date=end,
        status=status,
        delivery="virtual",
    )


C1, C2 = cohort("cohort:one", end=date(2025, 6, 1)), cohort("cohort:two", "planned", end=date(2026, 1, 31))
CANCELED = cohort("cohort:gone", "canceled", end=date(2027, 1, 1))
ENROLMENTS = [
    Enrollment(participant="participant:p1", cohort=C1.key, status="completed"),
    Enrollment(participant="participant:p1", cohort=C2.key, status="enrolled"),
    Enrollment(participant="participant:p2", cohort=C1.key, status="withdrawn"),
    Enrollment(participant="participant:p3", cohort=C1.key, status="invited"),
    Enrollment(participant="participant:p4", cohort=CANCELED.key, status="enrolled"),
]
S1 = Session(key="session:s1", cohort=C1.key, sequence=1, title="t", starts_at=datetime(2025, 2, 1, tzinfo=UTC),
             duration_minutes=60)  # fmt: skip
S_GONE = Session(key="session:g", cohort=CANCELED.key, sequence=1, title="t",
                 starts_at=datetime(2025, 2, 1, tzinfo=UTC), duration_minutes=60)  # fmt: skip
ATTENDANCE = [
    Attendance(session=S1.key, participant="participant:p1", status="present", minutes=60),
    Attendance(session=S1.key, participant="participant:p2", status="absent"),
    Attendance(session=S_GONE.key, participant="participant:p4", status="present", minutes=60),
]


def test_organisation_summary_counts_people_once_and_skips_invitations_and_canceled_cohorts() -> None:
    [a, b] = organization_summaries([OTHER, ORG], [C1, C2, CANCELED], ENROLMENTS, [S1, S_GONE], ATTENDANCE)
    assert (a.key, a.cohorts_hosted, a.participants, a.sessions_attended) == ("org:a", 2, 2, 1)
    assert a.last_cohort_end_date == date(2026, 1, 31)
    assert (b.key, b.cohorts_hosted, b.participants, b.sessions_attended, b.last_cohort_end_date) == (
        "org:b",
        0,
        0,
        0,
        None,
    )


def test_grant_summary_counts_only_its_own_existing_cohorts() -> None:
    grant = Grant(
        key="grant:g",
        funder="funder:f",
        name="G",
        amount="1000",
        period_start=date(2025, 1, 1),
        period_end=date(2025, 12, 31),
        cohorts=(C1.key, CANCELED.key, "cohort:unknown"),
    )
    [summary] = grant_summaries([grant], [C1, C2, CANCELED], ENROLMENTS)
    assert (summary.key, summary.cohorts_funded, summary.participants_funded) == ("grant:g", 1, 2)


def _person(email: str) -> Participant:
    return Participant(email=email, first_name="A", last_name="B", role="clinician", organization=ORG.key)


def test_participant_summary_counts_attended_of_held_last_attended_and_latest_status() -> None:
    ana, ben, cy = _person("ana@a.org"), _person("ben@a.org"), _person("cy@a.org")
    s2 = Session(key="session:s2", cohort=C1.key, sequence=2, title="t", starts_at=datetime(2025, 2, 8, tzinfo=UTC),
                 duration_minutes=60)  # fmt: skip
    s3 = Session(key="session:s3", cohort=C1.key, sequence=3, title="t", starts_at=datetime(2025, 2, 15, tzinfo=UTC),
                 duration_minutes=60)  # fmt: skip
    enrolments = [
        Enrollment(participant=ana.key, cohort=C1.key, status="completed"),
        Enrollment(participant=ana.key, cohort=C2.key, status="enrolled"),  # the later cohort sets her status
        Enrollment(participant=ben.key, cohort=C1.key, status="withdrawn"),
        Enrollment(participant=cy.key, cohort=CANCELED.key, status="enrolled"),
    ]
    attendance = [
        Attendance(session=S1.key, participant=ana.key, status="present", minutes=60),
        Attendance(session=s2.key, participant=ana.key, status="present", minutes=60),
        Attendance(session=S1.key, participant=ben.key, status="present", minutes=60),
        Attendance(session=s2.key, participant=ben.key, status="absent"),
        Attendance(session=S_GONE.key, participant=cy.key, status="present", minutes=60),
    ]  # session s3 took no attendance yet: not held
    summaries = {
        s.key: s
        for s in participant_summaries([ana, ben, cy], [C1, C2, CANCELED], enrolments, [S1, s2, s3, S_GONE], attendance)
    }
    a, b, c = summaries[ana.key], summaries[ben.key], summaries[cy.key]
    assert (a.cohorts, a.sessions_attended, a.sessions_held, a.last_attended) == (2, 2, 2, date(2025, 2, 8))
    assert a.status == "enrolled"
    assert (b.cohorts, b.sessions_attended, b.sessions_held, b.last_attended, b.status) == (
        1,
        1,
        2,
        date(2025, 2, 1),
        "withdrawn",
    )
    # a canceled cohort counts for nothing, but the person still has a status to show
    assert (c.cohorts, c.sessions_attended, c.sessions_held, c.last_attended, c.status) == (0, 0, 0, None, "enrolled")
