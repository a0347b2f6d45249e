"""POST /api/v1/forget: `ignite-sync forget` over HTTP, for an administrator's API key only (issue 18).

The service-database part runs in the request (the person's data has left the database when the answer goes
out); the CRM part is the durable `erasure` job a worker runs, so the answer is 202 while it waits and 200
when nothing is left to do (`keep`, nothing in the CRM, or a dry run).  The answer lists counts and CRM Ids,
never a value of the person.  An import key is refused with 403 and the reason.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Literal

from anyio import to_thread
from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from store.api_keys import ADMIN_ROLE, ApiKeyRepository
from store.erasure import erasure_key_is_set, subject_of
from sync.erasure import ForgetOutcome, forget
from webhooks.problems import problem, problem_responses


class ForgetRequest(BaseModel):
    subject: str = Field(min_length=1, max_length=400, description="The person's email or participant key.")
    crm: Literal["delete", "anonymise", "keep"] = "delete"
    dry_run: bool = False


def forget_router(
    *, engine: Engine, require_api_key: Callable[..., Awaitable[str]], profile: str, production: bool = False
) -> APIRouter:
    router = APIRouter(tags=["ingest"])
    authenticated = Depends(require_api_key)

    def role_of(name: str) -> str | None:
        with engine.connect() as connection:
            return ApiKeyRepository(connection).role_of(name)

    @router.post(
        "/api/v1/forget",
        summary="Erase one person (administrator key)",
        description=(
            "Removes the person from the service database now and queues the CRM part by the chosen policy "
            "(`delete`, `anonymise` or `keep`); `dry_run` lists what would change. 202 while CRM work waits in "
            "the queue, 200 when done. The answer holds counts and CRM Ids, never the person's values."
        ),
        responses=problem_responses(400, 401, 403, 503),
    )
    async def forget_person(body: ForgetRequest, caller: str = authenticated) -> Response:
        if await to_thread.run_sync(role_of, caller) != ADMIN_ROLE:
            return problem(
                403,
                "forbidden",
                "Administrator key required",
                f"API key {caller!r} is an import key; erasing a person needs an administrator's key "
                "(`ignite-sync api-key create NAME --admin`)",
            )
        if production and not erasure_key_is_set():
            return problem(503, "not-configured", "Erasure key missing", "IGNITE_ERASURE_KEY must be set in production")
        try:
            who = subject_of(body.subject)
        except ValueError as exc:
            return problem(
                400,
                "bad-subject",
                "Not an email or participant key",
                str(exc),
                errors=[{"field": "subject", "rule": str(exc)}],
            )

        def run() -> ForgetOutcome:
            return forget(
                engine, who, policy=body.crm, requested_by=f"api-key:{caller}", profile=profile, dry_run=body.dry_run
            )

        outcome = await to_thread.run_sync(run)
        return JSONResponse(outcome.as_dict(), status_code=202 if outcome.crm_queued else 200)

    return router
