"""Organisations that host Ignite cohorts: the hospitals and health centers themselves."""

from __future__ import annotations

from pydantic import Field, HttpUrl, field_serializer

from models.common import IgniteModel, OrganizationKind, UsState
from models.keys import OrganizationKey


class Organization(IgniteModel):
    key: OrganizationKey
    name: str = Field(min_length=1, max_length=255)
    kind: OrganizationKind
    city: str | None = Field(default=None, max_length=40)
    state: UsState | None = None
    website: HttpUrl | None = None

    @field_serializer("website")
    def _website_as_text(self, value: HttpUrl | None) -> str | None:
        return str(value) if value is not None else None
