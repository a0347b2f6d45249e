"""Bad bytes, repeated people and broken headers: reported as `file:line field: rule`, never half-written.

Each test reproduces a defect from issue 13: a NUL byte or a Latin-1 byte in row 1,502 of a 2,500-row file
crashed the import after 1,000 rows were committed (and printed SQL parameters: emails and names); two rows
for the same person merged silently with the report counting both; a repeated column kept its second value.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from cli.app import app as cli
from ingest import import_file
from ingest.reader import UnreadableFile
from models import Participant
from store.database import make_engine, upgrade_database
from store.unit_of_work import UnitOfWork

HEADER = b"email,first_name,last_name,role,organization\n"
ROWS = 2500
BAD_ROW = 1502  # data row; the header is line 1, so it sits on line 1503


def person(n: int, last_name: bytes = b"Rivera") -> bytes:
    return b"person%d@umc.example,Jordan,%s,clinician,org:umc\n" % (n, last_name)


def people_file(path: Path, bad_last_name: bytes | None = None, *, rows: int = ROWS) -> Path:
    lines = [HEADER]
    for n in range(1, rows + 1):
        lines.append(person(n, bad_last_name if n == BAD_ROW and bad_last_name is not None else b"Rivera"))
    path.write_bytes(b"".join(lines))
    return path


def seed_org(engine: Engine, tmp_path: Path) -> None:
    orgs = tmp_path / "orgs.csv"
    orgs.write_text("key,name,kind\norg:umc,University Medical Center,academic_medical_center\n")
    assert import_file(engine, "organizations", orgs).rejected == 0


def stored_people(engine: Engine) -> int:
    with UnitOfWork(engine) as uow:
        return uow.records("participants").count()


def test_a_nul_byte_rejects_its_row_by_line_and_field_and_the_rest_of_the_file_is_stored(
    engine: Engine, tmp_path: Path
) -> None:
    seed_org(engine, tmp_path)
    report = import_file(engine, "participants", people_file(tmp_path / "people.csv", b"Riv\x00era"))
    assert [str(p) for p in report.problems] == [
        "people.csv:1503 last_name: contains the control character U+0000, which is not allowed"
    ]
    assert (report.rows, report.accepted, report.rejected) == (ROWS, ROWS - 1, 1)
    assert stored_people(engine) == ROWS - 1


def test_a_latin1_byte_rejects_its_row_naming_the_byte_instead_of_crashing_the_import(
    engine: Engine, tmp_path: Path
) -> None:
    seed_org(engine, tmp_path)
    report = import_file(engine, "participants", people_file(tmp_path / "people.csv", b"Caf\xe9"))
    assert [str(p) for p in report.problems] == [
        "people.csv:1503 last_name: is not valid UTF-8 (byte 0xE9); save the file as UTF-8"
    ]
    assert stored_people(engine) == ROWS - 1


def test_a_file_that_turns_out_unreadable_halfway_writes_none_of_its_rows(engine: Engine, tmp_path: Path) -> None:
    seed_org(engine, tmp_path)
    huge_cell = b'"' + b"x" * 131_073 + b'"'
    with pytest.raises(UnreadableFile, match=r"people\.csv:1503 \(cell\): field larger than field limit"):
        import_file(engine, "participants", people_file(tmp_path / "people.csv", huge_cell))
    assert stored_people(engine) == 0  # the first 1,000-row batch is not left behind


def test_rows_of_one_file_for_the_same_person_are_a_conflict_naming_the_earlier_line(
    engine: Engine, tmp_path: Path
) -> None:
    seed_org(engine, tmp_path)
    people = tmp_path / "people.csv"
    rows = [person(n) for n in range(1, 7)]
    rows.insert(1, b"Jane.Doe@UMC.example,Jane,Doe,clinician,org:umc\n")  # line 3
    rows.append(b'" jane.doe@umc.example ",Janet,Doe,administrator,org:umc\n')  # line 9
    people.write_bytes(HEADER + b"".join(rows))
    report = import_file(engine, "participants", people)
    assert [str(p) for p in report.problems] == [
        "people.csv:9 email: the same record as people.csv:3 (their keys match once normalised); a file may "
        "hold each record once, so the earlier row is kept and this one is not stored"
    ]
    assert (report.rows, report.accepted, report.rejected, report.counts.inserted) == (8, 7, 1, 7)
    assert stored_people(engine) == 7
    with UnitOfWork(engine) as uow:
        stored = [Participant.model_validate(p.model_dump()) for p in uow.records("participants").iter_all()]
    jane = [p for p in stored if p.email == "jane.doe@umc.example"]
    assert [p.first_name for p in jane] == ["Jane"]  # the earlier row, not the last one


def test_a_column_named_twice_in_the_header_is_one_problem_for_the_file(engine: Engine, tmp_path: Path) -> None:
    orgs = tmp_path / "orgs.csv"
    orgs.write_text("key,name,name,kind\norg:umc,University Medical Center,UMC,academic_medical_center\n")
    with pytest.raises(UnreadableFile) as raised:
        import_file(engine, "organizations", orgs)
    assert str(raised.value) == (
        "orgs.csv:1 header: each column may appear once, but 'name' (columns 2 and 3) appear more than once "
        "(which value should count is unknowable)"
    )
    with UnitOfWork(engine) as uow:
        assert uow.records("organizations").count() == 0


def test_database_errors_never_quote_the_values_they_were_given(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade_database(engine)
    try:
        with pytest.raises(DBAPIError) as raised, engine.begin() as conn:
            conn.execute(text("INSERT INTO no_such_table (email) VALUES (:email)"), {"email": "jane.doe@umc.example"})
        assert "jane.doe@umc.example" not in str(raised.value)
    finally:
        engine.dispose()


def test_the_import_command_exits_non_zero_on_bad_bytes_and_prints_no_personal_data(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("IGNITE_DATABASE_URL", f"sqlite:///{tmp_path / 'service.db'}")
    runner = CliRunner()
    orgs = tmp_path / "orgs.csv"
    orgs.write_text("key,name,kind\norg:umc,University Medical Center,academic_medical_center\n")
    assert runner.invoke(cli, ["import", "organizations", str(orgs)]).exit_code == 0
    people = people_file(tmp_path / "people.csv", b"Caf\xe9\x00", rows=1600)
    with caplog.at_level(logging.DEBUG):
        result = runner.invoke(cli, ["import", "participants", str(people)])
    assert result.exit_code == 1, result.output
    assert "people.csv:1503 last_name: is not valid UTF-8 (byte 0xE9)" in result.output
    for value in ("person1502@", "Caf"):
        assert value not in result.output and value not in caplog.text


def test_an_escaped_nul_in_a_json_record_rejects_it_by_item_and_field(engine: Engine, tmp_path: Path) -> None:
    orgs = tmp_path / "orgs.json"
    orgs.write_text(
        '[{"key": "org:umc", "name": "UMC", "kind": "fqhc"}, {"key": "org:x", "name": "X\\u0000Y", "kind": "fqhc"}]'
    )
    report = import_file(engine, "organizations", orgs)
    assert [str(p) for p in report.problems] == [
        "orgs.json:item 2 name: contains the control character U+0000, which is not allowed"
    ]
    with UnitOfWork(engine) as uow:
        assert uow.records("organizations").keys() == {"org:umc"}
