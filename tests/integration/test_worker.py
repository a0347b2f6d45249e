"""The worker loop: outcomes of a job become queue states; leases stay alive while a job runs."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, update

from connector.base import FatalCrmError, TransientCrmError
from store.jobs import Job, JobRepository, utcnow
from store.jobs_tables import jobs
from sync.retry import RetryPolicy
from sync.worker import Interrupted, JobControl, Periodic, Worker

FAST_RETRY = RetryPolicy(base_seconds=0.0, cap_seconds=0.0, rng=random.Random(1))


def enqueue(engine: Engine, kind: str, key: str, **payload: object) -> int:
    with engine.begin() as conn:
        return JobRepository(conn).enqueue(kind, dict(payload), idempotency_key=key)


def state_of(engine: Engine, job_id: int) -> Job:
    with engine.connect() as conn:
        job = JobRepository(conn).get(job_id)
    assert job is not None
    return job


def test_a_successful_handler_marks_its_job_succeeded(engine: Engine) -> None:
    seen: list[int] = []
    job_id = enqueue(engine, "echo", "e1")
    stats = Worker(engine, {"echo": lambda job, _c: seen.append(job.id)}).run(once=True)
    assert seen == [job_id] and stats.succeeded == 1
    assert state_of(engine, job_id).state == "succeeded"


def test_a_transient_failure_is_retried_until_it_succeeds(engine: Engine) -> None:
    calls = {"n": 0}

    def flaky(_job: Job, _c: JobControl) -> None:
        calls["n"] += 1
        if calls["n"] < 3:
            raise TransientCrmError("HTTP 503", status=503)

    job_id = enqueue(engine, "flaky", "f1")
    stats = Worker(engine, {"flaky": flaky}, retry=FAST_RETRY).run(once=True)
    assert (stats.retried, stats.succeeded) == (2, 1)
    assert state_of(engine, job_id).state == "succeeded" and state_of(engine, job_id).attempts == 3


def test_a_fatal_failure_goes_straight_to_the_dead_letters_with_its_reason(engine: Engine) -> None:
    def bad_login(_job: Job, _c: JobControl) -> None:
        raise FatalCrmError("authentication failure", code="INVALID_LOGIN")

    job_id = enqueue(engine, "login", "l1")
    stats = Worker(engine, {"login": bad_login}, retry=FAST_RETRY).run(once=True)
    job = state_of(engine, job_id)
    assert stats.dead == 1 and job.state == "dead" and job.last_error == "INVALID_LOGIN: authentication failure"


def test_retries_end_in_the_dead_letters_when_the_budget_is_spent(engine: Engine) -> None:
    def down(_job: Job, _c: JobControl) -> None:
        raise TransientCrmError("still down")

    job_id = enqueue(engine, "down", "d1")
    no_budget = RetryPolicy(base_seconds=10, budget=timedelta(seconds=0))
    stats = Worker(engine, {"down": down}, retry=no_budget).run(once=True)
    assert stats.dead == 1 and state_of(engine, job_id).state == "dead"


def test_a_stop_request_releases_the_job_without_spending_an_attempt(engine: Engine) -> None:
    stop = threading.Event()
    batches: list[int] = []

    def long_job(_job: Job, control: JobControl) -> None:
        for batch in range(100):
            batches.append(batch)
            if batch == 2:
                stop.set()  # as SIGTERM would, from outside
            control.check()

    job_id = enqueue(engine, "long", "s1")
    stats = Worker(engine, {"long": long_job}, stop=stop).run()
    job = state_of(engine, job_id)
    assert batches == [0, 1, 2] and stats.released == 1
    assert job.state == "queued" and job.attempts == 0 and job.lease_owner is None


class QueueClock:
    """The job queue's clock (`store.jobs.utcnow`), moved by the test, which also hears of each lease renewal.

    The queue decides "is this lease over?" by this clock alone, so a test can put a running job past its first
    lease at once, instead of sleeping past it, and know which renewals read the clock after that."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)
        self.renewed = threading.Condition()
        self.renewals_read: list[datetime] = []  # the clock's reading as each renewal began

    def __call__(self) -> datetime:
        return self.now

    def advance(self, by: timedelta) -> datetime:
        self.now += by
        return self.now

    def wait_for_renewal_after(self, moment: datetime) -> bool:
        with self.renewed:
            return self.renewed.wait_for(lambda: any(read >= moment for read in self.renewals_read), timeout=30)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> QueueClock:
    fake = QueueClock()
    monkeypatch.setattr("store.jobs.utcnow", fake)
    renew = JobRepository.renew

    def heard(repo: JobRepository, job: Job, lease_seconds: float) -> bool:
        read = fake.now
        held = renew(repo, job, lease_seconds)
        with fake.renewed:
            fake.renewals_read.append(read)
            fake.renewed.notify_all()
        return held

    monkeypatch.setattr(JobRepository, "renew", heard)
    return fake


def test_the_heartbeat_keeps_a_long_job_leased(engine: Engine, clock: QueueClock) -> None:
    thief_got: list[Job | None] = []

    def long_running(_job: Job, _c: JobControl) -> None:
        past_first_lease = clock.advance(timedelta(hours=1))  # the job has run far longer than its lease
        assert clock.wait_for_renewal_after(past_first_lease), "no heartbeat renewed the lease"
        with engine.begin() as conn:  # only that renewal keeps the job from another worker
            thief_got.append(JobRepository(conn).claim("thief", 60, kinds=["slow"]))

    job_id = enqueue(engine, "slow", "h1")
    Worker(engine, {"slow": long_running}, lease_seconds=0.3).run(once=True)
    assert thief_got == [None]
    assert state_of(engine, job_id).state == "succeeded"


def test_a_worker_that_lost_its_lease_does_not_record_the_outcome(engine: Engine) -> None:
    def stolen(job: Job, control: JobControl) -> None:
        with engine.begin() as conn:  # the lease expires (a long pause) and another worker takes the job
            conn.execute(update(jobs).where(jobs.c.id == job.id).values(lease_expires_at=utcnow()))
            assert JobRepository(conn).claim("other", 60) is not None
        assert control.lease_lost.wait(timeout=30)  # the next heartbeat finds the lease gone
        if control.should_stop():
            raise Interrupted("lease lost")

    job_id = enqueue(engine, "stolen", "x1")
    worker = Worker(engine, {"stolen": stolen}, lease_seconds=0.3)
    stats = worker.run(once=True)
    job = state_of(engine, job_id)
    assert stats.lost == 1 and job.state == "running" and job.lease_owner == "other"


def test_periodic_jobs_are_enqueued_once_per_slot_by_any_number_of_workers(engine: Engine) -> None:
    periodic = [Periodic("housekeeping", timedelta(hours=1))]
    for _ in range(3):
        Worker(engine, {}, periodic=periodic).enqueue_periodic()
    with engine.connect() as conn:
        assert JobRepository(conn).counts_by_state() == {"queued": 1}
