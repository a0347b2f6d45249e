"""The Ignite program, its cohorts, and the facilitated sessions each cohort meets in."""

from __future__ import annotations

from datetime import UTC, date, datetime

from pydantic import AwareDatetime, Field, field_validator, model_validator

from models.common import CohortStatus, Delivery, IgniteModel
from models.keys import CohortKey, OrganizationKey, ProgramKey, SessionKey


class Program(IgniteModel):
    key: ProgramKey
    name: str = Field(min_length=1, max_length=80)
    description: str | None = Field(default=None, max_length=32_000)
    start_date: date | None = None
    end_date: date | None = None

    @model_validator(mode="after")
    def _end_not_before_start(self) -> Program:
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise ValueError("end_date must be on or after start_date")
        return self


class Cohort(IgniteModel):
    key: CohortKey
    program: ProgramKey
    organization: OrganizationKey
    name: str = Field(min_length=1, max_length=80)
    start_date: date
    end_date: date
    status: CohortStatus
    delivery: Delivery
    facilitators: tuple[str, ...] = ()

    @field_validator("facilitators", mode="before")
    @classmethod
    def _split_facilitators(cls, value: object) -> object:
        """CSV cells carry facilitators as one ';'-separated string."""
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(";") if part.strip())
        return value

    @model_validator(mode="after")
    def _end_not_before_start(self) -> Cohort:
        if self.end_date < self.start_date:
            raise ValueError("end_date must be on or after start_date")
        return self


class Session(IgniteModel):
    key: SessionKey
    cohort: CohortKey
    sequence: int = Field(ge=1, le=999)
    title: str = Field(min_length=1, max_length=80)
    starts_at: AwareDatetime
    duration_minutes: int = Field(gt=0, le=24 * 60, examples=[90])

    @field_validator("starts_at")
    @classmethod
    def _store_as_utc(cls, value: datetime) -> datetime:
        """Sessions are entered in local time; the CRM and the database keep UTC so nothing shifts a day."""
        return value.astimezone(UTC)
