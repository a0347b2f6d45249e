"""The web service's entry: `create_app()` takes the object graph from the composition root and mounts the routers.

The graph (engine, intake sources, CRM, sync options, job handlers) is built from Settings in `wiring.py`, which
the CLI uses too; this file only assembles the FastAPI app from it.  `ignite-sync serve` runs uvicorn on
`service:create_app` with `factory=True`.

The `ignite-sync` console script is `cli.app:run`; `python service.py …` still runs it, importing the CLI only
then, so a web worker never loads Typer or the export writers.
"""

from __future__ import annotations

import gc
import logging
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from sqlalchemy import Engine

from mappings.profile import load_profile
from settings import Settings, encryption_at_start, encryption_keyring, load_settings
from store.encryption import install_keyring
from store.erasure import install_erasure_key
from webhooks.auth import api_key_dependency
from webhooks.exports_api import get_engine as get_export_engine
from webhooks.exports_api import get_min_cell as get_export_min_cell
from webhooks.exports_api import get_timezone as get_export_timezone
from webhooks.exports_api import router as exports_router
from webhooks.forget_api import forget_router
from webhooks.form_tokens import FormTokens
from webhooks.forms_api import forms_router
from webhooks.health import health_router
from webhooks.ingest_api import ingest_router
from webhooks.intake import IntakeForm, intake_router
from webhooks.metrics import IntakeMetrics, inbox_gauges, job_gauges, sync_gauges
from webhooks.problems import ProblemDocument, install_problem_handlers
from webhooks.redact import RedactTokenPaths
from wiring import Wiring

DOC_SCHEMAS = (IntakeForm, ProblemDocument)
# Young-generation threshold of the cyclic garbage collector while serving (CPython's default is 700).
GC_YOUNG_THRESHOLD = 10_000


@asynccontextmanager
async def quiet_garbage_collector(_web: FastAPI) -> AsyncIterator[None]:
    """Keep the cyclic garbage collector out of the request path once the service is up.

    The process holds a few hundred thousand long-lived objects (FastAPI, pydantic, SQLAlchemy, the mapping
    and export libraries).  A full collection walks them all, which took 15 to 95 ms under load and stalled
    every request in flight; that was the intake webhook's p99.  `gc.freeze()` moves everything that exists once the app
    has started into a permanent generation that collections skip.  A request allocates a few hundred
    objects, so the default young threshold of 700 runs a collection every few requests, about a quarter of
    the webhook's CPU.  A larger threshold makes young collections rarer and costs a few MB of memory.
    """
    gc.collect()
    gc.freeze()
    previous = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *previous[1:])
    try:
        yield
    finally:
        gc.set_threshold(*previous)
        gc.unfreeze()


def create_app(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    intake_clock: Callable[[], float] | None = None,
    wiring: Wiring | None = None,
) -> FastAPI:
    """The web service.  Called with no arguments by uvicorn (`factory=True`): Settings from the environment,
    wired by `wiring.Wiring`.  Tests pass Settings (and an engine), a ready Wiring, or the monotonic clock the
    intake rate limit reads."""
    wiring = wiring or Wiring(settings or load_settings(), engine=engine)
    settings = wiring.settings
    logging.basicConfig(level=settings.log_level)
    # Before anything is stored: in production a missing key stops the start (SettingsError), else a warning.
    missing_keys = encryption_at_start(settings)
    if missing_keys:
        logging.getLogger("ignite.service").warning(missing_keys)
    install_keyring(encryption_keyring(settings))
    install_erasure_key(settings.erasure_key.get_secret_value() if settings.erasure_key else None)
    engine = wiring.engine
    metrics = IntakeMetrics()
    metrics.watch_database(engine, [inbox_gauges, job_gauges, sync_gauges])

    web = FastAPI(
        title="ignite-sync",
        version="0.1.0",
        summary="Signed intake webhook, program-data ingest API, funder export downloads, health and metrics.",
        lifespan=quiet_garbage_collector,
    )
    install_problem_handlers(web)
    # Tokens in URL paths never reach a log: uvicorn's access log prints the route template.
    web.add_middleware(RedactTokenPaths)
    form_key = settings.intake_form_key
    form_tokens = FormTokens(form_key.get_secret_value().encode() if form_key else secrets.token_bytes(32))
    # The intake webhook is the hot path: its router goes first, so routing finds it after the fewest
    # candidates (FastAPI tries routes in order, and each miss costs a regex match and some bookkeeping).
    web.include_router(
        intake_router(
            engine=engine,
            sources=wiring.intake_sources,
            metrics=metrics,
            max_body_bytes=settings.intake_max_body_bytes,
            batch_max=settings.intake_batch_max,
            batch_wait_seconds=settings.intake_batch_wait_ms / 1000,
            profile=load_profile(settings.profile),
            monotonic=intake_clock,
            form_tokens=form_tokens,
        )
    )
    web.include_router(forms_router(sources=wiring.intake_sources, form_tokens=form_tokens))
    web.include_router(health_router(engine=engine, metrics=metrics))
    require_api_key = api_key_dependency(engine)
    web.include_router(
        ingest_router(engine=engine, require_api_key=require_api_key, metrics=metrics, profile=settings.profile)
    )
    web.include_router(
        forget_router(
            engine=engine,
            require_api_key=require_api_key,
            profile=settings.profile,
            production=settings.env == "production",
        )
    )
    # Funder downloads authenticate with their own funder-scoped tokens, not the ingest API keys.
    web.include_router(exports_router)
    web.dependency_overrides[get_export_engine] = lambda: engine
    web.dependency_overrides[get_export_min_cell] = lambda: settings.export_min_cell
    web.dependency_overrides[get_export_timezone] = lambda: settings.program_timezone
    _document_schemas(web)
    return web


def _document_schemas(web: FastAPI) -> None:
    """Add the models the raw-body routes document by reference (they are not FastAPI parameters)."""

    def openapi() -> dict[str, Any]:
        if web.openapi_schema is None:
            schema = get_openapi(title=web.title, version=web.version, summary=web.summary, routes=web.routes)
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for model in DOC_SCHEMAS:
                model_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
                components.update(model_schema.pop("$defs", {}))
                components[model.__name__] = model_schema
            web.openapi_schema = schema
        return web.openapi_schema

    web.openapi = openapi  # type: ignore[method-assign]


def main() -> None:
    """`python service.py …` runs the CLI; imported lazily so the web process never loads Typer."""
    from cli.app import run

    run()


if __name__ == "__main__":
    main()
