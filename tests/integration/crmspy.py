"""A CrmConnector that forwards to a real one and remembers each query and write, for tests counting calls."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from connector.base import CallCounter, CrmConnector, CrmRecord, QueryPage, RowResult


@dataclass
class RecordingCrm:
    crm: CrmConnector
    queries: list[str] = field(default_factory=list)
    writes: list[tuple[str, str, int]] = field(default_factory=list)  # (operation, object, rows)

    @property
    def counter(self) -> CallCounter:
        return self.crm.counter

    def queries_of(self, object_name: str) -> list[str]:
        return [q for q in self.queries if f" FROM {object_name} " in f"{q} "]

    def writes_of(self, object_name: str) -> list[tuple[str, int]]:
        return [(op, n) for op, name, n in self.writes if name == object_name]

    def forget(self) -> None:
        self.queries.clear()
        self.writes.clear()

    def describe(self, object_name: str) -> dict[str, Any]:
        return self.crm.describe(object_name)

    def upsert(self, object_name: str, external_id_field: str, records: Sequence[Mapping[str, Any]]) -> list[RowResult]:
        self.writes.append(("upsert", object_name, len(records)))
        return self.crm.upsert(object_name, external_id_field, records)

    def create(self, object_name: str, records: Sequence[Mapping[str, Any]]) -> list[RowResult]:
        self.writes.append(("create", object_name, len(records)))
        return self.crm.create(object_name, records)

    def update(self, object_name: str, records: Sequence[Mapping[str, Any]]) -> list[RowResult]:
        self.writes.append(("update", object_name, len(records)))
        return self.crm.update(object_name, records)

    def delete(self, object_name: str, ids: Sequence[str]) -> list[RowResult]:
        self.writes.append(("delete", object_name, len(ids)))
        return self.crm.delete(object_name, ids)

    def get(self, object_name: str, record_id: str, fields: Sequence[str] | None = None) -> CrmRecord | None:
        return self.crm.get(object_name, record_id, fields)

    def query(self, soql: str, *, include_deleted: bool = False) -> Iterator[QueryPage]:
        self.queries.append(soql)
        return self.crm.query(soql, include_deleted=include_deleted)

    def limits(self) -> dict[str, Any]:
        return self.crm.limits()
