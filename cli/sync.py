"""`ignite-sync sync | worker | status | replay`: the sync engine's commands (thin: values in, tables out)."""

from __future__ import annotations

import json
import logging
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Engine

from cli import tables
from cli.context import AppContext, console, err_console, get_context
from cli.tables import short_names
from connector.base import CrmConnector, CrmError, FatalCrmError, TransientCrmError
from settings import SettingsError, encryption_at_start
from sync import runner
from sync.engine import Progress as SyncProgress
from sync.engine import SyncReport
from sync.options import SyncOptions


class ProgressBars:
    """One Rich bar per step (labelled with its CRM object), fed by the engine's progress callback."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}

    def __call__(self, event: SyncProgress) -> None:
        task = self.tasks.get(event.step)
        label = f"{event.object_name} ({event.step})" if event.object_name.lower() != event.step else event.step
        if task is None:
            task = self.tasks[event.step] = self.progress.add_task(label, total=event.total)
        total = event.total if event.total is not None else (event.done if event.finished else None)
        self.progress.update(task, completed=event.done, total=total)


def _fail(message: str, code: int = 1) -> typer.Exit:
    err_console.print(f"[red]error[/red] {message}", highlight=False)
    return typer.Exit(code)


def _report_table(report: SyncReport, summaries: set[str]) -> Table:
    dry = report.dry_run
    columns = (
        [("would create", "created"), ("would adopt", "matched"), ("would update", "updated")]
        if dry
        else [("created", "created"), ("adopted", "matched"), ("updated", "updated")]
    )
    columns += [("unchanged", "unchanged"), ("rejected", "rejected"), ("blocked", "blocked"), ("invalid", "invalid")]
    if not dry:
        columns.append(("to retry", "retry"))
    by_object = _records_by_object(report, summaries)
    labels = short_names(by_object)
    titles = dict(columns)
    always = [title for title, name in columns if name in ("created", "updated", "unchanged")]
    shown, quiet = tables.busy_columns(
        titles, ({title: counts[name] for title, name in columns} for counts in by_object.values()), always=always
    )
    table = tables.table(
        "dry run: nothing was written to the CRM" if dry else f"sync ({report.mode})",
        "object",
        *shown,
        numeric=shown,
        caption=f"none {', '.join(quiet)}" if quiet else None,
    )
    for object_name, counts in by_object.items():
        table.add_row(labels[object_name], *(f"{counts[titles[title]]:,}" for title in shown))
    return table


def run_with_progress(engine: Engine, crm: CrmConnector, options: SyncOptions) -> SyncReport:
    """A sync with one Rich progress bar per object (on stderr, gone when done)."""
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as bars:
        return runner.run_sync(engine, crm, options, progress=ProgressBars(bars))


def _records_by_object(report: SyncReport, summaries: set[str]) -> dict[str, dict[str, int]]:
    """The report's counts per CRM object without summary steps, which update records other steps own."""
    out: dict[str, dict[str, int]] = {}
    for step, counts in report.steps.items():
        if step in summaries:
            continue
        into = out.setdefault(report.objects[step], {})
        for name, n in counts.as_dict().items():
            into[name] = into.get(name, 0) + n
    return out


def print_report(report: SyncReport, profile: str) -> None:
    summaries = runner.summary_steps(profile)
    console.print(_report_table(report, summaries))
    summary_counts = [
        f"{step} ({report.objects[step]}) {name} {n}"
        for step in sorted(summaries & set(report.steps))
        for name, n in report.steps[step].as_dict().items()
        if n
    ]
    if summary_counts:
        console.print("summaries on those records: " + ", ".join(summary_counts), highlight=False)
    calls = ", ".join(f"{k} {v}" for k, v in sorted(report.api_calls.items())) or "none"
    console.print(f"CRM API calls: {report.total_api_calls} ({calls}) · {report.seconds:.1f}s · status {report.status}")


def print_status(status: dict[str, Any]) -> None:
    """The `status` tables: per object, the top problems with their source keys, jobs, dead letters, runs."""
    states = ("synced", "pending", "rejected", "blocked", "invalid", "missing", "merged")
    rows = status["objects"]
    shown, quiet = tables.busy_columns(states, rows.values(), always=("synced", "pending"))
    objects = tables.table(
        "CRM records (one per record the sync owns)",
        "object",
        *shown,
        numeric=shown,
        caption=f"none {', '.join(quiet)}" if quiet else None,
    )
    labels = short_names(rows)
    for object_name, counts in sorted(rows.items()):
        objects.add_row(labels[object_name], *(f"{counts.get(s, 0):,}" for s in shown))
    console.print(objects)
    for step, counts in sorted((status.get("summaries") or {}).items()):
        states_seen = ", ".join(f"{state} {n:,}" for state, n in counts.items() if state != "object")
        console.print(f"summary {step} on {counts['object']} records: {states_seen}", highlight=False)
    if status["errors"]:
        errors = tables.table(
            "Top problems", "object", "status", "code", "rows", "source keys", "reason", numeric=["rows"]
        )
        for e in status["errors"]:
            more = f" (+{e['count'] - len(e['keys'])})" if e["count"] > len(e["keys"]) else ""
            errors.add_row(
                e["object"],
                e["status"],
                e["code"] or "",
                str(e["count"]),
                ", ".join(e["keys"]) + more,
                e["message"] or "",
            )
        console.print(errors)
        console.print("`ignite-sync failures` lists every row with the record behind its key (`--csv FILE` to save)")
    jobs = ", ".join(f"{state} {n}" for state, n in sorted(status["jobs"].items())) or "none"
    console.print(f"jobs: {jobs}")
    intake = status.get("intake") or {}
    if intake.get("quarantined"):
        reasons = ", ".join(f"{reason} {n}" for reason, n in sorted(intake["quarantined_by_reason"].items()))
        console.print(
            f"[yellow]intake: {intake['quarantined']} quarantined submissions wait for review[/yellow] ({reasons}): "
            "`ignite-sync intake quarantined`",
            highlight=False,
        )
    for dead in status["dead_letters"]:
        console.print(
            f"[red]dead[/red] job {dead['id']} ({dead['kind']}) after {dead['attempts']} attempts: {dead['error']}"
        )
    if status["runs"]:
        numbers = ("run", "seconds", "API calls", "sent")
        runs = tables.table("Last runs", "run", "mode", "status", "started (UTC)", *numbers[1:], numeric=numbers)
        for r in status["runs"]:
            sent = sum(c.get("created", 0) + c.get("updated", 0) + c.get("matched", 0) for c in r["counts"].values())
            runs.add_row(
                str(r["id"]),
                r["mode"],
                r["status"],
                r["started_at"][:16].replace("T", " "),
                str(r["seconds"]),
                str(r["api_calls"]),
                str(sent),
            )
        console.print(runs)


def sync_command(
    ctx: typer.Context,
    profile: Annotated[str | None, typer.Option("--profile", help="Mapping profile (default IGNITE_PROFILE).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Plan only: print what would change.")] = False,
    full: Annotated[bool, typer.Option("--full", help="Resend every record, not only what changed.")] = False,
    only: Annotated[
        list[str] | None, typer.Option("--only", metavar="OBJECT", help="Only this CRM object or step (repeatable).")
    ] = None,
    enqueue: Annotated[bool, typer.Option("--enqueue", help="Queue a sync job for the workers instead.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one machine-readable summary.")] = False,
) -> None:
    """Plan and run a sync to the CRM, with a progress bar per object."""
    context: AppContext = get_context(ctx)
    settings = context.settings
    profile_name = profile or settings.profile
    engine = context.migrated_engine()
    if enqueue:
        job_id = runner.enqueue_sync(engine, profile=profile, full=full, reason="ignite-sync sync --enqueue")
        if as_json:
            print(json.dumps({"enqueued": job_id}))
        else:
            console.print(f"queued sync job {job_id}; a running `ignite-sync worker` will pick it up")
        return
    try:
        crm = context.wiring.crm_factory(profile_name)()
    except (ValueError, CrmError) as exc:
        raise _fail(str(exc), 2) from None
    options = context.wiring.sync_options(profile_name, full=full, dry_run=dry_run, only=only)
    try:
        report = runner.run_sync(engine, crm, options) if as_json else run_with_progress(engine, crm, options)
    except ValueError as exc:
        raise _fail(str(exc), 2) from None
    except FatalCrmError as exc:
        raise _fail(f"the CRM refused the sync ({exc.code or 'fatal'}): {exc}") from None
    except TransientCrmError as exc:
        raise _fail(f"the CRM is not answering ({exc}); try later or let a worker retry it") from None
    if as_json:
        print(json.dumps(report.as_dict(), sort_keys=True))
        return
    print_report(report, profile_name)
    if report.status in ("partial", "retry"):
        console.print("see `ignite-sync status` for the rows that did not go through and why")


def worker_command(
    ctx: typer.Context,
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, help="Worker threads (Postgres only).")] = 1,
    once: Annotated[bool, typer.Option("--once", help="Run until nothing is due, then exit.")] = False,
    lease_seconds: Annotated[float, typer.Option("--lease-seconds", min=1, help="Job lease length.")] = 60.0,
    poll_seconds: Annotated[float, typer.Option("--poll-seconds", min=0.01, help="Idle poll interval.")] = 1.0,
    reconcile_hours: Annotated[
        float, typer.Option("--reconcile-hours", min=0, help="Reconcile period (0: never).")
    ] = 24.0,
    chunk_size: Annotated[
        int, typer.Option("--chunk-size", min=1, help="Rows planned and committed together (smaller: finer restarts).")
    ] = 2000,
) -> None:
    """Run jobs from the queue: syncs, reconciles, housekeeping.  SIGTERM finishes the current batch."""
    import threading
    from datetime import timedelta

    from sync.options import WorkerOptions
    from sync.worker import WorkerCrashed, install_signal_handlers

    context: AppContext = get_context(ctx)
    settings = context.settings
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        missing_keys = encryption_at_start(settings)
    except SettingsError as exc:
        err_console.print(f"[red]setting error[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None
    if missing_keys:
        logging.getLogger("ignite.worker").warning(missing_keys)
    engine = context.migrated_engine()
    stop = threading.Event()
    install_signal_handlers(stop)
    if settings.crm == "local":
        # Create (or grow) the embedded CRM once at start-up; after that a missing file is an outage that
        # intake jobs wait out (wiring.intake_crm_factory), never a reason to deliver into a fresh, empty CRM.
        context.connector()
    options = WorkerOptions(
        concurrency=concurrency,
        once=once,
        lease_seconds=lease_seconds,
        poll_seconds=poll_seconds,
        reconcile_every=timedelta(hours=reconcile_hours) if reconcile_hours and not once else None,
        housekeeping_every=None if once else timedelta(hours=1),
    )
    try:
        with context.wiring.job_handlers(engine, context.wiring.sync_options(chunk_size=chunk_size)) as handlers:
            stats = runner.run_worker(engine, handlers, options, stop=stop)
    except WorkerCrashed as exc:
        # Exit non-zero so a supervisor (systemd, Kubernetes) restarts the worker instead of leaving jobs waiting.
        err_console.print(f"[red]worker crashed:[/red] {escape(str(exc))}")
        raise typer.Exit(1) from None
    console.print(
        f"worker stopped: {stats.succeeded} succeeded, {stats.retried} to retry, {stats.dead} dead, "
        f"{stats.released} released, {stats.lost} lost"
    )


def status_command(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print one machine-readable summary.")] = False,
) -> None:
    """What the CRM holds, what failed and why, the job queue, and the last runs."""
    context: AppContext = get_context(ctx)
    status = runner.sync_status(context.migrated_engine(), profile=context.settings.profile)
    if as_json:
        print(json.dumps(status, sort_keys=True, default=str))
        return
    print_status(status)


def replay_command(
    ctx: typer.Context,
    dead: Annotated[bool, typer.Option("--dead", help="Queue every dead job again.")] = False,
    rejected: Annotated[bool, typer.Option("--rejected", help="Send rejected rows again on the next sync.")] = False,
    job: Annotated[int | None, typer.Option("--job", help="Queue this dead or failed job again.")] = None,
    object_name: Annotated[str | None, typer.Option("--object", help="With --rejected: only this object.")] = None,
) -> None:
    """Give failed work another go once its cause is fixed."""
    context: AppContext = get_context(ctx)
    try:
        result = runner.replay(
            context.migrated_engine(), dead=dead, rejected=rejected, job_id=job, object_name=object_name
        )
    except ValueError as exc:
        raise _fail(str(exc), 2) from None
    if "job" in result:
        console.print(f"job {job} queued again" if result["job"] else f"job {job} is neither dead nor failed")
    if "dead_jobs" in result:
        console.print(f"{len(result['dead_jobs'])} dead jobs queued again")
    if "rejected_rows" in result:
        console.print(
            f"{result['rejected_rows']} rejected rows will be sent again (sync job {result['sync_job']} queued; "
            "or run `ignite-sync sync`)"
        )


SHOWN_FAILURES = 200  # on screen; the CSV has them all
FAILURE_COLUMNS = (
    "object_name",
    "status",
    "code",
    "record_key",
    "source_key",
    "record",
    "message",
    "attempts",
    "last_tried",
)


def failures_command(
    ctx: typer.Context,
    object_name: Annotated[str | None, typer.Option("--object", help="Only this CRM object.")] = None,
    status: Annotated[
        str, typer.Option("--status", help="Comma-separated: rejected, blocked, invalid.")
    ] = "rejected,blocked,invalid",
    csv_path: Annotated[
        str | None, typer.Option("--csv", help="Write every row to this CSV file ('-': standard output).")
    ] = None,
    show_personal: Annotated[
        bool, typer.Option("--show-personal", help="Name and email participants (off: role and organisation).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Every row as one JSON object per line.")] = False,
) -> None:
    """Every row the CRM refused, that waits on a refused parent, or could not be built: with who or what it is."""
    import sys

    from exports.csvfile import write_csv
    from sync.failures import iter_failures

    context: AppContext = get_context(ctx)
    statuses = [s.strip() for s in status.split(",") if s.strip()]
    engine = context.migrated_engine()
    with engine.connect() as conn:
        try:
            rows = iter_failures(conn, statuses=statuses, object_name=object_name, personal=show_personal)
            if as_json:
                for f in rows:
                    typer.echo(json.dumps({c: getattr(f, c) for c in FAILURE_COLUMNS}, default=str, ensure_ascii=False))
                return
            if csv_path is not None:
                out = sys.stdout if csv_path == "-" else open(csv_path, "w", newline="", encoding="utf-8-sig")  # noqa: SIM115
                try:
                    # Names and messages come from people and the CRM: write_csv defuses formula-looking cells.
                    n = write_csv(out, FAILURE_COLUMNS, ([getattr(f, c) for c in FAILURE_COLUMNS] for f in rows))
                finally:
                    if out is not sys.stdout:
                        out.close()
                if csv_path != "-":
                    console.print(f"{n} rows written to {csv_path}")
                return
            table = tables.table("Rows not in the CRM", "object", "status", "code", "record", "key", "message")
            n = 0
            for f in rows:
                if n < SHOWN_FAILURES:
                    table.add_row(f.object_name, f.status, f.code, f.record, f.source_key, f.message[:200])
                n += 1
        except ValueError as exc:
            raise _fail(str(exc), 2) from None
    if n == 0:
        filtered = object_name is not None or set(statuses) != {"rejected", "blocked", "invalid"}
        console.print("no rows match these filters" if filtered else "nothing failed: every planned row is in the CRM")
        return
    console.print(table)
    shown = f"the first {SHOWN_FAILURES} of {n}" if n > SHOWN_FAILURES else str(n)
    console.print(f"{shown} row{'s' if n != 1 else ''}; `--csv FILE` writes them all with full messages")


def register(app: typer.Typer) -> None:
    app.command("sync")(sync_command)
    app.command("worker")(worker_command)
    app.command("status")(status_command)
    app.command("failures")(failures_command)
    app.command("replay")(replay_command)
