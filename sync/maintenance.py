"""Periodic jobs: the reconcile (does the CRM still hold what the ledger says?) and housekeeping.

Staff delete and merge records in the CRM.  The reconcile re-reads every CRM Id the ledger knows, 200 per
query; a record merged into another is re-linked to the survivor (Salesforce keeps the loser, deleted, with
`MasterRecordId`) and marked "merged", so the next sync writes it to the survivor by Id instead of upserting
its key (which would create the loser again); a deleted one is forgotten so the next sync creates it again.
Both are reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from connector.base import CrmConnector, CrmError
from connector.reader import records_by_ids
from store.intake import InboxRepository
from store.jobs import JobRepository, utcnow
from store.ledger import LedgerRepository
from store.runs import RunRepository
from sync.jobs import enqueue_incremental_sync
from sync.plan import batches

RECONCILE_BATCH = 200


@dataclass
class ReconcileReport:
    checked: dict[str, int] = field(default_factory=dict)
    relinked: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # object -> [(old Id, survivor)]
    missing: dict[str, list[str]] = field(default_factory=dict)  # object -> Ids gone from the CRM

    @property
    def changed(self) -> bool:
        return any(self.relinked.values()) or any(self.missing.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "checked": self.checked,
            "relinked": {k: len(v) for k, v in self.relinked.items() if v},
            "missing": {k: len(v) for k, v in self.missing.items() if v},
        }


def _merged_into(crm: CrmConnector, object_name: str, ids: Sequence[str]) -> dict[str, str]:
    """{deleted Id: surviving Id} for records merged away (objects without MasterRecordId have none)."""
    try:
        rows = records_by_ids(crm, object_name, ["IsDeleted", "MasterRecordId"], ids, include_deleted=True).values()
    except CrmError:
        return {}
    return {str(r["Id"]): str(r["MasterRecordId"]) for r in rows if r.get("MasterRecordId")}


def reconcile(engine: Engine, crm: CrmConnector, objects: Sequence[str]) -> ReconcileReport:
    report = ReconcileReport()
    for object_name in objects:
        checked = 0
        gone: list[str] = []
        with engine.connect() as conn:
            pages = list(LedgerRepository(conn).iter_known_ids(object_name))
        for page in pages:
            ids = sorted({e.crm_id for e in page if e.crm_id})
            for chunk in batches(ids, RECONCILE_BATCH):
                present = set(records_by_ids(crm, object_name, [], chunk))
                checked += len(chunk)
                gone.extend(i for i in chunk if i not in present)
        merged = _merged_into(crm, object_name, gone) if gone else {}
        deleted = [i for i in gone if i not in merged]
        with engine.begin() as conn:
            ledger = LedgerRepository(conn)
            for old, survivor in merged.items():
                ledger.relink(object_name, old, survivor)
            ledger.forget_crm_ids(object_name, deleted)
        report.checked[object_name] = checked
        report.relinked[object_name] = sorted(merged.items())
        report.missing[object_name] = deleted
    return report


@dataclass(frozen=True)
class Housekeeping:
    """Periodic clean-up.  Intake bodies hold personal data, so they go after `keep_intake_bodies` (the
    IGNITE_INTAKE_RETENTION_DAYS setting) once delivered or discarded; a submission still pending keeps its
    body.  A quarantined one waits for staff: kept for good while `keep_quarantined` is None (the default),
    else purged and marked discarded after that (IGNITE_INTAKE_QUARANTINE_RETENTION_DAYS)."""

    # IGNITE_INTAKE_RETENTION_DAYS, required: its default lives in settings.py only.
    keep_intake_bodies: timedelta
    keep_succeeded_jobs: timedelta = timedelta(days=7)
    keep_runs: timedelta = timedelta(days=90)
    keep_quarantined: timedelta | None = None
    # Rows the CRM refused are sent again after an hour, then 2, 4, ... hours, at most daily (None: never;
    # `ignite-sync replay --rejected` still sends them at once).
    retry_rejected_after: timedelta | None = timedelta(hours=1)
    retry_rejected_at_most: timedelta = timedelta(hours=24)
    # The profile of the sync it queues for rejections due again, so that job coalesces with the others.
    profile: str | None = None

    def run(self, engine: Engine, now: datetime | None = None) -> dict[str, int]:
        now = now or utcnow()
        with engine.begin() as conn:
            jobs = JobRepository(conn)
            swept = jobs.sweep_expired_leases()
            purged = jobs.purge(now - self.keep_succeeded_jobs)
            runs = RunRepository(conn).purge(now - self.keep_runs)
            bodies = InboxRepository(conn).purge_bodies(
                older_than=self.keep_intake_bodies, now=now, quarantined_older_than=self.keep_quarantined
            )
            retried = 0
            if self.retry_rejected_after is not None:
                retried = LedgerRepository(conn).release_due_rejections(
                    now, self.retry_rejected_after, self.retry_rejected_at_most
                )
                if retried:
                    enqueue_incremental_sync(conn, "rejected rows due for another try", profile=self.profile)
        return {
            "expired_leases": swept,
            "purged_jobs": purged,
            "purged_runs": runs,
            "purged_intake_bodies": bodies,
            "rejected_rows_retried": retried,
        }
