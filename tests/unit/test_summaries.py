"""Engagement summaries: what development staff see on the organisation's Account and the grant's Opportunity."""

from __future__ import annotations

from datetime import UTC, date, datetime

from models import Attendance, Cohort, Enrollment, Grant, Organization, Session
from models.summaries import grant_summaries, organization_summaries

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
