"""Funders and their grants: who pays for which cohorts, and for what period."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import Field, field_validator, model_validator

from models.common import IgniteModel
from models.keys import CohortKey, FunderKey, GrantKey

CurrencyCode = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]


class Funder(IgniteModel):
    key: FunderKey
    name: str = Field(min_length=1, max_length=255)
    website: str | None = Field(default=None, max_length=255, examples=["https://www.example.org"])


class Grant(IgniteModel):
    key: GrantKey
    funder: FunderKey
    name: str = Field(min_length=1, max_length=120)
    # Decimal, never float: a grant of 125000.10 must reach the CRM as exactly that.
    amount: Decimal = Field(ge=0, max_digits=16, decimal_places=2)
    currency: CurrencyCode = "USD"
    period_start: date
    period_end: date
    cohorts: tuple[CohortKey, ...] = ()

    @field_validator("cohorts", mode="before")
    @classmethod
    def _split_cohorts(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(";") if part.strip())
        return value

    @model_validator(mode="after")
    def _period_in_order(self) -> Grant:
        if self.period_end < self.period_start:
            raise ValueError("period_end must be on or after period_start")
        return self
