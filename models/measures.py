"""The outcome-measure catalogue: what Ignite measures, on what scale, and which direction is better.

The default catalogue is data (`models/data/measures.json`), written for Ignite in our own words; it does not
reproduce any licensed instrument.  A program can ship its own catalogue file with the same shape.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from importlib import resources

from pydantic import Field, model_validator

from models.common import IgniteModel, Phase
from models.keys import MeasureKey
from models.problems import Problem
from models.records import SurveyResponse


class Measure(IgniteModel):
    key: MeasureKey
    label: str = Field(min_length=1, max_length=80)
    description: str = ""
    scale_min: float
    scale_max: float
    higher_is_better: bool
    threshold: float | None = None
    phases: tuple[Phase, ...] = (Phase.PRE, Phase.POST)

    @model_validator(mode="after")
    def _scale_in_order(self) -> Measure:
        if self.scale_max <= self.scale_min:
            raise ValueError("scale_max must be greater than scale_min")
        if self.threshold is not None and not self.scale_min <= self.threshold <= self.scale_max:
            raise ValueError("threshold must lie within the scale")
        return self

    def meets_threshold(self, value: float) -> bool:
        """True when a value counts toward the measure's prevalence (burnout: value >= threshold)."""
        if self.threshold is None:
            raise ValueError(f"{self.key} has no threshold")
        return value >= self.threshold


class MeasureCatalogue(IgniteModel):
    measures: tuple[Measure, ...]

    @model_validator(mode="after")
    def _keys_unique(self) -> MeasureCatalogue:
        keys = [m.key for m in self.measures]
        duplicates = sorted({k for k in keys if keys.count(k) > 1})
        if duplicates:
            raise ValueError(f"measure keys must be unique; repeated: {', '.join(duplicates)}")
        return self

    def get(self, key: str) -> Measure | None:
        return next((m for m in self.measures if m.key == key), None)

    def check_response(self, response: SurveyResponse, record: str) -> list[Problem]:
        """A response must name a catalogued measure, a phase it is collected in, and a value on its scale."""
        measure = self.get(response.measure)
        if measure is None:
            return [Problem(record, "measure", f"unknown measure {response.measure!r}")]
        problems = []
        if response.phase not in measure.phases:
            problems.append(
                Problem(record, "phase", f"{measure.key} is not collected in phase {response.phase.value!r}")
            )
        if not measure.scale_min <= response.value <= measure.scale_max:
            problems.append(
                Problem(
                    record,
                    "value",
                    f"must be between {measure.scale_min:g} and {measure.scale_max:g} for {measure.key}",
                )
            )
        return problems

    def check_responses(self, responses: Iterable[SurveyResponse]) -> list[Problem]:
        return [p for r in responses for p in self.check_response(r, r.key)]


def load_catalogue(text: str) -> MeasureCatalogue:
    return MeasureCatalogue.model_validate(json.loads(text))


@cache
def default_catalogue() -> MeasureCatalogue:
    return load_catalogue(resources.files("models").joinpath("data/measures.json").read_text("utf-8"))
