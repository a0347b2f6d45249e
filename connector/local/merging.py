"""Merging duplicates into a master record, as staff do in Salesforce (its `merge` call).

What a sync can see afterwards is what an org shows: each duplicate is deleted (in the recycle bin, so
`query(..., include_deleted=True)` still finds it) with `MasterRecordId` set to the master, and every live
record that looked one of them up now looks up the master.  The master keeps its own field values.  Only
objects with a `MasterRecordId` field (Account, Contact, Lead) can be merged, one or two records at a time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from connector.base import FatalCrmError
from connector.ids import to_18
from connector.local.in_list import VALUES, update_in
from connector.local.query import quote
from connector.local.schema import ObjectSpec
from connector.local.storage import fetch_state


@dataclass(frozen=True)
class MergeResult:
    """What a merge did: the surviving record, the records merged into it, and the lookups moved to it
    ({"Object.Field": rows})."""

    master_id: str
    merged_ids: tuple[str, ...]
    reparented: dict[str, int]


def merge_ids(spec: ObjectSpec, master_id: str, duplicate_ids: Sequence[str]) -> tuple[str, list[str]]:
    """(master, sorted losers) as 18-character Ids, or the FatalCrmError Salesforce answers a bad merge with."""
    if "masterrecordid" not in spec.fields:
        raise FatalCrmError(f"{spec.name} records cannot be merged", code="INVALID_TYPE", status=400)
    if not 1 <= len(duplicate_ids) <= 2:
        raise FatalCrmError(
            "a merge takes one master and one or two records to merge into it", code="INVALID_OPERATION"
        )
    try:
        master = to_18(master_id)
        losers = sorted({to_18(i) for i in duplicate_ids})
    except ValueError as exc:
        raise FatalCrmError(f"malformed id in merge: {exc}", code="MALFORMED_ID", status=400) from None
    if master in losers:
        raise FatalCrmError("a record cannot be merged into itself", code="INVALID_OPERATION")
    return master, losers


def merge(
    conn: Any, specs: Mapping[str, ObjectSpec], spec: ObjectSpec, master: str, losers: list[str], now: str
) -> MergeResult:
    """Inside the write transaction: check the records are live, move the lookups, delete the losers."""
    state = fetch_state(conn, spec, [master, *losers])
    for record_id in (master, *losers):
        if record_id[:3] != spec.key_prefix or state.get(record_id) is None:
            raise FatalCrmError(
                f"{spec.name} {record_id}: invalid cross reference id", code="INVALID_CROSS_REFERENCE_KEY"
            )
        if state[record_id]:
            raise FatalCrmError(f"{spec.name} {record_id}: entity is deleted", code="ENTITY_IS_DELETED")
    reparented: dict[str, int] = {}
    for child in specs.values():
        for fspec in child.fields.values():
            if fspec.type != "reference" or fspec.name == "MasterRecordId" or not fspec.stored:
                continue
            if spec.name.lower() not in {t.lower() for t in fspec.reference_to}:
                continue
            moved = update_in(
                conn,
                f'UPDATE {quote(child.name)} SET {quote(fspec.name)} = ?, "LastModifiedDate" = ?, '
                f'"SystemModstamp" = ? WHERE {quote(fspec.name)} IN {VALUES} AND "IsDeleted" = 0',
                losers,
                [master, now, now],
            )
            if moved:
                reparented[f"{child.name}.{fspec.name}"] = moved
    update_in(
        conn,
        f'UPDATE {quote(spec.name)} SET "IsDeleted" = 1, "MasterRecordId" = ?, "LastModifiedDate" = ?, '
        f'"SystemModstamp" = ? WHERE "Id" IN {VALUES}',
        losers,
        [master, now, now],
    )
    conn.execute(
        f'UPDATE {quote(spec.name)} SET "LastModifiedDate" = ?, "SystemModstamp" = ? WHERE "Id" = ?',
        (now, now, master),
    )
    return MergeResult(master, tuple(losers), reparented)
