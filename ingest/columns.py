"""Which columns a CSV of each kind may and must have, checked once per file before any row is read.

A misspelt or missing column is wrong for every row alike; reporting it per row buried the one fix under
thousands of identical lines (a 500-row file with `frist_name` printed 2,503 of them).  So the header is
checked against the model first: unknown columns (each with the closest valid name, by difflib) and missing
required ones make one `WrongHeader` for the file, and rows are validated only once the header is right.
"""

from __future__ import annotations

import difflib

from ingest.reader import ColumnCheck, UnreadableFile
from store.records import RecordKind


def accepted_columns(kind: RecordKind) -> list[str]:
    """Every column a file of this kind may have: the model's fields, then derived ones a dump may carry."""
    fields = list(kind.model.model_fields)
    return fields + [name for name in kind.model.model_computed_fields if name not in fields]


def required_columns(kind: RecordKind) -> list[str]:
    return [name for name, info in kind.model.model_fields.items() if info.is_required()]


def closest(name: str, candidates: list[str]) -> str | None:
    """The valid column a misspelt one most likely meant (case ignored), or None when nothing is close."""
    by_folded = {candidate.lower(): candidate for candidate in candidates}
    match = difflib.get_close_matches(name.strip().lower(), list(by_folded), n=1, cutoff=0.6)
    return by_folded[match[0]] if match else None


SHOWN_COLUMNS = 20
SHOWN_NAME_CHARS = 60


def _cut(column: str) -> str:
    """A column name as a message quotes it: a header is no place for data, but a pasted row can land there."""
    return column if len(column) <= SHOWN_NAME_CHARS else column[: SHOWN_NAME_CHARS - 1] + "…"


class WrongHeader(UnreadableFile):
    """A CSV header with unknown or missing columns: one problem for the whole file, naming each column."""

    def __init__(
        self, name: str, line: int, kind: str, unknown: dict[str, str | None], missing: list[str], expected: list[str]
    ) -> None:
        self.file = name
        self.line = line
        self.kind = kind
        self.unknown = unknown
        self.missing = missing
        self.expected = expected
        parts: list[str] = []
        if unknown:
            named = [
                f"{_cut(column)!r} (did you mean {guess!r}?)" if guess else repr(_cut(column))
                for column, guess in list(unknown.items())[:SHOWN_COLUMNS]
            ]
            if len(unknown) > SHOWN_COLUMNS:
                named.append(f"and {len(unknown) - SHOWN_COLUMNS} more")
            parts.append(f"unknown column{'s' if len(unknown) > 1 else ''} {', '.join(named)}")
        if missing:
            parts.append(
                f"missing required column{'s' if len(missing) > 1 else ''} {', '.join(repr(m) for m in missing)}"
            )
        super().__init__(
            f"{name}:{line} header: {'; '.join(parts)}. A {kind} file has the columns {', '.join(expected)} "
            f"(`ignite-sync import {kind} --template` prints them with an example row); no row was read"
        )

    def errors(self) -> list[dict[str, str]]:
        """One `{field, rule}` per wrong column, for the ingest API's problem+json."""
        found = [
            {"field": _cut(column), "rule": "unknown column" + (f"; did you mean {guess!r}?" if guess else "")}
            for column, guess in list(self.unknown.items())[:SHOWN_COLUMNS]
        ]
        return found + [{"field": column, "rule": "required column missing"} for column in self.missing]


def header_check(kind_name: str, kind: RecordKind) -> ColumnCheck:
    """The check `read_csv` runs on a header of this kind (blank column names are left to the rows, where a
    value under one is reported as an unexpected field; an empty trailing column is harmless)."""
    accepted = accepted_columns(kind)
    required = required_columns(kind)

    def check(fieldnames: list[str], name: str, line: int) -> None:
        present = [column.strip() for column in fieldnames]
        unknown_names = [column for column in present if column and column not in accepted]
        missing = [column for column in required if column not in present]
        if not unknown_names and not missing:
            return
        # A misspelling most likely meant a column the file lacks; otherwise any valid one.
        unknown = {column: closest(column, missing) or closest(column, accepted) for column in unknown_names}
        raise WrongHeader(name, line, kind_name, unknown, missing, accepted)

    return check
