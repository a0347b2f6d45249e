"""Forgetting a person through the real Salesforce adapter and the HTTPS sandbox, with the CRM down in the
middle (issue 18): the service database is cleared at once, the CRM part fails retryably and waits in the
queue, and once the CRM answers again the same job finishes, leaving nothing of the person in the org."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from mappings.profile import load_profile
from mappings.snapshots import load_describes
from sandbox.faults import FaultRule
from sandbox.harness import SandboxHarness
from store import make_engine, upgrade_database
from store.erasure import subject_of
from store.erasure_tables import CRM_PENDING, DONE
from store.jobs_tables import jobs
from sync import runner
from sync.erasure import ERASURE_JOB, ErasureHandler, forget, refresh, run_erasure_jobs
from tests.integration.forgetdata import PROFILE, found_in_service_db, found_in_sqlite, seed_person
from tests.sync_options import options


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxHarness]:
    harness = SandboxHarness(tmp_path / "sandbox", load_describes(PROFILE))
    yield harness
    harness.stop()


def test_a_crm_outage_mid_erasure_leaves_the_job_to_retry_and_it_finishes_when_the_crm_is_back(
    tmp_path: Path, sandbox: SandboxHarness
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'service.db'}")
    upgrade_database(engine)
    person = seed_person(engine, sandbox.connector)
    assert runner.run_sync(engine, sandbox.connector(), options(PROFILE, individual_responses=True)).status == (
        "succeeded"
    )
    crm_file = sandbox.directory / "crm0.db"
    assert found_in_sqlite(crm_file, person.values)
    handler = ErasureHandler(engine, sandbox.connector, load_profile(PROFILE))

    # The org goes down half-way: three records are deleted, then every delete fails (each call's in-call
    # retries included) until the test brings it back.
    deleted_before_outage = 3
    sandbox.faults(
        FaultRule("collections.delete", script=["ok"] * deleted_before_outage),
        FaultRule("collections.delete", fault="503"),
    )
    outcome = forget(engine, subject_of(person.email), policy="delete", requested_by="test", profile=PROFILE)
    run_erasure_jobs(engine, handler)
    outcome = refresh(engine, outcome)

    assert outcome.status == CRM_PENDING
    assert found_in_service_db(engine, person.values) == []  # the service database did not wait for the CRM
    with engine.connect() as connection:
        job = connection.execute(select(jobs).where(jobs.c.kind == ERASURE_JOB)).one()
    assert job.state == "failed" and job.attempts == 1  # retry-waiting, not dead
    assert found_in_sqlite(crm_file, person.values), "the Contact, last to go, is still there"
    assert {e["fault"] for e in sandbox.state.faults.log} == {"503"}
    assert len(sandbox.state.faults.rules[0].script or []) == sandbox.state.faults.rules[0].fired

    # Back up: running `forget` again resumes the same job (a worker would once its retry time came).
    sandbox.faults()
    again = forget(engine, subject_of(person.key), policy="delete", requested_by="test", profile=PROFILE)
    assert again.job_id == job.id and again.counts == {}
    run_erasure_jobs(engine, handler)
    finished = refresh(engine, again)

    assert finished.status == DONE, finished.job_error
    assert finished.crm_result is not None and not finished.crm_result["failed"]
    assert finished.crm_result["deleted"]["Contact"]
    assert found_in_sqlite(crm_file, person.values) == []
    with engine.connect() as connection:
        assert connection.execute(select(jobs.c.state).where(jobs.c.id == job.id)).scalar() == "succeeded"
