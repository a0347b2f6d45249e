"""`import`: good rows are stored, every bad row is reported as file:line field: rule, nothing twice."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from cli.app import app as cli
from demo import generate, seed
from ingest import import_file
from ingest.importer import UnknownKind
from ingest.reader import UnreadableFile
from models import Program
from store.unit_of_work import UnitOfWork

ORG_HEADER = ["key", "name", "kind", "city", "state", "website"]


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture
def orgs_csv(tmp_path: Path) -> Path:
    return write_csv(
        tmp_path / "orgs.csv",
        ORG_HEADER,
        [
            ["org:flch", "Finger Lakes Health", "fqhc", "Geneva", "NY", "https://flch.example/"],
            ["org:bad kind", "Broken", "spa", "", "", ""],  # line 3: bad key and bad kind
            ["org:umc", "University Medical Center", "academic_medical_center", "Jackson", "MS", ""],
            ["org:nostate", "No State", "other", "", "XX", "not a url"],  # line 5: bad state and website
        ],
    )


def count(engine: Engine, kind: str) -> int:
    with UnitOfWork(engine) as uow:
        return uow.records(kind).count()


def test_mixed_file_stores_good_rows_and_reports_each_bad_one_precisely(engine: Engine, orgs_csv: Path) -> None:
    report = import_file(engine, "organizations", orgs_csv)
    assert (report.rows, report.accepted, report.rejected) == (4, 2, 2)
    assert [str(p) for p in report.problems] == [
        "orgs.csv:3 key: key must look like 'org:<slug>' (lower-case letters, digits, '-', '_', '.')",
        "orgs.csv:3 kind: Input should be 'fqhc', 'academic_medical_center', 'community_hospital', 'health_system' "
        "or 'other'",
        "orgs.csv:5 state: " + report.problems[2].rule,
        "orgs.csv:5 website: " + report.problems[3].rule,
    ]
    assert count(engine, "organizations") == 2


def test_importing_the_same_file_twice_changes_nothing(engine: Engine, orgs_csv: Path) -> None:
    import_file(engine, "organizations", orgs_csv)
    again = import_file(engine, "organizations", orgs_csv)
    assert (again.counts.inserted, again.counts.updated, again.counts.unchanged) == (0, 0, 2)


def test_dry_run_reports_the_same_and_writes_nothing(engine: Engine, orgs_csv: Path) -> None:
    report = import_file(engine, "organizations", orgs_csv, dry_run=True)
    assert (report.accepted, report.rejected, report.counts.inserted) == (2, 2, 2)
    assert count(engine, "organizations") == 0


def test_rows_pointing_at_missing_records_are_rejected_naming_the_key(engine: Engine, tmp_path: Path) -> None:
    seed(engine, generate(16))
    people = write_csv(
        tmp_path / "people.csv",
        ["email", "first_name", "last_name", "role", "organization"],
        [
            ["new.person@catskill-ridge.example", "Noor", "Haddad", "administrator", "org:catskill-ridge"],
            ["lost@nowhere.example", "Lost", "Person", "clinician", "org:nowhere"],
        ],
    )
    report = import_file(engine, "participants", people)
    assert [str(p) for p in report.problems] == [
        "people.csv:3 organization: organization 'org:nowhere' does not exist (import it first)"
    ]
    assert report.counts.inserted == 1


def test_cohorts_and_enrolments_dated_outside_their_program_are_rejected_before_the_crm_refuses_them(
    engine: Engine, tmp_path: Path
) -> None:
    """PMM's validation rules refuse them (and block every session and attendance beneath); say so at import."""
    seed(engine, generate(16))  # program:ignite starts on 2025-01-01, with no end
    programs = tmp_path / "programs.json"
    programs.write_text(
        json.dumps([{"key": "program:pilot", "name": "Pilot", "start_date": "2025-03-01", "end_date": "2025-06-30"}])
    )
    assert import_file(engine, "programs", programs).rejected == 0
    cohorts = write_csv(
        tmp_path / "cohorts.csv",
        ["key", "program", "organization", "name", "start_date", "end_date", "status", "delivery"],
        [
            [
                "cohort:early",
                "program:ignite",
                "org:catskill-ridge",
                "Early",
                "2024-12-01",
                "2025-01-20",
                "completed",
                "virtual",
            ],
            [
                "cohort:late",
                "program:pilot",
                "org:catskill-ridge",
                "Late",
                "2025-05-01",
                "2025-07-15",
                "completed",
                "virtual",
            ],
            [
                "cohort:fits",
                "program:pilot",
                "org:catskill-ridge",
                "Fits",
                "2025-03-03",
                "2025-04-14",
                "completed",
                "virtual",
            ],
        ],
    )
    report = import_file(engine, "cohorts", cohorts)
    assert [str(p) for p in report.problems] == [
        "cohorts.csv:2 start_date: the cohort starts on 2024-12-01, before program:ignite starts (2025-01-01)",
        "cohorts.csv:3 end_date: the cohort ends on 2025-07-15, after program:pilot ends (2025-06-30)",
    ]
    with UnitOfWork(engine) as uow:
        first, second = sorted(uow.records("participants").keys())[:2]
    enrolments = write_csv(
        tmp_path / "enrolments.csv",
        ["participant", "cohort", "status", "enrolled_on", "ended_on"],
        [
            [first, "cohort:fits", "completed", "2025-02-20", "2025-07-01"],
            [second, "cohort:fits", "completed", "2025-03-01", "2025-04-14"],
        ],
    )
    report = import_file(engine, "enrollments", enrolments)
    assert [str(p) for p in report.problems] == [
        "enrolments.csv:2 enrolled_on: the enrolment starts on 2025-02-20, before program:pilot starts (2025-03-01)",
        "enrolments.csv:2 ended_on: the enrolment ends on 2025-07-01, after program:pilot ends (2025-06-30)",
    ]
    assert report.counts.inserted == 1


def test_new_program_dates_that_would_strand_cohorts_or_enrolments_are_refused_before_anything_is_written(
    engine: Engine, tmp_path: Path
) -> None:
    """PMM would refuse the next edit of every cohort and engagement left outside its program's dates."""
    seed(engine, generate(16))
    programs = tmp_path / "programs.json"
    pilot = {"key": "program:pilot", "name": "Pilot", "start_date": "2025-03-01", "end_date": "2025-06-30"}
    programs.write_text(json.dumps([pilot]))
    assert import_file(engine, "programs", programs).rejected == 0
    header = ["key", "program", "organization", "name", "start_date", "end_date", "status", "delivery"]
    cohort = ["cohort:fits", "program:pilot", "org:catskill-ridge", "Fits", "2025-03-03", "2025-04-14"]
    assert import_file(engine, "cohorts", write_csv(tmp_path / "c.csv", header, [[*cohort, "active", "virtual"]]))
    with UnitOfWork(engine) as uow:
        person = sorted(uow.records("participants").keys())[0]
    enrolment = [person, "cohort:fits", "enrolled", "2025-03-02", ""]
    header = ["participant", "cohort", "status", "enrolled_on", "ended_on"]
    assert import_file(engine, "enrollments", write_csv(tmp_path / "e.csv", header, [enrolment])).rejected == 0
    enrolment_key = f"enrollment:fits:{person.split(':', 1)[1]}"

    moved = [
        {**pilot, "start_date": "2025-03-03", "end_date": "2025-04-30"},  # still holds the cohort, not the enrolment
        {"key": "program:other", "name": "Other", "start_date": "2026-01-01"},  # nothing under it
    ]
    programs.write_text(json.dumps(moved))
    report = import_file(engine, "programs", programs)

    assert [str(p) for p in report.problems] == [
        f"programs.json:item 1 start_date: moving program:pilot's start date to 2025-03-03 would leave 1 record(s) "
        f"outside the program, which PMM refuses: {enrolment_key} (enrolled_on 2025-03-02)"
    ]
    assert report.counts.inserted == 1 and report.counts.updated == 0
    with UnitOfWork(engine) as uow:
        stored = uow.records("programs").get("program:pilot")
    assert isinstance(stored, Program) and str(stored.start_date) == "2025-03-01"  # the old dates stay until fixed

    programs.write_text(json.dumps([{**pilot, "start_date": "2025-03-05", "end_date": "2025-04-10"}]))
    [start, end] = import_file(engine, "programs", programs, dry_run=True).problems
    assert (
        start.field == "start_date"
        and "2 record(s)" in start.rule
        and "cohort:fits (start_date 2025-03-03)" in start.rule
    )
    assert end.field == "end_date" and "cohort:fits (end_date 2025-04-14)" in end.rule


def test_a_later_batch_may_refer_to_rows_accepted_earlier_in_the_same_dry_run(engine: Engine, tmp_path: Path) -> None:
    seed(engine, generate(16))
    rows = [
        {"key": "program:p2", "name": "Second program"},
    ]
    programs = tmp_path / "programs.json"
    programs.write_text(json.dumps(rows))
    assert import_file(engine, "programs", programs, dry_run=True, batch_size=1).rejected == 0
    assert count(engine, "programs") == 1  # only the seeded one


def test_responses_need_an_enrolment_and_a_value_on_the_scale(engine: Engine, tmp_path: Path) -> None:
    program = generate(16)
    seed(engine, program)
    bundle = next(program.bundles())
    enrolled = bundle.participants[0].key
    responses = tmp_path / "responses.jsonl"
    lines = [
        {"participant": enrolled, "cohort": bundle.cohort.key, "measure": "measure:burnout", "phase": "post",
         "value": 2, "collected_on": "2025-04-01"},
        {"participant": enrolled, "cohort": bundle.cohort.key, "measure": "measure:burnout", "phase": "post",
         "value": 7, "collected_on": "2025-04-01"},
        {"participant": "participant:ffffffffffffffffffffffff", "cohort": bundle.cohort.key,
         "measure": "measure:communication", "phase": "pre", "value": 4, "collected_on": "2025-02-01"},
    ]  # fmt: skip
    responses.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    report = import_file(engine, "responses", responses)
    assert [(p.record, p.field) for p in report.problems] == [
        ("responses.jsonl:2", "value"),
        ("responses.jsonl:3", "participant"),
    ]


def test_unknown_kind_and_unreadable_files_are_refused_before_anything_is_written(
    engine: Engine, tmp_path: Path
) -> None:
    with pytest.raises(UnknownKind, match="choose one of"):
        import_file(engine, "donations", tmp_path / "x.csv")
    broken = tmp_path / "broken.json"
    broken.write_text("[{")
    with pytest.raises(UnreadableFile, match=r"broken\.json:1 not valid JSON"):
        import_file(engine, "programs", broken)


def test_the_import_command_refuses_an_unknown_kind_with_exit_2_and_the_choices(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IGNITE_DATABASE_URL", f"sqlite:///{tmp_path / 's.db'}")
    data = tmp_path / "x.csv"
    data.write_text("a\n1\n")
    result = CliRunner().invoke(cli, ["import", "donations", str(data)])
    assert result.exit_code == 2, result.output
    assert "choose one of: programs, organizations" in result.stderr
