"""Entry points with plain values: what `ignite-sync sync|worker|status|replay` and the demo call.

Nothing here reads Settings, opens a CRM adapter or draws anything: the composition root (`wiring.py`) passes
a CRM (or a factory of them), one options value (`sync.options`) and an optional progress callback.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.engine import make_url

from connector.base import CrmConnector, FatalCrmError, TransientCrmError
from mappings.detect import active_detected
from mappings.profile import Profile, load_profile
from store.database import make_engine, upgrade_database
from store.intake import InboxRepository
from store.issues import IssueRepository
from store.jobs import Job, JobRepository
from store.jobs_tables import sync_ledger
from store.ledger import LedgerRepository
from store.runs import RunRepository
from sync import jobs as job_kinds
from sync.engine import ProgressCallback, StepCounts, SyncEngine, SyncReport
from sync.health import SyncHealth
from sync.maintenance import Housekeeping, reconcile
from sync.options import SyncOptions, WorkerOptions
from sync.profiles import TableSource, planned_steps, table_steps
from sync.retry import RetryPolicy
from sync.worker import Handler, JobControl, Periodic, Retry, Worker, WorkerStats, run_workers

log = logging.getLogger("ignite_sync.sync")

CrmFactory = Callable[[], CrmConnector]


def _engine(database: str | Engine) -> Engine:
    if isinstance(database, str):
        engine = make_engine(database)
        upgrade_database(engine)
        return engine
    return database


def _org_flags(profile: Profile, crm: CrmConnector) -> Callable[[], frozenset[str]]:
    """The profile's `detect:` flags for this org, read from its describe once per sync, when first needed."""
    found: list[frozenset[str]] = []

    def get() -> frozenset[str]:
        if not found:
            found.append(active_detected(profile, crm.describe))
        return found[0]

    return get


def health_for(options: SyncOptions, engine: Engine, crm: CrmConnector) -> SyncHealth:
    """Issue and run records in the CRM for these options (switched off by `options.sync_health`)."""
    return SyncHealth(
        engine,
        crm,
        key_field=load_profile(options.profile).header.key_field,
        max_issues=options.max_issues,
        batch_size=options.batch_size,
        enabled=options.sync_health,
    )


def engine_for(
    options: SyncOptions, engine: Engine, crm: CrmConnector, should_stop: Callable[[], bool] | None = None
) -> SyncEngine:
    """The sync engine for these options: the profile's steps with its flags, on this database and CRM."""
    profile = load_profile(options.profile)
    steps = planned_steps(
        profile,
        flags=options.flags,
        min_respondents=options.min_respondents,
        org_flags=_org_flags(profile, crm),
    )
    return SyncEngine(
        engine,
        crm,
        steps,
        profile=profile.name,
        chunk_size=options.chunk_size,
        batch_size=options.batch_size,
        should_stop=should_stop or (lambda: False),
        health=health_for(options, engine, crm) if options.sync_health else None,
    )


def _merge(total: SyncReport | None, report: SyncReport) -> SyncReport:
    """Rounds of one sync: sends add up; blocked and pending rows are what the last round left."""
    if total is None:
        return report
    for step, counts in report.steps.items():
        mine = total.steps.setdefault(step, StepCounts())
        total.objects.setdefault(step, report.objects[step])
        for name in ("created", "updated", "matched", "rejected", "invalid"):
            setattr(mine, name, getattr(mine, name) + getattr(counts, name))
        mine.blocked, mine.retry = counts.blocked, counts.retry
    for kind, n in report.api_calls.items():
        total.api_calls[kind] = total.api_calls.get(kind, 0) + n
    total.seconds += report.seconds
    total.status, total.error = report.status, report.error
    return total


def run_sync(
    database: str | Engine,
    crm: CrmConnector,
    options: SyncOptions,
    *,
    progress: ProgressCallback | None = None,
) -> SyncReport:
    """Plan and run a sync to completion in this process; returns per-step/object counts and API calls.

    Transient failures (rows or whole calls) are retried in further rounds, each sending only what is still
    pending; after `options.max_rounds` the report's status says "retry" and whatever is left is picked up by
    the next sync or worker.  A fatal CRM error raises `FatalCrmError`.
    """
    engine = _engine(database)
    sync_engine = engine_for(options, engine, crm)
    max_rounds, full = options.max_rounds, options.full
    policy = options.retry or RetryPolicy(base_seconds=0.5, cap_seconds=10.0)
    total: SyncReport | None = None
    for round_number in range(1, max_rounds + 1):
        report: SyncReport | None
        try:
            done = sync_engine.run(
                full=full and round_number == 1, dry_run=options.dry_run, only=options.only, progress=progress
            )
            return _merge(total, done)
        except Retry as exc:
            report = exc.report if isinstance(exc.report, SyncReport) else None
            hint = exc.retry_after
        except TransientCrmError as exc:
            report, hint = None, exc.retry_after
            # The code and status only: a CRM's message can echo record values (names, emails).
            log.warning(
                "sync round %s: CRM unavailable (%s, HTTP %s); trying again", round_number, exc.code, exc.status
            )
        if report is not None:
            total = _merge(total, report)
        if round_number < max_rounds:
            time.sleep(policy.delay(round_number, hint))
    if total is None:
        raise TransientCrmError(f"the CRM kept failing for {max_rounds} rounds; try again later or run a worker")
    total.status = "retry"
    return total


def enqueue_sync(database: str | Engine, *, profile: str | None = None, full: bool = False, reason: str = "cli") -> int:
    """Queue a sync job for the workers; incremental requests coalesce with a pending one."""
    engine = _engine(database)
    with engine.begin() as conn:
        if not full:
            return job_kinds.enqueue_incremental_sync(conn, reason, profile=profile)
        scope = profile or "default"
        return JobRepository(conn).enqueue(
            job_kinds.SYNC,
            {"mode": "full", "profile": profile, "reason": reason},
            idempotency_key=f"sync:full:{scope}:{uuid.uuid4().hex}",
            coalesce_key=f"sync:full:{scope}",
        )


def make_handlers(
    engine: Engine, crm_factory: CrmFactory, options: SyncOptions, housekeeping: Housekeeping
) -> dict[str, Handler]:
    """The job handlers of the sync engine: sync, reconcile, housekeeping.  The composition root adds the others
    (intake delivery) and hands the lot to `run_worker`; the CRM comes from `crm_factory`, opened once, when
    the first job needs it.  `housekeeping` carries the settings' retention (required: no retention is
    invented here)."""
    crm_holder: dict[str, CrmConnector] = {}
    lock = threading.Lock()

    def crm() -> CrmConnector:
        with lock:
            if "crm" not in crm_holder:
                crm_holder["crm"] = crm_factory()
            return crm_holder["crm"]

    def sync_job(job: Job, control: JobControl) -> None:
        job_options = options
        if job.payload.get("profile") and job.payload["profile"] != options.profile:
            job_options = replace(options, profile=str(job.payload["profile"]))
        sync_engine = engine_for(job_options, engine, crm(), control.should_stop)
        full = job.payload.get("mode") == "full" and job.attempts == 1
        sync_engine.run(full=full, job_id=job.id, mode=str(job.payload.get("mode", "incremental")))

    def retry_requests() -> None:
        """Staff set issues to Retry requested in the CRM: have a sync send them (one query, only while open)."""
        if not options.sync_health:
            return
        with engine.connect() as conn:
            if not IssueRepository(conn).any_open():
                return  # no open issue, nothing staff can have asked for: no connection, no call
        try:
            asked = health_for(options, engine, crm()).take_retry_requests()
        except TransientCrmError as exc:
            log.warning("could not read retry requests from the CRM (%s); the next sync reads them", exc.code)
            return
        if asked:
            with engine.begin() as conn:
                job_kinds.enqueue_incremental_sync(conn, "staff asked for a retry in the CRM", profile=options.profile)

    def reconcile_job(job: Job, control: JobControl) -> None:
        retry_requests()
        profile = load_profile(options.profile)
        report = reconcile(engine, crm(), list(profile.written_objects))
        with engine.begin() as conn:
            run_id = RunRepository(conn).start(profile.name, "reconcile", job.id)
            RunRepository(conn).finish(run_id, "succeeded", {k: {"checked": v} for k, v in report.checked.items()}, 0)
            if report.changed:
                job_kinds.enqueue_incremental_sync(
                    conn, "reconcile found records missing from the CRM", profile=profile.name
                )
        log.info("reconcile: %s", report.as_dict())

    def housekeeping_job(job: Job, control: JobControl) -> None:
        log.info("housekeeping: %s", housekeeping.run(engine))
        retry_requests()

    return {job_kinds.SYNC: sync_job, job_kinds.RECONCILE: reconcile_job, job_kinds.HOUSEKEEPING: housekeeping_job}


def run_worker(
    database: str | Engine,
    handlers: Mapping[str, Handler],
    options: WorkerOptions,
    *,
    stop: threading.Event | None = None,
) -> WorkerStats:
    """Run workers on the service database's queue until `stop` is set (or, with `options.once`, until nothing
    is due).  `handlers` maps each job kind to what runs it: `make_handlers` and what the composition root adds."""
    engine = _engine(database)
    concurrency = options.concurrency
    if engine.dialect.name == "sqlite" and concurrency > 1:
        log.warning("SQLite serves one worker at a time; running 1 (use Postgres for more)")
        concurrency = 1
    periodic = []
    if options.reconcile_every:
        periodic.append(Periodic(job_kinds.RECONCILE, options.reconcile_every))
    if options.housekeeping_every:
        periodic.append(Periodic(job_kinds.HOUSEKEEPING, options.housekeeping_every))
    stop = stop or threading.Event()

    def make(n: int) -> Worker:
        return Worker(
            engine,
            handlers,
            lease_seconds=options.lease_seconds,
            poll_seconds=options.poll_seconds,
            periodic=periodic,
            stop=stop,
            retry=options.retry,
        )

    return run_workers(make, concurrency, once=options.once)


def summary_steps(profile: str) -> set[str]:
    """Steps that add fields to records another step owns (`update_existing`): not records of their own."""
    return {name for name, step in load_profile(profile).steps.items() if step.operation == "update_existing"}


def _records_and_summaries(
    by_step: dict[tuple[str, str], dict[str, int]], summaries: set[str]
) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, Any]]]:
    """Count CRM records per object, and summary steps apart: an Account that also carries an engagement
    summary is one Account, not two (the old count said 6 where the CRM held 4)."""
    objects: dict[str, dict[str, int]] = {}
    steps: dict[str, dict[str, Any]] = {}
    for (step, object_name), counts in sorted(by_step.items()):
        if step in summaries:
            steps[step] = {"object": object_name, **counts}
            continue
        into = objects.setdefault(object_name, {})
        for status, n in counts.items():
            into[status] = into.get(status, 0) + n
    return objects, steps


def pending_by_object(engine: Engine, profile: str, *, individual_responses: bool = False) -> dict[str, int]:
    """Program records not yet in the CRM in their current form, per object (steps fed by program tables).

    Steps switched per record by a flag (an intake becomes a Lead or a Task) and derived records are left out:
    their pending count cannot be known without running their transforms.
    """
    loaded = load_profile(profile)
    pending: dict[str, int] = {}
    with engine.connect() as conn:
        problems = {
            step: int(n)
            for step, n in conn.execute(
                select(sync_ledger.c.step, func.count())
                .where(sync_ledger.c.status != "synced")
                .group_by(sync_ledger.c.step)
            )
        }
    flags = ["individual_responses"] if individual_responses else []
    for planned in table_steps(loaded, flags=flags):
        spec = loaded.steps[planned.step.name]
        if not isinstance(planned.source, TableSource) or spec.when or spec.unless:
            continue
        total = planned.source.total(engine) or 0
        waiting = total - planned.source.fresh_count(engine) - problems.get(planned.step.name, 0)
        name = planned.step.object_name
        pending[name] = pending.get(name, 0) + max(waiting, 0)
    return pending


def _intake_status(conn: Connection) -> dict[str, Any]:
    """The intake inbox for `status`: rows by status, and the quarantined ones waiting for staff by reason."""
    inbox = InboxRepository(conn)
    waiting = inbox.quarantined_by_reason()
    return {"inbox": inbox.counts_by_status(), "quarantined": sum(waiting.values()), "quarantined_by_reason": waiting}


def sync_status(
    database: str | Engine, *, runs: int = 5, errors: int = 10, profile: str | None = None
) -> dict[str, Any]:
    """Everything `status` shows, as plain JSON-ready values (`pending` per object when a profile is given)."""
    engine = _engine(database)
    pending = pending_by_object(engine, profile) if profile else {}
    with engine.connect() as conn:
        ledger = LedgerRepository(conn)
        repo = JobRepository(conn)
        objects, summaries = _records_and_summaries(
            ledger.counts_by_step(), summary_steps(profile) if profile else set()
        )
        for object_name, n in pending.items():
            objects.setdefault(object_name, {})["pending"] = n
        return {
            "objects": objects,
            "summaries": summaries,
            "errors": [
                {
                    "object": g.object_name,
                    "status": g.status,
                    "code": g.error_code,
                    "count": g.count,
                    "keys": list(g.sample_keys),
                    "message": g.sample_message,
                }
                for g in ledger.error_groups(limit=errors)
            ],
            "jobs": repo.counts_by_state(),
            "intake": _intake_status(conn),
            "dead_letters": [
                {
                    "id": j.id,
                    "kind": j.kind,
                    "attempts": j.attempts,
                    "error": j.last_error,
                    "since": j.updated_at.isoformat(),
                }
                for j in repo.list_jobs(["dead"], limit=20)
            ],
            "runs": [
                {
                    "id": r.id,
                    "mode": r.mode,
                    "status": r.status,
                    "started_at": r.started_at.isoformat(),
                    "seconds": round(r.seconds, 3) if r.seconds is not None else None,
                    "api_calls": r.api_calls,
                    "counts": r.counts,
                    "error": r.error,
                }
                for r in RunRepository(conn).recent(runs)
            ],
        }


def replay(
    database: str | Engine,
    *,
    dead: bool = False,
    rejected: bool = False,
    job_id: int | None = None,
    object_name: str | None = None,
) -> dict[str, Any]:
    """Give failed work another go: dead jobs back in the queue, rejected rows sent again by the next sync."""
    if not (dead or rejected or job_id is not None):
        raise ValueError("say what to replay: --dead, --rejected or --job ID")
    engine = _engine(database)
    result: dict[str, Any] = {}
    with engine.begin() as conn:
        repo = JobRepository(conn)
        if job_id is not None:
            if repo.get(job_id) is None:
                raise ValueError(f"no job {job_id}")
            result["job"] = job_id if repo.replay(job_id) else None
        if dead:
            result["dead_jobs"] = repo.replay_dead()
        if rejected:
            result["rejected_rows"] = LedgerRepository(conn).replay_rejected(object_name)
            result["sync_job"] = job_kinds.enqueue_incremental_sync(conn, "replay of rejected rows")
    return result


def local_crm_exists(url: str) -> bool:
    database = make_url(url).database
    return bool(database) and Path(str(database)).exists()


__all__ = [
    "FatalCrmError",
    "SyncOptions",
    "WorkerOptions",
    "enqueue_sync",
    "local_crm_exists",
    "make_handlers",
    "replay",
    "run_sync",
    "run_worker",
    "sync_status",
]
