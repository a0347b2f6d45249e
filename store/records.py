"""Which table holds which model, and the mechanical conversion between rows and models."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Table

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
)
from models.canonical import canonical_hash
from store import tables


@dataclass(frozen=True)
class RecordKind:
    """A kind of program record: its import name, model and table."""

    name: str
    model: type[BaseModel]
    table: Table

    @property
    def fields(self) -> list[str]:
        return list(self.model.model_fields)

    def to_row(self, record: BaseModel, now: datetime) -> dict[str, Any]:
        data = record.model_dump(mode="python")
        row = {name: _to_column(data[name]) for name in self.fields}
        row["key"] = data["key"]
        row["payload_hash"] = canonical_hash(record)
        row["updated_at"] = now
        return row

    def from_row(self, row: Any) -> BaseModel:
        mapping = row._mapping if hasattr(row, "_mapping") else row
        return self.model.model_validate({name: mapping[name] for name in self.fields})


def _to_column(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if hasattr(value, "value") and isinstance(getattr(value, "value", None), str):
        return value.value
    return value


KINDS: dict[str, RecordKind] = {
    k.name: k
    for k in (
        RecordKind("programs", Program, tables.programs),
        RecordKind("organizations", Organization, tables.organizations),
        RecordKind("cohorts", Cohort, tables.cohorts),
        RecordKind("participants", Participant, tables.participants),
        RecordKind("enrollments", Enrollment, tables.enrollments),
        RecordKind("sessions", Session, tables.sessions),
        RecordKind("attendance", Attendance, tables.attendance),
        RecordKind("responses", SurveyResponse, tables.survey_responses),
        RecordKind("funders", Funder, tables.funders),
        RecordKind("grants", Grant, tables.grants),
        RecordKind("intake", IntakeSubmission, tables.intake_submissions),
    )
}
