"""The demo's outcomes look like a real program's (measures change independently, some people get worse), and its
summary pages add up."""

from __future__ import annotations

from collections import defaultdict
from itertools import combinations
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import Engine

import demo
from exports.report import Value
from exports.service import build_funder_report, export_funder
from models import Phase, default_catalogue
from tests.support.export_pages import html_changes, pdf_changes
from tests.support.export_program import EXPORT_SETTINGS


def _paired_changes(program: demo.DemoProgram) -> dict[str, list[float]]:
    """Each measure's paired changes, read in its better direction (positive = better)."""
    catalogue = default_catalogue()
    answers: dict[tuple[str, str], dict[Phase, float]] = defaultdict(dict)
    for bundle in program.bundles():
        for r in bundle.responses:
            answers[(r.measure, r.participant)][r.phase] = r.value
    changes: dict[str, list[float]] = defaultdict(list)
    for (measure, _), by_phase in answers.items():
        if Phase.PRE in by_phase and Phase.POST in by_phase:
            better = 1 if catalogue.get(measure).higher_is_better else -1  # type: ignore[union-attr]
            changes[measure].append(better * (by_phase[Phase.POST] - by_phase[Phase.PRE]))
    return changes


def test_in_the_demo_some_people_get_worse_and_some_stay_the_same_on_every_measure() -> None:
    for measure, changes in _paired_changes(demo.generate()).items():
        worse = sum(c < 0 for c in changes) / len(changes)
        same = sum(c == 0 for c in changes) / len(changes)
        better = sum(c > 0 for c in changes) / len(changes)
        assert 0.05 <= worse < better, (measure, worse, better)
        assert 0.10 <= same <= 0.5, (measure, same)


def test_the_demo_is_the_same_for_the_same_seed_and_differs_for_another() -> None:
    def answers(seed: int) -> list[tuple[str, str, str, float]]:
        return [
            (r.participant, r.measure, r.phase.value, r.value)
            for b in demo.generate(48, seed=seed).bundles()
            for r in b.responses
        ]

    assert answers(7) == answers(7)
    assert answers(7) != answers(8)


def test_no_two_measures_rows_in_the_demo_export_are_mirror_images(engine: Engine) -> None:
    # A mirror (+x / -x with the same SD) is what one change copied into two measures would give: fabricated.
    demo.seed(engine, demo.generate())
    mirrors = []
    for funder in ("funder:hudson-health-fund", "funder:delta-care-foundation"):
        rows = build_funder_report(engine, funder, **EXPORT_SETTINGS).table("outcomes").rows
        by_unit: dict[tuple[Value, Value], list[dict[str, Value]]] = defaultdict(list)
        for row in rows:
            by_unit[(row["grant"], row["cohort"])].append(row)
        for unit, measures in by_unit.items():
            for a, b in combinations(measures, 2):
                change_a, change_b = a["mean_change"], b["mean_change"]
                if not isinstance(change_a, float) or not isinstance(change_b, float):
                    continue
                if change_a == -change_b and a["sd_change"] == b["sd_change"]:
                    mirrors.append((unit, a["measure"], b["measure"], a["mean_change"], a["sd_change"]))
    assert not mirrors


def test_every_change_on_the_demos_summary_pages_is_after_minus_before_as_printed(
    engine: Engine, tmp_path: Path
) -> None:
    demo.seed(engine, demo.generate())
    checked = 0
    for funder in ("hudson-health-fund", "delta-care-foundation"):
        out = tmp_path / funder
        export_funder(engine, funder, out, ["pdf", "html", "xlsx"], **EXPORT_SETTINGS)
        for before, after, change in [
            *pdf_changes((out / "summary.pdf").read_bytes()),
            *html_changes((out / "summary.html").read_text("utf-8")),
        ]:
            assert after - before == change, (funder, before, after, change)
            checked += 1
        summary = load_workbook(out / "outcomes.xlsx")["Summary"]
        for _, before, after, _, change in summary.iter_rows(min_row=1, max_col=5, values_only=True):
            if isinstance(before, int | float) and isinstance(after, int | float) and isinstance(change, int | float):
                assert round(after - before, 3) == change, (funder, before, after, change)
                checked += 1
    assert checked == 3 * 12  # every measure of both grants, on the PDF, the HTML and the Summary sheet
