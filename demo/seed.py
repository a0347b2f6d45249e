"""Writing a generated program into the service database, a cohort at a time (bounded memory at any scale)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pydantic import BaseModel
from sqlalchemy import Engine

from demo.generator import DemoProgram
from store.repository import UpsertCounts
from store.unit_of_work import UnitOfWork


@dataclass
class SeedSummary:
    counts: dict[str, UpsertCounts] = field(default_factory=dict)

    def add(self, kind: str, counts: UpsertCounts) -> None:
        self.counts.setdefault(kind, UpsertCounts()).add(counts)

    def rows(self, kind: str) -> int:
        c = self.counts.get(kind, UpsertCounts())
        return c.inserted + c.updated + c.unchanged


def seed(
    engine: Engine,
    program: DemoProgram,
    *,
    cohorts_per_commit: int = 50,
    on_cohort: Callable[[int], None] | None = None,
) -> SeedSummary:
    summary = SeedSummary()

    def write(uow: UnitOfWork, kind: str, records: Sequence[BaseModel]) -> None:
        summary.add(kind, uow.records(kind).upsert_many(records))

    with UnitOfWork(engine) as uow:
        write(uow, "programs", program.programs)
        write(uow, "organizations", program.organizations)
        write(uow, "funders", program.funders)
        write(uow, "intake", program.intake)
        for n, bundle in enumerate(program.bundles(), start=1):
            write(uow, "cohorts", [bundle.cohort])
            write(uow, "participants", bundle.participants)
            write(uow, "enrollments", bundle.enrollments)
            write(uow, "sessions", bundle.sessions)
            write(uow, "attendance", bundle.attendance)
            write(uow, "responses", bundle.responses)
            if n % cohorts_per_commit == 0:
                uow.commit()
            if on_cohort is not None:
                on_cohort(1)
        # Grants point at cohorts, so they go in once the cohorts exist.
        write(uow, "grants", program.grants)
        uow.commit()
    return summary
