"""Streaming readers: a 100 MB CSV is read row by row, never held in memory."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any


@dataclass(frozen=True, slots=True)
class SourceRow:
    """One input row and where it came from (`file:line` for CSV, `file:item N` for JSON arrays)."""

    location: str
    data: dict[str, Any]


class UnreadableFile(Exception):
    """The file as a whole cannot be read (unknown format, broken JSON, no header)."""


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


def read_csv(stream: IO[str], name: str) -> Iterator[SourceRow]:
    reader = csv.DictReader(stream)
    if reader.fieldnames is None:
        raise UnreadableFile(f"{name}: the CSV file is empty (a header row is needed)")
    start = reader.line_num + 1
    for row in reader:
        yield SourceRow(f"{name}:{start}", _clean_csv_row(row))
        start = reader.line_num + 1


def read_json_lines(stream: IO[str], name: str) -> Iterator[SourceRow]:
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        location = f"{name}:{number}"
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            yield SourceRow(location, {"(json)": f"not valid JSON: {exc.msg}"})
            continue
        yield SourceRow(location, item if isinstance(item, dict) else {"(json)": item})


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
        yield SourceRow(f"{name}:item {index}", item if isinstance(item, dict) else {"(json)": item})


def read_rows(path: Path) -> Iterator[SourceRow]:
    """Rows of a .csv, .json or .jsonl/.ndjson file, streamed where the format allows."""
    suffix = path.suffix.lower()
    name = path.name
    if suffix == ".csv":
        with path.open(newline="", encoding="utf-8-sig") as stream:
            yield from read_csv(stream, name)
    elif suffix in {".jsonl", ".ndjson"}:
        with path.open(encoding="utf-8") as stream:
            yield from read_json_lines(stream, name)
    elif suffix == ".json":
        yield from read_json_array(path.read_text("utf-8"), name)
    else:
        raise UnreadableFile(f"{name}: unknown file type {suffix!r}; use .csv, .json or .jsonl")


def read_text(text: str, name: str, content_type: str) -> Iterator[SourceRow]:
    """The same readers over an uploaded body (the ingest API)."""
    if "csv" in content_type:
        yield from read_csv(io.StringIO(text, newline=""), name)
    else:
        yield from read_json_array(text, name)
