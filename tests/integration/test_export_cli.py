"""`ignite-sync export funder` and `ignite-sync funder-token create` from the command line."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from cli.app import app
from cli.context import build_context
from exports.tokens import hash_token
from store.exports_tables import funder_tokens
from tests.exports.factory import seed, two_funders


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
