"""The service database on SQLite and Postgres: records round-trip, unchanged writes are skipped."""

from __future__ import annotations

from datetime import UTC

from sqlalchemy import Engine

from demo import generate, seed
from store.database import is_current
from store.records import KINDS
from store.unit_of_work import UnitOfWork


def test_migrations_bring_a_fresh_database_to_the_current_schema(engine: Engine) -> None:
    assert is_current(engine)


def test_every_kind_of_record_round_trips_through_its_table(engine: Engine) -> None:
    program = generate(32)
    seed(engine, program)
    bundle = next(program.bundles())
    samples = {
        "programs": program.programs[0],
        "organizations": program.organizations[0],
        "funders": program.funders[0],
        "grants": program.grants[0],
        "intake": program.intake[0],
        "cohorts": bundle.cohort,
        "participants": bundle.participants[0],
        "enrollments": bundle.enrollments[0],
        "sessions": bundle.sessions[0],
        "attendance": bundle.attendance[0],
        "responses": bundle.responses[0],
    }
    assert set(samples) == set(KINDS)
    with UnitOfWork(engine) as uow:
        for kind, record in samples.items():
            assert uow.records(kind).get(record.key) == record, kind  # type: ignore[attr-defined]


def test_session_times_come_back_as_aware_utc(engine: Engine) -> None:
    program = generate(16)
    seed(engine, program)
    session = next(program.bundles()).sessions[0]
    with UnitOfWork(engine) as uow:
        stored = uow.records("sessions").get(session.key)
    assert stored is not None and stored.starts_at.tzinfo is not None  # type: ignore[attr-defined]
    assert stored.starts_at.astimezone(UTC) == session.starts_at  # type: ignore[attr-defined]


def test_reseeding_the_same_program_changes_nothing(engine: Engine) -> None:
    program = generate(32)
    first = seed(engine, program)
    second = seed(engine, program)
    assert first.counts["participants"].inserted == 32
    for kind, counts in second.counts.items():
        assert counts.inserted == 0 and counts.updated == 0, kind
        assert counts.unchanged == first.counts[kind].inserted, kind


def test_a_changed_record_is_updated_in_place(engine: Engine) -> None:
    program = generate(16)
    seed(engine, program)
    person = next(program.bundles()).participants[0]
    moved = person.model_copy(update={"job_title": "Chief Medical Officer"})
    with UnitOfWork(engine) as uow:
        counts = uow.records("participants").upsert_many([moved])
        uow.commit()
    assert (counts.inserted, counts.updated) == (0, 1)
    with UnitOfWork(engine) as uow:
        assert uow.records("participants").get(person.key) == moved
        assert uow.records("participants").count() == 16


def test_uncommitted_work_is_rolled_back(engine: Engine) -> None:
    program = generate(16)
    with UnitOfWork(engine) as uow:
        uow.records("organizations").upsert_many(program.organizations)
    with UnitOfWork(engine) as uow:
        assert uow.records("organizations").count() == 0


def test_iterating_all_records_pages_in_key_order(engine: Engine) -> None:
    program = generate(48)
    seed(engine, program)
    with UnitOfWork(engine) as uow:
        keys = [r.key for r in uow.records("participants").iter_all(batch_size=7)]  # type: ignore[attr-defined]
    assert len(keys) == 48 and keys == sorted(keys)
