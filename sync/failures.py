"""Every row the CRM refused, is blocked, or could not be built, each with the record behind its key.

`status` shows the ten biggest problems with a few keys each; staff fixing them need the whole list and to
know who or what a key is.  Participant keys are a hash of the email (so keys carry no personal data), so the
list describes each record from the service database: by role and organisation, and by name and email only
when asked for (`--show-personal`), since the list is often saved to a file and passed around.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select, tuple_

from models import default_catalogue
from store import tables
from store.jobs_tables import sync_ledger

PROBLEM_STATUSES = ("rejected", "blocked", "invalid")
# key prefix -> (table, what identifies such a record to staff)
_TABLES = {
    "program": tables.programs,
    "org": tables.organizations,
    "cohort": tables.cohorts,
    "session": tables.sessions,
    "funder": tables.funders,
    "grant": tables.grants,
    "participant": tables.participants,
    "enrollment": tables.enrollments,
    "attendance": tables.attendance,
    "response": tables.survey_responses,
    "intake": tables.intake_submissions,
}


@dataclass(frozen=True)
class Failure:
    object_name: str
    status: str
    code: str
    message: str
    record_key: str
    source_key: str
    record: str
    attempts: int
    last_tried: datetime | None


class RecordDescriber:
    """Short descriptions of store records by key, read once each (a participant's many rows share one)."""

    def __init__(self, connection: Connection, *, personal: bool) -> None:
        self.connection = connection
        self.personal = personal
        self._cache: dict[str, str] = {}
        self._measures = {m.key: m for m in default_catalogue().measures}

    def _row(self, key: str) -> Any:
        table = _TABLES.get(key.split(":", 1)[0])
        if table is None:
            return None
        return self.connection.execute(select(table).where(table.c.key == key)).first()

    def __call__(self, key: str | None) -> str:
        if not key:
            return ""
        if key not in self._cache:
            self._cache[key] = self._describe(key)
        return self._cache[key]

    def _describe(self, key: str) -> str:
        kind = key.split(":", 1)[0]
        if kind == "measure":
            measure = self._measures.get(key)
            return f"measure '{measure.label}'" if measure is not None else "(not in the measure catalogue)"
        if kind == "outcome":
            return self._outcome(key)
        row = self._row(key)
        if row is None:
            return "(not in the service database)"
        if kind == "participant":
            who = f"{row.role} at {self(row.organization)}"
            return f"{row.first_name} {row.last_name} <{row.email}>, {who}" if self.personal else who
        if kind == "enrollment":
            return f"enrolment of {self(row.participant)} in {self(row.cohort)}"
        if kind == "attendance":
            return f"{self(row.participant)} at {self(row.session)}"
        if kind == "session":
            return f"session {row.sequence} '{row.title}' of {self(row.cohort)} ({row.starts_at:%Y-%m-%d})"
        if kind == "response":
            return f"{row.phase} answer to {row.measure} by {self(row.participant)}"
        if kind == "intake":
            received = f"lead from the {row.source} form, received {row.received_at:%Y-%m-%d}"
            if self.personal:
                return f"{row.first_name or ''} {row.last_name} <{row.email}> of {row.organization}, {received}".strip()
            return received
        return str(row.name)

    def _outcome(self, key: str) -> str:
        """Cohort outcome aggregates are keyed outcome:<cohort>:<measure>:<phase> (a hash when that is too long)."""
        parts = key.split(":")
        if len(parts) != 4:
            return "cohort outcome aggregate"
        _, cohort, measure, phase = parts
        return f"{phase} aggregate of {self(f'measure:{measure}')} for {self(f'cohort:{cohort}')}"


def iter_failures(
    connection: Connection,
    *,
    statuses: Sequence[str] = PROBLEM_STATUSES,
    object_name: str | None = None,
    personal: bool = False,
    page: int = 1000,
) -> Iterator[Failure]:
    """Problem rows in (object, status, code, key) order, streamed a page at a time."""
    unknown = sorted(set(statuses) - set(PROBLEM_STATUSES))
    if unknown:
        raise ValueError(f"unknown status {', '.join(unknown)}; choose from {', '.join(PROBLEM_STATUSES)}")
    led = sync_ledger.c
    describe = RecordDescriber(connection, personal=personal)
    query = select(sync_ledger).where(led.status.in_(list(statuses)))
    if object_name is not None:  # as typed: Contact, contact and CONTACT are one object to Salesforce
        query = query.where(func.lower(led.object_name) == object_name.lower())
    order = (led.object_name, led.record_key, led.step)
    last: tuple[str, str, str] | None = None
    while True:
        q = query.order_by(*order).limit(page)
        if last is not None:  # keyset paging: row-value comparison on SQLite and Postgres alike
            q = q.where(tuple_(*order) > tuple_(*last))
        rows = connection.execute(q).all()
        if not rows:
            return
        for r in rows:
            source = r.source_key or r.record_key
            yield Failure(
                object_name=r.object_name,
                status=r.status,
                code=r.error_code or "",
                message=r.error_message or "",
                record_key=r.record_key,
                source_key=source,
                record=describe(source),
                attempts=int(r.attempts),
                last_tried=r.updated_at,
            )
        last = (rows[-1].object_name, rows[-1].record_key, rows[-1].step)
