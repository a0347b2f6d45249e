"""The issue records written to the CRM (sync.health): what each last said, so unchanged ones are not rewritten.

Never commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select, tuple_, update

from store.conflicts import insert_for
from store.jobs import utcnow
from store.jobs_tables import sync_issues

CHUNK = 400


@dataclass(frozen=True)
class WrittenIssue:
    record_key: str
    step: str
    issue_key: str
    status: str  # open · resolved
    payload_hash: str
    first_seen: datetime


class IssueRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def all(self) -> dict[tuple[str, str], WrittenIssue]:
        """Every issue written, by (record key, step): one read per run, only of this small table."""
        rows = self.connection.execute(select(sync_issues)).all()
        return {
            (r.record_key, r.step): WrittenIssue(
                r.record_key, r.step, r.issue_key, r.status, r.payload_hash, r.first_seen
            )
            for r in rows
        }

    def any_open(self) -> bool:
        query = select(sync_issues.c.record_key).where(sync_issues.c.status == "open").limit(1)
        return self.connection.execute(query).first() is not None

    def by_issue_keys(self, issue_keys: Iterable[str]) -> list[WrittenIssue]:
        keys = sorted(set(issue_keys))
        found: list[WrittenIssue] = []
        for start in range(0, len(keys), CHUNK):
            query = select(sync_issues).where(sync_issues.c.issue_key.in_(keys[start : start + CHUNK]))
            found += [
                WrittenIssue(r.record_key, r.step, r.issue_key, r.status, r.payload_hash, r.first_seen)
                for r in self.connection.execute(query)
            ]
        return found

    def save(self, issues: Sequence[WrittenIssue]) -> None:
        if not issues:
            return
        now = utcnow()
        rows = [{**issue.__dict__, "updated_at": now} for issue in issues]
        insert = insert_for(self.connection)
        for start in range(0, len(rows), CHUNK):
            stmt = insert(sync_issues)
            updates = {c.name: stmt.excluded[c.name] for c in sync_issues.columns if not c.primary_key}
            upsert = stmt.on_conflict_do_update(index_elements=["record_key", "step"], set_=updates)
            self.connection.execute(upsert, rows[start : start + CHUNK])

    def forget_hashes(self, pairs: Sequence[tuple[str, str]]) -> None:
        """Make these issues be written again by the next run whatever they say (staff changed their Status).

        They count as open again, so one whose row has landed meanwhile is written back as Resolved rather than
        left saying Retry requested.
        """
        for start in range(0, len(pairs), CHUNK):
            self.connection.execute(
                update(sync_issues)
                .where(tuple_(sync_issues.c.record_key, sync_issues.c.step).in_(list(pairs[start : start + CHUNK])))
                .values(payload_hash="", status="open", updated_at=utcnow())
            )
