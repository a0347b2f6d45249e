"""Every profile takes the whole demo program into the local CRM: nothing rejected or held back, and once."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from syncdata import with_state_country_picklists

import demo
from mappings.profile import PROFILE_NAMES
from mappings.snapshots import load_describes
from models import IntakeSubmission
from store import UnitOfWork
from sync.runner import run_sync, sync_status
from tests.sync_options import options
from wiring import open_local_crm


def returning_participant(program: demo.DemoProgram) -> IntakeSubmission:
    """An intake from someone already enrolled: it becomes a Task on their Contact (a polymorphic `Who`)."""
    person = next(program.bundles()).participants[0]
    return IntakeSubmission(
        source="website",
        delivery_id="returning-participant",
        received_at=datetime(2025, 9, 1, 12, tzinfo=UTC),
        first_name=person.first_name,
        last_name=person.last_name,
        email=person.email,
        organization="Catskill Ridge Health",
        message="Could our second-year residents join the next cohort?",
        consent_to_contact=True,
    )


@pytest.mark.parametrize("state_picklists", [False, True], ids=["state-text", "state-picklists"])
@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_a_demo_sized_program_syncs_with_no_row_rejected_or_blocked_and_resyncs_for_free(
    engine: Engine, tmp_path: Path, profile: str, state_picklists: bool
) -> None:
    program = demo.generate(48)
    demo.seed(engine, program)
    with UnitOfWork(engine) as uow:
        uow.records("intake").upsert_many([returning_participant(program)])
        uow.commit()
    crm = open_local_crm(f"sqlite:///{tmp_path / 'crm.db'}", profile)
    if state_picklists:  # an org with State and Country/Territory Picklists (the default for new orgs)
        crm.ensure_schema(with_state_country_picklists(load_describes(profile)))

    report = run_sync(engine, crm, options(profile))

    assert report.status == "succeeded", report.as_dict()
    problems = {
        name: {k: n for k, n in counts.items() if k in ("rejected", "blocked", "invalid", "retry") and n}
        for name, counts in report.by_object().items()
    }
    assert {name: p for name, p in problems.items() if p} == {}
    assert sync_status(engine)["errors"] == []
    assert report.by_object()["Contact"]["created"] == 48
    assert report.by_object()["Task"]["created"] == 1
    email = returning_participant(program).email
    [person] = crm.query_all(f"SELECT Id FROM Contact WHERE Email = '{email}'")
    assert crm.query_all("SELECT WhoId FROM Task") == [{"WhoId": person["Id"]}]

    calls = crm.counter.total
    again = run_sync(engine, crm, options(profile))
    assert again.total_api_calls == 0 and crm.counter.total == calls
