"""`ignite-sync export funder` and `ignite-sync funder-token create` from the command line."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from cli.app import app
from cli.context import build_context
from connector.local import LocalCrm
from exports.service import build_funder_report, export_zip
from mappings.snapshots import load_describes
from models import Funder, Grant
from store.exports_tables import funder_tokens
from store.secrets import hash_token
from tests.integration.export_crm import sync_grant
from tests.support.export_program import build, seed, two_funders


@pytest.fixture
def db_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'service.db'}"
    monkeypatch.setenv("IGNITE_DATABASE_URL", url)
    seed(build_context().migrated_engine(), two_funders())
    return url


def test_export_funder_writes_the_chosen_formats(db_url: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["export", "funder", "acme", "--out", str(out), "--format", "csv,html"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "README.md",
        "cohorts.csv",
        "datapackage.json",
        "grants.csv",
        "measures.csv",
        "outcomes.csv",
        "participation.csv",
        "summary.html",
    ]
    assert "values suppressed (k = 11)" in result.output


def test_min_cell_setting_below_three_is_refused(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IGNITE_EXPORT_MIN_CELL", "2")
    result = CliRunner().invoke(app, ["export", "funder", "acme", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "IGNITE_EXPORT_MIN_CELL" in result.output


def test_unknown_format_and_unknown_funder_are_named(db_url: str, tmp_path: Path) -> None:
    bad = CliRunner().invoke(app, ["export", "funder", "acme", "--out", str(tmp_path), "--format", "docx"])
    assert bad.exit_code == 2 and "docx" in bad.output
    missing = CliRunner().invoke(app, ["export", "funder", "nobody", "--out", str(tmp_path)])
    assert missing.exit_code == 1 and "funder:nobody" in missing.output


def test_funder_token_is_printed_once_and_stored_hashed(db_url: str) -> None:
    result = CliRunner().invoke(app, ["funder-token", "create", "acme"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    assert token.startswith("igx_")
    with build_context().migrated_engine().connect() as conn:
        row = conn.execute(select(funder_tokens)).one()
    assert row.funder == "funder:acme" and row.token_hash == hash_token(token)


@pytest.fixture
def local_crm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalCrm]:
    """The configured CRM (IGNITE_CRM=local), opened here too so the test can set it up and read it back."""
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    monkeypatch.setenv("IGNITE_CRM", "local")
    monkeypatch.setenv("IGNITE_LOCAL_CRM_URL", url)
    monkeypatch.setenv("IGNITE_PROFILE", "npsp_pmm")
    crm = LocalCrm.create_database(url, load_describes("npsp_pmm"))
    yield crm
    crm.close()


def test_attach_puts_the_export_zip_on_the_grants_opportunity_once(
    db_url: str, local_crm: LocalCrm, tmp_path: Path
) -> None:
    program = build(two_funders())  # the same models the database was seeded with
    [acme] = [f for f in program["funders"] if isinstance(f, Funder) and f.key == "funder:acme"]
    [grant] = [g for g in program["grants"] if isinstance(g, Grant) and g.funder == acme.key]
    opportunity = sync_grant(local_crm, acme, grant)
    command = ["export", "funder", "acme", "--out", str(tmp_path / "out"), "--attach"]

    first = CliRunner().invoke(app, command)
    again = CliRunner().invoke(app, command)

    assert first.exit_code == 0, first.output
    assert f"grant:acme-2025: ignite-outcomes-acme.zip on Opportunity {opportunity}" in first.output
    assert first.output.rstrip().endswith(": created")
    assert again.exit_code == 0 and again.output.rstrip().endswith(": unchanged"), again.output
    [link] = local_crm.query_all(
        f"SELECT ContentDocumentId FROM ContentDocumentLink WHERE LinkedEntityId = '{opportunity}'"
    )
    [version] = local_crm.query_all(
        f"SELECT Id, PathOnClient FROM ContentVersion WHERE ContentDocumentId = '{link['ContentDocumentId']}'"
    )
    stored = local_crm.get("ContentVersion", str(version["Id"]), ["VersionData"])
    assert stored is not None and version["PathOnClient"] == "ignite-outcomes-acme.zip"
    # every format was chosen, so the File is byte for byte what the funder downloads from the API
    context = build_context()
    settings = context.settings
    report = build_funder_report(
        context.migrated_engine(), "funder:acme", k=settings.export_min_cell, timezone=settings.program_timezone
    )
    expected = export_zip(report)
    assert base64.b64decode(stored["VersionData"]) == expected


def test_attach_names_the_grant_the_crm_does_not_have(db_url: str, local_crm: LocalCrm, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["export", "funder", "acme", "--out", str(tmp_path / "out"), "--attach"])

    assert result.exit_code == 1
    assert "grant grant:acme-2025: no Opportunity with Ignite_Key__c = 'grant:acme-2025'" in result.output
    assert local_crm.query_all("SELECT Id FROM ContentVersion") == []
