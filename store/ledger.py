"""The sync ledger: what the CRM holds for each (record key, profile step), and what it refused.

The engine reads it to diff (send only changed payloads) and to resolve parents (a child waits for its
parent's CRM Id); it writes one row per sent, matched, rejected or blocked record.  Never commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, func, or_, select, tuple_, update

from store.conflicts import insert_for
from store.jobs import utcnow
from store.jobs_tables import sync_ledger
from store.records import RecordKind

STATUSES = ("synced", "rejected", "blocked", "invalid", "missing", "merged")
# On a synced row: its CRM Id changed (re-created or merged) and the records looking it up may still point at
# the old one; cleared once a run has re-linked them (sync.relink).
ID_CHANGED = "CRM_ID_CHANGED"
# Rows per statement when reading or writing many keys: well under SQLite's bound-parameter limit.
CHUNK = 500


@dataclass
class LedgerEntry:
    record_key: str
    step: str
    object_name: str
    status: str
    crm_id: str | None = None
    source_key: str | None = None
    source_hash: str | None = None
    step_hash: str | None = None
    payload_hash: str | None = None
    rejected_hash: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    blocked_by: str | None = None
    attempts: int = 0
    synced_at: datetime | None = None

    @classmethod
    def from_row(cls, row: Any) -> LedgerEntry:
        m = row._mapping
        return cls(**{name: m[name] for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class ErrorGroup:
    object_name: str
    status: str
    error_code: str | None
    count: int
    sample_keys: tuple[str, ...]
    sample_message: str | None


def _chunks(items: Sequence[str], size: int = CHUNK) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class LedgerRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def get_many(self, step: str, keys: Iterable[str]) -> dict[str, LedgerEntry]:
        found: dict[str, LedgerEntry] = {}
        for chunk in _chunks(sorted(set(keys))):
            query = select(sync_ledger).where(sync_ledger.c.step == step, sync_ledger.c.record_key.in_(chunk))
            for row in self.connection.execute(query):
                entry = LedgerEntry.from_row(row)
                found[entry.record_key] = entry
        return found

    def crm_ids(self, step: str, keys: Iterable[str]) -> dict[str, str]:
        """The CRM Ids known for these keys of one step (records the CRM holds, whatever their last update did)."""
        found: dict[str, str] = {}
        for chunk in _chunks(sorted(set(keys))):
            query = select(sync_ledger.c.record_key, sync_ledger.c.crm_id).where(
                sync_ledger.c.step == step, sync_ledger.c.record_key.in_(chunk), sync_ledger.c.crm_id.is_not(None)
            )
            for key, crm_id in self.connection.execute(query):
                found[key] = crm_id
        return found

    def write(self, entries: Sequence[LedgerEntry]) -> None:
        """Insert or replace whole entries (one statement per chunk)."""
        if not entries:
            return
        now = utcnow()
        names = tuple(LedgerEntry.__dataclass_fields__)
        # a flat field copy: dataclasses.asdict deep-copies every value and was a fifth of a sync's time
        rows = [{**{name: getattr(e, name) for name in names}, "updated_at": now} for e in entries]
        insert = insert_for(self.connection)
        for start in range(0, len(rows), CHUNK):
            stmt = insert(sync_ledger)
            updates = {c.name: stmt.excluded[c.name] for c in sync_ledger.columns if not c.primary_key}
            self.connection.execute(
                stmt.on_conflict_do_update(index_elements=["record_key", "step"], set_=updates),
                rows[start : start + CHUNK],
            )

    @staticmethod
    def _fresh(kind: RecordKind, step_hash: str, not_before: datetime | None) -> ColumnElement[bool]:
        table = kind.table
        fresh = and_(
            sync_ledger.c.status == "synced",
            sync_ledger.c.source_hash == table.c.payload_hash,
            sync_ledger.c.step_hash == step_hash,
        )
        if not_before is not None:
            fresh = and_(fresh, sync_ledger.c.synced_at >= not_before)
        return fresh

    def stale_records(
        self,
        kind: RecordKind,
        step: str,
        step_hash: str,
        *,
        not_before: datetime | None = None,
        after: str | None = None,
        limit: int = 1000,
    ) -> list[Any]:
        """One page (key order, keys after `after`) of records of `kind` whose row for `step` may have changed.

        A record is fresh when the ledger holds it as synced from the same record hash and step definition
        (and, with `not_before`, synced after the related records it reads last changed).  This is the fast
        path of an unchanged resync: an indexed anti-join instead of building and hashing every payload.
        """
        table = kind.table
        join = table.outerjoin(sync_ledger, and_(sync_ledger.c.source_key == table.c.key, sync_ledger.c.step == step))
        query = (
            select(table)
            .select_from(join)
            .where(or_(sync_ledger.c.record_key.is_(None), ~self._fresh(kind, step_hash, not_before)))
            .order_by(table.c.key)
            .limit(limit)
        )
        if after is not None:
            query = query.where(table.c.key > after)
        return list(self.connection.execute(query).all())

    def count_fresh(self, kind: RecordKind, step: str, step_hash: str, *, not_before: datetime | None = None) -> int:
        table = kind.table
        query = (
            select(func.count())
            .select_from(table.join(sync_ledger, sync_ledger.c.source_key == table.c.key))
            .where(sync_ledger.c.step == step, self._fresh(kind, step_hash, not_before))
        )
        return int(self.connection.execute(query).scalar_one())

    # -- status and replay ---------------------------------------------------------------------------------

    def counts(self) -> dict[str, dict[str, int]]:
        """{object: {status: n}}."""
        query = select(sync_ledger.c.object_name, sync_ledger.c.status, func.count()).group_by(
            sync_ledger.c.object_name, sync_ledger.c.status
        )
        out: dict[str, dict[str, int]] = {}
        for object_name, status, n in self.connection.execute(query):
            out.setdefault(object_name, {})[status] = int(n)
        return out

    def counts_by_step(self) -> dict[tuple[str, str], dict[str, int]]:
        """{(step, object): {status: n}}: what `status` needs to tell records from fields added to them."""
        query = select(sync_ledger.c.step, sync_ledger.c.object_name, sync_ledger.c.status, func.count()).group_by(
            sync_ledger.c.step, sync_ledger.c.object_name, sync_ledger.c.status
        )
        out: dict[tuple[str, str], dict[str, int]] = {}
        for step, object_name, status, n in self.connection.execute(query):
            out.setdefault((step, object_name), {})[status] = int(n)
        return out

    def error_groups(self, limit: int = 10, samples: int = 5) -> list[ErrorGroup]:
        """The most frequent rejection and block reasons, each with a few source keys behind it."""
        problem = sync_ledger.c.status.in_(("rejected", "blocked", "invalid"))
        code = func.coalesce(sync_ledger.c.error_code, "")
        query = (
            select(sync_ledger.c.object_name, sync_ledger.c.status, code.label("code"), func.count().label("n"))
            .where(problem)
            .group_by(sync_ledger.c.object_name, sync_ledger.c.status, code)
            .order_by(func.count().desc(), sync_ledger.c.object_name)
            .limit(limit)
        )
        groups = []
        for object_name, status, error_code, n in self.connection.execute(query).all():
            sample_rows = self.connection.execute(
                select(sync_ledger.c.record_key, sync_ledger.c.error_message)
                .where(
                    sync_ledger.c.object_name == object_name,
                    sync_ledger.c.status == status,
                    code == error_code,
                )
                .order_by(sync_ledger.c.record_key)
                .limit(samples)
            ).all()
            groups.append(
                ErrorGroup(
                    object_name=object_name,
                    status=status,
                    error_code=error_code or None,
                    count=int(n),
                    sample_keys=tuple(r.record_key for r in sample_rows),
                    sample_message=sample_rows[0].error_message if sample_rows else None,
                )
            )
        return groups

    def entries(self, status: str, *, object_name: str | None = None, limit: int = 100) -> list[LedgerEntry]:
        query = select(sync_ledger).where(sync_ledger.c.status == status)
        if object_name is not None:
            query = query.where(sync_ledger.c.object_name == object_name)
        query = query.order_by(sync_ledger.c.object_name, sync_ledger.c.record_key).limit(limit)
        return [LedgerEntry.from_row(row) for row in self.connection.execute(query)]

    def replay_rejected(self, object_name: str | None = None) -> int:
        """Forget which payloads were refused, so the next sync sends them again (after the cause is fixed)."""
        stmt = (
            update(sync_ledger)
            .where(sync_ledger.c.status.in_(("rejected", "invalid")))
            .values(rejected_hash=None, source_hash=None, updated_at=utcnow())
        )
        if object_name is not None:
            stmt = stmt.where(sync_ledger.c.object_name == object_name)
        return int(self.connection.execute(stmt).rowcount)

    def release(self, pairs: Sequence[tuple[str, str]]) -> int:
        """Send these (record key, step) rows again on this run, whatever their backoff (staff asked for it)."""
        led = sync_ledger.c
        total = 0
        for start in range(0, len(pairs), CHUNK):
            total += int(
                self.connection.execute(
                    update(sync_ledger)
                    .where(
                        tuple_(led.record_key, led.step).in_(list(pairs[start : start + CHUNK])),
                        led.status.in_(("rejected", "invalid", "blocked")),
                    )
                    .values(rejected_hash=None, source_hash=None, updated_at=utcnow())
                ).rowcount
            )
        return total

    def release_due_rejections(self, now: datetime, first_wait: timedelta, longest_wait: timedelta) -> int:
        """Let rows the CRM refused be sent again once their wait is over; returns how many were let go.

        A refusal is often fixed in the CRM, not in the data (an admin adds the picklist value, relaxes a
        validation rule, merges the duplicate), and nobody tells the sync.  So a refused row is retried after
        `first_wait`, then after twice that after each further refusal, never waiting longer than
        `longest_wait`: a fixed cause heals on its own within a day, and a lasting one costs one call a day.
        `attempts` counts the consecutive refusals (a success resets it).
        """
        led = sync_ledger.c
        rows = self.connection.execute(
            select(led.record_key, led.step, led.attempts, led.updated_at).where(
                led.status == "rejected", led.rejected_hash.is_not(None), led.updated_at <= now - first_wait
            )
        ).all()
        due = [
            (key, step)
            for key, step, attempts, at in rows
            if at <= now - min(first_wait * 2 ** min(max(attempts - 1, 0), 20), longest_wait)
        ]
        for chunk in _chunks(due):  # type: ignore[arg-type]
            self.connection.execute(
                update(sync_ledger)
                .where(tuple_(led.record_key, led.step).in_(list(chunk)))
                .values(rejected_hash=None, source_hash=None, updated_at=now)
            )
        return len(due)

    def iter_known_ids(self, object_name: str, batch_size: int = 1000) -> Iterator[list[LedgerEntry]]:
        """Pages of entries holding a CRM Id for one object (the reconcile re-reads them)."""
        last: tuple[str, str] | None = None
        while True:
            query = select(sync_ledger).where(
                sync_ledger.c.object_name == object_name, sync_ledger.c.crm_id.is_not(None)
            )
            if last is not None:
                query = query.where(
                    or_(
                        sync_ledger.c.record_key > last[0],
                        and_(sync_ledger.c.record_key == last[0], sync_ledger.c.step > last[1]),
                    )
                )
            page = [
                LedgerEntry.from_row(r)
                for r in self.connection.execute(
                    query.order_by(sync_ledger.c.record_key, sync_ledger.c.step).limit(batch_size)
                )
            ]
            if not page:
                return
            yield page
            last = (page[-1].record_key, page[-1].step)

    def forget_crm_ids(self, object_name: str, crm_ids: Sequence[str]) -> int:
        """The CRM no longer has these records (deleted or merged away): make the next sync send them again."""
        total = 0
        for chunk in _chunks(list(crm_ids)):
            total += int(
                self.connection.execute(
                    update(sync_ledger)
                    .where(sync_ledger.c.object_name == object_name, sync_ledger.c.crm_id.in_(chunk))
                    .values(
                        crm_id=None,
                        status="missing",
                        source_hash=None,
                        payload_hash=None,
                        error_code="CRM_RECORD_MISSING",
                        error_message="the CRM no longer has this record (deleted or merged); it will be sent again",
                        updated_at=utcnow(),
                    )
                ).rowcount
            )
        return total

    def relink(self, object_name: str, old_id: str, new_id: str) -> int:
        """Staff merged a record into another: point our entries at the survivor and have the next sync write
        to it by Id (status "merged").  The survivor may not carry our key yet, and an upsert on the key
        would then create the merged-away record again; the write by Id puts the key on the survivor."""
        return int(
            self.connection.execute(
                update(sync_ledger)
                .where(sync_ledger.c.object_name == object_name, sync_ledger.c.crm_id == old_id)
                .values(
                    crm_id=new_id,
                    status="merged",
                    source_hash=None,
                    payload_hash=None,
                    error_code="CRM_RECORD_MERGED",
                    error_message=f"staff merged CRM record {old_id} into {new_id}; the next sync writes to {new_id}",
                    updated_at=utcnow(),
                )
            ).rowcount
        )

    def id_changes(self) -> dict[str, dict[str, str]]:
        """{step: {record key: CRM Id}} of synced rows whose Id changed and whose children are not re-linked yet."""
        query = select(sync_ledger.c.step, sync_ledger.c.record_key, sync_ledger.c.crm_id).where(
            sync_ledger.c.status == "synced", sync_ledger.c.error_code == ID_CHANGED
        )
        found: dict[str, dict[str, str]] = {}
        for step, key, crm_id in self.connection.execute(query):
            if crm_id:
                found.setdefault(step, {})[key] = crm_id
        return found

    def settle_id_changes(self, step: str, keys: Iterable[str]) -> int:
        """The children of these rows now point at their new Ids: drop the marks."""
        total = 0
        for chunk in _chunks(sorted(set(keys))):
            total += int(
                self.connection.execute(
                    update(sync_ledger)
                    .where(
                        sync_ledger.c.step == step,
                        sync_ledger.c.record_key.in_(chunk),
                        sync_ledger.c.error_code == ID_CHANGED,
                    )
                    .values(error_code=None, error_message=None)
                ).rowcount
            )
        return total
