"""The durable job queue: enqueue with the data, claim with a lease, finish, retry or dead-letter.

Every method runs on the caller's connection and never commits, so `enqueue` joins the transaction that
writes the data the job concerns (an import, an intake submission): both commit together or neither does.

Claiming is one `UPDATE … WHERE id = (SELECT … LIMIT 1) RETURNING *`.  On Postgres the inner SELECT takes
`FOR UPDATE SKIP LOCKED`, so any number of workers on any number of machines share one queue without ever
claiming the same job twice.  On SQLite the statement is a single write transaction (SQLite has one writer at
a time), which gives the same guarantee for the one worker SQLite is meant for.  Call `claim` as the first
statement of a short transaction and commit straight after it.

A claim counts as an attempt, so a job that crashes its worker every time still reaches `max_attempts` and
goes dead instead of looping forever; `release` (a clean shutdown) gives the attempt back.  A worker whose
lease expired (crashed, paused, partitioned) loses the job: another worker can claim it, and the old
owner's `succeed`/`fail`/`release` raise `LeaseLostError` instead of overwriting the new owner's state.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Insert,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    case,
    func,
    literal,
    or_,
    select,
    true,
    update,
)

from store.conflicts import insert_for
from store.jobs_tables import jobs
from store.types import UtcDateTime

# High on purpose: the retry policy's time budget (about 72 hours, see sync/retry.py) normally ends a job's
# retries first; this bound stops a job that kills its worker on every attempt.
DEFAULT_MAX_ATTEMPTS = 200

RETRYABLE_STATES = ("queued", "failed")
FINISHED_STATES = ("succeeded", "dead")


class LeaseLostError(RuntimeError):
    """This worker no longer holds the job's lease (it expired and another worker may have claimed it)."""


@dataclass(frozen=True)
class Job:
    id: int
    kind: str
    payload: dict[str, Any]
    state: str
    attempts: int
    max_attempts: int
    run_after: datetime
    lease_owner: str | None
    lease_expires_at: datetime | None
    last_error: str | None
    idempotency_key: str
    coalesce_key: str | None
    first_attempt_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: Any) -> Job:
        m = row._mapping
        return cls(**{name: m[name] for name in cls.__dataclass_fields__})


def utcnow() -> datetime:
    return datetime.now(UTC)


def _now_param(now: datetime) -> ColumnElement[datetime]:
    return literal(now, UtcDateTime())


def jobs_from_select(rows: Select[Any], *, postgres: bool) -> Insert:
    """INSERT … SELECT of one queued job per row of `rows` (columns `payload` and `idempotency_key`).

    Build it once and run it with `JobRepository.enqueue_from_select` (it binds `kind`, `max_attempts` and
    `now`): building a statement costs more than running it for a few dozen rows.
    """
    now = bindparam("now", type_=UtcDateTime())
    source = rows.subquery("new_jobs")
    select_jobs = select(
        bindparam("kind", type_=String()),
        source.c.payload,
        literal("queued"),
        literal(0),
        bindparam("max_attempts", type_=Integer()),
        now,
        source.c.idempotency_key,
        now,
        now,
    ).where(true())  # SQLite: without a WHERE, the ON of ON CONFLICT would parse as a join's ON
    insert = insert_for("postgresql" if postgres else "sqlite")
    columns = ["kind", "payload", "state", "attempts", "max_attempts", "run_after", "idempotency_key"]
    statement = insert(jobs).from_select([*columns, "created_at", "updated_at"], select_jobs)
    return statement.on_conflict_do_nothing()  # type: ignore[no-any-return]


class JobRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    @property
    def _is_postgres(self) -> bool:
        return self.connection.dialect.name == "postgresql"

    # -- producing ------------------------------------------------------------------------------------------

    def enqueue(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        idempotency_key: str,
        run_after: datetime | None = None,
        max_attempts: int | None = None,
        coalesce_key: str | None = None,
    ) -> int:
        """Add a job and return its id; an existing `idempotency_key` returns that job's id and writes nothing.

        With `coalesce_key`, a job with the same key that no worker has claimed yet absorbs this one (its id is
        returned): repeated imports then share one pending sync instead of queueing one each.
        """
        if not idempotency_key:
            raise ValueError(f"job {kind!r}: an idempotency key is required")
        now = utcnow()
        row = {
            "kind": kind,
            "payload": payload,
            "state": "queued",
            "attempts": 0,
            "max_attempts": max_attempts or DEFAULT_MAX_ATTEMPTS,
            "run_after": run_after or now,
            "idempotency_key": idempotency_key,
            "coalesce_key": coalesce_key,
            "created_at": now,
            "updated_at": now,
        }
        insert = insert_for(self.connection)
        # The coalesced job can be claimed between our insert and our look-up; then a retry inserts cleanly.
        for _ in range(5):
            stmt = insert(jobs).values(row).on_conflict_do_nothing().returning(jobs.c.id)
            inserted = self.connection.execute(stmt).scalar()
            if inserted is not None:
                return int(inserted)
            existing = self.connection.execute(
                select(jobs.c.id).where(jobs.c.idempotency_key == idempotency_key)
            ).scalar()
            if existing is None and coalesce_key is not None:
                existing = self.connection.execute(
                    select(jobs.c.id).where(jobs.c.coalesce_key == coalesce_key)
                ).scalar()
            if existing is not None:
                return int(existing)
        raise RuntimeError(f"job {kind!r} {idempotency_key!r}: could not enqueue or find it (constant contention)")

    def enqueue_from_select(
        self, statement: Insert, *, kind: str, max_attempts: int | None = None, **params: Any
    ) -> int:
        """Run a statement from `jobs_from_select` (extra bind values in `params`); how many jobs it added.

        For producers that make many jobs at once from rows already in the database (the intake writer): the
        rows never travel through Python.  A key that already has a job keeps it, as with `enqueue`; no
        coalescing.
        """
        values = {"kind": kind, "max_attempts": max_attempts or DEFAULT_MAX_ATTEMPTS, "now": utcnow(), **params}
        return int(self.connection.execute(statement, values).rowcount or 0)

    # -- consuming ------------------------------------------------------------------------------------------

    def claim(self, owner: str, lease_seconds: float, kinds: Sequence[str] | None = None) -> Job | None:
        """Lease the next due job to `owner` (queued or retry-due, or a running job whose lease expired)."""
        while True:
            now = utcnow()
            due = or_(
                and_(jobs.c.state.in_(RETRYABLE_STATES), jobs.c.run_after <= now),
                and_(jobs.c.state == "running", jobs.c.lease_expires_at < now),
            )
            pick = select(jobs.c.id).where(due)
            if kinds:
                pick = pick.where(jobs.c.kind.in_(list(kinds)))
            pick = pick.order_by(jobs.c.run_after, jobs.c.id).limit(1)
            if self._is_postgres:
                pick = pick.with_for_update(skip_locked=True)
            stmt = (
                update(jobs)
                .where(jobs.c.id == pick.scalar_subquery(), due)
                .values(
                    state="running",
                    lease_owner=owner,
                    lease_expires_at=now + timedelta(seconds=lease_seconds),
                    attempts=jobs.c.attempts + 1,
                    coalesce_key=None,
                    first_attempt_at=func.coalesce(jobs.c.first_attempt_at, _now_param(now)),
                    updated_at=now,
                )
                .returning(*jobs.c)
            )
            row = self.connection.execute(stmt).first()
            if row is None:
                return None
            job = Job.from_row(row)
            if job.attempts <= job.max_attempts:
                return job
            # Only a lease that expired over and over gets here: its workers keep dying on it.
            self._finish(
                job,
                "dead",
                f"{job.last_error or 'no error recorded'}; gave up after {job.max_attempts} attempts "
                "(the lease expired: its worker stopped without finishing)",
            )

    def renew(self, job: Job, lease_seconds: float) -> bool:
        """Extend the lease; False when this owner has lost it (stop working on the job)."""
        result = self.connection.execute(
            update(jobs)
            .where(jobs.c.id == job.id, jobs.c.lease_owner == job.lease_owner, jobs.c.state == "running")
            .values(lease_expires_at=utcnow() + timedelta(seconds=lease_seconds), updated_at=utcnow())
        )
        return result.rowcount == 1

    def succeed(self, job: Job) -> None:
        self._finish(job, "succeeded", None)

    def fail(self, job: Job, error: str, retry_at: datetime | None) -> str:
        """Record a failed attempt: retry at `retry_at`, or dead-letter (no `retry_at`, or out of attempts).

        Returns the job's new state, "failed" (will retry) or "dead".
        """
        if retry_at is None or job.attempts >= job.max_attempts:
            self._finish(job, "dead", error)
            return "dead"
        self._finish(job, "failed", error, run_after=retry_at)
        return "failed"

    def release(self, job: Job, run_after: datetime | None = None) -> None:
        """Give the job back unfinished (clean shutdown): queued again, and this attempt does not count."""
        self._finish(job, "queued", job.last_error, run_after=run_after or utcnow(), refund_attempt=True)

    def _finish(
        self,
        job: Job,
        state: str,
        error: str | None,
        *,
        run_after: datetime | None = None,
        refund_attempt: bool = False,
    ) -> None:
        values: dict[str, Any] = {
            "state": state,
            "lease_owner": None,
            "lease_expires_at": None,
            "last_error": error,
            "updated_at": utcnow(),
        }
        if run_after is not None:
            values["run_after"] = run_after
        if refund_attempt:
            values["attempts"] = case((jobs.c.attempts > 0, jobs.c.attempts - 1), else_=0)
        result = self.connection.execute(
            update(jobs)
            .where(jobs.c.id == job.id, jobs.c.lease_owner == job.lease_owner, jobs.c.state == "running")
            .values(values)
        )
        if result.rowcount != 1:
            raise LeaseLostError(f"job {job.id} ({job.kind}): {job.lease_owner} no longer holds its lease")

    # -- operating ------------------------------------------------------------------------------------------

    def replay(self, job_id: int) -> bool:
        """Queue a dead (or retry-waiting) job again with a fresh attempt budget; False if it is neither."""
        now = utcnow()
        result = self.connection.execute(
            update(jobs)
            .where(jobs.c.id == job_id, jobs.c.state.in_(("dead", "failed")))
            .values(state="queued", attempts=0, first_attempt_at=None, run_after=now, updated_at=now)
        )
        return result.rowcount == 1

    def replay_dead(self, kinds: Sequence[str] | None = None) -> list[int]:
        query = select(jobs.c.id).where(jobs.c.state == "dead").order_by(jobs.c.id)
        if kinds:
            query = query.where(jobs.c.kind.in_(list(kinds)))
        ids = [int(i) for i in self.connection.execute(query).scalars()]
        return [i for i in ids if self.replay(i)]

    def get(self, job_id: int) -> Job | None:
        row = self.connection.execute(select(jobs).where(jobs.c.id == job_id)).first()
        return Job.from_row(row) if row is not None else None

    def list_jobs(
        self, states: Iterable[str] | None = None, *, kinds: Sequence[str] | None = None, limit: int = 50
    ) -> list[Job]:
        query = select(jobs).order_by(jobs.c.id.desc()).limit(limit)
        if states is not None:
            query = query.where(jobs.c.state.in_(list(states)))
        if kinds:
            query = query.where(jobs.c.kind.in_(list(kinds)))
        return [Job.from_row(row) for row in self.connection.execute(query)]

    def counts_by_state(self) -> dict[str, int]:
        rows = self.connection.execute(select(jobs.c.state, func.count()).group_by(jobs.c.state))
        return {state: int(n) for state, n in rows}

    def next_due_at(self, kinds: Sequence[str] | None = None) -> datetime | None:
        """When the next job becomes claimable (now or earlier: something is due); None when nothing waits."""
        candidates = []
        for column, condition in (
            (jobs.c.run_after, jobs.c.state.in_(RETRYABLE_STATES)),
            (jobs.c.lease_expires_at, jobs.c.state == "running"),
        ):
            query = select(func.min(column)).where(condition)
            if kinds:
                query = query.where(jobs.c.kind.in_(list(kinds)))
            value = self.connection.execute(query).scalar()
            if value is not None:
                candidates.append(value)
        return min(candidates) if candidates else None

    def sweep_expired_leases(self) -> int:
        """Mark jobs whose worker vanished as failed-and-due, so `status` tells the truth before a re-claim."""
        now = utcnow()
        result = self.connection.execute(
            update(jobs)
            .where(jobs.c.state == "running", jobs.c.lease_expires_at < now)
            .values(
                state="failed",
                last_error=func.coalesce(jobs.c.lease_owner, "?") + " stopped without finishing (lease expired)",
                lease_owner=None,
                lease_expires_at=None,
                run_after=now,
                updated_at=now,
            )
        )
        return int(result.rowcount)

    def purge(self, finished_before: datetime, states: Sequence[str] = ("succeeded",)) -> int:
        """Delete finished jobs older than `finished_before` (housekeeping); dead jobs are kept unless asked."""
        bad = set(states) - set(FINISHED_STATES)
        if bad:
            raise ValueError(f"only finished jobs can be purged, not {sorted(bad)}")
        result = self.connection.execute(
            jobs.delete().where(jobs.c.state.in_(list(states)), jobs.c.updated_at < finished_before)
        )
        return int(result.rowcount)
