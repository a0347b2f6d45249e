"""The models a profile may map, the key references between them, and what type each attribute path has.

Profiles name models and attributes as text; this module is the one place that turns those names into
classes and value types, so the loader can reject a typo at load time and `check-mapping` can compare a
source attribute's type and maximum length with the CRM field it lands in.
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Union, get_args, get_origin

from annotated_types import MaxLen
from pydantic import AwareDatetime, BaseModel, HttpUrl

from models import (
    Attendance,
    Cohort,
    Enrollment,
    Funder,
    Grant,
    IntakeSubmission,
    Measure,
    Organization,
    Participant,
    Program,
    Session,
    SurveyResponse,
)
from models.keys import KEY_MAX_LENGTH
from models.outcomes import CohortOutcome
from models.summaries import GrantSummary, OrganizationSummary, ParticipantSummary

MODELS: dict[str, type[BaseModel]] = {
    m.__name__: m
    for m in (
        Program,
        Organization,
        Funder,
        Grant,
        Cohort,
        Participant,
        Enrollment,
        Session,
        Attendance,
        SurveyResponse,
        Measure,
        CohortOutcome,
        OrganizationSummary,
        ParticipantSummary,
        GrantSummary,
        IntakeSubmission,
    )
}

# (model, attribute holding a key) -> the model that key names.  A dotted source path may step through these.
REFERENCES: dict[tuple[str, str], str] = {
    ("Cohort", "program"): "Program",
    ("Cohort", "organization"): "Organization",
    ("Participant", "organization"): "Organization",
    ("Grant", "funder"): "Funder",
    ("Session", "cohort"): "Cohort",
    ("Enrollment", "participant"): "Participant",
    ("Enrollment", "cohort"): "Cohort",
    ("Attendance", "session"): "Session",
    ("Attendance", "participant"): "Participant",
    ("SurveyResponse", "participant"): "Participant",
    ("SurveyResponse", "cohort"): "Cohort",
    ("SurveyResponse", "measure"): "Measure",
    ("CohortOutcome", "cohort"): "Cohort",
    ("CohortOutcome", "measure"): "Measure",
    ("OrganizationSummary", "key"): "Organization",
    ("ParticipantSummary", "key"): "Participant",
    ("GrantSummary", "key"): "Grant",
}

_KEY_ATTRIBUTES = {"key", *{attr for (_, attr) in REFERENCES}}

ValueKind = str  # "text" | "number" | "integer" | "boolean" | "date" | "datetime" | "list"


@dataclass(frozen=True)
class ValueInfo:
    """What a source attribute can hold: enough to check it against a CRM field without any data."""

    kind: ValueKind
    optional: bool = False
    max_length: int | None = None
    choices: tuple[str, ...] | None = None  # enum values, when the attribute is an enum


class PathError(ValueError):
    pass


def model_name(instance: BaseModel) -> str:
    name = type(instance).__name__
    if name not in MODELS:
        raise KeyError(f"{name} is not a model that profiles can map")
    return name


def _unwrap_optional(annotation: Any) -> tuple[Any, bool]:
    origin = get_origin(annotation)
    if origin is Union or origin is types.UnionType:
        args = [a for a in get_args(annotation) if a is not type(None)]
        optional = len(args) < len(get_args(annotation))
        if len(args) == 1:
            return args[0], optional
        return annotation, optional
    return annotation, False


def _kind_of(annotation: Any) -> tuple[ValueKind, tuple[str, ...] | None]:
    if annotation is AwareDatetime:
        return "datetime", None
    if isinstance(annotation, type):
        if issubclass(annotation, Enum):
            return "text", tuple(str(m.value) for m in annotation)
        if issubclass(annotation, bool):
            return "boolean", None
        if issubclass(annotation, int):
            return "integer", None
        if issubclass(annotation, float | Decimal):
            return "number", None
        if issubclass(annotation, datetime):
            return "datetime", None
        if issubclass(annotation, date):
            return "date", None
        if issubclass(annotation, str):
            return "text", None
    if annotation is HttpUrl:
        return "text", None
    if get_origin(annotation) is tuple:
        return "list", None
    raise TypeError(f"no CRM value kind for {annotation!r}")


def attribute_info(model: str, attribute: str) -> ValueInfo:
    cls = MODELS[model]
    if attribute in cls.model_fields:
        field = cls.model_fields[attribute]
        annotation, optional = _unwrap_optional(field.annotation)
        kind, choices = _kind_of(annotation)
        max_length = next((m.max_length for m in field.metadata if isinstance(m, MaxLen)), None)
        if attribute in _KEY_ATTRIBUTES and kind == "text":
            max_length = KEY_MAX_LENGTH
        if annotation is HttpUrl:
            max_length = max_length or 2083
        return ValueInfo(
            kind=kind, optional=optional or not field.is_required(), max_length=max_length, choices=choices
        )
    if attribute in cls.model_computed_fields:
        annotation, optional = _unwrap_optional(cls.model_computed_fields[attribute].return_type)
        kind, choices = _kind_of(annotation)
        max_length = KEY_MAX_LENGTH if attribute == "key" else None
        return ValueInfo(kind=kind, optional=optional, max_length=max_length, choices=choices)
    raise PathError(f"{model} has no attribute {attribute!r}")


def resolve_path(model: str, path: str) -> tuple[list[str], ValueInfo]:
    """The models a dotted path steps through (after the first) and the final attribute's value type.

    `session.cohort.start_date` on Attendance steps through Session and Cohort and ends at a date.
    """
    parts = path.split(".")
    if not all(parts):
        raise PathError(f"{path!r} is not a dotted attribute path")
    current = model
    visited: list[str] = []
    optional = False
    for part in parts[:-1]:
        info = attribute_info(current, part)  # raises for an unknown attribute
        target = REFERENCES.get((current, part))
        if target is None:
            raise PathError(f"{current}.{part} is not a key of another model, so {path!r} cannot step through it")
        optional = optional or info.optional
        visited.append(target)
        current = target
    info = attribute_info(current, parts[-1])
    if optional and not info.optional:
        info = ValueInfo(kind=info.kind, optional=True, max_length=info.max_length, choices=info.choices)
    return visited, info
