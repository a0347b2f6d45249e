"""Intake jobs share a Salesforce session: a burst of leads costs one login, and a failure costs a fresh one.

Salesforce counts logins per user and hour, and every login is an extra round trip before a lead is written,
so the worker's intake handler keeps the connector each thread built.  These tests run the real
`SalesforceConnector` against the HTTPS sandbox, which counts the sessions it issues.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from connector.base import CrmConnector
from connector.salesforce import SalesforcePolicy
from mappings.profile import load_profile
from mappings.snapshots import load_describes
from sandbox.faults import FaultRule
from sandbox.harness import SandboxHarness
from store.intake import InboxRepository
from sync.intake import INTAKE_JOB, IntakeHandler
from sync.retry import RetryPolicy
from sync.worker import Worker
from tests.web.helpers import compact, standard_headers, submission

PROFILE = "npsp_pmm"
IN_CALL = SalesforcePolicy(backoff_initial=0.001, backoff_max=0.004)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHarness]:
    harness = SandboxHarness(tmp_path_factory.mktemp("sessions-sandbox"), load_describes(PROFILE))
    yield harness
    harness.stop()


@pytest.fixture(autouse=True)
def no_faults(sandbox: SandboxHarness) -> None:
    sandbox.faults()


def post(client: TestClient, n: int) -> None:
    body = compact(submission(email=f"lead{n}@example.org", last_name=f"Lead {n}"))
    answer = client.post("/webhooks/intake/website", content=body, headers=standard_headers(body, msg_id=f"m{n}"))
    assert answer.status_code == 202, answer.text


def handler_for(sandbox: SandboxHarness, engine: Engine, **options: bool) -> tuple[IntakeHandler, list[int]]:
    built: list[int] = []

    def salesforce() -> CrmConnector:
        built.append(1)
        return sandbox.password_connector(policy=IN_CALL)

    return IntakeHandler(engine, salesforce, load_profile(PROFILE), **options), built


def test_a_burst_of_leads_through_one_worker_logs_in_to_salesforce_once(
    client: TestClient, web_engine: Engine, sandbox: SandboxHarness
) -> None:
    crm = sandbox.use(load_describes(PROFILE))
    for n in range(12):
        post(client, n)
    handler, built = handler_for(sandbox, web_engine)
    before = sandbox.state.logins
    try:
        stats = Worker(web_engine, {INTAKE_JOB: handler}, poll_seconds=0.01).run(once=True)
    finally:
        handler.close()
    assert (stats.succeeded, stats.retried, stats.dead) == (12, 0, 0)
    assert (len(built), sandbox.state.logins - before) == (1, 1)
    assert len(crm.query_all("SELECT Id FROM Lead")) == 12


def test_a_connector_per_job_when_asked_logs_in_for_every_lead(
    client: TestClient, web_engine: Engine, sandbox: SandboxHarness
) -> None:
    """The embedded CRM's mode (`keep_connector=False`), seen through the sandbox's login count."""
    sandbox.use(load_describes(PROFILE))
    for n in range(3):
        post(client, n)
    handler, built = handler_for(sandbox, web_engine, keep_connector=False)
    before = sandbox.state.logins
    stats = Worker(web_engine, {INTAKE_JOB: handler}, poll_seconds=0.01).run(once=True)
    assert stats.succeeded == 3
    assert (len(built), sandbox.state.logins - before) == (3, 3)


def test_a_failed_delivery_drops_the_kept_session_so_the_retry_starts_afresh(
    client: TestClient, web_engine: Engine, sandbox: SandboxHarness
) -> None:
    crm = sandbox.use(load_describes(PROFILE))
    for n in range(3):
        post(client, n)
    handler, built = handler_for(sandbox, web_engine)
    # The first job's every in-call attempt at its first query gets a 503: the job fails and is retried later.
    sandbox.faults(FaultRule(endpoint="query", script=["503"] * IN_CALL.max_attempts))
    retry = RetryPolicy(base_seconds=0.01, cap_seconds=0.01)
    worker = Worker(web_engine, {INTAKE_JOB: handler}, retry=retry, poll_seconds=0.01)
    try:
        assert worker.run_one()
        assert (worker.stats.retried, len(built)) == (1, 1)
        time.sleep(0.05)  # the retry falls due
        worker.run(once=True)
    finally:
        handler.close()
    assert (worker.stats.succeeded, worker.stats.dead) == (3, 0)
    assert len(built) == 2  # the failed job's connector was thrown away; the next one was kept for the rest
    with web_engine.connect() as conn:
        assert InboxRepository(conn).counts_by_status() == {"done": 3}
    assert len(crm.query_all("SELECT Id FROM Lead")) == 3
