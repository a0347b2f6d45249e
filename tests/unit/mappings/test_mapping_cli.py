"""`ignite-sync check-mapping` and `ignite-sync plugin export` as a user runs them."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

import cli.mapping
import wiring
from cli.app import app
from connector.base import CrmError
from mappings.snapshots import load_describes

runner = CliRunner()


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("IGNITE_DATABASE_URL", f"sqlite:///{tmp_path / 'service.db'}")


@pytest.mark.parametrize("profile", ["npsp_pmm", "nonprofit_cloud", "salesforce_core"])
def test_check_mapping_passes_offline_for_every_profile(profile: str) -> None:
    result = runner.invoke(app, ["check-mapping", "--profile", profile])
    assert result.exit_code == 0, result.output
    assert f"{profile} against the snapshot: ok" in result.output


def test_check_mapping_uses_the_configured_profile_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IGNITE_PROFILE", "salesforce_core")
    result = runner.invoke(app, ["check-mapping"])
    assert "salesforce_core against the snapshot: ok" in result.output


class DescribeOnlyConnector:
    """Any object with describe(name) will do for --live; this one serves edited snapshots."""

    def __init__(self, describes: dict[str, Any]) -> None:
        self.describes = describes
        self.asked: list[str] = []

    def describe(self, name: str) -> dict[str, Any]:
        self.asked.append(name)
        if name not in self.describes:
            raise CrmError(f"The requested resource does not exist: {name}", code="NOT_FOUND", status=404)
        return self.describes[name]  # type: ignore[no-any-return]


def test_live_check_reports_what_the_org_lacks_and_exits_non_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    describes = load_describes("npsp_pmm")
    del describes["Ignite_Cohort_Outcome__c"]
    connector = DescribeOnlyConnector(describes)
    monkeypatch.setattr(wiring, "build_connector", lambda settings: connector)
    monkeypatch.setattr(cli.mapping, "console", Console(width=200))
    result = runner.invoke(app, ["check-mapping", "--profile", "npsp_pmm", "--live"])
    assert result.exit_code == 1, result.output
    assert "Ignite_Cohort_Outcome__c" in result.output and "missing object" in result.output
    assert "npsp_pmm against the local CRM at sqlite:///" in result.output  # IGNITE_CRM is local by default
    assert ": 1 problem(s)" in result.output
    assert "Account" in connector.asked


def test_live_check_against_the_local_crm_built_from_the_profile_passes(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["check-mapping", "--profile", "npsp_pmm", "--live"],
        env={"IGNITE_LOCAL_CRM_URL": f"sqlite:///{tmp_path / 'crm.db'}", "IGNITE_PROFILE": "npsp_pmm"},
    )
    assert result.exit_code == 0, result.output
    # Issue 16: it said "against the live org: ok" although no org exists; it names what it checked.
    assert (
        f"npsp_pmm against the local CRM at sqlite:///{tmp_path / 'crm.db'} (IGNITE_CRM=local; no Salesforce org "
        "was checked): ok"
    ) in result.output
    assert "live org" not in result.output


def test_live_check_against_salesforce_names_the_instance_it_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    connector = DescribeOnlyConnector(load_describes("npsp_pmm"))
    monkeypatch.setattr(wiring, "build_connector", lambda settings: connector)
    env = {
        "IGNITE_CRM": "salesforce",
        "IGNITE_SF_AUTH": "session",
        "IGNITE_SF_SESSION_ID": "00D-session",
        "IGNITE_SF_INSTANCE_URL": "https://acme.my.salesforce.com",
    }
    result = runner.invoke(app, ["check-mapping", "--profile", "npsp_pmm", "--live"], env=env)
    assert result.exit_code == 0, result.output
    assert "npsp_pmm against the Salesforce org at https://acme.my.salesforce.com: ok" in result.output


def test_live_check_with_an_unreachable_crm_says_so_and_exits_2() -> None:
    # Salesforce chosen but no credentials given: the connector cannot be built.
    result = runner.invoke(app, ["check-mapping", "--profile", "npsp_pmm", "--live"], env={"IGNITE_CRM": "salesforce"})
    assert result.exit_code == 2
    assert "CRM error" in result.output


def test_unknown_profile_is_refused() -> None:
    result = runner.invoke(app, ["check-mapping", "--profile", "npsp"])
    assert result.exit_code == 2
    assert "unknown profile" in result.output


def test_plugin_export_writes_deployable_source(tmp_path: Path) -> None:
    out = tmp_path / "plugin"
    result = runner.invoke(app, ["plugin", "export", "--profile", "salesforce_core", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "7 custom objects" in result.output  # five program objects + the sync run and issue (issue 14)
    files = sorted(p for p in out.rglob("*") if p.is_file())
    for path in files:
        if path.suffix == ".xml":
            ET.parse(path)
    assert (out / "package.xml").exists()
    assert (out / "force-app/main/default/objects/Ignite_Session__c/Ignite_Session__c.object-meta.xml").exists()
    again = tmp_path / "again"
    runner.invoke(app, ["plugin", "export", "--profile", "salesforce_core", "--out", str(again)])
    assert [p.read_bytes() for p in files] == [(again / p.relative_to(out)).read_bytes() for p in files]


def test_check_mapping_as_json_names_each_problem_and_the_orgs_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    describes = load_describes("npsp_pmm")
    del describes["Ignite_Cohort_Outcome__c"]
    monkeypatch.setattr(wiring, "build_connector", lambda settings: DescribeOnlyConnector(describes))
    result = runner.invoke(app, ["check-mapping", "--profile", "npsp_pmm", "--live", "--json"])
    assert result.exit_code == 1, result.output
    report = json.loads(result.output)
    assert report["ok"] is False and report["checked_against"].startswith("local CRM at sqlite:///")
    assert {p["object"] for p in report["problems"]} == {"Ignite_Cohort_Outcome__c"}
    assert report["org_settings"]["state_country_picklists"]["on"] is True
