"""Import, then queue a sync: the hand-off both doors use (`ignite-sync import` and the ingest API).

The sync job is queued in the transaction that stores the rows (only when a batch changed something), so
rows are never stored without the sync that sends them, nor a sync queued for rows that were rolled back.  Both
doors name the profile, so a job queued by one coalesces with a pending job queued by the other.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Engine

from ingest.importer import ImportReport, import_rows
from ingest.reader import SourceRow
from store.repository import UpsertCounts
from store.sync_requests import enqueue_incremental_sync


def import_and_queue_sync(
    engine: Engine, kind: str, rows: Iterable[SourceRow], *, profile: str, reason: str, **options: Any
) -> ImportReport:
    """`import_rows` (see there for `options`) whose changed batches queue an incremental sync of `profile`."""

    def queue_sync(connection: Connection, _counts: UpsertCounts) -> None:
        enqueue_incremental_sync(connection, reason, profile=profile)

    return import_rows(engine, kind, rows, after_batch=queue_sync, **options)
