"""The inbox's batch write (what the group-commit writer runs): idempotent per delivery, never per batch."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, func, select

from store.intake import InboxRepository, NewDelivery
from store.intake_tables import intake_inbox
from store.jobs import JobRepository
from store.jobs_tables import jobs

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def delivery(delivery_id: str, *, source: str = "website", quarantine: str | None = None) -> NewDelivery:
    return NewDelivery(
        source=source,
        delivery_id=delivery_id,
        received_at=NOW,
        content_type="application/json",
        raw_body=f'{{"id":"{delivery_id}"}}'.encode(),
        submission=None if quarantine else {"email": f"{delivery_id}@example.org"},
        email_hash=None if quarantine else "0" * 24,
        quarantine_reason=quarantine,
    )


def row_counts(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        rows = conn.execute(select(func.count()).select_from(intake_inbox)).scalar_one()
        queued = conn.execute(select(func.count()).select_from(jobs)).scalar_one()
    return int(rows), int(queued)


def test_a_delivery_repeated_within_one_batch_resolves_to_the_first_receipt(engine: Engine) -> None:
    with engine.begin() as conn:
        stored = InboxRepository(conn).insert_many([delivery("a"), delivery("b"), delivery("a"), delivery("a")])
    assert [s.created for s in stored] == [True, True, False, False]
    assert stored[0].receipt_id == stored[2].receipt_id == stored[3].receipt_id != stored[1].receipt_id
    assert row_counts(engine) == (2, 0)


def test_a_delivery_already_stored_resolves_to_its_receipt_without_failing_its_batch(engine: Engine) -> None:
    with engine.begin() as conn:
        (first,) = InboxRepository(conn).insert_many([delivery("old")])
    with engine.begin() as conn:
        stored = InboxRepository(conn).insert_many([delivery("new-1"), delivery("old"), delivery("new-2")])
    assert [s.created for s in stored] == [True, False, True]
    assert stored[1] == first.__class__(first.inbox_id, first.receipt_id, created=False)
    assert row_counts(engine) == (3, 0)


def test_the_same_delivery_id_from_two_sources_is_two_deliveries(engine: Engine) -> None:
    with engine.begin() as conn:
        stored = InboxRepository(conn).insert_many([delivery("x", source="website"), delivery("x", source="tally")])
    assert all(s.created for s in stored) and stored[0].receipt_id != stored[1].receipt_id


def test_each_new_row_gets_exactly_one_delivery_job_linked_both_ways(engine: Engine) -> None:
    with engine.begin() as conn:
        inbox = InboxRepository(conn)
        stored = inbox.insert_many([delivery("j1"), delivery("j2"), delivery("j3")])
        ids = [s.inbox_id for s in stored]
        inbox.enqueue_delivery_jobs(ids, kind="intake", max_attempts=7)
        inbox.enqueue_delivery_jobs(ids, kind="intake", max_attempts=7)  # again: every row keeps its one job
    assert row_counts(engine) == (3, 3)
    with engine.connect() as conn:
        inbox = InboxRepository(conn)
        for result in stored:
            entry = inbox.get(result.inbox_id)
            assert entry is not None and entry.job_id is not None
            job = JobRepository(conn).get(entry.job_id)
            assert job is not None
            assert job.payload == {"inbox_id": result.inbox_id}
            assert job.idempotency_key == f"intake:{result.receipt_id}"
            assert (job.kind, job.state, job.attempts, job.max_attempts) == ("intake", "queued", 0, 7)


def test_jobs_made_in_a_batch_are_claimable_like_any_other(engine: Engine) -> None:
    with engine.begin() as conn:
        inbox = InboxRepository(conn)
        stored = inbox.insert_many([delivery("c1")])
        inbox.enqueue_delivery_jobs([stored[0].inbox_id], kind="intake", max_attempts=5)
    with engine.begin() as conn:
        job = JobRepository(conn).claim("worker-1", 30, kinds=["intake"])
    assert job is not None and job.payload == {"inbox_id": stored[0].inbox_id} and job.attempts == 1
