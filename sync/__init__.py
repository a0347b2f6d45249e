"""The sync engine: decide what must go to the CRM, send it in order in the fewest calls, remember what happened.

`sync.plan` is pure (candidate rows + ledger → decisions); `sync.engine` applies them through a `CrmConnector`
step by step and writes the ledger; `sync.profiles` turns a mapping profile and the service database into the
engine's steps; `sync.worker` runs durable jobs from the queue (`store.jobs`) with leases, backoff and a
dead-letter; `sync.jobs` holds the job kinds and the helper imports use to enqueue a sync in their own
transaction; `sync.runner` has the plain-value entry points the CLI and the demo call (`run_sync`,
`run_worker`, `sync_status`, `replay`, `enqueue_sync`), which take one options value (`sync.options`) and a CRM
or a CRM factory: nothing in `sync/` opens a CRM adapter, the composition root (`wiring.py`) does.
"""

from __future__ import annotations

from typing import Any

_RUNNER = {"run_sync", "run_worker", "sync_status", "replay", "enqueue_sync", "SyncOptions", "WorkerOptions"}


def __getattr__(name: str) -> Any:
    # Lazy, so `sync.jobs` (imported by ingest and webhooks) does not pull in the engine, mappings and the CRM.
    if name in _RUNNER:
        from sync import runner

        return getattr(runner, name)
    raise AttributeError(f"module 'sync' has no attribute {name!r}")
