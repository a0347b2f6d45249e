"""Cross-record rules: what must hold between records, checked all at once.

Each rule returns every problem it finds rather than stopping at the first, so an import report lists all of
them in one pass.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from models.common import EnrollmentStatus
from models.measures import MeasureCatalogue
from models.organization import Organization
from models.participant import Participant
from models.problems import Problem
from models.program import Cohort, Program, Session
from models.records import Attendance, Enrollment, SurveyResponse

_ACTIVE_ENROLMENT = {EnrollmentStatus.ENROLLED, EnrollmentStatus.COMPLETED, EnrollmentStatus.WITHDRAWN}


@dataclass
class ProgramData:
    """A whole program in memory: enough for the cross-record rules and for small demos and tests."""

    programs: list[Program] = field(default_factory=list)
    organizations: list[Organization] = field(default_factory=list)
    cohorts: list[Cohort] = field(default_factory=list)
    participants: list[Participant] = field(default_factory=list)
    enrollments: list[Enrollment] = field(default_factory=list)
    sessions: list[Session] = field(default_factory=list)
    attendance: list[Attendance] = field(default_factory=list)
    responses: list[SurveyResponse] = field(default_factory=list)


def check_references(data: ProgramData) -> list[Problem]:
    """Every key a record points at must exist."""
    problems: list[Problem] = []
    programs = {p.key for p in data.programs}
    orgs = {o.key for o in data.organizations}
    cohorts = {c.key for c in data.cohorts}
    people = {p.key for p in data.participants}
    sessions = {s.key for s in data.sessions}
    for c in data.cohorts:
        if c.program not in programs:
            problems.append(Problem(c.key, "program", f"unknown program {c.program!r}"))
        if c.organization not in orgs:
            problems.append(Problem(c.key, "organization", f"unknown organization {c.organization!r}"))
    for p in data.participants:
        if p.organization not in orgs:
            problems.append(Problem(p.key, "organization", f"unknown organization {p.organization!r}"))
    for s in data.sessions:
        if s.cohort not in cohorts:
            problems.append(Problem(s.key, "cohort", f"unknown cohort {s.cohort!r}"))
    for e in data.enrollments:
        if e.participant not in people:
            problems.append(Problem(e.key, "participant", f"unknown participant {e.participant!r}"))
        if e.cohort not in cohorts:
            problems.append(Problem(e.key, "cohort", f"unknown cohort {e.cohort!r}"))
    for a in data.attendance:
        if a.session not in sessions:
            problems.append(Problem(a.key, "session", f"unknown session {a.session!r}"))
    return problems


def check_enrolment_rules(
    enrollments: Iterable[Enrollment],
    sessions: Iterable[Session],
    attendance: Iterable[Attendance],
    responses: Iterable[SurveyResponse],
) -> list[Problem]:
    """Attendance and survey responses only for people enrolled in that cohort (invited is not enrolled)."""
    enrolled = {(e.participant, e.cohort) for e in enrollments if e.status in _ACTIVE_ENROLMENT}
    cohort_of_session = {s.key: s.cohort for s in sessions}
    problems: list[Problem] = []
    for a in attendance:
        cohort = cohort_of_session.get(a.session)
        if cohort is not None and (a.participant, cohort) not in enrolled:
            problems.append(
                Problem(a.key, "participant", f"attendance needs an enrolment in {cohort} for this participant")
            )
    for r in responses:
        if (r.participant, r.cohort) not in enrolled:
            problems.append(
                Problem(r.key, "participant", f"a response needs an enrolment in {r.cohort} for this participant")
            )
    return problems


def within_program(
    location: str, field: str, value: date | None, program: str, dates: tuple[date | None, date | None], what: str
) -> list[Problem]:
    """PMM refuses cohorts and engagements dated outside their program (FIELD_CUSTOM_VALIDATION_EXCEPTION, which
    would block every session and attendance under them); an open program end or a blank date is no limit."""
    start, end = dates
    if value is None:
        return []
    if start is not None and value < start:
        return [Problem(location, field, f"{what} {value}, before {program} starts ({start})")]
    if end is not None and value > end:
        return [Problem(location, field, f"{what} {value}, after {program} ends ({end})")]
    return []


def check_program_dates(data: ProgramData) -> list[Problem]:
    """Cohorts and enrolments fall within their program's dates."""
    spans = {p.key: (p.start_date, p.end_date) for p in data.programs}
    program_of = {c.key: c.program for c in data.cohorts}
    problems: list[Problem] = []
    for c in data.cohorts:
        span = spans.get(c.program, (None, None))
        problems += within_program(c.key, "start_date", c.start_date, c.program, span, "the cohort starts on")
        problems += within_program(c.key, "end_date", c.end_date, c.program, span, "the cohort ends on")
    for e in data.enrollments:
        program = program_of.get(e.cohort)
        if program is not None:
            span = spans.get(program, (None, None))
            problems += within_program(e.key, "enrolled_on", e.enrolled_on, program, span, "the enrolment starts on")
            problems += within_program(e.key, "ended_on", e.ended_on, program, span, "the enrolment ends on")
    return problems


def check_program(data: ProgramData, catalogue: MeasureCatalogue) -> list[Problem]:
    """All cross-record rules over a whole program, every problem at once."""
    return [
        *check_references(data),
        *check_program_dates(data),
        *check_enrolment_rules(data.enrollments, data.sessions, data.attendance, data.responses),
        *catalogue.check_responses(data.responses),
    ]
