"""`ignite-sync failures`: every row not in the CRM, with the person or record behind its hashed key.

Staff fix refusals one record at a time; `status` only shows the biggest problems with a few opaque keys.
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from syncdata import PROFILE, local_crm, program, seed, title_required, with_first_participant_untitled
from typer.testing import CliRunner

from cli.app import app
from models import IntakeSubmission
from store.unit_of_work import UnitOfWork
from sync.failures import RecordDescriber, iter_failures
from sync.runner import run_sync
from tests.sync_options import options


@pytest.fixture
def refused(engine: Engine, tmp_path: Path) -> tuple[Engine, dict]:  # type: ignore[type-arg]
    """A program whose first participant has no job title, synced to a CRM that requires one."""
    data = with_first_participant_untitled(program())
    seed(engine, data)
    crm, _ = local_crm(tmp_path, title_required())
    run_sync(engine, crm, options(PROFILE))
    return engine, data


def test_every_failing_row_is_listed_with_who_it_is_without_naming_anyone_by_default(
    refused: tuple[Engine, dict],  # type: ignore[type-arg]
) -> None:
    engine, data = refused
    person = data["participants"][0]
    with engine.connect() as conn:
        rows = list(iter_failures(conn))
    rejected = [r for r in rows if r.status == "rejected"]
    assert [(r.object_name, r.code, r.source_key) for r in rejected] == [
        ("Contact", "REQUIRED_FIELD_MISSING", person.key)
    ]
    assert rejected[0].record.startswith(f"{person.role} at ")
    blocked = [r for r in rows if r.status == "blocked"]
    enrolments = [e for e in data["enrollments"] if e.participant == person.key]
    attended = [a for a in data["attendance"] if a.participant == person.key]
    # ...and the participant's engagement summary, which goes on the Contact that was refused
    assert {r.source_key for r in blocked} == {e.key for e in enrolments} | {a.key for a in attended} | {person.key}
    assert all(person.last_name not in r.record and person.email not in r.record for r in rows)
    assert any(r.record.startswith("enrolment of ") for r in blocked)


def test_show_personal_names_the_participant_and_csv_holds_every_row(
    refused: tuple[Engine, dict],  # type: ignore[type-arg]
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine, data = refused
    person = data["participants"][0]
    monkeypatch.setenv("IGNITE_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    out = tmp_path / "failures.csv"
    result = CliRunner().invoke(app, ["failures", "--csv", str(out), "--show-personal"])
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    # Each enrolment is blocked twice: its program engagement and its roster entry (pmdm__ServiceParticipant__c);
    # the participant's engagement summary (participant_summary, on the refused Contact) is blocked once.
    assert len(rows) == 2 + 2 * sum(1 for e in data["enrollments"] if e.participant == person.key) + sum(
        1 for a in data["attendance"] if a.participant == person.key
    )
    contact = next(r for r in rows if r["object_name"] == "Contact")
    assert f"{person.first_name} {person.last_name} <{person.email}>" in contact["record"]
    assert "Title" in contact["message"]

    monkeypatch.setenv("COLUMNS", "250")  # a wide terminal, so the table's cells are not wrapped
    only_contacts = CliRunner().invoke(app, ["failures", "--object", "Contact", "--status", "rejected"])
    assert only_contacts.exit_code == 0, only_contacts.output
    assert "REQUIRED_FIELD_MISSING" in only_contacts.output and person.email not in only_contacts.output
    bad = CliRunner().invoke(app, ["failures", "--status", "lost"])
    assert bad.exit_code == 2 and "unknown status lost" in bad.output


def test_filters_are_case_blind_and_an_empty_filtered_list_does_not_claim_all_is_well(
    refused: tuple[Engine, dict],  # type: ignore[type-arg]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine, _ = refused
    monkeypatch.setenv("IGNITE_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("COLUMNS", "250")
    lower = CliRunner().invoke(app, ["failures", "--object", "contact"])
    assert lower.exit_code == 0 and "REQUIRED_FIELD_MISSING" in lower.output
    none = CliRunner().invoke(app, ["failures", "--object", "Lead"])
    assert none.exit_code == 0 and "no rows match these filters" in none.output
    assert "nothing failed" not in none.output


def test_a_refused_lead_is_described_by_its_form_and_day_and_by_name_only_when_asked(engine: Engine) -> None:
    submission = IntakeSubmission(
        source="website",
        delivery_id="msg_1",
        received_at=datetime(2026, 11, 20, 9, 30, tzinfo=UTC),
        first_name="Mary",
        last_name="Seacole",
        email="mary@example.org",
        organization="Kingston Health",
    )
    with UnitOfWork(engine) as uow:
        uow.records("intake").upsert_many([submission])
        uow.commit()
    with engine.connect() as conn:
        plain = RecordDescriber(conn, personal=False)(submission.key)
        named = RecordDescriber(conn, personal=True)(submission.key)
        measure = RecordDescriber(conn, personal=False)("measure:burnout")
    assert plain == "lead from the website form, received 2026-11-20"
    assert named.startswith("Mary Seacole <mary@example.org> of Kingston Health")
    assert measure.startswith("measure '")


def test_failures_as_json_lines_hold_every_row_and_no_names_by_default(
    refused: tuple[Engine, dict],  # type: ignore[type-arg]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine, data = refused
    person = data["participants"][0]
    monkeypatch.setenv("IGNITE_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    result = CliRunner().invoke(app, ["failures", "--json"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    with engine.connect() as conn:
        assert [r["record_key"] for r in rows] == [f.record_key for f in iter_failures(conn)]
    assert {"Contact"} <= {r["object_name"] for r in rows}
    assert person.email not in result.output and person.last_name not in result.output


def test_a_participant_named_like_a_formula_lands_as_text_in_the_failures_csv(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = with_first_participant_untitled(program())
    attack = '=HYPERLINK("https://evil.example","x")'
    data["participants"][0] = data["participants"][0].model_copy(update={"first_name": attack})
    seed(engine, data)
    crm, _ = local_crm(tmp_path, title_required())
    run_sync(engine, crm, options(PROFILE))
    monkeypatch.setenv("IGNITE_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    out = tmp_path / "failures.csv"
    result = CliRunner().invoke(app, ["failures", "--csv", str(out), "--show-personal"])
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    contact = next(r for r in rows if r["object_name"] == "Contact")
    assert contact["record"].startswith("'" + attack)  # shown as typed, never evaluated by a spreadsheet
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row.values())
