"""The durable job queue on SQLite and Postgres: enqueue with the data, lease, retry, dead-letter, replay."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from cli.app import app as cli
from models import Organization
from store import UnitOfWork
from store.jobs import Job, JobRepository, LeaseLostError, utcnow
from store.jobs_tables import jobs


def enqueue(engine: Engine, key: str, **kwargs: object) -> int:
    with engine.begin() as conn:
        return JobRepository(conn).enqueue("sync", {"k": key}, idempotency_key=key, **kwargs)  # type: ignore[arg-type]


def claim(engine: Engine, owner: str = "w1", lease: float = 60, **kwargs: object) -> Job | None:
    with engine.begin() as conn:
        return JobRepository(conn).claim(owner, lease, **kwargs)  # type: ignore[arg-type]


def job_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(jobs)).scalar_one())


def test_same_idempotency_key_returns_the_first_job_and_writes_nothing(engine: Engine) -> None:
    first = enqueue(engine, "intake:abc")
    again = enqueue(engine, "intake:abc")
    assert again == first
    assert job_count(engine) == 1


def test_a_job_commits_or_rolls_back_with_the_data_it_concerns(engine: Engine) -> None:
    org = Organization(key="org:flch", name="Florida Community Hospital", kind="community_hospital")
    with UnitOfWork(engine) as uow:
        uow.records("organizations").upsert_many([org])
        JobRepository(uow.connection).enqueue("sync", {}, idempotency_key="import:1")
        # no commit: leaving the block rolls back both the record and the job
    assert job_count(engine) == 0
    with UnitOfWork(engine) as uow:
        assert uow.records("organizations").count() == 0
        uow.records("organizations").upsert_many([org])
        JobRepository(uow.connection).enqueue("sync", {}, idempotency_key="import:1")
        uow.commit()
    assert job_count(engine) == 1


def test_pending_jobs_with_one_coalesce_key_share_one_job_until_a_worker_claims_it(engine: Engine) -> None:
    a = enqueue(engine, "import:a", coalesce_key="sync:incremental")
    b = enqueue(engine, "import:b", coalesce_key="sync:incremental")
    assert a == b
    job = claim(engine)
    assert job is not None and job.id == a and job.coalesce_key is None
    # Work arriving while the sync runs must get its own job: the running one may already have read past it.
    c = enqueue(engine, "import:c", coalesce_key="sync:incremental")
    assert c != a
    assert job_count(engine) == 2


def test_a_claimed_job_is_leased_to_one_owner_and_counts_an_attempt(engine: Engine) -> None:
    job_id = enqueue(engine, "j1")
    job = claim(engine, "w1")
    assert job is not None
    assert (job.id, job.state, job.lease_owner, job.attempts) == (job_id, "running", "w1", 1)
    assert job.first_attempt_at is not None
    assert claim(engine, "w2") is None


def test_jobs_not_yet_due_are_not_claimed(engine: Engine) -> None:
    enqueue(engine, "later", run_after=utcnow() + timedelta(hours=1))
    assert claim(engine) is None
    with engine.connect() as conn:
        due = JobRepository(conn).next_due_at()
    assert due is not None and due > utcnow()


def test_claim_filters_by_kind(engine: Engine) -> None:
    with engine.begin() as conn:
        repo = JobRepository(conn)
        repo.enqueue("intake", {}, idempotency_key="i1")
        repo.enqueue("sync", {}, idempotency_key="s1")
    job = claim(engine, kinds=["sync"])
    assert job is not None and job.kind == "sync"
    assert claim(engine, kinds=["sync"]) is None


def test_an_expired_lease_lets_another_worker_take_the_job_and_locks_out_the_old_owner(engine: Engine) -> None:
    enqueue(engine, "crashy")
    lost = claim(engine, "w1", lease=0.001)
    assert lost is not None
    time.sleep(0.01)
    taken = claim(engine, "w2", lease=60)
    assert taken is not None and taken.id == lost.id and taken.attempts == 2
    with engine.begin() as conn:
        repo = JobRepository(conn)
        assert repo.renew(lost, 60) is False
        with pytest.raises(LeaseLostError):
            repo.succeed(lost)
        assert repo.renew(taken, 60) is True
        repo.succeed(taken)
        final = repo.get(taken.id)
    assert final is not None and final.state == "succeeded" and final.lease_owner is None


def test_a_failed_attempt_retries_at_the_given_time_then_dead_letters_after_max_attempts(engine: Engine) -> None:
    enqueue(engine, "flaky", max_attempts=2)
    job = claim(engine)
    assert job is not None
    with engine.begin() as conn:
        assert JobRepository(conn).fail(job, "HTTP 503", utcnow() - timedelta(seconds=1)) == "failed"
    job = claim(engine)
    assert job is not None and job.attempts == 2 and job.last_error == "HTTP 503"
    with engine.begin() as conn:
        repo = JobRepository(conn)
        assert repo.fail(job, "HTTP 503 again", utcnow()) == "dead"
        assert repo.counts_by_state() == {"dead": 1}


def test_a_fatal_failure_dead_letters_at_once_and_replay_gives_a_fresh_budget(engine: Engine) -> None:
    job_id = enqueue(engine, "bad-creds")
    job = claim(engine)
    assert job is not None
    with engine.begin() as conn:
        assert JobRepository(conn).fail(job, "INVALID_LOGIN", None) == "dead"
    assert claim(engine) is None
    with engine.begin() as conn:
        assert JobRepository(conn).replay_dead() == [job_id]
    again = claim(engine)
    assert again is not None and again.id == job_id and again.attempts == 1


def test_release_requeues_without_spending_an_attempt(engine: Engine) -> None:
    enqueue(engine, "interrupted")
    job = claim(engine)
    assert job is not None
    with engine.begin() as conn:
        JobRepository(conn).release(job)
    again = claim(engine)
    assert again is not None and again.attempts == 1


def test_a_job_that_kills_every_worker_goes_dead_instead_of_looping(engine: Engine) -> None:
    enqueue(engine, "poison", max_attempts=2)
    assert claim(engine, "w1", lease=0.001) is not None
    time.sleep(0.01)
    assert claim(engine, "w2", lease=0.001) is not None
    time.sleep(0.01)
    assert claim(engine, "w3") is None
    with engine.connect() as conn:
        [job] = JobRepository(conn).list_jobs(["dead"])
    assert "lease expired" in (job.last_error or "")


def test_sweep_marks_jobs_of_vanished_workers_as_due_failures(engine: Engine) -> None:
    enqueue(engine, "vanished")
    assert claim(engine, "w1", lease=0.001) is not None
    time.sleep(0.01)
    with engine.begin() as conn:
        assert JobRepository(conn).sweep_expired_leases() == 1
        [job] = JobRepository(conn).list_jobs(["failed"])
    assert job.lease_owner is None and "w1" in (job.last_error or "")
    assert claim(engine, "w2") is not None


def test_purge_removes_only_old_finished_jobs(engine: Engine) -> None:
    enqueue(engine, "done")
    enqueue(engine, "waiting")
    job = claim(engine)
    assert job is not None
    with engine.begin() as conn:
        JobRepository(conn).succeed(job)
    with engine.begin() as conn:
        repo = JobRepository(conn)
        assert repo.purge(utcnow() + timedelta(seconds=1)) == 1
        with pytest.raises(ValueError, match="finished"):
            repo.purge(utcnow(), states=["queued"])
    assert job_count(engine) == 1


@pytest.mark.postgres
def test_concurrent_claimers_on_postgres_never_share_a_job(postgres_schema_url: str) -> None:
    from store.database import make_engine, upgrade_database

    engine = make_engine(postgres_schema_url, pool_size=8)
    upgrade_database(engine)
    with engine.begin() as conn:
        repo = JobRepository(conn)
        for i in range(200):
            repo.enqueue("sync", {"i": i}, idempotency_key=f"j{i}")
    claimed: list[list[int]] = [[] for _ in range(6)]

    def work(n: int) -> None:
        while (job := claim(engine, f"w{n}")) is not None:
            claimed[n].append(job.id)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    everything = [i for ids in claimed for i in ids]
    assert len(everything) == 200 and len(set(everything)) == 200
    assert sum(1 for ids in claimed if ids) > 1
    engine.dispose()


def test_repeated_imports_coalesce_into_one_pending_incremental_sync(engine: Engine) -> None:
    from sync.jobs import enqueue_incremental_sync

    with UnitOfWork(engine) as uow:
        first = enqueue_incremental_sync(uow.connection, "import organizations.csv")
        uow.commit()
    with UnitOfWork(engine) as uow:
        second = enqueue_incremental_sync(uow.connection, "import participants.csv")
        uow.commit()
    assert first == second
    assert claim(engine, kinds=["sync"]) is not None
    with engine.begin() as conn:
        third = enqueue_incremental_sync(conn, "import attendance.csv")
    assert third != first


def test_the_replay_command_without_a_target_exits_2_naming_the_choices(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IGNITE_DATABASE_URL", f"sqlite:///{tmp_path / 's.db'}")
    result = CliRunner().invoke(cli, ["replay"])
    assert result.exit_code == 2, result.output
    assert "--dead, --rejected or --job" in result.stderr
