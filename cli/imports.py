"""`ignite-sync import KIND FILE`: validate every row, store the good ones, report each bad one.

`ignite-sync import KIND --template` prints the header a file of that kind needs and one example row.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy.exc import DBAPIError

from cli.context import console, err_console, get_context
from ingest.columns import required_columns
from ingest.handoff import import_and_queue_sync
from ingest.importer import IMPORTABLE, UnknownKind, columns_check, resolve_kind
from ingest.reader import UnreadableFile, read_rows
from ingest.templates import template_csv
from models.problems import Problem


def _count_data_lines(path: Path) -> int | None:
    """A fast newline count gives the progress bar a total for CSV and JSON Lines (headers excluded)."""
    if path.suffix.lower() not in {".csv", ".jsonl", ".ndjson"}:
        return None
    with path.open("rb") as stream:
        lines = sum(chunk.count(b"\n") for chunk in iter(lambda: stream.read(1 << 20), b""))
    return max(0, lines - (1 if path.suffix.lower() == ".csv" else 0))


def _print_template(kind: str) -> None:
    """The CSV on stdout (so `> file.csv` starts a file); which columns may stay blank on stderr."""
    try:
        text = template_csv(kind)
    except UnknownKind as exc:
        err_console.print(f"[red]error[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None
    print(text, end="")
    required = required_columns(resolve_kind(kind))
    err_console.print(
        f"required: {', '.join(required)}; the other columns may be left blank or left out",
        highlight=False,
        soft_wrap=True,
    )


def import_command(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(metavar="KIND", help=f"What the file holds: {', '.join(IMPORTABLE)}.")],
    file: Annotated[
        Path | None,
        typer.Argument(metavar="FILE", exists=True, dir_okay=False, readable=True, help="A .csv, .json, .jsonl"),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate and report; write nothing.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one machine-readable summary.")] = False,
    template: Annotated[
        bool,
        typer.Option(
            "--template",
            help="Print the CSV header a KIND file needs and one example row (redirect it to start a file); "
            "read no FILE.",
        ),
    ] = False,
) -> None:
    """Import program data.  Exit code 1 when any row was rejected; 2 when the file cannot be read (a CSV
    header with unknown or missing columns is one message for the file, and no row is read)."""
    if template:
        _print_template(kind)
        return
    if file is None:
        err_console.print(
            f"[red]error[/red] give the FILE to import (or `--template` for the columns of {escape(kind)})",
            highlight=False,
        )
        raise typer.Exit(2)
    context = get_context(ctx)
    engine = context.migrated_engine()

    def show(problem: Problem) -> None:
        if not as_json:
            err_console.print(f"{problem.record} [bold]{problem.field}[/bold]: {problem.rule}", highlight=False)

    total = _count_data_lines(file)
    progress = Progress(
        TextColumn(f"importing {kind}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err_console,
        disable=as_json,
        transient=True,
    )
    try:
        with progress:
            task = progress.add_task("rows", total=total)
            report = import_and_queue_sync(
                engine,
                kind,
                read_rows(file, columns_check(kind)),
                profile=context.settings.profile,
                reason="import",
                dry_run=dry_run,
                on_problem=show,
                on_progress=lambda n: progress.advance(task, n),
            )
    except (UnknownKind, UnreadableFile) as exc:
        # One line however wide the terminal (a wrong header's message names every column): soft_wrap.
        err_console.print(f"[red]error[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    except DBAPIError as exc:
        # The file is one transaction, so nothing of it was stored; the driver's first line says why, without
        # the statement or its parameters (participants' data).
        reason = (str(exc.orig).strip().splitlines() or [type(exc.orig).__name__])[0]
        err_console.print(
            f"[red]error[/red] {file.name}: the database refused the import ({escape(reason)}); nothing was stored",
            highlight=False,
        )
        raise typer.Exit(2) from None
    if as_json:
        console.print_json(json.dumps(report.as_dict()))
    else:
        verb = "would import" if dry_run else "imported"
        c = report.counts
        console.print(
            f"{verb} {report.accepted} of {report.rows} {kind} rows: {c.inserted} new, {c.updated} changed, "
            f"{c.unchanged} unchanged; {report.rejected} rejected",
            highlight=False,
        )
    if report.rejected:
        raise typer.Exit(1)
