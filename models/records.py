"""What happens to people in a cohort: enrolment, attendance (engagement) and survey answers."""

from __future__ import annotations

from datetime import date

from pydantic import Field, computed_field, model_validator

from models.common import AttendanceStatus, EnrollmentStatus, IgniteModel, Phase
from models.keys import CohortKey, MeasureKey, ParticipantKey, SessionKey, compose_key, slug_of


class Enrollment(IgniteModel):
    participant: ParticipantKey
    cohort: CohortKey
    status: EnrollmentStatus = Field(examples=[EnrollmentStatus.ENROLLED])
    enrolled_on: date | None = None
    ended_on: date | None = None

    @model_validator(mode="after")
    def _dates_in_order(self) -> Enrollment:
        if self.enrolled_on and self.ended_on and self.ended_on < self.enrolled_on:
            raise ValueError("ended_on must be on or after enrolled_on")
        return self

    @computed_field  # type: ignore[prop-decorator]
    @property
    def key(self) -> str:
        return compose_key("enrollment", slug_of(self.cohort), slug_of(self.participant))


class Attendance(IgniteModel):
    session: SessionKey
    participant: ParticipantKey
    status: AttendanceStatus
    minutes: int | None = Field(default=None, ge=0, le=24 * 60, examples=[90])

    @model_validator(mode="after")
    def _absent_means_no_minutes(self) -> Attendance:
        if self.status is not AttendanceStatus.PRESENT and self.minutes:
            raise ValueError("minutes must be empty or 0 unless status is present")
        return self

    @computed_field  # type: ignore[prop-decorator]
    @property
    def key(self) -> str:
        return compose_key("attendance", slug_of(self.session), slug_of(self.participant))


class SurveyResponse(IgniteModel):
    participant: ParticipantKey
    cohort: CohortKey
    measure: MeasureKey
    phase: Phase
    value: float
    collected_on: date

    @computed_field  # type: ignore[prop-decorator]
    @property
    def key(self) -> str:
        return compose_key(
            "response", slug_of(self.cohort), slug_of(self.measure), self.phase.value, slug_of(self.participant)
        )
