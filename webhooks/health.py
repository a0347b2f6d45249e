"""Liveness, readiness and metrics: what an orchestrator and a Prometheus scraper ask of the service."""

from __future__ import annotations

from anyio import to_thread
from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import Engine, text

from store.database import is_current
from webhooks.metrics import IntakeMetrics
from webhooks.problems import problem, problem_responses


def health_router(*, engine: Engine, metrics: IntakeMetrics) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz", summary="The process is up")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    def check_ready() -> str | None:
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as exc:
            return f"the service database is unreachable ({type(exc).__name__})"
        if not is_current(engine):
            return "the service database has pending migrations (run `ignite-sync db upgrade`)"
        return None

    @router.get(
        "/readyz",
        summary="The database is reachable and its schema current",
        responses=problem_responses(503),
    )
    async def readyz() -> Response:
        reason = await to_thread.run_sync(check_ready)
        if reason is not None:
            return problem(503, "not-ready", "Not ready", reason)
        return JSONResponse({"status": "ready"})

    @router.get(
        "/metrics",
        summary="Prometheus metrics",
        response_class=Response,
        responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text exposition format"}},
    )
    async def prometheus_metrics() -> Response:
        payload = await to_thread.run_sync(generate_latest, metrics.registry)
        return Response(payload, media_type=CONTENT_TYPE_LATEST)

    return router
