"""Salesforce's answer shapes, shared by every route module: error lists, save results, record `attributes`.

Salesforce answers a failed REST call with a JSON *list* of `{message, errorCode[, fields]}` and a row of a
collection with `{id, success, errors: [{statusCode, message, fields}]}`; clients parse those shapes, so they
are built in one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi.responses import JSONResponse, Response

from connector.base import CrmError, RowResult

# Row codes that a single-record REST call answers with a status other than 400.
NOT_FOUND_CODES = frozenset({"NOT_FOUND", "ENTITY_IS_DELETED"})
MULTIPLE_MATCH_CODES = frozenset({"MULTIPLE_RECORDS", "DUPLICATE_EXTERNAL_ID", "MULTIPLE_CHOICES"})


class CrmError400(Exception):
    """Raised from deep inside a handler to answer with `response` (the app's exception handler sends it)."""

    def __init__(self, response: Response) -> None:
        super().__init__("request rejected")
        self.response = response


def sf_error(status: int, code: str, message: str, fields: list[str] | None = None) -> JSONResponse:
    item: dict[str, Any] = {"message": message, "errorCode": code}
    if fields is not None:
        item["fields"] = fields
    return JSONResponse([item], status_code=status)


def crm_failure(exc: CrmError) -> JSONResponse:
    status = exc.status or (404 if exc.code in NOT_FOUND_CODES else 400)
    return sf_error(status, exc.code or "UNKNOWN_EXCEPTION", str(exc))


def error_item(result: RowResult) -> dict[str, Any]:
    item: dict[str, Any] = {
        "statusCode": result.error_code or "UNKNOWN_EXCEPTION",
        "message": result.message or "",
        "fields": list(result.fields),
    }
    if result.matched_ids:
        item["duplicateResult"] = {
            "allowSave": False,
            "duplicateRule": "Sandbox_Duplicate_Rule",
            "errorMessage": result.message or "Use one of these records?",
            "matchResults": [
                {
                    "entityType": "",
                    "matchRecords": [{"record": {"Id": i}, "matchConfidence": 100.0} for i in result.matched_ids],
                    "size": len(result.matched_ids),
                    "success": True,
                }
            ],
        }
    return item


def rest_error(result: RowResult) -> dict[str, Any]:
    """A failed row as a single-record REST call reports it (`errorCode`, not a collection's `statusCode`)."""
    item = error_item(result)
    item["errorCode"] = item.pop("statusCode")
    return item


def save_result(result: RowResult, *, upsert: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": result.id if result.success else None,
        "success": result.success,
        "errors": [] if result.success else [error_item(result)],
    }
    if upsert:
        body["created"] = result.created if result.success else False
    return body


def with_attributes(version: str, object_name: str, record: Mapping[str, Any]) -> dict[str, Any]:
    url = f"/services/data/{version}/sobjects/{object_name}/{record.get('Id', '')}"
    return {"attributes": {"type": object_name, "url": url}, **record}


def strip_attributes(record: Mapping[str, Any]) -> tuple[str | None, dict[str, Any]]:
    attributes = record.get("attributes") or {}
    return attributes.get("type"), {k: v for k, v in record.items() if k != "attributes"}
