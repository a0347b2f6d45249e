"""Values that may be held by one record only: unique fields, and the duplicate rules an admin activates.

A unique field (text letter case aside unless case-sensitive) refuses a value another live record holds, or
another row of the same call claims, with DUPLICATE_VALUE; one SELECT per unique field checks a batch.  A
blocking duplicate rule refuses a record whose matched fields all equal an existing record's, with
DUPLICATES_DETECTED and the matched Ids, as Salesforce's API answers.
"""

from __future__ import annotations

from typing import Any

from connector.local.in_list import VALUES, select_in
from connector.local.query import quote
from connector.local.rows import Row, RowError
from connector.local.schema import TEXT_TYPES, FieldSpec, ObjectSpec
from connector.local.values import fold

# The fields a rule matches on, and whether it also blocks an update ("Action on edit: Block").
DuplicateRule = tuple[tuple[FieldSpec, ...], bool]


def check_unique(conn: Any, spec: ObjectSpec, rows: list[Row], skip: FieldSpec | None) -> None:
    for fspec in spec.fields.values():
        if not fspec.unique or not fspec.stored or (skip is not None and fspec.name == skip.name):
            continue
        claims: dict[Any, Row] = {}
        values = []
        for row in rows:
            value = row.values.get(fspec.name)
            if row.error is not None or value is None:
                continue
            key = fold(fspec, value)
            if key in claims:
                row.error = RowError(
                    "DUPLICATE_VALUE",
                    f"duplicate value found: {fspec.name} duplicates value on another record in this request",
                    (fspec.name,),
                )
                continue
            claims[key] = row
            values.append(value)
        sql = (
            f'SELECT "Id", {quote(fspec.name)} FROM {quote(spec.name)} '
            f'WHERE {quote(fspec.name)} IN {VALUES} AND "IsDeleted" = 0'
        )
        for rid, value in select_in(conn, sql, values):
            claimant = claims.get(fold(fspec, value))
            if claimant is not None and claimant.error is None and (claimant.create or claimant.record_id != rid):
                claimant.error = RowError(
                    "DUPLICATE_VALUE",
                    f"duplicate value found: {fspec.name} duplicates value on record with id: {rid}",
                    (fspec.name,),
                )


def check_duplicate_rules(conn: Any, spec: ObjectSpec, rows: list[Row], rules: list[DuplicateRule]) -> None:
    for fields, on_edit in rules:
        where = " AND ".join(
            f"lower({quote(f.name)}) = lower(?)" if f.type in TEXT_TYPES else f"{quote(f.name)} = ?" for f in fields
        )
        for row in rows:
            if row.error is not None or not (row.create or on_edit):
                continue
            values = [row.values.get(f.name) for f in fields]
            if not row.create:  # an update: the record as it will be, its unchanged fields included
                stored = conn.execute(
                    f'SELECT {", ".join(quote(f.name) for f in fields)} FROM {quote(spec.name)} WHERE "Id" = ?',
                    [row.record_id],
                ).fetchone()
                values = [
                    v if f.name in row.values else (stored[i] if stored else None)
                    for i, (f, v) in enumerate(zip(fields, values, strict=True))
                ]
            if any(v is None or v == "" for v in values):
                continue
            matched = [
                rid
                for (rid,) in conn.execute(
                    f'SELECT "Id" FROM {quote(spec.name)} WHERE {where} AND "IsDeleted" = 0 ORDER BY "Id"', values
                )
                if rid != row.record_id
            ]
            if matched:
                row.error = RowError(
                    "DUPLICATES_DETECTED",
                    "You're creating a duplicate record. We recommend you use an existing record instead.",
                    matched=matched,
                )
