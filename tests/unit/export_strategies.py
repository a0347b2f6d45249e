"""Hypothesis strategies for funder-export inputs: random grants, cohorts, enrolment and outcome summaries.

The second grant sometimes funds some of the first grant's cohorts again, carrying the same counts, as the
database would give them (enrolment and outcomes belong to the cohort, not to the grant).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from itertools import product

from hypothesis import strategies as st

from exports.aggregate import ROLES, CohortInfo, GrantData
from models import Grant, default_catalogue
from models.statistics import Moments, PairedSummary

CATALOGUE = default_catalogue()
# The columns of the funder tables that count people: what suppression protects.
PARTICIPATION_COUNTS = ("enrolled", "in_progress", "completed", "withdrawn")
OUTCOME_COUNTS = (
    "n_pre",
    "n_post",
    "n_paired",
    "n_improved",
    "n_unchanged",
    "n_worse",
    "n_pre_at_threshold",
    "n_post_at_threshold",
)
MEASURES = CATALOGUE.measures[:3] + CATALOGUE.measures[4:5]


def _summary(draw: st.DrawFn, measure_has_threshold: bool) -> PairedSummary:
    paired = draw(st.integers(0, 25))
    pre_only = draw(st.integers(0, 12))
    post_only = draw(st.integers(0, 12))
    improved = draw(st.integers(0, paired))
    unchanged = draw(st.integers(0, paired - improved))
    worse = paired - improved - unchanged
    n_pre, n_post = paired + pre_only, paired + post_only
    return PairedSummary(
        pre=Moments(n_pre, 3.0 * n_pre, 10.0 * n_pre),
        post=Moments(n_post, 3.5 * n_post, 13.0 * n_post),
        change=Moments(paired, 0.5 * paired, 1.5 * paired),
        pre_paired=Moments(paired, 3.0 * paired, 10.0 * paired),
        post_paired=Moments(paired, 3.5 * paired, 13.0 * paired),
        n_increased=improved,
        n_decreased=worse,
        n_no_change=unchanged,
        n_pre_at_threshold=draw(st.integers(0, n_pre)) if measure_has_threshold else 0,
        n_post_at_threshold=draw(st.integers(0, n_post)) if measure_has_threshold else 0,
    )


@st.composite
def grants(draw: st.DrawFn, max_cohorts: int = 4) -> list[GrantData]:
    out: list[GrantData] = []
    for g in range(draw(st.integers(1, 2))):
        shared: list[str] = []
        if out and draw(st.booleans()):
            first = [c.key for c in out[0].cohorts]
            shared = draw(st.lists(st.sampled_from(first), min_size=1, max_size=len(first), unique=True))
        own = [f"cohort:c{g}-{i}" for i in range(draw(st.integers(0 if shared else 1, max_cohorts - len(shared))))]
        cohorts = sorted(shared + own)
        grant = Grant(
            key=f"grant:g{g}",
            funder="funder:f",
            name=f"Grant {g}",
            amount=Decimal(1000),
            period_start=date(2025, 1, 1),
            period_end=date(2025, 12, 31),
            cohorts=tuple(cohorts),
        )
        data = GrantData(
            grant=grant,
            cohorts=[
                CohortInfo(c, c, "Org", date(2025, 1, 1), date(2025, 6, 1), "completed", "virtual") for c in cohorts
            ],
        )
        for c in shared:
            source = out[0]
            for role in ROLES:
                for col in ("in_progress", "completed", "withdrawn"):
                    data.enrolment[(c, role, col)] = source.enrolment[(c, role, col)]
                data.attended[(c, role)] = source.attended[(c, role)]
            for m in MEASURES:
                data.summaries[(c, m.key)] = source.summaries[(c, m.key)]
        for c, role in product(own, ROLES):
            for col in ("in_progress", "completed", "withdrawn"):
                data.enrolment[(c, role, col)] = draw(st.integers(0, 20))
            data.attended[(c, role)] = draw(st.integers(0, 10))
        data.sessions_held = {c: 4 for c in cohorts}
        for c in own:
            for m in MEASURES:
                data.summaries[(c, m.key)] = _summary(draw, m.threshold is not None)
        out.append(data)
    return out
