"""The planner: given candidate rows, the ledger and what the CRM holds of their parents, decide what to send.

Pure: plain values in, plain values out, no I/O, so every rule of "what goes to the CRM" is tested with
literals.  The engine feeds it one chunk of one step at a time (steps in the profile's dependency order) and
applies the result, which keeps memory flat on big programs and lets a child step see what its parents'
step just achieved.

The rules, in the order they are applied to a row:

1. no payload could be built (a value breaks a mapping rule) → **invalid**, with the field and rule;
2. a parent it references has no CRM Id (never synced, rejected, blocked itself) → **blocked** by that parent;
   it is planned again on every run and goes out once the parent is in the CRM;
3. the ledger holds the same payload hash as synced → **unchanged** (unless a full sync resends everything);
4. the ledger holds the same payload hash as rejected → **still rejected** (sending it again at once cannot
   help until the cause is fixed; housekeeping clears that memory with a growing wait, 1 h doubling to at
   most a day, since causes are often fixed in the CRM, and `replay --rejected` clears it at once);
5. otherwise **create** (no CRM Id known) or **update** (CRM Id known).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from connector.reader import chunks, in_list
from connector.soql import soql_quote as soql_quote  # the one quoting helper, named here for the planner's tests
from mappings.transform import CrmWrite
from models.canonical import canonical_hash
from models.keys import crm_email_match
from store.ledger import LedgerEntry


@dataclass(frozen=True, slots=True)
class ParentRef:
    """A record another step writes, which this row's payload references (sent as an external-ID lookup)."""

    step: str
    key: str
    via: str | None = field(default=None, compare=False)  # the payload key of the lookup (None: the row itself)


@dataclass(frozen=True, slots=True)
class Candidate:
    """One row a step could send: its key, its CRM payload (or why none could be built), and its parents."""

    key: str
    payload: dict[str, Any] | None
    parents: tuple[ParentRef, ...] = ()
    source_hash: str | None = None
    problem: str | None = None
    match_value: str | None = None  # normalised email for match-before-create (people only)
    source_key: str | None = None  # the program record behind the row, when its key differs
    write: CrmWrite | None = field(default=None, compare=False)  # the mapping's write (update policies, record type)
    # CRM state the row's write must also bring about (a cohort campaign's member statuses), JSON-ready.  It is
    # part of the payload hash, so changing it re-sends the row even when the record's own fields are the same.
    ensures: tuple[Any, ...] = ()

    _hash: str | None = field(default=None, init=False, repr=False, compare=False)  # payload_hash, once known

    @property
    def payload_hash(self) -> str | None:
        """The hash the ledger compares (computed once: the planner and the de-duplication both ask)."""
        if self.payload is None:
            return None
        if self._hash is None:
            body = self.payload if not self.ensures else {"payload": self.payload, "ensures": list(self.ensures)}
            object.__setattr__(self, "_hash", canonical_hash(body))
        return self._hash


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    STILL_REJECTED = "still_rejected"
    BLOCKED = "blocked"
    INVALID = "invalid"


@dataclass(frozen=True, slots=True)
class Decision:
    candidate: Candidate
    action: Action
    payload_hash: str | None
    entry: LedgerEntry | None
    blocked_by: ParentRef | None = None
    # Lookups (payload keys) to send whatever their update policy: their parent's CRM Id changed (sync.relink).
    relink: tuple[str, ...] = ()

    @property
    def crm_id(self) -> str | None:
        return self.entry.crm_id if self.entry is not None else None


@dataclass
class ChunkPlan:
    decisions: list[Decision] = field(default_factory=list)

    def of(self, *actions: Action) -> list[Decision]:
        return [d for d in self.decisions if d.action in actions]

    @property
    def to_send(self) -> list[Decision]:
        return self.of(Action.CREATE, Action.UPDATE)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for d in self.decisions:
            out[d.action.value] = out.get(d.action.value, 0) + 1
        return out


def decide(
    candidate: Candidate,
    entry: LedgerEntry | None,
    parent_available: Callable[[ParentRef], bool],
    *,
    full: bool = False,
) -> Decision:
    if candidate.payload is None:
        return Decision(candidate, Action.INVALID, None, entry)
    for parent in candidate.parents:
        if not parent_available(parent):
            return Decision(candidate, Action.BLOCKED, candidate.payload_hash, entry, blocked_by=parent)
    payload_hash = candidate.payload_hash
    if entry is not None and not full:
        if entry.status == "synced" and entry.crm_id is not None and entry.payload_hash == payload_hash:
            return Decision(candidate, Action.UNCHANGED, payload_hash, entry)
        if entry.status == "rejected" and entry.rejected_hash == payload_hash:
            return Decision(candidate, Action.STILL_REJECTED, payload_hash, entry)
    action = Action.UPDATE if entry is not None and entry.crm_id is not None else Action.CREATE
    return Decision(candidate, action, payload_hash, entry)


def plan_chunk(
    candidates: Iterable[Candidate],
    ledger: Mapping[str, LedgerEntry],
    available_parents: Mapping[str, set[str]] | Callable[[ParentRef], bool],
    *,
    full: bool = False,
) -> ChunkPlan:
    """Decide every candidate of one chunk of one step.

    `available_parents` is either {parent step: keys the CRM holds} or a predicate over a `ParentRef`.
    """
    if callable(available_parents):
        is_available = available_parents
    else:
        known = available_parents

        def is_available(parent: ParentRef) -> bool:
            return parent.key in known.get(parent.step, ())

    plan = ChunkPlan()
    for candidate in candidates:
        plan.decisions.append(decide(candidate, ledger.get(candidate.key), is_available, full=full))
    return plan


def parent_refs(candidates: Iterable[Candidate]) -> dict[str, set[str]]:
    """{parent step: keys} the chunk references: what the engine must look up in the ledger."""
    wanted: dict[str, set[str]] = {}
    for candidate in candidates:
        for parent in candidate.parents:
            wanted.setdefault(parent.step, set()).add(parent.key)
    return wanted


def batches(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    if size < 1:
        raise ValueError("batch size must be at least 1")
    for start in range(0, len(items), size):
        yield items[start : start + size]


MATCH_BATCH = 200


def match_queries(object_name: str, match_field: str, key_field: str, values: Iterable[str]) -> list[str]:
    """SOQL queries finding existing records by normalised email, at most 200 values per query."""
    select = f"SELECT Id, {match_field}, {key_field} FROM {object_name} WHERE {match_field} IN"
    return [f"{select} ({in_list(chunk)}) ORDER BY Id" for chunk in chunks((v for v in values if v), MATCH_BATCH)]


def pick_matches(rows: Iterable[Mapping[str, Any]], match_field: str, key_field: str) -> dict[str, str]:
    """{normalised email: CRM Id} of records we may adopt: no Ignite key yet; the oldest Id wins on a tie.

    A record that already carries a key is left alone: either it is ours (the ledger will learn its Id from
    the upsert) or it belongs to another record, and adopting it would merge two people.
    """
    chosen: dict[str, str] = {}
    for row in sorted(rows, key=lambda r: str(r.get("Id"))):
        value = row.get(match_field)
        if not isinstance(value, str) or row.get(key_field):
            continue
        chosen.setdefault(crm_email_match(value), str(row["Id"]))
    return chosen
