"""`ignite-sync import KIND --template`: the header a file of each kind needs, and one example row.

Both come from the models, never typed here: the columns are the model's fields (as the header check reads
them), and each example value is the field's own `examples` entry where the model gives one, else derived
from its type (a key of another kind is that kind's example record's key, so the examples of all kinds
import together, in dependency order, into an empty database; a test holds them to that).
"""

from __future__ import annotations

import csv
import io
import types
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from enum import Enum
from functools import cache
from typing import Annotated, Any, Union, get_args, get_origin

from annotated_types import Ge, Gt
from pydantic import AwareDatetime, BaseModel, HttpUrl

from ingest.columns import accepted_columns
from ingest.importer import resolve_kind
from models import default_catalogue, keys

# A key type names the kind it points at; the kind's own `key` field is written `<prefix>:example`.
_KEY_KINDS: dict[object, tuple[str, str]] = {
    get_args(key_type)[1]: (kind, prefix)
    for key_type, kind, prefix in (
        (keys.ProgramKey, "programs", "program"),
        (keys.OrganizationKey, "organizations", "org"),
        (keys.CohortKey, "cohorts", "cohort"),
        (keys.SessionKey, "sessions", "session"),
        (keys.FunderKey, "funders", "funder"),
        (keys.GrantKey, "grants", "grant"),
        (keys.ParticipantKey, "participants", "participant"),
    )
}
_MEASURE = get_args(keys.MeasureKey)[1]
START = date(2026, 9, 14)  # every start-like date; end-like ones (a name with `end`) a quarter later
END = START + timedelta(days=91)
PROGRAM_OFFSET = timezone(timedelta(hours=-4))  # a datetime shows its offset, as a local time should


def _unwrap(annotation: Any) -> tuple[Any, list[Any]]:
    """The type under `X | None` and `Annotated[X, ...]`, with the Annotated metadata collected."""
    metadata: list[Any] = []
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation, *extra = get_args(annotation)
            metadata.extend(extra)
        elif origin in (Union, types.UnionType):
            annotation = next(arg for arg in get_args(annotation) if arg is not type(None))
        else:
            return annotation, metadata


def _number(metadata: list[Any]) -> int:
    """The smallest positive whole number the field's bounds allow."""
    lower: Any = next((m.ge for m in metadata if isinstance(m, Ge)), None)
    above: Any = next((m.gt for m in metadata if isinstance(m, Gt)), None)
    if lower is not None:
        return max(int(lower), 1)
    if above is not None:
        return int(above) + 1
    return 1


def _value(model: type[BaseModel], kind_name: str, name: str, annotation: Any, metadata: list[Any]) -> Any:
    target, more = _unwrap(annotation)
    metadata = metadata + more
    if get_origin(target) is tuple:  # a `;`-separated list in CSV: one example item
        return (_value(model, kind_name, name, get_args(target)[0], []),)
    for marker in metadata:
        if marker is _MEASURE:
            return _example_measure().key
        if marker in _KEY_KINDS:
            kind, prefix = _KEY_KINDS[marker]
            return f"{prefix}:example" if kind == kind_name and name == "key" else example_record(kind).key
    if isinstance(target, type) and issubclass(target, Enum):
        return next(iter(target)).value
    if target is date:
        return END if "end" in name else START
    if target in (datetime, AwareDatetime):
        return datetime.combine(END if "end" in name else START, time(9), tzinfo=PROGRAM_OFFSET)
    if target is Decimal:
        return Decimal("25000.00")
    if target is bool:
        return False
    if target is float and name == "value" and "measure" in model.model_fields:
        measure = _example_measure()  # an answer on the example measure's own scale
        return (measure.scale_min + measure.scale_max) // 2
    if target in (int, float):
        return _number(metadata)
    if target is HttpUrl:
        return "https://www.example.org"
    return f"Example {model.__name__.lower()} {name.replace('_', ' ')}"


def _example_measure() -> Any:
    return default_catalogue().measures[0]


def example_values(kind_name: str) -> dict[str, Any]:
    """The example row of a kind as model input: each field's own example, its default, or one by type."""
    kind = resolve_kind(kind_name)
    values: dict[str, Any] = {}
    for name, info in kind.model.model_fields.items():
        if info.examples:
            values[name] = info.examples[0]
        elif not info.is_required() and info.default not in (None, ()):
            values[name] = info.default
        else:
            values[name] = _value(kind.model, kind_name, name, info.annotation, list(info.metadata))
    return values


@cache
def example_record(kind_name: str) -> Any:
    """The example row validated as its model (what other kinds' examples point at)."""
    return resolve_kind(kind_name).model.model_validate(example_values(kind_name))


def _cell(value: Any) -> str:
    if isinstance(value, tuple):
        return ";".join(_cell(item) for item in value)
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def template_csv(kind_name: str) -> str:
    """The header (every column the kind accepts except derived ones) and one example row, as CSV text."""
    kind = resolve_kind(kind_name)
    values = example_values(kind_name)
    columns = [c for c in accepted_columns(kind) if c in kind.model.model_fields]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerow([_cell(values[c]) for c in columns])
    return out.getvalue()
