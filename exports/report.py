"""A funder's export as publishable tables: statistics computed, small cells suppressed, never a person's row.

`build_report` is pure (it takes the `GrantData` the aggregate queries produced), so suppression is tested
over random cohorts without a database.  Every writer (CSV package, XLSX, HTML, PDF) renders this one
`FunderReport`, so the same numbers appear in every file.  The tables' columns are in `exports.columns`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from exports.aggregate import ROLES, GrantData
from exports.blanks import BLANKS_IN_TABLES
from exports.columns import (
    COHORTS,
    GRANTS,
    MEASURES,
    OUTCOME_COUNTS,
    OUTCOMES,
    PARTICIPATION,
    PEOPLE_COUNTS,
    SUPPRESSED,
    Column,
    names,
)
from exports.suppression import CountTable, suppress
from models import Funder, Measure, MeasureCatalogue
from models.statistics import PairedSummary, prepost_statistics

ALL = "all"
Value = str | int | float | date | None


@dataclass
class Table:
    name: str
    title: str
    description: str
    columns: list[Column]
    primary_key: list[str]
    rows: list[dict[str, Value]] = field(default_factory=list)

    @property
    def suppressed_count(self) -> int:
        return sum(len(str(r.get(SUPPRESSED) or "").split(";")) for r in self.rows if r.get(SUPPRESSED))


@dataclass
class FunderReport:
    funder: Funder
    k: int
    as_of: date | None
    tables: list[Table]
    measures: list[Measure]
    grants: list[GrantData]

    def table(self, name: str) -> Table:
        return next(t for t in self.tables if t.name == name)


COUNT_COLUMNS = ("in_progress", "completed", "withdrawn")
ACTIVE = "active"
# Blanking one of these costs readers every statistic computed from it, so complements are sought elsewhere first.
OUTCOME_WEIGHTS = {"n_paired": 4}


# statistic -> the counts it is computed from; it is blanked whenever one of them is.
OUTCOME_BASES: dict[str, tuple[str, ...]] = {
    "mean_pre": ("n_paired",),
    "mean_post": ("n_paired",),
    "mean_pre_all": ("n_pre",),
    "mean_post_all": ("n_post",),
    "mean_change": ("n_paired",),
    "sd_change": ("n_paired",),
    "ci95_low": ("n_paired",),
    "ci95_high": ("n_paired",),
    "d_z": ("n_paired",),
    "pct_improved": ("n_improved", "n_paired"),
    "pct_unchanged": ("n_unchanged", "n_paired"),
    "pct_worse": ("n_worse", "n_paired"),
    "prevalence_pre": ("n_pre_at_threshold", "n_pre"),
    "prevalence_post": ("n_post_at_threshold", "n_post"),
}


def _round(value: float | None, style: str) -> float | None:
    if value is None:
        return None
    rounded = round(value, 1 if style == "pct" else 3)
    return rounded + 0.0 if rounded != 0 else 0.0  # never "-0.0"


def _rollup(grant: str) -> tuple[str, str]:
    """The cell unit of a grant's roll-up; cohort cells are keyed by the cohort alone (see `_participation`)."""
    return (ALL, grant)


def _participation(grants: Sequence[GrantData], k: int) -> list[dict[str, Value]]:
    """One suppression table for the whole participation table, every grant at once.

    A cohort funded by two grants of the funder appears under both, with the same counts; its cells are keyed by
    the cohort alone so they are blanked alike under both grants (separate tables would let one grant publish
    what the other hid, and each grant's roll-up would then give the other's blanks away).
    """
    table = CountTable(k)
    roles = (*ROLES, ALL)
    columns = ("enrolled", *COUNT_COLUMNS, ACTIVE)
    cohorts = list(dict.fromkeys(c.key for data in grants for c in data.cohorts))
    enrolment: dict[tuple[str, str, str], int] = {}
    for data in grants:
        enrolment.update(data.enrolment)  # the same cohort's enrolment is the same under every grant
    for cohort in cohorts:
        for role in ROLES:
            parts = [enrolment.get((cohort, role, col), 0) for col in COUNT_COLUMNS]
            for col, v in zip(COUNT_COLUMNS, parts, strict=True):
                table.add((cohort, role, col), v)
            table.add((cohort, role, "enrolled"), sum(parts))
            # the people attendance is counted over: in progress + completed, printed nowhere but derivable
            table.add((cohort, role, ACTIVE), parts[0] + parts[1], hidden=True)
        for col in columns:
            table.add((cohort, ALL, col), sum(table.values[(cohort, r, col)] for r in ROLES), hidden=col == ACTIVE)
    for data in grants:
        rollup = _rollup(data.grant.key)
        members = [c.key for c in data.cohorts]
        for role in roles:
            for col in columns:
                total = sum(table.values[(c, role, col)] for c in members)
                table.add((rollup, role, col), total, hidden=col == ACTIVE)
                table.relate((rollup, role, col), [(c, role, col) for c in members])
    units: list[object] = [*cohorts, *(_rollup(d.grant.key) for d in grants)]
    for unit in units:
        for role in roles:
            table.relate((unit, role, "enrolled"), [(unit, role, c) for c in COUNT_COLUMNS])
            table.relate((unit, role, ACTIVE), [(unit, role, "in_progress"), (unit, role, "completed")])
            table.relate((unit, role, "enrolled"), [(unit, role, ACTIVE), (unit, role, "withdrawn")])
        for col in columns:
            table.relate((unit, ALL, col), [(unit, r, col) for r in ROLES])
    blanked = suppress(table)

    rows: list[dict[str, Value]] = []
    for data in grants:
        grant = data.grant.key
        members = [c.key for c in data.cohorts]
        shown_units: list[tuple[str, list[str], object]] = [(ALL, members, _rollup(grant))]
        shown_units += [(c, [c], c) for c in members]
        for shown, unit_cohorts, unit in shown_units:
            held = sum(data.sessions_held.get(c, 0) for c in unit_cohorts)
            for role in roles:
                row_roles = ROLES if role == ALL else (role,)
                row: dict[str, Value] = {"grant": grant, "cohort": shown, "role": role}
                flags = []
                for col in names(PEOPLE_COUNTS):
                    cell = (unit, role, col)
                    if cell in blanked:
                        row[col] = None
                        flags.append(col)
                    else:
                        row[col] = table.values[cell]
                row["sessions_held"] = held
                attended = sum(data.attended.get((c, r), 0) for c in unit_cohorts for r in row_roles)
                scheduled = sum(
                    data.sessions_held.get(c, 0)
                    * (enrolment.get((c, r, "in_progress"), 0) + enrolment.get((c, r, "completed"), 0))
                    for c in unit_cohorts
                    for r in row_roles
                )
                if (unit, role, ACTIVE) in blanked:  # a rate from 1..k-1 people
                    row["attendance_rate"] = None
                    flags.append("attendance_rate")
                else:
                    row["attendance_rate"] = _round(100.0 * attended / scheduled, "pct") if scheduled else None
                row[SUPPRESSED] = ";".join(flags)
                rows.append(row)
    return rows


def _outcome_counts(summary: PairedSummary, measure: Measure) -> dict[str, int]:
    s = prepost_statistics(summary, measure)
    counts = {
        "n_pre": s.n_pre,
        "n_post": s.n_post,
        "n_paired": s.n_paired,
        "n_improved": s.n_improved,
        "n_unchanged": s.n_unchanged,
        "n_worse": s.n_worse,
        "n_pre_only": s.n_pre - s.n_paired,
        "n_post_only": s.n_post - s.n_paired,
    }
    if measure.threshold is not None:
        counts["n_pre_at_threshold"] = summary.n_pre_at_threshold
        counts["n_post_at_threshold"] = summary.n_post_at_threshold
        counts["n_pre_below_threshold"] = s.n_pre - summary.n_pre_at_threshold
        counts["n_post_below_threshold"] = s.n_post - summary.n_post_at_threshold
    return counts


HIDDEN_COUNTS = ("n_pre_only", "n_post_only", "n_pre_below_threshold", "n_post_below_threshold")


def _outcomes(grants: Sequence[GrantData], measures: Sequence[Measure], k: int) -> list[dict[str, Value]]:
    """One suppression table per measure across every grant, cohort cells shared as in `_participation`."""
    rows: list[dict[str, Value]] = []
    for measure in measures:
        summaries: dict[object, PairedSummary] = {}
        for data in grants:
            for c in data.cohorts:
                summaries[c.key] = data.summaries.get((c.key, measure.key), PairedSummary())
        members = {d.grant.key: [c.key for c in d.cohorts] for d in grants}
        for grant, keys in members.items():
            summaries[_rollup(grant)] = sum((summaries[c] for c in keys), PairedSummary())
        if all(s.pre.n == 0 and s.post.n == 0 for s in summaries.values()):
            continue
        table = CountTable(k)
        counts = {unit: _outcome_counts(summary, measure) for unit, summary in summaries.items()}
        for unit, unit_counts in counts.items():
            for name, value in unit_counts.items():
                table.add((unit, name), value, hidden=name in HIDDEN_COUNTS, weight=OUTCOME_WEIGHTS.get(name, 1))
        for unit in counts:
            table.relate((unit, "n_pre"), [(unit, "n_paired"), (unit, "n_pre_only")])
            table.relate((unit, "n_post"), [(unit, "n_paired"), (unit, "n_post_only")])
            table.relate((unit, "n_paired"), [(unit, "n_improved"), (unit, "n_unchanged"), (unit, "n_worse")])
            if measure.threshold is not None:
                table.relate((unit, "n_pre"), [(unit, "n_pre_at_threshold"), (unit, "n_pre_below_threshold")])
                table.relate((unit, "n_post"), [(unit, "n_post_at_threshold"), (unit, "n_post_below_threshold")])
        for grant, keys in members.items():
            for name in counts[_rollup(grant)]:
                table.relate((_rollup(grant), name), [(c, name) for c in keys])
        blanked = suppress(table)
        for grant, keys in members.items():
            if summaries[_rollup(grant)].pre.n == 0 and summaries[_rollup(grant)].post.n == 0:
                continue  # nobody answered this measure in this grant's cohorts
            for shown, unit in ((ALL, _rollup(grant)), *((c, c) for c in keys)):
                rows.append(_outcome_row(grant, shown, measure, summaries[unit], counts[unit], unit, blanked))
    return rows


def _outcome_row(
    grant: str,
    shown: str,
    measure: Measure,
    summary: PairedSummary,
    counts: dict[str, int],
    unit: object,
    blanked: frozenset[object],
) -> dict[str, Value]:
    stats = prepost_statistics(summary, measure)
    values: dict[str, float | int | None] = {
        "mean_pre": stats.mean_pre,
        "mean_post": stats.mean_post,
        "mean_pre_all": stats.mean_pre_all,
        "mean_post_all": stats.mean_post_all,
        "mean_change": stats.mean_change,
        "sd_change": stats.sd_change,
        "ci95_low": stats.ci_low,
        "ci95_high": stats.ci_high,
        "d_z": stats.d_z,
        "pct_improved": stats.pct_improved,
        "pct_unchanged": stats.pct_unchanged,
        "pct_worse": stats.pct_worse,
        "prevalence_pre": stats.prevalence_pre,
        "prevalence_post": stats.prevalence_post,
    }
    row: dict[str, Value] = {"grant": grant, "cohort": shown, "measure": measure.key}
    flags = []
    for col in OUTCOMES.values:
        name = col.name
        if name in OUTCOME_COUNTS:
            if name not in counts:
                row[name] = None
            elif (unit, name) in blanked:
                row[name] = None
                flags.append(name)
            else:
                row[name] = counts[name]
            continue
        if values[name] is None:
            row[name] = None
        elif any((unit, base) in blanked for base in OUTCOME_BASES[name]):
            row[name] = None
            flags.append(name)
        else:
            row[name] = _round(values[name], col.style)
    row[SUPPRESSED] = ";".join(flags)
    return row


def build_report(funder: Funder, grants: Sequence[GrantData], catalogue: MeasureCatalogue, k: int) -> FunderReport:
    if k < 3:
        raise ValueError("the minimum cell size k must be at least 3")
    measures = list(catalogue.measures)
    grant_rows: list[dict[str, Value]] = []
    cohort_rows: list[dict[str, Value]] = []
    for data in grants:
        g = data.grant
        grant_rows.append(
            {
                "grant": g.key,
                "name": g.name,
                "period_start": g.period_start,
                "period_end": g.period_end,
                "amount": float(g.amount),
                "currency": g.currency,
                "cohorts": len(data.cohorts),
            }
        )
        for c in data.cohorts:
            cohort_rows.append(
                {
                    "grant": g.key,
                    "cohort": c.key,
                    "name": c.name,
                    "organization": c.organization,
                    "start_date": c.start_date,
                    "end_date": c.end_date,
                    "status": c.status,
                    "delivery": c.delivery,
                    "sessions_held": data.sessions_held.get(c.key, 0),
                }
            )
    participation = _participation(grants, k)
    outcomes = _outcomes(grants, measures, k)
    used_measures = {str(r["measure"]) for r in outcomes}
    measure_rows: list[dict[str, Value]] = [
        {
            "measure": m.key,
            "label": m.label,
            "description": m.description,
            "scale_min": m.scale_min,
            "scale_max": m.scale_max,
            "higher_is_better": "yes" if m.higher_is_better else "no",
            "threshold": m.threshold,
        }
        for m in measures
        if m.key in used_measures
    ]
    latest = [d.latest for d in grants if d.latest is not None]
    tables = [
        Table(
            "grants",
            "Grants",
            "The funder's grants and how many of their cohorts ran within each grant's period.",
            GRANTS.columns,
            GRANTS.primary_key,
            grant_rows,
        ),
        Table(
            "cohorts",
            "Cohorts",
            "Cohorts funded by each grant that ran at least partly within its period.",
            COHORTS.columns,
            COHORTS.primary_key,
            cohort_rows,
        ),
        Table(
            "participation",
            "Participation",
            f"Enrolment and attendance per grant, cohort and role; {BLANKS_IN_TABLES}.",
            PARTICIPATION.columns,
            PARTICIPATION.primary_key,
            participation,
        ),
        Table(
            "outcomes",
            "Outcomes",
            f"Pre/post statistics per grant, cohort and measure; {BLANKS_IN_TABLES}.",
            OUTCOMES.columns,
            OUTCOMES.primary_key,
            outcomes,
        ),
        Table(
            "measures",
            "Measures",
            "What each outcome measure asks, its scale, and which direction is better.",
            MEASURES.columns,
            MEASURES.primary_key,
            measure_rows,
        ),
    ]
    return FunderReport(
        funder=funder,
        k=k,
        as_of=max(latest) if latest else None,
        tables=tables,
        measures=[m for m in measures if m.key in used_measures],
        grants=list(grants),
    )
