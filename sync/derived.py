"""The records a profile maps but the service database does not store: they are computed from what it does.

Engagement summaries (per organisation, participant and grant), cohort outcome aggregates and the measure
catalogue.  Each producer streams its inputs, so memory stays flat; `sync.profiles.DerivedSource` runs one
only when an input table changed since its step was last fully synced.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from pydantic import BaseModel
from sqlalchemy import Engine

from models import default_catalogue
from models.outcomes import cohort_outcomes
from models.summaries import grant_summaries, organization_summaries, participant_summaries
from store.repository import RecordRepository


def _stream(engine: Engine, kind: str) -> Iterator[BaseModel]:
    with engine.connect() as conn:
        yield from RecordRepository(conn, kind).iter_all()


def _measures(_engine: Engine) -> Iterable[BaseModel]:
    return list(default_catalogue().measures)


def _outcomes(min_respondents: int) -> Callable[[Engine], Iterator[BaseModel]]:
    def produce(engine: Engine) -> Iterator[BaseModel]:
        catalogue = default_catalogue()
        with engine.connect() as conn:
            cohort_keys = sorted(RecordRepository(conn, "cohorts").keys())
        for cohort in cohort_keys:  # one cohort's answers at a time: memory stays flat
            with engine.connect() as conn:
                responses = list(RecordRepository(conn, "responses").iter_where("cohort", [cohort]))
            yield from cohort_outcomes(responses, catalogue, min_respondents)  # type: ignore[arg-type]

    return produce


Producer = Callable[[Engine], Iterable[BaseModel]]


def _summaries(build: Callable[..., Iterable[BaseModel]], kinds: list[str]) -> tuple[Producer, list[str]]:
    """A summary's producer, streaming `kinds` into `build` in this order, and the same tables as its inputs: the
    list is written once, so what a summary reads and what makes it stale cannot drift apart."""

    def produce(engine: Engine) -> Iterable[BaseModel]:
        return build(*(_stream(engine, kind) for kind in kinds))

    return produce, kinds


def derived_producers(min_respondents: int) -> dict[str, tuple[Producer, list[str]]]:
    """{model: (what produces its records, the tables they are computed from)} for the derived models."""
    return {
        "Measure": (_measures, []),
        "CohortOutcome": (_outcomes(min_respondents), ["responses", "cohorts"]),
        "OrganizationSummary": _summaries(
            organization_summaries, ["organizations", "cohorts", "enrollments", "sessions", "attendance"]
        ),
        "ParticipantSummary": _summaries(
            participant_summaries, ["participants", "cohorts", "enrollments", "sessions", "attendance"]
        ),
        "GrantSummary": _summaries(grant_summaries, ["grants", "cohorts", "enrollments"]),
    }
