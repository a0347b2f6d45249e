"""A Salesforce outage loses no intake and duplicates none: 50 signed posts while every CRM call fails.

The CRM is the real `SalesforceConnector` speaking HTTPS to the sandbox; the sandbox's fault injection (its
admin endpoint, seeded) makes every call fail with a 503 or a connection dropped mid-answer.  The posts go to
the app `service.create_app` builds, signed by the `standardwebhooks` library; the jobs run in the real worker
with the intake handler wired as `ignite-sync worker` wires it.  While the outage lasts the jobs are retried
with the worker's backoff (never dead-lettered) and every submission waits in the inbox with its body.  When
the sandbox recovers it still misbehaves on purpose: some Lead upserts are applied and then answered too late
(past the client timeout), once so often that a whole job fails after its Lead was written and runs again.
At the end the CRM holds exactly one Lead per submission, keyed by it, carrying its message once.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from connector.base import CrmConnector
from connector.salesforce import SalesforcePolicy
from mappings.profile import load_profile
from mappings.snapshots import load_describes
from models import IntakeSubmission
from sandbox.app import SandboxConfig
from sandbox.harness import SandboxHarness
from store.intake import InboxRepository
from store.jobs import JobRepository, utcnow
from sync.intake import CREATED_LEAD, INTAKE_JOB, LINKED_LEAD, IntakeHandler
from sync.options import WorkerOptions
from sync.retry import RetryPolicy
from sync.runner import make_handlers, run_worker
from sync.worker import Worker
from tests.sync_options import housekeeping, options
from tests.web.helpers import compact, standard_headers, submission

PROFILE = "npsp_pmm"
SUBMISSIONS = 50  # enough for every kind of repeat below, five of each
RESENT_WHILE_QUEUED = range(0, SUBMISSIONS, 10)  # the sender repeats these at once
RESENT_AFTER_FAILING = range(5, SUBMISSIONS, 10)  # and these after the worker already failed on them
CLIENT_TIMEOUT = 0.4  # the connector's read timeout; the sandbox's slow answers take longer
SLOW_ANSWER = 1.0
# The production attempt count inside each call (4), with millisecond waits between them.
IN_CALL = SalesforcePolicy(backoff_initial=0.001, backoff_max=0.004)


class LongestWait(random.Random):
    """Full jitter at its ceiling, so every retry waits exactly the policy's capped delay (a short one here)."""

    def uniform(self, a: float, b: float) -> float:
        return b


BACKOFF = 0.3
RETRY = RetryPolicy(base_seconds=BACKOFF, cap_seconds=BACKOFF, rng=LongestWait())

# Every call fails: about a quarter with the connection dropped mid-answer, the rest with a 503.
OUTAGE = {
    "seed": 7,
    "rules": [
        {"endpoint": "*", "fault": "reset", "probability": 0.25},
        {"endpoint": "*", "fault": "503", "probability": 1.0},
    ],
}
# Back, but flaky.  Lead upserts: the first four are applied and answered too late (one job's every in-call
# attempt, so that job fails after its Lead exists), the fifth too (the connector's own retry recovers it);
# then, seeded, a few 503s and dropped answers anywhere.
APPLIED_THEN_LOST = 5
RECOVERY = {
    "seed": 11,
    "rules": [
        {"endpoint": "collections.upsert", "script": ["slow"] * APPLIED_THEN_LOST},
        {"endpoint": "*", "fault": "503", "probability": 0.05},
        {"endpoint": "query", "fault": "reset", "probability": 0.05},
    ],
}


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHarness]:
    harness = SandboxHarness(
        tmp_path_factory.mktemp("outage-sandbox"), load_describes(PROFILE), SandboxConfig(slow_seconds=SLOW_ANSWER)
    )
    yield harness
    harness.stop()


def set_faults(sandbox: SandboxHarness, plan: dict[str, Any]) -> None:
    """Through the sandbox's admin endpoint, as an operator rehearsing an outage would."""
    answer = requests.put(f"{sandbox.url}/_sandbox/faults", json=plan, verify=str(sandbox.ca_bundle), timeout=5)
    assert answer.status_code == 200, answer.text


def post(client: TestClient, n: int) -> int:
    body = compact(submission(email=f"person{n}@example.org", last_name=f"Person {n}", message=f"Message {n}."))
    return client.post(
        "/webhooks/intake/website", content=body, headers=standard_headers(body, msg_id=f"msg_{n}")
    ).status_code


def claim_each_job_once(worker: Worker) -> None:
    """Exactly one attempt per job: claims go by due time, so a job failed in this round cannot come back
    before every job failed in the previous round (or queued) has had its turn."""
    claims = 0
    deadline = time.monotonic() + 20
    while claims < SUBMISSIONS:
        assert time.monotonic() < deadline, f"only {claims} jobs fell due"
        if worker.run_one():
            claims += 1
        else:
            time.sleep(0.02)


def wait_until_all_due(engine: Engine) -> None:
    with engine.connect() as conn:
        latest = max(job.run_after for job in JobRepository(conn).list_jobs(limit=SUBMISSIONS))
    time.sleep(max((latest - utcnow()).total_seconds(), 0) + 0.05)


@pytest.mark.slow
def test_an_outage_of_the_salesforce_sandbox_ends_with_exactly_one_lead_per_submission(
    client: TestClient, web_engine: Engine, sandbox: SandboxHarness
) -> None:
    crm_behind = sandbox.use(load_describes(PROFILE))  # a fresh org for each database this test runs on
    set_faults(sandbox, OUTAGE)

    for n in range(SUBMISSIONS):
        assert post(client, n) == 202
        if n in RESENT_WHILE_QUEUED:
            assert post(client, n) == 200

    def salesforce() -> CrmConnector:  # as `ignite-sync worker`'s factory builds one (kept until a call fails)
        return sandbox.connector(policy=IN_CALL, timeout=CLIENT_TIMEOUT)

    handler = IntakeHandler(web_engine, salesforce, load_profile(PROFILE))
    worker = Worker(web_engine, {INTAKE_JOB: handler}, retry=RETRY, poll_seconds=0.01)

    claim_each_job_once(worker)
    for n in RESENT_AFTER_FAILING:
        assert post(client, n) == 200
    claim_each_job_once(worker)

    assert (worker.stats.retried, worker.stats.succeeded, worker.stats.dead) == (2 * SUBMISSIONS, 0, 0)
    refused = sandbox.state.faults.log
    assert len(refused) == 2 * SUBMISSIONS * IN_CALL.max_attempts  # every attempt reached the sandbox and failed
    assert {entry["fault"] for entry in refused} == {"503", "reset"}
    with web_engine.connect() as conn:
        assert JobRepository(conn).counts_by_state() == {"failed": SUBMISSIONS}
        assert {job.attempts for job in JobRepository(conn).list_jobs(limit=SUBMISSIONS)} == {2}
        inbox = InboxRepository(conn)
        assert inbox.counts_by_status() == {"pending": SUBMISSIONS}
        waiting = [inbox.find("website", f"msg_{n}") for n in range(SUBMISSIONS)]
    assert all(entry is not None and entry.submission is not None for entry in waiting)
    assert crm_behind.query_all("SELECT Id FROM Lead") == []

    wait_until_all_due(web_engine)
    set_faults(sandbox, RECOVERY)  # the sandbox is back (and flaky)
    deadline = time.monotonic() + 20
    while True:
        run_worker(
            web_engine,
            {**make_handlers(web_engine, salesforce, options(PROFILE), housekeeping(PROFILE)), INTAKE_JOB: handler},
            WorkerOptions(once=True, retry=RETRY, poll_seconds=0.01, reconcile_every=None, housekeeping_every=None),
        )
        with web_engine.connect() as conn:
            if JobRepository(conn).counts_by_state() == {"succeeded": SUBMISSIONS}:
                break
        assert time.monotonic() < deadline, "the jobs did not all deliver after the sandbox recovered"
        time.sleep(0.05)

    lost_answers = [e for e in sandbox.state.faults.log if e == {"endpoint": "collections.upsert", "fault": "slow"}]
    assert len(lost_answers) == APPLIED_THEN_LOST
    set_faults(sandbox, {"seed": 0, "rules": []})  # faults cleared: the count below is the CRM's plain answer
    with web_engine.connect() as conn:
        assert max(job.attempts for job in JobRepository(conn).list_jobs(limit=SUBMISSIONS)) > 3  # one job re-ran
        inbox = InboxRepository(conn)
        assert inbox.counts_by_status() == {"done": SUBMISSIONS}
        # A job whose Lead was created but whose answer was lost finds that Lead on its retry and links to it.
        outcomes = inbox.counts_by_outcome()
        assert set(outcomes) <= {CREATED_LEAD, LINKED_LEAD} and sum(outcomes.values()) == SUBMISSIONS
        delivered = [inbox.find("website", f"msg_{n}") for n in range(SUBMISSIONS)]

    check = sandbox.connector(timeout=10)
    leads = check.query_all("SELECT Id, Email, Ignite_Key__c, Description FROM Lead")
    assert len(leads) == SUBMISSIONS
    by_email = {lead["Email"]: lead for lead in leads}
    assert len(by_email) == SUBMISSIONS and len({lead["Ignite_Key__c"] for lead in leads}) == SUBMISSIONS
    for n, entry in enumerate(delivered):
        assert entry is not None and entry.submission is not None
        lead = by_email[f"person{n}@example.org"]
        assert lead["Ignite_Key__c"] == IntakeSubmission.model_validate(entry.submission).key
        assert lead["Description"] is None  # the Lead is the person; the message is its own Task
        assert entry.crm_id == lead["Id"]
    tasks = check.query_all("SELECT WhoId, Description FROM Task")
    assert sorted((t["WhoId"], t["Description"]) for t in tasks) == sorted(
        (by_email[f"person{n}@example.org"]["Id"], f"Message {n}.") for n in range(SUBMISSIONS)
    )  # each message once, however often its job re-ran
