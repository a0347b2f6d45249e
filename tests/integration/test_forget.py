"""Forgetting a person (issue 18): afterwards nothing of them is left in the service database or the CRM the
sync wrote, the cohort aggregates leave them out, and running it again changes nothing.

In process, against the local CRM.  The person has attendance, survey answers (sent to the CRM individually),
an intake submission stored as program data, one delivered to the CRM and one quarantined; staff logged a Task
on their Contact by hand.  Intake columns are encrypted at rest, so the search reads them as the app does.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from connector.local import LocalCrm
from ingest import import_rows
from ingest.reader import SourceRow
from mappings.profile import load_profile
from models import IntakeSubmission
from models.keys import email_hash
from store import make_engine, upgrade_database
from store.encryption import Keyring, install_keyring, new_key
from store.erasure import allow_reimport, subject_of
from store.erasure_tables import erasures
from store.exports_tables import export_downloads
from store.intake import InboxRepository, NewDelivery
from store.tables import grants
from sync import runner
from sync.erasure import ErasureHandler, forget, refresh, run_erasure_jobs
from sync.intake import ERASED, INTAKE_JOB, INTAKE_MAX_ATTEMPTS, IntakeHandler
from sync.options import WorkerOptions
from sync.worker import Worker
from tests.integration.forgetdata import (
    PROFILE,
    Person,
    found_in_bytes,
    found_in_service_db,
    found_in_sqlite,
    seed_person,
)
from tests.sync_options import housekeeping, options
from wiring import open_local_crm


@pytest.fixture(autouse=True)
def encrypted_intake() -> Iterator[None]:
    install_keyring(Keyring([new_key()]))
    yield
    install_keyring(None)


class World:
    def __init__(self, tmp_path: Path) -> None:
        self.db_path = tmp_path / "service.db"
        self.crm_path = tmp_path / "crm.db"
        self.crm_url = f"sqlite:///{self.crm_path}"
        self.engine = make_engine(f"sqlite:///{self.db_path}")
        upgrade_database(self.engine)
        self.crm_factory = lambda: open_local_crm(self.crm_url, PROFILE)

    def sync(self) -> Any:
        crm = self.crm_factory()
        try:
            return runner.run_sync(self.engine, crm, options(PROFILE, individual_responses=True))
        finally:
            crm.close()

    def run_queued_jobs(self) -> None:
        """What `ignite-sync worker` does next: the sync the erasure queued (cohort aggregates)."""
        handlers = runner.make_handlers(
            self.engine, self.crm_factory, options(PROFILE, individual_responses=True), housekeeping(PROFILE)
        )
        runner.run_worker(
            self.engine, handlers, WorkerOptions(once=True, reconcile_every=None, housekeeping_every=None)
        )

    def query(self, soql: str) -> list[dict[str, Any]]:
        crm = LocalCrm.open(self.crm_url)
        try:
            return crm.query_all(soql)
        finally:
            crm.close()

    def forget(self, subject: str, policy: str = "delete", dry_run: bool = False) -> Any:
        outcome = forget(
            self.engine, subject_of(subject), policy=policy, requested_by="test", profile=PROFILE, dry_run=dry_run
        )
        if outcome.job_id is not None:
            run_erasure_jobs(self.engine, ErasureHandler(self.engine, self.crm_factory, load_profile(PROFILE)))
            outcome = refresh(self.engine, outcome)
        return outcome


def respondents(world: World, cohort_id: str) -> dict[tuple[str, str], float]:
    rows = world.query(
        "SELECT Name, Ignite_Respondents__c FROM Ignite_Cohort_Outcome__c "
        f"WHERE Ignite_Program_Cohort__c = '{cohort_id}'"
    )
    return {r["Name"]: r["Ignite_Respondents__c"] for r in rows}


def test_a_forgotten_participant_is_nowhere_in_the_service_database_or_the_crm_and_a_rerun_changes_nothing(
    tmp_path: Path,
) -> None:
    world = World(tmp_path)
    person: Person = seed_person(world.engine, world.crm_factory)
    assert world.sync().status == "succeeded"
    [contact] = world.query(f"SELECT Id FROM Contact WHERE LastName = '{person.last_name}'")
    staff_task = LocalCrm.open(world.crm_url)
    [made_by_hand] = staff_task.create("Task", [{"Subject": "Call back", "WhoId": contact["Id"]}])
    staff_task.close()
    [cohort] = world.query(f"SELECT Id FROM pmdm__ProgramCohort__c WHERE Ignite_Key__c = '{person.cohort}'")
    before = respondents(world, cohort["Id"])
    funder = _funder_of(world, person.cohort)
    with world.engine.begin() as connection:  # the funder downloaded its export before the erasure
        connection.execute(
            export_downloads.insert().values(
                requested=funder, funder=funder, outcome="ok", sha256="ab" * 32, at=datetime(2026, 11, 2, tzinfo=UTC)
            )
        )
    assert found_in_service_db(world.engine, person.values), "the seed should hold the person"
    assert found_in_sqlite(world.crm_path, person.values)

    preview = world.forget(person.email.upper(), dry_run=True)
    assert preview.counts["participants"] == 1 and preview.counts["intake_inbox"] == 2
    assert found_in_service_db(world.engine, person.values), "a dry run changes nothing"

    outcome = world.forget(person.email.upper())

    assert outcome.status == "done", outcome.job_error
    assert outcome.counts["attendance"] > 0 and outcome.counts["survey_responses"] > 0
    assert outcome.counts["intake_submissions"] == 1 and outcome.counts["intake_inbox"] == 2
    assert found_in_service_db(world.engine, person.values) == []
    assert found_in_bytes(world.db_path, person.values) == []
    # Staff's Task is listed and untouched; so the Contact it hangs on is blanked, not deleted.
    result = outcome.crm_result
    assert {"object": "Task", "id": made_by_hand.id} in result["hand_made"]
    assert world.query(f"SELECT Subject FROM Task WHERE Id = '{made_by_hand.id}'") == [{"Subject": "Call back"}]
    assert [k["id"] for k in result["kept"]] == [contact["Id"]]
    assert result["deleted"]["pmdm__ServiceDelivery__c"] and result["deleted"]["Ignite_Survey_Response__c"]
    assert found_in_sqlite(world.crm_path, person.values) == []
    assert found_in_bytes(world.crm_path, person.values) == []
    assert world.query(f"SELECT Id FROM Ignite_Survey_Response__c WHERE Ignite_Contact__c = '{contact['Id']}'") == []
    # The cohort's aggregates now count one respondent fewer wherever the person had answered.
    world.run_queued_jobs()
    after = respondents(world, cohort["Id"])
    assert any(after[name] == n - 1 for name, n in before.items() if n)
    assert all(after[name] in (n, n - 1) for name, n in before.items() if n)

    # The erasure record: keyed hashes and counts, no value of the person.
    with world.engine.connect() as connection:
        record = connection.execute(select(erasures)).one()._mapping
    assert record["key_hash"] != email_hash(person.email) and len(record["key_hash"]) == 64
    assert record["counts"]["participants"] == 1
    assert record["exports_delivered_before"] == [
        {"funder": funder, "delivered_at": "2026-11-02T00:00:00+00:00", "sha256": "ab" * 32}
    ]

    crm_before = _dump(world.crm_path)
    again = world.forget(person.key)
    assert again.counts == {} and again.job_id is None
    assert _dump(world.crm_path) == crm_before
    with world.engine.connect() as connection:
        assert connection.execute(select(erasures)).one()._mapping == record
    assert world.sync().total_api_calls == 0


def _funder_of(world: World, cohort: str) -> str:
    with world.engine.connect() as connection:
        return next(g.funder for g in connection.execute(select(grants)) if cohort in g.cohorts)


def _dump(path: Path) -> list[Any]:
    import sqlite3

    with sqlite3.connect(path) as connection:
        names = [r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY 1")]
        return [(n, sorted(map(repr, connection.execute(f'SELECT * FROM "{n}"')))) for n in names]


def test_anonymise_keeps_the_fact_of_attendance_without_a_name_and_deletes_the_answers(tmp_path: Path) -> None:
    world = World(tmp_path)
    person = seed_person(world.engine, world.crm_factory)
    world.sync()
    [contact] = world.query(f"SELECT Id FROM Contact WHERE LastName = '{person.last_name}'")

    outcome = world.forget(person.email, policy="anonymise")

    assert outcome.status == "done"
    [kept] = world.query(f"SELECT LastName, Email, Ignite_Key__c FROM Contact WHERE Id = '{contact['Id']}'")
    assert kept["LastName"].startswith("Erased participant ") and kept["Email"] is None
    assert kept["Ignite_Key__c"] is None
    deliveries = world.query(
        "SELECT Name, pmdm__AttendanceStatus__c FROM pmdm__ServiceDelivery__c "
        f"WHERE pmdm__Contact__c = '{contact['Id']}'"
    )
    assert deliveries and all(d["pmdm__AttendanceStatus__c"] for d in deliveries)
    assert world.query(f"SELECT Id FROM Ignite_Survey_Response__c WHERE Ignite_Contact__c = '{contact['Id']}'") == []
    assert found_in_sqlite(world.crm_path, person.values) == []


def test_an_erased_person_is_refused_at_import_and_at_intake_until_an_administrator_allows_them_back(
    tmp_path: Path,
) -> None:
    world = World(tmp_path)
    person = seed_person(world.engine, world.crm_factory)
    world.forget(person.email, policy="keep")
    row = {
        "email": f"  {person.email.upper()} ",
        "first_name": "Z",
        "last_name": "Q",
        "role": "clinician",
        "organization": "org:catskill-ridge",
    }

    refused = import_rows(world.engine, "participants", [SourceRow("people.csv:2", row)])

    assert refused.rejected == 1
    [problem] = refused.problems
    assert (problem.record, problem.field) == ("people.csv:2", "email")
    assert problem.rule.startswith("erased on ") and "--allow-reimport" in problem.rule

    # An intake submission of theirs waits in quarantine instead of reaching the CRM.
    submission = IntakeSubmission(
        source="website",
        delivery_id="after-erasure",
        received_at=datetime.now(UTC),
        last_name="Q",
        email=person.email,
        organization="Catskill Ridge Health",
    )
    with world.engine.begin() as connection:
        inbox = InboxRepository(connection)
        [entry] = inbox.insert_many(
            [
                NewDelivery(
                    source="website",
                    delivery_id="after-erasure",
                    received_at=submission.received_at,
                    content_type="application/json",
                    raw_body=b"{}",
                    submission=submission.model_dump(mode="json"),
                    email_hash=email_hash(submission.email),
                )
            ]
        )
        inbox.enqueue_delivery_jobs([entry.inbox_id], kind=INTAKE_JOB, max_attempts=INTAKE_MAX_ATTEMPTS)
    handler = IntakeHandler(world.engine, world.crm_factory, load_profile(PROFILE), keep_connector=False)
    Worker(world.engine, {INTAKE_JOB: handler}, poll_seconds=0).run(once=True)
    with world.engine.connect() as connection:
        held = InboxRepository(connection).get(entry.inbox_id)
    assert held is not None and (held.status, held.quarantine_reason) == ("quarantined", ERASED)

    with world.engine.begin() as connection:
        assert allow_reimport(connection, subject_of(person.email), by="admin", at=datetime.now(UTC))
    accepted = import_rows(world.engine, "participants", [SourceRow("people.csv:2", row)])
    assert accepted.rejected == 0 and accepted.counts.inserted == 1
