"""The embedded local CRM going away is an outage too: intake jobs wait and retry, and deliver once it is back.

The full outage scenario (100 signed posts while every Salesforce call fails, repeats, answers lost after the
write) runs against the Salesforce sandbox in test_intake_sandbox_outage.py.  What is left here is what only
the local CRM has: its database file can be missing (a volume remounting, a restore in progress), and
`Wiring.intake_crm_factory` (what `ignite-sync worker` uses for intake jobs) must call that transient,
not a reason to dead-letter the submissions.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from connector.local import LocalCrm
from mappings.profile import load_profile
from mappings.snapshots import load_describes
from settings import load_settings
from store.intake import InboxRepository
from store.jobs import JobRepository
from sync.intake import INTAKE_JOB, IntakeHandler
from sync.retry import RetryPolicy
from sync.worker import Worker
from tests.web.helpers import compact, standard_headers, submission
from wiring import Wiring

SUBMISSIONS = 3
BACKOFF = 0.2


class LongestWait(random.Random):
    """Full jitter at its ceiling, so every retry waits exactly the policy's capped delay (a short one here)."""

    def uniform(self, a: float, b: float) -> float:
        return b


def test_a_missing_local_crm_file_makes_intake_jobs_retry_then_deliver_once_it_is_back(
    client: TestClient, web_engine: Engine, tmp_path: Path
) -> None:
    crm_file = tmp_path / "crm.db"
    LocalCrm.create_database(f"sqlite:///{crm_file}", load_describes("npsp_pmm")).close()
    offline = crm_file.rename(tmp_path / "crm.db.offline")  # the CRM goes away

    for n in range(SUBMISSIONS):
        body = compact(submission(email=f"person{n}@example.org", last_name=f"Person {n}"))
        assert client.post("/webhooks/intake/website", content=body, headers=standard_headers(body)).status_code == 202

    crm = Wiring(load_settings(crm="local", local_crm_url=f"sqlite:///{crm_file}")).intake_crm_factory()
    handler = IntakeHandler(web_engine, crm, load_profile("npsp_pmm"))
    retry = RetryPolicy(base_seconds=BACKOFF, cap_seconds=BACKOFF, rng=LongestWait())
    worker = Worker(web_engine, {INTAKE_JOB: handler}, retry=retry, poll_seconds=0.01)
    for _ in range(SUBMISSIONS):  # one attempt each: queued jobs are due before any retry
        assert worker.run_one()
    assert (worker.stats.retried, worker.stats.succeeded, worker.stats.dead) == (SUBMISSIONS, 0, 0)
    with web_engine.connect() as conn:
        assert JobRepository(conn).counts_by_state() == {"failed": SUBMISSIONS}
        assert InboxRepository(conn).counts_by_status() == {"pending": SUBMISSIONS}

    offline.rename(crm_file)  # the CRM comes back
    time.sleep(BACKOFF + 0.05)
    worker.run(once=True)
    with web_engine.connect() as conn:
        assert JobRepository(conn).counts_by_state() == {"succeeded": SUBMISSIONS}
        assert InboxRepository(conn).counts_by_status() == {"done": SUBMISSIONS}
    with LocalCrm.open(f"sqlite:///{crm_file}") as crm:
        emails = sorted(lead["Email"] for lead in crm.query_all("SELECT Email FROM Lead"))
    assert emails == [f"person{n}@example.org" for n in range(SUBMISSIONS)]
