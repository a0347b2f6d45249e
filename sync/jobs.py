"""Job kinds of the sync engine, and the helper other rooms call to enqueue sync work in their transaction."""

from __future__ import annotations

from store.sync_requests import SYNC, enqueue_incremental_sync

RECONCILE = "reconcile"  # re-read the CRM Ids the ledger knows; detect records deleted or merged in the CRM
HOUSEKEEPING = "housekeeping"  # purge old jobs and runs, sweep expired leases
ALL_KINDS = (SYNC, RECONCILE, HOUSEKEEPING)

__all__ = ["ALL_KINDS", "HOUSEKEEPING", "RECONCILE", "SYNC", "enqueue_incremental_sync"]
