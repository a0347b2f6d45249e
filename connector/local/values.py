"""Field values between the API and the tables: what a sent value is stored as, and what a stored one reads as.

Pure functions of a field's describe and a value, no database: coercing input (with Salesforce's error codes
for a value of the wrong type, too long, or off a restricted picklist), the comparison key a text field
matches on, the default a create leaves to the server, the JSON a query returns, and an auto-number's format.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from connector.base import CrmRecord
from connector.ids import to_18
from connector.local.query import CompiledQuery, datetime_text
from connector.local.rows import RowError
from connector.local.schema import INTEGER_TYPES, REAL_TYPES, TEXT_TYPES, FieldSpec


def fold(spec: FieldSpec, value: Any) -> Any:
    """The comparison key Salesforce uses for this field: text matches case-insensitively unless caseSensitive."""
    if isinstance(value, str) and spec.type in TEXT_TYPES and not spec.case_sensitive:
        return value.lower()
    return value


def coerce_id(fspec: FieldSpec, raw: Any) -> str:
    if not isinstance(raw, str):
        raise RowError("MALFORMED_ID", f"{fspec.name}: id value of incorrect type: {raw!r}", (fspec.name,))
    try:
        return to_18(raw)
    except ValueError:
        raise RowError("MALFORMED_ID", f"{fspec.name}: id value of incorrect type: {raw}", (fspec.name,)) from None


def coerce(fspec: FieldSpec, raw: Any) -> Any:
    """The stored representation of one input value, or a row error naming the field and the rule."""
    if raw is None or raw == "":
        return None  # Salesforce's REST API treats an empty string as "clear this field"
    ftype = fspec.type
    if ftype in TEXT_TYPES:
        if type(raw) is str:
            text = raw
        elif isinstance(raw, int | float | Decimal) and not isinstance(raw, bool):
            text = str(raw)
        else:
            raise wrong_type(fspec)
        if fspec.length and len(text) > fspec.length:
            raise RowError(
                "STRING_TOO_LONG", f"{fspec.name}: data value too large (max length={fspec.length})", (fspec.name,)
            )
        if fspec.restricted_picklist and ftype in ("picklist", "multipicklist") and not fspec.controller_name:
            chosen = text.split(";") if ftype == "multipicklist" else (text,)
            for value in chosen:
                if value not in fspec.picklist_values:
                    raise RowError(
                        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                        f"{fspec.name}: bad value for restricted picklist field: {value}",
                        (fspec.name,),
                    )
        return text
    if ftype in ("id", "reference"):
        return coerce_id(fspec, raw)
    if ftype == "boolean":
        if isinstance(raw, bool):
            return int(raw)
        if isinstance(raw, str) and raw.lower() in ("true", "false"):
            return int(raw.lower() == "true")
        raise wrong_type(fspec)
    if ftype in INTEGER_TYPES or ftype in REAL_TYPES:
        if isinstance(raw, bool):
            raise wrong_type(fspec)
        if ftype in REAL_TYPES and type(raw) is float and math.isfinite(raw):
            return raw
        try:
            number = Decimal(str(raw)) if isinstance(raw, str | int | float | Decimal) else None
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite():
            raise wrong_type(fspec)
        if ftype in INTEGER_TYPES:
            if number != number.to_integral_value():
                raise wrong_type(fspec)
            return int(number)
        return float(number)
    if ftype == "date":
        if isinstance(raw, dt.datetime):
            raise wrong_type(fspec)
        if isinstance(raw, dt.date):
            return raw.isoformat()
        if isinstance(raw, str) and len(raw) == 10:
            try:
                return dt.date.fromisoformat(raw).isoformat()
            except ValueError:
                raise wrong_type(fspec) from None
        raise wrong_type(fspec)
    if ftype == "datetime":
        if isinstance(raw, dt.datetime):
            return datetime_text(raw)
        if isinstance(raw, str):
            try:
                parsed = dt.datetime.fromisoformat(iso(raw))
            except ValueError:
                raise wrong_type(fspec) from None
            return datetime_text(parsed)
        raise wrong_type(fspec)
    return raw if isinstance(raw, str) else json.dumps(raw)


def wrong_type(fspec: FieldSpec) -> RowError:
    return RowError(
        "INVALID_TYPE_ON_FIELD_IN_RECORD", f"{fspec.name}: value not of required type {fspec.type}", (fspec.name,)
    )


def iso(text: str) -> str:
    """Salesforce writes `+0000`; Python 3.11 reads `+00:00` and `Z` — normalise the offset."""
    text = text.strip().replace("Z", "+00:00")
    if len(text) >= 5 and text[-5] in "+-" and text[-4:].isdigit():
        text = text[:-2] + ":" + text[-2:]
    return text


def default(fspec: FieldSpec) -> Any:
    """What the server fills in when a create leaves the field out."""
    if fspec.type == "boolean":
        value = fspec.default_value
        return 1 if value is True or str(value).lower() == "true" else 0
    if fspec.type in ("picklist", "multipicklist") and fspec.default_picklist_value is not None:
        return fspec.default_picklist_value
    return None


def output(fspec: FieldSpec, value: Any) -> Any:
    """Stored value -> the JSON value Salesforce's REST API returns."""
    if value is None:
        return None
    if fspec.type == "boolean":
        return bool(value)
    if fspec.type in INTEGER_TYPES:
        return int(value)
    if fspec.type in REAL_TYPES:
        return float(value)
    return value


def build_record(compiled: CompiledQuery, row: Sequence[Any]) -> CrmRecord:
    """Flat SQL row -> Salesforce-shaped record: parent paths nest (`{"Account": {"Name": …}}`), or are null."""
    n = len(compiled.columns)
    join_present = {path: row[n + i] is not None for i, path in enumerate(compiled.join_paths)}
    record: CrmRecord = {}
    for column, value in zip(compiled.columns, row, strict=False):
        target = record
        path = column.path
        missing = False
        for depth in range(len(path) - 1):
            rel = path[depth]
            if not join_present[path[: depth + 1]]:
                target[rel] = None
                missing = True
                break
            nested = target.get(rel)
            if not isinstance(nested, dict):
                nested = {}
                target[rel] = nested
            target = nested
        if not missing:
            target[path[-1]] = output(column.spec, value)
    return record


def auto_number(display_format: object) -> tuple[str, int, str] | None:
    """`ISS-{000000}` -> ("ISS-", 6, ""): an auto-number's text around its zero-padded counter."""
    if not isinstance(display_format, str):
        return None
    match = re.fullmatch(r"([^{}]*)\{(0+)\}([^{}]*)", display_format)
    return (match[1], len(match[2]), match[3]) if match else None
