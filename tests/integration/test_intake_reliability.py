"""Nothing accepted is ever lost (issue 13, item 1): 6 people x 8 messages delivered by two worker processes
(two threads each) on one Postgres queue, through a slow CRM where one delivery times out after its write
applied and is retried in between.  Afterwards each person is exactly one Lead and all 48 messages are in
the CRM, each once, as its own Task on that Lead."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connector.local import LocalCrm
from mappings.snapshots import load_describes
from models import IntakeSubmission
from models.keys import email_hash
from store.database import make_engine, upgrade_database
from store.intake import InboxRepository, NewDelivery
from store.jobs import JobRepository
from sync.intake import INTAKE_JOB, INTAKE_MAX_ATTEMPTS

ROOT = Path(__file__).resolve().parents[2]
PEOPLE = 6
MESSAGES = 8


def submissions() -> list[IntakeSubmission]:
    """Interleaved as a burst arrives: every person's first message, then every second one, …"""
    start = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    return [
        IntakeSubmission(
            source="website",
            delivery_id=f"msg_p{p}_m{m}",
            received_at=start + timedelta(seconds=m * PEOPLE + p),
            first_name="Person",
            last_name=f"Number {p}",
            email=f"person{p}@example.org",
            organization=f"Clinic {p}",
            message=f"Message {m} from person {p}.",
        )
        for m in range(MESSAGES)
        for p in range(PEOPLE)
    ]


@pytest.mark.postgres
def test_two_workers_deliver_every_message_of_every_person_once_to_one_lead_each(
    postgres_schema_url: str, tmp_path: Path
) -> None:
    engine = make_engine(postgres_schema_url)
    upgrade_database(engine)
    crm_url = f"sqlite:///{tmp_path / 'crm.db'}"
    LocalCrm.create_database(crm_url, load_describes("npsp_pmm")).close()
    sent = submissions()
    with engine.begin() as conn:
        inbox = InboxRepository(conn)
        stored = inbox.insert_many(
            [
                NewDelivery(
                    source=s.source,
                    delivery_id=s.delivery_id,
                    received_at=s.received_at,
                    content_type="application/json",
                    raw_body=b"{}",
                    submission=s.model_dump(mode="json"),
                    email_hash=email_hash(s.email),
                )
                for s in sent
            ]
        )
        inbox.enqueue_delivery_jobs([row.inbox_id for row in stored], kind=INTAKE_JOB, max_attempts=INTAKE_MAX_ATTEMPTS)
    flaky = sent[PEOPLE * 3 + 2]  # person 2's fourth message times out after it was written
    marker = tmp_path / "timed-out"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    script = str(Path(__file__).with_name("intake_worker_process.py"))
    workers = [
        subprocess.Popen(
            [sys.executable, script, postgres_schema_url, crm_url, str(marker), str(flaky.message)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for worker in workers:
        _, stderr = worker.communicate(timeout=90)
        assert worker.returncode == 0, stderr[-3000:]

    assert marker.exists(), "the timeout was never injected"
    with engine.connect() as conn:
        assert InboxRepository(conn).counts_by_status() == {"done": PEOPLE * MESSAGES}
        assert JobRepository(conn).counts_by_state() == {"succeeded": PEOPLE * MESSAGES}
    crm = LocalCrm.open(crm_url)
    leads = crm.query_all("SELECT Id, Email, Description FROM Lead")
    contacts = crm.query_all("SELECT Id FROM Contact")
    tasks = crm.query_all("SELECT WhoId, Ignite_Key__c, Description FROM Task")
    crm.close()
    engine.dispose()
    lead_of = {str(lead["Email"]): str(lead["Id"]) for lead in leads}
    assert contacts == [] and len(leads) == PEOPLE and len(lead_of) == PEOPLE  # one Lead per person
    texts = " | ".join(str(record["Description"] or "") for record in [*leads, *tasks])
    assert [s.message for s in sent if texts.count(str(s.message)) != 1] == []  # every message, each once
    assert sorted((t["Ignite_Key__c"], t["Description"], t["WhoId"]) for t in tasks) == sorted(
        (s.key, s.message, lead_of[s.email]) for s in sent
    )  # as its own Task, keyed by its submission, on its person's Lead
