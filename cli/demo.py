"""`ignite-sync demo`: the whole story on one laptop, with no Salesforce account."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cli.context import AppContext, console, err_console, get_context
from cli.demo_issue import staff_scene
from cli.sync import print_report, print_status, run_with_progress
from demo import generate, seed
from demo.generator import DEFAULT_PARTICIPANTS, MAX_PARTICIPANTS
from exports.service import export_all_funders
from settings import Settings
from store.records import KINDS
from sync import runner

DEMO_FILES = ("ignite-sync.db", "ignite-crm.db", ".env")
# The settings the demo chose, written to DIR/.env: Settings reads `.env` from the working directory, so every
# README command run inside the demo directory sees the demo's data, with nothing to export or retype.
DEMO_SETTINGS = ("database_url", "local_crm_url", "profile")


def _reset(directory: Path) -> None:
    """Say what will be replaced, then replace it: the demo never touches anything but its own files."""
    directory.mkdir(parents=True, exist_ok=True)
    existing = [p for name in DEMO_FILES for p in directory.glob(f"{name}*")]
    if existing:
        console.print(f"replacing the previous demo in {directory}/: {', '.join(sorted(p.name for p in existing))}")
    for path in existing:
        path.unlink()


def demo_command(
    ctx: typer.Context,
    directory: Annotated[Path, typer.Option("--dir", help="Where the demo's databases go.")] = Path("ignite-demo"),
    participants: Annotated[
        int, typer.Option("--participants", min=1, max=MAX_PARTICIPANTS, help="Program size (16 per cohort).")
    ] = DEFAULT_PARTICIPANTS,
    seed_value: Annotated[int, typer.Option("--seed", help="Same seed, same data.")] = 2025,
) -> None:
    """Seed a fresh demo program into DIR and print what it holds."""
    base = get_context(ctx)
    directory = directory.resolve()
    _reset(directory)
    settings = base.settings.model_copy(
        update={
            "database_url": f"sqlite:///{directory / 'ignite-sync.db'}",
            "local_crm_url": f"sqlite:///{directory / 'ignite-crm.db'}",
        }
    )
    _write_env(directory, settings)
    context = AppContext(settings)
    engine = context.migrated_engine()
    program = generate(participants, seed=seed_value)
    with Progress(
        TextColumn("seeding cohorts"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as progress:
        task = progress.add_task("cohorts", total=program.cohort_count)
        summary = seed(engine, program, on_cohort=lambda n: progress.advance(task, n))
    program_table = Table(title="1. Ignite demo program (service database)")
    program_table.add_column("records")
    program_table.add_column("rows", justify="right")
    for kind in KINDS:
        program_table.add_row(kind, f"{summary.rows(kind):,}")
    console.print(program_table)

    target = (
        f"the local CRM at {settings.local_crm_url}"
        if settings.crm == "local"
        else f"Salesforce at {settings.sf_instance_url or settings.sf_domain}"
    )
    console.print(f"\n[bold]2. Sync to {target}[/bold] (profile {settings.profile})", highlight=False)
    crm = context.connector()
    options = context.wiring.sync_options()
    report = run_with_progress(engine, crm, options)
    print_report(report, settings.profile)

    console.print("\n[bold]3. Status[/bold] (what `ignite-sync status` shows)")
    print_status(runner.sync_status(engine, profile=settings.profile))

    console.print("\n[bold]4. Funder exports[/bold]")
    for funder, folder in export_all_funders(
        engine, directory, k=settings.export_min_cell, timezone=settings.program_timezone
    ).items():
        files = ", ".join(sorted(p.name for p in folder.iterdir()))
        console.print(f"{funder}: {folder}  ({files})", highlight=False)

    staff_scene(engine, crm, program, options)

    # After `make demo` the command lives in .venv/bin, which is not on PATH: the hint puts it there first.
    where = os.path.relpath(directory)
    activate = "" if shutil.which("ignite-sync") else f". {_activate_script()} && "
    console.print(
        f"\ndemo directory: {directory} (its settings are in {where}/.env)\n"
        f"next, as in the README: {activate}cd {where} && "
        f'ignite-sync crm query "SELECT Name, Email, Title FROM Contact LIMIT 5"\n'
        f'open sync issues: ignite-sync crm query "SELECT Id, Name, Status__c, Error_Code__c, What_To_Do__c '
        f"FROM Ignite_Sync_Issue__c WHERE Status__c != 'Resolved'\"",
        highlight=False,
        soft_wrap=True,
    )


def _write_env(directory: Path, settings: Settings) -> None:
    lines = [f"IGNITE_{name.upper()}={getattr(settings, name)}" for name in DEMO_SETTINGS]
    header = "# Written by `ignite-sync demo`: run ignite-sync from this folder and it works on the demo's data.\n"
    (directory / ".env").write_text(header + "\n".join(lines) + "\n", encoding="utf-8")


def _activate_script() -> str:
    """The virtualenv's activate script, relative to here: `make demo` runs .venv/bin/ignite-sync."""
    script = Path(sys.executable).parent / "activate"
    return os.path.relpath(script) if script.exists() else ".venv/bin/activate"
