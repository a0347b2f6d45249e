"""Small-cell suppression: no count from 1 to k-1 is published, and no blank can be worked back out."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exports.aggregate import ROLES, GrantData
from exports.report import ALL, FunderReport, build_report
from exports.suppression import CountTable, suppress
from models import Funder
from tests.unit.export_strategies import CATALOGUE, OUTCOME_COUNTS, PARTICIPATION_COUNTS, grants

PEOPLE_COUNTS = {"participation": PARTICIPATION_COUNTS, "outcomes": OUTCOME_COUNTS}


def test_a_small_cell_in_a_row_takes_a_second_cell_with_it() -> None:
    t = CountTable(11)
    for cell, v in {"total": 40, "clinician": 30, "administrator": 7, "other": 3}.items():
        t.add(cell, v)
    t.relate("total", ["clinician", "administrator", "other"])
    # 7 and 3 are small; blanking both is not enough, since 40 - 30 = 10 would still be small: a third goes too
    assert suppress(t) == {"administrator", "other", "clinician"}


def test_zero_is_published_and_never_suppressed_on_its_own() -> None:
    t = CountTable(11)
    for cell, v in {"total": 30, "a": 30, "b": 0}.items():
        t.add(cell, v)
    t.relate("total", ["a", "b"])
    assert suppress(t) == frozenset()


def test_audit_catches_a_blank_recoverable_only_across_several_relations() -> None:
    """A 2x2 block of blanks with every row and column holding two of them is safe; one more relation that ties
    two of the four cells to a published total makes them all recoverable, and the audit must see that."""
    t = CountTable(3)
    cells = {("r1", "c1"): 5, ("r1", "c2"): 1, ("r2", "c1"): 1, ("r2", "c2"): 5}
    for cell, v in cells.items():
        t.add(cell, v)
    t.add(("r1", "t"), 6)
    t.add(("r2", "t"), 6)
    t.add(("t", "c1"), 6)
    t.add(("t", "c2"), 6)
    t.add("diag", 10)
    t.relate(("r1", "t"), [("r1", "c1"), ("r1", "c2")])
    t.relate(("r2", "t"), [("r2", "c1"), ("r2", "c2")])
    t.relate(("t", "c1"), [("r1", "c1"), ("r2", "c1")])
    t.relate(("t", "c2"), [("r1", "c2"), ("r2", "c2")])
    t.relate("diag", [("r1", "c1"), ("r2", "c2")])
    blanked = suppress(t)
    assert {("r1", "c2"), ("r2", "c1")} <= blanked
    # with the diagonal published the four cells are determined (r1c1 = 5 follows), so more had to go
    assert len(blanked) > 4


def _report(grant_data: list[GrantData], k: int) -> FunderReport:
    return build_report(Funder(key="funder:f", name="F"), grant_data, CATALOGUE, k)


def _flagged(row: dict[str, object]) -> set[str]:
    return set(str(row.get("suppressed") or "").split(";")) - {""}


RULES = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@RULES
@given(grants(), st.sampled_from([3, 5, 11]))
def test_no_published_count_of_people_lies_between_1_and_k_minus_1(grant_data: list[GrantData], k: int) -> None:
    report = _report(grant_data, k)
    for name, columns in PEOPLE_COUNTS.items():
        for row in report.table(name).rows:
            for col in columns:
                value = row.get(col)
                assert not (isinstance(value, int) and 0 < value < k), (name, row, col)
                if col in _flagged(row):
                    assert value is None


def _check_relation(total: tuple[object, bool], parts: list[tuple[object, bool]], k: int, where: str) -> None:
    """(value, suppressed) pairs: never exactly one blank, and a published total minus the published parts is
    never a small number."""
    members = [total, *parts]
    blanks = [m for m in members if m[1]]
    assert len(blanks) != 1, f"one blank alone in {where}: recoverable by subtraction"
    if blanks and not total[1]:
        residual = int(total[0]) - sum(int(v) for v, s in parts if not s)  # type: ignore[call-overload]
        assert not 0 < residual < k, f"blanks in {where} add up to {residual}"


@RULES
@given(grants(), st.sampled_from([3, 5, 11]))
def test_no_suppressed_value_can_be_recovered_along_a_row_or_column(grant_data: list[GrantData], k: int) -> None:
    report = _report(grant_data, k)
    part = {(r["grant"], r["cohort"], r["role"]): r for r in report.table("participation").rows}

    def cell(row: dict[str, object], col: str) -> tuple[object, bool]:
        return row[col], col in _flagged(row)

    for (grant, cohort, role), row in part.items():
        _check_relation(
            cell(row, "enrolled"),
            [cell(row, c) for c in ("in_progress", "completed", "withdrawn")],
            k,
            f"{grant}/{cohort}/{role} row",
        )
    grant_keys = {g for g, _, _ in part}
    for grant in grant_keys:
        cohorts = sorted({c for g, c, _ in part if g == grant and c != ALL})
        for col in ("enrolled", "in_progress", "completed", "withdrawn"):
            for cohort in (*cohorts, ALL):
                _check_relation(
                    cell(part[(grant, cohort, ALL)], col),
                    [cell(part[(grant, cohort, r)], col) for r in ROLES],
                    k,
                    f"{grant}/{cohort} {col}",
                )
            for role in (*ROLES, ALL):
                _check_relation(
                    cell(part[(grant, ALL, role)], col),
                    [cell(part[(grant, c, role)], col) for c in cohorts],
                    k,
                    f"{grant}/{role} {col}",
                )

    out = {(r["grant"], r["cohort"], r["measure"]): r for r in report.table("outcomes").rows}
    for key, row in out.items():
        _check_relation(
            cell(row, "n_paired"),
            [cell(row, c) for c in ("n_improved", "n_unchanged", "n_worse")],
            k,
            f"{key} direction",
        )
    for grant, cohort, measure in out:
        if cohort != ALL:
            continue
        cohorts = sorted(c for g, c, m in out if g == grant and m == measure and c != ALL)
        for col in PEOPLE_COUNTS["outcomes"]:
            if out[(grant, ALL, measure)][col] is None and col not in _flagged(out[(grant, ALL, measure)]):
                continue  # not applicable (a measure without a threshold)
            _check_relation(
                cell(out[(grant, ALL, measure)], col),
                [cell(out[(grant, c, measure)], col) for c in cohorts],
                k,
                f"{grant}/{measure} {col}",
            )


@RULES
@given(grants(), st.sampled_from([3, 11]))
def test_counts_derivable_from_published_ones_are_not_small(grant_data: list[GrantData], k: int) -> None:
    """Respondents who answered only once, people below a threshold, people attending: printed nowhere, but a
    published pair of cells would give them by subtraction."""
    report = _report(grant_data, k)
    pairs = [
        ("n_pre", "n_paired"),
        ("n_post", "n_paired"),
        ("n_pre", "n_pre_at_threshold"),
        ("n_post", "n_post_at_threshold"),
    ]
    for row in report.table("outcomes").rows:
        for whole, piece in pairs:
            a, b = row.get(whole), row.get(piece)
            if isinstance(a, int) and isinstance(b, int):
                assert not 0 < a - b < k, (row, whole, piece)
    for row in report.table("participation").rows:
        a, b = row.get("enrolled"), row.get("withdrawn")
        if isinstance(a, int) and isinstance(b, int):
            assert not 0 < a - b < k, row


@RULES
@given(grants())
def test_statistics_from_a_blanked_count_are_blank_too(grant_data: list[GrantData]) -> None:
    report = _report(grant_data, 11)
    for row in report.table("outcomes").rows:
        if row["n_paired"] is None:
            for col in ("mean_pre", "mean_post", "mean_change", "ci95_low", "d_z", "pct_improved"):
                assert row[col] is None, (row, col)
        if row["n_pre"] is None:
            assert row["mean_pre_all"] is None
