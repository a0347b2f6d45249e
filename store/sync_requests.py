"""Asking for a sync: the one job kind every door queues, with the data that changed, in the caller's transaction.

It lives in the store (not in `sync/`) because the doors below the sync engine queue it too: an import
(`ingest/handoff.py`) asks for a sync in the transaction that stores its rows.  `sync.jobs` re-exports both names.
"""

from __future__ import annotations

import uuid

from sqlalchemy import Connection

from store.jobs import JobRepository

SYNC = "sync"  # payload: {"mode": "incremental" | "full", "profile": str | None, "reason": str, ...}


def enqueue_incremental_sync(connection: Connection, reason: str, *, profile: str | None = None) -> int:
    """Queue a sync of whatever changed, in the caller's transaction; returns the job id.

    Repeated imports coalesce: while a pending incremental sync exists (not yet claimed by a worker), every
    further call returns that job.  Once a worker has claimed it, the next call queues a new one, because the
    running sync may already have read past the newly imported rows.
    """
    scope = profile or "default"
    return JobRepository(connection).enqueue(
        SYNC,
        {"mode": "incremental", "profile": profile, "reason": reason},
        idempotency_key=f"sync:incremental:{scope}:{uuid.uuid4().hex}",
        coalesce_key=f"sync:incremental:{scope}",
    )
