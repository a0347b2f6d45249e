"""`ignite-sync api-key …`: bearer keys for the ingest API, stored hashed, with a lifetime; shown once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from sqlalchemy.exc import IntegrityError

from cli.context import console, err_console, get_context
from cli.credentials import ExpiresIn, NoExpiry, lifetime, state, when
from store.api_keys import ADMIN_ROLE, IMPORT_ROLE, ApiKeyRepository

app = typer.Typer(
    rich_markup_mode=None, help="API keys for the ingest API (stored hashed; shown once).", no_args_is_help=True
)


@app.command()
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="Who will use the key, e.g. 'lms'.")],
    expires_in: ExpiresIn = None,
    no_expiry: NoExpiry = False,
    admin: Annotated[
        bool, typer.Option("--admin", help="An administrator's key: may also erase a person (POST /api/v1/forget).")
    ] = False,
) -> None:
    """Create a key and print it once; keep it in the caller's secret store.  It expires after a year unless
    --expires-in DAYS or --no-expiry says otherwise."""
    chosen = lifetime(expires_in, no_expiry)
    engine = get_context(ctx).migrated_engine()
    try:
        with engine.begin() as connection:
            key = ApiKeyRepository(connection).create(name, lifetime=chosen, role=ADMIN_ROLE if admin else IMPORT_ROLE)
    except IntegrityError:
        err_console.print(f"[red]error[/red] an API key named {name!r} exists; revoke it or pick another name")
        raise typer.Exit(1) from None
    console.print(key.token, highlight=False, soft_wrap=True)
    err_console.print(
        f"created {key.role} API key {name!r} ({key.key_id}), expires {when(key.expires_at, 'never')}; "
        "it is not shown again",
        highlight=False,
    )


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
    """Name, public id, state, created, expires, last used (to the minute), revoked and role; never the keys."""
    engine = get_context(ctx).migrated_engine()
    with engine.connect() as connection:
        keys = ApiKeyRepository(connection).list()
    now = datetime.now(UTC)
    typer.echo("name\tid\tstate\tcreated\texpires\tlast used\trevoked\trole")
    for key in keys:
        cells = [
            key.name,
            key.key_id,
            state(revoked_at=key.revoked_at, expires_at=key.expires_at, now=now),
            when(key.created_at),
            when(key.expires_at, "never"),
            when(key.last_used_at, "never"),
            when(key.revoked_at),
            key.role,
        ]
        typer.echo("\t".join(cells))  # tab-separated, as typed: rich would expand the tabs
