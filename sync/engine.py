"""The engine: run the planner step by step, send what it decided through a `CrmConnector`, record the results.

Steps run in the profile's dependency order; each step streams its candidate rows in chunks.  Per chunk the
engine reads the ledger entries and the parents' CRM Ids, asks the pure planner what to do, adopts existing
people instead of creating duplicates (match before create), applies the field update policies, sends the
rest in batches, and commits the ledger rows for the chunk.  A crash loses at most the chunk in flight, and
re-sending it is harmless because every write is an upsert on the record's key.

Two kinds of row go out as updates by Id rather than upserts on the key: adopted people, and rows whose
record staff merged into another (the survivor may not carry our key yet).  A campaign whose profile step
lists member statuses gets the missing ones right after it is written, before any member is.

Rows fail as values: a rejected row is written to the ledger with its code and message and the batch goes
on.  Rows that hit a transient error (UNABLE_TO_LOCK_ROW…) are re-sent a couple of times at once, and any
still failing make the run end with `Retry`, so the job comes back later.  Whole calls fail as exceptions
(`TransientCrmError` / `FatalCrmError`) and end the run; the ledger keeps every chunk committed before.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from sqlalchemy import Engine

from connector.base import CrmConnector, RowResult
from store.jobs import utcnow
from store.ledger import LedgerEntry, LedgerRepository
from store.runs import RunRepository
from sync.entries import rejected_entry, without_sending
from sync.health import HealthReport, SyncHealth
from sync.plan import Action, Candidate, ChunkPlan, Decision, parent_refs, plan_chunk
from sync.relink import Relinker, fresh_among
from sync.send import Sender
from sync.steps import PlannedStep, StepDef, StepSource
from sync.targets import TargetFinder
from sync.worker import Interrupted, Retry

__all__ = ["PlannedStep", "Progress", "ProgressCallback", "StepCounts", "StepDef", "StepSource", "SyncEngine"]

COUNT_NAMES = ("created", "updated", "matched", "unchanged", "rejected", "blocked", "invalid", "retry")


@dataclass
class StepCounts:
    created: int = 0
    updated: int = 0
    matched: int = 0
    unchanged: int = 0
    rejected: int = 0
    blocked: int = 0
    invalid: int = 0
    retry: int = 0

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in COUNT_NAMES}

    def add(self, other: Mapping[str, int]) -> None:
        for name in COUNT_NAMES:
            setattr(self, name, getattr(self, name) + int(other.get(name, 0)))

    @property
    def done(self) -> int:
        return sum(self.as_dict().values())


@dataclass(frozen=True)
class Progress:
    """Reported after every chunk, so a caller can draw a bar per object (sync/ itself draws nothing)."""

    step: str
    object_name: str
    total: int | None
    done: int
    counts: dict[str, int]
    finished: bool = False


ProgressCallback = Callable[[Progress], None]


@dataclass
class SyncReport:
    mode: str
    dry_run: bool
    steps: dict[str, StepCounts] = field(default_factory=dict)
    objects: dict[str, str] = field(default_factory=dict)  # step -> CRM object
    api_calls: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    run_id: int | None = None
    status: str = "running"
    error: str | None = None
    health: HealthReport | None = None

    def by_object(self) -> dict[str, dict[str, int]]:
        out: dict[str, StepCounts] = {}
        for step, counts in self.steps.items():
            out.setdefault(self.objects[step], StepCounts()).add(counts.as_dict())
        return {name: c.as_dict() for name, c in out.items()}

    @property
    def total_api_calls(self) -> int:
        return sum(self.api_calls.values())

    @property
    def writes(self) -> int:
        return sum(n for kind, n in self.api_calls.items() if kind not in _READ_CALLS)

    @property
    def pending_retry(self) -> int:
        return sum(c.retry for c in self.steps.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "dry_run": self.dry_run,
            "status": self.status,
            "run_id": self.run_id,
            "seconds": round(self.seconds, 3),
            "objects": self.by_object(),
            "steps": {name: c.as_dict() for name, c in self.steps.items()},
            "api_calls": {"total": self.total_api_calls, **dict(sorted(self.api_calls.items()))},
            "error": self.error,
            "health": self.health.as_dict() if self.health is not None else None,
        }


_READ_CALLS = {"query", "query_more", "describe", "get", "limits"}


def _chunked(items: Iterator[Candidate], size: int) -> Iterator[list[Candidate]]:
    while chunk := list(islice(items, size)):
        yield chunk


@dataclass
class SyncEngine:
    engine: Engine
    crm: CrmConnector
    steps: Sequence[PlannedStep]
    profile: str = "default"
    chunk_size: int = 2000
    batch_size: int = 200
    row_retries: int = 2
    row_retry_pause: float = 0.05
    should_stop: Callable[[], bool] = field(default=lambda: False)
    # Issue and run records in the CRM for development staff (sync/health.py); None: not written.
    health: SyncHealth | None = None
    _relink: Relinker | None = field(default=None, init=False, repr=False)
    _finder: TargetFinder = field(init=False, repr=False)
    _sender: Sender = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._finder = TargetFinder(self.crm)
        # The sender keeps the record types it resolved (and their describes) for the engine's lifetime.
        self._sender = Sender(self.crm, self._finder, self.batch_size, self.row_retries, self.row_retry_pause)

    # -- the run --------------------------------------------------------------------------------------------

    def run(
        self,
        *,
        full: bool = False,
        dry_run: bool = False,
        only: Sequence[str] | None = None,
        progress: ProgressCallback | None = None,
        job_id: int | None = None,
        mode: str | None = None,
    ) -> SyncReport:
        """Sync every step (or the steps writing the objects/steps in `only`); returns what happened.

        Raises `Retry` when rows hit transient errors (the rest is recorded), `Interrupted` when asked to
        stop between chunks, and lets `TransientCrmError`/`FatalCrmError` of whole calls through.
        """
        mode = mode or ("full" if full else "incremental")
        selected = self._select(only)
        report = SyncReport(mode=mode, dry_run=dry_run)
        calls_before = dict(self.crm.counter.calls)
        started = time.monotonic()
        started_at = utcnow()
        if not dry_run:
            with self.engine.begin() as conn:
                report.run_id = RunRepository(conn).start(self.profile, mode, job_id)
        self._relink = None
        if not dry_run:
            # Children follow parents whose CRM Id changed (re-created, merged): sync/relink.py.
            self._relink = Relinker(self.engine, self.crm, [p.step for p in self.steps])
            self._relink.load()
        try:
            if self.health is not None and not dry_run:
                self.health.take_retry_requests()  # staff set Retry requested on an issue: send those rows now
            # Keys a dry run would create, so children planned after them are not reported as blocked.
            would_exist: dict[str, set[str]] = {}
            for planned in selected:
                report.objects[planned.step.name] = planned.step.object_name
                report.steps[planned.step.name] = self._run_step(planned, full, dry_run, progress, would_exist)
            if self._relink is not None and not report.pending_retry:
                self._relink.settle()
            problems = any(c.rejected or c.blocked or c.invalid for c in report.steps.values())
            report.status = "partial" if problems else "succeeded"
            if report.pending_retry:
                report.status = "retry"
            if self.health is not None and not dry_run:
                spent = self._calls_since(calls_before)
                report.health = self.health.record_run(
                    run_id=report.run_id,
                    mode=mode,
                    status=report.status,
                    started=started_at,
                    counts=report.by_object(),
                    wrote=any(kind not in _READ_CALLS for kind in spent),
                    calls_so_far=lambda: sum(self._calls_since(calls_before).values()),
                )
        except Interrupted as exc:
            report.status, report.error = "interrupted", str(exc)
            raise
        except Exception as exc:
            report.status, report.error = "failed", f"{type(exc).__name__}: {exc}"
            raise
        finally:
            report.seconds = time.monotonic() - started
            report.api_calls = self._calls_since(calls_before)
            if report.run_id is not None:
                with self.engine.begin() as conn:
                    RunRepository(conn).finish(
                        report.run_id,
                        report.status,
                        report.by_object(),
                        report.total_api_calls,
                        report.error,
                    )
        if report.pending_retry:
            raise Retry(f"{report.pending_retry} rows hit transient CRM errors; they will be sent again", report=report)
        return report

    def _calls_since(self, before: Mapping[str, int]) -> dict[str, int]:
        calls = self.crm.counter.calls
        return {kind: n - before.get(kind, 0) for kind, n in calls.items() if n - before.get(kind, 0)}

    def _select(self, only: Sequence[str] | None) -> list[PlannedStep]:
        if not only:
            return list(self.steps)
        wanted = {name.lower() for name in only}
        selected = [p for p in self.steps if p.step.name.lower() in wanted or p.step.object_name.lower() in wanted]
        if not selected:
            known = sorted({p.step.object_name for p in self.steps} | {p.step.name for p in self.steps})
            raise ValueError(f"--only {', '.join(only)}: no such object or step; known: {', '.join(known)}")
        return selected

    # -- one step -------------------------------------------------------------------------------------------

    def _run_step(
        self,
        planned: PlannedStep,
        full: bool,
        dry_run: bool,
        progress: ProgressCallback | None,
        would_exist: dict[str, set[str]],
    ) -> StepCounts:
        step, source = planned.step, planned.source
        counts = StepCounts()
        total = source.total(self.engine)
        if not full:
            counts.unchanged += source.fresh_count(self.engine)

        def report(finished: bool = False) -> None:
            if progress is not None:
                progress(Progress(step.name, step.object_name, total, counts.done, counts.as_dict(), finished))

        report()
        candidates = source.candidates(self.engine, full=full)
        if self._relink is not None:
            candidates, added = self._relink.candidates(step, source, candidates, full=full)
            if added:  # rows the source counted as unchanged now go through the planner
                counts.unchanged -= fresh_among(self.engine, step.name, step.fingerprint, added)
        for chunk in _chunked(candidates, self.chunk_size):
            if self.should_stop():
                raise Interrupted("shutdown requested")
            plan = self._plan(step, chunk, full, dry_run, would_exist)
            if dry_run:
                counts.add(self._dry_counts(step, plan, would_exist))
            else:
                counts.add(self._apply(step, plan))
            report()
        if self._relink is not None:
            self._relink.step_done(step.name)
        report(finished=True)
        return counts

    def _plan(
        self,
        step: StepDef,
        chunk: list[Candidate],
        full: bool,
        dry_run: bool,
        would_exist: dict[str, set[str]],
    ) -> ChunkPlan:
        with self.engine.connect() as conn:
            ledger = LedgerRepository(conn)
            entries = ledger.get_many(step.name, (c.key for c in chunk))
            available: dict[str, set[str]] = {}
            for parent_step, keys in parent_refs(chunk).items():
                available[parent_step] = set(ledger.crm_ids(parent_step, keys))
                if dry_run:
                    available[parent_step] |= keys & would_exist.get(parent_step, set())
        plan = plan_chunk(chunk, entries, available, full=full)
        if self._relink is not None:
            plan = self._relink.adjust(step, step.key_field, plan)
        return plan

    def _dry_counts(self, step: StepDef, plan: ChunkPlan, would_exist: dict[str, set[str]]) -> dict[str, int]:
        creates = plan.of(Action.CREATE)
        matched = self._finder.find_matches(step, creates) if step.match_field else {}
        exist = would_exist.setdefault(step.name, set())
        exist.update(d.candidate.key for d in plan.to_send)
        raw = plan.counts()
        return {
            "created": len(creates) - len(matched),
            "matched": len(matched),
            "updated": raw.get("update", 0),
            "unchanged": raw.get("unchanged", 0),
            "rejected": raw.get("still_rejected", 0),
            "blocked": raw.get("blocked", 0),
            "invalid": raw.get("invalid", 0),
        }

    # -- applying a chunk -----------------------------------------------------------------------------------

    def _apply(self, step: StepDef, plan: ChunkPlan) -> dict[str, int]:
        """Record the rows decided without the CRM, find where the rest go, send them, and commit the chunk's
        ledger rows in one transaction."""
        counts, entries = without_sending(step, plan)
        to_send = plan.to_send
        relinked = {d.candidate.key: d.crm_id for d in to_send if d.crm_id and d.entry and d.entry.status == "merged"}
        if relinked:
            conflicts = self._finder.merge_conflicts(step, relinked)
            for d in to_send:
                if d.candidate.key in conflicts:
                    counts["rejected"] += 1
                    entries.append(
                        rejected_entry(step, d, None, "MERGED_WITH_ANOTHER_RECORD", conflicts[d.candidate.key])
                    )
            to_send = [d for d in to_send if d.candidate.key not in conflicts]
            relinked = {key: crm_id for key, crm_id in relinked.items() if key not in conflicts}
        targets = self._finder.before_sending(step, plan.of(Action.CREATE), to_send, relinked)

        def record(name: str, decision: Decision, result: RowResult, entry: LedgerEntry) -> None:
            counts[name] += 1
            entries.append(entry)
            if self._relink is not None:
                self._relink.note(step.name, decision, result, entry)

        self._sender.relink = self._relink
        still_failing = self._sender.send_all(step, to_send, targets, record)
        if still_failing:
            counts["retry"] += still_failing
        with self.engine.begin() as conn:
            LedgerRepository(conn).write(entries)
        return dict(counts)
