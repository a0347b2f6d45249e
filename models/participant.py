"""People in a cohort: clinicians and administrators, keyed by their normalised email."""

from __future__ import annotations

from pydantic import Field, computed_field, field_validator

from models.common import IgniteModel, Role
from models.keys import OrganizationKey, email_hash, normalise_email


class Participant(IgniteModel):
    email: str = Field(examples=["jordan.rivera@example.org"])
    first_name: str = Field(min_length=1, max_length=40)
    last_name: str = Field(min_length=1, max_length=80)
    role: Role
    job_title: str | None = Field(default=None, max_length=128)
    organization: OrganizationKey
    phone: str | None = Field(default=None, max_length=40, examples=["+1 555 0100"])

    @field_validator("email")
    @classmethod
    def _normalise(cls, value: str) -> str:
        return normalise_email(value)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def key(self) -> str:
        return f"participant:{email_hash(self.email)}"
