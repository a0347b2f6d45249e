"""What the org-behaviour checks share: the row as a check sees it, a refusal, and batch reads of records.

The local CRM's write path prepares rows, resolves lookups, then asks each check (address picklists, stage
restrictions, validation rules) about the rows still alive.  A check sees the row's own values (and may add
companion values an org fills in, such as a state's code) and the record as it would be saved (stored values
overlaid with the row's), and answers with a `Refusal` carrying Salesforce's error code, message and fields.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from connector.local.in_list import VALUES, Connection, select_in
from connector.local.query import quote
from connector.local.schema import ObjectSpec

__all__ = ["Candidate", "Check", "Connection", "Refusal", "describe_of", "fetch_records", "merged_candidates", "refuse"]


@dataclass(frozen=True, slots=True)
class Refusal:
    code: str
    message: str
    fields: tuple[str, ...] = ()


@dataclass(slots=True)
class Candidate:
    """One row about to be saved: `values` is the row's own (a check may add to it), `merged` the whole record."""

    values: dict[str, Any]
    merged: dict[str, Any]
    create: bool
    record_id: str | None = None
    refusal: Refusal | None = field(default=None)


class Check(Protocol):
    """An org behaviour: refuses (or completes) the candidates of one object."""

    def applies(self, spec: ObjectSpec) -> bool: ...

    def check(self, conn: Connection, spec: ObjectSpec, candidates: Sequence[Candidate]) -> None: ...


def fetch_records(
    conn: Connection, spec: ObjectSpec, ids: Iterable[str], names: Sequence[str] | None = None
) -> dict[str, dict[str, Any]]:
    """Id -> {field: stored value} for live records of `spec` (every stored field unless `names` is given)."""
    columns = [f.name for f in spec.stored_fields()] if names is None else ["Id", *[n for n in names if n != "Id"]]
    wanted = sorted({i for i in ids if i})
    cols = ", ".join(quote(c) for c in columns)
    sql = f'SELECT {cols} FROM {quote(spec.name)} WHERE "Id" IN {VALUES} AND "IsDeleted" = 0'
    return {row[0]: dict(zip(columns, row, strict=True)) for row in select_in(conn, sql, wanted)}


def refuse(candidate: Candidate, refusal: Refusal) -> None:
    """The first refusal wins, as Salesforce reports one error per failed row here."""
    if candidate.refusal is None:
        candidate.refusal = refusal


def merged_candidates(
    conn: Connection, spec: ObjectSpec, rows: Sequence[tuple[dict[str, Any], bool, str | None]]
) -> list[Candidate]:
    """Candidates for (values, create, record id) rows: updates see their stored record under their values."""
    stored = fetch_records(conn, spec, [rid for _, create, rid in rows if not create and rid])
    return [
        Candidate(values, {**(stored.get(rid or "", {}) if not create else {}), **values}, create, rid)
        for values, create, rid in rows
    ]


def describe_of(spec: ObjectSpec) -> Mapping[str, Any]:
    return spec.describe
