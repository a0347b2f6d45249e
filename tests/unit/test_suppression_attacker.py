"""An attacker with an integer-programming solver reads the published tables and tries to fill in every blank.

It knows only what any reader knows: the numbers printed, what the columns mean (a row's enrolled is the sum
of its statuses, a role 'all' row sums the roles, a grant's 'all' row sums its cohorts, paired respondents
split into improved, unchanged and worse, and nobody is paired who did not answer both times), that the same
cohort under two grants is the same people, and that counts are whole numbers and never negative.  For every
blank it asks the solver for the smallest and the largest value consistent with all of that; if they are
equal, the blank has been recovered.  It also tries the counts that are printed nowhere but follow from printed
ones (people in progress or completed, respondents who answered only once, people below a threshold): those
may be pinned down only when they are not small.

This is independent of `exports.suppression`: it never sees the suppression tables, only the report's rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, OptimizeResult, milp

from exports.aggregate import ROLES, CohortInfo, GrantData
from exports.report import ALL, FunderReport, build_report
from models import Funder, Grant
from tests.unit.export_strategies import CATALOGUE, OUTCOME_COUNTS, PARTICIPATION_COUNTS, grants

STATUSES = PARTICIPATION_COUNTS[1:]
PARTICIPATION = PARTICIPATION_COUNTS
Term = tuple[object, int]  # (cell, coefficient)


class Attacker:
    """Linear relations over cells; a cell is a published constant or an unknown (a blank)."""

    def __init__(self) -> None:
        self.known: dict[object, int] = {}
        self.unknowns: dict[object, int] = {}
        self.equalities: list[list[Term]] = []  # sum of terms == 0
        self.inequalities: list[list[Term]] = []  # sum of terms >= 0
        self._built: list[LinearConstraint] | None = None  # the relations as a matrix, once they are all read

    def cell(self, name: object, value: object) -> None:
        self._built = None
        if isinstance(value, int):
            assert self.known.get(name, value) == value, f"{name} printed twice with different values"
            self.known[name] = value
        else:
            self.unknowns.setdefault(name, len(self.unknowns))

    def equal(self, total: object, parts: list[object]) -> None:
        self._built = None
        self.equalities.append([(total, -1), *((p, 1) for p in parts)])

    def at_least(self, big: object, small: object) -> None:
        self._built = None
        self.inequalities.append([(big, 1), (small, -1)])

    def _row(self, terms: list[Term]) -> tuple[np.ndarray, float]:
        row, constant = np.zeros(len(self.unknowns)), 0.0
        for cell, coefficient in terms:
            if cell in self.unknowns:
                row[self.unknowns[cell]] += coefficient
            else:
                constant += coefficient * self.known[cell]
        return row, constant

    def _constraints(self) -> list[LinearConstraint]:
        """Every relation as one row of one constraint matrix, built once the model is read (the solver gets the
        same rows as one LinearConstraint per relation would give it, without validating each of them per solve)."""
        if self._built is None:
            rows, lower, upper = [], [], []
            for relations, equal in ((self.equalities, True), (self.inequalities, False)):
                for terms in relations:
                    row, constant = self._row(terms)
                    if row.any():
                        rows.append(row)
                        lower.append(-constant)
                        upper.append(-constant if equal else np.inf)
            self._built = [LinearConstraint(np.array(rows), lower, upper)] if rows else []
        return self._built

    def _solve(self, objective: np.ndarray) -> OptimizeResult:
        return milp(
            objective,
            constraints=self._constraints(),
            integrality=np.ones(len(self.unknowns)),
            bounds=Bounds(0, np.inf),
        )

    def fillings(self, tries: int, seed: int = 0) -> list[np.ndarray]:
        """Whole-number fillings of the blanks that agree with everything printed (random positive costs give
        different corners).  A blank that differs between two of them is proven unrecoverable."""
        rng = np.random.default_rng(seed)
        found = []
        for attempt in range(tries):
            cost = np.zeros(len(self.unknowns)) if attempt == 0 else rng.random(len(self.unknowns))
            result = self._solve(cost)
            assert result.success, f"the printed tables admit no filling at all: {result.message}"
            found.append(np.round(result.x))
        return found

    def range_of(self, terms: list[Term]) -> tuple[float, float]:
        """Smallest and largest value of a linear expression over every whole-number filling of the blanks."""
        objective, constant = self._row(terms)
        low = self._solve(objective)
        assert low.success, low.message
        high = self._solve(-objective)
        # an expression with no upper limit (a blank grand total, say) makes the maximisation unbounded
        return low.fun + constant, (-high.fun + constant) if high.success else np.inf


def _participation_cell(grant: str, row: dict[str, object], col: str) -> object:
    unit = ("all", grant) if row["cohort"] == ALL else row["cohort"]  # a cohort is the same under every grant
    return ("p", unit, row["role"], col)


def _outcome_cell(grant: str, row: dict[str, object], col: str) -> object:
    unit = ("all", grant) if row["cohort"] == ALL else row["cohort"]
    return ("o", row["measure"], unit, col)


def read(report: FunderReport) -> tuple[Attacker, list[tuple[str, list[Term]]]]:
    """The attacker's model of the report, and the unprinted counts it will try to work out."""
    attacker = Attacker()
    derived: list[tuple[str, list[Term]]] = []
    members: dict[str, list[str]] = {}
    for row in report.table("cohorts").rows:
        members.setdefault(str(row["grant"]), []).append(str(row["cohort"]))
    for row in report.table("participation").rows:
        grant = str(row["grant"])
        for col in PARTICIPATION:
            attacker.cell(_participation_cell(grant, row, col), row[col])
    for row in report.table("participation").rows:
        grant = str(row["grant"])
        c = lambda col, r=row, g=grant: _participation_cell(g, r, col)  # noqa: E731
        attacker.equal(c("enrolled"), [c(s) for s in STATUSES])
        active = [(c("in_progress"), 1), (c("completed"), 1)]
        derived.append((f"people in progress or completed in {c('')}", active))
    units = {(str(r["grant"]), str(r["cohort"])) for r in report.table("participation").rows}
    for grant, cohort in sorted(units):
        for col in PARTICIPATION:
            base = ("all", grant) if cohort == ALL else cohort
            attacker.equal(("p", base, ALL, col), [("p", base, r, col) for r in ROLES])
    for grant, cohorts in members.items():
        for role in (*ROLES, ALL):
            for col in PARTICIPATION:
                attacker.equal(("p", ("all", grant), role, col), [("p", c, role, col) for c in cohorts])

    outcome_rows = report.table("outcomes").rows
    for row in outcome_rows:
        grant = str(row["grant"])
        for col in OUTCOME_COUNTS:
            if row[col] is None and col not in str(row["suppressed"]).split(";"):
                continue  # not applicable: the measure has no threshold
            attacker.cell(_outcome_cell(grant, row, col), row[col])
    for row in outcome_rows:
        grant = str(row["grant"])
        o = lambda col, r=row, g=grant: _outcome_cell(g, r, col)  # noqa: E731
        attacker.equal(o("n_paired"), [o("n_improved"), o("n_unchanged"), o("n_worse")])
        pairs = [("n_pre", "n_paired"), ("n_post", "n_paired")]
        if o("n_pre_at_threshold") in attacker.known or o("n_pre_at_threshold") in attacker.unknowns:
            pairs += [("n_pre", "n_pre_at_threshold"), ("n_post", "n_post_at_threshold")]
        for whole, part in pairs:
            attacker.at_least(o(whole), o(part))
            derived.append((f"{whole} - {part} in {o('')}", [(o(whole), 1), (o(part), -1)]))
    outcome_units = {(str(r["grant"]), str(r["measure"])) for r in outcome_rows if r["cohort"] == ALL}
    for grant, measure in outcome_units:
        for col in OUTCOME_COUNTS:
            total = ("o", measure, ("all", grant), col)
            if total in attacker.known or total in attacker.unknowns:
                attacker.equal(total, [("o", measure, c, col) for c in members[grant]])
    return attacker, derived


def breaches(report: FunderReport) -> Iterator[str]:
    attacker, derived = read(report)
    if not attacker.unknowns:
        return
    fillings = np.array(attacker.fillings(tries=8))
    varies = fillings.min(axis=0) != fillings.max(axis=0)
    for cell, j in attacker.unknowns.items():
        if varies[j]:
            continue  # two whole-number fillings disagree on it: not recoverable
        low, high = attacker.range_of([(cell, 1)])
        if low == high:
            yield f"blank {cell} recovered: it can only be {low:g}"
    for what, terms in derived:
        if all(cell in attacker.known for cell, _ in terms):
            continue  # plain subtraction of two printed numbers; test_suppression checks those
        values = {
            sum(c * (f[attacker.unknowns[x]] if x in attacker.unknowns else attacker.known[x]) for x, c in terms)
            for f in fillings
        }
        if len(values) > 1:
            continue
        low, high = attacker.range_of(terms)
        if low == high and 0 < low < report.k:
            yield f"{what} recovered as {low:g}, below {report.k}"


def one_grant(*cohorts: str) -> GrantData:
    grant = Grant(
        key="grant:g",
        funder="funder:f",
        name="G",
        amount=Decimal(1000),
        period_start=date(2025, 1, 1),
        period_end=date(2025, 12, 31),
        cohorts=cohorts,
    )
    return GrantData(
        grant=grant,
        cohorts=[
            CohortInfo(c, c, "Org", grant.period_start, grant.period_end, "completed", "virtual") for c in cohorts
        ],
    )


ATTACKS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _report(grant_data: list[GrantData], k: int) -> FunderReport:
    return build_report(Funder(key="funder:f", name="F"), grant_data, CATALOGUE, k)


@ATTACKS
@given(grants(max_cohorts=3), st.sampled_from([3, 5, 11]))
def test_no_blank_in_a_funder_export_can_be_worked_out_by_an_integer_solver(
    grant_data: list[GrantData], k: int
) -> None:
    assert list(breaches(_report(grant_data, k))) == []


def test_a_zero_total_does_not_unlock_its_blanks() -> None:
    """The audit's own counter-example: a published zero pins the blanks under it to zero (counts are never
    negative), and those zeros made a small clinician count recoverable by subtraction."""
    data = one_grant("cohort:a", "cohort:b")
    people = {
        ("cohort:a", "clinician"): (0, 9, 0),
        ("cohort:a", "administrator"): (0, 15, 0),
        ("cohort:a", "other"): (0, 25, 0),
        ("cohort:b", "clinician"): (3, 30, 2),
        ("cohort:b", "administrator"): (0, 12, 0),
        ("cohort:b", "other"): (4, 20, 1),
    }
    for (cohort, role), counts in people.items():
        for col, n in zip(STATUSES, counts, strict=True):
            data.enrolment[(cohort, role, col)] = n
    data.sessions_held = {"cohort:a": 4, "cohort:b": 4}
    assert list(breaches(_report([data], 11))) == []


def test_the_attacker_finds_a_blank_left_alone_in_its_row() -> None:
    """The attacker must be able to fail: blank one cell of a row by hand and it is recovered."""
    data = one_grant("cohort:a")
    for role in ROLES:
        for col, n in zip(STATUSES, (20, 30, 40), strict=True):
            data.enrolment[("cohort:a", role, col)] = n
    data.sessions_held = {"cohort:a": 4}
    report = _report([data], 11)
    row = report.table("participation").rows[0]
    assert all(isinstance(row[c], int) for c in PARTICIPATION)
    row["withdrawn"], row["suppressed"] = None, "withdrawn"
    assert any("withdrawn" in b and "recovered" in b for b in breaches(report))
