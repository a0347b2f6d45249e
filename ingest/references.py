"""Row checks that need the database: does every key a row points at exist?

An enrolment for a cohort nobody imported would reach the CRM as a broken lookup; it is cheaper and clearer to
reject it here, naming the missing key.  Keys accepted earlier in the same import count as existing, because
each batch is written before the next is checked.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Connection, Table, select, tuple_

from models import (
    Attendance,
    Cohort,
    Enrollment,
    EnrollmentStatus,
    Grant,
    MeasureCatalogue,
    Participant,
    Program,
    Session,
    SurveyResponse,
)
from models.problems import Problem
from models.rules import within_program
from store import tables
from store.erasure import erased_keys, refusal_rule

STRANDED_SHOWN = 20
ENGAGED = [s.value for s in (EnrollmentStatus.ENROLLED, EnrollmentStatus.COMPLETED, EnrollmentStatus.WITHDRAWN)]
Check = Callable[[Connection, Sequence[tuple[str, BaseModel]], MeasureCatalogue], list[Problem]]


def _existing(conn: Connection, table: Table, keys: set[str]) -> set[str]:
    if not keys:
        return set()
    return set(conn.execute(select(table.c.key).where(table.c.key.in_(sorted(keys)))).scalars())


def _require(conn: Connection, rows: Sequence[tuple[str, Any]], field: str, table: Table, label: str) -> list[Problem]:
    def values(record: Any) -> list[str]:
        value = getattr(record, field)
        return list(value) if isinstance(value, tuple) else [value]

    wanted = {v for _, r in rows for v in values(r)}
    found = _existing(conn, table, wanted)
    return [
        Problem(location, field, f"{label} {v!r} does not exist (import it first)")
        for location, record in rows
        for v in values(record)
        if v not in found
    ]


def _engaged_pairs(conn: Connection, pairs: set[tuple[str, str]]) -> set[tuple[str, str]]:
    if not pairs:
        return set()
    e = tables.enrollments
    query = select(e.c.participant, e.c.cohort).where(
        tuple_(e.c.participant, e.c.cohort).in_(sorted(pairs)), e.c.status.in_(ENGAGED)
    )
    return {(p, c) for p, c in conn.execute(query).all()}


def _program_dates(conn: Connection, programs: set[str]) -> dict[str, tuple[date | None, date | None]]:
    p = tables.programs
    query = select(p.c.key, p.c.start_date, p.c.end_date).where(p.c.key.in_(sorted(programs)))
    return {key: (start, end) for key, start, end in conn.execute(query).all()}


def check_cohorts(conn: Connection, rows: Sequence[tuple[str, Any]], _: MeasureCatalogue) -> list[Problem]:
    problems = [
        *_require(conn, rows, "program", tables.programs, "program"),
        *_require(conn, rows, "organization", tables.organizations, "organization"),
    ]
    dates = _program_dates(conn, {r.program for _, r in rows})
    for location, c in rows:
        span = dates.get(c.program, (None, None))
        problems += within_program(location, "start_date", c.start_date, c.program, span, "the cohort starts on")
        problems += within_program(location, "end_date", c.end_date, c.program, span, "the cohort ends on")
    return problems


def _dated_under(conn: Connection, programs: set[str]) -> dict[str, list[tuple[str, str, date | None, str]]]:
    """program → (record key, field, date, what) for every dated cohort and enrolment already stored under it."""
    c, e = tables.cohorts, tables.enrollments
    found: dict[str, list[tuple[str, str, date | None, str]]] = {}
    if not programs:
        return found
    program_of: dict[str, str] = {}
    query = select(c.c.key, c.c.program, c.c.start_date, c.c.end_date).where(c.c.program.in_(sorted(programs)))
    for key, program, start, end in conn.execute(query).all():
        program_of[key] = program
        found.setdefault(program, []).extend(
            [(key, "start_date", start, "the cohort starts on"), (key, "end_date", end, "the cohort ends on")]
        )
    if program_of:
        query = select(e.c.key, e.c.cohort, e.c.enrolled_on, e.c.ended_on).where(e.c.cohort.in_(sorted(program_of)))
        for key, cohort, start, end in conn.execute(query).all():
            found[program_of[cohort]].extend(
                [
                    (key, "enrolled_on", start, "the enrolment starts on"),
                    (key, "ended_on", end, "the enrolment ends on"),
                ]
            )
    return found


def check_programs(conn: Connection, rows: Sequence[tuple[str, Any]], _: MeasureCatalogue) -> list[Problem]:
    """New dates for a program must still hold every cohort and enrolment already imported under it.

    PMM refuses cohorts and engagements dated outside their program, so moving a program's dates past them would
    make the next edit of each fail in the CRM.  Such a program row is refused before anything is written, naming
    the records it would strand: fix their dates first, or the program's.
    """
    dated = _dated_under(conn, {r.key for _, r in rows})
    problems: list[Problem] = []
    for location, program in rows:
        span = (program.start_date, program.end_date)
        stranded: dict[str, list[str]] = {"start_date": [], "end_date": []}
        for key, field_name, value, what in dated.get(program.key, []):
            if value is None or not within_program(key, field_name, value, program.key, span, what):
                continue
            side = "start_date" if span[0] is not None and value < span[0] else "end_date"
            stranded[side].append(f"{key} ({field_name} {value})")
        for side, records in stranded.items():
            if not records:
                continue
            new = program.start_date if side == "start_date" else program.end_date
            shown = ", ".join(sorted(records)[:STRANDED_SHOWN])
            more = f" and {len(records) - STRANDED_SHOWN} more" if len(records) > STRANDED_SHOWN else ""
            problems.append(
                Problem(
                    location,
                    side,
                    f"moving {program.key}'s {side.replace('_', ' ')} to {new} would leave {len(records)} "
                    f"record(s) outside the program, which PMM refuses: {shown}{more}",
                )
            )
    return problems


def check_participants(conn: Connection, rows: Sequence[tuple[str, Any]], _: MeasureCatalogue) -> list[Problem]:
    """The organisation must exist; a person who was forgotten (`ignite-sync forget`) stays out until an
    administrator allows them back."""
    erased = erased_keys(conn, (record.key for _, record in rows))
    return [
        *_require(conn, rows, "organization", tables.organizations, "organization"),
        *(Problem(location, "email", refusal_rule(erased[r.key])) for location, r in rows if r.key in erased),
    ]


def check_enrollments(conn: Connection, rows: Sequence[tuple[str, Any]], _: MeasureCatalogue) -> list[Problem]:
    problems = [
        *_require(conn, rows, "participant", tables.participants, "participant"),
        *_require(conn, rows, "cohort", tables.cohorts, "cohort"),
    ]
    c = tables.cohorts
    wanted = sorted({r.cohort for _, r in rows})
    program_of = dict(conn.execute(select(c.c.key, c.c.program).where(c.c.key.in_(wanted))).all())
    dates = _program_dates(conn, set(program_of.values()))
    for location, e in rows:
        program = program_of.get(e.cohort)
        if program is None:
            continue
        span = dates.get(program, (None, None))
        problems += within_program(location, "enrolled_on", e.enrolled_on, program, span, "the enrolment starts on")
        problems += within_program(location, "ended_on", e.ended_on, program, span, "the enrolment ends on")
    return problems


def check_sessions(conn: Connection, rows: Sequence[tuple[str, Any]], _: MeasureCatalogue) -> list[Problem]:
    return _require(conn, rows, "cohort", tables.cohorts, "cohort")


def check_attendance(conn: Connection, rows: Sequence[tuple[str, Any]], _: MeasureCatalogue) -> list[Problem]:
    problems = _require(conn, rows, "session", tables.sessions, "session")
    s = tables.sessions
    wanted = sorted({r.session for _, r in rows})
    cohort_of = dict(conn.execute(select(s.c.key, s.c.cohort).where(s.c.key.in_(wanted))).all())
    pairs = {(r.participant, cohort_of[r.session]) for _, r in rows if r.session in cohort_of}
    engaged = _engaged_pairs(conn, pairs)
    for location, record in rows:
        cohort = cohort_of.get(record.session)
        if cohort is not None and (record.participant, cohort) not in engaged:
            problems.append(
                Problem(location, "participant", f"attendance needs an enrolment in {cohort} for this participant")
            )
    return problems


def check_responses(conn: Connection, rows: Sequence[tuple[str, Any]], catalogue: MeasureCatalogue) -> list[Problem]:
    problems = [p for location, r in rows for p in catalogue.check_response(r, location)]
    engaged = _engaged_pairs(conn, {(r.participant, r.cohort) for _, r in rows})
    for location, record in rows:
        if (record.participant, record.cohort) not in engaged:
            problems.append(
                Problem(
                    location, "participant", f"a response needs an enrolment in {record.cohort} for this participant"
                )
            )
    return problems


def check_grants(conn: Connection, rows: Sequence[tuple[str, Any]], _: MeasureCatalogue) -> list[Problem]:
    return [
        *_require(conn, rows, "funder", tables.funders, "funder"),
        *_require(conn, rows, "cohorts", tables.cohorts, "cohort"),
    ]


CHECKS: dict[type[BaseModel], Check] = {
    Program: check_programs,
    Cohort: check_cohorts,
    Participant: check_participants,
    Enrollment: check_enrollments,
    Session: check_sessions,
    Attendance: check_attendance,
    SurveyResponse: check_responses,
    Grant: check_grants,
}
