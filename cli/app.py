"""The root Typer app; each area of the CLI lives in its own module and is registered here."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from cli import apikeys, crm, db, export, intake, keys, mapping, privacy
from cli import sync as sync_cli
from cli.context import console, err_console, get_context
from cli.demo import demo_command
from cli.forget import forget_command
from cli.imports import import_command
from cli.sandbox import sandbox_command
from cli.serve import serve_command

app = typer.Typer(
    rich_markup_mode=None,
    name="ignite-sync",
    help="Sync the Ignite program's data into a nonprofit CRM, take intake leads, and export outcomes.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(db.app, name="db")
app.add_typer(crm.app, name="crm")
app.command("import")(import_command)
app.command("demo")(demo_command)
app.command("forget")(forget_command)
app.command("sandbox")(sandbox_command)
mapping.register(app)
export.register(app)
app.command("serve")(serve_command)
app.add_typer(intake.app, name="intake")
app.add_typer(apikeys.app, name="api-key")
app.add_typer(keys.app, name="keys")
app.add_typer(privacy.app, name="privacy")
sync_cli.register(app)


@app.callback()
def _root(
    ctx: typer.Context,
    debug: bool = typer.Option(False, "--debug", help="Show the full traceback when a command fails."),
) -> None:
    """Settings come from IGNITE_* variables (and .env); a bad one is reported before anything runs."""
    get_context(ctx)


@app.command()
def version() -> None:
    """Print the installed version."""
    from importlib.metadata import version as dist_version

    console.print(dist_version("ignite-sync"))


def run() -> None:
    """The console script: run a command; a database that cannot be used is one line and exit code 2."""
    debug = "--debug" in sys.argv[1:]
    try:
        app()
    except SQLAlchemyError as exc:
        if debug:
            raise
        err_console.print(f"[red]database error[/red] {database_problem(exc)}", highlight=False)
        sys.exit(2)


def database_problem(exc: SQLAlchemyError) -> str:
    """One line naming the setting, what went wrong and what to do; never SQL parameters or a password."""
    try:
        from settings import load_settings

        shown = make_url(load_settings().database_url).render_as_string(hide_password=True)
    except Exception:  # the settings were fine when the command started; this is only for the message
        shown = "(see IGNITE_DATABASE_URL)"
    orig = getattr(exc, "orig", None)
    detail = str(orig if orig is not None else exc).strip().splitlines()
    reason = detail[0] if detail else type(exc).__name__
    lowered = reason.lower()
    if "does not exist" in lowered:
        todo = "create the database (for example `createdb NAME`) or fix its name"
    elif "refused" in lowered or "could not connect" in lowered or "timeout" in lowered or "resolve" in lowered:
        todo = "check that the server is running and the host and port are right"
    elif "authentication" in lowered or "password" in lowered:
        todo = "check the user name and password"
    elif "unable to open database file" in lowered or "readonly" in lowered:
        todo = "check that the folder exists and is writable"
        folder = _sqlite_folder(shown)
        if folder is not None and not folder.is_dir():
            reason, todo = f"the folder {folder} does not exist", "create it or point at an existing folder"
    else:
        todo = "check the URL, or run with --debug for the traceback"
    return f"IGNITE_DATABASE_URL={shown}: {reason}; {todo} (--debug shows the traceback)"


def _sqlite_folder(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database).expanduser().resolve().parent
