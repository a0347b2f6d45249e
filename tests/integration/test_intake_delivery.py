"""The intake job against the embedded local CRM: a known person gets a Task, an open Lead gets the message,
anyone else gets exactly one Lead, whatever retries, quotes or injection attempts come along."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine

from connector.base import RowResult
from connector.local import LocalCrm
from connector.salesforce.errors import MaybeAppliedError
from connector.soql import soql_quote
from mappings.profile import load_profile
from mappings.snapshots import load_describes
from models import IntakeSubmission
from store.intake import InboxRepository, NewDelivery, StoredDelivery
from store.jobs import JobRepository
from sync.intake import (
    INTAKE_JOB,
    IntakeDelivery,
    IntakeHandler,
    IntakeMappingCheck,
    mapping_problems,
    release_quarantined,
)
from sync.maintenance import Housekeeping
from sync.worker import Worker

PROFILE = load_profile("npsp_pmm")


@pytest.fixture
def crm(tmp_path: Path) -> Iterator[LocalCrm]:
    instance = LocalCrm.create_database(f"sqlite:///{tmp_path / 'crm.db'}", load_describes("npsp_pmm"))
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


def store(
    conn: Connection, delivery_id: str, received_at: datetime, submission: dict[str, Any], raw_body: bytes = b"{}"
) -> StoredDelivery:
    """A website delivery written to the inbox the way the webhook writes it (without its job)."""
    [stored] = InboxRepository(conn).insert_many(
        [NewDelivery("website", delivery_id, received_at, "application/json", raw_body, submission, "h")]
    )
    return stored


def test_new_person_becomes_one_lead_keyed_by_the_submission_with_the_message_in_its_own_task(
    crm: LocalCrm,
) -> None:
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
    assert lead["Description"] is None  # the Lead is the person; the message is the submission's Task
    [task] = rows(crm, "SELECT Id, WhoId, Ignite_Key__c, Description FROM Task")
    assert (task["WhoId"], task["Ignite_Key__c"], task["Description"]) == (
        lead["Id"],
        submission.key,
        "Please bring Ignite to our hospital.",
    )
    # The job runs again (a worker died after the CRM call, or the answer was lost): the same Lead, the same
    # Task, nothing added.
    again = IntakeDelivery(crm, PROFILE).deliver(submission)
    assert again.record_id == outcome.record_id and again.task_id == task["Id"]
    assert len(rows(crm, "SELECT Id FROM Lead")) == 1
    assert len(rows(crm, "SELECT Id FROM Task")) == 1


def test_a_retry_never_rewrites_the_lead_its_lost_answer_created(crm: LocalCrm) -> None:
    submission = make()
    first = IntakeDelivery(crm, PROFILE).deliver(submission)
    # Staff edit the new Lead before the retry: another email (so the email look-up misses it) and a company.
    crm.update("Lead", [{"Id": first.record_id, "Email": "ada.l@example.org", "Company": "AEH (per phone call)"}])
    again = IntakeDelivery(crm, PROFILE).deliver(submission)
    assert again.record_id == first.record_id
    [lead] = rows(crm, "SELECT Email, Company FROM Lead")
    assert (lead["Email"], lead["Company"]) == ("ada.l@example.org", "AEH (per phone call)")
    assert len(rows(crm, "SELECT Id FROM Task")) == 1


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


def test_each_submission_for_an_open_lead_is_its_own_task_and_the_lead_is_never_rewritten(crm: LocalCrm) -> None:
    [lead] = crm.create(
        "Lead", [{"LastName": "Lovelace", "Company": "AEH", "Email": "ada@example.org", "Description": "Met at HIMSS."}]
    )
    first = make("d1", message="First enquiry.")
    second = make("d2", message="Second enquiry, now with budget.")
    for submission in (first, second, first, second):  # each delivered twice (a retry)
        outcome = IntakeDelivery(crm, PROFILE).deliver(submission)
        assert (outcome.outcome, outcome.record_id) == ("linked_lead", lead.id)
    [stored] = rows(crm, "SELECT Id, Description FROM Lead")
    assert stored["Description"] == "Met at HIMSS."  # staff's text, untouched
    tasks = rows(crm, "SELECT WhoId, Ignite_Key__c, Description FROM Task ORDER BY Ignite_Key__c")
    assert sorted((t["Ignite_Key__c"], t["Description"], t["WhoId"]) for t in tasks) == sorted(
        [(first.key, "First enquiry.", lead.id), (second.key, "Second enquiry, now with budget.", lead.id)]
    )


def test_an_nfd_email_reaches_the_contact_typed_in_nfc(crm: LocalCrm) -> None:
    [contact] = crm.create("Contact", [{"LastName": "K", "Email": "jos\u00e9@example.org"}])
    outcome = IntakeDelivery(crm, PROFILE).deliver(make(email="jose\u0301@example.org"))
    assert (outcome.outcome, outcome.record_id) == ("linked_contact", contact.id)
    assert rows(crm, "SELECT Id FROM Lead") == []


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
    [lead] = rows(crm, "SELECT Id, Company, Email FROM Lead")
    assert lead["Company"] == hostile and lead["Email"] == submission.email
    assert [t["WhoId"] for t in rows(crm, "SELECT WhoId FROM Task")] == [lead["Id"]]
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


def test_duplicate_rule_block_gives_the_matched_lead_the_task(tmp_path: Path) -> None:
    crm = DuplicateRuleCrm.create_database(f"sqlite:///{tmp_path / 'dup.db'}", load_describes("npsp_pmm"))
    [existing] = crm.create("Lead", [{"LastName": "Lovelace", "Company": "AEH", "Email": "ada@example.org"}])
    # A Lead staff created between our open-Lead lookup and our upsert: the rule blocks the new one.
    delivery = IntakeDelivery(crm, PROFILE)
    outcome = delivery._new_lead(make())
    assert (outcome.outcome, outcome.record_id) == ("adopted_duplicate", existing.id)
    [lead] = rows(crm, "SELECT Id, Description FROM Lead")
    assert lead["Description"] is None
    [task] = rows(crm, "SELECT WhoId, Description FROM Task")
    assert (task["WhoId"], task["Description"]) == (existing.id, "Please bring Ignite to our hospital.")
    crm.close()


def test_handler_records_the_outcome_on_the_inbox_row(engine: Engine, crm: LocalCrm) -> None:
    submission = make(delivery="msg_h1")
    with engine.begin() as conn:
        entry = store(conn, "msg_h1", submission.received_at, submission.model_dump(mode="json"))
        job_id = JobRepository(conn).enqueue(INTAKE_JOB, {"inbox_id": entry.inbox_id}, idempotency_key="intake:t1")
    with engine.begin() as conn:
        job = JobRepository(conn).claim("test", 60)
    assert job is not None and job.id == job_id
    IntakeHandler(engine, lambda: crm, PROFILE)(job, None)
    with engine.connect() as conn:
        done = InboxRepository(conn).get(entry.inbox_id)
    assert done is not None and (done.status, done.outcome, done.crm_object) == ("done", "created_lead", "Lead")
    IntakeHandler(engine, lambda: crm, PROFILE)(job, None)  # settled rows are not delivered twice
    assert len(rows(crm, "SELECT Id FROM Lead")) == 1


def test_housekeeping_purges_delivered_intake_bodies_after_retention_but_keeps_pending_ones(engine: Engine) -> None:
    received = datetime(2026, 1, 1, tzinfo=UTC)
    with engine.begin() as conn:
        inbox = InboxRepository(conn)
        delivered, pending = (
            store(conn, delivery, received, {"email": "someone@example.org"}, b'{"email": "someone@example.org"}')
            for delivery in ("old-delivered", "old-pending")
        )
        inbox.record_outcome(
            delivered.inbox_id, outcome="created_lead", crm_object="Lead", crm_id="00Q000000000001", at=received
        )
    report = Housekeeping(keep_intake_bodies=timedelta(days=30)).run(engine, now=received + timedelta(days=31))
    assert report["purged_intake_bodies"] == 1
    with engine.connect() as conn:
        inbox = InboxRepository(conn)
        purged, kept = inbox.get(delivered.inbox_id), inbox.get(pending.inbox_id)
    assert purged is not None and purged.raw_body is None and purged.submission is None
    assert purged.receipt_id == delivered.receipt_id  # idempotency and the audit trail outlive the personal data
    assert kept is not None and kept.raw_body is not None  # nothing accepted is lost while the CRM is away


class TimesOutOnceAfterApplying(LocalCrm):
    """The local CRM, but the first Task upsert applies and then loses its answer, as a Salesforce call that
    timed out after the server committed it (MaybeAppliedError)."""

    timed_out = False

    def upsert(self, object_name: str, external_id_field: str, records: Sequence[Any]) -> list[RowResult]:
        results = super().upsert(object_name, external_id_field, records)
        if object_name == "Task" and not type(self).timed_out:
            type(self).timed_out = True
            raise MaybeAppliedError("upsert Task: ReadTimeout before a complete answer")
        return results


def test_a_retry_after_an_unclear_timeout_neither_loses_nor_repeats_a_message(tmp_path: Path) -> None:
    crm = TimesOutOnceAfterApplying.create_database(f"sqlite:///{tmp_path / 'crm.db'}", load_describes("npsp_pmm"))
    first, second = make("d1", message="First."), make("d2", message="Second.")
    with pytest.raises(MaybeAppliedError):
        IntakeDelivery(crm, PROFILE).deliver(first)
    IntakeDelivery(crm, PROFILE).deliver(second)  # delivered between the timeout and its retry
    IntakeDelivery(crm, PROFILE).deliver(first)  # the worker's retry
    [lead] = rows(crm, "SELECT Id FROM Lead")
    tasks = rows(crm, "SELECT WhoId, Description FROM Task")
    assert sorted((t["WhoId"], t["Description"]) for t in tasks) == [(lead["Id"], "First."), (lead["Id"], "Second.")]
    crm.close()


def pending_row(engine: Engine, submission: IntakeSubmission) -> tuple[int, int]:
    with engine.begin() as conn:
        entry = store(conn, submission.delivery_id, submission.received_at, submission.model_dump(mode="json"))
        InboxRepository(conn).enqueue_delivery_jobs([entry.inbox_id], kind=INTAKE_JOB, max_attempts=5)
        job = InboxRepository(conn).get(entry.inbox_id)
    assert job is not None and job.job_id is not None
    return entry.inbox_id, job.job_id


def test_a_mapping_rejection_in_a_job_is_permanent_and_release_with_a_correction_delivers_it(
    engine: Engine, crm: LocalCrm
) -> None:
    """A row accepted before the webhook checked the mapping (or before the profile changed): its delivery
    cannot succeed by waiting, so it goes back to staff at once, and `release --set` fixes it."""
    long_email = "a" * 64 + "@" + "b" * 38 + ".org"
    inbox_id, job_id = pending_row(engine, make("msg_long", email=long_email))
    worker = Worker(engine, {INTAKE_JOB: IntakeHandler(engine, lambda: crm, PROFILE, keep_connector=False)})
    assert worker.run_one()
    with engine.connect() as conn:
        entry = InboxRepository(conn).get(inbox_id)
        job = JobRepository(conn).get(job_id)
    assert entry is not None and (entry.status, entry.quarantine_reason) == ("quarantined", "mapping")
    assert any(p["field"] == "Lead.Email" for p in entry.quarantine_problems or [])
    assert job is not None and job.state == "succeeded"  # not retried for 72 hours
    assert not worker.run_one()
    still = release_quarantined(engine, inbox_id, corrections={"email": long_email}, profile=PROFILE)
    assert not still.released and any(p.field == "Lead.Email" for p in still.problems)
    fixed = release_quarantined(engine, inbox_id, corrections={"email": "ada@example.org"}, profile=PROFILE)
    assert fixed.released
    assert worker.run_one()
    with engine.connect() as conn:
        delivered = InboxRepository(conn).get(inbox_id)
    assert delivered is not None and (delivered.status, delivered.outcome) == ("done", "created_lead")
    assert [r["Email"] for r in rows(crm, "SELECT Email FROM Lead")] == ["ada@example.org"]


@pytest.mark.parametrize("profile_name", ["npsp_pmm", "nonprofit_cloud", "salesforce_core"])
def test_every_profile_delivers_each_submission_as_a_task_keyed_by_the_submission(
    tmp_path: Path, profile_name: str
) -> None:
    """The profiles' intake steps and the local CRM built from each profile's org carry the Task's key field."""
    profile = load_profile(profile_name)
    crm = LocalCrm.create_database(f"sqlite:///{tmp_path / 'crm.db'}", load_describes(profile_name))
    new_person, known_person = make("d1"), make("d2", email="known@example.org", message="Known.")
    [contact] = crm.create("Contact", [{"LastName": "Known", "Email": "known@example.org"}])
    lead = IntakeDelivery(crm, profile).deliver(new_person)
    linked = IntakeDelivery(crm, profile).deliver(known_person)
    key_field = profile.key_field_of("intake_note")
    tasks = rows(crm, f"SELECT WhoId, {key_field}, Description FROM Task")
    assert sorted((t["WhoId"], t[key_field], t["Description"]) for t in tasks) == sorted(
        [
            (lead.record_id, new_person.key, new_person.message),
            (contact.id, known_person.key, known_person.message),
        ]
    )
    assert linked.outcome == "linked_contact"
    crm.close()


@pytest.mark.parametrize("profile_name", ["npsp_pmm", "nonprofit_cloud", "salesforce_core"])
def test_the_webhooks_quick_mapping_check_finds_what_the_full_mapping_refuses(profile_name: str) -> None:
    profile = load_profile(profile_name)
    quick = IntakeMappingCheck(profile)
    long_email = "a" * 64 + "@" + "b" * 38 + ".org"
    for submission in (
        make(),
        make(email=long_email),
        make(role="clinician", organization_kind="fqhc", state="CA", message="x" * 5000),
        make(organization="O" * 255, first_name="F" * 40, last_name="L" * 80, email=long_email),
    ):
        assert quick(submission) == mapping_problems(submission, profile)
    assert [p.field for p in quick(make(email=long_email))] == ["Lead.Email"]
