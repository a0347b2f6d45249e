"""Which stored record each row of an upsert or update writes to, found with one SELECT per batch.

An upsert matches by its external-ID field (text letter case aside, unless the field is case-sensitive) or by
Id: no match creates, one match updates, two or more fail the row (DUPLICATE_EXTERNAL_ID with the matched
Ids), as does the same key twice in one call.  An update names its record by Id, which must be of the
object's key prefix, live, and not repeated in the call.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from connector.local.in_list import VALUES, select_in
from connector.local.query import quote
from connector.local.rows import Row, RowError
from connector.local.schema import FieldSpec, ObjectSpec
from connector.local.storage import fetch_state
from connector.local.values import fold


def match_upsert(conn: Any, spec: ObjectSpec, ext: FieldSpec, rows: list[Row]) -> None:
    live = [r for r in rows if r.error is None]
    if ext.name == "Id":
        ids = [r.record_id for r in live if r.record_id]
        state = fetch_state(conn, spec, [i for i in ids if i])
        for row in live:
            if row.record_id is None:
                row.create = True
            elif state.get(row.record_id) is None:
                row.error = RowError(
                    "NOT_FOUND",
                    f"Provided external ID field does not exist or is not accessible: {row.record_id}",
                    ("Id",),
                )
            elif state[row.record_id]:
                row.error = RowError("ENTITY_IS_DELETED", "entity is deleted", ("Id",))
            else:
                row.create = False
        return
    by_key: dict[Any, list[Row]] = defaultdict(list)
    for row in live:
        by_key[fold(ext, row.values[ext.name])].append(row)
    for key_rows in by_key.values():
        if len(key_rows) > 1:
            for row in key_rows:
                row.error = RowError(
                    "DUPLICATE_EXTERNAL_ID",
                    f"Duplicate external id specified: {row.values[ext.name]}",
                    (ext.name,),
                )
    wanted = [rows_[0].values[ext.name] for rows_ in by_key.values() if len(rows_) == 1]
    matches: dict[Any, list[str]] = defaultdict(list)
    stored: dict[str, Any] = {}
    sql = (
        f'SELECT "Id", {quote(ext.name)} FROM {quote(spec.name)} '
        f'WHERE {quote(ext.name)} IN {VALUES} AND "IsDeleted" = 0'
    )
    for rid, value in select_in(conn, sql, wanted):
        matches[fold(ext, value)].append(rid)
        stored[rid] = value
    for key, key_rows in by_key.items():
        if len(key_rows) != 1:
            continue
        row = key_rows[0]
        found = matches.get(key, [])
        if len(found) > 1:
            row.error = RowError(
                "DUPLICATE_EXTERNAL_ID",
                f"More than 1 record found for external id field {ext.name}: {', '.join(sorted(found))}",
                (ext.name,),
                matched=sorted(found),
            )
        elif found:
            row.create, row.record_id = False, found[0]
            if stored[found[0]] == row.values[ext.name]:
                # The key already holds exactly this value: leave its unique index entry alone.
                del row.values[ext.name]
        else:
            row.create = True


def match_update(conn: Any, spec: ObjectSpec, rows: list[Row]) -> None:
    live = [r for r in rows if r.error is None and r.record_id]
    seen: set[str] = set()
    for row in live:
        assert row.record_id is not None
        if row.record_id[:3] != spec.key_prefix:
            row.error = RowError(
                "MALFORMED_ID", f"{spec.name} ID: id value of incorrect type: {row.record_id}", ("Id",)
            )
        elif row.record_id in seen:
            row.error = RowError("DUPLICATE_VALUE", f"Duplicate id in list: {row.record_id}", ("Id",))
        seen.add(row.record_id)
    state = fetch_state(conn, spec, [r.record_id for r in live if r.error is None and r.record_id])
    for row in live:
        if row.error is not None:
            continue
        assert row.record_id is not None
        deleted = state.get(row.record_id)
        if deleted is None:
            row.error = RowError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ("Id",))
        elif deleted:
            row.error = RowError("ENTITY_IS_DELETED", "entity is deleted", ("Id",))
