"""Run history: one row per sync run, so `status` can show what happened, how long it took and what it cost."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select, update

from store.jobs import utcnow
from store.jobs_tables import sync_runs


@dataclass(frozen=True)
class RunRecord:
    id: int
    job_id: int | None
    profile: str
    mode: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    counts: dict[str, dict[str, int]]
    api_calls: int
    error: str | None

    @property
    def seconds(self) -> float | None:
        return (self.finished_at - self.started_at).total_seconds() if self.finished_at else None

    @classmethod
    def from_row(cls, row: Any) -> RunRecord:
        m = row._mapping
        return cls(**{name: m[name] for name in cls.__dataclass_fields__})


class RunRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def start(self, profile: str, mode: str, job_id: int | None = None) -> int:
        result = self.connection.execute(
            sync_runs.insert()
            .values(
                job_id=job_id,
                profile=profile,
                mode=mode,
                status="running",
                started_at=utcnow(),
                counts={},
                api_calls=0,
            )
            .returning(sync_runs.c.id)
        )
        return int(result.scalar_one())

    def finish(
        self,
        run_id: int,
        status: str,
        counts: dict[str, dict[str, int]],
        api_calls: int,
        error: str | None = None,
    ) -> None:
        self.connection.execute(
            update(sync_runs)
            .where(sync_runs.c.id == run_id)
            .values(status=status, counts=counts, api_calls=api_calls, error=error, finished_at=utcnow())
        )

    def recent(self, limit: int = 10) -> list[RunRecord]:
        query = select(sync_runs).order_by(sync_runs.c.id.desc()).limit(limit)
        return [RunRecord.from_row(row) for row in self.connection.execute(query)]

    def last_finished(self) -> dict[str, datetime]:
        """{run status: when the latest run with that status finished}, for monitoring."""
        query = (
            select(sync_runs.c.status, func.max(sync_runs.c.finished_at))
            .where(sync_runs.c.finished_at.is_not(None))
            .group_by(sync_runs.c.status)
        )
        return {status: at for status, at in self.connection.execute(query) if at is not None}

    def purge(self, started_before: datetime) -> int:
        stmt = sync_runs.delete().where(sync_runs.c.started_at < started_before, sync_runs.c.status != "running")
        return int(self.connection.execute(stmt).rowcount)
