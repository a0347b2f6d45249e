"""Engagement at a glance: per-organisation and per-grant summaries derived from the program records.

Development staff look at an organisation's Account or a grant's Opportunity, not at cohort rosters, so the
sync writes a handful of summary fields onto those records.  The summaries reuse the organisation's or the
grant's own key: they land on the same CRM record and write only their own fields.

Counting rules (one definition, shared by every profile):
- a cohort counts unless it was canceled;
- a participant counts once per organisation or grant, when their enrolment in a counted cohort is active
  (enrolled, completed or withdrawn — an invitation is not participation);
- "sessions attended" counts attendance rows marked present (one per person per session) in counted cohorts;
- the last cohort end date is the latest end date among counted cohorts, planned ones included.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date

from pydantic import Field

from models.common import AttendanceStatus, CohortStatus, EnrollmentStatus, IgniteModel
from models.funding import Grant
from models.keys import GrantKey, OrganizationKey
from models.organization import Organization
from models.program import Cohort, Session
from models.records import Attendance, Enrollment

_COUNTED_ENROLMENT = {EnrollmentStatus.ENROLLED, EnrollmentStatus.COMPLETED, EnrollmentStatus.WITHDRAWN}


class OrganizationSummary(IgniteModel):
    key: OrganizationKey
    cohorts_hosted: int = Field(ge=0)
    participants: int = Field(ge=0)
    sessions_attended: int = Field(ge=0)
    last_cohort_end_date: date | None = None


class GrantSummary(IgniteModel):
    key: GrantKey
    cohorts_funded: int = Field(ge=0)
    participants_funded: int = Field(ge=0)


def _counted_cohorts(cohorts: Iterable[Cohort]) -> dict[str, Cohort]:
    return {c.key: c for c in cohorts if c.status is not CohortStatus.CANCELED}


def _participants_by_cohort(enrollments: Iterable[Enrollment]) -> dict[str, set[str]]:
    people: dict[str, set[str]] = defaultdict(set)
    for e in enrollments:
        if e.status in _COUNTED_ENROLMENT:
            people[e.cohort].add(e.participant)
    return people


def organization_summaries(
    organizations: Iterable[Organization],
    cohorts: Iterable[Cohort],
    enrollments: Iterable[Enrollment],
    sessions: Iterable[Session],
    attendance: Iterable[Attendance],
) -> list[OrganizationSummary]:
    """One summary per organisation given (zeros included, so a stale count is overwritten), sorted by key."""
    counted = _counted_cohorts(cohorts)
    people = _participants_by_cohort(enrollments)
    cohort_of_session = {s.key: s.cohort for s in sessions if s.cohort in counted}
    present: dict[str, int] = defaultdict(int)
    for a in attendance:
        cohort = cohort_of_session.get(a.session)
        if cohort is not None and a.status is AttendanceStatus.PRESENT:
            present[cohort] += 1
    by_org: dict[str, list[Cohort]] = defaultdict(list)
    for c in counted.values():
        by_org[c.organization].append(c)
    summaries = []
    for org in organizations:
        hosted = by_org.get(org.key, [])
        participants: set[str] = set()
        for c in hosted:
            participants |= people.get(c.key, set())
        summaries.append(
            OrganizationSummary(
                key=org.key,
                cohorts_hosted=len(hosted),
                participants=len(participants),
                sessions_attended=sum(present[c.key] for c in hosted),
                last_cohort_end_date=max((c.end_date for c in hosted), default=None),
            )
        )
    return sorted(summaries, key=lambda s: s.key)


def grant_summaries(
    grants: Iterable[Grant], cohorts: Iterable[Cohort], enrollments: Iterable[Enrollment]
) -> list[GrantSummary]:
    """One summary per grant, counting only the grant's cohorts that exist and were not canceled."""
    counted = _counted_cohorts(cohorts)
    people = _participants_by_cohort(enrollments)
    summaries = []
    for grant in grants:
        funded = sorted({k for k in grant.cohorts if k in counted})
        participants: set[str] = set()
        for key in funded:
            participants |= people.get(key, set())
        summaries.append(GrantSummary(key=grant.key, cohorts_funded=len(funded), participants_funded=len(participants)))
    return sorted(summaries, key=lambda s: s.key)
