"""The intake inbox's repository.  It never commits: the caller's transaction does.

The web layer writes inbox rows and their jobs in one transaction (`InboxRepository.insert_many` plus
`enqueue_delivery_jobs` on the same connection, a whole group-commit batch at a time), so either a row and its
job both exist or neither does.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BindParameter,
    Connection,
    Insert,
    String,
    Update,
    and_,
    bindparam,
    func,
    literal,
    select,
    tuple_,
    update,
)

from store.conflicts import insert_for
from store.intake_tables import (
    DISCARDED,
    DONE,
    FAILED,
    HONEYPOT,
    INVALID,
    MAPPING,
    PENDING,
    QUARANTINED,
    intake_inbox,
)
from store.jobs import JobRepository, jobs_from_select
from store.jobs_tables import jobs

__all__ = [
    "DISCARDED",
    "DONE",
    "FAILED",
    "HONEYPOT",
    "INVALID",
    "MAPPING",
    "PENDING",
    "QUARANTINED",
    "InboxEntry",
    "InboxRepository",
    "NewDelivery",
    "StoredDelivery",
]


@dataclass(frozen=True, slots=True)
class InboxEntry:
    id: int
    receipt_id: str
    source: str
    delivery_id: str
    received_at: datetime
    status: str
    quarantined: bool
    submission: dict[str, Any] | None
    email_hash: str | None
    outcome: str | None
    crm_object: str | None
    crm_id: str | None
    job_id: int | None
    raw_body: bytes | None
    content_type: str = ""
    quarantine_reason: str | None = None
    quarantine_problems: list[dict[str, str]] | None = None
    candidate: dict[str, Any] | None = None
    ignored_fields: list[str] | None = None
    reviewed_at: datetime | None = None
    review_note: str | None = None
    body_purged_at: datetime | None = None
    last_error: str | None = None

    @property
    def reason(self) -> str:
        """The quarantine reason as staff read it: the code, then each problem's field and rule (no values)."""
        if self.quarantine_reason is None:
            return ""
        problems = "; ".join(f"{p.get('field')}: {p.get('rule')}" for p in self.quarantine_problems or [])
        return f"{self.quarantine_reason} ({problems})" if problems else self.quarantine_reason


@dataclass(frozen=True, slots=True)
class NewDelivery:
    """A verified, validated post on its way into the inbox (what `InboxRepository.insert_many` takes)."""

    source: str
    delivery_id: str
    received_at: datetime
    content_type: str
    raw_body: bytes
    submission: dict[str, Any] | None
    email_hash: str | None
    quarantine_reason: str | None = None
    # For quarantined rows: [{"field", "rule"}] and the fields read before validation (see intake_tables).
    quarantine_problems: list[dict[str, str]] | None = None
    candidate: dict[str, Any] | None = None
    ignored_fields: list[str] | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.source, self.delivery_id)


@dataclass(frozen=True, slots=True)
class StoredDelivery:
    """Where a delivery ended up: its inbox row, and whether this call created it or found it already there."""

    inbox_id: int
    receipt_id: str
    created: bool


def new_receipt_id() -> str:
    return "rcpt_" + secrets.token_hex(12)


def _row(delivery: NewDelivery) -> dict[str, Any]:
    quarantined = delivery.quarantine_reason is not None
    return {
        "receipt_id": new_receipt_id(),
        "source": delivery.source,
        "delivery_id": delivery.delivery_id,
        "received_at": delivery.received_at,
        "content_type": delivery.content_type[:100],
        "body_sha256": hashlib.sha256(delivery.raw_body).hexdigest(),
        "raw_body": delivery.raw_body,
        "submission": delivery.submission,
        "email_hash": delivery.email_hash,
        "quarantined": quarantined,
        "quarantine_reason": delivery.quarantine_reason,
        "quarantine_problems": delivery.quarantine_problems,
        "candidate": delivery.candidate,
        "ignored_fields": delivery.ignored_fields or None,
        "status": QUARANTINED if quarantined else PENDING,
    }


@functools.cache
def _insert_deliveries(dialect: str) -> Any:
    """INSERT … ON CONFLICT (source, delivery_id) DO NOTHING RETURNING what a receipt needs; built once.

    ON CONFLICT DO NOTHING keeps the caller's transaction usable (no savepoint, which pysqlite handles badly)."""
    insert = insert_for(dialect)
    return (
        insert(intake_inbox)
        .on_conflict_do_nothing(index_elements=["source", "delivery_id"])
        .returning(intake_inbox.c.id, intake_inbox.c.receipt_id, intake_inbox.c.source, intake_inbox.c.delivery_id)
    )


@functools.cache
def _delivery_job_statements(dialect: str) -> tuple[Insert, Update]:
    """Built once per dialect: making these statements costs more than running them for a batch."""
    ids: BindParameter[list[int]] = bindparam("ids", expanding=True)
    key = literal("intake:", String()) + intake_inbox.c.receipt_id
    payload = (func.json_build_object if dialect == "postgresql" else func.json_object)(
        literal("inbox_id", String()), intake_inbox.c.id
    )
    rows = select(payload.label("payload"), key.label("idempotency_key")).where(intake_inbox.c.id.in_(ids))
    insert_jobs = jobs_from_select(rows, postgres=dialect == "postgresql")
    job_id = select(jobs.c.id).where(jobs.c.idempotency_key == key).scalar_subquery()
    link_jobs = update(intake_inbox).where(intake_inbox.c.id.in_(ids)).values(job_id=job_id)
    return insert_jobs, link_jobs


def _entry(row: Any) -> InboxEntry:
    return InboxEntry(
        id=row.id,
        receipt_id=row.receipt_id,
        source=row.source,
        delivery_id=row.delivery_id,
        received_at=row.received_at,
        status=row.status,
        quarantined=bool(row.quarantined),
        submission=row.submission,
        email_hash=row.email_hash,
        outcome=row.outcome,
        crm_object=row.crm_object,
        crm_id=row.crm_id,
        job_id=row.job_id,
        raw_body=row.raw_body,
        content_type=row.content_type,
        quarantine_reason=row.quarantine_reason,
        quarantine_problems=row.quarantine_problems,
        candidate=row.candidate,
        ignored_fields=row.ignored_fields,
        reviewed_at=row.reviewed_at,
        review_note=row.review_note,
        body_purged_at=row.body_purged_at,
        last_error=row.last_error,
    )


class InboxRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def find(self, source: str, delivery_id: str) -> InboxEntry | None:
        row = self.connection.execute(
            select(intake_inbox).where(and_(intake_inbox.c.source == source, intake_inbox.c.delivery_id == delivery_id))
        ).first()
        return _entry(row) if row is not None else None

    def get(self, inbox_id: int) -> InboxEntry | None:
        row = self.connection.execute(select(intake_inbox).where(intake_inbox.c.id == inbox_id)).first()
        return _entry(row) if row is not None else None

    def insert_many(self, deliveries: Sequence[NewDelivery]) -> list[StoredDelivery]:
        """Insert a batch of deliveries in the caller's transaction; one answer per delivery, in order.

        Idempotency is per delivery, never per batch: a (source, delivery id) already stored, or repeated
        within the batch, resolves to the existing row (`created` False) instead of failing its neighbours.
        The unique constraint stays the arbiter: rows go in with ON CONFLICT DO NOTHING, so a concurrent
        writer (another app process on Postgres) that stored the same delivery first wins and we read its row.
        Rows are inserted in key order so two writers holding overlapping batches wait on each other in the
        same order instead of deadlocking.
        """
        first: dict[tuple[str, str], NewDelivery] = {}
        for delivery in deliveries:
            first.setdefault(delivery.key, delivery)
        rows = [_row(first[key]) for key in sorted(first)]
        found: dict[tuple[str, str], StoredDelivery] = {}
        if rows:
            statement = _insert_deliveries(self.connection.dialect.name)
            for row in self.connection.execute(statement, rows):
                found[(row.source, row.delivery_id)] = StoredDelivery(row.id, row.receipt_id, created=True)
        missing = [key for key in first if key not in found]
        if missing:
            existing = self.connection.execute(
                select(
                    intake_inbox.c.id, intake_inbox.c.receipt_id, intake_inbox.c.source, intake_inbox.c.delivery_id
                ).where(tuple_(intake_inbox.c.source, intake_inbox.c.delivery_id).in_(missing))
            )
            for row in existing:
                found[(row.source, row.delivery_id)] = StoredDelivery(row.id, row.receipt_id, created=False)
        answers: list[StoredDelivery] = []
        claimed: set[tuple[str, str]] = set()
        for delivery in deliveries:
            stored = found.get(delivery.key)
            if stored is None:  # the conflict was on receipt_id (a 96-bit random clash): let the sender retry
                raise RuntimeError("receipt id collision; retry the request")
            if stored.created and delivery.key in claimed:  # a repeat within this batch: the first one created it
                stored = StoredDelivery(stored.inbox_id, stored.receipt_id, created=False)
            claimed.add(delivery.key)
            answers.append(stored)
        return answers

    def enqueue_delivery_jobs(self, inbox_ids: Sequence[int], *, kind: str, max_attempts: int) -> None:
        """Give each listed inbox row its delivery job ({"inbox_id": id}, idempotency key `intake:<receipt>`)
        and record the job on the row: two set-based statements whatever the number of rows, so a batch of
        hundreds costs about what one costs.  A row that already has its job keeps it."""
        if not inbox_ids:
            return
        insert_jobs, link_jobs = _delivery_job_statements(self.connection.dialect.name)
        ids = list(inbox_ids)
        JobRepository(self.connection).enqueue_from_select(insert_jobs, kind=kind, max_attempts=max_attempts, ids=ids)
        self.connection.execute(link_jobs, {"ids": ids})

    def record_outcome(self, inbox_id: int, *, outcome: str, crm_object: str, crm_id: str, at: datetime) -> None:
        self.connection.execute(
            update(intake_inbox)
            .where(intake_inbox.c.id == inbox_id)
            .values(
                status=DONE, outcome=outcome, crm_object=crm_object, crm_id=crm_id, processed_at=at, last_error=None
            )
        )

    def record_error(self, inbox_id: int, message: str, *, final: bool) -> None:
        values: dict[str, Any] = {"last_error": message[:2000]}
        if final:
            values["status"] = FAILED
        self.connection.execute(update(intake_inbox).where(intake_inbox.c.id == inbox_id).values(**values))

    def purge_bodies(
        self, *, older_than: timedelta, now: datetime | None = None, quarantined_older_than: timedelta | None = None
    ) -> int:
        """Drop raw bodies, submissions and candidate fields of settled rows received before the cut-off.

        Pending rows keep everything however old they are: nothing accepted may be lost while the CRM is away.
        Quarantined rows wait for staff, so they are kept too, unless `quarantined_older_than` is given: past
        that (longer) period an unreviewed row loses its personal data and becomes `discarded`, noted as
        expired.  The row itself (source, delivery id, receipt, outcome, email hash) stays, so idempotency and
        the audit trail outlive the personal data.
        """
        now = now or datetime.now(UTC)
        purged = {"raw_body": None, "submission": None, "candidate": None, "body_purged_at": now}
        unpurged = intake_inbox.c.body_purged_at.is_(None)
        result = self.connection.execute(
            update(intake_inbox)
            .where(
                and_(
                    intake_inbox.c.received_at < now - older_than,
                    intake_inbox.c.status.not_in([PENDING, QUARANTINED]),
                    unpurged,
                )
            )
            .values(**purged)
        )
        count = int(result.rowcount or 0)
        if quarantined_older_than is not None:
            expired = self.connection.execute(
                update(intake_inbox)
                .where(
                    and_(
                        intake_inbox.c.received_at < now - quarantined_older_than,
                        intake_inbox.c.status == QUARANTINED,
                        unpurged,
                    )
                )
                .values(
                    **purged,
                    status=DISCARDED,
                    reviewed_at=now,
                    review_note=f"unreviewed after {quarantined_older_than.days} days; expired",
                )
            )
            count += int(expired.rowcount or 0)
        return count

    # -------------------------------------------------------------------------------- quarantine review

    def quarantined(self, *, limit: int = 200) -> list[InboxEntry]:
        """Rows waiting for staff, oldest first."""
        rows = self.connection.execute(
            select(intake_inbox)
            .where(intake_inbox.c.status == QUARANTINED)
            .order_by(intake_inbox.c.received_at, intake_inbox.c.id)
            .limit(limit)
        )
        return [_entry(row) for row in rows]

    def release(
        self,
        inbox_id: int,
        *,
        submission: dict[str, Any],
        email_hash: str,
        note: str | None,
        at: datetime,
        kind: str,
        max_attempts: int,
    ) -> bool:
        """A quarantined row, now valid, becomes pending with its delivery job; False when it was not
        quarantined (already released or discarded), so releasing twice enqueues once.  The status guard
        in the UPDATE (not a read before it) decides between two staff releasing at the same moment; the
        job's idempotency key (`intake:<receipt>`) would catch a second job anyway."""
        result = self.connection.execute(
            update(intake_inbox)
            .where(and_(intake_inbox.c.id == inbox_id, intake_inbox.c.status == QUARANTINED))
            .values(
                status=PENDING,
                quarantined=False,
                submission=submission,
                email_hash=email_hash,
                reviewed_at=at,
                review_note=note,
            )
        )
        if not result.rowcount:
            return False
        # A row quarantined by its delivery job (the mapping refused it) already had a job, which has ended:
        # the release gets a job of its own, keyed by the release, so the corrected submission is delivered.
        row = self.connection.execute(
            select(intake_inbox.c.receipt_id, intake_inbox.c.job_id).where(intake_inbox.c.id == inbox_id)
        ).one()
        if row.job_id is None:
            self.enqueue_delivery_jobs([inbox_id], kind=kind, max_attempts=max_attempts)
            return True
        job_id = JobRepository(self.connection).enqueue(
            kind,
            {"inbox_id": inbox_id},
            idempotency_key=f"intake:{row.receipt_id}:released:{at.isoformat()}",
            max_attempts=max_attempts,
        )
        self.connection.execute(update(intake_inbox).where(intake_inbox.c.id == inbox_id).values(job_id=job_id))
        return True

    def requarantine(
        self, inbox_id: int, *, reason: str, problems: list[dict[str, str]], candidate: dict[str, Any]
    ) -> bool:
        """A pending row whose delivery found a problem no retry can fix goes back to staff: quarantined with
        the problems (field and rule) and the fields to correct; False if it was no longer pending."""
        result = self.connection.execute(
            update(intake_inbox)
            .where(and_(intake_inbox.c.id == inbox_id, intake_inbox.c.status == PENDING))
            .values(
                status=QUARANTINED,
                quarantined=True,
                quarantine_reason=reason,
                quarantine_problems=problems,
                candidate=candidate,
                submission=None,
                last_error=f"{reason}: " + "; ".join(f"{p['field']}: {p['rule']}" for p in problems),
            )
        )
        return bool(result.rowcount)

    def discard(self, inbox_id: int, *, note: str, at: datetime) -> bool:
        """A quarantined row staff judged not a lead (spam, a test): terminal, purged like a delivered row."""
        result = self.connection.execute(
            update(intake_inbox)
            .where(and_(intake_inbox.c.id == inbox_id, intake_inbox.c.status == QUARANTINED))
            .values(status=DISCARDED, reviewed_at=at, review_note=note)
        )
        return bool(result.rowcount)

    def quarantined_by_reason(self) -> dict[str, int]:
        rows = self.connection.execute(
            select(intake_inbox.c.quarantine_reason, func.count())
            .where(intake_inbox.c.status == QUARANTINED)
            .group_by(intake_inbox.c.quarantine_reason)
        )
        return {str(reason or "unknown"): int(n) for reason, n in rows}

    def counts_by_status(self) -> dict[str, int]:
        rows = self.connection.execute(select(intake_inbox.c.status, func.count()).group_by(intake_inbox.c.status))
        return {str(status): int(n) for status, n in rows}

    def counts_by_outcome(self) -> dict[str, int]:
        rows = self.connection.execute(
            select(intake_inbox.c.outcome, func.count())
            .where(intake_inbox.c.outcome.is_not(None))
            .group_by(intake_inbox.c.outcome)
        )
        return {str(outcome): int(n) for outcome, n in rows}
