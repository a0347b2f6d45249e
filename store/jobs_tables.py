"""Tables of the sync engine: the durable job queue, the sync ledger and the run history.

They live on `store.tables.metadata` so one Alembic environment sees the whole schema (revision 0002).

- `jobs` is the queue every worker shares.  A job is enqueued in the same transaction as the data it concerns
  (an import, an intake submission), so accepted work can never exist without its job or the other way round.
  `idempotency_key` is unique: enqueueing the same work twice returns the first job.  `coalesce_key` (also
  unique, cleared when a worker claims the job) lets many imports share one *pending* sync job while a
  running one is never joined by new work it would not see.
- `sync_ledger` is the diffing memory: per (record key, profile step → CRM object) the CRM Id, the hash of
  the payload the CRM last accepted, and the last rejection.  An unchanged resync compares hashes and makes zero writes.
- `sync_runs` is the history `status` shows: what each run did, how long it took, how many API calls.
- `sync_issues` remembers the issue records written to the CRM for development staff (revision 0006).
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, Index, Integer, String, Table

from store.encryption import EncryptedText
from store.personal import ISSUE, JOB_ERROR, LEDGER, RUN_ERROR, not_personal, personal
from store.tables import KEY, metadata
from store.types import UtcDateTime

# SQLite only auto-increments an INTEGER PRIMARY KEY; Postgres gets a 64-bit identity.
JOB_ID = BigInteger().with_variant(Integer(), "sqlite")

JOB_STATES = ("queued", "running", "succeeded", "failed", "dead")

jobs = Table(
    "jobs",
    metadata,
    Column("id", JOB_ID, primary_key=True, autoincrement=True),
    Column("kind", String(64), nullable=False),
    Column("payload", JSON, nullable=False, info=not_personal("ids and reasons, never a record's values")),
    # queued: waiting to run · running: leased to a worker · failed: an attempt failed, retries at run_after
    # · succeeded · dead: out of attempts or budget, waits for `replay`.
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("max_attempts", Integer, nullable=False),
    Column("run_after", UtcDateTime(), nullable=False),
    Column("lease_owner", String(128)),
    Column("lease_expires_at", UtcDateTime()),
    # Encrypted: a CRM's error message may quote the values it refused.
    Column("last_error", EncryptedText(), info=personal("free text", JOB_ERROR)),
    Column("idempotency_key", String(255), nullable=False, unique=True),
    Column("coalesce_key", String(255), unique=True),
    Column("first_attempt_at", UtcDateTime()),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Index("ix_jobs_state_run_after", "state", "run_after"),
)

sync_ledger = Table(
    "sync_ledger",
    metadata,
    # One row per (record key, profile step).  Keyed by step rather than CRM object because two steps may write
    # different fields of the same CRM record (an organisation and its engagement summary both land on its
    # Account): each keeps its own hash, so neither resends because of the other.
    Column("record_key", String(KEY), primary_key=True, info=personal("pseudonym", LEDGER, "people's rows")),
    Column("step", String(80), primary_key=True),
    Column("object_name", String(80), nullable=False),
    # The program record the row comes from (a cohort's Service row is keyed `service:…` but comes from the
    # cohort `cohort:…`): the fast unchanged test joins the record table on it.
    Column("source_key", String(KEY), info=personal("pseudonym", LEDGER, "people's rows")),
    Column("crm_id", String(32)),
    # synced: the CRM holds `payload_hash` · rejected: the CRM refused `rejected_hash` (a row error)
    # · blocked: not sent because the parent `blocked_by` is not in the CRM · invalid: no payload could be built
    # · missing: the CRM lost the record (deleted or merged by staff); the next sync sends it again.
    Column("status", String(16), nullable=False),
    # The program record's own hash and the step definition's hash when last synced: when both still match,
    # the record is unchanged without building its payload (the fast path of an unchanged resync).
    Column("source_hash", String(64)),
    Column("step_hash", String(64)),
    Column("payload_hash", String(64)),
    Column("rejected_hash", String(64)),
    Column("error_code", String(64), info=not_personal("the CRM's error code")),
    # Encrypted, like jobs.last_error: the CRM's message may quote the value it refused.
    Column("error_message", EncryptedText(), info=personal("free text", LEDGER)),
    Column("blocked_by", String(KEY), info=personal("pseudonym", LEDGER, "a person's key when they block")),
    Column("attempts", Integer, nullable=False),
    Column("synced_at", UtcDateTime()),
    Column("updated_at", UtcDateTime(), nullable=False),
    Index("ix_sync_ledger_step_status", "step", "status"),
    Index("ix_sync_ledger_step_source_key", "step", "source_key"),
    Index("ix_sync_ledger_object_crm_id", "object_name", "crm_id"),
)

sync_runs = Table(
    "sync_runs",
    metadata,
    Column("id", JOB_ID, primary_key=True, autoincrement=True),
    Column("job_id", JOB_ID),
    Column("profile", String(64), nullable=False),
    Column("mode", String(16), nullable=False),  # full · incremental · replay · reconcile · dry-run
    Column("status", String(16), nullable=False),  # running · succeeded · partial · failed · interrupted
    Column("started_at", UtcDateTime(), nullable=False),
    Column("finished_at", UtcDateTime()),
    Column("counts", JSON, nullable=False),  # {object: {created, updated, unchanged, rejected, blocked}}
    Column("api_calls", Integer, nullable=False),
    Column("error", EncryptedText(), info=personal("free text", RUN_ERROR)),
    Index("ix_sync_runs_started_at", "started_at"),
)

# The issue records the sync wrote to the CRM (sync.health), so it writes one only when its content changed and
# resolves the ones whose row has landed.  Keyed like the ledger; `issue_key` is the CRM external ID.
sync_issues = Table(
    "sync_issues",
    metadata,
    Column("record_key", String(KEY), primary_key=True, info=personal("pseudonym", ISSUE, "people's rows")),
    Column("step", String(80), primary_key=True),
    Column("issue_key", String(80), nullable=False, unique=True, info=personal("pseudonym", ISSUE, "the key again")),
    Column("status", String(16), nullable=False),  # open · resolved (as last written to the CRM)
    Column("payload_hash", String(64), nullable=False),
    Column("first_seen", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Index("ix_sync_issues_status", "status"),
)
