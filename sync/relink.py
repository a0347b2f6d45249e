"""Children follow a parent whose CRM Id changed: re-linked in the run that saw the change.

Staff delete a Contact and the sync re-creates it, or merge it into another: the Contact's Id changes.  The
records that look it up (engagements, deliveries, campaign members, attendance…) do not change in Ignite's
data, so their payloads hash the same and the planner would leave them alone; their lookups are often mapped
`update: never` too.  The lookup policy protects staff's choice of a live value; a reference to a deleted
record is nobody's choice, so this module overrides it:

1. **Noticing.**  A row's Id changed when the CRM answers with another Id than the ledger held (an upsert that
   found the record gone and created it), or the row was `missing` (the reconcile saw it deleted) or `merged`.
   The ledger row is marked (`CRM_ID_CHANGED`) in the same commit, so a crash or an `--only` run leaves the
   work for the next run; the mark is dropped once every step that looks the row up has run.
2. **Finding the children.**  The profile's lookup graph says which steps reference the parent step; their
   candidate rows say which parent keys they reference (`ParentRef`).  A full run sees every row anyway; an
   incremental one asks the step's source for the rows referencing the changed keys (`referencing`), with a
   scan of the step's rows as the fallback.  Nothing is searched for in the CRM.
3. **Deciding.**  One query per 200 children reads their lookup fields from the CRM:
   - the child is gone (deleted along, or by staff before the parent, as PMM's restrict makes them) → it is
     created again, whole, and its own Id change carries on to its children;
   - it already points at the new Id (a merge moved it) → nothing is written;
   - otherwise the stale lookups are sent with the row's usual update, whatever their policy; a lookup the
     org does not let an update change (master-detail, a campaign member's ContactId) makes the child be
     deleted and created again instead.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import Engine

from connector.base import CrmConnector, CrmError, RowResult
from connector.ids import to_18
from connector.reader import records_by_ids
from store.ledger import ID_CHANGED, LedgerEntry, LedgerRepository
from sync.plan import Action, Candidate, ChunkPlan, Decision, batches

Changed = dict[str, dict[str, str]]  # parent step -> {record key: its new CRM Id}


class _Source(Protocol):
    def candidates(self, engine: Engine, *, full: bool) -> Iterator[Candidate]: ...


def references_changed(candidate: Candidate, changed: Mapping[str, Mapping[str, str]]) -> bool:
    return any(p.key in changed.get(p.step, {}) for p in candidate.parents)


def _same_id(a: Any, b: str) -> bool:
    """One record's Id, in 15 or 18 characters (checked on every written row: the equal case is fast)."""
    if a == b:
        return True
    if not isinstance(a, str) or not a or len(a) == len(b):
        return False
    try:
        return to_18(a) == to_18(b)
    except ValueError:
        return False


class StepInfo(Protocol):
    """What this module needs of a step (the engine's `StepDef`)."""

    @property
    def name(self) -> str: ...

    @property
    def object_name(self) -> str: ...

    @property
    def parents(self) -> tuple[str, ...]: ...


@dataclass
class Relinker:
    """One run's memory of Id changes, and what it makes the engine do to the children."""

    engine: Engine
    crm: CrmConnector
    steps: Sequence[StepInfo]
    changed: Changed = field(default_factory=dict)
    recreated: dict[tuple[str, str], str] = field(default_factory=dict)  # (step, key) -> the Id it had
    _updateable: dict[str, frozenset[str]] = field(default_factory=dict)
    _done: set[str] = field(default_factory=set)  # steps that ran to the end in this run
    # children sent to follow a changed parent and not (yet) accepted: (step, key) -> (parent step, parent key)s
    _owed: dict[tuple[str, str], set[tuple[str, str]]] = field(default_factory=dict)

    def load(self) -> None:
        """Id changes an earlier run noticed but could not follow through (crash, `--only`)."""
        with self.engine.connect() as conn:
            for step, ids in LedgerRepository(conn).id_changes().items():
                self.changed.setdefault(step, {}).update(ids)

    # -- 1. noticing --------------------------------------------------------------------------------------------

    def note(self, step: str, d: Decision, result: RowResult, entry: LedgerEntry) -> None:
        """Mark `entry` (the row's new ledger entry) when the row's CRM Id changed with this write."""
        previous = d.entry
        if not result.success or not result.id or previous is None:
            return
        self._owed.pop((step, d.candidate.key), None)
        keep_mark(previous, entry)
        moved = (
            previous.status in ("missing", "merged")
            or (previous.crm_id is not None and not _same_id(previous.crm_id, result.id))
            or (step, d.candidate.key) in self.recreated
        )
        if moved:
            self.changed.setdefault(step, {})[d.candidate.key] = result.id
            entry.error_code = ID_CHANGED
            entry.error_message = (
                f"the CRM record was re-created or merged (now {result.id}); records that look it up are re-linked"
            )

    # -- 2. finding the children ----------------------------------------------------------------------------------

    def forced_for(self, step: StepInfo) -> Changed:
        return {p: self.changed[p] for p in step.parents if self.changed.get(p)}

    def candidates(
        self, step: StepInfo, source: _Source, normal: Iterator[Candidate], *, full: bool
    ) -> tuple[Iterator[Candidate], list[Candidate]]:
        """The step's candidates with, on an incremental run, the rows referencing changed parents added (each
        once).  Returns them and the rows added, so the caller can correct its count of unchanged rows."""
        forced = self.forced_for(step)
        if full or not forced:
            return normal, []
        keys = {p: set(ids) for p, ids in forced.items()}
        finder = getattr(source, "referencing", None)
        if finder is not None:
            found = finder(self.engine, keys)
        else:
            found = (c for c in source.candidates(self.engine, full=True) if references_changed(c, forced))
        extra = list({c.key: c for c in found}.values())
        wanted = {c.key for c in extra}
        return _chain((c for c in normal if c.key not in wanted), extra), extra

    # -- 3. deciding --------------------------------------------------------------------------------------------

    def adjust(self, step: StepInfo, key_field: str, plan: ChunkPlan) -> ChunkPlan:
        """Turn the decisions of children whose parents changed into what brings their lookups up to date."""
        forced = self.forced_for(step)
        if not forced:
            return plan
        affected = [
            d
            for d in plan.decisions
            if d.action in (Action.UNCHANGED, Action.UPDATE) and d.crm_id and references_changed(d.candidate, forced)
        ]
        if not affected:
            return plan
        stale_of = {id(d): self._stale_lookups(d, forced) for d in affected}
        fields = sorted({name for lookups in stale_of.values() for name, _ in lookups})
        live = self._read(step.object_name, [str(d.crm_id) for d in affected], fields)
        replaced: dict[int, Decision] = {}
        to_delete: list[Decision] = []
        for d in affected:
            row = live.get(str(d.crm_id))
            if row is None:  # gone with its parent, or deleted by staff first
                replaced[id(d)] = self._recreate(step, d)
                continue
            stale = [
                (api, rel) for api, rel in stale_of[id(d)] if not _same_id(row.get(api), forced_id(d, rel, forced))
            ]
            if not stale:
                continue  # a merge already moved it
            if all(api in self._updateable_fields(step.object_name) for api, _ in stale):
                replaced[id(d)] = dataclasses.replace(
                    d, action=Action.UPDATE, relink=tuple(sorted({rel for _, rel in stale}))
                )
            else:
                to_delete.append(d)
                replaced[id(d)] = self._recreate(step, d)
        if to_delete:
            self._delete(step, to_delete)
        for d in affected:
            if id(d) in replaced:  # owed until the CRM accepts it (a refused one keeps its parent marked)
                refs = {(p.step, p.key) for p in d.candidate.parents if p.key in forced.get(p.step, {})}
                self._owed[(step.name, d.candidate.key)] = refs
        return ChunkPlan([replaced.get(id(d), d) for d in plan.decisions])

    def _stale_lookups(self, d: Decision, forced: Changed) -> list[tuple[str, str]]:
        """(API field, payload key) of the row's lookups whose parent changed."""
        write = d.candidate.write
        names = write.field_names if write is not None else {}
        out = []
        for parent in d.candidate.parents:
            if parent.via and parent.key in forced.get(parent.step, {}):
                out.append((names.get(parent.via, parent.via), parent.via))
        return out

    def _recreate(self, step: StepInfo, d: Decision) -> Decision:
        assert d.entry is not None and d.entry.crm_id is not None
        self.recreated[(step.name, d.candidate.key)] = d.entry.crm_id
        return dataclasses.replace(d, action=Action.CREATE, entry=dataclasses.replace(d.entry, crm_id=None))

    def _read(self, object_name: str, ids: Sequence[str], fields: Sequence[str]) -> dict[str, dict[str, Any]]:
        """{Id: the lookup fields} of the live records among `ids`, 200 Ids per query."""
        return records_by_ids(self.crm, object_name, fields, ids)

    def _updateable_fields(self, object_name: str) -> frozenset[str]:
        if object_name not in self._updateable:
            describe = self.crm.describe(object_name)
            self._updateable[object_name] = frozenset(
                str(f["name"]) for f in describe.get("fields", []) if f.get("updateable")
            )
        return self._updateable[object_name]

    def _delete(self, step: StepInfo, rows: Sequence[Decision]) -> None:
        """Delete children that must be created again; the ledger forgets them first, so a crash in between
        leaves them to be created by the next run rather than believed present."""
        ids = [str(d.crm_id) for d in rows]
        with self.engine.begin() as conn:
            LedgerRepository(conn).forget_crm_ids(step.object_name, ids)
        for chunk in batches(ids, 200):
            self.crm.delete(step.object_name, list(chunk))

    # -- a record that was gone when its update went out -------------------------------------------------------------

    def whole_again(
        self,
        step: StepInfo,
        key_field: str,
        sent: Sequence[tuple[Decision, RowResult]],
        payloads: Callable[[Decision], tuple[dict[str, Any], dict[str, Any]]],
        by_id: Mapping[str, str],
    ) -> tuple[list[tuple[Decision, RowResult]], dict[str, str]]:
        """Rows sent as updates on their key whose record staff had deleted: the upsert created the record from
        the update's fields only (or was refused for want of a required field the update leaves to staff).
        Give them the rest: by Id when the org lets an update set it, else by deleting the half-made record and
        creating it whole.  `payloads(d)` is (the whole payload, the update payload that was sent).

        A record staff merged into another (before the reconcile noticed) is not re-created: the new record is
        deleted again and {record key: the survivor} is returned, for the caller to write there by Id."""
        fill: list[tuple[Decision, RowResult, dict[str, Any]]] = []
        whole: list[tuple[Decision, str | None]] = []  # (row, half-made record to delete first)
        made = [
            (d, r)
            for d, r in sent
            if d.action is Action.UPDATE and d.crm_id and d.candidate.key not in by_id and r.success and r.created
        ]
        survivors = self._merged_into(step.object_name, [str(d.crm_id) for d, _ in made]) if made else {}
        merged = {d.candidate.key: survivors[str(d.crm_id)] for d, _ in made if str(d.crm_id) in survivors}
        if merged:
            self.crm.delete(step.object_name, [str(r.id) for d, r in made if d.candidate.key in merged])
        for d, r in sent:
            if d.action is not Action.UPDATE or d.crm_id is None or d.candidate.key in by_id:
                continue
            if d.candidate.key in merged:
                continue
            if r.success and r.created and r.id:
                full, part = payloads(d)
                rest = {k: v for k, v in full.items() if k not in part}
                if not rest:
                    continue
                write = d.candidate.write
                names = write.field_names if write is not None else {}
                if all(names.get(k, k) in self._updateable_fields(step.object_name) for k in rest):
                    fill.append((d, r, {"Id": r.id, **rest}))
                else:
                    whole.append((d, r.id))
            elif not r.success and r.error_code == "REQUIRED_FIELD_MISSING":
                whole.append((d, None))
        if not fill and not whole:
            return list(sent), merged
        replaced: dict[int, RowResult] = {}
        if fill:
            for (d, r, _), res in zip(fill, self.crm.update(step.object_name, [p for *_, p in fill]), strict=True):
                if not res.success:
                    message = f"re-created after it was deleted, but not all its fields could be set: {res.message}"
                    replaced[id(d)] = RowResult(False, id=r.id, error_code=res.error_code, message=message)
        half_made = [i for _, i in whole if i]
        if half_made:
            self.crm.delete(step.object_name, half_made)
        if whole:
            rows = [payloads(d)[0] for d, _ in whole]
            for (d, _), res in zip(whole, self.crm.upsert(step.object_name, key_field, rows), strict=True):
                replaced[id(d)] = res
        return [(d, replaced.get(id(d), r)) for d, r in sent], merged

    def _merged_into(self, object_name: str, ids: Sequence[str]) -> dict[str, str]:
        """{deleted Id: survivor} for records merged away (objects without MasterRecordId have none)."""
        try:
            rows = records_by_ids(self.crm, object_name, ["MasterRecordId"], ids, include_deleted=True)
        except CrmError:
            return {}
        return {crm_id: str(row["MasterRecordId"]) for crm_id, row in rows.items() if row.get("MasterRecordId")}

    # -- the end of the run ---------------------------------------------------------------------------------------

    def step_done(self, step: str) -> None:
        self._done.add(step)

    def settle(self) -> None:
        """Drop the marks of parents whose every referencing step ran to the end in this run, except those of
        a child the CRM refused: they stay, so the child is re-linked when it is sent again."""
        owed = {ref for refs in self._owed.values() for ref in refs}
        with self.engine.begin() as conn:
            ledger = LedgerRepository(conn)
            for parent, ids in self.changed.items():
                dependents = [s.name for s in self.steps if parent in s.parents]
                if all(s in self._done for s in dependents):
                    ledger.settle_id_changes(parent, [k for k in ids if (parent, k) not in owed])


def keep_mark(previous: LedgerEntry | None, entry: LedgerEntry) -> None:
    """A row rewritten before its children were re-linked (an `--only` run) keeps its mark."""
    if previous is not None and previous.error_code == ID_CHANGED and entry.status == "synced":
        entry.error_code, entry.error_message = previous.error_code, previous.error_message


def forced_id(d: Decision, rel: str, forced: Changed) -> str:
    """The new CRM Id the lookup `rel` of this row must hold."""
    for parent in d.candidate.parents:
        if parent.via == rel and parent.key in forced.get(parent.step, {}):
            return forced[parent.step][parent.key]
    raise KeyError(rel)


def _chain(first: Iterable[Candidate], then: Iterable[Candidate]) -> Iterator[Candidate]:
    yield from first
    yield from then


def fresh_among(engine: Engine, step: str, fingerprint: str, rows: Sequence[Candidate]) -> int:
    """How many of `rows` the source already counted as unchanged (synced from the same record and step)."""
    with engine.connect() as conn:
        entries = LedgerRepository(conn).get_many(step, (c.key for c in rows))
    return sum(
        1
        for c in rows
        if (e := entries.get(c.key)) is not None
        and e.status == "synced"
        and e.source_hash == c.source_hash
        and e.step_hash == fingerprint
    )
