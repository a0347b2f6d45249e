"""States reach the CRM in the form the org accepts: codes with country US where State and Country/Territory
Picklists are on (the org's describe has BillingStateCode), full names where they are off."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from sqlalchemy import Engine
from syncdata import (
    crm_rows,
    describes,
    local_crm,
    program,
    seed,
    with_state_country_picklists,
    without_state_country_picklists,
)
from typer.testing import CliRunner

import cli.mapping
import wiring
from cli.app import app
from mappings.snapshots import load_describes
from models import IntakeSubmission
from store import UnitOfWork
from sync.runner import run_sync
from tests.sync_options import options


def intake(state: str) -> IntakeSubmission:
    return IntakeSubmission.model_validate(
        {
            "source": "website",
            "delivery_id": "d-1",
            "received_at": "2025-09-01T12:00:00Z",
            "last_name": "Lovelace",
            "email": "ada@example.org",
            "organization": "Analytical Engines Health",
            "state": state,
        }
    )


def test_with_state_picklists_on_the_state_goes_to_the_code_field_with_country_us(
    engine: Engine, tmp_path: Path
) -> None:
    crm, _ = local_crm(tmp_path, with_state_country_picklists(describes()))
    seed(engine, program(cohorts=1, per_cohort=1, sessions=1))
    with UnitOfWork(engine) as uow:
        uow.records("intake").upsert_many([intake("OH")])
        uow.commit()

    report = run_sync(engine, crm, options())

    assert report.status == "succeeded", report.as_dict()
    [account] = crm.query_all(
        "SELECT BillingState, BillingStateCode, BillingCountryCode FROM Account "
        "WHERE Ignite_Key__c = 'org:catskill-ridge'"
    )
    # The org fills the text field from the code, as Salesforce does with the picklists on; the sync sent codes.
    assert account == {"BillingState": "New York", "BillingStateCode": "NY", "BillingCountryCode": "US"}
    [lead] = crm.query_all("SELECT State, StateCode, CountryCode FROM Lead")
    assert lead == {"State": "Ohio", "StateCode": "OH", "CountryCode": "US"}


def test_without_state_picklists_the_text_field_gets_the_full_state_name(engine: Engine, tmp_path: Path) -> None:
    crm, _ = local_crm(tmp_path, without_state_country_picklists(describes()))
    seed(engine, program(cohorts=1, per_cohort=1, sessions=1))

    report = run_sync(engine, crm, options())

    assert report.status == "succeeded", report.as_dict()
    rows = {r["Ignite_Key__c"]: r for r in crm_rows(crm, "Account", "Ignite_Key__c, BillingState, BillingCountry")}
    assert (rows["org:catskill-ridge"]["BillingState"], rows["org:catskill-ridge"]["BillingCountry"]) == (
        "New York",
        "United States",
    )


runner = CliRunner()


class DescribeOnly:
    def __init__(self, found: dict[str, Any]) -> None:
        self.found = found

    def describe(self, name: str) -> dict[str, Any]:
        return self.found[name]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("org", "mode"), [(with_state_country_picklists, "on (Account has"), (without_state_country_picklists, "off")]
)
def test_check_mapping_live_says_which_state_mode_the_org_is_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, org: Any, mode: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("IGNITE_DATABASE_URL", f"sqlite:///{tmp_path / 'service.db'}")
    connector = DescribeOnly(org(load_describes("salesforce_core")))
    monkeypatch.setattr(wiring, "build_connector", lambda settings: connector)
    monkeypatch.setattr(cli.mapping, "console", Console(width=400))

    result = runner.invoke(app, ["check-mapping", "--profile", "salesforce_core", "--live"])

    assert result.exit_code == 0, result.output
    assert f"org setting state_country_picklists: {mode}" in result.output
    assert "BillingStateCode" in result.output
