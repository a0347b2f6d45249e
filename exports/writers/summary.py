"""What the one-page summaries (HTML and PDF) show: the roll-up numbers per grant, picked once for both."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from exports.columns import SUPPRESSED
from exports.report import ALL, FunderReport


@dataclass(frozen=True)
class MeasureLine:
    key: str
    label: str
    higher_is_better: bool
    # The measure's own answer scale: charts draw on it, so bars of different grants (and a floor of 1) compare.
    scale_min: float
    scale_max: float
    n_paired: int | None
    mean_pre: float | None
    mean_post: float | None
    mean_change: float | None
    ci_low: float | None
    ci_high: float | None
    d_z: float | None
    pct_improved: float | None
    # Columns of this roll-up row left blank by small-cell suppression; a blank not named here is not applicable.
    suppressed: frozenset[str] = frozenset()

    def blank_reason(self, column: str) -> str:
        """Why a blank value is blank, in the words a chart prints where its bar would be."""
        return "suppressed" if column in self.suppressed else "no paired answers"


@dataclass(frozen=True)
class GrantSummary:
    key: str
    name: str
    period: str
    cohorts: int
    enrolled: int | None
    completed: int | None
    attendance_rate: float | None
    measures: list[MeasureLine]


def _num(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _int(value: object) -> int | None:
    return value if isinstance(value, int) else None


def grant_summaries(report: FunderReport) -> list[GrantSummary]:
    labels = {m.key: m for m in report.measures}
    participation = report.table("participation").rows
    outcomes = report.table("outcomes").rows
    out = []
    for data in report.grants:
        g = data.grant
        total = next((r for r in participation if r["grant"] == g.key and r["cohort"] == ALL and r["role"] == ALL), {})
        lines = [
            MeasureLine(
                key=str(r["measure"]),
                label=labels[str(r["measure"])].label,
                higher_is_better=labels[str(r["measure"])].higher_is_better,
                scale_min=labels[str(r["measure"])].scale_min,
                scale_max=labels[str(r["measure"])].scale_max,
                n_paired=_int(r.get("n_paired")),
                mean_pre=_num(r.get("mean_pre")),
                mean_post=_num(r.get("mean_post")),
                mean_change=_num(r.get("mean_change")),
                ci_low=_num(r.get("ci95_low")),
                ci_high=_num(r.get("ci95_high")),
                d_z=_num(r.get("d_z")),
                pct_improved=_num(r.get("pct_improved")),
                suppressed=frozenset(str(r.get(SUPPRESSED) or "").split(";")) - {""},
            )
            for r in outcomes
            if r["grant"] == g.key and r["cohort"] == ALL
        ]
        out.append(
            GrantSummary(
                key=g.key,
                name=g.name,
                period=f"{g.period_start.isoformat()} to {g.period_end.isoformat()}",
                cohorts=len(data.cohorts),
                enrolled=_int(total.get("enrolled")),
                completed=_int(total.get("completed")),
                attendance_rate=_num(total.get("attendance_rate")),
                measures=lines,
            )
        )
    return out


NO_COHORTS = "No cohorts of this grant ran within its period."
NO_MEASURES = "No outcome measures have been collected for these cohorts yet."


def empty_message(summary: GrantSummary) -> str | None:
    """What a grant shows instead of outcome rows when it has none (an empty table header tells a reader nothing)."""
    if summary.cohorts == 0:
        return NO_COHORTS
    return None if summary.measures else NO_MEASURES


def fmt(value: float | int | None, digits: int = 2, suffix: str = "") -> str:
    """How a summary prints a number; a blank (suppressed or not applicable) prints as an en dash."""
    if value is None:
        return "–"
    if isinstance(value, int):
        return f"{value}{suffix}"
    return f"{value:.{digits}f}{suffix}"


# What a page says about its change column, so that no reader takes a rounding difference for an error.
CHANGE_AS_PRINTED = (
    "Change is After minus Before as printed here; its confidence interval and d_z come from the unrounded "
    "values, which outcomes.csv gives to three decimals."
)


def printed_change(before: float | None, after: float | None, change: float | None, digits: int = 2) -> Decimal | None:
    """The change a page prints: after minus before as printed at `digits` decimals, so the page adds up
    (4.125 and 5.208 print as 4.12 and 5.21, so the change prints +1.09, not the +1.08 of 1.083 rounded).
    With a mean not printed, the change (if printed at all) is the unrounded one rounded."""
    if change is None:
        return None
    if before is None or after is None:
        return Decimal(f"{change:.{digits}f}")
    return Decimal(f"{after:.{digits}f}") - Decimal(f"{before:.{digits}f}")


def change_text(line: MeasureLine) -> str:
    change = printed_change(line.mean_pre, line.mean_post, line.mean_change)
    if change is None:
        return "–"
    ci = f" [{line.ci_low:+.2f}, {line.ci_high:+.2f}]" if line.ci_low is not None and line.ci_high is not None else ""
    return f"{change:+.2f}{ci}"
