"""The rows that passed every check, written: one `executemany` INSERT for the creates, one UPDATE per shape.

A create gets the next Id of its object's key prefix, the server's defaults for the fields it leaves out,
and the audit dates; an update sets only the fields it sends.  What an org computes on save is computed here
too: an auto-number Name (`RUN-000001`), Contact and Lead `Name` from the name parts, and the ContentDocument
Id a new ContentVersion belongs to.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from connector.ids import make_id
from connector.local.query import quote
from connector.local.rows import Row
from connector.local.schema import ObjectSpec
from connector.local.storage import allocate
from connector.local.values import auto_number, default


def write_rows(conn: Any, spec: ObjectSpec, rows: list[Row], now: str) -> None:
    creates = [r for r in rows if r.error is None and r.create]
    updates = [r for r in rows if r.error is None and not r.create]
    if creates:
        first = allocate(conn, spec.name, len(creates))
        columns = spec.stored_fields()
        defaults = {f.name: default(f) for f in columns}
        defaults.update({"IsDeleted": 0, "CreatedDate": now, "LastModifiedDate": now, "SystemModstamp": now})
        params = []
        if spec.name == "ContentVersion" and "contentdocumentid" in spec.fields:
            # Salesforce creates a ContentDocument for a new version that names none; the local CRM does not
            # model ContentDocument, so it only issues the Id (ContentDocumentLink rows can then point at it).
            new_documents = [r for r in creates if r.values.get("ContentDocumentId") is None]
            if new_documents:
                doc_seq = allocate(conn, "ContentDocument", len(new_documents))
                for n, row in enumerate(new_documents):
                    row.values["ContentDocumentId"] = make_id("069", doc_seq + n)
        for n, row in enumerate(creates):
            row.record_id = make_id(spec.key_prefix, first + n)
            values = {**defaults, **{k: v for k, v in row.values.items() if v is not None}}
            values["Id"] = row.record_id
            params.append(tuple(values[f.name] for f in columns))
        cols = ", ".join(quote(f.name) for f in columns)
        marks = ", ".join("?" for _ in columns)
        conn.executemany(f"INSERT INTO {quote(spec.name)} ({cols}) VALUES ({marks})", params)
    groups: dict[tuple[str, ...], list[tuple[Any, ...]]] = defaultdict(list)
    for row in updates:
        names = tuple(row.values)
        groups[names].append((*row.values.values(), now, now, row.record_id))
    for names, params_list in groups.items():
        sets = ", ".join(f"{quote(n)} = ?" for n in (*names, "LastModifiedDate", "SystemModstamp"))
        conn.executemany(f'UPDATE {quote(spec.name)} SET {sets} WHERE "Id" = ?', params_list)
    auto = auto_number(spec.describe.get("x_autoNumberFormat"))
    if auto is not None and creates:
        # An auto-number Name (RUN-000001): the org fills it on create, in insertion order.
        before, digits, after = auto
        conn.executemany(
            f"""UPDATE {quote(spec.name)} SET "Name" = ? || printf('%0{digits}d', rowid) || ? WHERE "Id" = ?""",
            [(before, after, r.record_id) for r in creates],
        )
    if spec.person_name and (creates or updates):
        # Contact.Name and Lead.Name are computed by Salesforce from the name parts; do the same.
        conn.executemany(
            f'UPDATE {quote(spec.name)} SET "Name" = '
            """TRIM(COALESCE("FirstName", '') || ' ' || COALESCE("LastName", '')) WHERE "Id" = ?""",
            [(r.record_id,) for r in (*creates, *updates)],
        )
