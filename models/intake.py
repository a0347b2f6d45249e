"""An intake submission: a 'bring Ignite to my organisation' lead from the website form."""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from annotated_types import MaxLen
from pydantic import AwareDatetime, Field, ValidationError, ValidationInfo, computed_field, field_validator

from models.common import IgniteModel, OrganizationKind, Role, UsState
from models.keys import SLUG, normalise_email
from models.problems import Problem, problems_from_validation_error

MESSAGE_MAX_LENGTH = 5_000
_MESSAGE_WHITESPACE = "\t\n\r"


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

    @field_validator("*", mode="before")
    @classmethod
    def _no_control_characters(cls, value: Any, info: ValidationInfo) -> Any:
        """NUL, escape and the other control characters are no part of a name, an address or a message; they
        break storage (Postgres text refuses NUL), the CRM and log lines.  The message may keep its line
        breaks and tabs."""
        if isinstance(value, str):
            allowed = _MESSAGE_WHITESPACE if info.field_name == "message" else ""
            if any(unicodedata.category(c) == "Cc" and c not in allowed for c in value):
                raise ValueError("must not contain control characters (NUL, escape, line breaks outside a message)")
        return value

    @field_validator("email")
    @classmethod
    def _normalise(cls, value: str) -> str:
        return normalise_email(value)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def key(self) -> str:
        digest = hashlib.sha256(f"{self.source}\x00{self.delivery_id}".encode()).hexdigest()[:24]
        return f"intake:{digest}"


# What a sender may set: every field but those the service fills in (source, delivery id, time received, key).
SERVER_FIELDS = frozenset({"source", "delivery_id", "received_at", "key"})
SENDER_FIELDS = frozenset(IntakeSubmission.model_fields) - SERVER_FIELDS
# Ignored field names are recorded, not their values; a hostile body cannot make that record large.
IGNORED_NAMES_MAX = 50
IGNORED_NAME_LENGTH = 64


@dataclass(frozen=True, slots=True)
class SplitFields:
    """A sender's fields divided by the unknown-field policy: `known` goes on to validation, `ignored` names
    the rest (tracking parameters, referrer, page URL, consent flags the CRM has no field for, or fields the
    service sets itself), which stay only in the stored raw body."""

    known: dict[str, Any]
    ignored: list[str]


def split_sender_fields(fields: Mapping[str, Any]) -> SplitFields:
    """Keep the submission's own fields; name the others.

    Forms grow fields (utm_source, referrer, page_url, gdpr_consent…) without telling anyone; refusing or
    quarantining a lead for that would lose real people over harmless extras.  A field the service sets
    (source, delivery_id, received_at, key) is ignored the same way, so a sender can never choose them.
    """
    known = {name: value for name, value in fields.items() if name in SENDER_FIELDS}
    ignored = sorted(str(name)[:IGNORED_NAME_LENGTH] for name in fields if name not in SENDER_FIELDS)
    return SplitFields(known=known, ignored=ignored[:IGNORED_NAMES_MAX])


def validate_submission(
    fields: Mapping[str, Any], *, source: str, delivery_id: str, received_at: datetime
) -> IntakeSubmission | list[Problem]:
    """The submission, or every problem with it (field and rule, never the value): one rule for the webhook
    and for staff releasing a quarantined submission."""
    try:
        return IntakeSubmission.model_validate(
            {**fields, "source": source, "delivery_id": delivery_id, "received_at": received_at}
        )
    except ValidationError as exc:
        return problems_from_validation_error("submission", exc)


def truncate_overlong(fields: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Text fields cut to their field's maximum length, and the names of those that were cut.

    For staff releasing a submission whose only fault is length (a message over 5,000 characters): the full
    text stays in the stored raw body."""
    result = dict(fields)
    cut: list[str] = []
    for name, value in fields.items():
        info = IntakeSubmission.model_fields.get(name)
        if info is None or not isinstance(value, str):
            continue
        limits = [m.max_length for m in info.metadata if isinstance(m, MaxLen)]
        if limits and len(value.strip()) > limits[0]:
            result[name] = value.strip()[: limits[0]]
            cut.append(name)
    return result, cut
