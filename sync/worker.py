"""The worker: claim a job, keep its lease alive while it runs, record how it ended, repeat.

- The lease is renewed by a heartbeat thread (every third of the lease).  If renewal fails, another worker may
  already own the job: the handler is told to stop after its current batch and nothing is recorded as ours.
- SIGTERM (and Ctrl-C) asks the handler to finish its current batch; the job is then released (queued again
  without spending an attempt) and the worker exits.  SIGKILL cannot be caught: the lease expires and
  another worker picks the job up; the idempotent upserts make the repeated batch harmless.
- A transient failure is retried with backoff and full jitter within the budget, a fatal one goes straight
  to the dead-letter list (`store.jobs.JobRepository.fail`).
- Periodic jobs (reconcile, housekeeping) are enqueued with one idempotency key per time slot, so any number
  of workers produce exactly one job per slot.
- A lost database connection (a restart, a failover, an operator terminating sessions) is ridden out: the
  claim, the periodic enqueue and the recording of an outcome are retried with capped exponential backoff
  while the heartbeat keeps the lease (a lease that lapses meanwhile is simply claimed again by whoever gets
  there first).  Any other failure of the loop itself ends the thread, and `run_workers` then stops the rest
  and raises `WorkerCrashed`, so the process exits non-zero and its supervisor restarts it.
"""

from __future__ import annotations

import logging
import os
import random
import re
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from types import FrameType
from typing import Any, Protocol

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from connector.base import FatalCrmError, TransientCrmError
from store.jobs import Job, JobRepository, LeaseLostError, utcnow
from sync.retry import RetryPolicy

log = logging.getLogger("ignite_sync.worker")


_SCHEMA_ERROR = re.compile(r"no such (table|column)|has no column|syntax error", re.IGNORECASE)
# Backoff after a lost database connection: 0.1 s, doubling, at most 5 s; each wait is drawn between half
# the step and the step, so threads that lost the database together do not all come back at once.
DB_RETRY_FIRST_SECONDS = 0.1
DB_RETRY_MAX_SECONDS = 5.0


def is_connection_error(exc: BaseException) -> bool:
    """True for a database error that a new connection may cure (lost, refused or terminated connection).

    Anything else (a missing table, a constraint, a bug) is not retried by the loop: it would fail the same
    way forever, and crashing lets a supervisor and its operator see it.
    """
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    # SQLite reports schema mistakes as OperationalError too; those never heal by waiting.
    return isinstance(exc, OperationalError) and not _SCHEMA_ERROR.search(str(exc.orig))


def connection_backoff(failures: int) -> float:
    """Seconds to wait before the `failures`-th retry after a lost connection (jittered, capped)."""
    ceiling = min(DB_RETRY_MAX_SECONDS, DB_RETRY_FIRST_SECONDS * 2 ** min(failures - 1, 16))
    return random.uniform(ceiling / 2, ceiling)


class WorkerCrashed(RuntimeError):
    """A worker thread stopped on an error it could not ride out; the process must exit non-zero."""


class Interrupted(Exception):
    """Raised by a handler that stopped early because the worker is shutting down or lost its lease."""


class Retry(Exception):
    """Raised by a handler for an outcome worth retrying later (e.g. rows hit transient errors)."""

    def __init__(self, message: str, retry_after: float | None = None, report: Any = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.report = report  # what the run did before stopping (a SyncReport), for in-process callers


class JobControl:
    """What a running handler may ask the worker: should I stop after this batch?"""

    def __init__(self, stop: threading.Event) -> None:
        self._stop = stop
        self.lease_lost = threading.Event()

    def should_stop(self) -> bool:
        return self._stop.is_set() or self.lease_lost.is_set()

    def check(self) -> None:
        """Call between batches: raises `Interrupted` once a stop was asked for."""
        if self.should_stop():
            raise Interrupted("lease lost" if self.lease_lost.is_set() else "shutdown requested")


class Handler(Protocol):
    def __call__(self, job: Job, control: JobControl) -> None: ...


@dataclass(frozen=True)
class Periodic:
    """A job the worker enqueues every `interval` (one per time slot, whichever worker gets there first)."""

    kind: str
    interval: timedelta
    payload: dict[str, Any] = field(default_factory=dict)

    def slot_key(self, now_epoch: float) -> str:
        slot = int(now_epoch // self.interval.total_seconds())
        return f"periodic:{self.kind}:{slot}"


@dataclass
class WorkerStats:
    succeeded: int = 0
    retried: int = 0
    dead: int = 0
    released: int = 0
    lost: int = 0

    @property
    def processed(self) -> int:
        return self.succeeded + self.retried + self.dead + self.released + self.lost


def default_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Worker:
    def __init__(
        self,
        engine: Engine,
        handlers: Mapping[str, Handler],
        *,
        owner: str | None = None,
        lease_seconds: float = 60.0,
        poll_seconds: float = 1.0,
        retry: RetryPolicy | None = None,
        periodic: Sequence[Periodic] = (),
        stop: threading.Event | None = None,
        on_event: Callable[[str, Job], None] | None = None,
    ) -> None:
        self.engine = engine
        self.handlers = dict(handlers)
        self.owner = owner or default_owner()
        self.lease_seconds = lease_seconds
        self.poll_seconds = poll_seconds
        self.retry = retry or RetryPolicy()
        self.periodic = list(periodic)
        self.stop = stop or threading.Event()
        self.on_event = on_event
        self.stats = WorkerStats()

    # -- the loop -------------------------------------------------------------------------------------------

    def run(self, *, once: bool = False) -> WorkerStats:
        """Work until stopped; with `once`, until nothing is due (then return).

        A lost database connection is waited out with backoff (see `connection_backoff`); other errors escape.
        """
        failures = 0
        while not self.stop.is_set():
            try:
                if not once:
                    self.enqueue_periodic()
                worked = self.run_one()
            except DBAPIError as exc:
                if not is_connection_error(exc):
                    raise
                failures += 1
                delay = connection_backoff(failures)
                # The error's text is enough to diagnose; parameters are hidden by the engine (hide_parameters).
                log.warning("database unavailable (%s); retrying in %.2fs", _brief(exc), delay)
                self.stop.wait(delay)
                continue
            failures = 0
            if worked:
                continue
            if once:
                break
            self.stop.wait(self.poll_seconds)
        return self.stats

    def enqueue_periodic(self) -> None:
        if not self.periodic:
            return
        now = time.time()
        with self.engine.begin() as conn:
            repo = JobRepository(conn)
            for p in self.periodic:
                repo.enqueue(p.kind, dict(p.payload), idempotency_key=p.slot_key(now))

    def claim(self) -> Job | None:
        with self.engine.begin() as conn:
            return JobRepository(conn).claim(self.owner, self.lease_seconds, kinds=list(self.handlers))

    def run_one(self) -> bool:
        """Claim and run one due job; False when none was due."""
        job = self.claim()
        if job is None:
            return False
        control = JobControl(self.stop)
        done = threading.Event()
        heartbeat = threading.Thread(target=self._heartbeat, args=(job, control, done), daemon=True)
        heartbeat.start()
        try:
            self._execute(job, control)
        finally:
            done.set()
            heartbeat.join()
        return True

    def _heartbeat(self, job: Job, control: JobControl, done: threading.Event) -> None:
        interval = max(self.lease_seconds / 3, 0.05)
        while not done.wait(interval):
            try:
                with self.engine.begin() as conn:
                    held = JobRepository(conn).renew(job, self.lease_seconds)
            except Exception as exc:  # a database hiccup: try again next beat, the lease still has two thirds left
                log.warning("job %s: lease renewal failed (%s); will retry", job.id, _brief(exc))
                continue
            if not held:
                log.warning("job %s: lease lost to another worker; stopping after this batch", job.id)
                control.lease_lost.set()
                return

    def _execute(self, job: Job, control: JobControl) -> None:
        handler = self.handlers.get(job.kind)
        try:
            if handler is None:
                raise FatalCrmError(f"no handler for job kind {job.kind!r}")
            handler(job, control)
        except Interrupted:
            if control.lease_lost.is_set():
                self._count("lost", job)
                return
            self._record(job, "released", lambda repo: repo.release(job))
            return
        except FatalCrmError as exc:
            reason = _describe(exc)
            self._record(job, "dead", lambda repo: repo.fail(job, reason, None))
            return
        except (TransientCrmError, Retry) as exc:
            hint = getattr(exc, "retry_after", None)
            self._retry(job, _describe(exc), hint)
            return
        except Exception as exc:  # an unexpected failure: retried within the budget, visible in `status`
            log.exception("job %s (%s) failed", job.id, job.kind)
            self._retry(job, _describe(exc), None)
            return
        if control.lease_lost.is_set():
            self._count("lost", job)
            return
        self._record(job, "succeeded", lambda repo: repo.succeed(job))

    def _retry(self, job: Job, error: str, hint: float | None) -> None:
        retry_at = self.retry.next_attempt_at(job.attempts, job.first_attempt_at, utcnow(), hint)
        outcome: list[str] = []
        self._record(job, "retried", lambda repo: outcome.append(repo.fail(job, error, retry_at)))
        if outcome[-1:] == ["dead"]:  # the last try is what was written (an earlier one may not have committed)
            self.stats.retried -= 1
            self._count("dead", job)

    def _record(self, job: Job, outcome: str, action: Callable[[JobRepository], object]) -> None:
        """Write the outcome; a lost connection is retried while the heartbeat still holds the lease.

        If the connection broke after the commit reached the database, the retry finds the job no longer
        ours (`LeaseLostError`) and counts it lost: the outcome was recorded, by the first try.  If the lease
        runs out first, the job is counted lost and whoever claims it next runs it again (handlers are
        idempotent), so an outcome is never recorded twice and a job is never left behind.
        """
        deadline = time.monotonic() + self.lease_seconds
        failures = 0
        while True:
            try:
                with self.engine.begin() as conn:
                    action(JobRepository(conn))
            except LeaseLostError:
                outcome = "lost"
            except DBAPIError as exc:
                if not is_connection_error(exc):
                    raise
                failures += 1
                delay = connection_backoff(failures)
                if time.monotonic() + delay >= deadline:
                    log.warning(
                        "job %s: could not record %s before its lease ran out (%s)", job.id, outcome, _brief(exc)
                    )
                    outcome = "lost"
                else:
                    log.warning(
                        "job %s: recording %s failed (%s); retrying in %.2fs", job.id, outcome, _brief(exc), delay
                    )
                    time.sleep(delay)
                    continue
            break
        self._count(outcome, job)

    def _count(self, outcome: str, job: Job) -> None:
        setattr(self.stats, outcome, getattr(self.stats, outcome) + 1)
        log.info("job %s (%s) %s", job.id, job.kind, outcome)
        if self.on_event is not None:
            self.on_event(outcome, job)


def _brief(exc: BaseException) -> str:
    """The error's class and first line: never the SQL parameters, never a multi-line dump."""
    origin = getattr(exc, "orig", None) or exc
    first = (str(origin).strip().splitlines() or [""])[0][:200]
    return f"{type(origin).__name__}: {first}" if first else type(origin).__name__


def _describe(exc: BaseException) -> str:
    code = getattr(exc, "code", None)
    text = str(exc) or type(exc).__name__
    return f"{code}: {text}" if code else f"{type(exc).__name__}: {text}"


def install_signal_handlers(stop: threading.Event) -> None:
    """SIGTERM and SIGINT ask the worker to finish its current batch and exit (main thread only)."""

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: finishing the current batch, then stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)


def run_workers(
    make_worker: Callable[[int], Worker],
    concurrency: int,
    *,
    once: bool = False,
) -> WorkerStats:
    """Run `concurrency` workers as threads of this process (each with its own owner id and leases).

    A thread that dies stops the others (each finishes its current job) and `WorkerCrashed` is raised: a
    process that has quietly lost its workers must not look like a clean shutdown to its supervisor.
    """
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    workers = [make_worker(n) for n in range(concurrency)]
    if concurrency == 1:  # in the calling thread, as before: signals and Ctrl-C behave as they always did
        try:
            return workers[0].run(once=once)
        except Exception as exc:
            log.critical("worker died (%s); stopping the process", _brief(exc))
            raise WorkerCrashed(f"worker died: {_brief(exc)}") from exc
    crashed: list[str] = []

    def guarded(worker: Worker) -> None:
        try:
            worker.run(once=once)
        except BaseException as exc:
            name = threading.current_thread().name
            log.critical("worker thread %s died (%s); stopping the process", name, _brief(exc))
            crashed.append(f"{name}: {_brief(exc)}")
            for w in workers:
                w.stop.set()

    threads = [threading.Thread(target=guarded, args=(w,), name=f"worker-{n}") for n, w in enumerate(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if crashed:
        raise WorkerCrashed("worker thread(s) died: " + "; ".join(crashed))
    total = WorkerStats()
    for w in workers:
        for name in ("succeeded", "retried", "dead", "released", "lost"):
            setattr(total, name, getattr(total, name) + getattr(w.stats, name))
    return total
