"""The worker rides out lost database connections, and a worker thread that dies fails the process.

The Postgres test terminates the worker's connections (only ours: they carry an application_name unique to the
test, since other runs share the server) at three moments that matter: while claiming a job, while recording
that a job succeeded, and while enqueueing a periodic job.  Each termination kills every connection the
worker holds, pooled or in use, so the statement that triggered it fails exactly as in an outage.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, text
from typer.testing import CliRunner

from cli.app import app as cli
from store.database import make_engine, upgrade_database
from store.jobs import Job, JobRepository
from sync.retry import RetryPolicy
from sync.worker import JobControl, Periodic, Worker, WorkerCrashed, WorkerStats, run_workers
from tests.conftest import sqlite_engine

FAST_RETRY = RetryPolicy(base_seconds=0.0, cap_seconds=0.0, rng=random.Random(1))
LEADS = 60


class ConnectionKiller:
    """Terminates all of the worker's connections the n-th time a chosen kind of statement is about to run."""

    def __init__(self, admin: Engine, application_name: str, triggers: dict[str, int]) -> None:
        self.admin = admin
        self.application_name = application_name
        self.remaining = dict(triggers)
        self.seen: Counter[str] = Counter()
        self.killed: list[tuple[str, int]] = []
        self.lock = threading.Lock()

    @staticmethod
    def kind_of(statement: str, parameters: Any) -> str | None:
        sql = " ".join(statement.split()).lower()
        if sql.startswith("update jobs") and "skip locked" in sql:
            return "claim"
        if sql.startswith("update jobs") and isinstance(parameters, dict) and parameters.get("state") == "succeeded":
            return "complete"
        if sql.startswith("insert into jobs") and isinstance(parameters, dict) and parameters.get("kind") == "tick":
            return "periodic"
        return None

    def before_execute(self, _conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        kind = self.kind_of(statement, parameters)
        if kind is None:
            return
        with self.lock:
            self.seen[kind] += 1
            if self.seen[kind] != self.remaining.get(kind):
                return
        with self.admin.connect() as conn:
            # The two-argument form waits (up to 2 s) until each backend is gone, so the statement fails.
            n = conn.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid, 2000)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND application_name = :app AND pid <> pg_backend_pid()"
                ),
                {"app": self.application_name},
            ).scalar_one()
        self.killed.append((kind, int(n)))


@pytest.fixture
def outage_engines(postgres_schema_url: str) -> Iterator[tuple[Engine, Engine, str]]:
    app = f"ignite-outage-{uuid.uuid4().hex[:8]}"
    engine = make_engine(postgres_schema_url, connect_args={"application_name": app})
    admin = make_engine(postgres_schema_url, connect_args={"application_name": f"{app}-admin"})
    upgrade_database(admin)
    yield engine, admin, app
    engine.dispose()
    admin.dispose()


@pytest.mark.postgres
def test_the_worker_keeps_delivering_every_lead_exactly_once_through_three_database_connection_terminations(
    outage_engines: tuple[Engine, Engine, str],
) -> None:
    engine, admin, app = outage_engines
    with admin.begin() as conn:
        repo = JobRepository(conn)
        for n in range(LEADS):
            repo.enqueue("deliver", {"lead": n}, idempotency_key=f"lead-{n}")

    delivered: Counter[int] = Counter()
    lock = threading.Lock()

    def deliver(job: Job, control: JobControl) -> None:  # a fake CRM: counts what arrives
        del control
        time.sleep(0.01)
        with lock:
            delivered[int(job.payload["lead"])] += 1

    killer = ConnectionKiller(admin, app, {"claim": 8, "complete": 20, "periodic": 30})
    event.listen(engine, "before_cursor_execute", killer.before_execute)
    stop = threading.Event()

    def make(_n: int) -> Worker:
        return Worker(
            engine,
            {"deliver": deliver, "tick": lambda _job, _control: None},
            lease_seconds=3,
            poll_seconds=0.02,
            retry=FAST_RETRY,
            periodic=[Periodic("tick", timedelta(seconds=1))],
            stop=stop,
        )

    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["stats"] = run_workers(make, 4)
        except BaseException as exc:  # recorded for the assertion below
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 12
    try:
        while time.monotonic() < deadline and thread.is_alive():
            with admin.connect() as conn:
                left = conn.execute(
                    text("SELECT count(*) FROM jobs WHERE kind = 'deliver' AND state <> 'succeeded'")
                ).scalar_one()
            if left == 0 and len(killer.killed) == 3:
                break
            time.sleep(0.1)
    finally:
        stop.set()
        thread.join(timeout=20)

    assert "error" not in outcome, outcome.get("error")
    assert sorted(kind for kind, _n in killer.killed) == ["claim", "complete", "periodic"]
    assert all(n >= 1 for _kind, n in killer.killed), killer.killed
    assert dict(delivered) == {n: 1 for n in range(LEADS)}
    with admin.connect() as conn:
        states: dict[str, int] = dict(
            conn.execute(text("SELECT state, count(*) FROM jobs WHERE kind = 'deliver' GROUP BY state")).all()
        )
    assert states == {"succeeded": LEADS}


class BrokenQueueWorker(Worker):
    """A worker whose queue fails in a way no reconnect cures (a bug, a dropped table)."""

    def claim(self) -> Job | None:
        raise RuntimeError("the job queue is broken")


def test_a_worker_thread_that_dies_stops_the_others_and_fails_the_process(tmp_path: Path) -> None:
    engine = sqlite_engine(tmp_path)
    upgrade_database(engine)
    stop = threading.Event()

    def make(n: int) -> Worker:
        if n == 0:
            return BrokenQueueWorker(engine, {}, stop=stop, poll_seconds=0.01)
        return Worker(engine, {}, stop=stop, poll_seconds=0.01)

    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["stats"] = run_workers(make, 3)
        except BaseException as exc:  # recorded for the assertions below
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=10)
    still_running = thread.is_alive()
    stop.set()
    thread.join()
    assert not still_running, "the healthy threads kept running after one died"
    assert isinstance(outcome.get("error"), WorkerCrashed), outcome
    assert "the job queue is broken" in str(outcome["error"])


def test_a_single_worker_that_dies_fails_the_process(tmp_path: Path) -> None:
    engine = sqlite_engine(tmp_path)
    upgrade_database(engine)
    result: WorkerStats | None = None
    with pytest.raises(WorkerCrashed):
        result = run_workers(lambda _n: BrokenQueueWorker(engine, {}, poll_seconds=0.01), 1)
    assert result is None


def test_the_worker_command_exits_non_zero_when_its_queue_is_broken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("IGNITE_DATABASE_URL", f"sqlite:///{tmp_path / 'service.db'}")
    monkeypatch.setenv("IGNITE_LOCAL_CRM_URL", f"sqlite:///{tmp_path / 'crm.db'}")
    runner = CliRunner()
    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0
    engine = sqlite_engine(tmp_path)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE jobs"))  # a mistake no reconnect can cure
    engine.dispose()
    result = runner.invoke(cli, ["worker", "--once"])
    assert result.exit_code == 1, result.output
    assert "worker crashed" in result.output and "worker stopped" not in result.output
