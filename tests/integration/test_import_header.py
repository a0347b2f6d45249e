"""A wrong CSV header is one message for the file, and `import KIND --template` gives a header that works.

From issue 16: a 500-row file with a misspelt column printed 2,503 lines (five per row), and only the model
files listed the columns a file needs.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from cli.app import app as cli
from ingest import import_file
from ingest.columns import WrongHeader
from ingest.importer import IMPORTABLE
from store.unit_of_work import UnitOfWork

ORGS = "key,name,kind\norg:umc,University Medical Center,academic_medical_center\n"


def people_file(path: Path, header: str, rows: int = 500) -> Path:
    lines = [header] + [f"person{n}@umc.example,Jordan,Rivera,clinician,org:umc" for n in range(1, rows + 1)]
    path.write_text("\n".join(lines) + "\n")
    return path


def stored(engine: Engine, kind: str) -> int:
    with UnitOfWork(engine) as uow:
        return uow.records(kind).count()


def test_a_misspelt_column_is_one_problem_naming_the_closest_valid_name_and_no_row_is_checked(
    engine: Engine, tmp_path: Path
) -> None:
    (tmp_path / "orgs.csv").write_text(ORGS)
    import_file(engine, "organizations", tmp_path / "orgs.csv")
    people = people_file(tmp_path / "people.csv", "email,frist_name,last_name,role,organization")
    with pytest.raises(WrongHeader) as raised:
        import_file(engine, "participants", people)
    assert raised.value.unknown == {"frist_name": "first_name"}
    assert raised.value.missing == ["first_name"]
    assert str(raised.value).startswith(
        "people.csv:1 header: unknown column 'frist_name' (did you mean 'first_name'?); missing required column "
        "'first_name'. A participants file has the columns email, first_name, last_name, role, job_title, "
        "organization, phone, key (`ignite-sync import participants --template` prints them"
    )
    assert stored(engine, "participants") == 0


def test_missing_required_columns_are_named_together_before_any_row_is_read(engine: Engine, tmp_path: Path) -> None:
    people = people_file(tmp_path / "people.csv", "email,last_name,organization")
    with pytest.raises(WrongHeader) as raised:
        import_file(engine, "participants", people)
    assert raised.value.unknown == {}
    assert raised.value.missing == ["first_name", "role"]


def test_optional_columns_may_be_left_out_and_an_empty_trailing_column_is_harmless(
    engine: Engine, tmp_path: Path
) -> None:
    (tmp_path / "orgs.csv").write_text("key,name,kind,\norg:umc,University Medical Center,academic_medical_center,\n")
    report = import_file(engine, "organizations", tmp_path / "orgs.csv")
    assert (report.rows, report.rejected) == (1, 0)


def test_the_import_command_prints_a_wrong_header_as_one_line_and_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("IGNITE_DATABASE_URL", f"sqlite:///{tmp_path / 'service.db'}")
    people = people_file(tmp_path / "people.csv", "Email,frist_name,last_name,rol,organization")
    result = CliRunner().invoke(cli, ["import", "participants", str(people)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert "'Email' (did you mean 'email'?)" in lines[0]
    assert "'rol' (did you mean 'role'?)" in lines[0]


def test_every_kinds_template_row_imports_cleanly_in_dependency_order_into_an_empty_database(
    engine: Engine, tmp_path: Path
) -> None:
    runner = CliRunner()
    for kind in IMPORTABLE:  # IMPORTABLE lists the kinds parents first
        result = runner.invoke(cli, ["import", kind, "--template"])
        assert result.exit_code == 0, result.output
        header, example = result.stdout.splitlines()
        path = tmp_path / f"{kind}.csv"
        path.write_text(f"{header}\n{example}\n")
        report = import_file(engine, kind, path)
        assert (report.rows, report.rejected) == (1, 0), (kind, [str(p) for p in report.problems])
        assert stored(engine, kind) == 1
