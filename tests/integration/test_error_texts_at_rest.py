"""Error texts are personal data at rest too: a CRM's message may quote the value it refused (an email, a name),
so the job queue's, the ledger's and the run history's error texts are encrypted like the intake inbox's.
Rows written before stay readable, and `keys rotate` encrypts them, the ledger's two-column key included."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, Table, Text, select, type_coerce

from store.encryption import MARKER, Keyring, install_keyring, installed_keyring, new_key
from store.jobs import JobRepository, utcnow
from store.jobs_tables import jobs, sync_ledger, sync_runs
from store.ledger import LedgerEntry, LedgerRepository
from store.reencrypt import encrypted_tables, reencrypt_batch
from store.runs import RunRepository
from store.tables import metadata

OLD, NEW = new_key(), new_key()
EMAIL = "jordan.rivera@umc.example.org"
REFUSAL = f"invalid email address: {EMAIL}"


@pytest.fixture(autouse=True)
def no_keyring_left_behind() -> Iterator[None]:
    yield
    install_keyring(None)


def _stored(engine: Engine, table: Table, column: str) -> list[str]:
    """What the database itself holds in a text column, past the column type."""
    with engine.connect() as conn:
        return [v for (v,) in conn.execute(select(type_coerce(table.c[column], Text))) if v is not None]


def _refusals(*pairs: tuple[str, str]) -> list[LedgerEntry]:
    return [
        LedgerEntry(
            record_key=key,
            step=step,
            object_name="Contact",
            status="rejected",
            error_code="INVALID_EMAIL_ADDRESS",
            error_message=f"{REFUSAL} ({key} {step})",
        )
        for key, step in pairs
    ]


def _fail_a_job(engine: Engine, error: str) -> int:
    with engine.begin() as conn:
        repo = JobRepository(conn)
        job_id = repo.enqueue("sync", {}, idempotency_key=f"k-{error[-12:]}")
        job = repo.claim("w1", 60)
        assert job is not None and job.id == job_id
        repo.fail(job, error, utcnow() + timedelta(hours=1))
    return job_id


def _record_a_failed_run(engine: Engine, error: str) -> None:
    with engine.begin() as conn:
        runs = RunRepository(conn)
        runs.finish(runs.start("npsp_pmm", "incremental"), "failed", {}, 0, error=error)


def test_a_refusal_quoting_a_persons_email_is_stored_encrypted_everywhere_and_reads_back(engine: Engine) -> None:
    install_keyring(Keyring([NEW]))
    with engine.begin() as conn:
        LedgerRepository(conn).write(_refusals(("participant:aa", "participant_contact")))
    job_id = _fail_a_job(engine, f"the CRM refused the batch: {REFUSAL}")
    _record_a_failed_run(engine, f"the run stopped: {REFUSAL}")

    for table, column in ((sync_ledger, "error_message"), (jobs, "last_error"), (sync_runs, "error")):
        stored = _stored(engine, table, column)
        assert stored and all(v.startswith(MARKER) and EMAIL not in v for v in stored), table.name
    with engine.connect() as conn:
        (entry,) = LedgerRepository(conn).entries("rejected")
        (group,) = LedgerRepository(conn).error_groups()
        job = JobRepository(conn).get(job_id)
        (run,) = RunRepository(conn).recent()
    assert entry.error_message is not None and EMAIL in entry.error_message
    assert group.sample_message == entry.error_message
    assert job is not None and job.last_error == f"the CRM refused the batch: {REFUSAL}"
    assert run.error == f"the run stopped: {REFUSAL}"


def _rotate(engine: Engine, batch: int) -> dict[str, int]:
    keyring = installed_keyring()
    assert keyring is not None
    rewritten: dict[str, int] = {}
    for table, columns in encrypted_tables(metadata):
        after: Any = None
        while True:
            with engine.begin() as conn:
                result = reencrypt_batch(conn, table, columns, keyring, after=after, limit=batch)
            if result.last_key is None:
                break
            after = result.last_key
            rewritten[table.name] = rewritten.get(table.name, 0) + result.rewritten
    return rewritten


def test_error_texts_written_before_encryption_stay_readable_and_rotate_encrypts_every_one(engine: Engine) -> None:
    # Plaintext from before this change, and rows under an older key; several steps share one record key, so
    # the walk in key order must go past (key, step) pairs, not keys alone.
    pairs = [("participant:aa", "participant_contact"), ("participant:aa", "participant_summary")]
    more = [("participant:bb", "participant_contact"), ("participant:aa", "roster"), ("org:x", "organization")]
    with engine.begin() as conn:
        LedgerRepository(conn).write(_refusals(*pairs))
    _fail_a_job(engine, f"plain: {REFUSAL}")
    _record_a_failed_run(engine, f"plain: {REFUSAL}")
    install_keyring(Keyring([OLD]))
    with engine.begin() as conn:
        LedgerRepository(conn).write(_refusals(*more))
    with engine.connect() as conn:
        assert len([e for e in LedgerRepository(conn).entries("rejected") if EMAIL in (e.error_message or "")]) == 5

    install_keyring(Keyring([NEW, OLD]))
    rotated = _rotate(engine, batch=1)
    assert rotated["sync_ledger"] == 5 and rotated["jobs"] == 1 and rotated["sync_runs"] == 1
    assert _rotate(engine, batch=2).get("sync_ledger") == 0  # a second (or resumed) run finds nothing to do

    keyring = installed_keyring()
    assert keyring is not None
    stored = _stored(engine, sync_ledger, "error_message")
    assert len(stored) == 5 and all(keyring.is_current(v) for v in stored)
    install_keyring(Keyring([NEW]))  # the old key can go now
    with engine.connect() as conn:
        messages = sorted(e.error_message or "" for e in LedgerRepository(conn).entries("rejected"))
    assert messages == sorted(f"{REFUSAL} ({k} {s})" for k, s in pairs + more)


def test_a_lease_swept_after_its_worker_vanished_reads_back_with_the_workers_name(engine: Engine) -> None:
    """The sweep writes its text in SQL (from the lease owner); it stays readable under a keyring."""
    install_keyring(Keyring([NEW]))
    with engine.begin() as conn:
        repo = JobRepository(conn)
        job_id = repo.enqueue("sync", {}, idempotency_key="swept")
        assert repo.claim("host-1:42", -1) is not None
        assert repo.sweep_expired_leases() == 1
        job = repo.get(job_id)
    assert job is not None and job.last_error == "host-1:42 stopped without finishing (lease expired)"
