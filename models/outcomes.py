"""Cohort-level outcome aggregates: what the CRM receives instead of individual answers.

Burnout and intent-to-leave answers from named clinicians and executives are sensitive.  The CRM gets, per
cohort, measure and phase, only the number of respondents, the mean and (for measures with a threshold) the
share at or above it, and an aggregate from fewer than `min_respondents` people is blanked with a flag.  The
funder exports build their fuller statistics on the same grouping (`group_responses`), so "respondents" means
one thing everywhere.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from pydantic import Field, computed_field

from models.common import IgniteModel, Phase
from models.keys import CohortKey, MeasureKey, compose_key, slug_of
from models.measures import MeasureCatalogue
from models.records import SurveyResponse
from models.statistics import Moments


class CohortOutcome(IgniteModel):
    cohort: CohortKey
    measure: MeasureKey
    phase: Phase
    respondents: int = Field(ge=0)
    mean: float | None = None
    share_at_or_above_threshold: float | None = Field(default=None, ge=0, le=1)
    suppressed: bool = False

    @computed_field  # type: ignore[prop-decorator]
    @property
    def key(self) -> str:
        return compose_key("outcome", slug_of(self.cohort), slug_of(self.measure), self.phase.value)


def group_responses(
    responses: Iterable[SurveyResponse],
) -> dict[tuple[str, str, Phase], dict[str, float]]:
    """(cohort, measure, phase) -> {participant: value}; a participant answering twice counts once (last wins)."""
    groups: dict[tuple[str, str, Phase], dict[str, float]] = defaultdict(dict)
    for r in responses:
        groups[(r.cohort, r.measure, r.phase)][r.participant] = r.value
    return groups


def cohort_outcomes(
    responses: Iterable[SurveyResponse], catalogue: MeasureCatalogue, min_respondents: int
) -> list[CohortOutcome]:
    """One aggregate per (cohort, measure, phase) that has answers, sorted by key for stable output."""
    if min_respondents < 1:
        raise ValueError("min_respondents must be at least 1")
    outcomes = []
    for (cohort, measure_key, phase), by_person in group_responses(responses).items():
        values = list(by_person.values())
        n = len(values)
        if n < min_respondents:
            outcomes.append(
                CohortOutcome(cohort=cohort, measure=measure_key, phase=phase, respondents=n, suppressed=True)
            )
            continue
        measure = catalogue.get(measure_key)
        share = None
        if measure is not None and measure.threshold is not None:
            share = sum(1 for v in values if measure.meets_threshold(v)) / n
        outcomes.append(
            CohortOutcome(
                cohort=cohort,
                measure=measure_key,
                phase=phase,
                respondents=n,
                mean=Moments.of(values).mean,
                share_at_or_above_threshold=share,
            )
        )
    return sorted(outcomes, key=lambda o: o.key)
