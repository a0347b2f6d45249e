"""The root Typer app; each area of the CLI lives in its own module and is registered here."""

from __future__ import annotations

import typer

from cli import apikeys, crm, db, export, intake, mapping
from cli import sync as sync_cli
from cli.context import console, get_context
from cli.demo import demo_command
from cli.imports import import_command
from cli.sandbox import sandbox_command
from cli.serve import serve_command

app = typer.Typer(
    name="ignite-sync",
    help="Sync the Ignite program's data into a nonprofit CRM, take intake leads, and export outcomes.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(db.app, name="db")
app.add_typer(crm.app, name="crm")
app.command("import")(import_command)
app.command("demo")(demo_command)
app.command("sandbox")(sandbox_command)
mapping.register(app)
export.register(app)
app.command("serve")(serve_command)
app.add_typer(intake.app, name="intake")
app.add_typer(apikeys.app, name="api-key")
sync_cli.register(app)


@app.callback()
def _root(ctx: typer.Context) -> None:
    """Settings come from IGNITE_* variables (and .env); a bad one is reported before anything runs."""
    get_context(ctx)


@app.command()
def version() -> None:
    """Print the installed version."""
    from importlib.metadata import version as dist_version

    console.print(dist_version("ignite-sync"))
