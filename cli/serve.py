"""`ignite-sync serve`: the web service (intake webhook, ingest API, health, metrics) under uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from cli.context import console, get_context


def serve_command(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="uvicorn worker processes.")] = 1,
    migrate: Annotated[bool, typer.Option(help="Apply pending database migrations first.")] = True,
) -> None:
    """Serve the web service: intake webhook, ingest API, export downloads, health and metrics.

    Every worker process reads the same IGNITE_* settings; pending database migrations are applied first
    unless --no-migrate.
    """
    context = get_context(ctx)
    if migrate:
        context.migrated_engine()
    sources = ", ".join(sorted(context.wiring.intake_sources)) or "none configured (IGNITE_INTAKE_SOURCES)"
    console.print(f"intake sources: {sources}; OpenAPI docs at http://{host}:{port}/docs", highlight=False)
    uvicorn.run(
        "service:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=context.settings.log_level.lower(),
        # The service's own logs carry delivery ids and email hashes; uvicorn's access log adds paths only.
        access_log=False,
    )
