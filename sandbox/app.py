"""A Salesforce-REST-compatible server over any CrmConnector (in practice the embedded LocalCrm).

It speaks what ignite-sync and simple-salesforce use, with Salesforce's status codes and JSON error shapes:
SOAP login, `sobjects` (describe, create, get, update, delete, upsert by external ID with 201/200/300),
`composite/sobjects` collections (create, update, upsert, delete; `allOrNone` both ways), `query` and
`queryAll` with `nextRecordsUrl` paging, Bulk API 2.0 ingest (`bulk.py`), and `limits`.  Every response
carries `Sforce-Limit-Info`, counted against a configurable daily allocation, and faults are injected by
`faults.FaultPlan` before a request reaches the CRM.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from connector.base import CrmConnector, CrmError, RowResult
from sandbox.bulk import BulkJobs
from sandbox.faults import Fault, FaultPlan

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

DATA_PREFIX = "/services/data/"
ORG_ID = "00D000000000001AAA"
USER_ID = "005000000000001AAA"
# Row codes that a single-record REST call answers with a status other than 400.
NOT_FOUND_CODES = frozenset({"NOT_FOUND", "ENTITY_IS_DELETED"})
MULTIPLE_MATCH_CODES = frozenset({"MULTIPLE_RECORDS", "DUPLICATE_EXTERNAL_ID", "MULTIPLE_CHOICES"})
ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": "Record rolled back because not all records were valid and the request was using AllOrNone header",
    "fields": [],
}


@dataclass
class SandboxConfig:
    username: str = "sandbox@ignite.example"
    password: str = "sandbox-password"  # noqa: S105 - a loopback test org's documented credential
    security_token: str = "TOKEN"  # noqa: S105
    session_id: str | None = None  # a fixed session id to accept (the CLI prints it for IGNITE_SF_SESSION_ID)
    daily_limit: int = 100_000
    page_size: int = 2000
    slow_seconds: float = 3.0
    bulk_chunk: int = 1000


def sf_error(status: int, code: str, message: str, fields: list[str] | None = None) -> JSONResponse:
    item: dict[str, Any] = {"message": message, "errorCode": code}
    if fields is not None:
        item["fields"] = fields
    return JSONResponse([item], status_code=status)


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


def save_result(result: RowResult, *, upsert: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": result.id if result.success else None,
        "success": result.success,
        "errors": [] if result.success else [error_item(result)],
    }
    if upsert:
        body["created"] = result.created if result.success else False
    return body


class CrmError400(Exception):
    def __init__(self, response: Response) -> None:
        super().__init__("request rejected")
        self.response = response


@dataclass
class Cursor:
    records: list[dict[str, Any]]
    total: int


@dataclass
class SandboxState:
    crm: CrmConnector
    config: SandboxConfig
    faults: FaultPlan = field(default_factory=FaultPlan)
    used: int = 0

    def __post_init__(self) -> None:
        self.crm_lock = threading.RLock()
        self.sessions: set[str] = set()
        self.logins = 0  # sessions issued: what Salesforce counts against a user's hourly login allowance
        if self.config.session_id:
            self.sessions.add(self.config.session_id)
        self.cursors: OrderedDict[str, Cursor] = OrderedDict()
        self.bulk = BulkJobs(self)
        self._usage_lock = threading.Lock()

    # -- quota ---------------------------------------------------------------------------------------------

    def count_call(self) -> int:
        with self._usage_lock:
            self.used += 1
            return self.used

    def limit_header(self) -> str:
        return f"api-usage={min(self.used, self.config.daily_limit)}/{self.config.daily_limit}"

    # -- sessions ------------------------------------------------------------------------------------------

    def new_session(self) -> str:
        sid = f"{ORG_ID[:15]}!{secrets.token_urlsafe(32)}"
        with self._usage_lock:
            self.logins += 1
        self.sessions.add(sid)
        return sid

    # -- CRM access ----------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def locked(self) -> Iterator[CrmConnector]:
        """One request at a time touches the CRM: it is a SQLite file, and Salesforce serialises locks anyway."""
        with self.crm_lock:
            yield self.crm

    def type_of(self, object_name: str) -> dict[str, str]:
        with self.locked() as crm:
            describe = crm.describe(object_name)
        return {f["name"]: f.get("type", "string") for f in describe.get("fields", [])}


def endpoint_of(method: str, path: str) -> str | None:
    """The fault-injection name of a request, or None for paths outside the Salesforce API."""
    if path.startswith("/services/Soap/") or path.startswith("/services/oauth2/"):
        return "login"
    if not path.startswith(DATA_PREFIX):
        return None
    parts = [p for p in path[len(DATA_PREFIX) :].split("/") if p]
    rest = parts[1:]
    if not rest:
        return "versions"
    head = rest[0]
    if head == "limits":
        return "limits"
    if head in ("query", "queryAll"):
        return "query"
    if head == "composite" and len(rest) >= 2 and rest[1] == "sobjects":
        if len(rest) >= 4:
            return "collections.upsert"
        return {"POST": "collections.create", "PATCH": "collections.update", "DELETE": "collections.delete"}.get(
            method, "collections"
        )
    if head == "jobs" and len(rest) >= 2 and rest[1] == "ingest":
        if len(rest) == 2:
            return "bulk.create"
        if len(rest) == 3:
            return {"PATCH": "bulk.close", "GET": "bulk.poll", "DELETE": "bulk.delete"}.get(method, "bulk")
        return "bulk.upload" if rest[3] == "batches" else "bulk.results"
    if head == "sobjects":
        if len(rest) >= 3 and rest[2] == "describe":
            return "describe"
        if len(rest) == 2:
            return "sobject.create"
        if len(rest) >= 4:
            return "sobject.upsert" if method == "PATCH" else "sobject.get"
        return {"GET": "sobject.get", "PATCH": "sobject.update", "DELETE": "sobject.delete"}.get(method, "sobject")
    return head


class SalesforceFront:
    """ASGI middleware: limit header and quota, bearer-session check, and fault injection, in that order."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]], state: SandboxState) -> None:
        self.app = app
        self.state = state  # also how tests and the CLI reach the sandbox's state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        endpoint = endpoint_of(scope["method"], scope["path"])
        if endpoint is None:
            await self.app(scope, receive, send)
            return
        state = self.state
        if endpoint not in ("login", "versions"):
            state.count_call()

        async def send_with_limits(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"sforce-limit-info", state.limit_header().encode()))
                message = {**message, "headers": headers}
            await send(message)

        if endpoint not in ("login", "versions"):
            if state.used > state.config.daily_limit:
                response = sf_error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
                await response(scope, receive, send_with_limits)
                return
            token = _bearer(scope)
            if token is None or token not in state.sessions:
                response = sf_error(401, "INVALID_SESSION_ID", "Session expired or invalid")
                await response(scope, receive, send_with_limits)
                return
        fault = state.faults.pick(endpoint)
        if fault is not None:
            scope.setdefault("state", {})["fault"] = fault
            handled = await self._inject(fault, scope, receive, send_with_limits)
            if handled:
                return
        await self.app(scope, receive, send_with_limits)

    async def _inject(self, fault: Fault, scope: Scope, receive: Receive, send: Send) -> bool:
        """Answer the request with the fault, or return False to let it through (row-level and slow faults)."""
        kind = fault.kind
        response: Response
        if kind == "500":
            response = sf_error(500, "UNKNOWN_EXCEPTION", "An unexpected error occurred. Please include this ErrorId")
        elif kind == "503":
            response = sf_error(503, "SERVER_UNAVAILABLE", "Server is unavailable; try again later")
        elif kind == "lock":
            response = sf_error(400, "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record", [])
        elif kind == "limit":
            response = sf_error(403, "REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded.")
        elif kind == "session":
            token = _bearer(scope)
            if token is not None:
                self.state.sessions.discard(token)
            response = sf_error(401, "INVALID_SESSION_ID", "Session expired or invalid")
        elif kind == "reset":
            # Start a response, send part of it, and drop the connection: the client sees a broken read.
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"4096")]})
            await send({"type": "http.response.body", "body": b'[{"id":', "more_body": True})
            return True
        elif kind == "slow":
            await self._slow(scope, receive, send)
            return True
        else:  # lock_rows, bulk_failed: the handlers read scope["state"]["fault"]
            return False
        await response(scope, receive, send)
        return True

    async def _slow(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Do the work, then hold the answer past the client's timeout (the write happened; the client can't know)."""
        held: list[Message] = []

        async def hold(message: Message) -> None:
            held.append(message)

        await self.app(scope, receive, hold)
        await asyncio.sleep(self.state.config.slow_seconds)
        with contextlib.suppress(Exception):
            for message in held:
                await send(message)


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            text = str(value.decode("latin-1"))
            if text.lower().startswith(("bearer ", "oauth ")):
                return text.split(" ", 1)[1].strip()
    return None


def fault_of(request: Request) -> Fault | None:
    fault = getattr(request.state, "fault", None)
    return fault if isinstance(fault, Fault) else None


def _crm_failure(exc: CrmError) -> JSONResponse:
    status = exc.status or (404 if exc.code in NOT_FOUND_CODES else 400)
    return sf_error(status, exc.code or "UNKNOWN_EXCEPTION", str(exc))


def _records_body(body: Any) -> tuple[bool, list[dict[str, Any]]]:
    if not isinstance(body, Mapping) or not isinstance(body.get("records"), list):
        raise CrmError400(sf_error(400, "JSON_PARSER_ERROR", 'expected {"allOrNone": bool, "records": [...]}'))
    return bool(body.get("allOrNone", False)), [dict(r) for r in body["records"]]


def _strip_attributes(record: Mapping[str, Any]) -> tuple[str | None, dict[str, Any]]:
    attributes = record.get("attributes") or {}
    return attributes.get("type"), {k: v for k, v in record.items() if k != "attributes"}


def create_sandbox_app(crm: CrmConnector, config: SandboxConfig | None = None, faults: FaultPlan | None = None) -> Any:
    """The sandbox as an ASGI app (FastAPI wrapped in `SalesforceFront`); `.state` is the `SandboxState`."""
    state = SandboxState(crm=crm, config=config or SandboxConfig(), faults=faults or FaultPlan())
    api = FastAPI(title="ignite-sync Salesforce sandbox", docs_url=None, redoc_url=None, openapi_url=None)
    data = "/services/data/{version}"

    @api.exception_handler(CrmError)
    async def on_crm_error(request: Request, exc: CrmError) -> JSONResponse:
        return _crm_failure(exc)

    @api.exception_handler(CrmError400)
    async def on_bad_request(request: Request, exc: CrmError400) -> Response:
        return exc.response

    # -- login ---------------------------------------------------------------------------------------------

    @api.post("/services/Soap/u/{version}")
    async def soap_login(version: str, request: Request) -> Response:
        body = (await request.body()).decode("utf-8", errors="replace")
        username = _xml_value(body, "username")
        password = _xml_value(body, "password")
        cfg = state.config
        if username != cfg.username or password != cfg.password + cfg.security_token:
            return _soap_fault("INVALID_LOGIN", "Invalid username, password, security token; or user locked out.")
        sid = state.new_session()
        base = str(request.base_url).rstrip("/")
        return Response(
            _soap_login_response(sid, f"{base}/services/Soap/u/{version}/{ORG_ID}", username),
            200,
            media_type="text/xml",
        )

    # -- describe, limits ----------------------------------------------------------------------------------

    @api.get(data + "/")
    def versions(version: str) -> JSONResponse:
        return JSONResponse({"sobjects": f"/services/data/{version}/sobjects"})

    @api.get(data + "/limits")
    @api.get(data + "/limits/")
    def limits(version: str) -> JSONResponse:
        cfg = state.config
        return JSONResponse(
            {
                "DailyApiRequests": {"Max": cfg.daily_limit, "Remaining": max(0, cfg.daily_limit - state.used)},
                "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
                "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000 - state.bulk.batches},
            }
        )

    @api.get(data + "/sobjects/{object_name}/describe")
    @api.get(data + "/sobjects/{object_name}/describe/")
    def describe(version: str, object_name: str) -> JSONResponse:
        with state.locked() as crm:
            return JSONResponse(crm.describe(object_name))

    # -- single records ------------------------------------------------------------------------------------

    @api.post(data + "/sobjects/{object_name}")
    @api.post(data + "/sobjects/{object_name}/")
    async def create_one(version: str, object_name: str, request: Request) -> JSONResponse:
        record = dict(await request.json())
        with state.locked() as crm:
            [result] = crm.create(object_name, [record])
        if not result.success:
            return JSONResponse([_rest_error(result)], status_code=400)
        return JSONResponse({"id": result.id, "success": True, "errors": []}, status_code=201)

    @api.get(data + "/sobjects/{object_name}/{record_id}")
    def get_one(version: str, object_name: str, record_id: str, fields: str | None = None) -> JSONResponse:
        names = [f for f in (fields or "").split(",") if f] or None
        with state.locked() as crm:
            found = crm.get(object_name, record_id, names)
        if found is None:
            return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
        return JSONResponse(_with_attributes(version, object_name, found))

    @api.patch(data + "/sobjects/{object_name}/{record_id}")
    async def update_one(version: str, object_name: str, record_id: str, request: Request) -> Response:
        record = dict(await request.json())
        with state.locked() as crm:
            [result] = crm.update(object_name, [{**record, "Id": record_id}])
        if not result.success:
            status = 404 if result.error_code in NOT_FOUND_CODES else 400
            return JSONResponse([_rest_error(result)], status_code=status)
        return Response(status_code=204)

    @api.delete(data + "/sobjects/{object_name}/{record_id}")
    def delete_one(version: str, object_name: str, record_id: str) -> Response:
        with state.locked() as crm:
            [result] = crm.delete(object_name, [record_id])
        if not result.success:
            status = 404 if result.error_code in NOT_FOUND_CODES else 400
            return JSONResponse([_rest_error(result)], status_code=status)
        return Response(status_code=204)

    @api.patch(data + "/sobjects/{object_name}/{field_name}/{value:path}")
    async def upsert_one(version: str, object_name: str, field_name: str, value: str, request: Request) -> Response:
        record = dict(await request.json())
        with state.locked() as crm:
            [result] = crm.upsert(object_name, field_name, [{**record, field_name: value}])
        if not result.success:
            if result.error_code in MULTIPLE_MATCH_CODES:
                urls = [f"/services/data/{version}/sobjects/{object_name}/{i}" for i in result.matched_ids]
                return JSONResponse(urls, status_code=300)
            return JSONResponse([_rest_error(result)], status_code=400)
        body: dict[str, Any] = {"id": result.id, "success": True, "errors": [], "created": result.created}
        return JSONResponse(body, status_code=201 if result.created else 200)

    @api.get(data + "/sobjects/{object_name}/{field_name}/{value:path}")
    def get_by_external_id(version: str, object_name: str, field_name: str, value: str) -> JSONResponse:
        from simple_salesforce.format import format_soql

        soql = format_soql(f"SELECT Id FROM {object_name} WHERE {field_name} = {{}}", value)
        with state.locked() as crm:
            ids = [r["Id"] for page in crm.query(soql) for r in page.records]
            if not ids:
                return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
            if len(ids) > 1:
                urls = [f"/services/data/{version}/sobjects/{object_name}/{i}" for i in ids]
                return JSONResponse(urls, status_code=300)
            found = crm.get(object_name, ids[0])
        return JSONResponse(_with_attributes(version, object_name, found or {}))

    # -- sObject Collections -------------------------------------------------------------------------------

    def collection(
        request: Request,
        records: list[dict[str, Any]],
        all_or_none: bool,
        run: Callable[[CrmConnector, list[dict[str, Any]]], list[RowResult]],
        *,
        upsert: bool,
        upsert_key: tuple[str, str] | None = None,
    ) -> JSONResponse:
        if len(records) > 200:
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

    @api.post(data + "/composite/sobjects")
    async def collections_create(version: str, request: Request) -> JSONResponse:
        all_or_none, records = _records_body(await request.json())

        def run(crm: CrmConnector, rows: list[dict[str, Any]]) -> list[RowResult]:
            return _by_type(rows, lambda t, part: crm.create(t, part))

        return collection(request, records, all_or_none, run, upsert=False)

    @api.patch(data + "/composite/sobjects")
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

    @api.patch(data + "/composite/sobjects/{object_name}/{field_name}")
    async def collections_upsert(version: str, object_name: str, field_name: str, request: Request) -> JSONResponse:
        all_or_none, records = _records_body(await request.json())
        rows = [_strip_attributes(r)[1] for r in records]

        def run(crm: CrmConnector, part: list[dict[str, Any]]) -> list[RowResult]:
            return crm.upsert(object_name, field_name, [_strip_attributes(r)[1] for r in part])

        rows = [{"attributes": {"type": object_name}, **r} for r in rows]
        return collection(request, rows, all_or_none, run, upsert=True, upsert_key=(object_name, field_name))

    @api.delete(data + "/composite/sobjects")
    def collections_delete(version: str, request: Request, ids: str = "", allOrNone: str = "false") -> JSONResponse:
        id_list = [i for i in ids.split(",") if i]
        if not id_list:
            return sf_error(400, "MISSING_ARGUMENT", "ids parameter is required")
        all_or_none = allOrNone.lower() == "true"
        records = [{"id": i} for i in id_list]

        def run(crm: CrmConnector, part: list[dict[str, Any]]) -> list[RowResult]:
            results: list[RowResult] = []
            for r in part:
                object_name = _object_of_id(crm, r["id"])
                if object_name is None:
                    results.append(RowResult(False, error_code="MALFORMED_ID", message=f"malformed id {r['id']}"))
                else:
                    results.extend(crm.delete(object_name, [r["id"]]))
            return results

        return collection(request, records, all_or_none, run, upsert=False)

    # -- query ---------------------------------------------------------------------------------------------

    def query_page(version: str, locator: str) -> JSONResponse:
        cursor_id, _, offset_text = locator.rpartition("-")
        cursor = state.cursors.get(cursor_id)
        if cursor is None or not offset_text.isdigit():
            return sf_error(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        offset = int(offset_text)
        size = state.config.page_size
        page = cursor.records[offset : offset + size]
        done = offset + size >= len(cursor.records)
        body: dict[str, Any] = {"totalSize": cursor.total, "done": done, "records": page}
        if done:
            state.cursors.pop(cursor_id, None)
        else:
            body["nextRecordsUrl"] = f"/services/data/{version}/query/{cursor_id}-{offset + size}"
        return JSONResponse(body)

    def run_query(version: str, soql: str, include_deleted: bool) -> JSONResponse:
        match = re.search(r"\bFROM\s+([A-Za-z0-9_]+)", soql, re.IGNORECASE)
        object_name = match.group(1) if match else ""
        with state.locked() as crm:
            pages = list(crm.query(soql, include_deleted=include_deleted))
        records = [_with_attributes(version, object_name, r) for p in pages for r in p.records]
        total = pages[0].total_size if pages else 0
        cursor_id = "01g" + secrets.token_hex(8)
        state.cursors[cursor_id] = Cursor(records, max(total, len(records)) if records else total)
        while len(state.cursors) > 64:
            state.cursors.popitem(last=False)
        return query_page(version, f"{cursor_id}-0")

    @api.get(data + "/query")
    @api.get(data + "/query/")
    def query(version: str, q: str) -> JSONResponse:
        return run_query(version, q, include_deleted=False)

    @api.get(data + "/queryAll")
    @api.get(data + "/queryAll/")
    def query_all(version: str, q: str) -> JSONResponse:
        return run_query(version, q, include_deleted=True)

    @api.get(data + "/query/{locator}")
    @api.get(data + "/queryAll/{locator}")
    def query_more(version: str, locator: str) -> JSONResponse:
        return query_page(version, locator)

    # -- Bulk API 2.0 ingest -------------------------------------------------------------------------------

    state.bulk.add_routes(api, data)

    # -- admin (not Salesforce): faults and usage, for tests and people ------------------------------------

    @api.get("/_sandbox/state")
    def admin_state() -> JSONResponse:
        return JSONResponse(
            {
                "api_usage": {"used": state.used, "limit": state.config.daily_limit},
                "faults": state.faults.as_dict(),
                "bulk_jobs": state.bulk.summary(),
            }
        )

    @api.put("/_sandbox/faults")
    async def admin_faults(request: Request) -> JSONResponse:
        try:
            state.faults = FaultPlan.from_dict(dict(await request.json()))
        except (TypeError, ValueError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse(state.faults.as_dict())

    @api.put("/_sandbox/usage")
    async def admin_usage(request: Request) -> JSONResponse:
        body = dict(await request.json())
        if "used" in body:
            state.used = int(body["used"])
        if "limit" in body:
            state.config.daily_limit = int(body["limit"])
        return JSONResponse({"used": state.used, "limit": state.config.daily_limit})

    app = SalesforceFront(api, state)
    app.state = state
    return app


# -- helpers -----------------------------------------------------------------------------------------------


class _Undo:
    """allOrNone=true over a CRM without cross-call transactions: snapshot what the rows will touch, and if any
    row fails, delete what was created and put back what was updated, so the call leaves no trace."""

    def __init__(self, crm: CrmConnector, rows: list[dict[str, Any]], upsert_key: tuple[str, str] | None) -> None:
        self.crm = crm
        self.before: dict[str, tuple[str, dict[str, Any]]] = {}
        for row in rows:
            object_name, record = _strip_attributes(row)
            if not object_name:
                continue
            fields = _plain_fields(crm, object_name, record)
            record_id = record.get("Id") or record.get("id")
            if record_id is None and upsert_key is not None and record.get(upsert_key[1]) is not None:
                from simple_salesforce.format import format_soql

                soql = format_soql(f"SELECT Id FROM {object_name} WHERE {upsert_key[1]} = {{}}", record[upsert_key[1]])
                found = [r["Id"] for page in crm.query(soql) for r in page.records]
                record_id = found[0] if len(found) == 1 else None
            if record_id is not None and fields:
                with contextlib.suppress(CrmError):
                    snapshot = crm.get(object_name, str(record_id), fields)
                    if snapshot is not None:
                        self.before[str(snapshot.get("Id", record_id))] = (object_name, snapshot)
        self.types = [_strip_attributes(r)[0] or "" for r in rows]

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
        object_type, _ = _strip_attributes(rows[start])
        end = start
        part: list[dict[str, Any]] = []
        while end < len(rows) and _strip_attributes(rows[end])[0] == object_type:
            part.append(_strip_attributes(rows[end])[1])
            end += 1
        if not object_type:
            results.extend(
                RowResult(False, error_code="INVALID_TYPE", message="each record needs attributes.type") for _ in part
            )
        else:
            results.extend(run(object_type, part))
        start = end
    return results


def _object_of_id(crm: CrmConnector, record_id: str) -> str | None:
    """Which object a bare Id belongs to, by its key prefix: the CRM knows (`object_for_id`), or its describes do."""
    finder = getattr(crm, "object_for_id", None)
    if finder is not None:
        found = finder(record_id)
        return None if found is None else str(found)
    names = getattr(crm, "object_names", None)
    for name in names() if names is not None else []:
        if crm.describe(name).get("keyPrefix") == record_id[:3]:
            return str(name)
    return None


def _rest_error(result: RowResult) -> dict[str, Any]:
    item = error_item(result)
    item["errorCode"] = item.pop("statusCode")
    return item


def _with_attributes(version: str, object_name: str, record: Mapping[str, Any]) -> dict[str, Any]:
    url = f"/services/data/{version}/sobjects/{object_name}/{record.get('Id', '')}"
    return {"attributes": {"type": object_name, "url": url}, **record}


def _xml_value(body: str, tag: str) -> str | None:
    match = re.search(rf"<(?:\w+:)?{tag}>(.*?)</(?:\w+:)?{tag}>", body, re.DOTALL)
    return html.unescape(match.group(1)) if match else None


def _soap_fault(code: str, message: str) -> Response:
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
        'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:sf="urn:fault.partner.soap.sforce.com">'
        f"<soapenv:Body><soapenv:Fault><faultcode>sf:{code}</faultcode><faultstring>{code}: {html.escape(message)}"
        f"</faultstring><detail><sf:LoginFault><sf:exceptionCode>{code}</sf:exceptionCode><sf:exceptionMessage>"
        f"{html.escape(message)}</sf:exceptionMessage></sf:LoginFault></detail></soapenv:Fault></soapenv:Body>"
        "</soapenv:Envelope>"
    )
    return Response(xml, 500, media_type="text/xml")


def _soap_login_response(session_id: str, server_url: str, username: str | None) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
        'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="urn:partner.soap.sforce.com">'
        "<soapenv:Body><loginResponse><result>"
        f"<metadataServerUrl>{html.escape(server_url)}</metadataServerUrl><passwordExpired>false</passwordExpired>"
        f"<sandbox>true</sandbox><serverUrl>{html.escape(server_url)}</serverUrl>"
        f"<sessionId>{html.escape(session_id)}</sessionId><userId>{USER_ID}</userId>"
        f"<userInfo><organizationId>{ORG_ID}</organizationId><userName>{html.escape(username or '')}</userName>"
        "</userInfo></result></loginResponse></soapenv:Body></soapenv:Envelope>"
    )
