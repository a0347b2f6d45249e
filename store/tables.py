"""Typed tables for the program records.

Column names mirror the pydantic model fields, so converting a row to a model and back is mechanical
(`store/records.py`).  Every record table also carries the hash of the canonical payload it was last written
with: an import of an unchanged row is then detected without comparing columns, and nothing is rewritten.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    Float,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
)

from store.encryption import EncryptedText
from store.personal import PROGRAM_RECORD, holds_none, personal
from store.types import UtcDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)

KEY = 80


def _record_columns() -> list[Column[object]]:
    return [
        Column("key", String(KEY), primary_key=True),
        Column("payload_hash", String(64), nullable=False),
        Column("updated_at", UtcDateTime(), nullable=False),
    ]


programs = Table(
    "programs",
    metadata,
    *_record_columns(),
    Column("name", String(80), nullable=False),
    Column("description", Text),
    Column("start_date", Date),
    Column("end_date", Date),
    info=holds_none("the program itself: its name, description and dates"),
)

organizations = Table(
    "organizations",
    metadata,
    *_record_columns(),
    Column("name", String(255), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("city", String(40)),
    Column("state", String(2)),
    Column("website", String(255)),
    info=holds_none("organisations (hospitals, health systems), not people"),
)

cohorts = Table(
    "cohorts",
    metadata,
    *_record_columns(),
    Column("program", String(KEY), nullable=False, index=True),
    Column("organization", String(KEY), nullable=False, index=True),
    Column("name", String(80), nullable=False),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date, nullable=False),
    Column("status", String(16), nullable=False),
    Column("delivery", String(16), nullable=False),
    Column("facilitators", JSON, nullable=False, info=personal("identity", PROGRAM_RECORD, "facilitators' names")),
)

participants = Table(
    "participants",
    metadata,
    *_record_columns(),
    Column("email", String(320), nullable=False, unique=True, info=personal("contact", PROGRAM_RECORD)),
    Column("first_name", String(40), nullable=False, info=personal("identity", PROGRAM_RECORD)),
    Column("last_name", String(80), nullable=False, info=personal("identity", PROGRAM_RECORD)),
    Column("role", String(16), nullable=False, info=personal("identity", PROGRAM_RECORD)),
    Column("job_title", String(128), info=personal("identity", PROGRAM_RECORD)),
    Column("organization", String(KEY), nullable=False, index=True),
    Column("phone", String(40), info=personal("contact", PROGRAM_RECORD)),
)

enrollments = Table(
    "enrollments",
    metadata,
    *_record_columns(),
    Column("participant", String(KEY), nullable=False, index=True, info=personal("pseudonym", PROGRAM_RECORD)),
    Column("cohort", String(KEY), nullable=False, index=True),
    Column("status", String(16), nullable=False),
    Column("enrolled_on", Date),
    Column("ended_on", Date),
)

sessions = Table(
    "sessions",
    metadata,
    *_record_columns(),
    Column("cohort", String(KEY), nullable=False, index=True),
    Column("sequence", Integer, nullable=False),
    Column("title", String(80), nullable=False),
    Column("starts_at", UtcDateTime(), nullable=False),
    Column("duration_minutes", Integer, nullable=False),
    info=holds_none("a cohort's sessions: titles and times; who came is in attendance"),
)

attendance = Table(
    "attendance",
    metadata,
    *_record_columns(),
    Column("session", String(KEY), nullable=False, index=True),
    Column("participant", String(KEY), nullable=False, index=True, info=personal("pseudonym", PROGRAM_RECORD)),
    Column("status", String(16), nullable=False),
    Column("minutes", Integer),
)

survey_responses = Table(
    "survey_responses",
    metadata,
    *_record_columns(),
    Column("participant", String(KEY), nullable=False, info=personal("pseudonym", PROGRAM_RECORD)),
    Column("cohort", String(KEY), nullable=False),
    Column("measure", String(KEY), nullable=False),
    Column("phase", String(16), nullable=False),
    Column("value", Float, nullable=False, info=personal("answers", PROGRAM_RECORD)),
    Column("collected_on", Date, nullable=False),
    Index("ix_survey_responses_cohort_measure_phase", "cohort", "measure", "phase"),
)

funders = Table(
    "funders",
    metadata,
    *_record_columns(),
    Column("name", String(255), nullable=False),
    Column("website", String(255)),
    info=holds_none("funders are organisations; their contacts live in the CRM, not here"),
)

grants = Table(
    "grants",
    metadata,
    *_record_columns(),
    Column("funder", String(KEY), nullable=False, index=True),
    Column("name", String(120), nullable=False),
    Column("amount", Numeric(16, 2), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("cohorts", JSON, nullable=False),
    info=holds_none("grants: amounts, periods and the cohorts they fund"),
)

intake_submissions = Table(
    "intake_submissions",
    metadata,
    *_record_columns(),
    Column("source", String(64), nullable=False),
    Column("delivery_id", String(255), nullable=False),
    Column("received_at", UtcDateTime(), nullable=False),
    Column("first_name", String(40), info=personal("identity", PROGRAM_RECORD)),
    Column("last_name", String(80), nullable=False, info=personal("identity", PROGRAM_RECORD)),
    Column("email", String(320), nullable=False, index=True, info=personal("contact", PROGRAM_RECORD)),
    Column("phone", String(40), info=personal("contact", PROGRAM_RECORD)),
    Column("organization", String(255), nullable=False),
    Column("job_title", String(128), info=personal("identity", PROGRAM_RECORD)),
    Column("role", String(16), info=personal("identity", PROGRAM_RECORD)),
    Column("organization_kind", String(32)),
    Column("state", String(2)),
    Column("interest", String(255), info=personal("free text", PROGRAM_RECORD)),
    Column("message", EncryptedText(), info=personal("free text", PROGRAM_RECORD)),
    Column("consent_to_contact", Boolean, nullable=False),
)
