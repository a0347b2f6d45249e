"""Streaming readers: a 100 MB CSV is read row by row, never held in memory.

Bytes that are not UTF-8 and control characters (NUL above all: Postgres refuses it in text) are found here,
per row, and reported as that row's problems (`file:line field: rule`), never as a crash halfway through an
import.  Files are decoded with `surrogateescape`, so an undecodable byte survives as a lone surrogate that
`reading_problems` can name.  What makes a whole file unreadable (no header, a column named twice, a header
its kind does not accept (`ingest/columns.py`), a cell over the csv module's field limit, broken JSON) raises
`UnreadableFile` naming the line.  No message quotes
a cell's value: values are personal data.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from models.problems import Problem

# C0 controls except tab, line feed and carriage return, plus DEL: never meaningful in program data.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# What `surrogateescape` turns an undecodable byte into.
_UNDECODED = re.compile(r"[\udc80-\udcff]")
_ANY_SURROGATE = re.compile(r"[\ud800-\udfff]")


@dataclass(frozen=True, slots=True)
class SourceRow:
    """One input row and where it came from (`file:line` for CSV, `file:item N` for JSON arrays).

    `problems` holds what was wrong with the row as read (bad bytes, control characters); such a row is
    rejected without being validated further.
    """

    location: str
    data: dict[str, Any]
    problems: tuple[Problem, ...] = ()


class UnreadableFile(Exception):
    """The file as a whole cannot be read (unknown format, broken JSON, no header, a repeated column)."""


def text_rule(value: str) -> str | None:
    """Why a text value cannot be stored, without quoting it; None when it is fine."""
    undecoded = _UNDECODED.search(value)
    if undecoded:
        byte = ord(undecoded.group()) - 0xDC00
        return f"is not valid UTF-8 (byte 0x{byte:02X}); save the file as UTF-8"
    if _ANY_SURROGATE.search(value):
        return "contains an unpaired UTF-16 surrogate, which is not text"
    control = _CONTROL.search(value)
    if control:
        return f"contains the control character U+{ord(control.group()):04X}, which is not allowed"
    return None


def reading_problems(location: str, data: dict[str, Any]) -> tuple[Problem, ...]:
    """Each field (and field name) whose text is not storable, with the rule it breaks."""
    found: list[Problem] = []

    def visit(path: str, value: Any) -> None:
        if isinstance(value, str):
            rule = text_rule(value)
            if rule is not None:
                found.append(Problem(location, path, rule))
        elif isinstance(value, dict):
            for key, item in value.items():
                name = f"{path}.{key}" if path else str(key)
                key_rule = text_rule(str(key))
                if key_rule is not None:
                    found.append(Problem(location, path or "(field name)", f"a field name {key_rule}"))
                    continue
                visit(name, item)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                visit(f"{path}.{index}", item)

    visit("", data)
    return tuple(found)


def _row(location: str, data: dict[str, Any]) -> SourceRow:
    return SourceRow(location, data, reading_problems(location, data))


def _clean_csv_row(row: dict[str | None, Any]) -> dict[str, Any]:
    """Empty cells mean 'not given', so model defaults apply; surplus cells are kept under a visible name."""
    cleaned: dict[str, Any] = {}
    for key, value in row.items():
        if key is None:
            cleaned["(extra cells)"] = value
            continue
        name = key.strip()
        if isinstance(value, str):
            value = value.strip()
            if value == "":
                continue
        cleaned[name] = value
    return cleaned


def _check_header(fieldnames: list[str], name: str, line: int) -> None:
    """One message for the file when its header cannot name each column once, in readable text."""
    for column in fieldnames:
        rule = text_rule(column)
        if rule is not None:
            raise UnreadableFile(f"{name}:{line} header: a column name {rule}")
    first_at: dict[str, int] = {}
    repeated: list[str] = []
    for position, column in enumerate(fieldnames, start=1):
        label = column.strip()
        if label in first_at:
            repeated.append(f"{label!r} (columns {first_at[label]} and {position})")
        else:
            first_at[label] = position
    if repeated:
        raise UnreadableFile(
            f"{name}:{line} header: each column may appear once, but {', '.join(repeated)} "
            "appear more than once (which value should count is unknowable)"
        )


# The csv module's default field limit, enforced here as our own rule: libraries loaded in the same process
# (frictionless, scipy) raise the module's process-wide limit, and a file must not be readable or not
# depending on what else happens to be imported.
MAX_CELL_CHARS = 131_072


def _too_long(row: dict[str | None, Any]) -> bool:
    for value in row.values():
        cells = value if isinstance(value, list) else [value]
        if any(isinstance(cell, str) and len(cell) > MAX_CELL_CHARS for cell in cells):
            return True
    return False


# Checks a header's column names against what the file's kind accepts: (names, file name, header line).
ColumnCheck = Callable[[list[str], str, int], None]


def read_csv(stream: IO[str], name: str, check_columns: ColumnCheck | None = None) -> Iterator[SourceRow]:
    """Rows of a CSV; `check_columns` sees the header before any row is read (and may raise `UnreadableFile`)."""
    reader = csv.DictReader(stream)
    start = 1  # the line the record being read starts on
    try:
        fieldnames = reader.fieldnames
        if fieldnames is None:
            raise UnreadableFile(f"{name}: the CSV file is empty (a header row is needed)")
        _check_header(list(fieldnames), name, reader.line_num)
        if check_columns is not None:
            check_columns(list(fieldnames), name, reader.line_num)
        start = reader.line_num + 1
        for row in reader:
            if _too_long(row):
                raise csv.Error(f"field larger than field limit ({MAX_CELL_CHARS})")
            yield _row(f"{name}:{start}", _clean_csv_row(row))
            start = reader.line_num + 1
    except csv.Error as exc:
        # The csv module cannot resume after a malformed record (e.g. a cell over its field limit).
        raise UnreadableFile(f"{name}:{start} (cell): {exc}") from None


def read_json_lines(stream: IO[str], name: str) -> Iterator[SourceRow]:
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        location = f"{name}:{number}"
        rule = text_rule(line.rstrip("\r\n"))
        if rule is not None and _UNDECODED.search(line):
            yield SourceRow(location, {}, (Problem(location, "(line)", rule),))
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            yield SourceRow(location, {"(json)": f"not valid JSON: {exc.msg}"})
            continue
        yield _row(location, item if isinstance(item, dict) else {"(json)": item})


def read_json_array(text: str, name: str) -> Iterator[SourceRow]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UnreadableFile(f"{name}:{exc.lineno} not valid JSON: {exc.msg}") from None
    if isinstance(data, dict) and isinstance(data.get("data"), list):
        data = data["data"]
    if not isinstance(data, list):
        raise UnreadableFile(f"{name}: a JSON import must be an array of objects (or {{'data': [...]}})")
    for index, item in enumerate(data, start=1):
        yield _row(f"{name}:item {index}", item if isinstance(item, dict) else {"(json)": item})


def read_rows(path: Path, check_columns: ColumnCheck | None = None) -> Iterator[SourceRow]:
    """Rows of a .csv, .json or .jsonl/.ndjson file, streamed where the format allows (a CSV's header checked
    by `check_columns` first)."""
    suffix = path.suffix.lower()
    name = path.name
    if suffix == ".csv":
        with path.open(newline="", encoding="utf-8-sig", errors="surrogateescape") as stream:
            yield from read_csv(stream, name, check_columns)
    elif suffix in {".jsonl", ".ndjson"}:
        with path.open(encoding="utf-8", errors="surrogateescape") as stream:
            yield from read_json_lines(stream, name)
    elif suffix == ".json":
        yield from read_json_array(decode_utf8(path.read_bytes(), name), name)
    else:
        raise UnreadableFile(f"{name}: unknown file type {suffix!r}; use .csv, .json or .jsonl")


def decode_utf8(data: bytes, name: str) -> str:
    """A whole body or file as text (a leading BOM dropped); `UnreadableFile` names the line of a bad byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise UnreadableFile(
            f"{name}:{line} is not valid UTF-8 (byte 0x{data[exc.start]:02X}); send or save it as UTF-8"
        ) from None


def read_text(text: str, name: str, content_type: str, check_columns: ColumnCheck | None = None) -> Iterator[SourceRow]:
    """The same readers over an uploaded body (the ingest API)."""
    if "csv" in content_type:
        yield from read_csv(io.StringIO(text, newline=""), name, check_columns)
    else:
        yield from read_json_array(text, name)
