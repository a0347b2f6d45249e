"""Seed a service database with a small, realistic, reproducible Ignite program for export tests."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Engine

from models import (
    Attendance,
    Cohort,
    Enrollment,
    Funder,
    Grant,
    Organization,
    Participant,
    Program,
    Session,
    SurveyResponse,
    default_catalogue,
)
from settings import load_settings
from store.unit_of_work import UnitOfWork

_DEFAULTS = load_settings()
# What the service passes to every export with its default settings: the smallest cell and the program's time zone.
EXPORT_SETTINGS = {"k": _DEFAULTS.export_min_cell, "timezone": _DEFAULTS.program_timezone}


@dataclass
class CohortSpec:
    slug: str
    people: int
    start: date = date(2025, 2, 1)
    sessions: int = 4
    # share of people who answer pre / post
    pre_rate: float = 0.95
    post_rate: float = 0.85


@dataclass
class ProgramSpec:
    cohorts: list[CohortSpec]
    # grant slug -> (funder slug, cohort slugs, period start, period end)
    grants: dict[str, tuple[str, list[str], date, date]] = field(default_factory=dict)
    seed: int = 7


def build(spec: ProgramSpec) -> dict[str, list[object]]:
    rng = random.Random(spec.seed)
    catalogue = default_catalogue()
    records: dict[str, list[object]] = {
        k: []
        for k in (
            "programs",
            "organizations",
            "cohorts",
            "participants",
            "enrollments",
            "sessions",
            "attendance",
            "responses",
            "funders",
            "grants",
        )
    }
    records["programs"].append(Program(key="program:ignite", name="Ignite"))
    funders = sorted({f for f, *_ in spec.grants.values()})
    for f in funders:
        records["funders"].append(Funder(key=f"funder:{f}", name=f"{f.title()} Foundation"))
    for c in spec.cohorts:
        org = f"org:{c.slug}"
        records["organizations"].append(Organization(key=org, name=f"{c.slug.title()} Health", kind="fqhc"))
        end = c.start + timedelta(days=7 * c.sessions)
        records["cohorts"].append(
            Cohort(
                key=f"cohort:{c.slug}",
                program="program:ignite",
                organization=org,
                name=f"{c.slug.title()} cohort",
                start_date=c.start,
                end_date=end,
                status="completed",
                delivery="virtual",
            )
        )
        sessions = [
            Session(
                key=f"session:{c.slug}-{i}",
                cohort=f"cohort:{c.slug}",
                sequence=i,
                title=f"Session {i}",
                starts_at=datetime.combine(c.start + timedelta(days=7 * (i - 1)), datetime.min.time(), UTC)
                + timedelta(hours=17),
                duration_minutes=90,
            )
            for i in range(1, c.sessions + 1)
        ]
        records["sessions"] += sessions
        for i in range(c.people):
            email = f"p{i}@{c.slug}.example.org"
            role = rng.choice(["clinician", "clinician", "administrator", "other"])
            person = Participant(email=email, first_name="P", last_name=f"N{i}", role=role, organization=org)
            records["participants"].append(person)
            status = rng.choices(["completed", "enrolled", "withdrawn", "invited"], [6, 2, 1, 1])[0]
            records["enrollments"].append(Enrollment(participant=person.key, cohort=f"cohort:{c.slug}", status=status))
            if status == "invited":
                continue
            for s in sessions:
                present = rng.random() < 0.8
                records["attendance"].append(
                    Attendance(session=s.key, participant=person.key, status="present" if present else "absent")
                )
            for m in catalogue.measures:
                span = m.scale_max - m.scale_min
                base = rng.randint(int(m.scale_min), int(m.scale_max))
                if rng.random() < c.pre_rate:
                    records["responses"].append(
                        SurveyResponse(
                            participant=person.key,
                            cohort=f"cohort:{c.slug}",
                            measure=m.key,
                            phase="pre",
                            value=base,
                            collected_on=c.start,
                        )
                    )
                if rng.random() < c.post_rate:
                    step = rng.choice([-1, 0, 1, 1]) * (1 if m.higher_is_better else -1)
                    post = min(max(base + step, m.scale_min), m.scale_min + span)
                    records["responses"].append(
                        SurveyResponse(
                            participant=person.key,
                            cohort=f"cohort:{c.slug}",
                            measure=m.key,
                            phase="post",
                            value=post,
                            collected_on=end,
                        )
                    )
    for g, (f, cohorts, start, end) in spec.grants.items():
        records["grants"].append(
            Grant(
                key=f"grant:{g}",
                funder=f"funder:{f}",
                name=f"{g.title()} grant",
                amount=Decimal("125000.00"),
                period_start=start,
                period_end=end,
                cohorts=tuple(f"cohort:{c}" for c in cohorts),
            )
        )
    return records


def seed(engine: Engine, spec: ProgramSpec) -> dict[str, list[object]]:
    records = build(spec)
    with UnitOfWork(engine) as uow:
        for kind, items in records.items():
            uow.records(kind).upsert_many(items)  # type: ignore[arg-type]
        uow.commit()
    return records


def two_funders() -> ProgramSpec:
    """Acme funds two cohorts (one large, one small) in 2025; Zenith funds a third."""
    return ProgramSpec(
        cohorts=[CohortSpec("river", 40), CohortSpec("hill", 14), CohortSpec("lake", 30, start=date(2025, 5, 1))],
        grants={
            "acme-2025": ("acme", ["river", "hill"], date(2025, 1, 1), date(2025, 12, 31)),
            "zenith-2025": ("zenith", ["lake"], date(2025, 1, 1), date(2025, 12, 31)),
        },
    )
