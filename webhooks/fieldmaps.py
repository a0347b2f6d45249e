"""Turning a sender's payload into the fields of an IntakeSubmission, per the source's field map (data).

No field map: the body is the IntakeSubmission JSON the OpenAPI schema documents, at the top level or under
`data` (the Standard Webhooks envelope `{type, timestamp, data}`).  With a field map, selectors pick values
out of a JSON document, Typeform's answers array, Tally's fields array, or form-encoded pairs.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from webhooks.sources import FieldMap, IntakeSource


class PayloadError(Exception):
    """The body cannot be read at all; `field` and `rule` go into the problem document."""

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"{field}: {rule}")
        self.field = field
        self.rule = rule


@dataclass(frozen=True, slots=True)
class Extracted:
    fields: dict[str, Any]  # candidate IntakeSubmission fields, not yet validated
    honeypot_filled: bool
    delivery_id: str | None  # the sender's event id found in the body (Typeform, Tally), if any


def parse_body(body: bytes, *, form: bool) -> Any:
    if form:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise PayloadError("(body)", "form-encoded bodies must be UTF-8") from None
        pairs = parse_qsl(text, keep_blank_values=True)
        return {key: value for key, value in pairs}
    try:
        return json.loads(body, parse_constant=_no_constant, parse_float=_finite)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        where = f" at line {exc.lineno} column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
        raise PayloadError("(body)", f"must be valid UTF-8 JSON{where}") from None


def _no_constant(name: str) -> Any:
    """NaN and Infinity are not JSON (RFC 8259), though Python's json writes them; a body holding one could not
    be stored in a Postgres JSON column, so it is refused as unparseable instead of failing the inbox write."""
    raise PayloadError("(body)", f"must be valid JSON: {name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999: JSON syntax, but no finite double
        raise PayloadError("(body)", f"must be valid JSON: {text[:20]} is too large for a number")
    return value


def _path(document: Any, selector: str) -> Any:
    current = document
    for part in selector.split("."):
        if isinstance(current, dict):
            current = current.get(part)
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return None
        if current is None:
            return None
    return current


def _typeform_answer(answer: dict[str, Any]) -> Any:
    kind = answer.get("type")
    value = answer.get(kind) if isinstance(kind, str) else None
    if kind == "choice" and isinstance(value, dict):
        return value.get("label") or value.get("other")
    if kind == "choices" and isinstance(value, dict):
        labels = [str(x) for x in value.get("labels") or []]
        if value.get("other"):
            labels.append(str(value["other"]))
        return "; ".join(labels)
    return value


def _typeform(document: Any, selector: str) -> Any:
    response = document.get("form_response") if isinstance(document, dict) else None
    if not isinstance(response, dict):
        raise PayloadError("form_response", "a Typeform payload carries a form_response object")
    if selector.startswith("hidden."):
        hidden = response.get("hidden")
        return hidden.get(selector[len("hidden.") :]) if isinstance(hidden, dict) else None
    for answer in response.get("answers") or []:
        if (
            isinstance(answer, dict)
            and isinstance(answer.get("field"), dict)
            and answer["field"].get("ref") == selector
        ):
            return _typeform_answer(answer)
    return None


def _tally(document: Any, selector: str) -> Any:
    data = document.get("data") if isinstance(document, dict) else None
    if not isinstance(data, dict) or not isinstance(data.get("fields"), list):
        raise PayloadError("data.fields", "a Tally payload carries data.fields")
    for item in data["fields"]:
        if isinstance(item, dict) and selector in (item.get("key"), item.get("label")):
            value = item.get("value")
            options = item.get("options")
            if isinstance(value, list) and isinstance(options, list):
                texts = {o.get("id"): o.get("text") for o in options if isinstance(o, dict)}
                return "; ".join(str(texts.get(v, v)) for v in value)
            return value
    return None


def select_value(field_map_format: str, document: Any, selector: str) -> Any:
    if field_map_format == "typeform":
        return _typeform(document, selector)
    if field_map_format == "tally":
        return _tally(document, selector)
    return _path(document, selector) if field_map_format == "json" else (document or {}).get(selector)


def _filled(value: Any) -> bool:
    return value not in (None, "", [], {}, False)


def _sender_event_id(source: IntakeSource, document: Any) -> str | None:
    if not isinstance(document, dict):
        return None
    if source.scheme == "typeform":
        value = document.get("event_id")
    elif source.scheme == "tally":
        value = document.get("eventId")
    else:
        return None
    if not isinstance(value, str) or not value or len(value) > 255:
        raise PayloadError("event_id" if source.scheme == "typeform" else "eventId", "a non-empty id is required")
    return value


def extract(source: IntakeSource, document: Any) -> Extracted:
    delivery_id = _sender_event_id(source, document)
    field_map: FieldMap | None = source.field_map
    if field_map is None:
        if not isinstance(document, dict):
            raise PayloadError("(body)", "must be a JSON object (the submission, at the top level or under 'data')")
        inner = document.get("data")
        fields: dict[str, Any] = dict(inner if isinstance(inner, dict) else document)
        honeypot = fields.pop(source.honeypot, None) if source.honeypot else None
        return Extracted(fields=fields, honeypot_filled=_filled(honeypot), delivery_id=delivery_id)
    if field_map.format in ("json", "form") and not isinstance(document, dict):
        raise PayloadError("(body)", "must be a JSON object")
    fields = {}
    for target, selector in field_map.fields.items():
        value = select_value(field_map.format, document, selector)
        if value is not None and value != "":
            fields[target] = value
    for target, constant in field_map.constants.items():
        fields.setdefault(target, constant)
    honeypot = select_value(field_map.format, document, source.honeypot) if source.honeypot else None
    return Extracted(fields=fields, honeypot_filled=_filled(honeypot), delivery_id=delivery_id)
