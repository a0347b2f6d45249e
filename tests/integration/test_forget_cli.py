"""`ignite-sync forget`: one command erases the person from the service database and, inline, from the CRM, and
answers by counts and CRM Ids; a dry run changes nothing, production without an erasure key refuses."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from cli.app import app
from models import Organization, Participant
from store import UnitOfWork, make_engine, upgrade_database

runner = CliRunner()
PERSON = Participant(
    email="Noor.Haddad@Example.org", first_name="Noor", last_name="Haddad", role="clinician", organization="org:flch"
)


def _env(tmp_path: Path) -> dict[str, str]:
    database = f"sqlite:///{tmp_path / 'service.db'}"
    engine = make_engine(database)
    upgrade_database(engine)
    with UnitOfWork(engine) as uow:
        uow.records("organizations").upsert_many([Organization(key="org:flch", name="Flagler Health", kind="fqhc")])
        uow.records("participants").upsert_many([PERSON])
        uow.commit()
    engine.dispose()
    return {
        "IGNITE_CRM": "local",
        "IGNITE_PROFILE": "npsp_pmm",
        "IGNITE_LOCAL_CRM_URL": f"sqlite:///{tmp_path / 'crm.db'}",
        "IGNITE_DATABASE_URL": database,
        "COLUMNS": "200",
    }


def test_forget_erases_the_person_here_and_in_the_crm_and_a_dry_run_before_changes_nothing(tmp_path: Path) -> None:
    env = _env(tmp_path)
    assert runner.invoke(app, ["sync", "--json"], env=env).exit_code == 0

    preview = json.loads(runner.invoke(app, ["forget", PERSON.email, "--dry-run", "--json"], env=env).stdout)
    done = runner.invoke(app, ["forget", PERSON.email.upper(), "--json"], env=env)

    assert preview["would_remove"]["participants"] == 1 and preview["status"] == "planned"
    assert done.exit_code == 0, done.output
    answer = json.loads(done.stdout)
    assert answer["removed"]["participants"] == 1 and answer["status"] == "done"
    assert list(answer["crm_result"]["deleted"]) == ["Contact"]
    assert "noor" not in done.stdout.lower() and "haddad" not in done.stdout.lower()
    contacts = runner.invoke(app, ["crm", "query", "SELECT Id FROM Contact"], env=env)
    assert contacts.stdout.strip() == "no records"


def test_production_refuses_to_erase_without_an_erasure_key(tmp_path: Path) -> None:
    env = {**_env(tmp_path), "IGNITE_ENV": "production"}

    result = runner.invoke(app, ["forget", PERSON.email], env=env)

    assert result.exit_code == 2 and "IGNITE_ERASURE_KEY" in result.output
