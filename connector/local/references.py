"""Lookups on the rows being saved: external-ID references resolved to Ids, and lookups given as Ids checked.

A reference (`"Account": {"Ignite_Key__c": "org:flch"}`) resolves with one SELECT per target object and key
field; no match or several fail the row with INVALID_FIELD, as Salesforce does.  A lookup given as an Id must
be of a type the field may point to (MALFORMED_ID), exist (INVALID_CROSS_REFERENCE_KEY) and be live
(ENTITY_IS_DELETED); an Id of an object the local CRM does not model (User, RecordType…) is trusted.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from connector.local.in_list import VALUES, select_in
from connector.local.query import quote
from connector.local.rows import Row, RowError
from connector.local.schema import FieldSpec, ObjectSpec
from connector.local.storage import fetch_state
from connector.local.values import fold


def resolve_refs(conn: Any, rows: list[Row]) -> None:
    wanted: dict[tuple[str, str], set[Any]] = defaultdict(set)
    specs: dict[tuple[str, str], tuple[ObjectSpec, FieldSpec]] = {}
    for row in rows:
        if row.error is None:
            for ref in row.refs:
                key = (ref.target.name, ref.key_field.name)
                if ref.value is not None:
                    wanted[key].add(ref.value)
                specs[key] = (ref.target, ref.key_field)
    found: dict[tuple[str, str], dict[Any, list[str]]] = {}
    for key, values in wanted.items():
        target, key_field = specs[key]
        matches: dict[Any, list[str]] = defaultdict(list)
        sql = (
            f'SELECT "Id", {quote(key_field.name)} FROM {quote(target.name)} '
            f'WHERE {quote(key_field.name)} IN {VALUES} AND "IsDeleted" = 0'
        )
        for rid, value in select_in(conn, sql, sorted(values, key=str)):
            matches[fold(key_field, value)].append(rid)
        found[key] = matches
    for row in rows:
        if row.error is not None:
            continue
        for ref in row.refs:
            hits = found.get((ref.target.name, ref.key_field.name), {}).get(fold(ref.key_field, ref.value), [])
            if len(hits) == 1:
                row.values[ref.field.name] = hits[0]
                continue
            if hits:
                message = (
                    f"Foreign key external ID: {ref.value} matched more than one record for field "
                    f"{ref.key_field.name} in entity {ref.target.name}"
                )
            else:
                message = (
                    f"Foreign key external ID: {ref.value} not found for field {ref.key_field.name} "
                    f"in entity {ref.target.name}"
                )
            row.error = RowError("INVALID_FIELD", message, (ref.field.relationship_name or ref.field.name,))
            break


def check_direct_refs(conn: Any, specs: Mapping[str, ObjectSpec], spec: ObjectSpec, rows: list[Row]) -> None:
    """Lookups given as Ids must name a live record of a type the field may point to."""
    ref_fields = [f for f in spec.fields.values() if f.type == "reference"]
    if not ref_fields:
        return
    by_prefix: dict[str, ObjectSpec] = {s.key_prefix: s for s in specs.values()}
    wanted: dict[str, set[str]] = defaultdict(set)
    via_ref = {id(row): {ref.field.name for ref in row.refs} for row in rows}
    for row in rows:
        if row.error is not None:
            continue
        for fspec in ref_fields:
            value = row.values.get(fspec.name)
            if value is None or fspec.name in via_ref[id(row)]:
                continue
            allowed = {specs[t.lower()].key_prefix for t in fspec.reference_to if t.lower() in specs}
            known_targets = len(allowed) == len(fspec.reference_to)
            target = by_prefix.get(value[:3])
            if target is None or value[:3] not in allowed:
                if known_targets or target is not None:
                    row.error = RowError(
                        "MALFORMED_ID", f"{fspec.name}: id value of incorrect type: {value}", (fspec.name,)
                    )
                    break
                continue  # a target the local CRM does not model (User, RecordType…): trust the Id
            wanted[target.name].add(value)
    state: dict[str, bool] = {}
    for target_name, ids in wanted.items():
        state.update(fetch_state(conn, specs[target_name.lower()], sorted(ids)))
    for row in rows:
        if row.error is not None:
            continue
        for fspec in ref_fields:
            value = row.values.get(fspec.name)
            if value is None or fspec.name in via_ref[id(row)] or value[:3] not in by_prefix:
                continue
            deleted = state.get(value)
            if deleted is None:
                row.error = RowError(
                    "INVALID_CROSS_REFERENCE_KEY", f"{fspec.name}: invalid cross reference id", (fspec.name,)
                )
                break
            if deleted:
                row.error = RowError("ENTITY_IS_DELETED", f"{fspec.name}: entity is deleted", (fspec.name,))
                break
