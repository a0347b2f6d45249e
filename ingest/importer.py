"""The import use case: rows in, validated models upserted by key, every bad row reported precisely.

A file is imported in one transaction: either every good row of it is stored, or (the file turned out to be
unreadable halfway, the database failed) none is.  Rows are still validated and written in batches, so
Python's memory stays flat on a 100 MB file.  A dry run does all the same checks and rolls back at the end.

Rows of one file that are the same record (same key, after the key function's normalisation: the same
email typed in another case) are a conflict, not an update: the first is kept, each later one is reported
naming the first's line, so the report's counts are what was stored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import Connection, Engine

from ingest.columns import header_check
from ingest.reader import ColumnCheck, SourceRow, read_rows
from ingest.references import CHECKS
from ingest.seen_keys import SeenKeys
from models import MeasureCatalogue, default_catalogue
from models.problems import Problem, problems_from_validation_error
from store.records import KINDS, RecordKind
from store.repository import RecordRepository, UpsertCounts

IMPORTABLE = [name for name in KINDS if name != "intake"]
DEFAULT_BATCH_SIZE = 1000
KEPT_PROBLEMS = 1000


class UnknownKind(ValueError):
    def __init__(self, kind: str) -> None:
        super().__init__(f"unknown import kind {kind!r}; choose one of: {', '.join(IMPORTABLE)}")


@dataclass
class ImportReport:
    kind: str
    rows: int = 0
    rejected: int = 0
    counts: UpsertCounts = field(default_factory=UpsertCounts)
    # The first KEPT_PROBLEMS problems; every one of them also went to the on_problem callback.
    problems: list[Problem] = field(default_factory=list)
    dry_run: bool = False

    @property
    def accepted(self) -> int:
        return self.rows - self.rejected

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "dry_run": self.dry_run,
            "rows": self.rows,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "inserted": self.counts.inserted,
            "updated": self.counts.updated,
            "unchanged": self.counts.unchanged,
            "problems": [{"record": p.record, "field": p.field, "rule": p.rule} for p in self.problems],
        }


ProblemSink = Callable[[Problem], None]
ProgressSink = Callable[[int], None]
AfterBatch = Callable[[Connection, UpsertCounts], None]


def resolve_kind(kind: str) -> RecordKind:
    if kind not in IMPORTABLE:
        raise UnknownKind(kind)
    return KINDS[kind]


def _batches(rows: Iterable[SourceRow], size: int) -> Iterator[list[SourceRow]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


def _validate(kind: RecordKind, batch: list[SourceRow]) -> tuple[list[tuple[str, BaseModel]], list[Problem]]:
    valid: list[tuple[str, BaseModel]] = []
    problems: list[Problem] = []
    for row in batch:
        if row.problems:  # unreadable text: validating it would only add noise about the same cells
            problems.extend(row.problems)
            continue
        try:
            valid.append((row.location, kind.model.model_validate(row.data)))
        except ValidationError as exc:
            problems.extend(problems_from_validation_error(row.location, exc))
    return valid, problems


def _key_field(kind: RecordKind) -> str:
    """The input field a conflict is reported on: `key`, or what the key is derived from (a person's email)."""
    fields = kind.model.model_fields
    if "key" in fields:
        return "key"
    return "email" if "email" in fields else "(record)"


def _first_of_each_key(
    kind: RecordKind, valid: list[tuple[str, BaseModel]], seen: SeenKeys
) -> tuple[list[tuple[str, BaseModel]], list[Problem]]:
    """Keep the first row of each key in the file; every later one is a problem naming the first's line."""
    keyed = [(location, str(getattr(model, "key")), model) for location, model in valid]  # noqa: B009
    earlier = seen.first_locations(key for _location, key, _model in keyed)
    kept: list[tuple[str, BaseModel]] = []
    kept_here: dict[str, str] = {}
    problems: list[Problem] = []
    field_name = _key_field(kind)
    for location, key, model in keyed:
        first = earlier.get(key) or kept_here.get(key)
        if first is None:
            kept_here[key] = location
            kept.append((location, model))
            continue
        problems.append(
            Problem(
                location,
                field_name,
                f"the same record as {first} (their keys match once normalised); a file may hold each record "
                "once, so the earlier row is kept and this one is not stored",
            )
        )
    seen.add(kept_here)
    return kept, problems


def import_rows(
    engine: Engine,
    kind_name: str,
    rows: Iterable[SourceRow],
    *,
    dry_run: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    catalogue: MeasureCatalogue | None = None,
    on_problem: ProblemSink | None = None,
    on_progress: ProgressSink | None = None,
    after_batch: AfterBatch | None = None,
) -> ImportReport:
    """Validate and upsert rows of one kind, all in one transaction.  `after_batch` runs inside it after each
    batch that changed something (the sync engine uses it to enqueue its job together with the data)."""
    kind = resolve_kind(kind_name)
    catalogue = catalogue or default_catalogue()
    check = CHECKS.get(kind.model)
    report = ImportReport(kind=kind_name, dry_run=dry_run)

    def record(problem: Problem) -> None:
        if len(report.problems) < KEPT_PROBLEMS:
            report.problems.append(problem)
        if on_problem is not None:
            on_problem(problem)

    with engine.connect() as conn:
        seen = SeenKeys(conn)
        try:
            for batch in _batches(rows, batch_size):
                valid, problems = _validate(kind, batch)
                if check is not None and valid:
                    problems.extend(check(conn, valid, catalogue))
                refused = {p.record for p in problems}
                # Only rows that would be stored can conflict: a bad row is reported for what is wrong with it.
                kept, conflicts = _first_of_each_key(
                    kind, [(loc, model) for loc, model in valid if loc not in refused], seen
                )
                problems.extend(conflicts)
                bad_rows = {p.record for p in problems}
                good = [model for _location, model in kept]
                counts = RecordRepository(conn, kind).upsert_many(good)
                if not dry_run and after_batch is not None and (counts.inserted or counts.updated):
                    after_batch(conn, counts)
                # Each batch stays in the one open transaction (so later batches' reference checks see it);
                # it is committed once the whole file was read, or rolled back below.
                report.rows += len(batch)
                report.rejected += len(bad_rows)
                report.counts.add(counts)
                for problem in sorted(problems, key=lambda p: _row_order(p.record)):
                    record(problem)
                if on_progress is not None:
                    on_progress(len(batch))
            seen.close()
            if not dry_run:
                conn.commit()
        finally:
            conn.rollback()
            seen.close()
    return report


def _row_order(location: str) -> tuple[int, str]:
    tail = location.rsplit(":", 1)[-1].removeprefix("item ").strip()
    return (int(tail) if tail.isdigit() else 0, location)


def columns_check(kind_name: str) -> ColumnCheck:
    """The header check for a CSV of this kind: unknown or missing columns are one `WrongHeader` for the file."""
    return header_check(kind_name, resolve_kind(kind_name))


def import_file(engine: Engine, kind_name: str, path: Path, **options: Any) -> ImportReport:
    """Import one CSV / JSON / JSON Lines file; see `import_rows` for the options.  A CSV's header is checked
    before its first row (`WrongHeader`, an `UnreadableFile`, when a column is unknown or missing)."""
    check = columns_check(kind_name)  # fails on a bad kind before opening the file
    return import_rows(engine, kind_name, read_rows(path, check), **options)
