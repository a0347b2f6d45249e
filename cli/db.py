"""`ignite-sync db …`: the service database's schema."""

from __future__ import annotations

import typer

from cli.context import console, get_context
from store.database import is_current, upgrade_database

app = typer.Typer(rich_markup_mode=None, help="Service database schema (Alembic migrations).", no_args_is_help=True)


@app.command()
def upgrade(ctx: typer.Context) -> None:
    """Apply every pending migration to IGNITE_DATABASE_URL."""
    context = get_context(ctx)
    upgrade_database(context.engine)
    console.print("database schema is current")


@app.command()
def check(ctx: typer.Context) -> None:
    """Exit non-zero when migrations are pending."""
    context = get_context(ctx)
    if not is_current(context.engine):
        console.print("[yellow]migrations pending[/yellow]: run `ignite-sync db upgrade`")
        raise typer.Exit(1)
    console.print("database schema is current")
