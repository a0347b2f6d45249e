"""`composite/sobjects`: sObject Collections create, update, upsert and delete, up to 200 rows a call.

The sync's batch writes go through here, so this is where row-level faults (`lock_rows`) land and where
`allOrNone` is honoured both ways: with it false each row succeeds or fails alone; with it true one failure
rolls the whole call back (`_Undo`) and every row reports ALL_OR_NONE_OPERATION_ROLLED_BACK or its own error.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from connector.base import CrmConnector, CrmError, RowResult
from connector.reader import query_all
from connector.soql import soql_quote
from sandbox.front import fault_of
from sandbox.responses import CrmError400, save_result, sf_error, strip_attributes
from sandbox.state import DATA, SandboxState, object_of_id

MAX_ROWS = 200
ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": "Record rolled back because not all records were valid and the request was using AllOrNone header",
    "fields": [],
}
Run = Callable[[CrmConnector, list[dict[str, Any]]], list[RowResult]]


def collections_router(state: SandboxState) -> APIRouter:
    router = APIRouter()
    base = DATA + "/composite/sobjects"

    def collection(
        request: Request,
        records: list[dict[str, Any]],
        all_or_none: bool,
        run: Run,
        *,
        upsert: bool,
        upsert_key: tuple[str, str] | None = None,
    ) -> JSONResponse:
        if len(records) > MAX_ROWS:
            return sf_error(400, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 records")
        fault = fault_of(request)
        locked = state.faults.locked_rows(fault, len(records)) if fault and fault.kind == "lock_rows" else set()
        results: list[RowResult | None] = [None] * len(records)
        for i in locked:
            results[i] = RowResult(
                False, error_code="UNABLE_TO_LOCK_ROW", message="unable to obtain exclusive access to this record"
            )
        todo = [i for i in range(len(records)) if i not in locked]
        if all_or_none and locked:
            todo = []
        with state.locked() as crm:
            if todo:
                rows = [records[i] for i in todo]
                undo = _Undo(crm, rows, upsert_key) if all_or_none else None
                done = run(crm, rows)
                if undo is not None and not all(r.success for r in done):
                    undo.apply(done)
                for i, result in zip(todo, done, strict=True):
                    results[i] = result
        failed = any(r is not None and not r.success for r in results)
        body: list[dict[str, Any]] = []
        for row in results:
            if all_or_none and failed and (row is None or row.success):
                body.append(
                    {"id": None, "success": False, "errors": [ROLLED_BACK]} | ({"created": False} if upsert else {})
                )
            else:
                body.append(save_result(row or RowResult(False, error_code="UNKNOWN_EXCEPTION"), upsert=upsert))
        return JSONResponse(body)

    @router.post(base)
    async def collections_create(version: str, request: Request) -> JSONResponse:
        all_or_none, records = _records_body(await request.json())

        def run(crm: CrmConnector, rows: list[dict[str, Any]]) -> list[RowResult]:
            return _by_type(rows, lambda t, part: crm.create(t, part))

        return collection(request, records, all_or_none, run, upsert=False)

    @router.patch(base)
    async def collections_update(version: str, request: Request) -> JSONResponse:
        all_or_none, records = _records_body(await request.json())

        def run(crm: CrmConnector, rows: list[dict[str, Any]]) -> list[RowResult]:
            def update(t: str, part: list[dict[str, Any]]) -> list[RowResult]:
                records = []
                for r in part:
                    record = {k: v for k, v in r.items() if k not in ("id", "Id")}
                    record_id = r.get("id", r.get("Id"))
                    records.append(record if record_id is None else {**record, "Id": record_id})
                return crm.update(t, records)

            return _by_type(rows, update)

        return collection(request, records, all_or_none, run, upsert=False)

    @router.patch(base + "/{object_name}/{field_name}")
    async def collections_upsert(version: str, object_name: str, field_name: str, request: Request) -> JSONResponse:
        all_or_none, records = _records_body(await request.json())
        rows = [strip_attributes(r)[1] for r in records]

        def run(crm: CrmConnector, part: list[dict[str, Any]]) -> list[RowResult]:
            return crm.upsert(object_name, field_name, [strip_attributes(r)[1] for r in part])

        rows = [{"attributes": {"type": object_name}, **r} for r in rows]
        return collection(request, rows, all_or_none, run, upsert=True, upsert_key=(object_name, field_name))

    @router.delete(base)
    def collections_delete(version: str, request: Request, ids: str = "", allOrNone: str = "false") -> JSONResponse:
        id_list = [i for i in ids.split(",") if i]
        if not id_list:
            return sf_error(400, "MISSING_ARGUMENT", "ids parameter is required")
        all_or_none = allOrNone.lower() == "true"
        records = [{"id": i} for i in id_list]

        def run(crm: CrmConnector, part: list[dict[str, Any]]) -> list[RowResult]:
            results: list[RowResult] = []
            for r in part:
                object_name = object_of_id(crm, r["id"])
                if object_name is None:
                    results.append(RowResult(False, error_code="MALFORMED_ID", message=f"malformed id {r['id']}"))
                else:
                    results.extend(crm.delete(object_name, [r["id"]]))
            return results

        return collection(request, records, all_or_none, run, upsert=False)

    return router


def _records_body(body: Any) -> tuple[bool, list[dict[str, Any]]]:
    if not isinstance(body, Mapping) or not isinstance(body.get("records"), list):
        raise CrmError400(sf_error(400, "JSON_PARSER_ERROR", 'expected {"allOrNone": bool, "records": [...]}'))
    return bool(body.get("allOrNone", False)), [dict(r) for r in body["records"]]


class _Undo:
    """allOrNone=true over a CRM without cross-call transactions: snapshot what the rows will touch, and if any
    row fails, delete what was created and put back what was updated, so the call leaves no trace."""

    def __init__(self, crm: CrmConnector, rows: list[dict[str, Any]], upsert_key: tuple[str, str] | None) -> None:
        self.crm = crm
        self.before: dict[str, tuple[str, dict[str, Any]]] = {}
        for row in rows:
            object_name, record = strip_attributes(row)
            if not object_name:
                continue
            fields = _plain_fields(crm, object_name, record)
            record_id = record.get("Id") or record.get("id")
            if record_id is None and upsert_key is not None and record.get(upsert_key[1]) is not None:
                soql = f"SELECT Id FROM {object_name} WHERE {upsert_key[1]} = {_key_literal(record[upsert_key[1]])}"
                found = [r["Id"] for r in query_all(crm, soql)]
                record_id = found[0] if len(found) == 1 else None
            if record_id is not None and fields:
                with contextlib.suppress(CrmError):
                    snapshot = crm.get(object_name, str(record_id), fields)
                    if snapshot is not None:
                        self.before[str(snapshot.get("Id", record_id))] = (object_name, snapshot)
        self.types = [strip_attributes(r)[0] or "" for r in rows]

    def apply(self, done: list[RowResult]) -> None:
        for object_name, result in zip(self.types, done, strict=True):
            if not result.success or result.id is None:
                continue
            if result.created:
                self.crm.delete(object_name, [result.id])
            else:
                kept = self.before.get(result.id)
                if kept is not None:
                    self.crm.update(kept[0], [{**kept[1], "Id": result.id}])


def _key_literal(value: Any) -> str:
    """An external-ID value as a SOQL literal: text through the project's quoter, a Number external ID as is."""
    return soql_quote(value) if isinstance(value, str) else str(value)


def _plain_fields(crm: CrmConnector, object_name: str, record: Mapping[str, Any]) -> list[str]:
    """The stored fields a write of `record` changes (a relationship reference changes its lookup field)."""
    describe = crm.describe(object_name)
    by_relationship = {
        f.get("relationshipName"): f["name"] for f in describe.get("fields", []) if f.get("relationshipName")
    }
    writable = {f["name"] for f in describe.get("fields", []) if f.get("updateable")}
    names = []
    for key in record:
        name = by_relationship.get(key, key)
        if name in writable:
            names.append(name)
    return names


def _by_type(
    rows: list[dict[str, Any]], run: Callable[[str, list[dict[str, Any]]], list[RowResult]]
) -> list[RowResult]:
    """Collections may mix object types; send consecutive runs of one type together, keep the order."""
    results: list[RowResult] = []
    start = 0
    while start < len(rows):
        object_type, _ = strip_attributes(rows[start])
        end = start
        part: list[dict[str, Any]] = []
        while end < len(rows) and strip_attributes(rows[end])[0] == object_type:
            part.append(strip_attributes(rows[end])[1])
            end += 1
        if not object_type:
            results.extend(
                RowResult(False, error_code="INVALID_TYPE", message="each record needs attributes.type") for _ in part
            )
        else:
            results.extend(run(object_type, part))
        start = end
    return results
