"""The `ignite-sync` entry point as an admin runs it: real process, real files, real exit codes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import NO_POSTGRES, POSTGRES_URL
from tests.e2e.process import clean_env, free_port, run_cli


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, cwd=cwd, env=clean_env(**(env or {})))


def _records(cwd: Path, soql: str) -> list[dict[str, Any]]:
    result = run("crm", "query", "--json", soql, cwd=cwd)
    assert result.returncode == 0, result.stderr
    records: list[dict[str, Any]] = json.loads(result.stdout)["records"]
    return records


def test_help_lists_the_commands(tmp_path: Path) -> None:
    result = run("--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for command in ("demo", "import", "db"):
        assert command in result.stdout


def test_a_bad_setting_is_one_line_naming_the_variable_and_no_traceback(tmp_path: Path) -> None:
    result = run("db", "check", cwd=tmp_path, env={"IGNITE_CRM": "dynamics", "IGNITE_CRM_MIN_RESPONDENTS": "few"})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "setting error IGNITE_CRM",
        "setting error IGNITE_CRM_MIN_RESPONDENTS",
    ]
    assert "Traceback" not in result.stderr


def test_demo_tells_the_whole_story_seed_sync_status_exports(tmp_path: Path) -> None:
    first = run("demo", "--dir", "demo", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "participants" in first.stdout and "96" in first.stdout
    assert (tmp_path / "demo" / "ignite-sync.db").exists()
    assert "status succeeded" in first.stdout
    for funder in ("hudson-health-fund", "delta-care-foundation"):
        folder = tmp_path / "demo" / "exports" / funder
        files = {p.name for p in folder.iterdir()}
        assert {"outcomes.xlsx", "datapackage.json", "summary.pdf", "summary.html"} <= files
    # The README's convention: inside the demo's folder every command sees the demo's data (its .env).
    inside = tmp_path / "demo"
    assert "cd demo" in first.stdout
    contacts = run("crm", "query", "SELECT COUNT() FROM Contact", "--json", cwd=inside)
    assert contacts.returncode == 0, contacts.stderr
    assert "96" in contacts.stdout
    # The demo ends with one refused row, open as an issue for development staff (README "For development
    # staff"): while it is open a resync makes one call, the query for issues staff set to Retry requested.
    assert "5. For development staff" in first.stdout and "FIELD_CUSTOM_VALIDATION_EXCEPTION" in first.stdout
    resync = run("sync", "--json", cwd=inside)
    assert resync.returncode == 0, resync.stderr
    assert json.loads(resync.stdout)["api_calls"] == {"query": 1, "total": 1}
    # The walk-through: clear the program's End Date, ask for a retry from the record, sync: Resolved.
    [issue] = _records(inside, "SELECT Id, Status__c FROM Ignite_Sync_Issue__c WHERE Status__c != 'Resolved'")
    [program] = _records(inside, "SELECT Id FROM pmdm__Program__c")
    assert run("crm", "update", "pmdm__Program__c", program["Id"], "pmdm__EndDate__c=", cwd=inside).returncode == 0
    asked = run("crm", "update", "Ignite_Sync_Issue__c", issue["Id"], "Status__c=Retry requested", cwd=inside)
    assert asked.returncode == 0, asked.stderr
    assert run("sync", cwd=inside).returncode == 0
    [resolved] = _records(
        inside, f"SELECT Status__c, Resolved_On__c FROM Ignite_Sync_Issue__c WHERE Id = '{issue['Id']}'"
    )
    assert resolved["Status__c"] == "Resolved" and resolved["Resolved_On__c"]
    resync = run("sync", "--json", cwd=inside)
    assert resync.returncode == 0, resync.stderr
    assert '"api_calls": {"total": 0}' in resync.stdout  # nothing open: an unchanged resync is free again
    narrow = run("status", cwd=inside, env={"COLUMNS": "80"})  # piped, 80 columns: nothing cut to `pmdm_…`
    assert narrow.returncode == 0 and "…" not in narrow.stdout, narrow.stdout
    for name in ("ServiceDelivery__c", "ProgramEngagement__c", "Ignite_Cohort_Outcome__c"):
        assert name in narrow.stdout
    assert max(len(line) for line in narrow.stdout.splitlines()) <= 80
    exported = run("export", "funder", "hudson-health-fund", "--out", "hudson", cwd=inside)
    assert exported.returncode == 0, exported.stderr
    assert (inside / "hudson" / "outcomes.xlsx").exists()
    second = run("demo", "--dir", "demo", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "replacing the previous demo" in second.stdout


def test_import_stores_good_rows_reports_bad_ones_and_exits_non_zero(tmp_path: Path) -> None:
    env = {"IGNITE_DATABASE_URL": f"sqlite:///{tmp_path / 'svc.db'}"}
    orgs = tmp_path / "orgs.csv"
    orgs.write_text(
        "key,name,kind,state\n"
        "org:flch,Finger Lakes Health,fqhc,NY\n"
        "org:umc,University Medical Center,hospital,MS\n"
        "org:ok,Okay Org,other,\n",
        encoding="utf-8",
    )
    result = run("import", "organizations", str(orgs), cwd=tmp_path, env=env)
    assert result.returncode == 1
    assert "orgs.csv:3 kind: Input should be" in result.stderr
    assert "imported 2 of 3 organizations rows: 2 new" in result.stdout
    again = run("import", "organizations", str(orgs), "--json", cwd=tmp_path, env=env)
    assert '"unchanged": 2' in again.stdout and '"inserted": 0' in again.stdout


BAD_DATABASE_URLS = {
    "unsupported dialect": ("mysql://root@localhost/test", "setting error IGNITE_DATABASE_URL: mysql://"),
    "driver not installed": ("postgresql://postgres@127.0.0.1/test", "setting error IGNITE_DATABASE_URL"),
    "not a URL": ("ignite.db", "setting error IGNITE_DATABASE_URL: is not a database URL"),
    "SQLite folder missing": (
        "sqlite:///{tmp}/missing/ignite.db",
        "database error IGNITE_DATABASE_URL=sqlite:///{tmp}/missing/ignite.db: the folder {tmp}/missing does not exist",
    ),
    "nothing listening": (
        "postgresql+psycopg://postgres:s3cret-pw@127.0.0.1:{port}/test",
        "database error IGNITE_DATABASE_URL=postgresql+psycopg://postgres:***@127.0.0.1",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_DATABASE_URLS))
def test_a_database_url_mistake_is_one_line_naming_the_variable_and_exit_2(tmp_path: Path, case: str) -> None:
    url, expected = BAD_DATABASE_URLS[case]
    url, expected = url.format(tmp=tmp_path, port=free_port()), expected.format(tmp=tmp_path.resolve())
    result = run("db", "upgrade", cwd=tmp_path, env={"IGNITE_DATABASE_URL": url})
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(expected), result.stderr
    assert "Traceback" not in result.stderr and "s3cret-pw" not in result.stderr


# Issue 16: every configuration mistake is one line naming what to fix, exit code 2, no traceback.
BAD_CONFIGURATIONS = {
    "intake sources not JSON": (
        ["status"],
        {"IGNITE_INTAKE_SOURCES": '{"website": {"scheme": "standard-webhooks", "secrets": ['},
        "setting error IGNITE_INTAKE_SOURCES: is not valid JSON",
    ),
    "intake sources file missing": (
        ["status"],
        {"IGNITE_INTAKE_SOURCES": "{tmp}/sources.json"},
        "setting error IGNITE_INTAKE_SOURCES: must be a JSON object or the path of a file holding one",
    ),
    "unknown intake scheme": (
        ["status"],
        {"IGNITE_INTAKE_SOURCES": '{"website": {"scheme": "carrier-pigeon"}}'},
        "setting error IGNITE_INTAKE_SOURCES: source 'website': scheme:",
    ),
    "unknown profile setting": (["status"], {"IGNITE_PROFILE": "npsp"}, "setting error IGNITE_PROFILE:"),
    "unknown profile option": (["check-mapping", "--profile", "npsp"], {}, "unknown profile 'npsp'; choose one of"),
    "salesforce without credentials": (
        ["sync"],
        {"IGNITE_CRM": "salesforce"},
        "error IGNITE_SF_AUTH=password needs IGNITE_SF_USERNAME",
    ),
    "salesforce private key file missing": (
        ["crm", "describe", "Contact"],
        {
            "IGNITE_CRM": "salesforce",
            "IGNITE_SF_AUTH": "jwt",
            "IGNITE_SF_USERNAME": "integration@example.org",
            "IGNITE_SF_CONSUMER_KEY": "3MVG9-example",
            "IGNITE_SF_PRIVATE_KEY_FILE": "{tmp}/server.key",
        },
        "CRM error IGNITE_SF_PRIVATE_KEY_FILE: no private key file at",
    ),
    "a CSV header with a misspelt column": (
        ["import", "organizations", "{tmp}/orgs.csv"],
        {},
        "error orgs.csv:1 header: unknown column 'nmae' (did you mean 'name'?); missing required column 'name'",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_CONFIGURATIONS))
def test_a_configuration_mistake_is_one_line_and_exit_2(tmp_path: Path, case: str) -> None:
    args, settings, expected = BAD_CONFIGURATIONS[case]
    (tmp_path / "orgs.csv").write_text("key,nmae,kind\n" + "org:o,Org,fqhc\n" * 500)
    env = {"IGNITE_DATABASE_URL": f"sqlite:///{tmp_path / 's.db'}", "COLUMNS": "80"}
    env.update({name: value.replace("{tmp}", str(tmp_path)) for name, value in settings.items()})
    result = run(*(arg.replace("{tmp}", str(tmp_path)) for arg in args), cwd=tmp_path, env=env)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(expected), result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.postgres
def test_a_missing_postgres_database_says_to_create_it_and_debug_shows_the_traceback(tmp_path: Path) -> None:
    if not POSTGRES_URL:
        pytest.skip(NO_POSTGRES)
    url = POSTGRES_URL.rsplit("/", 1)[0] + "/ignite_no_such_database"
    result = run("status", cwd=tmp_path, env={"IGNITE_DATABASE_URL": url})
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "does not exist; create the database" in result.stderr
    debug = run("--debug", "status", cwd=tmp_path, env={"IGNITE_DATABASE_URL": url})
    assert debug.returncode != 0 and "OperationalError" in debug.stderr
