"""`ignite-sync crm query|describe` against the local CRM named by IGNITE_LOCAL_CRM_URL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.app import app
from connector.local import LocalCrm
from mappings.snapshots import load_describes


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    with LocalCrm.create_database(url, load_describes("npsp_pmm")) as crm:
        crm.upsert("Account", "Ignite_Key__c", [{"Name": "Flagler Health", "Ignite_Key__c": "org:flch"}])
        crm.upsert(
            "Contact",
            "Ignite_Key__c",
            [
                {
                    "FirstName": "Ana",
                    "LastName": "Rivera",
                    "Ignite_Key__c": "p:1",
                    "Account": {"Ignite_Key__c": "org:flch"},
                },
                {"LastName": "Diaz", "Ignite_Key__c": "p:2"},
            ],
        )
    return {
        "IGNITE_CRM": "local",
        "IGNITE_PROFILE": "npsp_pmm",
        "IGNITE_LOCAL_CRM_URL": url,
        "IGNITE_DATABASE_URL": f"sqlite:///{tmp_path / 'service.db'}",
        "COLUMNS": "200",
    }


runner = CliRunner()


def test_query_prints_a_table_with_parent_columns(env: dict[str, str]) -> None:
    result = runner.invoke(app, ["crm", "query", "SELECT Name, Account.Name FROM Contact ORDER BY Name"], env=env)
    assert result.exit_code == 0, result.output
    assert "2 record(s)" in result.output
    assert "Account.Name" in result.output and "Flagler Health" in result.output
    assert result.output.index("Ana Rivera") < result.output.index("Diaz")


def test_query_json_is_salesforce_shaped(env: dict[str, str]) -> None:
    result = runner.invoke(
        app, ["crm", "query", "--json", "SELECT Name, Account.Name FROM Contact ORDER BY Name"], env=env
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["totalSize"] == 2
    assert body["records"] == [
        {"Name": "Ana Rivera", "Account": {"Name": "Flagler Health"}},
        {"Name": "Diaz", "Account": None},
    ]


def test_count_prints_the_number(env: dict[str, str]) -> None:
    result = runner.invoke(app, ["crm", "query", "SELECT COUNT() FROM Contact"], env=env)
    assert result.exit_code == 0 and "2 record(s)" in result.output


def test_bad_query_exits_non_zero_with_the_code_and_position(env: dict[str, str]) -> None:
    result = runner.invoke(app, ["crm", "query", "SELECT Name FROM Contact WHERE"], env=env)
    assert result.exit_code == 1
    assert "MALFORMED_QUERY" in result.output and "Column:31" in result.output


def test_describe_lists_fields_and_json_is_the_describe(env: dict[str, str]) -> None:
    table = runner.invoke(app, ["crm", "describe", "pmdm__ProgramEngagement__c"], env=env)
    assert table.exit_code == 0, table.output
    assert "pmdm__Stage__c" in table.output and "→ pmdm__Program__c" in table.output and "restricted" in table.output
    raw = runner.invoke(app, ["crm", "describe", "Contact", "--json"], env=env)
    assert json.loads(raw.output)["keyPrefix"] == "003"


def test_describe_of_an_unknown_object_fails_cleanly(env: dict[str, str]) -> None:
    result = runner.invoke(app, ["crm", "describe", "Nope__c"], env=env)
    assert result.exit_code == 1 and "INVALID_TYPE" in result.output


def test_a_fresh_local_crm_is_built_from_the_profile(env: dict[str, str], tmp_path: Path) -> None:
    env["IGNITE_LOCAL_CRM_URL"] = f"sqlite:///{tmp_path / 'fresh.db'}"
    env["IGNITE_PROFILE"] = "npsp_pmm"
    result = runner.invoke(app, ["crm", "query", "SELECT COUNT() FROM pmdm__ProgramEngagement__c"], env=env)
    assert result.exit_code == 0, result.output
    assert "no records" in result.output
    described = runner.invoke(app, ["crm", "describe", "pmdm__Program__c", "--json"], env=env)
    assert described.exit_code == 0 and json.loads(described.output)["name"] == "pmdm__Program__c"


def test_a_local_crm_that_cannot_be_opened_exits_cleanly(env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "not-a-db").write_text("this is not SQLite")
    env["IGNITE_LOCAL_CRM_URL"] = f"sqlite:///{tmp_path / 'not-a-db'}"
    result = runner.invoke(app, ["crm", "query", "SELECT Id FROM Contact"], env=env)
    assert result.exit_code == 2 and "CRM error" in result.output


def test_update_changes_a_record_as_staff_do_in_salesforce(env: dict[str, str]) -> None:
    [diaz] = json.loads(
        runner.invoke(app, ["crm", "query", "--json", "SELECT Id FROM Contact WHERE LastName = 'Diaz'"], env=env).output
    )["records"]
    result = runner.invoke(
        app, ["crm", "update", "Contact", diaz["Id"], "Title=Chief Resident", "FirstName=Luis"], env=env
    )
    assert result.exit_code == 0, result.output
    after = runner.invoke(
        app, ["crm", "query", "--json", "SELECT Name, Title FROM Contact WHERE LastName = 'Diaz'"], env=env
    )
    [row] = json.loads(after.output)["records"]
    assert (row["Name"], row["Title"]) == ("Luis Diaz", "Chief Resident")


def test_update_refused_by_the_crm_names_the_code_and_field(env: dict[str, str]) -> None:
    [diaz] = json.loads(
        runner.invoke(app, ["crm", "query", "--json", "SELECT Id FROM Contact WHERE LastName = 'Diaz'"], env=env).output
    )["records"]
    result = runner.invoke(app, ["crm", "update", "Contact", diaz["Id"], "Title=" + "x" * 200], env=env)
    assert result.exit_code == 1
    assert "STRING_TOO_LONG" in result.output and "Title" in result.output
    bad = runner.invoke(app, ["crm", "update", "Contact", diaz["Id"], "Title"], env=env)
    assert bad.exit_code == 2 and "FIELD=VALUE" in bad.output


def test_update_finds_the_record_by_its_name_or_ignite_key_so_nobody_copies_ids(env: dict[str, str]) -> None:
    by_key = runner.invoke(app, ["crm", "update", "Contact", "p:2", "Title=Chief Resident"], env=env)
    assert by_key.exit_code == 0, by_key.output
    by_name = runner.invoke(
        app, ["crm", "update", "Account", "Flagler Health", "Website=https://flch.example"], env=env
    )
    assert by_name.exit_code == 0, by_name.output
    rows = json.loads(
        runner.invoke(
            app, ["crm", "query", "--json", "SELECT Title FROM Contact WHERE LastName = 'Diaz'"], env=env
        ).output
    )["records"]
    assert rows == [{"Title": "Chief Resident"}] or rows[0]["Title"] == "Chief Resident"
    missing = runner.invoke(app, ["crm", "update", "Contact", "p:404", "Title=x"], env=env)
    assert missing.exit_code == 2 and "no Contact has the Name or key 'p:404'" in missing.output
