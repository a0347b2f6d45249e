"""`ignite-sync api-key …`: bearer keys for the ingest API, stored hashed; the key is shown once."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy.exc import IntegrityError

from cli.context import console, err_console, get_context
from store.intake import ApiKeyRepository

app = typer.Typer(
    rich_markup_mode=None, help="API keys for the ingest API (stored hashed; shown once).", no_args_is_help=True
)


@app.command()
def create(
    ctx: typer.Context, name: Annotated[str, typer.Argument(metavar="NAME", help="Who will use the key, e.g. 'lms'.")]
) -> None:
    """Create a key and print it once; keep it in the caller's secret store."""
    engine = get_context(ctx).migrated_engine()
    try:
        with engine.begin() as connection:
            key = ApiKeyRepository(connection).create(name)
    except IntegrityError:
        err_console.print(f"[red]error[/red] an API key named {name!r} exists; revoke it or pick another name")
        raise typer.Exit(1) from None
    console.print(key.token, highlight=False, soft_wrap=True)
    err_console.print(f"created API key {name!r} ({key.key_id}); it is not shown again", highlight=False)


@app.command()
def revoke(ctx: typer.Context, name: Annotated[str, typer.Argument(metavar="NAME", help="The key's name.")]) -> None:
    """Revoke a key at once (rotate: create a new one, move the caller to it, revoke the old)."""
    engine = get_context(ctx).migrated_engine()
    with engine.begin() as connection:
        revoked = ApiKeyRepository(connection).revoke(name)
    if not revoked:
        err_console.print(f"[red]error[/red] no live API key named {name!r}")
        raise typer.Exit(1)
    console.print(f"revoked {name}")


@app.command("list")
def list_keys(ctx: typer.Context) -> None:
    """Names, public ids and dates; never the keys."""
    engine = get_context(ctx).migrated_engine()
    with engine.connect() as connection:
        keys = ApiKeyRepository(connection).list()
    for key in keys:
        state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "live"
        used = f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never"
        console.print(f"{key.name}\t{key.key_id}\t{state}\tlast used {used}", highlight=False)
