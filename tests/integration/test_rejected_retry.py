"""Rows the CRM refused are tried again on their own, with a growing wait, once their cause may be fixed.

Admins fix refusals in the CRM (a picklist value added, a validation rule relaxed) and tell nobody; a mature
sync heals on its own.  Housekeeping lets a refused row go again after an hour, then 2, 4, ... hours (at most a
day), and queues a sync when any did.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update
from syncdata import (
    PROFILE,
    describes,
    keys_of,
    local_crm,
    program,
    seed,
    title_required,
    with_first_participant_untitled,
)

from store.jobs import JobRepository, utcnow
from store.jobs_tables import sync_ledger
from store.ledger import LedgerEntry, LedgerRepository
from sync.maintenance import Housekeeping
from sync.runner import run_sync, sync_status
from tests.sync_options import options

HOUR = timedelta(hours=1)


@pytest.fixture
def data() -> dict[str, list]:  # type: ignore[type-arg]
    return program()


def refused(key: str, attempts: int) -> LedgerEntry:
    return LedgerEntry(
        record_key=key,
        step="contacts",
        object_name="Contact",
        status="rejected",
        rejected_hash="h",
        error_code="FIELD_CUSTOM_VALIDATION_EXCEPTION",
        error_message="refused",
        attempts=attempts,
    )


def _refused_at(engine: Engine, when: dict[str, datetime]) -> None:
    with engine.begin() as conn:
        for key, at in when.items():
            conn.execute(update(sync_ledger).where(sync_ledger.c.record_key == key).values(updated_at=at))


def test_a_refused_row_waits_an_hour_then_twice_as_long_after_each_refusal_but_never_more_than_a_day(
    engine: Engine,
) -> None:
    now = utcnow()
    ages = {
        "first-refusal-59-minutes-ago": (1, now - timedelta(minutes=59)),
        "first-refusal-61-minutes-ago": (1, now - timedelta(minutes=61)),
        "third-refusal-3-hours-ago": (3, now - 3 * HOUR),  # waits 4 hours
        "third-refusal-5-hours-ago": (3, now - 5 * HOUR),
        "tenth-refusal-23-hours-ago": (10, now - 23 * HOUR),  # 512 hours, capped at 24
        "tenth-refusal-25-hours-ago": (10, now - 25 * HOUR),
    }
    with engine.begin() as conn:
        LedgerRepository(conn).write([refused(key, attempts) for key, (attempts, _) in ages.items()])
    _refused_at(engine, {key: at for key, (_, at) in ages.items()})

    with engine.begin() as conn:
        released = LedgerRepository(conn).release_due_rejections(now, HOUR, 24 * HOUR)
    with engine.connect() as conn:
        still = set(conn.execute(select(sync_ledger.c.record_key).where(sync_ledger.c.rejected_hash.is_not(None))))
    assert released == 3
    assert {key for (key,) in still} == {
        "first-refusal-59-minutes-ago",
        "third-refusal-3-hours-ago",
        "tenth-refusal-23-hours-ago",
    }


def test_a_refusal_fixed_in_the_crm_heals_without_anyone_replaying_it(
    engine: Engine,
    tmp_path: Path,
    data: dict,  # type: ignore[type-arg]
) -> None:
    seed(engine, with_first_participant_untitled(data))
    crm, _ = local_crm(tmp_path, title_required())
    assert run_sync(engine, crm, options(PROFILE)).by_object()["Contact"]["rejected"] == 1

    crm.ensure_schema(describes())  # the admin relaxes the rule in the CRM, and tells nobody
    housekeeping = Housekeeping(keep_intake_bodies=timedelta(days=30))
    assert housekeeping.run(engine)["rejected_rows_retried"] == 0  # too soon: the wait is an hour
    later = housekeeping.run(engine, now=utcnow() + HOUR + timedelta(minutes=1))
    assert later["rejected_rows_retried"] == 1
    with engine.connect() as conn:
        queued = [j for j in JobRepository(conn).list_jobs(limit=10) if j.kind == "sync" and j.state == "queued"]
    assert len(queued) == 1 and queued[0].payload["reason"] == "rejected rows due for another try"

    healed = run_sync(engine, crm, options(PROFILE))
    assert healed.status == "succeeded", healed.as_dict()
    assert healed.by_object()["Contact"]["created"] == 1
    assert len(keys_of(crm, "Contact")) == len(data["participants"])
    assert len(keys_of(crm, "pmdm__ServiceDelivery__c")) == len(data["attendance"])  # the blocked children too
    assert sync_status(engine)["errors"] == []
