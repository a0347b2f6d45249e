"""RFC 9457 problem details: every error the service answers names the field and the rule.

`type` is a URN per kind of problem, `errors` lists `{field, rule}` pairs (our extension member), and
nothing from the request body is echoed back.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from models.logsafe import loggable
from models.problems import Problem
from webhooks.redact import redacted_path

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("ignite.web")


class FieldError(BaseModel):
    field: str
    rule: str


class ProblemDocument(BaseModel):
    """The documented shape of every error answer (RFC 9457)."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldError] = []


def problem(
    status: int,
    slug: str,
    title: str,
    detail: str,
    *,
    errors: Sequence[Problem | Mapping[str, str]] = (),
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    items = [{"field": e.field, "rule": e.rule} if isinstance(e, Problem) else dict(e) for e in errors]
    body: dict[str, Any] = {"type": f"urn:ignite-sync:problem:{slug}", "title": title, "status": status}
    body["detail"] = detail
    if items:
        body["errors"] = items
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=dict(headers or {}))


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries documenting problem+json answers."""
    schema = {"$ref": "#/components/schemas/ProblemDocument"}
    return {
        s: {"description": "problem details (RFC 9457)", "content": {PROBLEM_JSON: {"schema": schema}}}
        for s in statuses
    }


def install_problem_handlers(app: FastAPI) -> None:
    """FastAPI's own errors (bad path parameter, 404, 405, unexpected exceptions) as problem+json too."""

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = []
        for item in exc.errors():
            loc = [str(p) for p in item.get("loc", ())]
            errors.append({"field": ".".join(loc) or "(request)", "rule": str(item.get("msg", "invalid"))})
        return problem(422, "invalid-request", "Invalid request", "the request does not match the API", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else "see the status code"
        slug = {404: "not-found", 405: "method-not-allowed", 401: "unauthorized"}.get(exc.status_code, "http-error")
        return problem(exc.status_code, slug, detail, detail, headers=exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error(
            "unexpected error on %s %s: %s",
            loggable(request.method),
            loggable(redacted_path(request.url.path)),
            type(exc).__name__,
        )
        return problem(500, "internal", "Internal error", "the service failed; the error is logged without the body")
