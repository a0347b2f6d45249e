"""A demo participant with everything the service can hold of a person, and searches for their values.

`seed_person` seeds a one-cohort demo program, gives one participant a name nobody else has, and adds what the
intake form would have brought: an intake submission stored as program data, one delivered to the CRM by the
intake job, and one quarantined (it never validated, so the inbox row has no email hash; only its body and
candidate fields name the person).  The searches look for the person's values by what the app reads (every
column of every table through its SQLAlchemy types, so encrypted columns are decrypted) and in the raw bytes of
the database files.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

import demo
from connector.base import CrmConnector
from mappings.profile import load_profile
from models import IntakeSubmission, Participant
from models.keys import email_hash
from store import UnitOfWork
from store.intake import InboxRepository, NewDelivery
from store.tables import metadata
from sync.intake import INTAKE_JOB, INTAKE_MAX_ATTEMPTS, IntakeHandler
from sync.worker import Worker

PROFILE = "npsp_pmm"


@dataclass(frozen=True)
class Person:
    key: str
    email: str
    first_name: str
    last_name: str
    message: str
    cohort: str

    @property
    def values(self) -> list[str]:
        """What must be found nowhere afterwards: email (as typed and normalised), names, their words."""
        return [self.email, self.email.upper(), self.first_name, self.last_name, self.message]


def seed_person(engine: Engine, crm_factory: Callable[[], CrmConnector], *, shouting_email: bool = True) -> Person:
    program = demo.generate(16)
    demo.seed(engine, program)
    bundle = next(iter(program.bundles()))
    chosen: Participant = bundle.participants[0]
    person = Person(
        key=chosen.key,
        email=chosen.email,
        first_name="Zebulonia",
        last_name="Quixwrightson",
        message="Please call me about the burnout survey results, Quixwrightson here.",
        cohort=bundle.cohort.key,
    )
    renamed = chosen.model_copy(update={"first_name": person.first_name, "last_name": person.last_name})
    fields = {
        "first_name": person.first_name,
        "last_name": person.last_name,
        "email": person.email.upper() if shouting_email else person.email,
        "organization": "Catskill Ridge Health",
        "message": person.message,
    }
    stored = IntakeSubmission(
        source="website", delivery_id="forget-stored", received_at=datetime(2026, 10, 1, tzinfo=UTC), **fields
    )
    with UnitOfWork(engine) as uow:
        uow.records("participants").upsert_many([renamed])
        uow.records("intake").upsert_many([stored])
        uow.commit()
    now = datetime.now(UTC)
    with engine.begin() as connection:
        inbox = InboxRepository(connection)
        delivered = IntakeSubmission(source="website", delivery_id="forget-delivered", received_at=now, **fields)
        body = json.dumps(fields).encode()
        [entry] = inbox.insert_many(
            [
                NewDelivery(
                    source="website",
                    delivery_id="forget-delivered",
                    received_at=now,
                    content_type="application/json",
                    raw_body=body,
                    submission=delivered.model_dump(mode="json"),
                    email_hash=email_hash(delivered.email),
                )
            ]
        )
        inbox.enqueue_delivery_jobs([entry.inbox_id], kind=INTAKE_JOB, max_attempts=INTAKE_MAX_ATTEMPTS)
        bad = {**fields, "state": "Narnia"}  # never validates: quarantined with no email hash
        inbox.insert_many(
            [
                NewDelivery(
                    source="website",
                    delivery_id="forget-quarantined",
                    received_at=now,
                    content_type="application/json",
                    raw_body=json.dumps(bad).encode(),
                    submission=None,
                    email_hash=None,
                    quarantine_reason="invalid",
                    quarantine_problems=[{"field": "state", "rule": "not a US state"}],
                    candidate=bad,
                )
            ]
        )
    handler = IntakeHandler(engine, crm_factory, load_profile(PROFILE), keep_connector=False)
    Worker(engine, {INTAKE_JOB: handler}, poll_seconds=0).run(once=True)
    return person


def found_in_service_db(engine: Engine, values: Sequence[str]) -> list[str]:
    """`table.column` of every cell whose value (as the app reads it) contains one of the values."""
    hits: list[str] = []
    wanted = [v.casefold() for v in values]
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            for row in connection.execute(select(table)):
                for column, value in row._mapping.items():
                    text = _text(value)
                    if text and any(w in text.casefold() for w in wanted):
                        hits.append(f"{table.name}.{column}")
    return hits


def _text(value: Any) -> str:
    if value is None or isinstance(value, (int, float)):
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def found_in_sqlite(path: Path, values: Sequence[str]) -> list[str]:
    """Every table.column of an SQLite file (the local CRM's) holding one of the values, recycle bin included."""
    hits: list[str] = []
    wanted = [v.casefold() for v in values]
    with sqlite3.connect(path) as connection:
        names = [r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for name in names:
            cursor = connection.execute(f'SELECT * FROM "{name}"')
            columns = [d[0] for d in cursor.description]
            for row in cursor:
                for column, value in zip(columns, row, strict=True):
                    text = _text(value)
                    if text and any(w in text.casefold() for w in wanted):
                        hits.append(f"{name}.{column}")
    return hits


def found_in_bytes(path: Path, values: Sequence[str]) -> list[str]:
    """Values whose UTF-8 bytes appear in the database file or its write-ahead log (free pages included)."""
    hits = []
    for file in (path, Path(f"{path}-wal")):
        if file.exists():
            raw = file.read_bytes()
            hits += [f"{file.name}: {v!r}" for v in values if v.encode("utf-8") in raw]
    return hits
