"""POST /api/v1/import/{kind}: the `ignite-sync import` use case over HTTP, for systems that push program data.

Same readers, same validation, same per-row report as the CLI (`ingest.import_and_queue_sync`), so a row rejected here
is rejected there with the same words.  Good rows are stored and, in the same transaction, an incremental
sync is queued; bad rows come back as `{record, field, rule}` problems.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy import Engine

from ingest import import_and_queue_sync
from ingest.columns import WrongHeader
from ingest.importer import IMPORTABLE, ImportReport, columns_check
from ingest.reader import UnreadableFile, decode_utf8, read_text
from webhooks.metrics import IntakeMetrics
from webhooks.problems import problem, problem_responses
from webhooks.request_body import BodyTooLarge, media_type, read_limited

CSV_TYPES = ("text/csv", "application/csv")
JSON_TYPES = ("application/json",)


class RowProblem(BaseModel):
    record: str
    field: str
    rule: str


class ImportSummary(BaseModel):
    kind: str
    dry_run: bool
    rows: int
    accepted: int
    rejected: int
    inserted: int
    updated: int
    unchanged: int
    problems: list[RowProblem]


def ingest_router(
    *,
    engine: Engine,
    require_api_key: Callable[..., Awaitable[str]],
    metrics: IntakeMetrics,
    profile: str,
    max_body_bytes: int = 10 * 1024 * 1024,
) -> APIRouter:
    """`profile` names the sync the imports queue, so a job queued here and one queued by `ignite-sync import`
    coalesce into one (they did not while only the CLI named it)."""
    router = APIRouter(tags=["ingest"])
    # A default value, not an Annotated[...] hint: string annotations cannot see this closure's variable.
    authenticated = Depends(require_api_key)

    def run(kind: str, text: str, media: str, dry_run: bool, caller: str) -> ImportReport:
        return import_and_queue_sync(
            engine,
            kind,
            read_text(text, f"{kind}-upload", media, columns_check(kind)),
            profile=profile,
            reason=f"ingest API: {kind} from key {caller}",
            dry_run=dry_run,
        )

    @router.post(
        "/api/v1/import/{kind}",
        response_model=ImportSummary,
        summary="Import program data (JSON array or CSV)",
        description=(
            f'Kinds: {", ".join(IMPORTABLE)}. The body is a JSON array of objects (or `{{"data": [...]}}`) or a '
            "CSV file with the model's field names as headers (a header with unknown or missing columns is one 400 "
            "`wrong-header` problem naming each, before any row is read). Valid rows are stored (and a sync "
            "queued); every invalid row is reported with its location, field and rule. The answer is 200 "
            "whenever the body "
            "could be read, with `rejected` > 0 when some rows were refused."
        ),
        responses=problem_responses(400, 401, 404, 413, 415),
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
                    "text/csv": {"schema": {"type": "string"}},
                },
            }
        },
    )
    async def import_kind(
        kind: str,
        request: Request,
        dry_run: Annotated[bool, Query(description="Validate and report; write nothing.")] = False,
        caller: str = authenticated,
    ) -> Response:
        if kind not in IMPORTABLE:
            return problem(
                404,
                "unknown-kind",
                "Unknown import kind",
                f"choose one of: {', '.join(IMPORTABLE)}",
                errors=[{"field": "kind", "rule": f"must be one of {', '.join(IMPORTABLE)}"}],
            )
        media = media_type(request)
        if media not in CSV_TYPES + JSON_TYPES:
            return problem(
                415,
                "unsupported-media-type",
                "Unsupported content type",
                "send application/json or text/csv",
                errors=[{"field": "Content-Type", "rule": "must be application/json or text/csv"}],
            )
        try:
            body = await read_limited(request, max_body_bytes)
        except BodyTooLarge:
            return problem(
                413, "too-large", "Body too large", f"imports are at most {max_body_bytes} bytes per request"
            )
        try:
            # Bad bytes, a column named twice or a cell over the csv field limit make the whole body unreadable
            # (400, naming the line); NUL and other control characters reject just their row (in the report).
            text = decode_utf8(body, f"{kind}-upload")
            report = await to_thread.run_sync(run, kind, text, media, dry_run, caller)
        except WrongHeader as exc:
            # One answer for the header, naming each unknown or missing column, instead of one per row.
            return problem(400, "wrong-header", "Wrong CSV header", str(exc), errors=exc.errors())
        except UnreadableFile as exc:
            return problem(
                400, "unreadable", "Unreadable body", str(exc), errors=[{"field": "(body)", "rule": str(exc)}]
            )
        summary: dict[str, Any] = report.as_dict()
        metrics.imports.labels(kind=kind, outcome="accepted").inc(report.accepted)
        metrics.imports.labels(kind=kind, outcome="rejected").inc(report.rejected)
        return JSONResponse(summary)

    return router
