"""The intake job against the embedded local CRM: a known person gets a Task, an open Lead gets the message,
anyone else gets exactly one Lead, whatever retries, quotes or injection attempts come along."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from connector.base import RowResult
from connector.local import LocalCrm
from connector.soql import soql_quote
from mappings.profile import load_profile
from mappings.snapshots import load_describes
from models import IntakeSubmission
from store.intake import InboxRepository
from store.jobs import JobRepository
from sync.intake import INTAKE_JOB, IntakeDelivery, IntakeHandler
from sync.maintenance import Housekeeping

PROFILE = load_profile("npsp_pmm")


@pytest.fixture
def crm(tmp_path: Path) -> Iterator[LocalCrm]:
    instance = LocalCrm.create(f"sqlite:///{tmp_path / 'crm.db'}", load_describes("npsp_pmm"))
    yield instance
    instance.close()


def make(delivery: str = "d1", **fields: Any) -> IntakeSubmission:
    data: dict[str, Any] = {
        "source": "website",
        "delivery_id": delivery,
        "received_at": datetime(2026, 11, 27, 10, 0, tzinfo=UTC),
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "ada@example.org",
        "organization": "Analytical Engines Health",
        "message": "Please bring Ignite to our hospital.",
    }
    data.update(fields)
    return IntakeSubmission.model_validate(data)


def rows(crm: LocalCrm, soql: str) -> list[dict[str, Any]]:
    return [record for page in crm.query(soql) for record in page.records]


def test_new_person_becomes_one_lead_keyed_by_the_submission(crm: LocalCrm) -> None:
    submission = make()
    outcome = IntakeDelivery(crm, PROFILE).deliver(submission)
    assert outcome.outcome == "created_lead"
    [lead] = rows(crm, "SELECT Id, Company, LeadSource, Email, Ignite_Key__c, Description FROM Lead")
    assert lead["Id"] == outcome.record_id
    assert (lead["Company"], lead["LeadSource"], lead["Email"]) == (
        "Analytical Engines Health",
        "Web",
        "ada@example.org",
    )
    assert lead["Ignite_Key__c"] == submission.key
    # The job runs again (a worker died after the CRM call, or the answer was lost): the same Lead, not a second
    # one, and not mistaken for someone else's open Lead that gets the message appended again.
    again = IntakeDelivery(crm, PROFILE).deliver(submission)
    assert (again.outcome, again.record_id) == ("created_lead", outcome.record_id)
    [lead] = rows(crm, "SELECT Id, Description FROM Lead")
    assert lead["Description"] == "Please bring Ignite to our hospital."


def test_existing_contact_gets_a_task_with_the_message_not_a_lead(crm: LocalCrm) -> None:
    [contact] = crm.create("Contact", [{"LastName": "O'Brien", "Email": "o'brien@example.org"}])
    submission = make(email="O'Brien@Example.org", last_name="O'Brien")
    outcome = IntakeDelivery(crm, PROFILE).deliver(submission)
    assert (outcome.outcome, outcome.record_id) == ("linked_contact", contact.id)
    [task] = rows(crm, "SELECT WhoId, Subject, Description FROM Task")
    assert task["WhoId"] == contact.id and "Analytical Engines Health" in task["Subject"]
    assert task["Description"] == "Please bring Ignite to our hospital."
    IntakeDelivery(crm, PROFILE).deliver(submission)  # retried: the Task is an upsert on the submission key
    assert len(rows(crm, "SELECT Id FROM Task")) == 1
    assert rows(crm, "SELECT Id FROM Lead") == []


def test_open_lead_with_the_email_gets_the_message_appended_once(crm: LocalCrm) -> None:
    [lead] = crm.create(
        "Lead", [{"LastName": "Lovelace", "Company": "AEH", "Email": "ada@example.org", "Description": "Met at HIMSS."}]
    )
    submission = make(message="Second enquiry, now with budget.")
    for _ in range(2):
        outcome = IntakeDelivery(crm, PROFILE).deliver(submission)
        assert (outcome.outcome, outcome.record_id) == ("updated_lead", lead.id)
    [stored] = rows(crm, "SELECT Id, Description FROM Lead")
    assert stored["Description"].startswith("Met at HIMSS.")
    assert stored["Description"].count("Second enquiry, now with budget.") == 1


@pytest.mark.parametrize(
    "hostile",
    ["x' OR Email != '", "\\' OR Id != null OR Email = '", "a'--", "' OR LastName LIKE '%"],
)
def test_soql_injection_in_any_field_changes_nothing(crm: LocalCrm, hostile: str) -> None:
    [bystander] = crm.create("Contact", [{"LastName": "Bystander", "Email": "someone@example.org"}])
    local = hostile.replace(" ", "").replace("%", "")[:40] or "x"
    submission = make(email=f"{local}@example.org", organization=hostile, last_name=hostile[:80])
    outcome = IntakeDelivery(crm, PROFILE).deliver(submission)
    assert outcome.outcome == "created_lead"  # the bystander Contact was not matched
    [lead] = rows(crm, "SELECT Company, Email FROM Lead")
    assert lead["Company"] == hostile and lead["Email"] == submission.email
    assert rows(crm, "SELECT Id FROM Task") == []
    still = crm.get("Contact", bystander.id or "", ["LastName", "Email"])
    assert still is not None and (still["LastName"], still["Email"]) == ("Bystander", "someone@example.org")


class DuplicateRuleCrm(LocalCrm):
    """The local CRM plus one active Salesforce duplicate rule: a new Lead whose Email matches an existing Lead
    is blocked with DUPLICATES_DETECTED and the matched Ids (what a blocking rule does on the API)."""

    def upsert(self, object_name: str, external_id_field: str, records: Sequence[Any]) -> list[RowResult]:
        if object_name == "Lead":
            results: list[RowResult] = []
            for record in records:
                matches = [
                    r["Id"] for r in self.query_all(f"SELECT Id FROM Lead WHERE Email = {soql_quote(record['Email'])}")
                ]
                if matches:
                    results.append(
                        RowResult(
                            False,
                            error_code="DUPLICATES_DETECTED",
                            message="Use one of these records?",
                            matched_ids=tuple(matches),
                        )
                    )
                else:
                    results.extend(super().upsert(object_name, external_id_field, [record]))
            return results
        return super().upsert(object_name, external_id_field, records)


def test_duplicate_rule_block_adopts_the_matched_lead(tmp_path: Path) -> None:
    crm = DuplicateRuleCrm.create(f"sqlite:///{tmp_path / 'dup.db'}", load_describes("npsp_pmm"))
    [existing] = crm.create("Lead", [{"LastName": "Lovelace", "Company": "AEH", "Email": "ada@example.org"}])
    # A Lead staff created between our open-Lead lookup and our upsert: the rule blocks the new one.
    delivery = IntakeDelivery(crm, PROFILE)
    outcome = delivery._upsert_lead(make())
    assert (outcome.outcome, outcome.record_id) == ("adopted_duplicate", existing.id)
    [lead] = rows(crm, "SELECT Id, Description FROM Lead")
    assert "Please bring Ignite to our hospital." in lead["Description"]
    crm.close()


def test_handler_records_the_outcome_on_the_inbox_row(engine: Engine, crm: LocalCrm) -> None:
    submission = make(delivery="msg_h1")
    with engine.begin() as conn:
        entry = InboxRepository(conn).insert(
            source="website",
            delivery_id="msg_h1",
            received_at=submission.received_at,
            content_type="application/json",
            raw_body=b"{}",
            submission=submission.model_dump(mode="json"),
            email_hash="h",
        )
        job_id = JobRepository(conn).enqueue(INTAKE_JOB, {"inbox_id": entry.id}, idempotency_key="intake:t1")
    with engine.begin() as conn:
        job = JobRepository(conn).claim("test", 60)
    assert job is not None and job.id == job_id
    IntakeHandler(engine, lambda: crm, PROFILE)(job, None)
    with engine.connect() as conn:
        done = InboxRepository(conn).get(entry.id)
    assert done is not None and (done.status, done.outcome, done.crm_object) == ("done", "created_lead", "Lead")
    IntakeHandler(engine, lambda: crm, PROFILE)(job, None)  # settled rows are not delivered twice
    assert len(rows(crm, "SELECT Id FROM Lead")) == 1


def test_housekeeping_purges_delivered_intake_bodies_after_retention_but_keeps_pending_ones(engine: Engine) -> None:
    received = datetime(2026, 1, 1, tzinfo=UTC)
    with engine.begin() as conn:
        inbox = InboxRepository(conn)
        delivered, pending = (
            inbox.insert(
                source="website",
                delivery_id=delivery,
                received_at=received,
                content_type="application/json",
                raw_body=b'{"email": "someone@example.org"}',
                submission={"email": "someone@example.org"},
                email_hash="h",
            )
            for delivery in ("old-delivered", "old-pending")
        )
        inbox.record_outcome(
            delivered.id, outcome="created_lead", crm_object="Lead", crm_id="00Q000000000001", at=received
        )
    report = Housekeeping(keep_intake_bodies=timedelta(days=30)).run(engine, now=received + timedelta(days=31))
    assert report["purged_intake_bodies"] == 1
    with engine.connect() as conn:
        inbox = InboxRepository(conn)
        purged, kept = inbox.get(delivered.id), inbox.get(pending.id)
    assert purged is not None and purged.raw_body is None and purged.submission is None
    assert purged.receipt_id == delivered.receipt_id  # idempotency and the audit trail outlive the personal data
    assert kept is not None and kept.raw_body is not None  # nothing accepted is lost while the CRM is away
