"""The service database on SQLite and Postgres: records round-trip, unchanged writes are skipped."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, insert, text

from demo import generate, seed
from store.database import is_current, make_engine, upgrade_database
from store.intake_tables import intake_inbox
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


def test_a_quarantined_row_purged_before_review_existed_is_discarded_by_the_upgrade(database_url: str) -> None:
    """Before revision 0005 honeypot rows were purged like delivered ones; with no body left they could never be
    reviewed or released, so the upgrade settles them instead of counting them as waiting for review forever."""
    engine = make_engine(database_url)
    try:
        upgrade_database(engine, "0004")
        with engine.begin() as conn:
            for n, purged in enumerate((True, False)):
                conn.execute(
                    insert(intake_inbox).values(
                        receipt_id=f"rcpt_{n}",
                        source="website",
                        delivery_id=f"msg_{n}",
                        received_at=datetime(2026, 1, 1, tzinfo=UTC),
                        content_type="application/json",
                        body_sha256="0" * 64,
                        raw_body=None if purged else b"{}",
                        body_purged_at=datetime(2026, 2, 1, tzinfo=UTC) if purged else None,
                        quarantined=True,
                        quarantine_reason="honeypot",
                        status="quarantined",
                    )
                )
        upgrade_database(engine)
        with engine.connect() as conn:
            rows = dict(conn.execute(text("SELECT delivery_id, status FROM intake_inbox")).all())
        assert rows == {"msg_0": "discarded", "msg_1": "quarantined"}
    finally:
        engine.dispose()
