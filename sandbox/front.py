"""The gate every sandbox request passes before a route: limit header and quota, session check, faults.

Salesforce does these for every REST call, whatever the resource, so they are ASGI middleware rather than code
in each route; `endpoint_of` names a request the way fault rules (`sandbox.faults`) spell endpoints.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from sandbox.faults import Fault
from sandbox.responses import sf_error
from sandbox.state import DATA_PREFIX, SandboxState

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


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
    """The row-level fault (`lock_rows`, `bulk_failed`) the front picked for this request, for a route to apply."""
    fault = getattr(request.state, "fault", None)
    return fault if isinstance(fault, Fault) else None
