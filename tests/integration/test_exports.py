"""Funder exports from a real service database: scope, identical numbers by SQL and Python, valid files."""

from __future__ import annotations

import codecs
import html
import json
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine

import demo
from exports.aggregate import load_funder_data, paired_summaries, summaries_from_responses
from exports.blanks import blank_meaning
from exports.service import build_funder_report, export_all_funders, export_funder, export_zip
from models import Attendance, Session, SurveyResponse, default_catalogue
from models.common import Phase
from models.statistics import PairedSummary
from store.unit_of_work import UnitOfWork
from tests.support.export_pages import pdf_text
from tests.support.export_program import EXPORT_SETTINGS, CohortSpec, ProgramSpec, build, seed, two_funders


@pytest.fixture
def program(engine: Engine) -> dict[str, list[object]]:
    return seed(engine, two_funders())


def _same_summary(a: PairedSummary, b: PairedSummary) -> bool:
    """Counts equal, sums equal up to float rounding (the database adds in another order than Python)."""
    for name in ("pre", "post", "change", "pre_paired", "post_paired"):
        x, y = getattr(a, name), getattr(b, name)
        if x.n != y.n or x.total != pytest.approx(y.total) or x.total_sq != pytest.approx(y.total_sq):
            return False
    counts = ("n_increased", "n_decreased", "n_no_change", "n_pre_at_threshold", "n_post_at_threshold")
    return all(getattr(a, c) == getattr(b, c) for c in counts)


def test_database_aggregates_equal_the_pure_python_ones(engine: Engine, program: dict[str, list[object]]) -> None:
    # Answers the statistics must ignore, stored beside the real ones: a follow-up phase (the SQL pairs only
    # pre and post, with no phase filter) and a measure missing from the catalogue (dropped per group).
    responses = [r for r in program["responses"] if isinstance(r, SurveyResponse)]
    extra = [
        r.model_copy(update={"phase": Phase.FOLLOW_UP, "value": r.value + 0.5})
        for r in responses[::3]
        if r.phase is Phase.POST
    ]
    extra += [r.model_copy(update={"measure": "measure:not-in-catalogue"}) for r in responses[::5]]
    with UnitOfWork(engine) as uow:
        uow.records("responses").upsert_many(extra)
        uow.commit()
    catalogue = default_catalogue()
    with engine.connect() as conn:
        in_sql = paired_summaries(conn, None, None, None, catalogue)
        scoped = paired_summaries(conn, ["cohort:hill"], date(2025, 1, 1), date(2025, 12, 31), catalogue)
    in_python = summaries_from_responses([*responses, *extra], catalogue)
    assert in_sql.keys() == in_python.keys()
    assert not any(measure == "measure:not-in-catalogue" for _, measure in in_sql)
    assert all(s.n_no_change > 0 for s in in_sql.values())  # the derived count is exercised, not always zero
    for key in in_sql:
        assert _same_summary(in_sql[key], in_python[key]), key
    assert scoped.keys() == {k for k in in_python if k[0] == "cohort:hill"}
    for key in scoped:
        assert _same_summary(scoped[key], in_python[key]), key


def test_an_export_holds_only_the_funders_own_cohorts(engine: Engine, program: dict[str, list[object]]) -> None:
    report = build_funder_report(engine, "funder:acme", **EXPORT_SETTINGS)
    cohorts = {r["cohort"] for t in ("participation", "outcomes") for r in report.table(t).rows}
    assert cohorts == {"all", "cohort:river", "cohort:hill"}
    assert {r["grant"] for r in report.table("grants").rows} == {"grant:acme-2025"}


def test_cohorts_and_sessions_outside_the_grant_period_are_left_out_but_a_cohorts_outcomes_stay_whole(
    engine: Engine,
) -> None:
    spec = ProgramSpec(
        cohorts=[CohortSpec("early", 30), CohortSpec("late", 30, start=date(2026, 3, 1))],
        grants={"g": ("acme", ["early", "late"], date(2025, 1, 1), date(2025, 2, 15))},
    )
    seed(engine, spec)
    with engine.connect() as conn:
        (data,) = load_funder_data(conn, "funder:acme", default_catalogue())
    assert [c.key for c in data.cohorts] == ["cohort:early"]  # "late" starts after the period
    assert data.sessions_held["cohort:early"] == 3  # sessions on Feb 1, 8, 15 (the fourth is on the 22nd)
    # the post answers are dated Mar 1, after the period: they still pair with the pre answers of Feb 1
    assert data.summaries and all(s.change.n > 0 for s in data.summaries.values())


def test_a_session_on_the_last_evening_of_the_period_counts_in_the_programs_time_zone(engine: Engine) -> None:
    spec = ProgramSpec(
        cohorts=[CohortSpec("early", 30)],
        grants={"g": ("acme", ["early"], date(2025, 1, 1), date(2025, 2, 14))},
    )
    seed(engine, spec)
    evening = Session(
        key="session:early-evening",
        cohort="cohort:early",
        sequence=9,
        title="Evening session",
        starts_at=datetime(2025, 2, 14, 19, 30, tzinfo=ZoneInfo("America/New_York")),  # Feb 15, 00:30 UTC
        duration_minutes=60,
    )
    someone = next(r for r in build(spec)["attendance"] if getattr(r, "status", "") == "present")
    with UnitOfWork(engine) as uow:
        uow.records("sessions").upsert_many([evening])
        uow.records("attendance").upsert_many(
            [Attendance(session=evening.key, participant=someone.participant, status="present")]  # type: ignore[attr-defined]
        )
        uow.commit()
    with engine.connect() as conn:
        (new_york,) = load_funder_data(conn, "funder:acme", default_catalogue(), "America/New_York")
        (utc,) = load_funder_data(conn, "funder:acme", default_catalogue(), "UTC")
    assert new_york.sessions_held["cohort:early"] == 3  # Feb 1, 8 and the evening of the 14th
    assert utc.sessions_held["cohort:early"] == 2
    assert new_york.latest == date(2025, 3, 1)  # the post answers, after the period, are the latest data


def test_every_format_is_written_and_the_package_validates(
    engine: Engine, program: dict[str, list[object]], tmp_path: Path
) -> None:
    from frictionless import validate

    written = export_funder(engine, "acme", tmp_path, **EXPORT_SETTINGS)
    names = {p.name for p in written}
    assert {
        "outcomes.xlsx",
        "datapackage.json",
        "outcomes.csv",
        "participation.csv",
        "summary.html",
        "summary.pdf",
        "README.md",
    } <= names
    report = validate(str(tmp_path / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    # Excel needs the byte-order mark to read UTF-8; the validator reading the headers proves it is skipped
    assert all((tmp_path / f"{t}.csv").read_bytes().startswith(codecs.BOM_UTF8) for t in ("outcomes", "cohorts"))
    package = json.loads((tmp_path / "datapackage.json").read_text())
    outcomes = next(r for r in package["resources"] if r["name"] == "outcomes")
    assert outcomes["schema"]["missingValues"] == [""]
    assert {f["name"]: f["type"] for f in outcomes["schema"]["fields"]}["d_z"] == "number"
    assert (tmp_path / "summary.pdf").read_bytes().startswith(b"%PDF")
    html = (tmp_path / "summary.html").read_text()
    assert "<svg" in html and "Acme Foundation" in html and "<script" not in html


def test_the_workbook_has_typed_sheets_a_native_chart_and_notes(
    engine: Engine, program: dict[str, list[object]], tmp_path: Path
) -> None:
    export_funder(engine, "acme", tmp_path, ["xlsx"], **EXPORT_SETTINGS)
    book = load_workbook(tmp_path / "outcomes.xlsx")
    assert book.sheetnames == ["Summary", "Grants", "Cohorts", "Participation", "Outcomes", "Measures", "Notes"]
    assert len(book["Summary"]._charts) == 1
    notes = {row[0]: row[1] for row in book["Notes"].iter_rows(values_only=True)}
    assert "Cohen's d_z = mean change / standard deviation of the change" in notes["Outcome statistics"]
    assert "from 1 to 10" in notes["Small-cell suppression"]
    outcomes = book["Outcomes"]
    header = [c.value for c in outcomes[1]]
    roll_up = next(r for r in outcomes.iter_rows(min_row=2, values_only=True) if r[1] == "all")
    n_paired = roll_up[header.index("n_paired")]
    assert isinstance(n_paired, int) and n_paired >= 11


def test_same_data_gives_byte_identical_csv_and_json(
    engine: Engine, program: dict[str, list[object]], tmp_path: Path
) -> None:
    export_funder(engine, "acme", tmp_path / "one", ["csv", "xlsx", "pdf"], **EXPORT_SETTINGS)
    export_funder(engine, "acme", tmp_path / "two", ["csv", "xlsx", "pdf"], **EXPORT_SETTINGS)
    for path in sorted((tmp_path / "one").iterdir()):
        assert path.read_bytes() == (tmp_path / "two" / path.name).read_bytes(), path.name
    report = build_funder_report(engine, "funder:acme", **EXPORT_SETTINGS)
    assert export_zip(report) == export_zip(report)


def test_the_demo_gets_a_folder_per_funder(engine: Engine, program: dict[str, list[object]], tmp_path: Path) -> None:
    folders = export_all_funders(engine, tmp_path, **EXPORT_SETTINGS)
    assert folders == {"funder:acme": tmp_path / "exports" / "acme", "funder:zenith": tmp_path / "exports" / "zenith"}
    assert (tmp_path / "exports" / "zenith" / "outcomes.xlsx").exists()


def test_a_grant_with_no_survey_answers_yet_still_gets_every_file(engine: Engine, tmp_path: Path) -> None:
    # With 16 participants the demo's second grant funds no cohort yet: nothing to chart, nothing to crash on.
    demo.seed(engine, demo.generate(16))
    folders = export_all_funders(engine, tmp_path, **EXPORT_SETTINGS)
    empty = folders["funder:delta-care-foundation"]
    assert {"summary.pdf", "summary.html", "outcomes.xlsx", "datapackage.json"} <= {p.name for p in empty.iterdir()}
    assert (empty / "summary.pdf").read_bytes().startswith(b"%PDF")


def test_every_file_says_what_a_blank_means_in_the_same_words(
    engine: Engine, program: dict[str, list[object]], tmp_path: Path
) -> None:
    # The workbook's Summary sheet said every blank was suppressed while its Notes said some are not applicable.
    export_funder(engine, "acme", tmp_path, **EXPORT_SETTINGS)
    k = build_funder_report(engine, "funder:acme", **EXPORT_SETTINGS).k
    sentence = blank_meaning(k)
    book = load_workbook(tmp_path / "outcomes.xlsx")
    assert sentence in str(book["Summary"]["A2"].value)
    notes = {row[0]: row[1] for row in book["Notes"].iter_rows(values_only=True)}
    assert sentence in str(notes["Small-cell suppression"])
    assert sentence in (tmp_path / "README.md").read_text("utf-8")
    assert sentence in json.loads((tmp_path / "datapackage.json").read_text("utf-8"))["description"]
    assert html.escape(blank_meaning(k, "A dash")) in (tmp_path / "summary.html").read_text("utf-8")
    assert blank_meaning(k, "A dash") in " ".join(pdf_text((tmp_path / "summary.pdf").read_bytes()).split())
