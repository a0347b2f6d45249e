"""Nothing accepted is lost and nothing is duplicated while the CRM is away.

The outage is real, not mocked: the local CRM's database file is moved away, so every job's connector
factory fails to open it (TransientCrmError) and the worker schedules retries with backoff; the file comes
back and the same jobs deliver.  (The Salesforce sandbox from branch sfsandbox can replace the local CRM
here once it is merged; the handler only sees the CrmConnector port.)
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from connector.local import LocalCrm
from mappings.profile import load_profile
from mappings.snapshots import load_describes
from service import local_crm_factory
from store.intake import InboxRepository
from store.jobs import JobRepository
from sync.intake import INTAKE_JOB, IntakeHandler
from sync.retry import RetryPolicy
from sync.worker import Worker
from tests.web.helpers import compact, standard_headers, submission


class LongestWait(random.Random):
    """Full jitter at its ceiling, so every retry waits exactly the policy's capped delay (a short one here)."""

    def uniform(self, a: float, b: float) -> float:
        return b


RETRY = RetryPolicy(base_seconds=1.5, cap_seconds=1.5, rng=LongestWait())


@pytest.mark.slow
def test_hundred_submissions_during_an_outage_become_exactly_hundred_leads(
    client: TestClient, web_engine: Engine, tmp_path: Path
) -> None:
    crm_file = tmp_path / "crm.db"
    LocalCrm.create(f"sqlite:///{crm_file}", load_describes("npsp_pmm")).close()
    offline = crm_file.rename(tmp_path / "crm.db.offline")  # the CRM goes away

    for n in range(100):
        body = compact(submission(email=f"person{n}@example.org", last_name=f"Person {n}"))
        headers = standard_headers(body, msg_id=f"msg_outage_{n}")
        assert client.post("/webhooks/intake/website", content=body, headers=headers).status_code == 202
        if n % 10 == 0:  # the sender retries some deliveries: answered 200, nothing new
            assert client.post("/webhooks/intake/website", content=body, headers=headers).status_code == 200

    handler = IntakeHandler(web_engine, local_crm_factory(f"sqlite:///{crm_file}"), load_profile("npsp_pmm"))
    worker = Worker(web_engine, {INTAKE_JOB: handler}, retry=RETRY, poll_seconds=0.01)
    # One attempt per job, exactly: queued jobs fall due before any retry (claims go by due time), and counting
    # claims instead of running `once` until idle keeps a slow machine (a pass longer than the 1.5 s backoff)
    # from retrying some jobs twice in this phase.
    for _ in range(100):
        assert worker.run_one()
    stats = worker.stats
    assert stats.retried == 100 and stats.succeeded == 0 and stats.dead == 0
    with web_engine.connect() as conn:
        assert InboxRepository(conn).counts_by_status() == {"pending": 100}
        assert JobRepository(conn).counts_by_state() == {"failed": 100}

    offline.rename(crm_file)  # the CRM comes back; the retries fall due 1.5 s after each failure
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        worker.run(once=True)
        with web_engine.connect() as conn:
            if JobRepository(conn).counts_by_state() == {"succeeded": 100}:
                break
        time.sleep(0.05)

    with web_engine.connect() as conn:
        assert JobRepository(conn).counts_by_state() == {"succeeded": 100}
        assert InboxRepository(conn).counts_by_status() == {"done": 100}
    crm = LocalCrm.open(f"sqlite:///{crm_file}")
    leads = crm.query_all("SELECT Id, Email, Ignite_Key__c FROM Lead")
    crm.close()
    assert len(leads) == 100
    assert len({lead["Ignite_Key__c"] for lead in leads}) == 100
    assert {lead["Email"] for lead in leads} == {f"person{n}@example.org" for n in range(100)}
