"""`sobjects`: describe, and one record at a time (create, get, update, delete, upsert and get by external ID).

These are the calls with the most particular status codes (201 created, 204 no content, 300 for an external
ID that matches several records, 404 for a missing or deleted one), which clients branch on.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from connector.reader import query_all
from connector.soql import soql_quote
from sandbox.responses import MULTIPLE_MATCH_CODES, NOT_FOUND_CODES, rest_error, sf_error, with_attributes
from sandbox.state import DATA, SandboxState


def sobjects_router(state: SandboxState) -> APIRouter:
    router = APIRouter()
    base = DATA + "/sobjects/{object_name}"

    # Registered before `{record_id}` below, so `describe` is never read as a record id.
    @router.get(base + "/describe")
    @router.get(base + "/describe/")
    def describe(version: str, object_name: str) -> JSONResponse:
        with state.locked() as crm:
            return JSONResponse(crm.describe(object_name))

    @router.post(base)
    @router.post(base + "/")
    async def create_one(version: str, object_name: str, request: Request) -> JSONResponse:
        record = dict(await request.json())
        with state.locked() as crm:
            [result] = crm.create(object_name, [record])
        if not result.success:
            return JSONResponse([rest_error(result)], status_code=400)
        return JSONResponse({"id": result.id, "success": True, "errors": []}, status_code=201)

    @router.get(base + "/{record_id}")
    def get_one(version: str, object_name: str, record_id: str, fields: str | None = None) -> JSONResponse:
        names = [f for f in (fields or "").split(",") if f] or None
        with state.locked() as crm:
            found = crm.get(object_name, record_id, names)
        if found is None:
            return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
        return JSONResponse(with_attributes(version, object_name, found))

    @router.patch(base + "/{record_id}")
    async def update_one(version: str, object_name: str, record_id: str, request: Request) -> Response:
        record = dict(await request.json())
        with state.locked() as crm:
            [result] = crm.update(object_name, [{**record, "Id": record_id}])
        if not result.success:
            status = 404 if result.error_code in NOT_FOUND_CODES else 400
            return JSONResponse([rest_error(result)], status_code=status)
        return Response(status_code=204)

    @router.delete(base + "/{record_id}")
    def delete_one(version: str, object_name: str, record_id: str) -> Response:
        with state.locked() as crm:
            [result] = crm.delete(object_name, [record_id])
        if not result.success:
            status = 404 if result.error_code in NOT_FOUND_CODES else 400
            return JSONResponse([rest_error(result)], status_code=status)
        return Response(status_code=204)

    @router.patch(base + "/{field_name}/{value:path}")
    async def upsert_one(version: str, object_name: str, field_name: str, value: str, request: Request) -> Response:
        record = dict(await request.json())
        with state.locked() as crm:
            [result] = crm.upsert(object_name, field_name, [{**record, field_name: value}])
        if not result.success:
            if result.error_code in MULTIPLE_MATCH_CODES:
                urls = [f"/services/data/{version}/sobjects/{object_name}/{i}" for i in result.matched_ids]
                return JSONResponse(urls, status_code=300)
            return JSONResponse([rest_error(result)], status_code=400)
        body: dict[str, Any] = {"id": result.id, "success": True, "errors": [], "created": result.created}
        return JSONResponse(body, status_code=201 if result.created else 200)

    @router.get(base + "/{field_name}/{value:path}")
    def get_by_external_id(version: str, object_name: str, field_name: str, value: str) -> JSONResponse:
        soql = f"SELECT Id FROM {object_name} WHERE {field_name} = {soql_quote(value)}"
        with state.locked() as crm:
            ids = [r["Id"] for r in query_all(crm, soql)]
            if not ids:
                return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
            if len(ids) > 1:
                urls = [f"/services/data/{version}/sobjects/{object_name}/{i}" for i in ids]
                return JSONResponse(urls, status_code=300)
            found = crm.get(object_name, ids[0])
        return JSONResponse(with_attributes(version, object_name, found or {}))

    return router
