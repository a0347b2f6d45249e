"""The sync's reliability promises, with real processes, real databases and the real Salesforce adapter.

- a worker killed with SIGKILL mid-sync: a new worker finishes the job; no duplicates, nothing lost;
- four worker processes on one Postgres queue: every job runs to success exactly once, the CRM is exact;
- through the HTTPS sandbox with 20% injected transient faults: the CRM ends exactly as a fault-free sync
  leaves it, with no duplicates and no lost rows.
"""

from __future__ import annotations

import json
import os
import random
import signal
import ssl
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from syncdata import KEY, PROFILE, describes, local_crm, program, seed

from connector.local import LocalCrm
from store.database import make_engine, upgrade_database
from store.jobs import JobRepository
from store.jobs_tables import sync_ledger, sync_runs
from sync.jobs import SYNC
from sync.retry import RetryPolicy
from sync.runner import enqueue_sync, run_sync
from tests.sync_options import options

ROOT = Path(__file__).resolve().parents[2]
CHECKED = (
    "Account",
    "Opportunity",
    "pmdm__Program__c",
    "pmdm__ProgramCohort__c",
    "pmdm__Service__c",
    "pmdm__ServiceSchedule__c",
    "Contact",
    "pmdm__ProgramEngagement__c",
    "pmdm__ServiceSession__c",
    "pmdm__ServiceDelivery__c",
    "Ignite_Measure__c",
    "Ignite_Cohort_Outcome__c",
)


def worker(database_url: str, crm_url: str, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IGNITE_")}
    env.update({"IGNITE_DATABASE_URL": database_url, "IGNITE_LOCAL_CRM_URL": crm_url, "IGNITE_PROFILE": PROFILE})
    return subprocess.Popen(
        [sys.executable, str(ROOT / "service.py"), "worker", "--reconcile-hours", "0", *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def crm_state(crm: LocalCrm) -> dict[str, list[str]]:
    """Every object's Ignite keys, sorted, duplicates kept (so a duplicate shows up as a repeated key)."""
    return {obj: sorted(str(r[KEY]) for r in crm.query_all(f"SELECT {KEY} FROM {obj}")) for obj in CHECKED}


def reference_state(tmp_path: Path, data: dict) -> dict[str, list[str]]:  # type: ignore[type-arg]
    """What a fault-free, single-process sync of the same program leaves in a fresh CRM."""
    directory = tmp_path / "reference"
    directory.mkdir()
    engine = make_engine(f"sqlite:///{directory / 'svc.db'}")
    upgrade_database(engine)
    seed(engine, data)
    crm, _ = local_crm(directory)
    assert run_sync(engine, crm, options(PROFILE)).status == "succeeded"
    state = crm_state(crm)
    crm.close()
    engine.dispose()
    return state


def assert_no_duplicates(state: dict[str, list[str]]) -> None:
    for obj, keys in state.items():
        repeated = [k for k, n in Counter(keys).items() if n > 1]
        assert not repeated, f"{obj} has duplicate records for {repeated[:5]}"


@pytest.mark.slow
def test_a_worker_killed_mid_sync_is_finished_by_another_without_duplicates_or_losses(tmp_path: Path) -> None:
    data = program(cohorts=10, per_cohort=16, sessions=6)
    expected = reference_state(tmp_path, data)
    database_url = f"sqlite:///{tmp_path / 'svc.db'}"
    engine = make_engine(database_url)
    upgrade_database(engine)
    seed(engine, data)
    crm, crm_url = local_crm(tmp_path)
    job_id = enqueue_sync(engine, reason="test")
    total_rows = sum(len(keys) for keys in expected.values())

    first = worker(database_url, crm_url, "--once", "--lease-seconds", "2", "--chunk-size", "20")
    written = 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and first.poll() is None:
        with engine.connect() as conn:
            written = int(conn.execute(select(func.count()).select_from(sync_ledger)).scalar_one())
        if written >= 200:
            break
        time.sleep(0.01)
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=10)  # reap it and close its pipes
    assert first.returncode == -signal.SIGKILL, "the worker finished before it could be killed; make the program bigger"
    assert 0 < written < total_rows
    with engine.connect() as conn:
        job = JobRepository(conn).get(job_id)
    assert job is not None and job.state == "running"  # its lease is still held by the dead worker

    time.sleep(2.2)  # the lease expires
    second = worker(database_url, crm_url, "--once", "--lease-seconds", "30")
    _, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    with engine.connect() as conn:
        job = JobRepository(conn).get(job_id)
        runs = conn.execute(select(sync_runs.c.status).where(sync_runs.c.job_id == job_id)).scalars().all()
    assert job is not None and job.state == "succeeded" and job.attempts == 2
    assert sorted(runs) == ["running", "succeeded"]  # the killed run never got to record its end
    state = crm_state(crm)
    assert_no_duplicates(state)
    assert state == expected
    assert run_sync(engine, crm, options(PROFILE)).writes == 0  # nothing left over, nothing to redo


@pytest.mark.slow
@pytest.mark.postgres
def test_four_worker_processes_share_one_postgres_queue_and_run_every_job_exactly_once(
    tmp_path: Path, postgres_schema_url: str
) -> None:
    data = program(cohorts=4, per_cohort=8, sessions=3)
    expected = reference_state(tmp_path, data)
    engine = make_engine(postgres_schema_url)
    upgrade_database(engine)
    seed(engine, data)
    crm, crm_url = local_crm(tmp_path)
    with engine.begin() as conn:
        repo = JobRepository(conn)
        job_ids = [
            repo.enqueue(SYNC, {"mode": "incremental", "reason": f"import {n}"}, idempotency_key=f"import:{n}")
            for n in range(12)
        ]
    workers = [worker(postgres_schema_url, crm_url, "--once", "--poll-seconds", "0.05") for _ in range(4)]
    for w in workers:
        _, err = w.communicate(timeout=180)
        assert w.returncode == 0, err
    with engine.connect() as conn:
        repo = JobRepository(conn)
        jobs = [repo.get(i) for i in job_ids]
        run_jobs = Counter(conn.execute(select(sync_runs.c.job_id)).scalars().all())
        owners = Counter(conn.execute(select(sync_runs.c.status)).scalars().all())
    assert all(j is not None and j.state == "succeeded" and j.attempts == 1 for j in jobs)
    assert run_jobs == Counter(dict.fromkeys(job_ids, 1))  # one run per job: nothing ran twice
    assert owners == Counter({"succeeded": 12})
    state = crm_state(crm)
    assert_no_duplicates(state)
    assert state == expected
    engine.dispose()


@pytest.mark.slow
def test_a_sync_through_the_sandbox_with_20_percent_faults_ends_exactly_right(tmp_path: Path, engine: Engine) -> None:
    import httpx

    from connector.salesforce import GivenSession, SalesforceConnector
    from sandbox.harness import FAST_POLICY

    data = program(cohorts=3, per_cohort=8, sessions=3)
    expected = reference_state(tmp_path, data)
    seed(engine, data)
    server = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("sandbox_process.py")), str(tmp_path / "sandbox"), PROFILE],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert server.stdout is not None
        info = json.loads(server.stdout.readline())
        sandbox_crm = LocalCrm.open(info["crm_url"])
        sandbox_crm.ensure_record_types(describes())
        kinds = ("500", "503", "reset", "slow", "lock", "lock_rows", "limit")
        plan = {"seed": 7, "rules": [{"endpoint": "*", "fault": k, "probability": 0.2 / len(kinds)} for k in kinds]}
        admin = httpx.Client(base_url=info["url"], verify=ssl.create_default_context(cafile=info["ca_bundle"]))
        admin.put("/_sandbox/faults", json=plan).raise_for_status()

        def connector(timeout: float) -> SalesforceConnector:
            session = GivenSession(info["session_id"], info["url"])
            return SalesforceConnector(session, ca_bundle=Path(info["ca_bundle"]), timeout=timeout, policy=FAST_POLICY)

        faulty = connector(0.4)
        report = run_sync(
            engine,
            faulty,
            options(
                PROFILE,
                max_rounds=40,
                batch_size=5,  # many small calls: many chances for a fault
                retry=RetryPolicy(base_seconds=0.01, cap_seconds=0.05, rng=random.Random(3)),
            ),
        )
        faulty.close()
        log = admin.get("/_sandbox/state").json()["faults"]["log"]
        fired = Counter(entry["fault"] for entry in log)
        assert sum(fired.values()) >= 10 and len(fired) >= 5, fired  # the faults really happened, of many kinds
        assert report.status == "succeeded", report.as_dict()
        state = crm_state(sandbox_crm)
        assert_no_duplicates(state)
        assert state == expected
        admin.put("/_sandbox/faults", json={"seed": 0, "rules": []}).raise_for_status()
        admin.close()
        clean = connector(10.0)
        assert run_sync(engine, clean, options(PROFILE)).writes == 0
        clean.close()
        sandbox_crm.close()
    finally:
        server.kill()
        server.communicate(timeout=10)


@pytest.mark.slow
def test_sigterm_finishes_the_current_batch_and_gives_the_job_back(tmp_path: Path) -> None:
    data = program(cohorts=10, per_cohort=16, sessions=6)
    database_url = f"sqlite:///{tmp_path / 'svc.db'}"
    engine = make_engine(database_url)
    upgrade_database(engine)
    seed(engine, data)
    crm, crm_url = local_crm(tmp_path)
    job_id = enqueue_sync(engine, reason="test")

    first = worker(database_url, crm_url, "--once", "--chunk-size", "20")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and first.poll() is None:
        with engine.connect() as conn:
            if int(conn.execute(select(func.count()).select_from(sync_ledger)).scalar_one()) >= 200:
                break
        time.sleep(0.01)
    first.send_signal(signal.SIGTERM)
    out, err = first.communicate(timeout=30)
    assert first.returncode == 0, err
    assert "1 released" in out
    with engine.connect() as conn:
        job = JobRepository(conn).get(job_id)
        [run_status] = conn.execute(select(sync_runs.c.status).where(sync_runs.c.job_id == job_id)).scalars().all()
    assert job is not None and job.state == "queued" and job.attempts == 0 and job.lease_owner is None
    assert run_status == "interrupted"

    second = worker(database_url, crm_url, "--once")  # no lease to wait for: the job was given back
    _, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    with engine.connect() as conn:
        job = JobRepository(conn).get(job_id)
    assert job is not None and job.state == "succeeded" and job.attempts == 1
    assert_no_duplicates(crm_state(crm))
    assert run_sync(engine, crm, options(PROFILE)).writes == 0
