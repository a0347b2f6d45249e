"""Engagement at a glance: per-participant, per-organisation and per-grant summaries derived from the records.

Development staff look at a person's Contact, an organisation's Account or a grant's Opportunity, not at
cohort rosters, so the sync writes a handful of summary fields onto those records.  The summaries reuse the
participant's, organisation's or grant's own key: they land on the same CRM record and write only their own
fields.

Counting rules (one definition, shared by every profile):
- a cohort counts unless it was canceled;
- a participant counts once per organisation or grant, when their enrolment in a counted cohort is active
  (enrolled, completed or withdrawn — an invitation is not participation);
- "sessions attended" counts attendance rows marked present (one per person per session) in counted cohorts;
- the last cohort end date is the latest end date among counted cohorts, planned ones included;
- for a participant: cohorts counts their counted enrolments; a session was *held* once attendance was taken
  for it (anyone marked present, excused or absent), so "attended 5 of 6 held" never counts future sessions
  and never depends on the day the sync runs; last attended is the date of the latest session they were
  present at; status is that of their enrolment in the latest-starting cohort (an invitation included).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date

from pydantic import Field

from models.common import AttendanceStatus, CohortStatus, EnrollmentStatus, IgniteModel
from models.funding import Grant
from models.keys import GrantKey, OrganizationKey, ParticipantKey
from models.organization import Organization
from models.participant import Participant
from models.program import Cohort, Session
from models.records import Attendance, Enrollment

_COUNTED_ENROLMENT = {EnrollmentStatus.ENROLLED, EnrollmentStatus.COMPLETED, EnrollmentStatus.WITHDRAWN}


class OrganizationSummary(IgniteModel):
    key: OrganizationKey
    cohorts_hosted: int = Field(ge=0)
    participants: int = Field(ge=0)
    sessions_attended: int = Field(ge=0)
    last_cohort_end_date: date | None = None


class ParticipantSummary(IgniteModel):
    key: ParticipantKey
    cohorts: int = Field(ge=0)
    sessions_attended: int = Field(ge=0)
    sessions_held: int = Field(ge=0)
    last_attended: date | None = None
    status: EnrollmentStatus | None = None


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


def participant_summaries(
    participants: Iterable[Participant],
    cohorts: Iterable[Cohort],
    enrollments: Iterable[Enrollment],
    sessions: Iterable[Session],
    attendance: Iterable[Attendance],
) -> list[ParticipantSummary]:
    """One summary per participant given (zeros included, so a stale count is overwritten), sorted by key."""
    all_cohorts = {c.key: c for c in cohorts}
    counted = _counted_cohorts(all_cohorts.values())
    session_info = {s.key: (s.cohort, s.starts_at.date()) for s in sessions}
    taken: set[str] = set()
    present: dict[str, int] = defaultdict(int)
    last: dict[str, date] = {}
    for a in attendance:
        info = session_info.get(a.session)
        if info is None or info[0] not in counted:
            continue
        taken.add(a.session)
        if a.status is AttendanceStatus.PRESENT:
            present[a.participant] += 1
            if a.participant not in last or last[a.participant] < info[1]:
                last[a.participant] = info[1]
    held_by_cohort: dict[str, int] = defaultdict(int)
    for key in taken:
        held_by_cohort[session_info[key][0]] += 1
    cohorts_of: dict[str, list[str]] = defaultdict(list)
    latest: dict[str, tuple[date, str, EnrollmentStatus]] = {}
    for e in enrollments:
        cohort = all_cohorts.get(e.cohort)
        if cohort is None:
            continue
        if e.cohort in counted and e.status in _COUNTED_ENROLMENT:
            cohorts_of[e.participant].append(e.cohort)
        rank = (cohort.start_date, cohort.key, e.status)
        if e.participant not in latest or latest[e.participant][:2] < rank[:2]:
            latest[e.participant] = rank
    summaries = [
        ParticipantSummary(
            key=p.key,
            cohorts=len(cohorts_of.get(p.key, [])),
            sessions_attended=present.get(p.key, 0),
            sessions_held=sum(held_by_cohort.get(c, 0) for c in cohorts_of.get(p.key, [])),
            last_attended=last.get(p.key),
            status=latest[p.key][2] if p.key in latest else None,
        )
        for p in participants
    ]
    return sorted(summaries, key=lambda s: s.key)
