"""An intake submission: a 'bring Ignite to my organisation' lead from the website form."""

from __future__ import annotations

import hashlib

from pydantic import AwareDatetime, Field, computed_field, field_validator

from models.common import IgniteModel, OrganizationKind, Role, UsState
from models.keys import SLUG, normalise_email

MESSAGE_MAX_LENGTH = 5_000


class IntakeSubmission(IgniteModel):
    source: str = Field(pattern=rf"^{SLUG}$")
    delivery_id: str = Field(min_length=1, max_length=255)
    received_at: AwareDatetime
    first_name: str | None = Field(default=None, max_length=40)
    last_name: str = Field(min_length=1, max_length=80)
    email: str
    phone: str | None = Field(default=None, max_length=40)
    organization: str = Field(min_length=1, max_length=255)
    job_title: str | None = Field(default=None, max_length=128)
    role: Role | None = None
    organization_kind: OrganizationKind | None = None
    state: UsState | None = None
    interest: str | None = Field(default=None, max_length=255)
    message: str | None = Field(default=None, max_length=MESSAGE_MAX_LENGTH)
    consent_to_contact: bool = False

    @field_validator("email")
    @classmethod
    def _normalise(cls, value: str) -> str:
        return normalise_email(value)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def key(self) -> str:
        digest = hashlib.sha256(f"{self.source}\x00{self.delivery_id}".encode()).hexdigest()[:24]
        return f"intake:{digest}"
