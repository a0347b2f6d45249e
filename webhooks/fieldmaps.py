"""Turning a sender's payload into the fields of an IntakeSubmission, per the source's field map (data).

No field map: the body is the IntakeSubmission JSON the OpenAPI schema documents, at the top level or under
`data` (the Standard Webhooks envelope `{type, timestamp, data}`).  With a field map, selectors pick values
out of a JSON document, Typeform's answers array, Tally's fields array, or form-encoded pairs.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from models.problems import Problem
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
    # Mapped fields the body sent in a form that cannot be trusted (repeated, not UTF-8): quarantine them.
    problems: tuple[Problem, ...] = ()


# Limits on what a body may hold, so no valid-looking body can crash the parser or anything after it (a 500
# or 503 would make the sender retry, forever, something that can never succeed): a form has no reason to nest
# deeper than a few levels or to send a number longer than a phone number.
MAX_DEPTH = 32
MAX_INT_DIGITS = 100
# Ids a sender puts in the body (Typeform's event_id, Tally's eventId) become our delivery id and are stored
# and logged: printable ASCII only.
_EVENT_ID = re.compile(r"^[\x21-\x7e]{1,255}$")


class FormDocument(dict[str, str]):
    """Form-encoded pairs, first value per name, plus what a plain dict would hide: names sent more than once
    (`repeated`, never silently last-wins) and names whose percent-encoded bytes are not UTF-8 (`undecodable`,
    never stored as U+FFFD).  Only fields the source maps make a submission's problems of them."""

    def __init__(self) -> None:
        super().__init__()
        self.repeated: set[str] = set()
        self.undecodable: set[str] = set()


def _parse_form(body: bytes) -> FormDocument:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise PayloadError("(body)", "form-encoded bodies must be UTF-8") from None
    document = FormDocument()
    # surrogateescape keeps bytes that are not UTF-8 recognisable instead of replacing them with U+FFFD.
    for name, value in parse_qsl(text, keep_blank_values=True, errors="surrogateescape"):
        if _has_surrogate(name):
            raise PayloadError("(body)", "form field names must be UTF-8")
        if _has_surrogate(value):
            document.undecodable.add(name)
            value = ""
        if name in document:
            document.repeated.add(name)
            continue
        document[name] = value
    return document


def _has_surrogate(text: str) -> bool:
    return any("\ud800" <= char <= "\udfff" for char in text)


def parse_body(body: bytes, *, form: bool) -> Any:
    if form:
        return _parse_form(body)
    try:
        document = json.loads(body, parse_constant=_no_constant, parse_float=_finite, parse_int=_bounded_int)
    except RecursionError:
        raise PayloadError("(body)", f"must not nest arrays or objects more than {MAX_DEPTH} deep") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        where = f" at line {exc.lineno} column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
        raise PayloadError("(body)", f"must be valid UTF-8 JSON{where}") from None
    _check_document(document)
    return document


def _check_document(document: Any) -> None:
    """Walk the parsed body once, without recursion: refuse nesting past MAX_DEPTH (it would crash whatever
    serialises or validates it later) and unpaired surrogate escapes (`"\\ud800"` is JSON syntax, but no text
    that can be stored or sent on)."""
    stack: list[tuple[Any, int]] = [(document, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if _has_surrogate(value):
                raise PayloadError("(body)", "strings must be Unicode text: an unpaired surrogate (\\ud800-\\udfff)")
            continue
        if not isinstance(value, dict | list):
            continue
        if depth >= MAX_DEPTH:
            raise PayloadError("(body)", f"must not nest arrays or objects more than {MAX_DEPTH} deep")
        items = [*value.keys(), *value.values()] if isinstance(value, dict) else value
        stack.extend((item, depth + 1) for item in items)


def _no_constant(name: str) -> Any:
    """NaN and Infinity are not JSON (RFC 8259), though Python's json writes them; a body holding one could not
    be stored in a Postgres JSON column, so it is refused as unparseable instead of failing the inbox write."""
    raise PayloadError("(body)", f"must be valid JSON: {name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999: JSON syntax, but no finite double
        raise PayloadError("(body)", f"must be valid JSON: {text[:20]} is too large for a number")
    return value


def _bounded_int(text: str) -> int:
    """A 5,000-digit integer is JSON syntax, but Python refuses to convert it (ValueError, a 500): refuse it as
    a bad body instead, wherever it is, ignored fields included."""
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise PayloadError("(body)", f"must be valid JSON: numbers of more than {MAX_INT_DIGITS} digits are refused")
    return int(text)


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
    name = "event_id" if source.scheme == "typeform" else "eventId"
    if not isinstance(value, str) or not value or len(value) > 255:
        raise PayloadError(name, "a non-empty id is required")
    if not _EVENT_ID.match(value):
        raise PayloadError(name, "must be 1-255 printable ASCII characters (no spaces or control characters)")
    return value


def extract(source: IntakeSource, document: Any) -> Extracted:
    delivery_id = _sender_event_id(source, document)
    field_map: FieldMap | None = source.effective_field_map
    honeypot_name = source.honeypot_field
    if field_map is None:
        if not isinstance(document, dict):
            raise PayloadError("(body)", "must be a JSON object (the submission, at the top level or under 'data')")
        inner = document.get("data")
        fields: dict[str, Any] = dict(inner if isinstance(inner, dict) else document)
        honeypot = fields.pop(honeypot_name, None) if honeypot_name else None
        return Extracted(fields=fields, honeypot_filled=_filled(honeypot), delivery_id=delivery_id)
    if field_map.format in ("json", "form") and not isinstance(document, dict):
        raise PayloadError("(body)", "must be a JSON object")
    fields = {}
    problems: list[Problem] = []
    for target, selector in field_map.fields.items():
        if isinstance(document, FormDocument):
            problems += _form_problems(document, target, selector)
        value = select_value(field_map.format, document, selector)
        if value is not None and value != "":
            fields[target] = value
    for target, constant in field_map.constants.items():
        fields.setdefault(target, constant)
    honeypot = select_value(field_map.format, document, honeypot_name) if honeypot_name else None
    return Extracted(
        fields=fields, honeypot_filled=_filled(honeypot), delivery_id=delivery_id, problems=tuple(problems)
    )


def _form_problems(document: FormDocument, target: str, selector: str) -> list[Problem]:
    problems = []
    if selector in document.undecodable:
        rule = f"form field {selector!r} is not UTF-8 text (its percent-encoded bytes are another encoding)"
        problems.append(Problem("submission", target, rule))
    if selector in document.repeated:
        rule = f"form field {selector!r} was sent more than once; which value is meant is not known"
        problems.append(Problem("submission", target, rule))
    return problems


async def parse_multipart(body: bytes, content_type: str) -> FormDocument:
    """`multipart/form-data` (what form builders and `<form enctype=multipart/form-data>` send) as the same
    FormDocument as url-encoded pairs; uploaded files are no part of a submission and are left out."""
    from starlette.datastructures import Headers, UploadFile
    from starlette.formparsers import MultiPartException, MultiPartParser

    async def stream() -> AsyncGenerator[bytes, None]:
        yield body

    parser = MultiPartParser(Headers({"content-type": content_type}), stream(), max_files=16, max_fields=1000)
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise PayloadError("(body)", f"is not readable multipart/form-data ({exc.message})") from None
    document = FormDocument()
    try:
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                continue
            if _has_surrogate(name):
                raise PayloadError("(body)", "form field names must be UTF-8")
            if "\ufffd" in value:
                document.undecodable.add(name)
                value = ""
            if name in document:
                document.repeated.add(name)
                continue
            document[name] = value
    finally:
        await form.close()
    return document
