"""The engine: run the planner step by step, send what it decided through a `CrmConnector`, record the results.

Steps run in the profile's dependency order; each step streams its candidate rows in chunks.  Per chunk the
engine reads the ledger entries and the parents' CRM Ids, asks the pure planner what to do, adopts existing
people instead of creating duplicates (match before create), applies the field update policies, sends the
rest in batches, and commits the ledger rows for the chunk.  A crash loses at most the chunk in flight, and
re-sending it is harmless because every write is an upsert on the record's key.

Two kinds of row go out as updates by Id rather than upserts on the key: adopted people, and rows whose
record staff merged into another (the survivor may not carry our key yet).  A campaign whose profile step
lists member statuses gets the missing ones right after it is written, before any member is.

Rows fail as values: a rejected row is written to the ledger with its code and message and the batch goes
on.  Rows that hit a transient error (UNABLE_TO_LOCK_ROW…) are re-sent a couple of times at once, and any
still failing make the run end with `Retry`, so the job comes back later.  Whole calls fail as exceptions
(`TransientCrmError` / `FatalCrmError`) and end the run; the ledger keeps every chunk committed before.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, Protocol

from sqlalchemy import Engine

from connector.base import CrmConnector, Disposition, FatalCrmError, RowResult
from connector.errors import classify
from connector.soql import soql_quote
from mappings.spec import MemberStatus
from mappings.transform import CrmWrite, fields_to_read, record_type_id, update_payload
from store.jobs import utcnow
from store.ledger import LedgerEntry, LedgerRepository
from store.runs import RunRepository
from sync.health import HealthReport, SyncHealth
from sync.plan import (
    Action,
    Candidate,
    ChunkPlan,
    Decision,
    batches,
    match_queries,
    parent_refs,
    pick_matches,
    plan_chunk,
)
from sync.relink import Relinker, fresh_among, keep_mark
from sync.worker import Interrupted, Retry

COUNT_NAMES = ("created", "updated", "matched", "unchanged", "rejected", "blocked", "invalid", "retry")


@dataclass(frozen=True)
class StepDef:
    """One step of a profile as the engine needs it (built from the mapping profile by `sync.profiles`)."""

    name: str
    object_name: str
    key_field: str
    parents: tuple[str, ...] = ()  # steps this one references
    match_field: str | None = None  # e.g. Email on Contact/Lead: adopt existing people before creating
    fingerprint: str = ""  # changes when the step's definition changes (forces payloads to be rebuilt)


class StepSource(Protocol):
    """Where a step's candidate rows come from (program records, or records derived from them)."""

    def total(self, engine: Engine) -> int | None:
        """How many rows the step covers (for progress bars); None if unknown."""
        ...

    def fresh_count(self, engine: Engine) -> int:
        """Rows known unchanged without building their payload (the ledger's fast path); 0 if not supported."""
        ...

    def candidates(self, engine: Engine, *, full: bool) -> Iterator[Candidate]:
        """Candidate rows in a stable order; on incremental runs the source may leave out known-fresh rows."""
        ...


@dataclass(frozen=True)
class PlannedStep:
    step: StepDef
    source: StepSource


@dataclass
class StepCounts:
    created: int = 0
    updated: int = 0
    matched: int = 0
    unchanged: int = 0
    rejected: int = 0
    blocked: int = 0
    invalid: int = 0
    retry: int = 0

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in COUNT_NAMES}

    def add(self, other: Mapping[str, int]) -> None:
        for name in COUNT_NAMES:
            setattr(self, name, getattr(self, name) + int(other.get(name, 0)))

    @property
    def done(self) -> int:
        return sum(self.as_dict().values())


@dataclass(frozen=True)
class Progress:
    """Reported after every chunk, so a caller can draw a bar per object (sync/ itself draws nothing)."""

    step: str
    object_name: str
    total: int | None
    done: int
    counts: dict[str, int]
    finished: bool = False


ProgressCallback = Callable[[Progress], None]


@dataclass
class SyncReport:
    mode: str
    dry_run: bool
    steps: dict[str, StepCounts] = field(default_factory=dict)
    objects: dict[str, str] = field(default_factory=dict)  # step -> CRM object
    api_calls: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    run_id: int | None = None
    status: str = "running"
    error: str | None = None
    health: HealthReport | None = None

    def by_object(self) -> dict[str, dict[str, int]]:
        out: dict[str, StepCounts] = {}
        for step, counts in self.steps.items():
            out.setdefault(self.objects[step], StepCounts()).add(counts.as_dict())
        return {name: c.as_dict() for name, c in out.items()}

    @property
    def total_api_calls(self) -> int:
        return sum(self.api_calls.values())

    @property
    def writes(self) -> int:
        return sum(n for kind, n in self.api_calls.items() if kind not in _READ_CALLS)

    @property
    def pending_retry(self) -> int:
        return sum(c.retry for c in self.steps.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "dry_run": self.dry_run,
            "status": self.status,
            "run_id": self.run_id,
            "seconds": round(self.seconds, 3),
            "objects": self.by_object(),
            "steps": {name: c.as_dict() for name, c in self.steps.items()},
            "api_calls": {"total": self.total_api_calls, **dict(sorted(self.api_calls.items()))},
            "error": self.error,
            "health": self.health.as_dict() if self.health is not None else None,
        }


_READ_CALLS = {"query", "query_more", "describe", "get", "limits"}


def _chunked(items: Iterator[Candidate], size: int) -> Iterator[list[Candidate]]:
    while chunk := list(islice(items, size)):
        yield chunk


@dataclass
class SyncEngine:
    engine: Engine
    crm: CrmConnector
    steps: Sequence[PlannedStep]
    profile: str = "default"
    chunk_size: int = 2000
    batch_size: int = 200
    row_retries: int = 2
    row_retry_pause: float = 0.05
    should_stop: Callable[[], bool] = field(default=lambda: False)
    # Issue and run records in the CRM for development staff (sync/health.py); None: not written.
    health: SyncHealth | None = None
    _describes: dict[str, dict[str, Any]] = field(default_factory=dict, init=False, repr=False)
    _record_types: dict[tuple[str, str], str] = field(default_factory=dict, init=False, repr=False)
    _relink: Relinker | None = field(default=None, init=False, repr=False)

    # -- the run --------------------------------------------------------------------------------------------

    def run(
        self,
        *,
        full: bool = False,
        dry_run: bool = False,
        only: Sequence[str] | None = None,
        progress: ProgressCallback | None = None,
        job_id: int | None = None,
        mode: str | None = None,
    ) -> SyncReport:
        """Sync every step (or the steps writing the objects/steps in `only`); returns what happened.

        Raises `Retry` when rows hit transient errors (the rest is recorded), `Interrupted` when asked to
        stop between chunks, and lets `TransientCrmError`/`FatalCrmError` of whole calls through.
        """
        mode = mode or ("full" if full else "incremental")
        selected = self._select(only)
        report = SyncReport(mode=mode, dry_run=dry_run)
        calls_before = dict(self.crm.counter.calls)
        started = time.monotonic()
        started_at = utcnow()
        if not dry_run:
            with self.engine.begin() as conn:
                report.run_id = RunRepository(conn).start(self.profile, mode, job_id)
        self._relink = None
        if not dry_run:
            # Children follow parents whose CRM Id changed (re-created, merged): sync/relink.py.
            self._relink = Relinker(self.engine, self.crm, [p.step for p in self.steps])
            self._relink.load()
        try:
            if self.health is not None and not dry_run:
                self.health.take_retry_requests()  # staff set Retry requested on an issue: send those rows now
            # Keys a dry run would create, so children planned after them are not reported as blocked.
            would_exist: dict[str, set[str]] = {}
            for planned in selected:
                report.objects[planned.step.name] = planned.step.object_name
                report.steps[planned.step.name] = self._run_step(planned, full, dry_run, progress, would_exist)
            if self._relink is not None and not report.pending_retry:
                self._relink.settle()
            problems = any(c.rejected or c.blocked or c.invalid for c in report.steps.values())
            report.status = "partial" if problems else "succeeded"
            if report.pending_retry:
                report.status = "retry"
            if self.health is not None and not dry_run:
                spent = self._calls_since(calls_before)
                report.health = self.health.record_run(
                    run_id=report.run_id,
                    mode=mode,
                    status=report.status,
                    started=started_at,
                    counts=report.by_object(),
                    wrote=any(kind not in _READ_CALLS for kind in spent),
                    calls_so_far=lambda: sum(self._calls_since(calls_before).values()),
                )
        except Interrupted as exc:
            report.status, report.error = "interrupted", str(exc)
            raise
        except Exception as exc:
            report.status, report.error = "failed", f"{type(exc).__name__}: {exc}"
            raise
        finally:
            report.seconds = time.monotonic() - started
            report.api_calls = self._calls_since(calls_before)
            if report.run_id is not None:
                with self.engine.begin() as conn:
                    RunRepository(conn).finish(
                        report.run_id,
                        report.status,
                        report.by_object(),
                        report.total_api_calls,
                        report.error,
                    )
        if report.pending_retry:
            raise Retry(f"{report.pending_retry} rows hit transient CRM errors; they will be sent again", report=report)
        return report

    def _calls_since(self, before: Mapping[str, int]) -> dict[str, int]:
        calls = self.crm.counter.calls
        return {kind: n - before.get(kind, 0) for kind, n in calls.items() if n - before.get(kind, 0)}

    def _select(self, only: Sequence[str] | None) -> list[PlannedStep]:
        if not only:
            return list(self.steps)
        wanted = {name.lower() for name in only}
        selected = [p for p in self.steps if p.step.name.lower() in wanted or p.step.object_name.lower() in wanted]
        if not selected:
            known = sorted({p.step.object_name for p in self.steps} | {p.step.name for p in self.steps})
            raise ValueError(f"--only {', '.join(only)}: no such object or step; known: {', '.join(known)}")
        return selected

    # -- one step -------------------------------------------------------------------------------------------

    def _run_step(
        self,
        planned: PlannedStep,
        full: bool,
        dry_run: bool,
        progress: ProgressCallback | None,
        would_exist: dict[str, set[str]],
    ) -> StepCounts:
        step, source = planned.step, planned.source
        counts = StepCounts()
        total = source.total(self.engine)
        if not full:
            counts.unchanged += source.fresh_count(self.engine)

        def report(finished: bool = False) -> None:
            if progress is not None:
                progress(Progress(step.name, step.object_name, total, counts.done, counts.as_dict(), finished))

        report()
        candidates = source.candidates(self.engine, full=full)
        if self._relink is not None:
            candidates, added = self._relink.candidates(step, source, candidates, full=full)
            if added:  # rows the source counted as unchanged now go through the planner
                counts.unchanged -= fresh_among(self.engine, step.name, step.fingerprint, added)
        for chunk in _chunked(candidates, self.chunk_size):
            if self.should_stop():
                raise Interrupted("shutdown requested")
            plan = self._plan(step, chunk, full, dry_run, would_exist)
            if dry_run:
                counts.add(self._dry_counts(step, plan, would_exist))
            else:
                counts.add(self._apply(step, plan))
            report()
        if self._relink is not None:
            self._relink.step_done(step.name)
        report(finished=True)
        return counts

    def _plan(
        self,
        step: StepDef,
        chunk: list[Candidate],
        full: bool,
        dry_run: bool,
        would_exist: dict[str, set[str]],
    ) -> ChunkPlan:
        with self.engine.connect() as conn:
            ledger = LedgerRepository(conn)
            entries = ledger.get_many(step.name, (c.key for c in chunk))
            available: dict[str, set[str]] = {}
            for parent_step, keys in parent_refs(chunk).items():
                available[parent_step] = set(ledger.crm_ids(parent_step, keys))
                if dry_run:
                    available[parent_step] |= keys & would_exist.get(parent_step, set())
        plan = plan_chunk(chunk, entries, available, full=full)
        if self._relink is not None:
            plan = self._relink.adjust(step, step.key_field, plan)
        return plan

    def _dry_counts(self, step: StepDef, plan: ChunkPlan, would_exist: dict[str, set[str]]) -> dict[str, int]:
        creates = plan.of(Action.CREATE)
        matched = self._find_matches(step, creates) if step.match_field else {}
        exist = would_exist.setdefault(step.name, set())
        exist.update(d.candidate.key for d in plan.to_send)
        raw = plan.counts()
        return {
            "created": len(creates) - len(matched),
            "matched": len(matched),
            "updated": raw.get("update", 0),
            "unchanged": raw.get("unchanged", 0),
            "rejected": raw.get("still_rejected", 0),
            "blocked": raw.get("blocked", 0),
            "invalid": raw.get("invalid", 0),
        }

    # -- applying a chunk -----------------------------------------------------------------------------------

    def _apply(self, step: StepDef, plan: ChunkPlan) -> dict[str, int]:
        counts: dict[str, int] = {}
        entries: list[LedgerEntry] = []

        def bump(name: str, n: int = 1) -> None:
            counts[name] = counts.get(name, 0) + n

        for d in plan.decisions:
            if d.action is Action.UNCHANGED:
                bump("unchanged")
                assert d.entry is not None
                if d.entry.source_hash != d.candidate.source_hash or d.entry.step_hash != step.fingerprint:
                    entries.append(self._entry(step, d, "synced", crm_id=d.crm_id, keep_error=False))
                    keep_mark(d.entry, entries[-1])
            elif d.action is Action.STILL_REJECTED:
                bump("rejected")
            elif d.action is Action.BLOCKED:
                bump("blocked")
                assert d.blocked_by is not None
                entries.append(
                    self._entry(
                        step,
                        d,
                        "blocked",
                        crm_id=d.crm_id,
                        error_code="BLOCKED_BY_PARENT",
                        error_message=f"not sent: parent {d.blocked_by.key} ({d.blocked_by.step}) is not in the CRM",
                        blocked_by=d.blocked_by.key,
                    )
                )
            elif d.action is Action.INVALID:
                bump("invalid")
                problem = d.candidate.problem
                entry = self._entry(
                    step, d, "invalid", crm_id=d.crm_id, error_code="INVALID_VALUE", error_message=problem
                )
                entries.append(entry)

        to_send = plan.to_send
        relinked = {d.candidate.key: d.crm_id for d in to_send if d.crm_id and d.entry and d.entry.status == "merged"}
        if relinked:
            conflicts = self._merge_conflicts(step, relinked)
            for d in to_send:
                if d.candidate.key in conflicts:
                    bump("rejected")
                    entry = self._entry(
                        step,
                        d,
                        "rejected",
                        crm_id=None,
                        error_code="MERGED_WITH_ANOTHER_RECORD",
                        error_message=conflicts[d.candidate.key],
                    )
                    entry.rejected_hash = d.payload_hash
                    entry.attempts = (d.entry.attempts if d.entry else 0) + 1  # the retry wait grows with it
                    entries.append(entry)
            to_send = [d for d in to_send if d.candidate.key not in conflicts]
            relinked = {key: crm_id for key, crm_id in relinked.items() if key not in conflicts}
        adopt: dict[str, str] = {}
        if step.match_field:
            adopt = self._find_matches(step, plan.of(Action.CREATE))
        existing_ids = {d.candidate.key: d.crm_id for d in to_send if d.crm_id is not None}
        existing_ids.update(adopt)
        current = self._current_values(step, to_send, existing_ids)
        by_id = {**relinked, **adopt}

        pending = list(to_send)
        for attempt in range(self.row_retries + 1):
            retry_rows: list[Decision] = []
            for batch in batches(pending, self.batch_size):
                sent = self._ensure_member_statuses(self._send(step, batch, existing_ids, by_id, current))
                if self._relink is not None:  # a record staff deleted was re-created from an update's fields
                    sent, survivors = self._relink.whole_again(
                        step,
                        step.key_field,
                        sent,
                        lambda d: (
                            self._payload_for(step, d, None, current),
                            self._payload_for(step, d, existing_ids.get(d.candidate.key), current),
                        ),
                        by_id,
                    )
                    if survivors:
                        sent = self._to_survivors(step, sent, survivors, existing_ids, by_id, current)
                blocked = [
                    (d, r)
                    for d, r in sent
                    if step.match_field
                    and r.error_code == "DUPLICATES_DETECTED"
                    and d.crm_id is None  # a create: an update the rule refuses is not another person's record
                    and d.candidate.key not in by_id
                ]
                if blocked:
                    # The org's duplicate rule found the person already there: adopt that record, as match before
                    # create does for the same email, and send the row to it by Id.
                    found = self._adopt_duplicates(step, blocked, taken=set(by_id.values()))
                    for key, crm_id in found.items():
                        by_id[key] = adopt[key] = existing_ids[key] = crm_id
                    again = [d for d, _ in blocked if d.candidate.key in found]
                    current.update(self._current_values(step, again, existing_ids))
                    resent = (
                        {id(d): r for d, r in self._send(step, again, existing_ids, by_id, current)} if again else {}
                    )
                    sent = [(d, resent.get(id(d), r)) for d, r in sent]
                for decision, result in sent:
                    outcome = self._outcome(step, decision, result, adopt)
                    if outcome is None:
                        retry_rows.append(decision)
                        continue
                    name, entry = outcome
                    bump(name)
                    entries.append(entry)
                    if self._relink is not None:
                        self._relink.note(step.name, decision, result, entry)
            pending = retry_rows
            if not pending:
                break
            if attempt < self.row_retries:
                time.sleep(self.row_retry_pause * (attempt + 1))
        if pending:
            bump("retry", len(pending))
        with self.engine.begin() as conn:
            LedgerRepository(conn).write(entries)
        return counts

    def _send(
        self,
        step: StepDef,
        batch: Sequence[Decision],
        existing_ids: Mapping[str, str],
        send_by_id: Mapping[str, str],
        current: Mapping[str, Mapping[str, Any]],
    ) -> list[tuple[Decision, RowResult]]:
        """Adopted rows and rows whose record staff merged into another go out as updates by Id (the record
        they go to may not carry our key yet); the rest as upserts on the key."""
        by_id: list[tuple[Decision, dict[str, Any]]] = []
        by_key: list[tuple[Decision, dict[str, Any]]] = []
        for d in batch:
            payload = self._payload_for(step, d, existing_ids.get(d.candidate.key), current)
            if d.candidate.key in send_by_id:
                by_id.append((d, {"Id": send_by_id[d.candidate.key], **payload}))
            else:
                by_key.append((d, payload))
        out: list[tuple[Decision, RowResult]] = []
        if by_key:
            results = self.crm.upsert(step.object_name, step.key_field, [p for _, p in by_key])
            out.extend(zip([d for d, _ in by_key], results, strict=True))
        if by_id:
            results = self.crm.update(step.object_name, [p for _, p in by_id])
            out.extend(zip([d for d, _ in by_id], results, strict=True))
        return out

    def _to_survivors(
        self,
        step: StepDef,
        sent: list[tuple[Decision, RowResult]],
        survivors: Mapping[str, str],
        existing_ids: dict[str, str],
        by_id: dict[str, str],
        current: dict[str, dict[str, Any]],
    ) -> list[tuple[Decision, RowResult]]:
        """Rows whose record staff merged away before the reconcile saw it: written to the survivor by Id, as
        the reconcile would have had them (unless the survivor is another Ignite record's)."""
        conflicts = self._merge_conflicts(step, survivors)
        failed = {k: RowResult(False, error_code="MERGED_WITH_ANOTHER_RECORD", message=m) for k, m in conflicts.items()}
        for key, survivor in survivors.items():
            if key not in conflicts:
                by_id[key] = existing_ids[key] = survivor
        again = [d for d, _ in sent if d.candidate.key in survivors and d.candidate.key not in conflicts]
        current.update(self._current_values(step, again, existing_ids))
        resent = {id(d): r for d, r in self._send(step, again, existing_ids, by_id, current)} if again else {}
        return [(d, resent.get(id(d)) or failed.get(d.candidate.key) or r) for d, r in sent]

    def _keys_of(self, step: StepDef, ids: set[str]) -> dict[str, str | None]:
        """{CRM Id: the Ignite key it carries, or None}, read 200 Ids per query; Ids the CRM no longer has are
        absent."""
        keys: dict[str, str | None] = {}
        for chunk in batches(sorted(ids), 200):
            id_list = ", ".join(soql_quote(i) for i in chunk)
            soql = f"SELECT Id, {step.key_field} FROM {step.object_name} WHERE Id IN ({id_list})"
            for page in self.crm.query(soql):
                for row in page.records:
                    keys[str(row["Id"])] = row.get(step.key_field) or None
        return keys

    def _adopt_duplicates(
        self, step: StepDef, blocked: Sequence[tuple[Decision, RowResult]], *, taken: set[str]
    ) -> dict[str, str]:
        """{record key: CRM Id} for rows a duplicate rule blocked where exactly one matched record carries no
        Ignite key yet.  A match that is already another Ignite record's (keyed in the CRM, or in `taken`: the
        Ids this chunk already sends other rows to), or several candidates, is left for a person: the row stays
        rejected with the rule's message."""
        keyed = self._keys_of(step, {i for _, r in blocked for i in r.matched_ids})
        found: dict[str, str] = {}
        taken = set(taken)
        for d, result in blocked:
            # one Id per record, however many of the org's matching rules named it
            free = [i for i in dict.fromkeys(result.matched_ids) if i in keyed and keyed[i] is None and i not in taken]
            if len(free) == 1:
                found[d.candidate.key] = free[0]
                taken.add(free[0])  # one CRM record is adopted by one of our records only
        return found

    def _merge_conflicts(self, step: StepDef, relinked: Mapping[str, str]) -> dict[str, str]:
        """{record key: why it must not be written} for merged rows whose survivor is another record's.

        Writing our key onto a survivor that already carries another of our keys would take that record's
        place, and its next upsert would create it again; two records merged into one survivor would take
        turns.  The survivor keeps the key it has (or, when it has none, the first merged record's); the
        others are reported, for a person to merge them in Ignite's data too (or undo the merge).
        """
        holder = self._keys_of(step, set(relinked.values()))
        conflicts: dict[str, str] = {}
        for key, survivor in sorted(relinked.items()):
            owner = holder.get(survivor)
            if owner is None:
                holder[survivor] = key  # first come: this record's key goes onto the survivor
            elif owner != key:
                conflicts[key] = (
                    f"staff merged this record's CRM record into {survivor}, which is {owner}'s: two Ignite "
                    f"records now share one CRM record; merge them in Ignite's data too, or undo the merge"
                )
        return conflicts

    def _ensure_member_statuses(self, sent: list[tuple[Decision, RowResult]]) -> list[tuple[Decision, RowResult]]:
        """Give the campaigns just written the member statuses the profile says they need, before any member.

        A CampaignMember's Status must be one of its campaign's CampaignMemberStatus labels.  For one batch of
        campaigns: one query reads the statuses they have, one create call (per 200) adds the missing ones.
        Statuses staff changed or added are left alone.  A campaign whose statuses could not be made fails as
        a row (its members then wait for it); an unchanged campaign is not sent, so it costs nothing.
        """
        wanted: dict[str, tuple[MemberStatus, ...]] = {}
        for d, result in sent:
            write = d.candidate.write
            if result.success and result.id and isinstance(write, CrmWrite) and write.member_statuses:
                wanted[result.id] = write.member_statuses
        if not wanted:
            return sent
        have: dict[str, set[str]] = {campaign: set() for campaign in wanted}
        id_list = ", ".join(soql_quote(i) for i in sorted(wanted))
        for page in self.crm.query(
            f"SELECT CampaignId, Label FROM CampaignMemberStatus WHERE CampaignId IN ({id_list})"
        ):
            for row in page.records:
                have.setdefault(str(row["CampaignId"]), set()).add(str(row["Label"]).casefold())
        missing = [
            (campaign, status)
            for campaign, statuses in sorted(wanted.items())
            for status in statuses
            if status.label.casefold() not in have[campaign]
        ]
        if not missing:
            return sent
        rows = [
            {"CampaignId": campaign, "Label": s.label, "IsDefault": s.default, "HasResponded": s.responded}
            for campaign, s in missing
        ]
        failed: dict[str, RowResult] = {}
        for (campaign, status), result in zip(missing, self.crm.create("CampaignMemberStatus", rows), strict=True):
            if not result.success and campaign not in failed:
                failed[campaign] = RowResult(
                    False,
                    id=campaign,
                    error_code=result.error_code,
                    message=f"the campaign's member status {status.label!r} could not be created: {result.message}",
                    fields=result.fields,
                )
        if not failed:
            return sent
        return [(d, failed.get(r.id or "", r) if r.success else r) for d, r in sent]

    def _payload_for(
        self,
        step: StepDef,
        d: Decision,
        crm_id: str | None,
        current: Mapping[str, Mapping[str, Any]],
    ) -> dict[str, Any]:
        """A new record gets every field; an existing one only what the update policies let the sync own."""
        assert d.candidate.payload is not None
        write = d.candidate.write
        if crm_id is None:
            payload = dict(d.candidate.payload)
            if isinstance(write, CrmWrite) and write.record_type:
                payload["RecordTypeId"] = self._record_type_id(step.object_name, write.record_type)
        elif isinstance(write, CrmWrite):
            payload = update_payload(write, current.get(d.candidate.key, {}))
            for name in d.relink:  # a lookup whose parent was re-created: sent whatever its policy
                payload[name] = d.candidate.payload[name]
        else:
            payload = dict(d.candidate.payload)
        payload[step.key_field] = d.candidate.key
        return payload

    def _record_type_id(self, object_name: str, developer_name: str) -> str:
        """The org's own RecordType row first (Ids differ per org), the describe's recordTypeInfos second."""
        cache_key = (object_name, developer_name)
        if cache_key not in self._record_types:
            soql = (
                f"SELECT Id FROM RecordType WHERE SobjectType = {soql_quote(object_name)} "
                f"AND DeveloperName = {soql_quote(developer_name)} AND IsActive = true"
            )
            try:
                rows = [r for page in self.crm.query(soql) for r in page.records]
            except FatalCrmError:
                rows = []  # an org (or double) that does not expose RecordType: the describe decides
            if rows:
                self._record_types[cache_key] = str(rows[0]["Id"])
            else:
                describe = self._describes.get(object_name)
                if describe is None:
                    describe = self._describes[object_name] = self.crm.describe(object_name)
                try:
                    self._record_types[cache_key] = record_type_id(describe, developer_name)
                except LookupError as exc:
                    message = f"{exc}: create it in the CRM or change the profile"
                    raise FatalCrmError(message, code="INVALID_TYPE") from None
        return self._record_types[cache_key]

    def _outcome(
        self, step: StepDef, d: Decision, result: RowResult, adopt: Mapping[str, str]
    ) -> tuple[str, LedgerEntry] | None:
        if result.success:
            adopted = d.candidate.key in adopt
            name = "matched" if adopted else "created" if result.created else "updated"
            entry = self._entry(step, d, "synced", crm_id=result.id or d.crm_id, keep_error=False)
            entry.payload_hash = d.payload_hash
            entry.attempts = 0
            return name, entry
        disposition = classify(error_code=result.error_code)
        if disposition is Disposition.RETRY:
            return None
        message = result.message or ""
        if result.fields:
            message = f"{message} (fields: {', '.join(result.fields)})"
        entry = self._entry(
            step, d, "rejected", crm_id=d.crm_id, error_code=result.error_code or "UNKNOWN", error_message=message
        )
        entry.rejected_hash = d.payload_hash
        entry.attempts = (d.entry.attempts if d.entry else 0) + 1
        return "rejected", entry

    def _entry(
        self,
        step: StepDef,
        d: Decision,
        status: str,
        *,
        crm_id: str | None,
        error_code: str | None = None,
        error_message: str | None = None,
        blocked_by: str | None = None,
        keep_error: bool = True,
    ) -> LedgerEntry:
        previous = d.entry
        return LedgerEntry(
            record_key=d.candidate.key,
            step=step.name,
            object_name=step.object_name,
            status=status,
            crm_id=crm_id,
            source_key=d.candidate.source_key or d.candidate.key,
            source_hash=d.candidate.source_hash if status == "synced" else None,
            step_hash=step.fingerprint if status == "synced" else None,
            payload_hash=previous.payload_hash if previous else None,
            rejected_hash=previous.rejected_hash if previous and keep_error else None,
            error_code=error_code,
            error_message=error_message,
            blocked_by=blocked_by,
            attempts=previous.attempts if previous else 0,
            synced_at=utcnow() if status == "synced" else (previous.synced_at if previous else None),
        )

    # -- reads that shape the writes --------------------------------------------------------------------------

    def _find_matches(self, step: StepDef, creates: Sequence[Decision]) -> dict[str, str]:
        """{record key: CRM Id} of existing, unkeyed CRM records with the same normalised email."""
        assert step.match_field is not None
        by_value: dict[str, list[str]] = {}
        for d in creates:
            value = d.candidate.match_value
            if value:
                by_value.setdefault(value, []).append(d.candidate.key)
        if not by_value:
            return {}
        rows: list[Mapping[str, Any]] = []
        for soql in match_queries(step.object_name, step.match_field, step.key_field, by_value):
            for page in self.crm.query(soql):
                rows.extend(page.records)
        matches = pick_matches(rows, step.match_field, step.key_field)
        adopted: dict[str, str] = {}
        for value, crm_id in matches.items():
            keys = by_value.get(value, [])
            if keys:
                adopted[keys[0]] = crm_id  # one CRM record is adopted by one of our records only
        return adopted

    def _current_values(
        self, step: StepDef, rows: Sequence[Decision], existing_ids: Mapping[str, str]
    ) -> dict[str, dict[str, Any]]:
        """{record key: CRM values of its `if_blank` fields}, read in batches of 200 Ids (only when needed)."""
        wanted: set[str] = set()
        key_by_id: dict[str, str] = {}
        for d in rows:
            crm_id = existing_ids.get(d.candidate.key)
            if crm_id is None or not isinstance(d.candidate.write, CrmWrite):
                continue
            fields = fields_to_read(d.candidate.write)
            if fields:
                wanted.update(fields)
                key_by_id[crm_id] = d.candidate.key
        if not wanted:
            return {}
        columns = ", ".join(sorted(wanted))
        current: dict[str, dict[str, Any]] = {}
        for chunk in batches(sorted(key_by_id), 200):
            id_list = ", ".join(soql_quote(i) for i in chunk)
            soql = f"SELECT Id, {columns} FROM {step.object_name} WHERE Id IN ({id_list})"
            for page in self.crm.query(soql):
                for row in page.records:
                    key = key_by_id.get(str(row.get("Id")))
                    if key is not None:
                        current[key] = dict(row)
        return current
