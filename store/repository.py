"""The record repository: upsert by key, read back as models.  Never commits; the unit of work does."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Connection, func, select

from store.conflicts import insert_for
from store.records import KINDS, RecordKind


@dataclass
class UpsertCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def add(self, other: UpsertCounts) -> None:
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged


class RecordRepository:
    def __init__(self, connection: Connection, kind: RecordKind | str) -> None:
        self.connection = connection
        self.kind = KINDS[kind] if isinstance(kind, str) else kind
        self.table = self.kind.table

    def upsert_many(self, records: Sequence[BaseModel]) -> UpsertCounts:
        """Insert new keys, update changed ones, leave identical ones alone (one read, one write per batch)."""
        now = datetime.now(UTC)
        rows: dict[str, dict[str, Any]] = {}
        for record in records:
            row = self.kind.to_row(record, now)
            rows[row["key"]] = row  # a key repeated within a batch: the last one wins, as in a file
        if not rows:
            return UpsertCounts()
        existing = dict(
            self.connection.execute(
                select(self.table.c.key, self.table.c.payload_hash).where(self.table.c.key.in_(list(rows)))
            ).all()
        )
        counts = UpsertCounts()
        changed = []
        for key, row in rows.items():
            if key not in existing:
                counts.inserted += 1
                changed.append(row)
            elif existing[key] != row["payload_hash"]:
                counts.updated += 1
                changed.append(row)
            else:
                counts.unchanged += 1
        if changed:
            self._write(changed)
        return counts

    def _write(self, rows: list[dict[str, Any]]) -> None:
        insert = insert_for(self.connection)
        stmt = insert(self.table)
        updates = {c.name: stmt.excluded[c.name] for c in self.table.columns if c.name != "key"}
        self.connection.execute(stmt.on_conflict_do_update(index_elements=["key"], set_=updates), rows)

    def get(self, key: str) -> BaseModel | None:
        row = self.connection.execute(select(self.table).where(self.table.c.key == key)).first()
        return self.kind.from_row(row) if row is not None else None

    def keys(self) -> set[str]:
        return set(self.connection.execute(select(self.table.c.key)).scalars())

    def count(self) -> int:
        return int(self.connection.execute(select(func.count()).select_from(self.table)).scalar_one())

    def iter_all(self, batch_size: int = 1000) -> Iterator[BaseModel]:
        """Stream every record in key order, a page at a time, so memory stays flat on big programs."""
        last: str | None = None
        while True:
            query = select(self.table).order_by(self.table.c.key).limit(batch_size)
            if last is not None:
                query = query.where(self.table.c.key > last)
            page = self.connection.execute(query).all()
            if not page:
                return
            for row in page:
                yield self.kind.from_row(row)
            last = page[-1].key

    def iter_where(self, column: str, values: Iterable[str]) -> Iterator[BaseModel]:
        query = select(self.table).where(self.table.c[column].in_(list(values))).order_by(self.table.c.key)
        for row in self.connection.execute(query):
            yield self.kind.from_row(row)
